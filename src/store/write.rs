//! Creating a store (`rayproc split`): parse CSV inputs once into typed
//! partition files. (The command is named for the split / map / reduce
//! pattern; in the code, `split` is the CSV splitter's, [`crate::source::split`],
//! and making a store is [`create`].)
//!
//! Two passes over the CSV, each parallel over the same partitions as
//! `rayproc run` would use, and each a run of the engine's tasks
//! ([`crate::exec::run_tasks`]):
//!
//! 1. **type**: every partition is parsed and each column's type widened
//!    over its batches (integer → float → text), exactly as `run` types a
//!    column; data errors stop the split here, reported as `run` reports
//!    them. Stray quotes trigger the same exact re-split as in `run`.
//! 2. **write**: every partition is parsed again and written with the final
//!    types as one Arrow IPC file, hashed as it is written.
//!
//! Each source file is recorded ([`record_source`]) before it is opened,
//! and compared with that record again once both passes are done
//! ([`check_sources`]): a file that changed in between fails the split, so
//! that a store never holds one version of a file under the record of
//! another.
//!
//! Everything goes into a temporary directory inside the store directory
//! (`DIR/.tmp-PID`, removed on failure and, through [`crate::signals`], on
//! SIGINT/SIGTERM/SIGHUP), which becomes a new generation once its manifest
//! is written; then `current` is switched to it atomically and older
//! generations no reader holds are removed (see [`super::layout`]). An
//! interrupted split leaves the old store as it was; what a killed one left
//! behind is removed by the next split, which holds the store's writer lock
//! and so knows that no live split owns it.
//!
//! Partitions that cannot help are coarsened: a partition of less than
//! [`MIN_PARTITION_BYTES`] of CSV, or more than [`MAX_PARTITIONS`] per
//! input, would only add files and manifest entries (the manifest is held
//! in memory by every reader), so `--partitions` is capped, with a note on
//! stderr.
//!
//! What no input can make `split` write ([`Limits`]): a record batch whose
//! text in one column passes Arrow's 32-bit offsets (the batch is closed
//! early; a single field that long is an error naming its line), a `min`
//! or `max` statistic of more than [`STAT_TEXT_BYTES`] of text (the
//! beginning of the value is recorded, marked as such), and a manifest
//! larger than a reader accepts ([`manifest::MAX_BYTES`]: refused before
//! anything is committed). Each bound is a parameter of [`create_with`],
//! so that tests reach it with a few bytes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    UInt32Array,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema};

use super::dictionary::{self, Coder, DictionaryInfo, Distinct};
use super::layout;
use super::manifest::{
    self, fingerprint, modified_ns, source_change, ColumnInfo, ColumnStats, InputInfo, Manifest,
    Origin, PartitionInfo, Position, SourceInfo, FILE_NAME, FORMAT, STAT_TEXT_BYTES, VERSION,
};
use crate::batch::Batch;
use crate::error::{
    because, cannot_create_in, show_name, show_path, unwritable, DataError, Error, Result,
};
use crate::exec::{self, ExecOptions};
use crate::number::typing::may_be_integer;
use crate::number::{parse_int_field, EXACT_INT_LIMIT};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::source::csv::CsvReader;
use crate::source::csv_run::{self, CsvTask};
use crate::source::CsvInput;
use crate::spec::ColumnRef;
use crate::value::{parse_float_field, ColumnType, Data};

/// Rows per Arrow record batch in a partition file.
const WRITE_ROWS: usize = 65_536;
/// The least CSV bytes worth a partition of their own.
pub const MIN_PARTITION_BYTES: usize = 4 << 10;
/// The most partitions `split` makes of one input.
pub const MAX_PARTITIONS: usize = 4096;

/// The bounds of what `split` writes ([`create`] uses [`LIMITS`]; tests
/// lower them through [`create_with`]).
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// The most bytes of text one column of one record batch holds.
    /// Arrow's `Utf8` and `Binary` arrays locate their values by 32-bit
    /// offsets: a batch is closed early rather than let its text pass
    /// `i32::MAX` (the offsets wrapped, storing a 4 GiB value as its length
    /// mod 2^32, and between 2 and 4 GiB the writer panicked), and a single
    /// field longer than this is an error naming its line.
    batch_text: usize,
    /// The most bytes of a text value that a `min` or `max` statistic
    /// records ([`ColumnStats::min`]).
    stat_text: usize,
    /// When the manifest would be larger than `manifest` bytes with them,
    /// text statistics are cut to this many bytes.
    stat_text_short: usize,
    /// The largest manifest a reader accepts ([`manifest::MAX_BYTES`]).
    manifest: u64,
}

const LIMITS: Limits = Limits {
    batch_text: i32::MAX as usize,
    stat_text: STAT_TEXT_BYTES,
    stat_text_short: 64,
    manifest: manifest::MAX_BYTES,
};

/// Fewer bytes than the manifest takes for the statistics of one field of
/// one partition, at the least (a checksum and a null count, indented:
/// about 94 bytes), so that a store whose manifest could not be read is
/// refused before anything is written.
const LEAST_STATS_BYTES: u64 = 64;

/// The partition count a store gets for `requested` over inputs whose
/// largest body is `largest` bytes.
fn capped_partitions(requested: usize, largest: usize) -> usize {
    requested
        .min((largest / MIN_PARTITION_BYTES).max(1))
        .min(MAX_PARTITIONS)
}

/// What `rayproc split` was asked to do.
#[derive(Clone, Debug)]
pub struct CreateOptions {
    pub store: PathBuf,
    /// Partitions per input; `None` picks from the input size, as `run` does.
    pub partitions: Option<usize>,
    pub threads: usize,
    pub delimiter: u8,
    /// CSV field texts read as null besides the empty one
    /// ([`Plan::nulls`]'s form).
    pub nulls: Vec<String>,
    /// Only these columns (in this order); `None` keeps them all.
    pub columns: Option<Vec<ColumnRef>>,
    /// No notes on stderr (a capped `--partitions`).
    pub quiet: bool,
    /// The `--input`s that were folders or patterns, recorded so that a run
    /// can expand them again ([`InputInfo`]).
    pub patterns: Vec<InputInfo>,
    /// For each of `inputs`, then each of `empty` (see [`create`]): the one
    /// of `patterns` that found it, if one did.
    pub found_by: Vec<Option<usize>>,
    /// For each of `inputs`, then each of `empty`: its file as it was before
    /// it was opened ([`record_source`]); `None` for standard input and
    /// other inputs read once. This is what the manifest records, not the
    /// file as it is once the data has been read, which may be another.
    pub sources: Vec<Option<SourceInfo>>,
}

/// What [`create`] wrote.
#[derive(Debug)]
pub struct CreateSummary {
    pub rows: u64,
    pub partitions: usize,
    pub bytes: u64,
}

/// Pass 1's findings about one partition.
#[derive(Clone, Default)]
struct Typing {
    types: Vec<ColumnType>,
    /// Per slot: every text value seen is valid UTF-8.
    utf8: Vec<bool>,
    /// Per slot: (row in partition, record start) of the first non-number.
    first_text: Vec<Option<(u64, usize)>>,
    /// Per slot: whether a number batch held an integer (see
    /// [`Integers`]).
    integers: Vec<Integers>,
    /// Per slot: whether a number batch held a field whose text is not
    /// what a filter reads of its value ([`ColumnInfo::texts`]).
    texts: Vec<bool>,
    /// Rows seen so far in the partition.
    rows: u64,
}

/// What a column's number batches held of integers: a float column with
/// any records which of its rows they were ([`ColumnInfo::integers`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Integers {
    #[default]
    None,
    /// Integers, each within ±2^53 (its float is its value).
    Exact,
    /// An integer beyond ±2^53.
    Wide,
}

impl Integers {
    fn of(v: i64) -> Integers {
        match !(-EXACT_INT_LIMIT..=EXACT_INT_LIMIT).contains(&v) {
            true => Integers::Wide,
            false => Integers::Exact,
        }
    }

    /// What number batch `col` of type `ty` holds of integers.
    fn of_batch(col: &crate::value::Column<'_>, ty: ColumnType) -> Integers {
        let mut found = Integers::None;
        for row in 0..col.len {
            if let Some(v) = spelled_int(col, ty, row) {
                found = found.max(Integers::of(v));
            }
        }
        found
    }
}

/// The integer row `row` of number batch `col` (of type `ty`) was spelled
/// as, if its field was one: every value of an integer batch; in a float
/// batch, a value that parses as an integer (`2`, not `2.0`), which only an
/// integer-valued one can (the rest are not read again).
#[inline]
fn spelled_int(col: &crate::value::Column<'_>, ty: ColumnType, row: usize) -> Option<i64> {
    if !col.is_valid(row) {
        return None;
    }
    match (ty, col.data) {
        (ColumnType::Int, Data::Int(v)) => Some(v[row]),
        (ColumnType::Float, Data::Float(v)) if may_be_integer(v[row]) => {
            parse_int_field(col.raw.expect("CSV batches keep their text")[row])
        }
        _ => None,
    }
}

/// Whether row `row` of number batch `col` (of type `ty`) is valid and its
/// field's text is not what a filter reads of the value a store keeps of
/// it ([`ColumnInfo::texts`]): an integer's one spelling (also a float
/// column's integer, which its `#ints` field marks), a double's `{:?}`.
#[inline]
fn written_otherwise(col: &crate::value::Column<'_>, ty: ColumnType, row: usize) -> bool {
    use crate::number::printed::{is_printed_float, is_printed_int};
    if !col.is_valid(row) {
        return false;
    }
    let text = col.raw.expect("CSV batches keep their text")[row];
    match (ty, col.data) {
        (ColumnType::Int, Data::Int(v)) => !is_printed_int(text, v[row]),
        (ColumnType::Float, Data::Float(v)) => match spelled_int(col, ty, row) {
            Some(i) => !is_printed_int(text, i),
            None => !is_printed_float(text, v[row]),
        },
        _ => false,
    }
}

