//! The engine: runs a source's tasks on a thread pool, each task folding
//! into the state of the worker thread that runs it, and reports how every
//! task ended, in task order.
//!
//! Sources are producers of tasks. A CSV input is cut into byte ranges
//! (`source::csv_run`, which also validates its guessed boundaries and maps
//! again when one was wrong), a Parquet or Arrow IPC file into runs of row
//! groups or record batches (`source::typed`), a store comes in partition
//! files (`store::read`), and `rayproc split` writes one partition file per
//! CSV range (`store::write`). Each makes a slice of tasks and runs it with
//! [`run_tasks`], or with [`aggregate`] when its tasks only fold batches
//! into a plan's partial results. This module imports no source: the rules
//! below hold alike for every input, and a new kind of input is a new
//! producer, not a new engine.
//!
//! Why the rules are what they are:
//!
//! - **One state per worker thread, not per task** (a Ray *actor*): a
//!   group-by builds one hash table per thread, not one per partition, and
//!   a reader's buffers are set up once per thread. The states come back to
//!   the caller, which merges them. Which tasks a thread happened to run
//!   decides only which state holds which rows; the partial states are
//!   exact, so their merge order cannot change the answer, and neither
//!   `--partitions` nor `--threads` nor scheduling can change a byte.
//! - **The earliest error wins.** A task stops at its first error. Tasks
//!   after a failed one (in task order) are cancelled: they are skipped if
//!   not started, and a running one sees [`Ctx::cancelled`] and may stop
//!   early; whatever it returns then is discarded. A task before a failed
//!   one is never cancelled, so the outcomes, returned in task order, always
//!   hold the earliest failure: for tasks in input order, the first bad
//!   record of the input, whatever the partition count, the thread count or
//!   which task finished first. Errors are as deterministic as results.
//! - **Progress** is counted here (tasks done) and by the tasks (bytes
//!   read, [`Ctx::advance`]), so every source shows the same bar.
//! - **One pool per run, sized here** ([`pool`], [`pool_for`]): no more
//!   threads than tasks, since an idle rayon thread is not free (each one's
//!   work stealing walks every other thread's epoch record, a cost in the
//!   square of the thread count: 52 s for 4096 threads).

mod fold;

pub use fold::{aggregate, aggregate_partial, AggregateOptions, Fold};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::partial::Table;
use crate::plan::Plan;
use crate::progress::Progress;

/// How to run a plan over inputs ([`run`]).
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Partitions per input; `None` lets the input pick (from its size for
    /// CSV, one per row group or record batch for Parquet and Arrow IPC).
    pub partitions: Option<usize>,
    pub threads: usize,
    /// The field delimiter of CSV inputs (inputs of other kinds have none).
    pub delimiter: u8,
    /// Show progress on stderr.
    pub progress: bool,
    /// Whether a CSV input's default partitions may end in smaller tasks
    /// ([`taper`]): a run's may, a store's (one file each) may not.
    pub taper: bool,
}

/// A kind of input a plan can run over: it makes its tasks and runs them
/// with [`run_tasks`] or [`aggregate`]. Implemented by
/// `source::CsvInput` (in `source::csv_run`) and `source::typed::TypedInput`.
pub trait Input: Sized {
    /// Runs `plan` over `inputs` and returns the result table.
    fn run(plan: &Plan, inputs: &[Self], opts: &ExecOptions) -> Result<Table>;
}

/// Runs `plan` over `inputs`, of one kind, and returns the result table.
pub fn run<I: Input>(plan: &Plan, inputs: &[I], opts: &ExecOptions) -> Result<Table> {
    I::run(plan, inputs, opts)
}

/// Threads per core beyond which `--threads` is capped (but never below
/// [`ALWAYS_HONOURED_THREADS`]): a thread more than the cores can run only
/// waits (a few per core still help to overlap page faults on a cold file),
/// and idle threads cost in the square of their number (see the module doc).
pub const THREADS_PER_CORE: usize = 4;
/// Thread counts up to this are always honoured (at most ~0.1 s of idle
/// cost), so that tests may oversubscribe a small machine.
pub const ALWAYS_HONOURED_THREADS: usize = 256;

