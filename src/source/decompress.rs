//! Compressed inputs: gzip and zstd, recognised by their magic bytes and
//! decompressed on the fly.
//!
//! # Streaming
//!
//! Nothing here decompresses a whole input to memory or disk. The decoders
//! ([`decoder`]) are [`Read`]ers that inflate into the caller's buffer as it
//! reads, holding only the codec state (a 32 KiB deflate window, a zstd
//! window of at most 128 MiB as the frame asks, the zstd CLI's default limit)
//! and one input buffer. A gzip or zstd file of any size is thus read in
//! constant memory.
//!
//! # Never a wrong answer
//!
//! A damaged file must stop the run with an error naming it, not yield
//! different bytes. The gzip reader is written here over raw deflate, inflated
//! by our own decoder ([`inflate`], faster than zlib-rs; see its doc), so that
//! every check is ours and says where it failed: each member's header is
//! parsed (reserved flags refused, the optional header CRC checked), its
//! deflate stream must end, and its trailer's CRC-32 and length (ISIZE) must
//! match what was inflated. zstd frames are checked by libzstd: block
//! structure, sizes, and the XXH64 content checksum when the frame has one
//! (the zstd CLI writes one by default; a frame written with `--no-check`
//! carries none, and a flipped literal byte in it cannot be detected by
//! anyone). An input that ends inside a member or frame is an error.
//! *Trailing garbage* (anything after the last member or frame that is not
//! another one, zero padding included) is an error too: `gzip -d` only warns
//! about it, but a file that holds more than its members is not what its
//! writer meant, and a silent partial read is the wrong answer this module
//! exists to avoid. What no format can detect is a file cut exactly at a
//! member or frame boundary: it is a valid, shorter file.
//!
//! Errors are [`io::Error`]s (the decoders are `Read`ers) of kind
//! `InvalidData` carrying a [`DecodeError`], whose message names the input;
//! [`error`] turns any error a decoder returned into the project's
//! [`Error`] (exit 1).
//!
//! # Parallel decoding
//!
//! A deflate stream or a zstd frame can only be decoded from its start, so
//! parallelism needs independent pieces: gzip *members* and zstd *frames*.
//! Their boundaries must be found without decoding. BGZF (blocked gzip, as
//! `bgzip` writes it) puts each member's size in its header; zstd frames can
//! be walked by their block headers (a few bytes every 128 KiB of output at
//! most), as `pzstd` output and concatenated frames allow. A plain
//! multi-member gzip file (`cat a.gz b.gz`, `pigz`) gives no sizes: finding a
//! member's end means inflating it, so it is decoded on one thread. So is a
//! single zstd frame, which is what `zstd -T0` writes whatever `-B` says (its
//! threads share one frame). [`split_members`] finds the pieces;
//! [`ParallelDecoder`] decodes them on several threads and hands the bytes
//! over in input order, and for a file that cannot be split, or a stream,
//! it still decodes on its own thread while the caller parses.
//!
//! # Memory bound and order
//!
//! [`ParallelDecoder`] groups consecutive members into *jobs* of about
//! 1 MiB of compressed bytes. A worker claims the next job under a lock and,
//! still holding it, queues the job's piece channel in a bounded channel of
//! `threads` entries, so the queue is in job order by construction, and the
//! reader drains the jobs in that order: the output is the sequential
//! decoder's, byte for byte, whatever the thread count and timing. Each job's
//! channel holds at most [`PIECES_AHEAD`] pieces of [`PIECE`] bytes, and a
//! worker cannot claim a job while the queue is full, so at most
//! `threads + 1` jobs are in flight and the decoded bytes buffered are at
//! most `(threads + 1) · (PIECES_AHEAD + 1) · PIECE` (15 MiB with 2 threads),
//! whatever the input size. A job that fails sends its error in its place
//! in the order, so the error reported is the first one in the input, as
//! the sequential decoder would report it.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::Crc;
use inflate::Inflater;
use zstd::zstd_safe::{self, DCtx, InBuffer, OutBuffer};

use crate::error::Error;

/// How an input is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// How many leading bytes [`sniff`] needs to recognise every format.
pub const SNIFF_LEN: usize = 4;

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 8];
const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Skippable frames have magic numbers 0x184D2A50 to 0x184D2A5F.
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