/// Why writing a partition stopped.
enum Stop {
    Failed(Error),
    /// An earlier partition failed ([`exec::Ctx::cancelled`]).
    Cancelled,
}

impl From<DataError> for Stop {
    fn from(e: DataError) -> Self {
        Stop::Failed(Error::Data(e))
    }
}

/// Parses `inputs` (which share `header`) and writes the store; `empty`
/// are inputs without a byte, recorded as sources only (so that a run sees
/// one that has changed since).
pub fn create(
    inputs: &[CsvInput],
    empty: &[CsvInput],
    header: &[String],
    opts: &CreateOptions,
) -> Result<CreateSummary> {
    create_with(inputs, empty, header, opts, &LIMITS)
}

/// [`create`] within `limits`.
fn create_with(
    inputs: &[CsvInput],
    empty: &[CsvInput],
    header: &[String],
    opts: &CreateOptions,
    limits: &Limits,
) -> Result<CreateSummary> {
    // every column by default, repeated names included (told apart as k#2)
    let plan = Plan {
        nulls: opts.nulls.clone(),
        ..match &opts.columns {
            Some(columns) => Plan::for_columns(header, columns)?,
            None => Plan::for_every_column(header)?,
        }
    };
    let partitions = opts.partitions.map(|requested| {
        let largest = inputs
            .iter()
            .map(|i| i.bytes().len() - i.body_start)
            .max()
            .unwrap_or(0);
        let capped = capped_partitions(requested, largest);
        if capped < requested && !opts.quiet {
            crate::say!(
                "rayproc: note: --partitions {requested} would make partitions of less than \
                 {} KiB of CSV each (or more than {MAX_PARTITIONS}); writing {capped} per input",
                MIN_PARTITION_BYTES >> 10
            );
        }
        capped
    });
    let target = prepare_target(&opts.store, opts.quiet)?;

    let pool = exec::pool(opts.threads)?;
    // Pass 1: types, over validated partitions (the same split as `run`).
    let exec_opts = ExecOptions {
        partitions,
        threads: opts.threads,
        delimiter: opts.delimiter,
        progress: false,
        // one store file per partition, as many as asked or the default
        taper: false,
    };
    let (tasks, typings, distinct) = type_pass(&pool, &plan, inputs, &exec_opts)?;
    let slots = plan.slots();
    let mut types = vec![ColumnType::Null; slots];
    let mut utf8 = vec![true; slots];
    let mut first_text: Vec<Option<Position>> = vec![None; slots];
    let mut integers = vec![Integers::None; slots];
    let mut texts = vec![false; slots];
    for (p, t) in typings.iter().enumerate() {
        for s in 0..slots {
            types[s] = types[s].widen(t.types[s]);
            integers[s] = integers[s].max(t.integers[s]);
            texts[s] |= t.texts[s];
            utf8[s] &= t.utf8[s];
            if first_text[s].is_none() {
                if let Some((row, offset)) = t.first_text[s] {
                    let input = &inputs[tasks[p].input];
                    first_text[s] = Some(Position {
                        partition: p,
                        row,
                        file: input.name.clone(),
                        line: input.line_of(offset),
                    });
                }
            }
        }
    }
    // a text column with few enough distinct values is coded
    let coders: Vec<Option<Coder>> = pool.install(|| {
        (distinct.into_iter().enumerate())
            .map(|(s, d)| {
                (types[s] == ColumnType::Text)
                    .then(|| d.into_coder())
                    .flatten()
            })
            .collect()
    });
    let arrow_types: Vec<DataType> = (0..slots)
        .map(|s| match types[s] {
            ColumnType::Null | ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Text if utf8[s] => DataType::Utf8,
            ColumnType::Text => DataType::Binary,
        })
        .collect();
    // only a float column's integers are recorded
    for (i, ty) in integers.iter_mut().zip(&types) {
        if *ty != ColumnType::Float {
            *i = Integers::None;
        }
    }
    // only a number column's texts are recorded (number fields are ASCII:
    // `number::printed`'s tests)
    for (t, ty) in texts.iter_mut().zip(&types) {
        *t &= matches!(ty, ColumnType::Int | ColumnType::Float);
    }
    let integer_types: Vec<Option<DataType>> = (integers.iter())
        .map(|i| match i {
            Integers::None => None,
            Integers::Exact => Some(DataType::Boolean),
            Integers::Wide => Some(DataType::Int64),
        })
        .collect();
    // the columns, then the codes of each coded one, then the integers of
    // each float one that has them, then the texts of each number one that
    // has them (in column order)
    let schema = Arc::new(Schema::new(
        (0..slots)
            .map(|s| Field::new(&plan.slot_names[s], arrow_types[s].clone(), true))
            .chain((0..slots).filter(|&s| coders[s].is_some()).map(|s| {
                Field::new(
                    dictionary::codes_field(&plan.slot_names[s]),
                    DataType::UInt32,
                    true,
                )
            }))
            .chain((0..slots).filter_map(|s| {
                let dt = integer_types[s].clone()?;
                let nullable = dt == DataType::Int64;
                Some(Field::new(
                    integers_field(&plan.slot_names[s]),
                    dt,
                    nullable,
                ))
            }))
            .chain(
                (0..slots)
                    .filter(|&s| texts[s])
                    .map(|s| Field::new(texts_field(&plan.slot_names[s]), DataType::Utf8, true)),
            )
            .collect::<Vec<_>>(),
    ));

    // every partition records every field's statistics: a store whose
    // manifest no reader would read is refused before anything is written
    let least = (tasks.len() as u64)
        .saturating_mul(schema.fields().len() as u64)
        .saturating_mul(LEAST_STATS_BYTES);
    if least > limits.manifest {
        return Err(manifest_too_large(
            least,
            limits.manifest,
            tasks.len(),
            schema.fields().len(),
        ));
    }

    // Pass 2: write, one partition file per task, each worker with a reader
    // (and the coded columns' dictionaries).
    let dir = target.tmp.as_path();
    let mut dictionaries: Vec<Option<DictionaryInfo>> = Vec::with_capacity(slots);
    for (s, coder) in coders.iter().enumerate() {
        dictionaries.push(match coder {
            Some(c) => {
                Some(dictionary::write(dir, s, c, utf8[s]).map_err(|e| target.write_failed(e))?)
            }
            None => None,
        });
    }
    let readers = (0..pool.current_num_threads())
        .map(|_| CsvReader::new(&plan, opts.delimiter))
        .collect();
    let written = exec::run_tasks(
        &pool,
        &tasks,
        &Progress::hidden(),
        readers,
        |reader, task, ctx| {
            let input = &inputs[task.input];
            let out = Written {
                schema: &schema,
                labels: &plan.slot_labels,
                types: &types,
                coders: &coders,
                integers: &integers,
                texts: &texts,
                limits,
            };
            write_partition(reader, input, task, &out, dir, ctx)
        },
    );
    let partitions = match written.into_result() {
        Ok((_, partitions)) => partitions,
        Err(Stop::Failed(e)) => return Err(target.write_failed(e)),
        Err(Stop::Cancelled) => {
            unreachable!("a writer stops for a cancellation only when cancelled")
        }
    };

    // where each stored column lies in the source's header: recorded where
    // the store holds other columns than all of them in order, so that a
    // query names them as over the source (`k#2`, see
    // `Manifest::source_columns`)
    let mut positions = vec![0; slots];
    for (p, &s) in plan.slot_of.iter().enumerate() {
        if s != crate::plan::UNUSED {
            positions[s as usize] = p;
        }
    }
    let in_order = slots == header.len() && positions.iter().enumerate().all(|(s, &p)| s == p);
    let columns: Vec<ColumnInfo> = (0..slots)
        .map(|s| ColumnInfo {
            name: plan.slot_names[s].clone(),
            ty: types[s].name().to_string(),
            arrow_type: arrow_types[s].to_string(),
            null_count: partitions.iter().map(|p| p.columns[s].null_count).sum(),
            first_non_number: if types[s] == ColumnType::Text {
                first_text[s].clone()
            } else {
                None
            },
            dictionary: dictionaries[s].clone(),
            integers: integer_types[s].as_ref().map(DataType::to_string),
            texts: texts[s].then(|| DataType::Utf8.to_string()),
            source: (!in_order).then_some(positions[s]),
        })
        .collect();
    let mut sources = Vec::new();
    for (k, input) in inputs.iter().chain(empty).enumerate() {
        let before = opts.sources.get(k).and_then(Option::as_ref);
        let mut source = source_info(input, before)?;
        source.input = opts.found_by.get(k).copied().flatten();
        sources.push(source);
    }
    // every byte of the store is read and written: a source that is not
    // the file recorded before it was read fails the split here, before
    // the commit, and `target` removes what was written
    crate::signals::test_pause("split.read");
    check_sources(&pool, &sources)?;
    let mut manifest = Manifest {
        checksum: None,
        format: FORMAT.into(),
        version: VERSION,
        created_by: format!("rayproc {}", env!("CARGO_PKG_VERSION")),
        created_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        delimiter: (opts.delimiter as char).to_string(),
        nulls: opts.nulls.clone(),
        rows: partitions.iter().map(|p| p.rows).sum(),
        bytes: partitions.iter().map(|p| p.bytes).sum(),
        columns,
        source_columns: (!in_order).then(|| header.to_vec()),
        inputs: opts.patterns.clone(),
        sources,
        partitions,
    };
    fit_manifest(&mut manifest, limits)?;
    let summary = CreateSummary {
        rows: manifest.rows,
        partitions: manifest.partitions.len(),
        bytes: manifest.bytes,
    };
    target.commit(&manifest)?;
    Ok(summary)
}

