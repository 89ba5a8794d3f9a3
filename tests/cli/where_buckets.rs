//! `--where` and time buckets in `--by` (issue 15 §1, §2), end to end on
//! every input kind: CSV files (every partition and thread count), standard
//! input, Parquet, Arrow IPC and a store. Expected values are worked out by
//! hand, or are what the same query gives over the input filtered first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use crate::common::{
    fail_all_partitions, run, run_all_partitions, run_on, run_with_stdin, temp_csv,
    write_parquet_and_ipc, Scratch,
};

/// Events: time, status, path, latency (always a fraction, so that Parquet's
/// Float64 and the CSV's floats print alike), and a count.
const EVENTS: &str = "\
ts,status,path,latency,n
2026-11-30T02:24:41,200,/api/a,0.25,1
2026-11-30T02:59:59Z,500,/api/b,1.5,2
2026-11-30 03:00:00+01:00,503,/home,2.75,3
2026-12-01T00:30:00+01:00,404,/api/a,0.5,4
2026-12-01T10:00:00,500,/api/c,3.25,5
,500,/api/d,4.5,6
1764469481,200,/x,0.75,7
";

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The events as Parquet and as Arrow IPC (two row groups / batches).
fn typed_copies(scratch: &Scratch) -> (PathBuf, PathBuf) {
    let mut rdr = csv::Reader::from_reader(EVENTS.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let text = |j: usize| -> ArrayRef {
        Arc::new(StringArray::from_iter(
            rows.iter()
                .map(|r| (!r[j].is_empty()).then(|| r[j].to_string())),
        ))
    };
    let ints = |j: usize| -> ArrayRef {
        Arc::new(Int64Array::from_iter(
            rows.iter().map(|r| r[j].parse::<i64>().ok()),
        ))
    };
    let floats = |j: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r[j].parse::<f64>().ok()),
        ))
    };
    let arrays = vec![text(0), ints(1), text(2), floats(3), ints(4)];
    let names = ["ts", "status", "path", "latency", "n"];
    let fields: Vec<Field> = (names.iter().zip(&arrays))
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let parquet = scratch.path("events.parquet");
    crate::common::write_parquet(&parquet, &batch, Some(4));
    let ipc = scratch.path("events.arrow");
    let file = std::fs::File::create(&ipc).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    w.write(&batch.slice(0, 3)).unwrap();
    w.write(&batch.slice(3, 4)).unwrap();
    w.finish().unwrap();
    (parquet, ipc)
}

/// Runs `args` on the events as CSV (every partition count), standard
/// input, Parquet, Arrow IPC and a store; asserts they agree and returns the
/// output.
fn on_every_input(args: &[&str]) -> String {
    let scratch = Scratch::new();
    let csv = scratch.write("events.csv", EVENTS);
    let want = run_all_partitions(&[args, &["--format", "csv"]].concat(), &csv);
    let mut all: Vec<&str> = vec!["run", "--input", "-", "--format", "csv"];
    all.extend(args);
    let stdin = run_with_stdin(&all, Some(EVENTS.as_bytes()));
    stdin.expect_ok("stdin");
    assert_eq!(stdin.stdout, want, "stdin");
    let (parquet, ipc) = typed_copies(&scratch);
    for typed in [&parquet, &ipc] {
        let got = run_on(typed, &[args, &["--format", "csv"]].concat());
        got.expect_ok(&s(typed));
        assert_eq!(got.stdout, want, "{}", s(typed));
    }
    let store = s(&scratch.path("events.store"));
    run([
        "split",
        "--input",
        &s(&csv),
        "--store",
        &store,
        "--partitions",
        "3",
    ])
    .expect_code(0, "split");
    let mut all: Vec<&str> = vec!["run", "--store", &store, "--format", "csv"];
    all.extend(args);
    let got = run(&all);
    got.expect_ok("store");
    assert_eq!(got.stdout, want, "store");
    want
}

#[test]
fn where_keeps_the_true_rows_on_every_input() {
    // status >= 500: rows 2, 3, 5, 6; latency 1.5 + 2.75 + 3.25 + 4.5 = 12
    let out = on_every_input(&[
        "--where",
        "status >= 500",
        "--agg",
        "count,sum:latency,max:path",
    ]);
    assert_eq!(out, "count,sum_latency,max_path\n4,12.0,/home\n");
    // like, in, not, null logic: ts is null on row 6 only
    let out = on_every_input(&[
        "--where",
        "path LIKE '/api/%' and not status in (404) and ts is not null",
        "--by",
        "path",
        "--agg",
        "count,sum:n",
    ]);
    assert_eq!(
        out,
        "path,count,sum_n\n/api/a,1,1\n/api/b,1,2\n/api/c,1,5\n"
    );
    // no row kept: no group, count 0
    let out = on_every_input(&["--where", "n > 100", "--agg", "count,sum:n"]);
    assert_eq!(out, "count,sum_n\n0,\n");
    let out = on_every_input(&["--where", "n > 100", "--by", "path", "--agg", "count"]);
    assert_eq!(out, "path,count\n");
}

