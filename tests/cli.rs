//! End-to-end tests of the `rayproc` command line, one contract sentence each.
//!
//! Expected values are worked out by hand (see the comments) or computed in
//! the test from the generated data, never taken from rayproc itself.

mod common;

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};

use serde_json::json;

use common::{
    bin_path, fail_all_partitions, fixture, run, run_all_partitions, run_everywhere, run_on,
    run_with_stdin, temp_csv, Lcg, Scratch,
};

// ---------------------------------------------------------------------------
// helpers local to this file

/// Builds a CSV text while tracking the physical line each record starts on.
struct CsvText {
    text: String,
    /// Newlines in `text` so far.
    newlines: usize,
}

impl CsvText {
    fn new(header: &str) -> CsvText {
        CsvText {
            text: format!("{header}\n"),
            newlines: 1,
        }
    }
    /// The 1-based physical line the next record will start on.
    fn next_line(&self) -> usize {
        1 + self.newlines
    }
    /// Appends a raw record (terminator included by the caller) and returns
    /// the line it starts on.
    fn push(&mut self, record: &str) -> usize {
        let line = self.next_line();
        self.text.push_str(record);
        self.newlines += record.matches('\n').count();
        line
    }
}

fn sample() -> PathBuf {
    fixture("sample.csv")
}

