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
//! the first bytes of standard input or a pipe and keeps the opened stream
//! for [`CsvInput::open_with`], and a pipe named twice is refused, told by
//! its device and inode, not its path: `-` and `/dev/stdin` are one pipe,
//! and two readers would split its bytes between them (see
//! [`stream::take_pipe`]).

pub mod arrow;
pub mod csv;
pub mod csv_run;
pub mod dataset;
pub mod decompress;
pub mod fastscan;
pub mod indexscan;
pub mod ipc;
pub mod locate;
pub mod parquet;
pub mod paths;
pub mod scan;
pub mod split;
pub mod stream;
pub mod typed;
pub mod unchanged;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{show_path, DataError, Error, Result};
use scan::{field_bytes, AllFields, Scanner};

/// The bytes of an input, kept (mapped, or read when small) for the whole run.
enum Bytes {
    /// The guard keeps the region registered for the SIGBUS handler (see
    /// [`crate::signals`]); it is declared first so that it is dropped, and
    /// the region unregistered, before the map is unmapped.
    Mapped {
        _registered: crate::signals::MappingGuard,
        map: Mmap,
    },
    /// The first `.1` bytes of a buffer held in memory: a block of a
    /// stream ([`stream`]), the first bytes of a stream, read to find
    /// its header, or a small file ([`READ_UP_TO`]). (The buffer keeps its length, so that a recycled one is
    /// not zeroed again.)
    Owned(Vec<u8>, usize),
    Empty,
}

/// Files up to this size are read into memory rather than mapped: a
/// mapping takes a page at least, and each one counts against the
/// kernel's limit on a process's mappings (`vm.max_map_count`, 65,530 by
/// default), so a dataset of 66,000 small files could not be read at all
/// ("Cannot allocate memory"); a read of a few pages is also cheaper than
/// mapping them and faulting them in.
const READ_UP_TO: u64 = 64 * 1024;

/// The bytes of `file` (`len` by its `stat`; a file that grew since is
/// read to its end as it is now).
fn read_small(mut file: &File, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(bytes)
}

/// A failed map of `path`, explained where the likely cause is a limit.
pub(super) fn map_error(path: &Path, e: io::Error) -> Error {
    if e.raw_os_error() != Some(libc::ENOMEM) {
        return Error::io(path, e);
    }
    Error::io(
        path,
        io::Error::new(
            e.kind(),
            format!(
                "{}: mapping it exceeded a limit: the kernel's number of mappings a process may \
                 hold (vm.max_map_count; every Arrow IPC file, and every CSV file larger \
                 than {} KiB, holds one for the run), or the address space limit (ulimit -v)",
                crate::error::plain_reason(&e),
                READ_UP_TO / 1024
            ),
        ),
    )
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
    /// Offset of the header line (after blank lines and a BOM), where an
    /// error about the columns points.
    pub header_at: usize,
    /// True for an input with no header: no bytes at all, or only blank
    /// lines (and a BOM).
    pub is_empty: bool,
    /// True when the columns are named `1`, `2`, ... (`--no-header`): the
    /// first line is data, and messages count fields against it.
    pub no_header: bool,
    /// True when the input cannot be read again: standard input, a pipe,
    /// a FIFO, a file generated as it is read (`/proc`), whose bytes were
    /// copied once (see the module doc). A store records such a source
    /// without a path and never checks it again. A compressed file is not
    /// one: its text is a decompressed copy, but the file itself stays on
    /// disk, where a run of the store checks that it did not change.
    pub read_once: bool,
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
    /// For a streamed compressed file: its path, so that an error path can
    /// stream it again (`output::utf8`); `None` for every other input.
    pub(crate) reopen: Option<PathBuf>,
    /// The file as it was opened, for a file that can be read again: see
    /// [`unchanged`].
    pub(crate) state: Option<unchanged::FileState>,
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
    /// Show the progress of a streamed input from its opening on (see
    /// [`crate::progress::Progress::stream`]).
    pub progress: bool,
}

