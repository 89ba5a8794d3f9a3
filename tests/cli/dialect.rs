//! The CSV dialect: a UTF-8 BOM, CRLF, a last line without a newline,
//! empty and header-only files, blank lines, quoted fields holding
//! delimiters, doubled quotes and line breaks, quotes inside unquoted
//! fields, and `--delimiter`; the same answer at every partition count.

use serde_json::json;

use crate::common::{
    fail_all_partitions, fixture, json_of, run, run_all_partitions, run_on, sample, temp_csv,
    CsvText, Scratch,
};

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

/// An input of blank lines (or a byte-order mark) only has no header and
/// no rows, as an input of no bytes: with `--no-header` its blank lines
/// were records of no field, and the scanner's index went out of bounds
/// (a panic, exit 101); without it, beside another input it was a file of
/// 0 columns whose columns differ (exit 1), and naming a column gave "the
/// input has no columns" (exit 2) where an empty input gives exit 1.
#[test]
fn an_input_of_blank_lines_only_is_an_empty_input() {
    let s = Scratch::new();
    let other = s.write("other.csv", "a,b\n1,2\n");
    for (i, blank) in [
        &b"\n"[..],
        b"\n\n\n",
        b"\r\n",
        b"\r",
        b"\xef\xbb\xbf\n",
        b"\xef\xbb\xbf",
    ]
    .into_iter()
    .enumerate()
    {
        let file = s.write(&format!("blank{i}.csv"), blank);
        let gz = s.write(&format!("blank{i}.csv.gz"), crate::common::gzip(blank));
        for input in [&file, &gz] {
            for header in [&[][..], &["--no-header"]] {
                let mut args = vec!["--agg", "count"];
                args.extend(header);
                let r = run_on(input, &args);
                r.expect_ok("count of blank lines");
                assert_eq!(r.stdout, "count\n0\n", "{blank:?} {header:?}");
                let mut args = vec!["--agg", "sum:a"];
                args.extend(header);
                let r = run_on(input, &args);
                r.expect_code(1, "a column of blank lines");
                assert!(r.stderr.contains("empty input, no header"), "{}", r.stderr);
            }
            // beside another input: its rows alone
            let r = run([
                "run",
                "--input",
                other.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--agg",
                "count,sum:a",
            ]);
            r.expect_ok("beside another input");
            assert_eq!(r.stdout, "count,sum_a\n1,1\n", "{blank:?}");
        }
        let r = crate::common::run_with_stdin(
            ["run", "--no-header", "--input", "-", "--agg", "count"],
            Some(blank),
        );
        r.expect_ok("standard input of blank lines");
        assert_eq!(r.stdout, "count\n0\n", "{blank:?}");
    }
}

/// Files whose headers differ: the error names the line the header is on,
/// after blank lines (it named line 1).
#[test]
fn a_header_after_blank_lines_is_named_at_its_line() {
    let s = Scratch::new();
    let good = s.write("good.csv", "a,b\n1,2\n");
    let bad = s.write("bad.csv", "\n\r\n\na,c\n1,2\n");
    let r = run([
        "run",
        "--input",
        good.to_str().unwrap(),
        "--input",
        bad.to_str().unwrap(),
        "--agg",
        "count",
    ]);
    r.expect_code(1, "headers differ");
    let want = format!("{}:4: its columns differ", bad.display());
    assert!(
        r.stderr.contains(&want),
        "expected {want:?} in: {}",
        r.stderr
    );
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

#[test]
fn an_empty_file_grouped_is_refused() {
    // no header to check the key column against
    let stderr = fail_all_partitions(&["--by", "k", "--agg", "count"], &fixture("empty.csv"), 1);
    assert!(stderr.contains("empty input, no header"), "{stderr}");
}