fn json_of(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn f64_of(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// The shortest round-trip text of a float, as the contract wants it
/// (Rust's `{:?}` prints exactly that, with `.0` for integral values).
fn float_text(v: f64) -> String {
    format!("{v:?}")
}

/// Checks that a `--format table` rendering is aligned: the second line is
/// a rule of dash runs, and every other line has one non-blank cell inside
/// each run and only spaces between runs.
fn assert_aligned(table: &str, columns: &[&str]) {
    let lines: Vec<Vec<char>> = table.lines().map(|l| l.chars().collect()).collect();
    assert!(lines.len() >= 2, "table has a header and a rule:\n{table}");
    let rule = &lines[1];
    assert!(
        rule.iter().all(|&c| c == '-' || c == ' ') && rule.contains(&'-'),
        "second line is a rule of dashes:\n{table}"
    );
    let mut spans = Vec::new();
    let mut i = 0;
    while i < rule.len() {
        if rule[i] == '-' {
            let start = i;
            while i < rule.len() && rule[i] == '-' {
                i += 1;
            }
            spans.push((start, i));
        } else {
            i += 1;
        }
    }
    assert_eq!(
        spans.len(),
        columns.len(),
        "one dash run per column:\n{table}"
    );
    for (n, line) in lines.iter().enumerate().filter(|&(n, _)| n != 1) {
        assert!(
            line.len() <= rule.len(),
            "line {n} is wider than the rule:\n{table}"
        );
        let mut prev_end = 0;
        for (j, &(start, end)) in spans.iter().enumerate() {
            let gap: String = line[prev_end.min(line.len())..start.min(line.len())]
                .iter()
                .collect();
            assert!(
                gap.trim().is_empty(),
                "line {n}: text outside the column runs ({gap:?}):\n{table}"
            );
            let cell: String = line[start.min(line.len())..end.min(line.len())]
                .iter()
                .collect();
            assert!(
                !cell.trim().is_empty(),
                "line {n}: column {j} is empty or misaligned:\n{table}"
            );
            if n == 0 {
                assert_eq!(cell.trim(), columns[j], "header cell {j}:\n{table}");
            }
            prev_end = end;
        }
    }
}

// ---------------------------------------------------------------------------
// the sample file

#[test]
fn sample_grouped_by_city_gives_the_exact_csv() {
    // Berlin: qty 1+2, price 7.25 and null, notes "with, comma" and null.
    // Lisbon: qty 5, price 3.5.
    // Paris:  qty 3+null+7, price 10.5,12,1e2 -> fsum 122.5 / 3 = 40.833333333333336.
    let r = run_on(
        &sample(),
        &[
            "--by",
            "city",
            "--agg",
            "count,sum:qty,mean:price,max:price,null_count:price,min:note,max:note",
        ],
    );
    r.expect_ok("sample --by city");
    assert_eq!(
        r.stdout,
        "city,count,sum_qty,mean_price,max_price,null_count_price,min_note,max_note\n\
         Berlin,2,3,7.25,7.25,1,\"with, comma\",\"with, comma\"\n\
         Lisbon,1,5,3.5,3.5,0,\"she said \"\"hi\"\"\",\"she said \"\"hi\"\"\"\n\
         Paris,3,10,40.833333333333336,100.0,0,\"5'11\"\" tall\",plain\n"
    );
}

#[test]
fn sample_without_groups_gives_one_exact_row() {
    // price: 10.5+7.25+12+3.5+100 = 133.25; qty: 3+1+5+2+7 = 18 over 5 = 3.6.
    let r = run_on(
        &sample(),
        &[
            "--agg",
            "count,sum:price,mean:qty,min:id,max:id,distinct:city,count:price,null_count:qty",
        ],
    );
    r.expect_ok("sample, no groups");
    assert_eq!(
        r.stdout,
        "count,sum_price,mean_qty,min_id,max_id,distinct_city,count_price,null_count_qty\n\
         6,133.25,3.6,1,6,3,5,1\n"
    );
}

#[test]
fn sample_answer_is_the_same_at_every_partition_and_thread_count() {
    let out = run_all_partitions(
        &[
            "--by",
            "city",
            "--agg",
            "count,sum:qty,mean:price,min:note,max:note,median:qty",
        ],
        &sample(),
    );
    assert!(out.starts_with("city,count,sum_qty,mean_price,min_note,max_note,median_qty\n"));
    assert_eq!(out.lines().count(), 1 + 3);
}

#[test]
fn group_by_a_column_holding_newlines_quotes_and_commas_prints_csv_quoted_keys() {
    // the note column as a key: every RFC 4180 escape appears in the output
    let r = run_on(
        &sample(),
        &["--by", "note", "--agg", "count", "--partitions", "3"],
    );
    r.expect_ok("--by note");
    assert_eq!(
        r.stdout,
        "note,count\n\
         \"5'11\"\" tall\",1\n\
         \"multi\nline\",1\n\
         plain,1\n\
         \"she said \"\"hi\"\"\",1\n\
         \"with, comma\",1\n\
         ,1\n"
    );
}

// ---------------------------------------------------------------------------
// output formats

#[test]
fn csv_is_the_default_format_when_stdout_is_not_a_terminal_and_null_is_an_empty_field() {
    let default = run_on(
        &sample(),
        &["--by", "city", "--agg", "count,mean:price,min:price"],
    );
    let csv = run_on(
        &sample(),
        &[
            "--by",
            "city",
            "--agg",
            "count,mean:price,min:price",
            "--format",
            "csv",
        ],
    );
    default.expect_ok("default format");
    csv.expect_ok("--format csv");
    assert_eq!(default.stdout, csv.stdout);
    let (_d, file) = temp_csv("k,x\na,1.5\nb,\n");
    let r = run_on(&file, &["--by", "k", "--agg", "count,sum:x,min:x"]);
    r.expect_ok("null aggregate");
    assert_eq!(r.stdout, "k,count,sum_x,min_x\na,1,1.5,1.5\nb,1,,\n");
}

#[test]
fn ndjson_prints_one_object_per_line_with_group_columns_first() {
    let r = run_on(
        &sample(),
        &[
            "--by",
            "city",
            "--agg",
            "count,mean:price,min:note",
            "--format",
            "ndjson",
        ],
    );
    r.expect_ok("ndjson");
    assert_eq!(
        r.stdout,
        "{\"city\":\"Berlin\",\"count\":2,\"mean_price\":7.25,\"min_note\":\"with, comma\"}\n\
         {\"city\":\"Lisbon\",\"count\":1,\"mean_price\":3.5,\"min_note\":\"she said \\\"hi\\\"\"}\n\
         {\"city\":\"Paris\",\"count\":3,\"mean_price\":40.833333333333336,\"min_note\":\"5'11\\\" tall\"}\n"
    );
    for line in r.stdout.lines() {
        let v = json_of(line);
        assert!(v.is_object(), "{line}");
    }
}

#[test]
fn json_prints_one_array_of_objects() {
    let r = run_on(
        &sample(),
        &[
            "--by",
            "city",
            "--agg",
            "count,sum:qty,max:price,min:note",
            "--format",
            "json",
        ],
    );
    r.expect_ok("json");
    assert_eq!(
        r.json(),
        json!([
            {"city": "Berlin", "count": 2, "sum_qty": 3, "max_price": 7.25, "min_note": "with, comma"},
            {"city": "Lisbon", "count": 1, "sum_qty": 5, "max_price": 3.5, "min_note": "she said \"hi\""},
            {"city": "Paris", "count": 3, "sum_qty": 10, "max_price": 100.0, "min_note": "5'11\" tall"},
        ])
    );
}

#[test]
fn json_prints_integers_as_integers_and_integral_floats_with_a_fraction() {
    let (_d, file) = temp_csv("i,f\n1,1.5\n2,1.5\n");
    let r = run_on(&file, &["--agg", "sum:i,sum:f", "--format", "ndjson"]);
    r.expect_ok("ndjson types");
    assert_eq!(r.stdout, "{\"sum_i\":3,\"sum_f\":3.0}\n");
}

#[test]
fn json_prints_null_for_null_and_infinite_floats() {
    // 1e308 + 1e308 = 2e308 exactly, which rounds to +inf; JSON has no inf.
    let (_d, file) = temp_csv("x,e\n1e308,\n1e308,\n");
    for format in ["json", "ndjson"] {
        let r = run_on(&file, &["--agg", "sum:x,min:e,count:e", "--format", format]);
        r.expect_ok(format);
        let v = if format == "json" {
            r.json()[0].clone()
        } else {
            json_of(r.stdout.trim_end())
        };
        assert_eq!(
            v,
            json!({"sum_x": null, "min_e": null, "count_e": 0}),
            "{format}"
        );
    }
}

#[test]
fn table_format_has_an_aligned_header() {
    let r = run_on(
        &sample(),
        &[
            "--by",
            "city",
            "--agg",
            "count,mean:price,min:note",
            "--format",
            "table",
        ],
    );
    r.expect_ok("table");
    assert_aligned(&r.stdout, &["city", "count", "mean_price", "min_note"]);
    assert_eq!(
        r.stdout.lines().count(),
        2 + 3,
        "header, rule, 3 rows:\n{}",
        r.stdout
    );
    assert!(r.stdout.contains("Berlin") && r.stdout.contains("40.833333333333336"));
}

// ---------------------------------------------------------------------------
// --output

#[test]
fn output_file_is_created_with_the_result_and_stdout_stays_empty() {
    let s = Scratch::new();
    let input = s.write("in.csv", std::fs::read(sample()).unwrap());
    let out = s.path("result.csv");
    let r = run_on(
        &input,
        &[
            "--by",
            "city",
            "--agg",
            "count",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    r.expect_ok("--output");
    assert_eq!(r.stdout, "");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "city,count\nBerlin,2\nLisbon,1\nParis,3\n"
    );
    assert_eq!(
        s.listing(),
        ["in.csv", "result.csv"],
        "no temporary file left"
    );
}

#[test]
fn output_file_defaults_to_csv_and_honours_format() {
    let s = Scratch::new();
    let out = s.path("r.json");
    let r = run_on(
        &sample(),
        &[
            "--agg",
            "count",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    r.expect_ok("--output json");
    assert_eq!(
        json_of(&std::fs::read_to_string(&out).unwrap()),
        json!([{"count": 6}])
    );
}

#[test]
fn output_file_is_not_created_on_a_data_error_and_no_temporary_is_left() {
    let s = Scratch::new();
    let input = s.write("in.csv", "x\n1\nnope\n2\n");
    let out = s.path("result.csv");
    let r = run_on(
        &input,
        &["--agg", "sum:x", "--output", out.to_str().unwrap()],
    );
    r.expect_code(1, "data error with --output");
    assert!(!out.exists(), "the target must not be created");
    assert_eq!(s.listing(), ["in.csv"], "no temporary file left");
}

#[test]
fn existing_output_file_is_left_unchanged_on_a_data_error() {
    let s = Scratch::new();
    let input = s.write("in.csv", "x,y\n1,2\n3\n");
    let out = s.write("result.csv", "previous content\n");
    let r = run_on(
        &input,
        &["--agg", "count", "--output", out.to_str().unwrap()],
    );
    r.expect_code(1, "field count error with --output");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous content\n");
    assert_eq!(
        s.listing(),
        ["in.csv", "result.csv"],
        "no temporary file left"
    );
}

#[test]
fn existing_output_file_is_replaced_on_success() {
    let s = Scratch::new();
    let input = s.write("in.csv", "x\n1\n2\n");
    let out = s.write(
        "result.csv",
        "previous content that is longer than the result\n",
    );
    let r = run_on(
        &input,
        &["--agg", "sum:x", "--output", out.to_str().unwrap()],
    );
    r.expect_ok("--output over an existing file");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "sum_x\n3\n");
    assert_eq!(s.listing(), ["in.csv", "result.csv"]);
}

#[test]
fn output_into_a_missing_directory_exits_1() {
    let s = Scratch::new();
    let out = s.path("no/such/dir/result.csv");
    let r = run_on(
        &sample(),
        &["--agg", "count", "--output", out.to_str().unwrap()],
    );
    r.expect_code(1, "unwritable --output");
    assert!(!r.stderr.is_empty());
}

// ---------------------------------------------------------------------------
// inputs

#[test]
fn input_dash_reads_standard_input() {
    let bytes = std::fs::read(sample()).unwrap();
    let r = run_with_stdin(
        [
            "run",
            "--input",
            "-",
            "--by",
            "city",
            "--agg",
            "count,sum:qty",
        ],
        Some(&bytes),
    );
    r.expect_ok("stdin");
    assert_eq!(
        r.stdout,
        "city,count,sum_qty\nBerlin,2,3\nLisbon,1,5\nParis,3,10\n"
    );
}

#[test]
fn input_dash_gives_the_same_answer_at_every_partition_count() {
    let bytes = std::fs::read(sample()).unwrap();
    let mut outs = Vec::new();
    for p in ["1", "2", "3", "7", "64"] {
        let r = run_with_stdin(
            [
                "run",
                "--input",
                "-",
                "--agg",
                "count,mean:price,min:note",
                "--partitions",
                p,
            ],
            Some(&bytes),
        );
        r.expect_ok(&format!("stdin --partitions {p}"));
        outs.push(r.stdout);
    }
    assert!(outs.iter().all(|o| o == &outs[0]), "{outs:?}");
}

#[test]
fn errors_in_standard_input_name_stdin_and_the_line() {
    let r = run_with_stdin(
        ["run", "--input", "-", "--agg", "mean:x"],
        // line 1 header, line 2, lines 3-4 (quoted newline), line 5 bad
        Some(b"x,n\n1,a\n2,\"b\nc\"\nbad,d\n"),
    );
    r.expect_code(1, "stdin error");
    assert!(r.stderr.contains("<stdin>:5:"), "stderr: {}", r.stderr);
}

#[test]
fn standard_input_can_be_read_only_once() {
    let r = run_with_stdin(
        ["run", "--input", "-", "--input", "-", "--agg", "count"],
        Some(b"x\n1\n"),
    );
    r.expect_code(2, "--input - twice");
}

#[test]
fn two_inputs_form_one_table() {
    let s = Scratch::new();
    let a = s.write("a.csv", "k,x\nb,1\na,2\n");
    let b = s.write("b.csv", "k,x\na,10\nc,\"20\"\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--by",
        "k",
        "--agg",
        "count,sum:x",
    ]);
    r.expect_ok("two inputs");
    assert_eq!(r.stdout, "k,count,sum_x\na,2,12\nb,1,1\nc,1,20\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--agg",
        "count,median:x",
        "--format",
        "json",
    ]);
    r.expect_ok("two inputs, no groups");
    let v = r.json();
    assert_eq!(v[0]["count"], 4);
    assert_eq!(f64_of(&v[0]["median_x"]), 6.0, "median of 1,2,10,20");
}

#[test]
fn two_inputs_with_different_headers_exit_1() {
    let s = Scratch::new();
    let a = s.write("a.csv", "k,x\nb,1\n");
    let b = s.write("b.csv", "k,y\na,10\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--agg",
        "count",
    ]);
    r.expect_code(1, "mismatched headers");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("b.csv"),
        "names the odd file: {}",
        r.stderr
    );
}

