//! Inputs: opening files (memory-mapped) or standard input, reading the
//! CSV header, and making each kind of input a producer of tasks for the
//! engine ([`crate::exec`]): CSV byte ranges ([`csv_run`], cut by
//! [`split`]), Parquet and Arrow IPC runs of row groups or record batches
//! ([`typed`]).
//!
//! Only a regular file can be mapped, and only its `stat` size says how
//! many bytes it holds. Everything else (standard input, a pipe such as
//! `<(zcat f.gz)` or `/dev/stdin`, a named FIFO, a character device) and a
//! regular file whose stat size is 0 but that yields bytes when read (the
//! files of `/proc`) is copied ("spooled") into an anonymous temporary
//! file first, which is then mapped like any file: trusting the stat size
//! read those as empty, a silent `count 0`. A pipe's bytes can be read only
//! once, so the first reader, [`detect_format`], spools it and keeps the
//! copy for [`CsvInput::open`] (see [`spooled_copy`]).

pub mod arrow;
pub mod csv;
pub mod csv_run;
pub mod dataset;
pub mod decompress;
pub mod fastscan;
pub mod indexscan;
pub mod ipc;
pub mod parquet;
pub mod paths;
pub mod scan;
pub mod split;
pub mod typed;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use memmap2::Mmap;

use crate::error::{DataError, Error, Result};
use scan::{field_bytes, AllFields, Scanner};

