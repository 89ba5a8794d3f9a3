//! Typed inputs (Parquet, Arrow IPC): opening, partitioning and running a
//! plan over them with [`crate::exec::aggregate`]. A task is a run of row
//! groups or record batches of one input. The Hive columns of a dataset
//! (see [`super::dataset`]) are constant arrays added to each decoded batch
//! ([`slot_arrays`]).

use std::ops::Range;
use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::DataType;

use super::arrow::Recast;
use super::dataset::HiveType;
use super::ipc::IpcFile;
use super::parquet::ParquetInput;
use crate::error::{show_name, Error, Result};
use crate::exec::{self, AggregateOptions, ExecOptions, Fold};
use crate::partial::Table;
use crate::plan::{Plan, UNUSED};

/// One typed input file, and the values of its Hive columns.
pub struct TypedInput {
    file: TypedFile,
    /// Each Hive column's type (the dataset's) and this file's value.
    hive: Vec<(HiveType, String)>,
    /// How each file column is read besides its Arrow type says.
    recast: Vec<Recast>,
}

enum TypedFile {
    Parquet(ParquetInput),
    Ipc(IpcFile, std::path::PathBuf),
}

/// A partition of a typed input: a run of row groups or record batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedTask {
    pub input: usize,
    pub units: Range<usize>,
}

impl TypedInput {
    /// Opens a Parquet file whose Hive columns have `types` and, here,
    /// `hive` (the empty text for a null).
    pub fn open_parquet(path: &Path, hive: Vec<String>, types: &[HiveType]) -> Result<TypedInput> {
        let file = TypedFile::Parquet(ParquetInput::open(path)?);
        Ok(TypedInput::new(file, hive, types))
    }

    /// Opens an Arrow IPC file; `hive` and `types` as for
    /// [`Self::open_parquet`].
    pub fn open_ipc(path: &Path, hive: Vec<String>, types: &[HiveType]) -> Result<TypedInput> {
        let name = path.display().to_string();
        let f = IpcFile::open(path, &name, false, None)?;
        let file = TypedFile::Ipc(f, path.to_path_buf());
        Ok(TypedInput::new(file, hive, types))
    }

    fn new(file: TypedFile, hive: Vec<String>, types: &[HiveType]) -> TypedInput {
        let hive = types.iter().copied().zip(hive).collect();
        let recast = match &file {
            TypedFile::Parquet(p) => p.recasts(),
            TypedFile::Ipc(f, _) => f
                .schema
                .fields()
                .iter()
                .map(|f| Recast::of_field(f))
                .collect(),
        };
        TypedInput { file, hive, recast }
    }

    /// Leaves out the Hive columns of the keys `in_files`, which the file
    /// holds itself ([`super::dataset::keys_in_files`]).
    pub fn drop_hive(&mut self, in_files: &[usize]) {
        super::dataset::drop_keys(&mut self.hive, in_files);
    }

    pub fn name(&self) -> &str {
        match &self.file {
            TypedFile::Parquet(p) => &p.name,
            TypedFile::Ipc(f, _) => &f.name,
        }
    }

    /// The file as it was opened ([`super::unchanged`]).
    pub fn state(&self) -> Option<&super::unchanged::FileState> {
        match &self.file {
            TypedFile::Parquet(p) => p.state.as_ref(),
            TypedFile::Ipc(f, _) => f.state.as_ref(),
        }
    }

    /// The file's own columns (the Hive columns not included).
    pub fn header(&self) -> Vec<String> {
        match &self.file {
            TypedFile::Parquet(p) => p.header.clone(),
            TypedFile::Ipc(f, _) => f.schema.fields().iter().map(|f| f.name().clone()).collect(),
        }
    }

    /// Row groups or record batches: the units partitions are made of.
    fn units(&self) -> usize {
        match &self.file {
            TypedFile::Parquet(p) => p.row_groups(),
            TypedFile::Ipc(f, _) => f.batches(),
        }
    }

