//! Finding a record again: the first one of CSV inputs whose text in a
//! column fails a test, by its file and line.
//!
//! For an error found after the run, in its result: `json` output refuses
//! text that is not UTF-8, and the message should name a line the user can
//! fix ([`crate::output::utf8`]). Remembering where every value was first
//! seen would cost every run; reading the inputs again costs only runs
//! that fail. A store does the same over its partitions
//! ([`crate::store::Store::locate_text`]).

use crate::batch::Batch;
use crate::error::{DataError, Error};
use crate::exec::ExecOptions;
use crate::plan::Plan;
use crate::value::Data;

use super::csv::CsvReader;
use super::{stream, CsvInput, OpenOptions};

/// The first record of `inputs` (in input order) that `plan`'s filter keeps
/// and whose text in slot `slot` `is_sought`: its file and its line.
/// `None` when there is none, when the slot is not text read from the
/// inputs, or when an input before it cannot be read again (standard input,
/// a pipe). A streamed compressed file is streamed again, in blocks, as the
/// run read it ([`stream::map`]).
pub fn first_text(
    plan: &Plan,
    inputs: &[CsvInput],
    options: &OpenOptions,
    slot: usize,
    is_sought: impl Fn(&[u8]) -> bool + Sync,
) -> Option<(String, u64)> {
    // the batch's first value sought, as an "error" at its line: the
    // readers stop at the first error a callback returns
    let find = |input: &CsvInput, batch: &Batch<'_>, starts: &[usize]| -> Result<(), DataError> {
        let col = &batch.columns[slot];
        let texts = match (col.raw, col.data) {
            (Some(raw), _) => raw,
            (None, Data::Text(text)) => text,
            _ => return Ok(()),
        };
        match (texts.iter())
            .enumerate()
            .find(|&(row, t)| col.is_valid(row) && is_sought(t))
        {
            Some((row, _)) => Err(input.error_at(starts[row], None, String::new())),
            None => Ok(()),
        }
    };
    for input in inputs {
        let found = if input.is_stream() {
            let mut again = CsvInput::open_with(input.reopen.as_deref()?, options).ok()?;
            again.hive = input.hive.clone();
            let opts = ExecOptions {
                partitions: None,
                threads: options.threads,
                delimiter: options.delimiter,
                progress: false,
                taper: false,
            };
            // every worker's find, by line: the map's error is the first in
            // input order (a find, unless the stream itself failed there),
            // and no two records start on one line
            let found = std::sync::Mutex::new(Vec::new());
            let fold = |_: &mut (), piece: &CsvInput, batch: &Batch<'_>, starts: &[usize]| {
                find(piece, batch, starts).inspect_err(|at| {
                    let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
                    found.push(at.line);
                })
            };
            let workers = vec![(); options.threads.max(1)];
            match stream::map(plan, &again, &opts, workers, &fold) {
                Ok(_) => None,
                Err(Error::Data(at)) => {
                    let found = found.into_inner().unwrap_or_else(|e| e.into_inner());
                    found.contains(&at.line).then_some(at)
                }
                // (the stream no longer reads: no position to give)
                Err(_) => return None,
            }
        } else {
            let mut reader = CsvReader::new(plan, options.delimiter);
            let mut found = None;
            let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| {
                find(input, batch, starts).inspect_err(|at| found = Some(at.clone()))
            };
            let end = input.bytes().len();
            let read = reader.read_range(input, input.body_start, end, &mut on_batch, &mut |_| {});
            read.err().and(found)
        };
        if let Some(at) = found {
            return Some((at.file, at.line));
        }
    }
    None
}
