//! The command line: clap definitions, their validation into a plain
//! configuration, and the `run` command that ties the library together.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::exec::{self, ExecOptions};
use crate::output::{self, Format};
use crate::plan::Plan;
use crate::source::typed::{self, TypedInput};
use crate::source::{detect_format, CsvInput, InputFormat};
use crate::spec::{parse_columns, parse_specs, AggSpec, ColumnRef};
use crate::store::{self, SplitOptions, Store, StoreRunOptions};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when stdout is closed early, as by `| head`)
  1  data or I/O error: malformed CSV, a non-number where a number is needed,
     unreadable input, unwritable output (nothing is written)
  2  usage error: bad flag, bad --agg spec, unknown column
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (temporary files removed first)";

#[derive(Parser, Debug)]
#[command(
    name = "rayproc",
    version,
    about = "Fast, exact aggregations over big CSV files: split, map in parallel, reduce.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Aggregate columns of CSV, Parquet or Arrow inputs, or of a store, optionally per group.
    #[command(after_long_help = RUN_HELP, after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Parse CSV inputs once into a store of typed columnar partitions.
    #[command(after_long_help = SPLIT_HELP, after_help = EXIT_CODES)]
    Split(SplitArgs),
    /// Describe a store: rows, partitions, sizes, schema, changed sources.
    #[command(after_help = EXIT_CODES)]
    Inspect(InspectArgs),
}

const SPLIT_HELP: &str = "\
`split` parses the inputs exactly as `run` would (same splitter, parser and
types: integer, float or text per column; an empty field is null) and writes
one Arrow IPC file per partition plus manifest.json into DIR. Then

  rayproc run --store DIR --agg ...

gives the same output as `run --input` on the sources, without parsing them
again: the partitions are memory-mapped and read in place. A column with no
value at all is stored as an all-null Int64 column.

The store is built in a temporary directory beside DIR and renamed into
place: an interrupted split leaves no store behind, and an existing store at
DIR is replaced only once the new one is complete.

Examples:
  rayproc split --input big.csv --store big.store
  rayproc split --input a.csv --input b.csv --store ab.store --columns city,price
  rayproc inspect big.store

Exit codes:
  0  success
  1  data or I/O error (reported as `run` reports it; nothing is written)
  2  usage error
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (temporary files removed first)";

const RUN_HELP: &str = "\
Aggregates (SPEC is FUNC:COLUMN, or `count` alone; comma-separate several):
  count            rows (alone) or non-null values (count:COL)
  sum, mean        exact: the sum, and the exact sum / count, each rounded once
  min, max         numeric order, or byte order for text columns
  var, std         sample (n-1);  var_pop, std_pop: population (n); rounded once
  null_count       empty fields
  median, pNN      exact, linear interpolation rounded once (p99 is 99/100 as
                   written, p99.9 is 999/1000; p0..p100)
  distinct         exact number of distinct non-null values
  approx_distinct  estimate of distinct in 16 KiB (HyperLogLog): standard
                   error 0.81%, within 2.4% for 99.7% of inputs; exact up to
                   1024 distinct values
  approx_median, approx_pNN
                   within 1% of the exact median/pNN (DDSketch; 1% of the
                   larger of the two values it lies between when they differ
                   in sign); exact up to 64 values and at p0, p100; a float;
                   at most 32 KiB. Both approx_ aggregates give the same
                   bytes for every --partitions and --threads

Output columns are named `count` and FUNC_COLUMN (mean_x); --by columns come
first, rows sorted by key (numbers numerically, text in byte order, null last).
Keys are their bytes, UTF-8 or not; -0.0 and 0.0 are one key (0.0), and NaN in
any spelling is one key (NaN), after +inf.

Formats: csv writes text as its bytes, parquet as Binary where it is not UTF-8;
json and ndjson refuse text that is not UTF-8 (exit 1, naming FILE:LINE);
table shows control characters and invalid bytes as escapes (\\n, \\u{1b}, \\xff).

Column names (in --agg, --by and split --columns): whitespace around a name
is trimmed; a name with a comma, surrounding spaces or a leading quote is
written in double quotes, taken literally, a quote inside doubled:
  --agg 'sum:\"a,b\"'   --agg 'mean:\" price\"'   --by '\"say \"\"hi\"\"\",city'
A name the header repeats (k,k,v) must be told apart: k#2 (or \"k\"#2) is the
second column named k, k alone is refused; such columns are labelled k#1,
k#2 in the output. A column literally named k#2 wins over that reading; \"k#2\"
always means it. Asking for one output column twice (mean:x,mean:x) is a
usage error.

