//! `var`, `std` (sample, n-1) and `var_pop`, `std_pop` (population, n).
//!
//! The state keeps the exact sum of the values and the exact sum of their
//! squares (each square is a 106-bit integer, added without rounding). The
//! variance `(n·Σx² − (Σx)²) / (n·d)` is then evaluated in big-integer
//! arithmetic and rounded once, so it is the correctly rounded variance of
//! the data whatever the partitioning: no Welford drift, no cancellation.

use num_bigint::{BigInt, BigUint};
use num_traits::{Signed, Zero};

use super::{
    count_valid, each_scattered, first_non_number, for_each_value, AggState, BadValue, ColumnFacts,
    Func, BINNED_ROWS,
};
use crate::exact::{
    round_ratio, round_ratio_wide, round_sqrt_ratio, round_sqrt_ratio_wide, ExactSum, SQUARE_SCALE,
    U256, VALUE_SCALE,
};
use crate::value::{
    parse_float_field, parse_int_field, parse_wide_int_field, Column, ColumnType, Data, Rows, Value,
};
use crate::wire::{put_u8, put_varint, put_zigzag128, Reader, WireError};

use crate::number::EXACT_INT_LIMIT;

/// Count, Σx and Σx², all exact. Integers are added exactly; should the
/// column turn out to be float, each integer counts as the `f64` it parses
/// to, and the `rounding_*` fields hold the exact corrections for the rare
/// integers beyond 2^53 (Σ(r−v) and Σ(r²−v²) with r the rounded value).
#[derive(Default, Debug, Clone)]
pub struct Moments {
    count: u64,
    sum: ExactSum,
    squares: ExactSum,
    rounding_sum: i128,
    rounding_squares: i128,
    /// Whether a float batch contributed.
    saw_float: bool,
    /// Text batches (an integer wider than 64 bits makes its batch text).
    text: Option<Box<TextMoments>>,
}

/// Σx and Σx² of the values of text batches: exact, for a column of
/// integers only, and of each value as the float it parses to, for a
/// column that holds a decimal somewhere.
#[derive(Default, Debug, Clone)]
struct TextMoments {
    int_sum: ExactSum,
    int_squares: ExactSum,
    float_sum: ExactSum,
    float_squares: ExactSum,
    decimals: bool,
}

impl TextMoments {
    fn add(&mut self, text: &[u8]) {
        let float = parse_float_field(text).unwrap_or(f64::NAN);
        self.float_sum.add(float);
        self.float_squares.add_square(float);
        match parse_int_field(text)
            .map(BigInt::from)
            .or_else(|| parse_wide_int_field(text))
        {
            Some(v) => {
                self.int_squares.add_big(&(&v * &v), SQUARE_SCALE);
                self.int_sum.add_big(&v, VALUE_SCALE);
            }
            None => self.decimals = true,
        }
    }

    fn merge(&mut self, other: &Self) {
        self.int_sum.merge(&other.int_sum);
        self.int_squares.merge(&other.int_squares);
        self.float_sum.merge(&other.float_sum);
        self.float_squares.merge(&other.float_squares);
        self.decimals |= other.decimals;
    }
}

impl Moments {
    #[inline]
    fn add(&mut self, x: f64) {
        self.sum.add(x);
        self.squares.add_square(x);
    }

    /// Adds integers: Σv and Σv² are summed in plain 128-bit integers
    /// (exact; a sum of squares spills into the accumulator before it could
    /// overflow) and each total is added to its accumulator once.
    fn add_ints(&mut self, values: &[i64], col: &Column<'_>, rows: Rows<'_>) -> u64 {
        let mut n = 0u64;
        let mut sum = 0i128; // |Σv| < 2^63 · 2^32 rows: never overflows
        let mut squares = 0u128;
        rows.for_each(|r| {
            if !col.is_valid(r) {
                return;
            }
            let v = values[r];
            let wide = v as i128;
            sum += wide;
            let sq = wide.unsigned_abs() * wide.unsigned_abs();
            squares = squares.checked_add(sq).unwrap_or_else(|| {
                self.squares.add_square_total(squares);
                sq
            });
            if !(-EXACT_INT_LIMIT..=EXACT_INT_LIMIT).contains(&v) {
                let rounded = (v as f64) as i128;
                self.rounding_sum += rounded - wide;
                self.rounding_squares += (rounded - wide) * (rounded + wide);
            }
            n += 1;
        });
        if n > 0 {
            // (a batch of nulls must not mark the sum as holding a value)
            self.sum.add_integer(sum);
            self.squares.add_square_total(squares);
        }
        n
    }

