//! `min` and `max`: numeric order for numeric columns, byte order for text.
//!
//! A CSV column is text if any one of its values is not a number, and that
//! value may sit in any partition. Then the answer is the byte-order extreme
//! of every value's original text, numbers included. Keeping the text
//! extremes of numeric batches costs a comparison of every value's bytes
//! (about a seventh of a many-column `min`/`max` query), for a case that
//! almost never happens. So the plain states ([`Min`], [`Max`]) skip it and
//! remember that they did; if the column ends up text, [`AggState::complete`]
//! says so and the scheduler runs the map again with [`MinText`] and
//! [`MaxText`], which keep the text of every batch.
//!
//! One kind of text column is compared by value all the same: one made
//! text only by integers wider than 64 bits (a Polars Int128 column, a
//! UInt64 past 2^63 - 1, IDs of twenty digits in a CSV file). Its values
//! are integers, and their text order would put `18446744073709551616`
//! below `3`. So the states also keep the integer extreme of the text
//! values that are integers ([`integer_digits`]), and whether some text
//! value is an integer past 64 bits and some is no integer at all; the
//! column's answer is the integer one when some value read is wider than
//! 64 bits and every one is an integer (facts of the whole column,
//! [`ColumnFacts`], so that every group of a `--by` answers alike).

use std::cmp::Ordering;

use super::{AggState, BadValue, ColumnFacts, Func};
use crate::number::{integer_digits, parse_int, plain_integer};
use crate::value::{
    canonical_nan, float_cmp, int_text, integer_order, parse_int_field, signed_digits, Column,
    ColumnType, Data, Rows, SignedDigits, Value,
};
use crate::wire::{put_bytes, put_f64, put_u8, put_zigzag, Reader, WireError};

/// `MAX`: a maximum, else a minimum; `TEXT`: keep the text extremes of
/// numeric batches too.
#[derive(Default, Debug, Clone)]
pub struct Extreme<const MAX: bool, const TEXT: bool> {
    int: Option<i64>,
    float: Option<f64>,
    text: Option<Vec<u8>>,
    /// The extreme by value of the text values that are integers, as `-`
    /// and digits; `None` once some text value is not an integer.
    digits: Option<Vec<u8>>,
    /// Some text value is an integer beyond 64 bits.
    wide: bool,
    /// Some text value is not an integer ([`integer_digits`]).
    not_integer: bool,
    /// A numeric batch's text was not looked at.
    text_skipped: bool,
}

impl<const MAX: bool, const TEXT: bool> Extreme<MAX, TEXT> {
    /// True when `candidate` should replace `current`.
    #[inline]
    fn better(ord: Ordering) -> bool {
        if MAX {
            ord == Ordering::Greater
        } else {
            ord == Ordering::Less
        }
    }

    /// The extreme of `key(r)` over the batch's valid selected rows, `None`
    /// when there are none. A plain loop over all rows, so that it
    /// vectorises: offering values one by one chains every comparison to
    /// the one before. A null's key (of the placeholder value under it) is
    /// replaced by the identity of `pick` rather than branched around: a
    /// branch per row, taken at random for a column with 5% nulls, cost
    /// the float column `y` of the benchmark's Q2 several times what `x`
    /// costs.
    #[inline]
    fn batch_best(col: &Column<'_>, rows: Rows<'_>, key: impl Fn(usize) -> i64) -> Option<i64> {
        let pick = |a: i64, b: i64| if MAX { a.max(b) } else { a.min(b) };
        let identity = if MAX { i64::MIN } else { i64::MAX };
        let mut best = identity;
        match (rows, col.valid) {
            (Rows::All(n), None) => {
                best = (0..n).fold(best, |b, r| pick(b, key(r)));
                (n > 0).then_some(best)
            }
            (Rows::All(n), Some(valid)) => {
                let valid = &valid[..n];
                best = (0..n).fold(best, |b, r| {
                    // a select as arithmetic (all ones or zeros), which the
                    // compiler keeps branch-free and vectorises
                    let keep = (valid[r] as i64).wrapping_neg();
                    pick(b, (key(r) & keep) | (identity & !keep))
                });
                valid.contains(&true).then_some(best)
            }
            _ => {
                let mut any = false;
                rows.for_each(|r| {
                    if col.is_valid(r) {
                        any = true;
                        best = pick(best, key(r));
                    }
                });
                any.then_some(best)
            }
        }
    }