impl OpenOptions {
    pub fn new(delimiter: u8) -> Self {
        OpenOptions {
            delimiter,
            no_header: false,
            stream: false,
            threads: 1,
            progress: false,
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
        let (name, file, read_once) = if let Some(pipe) = stream::take_pipe(path)? {
            let shown = stream::input_name(path);
            let name = shown.display().to_string();
            if options.stream {
                return stream::open(name, pipe, options);
            }
            (name, spool(shown, pipe)?, true)
        } else {
            let (file, read_once) = open_readable(path)?;
            (path.display().to_string(), file, read_once)
        };
        Self::from_file(path, name, file, read_once, options)
    }

    /// An input of the bytes of `file` (mapped), or of their decompressed
    /// text when they are compressed. `read_once`: see
    /// [`CsvInput::read_once`].
    fn from_file(
        path: &Path,
        name: String,
        file: File,
        read_once: bool,
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
        // before any byte is read
        let mut state = (!read_once)
            .then(|| unchanged::FileState::of(&file, path, &name, false))
            .flatten();
        let small = ((1..=READ_UP_TO).contains(&meta.len()) && meta.is_file())
            .then(|| read_small(&file, meta.len()))
            .transpose()
            .map_err(|e| Error::io(path, e))?
            .filter(|b| {
                decompress::sniff(&b[..b.len().min(decompress::SNIFF_LEN)])
                    == decompress::Compression::None
            });
        let bytes = if meta.len() == 0 {
            // nothing to read: the answer is the empty file's, whatever
            // is written to it after
            state = None;
            Bytes::Empty
        } else if let Some(small) = small {
            // read whole at the open: the answer is of these bytes,
            // whatever happens to the file after; only the reading itself
            // must have seen one version
            if let Some(why) = state.take().and_then(|s| s.change(false)) {
                return Err(unchanged::changed_while_read(&name, &why));
            }
            // (where the fault tests pause once an input is open, as a
            // mapped one pauses when its region is registered)
            crate::signals::test_pause("map");
            let len = small.len();
            Bytes::Owned(small, len)
        } else {
            // SAFETY: the map is read-only; a file truncated by another
            // process while we read it can fault, as with any mmap reader.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| map_error(path, e))?;
            let compression = decompress::sniff(&map[..map.len().min(decompress::SNIFF_LEN)]);
            if compression != decompress::Compression::None {
                if options.stream {
                    let file = file.try_clone().map_err(|e| Error::io(path, e))?;
                    let mut input = stream::open_compressed(name, map, file, compression, options)?;
                    input.reopen = (!read_once).then(|| path.to_path_buf());
                    return Ok(input);
                }
                // `split` maps its inputs: a decompressed copy, of a file
                // that can be read again (unless `file` is itself a copy)
                let mut text = decompress::decoder(compression, &map[..], &name);
                let mut head = Vec::with_capacity(Start::SNIFF);
                (&mut text)
                    .take(Start::SNIFF as u64)
                    .read_to_end(&mut head)
                    .and_then(|_| read_wide_head(&mut head, &mut text))
                    .map_err(|e| decompress::error(&name, e))?;
                refuse_compressed_typed(&name, compression, &head)?;
                let text = io::Cursor::new(head).chain(text);
                let copy = spool(path, text).map_err(|e| match e {
                    Error::Io { source, .. } => decompress::error(&name, source),
                    e => e,
                })?;
                return Self::from_file(path, name, copy, read_once, options);
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
            header_at: 0,
            is_empty: meta.len() == 0,
            no_header: options.no_header,
            read_once,
            hive: Vec::new(),
            line_base: 0,
            stream: None,
            reopen: None,
            state,
        };
        input.read_header(delimiter)?;
        Ok(input)
    }

    /// The file as it was opened ([`unchanged`]), if it is one that can
    /// change while it is read.
    pub fn state(&self) -> Option<&unchanged::FileState> {
        self.state.as_ref()
    }

    /// Whether the bytes read end where a record ends (a line end, or no
    /// bytes at all): then what a writer appends after them cannot have
    /// changed a record that was read ([`unchanged::FileState::change`]).
    pub fn ends_a_record(&self) -> bool {
        matches!(self.bytes().last(), None | Some(b'\n' | b'\r'))
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
    fn read_header(&mut self, delimiter: u8) -> Result<()> {
        let no_header = self.no_header;
        let buf = self.bytes();
        let start = if buf.starts_with(BOM) { BOM.len() } else { 0 };
        let mut scanner = Scanner::new(buf, start, delimiter);
        let mut sink = AllFields::default();
        let found = match scanner.next_record(usize::MAX, &mut sink) {
            None => None,
            Some(Err(e)) => {
                return Err(self
                    .error_at(
                        e.record_start,
                        None,
                        "unterminated quoted field in the header".into(),
                    )
                    .into())
            }
            Some(Ok((at, fields))) => {
                // a first line of binary bytes: what a damaged Arrow IPC
                // stream or file, or UTF-16 text, opens with (read as CSV,
                // such an input was counted with exit 0). A NUL byte later
                // in the data is kept as part of its field; on the first
                // line, header or data, it says the input is not text.
                if let Some(nul) = memchr::memchr(0, &buf[at..scanner.position()]) {
                    let line = if no_header {
                        "the first record"
                    } else {
                        "the header"
                    };
                    return Err(self
                        .error_at(
                            at,
                            None,
                            format!(
                                "{line} holds a NUL byte (its byte {}, counted from 1), \
                                 which no CSV text does: is this a damaged Arrow IPC or \
                                 Parquet file, UTF-16 text or another binary format? rayproc \
                                 reads CSV (UTF-8), Parquet and Arrow IPC",
                                nul + 1
                            ),
                        )
                        .into());
                }
                let names = if no_header {
                    (1..=fields).map(|i| i.to_string()).collect()
                } else {
                    (sink.0.iter())
                        .map(|&span| String::from_utf8_lossy(&field_bytes(buf, span)).into_owned())
                        .collect()
                };
                Some((at, names))
            }
        };
        let (end, after) = (buf.len(), scanner.position());
        match found {
            // blank lines (or a BOM) only: no header and no rows, as an
            // input of no bytes (with `no_header`, the blank lines were
            // read as records of no field: an index out of bounds)
            None => {
                self.body_start = end;
                self.is_empty = true;
            }
            Some((at, header)) => {
                self.body_start = if no_header { start } else { after };
                self.header_at = at;
                self.header = header;
            }
        }
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

    /// Whether `start..end` of the input is in memory: for a mapped file,
    /// whether the pages [`fetch_ahead`] samples are all in the page cache.
    pub(crate) fn is_cached(&self, start: usize, end: usize) -> bool {
        match &self.bytes {
            #[cfg(target_os = "linux")]
            Bytes::Mapped { map, .. } => {
                let end = end.min(map.len());
                start >= end || all_resident(map, start, end)
            }
            _ => true,
        }
    }

    /// Starts reading `start..end` of a mapped input from disk where it is
    /// not in the page cache ([`fetch_ahead`]).
    fn fetch_ahead(&self, start: usize, end: usize) {
        if let Bytes::Mapped { map, .. } = &self.bytes {
            fetch_ahead(map, start, end);
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

/// Bytes a range's reader asks for ahead of itself at a time
/// ([`FetchAhead`]): a default partition's size
/// ([`csv_run::default_partitions`]).
const FETCH_CHUNK: usize = 32 << 20;

/// A range's reads from disk, asked for ahead of its scan a chunk at a
/// time ([`fetch_ahead`]): the next chunk once the scan is halfway through
/// the last one, so that a large range (a file of 100 GB cut in 4,096
/// partitions, or `--partitions 1`) never asks for more of the file than
/// the page cache may hold until the scan gets there.
pub(crate) struct FetchAhead {
    /// Where the next chunk starts.
    to: usize,
    end: usize,
}

impl FetchAhead {
    /// Asks for the first chunk of `input[start..end]`.
    pub(crate) fn new(input: &CsvInput, start: usize, end: usize) -> FetchAhead {
        let mut ahead = FetchAhead { to: start, end };
        ahead.at(input, start);
        ahead
    }

    /// The scan is at `pos`: asks for the next chunk when it is due.
    #[inline]
    pub(crate) fn at(&mut self, input: &CsvInput, pos: usize) {
        if self.to < self.end && pos.saturating_add(FETCH_CHUNK / 2) >= self.to {
            let next = self.to.saturating_add(FETCH_CHUNK).min(self.end);
            input.fetch_ahead(self.to, next);
            self.to = next;
        }
    }
}

/// Pages of a range [`fetch_ahead`] looks at to tell whether the range is
/// in the page cache.
#[cfg(target_os = "linux")]
const FETCH_SAMPLES: usize = 8;
/// The most one `MADV_WILLNEED` asks for: Linux reads at most the
/// device's readahead window per call (`force_page_cache_ra`), 128 KiB by
/// default (`read_ahead_kb`), so a larger range is asked for in steps.
#[cfg(target_os = "linux")]
const FETCH_STEP: usize = 128 << 10;

/// Asks the kernel to start reading `map[start..end]` from disk now, when
/// some of it is not in the page cache, before a partition's reader gets
/// there.
///
/// Why: a mapped file's reader that touches a page not in the page cache
/// waits for it, and the kernel's readahead (`MADV_SEQUENTIAL`) then reads
/// one window ahead at a time per thread. Asked for at once, a partition's
/// reads are queued together and overlap the scan. From a cold page cache
/// (the 1.1 GB reference file dropped by `posix_fadvise(DONTNEED)`), Q1 at
/// two threads took 0.75 s without this and 0.64 s with it, Q6 1.30 and
/// 1.15 s. A range whose sampled pages are all resident is left alone:
/// asking for a cached range still costs a page-cache lookup per page.
fn fetch_ahead(map: &Mmap, start: usize, end: usize) {
    #[cfg(target_os = "linux")]
    {
        let end = end.min(map.len());
        if start >= end || all_resident(map, start, end) {
            return;
        }
        let mut at = start;
        while at < end {
            let len = FETCH_STEP.min(end - at);
            // WILLNEED only starts reads into the page cache: no contents
            // change, and a failure (an old kernel) costs nothing.
            let _ = map.advise_range(memmap2::Advice::WillNeed, at, len);
            at += len;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (map, start, end);
}

/// Whether [`FETCH_SAMPLES`] pages spread over `map[start..end]` (not
/// empty, within the map) are all in memory (`mincore`).
#[cfg(target_os = "linux")]
fn all_resident(map: &Mmap, start: usize, end: usize) -> bool {
    // SAFETY: sysconf reads a constant of the process.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let Ok(page) = usize::try_from(page) else {
        return true;
    };
    let base = map.as_ptr() as usize;
    (0..FETCH_SAMPLES).all(|k| {
        let at = start + (end - start - 1) * k / (FETCH_SAMPLES - 1).max(1);
        let at = (base + at) / page * page;
        let mut resident = 0u8;
        // SAFETY: `at` is the page holding that byte of the live mapping
        // `map` (`at < end <= map.len()`; a mapping starts on a page, so
        // the page lies within it); `mincore` writes one byte, for one
        // page, into `resident`, and reads nothing of ours. On failure the
        // range counts as resident (nothing is asked for).
        let rc = unsafe { libc::mincore(at as *mut libc::c_void, 1, &mut resident) };
        rc != 0 || resident & 1 == 1
    })
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

/// What an input's first bytes say it is, by the strict rule of
/// [`detect_format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// `PAR1`, then the field header of a Thrift compact struct's first
    /// field, an i32 (`0x15`): a page header (`type`), or, in a file of no
    /// column chunk, the footer (`version`).
    Parquet,
    /// `ARROW1` and its two bytes of padding.
    IpcFile,
    /// An Arrow IPC stream (pyarrow's `ipc.new_stream`, often `.arrows`).
    IpcStream,
    /// Anything else: CSV, compressed or not.
    Other,
}

impl Start {
    /// The first bytes of Arrow IPC's file format: its magic and padding.
    const IPC_FILE: &'static [u8] = b"ARROW1\0\0";
    /// Bytes [`Start::of`] needs at most.
    const SNIFF: usize = 16;

    /// Whether `head`, an input's first bytes, tells [`Start::of`] what it
    /// is: it is [`Start::SNIFF`] long, or no more bytes can change the
    /// answer (each binary start is decided by this many bytes, or ruled
    /// out by fewer: a CSV's first byte, `i` of `id,...`, rules out all).
    fn told(head: &[u8]) -> bool {
        const STARTS: [(&[u8], usize); 3] = [
            (b"PAR1\x15", 5),
            (Start::IPC_FILE, 8),
            (b"\xff\xff\xff\xff", 12),
        ];
        // a legacy stream's first 8 bytes (`ipc::may_be_legacy_stream`),
        // unless a byte read so far rules it out: its length and root
        // offset are multiples of 4 under 2^24
        let byte = |i: usize, ok: fn(u8) -> bool| head.get(i).is_none_or(|&b| ok(b));
        let legacy_open = head.len() < 8
            && byte(0, |b| b % 4 == 0)
            && byte(3, |b| b == 0)
            && byte(4, |b| b % 4 == 0)
            && byte(7, |b| b == 0);
        // a byte-order mark (or the start of one) and text after it, with
        // no line end yet ([`wide_text`])
        let wide_open = head.len() < WIDE_SNIFF
            && match wide_scan(head) {
                WideScan::NoMark => WIDE_MARKS
                    .iter()
                    .any(|m| head.len() < m.len() && m.starts_with(head)),
                // (`FF FE` then fewer than 2 bytes may yet be UTF-32's mark)
                WideScan::Open => true,
                WideScan::Binary | WideScan::Line => false,
            };
        if wide_open {
            return false;
        }
        head.len() >= Self::SNIFF
            || !legacy_open
                && STARTS
                    .into_iter()
                    .chain(FOREIGN_STARTS)
                    .all(|(magic, decided_by)| {
                        head.len() >= decided_by
                            || !magic.starts_with(&head[..head.len().min(magic.len())])
                    })
    }

    fn of(head: &[u8]) -> Start {
        if head.starts_with(parquet::MAGIC) && head.get(parquet::MAGIC.len()) == Some(&0x15) {
            Start::Parquet
        } else if head.starts_with(Self::IPC_FILE) {
            Start::IpcFile
        } else if ipc::is_stream(head) || ipc::may_be_legacy_stream(head) {
            Start::IpcStream
        } else {
            Start::Other
        }
    }
}

/// Starts of file formats rayproc does not read ([`foreign`]) that no CSV
/// text opens with, and how many bytes decide each: what a pipe's peek
/// reads before it may stop ([`Start::told`]).
const FOREIGN_STARTS: [(&[u8], usize); 7] = [
    (b"Obj\x01", 4),
    (b"PK\x03\x04", 4),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8),
    (b"SQLite format 3\0", 16),
    (b"BZh", 10),
    (b"\xfd7zXZ\0", 6),
    (b"\x04\x22\x4d\x18", 4),
];

/// The byte-order marks of UTF-32 (big-endian, little-endian) and UTF-16
/// (little-endian, big-endian), in the order [`wide_scan`] tries them.
const WIDE_MARKS: [&[u8]; 4] = [b"\0\0\xfe\xff", b"\xff\xfe\0\0", b"\xff\xfe", b"\xfe\xff"];

/// The most bytes [`wide_text`] reads of an input that opens with a mark:
/// its first line must end within them.
const WIDE_SNIFF: usize = 4096;

/// Reads on from `reader` into `head`, an input's first bytes (up to
/// [`Start::SNIFF`], read from it), when they open with a byte-order mark
/// of UTF-16 or UTF-32: up to [`WIDE_SNIFF`] bytes, what [`wide_text`]
/// reads.
fn read_wide_head(head: &mut Vec<u8>, reader: impl Read) -> io::Result<()> {
    if wide_mark(head).is_some() {
        let want = WIDE_SNIFF.saturating_sub(head.len()) as u64;
        reader.take(want).read_to_end(head)?;
    }
    Ok(())
}

/// What the characters after a byte-order mark say ([`wide_scan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WideScan {
    /// No mark of UTF-16 or UTF-32 opens the bytes (or not yet all of one).
    NoMark,
    /// A character after the mark is not text: binary bytes.
    Binary,
    /// Text up to a line end (its first line): the encoding is told.
    Line,
    /// Text so far, with no line end yet.
    Open,
}

/// The encoding `head` opens with the mark of, how the mark reads, the
/// size of its units and whether they are big-endian.
fn wide_mark(head: &[u8]) -> Option<(&'static str, &'static str, usize, bool)> {
    let [be32, le32, le16, be16] = WIDE_MARKS;
    Some(if head.starts_with(be32) {
        (
            "UTF-32",
            "big-endian: it opens with the byte-order mark 00 00 FE FF",
            4,
            true,
        )
    } else if head.starts_with(le32) {
        (
            "UTF-32",
            "little-endian: it opens with the byte-order mark FF FE 00 00",
            4,
            false,
        )
    } else if head.starts_with(le16) {
        (
            "UTF-16",
            "little-endian: it opens with the byte-order mark FF FE",
            2,
            false,
        )
    } else if head.starts_with(be16) {
        (
            "UTF-16",
            "big-endian: it opens with the byte-order mark FE FF",
            2,
            true,
        )
    } else {
        return None;
    })
}

/// Reads the characters after `head`'s byte-order mark, up to the first
/// line end: each must be text (no control character but a tab or line
/// end, no noncharacter, no unpaired surrogate, nothing past U+10FFFF).
fn wide_scan(head: &[u8]) -> WideScan {
    let Some((_, _, unit, big)) = wide_mark(head) else {
        return WideScan::NoMark;
    };
    let units = head[unit..].chunks_exact(unit).map(|b| {
        let mut word = [0u8; 4];
        word[4 - unit..].copy_from_slice(b);
        if !big {
            word[4 - unit..].reverse();
        }
        u32::from_be_bytes(word)
    });
    // after a UTF-16 pair's first half (its second must follow)
    let mut high = false;
    for u in units {
        let text = match u {
            0xd800..=0xdbff => unit == 2 && !high,
            0xdc00..=0xdfff => unit == 2 && high,
            _ => {
                !high
                    && char::from_u32(u).is_some_and(|c| {
                        (!c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                            && (u & 0xfffe) != 0xfffe
                    })
            }
        };
        if !text {
            return WideScan::Binary;
        }
        if u == u32::from(b'\n') || u == u32::from(b'\r') {
            return WideScan::Line;
        }
        high = (0xd800..=0xdbff).contains(&u);
    }
    WideScan::Open
}

/// The encoding `head` is in, and how its start tells it, when it is
/// UTF-16 or UTF-32 text (Excel's "Unicode Text", PowerShell's `Out-File`,
/// SQL Server's exports): read as CSV, its header held NUL bytes, or with
/// `--no-header` its rows were counted with exit 0. Told by its byte-order
/// mark, which no UTF-8 text opens with (`FE` and `FF` are never UTF-8),
/// then characters that are text up to the end of the first line, within
/// [`WIDE_SNIFF`] bytes. UTF-16 of CJK characters, which holds no NUL
/// byte, is told too; binary bytes that happen to open with a mark (a
/// damaged Arrow IPC stream's `FE FF FF FF`), Latin-1 text that does
/// (`þÿ`, whose line ends are single bytes, not characters of two), and a
/// few bytes after a mark with no line end among them, are not.
fn wide_text(head: &[u8]) -> Option<(&'static str, &'static str)> {
    // the same bytes decide, however many were read
    let head = &head[..head.len().min(WIDE_SNIFF)];
    let (encoding, how, _, _) = wide_mark(head)?;
    (wide_scan(head) == WideScan::Line).then_some((encoding, how))
}

/// The last bytes of a regular file that [`foreign`] reads: the longest
/// magic (`ARROW1`) and the footer length before it.
const TAIL: usize = 10;

/// What a file is, if it is in a format rayproc does not read but would
/// otherwise take for CSV text: read as CSV, such a file gave a count of
/// its binary "lines" with exit 0 (a Feather version 1 file of 3 rows
/// counted 0, an ORC file 19). Told strictly: by magic bytes that no text
/// opens with, or, where the magic is text (`FEA1`, `ORC`), by the magic
/// at both ends of a regular file (`tail`: its last [`TAIL`] bytes; a pipe has
/// none, and such a start from a pipe stays CSV); UTF-16 and UTF-32 text
/// by its byte-order mark and the characters after it ([`wide_text`]).
fn foreign(head: &[u8], tail: Option<&[u8; TAIL]>) -> Option<Cow<'static, str>> {
    if let Some((encoding, how)) = wide_text(head) {
        let convert = to_utf8(encoding, None);
        return Some(format!("{encoding} text ({how}); {convert}").into());
    }
    let head = &head[..head.len().min(Start::SNIFF)];
    foreign_format(head, tail).map(Cow::Borrowed)
}

/// What to do with text in `encoding` ([`wide_text`]), compressed with
/// the tool `compressed` or not: the command that converts it.
fn to_utf8(encoding: &str, compressed: Option<&str>) -> String {
    let iconv = format!("iconv -f {encoding} -t UTF-8");
    let command = match compressed {
        None => format!("{iconv} FILE > NEW.csv"),
        Some(tool) => format!("{tool} -dc FILE | {iconv} > NEW.csv"),
    };
    format!("rayproc reads CSV as UTF-8: convert it first (`{command}`)")
}

/// [`foreign`]'s file formats, by their magic bytes.
fn foreign_format(head: &[u8], tail: Option<&[u8; TAIL]>) -> Option<&'static str> {
    // the magic `magic` then `after` bytes end the file
    let ends =
        |magic: &[u8], after: usize| tail.is_some_and(|t| t[..TAIL - after].ends_with(magic));
    // `magic` ends the file after a plausible footer length (Parquet's and
    // Arrow's: little-endian, 4 bytes): not zero, and under 2^24, so that
    // its top byte is zero, which no text holds (a CSV may end `,ARROW1`)
    let footer = |magic: &[u8]| {
        tail.is_some_and(|t| {
            let at = TAIL - magic.len() - 4;
            let len = u32::from_le_bytes(t[at..at + 4].try_into().expect("4 bytes"));
            ends(magic, 0) && len > 0 && len < 1 << 24
        })
    };
    let bzip2 = head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && head[4..10] == *b"1AY&SY";
    // a control byte other than a tab or line end: no CSV text holds one
    let binary = head
        .iter()
        .take(16)
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    Some(if head.starts_with(b"PARE") && footer(b"PARE") && binary {
        "an encrypted Parquet file (Parquet modular encryption), which rayproc does not \
         read: write it without encryption"
    } else if !head.starts_with(b"PAR1") && footer(b"PAR1") && binary {
        "a damaged Parquet file: it ends with Parquet's magic (PAR1) but does not begin with \
         it, and its first bytes are not text"
    } else if !head.starts_with(ipc::MAGIC) && footer(ipc::MAGIC) && binary {
        "a damaged Arrow IPC file: it ends with Arrow's magic (ARROW1) but does not begin \
         with it, and its first bytes are not text"
    } else if head.starts_with(b"FEA1") && ends(b"FEA1", 0) {
        "a Feather version 1 file (pandas before 1.0, R's feather), which rayproc does not \
         read: it reads Feather version 2 (Arrow IPC); convert it with pyarrow: \
         `pyarrow.feather.write_feather(pyarrow.feather.read_table(OLD), NEW)`"
    } else if head.starts_with(b"ORC") && ends(b"ORC", 1) {
        "an ORC file, which rayproc does not read: convert it to Parquet \
         (`pyarrow.parquet.write_table(pyarrow.orc.read_table(OLD), NEW)`)"
    } else if head.starts_with(FOREIGN_STARTS[0].0) {
        "an Avro file, which rayproc does not read: convert it to CSV or Parquet"
    } else if head.starts_with(FOREIGN_STARTS[1].0) {
        "a ZIP archive (an Excel workbook?), which rayproc does not read: unzip it, or save \
         the sheet as CSV"
    } else if head.starts_with(FOREIGN_STARTS[2].0) {
        "an OLE2 document (an Excel 97-2003 workbook?), which rayproc does not read: save \
         the sheet as CSV"
    } else if head.starts_with(FOREIGN_STARTS[3].0) {
        "an SQLite database, which rayproc does not read: export the table as CSV \
         (`sqlite3 -csv -header DB 'select * from T'`)"
    } else if bzip2 {
        "compressed with bzip2; rayproc decompresses gzip and zstd only: decompress it \
         first (`bzip2 -dc FILE | rayproc run --input - ...`)"
    } else if head.starts_with(FOREIGN_STARTS[5].0) {
        "compressed with xz; rayproc decompresses gzip and zstd only: decompress it first \
         (`xz -dc FILE | rayproc run --input - ...`)"
    } else if head.starts_with(FOREIGN_STARTS[6].0) {
        "compressed with LZ4; rayproc decompresses gzip and zstd only: decompress it first \
         (`lz4 -dc FILE | rayproc run --input - ...`)"
    } else {
        return None;
    })
}

/// [`foreign`]'s finding as an error naming the input (`shown`, as
/// messages show it).
fn refuse_foreign(shown: &str, head: &[u8], tail: Option<&[u8; TAIL]>) -> Result<()> {
    match foreign(head, tail) {
        None => Ok(()),
        Some(what) => Err(Error::Other(format!("{shown}: is {what}"))),
    }
}

/// Tells an input's format by its magic bytes, whatever its name.
///
/// A regular file with the magic at both ends (`PAR1`, `ARROW1`) is
/// Parquet or Arrow IPC, and so is one that opens as an Arrow IPC stream
/// (read by [`ipc::IpcFile`] too, which checks the rest); anything else is
/// CSV (compressed CSV included), unless its first bytes are surely
/// binary: a start that can only be Parquet (`PAR1` and a Thrift field
/// header, see [`Start`]) or an Arrow IPC file (`ARROW1\0\0`) without the
/// closing magic is a truncated or partly copied file, an error (exit 1):
/// read as CSV, such a file gave a count with exit 0, or its binary bytes
/// as column names. The start is
/// told strictly (`PAR1` alone, or `ARROW1` alone, may open a CSV header:
/// `PAR10,b`), and by the same rule for every kind of input.
///
/// Standard input, a pipe or a FIFO is opened here and its first bytes read
/// ([`stream::peek_pipe`]); the opened stream is kept for
/// [`CsvInput::open_with`]. Parquet and Arrow IPC are read by random
/// access from the path, so a stream that starts as one is refused.
pub fn detect_format(path: &Path) -> Result<InputFormat> {
    if stream::is_streamed(path) {
        let stdin = path.as_os_str() == "-";
        let head = stream::peek_pipe(path)?;
        let shown = stream::input_name(path);
        refuse_foreign(&show_path(shown), &head, None)?;
        let format = match Start::of(&head) {
            Start::Other => return Ok(InputFormat::Csv),
            Start::Parquet => InputFormat::Parquet,
            Start::IpcFile | Start::IpcStream => InputFormat::Ipc,
        };
        let name = format.name();
        let what = if stdin {
            "comes on standard input"
        } else {
            "is not a regular file (a pipe or FIFO)"
        };
        return Err(Error::io(
            shown,
            io::Error::other(format!(
                "holds {name} but {what}; {name} inputs are read by random access from a \
                 path: save it to a file first"
            )),
        ));
    }
    let mut file = match File::open(path) {
        Ok(f) => f,
        // let the CSV reader report the error, as before
        Err(_) => return Ok(InputFormat::Csv),
    };
    let Ok(meta) = file.metadata() else {
        return Ok(InputFormat::Csv);
    };
    if meta.is_dir() {
        return Ok(InputFormat::Csv);
    }
    let mut head = Vec::with_capacity(Start::SNIFF);
    (&mut file)
        .take(Start::SNIFF as u64)
        .read_to_end(&mut head)
        .and_then(|_| read_wide_head(&mut head, &mut file))
        .map_err(|e| Error::io(path, e))?;
    let mut tail = None;
    if meta.len() >= 12 {
        let mut end = [0u8; TAIL];
        file.seek(SeekFrom::End(-(TAIL as i64)))
            .and_then(|_| file.read_exact(&mut end))
            .map_err(|e| Error::io(path, e))?;
        if parquet::is_parquet(&head, &end) {
            return Ok(InputFormat::Parquet);
        }
        if ipc::is_ipc(&head) && end.ends_with(ipc::MAGIC) {
            return Ok(InputFormat::Ipc);
        }
        tail = Some(end);
    }
    let name = show_path(path);
    refuse_foreign(&name, &head, tail.as_ref())?;
    match Start::of(&head) {
        Start::Other => Ok(InputFormat::Csv),
        Start::IpcStream if ipc::is_stream(&head) => Ok(InputFormat::Ipc),
        Start::IpcStream => {
            // a legacy stream's start: its first message tells
            let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
            let mut first = Vec::new();
            file.seek(SeekFrom::Start(0))
                .and_then(|_| (&mut file).take(4 + u64::from(len)).read_to_end(&mut first))
                .map_err(|e| Error::io(path, e))?;
            Ok(if ipc::is_legacy_stream(&first) {
                InputFormat::Ipc
            } else {
                InputFormat::Csv
            })
        }
        start @ (Start::Parquet | Start::IpcFile) => Err(Error::Other(format!(
            "{name}: starts as {} but does not end with its footer: a truncated or partly \
             copied file?",
            if start == Start::Parquet {
                "Parquet"
            } else {
                "an Arrow IPC file"
            }
        ))),
    }
}

/// Refuses a compressed input (`name`, compressed as `compression`) whose
/// decompressed text starts (`head`) as Parquet or Arrow IPC, by the strict
/// rule of [`detect_format`]. Such a file is told apart only once it is
/// decompressed, and read as CSV it failed on its binary bytes ("expected
/// 3 fields") or counted them as rows. rayproc reads Parquet and Arrow IPC
/// by random access, so only uncompressed: they compress their own pages
/// and buffers, and a compressed copy of one gains little.
///
/// The content decides, not the name: the strict starts (`PAR1` and a
/// Thrift field header, `ARROW1\0\0`, a plausible IPC stream message) are
/// what every writer puts first, so a `data.gz` from a dataset folder or a
/// pattern is told as surely as an `x.parquet.gz`, and a CSV whose header
/// merely begins `PAR1` stays CSV, compressed or not.
pub(crate) fn refuse_compressed_typed(
    name: &str,
    compression: decompress::Compression,
    head: &[u8],
) -> Result<()> {
    let name = crate::error::show_name(name);
    if let Some((encoding, how)) = wide_text(head) {
        let tool = compression.name();
        let convert = to_utf8(encoding, Some(tool));
        return Err(Error::Other(format!(
            "{name}: holds {encoding} text compressed with {tool} ({how}, once \
             decompressed); {convert}"
        )));
    }
    let (what, format) = match Start::of(head) {
        Start::Other => return Ok(()),
        Start::Parquet => ("a Parquet file", InputFormat::Parquet),
        Start::IpcFile => ("an Arrow IPC file", InputFormat::Ipc),
        Start::IpcStream => ("an Arrow IPC stream", InputFormat::Ipc),
    };
    let (tool, format) = (compression.name(), format.name());
    Err(Error::Other(format!(
        "{name}: holds {what} compressed with {tool}; rayproc reads {format} only \
         uncompressed ({format} compresses its own data): decompress it into a file first, \
         with `{tool} -d`"
    )))
}

/// Opens `path` for mapping: the file itself when it is a regular file with
/// bytes, else a spooled copy (see the module doc). True when spooled:
/// the input cannot be read again.
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

/// Copies `source` into an anonymous temporary file, rewound. A failure of
/// the temporary file is said to be one, naming its folder: it was
/// reported as the input's own (`<stdin>: No such file or directory` for
/// a `TMPDIR` that does not exist, `/proc/self/status: No space left on
/// device` for a full one), and users looked for a fault in the input.
fn spool(path: &Path, mut source: impl Read) -> Result<File> {
    let temp = |e: io::Error| {
        let dir = std::env::temp_dir();
        let from = if std::env::var_os("TMPDIR").is_some() {
            " (TMPDIR)"
        } else {
            ""
        };
        Error::io(
            path,
            io::Error::new(
                e.kind(),
                format!(
                    "cannot copy it to a temporary file in {}{from} to read it: {e}",
                    show_path(&dir)
                ),
            ),
        )
    };
    let mut file = tempfile::tempfile().map_err(temp)?;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match source.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        file.write_all(&chunk[..n]).map_err(temp)?;
    }
    file.seek(SeekFrom::Start(0)).map_err(temp)?;
    Ok(file)
}

#[cfg(all(test, target_os = "linux"))]
mod fetch_tests {
    use std::io::Write;
    use std::os::fd::AsRawFd;

    use super::*;

    /// Drops a file's clean pages from the page cache.
    fn evict(file: &File) {
        // SAFETY: an advice on our own open file; it changes no contents.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
    }

    /// A range not in the page cache is read into it by `fetch_ahead`, in
    /// the background; one that is stays as it is. (On a file system that
    /// keeps every page, tmpfs, the eviction does nothing and there is
    /// nothing to check.)
    #[test]
    fn fetch_ahead_reads_an_evicted_range_into_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut file = File::create(&path).unwrap();
        let line = b"0123456789,abcdefghij,0.5\n";
        let text: Vec<u8> = line.iter().copied().cycle().take(8 << 20).collect();
        file.write_all(&text).unwrap();
        file.sync_all().unwrap();
        let file = File::open(&path).unwrap();
        // SAFETY: a read-only map of the test's own file, unchanged meanwhile.
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let (start, end) = (1 << 20, 7 << 20);
        // read, not through the map: a page mapped into the process is not
        // dropped from the page cache
        assert_eq!(std::fs::read(&path).unwrap(), text);
        assert!(all_resident(&map, 0, map.len()), "a file just read");
        fetch_ahead(&map, start, end); // resident: nothing asked
        fetch_ahead(&map, end, usize::MAX); // past the end: clipped
        fetch_ahead(&map, map.len(), map.len() + 10);
        evict(&file);
        if all_resident(&map, start, end) {
            eprintln!("the file system kept the evicted pages: nothing to check");
            return;
        }
        fetch_ahead(&map, start, end);
        let asked = std::time::Instant::now();
        while !all_resident(&map, start, end) {
            assert!(
                asked.elapsed() < std::time::Duration::from_secs(20),
                "the range was not read into the page cache"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// A range's chunks are asked for one by one as the scan reaches the
    /// middle of the last one asked for, never past the range's end.
    #[test]
    fn fetch_ahead_keeps_one_chunk_ahead_of_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let input = CsvInput::open(&path, b',').unwrap();
        let (start, end) = (100, 100 + 2 * FETCH_CHUNK + FETCH_CHUNK / 4);
        let mut ahead = FetchAhead::new(&input, start, end);
        assert_eq!(ahead.to, start + FETCH_CHUNK);
        ahead.at(&input, start + FETCH_CHUNK / 2 - 1);
        assert_eq!(ahead.to, start + FETCH_CHUNK, "not yet halfway");
        ahead.at(&input, start + FETCH_CHUNK / 2);
        assert_eq!(ahead.to, start + 2 * FETCH_CHUNK);
        ahead.at(&input, start + 3 * FETCH_CHUNK / 2);
        assert_eq!(ahead.to, end, "the last chunk ends at the range's");
        ahead.at(&input, end);
        assert_eq!(ahead.to, end);
        let small = FetchAhead::new(&input, 4, 9);
        assert_eq!(small.to, 9);
    }
}

#[cfg(test)]
mod sniff_tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// First bytes of files pyarrow 26 writes: Parquet (a page header
    /// first; with no column, the footer), with and without rows, and
    /// Arrow IPC files and streams.
    #[test]
    fn starts_of_files_writers_write() {
        for parquet in [
            "5041523115041530", // rows, dictionary pages
            "504152311500153c", // no dictionary
            "5041523115041500", // no rows
            "504152311504191c", // no columns: the footer
            "5041523115021930", // the parquet crate, no rows: the footer
        ] {
            assert_eq!(Start::of(&hex(parquet)), Start::Parquet, "{parquet}");
        }
        assert_eq!(
            Start::of(&hex("4152524f57310000ffffffffa8000000")),
            Start::IpcFile
        );
        for stream in [
            "ffffffffa80000001000000000000a00",
            "ffffffff300000001000000000000a00", // no columns
        ] {
            assert_eq!(Start::of(&hex(stream)), Start::IpcStream, "{stream}");
        }
    }

    /// Text that merely begins with a magic, and binary that is not quite
    /// an IPC stream, is CSV.
    #[test]
    fn near_misses_are_csv() {
        for head in [
            &b"PAR10,b\n1,2\n"[..],
            b"PAR1",
            b"PAR1PAR1",
            b"ARROW1,b\n1,2\n",
            b"ARROW1\0",
            b"",
            b"\xff\xff\xff\xff",
            b"\xff\xff\xff\xff\x00\x00\x00\x00\x10\x00\x00\x00", // end of stream
            b"\xff\xff\xff\xff\x0c\x00\x00\x00\x04\x00\x00\x00", // length not padded
            b"\xff\xff\xff\xff\x10\x00\x00\x00\x10\x00\x00\x00", // root past the metadata
            b"\xff\xff\xff\xff\x10\x00\x00\x00\x06\x00\x00\x00", // root not aligned
            b"\xff\xff\xff\xff\x10\x00\x00\x80\x08\x00\x00\x00", // negative length
        ] {
            assert_eq!(Start::of(head), Start::Other, "{head:?}");
        }
    }

    /// A stream's format is told from as few of its first bytes as can
    /// tell it (a slow producer's first line may take long), and the
    /// answer is the one its first 16 bytes give.
    #[test]
    fn the_fewest_first_bytes_tell_the_same_start() {
        let heads = [
            &b"id,x\n1,2\n3,4\n5,6\n"[..],
            b"a\n1\n2\n3\n4\n5\n6\n7\n",
            b"PAR10,b\n1,2\n3,4\n",
            b"ARROW1,b\n1,2\n3,4\n",
            b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0",
            b"\xff\xff\xff\xff\x10\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00",
        ];
        let binary = [
            hex("5041523115041530"),
            hex("4152524f57310000ffffffffa8000000"),
            hex("ffffffffa80000001000000000000a00"),
            hex("a40000001000000000000a000c000600"), // a legacy stream
            hex("504b0304140000000800a1b2c3d4e5f6"), // zip
            hex("fd377a585a000004e6d6b44602002101"), // xz
            b"BZh91AY&SY\x12\x34\x56\x78\x9a\xbc".to_vec(),
            hex("fffe690064002c0078000a0031002c00"), // UTF-16LE `id,x\n1,`
            hex("feff00690064002c0078000a0031002c"), // UTF-16BE
            hex("feffffffa80000001000000000000a00"), // a damaged stream: CSV
        ];
        for head in heads
            .iter()
            .copied()
            .chain(binary.iter().map(Vec::as_slice))
        {
            // (or all of it: a stream may end before it is told)
            let fewest = (0..=head.len())
                .find(|&n| Start::told(&head[..n]))
                .unwrap_or(head.len());
            assert_eq!(Start::of(&head[..fewest]), Start::of(head), "{head:?}");
            assert_eq!(
                foreign(&head[..fewest], None),
                foreign(head, None),
                "{head:?}"
            );
        }
        // CSV by its first byte (or, opening as a legacy stream may, its
        // fourth)
        assert!(Start::told(b"i") && Start::told(b"a") && Start::told(b"PAR2"));
        assert!(!Start::told(b"x,y") && Start::told(b"x,y\n"));
        assert!(!Start::told(b"\xa4\x00\x00\x00\x10\x00\x00"));
        assert!(!Start::told(b"") && !Start::told(b"PAR1") && !Start::told(b"ARROW"));
        assert!(!Start::told(b"\xff\xff\xff\xff\x10\x00\x00\x00"));
        // a mark, and text after it up to a line end, or binary bytes
        assert!(!Start::told(b"\xff") && !Start::told(b"\0\0\xfe"));
        assert!(!Start::told(b"\xff\xfe") && !Start::told(b"\xff\xfeA\0B\0C\0D\0E\0F\0G\0"));
        assert!(Start::told(b"\xff\xfeA\0\n\0") && Start::told(b"\xfe\xff\xff\xff"));
    }

    /// Random bytes after each mark: the fewest bytes that tell the start
    /// (what a pipe's peek reads) give the answer all of them give, and
    /// nothing panics.
    #[test]
    fn random_bytes_after_a_mark_are_told_by_their_first_bytes() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        };
        for i in 0..20_000 {
            let mark = WIDE_MARKS[i % WIDE_MARKS.len()];
            let mut head = mark.to_vec();
            // few distinct bytes, so that line ends and text both occur
            let alphabet = [0, b'\n', b'\r', b'a', 0xd8, 0xdc, 0xff, 0x4e];
            head.extend((0..24).map(|_| alphabet[next() as usize % alphabet.len()]));
            let fewest = (0..=head.len())
                .find(|&n| Start::told(&head[..n]))
                .unwrap_or(head.len());
            assert_eq!(
                foreign(&head[..fewest], None),
                foreign(&head, None),
                "{head:?}"
            );
        }
    }

    /// UTF-16 and UTF-32 are told by their byte-order mark and the text
    /// after it; binary bytes after a mark, or a mark's bytes alone where
    /// more could follow, are not text.
    #[test]
    fn wide_text_is_told_by_its_mark_and_characters() {
        let encode = |text: &str, unit: usize, big: bool| -> Vec<u8> {
            let units: Vec<u32> = if unit == 2 {
                text.encode_utf16().map(u32::from).collect()
            } else {
                text.chars().map(u32::from).collect()
            };
            (units.iter())
                .flat_map(|&u| {
                    let b = u.to_be_bytes();
                    let mut w = b[4 - unit..].to_vec();
                    if !big {
                        w.reverse();
                    }
                    w
                })
                .collect()
        };
        for text in [
            "\u{feff}id,x\n",
            "\u{feff}名,值\r\n",
            "\u{feff}\t😀,a",
            "\u{feff}",
        ] {
            for (unit, big, encoding) in [
                (2, false, "UTF-16"),
                (2, true, "UTF-16"),
                (4, false, "UTF-32"),
                (4, true, "UTF-32"),
            ] {
                let bytes = encode(text, unit, big);
                let found = wide_text(&bytes).map(|(e, _)| e);
                let line = text.contains(['\n', '\r']);
                assert_eq!(found, line.then_some(encoding), "{text:?} {unit} {big}");
            }
        }
        // a first line past what is read is not told; up to it, it is
        let long = format!("\u{feff}{}\n", "名".repeat(WIDE_SNIFF / 2));
        let bytes = encode(&long, 2, false);
        assert_eq!(wide_text(&bytes), None);
        assert_eq!(wide_scan(&bytes[..WIDE_SNIFF]), WideScan::Open);
        let line = encode(
            &format!("\u{feff}{}\n", "名".repeat(WIDE_SNIFF / 2 - 2)),
            2,
            false,
        );
        assert_eq!(line.len(), WIDE_SNIFF);
        assert_eq!(wide_text(&line).map(|(e, _)| e), Some("UTF-16"));
        // Latin-1 text that opens with `þÿ`: its line end is one byte
        assert_eq!(wide_text(b"\xfe\xffid,name\n1,Jos\xe9\n"), None);
        assert_eq!(wide_text(b"\xff\xfea,b\n1,2\n"), None);
        for binary in [
            &hex("feffffffa8000000")[..], // U+FFFF
            &hex("fffe0100")[..],         // a control character
            &hex("fffe00dc4100")[..],     // a second half alone
            &hex("fffe00d84100")[..],     // a first half, then no second
            &hex("0000feff00110000")[..], // past U+10FFFF
            &hex("fffe000000d80000")[..], // a surrogate in UTF-32
            b"\xef\xbb\xbfid,x\n",        // UTF-8's own mark
            b"id,x\n",
            b"\xfe\xff\x54", // no line end
        ] {
            assert_eq!(wide_text(binary), None, "{binary:?}");
        }
    }

    /// The first bytes of a legacy IPC stream (pyarrow 26,
    /// `use_legacy_format=True`) may open one; CSV text cannot (its fourth
    /// byte is not zero).
    #[test]
    fn a_legacy_streams_start_is_told_from_text() {
        assert!(ipc::may_be_legacy_stream(&hex("a40000001000000000000a00")));
        assert_eq!(
            Start::of(&hex("a40000001000000000000a000c000600")),
            Start::IpcStream
        );
        for text in [&b"x,y\n0,0\n"[..], b"0000,1\n", b"abc\0\x10\0\0\0"] {
            assert!(!ipc::may_be_legacy_stream(text), "{text:?}");
        }
    }

    /// Formats rayproc does not read are told by their magic, the textual
    /// ones only at both ends; text that merely begins like one is CSV.
    #[test]
    fn foreign_formats_are_told_strictly() {
        let feather_v1 = std::fs::read(crate::testing::fixture("feather_v1.feather")).unwrap();
        let orc = std::fs::read(crate::testing::fixture("orc.orc")).unwrap();
        for (bytes, what) in [(&feather_v1, "Feather version 1"), (&orc, "ORC")] {
            let tail: [u8; TAIL] = bytes[bytes.len() - TAIL..].try_into().unwrap();
            let found = foreign(&bytes[..16], Some(&tail)).unwrap();
            assert!(found.contains(what), "{found}");
            // from a pipe (no end to check), or with another end: CSV
            assert_eq!(foreign(&bytes[..16], None), None);
            assert_eq!(foreign(&bytes[..16], Some(b"x\nab,cd\n1\n")), None);
        }
        assert_eq!(foreign(b"FEA1,ORC\n", Some(b"x\ny,1,ORC\n")), None);
        // Parquet that rayproc cannot read, and damaged Parquet and Arrow
        // IPC files, told by both ends and the footer length before the
        // closing magic
        let pare = foreign(b"PARE\x15\x00\x15", Some(b"\x15\0\x12\x01\0\0PARE")).unwrap();
        assert!(pare.contains("encrypted Parquet"), "{pare}");
        let damaged = foreign(b"PAR0\x15\x00\x15\xf0", Some(b"\0\0\x02\x01\0\0PAR1")).unwrap();
        assert!(damaged.contains("damaged Parquet"), "{damaged}");
        let damaged = foreign(b"ARROW9\0\0\xff\xff\xff\xff", Some(b"\xf8\0\0\0ARROW1")).unwrap();
        assert!(damaged.contains("damaged Arrow IPC file"), "{damaged}");
        // text that ends so is CSV, binary bytes at its start or not (a
        // Hive table's `\x01` delimiter, terminal colour codes)
        for (head, tail) in [
            (&b"PARE,x\n"[..], &b"x\n1,2,PARE"[..]),
            (b"x,y\n1,PAR1", b"y\n1,x,PAR1"),
            (b"x,y\n1,ARROW1", b"\n1,,ARROW1"),
            (b"k\x01x\na\x01ARROW1", b"x\na\x01ARROW1"),
            (b"k,x\n\x1b[1ma\x1b[0m,PAR1", b"a\x1b[0m,PAR1"),
            (b"PARE\x01x\n", b"\n\x01y\x01x,PARE"),
        ] {
            let tail: &[u8; TAIL] = (&tail[tail.len() - TAIL..]).try_into().unwrap();
            assert_eq!(foreign(head, Some(tail)), None, "{head:?}");
        }
        for (head, what) in [
            (&b"Obj\x01\x04\x14avro"[..], "Avro"),
            (b"PK\x03\x04\x14\x00", "ZIP"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "OLE2"),
            (b"SQLite format 3\0", "SQLite"),
            (b"BZh41AY&SY\x01", "bzip2"),
            (b"\xfd7zXZ\0\0", "xz"),
            (b"\x04\x22\x4d\x18\x64", "LZ4"),
        ] {
            let found = foreign(head, None).unwrap_or_else(|| panic!("{head:?}"));
            assert!(found.contains(what), "{found}");
        }
        for text in [
            &b"Obj,x\n"[..],
            b"PK,x\n",
            b"SQLite format 3,x",
            b"BZh,x\n1,2\n3,4",
        ] {
            assert_eq!(foreign(text, None), None, "{text:?}");
        }
    }
}
