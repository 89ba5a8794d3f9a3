//! The library's entry points: a plain, validated request in, a result out,
//! one per thing rayproc does. [`run`] answers a [`Query`] with a
//! [`Table`], [`split`] builds a store from a [`Split`], [`inspect`]
//! describes one for an [`Inspect`].
//!
//! These exist so that something other than the command line can drive
//! rayproc: the binary (whose `cli` module only parses flags into these
//! values), tests that want a result without spawning a process, and
//! future drivers (a Python binding, `rayproc map`/`reduce` across
//! machines). So the values hold no clap type and no flag text, only what
//! a run needs: paths, parsed specs, counts. Everything between those
//! values and the engine lives here and nowhere else: telling CSV from
//! Parquet and Arrow IPC, choosing the CSV, typed or store engine, checking
//! that inputs share their header, the rules for empty inputs, the notes
//! on stderr about capped settings, and the UTF-8 check that `json` output
//! needs (which must run while the inputs are open, since standard input
//! cannot be read twice to find the offending line).
//!
//! A query runs in two steps, [`prepare`] (open the inputs, agree on one
//! header, resolve the plan: every error a request can have short of bad
//! data) and [`Prepared::execute`] (read the data). The seam is where a
//! step that wants something other than a finished table (the partial
//! states of a `map`, a dry run that only checks a request) plugs in.
//!
//! The calls into the engines (`exec`, `source::typed`, `store`) are all
//! in this module, so that the engines can change shape with one place to
//! follow them.

use std::path::{Path, PathBuf};

use crate::error::{show_name, show_path, Error, Result};
use crate::exec::{self, ExecOptions};
use crate::output::{self, Format};
use crate::plan::{null_spellings, show_nulls, Plan};
use crate::source::paths::InputFile;
use crate::source::typed::{self, TypedInput};
use crate::source::{dataset, locate};
use crate::source::{detect_format, CsvInput, InputFormat, OpenOptions};
use crate::spec::{AggSpec, ColumnRef};
use crate::store::{self, CreateOptions, Store, StoreRunOptions};
use crate::table::Table;

pub use crate::store::CreateSummary;

/// Where a query's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Files that form one table: all CSV (sharing one header; `-` is
    /// standard input, at most once), or all Parquet / Arrow IPC (sharing
    /// their columns). The format is told by content, not by name.
    Files(Vec<PathBuf>),
    /// A store made by [`split`].
    Store {
        dir: PathBuf,
        /// Use the store even if its sources changed since the split.
        allow_stale: bool,
        /// Check every partition file's checksum before using it.
        verify: bool,
    },
}

/// An aggregation request: what `rayproc run` does, without its flags.
#[derive(Debug, Clone)]
pub struct Query {
    pub source: Source,
    /// The aggregates, in output order (see [`crate::spec::parse_specs`]).
    pub specs: Vec<AggSpec>,
    /// Group-by columns, in output order (see [`crate::spec::parse_columns`]);
    /// a term `FUNC(COLUMN)` with a time unit as FUNC (`day(ts)`) is a time
    /// bucket of that column (see [`crate::timebucket`]).
    pub by: Vec<ColumnRef>,
    /// `--where`: only the rows for which it is true are aggregated (see
    /// [`crate::filter`]; [`crate::filter::parse`] makes one).
    pub filter: Option<crate::filter::Expr>,
    /// The CSV field delimiter; `None` is `,`. A store keeps the delimiter
    /// it was split with: with [`Source::Store`], `Some` must be that one.
    pub delimiter: Option<u8>,
    /// Partitions per input; `None` picks from the input size and threads.
    /// Never changes the result. Not for [`Source::Store`], whose
    /// partitions are fixed by the split.
    pub partitions: Option<usize>,
    /// Worker threads; `None` is every core. Capped where more cannot
    /// help, with a note unless `quiet` (see [`threads`]). Never changes
    /// the result.
    pub threads: Option<usize>,
    /// A progress bar (or line) on stderr.
    pub progress: bool,
    /// No notes on stderr (capped threads, coarsened partitions).
    pub quiet: bool,
    /// The format the result is for, when it will be written: `json` and
    /// `ndjson` cannot hold text that is not UTF-8, and the query then
    /// fails, naming the first input line holding such text. `None`
    /// accepts any text (a [`Table`]'s text is bytes).
    pub format: Option<Format>,
    /// CSV inputs have no header line: the first line is data, and the
    /// columns are named `1`, `2`, ... (as `cut -f` counts them).
    pub no_header: bool,
    /// `--null`: CSV field texts read as null besides the empty field
    /// (`NA`, `NULL`, `\N`), each taken literally (see [`Plan::nulls`]).
    /// Not for Parquet or Arrow inputs, which hold nulls of their own; a
    /// store keeps the ones it was split with: with [`Source::Store`],
    /// only those are accepted.
    pub nulls: Vec<String>,
}