#[test]
fn an_error_in_the_second_input_names_that_file_and_its_own_line() {
    let s = Scratch::new();
    let a = s.write("a.csv", "k,x\nb,1\na,2\nc,3\n");
    let b = s.write("b.csv", "k,x\na,10\nc,oops\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--agg",
        "sum:x",
    ]);
    r.expect_code(1, "bad value in second input");
    let want = format!("{}:3:", b.display());
    assert!(
        r.stderr.contains(&want),
        "expected {want:?} in: {}",
        r.stderr
    );
}

#[test]
fn a_missing_input_file_exits_1() {
    let s = Scratch::new();
    let r = run_on(&s.path("missing.csv"), &["--agg", "count"]);
    r.expect_code(1, "missing input");
    assert!(r.stderr.contains("missing.csv"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// CSV dialect

#[test]
fn utf8_bom_is_stripped_from_the_first_column_name() {
    let r = run_on(&fixture("bom.csv"), &["--agg", "sum:id,sum:x"]);
    r.expect_ok("BOM");
    assert_eq!(r.stdout, "sum_id,sum_x\n4,6\n");
}

#[test]
fn crlf_line_endings_are_not_part_of_values() {
    let out = run_all_partitions(
        &["--by", "b", "--agg", "sum:a,sum:c,max:c", "--format", "csv"],
        &fixture("crlf.csv"),
    );
    assert_eq!(out, "b,sum_a,sum_c,max_c\nx,1,2,2\ny,2,3,3\n,3,4,4\n");
}

#[test]
fn a_last_line_without_newline_is_a_record() {
    let out = run_all_partitions(
        &["--agg", "count,sum:b,max:b"],
        &fixture("no_trailing_newline.csv"),
    );
    assert_eq!(out, "count,sum_b,max_b\n2,6,4\n");
}

#[test]
fn an_empty_file_gives_count_0_and_has_no_columns_to_name() {
    // no header: a named column cannot be checked (a typo would pass)
    let file = fixture("empty.csv");
    let stderr = fail_all_partitions(
        &["--agg", "count,sum:x,min:x,mean:x,distinct:x,count:x"],
        &file,
        1,
    );
    let want = format!(
        "{}: empty input, no header to check the columns against",
        file.display()
    );
    assert!(stderr.contains(&want), "{stderr}");
    assert_eq!(run_all_partitions(&["--agg", "count"], &file), "count\n0\n");
}

#[test]
fn a_header_only_file_gives_count_0_and_null_aggregates() {
    let out = run_all_partitions(
        &[
            "--agg",
            "count,sum:x,max:x,median:x,distinct:x,null_count:x",
        ],
        &fixture("header_only.csv"),
    );
    assert_eq!(
        out,
        "count,sum_x,max_x,median_x,distinct_x,null_count_x\n0,,,,0,0\n"
    );
    let (_d, no_newline) = temp_csv("x,k");
    let r = run_on(&no_newline, &["--agg", "count,sum:x"]);
    r.expect_ok("header without newline");
    assert_eq!(r.stdout, "count,sum_x\n0,\n");
}

#[test]
fn a_header_only_file_grouped_gives_no_rows() {
    let r = run_on(
        &fixture("header_only.csv"),
        &["--by", "k", "--agg", "count,sum:x"],
    );
    r.expect_ok("header only --by");
    assert_eq!(r.stdout, "k,count,sum_x\n");
}

#[test]
fn an_empty_input_next_to_a_non_empty_one_contributes_nothing() {
    // an empty input contributes nothing and has no header of its own
    let s = Scratch::new();
    let empty = s.write("empty.csv", "");
    let full = s.write("full.csv", "x\n5\n");
    let r = run([
        "run",
        "--input",
        empty.to_str().unwrap(),
        "--input",
        full.to_str().unwrap(),
        "--agg",
        "count,sum:x",
    ]);
    r.expect_ok("empty + full");
    assert_eq!(r.stdout, "count,sum_x\n1,5\n");
}

#[test]
fn blank_lines_are_skipped() {
    let out = run_all_partitions(&["--agg", "count,sum:a"], &fixture("blank_lines.csv"));
    assert_eq!(out, "count,sum_a\n3,6\n");
}

#[test]
fn more_partitions_than_records_give_the_same_answer() {
    let (_d, file) = temp_csv("k,x\na,1\nb,2\na,3\n");
    let mut outs = Vec::new();
    for p in ["1", "3", "4", "100", "1000"] {
        let r = run_on(
            &file,
            &["--by", "k", "--agg", "count,sum:x", "--partitions", p],
        );
        r.expect_ok(&format!("--partitions {p}"));
        assert_eq!(
            r.stdout, "k,count,sum_x\na,2,4\nb,1,2\n",
            "--partitions {p}"
        );
        outs.push(r.stdout);
    }
}

#[test]
fn quoted_fields_hold_delimiters_doubled_quotes_lf_and_crlf() {
    let (_d, file) = temp_csv(
        "k,v\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n\"l1\nl2\",3\n\"c1\r\nc2\",4\r\n\"a,b\",5\n",
    );
    let out = run_all_partitions(
        &["--by", "k", "--agg", "count,sum:v", "--format", "json"],
        &file,
    );
    assert_eq!(
        json_of(&out),
        json!([
            {"k": "a,b", "count": 2, "sum_v": 6},
            {"k": "c1\r\nc2", "count": 1, "sum_v": 4},
            {"k": "l1\nl2", "count": 1, "sum_v": 3},
            {"k": "say \"hi\"", "count": 1, "sum_v": 2},
        ])
    );
}

#[test]
fn a_quote_inside_an_unquoted_field_is_literal_data_at_every_partition_count() {
    let out = run_all_partitions(
        &[
            "--by",
            "height",
            "--agg",
            "count,min:name,max:note",
            "--format",
            "json",
        ],
        &fixture("stray_quotes.csv"),
    );
    assert_eq!(
        json_of(&out),
        json!([
            {"height": "5'11\" tall", "count": 2, "min_name": "ann", "max_note": "x, \"y\""},
            {"height": "5'4\"", "count": 1, "min_name": "dee", "max_note": "d"},
            {"height": "6'2\" tall", "count": 2, "min_name": "bob", "max_note": "multi\nline"},
        ])
    );
}

#[test]
fn quotes_inside_unquoted_fields_in_a_big_file_give_the_same_answer_at_every_partition_count() {
    // Stray quotes break the quote parity that a naive parallel split relies
    // on; quoted newlines after them would then be cut in the wrong place.
    let mut csv = CsvText::new("id,height,v");
    let (mut sum, mut strays, mut multis) = (0u64, 0u64, 0u64);
    for i in 0..6000u64 {
        let height = if i % 7 == 3 {
            strays += 1;
            "5'11\" tall".to_string()
        } else if i % 11 == 5 {
            multis += 1;
            "\"multi\nline, \"\"q\"\"\"".to_string()
        } else {
            "plain".to_string()
        };
        sum += i;
        csv.push(&format!("{i},{height},{i}\n"));
    }
    let (_d, file) = temp_csv(&csv.text);
    let out = run_all_partitions(
        &[
            "--agg",
            "count,sum:v,distinct:height,min:height,max:height",
            "--format",
            "json",
        ],
        &file,
    );
    assert_eq!(
        json_of(&out),
        json!([{
            "count": 6000, "sum_v": sum, "distinct_height": 3,
            "min_height": "5'11\" tall", "max_height": "plain"
        }])
    );
    let out = run_all_partitions(
        &["--by", "height", "--agg", "count", "--format", "json"],
        &file,
    );
    assert_eq!(
        json_of(&out),
        json!([
            {"height": "5'11\" tall", "count": strays},
            {"height": "multi\nline, \"q\"", "count": multis},
            {"height": "plain", "count": 6000 - strays - multis},
        ])
    );
}

#[test]
fn semicolon_delimiter_splits_fields_and_respects_quotes() {
    let out = run_all_partitions(
        &[
            "--delimiter",
            ";",
            "--by",
            "b",
            "--agg",
            "count,sum:c",
            "--format",
            "json",
        ],
        &fixture("semicolon.csv"),
    );
    assert_eq!(
        json_of(&out),
        json!([{"b": "x;y", "count": 2, "sum_c": 12}, {"b": "z", "count": 1, "sum_c": 6}])
    );
}

#[test]
fn tab_delimiter_is_given_as_tab_or_as_a_tab_character() {
    for delim in ["tab", "\t"] {
        let r = run_on(
            &fixture("tab.tsv"),
            &[
                "--delimiter",
                delim,
                "--by",
                "b",
                "--agg",
                "count,sum:c",
                "--format",
                "json",
            ],
        );
        r.expect_ok(&format!("--delimiter {delim:?}"));
        assert_eq!(
            r.json(),
            json!([{"b": "x\ty", "count": 2, "sum_c": 12}, {"b": "z", "count": 1, "sum_c": 6}]),
            "--delimiter {delim:?}"
        );
    }
}

#[test]
fn a_bad_delimiter_is_a_usage_error() {
    for delim in [";;", "\""] {
        let r = run_on(&sample(), &["--delimiter", delim, "--agg", "count"]);
        r.expect_code(2, &format!("--delimiter {delim:?}"));
    }
}

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
    let want = format!("{}:11:", file.display());
    assert!(stderr.contains(&want), "expected {want:?} in: {stderr}");
}

#[test]
fn wrong_field_count_with_too_many_fields_is_an_error_too() {
    let (_d, file) = temp_csv("a,b\n1,2\n3,4,5\n6,7\n");
    let stderr = fail_all_partitions(&["--agg", "count"], &file, 1);
    let want = format!("{}:3:", file.display());
    assert!(stderr.contains(&want), "expected {want:?} in: {stderr}");
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

/// Min/max skip the text of numeric batches and run again when the column
/// turns out to be text: the answer must still be the byte-order extreme of
/// every value, in every group, numbers included, at every partition count.
#[test]
fn min_and_max_of_a_column_that_turns_text_late() {
    let mut csv = String::from("g,x\n");
    let mut values: Vec<(char, String)> = Vec::new();
    for i in 0..12_000u64 {
        let g = if i % 3 == 0 { 'b' } else { 'a' };
        let v = match i {
            11_000 => "MID-text".to_string(),
            _ => ((i * 7919) % 100_003).to_string(),
        };
        csv.push_str(&format!("{g},{v}\n"));
        values.push((g, v));
    }
    let (_d, file) = temp_csv(&csv);
    let expect = |group: Option<char>| {
        let mut vs: Vec<&[u8]> = (values.iter())
            .filter(|(g, _)| group.is_none_or(|w| *g == w))
            .map(|(_, v)| v.as_bytes())
            .collect();
        vs.sort();
        let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        (s(vs[0]), s(vs[vs.len() - 1]))
    };
    let (min, max) = expect(None);
    let out = run_all_partitions(&["--agg", "min:x,max:x"], &file);
    assert_eq!(out, format!("min_x,max_x\n{min},{max}\n"));
    let out = run_all_partitions(&["--by", "g", "--agg", "min:x,max:x"], &file);
    let ((amin, amax), (bmin, bmax)) = (expect(Some('a')), expect(Some('b')));
    assert_eq!(
        out,
        format!("g,min_x,max_x\na,{amin},{amax}\nb,{bmin},{bmax}\n")
    );
    assert_eq!(amax, "MID-text", "the text value is in group a");
    assert_ne!(bmax, "MID-text", "group b saw numbers only");
}

/// Past 1024 groups, batches fold row by row into scattered states
/// (`update_scattered`): float sums and means with nulls must match a
/// reference, and a text value must still be reported at its own line.
#[test]
fn many_groups_of_floats_with_nulls() {
    use std::collections::BTreeMap;
    let mut csv = String::from("k,x\n");
    let mut reference: BTreeMap<u32, (u64, f64)> = BTreeMap::new();
    for i in 0..30_000u32 {
        let k = (i * 7919) % 3000;
        if i % 11 == 0 {
            csv.push_str(&format!("{k:04},\n"));
            reference.entry(k).or_insert((0, 0.0));
            continue;
        }
        // quarters: every partial sum is exact, whatever the order
        let x = (i % 400) as f64 / 4.0 - 37.25;
        csv.push_str(&format!("{k:04},{x:?}\n"));
        let e = reference.entry(k).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += x;
    }
    let (_d, file) = temp_csv(&csv);
    let mut want = String::from("k,count_x,sum_x,mean_x\n");
    for (k, (n, sum)) in &reference {
        let (sum, mean) = if *n == 0 {
            (String::new(), String::new())
        } else {
            (format!("{sum:?}"), format!("{:?}", sum / *n as f64))
        };
        want.push_str(&format!("{k},{n},{sum},{mean}\n"));
    }
    let out = run_all_partitions(&["--by", "k", "--agg", "count:x,sum:x,mean:x"], &file);
    assert_eq!(out, want);

    let bad = csv.replacen("\n0007,", "\n0007,oops", 1);
    let line = bad[..bad.find("oops").unwrap()].matches('\n').count() + 1;
    let (_d, file) = temp_csv(&bad);
    let stderr = fail_all_partitions(&["--by", "k", "--agg", "sum:x"], &file, 1);
    assert!(stderr.contains(&format!(":{line}:")), "{stderr}");
    assert!(stderr.contains("oops"), "{stderr}");
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

// ---------------------------------------------------------------------------
// stdout closed early, quiet mode

#[test]
fn a_closed_stdout_exits_0_quietly() {
    let s = Scratch::new();
    let mut text = String::from("id,v\n");
    for i in 0..100_000u64 {
        writeln!(text, "{i},{}", i % 7).unwrap();
    }
    let input = s.write("big.csv", &text);
    for format in ["csv", "ndjson"] {
        let mut child = StdCommand::new(bin_path())
            .args(["run", "--input"])
            .arg(&input)
            .args(["--by", "id", "--agg", "count,sum:v", "--format", format])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rayproc");
        drop(child.stdout.take()); // like `| head -0`: the reader is gone
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "{format}: exit status {status:?}, stderr: {stderr}"
        );
        assert_eq!(stderr, "", "{format}: stderr must stay empty");
    }
}

#[test]
fn quiet_mode_prints_nothing_on_stderr() {
    let (_d, file) = temp_csv(&{
        let mut t = String::from("k,x\n");
        for i in 0..50_000 {
            writeln!(t, "k{},{}.5", i % 13, i).unwrap();
        }
        t
    });
    for progress in ["always", "auto", "never"] {
        let r = run_on(
            &file,
            &[
                "--by",
                "k",
                "--agg",
                "count,mean:x",
                "--quiet",
                "--progress",
                progress,
            ],
        );
        r.expect_ok(&format!("--quiet --progress {progress}"));
        assert_eq!(r.stdout.lines().count(), 14);
    }
}

#[test]
fn quiet_mode_still_reports_errors() {
    let (_d, file) = temp_csv("x\n1\nq\n");
    let r = run_on(&file, &["--agg", "sum:x", "--quiet"]);
    r.expect_code(1, "--quiet error");
    assert!(
        r.stderr.contains(&format!("{}:3:", file.display())),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// grouping

#[test]
fn integer_keys_sort_numerically_with_007_and_7_one_group_and_null_last() {
    // group_keys.csv int_key: 10,9,-1,100,(null),2,9,007,7 with v = 1..9
    let out = run_all_partitions(
        &["--by", "int_key", "--agg", "count,sum:v"],
        &fixture("group_keys.csv"),
    );
    assert_eq!(
        out,
        "int_key,count,sum_v\n-1,1,3\n2,1,6\n7,2,17\n9,2,9\n10,1,1\n100,1,4\n,1,5\n"
    );
}

#[test]
fn float_keys_sort_numerically_with_2_and_2_0_one_group_and_null_last() {
    // float_key: 1.5,10,2,-0.5,(null),2.0,1.5,(null),10
    let out = run_all_partitions(
        &["--by", "float_key", "--agg", "count,sum:v"],
        &fixture("group_keys.csv"),
    );
    assert_eq!(
        out,
        "float_key,count,sum_v\n-0.5,1,4\n1.5,2,8\n2.0,2,9\n10.0,2,11\n,2,13\n"
    );
}

#[test]
fn text_keys_sort_in_byte_order_with_null_last() {
    // text_key: b,B,a,é,(null),Z,10,9,b
    let out = run_all_partitions(
        &["--by", "text_key", "--agg", "count,sum:v"],
        &fixture("group_keys.csv"),
    );
    assert_eq!(
        out,
        "text_key,count,sum_v\n10,1,7\n9,1,8\nB,1,2\nZ,1,6\na,1,3\nb,2,10\né,1,4\n,1,5\n"
    );
}

#[test]
fn distinct_and_extremes_follow_the_column_type() {
    let out = run_all_partitions(
        &[
            "--agg",
            "distinct:int_key,distinct:float_key,distinct:text_key,min:int_key,max:int_key,min:text_key,max:text_key,min:float_key,max:float_key",
        ],
        &fixture("group_keys.csv"),
    );
    assert_eq!(
        out,
        "distinct_int_key,distinct_float_key,distinct_text_key,min_int_key,max_int_key,min_text_key,max_text_key,min_float_key,max_float_key\n\
         6,4,7,-1,100,10,é,-0.5,10.0\n"
    );
}

#[test]
fn group_by_several_columns_sorts_by_the_first_then_the_next() {
    let (_d, file) = temp_csv("a,b,v\nx,10,1\ny,2,2\nx,9,3\n,1,4\nx,,5\ny,2,6\n");
    let out = run_all_partitions(&["--by", "a,b", "--agg", "count,sum:v"], &file);
    assert_eq!(
        out,
        "a,b,count,sum_v\nx,9,1,3\nx,10,1,1\nx,,1,5\ny,2,2,8\n,1,1,4\n"
    );
}

#[test]
fn distinct_counts_7_and_007_once_in_an_integer_column() {
    let (_d, file) = temp_csv("k\n7\n007\n+7\n8\n\n");
    let out = run_all_partitions(&["--agg", "distinct:k,count:k,null_count:k,sum:k"], &file);
    assert_eq!(out, "distinct_k,count_k,null_count_k,sum_k\n2,4,0,29\n");
}

#[test]
fn a_column_with_one_text_value_at_the_end_is_text_for_every_partition() {
    // 6000 rows of "7" / "007" and one "x" as the very last value: the
    // column is text, so "7" and "007" are different values and keys, and
    // min/max are in byte order, whatever the partitioning.
    let mut text = String::from("k,v\n");
    for i in 0..6000 {
        writeln!(text, "{},1", if i % 2 == 0 { "7" } else { "007" }).unwrap();
    }
    text.push_str("x,1\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(
        &["--agg", "distinct:k,min:k,max:k", "--format", "json"],
        &file,
    );
    assert_eq!(
        json_of(&out),
        json!([{"distinct_k": 3, "min_k": "007", "max_k": "x"}])
    );
    let out = run_all_partitions(&["--by", "k", "--agg", "count", "--format", "json"], &file);
    assert_eq!(
        json_of(&out),
        json!([{"k": "007", "count": 3000}, {"k": "7", "count": 3000}, {"k": "x", "count": 1}])
    );
}

#[test]
fn a_column_with_one_float_at_the_end_is_float_for_every_partition() {
    let mut text = String::from("k\n");
    for i in 0..6000 {
        writeln!(text, "{}", i % 10).unwrap();
    }
    text.push_str("0.5\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(
        &["--agg", "sum:k,max:k,min:k,distinct:k", "--format", "json"],
        &file,
    );
    // 600 * (0+...+9) + 0.5
    assert_eq!(
        json_of(&out),
        json!([{"sum_k": 27000.5, "max_k": 9.0, "min_k": 0.0, "distinct_k": 11}])
    );
    assert!(
        out.contains("\"max_k\":9.0"),
        "a float column prints 9.0: {out}"
    );
}

// ---------------------------------------------------------------------------
// exact arithmetic

#[test]
fn integer_sum_beyond_i64_max_is_printed_exactly() {
    let (_d, file) = temp_csv("x,y\n9223372036854775807,-9223372036854775808\n9223372036854775807,-9223372036854775808\n10,-9223372036854775808\n");
    let out = run_all_partitions(&["--agg", "sum:x,sum:y"], &file);
    // 2 * (2^63 - 1) + 10 = 18446744073709551624; 3 * -2^63 = -27670116110564327424
    assert_eq!(
        out,
        "sum_x,sum_y\n18446744073709551624,-27670116110564327424\n"
    );
}

#[test]
fn float_sum_is_exactly_rounded_1e100_plus_1_minus_1e100_is_1() {
    let mut text = String::from("x\n1e100\n");
    for _ in 0..3000 {
        text.push_str("0.0\n");
    }
    text.push_str("1\n");
    for _ in 0..3000 {
        text.push_str("0.0\n");
    }
    text.push_str("-1e100\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(&["--agg", "sum:x,mean:x,count:x"], &file);
    let n = 6003.0;
    assert_eq!(
        out,
        format!("sum_x,mean_x,count_x\n1.0,{},6003\n", float_text(1.0 / n))
    );
}

#[test]
fn float_sum_of_ten_tenths_is_exactly_1() {
    let (_d, file) = temp_csv("x\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n");
    let out = run_all_partitions(&["--agg", "sum:x,mean:x"], &file);
    assert_eq!(out, "sum_x,mean_x\n1.0,0.1\n");
}

#[test]
fn mean_var_std_of_known_values() {
    // 2,4,4,4,5,5,7,9: mean 5, squared deviations sum to 32;
    // var = 32/7, std = sqrt(32/7), var_pop = 4, std_pop = 2.
    let (_d, file) = temp_csv("x\n2\n4\n4\n4\n5\n5\n7\n9\n");
    let out = run_all_partitions(
        &[
            "--agg",
            "mean:x,var:x,std:x,var_pop:x,std_pop:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    assert_eq!(f64_of(&v["mean_x"]), 5.0);
    assert_eq!(f64_of(&v["var_x"]), 4.571428571428571);
    assert_eq!(f64_of(&v["std_x"]), 2.138089935299395);
    assert_eq!(f64_of(&v["var_pop_x"]), 4.0);
    assert_eq!(f64_of(&v["std_pop_x"]), 2.0);
}

#[test]
fn variance_of_large_offset_integers_is_exact() {
    // 10^17 + 1, 10^17 + 2, 10^17 + 3: deviations -1, 0, 1 -> var 1,
    // var_pop 2/3, std_pop sqrt(2/3). A naive float computation loses it all.
    let (_d, file) = temp_csv("x\n100000000000000001\n100000000000000002\n100000000000000003\n");
    let out = run_all_partitions(
        &[
            "--agg",
            "var:x,std:x,var_pop:x,std_pop:x,sum:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    assert_eq!(f64_of(&v["var_x"]), 1.0);
    assert_eq!(f64_of(&v["std_x"]), 1.0);
    assert_eq!(f64_of(&v["var_pop_x"]), 2.0 / 3.0);
    assert_eq!(f64_of(&v["std_pop_x"]), 0.816496580927726);
    assert!(out.contains("\"sum_x\":300000000000000006"), "{out}");
}

#[test]
fn variance_of_large_offset_floats_is_exact() {
    // 1e9 + 0.5 and 1e9 + 1.5 are exact doubles: var = 0.5, var_pop = 0.25.
    let (_d, file) = temp_csv("x\n1000000000.5\n1000000001.5\n");
    let out = run_all_partitions(&["--agg", "var:x,var_pop:x,mean:x"], &file);
    assert_eq!(out, "var_x,var_pop_x,mean_x\n0.5,0.25,1000000001.0\n");
}

#[test]
fn median_and_percentiles_use_linear_interpolation() {
    // 10,20,30,40,50 (stored shuffled, with a null):
    //   p99: position 0.99 * 4 = 3.96 -> 40 + 0.96 * 10 = 49.6
    //   p10: position 0.4 -> 14; p25: position 1 -> 20; median 30
    let (_d, file) = temp_csv("x\n40\n10\n\n50\n30\n20\n");
    let out = run_all_partitions(
        &[
            "--agg",
            "median:x,p99:x,p10:x,p25:x,p0:x,p100:x,p50:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    for (name, want) in [
        ("median_x", 30.0),
        ("p99_x", 49.6),
        ("p10_x", 14.0),
        ("p25_x", 20.0),
        ("p0_x", 10.0),
        ("p100_x", 50.0),
        ("p50_x", 30.0),
    ] {
        assert_eq!(f64_of(&v[name]), want, "{name} in {out}");
    }
}

#[test]
fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
    let (_d, file) = temp_csv("x\n4\n1\n3\n2\n");
    let out = run_all_partitions(&["--agg", "median:x"], &file);
    assert_eq!(out, "median_x\n2.5\n");
}

#[test]
fn p99_9_is_a_percentile_spec() {
    // 0..=1000: p99.9 -> position 999 -> 999; p0.1 -> position 1 -> 1.
    let mut text = String::from("x\n");
    for i in (0..=1000).rev() {
        writeln!(text, "{i}").unwrap();
    }
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(&["--agg", "p99.9:x,p0.1:x", "--format", "json"], &file);
    let v = &json_of(&out)[0];
    assert_eq!(f64_of(&v["p99.9_x"]), 999.0, "{out}");
    assert_eq!(f64_of(&v["p0.1_x"]), 1.0, "{out}");
}

#[test]
fn count_alone_counts_rows_and_count_column_counts_non_null_values() {
    let (_d, file) = temp_csv("a,b\n1,\n,\n3,x\n");
    let out = run_all_partitions(
        &["--agg", "count,count:a,count:b,null_count:a,null_count:b"],
        &file,
    );
    assert_eq!(
        out,
        "count,count_a,count_b,null_count_a,null_count_b\n3,2,1,1,2\n"
    );
}

#[test]
fn aggregates_over_only_nulls_are_null_and_counts_are_0() {
    let (_d, file) = temp_csv("k,x\na,\na,\nb,1\nb,3\n");
    let aggs = "count,count:x,sum:x,mean:x,min:x,max:x,var:x,std_pop:x,median:x,p99:x,distinct:x,null_count:x";
    let out = run_all_partitions(&["--by", "k", "--agg", aggs], &file);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("k,count,count_x,sum_x,mean_x,min_x,max_x,var_x,std_pop_x,median_x,p99_x,distinct_x,null_count_x")
    );
    assert_eq!(
        lines.next(),
        Some("a,2,0,,,,,,,,,0,2"),
        "all-null group:\n{out}"
    );
    let out = run_all_partitions(&["--by", "k", "--agg", aggs, "--format", "json"], &file);
    let b = &json_of(&out)[1];
    assert_eq!(b["k"], "b");
    assert_eq!(
        (b["count"].clone(), b["count_x"].clone(), b["sum_x"].clone()),
        (json!(2), json!(2), json!(4))
    );
    assert_eq!(
        (b["min_x"].clone(), b["max_x"].clone()),
        (json!(1), json!(3)),
        "an integer column's min and max are integers"
    );
    for (name, want) in [
        ("mean_x", 2.0),
        ("var_x", 2.0),
        ("std_pop_x", 1.0),
        ("median_x", 2.0),
        ("p99_x", 2.98),
    ] {
        assert_eq!(f64_of(&b[name]), want, "{name} in {out}");
    }
}

#[test]
fn several_agg_flags_and_lists_keep_their_order() {
    let r = run_on(
        &sample(),
        &[
            "--agg",
            "max:qty",
            "--agg",
            "count, min:qty",
            "-a",
            "sum:qty",
        ],
    );
    r.expect_ok("repeated --agg");
    assert_eq!(r.stdout, "max_qty,count,min_qty,sum_qty\n7,6,1,18\n");
}

// ---------------------------------------------------------------------------
// --partitions / --threads invariance on a larger generated file

/// ~20k records with quoted newlines (LF and CRLF), quoted commas, doubled
/// quotes, nulls, blank lines and mixed line endings. Returns the text and
/// the expected totals computed here.
fn generated_table() -> (String, serde_json::Value) {
    let mut rng = Lcg(42);
    let mut csv = CsvText::new("id,grp,x,n,note");
    let groups = [
        "alpha",
        "beta",
        "\"gamma, delta\"",
        "\"multi\nline\"",
        "\"say \"\"hi\"\"\"",
    ];
    let notes = [
        "plain",
        "\"two\nlines\"",
        "\"crlf\r\ninside\"",
        "\"a,b\"",
        "",
        "\"q \"\"x\"\"\"",
    ];
    let (mut count, mut x_count, mut n_sum, mut n_min, mut n_max) =
        (0u64, 0u64, 0i64, i64::MAX, i64::MIN);
    for i in 0..20_000i64 {
        let grp = groups[rng.below(groups.len() as u64) as usize];
        let x = if rng.below(13) == 0 {
            String::new()
        } else {
            x_count += 1;
            format!("{}.{:02}", rng.below(100_000), rng.below(100))
        };
        let n = rng.below(2_000_001) as i64 - 1_000_000;
        let note = notes[rng.below(notes.len() as u64) as usize];
        let end = if i % 5 == 0 { "\r\n" } else { "\n" };
        csv.push(&format!("{i},{grp},{x},{n},{note}{end}"));
        if i % 997 == 0 {
            csv.push("\n"); // blank line
        }
        count += 1;
        n_sum += n;
        n_min = n_min.min(n);
        n_max = n_max.max(n);
    }
    let expected = json!({
        "count": count, "count_x": x_count, "null_count_x": count - x_count,
        "sum_n": n_sum, "min_n": n_min, "max_n": n_max, "distinct_note": 5, "distinct_grp": 5
    });
    (csv.text, expected)
}

#[test]
fn partitions_and_threads_never_change_the_output_on_20k_rows_with_quoted_newlines() {
    let (text, expected) = generated_table();
    let (_d, file) = temp_csv(&text);
    let aggs = "count,count:x,sum:x,mean:x,var:x,std_pop:x,min:x,max:x,median:x,p99:x,null_count:x,sum:n,min:n,max:n,distinct:note,distinct:grp,min:note,max:note";
    let out = run_all_partitions(&["--agg", aggs, "--format", "json"], &file);
    let v = &json_of(&out)[0];
    for key in [
        "count",
        "count_x",
        "null_count_x",
        "sum_n",
        "min_n",
        "max_n",
        "distinct_note",
        "distinct_grp",
    ] {
        assert_eq!(v[key], expected[key], "{key} in {out}");
    }
    assert_eq!(v["min_note"], json!("a,b"), "{out}");
    assert_eq!(v["max_note"], json!("two\nlines"), "{out}");
    let grouped = run_all_partitions(&["--by", "grp", "--agg", aggs, "--format", "json"], &file);
    let groups = json_of(&grouped);
    let groups = groups.as_array().expect("an array");
    let keys: Vec<&str> = groups.iter().map(|g| g["grp"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["alpha", "beta", "gamma, delta", "multi\nline", "say \"hi\""],
        "group keys in byte order"
    );
    let per_group: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    let per_group_n: i64 = groups.iter().map(|g| g["sum_n"].as_i64().unwrap()).sum();
    assert_eq!(
        (per_group, per_group_n),
        (20_000, expected["sum_n"].as_i64().unwrap())
    );
    let grouped = run_all_partitions(
        &[
            "--by",
            "grp,note",
            "--agg",
            "count,sum:n",
            "--format",
            "json",
        ],
        &file,
    );
    let rows = json_of(&grouped);
    let total: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 20_000);
    assert_eq!(
        rows.as_array().unwrap().len(),
        5 * 6,
        "every (grp, note) pair, null notes included"
    );
}

#[test]
fn partitions_and_threads_never_change_an_error() {
    // the same check as above but for an error far into the file
    let (mut text, _) = generated_table();
    let line = 1 + text.matches('\n').count();
    text.push_str("20000,alpha,1.0,not-a-number,plain\n");
    let (_d, file) = temp_csv(&text);
    let runs = run_everywhere(&["--agg", "sum:n"], &file);
    for (label, r) in &runs {
        r.expect_code(1, label);
        let want = format!("{}:{line}:", file.display());
        assert!(
            r.stderr.contains(&want),
            "{label}: expected {want:?} in {}",
            r.stderr
        );
        assert!(r.stderr.contains("not-a-number"), "{label}: {}", r.stderr);
    }
}

// ---------------------------------------------------------------------------
// typing across batches and partitions

#[test]
fn a_column_that_is_float_because_of_one_value_sums_every_value_as_a_float() {
    // 2^53 + 1 is an i64 but not a double: as a float it is 2^53. The column
    // is float (one "0.5" at the end), so the sum is fsum of the doubles:
    // 3000 * 2^53 + 3000 * 2^53 + 0.5 = 6000 * 2^53 (+0.5 rounds away).
    let mut text = String::from("x\n");
    for i in 0..6000 {
        text.push_str(if i % 2 == 0 {
            "9007199254740992\n"
        } else {
            "9007199254740993\n"
        });
    }
    text.push_str("0.5\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(
        &[
            "--agg",
            "sum:x,max:x,distinct:x,count:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    let two53 = 9007199254740992.0f64;
    assert_eq!(f64_of(&v["sum_x"]), 6000.0 * two53, "{out}");
    assert_eq!(f64_of(&v["max_x"]), two53, "{out}");
    assert!(
        v["max_x"].is_f64(),
        "max of a float column is a float: {out}"
    );
    assert_eq!(v["distinct_x"], 2, "2^53 and 0.5 as doubles: {out}");
    assert_eq!(v["count_x"], 6001);
}

#[test]
fn integer_looking_keys_join_their_float_group_when_the_column_is_float() {
    // 6000 rows of "2" then "2.0" and "2.5": the column is float, "2" and
    // "2.0" are the same key.
    let mut text = String::from("k,v\n");
    for _ in 0..6000 {
        text.push_str("2,1\n");
    }
    text.push_str("2.0,1\n2.5,1\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(&["--by", "k", "--agg", "count,sum:v"], &file);
    assert_eq!(out, "k,count,sum_v\n2.0,6001,6001\n2.5,1,1\n");
}

#[test]
fn distinct_counts_values_of_the_column_type() {
    // float column: 1, 1.0, 1e0 are one value; text column: bytes differ
    let (_d, file) = temp_csv("f,t\n1,a\n1.0,A\n1e0,a\n2.5,\n,a \n");
    let out = run_all_partitions(&["--agg", "distinct:f,distinct:t"], &file);
    assert_eq!(out, "distinct_f,distinct_t\n2,3\n");
}

#[test]
fn an_empty_file_grouped_is_refused() {
    // no header to check the key column against
    let stderr = fail_all_partitions(&["--by", "k", "--agg", "count"], &fixture("empty.csv"), 1);
    assert!(stderr.contains("empty input, no header"), "{stderr}");
}

#[test]
fn the_default_partitioning_of_a_big_file_gives_the_single_partition_answer() {
    // over 1 MiB, so rayproc picks several partitions by itself
    let mut rng = Lcg(99);
    let mut text = String::from("k,x,note\n");
    while text.len() < 3 << 20 {
        let note = if rng.below(4) == 0 {
            "\"a\nb, \"\"c\"\"\""
        } else {
            "d"
        };
        writeln!(
            text,
            "k{},{}.{},{note}",
            rng.below(50),
            rng.below(1000),
            rng.below(1000)
        )
        .unwrap();
    }
    let (_d, file) = temp_csv(&text);
    let args = [
        "--by",
        "k",
        "--agg",
        "count,sum:x,mean:x,var:x,median:x,min:note",
        "--format",
        "json",
    ];
    let default = run_on(&file, &args);
    default.expect_ok("default partitions");
    let mut one_args = args.to_vec();
    one_args.extend(["--partitions", "1", "--threads", "1"]);
    let one = run_on(&file, &one_args);
    one.expect_ok("--partitions 1");
    assert_eq!(default.stdout, one.stdout);
    assert_eq!(
        json_of(&default.stdout).as_array().map(Vec::len),
        Some(50),
        "k0..k49"
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
fn progress_always_on_a_pipe_writes_plain_lines_to_stderr_only() {
    let (_d, file) = temp_csv(&{
        let mut t = String::from("x\n");
        for i in 0..20_000 {
            writeln!(t, "{i}").unwrap();
        }
        t
    });
    let r = run_on(
        &file,
        &[
            "--agg",
            "sum:x",
            "--progress",
            "always",
            "--partitions",
            "4",
        ],
    );
    r.expect_code(0, "--progress always");
    assert_eq!(
        r.stdout, "sum_x\n199990000\n",
        "progress never goes to stdout"
    );
    let last = r.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("rayproc: ") && last.ends_with("partitions 4/4"),
        "{:?}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\u{1b}'),
        "no terminal escapes in a log: {:?}",
        r.stderr
    );
    // auto: stderr is not a terminal here, so nothing
    run_on(&file, &["--agg", "sum:x", "--progress", "auto"]).expect_ok("--progress auto on a pipe");
}

#[test]
fn negative_zero_is_a_float_whatever_the_partitioning() {
    // "-0" is the float -0.0 (an integer cannot keep the sign), so both
    // files are float columns of negative zeros at every partition count.
    for text in ["x\n-0.0\n-0\n", "x\n-0\n-0.0\n", "x\n-0\n-00\n"] {
        let (_d, file) = temp_csv(text);
        let out = run_all_partitions(&["--agg", "sum:x,min:x,max:x,mean:x,distinct:x"], &file);
        assert_eq!(
            out, "sum_x,min_x,max_x,mean_x,distinct_x\n-0.0,-0.0,-0.0,-0.0,1\n",
            "{text:?}"
        );
    }
    let (_d, file) = temp_csv("x\n-0\n0\n");
    let out = run_all_partitions(&["--agg", "sum:x,min:x,max:x"], &file);
    assert_eq!(out, "sum_x,min_x,max_x\n0.0,-0.0,0.0\n");
}

#[test]
fn integers_with_many_leading_zeros_are_still_integers() {
    let (_d, file) = temp_csv("x\n00000000000000000001\n2\n");
    assert_eq!(run_all_partitions(&["--agg", "sum:x"], &file), "sum_x\n3\n");
}

#[test]
fn many_groups_take_the_partitioned_path_and_keep_exact_answers() {
    // 60k keys: past the 32k groups per worker where workers switch to the
    // radix-partitioned group-by; every count and sum is checked, at every
    // partition and thread count
    let groups = 60_000u64;
    let mut csv = String::from("key,n,x\n");
    let mut rng = Lcg(7);
    let mut want = std::collections::BTreeMap::new();
    for i in 0..240_000u64 {
        let g = if i < groups { i } else { rng.next() % groups };
        let n = (rng.next() % 2_000) as i64 - 1_000;
        let (count, sum) = want.entry(format!("k{g:05}")).or_insert((0u64, 0i64));
        *count += 1;
        *sum += n;
        // x: a float column with a null now and then
        let x = if i % 17 == 0 {
            String::new()
        } else {
            format!("{}.5", n)
        };
        writeln!(csv, "k{g:05},{n},{x}").unwrap();
    }
    let (_dir, path) = temp_csv(&csv);
    let out = run_all_partitions(&["--by", "key", "--agg", "count,sum:n,count:x"], &path);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("key,count,sum_n,count_x"));
    let got: Vec<&str> = lines.collect();
    assert_eq!(got.len(), groups as usize);
    for (line, (key, (count, sum))) in got.iter().zip(&want) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(
            fields[..3],
            [key.as_str(), &count.to_string(), &sum.to_string()]
        );
    }
}

#[test]
fn distinct_of_many_texts_is_exact_with_few_and_many_threads() {
    // past 64k distinct texts, in a pool of 8 or more threads, the sets are
    // split by hash and merged part by part in parallel
    let mut csv = String::from("key\n");
    let mut rng = Lcg(11);
    let mut want = std::collections::HashSet::new();
    for _ in 0..200_000 {
        let key = format!("t{}", rng.next() % 150_000);
        writeln!(csv, "{key}").unwrap();
        want.insert(key);
    }
    let (_dir, path) = temp_csv(&csv);
    for (threads, partitions) in [("1", "1"), ("8", "16"), ("9", "3")] {
        let out = run_on(
            &path,
            &[
                "--agg",
                "distinct:key",
                "--threads",
                threads,
                "--partitions",
                partitions,
            ],
        );
        out.expect_ok("distinct");
        assert_eq!(
            out.stdout,
            format!("distinct_key\n{}\n", want.len()),
            "{threads} threads"
        );
    }
}