    fn add_rows(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        let mut n = 0u64;
        match col.data {
            Data::Int(values) => n = self.add_ints(values, col, rows),
            // Only a value marks the state as holding floats (`exact_int`):
            // a null in a float batch must not, or the answer would depend
            // on which batch the null's row fell in.
            Data::Float(_) if !self.saw_float && count_valid(col, rows) > 0 => {
                self.saw_float = true;
                return self.add_rows(col, rows);
            }
            Data::Float(values) if rows.count() >= BINNED_ROWS => {
                self.sum.add_many_with_squares(&mut self.squares, |binned| {
                    n = for_each_value(col, values, rows, |v| binned.add(v));
                });
            }
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.add(values[r]);
                    n += 1;
                }
            }),
            Data::Text(values) => {
                first_non_number(col, values, rows)?;
                let text = self.text.get_or_insert_with(Box::default);
                rows.for_each(|r| {
                    if col.is_valid(r) {
                        text.add(values[r]);
                        n += 1;
                    }
                });
            }
            Data::Rows => {}
        }
        self.count += n;
        Ok(())
    }

    fn absorb(&mut self, other: &Self) {
        self.count += other.count;
        self.sum.merge(&other.sum);
        self.squares.merge(&other.squares);
        self.rounding_sum += other.rounding_sum;
        self.rounding_squares += other.rounding_squares;
        self.saw_float |= other.saw_float;
        match (&mut self.text, &other.text) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
            (_, None) => {}
        }
    }

    /// Whether every value is an integer (some maybe wider than 64 bits),
    /// so that Σx and Σx² are the exact integer sums; otherwise every
    /// value counts as the float it parses to.
    ///
    /// For a text column, a fact of the whole column ([`ColumnFacts`]): no
    /// group holds a number but integers.
    fn exact_int(ty: ColumnType, facts: &ColumnFacts) -> bool {
        match ty {
            ColumnType::Int => true,
            ColumnType::Text => !facts.non_integers,
            _ => false,
        }
    }

    /// `f` of Σx and Σx² as the column's type reads its values, borrowed
    /// when no correction applies (no text batch; exact, or no integer
    /// beyond 2^53): finishing a million groups then copies no accumulator.
    fn with_accumulators<T>(&self, exact: bool, f: impl FnOnce(&ExactSum, &ExactSum) -> T) -> T {
        let plain = exact || (self.rounding_sum == 0 && self.rounding_squares == 0);
        if plain && self.text.is_none() {
            f(&self.sum, &self.squares)
        } else {
            let (sum, squares) = self.accumulators(exact);
            f(&sum, &squares)
        }
    }

    /// Σx and Σx² as the column's type reads its values.
    fn accumulators(&self, exact: bool) -> (ExactSum, ExactSum) {
        let (mut sum, mut squares) = (self.sum.clone(), self.squares.clone());
        if !exact {
            if self.rounding_sum != 0 {
                sum.add_big(&BigInt::from(self.rounding_sum), VALUE_SCALE);
            }
            if self.rounding_squares != 0 {
                squares.add_big(&BigInt::from(self.rounding_squares), SQUARE_SCALE);
            }
        }
        if let Some(t) = &self.text {
            if exact {
                sum.merge(&t.int_sum);
                squares.merge(&t.int_squares);
            } else {
                sum.merge(&t.float_sum);
                squares.merge(&t.float_squares);
            }
        }
        (sum, squares)
    }

    /// The variance with `n - ddof` in the denominator, or with `sqrt` the
    /// standard deviation, each rounded once; null when `n <= ddof`.
    fn variance(&self, ddof: u64, exact: bool, sqrt: bool) -> Option<f64> {
        if self.count <= ddof {
            return None;
        }
        self.with_accumulators(exact, |sum, squares| {
            if sum.special().is_some() || squares.special().is_some() {
                return Some(f64::NAN);
            }
            if let Some(v) = variance_small(self.count, ddof, sqrt, sum, squares) {
                return Some(v);
            }
            let (numerator, exp2) = spread(self.count, sum, squares);
            let denominator = BigUint::from(self.count) * BigUint::from(self.count - ddof);
            Some(if sqrt {
                round_sqrt_ratio(&numerator, &denominator, exp2)
            } else {
                round_ratio(&numerator, &denominator, exp2)
            })
        })
    }
}

impl Moments {
    /// Σx as the column's type: an exact integer, or the correctly rounded
    /// float sum (integers beyond 2^53 counted as the floats they parse to).
    fn total(&self, exact: bool) -> Value {
        if self.count == 0 {
            return Value::Null;
        }
        self.with_accumulators(exact, |sum, _| {
            if let Some(s) = sum.special() {
                return Value::Float(s);
            }
            if exact {
                super::sum::integer_value(sum.to_bigint() >> VALUE_SCALE as usize)
            } else {
                Value::Float(sum.round())
            }
        })
    }

    /// The exact Σx divided by the count, rounded once.
    fn mean(&self, exact: bool) -> Value {
        if self.count == 0 {
            return Value::Null;
        }
        Value::Float(self.with_accumulators(exact, |sum, _| sum.round_div(self.count)))
    }
}