Types: a column is integer if every non-null value is a 64-bit integer, float
if every one is a number, else text. An integer wider than 64 bits is never
read as a float: its column is text for keys, min, max and distinct (compared
by their text), and sum/mean/var/median read its integers exactly. An empty
field is null; aggregates skip nulls, and an aggregate over no values is null
(counts are 0).

Memory: scalar aggregates use constant memory per group. median/pNN keep every
value (8 bytes each); distinct keeps every distinct value; --by keeps one state
per group. Over a --store, scalar aggregates run in bounded memory whatever
the store's size: partitions are mapped, read in place and released.

Inputs: CSV, Parquet or Arrow IPC (Feather v2) files, told apart by their
content (PAR1, ARROW1), not their name. Parquet and Arrow inputs are typed
by their schema (see docs/store.md for how other types are read); only the
needed columns are decoded, and row groups are read in parallel.

Stores: `--store DIR` reads a store made by `rayproc split`. A store whose
sources changed since the split is refused unless --allow-stale; every
partition file's checksum is verified before it is used unless --no-verify.

Examples:
  rayproc run --input big.csv --agg mean:price
  rayproc run --input a.csv --input b.csv --by city --agg count,p99:latency
  cat data.csv | rayproc run --input - --agg sum:amount --format json
  rayproc run --input events.parquet --by day --agg count --format parquet --output by_day.parquet
  rayproc run --store big.store --agg mean:price,p99:price

Exit codes:
  0  success (also when stdout is closed early, as by `| head`)
  1  data or I/O error: malformed CSV, a non-number where a number is needed,
     unreadable input, unwritable output (nothing is written)
  2  usage error: bad flag, bad --agg spec, unknown column
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (temporary files removed first)";

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A progress bar when stderr is a terminal, nothing otherwise.
    Auto,
    /// A bar on a terminal; elsewhere (a log file) a plain line every 2 s.
    Always,
    /// No progress.
    Never,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Input file (CSV, Parquet or Arrow IPC); `-` reads CSV from standard
    /// input. Repeat for several files that form one table (they must have
    /// the same columns).
    #[arg(
        long,
        short = 'i',
        required_unless_present = "store",
        value_name = "PATH"
    )]
    pub input: Vec<PathBuf>,

    /// Read a store made by `rayproc split` instead of --input.
    #[arg(long, value_name = "DIR", conflicts_with = "input")]
    pub store: Option<PathBuf>,

    /// With --store: use the store even if its sources changed since the split.
    #[arg(long, requires = "store")]
    pub allow_stale: bool,

    /// With --store: skip the checksum check of the partition files.
    #[arg(long, requires = "store")]
    pub no_verify: bool,

    /// Aggregation(s): FUNC:COLUMN or `count`, comma-separated or repeated.
    /// A column name with a comma or surrounding spaces is written in
    /// double quotes (`sum:"a,b"`); `k#2` is the second column named k.
    #[arg(long, short = 'a', required = true, value_name = "SPEC")]
    pub agg: Vec<String>,

    /// Group by these columns (comma-separated; names as in --agg).
    #[arg(long, value_name = "COL[,COL...]")]
    pub by: Vec<String>,

    /// Partitions per input [default: from the input size and threads].
    /// Never changes the output.
    #[arg(long, short = 'p', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub partitions: Option<u32>,

    /// Worker threads [default: all cores]. Never changes the output.
    #[arg(long, short = 't', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,

    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,

    /// Write the result to this file (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Field delimiter: one ASCII character, or `tab` [default: ,]. A store
    /// keeps the delimiter it was split with: with --store, only that one
    /// is accepted.
    #[arg(long, short = 'd', value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// Progress bar on stderr.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    /// Input CSV file; `-` reads standard input. Repeat for several files
    /// that form one table (they must have the same header).
    #[arg(long, short = 'i', required = true, value_name = "PATH")]
    pub input: Vec<PathBuf>,

    /// The store directory to write (replaced if it is already a store).
    #[arg(long, short = 's', value_name = "DIR")]
    pub store: PathBuf,

    /// Partitions per input [default: from the input size and threads, as
    /// `run` chooses them]. Never changes what `run --store` outputs.
    #[arg(long, short = 'p', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub partitions: Option<u32>,

    /// Store only these columns (comma-separated; names as in `run --agg`,
    /// quoted or `k#2`) [default: all].
    #[arg(long, value_name = "COL[,COL...]")]
    pub columns: Option<Vec<String>>,

    /// Worker threads [default: all cores].
    #[arg(long, short = 't', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,

    /// Field delimiter: one ASCII character, or `tab`.
    #[arg(long, short = 'd', default_value = ",", value_name = "CHAR")]
    pub delimiter: String,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// A summary for people.
    Text,
    /// The manifest as JSON, with `changed_sources` (and `verify`).
    Json,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The store directory.
    #[arg(value_name = "DIR")]
    pub store: PathBuf,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,

    /// Also check every partition file's size and checksum (exit 1 if one fails).
    #[arg(long)]
    pub verify: bool,
}

