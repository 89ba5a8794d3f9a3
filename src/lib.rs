//! # rayproc
//!
//! Exact, parallel aggregations over big CSV files, in the split / map /
//! reduce shape of Ray's `put` / `remote` / `get`, done natively:
//!
//! 1. **split** ([`source::split`]): each memory-mapped input is cut into
//!    byte ranges that start and end on record boundaries, quotes included;
//! 2. **map** ([`exec`]): every partition is a task, run on a rayon pool
//!    ([`source::csv_run`] makes them of CSV inputs, [`source::typed`] of
//!    Parquet and Arrow IPC files, [`store`] of its partition files); a
//!    task is parsed ([`source::csv`]) or decoded into typed
//!    [`batch::Batch`]es that feed the mergeable aggregate states
//!    ([`agg::AggState`]) of the worker thread running it;
//! 3. **reduce** ([`partial`]): the per-worker partial states are merged and
//!    finished into a [`partial::Table`], which [`output`] writes.
//!
//! Every partial state is exact (integer sums, superaccumulators for float
//! sums and variances, full value sets for quantiles and distinct counts), so
//! the output never depends on the partition or thread count.
//!
//! [`query`] is the entry point: a [`query::Query`] (inputs, aggregates,
//! keys, settings) in, a [`table::Table`] out, with no command line
//! involved; the `rayproc` binary is a thin layer of flags over it
//! ([`cli`]).
//!
//! ```no_run
//! use rayproc::query::{self, Query, Source};
//! use rayproc::spec::{parse_columns, parse_specs};
//! let mut q = Query::new(
//!     Source::Files(vec!["data.csv".into()]),
//!     parse_specs(&["count,mean:price"])?,
//! );
//! q.by = parse_columns(&["city"], "by")?;
//! q.threads = Some(2);
//! let table = query::run(&q)?;
//! println!("{:?}", table.to_rows());
//! # Ok::<(), rayproc::error::Error>(())
//! ```

// The library's documentation is for rayproc's developers, who read it with
// `cargo doc --document-private-items`, where links to private items
// resolve. Without this, those links were thirty-odd warnings of every
// `cargo doc`, and the broken links among them went unseen.
#![allow(rustdoc::private_intra_doc_links)]
// stderr is written through `say!` (below), never `eprintln!`, outside tests
#![cfg_attr(not(test), deny(clippy::print_stderr))]

/// `eprintln!` for the binary's own lines (errors, notes, progress): a
/// stderr that cannot be written (closed, `2>/dev/full`, a pipe whose
/// reader left) is ignored, where `eprintln!` panics (exit 101). The exit
/// code is the run's own either way ([`error::to_stderr`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::error::to_stderr(format_args!($($arg)*))
    };
}

pub mod agg;
pub mod alloc;
pub mod batch;
pub mod cli;
pub mod cpu;
pub mod dict;
pub mod error;
pub mod exact;
pub mod exec;
pub mod filter;
pub mod flock;
mod hint;
pub mod keyset;
pub mod mapreduce;
pub mod number;
pub mod output;
pub mod partial;
pub mod phases;
pub mod pipe;
pub mod plan;
pub mod progress;
pub mod query;
pub mod rows;
pub mod signals;
pub mod source;
pub mod spec;
pub mod store;
pub mod table;
pub mod timebucket;
pub mod value;
pub mod wire;
pub mod xxh3;

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// Steps a xorshift64 generator and returns its new state: cheap,
    /// deterministic pseudo-random test data (`state` must not be 0).
    pub fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// The path of a file in `testdata/`.
    pub fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name)
    }
}
