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

fn column(values: &[ValueRef<'_>], declared: ColumnType) -> (DataType, ArrayRef) {
    let any = |f: fn(&ValueRef<'_>) -> bool| values.iter().any(f);
    if values.iter().all(|v| matches!(v, ValueRef::Null)) {
        let n = values.len();
        return match declared {
            ColumnType::Text => (DataType::Utf8, Arc::new(StringArray::new_null(n))),
            ColumnType::Float => (DataType::Float64, Arc::new(Float64Array::new_null(n))),
            ColumnType::Int | ColumnType::Null => {
                (DataType::Int64, Arc::new(Int64Array::new_null(n)))
            }
        };
    }
    // (an integer past 128 bits too: Parquet has no wider integer, and a
    // float would not be its exact value)
    if any(|v| matches!(v, ValueRef::Text(_) | ValueRef::IntDigits(_))) {
        let bytes = |v: &ValueRef<'_>| match *v {
            ValueRef::Null => None,
            ValueRef::Text(t) | ValueRef::IntDigits(t) => Some(t.to_vec()),
            other => Some(plain(other).into_bytes()),
        };
        let all: Vec<Option<Vec<u8>>> = values.iter().map(bytes).collect();
        if all.iter().flatten().all(|b| std::str::from_utf8(b).is_ok()) {
            let a: StringArray = all
                .iter()
                .map(|b| b.as_ref().map(|b| std::str::from_utf8(b).expect("checked")))
                .collect();
            return (DataType::Utf8, Arc::new(a));
        }
        let a: BinaryArray = all.iter().map(|b| b.as_deref()).collect();
        return (DataType::Binary, Arc::new(a));
    }
    if any(|v| matches!(v, ValueRef::Float(_))) {
        let a: Float64Array = values
            .iter()
            .map(|v| match *v {
                ValueRef::Float(f) => Some(f),
                ValueRef::Int(i) => Some(i as f64),
                _ => None,
            })
            .collect();
        return (DataType::Float64, Arc::new(a));
    }
    let ints = || {
        values.iter().map(|v| match *v {
            ValueRef::Int(i) => Some(i),
            _ => None,
        })
    };
    if ints().flatten().all(|i| i64::try_from(i).is_ok()) {
        let a: Int64Array = ints().map(|i| i.map(|i| i as i64)).collect();
        return (DataType::Int64, Arc::new(a));
    }
    if ints().flatten().all(|i| i.abs() <= DECIMAL_MAX) {
        let a = Decimal128Array::from_iter(ints())
            .with_precision_and_scale(38, 0)
            .expect("valid precision");
        return (DataType::Decimal128(38, 0), Arc::new(a));
    }
    // an exact sum past what a Decimal128 holds: its digits, not the
    // nearest double
    let a: StringArray = ints().map(|i| i.map(|i| i.to_string())).collect();
    (DataType::Utf8, Arc::new(a))
}

/// The table as the bytes of a Parquet file (one row group, Snappy).
pub fn to_parquet(table: &Table) -> std::io::Result<Vec<u8>> {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (j, name) in table.columns.iter().enumerate() {
        let values: Vec<ValueRef<'_>> = table.rows().map(|r| r.get(j)).collect();
        let (dt, array) = column(&values, table.declared(j));
        fields.push(Field::new(name, dt, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(std::io::Error::other)?;
    writer.write(&batch).map_err(std::io::Error::other)?;
    writer.close().map_err(std::io::Error::other)?;
    Ok(out)
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
}
