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
use crate::value::{Column, ColumnType, Data, Rows, Value};

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
        if self.float.is_none_or(|c| Self::better(v.total_cmp(&c))) {
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

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.offer_int(values[r])
                }
            }),
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.offer_float(values[r])
                }
            }),
            Data::Text(_) | Data::Rows => {}
        }
        let raw = match col.data {
            Data::Text(t) => Some(col.raw.unwrap_or(t)),
            _ if TEXT => col.raw,
            _ => {
                self.text_skipped |= col.raw.is_some() && rows.count() > 0;
                None
            }
        };
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
                    if best.is_none_or(|b| Self::better(f.total_cmp(&b))) {
                        best = Some(f);
                    }
                }
                best.map_or(Value::Null, Value::Float)
            }
            ColumnType::Text => self.text.clone().map_or(Value::Null, Value::Text),
        }
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
