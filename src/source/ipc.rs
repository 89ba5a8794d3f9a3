//! Arrow IPC files (Feather v2) and streams, memory-mapped and decoded
//! without copies.
//!
//! Where the messages lie, a file's footer or a stream's walk, is
//! [`layout`]'s; from there both formats are one reader.
//!
//! The file is mapped once; the map is wrapped in one Arrow [`Buffer`] whose
//! owner is the `Arc<Mmap>`, and each record batch is decoded by a
//! [`FileDecoder`] over a slice of it, so every column buffer of every batch
//! points into the mapping. This is both the object store's partition
//! reader and the reader of `--input x.arrow`.
//!
//! Every file is validated as it is decoded, whoever wrote it: offsets,
//! lengths, UTF-8, dictionary keys and null counts are checked by Arrow's
//! decoder before any array reaches the aggregates (which then read values
//! through the arrays' safe accessors). A store's checksum does not replace
//! this check: XXH3 is no signature, and whoever can edit a partition file
//! can recompute the checksum the manifest records. Skipping validation
//! would let crafted offsets reach unchecked slicing (memory unsafety), so
//! there is no way to skip it.
//!
//! Arrow's IPC decoder (arrow-ipc 60) is not panic-free on hostile input:
//! it slices the body with buffer offsets and lengths taken from the file
//! using Arrow's panicking `slice_with_length`, before any unsafe code sees
//! them. Every decoder call therefore runs under [`guarded`], which turns
//! such a panic into an error naming the file (and keeps the panic message
//! off stderr); the panic happens in bounds-checked code, so nothing is left
//! half-built but the decoder's own state, which is dropped with the file.
//!
//! The footer is read with flatbuffers' verifier (bounded depth and table
//! count), so a schema of deeply nested types is an error, not a stack
//! overflow. A projection that names a column the file does not have is an
//! error, not a panic.
//!
//! A compressed file (LZ4 frame, the default of pyarrow's Feather v2, or
//! zstd) is read too: each buffer is decompressed into memory of its own
//! (no longer a view of the map) once the sizes the batch claims are
//! bounded ([`compressed`]: Arrow allocates a claim before checking it).
//!
//! A mapped file truncated underneath the process raises SIGBUS: the store
//! never rewrites a partition file in place (it builds a new generation and
//! switches to it), and inputs are assumed not to be rewritten during a run.

use std::cell::Cell;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::Once;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::Block;
use arrow_schema::SchemaRef;
use memmap2::Mmap;

use crate::error::{show_name, Error, Result};

mod compressed;
mod layout;
pub(crate) mod wide;

pub use layout::{is_legacy_stream, is_stream, may_be_legacy_stream};

/// The magic bytes that open and close an Arrow IPC file.
pub const MAGIC: &[u8] = b"ARROW1";
/// The shortest file that can hold the magic at both ends and a footer length.
const MIN_LEN: usize = 2 * MAGIC.len() + 4;

thread_local! {
    /// Set while this thread runs a decoder call under [`guarded`].
    static DECODING: Cell<bool> = const { Cell::new(false) };
}
static QUIET_HOOK: Once = Once::new();

/// Runs an Arrow (or Parquet, `source::parquet`) decoder call: its error,
/// or a panic on a malformed file (see the module docs), becomes `Err` with
/// the reason.
pub(crate) fn guarded<T, E: std::fmt::Display>(
    decode: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = DECODING.with(|d| d.replace(true));
    let out = std::panic::catch_unwind(AssertUnwindSafe(decode));
    DECODING.with(|d| d.set(was));
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("malformed buffers");
            Err(format!("malformed: {why}"))
        }
    }
}

/// The error for a compressed batch (record batch `what`) whose buffers
/// claim more than [`compressed::check_claims`] lets Arrow allocate.
fn too_large(name: &str, what: &str, big: compressed::TooLarge) -> Error {
    Error::Other(format!(
        "{}: {what}'s compressed buffers claim {} bytes uncompressed, more than rayproc \
         reads from a batch of its size ({} bytes: {} times its compressed body, or 256 MiB): \
         write the file in smaller batches, uncompressed, or as Parquet",
        show_name(name),
        big.claimed,
        big.most,
        compressed::RATIO
    ))
}

fn truncated(name: &str) -> Error {
    Error::Other(format!(
        "{}: not a valid Arrow IPC file: missing the ARROW1 header (truncated?)",
        show_name(name)
    ))
}

