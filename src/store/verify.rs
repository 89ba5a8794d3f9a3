//! Per-column checksums of a partition file: what `run --store` hashes is
//! what the query reads, not the whole file.
//!
//! Why: a query reads a few columns of a store (`mean:x` reads one of
//! eight), but a checksum of the whole file makes every query hash every
//! column of every partition, which cost more than the query itself
//! (issue 18). So from store format version 3 the manifest records, for
//! each partition,
//!
//! * a **frame** checksum over every byte of the file outside the record
//!   batches' bodies: the magic, the schema, each batch's metadata (row
//!   count, each column's length and null count, where each buffer lies),
//!   and the footer (where each batch lies). Every query checks it: it is
//!   small, and it decides which bytes each column's checksum covers;
//! * per column, a checksum over that column's buffers (validity, offsets,
//!   values), batch after batch, as the batch metadata places them. A query
//!   checks the columns it reads.
//!
//! A damaged column the query does not read therefore goes unnoticed by
//! that query (it never sees those bytes, so its answer cannot depend on
//! them); `inspect --verify` still checks the whole file and every column.
//! Bytes between buffers (alignment padding) are covered by neither and
//! never read. The whole-file checksum stays in the manifest for `inspect
//! --verify`.
//!
//! The layout is read from the file with flatbuffers' verifier, and every
//! range is checked against the file's length before it is hashed, so a
//! hostile file is an error here, never a crash; as before, checksums guard
//! against accidents, and the Arrow decoder validates every batch it decodes
//! whether or not they were checked.

use std::ops::Range;

use crate::xxh3::Xxh3;
use arrow_ipc::Block;
use arrow_schema::{DataType, Schema};

/// Where a partition file's checked bytes lie.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The record batches' bodies, in file order.
    pub bodies: Vec<Range<usize>>,
    /// Per column (schema order): its buffers, batch after batch; empty
    /// until [`Layout::read_buffers`].
    pub columns: Vec<Vec<Range<usize>>>,
}

/// `xxh3:` + 16 hex digits, as every store checksum is written.
pub fn show(hash: u64) -> String {
    format!("xxh3:{hash:016x}")
}

/// The number of buffers Arrow IPC lays out for a column of type `dt`, for
/// the types a store holds.
fn buffers_of(dt: &DataType) -> Option<usize> {
    match dt {
        DataType::Int64 | DataType::Float64 | DataType::UInt32 | DataType::Boolean => Some(2),
        DataType::Utf8 | DataType::Binary => Some(3),
        _ => None,
    }
}

/// A block's metadata and body, checked to lie in a file of `len` bytes.
fn block_ranges(block: &Block, len: usize) -> Option<(Range<usize>, Range<usize>)> {
    let start = usize::try_from(block.offset()).ok()?;
    let meta_len = usize::try_from(block.metaDataLength()).ok()?;
    let body_len = usize::try_from(block.bodyLength()).ok()?;
    let body_start = start.checked_add(meta_len)?;
    let body_end = body_start.checked_add(body_len).filter(|&e| e <= len)?;
    Some((start..body_start, body_start..body_end))
}

impl Layout {
    /// Where the record batches of the IPC file `bytes` lie, from its
    /// footer's `blocks` (which must follow each other without overlap, as
    /// every writer lays them out).
    pub fn read_bodies(bytes: &[u8], blocks: &[Block]) -> Result<Layout, String> {
        let mut bodies = Vec::with_capacity(blocks.len());
        let mut last_end = 0usize;
        for (b, block) in blocks.iter().enumerate() {
            let (meta, body) = block_ranges(block, bytes.len())
                .ok_or_else(|| format!("record batch {b} lies outside the file"))?;
            if meta.start < last_end {
                return Err(format!("record batch {b} overlaps the one before it"));
            }
            last_end = body.end;
            bodies.push(body);
        }
        Ok(Layout {
            bodies,
            columns: Vec::new(),
        })
    }

    /// The frame checksum: every byte of `bytes` outside the batch bodies.
    pub fn frame_hash(&self, bytes: &[u8]) -> u64 {
        let mut h = Xxh3::new();
        let mut at = 0;
        for body in &self.bodies {
            h.update(&bytes[at..body.start]);
            at = body.end;
        }
        h.update(&bytes[at..]);
        h.digest()
    }