#[test]
fn where_text_and_regex_compare_the_fields_text() {
    let out = on_every_input(&[
        "--where",
        "path ~ '^/api/[ab]$' or path !~ 'a'",
        "--agg",
        "count,sum:n",
    ]);
    // /api/a (1, 4), /api/b (2), /home (3), /x (7)
    assert_eq!(out, "count,sum_n\n5,17\n");
}

#[test]
fn time_buckets_on_every_input() {
    // by hand: row 2 is 02:59:59 UTC; row 3 is 03:00 at +01:00 = 02:00 UTC;
    // row 4 is 2026-12-01T00:30+01:00 = 2026-11-30T23:30 UTC; row 7 is
    // epoch 1764469481 = 2025-11-30T02:24:41 UTC; row 6 is null (last)
    let out = on_every_input(&["--by", "hour(ts)", "--agg", "count,sum:n"]);
    assert_eq!(
        out,
        "hour_ts,count,sum_n\n2025-11-30T02,1,7\n2026-11-30T02,3,6\n\
         2026-11-30T23,1,4\n2026-12-01T10,1,5\n,1,6\n"
    );
    let out = on_every_input(&[
        "--by",
        "day(ts),status",
        "--where",
        "status >= 500",
        "--agg",
        "count",
    ]);
    assert_eq!(
        out,
        "day_ts,status,count\n2026-11-30,500,1\n2026-11-30,503,1\n\
         2026-12-01,500,1\n,500,1\n"
    );
    let out = on_every_input(&["--by", "week(ts)", "--agg", "count"]);
    // 2026-11-30 is a Monday, in 2026-W49; 2025-11-30 a Sunday, 2025-W48
    assert_eq!(out, "week_ts,count\n2025-W48,1\n2026-W49,5\n,1\n");
}

#[test]
fn time_buckets_against_a_hand_checked_table() {
    let values = [
        // value, year, month, week, day, hour, minute, second
        (
            "2024-02-29T23:59:59",
            "2024",
            "2024-02",
            "2024-W09",
            "2024-02-29",
            "2024-02-29T23",
            "2024-02-29T23:59",
            "2024-02-29T23:59:59",
        ),
        (
            "2027-01-01T00:30+01:00",
            "2026",
            "2026-12",
            "2026-W53",
            "2026-12-31",
            "2026-12-31T23",
            "2026-12-31T23:30",
            "2026-12-31T23:30:00",
        ),
        (
            "2025-12-29",
            "2025",
            "2025-12",
            "2026-W01",
            "2025-12-29",
            "2025-12-29T00",
            "2025-12-29T00:00",
            "2025-12-29T00:00:00",
        ),
        (
            "2021-01-03 12:00:00.999",
            "2021",
            "2021-01",
            "2020-W53",
            "2021-01-03",
            "2021-01-03T12",
            "2021-01-03T12:00",
            "2021-01-03T12:00:00",
        ),
        (
            "2000-02-29T10:11:12-0530",
            "2000",
            "2000-02",
            "2000-W09",
            "2000-02-29",
            "2000-02-29T15",
            "2000-02-29T15:41",
            "2000-02-29T15:41:12",
        ),
        (
            "0",
            "1970",
            "1970-01",
            "1970-W01",
            "1970-01-01",
            "1970-01-01T00",
            "1970-01-01T00:00",
            "1970-01-01T00:00:00",
        ),
    ];
    for (i, row) in values.iter().enumerate() {
        let (_dir, csv) = temp_csv(format!("t\n{}\n", row.0));
        let want = [row.1, row.2, row.3, row.4, row.5, row.6, row.7];
        for (unit, want) in ["year", "month", "week", "day", "hour", "minute", "second"]
            .iter()
            .zip(want)
        {
            let by = format!("{unit}(t)");
            let out = run_on(&csv, &["--by", &by, "--agg", "count", "--format", "csv"]);
            out.expect_ok(&by);
            assert_eq!(
                out.stdout,
                format!("{unit}_t,count\n{want},1\n"),
                "row {i}: {by}"
            );
        }
    }
}

#[test]
fn bucket_terms_split_at_the_right_comma_and_quotes_name_columns() {
    let (_dir, csv) = temp_csv("\"a,b\",day(a)\n2026-01-02,x\n2026-01-02,y\n");
    let out = run_on(
        &csv,
        &[
            "--by",
            "day(\"a,b\"),\"day(a)\"",
            "--agg",
            "count",
            "--format",
            "csv",
        ],
    );
    out.expect_ok("quoted");
    assert_eq!(
        out.stdout,
        "\"day_a,b\",day(a),count\n2026-01-02,x,1\n2026-01-02,y,1\n"
    );
}