/// Makes `manifest` fit what a reader accepts (`limits.manifest`): its
/// text statistics are cut shorter if that is enough, else the store is
/// refused, before it is committed (and what was written is removed).
fn fit_manifest(manifest: &mut Manifest, limits: &Limits) -> Result<()> {
    if manifest.text_len() <= limits.manifest {
        return Ok(());
    }
    for stats in (manifest.partitions.iter_mut()).flat_map(|p| p.columns.iter_mut()) {
        cut_stat(
            &mut stats.min,
            &mut stats.min_truncated,
            limits.stat_text_short,
        );
        cut_stat(
            &mut stats.max,
            &mut stats.max_truncated,
            limits.stat_text_short,
        );
    }
    let bytes = manifest.text_len();
    if bytes <= limits.manifest {
        return Ok(());
    }
    let fields = manifest.fields();
    Err(manifest_too_large(
        bytes,
        limits.manifest,
        manifest.partitions.len(),
        fields,
    ))
}

/// Cuts a text statistic `stat` to at most `limit` bytes (at a character),
/// marking it `truncated`.
fn cut_stat(stat: &mut Option<serde_json::Value>, truncated: &mut bool, limit: usize) {
    if let Some(serde_json::Value::String(text)) = stat {
        if text.len() > limit {
            let mut end = limit;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            *truncated = true;
        }
    }
}

/// The error for a store whose manifest would be `bytes` (at least), more
/// than the `limit` a reader accepts.
fn manifest_too_large(bytes: u64, limit: u64, partitions: usize, fields: usize) -> Error {
    Error::Other(format!(
        "the store's manifest would take at least {} ({} partitions of {} fields each), more \
         than the {} a reader accepts; the store was not written: split into fewer \
         partitions (--partitions) or fewer columns (--columns)",
        super::human_bytes(bytes),
        super::thousands(partitions as u64),
        super::thousands(fields as u64),
        super::human_bytes(limit),
    ))
}

fn type_pass(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    inputs: &[CsvInput],
    opts: &ExecOptions,
) -> Result<(Vec<CsvTask>, Vec<Typing>, Vec<Distinct>)> {
    let slots = plan.slots();
    let blank = Typing {
        types: vec![ColumnType::Null; slots],
        utf8: vec![true; slots],
        first_text: vec![None; slots],
        integers: vec![Integers::None; slots],
        texts: vec![false; slots],
        rows: 0,
    };
    // each worker keeps the typings of the partitions it read, by index,
    // and the distinct values of each column that has only text so far;
    // once any partition has a number field written otherwise than
    // printed, no other looks for one in that column (the write pass reads
    // every field of such a column again)
    let texts_found: Vec<std::sync::atomic::AtomicBool> = (0..slots)
        .map(|_| std::sync::atomic::AtomicBool::new(false))
        .collect();
    let fold = |worker: &mut TypeWorker,
                index: usize,
                _input: &CsvInput,
                batch: &Batch<'_>,
                starts: &[usize]|
     -> std::result::Result<(), DataError> {
        let typing = worker.seen.entry(index).or_insert_with(|| blank.clone());
        for (s, texts_found) in texts_found.iter().enumerate() {
            let ty = batch.types[s];
            typing.types[s] = typing.types[s].widen(ty);
            if ty != ColumnType::Text {
                if ty != ColumnType::Null {
                    // a batch of numbers: the column is not coded
                    worker.distinct[s].abandon();
                    if typing.integers[s] != Integers::Wide {
                        let found = Integers::of_batch(&batch.columns[s], ty);
                        typing.integers[s] = typing.integers[s].max(found);
                    }
                    use std::sync::atomic::Ordering::Relaxed;
                    if !typing.texts[s] && !texts_found.load(Relaxed) {
                        let col = &batch.columns[s];
                        typing.texts[s] = (0..batch.len).any(|r| written_otherwise(col, ty, r));
                        if typing.texts[s] {
                            texts_found.store(true, Relaxed);
                        }
                    }
                }
                continue;
            }
            let col = &batch.columns[s];
            let raw = col.raw.expect("CSV batches keep their text");
            worker.distinct[s].add((0..batch.len).filter(|&r| col.is_valid(r)).map(|r| raw[r]));
            if typing.utf8[s] {
                typing.utf8[s] = raw.iter().all(|v| std::str::from_utf8(v).is_ok());
            }
            if typing.first_text[s].is_none() {
                let bad = (0..batch.len)
                    .find(|&r| col.is_valid(r) && parse_float_field(raw[r]).is_none());
                if let Some(r) = bad {
                    typing.first_text[s] = Some((typing.rows + r as u64, starts[r]));
                }
            }
        }
        typing.rows += batch.len as u64;
        Ok(())
    };
    let new_workers = |n| {
        (0..n)
            .map(|_| TypeWorker {
                seen: BTreeMap::new(),
                distinct: (0..slots).map(|_| Distinct::new()).collect(),
            })
            .collect()
    };
    let (tasks, workers) = csv_run::map(pool, plan, inputs, opts, &new_workers, &fold)?;
    let mut typings = vec![blank.clone(); tasks.len()];
    let mut distinct: Option<Vec<Distinct>> = None;
    for worker in workers {
        for (index, typing) in worker.seen {
            typings[index] = typing;
        }
        distinct = Some(match distinct {
            None => worker.distinct,
            Some(d) => (d.into_iter().zip(worker.distinct))
                .map(|(a, b)| a.merge(b))
                .collect(),
        });
    }
    let distinct = distinct.unwrap_or_else(|| (0..slots).map(|_| Distinct::new()).collect());
    Ok((tasks, typings, distinct))
}

/// A type-pass worker's findings.
struct TypeWorker {
    /// The typing of each partition it read, by index.
    seen: BTreeMap<usize, Typing>,
    /// Per slot: the distinct values of the text batches it read.
    distinct: Vec<Distinct>,
}

/// One column being gathered into a record batch.
struct Gather<'c> {
    ty: ColumnType,
    /// A coded text column's coder, and its codes so far.
    coder: Option<&'c Coder>,
    /// Not `None` for the integers of a float column
    /// ([`Gather::push_integers`]): `Exact` gathers `marks`, `Wide` the
    /// integers as `ints` (null where a field was not one).
    integers: Integers,
    /// Gathers the texts of a number column ([`Gather::push_text`]): the
    /// field's text where it is not the value's printed form, else null.
    texts: bool,
    marks: Vec<bool>,
    codes: Vec<u32>,
    /// The codes of the batch being gathered, per row.
    batch_codes: Vec<u32>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    valid: Vec<bool>,
    stats: StatsAcc,
}

#[derive(Default)]
struct StatsAcc {
    nulls: u64,
    int: Option<(i64, i64)>,
    float: Option<(f64, f64)>,
    /// The least and greatest text, each as [`text_key`] records it.
    text: Option<(TextKey, TextKey)>,
    /// The most bytes of a text value recorded ([`Limits::stat_text`]).
    text_limit: usize,
}

/// A text value as a statistic records it: its first bytes (all of them,
/// up to a limit), and whether there were more.
type TextKey = (Vec<u8>, bool);

/// Value `v` as a statistic of at most `limit` bytes records it: its first
/// `limit` bytes, and whether it is longer. Ordered as tuples, these keys
/// keep the order of the values (`v <= w` gives `key(v) <= key(w)`: a
/// value of at most `limit` bytes is less than every longer value it
/// begins), so the least key is the least value's, and the greatest the
/// greatest's, without holding a whole value that may be gigabytes.
fn text_key(v: &[u8], limit: usize) -> (&[u8], bool) {
    match v.len() > limit {
        true => (&v[..limit], true),
        false => (v, false),
    }
}