impl Query {
    /// A query of `specs` over `source` with the defaults of `rayproc run`:
    /// no grouping, `,`, partitions from the input size, every core, no
    /// progress, notes on, no output format to check for.
    pub fn new(source: Source, specs: Vec<AggSpec>) -> Query {
        Query {
            source,
            specs,
            by: Vec::new(),
            filter: None,
            delimiter: None,
            partitions: None,
            threads: None,
            progress: false,
            quiet: false,
            format: None,
            no_header: false,
            nulls: Vec::new(),
        }
    }

    /// The columns the query names, which an input with no header (an
    /// empty file) cannot be checked against.
    fn referenced_columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = Vec::new();
        for column in self.column_refs() {
            let name = column.plain_name();
            if !cols.iter().any(|c| c == name) {
                cols.push(name.to_string());
            }
        }
        cols
    }

    /// Every column reference of the query, as written: `--by` (a time
    /// bucket's column), `--agg`, then `--where`.
    fn column_refs(&self) -> Vec<ColumnRef> {
        let buckets: Vec<ColumnRef> = (self.by.iter())
            .filter_map(|c| crate::timebucket::TimeUnit::parse_by(&c.text)?.ok())
            .map(|(_, c)| c)
            .collect();
        let by =
            (self.by.iter()).filter(|c| crate::timebucket::TimeUnit::parse_by(&c.text).is_none());
        let filtered = self.filter.iter().flat_map(|f| f.columns());
        (by.chain(&buckets))
            .chain(self.specs.iter().filter_map(|s| s.column.as_ref()))
            .chain(filtered)
            .cloned()
            .collect()
    }
}

/// Runs `query` and returns its result: [`prepare`], then
/// [`Prepared::execute`], then, when `query.format` needs UTF-8 text,
/// [`Prepared::check_text`].
pub fn run(query: &Query) -> Result<Table> {
    run_checked(query, || Ok(()))
}

/// [`run`], with `check` called once the inputs are open, before any of
/// their data is read (an output that would replace an input is refused
/// then, not after the reading).
pub fn run_checked(query: &Query, check: impl FnOnce() -> Result<()>) -> Result<Table> {
    crate::phases::mark("start");
    let prepared = prepare(query)?;
    check()?;
    let table = prepared.execute()?;
    if let Some(format) = query.format {
        prepared.check_text(&table, format)?;
    }
    Ok(table)
}

/// A query with its inputs open and its plan resolved against their
/// header, ready to read the data.
pub struct Prepared<'q> {
    query: &'q Query,
    /// `query.threads`, resolved.
    threads: usize,
    plan: Plan,
    inputs: Inputs,
}

/// The opened inputs of a [`Prepared`] query, one kind per engine.
pub(crate) enum Inputs {
    /// CSV files (those with no bytes at all left out).
    Csv(Vec<CsvInput>),
    /// Parquet or Arrow IPC files.
    Typed(Vec<TypedInput>),
    Store(Box<Store>),
}

