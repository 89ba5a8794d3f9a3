//! CSV inputs as producers of tasks for the engine ([`crate::exec`]): how
//! many partitions an input is cut into, the speculative split into byte
//! ranges ([`super::split`]), the reader that maps each range
//! ([`super::csv::CsvReader`]), and the validation that makes guessed
//! boundaries safe.
//!
//! Why a CSV map is not just one run of tasks: finding exact record
//! boundaries takes a sequential pass with the parser, so the splitter
//! *guesses* them from a little look-ahead past each cut. The guess can be
//! wrong (for malformed quoting, and for quoted line breaks the look-ahead
//! cannot place: [`super::split`]), and the map itself shows whether it
//! was: partition *i* starts on a true record boundary if every partition
//! before it did and the last record of partition *i − 1* ended exactly
//! there. So [`map`] runs the tasks, then checks the boundaries in order;
//! if one was wrong, everything read is discarded and the map runs again on
//! boundaries found by the parser
//! ([`split_sequential`](crate::source::split::split_sequential)). The answer, and
//! the error, are always the sequential parser's, for every partition
//! count; only such files pay twice. An error in a partition that started
//! on a wrongly guessed boundary is discarded with the rest of that map.

use crate::batch::Batch;
use crate::error::{show_value, DataError, Error, Result};
use crate::exec::{self, ExecOptions, Outcome};
use crate::partial::{Partial, Rejected, SharedParts, Table};
use crate::plan::Plan;
use crate::progress::Progress;

use super::csv::CsvReader;
use super::split::{split_sequential_releasing, split_speculative_releasing};
use super::CsvInput;

/// A byte range of one input that starts and ends on record boundaries
/// (once validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvTask {
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

/// Whether `input` is cut into tasks of `pieces` ([`exec::taper`]): when
/// the tasks cut small are in the page cache. Read from disk, a task asks
/// for its range when it starts (`source::FetchAhead`), and the small
/// tasks' reads, asked for a quarter at a time, kept the device less busy
/// than the threads' wait at the end cost: from a cold page cache, Q1
/// took 0.88-0.99 s tapered against 0.73-0.92 s. Tested before the split
/// reads anything around its cuts.
fn tapers(input: &CsvInput, pieces: &[usize]) -> bool {
    let whole = pieces.iter().take_while(|&&p| p == 4).count();
    if whole == pieces.len() {
        return false;
    }
    // where the first small task starts, about
    let body = input.bytes().len() - input.body_start;
    let total: usize = pieces.iter().sum();
    let from = input.body_start + (body as u128 * (4 * whole) as u128 / total as u128) as usize;
    input.is_cached(from, input.bytes().len())
}

/// The boundaries of tasks of `pieces[t]` consecutive pieces each, from
/// the boundaries of equal pieces ([`exec::taper`]). A split that merged
/// pieces (records longer than a piece) has fewer boundaries than asked
/// for: each of its ranges is a task then.
fn tapered(bounds: &[usize], pieces: &[usize]) -> Vec<usize> {
    if bounds.len() != pieces.iter().sum::<usize>() + 1 {
        return bounds.to_vec();
    }
    let mut at = 0;
    let mut tasks = vec![bounds[0]];
    for &n in pieces {
        at += n;
        tasks.push(bounds[at]);
    }
    tasks
}

/// Partitions of one input, as [`map`] cuts it.
fn partitions_for(input: &CsvInput, opts: &ExecOptions) -> usize {
    let body = input.bytes().len() - input.body_start;
    match opts.partitions {
        Some(requested) => useful_partitions(requested, body),
        None => default_partitions(body, opts.threads),
    }
}

/// A note for stderr when `--partitions requested` is coarsened for one of
/// `inputs` (`None` when every input gets what was asked). It says what
/// was done, for this run: the count (or counts) made, for how many of the
/// inputs when not for all, and the rule. (It said "partitions under 64
/// KiB cannot help" while cutting a 175-byte file into 4096 of them, and
/// nothing when only the smaller of two inputs was coarsened.) A streamed
/// input is read in blocks, not partitions ([`super::stream`]): no count
/// is asked of it, none coarsened.
pub fn coarsening_note(requested: Option<usize>, inputs: &[CsvInput]) -> Option<String> {
    let bodies: Vec<usize> = (inputs.iter().filter(|i| !i.is_stream()))
        .map(|i| i.bytes().len() - i.body_start)
        .collect();
    note_for_bodies(requested?, &bodies)
}