/// A memory-mapped (or, for tests and fuzzing, in-memory) Arrow IPC file.
pub struct IpcFile {
    /// The name shown in messages.
    pub name: String,
    /// The name as messages show it, for [`crate::signals::decoding`].
    shown: std::ffi::CString,
    /// The mapping `buffer` views, when the bytes are mapped (pages of a map
    /// can be released; bytes in memory cannot).
    map: Option<Arc<Mmap>>,
    buffer: Buffer,
    pub schema: SchemaRef,
    /// One decoder per epoch of dictionaries ([`layout`]): a file has one.
    decoders: Vec<FileDecoder>,
    blocks: Vec<Block>,
    /// Each record batch's decoder, an index into `decoders`.
    epoch_of: Vec<usize>,
    /// The file as it was opened, when it was opened by its path: see
    /// [`super::unchanged`].
    pub(crate) state: Option<super::unchanged::FileState>,
}

impl IpcFile {
    /// Maps `path` and reads its footer. With `require_alignment`, a buffer
    /// that is not aligned is an error instead of a silent copy (the store
    /// writes aligned files; other writers may not). With `projection`, only
    /// those columns (indices into the file's schema) are decoded.
    pub fn open(
        path: &Path,
        name: &str,
        require_alignment: bool,
        projection: Option<Vec<usize>>,
    ) -> Result<IpcFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // before any byte is read
        let state = super::unchanged::FileState::of(&file, path, name, false);
        // SAFETY: a read-only map, viewed only as bytes that are validated
        // before use; a file truncated under the map raises SIGBUS (see the
        // module docs), it cannot make the map lie about its length.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| super::map_error(path, e))?;
        // Arrays decoded from the map may outlive this file (they share the
        // map), so the region stays registered for the whole run: a page
        // that vanishes under it is an error naming the file, not a crash.
        crate::signals::register_mapping_for_run(map.as_ptr(), map.len(), Path::new(name));
        let mut opened = IpcFile::from_map(Arc::new(map), name, require_alignment, projection)?;
        opened.state = state;
        Ok(opened)
    }

    /// Reads the footer of a mapped IPC file; every batch decoded from it is
    /// validated.
    pub fn from_map(
        map: Arc<Mmap>,
        name: &str,
        require_alignment: bool,
        projection: Option<Vec<usize>>,
    ) -> Result<IpcFile> {
        if map.len() < MIN_LEN {
            return Err(truncated(name));
        }
        let ptr = NonNull::new(map.as_ptr() as *mut u8).expect("a map is never null");
        let len = map.len();
        // SAFETY: the buffer points at the map's `len` bytes and owns an Arc
        // of the map, so the mapping outlives every array decoded from it;
        // the map is read-only, so nothing writes through the pointer.
        let buffer = unsafe { Buffer::from_custom_allocation(ptr, len, map.clone()) };
        IpcFile::from_buffer(buffer, Some(map), name, require_alignment, projection)
    }

    /// Reads the footer of an IPC file held in memory (tests and fuzzing:
    /// the same checks as a mapped file, validation included).
    pub fn from_bytes(bytes: &[u8], name: &str, projection: Option<Vec<usize>>) -> Result<IpcFile> {
        // copied into an aligned allocation, as a map would be aligned
        let buffer = Buffer::from(bytes);
        IpcFile::from_buffer(buffer, None, name, false, projection)
    }

    fn from_buffer(
        buffer: Buffer,
        map: Option<Arc<Mmap>>,
        name: &str,
        require_alignment: bool,
        projection: Option<Vec<usize>>,
    ) -> Result<IpcFile> {
        let bytes = buffer.as_slice();
        let (layout, format) = if bytes.len() >= MIN_LEN && bytes.starts_with(MAGIC) {
            (layout::of_file(bytes), "file")
        } else if layout::is_stream(bytes) || layout::is_legacy_stream(bytes) {
            (layout::of_stream(bytes), "stream")
        } else {
            return Err(truncated(name));
        };
        let shown = show_name(name);
        let bad =
            |why: String| Error::Other(format!("{shown}: not a valid Arrow IPC {format}: {why}"));
        let layout = layout.map_err(bad)?;
        let schema = layout.schema;
        if let Some(p) = &projection {
            if let Some(&c) = p.iter().find(|&&c| c >= schema.fields().len()) {
                return Err(bad(format!(
                    "column {} asked for, the file has {}",
                    c + 1,
                    schema.fields().len()
                )));
            }
        }
        let mut file = IpcFile {
            name: name.to_string(),
            shown: std::ffi::CString::new(show_name(name).into_owned()).unwrap_or_default(),
            map,
            buffer,
            schema,
            decoders: Vec::with_capacity(layout.epochs.len()),
            blocks: layout.batches,
            epoch_of: layout.epoch_of,
            state: None,
        };
        for dictionaries in &layout.epochs {
            let mut decoder = FileDecoder::new(file.schema.clone(), layout.version)
                .with_require_alignment(require_alignment);
            if let Some(p) = &projection {
                decoder = decoder.with_projection(p.clone());
            }
            for (d, block) in dictionaries.iter().enumerate() {
                let buf = file.block_buffer(block)?;
                compressed::check_claims(block, &buf)
                    .map_err(|big| too_large(name, &format!("dictionary batch {d}"), big))?;
                guarded(|| decoder.read_dictionary(block, &buf))
                    .map_err(|e| bad(format!("dictionary: {e}")))?;
            }
            file.decoders.push(decoder);
        }
        Ok(file)
    }

    fn block_buffer(&self, block: &Block) -> Result<Buffer> {
        match block_range(block) {
            Some((s, l)) if s.checked_add(l).is_some_and(|e| e <= self.buffer.len()) => {
                Ok(self.buffer.slice_with_length(s, l))
            }
            _ => Err(Error::Other(format!(
                "{}: not a valid Arrow IPC file: a record batch lies outside the file (truncated?)",
                show_name(&self.name)
            ))),
        }
    }

    /// The footer's record batch blocks, in file order as the footer lists
    /// them (where each batch's metadata and body lie; unchecked: see
    /// [`IpcFile::batch`] for the checked read).
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The mapping the file is read from, when it is mapped.
    pub fn map(&self) -> Option<&Mmap> {
        self.map.as_deref()
    }

    /// Number of record batches.
    pub fn batches(&self) -> usize {
        self.blocks.len()
    }

    /// Decodes record batch `i` (zero-copy where aligned).
    pub fn batch(&self, i: usize) -> Result<RecordBatch> {
        let block = &self.blocks[i];
        let buf = self.block_buffer(block)?;
        compressed::check_claims(block, &buf)
            .map_err(|big| too_large(&self.name, &format!("record batch {i}"), big))?;
        let decoder = &self.decoders[self.epoch_of[i]];
        let _decoding = crate::signals::decoding(&self.shown);
        guarded(|| decoder.read_record_batch(block, &buf))
            .map_err(|e| {
                Error::Other(format!(
                    "{}: record batch {i} is unreadable: {e}",
                    show_name(&self.name)
                ))
            })?
            .ok_or_else(|| {
                let name = show_name(&self.name);
                Error::Other(format!("{name}: record batch {i} is empty"))
            })
            .and_then(|batch| {
                // the row count is the message's own word: nothing checks it
                // against a batch without columns, or whose columns take no
                // bytes (type Null), yet every reader loops over the rows and
                // a dataset's key=value column is allocated for them
                let most = unbacked_rows_at_most(block.bodyLength());
                if batch.num_rows() as u64 > most {
                    return Err(Error::Other(format!(
                        "{}: not a valid Arrow IPC file: record batch {i} says it has {} rows, \
                         more than its {} bytes can hold",
                        show_name(&self.name),
                        batch.num_rows(),
                        block.bodyLength()
                    )));
                }
                Ok(batch)
            })
    }

    /// The rows of the record batches before batch `i`, from their
    /// messages' own counts (`None` when one cannot be read): where an
    /// error in batch `i` is named by its row in the file, as a Parquet
    /// file's is, not by a batch number and a row within it that only the
    /// writer's batch sizes explain. Read only for such an error.
    pub fn rows_before(&self, i: usize) -> Option<u64> {
        let bytes = self.buffer.as_slice();
        let mut rows = 0u64;
        for block in &self.blocks[..i] {
            let (start, _) = block_range(block)?;
            let meta_len = usize::try_from(block.metaDataLength()).ok()?;
            let meta = bytes.get(start..start.checked_add(meta_len)?)?;
            // past the continuation marker and length, or a legacy length
            let prefix = if meta.get(..4)? == [0xff; 4] { 8 } else { 4 };
            let message = arrow_ipc::root_as_message(meta.get(prefix..)?).ok()?;
            let length = message.header_as_record_batch()?.length();
            rows = rows.checked_add(u64::try_from(length).ok()?)?;
        }
        Some(rows)
    }

    /// Tells the kernel that batch `i`'s pages will not be read again, so
    /// they leave this process's resident set (they stay in the page cache;
    /// a later read faults them back in from there).
    pub fn release(&self, i: usize) {
        if let (Some(map), Some((start, len))) = (&self.map, block_range(&self.blocks[i])) {
            super::release_range(map, start, len);
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.buffer.as_slice()
    }
}

