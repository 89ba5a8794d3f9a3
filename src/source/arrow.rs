//! Arrow arrays as [`Batch`] views: how typed sources (the object store,
//! Parquet, Arrow IPC) feed the aggregates.
//!
//! Integer and float arrays are viewed in place (`Int64Array::values()` is
//! the `&[i64]` the aggregates read); text arrays become one small vector of
//! slices into the array's data; the null bitmap becomes a `Vec<bool>`.
//! Typed sources have no original text, so [`Column::raw`] is `None`.
//!
//! Other Arrow types are read as one of rayproc's three types:
//!
//! | Arrow type | read as |
//! | --- | --- |
//! | Int8..Int64, UInt8..UInt32 | integer |
//! | UInt64 | integer; a batch holding a value above 2^63-1 is text, its digits (as the CSV reader reads such an integer) |
//! | Float16, Float32, Float64 | float (widened exactly) |
//! | Decimal32/64/128 with scale ≤ 0 | integer; a batch holding a value outside i64 is text, its digits |
//! | Decimal32/64/128 with scale > 0 | float: the decimal's text, correctly rounded (as the CSV reader would) |
//! | Utf8, LargeUtf8, Utf8View, Binary, LargeBinary, BinaryView, FixedSizeBinary | text (the bytes as stored; an empty string is a value, not null) |
//! | UUIDs: FixedSizeBinary(16) (or a dictionary of it) with the `arrow.uuid` extension, or Parquet's UUID type | text: `123e4567-e89b-12d3-a456-426614174000` |
//! | Polars' Int128, UInt128 (read as FixedSizeBinary(16): [`super::ipc::wide`]) | integer, as an integral decimal; an unsigned value of 2^127 or more is an error |
//! | Dictionary of any of those | text |
//! | Dictionary of any other type above | as its values |
//! | Boolean | text: `true` / `false` |
//! | Date32, Date64 | text: `YYYY-MM-DD` |
//! | Timestamp (any unit, any zone) | text: `YYYY-MM-DDTHH:MM:SS[.fraction]` in UTC, the fraction as long as the unit (a Parquet INT96 in any year: `super::parquet`) |
//! | Time32, Time64 (times of day) | text: `HH:MM:SS[.fraction]`, the fraction as long as the unit |
//! | Null | an all-null integer column |
//!
//! Anything else (lists, structs, maps, intervals, durations, Decimal256) is
//! an error naming the column.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array};
use arrow_schema::{DataType, TimeUnit};

use crate::batch::{Batch, BATCH_ROWS};
use crate::dict::{Codes, Dictionary};
use crate::error::show_name;
use crate::number::parse_float;
use crate::plan::{Plan, UNUSED};
use crate::value::{Column, ColumnType, Data};

/// The rayproc type an Arrow column is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAs {
    Null,
    Int,
    Float,
    Text,
}

impl ReadAs {
    pub fn column_type(self) -> ColumnType {
        match self {
            ReadAs::Null => ColumnType::Null,
            ReadAs::Int => ColumnType::Int,
            ReadAs::Float => ColumnType::Float,
            ReadAs::Text => ColumnType::Text,
        }
    }
}

/// The kind an Arrow type is read as (before looking at values: UInt64 and
/// integral decimals say `Int` but may turn out text, their digits), or why it cannot be.
pub fn kind_of(dt: &DataType) -> Result<ReadAs, String> {
    use DataType::*;
    Ok(match dt {
        Null => ReadAs::Null,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => ReadAs::Int,
        Float16 | Float32 | Float64 => ReadAs::Float,
        Decimal32(_, s) | Decimal64(_, s) | Decimal128(_, s) => {
            if *s <= 0 {
                ReadAs::Int
            } else {
                ReadAs::Float
            }
        }
        Utf8
        | LargeUtf8
        | Utf8View
        | Binary
        | LargeBinary
        | BinaryView
        | FixedSizeBinary(_)
        | Boolean
        | Date32
        | Date64
        | Timestamp(_, _)
        | Time32(_)
        | Time64(_) => ReadAs::Text,
        Dictionary(_, value) if is_text(value) => ReadAs::Text,
        // a dictionary of numbers, dates, ...: read as its values (see
        // `prepare`)
        Dictionary(_, value) => kind_of(value)?,
        other => {
            return Err(format!(
                "has Arrow type {other}, which rayproc cannot aggregate ({SUPPORTED})"
            ))
        }
    })
}

/// The types rayproc reads, for the errors that refuse a column.
const SUPPORTED: &str = "supported: integers, floats, decimals, strings, binary, booleans, \
                         dates, timestamps, times of day";

/// Checks that every column of `schema` that `plan` reads has a type
/// rayproc reads ([`kind_of`]); `name`: the file's, for the error. A column
/// that holds 128-bit integers inside it (marked
/// [`super::ipc::wide::NESTED_WIDE_INT`], or among `nested_wide`) is refused
/// as such, not by the type it was read as (16-byte values stand in for its
/// integers).
pub(super) fn check_types(
    name: &str,
    schema: &arrow_schema::Schema,
    plan: &Plan,
    nested_wide: &[usize],
) -> crate::error::Result<()> {
    for (i, field) in schema.fields().iter().enumerate() {
        if plan.slot_of.get(i).is_some_and(|&s| s != UNUSED) {
            kind_of(field.data_type()).map_err(|why| {
                let (name, column) = (show_name(name), show_name(field.name()));
                let nested = nested_wide.contains(&i)
                    || (field.metadata()).contains_key(super::ipc::wide::NESTED_WIDE_INT);
                let why = if nested {
                    format!(
                        "holds 128-bit integers (Polars' Int128 or UInt128) inside a list, \
                         struct or map: rayproc aggregates no nested column ({SUPPORTED})"
                    )
                } else {
                    why
                };
                crate::error::Error::Other(format!("{name}: column '{column}' {why}"))
            })?;
        }
    }
    Ok(())
}

