//! Compressed record batches: the sizes they claim, checked before Arrow
//! decompresses them.
//!
//! An IPC file may compress each buffer of a record batch (LZ4 frame, what
//! pyarrow's Feather v2 and pandas' `to_feather` write by default, or
//! zstd). Each compressed buffer starts with the length it claims to
//! decompress to, and arrow-ipc allocates that length before it
//! decompresses a byte: a crafted file of a kilobyte that claims exabytes
//! would abort the process on the allocation (`capacity overflow`, or the
//! allocator's failure), a crash rather than an error. So before a batch
//! is decoded, its buffers' claims are read here and their sum bounded:
//! at most [`RATIO`] times the batch's body, or [`FLOOR`] bytes, whichever
//! is more. Arrow then checks that each buffer decompresses to exactly
//! what it claimed, and validates the arrays as for any file.
//!
//! The bound is generous for real data (pyarrow writes batches of 64Ki
//! rows; LZ4 cannot compress by more than about 255 to 1) and refuses only
//! a batch that would decompress to more than 256 MiB at more than 1,024
//! to 1, with a message saying so. A claim within the bound that the data
//! does not honour costs address space, not memory: the allocation is
//! never touched beyond what really decompresses.

use arrow_ipc::Block;

/// The continuation marker that opens a message in current IPC files.
const CONTINUATION: [u8; 4] = [0xff; 4];
/// Bytes a batch may decompress to per byte of its body...
pub(super) const RATIO: u64 = 1024;
/// ...or this many, whichever is more.
pub(super) const FLOOR: u64 = 256 << 20;

/// What a compressed batch claims, when it claims too much: the sum of
/// its buffers' uncompressed lengths and the most rayproc reads.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TooLarge {
    pub claimed: u64,
    pub most: u64,
}

