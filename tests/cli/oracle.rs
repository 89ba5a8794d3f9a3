//! The differential oracles of `tests/oracle`: random inputs and queries,
//! each answered by the binary and by a Python oracle written from the
//! contract in README.md (exact rational arithmetic for sums, means,
//! variances and quantiles; SQL's three-valued logic for `--where`;
//! `datetime` for time buckets; RFC 4180 quoting for the dialects).
//!
//! Why Python: the oracle must not share code with what it checks, and
//! `fractions`, `decimal`, `datetime` and `csv` are an independent,
//! well-known reference. Only the standard library is used, so `python3`
//! on the PATH is all these tests need (the cluster test needs it too).
//! The cases are made from fixed seeds: the same on every machine, and a
//! failure prints its seed and command (`tests/oracle/run.py` replays it).

use std::path::Path;
use std::process::Command;

use crate::common::bin_path;

/// Runs `tests/oracle/run.py SUITE` against the built binary.
fn oracle(suite: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/run.py");
    let out = Command::new("python3")
        .arg("-B") // no __pycache__ in the source tree
        .arg(&script)
        .arg(suite)
        .arg("--rayproc")
        .arg(bin_path())
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("the oracle tests need python3 (3.9 or newer) on the PATH: {e}")
        });
    assert!(
        out.status.success(),
        "oracle {suite} disagrees with rayproc:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_aggregate_matches_the_exact_oracle() {
    // three cases of 150,000 rows in tens of thousands of groups: past
    // the radix group-by's threshold of groups per worker
    oracle("aggregates", &["--cases", "200", "--big", "3"]);
}

#[test]
fn where_follows_three_valued_logic() {
    oracle("where", &["--cases", "1500"]);
}

#[test]
fn time_buckets_match_datetime() {
    oracle("buckets", &["--cases", "300"]);
}

#[test]
fn quoted_fields_and_delimiters_match_rfc_4180() {
    oracle("dialect", &["--cases", "300"]);
}
