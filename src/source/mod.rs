//! Inputs: opening files (memory-mapped) or standard input, reading the
//! CSV header, and making each kind of input a producer of tasks for the
//! engine ([`crate::exec`]): CSV byte ranges ([`csv_run`], cut by
//! [`split`]), Parquet and Arrow IPC runs of row groups or record batches
//! ([`typed`]).
//!
//! Only a regular file can be mapped, and only its `stat` size says how
//! many bytes it holds. Everything else (standard input, a pipe such as
//! `<(zcat f.gz)` or `/dev/stdin`, a named FIFO, a character device) is
//! read by `run` as a stream, in blocks, while it arrives ([`stream`]), and
//! so is a compressed file (gzip, zstd: told by its magic bytes, see
//! [`decompress`]). `split`, whose partitions are byte ranges of mapped
//! inputs, copies ("spools") such inputs into an anonymous temporary file
//! (decompressed) and maps that; so does every command for a regular file
//! whose stat size is 0 but that yields bytes when read (the files of
//! `/proc`): trusting the stat size read those as empty, a silent
//! `count 0`. A pipe's bytes can be read only once: [`detect_format`] reads
//! its first bytes and keeps the opened pipe for [`CsvInput::open_with`],
//! and a pipe named twice is refused (see [`stream::take_pipe`]).

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
pub mod stream;
pub mod typed;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

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
    /// The first `.1` bytes of a buffer held in memory: a block of a
    /// stream ([`stream`]), or the first bytes of a stream, read to find
    /// its header. (The buffer keeps its length, so that a recycled one is
    /// not zeroed again.)
    Owned(Vec<u8>, usize),
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
    /// Physical lines before the first byte of `bytes`: 0 for a whole
    /// input, the lines of the blocks before it for a block of a stream,
    /// so that its errors name the line of the whole input.
    pub line_base: u64,
    /// For a streamed input (see [`stream`]): the rest of the stream, after
    /// `bytes` (which then hold only its first bytes, header included).
    pub(crate) stream: Option<stream::Rest>,
}

/// How [`CsvInput::open_with`] opens an input.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    pub delimiter: u8,
    /// The first line is data: the columns are named `1`, `2`, ...
    pub no_header: bool,
    /// Read a non-seekable or compressed input as a stream ([`stream`]),
    /// in blocks, rather than spooling it to a temporary file. Only `run`
    /// streams; `split` maps its inputs (partition offsets name bytes).
    pub stream: bool,
    /// Threads that may decompress a multi-member or multi-frame file.
    pub threads: usize,
}