    /// Reads where each column's buffers lie from each batch's metadata
    /// (read with flatbuffers' verifier; every range checked to lie in its
    /// batch's body). `blocks` are those [`Layout::read_bodies`] was given.
    pub fn read_buffers(
        &mut self,
        bytes: &[u8],
        blocks: &[Block],
        schema: &Schema,
    ) -> Result<(), String> {
        let per_column: Vec<usize> = schema
            .fields()
            .iter()
            .map(|f| {
                buffers_of(f.data_type()).ok_or_else(|| {
                    format!(
                        "column '{}' has Arrow type {}, which a store does not hold",
                        crate::error::show_name(f.name()),
                        f.data_type()
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let total: usize = per_column.iter().sum();
        let mut columns = vec![Vec::with_capacity(blocks.len() * 3); per_column.len()];
        for (b, (block, body)) in blocks.iter().zip(&self.bodies).enumerate() {
            let bad = |why: &str| format!("record batch {b}: {why}");
            let (meta, _) = block_ranges(block, bytes.len()).expect("checked by read_bodies");
            // an encapsulated message: [0xFFFFFFFF] length, flatbuffer
            let fb = match &bytes[meta] {
                [0xff, 0xff, 0xff, 0xff, _, _, _, _, rest @ ..] => rest,
                [_, _, _, _, rest @ ..] => rest,
                _ => return Err(bad("metadata too short")),
            };
            let message = arrow_ipc::root_as_message(fb)
                .map_err(|e| bad(&format!("unreadable metadata: {e}")))?;
            let batch = message
                .header_as_record_batch()
                .ok_or_else(|| bad("is not a record batch"))?;
            let buffers = batch.buffers().ok_or_else(|| bad("lists no buffers"))?;
            if buffers.len() != total {
                return Err(bad(&format!(
                    "lists {} buffers, its schema has {total}",
                    buffers.len()
                )));
            }
            let mut at = buffers.iter();
            for (c, &n) in per_column.iter().enumerate() {
                for _ in 0..n {
                    let buf = at.next().expect("counted above");
                    let range = usize::try_from(buf.offset())
                        .ok()
                        .zip(usize::try_from(buf.length()).ok())
                        .and_then(|(o, l)| {
                            let s = body.start.checked_add(o)?;
                            Some(s..s.checked_add(l)?)
                        })
                        .filter(|r| r.start <= body.end && r.end <= body.end)
                        .ok_or_else(|| bad("a buffer lies outside the batch's body"))?;
                    columns[c].push(range);
                }
            }
        }
        self.columns = columns;
        Ok(())
    }

    /// Adds column `c`'s buffers in record batch `b` to `h` (hashing every
    /// batch in order gives [`Layout::column_hash`]).
    pub fn hash_batch(&self, bytes: &[u8], c: usize, b: usize, h: &mut Xxh3) {
        let per = self.columns[c].len() / self.bodies.len().max(1);
        for r in &self.columns[c][b * per..(b + 1) * per] {
            h.update(&bytes[r.clone()]);
        }
    }

    /// Column `c`'s checksum; `done(range)` is told each range once hashed.
    pub fn column_hash(&self, bytes: &[u8], c: usize, mut done: impl FnMut(&Range<usize>)) -> u64 {
        let mut h = Xxh3::new();
        for r in &self.columns[c] {
            h.update(&bytes[r.clone()]);
            done(r);
        }
        h.digest()
    }
}

/// The frame checksum and every column's, for the IPC file `bytes` whose
/// footer lists `blocks` (what `split` records).
pub fn checksums(
    bytes: &[u8],
    blocks: &[Block],
    schema: &Schema,
) -> Result<(String, Vec<String>), String> {
    let mut layout = Layout::read_bodies(bytes, blocks)?;
    layout.read_buffers(bytes, blocks, schema)?;
    let columns = (0..layout.columns.len())
        .map(|c| show(layout.column_hash(bytes, c, |_| {})))
        .collect();
    Ok((show(layout.frame_hash(bytes)), columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_ipc::writer::FileWriter;
    use arrow_schema::Field;

    use crate::source::ipc::IpcFile;

    /// Two batches of an integer, a text and a float column, nulls in each.
    fn file() -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("t", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let mut w = FileWriter::try_new(Vec::new(), &schema).unwrap();
        for b in 0..2i64 {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(vec![Some(b), None, Some(7)])),
                Arc::new(StringArray::from(vec![Some("a"), Some("bc"), None])),
                Arc::new(Float64Array::from(vec![None, Some(0.5), Some(b as f64)])),
            ];
            w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
                .unwrap();
        }
        w.into_inner().unwrap()
    }

    fn sums(bytes: &[u8]) -> Result<(String, Vec<String>), String> {
        let ipc = IpcFile::from_bytes(bytes, "f", None).unwrap();
        checksums(bytes, ipc.blocks(), &ipc.schema)
    }

    #[test]
    fn each_column_has_its_buffers() {
        let bytes = file();
        let ipc = IpcFile::from_bytes(&bytes, "f", None).unwrap();
        let mut layout = Layout::read_bodies(&bytes, ipc.blocks()).unwrap();
        layout
            .read_buffers(&bytes, ipc.blocks(), &ipc.schema)
            .unwrap();
        assert_eq!(layout.bodies.len(), 2);
        let counts: Vec<usize> = layout.columns.iter().map(Vec::len).collect();
        assert_eq!(counts, [4, 6, 4], "validity + values, + offsets for text");
        for (c, ranges) in layout.columns.iter().enumerate() {
            for (k, r) in ranges.iter().enumerate() {
                let body = &layout.bodies[k / (ranges.len() / 2)];
                assert!(body.start <= r.start && r.end <= body.end, "column {c}");
            }
        }
    }

    #[test]
    fn damage_changes_only_the_checksum_that_covers_it() {
        let bytes = file();
        let (frame, columns) = sums(&bytes).unwrap();
        let ipc = IpcFile::from_bytes(&bytes, "f", None).unwrap();
        let mut layout = Layout::read_bodies(&bytes, ipc.blocks()).unwrap();
        layout
            .read_buffers(&bytes, ipc.blocks(), &ipc.schema)
            .unwrap();
        // the second batch's float values
        let r = layout.columns[2][3].clone();
        let mut damaged = bytes.clone();
        damaged[r.start] ^= 1;
        let (f2, c2) = sums(&damaged).unwrap();
        assert_eq!(f2, frame);
        assert_eq!(c2[..2], columns[..2]);
        assert_ne!(c2[2], columns[2]);
        // a byte of the first batch's metadata: the frame's
        let mut damaged = bytes.clone();
        damaged[layout.bodies[0].start - 1] ^= 1;
        let ipc = IpcFile::from_bytes(&damaged, "f", None).unwrap();
        let l2 = Layout::read_bodies(&damaged, ipc.blocks()).unwrap();
        assert_ne!(show(l2.frame_hash(&damaged)), frame);
    }

    #[test]
    fn hostile_layouts_are_errors() {
        let bytes = file();
        let ipc = IpcFile::from_bytes(&bytes, "f", None).unwrap();
        let blocks = ipc.blocks();
        let mut far = blocks.to_vec();
        far[1] = Block::new(bytes.len() as i64, 8, 8);
        let err = Layout::read_bodies(&bytes, &far).unwrap_err();
        assert!(err.contains("outside the file"), "{err}");
        let mut negative = blocks.to_vec();
        negative[0] = Block::new(-8, 8, 8);
        assert!(Layout::read_bodies(&bytes, &negative).is_err());
        let swapped = [blocks[1], blocks[0]];
        let err = Layout::read_bodies(&bytes, &swapped).unwrap_err();
        assert!(err.contains("overlaps"), "{err}");
        // a schema that says one column fewer: the buffer count disagrees
        let mut layout = Layout::read_bodies(&bytes, blocks).unwrap();
        let fewer = Schema::new(ipc.schema.fields()[..2].to_vec());
        let err = layout.read_buffers(&bytes, blocks, &fewer).unwrap_err();
        assert!(err.contains("buffers"), "{err}");
        let other = Schema::new(vec![Field::new("d", DataType::Date32, true)]);
        let err = layout.read_buffers(&bytes, blocks, &other).unwrap_err();
        assert!(err.contains("does not hold"), "{err}");
        // metadata that is not a flatbuffer
        let mut junk = bytes.clone();
        let meta = blocks[0].offset() as usize;
        for b in &mut junk[meta + 8..meta + 24] {
            *b = 0xee;
        }
        let err = layout.read_buffers(&junk, blocks, &ipc.schema).unwrap_err();
        assert!(err.starts_with("record batch 0"), "{err}");
    }
}
