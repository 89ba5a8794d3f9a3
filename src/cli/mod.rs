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

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, Write};

use clap::Parser;

pub use args::{
    Cli, Command, InspectArgs, MapArgs, ProgressMode, QueryArgs, ReduceArgs, RunArgs, SplitArgs,
};
pub use validate::{MapConfig, ReduceConfig, RunConfig};

use crate::error::{show_name, show_path, Error, Result};
use crate::output;
use crate::query::{self, Inspect, Split};
use crate::store;

/// Entry point for the binary: parses `args` and runs the command.
pub fn main_with_args<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // clap prints help (exit 0) whatever the environment holds, so that
        // help stays at hand to mend it
        Err(e) if is_help(&e) => escape_typed(e, &args).exit(),
        // the version names the SIMD level, which an unknown cap leaves
        // undecided; usage errors (exit 2) come after the environment's
        Err(e) => {
            crate::cpu::check_env()?;
            escape_typed(e, &args).exit()
        }
    };
    crate::cpu::check_env()?;
    match cli.command {
        Command::Run(args) if args.cluster.is_some() => cluster::run(args),
        Command::Run(args) => run(&args.validate()?),
        Command::Map(args) => map(&args.validate()?),
        Command::Reduce(args) => reduce(&args.validate()?),
        Command::Split(args) => split(&args.validate()?),
        Command::Inspect(args) => inspect(&args.validate()?),
    }
}