/// [`coarsening_note`] for the mapped inputs, of `bodies` bytes each.
fn note_for_bodies(requested: usize, bodies: &[usize]) -> Option<String> {
    let coarsened: Vec<usize> = (bodies.iter())
        .map(|&body| useful_partitions(requested, body))
        .filter(|&used| used < requested)
        .collect();
    let (least, most) = (coarsened.iter().min()?, coarsened.iter().max()?);
    let to = if least == most {
        format!("to {least}")
    } else {
        format!("to between {least} and {most}")
    };
    let of = if coarsened.len() < bodies.len() {
        format!(" for {} of {} inputs", coarsened.len(), bodies.len())
    } else {
        String::new()
    };
    Some(format!(
        "--partitions {requested} coarsened {to}{of} (an input is cut into more than \
         {ALWAYS_HONOURED_PARTITIONS} partitions only as far as each holds {} KiB)",
        MIN_PARTITION_BYTES >> 10
    ))
}

impl exec::Input for CsvInput {
    fn run(plan: &Plan, inputs: &[CsvInput], opts: &ExecOptions) -> Result<Table> {
        run(plan, inputs, opts)
    }
}

/// Runs `plan` over CSV `inputs` (which share its header) and returns the
/// result table.
pub fn run(plan: &Plan, inputs: &[CsvInput], opts: &ExecOptions) -> Result<Table> {
    if inputs.iter().any(CsvInput::is_stream) {
        return super::stream::run(plan, inputs, opts);
    }
    let tasks: usize = inputs.iter().map(|i| partitions_for(i, opts)).sum();
    let pool = exec::pool_for(opts.threads, tasks)?;
    pool.install(|| run_in_pool(&pool, plan, inputs, opts))
}

fn run_in_pool(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    inputs: &[CsvInput],
    opts: &ExecOptions,
) -> Result<Table> {
    // The workers of one attempt share their spilled group tables; a map
    // again on exact boundaries must not find the first attempt's rows
    // there, so each attempt gets its own.
    let new_partials =
        |n| Partial::for_run_workers(plan, &SharedParts::new(), pool.current_num_threads(), n);
    let (_, partials) = map(pool, plan, inputs, opts, &new_partials, &|p, _, i, b, s| {
        fold_batch(plan, p, i, b, s)
    })?;
    crate::phases::mark("map");
    let total = Partial::merge_all(plan, partials);
    crate::phases::mark("merge");
    if !total.complete(plan) {
        // a min/max column turned out to be text: run again, keeping the
        // text of every value (rare; see `agg::extreme`)
        let exact = Plan {
            text_extremes: true,
            ..plan.clone()
        };
        return run_in_pool(pool, &exact, inputs, opts);
    }
    Ok(total.finish(plan))
}

/// Folds a batch of `input` into a partial; a value an aggregate rejects
/// is an error at its record (`FILE:LINE: column 'x': sum needs numbers,
/// found "abc"`). Shared by the file map and the stream.
pub(crate) fn fold_batch(
    plan: &Plan,
    partial: &mut Partial,
    input: &CsvInput,
    batch: &Batch<'_>,
    starts: &[usize],
) -> Result<(), DataError> {
    partial.fold(plan, batch).map_err(|Rejected { row, agg }| {
        let a = &plan.aggs[agg];
        let slot = a.slot.expect("only column aggregates reject values");
        let raw = batch.columns[slot].raw.map_or(&b""[..], |r| r[row]);
        let msg = format!(
            "{} needs numbers, found {}",
            a.spec.func.label(),
            show_value(raw)
        );
        let msg = with_null_hint(msg, plan, input, slot, raw);
        input.error_at(starts[row], Some(&plan.slot_labels[slot]), msg)
    })
}