#[test]
fn where_errors_are_positioned() {
    let (_dir, csv) = temp_csv("k,x\na,1\nb,2\na,n/a\nb,zz\n");
    // `x > 0` runs only where k = 'a': row 4's zz is never read
    let err = fail_all_partitions(&["--where", "k = 'a' and x > 0", "--agg", "count"], &csv, 1);
    assert!(
        err.contains("input.csv:4: column 'x': --where x > 0 needs a number, found \"n/a\""),
        "{err}"
    );
    let out = run_on(&csv, &["--where", "k = 'b' and x < 5", "--agg", "count"]);
    assert!(
        out.stderr.contains("input.csv:5: column 'x'"),
        "{}",
        out.stderr
    );
    // an earlier aggregate error wins over a later filter error
    let (_dir2, csv2) = temp_csv("k,x,y\na,1,oops\na,n/a,1\n");
    let err = fail_all_partitions(&["--where", "x > 0", "--agg", "sum:y"], &csv2, 1);
    assert!(
        err.contains("input.csv:2: column 'y': sum needs numbers"),
        "{err}"
    );
}

/// A test is read (and its field must be a number) only where it can
/// still change whether the row is kept: a null `k` drops the row in
/// `k = 'a' and x > 5` whatever `x` is, so `x` is not read there; under a
/// `not` it is, as `not (null and false)` is true.
#[test]
fn where_reads_a_test_only_where_it_can_decide_the_row() {
    let (_dir, csv) = temp_csv("k,x\n,abc\na,7\nb,zz\n");
    for expr in [
        "k = 'a' and x > 5",
        "(k = 'a' or k = 'c') and x > 5",
        "not (k != 'a' or x < 5)",
    ] {
        let out = run_all_partitions(
            &["--where", expr, "--agg", "count,sum:x", "--format", "csv"],
            &csv,
        );
        assert_eq!(out, "count,sum_x\n1,7\n", "{expr}");
    }
    for expr in ["not (k = 'a' and x > 5)", "k = 'a' or x > 5"] {
        let err = fail_all_partitions(&["--where", expr, "--agg", "count"], &csv, 1);
        assert!(
            err.contains("input.csv:2: column 'x': --where x > 5 needs a number, found \"abc\""),
            "{expr}: {err}"
        );
    }
}

/// A float field compares with a number literal exactly, as the number
/// rayproc prints for it: `1.0` as `1`, `0.0` as `0`, also against a
/// literal no double holds, and a Parquet or Arrow double, or a store's, as
/// in the CSV.
#[test]
fn where_compares_a_float_as_the_number_it_prints() {
    let scratch = Scratch::new();
    let csv = scratch.write("e.csv", "x,id\n1,b\n1.0,c\n0,d\n0.0,e\n0.1,f\n");
    let x: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 1.0, 0.0, 0.0, 0.1]));
    let id: ArrayRef = Arc::new(StringArray::from(vec!["b", "c", "d", "e", "f"]));
    let schema = Schema::new(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("id", DataType::Utf8, true),
    ]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![x, id]).unwrap();
    let typed = write_parquet_and_ipc(&scratch, "e", &batch, Some(2), Some(3));
    let store = s(&scratch.path("e.store"));
    let split = ["split", "--input", &s(&csv), "--store", &store];
    run(split).expect_code(0, "split");
    for (expr, ids) in [
        ("x = 1.0000000000000000001", ""),
        ("x < 1.0000000000000000001 and x > 0.5", "bc"),
        ("x > 0.9999999999999999999", "bc"),
        ("x in (1.0000000000000000001, 1e-400)", ""),
        ("x = 1e-400", ""),
        ("x < 1e-400", "de"),
        ("x between -1e-400 and 1e-400", "de"),
        ("x = 0.1", "f"),
        ("x <= 0.1 and x > 0", "f"),
    ] {
        let args = [
            "--where", expr, "--by", "id", "--agg", "count", "--format", "csv",
        ];
        let mut want = String::from("id,count\n");
        for id in ids.chars() {
            want.push_str(&format!("{id},1\n"));
        }
        assert_eq!(run_all_partitions(&args, &csv), want, "{expr}");
        for file in &typed {
            let got = run_on(file, &args);
            got.expect_ok(&s(file));
            assert_eq!(got.stdout, want, "{expr} on {}", s(file));
        }
        let got = run([&["run", "--store", &store][..], &args[..]].concat());
        got.expect_ok("store");
        assert_eq!(got.stdout, want, "{expr} on the store");
    }
}