/// `v`, the beginning of a longer value, without the first bytes of a
/// UTF-8 character that the cut split.
fn whole_chars(v: &[u8]) -> &[u8] {
    for back in 1..=v.len().min(4) {
        let at = v.len() - back;
        let width = match v[at] {
            0x80..=0xBF => continue,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back { &v[..at] } else { v };
    }
    v
}

impl StatsAcc {
    fn new(text_limit: usize) -> StatsAcc {
        StatsAcc {
            text_limit,
            ..StatsAcc::default()
        }
    }

    /// Takes text value `v` into the least and greatest.
    fn text(&mut self, v: &[u8]) {
        let key = text_key(v, self.text_limit);
        let set = |to: &mut TextKey| {
            to.0.clear();
            to.0.extend_from_slice(key.0);
            to.1 = key.1;
        };
        match &mut self.text {
            Some((lo, hi)) => {
                if key < (&lo.0[..], lo.1) {
                    set(lo);
                }
                if key > (&hi.0[..], hi.1) {
                    set(hi);
                }
            }
            None => self.text = Some(((key.0.to_vec(), key.1), (key.0.to_vec(), key.1))),
        }
    }

    fn finish(self) -> ColumnStats {
        use serde_json::Value as J;
        let float = |v: f64| {
            if v.is_finite() {
                serde_json::Number::from_f64(v).map_or(J::Null, J::Number)
            } else {
                J::String(crate::output::format_float(v))
            }
        };
        let text = |(v, cut): TextKey| {
            let v = if cut { whole_chars(&v) } else { &v[..] };
            (
                Some(J::String(String::from_utf8_lossy(v).into_owned())),
                cut,
            )
        };
        let ((min, min_truncated), (max, max_truncated)) = if let Some((a, b)) = self.int {
            ((Some(J::from(a)), false), (Some(J::from(b)), false))
        } else if let Some((a, b)) = self.float {
            ((Some(float(a)), false), (Some(float(b)), false))
        } else if let Some((a, b)) = self.text {
            (text(a), text(b))
        } else {
            ((None, false), (None, false))
        };
        ColumnStats {
            checksum: String::new(),
            null_count: self.nulls,
            min,
            max,
            min_truncated,
            max_truncated,
        }
    }
}

impl<'c> Gather<'c> {
    fn new(ty: ColumnType, coder: Option<&'c Coder>, stat_text: usize) -> Gather<'c> {
        Gather {
            ty,
            coder,
            integers: Integers::None,
            texts: false,
            marks: Vec::new(),
            codes: Vec::new(),
            batch_codes: Vec::new(),
            ints: Vec::new(),
            floats: Vec::new(),
            offsets: vec![0],
            bytes: Vec::new(),
            valid: Vec::new(),
            stats: StatsAcc::new(stat_text),
        }
    }

    /// Whether this gathers a column's text (into 32-bit offsets): a text
    /// column's, or a number column's texts.
    fn gathers_text(&self) -> bool {
        (self.ty == ColumnType::Text && self.coder.is_none()) || self.texts
    }

    /// How many of rows `rows` of `col` this text gather can take with its
    /// text within `limit` bytes ([`Limits::batch_text`]).
    fn rows_that_fit(
        &self,
        col: &crate::value::Column<'_>,
        rows: std::ops::Range<usize>,
        limit: usize,
    ) -> usize {
        let raw = col.raw.expect("CSV batches keep their text");
        let mut used = self.bytes.len();
        for row in rows.clone() {
            if col.is_valid(row) {
                used += raw[row].len();
                if used > limit {
                    return row - rows.start;
                }
            }
        }
        rows.len()
    }

    /// Adds the row (a coded column's code from `batch_codes`).
    fn push(&mut self, col: &crate::value::Column<'_>, row: usize) {
        let valid = col.is_valid(row);
        self.valid.push(valid);
        if !valid {
            self.stats.nulls += 1;
        }
        match self.ty {
            ColumnType::Null | ColumnType::Int => {
                let v = match col.data {
                    Data::Int(v) if valid => v[row],
                    _ => 0,
                };
                self.ints.push(v);
                if valid {
                    let s = self.stats.int.get_or_insert((v, v));
                    s.0 = s.0.min(v);
                    s.1 = s.1.max(v);
                }
            }
            ColumnType::Float => {
                let v = match col.data {
                    _ if !valid => 0.0,
                    Data::Float(v) => v[row],
                    // an integer batch of a float column: the integer's
                    // value, as the aggregates see it over CSV
                    Data::Int(v) => v[row] as f64,
                    _ => unreachable!("a float column has only numeric batches"),
                };
                self.floats.push(v);
                if valid {
                    let s = self.stats.float.get_or_insert((v, v));
                    if crate::value::float_cmp(v, s.0).is_lt() {
                        s.0 = v;
                    }
                    if crate::value::float_cmp(v, s.1).is_gt() {
                        s.1 = v;
                    }
                }
            }
            // a coded column's codes: its text and statistics are gathered
            // beside them, by the column's own gather
            ColumnType::Text if self.coder.is_some() => self.codes.push(self.batch_codes[row]),
            ColumnType::Text => {
                let raw = col.raw.expect("CSV batches keep their text");
                if valid {
                    let v = raw[row];
                    self.bytes.extend_from_slice(v);
                    self.stats.text(v);
                }
                // the writer closes a batch before its text passes the
                // offsets' range ([`Gather::rows_that_fit`])
                let end = i32::try_from(self.bytes.len());
                self.offsets
                    .push(end.expect("a batch's text is within i32::MAX bytes"));
            }
        }
    }

    /// Adds rows `rows` of a float column's batch `col` (of type `ty`) to
    /// the column's integers; false if one is beyond ±2^53 where the type
    /// pass found none.
    fn push_integers(
        &mut self,
        col: &crate::value::Column<'_>,
        ty: ColumnType,
        rows: std::ops::Range<usize>,
    ) -> bool {
        for row in rows {
            let int = spelled_int(col, ty, row);
            match self.integers {
                Integers::Wide => {
                    self.valid.push(int.is_some());
                    self.ints.push(int.unwrap_or(0));
                    if int.is_none() {
                        self.stats.nulls += 1;
                    }
                }
                _ => {
                    if int.is_some_and(|v| Integers::of(v) == Integers::Wide) {
                        return false;
                    }
                    self.marks.push(int.is_some());
                }
            }
        }
        true
    }

    /// Adds row `row` of a number column's batch `col` (of type `ty`) to
    /// the column's texts: the field's text where it is not what a filter
    /// reads of the value ([`written_otherwise`]), else null. False if that
    /// text is not UTF-8, which no number field is.
    fn push_text(&mut self, col: &crate::value::Column<'_>, ty: ColumnType, row: usize) -> bool {
        let written = written_otherwise(col, ty, row);
        self.valid.push(written);
        if written {
            let text = col.raw.expect("CSV batches keep their text")[row];
            if std::str::from_utf8(text).is_err() {
                return false;
            }
            self.bytes.extend_from_slice(text);
        } else {
            self.stats.nulls += 1;
        }
        // the writer closes a batch before its text passes the offsets'
        // range ([`Gather::rows_that_fit`])
        let end = i32::try_from(self.bytes.len());
        self.offsets
            .push(end.expect("a batch's text is within i32::MAX bytes"));
        true
    }

    fn take(&mut self, dt: &DataType) -> ArrayRef {
        let nulls = self
            .valid
            .contains(&false)
            .then(|| NullBuffer::from(std::mem::take(&mut self.valid)));
        self.valid.clear();
        match dt {
            DataType::Int64 => Arc::new(Int64Array::new(
                ScalarBuffer::from(std::mem::take(&mut self.ints)),
                nulls,
            )),
            DataType::Float64 => Arc::new(Float64Array::new(
                ScalarBuffer::from(std::mem::take(&mut self.floats)),
                nulls,
            )),
            DataType::UInt32 => Arc::new(UInt32Array::new(
                ScalarBuffer::from(std::mem::take(&mut self.codes)),
                nulls,
            )),
            DataType::Boolean => Arc::new(BooleanArray::new(
                BooleanBuffer::from(std::mem::take(&mut self.marks)),
                None,
            )),
            _ => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(
                    &mut self.offsets,
                    vec![0],
                )));
                let values = Buffer::from_vec(std::mem::take(&mut self.bytes));
                if *dt == DataType::Utf8 {
                    // pass 1 checked that every value is UTF-8
                    Arc::new(StringArray::new(offsets, values, nulls))
                } else {
                    Arc::new(BinaryArray::new(offsets, values, nulls))
                }
            }
        }
    }
}

/// Streams what it writes into a hasher, and counts it.
pub(super) struct Hashing<W> {
    inner: W,
    hasher: crate::xxh3::Xxh3,
    bytes: u64,
}

impl<W> Hashing<W> {
    pub(super) fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: crate::xxh3::Xxh3::new(),
            bytes: 0,
        }
    }

    pub(super) fn digest(&self) -> u64 {
        self.hasher.digest()
    }

    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(super) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What every partition file holds: its schema (the columns, then the
/// codes of the coded ones), the columns' types, and the coded columns'
/// coders.
#[derive(Clone, Copy)]
struct Written<'a> {
    schema: &'a Arc<Schema>,
    /// Per column: its name in messages (`NAME#N` where the name repeats).
    labels: &'a [String],
    types: &'a [ColumnType],
    coders: &'a [Option<Coder>],
    /// Per column: the integers its field records.
    integers: &'a [Integers],
    /// Per column: whether it has a field of texts.
    texts: &'a [bool],
    limits: &'a Limits,
}

/// The name of the field of a float column's integers in partition files
/// ([`ColumnInfo::integers`]).
pub fn integers_field(column: &str) -> String {
    format!("{column}#ints")
}

/// The name of the field of a number column's texts in partition files
/// ([`ColumnInfo::texts`]).
pub fn texts_field(column: &str) -> String {
    format!("{column}#text")
}

/// An error of Arrow's writer on `path`: its I/O error as one on `path`
/// (which the split says as the store it could not write), anything else
/// with Arrow's words.
pub(super) fn arrow_failed(path: &Path, e: arrow_schema::ArrowError) -> Error {
    match e {
        arrow_schema::ArrowError::IoError(_, source) => Error::io(path, source),
        e => Error::Other(format!("{}: {e}", show_path(path))),
    }
}

/// The name of partition `i`'s file.
pub fn partition_file(i: usize) -> String {
    format!("part-{i:05}.arrow")
}