    fn bytes(&self, units: Range<usize>) -> u64 {
        match &self.file {
            TypedFile::Parquet(p) => p.bytes(units),
            TypedFile::Ipc(f, _) => {
                let n = f.batches().max(1) as u64;
                f.bytes().len() as u64 * units.len() as u64 / n
            }
        }
    }

    fn check_types(&self, plan: &Plan) -> Result<()> {
        match &self.file {
            TypedFile::Parquet(p) => p.check_types(plan),
            TypedFile::Ipc(f, _) => super::arrow::check_types(&f.name, &f.schema, plan, &[]),
        }
    }

    fn read(&self, plan: &Plan, units: Range<usize>, fold: &mut Fold<'_>) -> Result<()> {
        match &self.file {
            TypedFile::Parquet(p) => p.read(plan, units, fold, &self.hive, &self.recast),
            TypedFile::Ipc(f, _) => {
                for i in units {
                    if fold.cancelled() {
                        return Ok(());
                    }
                    let batch = f.batch(i)?;
                    let arrays = slot_arrays(plan, &self.hive, &self.recast, &batch, &f.name)?;
                    super::arrow::note_schema_types(fold, &arrays);
                    super::arrow::fold_arrays(
                        fold,
                        &plan.slot_names,
                        &arrays,
                        &[],
                        &[],
                        batch.num_rows(),
                        |r| {
                            let name = show_name(&f.name);
                            let why = r.describe(plan);
                            Error::Other(match f.rows_before(i) {
                                Some(before) => {
                                    format!("{name}: row {}: {why}", before + r.row as u64 + 1)
                                }
                                None => format!(
                                    "{name}: record batch {}, row {}: {why}",
                                    i + 1,
                                    r.row + 1
                                ),
                            })
                        },
                    )?;
                    drop(batch);
                    f.release(i);
                }
                Ok(())
            }
        }
    }
}

/// The file columns the plan reads, in file order (of a file of
/// `file_columns` columns: the Hive columns follow them).
fn needed_columns(plan: &Plan, file_columns: usize) -> Vec<usize> {
    (0..file_columns)
        .filter(|&i| plan.slot_of[i] != UNUSED)
        .collect()
}

/// One array per plan slot for a batch decoded with only the needed file
/// columns (in file order): those by their position among them (each read
/// as `recast` says of its file column: [`Recast::apply`]; an error names
/// the file `name`), each Hive column as `batch.num_rows()` copies of this
/// file's value.
pub(super) fn slot_arrays(
    plan: &Plan,
    hive: &[(HiveType, String)],
    recast: &[Recast],
    batch: &RecordBatch,
    name: &str,
) -> Result<Vec<ArrayRef>> {
    let file_columns = plan.slot_of.len() - hive.len();
    let mut arrays: Vec<Option<ArrayRef>> = vec![None; plan.slots()];
    for (pos, col) in needed_columns(plan, file_columns).into_iter().enumerate() {
        let how = recast.get(col).copied().unwrap_or_default();
        let array = how.apply(batch.column(pos)).map_err(|why| {
            let column = show_name(&plan.header[col]);
            Error::Other(format!("{}: column '{column}' {why}", show_name(name)))
        })?;
        arrays[plan.slot_of[col] as usize] = Some(array);
    }
    for (k, (ty, value)) in hive.iter().enumerate() {
        let slot = plan.slot_of[file_columns + k];
        if slot != UNUSED {
            arrays[slot as usize] = Some(ty.array(value, batch.num_rows()));
        }
    }
    Ok(arrays
        .into_iter()
        .map(|a| a.expect("every slot is a column"))
        .collect())
}

