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
//! Nor does it doubt what a page header says the page decodes to: before a
//! run of row groups is decoded, [`pages`] walks the page headers of the
//! chunks it will read and holds each claim against its codec.
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

use std::ffi::CString;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::{LogicalType, Type as Physical};

mod pages;

use super::arrow::{fold_arrays, holds_16_bytes, is_text, Recast};
use super::ipc::guarded;
use super::ipc::wide;
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
    /// The name as messages show it, for [`crate::signals::decoding`].
    shown: CString,
    path: PathBuf,
    meta: ArrowReaderMetadata,
    /// Top-level column names.
    pub header: Vec<String>,
    /// First row of each row group, and the total row count at the end.
    row_starts: Vec<u64>,
    /// The top-level INT96 timestamp columns, and a reader's metadata that
    /// reads them as seconds (see [`Int96`]).
    int96: Option<Int96>,
    /// The 128-bit integer columns, and those holding such integers, that
    /// the footer's Arrow schema declares ([`declared_wide`]).
    wide: Vec<wide::Declared>,
    /// The file as it was opened (every reader opens its path again): see
    /// [`super::unchanged`].
    pub(crate) state: Option<super::unchanged::FileState>,
}

/// A file's legacy INT96 timestamps (what Spark, Hive and Impala write):
/// a day and the nanoseconds into it, which the `parquet` crate turns into
/// one `i64` of the column's unit with wrapping arithmetic. As nanoseconds
/// (its default, and what a file without an Arrow schema gets) that wraps
/// for every time outside 1677-09-21 to 2262-04-11: `9999-12-31`, the
/// "valid until" of many warehouse tables, read as a day in 1816.
///
/// So each such column is read twice: as the file asks, and as whole
/// seconds, which no INT96 overflows (a day is an `i32`). The two together
/// give the exact time ([`exact_int96`]); a batch whose times all fit the
/// unit keeps its array, and one that holds a time past it becomes that
/// column's text, the same text [`super::arrow`] gives the times that fit.
struct Int96 {
    /// Top-level column indices.
    columns: Vec<usize>,
    /// The file's metadata with those columns read as `Timestamp(Second)`.
    seconds: ArrowReaderMetadata,
}

impl ParquetInput {
    pub fn open(path: &Path) -> Result<ParquetInput> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // before any byte is read
        let state = super::unchanged::FileState::of(&file, path, &name, true);
        let shown = CString::new(show_path(path).into_owned()).unwrap_or_default();
        let decoding = crate::signals::decoding(&shown);
        let meta = guarded(|| {
            // A footer's Arrow schema (`ARROW:schema`, what pyarrow and
            // Polars embed) the crate cannot read (Polars' Int128) made the
            // whole file unreadable, though its Parquet columns are plain:
            // then the types are read from the Parquet schema alone, and
            // only such a column, if a query reads it, fails, naming it.
            let meta =
                ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).or_else(|e| {
                    let plain = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
                    ArrowReaderMetadata::load(&file, plain).map_err(|_| e)
                })?;
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
        drop(decoding);
        let header = meta
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let row_starts = row_starts(meta.metadata()).map_err(|why| {
            let name = show_path(path);
            Error::Other(format!("{name}: the file is damaged: {why}"))
        })?;
        let int96 = Int96::of(&meta).map_err(|e| {
            let name = show_path(path);
            Error::Other(format!("{name}: not a readable Parquet file: {e}"))
        })?;
        let wide = declared_wide(&meta);
        Ok(ParquetInput {
            name,
            shown,
            path: path.to_path_buf(),
            meta,
            header,
            row_starts,
            int96,
            wide,
            state,
        })
    }