/// Tells the compression of an input from its first bytes ([`SNIFF_LEN`]
/// are enough), whatever its name: gzip's magic number `1f 8b`, a zstd
/// frame's or a skippable frame's (`pzstd` output begins with a skippable
/// frame). Anything else, including fewer bytes than a magic number, is
/// `None`. None of these byte sequences can begin a UTF-8 text, nor Parquet
/// or Arrow IPC.
///
/// gzip is told by its two-byte magic alone, not with the method byte
/// (`08`, deflate) that follows: an input that begins with `1f 8b` and ends
/// there, or inside the rest of the header, or names another method, is a
/// damaged gzip file, and the decoder says so (naming the input and the
/// byte). Told by three bytes, such a file was read as CSV text, a header
/// of control bytes and no rows, and answered. zstd's magic number is four
/// bytes; a file cut inside it holds no magic number, and is read as
/// text (a file `(` is a CSV header).
pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC[..2]) {
        return Compression::Gzip;
    }
    if head.len() >= 4 {
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if magic == ZSTD_MAGIC || magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            return Compression::Zstd;
        }
    }
    Compression::None
}

/// Reads the first bytes of a stream (standard input, a pipe), tells its
/// compression and returns a reader that yields the whole stream again,
/// those bytes included, and decompressed.
pub fn sniff_reader<'a, R: Read + Send + 'a>(
    mut reader: R,
    name: &str,
) -> io::Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let mut head = [0u8; SNIFF_LEN];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let compression = sniff(&head[..n]);
    let whole = io::Cursor::new(head[..n].to_vec()).chain(reader);
    Ok((compression, decoder(compression, whole, name)))
}

/// A damaged compressed input. The `io::Error`s of the decoders carry one
/// (kind `InvalidData`); its message names the input and says what is wrong
/// and at which compressed byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The input as the user named it (shown escaped).
    pub name: String,
    pub compression: Compression,
    pub kind: DecodeErrorKind,
    /// The offset in the compressed input where the problem was seen.
    pub offset: u64,
    /// What is wrong, in words.
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The input ends inside a member or frame.
    Truncated,
    /// A check failed or the data is not valid.
    Corrupt,
    /// Bytes after the last member or frame are not another one.
    TrailingGarbage,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = self.compression.name();
        let name = crate::error::show_name(&self.name);
        match self.kind {
            DecodeErrorKind::Truncated => write!(
                f,
                "{name}: truncated {format} input: the data ends at byte {}, {} (the file is incomplete or damaged)",
                self.offset, self.detail
            ),
            DecodeErrorKind::Corrupt => write!(
                f,
                "{name}: corrupt {format} input at byte {}: {} (the file is damaged)",
                self.offset, self.detail
            ),
            DecodeErrorKind::TrailingGarbage => write!(
                f,
                "{name}: {format} input has trailing garbage: the bytes from {} on {}",
                self.offset, self.detail
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// The project's error for an error returned while reading a decoder of
/// `name`: a [`DecodeError`] keeps its own message (which names the input),
/// anything else is an I/O error on `name`. Exit status 1 either way.
pub fn error(name: &str, e: io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<DecodeError>())
    {
        Some(d) => Error::Other(d.to_string()),
        None => Error::io(name, e),
    }
}

/// Input buffer of the streaming decoders (zstd's recommended input size is
/// 128 KiB; deflate is indifferent).
const IN_BUF: usize = 256 * 1024;

/// A streaming, sequential decoder of `reader`, which holds data compressed
/// as `compression` (`None` passes it through). `name` is the input as the
/// user named it, for error messages. Every member or frame is checked (see
/// the module doc); a damaged input is an error carrying a [`DecodeError`].
pub fn decoder<'a, R: Read + Send + 'a>(
    compression: Compression,
    reader: R,
    name: &str,
) -> Box<dyn Read + Send + 'a> {
    match compression {
        Compression::None => Box::new(reader),
        _ => buffered_decoder(
            compression,
            BufReader::with_capacity(IN_BUF, reader),
            name,
            0,
        ),
    }
}

/// A decoder of a buffered source whose first byte is at offset `base` of
/// the input (for messages).
fn buffered_decoder<'a, R: BufRead + Send + 'a>(
    compression: Compression,
    src: R,
    name: &str,
    base: u64,
) -> Box<dyn Read + Send + 'a> {
    match compression {
        Compression::None => Box::new(src),
        Compression::Gzip => Box::new(GzipReader::new(src, name, base)),
        Compression::Zstd => Box::new(ZstdReader::new(src, name, base)),
    }
}

