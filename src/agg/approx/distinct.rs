//! `approx_distinct`: a HyperLogLog estimate of what `distinct` counts.
//!
//! `distinct` compares values as the column's *final* type, which a batch
//! cannot know: `7` and `007` are one integer but two texts, `1` and `1.0`
//! one float but two texts, `9007199254740993` and `9007199254740992` two
//! integers but one float. So, like `distinct`, the state keeps what every
//! type needs, here as sketches of hashes:
//!
//! | sketch | holds | counted for |
//! | --- | --- | --- |
//! | `common` | integers written canonically (no sign `+`, leading zero or blank) of magnitude up to 2^53 | every type |
//! | `ints` | the other integers, by value | integer |
//! | `floats` | floats, and the other integers as the float they parse to | float |
//! | `texts` | the source text of every value not in `common` | text |
//!
//! and `finish` estimates the union of `common` with the sketch of the
//! final type. The hashes are built so that the three notions of equality
//! agree on `common`'s values (the everyday integer column, which thus
//! costs one hash and one sketch per row):
//!
//! - an integer `v` hashes as XXH3 of its 8 bytes ([`hash_int`]);
//! - a float hashes as the integer it equals when it is an integer of
//!   magnitude up to 2^53 (exactly those floats are integers without
//!   rounding), else as XXH3 of its bits, every NaN and `-0.0` first made
//!   one value as `distinct` makes them ([`hash_float`]);
//! - a text hashes as the integer it spells when it is a canonical integer
//!   of magnitude up to 2^53, else as XXH3 of its bytes ([`hash_text`]).
//!
//! Each hash is thus a function of the value under the type's equality, so
//! a value hashes alike in an integer, float or text batch, with or without
//! source text, and `approx_distinct` estimates exactly the count
//! `distinct` gives. Every seed is a constant: the same input gives the
//! same registers, and so the same estimate, on every run and machine.
//!
//! Typed inputs (Parquet, Arrow, the store) have no source text for their
//! numbers. Their integers outside `common` feed the `texts` sketch as
//! their one spelling (digits, `-` if negative): such an input makes a
//! column text only with integers too wide for 64 bits (a `UInt64` or
//! `Decimal128(p, 0)` batch of them beside one of integers), where
//! `distinct` counts each integer so too. Their floats feed no `texts`
//! sketch: no source gives floats and text in one column.

use crate::xxh3::xxh3_64_with_seed;

use super::hll::Hll;
use crate::agg::{AggState, BadValue, Func};
use crate::number::parse_int;
use crate::value::{Column, ColumnType, Data, Rows, Value};

/// Integers of magnitude up to this are exactly representable as floats.
const EXACT_FLOAT_INT: u64 = 1 << 53;

const SEED_INT: u64 = 0x243f_6a88_85a3_08d3;
const SEED_FLOAT: u64 = 0x1319_8a2e_0370_7344;
const SEED_TEXT: u64 = 0xa409_3822_299f_31d0;

/// The hash of an integer.
#[inline]
pub(crate) fn hash_int(v: i64) -> u64 {
    xxh3_64_with_seed(&v.to_le_bytes(), SEED_INT)
}

/// The hash of a float: that of the integer it equals if it is one of
/// magnitude up to 2^53, else of its bits (one NaN, one zero).
#[inline]
pub(crate) fn hash_float(v: f64) -> u64 {
    if v.abs() <= EXACT_FLOAT_INT as f64 && v == v.trunc() {
        // -0.0 lands here too, as the integer 0
        return hash_int(v as i64);
    }
    let bits = if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    };
    xxh3_64_with_seed(&bits.to_le_bytes(), SEED_FLOAT)
}

/// The hash of a text: that of the integer it spells canonically if it
/// is one of magnitude up to 2^53, else of its bytes.
#[inline]
pub(crate) fn hash_text(t: &[u8]) -> u64 {
    match canonical_small_int(t) {
        Some(v) => hash_int(v),
        None => xxh3_64_with_seed(t, SEED_TEXT),
    }
}

/// The length of `v`'s canonical decimal text (`-` and digits).
#[inline]
fn canonical_len(v: i64) -> usize {
    let digits = v
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1);
    digits + (v < 0) as usize
}