/// An error in a long `--where` shows a window of the expression around
/// the offending character, `…` where it is cut, with the caret under
/// that character as the terminal shows it (after `rayproc: error: `).
#[test]
fn a_long_where_is_shown_around_the_error() {
    let (_dir, csv) = temp_csv("x,y\n1,2\n");
    let deep = format!("{}x = 1{}", "(".repeat(60_000), ")".repeat(60_000));
    let chain = ["x = 1"; 100].join(" and ");
    for (expr, message, column) in [
        (deep, "the expression nests deeper than 128 levels", 129),
        (
            format!("{chain} and y >> 3 and {chain}"),
            "expected a number or a 'text' literal after \">\", found \">\"",
            chain.len() + 9,
        ),
        ("price >> 3".to_string(), "expected a number", 8),
    ] {
        let out = run_on(&csv, &["--where", &expr, "--agg", "count"]);
        out.expect_code(2, message);
        let err = &out.stderr;
        assert!(err.len() < 500, "{} bytes: {err}", err.len());
        let head = format!("rayproc: error: --where: {message}");
        assert!(err.starts_with(&head), "{err}");
        assert!(err.contains(&format!(" at column {column}:\n")), "{err}");
        // the caret under the offending character, in what the terminal
        // shows
        let lines: Vec<&str> = err.lines().collect();
        let caret = lines.iter().position(|l| l.trim_start() == "^").unwrap();
        let under = lines[caret - 1]
            .chars()
            .nth(lines[caret].chars().count() - 1);
        assert_eq!(under, expr.chars().nth(column - 1), "{err}");
        if expr.len() > 100 {
            assert!(lines[caret - 1].starts_with("  …"), "{err}");
            assert!(lines[caret - 1].ends_with('…'), "{err}");
        }
    }
}

#[test]
fn bad_times_are_positioned() {
    let (_dir, csv) = temp_csv("ts,k\n2026-01-01,a\n2026-02-30T00:00:00,b\nnope,c\n");
    let err = fail_all_partitions(&["--by", "day(ts)", "--agg", "count"], &csv, 1);
    assert!(
        err.contains("input.csv:3: column 'ts': day(ts) needs a date-time or epoch seconds, found \"2026-02-30T00:00:00\": 2026-02-30 does not exist"),
        "{err}"
    );
    // a filtered-out bad time is never read
    let out = run_on(
        &csv,
        &[
            "--by",
            "month(ts)",
            "--where",
            "k = 'a'",
            "--agg",
            "count",
            "--format",
            "csv",
        ],
    );
    out.expect_ok("filtered");
    assert_eq!(out.stdout, "month_ts,count\n2026-01,1\n");
}

#[test]
fn where_usage_errors() {
    let (_dir, csv) = temp_csv("price,qty\n1,2\n");
    let out = run_on(&csv, &["--where", "price >> 3", "--agg", "count"]);
    out.expect_code(2, "parse error");
    assert!(
        out.stderr
            .contains("at column 8:\n  price >> 3\n         ^\n"),
        "{}",
        out.stderr
    );
    let out = run_on(&csv, &["--where", "prise > 3", "--agg", "count"]);
    out.expect_code(2, "unknown column");
    assert!(
        out.stderr.contains("unknown column prise"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("did you mean price?"), "{}", out.stderr);
    let out = run_on(&csv, &["--by", "day(prise)", "--agg", "count"]);
    out.expect_code(2, "unknown bucket column");
    assert!(
        out.stderr.contains("did you mean 'price'"),
        "{}",
        out.stderr
    );
    let out = run_on(&csv, &["--by", "day(price),DAY(price)", "--agg", "count"]);
    out.expect_code(2, "bucket twice");
}

/// A `--where` that is not UTF-8 got clap's "invalid UTF-8 was detected
/// in one or more arguments", which named neither the flag nor the byte.
/// It is a usage error at that byte, which says how to match such bytes;
/// and the way it says works. The expression under the message shows the
/// byte as `\xe9`, the caret under it (it showed U+FFFD, which every byte
/// that is not UTF-8 shows as).
#[cfg(unix)]
#[test]
fn a_where_that_is_not_utf8_is_a_usage_error_at_its_byte() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let (_dir, csv) = temp_csv(b"k,x\ncaf\xe9,1\ncafe,2\n");
    let args = [
        OsStr::new("run"),
        OsStr::new("-i"),
        csv.as_os_str(),
        OsStr::new("--where"),
        OsStr::from_bytes(b"x > 0 and k = 'caf\xe9'"),
        OsStr::new("--agg"),
        OsStr::new("count"),
    ];
    let out = run(args);
    out.expect_code(2, "not UTF-8");
    let caret = format!("{}^", " ".repeat(2 + 18));
    let want = format!(
        "rayproc: error: --where: byte 0xe9 (at byte offset 18) is not UTF-8 at column 19:\n  \
         x > 0 and k = 'caf\\xe9'\n{caret}\nan expression is UTF-8 text; to match bytes \
         that are not UTF-8 in a field, use a regex with Unicode off and \\xNN escapes: \
         COLUMN ~ '(?-u)\\xe9'\n"
    );
    assert_eq!(out.stderr, want);
    let out = run_on(
        &csv,
        &["--where", "k ~ '(?-u)^caf\\xe9$'", "--agg", "sum:x"],
    );
    assert_eq!(out.expect_ok("a regex of bytes").stdout, "sum_x\n1\n");
}

