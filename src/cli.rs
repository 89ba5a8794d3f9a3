//! The command line: clap definitions, their validation into a plain
//! configuration, and the `run` command that ties the library together.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::exec::{self, ExecOptions};
use crate::output::{self, Format};
use crate::plan::Plan;
use crate::source::CsvInput;
use crate::spec::{parse_specs, AggSpec};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when stdout is closed early, as by `| head`)
  1  data or I/O error: malformed CSV, a non-number where a number is needed,
     unreadable input, unwritable output (nothing is written)
  2  usage error: bad flag, bad --agg spec, unknown column";

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
    /// Aggregate columns of CSV inputs, optionally per group.
    #[command(after_long_help = RUN_HELP, after_help = EXIT_CODES)]
    Run(RunArgs),
}

const RUN_HELP: &str = "\
Aggregates (SPEC is FUNC:COLUMN, or `count` alone; comma-separate several):
  count            rows (alone) or non-null values (count:COL)
  sum, mean        exact: the float sum is correctly rounded, whatever the partitioning
  min, max         numeric order, or byte order for text columns
  var, std         sample (n-1);  var_pop, std_pop: population (n)
  null_count       empty fields
  median, pNN      exact, linear interpolation (p99, p99.9, p0..p100)
  distinct         exact number of distinct non-null values

Output columns are named `count` and FUNC_COLUMN (mean_x); --by columns come
first, rows sorted by key (numbers numerically, text in byte order, null last).

Types: a column is integer if every non-null value is a 64-bit integer, float
if every one is a number, else text. An empty field is null; aggregates skip
nulls, and an aggregate over no values is null (counts are 0).

Memory: scalar aggregates use constant memory per group. median/pNN keep every
value (8 bytes each); distinct keeps every distinct value; --by keeps one state
per group.

Examples:
  rayproc run --input big.csv --agg mean:price
  rayproc run --input a.csv --input b.csv --by city --agg count,p99:latency
  cat data.csv | rayproc run --input - --agg sum:amount --format json

Exit codes:
  0  success (also when stdout is closed early, as by `| head`)
  1  data or I/O error: malformed CSV, a non-number where a number is needed,
     unreadable input, unwritable output (nothing is written)
  2  usage error: bad flag, bad --agg spec, unknown column";

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A progress bar when stderr is a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Input CSV file; `-` reads standard input. Repeat for several files
    /// that form one table (they must have the same header).
    #[arg(long, short = 'i', required = true, value_name = "PATH")]
    pub input: Vec<PathBuf>,

    /// Aggregation(s): FUNC:COLUMN or `count`, comma-separated or repeated.
    #[arg(long, short = 'a', required = true, value_name = "SPEC")]
    pub agg: Vec<String>,

    /// Group by these columns (comma-separated).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
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

    /// Field delimiter: one ASCII character, or `tab`.
    #[arg(long, short = 'd', default_value = ",", value_name = "CHAR")]
    pub delimiter: String,

    /// Progress bar on stderr.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// A validated `run` request.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub inputs: Vec<PathBuf>,
    pub specs: Vec<AggSpec>,
    pub by: Vec<String>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub exec: ExecOptions,
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
        let by: Vec<String> = self.by.iter().map(|s| s.trim().to_string()).collect();
        if by.iter().any(String::is_empty) {
            return Err(Error::Usage("--by has an empty column name".into()));
        }
        if self.input.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
            return Err(Error::Usage(
                "standard input (-) can be read only once".into(),
            ));
        }
        let threads = self
            .threads
            .map(|t| t as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
        Ok(RunConfig {
            inputs: self.input,
            specs,
            by,
            format,
            output: self.output,
            exec: ExecOptions {
                partitions: self.partitions.map(|p| p as usize),
                threads,
                delimiter: parse_delimiter(&self.delimiter)?,
                progress,
            },
        })
    }
}

/// Runs a validated request: open, plan, execute, write.
pub fn run(config: &RunConfig) -> Result<()> {
    let mut inputs = Vec::new();
    for path in &config.inputs {
        inputs.push(CsvInput::open(path, config.exec.delimiter)?);
    }
    // Inputs with no bytes at all contribute nothing and have no header.
    let header = inputs
        .iter()
        .find(|i| !i.is_empty)
        .map(|i| i.header.clone());
    let header = match header {
        Some(h) => h,
        None => referenced_columns(config),
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
    let plan = Plan::new(&header, &config.specs, &config.by)?;
    inputs.retain(|i| !i.is_empty);
    let table = exec::run(&plan, &inputs, &config.exec)?;
    match &config.output {
        Some(path) => output::write_atomically(path, |w| output::write(&table, config.format, w)),
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            output::write(&table, config.format, &mut out)
                .and_then(|_| out.flush())
                .map_err(|e| Error::io("<stdout>", e))
        }
    }
}

/// The columns a request names, used as the header of inputs that have none
/// (empty files): every aggregate is then over zero rows.
fn referenced_columns(config: &RunConfig) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for name in config
        .by
        .iter()
        .chain(config.specs.iter().filter_map(|s| s.column.as_ref()))
    {
        if !cols.contains(name) {
            cols.push(name.clone());
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
