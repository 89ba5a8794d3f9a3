//! The command line, and only that: flags are parsed by clap
//! ([`args`]), explained by the long help texts ([`help`]), checked and
//! completed into the library's request values ([`validate`]), and handed
//! to [`crate::query`], which does the work; the result is written by
//! [`crate::output`].
//!
//! Keeping the command line this thin (the layout of ripgrep's) means
//! that every behaviour of a command is reachable without clap: from
//! tests, and from drivers that are not a shell. No module outside this
//! one sees a raw flag.

pub mod args;
mod cluster;
pub mod help;
pub mod validate;

use std::io::{self, Write};

use clap::Parser;

pub use args::{
    Cli, Command, InspectArgs, MapArgs, ProgressMode, QueryArgs, ReduceArgs, RunArgs, SplitArgs,
};
pub use validate::{MapConfig, ReduceConfig, RunConfig};

use crate::error::{show_path, Error, Result};
use crate::output;
use crate::query::{self, Inspect, Split};
use crate::store;

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
        Command::Run(args) if args.cluster.is_some() => cluster::run(args),
        Command::Run(args) => run(&args.validate()?),
        Command::Map(args) => map(&args.validate()?),
        Command::Reduce(args) => reduce(&args.validate()?),
        Command::Split(args) => split(&args.validate()?),
        Command::Inspect(args) => inspect(&args.validate()?),
    }
}

/// `rayproc run`: the query's table, written where `--output` says.
pub fn run(config: &RunConfig) -> Result<()> {
    // (silent: a capped --threads was noted when validated)
    let threads = query::threads(config.query.threads, true);
    crate::alloc::pad_heaps_for(threads);
    let table = query::run(&config.query)?;
    output::write_table(&table, config.format, config.output.as_deref(), threads)?;
    crate::phases::mark("output");
    print_notes(&table, config.query.quiet);
    // The process ends right after this: returning the result's memory
    // (tens of MiB for a million groups) would only delay the exit.
    std::mem::forget(table);
    Ok(())
}

/// `rayproc map`: the partial result of one part, written where
/// `--emit-partial` says.
pub fn map(config: &MapConfig) -> Result<()> {
    let file = crate::mapreduce::map(&config.query, config.part)?;
    write_partial(&file.to_bytes(), &config.emit)
}

/// `rayproc reduce`: the merged result (or partial).
pub fn reduce(config: &ReduceConfig) -> Result<()> {
    match crate::mapreduce::reduce(&config.reduce)? {
        crate::mapreduce::Reduced::Partial(file) => {
            let emit = config.emit.as_deref().expect("a partial is asked for");
            write_partial(&file.to_bytes(), emit)
        }
        crate::mapreduce::Reduced::Table(table) => {
            // the inputs are not read here: a text that JSON cannot hold
            // is named by its column and value
            output::utf8::check(&table, config.format, |_| None)?;
            let threads = query::threads(config.reduce.threads, true);
            output::write_table(&table, config.format, config.output.as_deref(), threads)?;
            print_notes(&table, config.reduce.quiet);
            Ok(())
        }
    }
}

/// The table's notes on its values ([`crate::table::Table::notes`]), on
/// stderr, unless `--quiet`.
fn print_notes(table: &crate::table::Table, quiet: bool) {
    if !quiet {
        for note in &table.notes {
            crate::say!("rayproc: note: {note}");
        }
    }
}

/// Writes a partial file's bytes to `path` (atomically), or to stdout.
fn write_partial(bytes: &[u8], path: &std::path::Path) -> Result<()> {
    if path.as_os_str() == "-" {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        return out
            .write_all(bytes)
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("<stdout>", e));
    }
    output::write_atomically(path, |w| w.write_all(bytes))
}

/// `rayproc split`: the store, and a line on stderr saying what it holds.
pub fn split(request: &Split) -> Result<()> {
    let summary = query::split(request)?;
    if !request.quiet {
        crate::say!(
            "rayproc: wrote {} rows in {} partitions ({}) to {}",
            summary.rows,
            summary.partitions,
            store::human_bytes(summary.bytes),
            show_path(&request.store)
        );
    }
    Ok(())
}

/// `rayproc inspect`: the description on stdout; exit 1 when `--verify`
/// found a bad partition file (after the description, which says which).
pub fn inspect(request: &Inspect) -> Result<()> {
    let inspection = query::inspect(request)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    out.write_all(inspection.text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    if inspection.failed > 0 {
        return Err(Error::Other(format!(
            "{} partition file(s) of {} failed verification; re-create the store with `rayproc split`",
            inspection.failed,
            show_path(&request.store)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