/// `var`, `std`, `var_pop`, `std_pop` of a column; also `sum` and `mean`
/// when those are asked of the same column (one state serves them all).
impl AggState for Moments {
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        self.add_rows(col, rows)
    }
    fn scatters(col: &Column<'_>) -> bool {
        matches!(col.data, Data::Float(_))
    }
    fn update_scattered(
        states: &mut [Self],
        col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        let Data::Float(values) = col.data else {
            return super::update_each(states, col, ids);
        };
        each_scattered(states, ids, |state, row| {
            if col.is_valid(row) {
                state.saw_float = true;
                state.add(values[row]);
                state.count += 1;
            }
        });
        Ok(())
    }
    fn merge(&mut self, other: &mut Self) {
        self.absorb(other);
    }
    /// A float batch's value, or a text batch's number that is not an
    /// integer, makes the column's sums floats in every group.
    fn gather(&self, facts: &mut ColumnFacts) {
        facts.non_integers |= self.saw_float || self.text.as_ref().is_some_and(|t| t.decimals);
    }
    fn finish(&self, ty: ColumnType, func: &Func) -> Value {
        let mut facts = ColumnFacts::default();
        self.gather(&mut facts);
        self.finish_in(ty, func, &facts)
    }
    fn finish_in(&self, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value {
        let exact = Self::exact_int(ty, facts);
        let (ddof, sqrt) = match func {
            Func::Var => (1, false),
            Func::Std => (1, true),
            Func::VarPop => (0, false),
            Func::StdPop => (0, true),
            Func::Sum => return self.total(exact),
            Func::Mean => return self.mean(exact),
            other => unreachable!("moments state finishing {other:?}"),
        };
        self.variance(ddof, exact, sqrt)
            .map_or(Value::Null, Value::Float)
    }
    /// The count; a flags byte (bit 0: a float batch contributed, 1: text
    /// sums follow, 2: their `decimals`); Σx and Σx²; the two roundings
    /// (zigzag `i128`s); with bit 1 the four sums of text batches.
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.count);
        let decimals = self.text.as_ref().is_some_and(|t| t.decimals);
        put_u8(
            out,
            self.saw_float as u8 | (self.text.is_some() as u8) << 1 | (decimals as u8) << 2,
        );
        self.sum.encode(out);
        self.squares.encode(out);
        put_zigzag128(out, self.rounding_sum);
        put_zigzag128(out, self.rounding_squares);
        if let Some(t) = &self.text {
            for s in [&t.int_sum, &t.int_squares, &t.float_sum, &t.float_squares] {
                s.encode(out);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        const AGG: &str = "var/std";
        let at = r.pos();
        let count = super::get_count(r, AGG)?;
        let flags = r.get_u8()?;
        if flags >> 3 != 0 || (flags & 4 != 0 && flags & 2 == 0) {
            return Err(r.bad_state(AGG, at, format!("bad flags {flags:#x}")));
        }
        let mut m = Moments {
            count,
            sum: ExactSum::decode(r)?,
            squares: ExactSum::decode(r)?,
            rounding_sum: r.get_zigzag128()?,
            rounding_squares: r.get_zigzag128()?,
            saw_float: flags & 1 != 0,
            text: None,
        };
        // each integer beyond 2^53 rounds by under 2^10, its square by
        // under 2^75: bounds that merges cannot overflow
        let n = count as u128;
        if m.rounding_sum.unsigned_abs() > n << 10
            || m.rounding_squares.unsigned_abs() > n.saturating_mul(1 << 75).min(1 << 120)
        {
            return Err(r.bad_state(AGG, at, "integer rounding out of range"));
        }
        if flags & 2 != 0 {
            m.text = Some(Box::new(TextMoments {
                int_sum: ExactSum::decode(r)?,
                int_squares: ExactSum::decode(r)?,
                float_sum: ExactSum::decode(r)?,
                float_squares: ExactSum::decode(r)?,
                decimals: flags & 4 != 0,
            }));
        }
        if let Err(why) = m.check() {
            return Err(r.bad_state(AGG, at, why));
        }
        Ok(m)
    }
}