impl Inputs {
    /// `result`, unless an input file changed while it was read (see
    /// [`crate::source::unchanged`]); a store checks its own files.
    pub(crate) fn unless_changed<T>(&self, result: Result<T>) -> Result<T> {
        use crate::source::unchanged::unless_changed;
        match self {
            Inputs::Csv(inputs) => unless_changed(
                result,
                inputs
                    .iter()
                    .map(|i| (i.name.as_str(), i.state(), i.ends_a_record())),
            ),
            Inputs::Typed(inputs) => {
                unless_changed(result, inputs.iter().map(|i| (i.name(), i.state(), false)))
            }
            Inputs::Store(_) => result,
        }
    }
}

/// Opens the inputs of `query`, checks that they form one table, and
/// resolves its plan: everything short of reading the data. Notes on
/// stderr (unless `quiet`) when `threads` is capped or `partitions`
/// coarsened.
pub fn prepare(query: &Query) -> Result<Prepared<'_>> {
    let threads = threads(query.threads, query.quiet);
    let (plan, inputs) = match &query.source {
        Source::Store {
            dir, allow_stale, ..
        } => {
            if query.partitions.is_some() {
                return Err(Error::Usage(
                    "--partitions does not apply to --store: a store's partitions are fixed by `rayproc split`"
                        .into(),
                ));
            }
            if query.no_header {
                // (it was ignored: a store's columns are named at its split)
                return Err(Error::Usage(
                    "--no-header does not apply to --store: a store's columns were named when \
                     it was split (`rayproc split --no-header` names them 1, 2, ...)"
                        .into(),
                ));
            }
            let store = open_store(query, dir, *allow_stale)?;
            store.check_references(&query.column_refs())?;
            let plan = Plan {
                // (what reads the sources again, to name a line, reads
                // them as the split did)
                nulls: store.manifest.nulls.clone(),
                ..Plan::resolve_where(
                    &store.header(),
                    &query.specs,
                    &query.by,
                    query.filter.as_ref(),
                )?
            };
            store.check_plan(&plan)?;
            (plan, Inputs::Store(Box::new(store)))
        }
        Source::Files(args) => {
            check_inputs(args)?;
            let (files, hive_keys) = dataset::expand_all(args)?;
            let formats = dataset::open_all(&files, threads, |_, f| detect_format(&f.path))?;
            if formats.iter().all(|&f| f == InputFormat::Csv) {
                let options = OpenOptions {
                    delimiter: query.delimiter.unwrap_or(b','),
                    no_header: query.no_header,
                    stream: true,
                    threads,
                    progress: query.progress,
                };
                let OpenedCsv { inputs, header, .. } =
                    open_csv_inputs(&files, &hive_keys, &options, threads, || {
                        query.referenced_columns()
                    })?;
                if let Some(note) =
                    crate::source::csv_run::coarsening_note(query.partitions, &inputs)
                {
                    if !query.quiet {
                        crate::say!("rayproc: note: {note}");
                    }
                }
                let plan = Plan {
                    nulls: null_spellings(&query.nulls),
                    ..Plan::resolve_where(&header, &query.specs, &query.by, query.filter.as_ref())?
                };
                (plan, Inputs::Csv(inputs))
            } else {
                if !query.nulls.is_empty() {
                    let typed = (files.iter().zip(&formats)).find(|(_, &f)| f != InputFormat::Csv);
                    let (file, format) = typed.expect("an input that is not CSV");
                    return Err(Error::Usage(format!(
                        "--null applies to CSV inputs only: {} is {}, whose nulls are its own",
                        show_path(&file.path),
                        format.name()
                    )));
                }
                let (inputs, header) = open_typed_inputs(&files, &hive_keys, &formats, threads)?;
                let plan =
                    Plan::resolve_where(&header, &query.specs, &query.by, query.filter.as_ref())?;
                (plan, Inputs::Typed(inputs))
            }
        }
    };
    Ok(Prepared {
        query,
        threads,
        plan,
        inputs,
    })
}

