//! `rayproc map` and `rayproc reduce`: one query cut into N parts that any
//! scheduler can run on any machine, and the merge of their partial
//! results into the table `rayproc run` prints, byte for byte.
//!
//! **Parts.** Part `I` of `N` is a fixed share of the inputs, decided by
//! the inputs alone, so that maps run anywhere, in any order, agree on it
//! without talking to each other:
//! - CSV files are laid end to end (their bodies, headers left out) and
//!   cut at `total * I / N` bytes. Inside a file, a cut moves to the next
//!   record boundary as `run` finds its partition boundaries
//!   ([`split::boundaries_at`]): guessed from a little look-ahead, so a
//!   map reads only its share. A compressed file cannot be entered in the
//!   middle: it belongs whole to the part where it starts.
//! - Parquet and Arrow IPC files: their row groups or record batches, laid
//!   end to end and cut by count. A store: its partition files.
//!
//! **Checking the guesses.** A guessed cut can be wrong (for malformed
//! quoting, or quoted line breaks that the look-ahead cannot place: see
//! [`split`]). Each map records, per byte range it read, where its
//! last record ended; the reducer checks that every range of a file starts
//! where the one before it stopped, as `run` checks its partitions. Where
//! one does not, the reducer maps the parts on both sides of that cut
//! again with boundaries found by the parser (exact cuts, which all maps
//! agree on), until every cut meets: the answer is never silently wrong,
//! only such files pay twice. A map that meets a bad record checks its own
//! start the same way before it reports the error, so that an error is
//! never an artefact of a wrong guess.
//!
//! **What a partial holds** is in [`envelope`] (the file) and
//! `docs/partials.md`: the plan as written, the inputs' identity (size,
//! modification time, a hash of their ends), the parts covered, and the
//! exact aggregate states. The reducer refuses partials of another plan or
//! of changed inputs, a part given twice or missing, and damaged files.
//!
//! **Text and numbers in one column.** `min`/`max` bet that a column is
//! numeric and keep only numbers; a part that finds text in such a column
//! maps itself again keeping the text of every value
//! (`Plan::text_extremes`), as `run` does. A column numeric in one part
//! and text in another is found only by the reducer: it then maps the
//! parts that kept no text again (rare: `run` pays the same twice).
//! Inputs read as streams (compressed files) always keep the text.

pub mod envelope;

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::xxh3::Xxh3;
use rayon::prelude::*;

use crate::error::{show_name, show_path, Error, Result};
use crate::exec::ExecOptions;
use crate::partial::{Partial, Table};
use crate::plan::Plan;
use crate::query::{self, Inputs, Query, Source};
use crate::source::csv_run::{self, CsvTask};
use crate::source::typed::{self, TypedTask};
use crate::source::{dataset, split, stream, CsvInput};
use crate::store::StoreRunOptions;

use envelope::{Body, InputId, Piece, PlanText, SourceKind};
pub use envelope::{Header, PartialFile};

/// The most parts a query may be cut into.
pub const MAX_PARTS: usize = 1_000_000;

/// Part `index` (0-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub index: usize,
    pub count: usize,
}

