//! `--format parquet`: the result table as a Parquet file.
//!
//! Column types follow the values: integers are Int64 (Decimal128(38, 0)
//! when a sum outgrows 64 bits; past 38 digits, and past 128 bits, their
//! exact digits as Utf8), floats Float64 (a column mixing
//! integers and floats is Float64), text Utf8 (Binary if some value is not
//! UTF-8). A column of nulls only (every column of a result of no group)
//! has the type the run declares for it ([`Table::declared`]: Utf8 for
//! text, Float64 for floats), so that a day of no row writes the columns
//! other days write; and Int64 where the run knows none (a CSV column of
//! no value has no type).

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::plain;
use crate::table::{Table, ValueRef};
use crate::value::ColumnType;

/// The largest magnitude Decimal128(38, 0) holds.
const DECIMAL_MAX: i128 = 10i128.pow(38) - 1;

/// The longest text (or digits) one value may be: a Parquet page's sizes
/// are `i32`s, which the writer casts without a check (a page past 2 GiB
/// is a damaged file, written with success), and a page holds up to one
/// write batch beyond its 1 MiB target ([`write_batch_size`]). 1 GiB
/// leaves room for both and for Snappy's growth. The unit tests lower it.
const VALUE_MAX: usize = if cfg!(test) { 64 } else { 1 << 30 };

/// The most text (or digits) one record batch holds in a column: an Arrow
/// `Utf8` or `Binary` array's offsets are `i32`s (2 GiB in all, past which
/// building the array panicked). A longer column is written as several
/// batches of one type, not as `LargeUtf8`, so the file's Arrow schema is
/// the same whatever the values' lengths. The unit tests lower it.
const BATCH_BYTES: usize = if cfg!(test) { 100 } else { 1 << 30 };

/// A result column's Parquet type, decided over all its values.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Text: UTF-8 (`Utf8`) or not (`Binary`); numbers in it print as
    /// their text.
    Text {
        utf8: bool,
    },
    Float,
    Int,
    Decimal,
    /// Integers past Decimal128(38, 0): their digits.
    Digits,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Text { utf8: true } | Kind::Digits => DataType::Utf8,
            Kind::Text { utf8: false } => DataType::Binary,
            Kind::Float => DataType::Float64,
            Kind::Int => DataType::Int64,
            Kind::Decimal => DataType::Decimal128(38, 0),
        }
    }

    /// The kind of a column of `values`, declared `declared` by the run.
    fn of(values: &[ValueRef<'_>], declared: ColumnType) -> Kind {
        let any = |f: fn(&ValueRef<'_>) -> bool| values.iter().any(f);
        if values.iter().all(|v| matches!(v, ValueRef::Null)) {
            return match declared {
                ColumnType::Text => Kind::Text { utf8: true },
                ColumnType::Float => Kind::Float,
                ColumnType::Int | ColumnType::Null => Kind::Int,
            };
        }
        // (an integer past 128 bits too: Parquet has no wider integer, and a
        // float would not be its exact value)
        if any(|v| matches!(v, ValueRef::Text(_) | ValueRef::IntDigits(_))) {
            let utf8 = values.iter().all(|v| match *v {
                ValueRef::Text(t) | ValueRef::IntDigits(t) => std::str::from_utf8(t).is_ok(),
                _ => true,
            });
            return Kind::Text { utf8 };
        }
        if any(|v| matches!(v, ValueRef::Float(_))) {
            return Kind::Float;
        }
        let ints = || {
            values.iter().filter_map(|v| match *v {
                ValueRef::Int(i) => Some(i),
                _ => None,
            })
        };
        if ints().all(|i| i64::try_from(i).is_ok()) {
            Kind::Int
        } else if ints().all(|i| i.abs() <= DECIMAL_MAX) {
            Kind::Decimal
        } else {
            // an exact sum past what a Decimal128 holds: its digits, not
            // the nearest double
            Kind::Digits
        }
    }

    /// Bytes `v` takes in an array of this kind: its text, for the kinds
    /// that hold text.
    fn bytes(self, v: ValueRef<'_>) -> usize {
        match (self, v) {
            (_, ValueRef::Null) => 0,
            (Kind::Text { .. }, ValueRef::Text(t) | ValueRef::IntDigits(t)) => t.len(),
            (Kind::Text { .. }, other) => plain(other).len(),
            // at most 40 digits and a sign ([`Kind::of`]: 128-bit integers)
            (Kind::Digits, _) => 41,
            _ => 0,
        }
    }

    /// An array of `values`, all of them of a column this kind was made
    /// for.
    fn array(self, values: &[ValueRef<'_>]) -> ArrayRef {
        fn text<'a>(v: &ValueRef<'a>) -> Option<std::borrow::Cow<'a, [u8]>> {
            match *v {
                ValueRef::Null => None,
                ValueRef::Text(t) | ValueRef::IntDigits(t) => Some(std::borrow::Cow::Borrowed(t)),
                other => Some(std::borrow::Cow::Owned(plain(other).into_bytes())),
            }
        }
        let int = |v: &ValueRef<'_>| match *v {
            ValueRef::Int(i) => Some(i),
            _ => None,
        };
        match self {
            Kind::Text { utf8: true } => Arc::new(
                values
                    .iter()
                    .map(text)
                    .map(|b| b.map(|b| String::from_utf8(b.into_owned()).expect("checked")))
                    .collect::<StringArray>(),
            ),
            Kind::Text { utf8: false } => Arc::new(
                values
                    .iter()
                    .map(text)
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|b| b.as_deref())
                    .collect::<BinaryArray>(),
            ),
            Kind::Float => Arc::new(
                values
                    .iter()
                    .map(|v| match *v {
                        ValueRef::Float(f) => Some(f),
                        ValueRef::Int(i) => Some(i as f64),
                        _ => None,
                    })
                    .collect::<Float64Array>(),
            ),
            Kind::Int => Arc::new(
                values
                    .iter()
                    .map(|v| int(v).map(|i| i as i64))
                    .collect::<Int64Array>(),
            ),
            Kind::Decimal => Arc::new(
                Decimal128Array::from_iter(values.iter().map(int))
                    .with_precision_and_scale(38, 0)
                    .expect("valid precision"),
            ),
            Kind::Digits => Arc::new(
                values
                    .iter()
                    .map(|v| int(v).map(|i| i.to_string()))
                    .collect::<StringArray>(),
            ),
        }
    }
}

