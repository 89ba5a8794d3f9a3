//! Text that `json` and `ndjson` cannot hold.
//!
//! Keys are grouped by their bytes, so `\xff`, `\xfe` and a literal U+FFFD
//! are three keys. JSON strings are Unicode: written there, the two invalid
//! ones would have to become U+FFFD and the three rows would print alike, a
//! silent merge for whoever reads the JSON back. So a result holding text
//! that is not UTF-8 is refused in those formats (exit 1, nothing written),
//! the error naming the refused value (the result's first, in column then
//! row order) and the first input line that holds it, so that the data can
//! be fixed. The value is the result's, never merely the input's first
//! value that is not UTF-8 (which a `max:k` or a `--where` may leave out):
//! so a file and the same bytes on standard input, which has no lines to
//! name, refuse the same value; `--format csv` (the bytes as they
//! are) and `--format parquet` (a Binary column) write it faithfully.
//!
//! The position is found by the caller, which knows the inputs
//! ([`crate::query`]): it reads them again, on this error path only
//! ([`crate::source::locate`], [`crate::store::Store::locate_text`]).
//! Standard input and pipes cannot be read again, and Parquet and Arrow
//! inputs have no lines: for them the error names the column and the value.

use super::Format;
use crate::error::{show_value, DataError, Error};
use crate::table::{Table, ValueRef};

/// Where a refused value came from, as far as the caller can tell: the
/// input column it was read from, and the first input line holding it
/// (`FILE`, `LINE`) where the inputs can be read again.
pub struct Origin {
    pub column: String,
    pub at: Option<(String, u64)>,
}

/// Fails when `format` needs UTF-8 and `table` holds text that is not;
/// `locate(column, value)` tells where `value`, the refused one, in
/// output column `column`, came from (`None`: the message names the output
/// column alone).
pub fn check(
    table: &Table,
    format: Format,
    locate: impl FnOnce(usize, &[u8]) -> Option<Origin>,
) -> Result<(), Error> {
    let name = match format {
        Format::Json => "json",
        Format::Ndjson => "ndjson",
        Format::Csv | Format::Table | Format::Parquet => return Ok(()),
    };
    let Some((column, bytes)) = first_invalid(table) else {
        return Ok(());
    };
    let message = format!(
        "invalid UTF-8 in {}: {name} output cannot hold text that is not UTF-8 (distinct keys \
         would print alike); --format csv writes text as its bytes, --format parquet as binary",
        show_value(&bytes)
    );
    let origin = locate(column, &bytes).unwrap_or_else(|| Origin {
        column: table.columns[column].clone(),
        at: None,
    });
    Err(match origin.at {
        Some((file, line)) => Error::Data(DataError {
            file,
            line,
            column: Some(origin.column),
            message,
        }),
        None => Error::Other(format!(
            "column '{}': {message}",
            crate::error::show_name(&origin.column)
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