/// `--threads` or all cores; capped (with a note unless `quiet`) where
/// more threads cannot help.
fn default_threads(threads: Option<u32>, quiet: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(requested) = threads.map(|t| t as usize) else {
        return cores;
    };
    let useful = exec::useful_threads(requested, cores);
    if useful < requested && !quiet {
        eprintln!(
            "rayproc: note: --threads {requested} capped to {useful} (more than {} per core cannot help)",
            exec::THREADS_PER_CORE
        );
    }
    useful
}

/// Prints the note of `--partitions` coarsened for `inputs`, unless `quiet`.
fn note_coarsening(partitions: Option<usize>, inputs: &[CsvInput], quiet: bool) {
    if let Some(note) = exec::coarsening_note(partitions, inputs) {
        if !quiet {
            eprintln!("rayproc: note: {note}");
        }
    }
}

/// `rayproc split`.
pub fn split(args: SplitArgs) -> Result<()> {
    let delimiter = parse_delimiter(&args.delimiter)?;
    if args.input.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(Error::Usage(
            "standard input (-) can be read only once".into(),
        ));
    }
    for path in &args.input {
        let format = detect_format(path)?;
        if format != InputFormat::Csv {
            return Err(Error::Usage(format!(
                "{} is {}: `split` reads CSV; run reads {} files directly (--input)",
                path.display(),
                format.name(),
                format.name()
            )));
        }
    }
    let columns = match &args.columns {
        Some(c) => Some(parse_columns(c, "--columns")?),
        None => None,
    };
    let fallback = || {
        let names = columns.iter().flatten().map(|c| c.plain_name().to_string());
        names.collect()
    };
    let (inputs, header) = open_csv_inputs(&args.input, delimiter, fallback)?;
    // split caps --partitions by its own rule (a store's partition count
    // bounds its readers' memory) and notes it itself
    let opts = SplitOptions {
        store: args.store.clone(),
        partitions: args.partitions.map(|p| p as usize),
        threads: default_threads(args.threads, args.quiet),
        delimiter,
        columns,
        quiet: args.quiet,
    };
    let summary = store::split(&inputs, &header, &opts)?;
    if !args.quiet {
        eprintln!(
            "rayproc: wrote {} rows in {} partitions ({}) to {}",
            summary.rows,
            summary.partitions,
            store::human_bytes(summary.bytes),
            args.store.display()
        );
    }
    Ok(())
}

/// `rayproc inspect`.
pub fn inspect(args: InspectArgs) -> Result<()> {
    let store = Store::open(&args.store)?;
    let changes = store.changed_sources();
    let verified = args.verify.then(|| store.verify_all());
    let text = match args.format {
        InspectFormat::Text => store::describe(&store, &changes, verified.as_deref()),
        InspectFormat::Json => store::describe_json(&store, &changes, verified.as_deref()),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    let bad = verified.iter().flatten().filter(|v| v.is_some()).count();
    if bad > 0 {
        return Err(Error::Other(format!(
            "{bad} partition file(s) of {} failed verification; re-create the store with `rayproc split`",
            args.store.display()
        )));
    }
    Ok(())
}

/// A validated `run` request.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub inputs: Vec<PathBuf>,
    pub store: Option<PathBuf>,
    pub allow_stale: bool,
    pub verify: bool,
    pub specs: Vec<AggSpec>,
    pub by: Vec<ColumnRef>,
    /// `--delimiter` when given: with `--store`, it must be the store's.
    pub delimiter_flag: Option<u8>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub exec: ExecOptions,
    /// Nothing on stderr but errors.
    pub quiet: bool,
}

fn parse_delimiter(text: &str) -> Result<u8> {
    let d = match text {
        "tab" | "\\t" | "\t" => b'\t',
        s if s.len() == 1 && s.is_ascii() => s.as_bytes()[0],
        _ => {
            return Err(Error::Usage(format!(
                "--delimiter must be one ASCII character or `tab`, not {text:?}"
            )))
        }
    };
    if matches!(d, b'"' | b'\n' | b'\r') {
        return Err(Error::Usage(format!("--delimiter cannot be {text:?}")));
    }
    Ok(d)
}

