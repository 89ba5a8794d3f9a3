//! Streamed CSV inputs: standard input, pipes, FIFOs and compressed files,
//! read in blocks as they arrive and parsed in parallel while the producer
//! is still writing, in bounded memory.
//!
//! # Why blocks, and where they are cut
//!
//! Such an input cannot be mapped (a pipe has no size and yields its bytes
//! once; a compressed file's text exists only as it is decompressed), and
//! copying it whole first (to a temporary file, as `run` once did) costs a
//! second pass, disk the size of the stream, and time before the first row.
//! So one thread, the *producer* ([`map`]'s caller), reads the stream into
//! blocks of about [`block_size`] bytes and hands each to a bounded queue;
//! worker threads parse the blocks with the file reader
//! ([`super::csv::CsvReader`]), each block wrapped as a [`CsvInput`] of its
//! own, and fold them into their own partial states, which merge exactly
//! as the partitions of a file do. The queue holds at most one block per
//! worker and the producer recycles the blocks parsed, so memory is
//! `(2 · threads + 2)` blocks whatever the stream's length.
//!
//! A block must end exactly on a record boundary, as the file parser
//! ([`super::scan::Scanner`]) sees them, since a worker reads a block from
//! its first byte as from a record start. [`last_boundary`] finds the last
//! one: where the block holds no quote byte, every line end is one (the
//! block starts on a boundary, so no quoted field is open), and a
//! `memrchr` finds the last; otherwise the block's quoting is checked 64
//! bytes at a time as the fast scanner checks it (every newline outside
//! quotes of a well-formed block ends a record), and the scalar scanner
//! takes over where it is not well formed. A record end is only *certain* if the next byte is known: a CR
//! as the last byte read may be the first half of a CRLF whose LF is still
//! in the pipe, and a record that runs to the end of the bytes read may go
//! on. A block with no certain boundary (a record longer than a block) is
//! grown until it holds one.
//!
//! # The same answer and the same errors as a file
//!
//! Each block carries the count of physical lines before it
//! ([`CsvInput::line_base`]), counted by [`super::line_of`]'s rule, so an
//! error in a block names the line of the whole input, byte-identical to
//! the error for the same bytes in a file. Blocks are numbered; when one
//! fails, the blocks after it stop and the producer stops reading, but the
//! blocks before it run to the end, and the failure of the lowest-numbered
//! block is the one reported: the input's first bad record, as the file
//! map reports it. A file run that finds a `min`/`max` column to be text
//! runs again keeping text extremes; a stream cannot be read again, so
//! streamed runs keep text extremes from the start (same answer).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

use memchr::{memchr, memrchr2};
use memmap2::Mmap;

use super::csv::CsvReader;
use super::csv_run::{fold_batch, Stop};
use super::decompress::{self, Compression, ParallelDecoder};
use super::fastscan::{classifier, QuoteState};
use super::scan::{FieldSink, Scanner, Span};
use super::{line_of, Bytes, CsvInput, OpenOptions, BOM};
use crate::batch::Batch;
use crate::cpu;
use crate::error::{show_name, show_path, DataError, Error, Result};
use crate::exec::{self, ExecOptions};
use crate::partial::{Partial, SharedParts, Table};
use crate::plan::Plan;
use crate::progress::Progress;

/// The unread rest of a streamed input, taken once by [`map`].
pub struct Rest {
    reader: Mutex<Option<Box<dyn Read + Send>>>,
    /// Of the bytes read, from the opening on ([`Counted`]).
    progress: Arc<Progress>,
}

/// A stream named as an input (standard input, a pipe, a FIFO): opened
/// (with its first bytes read) by [`peek_pipe`], then taken by
/// [`take_pipe`].
enum Pipe {
    Peeked(Vec<u8>, Box<dyn Read + Send>),
    Taken,
}

/// Which file a stream is: its device and inode, the same whatever path
/// names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
}

/// One stream opened so far.
struct Opened {
    /// As the user named it (`-` for standard input).
    path: PathBuf,
    /// `None` where it cannot be told (standard input closed, a system
    /// without inodes) or need not be (standard input redirected from a
    /// regular file, which is read twice like any file named twice).
    id: Option<Identity>,
    pipe: Pipe,
}

/// The streams opened so far. A stream yields its bytes once, so a second
/// reader would split them with the first (both answers wrong, no error):
/// one named twice is a usage error, whether by the same path or by two
/// (`-` and `/dev/stdin` or `/dev/fd/0`, a FIFO as `ff` and `./ff`), told
/// by [`Identity`], not by the path's text.
static PIPES: Mutex<Vec<Opened>> = Mutex::new(Vec::new());

