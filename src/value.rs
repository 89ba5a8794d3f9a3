//! Values, column types, and the columnar batch view that aggregates read.
//!
//! Sources (the CSV parser today, Arrow/Parquet readers later) turn their
//! input into [`Column`] batches; aggregates only ever see this view, so a
//! new source needs no change to any aggregate and vice versa.

use std::cmp::Ordering;

/// The field readers the aggregates and the store writer use; they live in
/// [`crate::number`]. Re-exported only until `agg/` and `store/write.rs`
/// (other changes own them) import them from there.
pub use crate::number::{
    is_wide_int_field, parse_float_field, parse_int_field, parse_wide_int_field,
};

/// The inferred type of a column, ordered from narrowest to widest: a column
/// is `Int` if every non-null value is a 64-bit integer, `Float` if every one
/// is a number, and `Text` otherwise. `Null` means no non-null value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ColumnType {
    #[default]
    Null,
    Int,
    Float,
    Text,
}

impl ColumnType {
    /// The narrowest type holding both.
    pub fn widen(self, other: ColumnType) -> ColumnType {
        self.max(other)
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Null => "null",
            ColumnType::Int => "integer",
            ColumnType::Float => "float",
            ColumnType::Text => "text",
        }
    }
}

/// The order rayproc puts floats in wherever it compares them (min and
/// max, quantiles, group keys, a store's statistics): `f64::total_cmp`'s
/// (-inf < ... < -0.0 < 0.0 < ... < inf), with every NaN, of either sign
/// and any payload, one value after +inf ("NaN last"). `total_cmp` alone
/// puts a NaN whose sign bit is set (`-nan`, or numpy's `inf * 0`) below
/// -inf.
#[inline]
pub fn float_cmp(a: f64, b: f64) -> Ordering {
    canonical_nan(a).total_cmp(&canonical_nan(b))
}

/// `v`, or the one NaN [`float_cmp`] orders last if `v` is any NaN (a
/// select, not a branch, in a vectorised loop).
#[inline(always)]
pub fn canonical_nan(v: f64) -> f64 {
    if v.is_nan() {
        f64::NAN
    } else {
        v
    }
}

/// The one spelling of `v` (`-` and digits, no leading zero), written at the
/// end of `buf`: the text that a column which ends up text holds for an
/// integer a typed batch gave as a number (a Parquet `UInt64` column is
/// numbers in row groups below 2^63 and digits in one above, as the CSV
/// reader reads such integers).
pub fn int_text(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// One output value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// Integers are exact; sums may exceed the 64-bit range.
    Int(i128),
    /// An integer too wide for `i128` (an exact sum past 2^127), as its
    /// decimal digits (`-` and digits, no leading zero). Not `Text`: the
    /// writers print it as the number it is (a JSON number, not a string),
    /// so that a column's JSON type never depends on its magnitude.
    IntDigits(Vec<u8>),
    Float(f64),
    Text(Vec<u8>),
}

impl Value {
    /// A total order for sorting group keys: numbers numerically (NaN last
    /// among numbers), text by bytes, and null after everything.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Greater,
            (_, Null) => Ordering::Less,
            (Int(a), Int(b)) => a.cmp(b),
            (IntDigits(a), IntDigits(b)) => int_digits_cmp(a, b),
            // past i128: below every `Int` if negative, else above
            (IntDigits(a), Int(_)) => int_digits_sign(a),
            (Int(_), IntDigits(b)) => int_digits_sign(b).reverse(),
            (IntDigits(a), Float(b)) => float_cmp(int_digits_float(a), *b),
            (Float(a), IntDigits(b)) => float_cmp(*a, int_digits_float(b)),
            (Float(a), Float(b)) => float_cmp(*a, *b),
            (Int(a), Float(b)) => float_cmp(*a as f64, *b),
            (Float(a), Int(b)) => float_cmp(*a, *b as f64),
            (Text(a), Text(b)) => a.cmp(b),
            (Text(_), _) => Ordering::Greater,
            (_, Text(_)) => Ordering::Less,
        }
    }
}

/// An integer as its sign (negative or not) and digits, as
/// [`crate::number::integer_digits`] reads it: no leading zero, zero never negative.
pub(crate) type SignedDigits<'a> = (bool, &'a [u8]);

/// The order of two integers given as their sign and digits.
pub(crate) fn integer_order(a: SignedDigits<'_>, b: SignedDigits<'_>) -> Ordering {
    let ((a_negative, a), (b_negative, b)) = (a, b);
    let magnitude = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
    match (a_negative, b_negative) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

/// An integer's one spelling (`-` and digits, [`Value::IntDigits`]) as
/// its sign and digits.
pub(crate) fn signed_digits(d: &[u8]) -> SignedDigits<'_> {
    match d.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, d),
    }
}

/// The order of two integers given as [`Value::IntDigits`] (the one
/// spelling of each: the longer magnitude is the larger).
fn int_digits_cmp(a: &[u8], b: &[u8]) -> Ordering {
    integer_order(signed_digits(a), signed_digits(b))
}