/// Whether `v`, written as `text` (if known), belongs to `common`: a
/// canonical integer of magnitude up to 2^53. Text that parsed to `v` is
/// canonical iff it is as long as `v`'s canonical text: a `+`, a leading
/// zero or a blank each add a byte.
#[inline]
fn is_common(v: i64, text: Option<&[u8]>) -> bool {
    v.unsigned_abs() <= EXACT_FLOAT_INT && text.is_none_or(|t| t.len() == canonical_len(v))
}

/// The integer `t` spells canonically, if of magnitude up to 2^53.
#[inline]
fn canonical_small_int(t: &[u8]) -> Option<i64> {
    // 2^53 has 16 digits
    if t.is_empty() || t.len() > 17 || !matches!(t[0], b'-' | b'0'..=b'9') {
        return None;
    }
    let v = parse_int(t)?;
    is_common(v, Some(t)).then_some(v)
}

/// The `approx_distinct` state (see the module docs).
#[derive(Default, Debug, Clone)]
pub struct ApproxDistinct {
    common: Hll,
    /// The other three sketches, boxed: an everyday integer column's states
    /// never need them, and a state per group pays for every byte in place
    /// (48 bytes with the box, 160 without).
    rest: Option<Box<Rest>>,
}

#[derive(Default, Debug, Clone)]
struct Rest {
    ints: Hll,
    floats: Hll,
    texts: Hll,
}

impl ApproxDistinct {
    /// An integer `v`, with its source text if any.
    #[inline]
    fn add_int(&mut self, v: i64, text: Option<&[u8]>) {
        if is_common(v, text) {
            self.common.insert(hash_int(v));
        } else {
            let rest = self.rest_mut();
            rest.ints.insert(hash_int(v));
            rest.floats.insert(hash_float(v as f64));
            // a typed batch's integer has no source text: in a column that
            // ends up text (a Parquet `UInt64` row group below 2^63 beside
            // one of digits) it counts as its one spelling, as `distinct`
            // counts it
            let mut buf = [0; 20];
            let t = text.unwrap_or_else(|| crate::value::int_text(v, &mut buf));
            rest.texts.insert(hash_text(t));
        }
    }

    fn rest_mut(&mut self) -> &mut Rest {
        self.rest.get_or_insert_with(Box::default)
    }

    /// The sketch of every value as type `ty` compares them.
    fn sketch_for(&self, ty: ColumnType) -> Option<Hll> {
        let none = Rest::default();
        let rest = self.rest.as_deref().unwrap_or(&none);
        let other = match ty {
            ColumnType::Null => return None,
            ColumnType::Int => &rest.ints,
            ColumnType::Float => &rest.floats,
            ColumnType::Text => &rest.texts,
        };
        Some(self.common.union(other))
    }

    /// Canonical bytes of the sketch `finish` reads for `ty`.
    #[cfg(test)]
    pub(crate) fn canonical_bytes(&self, ty: ColumnType) -> Vec<u8> {
        self.sketch_for(ty)
            .map_or_else(Vec::new, |s| s.canonical_bytes())
    }
}

