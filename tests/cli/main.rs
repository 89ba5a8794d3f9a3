//! End-to-end tests of the `rayproc` command line, one contract sentence
//! each, a module per area of the contract.
//!
//! Expected values are worked out by hand (see the comments) or computed in
//! the test from the generated data, never taken from rayproc itself.
//!
//! They are one test binary, not a file each under `tests/`: cargo builds
//! every such file as a binary of its own, linked against the whole crate
//! (with thin LTO, in the release profile CI tests), so each file cost a
//! link of its own, and on a 2-core CI machine the links were most of the
//! tests' build time. A new contract area is a module here.

mod common;

mod aggregates;
mod approx;
mod datasets;
mod dialect;
mod errors;
mod exact;
mod faults;
mod inputs;
mod invariance;
mod keys;
mod mapreduce;
mod names;
mod nulls;
mod oracle;
mod output;
mod query_api;
mod simd_paths;
mod spectrum;
mod store;
mod store_codes;
mod stream;
mod typing;
mod where_buckets;
