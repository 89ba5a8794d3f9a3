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

use super::small_values::SmallValues;
use super::{first_non_number, merge_optional, AggState, BadValue, ColumnFacts, Func};
use crate::exact::{common_scale, round_ratio, round_ratio_small, scaled, VALUE_SCALE};
use crate::value::{
    parse_float_field, parse_int_field, parse_wide_int_field, Column, ColumnType, Data, Rows, Value,
};
use crate::wire::{
    f64_from_order_key, f64_order_key, i64_from_order_key, i64_order_key, put_bigint, put_f64,
    put_sorted_u64s, put_u8, put_varint, Reader, WireError,
};

#[derive(Default, Debug)]
pub struct Quantile {
    floats: SmallValues<f64>,
    ints: SmallValues<i64>,
    /// What few states hold, boxed: a state per group pays for every byte
    /// held inline (56 bytes with the box, 104 without).
    extra: Option<Box<Extra>>,
}

/// Values of text batches, and the big lists of merged states.
#[derive(Default, Debug)]
struct Extra {
    /// A text batch's values (a rare column: an integer wider than 64 bits
    /// makes its batch text): each as the float it parses to, and the
    /// integers among them exactly; `decimals` when one was not an integer.
    floats: Vec<f64>,
    ints: Vec<BigInt>,
    decimals: bool,
    /// Values of merged states, each list kept where it was rather than
    /// appended ([`KEEP_APART`]).
    float_parts: Vec<Vec<f64>>,
    int_parts: Vec<Vec<i64>>,
}

/// A state holding fewer values finishes each quantile apart
/// ([`ranks_sequential`] copies up to 32 values to the stack): the
/// vectors of a selection together would cost more than they save.
const SELECT_TOGETHER_MIN: usize = 1 << 10;

/// Merging two states that both hold at least this many values of a type
/// keeps the other's list apart: the selection reads every list in place.
/// Appending ten million values in two workers' lists copied half of them
/// into fresh memory, on one thread, after the scan (a tenth of a median's
/// time from a store).
const KEEP_APART: usize = 1 << 16;

impl Quantile {
    /// How many values the state holds.
    pub(crate) fn len(&self) -> usize {
        total_len(&self.float_parts()) + total_len(&self.int_parts()) + self.text_floats().len()
    }

    /// Each value as a float: integers as the floats nearest them, text as
    /// the float it parses to (what a sketch of the values counts).
    pub(crate) fn for_each_float(&self, mut f: impl FnMut(f64)) {
        (self.float_parts().iter()).for_each(|p| p.iter().for_each(|&v| f(v)));
        (self.int_parts().iter()).for_each(|p| p.iter().for_each(|&v| f(v as f64)));
        self.text_floats().iter().for_each(|&v| f(v));
    }

    /// The float values: the state's list, and those of merged states kept
    /// apart.
    fn float_parts(&self) -> Parts<'_, f64> {
        Parts::of(
            &self.floats,
            self.extra.as_ref().map(|e| &e.float_parts[..]),
        )
    }

    /// The integer values, as [`float_parts`](Self::float_parts).
    fn int_parts(&self) -> Parts<'_, i64> {
        Parts::of(&self.ints, self.extra.as_ref().map(|e| &e.int_parts[..]))
    }

    fn text_floats(&self) -> &[f64] {
        self.extra.as_ref().map_or(&[], |t| &t.floats)
    }

    fn text_ints(&self) -> &[BigInt] {
        self.extra.as_ref().map_or(&[], |t| &t.ints)
    }

    /// Whether a text value was not an integer.
    fn decimals(&self) -> bool {
        self.extra.as_ref().is_some_and(|t| t.decimals)
    }

    /// The quantiles `fractions` of the values, for a column of final type
    /// `ty` with `facts` about its values in every group, each given to
    /// `emit` in order (`None` without values).
    fn quantiles(
        &self,
        ty: ColumnType,
        facts: &ColumnFacts,
        fractions: &[Fraction],
        emit: &mut dyn FnMut(Option<f64>),
    ) {
        let (floats, ints) = (self.float_parts(), self.int_parts());
        let (no_floats, no_ints) = (total_len(&floats) == 0, total_len(&ints) == 0);
        // a text column's integers are read exactly unless the column
        // holds a decimal anywhere, in this group or another
        let all_ints = no_floats && !self.decimals() && !facts.non_integers;
        if ty == ColumnType::Int && all_ints {
            select(&ints, fractions, interpolate_ints, emit)
        } else if ty == ColumnType::Text && all_ints {
            // integers, some wider than 64 bits
            let mut all = self.text_ints().to_vec();
            all.extend(ints.iter().flat_map(|p| p.iter().map(|&v| BigInt::from(v))));
            all.sort_unstable();
            fractions
                .iter()
                .for_each(|f| emit(quantile_sorted_wide(&all, f)))
        } else if no_ints && self.text_floats().is_empty() {
            // the common float column: no copy of its values
            select(&floats, fractions, interpolate_floats, emit)
        } else {
            // a float column: its integers count as the floats they parse to
            let mut all = floats.concat();
            all.extend(ints.iter().flat_map(|p| p.iter().map(|&v| v as f64)));
            all.extend_from_slice(self.text_floats());
            select(&[&all], fractions, interpolate_floats, emit)
        }
    }
}