impl Moments {
    /// Refuses a state that no values make (a decoded one: the byte form
    /// checks only each sum's own form). What values make, merges keep:
    ///
    /// - no count, no sums: a state of no values holds zeros, no float
    ///   batch and no decimals;
    /// - a sum is ±inf or NaN exactly when its squares are, +inf or NaN,
    ///   and NaN only with a NaN sum (inf² = +inf, NaN² = NaN); the exact
    ///   sums of integers (`!saw_float`, and the text batches' integer
    ///   sums) hold integers and never a special;
    /// - `n·Σx² ≥ (Σx)²` (Cauchy–Schwarz: the spread of the values), for Σx
    ///   and Σx² as each column type reads them (the two sums
    ///   [`accumulators`](Self::accumulators) gives): otherwise the
    ///   variance came out negative (`std` NaN) or a huge negative number
    ///   (`-inf`). `n` counts values whose finite parts a sum lacks (an
    ///   infinity, a text batch's decimal), which keeps the bound.
    ///
    /// A `reduce` decodes a state per group, so the common state (no text
    /// batch, no integer beyond 2^53) has its sums read once, in fixed
    /// width, and compared in 128 bits where they fit ([`check_plain`]):
    /// about 500 instructions a state, 5% of a `reduce` of nothing but a
    /// million groups' `var` of a float and of an integer column.
    fn check(&self) -> Result<(), &'static str> {
        let text = self.text.as_deref();
        if self.count == 0 {
            let zero = self.sum.is_zero()
                && self.squares.is_zero()
                && text.is_none_or(|t| {
                    !t.decimals
                        && [&t.int_sum, &t.int_squares, &t.float_sum, &t.float_squares]
                            .iter()
                            .all(|s| s.is_zero())
                });
            return match zero && !self.saw_float {
                true => Ok(()),
                false => Err("values without a count"),
            };
        }
        if !specials_agree(&self.sum, &self.squares)
            || text.is_some_and(|t| !specials_agree(&t.float_sum, &t.float_squares))
        {
            return Err("the infinities or NaN of the sum and of its squares disagree");
        }
        let plain = text.is_none() && self.rounding_sum == 0 && self.rounding_squares == 0;
        if plain {
            // the common state: one pair of sums, whatever the column type
            if let Some(checked) =
                check_plain(self.count, &self.sum, &self.squares, !self.saw_float)
            {
                return checked;
            }
        }
        let integers =
            |sum, squares| is_integer(sum, VALUE_SCALE) && is_integer(squares, SQUARE_SCALE);
        if !(self.saw_float || integers(&self.sum, &self.squares))
            || text.is_some_and(|t| !integers(&t.int_sum, &t.int_squares))
        {
            return Err(FRACTION);
        }
        for exact in [true, false] {
            if !exact && plain {
                break; // the same sums
            }
            if self.with_accumulators(exact, |sum, squares| {
                spread_is_negative(self.count, sum, squares)
            }) {
                return Err(SPREAD);
            }
        }
        Ok(())
    }
}

const FRACTION: &str = "a fraction or an infinity in the sums of integers";
const SPREAD: &str = "a sum of squares below the square of the sum over the count";

/// [`Moments::check`]'s integers and bound for a state of one pair of sums
/// (`integers`: of integers only), from the sums' significant parts in
/// fixed width, each read once: `None` where they do not fit (the caller
/// then reads them through the general path). The squares of integers are
/// read as an `i128` where they fit (a few chunks, walked in plain
/// arithmetic); those of floats, wider, as a [`U256`].
fn check_plain(
    n: u64,
    sum: &ExactSum,
    squares: &ExactSum,
    integers: bool,
) -> Option<Result<(), &'static str>> {
    // `v · 2^shift` (units of 2^-scale) is an integer
    let whole =
        |v: i128, shift: i64, scale: i64| v == 0 || shift + i64::from(v.trailing_zeros()) >= scale;
    if integers && sum.special().is_some() {
        return Some(Err(FRACTION)); // (the squares' agree)
    }
    let (s, a) = sum.small()?;
    let (q, b) = if integers {
        let (q, b) = squares.small()?;
        if !(whole(s, a, VALUE_SCALE) && whole(q, b, SQUARE_SCALE)) {
            return Some(Err(FRACTION));
        }
        let q = u128::try_from(q).ok()?;
        if let Some(negative) = spread_is_negative_u128(n, (s, a), (q, b)) {
            return Some(if negative { Err(SPREAD) } else { Ok(()) });
        }
        (U256::from(q), b)
    } else {
        squares.small_unsigned()?
    };
    let (terms, square, _) = spread_terms(n, (s, a), (q, b))?;
    Some(match terms.checked_sub(square) {
        Some(_) => Ok(()),
        None => Err(SPREAD),
    })
}

/// Whether the specials of a sum of values and of the sum of their squares
/// are those of some values: both none, or the squares +inf (an infinity
/// of either sign) or, with a NaN sum, NaN.
fn specials_agree(sum: &ExactSum, squares: &ExactSum) -> bool {
    match (sum.special(), squares.special()) {
        (None, None) => true,
        (Some(_), Some(q)) if q == f64::INFINITY => true,
        (Some(s), Some(q)) => s.is_nan() && q.is_nan(),
        _ => false,
    }
}

/// Whether `s`, an accumulator whose bit `scale` is 2^0, holds an integer
/// (and no special).
fn is_integer(s: &ExactSum, scale: i64) -> bool {
    if s.special().is_some() {
        return false;
    }
    let (v, shift) = match s.small() {
        Some((v, shift)) if v != 0 => return shift + i64::from(v.trailing_zeros()) >= scale,
        Some(_) => return true,
        None => s.to_bigint_scaled(),
    };
    v.trailing_zeros()
        .is_none_or(|zeros| shift + zeros as i64 >= scale)
}