    #[inline]
    fn offer_int(&mut self, v: i64) {
        if self.int.is_none_or(|c| Self::better(v.cmp(&c))) {
            self.int = Some(v);
        }
    }

    #[inline]
    fn offer_float(&mut self, v: f64) {
        // total order: -0.0 < 0.0 and NaN above everything, so the answer
        // never depends on which of two "equal" values came first
        if self.float.is_none_or(|c| Self::better(float_cmp(v, c))) {
            self.float = Some(v);
        }
    }

    /// Offers `v`, an integer as `-` and digits (see [`integer_digits`]).
    fn offer_digits(&mut self, v: SignedDigits<'_>) {
        let current = self.digits.as_deref().map(signed_digits);
        if current.is_none_or(|c| Self::better(integer_order(v, c))) {
            let (negative, digits) = v;
            let mut d = Vec::with_capacity(digits.len() + 1);
            if negative {
                d.push(b'-');
            }
            d.extend_from_slice(digits);
            self.digits = Some(d);
        }
    }

    /// Keeps the integer extreme of a text batch's `values` (see the
    /// module docs), until some value is not an integer: then no text
    /// value is compared by value, and the state stops looking.
    fn offer_integers(&mut self, col: &Column<'_>, rows: Rows<'_>, values: &[&[u8]]) {
        if self.not_integer {
            return;
        }
        let found = match rows {
            Rows::All(n) => Self::integer_extremes(col, 0..n, values),
            Rows::Some(ids) => Self::integer_extremes(col, ids.iter().map(|&r| r as usize), values),
        };
        let Some((narrow, wide)) = found else {
            self.not_integer = true;
            self.digits = None;
            return;
        };
        self.wide |= wide.is_some();
        if let Some(w) = wide {
            self.offer_digits(w);
        }
        if let Some(i) = narrow {
            let mut buf = [0; 20];
            self.offer_digits(signed_digits(int_text(i, &mut buf)));
        }
    }

    /// The extremes of the values of `rows` that fit 64 bits and of those
    /// wider (as [`integer_digits`] reads them); `None` if some value is
    /// not an integer. Most values of such a column fit 64 bits: they take
    /// the plain integer reader and an integer comparison, in a loop of its
    /// own (a closure per row cost a typed column of short digit strings a
    /// quarter of its `min`/`max` time).
    #[inline(always)]
    fn integer_extremes<'v>(
        col: &Column<'_>,
        rows: impl Iterator<Item = usize>,
        values: &[&'v [u8]],
    ) -> Option<(Option<i64>, Option<SignedDigits<'v>>)> {
        let mut narrow = if MAX { i64::MIN } else { i64::MAX };
        let mut any_narrow = false;
        let mut wide: Option<SignedDigits<'_>> = None;
        for r in rows {
            if !col.is_valid(r) {
                continue;
            }
            let v = values[r];
            let i = match parse_int(v) {
                Some(i) => {
                    // `parse_int` reads `007` too, which is text
                    let digits = match v[0] {
                        b'-' | b'+' => &v[1..],
                        _ => v,
                    };
                    if digits.len() > 1 && digits[0] == b'0' {
                        return None;
                    }
                    i
                }
                // blanks around, wider than 64 bits, or no integer
                None => match (integer_digits(v)?, parse_int_field(v)) {
                    (_, Some(i)) => i,
                    (w, None) => {
                        if wide.is_none_or(|b| Self::better(integer_order(w, b))) {
                            wide = Some(w);
                        }
                        continue;
                    }
                },
            };
            narrow = if MAX { narrow.max(i) } else { narrow.min(i) };
            any_narrow = true;
        }
        Some((any_narrow.then_some(narrow), wide))
    }

