//! Typing a batch's column of fields: the rule that decides whether a
//! column is integers, floats or text, in one place. The CSV reader types
//! every batch with it ([`crate::source::csv`]); a store types the rows a
//! `--where` keeps of its text columns with it too, so that a store
//! answers as the CSV it was split from ([`crate::rows::Spelling`]).

use std::ops::Range;

use super::batch::{has_wide_int, parse_floats, parse_ints};
use super::{is_wide_int_field, is_zero_padded_int};
use crate::value::{Column, ColumnType, Data};

/// Typed values of one slot of one batch.
#[derive(Default)]
pub(crate) struct Typed {
    pub(crate) ty: ColumnType,
    ints: Vec<i64>,
    floats: Vec<f64>,
    valid: Vec<bool>,
    has_nulls: bool,
}

impl Typed {
    /// Infers the batch type of `raw` and parses it: integers if every
    /// non-null value is one, else floats if every one is a number, else
    /// text; text too when a value is a zero-padded integer (`007`, see
    /// [`numeric_unless_padded`]).
    /// `readable`: addresses that may be read around a field (the input's).
    pub(crate) fn fill(&mut self, raw: &[&[u8]], readable: Range<usize>) {
        self.ints.clear();
        self.floats.clear();
        let nulls = self.mark_valid(raw);
        if nulls == raw.len() {
            self.ty = ColumnType::Null;
            self.ints.resize(raw.len(), 0);
            return;
        }
        let Some(from) = parse_ints(raw, &mut self.ints, readable.clone()) else {
            self.ty = numeric_unless_padded(ColumnType::Int, raw, &self.ints, &[]);
            return;
        };
        if is_wide_int_field(raw[from]) {
            // an integer beyond 64 bits: text, never a float (see
            // `is_wide_int_field`)
            self.ty = ColumnType::Text;
            return;
        }
        self.floats
            .extend(self.ints[..from].iter().map(|&v| v as f64));
        self.ty = match parse_floats(&raw[from..], &mut self.floats, readable) {
            None if has_wide_int(raw, &self.floats) => ColumnType::Text,
            None => numeric_unless_padded(ColumnType::Float, raw, &[], &self.floats),
            Some(_) => ColumnType::Text,
        };
    }

    /// Takes `raw` as text, unparsed: for a `--where` column that only some
    /// rows' tests read (see [`crate::filter::Bound::leading_slot`]).
    pub(crate) fn text(&mut self, raw: &[&[u8]]) {
        self.mark_valid(raw);
        self.ty = ColumnType::Text;
    }

    /// Marks which fields of `raw` are not empty, and returns how many are
    /// empty (nulls): counted as they are marked, not by searching the
    /// marks again (a byte loop over the batch, 6 instructions a field).
    fn mark_valid(&mut self, raw: &[&[u8]]) -> usize {
        let mut nulls = 0;
        self.valid.clear();
        self.valid.extend(raw.iter().map(|f| {
            nulls += f.is_empty() as usize;
            !f.is_empty()
        }));
        self.has_nulls = nulls != 0;
        nulls
    }

    pub(crate) fn column<'a>(&'a self, raw: &'a [&'a [u8]]) -> Column<'a> {
        let data = match self.ty {
            ColumnType::Null | ColumnType::Int => Data::Int(&self.ints),
            ColumnType::Float => Data::Float(&self.floats),
            ColumnType::Text => Data::Text(raw),
        };
        Column {
            len: raw.len(),
            data,
            valid: self.has_nulls.then_some(&self.valid[..]),
            raw: Some(raw),
        }
    }
}

