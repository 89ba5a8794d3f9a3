//! # rayproc
//!
//! Exact, parallel aggregations over big CSV files, in the split / map /
//! reduce shape of Ray's `put` / `remote` / `get`, done natively:
//!
//! 1. **split** ([`source::split`]): each memory-mapped input is cut into
//!    byte ranges that start and end on record boundaries, quotes included;
//! 2. **map** ([`exec`]): every partition is parsed ([`source::csv`]) into
//!    typed [`batch::Batch`]es that feed mergeable aggregate states
//!    ([`agg::AggState`]), on a rayon pool;
//! 3. **reduce** ([`partial`]): the partial states are merged in partition
//!    order and finished into a [`partial::Table`], which [`output`] writes.
//!
//! Every partial state is exact (integer sums, superaccumulators for float
//! sums and variances, full value sets for quantiles and distinct counts), so
//! the output never depends on the partition or thread count.
//!
//! ```no_run
//! use rayproc::{exec, plan::Plan, source::CsvInput, spec::parse_specs};
//! let input = CsvInput::open("data.csv".as_ref(), b',')?;
//! let plan = Plan::new(&input.header, &parse_specs(&["mean:price"])?, &[])?;
//! let opts = exec::ExecOptions { partitions: None, threads: 2, delimiter: b',', progress: false };
//! let table = exec::run(&plan, &[input], &opts)?;
//! println!("{:?}", table.to_rows());
//! # Ok::<(), rayproc::error::Error>(())
//! ```

pub mod agg;
pub mod alloc;
pub mod batch;
pub mod cli;
pub mod decimal;
pub mod error;
pub mod exact;
pub mod exec;
pub mod filter;
mod hint;
pub mod keyset;
pub mod output;
pub mod partial;
pub mod plan;
pub mod progress;
pub mod signals;
pub mod source;
pub mod spec;
pub mod store;
pub mod table;
pub mod timebucket;
pub mod value;

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
}