/// The thread count used for `requested` threads on `cores` cores.
pub fn useful_threads(requested: usize, cores: usize) -> usize {
    let cap = cores.saturating_mul(THREADS_PER_CORE);
    requested.clamp(1, cap.max(ALWAYS_HONOURED_THREADS))
}

/// The one place a thread pool is built: `threads` rayon threads (at least
/// one). Callers size it: see [`pool_for`].
pub fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    let threads = threads.max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::cannot_start_threads(threads, &e))
}

/// A pool of `threads` threads, but no more than `tasks`: a thread without
/// a task would only cost (see the module doc).
pub fn pool_for(threads: usize, tasks: usize) -> Result<rayon::ThreadPool> {
    pool(threads.clamp(1, tasks.max(1)))
}

/// What a running task may ask of the engine.
pub struct Ctx<'a> {
    index: usize,
    first_failed: &'a AtomicUsize,
    progress: &'a Progress,
}

impl Ctx<'_> {
    /// The task's position in the slice of tasks.
    pub fn index(&self) -> usize {
        self.index
    }

    /// True when an earlier task failed: this task's outcome will be
    /// discarded, so it may stop at once (returning anything).
    pub fn cancelled(&self) -> bool {
        self.first_failed.load(Ordering::Relaxed) < self.index
    }

    /// Reports `bytes` more read, for the progress bar.
    pub fn advance(&self, bytes: u64) {
        self.progress.advance(bytes);
    }
}

/// How one task ended.
#[derive(Debug)]
pub enum Outcome<R, E> {
    /// Ran to its end and returned this.
    Done(R),
    /// Failed with this error, and no earlier task had failed by then.
    Failed(E),
    /// Skipped or stopped because an earlier task failed.
    Cancelled,
}

/// What [`run_tasks`] returns: the worker states and, in task order, how
/// each task ended.
pub struct Ran<W, R, E> {
    pub workers: Vec<W>,
    pub outcomes: Vec<Outcome<R, E>>,
}

impl<W, R, E> Ran<W, R, E> {
    /// The earliest failed task's error, or else the worker states and
    /// every task's result, in task order.
    pub fn into_result(self) -> std::result::Result<(Vec<W>, Vec<R>), E> {
        let mut results = Vec::with_capacity(self.outcomes.len());
        for outcome in self.outcomes {
            match outcome {
                Outcome::Done(r) => results.push(r),
                Outcome::Failed(e) => return Err(e),
                Outcome::Cancelled => unreachable!("a cancelled task follows a failed one"),
            }
        }
        Ok((self.workers, results))
    }
}

