//! Arrow IPC files (Feather v2), memory-mapped and decoded without copies.
//!
//! The file is mapped once; the map is wrapped in one Arrow [`Buffer`] whose
//! owner is the `Arc<Mmap>`, and each record batch is decoded by a
//! [`FileDecoder`] over a slice of it, so every column buffer of every batch
//! points into the mapping. This is both the object store's partition
//! reader and the reader of `--input x.arrow`.
//!
//! A mapped file truncated underneath the process raises SIGBUS: the store
//! never rewrites a partition file in place (it builds a new store and
//! renames), and inputs are assumed not to be rewritten during a run.

use std::fs::File;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::{read_footer_length, FileDecoder};
use arrow_ipc::{root_as_footer, Block};
use arrow_schema::SchemaRef;
use memmap2::Mmap;

use crate::error::{Error, Result};

/// The magic bytes that open and close an Arrow IPC file.
pub const MAGIC: &[u8] = b"ARROW1";

/// A memory-mapped Arrow IPC file.
pub struct IpcFile {
    /// The name shown in messages.
    pub name: String,
    map: Arc<Mmap>,
    buffer: Buffer,
    pub schema: SchemaRef,
    decoder: FileDecoder,
    blocks: Vec<Block>,
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
        // SAFETY: read-only map; see the module docs about truncation.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        IpcFile::from_map(Arc::new(map), name, require_alignment, projection, false)
    }

    /// Reads the footer of a mapped IPC file. `trusted` skips the
    /// validation of decoded arrays (UTF-8, offsets): only for bytes whose
    /// checksum was just verified against what rayproc itself wrote.
    pub fn from_map(
        map: Arc<Mmap>,
        name: &str,
        require_alignment: bool,
        projection: Option<Vec<usize>>,
        trusted: bool,
    ) -> Result<IpcFile> {
        let bad = |why: String| Error::Other(format!("{name}: not a valid Arrow IPC file: {why}"));
        let len = map.len();
        if len < 2 * MAGIC.len() + 4 || &map[..MAGIC.len()] != MAGIC {
            return Err(bad("missing the ARROW1 header (truncated?)".into()));
        }
        let tail: [u8; 10] = map[len - 10..].try_into().expect("10 bytes");
        let footer_len = read_footer_length(tail).map_err(|e| bad(e.to_string()))?;
        if footer_len > len - 10 - MAGIC.len() {
            return Err(bad("footer length out of range (truncated?)".into()));
        }
        let footer = root_as_footer(&map[len - 10 - footer_len..len - 10])
            .map_err(|e| bad(format!("unreadable footer: {e}")))?;
        let fb_schema = footer
            .schema()
            .ok_or_else(|| bad("footer without schema".into()))?;
        if !fb_schema.endianness().equals_to_target_endianness() {
            return Err(bad("written on a machine of the other endianness".into()));
        }
        let schema = Arc::new(
            arrow_ipc::convert::try_fb_to_schema(fb_schema).map_err(|e| bad(e.to_string()))?,
        );
        let blocks: Vec<Block> = footer
            .recordBatches()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        let dictionaries: Vec<Block> = footer
            .dictionaries()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        let version = footer.version();

        let ptr = NonNull::new(map.as_ptr() as *mut u8).expect("a map is never null");
        // SAFETY: the buffer points into the map, and owns an Arc of it, so
        // the mapping outlives every array decoded from it.
        let buffer = unsafe { Buffer::from_custom_allocation(ptr, len, map.clone()) };
        let mut decoder =
            FileDecoder::new(schema.clone(), version).with_require_alignment(require_alignment);
        if let Some(p) = projection {
            decoder = decoder.with_projection(p);
        }
        if trusted {
            // SAFETY: the caller verified the file's checksum against the
            // one recorded when rayproc wrote it.
            decoder = unsafe { decoder.with_skip_validation(true) };
        }
        let mut file = IpcFile {
            name: name.to_string(),
            map,
            buffer,
            schema,
            decoder,
            blocks,
        };
        for block in &dictionaries {
            let buf = file.block_buffer(block)?;
            file.decoder
                .read_dictionary(block, &buf)
                .map_err(|e| bad(format!("dictionary: {e}")))?;
        }
        Ok(file)
    }

    fn block_buffer(&self, block: &Block) -> Result<Buffer> {
        let start = usize::try_from(block.offset()).ok();
        let len = usize::try_from(block.metaDataLength() as i64 + block.bodyLength()).ok();
        match (start, len) {
            (Some(s), Some(l)) if s.checked_add(l).is_some_and(|e| e <= self.map.len()) => {
                Ok(self.buffer.slice_with_length(s, l))
            }
            _ => Err(Error::Other(format!(
                "{}: not a valid Arrow IPC file: a record batch lies outside the file (truncated?)",
                self.name
            ))),
        }
    }

    /// Number of record batches.
    pub fn batches(&self) -> usize {
        self.blocks.len()
    }

    /// Decodes record batch `i` (zero-copy where aligned).
    pub fn batch(&self, i: usize) -> Result<RecordBatch> {
        let block = &self.blocks[i];
        let buf = self.block_buffer(block)?;
        self.decoder
            .read_record_batch(block, &buf)
            .map_err(|e| {
                Error::Other(format!(
                    "{}: record batch {i} is unreadable: {e}",
                    self.name
                ))
            })?
            .ok_or_else(|| Error::Other(format!("{}: record batch {i} is empty", self.name)))
    }

    /// Tells the kernel that batch `i`'s pages will not be read again, so
    /// they leave this process's resident set (they stay in the page cache;
    /// a later read faults them back in from there).
    pub fn release(&self, i: usize) {
        let block = &self.blocks[i];
        let start = block.offset() as usize;
        let len = (block.metaDataLength() as i64 + block.bodyLength()) as usize;
        release_range(&self.map, start, len);
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

/// Drops `map[start..start + len]` from the resident set (whole pages only:
/// pages shared with a neighbour are dropped too, and simply fault back in).
pub fn release_range(map: &Mmap, start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    if start < map.len() {
        let len = len.min(map.len() - start);
        // SAFETY: the map is a read-only shared file mapping, so dropped
        // pages read back unchanged from the page cache on the next access.
        let _ =
            unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (map, start, len);
}

/// True when `head` (a file's first bytes) opens an Arrow IPC file.
pub fn is_ipc(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}
