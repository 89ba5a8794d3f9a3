//! Every page header of a column chunk, checked before the `parquet` crate
//! decodes the chunk.
//!
//! Why: the crate trusts what a page header says it decodes to
//! (`uncompressed_page_size`). It allocates that much for the page, and
//! for Snappy and LZ4 it zeroes all of it before the codec runs: a 107 KB
//! file whose 40 pages each claimed 2 GiB took 100 s and 4 GB of memory to
//! give the right answer, and under a memory limit it failed as "out of
//! memory", naming no file. A dictionary page's value count is trusted the
//! same way (2^31 values asked for 8 GiB). The answer was never wrong
//! (the crate compares what the codec gave with the claim); the cost was.
//!
//! So before a run of row groups is read, the chunks it will decode are
//! walked page by page, from the file: a header is read (Thrift's compact
//! protocol, parsed here: the crate keeps its parser private), its body is
//! skipped, and each claim is held against what the page's codec can give
//! from its body:
//!
//! - Snappy writes the length it decodes to at the start of its data: the
//!   claim must be that length, and no Snappy data of `n` bytes gives more
//!   than 22 `n` (a 3-byte copy gives at most 64 bytes).
//! - LZ4 gives at most 255 bytes a byte (each length byte adds 255),
//!   deflate 1,032, zstd 32,768 (a 4-byte block of one repeated byte gives
//!   128 KiB). zstd and gzip never zero the claim (the crate reserves it and
//!   writes only what is decoded), so their bounds are loose, and enough.
//! - A dictionary page holds each value in at least its width (a bit for a
//!   boolean, a 4-byte length for text): more values than its decoded
//!   bytes can hold is damage.
//! - Each page lies inside its chunk, and its sizes are not negative.
//!
//! A page stored uncompressed is decoded from its bytes as they are: its
//! claim costs nothing and is not checked (the crate ignores it too).
//! Every file a writer makes passes (pyarrow, Polars, DuckDB, Spark and the
//! crate's own writer state exactly what their codec gives); the walk
//! reads a few KiB per page, from the page cache the decode is about to
//! read anyway.

use std::fs::File;

use parquet::basic::{Compression, Type as Physical};
use parquet::file::metadata::ColumnChunkMetaData;

/// Bytes read at a time while walking a chunk's headers: a header with
/// statistics is a few hundred bytes, so a window holds the next header and
/// often several small pages'.
const WINDOW: usize = 8 << 10;

/// Nesting of Thrift structs and lists beyond which a header is damage: the
/// page header nests three deep; the skipper recurses.
const MAX_DEPTH: u32 = 32;

/// What a page header says, of what the check needs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageHeader {
    /// Thrift's `PageType` (0 data, 1 index, 2 dictionary, 3 data v2).
    pub kind: i32,
    /// The bytes the page decodes to (`uncompressed_page_size`).
    pub decoded: i32,
    /// The bytes of its body in the file (`compressed_page_size`).
    pub stored: i32,
    /// A dictionary page's value count.
    pub dictionary_values: Option<i32>,
    /// A v2 data page: the bytes of its levels (stored as they are, before
    /// the compressed values), and whether its values are compressed.
    pub v2: Option<(i64, bool)>,
}