impl Part {
    /// Parses `I/N` (`--part`).
    pub fn parse(text: &str) -> Result<Part> {
        let bad = || {
            Error::Usage(format!(
                "--part must be I/N with 0 <= I < N <= {MAX_PARTS} (part I of N, counted from \
                 0), not {text:?}"
            ))
        };
        // digits only, as clap reads --threads and --partitions: `usize`'s
        // parse takes a `+`, and blanks were trimmed
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<usize>().ok())
                .flatten()
                .ok_or_else(bad)
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (number(i)?, number(n)?);
        if index >= count || count > MAX_PARTS {
            return Err(bad());
        }
        Ok(Part { index, count })
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `rayproc map`: the partial result of one part of a query. `check` is
/// called once the inputs are open, before any of their data is read (an
/// output that would replace an input is refused then).
pub fn map(query: &Query, part: Part, check: &dyn Fn() -> Result<()>) -> Result<PartialFile> {
    // A part is a byte range of each input, read by position: a stream
    // (standard input, `/dev/stdin`, a pipe as `<(...)`, a FIFO) has no
    // positions, and its bytes can be read only once. Told by what the
    // path is, not by its text: `/dev/stdin` read as a file was an empty
    // part (a count of 0, exit 0), and a FIFO was opened a second time,
    // waiting for a writer that never came.
    if let Source::Files(args) = &query.source {
        if let Some(a) = args.iter().find(|a| stream::is_streamed(a)) {
            let what = if a.as_os_str() == "-" {
                "standard input".to_string()
            } else {
                format!("{} is a pipe, FIFO or device: it", show_path(a))
            };
            return Err(Error::Usage(format!(
                "map reads files: {what} cannot be cut into parts (save it to a file first)"
            )));
        }
    }
    map_part(query, &[part.index], part.count, false, false, check)
}

/// Maps `parts` of `count` into one partial; `exact`: every CSV cut is
/// found by the parser rather than guessed; `text`: keep the text of
/// `min`/`max` values (else only where this part needs it); `check`: see
/// [`map`].
fn map_part(
    query: &Query,
    parts: &[usize],
    count: usize,
    exact: bool,
    text: bool,
    check: &dyn Fn() -> Result<()>,
) -> Result<PartialFile> {
    let prepared = query::prepare(query)?;
    check()?;
    let streamed = match prepared.inputs() {
        Inputs::Csv(csv) => csv.iter().any(CsvInput::is_stream),
        _ => false,
    };
    let plan = Plan {
        text_extremes: text || streamed,
        ..prepared.plan().clone()
    };
    let threads = prepared.threads();
    let (args, inputs) = identity(query)?;
    let mut pieces = Vec::new();
    let mut bodies = Vec::new();
    let mut read = || -> Result<(SourceKind, Partial)> {
        Ok(match prepared.inputs() {
            Inputs::Csv(csv) => {
                bodies = csv_bodies(csv)?;
                let mut partials = Vec::new();
                for &index in parts {
                    let part = Part { index, count };
                    let cut = csv_part(&plan, csv, &bodies, part, exact, &prepared.exec_options())?;
                    partials.push(cut.0);
                    pieces.extend(cut.1);
                }
                (SourceKind::Csv, merge_flat(&plan, partials))
            }
            Inputs::Typed(typed_inputs) => {
                let units = typed::units(typed_inputs);
                let mut tasks = Vec::new();
                for &index in parts {
                    for (input, range) in unit_share(&units, Part { index, count }) {
                        pieces.push(Piece {
                            part: index,
                            input,
                            start: range.start as u64,
                            end: range.end as u64,
                            stop: range.end as u64,
                            exact: true,
                        });
                        tasks.extend(range.map(|u| TypedTask {
                            input,
                            units: u..u + 1,
                        }));
                    }
                }
                let partial = typed::partial(&plan, typed_inputs, &tasks, threads)?;
                (SourceKind::Typed, partial)
            }
            Inputs::Store(store) => {
                let files = store.partitions();
                let verify = matches!(query.source, Source::Store { verify: true, .. });
                let mut partials = Vec::new();
                for &index in parts {
                    let range = files * index / count..files * (index + 1) / count;
                    pieces.push(Piece {
                        part: index,
                        input: 0,
                        start: range.start as u64,
                        end: range.end as u64,
                        stop: range.end as u64,
                        exact: true,
                    });
                    let opts = StoreRunOptions {
                        threads,
                        progress: false,
                        verify,
                    };
                    partials.push(store.partial(&plan, range, &opts)?);
                }
                (SourceKind::Store, merge_flat(&plan, partials))
            }
        })
    };
    // an input that changed while it was read makes a partial of neither
    // version (and the identity recorded before the read would not tell)
    let (source, partial) = prepared.inputs().unless_changed(read())?;
    if !plan.text_extremes && !partial.complete(&plan) {
        // a min/max column of this part holds text: keep every value's text
        drop(prepared);
        return map_part(query, parts, count, exact, true, check);
    }
    let mut body = Vec::new();
    partial.encode(&mut body);
    let header = Header {
        plan: plan_text(query, &plan),
        source,
        args,
        inputs,
        bodies,
        parts: count,
        covered: parts.to_vec(),
        pieces,
        text_extremes: plan.text_extremes,
    };
    Ok(PartialFile { header, body })
}

/// Merges partials that may each come from [`Partial::merge_all`] (which
/// merges only unmerged ones) into one, flattened through its byte form.
fn merge_flat(plan: &Plan, mut partials: Vec<Partial>) -> Partial {
    if partials.len() == 1 {
        return partials.pop().expect("one partial");
    }
    let flat = partials
        .into_iter()
        .map(|p| {
            let mut bytes = Vec::new();
            p.encode(&mut bytes);
            Partial::decode(plan, &bytes).expect("a partial decodes its own encoding")
        })
        .collect();
    Partial::merge_all(plan, flat)
}

/// The query as written, for the header.
fn plan_text(query: &Query, plan: &Plan) -> PlanText {
    PlanText {
        agg: query.specs.iter().map(|s| s.text.clone()).collect(),
        by: query.by.iter().map(|c| c.text.clone()).collect(),
        // canonical, its columns named as the header needs them
        // (`Expr::canonical`): parts mapped with `x>0` and `x > 0` answer
        // one query, and merge; `"k"#2` and a column literally called
        // `k#2` stay apart
        filter: (query.filter.as_ref())
            .map(|f| f.canonical(&plan.header).unwrap_or_else(|| f.to_string())),
        delimiter: query.delimiter.unwrap_or(b','),
        no_header: query.no_header,
        nulls: plan.nulls.clone(),
        columns: plan.header.clone(),
    }
}

/// The inputs as given, and the identity of every file they name.
fn identity(query: &Query) -> Result<(Vec<String>, Vec<InputId>)> {
    match &query.source {
        Source::Files(args) => {
            let (files, _) = dataset::expand_all(args)?;
            let ids = files
                .par_iter()
                .map(|f| file_identity(&f.path))
                .collect::<Result<Vec<_>>>()?;
            let args = args.iter().map(|a| a.display().to_string()).collect();
            Ok((args, ids))
        }
        Source::Store { dir, .. } => {
            let store = crate::store::Store::open(dir)?;
            let manifest = serde_json::to_vec(&store.manifest).expect("plain data serialises");
            let id = InputId {
                path: dir.display().to_string(),
                size: store.manifest.bytes,
                mtime_ns: 0,
                sample: format!("{:016x}", crate::xxh3::xxh3_64(&manifest)),
            };
            Ok((vec![dir.display().to_string()], vec![id]))
        }
    }
}

/// Size, modification time and a hash of the first and last 64 KiB.
fn file_identity(path: &Path) -> Result<InputId> {
    const SPAN: u64 = 64 << 10;
    let io = |e| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    let size = meta.len();
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; SPAN.min(size) as usize];
    file.read_exact(&mut buf).map_err(io)?;
    hasher.update(&buf);
    if size > SPAN {
        let tail = SPAN.min(size - SPAN);
        file.seek(SeekFrom::Start(size - tail)).map_err(io)?;
        buf.resize(tail as usize, 0);
        file.read_exact(&mut buf).map_err(io)?;
        hasher.update(&buf);
    }
    Ok(InputId {
        path: path.display().to_string(),
        size,
        mtime_ns,
        sample: format!("{:016x}", hasher.digest()),
    })
}

