//! `median` and `pNN`: exact quantiles with linear interpolation between the
//! closest ranks (numpy's default method, DuckDB's `quantile_cont`).
//!
//! Exactness needs every value, so the state keeps them all: memory grows
//! with the number of non-null values (8 bytes each). Integers are kept as
//! integers (an `f64` cannot hold every `i64`), floats as floats.
//!
//! "Exact" covers the interpolation too: the fraction is the percentile as
//! written (`p99` is 99/100, `p99.9` is 999/1000, not the doubles nearest
//! them), the rank and the weight `t` are found in integer arithmetic, and
//! `a + (b - a) · t` is evaluated in big integers and rounded once. A float
//! evaluation of that formula loses up to all of its bits when `a` and `b`
//! nearly cancel. Infinities follow the limits: between equal infinities
//! the answer is that infinity, between `-inf` and `+inf` it is NaN, and
//! between a finite value and an infinity it is that infinity (unless
//! `t = 0`, where the answer is the lower rank's value, whatever it is);
//! NaN anywhere in the interpolation gives NaN.

use std::cmp::Ordering;

use num_bigint::{BigInt, BigUint};
use num_traits::{One, Zero};

use super::{first_non_number, AggState, BadValue, Func};
use crate::exact::{round_ratio, scaled, VALUE_SCALE};
use crate::value::{
    parse_float_field, parse_int_field, parse_wide_int_field, Column, ColumnType, Data, Rows, Value,
};
use crate::wire::{
    f64_from_order_key, f64_order_key, i64_from_order_key, i64_order_key, put_bigint, put_f64,
    put_sorted_u64s, put_u8, put_varint, Reader, WireError,
};

#[derive(Default, Debug)]
pub struct Quantile {
    floats: Vec<f64>,
    ints: Vec<i64>,
    /// Values of text batches (an integer wider than 64 bits makes its
    /// batch text): each as the float it parses to, and the integers among
    /// them exactly; `decimals` when one was not an integer.
    text_floats: Vec<f64>,
    text_ints: Vec<BigInt>,
    decimals: bool,
}

impl Quantile {
    /// How many values the state holds.
    pub(crate) fn len(&self) -> usize {
        self.floats.len() + self.ints.len() + self.text_floats.len()
    }

    /// Each value as a float: integers as the floats nearest them, text as
    /// the float it parses to (what a sketch of the values counts).
    pub(crate) fn for_each_float(&self, mut f: impl FnMut(f64)) {
        self.floats.iter().for_each(|&v| f(v));
        self.ints.iter().for_each(|&v| f(v as f64));
        self.text_floats.iter().for_each(|&v| f(v));
    }
}