impl RunArgs {
    /// Checks the flags and fills in the defaults.
    pub fn validate(self) -> Result<RunConfig> {
        let specs = parse_specs(&self.agg)?;
        let by = parse_columns(&self.by, "--by")?;
        let delimiter_flag = self.delimiter.as_deref().map(parse_delimiter).transpose()?;
        if self.input.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
            return Err(Error::Usage(
                "standard input (-) can be read only once".into(),
            ));
        }
        let threads = default_threads(self.threads, self.quiet);
        let format =
            self.format
                .unwrap_or(if self.output.is_none() && io::stdout().is_terminal() {
                    Format::Table
                } else {
                    Format::Csv
                });
        let progress = !self.quiet
            && match self.progress {
                ProgressMode::Always => true,
                ProgressMode::Never => false,
                ProgressMode::Auto => io::stderr().is_terminal(),
            };
        if format == Format::Parquet && self.output.is_none() && io::stdout().is_terminal() {
            return Err(Error::Usage(
                "--format parquet writes binary data: give --output PATH, or redirect stdout"
                    .into(),
            ));
        }
        if self.store.is_some() && self.partitions.is_some() {
            return Err(Error::Usage(
                "--partitions does not apply to --store: a store's partitions are fixed by `rayproc split`"
                    .into(),
            ));
        }
        Ok(RunConfig {
            inputs: self.input,
            store: self.store,
            allow_stale: self.allow_stale,
            verify: !self.no_verify,
            specs,
            by,
            delimiter_flag,
            format,
            output: self.output,
            exec: ExecOptions {
                partitions: self.partitions.map(|p| p as usize),
                threads,
                delimiter: delimiter_flag.unwrap_or(b','),
                progress,
            },
            quiet: self.quiet,
        })
    }
}

/// Runs a validated request: open, plan, execute, write.
pub fn run(config: &RunConfig) -> Result<()> {
    // json/ndjson need UTF-8 text: see `output::utf8`
    let check_text =
        |table: &crate::partial::Table| output::utf8::check(table, config.format, |_| None);
    let table = if let Some(dir) = &config.store {
        let table = run_store(config, dir)?;
        check_text(&table)?;
        table
    } else {
        let mut formats = Vec::new();
        for path in &config.inputs {
            formats.push(detect_format(path)?);
        }
        if formats.iter().all(|&f| f == InputFormat::Csv) {
            let (inputs, header) = open_csv_inputs(&config.inputs, config.exec.delimiter, || {
                referenced_columns(config)
            })?;
            note_coarsening(config.exec.partitions, &inputs, config.quiet);
            let plan = Plan::resolve(&header, &config.specs, &config.by)?;
            let table = exec::run(&plan, &inputs, &config.exec)?;
            output::utf8::check(&table, config.format, |column| {
                output::utf8::locate_in_csv(&plan, &inputs, config.exec.delimiter, column)
            })?;
            table
        } else {
            let table = run_typed(config, &formats)?;
            check_text(&table)?;
            table
        }
    };
    write_table(&table, config)?;
    // The process ends right after this: returning the result's memory
    // (tens of MiB for a million groups) would only delay the exit.
    std::mem::forget(table);
    Ok(())
}

fn run_store(config: &RunConfig, dir: &std::path::Path) -> Result<crate::partial::Table> {
    let store = Store::open(dir)?;
    if let Some(d) = config.delimiter_flag {
        let given = (d as char).to_string();
        if given != store.manifest.delimiter {
            return Err(Error::Usage(format!(
                "--delimiter {given:?} does not apply to --store: {} was split with --delimiter {:?}, \
                 and its columns are already apart; drop --delimiter, or split again",
                dir.display(),
                store.manifest.delimiter
            )));
        }
    }
    if !config.allow_stale {
        let changes = store.changed_sources();
        if let Some(c) = changes.first() {
            return Err(Error::Other(format!(
                "store {} is stale: its source {} changed since the split ({}); \
                 re-run `rayproc split`, or pass --allow-stale to use the store as it is",
                dir.display(),
                c.path,
                c.why
            )));
        }
    }
    let header = store.header();
    if header.is_empty() && store.manifest.rows == 0 && !referenced_columns(config).is_empty() {
        return Err(no_header(&format!("store {}", dir.display())));
    }
    let plan = Plan::resolve(&header, &config.specs, &config.by)?;
    store.run(
        &plan,
        &StoreRunOptions {
            threads: config.exec.threads,
            progress: config.exec.progress,
            verify: config.verify,
        },
    )
}

