//! Where an Arrow IPC input's messages lie: its schema, its record
//! batches, and the dictionaries each batch is decoded with.
//!
//! The two IPC formats hold the same messages (each a continuation marker,
//! a metadata length, a flatbuffer `Message`, then its body) and differ in
//! how a reader finds them:
//!
//! - The **file format** (`ARROW1` at both ends, pyarrow's `ipc.new_file`,
//!   Feather v2) ends with a footer listing the schema and every
//!   dictionary's and record batch's block. Every batch is decoded with
//!   all the dictionaries: the format allows no replacement.
//! - The **stream format** (pyarrow's `ipc.new_stream`, Polars'
//!   `write_ipc_stream`, often `.arrows`) has no footer: the messages
//!   follow one another, the schema first, up to an end-of-stream marker.
//!   A dictionary may be *replaced* between record batches (pyarrow writes
//!   a new one whenever a chunk's dictionary differs), or extended by a
//!   delta, so a batch must be decoded with the dictionaries in force where
//!   it stands. The walk below therefore cuts the stream into *epochs*, a
//!   new one wherever dictionaries changed since the last batch, and names
//!   each batch's epoch; [`super::IpcFile`] keeps one decoder per epoch.
//!
//! Both produce the same [`Layout`], so every later step (random access to
//! any batch from any worker, projection, the guards on compressed buffers,
//! validation, releasing pages) is one code path. The walk checks every
//! length against the bytes before a message is parsed (flatbuffers'
//! verifier then checks the message itself); a stream that stops before its
//! end-of-stream marker is an error, not the rows it had so far: a writer
//! that died mid-way must not yield a short answer.

use std::collections::BTreeMap;

use arrow_ipc::reader::read_footer_length;
use arrow_ipc::{root_as_footer, root_as_message, Block, MessageHeader, MetadataVersion};
use arrow_schema::SchemaRef;

use super::{guarded, MAGIC};

/// Where a file's or stream's messages lie.
pub(super) struct Layout {
    pub schema: SchemaRef,
    pub version: MetadataVersion,
    /// The record batches' blocks, in order.
    pub batches: Vec<Block>,
    /// For each epoch, the dictionary blocks to read, in order (a delta
    /// after the dictionary it extends).
    pub epochs: Vec<Vec<Block>>,
    /// Each record batch's epoch (an index into `epochs`).
    pub epoch_of: Vec<usize>,
}

/// The continuation marker that opens every message of the current IPC
/// format (Arrow 0.15 on).
const CONTINUATION: u32 = u32::MAX;

/// Whether `head` opens an Arrow IPC stream: the continuation marker
/// (`FF FF FF FF`), the length of the first message's metadata (little
/// endian, padded to 8 bytes; 0 would end the stream), and the offset of
/// that flatbuffer's root table (4-aligned, within the metadata). Such
/// bytes are never text: `FF` is no byte of UTF-8, nor of Latin-1 text in
/// practice. (The stream format before Arrow 0.15 has no marker: see
/// [`may_be_legacy_stream`].)
pub fn is_stream(head: &[u8]) -> bool {
    let (Some(CONTINUATION), Some(len), Some(root)) = (word(head, 0), word(head, 4), word(head, 8))
    else {
        return false;
    };
    len >= 8 && len % 8 == 0 && len <= i32::MAX as u32 && root >= 4 && root % 4 == 0 && root < len
}

/// The most a legacy stream's first message (its schema) may claim: its
/// length's last byte is then zero, which no text's fourth byte is.
const LEGACY_SCHEMA_MAX: u32 = 1 << 24;

/// Whether `head` may open an Arrow IPC stream in the format before Arrow
/// 0.15 (what `pyarrow.ipc.IpcWriteOptions(use_legacy_format=True)` still
/// writes): no continuation marker, each message its metadata length and
/// then the flatbuffer, the stream ended by a zero length. Told by the
/// first message's length (at least 8, a multiple of 4, under
/// [`LEGACY_SCHEMA_MAX`]: its fourth byte is zero) and its root offset
/// (4-aligned, within the metadata), as [`is_stream`] tells the current
/// format. Eight bytes cannot tell it surely: [`is_legacy_stream`] reads
/// the message.
pub fn may_be_legacy_stream(head: &[u8]) -> bool {
    let (Some(len), Some(root)) = (word(head, 0), word(head, 4)) else {
        return false;
    };
    (8..LEGACY_SCHEMA_MAX).contains(&len)
        && len % 4 == 0
        && root >= 4
        && root % 4 == 0
        && root < len
}

/// Whether `bytes`, from an input's start, open a legacy Arrow IPC stream
/// ([`may_be_legacy_stream`]) whose first message verifies as a flatbuffer
/// `Message` holding a schema. Read as CSV, such a stream gave a count of
/// its binary lines with exit 0.
pub fn is_legacy_stream(bytes: &[u8]) -> bool {
    if !may_be_legacy_stream(bytes) {
        return false;
    }
    let len = word(bytes, 0).expect("a length") as usize;
    (bytes.get(4..4 + len).map(root_as_message))
        .is_some_and(|m| m.is_ok_and(|m| m.header_type() == MessageHeader::Schema))
}