impl AggState for Quantile {
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.ints.push(values[r])
                }
            }),
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.floats.push(values[r])
                }
            }),
            Data::Text(values) => {
                first_non_number(col, values, rows)?;
                rows.for_each(|r| {
                    if !col.is_valid(r) {
                        return;
                    }
                    let text = values[r];
                    self.text_floats
                        .push(parse_float_field(text).unwrap_or(f64::NAN));
                    match parse_int_field(text)
                        .map(BigInt::from)
                        .or_else(|| parse_wide_int_field(text))
                    {
                        Some(v) => self.text_ints.push(v),
                        None => self.decimals = true,
                    }
                });
            }
            Data::Rows => {}
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        fn take_all<T>(mine: &mut Vec<T>, theirs: &mut Vec<T>) {
            if mine.is_empty() {
                std::mem::swap(mine, theirs);
            } else {
                mine.append(theirs);
            }
        }
        take_all(&mut self.floats, &mut other.floats);
        take_all(&mut self.ints, &mut other.ints);
        take_all(&mut self.text_floats, &mut other.text_floats);
        take_all(&mut self.text_ints, &mut other.text_ints);
        self.decimals |= other.decimals;
    }

    fn finish(&self, ty: ColumnType, func: &Func) -> Value {
        let Func::Quantile(_, label) = func else {
            unreachable!("quantile state used for {func:?}")
        };
        let (num, den) = fraction(label);
        let all_ints = self.floats.is_empty() && !self.decimals;
        let result = if ty == ColumnType::Int && all_ints {
            quantile_ints(&self.ints, &num, &den)
        } else if ty == ColumnType::Text && all_ints {
            // integers, some wider than 64 bits
            let mut all = self.text_ints.clone();
            all.extend(self.ints.iter().map(|&v| BigInt::from(v)));
            quantile_wide(all, &num, &den)
        } else if self.ints.is_empty() && self.text_floats.is_empty() {
            // the common float column: no copy of its values
            quantile_of(&self.floats, &num, &den)
        } else {
            // a float column: its integers count as the floats they parse to
            let mut all = self.floats.clone();
            all.extend(self.ints.iter().map(|&v| v as f64));
            all.extend_from_slice(&self.text_floats);
            quantile_of(&all, &num, &den)
        };
        result.map_or(Value::Null, Value::Float)
    }

    /// A flags byte (bit 0: `decimals`); the floats and the integers, each
    /// sorted (`f64::total_cmp` order) and delta-coded
    /// ([`put_sorted_u64s`]); the text batches' floats (bits) and integers
    /// (big integers), as they are. Sorting makes the form canonical and
    /// small: the values' order never mattered to `finish`.
    fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, self.decimals as u8);
        put_sorted_u64s(out, &sorted_keys(&self.floats, |&v| f64_order_key(v)));
        put_sorted_u64s(out, &sorted_keys(&self.ints, |&v| i64_order_key(v)));
        put_varint(out, self.text_floats.len() as u64);
        self.text_floats.iter().for_each(|&v| put_f64(out, v));
        put_varint(out, self.text_ints.len() as u64);
        self.text_ints.iter().for_each(|v| put_bigint(out, v));
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let at = r.pos();
        let decimals = r.get_bool()?;
        let floats = r.get_sorted_u64s(false)?;
        let ints = r.get_sorted_u64s(false)?;
        let n = r.len(8)?;
        let mut text_floats = Vec::with_capacity(n);
        for _ in 0..n {
            text_floats.push(r.get_f64()?);
        }
        let n = r.len(1)?;
        let mut text_ints = Vec::with_capacity(n);
        for _ in 0..n {
            text_ints.push(r.get_bigint()?);
        }
        // every text value adds a float, and an integer or `decimals`
        if text_ints.len() > text_floats.len() || decimals != (text_floats.len() > text_ints.len())
        {
            return Err(r.bad_state(
                "median/pNN",
                at,
                "text values and their integers do not match",
            ));
        }
        Ok(Quantile {
            floats: floats.into_iter().map(f64_from_order_key).collect(),
            ints: ints.into_iter().map(i64_from_order_key).collect(),
            text_floats,
            text_ints,
            decimals,
        })
    }
}

/// `key` of every value, sorted (in parallel for many).
fn sorted_keys<T: Sync>(values: &[T], key: impl Fn(&T) -> u64 + Sync) -> Vec<u64> {
    use rayon::prelude::*;
    let mut keys: Vec<u64> = values.iter().map(key).collect();
    if keys.len() >= 1 << 16 {
        keys.par_sort_unstable();
    } else {
        keys.sort_unstable();
    }
    keys
}

