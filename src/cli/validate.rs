//! From flags to a request: each subcommand's arguments are checked and
//! completed here into the plain value the library runs ([`RunConfig`],
//! whose [`Query`] is the library's; [`Split`]; [`Inspect`]).
//!
//! What belongs here is what only makes sense on a command line: text to
//! parse (specs, column lists, `tab`), defaults that look at the terminal
//! or at `--output`'s name (`--format`, `--progress`), and conflicts
//! between flags. Nothing is
//! opened or read here: what needs the inputs is checked by
//! [`crate::query`]. The checks keep the order they have always had, so
//! that a command line with several faults reports the same one first.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use super::args::{InspectArgs, MapArgs, ProgressMode, QueryArgs, ReduceArgs, RunArgs, SplitArgs};
use crate::error::{Error, Result};
use crate::mapreduce::{Part, Reduce};
use crate::output::Format;
use crate::query::{self, Inspect, Query, Source, Split};
use crate::spec::{parse_columns, parse_specs};

/// A validated `run` request: the query, and where its result goes.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub query: Query,
    pub format: Format,
    /// `--output`: written atomically; `None` is stdout.
    pub output: Option<PathBuf>,
}

/// `--delimiter`: one ASCII character (or `tab`, or `\t` as typed in a
/// shell's quotes) that cannot be mistaken for quoting or a line end.
pub(super) fn parse_delimiter(text: &str) -> Result<u8> {
    let d = match text {
        "tab" | "\\t" | "\t" => b'\t',
        s if s.len() == 1 && s.is_ascii() => s.as_bytes()[0],
        _ => {
            return Err(Error::Usage(format!(
                "--delimiter must be one ASCII character or `tab` (`\\t`), not {text:?}"
            )))
        }
    };
    if matches!(d, b'"' | b'\n' | b'\r') {
        return Err(Error::Usage(format!("--delimiter cannot be {text:?}")));
    }
    Ok(d)
}

impl QueryArgs {
    /// Checks the flags shared by `run` and `map` and makes the query, with
    /// `run`'s defaults for the rest (no partitions, progress or format).
    pub fn validate(self) -> Result<Query> {
        let specs = parse_specs(&self.agg)?;
        let by = parse_columns(&self.by, "--by")?;
        let filter = self
            .filter
            .as_deref()
            .map(|text| crate::filter::parse_bytes(text.as_encoded_bytes()))
            .transpose()?;
        let delimiter = self.delimiter.as_deref().map(parse_delimiter).transpose()?;
        query::check_stdin_once(&self.input)?;
        // resolved here, not in the query, so that a capped --threads is
        // noted before the usage errors below, as it always was (resolving
        // it again in the query is silent)
        let threads = query::threads(self.threads.map(|t| t as usize), self.quiet);
        if let Some(dir) = &self.store {
            no_stream_store("--store", dir, "come from standard input")?;
        }
        // (clap's `requires = "store"` does not hold them: they were taken
        // with --input and did nothing)
        for (given, flag, what) in [
            (
                self.allow_stale,
                "--allow-stale",
                "reads a store whose sources changed",
            ),
            (
                self.no_verify,
                "--no-verify",
                "skips the checksums of a store's files",
            ),
        ] {
            if given && self.store.is_none() {
                return Err(Error::Usage(format!(
                    "{flag} applies to --store only: it {what}"
                )));
            }
        }
        let source = match self.store {
            Some(dir) => Source::Store {
                dir,
                allow_stale: self.allow_stale,
                verify: !self.no_verify,
            },
            None => Source::Files(self.input),
        };
        Ok(Query {
            by,
            filter,
            delimiter,
            threads: Some(threads),
            quiet: self.quiet,
            no_header: self.no_header,
            nulls: self.null,
            ..Query::new(source, specs)
        })
    }
}

