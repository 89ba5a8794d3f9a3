//! Parquet inputs: a partition is a run of row groups; only the columns the
//! plan needs are decoded, and partitions are read in parallel, each through
//! its own file handle.
//!
//! The `parquet` crate (60) is not panic-free on a damaged file: a
//! definition-level run that claims more values than its page holds panics
//! in arrow-buffer's bounds checks (`offset + len out of bounds`). Every
//! call into it therefore runs under [`guarded`], as the Arrow IPC decoder's
//! do: such a panic is an error naming the file, not a crash.
//!
//! A dictionary column is read as its values (see [`super::arrow`]), but
//! the crate's reader only gives some dictionaries as dictionaries. Its
//! Arrow schema comes from the `ARROW:schema` that pyarrow and arrow-rs
//! writers store, which keeps a column's dictionary type; asked for a
//! dictionary of decimals stored as bytes (pyarrow's default for decimals)
//! it fails ("unsupported data type for byte array dictionary reader"),
//! and for a dictionary of booleans it panics. [`readable_schema`] hands
//! the reader such columns as their value type: the same values, decoded
//! plainly. Dictionaries of text and binary, and of numbers, dates and
//! times stored as integers or floats, stay dictionaries: the reader gives
//! those, and for text they are what keeps grouping by them cheap.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::Type as Physical;

use super::arrow::{fold_arrays, is_text};
use super::ipc::guarded;
use crate::error::{show_name, show_path, Error, Result};
use crate::exec::Fold;
use crate::plan::{Plan, UNUSED};

/// The magic bytes at both ends of a Parquet file.
pub const MAGIC: &[u8] = b"PAR1";

/// Rows per decoded record batch.
const DECODE_ROWS: usize = 65_536;

/// An opened Parquet file: its metadata and column names.
pub struct ParquetInput {
    pub name: String,
    path: PathBuf,
    meta: ArrowReaderMetadata,
    /// Top-level column names.
    pub header: Vec<String>,
    /// First row of each row group, and the total row count at the end.
    row_starts: Vec<u64>,
}