impl Prepared<'_> {
    /// The resolved plan: which columns are read, the keys, the aggregates.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The opened inputs (for `rayproc map`, which reads a part of them).
    pub(crate) fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// The worker thread count, resolved.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Reads the data and returns the result table.
    pub fn execute(&self) -> Result<Table> {
        let read = self.read();
        self.inputs.unless_changed(read)
    }

    fn read(&self) -> Result<Table> {
        let query = self.query;
        match &self.inputs {
            Inputs::Csv(inputs) => exec::run(&self.plan, inputs, &self.exec_options()),
            Inputs::Typed(inputs) => typed::run(
                &self.plan,
                inputs,
                query.partitions,
                self.threads,
                query.progress,
            ),
            Inputs::Store(store) => {
                let verify = matches!(query.source, Source::Store { verify: true, .. });
                store.run(
                    &self.plan,
                    &StoreRunOptions {
                        threads: self.threads,
                        progress: query.progress,
                        verify,
                    },
                )
            }
        }
    }

    /// Fails when `format` needs UTF-8 text and `table` (this query's
    /// result) holds text that is not; for CSV inputs and stores the error
    /// names the first input line holding the refused value, found by
    /// reading them again (on this error path only; see [`output::utf8`]).
    pub fn check_text(&self, table: &Table, format: Format) -> Result<()> {
        output::utf8::check(table, format, |column, refused| {
            let slot = self.plan.input_slot(column)?;
            let holds_it = |t: &[u8]| t == refused;
            let found = match &self.inputs {
                Inputs::Csv(inputs) => {
                    let options = OpenOptions {
                        delimiter: self.query.delimiter.unwrap_or(b','),
                        no_header: self.query.no_header,
                        stream: true,
                        threads: self.threads,
                        progress: false,
                    };
                    locate::first_text(&self.plan, inputs, &options, slot, holds_it)
                }
                Inputs::Store(store) => store.locate_text(&self.plan, slot, holds_it),
                Inputs::Typed(_) => None,
            };
            Some(output::utf8::Origin {
                column: self.plan.slot_names[slot].clone(),
                at: found,
            })
        })
    }

    /// How the engines run this query (`rayproc map` reads its CSV part
    /// with these too).
    pub(crate) fn exec_options(&self) -> ExecOptions {
        ExecOptions {
            partitions: self.query.partitions,
            threads: self.threads,
            delimiter: self.query.delimiter.unwrap_or(b','),
            progress: self.query.progress,
            taper: true,
        }
    }
}

/// Opens the store of a query and checks that the query may read it: the
/// delimiter, if given, is the store's, and its sources did not change
/// (unless `allow_stale`), and a store of no column is named no column.
fn open_store(query: &Query, dir: &Path, allow_stale: bool) -> Result<Store> {
    let store = Store::open(dir)?;
    if let Some(d) = query.delimiter {
        let given = (d as char).to_string();
        if given != store.manifest.delimiter {
            return Err(Error::Usage(format!(
                "--delimiter {given:?} does not apply to --store: {} was split with --delimiter {:?}, \
                 and its columns are already apart; drop --delimiter, or split again",
                show_path(dir),
                store.manifest.delimiter
            )));
        }
    }
    let nulls = null_spellings(&query.nulls);
    if !nulls.is_empty() && nulls != store.manifest.nulls {
        return Err(Error::Usage(format!(
            "{} does not apply to --store: {} was split with {}, and its nulls are already read; \
             drop --null, or split again",
            show_nulls(&nulls),
            show_path(dir),
            show_nulls(&store.manifest.nulls)
        )));
    }
    if !allow_stale {
        let changes = store.changed_sources();
        if let Some(c) = changes.first() {
            // a source this user may not read cannot be told changed or not
            let (state, mend) = if c.unreadable() {
                (
                    "cannot be checked",
                    "pass --allow-stale to use it without the check",
                )
            } else {
                (
                    "is stale",
                    "re-run `rayproc split`, or pass --allow-stale to use the store as it is",
                )
            };
            return Err(Error::Other(format!(
                "store {} {state}: {}; {mend}",
                show_path(dir),
                c.clause()
            )));
        }
    }
    if store.header().is_empty()
        && store.manifest.rows == 0
        && !query.referenced_columns().is_empty()
    {
        return Err(no_header(&format!("store {}", show_path(dir))));
    }
    Ok(store)
}