/// Each CSV input's body; a streamed (compressed) input is one whole unit
/// whose size is its file's.
fn csv_bodies(inputs: &[CsvInput]) -> Result<Vec<Body>> {
    inputs
        .iter()
        .map(|input| {
            if input.is_stream() {
                // the file itself: its name as messages show it is no path
                // where it is not UTF-8
                let path = input.reopen.as_deref().unwrap_or(Path::new(&input.name));
                let len = std::fs::metadata(path)
                    .map_err(|e| Error::io(path, e))?
                    .len();
                Ok(Body {
                    name: input.name.clone(),
                    body_start: 0,
                    len,
                    whole: true,
                })
            } else {
                Ok(Body {
                    name: input.name.clone(),
                    body_start: input.body_start as u64,
                    len: input.bytes().len() as u64,
                    whole: false,
                })
            }
        })
        .collect()
}

/// Offset `total * i / n` without overflow.
fn cut_at(total: u64, i: usize, n: usize) -> u64 {
    (total as u128 * i as u128 / n as u128) as u64
}

/// One part of CSV inputs: its partial and the pieces it read.
fn csv_part(
    plan: &Plan,
    inputs: &[CsvInput],
    bodies: &[Body],
    part: Part,
    exact: bool,
    opts: &ExecOptions,
) -> Result<(Partial, Vec<Piece>)> {
    let sizes: Vec<u64> = bodies.iter().map(|b| b.len - b.body_start).collect();
    let total: u64 = sizes.iter().sum();
    let (lo, hi) = (
        cut_at(total, part.index, part.count),
        cut_at(total, part.index + 1, part.count),
    );
    let mut pieces = Vec::new();
    let mut whole = Vec::new();
    let mut base = 0u64;
    for (k, (body, &size)) in bodies.iter().zip(&sizes).enumerate() {
        let (from, to) = (base, base + size);
        base = to;
        if body.whole {
            if (lo..hi).contains(&from) {
                whole.push(k);
            }
            continue;
        }
        if lo.max(from) >= hi.min(to) {
            continue; // no byte of this body in the part
        }
        // every cut up to the part's end, inside this body: the boundaries
        // never decrease, so each depends on the cuts before it alone
        let points: Vec<usize> = (0..=part.index + 1)
            .map(|j| {
                let c = cut_at(total, j, part.count).clamp(from, to);
                (body.body_start + (c - from)) as usize
            })
            .collect();
        let input = &inputs[k];
        let bounds = split::boundaries_at(
            input.bytes(),
            input.body_start,
            &points,
            opts.delimiter,
            exact,
        );
        let (start, end) = (bounds[part.index], bounds[part.index + 1]);
        if start < end {
            pieces.push(Piece {
                part: part.index,
                input: k,
                start: start as u64,
                end: end as u64,
                stop: end as u64,
                exact,
            });
        }
    }
    let (partial, stops) = match read_pieces(plan, inputs, &pieces, opts, exact)? {
        PieceRead::Done(partial, stops) => (*partial, stops),
        PieceRead::Failed(input, at, e) => {
            // an error is genuine only if its range started on a record
            // boundary; else the cuts were guessed wrong: map exactly
            let body = &bodies[input];
            let genuine =
                at as u64 == body.body_start || is_record_start(&inputs[input], at, opts.delimiter);
            if exact || genuine {
                return Err(e);
            }
            return csv_part(plan, inputs, bodies, part, true, opts);
        }
    };
    for (piece, stop) in pieces.iter_mut().zip(stops) {
        piece.stop = stop as u64;
    }
    let mut partials = vec![partial];
    for k in whole {
        partials.push(stream::partial(plan, &inputs[k], opts)?);
        pieces.push(Piece {
            part: part.index,
            input: k,
            start: 0,
            end: bodies[k].len,
            stop: bodies[k].len,
            exact: true,
        });
    }
    pieces.sort_by_key(|p| (p.input, p.start));
    Ok((merge_flat(plan, partials), pieces))
}