/// Whether clap's `e` is help it prints (`--help`, `help`, a command
/// without its arguments).
fn is_help(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// clap's error `e` with the text the user typed in it (a flag value, an
/// unknown argument) shown as every message of rayproc shows it
/// ([`show_name`]): clap quoted it raw, so that `--format $'x\ny'` split
/// its message over two lines, and an ESC in it reached the terminal. The
/// rest of the message (what clap says, the flags' names, the usage line)
/// is left as clap writes and styles it.
///
/// clap has a value that is not UTF-8 only as text with U+FFFD in place of
/// its bytes, which would show `\xfe` and `\xff` alike: a flag's value
/// refused for it ([`args::Utf8`]) carries its bytes, and any other text
/// of clap's with U+FFFD (an unknown argument) is the argument of `args`
/// that reads so, where only one does.
fn escape_typed(mut e: clap::Error, args: &[OsString]) -> clap::Error {
    use clap::builder::StyledStr;
    use clap::error::{ContextKind, ContextValue};
    let escaped = |text: &str| -> Option<String> {
        if text.contains(char::REPLACEMENT_CHARACTER) {
            let mut typed =
                (args.iter()).filter(|a| a.to_str().is_none() && a.to_string_lossy() == text);
            if let (Some(one), None) = (typed.next(), typed.next()) {
                return Some(show_name(one.as_encoded_bytes()).into_owned());
            }
        }
        match show_name(text) {
            Cow::Owned(shown) => Some(shown),
            Cow::Borrowed(_) => None,
        }
    };
    fn each<T>(
        items: &[T],
        text: impl Fn(&T) -> String,
        escaped: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Vec<String>> {
        let shown: Vec<Option<String>> = items.iter().map(|i| escaped(&text(i))).collect();
        shown.iter().any(Option::is_some).then(|| {
            (items.iter().zip(shown))
                .map(|(i, s)| s.unwrap_or_else(|| text(i)))
                .collect()
        })
    }
    let not_utf8 = std::error::Error::source(&e)
        .and_then(|source| source.downcast_ref::<args::NotUtf8>())
        .map(|bytes| show_name(&bytes.0).into_owned());
    let kinds: Vec<ContextKind> = e.context().map(|(kind, _)| kind).collect();
    for kind in kinds {
        // the usage line is clap's, from the definition and the binary's name
        if kind == ContextKind::Usage {
            continue;
        }
        if let (ContextKind::InvalidValue, Some(shown)) = (kind, &not_utf8) {
            e.insert(kind, ContextValue::String(shown.clone()));
            continue;
        }
        let value = match e.get(kind) {
            Some(ContextValue::String(s)) => escaped(s).map(ContextValue::String),
            Some(ContextValue::Strings(v)) => {
                each(v, String::clone, &escaped).map(ContextValue::Strings)
            }
            Some(ContextValue::StyledStr(s)) => {
                escaped(&s.to_string()).map(|t| ContextValue::StyledStr(StyledStr::from(t)))
            }
            // tips, which quote the argument (`to pass '--x' as a value, ...`)
            Some(ContextValue::StyledStrs(v)) => each(v, StyledStr::to_string, &escaped)
                .map(|v| ContextValue::StyledStrs(v.into_iter().map(StyledStr::from).collect())),
            _ => None,
        };
        if let Some(value) = value {
            e.insert(kind, value);
        }
    }
    e
}

/// `rayproc run`: the query's table, written where `--output` says.
pub fn run(config: &RunConfig) -> Result<()> {
    // (silent: a capped --threads was noted when validated)
    let threads = query::threads(config.query.threads, true);
    crate::alloc::pad_heaps_for(threads);
    // refused once the inputs are open, before any is read
    let table = query::run_checked(&config.query, || match &config.output {
        Some(out) => refuse_an_input_as_output("--output", out, &config.query),
        None => Ok(()),
    })?;
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
    // refused once the inputs are open, before any is read
    let refuse = || match config.emit.as_os_str() {
        stdout if stdout == "-" => Ok(()),
        _ => refuse_an_input_as_output("--emit-partial", &config.emit, &config.query),
    };
    let file = crate::mapreduce::map(&config.query, config.part, &refuse)?;
    write_partial(&file.to_bytes(), &config.emit)
}

/// Refuses an output (`path`, named by `flag`) that would replace what
/// `query` read: one of its input files, or a file in the store it read
/// (`-o STORE/current` left the store damaged). Exit 2.
fn refuse_an_input_as_output(
    flag: &str,
    path: &std::path::Path,
    query: &query::Query,
) -> Result<()> {
    let Some(replaced) = refuse_a_read_file_as_output(flag, path)? else {
        return Ok(());
    };
    if let query::Source::Store { dir, .. } = &query.source {
        // the folder of the file replaced, links followed: a link to
        // `STORE/current` replaces that file
        let folder = match replaced.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        let (Ok(folder), Ok(store)) = (folder.canonicalize(), dir.canonicalize()) else {
            return Ok(());
        };
        if folder.starts_with(&store) {
            return Err(Error::Usage(format!(
                "{flag} {} is inside the store {} that was read: writing it would change the \
                 store; write the result elsewhere",
                show_path(path),
                show_path(dir)
            )));
        }
    }
    Ok(())
}

/// Refuses an output (`path`, named by `flag`) that would replace a file
/// this process read (by any name: [`refuse_as_output`]); returns the file
/// it would replace, links followed, if it replaces one. Exit 2.
///
/// [`refuse_as_output`]: crate::source::unchanged::refuse_as_output
fn refuse_a_read_file_as_output(
    flag: &str,
    path: &std::path::Path,
) -> Result<Option<std::path::PathBuf>> {
    // (standard output, and a descriptor, `/dev/stdout`, are written
    // through, not replaced)
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let Some(replaced) = output::replaced_file(path) else {
        return Ok(None);
    };
    crate::source::unchanged::refuse_as_output(flag, path, &replaced)?;
    Ok(Some(replaced))
}

/// `rayproc reduce`: the merged result (or partial). An output that is one
/// of the partials read (or an input a part was mapped again from) is
/// refused, as `run` and `map` refuse theirs: the partial is kept.
pub fn reduce(config: &ReduceConfig) -> Result<()> {
    match crate::mapreduce::reduce(&config.reduce)? {
        crate::mapreduce::Reduced::Partial(file) => {
            let emit = config.emit.as_deref().expect("a partial is asked for");
            refuse_a_read_file_as_output("--emit-partial", emit)?;
            write_partial(&file.to_bytes(), emit)
        }
        crate::mapreduce::Reduced::Table(table, sources) => {
            // the inputs are not read here: a text that JSON cannot hold
            // is named by its input column, as `run` names it, and value
            output::utf8::check(&table, config.format, |column, _| {
                Some(output::utf8::Origin {
                    column: sources[column].clone()?,
                    at: None,
                })
            })?;
            if let Some(out) = &config.output {
                refuse_a_read_file_as_output("--output", out)?;
            }
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
        crate::pipe::check_std(1)?;
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