/// `fill_buf`, retried on `Interrupted`: the decoders must not return
/// `Interrupted` halfway through a header, whose progress would be lost.
fn fill<R: BufRead>(src: &mut R) -> io::Result<&[u8]> {
    loop {
        match src.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // re-borrow: the loop above cannot return the borrow directly
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    src.fill_buf()
}

// ---------------------------------------------------------------- gzip ----

const FTEXT_FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xE0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum GzState {
    /// Before a member header (or the end of the input).
    Header,
    /// Inside a member's deflate stream.
    Body,
    Done,
}

/// Multi-member gzip (RFC 1952) over raw deflate, every member checked.
struct GzipReader<R> {
    src: R,
    name: String,
    /// Offset of `src`'s next byte in the input.
    pos: u64,
    inflate: Inflater,
    /// CRC-32 of the current member's output.
    crc: Crc,
    /// CRC-32 of the current header's bytes (for FHCRC).
    header_crc: Crc,
    state: GzState,
    /// Members finished so far.
    members: u64,
    /// Offset of the current member's first byte.
    member_start: u64,
    /// An error met by a call that had inflated bytes: those are returned
    /// first, the error by the next call (see [`Deferred`]).
    pending: Deferred,
}

impl<R: BufRead> GzipReader<R> {
    fn new(src: R, name: &str, base: u64) -> Self {
        GzipReader {
            src,
            name: name.to_string(),
            pos: base,
            inflate: Inflater::new(),
            crc: Crc::new(),
            header_crc: Crc::new(),
            state: GzState::Header,
            members: 0,
            member_start: base,
            pending: Deferred::default(),
        }
    }

    fn err(&self, kind: DecodeErrorKind, offset: u64, detail: String) -> io::Error {
        DecodeError {
            name: self.name.clone(),
            compression: Compression::Gzip,
            kind,
            offset,
            detail,
        }
        .into_io()
    }

    fn truncated(&self, inside: &str) -> io::Error {
        let detail = format!(
            "inside the {inside} of the member that starts at byte {}",
            self.member_start
        );
        self.err(DecodeErrorKind::Truncated, self.pos, detail)
    }

    fn corrupt(&self, offset: u64, detail: String) -> io::Error {
        let detail = format!(
            "{detail}, in the member that starts at byte {}",
            self.member_start
        );
        self.err(DecodeErrorKind::Corrupt, offset, detail)
    }

    /// The next byte, or `None` at the end of the input.
    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let b = fill(&mut self.src)?.first().copied();
        if b.is_some() {
            self.src.consume(1);
            self.pos += 1;
        }
        Ok(b)
    }

    /// The next header byte; the input must not end here.
    fn header_byte(&mut self) -> io::Result<u8> {
        match self.next_byte()? {
            Some(b) => {
                self.header_crc.update(&[b]);
                Ok(b)
            }
            None => Err(self.truncated("header")),
        }
    }

    fn header_u16(&mut self) -> io::Result<u16> {
        Ok(u16::from_le_bytes([
            self.header_byte()?,
            self.header_byte()?,
        ]))
    }

    /// Parses a member header. False at the end of the input.
    fn header(&mut self) -> io::Result<bool> {
        let start = self.pos;
        self.member_start = start;
        self.header_crc.reset();
        let Some(id1) = self.next_byte()? else {
            if self.members == 0 {
                return Err(self.err(
                    DecodeErrorKind::Truncated,
                    start,
                    "before any gzip member (the input is empty)".into(),
                ));
            }
            return Ok(false);
        };
        self.header_crc.update(&[id1]);
        let not_gzip = |me: &Self| {
            if me.members == 0 {
                me.corrupt(start, "not gzip data (no gzip magic number)".into())
            } else {
                me.err(
                    DecodeErrorKind::TrailingGarbage,
                    start,
                    "are not a gzip member".into(),
                )
            }
        };
        if id1 != GZIP_MAGIC[0] {
            return Err(not_gzip(self));
        }
        if self.header_byte()? != GZIP_MAGIC[1] {
            return Err(not_gzip(self));
        }
        let method = self.header_byte()?;
        if method != GZIP_MAGIC[2] {
            return Err(self.corrupt(
                start + 2,
                format!("unknown compression method {method} (only 8, deflate, exists)"),
            ));
        }
        let flags = self.header_byte()?;
        if flags & FRESERVED != 0 {
            return Err(self.corrupt(
                start + 3,
                format!("reserved header flags set ({flags:#04x})"),
            ));
        }
        // MTIME (4), XFL, OS
        for _ in 0..6 {
            self.header_byte()?;
        }
        if flags & FEXTRA != 0 {
            let len = self.header_u16()?;
            for _ in 0..len {
                self.header_byte()?;
            }
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                while self.header_byte()? != 0 {}
            }
        }
        if flags & FTEXT_FHCRC != 0 {
            let expected = (self.header_crc.sum() & 0xFFFF) as u16;
            let at = self.pos;
            if self.header_u16()? != expected {
                return Err(self.corrupt(at, "header CRC-16 mismatch".into()));
            }
        }
        self.inflate.reset();
        self.crc.reset();
        Ok(true)
    }

    /// Reads and checks a member's trailer: CRC-32 and ISIZE.
    fn trailer(&mut self) -> io::Result<()> {
        let at = self.pos;
        let mut t = [0u8; 8];
        for b in t.iter_mut() {
            *b = match self.next_byte()? {
                Some(b) => b,
                None => return Err(self.truncated("trailer")),
            };
        }
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        if crc != self.crc.sum() {
            return Err(self.corrupt(
                at,
                format!(
                    "CRC-32 mismatch (stored {crc:08x}, data has {:08x})",
                    self.crc.sum()
                ),
            ));
        }
        let len = self.inflate.total_out() as u32;
        if isize != len {
            return Err(self.corrupt(
                at + 4,
                format!("length mismatch (ISIZE {isize}, data has {len} mod 2^32)"),
            ));
        }
        self.members += 1;
        Ok(())
    }

    /// Inflates into `out` (not empty). Zero at the end of a member.
    fn body(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let input = fill(&mut self.src)?;
            let at_end = input.is_empty();
            let (used, produced, status) = self.inflate.inflate(input, out);
            self.src.consume(used);
            self.pos += used as u64;
            let ended = match status {
                Ok(ended) => ended,
                Err(e) => {
                    let e = self.corrupt(self.pos, format!("invalid deflate data ({e})"));
                    return self.pending.after(produced, e);
                }
            };
            self.crc.update(&out[..produced]);
            if ended {
                if let Err(e) = self.trailer() {
                    return self.pending.after(produced, e);
                }
                self.state = GzState::Header;
                return Ok(produced);
            }
            if produced > 0 {
                return Ok(produced);
            }
            if used == 0 {
                if at_end {
                    return Err(self.truncated("deflate data"));
                }
                return Err(self.corrupt(self.pos, "deflate data makes no progress".into()));
            }
        }
    }
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        self.pending.take()?;
        loop {
            match self.state {
                GzState::Done => return Ok(0),
                GzState::Header => {
                    if self.header()? {
                        self.state = GzState::Body;
                    } else {
                        self.state = GzState::Done;
                    }
                }
                GzState::Body => {
                    let n = self.body(out)?;
                    if n > 0 {
                        return Ok(n);
                    }
                }
            }
        }
    }
}