/// `message`, about the field `raw` of slot `slot` refused as a number,
/// with a note naming `--null` when `raw` is a common spelling of a
/// missing value ([`crate::spec::null_hint`]) and a field of the file: a
/// Hive folder's `k=NA` is a key its path names, which `--null` leaves.
pub(crate) fn with_null_hint(
    message: String,
    plan: &Plan,
    input: &CsvInput,
    slot: usize,
    raw: &[u8],
) -> String {
    // the Hive columns follow the file's own in the table
    let column = plan.slot_of.iter().position(|&s| usize::from(s) == slot);
    let of_the_file = column.is_some_and(|c| c < input.header.len());
    match crate::spec::null_hint(raw).filter(|_| of_the_file) {
        Some(hint) => format!("{message} ({hint})"),
        None => message,
    }
}

/// Folds a batch into a worker's state: (state, task index, input, batch,
/// start offset of each row).
pub type CsvFold<'f, W> =
    dyn Fn(&mut W, usize, &CsvInput, &Batch<'_>, &[usize]) -> Result<(), DataError> + Sync + 'f;

/// Why a partition's (or a stream block's) reader stopped before its end.
pub(crate) enum Stop {
    Data(DataError),
    /// An earlier partition failed ([`exec::Ctx::cancelled`]).
    Cancelled,
}

impl From<DataError> for Stop {
    fn from(e: DataError) -> Self {
        Stop::Data(e)
    }
}

/// The map step over CSV inputs, shared by `run` and `split`: cuts every
/// input into partitions, and folds every batch of every partition into the
/// state of the worker thread reading it (`new_workers(n)` makes the states
/// of the pool's `n` threads, afresh for each attempt of the map).
///
/// Partition boundaries are speculative (see [`super::split::split_speculative`]); once
/// the map is done they are validated in order, and if one was wrong the
/// whole map runs again on boundaries found by the real parser (see the
/// module doc). Returns the validated partitions and the worker states, or
/// the error of the first bad record of the input.
pub fn map<W: Send>(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    inputs: &[CsvInput],
    opts: &ExecOptions,
    new_workers: &(dyn Fn(usize) -> Vec<W> + Sync),
    fold: &CsvFold<'_, W>,
) -> Result<(Vec<CsvTask>, Vec<W>)> {
    // the splitter's look-ahead runs on the pool too
    pool.install(|| map_in_pool(pool, plan, inputs, opts, new_workers, fold))
}

/// The speculative split of `input` into `parts`, each stretch read past a
/// cut let go at once ([`split_speculative_releasing`]): partitions release
/// their own pages once read, and the splitter's would otherwise all be
/// resident at the start of the map, up to 2 MiB each.
fn speculative_split(input: &CsvInput, parts: usize, delimiter: u8) -> Vec<usize> {
    let release = |from, to| input.release(from, to);
    split_speculative_releasing(input.bytes(), input.body_start, parts, delimiter, &release)
}

/// The exact split of `input` into `parts` (the fallback), the records
/// behind the scan let go as it passes each cut
/// ([`split_sequential_releasing`]): it reads the whole input before the
/// map starts.
fn sequential_split(input: &CsvInput, parts: usize, delimiter: u8) -> Vec<usize> {
    let release = |from, to| input.release(from, to);
    split_sequential_releasing(input.bytes(), input.body_start, parts, delimiter, &release)
}

fn map_in_pool<W: Send>(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    inputs: &[CsvInput],
    opts: &ExecOptions,
    new_workers: &(dyn Fn(usize) -> Vec<W> + Sync),
    fold: &CsvFold<'_, W>,
) -> Result<(Vec<CsvTask>, Vec<W>)> {
    let tasks_from = |split: &dyn Fn(&CsvInput, usize) -> Vec<usize>| -> Vec<CsvTask> {
        let mut tasks = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let parts = partitions_for(input, opts);
            // the run's last input ends it: its last tasks are cut small
            // (when they are in memory: see `tapers`)
            let last = opts.taper && opts.partitions.is_none() && i + 1 == inputs.len();
            let pieces = last
                .then(|| exec::taper(parts, pool.current_num_threads()))
                .filter(|pieces| tapers(input, pieces));
            let bounds = match pieces {
                Some(pieces) => tapered(&split(input, pieces.iter().sum()), &pieces),
                None => split(input, parts),
            };
            tasks.extend(bounds.windows(2).map(|w| CsvTask {
                input: i,
                start: w[0],
                end: w[1],
            }));
        }
        tasks
    };
    let mut tasks = tasks_from(&|input, parts| speculative_split(input, parts, opts.delimiter));
    let total: usize = inputs.iter().map(|i| i.bytes().len() - i.body_start).sum();
    let progress = Progress::new(opts.progress, total as u64, tasks.len());
    let run_map = |tasks: &[CsvTask]| {
        read_ranges(
            pool,
            plan,
            inputs,
            opts,
            tasks,
            &progress,
            new_workers,
            fold,
        )
    };
    let (mut workers, mut outcomes) = run_map(&tasks);

    // Speculative boundaries are guesses (`split`'s module doc says when
    // they can be wrong): check that each partition's last record ends
    // where the next one starts, and
    // if one does not, redo the map on boundaries found by the real parser.
    if let Verdict::Misaligned = check(inputs, &tasks, &outcomes) {
        tasks = tasks_from(&|input, parts| sequential_split(input, parts, opts.delimiter));
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
        match outcome {
            Outcome::Failed(Stop::Data(e)) => return Err(Error::Data(e)),
            Outcome::Failed(Stop::Cancelled) => {
                unreachable!("a reader stops for a cancellation only when cancelled")
            }
            Outcome::Done(_) | Outcome::Cancelled => {}
        }
    }
    Ok((tasks, workers))
}