/// The little-endian `u32` at `at`, if the bytes reach that far.
fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

/// Reads the file format's footer (`bytes` opens with [`MAGIC`] and is at
/// least [`super::MIN_LEN`] long).
pub(super) fn of_file(bytes: &[u8]) -> Result<Layout, String> {
    let len = bytes.len();
    let tail: [u8; 10] = bytes[len - 10..].try_into().expect("10 bytes");
    let footer_len = read_footer_length(tail).map_err(|e| e.to_string())?;
    if footer_len > len - 10 - MAGIC.len() {
        return Err("footer length out of range (truncated?)".into());
    }
    let footer = root_as_footer(&bytes[len - 10 - footer_len..len - 10])
        .map_err(|e| format!("unreadable footer: {e}"))?;
    let fb_schema = footer.schema().ok_or("footer without schema")?;
    if !fb_schema.endianness().equals_to_target_endianness() {
        return Err("written on a machine of the other endianness".into());
    }
    let footer_bytes = &bytes[len - 10 - footer_len..len - 10];
    let schema = convert(footer_bytes, fb_schema, |copy| {
        let footer = root_as_footer(copy).map_err(|e| format!("unreadable footer: {e}"))?;
        footer
            .schema()
            .ok_or_else(|| "footer without schema".into())
    })?;
    let batches: Vec<Block> = footer
        .recordBatches()
        .map(|b| b.iter().copied().collect())
        .unwrap_or_default();
    let dictionaries: Vec<Block> = footer
        .dictionaries()
        .map(|b| b.iter().copied().collect())
        .unwrap_or_default();
    Ok(Layout {
        schema: std::sync::Arc::new(schema),
        version: footer.version(),
        epoch_of: vec![0; batches.len()],
        batches,
        epochs: vec![dictionaries],
    })
}

/// `schema`, read from the flatbuffer `buf`, as an Arrow schema; its
/// 128-bit integer fields, which arrow-rs does not read, as
/// `FixedSizeBinary(16)`, a top-level one marked [`super::wide::WIDE_INT`]
/// and one holding some inside it [`super::wide::NESTED_WIDE_INT`]: read
/// from a copy of `buf` so rewritten, which `root` reads the schema from
/// again.
fn convert(
    buf: &[u8],
    schema: arrow_ipc::Schema<'_>,
    root: impl for<'b> Fn(&'b [u8]) -> Result<arrow_ipc::Schema<'b>, String>,
) -> Result<arrow_schema::Schema, String> {
    use super::wide::{as_fixed_bytes, wide_ints, NESTED_WIDE_INT, WIDE_INT};
    let wide = wide_ints(schema);
    if wide.is_empty() {
        return guarded(|| arrow_ipc::convert::try_fb_to_schema(schema));
    }
    let copy = as_fixed_bytes(buf, &wide);
    let rewritten = root(&copy)?;
    let converted = guarded(|| arrow_ipc::convert::try_fb_to_schema(rewritten))?;
    let mut fields: Vec<arrow_schema::Field> = converted
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for w in &wide {
        let field = &mut fields[w.column];
        let mut metadata = field.metadata().clone();
        if w.nested {
            metadata.insert(NESTED_WIDE_INT.to_string(), "true".to_string());
        } else {
            let sign = if w.signed { "signed" } else { "unsigned" };
            metadata.insert(WIDE_INT.to_string(), sign.to_string());
        }
        field.set_metadata(metadata);
    }
    Ok(arrow_schema::Schema::new_with_metadata(
        fields,
        converted.metadata().clone(),
    ))
}

