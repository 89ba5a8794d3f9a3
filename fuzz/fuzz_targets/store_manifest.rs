//! The store manifest's parser: any bytes go through `Manifest::parse`
//! (JSON, format and version, the manifest's own checksum, the internal
//! consistency checks). Invariant: an error or a manifest, never a panic;
//! and a manifest that parses writes back (`to_text`) to text that parses
//! again, with the same counts. (Statistics are JSON numbers, which
//! serde_json need not read back to the last bit, so they are not compared.)

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rayproc::store::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data, Path::new("manifest.json")) {
        let text = m.to_text();
        let again = Manifest::parse(text.as_bytes(), Path::new("manifest.json"))
            .expect("a written manifest reads back");
        assert_eq!(again.rows, m.rows);
        assert_eq!(again.partitions.len(), m.partitions.len());
        assert_eq!(again.columns.len(), m.columns.len());
    }
});