/// Bytes [`peek_pipe`] reads at most to tell the format (see
/// [`super::detect_format`]): enough for an Arrow IPC stream's marker,
/// metadata length and flatbuffer root offset, and for the first line of
/// UTF-16 or UTF-32 text after its mark (`super::wide_text`); it stops as
/// soon as the bytes read tell.
const PEEK: usize = super::WIDE_SNIFF;

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The name an input goes by in messages and errors: `<stdin>` for `-`,
/// else its path.
pub(crate) fn input_name(path: &Path) -> &Path {
    if is_stdin(path) {
        Path::new("<stdin>")
    } else {
        path
    }
}

/// The identity of a file neither regular nor a directory: a pipe, a FIFO,
/// a character device (`None` for any other).
fn stream_identity(meta: &std::fs::Metadata) -> Option<Identity> {
    if meta.is_file() || meta.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
    #[cfg(not(unix))]
    None
}

/// The identity of standard input (`fstat` of a duplicate of fd 0), when
/// it is a stream.
fn stdin_identity() -> Option<Identity> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
        stream_identity(&File::from(fd).metadata().ok()?)
    }
    #[cfg(not(unix))]
    None
}

/// Whether `path` is read as a stream ([`take_pipe`]), and then its
/// identity.
fn streamed(path: &Path) -> Option<Option<Identity>> {
    if is_stdin(path) {
        return Some(stdin_identity());
    }
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Some(stream_identity(&m)),
        _ => None,
    }
}

/// Whether `path` is read as a stream: standard input, a pipe, a FIFO, a
/// file neither regular nor a directory.
pub(crate) fn is_streamed(path: &Path) -> bool {
    streamed(path).is_some()
}

/// How messages name `path`.
fn shown(path: &Path) -> std::borrow::Cow<'_, str> {
    if is_stdin(path) {
        "- (standard input)".into()
    } else {
        show_path(path)
    }
}

/// The usage error for one stream named twice by the same path.
fn named_twice(path: &Path) -> Error {
    Error::Usage(format!(
        "{} is a pipe named twice as an input: its bytes can be read only once",
        shown(path)
    ))
}

/// The usage error for one stream named by two paths.
fn same_pipe(first: &Path, second: &Path) -> Error {
    Error::Usage(format!(
        "{} and {} are the same pipe, named twice as inputs: its bytes can be read only once",
        shown(first),
        shown(second)
    ))
}

/// The stream opened as `path` already (by this path, else by another of
/// the same identity `id`: a usage error naming both).
fn find<'a>(
    pipes: &'a mut [Opened],
    path: &Path,
    id: Option<Identity>,
) -> Result<Option<&'a mut Opened>> {
    // by the text (`Path` equality would take `./ff` for `ff`), so that a
    // second spelling is named in the error
    if let Some(i) = pipes
        .iter()
        .position(|o| o.path.as_os_str() == path.as_os_str())
    {
        return Ok(Some(&mut pipes[i]));
    }
    match pipes.iter().find(|o| id.is_some() && o.id == id) {
        Some(first) => Err(same_pipe(&first.path, path)),
        None => Ok(None),
    }
}

/// Fails when one stream is named by two of `paths` (the inputs, as
/// expanded), by one spelling or by two: checked by `stat` before any input
/// is opened, since opening a FIFO waits for its writer. [`find`] tells the
/// same as streams are opened, but a FIFO named twice with no writer yet
/// waited there for ever, before its second name was looked at.
pub(crate) fn check_named_once<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    let mut seen: Vec<(&Path, Option<Identity>)> = Vec::new();
    for path in paths {
        let Some(id) = streamed(path) else {
            continue;
        };
        for &(first, first_id) in &seen {
            if first.as_os_str() == path.as_os_str() {
                return Err(named_twice(path));
            }
            if id.is_some() && first_id == id {
                return Err(same_pipe(first, path));
            }
        }
        seen.push((path, id));
    }
    Ok(())
}

/// Opens the stream `path` (`-`: standard input, which is not opened
/// again) whose identity was `id` when looked up; returns it and the
/// identity of what was opened (a FIFO renamed meanwhile is another), or
/// the error of one already open under another path.
fn open_stream(
    pipes: &mut [Opened],
    path: &Path,
    id: Option<Identity>,
) -> Result<(Box<dyn Read + Send>, Option<Identity>)> {
    if is_stdin(path) {
        crate::pipe::check_std(0)?;
        #[cfg(target_os = "linux")]
        crate::pipe::grow(0);
        return Ok((Box::new(io::stdin()), id));
    }
    // Looked up before opening, not after: opening a FIFO again whose
    // writer is done would wait for another writer, forever.
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    #[cfg(target_os = "linux")]
    crate::pipe::grow(std::os::fd::AsRawFd::as_raw_fd(&file));
    let opened = file.metadata().ok().and_then(|m| stream_identity(&m));
    if opened != id {
        find(pipes, path, opened)?;
    }
    Ok((Box::new(file), opened))
}