/// Writes task `ctx.index()`'s records as partition file
/// [`partition_file`]`(index)` in `dir`.
fn write_partition<'i>(
    reader: &mut CsvReader<'_, 'i>,
    input: &'i CsvInput,
    task: &CsvTask,
    out: &Written<'_>,
    dir: &Path,
    ctx: &exec::Ctx<'_>,
) -> std::result::Result<PartitionInfo, Stop> {
    let Written {
        schema,
        labels,
        types,
        coders,
        integers,
        texts,
        limits,
    } = *out;
    let name = partition_file(ctx.index());
    let path = dir.join(&name);
    let io = |e: std::io::Error| Stop::Failed(Error::io(&path, e));
    let arrow = |e| Stop::Failed(arrow_failed(&path, e));
    let file = File::create(&path).map_err(io)?;
    let sink = Hashing::new(BufWriter::with_capacity(1 << 20, file));
    let mut writer = FileWriter::try_new(sink, schema).map_err(arrow)?;
    // per schema field: the batch column it gathers, and how
    let mut sources: Vec<usize> = (0..types.len()).collect();
    let stat_text = limits.stat_text;
    let mut gathers: Vec<Gather> = (types.iter())
        .map(|&t| Gather::new(t, None, stat_text))
        .collect();
    for (s, coder) in coders.iter().enumerate() {
        if let Some(coder) = coder {
            sources.push(s);
            gathers.push(Gather::new(ColumnType::Text, Some(coder), stat_text));
        }
    }
    for (s, &ints) in integers.iter().enumerate() {
        if ints != Integers::None {
            sources.push(s);
            gathers.push(Gather {
                integers: ints,
                ..Gather::new(ColumnType::Float, None, stat_text)
            });
        }
    }
    for (s, &has) in texts.iter().enumerate() {
        if has {
            sources.push(s);
            gathers.push(Gather {
                texts: true,
                ..Gather::new(types[s], None, stat_text)
            });
        }
    }
    let mut pending = 0usize;
    let mut rows = 0u64;
    let flush = |gathers: &mut Vec<Gather>,
                 writer: &mut FileWriter<Hashing<BufWriter<File>>>|
     -> std::result::Result<(), Stop> {
        let arrays: Vec<ArrayRef> = gathers
            .iter_mut()
            .zip(schema.fields())
            .map(|(g, f)| g.take(f.data_type()))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(arrow)?;
        writer.write(&batch).map_err(arrow)
    };
    let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| -> std::result::Result<(), Stop> {
        if ctx.cancelled() {
            return Err(Stop::Cancelled);
        }
        // the coded columns' codes, a batch at a time
        for (g, &source) in gathers.iter_mut().zip(&sources) {
            if let Some(coder) = g.coder {
                let col = &batch.columns[source];
                let raw = col.raw.expect("CSV batches keep their text");
                if !coder.code_batch(raw, col.valid, &mut g.batch_codes) {
                    // the same text read twice gave another value
                    return Err(Stop::Failed(Error::Other(format!(
                        "{}: the input changed while it was being split",
                        show_name(&input.name)
                    ))));
                }
            }
        }
        let mut start = 0;
        while start < batch.len {
            let mut take = (WRITE_ROWS - pending).min(batch.len - start);
            // as many rows as every text column's offsets can still take
            for (g, &source) in gathers.iter().zip(&sources) {
                if g.gathers_text() {
                    let col = &batch.columns[source];
                    take = take.min(g.rows_that_fit(col, start..start + take, limits.batch_text));
                }
            }
            if take == 0 && pending > 0 {
                flush(&mut gathers, &mut writer)?;
                pending = 0;
                continue;
            }
            if take == 0 {
                // row `start` alone has a field longer than a batch holds
                let (s, len) = (gathers.iter().zip(&sources))
                    .filter(|(g, _)| g.gathers_text())
                    .find_map(|(_, &s)| {
                        let col = &batch.columns[s];
                        let len = col.raw.map_or(0, |raw| raw[start].len());
                        (col.is_valid(start) && len > limits.batch_text).then_some((s, len))
                    })
                    .expect("a field too long for a batch");
                return Err(Stop::Failed(Error::Data(input.error_at(
                    starts[start],
                    Some(&labels[s]),
                    format!(
                        "a field of {} bytes is longer than a store can hold (at most {} \
                         bytes: Arrow locates text by 32-bit offsets); `run --input` reads it",
                        super::thousands(len as u64),
                        super::thousands(limits.batch_text as u64)
                    ),
                ))));
            }
            for (g, &source) in gathers.iter_mut().zip(&sources) {
                let col = &batch.columns[source];
                if g.integers != Integers::None {
                    let ty = batch.types[source];
                    if !g.push_integers(col, ty, start..start + take) {
                        // the type pass found every integer within ±2^53
                        return Err(Stop::Failed(Error::Other(format!(
                            "{}: the input changed while it was being split",
                            show_name(&input.name)
                        ))));
                    }
                    continue;
                }
                if g.texts {
                    let ty = batch.types[source];
                    for row in start..start + take {
                        if !g.push_text(col, ty, row) {
                            return Err(Stop::Failed(Error::Other(format!(
                                "{}: column '{}': a number field is not UTF-8",
                                show_name(&input.name),
                                show_name(&labels[source])
                            ))));
                        }
                    }
                    continue;
                }
                for row in start..start + take {
                    g.push(col, row);
                }
            }
            pending += take;
            start += take;
            if pending == WRITE_ROWS {
                flush(&mut gathers, &mut writer)?;
                pending = 0;
            }
        }
        rows += batch.len as u64;
        Ok(())
    };
    reader.read_range(input, task.start, task.end, &mut on_batch, &mut |_| {})?;
    if pending > 0 {
        flush(&mut gathers, &mut writer)?;
    }
    let mut sink = writer.into_inner().map_err(arrow)?;
    sink.flush().map_err(io)?;
    let checksum = format!("xxh3:{:016x}", sink.hasher.digest());
    let bytes = sink.bytes;
    let file = sink.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    let (frame_checksum, column_checksums) = column_checksums(&path)?;
    let mut columns: Vec<ColumnStats> = gathers.into_iter().map(|g| g.stats.finish()).collect();
    for (stats, sum) in columns.iter_mut().zip(column_checksums) {
        stats.checksum = sum;
    }
    // the codes' fields follow the columns, then the integers', then the
    // texts' (their statistics are their columns'; such a field has only a
    // checksum and a null count)
    let integer_fields = integers.iter().filter(|&&i| i != Integers::None).count();
    let mut codes = columns.split_off(types.len());
    let mut integers = codes.split_off(coders.iter().flatten().count());
    let texts = integers.split_off(integer_fields);
    Ok(PartitionInfo {
        file: name,
        rows,
        bytes,
        checksum,
        frame_checksum,
        columns,
        codes,
        integers,
        texts,
        // the sources are the inputs, in order ([`create`])
        origin: Some(Origin {
            source: task.input,
            offset: task.start as u64,
        }),
    })
}

/// The frame and column checksums of the partition file just written
/// ([`super::verify`]), read back as a reader will read them (the bytes
/// are still in the page cache).
fn column_checksums(path: &Path) -> std::result::Result<(String, Vec<String>), Stop> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| Stop::Failed(Error::io(path, e)))?;
    // SAFETY: a read-only map of the file this split has just written and
    // synced in its own temporary directory; nothing else writes it.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Stop::Failed(Error::io(path, e)))?;
    let ipc = crate::source::ipc::IpcFile::from_map(Arc::new(map), &shown, true, None)
        .map_err(Stop::Failed)?;
    super::verify::checksums(ipc.bytes(), ipc.blocks(), &ipc.schema)
        .map_err(|e| Stop::Failed(Error::Other(format!("{}: {e}", show_path(path)))))
}

/// The record of the input file `path` as a source, taken before `split`
/// opens it. A file on disk, compressed or not, is recorded by its absolute
/// path, size, modification time and [`fingerprint`] of its bytes *on
/// disk* (the compressed bytes of a `.csv.gz`: nothing is decompressed to
/// check it, and only its ends are read), so that a run sees it change.
///
/// The path is the one the user named, made absolute against the working
/// directory, with its symbolic links left in place (as a folder's or a
/// pattern's is, [`InputInfo::of`]): a run checks the file that name leads
/// to then. Resolved, as it once was, it pinned the file the link led to at
/// the split: `--input latest.csv`, a link pointed at next month's file
/// since, was never seen to change, and the store answered for the old
/// month as fresh.
/// Taken once the data had been read, as it once was, the record described
/// whatever the file had become meanwhile: a source rewritten during a
/// split was recorded as the new file over the old data, and the store
/// answered for the old data as fresh. Taken before, it describes the file
/// that was read, unless the file changed after it, which
/// [`check_sources`] sees.
///
/// `None` for standard input and for a file that is neither regular nor a
/// folder (a pipe, a FIFO, a device), which is not opened here: such an
/// input is read once, and recorded from the bytes read ([`source_info`]).
pub fn record_source(path: &Path) -> Result<Option<SourceInfo>> {
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let absolute_text = recordable(path, &absolute)?;
    let mut file = File::open(&absolute).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    Ok(Some(SourceInfo {
        path: path.display().to_string(),
        absolute_path: Some(absolute_text.to_string()),
        size: meta.len(),
        modified_ns: modified_ns(&meta),
        fingerprint: fingerprint(&mut file, meta.len()).map_err(|e| Error::io(path, e))?,
        input: None,
    }))
}

/// `absolute` (of `path`, as named) as the text a manifest records, by
/// which every run of the store finds the file again: refused where it is
/// not UTF-8, as a manifest's paths are JSON text. Recorded with its odd
/// bytes replaced, such a file was opened again under the replaced name
/// before the commit and reported as changed during the split ("run
/// `rayproc split` again", which could never help).
pub fn recordable<'a>(path: &Path, absolute: &'a Path) -> Result<&'a str> {
    absolute.to_str().ok_or_else(|| {
        Error::Other(format!(
            "{}: a store records the names of its sources as text, to find them again on every \
             run, and this name is not UTF-8: rename it (or its folder), or query it with \
             `rayproc run --input`, which reads it under any name",
            show_path(path)
        ))
    })
}