    /// How each top-level column is read besides its Arrow type says
    /// ([`Recast`]): UUIDs of Parquet's UUID type (what DuckDB writes; the
    /// crate reads them as bare 16-byte values) or marked so by the file's
    /// Arrow schema, and Polars' 128-bit integers, 16 bytes with no Parquet
    /// type, which only the footer's Arrow schema (`ARROW:schema`, which
    /// the crate cannot read then) says are integers ([`wide`]).
    pub fn recasts(&self) -> Vec<Recast> {
        let roots = self.meta.parquet_schema().root_schema().get_fields();
        (self.meta.schema().fields().iter().enumerate())
            .map(|(i, field)| {
                if !holds_16_bytes(field.data_type()) {
                    return Recast::AsTyped;
                }
                // the file's own Parquet type first: the Arrow schema is
                // another writer's word, matched by place and name
                let uuid = roots.get(i).is_some_and(|root| {
                    root.is_primitive()
                        && root.get_basic_info().logical_type_ref() == Some(&LogicalType::Uuid)
                });
                if uuid {
                    return Recast::Uuid;
                }
                let declared = (self.wide.iter()).find(|w| !w.nested && w.column == i);
                match declared {
                    Some(w) => Recast::WideInt { signed: w.signed },
                    None => Recast::of_field(field),
                }
            })
            .collect()
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
        let nested: Vec<usize> = (self.wide.iter())
            .filter(|w| w.nested)
            .map(|w| w.column)
            .collect();
        super::arrow::check_types(&self.name, self.meta.schema(), plan, &nested)
    }