/// Text and binary types, read as text.
pub(super) fn is_text(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

/// An array ready to be viewed as batch columns: Int64, Float64, a text-like
/// array, or nothing (all null).
pub struct Prepared {
    kind: ReadAs,
    array: ArrayRef,
    /// A text column's rows also as `u32` codes into a dictionary, each
    /// checked to be in range ([`Prepared::with_codes`]).
    codes: Option<(ArrayRef, Arc<Dictionary>)>,
    /// Whether the text is the digits of integers beyond 64 bits (a
    /// UInt64 or integral decimal array): typed by the rows `--where`
    /// keeps, as the CSV reader types such fields ([`Spelled::Text`]).
    digits: bool,
}

impl Prepared {
    /// The kind of this array's values (`Null` when every value is null).
    pub fn kind(&self) -> ReadAs {
        if self.array.logical_null_count() == self.array.len() {
            ReadAs::Null
        } else {
            self.kind
        }
    }

    /// This text column with its rows also as codes into `dict` (a store's
    /// coded column): `codes` must be `UInt32`, null where the column is,
    /// and each non-null code less than the dictionary's length, naming
    /// the row's value. The length and nulls are checked here, the range by
    /// [`Codes::new`]; that a code names its row's value is the checksum's
    /// and the writer's word (a wrong one groups the row under another key,
    /// but reads no memory out of bounds).
    pub fn with_codes(
        mut self,
        name: &str,
        codes: &ArrayRef,
        dict: &Arc<Dictionary>,
    ) -> Result<Prepared, String> {
        let Some(a) = codes.as_primitive_opt::<UInt32Type>() else {
            return Err(format!(
                "column '{}': codes must be UInt32, found {}",
                show_name(name),
                codes.data_type()
            ));
        };
        let same_nulls = a.len() == self.array.len()
            && ((a.null_count() == 0 && self.array.null_count() == 0)
                || (0..a.len()).all(|i| a.is_valid(i) == self.array.is_valid(i)));
        if self.kind != ReadAs::Text || !same_nulls {
            let name = show_name(name);
            return Err(format!("column '{name}': its codes do not match its rows"));
        }
        let valid = valid_mask(codes.as_ref());
        if let Err(row) = Codes::new(a.values(), valid.as_deref(), dict) {
            return Err(format!(
                "column '{}': row {}: code {} is past the end of its dictionary of {} values",
                show_name(name),
                row + 1,
                a.values()[row],
                dict.len()
            ));
        }
        self.codes = Some((codes.clone(), Arc::clone(dict)));
        Ok(self)
    }
}

/// Per row, whether it holds a value; `None` when every row does. Arrow's
/// *logical* nulls: every row of a `Null` array (which has no validity
/// buffer), and the rows of a dictionary array whose key names a null value,
/// are null too.
fn valid_mask(a: &dyn Array) -> Option<Vec<bool>> {
    let nulls = a.logical_nulls()?;
    (nulls.null_count() > 0).then(|| nulls.iter().collect())
}

/// Converts `array` (of column `name`) to one of the shapes [`for_each_batch`] reads,
/// without copying Int64, Float64 and text arrays.
pub fn prepare(name: &str, array: &ArrayRef) -> Result<Prepared, String> {
    use DataType::*;
    let kind =
        kind_of(array.data_type()).map_err(|why| format!("column '{}' {why}", show_name(name)))?;
    if is_coded_non_text(array.data_type()) {
        return prepare(name, &decoded(name, array)?);
    }
    let keep = |kind| Prepared {
        kind,
        array: array.clone(),
        codes: None,
        digits: false,
    };
    let ints = |a: Int64Array| Prepared {
        kind: ReadAs::Int,
        array: Arc::new(a),
        codes: None,
        digits: false,
    };
    let floats = |a: Float64Array| Prepared {
        kind: ReadAs::Float,
        array: Arc::new(a),
        codes: None,
        digits: false,
    };
    let text = |a: arrow_array::StringArray| Prepared {
        kind: ReadAs::Text,
        array: Arc::new(a),
        codes: None,
        digits: false,
    };
    Ok(match array.data_type() {
        Null | Int64 | Float64 => keep(kind),
        Int8 => ints(array.as_primitive::<Int8Type>().unary(|v| v as i64)),
        Int16 => ints(array.as_primitive::<Int16Type>().unary(|v| v as i64)),
        Int32 => ints(array.as_primitive::<Int32Type>().unary(|v| v as i64)),
        UInt8 => ints(array.as_primitive::<UInt8Type>().unary(|v| v as i64)),
        UInt16 => ints(array.as_primitive::<UInt16Type>().unary(|v| v as i64)),
        UInt32 => ints(array.as_primitive::<UInt32Type>().unary(|v| v as i64)),
        UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            let fits = a.iter().flatten().all(|v| v <= i64::MAX as u64);
            if fits {
                ints(a.unary(|v| v as i64))
            } else {
                // as the CSV reader reads `18446744073709551615`: never a
                // float, which would merge neighbouring identifiers
                Prepared {
                    digits: true,
                    ..text(to_text(a, |v| v.to_string()))
                }
            }
        }
        Float16 => floats(array.as_primitive::<Float16Type>().unary(|v| v.to_f64())),
        Float32 => floats(array.as_primitive::<Float32Type>().unary(|v| v as f64)),
        Decimal32(_, s) => decimal(array.as_primitive::<Decimal32Type>(), *s),
        Decimal64(_, s) => decimal(array.as_primitive::<Decimal64Type>(), *s),
        Decimal128(_, s) => decimal(array.as_primitive::<Decimal128Type>(), *s),
        Boolean => {
            let a = array.as_boolean();
            text(
                a.iter()
                    .map(|v| v.map(|b| if b { "true" } else { "false" }))
                    .collect(),
            )
        }
        Date32 => {
            let a = array.as_primitive::<Date32Type>();
            text(to_text(a, |d| format_date(d as i64)))
        }
        Date64 => {
            let a = array.as_primitive::<Date64Type>();
            text(to_text(a, |ms| format_date(ms.div_euclid(86_400_000))))
        }
        Timestamp(unit, _) => {
            let (per_second, digits) = match unit {
                TimeUnit::Second => (1, 0),
                TimeUnit::Millisecond => (1_000, 3),
                TimeUnit::Microsecond => (1_000_000, 6),
                TimeUnit::Nanosecond => (1_000_000_000, 9),
            };
            // every timestamp type stores an i64; the unit is in the type
            let a = array.to_data();
            let a = arrow_array::PrimitiveArray::<Int64Type>::from(
                a.into_builder()
                    .data_type(DataType::Int64)
                    .build()
                    .map_err(|e| format!("column '{}': {e}", show_name(name)))?,
            );
            text(to_text(&a, |v| format_timestamp(v, per_second, digits)))
        }
        // a time of day: `HH:MM:SS[.fraction]`, the fraction as long as the
        // unit (values outside the day are refused by `first_out_of_range`)
        Time32(TimeUnit::Second) => {
            let a = array.as_primitive::<Time32SecondType>();
            text(to_text(a, |v| format_time(v as i64, 1, 0)))
        }
        Time32(_) => {
            let a = array.as_primitive::<Time32MillisecondType>();
            text(to_text(a, |v| format_time(v as i64, 1_000, 3)))
        }
        Time64(TimeUnit::Microsecond) => {
            let a = array.as_primitive::<Time64MicrosecondType>();
            text(to_text(a, |v| format_time(v, 1_000_000, 6)))
        }
        Time64(_) => {
            let a = array.as_primitive::<Time64NanosecondType>();
            text(to_text(a, |v| format_time(v, 1_000_000_000, 9)))
        }
        FixedSizeBinary(_) => Prepared {
            kind: ReadAs::Text,
            array: Arc::new(variable_width(array.as_fixed_size_binary())),
            codes: None,
            digits: false,
        },
        _ => keep(ReadAs::Text),
    })
}

/// Fixed-width bytes (UUIDs, hashes: Parquet's `FIXED_LEN_BYTE_ARRAY`) as
/// the `LargeBinary` array of the same values, sharing their bytes: read as
/// every other binary column is. Large: a batch of wide values can hold
/// more than 2 GiB (32-bit offsets panicked on 2,100 values of 1 MiB).
fn variable_width(a: &arrow_array::FixedSizeBinaryArray) -> arrow_array::LargeBinaryArray {
    let width = usize::try_from(a.value_length()).unwrap_or(0);
    let offsets = arrow_buffer::OffsetBuffer::from_lengths(std::iter::repeat_n(width, a.len()));
    arrow_array::LargeBinaryArray::new(offsets, a.values().clone(), a.nulls().cloned())
}

/// The Arrow extension that marks a `FixedSizeBinary(16)` column as UUIDs:
/// what pyarrow writes for `pa.uuid()`, Polars and DuckDB for their UUID
/// types.
const UUID_EXTENSION: &str = "arrow.uuid";

/// How a typed file's column is read besides what its Arrow type says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recast {
    /// As its type says.
    #[default]
    AsTyped,
    /// UUIDs, as their text ([`uuid_text`]): a `FixedSizeBinary(16)` with
    /// the Arrow extension [`UUID_EXTENSION`], or of Parquet's UUID type
    /// ([`super::parquet::ParquetInput::recasts`]).
    Uuid,
    /// 128-bit integers (Polars' `Int128`, `UInt128`) read as
    /// `FixedSizeBinary(16)` ([`super::ipc::wide`]), as integers
    /// ([`wide_ints`]).
    WideInt { signed: bool },
}

impl Recast {
    /// What `field`'s own metadata says (of a dictionary's values too:
    /// pyarrow's dictionary of `pa.uuid()` carries the extension on its
    /// field).
    pub fn of_field(field: &arrow_schema::Field) -> Recast {
        if !holds_16_bytes(field.data_type()) {
            return Recast::AsTyped;
        }
        let metadata = field.metadata();
        if let Some(sign) = metadata.get(super::ipc::wide::WIDE_INT) {
            return Recast::WideInt {
                signed: sign == "signed",
            };
        }
        match metadata.get("ARROW:extension:name") {
            Some(name) if name == UUID_EXTENSION => Recast::Uuid,
            _ => Recast::AsTyped,
        }
    }

    /// `array` read as `self` says, if it is 16-byte values or a
    /// dictionary of them (else as it is); the error says which value
    /// cannot be read. A dictionary of UUIDs stays one, of their text (read
    /// as any text dictionary is); one of 128-bit integers is decoded
    /// first, so that only the values its rows hold are checked.
    pub fn apply(self, array: &ArrayRef) -> Result<ArrayRef, String> {
        if self == Recast::AsTyped || !holds_16_bytes(array.data_type()) {
            return Ok(array.clone());
        }
        if let DataType::Dictionary(..) = array.data_type() {
            let dictionary = array.as_any_dictionary();
            return match self {
                Recast::WideInt { .. } => {
                    let options = arrow_select::take::TakeOptions { check_bounds: true };
                    let values = dictionary.values().as_ref();
                    let rows = arrow_select::take::take(values, dictionary.keys(), Some(options))
                        .map_err(|e| format!("has a dictionary key past its values: {e}"))?;
                    self.apply(&rows)
                }
                _ => Ok(dictionary.with_values(self.apply(dictionary.values())?)),
            };
        }
        let a = array.as_fixed_size_binary();
        Ok(match self {
            Recast::AsTyped => array.clone(),
            Recast::Uuid => Arc::new(uuid_text(a)),
            Recast::WideInt { signed } => Arc::new(wide_ints(a, signed)?),
        })
    }
}

/// Whether a column of Arrow type `dt` holds 16-byte values, plain or
/// dictionary-encoded: what UUIDs and 128-bit integers are read as.
pub(super) fn holds_16_bytes(dt: &DataType) -> bool {
    match dt {
        DataType::FixedSizeBinary(16) => true,
        DataType::Dictionary(_, value) => **value == DataType::FixedSizeBinary(16),
        _ => false,
    }
}