/// The fraction a quantile's label stands for, exactly: `median` is 1/2,
/// `p99.9` is 999/1000 (the digits as written over a power of ten).
pub(super) fn fraction(label: &str) -> (BigUint, BigUint) {
    let Some(digits) = label.strip_prefix('p') else {
        return (BigUint::one(), BigUint::from(2u32));
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = int.chars().chain(frac.chars()).collect();
    let num = BigUint::parse_bytes(all.as_bytes(), 10).unwrap_or_default();
    (num, BigUint::from(10u32).pow(2 + frac.len() as u32))
}

/// For `n` values and the fraction `num / den`: the lower rank `k` of the
/// position `(n - 1) · num / den` and the remainder `r` of that division
/// (the weight of rank `k + 1` is `r / den`).
fn position(n: usize, num: &BigUint, den: &BigUint) -> (usize, BigUint) {
    let scaled = num * BigUint::from(n - 1);
    let k = &scaled / den;
    let r = &scaled % den;
    let k = usize::try_from(k).map_or(n - 1, |k| k.min(n - 1));
    (k, r)
}

/// The `num / den` quantile of `values` (any order), numpy's "linear"
/// method, computed exactly and rounded once.
pub fn quantile_of(values: &[f64], num: &BigUint, den: &BigUint) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (k, r) = position(values.len(), num, den);
    let (a, b) = ranks(values, k, !r.is_zero());
    Some(match b {
        None => a,
        Some(b) => lerp(a, b, &r, den),
    })
}

/// Like [`quantile_of`] on integers, exactly.
pub fn quantile_ints(values: &[i64], num: &BigUint, den: &BigUint) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (k, r) = position(values.len(), num, den);
    let (a, b) = ranks(values, k, !r.is_zero());
    let a_big = BigInt::from(a);
    let numerator = match b {
        None => return Some(round_ratio(&a_big, &BigUint::one(), 0)),
        Some(b) => {
            &a_big * BigInt::from(den.clone()) + (BigInt::from(b) - &a_big) * BigInt::from(r)
        }
    };
    Some(round_ratio(&numerator, den, 0))
}

/// Like [`quantile_ints`] on integers of any width (a rare column: sorted
/// whole).
fn quantile_wide(mut values: Vec<BigInt>, num: &BigUint, den: &BigUint) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let (k, r) = position(values.len(), num, den);
    let a = &values[k];
    if r.is_zero() {
        return Some(round_ratio(a, &BigUint::one(), 0));
    }
    let b = &values[k + 1];
    let numerator = a * BigInt::from(den.clone()) + (b - a) * BigInt::from(r);
    Some(round_ratio(&numerator, den, 0))
}

/// The value between `a <= b` when either is NaN or infinite (the module
/// docs' rules: NaN spreads, `-inf` to `inf` is NaN, otherwise the infinite
/// end wins), or `None` when both are finite. The exact and the approximate
/// quantiles share it, so that both agree wherever the data is not finite.
pub(crate) fn lerp_non_finite(a: f64, b: f64) -> Option<f64> {
    if a.is_nan() || b.is_nan() {
        return Some(f64::NAN);
    }
    if a.is_infinite() || b.is_infinite() {
        return Some(if a == b {
            a
        } else if a == f64::NEG_INFINITY && b == f64::INFINITY {
            f64::NAN
        } else if b == f64::INFINITY {
            b
        } else {
            a
        });
    }
    None
}

/// `a + (b - a) · r / den` (with `0 < r < den` and `a <= b`) rounded once;
/// infinities and NaN as the module docs say.
fn lerp(a: f64, b: f64, r: &BigUint, den: &BigUint) -> f64 {
    if let Some(v) = lerp_non_finite(a, b) {
        return v;
    }
    let (a_big, b_big) = (scaled(a), scaled(b));
    let numerator = &a_big * BigInt::from(den.clone()) + (b_big - &a_big) * BigInt::from(r.clone());
    if numerator.is_zero() {
        // both zeros: -0.0 only when both are
        return if a.is_sign_negative() && b.is_sign_negative() {
            -0.0
        } else {
            0.0
        };
    }
    round_ratio(&numerator, den, -VALUE_SCALE)
}

/// A value the rank selection can order: floats by `f64::total_cmp`
/// (NaN of either sign at the ends), integers as integers.
pub(crate) trait Ranked: Copy + Send + Sync {
    fn order(&self, other: &Self) -> Ordering;
}