/// `ty` (the number type every field of `raw` parsed as, with `ints` or
/// `floats` their values), or text when a field is an integer with a
/// significant leading zero (`007`; see [`is_zero_padded_int`]): such a
/// column keeps its text as keys and in `min`/`max`/`distinct`, and its
/// numeric aggregates parse the text.
///
/// Reading every field's bytes again cost 15% of a float query (the batch
/// has left the cache by now), so the values pick the candidates: an
/// integer field longer than its value printed (`007` is 3 bytes, `7` one;
/// a `+` or blanks make the rest), and an integer-valued float. Only those
/// are read.
fn numeric_unless_padded(
    ty: ColumnType,
    raw: &[&[u8]],
    ints: &[i64],
    floats: &[f64],
) -> ColumnType {
    // POW10[n] = 10^n: a value below 10^(digits - 1) has fewer digits than
    // its field
    const POW10: [u64; 20] = {
        let mut t = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    // A field longer than its value printed, or an integer-valued float.
    // A branch-free pass finds whether any value is one; only then are the
    // candidates' bytes read.
    let int_candidate = |f: &[u8], v: i64| {
        let digits = f.len().saturating_sub((v < 0) as usize);
        (digits >= 2) & (v.unsigned_abs() < POW10[digits.saturating_sub(1).min(19)])
    };
    let padded = match ty {
        ColumnType::Int => {
            let any = raw
                .iter()
                .zip(ints)
                .fold(false, |c, (f, &v)| c | int_candidate(f, v));
            any && (raw.iter().zip(ints))
                .any(|(f, &v)| int_candidate(f, v) && is_zero_padded_int(f))
        }
        _ => {
            // the integer-valued floats first, from the values alone
            // (contiguous: the test vectorises), then only their fields'
            // bytes. A test of the fields' lengths in the same pass strode
            // over their 16-byte slices: on two columns of prices and
            // rates, a few of them whole, 23 instructions a value against
            // 13 (callgrind)
            let any = floats.iter().fold(false, |c, &v| c | may_be_integer(v));
            any && (floats.chunks(64).zip(raw.chunks(64))).any(|(values, fields)| {
                let mut whole = [0u8; 64];
                for (w, &v) in whole.iter_mut().zip(values) {
                    *w = may_be_integer(v) as u8;
                }
                (whole.chunks_exact(8).enumerate())
                    .filter(|(_, eight)| eight != &[0; 8])
                    .any(|(at, eight)| {
                        (eight.iter().zip(&fields[8 * at..]))
                            .any(|(&w, f)| w != 0 && is_zero_padded_int(f))
                    })
            })
        }
    };
    if padded {
        ColumnType::Text
    } else {
        ty
    }
}

/// Whether `v` may be integer-valued: true for every integer-valued `v`
/// (and for the infinities); false for NaN and every value with a
/// fraction.
///
/// Plain float arithmetic the compiler vectorises on every target (two or
/// four values per instruction): at or above 2^52 every double is an
/// integer; below, adding 2^52 rounds `|v|` to an integer (ties to even),
/// and subtracting it again is exact, so the difference is `|v|` only when
/// `|v|` was one. The cast `v as i64 as f64 == v` it replaces saturates,
/// which compiled to scalar compares and moves per value: 6.6% of the CPU
/// of the benchmark's Q2 (`docs/performance.md`).
#[inline(always)]
pub(crate) fn may_be_integer(v: f64) -> bool {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let a = v.abs();
    (a >= TWO_52) | ((a + TWO_52) - TWO_52 == a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_be_integer_is_integer_valued() {
        let integer = |v: f64| v.is_finite() && v.trunc() == v;
        let mut state = 11u64;
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.0,
            -7.0,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            2_251_799_813_685_247.5,
            9.3e18,
            1e300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for _ in 0..100_000 {
            let r = crate::testing::xorshift(&mut state);
            values.push(f64::from_bits(r));
            // integers and halves near every power of two
            let x = (r >> 11) as f64 / (1u64 << (r % 60)) as f64;
            values.extend([x, x.trunc(), x.trunc() + 0.5, -x]);
        }
        for v in values {
            if v.is_nan() {
                assert!(!may_be_integer(v));
            } else if v.is_infinite() {
                assert!(may_be_integer(v));
            } else {
                assert_eq!(may_be_integer(v), integer(v), "{v:e}");
            }
        }
    }

    #[test]
    fn zero_padded_integers_make_a_number_column_text() {
        let ty = |fields: &[&str]| {
            let raw: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
            let ints: Result<Vec<i64>, _> = fields.iter().map(|f| f.trim().parse()).collect();
            match ints {
                Ok(ints) => numeric_unless_padded(ColumnType::Int, &raw, &ints, &[]),
                Err(_) => {
                    let floats: Vec<f64> =
                        fields.iter().map(|f| f.trim().parse().unwrap()).collect();
                    numeric_unless_padded(ColumnType::Float, &raw, &[], &floats)
                }
            }
        };
        assert_eq!(ty(&["1", "70", "-7"]), ColumnType::Int);
        assert_eq!(ty(&["1", "070"]), ColumnType::Text);
        assert_eq!(ty(&["1", "-07"]), ColumnType::Text);
        assert_eq!(ty(&["1", "+7", " 7", "0"]), ColumnType::Int);
        assert_eq!(ty(&["1.5", "7.0", "1e3", "inf", "-0.0"]), ColumnType::Float);
        assert_eq!(ty(&["1.5", "007"]), ColumnType::Text);
        assert_eq!(ty(&["1.5", "-00"]), ColumnType::Text);
        assert_eq!(ty(&["0.25", "0123456789012345678901"]), ColumnType::Text);
        // a long float column with whole values (the integer-valued
        // floats are found 64 at a time): one padded field anywhere
        let column: Vec<String> = (0..300)
            .map(|i| match i % 7 {
                0 => format!("{}.00", i),
                1 => format!("{}", i),
                2 => String::new(),
                _ => format!("{}.25", i),
            })
            .collect();
        let fields = |padded: Option<usize>| -> Vec<&str> {
            (column.iter().enumerate())
                .map(|(i, f)| {
                    if Some(i) == padded {
                        "0042"
                    } else {
                        f.as_str()
                    }
                })
                .collect()
        };
        let float_ty = |fields: &[&str]| {
            let raw: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
            let floats: Vec<f64> = (fields.iter()).map(|f| f.parse().unwrap_or(0.0)).collect();
            numeric_unless_padded(ColumnType::Float, &raw, &[], &floats)
        };
        assert_eq!(float_ty(&fields(None)), ColumnType::Float);
        for at in [0, 3, 63, 64, 65, 127, 128, 200, 299] {
            assert_eq!(float_ty(&fields(Some(at))), ColumnType::Text, "{at}");
        }
    }
}