/// 128-bit integers (16 little-endian bytes each) as a `Decimal128` of
/// scale 0, which is read as integers, or as their digits in a batch that
/// holds one beyond 64 bits ([`decimal`]), as the CSV reader reads such an
/// integer. An unsigned one of 2^127 or more has no such form: an error.
fn wide_ints(
    a: &arrow_array::FixedSizeBinaryArray,
    signed: bool,
) -> Result<arrow_array::Decimal128Array, String> {
    // `values` starts at the array's first and holds 16 bytes for each
    let values: Vec<i128> = (a.values().chunks_exact(16).take(a.len()))
        .map(|v| i128::from_le_bytes(v.try_into().expect("16 bytes")))
        .collect();
    if !signed {
        let beyond = (values.iter().enumerate()).find(|&(i, &v)| v < 0 && a.is_valid(i));
        if let Some((_, &v)) = beyond {
            return Err(format!(
                "holds the unsigned integer {}, 2^127 or more: rayproc reads integers \
                 up to 2^127 - 1",
                v as u128
            ));
        }
    }
    arrow_array::Decimal128Array::new(values.into(), a.nulls().cloned())
        .with_precision_and_scale(38, 0)
        .map_err(|e| e.to_string())
}

/// UUIDs (16 bytes each) as their canonical text, as DuckDB and Python
/// print them: lowercase hex, dashes after the 4th, 6th, 8th and 10th byte
/// (`123e4567-e89b-12d3-a456-426614174000`). The text sorts as the bytes
/// do, so `min`, `max` and the key order are the UUIDs' own order; and it
/// is UTF-8, so JSON output holds it (the raw bytes are rarely UTF-8).
/// Large (64-bit offsets): a batch of more than 59M UUIDs has more than
/// 2 GiB of text.
fn uuid_text(a: &arrow_array::FixedSizeBinaryArray) -> arrow_array::LargeBinaryArray {
    // a byte's two hex digits, one copy each (a digit at a time took 28 ns
    // a UUID, more than decoding it)
    const HEX: [[u8; 2]; 256] = {
        let digits = b"0123456789abcdef";
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [digits[i >> 4], digits[i & 15]];
            i += 1;
        }
        t
    };
    const WIDTH: usize = 36;
    // where each byte's two digits go: the dashes between the groups of
    // 4, 2, 2, 2 and 6 bytes stay where the cell was filled with them
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut text = Vec::with_capacity(a.len() * WIDTH);
    // every value, a null's too (its bytes are whatever the writer left),
    // so that each has its 36 bytes; `values` starts at the array's first
    // and holds 16 bytes for each (the array's invariant, which arrow
    // checks when it builds one from a file)
    for uuid in a.values().chunks_exact(16).take(a.len()) {
        let mut cell = [b'-'; WIDTH];
        for (&byte, at) in uuid.iter().zip(AT) {
            cell[at..at + 2].copy_from_slice(&HEX[usize::from(byte)]);
        }
        text.extend_from_slice(&cell);
    }
    let offsets = arrow_buffer::OffsetBuffer::from_lengths(std::iter::repeat_n(WIDTH, a.len()));
    // binary, which is read as text as a string is, rather than a string
    // array checking that hex digits are UTF-8 (8% of a `min` of UUIDs)
    arrow_array::LargeBinaryArray::new(offsets, text.into(), a.nulls().cloned())
}

/// Whether `dt` is a dictionary of anything but text, which is read as its
/// values ([`decoded`]).
fn is_coded_non_text(dt: &DataType) -> bool {
    matches!(dt, DataType::Dictionary(_, value) if !is_text(value))
}

/// A dictionary of numbers (pandas' categorical integers, pyarrow's
/// `dictionary_encode`), dates, ...: its values, row by row (a key past
/// the values is an error, not a panic; a null key or a key naming a null
/// value is null). Any other array as it is.
fn decoded(name: &str, array: &ArrayRef) -> Result<ArrayRef, String> {
    if !is_coded_non_text(array.data_type()) {
        return Ok(array.clone());
    }
    let dictionary = array.as_any_dictionary();
    let options = arrow_select::take::TakeOptions { check_bounds: true };
    let values = dictionary.values().as_ref();
    arrow_select::take::take(values, dictionary.keys(), Some(options))
        .map_err(|e| format!("column '{}': {e}", show_name(name)))
}

fn to_text<T: ArrowPrimitiveType>(
    a: &arrow_array::PrimitiveArray<T>,
    f: impl Fn(T::Native) -> String,
) -> arrow_array::StringArray {
    let mut b = StringBuilder::with_capacity(a.len(), a.len() * 20);
    for v in a.iter() {
        match v {
            Some(v) => b.append_value(f(v)),
            None => b.append_null(),
        }
    }
    b.finish()
}

fn decimal<T>(a: &arrow_array::PrimitiveArray<T>, scale: i8) -> Prepared
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    if scale <= 0 {
        let factor = 10i128.checked_pow(scale.unsigned_abs() as u32);
        let as_int = |v: T::Native| -> Option<i64> {
            let v: i128 = v.into();
            i64::try_from(v.checked_mul(factor?)?).ok()
        };
        if a.iter().flatten().all(|v| as_int(v).is_some()) {
            let values: Int64Array = a.iter().map(|v| v.and_then(as_int)).collect();
            return Prepared {
                kind: ReadAs::Int,
                array: Arc::new(values),
                codes: None,
                digits: false,
            };
        }
        // an integer beyond 64 bits: its digits, as the CSV reader reads
        // such an integer (text, never a float, which would merge
        // neighbouring identifiers; the numeric aggregates read the text's
        // integer exactly)
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        return Prepared {
            kind: ReadAs::Text,
            array: Arc::new(to_text(a, |v| {
                let v: i128 = v.into();
                if v == 0 {
                    "0".to_string()
                } else {
                    format!("{v}{zeros}")
                }
            })),
            codes: None,
            digits: true,
        };
    }
    let values: Float64Array = a
        .iter()
        .map(|v| v.map(|v| decimal_to_f64(v.into(), scale)))
        .collect();
    Prepared {
        kind: ReadAs::Float,
        array: Arc::new(values),
        codes: None,
        digits: false,
    }
}

/// `v × 10^-scale`, correctly rounded: the decimal is written out as text
/// and parsed, as the CSV reader would read the same number.
fn decimal_to_f64(v: i128, scale: i8) -> f64 {
    let text = if scale <= 0 {
        format!("{v}e{}", -(scale as i32))
    } else {
        format!("{v}e-{scale}")
    };
    parse_float(text.as_bytes()).unwrap_or(f64::NAN)
}

/// 0000-01-01 and 9999-12-31 as days since 1970-01-01 (proleptic
/// Gregorian): the dates whose `YYYY-MM-DD` text sorts as they do.
const FIRST_DAY: i64 = -719_528;
const LAST_DAY: i64 = 2_932_896;

