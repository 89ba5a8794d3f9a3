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
//! run of every group-by, for an error few runs meet. Stores and typed
//! inputs have no lines; for them the error names the column and the value.

use super::{for_terminal, Format};
use crate::batch::Batch;
use crate::error::{DataError, Error};
use crate::plan::Plan;
use crate::source::csv::CsvReader;
use crate::source::CsvInput;
use crate::table::{Table, ValueRef};
use crate::value::Data;

/// Fails when `format` needs UTF-8 and `table` holds text that is not;
/// `locate(column)` gives the input position of the first such value of
/// the input column behind output column `column`, where known, and that
/// value (the error's message is replaced).
pub fn check(
    table: &Table,
    format: Format,
    locate: impl FnOnce(usize) -> Option<(DataError, Vec<u8>)>,
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
        Some((mut e, found)) => {
            e.message = format!("invalid UTF-8 in {}: {why}", show(&found));
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
fn show(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let shown = for_terminal(bytes);
    match shown.char_indices().nth(MAX) {
        Some((cut, _)) => format!("\"{}…\"", &shown[..cut]),
        None => format!("\"{shown}\""),
    }
}

/// The first record of `inputs` (in input order) whose value in the input
/// column behind output column `column` is not UTF-8, as an error at its
/// line, and that value; `None` if that column is not text read from the
/// inputs.
pub fn locate_in_csv(
    plan: &Plan,
    inputs: &[CsvInput],
    delimiter: u8,
    column: usize,
) -> Option<(DataError, Vec<u8>)> {
    let keys = plan.keys.len();
    let slot = match column.checked_sub(keys) {
        None => plan.keys[column],
        Some(agg) => plan.aggs.get(agg)?.slot?,
    };
    // a time bucket's keys are ASCII
    if slot >= plan.slots() {
        return None;
    }
    let name = &plan.slot_names[slot];
    let mut reader = CsvReader::new(plan, delimiter);
    for input in inputs {
        let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| -> Result<(), Found> {
            let col = &batch.columns[slot];
            let texts = match (col.raw, col.data) {
                (Some(raw), _) => raw,
                (None, Data::Text(text)) => text,
                _ => return Ok(()),
            };
            match (texts.iter().enumerate())
                .find(|&(row, t)| col.is_valid(row) && std::str::from_utf8(t).is_err())
            {
                Some((row, t)) => Err(Found(
                    input.error_at(starts[row], Some(name), String::new()),
                    t.to_vec(),
                )),
                None => Ok(()),
            }
        };
        let end = input.bytes().len();
        let read = reader.read_range(input, input.body_start, end, &mut on_batch, &mut |_| {});
        match read {
            Ok(_) => {}
            Err(Found(e, value)) => return Some((e, value)),
        }
    }
    None
}

/// Where the search stopped: the value found, or (impossible after a run
/// that succeeded) a record the reader rejects.
struct Found(DataError, Vec<u8>);

impl From<DataError> for Found {
    fn from(e: DataError) -> Self {
        Found(e, Vec::new())
    }
}