/// Opens the stream `path` (`-` is standard input; else a pipe, a FIFO or
/// another file that is neither regular nor a directory) and returns its
/// first bytes (up to [`PEEK`], as many as tell its format), to tell it; [`take_pipe`] then
/// yields the whole stream. Peeking the same path again returns the same
/// bytes; a path naming a stream already opened under another path is a
/// usage error.
pub fn peek_pipe(path: &Path) -> Result<Vec<u8>> {
    let id = streamed(path).flatten();
    let mut pipes = PIPES.lock().unwrap_or_else(|e| e.into_inner());
    match find(&mut pipes, path, id)? {
        Some(Opened {
            pipe: Pipe::Peeked(head, _),
            ..
        }) => return Ok(head.clone()),
        Some(_) => return Ok(Vec::new()),
        None => {}
    }
    let (mut reader, id) = open_stream(&mut pipes, path, id)?;
    let mut head = Vec::with_capacity(PEEK);
    let name = input_name(path);
    // no more than the format needs, as it comes: a slow producer's first
    // byte may tell CSV (its progress is shown from the opening on, after
    // this), where 16 bytes could take it minutes
    let mut chunk = [0u8; PEEK];
    while head.len() < PEEK && !super::Start::told(&head) {
        match reader.read(&mut chunk[..PEEK - head.len()]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(name, e)),
        }
    }
    pipes.push(Opened {
        path: path.to_path_buf(),
        id,
        pipe: Pipe::Peeked(head.clone(), reader),
    });
    Ok(head)
}

/// The stream of `path` when it is standard input (`-`), a pipe, a FIFO or
/// another file that is neither regular nor a directory (`None`
/// otherwise), with the bytes [`peek_pipe`] read first. A stream named
/// twice, by one path or by two, is a usage error: its bytes can be read
/// only once.
pub fn take_pipe(path: &Path) -> Result<Option<Box<dyn Read + Send>>> {
    let Some(id) = streamed(path) else {
        return Ok(None);
    };
    let mut pipes = PIPES.lock().unwrap_or_else(|e| e.into_inner());
    match find(&mut pipes, path, id)? {
        Some(opened) => match std::mem::replace(&mut opened.pipe, Pipe::Taken) {
            Pipe::Peeked(head, reader) => Ok(Some(Box::new(io::Cursor::new(head).chain(reader)))),
            Pipe::Taken => Err(named_twice(path)),
        },
        None => {
            let (reader, id) = open_stream(&mut pipes, path, id)?;
            pipes.push(Opened {
                path: path.to_path_buf(),
                id,
                pipe: Pipe::Taken,
            });
            Ok(Some(reader))
        }
    }
}

/// Opens a stream (standard input, a pipe) for streaming: tells whether it
/// is compressed (decompressed then on a thread of its own, ahead of the
/// parsers) and reads its header.
pub fn open(name: String, reader: Box<dyn Read + Send>, options: &OpenOptions) -> Result<CsvInput> {
    let (compression, reader) =
        decompress::sniff_reader(reader, &name).map_err(|e| read_error(&name, e, None))?;
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => reader,
        _ => Box::new(ParallelDecoder::from_reader(reader)),
    };
    start(name, reader, compression, options)
}

/// Opens a compressed file (mapped) for streaming: decompressed on several
/// threads when it holds several members or frames whose bounds can be
/// found (see [`ParallelDecoder`]), else read from `file` and decompressed
/// on one thread, ahead of the parsers (unmapped then: a map would count
/// the whole compressed file in the resident set as it is read).
pub fn open_compressed(
    name: String,
    map: Mmap,
    file: File,
    compression: Compression,
    options: &OpenOptions,
) -> Result<CsvInput> {
    let decoder = if decompress::split_members(&map, compression).is_some() {
        ParallelDecoder::new(Arc::new(map), compression, &name, options.threads)
    } else {
        drop(map);
        let text = decompress::decoder(compression, file, &name);
        ParallelDecoder::from_reader(text)
    };
    start(name, Box::new(decoder), compression, options)
}

