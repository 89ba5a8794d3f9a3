//! Inputs: opening files (memory-mapped) or standard input, reading the
//! CSV header, and splitting the body into partitions.

pub mod arrow;
pub mod csv;
pub mod fastscan;
pub mod indexscan;
pub mod ipc;
pub mod parquet;
pub mod scan;
pub mod split;
pub mod typed;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{DataError, Error, Result};
use scan::{field_bytes, AllFields, Scanner};

/// The bytes of an input, kept mapped for the whole run.
enum Bytes {
    Mapped(Mmap),
    Empty,
}

/// One CSV input: its bytes, header and where the records begin.
pub struct CsvInput {
    /// The name shown in messages (`<stdin>` for standard input).
    pub name: String,
    bytes: Bytes,
    /// Column names, decoded.
    pub header: Vec<String>,
    /// Offset of the first byte after the header line.
    pub body_start: usize,
    /// True for a file with no bytes at all (not even a header).
    pub is_empty: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl CsvInput {
    /// Opens `path` (`-` is standard input) and reads its header.
    pub fn open(path: &Path, delimiter: u8) -> Result<CsvInput> {
        let (name, file) = if path.as_os_str() == "-" {
            ("<stdin>".to_string(), spool_stdin()?)
        } else {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            (path.display().to_string(), file)
        };
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::io(
                path,
                io::Error::other("is a directory, not a CSV file"),
            ));
        }
        let bytes = if meta.len() == 0 {
            Bytes::Empty
        } else {
            // SAFETY: the map is read-only; a file truncated by another
            // process while we read it can fault, as with any mmap reader.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            crate::signals::register_mapping_for_run(map.as_ptr(), map.len(), name.as_ref());
            Bytes::Mapped(map)
        };
        let mut input = CsvInput {
            name,
            bytes,
            header: Vec::new(),
            body_start: 0,
            is_empty: meta.len() == 0,
        };
        input.read_header(delimiter)?;
        Ok(input)
    }

    /// The whole input.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Empty => &[],
        }
    }

    fn read_header(&mut self, delimiter: u8) -> Result<()> {
        let buf = self.bytes();
        let start = if buf.starts_with(BOM) { BOM.len() } else { 0 };
        let mut scanner = Scanner::new(buf, start, delimiter);
        let mut sink = AllFields::default();
        let header = match scanner.next_record(usize::MAX, &mut sink) {
            None => Vec::new(),
            Some(Err(e)) => {
                return Err(self
                    .error_at(
                        e.record_start,
                        None,
                        "unterminated quoted field in the header".into(),
                    )
                    .into())
            }
            Some(Ok(_)) => sink
                .0
                .iter()
                .map(|&span| String::from_utf8_lossy(&field_bytes(buf, span)).into_owned())
                .collect(),
        };
        self.body_start = scanner.position();
        self.header = header;
        Ok(())
    }

    /// Tells the kernel the mapped pages of `start..end` are no longer
    /// needed, so a run over a file larger than memory keeps a small
    /// resident set. The pages stay in the page cache; reading them again
    /// just maps them again.
    pub fn release(&self, start: usize, end: usize) {
        #[cfg(unix)]
        if let Bytes::Mapped(map) = &self.bytes {
            const PAGE: usize = 4096;
            let from = start / PAGE * PAGE;
            let to = end.min(map.len());
            if to > from {
                // SAFETY: the mapping is read-only and file-backed, so
                // dropping its pages loses nothing: they are re-read from
                // the file (or page cache) if touched again.
                let _ = unsafe {
                    map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
                };
            }
        }
    }

    /// The 1-based physical line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> u64 {
        let buf = self.bytes();
        1 + memchr::memchr_iter(b'\n', &buf[..offset.min(buf.len())]).count() as u64
    }

    /// A data error at the record starting at `offset`.
    pub fn error_at(&self, offset: usize, column: Option<&str>, message: String) -> DataError {
        DataError {
            file: self.name.clone(),
            line: self.line_of(offset),
            column: column.map(str::to_string),
            message,
        }
    }
}

/// The format of an input file, told by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    /// `PAR1` at both ends.
    Parquet,
    /// An Arrow IPC file (Feather v2): `ARROW1` at both ends.
    Ipc,
}

impl InputFormat {
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Csv => "CSV",
            InputFormat::Parquet => "Parquet",
            InputFormat::Ipc => "Arrow IPC",
        }
    }
}

/// Tells an input's format by its magic bytes, whatever its name
/// (standard input is CSV). Anything that is neither Parquet nor Arrow IPC
/// is read as CSV.
pub fn detect_format(path: &Path) -> Result<InputFormat> {
    use std::io::{Read, Seek, SeekFrom};
    if path.as_os_str() == "-" {
        return Ok(InputFormat::Csv);
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        // let the CSV reader report the error, as before
        Err(_) => return Ok(InputFormat::Csv),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len < 12 || file.metadata().is_ok_and(|m| m.is_dir()) {
        return Ok(InputFormat::Csv);
    }
    let mut head = [0u8; 6];
    let mut tail = [0u8; 6];
    let read = file
        .read_exact(&mut head)
        .and_then(|_| file.seek(SeekFrom::End(-6)))
        .and_then(|_| file.read_exact(&mut tail));
    read.map_err(|e| Error::io(path, e))?;
    Ok(if parquet::is_parquet(&head, &tail) {
        InputFormat::Parquet
    } else if ipc::is_ipc(&head) && tail == *ipc::MAGIC {
        InputFormat::Ipc
    } else {
        InputFormat::Csv
    })
}

/// Copies standard input into an anonymous temporary file, so that it can
/// be mapped and split like any file without holding it in memory.
fn spool_stdin() -> Result<File> {
    let stdin_path = PathBuf::from("<stdin>");
    let mut file = tempfile::tempfile().map_err(|e| Error::io(&stdin_path, e))?;
    io::copy(&mut io::stdin().lock(), &mut file).map_err(|e| Error::io(&stdin_path, e))?;
    Ok(file)
}
