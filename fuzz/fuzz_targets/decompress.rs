//! gzip and zstd decoding (`rayproc::source::decompress`), fed any bytes:
//! the decoder never panics and never loops; damaged input is an `Err`,
//! not a crash. Output is capped so that a small bomb cannot exhaust
//! memory here (the real reader streams it in bounded memory).

#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use rayproc::source::decompress::{decoder, sniff, Compression};

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    for compression in [Compression::Gzip, Compression::Zstd] {
        let mut reader = decoder(compression, data, "fuzz.gz").take(16 << 20);
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out);
    }
});
