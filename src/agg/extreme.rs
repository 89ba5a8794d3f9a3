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

use std::cmp::Ordering;

use super::{AggState, BadValue, Func};
use crate::value::{canonical_nan, float_cmp, int_text, Column, ColumnType, Data, Rows, Value};
use crate::wire::{put_bytes, put_f64, put_u8, put_zigzag, Reader, WireError};

/// `MAX`: a maximum, else a minimum; `TEXT`: keep the text extremes of
/// numeric batches too.
#[derive(Default, Debug, Clone)]
pub struct Extreme<const MAX: bool, const TEXT: bool> {
    int: Option<i64>,
    float: Option<f64>,
    text: Option<Vec<u8>>,
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
            Data::Text(t) => Some(col.raw.unwrap_or(t)),
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
        self.text_skipped |= other.text_skipped;
    }

    fn complete(&self, ty: ColumnType) -> bool {
        ty != ColumnType::Text || !self.text_skipped
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
    /// `text_skipped`), then those present: the integer (zigzag), the
    /// float's bits, the text (length-prefixed). The same for the text
    /// variants: a state that skipped text decodes as incomplete there too.
    fn encode(&self, out: &mut Vec<u8>) {
        let flags = self.int.is_some() as u8
            | (self.float.is_some() as u8) << 1
            | (self.text.is_some() as u8) << 2
            | (self.text_skipped as u8) << 3;
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
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let at = r.pos();
        let flags = r.get_u8()?;
        if flags >> 4 != 0 {
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
        })
    }
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