/// How many ranges [`read_pieces`] reads a piece of `bytes` as.
fn ranges_of_piece(bytes: usize, threads: usize, exact: bool) -> usize {
    const MIN_RANGE: usize = 1 << 20;
    match exact {
        true => 1,
        false => (csv_run::default_partitions(bytes, threads))
            .min(bytes / MIN_RANGE)
            .max(1),
    }
}

/// How reading a part's pieces ended.
enum PieceRead {
    /// The partial, and where each piece's last record ended.
    Done(Box<Partial>, Vec<usize>),
    /// The earliest bad record: its input, the start of the range it was
    /// read from, and the error.
    Failed(usize, usize, Error),
}

/// Reads `pieces`, each cut further into ranges as `run` cuts an input
/// ([`csv_run::default_partitions`]: about 32 MiB, four a thread at
/// least; guessed boundaries, checked against where each range stopped; a
/// piece whose inner cuts do not meet is read again whole). With `exact`,
/// each piece is one range: an error then needs no checking.
///
/// Not one range per thread: a range's mapped pages are let go when it is
/// read, so a part of 1 GiB read as two ranges held 860 MiB resident
/// where `run` holds 75, and the threads finished apart.
fn read_pieces(
    plan: &Plan,
    inputs: &[CsvInput],
    pieces: &[Piece],
    opts: &ExecOptions,
    exact: bool,
) -> Result<PieceRead> {
    let mut tasks = Vec::new();
    let mut owner = Vec::new();
    for (p, piece) in pieces.iter().enumerate() {
        let (start, end) = (piece.start as usize, piece.end as usize);
        let ranges = ranges_of_piece(end - start, opts.threads, exact);
        let input = &inputs[piece.input];
        let points: Vec<usize> = (0..=ranges)
            .map(|i| start + (end - start) * i / ranges)
            .collect();
        let bounds =
            split::boundaries_at(&input.bytes()[..end], start, &points, opts.delimiter, false);
        for w in bounds.windows(2) {
            tasks.push(CsvTask {
                input: piece.input,
                start: w[0],
                end: w[1].max(w[0]),
            });
            owner.push(p);
        }
    }
    let (partial, stops) = match csv_run::partial_of_ranges(plan, inputs, &tasks, opts) {
        Ok(done) => done,
        Err((t, e)) => return Ok(PieceRead::Failed(tasks[t].input, tasks[t].start, e)),
    };
    // the inner cuts of each piece must meet, as `run`'s partitions must
    let mut piece_stops = vec![0usize; pieces.len()];
    let mut inner_ok = true;
    for t in 0..tasks.len() {
        let same_next = t + 1 < tasks.len() && owner[t + 1] == owner[t];
        if same_next && stops[t] != tasks[t + 1].start {
            inner_ok = false;
        }
        piece_stops[owner[t]] = stops[t];
    }
    if inner_ok || tasks.len() == pieces.len() {
        return Ok(PieceRead::Done(Box::new(partial), piece_stops));
    }
    // read every piece whole: one range each
    let whole: Vec<CsvTask> = pieces
        .iter()
        .map(|p| CsvTask {
            input: p.input,
            start: p.start as usize,
            end: p.end as usize,
        })
        .collect();
    match csv_run::partial_of_ranges(plan, inputs, &whole, opts) {
        Ok((partial, stops)) => Ok(PieceRead::Done(Box::new(partial), stops)),
        Err((t, e)) => Ok(PieceRead::Failed(whole[t].input, whole[t].start, e)),
    }
}

