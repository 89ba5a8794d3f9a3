//! Text that `json` and `ndjson` cannot hold.
//!
//! Keys are grouped by their bytes, so `\xff`, `\xfe` and a literal U+FFFD
//! are three keys. JSON strings are Unicode: written there, the two invalid
//! ones would have to become U+FFFD and the three rows would print alike, a
//! silent merge for whoever reads the JSON back. So a result holding text
//! that is not UTF-8 is refused in those formats (exit 1, nothing written),
//! the error naming the first input line whose value in that column is not
//! UTF-8, so that the data can be fixed; `--format csv` (the bytes as they
//! are) and `--format parquet` (a Binary column) write it faithfully.
//!
//! The position is found by reading the CSV inputs again, on this error
//! path only: remembering where each key was first seen would cost every
//! run of every group-by, for an error few runs meet. A compressed file is
//! decompressed again; a store names the source line a row was split from
//! ([`crate::store::Store::locate_text`]). Standard input and pipes cannot
//! be read again, and Parquet and Arrow inputs have no lines: for them the
//! error names the column and the value.

use super::{for_terminal, Format};
use crate::batch::Batch;
use crate::error::{DataError, Error};
use crate::exec::ExecOptions;
use crate::plan::Plan;
use crate::source::csv::CsvReader;
use crate::source::{stream, CsvInput, OpenOptions};
use crate::table::{Table, ValueRef};
use crate::value::Data;

/// Fails when `format` needs UTF-8 and `table` holds text that is not;
/// `locate(column)` gives the input position of the first such value of
/// the input column behind output column `column`, where known, its
/// message that value as [`show`] shows it (the message is then completed).
pub fn check(
    table: &Table,
    format: Format,
    locate: impl FnOnce(usize) -> Option<DataError>,
) -> Result<(), Error> {
    let name = match format {
        Format::Json => "json",
        Format::Ndjson => "ndjson",
        Format::Csv | Format::Table | Format::Parquet => return Ok(()),
    };
    let Some((column, bytes)) = first_invalid(table) else {
        return Ok(());
    };
    let why = format!(
        "{name} output cannot hold text that is not UTF-8 (distinct keys would print alike); \
         --format csv writes text as its bytes, --format parquet as binary"
    );
    Err(match locate(column) {
        Some(mut e) => {
            e.message = format!("invalid UTF-8 in {}: {why}", e.message);
            Error::Data(e)
        }
        None => Error::Other(format!(
            "column '{}': invalid UTF-8 in {}: {why}",
            table.columns[column],
            show(&bytes)
        )),
    })
}

/// The leftmost output column holding text that is not UTF-8, and its first
/// such value (in row order).
fn first_invalid(table: &Table) -> Option<(usize, Vec<u8>)> {
    if table.text_is_ascii() {
        return None; // the common case, without visiting 1M rows of keys
    }
    let mut found: Option<(usize, &[u8])> = None;
    for row in table.rows() {
        for (j, v) in row
            .iter()
            .enumerate()
            .take(found.map_or(usize::MAX, |f| f.0))
        {
            if let ValueRef::Text(t) = v {
                if std::str::from_utf8(t).is_err() {
                    found = Some((j, t));
                    break;
                }
            }
        }
    }
    found.map(|(j, t)| (j, t.to_vec()))
}

/// A value for a message: escaped as the table format shows it, shortened.
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let shown = for_terminal(bytes);
    match shown.char_indices().nth(MAX) {
        Some((cut, _)) => format!("\"{}…\"", &shown[..cut]),
        None => format!("\"{shown}\""),
    }
}

/// The plan slot (input column) behind output column `column`; `None` for
/// a count or a time bucket (whose keys are ASCII).
pub fn input_slot(plan: &Plan, column: usize) -> Option<usize> {
    let slot = match column.checked_sub(plan.keys.len()) {
        None => plan.keys[column],
        Some(agg) => plan.aggs.get(agg)?.slot?,
    };
    (slot < plan.slots()).then_some(slot)
}

/// The first record of `inputs` (in input order) whose value in the input
/// column behind output column `column` is not UTF-8, as an error at its
/// line whose message is that value ([`show`]); `None` if that column is
/// not text read from the inputs, or an input before it cannot be read
/// again (standard input, a pipe). A streamed compressed file is streamed
/// again, in blocks, as the run read it ([`stream::map`]).
pub fn locate_in_csv(
    plan: &Plan,
    inputs: &[CsvInput],
    options: &OpenOptions,
    column: usize,
) -> Option<DataError> {
    let slot = input_slot(plan, column)?;
    let name = &plan.slot_names[slot];
    // the batch's first value that is not UTF-8, as an error at its line
    let find = |input: &CsvInput, batch: &Batch<'_>, starts: &[usize]| -> Result<(), DataError> {
        let col = &batch.columns[slot];
        let texts = match (col.raw, col.data) {
            (Some(raw), _) => raw,
            (None, Data::Text(text)) => text,
            _ => return Ok(()),
        };
        match (texts.iter().enumerate())
            .find(|&(row, t)| col.is_valid(row) && std::str::from_utf8(t).is_err())
        {
            Some((row, t)) => Err(input.error_at(starts[row], Some(name), show(t))),
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
            let fold = |_: &mut (), piece: &CsvInput, batch: &Batch<'_>, starts: &[usize]| {
                find(piece, batch, starts)
            };
            let workers = vec![(); options.threads.max(1)];
            match stream::map(plan, &again, &opts, workers, &fold) {
                Ok(_) => None,
                Err(Error::Data(e)) => Some(e),
                // (the stream no longer reads: no position to give)
                Err(_) => return None,
            }
        } else {
            let mut reader = CsvReader::new(plan, options.delimiter);
            let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| find(input, batch, starts);
            let end = input.bytes().len();
            let read = reader.read_range(input, input.body_start, end, &mut on_batch, &mut |_| {});
            read.err()
        };
        if found.is_some() {
            return found;
        }
    }
    None
}