/// Decodes every record batch of `file` and reads every column as the
/// aggregates would (through [`crate::source::arrow::prepare`] and
/// [`crate::source::arrow::for_each_batch`]): the rows read and a digest of
/// the values. What the `ipc_file` fuzz target and the store's mutation
/// tests drive: any damage must come out as an error, never as a panic or
/// a crash.
pub fn read_everything(file: &IpcFile) -> Result<(u64, u64)> {
    let mut rows = 0u64;
    let mut digest = 0u64;
    for b in 0..file.batches() {
        let batch = file.batch(b)?;
        let recasts: Vec<_> = (batch.schema().fields().iter())
            .map(|f| crate::source::arrow::Recast::of_field(f))
            .collect();
        digest = digest.rotate_left(7) ^ crate::source::arrow::digest_batch(&batch, &recasts);
        for array in batch.columns() {
            // as the integers of a float column (a store's `NAME#ints`)
            if let Ok(marks) = crate::source::arrow::int_marks(array, batch.num_rows()) {
                for r in 0..batch.num_rows() {
                    digest ^= marks.int(r, r as f64).map_or(0, |v| v as u64);
                }
            }
        }
        rows += batch.num_rows() as u64;
    }
    Ok((rows, digest))
}

/// Rows a record batch whose body is `body_len` bytes can have: a column
/// of any type rayproc reads takes at least a bit a row (booleans without
/// nulls), so at most 8 a byte; and up to [`UNBACKED_ROWS`] whatever the
/// body, for batches whose columns take no bytes at all (no columns, or
/// columns of type Null, which rayproc skips).
fn unbacked_rows_at_most(body_len: i64) -> u64 {
    (body_len.max(0) as u64)
        .saturating_mul(8)
        .max(UNBACKED_ROWS)
}