/// Opens Parquet and Arrow IPC inputs (`formats` tells which; CSV among
/// them is refused) and checks that they share their columns; the header
/// is theirs followed by the Hive keys.
fn open_typed_inputs(
    files: &[InputFile],
    hive_keys: &[String],
    formats: &[InputFormat],
    threads: usize,
) -> Result<(Vec<TypedInput>, Vec<String>)> {
    let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    if let Some(i) = formats.iter().position(|&f| f == InputFormat::Csv) {
        let typed = formats
            .iter()
            .position(|&f| f != InputFormat::Csv)
            .expect("a typed input");
        return Err(Error::Usage(format!(
            "{} is CSV but {} is {}: one run reads either CSV inputs or Parquet/Arrow inputs, not both",
            show_path(paths[i]),
            show_path(paths[typed]),
            formats[typed].name()
        )));
    }
    let types = dataset::hive_types(files);
    let mut inputs = dataset::open_all(files, threads, |i, file| {
        let hive = dataset::hive_values(file);
        match formats[i] {
            InputFormat::Parquet => TypedInput::open_parquet(&file.path, hive, &types),
            _ => TypedInput::open_ipc(&file.path, hive, &types),
        }
    })?;
    let mut header = inputs[0].header();
    for input in &inputs[1..] {
        if input.header() != header {
            return Err(Error::Other(format!(
                "{}: {}",
                show_name(input.name()),
                dataset::columns_differ(&input.header(), inputs[0].name(), &header)
            )));
        }
    }
    named_width(&header, inputs[0].name())?;
    let in_files = dataset::keys_in_files(&header, hive_keys);
    inputs.iter_mut().for_each(|i| i.drop_hive(&in_files));
    header.extend(dataset::added_keys(hive_keys, &in_files));
    Ok((inputs, header))
}

/// CSV inputs opened together ([`open_csv_inputs`]).
struct OpenedCsv {
    /// The inputs with bytes, in `files` order.
    inputs: Vec<CsvInput>,
    /// Their shared header, followed by the Hive keys.
    header: Vec<String>,
    /// The inputs with no bytes at all, which have no header (a store
    /// still records them as sources: a file empty at the split may not be
    /// later).
    empty: Vec<CsvInput>,
    /// The index in `files` of each input of `inputs`, then of `empty`.
    order: Vec<usize>,
}

/// Opens CSV inputs and checks that they share one header; inputs with no
/// bytes at all have none; when all are empty, the request may name no
/// column (`fallback` gives the named ones), since nothing can check them.
fn open_csv_inputs(
    files: &[InputFile],
    hive_keys: &[String],
    options: &OpenOptions,
    threads: usize,
    fallback: impl FnOnce() -> Vec<String>,
) -> Result<OpenedCsv> {
    let inputs = dataset::open_all(files, threads, |_, file| {
        let mut input = CsvInput::open_with(&file.path, options)?;
        input.hive = dataset::hive_values(file);
        Ok(input)
    })?;
    // Inputs with no bytes at all contribute nothing and have no header.
    let header = inputs
        .iter()
        .find(|i| !i.is_empty)
        .map(|i| i.header.clone());
    let mut header = match header {
        Some(h) => h,
        // with no header at all, a named column cannot be checked: refuse
        None => match fallback() {
            named if named.is_empty() => named,
            _ => return Err(no_header(&show_name(&inputs[0].name))),
        },
    };
    for input in inputs.iter().filter(|i| !i.is_empty) {
        if input.header != header {
            let first = inputs
                .iter()
                .find(|i| !i.is_empty)
                .expect("a non-empty input");
            return Err(Error::Data(input.error_at(
                input.header_at,
                None,
                dataset::columns_differ(&input.header, &first.name, &header),
            )));
        }
    }
    let order = (0..inputs.len()).filter(|&f| !inputs[f].is_empty);
    let order = order
        .chain((0..inputs.len()).filter(|&f| inputs[f].is_empty))
        .collect();
    let (mut empty, mut inputs): (Vec<CsvInput>, Vec<CsvInput>) =
        inputs.into_iter().partition(|i| i.is_empty);
    let in_files = match inputs.first() {
        None => Vec::new(),
        Some(first) => {
            named_width(&header, &first.name)?;
            dataset::keys_in_files(&header, hive_keys)
        }
    };
    for input in inputs.iter_mut().chain(&mut empty) {
        dataset::drop_keys(&mut input.hive, &in_files);
    }
    header.extend(dataset::added_keys(hive_keys, &in_files));
    Ok(OpenedCsv {
        inputs,
        header,
        empty,
        order,
    })
}