#[test]
fn a_dropped_row_decides_no_type() {
    // 1.5 is only in a dropped row: x stays an integer column, as in the
    // file filtered first
    let (_dir, csv) = temp_csv("k,x\na,1\nb,1.5\na,3\n");
    let out = run_all_partitions(
        &[
            "--where",
            "k = 'a'",
            "--agg",
            "sum:x,max:x",
            "--format",
            "csv",
        ],
        &csv,
    );
    assert_eq!(out, "sum_x,max_x\n4,3\n");
    let (_dir, csv) = temp_csv("k,x\na,1\na,3\n");
    let first = run_on(&csv, &["--agg", "sum:x,max:x", "--format", "csv"]);
    assert_eq!(first.stdout, out);
}

/// A time bucket of a float column from a store answers as over the CSV it
/// was split from: only a field written as an integer is epoch seconds. The
/// store has no text, and read an integral float (`1700000000.0`, written
/// so in the CSV, an error there) as epoch seconds, exit 0; with `--where`
/// too. A row the filter drops is never read, and a column with no integer
/// at all (`1.5`, `2.5`) is refused as well.
#[test]
fn a_store_reads_as_epoch_seconds_only_what_its_csv_wrote_as_integers() {
    let scratch = Scratch::new();
    for (name, text, bad) in [
        ("whole", "ts,k\n1700000000.0,a\n5,b\n", "\"1700000000.0\""),
        ("later", "ts,k\n5,a\n1700000000,b\n7.5,c\n", "\"7.5\""),
        ("fractions", "ts,k\n1.5,a\n2.5,b\n", "\"1.5\""),
    ] {
        let csv = scratch.path(&format!("{name}.csv"));
        std::fs::write(&csv, text).unwrap();
        let store = s(&scratch.path(&format!("{name}.store")));
        run(["split", "-i", &s(&csv), "--store", &store, "--quiet"]).expect_ok("split");
        let args = ["--by", "day(ts)", "--agg", "count", "--format", "csv"];
        let from_csv = run_on(&csv, &args);
        from_csv.expect_code(1, name);
        let mut store_args = vec!["run", "--store", &store];
        store_args.extend(args);
        for filter in [None, Some("k != 'zz'")] {
            let mut all = store_args.clone();
            all.extend(filter.iter().flat_map(|f| ["--where", f]));
            let out = run(all);
            out.expect_code(1, &format!("{name}, --where {filter:?}"));
            assert!(
                out.stderr.contains(&format!(
                    "day(ts) needs a date-time or epoch seconds, found {bad}"
                )) && out.stderr.contains("nor integer epoch seconds"),
                "{name}: {}",
                out.stderr
            );
        }
    }
    // the rows the filter keeps are integers: as over the CSV
    let store = s(&scratch.path("whole.store"));
    let kept = [
        "--by", "day(ts)", "--where", "k = 'b'", "--agg", "count", "--format", "csv",
    ];
    let from_csv = run_on(&scratch.path("whole.csv"), &kept);
    from_csv.expect_ok("csv, filtered");
    assert_eq!(from_csv.stdout, "day_ts,count\n1970-01-01,1\n");
    let mut all = vec!["run", "--store", &store];
    all.extend(kept);
    let out = run(all);
    out.expect_ok("store, filtered");
    assert_eq!(out.stdout, from_csv.stdout);
}