/// Rows per Parquet write batch: the writer ends a page once it passes
/// its size target, looking after each write batch, so a page holds up
/// to a batch of the longest value beyond it. 1024 (the writer's default)
/// unless that many of the longest value would pass [`VALUE_MAX`].
fn write_batch_size(longest: usize) -> usize {
    (VALUE_MAX / longest.max(1)).clamp(1, 1024)
}

/// The table as the bytes of a Parquet file (one row group up to a
/// million rows, Snappy); a value longer than [`VALUE_MAX`] is refused,
/// naming its column.
pub fn to_parquet(table: &Table) -> std::io::Result<Vec<u8>> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    let mut longest = 0;
    for (j, name) in table.columns.iter().enumerate() {
        let values: Vec<ValueRef<'_>> = table.rows().map(|r| r.get(j)).collect();
        let kind = Kind::of(&values, table.declared(j));
        let sizes: Vec<usize> = values.iter().map(|&v| kind.bytes(v)).collect();
        let most = sizes.iter().copied().max().unwrap_or(0);
        if most > VALUE_MAX {
            return Err(std::io::Error::other(format!(
                "--format parquet: column '{}' holds a value of {most} bytes, more than the {} \
                 bytes a value may take in a Parquet page here; --format csv, json or ndjson \
                 write it",
                crate::error::show_name(name),
                VALUE_MAX
            )));
        }
        longest = longest.max(most);
        fields.push(Field::new(name, kind.data_type(), true));
        columns.push((kind, values, sizes));
    }
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_write_batch_size(write_batch_size(longest))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(props))
        .map_err(std::io::Error::other)?;
    for rows in batches(table.len(), &columns) {
        let arrays = columns
            .iter()
            .map(|(kind, values, _)| kind.array(&values[rows.clone()]))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
        writer.write(&batch).map_err(std::io::Error::other)?;
    }
    writer.close().map_err(std::io::Error::other)?;
    Ok(out)
}