/// Reads every range of `tasks` on `pool`, folding each batch into the
/// state of the worker thread reading it; returns the worker states and how
/// each task ended (`Done(stop)`: where its last record ended).
#[allow(clippy::too_many_arguments)]
fn read_ranges<W: Send>(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    inputs: &[CsvInput],
    opts: &ExecOptions,
    tasks: &[CsvTask],
    progress: &Progress,
    new_workers: &(dyn Fn(usize) -> Vec<W> + Sync),
    fold: &CsvFold<'_, W>,
) -> (Vec<W>, Vec<Outcome<usize, Stop>>) {
    let workers: Vec<(W, CsvReader<'_, '_>)> = new_workers(pool.current_num_threads())
        .into_iter()
        .map(|w| (w, CsvReader::new(plan, opts.delimiter)))
        .collect();
    let ran = exec::run_tasks(pool, tasks, progress, workers, |worker, task, ctx| {
        let (state, reader) = worker;
        let input = &inputs[task.input];
        let index = ctx.index();
        let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| -> Result<(), Stop> {
            if ctx.cancelled() {
                return Err(Stop::Cancelled);
            }
            fold(state, index, input, batch, starts).map_err(Stop::Data)
        };
        let mut on_progress = |bytes: usize| ctx.advance(bytes as u64);
        let read = reader.read_range(input, task.start, task.end, &mut on_batch, &mut on_progress);
        read.map(|info| info.stop)
    });
    let workers: Vec<W> = ran.workers.into_iter().map(|(w, _)| w).collect();
    (workers, ran.outcomes)
}

/// The merged partial result of `plan` over exactly the ranges `tasks`
/// (what `rayproc map` ships for one part), and where each range's last
/// record ended. The ranges are not validated here: the caller records
/// the stops, and `rayproc reduce` checks that the parts meet. On a bad
/// record, the index of the earliest failed range and its error.
pub fn partial_of_ranges(
    plan: &Plan,
    inputs: &[CsvInput],
    tasks: &[CsvTask],
    opts: &ExecOptions,
) -> std::result::Result<(Partial, Vec<usize>), (usize, Error)> {
    let pool = exec::pool_for(opts.threads, tasks.len()).map_err(|e| (0, e))?;
    let shared = SharedParts::new();
    let new_workers = |n| (0..n).map(|_| Partial::sharing(plan, &shared)).collect();
    let fold = |p: &mut Partial, _: usize, i: &CsvInput, b: &Batch<'_>, s: &[usize]| {
        fold_batch(plan, p, i, b, s)
    };
    let progress = Progress::hidden();
    let (workers, outcomes) = pool.install(|| {
        read_ranges(
            &pool,
            plan,
            inputs,
            opts,
            tasks,
            &progress,
            &new_workers,
            &fold,
        )
    });
    let mut stops = Vec::with_capacity(tasks.len());
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Outcome::Done(stop) => stops.push(stop),
            Outcome::Failed(Stop::Data(e)) => return Err((index, Error::Data(e))),
            Outcome::Failed(Stop::Cancelled) | Outcome::Cancelled => {
                unreachable!("only a task after a failed one is cancelled")
            }
        }
    }
    Ok((pool.install(|| Partial::merge_all(plan, workers)), stops))
}