/// Walks a stream's messages (`bytes` satisfies [`is_stream`] or
/// [`is_legacy_stream`]). A legacy stream's messages open with their
/// length alone, 4 bytes instead of 8; the blocks cut from it include that
/// prefix in their metadata, which arrow-ipc's decoder reads either way.
pub(super) fn of_stream(bytes: &[u8]) -> Result<Layout, String> {
    let legacy = word(bytes, 0) != Some(CONTINUATION);
    let prefix = if legacy { 4 } else { 8 };
    let mut schema: Option<(SchemaRef, MetadataVersion)> = None;
    let mut batches = Vec::new();
    let mut epoch_of = Vec::new();
    let mut epochs: Vec<Vec<Block>> = Vec::new();
    // the dictionaries in force, by id: the last one sent and its deltas
    let mut current: BTreeMap<i64, Vec<Block>> = BTreeMap::new();
    // whether `current` changed since the last epoch was cut
    let mut changed = true;
    let mut at = 0usize;
    loop {
        if at == bytes.len() {
            return Err("ends without the end-of-stream marker (truncated?)".into());
        }
        let (marker, meta_len) = if legacy {
            (Some(CONTINUATION), word(bytes, at))
        } else {
            (word(bytes, at), word(bytes, at + 4))
        };
        let (Some(marker), Some(meta_len)) = (marker, meta_len) else {
            return Err(format!(
                "cut short in the message at byte {at} (truncated?)"
            ));
        };
        if marker != CONTINUATION {
            return Err(format!(
                "no message at byte {at} (its continuation marker is missing)"
            ));
        }
        if meta_len == 0 {
            if at + prefix != bytes.len() {
                return Err(format!(
                    "{} bytes after the end-of-stream marker at byte {at}",
                    bytes.len().saturating_sub(at + prefix)
                ));
            }
            break;
        }
        let meta_len = meta_len as usize;
        let block_meta = meta_len
            .checked_add(prefix)
            .filter(|&m| m <= i32::MAX as usize)
            .ok_or_else(|| {
                format!("the message at byte {at} has a metadata length out of range")
            })?;
        let meta = bytes
            .get(at + prefix..at + block_meta)
            .ok_or_else(|| format!("cut short in the message at byte {at} (truncated?)"))?;
        let message =
            root_as_message(meta).map_err(|e| format!("unreadable message at byte {at}: {e}"))?;
        let body = usize::try_from(message.bodyLength())
            .ok()
            .and_then(|b| (at + block_meta).checked_add(b).map(|end| (b, end)))
            .filter(|&(_, end)| end <= bytes.len());
        let Some((body, end)) = body else {
            return Err(format!(
                "the body of the message at byte {at} lies past the end (truncated?)"
            ));
        };
        let block = Block::new(at as i64, block_meta as i32, body as i64);
        match message.header_type() {
            MessageHeader::Schema if at == 0 => {
                let fb_schema = message
                    .header_as_schema()
                    .ok_or("an empty schema message")?;
                if !fb_schema.endianness().equals_to_target_endianness() {
                    return Err("written on a machine of the other endianness".into());
                }
                let converted = convert(meta, fb_schema, |copy| {
                    let message = root_as_message(copy)
                        .map_err(|e| format!("unreadable message at byte {at}: {e}"))?;
                    message
                        .header_as_schema()
                        .ok_or_else(|| "an empty schema message".into())
                })?;
                schema = Some((std::sync::Arc::new(converted), message.version()));
            }
            MessageHeader::Schema => {
                return Err(format!("a second schema at byte {at}"));
            }
            _ if schema.is_none() => {
                return Err("does not open with its schema".into());
            }
            MessageHeader::DictionaryBatch => {
                let dictionary = message
                    .header_as_dictionary_batch()
                    .ok_or_else(|| format!("an empty dictionary message at byte {at}"))?;
                let id = dictionary.id();
                if dictionary.isDelta() {
                    current
                        .get_mut(&id)
                        .ok_or_else(|| {
                            format!(
                                "a delta at byte {at} for dictionary {id}, which was never sent"
                            )
                        })?
                        .push(block);
                } else {
                    current.insert(id, vec![block]);
                }
                changed = true;
            }
            MessageHeader::RecordBatch => {
                if changed {
                    epochs.push(current.values().flatten().copied().collect());
                    changed = false;
                }
                batches.push(block);
                epoch_of.push(epochs.len() - 1);
            }
            other => {
                return Err(format!(
                    "a message of type {other:?} at byte {at}, which is no table data"
                ));
            }
        }
        at = end;
    }
    let (schema, version) = schema.ok_or("does not open with its schema")?;
    Ok(Layout {
        schema,
        version,
        batches,
        epochs,
        epoch_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_told_by_its_marker_length_and_root() {
        let stream = [
            0xff, 0xff, 0xff, 0xff, 0x78, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(is_stream(&stream));
        // a length of 0 would be an empty stream's end, not a first message
        let mut ended = stream;
        ended[4] = 0;
        assert!(!is_stream(&ended));
        // a root outside the metadata, or not 4-aligned
        let mut root = stream;
        root[8] = 0x80;
        assert!(!is_stream(&root));
        root[8] = 0x11;
        assert!(!is_stream(&root));
        assert!(!is_stream(&stream[..10]));
        assert!(!is_stream(b"a,b\n1,2\n"));
    }

    #[test]
    fn a_stream_that_is_only_a_marker_is_refused_not_read_past() {
        for bytes in [
            &[0xffu8, 0xff, 0xff, 0xff][..],
            &[0xff, 0xff, 0xff, 0xff, 0x08, 0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff, 0xf8, 0xff, 0xff, 0x7f, 0, 0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            let e = of_stream(bytes).err().expect("no message");
            assert!(e.contains("truncated") || e.contains("out of range"), "{e}");
        }
    }
}