/// Reads the first bytes of a stream, up to the end of its first record
/// (the header, or with `no_header` the first data line), and makes the
/// streamed input. A decompressed stream (`compression`) that holds Parquet
/// or Arrow IPC is refused on its first block, before a binary "record"
/// without a line end is read whole. Every byte read, from here on, is
/// counted for the progress (`options.progress`).
fn start(
    name: String,
    reader: Box<dyn Read + Send>,
    compression: Compression,
    options: &OpenOptions,
) -> Result<CsvInput> {
    let decompressed = compression != Compression::None;
    let progress = Arc::new(Progress::stream(options.progress, &name, decompressed));
    let mut reader: Box<dyn Read + Send> = Box::new(Counted {
        reader,
        progress: Arc::clone(&progress),
    });
    let mut head = Vec::new();
    let mut len = 0;
    let mut eof =
        fill(&mut reader, &mut head, &mut len, 64 << 10).map_err(|e| read_error(&name, e, None))?;
    if compression != Compression::None {
        super::refuse_compressed_typed(&name, compression, &head[..len])?;
    }
    while !eof && !first_record_read(&head[..len], options.delimiter) {
        let want = (len * 2).max(64 << 10);
        eof =
            fill(&mut reader, &mut head, &mut len, want).map_err(|e| read_error(&name, e, None))?;
    }
    let is_empty = len == 0;
    let mut input = CsvInput {
        name,
        bytes: if is_empty {
            Bytes::Empty
        } else {
            Bytes::Owned(head, len)
        },
        header: Vec::new(),
        body_start: 0,
        header_at: 0,
        is_empty,
        no_header: options.no_header,
        // only `split` records sources, and it never streams
        read_once: false,
        hive: Vec::new(),
        line_base: 0,
        stream: Some(Rest {
            reader: Mutex::new(Some(reader)),
            progress,
        }),
        reopen: None,
        state: None,
    };
    input.read_header(options.delimiter)?;
    Ok(input)
}

/// True when `head` holds a whole first record whose end is certain (see
/// [`certain_end`]).
fn first_record_read(head: &[u8], delimiter: u8) -> bool {
    let start = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let mut scanner = Scanner::new(head, start, delimiter);
    matches!(scanner.next_record(usize::MAX, &mut Skip), Some(Ok(_)))
        && certain_end(head, scanner.position())
}

/// Whether a record the scanner ended at `end` of the bytes read so far
/// (`buf`) surely ends there, whatever bytes come next: a byte follows it
/// (so its line end, CRLF included, is whole), or it ends with an LF. A
/// record that runs to the end of `buf`, or ends at a CR there, may not.
fn certain_end(buf: &[u8], end: usize) -> bool {
    end < buf.len() || (end > 0 && buf[end - 1] == b'\n')
}

/// Reads from `reader` into `buf[*len..]` until `*len` is `want` or the
/// stream ends (then true). `buf` grows to `want` bytes if shorter (zeroed
/// once: a recycled buffer is reused as it is).
fn fill(
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    len: &mut usize,
    want: usize,
) -> io::Result<bool> {
    grow(buf, want)?;
    while *len < want {
        match reader.read(&mut buf[*len..want]) {
            Ok(0) => return Ok(true),
            Ok(n) => *len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Grows `buf` to `want` bytes if shorter (zeroed), or fails with
/// [`NoRoom`]: a streamed record is held whole, so a record longer than
/// memory (a line of gigabytes, perhaps from a small compressed file) is
/// an error, not an abort.
fn grow(buf: &mut Vec<u8>, want: usize) -> io::Result<()> {
    if buf.len() < want {
        if crate::alloc::fallibly(|| buf.try_reserve_exact(want - buf.len())).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                NoRoom { held: buf.len() },
            ));
        }
        buf.resize(want, 0);
    }
    Ok(())
}

/// A record that outgrew the memory [`grow`] could get.
#[derive(Debug)]
struct NoRoom {
    /// Bytes held when more could not be had.
    held: usize,
}

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "a record longer than {} bytes does not fit in memory: a streamed input's record \
             is held whole (save or decompress the input to a file, which is mapped instead)",
            self.held
        )
    }
}

impl std::error::Error for NoRoom {}

/// The error for a failed read of stream `name`; `line`: the line the
/// text read so far reached, when known.
fn read_error(name: &str, e: io::Error, line: Option<u64>) -> Error {
    if let Some(no_room) = e.get_ref().and_then(|e| e.downcast_ref::<NoRoom>()) {
        let at = line.map_or(String::new(), |l| {
            format!(" (the text read so far reaches line {l})")
        });
        return Error::Other(format!("{}: {no_room}{at}", show_name(name)));
    }
    match (decompress::error(name, e), line) {
        (Error::Other(message), Some(line)) => Error::Other(format!(
            "{message} (the text read so far reaches line {line})"
        )),
        (e, _) => e,
    }
}

/// A sink that takes no field: the scanner only finds record ends.
struct Skip;

impl FieldSink for Skip {
    #[inline]
    fn field(&mut self, _: usize, _: Span) {}
    #[inline]
    fn next_wanted(&self, _: usize) -> usize {
        usize::MAX
    }
}