/// Epoch second zero: `0`, `+0` and `00` are integers, the instant 0, on
/// every path. `-0` (`-00`) is not an integer (`number::parse_int`: it is
/// the float -0.0, whose sign an integer cannot keep; its column is a float
/// column), so, like `0.0` or `1700000000.0`, it is no epoch second: over
/// the CSV, over a store split from it (which holds -0.0 however the CSV
/// spelled it and takes as epoch seconds only the rows written as
/// integers), and under `--where`, which keeps or drops the row by its
/// number and leaves the bucket to read what it keeps as the rest do.
#[test]
fn epoch_zero_is_read_alike_on_every_path() {
    let scratch = Scratch::new();
    for (i, zero) in ["0", "+0", "00", "-0", "-00"].into_iter().enumerate() {
        let csv = scratch.write(
            &format!("zero{i}.csv"),
            format!("ts,k\n5,a\n{zero},b\n86400,c\n"),
        );
        let store = s(&scratch.path(&format!("zero{i}.store")));
        run(["split", "-i", &s(&csv), "--store", &store, "--quiet"]).expect_ok("split");
        let integer = !zero.starts_with('-');
        for (filter, want) in [
            (None, "1970-01-01,2\n1970-01-02,1\n"),
            (Some("k != 'zz'"), "1970-01-01,2\n1970-01-02,1\n"),
            (Some("ts <= 0"), "1970-01-01,1\n"),
            // the row dropped: every path answers
            (Some("k != 'b'"), "1970-01-01,1\n1970-01-02,1\n"),
        ] {
            let mut args = vec!["--by", "day(ts)", "--agg", "count", "--format", "csv"];
            args.extend(filter.iter().flat_map(|f| ["--where", *f]));
            let what = format!("{zero}, --where {filter:?}");
            let mut on_store = vec!["run", "--store", &store];
            on_store.extend(&args);
            let from_store = run(&on_store);
            if integer || filter == Some("k != 'b'") {
                let from_csv = run_all_partitions(&args, &csv);
                assert_eq!(from_csv, format!("day_ts,count\n{want}"), "{what}");
                from_store.expect_ok(&what);
                assert_eq!(from_store.stdout, from_csv, "store, {what}");
            } else {
                let err = fail_all_partitions(&args, &csv, 1);
                let found = |text: &str| {
                    format!("day(ts) needs a date-time or epoch seconds, found \"{text}")
                };
                assert!(
                    err.contains(&format!("zero{i}.csv:3: column 'ts': {}\"", found(zero)))
                        && err.contains("nor integer epoch seconds"),
                    "{what}: {err}"
                );
                // at the same line; the value as the store has it (`-0`
                // is the float's own spelling, which it does not keep)
                from_store.expect_code(1, &format!("store, {what}"));
                assert!(
                    from_store
                        .stderr
                        .contains(&format!("zero{i}.csv:3: column 'ts': {}", found("")))
                        && from_store.stderr.contains("nor integer epoch seconds"),
                    "store, {what}: {}",
                    from_store.stderr
                );
            }
        }
    }
}

/// Epoch seconds are an integer field: a whole float (`1700000000.0`) is an
/// error over a CSV, and so now over Parquet and Arrow IPC, where a float
/// column (`DOUBLE`) or a decimal with a fraction digit (`decimal128(14,
/// 2)`, read as a float) answered as epoch seconds, exit 0. A decimal of
/// scale 0 is an integer, as everywhere, and its values epoch seconds. Only
/// the rows `--where` keeps are read; a store split from the CSV agrees.
#[test]
fn typed_floats_and_fractional_decimals_are_no_epoch_seconds() {
    use arrow_array::Decimal128Array;
    let scratch = Scratch::new();
    let decimal = |scale: i8, whole: [i128; 2]| -> ArrayRef {
        let unscaled = whole.map(|v| v * 10i128.pow(scale as u32));
        let a = Decimal128Array::from(vec![Some(unscaled[0]), Some(unscaled[1]), None]);
        Arc::new(a.with_precision_and_scale(14, scale).unwrap())
    };
    let batch = RecordBatch::try_from_iter([
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(1_700_000_000.0),
                Some(86_400.0),
                None,
            ])) as ArrayRef,
        ),
        ("d", decimal(2, [1_700_000_000, 86_400])),
        ("d0", decimal(0, [1_700_000_000, 86_400])),
        (
            "k",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let typed = crate::common::write_parquet_and_ipc(&scratch, "secs", &batch, Some(2), None);
    let csv = scratch.write(
        "secs.csv",
        "f,d,d0,k\n1700000000.0,1700000000.00,1700000000,a\n86400.0,86400.00,86400,b\n,,,c\n",
    );
    let store = s(&scratch.path("secs.store"));
    run(["split", "-i", &s(&csv), "--store", &store, "--quiet"]).expect_ok("split");
    let on_store = |args: &[&str]| {
        let mut all = vec!["run", "--store", &store];
        all.extend(args);
        run(all)
    };
    let needs = "needs a date-time or epoch seconds, found \"";
    for column in ["f", "d"] {
        let term = format!("day({column})");
        for (filter, csv_line, row, found) in [
            (None, 2, 1, "1700000000.0"),
            (Some("k != 'a'"), 3, 2, "86400.0"),
        ] {
            let mut args = vec!["--by", &term, "--agg", "count"];
            args.extend(filter.iter().flat_map(|f| ["--where", *f]));
            let what = format!("{term}, --where {filter:?}");
            let at_line = format!("secs.csv:{csv_line}: column '{column}': {term} {needs}");
            let err = fail_all_partitions(&args, &csv, 1);
            assert!(
                err.contains(&at_line) && err.contains("nor integer epoch seconds"),
                "{what}: {err}"
            );
            let out = on_store(&args);
            out.expect_code(1, &format!("store, {what}"));
            assert!(
                out.stderr.contains(&at_line),
                "store, {what}: {}",
                out.stderr
            );
            for file in &typed {
                let out = run_on(file, &args);
                out.expect_code(1, &format!("{}, {what}", s(file)));
                let at_row = format!("row {row}: column '{column}': {term} {needs}{found}\"");
                assert!(
                    out.stderr.contains(&s(file))
                        && out.stderr.contains(&at_row)
                        && out.stderr.contains("nor integer epoch seconds"),
                    "{}, {what}: {}",
                    s(file),
                    out.stderr
                );
            }
        }
        // only the null is kept: its key is null, on every input
        let args = [
            "--by", &term, "--where", "k = 'c'", "--agg", "count", "--format", "csv",
        ];
        let want = run_all_partitions(&args, &csv);
        assert_eq!(want, format!("day_{column},count\n,1\n"));
        for file in &typed {
            let out = run_on(file, &args);
            out.expect_ok(&s(file));
            assert_eq!(out.stdout, want, "{}", s(file));
        }
        assert_eq!(on_store(&args).stdout, want, "store");
    }
    // scale 0: integers, and so epoch seconds
    let args = ["--by", "day(d0)", "--agg", "count", "--format", "csv"];
    let want = run_all_partitions(&args, &csv);
    assert_eq!(want, "day_d0,count\n1970-01-02,1\n2023-11-14,1\n,1\n");
    for file in &typed {
        let out = run_on(file, &args);
        out.expect_ok(&s(file));
        assert_eq!(out.stdout, want, "{}", s(file));
    }
}