impl ParquetInput {
    pub fn open(path: &Path) -> Result<ParquetInput> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = guarded(|| {
            let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())?;
            // the same footer, read with the dictionaries the reader cannot
            // give replaced by their values (see the module docs); should
            // the crate refuse that schema, the file reads as before and
            // only such a column, if a query reads it, fails
            Ok::<_, parquet::errors::ParquetError>(match readable_schema(&meta) {
                Some(schema) => ArrowReaderMetadata::try_new(
                    Arc::clone(meta.metadata()),
                    ArrowReaderOptions::new().with_schema(schema),
                )
                .unwrap_or(meta),
                None => meta,
            })
        })
        .map_err(|e| {
            let name = show_path(path);
            Error::Other(format!("{name}: not a readable Parquet file: {e}"))
        })?;
        let header = meta
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut row_starts = vec![0u64];
        for rg in meta.metadata().row_groups() {
            let last = *row_starts.last().expect("non-empty");
            row_starts.push(last + rg.num_rows().max(0) as u64);
        }
        Ok(ParquetInput {
            name,
            path: path.to_path_buf(),
            meta,
            header,
            row_starts,
        })
    }

    /// The Arrow type of column `i`.
    pub fn data_type(&self, i: usize) -> arrow_schema::DataType {
        self.meta.schema().field(i).data_type().clone()
    }

    /// Number of row groups.
    pub fn row_groups(&self) -> usize {
        self.row_starts.len() - 1
    }

    /// Compressed size of row groups `groups`, for the progress bar.
    pub fn bytes(&self, groups: Range<usize>) -> u64 {
        self.meta.metadata().row_groups()[groups]
            .iter()
            .map(|rg| rg.compressed_size().max(0) as u64)
            .sum()
    }

    /// Checks that every column the plan reads has a supported type.
    pub fn check_types(&self, plan: &Plan) -> Result<()> {
        for (i, field) in self.meta.schema().fields().iter().enumerate() {
            if plan.slot_of.get(i).is_some_and(|&s| s != UNUSED) {
                super::arrow::kind_of(field.data_type()).map_err(|why| {
                    let (name, column) = (show_name(&self.name), show_name(field.name()));
                    Error::Other(format!("{name}: column '{column}' {why}"))
                })?;
            }
        }
        Ok(())
    }

    /// The record batches of row groups `groups`, columns `mask`: a
    /// function that gives the next (`None` after the last). Every call into
    /// the `parquet` crate runs under [`guarded`] (see the module docs).
    fn batches(
        &self,
        mask: ProjectionMask,
        groups: Vec<usize>,
    ) -> Result<impl FnMut() -> Result<Option<arrow_array::RecordBatch>> + '_> {
        let wrap = |e: &dyn std::fmt::Display| read_error(&self.name, e);
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mut reader = guarded(|| {
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
                .with_projection(mask)
                .with_row_groups(groups)
                .with_batch_size(DECODE_ROWS)
                .build()
        })
        .map_err(|e| wrap(&e))?;
        Ok(move || guarded(|| reader.next().transpose()).map_err(|e| wrap(&e)))
    }

    /// Reads row groups `groups` into `fold`, decoding only the plan's columns.
    /// `hive`: the Hive columns' types and values (see
    /// [`super::typed::slot_arrays`]).
    pub fn read(
        &self,
        plan: &Plan,
        groups: Range<usize>,
        fold: &mut Fold<'_>,
        hive: &[(super::dataset::HiveType, String)],
    ) -> Result<()> {
        // Columns in file order, and for each slot its position among them.
        let roots: Vec<usize> = (0..self.header.len())
            .filter(|&i| plan.slot_of.get(i).is_some_and(|&s| s != UNUSED))
            .collect();
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), roots.iter().copied());
        let mut batches = self.batches(mask, groups.clone().collect())?;
        let mut row = self.row_starts[groups.start];
        loop {
            if fold.cancelled() {
                return Ok(());
            }
            let Some(batch) = batches()? else {
                break;
            };
            let arrays = super::typed::slot_arrays(plan, hive, &batch);
            let first = row;
            super::arrow::note_schema_types(fold, &arrays);
            fold_arrays(
                fold,
                &plan.slot_names,
                &arrays,
                &[],
                &[],
                batch.num_rows(),
                |r| {
                    Error::Other(format!(
                        "{}: row {}: {}",
                        show_name(&self.name),
                        first + r.row as u64 + 1,
                        r.describe(plan)
                    ))
                },
            )?;
            row += batch.num_rows() as u64;
        }
        fold.advance(self.bytes(groups));
        Ok(())
    }
}

/// The error for file `name` that the Parquet reader reported as `e`. A
/// codec this build leaves out (Brotli: a large crate for a codec few
/// writers use; LZO, which the `parquet` crate does not read) says so and
/// what to do, rather than the crate's "Disabled feature at compile time".
fn read_error(name: &str, e: &dyn std::fmt::Display) -> Error {
    let name = show_name(name);
    let why = e.to_string();
    let lower = why.to_ascii_lowercase();
    let codec = [
        ("Brotli", "compile time: brotli"),
        ("LZO", "codec type lzo"),
    ]
    .into_iter()
    .find(|(_, says)| lower.contains(says));
    match codec {
        Some((codec, _)) => Error::Other(format!(
            "{name}: its pages are compressed with {codec}, which rayproc does not read (it \
             reads Parquet uncompressed or compressed with Snappy, gzip, LZ4 or zstd): rewrite \
             it with one of those (pyarrow: pq.write_table(table, path, compression='zstd'))"
        )),
        None => Error::Other(format!("{name}: {why}")),
    }
}

