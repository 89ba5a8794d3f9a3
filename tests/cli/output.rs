//! What is written where: the formats (`csv` by default on a pipe,
//! `json`, `ndjson`, an aligned `table`), `--output` files (created only on
//! success, replaced atomically, never half written), a stdout closed early
//! (`| head`), `--quiet`, and `--progress` lines, which go to stderr only.

use std::fmt::Write as _;
use std::io::Read;
use std::process::{Command as StdCommand, Stdio};

use serde_json::json;

use crate::common::{bin_path, json_of, run, run_on, sample, temp_csv, Scratch};

// ---------------------------------------------------------------------------
// helpers local to this module

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

/// A typed input's empty string is a value, another key than null, and CSV
/// output keeps them apart as DuckDB and Polars write them: the empty text
/// as `""`, null as an empty field. Both were an empty field: two rows with
/// the same key, and a `min` of `""` that read as no value.
#[test]
fn csv_writes_an_empty_text_as_two_quotes_and_null_as_nothing() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    let s = Scratch::new();
    let path = s.path("k.parquet");
    let k = StringArray::from(vec![Some(""), None, Some("a"), Some("")]);
    let x = Int64Array::from(vec![1, 2, 3, 4]);
    let batch = RecordBatch::try_from_iter([
        ("k", Arc::new(k) as ArrayRef),
        ("x", Arc::new(x) as ArrayRef),
    ])
    .unwrap();
    crate::common::write_parquet(&path, &batch, None);
    let r = run_on(&path, &["--by", "k", "--agg", "sum:x,min:k", "-f", "csv"]);
    r.expect_ok("empty text and null keys");
    assert_eq!(r.stdout, "k,sum_x,min_k\n\"\",5,\"\"\na,3,a\n,2,\n");
}