/// Row ranges of at most [`BATCH_BYTES`] of text in every column (a row
/// whose own value is longer stands alone), covering `0..rows`; one empty
/// range for a table of no row, whose file still has the schema.
fn batches(
    rows: usize,
    columns: &[(Kind, Vec<ValueRef<'_>>, Vec<usize>)],
) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut filled = vec![0usize; columns.len()];
    for row in 0..rows {
        let over = columns
            .iter()
            .zip(&filled)
            .any(|((_, _, sizes), &f)| f + sizes[row] > BATCH_BYTES);
        if over && row > start {
            ranges.push(start..row);
            start = row;
            filled.fill(0);
        }
        for ((_, _, sizes), f) in columns.iter().zip(&mut filled) {
            *f += sizes[row];
        }
    }
    if start < rows || ranges.is_empty() {
        ranges.push(start..rows);
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn types_follow_values() {
        let table = Table::from_rows(
            vec![
                "k".into(),
                "n".into(),
                "x".into(),
                "big".into(),
                "huge".into(),
                "none".into(),
                "wider".into(),
            ],
            vec![
                vec![
                    Value::Text(b"a".to_vec()),
                    Value::Int(3),
                    Value::Float(0.5),
                    Value::Int(i64::MAX as i128 * 4),
                    Value::Int(10i128.pow(38) + 1),
                    Value::Null,
                    Value::IntDigits(b"-170141183460469231731687303715884105729".to_vec()),
                ],
                vec![
                    Value::Null,
                    Value::Int(-1),
                    Value::Int(2),
                    Value::Int(1),
                    Value::Int(-7),
                    Value::Null,
                    Value::Int(5),
                ],
            ],
        );
        let bytes = to_parquet(&table).unwrap();
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let s = batches[0].schema();
        let types: Vec<&DataType> = s.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [
                &DataType::Utf8,
                &DataType::Int64,
                &DataType::Float64,
                &DataType::Decimal128(38, 0),
                &DataType::Utf8,
                &DataType::Int64,
                &DataType::Utf8,
            ]
        );
        assert_eq!(batches[0].num_rows(), 2);
        // 10^38 + 1 exactly, not the double 1e38
        let huge = batches[0].column(4).as_any().downcast_ref::<StringArray>();
        let huge: Vec<Option<&str>> = huge.unwrap().iter().collect();
        assert_eq!(
            huge,
            [Some("100000000000000000000000000000000000001"), Some("-7")]
        );
        // past 128 bits: the digits, beside a small integer's
        let wider = batches[0].column(6).as_any().downcast_ref::<StringArray>();
        let wider: Vec<Option<&str>> = wider.unwrap().iter().collect();
        assert_eq!(
            wider,
            [Some("-170141183460469231731687303715884105729"), Some("5")]
        );
    }

    fn read_back(bytes: Vec<u8>) -> Vec<RecordBatch> {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
    }

    /// A column of more text than one Arrow array holds (2 GiB of offsets;
    /// `BATCH_BYTES`, lowered to 100 here) is written as several batches of
    /// one type: building it as one array panicked.
    #[test]
    fn text_past_one_array_is_written_in_batches_of_one_type() {
        let word = |c: u8, n: usize| Value::Text(vec![c; n]);
        let rows: Vec<Vec<Value>> = [
            (b'a', 60),
            (b'b', 50),
            (b'c', 0),
            (b'd', 64),
            (b'e', 1),
            (b'f', 64),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(c, n))| {
            vec![
                word(c, n),
                Value::Int(i as i128),
                Value::Text(vec![0xff, c]),
            ]
        })
        .collect();
        let table = Table::from_rows(vec!["k".into(), "n".into(), "raw".into()], rows.clone());
        let cols = table.columns.len();
        let columns: Vec<_> = (0..cols)
            .map(|j| {
                let values: Vec<ValueRef<'_>> = table.rows().map(|r| r.get(j)).collect();
                let kind = Kind::of(&values, table.declared(j));
                let sizes = values.iter().map(|&v| kind.bytes(v)).collect();
                (kind, values, sizes)
            })
            .collect();
        // 60 | 50 0 | 64 1 | 64: no batch past 100 bytes of `k`
        assert_eq!(batches(table.len(), &columns), [0..1, 1..3, 3..5, 5..6]);
        // (read back in one batch: the reader's batches are its own)
        let back = read_back(to_parquet(&table).unwrap());
        let schema = back[0].schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [&DataType::Utf8, &DataType::Int64, &DataType::Binary]
        );
        let keys: Vec<String> = back
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                a.iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>()
            })
            .collect();
        let expected: Vec<String> = rows
            .iter()
            .map(|r| match &r[0] {
                Value::Text(t) => String::from_utf8(t.clone()).unwrap(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(keys, expected);
        // a table of no row still has its columns
        let empty = Table::from_rows(vec!["k".into()], Vec::new());
        assert_eq!(batches(0, &[]), vec![std::ops::Range { start: 0, end: 0 }]);
        let back = read_back(to_parquet(&empty).unwrap());
        assert_eq!(back.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    }

    /// A value longer than a page may hold (`VALUE_MAX`, lowered to 64
    /// here) is refused by its column's name: the writer casts a page's
    /// size to `i32` unchecked, so a page past 2 GiB was a damaged file
    /// written with success.
    #[test]
    fn a_value_longer_than_a_page_holds_is_refused_by_its_column() {
        let table = Table::from_rows(
            vec!["id".into(), "long key".into()],
            vec![
                vec![Value::Int(1), Value::Text(vec![b'x'; 64])],
                vec![Value::Int(2), Value::Text(vec![b'y'; 65])],
            ],
        );
        let err = to_parquet(&table).unwrap_err().to_string();
        assert!(
            err.contains("column 'long key' holds a value of 65 bytes"),
            "{err}"
        );
        assert!(err.contains("--format csv"), "{err}");
        let fits = Table::from_rows(vec!["k".into()], vec![vec![Value::Text(vec![b'x'; 64])]]);
        assert_eq!(read_back(to_parquet(&fits).unwrap())[0].num_rows(), 1);
    }

    /// A write batch of the longest value stays within `VALUE_MAX`.
    #[test]
    fn write_batches_shrink_for_long_values() {
        assert_eq!(write_batch_size(0), VALUE_MAX.min(1024));
        assert_eq!(write_batch_size(1), VALUE_MAX.min(1024));
        assert_eq!(write_batch_size(VALUE_MAX), 1);
        assert_eq!(write_batch_size(VALUE_MAX / 2), 2);
        assert_eq!(write_batch_size(VALUE_MAX / 2 + 1), 1);
    }
}