/// Refuses a header (of the input named `name`) wider than a plan can
/// number, naming the input: the plan's own check cannot.
fn named_width(header: &[String], name: &str) -> Result<()> {
    crate::plan::check_width(header).map_err(|e| Error::Other(format!("{}: {e}", show_name(name))))
}

/// The error for a request that names columns when no input has a header;
/// `name`: the input, as messages show it.
fn no_header(name: &str) -> Error {
    Error::Other(format!(
        "{name}: empty input, no header to check the columns against"
    ))
}

/// Fails when there is no input, or standard input is named twice.
fn check_inputs(paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::Usage("no input: give at least one file".into()));
    }
    check_stdin_once(paths)
}

/// Fails when `paths` name standard input (`-`) more than once: its bytes
/// can be read only once.
pub fn check_stdin_once(paths: &[PathBuf]) -> Result<()> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(Error::Usage(
            "standard input (-) can be read only once".into(),
        ));
    }
    Ok(())
}

/// The worker thread count for `requested` threads (`None`: every core),
/// capped where more threads cannot help ([`exec::useful_threads`]), with
/// a note on stderr unless `quiet`. The note gives the whole rule: it said
/// only "more than 4 per core cannot help" while leaving 128 per core on
/// two cores, where the 256 always honoured decided.
pub fn threads(requested: Option<usize>, quiet: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(requested) = requested else {
        return cores;
    };
    let useful = exec::useful_threads(requested, cores);
    if useful < requested && !quiet {
        crate::say!(
            "rayproc: note: --threads {requested} capped to {useful} (more than {} per core \
             cannot help; {} are always allowed)",
            exec::THREADS_PER_CORE,
            exec::ALWAYS_HONOURED_THREADS
        );
    }
    useful
}

/// A store to build: what `rayproc split` does, without its flags.
#[derive(Debug, Clone)]
pub struct Split {
    /// CSV files that form one table (`-` is standard input, at most once).
    pub inputs: Vec<PathBuf>,
    /// The store directory (replaced if it is already a store).
    pub store: PathBuf,
    /// Partitions per input; `None` picks from the input size, as
    /// [`run`] does. Capped (with a note unless `quiet`) where partitions
    /// would be too small.
    pub partitions: Option<usize>,
    /// Worker threads; `None` is every core (see [`threads`]).
    pub threads: Option<usize>,
    pub delimiter: u8,
    /// Only these columns (in this order); `None` keeps them all.
    pub columns: Option<Vec<ColumnRef>>,
    /// No notes on stderr (capped threads or partitions).
    pub quiet: bool,
    /// The inputs have no header line (see [`Query::no_header`]).
    pub no_header: bool,
    /// Field texts read as null (see [`Query::nulls`]).
    pub nulls: Vec<String>,
}