/// The end of the last record of `buf[from..]` (`from` is a record
/// boundary) whose end is certain (see [`certain_end`]): where the next
/// block may start. `None` when no record of `buf[from..]` surely ends.
pub fn last_boundary(buf: &[u8], from: usize, delimiter: u8) -> Option<usize> {
    if memchr(b'"', &buf[from..]).is_none() {
        // no quoted field: every line end ends a record
        let mut end = buf.len();
        loop {
            let i = from + memrchr2(b'\n', b'\r', &buf[from..end])?;
            if buf[i] == b'\r' && i + 1 == buf.len() {
                end = i; // maybe the CR of a CRLF
                continue;
            }
            return Some(i + 1);
        }
    }
    // Well-formed quoting is checked 64 bytes at a time, as the fast
    // scanner checks it, without walking records: every newline outside
    // quotes in a well-formed block ends a record. Where a block is not
    // well formed, the scalar scanner, which defines the semantics, takes
    // over at the last record end before it (see `source::fastscan`).
    let classify = classifier(cpu::features());
    let mut quotes = QuoteState::AT_RECORD_START;
    let mut last = None;
    let mut b = from;
    let resume = loop {
        if b >= buf.len() {
            return last;
        }
        match quotes.scan(buf, b, delimiter, classify) {
            Some(block) => {
                if block.newlines != 0 {
                    last = Some(b + 64 - block.newlines.leading_zeros() as usize);
                }
            }
            None => break last.unwrap_or(from),
        }
        b += 64;
    };
    let mut scanner = Scanner::new(buf, resume, delimiter);
    while let Some(Ok(_)) = scanner.next_record(usize::MAX, &mut Skip) {
        let end = scanner.position();
        if certain_end(buf, end) {
            last = Some(end);
        }
    }
    last
}

/// Bytes per block: `RAYPROC_STREAM_BLOCK` when set (for tests: tiny blocks
/// put boundaries everywhere), else 1 MiB, whatever the thread count.
///
/// Small blocks stay in the cache between the `read` that fills them, the
/// producer's boundary check and the worker's parse: on the reference file
/// through a pipe (Q1, 2 threads, an AVX-512 machine with 2 MiB of L2 per
/// core), 1 MiB blocks took 0.55 s of user CPU against 0.77 s for 8 MiB
/// ones, and gzip and zstd inputs 8-10% less CPU. Memory is
/// `2 · threads + 2` blocks.
pub fn block_size() -> usize {
    if let Some(n) = std::env::var("RAYPROC_STREAM_BLOCK")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.max(1);
    }
    1 << 20
}

/// A block of a stream: whole records, `buf[start..len]`.
struct Block {
    seq: usize,
    buf: Vec<u8>,
    len: usize,
    start: usize,
}