/// An error a decoder met after decoding some bytes in the same call.
///
/// The bytes decoded before a damaged spot are returned, and the error by
/// the next call: the reader then sees all the text before the damage,
/// however its reads were cut (a pipe's chunks, the buffers' sizes), so
/// that an error in that text comes first in the input, and wins, the same
/// way every time. (Returning the error at once dropped what the call had
/// decoded, as much as a buffer's worth, and which error a run reported
/// hung on where its reads happened to fall.)
#[derive(Default)]
struct Deferred(Option<io::Error>);

impl Deferred {
    /// `Ok(produced)` with `e` kept for the next call, or `e` now when the
    /// call produced nothing.
    fn after(&mut self, produced: usize, e: io::Error) -> io::Result<usize> {
        if produced == 0 {
            return Err(e);
        }
        self.0 = Some(e);
        Ok(produced)
    }

    /// The kept error, if any.
    fn take(&mut self) -> io::Result<()> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------- zstd ----

/// The most a call to libzstd decodes into the caller's buffer: less than a
/// zstd block (128 KiB), so that only a frame of less than one block can be
/// decoded in one pass, and its damage then loses nothing the streamed
/// decoding would have returned. (About 16,000 calls a gigabyte.)
const ZSTD_CALL_OUT: usize = (64 << 10) - 1;

/// Concatenated zstd frames (skippable ones skipped), checked by libzstd.
struct ZstdReader<R> {
    src: R,
    name: String,
    pos: u64,
    dctx: DCtx<'static>,
    /// True between frames: the last call finished a frame (or none began).
    between_frames: bool,
    /// Frames (skippable ones included) finished so far.
    frames: u64,
    /// Offset of the current (or last) frame's first byte.
    frame_start: u64,
    done: bool,
    /// An error met by a call that had decoded bytes (see [`Deferred`]).
    pending: Deferred,
}

impl<R: BufRead> ZstdReader<R> {
    fn new(src: R, name: &str, base: u64) -> Self {
        ZstdReader {
            src,
            name: name.to_string(),
            pos: base,
            dctx: DCtx::create(),
            between_frames: true,
            frames: 0,
            frame_start: base,
            done: false,
            pending: Deferred::default(),
        }
    }

    fn err(&self, kind: DecodeErrorKind, offset: u64, detail: String) -> io::Error {
        DecodeError {
            name: self.name.clone(),
            compression: Compression::Zstd,
            kind,
            offset,
            detail,
        }
        .into_io()
    }