impl RunArgs {
    /// Checks the flags and fills in the defaults.
    pub fn validate(self) -> Result<RunConfig> {
        let quiet = self.query.quiet;
        let query = self.query.validate()?;
        let output = output_file(self.output);
        let format = output_format(self.format, output.as_deref())?;
        let progress = !quiet
            && match self.progress {
                ProgressMode::Always => true,
                ProgressMode::Never => false,
                ProgressMode::Auto => io::stderr().is_terminal(),
            };
        // (--partitions with --store is refused by `query::prepare`, the
        // next step, with the same words a library caller gets)
        Ok(RunConfig {
            query: Query {
                partitions: self.partitions.map(|p| p as usize),
                progress,
                format: Some(format),
                ..query
            },
            format,
            output,
        })
    }
}

/// `--output`'s file, or `None` for standard output, which `-` names, as
/// it does for `--input` and `--emit-partial` (`./-` is a file named `-`).
/// Read as a file name, `-o -` wrote a file `-` into the current
/// directory, where a pipeline expected the result on its stdout.
pub(super) fn output_file(output: Option<PathBuf>) -> Option<PathBuf> {
    output.filter(|path| path.as_os_str() != "-")
}

/// `--format`, or its default: the format `--output`'s extension names
/// ([`format_of_name`]), else a table on a terminal and CSV otherwise.
/// Binary Parquet is not written to a terminal, stdout or an `--output`
/// that names one (`/dev/stdout`, `/dev/tty`).
fn output_format(format: Option<Format>, output: Option<&Path>) -> Result<Format> {
    let terminal = match output {
        None => io::stdout().is_terminal(),
        Some(path) => names_a_terminal(path),
    };
    let format = format
        .or_else(|| output.and_then(format_of_name))
        .unwrap_or(if terminal { Format::Table } else { Format::Csv });
    if format == Format::Parquet && terminal {
        let why = match output {
            None => String::new(),
            Some(path) => format!(", and {} is a terminal", crate::error::show_path(path)),
        };
        return Err(Error::Usage(format!(
            "--format parquet writes binary data{why}: give --output PATH, or redirect stdout"
        )));
    }
    Ok(format)
}

/// Whether `path` is a terminal: the one a standard stream of this
/// process is (`/dev/stdout`, `/proc/self/fd/2`, `/dev/pts/3`), or the
/// controlling one (`/dev/tty`). Told by device numbers, without opening
/// the path: opening a device may act on it (a tape rewinds when closed).
#[cfg(unix)]
fn names_a_terminal(path: &Path) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let char_device =
        |meta: std::fs::Metadata| meta.file_type().is_char_device().then(|| meta.rdev());
    let Some(device) = std::fs::metadata(path).ok().and_then(char_device) else {
        return false;
    };
    let of_stream = |fd: std::os::fd::BorrowedFd<'_>| {
        let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
        (fd.is_terminal()).then(|| file.metadata().ok().and_then(char_device))?
    };
    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let streams = [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()];
    let controlling = std::fs::metadata("/dev/tty").ok().and_then(char_device);
    controlling == Some(device) || streams.into_iter().any(|fd| of_stream(fd) == Some(device))
}

#[cfg(not(unix))]
fn names_a_terminal(_: &Path) -> bool {
    false
}

/// The format a file name's extension names, if any (case aside):
/// `--output by_day.parquet` with no `--format` is a Parquet file, as
/// DuckDB's `COPY ... TO` and Polars' writers read the name, not CSV
/// bytes under a `.parquet` name that every Parquet reader then refuses.
fn format_of_name(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "parquet" | "pq" => Some(Format::Parquet),
        "csv" => Some(Format::Csv),
        "json" => Some(Format::Json),
        "ndjson" | "jsonl" => Some(Format::Ndjson),
        _ => None,
    }
}