/// Runs `run(worker, task, ctx)` for every task on `pool`, each call with
/// the state of the thread running it: `workers` holds one state per
/// thread of the pool (fewer would make threads wait for each other).
/// Returns the states and the outcome of every task, in task order; see
/// the module doc for cancellation and which error wins.
///
/// Every thread takes the next task not yet taken, in task order, until
/// none is left: the last tasks to start are the last in the slice, so a
/// producer that makes its last tasks small ([`taper`]) bounds the time one
/// thread works alone at the end of the run by one small task. (Rayon's
/// parallel iterators split the slice in halves by count instead: each
/// thread worked through a half in order, and the run ended with whatever
/// task one of them had left, half a task's time alone on average.)
///
/// A task must not wait on the pool itself (a rayon `join` inside `run`):
/// a thread waiting there may run another task, whose worker state it
/// already holds.
pub fn run_tasks<T, W, R, E, F>(
    pool: &rayon::ThreadPool,
    tasks: &[T],
    progress: &Progress,
    workers: Vec<W>,
    run: F,
) -> Ran<W, R, E>
where
    T: Sync,
    W: Send,
    R: Send,
    E: Send,
    F: Fn(&mut W, &T, &Ctx<'_>) -> std::result::Result<R, E> + Sync,
{
    assert!(!workers.is_empty(), "run_tasks needs a worker state");
    let first_failed = AtomicUsize::new(usize::MAX);
    let next = AtomicUsize::new(0);
    let workers: Vec<Mutex<W>> = workers.into_iter().map(Mutex::new).collect();
    // each thread's tasks and how they ended
    let ran: Vec<Vec<(usize, Outcome<R, E>)>> = pool.broadcast(|thread| {
        let me = thread.index() % workers.len();
        let mut ran = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(task) = tasks.get(index) else {
                break;
            };
            let ctx = Ctx {
                index,
                first_failed: &first_failed,
                progress,
            };
            let outcome = if ctx.cancelled() {
                Outcome::Cancelled
            } else {
                // A task that panicked leaves the run failing anyway.
                let mut worker = workers[me].lock().unwrap_or_else(|e| e.into_inner());
                match run(&mut worker, task, &ctx) {
                    // stopped early, or ran in vain: discarded either way
                    _ if ctx.cancelled() => Outcome::Cancelled,
                    Ok(r) => Outcome::Done(r),
                    Err(e) => {
                        first_failed.fetch_min(index, Ordering::Relaxed);
                        Outcome::Failed(e)
                    }
                }
            };
            progress.partition_done();
            ran.push((index, outcome));
        }
        ran
    });
    let mut outcomes: Vec<Option<Outcome<R, E>>> = (0..tasks.len()).map(|_| None).collect();
    for (index, outcome) in ran.into_iter().flatten() {
        outcomes[index] = Some(outcome);
    }
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.expect("every task is taken by one thread"))
        .collect();
    let workers = workers
        .into_iter()
        .map(|w| w.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    Ran { workers, outcomes }
}