enum Verdict {
    /// Every partition up to the end (or up to the first failure, whose
    /// error is then genuine) started on a true record boundary.
    Aligned,
    Misaligned,
}

/// Validates partition starts in order: the first starts at the body, and
/// each next one where the previous one's last record ended (`Done(stop)`:
/// the next record starts at `stop`).
fn check(inputs: &[CsvInput], tasks: &[CsvTask], outcomes: &[Outcome<usize, Stop>]) -> Verdict {
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
            Outcome::Done(stop) => expected = Some((task.input, *stop)),
            Outcome::Failed(_) => return Verdict::Aligned,
            Outcome::Cancelled => unreachable!("a cancelled partition follows a failed one"),
        }
    }
    Verdict::Aligned
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::spec::parse_specs;

    /// Records whose stray quotes (`ab",` looks like a closing quote) make
    /// the speculative splitter take the newline inside `"p\nq"` for a
    /// record end whenever a cut falls before one.
    fn misleading_csv(pairs: usize) -> (tempfile::TempDir, CsvInput) {
        let mut text = String::from("k,a,b,c,d\n");
        for i in 0..pairs {
            text += &format!("k{i},1,,,\nw{i},2,ab\",c\"d,\"p\nq\"\n");
        }
        let (dir, path) = written(&text);
        let input = CsvInput::open(&path, b',').unwrap();
        (dir, input)
    }

    /// `text` written to a file in a fresh temporary folder (kept while
    /// the returned guard lives), and the file's path.
    fn written(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// The resident bytes of the mapping that starts at `at`, from
    /// `/proc/self/smaps` (Linux).
    #[cfg(target_os = "linux")]
    fn resident(at: *const u8) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{:x}-", at as usize);
        let vma = smaps.split_once(&head).expect("the mapping").1;
        let rss = vma.lines().find(|l| l.starts_with("Rss:")).unwrap();
        let kib: usize = rss.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib << 10
    }

    /// The splitter's reads around its cuts are released: each mapped a
    /// whole folio of the page cache (2 MiB on a kernel that caches files in
    /// large folios, as ext4 from Linux 6.16 and XFS do; 64 KiB of fault-
    /// around otherwise), which then stayed resident until its partition was
    /// read: Q1's peak RSS went from 74 to 135 MiB, 537 MiB with 256
    /// partitions.
    /// With the exact (sequential) split too, which reads the whole input
    /// before the map: all 48 MiB of it stayed mapped.
    #[test]
    #[cfg(target_os = "linux")]
    fn the_splitters_reads_do_not_stay_resident() {
        let mut text = String::from("id,x,note\n");
        let mut i = 0;
        while text.len() < 48 << 20 {
            text += &format!("{i},{}.25,\"note {i}, quoted\"\n", i % 1000);
            i += 1;
        }
        let (_dir, path) = written(&text);
        let parts = 64;
        type Split = fn(&CsvInput, usize, u8) -> Vec<usize>;
        let splits: [(&str, Split); 2] = [
            ("speculative", speculative_split),
            ("sequential", sequential_split),
        ];
        for (name, split) in splits {
            let input = CsvInput::open(&path, b',').unwrap();
            let bounds = split(&input, parts, b',');
            assert_eq!(bounds.len(), parts + 1);
            let resident = resident(input.bytes().as_ptr());
            // the header's page may stay: nothing near 64 folios or fault-arounds
            assert!(
                resident <= 1 << 20,
                "{name}: {resident} bytes still mapped after the split"
            );
        }
    }

    fn opts(partitions: usize, threads: usize) -> ExecOptions {
        ExecOptions {
            partitions: Some(partitions),
            threads,
            delimiter: b',',
            progress: false,
            taper: true,
        }
    }

    #[test]
    fn a_wrong_guess_maps_again_from_fresh_states() {
        let (_dir, input) = misleading_csv(500);
        let plan = Plan::new(&input.header, &parse_specs(&["count"]).unwrap(), &[]).unwrap();
        let inputs = [input];
        let attempts = AtomicUsize::new(0);
        let new_workers = |n| {
            attempts.fetch_add(1, Ordering::Relaxed);
            vec![0usize; n]
        };
        let fold = |rows: &mut usize, _: usize, _: &CsvInput, b: &Batch<'_>, _: &[usize]| {
            *rows += b.len;
            Ok(())
        };
        let pool = exec::pool(2).unwrap();
        let (tasks, workers) =
            map(&pool, &plan, &inputs, &opts(16, 2), &new_workers, &fold).unwrap();
        assert_eq!(attempts.load(Ordering::Relaxed), 2, "no re-map");
        // the answer is the exact map's alone
        assert_eq!(workers.iter().sum::<usize>(), 1000);
        let bytes = inputs[0].bytes();
        for task in &tasks[1..] {
            let at = &bytes[task.start - 1..task.start + 1];
            assert!(
                at == b"\nk" || at == b"\nw",
                "{task:?} starts inside a record"
            );
        }
    }

    #[test]
    fn a_wrong_guess_does_not_change_the_answer() {
        let (_dir, input) = misleading_csv(3000);
        let specs = parse_specs(&["count,sum:a"]).unwrap();
        let plan = Plan::new(&input.header, &specs, &["k".to_string()]).unwrap();
        let inputs = [input];
        let one = run(&plan, &inputs, &opts(1, 1)).unwrap();
        for (partitions, threads) in [(7, 2), (64, 3)] {
            let many = run(&plan, &inputs, &opts(partitions, threads)).unwrap();
            assert_eq!(many.to_rows(), one.to_rows(), "{partitions} partitions");
        }
    }

    /// The tasks `map` makes of `inputs` at 2 threads with `opts`, and the
    /// rows its workers read.
    fn tasks_and_rows(
        plan: &Plan,
        inputs: &[CsvInput],
        opts: &ExecOptions,
    ) -> (Vec<CsvTask>, usize) {
        let fold = |rows: &mut usize, _: usize, _: &CsvInput, b: &Batch<'_>, _: &[usize]| {
            *rows += b.len;
            Ok(())
        };
        let pool = exec::pool(2).unwrap();
        let (tasks, rows) = map(&pool, plan, inputs, opts, &|n| vec![0usize; n], &fold).unwrap();
        (tasks, rows.iter().sum())
    }

    /// A run with the default partitions ends on quarter tasks
    /// (`exec::taper`): the last `2 × threads` partitions are cut in four,
    /// whether the boundaries were guessed or, after a wrong guess, found
    /// by the parser; a store's split (no taper) keeps them whole. Either
    /// way the answer is the one-partition run's.
    #[test]
    fn a_run_ends_on_quarter_tasks() {
        let mut text = String::from("k,a,b,c,d\n");
        for i in 0..60_000 {
            text += &format!("k{},{i},x,\"y,\"\"z\"\"\",\r\n", i % 97);
        }
        let (_dir, path) = written(&text);
        let (_dir, misleading) = misleading_csv(35_000);
        let cases = [
            (CsvInput::open(&path, b',').unwrap(), 60_000),
            (misleading, 70_000),
        ];
        for (input, records) in cases {
            let specs = parse_specs(&["count,sum:a"]).unwrap();
            let plan = Plan::new(&input.header, &specs, &["k".to_string()]).unwrap();
            let body = input.bytes().len() - input.body_start;
            let parts = default_partitions(body, 2);
            assert!(parts >= 8, "{body} bytes: too few partitions to taper");
            let inputs = [input];
            let one = run(&plan, &inputs, &opts(1, 1)).unwrap();
            for taper in [true, false] {
                let opts = ExecOptions {
                    partitions: None,
                    taper,
                    ..opts(0, 2)
                };
                let (tasks, rows) = tasks_and_rows(&plan, &inputs, &opts);
                assert_eq!(rows, records);
                let sizes: Vec<usize> = tasks.iter().map(|t| t.end - t.start).collect();
                if taper {
                    assert_eq!(tasks.len(), parts - 4 + 16, "{sizes:?}");
                    for &quarter in &sizes[parts - 4..] {
                        let ratio = quarter as f64 / sizes[0] as f64;
                        assert!((0.2..0.3).contains(&ratio), "{sizes:?}");
                    }
                } else {
                    assert_eq!(tasks.len(), parts, "{sizes:?}");
                }
                let many = run(&plan, &inputs, &opts).unwrap();
                assert_eq!(many.to_rows(), one.to_rows(), "taper {taper}");
            }
        }
    }

    /// A run over a file read from disk keeps its partitions whole: its
    /// small tasks would each ask the disk for a quarter of what a
    /// partition asks for (`tapers`).
    #[test]
    #[cfg(target_os = "linux")]
    fn a_run_from_disk_keeps_its_partitions_whole() {
        use std::os::fd::AsRawFd;

        let mut text = String::from("k,a\n");
        for i in 0..200_000 {
            text += &format!("k{},{i}\n", i % 97);
        }
        let (_dir, path) = written(&text);
        let input = CsvInput::open(&path, b',').unwrap();
        // evicted once opened: reading the header reads ahead
        let file = std::fs::File::open(&path).unwrap();
        file.sync_all().unwrap();
        // SAFETY: an advice on the test's own open file; no contents change.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
        let body = input.bytes().len() - input.body_start;
        if input.is_cached(input.body_start + body / 2, input.bytes().len()) {
            eprintln!("the file system kept the evicted pages: nothing to check");
            return;
        }
        let parts = default_partitions(body, 2);
        let plan = Plan::new(&input.header, &parse_specs(&["sum:a"]).unwrap(), &[]).unwrap();
        let opts = ExecOptions {
            partitions: None,
            ..opts(0, 2)
        };
        let (tasks, rows) = tasks_and_rows(&plan, &[input], &opts);
        assert_eq!(rows, 200_000);
        assert_eq!(tasks.len(), parts);
    }

    #[test]
    fn tapered_tasks_group_whole_pieces() {
        let bounds: Vec<usize> = (0..=12).map(|i| i * 10).collect();
        assert_eq!(
            tapered(&bounds, &[4, 4, 1, 1, 1, 1]),
            vec![0, 40, 80, 90, 100, 110, 120]
        );
        // a split that merged pieces: its ranges as they are
        assert_eq!(
            tapered(&[0, 50, 120], &[4, 4, 1, 1, 1, 1]),
            vec![0, 50, 120]
        );
    }

    #[test]
    fn default_partition_counts() {
        assert_eq!(default_partitions(0, 8), 1);
        assert_eq!(default_partitions(500_000, 8), 1);
        assert_eq!(default_partitions(4 << 20, 2), 8);
        assert_eq!(default_partitions(1_100_000_000, 2), 32);
        assert_eq!(default_partitions(usize::MAX / 2, 2), 4096);
    }

    #[test]
    fn the_coarsening_note_says_what_was_done() {
        let rule = "(an input is cut into more than 4096 partitions only as far as each \
                    holds 64 KiB)";
        let note = |requested, bodies: &[usize]| note_for_bodies(requested, bodies);
        assert_eq!(note(4096, &[175]), None);
        assert_eq!(note(64, &[175, 300 << 20]), None);
        assert_eq!(
            note(4097, &[175]).unwrap(),
            format!("--partitions 4097 coarsened to 4096 {rule}")
        );
        assert_eq!(
            note(1_000_000, &[300 << 20]).unwrap(),
            format!("--partitions 1000000 coarsened to 4800 {rule}")
        );
        // only the smaller input: said so (the largest count made was the
        // one asked for, and nothing was said)
        assert_eq!(
            note(4097, &[300 << 20, 175]).unwrap(),
            format!("--partitions 4097 coarsened to 4096 for 1 of 2 inputs {rule}")
        );
        assert_eq!(
            note(5000, &[175, 300 << 20, 1 << 40]).unwrap(),
            format!(
                "--partitions 5000 coarsened to between 4096 and 4800 for 2 of 3 inputs {rule}"
            )
        );
        // no mapped input (a stream alone): nothing to coarsen
        assert_eq!(note(5000, &[]), None);
    }

    #[test]
    fn partitions_are_coarsened_only_past_the_point_of_use() {
        assert_eq!(useful_partitions(64, 100), 64);
        assert_eq!(useful_partitions(7, 100), 7);
        assert_eq!(useful_partitions(1_000_000, 100), 4096);
        assert_eq!(useful_partitions(1_000_000, 300 << 20), 4800);
        assert_eq!(useful_partitions(1000, 300 << 20), 1000);
    }
}