impl Ranked for f64 {
    fn order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl Ranked for i64 {
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

/// The value of rank `k` and, when `next`, of rank `k + 1` if any: in
/// parallel for big inputs, else sequentially.
fn ranks<T: Ranked>(values: &[T], k: usize, next: bool) -> (T, Option<T>) {
    let parallel = values.len() >= PARALLEL_MIN && rayon::current_num_threads() > 1;
    parallel
        .then(|| ranks_parallel(values, k, next))
        .flatten()
        .unwrap_or_else(|| ranks_sequential(values, k, next))
}

/// Values from which the selection runs in parallel.
const PARALLEL_MIN: usize = 1 << 20;

/// The value of rank `k` (0-based, in `f64::total_cmp` order) and, when
/// `next`, the value of rank `k + 1` if there is one.
fn ranks_sequential<T: Ranked>(values: &[T], k: usize, next: bool) -> (T, Option<T>) {
    let mut v = values.to_vec();
    let (_, a, rest) = v.select_nth_unstable_by(k, T::order);
    let a = *a;
    let b = next
        .then(|| rest.iter().copied().min_by(T::order))
        .flatten();
    (a, b)
}

/// [`ranks_sequential`] on the current rayon pool, for big inputs: a sorted
/// strided sample gives two values that bracket rank `k`; one parallel pass
/// counts the values below the bracket and collects those inside it, and the
/// selection runs on those few. The sequential selection was the serial tail
/// of a quantile over ten million values on many cores. `None` when the
/// bracket misses rank `k` (a sample fooled by the input's order); the
/// caller then selects sequentially. Exact either way.
fn ranks_parallel<T: Ranked>(values: &[T], k: usize, next: bool) -> Option<(T, Option<T>)> {
    use rayon::prelude::*;
    use std::cmp::Ordering::{Greater, Less};
    const SAMPLE: usize = 1 << 14;
    const MARGIN: usize = 512; // 4 standard deviations of a sample rank
    let n = values.len();
    let step = n / SAMPLE;
    let mut sample: Vec<T> = (0..SAMPLE).map(|i| values[i * step]).collect();
    sample.sort_unstable_by(T::order);
    let r = k * SAMPLE / n;
    // near either end the bracket is open on that side
    let lo = (r > MARGIN).then(|| sample[r - MARGIN]);
    let hi = (r + MARGIN < SAMPLE).then(|| sample[r + MARGIN]);
    let is_below = |v: &T| lo.is_some_and(|lo| v.order(&lo) == Less);
    let is_above = |v: &T| hi.is_some_and(|hi| v.order(&hi) == Greater);
    let parts: Vec<(usize, Vec<T>)> = values
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut below = 0;
            let mut inside = Vec::new();
            for v in chunk {
                if is_below(v) {
                    below += 1;
                } else if !is_above(v) {
                    inside.push(*v);
                }
            }
            (below, inside)
        })
        .collect();
    let below: usize = parts.iter().map(|p| p.0).sum();
    let mut inside: Vec<T> = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    parts.iter().for_each(|p| inside.extend_from_slice(&p.1));
    if k < below || k >= below + inside.len() {
        return None;
    }
    let (_, a, rest) = inside.select_nth_unstable_by(k - below, T::order);
    let a = *a;
    let b = if !next || k + 1 == n {
        None
    } else if let Some(b) = rest.iter().copied().min_by(T::order) {
        Some(b)
    } else {
        // rank k + 1 lies above the bracket: the least value there
        values.par_iter().copied().filter(is_above).min_by(T::order)
    };
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn q(values: &[f64], label: &str) -> f64 {
        let (num, den) = fraction(label);
        quantile_of(values, &num, &den).unwrap()
    }

