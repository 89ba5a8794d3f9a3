//! `sum` and `mean`: exact integer sums and exactly rounded float sums.

use super::{
    count_valid, each_scattered, first_non_number, for_each_value, AggState, BadValue, ColumnFacts,
    Func, BINNED_ROWS,
};
use num_bigint::{BigInt, BigUint};

use crate::exact::{round_ratio, round_ratio_small, ExactSum};
use crate::value::{
    parse_float_field, parse_int_field, parse_wide_int_field, Column, ColumnType, Data, Rows, Value,
};
use crate::wire::{
    put_bigint, put_bool, put_u8, put_varint, put_zigzag, put_zigzag128, Reader, WireError,
};

use crate::number::EXACT_INT_LIMIT;

/// The shared state of `sum` and `mean`.
///
/// Integer batches are summed exactly: in an `i64` while the sum fits,
/// spilling into an `i128` carry when it would overflow. Should the column
/// turn out to be a float column (some other batch had a decimal value),
/// each integer counts as the `f64` it parses to, like every other value of
/// a float column; `rounding` records the exact difference for the rare
/// integers beyond 2^53 so that the answer does not depend on which batch a
/// value landed in.
///
/// 32 bytes: a million groups means a million states, and the rare parts
/// (the carry and rounding, a float sum's accumulator) are boxed and
/// created on first use.
#[derive(Default, Debug, Clone)]
pub struct SumState {
    /// Values counted, plus [`HAS_INTS`]: whether an integer batch
    /// contributed (even zeros count: `0` in a float column is +0.0, which
    /// makes the sum +0.0).
    count: u64,
    ints: i64,
    big: Option<Box<BigInts>>,
    floats: Option<Box<ExactSum>>,
}

/// The bit of `SumState::count` that says an integer batch contributed.
const HAS_INTS: u64 = 1 << 63;

/// The rare parts of an integer sum.
#[derive(Default, Debug, Clone)]
struct BigInts {
    /// What the `i64` sum spilled: the integer sum is `carry + ints`.
    carry: i128,
    /// Σ (v as f64 − v) over the integers beyond 2^53.
    rounding: i128,
    /// Text batches: a batch with an integer wider than 64 bits is text
    /// (see [`crate::value::is_wide_int_field`]). The exact sum of their
    /// integers, the sum of all their values as the floats they parse to
    /// (the answer should the column hold a decimal anywhere), and whether
    /// they held a decimal.
    wide: BigInt,
    wide_as_floats: ExactSum,
    decimals: bool,
}

impl SumState {
    fn count(&self) -> u64 {
        self.count & !HAS_INTS
    }

    fn has_ints(&self) -> bool {
        self.count & HAS_INTS != 0
    }

    fn big(&mut self) -> &mut BigInts {
        self.big.get_or_insert_with(Box::default)
    }

    /// Adds to the integer sum, spilling into the carry on overflow.
    #[inline]
    fn add_to_ints(&mut self, v: i64) {
        match self.ints.checked_add(v) {
            Some(sum) => self.ints = sum,
            None => {
                let spilled = self.ints;
                self.big().carry += spilled as i128;
                self.ints = v;
            }
        }
    }

    #[inline]
    fn add_int(&mut self, v: i64) {
        self.count |= HAS_INTS;
        self.add_to_ints(v);
        if !(-EXACT_INT_LIMIT..=EXACT_INT_LIMIT).contains(&v) {
            self.big().rounding += (v as f64) as i128 - v as i128;
        }
    }

    /// The exact integer sum.
    fn int_total(&self) -> i128 {
        self.ints as i128 + self.big.as_ref().map_or(0, |b| b.carry)
    }

