//! The clap definitions: every flag of every subcommand, with its short
//! help. Nothing here checks more than clap can (ranges, required and
//! conflicting flags); what needs thought is in `validate.rs`, and what the
//! values mean is in [`crate::query`].
//!
//! Every flag whose value is text, not a path, is read through [`Utf8`],
//! which refuses a value that is not UTF-8 with an error that keeps its
//! bytes (shown as `\xff` then, as every message shows them). Paths
//! (`--input`, `--output`, `--store`, `--emit-partial`, the partials of
//! `reduce`, the store of `inspect`) take any bytes, as file names do;
//! `--where` too, whose parser says where its first such byte is.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::builder::{
    EnumValueParser, OsStringValueParser, PossibleValue, StringValueParser, TypedValueParser,
};
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
    #[arg(long, short = 'a', required = true, value_name = "SPEC", value_parser = text())]
    pub agg: Vec<String>,

    /// Group by these columns (comma-separated; names as in --agg), or
    /// time buckets of them: year(ts), month, week, day, hour, minute,
    /// second (output column day_ts).
    #[arg(long, value_name = "COL[,COL...]", value_parser = text())]
    pub by: Vec<String>,

    /// Aggregate only the rows for which EXPR is true (see below):
    /// --where "status >= 500 and path like '/api/%'".
    #[arg(long = "where", short = 'w', value_name = "EXPR")]
    pub filter: Option<OsString>,

    /// Worker threads [default: all cores]. Never changes the output.
    #[arg(long, short = 't', value_name = "N", value_parser = Utf8(clap::value_parser!(u32).range(1..=4096)))]
    pub threads: Option<u32>,

    /// Field delimiter: one ASCII character, or `tab` (`\t` too)
    /// [default: ,]. A store
    /// keeps the delimiter it was split with: with --store, only that one
    /// is accepted.
    #[arg(long, short = 'd', value_name = "CHAR", value_parser = text())]
    pub delimiter: Option<String>,

    /// CSV inputs have no header line: the first line is data, and the
    /// columns are named 1, 2, ... (as `cut -f` counts them). Not with
    /// --store: a store's columns are named when it is split.
    #[arg(long)]
    pub no_header: bool,

    /// A CSV field of exactly this text is null, as an empty one is
    /// (`--null NA --null NULL`: repeat for several; taken literally,
    /// case and spaces included; one that starts with `-` attached:
    /// `--null=-999`). Not for Parquet or Arrow inputs. A
    /// store keeps the ones it was split with: with --store, only those
    /// are accepted.
    #[arg(long, value_name = "TEXT", value_parser = text())]
    pub null: Vec<String>,

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
    /// Not with --store: a store's partitions are set when it is split.
    #[arg(long, short = 'p', value_name = "N", value_parser = Utf8(clap::value_parser!(u32).range(1..=1_000_000)))]
    pub partitions: Option<u32>,

    /// Output format [default: from --output's extension (.csv, .json,
    /// .ndjson or .jsonl, .parquet or .pq), else table on a terminal, csv
    /// otherwise].
    #[arg(long, short = 'f', value_enum, value_parser = choice::<Format>())]
    pub format: Option<Format>,

    /// Write the result to this file (atomically) instead of stdout (`-`:
    /// stdout, as without --output).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Progress bar on stderr.
    #[arg(
        long,
        value_enum,
        value_parser = choice::<ProgressMode>(),
        default_value_t = ProgressMode::Auto
    )]
    pub progress: ProgressMode,

    /// Run on a Ray cluster (`auto`, HOST:PORT or ray://HOST:PORT): one Ray
    /// task per partition, each a `rayproc map`, then `rayproc reduce`
    /// (see docs/cluster.md). The same bytes as without it.
    #[arg(long, value_name = "ADDRESS", value_parser = text())]
    pub cluster: Option<String>,
}