impl OpenOptions {
    pub fn new(delimiter: u8) -> Self {
        OpenOptions {
            delimiter,
            no_header: false,
            stream: false,
            threads: 1,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl CsvInput {
    /// Opens `path` (`-` is standard input) and reads its header.
    pub fn open(path: &Path, delimiter: u8) -> Result<CsvInput> {
        Self::open_with(path, &OpenOptions::new(delimiter))
    }

    /// Opens `path` (`-` is standard input) as `options` say and reads its
    /// header. A compressed input (gzip, zstd: told by its magic bytes) is
    /// decompressed: as a stream with `options.stream`, else into a spooled
    /// copy.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<CsvInput> {
        let (name, file, spooled) = if path.as_os_str() == "-" {
            let name = "<stdin>".to_string();
            let stdin: Box<dyn Read + Send> = Box::new(io::stdin());
            if options.stream {
                #[cfg(target_os = "linux")]
                crate::pipe::grow(0);
                return stream::open(name, stdin, options);
            }
            (name, spool_stdin()?, true)
        } else if let Some(pipe) = stream::take_pipe(path)? {
            let name = path.display().to_string();
            if options.stream {
                return stream::open(name, pipe, options);
            }
            (name, spool(path, pipe)?, true)
        } else {
            let (file, spooled) = open_readable(path)?;
            (path.display().to_string(), file, spooled)
        };
        Self::from_file(path, name, file, spooled, options)
    }

    /// An input of the bytes of `file` (mapped), or of their decompressed
    /// text when they are compressed.
    fn from_file(
        path: &Path,
        name: String,
        file: File,
        spooled: bool,
        options: &OpenOptions,
    ) -> Result<CsvInput> {
        let delimiter = options.delimiter;
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
            let compression = decompress::sniff(&map[..map.len().min(decompress::SNIFF_LEN)]);
            if compression != decompress::Compression::None {
                if options.stream {
                    let file = file.try_clone().map_err(|e| Error::io(path, e))?;
                    return stream::open_compressed(name, map, file, compression, options);
                }
                // `split` maps its inputs: a decompressed copy
                let text = decompress::decoder(compression, &map[..], &name);
                let copy = spool(path, text).map_err(|e| match e {
                    Error::Io { source, .. } => decompress::error(&name, source),
                    e => e,
                })?;
                return Self::from_file(path, name, copy, true, options);
            }
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
            line_base: 0,
            stream: None,
        };
        input.read_header(delimiter, options.no_header)?;
        Ok(input)
    }

    /// True for an input read as a stream (see [`stream`]): its bytes can
    /// be read only once, by [`stream::map`].
    pub fn is_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// The whole input.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped { map, .. } => map,
            Bytes::Owned(v, len) => &v[..*len],
            Bytes::Empty => &[],
        }
    }

    /// Reads the header line (with `no_header`, only counts the fields of
    /// the first line, which stays data, and names them `1`, `2`, ...).
    fn read_header(&mut self, delimiter: u8, no_header: bool) -> Result<()> {
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
            Some(Ok((_, fields))) if no_header => (1..=fields).map(|i| i.to_string()).collect(),
            Some(Ok(_)) => sink
                .0
                .iter()
                .map(|&span| String::from_utf8_lossy(&field_bytes(buf, span)).into_owned())
                .collect(),
        };
        self.body_start = if no_header { start } else { scanner.position() };
        self.header = header;
        Ok(())
    }

    /// Tells the kernel the mapped pages of `start..end` are no longer
    /// needed, so a run over a file larger than memory keeps a small
    /// resident set ([`release_range`]). The pages stay in the page cache;
    /// reading them again just maps them again.
    pub fn release(&self, start: usize, end: usize) {
        if let Bytes::Mapped { map, .. } = &self.bytes {
            release_range(map, start, end.saturating_sub(start));
        }
    }

    /// The 1-based physical line of byte `offset`: LF, CRLF and a lone CR
    /// each end a line, as they end a record.
    pub fn line_of(&self, offset: usize) -> u64 {
        self.line_base + line_of(self.bytes(), offset)
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

/// Drops the mapped pages of `map[start..start + len]` from the resident
/// set: whole pages (memmap2 rounds the start down to one), so a page
/// shared with a neighbouring range is dropped too and simply faults back
/// in if that range still reads it. The pages stay in the page cache.
pub fn release_range(map: &Mmap, start: usize, len: usize) {
    #[cfg(unix)]
    if start < map.len() {
        let len = len.min(map.len() - start);
        // SAFETY: the map is a read-only shared file mapping, so dropped
        // pages read back from the page cache (or the file) on the next
        // access; MADV_DONTNEED on such a map never zeroes what Rust sees as
        // live data. The range is clipped to the map above.
        let _ =
            unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) };
    }
    #[cfg(not(unix))]
    let _ = (map, start, len);
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
/// is read as CSV (compressed CSV included). A pipe or FIFO is opened here
/// and its first bytes read ([`stream::peek_pipe`]); the opened pipe is
/// kept for [`CsvInput::open_with`]. Parquet and Arrow IPC are read by
/// random access from the path, so they must come as regular files.
pub fn detect_format(path: &Path) -> Result<InputFormat> {
    if path.as_os_str() == "-" {
        return Ok(InputFormat::Csv);
    }
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() && !m.is_dir() {
            let head = stream::peek_pipe(path)?;
            let format = if head.starts_with(b"PAR1") {
                InputFormat::Parquet
            } else if ipc::is_ipc(&head) {
                InputFormat::Ipc
            } else {
                InputFormat::Csv
            };
            if format != InputFormat::Csv {
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
            return Ok(format);
        }
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
    let format = if parquet::is_parquet(&head, &tail) {
        InputFormat::Parquet
    } else if ipc::is_ipc(&head) && tail == *ipc::MAGIC {
        InputFormat::Ipc
    } else {
        InputFormat::Csv
    };
    Ok(format)
}

/// Opens `path` for mapping: the file itself when it is a regular file with
/// bytes, else a spooled copy (see the module doc). True when spooled.
fn open_readable(path: &Path) -> Result<(File, bool)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() && !meta.is_dir() {
        let pipe = File::open(path).map_err(|e| Error::io(path, e))?;
        return Ok((spool(path, pipe)?, true));
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
    Ok((
        spool(path, io::Cursor::new(first[..n].to_vec()).chain(file))?,
        true,
    ))
}

/// Copies `source` into an anonymous temporary file, rewound.
fn spool(path: &Path, mut source: impl Read) -> Result<File> {
    let mut file = tempfile::tempfile().map_err(|e| Error::io(path, e))?;
    io::copy(&mut source, &mut file).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    Ok(file)
}

/// Copies standard input into an anonymous temporary file, so that it can
/// be mapped and split like any file without holding it in memory.
fn spool_stdin() -> Result<File> {
    spool(Path::new("<stdin>"), io::stdin().lock())
}
