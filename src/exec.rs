//! The scheduler: split the inputs into partitions, map the aggregates over
//! them on a rayon pool, and reduce the per-worker partials (a parallel
//! tree of merges).
//!
//! Determinism: the partials are exact, so their merge order cannot change
//! the answer, and groups are output sorted by key: neither `--partitions`
//! nor `--threads` can change a byte. Errors are
//! deterministic too: a partition stops at its first bad record, partitions
//! after a failed one are cancelled, and the error reported is the one of
//! the earliest failed partition, i.e. the first bad record of the input.

mod partitions;

pub use partitions::{run_partitions, Fold, PartitionOptions};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::batch::Batch;
use crate::error::{show_value, DataError, Error, Result};
use crate::partial::{Partial, Rejected, SharedParts, Table};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::source::csv::CsvReader;
use crate::source::split::{split_sequential, split_speculative};
use crate::source::CsvInput;

/// How to run a plan.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Partitions per input; `None` picks from the input size and threads.
    pub partitions: Option<usize>,
    pub threads: usize,
    pub delimiter: u8,
    pub progress: bool,
}

/// A byte range of one input that starts and ends on record boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// Index of the input.
    pub input: usize,
    pub start: usize,
    pub end: usize,
}

/// Partition count when the user gives none: about 32 MiB each, at least
/// four per thread for balance, one for small inputs.
pub fn default_partitions(bytes: usize, threads: usize) -> usize {
    const TARGET: usize = 32 << 20;
    if bytes < 1 << 20 {
        return 1;
    }
    (bytes / TARGET)
        .max(threads * 4)
        .min(bytes / (64 << 10))
        .clamp(1, 4096)
}

/// Threads per core beyond which `--threads` is capped (but never below
/// [`ALWAYS_HONOURED_THREADS`]): a thread more than the cores can run only
/// waits (a few per core still help to overlap page faults on a cold file),
/// and idle threads cost in the square of their number (see [`run`]).
pub const THREADS_PER_CORE: usize = 4;
/// Thread counts up to this are always honoured (at most ~0.1 s of idle
/// cost), so that tests may oversubscribe a small machine.
pub const ALWAYS_HONOURED_THREADS: usize = 256;

/// The thread count used for `requested` threads on `cores` cores.
pub fn useful_threads(requested: usize, cores: usize) -> usize {
    let cap = cores.saturating_mul(THREADS_PER_CORE);
    requested.clamp(1, cap.max(ALWAYS_HONOURED_THREADS))
}

/// Up to this many partitions per input are made as asked, however small:
/// the most [`default_partitions`] ever picks, and far more than tests need
/// to cut tiny files at every boundary.
pub const ALWAYS_HONOURED_PARTITIONS: usize = 4096;
/// Beyond [`ALWAYS_HONOURED_PARTITIONS`], no partition is made smaller
/// than this: each partition costs a task, a reader set-up and a boundary
/// search that may look up to 1 MiB ahead, and below ~64 KiB those costs
/// dominate (`--partitions 1000000` on 300 MB took 33 s instead of 0.44 s)
/// while the parallelism gained is nil.
pub const MIN_PARTITION_BYTES: usize = 64 << 10;

/// The partition count used for `requested` partitions of a body of
/// `body_bytes` bytes: coarsened past the point where partitions cannot
/// help. The output never depends on it.
pub fn useful_partitions(requested: usize, body_bytes: usize) -> usize {
    requested.min((body_bytes / MIN_PARTITION_BYTES).max(ALWAYS_HONOURED_PARTITIONS))
}

/// Partitions of one input, as [`map_csv`] cuts it.
fn partitions_for(input: &CsvInput, opts: &ExecOptions) -> usize {
    let body = input.bytes().len() - input.body_start;
    match opts.partitions {
        Some(requested) => useful_partitions(requested, body),
        None => default_partitions(body, opts.threads),
    }
}

/// A note for stderr when `--partitions requested` is coarsened for one of
/// `inputs` (`None` when every input gets what was asked).
pub fn coarsening_note(requested: Option<usize>, inputs: &[CsvInput]) -> Option<String> {
    let requested = requested?;
    let used = inputs
        .iter()
        .map(|i| useful_partitions(requested, i.bytes().len() - i.body_start))
        .max()?;
    (used < requested).then(|| {
        format!(
            "--partitions {requested} coarsened to {used} (partitions under {} KiB cannot help)",
            MIN_PARTITION_BYTES >> 10
        )
    })
}

/// The one place a thread pool is built: `threads` rayon threads (at least
/// one). Callers size it (no more threads than tasks: see [`run`]).
pub fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    let threads = threads.max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {threads} threads: {e}")))
}