/// Whether a record starts at `at` in `input`, by the parser (a scan from
/// the body start: on the error path only).
fn is_record_start(input: &CsvInput, at: usize, delimiter: u8) -> bool {
    let bounds = split::boundaries_at(input.bytes(), input.body_start, &[at], delimiter, true);
    bounds[0] == at
}

/// The units (row groups, record batches) of part `part`, by input: the
/// units of all inputs laid end to end and cut by count.
fn unit_share(units: &[usize], part: Part) -> Vec<(usize, std::ops::Range<usize>)> {
    let total: usize = units.iter().sum();
    let lo = total * part.index / part.count;
    let hi = total * (part.index + 1) / part.count;
    let mut share = Vec::new();
    let mut base = 0;
    for (input, &n) in units.iter().enumerate() {
        let (from, to) = (lo.max(base), hi.min(base + n));
        if from < to {
            share.push((input, from - base..to - base));
        }
        base += n;
    }
    share
}

/// `rayproc reduce`: what to merge and into what.
#[derive(Debug, Clone)]
pub struct Reduce {
    /// Partial files (`-`: standard input, once).
    pub partials: Vec<PathBuf>,
    /// Merge into one partial (a step of a tree reduction) rather than
    /// finish: parts may then be missing.
    pub merge_only: bool,
    pub threads: Option<usize>,
    pub quiet: bool,
}

/// What [`reduce`] made.
pub enum Reduced {
    /// The result, and the name of the input column behind each of its
    /// columns, where there is one (what `run` names in an error about a
    /// value of the result: [`crate::output::utf8`]).
    Table(Table, Vec<Option<String>>),
    Partial(PartialFile),
}

/// One partial file read, and its name.
struct Unit {
    /// The partial's file, as messages show it.
    name: String,
    file: PartialFile,
}

/// `rayproc reduce`: checks that the partials belong together, repairs
/// wrongly guessed cuts (see the module doc), and merges them.
pub fn reduce(request: &Reduce) -> Result<Reduced> {
    query::check_stdin_once(&request.partials)?;
    let threads = query::threads(request.threads, request.quiet);
    let mut units = read_units(&request.partials)?;
    let first = &units[0];
    let reference = first.file.header.clone();
    check_header(&reference).map_err(|why| Error::Other(format!("{}: {why}", first.name)))?;
    for unit in &units[1..] {
        if let Some(why) = reference.mismatch(&unit.file.header) {
            return Err(Error::Other(format!(
                "{}: cannot be merged with {}: {why}",
                unit.name, first.name
            )));
        }
    }
    check_coverage(&units, &reference, request.merge_only)?;
    let query = query_of(&reference, &units[0].name, threads)?;
    // the cuts are checked once every part is there and mapped for good
    let check_cuts = !request.merge_only && reference.source == SourceKind::Csv;
    let pool = crate::exec::pool(threads)?;
    // Partials merge only with partials of the same min/max states, and a
    // part mapped again may keep text where it did not: settle both until
    // nothing changes (a map keeping text is never mapped again without).
    let mut rounds = 0;
    let merged = loop {
        rounds += 1;
        if rounds > 4 {
            return Err(Error::Other(
                "internal error: the partials did not settle".into(),
            ));
        }
        let keeps_text = |units: &[Unit]| units.iter().any(|u| u.file.header.text_extremes);
        if keeps_text(&units) {
            keep_text(&mut units, &reference, &query, request.quiet)?;
        }
        if check_cuts {
            repair_cuts(&mut units, &reference, &query, request.quiet)?;
        }
        let text = keeps_text(&units);
        if units.iter().any(|u| u.file.header.text_extremes != text) {
            continue;
        }
        let merged = merge_units(&units, &reference, &pool, threads)?;
        if !request.merge_only && !text {
            let plan = plan_of(&reference, &units[0].name, false)?;
            if !merged.complete(&plan) {
                keep_text(&mut units, &reference, &query, request.quiet)?;
                continue;
            }
        }
        break merged;
    };
    let text = units.iter().any(|u| u.file.header.text_extremes);
    let prepared_plan = plan_of(&reference, &units[0].name, text)?;
    let plan = &prepared_plan;
    if request.merge_only {
        let mut covered: Vec<usize> = units
            .iter()
            .flat_map(|u| u.file.header.covered.iter().copied())
            .collect();
        covered.sort_unstable();
        let mut pieces: Vec<Piece> = units
            .iter()
            .flat_map(|u| u.file.header.pieces.iter().copied())
            .collect();
        pieces.sort_by_key(|p| (p.input, p.start, p.part));
        let mut body = Vec::new();
        merged.encode(&mut body);
        let header = Header {
            covered,
            pieces,
            text_extremes: text,
            ..reference
        };
        return Ok(Reduced::Partial(PartialFile { header, body }));
    }
    if !merged.complete(plan) {
        return Err(Error::Other(
            "internal error: a partial kept no text extremes".into(),
        ));
    }
    let table = pool.install(|| merged.finish(plan));
    let sources = (0..table.columns.len())
        .map(|c| Some(plan.slot_names[plan.input_slot(c)?].clone()))
        .collect();
    Ok(Reduced::Table(table, sources))
}

