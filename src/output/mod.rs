//! Writing the result table: `table` for people, `csv`, `json` and
//! `ndjson` for programs, to stdout or atomically to a file.

mod atomic;
pub mod parquet;

use std::io::{self, Write};

use rayon::prelude::*;

use crate::partial::Table;
use crate::value::Value;

pub use atomic::write_atomically;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// A header line, then one line per row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Parquet file (needs --output, or a stdout that is not a terminal).
    Parquet,
}

/// Writes `table` to `out` in `format`.
pub fn write(table: &Table, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => write_pretty(table, out),
        Format::Csv => write_csv(table, out),
        Format::Json => write_json(table, out, true),
        Format::Ndjson => write_json(table, out, false),
        Format::Parquet => out.write_all(&parquet::to_parquet(table)?),
    }
}

/// Shortest text that reads back as the same `f64`; integral floats keep a
/// `.0` so that a float column never looks like an integer column.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{v:?}")
    }
}

/// A value as plain text (CSV field, table cell); null is empty.
pub fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Text(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

fn json_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Int(i) => i.to_string(),
        // JSON has no NaN or infinity
        Value::Float(f) if !f.is_finite() => "null".into(),
        Value::Float(f) => format_float(*f),
        Value::Text(t) => {
            serde_json::to_string(&String::from_utf8_lossy(t)).expect("string to JSON")
        }
    }
}

/// Writes `format_row(index, row, buffer)` for every row, in order. Rows are
/// formatted in parallel on the current rayon pool (the `--threads` pool),
/// a window at a time, so that a million-group result neither formats on
/// one thread nor sits in memory twice.
fn write_rows(
    rows: &[Vec<Value>],
    out: &mut dyn Write,
    format_row: impl Fn(usize, &[Value], &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    const CHUNK: usize = 4096;
    const WINDOW: usize = 16 * CHUNK;
    for (w, window) in rows.chunks(WINDOW).enumerate() {
        let parts: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let mut buf = Vec::with_capacity(chunk.len() * 64);
                for (k, row) in chunk.iter().enumerate() {
                    format_row(w * WINDOW + c * CHUNK + k, row, &mut buf)?;
                }
                Ok(buf)
            })
            .collect();
        for part in parts {
            out.write_all(&part?)?;
        }
    }
    Ok(())
}

fn write_json(table: &Table, out: &mut dyn Write, array: bool) -> io::Result<()> {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|c| serde_json::to_string(c).expect("string to JSON"))
        .collect();
    if array {
        write!(out, "[")?;
    }
    write_rows(&table.rows, out, |i, row, out| {
        if array {
            write!(out, "{}", if i == 0 { "\n  " } else { ",\n  " })?;
        }
        write!(out, "{{")?;
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                write!(out, ",")?;
            }
            write!(out, "{}:{}", names[j], json_value(v))?;
        }
        write!(out, "}}")?;
        if !array {
            writeln!(out)?;
        }
        Ok(())
    })?;
    if array {
        writeln!(out, "{}]", if table.rows.is_empty() { "" } else { "\n" })?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    let needs_quotes = s.contains([',', '"', '\n', '\r'])
        || s.starts_with([' ', '\t'])
        || s.ends_with([' ', '\t']);
    if needs_quotes {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    let header: Vec<String> = table.columns.iter().map(|c| csv_field(c)).collect();
    writeln!(out, "{}", header.join(","))?;
    write_rows(&table.rows, out, |_, row, out| {
        let fields: Vec<String> = row.iter().map(|v| csv_field(&plain(v))).collect();
        writeln!(out, "{}", fields.join(","))
    })
}

fn write_pretty(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::Null => "null".to_string(),
                    other => plain(other).replace('\n', "\\n").replace('\r', "\\r"),
                })
                .collect()
        })
        .collect();
    let width = |s: &str| s.chars().count();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(j, c)| {
            cells
                .iter()
                .map(|r| width(&r[j]))
                .chain([width(c)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..table.columns.len())
        .map(|j| {
            table
                .rows
                .iter()
                .all(|r| matches!(r[j], Value::Int(_) | Value::Float(_) | Value::Null))
        })
        .collect();
    let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
        let parts: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let pad = " ".repeat(widths[j] - width(s));
                if numeric[j] {
                    format!("{pad}{s}")
                } else {
                    format!("{s}{pad}")
                }
            })
            .collect();
        writeln!(out, "{}", parts.join("  ").trim_end())
    };
    line(out, &table.columns)?;
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    writeln!(out, "{}", rule.join("  "))?;
    for row in &cells {
        line(out, row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows formatted in parallel windows come out in order, with the JSON
    /// separators right across window and chunk boundaries.
    #[test]
    fn many_rows_keep_their_order() {
        let n = 70_001;
        let big = Table {
            columns: vec!["i".into()],
            rows: (0..n).map(|i| vec![Value::Int(i as i128)]).collect(),
        };
        let mut json = Vec::new();
        write(&big, Format::Json, &mut json).unwrap();
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
        assert_eq!(parsed.len(), n);
        assert!(parsed.iter().enumerate().all(|(i, v)| v["i"] == i));
        let mut csv = Vec::new();
        write(&big, Format::Csv, &mut csv).unwrap();
        let want: String = std::iter::once("i".to_string())
            .chain((0..n).map(|i| i.to_string()))
            .map(|l| l + "\n")
            .collect();
        assert_eq!(String::from_utf8(csv).unwrap(), want);
    }

    fn table() -> Table {
        Table {
            columns: vec!["city".into(), "count".into(), "mean_x".into()],
            rows: vec![
                vec![
                    Value::Text(b"Paris, FR".to_vec()),
                    Value::Int(3),
                    Value::Float(2.5),
                ],
                vec![Value::Null, Value::Int(10), Value::Float(f64::NAN)],
            ],
        }
    }

    fn render(format: Format) -> String {
        let mut out = Vec::new();
        write(&table(), format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(Format::Csv),
            "city,count,mean_x\n\"Paris, FR\",3,2.5\n,10,NaN\n"
        );
        assert_eq!(
            render(Format::Ndjson),
            "{\"city\":\"Paris, FR\",\"count\":3,\"mean_x\":2.5}\n{\"city\":null,\"count\":10,\"mean_x\":null}\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(json[0]["count"], 3);
        assert_eq!(
            render(Format::Table),
            "city       count  mean_x\n---------  -----  ------\nParis, FR      3     2.5\nnull          10     NaN\n"
        );
    }

    #[test]
    fn floats_round_trip() {
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(-0.0), "-0.0");
        assert_eq!(format_float(1e21), "1e21");
        assert_eq!(format_float(1.5e-7), "1.5e-7");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn empty_json_array() {
        let t = Table {
            columns: vec!["k".into()],
            rows: vec![],
        };
        let mut out = Vec::new();
        write(&t, Format::Json, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
    }
}