    /// The error for libzstd's `code`, met in the frame that starts at
    /// `frame_start` (libzstd does not say how far into it).
    fn zstd_error(&self, code: usize) -> io::Error {
        let what = zstd_safe::get_error_name(code);
        let offset = self.frame_start;
        if self.frames > 0 && what.contains("Unknown frame descriptor") {
            return self.err(
                DecodeErrorKind::TrailingGarbage,
                offset,
                "are not a zstd frame".into(),
            );
        }
        let hint = if what.contains("too much memory") {
            " (its window is over 128 MiB, the zstd CLI's limit too: written with --long=28 or more?)"
        } else {
            ""
        };
        self.err(
            DecodeErrorKind::Corrupt,
            offset,
            format!("{what}{hint}, in the frame that starts there"),
        )
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.done {
            return Ok(0);
        }
        self.pending.take()?;
        // below a frame's size, so that libzstd never decodes a whole frame
        // in one pass (which it does when the frame is all in the input and
        // fits the output): a damaged block then returns nothing of the
        // blocks before it, and whether a frame happened to be all in the
        // input (a pipe's chunks) would decide which error a run reports
        let room = out.len().min(ZSTD_CALL_OUT);
        let out = &mut out[..room];
        loop {
            let input = fill(&mut self.src)?;
            let at_end = input.is_empty();
            if at_end && self.between_frames {
                if self.frames == 0 {
                    return Err(self.err(
                        DecodeErrorKind::Truncated,
                        self.pos,
                        "before any zstd frame (the input is empty)".into(),
                    ));
                }
                self.done = true;
                return Ok(0);
            }
            if self.between_frames {
                // a call never reads past the end of a frame
                self.frame_start = self.pos;
            }
            let mut inb = InBuffer::around(input);
            let mut outb = OutBuffer::around(&mut *out);
            let result = self.dctx.decompress_stream(&mut outb, &mut inb);
            let (used, produced) = (inb.pos, outb.pos());
            self.src.consume(used);
            self.pos += used as u64;
            let ended = result == Ok(0);
            match result {
                Err(code) => return self.pending.after(produced, self.zstd_error(code)),
                Ok(0) => {
                    // a frame ended and is fully flushed
                    self.between_frames = true;
                    self.frames += 1;
                }
                Ok(_) => {
                    if used > 0 || produced > 0 {
                        self.between_frames = false;
                    }
                }
            }
            if produced > 0 {
                return Ok(produced);
            }
            // no byte read or written and no frame ended: the input is
            // over inside a frame, or the decoder is stuck (never loop)
            if used == 0 && !ended {
                if at_end {
                    return Err(self.err(
                        DecodeErrorKind::Truncated,
                        self.pos,
                        format!("inside the frame that starts at byte {}", self.frame_start),
                    ));
                }
                return Err(self.err(
                    DecodeErrorKind::Corrupt,
                    self.frame_start,
                    "the decoder makes no progress, in the frame that starts there".into(),
                ));
            }
        }
    }
}

// ------------------------------------------------------------ splitting ----

/// The byte ranges of the independently decodable members (gzip) or frames
/// (zstd) of a whole compressed input, in order, found without decoding:
/// `None` when they cannot be found cheaply or the input does not parse as
/// a sequence of them (then decode it sequentially, which reports what is
/// wrong).
///
/// - gzip: only BGZF, whose members each state their size (`BC` extra
///   subfield, BSIZE). A plain gzip member does not, so any non-BGZF member
///   gives `None`.
/// - zstd: every data frame, its end found by walking its block headers;
///   skippable frames (as `pzstd` puts before each frame) are left out of
///   the ranges (they hold no data). A file of one frame gives one range.
///
/// The ranges cover the input up to its end (skippable frames aside): a
/// short last piece or bytes after it give `None`.
pub fn split_members(bytes: &[u8], compression: Compression) -> Option<Vec<Range<usize>>> {
    let ranges = match compression {
        Compression::None => return None,
        Compression::Gzip => split_bgzf(bytes)?,
        Compression::Zstd => split_zstd(bytes)?,
    };
    (!ranges.is_empty()).then_some(ranges)
}

/// The size of the BGZF member at the start of `b`, from its header.
fn bgzf_member_size(b: &[u8]) -> Option<usize> {
    // ID1 ID2 CM FLG MTIME(4) XFL OS XLEN(2), then subfields
    if b.len() < 18 || b[..3] != GZIP_MAGIC || b[3] & FEXTRA == 0 || b[3] & FRESERVED != 0 {
        return None;
    }
    let xlen = u16::from_le_bytes([b[10], b[11]]) as usize;
    let extra = b.get(12..12 + xlen)?;
    let mut i = 0;
    while i + 4 <= extra.len() {
        let (si1, si2) = (extra[i], extra[i + 1]);
        let slen = u16::from_le_bytes([extra[i + 2], extra[i + 3]]) as usize;
        let data = extra.get(i + 4..i + 4 + slen)?;
        if si1 == b'B' && si2 == b'C' && slen == 2 {
            let bsize = u16::from_le_bytes([data[0], data[1]]) as usize;
            // BSIZE is the member's total size minus one; it must at least
            // hold the header and the 8-byte trailer.
            let size = bsize + 1;
            return (size >= 12 + xlen + 8).then_some(size);
        }
        i += 4 + slen;
    }
    None
}

fn split_bgzf(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut ranges = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let size = bgzf_member_size(&bytes[pos..])?;
        let end = pos.checked_add(size).filter(|&e| e <= bytes.len())?;
        ranges.push(pos..end);
        pos = end;
    }
    Some(ranges)
}