/// A date, timestamp or time of day that rayproc cannot read: its text
/// (`YYYY-MM-DD…`, `HH:MM:SS…`), by which `min`, `max`, `distinct` and
/// `--where` compare it, no longer sorts as it does (`10000-01-01` before
/// `9999-12-31`, `-001-…` before `0000-…`): refused, not answered wrongly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutOfRange {
    /// A date or timestamp in this year, outside 0000 to 9999.
    Year(i64),
    /// A time of day of `value` units since midnight, outside the day of
    /// `per_day` units (which Arrow's types forbid and a damaged file may
    /// hold).
    TimeOfDay { value: i64, per_day: i64 },
}

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            OutOfRange::Year(year) => write!(
                f,
                "a date in the year {year}: rayproc reads dates and timestamps of the \
                 years 0000 to 9999 (their text, by which they compare, sorts by date \
                 only there)"
            ),
            OutOfRange::TimeOfDay { value, per_day } => write!(
                f,
                "a time of day of {value} {} since midnight, outside the day",
                match per_day {
                    86_400 => "seconds",
                    DAY_MS => "milliseconds",
                    86_400_000_000 => "microseconds",
                    _ => "nanoseconds",
                }
            ),
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// The first of `rows` of a date or timestamp array whose day lies outside
/// the years 0000 to 9999, or of a time-of-day array whose time lies
/// outside the day, and why ([`OutOfRange`]). `None` for any other array.
///
/// Such a value is an error only where the query reads it (see
/// [`crate::rows::Unreadable`]): in a row that `--where` drops, in a column
/// it does not test, it is none, as a bad time in a dropped CSV row is
/// none. So the rows are looked at a batch at a time, and only in a column
/// that holds such a value at all.
fn first_out_of_range(array: &dyn Array, rows: Range<usize>) -> Option<(usize, OutOfRange)> {
    use DataType::*;
    let start = rows.start;
    let array = array.slice(start, rows.len());
    let array = array.as_ref();
    fn first<T: ArrowPrimitiveType>(
        array: &dyn Array,
        day: impl Fn(T::Native) -> i64,
    ) -> Option<(usize, OutOfRange)> {
        (array.as_primitive::<T>().iter().enumerate())
            .filter_map(|(r, v)| Some((r, day(v?))))
            .find(|(_, d)| !(FIRST_DAY..=LAST_DAY).contains(d))
            .map(|(r, d)| {
                let year = crate::timebucket::civil_from_days(d).0;
                (r, OutOfRange::Year(year))
            })
    }
    // a time of day outside the day (Arrow's types allow 0 to 24 hours,
    // exclusive): its text would not sort as times do
    fn time<T: ArrowPrimitiveType>(array: &dyn Array, per_day: i64) -> Option<(usize, OutOfRange)>
    where
        T::Native: Into<i64>,
    {
        (array.as_primitive::<T>().iter().enumerate())
            .filter_map(|(r, v)| Some((r, v?.into())))
            .find(|(_, v)| !(0..per_day).contains(v))
            .map(|(r, value)| (r, OutOfRange::TimeOfDay { value, per_day }))
    }
    let found = match array.data_type() {
        Time32(TimeUnit::Second) => time::<Time32SecondType>(array, 86_400),
        Time32(_) => time::<Time32MillisecondType>(array, DAY_MS),
        Time64(TimeUnit::Microsecond) => time::<Time64MicrosecondType>(array, DAY_MS * 1_000),
        Time64(_) => time::<Time64NanosecondType>(array, DAY_MS * 1_000_000),
        Date32 => first::<Date32Type>(array, i64::from),
        Date64 => first::<Date64Type>(array, |ms| ms.div_euclid(DAY_MS)),
        Timestamp(TimeUnit::Second, _) => {
            first::<TimestampSecondType>(array, |s| s.div_euclid(86_400))
        }
        Timestamp(TimeUnit::Millisecond, _) => {
            first::<TimestampMillisecondType>(array, |ms| ms.div_euclid(DAY_MS))
        }
        Timestamp(TimeUnit::Microsecond, _) => {
            first::<TimestampMicrosecondType>(array, |us| us.div_euclid(DAY_MS * 1_000))
        }
        // a nanosecond timestamp spans 1677 to 2262
        _ => None,
    };
    found.map(|(r, why)| (start + r, why))
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian).
fn format_date(days: i64) -> String {
    let (y, m, d) = crate::timebucket::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn format_timestamp(v: i64, per_second: i64, digits: usize) -> String {
    // (no product of `v`'s size: any i64 is a nanosecond timestamp)
    format_seconds(
        v.div_euclid(per_second),
        v.rem_euclid(per_second),
        per_second,
        digits,
    )
}

/// [`format_timestamp`] of the timestamp `secs` seconds and `frac` units
/// of `1 / per_second` second (`0 <= frac < per_second`) after 1970: for a
/// value that may lie past what an `i64` of such units holds (a Parquet
/// INT96, `super::parquet`).
fn format_seconds(secs: i64, frac: i64, per_second: i64, digits: usize) -> String {
    let days = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400) * per_second + frac;
    format!(
        "{}T{}",
        format_date(days),
        format_time(in_day, per_second, digits)
    )
}

/// The text of a timestamp as [`decoded`] and `prepare` give a timestamp
/// array's (`secs`, `frac`, `per_second` as [`format_seconds`] takes them;
/// `per_second` a power of ten up to 10^9, the fraction as many digits as
/// its zeros), or why it is not read: a day outside the years 0000 to 9999.
pub(super) fn timestamp_text(secs: i64, frac: i64, per_second: i64) -> Result<String, String> {
    let day = secs.div_euclid(86_400);
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        let year = crate::timebucket::civil_from_days(day).0;
        return Err(OutOfRange::Year(year).to_string());
    }
    let digits = per_second.ilog10() as usize;
    Ok(format_seconds(secs, frac, per_second, digits))
}

/// `HH:MM:SS[.fraction]` of `v` units of `1 / per_second` second into a
/// day (`0 <= v < 86_400 * per_second`), the fraction `digits` long.
fn format_time(v: i64, per_second: i64, digits: usize) -> String {
    let s = v.div_euclid(per_second);
    let frac = v.rem_euclid(per_second);
    let mut out = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if digits > 0 {
        out.push_str(&format!(".{frac:0digits$}"));
    }
    out
}

/// The text of every row of a text-like array (empty for nulls).
#[cfg(test)]
fn text_slices(array: &dyn Array) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let values = dictionary_values(array);
    text_range(array, &values, 0, array.len(), &mut out);
    out
}

/// A dictionary array's values as text (empty for any other array).
fn dictionary_values(array: &dyn Array) -> Vec<&[u8]> {
    use DataType::*;
    let Dictionary(key, _) = array.data_type() else {
        return Vec::new();
    };
    fn values(a: &ArrayRef) -> Vec<&[u8]> {
        let mut out = Vec::new();
        text_range(a.as_ref(), &[], 0, a.len(), &mut out);
        out
    }
    match **key {
        Int8 => values(array.as_dictionary::<Int8Type>().values()),
        Int16 => values(array.as_dictionary::<Int16Type>().values()),
        Int32 => values(array.as_dictionary::<Int32Type>().values()),
        Int64 => values(array.as_dictionary::<Int64Type>().values()),
        UInt8 => values(array.as_dictionary::<UInt8Type>().values()),
        UInt16 => values(array.as_dictionary::<UInt16Type>().values()),
        UInt32 => values(array.as_dictionary::<UInt32Type>().values()),
        UInt64 => values(array.as_dictionary::<UInt64Type>().values()),
        _ => Vec::new(),
    }
}

/// Replaces `out` with the text of rows `start..end` of a text-like array
/// (empty for nulls); `dict_values` are its values if it is a dictionary
/// array ([`dictionary_values`]). A batch at a time: a partition's rows at
/// once would be a fresh vector of 16 bytes per row, faulted in page by
/// page, where a batch's is reused from batch to batch and stays in cache.
fn text_range<'a>(
    array: &'a dyn Array,
    dict_values: &[&'a [u8]],
    start: usize,
    end: usize,
    out: &mut Vec<&'a [u8]>,
) {
    use DataType::*;
    out.clear();
    let rows = start..end;
    match array.data_type() {
        Utf8 => {
            let a = array.as_string::<i32>();
            out.extend(rows.map(|i| a.value(i).as_bytes()));
        }
        LargeUtf8 => {
            let a = array.as_string::<i64>();
            out.extend(rows.map(|i| a.value(i).as_bytes()));
        }
        Utf8View => {
            let a = array.as_string_view();
            out.extend(rows.map(|i| a.value(i).as_bytes()));
        }
        Binary => {
            let a = array.as_binary::<i32>();
            out.extend(rows.map(|i| a.value(i)));
        }
        LargeBinary => {
            let a = array.as_binary::<i64>();
            out.extend(rows.map(|i| a.value(i)));
        }
        BinaryView => {
            let a = array.as_binary_view();
            out.extend(rows.map(|i| a.value(i)));
        }
        Dictionary(key, _) => match **key {
            Int8 => dictionary_range(array.as_dictionary::<Int8Type>(), dict_values, rows, out),
            Int16 => dictionary_range(array.as_dictionary::<Int16Type>(), dict_values, rows, out),
            Int32 => dictionary_range(array.as_dictionary::<Int32Type>(), dict_values, rows, out),
            Int64 => dictionary_range(array.as_dictionary::<Int64Type>(), dict_values, rows, out),
            UInt8 => dictionary_range(array.as_dictionary::<UInt8Type>(), dict_values, rows, out),
            UInt16 => dictionary_range(array.as_dictionary::<UInt16Type>(), dict_values, rows, out),
            UInt32 => dictionary_range(array.as_dictionary::<UInt32Type>(), dict_values, rows, out),
            UInt64 => dictionary_range(array.as_dictionary::<UInt64Type>(), dict_values, rows, out),
            _ => out.resize(end - start, &[]),
        },
        _ => out.resize(end - start, &[]),
    }
}

/// [`text_range`] of a dictionary array whose values are `values`.
fn dictionary_range<'a, K: ArrowDictionaryKeyType>(
    a: &arrow_array::DictionaryArray<K>,
    values: &[&'a [u8]],
    rows: std::ops::Range<usize>,
    out: &mut Vec<&'a [u8]>,
) {
    let keys = a.keys();
    out.extend(rows.map(|i| {
        let k = keys.is_valid(i).then(|| keys.value(i));
        k.and_then(|k| {
            values
                .get(arrow_buffer::ArrowNativeType::as_usize(k))
                .copied()
        })
        .unwrap_or(&b""[..])
    }));
}

