//! From flags to a request: each subcommand's arguments are checked and
//! completed here into the plain value the library runs ([`RunConfig`],
//! whose [`Query`] is the library's; [`Split`]; [`Inspect`]).
//!
//! What belongs here is what only makes sense on a command line: text to
//! parse (specs, column lists, `tab`), defaults that look at the terminal
//! (`--format`, `--progress`), and conflicts between flags. Nothing is
//! opened or read here: what needs the inputs is checked by
//! [`crate::query`]. The checks keep the order they have always had, so
//! that a command line with several faults reports the same one first.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use super::args::{InspectArgs, ProgressMode, RunArgs, SplitArgs};
use crate::error::{Error, Result};
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

/// `--delimiter`: one ASCII character (or `tab`) that cannot be mistaken
/// for quoting or a line end.
pub(super) fn parse_delimiter(text: &str) -> Result<u8> {
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
        let filter = self
            .filter
            .as_deref()
            .map(crate::filter::parse)
            .transpose()?;
        let delimiter = self.delimiter.as_deref().map(parse_delimiter).transpose()?;
        query::check_stdin_once(&self.input)?;
        // resolved here, not in the query, so that a capped --threads is
        // noted before the usage errors below, as it always was (resolving
        // it again in the query is silent)
        let threads = query::threads(self.threads.map(|t| t as usize), self.quiet);
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
        // (--partitions with --store is refused by `query::prepare`, the
        // next step, with the same words a library caller gets)
        let source = match self.store {
            Some(dir) => Source::Store {
                dir,
                allow_stale: self.allow_stale,
                verify: !self.no_verify,
            },
            None => Source::Files(self.input),
        };
        Ok(RunConfig {
            query: Query {
                source,
                specs,
                by,
                filter,
                delimiter,
                partitions: self.partitions.map(|p| p as usize),
                threads: Some(threads),
                progress,
                quiet: self.quiet,
                format: Some(format),
                no_header: self.no_header,
            },
            format,
            output: self.output,
        })
    }
}

impl SplitArgs {
    /// Checks the flags and fills in the defaults. (That the inputs are
    /// CSV, which takes reading them, is checked by [`query::split`].)
    pub fn validate(self) -> Result<Split> {
        let delimiter = parse_delimiter(&self.delimiter)?;
        query::check_stdin_once(&self.input)?;
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
        })
    }
}

impl InspectArgs {
    /// Nothing to check beyond what clap checks.
    pub fn validate(self) -> Result<Inspect> {
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
}