enum Stop {
    Data(DataError),
    Cancelled,
}

impl From<DataError> for Stop {
    fn from(e: DataError) -> Self {
        Stop::Data(e)
    }
}

/// Runs `plan` over `inputs` and returns the result table.
pub fn run(plan: &Plan, inputs: &[CsvInput], opts: &ExecOptions) -> Result<Table> {
    // No more threads than partitions: an idle rayon thread is not free,
    // each one's work stealing walks every other thread's epoch record, a
    // cost in the square of the thread count (52 s for 4096 threads).
    let tasks: usize = inputs.iter().map(|i| partitions_for(i, opts)).sum();
    let threads = opts.threads.clamp(1, tasks.max(1));
    pool(threads)?.install(|| run_in_pool(plan, inputs, opts))
}

fn run_in_pool(plan: &Plan, inputs: &[CsvInput], opts: &ExecOptions) -> Result<Table> {
    let fold = |partial: &mut Partial, input: &CsvInput, batch: &Batch<'_>, starts: &[usize]| {
        partial.fold(plan, batch).map_err(|Rejected { row, agg }| {
            let a = &plan.aggs[agg];
            let slot = a.slot.expect("only column aggregates reject values");
            let raw = batch.columns[slot].raw.map_or(&b""[..], |r| r[row]);
            let msg = format!(
                "{} needs numbers, found {}",
                a.spec.func.label(),
                show_value(raw)
            );
            input.error_at(starts[row], Some(&plan.slot_labels[slot]), msg)
        })
    };
    let shared = SharedParts::new();
    let (_, partials) = map_csv(
        plan,
        inputs,
        opts,
        &|| Partial::sharing(plan, &shared),
        &|p, _, i, b, s| fold(p, i, b, s),
    )?;
    let total = Partial::merge_all(plan, partials);
    if !total.complete(plan) {
        // a min/max column turned out to be text: run again, keeping the
        // text of every value (rare; see `agg::extreme`)
        let exact = Plan {
            text_extremes: true,
            ..plan.clone()
        };
        return run_in_pool(&exact, inputs, opts);
    }
    Ok(total.finish(plan))
}

/// Folds a batch into a worker's state: (state, task index, input, batch,
/// start offset of each row).
pub type CsvFold<'f, W> =
    dyn Fn(&mut W, usize, &CsvInput, &Batch<'_>, &[usize]) -> Result<(), DataError> + Sync + 'f;

/// The map step over CSV inputs, shared by `run` and `split`: cuts every
/// input into partitions, and folds every batch of every partition into a
/// per-worker state (a Ray "actor": one per thread of the current pool).
///
/// Partition boundaries are speculative (see
/// [`split_speculative`]); once the map is done they are validated in order,
/// and if one was wrong the whole map runs again on boundaries found by the
/// real parser. Returns the validated partitions and the worker states, or
/// the error of the first bad record of the input.
pub fn map_csv<W: Send>(
    plan: &Plan,
    inputs: &[CsvInput],
    opts: &ExecOptions,
    new_worker: &(dyn Fn() -> W + Sync),
    fold: &CsvFold<'_, W>,
) -> Result<(Vec<Task>, Vec<W>)> {
    let parts_for = |input: &CsvInput| partitions_for(input, opts);
    let tasks_from = |split: &dyn Fn(&CsvInput, usize) -> Vec<usize>| -> Vec<Task> {
        let mut tasks = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let bounds = split(input, parts_for(input));
            tasks.extend(bounds.windows(2).map(|w| Task {
                input: i,
                start: w[0],
                end: w[1],
            }));
        }
        tasks
    };
    let mut tasks = tasks_from(&|input, parts| {
        split_speculative(input.bytes(), input.body_start, parts, opts.delimiter)
    });
    let total: usize = inputs.iter().map(|i| i.bytes().len() - i.body_start).sum();
    let progress = Progress::new(opts.progress, total as u64, tasks.len());
    let run_map = |tasks: &[Task]| {
        map(
            plan,
            inputs,
            tasks,
            opts.delimiter,
            &progress,
            new_worker,
            fold,
        )
    };
    let (mut workers, mut outcomes) = run_map(&tasks);

    // Speculative boundaries are only guesses for malformed quoting: check
    // that each partition's last record ends where the next one starts, and
    // if one does not, redo the map on boundaries found by the real parser.
    if let Verdict::Misaligned = check(inputs, &tasks, &outcomes) {
        tasks = tasks_from(&|input, parts| {
            split_sequential(input.bytes(), input.body_start, parts, opts.delimiter)
        });
        progress.restart(tasks.len());
        (workers, outcomes) = run_map(&tasks);
        if let Verdict::Misaligned = check(inputs, &tasks, &outcomes) {
            return Err(Error::Other(
                "internal error: exact partition boundaries failed validation".into(),
            ));
        }
    }
    progress.finish();

    // The first failed partition holds the input's first bad record.
    for outcome in outcomes {
        if let Outcome::Failed(e) = outcome {
            return Err(Error::Data(e));
        }
    }
    Ok((tasks, workers))
}