/// A one-column result whose value is null was a blank line after its
/// header, which CSV readers skip, rayproc's among them: read back, the
/// result had no row. It is `""` now, which reads back as null.
#[test]
fn a_one_column_null_result_reads_back_as_one_null_row() {
    let s = Scratch::new();
    let input = s.write("in.csv", "k,x\na,1\nb,\nc,\n");
    let out = s.path("out.csv");
    let r = run([
        "run",
        "-i",
        input.to_str().unwrap(),
        "--where",
        "k = 'b'",
        "--agg",
        "max:x",
        "-o",
        out.to_str().unwrap(),
    ]);
    r.expect_ok("a null max");
    assert_eq!(std::fs::read(&out).unwrap(), b"max_x\n\"\"\n");
    let back = run_on(&out, &["--agg", "count,null_count:max_x"]);
    back.expect_ok("read back");
    assert_eq!(back.stdout, "count,null_count_max_x\n1,1\n");
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

/// A sum past 128 bits was printed by json and ndjson as a string
/// (`{"sum_x":"1999…98"}`), while a smaller sum was a number: a column's
/// JSON type changed with its magnitude. It is a number of its digits now,
/// as a run, a map and reduce, and a run on a store all print it; csv
/// prints the digits, Parquet keeps them as Utf8, and a text of digits (a
/// key) stays a string.
#[test]
fn json_prints_an_integer_past_128_bits_as_a_number() {
    let s = Scratch::new();
    let nines = "9".repeat(38);
    let input = s.write(
        "w.csv",
        format!("k,x\n{nines},{nines}\n{nines},{nines}\nb,1\n"),
    );
    // 2 * (10^38 - 1), past i128::MAX (about 1.7e38)
    let sum = format!("1{}8", "9".repeat(37));
    let query = ["--by", "k", "--agg", "sum:x", "--format"];
    let want = format!("{{\"k\":\"{nines}\",\"sum_x\":{sum}}}\n{{\"k\":\"b\",\"sum_x\":1}}\n");
    let ndjson = run_on(&input, &[&query[..], &["ndjson"]].concat());
    assert_eq!(ndjson.expect_ok("ndjson").stdout, want);
    let json = run_on(&input, &[&query[..], &["json"]].concat());
    let lines: Vec<&str> = want.lines().collect();
    assert_eq!(
        json.expect_ok("json").stdout,
        format!("[\n  {},\n  {}\n]\n", lines[0], lines[1])
    );
    let scalar = run_on(&input, &["--agg", "sum:x", "--format", "ndjson"]);
    let all = format!("1{}9", "9".repeat(37));
    let one = format!("{{\"sum_x\":{all}}}\n");
    assert_eq!(scalar.expect_ok("scalar").stdout, one);
    let csv = run_on(&input, &[&query[..], &["csv"]].concat());
    assert_eq!(
        csv.expect_ok("csv").stdout,
        format!("k,sum_x\n{nines},{sum}\nb,1\n")
    );
    // map and reduce
    let input_arg = input.display().to_string();
    let parts: Vec<String> = (0..2)
        .map(|i| {
            let part = s.path(&format!("p{i}.part")).display().to_string();
            let mut args = vec!["map", "--input", &input_arg, "--by", "k", "--agg", "sum:x"];
            let n = format!("{i}/2");
            args.extend(["--part", &n, "--emit-partial", &part]);
            crate::common::run(&args).expect_ok("map");
            part
        })
        .collect();
    let mut reduce = vec!["reduce"];
    reduce.extend(parts.iter().map(String::as_str));
    reduce.extend(["--format", "ndjson"]);
    assert_eq!(crate::common::run(&reduce).expect_ok("reduce").stdout, want);
    // a store
    let store = s.path("st").display().to_string();
    crate::common::run(["split", "--input", &input_arg, "--store", &store, "-q"])
        .expect_ok("split");
    let mut on_store = vec!["run", "--store", &store];
    on_store.extend(&query);
    on_store.push("ndjson");
    assert_eq!(
        crate::common::run(&on_store).expect_ok("store").stdout,
        want
    );
    // Parquet has no integer that wide: the digits, as Utf8
    let out = s.path("w.parquet");
    let o = out.display().to_string();
    run_on(&input, &["--by", "k", "--agg", "sum:x", "-o", &o]).expect_ok("parquet");
    let file = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.map(Result::unwrap).next().unwrap();
    let sums = batch.column(1).as_any();
    let sums = sums.downcast_ref::<arrow_array::StringArray>().unwrap();
    let sums: Vec<Option<&str>> = sums.iter().collect();
    assert_eq!(sums, [Some(sum.as_str()), Some("1")]);
}

/// json and ndjson printed the `--by` keys NaN, inf, -inf and null all
/// as `null`, four groups alike (`{"k":null,"sum_x":3}`, ...). A key's NaN
/// and infinities are the strings CSV spells them with now (`"NaN"`,
/// `"inf"`, `"-inf"`) and the null key stays `null`; an aggregate's NaN
/// stays `null`. Beside a time bucket's key, in either order, too.
#[test]
fn json_spells_a_key_s_nan_and_infinities_apart_from_null() {
    let (_d, file) = temp_csv(
        "k,x,ts\nnan,1,2024-01-01\ninf,2,2024-01-01\n-inf,3,2024-01-02\n,4,\n1.5,5,2024-01-02\n",
    );
    let by_k = [
        json!({"k": "-inf", "sum_x": 3, "max_k": null}),
        json!({"k": 1.5, "sum_x": 5, "max_k": 1.5}),
        json!({"k": "inf", "sum_x": 2, "max_k": null}),
        json!({"k": "NaN", "sum_x": 1, "max_k": null}),
        json!({"k": null, "sum_x": 4, "max_k": null}),
    ];
    let by_day_k = [
        json!({"day_ts": "2024-01-01", "k": "inf", "sum_x": 2}),
        json!({"day_ts": "2024-01-01", "k": "NaN", "sum_x": 1}),
        json!({"day_ts": "2024-01-02", "k": "-inf", "sum_x": 3}),
        json!({"day_ts": "2024-01-02", "k": 1.5, "sum_x": 5}),
        json!({"day_ts": null, "k": null, "sum_x": 4}),
    ];
    let by_k_day = [
        json!({"k": "-inf", "day_ts": "2024-01-02", "sum_x": 3}),
        json!({"k": 1.5, "day_ts": "2024-01-02", "sum_x": 5}),
        json!({"k": "inf", "day_ts": "2024-01-01", "sum_x": 2}),
        json!({"k": "NaN", "day_ts": "2024-01-01", "sum_x": 1}),
        json!({"k": null, "day_ts": null, "sum_x": 4}),
    ];
    let cases: [(&[&str], &[serde_json::Value]); 3] = [
        (&["--by", "k", "--agg", "sum:x,max:k"], &by_k),
        (&["--by", "day(ts),k", "--agg", "sum:x"], &by_day_k),
        (&["--by", "k,day(ts)", "--agg", "sum:x"], &by_k_day),
    ];
    for (query, want) in cases {
        let json = run_on(&file, &[query, &["--format", "json"]].concat());
        assert_eq!(json.expect_ok("json").json(), json!(want), "{query:?}");
        let ndjson = run_on(&file, &[query, &["--format", "ndjson"]].concat());
        let lines: Vec<serde_json::Value> = (ndjson.expect_ok("ndjson").stdout.lines())
            .map(json_of)
            .collect();
        assert_eq!(lines, want, "{query:?}");
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

/// In `table`, a null key and the text `null`, the empty text and one of
/// blanks were shown alike (`null`, `null`, and two blank cells): each
/// group now has a cell of its own, the texts that would pass for another
/// in quotes.
#[test]
fn table_format_shows_null_empty_and_blank_texts_apart() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let s = Scratch::new();
    let keys = StringArray::from(vec![
        Some("null"),
        None,
        Some(""),
        Some("  "),
        Some("\"null\""),
        Some("a"),
    ]);
    let batch = RecordBatch::try_from_iter([
        ("k", Arc::new(keys) as ArrayRef),
        (
            "v",
            Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6])) as ArrayRef,
        ),
    ])
    .unwrap();
    let input = s.path("k.parquet");
    crate::common::write_parquet(&input, &batch, None);
    let r = run_on(
        &input,
        &["--by", "k", "--agg", "sum:v", "--format", "table"],
    );
    r.expect_ok("table");
    assert_aligned(&r.stdout, &["k", "sum_v"]);
    let rows: Vec<(&str, &str)> = (r.stdout.lines().skip(2))
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.trim_end(), v)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("\"\"", "3"),
            ("\"  \"", "4"),
            ("\"\"\"null\"\"\"", "5"),
            ("a", "6"),
            ("\"null\"", "1"),
            ("null", "2"),
        ],
        "{}",
        r.stdout
    );
}