    fn add_rows(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => match col.valid {
                None => rows.for_each(|r| self.add_int(values[r])),
                Some(valid) => rows.for_each(|r| {
                    if valid[r] {
                        self.add_int(values[r])
                    }
                }),
            },
            // Only a value marks the group as summing floats (`exact_int`):
            // a null in a float batch must not, or the answer would depend
            // on which batch the null's row fell in.
            Data::Float(_) if count_valid(col, rows) == 0 => {}
            Data::Float(values) => {
                let floats = self.floats.get_or_insert_with(Box::default);
                if rows.count() >= BINNED_ROWS {
                    floats.add_many(|sum| {
                        for_each_value(col, values, rows, |v| sum.add(v));
                    });
                } else {
                    rows.for_each(|r| {
                        if col.is_valid(r) {
                            floats.add(values[r])
                        }
                    });
                }
            }
            Data::Text(values) => {
                first_non_number(col, values, rows)?;
                let big = self.big();
                rows.for_each(|r| {
                    if col.is_valid(r) {
                        add_text_number(big, values[r]);
                    }
                });
            }
            Data::Rows => {}
        }
        self.count += count_valid(col, rows);
        Ok(())
    }

    fn absorb(&mut self, other: &mut Self) {
        let has_ints = (self.count | other.count) & HAS_INTS;
        self.count = (self.count() + other.count()) | has_ints;
        self.add_to_ints(other.ints);
        if let Some(theirs) = other.big.take() {
            let mine = self.big();
            mine.carry += theirs.carry;
            mine.rounding += theirs.rounding;
            mine.wide += &theirs.wide;
            mine.wide_as_floats.merge(&theirs.wide_as_floats);
            mine.decimals |= theirs.decimals;
        }
        match (&mut self.floats, other.floats.take()) {
            (Some(mine), Some(theirs)) => mine.merge(&theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }

    /// Whether the sum is an exact integer: an integer column, or a text
    /// one (numbers wider than 64 bits among them) holding no number but
    /// integers, in any group ([`ColumnFacts`]).
    fn exact_int(ty: ColumnType, facts: &ColumnFacts) -> bool {
        match ty {
            ColumnType::Int => true,
            ColumnType::Text => !facts.non_integers,
            _ => false,
        }
    }

    /// The exact integer sum, wide integers included.
    fn int_sum(&self) -> BigInt {
        let wide = self
            .big
            .as_ref()
            .map(|b| b.wide.clone())
            .unwrap_or_default();
        wide + self.int_total()
    }

    /// The exact sum of a float column: the floats, and the integers as the
    /// `f64`s they parse to.
    fn float_sum(&self) -> ExactSum {
        let mut all = self.floats.as_deref().cloned().unwrap_or_default();
        if self.has_ints() {
            let rounding = self.big.as_ref().map_or(0, |b| b.rounding);
            all.add_integer(self.int_total() + rounding);
        }
        if let Some(big) = &self.big {
            all.merge(&big.wide_as_floats);
        }
        all
    }

    /// `f` of [`float_sum`](Self::float_sum), borrowed when the float sum
    /// is all of it (no integer batch, no wide parts): finishing a million
    /// groups then copies no accumulator.
    fn with_float_sum<T>(&self, f: impl FnOnce(&ExactSum) -> T) -> T {
        match &self.floats {
            Some(floats) if !self.has_ints() && self.big.is_none() => f(floats),
            _ => f(&self.float_sum()),
        }
    }

    /// The sum as the column's type: an exact integer, or the correctly
    /// rounded float sum. Null when there were no values.
    fn total(&self, ty: ColumnType, facts: &ColumnFacts) -> Value {
        if self.count() == 0 {
            return Value::Null;
        }
        match ty {
            ColumnType::Int => Value::Int(self.int_total()),
            _ if Self::exact_int(ty, facts) => integer_value(self.int_sum()),
            _ => Value::Float(self.with_float_sum(ExactSum::round)),
        }
    }

    /// The exact sum divided by the count, rounded once. Null when there
    /// were no values.
    fn mean(&self, ty: ColumnType, facts: &ColumnFacts) -> Value {
        let n = self.count();
        if n == 0 {
            return Value::Null;
        }
        Value::Float(if !Self::exact_int(ty, facts) {
            self.with_float_sum(|sum| sum.round_div(n))
        } else if self
            .big
            .as_ref()
            .is_none_or(|b| b.wide.sign() == num_bigint::Sign::NoSign)
        {
            let total = self.int_total();
            round_ratio_small(total < 0, total.unsigned_abs(), n, 0)
        } else {
            round_ratio(&self.int_sum(), &BigUint::from(n), 0)
        })
    }
}

/// Adds one value of a text batch (a number: the caller checked) to the
/// wide-integer parts of a sum.
fn add_text_number(big: &mut BigInts, text: &[u8]) {
    let float = parse_float_field(text).unwrap_or(f64::NAN);
    big.wide_as_floats.add(float);
    match parse_int_field(text)
        .map(BigInt::from)
        .or_else(|| parse_wide_int_field(text))
    {
        Some(v) => big.wide += v,
        None => big.decimals = true,
    }
}

/// An exact integer as an output value: an integer when it fits 128 bits
/// (every sum of 64-bit integers does), else its decimal digits, still an
/// integer ([`Value::IntDigits`]), which JSON prints as a number as it
/// prints a smaller sum. A sum is as long as its longest field, which the
/// input chooses: num-bigint (0.4.7 on) writes it in subquadratic time
/// (see [`crate::number::bigdec`]).
pub(crate) fn integer_value(v: BigInt) -> Value {
    match i128::try_from(&v) {
        Ok(v) => Value::Int(v),
        Err(_) => Value::IntDigits(v.to_string().into_bytes()),
    }
}

/// `sum:col` and `mean:col` (one state serves both).
impl AggState for SumState {
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        self.add_rows(col, rows)
    }
    fn merge(&mut self, other: &mut Self) {
        self.absorb(other);
    }
    fn scatters(col: &Column<'_>) -> bool {
        matches!(col.data, Data::Int(_) | Data::Float(_))
    }
    fn update_scattered(
        states: &mut [Self],
        col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => {
                each_scattered(states, ids, |state, row| {
                    if col.is_valid(row) {
                        state.add_int(values[row]);
                        state.count += 1;
                    }
                });
                Ok(())
            }
            Data::Float(values) => {
                each_scattered(states, ids, |state, row| {
                    if col.is_valid(row) {
                        let floats = state.floats.get_or_insert_with(Box::default);
                        floats.add(values[row]);
                        state.count += 1;
                    }
                });
                Ok(())
            }
            Data::Text(_) | Data::Rows => super::update_each(states, col, ids),
        }
    }
    /// A float batch's value, or a text batch's number that is not an
    /// integer, makes the column's sums floats in every group.
    fn gather(&self, facts: &mut ColumnFacts) {
        facts.non_integers |=
            self.floats.is_some() || self.big.as_ref().is_some_and(|b| b.decimals);
    }
    fn finish(&self, ty: ColumnType, func: &Func) -> Value {
        let mut facts = ColumnFacts::default();
        self.gather(&mut facts);
        self.finish_in(ty, func, &facts)
    }
    fn finish_in(&self, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value {
        match func {
            Func::Mean => self.mean(ty, facts),
            _ => self.total(ty, facts),
        }
    }
    /// The count; a flags byte (bit 0: an integer batch contributed, 1:
    /// the rare parts follow, 2: a float sum follows); the `i64` sum when
    /// bit 0; the carry, the rounding (zigzag `i128`s), the wide sum, its
    /// float sum and the decimals flag when bit 1; the float sum when bit 2.
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.count());
        let flags = self.has_ints() as u8
            | (self.big.is_some() as u8) << 1
            | (self.floats.is_some() as u8) << 2;
        put_u8(out, flags);
        if self.has_ints() {
            put_zigzag(out, self.ints);
        }
        if let Some(big) = &self.big {
            put_zigzag128(out, big.carry);
            put_zigzag128(out, big.rounding);
            put_bigint(out, &big.wide);
            big.wide_as_floats.encode(out);
            put_bool(out, big.decimals);
        }
        if let Some(floats) = &self.floats {
            floats.encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        const AGG: &str = "sum";
        let at = r.pos();
        let count = super::get_count(r, AGG)?;
        let flags = r.get_u8()?;
        if flags >> 3 != 0 {
            return Err(r.bad_state(AGG, at, format!("unknown flags {flags:#x}")));
        }
        let has_ints = flags & 1 != 0;
        if has_ints && count == 0 {
            return Err(r.bad_state(AGG, at, "integers without a count"));
        }
        let mut state = SumState {
            count: count | if has_ints { HAS_INTS } else { 0 },
            ints: if has_ints { r.get_zigzag()? } else { 0 },
            big: None,
            floats: None,
        };
        if flags & 2 != 0 {
            let big = BigInts {
                carry: r.get_zigzag128()?,
                rounding: r.get_zigzag128()?,
                wide: r.get_bigint()?,
                wide_as_floats: ExactSum::decode(r)?,
                decimals: r.get_bool()?,
            };
            // |Σ ints| <= count · 2^63, each rounding under 2^10: bounds
            // that merges of a few hundred states cannot overflow
            let n = count as i128;
            if big.carry.unsigned_abs() > ((n + 1) << 63) as u128
                || big.rounding.unsigned_abs() > (n << 10) as u128
                || (!has_ints && (big.carry != 0 || big.rounding != 0))
            {
                return Err(r.bad_state(AGG, at, "integer carry or rounding out of range"));
            }
            state.big = Some(Box::new(big));
        }
        if flags & 4 != 0 {
            state.floats = Some(Box::new(ExactSum::decode(r)?));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn float_sum_is_exact() {
        let v = [
            Some(1e100),
            Some(1.0),
            None,
            Some(-1e100),
            Some(0.1),
            Some(0.2),
        ];
        let s = floats::<SumState>(&v);
        assert_eq!(s.finish(ColumnType::Float, &Func::Sum), Value::Float(1.3));
        check_merge::<SumState>(&v, ColumnType::Float, &Func::Sum);
        check_merge::<SumState>(&v, ColumnType::Float, &Func::Mean);
        let m = floats::<SumState>(&v);
        // the exact sum 1.3000000000000000444... / 5, rounded once
        assert_eq!(m.finish(ColumnType::Float, &Func::Mean), Value::Float(0.26));
        // 2^53 + 1 + 0 over 3: the rounded sum / 3 says ...330.5
        let m = floats::<SumState>(&[Some(9007199254740992.0), Some(1.0), Some(0.0)]);
        assert_eq!(
            m.finish(ColumnType::Float, &Func::Mean),
            Value::Float(3002399751580331.0)
        );
        let m = floats::<SumState>(&[Some(f64::MAX), Some(f64::MAX)]);
        assert_eq!(
            m.finish(ColumnType::Float, &Func::Mean),
            Value::Float(f64::MAX)
        );
    }

    #[test]
    fn int_sum_does_not_overflow() {
        let v = [Some(i64::MAX), Some(i64::MAX), Some(2)];
        let s = ints::<SumState>(&v);
        assert_eq!(
            s.finish(ColumnType::Int, &Func::Sum),
            Value::Int(2 * i64::MAX as i128 + 2)
        );
    }

    #[test]
    fn int_sums_spill_and_merge_exactly() {
        assert_eq!(std::mem::size_of::<SumState>(), 32);
        let v = [
            Some(i64::MAX),
            Some(i64::MAX),
            Some(i64::MIN),
            Some(i64::MIN),
            Some(i64::MIN),
            None,
            Some(-1),
            Some(i64::MAX),
            Some(5),
        ];
        let want: i128 = v.iter().flatten().map(|&x| x as i128).sum();
        let s = ints::<SumState>(&v);
        assert_eq!(s.finish(ColumnType::Int, &Func::Sum), Value::Int(want));
        // the spilled sum's mean through 128-bit integers, as through BigInt
        let n = BigUint::from(v.iter().flatten().count());
        assert_eq!(
            s.finish(ColumnType::Int, &Func::Mean),
            Value::Float(round_ratio(&BigInt::from(want), &n, 0))
        );
        // every cut, both sides possibly spilled; as a float column too
        // (where i64::MAX counts as the f64 it rounds to)
        for cut in 0..=v.len() {
            let mut a = ints::<SumState>(&v[..cut]);
            a.merge(&mut ints::<SumState>(&v[cut..]));
            for (ty, func) in [
                (ColumnType::Int, Func::Sum),
                (ColumnType::Int, Func::Mean),
                (ColumnType::Float, Func::Sum),
            ] {
                assert_eq!(a.finish(ty, &func), s.finish(ty, &func), "cut {cut}");
            }
        }
        // ±2^63 three times each, then -1 + 5: exactly 4 (a naive f64 sum
        // in this order says 5)
        assert_eq!(s.finish(ColumnType::Float, &Func::Sum), Value::Float(4.0));
    }

    #[test]
    fn integer_mean_is_rounded_once() {
        let v = [
            Some(7570846931225281958),
            Some(3609387305112233261),
            Some(8548464426703313150),
        ];
        let m = ints::<SumState>(&v);
        // Python: sum(xs) / len(xs)
        assert_eq!(
            m.finish(ColumnType::Int, &Func::Mean),
            Value::Float(6.576232887680276e18)
        );
    }

    #[test]
    fn big_ints_in_float_column_count_as_floats() {
        // 2^53 + 1 parses to 2^53 as a float; the float column's sum must not
        // depend on whether the value sat in an integer batch.
        let big = (1i64 << 53) + 1;
        let mut s = ints::<SumState>(&[Some(big)]);
        s.merge(&mut floats::<SumState>(&[Some(0.5)]));
        assert_eq!(
            s.finish(ColumnType::Float, &Func::Sum),
            Value::Float(9007199254740992.5)
        );
    }

    #[test]
    fn wide_integers_in_text_batches_sum_exactly() {
        let (mut s, r) =
            texts::<SumState>(&["89014103211118510720", "", "-5", "89014103211118510721"]);
        assert_eq!(r, Ok(()));
        s.merge(&mut ints::<SumState>(&[Some(12345678901234567)]));
        assert_eq!(
            s.finish(ColumnType::Text, &Func::Sum),
            Value::Int(178040552101138256003)
        );
        assert_eq!(
            s.finish(ColumnType::Text, &Func::Mean),
            Value::Float(4.451013802528457e19)
        );
        // with a decimal anywhere, every value counts as its float
        s.merge(&mut floats::<SumState>(&[Some(0.5)]));
        assert_eq!(
            s.finish(ColumnType::Text, &Func::Sum),
            Value::Float(1.7804055210113827e20)
        );
        assert_eq!(
            s.finish(ColumnType::Text, &Func::Mean),
            Value::Float(3.560811042022765e19)
        );
    }

    #[test]
    fn empty_and_text() {
        assert_eq!(
            SumState::default().finish(ColumnType::Null, &Func::Sum),
            Value::Null
        );
        assert_eq!(
            SumState::default().finish(ColumnType::Float, &Func::Mean),
            Value::Null
        );
        let (_, r) = texts::<SumState>(&["1", "", "x2", "y"]);
        assert_eq!(r, Err(BadValue { row: 2 }));
    }
}