    /// The answer of a column that is text only for its integers wider
    /// than 64 bits: the extreme by value of its integers, those of its
    /// integer batches and those of its text.
    fn integer_answer(&self) -> Value {
        let ints = self.int.map(|v| Value::Int(v.into()));
        let text = self.digits.as_deref().map(digits_value);
        match (ints, text) {
            (Some(a), Some(b)) => {
                if Self::better(b.total_cmp(&a)) {
                    b
                } else {
                    a
                }
            }
            (a, b) => a.or(b).unwrap_or(Value::Null),
        }
    }

    #[inline]
    fn offer_text(&mut self, v: &[u8]) {
        match &mut self.text {
            Some(c) => {
                if Self::better(v.cmp(c)) {
                    c.clear();
                    c.extend_from_slice(v);
                }
            }
            None => self.text = Some(v.to_vec()),
        }
    }
}

/// A state's `digits` as an output value: an integer where it fits 128
/// bits, else its digits ([`Value::IntDigits`], as a sum past 128 bits).
fn digits_value(d: &[u8]) -> Value {
    crate::number::plain_integer_i128(d).map_or_else(|| Value::IntDigits(d.to_vec()), Value::Int)
}

/// An integer that orders as [`float_cmp`] orders floats (the map
/// `f64::total_cmp` uses, of the float with its NaN made the one NaN
/// [`float_cmp`] puts last): negative floats get their magnitude bits
/// flipped.
#[inline]
pub(super) fn total_key(v: f64) -> i64 {
    let bits = canonical_nan(v).to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The float of a [`total_key`] (the map is its own inverse; a NaN comes
/// back as the canonical one).
#[inline]
fn from_total_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The first 8 bytes as a big-endian integer, zero-padded: ordering these
/// integers orders the strings, except on ties, which need a full compare.
#[inline]
fn prefix(v: &[u8]) -> u64 {
    if v.len() >= 8 {
        u64::from_be_bytes(v[..8].try_into().expect("8 bytes"))
    } else {
        let mut b = [0u8; 8];
        b[..v.len()].copy_from_slice(v);
        u64::from_be_bytes(b)
    }
}

impl<const MAX: bool, const TEXT: bool> AggState for Extreme<MAX, TEXT> {
    /// the text of numeric values decides the bet (`text_skipped`)
    const READS_RAW: bool = true;
    const TAKES_TEXT: bool = true;

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => {
                if let Some(v) = Self::batch_best(col, rows, |r| values[r]) {
                    self.offer_int(v);
                }
            }
            Data::Float(values) => {
                if let Some(k) = Self::batch_best(col, rows, |r| total_key(values[r])) {
                    self.offer_float(from_total_key(k));
                }
            }
            Data::Text(_) | Data::Rows => {}
        }
        let raw = match col.data {
            Data::Text(t) => {
                let text = col.raw.unwrap_or(t);
                self.offer_integers(col, rows, text);
                Some(text)
            }
            _ if TEXT => col.raw,
            _ => {
                // a numeric batch's text (a CSV field's bytes, or the one
                // spelling of a typed batch's integer) decides if the
                // column ends up text
                self.text_skipped |= rows.count() > 0;
                None
            }
        };
        if let (None, Data::Int(values), true) = (raw, col.data, TEXT) {
            // a typed batch has no text: its integers' spelling stands for it
            let mut buf = [0; 20];
            let mut best: Option<Vec<u8>> = None;
            rows.for_each(|r| {
                if col.is_valid(r) {
                    let v = int_text(values[r], &mut buf);
                    if best.as_deref().is_none_or(|b| Self::better(v.cmp(b))) {
                        best = Some(v.to_vec());
                    }
                }
            });
            if let Some(b) = best {
                self.offer_text(&b);
            }
        }
        if let Some(raw) = raw {
            // Find the batch's extreme first, then copy it once. Comparing
            // 8-byte prefixes as integers settles almost every comparison
            // without a call to memcmp.
            let mut best: Option<(u64, &[u8])> = None;
            rows.for_each(|r| {
                if !col.is_valid(r) {
                    return;
                }
                let v = raw[r];
                let p = prefix(v);
                let replace = match best {
                    None => true,
                    Some((bp, b)) => Self::better(p.cmp(&bp).then_with(|| v.cmp(b))),
                };
                if replace {
                    best = Some((p, v));
                }
            });
            if let Some((_, b)) = best {
                self.offer_text(b);
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        if let Some(v) = other.int {
            self.offer_int(v);
        }
        if let Some(v) = other.float {
            self.offer_float(v);
        }
        if let Some(v) = other.text.take() {
            self.offer_text(&v);
        }
        self.wide |= other.wide;
        self.not_integer |= other.not_integer;
        if self.not_integer {
            self.digits = None;
        } else if let Some(v) = other.digits.take() {
            self.offer_digits(signed_digits(&v));
        }
        self.text_skipped |= other.text_skipped;
    }

    /// Every group's text values and floats decide whether a text column's
    /// answers are integers: they must all be integers (see the module
    /// docs).
    fn gather(&self, facts: &mut ColumnFacts) {
        facts.wide_integers |= self.wide;
        facts.not_integers |= self.not_integer || self.float.is_some();
    }

    /// A text answer needs the text of every batch; an integer one (see
    /// [`gather`](Self::gather)) does not.
    fn complete(&self, ty: ColumnType, facts: &ColumnFacts) -> bool {
        ty != ColumnType::Text || !self.text_skipped || integers_only(facts)
    }

    fn finish_in(&self, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value {
        if ty == ColumnType::Text && integers_only(facts) {
            return self.integer_answer();
        }
        self.finish(ty, func)
    }

    fn finish(&self, ty: ColumnType, _func: &Func) -> Value {
        match ty {
            ColumnType::Null => Value::Null,
            ColumnType::Int => self.int.map_or(Value::Null, |v| Value::Int(v.into())),
            ColumnType::Float => {
                let mut best = self.float;
                if let Some(i) = self.int {
                    let f = i as f64;
                    if best.is_none_or(|b| Self::better(float_cmp(f, b))) {
                        best = Some(f);
                    }
                }
                best.map_or(Value::Null, Value::Float)
            }
            ColumnType::Text => self.text.clone().map_or(Value::Null, Value::Text),
        }
    }

    /// A flags byte (bit 0: an integer, 1: a float, 2: a text follow; 3:
    /// `text_skipped`; 4: the integer extreme of text values follows; 5:
    /// `wide`; 6: `not_integer`), then those present: the integer
    /// (zigzag), the float's bits, the text, the digits (length-prefixed).
    /// The same for the text variants: a state that skipped text decodes
    /// as incomplete there too.
    fn encode(&self, out: &mut Vec<u8>) {
        let flags = self.int.is_some() as u8
            | (self.float.is_some() as u8) << 1
            | (self.text.is_some() as u8) << 2
            | (self.text_skipped as u8) << 3
            | (self.digits.is_some() as u8) << 4
            | (self.wide as u8) << 5
            | (self.not_integer as u8) << 6;
        put_u8(out, flags);
        if let Some(v) = self.int {
            put_zigzag(out, v);
        }
        if let Some(v) = self.float {
            put_f64(out, v);
        }
        if let Some(t) = &self.text {
            put_bytes(out, t);
        }
        if let Some(d) = &self.digits {
            put_bytes(out, d);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let at = r.pos();
        let flags = r.get_u8()?;
        if flags >> 7 != 0 {
            let agg = if MAX { "max" } else { "min" };
            return Err(r.bad_state(agg, at, format!("unknown flags {flags:#x}")));
        }
        Ok(Extreme {
            int: if flags & 1 != 0 {
                Some(r.get_zigzag()?)
            } else {
                None
            },
            float: if flags & 2 != 0 {
                Some(r.get_f64()?)
            } else {
                None
            },
            text: if flags & 4 != 0 {
                Some(r.get_bytes()?.to_vec())
            } else {
                None
            },
            text_skipped: flags & 8 != 0,
            digits: if flags & 16 != 0 {
                let d = r.get_bytes()?;
                if !plain_integer(d) {
                    let agg = if MAX { "max" } else { "min" };
                    return Err(r.bad_state(agg, at, "an integer extreme that is not an integer"));
                }
                Some(d.to_vec())
            } else {
                None
            },
            wide: flags & 32 != 0,
            not_integer: flags & 64 != 0,
        })
    }
}

/// Whether a text column's `min` and `max` compare its values as
/// integers: some is wider than 64 bits, and every one is an integer.
fn integers_only(facts: &ColumnFacts) -> bool {
    facts.wide_integers && !facts.not_integers
}

/// `min:col`.
pub type Min = Extreme<false, false>;
/// `max:col`.
pub type Max = Extreme<true, false>;
/// `min:col` where the column turned out to be text.
pub type MinText = Extreme<false, true>;
/// `max:col` where the column turned out to be text.
pub type MaxText = Extreme<true, true>;

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn numeric_and_merge() {
        let v = [
            Some(3.0),
            None,
            Some(-0.0),
            Some(0.0),
            Some(-7.5),
            Some(10.0),
        ];
        assert_eq!(
            floats::<Min>(&v).finish(ColumnType::Float, &Func::Min),
            Value::Float(-7.5)
        );
        assert_eq!(
            floats::<Max>(&v).finish(ColumnType::Float, &Func::Max),
            Value::Float(10.0)
        );
        check_merge::<Min>(&v, ColumnType::Float, &Func::Min);
        check_merge::<Max>(&v, ColumnType::Float, &Func::Max);
        let zeros = [Some(0.0), Some(-0.0)];
        check_merge::<Min>(&zeros, ColumnType::Float, &Func::Min);
        assert_eq!(
            format!(
                "{:?}",
                floats::<Min>(&zeros).finish(ColumnType::Float, &Func::Min)
            ),
            "Float(-0.0)"
        );
    }

    #[test]
    fn a_nan_of_either_sign_is_the_largest_value() {
        let neg_nan = f64::from_bits(0xfff8_0000_0000_0000);
        let values = [Some(1.0), Some(neg_nan), Some(f64::NEG_INFINITY)];
        let got = |v: Value| format!("{v:?}");
        assert_eq!(
            got(floats::<Max>(&values).finish(ColumnType::Float, &Func::Max)),
            "Float(NaN)"
        );
        assert_eq!(
            got(floats::<Min>(&values).finish(ColumnType::Float, &Func::Min)),
            "Float(-inf)"
        );
        // an integer against the NaN, in a float column
        let mut max = floats::<Max>(&[Some(neg_nan)]);
        max.merge(&mut ints::<Max>(&[Some(7)]));
        assert_eq!(got(max.finish(ColumnType::Float, &Func::Max)), "Float(NaN)");
        let mut min = floats::<Min>(&[Some(neg_nan)]);
        min.merge(&mut ints::<Min>(&[Some(7)]));
        assert_eq!(got(min.finish(ColumnType::Float, &Func::Min)), "Float(7.0)");
    }

    #[test]
    fn batch_extremes_follow_the_total_order() {
        let awkward = super::super::testing::AWKWARD_FLOATS;
        for &v in &awkward {
            assert_eq!(
                from_total_key(total_key(v)).to_bits(),
                canonical_nan(v).to_bits()
            );
            for &w in &awkward {
                assert_eq!(total_key(v).cmp(&total_key(w)), float_cmp(v, w), "{v} {w}");
            }
        }
        let mut state = 0x5eed_u64;
        for (n, nulls) in [
            (0usize, 3),
            (1, 3),
            (2, 3),
            (7, 3),
            (64, 3),
            (300, 3),
            (9, 1),
        ] {
            let values: Vec<f64> = (0..n)
                .map(|_| awkward[(crate::testing::xorshift(&mut state) % 12) as usize])
                .collect();
            // every third row null on average; all of them with `nulls` 1
            let valid: Vec<bool> = (0..n)
                .map(|_| !crate::testing::xorshift(&mut state).is_multiple_of(nulls))
                .collect();
            let picked: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 1).collect();
            for (valid, rows) in [
                (None, Rows::All(n)),
                (Some(&valid[..]), Rows::All(n)),
                (None, Rows::Some(&picked)),
                (Some(&valid[..]), Rows::Some(&picked)),
            ] {
                let col = Column {
                    len: n,
                    data: Data::Float(&values),
                    valid,
                    raw: None,
                };
                let mut seen = Vec::new();
                rows.for_each(|r| {
                    if col.is_valid(r) {
                        seen.push(values[r]);
                    }
                });
                let want_max = seen
                    .iter()
                    .copied()
                    .map(canonical_nan)
                    .max_by(|a, b| float_cmp(*a, *b));
                let want_min = seen
                    .iter()
                    .copied()
                    .map(canonical_nan)
                    .min_by(|a, b| float_cmp(*a, *b));
                let (mut max, mut min) = (Max::default(), Min::default());
                max.update(&col, rows).unwrap();
                min.update(&col, rows).unwrap();
                let bits = |v: Value| match v {
                    Value::Float(f) => Some(f.to_bits()),
                    _ => None,
                };
                assert_eq!(
                    bits(max.finish(ColumnType::Float, &Func::Max)),
                    want_max.map(f64::to_bits)
                );
                assert_eq!(
                    bits(min.finish(ColumnType::Float, &Func::Min)),
                    want_min.map(f64::to_bits)
                );
            }
        }
    }

    #[test]
    fn ints_in_float_column() {
        let mut m = ints::<Max>(&[Some(12), Some(3)]);
        m.merge(&mut floats::<Max>(&[Some(11.5)]));
        assert_eq!(m.finish(ColumnType::Float, &Func::Max), Value::Float(12.0));
        assert_eq!(m.finish(ColumnType::Int, &Func::Max), Value::Int(12));
    }

    #[test]
    fn prefixes_order_like_bytes() {
        let words: [&[u8]; 9] = [
            b"",
            b"a",
            b"ab",
            b"ab\0",
            b"ab\0\0\0\0\0\0x",
            b"abcdefgh",
            b"abcdefghi",
            b"b",
            b"\xff",
        ];
        for a in words {
            for b in words {
                let fast = prefix(a).cmp(&prefix(b)).then_with(|| a.cmp(b));
                assert_eq!(fast, a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    /// The answer of a state over its whole column (no other group).
    fn answer<S: AggState>(s: &S, func: &Func) -> Value {
        let mut facts = ColumnFacts::default();
        s.gather(&mut facts);
        assert!(s.complete(ColumnType::Text, &facts) || facts.not_integers);
        s.finish_in(ColumnType::Text, func, &facts)
    }

    /// A column made text by integers wider than 64 bits only is compared
    /// by value: in text order `3` was the maximum of {1, 2^64, 3}.
    #[test]
    fn integers_past_64_bits_compare_by_value() {
        let values = [
            "3",
            "18446744073709551616",
            " +7",
            "-89014103211118510720",
            "0",
            "",
        ];
        let (max, r) = texts::<Max>(&values);
        assert!(r.is_ok());
        assert_eq!(answer(&max, &Func::Max), Value::Int(1 << 64));
        let (min, _) = texts::<Min>(&values);
        assert_eq!(answer(&min, &Func::Min), Value::Int(-89014103211118510720));
        // past 128 bits: the digits, still an integer
        let huge = "-1234567890123456789012345678901234567890";
        let (min, _) = texts::<MinText>(&["5", huge]);
        assert_eq!(
            answer(&min, &Func::Min),
            Value::IntDigits(huge.as_bytes().to_vec())
        );
        // beside an integer batch (its text skipped, and not needed)
        let mut max = ints::<Max>(&[Some(12), None, Some(-3)]);
        max.merge(&mut texts::<Max>(&["-18446744073709551616", "5"]).0);
        assert!(max.text_skipped);
        assert_eq!(answer(&max, &Func::Max), Value::Int(12));
        let mut min = texts::<Min>(&["-18446744073709551616"]).0;
        min.merge(&mut ints::<Min>(&[Some(12)]));
        assert_eq!(answer(&min, &Func::Min), Value::Int(-(1 << 64)));
    }

    /// Any value that is no integer as an integer column spells one, in
    /// any group, leaves the column's order the text's; and without an
    /// integer past 64 bits (a typed string column of digits) it is the
    /// text's too.
    #[test]
    fn other_values_keep_text_order() {
        for other in ["abc", "007", "-0", "1.5", "  ", "1e3", "+"] {
            for first in [true, false] {
                let wide = texts::<Max>(&["18446744073709551616", "3"]).0;
                let odd = texts::<Max>(&[other]).0;
                let (mut a, mut b) = if first { (odd, wide) } else { (wide, odd) };
                a.merge(&mut b);
                assert!(a.digits.is_none(), "{other:?}");
                let want = std::cmp::max(other, "3");
                assert_eq!(
                    answer(&a, &Func::Max),
                    Value::Text(want.as_bytes().to_vec()),
                    "{other:?}"
                );
                // the same fact from another group's state
                let mut facts = ColumnFacts::default();
                texts::<Max>(&["18446744073709551616", "3"])
                    .0
                    .gather(&mut facts);
                texts::<Max>(&[other]).0.gather(&mut facts);
                assert!(facts.not_integers && facts.wide_integers);
            }
        }
        // a float batch is no integer either
        let mut max = texts::<MaxText>(&["18446744073709551616"]).0;
        max.merge(&mut floats::<MaxText>(&[Some(2.5)]));
        assert!(matches!(answer(&max, &Func::Max), Value::Text(_)));
        let (max, _) = texts::<Max>(&["10", "9"]);
        assert_eq!(answer(&max, &Func::Max), Value::Text(b"9".to_vec()));
        // and a plain state that skipped text needs it again then
        let mut max = ints::<Max>(&[Some(12)]);
        max.merge(&mut texts::<Max>(&["abc"]).0);
        let mut facts = ColumnFacts::default();
        max.gather(&mut facts);
        assert!(!max.complete(ColumnType::Text, &facts));
    }

    /// A state's integer extreme of text values must be an integer as
    /// `integer_digits` spells one: a partial holding another is refused.
    #[test]
    fn decoded_integer_extremes_are_integers() {
        let (max, _) = texts::<Max>(&["18446744073709551616", "-7"]);
        let mut bytes = Vec::new();
        max.encode(&mut bytes);
        let decoded = Max::decode(&mut Reader::new(&bytes)).expect("round trip");
        assert_eq!(
            decoded.digits.as_deref(),
            Some(&b"18446744073709551616"[..])
        );
        for bad in [&b"-0"[..], b"007", b"", b"12a", b"+5", b" 5"] {
            let mut state = max.clone();
            state.digits = Some(bad.to_vec());
            let mut bytes = Vec::new();
            state.encode(&mut bytes);
            let err = Max::decode(&mut Reader::new(&bytes)).expect_err("refused");
            assert!(err.to_string().contains("not an integer"), "{err}");
        }
    }

    #[test]
    fn text_order_is_bytes() {
        let (m, r) = texts::<Min>(&["pear", "", "Apple", "apple", "10"]);
        assert!(r.is_ok());
        assert_eq!(
            m.finish(ColumnType::Text, &Func::Min),
            Value::Text(b"10".to_vec())
        );
        let (m, _) = texts::<Max>(&["pear", "", "Apple", "ü"]);
        assert_eq!(
            m.finish(ColumnType::Text, &Func::Max),
            Value::Text("ü".as_bytes().to_vec())
        );
        assert_eq!(
            Min::default().finish(ColumnType::Text, &Func::Min),
            Value::Null
        );
    }
}