/// An integer is epoch seconds whatever its width: one too wide for 64
/// bits (`12345678901234567890123`, a CSV field, or a Parquet or Arrow
/// `decimal128(30, 0)`, read as the text of its digits) was "not an ISO
/// 8601 date or date-time ... nor integer epoch seconds", where
/// `9223372036854775807` got the accurate "outside the years 0000 to
/// 9999". Both say the latter, on every input kind.
#[test]
fn an_epoch_integer_wider_than_64_bits_is_out_of_range_not_malformed() {
    use arrow_array::Decimal128Array;
    let scratch = Scratch::new();
    let wide = "12345678901234567890123";
    let csv = scratch.write("w.csv", format!("ts,k\n1,a\n{wide},b\n-{wide},c\n"));
    let out_of_range = "the time is outside the years 0000 to 9999 (in UTC)";
    let term = "day(ts)";
    let needs = "day(ts) needs a date-time or epoch seconds, found";
    let args = ["--by", term, "--agg", "count"];
    let err = fail_all_partitions(&args, &csv, 1);
    assert_eq!(
        err,
        format!(
            "rayproc: error: {}:3: column 'ts': {needs} \"{wide}\": {out_of_range}\n",
            s(&csv)
        )
    );
    // the negative one too (the first is kept out by --where)
    let err = fail_all_partitions(
        &["--where", "k = 'c'", "--by", term, "--agg", "count"],
        &csv,
        1,
    );
    assert!(
        err.ends_with(&format!(
            ":4: column 'ts': {needs} \"-{wide}\": {out_of_range}\n"
        )),
        "{err}"
    );
    let store = s(&scratch.path("w.store"));
    run(["split", "-i", &s(&csv), "--store", &store, "--quiet"]).expect_ok("split");
    let out = run(["run", "--store", &store, "--by", term, "--agg", "count"]);
    out.expect_code(1, "store");
    assert!(
        out.stderr.ends_with(&format!(
            ":3: column 'ts': {needs} \"{wide}\": {out_of_range}\n"
        )),
        "store: {}",
        out.stderr
    );
    let decimals = Decimal128Array::from(vec![Some(1), Some(wide.parse::<i128>().unwrap())])
        .with_precision_and_scale(30, 0)
        .unwrap();
    let batch = RecordBatch::try_from_iter([("ts", Arc::new(decimals) as ArrayRef)]).unwrap();
    for file in write_parquet_and_ipc(&scratch, "w", &batch, None, None) {
        let out = run_on(&file, &args);
        out.expect_code(1, &s(&file));
        let want = format!("column 'ts': {needs} \"{wide}\": {out_of_range}\n");
        assert!(
            out.stderr.contains(&s(&file)) && out.stderr.ends_with(&want),
            "{}: {}",
            s(&file),
            out.stderr
        );
    }
}