/// A state's list of one type and the lists kept apart from it, as one
/// slice of lists. With none apart (every state but a few big merged
/// ones) nothing is allocated: `len` and `finish` run once per group, a
/// million times in a million-group run.
enum Parts<'a, T> {
    One([&'a [T]; 1]),
    Many(Vec<&'a [T]>),
}

impl<'a, T> Parts<'a, T> {
    fn of(first: &'a [T], apart: Option<&'a [Vec<T>]>) -> Parts<'a, T> {
        match apart {
            Some(apart) if !apart.is_empty() => Parts::Many(
                std::iter::once(first)
                    .chain(apart.iter().map(Vec::as_slice))
                    .collect(),
            ),
            _ => Parts::One([first]),
        }
    }
}

impl<'a, T> std::ops::Deref for Parts<'a, T> {
    type Target = [&'a [T]];

    fn deref(&self) -> &Self::Target {
        match self {
            Parts::One(one) => one,
            Parts::Many(many) => many,
        }
    }
}

/// How many values `parts` hold together.
fn total_len<T>(parts: &[&[T]]) -> usize {
    parts.iter().map(|p| p.len()).sum()
}

impl AggState for Quantile {
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => push_valid(&mut self.ints, col, values, rows),
            Data::Float(values) => push_valid(&mut self.floats, col, values, rows),
            Data::Text(values) => {
                first_non_number(col, values, rows)?;
                rows.for_each(|r| {
                    if !col.is_valid(r) {
                        return;
                    }
                    let text = values[r];
                    // boxed at its first value, so that a state holds a
                    // box only when it holds text values (or big merged
                    // lists)
                    let text_values = self.extra.get_or_insert_with(Box::default);
                    text_values
                        .floats
                        .push(parse_float_field(text).unwrap_or(f64::NAN));
                    match parse_int_field(text)
                        .map(BigInt::from)
                        .or_else(|| parse_wide_int_field(text))
                    {
                        Some(v) => text_values.ints.push(v),
                        None => text_values.decimals = true,
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
        // two big lists: the other's kept apart (appended below: nothing)
        let big_floats = self.floats.len() >= KEEP_APART && other.floats.len() >= KEEP_APART;
        let big_ints = self.ints.len() >= KEEP_APART && other.ints.len() >= KEEP_APART;
        if big_floats || big_ints {
            let extra = self.extra.get_or_insert_with(Box::default);
            if big_floats {
                extra
                    .float_parts
                    .push(std::mem::take(&mut other.floats).into_vec());
            }
            if big_ints {
                extra
                    .int_parts
                    .push(std::mem::take(&mut other.ints).into_vec());
            }
        }
        self.floats.append(&mut other.floats);
        self.ints.append(&mut other.ints);
        merge_optional(&mut self.extra, other.extra.take(), |mine, theirs| {
            take_all(&mut mine.floats, &mut theirs.floats);
            take_all(&mut mine.ints, &mut theirs.ints);
            mine.decimals |= theirs.decimals;
            mine.float_parts.append(&mut theirs.float_parts);
            mine.int_parts.append(&mut theirs.int_parts);
        });
    }

    /// A float batch's value, or a text batch's number that is not an
    /// integer, makes a text column's quantiles read every value as a
    /// float, in every group (as its sums do).
    fn gather(&self, facts: &mut ColumnFacts) {
        facts.non_integers |= total_len(&self.float_parts()) > 0 || self.decimals();
    }

    fn finish(&self, ty: ColumnType, func: &Func) -> Value {
        let mut facts = ColumnFacts::default();
        self.gather(&mut facts);
        self.finish_in(ty, func, &facts)
    }

    fn finish_in(&self, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value {
        let fraction = Fraction::of(label_of(func));
        let mut result = Value::Null;
        self.quantiles(ty, facts, std::slice::from_ref(&fraction), &mut |v| {
            result = v.map_or(Value::Null, Value::Float)
        });
        result
    }

    /// The quantiles of one column (they share this state) with one
    /// selection: one copy of the values where they must be copied, and one
    /// parallel pass over them for every rank ([`ranks_many`]).
    fn finish_each(&self, ty: ColumnType, funcs: &[&Func], facts: &ColumnFacts) -> Vec<Value> {
        if self.len() < SELECT_TOGETHER_MIN {
            // a small group's values: on the stack, nothing allocated
            return (funcs.iter())
                .map(|f| self.finish_in(ty, f, facts))
                .collect();
        }
        let fractions: Vec<Fraction> = funcs.iter().map(|f| Fraction::of(label_of(f))).collect();
        let mut out = Vec::with_capacity(funcs.len());
        self.quantiles(ty, facts, &fractions, &mut |v| {
            out.push(v.map_or(Value::Null, Value::Float))
        });
        out
    }

    /// A flags byte (bit 0: `decimals`); the floats and the integers, each
    /// sorted (`f64::total_cmp` order) and delta-coded
    /// ([`put_sorted_u64s`]); the text batches' floats (bits, in the same
    /// order) and integers (big integers, ascending). Sorting makes the form
    /// canonical (the same values in any order of arrival, any merge order,
    /// are the same bytes) and small: the values' order never mattered to
    /// `finish`.
    fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, self.decimals() as u8);
        let (floats, ints) = (self.float_parts(), self.int_parts());
        put_sorted_u64s(out, &sorted_keys(&floats, |&v| f64_order_key(v)));
        put_sorted_u64s(out, &sorted_keys(&ints, |&v| i64_order_key(v)));
        let mut text_floats = self.text_floats().to_vec();
        text_floats.sort_unstable_by_key(|&v| f64_order_key(v));
        put_varint(out, text_floats.len() as u64);
        text_floats.iter().for_each(|&v| put_f64(out, v));
        let mut text_ints: Vec<&BigInt> = self.text_ints().iter().collect();
        text_ints.sort_unstable();
        put_varint(out, text_ints.len() as u64);
        text_ints.iter().for_each(|v| put_bigint(out, v));
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
        // the one form `encode` writes: ascending
        let ascending_floats = text_floats
            .windows(2)
            .all(|w| f64_order_key(w[0]) <= f64_order_key(w[1]));
        if !ascending_floats || !text_ints.windows(2).all(|w| w[0] <= w[1]) {
            return Err(r.bad_state("median/pNN", at, "text values out of order"));
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
            floats: SmallValues::from(
                floats
                    .into_iter()
                    .map(f64_from_order_key)
                    .collect::<Vec<_>>(),
            ),
            ints: SmallValues::from(ints.into_iter().map(i64_from_order_key).collect::<Vec<_>>()),
            // no text values: no box (the form a state that never saw text has)
            extra: (!text_floats.is_empty()).then(|| {
                Box::new(Extra {
                    floats: text_floats,
                    ints: text_ints,
                    decimals,
                    ..Extra::default()
                })
            }),
        })
    }
}

/// Appends the valid rows' values: a group's few rows one by one, a whole
/// batch's onto the heap at once.
#[inline]
fn push_valid<T: Copy>(to: &mut SmallValues<T>, col: &Column<'_>, values: &[T], rows: Rows<'_>) {
    match rows {
        Rows::Some(some) if some.len() <= 2 => rows.for_each(|r| {
            if col.is_valid(r) {
                to.push(values[r])
            }
        }),
        _ => {
            let to = to.as_vec();
            rows.for_each(|r| {
                if col.is_valid(r) {
                    to.push(values[r])
                }
            })
        }
    }
}

/// `key` of every value, sorted (in parallel for many).
fn sorted_keys<T: Sync>(parts: &[&[T]], key: impl Fn(&T) -> u64 + Sync) -> Vec<u64> {
    use rayon::prelude::*;
    let mut keys: Vec<u64> = parts.iter().flat_map(|p| p.iter().map(&key)).collect();
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

/// A quantile's fraction, `num / den`: in machine words for every label
/// with at most [`WORD_FRACTION_DIGITS`] digits after the point (the
/// finish of a million groups then allocates nothing), in big integers for
/// the rest.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fraction {
    Words { num: u64, den: u64 },
    Big { num: BigUint, den: BigUint },
}

/// The most digits after a percentile's point that [`Fraction::Words`]
/// takes: `den` is then at most 10^12 < 2^40, which keeps the
/// interpolation's numerator within 122 bits ([`lerp`]).
const WORD_FRACTION_DIGITS: usize = 10;

impl Fraction {
    /// The fraction a quantile's label stands for, exactly (see
    /// [`fraction`]).
    pub(crate) fn of(label: &str) -> Fraction {
        let words = match label.strip_prefix('p') {
            None => Some((1, 2)),
            Some(digits) => {
                let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
                let digits = || int.bytes().chain(frac.bytes());
                (int.len() <= 3
                    && frac.len() <= WORD_FRACTION_DIGITS
                    && digits().all(|b| b.is_ascii_digit()))
                .then(|| {
                    let num = digits().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
                    (num, 10u64.pow(2 + frac.len() as u32))
                })
            }
        };
        match words {
            Some((num, den)) => Fraction::Words { num, den },
            None => {
                let (num, den) = fraction(label);
                Fraction::Big { num, den }
            }
        }
    }
}

/// The weight `r / den` of rank `k + 1` in an interpolation, in the form of
/// its [`Fraction`].
enum Weight {
    Words { r: u64, den: u64 },
    Big { r: BigUint, den: BigUint },
}

impl Weight {
    fn is_zero(&self) -> bool {
        match self {
            Weight::Words { r, .. } => *r == 0,
            Weight::Big { r, .. } => r.is_zero(),
        }
    }

    fn big(&self) -> (BigUint, BigUint) {
        match self {
            Weight::Words { r, den } => (BigUint::from(*r), BigUint::from(*den)),
            Weight::Big { r, den } => (r.clone(), den.clone()),
        }
    }
}

/// For `n` values and the fraction `num / den`: the lower rank `k` of the
/// position `(n - 1) · num / den` and the weight `r / den` of rank `k + 1`
/// (`r` the remainder of that division).
fn position(n: usize, f: &Fraction) -> (usize, Weight) {
    match f {
        Fraction::Words { num, den } => {
            // num < 2^40 and n < 2^64: the product fits in 104 bits
            let scaled = u128::from(*num) * (n as u128 - 1);
            let k = (scaled / u128::from(*den)).min(n as u128 - 1) as usize;
            let r = (scaled % u128::from(*den)) as u64;
            (k, Weight::Words { r, den: *den })
        }
        Fraction::Big { num, den } => {
            let scaled = num * BigUint::from(n - 1);
            let k = &scaled / den;
            let r = &scaled % den;
            let k = usize::try_from(k).map_or(n - 1, |k| k.min(n - 1));
            (
                k,
                Weight::Big {
                    r,
                    den: den.clone(),
                },
            )
        }
    }
}

/// The label of a quantile aggregate (`median`, `p99.9`).
fn label_of(func: &Func) -> &str {
    match func {
        Func::Quantile(_, label) => label,
        _ => unreachable!("quantile state used for {func:?}"),
    }
}

/// The `num / den` quantile of `values` (any order), numpy's "linear"
/// method, computed exactly and rounded once.
#[cfg(test)]
pub(crate) fn quantile_of(values: &[f64], f: &Fraction) -> Option<f64> {
    select_one(values, f, interpolate_floats)
}

/// Like [`quantile_of`] on integers, exactly.
#[cfg(test)]
pub(crate) fn quantile_ints(values: &[i64], f: &Fraction) -> Option<f64> {
    select_one(values, f, interpolate_ints)
}

/// [`select`] of one fraction of one list of values.
#[cfg(test)]
fn select_one<T: Ranked>(
    values: &[T],
    f: &Fraction,
    interpolate: fn(T, Option<T>, &Weight) -> f64,
) -> Option<f64> {
    let mut result = None;
    select(&[values], std::slice::from_ref(f), interpolate, &mut |v| {
        result = v
    });
    result
}

/// The quantiles `fractions` of the values of every part together, each
/// given to `emit` in order: the ranks each needs selected
/// ([`ranks`], or [`ranks_many`] for several), then `interpolate`d.
fn select<T: Ranked>(
    parts: &[&[T]],
    fractions: &[Fraction],
    interpolate: fn(T, Option<T>, &Weight) -> f64,
    emit: &mut dyn FnMut(Option<f64>),
) {
    let n = total_len(parts);
    if n == 0 {
        fractions.iter().for_each(|_| emit(None));
        return;
    }
    if let [f] = fractions {
        // a group's quantile: nothing allocated
        let (k, w) = position(n, f);
        let (a, b) = ranks(parts, k, !w.is_zero());
        return emit(Some(interpolate(a, b, &w)));
    }
    let positions: Vec<(usize, Weight)> = fractions.iter().map(|f| position(n, f)).collect();
    let wanted: Vec<Wanted> = (positions.iter())
        .map(|(k, w)| Wanted {
            k: *k,
            next: !w.is_zero(),
        })
        .collect();
    for ((_, w), (a, b)) in positions.iter().zip(ranks_many(parts, &wanted)) {
        emit(Some(interpolate(a, b, w)));
    }
}

/// The value `w` of the way from rank `k`'s value `a` to rank `k + 1`'s
/// `b` (absent when `w` is zero), for floats.
fn interpolate_floats(a: f64, b: Option<f64>, w: &Weight) -> f64 {
    // a NaN rank gives the one NaN: NaNs of other bits are equal in the
    // selection's order, and which of them a rank holds must not show
    crate::value::canonical_nan(match b {
        None => a,
        Some(b) => lerp(a, b, w),
    })
}

/// [`interpolate_floats`] for integers, exactly.
fn interpolate_ints(a: i64, b: Option<i64>, w: &Weight) -> f64 {
    let Some(b) = b else {
        // `as` rounds to nearest, ties to even: exact rounding of one integer
        return a as f64;
    };
    if let Weight::Words { r, den } = *w {
        // |a · den| < 2^103 and (b - a) · r < 2^104: no overflow
        let numerator =
            i128::from(a) * i128::from(den) + (i128::from(b) - i128::from(a)) * i128::from(r);
        return round_ratio_small(numerator < 0, numerator.unsigned_abs(), den, 0);
    }
    let (r, den) = w.big();
    let a_big = BigInt::from(a);
    let numerator =
        &a_big * BigInt::from(den.clone()) + (BigInt::from(b) - &a_big) * BigInt::from(r);
    round_ratio(&numerator, &den, 0)
}

/// Like the tests' `quantile_ints` on sorted integers of any width (a rare column:
/// sorted whole).
fn quantile_sorted_wide(values: &[BigInt], f: &Fraction) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (k, w) = position(values.len(), f);
    let a = &values[k];
    if w.is_zero() {
        return Some(round_ratio(a, &BigUint::one(), 0));
    }
    let (r, den) = w.big();
    let b = &values[k + 1];
    let numerator = a * BigInt::from(den.clone()) + (b - a) * BigInt::from(r);
    Some(round_ratio(&numerator, &den, 0))
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
/// infinities and NaN as the module docs say. In `i128` when the weight is
/// in words and both values fit at one scale ([`common_scale`]), which is
/// nearly always; on the heap otherwise. Both give the one correctly
/// rounded result (`lerp_words_matches_the_big_integers` checks it).
fn lerp(a: f64, b: f64, w: &Weight) -> f64 {
    if let Some(v) = lerp_non_finite(a, b) {
        return v;
    }
    let rounded = match (w, common_scale(a, b)) {
        (&Weight::Words { r, den }, Some((a_int, b_int, exp2))) => {
            // |a · den| < 2^120 and (b - a) · r < 2^121: no overflow
            let numerator = a_int * i128::from(den) + (b_int - a_int) * i128::from(r);
            (numerator != 0)
                .then(|| round_ratio_small(numerator < 0, numerator.unsigned_abs(), den, exp2))
        }
        _ => {
            let (r, den) = w.big();
            let (a_big, b_big) = (scaled(a), scaled(b));
            let numerator = &a_big * BigInt::from(den.clone()) + (b_big - &a_big) * BigInt::from(r);
            (!numerator.is_zero()).then(|| round_ratio(&numerator, &den, -VALUE_SCALE))
        }
    };
    // a zero numerator: both zeros, -0.0 only when both are
    rounded.unwrap_or(if a.is_sign_negative() && b.is_sign_negative() {
        -0.0
    } else {
        0.0
    })
}

/// A value the rank selection can order: floats by
/// [`float_cmp`](crate::value::float_cmp) (NaN of either sign last),
/// integers as integers.
pub(crate) trait Ranked: Copy + Send + Sync {
    fn order(&self, other: &Self) -> Ordering;
    /// An integer in the same order: `a.order(b)` is `a.key().cmp(&b.key())`.
    fn key(&self) -> i64;
}

impl Ranked for f64 {
    fn order(&self, other: &Self) -> Ordering {
        crate::value::float_cmp(*self, *other)
    }

    #[inline(always)]
    fn key(&self) -> i64 {
        super::extreme::total_key(*self)
    }
}

impl Ranked for i64 {
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }

    #[inline(always)]
    fn key(&self) -> i64 {
        *self
    }
}

/// A rank to select: `k` (0-based, in [`Ranked::order`]), and whether the
/// value of rank `k + 1` is wanted too (the interpolation's other end).
#[derive(Clone, Copy, Debug)]
struct Wanted {
    k: usize,
    next: bool,
}

/// The value of rank `k` and, when `next`, of rank `k + 1` if any, among
/// the values of every part: in parallel for big inputs, else
/// sequentially.
fn ranks<T: Ranked>(parts: &[&[T]], k: usize, next: bool) -> (T, Option<T>) {
    if in_parallel(total_len(parts)) {
        ranks_many(parts, &[Wanted { k, next }])[0]
    } else {
        ranks_sequential(parts, k, next)
    }
}

/// Values from which the selection runs in parallel.
const PARALLEL_MIN: usize = 1 << 20;

/// Whether a selection among `n` values runs in parallel.
fn in_parallel(n: usize) -> bool {
    n >= PARALLEL_MIN && rayon::current_num_threads() > 1
}

/// [`ranks`] for each of `wanted`, in its order, with one selection: one
/// parallel pass over the values for every rank ([`ranks_parallel`]), or
/// one copy of them ([`ranks_sequential_many`]). Exact either way.
fn ranks_many<T: Ranked>(parts: &[&[T]], wanted: &[Wanted]) -> Vec<(T, Option<T>)> {
    let mut found = if in_parallel(total_len(parts)) {
        ranks_parallel(parts, wanted)
    } else {
        vec![None; wanted.len()]
    };
    // what the parallel pass missed (or everything): selected sequentially
    let missed: Vec<usize> = (0..wanted.len()).filter(|&i| found[i].is_none()).collect();
    if !missed.is_empty() {
        let again: Vec<Wanted> = missed.iter().map(|&i| wanted[i]).collect();
        for (i, ranks) in missed.into_iter().zip(ranks_sequential_many(parts, &again)) {
            found[i] = Some(ranks);
        }
    }
    (found.into_iter())
        .map(|ranks| ranks.expect("every rank is selected"))
        .collect()
}

/// The value of rank `k` (0-based, in [`Ranked::order`]) and, when
/// `next`, the value of rank `k + 1` if there is one.
fn ranks_sequential<T: Ranked>(parts: &[&[T]], k: usize, next: bool) -> (T, Option<T>) {
    // a group's few values are copied to the stack, not the heap: a
    // million groups finish without a million allocations
    const ON_STACK: usize = 32;
    let n = total_len(parts);
    let first = *parts.iter().find_map(|p| p.first()).expect("a value");
    let mut stack = [first; ON_STACK];
    let mut heap: Vec<T>;
    let v = if n <= ON_STACK {
        let mut at = 0;
        for part in parts {
            stack[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        &mut stack[..n]
    } else {
        heap = parts.concat();
        &mut heap[..]
    };
    let mut found = None;
    select_ascending(v, [Wanted { k, next }], |ranks| found = Some(ranks));
    found.expect("one rank selected")
}

/// [`ranks_sequential`] for each of `wanted`, in its order, from one copy
/// of the values.
fn ranks_sequential_many<T: Ranked>(parts: &[&[T]], wanted: &[Wanted]) -> Vec<(T, Option<T>)> {
    let mut v = parts.concat();
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| wanted[i].k);
    let mut ascending = Vec::with_capacity(wanted.len());
    select_ascending(&mut v, order.iter().map(|&i| wanted[i]), |ranks| {
        ascending.push(ranks)
    });
    let mut found = vec![None; wanted.len()];
    for (&i, ranks) in order.iter().zip(ascending) {
        found[i] = Some(ranks);
    }
    (found.into_iter())
        .map(|ranks| ranks.expect("every rank is selected"))
        .collect()
}

/// Selects each wanted rank among the values `v` (reordered), in ascending
/// order of rank, giving each to `found`. A selection leaves the values
/// above its rank after it, so the next selects among those only.
fn select_ascending<T: Ranked>(
    v: &mut [T],
    wanted: impl IntoIterator<Item = Wanted>,
    mut found: impl FnMut((T, Option<T>)),
) {
    // `v[..done]` holds the values of ranks `0..done`, in rank order at
    // `done - 1`
    let mut done = 0;
    for Wanted { k, next } in wanted {
        debug_assert!(k + 1 >= done, "ranks in ascending order");
        if k >= done {
            v[done..].select_nth_unstable_by(k - done, T::order);
            done = k + 1;
        }
        let b = next
            .then(|| v[k + 1..].iter().copied().min_by(T::order))
            .flatten();
        found((v[k], b));
    }
}

/// [`ranks_many`] on the current rayon pool, for big inputs: a sorted
/// strided sample gives, for each rank `k`, two values that bracket it; one
/// parallel pass counts the values below each bracket and equal to either
/// end, and collects those strictly inside it, and the selections run on
/// those few. The sequential selection was the serial tail of a quantile
/// over ten million values on many cores, and a pass per quantile read
/// every value once for each (the median and p99 of ten million values
/// from a store: most of the run's time). `None` for a rank whose bracket
/// misses it (a sample fooled by the input's order), or holds more values
/// than [`bracket_budget`] allows; the caller then selects it sequentially.
///
/// Memory: the values collected are bounded whatever the input. A bracket's
/// ends are counted, not collected, so ties cost nothing (a column of one
/// value, or of a few, put nearly every value inside every bracket: ten
/// million values took 639 MB for five quantiles and 4.2 GB for fifty,
/// against the 80 MB they hold); a bracket stops collecting once it holds
/// more than its budget (an input ordered to fool the strided sample);
/// and the ranks are taken [`BRACKETS_PER_PASS`] at a time, each pass's
/// values freed before the next.
fn ranks_parallel<T: Ranked>(parts: &[&[T]], wanted: &[Wanted]) -> Vec<Option<(T, Option<T>)>> {
    const SAMPLE: usize = 1 << 14;
    let n = total_len(parts);
    // where each part starts among all the values
    let starts: Vec<usize> = (parts.iter())
        .scan(0, |at, p| {
            let start = *at;
            *at += p.len();
            Some(start)
        })
        .collect();
    let value_at = |i: usize| {
        let p = starts.partition_point(|&s| s <= i) - 1;
        parts[p][i - starts[p]]
    };
    let step = n / SAMPLE;
    let mut sample: Vec<T> = (0..SAMPLE).map(|i| value_at(i * step)).collect();
    sample.sort_unstable_by(T::order);
    let chunks: Vec<&[T]> = (parts.iter())
        .flat_map(|part| part.chunks(1 << 16))
        .collect();
    (wanted.chunks(BRACKETS_PER_PASS))
        .flat_map(|wanted| bracketed_pass(&chunks, n, &sample, wanted))
        .collect()
}

/// Ranks [`ranks_parallel`] brackets in one pass over the values.
const BRACKETS_PER_PASS: usize = 4;

/// The values a bracket may collect: twice what one holds when the sample
/// is not fooled (`2 * MARGIN` of `SAMPLE` ranks, n / 16), so that a pass
/// of [`BRACKETS_PER_PASS`] collects at most about n / 2 values.
fn bracket_budget(n: usize) -> usize {
    n / 8
}

/// The value of rank `k` ([`ranks_parallel`]) for each of `wanted`: one
/// parallel pass over `chunks` (`n` values in all) with the brackets the
/// sorted `sample` gives.
fn bracketed_pass<T: Ranked>(
    chunks: &[&[T]],
    n: usize,
    sample: &[T],
    wanted: &[Wanted],
) -> Vec<Option<(T, Option<T>)>> {
    use rayon::prelude::*;
    use std::cmp::Ordering::Greater;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    const MARGIN: usize = 512; // 4 standard deviations of a sample rank

    /// A rank's bracket: its ends (`None` beyond either end of the
    /// sample), their keys, and the keys strictly inside it as an
    /// inclusive range (empty, `MAX..=MIN`, when there are none).
    #[derive(Clone, Copy)]
    struct Bracket<T> {
        lo: Option<T>,
        hi: Option<T>,
        lo_key: i64,
        hi_key: i64,
        inside: (i64, i64),
    }
    let samples = sample.len();
    let brackets: Vec<Bracket<T>> = (wanted.iter())
        .map(|w| {
            let r = w.k * samples / n;
            let lo = (r > MARGIN).then(|| sample[r - MARGIN]);
            let hi = (r + MARGIN < samples).then(|| sample[r + MARGIN]);
            let (lo_key, hi_key) = (lo.map(|v| v.key()), hi.map(|v| v.key()));
            let first = match lo_key {
                None => Some(i64::MIN),
                Some(k) => k.checked_add(1),
            };
            let last = match hi_key {
                None => Some(i64::MAX),
                Some(k) => k.checked_sub(1),
            };
            let inside = match (first, last) {
                (Some(first), Some(last)) => (first, last),
                _ => (i64::MAX, i64::MIN),
            };
            Bracket {
                lo,
                hi,
                // a missing end's key: one no value equals, as its count
                // is masked off by the end's absence
                lo_key: lo_key.unwrap_or(i64::MIN),
                hi_key: hi_key.unwrap_or(i64::MAX),
                inside,
            }
        })
        .collect();
    let budget = bracket_budget(n);
    // values collected so far per bracket; past the budget, none more
    let collected: Vec<AtomicUsize> = brackets.iter().map(|_| AtomicUsize::new(0)).collect();
    /// Per chunk and bracket: values below it, equal to its low and high
    /// ends, and those strictly inside it.
    struct Counts<T> {
        below: usize,
        at_lo: usize,
        at_hi: usize,
        inside: Vec<T>,
    }
    // The pass compares keys and has no branch on a value: every value is
    // written to a small buffer, whose end moves only past the values
    // inside the bracket. With a comparison through `order`, the
    // bracket's `Option`s and a branch per value (mispredicted at each
    // value inside), it took 40% of a median's CPU over ten million
    // values. A block of values stays in L1 while each bracket reads it.
    const BLOCK: usize = 512;
    let counted: Vec<Vec<Counts<T>>> = chunks
        .par_iter()
        .map(|chunk| {
            let mut counts: Vec<Counts<T>> = (brackets.iter())
                .map(|_| Counts {
                    below: 0,
                    at_lo: 0,
                    at_hi: 0,
                    inside: Vec::new(),
                })
                .collect();
            let mut buf = [sample[0]; BLOCK];
            for (b, block) in chunk.chunks(BLOCK).enumerate() {
                // the next block's lines, fetched while this one is read
                // (the hardware's prefetch stops at each page)
                if let Some(next) = chunk.get((b + 1) * BLOCK..(b + 2) * BLOCK) {
                    next.iter()
                        .step_by(64 / std::mem::size_of::<T>().max(1))
                        .for_each(crate::hint::prefetch);
                }
                for ((bracket, c), total) in brackets.iter().zip(&mut counts).zip(&collected) {
                    let (has_lo, has_hi) = (bracket.lo.is_some(), bracket.hi.is_some());
                    // (the ends are one value when the bracket is a tie)
                    let distinct_hi = has_hi && bracket.hi_key != bracket.lo_key;
                    let (first, last) = bracket.inside;
                    let (mut m, mut under, mut lo, mut hi) = (0, 0, 0, 0);
                    for v in block {
                        let key = v.key();
                        under += (key < bracket.lo_key && has_lo) as usize;
                        lo += (key == bracket.lo_key && has_lo) as usize;
                        hi += (key == bracket.hi_key && distinct_hi) as usize;
                        buf[m] = *v;
                        m += (key >= first && key <= last) as usize;
                    }
                    c.below += under;
                    c.at_lo += lo;
                    c.at_hi += hi;
                    if m > 0 && total.load(Relaxed) <= budget {
                        c.inside.extend_from_slice(&buf[..m]);
                    }
                }
            }
            for (c, total) in counts.iter_mut().zip(&collected) {
                if total.fetch_add(c.inside.len(), Relaxed) + c.inside.len() > budget {
                    c.inside = Vec::new();
                }
            }
            counts
        })
        .collect();
    // each bracket's pieces, moved out of the chunks' counts so that each
    // is freed as it is appended
    let mut pieces: Vec<Vec<Vec<T>>> = brackets.iter().map(|_| Vec::new()).collect();
    let mut sums = vec![(0usize, 0usize, 0usize); brackets.len()];
    for chunk in counted {
        for (j, c) in chunk.into_iter().enumerate() {
            sums[j].0 += c.below;
            sums[j].1 += c.at_lo;
            sums[j].2 += c.at_hi;
            pieces[j].push(c.inside);
        }
    }
    (pieces.into_par_iter().enumerate())
        .map(|(j, pieces)| {
            if collected[j].load(Relaxed) > budget {
                return None;
            }
            let Wanted { k, next } = wanted[j];
            let Bracket { lo, hi, .. } = brackets[j];
            let (below, at_lo, at_hi) = sums[j];
            let mut inside: Vec<T> = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
            for piece in pieces {
                inside.extend_from_slice(&piece);
            }
            // ranks below + [0, at_lo) are `lo`, then the values inside
            // in order, then `hi`'s ties
            let (first_inside, first_hi) = (below + at_lo, below + at_lo + inside.len());
            let end = first_hi + at_hi;
            if k < below || k >= end {
                return None;
            }
            // the value of rank `k + 1` when it lies at or past `hi`'s
            // ties: `hi`, or the least value above the bracket
            let at_or_above_hi = |rank: usize| {
                if rank < end {
                    return hi;
                }
                let is_above = |v: &T| hi.is_some_and(|hi| v.order(&hi) == Greater);
                (chunks.par_iter())
                    .flat_map_iter(|chunk| chunk.iter().copied().filter(is_above))
                    .min_by(T::order)
            };
            let wants_next = next && k + 1 < n;
            let (a, b) = if k < first_inside {
                let b = wants_next.then(|| match k + 1 {
                    r if r < first_inside => lo,
                    r if r < first_hi => inside.iter().copied().min_by(T::order),
                    r => at_or_above_hi(r),
                });
                (
                    lo.expect("ranks at the low end's ties have one"),
                    b.flatten(),
                )
            } else if k < first_hi {
                let (_, a, rest) = inside.select_nth_unstable_by(k - first_inside, T::order);
                let a = *a;
                let b = wants_next.then(|| match rest.iter().copied().min_by(T::order) {
                    Some(b) => Some(b),
                    None => at_or_above_hi(k + 1),
                });
                (a, b.flatten())
            } else {
                let b = wants_next.then(|| at_or_above_hi(k + 1));
                (
                    hi.expect("ranks at the high end's ties have one"),
                    b.flatten(),
                )
            };
            Some((a, b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    /// A pool of `threads` rayon threads, for running the parallel paths.
    fn pool_of(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    fn q(values: &[f64], label: &str) -> f64 {
        quantile_of(values, &Fraction::of(label)).unwrap()
    }

    #[test]
    fn a_nan_of_either_sign_ranks_last() {
        let neg_nan = f64::from_bits(0xfff8_0000_0000_0000);
        let values = [1.0, neg_nan, f64::NEG_INFINITY];
        assert_eq!(q(&values, "p0"), f64::NEG_INFINITY);
        assert_eq!(q(&values, "median"), 1.0);
        // the one NaN, whichever the values held
        assert_eq!(q(&values, "p100").to_bits(), f64::NAN.to_bits());
        assert_eq!(q(&[neg_nan], "median").to_bits(), f64::NAN.to_bits());
    }

    #[test]
    fn keys_order_as_the_values_do() {
        let mut seed = 7u64;
        let mut floats = super::super::testing::AWKWARD_FLOATS.to_vec();
        floats.extend((0..2000).map(|_| f64::from_bits(crate::testing::xorshift(&mut seed))));
        for a in &floats {
            for b in &floats[..40] {
                assert_eq!(a.key().cmp(&b.key()), a.order(b), "{a:e} {b:e}");
            }
        }
        let ints = [i64::MIN, -1, 0, 1, i64::MAX];
        for a in &ints {
            for b in &ints {
                assert_eq!(a.key().cmp(&b.key()), a.order(b));
            }
        }
    }

    #[test]
    fn parallel_selection_matches_the_sequential_one() {
        let pool = pool_of(4);
        let one = pool_of(1);
        // NaNs of either sign are one value in the selection's order: a
        // rank may hold either
        let bits = |v: f64| crate::value::canonical_nan(v).to_bits();
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
                let f = Fraction::of(q);
                let (k, _) = position(values.len(), &f);
                let want = ranks_sequential(&[values], k, true);
                let wanted = [Wanted { k, next: true }];
                let got = pool.install(|| ranks_parallel(&[values], &wanted))[0];
                // the same values in uneven parts, one of them empty
                let (a, rest) = values.split_at(values.len() / 3);
                let (b, c) = rest.split_at(rest.len() / 2 + 17);
                let split: [&[f64]; 4] = [c, &[], a, b];
                if let Some(got) = pool.install(|| ranks_parallel(&split, &wanted))[0] {
                    assert_eq!(bits(got.0), bits(want.0), "parts, q {q}");
                    assert_eq!(got.1.map(bits), want.1.map(bits), "parts, q {q}");
                }
                let sequential_parts = ranks_sequential(&split, k, true);
                assert_eq!(bits(sequential_parts.0), bits(want.0), "parts, q {q}");
                if std::ptr::eq(values, &random) || std::ptr::eq(values, &sorted) {
                    assert!(got.is_some(), "the sample brackets rank {k}");
                }
                if let Some(got) = got {
                    assert_eq!(bits(got.0), bits(want.0), "q {q}");
                    assert_eq!(got.1.map(bits), want.1.map(bits), "q {q}");
                }
                let a = pool.install(|| quantile_of(values, &f)).unwrap();
                let b = one.install(|| quantile_of(values, &f)).unwrap();
                assert_eq!(a.to_bits(), b.to_bits(), "q {q}");
            }
        }
    }

    #[test]
    fn ranks_selected_together_are_those_selected_alone() {
        let pool = pool_of(3);
        let n = PARALLEL_MIN + 4_321;
        let mut seed = 0x5851_f42d_4c95_7f2du64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let random: Vec<i64> = (0..n).map(|_| (next() % 50_000) as i64 - 9_000).collect();
        // sorted: the sample brackets; periodic with the sample's stride:
        // it does not, and those ranks are selected again sequentially
        let mut sorted = random.clone();
        sorted.sort_unstable();
        let periodic: Vec<i64> = (0..n).map(|i| (i % (n / (1 << 14))) as i64).collect();
        // in no order, one rank twice, the last rank (no next value), and
        // neighbours whose brackets overlap
        let ks = [
            n / 2,
            7,
            n - 1,
            n / 2,
            n / 2 + 1,
            n / 100,
            n - 2,
            0,
            99 * n / 100,
        ];
        let wanted: Vec<Wanted> = (ks.iter().enumerate())
            .map(|(i, &k)| Wanted {
                k,
                next: i % 3 != 1,
            })
            .collect();
        for values in [&random, &sorted, &periodic] {
            let (a, b) = values.split_at(n / 3);
            for parts in [&[&values[..]][..], &[b, &[], a][..]] {
                let alone: Vec<(i64, Option<i64>)> = (wanted.iter())
                    .map(|w| ranks_sequential(parts, w.k, w.next))
                    .collect();
                assert_eq!(ranks_sequential_many(parts, &wanted), alone);
                assert_eq!(pool.install(|| ranks_many(parts, &wanted)), alone);
                let parallel = pool.install(|| ranks_parallel(parts, &wanted));
                for (got, want) in parallel.iter().zip(&alone) {
                    if let Some(got) = got {
                        assert_eq!(got, want);
                    }
                }
                if !std::ptr::eq(values, &periodic) {
                    assert!(parallel.iter().all(Option::is_some));
                }
            }
        }
    }

    #[test]
    fn quantiles_finished_together_are_those_finished_alone() {
        let pool = pool_of(2);
        let mut seed = 0x1405_7b7e_f767_814fu64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let labels = [
            "median",
            "p99",
            "p0",
            "p100",
            "p50",
            "p12.5",
            "p99.99999999999",
        ];
        let funcs: Vec<Func> = labels
            .iter()
            .map(|l| Func::Quantile(0.5, l.to_string()))
            .collect();
        let funcs: Vec<&Func> = funcs.iter().collect();
        for n in [0, 1, 2, 33, 5_000, PARALLEL_MIN + 77] {
            let values: Vec<Option<f64>> = (0..n)
                .map(|i| (i % 11 != 3).then(|| (next() % 1_000_003) as f64 / 16.0 - 3e4))
                .collect();
            let ints: Vec<Option<i64>> = values.iter().map(|v| v.map(|v| v as i64)).collect();
            let mixed = {
                let mut state = floats::<Quantile>(&values);
                state.merge(&mut super::super::testing::ints::<Quantile>(&ints[..n / 2]));
                state
            };
            for (state, ty) in [
                (floats::<Quantile>(&values), ColumnType::Float),
                (
                    super::super::testing::ints::<Quantile>(&ints),
                    ColumnType::Int,
                ),
                (mixed, ColumnType::Float),
            ] {
                let facts = ColumnFacts::default();
                let together = pool.install(|| state.finish_each(ty, &funcs, &facts));
                let alone: Vec<Value> = funcs.iter().map(|f| state.finish(ty, f)).collect();
                assert_eq!(
                    format!("{together:?}"),
                    format!("{alone:?}"),
                    "n {n} {ty:?}"
                );
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
        assert_eq!(quantile_of(&[], &Fraction::of("median")), None);
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
        let median = Fraction::of("median");
        let v = [-10_000_000_000_000_000, 10_000_000_000_000_002];
        assert_eq!(quantile_ints(&v, &median), Some(1.0));
        assert_eq!(quantile_ints(&[i64::MAX, i64::MIN], &median), Some(-0.5));
        let mut s = ints::<Quantile>(&[Some(i64::MAX), Some(i64::MAX - 2), None]);
        s.merge(&mut ints::<Quantile>(&[Some(3)]));
        assert_eq!(
            s.finish(ColumnType::Int, &Func::Quantile(0.75, "p75".into())),
            Value::Float(9223372036854775806.0)
        );
    }

    #[test]
    fn a_state_is_small() {
        // a state per group: 1M groups of `median` by a key hold 56 MB inline
        assert!(std::mem::size_of::<Quantile>() <= 56);
    }

    #[test]
    fn fractions_in_words_are_the_fractions_in_big_integers() {
        for label in [
            "median",
            "p0",
            "p5",
            "p05",
            "p50",
            "p99",
            "p99.9",
            "p100",
            "p0.0000000001",
            "p99.9999999999",
        ] {
            let Fraction::Words { num, den } = Fraction::of(label) else {
                panic!("{label} not in words")
            };
            assert_eq!(
                fraction(label),
                (BigUint::from(num), BigUint::from(den)),
                "{label}"
            );
        }
        for label in ["p99.99999999999", "p0.00000000000000000000001", "p0099"] {
            let (num, den) = fraction(label);
            assert_eq!(Fraction::of(label), Fraction::Big { num, den }, "{label}");
        }
    }

    /// The interpolation in `i128` against the one in big integers, on
    /// pairs of every spread of magnitudes (subnormals, zeros of both
    /// signs, neighbours, values far apart) and weights of every label
    /// length: the same bits, or both NaN.
    #[test]
    fn lerp_words_matches_the_big_integers() {
        let mut seed = 0x5eed_1e4f_u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let specials = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e-310,
            f64::MAX,
            -f64::MAX,
            1.0,
            1.0000000000000002,
            -3.5,
            1e20,
        ];
        const ROUNDS: usize = 200_000;
        let mut in_words = 0;
        for round in 0..ROUNDS {
            let pick = |next: &mut dyn FnMut() -> u64| -> f64 {
                match next() % 4 {
                    0 => specials[(next() % specials.len() as u64) as usize],
                    // any finite double
                    1 => loop {
                        let v = f64::from_bits(next());
                        if v.is_finite() {
                            break v;
                        }
                    },
                    // a decimal-ish value in a band of magnitudes
                    _ => {
                        let m = (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                        m * 2f64.powi((next() % 24) as i32 - 12)
                    }
                }
            };
            let (x, y) = (pick(&mut next), pick(&mut next));
            let (a, b) = if x.total_cmp(&y).is_le() {
                (x, y)
            } else {
                (y, x)
            };
            let den = 10u64.pow(1 + (round % 12) as u32);
            let r = 1 + next() % (den - 1);
            in_words += common_scale(a, b).is_some() as usize;
            let words = lerp(a, b, &Weight::Words { r, den });
            let big = lerp(
                a,
                b,
                &Weight::Big {
                    r: BigUint::from(r),
                    den: BigUint::from(den),
                },
            );
            assert_eq!(words.to_bits(), big.to_bits(), "{a:e} {b:e} {r}/{den}");
        }
        // most pairs took the path in words (the rest fall back by design)
        assert!(in_words > ROUNDS / 3, "{in_words} of {ROUNDS}");
    }

    #[test]
    fn integer_interpolation_in_words_matches_the_big_integers() {
        let mut seed = 0x1a7e_u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        for round in 0..100_000 {
            let n = 2 + (next() % 5) as usize;
            let values: Vec<i64> = (0..n)
                .map(|_| match next() % 3 {
                    0 => next() as i64,
                    1 => [i64::MIN, i64::MAX, 0, -1, 1][(next() % 5) as usize],
                    _ => (next() % 2001) as i64 - 1000,
                })
                .collect();
            let digits = (round % 11) as usize;
            let frac: String = (0..digits)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let label = format!("p{}.{frac}", next() % 100);
            let label = label.trim_end_matches('.');
            let f = Fraction::of(label);
            assert!(matches!(f, Fraction::Words { .. }), "{label}");
            let (num, den) = fraction(label);
            let big = Fraction::Big { num, den };
            let (got, want) = (quantile_ints(&values, &f), quantile_ints(&values, &big));
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "{label} of {values:?}"
            );
        }
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
    fn big_merged_lists_kept_apart_answer_as_one_list() {
        // four states of floats, integers or both, each list past
        // KEEP_APART, merged in a chain: the lists stay apart, and every
        // answer, count and byte form is that of one state of all values
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let n = KEEP_APART + 1_000;
        let quantiles = ["p0", "p1", "median", "p99.9", "p100"];
        for kinds in [[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 2, 2], [2, 0, 2, 1]] {
            // kind 0: floats; 1: integers; 2: both
            let (mut all_floats, mut all_ints) = (Vec::new(), Vec::new());
            let mut parts: Vec<Quantile> = Vec::new();
            for kind in kinds {
                let mut part = Quantile::default();
                let len = n + (next() % 5_000) as usize;
                let floats: Vec<Option<f64>> = (0..len)
                    .map(|i| (i % 97 != 0).then(|| (next() % 1_000_000) as f64 / 8.0 - 9e4))
                    .collect();
                let ints: Vec<Option<i64>> = (0..len)
                    .map(|_| Some((next() % 2_000_000) as i64 - 1_000_000))
                    .collect();
                if kind != 1 {
                    feed_floats(&mut part, &floats);
                    all_floats.extend(floats);
                }
                if kind != 0 {
                    part.merge(&mut super::super::testing::ints::<Quantile>(&ints));
                    all_ints.extend(ints.into_iter().flatten());
                }
                parts.push(part);
            }
            // one state of all values, each type in one list
            let mut whole = floats::<Quantile>(&all_floats);
            let int_column = Column {
                len: all_ints.len(),
                data: Data::Int(&all_ints),
                valid: None,
                raw: None,
            };
            whole
                .update(&int_column, Rows::All(all_ints.len()))
                .unwrap();
            assert!(whole.extra.is_none());
            let mut merged = Quantile::default();
            for mut part in parts {
                merged.merge(&mut part);
            }
            let apart = merged
                .extra
                .as_ref()
                .map_or(0, |e| e.float_parts.len() + e.int_parts.len());
            assert!(apart > 0, "{kinds:?}: lists kept apart");
            assert_eq!(merged.len(), whole.len(), "{kinds:?}");
            let ty = if kinds.contains(&0) || kinds.contains(&2) {
                ColumnType::Float
            } else {
                ColumnType::Int
            };
            for q in quantiles {
                let f = Func::Quantile(0.5, q.into());
                assert_eq!(
                    format!("{:?}", merged.finish(ty, &f)),
                    format!("{:?}", whole.finish(ty, &f)),
                    "{kinds:?} {q}"
                );
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            merged.encode(&mut a);
            whole.encode(&mut b);
            assert!(a == b, "{kinds:?}: byte forms differ");
            let (mut sum_a, mut sum_b) = (0.0, 0.0);
            merged.for_each_float(|v| sum_a += v);
            whole.for_each_float(|v| sum_b += v);
            assert_eq!(sum_a.to_bits(), sum_b.to_bits(), "{kinds:?}");
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