/// Why a header could not be parsed from the bytes at hand.
#[derive(Debug, PartialEq, Eq)]
pub enum Unparsed {
    /// The bytes end inside the header, which needs at least this many
    /// bytes in all (a value's stated length, a list's count: one byte an
    /// element at least): read more, unless there are not as many.
    Short(u64),
    /// The bytes cannot be a header.
    Invalid(&'static str),
}

/// Parses a Thrift-compact `PageHeader` from the start of `bytes`: the
/// header and its length in bytes.
pub fn parse_header(bytes: &[u8]) -> Result<(PageHeader, usize), Unparsed> {
    let mut r = Compact { bytes, at: 0 };
    let mut header = PageHeader::default();
    let mut seen = [false; 3];
    r.fields(0, |r, id, kind| {
        match (id, kind) {
            (1, I32) => (header.kind, seen[0]) = (r.i32()?, true),
            (2, I32) => (header.decoded, seen[1]) = (r.i32()?, true),
            (3, I32) => (header.stored, seen[2]) = (r.i32()?, true),
            (7, STRUCT) => r.fields(1, |r, id, kind| {
                if (id, kind) == (1, I32) {
                    header.dictionary_values = Some(r.i32()?);
                    return Ok(true);
                }
                Ok(false)
            })?,
            (8, STRUCT) => {
                let (mut levels, mut compressed) = (0i64, true);
                r.fields(1, |r, id, kind| {
                    match (id, kind) {
                        (5 | 6, I32) => levels += i64::from(r.i32()?),
                        (7, TRUE) => compressed = true,
                        (7, FALSE) => compressed = false,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                header.v2 = Some((levels, compressed));
            }
            (1..=3, _) => return Err(Unparsed::Invalid("a size or type of another type")),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if seen != [true; 3] {
        return Err(Unparsed::Invalid("no type or sizes"));
    }
    Ok((header, r.at))
}

// Thrift compact protocol types.
const TRUE: u8 = 1;
const FALSE: u8 = 2;
const I32: u8 = 5;
const STRUCT: u8 = 12;

/// A reader of Thrift's compact protocol over bytes that may end early.
struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, Unparsed> {
        self.need(1)?;
        let b = self.bytes[self.at];
        self.at += 1;
        Ok(b)
    }

    /// `Short` unless `n` more bytes are at hand.
    fn need(&self, n: u64) -> Result<(), Unparsed> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(Unparsed::Short((self.at as u64).saturating_add(n)));
        }
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<(), Unparsed> {
        self.need(n)?;
        self.at += n as usize;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, Unparsed> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(Unparsed::Invalid("a number of more than 64 bits"));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Unparsed::Invalid("a number of more than 64 bits"))
    }

    fn zigzag(&mut self) -> Result<i64, Unparsed> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn i32(&mut self) -> Result<i32, Unparsed> {
        i32::try_from(self.zigzag()?).map_err(|_| Unparsed::Invalid("a 32-bit number out of range"))
    }

    /// Reads a struct's fields up to its stop, handing each to `each`
    /// (its id and type), which reads the value and says so, or leaves it
    /// (false) to be skipped.
    fn fields(
        &mut self,
        depth: u32,
        mut each: impl FnMut(&mut Self, i16, u8) -> Result<bool, Unparsed>,
    ) -> Result<(), Unparsed> {
        if depth > MAX_DEPTH {
            return Err(Unparsed::Invalid("nested too deep"));
        }
        let mut last = 0i16;
        loop {
            let head = self.byte()?;
            if head == 0 {
                return Ok(());
            }
            let kind = head & 0x0f;
            let id = match head >> 4 {
                0 => i16::try_from(self.zigzag()?)
                    .map_err(|_| Unparsed::Invalid("a field id out of range"))?,
                delta => last
                    .checked_add(i16::from(delta))
                    .ok_or(Unparsed::Invalid("a field id out of range"))?,
            };
            last = id;
            if !each(self, id, kind)? {
                self.skip_value(kind, depth + 1, true)?;
            }
        }
    }

    /// Skips a value of type `kind`; `field`: a struct field, whose
    /// booleans are held in its type (a list's take a byte each).
    fn skip_value(&mut self, kind: u8, depth: u32, field: bool) -> Result<(), Unparsed> {
        if depth > MAX_DEPTH {
            return Err(Unparsed::Invalid("nested too deep"));
        }
        match kind {
            TRUE | FALSE if field => Ok(()),
            TRUE | FALSE | 3 => self.skip(1),
            4..=6 => self.varint().map(drop),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let head = self.byte()?;
                let n = match u64::from(head >> 4) {
                    15 => self.varint()?,
                    n => n,
                };
                // every element takes a byte at least: a count past the
                // bytes at hand ends as `Short`, not as a long loop
                self.need(n)?;
                for _ in 0..n {
                    self.skip_value(head & 0x0f, depth + 1, false)?;
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let kinds = self.byte()?;
                self.need(n.saturating_mul(2))?;
                for _ in 0..n {
                    self.skip_value(kinds >> 4, depth + 1, false)?;
                    self.skip_value(kinds & 0x0f, depth + 1, false)?;
                }
                Ok(())
            }
            STRUCT => self.fields(depth + 1, |_, _, _| Ok(false)),
            13 => self.skip(16),
            _ => Err(Unparsed::Invalid("an unknown Thrift type")),
        }
    }
}

/// Walks the pages of `chunk` (of `file`, `file_len` bytes long) and checks
/// each one's claims (module docs): the number of pages, or what is wrong
/// and where, as "the page at byte N says ...".
pub fn check_chunk(
    file: &File,
    file_len: u64,
    chunk: &ColumnChunkMetaData,
) -> Result<usize, String> {
    // where the crate starts and ends (`byte_range`, which panics on a
    // negative offset or size)
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or(chunk.data_page_offset());
    let len = chunk.compressed_size();
    let end = u64::try_from(start)
        .ok()
        .zip(u64::try_from(len).ok())
        .and_then(|(start, len)| start.checked_add(len))
        .filter(|&end| end <= file_len)
        .ok_or_else(|| format!("its chunk of {len} bytes at byte {start} is not in the file"))?;
    let start = start as u64;
    let codec = chunk.compression();
    let mut window = Window::default();
    let (mut at, mut pages) = (start, 0);
    while at < end {
        let (header, header_len) = window.header(file, at, end)?;
        let body = at + header_len as u64;
        let stored = u64::try_from(header.stored);
        if header.decoded < 0 || stored.is_err() {
            return Err(format!(
                "the page at byte {at} says it stores {} bytes that decode to {}",
                header.stored, header.decoded
            ));
        }
        let stored = stored.unwrap_or(0);
        if stored > end - body {
            return Err(format!(
                "the page at byte {at} ({stored} bytes) runs past the end of its chunk, {} bytes \
                 on",
                end - body
            ));
        }
        // data (0), dictionary (2) and data v2 (3) pages; the crate skips
        // index pages (1) and fails on other kinds
        if matches!(header.kind, 0 | 2 | 3) {
            check_page(
                &header,
                codec,
                chunk.column_type(),
                chunk.column_descr(),
                |n| window.bytes(file, body, n.min(stored as usize), end),
            )
            .map_err(|why| format!("the {}page at byte {at} {why}", dictionary(&header)))?;
        }
        at = body + stored;
        pages += 1;
    }
    Ok(pages)
}

/// Checks one page's claims against its codec and type; `body(n)` gives
/// (up to) the first `n` bytes of its stored body.
fn check_page(
    header: &PageHeader,
    codec: Compression,
    physical: Physical,
    descr: &parquet::schema::types::ColumnDescriptor,
    mut body: impl FnMut(usize) -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    let (mut claim, mut stored) = (i64::from(header.decoded), i64::from(header.stored));
    let mut compressed = codec != Compression::UNCOMPRESSED;
    if let Some((levels, values_compressed)) = header.v2 {
        if levels < 0 || levels > stored || levels > claim {
            return Err(format!(
                "says its levels take {levels} bytes of the {stored} it stores \
                 (decoding to {claim})"
            ));
        }
        (claim, stored) = (claim - levels, stored - levels);
        compressed &= values_compressed;
    }
    if compressed && claim > 0 {
        let (name, most) = match codec {
            Compression::SNAPPY => ("Snappy", 22),
            Compression::LZ4 | Compression::LZ4_RAW => ("LZ4", 255),
            Compression::GZIP(_) => ("gzip", 1032),
            Compression::ZSTD(_) => ("zstd", 32_768),
            // codecs this build does not read: the crate says so
            _ => return Ok(()),
        };
        if claim > most * stored {
            return Err(format!(
                "says {stored} bytes of {name} data decode to {claim}, more than \
                 {name} can give ({most} times)"
            ));
        }
        if codec == Compression::SNAPPY {
            let skip = header.v2.map_or(0, |(levels, _)| levels as usize);
            let head = body(skip + 5)?;
            let says = snappy_length(head.get(skip..).unwrap_or(&[]));
            if says != Some(claim as u64) {
                let says = says.map_or("no length".to_string(), |n| format!("{n} bytes"));
                return Err(format!(
                    "says it decodes to {claim} bytes, its Snappy data {says}"
                ));
            }
        }
    }
    if let Some(values) = header.dictionary_values {
        let decoded = if compressed { claim } else { stored };
        let bits = match physical {
            Physical::BOOLEAN => 1,
            Physical::INT32 | Physical::FLOAT | Physical::BYTE_ARRAY => 32,
            Physical::INT64 | Physical::DOUBLE => 64,
            Physical::INT96 => 96,
            Physical::FIXED_LEN_BYTE_ARRAY => 8 * i64::from(descr.type_length().max(0)),
        };
        if values < 0 {
            return Err(format!("says it holds {values} values"));
        }
        if i64::from(values) * bits > decoded * 8 {
            return Err(format!(
                "says it holds {values} values, more than its {decoded} \
                 bytes can"
            ));
        }
    }
    Ok(())
}

/// "dictionary " for a dictionary page's header.
fn dictionary(header: &PageHeader) -> &'static str {
    if header.kind == 2 {
        "dictionary "
    } else {
        ""
    }
}

/// The length Snappy data says it decodes to (its leading varint, at most
/// 32 bits), if `head` starts with one.
fn snappy_length(head: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &b) in head.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(u64::from);
        }
    }
    None
}