/// Folds a batch of a block (wrapped as a [`CsvInput`]) into a worker's
/// state: (state, block, batch, start offset of each row in the block).
pub type StreamFold<'f, W> =
    dyn Fn(&mut W, &CsvInput, &Batch<'_>, &[usize]) -> Result<(), DataError> + Sync + 'f;

/// What the workers share: the first failure among the blocks, by block
/// number, and each block's count of physical lines. The producer does
/// not count lines (it is the one sequential stage); each worker counts
/// its block's, and a block that fails waits for the counts of the blocks
/// before it (taken by workers before it, so counted or being counted) to
/// name its line in the whole input.
struct Shared {
    /// The number of the first failed block so far (`usize::MAX`: none).
    failed: AtomicUsize,
    error: Mutex<Option<(usize, DataError)>>,
    lines: Mutex<Vec<Option<u64>>>,
    counted: Condvar,
}

impl Shared {
    fn record(&self, seq: usize, e: DataError) {
        let mut first = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if first.as_ref().is_none_or(|(s, _)| seq < *s) {
            *first = Some((seq, e));
        }
        self.failed.fetch_min(seq, Ordering::SeqCst);
    }

    fn failed_before(&self, seq: usize) -> bool {
        self.failed.load(Ordering::Relaxed) < seq
    }

    fn count(&self, seq: usize, lines: u64) {
        let mut all = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() <= seq {
            all.resize(seq + 1, None);
        }
        all[seq] = Some(lines);
        self.counted.notify_all();
    }

    /// The lines before block `seq`, once every earlier block is counted.
    fn lines_before(&self, seq: usize) -> u64 {
        let mut all = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if all.len() >= seq && all[..seq].iter().all(Option::is_some) {
                return all[..seq].iter().flatten().sum();
            }
            all = self.counted.wait(all).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The map step over the streamed input `input`: reads its stream in
/// blocks, parses them on one thread per state of `workers` and folds
/// every batch into that thread's state. Returns the states, or the error
/// of the input's first bad record (else of the stream's read). Its
/// progress, counted since the stream was opened, shows its bar from here
/// to the stream's end.
pub fn map<W: Send>(
    plan: &Plan,
    input: &CsvInput,
    opts: &ExecOptions,
    workers: Vec<W>,
    fold: &StreamFold<'_, W>,
) -> Result<Vec<W>> {
    let rest = input.stream.as_ref();
    let reader = rest
        .and_then(|rest| rest.reader.lock().unwrap_or_else(|e| e.into_inner()).take())
        .ok_or_else(|| {
            let name = show_name(&input.name);
            Error::Other(format!("internal error: {name} read twice"))
        })?;
    let progress = rest.map(|rest| Arc::clone(&rest.progress));
    if let Some(progress) = &progress {
        progress.show_bar();
    }
    let threads = workers.len().max(1);
    let (tx, rx) = sync_channel::<Block>(threads);
    let rx = Mutex::new(rx);
    let (recycle_tx, recycle_rx) = channel::<Vec<u8>>();
    let shared = Shared {
        failed: AtomicUsize::new(usize::MAX),
        error: Mutex::new(None),
        lines: Mutex::new(Vec::new()),
        counted: Condvar::new(),
    };
    let started = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for mut state in workers {
            let (rx, shared, recycle) = (&rx, &shared, recycle_tx.clone());
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                loop {
                    let block = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(block) = block else { break };
                    let buf = parse_block(plan, input, opts, &mut state, fold, block, shared);
                    let _ = recycle.send(buf);
                }
                state
            });
            match spawned {
                Ok(handle) => handles.push(handle),
                // a process limit (`ulimit -u`): an error, as when the
                // pool cannot start (it was a panic); the workers started
                // end when the channel closes
                Err(e) => {
                    drop(tx);
                    for handle in handles {
                        let _ = handle.join();
                    }
                    return Err(e);
                }
            }
        }
        let produced = produce(
            input,
            opts.delimiter,
            reader,
            block_size(),
            tx,
            &recycle_rx,
            &shared,
        );
        let states: Vec<W> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        Ok((produced, states))
    });
    let (produced, states) = started.map_err(|e| Error::cannot_start_threads(threads, &e))?;
    if let Some(progress) = &progress {
        progress.finish();
    }
    if let Some((_, e)) = shared.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(Error::Data(e));
    }
    if let Err((e, blocks, carry_lines)) = produced {
        let lines = shared.lines.into_inner().unwrap_or_else(|e| e.into_inner());
        let before: u64 = lines.iter().take(blocks).flatten().sum();
        return Err(read_error(&input.name, e, Some(before + carry_lines)));
    }
    Ok(states)
}

/// Parses one block into `state`, recording its failure; returns its
/// buffer for reuse.
fn parse_block<W>(
    plan: &Plan,
    input: &CsvInput,
    opts: &ExecOptions,
    state: &mut W,
    fold: &StreamFold<'_, W>,
    block: Block,
    shared: &Shared,
) -> Vec<u8> {
    let Block {
        seq,
        buf,
        len,
        start,
    } = block;
    // (a block ends on a certain boundary: a CR at its end is a lone CR)
    shared.count(seq, line_of(&buf[..len], len) - 1);
    if shared.failed_before(seq) {
        return buf;
    }
    let mut piece = CsvInput {
        name: input.name.clone(),
        bytes: Bytes::Owned(buf, len),
        // the reader takes the file's own columns from the header and the
        // Hive columns after them from `hive`
        header: input.header.clone(),
        body_start: start,
        header_at: 0,
        is_empty: false,
        no_header: input.no_header,
        read_once: false,
        hive: input.hive.clone(),
        line_base: 0,
        stream: None,
        reopen: None,
        state: None,
    };
    let read = |piece: &CsvInput, state: &mut W| {
        let mut reader = CsvReader::new(plan, opts.delimiter);
        let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| -> Result<(), Stop> {
            if shared.failed_before(seq) {
                return Err(Stop::Cancelled);
            }
            fold(state, piece, batch, starts).map_err(Stop::Data)
        };
        reader.read_range(piece, start, len, &mut on_batch, &mut |_| {})
    };
    if let Err(Stop::Data(e)) = read(&piece, state) {
        // read again, to the same error, knowing the lines before the
        // block (the error's message may name a line too); the run fails,
        // so what the state holds no longer matters
        piece.line_base = shared.lines_before(seq);
        let e = match read(&piece, state) {
            Err(Stop::Data(again)) => again,
            _ => e,
        };
        shared.record(seq, e);
    }
    match piece.bytes {
        Bytes::Owned(buf, _) => buf,
        _ => unreachable!("a block owns its bytes"),
    }
}

/// A failed read: the error, the blocks queued before it, and the lines of
/// the bytes read since.
type ReadFailure = (io::Error, usize, u64);