fn split_zstd(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut ranges = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let head: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let magic = u32::from_le_bytes(head);
        if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            let len: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
            let size = 8usize.checked_add(u32::from_le_bytes(len) as usize)?;
            pos = pos.checked_add(size).filter(|&e| e <= bytes.len())?;
        } else if magic == ZSTD_MAGIC {
            let size = zstd_safe::find_frame_compressed_size(rest).ok()?;
            if size == 0 || size > rest.len() {
                return None;
            }
            ranges.push(pos..pos + size);
            pos += size;
        } else {
            return None;
        }
    }
    Some(ranges)
}

/// Decompresses `bytes[range]`, a run of whole members or frames (as
/// [`split_members`] gives), appending to `out`. Errors name `name` and give
/// offsets in `bytes`.
pub fn decompress_range(
    bytes: &[u8],
    range: Range<usize>,
    compression: Compression,
    name: &str,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let base = range.start as u64;
    let mut reader = buffered_decoder(compression, &bytes[range], name, base);
    reader.read_to_end(out).map_err(|e| error(name, e))?;
    Ok(())
}

// ------------------------------------------------------- parallel decode ----

/// Bytes of decoded output handed over at a time.
pub const PIECE: usize = 1 << 20;
/// Decoded pieces a job may hold ahead of the reader.
pub const PIECES_AHEAD: usize = 4;
/// Compressed bytes per job: consecutive members are grouped up to this.
const JOB_BYTES: usize = 1 << 20;

/// Where the jobs' compressed bytes come from.
trait Jobs: Send + Sync + 'static {
    fn count(&self) -> usize;
    /// A reader of job `i`'s decoded bytes; called once per job.
    fn open(&self, i: usize) -> Box<dyn Read + Send + '_>;
}

struct RangeJobs<B> {
    bytes: Arc<B>,
    jobs: Vec<Range<usize>>,
    compression: Compression,
    name: String,
}

impl<B: AsRef<[u8]> + Send + Sync + 'static> Jobs for RangeJobs<B> {
    fn count(&self) -> usize {
        self.jobs.len()
    }
    fn open(&self, i: usize) -> Box<dyn Read + Send + '_> {
        let range = self.jobs[i].clone();
        let base = range.start as u64;
        let slice = &(*self.bytes).as_ref()[range];
        buffered_decoder(self.compression, slice, &self.name, base)
    }
}

struct StreamJob(Mutex<Option<Box<dyn Read + Send>>>);

impl Jobs for StreamJob {
    fn count(&self) -> usize {
        1
    }
    fn open(&self, _: usize) -> Box<dyn Read + Send + '_> {
        let reader = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        reader.unwrap_or_else(|| Box::new(io::empty()))
    }
}

/// A piece of decoded output: `buf[..len]`; `buf` stays initialised, at
/// [`PIECE`] bytes, so that a recycled piece needs no zeroing.
struct Piece {
    buf: Vec<u8>,
    len: usize,
}

enum Msg {
    Piece(Piece),
    /// The job is complete: without it, a closed channel means its worker
    /// died, which must not read as the end of the job.
    End,
    Err(io::Error),
}

/// The shared state behind the job-claiming lock.
struct Schedule {
    next: usize,
    order: SyncSender<Receiver<Msg>>,
}

/// Recycled pieces.
type Pool = Mutex<Vec<Vec<u8>>>;