/// Whether `n·Σx² − (Σx)²` ([`spread`]'s numerator) is negative: in
/// fixed-width arithmetic where the terms fit, as the finish does.
fn spread_is_negative(n: u64, sum: &ExactSum, squares: &ExactSum) -> bool {
    match small_spread_terms(n, sum, squares) {
        Some((terms, square, _)) => terms.checked_sub(square).is_none(),
        None => spread(n, sum, squares).0.is_negative(),
    }
}

/// The variance (with `sqrt`, the deviation) of [`spread`]'s numerator in
/// fixed-width arithmetic, when Σx fits in 128 bits, Σx² and the numerator
/// in 256 and the denominator `n · (n - ddof)` in 64: a million groups'
/// deviations then finish without allocating (through `BigInt`, the
/// division and square root were about 15% of a million-group `std`).
/// `None` otherwise, for the caller's `BigInt` path.
fn variance_small(
    n: u64,
    ddof: u64,
    sqrt: bool,
    sum: &ExactSum,
    squares: &ExactSum,
) -> Option<f64> {
    let (terms, square, low) = small_spread_terms(n, sum, squares)?;
    let numerator = terms.checked_sub(square)?;
    let denominator = n.checked_mul(n - ddof)?;
    let exp2 = low - SQUARE_SCALE;
    if sqrt {
        round_sqrt_ratio_wide(numerator, denominator, exp2)
    } else {
        Some(round_ratio_wide(numerator, denominator, exp2))
    }
}

/// `n·Σx²` and `(Σx)²` of [`spread`] as 256-bit integers in units of
/// `2^(low - 2148)`, and `low`, when Σx fits in 128 bits and Σx² (not
/// negative) and both terms in 256; `None` otherwise.
fn small_spread_terms(n: u64, sum: &ExactSum, squares: &ExactSum) -> Option<(U256, U256, i64)> {
    spread_terms(n, sum.small()?, squares.small_unsigned()?)
}

/// Whether `n·Σx² < (Σx)²` for Σx = `s · 2^(a - 1074)` and Σx² =
/// `q · 2^(b - 2148)`, where both terms fit in 128 bits (a few integers'
/// sums, as [`spread_terms`] aligns them): `None` otherwise.
fn spread_is_negative_u128(n: u64, (s, a): (i128, i64), (q, b): (u128, i64)) -> Option<bool> {
    let shl = |v: u128, k: i64| {
        let k = u32::try_from(k).ok()?;
        v.checked_shl(k).filter(|_| v.leading_zeros() >= k)
    };
    let low = if s == 0 { b } else { b.min(2 * a) };
    let terms = shl(q.checked_mul(u128::from(n))?, b - low)?;
    let s = s.unsigned_abs();
    let square = shl(s.checked_mul(s)?, 2 * a - low)?;
    Some(terms < square)
}

/// [`small_spread_terms`] of Σx = `s · 2^(a - 1074)` and Σx² =
/// `q · 2^(b - 2148)`.
fn spread_terms(n: u64, (s, a): (i128, i64), (q, b): (U256, i64)) -> Option<(U256, U256, i64)> {
    // (one of the two shifts is 0)
    let shl = |v: U256, k: i64| match k {
        0 => Some(v),
        k => v.checked_shl(u32::try_from(k).ok()?),
    };
    let low = if s == 0 { b } else { b.min(2 * a) };
    let terms = shl(q.times(n)?, b - low)?;
    let s = s.unsigned_abs();
    let square = shl(U256::mul(s, s), 2 * a - low)?;
    Some((terms, square, low))
}