/// A stream's reader that reports each read to its progress, as it
/// comes in: a block is read for as long as the producer takes to write
/// it, and the header, first, for as long as it takes to write 64 KiB.
struct Counted {
    reader: Box<dyn Read + Send>,
    progress: Arc<Progress>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Reads the stream into blocks cut on record boundaries and queues them
/// in order, until the stream ends or a block fails.
fn produce(
    input: &CsvInput,
    delimiter: u8,
    mut reader: Box<dyn Read + Send>,
    block: usize,
    tx: SyncSender<Block>,
    recycle: &Receiver<Vec<u8>>,
    shared: &Shared,
) -> std::result::Result<(), ReadFailure> {
    let head = input.bytes();
    let mut buf = recycle.try_recv().unwrap_or_default();
    if buf.len() < head.len() {
        buf.resize(head.len(), 0);
    }
    buf[..head.len()].copy_from_slice(head);
    let mut len = head.len();
    let mut start = input.body_start;
    let mut seq = 0;
    let mut want = block;
    loop {
        if shared.failed_before(usize::MAX) {
            return Ok(());
        }
        let target = want.max(len + 1);
        let eof = match fill(&mut reader, &mut buf, &mut len, target) {
            Ok(eof) => eof,
            Err(e) => {
                // the records read before the failure are parsed first: a
                // bad one comes before the failure in the input, and wins,
                // as it would in a file, wherever the block was cut
                let Some(cut) = last_boundary(&buf[..len], start, delimiter) else {
                    return Err((e, seq, line_of(&buf[..len], len) - 1));
                };
                let rest = &buf[cut..len];
                let rest_lines = line_of(rest, rest.len()) - 1;
                let _ = tx.send(Block {
                    seq,
                    buf,
                    len: cut,
                    start,
                });
                return Err((e, seq + 1, rest_lines));
            }
        };
        if eof {
            if len > start {
                let _ = tx.send(Block {
                    seq,
                    buf,
                    len,
                    start,
                });
            }
            return Ok(());
        }
        let Some(cut) = last_boundary(&buf[..len], start, delimiter) else {
            // a record longer than the block: grow it
            want = len * 2;
            continue;
        };
        let mut next = recycle.try_recv().unwrap_or_default();
        let carry = len - cut;
        if let Err(e) = grow(&mut next, carry) {
            return Err((e, seq, line_of(&buf[..len], len) - 1));
        }
        next[..carry].copy_from_slice(&buf[cut..len]);
        let full = Block {
            seq,
            buf,
            len: cut,
            start,
        };
        if tx.send(full).is_err() {
            return Ok(()); // the workers are gone (a panic, re-raised by the caller)
        }
        seq += 1;
        buf = next;
        len = carry;
        start = 0;
        want = block;
    }
}

/// The merged partial result of `plan` (which must keep text extremes:
/// a stream cannot be read twice) over one streamed input: what `rayproc
/// map` ships for the part holding a compressed file.
pub fn partial(plan: &Plan, input: &CsvInput, opts: &ExecOptions) -> Result<Partial> {
    debug_assert!(plan.text_extremes, "a stream is read once");
    let shared = SharedParts::new();
    let workers = (0..opts.threads.max(1))
        .map(|_| Partial::sharing(plan, &shared))
        .collect();
    let fold = |p: &mut Partial, piece: &CsvInput, b: &Batch<'_>, s: &[usize]| {
        fold_batch(plan, p, piece, b, s)
    };
    let partials = map(plan, input, opts, workers, &fold)?;
    let pool = exec::pool(opts.threads)?;
    Ok(pool.install(|| Partial::merge_all(plan, partials)))
}