/// Merges the units' partials: each thread absorbs its share as it
/// decodes them, then the threads' partials merge. The units must agree on
/// `text_extremes`.
fn merge_units(
    units: &[Unit],
    header: &Header,
    pool: &rayon::ThreadPool,
    threads: usize,
) -> Result<Partial> {
    let text = units.iter().any(|u| u.file.header.text_extremes);
    let plan = &plan_of(header, &units[0].name, text)?;
    pool.install(|| -> Result<Partial> {
        let share = units.len().div_ceil(threads.max(1));
        let partials = units
            .par_chunks(share)
            .map(|chunk| {
                let mut total = Partial::new(plan);
                for u in chunk {
                    total
                        .absorb_encoded(plan, &u.file.body)
                        .map_err(|e| Error::Other(format!("{}: corrupted partial: {e}", u.name)))?;
                }
                Ok(total)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Partial::merge_all(plan, partials))
    })
}

/// Maps again, keeping the text of `min`/`max` values, every unit that
/// kept none: a column was text in some part and numeric in another.
fn keep_text(units: &mut [Unit], header: &Header, query: &Query, quiet: bool) -> Result<()> {
    let redo: Vec<usize> = (0..units.len())
        .filter(|&i| !units[i].file.header.text_extremes)
        .collect();
    if redo.is_empty() {
        return Ok(());
    }
    if !quiet {
        crate::say!(
            "rayproc: note: mapping {} of {} partials again keeping the text of min/max values: \
             a column is text in some parts and numbers in others",
            redo.len(),
            units.len()
        );
    }
    for i in redo {
        let unit = &mut units[i];
        let old = &unit.file.header;
        // (cuts are checked after this, as for the first maps)
        let exact = !old.pieces.is_empty() && old.pieces.iter().all(|p| p.exact);
        let file = map_part(query, &old.covered, header.parts, exact, true, &|| Ok(()))?;
        if let Some(why) = header.mismatch(&file.header) {
            return Err(Error::Other(format!(
                "{}: cannot map part {} again: {why}",
                unit.name, old.covered[0]
            )));
        }
        unit.file = file;
    }
    Ok(())
}

fn read_units(paths: &[PathBuf]) -> Result<Vec<Unit>> {
    if paths.is_empty() {
        return Err(Error::Usage("no partial: give at least one file".into()));
    }
    paths
        .par_iter()
        .map(|path| {
            let (name, bytes) = if path.as_os_str() == "-" {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io("<stdin>", e))?;
                ("<stdin>".to_string(), bytes)
            } else {
                let name = show_path(path).into_owned();
                let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                // noted as read, so that no output of this reduce replaces it
                let _ = crate::source::unchanged::FileState::of(&file, path, &name, false);
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)
                    .map_err(|e| Error::io(path, e))?;
                (name, bytes)
            };
            let file = PartialFile::from_bytes(&bytes)
                .map_err(|why| Error::Other(format!("{name}: {why}")))?;
            Ok(Unit { name, file })
        })
        .collect()
}

/// What the rest of the reduce relies on in a header (which comes from
/// another machine): a part count `map` could have made, a store named by
/// one path, a delimiter `--delimiter` accepts.
fn check_header(header: &Header) -> std::result::Result<(), String> {
    if header.parts == 0 || header.parts > MAX_PARTS {
        return Err(format!("bad header: {} parts", header.parts));
    }
    if header.source == SourceKind::Store && header.args.len() != 1 {
        return Err("bad header: a store is one directory".into());
    }
    if matches!(header.plan.delimiter, b'"' | b'\n' | b'\r') {
        return Err("bad header: the delimiter cannot be a quote or a line end".into());
    }
    Ok(())
}