/// How a producer that can cut its input anywhere (CSV) groups `4 × parts`
/// equal pieces into tasks for `threads` threads: the number of pieces in
/// each task, in order. The last `2 × threads` parts are cut in quarters
/// (one piece a task), the others stay whole (four). With [`run_tasks`]
/// taking tasks in order, the threads end the run on quarter tasks: one
/// works alone at the end for at most a quarter of a part's time, where it
/// was half a part's on average. A run of fewer than `4 × threads` parts,
/// or on one thread, keeps every part whole.
pub fn taper(parts: usize, threads: usize) -> Vec<usize> {
    let small = 2 * threads;
    if threads <= 1 || parts < 2 * small {
        return vec![4; parts];
    }
    let mut sizes = vec![4; parts - small];
    sizes.extend(std::iter::repeat_n(1, 4 * small));
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_are_capped_only_past_the_point_of_use() {
        assert_eq!(useful_threads(4096, 2), 256);
        assert_eq!(useful_threads(4096, 256), 1024);
        assert_eq!(useful_threads(9, 2), 9);
        assert_eq!(useful_threads(0, 2), 1);
    }

    /// Task `i` returns `i`, or fails when `fails(i)`; each worker counts
    /// the tasks it ran.
    fn run(
        tasks: usize,
        threads: usize,
        fails: impl Fn(usize) -> bool + Sync,
    ) -> Ran<usize, usize, String> {
        let pool = pool_for(threads, tasks).unwrap();
        let tasks: Vec<usize> = (0..tasks).collect();
        let workers = vec![0; pool.current_num_threads()];
        run_tasks(
            &pool,
            &tasks,
            &Progress::hidden(),
            workers,
            |ran, &i, ctx| {
                assert_eq!(ctx.index(), i);
                *ran += 1;
                if fails(i) {
                    Err(format!("task {i} failed"))
                } else {
                    Ok(i)
                }
            },
        )
    }

    #[test]
    fn every_task_runs_once_and_results_come_in_task_order() {
        for threads in [1, 2, 3, 8] {
            let ran = run(50, threads, |_| false);
            assert_eq!(ran.workers.len(), threads);
            assert_eq!(ran.workers.iter().sum::<usize>(), 50);
            let (_, results) = ran.into_result().unwrap();
            assert_eq!(results, (0..50).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_earliest_failure_wins_and_later_tasks_are_cancelled() {
        for threads in [1, 2, 4] {
            let ran = run(40, threads, |i| i == 7 || i == 12 || i == 30);
            for (i, outcome) in ran.outcomes.iter().enumerate() {
                // a later task may have finished before task 7 failed
                match outcome {
                    Outcome::Done(r) => assert_eq!(*r, i),
                    Outcome::Failed(e) => assert!([7, 12, 30].contains(&i), "{i}: {e}"),
                    Outcome::Cancelled => assert!(i > 7, "{i}"),
                }
            }
            assert!(ran.outcomes[..7]
                .iter()
                .all(|o| matches!(o, Outcome::Done(_))));
            assert!(matches!(ran.outcomes[7], Outcome::Failed(_)));
            assert_eq!(ran.into_result().err().unwrap(), "task 7 failed");
        }
    }

    /// Threads take tasks in task order: task 0 waits for task 1 to end,
    /// so the other thread must take task 1 before any later one. (Rayon's
    /// split of the slice in halves gave the other thread task 20 of 40
    /// first, and task 1 only once it had run out of its half.)
    #[test]
    fn tasks_are_taken_in_task_order() {
        let pool = pool(2).unwrap();
        let tasks: Vec<usize> = (0..40).collect();
        let ended = AtomicUsize::new(0);
        let one_ended = std::sync::atomic::AtomicBool::new(false);
        let ran = run_tasks(
            &pool,
            &tasks,
            &Progress::hidden(),
            vec![(), ()],
            |_, &i, _| {
                let before = match i {
                    0 => {
                        let start = std::time::Instant::now();
                        while !one_ended.load(Ordering::SeqCst) && start.elapsed().as_secs() < 10 {
                            std::thread::yield_now();
                        }
                        usize::MAX
                    }
                    1 => {
                        let before = ended.load(Ordering::SeqCst);
                        one_ended.store(true, Ordering::SeqCst);
                        before
                    }
                    _ => usize::MAX,
                };
                ended.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(before)
            },
        );
        let (_, results) = ran.into_result().unwrap();
        assert!(
            one_ended.load(Ordering::SeqCst),
            "task 1 never ran beside task 0"
        );
        assert_eq!(results[1], 0, "tasks ended before task 1 began");
    }

    #[test]
    fn tapers_cut_the_last_parts_in_quarters() {
        let mut expected = vec![4; 28];
        expected.extend([1; 16]);
        assert_eq!(taper(32, 2), expected);
        for (parts, threads) in [(32, 2), (64, 16), (8, 2), (100, 3)] {
            let pieces = taper(parts, threads);
            assert_eq!(pieces.iter().sum::<usize>(), 4 * parts);
            assert_eq!(pieces.iter().filter(|&&p| p == 1).count(), 8 * threads);
        }
        // too few parts, or one thread: every part whole
        assert_eq!(taper(7, 2), vec![4; 7]);
        assert_eq!(taper(32, 1), vec![4; 32]);
        assert_eq!(taper(1, 4), vec![4]);
    }

    #[test]
    fn a_task_that_ends_after_an_earlier_failure_is_cancelled() {
        // task 1 runs until it sees task 0's failure (or is skipped, when
        // one thread runs both), then returns Ok: that result is discarded
        let pool = pool(2).unwrap();
        let ran = run_tasks(
            &pool,
            &[0, 1],
            &Progress::hidden(),
            vec![(), ()],
            |_, &i, ctx| {
                if i == 0 {
                    return Err("bad");
                }
                let start = std::time::Instant::now();
                while !ctx.cancelled() && start.elapsed().as_secs() < 10 {
                    std::thread::yield_now();
                }
                Ok(())
            },
        );
        assert!(matches!(ran.outcomes[0], Outcome::Failed("bad")));
        assert!(matches!(ran.outcomes[1], Outcome::Cancelled));
    }
}