/// Decodes every row group of `input`, every column, and reads each as the
/// aggregates would ([`super::arrow::digest_batch`]): the rows read and a
/// digest of the values. What the `parquet_file` fuzz target drives: any
/// damage must come out as an error, never as a panic, a crash or a hang.
pub fn read_everything(input: &ParquetInput) -> Result<(u64, u64)> {
    let mut batches = input.batches(ProjectionMask::all(), (0..input.row_groups()).collect())?;
    let (mut rows, mut digest) = (0u64, 0u64);
    while let Some(batch) = batches()? {
        digest = digest.rotate_left(7) ^ super::arrow::digest_batch(&batch);
        rows += batch.num_rows() as u64;
    }
    Ok((rows, digest))
}

/// The schema `meta`'s reader is to use when some top-level column is a
/// dictionary it cannot give as one ([`dictionary_readable`]): that column
/// as its value type, every other field as it is. `None` when there is none.
fn readable_schema(meta: &ArrowReaderMetadata) -> Option<SchemaRef> {
    let schema = meta.schema();
    let roots = meta.parquet_schema().root_schema().get_fields();
    let mut changed = false;
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .zip(roots)
        .map(|(field, root)| match field.data_type() {
            DataType::Dictionary(_, value) if !dictionary_readable(root, value) => {
                changed = true;
                Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(value.as_ref().clone()),
                )
            }
            _ => Arc::clone(field),
        })
        .collect();
    changed.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// Whether the `parquet` crate (60) reads `column` as a dictionary of
/// `value`. Byte-array columns go through its byte-array dictionary
/// reader, which builds dictionaries of text and binary only (not of
/// decimals or float16 stored as bytes); integer and float columns through
/// its primitive reader, which builds a dictionary of any type it can
/// decode them as; a boolean column's dictionary panics in it. A nested
/// column is left as it is (rayproc refuses nested columns by their type).
fn dictionary_readable(column: &parquet::schema::types::Type, value: &DataType) -> bool {
    if !column.is_primitive() {
        return true;
    }
    match column.get_physical_type() {
        Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY => {
            is_text(value) || matches!(value, DataType::FixedSizeBinary(_))
        }
        Physical::BOOLEAN => false,
        Physical::INT32
        | Physical::INT64
        | Physical::INT96
        | Physical::FLOAT
        | Physical::DOUBLE => true,
    }
}

