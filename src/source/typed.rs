//! Typed inputs (Parquet, Arrow IPC): opening, partitioning and running a
//! plan over them with [`crate::exec::aggregate`]. A task is a run of row
//! groups or record batches of one input.

use std::ops::Range;
use std::path::Path;

use super::ipc::IpcFile;
use super::parquet::ParquetInput;
use crate::error::{Error, Result};
use crate::exec::{self, AggregateOptions, ExecOptions, Fold};
use crate::partial::Table;
use crate::plan::{Plan, UNUSED};

/// One typed input file.
pub enum TypedInput {
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
    pub fn open_parquet(path: &Path) -> Result<TypedInput> {
        ParquetInput::open(path).map(TypedInput::Parquet)
    }

    pub fn open_ipc(path: &Path) -> Result<TypedInput> {
        let name = path.display().to_string();
        IpcFile::open(path, &name, false, None).map(|f| TypedInput::Ipc(f, path.to_path_buf()))
    }

    pub fn name(&self) -> &str {
        match self {
            TypedInput::Parquet(p) => &p.name,
            TypedInput::Ipc(f, _) => &f.name,
        }
    }

    pub fn header(&self) -> Vec<String> {
        match self {
            TypedInput::Parquet(p) => p.header.clone(),
            TypedInput::Ipc(f, _) => f.schema.fields().iter().map(|f| f.name().clone()).collect(),
        }
    }

    /// Row groups or record batches: the units partitions are made of.
    fn units(&self) -> usize {
        match self {
            TypedInput::Parquet(p) => p.row_groups(),
            TypedInput::Ipc(f, _) => f.batches(),
        }
    }

    fn bytes(&self, units: Range<usize>) -> u64 {
        match self {
            TypedInput::Parquet(p) => p.bytes(units),
            TypedInput::Ipc(f, _) => {
                let n = f.batches().max(1) as u64;
                f.bytes().len() as u64 * units.len() as u64 / n
            }
        }
    }

    fn check_types(&self, plan: &Plan) -> Result<()> {
        match self {
            TypedInput::Parquet(p) => p.check_types(plan),
            TypedInput::Ipc(f, _) => {
                for (i, field) in f.schema.fields().iter().enumerate() {
                    if plan.slot_of.get(i).is_some_and(|&s| s != UNUSED) {
                        super::arrow::kind_of(field.data_type()).map_err(|why| {
                            Error::Other(format!("{}: column '{}' {why}", f.name, field.name()))
                        })?;
                    }
                }
                Ok(())
            }
        }
    }

    fn read(&self, plan: &Plan, units: Range<usize>, fold: &mut Fold<'_>) -> Result<()> {
        match self {
            TypedInput::Parquet(p) => p.read(plan, units, fold),
            TypedInput::Ipc(f, _) => {
                for i in units {
                    if fold.cancelled() {
                        return Ok(());
                    }
                    let batch = f.batch(i)?;
                    let arrays: Vec<_> = slot_positions(plan)
                        .into_iter()
                        .map(|p| batch.column(p).clone())
                        .collect();
                    super::arrow::fold_arrays(
                        fold,
                        &plan.slot_names,
                        &arrays,
                        batch.num_rows(),
                        |r| {
                            Error::Other(format!(
                                "{}: record batch {i}, row {}: {}",
                                f.name,
                                r.row + 1,
                                r.describe(plan)
                            ))
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

/// The columns the plan reads, in file order.
fn needed_columns(plan: &Plan) -> Vec<usize> {
    (0..plan.slot_of.len())
        .filter(|&i| plan.slot_of[i] != UNUSED)
        .collect()
}

/// For each slot, its position among [`needed_columns`].
fn slot_positions(plan: &Plan) -> Vec<usize> {
    let mut positions = vec![0; plan.slots()];
    for (pos, col) in needed_columns(plan).into_iter().enumerate() {
        positions[plan.slot_of[col] as usize] = pos;
    }
    positions
}

/// A column that is text in one input and numeric in another would be
/// typed per batch, which typed sources do not support: refuse it.
fn check_kinds(plan: &Plan, inputs: &[TypedInput]) -> Result<()> {
    use super::arrow::{kind_of, ReadAs as Kind};
    for col in needed_columns(plan) {
        let mut seen: Option<(Kind, &str)> = None;
        for input in inputs {
            let dt = match input {
                TypedInput::Parquet(p) => p.data_type(col),
                TypedInput::Ipc(f, _) => f.schema.field(col).data_type().clone(),
            };
            let Ok(kind) = kind_of(&dt) else { continue };
            if kind == Kind::Null {
                continue;
            }
            match seen {
                Some((k, first)) if (k == Kind::Text) != (kind == Kind::Text) => {
                    return Err(Error::Other(format!(
                        "column '{}' is {} in {first} but {} in {}; inputs must agree on which \
                         columns are text",
                        plan.header[col],
                        if k == Kind::Text { "text" } else { "numeric" },
                        if kind == Kind::Text {
                            "text"
                        } else {
                            "numeric"
                        },
                        input.name()
                    )))
                }
                None => seen = Some((kind, input.name())),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Cuts `units` into `parts` runs of nearly equal length (no empty run,
/// except one for an input without units).
pub fn runs(units: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, units.max(1));
    (0..parts)
        .map(|i| units * i / parts..units * (i + 1) / parts)
        .collect()
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
    check_kinds(plan, inputs)?;
    let mut projected = Vec::with_capacity(inputs.len());
    for input in inputs {
        input.check_types(plan)?;
        // decode only the needed columns of IPC files
        projected.push(match input {
            TypedInput::Ipc(f, path) => Some(TypedInput::Ipc(
                IpcFile::open(path, &f.name, false, Some(needed_columns(plan)))?,
                path.clone(),
            )),
            TypedInput::Parquet(_) => None,
        });
    }
    let inputs: Vec<&TypedInput> = inputs
        .iter()
        .zip(&projected)
        .map(|(i, p)| p.as_ref().unwrap_or(i))
        .collect();
    let mut tasks = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let n = input.units();
        for units in runs(n, partitions.unwrap_or(n)) {
            tasks.push(TypedTask { input: i, units });
        }
    }
    let opts = AggregateOptions {
        threads,
        progress,
        total_bytes: tasks
            .iter()
            .map(|t| inputs[t.input].bytes(t.units.clone()))
            .sum(),
    };
    exec::aggregate(plan, &tasks, &opts, |task, fold| {
        inputs[task.input].read(plan, task.units.clone(), fold)
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