/// See [`unbacked_rows_at_most`].
const UNBACKED_ROWS: u64 = 1 << 16;

/// Where block `block` lies in the file: its offset and the length of its
/// metadata and body, `None` when the footer's numbers for them are
/// negative or overflow (they come from the file, unchecked).
fn block_range(block: &Block) -> Option<(usize, usize)> {
    let len = i64::from(block.metaDataLength()).checked_add(block.bodyLength())?;
    Some((
        usize::try_from(block.offset()).ok()?,
        usize::try_from(len).ok()?,
    ))
}

/// True when `head` (a file's first bytes) opens an Arrow IPC file.
pub fn is_ipc(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose schema has no columns and whose one record batch says
    /// it has 9,871,890,396,081,029,120 rows (`length` 0x8900_0003_0000_0000 in
    /// the message, nothing to check it against): every reader looped over
    /// the rows for ever (`read_everything`: the `ipc_file` fuzz target's
    /// timeout, minimised), and a dataset's key=value column was allocated
    /// for them. Now the batch is refused.
    #[test]
    fn a_batch_with_more_rows_than_its_bytes_hold_is_refused() {
        let file = IpcFile::from_bytes(TIMEOUT_ZERO_COLUMNS, "t.arrow", None).expect("the footer");
        assert_eq!(file.batches(), 1);
        let e = file
            .batch(0)
            .expect_err("9.8e18 rows in no bytes")
            .to_string();
        assert!(e.contains("rows, more than its"), "{e}");
        assert!(read_everything(&file).is_err());
    }

    /// A dictionary block whose metadata length (-190) and body length
    /// (`i64::MIN + 112`) overflow when added: the `ipc_file` fuzz target
    /// found the sum panicking where overflow is checked (its build, debug
    /// and test builds) and wrapping elsewhere (minimised). Now it is a
    /// block outside the file, as any other unreadable extent.
    #[test]
    fn a_block_whose_lengths_overflow_is_refused() {
        let e = IpcFile::from_bytes(OVERFLOWING_BLOCK, "t.arrow", None)
            .err()
            .expect("a block outside the file")
            .to_string();
        assert!(e.contains("lies outside the file"), "{e}");
        let block = |offset, meta, body| block_range(&Block::new(offset, meta, body));
        assert_eq!(block(8, -190, i64::MIN + 112), None);
        assert_eq!(block(8, i32::MAX, i64::MAX), None);
        assert_eq!(block(-1, 8, 8), None);
        assert_eq!(block(8, -16, 8), None, "a negative length");
        assert_eq!(block(8, 16, 24), Some((8, 40)));
    }

    /// The input (past its first byte, the target's projection: none).
    const OVERFLOWING_BLOCK: &[u8] = &[
        0x41, 0x52, 0x52, 0x4f, 0x57, 0x31, 0x32, 0x67, 0x20, 0xe7, 0x70, 0x8e, 0x00, 0x00, 0x10,
        0x00, 0x00, 0x00, 0x0c, 0x00, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x10, 0x00,
        0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x78, 0x00, 0x00, 0x00, 0x58, 0x00, 0x00,
        0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x70, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x48, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb8, 0x06, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x70, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xa8, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x12, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb8, 0x06,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x38,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xb0, 0xff, 0xff, 0xff, 0x04, 0x00, 0x00,
        0x00, 0x04, 0x00, 0x00, 0x00, 0xc8, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x5c, 0x00,
        0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x10, 0x00, 0x18, 0x00, 0x08, 0x00, 0x06, 0x00, 0x07,
        0x00, 0x0c, 0x00, 0x10, 0x00, 0x14, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05,
        0x14, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x08, 0x00,
        0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x6c,
        0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x20, 0x00, 0x00, 0x00, 0xdc, 0xff, 0xff, 0xff,
        0xac, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x05, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00,
        0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x6b, 0x00,
        0x00, 0x00, 0x04, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0xd4, 0xff, 0xff, 0xff, 0x00,
        0x00, 0x01, 0x03, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x06, 0x00, 0x08, 0x00, 0x06,
        0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x10, 0x00, 0x14, 0x00, 0x08, 0x00,
        0x06, 0x00, 0x07, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x02, 0x10, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x69, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0c,
        0x00, 0x08, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x40, 0x00,
        0x00, 0x00, 0x98, 0x01, 0x00, 0x00, 0x41, 0x52, 0x52, 0x4f, 0x57, 0x31,
    ];

    /// The input (past its first byte, the target's projection: none).
    const TIMEOUT_ZERO_COLUMNS: &[u8] = &[
        0x41, 0x52, 0x52, 0x4f, 0x57, 0x31, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xa0, 0x00, 0x00,
        0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x06, 0x00, 0x05, 0x00,
        0x08, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xd8, 0xff, 0xff,
        0xff, 0x00, 0x00, 0x01, 0x05, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x6b, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x10, 0x00, 0x14, 0x00, 0x08, 0x00, 0x06, 0x00,
        0x07, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x03, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x05, 0x00, 0x78, 0x00, 0x06, 0x00, 0x08, 0x00, 0x06, 0x00, 0x06,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        0xe0, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x18,
        0x00, 0x06, 0x00, 0x05, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x03,
        0x04, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x0c, 0x00, 0x1e, 0x00, 0x10, 0x00, 0x04, 0x00, 0x08, 0x00, 0x0c, 0x00,
        0x0c, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x89, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x06, 0x00, 0x08, 0x00, 0x07, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x62, 0x61, 0x00,
        0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
        0x0c, 0x00, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x10, 0x00, 0x0c, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x04, 0x00, 0x38, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe8,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xd8, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x05, 0x10,
        0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x6b, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00,
        0x00, 0x10, 0x00, 0x14, 0x00, 0x08, 0x00, 0x06, 0x00, 0x07, 0x00, 0x0c, 0x00, 0x00, 0x00,
        0x10, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x10, 0x00, 0x00, 0x00, 0x18,
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x78, 0x00, 0x06, 0x00, 0x08, 0x00, 0x06, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
        0x00, 0xc8, 0x00, 0x00, 0x00, 0x41, 0x52, 0x52, 0x4f, 0x57, 0x31,
    ];
}