/// Every part at most once, and with `complete`, every part.
fn check_coverage(units: &[Unit], reference: &Header, merge_only: bool) -> Result<()> {
    let n = reference.parts;
    let mut holder: Vec<Option<&str>> = vec![None; n];
    for unit in units {
        for &p in &unit.file.header.covered {
            let slot = holder
                .get_mut(p)
                .ok_or_else(|| Error::Other(format!("{}: names part {p} of {n}", unit.name)))?;
            if let Some(other) = slot {
                return Err(Error::Other(format!(
                    "{}: part {p}/{n} is also in {other}: each part must be given once",
                    unit.name
                )));
            }
            *slot = Some(&unit.name);
        }
    }
    if !merge_only {
        let missing: Vec<String> = (0..n)
            .filter(|&p| holder[p].is_none())
            .map(|p| format!("{p}/{n}"))
            .collect();
        if !missing.is_empty() {
            let shown = missing.iter().take(10).cloned().collect::<Vec<_>>();
            return Err(Error::Other(format!(
                "parts missing: {}{} ({} of {n} parts given); map every part, or merge \
                 with --emit-partial",
                shown.join(", "),
                if missing.len() > 10 { ", ..." } else { "" },
                n - missing.len()
            )));
        }
    }
    Ok(())
}

/// The query of a partial's header, to map a part again.
fn query_of(header: &Header, name: &str, threads: usize) -> Result<Query> {
    let bad = |e: Error| Error::Other(format!("{name}: bad query in the header: {e}"));
    let specs = crate::spec::parse_specs(&header.plan.agg).map_err(bad)?;
    let by = crate::spec::parse_columns(&header.plan.by, "--by").map_err(bad)?;
    let filter = (header.plan.filter.as_deref())
        .map(crate::filter::parse)
        .transpose()
        .map_err(|e| bad(e.into()))?;
    let source = match header.source {
        SourceKind::Store => Source::Store {
            dir: PathBuf::from(&header.args[0]),
            allow_stale: true,
            verify: true,
        },
        _ => Source::Files(header.args.iter().map(PathBuf::from).collect()),
    };
    let mut query = Query::new(source, specs);
    query.by = by;
    query.filter = filter;
    query.delimiter = Some(header.plan.delimiter);
    query.no_header = header.plan.no_header;
    query.nulls = header.plan.nulls.clone();
    query.threads = Some(threads);
    query.quiet = true;
    Ok(query)
}

/// The plan of a partial's header, resolved against its columns, with
/// `min`/`max` keeping text or not.
fn plan_of(header: &Header, name: &str, text_extremes: bool) -> Result<Plan> {
    let query = query_of(header, name, 1)?;
    let plan = Plan::resolve_where(
        &header.plan.columns,
        &query.specs,
        &query.by,
        query.filter.as_ref(),
    )
    .map_err(|e| Error::Other(format!("{name}: bad query in the header: {e}")))?;
    Ok(Plan {
        text_extremes,
        nulls: header.plan.nulls.clone(),
        ..plan
    })
}

/// The parts next to a CSV cut where a range did not start where the one
/// before it stopped, and the parts between them: a part whose range in
/// a file was empty (its two cuts guessed at the same place) records no
/// piece there, yet its exact cuts may differ.
fn misaligned_parts(units: &[Unit], header: &Header) -> Result<BTreeSet<usize>> {
    let mut bad = BTreeSet::new();
    for (k, body) in header.bodies.iter().enumerate() {
        if body.whole {
            continue;
        }
        let mut pieces: Vec<&Piece> = units
            .iter()
            .flat_map(|u| u.file.header.pieces.iter())
            .filter(|p| p.input == k)
            .collect();
        pieces.sort_by_key(|p| (p.start, p.part));
        let mut cursor = body.body_start;
        let mut before: Option<&Piece> = None;
        for piece in pieces {
            if piece.start != cursor {
                let from = before.map_or(0, |b| b.part.min(piece.part));
                bad.extend(from..=piece.part.max(from));
            }
            cursor = piece.stop;
            before = Some(piece);
        }
        if cursor != body.len {
            match before {
                Some(b) => bad.extend(b.part..header.parts),
                None => {
                    return Err(Error::Other(format!(
                        "internal error: no part read {}",
                        show_name(&body.name)
                    )))
                }
            }
        }
    }
    Ok(bad)
}