/// The record of `input` as a source: `before`, its file as recorded
/// before it was opened ([`record_source`]). An input that cannot be read
/// again (standard input, a pipe) is recorded without a path, which no run
/// checks: its size and fingerprint, of all the text read, are there for
/// people to compare. An input read from a file with no record was not a
/// regular file when the split began, and is now.
fn source_info(input: &CsvInput, before: Option<&SourceInfo>) -> Result<SourceInfo> {
    if input.read_once {
        let bytes = input.bytes();
        return Ok(SourceInfo {
            path: input.name.clone(),
            absolute_path: None,
            size: bytes.len() as u64,
            modified_ns: 0,
            fingerprint: format!("xxh3:{:016x}", crate::xxh3::xxh3_64(bytes)),
            input: None,
        });
    }
    match before {
        Some(record) => Ok(record.clone()),
        None => Err(changed_while_split(
            &input.name,
            "it was not a regular file when the split began",
        )),
    }
}

/// Fails unless every source file in `sources` is still the file recorded
/// before it was read, compared as `run --store` compares it
/// ([`source_change`]: size, modification time, fingerprint of the file
/// its name leads to now, so a symbolic link pointed at another file is a
/// change too). Called once the store's data is written and before it is
/// committed: a file that changed in between may have been read in part or
/// whole as either version, and the store would answer for data that no
/// record describes. The first source that changed, in input order, is
/// named.
fn check_sources(pool: &rayon::ThreadPool, sources: &[SourceInfo]) -> Result<()> {
    use rayon::prelude::*;
    let first = pool.install(|| {
        (sources.par_iter())
            .find_map_first(|s| source_change(s).map(|why| changed_while_split(&s.path, &why)))
    });
    first.map_or(Ok(()), Err)
}

/// The error for source `name` that changed while it was being split,
/// and `why` ([`source_change`]'s words).
fn changed_while_split(name: &str, why: &str) -> Error {
    Error::Other(format!(
        "{} changed while it was being split ({why}); the store was not written, \
         and a store already there is left as it was: run `rayproc split` again",
        show_name(name)
    ))
}

/// A store being built: the store directory, locked for writing, and the
/// temporary directory inside it that becomes the next generation.
struct Target {
    /// The store's directory, resolved (see [`resolve_target`]).
    store: PathBuf,
    /// The store as the user named it, for messages.
    given: PathBuf,
    root: File,
    /// `DIR/.tmp-PID`: unique, since the writer lock admits one live split.
    tmp: PathBuf,
    /// Removes `tmp` if the process is interrupted (SIGINT, SIGTERM, SIGHUP).
    _interrupt: crate::signals::Guard,
    /// This split made `store`, so a failed or interrupted split removes
    /// it again (the guard: see [`crate::signals::remove_on_interrupt_if_empty`]).
    created: Option<crate::signals::Guard>,
    committed: bool,
}

impl Drop for Target {
    /// A split that failed leaves nothing (after a commit, `tmp` is gone).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
        if self.created.is_some() && !self.committed {
            // only if empty: another split may have filled it meanwhile
            let _ = std::fs::remove_dir(&self.store);
        }
    }
}

/// Whether `name` may appear in a store directory (this layout's or
/// version 1's), so that `split` may write over the directory.
fn belongs_to_a_store(name: &str) -> bool {
    name == layout::CURRENT
        || name == FILE_NAME
        || name.starts_with(layout::TMP_PREFIX)
        || layout::generation_number(name).is_some()
        || (name.starts_with("part-") && name.ends_with(".arrow"))
}

/// `store` as a path to the directory itself: a symbolic link is replaced
/// by what it points to (so `split --store link` writes the store the link
/// names, and `--store .` the current directory), and a store cannot be
/// written into one of its own generations, nor anywhere else inside
/// another store ([`store_above`]).
fn resolve_target(store: &Path) -> Result<PathBuf> {
    let resolved = match std::fs::canonicalize(store) {
        Ok(p) => p,
        Err(_) => {
            let parent = parent_of(store);
            let name = store.file_name().ok_or_else(|| {
                Error::Usage(format!(
                    "--store {}: not a directory name",
                    show_path(store)
                ))
            })?;
            std::fs::canonicalize(parent)
                .map_err(|e| cannot_make(store, e))?
                .join(name)
        }
    };
    if let (Some(parent), Some(name)) = (resolved.parent(), resolved.file_name()) {
        let name = name.to_string_lossy();
        let inner =
            layout::generation_number(&name).is_some() || name.starts_with(layout::TMP_PREFIX);
        if inner && (parent.join(layout::CURRENT).exists() || parent.join(FILE_NAME).exists()) {
            return Err(Error::Usage(format!(
                "--store {}: is a part of the store {}; name the store itself",
                show_path(store),
                show_path(parent)
            )));
        }
    }
    if let Some((outer, up)) = store_above(&resolved) {
        // the outer store as the user named it, where `store` names it
        let named = (store.ancestors().nth(up))
            .filter(|p| !p.as_os_str().is_empty())
            .filter(|p| std::fs::canonicalize(p).is_ok_and(|p| p == outer));
        return Err(refused(
            store,
            format!(
                "it is inside the store {}, and a store holds only its own files (a split \
                 of that store would refuse it, and one replacing a generation would remove \
                 it); name a directory outside the store",
                show_path(named.unwrap_or(&outer))
            ),
        ));
    }
    Ok(resolved)
}

/// The nearest store that holds `dir` (a resolved path), below the
/// directory itself, and how many levels up from `dir` it is: a directory
/// whose `current` names a generation, or, failing any, one holding a
/// manifest of the first layout (format version 1, see [`super::layout`]).
/// A store written there was accepted, and made its outer store one that
/// `split` no longer writes over ("not a rayproc store (it holds inner)")
/// though every reader still read it; one written into a generation would
/// have been removed with it by the next split of the outer store.
fn store_above(dir: &Path) -> Option<(PathBuf, usize)> {
    let above = || dir.ancestors().enumerate().skip(1);
    let found = above()
        .find(|(_, a)| layout::names_a_generation(a))
        .or_else(|| above().find(|(_, a)| layout::holds_a_first_manifest(a)))?;
    Some((found.1.to_path_buf(), found.0))
}

/// Refuses to write `store` where one of `split`'s `inputs`, a folder or a
/// pattern, would find its files. Such an input is expanded again by every
/// run of the store, to see whether it finds other files now
/// ([`super::manifest::input_changes`]); it would find the store itself,
/// which an expansion refuses to read as data
/// ([`crate::source::paths::expand`]), so the store would be stale from
/// its first run on, and the next `split` of it would fail the same way.
/// Checked before anything is read or written, on the files a store holds
/// (`current`, a generation's manifest, partitions and dictionaries),
/// matched as the expansion would match them
/// ([`crate::source::paths::would_find`]): a store in a folder that a
/// folder read skips (`data/_store`), or beside files a pattern matches
/// (`data/**/*.csv`), is fine. A `--store` that cannot be resolved is left
/// to [`prepare_target`] to report, after the inputs' own errors.
pub fn check_outside_inputs(store: &Path, inputs: &[PathBuf]) -> Result<()> {
    use crate::source::paths::{is_pattern, would_find};
    let Ok(dir) = resolve_target(store) else {
        return Ok(());
    };
    // and as named, its last component unresolved: a link `d/s` to a store
    // elsewhere is a folder that a read of `d` enters
    let parent = parent_of(store);
    let named =
        (store.file_name()).and_then(|name| Some(std::fs::canonicalize(parent).ok()?.join(name)));
    let mut files = Vec::new();
    for dir in std::iter::once(&dir).chain(&named) {
        let generation = dir.join(layout::generation_name(1));
        files.extend([
            dir.join(layout::CURRENT),
            generation.join(FILE_NAME),
            generation.join(partition_file(0)),
            generation.join(dictionary::file_name(0)),
        ]);
    }
    let Some(arg) = inputs
        .iter()
        .find(|arg| files.iter().any(|f| would_find(arg, f)))
    else {
        return Ok(());
    };
    let (s, a) = (show_path(store), show_path(arg));
    let why = "every run of the store expands it again, to see whether it finds other files now, \
               and would find the store's own files";
    Err(Error::Usage(if is_pattern(arg) {
        format!(
            "--store {s} is where the pattern {a} given to --input finds files: {why}; \
             write the store where the pattern finds nothing"
        )
    } else if std::fs::canonicalize(arg).is_ok_and(|d| d == dir || Some(&d) == named.as_ref()) {
        format!("--store {s} is the folder {a} given to --input: {why}; write the store elsewhere")
    } else {
        format!(
            "--store {s} is inside the folder {a} given to --input, which is read with every \
             folder below it: {why}; write the store outside {a}, or in a folder whose name \
             begins with _ or . (which a folder read skips)"
        )
    }))
}

/// The folder `path` is in, as named (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The store directory `store` cannot be made (exit 1): named as given,
/// with what is wrong with the folder it goes in ([`cannot_create_in`]).
/// The bare OS error named the folder (`missing/x: No such file or
/// directory`), or the store resolved to an absolute path, without saying
/// that it was the store that could not be written.
fn cannot_make(store: &Path, e: std::io::Error) -> Error {
    let why = cannot_create_in(parent_of(store), "a directory", e);
    unwritable(store, "store", why)
}