/// The bytes of a file last read, from offset `start`.
#[derive(Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    /// At least `n` bytes from `at`, or the bytes to `end` if fewer.
    fn slice(&mut self, file: &File, at: u64, n: usize, end: u64) -> Result<&[u8], String> {
        let want = (n as u64).min(end - at) as usize;
        let held = at >= self.start && at + want as u64 <= self.start + self.bytes.len() as u64;
        if !held {
            let len = (want.max(WINDOW) as u64).min(end - at) as usize;
            self.bytes.resize(len, 0);
            read_at(file, &mut self.bytes, at)
                .map_err(|e| format!("its pages cannot be read from byte {at} ({e})"))?;
            self.start = at;
        }
        let from = (at - self.start) as usize;
        Ok(&self.bytes[from..])
    }

    /// The page header at `at`, read from the file as far as `end`.
    fn header(&mut self, file: &File, at: u64, end: u64) -> Result<(PageHeader, usize), String> {
        let unread = |why: &str| format!("the page header at byte {at} {why}");
        let mut want = 256usize;
        loop {
            let bytes = self.slice(file, at, want, end)?;
            match parse_header(bytes) {
                Ok(parsed) => return Ok(parsed),
                // what the header says it needs decides, not what a
                // damaged length claims: a binary of 2^40 bytes in a chunk
                // of 200 MB had the whole chunk read into memory
                Err(Unparsed::Short(need)) if need <= end - at => {
                    want = (need as usize).max(bytes.len().max(want) * 2);
                }
                Err(Unparsed::Short(_)) => return Err(unread("runs past the end of its chunk")),
                Err(Unparsed::Invalid(why)) => {
                    return Err(unread(&format!("cannot be read ({why})")))
                }
            }
        }
    }

    /// Up to `n` bytes from `at` (a page's body, which lies in its chunk,
    /// which ends at `end`).
    fn bytes(&mut self, file: &File, at: u64, n: usize, end: u64) -> Result<Vec<u8>, String> {
        let bytes = self.slice(file, at, n, end)?;
        Ok(bytes[..n.min(bytes.len())].to_vec())
    }
}

/// Fills `buf` from `file` at offset `at`.
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = file;
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(buf)
    }
}

#[cfg(test)]
mod tests;