/// Refuses `-` as the store `named` (`--store`, `inspect`'s argument),
/// which the store would `stream` to or from (`go to standard output`).
/// Everywhere else on the command line `-` is standard input or output
/// (`--input -`, `-o -`), but a store is a directory, which no stream can
/// be: `split --store -` made a store named `-` in the current directory,
/// and `run --store -` and `inspect -` looked for one, and said "no such
/// store directory" where the user meant standard input. A folder named
/// `-` is still `./-`.
fn no_stream_store(named: &str, dir: &Path, stream: &str) -> Result<()> {
    if dir.as_os_str() != "-" {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{named} -: a store is a directory, it cannot {stream} (`./-` is a directory named -)"
    )))
}

/// A validated `map` request.
#[derive(Debug, Clone)]
pub struct MapConfig {
    pub query: Query,
    pub part: Part,
    /// `-` is stdout.
    pub emit: PathBuf,
}

impl MapArgs {
    pub fn validate(self) -> Result<MapConfig> {
        let query = self.query.validate()?;
        let part = Part::parse(&self.part)?;
        Ok(MapConfig {
            query,
            part,
            emit: self.emit_partial,
        })
    }
}

/// A validated `reduce` request: what to merge, and where the result goes.
#[derive(Debug, Clone)]
pub struct ReduceConfig {
    pub reduce: Reduce,
    pub format: Format,
    pub output: Option<PathBuf>,
    /// `--emit-partial`: the merged partial's file (`-` is stdout).
    pub emit: Option<PathBuf>,
}

impl ReduceArgs {
    pub fn validate(self) -> Result<ReduceConfig> {
        let threads = query::threads(self.threads.map(|t| t as usize), self.quiet);
        let output = output_file(self.output);
        let format = match &self.emit_partial {
            Some(_) => Format::Csv, // unused
            None => output_format(self.format, output.as_deref())?,
        };
        Ok(ReduceConfig {
            reduce: Reduce {
                partials: self.partials,
                merge_only: self.emit_partial.is_some(),
                threads: Some(threads),
                quiet: self.quiet,
            },
            format,
            output,
            emit: self.emit_partial,
        })
    }
}

impl SplitArgs {
    /// Checks the flags and fills in the defaults. (That the inputs are
    /// CSV, which takes reading them, is checked by [`query::split`].)
    pub fn validate(self) -> Result<Split> {
        let delimiter = parse_delimiter(&self.delimiter)?;
        query::check_stdin_once(&self.input)?;
        no_stream_store("--store", &self.store, "go to standard output")?;
        let columns = match &self.columns {
            Some(c) => Some(parse_columns(c, "--columns")?),
            None => None,
        };
        Ok(Split {
            threads: self.threads.map(|t| t as usize),
            inputs: self.input,
            store: self.store,
            partitions: self.partitions.map(|p| p as usize),
            delimiter,
            columns,
            quiet: self.quiet,
            no_header: self.no_header,
            nulls: self.null,
        })
    }
}

impl InspectArgs {
    /// Checks that the store is not `-`.
    pub fn validate(self) -> Result<Inspect> {
        no_stream_store("inspect", &self.store, "come from standard input")?;
        Ok(Inspect {
            store: self.store,
            format: self.format,
            verify: self.verify,
        })
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
    fn an_output_name_gives_the_format_unless_one_is_named() {
        let of = |format: Option<Format>, name: &str| output_format(format, Some(Path::new(name)));
        for (name, format) in [
            ("r.parquet", Format::Parquet),
            ("dir.v2/R.PQ", Format::Parquet),
            ("r.json", Format::Json),
            ("r.ndjson", Format::Ndjson),
            ("r.jsonl", Format::Ndjson),
            ("r.csv", Format::Csv),
            ("r.txt", Format::Csv),
            ("r", Format::Csv),
            (".parquet", Format::Csv),
        ] {
            assert_eq!(of(None, name).unwrap(), format, "{name}");
        }
        assert_eq!(of(Some(Format::Csv), "r.parquet").unwrap(), Format::Csv);
        assert_eq!(of(Some(Format::Table), "r.json").unwrap(), Format::Table);
    }
}