/// Runs `plan` over CSV `inputs` of which some are streamed, in input
/// order (files through the file map, streams through [`map`]), and
/// returns the result table.
pub fn run(plan: &Plan, inputs: &[CsvInput], opts: &ExecOptions) -> Result<Table> {
    let plan = &Plan {
        text_extremes: true,
        ..plan.clone()
    };
    let pool = exec::pool(opts.threads)?;
    let shared = SharedParts::new();
    // one mode for every partial of the run, streamed or mapped
    let threads = pool.current_num_threads();
    let fresh = |n: usize| Partial::for_run_workers(plan, &shared, threads, n);
    let mut partials = Vec::new();
    for input in inputs {
        if input.is_stream() {
            let fold = |p: &mut Partial, piece: &CsvInput, b: &Batch<'_>, s: &[usize]| {
                fold_batch(plan, p, piece, b, s)
            };
            partials.extend(map(plan, input, opts, fresh(opts.threads.max(1)), &fold)?);
        } else {
            let fold = |p: &mut Partial, _: usize, i: &CsvInput, b: &Batch<'_>, s: &[usize]| {
                fold_batch(plan, p, i, b, s)
            };
            let one = std::slice::from_ref(input);
            let (_, states) = super::csv_run::map(&pool, plan, one, opts, &fresh, &fold)?;
            partials.extend(states);
        }
    }
    pool.install(|| {
        let total = Partial::merge_all(plan, partials);
        if !total.complete(plan) {
            return Err(Error::Other(
                "internal error: a streamed run kept no text extremes".into(),
            ));
        }
        Ok(total.finish(plan))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record longer than memory was an abort ("memory allocation of
    /// 2147483648 bytes failed", SIGABRT: a 33 KB `.zst` of a 1 GiB line
    /// under `ulimit -v 1500000`); it is an error naming the input and how
    /// far it was read.
    #[test]
    fn a_record_longer_than_memory_is_an_error_not_an_abort() {
        let mut buf = vec![b'a'; 100];
        let e = grow(&mut buf, usize::MAX / 2).expect_err("no room");
        assert_eq!(buf.len(), 100);
        let shown = read_error("big.zst", e, Some(1)).to_string();
        assert!(
            shown.starts_with("big.zst: a record longer than 100 bytes does not fit in memory")
                && shown.ends_with("(the text read so far reaches line 1)"),
            "{shown}"
        );
        let mut reader: &[u8] = b"k\naaaa";
        let (mut buf, mut len) = (Vec::new(), 0);
        assert!(fill(&mut reader, &mut buf, &mut len, isize::MAX as usize).is_err());
    }

    #[test]
    fn boundaries_are_certain_ends() {
        assert_eq!(last_boundary(b"a,b\nc,d\ne", 0, b','), Some(8));
        assert_eq!(last_boundary(b"a,b\nc,d\r", 0, b','), Some(4));
        assert_eq!(last_boundary(b"a,b\rc,d\r", 0, b','), Some(4));
        assert_eq!(last_boundary(b"a,b\r\rc", 0, b','), Some(5));
        assert_eq!(last_boundary(b"a,b\r\n", 0, b','), Some(5));
        assert_eq!(last_boundary(b"a,b", 0, b','), None);
        assert_eq!(last_boundary(b"a,\"b\nc\"\nd,\"e\nf", 0, b','), Some(8));
        assert_eq!(last_boundary(b"a,\"b\nc\"\r", 0, b','), None);
        assert_eq!(last_boundary(b"a,\"b\nc\"\rx", 0, b','), Some(8));
        assert_eq!(last_boundary(b"x\na,\"b\nc", 2, b','), None);
    }

    /// The last certain record end by the scalar scanner alone: what the
    /// vectorised check must agree with.
    fn scalar_last_boundary(buf: &[u8], from: usize) -> Option<usize> {
        let mut last = None;
        let mut scanner = Scanner::new(buf, from, b',');
        while let Some(Ok(_)) = scanner.next_record(usize::MAX, &mut Skip) {
            let end = scanner.position();
            if certain_end(buf, end) {
                last = Some(end);
            }
        }
        last
    }

    #[test]
    fn boundaries_agree_with_the_scalar_scanner() {
        // Well-formed records with quotes, CRLF and quoted newlines, with a
        // stray byte (a quote mid-field, a lone CR, a bare LF, text after a
        // closing quote) dropped in now and then, at every length: the
        // block check must find the scalar scanner's last record end,
        // handing over where the quoting is irregular.
        use crate::source::fastscan::testing::{lcg, PIECES};
        let mut state = 7;
        for round in 0..3000 {
            let mut text = Vec::new();
            let len = (lcg(&mut state) >> 33) as usize % 400;
            while text.len() < len {
                let r = lcg(&mut state) >> 33;
                match r % 23 {
                    0..=14 => text.extend_from_slice(PIECES[(r / 23) as usize % 8].as_bytes()),
                    15..=17 => text.push(b','),
                    18..=20 => text.extend_from_slice(if r & 1 == 0 { b"\n" } else { b"\r\n" }),
                    21 if round % 3 == 0 => text.push(b'"'),
                    _ if round % 5 == 0 => text.push(b'\r'),
                    _ => text.push(b'z'),
                }
            }
            let from = 0;
            // The scanners skip blank lines without reporting them, so the
            // block check may cut after blank lines that follow the
            // scalar scanner's last record: also a record boundary.
            let fast = last_boundary(&text, from, b',');
            let scalar = scalar_last_boundary(&text, from);
            let blank_after =
                |a: usize, b: usize| text[a..b].iter().all(|&c| c == b'\n' || c == b'\r');
            assert!(
                fast == scalar
                    || matches!((fast, scalar), (Some(f), s) if f > s.unwrap_or(from) && blank_after(s.unwrap_or(from), f)),
                "{:?}: {fast:?} against the scalar {scalar:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