/// Decodes a compressed input on `threads` worker threads and yields its
/// bytes in order, the sequential decoder's bytes exactly, in bounded
/// memory (see the module doc). It reads as a [`Read`] or, without a copy,
/// by [`ParallelDecoder::next_chunk`]. Dropping it stops the workers.
pub struct ParallelDecoder {
    order: Option<Receiver<Receiver<Msg>>>,
    current: Option<Receiver<Msg>>,
    piece: Option<Piece>,
    /// Bytes of `piece` already read.
    pos: usize,
    jobs: usize,
    jobs_seen: usize,
    parallel: bool,
    pool: Arc<Pool>,
    flags: Arc<Flags>,
    workers: Vec<JoinHandle<()>>,
    /// Set after an error: reading on gives this error again.
    failed: Option<(io::ErrorKind, String)>,
}

impl ParallelDecoder {
    /// Decodes the whole compressed input `bytes` (a memory map, a vector)
    /// with up to `threads` threads: in parallel when [`split_members`]
    /// finds several members or frames, else on one thread (still
    /// concurrent with the reader).
    pub fn new<B>(bytes: Arc<B>, compression: Compression, name: &str, threads: usize) -> Self
    where
        B: AsRef<[u8]> + Send + Sync + 'static,
    {
        Self::build(bytes, compression, name, threads, JOB_BYTES)
    }

    fn build<B>(
        bytes: Arc<B>,
        compression: Compression,
        name: &str,
        threads: usize,
        job_bytes: usize,
    ) -> Self
    where
        B: AsRef<[u8]> + Send + Sync + 'static,
    {
        let all = (*bytes).as_ref();
        let jobs = match split_members(all, compression) {
            Some(ranges) => group_jobs(&ranges, all.len(), job_bytes),
            None => std::iter::once(0..all.len()).collect(),
        };
        let parallel = jobs.len() > 1;
        let threads = threads.clamp(1, jobs.len());
        let jobs = RangeJobs {
            bytes,
            jobs,
            compression,
            name: name.to_string(),
        };
        let mut me = Self::start(Arc::new(jobs), threads);
        me.parallel = parallel && me.workers.len() > 1;
        me
    }

    /// Decodes a stream (standard input, a pipe; already a decoder, see
    /// [`decoder`]) on one thread, ahead of the reader: one thread
    /// decompresses while the caller parses.
    pub fn from_reader(reader: Box<dyn Read + Send>) -> Self {
        Self::start(Arc::new(StreamJob(Mutex::new(Some(reader)))), 1)
    }

    /// True when more than one thread decodes.
    pub fn is_parallel(&self) -> bool {
        self.parallel
    }

