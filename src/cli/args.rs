//! The clap definitions: every flag of every subcommand, with its short
//! help. Nothing here checks more than clap can (ranges, required and
//! conflicting flags); what needs thought is in `validate.rs`, and what the
//! values mean is in [`crate::query`].

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::help::{EXIT_CODES, RUN_HELP, SPLIT_HELP};
use crate::output::Format;
use crate::query::InspectFormat;

#[derive(Parser, Debug)]
#[command(
    name = "rayproc",
    version = crate::cpu::version(),
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
    /// Aggregate one part (I/N) of the inputs into a partial result file,
    /// for `rayproc reduce` (to run one query across machines).
    #[command(after_help = EXIT_CODES)]
    Map(MapArgs),
    /// Merge the partial results of `rayproc map` into the result `run`
    /// prints (or into one partial).
    #[command(after_help = EXIT_CODES)]
    Reduce(ReduceArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A progress bar when stderr is a terminal, nothing otherwise.
    Auto,
    /// A bar on a terminal; elsewhere (a log file) a plain line every 2 s.
    Always,
    /// No progress.
    Never,
}

/// The flags that say what to compute over what: shared by `run` and
/// `map` (a map is a run of one part).
#[derive(Args, Debug, Clone)]
pub struct QueryArgs {
    /// Input file (CSV, Parquet or Arrow IPC), quoted glob pattern, or
    /// dataset folder (key=value folders become columns); `-` reads CSV from
    /// standard input. Repeat for several files that form one table (they
    /// must have the same columns).
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

    /// With --store: skip the checksum check of the partition files (their
    /// frames and the columns read).
    #[arg(long, requires = "store")]
    pub no_verify: bool,

    /// Aggregation(s): FUNC:COLUMN or `count`, comma-separated or repeated.
    /// A column name with a comma or surrounding spaces is written in
    /// double quotes (`sum:"a,b"`); `k#2` is the second column named k.
    #[arg(long, short = 'a', required = true, value_name = "SPEC")]
    pub agg: Vec<String>,

    /// Group by these columns (comma-separated; names as in --agg), or
    /// time buckets of them: year(ts), month, week, day, hour, minute,
    /// second (output column day_ts).
    #[arg(long, value_name = "COL[,COL...]")]
    pub by: Vec<String>,

    /// Aggregate only the rows for which EXPR is true (see below):
    /// --where "status >= 500 and path like '/api/%'".
    #[arg(long = "where", short = 'w', value_name = "EXPR")]
    pub filter: Option<OsString>,

    /// Worker threads [default: all cores]. Never changes the output.
    #[arg(long, short = 't', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,

    /// Field delimiter: one ASCII character, or `tab` [default: ,]. A store
    /// keeps the delimiter it was split with: with --store, only that one
    /// is accepted.
    #[arg(long, short = 'd', value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// CSV inputs have no header line: the first line is data, and the
    /// columns are named 1, 2, ... (as `cut -f` counts them).
    #[arg(long)]
    pub no_header: bool,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub query: QueryArgs,

    /// Partitions per input [default: from the input size and threads].
    /// Never changes the output. With --cluster: the number of Ray tasks.
    #[arg(long, short = 'p', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub partitions: Option<u32>,

    /// Output format [default: from --output's extension (.csv, .json,
    /// .ndjson or .jsonl, .parquet or .pq), else table on a terminal, csv
    /// otherwise].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,

    /// Write the result to this file (atomically) instead of stdout (`-`:
    /// stdout, as without --output).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Progress bar on stderr.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Run on a Ray cluster (`auto`, HOST:PORT or ray://HOST:PORT): one Ray
    /// task per partition, each a `rayproc map`, then `rayproc reduce`
    /// (see docs/cluster.md). The same bytes as without it.
    #[arg(long, value_name = "ADDRESS")]
    pub cluster: Option<String>,
}

#[derive(Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub query: QueryArgs,

    /// The part to aggregate: I/N, part I (counted from 0) of N. The N
    /// parts together hold every record once.
    #[arg(long, value_name = "I/N")]
    pub part: String,

    /// Where to write the partial result (`-`: stdout), for `rayproc reduce`.
    #[arg(long, value_name = "FILE")]
    pub emit_partial: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReduceArgs {
    /// Partial files written by `rayproc map` (or by `reduce --emit-partial`).
    #[arg(required = true, value_name = "PARTIAL")]
    pub partials: Vec<PathBuf>,

    /// Output format [default: from --output's extension (.csv, .json,
    /// .ndjson or .jsonl, .parquet or .pq), else table on a terminal, csv
    /// otherwise].
    #[arg(long, short = 'f', value_enum, conflicts_with = "emit_partial")]
    pub format: Option<Format>,

    /// Write the result to this file (atomically) instead of stdout (`-`:
    /// stdout, as without --output).
    #[arg(
        long,
        short = 'o',
        value_name = "PATH",
        conflicts_with = "emit_partial"
    )]
    pub output: Option<PathBuf>,

    /// Merge into one partial file (`-`: stdout) instead of the result:
    /// a step of a tree reduction; parts may be missing.
    #[arg(long, value_name = "FILE")]
    pub emit_partial: Option<PathBuf>,

    /// Worker threads [default: all cores].
    #[arg(long, short = 't', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    /// Input CSV file, quoted glob pattern, or dataset folder; `-` reads
    /// standard input. Repeat for several files that form one table (they
    /// must have the same header).
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

    /// The inputs have no header line: the first line is data, and the
    /// columns are named 1, 2, ...
    #[arg(long)]
    pub no_header: bool,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
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