/// One prepared column, viewed.
struct View<'a> {
    kind: ReadAs,
    array: &'a dyn Array,
    ints: &'a [i64],
    floats: &'a [f64],
    /// A text column's values, if it is a dictionary array.
    dict_values: Vec<&'a [u8]>,
    /// A text column's rows of the current batch ([`View::fill`]).
    text: Vec<&'a [u8]>,
    zeros: Vec<i64>,
    valid: Option<Vec<bool>>,
    codes: Option<Codes<'a>>,
}

impl<'a> View<'a> {
    fn new(p: &'a Prepared) -> View<'a> {
        let a = p.array.as_ref();
        let mut view = View {
            kind: p.kind,
            array: a,
            ints: &[],
            floats: &[],
            dict_values: Vec::new(),
            text: Vec::new(),
            zeros: Vec::new(),
            valid: valid_mask(a),
            codes: None,
        };
        match p.kind {
            ReadAs::Null => view.zeros = vec![0; a.len()],
            ReadAs::Int => view.ints = a.as_primitive::<Int64Type>().values(),
            ReadAs::Float => view.floats = a.as_primitive::<Float64Type>().values(),
            ReadAs::Text => view.dict_values = dictionary_values(a),
        }
        if let Some((codes, dict)) = &p.codes {
            let codes = codes.as_primitive::<UInt32Type>().values();
            view.codes = Some(
                Codes::new(codes, view.valid.as_deref(), dict)
                    .expect("codes are checked when the column is prepared"),
            );
        }
        view
    }

    /// Readies rows `start..end` for [`column`](Self::column).
    fn fill(&mut self, start: usize, end: usize) {
        if self.kind == ReadAs::Text {
            text_range(self.array, &self.dict_values, start, end, &mut self.text);
        }
    }

    /// Rows `start..end`, the last ones [`fill`](Self::fill) readied.
    fn column(&self, start: usize, end: usize) -> (Column<'_>, ColumnType) {
        let valid = self.valid.as_ref().map(|v| &v[start..end]);
        let data = match self.kind {
            ReadAs::Null => Data::Int(&self.zeros[start..end]),
            ReadAs::Int => Data::Int(&self.ints[start..end]),
            ReadAs::Float => Data::Float(&self.floats[start..end]),
            ReadAs::Text => Data::Text(&self.text[..end - start]),
        };
        // a batch without a value has no type, as in the CSV reader
        let ty = if self.kind == ReadAs::Null || valid.is_some_and(|v| !v.contains(&true)) {
            ColumnType::Null
        } else {
            self.kind.column_type()
        };
        let column = Column {
            len: end - start,
            data,
            valid,
            raw: None,
        };
        (column, ty)
    }
}

/// Calls `f` with batches of at most [`BATCH_ROWS`] rows over `columns`
/// (one per plan slot, all of length `len`), and the offset of each batch's
/// first row.
pub fn for_each_batch<E>(
    columns: &[Prepared],
    len: usize,
    mut f: impl FnMut(&Batch<'_>, usize) -> Result<(), E>,
) -> Result<(), E> {
    let mut views: Vec<View<'_>> = columns.iter().map(View::new).collect();
    let mut start = 0;
    while start < len {
        let end = (start + BATCH_ROWS).min(len);
        views.iter_mut().for_each(|v| v.fill(start, end));
        let (columns, types) = views.iter().map(|v| v.column(start, end)).unzip();
        let batch = Batch {
            len: end - start,
            columns,
            types,
            codes: (views.iter())
                .map(|v| v.codes.map(|c| c.slice(start, end)))
                .collect(),
        };
        f(&batch, start)?;
        start = end;
    }
    Ok(())
}

/// How a column of [`fold_arrays`] is typed by the rows `--where` keeps
/// (see [`crate::rows::Spelling`]): what a store says of the columns whose
/// CSV types depend on the rows.
pub enum Spelled {
    /// Text whose values are CSV fields: typed as the CSV reader types them.
    Text,
    /// A number column: for a float one, per row whether its CSV field was
    /// an integer (`ints`: a `Boolean` array without nulls, or an `Int64`
    /// array of the integers, null where a field was not one); and the text
    /// of each field that is not what a filter reads of its value (`texts`:
    /// a `Utf8` or `Binary` array, null where the text is the value's).
    Number {
        ints: Option<ArrayRef>,
        texts: Option<ArrayRef>,
    },
}

impl Spelled {
    /// The spelling of column `name` (prepared as `p`, `len` rows), or why
    /// the arrays cannot be what they say.
    fn spelling<'a>(
        &'a self,
        name: &str,
        p: &Prepared,
        len: usize,
    ) -> crate::error::Result<crate::rows::Spelling<'a>> {
        use crate::rows::Spelling;
        let bad = |what: &str, why: String| {
            let name = show_name(name);
            crate::error::Error::Other(format!("the {what} of column '{name}': {why}"))
        };
        Ok(match self {
            Spelled::Text if p.kind == ReadAs::Text => Spelling::Text,
            Spelled::Number { ints, texts } if matches!(p.kind, ReadAs::Float | ReadAs::Int) => {
                let ints = match ints {
                    Some(marks) if p.kind == ReadAs::Float => {
                        Some(int_marks(marks, len).map_err(|why| bad("integers", why))?)
                    }
                    Some(_) => return Err(bad("integers", "an integer column has none".into())),
                    None => None,
                };
                let texts = match texts {
                    Some(t) => Some(written_texts(t, len).map_err(|why| bad("texts", why))?),
                    None => None,
                };
                Spelling::Number { ints, texts }
            }
            _ => Spelling::AsTyped,
        })
    }
}

/// Reads every column of `batch` as the aggregates would (as `recasts`
/// says, by column, then [`prepare`] and [`for_each_batch`]; a column
/// rayproc cannot aggregate or a value it cannot read is skipped,
/// as an unused one is) and returns a digest of the values: what the fuzz
/// targets of the typed readers drive (`source::ipc::read_everything`,
/// `source::parquet::read_everything`), where any damage must come out of
/// the decoder as an error, never reach here as a panic.
pub fn digest_batch(batch: &arrow_array::RecordBatch, recasts: &[Recast]) -> u64 {
    let columns: Vec<Prepared> = (batch.schema().fields().iter().zip(batch.columns()))
        .enumerate()
        .filter_map(|(i, (field, array))| {
            let array = recasts
                .get(i)
                .copied()
                .unwrap_or_default()
                .apply(array)
                .ok()?;
            prepare(field.name(), &array).ok()
        })
        .collect();
    let mut digest = 0u64;
    for_each_batch::<()>(&columns, batch.num_rows(), |view, _| {
        for col in &view.columns {
            for r in (0..view.len).filter(|&r| col.is_valid(r)) {
                let v = match col.data {
                    Data::Int(v) => v[r] as u64,
                    Data::Float(v) => v[r].to_bits(),
                    Data::Text(t) => t[r].len() as u64 ^ t[r].first().map_or(0, |&c| c as u64),
                    Data::Rows => 1,
                };
                digest = digest.rotate_left(5) ^ v;
            }
        }
        Ok(())
    })
    .expect("the closure never fails");
    digest
}

/// The integers `marks` records of a float column of `len` rows
/// (the `ints` of a [`Spelled::Number`]), or why it cannot be them.
pub fn int_marks(marks: &ArrayRef, len: usize) -> Result<crate::rows::IntMarks<'_>, String> {
    use crate::rows::IntMarks;
    if marks.len() != len {
        return Err(format!("{} rows, the column has {len}", marks.len()));
    }
    fn bits(b: &arrow_buffer::BooleanBuffer) -> (&[u8], usize) {
        (b.values(), b.offset())
    }
    match marks.data_type() {
        DataType::Boolean if marks.null_count() == 0 => {
            IntMarks::new(Some(bits(marks.as_boolean().values())), None, len)
        }
        DataType::Int64 => {
            let ints = marks.as_primitive::<Int64Type>();
            let marked = ints.nulls().map(|n| bits(n.inner()));
            IntMarks::new(marked, Some(ints.values()), len)
        }
        other => Err(format!(
            "{other} is neither Boolean (without nulls) nor Int64"
        )),
    }
}

/// The texts `texts` records of a number column of `len` rows
/// ([`Spelled::Number`]), or why it cannot be them.
pub fn written_texts(texts: &ArrayRef, len: usize) -> Result<crate::rows::Written<'_>, String> {
    use crate::rows::Written;
    if texts.len() != len {
        return Err(format!("{} rows, the column has {len}", texts.len()));
    }
    let (offsets, values) = match texts.data_type() {
        DataType::Utf8 => {
            let t = texts.as_string::<i32>();
            (t.value_offsets(), t.values().as_slice())
        }
        DataType::Binary => {
            let t = texts.as_binary::<i32>();
            (t.value_offsets(), t.values().as_slice())
        }
        other => return Err(format!("{other} is neither Utf8 nor Binary")),
    };
    let valid = texts
        .nulls()
        .map(|n| (n.inner().values(), n.inner().offset()));
    Written::new(offsets, values, valid, len)
}