impl AggState for ApproxDistinct {
    const READS_RAW: bool = true;
    const TAKES_TEXT: bool = true;

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => match col.raw {
                Some(raw) => rows.for_each(|r| {
                    if col.is_valid(r) {
                        self.add_int(values[r], Some(raw[r]));
                    }
                }),
                None => rows.for_each(|r| {
                    if col.is_valid(r) {
                        self.add_int(values[r], None);
                    }
                }),
            },
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    let rest = self.rest_mut();
                    rest.floats.insert(hash_float(values[r]));
                    if let Some(raw) = col.raw {
                        rest.texts.insert(hash_text(raw[r]));
                    }
                }
            }),
            Data::Text(values) => {
                let text = col.raw.unwrap_or(values);
                rows.for_each(|r| {
                    if col.is_valid(r) {
                        self.rest_mut().texts.insert(hash_text(text[r]));
                    }
                })
            }
            Data::Rows => {}
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        self.common.absorb(&mut other.common);
        crate::agg::merge_optional(&mut self.rest, other.rest.take(), |mine, theirs| {
            mine.ints.absorb(&mut theirs.ints);
            mine.floats.absorb(&mut theirs.floats);
            mine.texts.absorb(&mut theirs.texts);
        });
    }

    fn finish(&self, ty: ColumnType, _func: &Func) -> Value {
        let n = self.sketch_for(ty).map_or(0, |s| s.count());
        Value::Int(n.into())
    }

    /// The four sketches: `common`, `ints`, `floats`, `texts`.
    fn encode(&self, out: &mut Vec<u8>) {
        let none = Rest::default();
        let rest = self.rest.as_deref().unwrap_or(&none);
        for s in [&self.common, &rest.ints, &rest.floats, &rest.texts] {
            s.encode(out);
        }
    }

    fn decode(r: &mut crate::wire::Reader<'_>) -> Result<Self, crate::wire::WireError> {
        let common = Hll::decode(r)?;
        let rest = Rest {
            ints: Hll::decode(r)?,
            floats: Hll::decode(r)?,
            texts: Hll::decode(r)?,
        };
        // all empty: no box (the form a state that never needed one has)
        let empty = rest.ints.is_empty() && rest.floats.is_empty() && rest.texts.is_empty();
        Ok(ApproxDistinct {
            common,
            rest: (!empty).then(|| Box::new(rest)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::hll::{EXACT_MAX, STANDARD_ERROR};
    use super::super::testing::{batch_of, merge_in_random_tree};
    use super::*;
    use crate::agg::Distinct;
    use crate::value::{is_wide_int_field, parse_float_field, parse_int_field};

    #[test]
    fn a_state_is_small() {
        // a state per group and worker: the sketches beyond `common` boxed
        assert!(std::mem::size_of::<ApproxDistinct>() <= 48);
    }

    fn feed(s: &mut impl AggState, values: &[&str]) {
        batch_of(values).feed(s).unwrap();
    }

    /// The type a CSV column of these values gets.
    fn column_type(values: &[&str]) -> ColumnType {
        batch_of(values).ty()
    }

    const TRICKY: &[&str] = &[
        "7",
        "007",
        "+7",
        " 7",
        "7 ",
        "-7",
        "-07",
        "0",
        "-0",
        "+0",
        "00",
        "0.0",
        "-0.0",
        "1",
        "1.0",
        "1e0",
        "1.5",
        "NaN",
        "nan",
        "-nan",
        "inf",
        "-inf",
        "9007199254740992",
        "9007199254740993",
        "-9007199254740993",
        "9007199254740992.0",
        "9223372036854775807",
        "-9223372036854775808",
        "9.2233720368547758e18",
        "",
        "abc",
        "89014103211118510720",
        "89014103211118510721",
    ];

    /// While exact, `approx_distinct` is `distinct`, for every mix of
    /// batch types: random columns of tricky values, cut into random
    /// batches each typed as the CSV reader types it.
    #[test]
    fn counts_what_distinct_counts() {
        let mut seed = 0x0dd_ba11u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        for round in 0..3000 {
            // a pool: numbers only, integers only, or anything
            let pool: Vec<&str> = match round % 3 {
                0 => TRICKY.to_vec(),
                1 => TRICKY
                    .iter()
                    .copied()
                    .filter(|v| parse_float_field(v.as_bytes()).is_some() || v.is_empty())
                    .filter(|v| !is_wide_int_field(v.as_bytes()))
                    .filter(|v| !crate::number::is_zero_padded_int(v.as_bytes()))
                    .collect(),
                _ => TRICKY
                    .iter()
                    .copied()
                    .filter(|v| {
                        let v = v.as_bytes();
                        v.is_empty()
                            || parse_int_field(v).is_some() && !crate::number::is_zero_padded_int(v)
                    })
                    .collect(),
            };
            let n = 1 + (next() % 30) as usize;
            let values: Vec<&str> = (0..n)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            let ty = column_type(&values);
            let mut exact = Distinct::default();
            let mut approx = ApproxDistinct::default();
            let mut start = 0;
            while start < n {
                let end = (start + 1 + (next() % 8) as usize).min(n);
                feed(&mut exact, &values[start..end]);
                feed(&mut approx, &values[start..end]);
                start = end;
            }
            assert_eq!(
                approx.finish(ty, &Func::ApproxDistinct),
                exact.finish(ty, &Func::Distinct),
                "{values:?} as {ty:?}"
            );
        }
    }

    /// A typed input's integer batch (no source text) in a column that
    /// ends up text, as a Parquet `UInt64` row group below 2^63 beside one
    /// of wider digits makes it: each integer counts as its one spelling,
    /// past 2^53 too, as `distinct` counts it. Before, those past 2^53 went
    /// uncounted: 1 for two values, 0 for a group of one.
    #[test]
    fn a_typed_integer_in_a_text_column_counts_as_its_spelling() {
        let ints = [(1 << 53) + 1, 1 << 62, -(1 << 60) - 3, 5, i64::MIN];
        let texts: Vec<String> = ints.iter().map(|v| v.to_string()).collect();
        let raw: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        let wide: [&[u8]; 2] = [b"9223372036854775808", b"-9223372036854775809"];
        let column = |data: Data<'static>, len| Column {
            len,
            data,
            valid: None,
            raw: None,
        };
        let ints: &'static [i64] = Box::leak(Box::new(ints));
        let raw: &'static [&'static [u8]] = Box::leak(
            raw.iter()
                .map(|t| &*Box::leak(t.to_vec().into_boxed_slice()))
                .collect::<Vec<&[u8]>>()
                .into_boxed_slice(),
        );
        let wide: &'static [&'static [u8]] = Box::leak(Box::new(wide));
        let mut approx = ApproxDistinct::default();
        let mut exact = Distinct::default();
        for col in [
            column(Data::Int(ints), ints.len()),
            column(Data::Text(wide), 2),
        ] {
            approx.update(&col, Rows::All(col.len)).unwrap();
            exact.update(&col, Rows::All(col.len)).unwrap();
        }
        let want = Value::Int((ints.len() as i64 + 2).into());
        assert_eq!(exact.finish(ColumnType::Text, &Func::Distinct), want);
        assert_eq!(approx.finish(ColumnType::Text, &Func::ApproxDistinct), want);
        // the integers' sketch is that of their digits as text
        let mut typed = ApproxDistinct::default();
        typed
            .update(&column(Data::Int(ints), ints.len()), Rows::All(ints.len()))
            .unwrap();
        let mut spelled = ApproxDistinct::default();
        spelled
            .update(&column(Data::Text(raw), raw.len()), Rows::All(raw.len()))
            .unwrap();
        assert_eq!(
            typed.canonical_bytes(ColumnType::Text),
            spelled.canonical_bytes(ColumnType::Text)
        );
    }

    /// The same values give the same sketch whatever their batch types:
    /// an integer batch with or without source text, a float batch, a text
    /// batch.
    #[test]
    fn same_values_same_sketch_across_batch_types() {
        let n = 5000i64;
        let ints: Vec<i64> = (0..n).map(|i| i * 7919 - 1000).collect();
        let texts: Vec<String> = ints.iter().map(|v| v.to_string()).collect();
        let raw: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        let floats: Vec<f64> = ints.iter().map(|&v| v as f64).collect();
        let state = |data: Data<'_>, raw: Option<&[&[u8]]>| {
            let len = match data {
                Data::Int(v) => v.len(),
                Data::Float(v) => v.len(),
                Data::Text(v) => v.len(),
                Data::Rows => 0,
            };
            let col = Column {
                len,
                data,
                valid: None,
                raw,
            };
            let mut s = ApproxDistinct::default();
            s.update(&col, Rows::All(len)).unwrap();
            s
        };
        let int_raw = state(Data::Int(&ints), Some(&raw));
        let int_typed = state(Data::Int(&ints), None);
        let float_raw = state(Data::Float(&floats), Some(&raw));
        let text = state(Data::Text(&raw), Some(&raw));
        let text_typed = state(Data::Text(&raw), None);
        for ty in [ColumnType::Int, ColumnType::Float] {
            assert_eq!(int_raw.canonical_bytes(ty), int_typed.canonical_bytes(ty));
        }
        assert_eq!(
            int_raw.canonical_bytes(ColumnType::Float),
            float_raw.canonical_bytes(ColumnType::Float)
        );
        for s in [&float_raw, &text, &text_typed] {
            assert_eq!(
                int_raw.canonical_bytes(ColumnType::Text),
                s.canonical_bytes(ColumnType::Text)
            );
        }
        // half the values in integer batches, half in text batches
        let mut mixed = state(Data::Int(&ints[..2500]), Some(&raw[..2500]));
        mixed.merge(&mut state(Data::Text(&raw[2500..]), Some(&raw[2500..])));
        assert_eq!(
            mixed.canonical_bytes(ColumnType::Text),
            text.canonical_bytes(ColumnType::Text)
        );
        let Value::Int(got) = int_raw.finish(ColumnType::Int, &Func::ApproxDistinct) else {
            panic!()
        };
        assert!((got - n as i128).abs() as f64 <= 3.0 * STANDARD_ERROR * n as f64);
    }

    /// Random splits into 1..64 parts, merged in random orders and tree
    /// shapes, give the same sketch bytes and the same answer.
    #[test]
    fn merge_order_never_matters() {
        let mut seed = 0xabcd_ef12u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        // each column's values, and the type it ends up with
        let column = |n: usize, ty: ColumnType| -> Vec<String> {
            (0..n)
                .map(|i| match (ty, i % 4) {
                    (_, 0) => format!("{}", i % (n / 2 + 1)),
                    // zero-padded integers make a column text (`07`)
                    (ColumnType::Text, 1) => format!("0{}", i % 97),
                    (_, 1) => format!("+{}", i % 97),
                    (ColumnType::Int, _) => format!("-{}", i * 7919),
                    (ColumnType::Float, 2) => format!("{}.5", i),
                    (ColumnType::Float, _) => format!("{}.0", i % 1000),
                    (_, 2) => format!("{}.5", i),
                    _ => format!("k{}", i % (n / 3 + 1)),
                })
                .collect()
        };
        for ty in [ColumnType::Int, ColumnType::Float, ColumnType::Text] {
            for &n in &[0usize, 10, 1000, EXACT_MAX + 7, 30_000] {
                let texts = column(n, ty);
                let values: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
                let mut reference: Option<Vec<u8>> = None;
                for _ in 0..12 {
                    let parts = 1 + (next() % 64) as usize;
                    let merged = merge_in_random_tree::<ApproxDistinct>(&values, parts, &mut next);
                    let mut bytes = merged.canonical_bytes(ty);
                    bytes.extend(format!("{:?}", merged.finish(ty, &Func::ApproxDistinct)).bytes());
                    match &reference {
                        None => reference = Some(bytes),
                        Some(r) => assert!(r == &bytes, "{ty:?}: n {n}, {parts} parts"),
                    }
                }
            }
        }
    }

    #[test]
    fn hashes_agree_across_types() {
        assert_eq!(hash_float(-0.0), hash_int(0));
        assert_eq!(hash_float(7.0), hash_int(7));
        assert_eq!(hash_text(b"7"), hash_int(7));
        assert_eq!(hash_text(b"-9007199254740992"), hash_int(-(1 << 53)));
        assert_ne!(hash_text(b"007"), hash_int(7));
        assert_ne!(hash_text(b"-0"), hash_int(0));
        assert_ne!(hash_text(b"9007199254740993"), hash_int((1 << 53) + 1));
        assert_eq!(hash_float(f64::NAN), hash_float(-f64::NAN));
        assert_eq!(
            hash_float(9007199254740993i64 as f64),
            hash_int(1 << 53),
            "2^53 + 1 is the float 2^53"
        );
        assert_ne!(hash_float(1.5), hash_int(1.5f64.to_bits() as i64));
        assert_eq!(canonical_len(0), 1);
        assert_eq!(canonical_len(-10), 3);
        assert_eq!(canonical_len(i64::MIN), 20);
    }
}