/// A step of writing `store` (`what`: `cannot lock the directory`) failed
/// with `e` (exit 1), said as [`cannot_make`] says it: named as given (not
/// as resolved, an absolute path the user never typed), with the reason
/// in words.
fn failed(store: &Path, what: String, e: std::io::Error) -> Error {
    unwritable(store, "store", because(what, &e))
}

/// `store` is something that `split` does not write over (exit 2), said
/// as [`cannot_make`] says it.
fn refused(store: &Path, why: String) -> Error {
    Error::Usage(unwritable(store, "store", std::io::Error::other(why)).to_string())
}

/// Checks that `store` may be (re)written, takes its writer lock, removes
/// what killed splits left, and makes the temporary directory. A store
/// directory made here is removed again if a later step fails. `quiet`:
/// say nothing while waiting for another split's lock.
fn prepare_target(store: &Path, quiet: bool) -> Result<Target> {
    let dir = resolve_target(store)?;
    // A first split of a new store that failed or was interrupted while
    // this one waited for its lock removes the folder it made (empty): the
    // folder is made again, and locked again.
    for _ in 0..MAKE_TRIES {
        let created = match std::fs::symlink_metadata(&dir) {
            Ok(meta) if !meta.is_dir() => {
                let what = if meta.is_file() {
                    "it is a file, not a directory"
                } else {
                    "it is not a directory"
                };
                return Err(refused(store, format!("{what}; name a new directory")));
            }
            Ok(_) => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::create_dir(&dir) {
                    // an interrupt would leave it empty (the temporary
                    // directory in it is removed): it goes too, unless the
                    // store is in it. Registered once made by this split,
                    // never one another process made.
                    Ok(()) => Some(crate::signals::remove_on_interrupt_if_empty(dir.clone())),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                    Err(e) => return Err(cannot_make(store, e)),
                }
            }
            Err(e) => return Err(cannot_make(store, e)),
        };
        let made = created.is_some();
        match lock_target(store, dir.clone(), created, quiet) {
            Ok(Some(target)) => return Ok(target),
            Ok(None) => continue,
            Err(e) => {
                if made {
                    let _ = std::fs::remove_dir(&dir);
                }
                return Err(e);
            }
        }
    }
    Err(failed(
        store,
        "its directory was removed while this split waited for it, again and again".into(),
        std::io::Error::from(std::io::ErrorKind::NotFound),
    ))
}

/// How many times [`prepare_target`] makes a store's directory that other
/// splits remove while it waits.
const MAKE_TRIES: usize = 8;