/// `table` printed invisible characters as they are: the keys `ab`,
/// `a<U+200B>b` (zero-width space), `a<U+2060>b` (word joiner) and
/// `a<U+FEFF>b` (byte-order mark) all read `ab`, and a column name holding
/// one read as another. They are escaped now as messages escape them
/// (`a\u{200b}b`), and so is a combining mark that begins a cell (it would
/// join the padding before it), with the columns still aligned.
#[test]
fn table_format_escapes_invisible_characters_as_messages_do() {
    let (_d, file) =
        temp_csv("k,a\u{200b}b\nab,1\na\u{200b}b,2\na\u{2060}b,4\na\u{feff}b,5\n\u{301}x,6\n");
    let r = run_on(
        &file,
        &["--by", "k", "--agg", "sum:a\u{200b}b", "--format", "table"],
    );
    r.expect_ok("table");
    assert_aligned(&r.stdout, &["k", r"sum_a\u{200b}b"]);
    let rows: Vec<Vec<&str>> = (r.stdout.lines().skip(2))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["ab", "1"],
            [r"a\u{200b}b", "2"],
            [r"a\u{2060}b", "4"],
            [r"a\u{feff}b", "5"],
            [r"\u{301}x", "6"],
        ],
        "{}",
        r.stdout
    );
    let invisible = ['\u{200b}', '\u{2060}', '\u{feff}', '\u{301}'];
    assert!(!r.stdout.contains(invisible), "{}", r.stdout);
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

