//! Partial files from untrusted bytes: the envelope `rayproc reduce` reads
//! first (magic, version, JSON header, lengths, checksum; see
//! docs/partials.md). Reading must never panic nor allocate beyond a
//! constant times the input; what it accepts writes back to a file that
//! reads back to the same header and body, and the header agrees with
//! itself. (The body has its own target, `partial`.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::mapreduce::PartialFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = PartialFile::from_bytes(data) else {
        return;
    };
    assert_eq!(file.header.mismatch(&file.header), None);
    let _ = file.header.fingerprint();
    let again = PartialFile::from_bytes(&file.to_bytes()).expect("reads what it wrote");
    assert_eq!(again.header, file.header);
    assert_eq!(again.body, file.body);
});
