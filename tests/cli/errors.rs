//! Errors: a data error names `FILE:LINE:` (the physical line where the
//! record starts), the column and the value, and it is the first bad
//! record in file order whatever the partitioning, with nothing on stdout
//! (exit 1); a usage error says what is wrong and what was meant (exit 2).

use crate::common::{
    bin_path, fail_all_partitions, fixture, run, run_all_partitions, run_on, sample, temp_csv,
    CsvText, Lcg, Scratch,
};

// ---------------------------------------------------------------------------
// errors with positions

#[test]
fn wrong_field_count_after_multiline_records_reports_the_physical_line() {
    // field_count_error.csv, by hand:
    //   line 1      header id,text,v
    //   lines 2-4   1,"a\nb\nc",1
    //   lines 5-6   2,"x\r\ny",2 (CRLF inside the quotes and at the end)
    //   line 7      3,plain,3
    //   line 8      (blank)
    //   lines 9-10  4,"q ""z""\n",4
    //   line 11     5,oops          <- 2 fields instead of 3
    let file = fixture("field_count_error.csv");
    let stderr = fail_all_partitions(&["--agg", "count"], &file, 1);
    let want = format!(
        "{}:11: expected 3 fields (as in the header), found 2: none for column 'v'",
        file.display()
    );
    assert!(stderr.contains(&want), "expected {want:?} in: {stderr}");
}

/// The error of `--agg count` over a file of `csv`, the same at every
/// partition count (exit 1), with the file's name shown as `FILE`.
fn count_error(csv: &str) -> String {
    let (_d, file) = temp_csv(csv);
    let stderr = fail_all_partitions(&["--agg", "count"], &file, 1);
    stderr.replace(&file.display().to_string(), "FILE")
}

/// A record with a field too many said only how many it had, not which:
/// in a wide file, the extra field's value is what finds the fault.
#[test]
fn wrong_field_count_with_too_many_fields_is_an_error_too() {
    let e = count_error("a,b\n1,2\n3,\"4,x\",5\n6,7\n");
    let want = "FILE:3: expected 2 fields (as in the header), found 3: field 3 is \"5\"";
    assert!(e.contains(want), "expected {want:?} in: {e}");
    let e = count_error("a\n1\n2,3\n");
    assert!(
        e.contains("expected 1 field (as in the header), found 2"),
        "{e}"
    );
}

/// An unclosed quote named the line it opened on but not the column: in a
/// wide file, the column is what finds it (the fields before it may be
/// quoted, with delimiters and escapes inside).
#[test]
fn an_unclosed_quote_names_the_column_it_opened_in() {
    let e = count_error("a,b,c,d\n1,\"x,\"\"y\",2,\"3,4\n5,6,7,8\n");
    let want = "FILE:2: column 'd': quoted field opened on line 2 is never closed";
    assert!(e.contains(want), "expected {want:?} in: {e}");
    // a quote inside an unquoted field is data, not an opening
    let e = count_error("a,b,c\n5\"11,x,\"3,4\n");
    assert!(e.contains(":2: column 'c': quoted field"), "{e}");
}

/// A 20,000-record file whose `latency_ms` column has non-numbers at
/// several places, with multi-line records before them so that record and
/// line numbers differ. Returns the text and the (line, value) of each bad
/// record in file order.
fn file_with_bad_values() -> (String, Vec<(usize, String)>) {
    let mut rng = Lcg(7);
    let mut csv = CsvText::new("id,grp,latency_ms,note");
    let mut bad = Vec::new();
    let bad_at = [
        (3001, "oops!"),
        (9000, "N/A"),
        (12345, "1.2.3"),
        (19999, "bad-value"),
    ];
    for i in 0..20000u64 {
        let note = match i % 5 {
            0 => "\"two\nlines\"".to_string(),
            1 => "\"three\r\nlines\nhere\"".to_string(),
            _ => "plain".to_string(),
        };
        let latency = match bad_at.iter().find(|(at, _)| *at == i) {
            Some((_, v)) => v.to_string(),
            None => format!("{}.{}", rng.below(1000), rng.below(10)),
        };
        let line = csv.push(&format!("{i},g{},{latency},{note}\n", i % 17));
        if bad_at.iter().any(|(at, _)| *at == i) {
            bad.push((line, latency));
        }
    }
    (csv.text, bad)
}