/// Why a typed source rejected a value: the row (among the arrays given to
/// [`fold_arrays`]), the column, and what is wrong with it.
pub struct Rejection {
    pub row: usize,
    pub slot: usize,
    /// "sum needs numbers, found "abc"", "--where x > 1 needs a number,
    /// found "abc"", as the CSV path says it.
    pub message: String,
}

impl Rejection {
    /// "column 'x': sum needs numbers, found "abc"", as the CSV path says it.
    pub fn describe(&self, plan: &crate::plan::Plan) -> String {
        let column = show_name(&plan.slot_labels[self.slot]);
        format!("column '{column}': {}", self.message)
    }
}

/// Records the column types that `arrays`' Arrow types say whatever rows
/// `--where` keeps ([`crate::exec::Fold::note_types`]): text, and floats
/// (integers are typed by their batches: a UInt64 batch holding a value
/// past i64 is float). For Parquet and Arrow IPC inputs, which are typed
/// by their schema; not for a store, whose columns are typed as their CSV
/// was, by the rows kept, so that `run --store` answers as `run --input`.
pub fn note_schema_types(fold: &mut crate::exec::Fold<'_>, arrays: &[ArrayRef]) {
    let types: Vec<ColumnType> = (arrays.iter())
        .map(|a| match kind_of(a.data_type()) {
            Ok(kind @ (ReadAs::Text | ReadAs::Float)) => kind.column_type(),
            _ => ColumnType::Null,
        })
        .collect();
    fold.note_types(&types);
}

/// Folds `arrays` (one per plan slot, each `len` rows; `codes` and
/// `spelled` as [`Rows`] says) into `fold`: the rows the plan's filter
/// keeps, with its time buckets ([`each_kept_batch`]). A rejected value
/// becomes the error `reject` makes of it.
pub fn fold_arrays(
    fold: &mut crate::exec::Fold<'_>,
    names: &[String],
    arrays: &[ArrayRef],
    codes: &[Option<(ArrayRef, Arc<Dictionary>)>],
    spelled: &[Option<Spelled>],
    len: usize,
    reject: impl Fn(Rejection) -> crate::error::Error,
) -> crate::error::Result<()> {
    let plan = fold.plan();
    let rows = Rows {
        names,
        arrays,
        codes,
        spelled,
        len,
    };
    each_kept_batch(plan, &rows, reject, &mut |batch: &Batch<'_>| {
        if fold.cancelled() {
            // another task failed: this one's rows no longer matter
            return Ok(());
        }
        fold.fold(batch).map_err(|r| {
            let agg = &plan.aggs[r.agg];
            let slot = agg.slot.expect("only column aggregates reject values");
            let value = crate::rows::value_text(&batch.columns[slot], r.row);
            crate::rows::BadRow {
                row: r.row,
                slot,
                message: format!(
                    "{} needs numbers, found {}",
                    agg.spec.func.label(),
                    crate::error::show_value(&value)
                ),
            }
        })
    })
}

/// The arrays of one typed batch, one per plan slot, as [`fold_arrays`]
/// and [`each_kept_batch`] take them.
pub struct Rows<'r> {
    pub names: &'r [String],
    pub arrays: &'r [ArrayRef],
    /// `codes[i]`, where there is one, is `arrays[i]`'s rows as codes into
    /// a dictionary ([`Prepared::with_codes`]); may be shorter than
    /// `arrays`, or empty, where no array has codes.
    pub codes: &'r [Option<(ArrayRef, Arc<Dictionary>)>],
    /// Likewise: how `arrays[i]` is typed by the rows `--where` keeps
    /// ([`Spelled`]; as typed where there is none).
    pub spelled: &'r [Option<Spelled>],
    /// Rows in each array.
    pub len: usize,
}