    #[test]
    fn parallel_selection_matches_the_sequential_one() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let n = PARALLEL_MIN + 12_345;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let random: Vec<f64> = (0..n)
            .map(|_| (next() % 100_000) as f64 * 0.5 - 7.0)
            .collect();
        let mut specials = random.clone();
        for (i, v) in specials.iter_mut().enumerate().step_by(997) {
            *v = [f64::NAN, -0.0, 0.0, f64::INFINITY, -f64::NAN][i % 5];
        }
        let sorted = {
            let mut v = random.clone();
            v.sort_by(f64::total_cmp);
            v
        };
        // periodic with the sample's stride: the sample sees one value
        let periodic: Vec<f64> = (0..n).map(|i| (i % (n / (1 << 14))) as f64).collect();
        let two: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let same = vec![3.25; n];
        for values in [&random, &specials, &sorted, &periodic, &two, &same] {
            for q in [
                "p0", "p0.00001", "p1", "p25", "median", "p75", "p99", "p99.9999", "p100",
            ] {
                let (num, den) = fraction(q);
                let (k, _) = position(values.len(), &num, &den);
                let want = ranks_sequential(values, k, true);
                let got = pool.install(|| ranks_parallel(values, k, true));
                if std::ptr::eq(values, &random) || std::ptr::eq(values, &sorted) {
                    assert!(got.is_some(), "the sample brackets rank {k}");
                }
                if let Some(got) = got {
                    assert_eq!(got.0.to_bits(), want.0.to_bits(), "q {q}");
                    assert_eq!(got.1.map(f64::to_bits), want.1.map(f64::to_bits), "q {q}");
                }
                let a = pool.install(|| quantile_of(values, &num, &den)).unwrap();
                let b = one.install(|| quantile_of(values, &num, &den)).unwrap();
                assert_eq!(a.to_bits(), b.to_bits(), "q {q}");
            }
        }
    }

    #[test]
    fn matches_numpy_where_numpy_is_exact() {
        // numpy.quantile(..., method="linear") figures
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], "median"), 2.5);
        assert_eq!(q(&[4.0, 1.0, 3.0], "p50"), 3.0);
        assert_eq!(q(&[10.0, 20.0], "p25"), 12.5);
        assert_eq!(q(&[5.0], "p99"), 5.0);
        assert_eq!(q(&[3.0, 1.0, 2.0], "p0"), 1.0);
        assert_eq!(q(&[3.0, 1.0, 2.0], "p100"), 3.0);
        assert_eq!(
            quantile_of(&[], &BigUint::one(), &BigUint::from(2u32)),
            None
        );
        // numpy says 3.9699999999999998: 0.99 is not 99/100, and 3 + 0.97
        // rounds twice; the exact 3.97 is nearest to the double 3.97
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], "p99"), 3.97);
        assert_eq!(q(&[3.5, 7.25, 10.5, 12.0, 100.0], "p99"), 96.48);
        assert_eq!(
            q(&[-485.1995616424973, 485.01987532031234], "median"),
            -0.0898431610924888
        );
        assert_eq!(
            fraction("p99.9"),
            (BigUint::from(999u32), BigUint::from(1000u32))
        );
        assert_eq!(fraction("p5"), (BigUint::from(5u32), BigUint::from(100u32)));
        assert_eq!(fraction("median"), (BigUint::one(), BigUint::from(2u32)));
    }

    #[test]
    fn integers_interpolate_exactly() {
        let (num, den) = fraction("median");
        let v = [-10_000_000_000_000_000, 10_000_000_000_000_002];
        assert_eq!(quantile_ints(&v, &num, &den), Some(1.0));
        assert_eq!(quantile_ints(&[i64::MAX, i64::MIN], &num, &den), Some(-0.5));
        let mut s = ints::<Quantile>(&[Some(i64::MAX), Some(i64::MAX - 2), None]);
        s.merge(&mut ints::<Quantile>(&[Some(3)]));
        assert_eq!(
            s.finish(ColumnType::Int, &Func::Quantile(0.75, "p75".into())),
            Value::Float(9223372036854775806.0)
        );
    }

    #[test]
    fn wide_integers_are_exact() {
        let (mut s, r) = texts::<Quantile>(&["89014103211118510720", "", "89014103211118510722"]);
        assert_eq!(r, Ok(()));
        s.merge(&mut ints::<Quantile>(&[Some(-3)]));
        let median = Func::Quantile(0.5, "median".into());
        assert_eq!(
            s.finish(ColumnType::Text, &median),
            Value::Float(8.901410321111851e19)
        );
        assert_eq!(
            s.finish(ColumnType::Text, &Func::Quantile(0.25, "p25".into())),
            Value::Float(4.4507051605559255e19)
        );
    }

    #[test]
    fn infinities_and_zeros() {
        let inf = f64::INFINITY;
        assert_eq!(q(&[1.0, inf, inf], "median"), inf);
        assert_eq!(q(&[1.0, inf, inf], "p25"), inf);
        assert_eq!(q(&[1.0, 2.0, inf], "p75"), inf);
        assert_eq!(q(&[1.0, 2.0, inf], "median"), 2.0);
        assert!(q(&[-inf, inf], "median").is_nan());
        assert_eq!(q(&[-inf, inf], "p0"), -inf);
        assert_eq!(q(&[-inf, -inf, 3.0], "p75"), -inf);
        assert!(q(&[1.0, f64::NAN], "median").is_nan());
        assert_eq!(q(&[-0.0, -0.0], "median").to_bits(), (-0.0f64).to_bits());
        assert_eq!(q(&[-0.0, 0.0], "median").to_bits(), 0.0f64.to_bits());
        assert_eq!(q(&[-1.0, 1.0], "median").to_bits(), 0.0f64.to_bits());
    }

    /// Random data against an independent exact reference: sort, find the
    /// rank with integer arithmetic, and check the answer is the double
    /// nearest to `a + (b - a) · t` by bracketing it between the midpoints
    /// to its neighbours, in big integers.
    #[test]
    fn agrees_with_a_rational_reference() {
        let mut state = 0xfeed_f00du64;
        let mut next = || crate::testing::xorshift(&mut state);
        let labels = [
            "median", "p1", "p25", "p99", "p99.9", "p33.333", "p0.5", "p100",
        ];
        for round in 0..400 {
            let n = 1 + (next() % 40) as usize;
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    let m = (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                    m * 2f64.powi((next() % 60) as i32 - 30 + if round % 5 == 0 { 990 } else { 0 })
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for label in labels {
                let got = q(&values, label);
                // the fraction as digits: pNN.M -> NNM / 10^(2 + digits of M)
                let digits = label.strip_prefix('p').unwrap_or("50");
                let (i, f) = digits.split_once('.').unwrap_or((digits, ""));
                let num: u128 = format!("{i}{f}").parse().unwrap();
                let den: u128 = 10u128.pow(2 + f.len() as u32);
                let pos = num * (n as u128 - 1);
                let (k, r) = ((pos / den) as usize, pos % den);
                let a = scaled(sorted[k]);
                let b = if r == 0 {
                    a.clone()
                } else {
                    scaled(sorted[k + 1])
                };
                // exact value · den · 2^1074
                let exact = &a * BigInt::from(den) + (b - &a) * BigInt::from(r);
                let (g, up, down) = (scaled(got), scaled(got.next_up()), scaled(got.next_down()));
                let lo = (&g + &down) * BigInt::from(den);
                let hi = (&g + &up) * BigInt::from(den);
                let twice = exact * 2;
                assert!(lo <= twice && twice <= hi, "{label} of {values:?}: {got}");
            }
        }
    }

    #[test]
    fn merge_and_nulls() {
        let v = [
            Some(5.0),
            None,
            Some(1.0),
            Some(9.0),
            Some(2.0),
            None,
            Some(7.0),
        ];
        let f = Func::Quantile(0.5, "median".into());
        assert_eq!(
            floats::<Quantile>(&v).finish(ColumnType::Float, &f),
            Value::Float(5.0)
        );
        check_merge::<Quantile>(&v, ColumnType::Float, &f);
        check_merge::<Quantile>(&v, ColumnType::Float, &Func::Quantile(0.9, "p90".into()));
    }
}