/// A column that is text in one input and numeric in another would be
/// typed per batch, which typed sources do not support: refuse it. So is
/// one that holds UUIDs in one input and bare 16-byte values in another:
/// read as text either way, the same UUID would be two keys (its text and
/// its bytes). And one that may hold integers beyond 64 bits in one input
/// (read as their digits, as the CSV reader reads such integers) and
/// floats in another: a typed float has no text, and `distinct` counted
/// them apart (4 values as 2). A column is as its [`Recast`] reads it:
/// Polars' 128-bit integers are numbers.
fn check_kinds(plan: &Plan, inputs: &[TypedInput]) -> Result<()> {
    use super::arrow::{kind_of, ReadAs as Kind};
    let file_columns = plan.slot_of.len() - inputs.first().map_or(0, |i| i.hive.len());
    for col in needed_columns(plan, file_columns) {
        let column = show_name(&plan.header[col]);
        // the first input to read the column, whether as text, and the
        // first to hold UUIDs and bare 16-byte values in it
        let mut first: Option<(bool, &str)> = None;
        let (mut uuids, mut bytes) = (None, None);
        let (mut wide, mut floats) = (None, None);
        for input in inputs {
            let dt = match &input.file {
                TypedFile::Parquet(p) => p.data_type(col),
                TypedFile::Ipc(f, _) => f.schema.field(col).data_type().clone(),
            };
            let recast = input.recast.get(col).copied().unwrap_or_default();
            let kind = match recast {
                Recast::WideInt { .. } => Kind::Int,
                _ => match kind_of(&dt) {
                    Ok(kind) => kind,
                    Err(_) => continue,
                },
            };
            if kind == Kind::Null {
                continue;
            }
            let text = kind == Kind::Text;
            let what = |text| if text { "text" } else { "numeric" };
            match first {
                None => first = Some((text, input.name())),
                Some((was, name)) if was != text => {
                    return Err(Error::Other(format!(
                        "column '{column}' is {} in {} but {} in {}; inputs must agree on which \
                         columns are text",
                        what(was),
                        show_name(name),
                        what(text),
                        show_name(input.name())
                    )))
                }
                Some(_) => {}
            }
            if kind == Kind::Float {
                floats = floats.or(Some(input.name()));
            } else if matches!(recast, Recast::WideInt { .. }) || may_pass_64_bits(&dt) {
                wide = wide.or(Some(input.name()));
            }
            if let (Some(w), Some(f)) = (wide, floats) {
                return Err(Error::Other(format!(
                    "column '{column}' holds integers that may pass 64 bits in {} (a 128-bit or \
                     unsigned 64-bit integer, or an integral decimal) but floats in {}: such \
                     an integer is read as its digits, which no float compares with; inputs \
                     must agree (cast one of them)",
                    show_name(w),
                    show_name(f)
                )));
            }
            match recast {
                Recast::Uuid => uuids = uuids.or(Some(input.name())),
                Recast::AsTyped if super::arrow::holds_16_bytes(&dt) => {
                    bytes = bytes.or(Some(input.name()))
                }
                _ => {}
            }
            if let (Some(u), Some(b)) = (uuids, bytes) {
                return Err(Error::Other(format!(
                    "column '{column}' holds UUIDs in {} but bare 16-byte values in {}: the \
                     same UUID would be two keys (a UUID is read as its text, bytes without \
                     Parquet's or Arrow's UUID type as themselves); inputs must agree",
                    show_name(u),
                    show_name(b)
                )));
            }
        }
    }
    Ok(())
}

/// Whether a column of Arrow type `dt` may hold an integer beyond 64 bits,
/// which is read as its digits ([`super::arrow`]): a `UInt64`, or an
/// integral decimal of more than 18 digits (or a dictionary of one).
fn may_pass_64_bits(dt: &DataType) -> bool {
    match dt {
        DataType::UInt64 => true,
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            *s <= 0 && i32::from(*p) - i32::from(*s) > 18
        }
        DataType::Dictionary(_, value) => may_pass_64_bits(value),
        _ => false,
    }
}

/// Cuts `units` into `parts` runs of nearly equal length (no empty run,
/// except one for an input without units).
pub fn runs(units: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, units.max(1));
    (0..parts)
        .map(|i| units * i / parts..units * (i + 1) / parts)
        .collect()
}