#[test]
fn a_non_number_in_a_mean_column_reports_file_line_column_and_value() {
    let (text, bad) = file_with_bad_values();
    let (_d, file) = temp_csv(&text);
    let (line, value) = &bad[0];
    assert!(
        *line > 3001 + 1,
        "multi-line records make lines differ from records"
    );
    let stderr = fail_all_partitions(&["--agg", "mean:latency_ms"], &file, 1);
    let want = format!("{}:{line}:", file.display());
    assert!(stderr.contains(&want), "expected {want:?} in: {stderr}");
    assert!(stderr.contains("latency_ms"), "names the column: {stderr}");
    assert!(
        stderr.contains(value.as_str()),
        "shows the value {value:?}: {stderr}"
    );
    for (_, later) in &bad[1..] {
        assert!(
            !stderr.contains(later.as_str()),
            "only the first bad value: {stderr}"
        );
    }
}

#[test]
fn the_first_bad_record_in_file_order_is_reported_by_every_numeric_aggregate_at_every_partition_count(
) {
    let (text, bad) = file_with_bad_values();
    let (_d, file) = temp_csv(&text);
    let want = format!("{}:{}:", file.display(), bad[0].0);
    for agg in [
        "sum:latency_ms",
        "var:latency_ms",
        "std:latency_ms",
        "median:latency_ms",
        "p99:latency_ms",
        "count,min:latency_ms,mean:latency_ms",
    ] {
        for by in [None, Some("grp")] {
            let mut args = vec!["--agg", agg];
            if let Some(b) = by {
                args.extend(["--by", b]);
            }
            let stderr = fail_all_partitions(&args, &file, 1);
            assert!(
                stderr.contains(&want) && stderr.contains(bad[0].1.as_str()),
                "--agg {agg} --by {by:?}: expected {want:?} and {:?} in: {stderr}",
                bad[0].1
            );
        }
    }
}