/// Passes the rows of `rows` that the plan's filter keeps, typed as the
/// CSV reader would type them and with the plan's time buckets, to `on`,
/// a batch at a time ([`crate::rows::fold_typed`]). A rejected value
/// (a date outside the years 0000 to 9999 too, where the query reads it:
/// [`crate::rows::Unreadable`]) becomes the error `reject` makes of it, as
/// does a row `on` returns (naming a row of the batch it was given), with
/// its row among `rows`.
pub fn each_kept_batch(
    plan: &crate::plan::Plan,
    rows: &Rows<'_>,
    reject: impl Fn(Rejection) -> crate::error::Error,
    on: &mut dyn FnMut(&Batch<'_>) -> Result<(), crate::rows::BadRow>,
) -> crate::error::Result<()> {
    let Rows {
        names,
        arrays,
        codes,
        spelled,
        len,
    } = *rows;
    let mut prepared = Vec::with_capacity(arrays.len());
    let mut spelling = Vec::new();
    // the columns holding a date, timestamp or time of day rayproc cannot
    // read: each such value is an error only where the query reads it
    // ([`crate::rows::Unreadable`]), so they are found a batch at a time
    let mut far: Vec<(usize, ArrayRef)> = Vec::new();
    for (i, (name, array)) in names.iter().zip(arrays).enumerate() {
        let array = &decoded(name, array).map_err(crate::error::Error::Other)?;
        if first_out_of_range(array.as_ref(), 0..len).is_some() {
            far.push((i, array.clone()));
        }
        let mut p = prepare(name, array).map_err(crate::error::Error::Other)?;
        if let Some(Some((codes, dict))) = codes.get(i) {
            p = p
                .with_codes(name, codes, dict)
                .map_err(crate::error::Error::Other)?;
        }
        if let Some(Some(how)) = spelled.get(i) {
            spelling.resize(i + 1, crate::rows::Spelling::AsTyped);
            spelling[i] = how.spelling(name, &p, len)?;
        } else if p.digits {
            spelling.resize(i + 1, crate::rows::Spelling::AsTyped);
            spelling[i] = crate::rows::Spelling::Text;
        }
        prepared.push(p);
    }
    let mut buckets = crate::rows::Buckets::default();
    let mut cells = Vec::new();
    for_each_batch(&prepared, len, |batch, offset| {
        let rows = offset..offset + batch.len;
        cells.clear();
        for (slot, array) in &far {
            let mut from = rows.start;
            while let Some((row, _)) = first_out_of_range(array.as_ref(), from..rows.end) {
                cells.push((row - offset, *slot));
                from = row + 1;
            }
        }
        cells.sort_unstable();
        let why = |row: usize, slot: usize| {
            let (_, array) = far.iter().find(|(s, _)| *s == slot).expect("a far column");
            let at = offset + row;
            let (_, why) = first_out_of_range(array.as_ref(), at..at + 1).expect("out of range");
            why.to_string()
        };
        let unreadable = crate::rows::Unreadable {
            cells: &cells,
            why: &why,
        };
        let folded =
            crate::rows::fold_typed(plan, batch, &spelling, offset, unreadable, &mut buckets, on);
        folded.map_err(|bad| {
            reject(Rejection {
                row: offset + bad.row,
                slot: bad.slot,
                message: bad.message,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Date32Array, Int32Array, StringArray, UInt64Array};

    #[test]
    fn dates_and_times() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_timestamp(1_500, 1_000, 3), "1970-01-01T00:00:01.500");
        assert_eq!(format_timestamp(-1, 1, 0), "1969-12-31T23:59:59");
        assert_eq!(format_timestamp(86_399, 1, 0), "1970-01-01T23:59:59");
    }

    /// Fixed-width bytes become 64-bit offsets over the same bytes, for a
    /// sliced array too: with 32-bit ones, a batch of 2,100 values of 1
    /// MiB (2.2 GB) panicked ("offset overflow").
    #[test]
    fn fixed_width_bytes_are_large_binary_over_their_own_bytes() {
        let values: Vec<Option<[u8; 3]>> = vec![Some(*b"abc"), None, Some(*b"xyz"), Some(*b"k00")];
        let a = arrow_array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            values.iter().map(|v| v.as_ref().map(|b| b.as_slice())),
            3,
        )
        .unwrap();
        let sliced: ArrayRef = Arc::new(a.slice(1, 3));
        let p = prepare("u", &sliced).unwrap();
        assert_eq!(p.kind, ReadAs::Text);
        assert_eq!(p.array.data_type(), &DataType::LargeBinary);
        assert!(p.array.is_null(0) && p.array.null_count() == 1);
        assert_eq!(text_slices(p.array.as_ref())[1..], [b"xyz", b"k00"]);
    }

    #[test]
    fn uuids_read_as_their_canonical_text_in_their_byte_order() {
        let bytes: [[u8; 16]; 4] = [
            *b"\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00",
            [0; 16],
            [0xff; 16],
            *b"\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01",
        ];
        let values = [
            Some(&bytes[0][..]),
            None,
            Some(&bytes[1]),
            Some(&bytes[2]),
            Some(&bytes[3]),
        ];
        let a = arrow_array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            values.into_iter(),
            16,
        )
        .unwrap();
        // sliced, as the readers hand out batches
        let a: ArrayRef = Arc::new(a.slice(0, 5));
        let field = |metadata: &[(&str, &str)]| {
            arrow_schema::Field::new("u", DataType::FixedSizeBinary(16), true).with_metadata(
                (metadata.iter())
                    .map(|&(k, v)| (k.to_string(), v.to_string()))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        };
        let uuid = |metadata| Recast::of_field(&field(metadata));
        assert_eq!(
            uuid(&[("ARROW:extension:name", "arrow.uuid")]),
            Recast::Uuid
        );
        assert_eq!(
            uuid(&[("ARROW:extension:name", "arrow.json")]),
            Recast::AsTyped
        );
        assert_eq!(uuid(&[]), Recast::AsTyped);
        let text = Recast::Uuid.apply(&a).unwrap();
        let p = prepare("u", &text).unwrap();
        assert_eq!(p.kind, ReadAs::Text);
        assert!(p.array.is_null(1) && p.array.null_count() == 1);
        let shown: Vec<&[u8]> = text_slices(p.array.as_ref());
        assert_eq!(shown[0], b"123e4567-e89b-12d3-a456-426614174000");
        assert_eq!(shown[2], b"00000000-0000-0000-0000-000000000000");
        assert_eq!(shown[3], b"ffffffff-ffff-ffff-ffff-ffffffffffff");
        assert_eq!(shown[4], b"80000000-0000-0000-0000-000000000001");
        // the text sorts as the bytes do
        let mut by_bytes = [0, 2, 3, 4];
        by_bytes.sort_by_key(|&i| values[i]);
        let mut by_text = [0, 2, 3, 4];
        by_text.sort_by_key(|&i| shown[i]);
        assert_eq!(by_bytes, by_text);
        // not a UUID column, or not 16 bytes wide: the bytes as they are
        assert!(Arc::ptr_eq(&Recast::AsTyped.apply(&a).unwrap(), &a));
        let narrow: ArrayRef = Arc::new(
            arrow_array::FixedSizeBinaryArray::try_from_iter([b"abc"].into_iter()).unwrap(),
        );
        assert!(Arc::ptr_eq(&Recast::Uuid.apply(&narrow).unwrap(), &narrow));
        // dictionary-encoded: the field's extension is read the same, and
        // the dictionary's values become text, the column a text
        // dictionary (until stop 88 the bytes)
        let coded: ArrayRef = Arc::new(
            arrow_array::DictionaryArray::<Int8Type>::try_new(
                vec![Some(3), None, Some(0), Some(3)].into(),
                a.clone(),
            )
            .unwrap(),
        );
        let coded_field = arrow_schema::Field::new("u", coded.data_type().clone(), true)
            .with_metadata(
                field(&[("ARROW:extension:name", "arrow.uuid")])
                    .metadata()
                    .clone(),
            );
        assert_eq!(Recast::of_field(&coded_field), Recast::Uuid);
        let p = prepare("u", &Recast::Uuid.apply(&coded).unwrap()).unwrap();
        assert_eq!(p.kind, ReadAs::Text);
        assert!(
            matches!(p.array.data_type(), DataType::Dictionary(..)),
            "read as a text dictionary"
        );
        assert!(p.array.is_null(1) && p.array.null_count() == 1);
        let rows = text_slices(p.array.as_ref());
        assert_eq!((rows[0], rows[2], rows[3]), (shown[3], shown[0], shown[3]));
        assert!(Arc::ptr_eq(&Recast::AsTyped.apply(&coded).unwrap(), &coded));
    }

    #[test]
    fn wide_ints_read_as_integers_or_their_digits() {
        let values: [Option<i128>; 4] = [Some(-5), None, Some(1 << 100), Some(i128::MAX)];
        let a = arrow_array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            values.iter().map(|v| v.map(i128::to_le_bytes)),
            16,
        )
        .unwrap();
        let a: ArrayRef = Arc::new(a);
        let field = arrow_schema::Field::new("w", DataType::FixedSizeBinary(16), true)
            .with_metadata(std::collections::HashMap::from([(
                super::super::ipc::wide::WIDE_INT.to_string(),
                "signed".to_string(),
            )]));
        assert_eq!(Recast::of_field(&field), Recast::WideInt { signed: true });
        let read = Recast::WideInt { signed: true }.apply(&a).unwrap();
        let p = prepare("w", &read).unwrap();
        // beyond 64 bits: the batch is the numbers' digits
        assert_eq!(p.kind, ReadAs::Text);
        assert!(p.array.is_null(1));
        let shown: Vec<&[u8]> = text_slices(p.array.as_ref());
        assert_eq!(shown[0], b"-5");
        assert_eq!(shown[2], b"1267650600228229401496703205376");
        assert_eq!(shown[3], i128::MAX.to_string().as_bytes());
        // within 64 bits: integers
        let small: ArrayRef = Arc::new(a.slice(0, 2));
        let p = prepare(
            "w",
            &Recast::WideInt { signed: true }.apply(&small).unwrap(),
        )
        .unwrap();
        assert_eq!(p.kind, ReadAs::Int);
        // an unsigned one of 2^127 or more is refused, unless null
        let e = Recast::WideInt { signed: false }.apply(&a).unwrap_err();
        assert!(
            e.contains("unsigned integer 340282366920938463463374607431768211451"),
            "{e}"
        );
        let unsigned =
            Recast::WideInt { signed: false }.apply(&Arc::new(a.slice(1, 3)) as &ArrayRef);
        assert!(unsigned.is_ok());
        // dictionary-encoded: decoded first, so only the values its rows
        // name are checked
        let coded = |keys: Vec<Option<i16>>| -> ArrayRef {
            let keys = arrow_array::Int16Array::from(keys);
            Arc::new(arrow_array::DictionaryArray::new(keys, a.clone()))
        };
        let field = arrow_schema::Field::new("w", coded(vec![]).data_type().clone(), true)
            .with_metadata(field.metadata().clone());
        assert_eq!(Recast::of_field(&field), Recast::WideInt { signed: true });
        // (value 0, -5, is 2^128 - 5 unsigned: named by no row here)
        let read = (Recast::WideInt { signed: false })
            .apply(&coded(vec![Some(2), None, Some(1), Some(3)]))
            .unwrap();
        let p = prepare("w", &read).unwrap();
        assert_eq!(p.kind, ReadAs::Text);
        let shown: Vec<&[u8]> = text_slices(p.array.as_ref());
        assert_eq!(shown[0], b"1267650600228229401496703205376");
        assert!(p.array.is_null(1) && p.array.is_null(2));
        assert_eq!(shown[3], i128::MAX.to_string().as_bytes());
        let e = (Recast::WideInt { signed: false })
            .apply(&coded(vec![Some(3), Some(0)]))
            .unwrap_err();
        assert!(
            e.contains("unsigned integer 340282366920938463463374607431768211451"),
            "{e}"
        );
    }

    #[test]
    fn decimals_read_like_their_text() {
        assert_eq!(decimal_to_f64(1234, 2), 12.34);
        assert_eq!(decimal_to_f64(1, 1), 0.1);
        assert_eq!(decimal_to_f64(7, -2), 700.0);
    }

    fn kinds(a: ArrayRef) -> (ReadAs, Vec<ColumnType>) {
        let p = prepare("c", &a).unwrap();
        let mut types = Vec::new();
        for_each_batch::<()>(std::slice::from_ref(&p), a.len(), |b, _| {
            types.push(b.types[0]);
            Ok(())
        })
        .unwrap();
        (p.kind(), types)
    }

    #[test]
    fn casts() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(-3)]));
        assert_eq!(kinds(a), (ReadAs::Int, vec![ColumnType::Int]));
        let a: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        assert_eq!(kinds(a), (ReadAs::Text, vec![ColumnType::Text]));
        let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
        assert_eq!(kinds(a).0, ReadAs::Text);
        let a: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>, None]));
        assert_eq!(kinds(a), (ReadAs::Null, vec![ColumnType::Null]));
        let a: ArrayRef = Arc::new(Date32Array::from(vec![0]));
        let p = prepare("d", &a).unwrap();
        assert_eq!(text_slices(p.array.as_ref()), vec![&b"1970-01-01"[..]]);
        let list = arrow_array::ListArray::new_null(
            Arc::new(arrow_schema::Field::new("item", DataType::Int32, true)),
            1,
        );
        let err = prepare("l", &(Arc::new(list) as ArrayRef)).err().unwrap();
        assert!(err.starts_with("column 'l' has Arrow type List"), "{err}");
    }

    /// Text read a batch at a time is the array's text, row for row, in
    /// every batch (the last one short), for plain, view and dictionary
    /// arrays with nulls (whose text is empty).
    #[test]
    fn text_comes_batch_by_batch() {
        use arrow_array::{DictionaryArray, StringViewArray};
        let n = 2 * BATCH_ROWS + 77;
        let texts: Vec<Option<String>> = (0..n)
            .map(|i| (i % 5 != 3).then(|| format!("v{}", i % 97)))
            .collect();
        let want: Vec<Vec<u8>> = (texts.iter())
            .map(|t| t.clone().unwrap_or_default().into_bytes())
            .collect();
        let plain: ArrayRef = Arc::new(StringArray::from(texts.clone()));
        let view: ArrayRef = Arc::new(StringViewArray::from(texts.clone()));
        let dict: DictionaryArray<arrow_array::types::UInt16Type> =
            texts.iter().map(|t| t.as_deref()).collect();
        for array in [plain, view, Arc::new(dict) as ArrayRef] {
            let p = prepare("t", &array).unwrap();
            let mut got: Vec<Vec<u8>> = Vec::new();
            for_each_batch(std::slice::from_ref(&p), n, |batch, offset| {
                assert_eq!(offset, got.len());
                let Data::Text(rows) = batch.columns[0].data else {
                    panic!("text expected");
                };
                assert_eq!(rows.len(), batch.len);
                got.extend(rows.iter().map(|r| r.to_vec()));
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(got, want, "{}", array.data_type());
        }
    }

    /// Integers beyond 64 bits, UInt64 or decimals of scale 0 or below, are
    /// their digits (as the CSV reader reads them: text, never a float);
    /// within i64 they are integers, and decimals of a positive scale are
    /// floats, correctly rounded.
    #[test]
    fn integers_beyond_64_bits_are_their_digits() {
        use arrow_array::Decimal128Array;
        let digits = |a: ArrayRef| {
            let p = prepare("c", &a).unwrap();
            assert_eq!(p.kind, ReadAs::Text, "{}", a.data_type());
            assert!(p.digits);
            let rows = text_slices(p.array.as_ref());
            rows.iter()
                .map(|r| String::from_utf8(r.to_vec()).unwrap())
                .collect::<Vec<_>>()
        };
        let a = UInt64Array::from(vec![Some(u64::MAX), None, Some(0), Some(1 << 63)]);
        assert_eq!(
            digits(Arc::new(a)),
            ["18446744073709551615", "", "0", "9223372036854775808"]
        );
        let decimal = |values: Vec<Option<i128>>, scale: i8| -> ArrayRef {
            Arc::new(
                Decimal128Array::from(values)
                    .with_precision_and_scale(38, scale)
                    .unwrap(),
            )
        };
        let wide = 10i128.pow(20);
        let a = decimal(vec![Some(wide), Some(-wide - 1), Some(0), None], 0);
        assert_eq!(
            digits(a),
            ["100000000000000000000", "-100000000000000000001", "0", ""]
        );
        // scale -3: each value times 1000; zero is `0`, not `000` (which
        // the CSV reader would read as a zero-padded text)
        let a = decimal(vec![Some(i64::MAX as i128), Some(-7), Some(0)], -3);
        assert_eq!(digits(a), ["9223372036854775807000", "-7000", "0"]);
        // within i64: integers, whatever the scale's zeros
        let a = decimal(vec![Some(-7), Some(0), Some(9_223_372_036_854_775)], -3);
        let p = prepare("c", &a).unwrap();
        assert_eq!((p.kind, p.digits), (ReadAs::Int, false));
        assert_eq!(
            p.array.as_primitive::<Int64Type>().values(),
            &[-7000, 0, 9_223_372_036_854_775_000]
        );
        let a = UInt64Array::from(vec![i64::MAX as u64]);
        let p = prepare("c", &(Arc::new(a) as ArrayRef)).unwrap();
        assert_eq!((p.kind, p.digits), (ReadAs::Int, false));
        // a positive scale: a float, as `100000000000000000000.5` reads
        let a = decimal(vec![Some(wide * 10 + 5)], 1);
        let p = prepare("c", &a).unwrap();
        assert_eq!((p.kind, p.digits), (ReadAs::Float, false));
        assert_eq!(p.array.as_primitive::<Float64Type>().values(), &[1e20]);
    }

    /// A dictionary of numbers or dates is read as its values: a null key,
    /// and a key naming a null value, are null. It was refused ("has Arrow
    /// type Dictionary(Int32, Int64), which rayproc cannot aggregate").
    #[test]
    fn dictionaries_of_numbers_are_their_values() {
        use arrow_array::{DictionaryArray, Int8Array};
        let keys = Int8Array::from(vec![Some(1), None, Some(0), Some(2), Some(1)]);
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(-5), Some(7), None]));
        let a: ArrayRef = Arc::new(DictionaryArray::try_new(keys.clone(), values).unwrap());
        assert_eq!(kind_of(a.data_type()), Ok(ReadAs::Int));
        let p = prepare("c", &a).unwrap();
        assert_eq!(p.kind, ReadAs::Int);
        let got: Vec<Option<i64>> = p.array.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(got, [Some(7), None, Some(-5), None, Some(7)]);
        // wide UInt64 values: their digits, as a plain UInt64 column's
        let values: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX, 3, 4]));
        let a: ArrayRef = Arc::new(DictionaryArray::try_new(keys.clone(), values).unwrap());
        let p = prepare("c", &a).unwrap();
        assert_eq!((p.kind, p.digits), (ReadAs::Text, true));
        assert_eq!(
            text_slices(p.array.as_ref()),
            [&b"3"[..], b"", b"18446744073709551615", b"4", b"3"]
        );
        // dates: their text
        let values: ArrayRef = Arc::new(Date32Array::from(vec![0, 1, 19_723]));
        let a: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
        let p = prepare("c", &a).unwrap();
        assert_eq!(p.kind, ReadAs::Text);
        assert_eq!(
            text_slices(p.array.as_ref()),
            [
                &b"1970-01-02"[..],
                b"",
                b"1970-01-01",
                b"2024-01-01",
                b"1970-01-02"
            ]
        );
    }

    /// Times of day are their `HH:MM:SS[.fraction]` text (which sorts as
    /// they do), the fraction as long as the unit; a value outside the day
    /// (which Arrow's types forbid, and a crafted file may hold) is refused,
    /// naming its row. They were refused as a type.
    #[test]
    fn times_of_day_are_their_text() {
        use arrow_array::{
            Time32MillisecondArray, Time32SecondArray, Time64MicrosecondArray,
            Time64NanosecondArray,
        };
        let texts = |a: ArrayRef| {
            assert_eq!(kind_of(a.data_type()), Ok(ReadAs::Text));
            assert_eq!(first_out_of_range(a.as_ref(), 0..a.len()), None);
            let p = prepare("t", &a).unwrap();
            (text_slices(p.array.as_ref()).iter())
                .map(|t| String::from_utf8(t.to_vec()).unwrap())
                .collect::<Vec<_>>()
        };
        let a = Time32SecondArray::from(vec![Some(3723), None, Some(0), Some(86_399)]);
        assert_eq!(texts(Arc::new(a)), ["01:02:03", "", "00:00:00", "23:59:59"]);
        let a = Time32MillisecondArray::from(vec![3_723_004, 86_399_999]);
        assert_eq!(texts(Arc::new(a)), ["01:02:03.004", "23:59:59.999"]);
        let a = Time64MicrosecondArray::from(vec![3_723_000_005, 0]);
        assert_eq!(texts(Arc::new(a)), ["01:02:03.000005", "00:00:00.000000"]);
        let a = Time64NanosecondArray::from(vec![86_399_999_999_999]);
        assert_eq!(texts(Arc::new(a)), ["23:59:59.999999999"]);
        // outside the day, by one unit either way
        let outside: [(ArrayRef, &str); 4] = [
            (
                Arc::new(Time32SecondArray::from(vec![0, 86_400])),
                "86400 seconds",
            ),
            (
                Arc::new(Time32MillisecondArray::from(vec![0, -1])),
                "-1 milliseconds",
            ),
            (
                Arc::new(Time64MicrosecondArray::from(vec![0, 86_400_000_000])),
                "86400000000 microseconds",
            ),
            (
                Arc::new(Time64NanosecondArray::from(vec![0, i64::MIN])),
                "nanoseconds",
            ),
        ];
        for (a, unit) in outside {
            let (row, why) = first_out_of_range(a.as_ref(), 0..a.len()).unwrap();
            assert_eq!(row, 1, "{}", a.data_type());
            assert_eq!(first_out_of_range(a.as_ref(), 0..1), None);
            let why = why.to_string();
            assert!(
                why.contains(unit) && why.contains("outside the day"),
                "{why}"
            );
        }
        // timestamps keep their form
        assert_eq!(format_timestamp(-1, 1_000, 3), "1969-12-31T23:59:59.999");
        assert_eq!(format_timestamp(86_400, 1, 0), "1970-01-02T00:00:00");
        assert_eq!(
            format_timestamp(i64::MIN, 1_000_000_000, 9),
            "1677-09-21T00:12:43.145224192"
        );
        assert_eq!(
            format_timestamp(i64::MAX, 1_000_000_000, 9),
            "2262-04-11T23:47:16.854775807"
        );
    }
}