#[derive(Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    pub query: QueryArgs,

    /// The part to aggregate: I/N, part I (counted from 0) of N. The N
    /// parts together hold every record once.
    #[arg(long, value_name = "I/N", value_parser = text())]
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
    #[arg(
        long,
        short = 'f',
        value_enum,
        value_parser = choice::<Format>(),
        conflicts_with = "emit_partial"
    )]
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
    #[arg(long, short = 't', value_name = "N", value_parser = Utf8(clap::value_parser!(u32).range(1..=4096)))]
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
    #[arg(long, short = 'p', value_name = "N", value_parser = Utf8(clap::value_parser!(u32).range(1..=1_000_000)))]
    pub partitions: Option<u32>,

    /// Store only these columns (comma-separated; names as in `run --agg`,
    /// quoted or `k#2`) [default: all].
    #[arg(long, value_name = "COL[,COL...]", value_parser = text())]
    pub columns: Option<Vec<String>>,

    /// Worker threads [default: all cores].
    #[arg(long, short = 't', value_name = "N", value_parser = Utf8(clap::value_parser!(u32).range(1..=4096)))]
    pub threads: Option<u32>,

    /// Field delimiter: one ASCII character, or `tab` (`\t` too).
    #[arg(
        long,
        short = 'd',
        default_value = ",",
        value_name = "CHAR",
        value_parser = text()
    )]
    pub delimiter: String,

    /// The inputs have no header line: the first line is data, and the
    /// columns are named 1, 2, ...
    #[arg(long)]
    pub no_header: bool,

    /// A field of exactly this text is null, as an empty one is (`--null
    /// NA --null NULL`: repeat for several; taken literally; `--null=-999`
    /// for one that starts with `-`). The store
    /// holds them as nulls and records the texts.
    #[arg(long, value_name = "TEXT", value_parser = text())]
    pub null: Vec<String>,

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
    #[arg(
        long,
        short = 'f',
        value_enum,
        value_parser = choice::<InspectFormat>(),
        default_value_t = InspectFormat::Text
    )]
    pub format: InspectFormat,

    /// Also check every partition file's size and checksum (exit 1 if one fails).
    #[arg(long)]
    pub verify: bool,
}

/// A flag's value read by `P` once it is known to be UTF-8 text. clap's
/// own parsers showed a value that is not UTF-8 with U+FFFD in its place
/// (`--format $'\xff'` and `$'\xfe'` both gave `invalid value '�'`), or,
/// for text or a number, said "invalid UTF-8 was detected in one or more
/// arguments", naming neither the flag nor the value. Refused here, the
/// error is clap's for a value its parser refuses, naming the flag, with
/// the bytes as its source ([`NotUtf8`]), which `cli::escape_typed` shows
/// escaped: `invalid value '\xff' for '--format <FORMAT>': not UTF-8`
/// (still a usage error, exit 2).
#[derive(Clone, Debug)]
pub struct Utf8<P>(pub P);

impl<P: TypedValueParser> TypedValueParser for Utf8<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        if value.to_str().is_some() {
            return self.0.parse_ref(cmd, arg, value);
        }
        let bytes = value.as_encoded_bytes().to_vec();
        let refuse = move |_| Err::<OsString, _>(NotUtf8(bytes.clone()));
        match OsStringValueParser::new()
            .try_map(refuse)
            .parse_ref(cmd, arg, value)
        {
            Err(e) => Err(e),
            Ok(_) => unreachable!("every value is refused"),
        }
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

/// Why a flag's value was refused: its bytes, which are not UTF-8, kept
/// to be shown escaped.
#[derive(Debug)]
pub struct NotUtf8(pub Vec<u8>);

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not UTF-8")
    }
}

impl std::error::Error for NotUtf8 {}

/// The parser of a flag that takes any text.
fn text() -> Utf8<StringValueParser> {
    Utf8(StringValueParser::new())
}

/// The parser of a flag that takes one of `E`'s values.
fn choice<E: ValueEnum + Clone + Send + Sync + 'static>() -> Utf8<EnumValueParser<E>> {
    Utf8(EnumValueParser::new())
}
