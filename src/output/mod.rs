//! Writing the result table: `table` for people, `csv`, `json` and
//! `ndjson` for programs, to stdout or atomically to a file.

mod atomic;
pub mod parquet;

use std::io::{self, Write};

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

fn write_json(table: &Table, out: &mut dyn Write, array: bool) -> io::Result<()> {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|c| serde_json::to_string(c).expect("string to JSON"))
        .collect();
    if array {
        write!(out, "[")?;
    }
    for (i, row) in table.rows.iter().enumerate() {
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
    }
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
    for row in &table.rows {
        let fields: Vec<String> = row.iter().map(|v| csv_field(&plain(v))).collect();
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
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