/// Checks that `plan` can read `inputs`, and reopens the Arrow IPC ones to
/// decode only the columns it reads: `None` where an input is used as is.
fn project(plan: &Plan, inputs: &[TypedInput]) -> Result<Vec<Option<TypedInput>>> {
    check_kinds(plan, inputs)?;
    let mut projected = Vec::with_capacity(inputs.len());
    for input in inputs {
        input.check_types(plan)?;
        projected.push(match &input.file {
            TypedFile::Ipc(f, path) => {
                let file_columns = f.schema.fields().len();
                let columns = Some(needed_columns(plan, file_columns));
                Some(TypedInput {
                    file: TypedFile::Ipc(
                        IpcFile::open(path, &f.name, false, columns)?,
                        path.clone(),
                    ),
                    hive: input.hive.clone(),
                    // by the whole file's columns, as `slot_arrays` asks
                    recast: input.recast.clone(),
                })
            }
            TypedFile::Parquet(_) => None,
        });
    }
    Ok(projected)
}

/// The row groups or record batches of each input: the units tasks are
/// made of.
pub fn units(inputs: &[TypedInput]) -> Vec<usize> {
    inputs.iter().map(TypedInput::units).collect()
}

/// Runs `plan` over typed `inputs`. `partitions` is per input (default: one
/// per row group or record batch).
pub fn run(
    plan: &Plan,
    inputs: &[TypedInput],
    partitions: Option<usize>,
    threads: usize,
    progress: bool,
) -> Result<Table> {
    let mut tasks = Vec::new();
    for (i, n) in units(inputs).into_iter().enumerate() {
        for units in runs(n, partitions.unwrap_or(n)) {
            tasks.push(TypedTask { input: i, units });
        }
    }
    with_tasks(
        plan,
        inputs,
        &tasks,
        threads,
        progress,
        |tasks, opts, read| exec::aggregate(plan, tasks, opts, read),
    )
}

/// The merged partial result of `plan` over `tasks` of `inputs` (what
/// `rayproc map` ships for one part).
pub fn partial(
    plan: &Plan,
    inputs: &[TypedInput],
    tasks: &[TypedTask],
    threads: usize,
) -> Result<crate::partial::Partial> {
    with_tasks(plan, inputs, tasks, threads, false, |tasks, opts, read| {
        exec::aggregate_partial(plan, tasks, opts, read)
    })
}

/// Calls `engine` with `tasks`, the options to run them with, and the
/// reader of one task, over the projected inputs.
fn with_tasks<R>(
    plan: &Plan,
    inputs: &[TypedInput],
    tasks: &[TypedTask],
    threads: usize,
    progress: bool,
    engine: impl FnOnce(
        &[TypedTask],
        &AggregateOptions,
        &(dyn Fn(&TypedTask, &mut Fold<'_>) -> Result<()> + Sync),
    ) -> Result<R>,
) -> Result<R> {
    let projected = project(plan, inputs)?;
    let inputs: Vec<&TypedInput> = inputs
        .iter()
        .zip(&projected)
        .map(|(i, p)| p.as_ref().unwrap_or(i))
        .collect();
    let opts = AggregateOptions {
        threads,
        progress,
        total_bytes: tasks
            .iter()
            .map(|t| inputs[t.input].bytes(t.units.clone()))
            .sum(),
        coded: false,
    };
    engine(tasks, &opts, &|task: &TypedTask, fold: &mut Fold<'_>| {
        inputs[task.input].read(fold.plan(), task.units.clone(), fold)
    })
}

impl exec::Input for TypedInput {
    /// [`run`]; typed inputs have no delimiter.
    fn run(plan: &Plan, inputs: &[TypedInput], opts: &ExecOptions) -> Result<Table> {
        run(plan, inputs, opts.partitions, opts.threads, opts.progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_everything() {
        assert_eq!(runs(0, 4), vec![0..0]);
        assert_eq!(runs(5, 1), vec![0..5]);
        assert_eq!(runs(5, 2), vec![0..2, 2..5]);
        assert_eq!(runs(3, 10), vec![0..1, 1..2, 2..3]);
    }
}