/// `n·Σx² − (Σx)²` of `n` values' exact sums, as `(v, e)` with the value
/// `v · 2^e`: the numerator of their variance, never negative. Computed
/// from the sums' significant limbs ([`ExactSum::to_bigint_scaled`]), each
/// shifted only by the difference of their exponents, not from the
/// integers of 2^1074 and 2^2148 units, whose products and division ran on
/// thirty to seventy limbs per group.
fn spread(n: u64, sum: &ExactSum, squares: &ExactSum) -> (BigInt, i64) {
    let (s, a) = sum.to_bigint_scaled(); // Σx = s · 2^(a - 1074)
    let (q, b) = squares.to_bigint_scaled(); // Σx² = q · 2^(b - 2148)
                                             // (Σx)² = s² · 2^(2a - 2148): both terms at the lower exponent
    let low = if s.is_zero() { b } else { b.min(2 * a) };
    let terms = (BigInt::from(n) * q) << (b - low) as usize;
    let numerator = terms - ((&s * &s) << (2 * a - low) as usize);
    (numerator, low - SQUARE_SCALE)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::wire::Reader;

    /// Batch sums of integer squares overflow `u128` after four values near
    /// `i64::MAX`: the spills must keep them exact, and a batch of nulls
    /// must leave the sums untouched.
    #[test]
    fn integer_squares_spill_exactly() {
        let one = [
            Some(i64::MAX),
            Some(i64::MIN),
            None,
            Some(i64::MAX - 1),
            Some(-5),
        ];
        let values: Vec<Option<i64>> = one.iter().copied().cycle().take(35).collect();
        let m = ints::<Moments>(&values);
        let (mut sum, mut squares) = (ExactSum::default(), ExactSum::default());
        for &v in values.iter().flatten() {
            sum.add_integer(v as i128);
            squares.add_integer_square(v as i128);
        }
        assert_eq!(m.sum.to_bigint(), sum.to_bigint());
        assert_eq!(m.squares.to_bigint(), squares.to_bigint());
        assert_eq!(m.count, 28);
        let nulls = ints::<Moments>(&[None, None]);
        assert_eq!(nulls.count, 0);
        assert!(nulls.sum.is_zero() && nulls.squares.is_zero());
        assert_eq!(nulls.finish(ColumnType::Float, &Func::Sum), Value::Null);
    }

    /// The variance from the sums' significant limbs ([`spread`]) is the
    /// one from their full integers, bit for bit: values near 1, tiny and
    /// huge magnitudes, cancellations, integers, zero sums.
    #[test]
    fn spread_is_the_full_formula() {
        let full = |m: &Moments, ddof: u64, exact: bool, sqrt: bool| {
            let (sum, squares) = m.accumulators(exact);
            let (s, q) = (sum.to_bigint(), squares.to_bigint());
            let numerator = BigInt::from(m.count) * q - &s * &s;
            let den = BigUint::from(m.count) * BigUint::from(m.count - ddof);
            if sqrt {
                round_sqrt_ratio(&numerator, &den, -SQUARE_SCALE)
            } else {
                round_ratio(&numerator, &den, -SQUARE_SCALE)
            }
        };
        let mut state = 0x7a11_5eedu64;
        let mut next = || crate::testing::xorshift(&mut state);
        for round in 0..3000 {
            let len = 2 + (next() % 9) as usize;
            let m = if round % 5 == 4 {
                let v: Vec<Option<i64>> = (0..len)
                    .map(|_| Some(next() as i64 >> (next() % 64)))
                    .collect();
                ints::<Moments>(&v)
            } else {
                let v: Vec<Option<f64>> = (0..len)
                    .map(|i| {
                        let x = match next() % 5 {
                            0 => f64::from_bits(next() >> 2), // any magnitude
                            1 => 0.0,
                            _ => (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5,
                        };
                        Some(if i % 3 == 2 { -x } else { x })
                    })
                    .collect();
                floats::<Moments>(&v)
            };
            for (ddof, sqrt) in [(0, false), (1, false), (0, true), (1, true)] {
                let exact = round % 5 == 4;
                let got = m.variance(ddof, exact, sqrt).expect("n > ddof");
                let want = full(&m, ddof, exact, sqrt);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{m:?} ddof {ddof} sqrt {sqrt}"
                );
            }
        }
    }

    fn two_pass(v: &[f64], ddof: usize) -> f64 {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - ddof) as f64
    }

    #[test]
    fn known_values() {
        let v = [
            Some(2.0),
            Some(4.0),
            Some(4.0),
            Some(4.0),
            Some(5.0),
            Some(5.0),
            Some(7.0),
            Some(9.0),
        ];
        assert_eq!(
            floats::<Moments>(&v).finish(ColumnType::Float, &Func::VarPop),
            Value::Float(4.0)
        );
        assert_eq!(
            floats::<Moments>(&v).finish(ColumnType::Float, &Func::StdPop),
            Value::Float(2.0)
        );
        assert_eq!(
            floats::<Moments>(&v).finish(ColumnType::Float, &Func::Var),
            Value::Float(32.0 / 7.0)
        );
        check_merge::<Moments>(&v, ColumnType::Float, &Func::Var);
        check_merge::<Moments>(&v, ColumnType::Float, &Func::StdPop);
        check_merge::<Moments>(&v, ColumnType::Float, &Func::Sum);
        check_merge::<Moments>(&v, ColumnType::Float, &Func::Mean);
    }

    #[test]
    fn no_cancellation_with_large_offset() {
        // Naive Σx² − (Σx)²/n loses everything here; exact arithmetic does not.
        let base = 1e9;
        let raw = [4.0, 7.0, 13.0, 16.0];
        let v: Vec<Option<f64>> = raw.iter().map(|x| Some(base + x)).collect();
        let got = floats::<Moments>(&v).finish(ColumnType::Float, &Func::Var);
        assert_eq!(got, Value::Float(30.0));
        let plain: Vec<f64> = raw.to_vec();
        assert_eq!(two_pass(&plain, 1), 30.0);
    }

    #[test]
    fn agrees_with_two_pass() {
        let v: Vec<f64> = (0..500)
            .map(|i| ((i * 7919) % 1000) as f64 / 37.0 - 3.0)
            .collect();
        let opt: Vec<Option<f64>> = v.iter().copied().map(Some).collect();
        let Value::Float(got) = floats::<Moments>(&opt).finish(ColumnType::Float, &Func::Var)
        else {
            panic!()
        };
        let want = two_pass(&v, 1);
        assert!(((got - want) / want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn big_integers_are_exact_and_float_columns_round_them() {
        let big = 100_000_000_000_000_000i64;
        let v = [Some(big + 1), Some(big + 2), Some(big + 3)];
        let s = ints::<Moments>(&v);
        assert_eq!(s.finish(ColumnType::Int, &Func::Var), Value::Float(1.0));
        // as floats the three values are all 1e17 (the spacing there is 16)
        assert_eq!(s.finish(ColumnType::Float, &Func::Var), Value::Float(0.0));
        let mut mixed = ints::<Moments>(&v);
        mixed.merge(&mut floats::<Moments>(&[Some(1e17)]));
        assert_eq!(
            mixed.finish(ColumnType::Float, &Func::Var),
            Value::Float(0.0)
        );
    }

    #[test]
    fn wide_integers_are_exact() {
        let (mut m, r) = texts::<Moments>(&["89014103211118510720", "89014103211118510722"]);
        assert_eq!(r, Ok(()));
        m.merge(&mut ints::<Moments>(&[Some(1), None]));
        assert_eq!(m.count, 3);
        assert_eq!(
            m.finish(ColumnType::Text, &Func::Sum),
            Value::Int(178028206422237021443)
        );
        // exact mean 59342735474079014481, var of (a, a + 2, 1)
        assert_eq!(
            m.finish(ColumnType::Text, &Func::Mean),
            Value::Float(5.934273547407901e19)
        );
        assert_eq!(
            m.finish(ColumnType::Text, &Func::Var),
            Value::Float(2.6411701901598862e39)
        );
    }

    fn decoded(m: &Moments) -> Result<Moments, String> {
        let mut bytes = Vec::new();
        m.encode(&mut bytes);
        let mut r = Reader::new(&bytes);
        let decoded = Moments::decode(&mut r).map_err(|e| e.0)?;
        r.finish().map_err(|e| e.0)?;
        Ok(decoded)
    }

    fn sum_of(values: &[f64]) -> (ExactSum, ExactSum) {
        let (mut sum, mut squares) = (ExactSum::default(), ExactSum::default());
        for &v in values {
            sum.add(v);
            squares.add_square(v);
        }
        (sum, squares)
    }

    /// A decoded state must be one some values make: a crafted partial
    /// whose squares are too small for its sum finished as a negative
    /// variance (`std` NaN, `-inf` past the float range), and one of no
    /// values with sums left them in any group it was merged into.
    #[test]
    fn decode_refuses_sums_no_values_make() {
        let refused = |m: &Moments, why: &str| {
            let err = decoded(m).expect_err(why);
            assert!(
                err.starts_with("bad state for var/std at byte 0: ") && err.contains(why),
                "{err}"
            );
        };
        let spread = "a sum of squares below the square of the sum over the count";
        // 1, 2, 3 counted as two: 2·14 - 36 < 0 (var -4, std NaN)
        let mut m = ints::<Moments>(&[Some(1), Some(2), Some(3)]);
        assert_eq!(
            decoded(&m).unwrap().finish(ColumnType::Int, &Func::Var),
            Value::Float(1.0)
        );
        m.count = 2;
        refused(&m, spread);
        // floats near the top of the range: the variance was -inf
        let mut m = floats::<Moments>(&[Some(1e300), Some(1e300)]);
        m.squares = sum_of(&[1e300]).1;
        assert_eq!(
            m.finish(ColumnType::Float, &Func::Var),
            Value::Float(f64::NEG_INFINITY)
        );
        refused(&m, spread);
        // one value short of the bound is accepted: n·Σx² = (Σx)² exactly
        let m = floats::<Moments>(&[Some(0.1), Some(0.1), Some(0.1)]);
        assert_eq!(
            decoded(&m).unwrap().finish(ColumnType::Float, &Func::Var),
            Value::Float(0.0)
        );
        // squares below zero, and sums too wide for the fixed-width test
        let mut m = floats::<Moments>(&[Some(1.0), Some(2.0)]);
        m.squares.add_big(&BigInt::from(-100), SQUARE_SCALE);
        refused(&m, spread);
        let mut m = ints::<Moments>(&[Some(1), Some(2), Some(3)]);
        m.sum.add_big(&(BigInt::from(1) << 200u32), VALUE_SCALE);
        refused(&m, spread);
        // no count, but sums, or a float batch
        let mut m = floats::<Moments>(&[Some(2.5)]);
        m.count = 0;
        refused(&m, "values without a count");
        let mut m = Moments::default();
        m.squares.add_square(3.0);
        refused(&m, "values without a count");
        let m = Moments {
            saw_float: true,
            ..Moments::default()
        };
        refused(&m, "values without a count");
        // infinities: the squares of an infinity are +inf, of NaN NaN
        let mut m = floats::<Moments>(&[Some(1.0), Some(f64::INFINITY)]);
        m.squares = sum_of(&[1.0]).1;
        refused(&m, "infinities or NaN");
        let mut m = floats::<Moments>(&[Some(1.0), Some(2.0)]);
        m.squares.add_square(f64::NAN);
        refused(&m, "infinities or NaN");
        let mut m = floats::<Moments>(&[Some(1.0), Some(f64::NEG_INFINITY)]);
        m.squares.add_square(f64::NAN);
        refused(&m, "infinities or NaN");
        // integers only, yet a fraction
        let mut m = ints::<Moments>(&[Some(1), Some(2)]);
        m.sum.add(0.5);
        refused(&m, "a fraction or an infinity in the sums of integers");
        let mut m = ints::<Moments>(&[Some(1), Some(2)]);
        m.sum.add(f64::INFINITY);
        m.squares.add_square(f64::INFINITY);
        refused(&m, "a fraction or an infinity in the sums of integers");
        let mut m = ints::<Moments>(&[Some(1), Some(2)]);
        m.squares.add_big(&BigInt::from(1), 0); // 2^-2148
        refused(&m, "a fraction or an infinity in the sums of integers");
        // the text batches' sums: their integer sums, and the sums as
        // floats (with the roundings of integers beyond 2^53)
        let (mut m, r) = texts::<Moments>(&["89014103211118510720", "1", "2"]);
        assert_eq!(r, Ok(()));
        assert!(decoded(&m).is_ok());
        let t = m.text.as_mut().unwrap();
        t.int_squares = ExactSum::default();
        t.int_squares.add_integer_square(5);
        refused(&m, spread);
        let (mut m, _) = texts::<Moments>(&["89014103211118510720", "1", "2"]);
        m.text.as_mut().unwrap().float_squares = sum_of(&[1.0]).1;
        refused(&m, spread);
        // two values 2^53 + 1, as floats 2^53 each: the spread is 0 both
        // ways, and one less in the floats' squares makes it negative
        let big = 9_007_199_254_740_993i64;
        let mut m = ints::<Moments>(&[Some(big), Some(big)]);
        assert!(decoded(&m).is_ok());
        m.rounding_squares -= 1;
        refused(&m, spread);
    }

    /// What values make is accepted, and states that pass merge into
    /// states that pass: specials of every kind, both kinds of batch,
    /// integers beyond 2^53 and beyond 64 bits, zeros of both signs.
    #[test]
    fn decode_accepts_what_values_make() {
        let text_state = |v: &[&str]| {
            let (m, r) = texts::<Moments>(v);
            assert_eq!(r, Ok(()), "{v:?}");
            m
        };
        let floats_of =
            |v: &[f64]| floats::<Moments>(&v.iter().map(|&x| Some(x)).collect::<Vec<_>>());
        let states = [
            Moments::default(),
            ints::<Moments>(&[None, None]),
            floats::<Moments>(&[None]),
            floats_of(&[-0.0, 0.0]),
            floats_of(&[f64::INFINITY]),
            floats_of(&[f64::NEG_INFINITY, 1.0]),
            floats_of(&[f64::INFINITY, f64::NEG_INFINITY]),
            floats_of(&[f64::NAN, 2.0]),
            floats_of(&[5e-324, 1e308, -1e308, 0.1]),
            floats_of(&(0..200).map(|i| i as f64 * 0.37).collect::<Vec<_>>()),
            ints::<Moments>(&[Some(i64::MAX), Some(i64::MIN), Some(9_007_199_254_740_993)]),
            text_state(&["89014103211118510720", "-3", "0.5", "inf"]),
            text_state(&["-89014103211118510720", "nan", "-inf"]),
            text_state(&["-89014103211118510720", "1"]),
        ];
        for a in &states {
            decoded(a).unwrap_or_else(|e| panic!("{a:?}: {e}"));
            for b in &states {
                let mut m = decoded(a).unwrap();
                m.merge(&mut decoded(b).unwrap());
                decoded(&m).unwrap_or_else(|e| panic!("{a:?} + {b:?}: {e}"));
            }
        }
    }

    #[test]
    fn too_few_values() {
        let f = Func::Var;
        assert_eq!(
            floats::<Moments>(&[Some(1.0)]).finish(ColumnType::Float, &f),
            Value::Null
        );
        assert_eq!(
            floats::<Moments>(&[Some(1.0)]).finish(ColumnType::Float, &Func::VarPop),
            Value::Float(0.0)
        );
        assert_eq!(
            Moments::default().finish(ColumnType::Null, &Func::VarPop),
            Value::Null
        );
        let ints_state = ints::<Moments>(&[Some(1), Some(2), Some(3), None]);
        assert_eq!(ints_state.finish(ColumnType::Int, &f), Value::Float(1.0));
    }
}
