//! The map and reduce steps for typed sources (the object store, Parquet,
//! Arrow IPC): the source says how to read partition `i` as batches, this
//! module maps that over a rayon pool and reduces in a deterministic way.
//!
//! Unlike CSV there is nothing to split and nothing to re-split: typed
//! sources come already cut (store partitions, Parquet row groups, IPC
//! record batches). The error rules are the CSV path's: a partition stops
//! at its first error, partitions after a failed one are cancelled, and the
//! error reported is the earliest partition's.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::batch::Batch;
use crate::error::Result;
use crate::partial::{Partial, Rejected, SharedParts, Table};
use crate::plan::Plan;
use crate::progress::Progress;

/// How to run the partitions of a typed source.
#[derive(Clone, Debug)]
pub struct PartitionOptions {
    pub threads: usize,
    /// Show a progress bar on stderr (partitions done, bytes read).
    pub progress: bool,
    /// Total bytes the partitions will report through [`Fold::advance`],
    /// for the progress bar; 0 when unknown.
    pub total_bytes: u64,
}

/// What a partition's reader folds its batches into.
pub struct Fold<'a> {
    plan: &'a Plan,
    partial: &'a mut Partial,
    index: usize,
    first_failed: &'a AtomicUsize,
    progress: &'a Progress,
}

impl Fold<'_> {
    /// Folds one batch into the partition's partial result. A rejected value
    /// (text where a number is needed) comes back for the reader to turn
    /// into a positioned error.
    pub fn fold(&mut self, batch: &Batch<'_>) -> Result<(), Rejected> {
        self.partial.fold(self.plan, batch)
    }

    /// True when an earlier partition failed: the reader may stop early
    /// (returning `Ok`), its result will not be used.
    pub fn cancelled(&self) -> bool {
        self.first_failed.load(Ordering::Relaxed) < self.index
    }

    /// Reports `bytes` read, for the progress bar.
    pub fn advance(&self, bytes: u64) {
        self.progress.advance(bytes);
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        self.plan
    }
}

/// Maps `read` over partitions `0..partitions` on a pool of `opts.threads`
/// threads and reduces the partial results into the final table.
///
/// `read(i, fold)` reads partition `i` and passes each of its batches to
/// `fold.fold`. Each worker thread folds every partition it runs into one
/// partial (so a group-by builds one table per thread, not per partition);
/// the merges are exact, so the answer depends neither on the partition
/// count nor on the thread count nor on scheduling. On errors, the earliest
/// failed partition's error is returned.
pub fn run_partitions<F>(
    plan: &Plan,
    partitions: usize,
    opts: &PartitionOptions,
    read: F,
) -> Result<Table>
where
    F: Fn(usize, &mut Fold<'_>) -> Result<()> + Sync,
{
    // no more threads than partitions: idle rayon threads cost in the
    // square of their number (see `exec::run`)
    let threads = opts.threads.clamp(1, partitions.max(1));
    let pool = super::pool(threads)?;
    let progress = Progress::new(opts.progress, opts.total_bytes, partitions);
    let first_failed = AtomicUsize::new(usize::MAX);
    let shared = SharedParts::new();
    let workers: Vec<Mutex<Partial>> = (0..threads)
        .map(|_| Mutex::new(Partial::sharing(plan, &shared)))
        .collect();
    let any_failed = AtomicBool::new(false);
    let outcomes: Vec<Result<()>> = pool.install(|| {
        (0..partitions)
            .into_par_iter()
            .with_max_len(1)
            .map(|index| {
                if first_failed.load(Ordering::Relaxed) < index {
                    return Ok(());
                }
                let me = rayon::current_thread_index().unwrap_or(0) % workers.len();
                let mut partial = workers[me].lock().unwrap_or_else(|e| e.into_inner());
                // A failed partition may have folded part of its rows: its
                // worker's partial is then discarded with the whole result.
                let mut fold = Fold {
                    plan,
                    partial: &mut partial,
                    index,
                    first_failed: &first_failed,
                    progress: &progress,
                };
                let outcome = read(index, &mut fold);
                if outcome.is_err() {
                    any_failed.store(true, Ordering::Relaxed);
                    first_failed.fetch_min(index, Ordering::Relaxed);
                }
                progress.partition_done();
                outcome
            })
            .collect()
    });
    progress.finish();
    if any_failed.load(Ordering::Relaxed) {
        if let Some(err) = outcomes.into_iter().find_map(Result::err) {
            return Err(err);
        }
    }
    let partials = (workers.into_iter())
        .map(|w| w.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    // the reduce runs on the --threads pool too, not on rayon's global one
    Ok(pool.install(|| Partial::merge_all(plan, partials).finish(plan)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::spec::parse_specs;
    use crate::value::{Column, ColumnType, Data, Value};

    fn run(partitions: usize, threads: usize) -> Result<Table> {
        let header = vec!["x".to_string()];
        let plan = Plan::new(&header, &parse_specs(&["sum:x,count"]).unwrap(), &[]).unwrap();
        let opts = PartitionOptions {
            threads,
            progress: false,
            total_bytes: 0,
        };
        run_partitions(&plan, partitions, &opts, |i, fold| {
            if i == 5 || i == 9 {
                return Err(Error::Other(format!("partition {i} failed")));
            }
            let values: Vec<i64> = (0..10).map(|v| v + 10 * i as i64).collect();
            let batch = Batch {
                len: values.len(),
                columns: vec![Column {
                    len: values.len(),
                    data: Data::Int(&values),
                    valid: None,
                    raw: None,
                }],
                types: vec![ColumnType::Int],
            };
            fold.fold(&batch)
                .map_err(|_| Error::Other("rejected".into()))
        })
    }

    #[test]
    fn sums_every_partition_and_reports_the_first_error() {
        let table = run(5, 2).unwrap();
        assert_eq!(
            table.to_rows(),
            vec![vec![Value::Int(1225), Value::Int(50)]]
        );
        for threads in [1, 2, 4] {
            let err = run(12, threads).unwrap_err();
            assert_eq!(err.to_string(), "partition 5 failed");
        }
    }
}