/// How one partition's map task ended.
enum Outcome {
    /// Read to the end; the next record starts at `stop`.
    Done {
        stop: usize,
    },
    Failed(DataError),
    /// Skipped because an earlier partition failed.
    Cancelled,
}

enum Verdict {
    /// Every partition up to the end (or up to the first failure, whose
    /// error is then genuine) started on a true record boundary.
    Aligned,
    Misaligned,
}

/// Validates partition starts in order: the first starts at the body, and
/// each next one where the previous one's last record ended.
fn check(inputs: &[CsvInput], tasks: &[Task], outcomes: &[Outcome]) -> Verdict {
    let mut expected = None;
    for (task, outcome) in tasks.iter().zip(outcomes) {
        let start = match expected {
            Some((input, at)) if input == task.input => at,
            _ => inputs[task.input].body_start,
        };
        if task.start != start {
            return Verdict::Misaligned;
        }
        match outcome {
            Outcome::Done { stop } => expected = Some((task.input, *stop)),
            Outcome::Failed(_) => return Verdict::Aligned,
            Outcome::Cancelled => unreachable!("a cancelled partition follows a failed one"),
        }
    }
    Verdict::Aligned
}

/// Maps `fold` over every task in parallel, one state per worker thread.
/// Returns the states and the outcome of every task, in task order.
fn map<W: Send>(
    plan: &Plan,
    inputs: &[CsvInput],
    tasks: &[Task],
    delimiter: u8,
    progress: &Progress,
    new_worker: &(dyn Fn() -> W + Sync),
    fold: &CsvFold<'_, W>,
) -> (Vec<W>, Vec<Outcome>) {
    let first_failed = AtomicUsize::new(usize::MAX);
    let workers: Vec<Mutex<(W, CsvReader<'_, '_>)>> = (0..rayon::current_num_threads())
        .map(|_| Mutex::new((new_worker(), CsvReader::new(plan, delimiter))))
        .collect();
    let outcomes: Vec<Outcome> = tasks
        .par_iter()
        .enumerate()
        .map(|(index, task)| {
            let me = rayon::current_thread_index().unwrap_or(0) % workers.len();
            let mut guard = workers[me].lock().expect("worker state");
            let (state, reader) = &mut *guard;
            let input = &inputs[task.input];
            let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| -> Result<(), Stop> {
                if first_failed.load(Ordering::Relaxed) < index {
                    return Err(Stop::Cancelled);
                }
                fold(state, index, input, batch, starts).map_err(Stop::Data)
            };
            let mut on_progress = |bytes: usize| progress.advance(bytes as u64);
            let result =
                reader.read_range(input, task.start, task.end, &mut on_batch, &mut on_progress);
            progress.partition_done();
            match result {
                Ok(info) => Outcome::Done { stop: info.stop },
                Err(Stop::Data(e)) => {
                    first_failed.fetch_min(index, Ordering::Relaxed);
                    Outcome::Failed(e)
                }
                Err(Stop::Cancelled) => Outcome::Cancelled,
            }
        })
        .collect();
    let states = workers
        .into_iter()
        .map(|w| w.into_inner().expect("worker state").0)
        .collect();
    (states, outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_partition_counts() {
        assert_eq!(default_partitions(0, 8), 1);
        assert_eq!(default_partitions(500_000, 8), 1);
        assert_eq!(default_partitions(4 << 20, 2), 8);
        assert_eq!(default_partitions(1_100_000_000, 2), 32);
        assert_eq!(default_partitions(usize::MAX / 2, 2), 4096);
    }

    #[test]
    fn partitions_are_coarsened_only_past_the_point_of_use() {
        assert_eq!(useful_partitions(64, 100), 64);
        assert_eq!(useful_partitions(7, 100), 7);
        assert_eq!(useful_partitions(1_000_000, 100), 4096);
        assert_eq!(useful_threads(4096, 2), 256);
        assert_eq!(useful_threads(4096, 256), 1024);
        assert_eq!(useful_threads(9, 2), 9);
        assert_eq!(useful_partitions(1_000_000, 300 << 20), 4800);
        assert_eq!(useful_partitions(1000, 300 << 20), 1000);
    }
}