/// Where an integer past `i128` ([`Value::IntDigits`]) stands against every
/// integer that fits: below if negative, above if not.
fn int_digits_sign(d: &[u8]) -> Ordering {
    if d.first() == Some(&b'-') {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// [`Value::IntDigits`] as the nearest float.
fn int_digits_float(d: &[u8]) -> f64 {
    std::str::from_utf8(d)
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The typed values of one column over the rows of a batch.
#[derive(Clone, Copy, Debug)]
pub enum Data<'a> {
    /// No column: the aggregate counts rows (`count` alone).
    Rows,
    Int(&'a [i64]),
    Float(&'a [f64]),
    Text(&'a [&'a [u8]]),
}

/// A column of a batch, as aggregates see it.
#[derive(Clone, Copy, Debug)]
pub struct Column<'a> {
    /// Number of rows in the batch.
    pub len: usize,
    pub data: Data<'a>,
    /// `valid[i]` is false when row `i` is null; `None` means no nulls.
    pub valid: Option<&'a [bool]>,
    /// The original text of every row, when the source is text (CSV). Lets
    /// `min`/`max`/`distinct` answer in text order should the column turn out
    /// to be text in another part of the input.
    pub raw: Option<&'a [&'a [u8]]>,
}

impl<'a> Column<'a> {
    /// A column-less view that only carries the number of rows.
    pub fn rows(len: usize) -> Self {
        Column {
            len,
            data: Data::Rows,
            valid: None,
            raw: None,
        }
    }

    /// The type of the values in this batch.
    pub fn batch_type(&self) -> ColumnType {
        match self.data {
            Data::Rows => ColumnType::Null,
            Data::Int(_) => ColumnType::Int,
            Data::Float(_) => ColumnType::Float,
            Data::Text(_) => ColumnType::Text,
        }
    }

    #[inline]
    pub fn is_valid(&self, row: usize) -> bool {
        self.valid.is_none_or(|v| v[row])
    }

    /// Each row's text: the source's text of its values ([`raw`](Self::raw)),
    /// or the values themselves when they are text; `None` for numbers
    /// read from a typed source.
    pub fn text(&self) -> Option<&'a [&'a [u8]]> {
        match (self.raw, self.data) {
            (Some(raw), _) | (None, Data::Text(raw)) => Some(raw),
            _ => None,
        }
    }
}

/// The rows of a batch an aggregate state must fold in.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// Every row of the batch.
    All(usize),
    /// Only these row indices (one group's rows in a group-by).
    Some(&'a [u32]),
}

impl Rows<'_> {
    /// Calls `f` for every selected row, in order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(usize)) {
        match *self {
            Rows::All(n) => (0..n).for_each(f),
            Rows::Some(rows) => rows.iter().for_each(|&r| f(r as usize)),
        }
    }

    /// Like `for_each`, stopping at the first error.
    #[inline]
    pub fn try_for_each<E>(&self, f: impl FnMut(usize) -> Result<(), E>) -> Result<(), E> {
        match *self {
            Rows::All(n) => (0..n).try_for_each(f),
            Rows::Some(rows) => rows.iter().map(|&r| r as usize).try_for_each(f),
        }
    }

    pub fn count(&self) -> usize {
        match *self {
            Rows::All(n) => n,
            Rows::Some(rows) => rows.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_s_text_is_its_one_spelling() {
        let mut buf = [0; 20];
        for v in [
            0,
            7,
            -7,
            10,
            -10,
            123456789,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            assert_eq!(int_text(v, &mut buf), v.to_string().as_bytes());
        }
    }

    #[test]
    fn key_order_puts_null_last() {
        let mut v = vec![
            Value::Null,
            Value::Int(3),
            Value::Int(-1),
            Value::Float(0.5),
        ];
        v.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(
            v,
            vec![
                Value::Int(-1),
                Value::Float(0.5),
                Value::Int(3),
                Value::Null
            ]
        );
    }

    /// Integers past `i128` sort among the others by value.
    #[test]
    fn integers_past_128_bits_sort_by_value() {
        let digits = |d: &str| Value::IntDigits(d.as_bytes().to_vec());
        let mut v = vec![
            digits("170141183460469231731687303715884105728"),
            digits("-170141183460469231731687303715884105729"),
            Value::Int(i128::MAX),
            digits("1701411834604692317316873037158841057280"),
            Value::Int(i128::MIN),
            digits("-1701411834604692317316873037158841057280"),
            digits("170141183460469231731687303715884105729"),
            Value::Float(1e39),
        ];
        v.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(
            v,
            vec![
                digits("-1701411834604692317316873037158841057280"),
                digits("-170141183460469231731687303715884105729"),
                Value::Int(i128::MIN),
                Value::Int(i128::MAX),
                digits("170141183460469231731687303715884105728"),
                digits("170141183460469231731687303715884105729"),
                Value::Float(1e39),
                digits("1701411834604692317316873037158841057280"),
            ]
        );
    }
}