fn run_typed(config: &RunConfig, formats: &[InputFormat]) -> Result<crate::partial::Table> {
    if let Some(i) = formats.iter().position(|&f| f == InputFormat::Csv) {
        let typed = formats
            .iter()
            .position(|&f| f != InputFormat::Csv)
            .expect("a typed input");
        return Err(Error::Usage(format!(
            "{} is CSV but {} is {}: one run reads either CSV inputs or Parquet/Arrow inputs, not both",
            config.inputs[i].display(),
            config.inputs[typed].display(),
            formats[typed].name()
        )));
    }
    let mut inputs = Vec::new();
    for (path, format) in config.inputs.iter().zip(formats) {
        inputs.push(match format {
            InputFormat::Parquet => TypedInput::open_parquet(path)?,
            _ => TypedInput::open_ipc(path)?,
        });
    }
    let header = inputs[0].header();
    for input in &inputs[1..] {
        if input.header() != header {
            return Err(Error::Other(format!(
                "{}: columns [{}] differ from the columns of {} [{}]; inputs must share their columns",
                input.name(),
                input.header().join(","),
                inputs[0].name(),
                header.join(",")
            )));
        }
    }
    let plan = Plan::resolve(&header, &config.specs, &config.by)?;
    typed::run(
        &plan,
        &inputs,
        config.exec.partitions,
        config.exec.threads,
        config.exec.progress,
    )
}

fn write_table(table: &crate::partial::Table, config: &RunConfig) -> Result<()> {
    // rows are formatted in parallel, on `--threads` threads like the rest,
    // in chunks of 4096 rows: no more threads than chunks
    let threads = config.exec.threads.min(table.len().div_ceil(4096).max(1));
    exec::pool(threads)?.install(|| write_table_here(table, config))
}

fn write_table_here(table: &crate::partial::Table, config: &RunConfig) -> Result<()> {
    match &config.output {
        Some(path) => output::write_atomically(path, |w| output::write(table, config.format, w)),
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            output::write(table, config.format, &mut out)
                .and_then(|_| out.flush())
                .map_err(|e| Error::io("<stdout>", e))
        }
    }
}

/// Opens CSV inputs and checks that they share one header; inputs with no
/// bytes at all have none; when all are empty, the request may name no
/// column (`fallback` gives the named ones), since nothing can check them.
fn open_csv_inputs(
    paths: &[PathBuf],
    delimiter: u8,
    fallback: impl FnOnce() -> Vec<String>,
) -> Result<(Vec<CsvInput>, Vec<String>)> {
    let mut inputs = Vec::new();
    for path in paths {
        inputs.push(CsvInput::open(path, delimiter)?);
    }
    // Inputs with no bytes at all contribute nothing and have no header.
    let header = inputs
        .iter()
        .find(|i| !i.is_empty)
        .map(|i| i.header.clone());
    let header = match header {
        Some(h) => h,
        // with no header at all, a named column cannot be checked: refuse
        None => match fallback() {
            named if named.is_empty() => named,
            _ => return Err(no_header(&inputs[0].name)),
        },
    };
    for input in inputs.iter().filter(|i| !i.is_empty) {
        if input.header != header {
            let first = inputs
                .iter()
                .find(|i| !i.is_empty)
                .expect("a non-empty input");
            return Err(Error::Data(input.error_at(
                0,
                None,
                format!(
                    "header [{}] differs from the header of {} [{}]; inputs must share one header",
                    input.header.join(","),
                    first.name,
                    header.join(",")
                ),
            )));
        }
    }
    inputs.retain(|i| !i.is_empty);
    Ok((inputs, header))
}

/// The error for a request that names columns when no input has a header.
fn no_header(name: &str) -> Error {
    Error::Other(format!(
        "{name}: empty input, no header to check the columns against"
    ))
}

/// The columns a request names, which an input with no header (an empty
/// file) cannot be checked against.
fn referenced_columns(config: &RunConfig) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for column in config
        .by
        .iter()
        .chain(config.specs.iter().filter_map(|s| s.column.as_ref()))
    {
        let name = column.plain_name();
        if !cols.iter().any(|c| c == name) {
            cols.push(name.to_string());
        }
    }
    cols
}

/// Entry point for the binary: parses `args` and runs the command.
pub fn main_with_args<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => e.exit(), // clap prints help/version (exit 0) or usage errors (exit 2)
    };
    match cli.command {
        Command::Run(args) => run(&args.validate()?),
        Command::Split(args) => split(args),
        Command::Inspect(args) => inspect(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(",").unwrap(), b',');
        assert_eq!(parse_delimiter("tab").unwrap(), b'\t');
        assert_eq!(parse_delimiter(";").unwrap(), b';');
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_delimiter("é").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
