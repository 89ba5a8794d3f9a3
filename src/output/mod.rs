//! Writing the result table: `table` for people, `csv`, `json` and
//! `ndjson` for programs, to stdout or atomically to a file.
//!
//! Text is bytes: keys and `min`/`max` of text are whatever the input held,
//! valid UTF-8 or not, and two keys that differ in a byte are two rows. So
//! every format must keep distinct texts distinct. `csv` writes the bytes as
//! they are and Parquet writes a Binary column when some value is not UTF-8;
//! `table` shows invalid bytes, control and invisible characters as
//! escapes, as messages do (a key holding ESC must not drive the terminal,
//! nor `a\u{200b}b` pass for `ab`); `json` and `ndjson`, which can
//! only hold UTF-8, refuse such text ([`utf8`]) rather than replace it by
//! U+FFFD and print distinct keys alike. Likewise a key's NaN and
//! infinities, which JSON lacks, are strings there, not the `null` of the
//! null key ([`Table::key_columns`]).

mod atomic;
mod ordered;
pub mod parquet;
pub mod utf8;

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::table::{Row, Table, ValueRef};

pub use atomic::{replaced_file, write_atomically};

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

/// Writes `table` in `format` to `path`, atomically (see
/// [`write_atomically`]), or to stdout when `path` is `None`. Rows are
/// formatted in parallel on up to `threads` threads, like the rest of a run.
pub fn write_table(
    table: &Table,
    format: Format,
    path: Option<&Path>,
    threads: usize,
) -> Result<()> {
    // chunks of 4096 rows: no more threads than chunks
    let threads = threads.min(table.len().div_ceil(4096).max(1));
    crate::exec::pool(threads)?.install(|| match path {
        Some(path) => write_atomically(path, |w| write(table, format, w)),
        None => {
            crate::pipe::check_std(1)?;
            // a result piped to a program: see `crate::pipe`
            #[cfg(target_os = "linux")]
            crate::pipe::grow(std::os::fd::AsRawFd::as_raw_fd(&io::stdout()));
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            write(table, format, &mut out)
                .and_then(|_| out.flush())
                .map_err(|e| Error::io("<stdout>", e))
        }
    })
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

/// A value as plain text (Parquet text of a number); null is empty;
/// invalid UTF-8 replaced (callers that must keep bytes use
/// [`push_csv_field`] or [`for_terminal`]).
pub fn plain(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Int(i) => i.to_string(),
        ValueRef::Float(f) => format_float(f),
        ValueRef::IntDigits(t) | ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

/// Appends the decimal digits of `v` (what `{v}` prints, without the
/// formatting machinery: a million-group result prints a million of them).
fn push_int(out: &mut Vec<u8>, v: i128) {
    let mut digits = [0u8; 40];
    let mut at = digits.len();
    let mut rest = v.unsigned_abs();
    while rest > u64::MAX as u128 {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    // two digits per division
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut rest = rest as u64;
    while rest >= 100 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        let pair = rest as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + rest as u8;
    }
    if v < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `v` as JSON to `out` (no allocation for valid UTF-8 text).
/// JSON has no NaN or infinity: in a value they are `null`, in a group
/// key (`key`) the strings `"NaN"`, `"inf"` and `"-inf"` ([`format_float`],
/// CSV's spelling), or the groups NaN, inf, -inf and null would print
/// alike.
fn push_json_value(out: &mut Vec<u8>, v: ValueRef<'_>, key: bool) {
    use std::io::Write as _;
    match v {
        ValueRef::Null => out.extend_from_slice(b"null"),
        ValueRef::Int(i) => push_int(out, i),
        // a JSON number has any number of digits
        ValueRef::IntDigits(d) => out.extend_from_slice(d),
        ValueRef::Float(f) if !f.is_finite() => {
            if key {
                push_json_text(out, format_float(f).as_bytes())
            } else {
                out.extend_from_slice(b"null")
            }
        }
        ValueRef::Float(f) => write!(out, "{f:?}").expect("write to a Vec"),
        ValueRef::Text(t) => push_json_text(out, t),
    }
}

/// Appends `t` as a JSON string. Text of printable ASCII without `"` or
/// `\` (group keys, mostly) is copied between quotes as it is; anything
/// else goes through `serde_json`, invalid UTF-8 replaced as in [`plain`]
/// (the command line never gets here with it: see [`utf8`]).
#[inline]
fn push_json_text(out: &mut Vec<u8>, t: &[u8]) {
    let plain = |b: &u8| (0x20..0x7F).contains(b) && *b != b'"' && *b != b'\\';
    if t.iter().all(plain) {
        out.reserve(t.len() + 2);
        out.push(b'"');
        out.extend_from_slice(t);
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, &String::from_utf8_lossy(t)).expect("string to JSON")
    }
}

/// Appends `v` as a CSV field to `out`: the [`plain`] text (text as its
/// bytes, valid UTF-8 or not), quoted when it holds a delimiter, quote or
/// line break, starts or ends with blanks, or is empty (`""`: an empty
/// field is null, and a typed input's empty string is another key).
fn push_csv_field(out: &mut Vec<u8>, v: ValueRef<'_>) {
    use std::io::Write as _;
    match v {
        ValueRef::Null => {}
        ValueRef::Int(i) => push_int(out, i),
        ValueRef::IntDigits(d) => out.extend_from_slice(d),
        ValueRef::Float(f) if f.is_finite() => write!(out, "{f:?}").expect("write to a Vec"),
        ValueRef::Float(f) => out.extend_from_slice(format_float(f).as_bytes()),
        ValueRef::Text(t) => push_csv_text(out, t),
    }
}

fn push_csv_text(out: &mut Vec<u8>, s: &[u8]) {
    let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    let needs_quotes = s.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || s.is_empty()
        || blank(s.first())
        || blank(s.last());
    if needs_quotes {
        out.push(b'"');
        for piece in s.split_inclusive(|&b| b == b'"') {
            out.extend_from_slice(piece);
            if piece.ends_with(b"\"") {
                out.push(b'"');
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

/// Text as the `table` format shows it: safe to print on a terminal, and
/// distinct texts shown distinctly, escaped as messages show a name
/// ([`crate::error::show_name`]), so that what must be escaped is decided
/// in one place. Line breaks and tabs are `\n`, `\r`, `\t`, NUL is `\0`;
/// other control characters (C0, DEL, C1: ESC would start a terminal
/// command), the
/// bidirectional overrides and isolates (which reorder what is shown),
/// invisible characters (a zero-width space, a word joiner, a byte-order
/// mark: `a\u{200b}b` printed raw reads `ab`) and a combining mark with no
/// character before it (it would join the padding of the cell) are
/// `\u{..}`; bytes that are not UTF-8 are `\xNN`; a backslash is `\\`, so
/// that no text shows as another's escape (a newline and the two
/// characters `\n` were both `\n`). Everything else is shown as it is.
pub fn for_terminal(t: &[u8]) -> Cow<'_, str> {
    crate::error::show_name(t)
}

/// A text cell of the `table` format: [`for_terminal`], in double quotes
/// (a quote inside doubled, as in CSV) where it would otherwise look like
/// another cell: the text `null` (a null cell is `null`), the empty text
/// (a Parquet or Arrow `""`, which CSV output writes `""` too), a text
/// with blanks at either end (which the padding hides: `"  "`, `"a "`), and
/// one that begins with a quote, so that a quoted cell reads one way only.
fn table_text(t: &[u8]) -> String {
    let shown = for_terminal(t).into_owned();
    let blank = |c: Option<char>| c.is_some_and(char::is_whitespace);
    let ambiguous = shown.is_empty()
        || shown == "null"
        || shown.starts_with('"')
        || blank(shown.chars().next())
        || blank(shown.chars().next_back());
    if ambiguous {
        format!("\"{}\"", shown.replace('"', "\"\""))
    } else {
        shown
    }
}

/// Writes `format_row(index, row, buffer)` for every row, in order. Rows are
/// formatted in chunks on every thread of the current rayon pool (the
/// `--threads` pool) and written as they complete ([`ordered`]), so that a
/// million-group result neither formats on one thread nor sits in memory
/// twice.
fn write_rows(
    table: &Table,
    out: &mut dyn Write,
    format_row: impl Fn(usize, Row<'_>, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    const CHUNK: usize = 4096;
    // Rows of a big group-by lie wherever their group's row was built:
    // fetch each row's cells and text a few rows ahead.
    const AHEAD: usize = 8;
    let n = table.len();
    ordered::write_in_order(n.div_ceil(CHUNK), out, |c, buf| {
        let (start, stop) = (c * CHUNK, n.min((c + 1) * CHUNK));
        buf.reserve((stop - start) * 64);
        for i in start..stop {
            if i + 2 * AHEAD < stop {
                table.prefetch(i + 2 * AHEAD);
            }
            if i + AHEAD < stop {
                table.row(i + AHEAD).prefetch_text();
            }
            format_row(i, table.row(i), buf);
        }
    })
}

fn write_json(table: &Table, out: &mut dyn Write, array: bool) -> io::Result<()> {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|c| serde_json::to_string(c).expect("string to JSON"))
        .collect();
    let keys = table.key_columns();
    if array {
        write!(out, "[")?;
    }
    write_rows(table, out, |i, row, out| {
        if array {
            out.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
        }
        out.push(b'{');
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(names[j].as_bytes());
            out.push(b':');
            push_json_value(out, v, j < keys);
        }
        out.push(b'}');
        if !array {
            out.push(b'\n');
        }
    })?;
    if array {
        writeln!(out, "{}]", if table.is_empty() { "" } else { "\n" })?;
    }
    Ok(())
}

fn write_csv(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    let mut header = Vec::new();
    for (j, c) in table.columns.iter().enumerate() {
        if j > 0 {
            header.push(b',');
        }
        push_csv_text(&mut header, c.as_bytes());
    }
    header.push(b'\n');
    out.write_all(&header)?;
    let one_column = table.columns.len() == 1;
    write_rows(table, out, |_, row, out| {
        let line = out.len();
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            push_csv_field(out, v);
        }
        if one_column && out.len() == line {
            // A lone null would be a blank line, which CSV readers (rayproc's
            // too) skip: the row would be lost. `""` keeps it, as Python's
            // `csv` module writes it; rayproc and DuckDB read it back as null.
            out.extend_from_slice(b"\"\"");
        }
        out.push(b'\n');
    })
}

fn write_pretty(table: &Table, out: &mut dyn Write) -> io::Result<()> {
    let cells: Vec<Vec<String>> = table
        .rows()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    ValueRef::Null => "null".to_string(),
                    ValueRef::Text(t) => table_text(t),
                    other => plain(other),
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = (table.columns.iter())
        .map(|c| for_terminal(c.as_bytes()).into_owned())
        .collect();
    // terminal cells, not characters: a CJK character or an emoji takes
    // two, a combining accent none
    let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    let widths: Vec<usize> = names
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
            table.rows().all(|r| {
                matches!(
                    r.get(j),
                    ValueRef::Int(_) | ValueRef::IntDigits(_) | ValueRef::Float(_) | ValueRef::Null
                )
            })
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
    line(out, &names)?;
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
    use crate::value::Value;

    /// Rows formatted in parallel windows come out in order, with the JSON
    /// separators right across window and chunk boundaries.
    #[test]
    fn many_rows_keep_their_order() {
        let n = 70_001;
        let big = Table::from_rows(
            vec!["i".into()],
            (0..n).map(|i| vec![Value::Int(i as i128)]).collect(),
        );
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
        Table::from_rows(
            vec!["city".into(), "count".into(), "mean_x".into()],
            vec![
                vec![
                    Value::Text(b"Paris, FR".to_vec()),
                    Value::Int(3),
                    Value::Float(2.5),
                ],
                vec![Value::Null, Value::Int(10), Value::Float(f64::NAN)],
            ],
        )
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

    /// An integer past `i128` is a number in every format (its digits,
    /// bare in JSON, right-aligned in a table), and a text of digits a
    /// string.
    #[test]
    fn an_integer_past_128_bits_is_a_number() {
        let digits = b"-170141183460469231731687303715884105729";
        let t = Table::from_rows(
            vec!["k".into(), "n".into()],
            vec![
                vec![
                    Value::Text(b"12".to_vec()),
                    Value::IntDigits(digits.to_vec()),
                ],
                vec![Value::Text(b"3".to_vec()), Value::Int(7)],
            ],
        );
        let shown = |format| {
            let mut out = Vec::new();
            write(&t, format, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let n = std::str::from_utf8(digits).unwrap();
        assert_eq!(
            shown(Format::Ndjson),
            format!("{{\"k\":\"12\",\"n\":{n}}}\n{{\"k\":\"3\",\"n\":7}}\n")
        );
        assert_eq!(shown(Format::Csv), format!("k,n\n12,{n}\n3,7\n"));
        let pad = " ".repeat(n.len() - 1);
        assert_eq!(
            shown(Format::Table),
            format!(
                "k   {pad}n\n--  {}\n12  {n}\n3   {pad}7\n",
                "-".repeat(n.len())
            )
        );
    }

    /// JSON has no NaN or infinity: a key's are strings (as `null` the
    /// groups NaN, inf, -inf and null printed alike), a value's `null`.
    #[test]
    fn json_spells_a_key_s_nan_and_infinities() {
        let rows = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
            .map(|f| vec![Value::Float(f), Value::Float(f)])
            .into_iter()
            .chain([vec![Value::Null, Value::Float(1.5)]])
            .collect();
        let t = Table::from_rows(vec!["k".into(), "x".into()], rows).with_key_columns(1);
        let mut out = Vec::new();
        write(&t, Format::Ndjson, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"k\":\"NaN\",\"x\":null}\n{\"k\":\"inf\",\"x\":null}\n\
             {\"k\":\"-inf\",\"x\":null}\n{\"k\":null,\"x\":1.5}\n"
        );
    }

    #[test]
    fn floats_round_trip() {
        for v in [
            0,
            7,
            -7,
            10,
            -1_000_000,
            i64::MAX as i128,
            i64::MIN as i128,
            u64::MAX as i128 + 1,
            i128::MAX,
            i128::MIN,
        ]
        .into_iter()
        // every digit count, odd and even, at and around its powers of ten
        .chain((0..39).flat_map(|k| {
            let p = 10i128.pow(k);
            [p - 1, p, p + 1, -p, p * 9 / 7]
        })) {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(-0.0), "-0.0");
        assert_eq!(format_float(1e21), "1e21");
        assert_eq!(format_float(1.5e-7), "1.5e-7");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn json_text_is_serde_jsons() {
        let mut texts: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b'k', b]).collect();
        texts.extend(
            [
                &b""[..],
                b"key_0673906",
                b"a \"q\" \\ z",
                "é".as_bytes(),
                b"\xff",
            ]
            .map(<[u8]>::to_vec),
        );
        for t in texts {
            let mut got = Vec::new();
            push_json_text(&mut got, &t);
            let want = serde_json::to_vec(&String::from_utf8_lossy(&t)).unwrap();
            assert_eq!(got, want, "{t:?}");
        }
    }

    #[test]
    fn terminal_text_is_escaped() {
        // C0 and C1 controls (U+009B is CSI), DEL, invalid bytes
        assert_eq!(
            for_terminal(b"a\tb\r\n\x1b[0m\x7f\xc2\x9b\xff\xfe"),
            "a\\tb\\r\\n\\u{1b}[0m\\u{7f}\\u{9b}\\xff\\xfe"
        );
        assert_eq!(
            for_terminal("é\u{202e}\\ \u{2069}".as_bytes()),
            "é\\u{202e}\\\\ \\u{2069}"
        );
        // a newline and the two characters `\n` are two texts
        assert_eq!(for_terminal(b"\n"), "\\n");
        assert_eq!(for_terminal(b"\\n"), "\\\\n");
        // invisible characters, which made `a\u{200b}b` read `ab`, as
        // messages show them
        assert_eq!(
            for_terminal("a\u{200b}b\u{2060}\u{feff}\u{ad}".as_bytes()),
            r"a\u{200b}b\u{2060}\u{feff}\u{ad}"
        );
        // a combining mark is left to combine with the character before
        // it, and escaped where none is (it would join the padding)
        assert_eq!(
            for_terminal("\u{301}e\u{301}".as_bytes()),
            "\\u{301}e\u{301}"
        );
        assert_eq!(for_terminal(b"\xff\xcc\x81"), r"\xff\u{301}");
        // plain text is not copied
        assert!(matches!(
            for_terminal("Zürich 東京".as_bytes()),
            Cow::Borrowed(_)
        ));
    }

    /// A `table` cell that would look like another is quoted: the text
    /// `null` is not the null cell, the empty text and blanks are visible,
    /// and a text that is quoted already stays apart from a quoted one.
    #[test]
    fn table_cells_never_look_alike() {
        let cells = [
            &b"null"[..],
            b"",
            b"  ",
            b" a",
            b"a\t",
            b"\"null\"",
            b"\"",
            b"NULL",
            b"a b",
            b"a\"b",
        ];
        let shown: Vec<String> = cells.iter().map(|t| table_text(t)).collect();
        assert_eq!(
            shown,
            [
                "\"null\"",
                "\"\"",
                "\"  \"",
                "\" a\"",
                "a\\t",
                "\"\"\"null\"\"\"",
                "\"\"\"\"",
                "NULL",
                "a b",
                "a\"b",
            ]
        );
        let null = "null".to_string();
        let mut all: Vec<&String> = shown.iter().chain([&null]).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), cells.len() + 1, "{shown:?}");
    }

    #[test]
    fn csv_text_is_its_bytes() {
        let t = Table::from_rows(
            vec!["k".into()],
            vec![
                vec![Value::Text(b"\xff".to_vec())],
                vec![Value::Text(b"a,\xfe\"".to_vec())],
            ],
        );
        let mut out = Vec::new();
        write(&t, Format::Csv, &mut out).unwrap();
        assert_eq!(out, b"k\n\xff\n\"a,\xfe\"\"\"\n");
    }

    #[test]
    fn csv_empty_text_is_quoted_and_null_is_empty() {
        let t = Table::from_rows(
            vec!["k".into(), "n".into()],
            vec![
                vec![Value::Text(Vec::new()), Value::Int(1)],
                vec![Value::Null, Value::Int(2)],
            ],
        );
        let mut out = Vec::new();
        write(&t, Format::Csv, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "k,n\n\"\",1\n,2\n");
    }

    /// A one-column row whose value is null is `""`, not a blank line that
    /// readers skip.
    #[test]
    fn csv_writes_a_lone_null_as_an_empty_quoted_field() {
        let t = Table::from_rows(
            vec!["max_x".into()],
            vec![vec![Value::Null], vec![Value::Int(1)], vec![Value::Null]],
        );
        let mut out = Vec::new();
        write(&t, Format::Csv, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "max_x\n\"\"\n1\n\"\"\n");
    }

    #[test]
    fn empty_json_array() {
        let t = Table::from_rows(vec!["k".into()], vec![]);
        let mut out = Vec::new();
        write(&t, Format::Json, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
    }
}