/// Maps again, with exact cuts, every partial holding a part next to a
/// cut that did not meet, until all meet (see the module doc).
///
/// A part is known to have exact cuts when it holds a piece marked exact,
/// or when this repair mapped it again. A part whose range was empty holds
/// no piece, so its pieces alone cannot say: counting such a part as exact
/// (every one of its none is) made a misaligned run of guessed empty parts
/// an "internal error" instead of a part to map again. Each round maps at
/// least one part not yet known exact, so the rounds end.
fn repair_cuts(units: &mut Vec<Unit>, header: &Header, query: &Query, quiet: bool) -> Result<()> {
    let mut remapped = BTreeSet::new();
    loop {
        let bad = misaligned_parts(units, header)?;
        if bad.is_empty() {
            return Ok(());
        }
        // A part with exact cuts is right whatever its neighbours say: of
        // the parts beside a cut that does not meet, only the guessed ones
        // are mapped again (mapping the exact ones again too mapped parts
        // twice, and said so twice, when a repaired part's exact cut then
        // disagreed with a neighbour's guess).
        let known_exact = |u: &Unit| {
            let h = &u.file.header;
            (h.covered.iter()).all(|&part| {
                remapped.contains(&part) || h.pieces.iter().any(|p| p.part == part && p.exact)
            })
        };
        let (redo, keep): (Vec<Unit>, Vec<Unit>) =
            std::mem::take(units).into_iter().partition(|u| {
                u.file.header.covered.iter().any(|p| bad.contains(p)) && !known_exact(u)
            });
        *units = keep;
        if redo.is_empty() {
            return Err(Error::Other(
                "internal error: exact part boundaries failed validation".into(),
            ));
        }
        if !quiet {
            let shown: Vec<String> = (redo.iter())
                .flat_map(|u| u.file.header.covered.iter())
                .map(|p| format!("{p}/{}", header.parts))
                .collect();
            crate::say!(
                "rayproc: note: mapping part{} {} again with exact record boundaries: a guessed \
                 cut fell inside a quoted field (quoted line breaks, or malformed quoting, can \
                 mislead the guess; the answer is the same)",
                if shown.len() == 1 { "" } else { "s" },
                shown.join(", ")
            );
        }
        for unit in redo {
            let parts = &unit.file.header.covered;
            let text = unit.file.header.text_extremes;
            let file = map_part(query, parts, header.parts, true, text, &|| Ok(()))?;
            remapped.extend(parts.iter().copied());
            if let Some(why) = header.mismatch(&file.header) {
                return Err(Error::Other(format!(
                    "{}: cannot map part {} again: {why}",
                    unit.name, parts[0]
                )));
            }
            units.push(Unit {
                name: unit.name,
                file,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_parse() {
        assert_eq!(Part::parse("0/1").unwrap(), Part { index: 0, count: 1 });
        assert_eq!(Part::parse("7/8").unwrap(), Part { index: 7, count: 8 });
        assert_eq!(Part::parse("007/08").unwrap(), Part { index: 7, count: 8 });
        for bad in [
            "8/8",
            "1",
            "-1/3",
            "a/b",
            "1/0",
            "0/2000000",
            " 0/1",
            "0/1 ",
            "0 / 1",
            "+0/1",
            "0/+1",
            "/1",
            "0/",
            "0/1/2",
            "٣/4",
        ] {
            assert!(Part::parse(bad).is_err(), "{bad}");
        }
    }

    /// A part is read in ranges of about 32 MiB, as `run` reads an input,
    /// each let go when read: one range per thread held nearly all of a
    /// 1 GiB part resident (860 MiB against `run`'s 75).
    #[test]
    fn a_piece_is_read_in_ranges_of_about_32_mib() {
        const MIB: usize = 1 << 20;
        assert_eq!(ranges_of_piece(1024 * MIB, 2, false), 32);
        assert_eq!(ranges_of_piece(1024 * MIB, 2, true), 1);
        // four a thread at least, never under 1 MiB, one for small pieces
        assert_eq!(ranges_of_piece(64 * MIB, 16, false), 64);
        assert_eq!(ranges_of_piece(10 * MIB, 16, false), 10);
        assert_eq!(ranges_of_piece(MIB / 2, 2, false), 1);
        assert_eq!(ranges_of_piece(0, 2, false), 1);
    }

    #[test]
    fn unit_shares_cover_every_unit_once() {
        for units in [vec![3, 0, 5], vec![1], vec![0], vec![4, 4, 4, 4]] {
            for n in 1..12 {
                let mut seen = Vec::new();
                for index in 0..n {
                    for (input, range) in unit_share(&units, Part { index, count: n }) {
                        seen.extend(range.map(|u| (input, u)));
                    }
                }
                let all: Vec<(usize, usize)> = (units.iter().enumerate())
                    .flat_map(|(i, &n)| (0..n).map(move |u| (i, u)))
                    .collect();
                assert_eq!(seen, all, "{units:?} in {n}");
            }
        }
    }
}