/// True when a file's first and last bytes are Parquet's magic.
pub fn is_parquet(head: &[u8], tail: &[u8]) -> bool {
    head.starts_with(MAGIC) && tail.ends_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    /// Dictionaries the `parquet` crate gives as dictionaries (of text,
    /// binary, integers, floats, dates, decimals stored as integers: the
    /// arrow writer stores those of precision up to 18 so) stay so; one of
    /// decimals stored as bytes (precision above 18) or of booleans is read
    /// as its values. Each reads back as the values written.
    #[test]
    fn only_dictionaries_the_reader_cannot_give_become_their_values() {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Int16Type, Int32Type, Int8Type};
        use arrow_array::{
            Array, BooleanArray, Date32Array, Decimal128Array, Decimal32Array, DictionaryArray,
            Int32Array,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let keys = || Int32Array::from(vec![0, 1, 0, 1]);
        let dict = |values: ArrayRef| -> ArrayRef {
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys(), values).unwrap())
        };
        let dec = |p, s| -> ArrayRef {
            Arc::new(
                Decimal128Array::from(vec![Some(150), None])
                    .with_precision_and_scale(p, s)
                    .unwrap(),
            )
        };
        let columns: Vec<(&str, ArrayRef, bool)> = vec![
            (
                "text",
                dict(Arc::new(StringArray::from(vec!["a", "b"]))),
                true,
            ),
            ("int", dict(Arc::new(Int64Array::from(vec![5, 6]))), true),
            (
                "float",
                dict(Arc::new(Float64Array::from(vec![0.5, 1.5]))),
                true,
            ),
            ("date", dict(Arc::new(Date32Array::from(vec![1, 2]))), true),
            (
                "dec32",
                dict(Arc::new(
                    Decimal32Array::from(vec![Some(150), None])
                        .with_precision_and_scale(5, 2)
                        .unwrap(),
                )),
                true,
            ),
            ("dec", dict(dec(5, 2)), true),
            ("dec18", dict(dec(18, 0)), true),
            ("dec30", dict(dec(30, 2)), false),
            (
                "bool",
                Arc::new(
                    DictionaryArray::<Int16Type>::try_new(
                        vec![0i16, 1, 0, 1].into(),
                        Arc::new(BooleanArray::from(vec![Some(true), None])),
                    )
                    .unwrap(),
                ),
                false,
            ),
            (
                "dec25",
                Arc::new(
                    DictionaryArray::<Int8Type>::try_new(vec![1i8, 0, 1, 0].into(), dec(25, 3))
                        .unwrap(),
                ),
                false,
            ),
        ];
        let batch = RecordBatch::try_from_iter_with_nullable(
            columns.iter().map(|(n, a, _)| (*n, Arc::clone(a), true)),
        )
        .unwrap();
        let file = File::create(&path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let input = ParquetInput::open(&path).unwrap();
        for (i, (name, array, stays)) in columns.iter().enumerate() {
            let DataType::Dictionary(_, value) = array.data_type() else {
                unreachable!()
            };
            let want = match stays {
                true => array.data_type(),
                false => value.as_ref(),
            };
            assert_eq!(&input.data_type(i), want, "{name}");
        }
        // every column reads, each as its values
        let mut batches = input.batches(ProjectionMask::all(), vec![0]).unwrap();
        let got = batches().unwrap().unwrap();
        assert!(batches().unwrap().is_none());
        let values_of = |a: &ArrayRef| match a.as_any_dictionary_opt() {
            Some(dict) => arrow_select::take::take(dict.values(), dict.keys(), None).unwrap(),
            None => Arc::clone(a),
        };
        for (i, (name, array, _)) in columns.iter().enumerate() {
            assert_eq!(
                values_of(got.column(i)).to_data(),
                values_of(array).to_data(),
                "{name}"
            );
        }
    }

    /// A file of two row groups read whole, and every damaged copy of it
    /// (each byte of its footer and pages flipped in turn, or the file cut
    /// short) an error or a result, never a panic (`parquet_file`, the fuzz
    /// target, drives the same reader with any bytes).
    #[test]
    fn every_damaged_copy_reads_or_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let batch = RecordBatch::try_from_iter([
            (
                "i",
                Arc::new(Int64Array::from_iter(
                    (0..50).map(|v| (v % 7 != 0).then_some(v)),
                )) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float64Array::from_iter_values(
                    (0..50).map(|v| v as f64 / 4.0),
                )),
            ),
            (
                "k",
                Arc::new(StringArray::from_iter_values(
                    (0..50).map(|v| format!("k{}", v % 5)),
                )),
            ),
        ])
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(30))
            .build();
        let file = File::create(&path).unwrap();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let input = ParquetInput::open(&path).unwrap();
        assert_eq!(input.row_groups(), 2);
        assert_eq!(read_everything(&input).unwrap().0, 50);
        let bytes = std::fs::read(&path).unwrap();
        let damaged = dir.path().join("d.parquet");
        for at in (0..bytes.len()).step_by(3) {
            let mut copy = bytes.clone();
            copy[at] ^= 0x5a;
            std::fs::write(&damaged, &copy).unwrap();
            if let Ok(input) = ParquetInput::open(&damaged) {
                // some flips change values and not the structure (Parquet
                // pages have no checksum unless the writer adds them)
                if let Err(e) = read_everything(&input) {
                    assert!(e.to_string().contains("d.parquet"), "{e}");
                }
            }
        }
        for len in [0, 4, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&damaged, &bytes[..len]).unwrap();
            if let Ok(input) = ParquetInput::open(&damaged) {
                assert!(read_everything(&input).is_err());
            }
        }
    }
}