    fn start(jobs: Arc<dyn Jobs>, threads: usize) -> Self {
        let (order_tx, order_rx) = sync_channel(threads);
        let schedule = Arc::new(Mutex::new(Schedule {
            next: 0,
            order: order_tx,
        }));
        let pool: Arc<Pool> = Arc::new(Mutex::new(Vec::new()));
        let flags = Arc::new(Flags::default());
        let count = jobs.count();
        // A thread the system will not start (a process limit, `ulimit -u`)
        // is one fewer worker: any number decodes the same bytes. With
        // none the input cannot be read, an error from the first read (it
        // was a panic).
        let mut workers = Vec::with_capacity(threads);
        let mut refused = None;
        for _ in 0..threads {
            let (jobs, schedule) = (Arc::clone(&jobs), Arc::clone(&schedule));
            let (pool, flags) = (Arc::clone(&pool), Arc::clone(&flags));
            match std::thread::Builder::new()
                .name("rayproc-decompress".into())
                .spawn(move || work(&*jobs, &schedule, &pool, &flags))
            {
                Ok(worker) => workers.push(worker),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let failed = match refused {
            Some(e) if workers.is_empty() => Some((
                e.kind(),
                format!("cannot start a thread to decompress it: {e}"),
            )),
            _ => None,
        };
        ParallelDecoder {
            order: Some(order_rx),
            current: None,
            piece: None,
            pos: 0,
            jobs: count,
            jobs_seen: 0,
            parallel: false,
            pool,
            flags,
            workers,
            failed,
        }
    }

    /// The next run of decoded bytes (never empty), or `None` at the end.
    /// The slice is valid until the next call.
    pub fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        if !self.advance()? {
            return Ok(None);
        }
        let piece = self.piece.as_ref().expect("advance leaves a piece");
        let chunk = &piece.buf[self.pos..piece.len];
        self.pos = piece.len;
        Ok(Some(chunk))
    }

    /// Makes sure the current piece has unread bytes; false at the end.
    fn advance(&mut self) -> io::Result<bool> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        loop {
            if let Some(piece) = &self.piece {
                if self.pos < piece.len {
                    return Ok(true);
                }
                let piece = self.piece.take().expect("checked");
                let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
                pool.push(piece.buf);
            }
            let Some(order) = &self.order else {
                return Ok(false);
            };
            if self.current.is_none() {
                match order.recv() {
                    Ok(rx) => {
                        self.current = Some(rx);
                        self.jobs_seen += 1;
                    }
                    Err(_) if self.jobs_seen == self.jobs => {
                        self.order = None;
                        return Ok(false);
                    }
                    Err(_) => return Err(self.fail(died())),
                }
            }
            let current = self.current.as_ref().expect("just set");
            match current.recv() {
                Ok(Msg::Piece(p)) => {
                    self.piece = Some(p);
                    self.pos = 0;
                }
                Ok(Msg::End) => self.current = None,
                Ok(Msg::Err(e)) => return Err(self.fail(e)),
                Err(_) => return Err(self.fail(died())),
            }
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        self.flags.stop.store(true, Ordering::SeqCst);
        self.failed = Some((e.kind(), e.to_string()));
        e
    }
}

fn died() -> io::Error {
    io::Error::other("internal error: a decompression thread stopped before the end of its job")
}

/// Groups consecutive member ranges into jobs of about `job_bytes`
/// ([`JOB_BYTES`]), covering `0..len` exactly (so that skippable frames
/// between members go with a job, and the last job runs to the end).
fn group_jobs(ranges: &[Range<usize>], len: usize, job_bytes: usize) -> Vec<Range<usize>> {
    let mut jobs = Vec::new();
    let mut start = 0;
    for r in ranges {
        if r.end - start >= job_bytes {
            jobs.push(start..r.end);
            start = r.end;
        }
    }
    if start < len {
        let tail_has_data = ranges.last().is_some_and(|r| r.end > start);
        match jobs.last_mut() {
            // a tail of skippable frames only joins the last job
            Some(last) if !tail_has_data => last.end = len,
            _ => jobs.push(start..len),
        }
    }
    jobs
}

/// Tells the workers to stop.
#[derive(Default)]
struct Flags {
    /// The reader is gone (dropped, or stopped at an error): stop at once.
    stop: AtomicBool,
    /// A job failed: claim no further job, but finish the claimed ones,
    /// which come before it in the input and must still be read whole.
    no_more_jobs: AtomicBool,
}

/// A worker: claims jobs in order and decodes each into pieces.
fn work(jobs: &dyn Jobs, schedule: &Mutex<Schedule>, pool: &Pool, flags: &Flags) {
    loop {
        let (job, tx) = {
            let mut s = schedule.lock().unwrap_or_else(|e| e.into_inner());
            if s.next >= jobs.count()
                || flags.stop.load(Ordering::SeqCst)
                || flags.no_more_jobs.load(Ordering::SeqCst)
            {
                return;
            }
            let job = s.next;
            s.next += 1;
            let (tx, rx) = sync_channel(PIECES_AHEAD);
            // Queued under the lock: the order of the queue is job order.
            if s.order.send(rx).is_err() {
                return;
            }
            (job, tx)
        };
        let mut reader = jobs.open(job);
        loop {
            let mut buf = pool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .unwrap_or_else(|| vec![0; PIECE]);
            let mut len = 0;
            let mut end = false;
            while len < buf.len() {
                match reader.read(&mut buf[len..]) {
                    Ok(0) => {
                        end = true;
                        break;
                    }
                    Ok(n) => len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        flags.no_more_jobs.store(true, Ordering::SeqCst);
                        if len > 0 {
                            let _ = tx.send(Msg::Piece(Piece { buf, len }));
                        }
                        let _ = tx.send(Msg::Err(e));
                        return;
                    }
                }
            }
            if len > 0 && tx.send(Msg::Piece(Piece { buf, len })).is_err() {
                return;
            }
            if end {
                if tx.send(Msg::End).is_err() {
                    return;
                }
                break;
            }
            if flags.stop.load(Ordering::SeqCst) {
                return;
            }
        }
    }
}

impl Read for ParallelDecoder {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || !self.advance()? {
            return Ok(0);
        }
        let piece = self.piece.as_ref().expect("advance leaves a piece");
        let n = out.len().min(piece.len - self.pos);
        out[..n].copy_from_slice(&piece.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for ParallelDecoder {
    fn drop(&mut self) {
        // A worker that claims a job from now on sees the flag under the
        // schedule's lock and returns; one already decoding sends at most
        // one more piece (into a fresh channel: room for it) and returns;
        // one blocked on a full channel is released when the receiver,
        // current or queued, is dropped here.
        self.flags.stop.store(true, Ordering::SeqCst);
        self.current = None;
        if let Some(order) = self.order.take() {
            while order.try_recv().is_ok() {}
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

pub mod inflate;

#[cfg(test)]
mod tests;
