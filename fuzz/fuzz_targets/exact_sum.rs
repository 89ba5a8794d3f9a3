//! Exact sums.
//!
//! The input is a sequence of `f64` (8 little-endian bytes each; a short
//! tail is ignored). `ExactSum::round` must equal, bit for bit:
//! - `reference::fsum` (Shewchuk / `math.fsum`) when every value is finite
//!   and `fsum` does not overflow internally; where it does, `fsum` of the
//!   values scaled by 2^-k (k = 1..=8, only when the scaling is exact) times
//!   2^k, which is the same correctly rounded result, overflow included;
//!   with none of those finite the comparison is skipped;
//! - the IEEE special value (NaN for any NaN or for both infinities, else
//!   the infinity) when some value is not finite;
//! - itself for any order of the values and any split into two partial sums
//!   merged either way round (NaN compares as NaN);
//! - itself when added many at a time (`add_many`, per-exponent bins), with
//!   the same exact value, and the same exact sum of squares as `add_square`.
//! `round_div(n)` (a mean) is `round` for n = 1, and for n = 2 half of it
//! wherever halving is exact (a finite normal sum of at least 2^-1021:
//! rounding commutes with scaling by 2 there).
//! The same bytes read as `i64` and added with `add_integer` must round to
//! the exact `i128` sum converted to `f64` (round to nearest, ties to even).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::exact::{reference::fsum, ExactSum};

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn sum(values: &[f64]) -> ExactSum {
    let mut s = ExactSum::new();
    for &v in values {
        s.add(v);
    }
    s
}

/// The correctly rounded sum of finite values by `fsum`, if it can tell.
fn reference(values: &[f64]) -> Option<f64> {
    let direct = fsum(values);
    if direct.is_finite() {
        return Some(direct);
    }
    // `fsum` overflowed internally: sum the values scaled down by a power of
    // two, if that is exact, and scale back (rounding commutes with the
    // scaling, overflow to infinity included; tiny results are exact).
    for k in 1..=8 {
        let down = 0.5f64.powi(k);
        let up = 2.0f64.powi(k);
        let scaled: Vec<f64> = values.iter().map(|&v| v * down).collect();
        if scaled.iter().zip(values).any(|(&s, &v)| s * up != v) {
            return None; // inexact for k, so for every larger k too
        }
        let r = fsum(&scaled);
        if r.is_finite() {
            return Some(r * up);
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let values: Vec<f64> = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let whole = sum(&values).round();
    let acc = sum(&values);
    assert!(same(acc.round_div(1), whole), "round_div(1) of {values:?}");
    if whole.is_finite() && whole.abs() >= 2f64.powi(-1021) {
        assert!(same(acc.round_div(2), whole / 2.0), "round_div(2) of {values:?}");
    }

    if values.iter().all(|v| v.is_finite()) {
        if let Some(r) = reference(&values) {
            assert!(
                same(whole, r),
                "ExactSum {whole:e} ({:#x}) vs fsum {r:e} ({:#x}) for {values:?}",
                whole.to_bits(),
                r.to_bits()
            );
        }
    } else {
        let nan = values.iter().any(|v| v.is_nan());
        let pos = values.contains(&f64::INFINITY);
        let neg = values.contains(&f64::NEG_INFINITY);
        let expected = if nan || (pos && neg) {
            f64::NAN
        } else if pos {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        };
        assert!(
            same(whole, expected),
            "ExactSum {whole} vs {expected} for {values:?}"
        );
        assert!(
            same(fsum(&values), expected),
            "fsum vs {expected} for {values:?}"
        );
    }

    // many at a time: the same accumulator, squares included
    let plain = sum(&values);
    let mut binned = ExactSum::new();
    binned.add_many(|b| values.iter().for_each(|&v| b.add(v)));
    assert!(same(binned.round(), whole), "add_many for {values:?}");
    assert_eq!(
        binned.to_bigint(),
        plain.to_bigint(),
        "add_many for {values:?}"
    );
    let mut squares = ExactSum::new();
    values.iter().for_each(|&v| squares.add_square(v));
    let (mut binned, mut binned_squares) = (ExactSum::new(), ExactSum::new());
    binned.add_many_with_squares(&mut binned_squares, |b| {
        values.iter().for_each(|&v| b.add(v))
    });
    assert_eq!(
        binned.to_bigint(),
        plain.to_bigint(),
        "add_many_with_squares for {values:?}"
    );
    assert_eq!(
        binned_squares.to_bigint(),
        squares.to_bigint(),
        "squares for {values:?}"
    );
    assert!(
        binned_squares.special().map(f64::to_bits) == squares.special().map(f64::to_bits),
        "special squares for {values:?}"
    );

    // order and partitioning never matter
    let mut reversed = values.clone();
    reversed.reverse();
    assert!(
        same(sum(&reversed).round(), whole),
        "reversed order for {values:?}"
    );
    let k = if values.is_empty() {
        0
    } else {
        data.iter()
            .fold(0usize, |a, &b| a.wrapping_mul(31).wrapping_add(b as usize))
            % (values.len() + 1)
    };
    let (left, right) = values.split_at(k);
    let mut a = sum(left);
    a.merge(&sum(right));
    assert!(same(a.round(), whole), "merge at {k} for {values:?}");
    let mut b = sum(right);
    b.merge(&sum(left));
    assert!(
        same(b.round(), whole),
        "merge (swapped) at {k} for {values:?}"
    );
    let mut c = ExactSum::new();
    c.merge(&a);
    c.merge(&ExactSum::new());
    assert!(
        same(c.round(), whole),
        "merge into an empty sum for {values:?}"
    );

    // integers
    let ints: Vec<i64> = data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut s = ExactSum::new();
    let mut exact: i128 = 0;
    for &v in &ints {
        s.add_integer(v as i128);
        exact += v as i128;
    }
    assert!(
        same(s.round(), exact as f64),
        "add_integer: {} vs {} for {ints:?}",
        s.round(),
        exact as f64
    );
    let mut t = ExactSum::new();
    t.add_integer(exact);
    assert!(same(t.round(), exact as f64), "add_integer({exact})");
});