/// A value's bytes that are not UTF-8 are shown as `\xNN`: as U+FFFD, the
/// values `ab\xfe` and `ab\xff` gave one message, and not the bytes to find.
#[test]
fn a_bad_value_that_is_not_utf8_is_shown_byte_for_byte() {
    for (bytes, shown) in [
        (&b"ab\xfe"[..], r#""ab\xfe""#),
        (b"ab\xff", r#""ab\xff""#),
        (b"\xc3(", r#""\xc3(""#),
        (b"q\"\\", r#""q\"\\""#),
    ] {
        let mut text = b"x\n1\n".to_vec();
        text.extend_from_slice(if bytes.starts_with(b"q") {
            b"\"q\"\"\\\""
        } else {
            bytes
        });
        text.push(b'\n');
        let (_d, file) = temp_csv(&text);
        let stderr = fail_all_partitions(&["--agg", "sum:x"], &file, 1);
        assert!(
            stderr.contains(&format!("{}:3: column 'x'", file.display())),
            "{stderr}"
        );
        assert!(stderr.contains(shown), "expected {shown} in: {stderr}");
        assert!(!stderr.contains('\u{FFFD}'), "{stderr}");
    }
}

#[test]
fn a_field_count_error_before_a_bad_value_is_the_one_reported_and_vice_versa() {
    for (short_at, bad_at) in [(4000u64, 15000u64), (15000, 4000)] {
        let mut csv = CsvText::new("id,x,note");
        let (mut short_line, mut bad_line) = (0, 0);
        for i in 0..20000u64 {
            let note = if i % 3 == 0 { "\"a\nb\"" } else { "c" };
            if i == short_at {
                short_line = csv.push(&format!("{i},{note}\n"));
            } else if i == bad_at {
                bad_line = csv.push(&format!("{i},zzz,{note}\n"));
            } else {
                csv.push(&format!("{i},{i},{note}\n"));
            }
        }
        let (_d, file) = temp_csv(&csv.text);
        let stderr = fail_all_partitions(&["--agg", "mean:x"], &file, 1);
        let first = short_line.min(bad_line);
        let want = format!("{}:{first}:", file.display());
        assert!(
            stderr.contains(&want),
            "short record on line {short_line}, bad value on line {bad_line}: expected {want:?} in: {stderr}"
        );
        if bad_line < short_line {
            assert!(stderr.contains("zzz"), "{stderr}");
        }
    }
}

#[test]
fn min_and_max_accept_text_where_mean_refuses_it() {
    let (_d, file) = temp_csv("x\n3\nabc\n10\n");
    let out = run_all_partitions(&["--agg", "min:x,max:x,count:x"], &file);
    assert_eq!(
        out, "min_x,max_x,count_x\n10,abc,3\n",
        "byte order: \"10\" < \"3\" < \"abc\""
    );
    let r = run_on(&file, &["--agg", "mean:x"]);
    r.expect_code(1, "mean of text");
    assert!(
        r.stderr.contains(&format!("{}:3:", file.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_value_after_quotes_inside_unquoted_fields_is_reported_at_its_line_at_every_partition_count(
) {
    let mut csv = CsvText::new("id,h,v");
    for i in 0..3000 {
        let h = match i % 7 {
            3 => "5'11\" tall",
            5 => "\"multi\nline\"",
            _ => "plain",
        };
        csv.push(&format!("{i},{h},{i}\n"));
    }
    let line = csv.push("3000,plain,oops\n");
    for i in 3001..4000 {
        csv.push(&format!("{i},\"a\nb\",{i}\n"));
    }
    let (_d, file) = temp_csv(&csv.text);
    let stderr = fail_all_partitions(&["--agg", "sum:v"], &file, 1);
    let want = format!("{}:{line}:", file.display());
    assert!(
        stderr.contains(&want) && stderr.contains("oops"),
        "expected {want:?} in: {stderr}"
    );
}

#[test]
fn an_unterminated_quote_is_a_data_error() {
    let (_d, file) = temp_csv("a,b\n1,2\n3,\"open\n4,5\n");
    let r = run_on(&file, &["--agg", "count"]);
    r.expect_code(1, "unterminated quote");
    assert!(
        r.stderr.contains(&format!("{}:3:", file.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn data_errors_print_nothing_on_stdout() {
    let (_d, file) = temp_csv("x\n1\nq\n");
    for format in ["csv", "json", "ndjson", "table"] {
        let r = run_on(&file, &["--agg", "sum:x", "--format", format]);
        r.expect_code(1, format);
        assert_eq!(r.stdout, "", "{format}");
    }
}

// ---------------------------------------------------------------------------
// usage errors

#[test]
fn an_unknown_column_exits_2_listing_columns_with_did_you_mean() {
    let r = run_on(&sample(), &["--agg", "mean:prise"]);
    r.expect_code(2, "unknown column");
    assert!(r.stderr.contains("did you mean 'price'"), "{}", r.stderr);
    for col in ["id", "city", "price", "qty", "note"] {
        assert!(r.stderr.contains(col), "lists column {col}: {}", r.stderr);
    }
    assert_eq!(r.stdout, "");
}

/// A TSV or a semicolon CSV read with the default comma is one column
/// named by its whole header line: the error only listed that one name.
/// It now says which delimiter would cut the header into the name asked
/// for, in `--agg`, `--by` and `--where` alike.
#[test]
fn a_one_column_header_hints_at_the_delimiter() {
    let scratch = Scratch::new();
    let cases = [
        ("t.tsv", "id\tprice\n1\t2\n", "'id\\tprice'", "a tab", "tab"),
        ("s.csv", "id;price\n1;2\n", "'id;price'", "';'", "';'"),
    ];
    for (name, text, header, by, flag) in cases {
        let path = scratch.write(name, text);
        let hint = format!(
            "the header was read as one column, {header}: are its fields cut by {by}? \
             (`--delimiter {flag}`)"
        );
        for args in [
            &["--agg", "sum:price"][..],
            &["--by", "price", "--agg", "count"],
            &["--where", "price > 1", "--agg", "count"],
        ] {
            let r = run_on(&path, args);
            r.expect_code(2, name);
            assert!(r.stderr.contains(&hint), "{args:?}: {}", r.stderr);
        }
        let flag = flag.trim_matches('\'');
        let r = run_on(&path, &["--delimiter", flag, "--agg", "sum:price"]);
        r.expect_code(0, name);
        assert_eq!(r.stdout, "sum_price\n2\n");
    }
    // Excel's delimiter line opens the file: one column, `sep=;`, whose
    // rows were counted
    let path = scratch.write("sep.csv", "sep=;\nid;price\n1;2\n");
    let r = run_on(&path, &["--agg", "sum:price"]);
    r.expect_code(2, "sep=");
    assert!(
        r.stderr
            .contains("the header is Excel's delimiter line, 'sep=;'")
            && r.stderr.contains("`--delimiter ';'`"),
        "{}",
        r.stderr
    );
    // a name that no delimiter cuts out of the header: no hint
    let path = scratch.write("s.csv", "id;price\n1;2\n");
    let r = run_on(&path, &["--agg", "sum:cost"]);
    r.expect_code(2, "no hint");
    assert!(!r.stderr.contains("--delimiter"), "{}", r.stderr);
}

#[test]
fn an_unknown_by_column_exits_2_with_did_you_mean() {
    let r = run_on(&sample(), &["--by", "ctiy", "--agg", "count"]);
    r.expect_code(2, "unknown --by column");
    assert!(r.stderr.contains("did you mean 'city'"), "{}", r.stderr);
}

#[test]
fn a_bad_function_exits_2_with_did_you_mean() {
    let r = run_on(&sample(), &["--agg", "maen:price"]);
    r.expect_code(2, "bad function");
    assert!(r.stderr.contains("did you mean 'mean'"), "{}", r.stderr);
}

#[test]
fn p101_exits_2() {
    for spec in ["p101:price", "p-1:price", "pxx:price", "p100.5:price"] {
        let r = run_on(&sample(), &["--agg", spec]);
        r.expect_code(2, spec);
        assert_eq!(r.stdout, "", "{spec}");
    }
}

#[test]
fn malformed_specs_and_flags_exit_2() {
    for args in [
        vec!["--agg", "mean"],
        vec!["--agg", "mean:"],
        vec!["--agg", "count,"],
        vec!["--agg", "count", "--partitions", "0"],
        vec!["--agg", "count", "--threads", "0"],
        vec!["--agg", "count", "--format", "xml"],
        vec!["--agg", "count", "--progress", "sometimes"],
        vec!["--agg", "count", "--by", "city,"],
        vec!["--agg", "count", "--by", "city,city"],
        vec!["--agg", "count", "--no-such-flag"],
    ] {
        let r = run_on(&sample(), &args);
        r.expect_code(2, &format!("{args:?}"));
        assert_eq!(r.stdout, "", "{args:?}");
    }
    let r = run(["run", "--agg", "count"]);
    r.expect_code(2, "missing --input");
    let r = run(["run", "--input", sample().to_str().unwrap()]);
    r.expect_code(2, "missing --agg");
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [vec!["--help"], vec!["run", "--help"], vec!["run", "-h"]] {
        let r = run(&args);
        r.expect_code(0, &format!("{args:?}"));
        let text = &r.stdout;
        assert!(text.contains("Exit codes"), "{args:?}: {text}");
        for (code, word) in [("0", "success"), ("1", "data"), ("2", "usage")] {
            assert!(
                text.lines().any(|l| {
                    let t = l.trim_start();
                    t.starts_with(code) && t[1..].starts_with(' ') && t.contains(word)
                }),
                "{args:?}: no line for exit code {code} ({word}):\n{text}"
            );
        }
    }
}

/// Every line rayproc writes on stderr (an error, a note, `split`'s
/// summary) went through `eprintln!`, which panics when stderr cannot be
/// written: `2>/dev/full`, or a closed pipe, turned exit 1 or 2 into a
/// panic's 101. The exit code is now the run's own.
#[cfg(unix)]
#[test]
fn a_stderr_that_cannot_be_written_keeps_the_exit_code() {
    let scratch = Scratch::new();
    let csv = scratch.write("t.csv", "k,x\na,1\nb,2\n");
    let store = scratch.path("t.store");
    let csv_path = csv.to_str().unwrap();
    let store_path = store.to_str().unwrap();
    for (args, code) in [
        (
            vec!["run", "-i", csv_path, "--agg", "count", "--where", "x >"],
            2,
        ),
        (vec!["run", "-i", "no-such.csv", "--agg", "count"], 1),
        (vec!["run", "-i", csv_path, "--agg", "sum:k"], 1),
        // a note on stderr, and success
        (
            vec!["run", "-i", csv_path, "--agg", "count", "--threads", "4096"],
            0,
        ),
        (vec!["split", "-i", csv_path, "--store", store_path], 0),
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(bin_path())
            .args(&args)
            .stderr(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

// ---------------------------------------------------------------------------
// names in messages

/// A file name is shown with its unprintable characters escaped: a newline
/// in it split the error into two lines, the second starting with the rest
/// of the name as if it were a message of its own.
#[test]
fn a_file_name_with_a_newline_is_shown_escaped_on_one_line() {
    let scratch = Scratch::new();
    let file = scratch.write("bad\nname.csv", "x\n1\nzz\n");
    let run = run_on(&file, &["--agg", "sum:x"]);
    run.expect_code(1, "a bad value");
    let want = format!(
        "rayproc: error: {}/bad\\nname.csv:3: column 'x': sum needs numbers, found \"zz\"\n",
        scratch.dir.path().display()
    );
    assert_eq!(run.stderr, want);
}

/// A column name from a header is shown with its control and bidirectional
/// characters escaped: an ESC reached the terminal as a command (here,
/// red text), an override reordered the rest of the line. A `'` in a name
/// and a combining mark after a letter show as they are.
#[test]
fn column_names_with_control_characters_are_shown_escaped() {
    let (_d, file) = temp_csv("k,a\x1b[31m,b\u{202e}c,it's,हिन्दी\nx,zz,1,2,3\n");
    let run = run_on(&file, &["--agg", "sum:z"]);
    run.expect_code(2, "an unknown column");
    let listed = r"available columns: 'k', 'a\u{1b}[31m', 'b\u{202e}c', 'it's', 'हिन्दी'";
    assert!(run.stderr.contains(listed), "{}", run.stderr);
    assert!(!run.stderr.contains(['\x1b', '\u{202e}']), "{}", run.stderr);

    // a data error names the column as a message shows it, not as typed
    let run = run_on(&file, &["--agg", "sum:a\x1b[31m"]);
    run.expect_code(1, "a bad value");
    let want = format!(
        "rayproc: error: {}:2: column 'a\\u{{1b}}[31m': sum needs numbers, found \"zz\"\n",
        file.display()
    );
    assert_eq!(run.stderr, want);
}

/// A path's bytes that are not UTF-8 are shown as `\xNN`: shown as U+FFFD,
/// `no\xff.csv` and `no\xfe.csv` gave the same message, and not the name
/// to look for.
#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_shown_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = Scratch::new();
    let missing = |name: &[u8]| {
        let file = scratch.dir.path().join(std::ffi::OsStr::from_bytes(name));
        let run = run_on(&file, &["--agg", "count"]);
        run.expect_code(1, "a missing file");
        run.stderr
    };
    let (ff, fe) = (missing(b"no\xff.csv"), missing(b"no\xfe.csv"));
    let dir = scratch.dir.path().display();
    assert!(
        ff.starts_with(&format!("rayproc: error: {dir}/no\\xff.csv: ")),
        "{ff}"
    );
    assert!(
        fe.starts_with(&format!("rayproc: error: {dir}/no\\xfe.csv: ")),
        "{fe}"
    );
    assert_eq!(ff.lines().count(), 1, "{ff}");
    assert!(!ff.contains('\u{FFFD}'), "{ff}");
}

// ---------------------------------------------------------------------------
// text the user typed, in messages

/// Whether `stderr` is lines of visible text: no control character but the
/// line ends (an ESC would reach the terminal as a command) and no
/// bidirectional override (which reorders what follows it).
fn visible(stderr: &str) -> bool {
    !stderr
        .chars()
        .any(|c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
}

/// The cases of a test that went wrong, each with its stderr: all of
/// them are checked, and a failure lists every one.
#[derive(Default)]
struct Misses(Vec<String>);

impl Misses {
    fn check(&mut self, case: impl std::fmt::Debug, ok: bool, stderr: &str) {
        if !ok {
            self.0.push(format!("{case:?} gave:\n{stderr}"));
        }
    }

    /// Checks that `stderr` is `want` exactly.
    fn exact(&mut self, case: impl std::fmt::Debug, stderr: &str, want: &str) {
        self.check(case, stderr == want, stderr);
    }

    #[track_caller]
    fn none(self) {
        assert!(
            self.0.is_empty(),
            "{} cases:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// A flag's value is echoed in its error as messages show every name: a
/// newline or ESC in it was printed raw, so that a stray line break split
/// the message over two lines and `--by $'k\e[31m'` turned the terminal
/// red. Plain text shows as before.
#[test]
fn a_flag_value_is_shown_escaped_in_its_error() {
    let (dir, csv) = temp_csv("k,x\na,1\n");
    let mut misses = Misses::default();
    let cases: [(&[&str], &str); 8] = [
        (
            &["--agg", "sum:x\x1b[31m"],
            "unknown column 'x\\u{1b}[31m' in --agg sum:x\\u{1b}[31m\n\
             available columns: 'k', 'x'",
        ),
        (
            &["--by", "k\x1b[31m", "--agg", "count"],
            "unknown column 'k\\u{1b}[31m' in --by k\\u{1b}[31m\navailable columns: 'k', 'x'",
        ),
        (
            &["--by", "day(t\u{202e}s)", "--agg", "count"],
            "unknown column 't\\u{202e}s' in --by day(t\\u{202e}s)\navailable columns: 'k', 'x'",
        ),
        (
            &["--agg", "sum\n:x,sum:x"],
            "output column 'sum_x' would appear twice (from --agg sum\\n:x and from --agg sum:x); \
             output column names must be unique: ask for each aggregate once",
        ),
        (
            &["--agg", "p9\nx:x"],
            "'p9\\nx' is not a percentile: use pNN with NN between 0 and 100, like p99 or p99.9 \
             (in --agg p9\\nx:x)",
        ),
        (
            &["--agg", "Approx_p9\x1b:x"],
            "'Approx_p9\\u{1b}' is not a percentile: use pNN with NN between 0 and 100, like p99 \
             or p99.9 (in --agg Approx_p9\\u{1b}:x)",
        ),
        (
            &["--by", "\"k\n\"#x", "--agg", "count"],
            "--by \"k\\n\"#x: after a quoted column name only #N may follow (the N-th column of \
             that name), not \"#x\"",
        ),
        (
            &["--by", "\"k\x1b", "--agg", "count"],
            "--by \"k\\u{1b}: a quoted column name is not closed; write \"NAME\" (a quote inside \
             is doubled: \"\")",
        ),
    ];
    for (args, want) in cases {
        let r = run_on(&csv, args);
        misses.exact(args, &r.stderr, &format!("rayproc: error: {want}\n"));
    }
    // an unknown function: the list of functions follows
    let r = run_on(&csv, &["--agg", "maen\x1b:x"]);
    let want = "rayproc: error: unknown aggregate function 'maen\\u{1b}' in --agg maen\\u{1b}:x;";
    let ok = r.stderr.starts_with(want) && visible(&r.stderr) && r.stderr.lines().count() == 1;
    misses.check("maen\x1b:x", ok, &r.stderr);
    // split --columns
    let store = dir.path("st");
    let r = run([
        "split",
        "-i",
        csv.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--columns",
        "k,z\x1b",
    ]);
    let want = "rayproc: error: unknown column 'z\\u{1b}' in --columns k,z\\u{1b}\n";
    misses.check("--columns k,z\x1b", r.stderr.starts_with(want), &r.stderr);
    // plain text as it always was
    let r = run_on(&csv, &["--agg", "sum:y"]);
    let want = "rayproc: error: unknown column 'y' in --agg sum:y\navailable columns: 'k', 'x'\n";
    misses.exact("sum:y", &r.stderr, want);
    misses.none();
}

/// A data error quotes the `--by` term or `--where` test it failed, which
/// may name a column with a line break or ESC in it: those are escaped as
/// the column's own name is.
#[test]
fn a_data_error_shows_the_typed_term_escaped() {
    let (_dir, csv) = temp_csv("\"t\ns\",\"v\x1b\"\nnope,n/a\n");
    let mut misses = Misses::default();
    let r = run_on(&csv, &["--by", "day(\"t\ns\")", "--agg", "count"]);
    let want = format!(
        "rayproc: error: {}:3: column 't\\ns': day(\"t\\ns\") needs a date-time or epoch \
         seconds, found \"nope\": ",
        csv.display()
    );
    let ok = r.code == 1 && r.stderr.starts_with(&want) && r.stderr.lines().count() == 1;
    misses.check("day(\"t\ns\")", ok, &r.stderr);
    let r = run_on(&csv, &["--where", "\"v\x1b\" > 1", "--agg", "count"]);
    let want = format!(
        "rayproc: error: {}:3: column 'v\\u{{1b}}': --where \"v\\u{{1b}}\" > 1 needs a number, \
         found \"n/a\" (if it marks a missing value, `--null n/a` reads it as null)\n",
        csv.display()
    );
    misses.exact("\"v\x1b\" > 1", &r.stderr, &want);
    misses.none();
}

/// A value clap refuses (`--format`, `--threads`, an unknown flag) is
/// quoted by clap's message, raw: a newline in it split the message.
#[test]
fn a_value_clap_refuses_is_shown_escaped() {
    let (_dir, csv) = temp_csv("k,x\na,1\n");
    let mut misses = Misses::default();
    for (args, want) in [
        (
            ["--format", "x\ny\u{202e}"],
            "error: invalid value 'x\\ny\\u{202e}' for '--format <FORMAT>'\n",
        ),
        (
            ["--threads", "1\x1b"],
            "error: invalid value '1\\u{1b}' for '--threads <N>': invalid digit found in string\n",
        ),
        (
            ["--no-such\n", "x"],
            "error: unexpected argument '--no-such\\n' found\n",
        ),
        // plain values as clap writes them
        (
            ["--format", "xml"],
            "error: invalid value 'xml' for '--format <FORMAT>'\n",
        ),
    ] {
        let r = run_on(&csv, &[&["--agg", "count"][..], &args].concat());
        let ok = r.code == 2 && r.stderr.starts_with(want) && visible(&r.stderr);
        misses.check(args, ok, &r.stderr);
    }
    misses.none();
}

/// A flag value with bytes that are not UTF-8 is shown with them as `\xNN`,
/// naming its flag: clap showed each as U+FFFD (`--format $'\xff'` and
/// `$'\xfe'` gave the same message), or, for a flag that takes text or a
/// number (`--agg`, `--by`, `--threads`), said only "invalid UTF-8 was
/// detected in one or more arguments". Still a usage error (exit 2); an
/// unknown argument is shown the same way, and paths still take any bytes.
#[cfg(unix)]
#[test]
fn a_flag_value_that_is_not_utf8_is_shown_escaped_naming_its_flag() {
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let scratch = Scratch::new();
    let csv = scratch.write("k.csv", "k,x\na,1\n");
    let store = scratch.path("st");
    let raw = |b: &[u8]| OsString::from_vec(b.to_vec());
    let args = |list: &[&[u8]]| -> Vec<OsString> { list.iter().map(|a| raw(a)).collect() };
    let csv_arg = csv.as_os_str().as_bytes();
    let store_arg = store.as_os_str().as_bytes();
    let mut misses = Misses::default();
    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (
            args(&[
                b"run",
                b"-i",
                csv_arg,
                b"--agg",
                b"count",
                b"--format",
                b"\xff",
            ]),
            r"invalid value '\xff' for '--format <FORMAT>': not UTF-8",
        ),
        (
            args(&[
                b"run",
                b"-i",
                csv_arg,
                b"--agg",
                b"count",
                b"--format",
                b"\xfe",
            ]),
            r"invalid value '\xfe' for '--format <FORMAT>': not UTF-8",
        ),
        (
            args(&[
                b"run",
                b"-i",
                csv_arg,
                b"--agg",
                b"count",
                b"--progress",
                b"a\xff",
            ]),
            r"invalid value 'a\xff' for '--progress <PROGRESS>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg", b"sum:\xff"]),
            r"invalid value 'sum:\xff' for '--agg <SPEC>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg=sum:\\\xff"]),
            r"invalid value 'sum:\\\xff' for '--agg <SPEC>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg", b"count", b"--by", b"\xff"]),
            r"invalid value '\xff' for '--by <COL[,COL...]>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg", b"count", b"-t", b"2\xff"]),
            r"invalid value '2\xff' for '--threads <N>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg", b"count", b"-p", b"\xff"]),
            r"invalid value '\xff' for '--partitions <N>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg", b"count", b"-d", b"\xff"]),
            r"invalid value '\xff' for '--delimiter <CHAR>': not UTF-8",
        ),
        (
            args(&[
                b"run",
                b"-i",
                csv_arg,
                b"--agg",
                b"count",
                b"--cluster",
                b"h\xff:1",
            ]),
            r"invalid value 'h\xff:1' for '--cluster <ADDRESS>': not UTF-8",
        ),
        (
            args(&[
                b"split",
                b"-i",
                csv_arg,
                b"--store",
                store_arg,
                b"--columns",
                b"k,\xff",
            ]),
            r"invalid value 'k,\xff' for '--columns <COL[,COL...]>': not UTF-8",
        ),
        (
            args(&[
                b"map", b"-i", csv_arg, b"--agg", b"count", b"--part", b"0/\xff",
            ]),
            r"invalid value '0/\xff' for '--part <I/N>': not UTF-8",
        ),
        (
            args(&[b"reduce", b"p.part", b"--format", b"\xff"]),
            r"invalid value '\xff' for '--format <FORMAT>': not UTF-8",
        ),
        (
            args(&[b"inspect", store_arg, b"--format", b"\xff"]),
            r"invalid value '\xff' for '--format <FORMAT>': not UTF-8",
        ),
        (
            args(&[b"run", b"-i", csv_arg, b"--agg", b"count", b"--no-such\xff"]),
            r"unexpected argument '--no-such\xff' found",
        ),
    ];
    for (args, want) in cases {
        let r = crate::common::run_bytes_with_stdin(&args, None);
        let ok = r.code == 2
            && r.stderr.starts_with(&format!("error: {want}\n"))
            && !r.stderr.contains('\u{fffd}')
            && visible(&r.stderr);
        misses.check(&args, ok, &r.stderr);
    }
    // paths take any bytes: a file named `k\xff.csv` is read, and the
    // result written to `out\xfe.csv`
    let odd = scratch.dir.path().join(OsStr::from_bytes(b"k\xff.csv"));
    std::fs::copy(&csv, &odd).unwrap();
    let out = scratch.dir.path().join(OsStr::from_bytes(b"out\xfe.csv"));
    let r = run([
        OsStr::new("run"),
        OsStr::new("-i"),
        odd.as_os_str(),
        OsStr::new("--agg"),
        OsStr::new("sum:x"),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    misses.check(
        "a path that is not UTF-8",
        r.code == 0 && r.stderr.is_empty(),
        &r.stderr,
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"sum_x\n1\n");
    misses.none();
}

/// `RAYPROC_SIMD` is typed too: its value was shown raw.
#[test]
fn a_bad_rayproc_simd_is_shown_escaped() {
    let out = crate::common::rayproc()
        .env("RAYPROC_SIMD", "avx\n2")
        .args(["run", "-i", sample().to_str().unwrap(), "--agg", "count"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let want = "rayproc: error: RAYPROC_SIMD=avx\\n2: unknown value; expected one of ";
    assert!(stderr.starts_with(want), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A `--where` error shows the expression on a line of its own with a
/// caret under the offending character. An ESC or bidirectional override
/// in it reached the terminal (in the token the message quotes, in a note,
/// in the regex crate's message; in the expression, an override reordered
/// the line), and the caret counted characters, so that each CJK
/// character (two cells) before it put it a cell early. Such characters
/// now show as their escapes, and the caret goes under the character as
/// the terminal shows the line.
#[test]
fn a_where_error_shows_the_expression_escaped_with_the_caret_in_place() {
    let (_dir, csv) = temp_csv("k,x\na,1\n");
    let mut misses = Misses::default();
    for (expr, want) in [
        (
            "k = 'a\u{202e}b' >> 3",
            "--where: expected and, or or the end of the expression after 'a\\u{202e}b', found \
             \">\" at column 11:\n  k = 'a\\u{202e}b' >> 3\n                   ^\n",
        ),
        (
            "k = 'x\x1b' y",
            "--where: expected and, or or the end of the expression after 'x\\u{1b}', found \
             \"y\" at column 10:\n  k = 'x\\u{1b}' y\n                ^\n",
        ),
        (
            "k = '日本' >> 3",
            "--where: expected and, or or the end of the expression after '日本', found \">\" \
             at column 10:\n  k = '日本' >> 3\n             ^\n",
        ),
        (
            "\"x\x1by\" = 1",
            "--where: unknown column \"x\\u{1b}y\" at column 1:\n  \"x\\u{1b}y\" = 1\n  ^\n\
             available columns: 'k', 'x'\n",
        ),
        (
            "k = \"a\x1bb\"",
            "--where: expected a number or a 'text' literal after \"=\", found \"a\\u{1b}b\" at \
             column 5:\n  k = \"a\\u{1b}b\"\n      ^\na column is compared with a literal, not \
             another column; text literals take single quotes: 'a\\u{1b}b'\n",
        ),
        (
            "k = 1 and \u{1b}",
            "--where: unexpected \"\\u{1b}\" at column 11:\n  k = 1 and \\u{1b}\n            ^\n",
        ),
        // as before: a combining mark joins its letter, a tab is a space
        (
            "k = 'e\u{301}' >> 3",
            "--where: expected and, or or the end of the expression after 'e\u{301}', found \
             \">\" at column 10:\n  k = 'e\u{301}' >> 3\n          ^\n",
        ),
        (
            "k\t>> 3",
            "--where: expected a number or a 'text' literal after \">\", found \">\" at column \
             4:\n  k >> 3\n     ^\n",
        ),
    ] {
        let r = run_on(&csv, &["--where", expr, "--agg", "count"]);
        misses.exact(expr, &r.stderr, &format!("rayproc: error: {want}"));
    }
    // the regex crate's message quotes the pattern: escaped there too
    let r = run_on(&csv, &["--where", "k ~ '\x1b[31m('", "--agg", "count"]);
    let ok = r.stderr.contains("\\u{1b}[31m(") && visible(&r.stderr);
    misses.check("k ~ '\x1b[31m('", ok, &r.stderr);
    // a backslash is code, shown as typed
    let r = run_on(&csv, &["--where", "k ~ '\\d+('", "--agg", "count"]);
    let ok = r.stderr.contains("at column 5:\n  k ~ '\\d+('\n      ^\n");
    misses.check("k ~ '\\d+('", ok, &r.stderr);
    misses.none();
}