/// The bytes of an input, kept mapped for the whole run.
enum Bytes {
    /// The guard keeps the region registered for the SIGBUS handler (see
    /// [`crate::signals`]); it is declared first so that it is dropped, and
    /// the region unregistered, before the map is unmapped.
    Mapped {
        _registered: crate::signals::MappingGuard,
        map: Mmap,
    },
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
    /// True when the bytes were copied from standard input, a pipe or
    /// another input that cannot be read again (see the module doc).
    pub spooled: bool,
    /// The values of the Hive columns that follow the file's own columns
    /// in the table (see [`dataset`]); empty outside a Hive dataset.
    pub hive: Vec<String>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl CsvInput {
    /// Opens `path` (`-` is standard input) and reads its header.
    pub fn open(path: &Path, delimiter: u8) -> Result<CsvInput> {
        let (name, file, spooled) = if path.as_os_str() == "-" {
            ("<stdin>".to_string(), spool_stdin()?, true)
        } else {
            let (file, spooled) = open_readable(path)?;
            (path.display().to_string(), file, spooled)
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
            let guard = crate::signals::register_mapping(map.as_ptr(), map.len(), name.as_ref());
            Bytes::Mapped {
                _registered: guard,
                map,
            }
        };
        let mut input = CsvInput {
            name,
            bytes,
            header: Vec::new(),
            body_start: 0,
            is_empty: meta.len() == 0,
            spooled,
            hive: Vec::new(),
        };
        input.read_header(delimiter)?;
        Ok(input)
    }

    /// The whole input.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped { map, .. } => map,
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
        if let Bytes::Mapped { map, .. } = &self.bytes {
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

    /// The 1-based physical line of byte `offset`: LF, CRLF and a lone CR
    /// each end a line, as they end a record.
    pub fn line_of(&self, offset: usize) -> u64 {
        line_of(self.bytes(), offset)
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

/// The 1-based physical line of byte `offset` of `buf`: LF, CRLF and a
/// lone CR each end a line.
pub fn line_of(buf: &[u8], offset: usize) -> u64 {
    let head = &buf[..offset.min(buf.len())];
    let lf = memchr::memchr_iter(b'\n', head).count();
    let lone_cr = memchr::memchr_iter(b'\r', head)
        .filter(|&i| buf.get(i + 1) != Some(&b'\n'))
        .count();
    1 + (lf + lone_cr) as u64
}

/// Tells an input's format by its magic bytes, whatever its name
/// (standard input is CSV). Anything that is neither Parquet nor Arrow IPC
/// is read as CSV. A pipe or FIFO is spooled here (its bytes can be read
/// only once) and sniffed from the copy; Parquet and Arrow IPC are read by
/// random access from the path, so they must come as regular files.
pub fn detect_format(path: &Path) -> Result<InputFormat> {
    if path.as_os_str() == "-" {
        return Ok(InputFormat::Csv);
    }
    let spooled = match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Some(spooled_copy(path)?),
        _ => None,
    };
    let mut file = match spooled {
        Some(ref f) => f.try_clone().map_err(|e| Error::io(path, e))?,
        None => match File::open(path) {
            Ok(f) => f,
            // let the CSV reader report the error, as before
            Err(_) => return Ok(InputFormat::Csv),
        },
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len < 12 || file.metadata().is_ok_and(|m| m.is_dir()) {
        return Ok(InputFormat::Csv);
    }
    let mut head = [0u8; 6];
    let mut tail = [0u8; 6];
    // a spooled copy's clones share one file offset, which an earlier
    // call on the same path left at the end
    let read = file
        .rewind()
        .and_then(|_| file.read_exact(&mut head))
        .and_then(|_| file.seek(SeekFrom::End(-6)))
        .and_then(|_| file.read_exact(&mut tail));
    read.map_err(|e| Error::io(path, e))?;
    let format = if parquet::is_parquet(&head, &tail) {
        InputFormat::Parquet
    } else if ipc::is_ipc(&head) && tail == *ipc::MAGIC {
        InputFormat::Ipc
    } else {
        InputFormat::Csv
    };
    if spooled.is_some() && format != InputFormat::Csv {
        return Err(Error::io(
            path,
            io::Error::other(format!(
                "holds {} but is not a regular file (a pipe or FIFO); {} inputs are read \
                 by random access: save it to a file first",
                format.name(),
                format.name()
            )),
        ));
    }
    Ok(format)
}

/// Inputs that are not regular files, already spooled, by path: a pipe
/// yields its bytes once, so every open after the first gets this copy.
static SPOOLED: Mutex<Vec<(PathBuf, File)>> = Mutex::new(Vec::new());

/// The spooled copy of the non-regular file `path`, made on first use.
fn spooled_copy(path: &Path) -> Result<File> {
    let mut spooled = SPOOLED.lock().unwrap_or_else(|e| e.into_inner());
    let copy = match spooled.iter().find(|(p, _)| p == path) {
        Some((_, f)) => f,
        None => {
            let source = File::open(path).map_err(|e| Error::io(path, e))?;
            let file = spool(path, source, &[])?;
            spooled.push((path.to_path_buf(), file));
            &spooled.last().expect("just pushed").1
        }
    };
    copy.try_clone().map_err(|e| Error::io(path, e))
}

/// Opens `path` for mapping: the file itself when it is a regular file with
/// bytes, else a spooled copy (see the module doc). True when spooled.
fn open_readable(path: &Path) -> Result<(File, bool)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() && !meta.is_dir() {
        return Ok((spooled_copy(path)?, true));
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() || meta.len() > 0 {
        return Ok((file, false));
    }
    // a stat size of 0: truly empty, or generated on read (`/proc`)
    let mut first = [0u8; 4096];
    let n = loop {
        match file.read(&mut first) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => break r.map_err(|e| Error::io(path, e))?,
        }
    };
    if n == 0 {
        return Ok((file, false));
    }
    Ok((spool(path, file, &first[..n])?, true))
}

/// Copies `head` and then the rest of `source` into an anonymous temporary
/// file, rewound.
fn spool(path: &Path, mut source: impl Read, head: &[u8]) -> Result<File> {
    let mut file = tempfile::tempfile().map_err(|e| Error::io(path, e))?;
    file.write_all(head).map_err(|e| Error::io(path, e))?;
    io::copy(&mut source, &mut file).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    Ok(file)
}

/// Copies standard input into an anonymous temporary file, so that it can
/// be mapped and split like any file without holding it in memory.
fn spool_stdin() -> Result<File> {
    spool(Path::new("<stdin>"), io::stdin().lock(), &[])
}