/// Parses the inputs of `request` once and writes them as a store of typed
/// columnar partitions, which [`Source::Store`] then reads in place.
pub fn split(request: &Split) -> Result<CreateSummary> {
    check_inputs(&request.inputs)?;
    store::write::check_outside_inputs(&request.store, &request.inputs)?;
    let threads = threads(request.threads, request.quiet);
    let dataset::Expanded {
        files,
        from,
        kinds,
        hive_keys,
    } = dataset::expand_args(&request.inputs)?;
    check_csv(&files, threads)?;
    // each file as it is before it is opened to be read: what the store
    // records, and compares with the file again before it is committed
    let mut before =
        dataset::open_all(&files, threads, |_, f| store::write::record_source(&f.path))?;
    // the folders and patterns, which a run of the store expands again
    let mut patterns = Vec::new();
    let mut pattern_of = Vec::new();
    for (arg, &kind) in request.inputs.iter().zip(&kinds) {
        let info = store::manifest::InputInfo::of(arg, kind)?;
        pattern_of.push(info.is_some().then_some(patterns.len()));
        patterns.extend(info);
    }
    let fallback = || {
        let names = request.columns.iter().flatten();
        names.map(|c| c.plain_name().to_string()).collect()
    };
    let options = OpenOptions {
        no_header: request.no_header,
        ..OpenOptions::new(request.delimiter)
    };
    let OpenedCsv {
        inputs,
        header,
        empty,
        order,
    } = open_csv_inputs(&files, &hive_keys, &options, threads, fallback)?;
    // split caps --partitions by its own rule (a store's partition count
    // bounds its readers' memory) and notes it itself
    let opts = CreateOptions {
        store: request.store.clone(),
        partitions: request.partitions,
        threads,
        delimiter: request.delimiter,
        nulls: null_spellings(&request.nulls),
        columns: request.columns.clone(),
        quiet: request.quiet,
        patterns,
        found_by: order.iter().map(|&f| pattern_of[from[f]]).collect(),
        sources: order.iter().map(|&f| before[f].take()).collect(),
    };
    store::create(&inputs, &empty, &header, &opts)
}

/// Fails unless every one of `paths` is CSV: a store is built from CSV,
/// and Parquet and Arrow inputs are read directly.
fn check_csv(files: &[InputFile], threads: usize) -> Result<()> {
    let formats = dataset::open_all(files, threads, |_, f| detect_format(&f.path))?;
    for (file, &format) in files.iter().zip(&formats) {
        let path = &file.path;
        if format != InputFormat::Csv {
            return Err(Error::Usage(format!(
                "{} is {}: `split` reads CSV; run reads {} files directly (--input)",
                show_path(path),
                format.name(),
                format.name()
            )));
        }
    }
    Ok(())
}

/// How [`inspect`] describes a store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectFormat {
    /// A summary for people.
    Text,
    /// The manifest as JSON, with `changed_sources` (and `verify`).
    Json,
}

/// A store to describe: what `rayproc inspect` does, without its flags.
#[derive(Debug, Clone)]
pub struct Inspect {
    pub store: PathBuf,
    pub format: InspectFormat,
    /// Also check every partition file's size and checksum.
    pub verify: bool,
}

/// What [`inspect`] found.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The description: rows, partitions, sizes, schema, changed sources,
    /// and with `verify` each partition's check.
    pub text: String,
    /// Partition files that failed verification (0 without `verify`).
    pub failed: usize,
}

/// Describes the store of `request`.
pub fn inspect(request: &Inspect) -> Result<Inspection> {
    let store = Store::open(&request.store)?;
    let changes = store.changed_sources();
    let verified = request.verify.then(|| store.verify_all());
    let text = match request.format {
        InspectFormat::Text => store::describe(&store, &changes, verified.as_deref()),
        InspectFormat::Json => store::describe_json(&store, &changes, verified.as_deref()),
    };
    let failed = verified.iter().flatten().filter(|v| v.is_some()).count();
    Ok(Inspection { text, failed })
}
