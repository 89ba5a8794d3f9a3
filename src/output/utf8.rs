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
//! The position is found by the caller, which knows the inputs
//! ([`crate::query`]): it reads them again, on this error path only
//! ([`crate::source::locate`], [`crate::store::Store::locate_text`]).
//! Standard input and pipes cannot be read again, and Parquet and Arrow
//! inputs have no lines: for them the error names the column and the value.

use super::Format;
use crate::error::{show_value, DataError, Error};
use crate::table::{Table, ValueRef};

/// Fails when `format` needs UTF-8 and `table` holds text that is not;
/// `locate(column)` gives the input position of the first such value of
/// the input column behind output column `column`, where known, its
/// message that value as [`show_value`] shows it (the message is then
/// completed).
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
            crate::error::show_name(&table.columns[column]),
            show_value(&bytes)
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
