//! Parquet files as `run --input x.parquet` reads them: any bytes are
//! written to a file (the reader opens its input by path, once for the
//! footer and once per partition), opened by `ParquetInput::open` (footer,
//! schema, row groups) and read by `source::parquet::read_everything`
//! (every row group and column decoded, every column viewed as the
//! aggregates view it). Invariant: an error or a result, never a panic, a
//! crash or a hang, whatever the footer, page headers, encodings,
//! compressed pages or levels say.
//!
//! Seed the corpus with Parquet files written by pyarrow, DuckDB and
//! `rayproc run --format parquet` (small: the mutations reach further).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rayproc::source::parquet::{read_everything, ParquetInput};

fuzz_target!(|data: &[u8]| {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("rayproc-fuzz-{}.parquet", std::process::id()))
    });
    std::fs::write(path, data).expect("write the input");
    if let Ok(input) = ParquetInput::open(path) {
        let _ = read_everything(&input);
    }
});
