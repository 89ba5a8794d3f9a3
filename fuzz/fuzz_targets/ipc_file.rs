//! Arrow IPC files as the store and `--input x.arrow` read them: any bytes
//! go through `IpcFile::from_bytes` (footer, schema, dictionaries), the
//! store's per-column checksums (`store::verify`: batch metadata) and
//! `read_everything` (every record batch decoded and validated, every
//! column viewed as the aggregates view it) and, as a store's dictionary
//! file, `store::dictionary::from_ipc`. Invariant: an error or a
//! result, never a panic, a crash or a hang, whatever the offsets, lengths,
//! dictionary ids, null buffers or nesting say.
//!
//! Seed the corpus with real partition files (`gen-*/part-*.arrow` of a
//! store) and the Arrow files under testdata/.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::source::ipc::{read_everything, IpcFile};

fuzz_target!(|data: &[u8]| {
    // the first byte picks a projection, as `run --store` reads some columns
    let (projection, bytes) = match data.split_first() {
        Some((&p, rest)) if p & 1 == 1 => (Some(vec![(p >> 1) as usize % 4]), rest),
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    if let Ok(file) = IpcFile::from_bytes(bytes, "fuzz", projection) {
        // where the store's per-column checksums look (batch metadata)
        let _ = rayproc::store::verify::checksums(file.bytes(), file.blocks(), &file.schema);
        let _ = read_everything(&file);
        // as a store's dictionary file (`store::dictionary`)
        let _ = rayproc::store::dictionary::from_ipc(&file);
    }
});