    /// The record batches of row groups `groups` (consecutive), top-level
    /// columns `roots` (ascending): a function that gives the next (`None`
    /// after the last), its INT96 timestamps exact ([`Int96`]). Every call
    /// into the `parquet` crate runs under [`guarded`] (see the module docs).
    fn batches(
        &self,
        roots: &[usize],
        groups: Vec<usize>,
    ) -> Result<impl FnMut() -> Result<Option<RecordBatch>> + '_> {
        self.check_pages(roots, &groups)?;
        let mut row = groups.first().map_or(0, |&g| self.row_starts[g]);
        let all_roots = roots.to_vec();
        let wrap = move |e: &dyn std::fmt::Display, row: u64| self.damaged(&all_roots, row, e);
        // the INT96 columns read: their place in a batch, and their index
        let int96: Vec<(usize, usize)> = match &self.int96 {
            Some(int96) => (roots.iter().enumerate())
                .filter(|(_, root)| int96.columns.contains(root))
                .map(|(at, &root)| (at, root))
                .collect(),
            None => Vec::new(),
        };
        let mut seconds = match &self.int96 {
            Some(Int96 { seconds, .. }) if !int96.is_empty() => {
                let roots = int96.iter().map(|&(_, root)| root);
                Some(self.reader(seconds, roots, groups.clone())?)
            }
            _ => None,
        };
        let (first, end) = match (groups.first(), groups.last()) {
            (Some(&a), Some(&b)) => (a, b + 1),
            _ => (0, 0),
        };
        let mut reader = self.reader(&self.meta, roots.iter().copied(), groups)?;
        let read_roots = roots.to_vec();
        Ok(move || {
            let _decoding = crate::signals::decoding(&self.shown);
            let Some(batch) = guarded(|| reader.next().transpose()).map_err(|e| wrap(&e, row))?
            else {
                // a page that claims fewer or more values than it holds
                // reads as a row group of another length, in one column or
                // in all: the answer would count other rows, silently
                if end > first && row != self.row_starts[end] {
                    return Err(self.miscounted(&read_roots, first..end, row));
                }
                return Ok(None);
            };
            let batch = match &mut seconds {
                Some(seconds) => {
                    let whole =
                        guarded(|| seconds.next().transpose()).map_err(|e| wrap(&e, row))?;
                    self.exact_int96(batch, whole, &int96, row)?
                }
                None => batch,
            };
            row += batch.num_rows() as u64;
            Ok(Some(batch))
        })
    }

    /// Checks the page headers of the chunks of columns `roots` in row
    /// groups `groups` (see [`pages`]) before the crate reads them.
    fn check_pages(&self, roots: &[usize], groups: &[usize]) -> Result<()> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        let schema = self.meta.parquet_schema();
        let leaves: Vec<usize> = (0..schema.num_columns())
            .filter(|&leaf| roots.contains(&schema.get_column_root_idx(leaf)))
            .collect();
        for &g in groups {
            let group = self.meta.metadata().row_group(g);
            for &leaf in &leaves {
                if let Err(why) = pages::check_chunk(&file, file_len, group.column(leaf)) {
                    let root = schema.get_column_root_idx(leaf);
                    return Err(Error::Other(format!(
                        "{}: row group {g} (counted from 0), column '{}': {why}: the file is \
                         damaged",
                        show_name(&self.name),
                        show_name(&self.header[root]),
                    )));
                }
            }
        }
        Ok(())
    }

    /// The error for the batch of columns `roots` that failed to decode as
    /// `e`, its first row the file's row `row` (from 0): it names the row
    /// group, its rows, and the column that fails read alone (the crate
    /// does not say which one failed), found by reading each column of each
    /// row group the batch spans alone, after the fact. A message of the
    /// crate's alone ("snappy: corrupt input") left the user to find the
    /// damage.
    fn damaged(&self, roots: &[usize], row: u64, e: &dyn std::fmt::Display) -> Error {
        let plain = read_error(&self.name, e);
        let groups = self.row_starts.len() - 1;
        if groups == 0 || missing_codec(e).is_some() {
            return plain;
        }
        let group_of = |row: u64| self.row_starts.partition_point(|&s| s <= row) - 1;
        let first = group_of(row).min(groups);
        let last = group_of(row + DECODE_ROWS as u64 - 1).min(groups - 1);
        let Some((g, root, wrong)) = self.first_wrong(roots, first..last + 1) else {
            return plain;
        };
        if let Wrong::Rows(rows) = wrong {
            // a column that decodes, as another number of rows than its
            // row group's, fails beside the others ("out of sync")
            return self.miscounted_column(g, root, rows);
        }
        let (from, to) = (self.row_starts[g] + 1, self.row_starts[g + 1]);
        Error::Other(format!(
            "{}: row group {g} (counted from 0; rows {from} to {to}), column '{}' cannot be \
             decoded, the file is damaged: {e}",
            show_name(&self.name),
            show_name(&self.header[root]),
        ))
    }

    /// The error for row groups `groups` of columns `roots` that decoded
    /// as rows up to `end` (counted from 0), not as many as the footer
    /// says: it names the first row group and column that read alone as
    /// another count (or fail), else the groups.
    fn miscounted(&self, roots: &[usize], groups: Range<usize>, end: u64) -> Error {
        match self.first_wrong(roots, groups.clone()) {
            Some((g, root, Wrong::Rows(rows))) => return self.miscounted_column(g, root, rows),
            Some((g, root, Wrong::Fails)) => {
                return Error::Other(format!(
                    "{}: row group {g} (counted from 0), column '{}' cannot be decoded, the \
                     file is damaged",
                    show_name(&self.name),
                    show_name(&self.header[root]),
                ))
            }
            None => {}
        }
        let name = show_name(&self.name);
        let claimed = self.row_starts[groups.end] - self.row_starts[groups.start];
        let read = end.wrapping_sub(self.row_starts[groups.start]);
        Error::Other(format!(
            "{name}: row groups {} to {} (counted from 0) decoded as {read} rows where the \
             footer says {claimed}: the file is damaged",
            groups.start,
            groups.end - 1
        ))
    }

    /// The first row group of `groups`, and in it the first of the columns
    /// `roots`, that reads alone otherwise than the footer says, and how:
    /// found after the fact, on an error path only (the crate does not say
    /// which column failed).
    fn first_wrong(&self, roots: &[usize], groups: Range<usize>) -> Option<(usize, usize, Wrong)> {
        groups
            .flat_map(|g| roots.iter().map(move |&root| (g, root)))
            .find_map(|(g, root)| Some((g, root, self.wrong_alone(root, g)?)))
    }

    /// What is wrong with column `root` of row group `g` read alone, if
    /// anything.
    fn wrong_alone(&self, root: usize, g: usize) -> Option<Wrong> {
        let Ok(mut reader) = self.reader(&self.meta, [root], vec![g]) else {
            return Some(Wrong::Fails);
        };
        let mut rows = 0u64;
        let _decoding = crate::signals::decoding(&self.shown);
        loop {
            match guarded(|| reader.next().transpose()) {
                Ok(Some(batch)) => rows += batch.num_rows() as u64,
                Ok(None) => break,
                Err(_) => return Some(Wrong::Fails),
            }
        }
        let claimed = self.row_starts[g + 1] - self.row_starts[g];
        (rows != claimed).then_some(Wrong::Rows(rows))
    }

    /// The error for column `root` of row group `g` decoding as `rows`.
    fn miscounted_column(&self, g: usize, root: usize, rows: u64) -> Error {
        Error::Other(format!(
            "{}: row group {g} (counted from 0), column '{}' holds {rows} rows where the footer \
             says {}: the file is damaged",
            show_name(&self.name),
            show_name(&self.header[root]),
            self.row_starts[g + 1] - self.row_starts[g]
        ))
    }

    /// A reader of row groups `groups`, top-level columns `roots`, with the
    /// schema of `meta`.
    fn reader(
        &self,
        meta: &ArrowReaderMetadata,
        roots: impl IntoIterator<Item = usize>,
        groups: Vec<usize>,
    ) -> Result<ParquetRecordBatchReader> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        guarded(|| {
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
                .with_projection(mask)
                .with_row_groups(groups)
                .with_batch_size(DECODE_ROWS)
                .build()
        })
        .map_err(|e| read_error(&self.name, &e))
    }

    /// `batch` (whose first row is the file's row `row`, counted from 0)
    /// with each INT96 column (`int96`: its place in the batch, and its
    /// index) made exact by the same rows read as whole seconds (`whole`,
    /// one column per entry of `int96`; see [`Int96`]).
    fn exact_int96(
        &self,
        batch: RecordBatch,
        whole: Option<RecordBatch>,
        int96: &[(usize, usize)],
        row: u64,
    ) -> Result<RecordBatch> {
        let name = show_name(&self.name);
        let whole = whole
            .filter(|w| w.num_rows() == batch.num_rows())
            .ok_or_else(|| {
                Error::Other(format!(
                    "{name}: its INT96 timestamps did not read as as many rows as its other columns"
                ))
            })?;
        let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
        let mut columns = batch.columns().to_vec();
        let mut changed = false;
        for (j, &(at, root)) in int96.iter().enumerate() {
            match exact_int96(&columns[at], whole.column(j)) {
                Ok(None) => {}
                Ok(Some(text)) => {
                    fields[at] = Arc::new(Field::new(fields[at].name(), DataType::Utf8, true));
                    columns[at] = text;
                    changed = true;
                }
                Err((r, why)) => {
                    let column = show_name(&self.header[root]);
                    let row = row + r as u64 + 1;
                    return Err(Error::Other(format!(
                        "{name}: row {row}: column '{column}': {why}"
                    )));
                }
            }
        }
        if !changed {
            return Ok(batch);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::Other(format!("{name}: {e}")))
    }

    /// Reads row groups `groups` into `fold`, decoding only the plan's columns.
    /// `hive` and `recast`: the Hive columns' types and values, and how
    /// each file column is read (see [`super::typed::slot_arrays`]).
    pub fn read(
        &self,
        plan: &Plan,
        groups: Range<usize>,
        fold: &mut Fold<'_>,
        hive: &[(super::dataset::HiveType, String)],
        recast: &[Recast],
    ) -> Result<()> {
        // Columns in file order, and for each slot its position among them.
        let roots: Vec<usize> = (0..self.header.len())
            .filter(|&i| plan.slot_of.get(i).is_some_and(|&s| s != UNUSED))
            .collect();
        let mut batches = self.batches(&roots, groups.clone().collect())?;
        let mut row = self.row_starts[groups.start];
        loop {
            if fold.cancelled() {
                return Ok(());
            }
            let Some(batch) = batches()? else {
                break;
            };
            let arrays = super::typed::slot_arrays(plan, hive, recast, &batch, &self.name)?;
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

/// How a column of a row group reads alone when not as the footer says
/// ([`ParquetInput::first_wrong`]).
enum Wrong {
    /// It fails to decode.
    Fails,
    /// It decodes as this many rows.
    Rows(u64),
}

/// The first row of each row group of `meta`, and the total at the end; or
/// why the footer's counts cannot be the rows. A column that is not
/// repeated holds one value (or null) per row, so its chunk's value count
/// is the row group's row count: the two are written apart in the footer,
/// and one damaged (a flipped bit, a negative or absurd count) no longer
/// passes for the rows. A count of rows alone (`--agg count`) reads no
/// page: it counted what a damaged `num_rows` said, and one of 2^40 rows
/// took hours of empty batches to count.
fn row_starts(
    meta: &parquet::file::metadata::ParquetMetaData,
) -> std::result::Result<Vec<u64>, String> {
    let mut starts = vec![0u64];
    for (g, rg) in meta.row_groups().iter().enumerate() {
        let rows = u64::try_from(rg.num_rows()).map_err(|_| {
            format!(
                "row group {g} (counted from 0) claims {} rows",
                rg.num_rows()
            )
        })?;
        for c in rg.columns() {
            if c.column_descr().max_rep_level() == 0 && c.num_values() != rg.num_rows() {
                return Err(format!(
                    "row group {g} (counted from 0) claims {rows} rows, but its column '{}' \
                     holds {} values",
                    show_name(&c.column_path().string()),
                    c.num_values()
                ));
            }
        }
        let last = *starts.last().expect("non-empty");
        starts.push(
            last.checked_add(rows)
                .ok_or_else(|| format!("row group {g} (counted from 0) claims {rows} rows"))?,
        );
    }
    Ok(starts)
}

/// The error for file `name` that the Parquet reader reported as `e`. A
/// codec this build leaves out (Brotli: a large crate for a codec few
/// writers use; LZO, which the `parquet` crate does not read) says so and
/// what to do, rather than the crate's "Disabled feature at compile time".
fn read_error(name: &str, e: &dyn std::fmt::Display) -> Error {
    let name = show_name(name);
    match missing_codec(e) {
        Some(codec) => Error::Other(format!(
            "{name}: its pages are compressed with {codec}, which rayproc does not read (it \
             reads Parquet uncompressed or compressed with Snappy, gzip, LZ4 or zstd): rewrite \
             it with one of those (pyarrow: pq.write_table(table, path, compression='zstd'))"
        )),
        None => Error::Other(format!("{name}: {e}")),
    }
}

/// The codec this build leaves out that the Parquet reader's error `e`
/// names, if any (see [`read_error`]).
fn missing_codec(e: &dyn std::fmt::Display) -> Option<&'static str> {
    let lower = e.to_string().to_ascii_lowercase();
    [
        ("Brotli", "compile time: brotli"),
        ("LZO", "codec type lzo"),
    ]
    .into_iter()
    .find(|(_, says)| lower.contains(says))
    .map(|(codec, _)| codec)
}

/// Decodes every row group of `input`, every column, and reads each as the
/// aggregates would ([`super::arrow::digest_batch`]): the rows read and a
/// digest of the values. What the `parquet_file` fuzz target drives: any
/// damage must come out as an error, never as a panic, a crash or a hang.
pub fn read_everything(input: &ParquetInput) -> Result<(u64, u64)> {
    let roots: Vec<usize> = (0..input.header.len()).collect();
    let mut batches = input.batches(&roots, (0..input.row_groups()).collect())?;
    let recasts = input.recasts();
    let (mut rows, mut digest) = (0u64, 0u64);
    while let Some(batch) = batches()? {
        digest = digest.rotate_left(7) ^ super::arrow::digest_batch(&batch, &recasts);
        rows += batch.num_rows() as u64;
    }
    Ok((rows, digest))
}

/// The 128-bit integer columns, and those holding such integers inside
/// them, that the footer's Arrow schema declares ([`wide`]) and that the
/// file's own schema agrees with by name at the same place.
fn declared_wide(meta: &ArrowReaderMetadata) -> Vec<wide::Declared> {
    let file = meta.metadata().file_metadata();
    let fields = meta.schema().fields();
    (file.key_value_metadata().into_iter().flatten())
        .filter(|kv| kv.key == "ARROW:schema")
        .filter_map(|kv| kv.value.as_deref())
        .flat_map(wide::in_arrow_schema)
        .filter(|w| fields.get(w.column).is_some_and(|f| f.name() == &w.name))
        .collect()
}

/// The schema `meta`'s reader is to use, where it differs from the
/// file's (`None` where it does not):
/// - a top-level column that is a dictionary the crate cannot give as one
///   ([`dictionary_readable`]) is read as its value type;
/// - a top-level text or binary column (`Utf8`, `Binary`, also as such a
///   dictionary's values) is read with 64-bit offsets (`LargeUtf8`,
///   `LargeBinary`). Why: a decoded batch (`DECODE_ROWS` rows) holds all
///   its rows' bytes in one array, and past 2 GiB of them (values of 32 KiB
///   on average, as a column of documents has; or a result of rayproc's
///   own `--format parquet` with long keys) the crate refused the column
///   ("index overflow decoding byte array"), which read as a damaged file.
///   What pyarrow and DuckDB write as `string`, Polars writes as
///   `large_string` already, the reference data's text included.
fn readable_schema(meta: &ArrowReaderMetadata) -> Option<SchemaRef> {
    let schema = meta.schema();
    let roots = meta.parquet_schema().root_schema().get_fields();
    let mut changed = false;
    let large = |t: &DataType| match t {
        DataType::Utf8 => DataType::LargeUtf8,
        DataType::Binary => DataType::LargeBinary,
        other => other.clone(),
    };
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .zip(roots)
        .map(|(field, root)| {
            let read = match field.data_type() {
                DataType::Dictionary(_, value) if !dictionary_readable(root, value) => large(value),
                other => large(other),
            };
            if &read == field.data_type() {
                return Arc::clone(field);
            }
            changed = true;
            Arc::new(field.as_ref().clone().with_data_type(read))
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
        // an INT96 column is read twice and its two reads combined
        // ([`Int96`]): as plain timestamps
        Physical::BOOLEAN | Physical::INT96 => false,
        Physical::INT32 | Physical::INT64 | Physical::FLOAT | Physical::DOUBLE => true,
    }
}

impl Int96 {
    /// The top-level INT96 timestamp columns of the file `meta` reads, and
    /// the metadata to read them as seconds; `None` when it has none.
    fn of(meta: &ArrowReaderMetadata) -> std::result::Result<Option<Int96>, String> {
        let roots = meta.parquet_schema().root_schema().get_fields();
        let schema = meta.schema();
        let columns: Vec<usize> = (roots.iter().zip(schema.fields()).enumerate())
            .filter(|(_, (root, field))| {
                root.is_primitive()
                    && root.get_physical_type() == Physical::INT96
                    && matches!(field.data_type(), DataType::Timestamp(_, _))
            })
            .map(|(i, _)| i)
            .collect();
        if columns.is_empty() {
            return Ok(None);
        }
        let fields: Vec<Arc<Field>> = (schema.fields().iter().enumerate())
            .map(|(i, field)| match columns.contains(&i) {
                true => Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(DataType::Timestamp(arrow_schema::TimeUnit::Second, None)),
                ),
                false => Arc::clone(field),
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        let seconds = guarded(|| {
            ArrowReaderMetadata::try_new(
                Arc::clone(meta.metadata()),
                ArrowReaderOptions::new().with_schema(schema),
            )
        })?;
        Ok(Some(Int96 { columns, seconds }))
    }
}

/// An INT96 column read as its timestamps (`read`: any unit, as wrapped by
/// the `parquet` crate) made exact by the same rows read as whole seconds
/// (`whole`, which never wrap; see [`Int96`]): `None` when every time of
/// `read` is exact, else the column's text ([`super::arrow::timestamp_text`],
/// the text `read`'s unit gives), or the first row (from 0) whose time
/// lies outside the years 0000 to 9999, and why.
///
/// Why it is exact: an INT96 holds a day `D` and nanoseconds `N`; its time
/// in units of `1/f` second is `T = D·86400·f + N·f/10^9` (rounded toward
/// zero), which the `parquet` crate gives modulo 2^64, and its whole
/// seconds `s = D·86400 + N/10^9` (rounded likewise), which fit. `T − s·f`
/// is `N`'s sub-second part in those units, less than `f` in size, so the
/// wrapping difference of the two reads is it exactly, and `T` is `s·f` plus
/// it, whether or not `T` fits in an `i64`.
fn exact_int96(
    read: &ArrayRef,
    whole: &ArrayRef,
) -> std::result::Result<Option<ArrayRef>, (usize, String)> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    use arrow_schema::TimeUnit;
    let (values, f) = match read.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => return Ok(None),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (
            read.as_primitive::<TimestampMillisecondType>().values(),
            1_000,
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (
            read.as_primitive::<TimestampMicrosecondType>().values(),
            1_000_000,
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => (
            read.as_primitive::<TimestampNanosecondType>().values(),
            1_000_000_000,
        ),
        _ => return Ok(None),
    };
    let Some(seconds) = whole.as_primitive_opt::<TimestampSecondType>() else {
        return Ok(None);
    };
    let seconds = seconds.values();
    let valid = |i: usize| read.is_valid(i);
    // the sub-second part of row i, in units of 1/f second (|part| < f)
    let part = |i: usize| values[i].wrapping_sub(seconds[i].wrapping_mul(f));
    let fits = |i: usize| {
        seconds[i]
            .checked_mul(f)
            .and_then(|t| t.checked_add(part(i)))
            .is_some()
    };
    if (0..read.len()).all(|i| !valid(i) || fits(i)) {
        return Ok(None);
    }
    let mut text = arrow_array::builder::StringBuilder::with_capacity(read.len(), read.len() * 30);
    for i in 0..read.len() {
        if !valid(i) {
            text.append_null();
            continue;
        }
        let (s, p) = (seconds[i], part(i));
        let (s, p) = if p < 0 { (s - 1, p + f) } else { (s, p) };
        text.append_value(super::arrow::timestamp_text(s, p, f).map_err(|why| (i, why))?);
    }
    Ok(Some(Arc::new(text.finish())))
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

    /// INT96 timestamps read as the times they hold, whatever their day
    /// and nanoseconds (crafted ones too: nanoseconds past a day, or
    /// negative as the crate reads them): a batch whose times fit in
    /// nanoseconds keeps its timestamp array, one that holds a time past
    /// them is the text each time would have, and a time outside the years
    /// 0000 to 9999 is an error naming the file, row and column. The
    /// expected times are worked out in `i128`.
    #[test]
    fn int96_timestamps_read_exactly_in_every_year() {
        use arrow_array::cast::AsArray;
        use arrow_array::types::TimestampNanosecondType;
        use arrow_array::Array;
        use parquet::data_type::{Int64Type, Int96 as Raw, Int96Type};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::parser::parse_message_type;
        const EPOCH: i64 = 2_440_588; // the Julian day of 1970-01-01
        const DAY_NS: i128 = 86_400_000_000_000;
        let write = |path: &Path, times: &[Option<(i64, i64)>]| {
            let schema = "message m { optional int96 ts; required int64 v; }";
            let schema = Arc::new(parse_message_type(schema).unwrap());
            let props = Arc::new(WriterProperties::builder().build());
            let file = File::create(path).unwrap();
            let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
            let mut rg = w.next_row_group().unwrap();
            let values: Vec<Raw> = (times.iter().flatten())
                .map(|&(day, nanos)| {
                    let mut raw = Raw::new();
                    let n = nanos as u64;
                    raw.set_data(n as u32, (n >> 32) as u32, (EPOCH + day) as u32);
                    raw
                })
                .collect();
            let levels: Vec<i16> = times.iter().map(|t| t.is_some() as i16).collect();
            let mut col = rg.next_column().unwrap().unwrap();
            (col.typed::<Int96Type>())
                .write_batch(&values, Some(&levels), None)
                .unwrap();
            col.close().unwrap();
            let mut col = rg.next_column().unwrap().unwrap();
            let v: Vec<i64> = (0..times.len() as i64).collect();
            col.typed::<Int64Type>()
                .write_batch(&v, None, None)
                .unwrap();
            col.close().unwrap();
            rg.close().unwrap();
            w.close().unwrap();
        };
        // what a row of `(day, nanos)` reads as: the time's text
        let expected = |(day, nanos): (i64, i64)| {
            let t = day as i128 * DAY_NS + nanos as i128;
            let (secs, frac) = (t.div_euclid(1_000_000_000), t.rem_euclid(1_000_000_000));
            super::super::arrow::timestamp_text(secs as i64, frac as i64, 1_000_000_000)
        };
        let texts = |path: &Path| -> Result<Vec<Option<String>>> {
            let input = ParquetInput::open(path)?;
            let mut batches = input.batches(&[0, 1], vec![0])?;
            let mut out = Vec::new();
            while let Some(batch) = batches()? {
                let ts = batch.column(0);
                for i in 0..ts.len() {
                    out.push(ts.is_valid(i).then(|| match ts.data_type() {
                        DataType::Utf8 => ts.as_string::<i32>().value(i).to_string(),
                        _ => {
                            let v = ts.as_primitive::<TimestampNanosecondType>().value(i);
                            let (s, f) = (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000));
                            super::super::arrow::timestamp_text(s, f, 1_000_000_000).unwrap()
                        }
                    }));
                }
            }
            Ok(out)
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let day = |y: i64| crate::timebucket::days_from_civil(y, 1, 1);
        let within = [
            Some((0, 0)),
            Some((10_957, 45_000_123_456_789)),
            None,
            Some((-106_751, 86_399_999_999_999)),
            Some((-1, 86_400_000_000_005)),
        ];
        write(&path, &within);
        let input = ParquetInput::open(&path).unwrap();
        let mut batches = input.batches(&[0, 1], vec![0]).unwrap();
        let batch = batches().unwrap().unwrap();
        assert!(
            matches!(batch.column(0).data_type(), DataType::Timestamp(_, _)),
            "times that fit keep their array: {:?}",
            batch.column(0).data_type()
        );
        let far = [
            Some((day(9999) + 364, 86_399_999_999_000)), // 9999-12-31
            Some((0, 1)),
            None,
            Some((day(1500), 0)),
            Some((day(1), -1)),
            Some((day(2000), -(1 << 62))),
            Some((day(3000), i64::MAX)),
            Some((-719_528, 0)),
        ];
        for times in [&within[..], &far[..]] {
            write(&path, times);
            let want: Vec<Option<String>> = (times.iter())
                .map(|t| t.map(|t| expected(t).unwrap()))
                .collect();
            assert_eq!(texts(&path).unwrap(), want, "{times:?}");
        }
        assert_eq!(
            texts(&path).unwrap()[0].as_deref(),
            Some("9999-12-31T23:59:59.999999000")
        );
        // a time past the year 9999 (row 3), and one before the year 0000
        for (times, row) in [
            (vec![Some((0, 0)), None, Some((day(10_000), 0))], 3),
            (vec![Some((-719_529, 0))], 1),
        ] {
            write(&path, &times);
            let e = texts(&path).unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "t.parquet: row {row}: column 'ts': a date in the year"
                )),
                "{e}"
            );
        }
    }

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
        let all: Vec<usize> = (0..input.header.len()).collect();
        let mut batches = input.batches(&all, vec![0]).unwrap();
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