/// [`prepare_target`] once the directory `dir` exists; `created`: the
/// guard of a directory it made. `None`: the directory was removed while
/// this split waited for its lock.
fn lock_target(
    store: &Path,
    dir: PathBuf,
    created: Option<crate::signals::Guard>,
    quiet: bool,
) -> Result<Option<Target>> {
    let names = || -> Result<Vec<std::ffi::OsString>> {
        let read = || -> std::io::Result<Vec<_>> {
            std::fs::read_dir(&dir)?
                .map(|e| Ok(e?.file_name()))
                .collect()
        };
        read().map_err(|e| failed(store, "cannot list the directory".into(), e))
    };
    let foreign = (names()?.into_iter())
        .filter(|n| !belongs_to_a_store(&n.to_string_lossy()))
        .min();
    if let Some(name) = foreign {
        let name = show_name(name.as_encoded_bytes());
        // a store that readers read is not "not a store" (a store made
        // inside it by an older rayproc, say): say what to move
        let why = if layout::names_a_generation(&dir) {
            format!(
                "the store also holds {name}, which is none of a store's own entries, and \
                 split writes over a store only when it holds nothing else; move {name} out \
                 of the store, or name a new directory"
            )
        } else {
            format!(
                "the directory is not a rayproc store (it holds {name}), and split writes \
                 over a store only; name a new directory"
            )
        };
        return Err(refused(store, why));
    }
    let root =
        layout::open_dir(&dir).map_err(|e| failed(store, "cannot open the directory".into(), e))?;
    let lock = |wait| {
        crate::flock::lock(&root, true, wait)
            .map_err(|e| failed(store, "cannot lock the directory".into(), e))
    };
    // another split of this store holds the lock until it ends: a wait
    // that says nothing looks like a hang
    if !lock(false)? {
        if !quiet {
            crate::say!(
                "rayproc: note: waiting for another split of {} to finish",
                show_path(store)
            );
        }
        lock(true)?;
        // the folder locked is the one at `dir` still, or it was removed
        // (see `prepare_target`): entries could not be made in it
        use std::os::unix::fs::MetadataExt;
        let held = root.metadata().map(|m| (m.dev(), m.ino()));
        match (held, std::fs::metadata(&dir)) {
            (Ok(held), Ok(now)) if held != (now.dev(), now.ino()) => return Ok(None),
            (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
    }
    // Under the writer lock, no live split owns a temporary entry.
    for name in names()? {
        if name.to_string_lossy().starts_with(layout::TMP_PREFIX) {
            let path = dir.join(&name);
            let gone = match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
                Ok(_) => std::fs::remove_file(&path),
                Err(e) => Err(e),
            };
            gone.map_err(|e| {
                let left = show_path(&store.join(&name)).into_owned();
                failed(
                    store,
                    format!("cannot remove {left}, left by a killed split"),
                    e,
                )
            })?;
        }
    }
    let tmp = dir.join(format!("{}{}", layout::TMP_PREFIX, std::process::id()));
    let ((), guard) = crate::signals::create_removable(tmp.clone(), |p| std::fs::create_dir(p))
        .map_err(|e| unwritable(store, "store", cannot_create_in(store, "a directory", e)))?;
    Ok(Some(Target {
        store: dir,
        given: store.to_path_buf(),
        root,
        tmp,
        _interrupt: guard,
        created,
        committed: false,
    }))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Target {
    /// `e`, said as the store that could not be written where it is an
    /// I/O error on a file of the new generation (a full disk, a file size
    /// limit): "st: cannot write the store: No space left on device", not
    /// the temporary file's resolved path and Arrow's "Io error:". Any
    /// other error (an input that cannot be read) is left as it is.
    fn write_failed(&self, e: Error) -> Error {
        match e {
            Error::Io { path, source } if path.starts_with(&self.tmp) => {
                unwritable(&self.given, "store", source)
            }
            e => e,
        }
    }

    /// Writes the manifest last, makes the directory the next generation,
    /// switches `current` to it, and removes what no reader holds.
    fn commit(mut self, manifest: &Manifest) -> Result<()> {
        let store_dir = self.store.clone();
        let store = store_dir.as_path();
        let tmp = self.tmp.clone();
        let given = self.given.clone();
        let cannot_write = |e: std::io::Error| unwritable(&given, "store", e);
        let dir = tmp.as_path();
        let path = dir.join(FILE_NAME);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&path)?;
            f.write_all(manifest.to_text().as_bytes())?;
            f.sync_all()?;
            sync_dir(dir)
        };
        write().map_err(cannot_write)?;

        let mut generations = Vec::new();
        for entry in std::fs::read_dir(store).map_err(cannot_write)? {
            let entry = entry.map_err(cannot_write)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if layout::generation_number(&name).is_some() {
                generations.push(name);
            }
        }
        let next = generations
            .iter()
            .filter_map(|n| layout::generation_number(n))
            .max()
            .map_or(1, |n| n + 1);
        let name = layout::generation_name(next);
        let generation = store.join(&name);
        // from the rename to `current` naming the new generation, an
        // interrupt waits (see `signals::critical`)
        let critical = crate::signals::critical();
        std::fs::rename(dir, &generation).map_err(cannot_write)?;
        crate::signals::test_pause("commit");
        let pointer = store.join(format!(
            "{}current-{}",
            layout::TMP_PREFIX,
            std::process::id()
        ));
        let current = store.join(layout::CURRENT);
        let switch = || -> std::io::Result<()> {
            let mut f = File::create(&pointer)?;
            f.write_all(format!("{name}\n").as_bytes())?;
            f.sync_all()?;
            sync_dir(store)?;
            std::fs::rename(&pointer, &current)?;
            sync_dir(store)
        };
        if let Err(e) = switch() {
            let _ = std::fs::remove_file(&pointer);
            let _ = std::fs::remove_dir_all(&generation);
            return Err(cannot_write(e));
        }
        self.committed = true;
        drop(critical);
        // A version 1 store's files: the manifest first, so that nothing
        // looks like a version 1 store any more.
        let _ = std::fs::remove_file(store.join(FILE_NAME));
        if let Ok(entries) = std::fs::read_dir(store) {
            for entry in entries.flatten() {
                let n = entry.file_name().to_string_lossy().into_owned();
                if n.starts_with("part-") && n.ends_with(".arrow") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        // Older generations that no reader holds; the others are left to
        // the next split.
        for old in generations {
            if let Ok(d) = layout::open_subdir(&self.root, &old) {
                if crate::flock::lock(&d, true, false).unwrap_or(false) {
                    let _ = std::fs::remove_dir_all(store.join(&old));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `csv` written to a fresh folder and split into a store there, in
    /// one partition, within `limits`: the folder (kept while it lives),
    /// the CSV's path, the store's path, and what [`create_with`] said.
    fn split_within(
        csv: &str,
        limits: &Limits,
    ) -> (tempfile::TempDir, PathBuf, PathBuf, Result<CreateSummary>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, csv).unwrap();
        let input = CsvInput::open(&path, b',').unwrap();
        let store = dir.path().join("s");
        let opts = CreateOptions {
            store: store.clone(),
            partitions: Some(1),
            threads: 1,
            delimiter: b',',
            nulls: Vec::new(),
            columns: None,
            quiet: true,
            patterns: Vec::new(),
            found_by: vec![None],
            sources: vec![record_source(&path).unwrap()],
        };
        let header = input.header.clone();
        let done = create_with(&[input], &[], &header, &opts, limits);
        (dir, path, store, done)
    }

    /// The record batches of partition file `i` of `store`.
    fn batches(store: &Path, i: usize) -> Vec<RecordBatch> {
        let current = std::fs::read_to_string(store.join(layout::CURRENT)).unwrap();
        let file = File::open(store.join(current.trim()).join(partition_file(i))).unwrap();
        let reader = arrow_ipc::reader::FileReader::try_new(file, None).unwrap();
        reader.map(|b| b.unwrap()).collect()
    }

    #[test]
    fn a_text_statistic_keys_keep_the_order_of_the_values() {
        // every string of a and b of up to 5 letters, recorded in 2 bytes
        let mut all: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=5 {
            for bits in 0..1u32 << len {
                all.push((0..len).map(|i| b"ab"[(bits >> i) as usize & 1]).collect());
            }
        }
        for v in &all {
            for w in &all {
                if v <= w {
                    assert!(text_key(v, 2) <= text_key(w, 2), "{v:?} {w:?}");
                }
            }
        }
        assert_eq!(whole_chars("aé".as_bytes()), "aé".as_bytes());
        assert_eq!(whole_chars(&"aé".as_bytes()[..2]), b"a");
        assert_eq!(whole_chars(&"a€".as_bytes()[..3]), b"a");
        assert_eq!(whole_chars(&"a😀".as_bytes()[..4]), b"a");
        assert_eq!(whole_chars(&[b'a', 0xFF]), &[b'a', 0xFF]);
    }

    /// A CSV of text `t` (10 bytes a value, every 7th null), coded text `k`
    /// (30 bytes, 3 values) and integers `n`, `rows` rows.
    fn texts(rows: usize) -> (String, Vec<Option<String>>, Vec<String>) {
        let mut csv = String::from("t,k,n\n");
        let (mut t, mut k) = (Vec::new(), Vec::new());
        for i in 0..rows {
            t.push((i % 7 != 3).then(|| format!("t{i:09}")));
            k.push(format!("{}{}", "k".repeat(29), i % 3));
            let field = t[i].clone().unwrap_or_default();
            csv += &format!("{field},{},{i}\n", k[i]);
        }
        (csv, t, k)
    }

    #[test]
    fn a_batch_is_closed_before_its_text_passes_the_offsets_range() {
        let limits = Limits {
            batch_text: 95,
            ..LIMITS
        };
        let (csv, t, k) = texts(100);
        let (_dir, _, store, done) = split_within(&csv, &limits);
        assert_eq!(done.unwrap().rows, 100);
        let batches = batches(&store, 0);
        // 3 values of k (90 bytes) a batch: no batch passes 95 bytes
        assert!(batches.len() >= 34, "{} batches", batches.len());
        let (mut seen_t, mut seen_k) = (Vec::new(), Vec::new());
        for b in &batches {
            let tb = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let kb = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            assert!(tb.value_data().len() <= 95 && kb.value_data().len() <= 95);
            seen_t.extend(tb.iter().map(|v| v.map(str::to_string)));
            seen_k.extend(kb.iter().map(|v| v.unwrap().to_string()));
        }
        assert_eq!((seen_t, seen_k), (t, k));
        let read = super::super::Store::open(&store).unwrap();
        assert!(read.manifest.columns[1].dictionary.is_some(), "k is coded");
        assert_eq!(read.verify_all(), vec![None]);
    }

    #[test]
    fn a_field_longer_than_a_batch_holds_is_an_error_naming_its_line() {
        let limits = Limits {
            batch_text: 50,
            ..LIMITS
        };
        let long = "x".repeat(51);
        let csv = format!("t,n\na,1\n\"b\nc\",2\n{long},3\nd,4\n");
        let (_dir, path, store, done) = split_within(&csv, &limits);
        let Err(Error::Data(e)) = done else {
            panic!("not a data error: {done:?}");
        };
        assert_eq!((e.file, e.line), (path.display().to_string(), 5));
        assert_eq!(e.column.as_deref(), Some("t"));
        assert!(e.message.contains("a field of 51 bytes"), "{}", e.message);
        assert!(!store.exists(), "a failed split leaves no store");
        // one that fits alone is stored, in a batch of its own
        let limits = Limits {
            batch_text: 51,
            ..LIMITS
        };
        let (_dir, _, store, done) = split_within(&csv, &limits);
        assert_eq!(done.unwrap().rows, 4);
        let rows: Vec<usize> = batches(&store, 0).iter().map(|b| b.num_rows()).collect();
        assert_eq!(rows, [2, 1, 1]);
    }

    #[test]
    fn text_statistics_record_the_beginning_of_a_long_value() {
        let limits = Limits {
            stat_text: 5,
            ..LIMITS
        };
        let csv =
            "t,u,v,w\nbbbbbbbb,éééé,abc,aaaaaab\nab,b,abd,aaaaaaa\nzz,c,abcdef,b\nzzzzzz,,,\n";
        let (_dir, _, store, done) = split_within(csv, &limits);
        done.unwrap();
        let read = super::super::Store::open(&store).unwrap();
        let stats = &read.manifest.partitions[0].columns;
        let got = |c: usize| {
            let s = &stats[c];
            let text =
                |v: &Option<serde_json::Value>| v.as_ref().unwrap().as_str().unwrap().to_string();
            (text(&s.min), s.min_truncated, text(&s.max), s.max_truncated)
        };
        assert_eq!(got(0), ("ab".into(), false, "zzzzz".into(), true));
        // 5 bytes of éééé cut a character: the whole ones
        assert_eq!(got(1), ("b".into(), false, "éé".into(), true));
        // abcdef (recorded as abcde) lies between abc and abd
        assert_eq!(got(2), ("abc".into(), false, "abd".into(), false));
        assert_eq!(got(3), ("aaaaa".into(), true, "b".into(), false));
        let text = super::super::describe(&read, &[], None);
        // the last two cells of a column's line: its min and max
        let extremes = |name: &str| {
            let found = text.lines().find(|l| l.starts_with(&format!("  {name} ")));
            let line = found.unwrap_or_else(|| panic!("no {name}:\n{text}"));
            let cells: Vec<&str> = line.split_whitespace().collect();
            cells[cells.len() - 2..].join(" ")
        };
        assert_eq!(extremes("t"), "ab zzzzz…", "{text}");
        assert_eq!(extremes("u"), "b éé…", "{text}");
        assert_eq!(extremes("w"), "aaaaa… b", "{text}");
    }

    #[test]
    fn a_manifest_too_large_to_read_is_never_written() {
        // text of 201 bytes a value, in 3 values (coded)
        let mut csv = String::from("k,n\n");
        for i in 0..50 {
            csv += &format!("{}{},{i}\n", "k".repeat(200), i % 3);
        }
        // a manifest too large is refused, and nothing is left
        let refused = |limits: &Limits| {
            let (_dir, _, store, done) = split_within(&csv, limits);
            let err = done.unwrap_err().to_string();
            assert!(
                err.contains("the store's manifest would take at least"),
                "{err}"
            );
            assert!(!store.exists(), "a failed split leaves no store");
        };
        // refused before anything is written: 3 fields of 1 partition
        // take more than 3 × 64 bytes
        let limits = Limits {
            manifest: 3 * LEAST_STATS_BYTES - 1,
            ..LIMITS
        };
        refused(&limits);
        // the manifest with text statistics of 4 bytes
        let short = Limits {
            stat_text: 4,
            ..LIMITS
        };
        let (_dir, _, store, done) = split_within(&csv, &short);
        done.unwrap();
        let manifest = super::super::Store::open(&store).unwrap().manifest;
        let fits = manifest.text_len();
        // the least statistics of a field take more than LEAST_STATS_BYTES
        let mut more = manifest.clone();
        let least = ColumnStats {
            checksum: format!("xxh3:{:016x}", 0),
            ..ColumnStats::default()
        };
        more.partitions[0].columns.push(least);
        assert!(more.text_len() - manifest.text_len() > LEAST_STATS_BYTES);
        // too large with whole statistics, fits with them cut to 4 bytes
        let limits = Limits {
            stat_text_short: 4,
            manifest: fits + 8,
            ..LIMITS
        };
        let (_dir, _, store, done) = split_within(&csv, &limits);
        done.unwrap();
        let read = super::super::Store::open(&store).unwrap();
        let k = &read.manifest.partitions[0].columns[0];
        assert_eq!(k.min.as_ref().unwrap(), "kkkk");
        assert!(k.min_truncated && k.max_truncated);
        // too large even so: refused before the commit, nothing left
        let limits = Limits {
            stat_text_short: 4,
            manifest: fits - 100,
            ..LIMITS
        };
        refused(&limits);
    }

    #[test]
    fn partitions_that_cannot_help_are_coarsened() {
        assert_eq!(capped_partitions(3, 30_000), 3);
        assert_eq!(capped_partitions(64, 30_000), 7);
        assert_eq!(capped_partitions(1_000_000, 100), 1);
        assert_eq!(capped_partitions(1_000_000, 1 << 40), MAX_PARTITIONS);
    }
}