/// A date or timestamp outside the years 0000 to 9999 (or a time of day
/// outside the day) in a typed input is an error where the query reads it,
/// naming its row, but not in a row `--where` drops: as a bad time in a
/// dropped CSV row is none, the answer is the one of the input filtered
/// first. It was refused in any row, before the filter ran, and ahead of an
/// earlier row's error. A column the filter itself reads is still refused
/// in any row: its tests compare the value's text.
#[test]
fn a_date_past_9999_in_a_dropped_row_is_no_error() {
    use arrow_array::{Time32SecondArray, TimestampMicrosecondArray};
    // 10000-01-01T00:00:00, in microseconds
    const FAR: i64 = 253_402_300_800_000_000;
    let scratch = Scratch::new();
    let batch = RecordBatch::try_from_iter([
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                0,
                FAR,
                86_400_000_000,
                FAR,
            ])) as ArrayRef,
        ),
        (
            "tod",
            Arc::new(Time32SecondArray::from(vec![3_600, 86_400, 7_200, 0])) as ArrayRef,
        ),
        (
            "id",
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec!["x", "2", "3", "4"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let typed = crate::common::write_parquet_and_ipc(&scratch, "far", &batch, Some(2), None);
    for file in &typed {
        let name = s(file);
        let answers = |args: &[&str], want: &str| {
            let out = run_on(file, &[args, &["--format", "csv"]].concat());
            out.expect_ok(&format!("{name} {args:?}"));
            assert_eq!(out.stdout, want, "{name} {args:?}");
        };
        let by_day = ["--by", "day(ts)", "--agg", "count"];
        answers(
            &[&by_day[..], &["--where", "id = 1"]].concat(),
            "day_ts,count\n1970-01-01,1\n",
        );
        answers(
            &[&by_day[..], &["--where", "id in (1, 3)"]].concat(),
            "day_ts,count\n1970-01-01,1\n1970-01-02,1\n",
        );
        answers(
            &[
                "--agg",
                "max:ts,min:tod,count",
                "--where",
                "id = 1 or id = 3",
            ],
            "max_ts,min_tod,count\n1970-01-02T00:00:00.000000,01:00:00,2\n",
        );
        let refused = |args: &[&str], at: &str| {
            let out = run_on(file, args);
            out.expect_code(1, &format!("{name} {args:?}"));
            assert!(
                out.stderr.contains(&name) && out.stderr.contains(at),
                "{name} {args:?}: {}",
                out.stderr
            );
        };
        let year = "column 'ts': a date in the year 10000";
        refused(&by_day, &format!("row 2: {year}"));
        refused(
            &[&by_day[..], &["--where", "id >= 3"]].concat(),
            &format!("row 4: {year}"),
        );
        refused(
            &["--agg", "min:tod", "--where", "id < 3"],
            "row 2: column 'tod': a time of day of 86400 seconds",
        );
        // the filter reads ts: every row of it
        refused(
            &["--agg", "count", "--where", "id = 1 and ts > '1960'"],
            &format!("row 2: {year}"),
        );
        // an earlier row's error wins
        refused(
            &["--agg", "sum:s,max:ts"],
            "row 1: column 's': sum needs numbers, found \"x\"",
        );
    }
}

/// The same over more rows than one batch holds (4,096): the values past
/// 9999 are found among the rows of each, and named by their rows in the
/// file.
#[test]
fn dates_past_9999_are_told_apart_across_batches() {
    use arrow_array::Date32Array;
    const ROWS: usize = 10_000;
    // 10000-01-01 in days
    const FAR: i32 = 2_932_897;
    let scratch = Scratch::new();
    let days: Vec<i32> = (0..ROWS)
        .map(|r| {
            if r == 4_500 || r == 8_200 {
                FAR
            } else {
                r as i32
            }
        })
        .collect();
    let keep: Vec<&str> = (0..ROWS)
        .map(|r| match r {
            4_500 => "n",
            8_200 => "m",
            _ => "y",
        })
        .collect();
    let batch = RecordBatch::try_from_iter([
        ("d", Arc::new(Date32Array::from(days)) as ArrayRef),
        ("keep", Arc::new(StringArray::from(keep)) as ArrayRef),
    ])
    .unwrap();
    let typed = crate::common::write_parquet_and_ipc(&scratch, "many", &batch, None, None);
    for file in &typed {
        let name = s(file);
        for (filter, row) in [(None, 4_501), (Some("keep != 'n'"), 8_201)] {
            let mut args = vec!["--by", "year(d)", "--agg", "count"];
            args.extend(filter.iter().flat_map(|f| ["--where", *f]));
            let out = run_on(file, &args);
            out.expect_code(1, &name);
            assert!(
                out.stderr
                    .contains(&format!("row {row}: column 'd': a date in the year 10000")),
                "{name} {filter:?}: {}",
                out.stderr
            );
        }
        let args = [
            "--agg",
            "count,max:d",
            "--where",
            "keep = 'y'",
            "--format",
            "csv",
        ];
        let out = run_on(file, &args);
        out.expect_ok(&name);
        assert_eq!(out.stdout, "count,max_d\n9998,1997-05-18\n", "{name}");
    }
}