/// Checks the uncompressed lengths the buffers of the record batch (or
/// dictionary batch) in `block` claim, `buf` being the block's bytes
/// (metadata, then body). The message is read from the same bytes, by the
/// same function, as arrow-ipc reads it (`reader::parse_message`), so one
/// that cannot be read here cannot be there either, and passes: the
/// decoder reports it; so does a message that is not compressed.
pub(super) fn check_claims(block: &Block, buf: &[u8]) -> Result<(), TooLarge> {
    let Ok(meta_len) = usize::try_from(block.metaDataLength()) else {
        return Ok(());
    };
    let Some(body) = buf.get(meta_len..) else {
        return Ok(());
    };
    // the message as arrow-ipc reads it: from past its length to the end of
    // the block, body included (a message whose tables lie past the
    // metadata's length is read so), or a claim unseen here would reach it
    let flatbuffer = match buf {
        [m0, m1, m2, m3, _, _, _, _, rest @ ..] if [*m0, *m1, *m2, *m3] == CONTINUATION => rest,
        [_, _, _, _, rest @ ..] => rest,
        _ => return Ok(()),
    };
    let Ok(message) = arrow_ipc::root_as_message(flatbuffer) else {
        return Ok(());
    };
    let batch = match message.header_as_record_batch() {
        Some(batch) => batch,
        None => match message.header_as_dictionary_batch().and_then(|d| d.data()) {
            Some(batch) => batch,
            None => return Ok(()),
        },
    };
    if batch.compression().is_none() {
        return Ok(());
    }
    let most = (body.len() as u64).saturating_mul(RATIO).max(FLOOR);
    let mut claimed = 0u64;
    for b in batch.buffers().iter().flatten() {
        let start = usize::try_from(b.offset()).ok();
        let prefix = start.and_then(|s| body.get(s..s.checked_add(8)?));
        // an empty buffer has no prefix; one outside the body, or too
        // short for its prefix, is the decoder's to refuse
        if b.length() < 8 {
            continue;
        }
        let Some(prefix) = prefix else { continue };
        let length = i64::from_le_bytes(prefix.try_into().expect("8 bytes"));
        // -1: stored uncompressed; other negatives: the decoder refuses
        if length > 0 {
            claimed = claimed.saturating_add(length as u64);
        }
    }
    if claimed > most {
        return Err(TooLarge { claimed, most });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{read_everything, IpcFile};
    use super::*;

    const PLAIN: &[u8] = include_bytes!("../../../testdata/batches_plain.arrow");
    const LZ4: &[u8] = include_bytes!("../../../testdata/batches_lz4.arrow");
    const ZSTD: &[u8] = include_bytes!("../../../testdata/batches_zstd.arrow");

    /// Where in `bytes` the uncompressed-length prefix of each buffer of
    /// record batch `i` lies, with the length it holds.
    fn prefixes(bytes: &[u8], i: usize) -> Vec<(usize, i64)> {
        let file = IpcFile::from_bytes(bytes, "t.arrow", None).expect("the footer");
        let block = file.blocks()[i];
        let meta_at = block.offset() as usize;
        let body_at = meta_at + block.metaDataLength() as usize;
        let meta = &bytes[meta_at + 8..body_at];
        let message = arrow_ipc::root_as_message(meta).expect("a message");
        let batch = message.header_as_record_batch().expect("a record batch");
        assert!(batch.compression().is_some(), "a compressed batch");
        (batch.buffers().iter().flatten())
            .filter(|b| b.length() >= 8)
            .map(|b| {
                let at = body_at + b.offset() as usize;
                let claim = i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
                (at, claim)
            })
            .collect()
    }

    fn with_claim(bytes: &[u8], at: usize, claim: i64) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        bytes[at..at + 8].copy_from_slice(&claim.to_le_bytes());
        bytes
    }

    /// pyarrow's LZ4-frame and zstd files (three batches of 200 rows: an
    /// integer column with nulls, a float, a text and a dictionary column)
    /// read as the same file written uncompressed: every row, every value.
    #[test]
    fn compressed_files_read_as_their_uncompressed_twin() {
        let read = |bytes: &[u8]| {
            let file = IpcFile::from_bytes(bytes, "t.arrow", None).expect("the footer");
            assert_eq!(file.batches(), 3);
            read_everything(&file).expect("readable")
        };
        let plain = read(PLAIN);
        assert_eq!(plain.0, 600);
        assert_eq!(read(LZ4), plain, "LZ4 frame");
        assert_eq!(read(ZSTD), plain, "zstd");
    }

    /// A buffer claiming to decompress to exabytes (or anything past the
    /// bound) is refused before Arrow allocates the claim, which aborted
    /// the process; within the bound, a claim the data does not honour is
    /// the decoder's error. Either way an error, for every buffer.
    #[test]
    fn claims_past_the_bound_or_untrue_are_errors_not_aborts() {
        for bytes in [LZ4, ZSTD] {
            let claims = prefixes(bytes, 1);
            assert!(claims.len() >= 4, "{claims:?}");
            for &(at, claim) in &claims {
                if claim == -1 {
                    continue; // stored uncompressed
                }
                assert!(claim > 0, "{claims:?}");
                for (lie, refused_here) in [
                    (i64::MAX, true),
                    (1 << 62, true),
                    (FLOOR as i64 + 1, true),
                    (claim + 1, false),
                    (claim - 1, false),
                ] {
                    let bad = with_claim(bytes, at, lie);
                    let file = IpcFile::from_bytes(&bad, "t.arrow", None).expect("the footer");
                    let e = file.batch(1).expect_err("a false claim").to_string();
                    assert_eq!(e.contains("compressed buffers claim"), refused_here, "{e}");
                    assert!(e.starts_with("t.arrow: "), "{e}");
                    assert!(read_everything(&file).is_err());
                    // the other batches are untouched
                    assert!(file.batch(0).is_ok() && file.batch(2).is_ok());
                }
            }
        }
    }

    /// The bound: a batch may decompress to RATIO times its body or FLOOR
    /// bytes, whichever is more; an uncompressed or unreadable message
    /// passes (the decoder reports it).
    #[test]
    fn the_bound_is_the_larger_of_the_ratio_and_the_floor() {
        let file = IpcFile::from_bytes(PLAIN, "t.arrow", None).expect("the footer");
        let block = file.blocks()[0];
        let at = block.offset() as usize;
        let len = (block.metaDataLength() as i64 + block.bodyLength()) as usize;
        assert_eq!(check_claims(&block, &PLAIN[at..at + len]), Ok(()));
        assert_eq!(check_claims(&block, &[]), Ok(()));
        assert_eq!(check_claims(&block, &[0xff; 64]), Ok(()));

        let (at, _) = prefixes(LZ4, 0)[0];
        let block = IpcFile::from_bytes(LZ4, "t.arrow", None).unwrap().blocks()[0];
        let start = block.offset() as usize;
        let len = (block.metaDataLength() as i64 + block.bodyLength()) as usize;
        let body = block.bodyLength() as u64;
        let claims: i64 = prefixes(LZ4, 0).iter().map(|c| c.1.max(0)).sum();
        // the other claims plus this one's new value, just at and past FLOOR
        let first = prefixes(LZ4, 0)[0].1.max(0);
        let others = claims - first;
        for (total, ok) in [(FLOOR, true), (FLOOR + 1, false)] {
            let bad = with_claim(LZ4, at, total as i64 - others);
            let got = check_claims(&block, &bad[start..start + len]);
            let expected = if ok {
                Ok(())
            } else {
                Err(TooLarge {
                    claimed: total,
                    most: FLOOR.max(body * RATIO),
                })
            };
            assert_eq!(got, expected);
        }
    }
}

#[cfg(test)]
mod fuzzed {
    use super::super::{read_everything, IpcFile};

    /// Found by the `ipc_file` fuzz target within a minute of compressed
    /// files being read: batch 1's message has tables past its metadata's
    /// length, which arrow-ipc reads (it parses to the end of the block)
    /// and the first version of the check did not (it parsed only the
    /// metadata, failed, and let the batch pass), so a buffer claiming
    /// 0x1900_0000_0000 bytes reached Arrow's allocation: an abort.
    #[test]
    fn a_message_read_past_its_metadata_is_checked_as_arrow_reads_it() {
        let bytes = include_bytes!("../../../testdata/claims_past_metadata.arrow");
        let file = IpcFile::from_bytes(bytes, "t.arrow", None).expect("the footer");
        let e = read_everything(&file).expect_err("a claim of 27 TB");
        assert!(e.to_string().contains("compressed buffers claim"), "{e}");
    }
}