/// Without `--format`, `--output`'s extension names the format (for
/// `run` and `reduce`); a named `--format` wins, and another name is CSV.
#[test]
fn an_output_file_is_written_in_the_format_its_name_says() {
    let s = Scratch::new();
    let written = |name: &str, extra: &[&str]| {
        let out = s.path(name);
        let mut args = vec![
            "--by",
            "city",
            "--agg",
            "count",
            "--output",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        run_on(&sample(), &args).expect_ok(name);
        std::fs::read(&out).unwrap()
    };
    let parquet = written("r.parquet", &[]);
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    let back = run_on(
        &s.path("r.parquet"),
        &["--agg", "sum:count", "--format", "csv"],
    );
    assert_eq!(back.expect_ok("read back").stdout, "sum_count\n6\n");
    assert!(written("r.PQ", &[]).starts_with(b"PAR1"));
    let json = String::from_utf8(written("r.json", &[])).unwrap();
    assert_eq!(json_of(&json)[0], json!({"city": "Berlin", "count": 2}));
    for name in ["r.ndjson", "r.jsonl"] {
        let lines = String::from_utf8(written(name, &[])).unwrap();
        assert!(
            lines.starts_with("{\"city\":\"Berlin\",\"count\":2}\n"),
            "{name}: {lines}"
        );
    }
    let csv = "city,count\nBerlin,2\nLisbon,1\nParis,3\n";
    for name in ["r.csv", "r.txt", "r"] {
        assert_eq!(
            String::from_utf8(written(name, &[])).unwrap(),
            csv,
            "{name}"
        );
    }
    let named = written("named.parquet", &["--format", "csv"]);
    assert_eq!(String::from_utf8(named).unwrap(), csv);
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

/// An output that cannot be written is named as the user gave it, with
/// why (exit 1), and no file is left: `-o /proc/version` said "No such
/// file or directory", of the temporary file rayproc could not make
/// beside a file that exists.
#[test]
fn an_output_that_cannot_be_written_is_named_with_the_reason() {
    let s = Scratch::new();
    s.write("file.csv", "x\n");
    std::fs::create_dir(s.path("folder")).unwrap();
    let shown = |name: &str| s.path(name).display().to_string();
    let mut cases = vec![
        (
            shown("no/such/result.csv"),
            format!("the directory {} does not exist", shown("no/such")),
        ),
        (shown("folder"), "it is a directory".to_string()),
        ("/".to_string(), "it is a directory".to_string()),
        // the kernel's ENOTDIR said "cannot create a file in
        // .../file.csv/x (Not a directory)", naming no file
        (
            shown("file.csv/x/result.csv"),
            format!("{} is a file, not a directory", shown("file.csv")),
        ),
        (
            shown("file.csv/result.csv"),
            format!("{} is a file, not a directory", shown("file.csv")),
        ),
    ];
    if cfg!(target_os = "linux") {
        // (the reason is the kernel's: ENOENT for root, EACCES for others)
        let why = "cannot create a file in /proc (".to_string();
        cases.insert(0, ("/proc/version".to_string(), why));
    }
    for (out, why) in cases {
        let r = run_on(&sample(), &["--agg", "count", "--output", &out]);
        r.expect_code(1, &out);
        let want = format!("rayproc: error: {out}: cannot write the output: {why}");
        assert!(r.stderr.starts_with(&want), "{out}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{out}: {}", r.stderr);
        assert_eq!(s.listing(), ["file.csv", "folder"], "{out}: nothing left");
    }
}

/// An output ending in `/` names a directory, never a file to write, and
/// is refused as the other outputs that cannot be written are, with the
/// reason (exit 1, nothing left). `-o no_such_dir/` said only
/// "no_such_dir/: Not a directory" (a temporary file made in `.` could
/// not be renamed onto it), and `-o file.csv/` "cannot create a file in .
/// (Not a directory)", naming a folder that was not at fault.
#[test]
fn an_output_ending_in_a_slash_is_refused_as_a_directory() {
    let s = Scratch::new();
    s.write("file.csv", "x\n");
    std::fs::create_dir(s.path("folder")).unwrap();
    let shown = |name: &str| s.path(name).display().to_string();
    let missing = |end: &str, dir: &str| {
        format!("a path ending in {end} names a directory, and the directory {dir} does not exist")
    };
    let cases = [
        // as typed, in the current directory (the tester's case)
        ("missing/".to_string(), missing("/", "missing")),
        (
            "file.csv/".to_string(),
            "file.csv is a file, not a directory".to_string(),
        ),
        ("folder/".to_string(), "it is a directory".to_string()),
        (shown("missing/"), missing("/", &shown("missing"))),
        (shown("missing/x/"), missing("/", &shown("missing"))),
        (shown("missing/."), missing("/.", &shown("missing"))),
        (
            shown("file.csv/"),
            format!("{} is a file, not a directory", shown("file.csv")),
        ),
        (
            shown("file.csv/x/"),
            format!("{} is a file, not a directory", shown("file.csv")),
        ),
    ];
    for (out, why) in cases {
        let r = crate::common::rayproc()
            .current_dir(s.dir.path())
            .args(["run", "--input"])
            .arg(sample())
            .args(["--agg", "count", "--output", &out])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{out}: {stderr}");
        let want = format!("rayproc: error: {out}: cannot write the output: {why}\n");
        assert_eq!(stderr, want, "{out}");
        assert_eq!(s.listing(), ["file.csv", "folder"], "{out}: nothing left");
    }
}

/// `-o -` is standard output, as `--input -` is standard input and
/// `--emit-partial -` standard output: it wrote a file named `-` into the
/// current directory. It is what no `--output` is, format included, for
/// `run` and `reduce`; `./-` still names a file `-`.
#[test]
fn output_dash_is_standard_output() {
    let s = Scratch::new();
    s.write("in.csv", std::fs::read(sample()).unwrap());
    let here = |args: &[&str]| {
        let out = crate::common::rayproc()
            .current_dir(s.dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let run = ["run", "-i", "in.csv", "--by", "city", "--agg", "count"];
    let csv = "city,count\nBerlin,2\nLisbon,1\nParis,3\n";
    assert_eq!(here(&[&run[..], &["-o", "-"]].concat()), csv);
    let json = here(&[&run[..], &["--output", "-", "--format", "json"]].concat());
    assert_eq!(json_of(&json)[2], json!({"city": "Paris", "count": 3}));
    let map = ["map", "-i", "in.csv", "--by", "city", "--agg", "count"];
    here(&[&map[..], &["--part", "0/1", "--emit-partial", "p.part"]].concat());
    assert_eq!(here(&["reduce", "p.part", "-o", "-"]), csv);
    assert_eq!(s.listing(), ["in.csv", "p.part"], "no file named -");
    assert_eq!(here(&[&run[..], &["-o", "./-"]].concat()), "");
    assert_eq!(std::fs::read_to_string(s.path("-")).unwrap(), csv);
}

/// A store is a directory: `split --store -` is a usage error, where it
/// made a store named `-` in the current directory.
#[test]
fn a_store_cannot_go_to_standard_output() {
    let s = Scratch::new();
    s.write("in.csv", std::fs::read(sample()).unwrap());
    let out = crate::common::rayproc()
        .current_dir(s.dir.path())
        .args(["split", "-i", "in.csv", "--store", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--store -: a store is a directory"),
        "{stderr}"
    );
    assert_eq!(s.listing(), ["in.csv"]);
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
// --progress

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

/// A result piped to a program gets a 1 MiB pipe buffer (`rayproc::pipe`):
/// a million-group result then waits for its reader every megabyte, not
/// every 64 KiB.
#[cfg(target_os = "linux")]
#[test]
fn a_piped_stdout_gets_a_one_mebibyte_buffer() {
    use std::os::fd::AsRawFd;
    let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if max < 1 << 20 {
        eprintln!("skipped: pipe-max-size {max} is under 1 MiB");
        return;
    }
    let mut child = StdCommand::new(bin_path())
        .args(["run", "--input", "testdata/sample.csv", "--agg", "count"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("rayproc starts");
    let mut out = child.stdout.take().expect("a piped stdout");
    assert!(child.wait().expect("rayproc ends").success());
    // the pipe outlives the writer while this end is open
    // SAFETY: F_GETPIPE_SZ reads the size of the pipe `out` holds open.
    let size = unsafe { libc::fcntl(out.as_raw_fd(), libc::F_GETPIPE_SZ) };
    assert_eq!(size, 1 << 20);
    let mut text = String::new();
    out.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("count\n"), "{text}");
}

// ---------------------------------------------------------------------------
// RAYPROC_PHASES

/// With `RAYPROC_PHASES` set, a run prints on stderr the time of each of
/// its phases in order, wall and CPU, and its output is the same; without it (the test
/// environment may not carry it), nothing.
#[test]
fn phase_times_go_to_stderr_only_when_asked() {
    let run = |timed: bool| {
        let mut cmd = crate::common::rayproc();
        if timed {
            cmd.env("RAYPROC_PHASES", "1");
        } else {
            cmd.env_remove("RAYPROC_PHASES");
        }
        (cmd.args(["run", "--input"]).arg(sample()))
            .args(["--by", "city", "--agg", "count,sum:qty", "--quiet"])
            .output()
            .unwrap()
    };
    let plain = run(false);
    assert!(plain.status.success());
    assert_eq!(String::from_utf8_lossy(&plain.stderr), "");
    let timed = run(true);
    assert!(timed.status.success());
    assert_eq!(timed.stdout, plain.stdout, "timing changes no output");
    let stderr = String::from_utf8_lossy(&timed.stderr);
    let phases: Vec<&str> = stderr
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        phases,
        ["start", "map", "merge", "sort", "build", "output"],
        "{stderr}"
    );
    for line in stderr.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields.len(),
            6,
            "name, time, ms, +delta, cpu, +cpu delta: {line}"
        );
        let at: f64 = fields[1].parse().unwrap();
        let delta: f64 = fields[3].parse().unwrap();
        assert!(at >= 0.0 && delta >= 0.0 && delta <= at + 1e-9, "{line}");
        assert_eq!(fields[4], "cpu", "{line}");
        let cpu: f64 = fields[5].parse().unwrap();
        assert!(cpu >= 0.0, "a phase's CPU time is never negative: {line}");
    }
}

/// A file name of up to 255 bytes, the most one takes, is written, also one
/// of bytes that are not UTF-8: the temporary file beside it had a name 33
/// bytes longer, and names past 222 bytes were refused ("File name too
/// long").
#[test]
fn the_longest_file_names_are_written() {
    use std::os::unix::ffi::OsStrExt;
    let dir = Scratch::new();
    let names = [
        std::ffi::OsString::from("c".repeat(251) + ".csv"),
        std::ffi::OsStr::from_bytes(&[0xfe; 250]).to_owned(),
    ];
    for name in names {
        let out = dir.path("").join(&name);
        let r = rayproc_with(&[
            "run".as_ref(),
            "--input".as_ref(),
            sample().as_os_str(),
            "--agg".as_ref(),
            "count".as_ref(),
            "--output".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(r.0, Some(0), "{}", r.1);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "count\n6\n");
        let entries = std::fs::read_dir(dir.path("")).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left");
        std::fs::remove_file(&out).unwrap();
    }
}

/// Runs the binary with `args` (paths as they are): its exit code and
/// stderr.
fn rayproc_with(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = StdCommand::new(bin_path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A pseudo-terminal: the main side's descriptor and the other side
/// opened as a file, what a process run in a terminal has as its stdout.
fn terminal() -> (std::os::fd::OwnedFd, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut main, mut other) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the two ints it is
    // given, and reads no name, settings or size when given null.
    let made = unsafe {
        libc::openpty(
            &mut main,
            &mut other,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened, and are owned by nothing
    // else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(main),
            std::fs::File::from_raw_fd(other),
        )
    }
}

/// What a pseudo-terminal's main side holds to be read, without waiting.
fn drain(main: &std::os::fd::OwnedFd) -> Vec<u8> {
    use std::os::fd::AsRawFd;
    let fd = main.as_raw_fd();
    // SAFETY: F_GETFL and F_SETFL on a descriptor this test owns.
    unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reads at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return all;
        }
        all.extend_from_slice(&buf[..n as usize]);
    }
}

/// `--output /dev/stdout` writes through stdout, as `-o -` does; Parquet,
/// which `-o -` refuses to a terminal, went to the terminal through it.
#[test]
fn parquet_is_not_written_to_a_terminal_by_any_name() {
    let sample = sample();
    for output in ["-", "/dev/stdout", "/proc/self/fd/1", "/dev/fd/1"] {
        for format in [&["--format", "parquet"][..], &[]] {
            let (main, tty) = terminal();
            let out = StdCommand::new(bin_path())
                .args(["run", "--input", sample.to_str().unwrap(), "--agg", "count"])
                .args(["--output", output])
                .args(format)
                .stdin(Stdio::null())
                .stdout(tty)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if format.is_empty() {
                // a table, as on a terminal
                assert_eq!(out.status.code(), Some(0), "{output}: {stderr}");
                let shown = String::from_utf8_lossy(&drain(&main)).into_owned();
                assert!(
                    shown.contains("count") && shown.contains("-----"),
                    "{output}: {shown:?}"
                );
                continue;
            }
            assert_eq!(out.status.code(), Some(2), "{output}: {stderr}");
            assert!(
                stderr.starts_with("rayproc: error: --format parquet writes binary data"),
                "{output}: {stderr}"
            );
        }
    }
    // a file, or stdout that is not a terminal, takes it
    let dir = Scratch::new();
    let file = dir.path("r.bin");
    let r = run_on(
        &sample,
        &[
            "--agg",
            "count",
            "--format",
            "parquet",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = StdCommand::new(bin_path())
        .args(["run", "--input", sample.to_str().unwrap(), "--agg", "count"])
        .args(["--format", "parquet", "-o", "/dev/stdout"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.starts_with(b"PAR1"));
}
