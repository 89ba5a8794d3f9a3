//! Grouping: keys sort numerically or in byte order as their column's type
//! says, null last; keys equal as values (`7` and `007`, `2` and `2.0`)
//! are one group; several `--by` columns sort by the first, then the next;
//! many groups (row by row folding, the radix-partitioned path) keep exact
//! answers.
//!
//! Group keys at the edges (issues 16 and 17), end to end through the
//! binary, with the same bytes from every partition and thread count and
//! every input kind (CSV, `split` + `run --store`, Parquet, Arrow IPC):
//!
//! - keys are bytes: `\xff`, `\xfe` and a literal U+FFFD are three groups,
//!   and `--format csv` writes them as they are; `json`/`ndjson` refuse text
//!   that is not UTF-8, naming the first such line;
//! - NaN is one key however it is spelled or signed, after +inf and before
//!   the null key; `-0.0` and `0.0` are one key, `0.0`;
//! - `--format table` shows control characters as escapes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{run_bytes_with_stdin, write_parquet_and_ipc, Scratch, PARTITIONS, THREADS};
use arrow_array::{ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use std::fmt::Write as _;

use crate::common::{fail_all_partitions, fixture, run_all_partitions, temp_csv, Lcg};

#[test]
fn a_zero_padded_integer_keeps_its_column_text_with_007_and_7_two_groups() {
    // group_keys.csv int_key: 10,9,-1,100,(null),2,9,007,7 with v = 1..9:
    // `007` makes the column text, so keys are the text as written, in
    // byte order, null last; sum still reads the numbers
    let out = run_all_partitions(
        &["--by", "int_key", "--agg", "count,sum:v,sum:int_key"],
        &fixture("group_keys.csv"),
    );
    assert_eq!(
        out,
        "int_key,count,sum_v,sum_int_key\n-1,1,3,-1\n007,1,8,7\n10,1,1,10\n100,1,4,100\n\
         2,1,6,2\n7,1,9,7\n9,2,9,18\n,1,5,\n"
    );
}

#[test]
fn integer_keys_sort_numerically_with_null_last() {
    let mut text = String::from("k,v\n");
    for (k, v) in [
        ("10", 1),
        ("9", 2),
        ("-1", 3),
        ("100", 4),
        ("", 5),
        ("2", 6),
        ("9", 7),
        ("0", 8),
        ("0", 9),
    ] {
        writeln!(text, "{k},{v}").unwrap();
    }
    let (_dir, path) = temp_csv(&text);
    let out = run_all_partitions(&["--by", "k", "--agg", "count,sum:v"], &path);
    assert_eq!(
        out,
        "k,count,sum_v\n-1,1,3\n0,2,17\n2,1,6\n9,2,9\n10,1,1\n100,1,4\n,1,5\n"
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
         7,4,7,-1,9,10,é,-0.5,10.0\n"
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
fn distinct_counts_7_and_plus_7_once_in_an_integer_column() {
    let (_d, file) = temp_csv("k\n7\n+7\n8\n\n");
    let out = run_all_partitions(&["--agg", "distinct:k,count:k,null_count:k,sum:k"], &file);
    assert_eq!(out, "distinct_k,count_k,null_count_k,sum_k\n2,3,0,22\n");
}

#[test]
fn distinct_counts_7_and_007_apart_once_a_zero_padded_value_makes_the_column_text() {
    let (_d, file) = temp_csv("k\n7\n007\n+7\n8\n\n");
    let out = run_all_partitions(&["--agg", "distinct:k,count:k,null_count:k,sum:k"], &file);
    assert_eq!(out, "distinct_k,count_k,null_count_k,sum_k\n4,4,0,29\n");
}

/// Zip codes and zero-padded account numbers (issue 15 §3): the text as
/// written is the key, the extreme and the distinct value, in every input
/// kind, even when the only padded value comes after thousands of plain
/// ones (other batches, other partitions); the numeric aggregates read the
/// numbers.
#[test]
fn zip_codes_and_padded_ids_keep_their_text() {
    let scratch = Scratch::new();
    let mut text = String::from("zip,acct,amount\n");
    for i in 0..6000 {
        let zip = ["10115", "75001", "94103"][i % 3];
        writeln!(text, "{zip},{},{}", 100 + i % 7, i % 10).unwrap();
    }
    text.push_str("08123,0042,5\n00501,-007,1\n75001,7,2\n");
    let csv = scratch.path("zips.csv");
    std::fs::write(&csv, &text).unwrap();
    let args = [
        "--by",
        "zip",
        "--agg",
        "count,sum:amount,min:acct,max:acct,distinct:acct,sum:acct",
    ];
    let out = run_all_partitions(&args, &csv);
    let want = "zip,count,sum_amount,min_acct,max_acct,distinct_acct,sum_acct\n\
                00501,1,1,-007,-007,1,-7\n\
                08123,1,5,0042,0042,1,42\n\
                10115,2000,9000,100,106,7,206001\n\
                75001,2001,9002,100,7,8,206006\n\
                94103,2000,9000,100,106,7,205997\n";
    assert_eq!(out, want);
    store_gives(
        &scratch,
        &csv,
        &["--by", "zip", "--agg", args[3]],
        want.as_bytes(),
    );
    // without the padded values both columns are integers again
    let plain = text.replace("08123,0042,5\n00501,-007,1\n", "");
    let csv = scratch.path("plain.csv");
    std::fs::write(&csv, plain).unwrap();
    let out = run_all_partitions(&["--by", "zip", "--agg", "count,max:acct"], &csv);
    assert!(
        out.starts_with("zip,count,max_acct\n10115,2000,106\n75001,2001,106\n"),
        "{out}"
    );
    let json = run_all_partitions(&["--agg", "min:zip", "--format", "json"], &csv);
    assert!(json.contains(r#"{"min_zip":10115}"#), "{json}");
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
        // zero-padded keys keep their text (issue 15 §3)
        want.push_str(&format!("{k:04},{n},{sum},{mean}\n"));
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
fn many_groups_buffer_the_text_their_aggregates_read_and_keep_exact_answers() {
    // 60k keys, past where workers switch to the radix-partitioned
    // group-by, whose buffered rows carry the text that `distinct`, `min`,
    // `max` and `count` read: of a text column (`note`: nulls, and notes
    // longer than a buffer's stage), of numbers (`n`: `+7` and `7` are one
    // value), and of a column that one late zero-padded value makes text
    // (`z`: `7` and `007` apart, compared as bytes)
    use std::collections::{BTreeMap, BTreeSet};
    #[derive(Default)]
    struct Want {
        n: BTreeSet<i64>,
        notes: BTreeSet<String>,
        count_note: u64,
        z: BTreeSet<String>,
    }
    let groups = 60_000u64;
    let mut csv = String::from("key,n,note,z\n");
    let mut rng = Lcg(11);
    let mut want: BTreeMap<String, Want> = BTreeMap::new();
    for i in 0..240_000u64 {
        let g = if i < groups { i } else { rng.next() % groups };
        let n = (rng.next() % 20) as i64 - 10;
        let n_text = if i % 5 == 0 && n >= 0 {
            format!("+{n}")
        } else {
            n.to_string()
        };
        let note = match rng.next() % 10 {
            0 => String::new(),
            9 => format!("long {}", "x".repeat(70 + (g % 5) as usize)),
            r => format!("note {}", r * 7 % 13),
        };
        let z = if i == 200_000 {
            "007".to_string()
        } else {
            (rng.next() % 9).to_string()
        };
        let w = want.entry(format!("k{g:05}")).or_default();
        w.n.insert(n);
        if !note.is_empty() {
            w.notes.insert(note.clone());
            w.count_note += 1;
        }
        w.z.insert(z.clone());
        writeln!(csv, "k{g:05},{n_text},{note},{z}").unwrap();
    }
    let (_dir, path) = temp_csv(&csv);
    let aggs = "distinct:n,min:n,max:n,distinct:note,min:note,max:note,count:note,distinct:z,max:z";
    let out = run_all_partitions(&["--by", "key", "--agg", aggs], &path);
    let mut lines = out.lines();
    lines.next();
    let got: Vec<&str> = lines.collect();
    assert_eq!(got.len(), groups as usize);
    for (line, (key, w)) in got.iter().zip(&want) {
        let expected = [
            key.clone(),
            w.n.len().to_string(),
            w.n.first().unwrap().to_string(),
            w.n.last().unwrap().to_string(),
            w.notes.len().to_string(),
            w.notes.first().cloned().unwrap_or_default(),
            w.notes.last().cloned().unwrap_or_default(),
            w.count_note.to_string(),
            w.z.len().to_string(),
            w.z.last().cloned().unwrap(),
        ];
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields, expected, "{line}");
    }
    // the same bytes from stores, whose columns are typed and carry no
    // source text: text columns go through the buffers as text
    let scratch = Scratch::new();
    store_gives(
        &scratch,
        &path,
        &["--by", "key", "--agg", aggs],
        out.as_bytes(),
    );

    // a text value that a numeric aggregate reads is not buffered: the
    // error still names its line, whichever path its batch took
    let mut bad = String::from("key,m\n");
    for i in 0..240_000u64 {
        let g = if i < groups { i } else { rng.next() % groups };
        if i == 150_000 {
            writeln!(bad, "k{g:05},oops").unwrap();
        } else {
            writeln!(bad, "k{g:05},{}", i % 97).unwrap();
        }
    }
    let line = bad[..bad.find("oops").unwrap()].matches('\n').count() + 1;
    let (_d, file) = temp_csv(&bad);
    let stderr = fail_all_partitions(&["--by", "key", "--agg", "distinct:m,sum:m"], &file, 1);
    assert!(stderr.contains(&format!(":{line}:")), "{stderr}");
    assert!(stderr.contains("oops"), "{stderr}");
}

// ---------------------------------------------------------------------------
// at the edges (issues 16 and 17)

/// Runs `rayproc run ARGS` at every partition and thread count (`--partitions`
/// only where `partitions`), asserts success with one stdout, returns it.
#[track_caller]
fn same_everywhere(args: &[&str], partitions: bool) -> Vec<u8> {
    let mut first: Option<(String, Vec<u8>)> = None;
    for &p in if partitions { PARTITIONS } else { &[0] } {
        for &t in THREADS {
            let mut all = vec!["run".to_string()];
            all.extend(args.iter().map(|a| a.to_string()));
            all.extend(["--threads".into(), t.to_string()]);
            if partitions {
                all.extend(["--partitions".into(), p.to_string()]);
            }
            let label = all.join(" ");
            let r = run_bytes_with_stdin(&all, None);
            assert_eq!(r.code, 0, "{label}: {}", r.stderr);
            assert_eq!(r.stderr, "", "{label}");
            match &first {
                None => first = Some((label, r.stdout)),
                Some((first_label, out)) => {
                    assert_eq!(&r.stdout, out, "{label}: stdout differs from {first_label}")
                }
            }
        }
    }
    first.expect("a run").1
}

/// `split` of `csv` into stores of several partition counts, each store
/// run with `args`: asserts every stdout is `want`.
#[track_caller]
fn store_gives(scratch: &Scratch, csv: &Path, args: &[&str], want: &[u8]) {
    for parts in ["1", "3", "7"] {
        let store = scratch.path(&format!("s{parts}.store"));
        let s = store.to_str().unwrap();
        let split = run_bytes_with_stdin(
            [
                "split",
                "--input",
                csv.to_str().unwrap(),
                "--store",
                s,
                "--partitions",
                parts,
            ],
            None,
        );
        assert_eq!(split.code, 0, "split: {}", split.stderr);
        let mut all = vec!["--store", s];
        all.extend(args);
        assert_eq!(
            String::from_utf8_lossy(&same_everywhere(&all, false)),
            String::from_utf8_lossy(want),
            "store of {parts} partitions"
        );
    }
}

fn record_batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = (columns.iter())
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Writes the columns as Parquet (`NAME.parquet`, row groups of 7 rows)
/// and as Arrow IPC (`NAME.arrow`, record batches of 11 rows); returns both
/// paths.
fn write_typed(scratch: &Scratch, name: &str, columns: Vec<(&str, ArrayRef)>) -> [PathBuf; 2] {
    write_parquet_and_ipc(scratch, name, &record_batch(columns), Some(7), Some(11))
}

/// The non-UTF-8 fixture: 300 rows, key `KEYS[i % 6]` (`None`: null) and
/// `v = i`, so each key has 50 rows and `v` sums to 7350 + 50 j for key j.
const KEYS: [Option<&[u8]>; 6] = [
    Some(b"a"),
    Some(b"\xff"),
    Some(b"\xfe"),
    Some("\u{FFFD}".as_bytes()),
    None,
    Some(b"z\xff"),
];

fn non_utf8_input(scratch: &Scratch) -> PathBuf {
    let mut csv = b"k,v\n".to_vec();
    for i in 0..300 {
        csv.extend_from_slice(KEYS[i % 6].unwrap_or(b""));
        csv.extend_from_slice(format!(",{i}\n").as_bytes());
    }
    scratch.write("bytes.csv", csv)
}

/// Sorted by bytes: `a` < `z\xff` < U+FFFD (EF BF BD) < `\xfe` < `\xff`,
/// then the null key.
const BY_BYTES: &[u8] = b"k,count,sum_v\n\
    a,50,7350\n\
    z\xff,50,7600\n\
    \xef\xbf\xbd,50,7500\n\
    \xfe,50,7450\n\
    \xff,50,7400\n\
    ,50,7550\n";

#[test]
fn keys_that_are_not_utf8_are_grouped_by_their_bytes_in_every_input_kind() {
    let scratch = Scratch::new();
    let csv = non_utf8_input(&scratch);
    let args = ["--by", "k", "--agg", "count,sum:v", "--format", "csv"];
    let mut from_csv = vec!["--input", csv.to_str().unwrap()];
    from_csv.extend(args);
    let got = same_everywhere(&from_csv, true);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(BY_BYTES)
    );
    assert_eq!(got, BY_BYTES, "the bytes as they are");
    store_gives(&scratch, &csv, &args, BY_BYTES);

    let keys: BinaryArray = (0..300).map(|i| KEYS[i % 6]).collect();
    let v: Int64Array = (0..300).map(Some).collect();
    let columns = vec![("k", Arc::new(keys) as ArrayRef), ("v", Arc::new(v) as _)];
    for typed in write_typed(&scratch, "bytes", columns) {
        let mut from_typed = vec!["--input", typed.to_str().unwrap()];
        from_typed.extend(args);
        let got = same_everywhere(&from_typed, true);
        assert_eq!(got, BY_BYTES, "{}", typed.display());
    }
}

#[test]
fn distinct_min_and_max_of_text_are_by_bytes() {
    let scratch = Scratch::new();
    let csv = non_utf8_input(&scratch);
    let args = ["--agg", "distinct:k,min:k,max:k,count:k", "--format", "csv"];
    let want: &[u8] = b"distinct_k,min_k,max_k,count_k\n5,a,\xff,250\n";
    let mut from_csv = vec!["--input", csv.to_str().unwrap()];
    from_csv.extend(args);
    assert_eq!(same_everywhere(&from_csv, true), want);
    store_gives(&scratch, &csv, &args, want);
}

#[test]
fn json_refuses_text_that_is_not_utf8_naming_the_value_and_its_first_line() {
    let scratch = Scratch::new();
    let csv = non_utf8_input(&scratch);
    let csv_arg = csv.to_str().unwrap();
    let name = csv.display().to_string();
    let bytes = std::fs::read(&csv).unwrap();
    // the refused value is the result's first that is not UTF-8 (leftmost
    // column, then row order), the line the first that holds it: `\xff`
    // is on line 3, `z\xff` first on line 7
    for format in ["json", "ndjson"] {
        for (query, line, value) in [
            (&["--by", "k", "--agg", "count"][..], 7, "z\\xff"),
            (&["--by", "v,k", "--agg", "count"], 3, "\\xff"),
            (&["--agg", "min:k,max:k"], 3, "\\xff"),
            // the first such value kept is `z\xff` (line 13), but the
            // result's is `\xff`, kept on line 15 at the earliest
            (&["--agg", "max:k", "--where", "v > 10"], 15, "\\xff"),
            (
                &["--by", "k", "--agg", "count", "--where", "v > 10"],
                13,
                "z\\xff",
            ),
        ] {
            let why =
                format!("column 'k': invalid UTF-8 in \"{value}\": {format} output cannot hold");
            let want = format!("rayproc: error: {name}:{line}: {why}");
            for (p, t) in [("1", "1"), ("7", "2"), ("64", "4")] {
                let mut args = vec!["run", "--input", csv_arg, "--format", format];
                args.extend(query);
                args.extend(["--partitions", p, "--threads", t]);
                let r = run_bytes_with_stdin(&args, None);
                assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
                assert!(r.stdout.is_empty(), "{args:?}: nothing is written");
                assert!(r.stderr.starts_with(&want), "{args:?}: {}", r.stderr);
                assert!(r.stderr.contains("--format csv"), "{}", r.stderr);
            }
            // standard input cannot be read again: the same column and
            // value, with no line
            let mut args = vec!["run", "--input", "-", "--format", format];
            args.extend(query);
            let r = run_bytes_with_stdin(&args, Some(&bytes));
            assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{args:?}: nothing is written");
            let want = format!("rayproc: error: {why}");
            assert!(r.stderr.starts_with(&want), "{args:?}: {}", r.stderr);
            // nor does `reduce`, which reads partials: the same again
            let part = scratch.path("all.part");
            let mut args = vec!["map", "--input", csv_arg, "--part", "0/1"];
            args.extend(query);
            args.extend(["--emit-partial", part.to_str().unwrap()]);
            let r = run_bytes_with_stdin(&args, None);
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            let args = ["reduce", part.to_str().unwrap(), "--format", format];
            let r = run_bytes_with_stdin(args, None);
            assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{args:?}: nothing is written");
            assert!(r.stderr.starts_with(&want), "{args:?}: {}", r.stderr);
        }
    }
    // a compressed file is decompressed again, in blocks as the run read
    // it: the same line (the reopened stream's blocks count their lines);
    // standard input cannot be read again: the column and the value
    let gz = scratch.write("bytes.csv.gz", crate::common::gzip(&bytes));
    let zst = scratch.write("bytes.csv.zst", crate::common::zstd(&bytes));
    // `run INPUTS --by k --agg count --format json`, stdin `stdin`: it
    // fails, writing nothing; its stderr
    let refused = |inputs: &[&str], extra: &[&str], stdin: Option<&[u8]>| {
        let mut args = vec!["run"];
        args.extend(inputs.iter().flat_map(|i| ["--input", i]));
        args.extend(["--by", "k", "--agg", "count", "--format", "json"]);
        args.extend(extra);
        let r = run_bytes_with_stdin(&args, stdin);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
        r.stderr
    };
    for packed in [&gz, &zst] {
        let name = packed.display().to_string();
        let want =
            format!("rayproc: error: {name}:7: column 'k': invalid UTF-8 in \"z\\xff\": json");
        for threads in ["1", "3"] {
            let stderr = refused(&[packed.to_str().unwrap()], &["--threads", threads], None);
            assert!(stderr.starts_with(&want), "{threads}: {stderr}");
        }
    }
    // a plain file after standard input: stdin may hold the first such
    // value, so no line is named
    for inputs in [&["-"][..], &["-", gz.to_str().unwrap()]] {
        let stderr = refused(inputs, &[], Some(&bytes));
        assert!(
            stderr.starts_with(
                "rayproc: error: column 'k': invalid UTF-8 in \"z\\xff\": json output"
            ),
            "{inputs:?}: {stderr}"
        );
    }
    // a store names the source line its row was split from: the same
    // error as `run --input` on the source, whatever the partitions, also
    // under `--where` (the first kept row) and from a compressed source
    let queries: [&[&str]; 3] = [
        &["--by", "k", "--agg", "count"],
        &["--by", "v,k", "--agg", "count", "--where", "v >= 100"],
        &["--agg", "max:k", "--where", "v > 200"],
    ];
    for (source, parts) in [(&csv, "1"), (&csv, "5"), (&gz, "3")] {
        let source = source.to_str().unwrap();
        let store = scratch.path(&format!("bytes{parts}.store"));
        let s = store.to_str().unwrap();
        let split = run_bytes_with_stdin(
            [
                "split",
                "--input",
                source,
                "--store",
                s,
                "--partitions",
                parts,
            ],
            None,
        );
        assert_eq!(split.code, 0, "{}", split.stderr);
        for query in queries {
            let mut from_source = vec!["run", "--input", source, "--format", "json"];
            from_source.extend(query);
            let want = run_bytes_with_stdin(&from_source, None);
            assert_eq!(want.code, 1, "{from_source:?}: {}", want.stderr);
            assert!(want.stderr.contains(".csv"), "{}", want.stderr);
            let mut from_store = vec!["run", "--store", s, "--format", "json"];
            from_store.extend(query);
            let r = run_bytes_with_stdin(&from_store, None);
            assert_eq!(r.code, 1, "{from_store:?}: {}", r.stderr);
            assert!(r.stdout.is_empty());
            assert_eq!(r.stderr, want.stderr, "{from_store:?}");
        }
    }
    // a store split from standard input has no source to read again: the
    // column and the value instead
    let store = scratch.path("stdin.store");
    let s = store.to_str().unwrap();
    let split = run_bytes_with_stdin(["split", "--input", "-", "--store", s], Some(&bytes));
    assert_eq!(split.code, 0, "{}", split.stderr);
    let r = run_bytes_with_stdin(
        [
            "run", "--store", s, "--by", "k", "--agg", "count", "--format", "json",
        ],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .starts_with("rayproc: error: column 'k': invalid UTF-8 in \"z\\xff\": json output"),
        "{}",
        r.stderr
    );
    // UTF-8 keys, U+FFFD among them, are fine in JSON
    let ok = scratch.write("ok.csv", "k\n\u{FFFD}\nb\n");
    let r = run_bytes_with_stdin(
        [
            "run",
            "--input",
            ok.to_str().unwrap(),
            "--by",
            "k",
            "--agg",
            "count",
            "--format",
            "ndjson",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        String::from_utf8(r.stdout).unwrap(),
        "{\"k\":\"b\",\"count\":1}\n{\"k\":\"\u{FFFD}\",\"count\":1}\n"
    );
}

/// NaN spelled three ways, infinities, both zeros, a null, 20 times over:
/// `v` is a power of two per spelling, so each sum shows who joined whom.
const NAN_ROWS: [(&str, i64); 10] = [
    ("nan", 1),
    ("1", 2),
    ("-nan", 4),
    ("NaN", 8),
    ("inf", 16),
    ("-0.0", 32),
    ("0", 64),
    ("-inf", 128),
    ("", 256),
    ("2.5", 512),
];

/// One NaN key after +inf, before null; one zero key, `0.0`.
const NAN_WANT: &str = "k,count,sum_v\n\
    -inf,20,2560\n\
    0.0,40,1920\n\
    1.0,20,40\n\
    2.5,20,10240\n\
    inf,20,320\n\
    NaN,60,260\n\
    ,20,5120\n";

#[test]
fn nan_is_one_key_after_every_number_in_every_input_kind() {
    let scratch = Scratch::new();
    let mut text = String::from("k,v\n");
    for _ in 0..20 {
        for (k, v) in NAN_ROWS {
            text.push_str(&format!("{k},{v}\n"));
        }
    }
    let csv = scratch.write("nan.csv", text);
    let args = ["--by", "k", "--agg", "count,sum:v", "--format", "csv"];
    let mut from_csv = vec!["--input", csv.to_str().unwrap()];
    from_csv.extend(args);
    assert_eq!(
        String::from_utf8(same_everywhere(&from_csv, true)).unwrap(),
        NAN_WANT
    );
    store_gives(&scratch, &csv, &args, NAN_WANT.as_bytes());

    // Parquet and Arrow IPC: NaN as stored, of either sign and any payload
    let as_float = |k: &str| -> Option<f64> {
        match k {
            "nan" => Some(f64::NAN),
            "-nan" => Some(f64::from_bits(0xfff8_0000_0000_0000)),
            "NaN" => Some(f64::from_bits(0x7ff0_0000_0000_0001)),
            "" => None,
            k => Some(k.parse().unwrap()),
        }
    };
    let rows = NAN_ROWS.iter().cycle().take(200);
    let keys: Float64Array = rows.clone().map(|(k, _)| as_float(k)).collect();
    let v: Int64Array = rows.map(|&(_, v)| Some(v)).collect();
    let columns = vec![("k", Arc::new(keys) as ArrayRef), ("v", Arc::new(v) as _)];
    for typed in write_typed(&scratch, "nan", columns) {
        let mut from_typed = vec!["--input", typed.to_str().unwrap()];
        from_typed.extend(args);
        let got = String::from_utf8(same_everywhere(&from_typed, true)).unwrap();
        assert_eq!(got, NAN_WANT, "{}", typed.display());
    }
}

/// A NaN with its sign bit set (`-nan`, numpy's `inf * 0`) is the NaN that
/// sorts last in min, max and the quantiles too, as it does as a key:
/// `f64::total_cmp` alone put it below -inf (min NaN, max 1.0, median
/// -inf here).
#[test]
fn a_negative_nan_is_last_in_min_max_and_quantiles_in_every_input_kind() {
    const WANT: &str = "min_x,max_x,p0_x,median_x,p100_x\n-inf,NaN,-inf,1.0,NaN\n";
    let scratch = Scratch::new();
    let csv = scratch.write("neg_nan.csv", "x\n1\n-nan\n-inf\n");
    let args = [
        "--agg",
        "min:x,max:x,p0:x,median:x,p100:x",
        "--format",
        "csv",
    ];
    let mut from_csv = vec!["--input", csv.to_str().unwrap()];
    from_csv.extend(args);
    assert_eq!(
        String::from_utf8(same_everywhere(&from_csv, true)).unwrap(),
        WANT
    );
    store_gives(&scratch, &csv, &args, WANT.as_bytes());
    let x: Float64Array = [
        1.0,
        f64::from_bits(0xfff8_0000_0000_0000),
        f64::NEG_INFINITY,
    ]
    .into_iter()
    .map(Some)
    .collect();
    for typed in write_typed(&scratch, "neg_nan", vec![("x", Arc::new(x) as ArrayRef)]) {
        let mut from_typed = vec!["--input", typed.to_str().unwrap()];
        from_typed.extend(args);
        let got = String::from_utf8(same_everywhere(&from_typed, true)).unwrap();
        assert_eq!(got, WANT, "{}", typed.display());
    }
}

#[test]
fn the_table_format_shows_control_characters_as_escapes() {
    let scratch = Scratch::new();
    let csv = scratch.write(
        "ctl.csv",
        "k,v\n\"a\x1b[31mred\",1\n\"tab\there\",2\n\"nl\nx\",3\n\u{202E}rtl,4\nback\\slash,5\n\x07bell\x7f,6\n\
         nl\\nx,7\n日本,8\n",
    );
    let got = same_everywhere(
        &[
            "--input",
            csv.to_str().unwrap(),
            "--by",
            "k",
            "--agg",
            "count",
            "--format",
            "table",
        ],
        true,
    );
    let got = String::from_utf8(got).unwrap();
    // sorted by bytes: 07 < a < b < n (then `nl\` after `nl\n`) < t <
    // E2 80 AE < E6; a backslash is escaped, so that the newline and the
    // two characters `\n` show apart, and the columns are aligned by
    // terminal cells (`日本` takes four)
    let keys = [
        ("\\u{7}bell\\u{7f}", 15),
        ("a\\u{1b}[31mred", 14),
        ("back\\\\slash", 11),
        ("nl\\nx", 5),
        ("nl\\\\nx", 6),
        ("tab\\there", 9),
        ("\\u{202e}rtl", 11),
        ("日本", 4),
    ];
    let mut want = format!("{:<15}  count\n{}  -----\n", "k", "-".repeat(15));
    for (k, cells) in keys {
        want.push_str(&format!("{k}{}  {:>5}\n", " ".repeat(15 - cells), 1));
    }
    assert_eq!(got, want);
    assert!(
        !got.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202E}'),
        "nothing that drives a terminal"
    );
}

/// A lone `distinct` on many threads groups by its column (see the
/// invariance test of the same name for CSV); on typed columns too, its
/// count is `distinct`'s: integers as integers, `0.0` and `-0.0` one
/// float, every NaN one, nulls none.
#[test]
fn distinct_alone_on_many_threads_counts_typed_values_as_distinct_with_others_does() {
    let scratch = Scratch::new();
    let n = 3000;
    let ints: Vec<Option<i64>> = (0..n)
        .map(|i| (i % 7 != 0).then_some((i * i) % 1013 - 500))
        .collect();
    let floats: Vec<Option<f64>> = (0..n)
        .map(|i| match i % 9 {
            0 => None,
            1 => Some(-0.0),
            2 => Some(0.0),
            3 => Some(f64::NAN),
            4 => Some(-f64::NAN),
            5 => Some(f64::INFINITY),
            _ => Some((i % 401) as f64 / 4.0),
        })
        .collect();
    let texts: Vec<Option<Vec<u8>>> = (0..n)
        .map(|i| (i % 5 != 0).then(|| format!("t{}", i % 777).into_bytes()))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("i", Arc::new(Int64Array::from(ints))),
        ("f", Arc::new(Float64Array::from(floats))),
        ("b", Arc::new(BinaryArray::from_iter(texts))),
    ];
    for path in write_typed(&scratch, "typed", columns) {
        for column in ["i", "f", "b"] {
            let with_count = format!("distinct:{column},count");
            let first = |agg: &str, threads: &str| {
                let out = crate::common::run_on(&path, &["--agg", agg, "--threads", threads]);
                out.expect_ok(agg).first_answer().to_string()
            };
            let want = first(&with_count, "1");
            for threads in ["1", "8", "16"] {
                for agg in [format!("distinct:{column}"), with_count.clone()] {
                    let got = first(&agg, threads);
                    assert_eq!(got, want, "{agg} on {threads} threads, {}", path.display());
                }
            }
        }
    }
}

/// The Arrow types of the columns of the Parquet file at `path`.
fn parquet_types(path: &Path) -> Vec<arrow_schema::DataType> {
    let file = std::fs::File::open(path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    (reader.schema().fields().iter())
        .map(|f| f.data_type().clone())
        .collect()
}

/// A result of no group (a filter that keeps no row) written as Parquet
/// has the column types a result of some groups has, where the run knows
/// them: a typed input's text and float columns by their schema, a time
/// bucket's key as text, counts as integers, means and quantiles as
/// floats; through `run` and through `map` + `reduce` alike. A CSV column
/// of no value has no type (Int64, as documented).
#[test]
fn a_result_of_no_group_has_the_column_types_of_one_with_groups() {
    use arrow_array::StringArray;
    use arrow_schema::DataType::{Float64, Int64, Utf8};
    let s = Scratch::new();
    let city: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "b", "c"]));
    let x: ArrayRef = Arc::new(Float64Array::from(vec![1.5, 2.5, 3.0, 4.0]));
    let n: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
    let ts: ArrayRef = Arc::new(StringArray::from(vec!["2024-01-01T10:00:00"; 4]));
    let columns = vec![("city", city), ("x", x), ("n", n), ("ts", ts)];
    let inputs = write_typed(&s, "typed", columns);
    let queries: [(&[&str], Vec<arrow_schema::DataType>); 3] = [
        (
            &[
                "--by",
                "city",
                "--agg",
                "mean:x,min:city,count,sum:x,median:n,min:x,sum:n",
            ],
            vec![Utf8, Float64, Utf8, Int64, Float64, Float64, Float64, Int64],
        ),
        (
            &["--by", "day(ts)", "--agg", "count,max:x"],
            vec![Utf8, Int64, Float64],
        ),
        (
            &["--agg", "min:city,mean:n,max:x"],
            vec![Utf8, Float64, Float64],
        ),
    ];
    for input in &inputs {
        let i = input.display().to_string();
        for (k, (query, want)) in queries.iter().enumerate() {
            for filter in ["n > 0", "n > 100"] {
                let out = s.path(&format!("r{k}.parquet"));
                let o = out.display().to_string();
                let mut args = vec!["run", "--input", &i, "--where", filter];
                args.extend(["--format", "parquet", "--output", &o]);
                args.extend(query.iter());
                crate::common::run(&args).expect_ok("run");
                assert_eq!(&parquet_types(&out), want, "{i} {query:?} where {filter}");
                let part = s.path("p.part").display().to_string();
                let mut map = vec!["map", "--input", &i, "--where", filter, "--part", "0/1"];
                map.extend(query.iter());
                map.extend(["--emit-partial", &part]);
                crate::common::run(&map).expect_ok("map");
                crate::common::run(["reduce", &part, "--format", "parquet", "--output", &o])
                    .expect_ok("reduce");
                assert_eq!(
                    &parquet_types(&out),
                    want,
                    "reduce: {i} {query:?} where {filter}"
                );
            }
        }
    }
    // CSV, and a store made from it (typed as its CSV, by the rows kept,
    // not by the store's schema): a column of no value has no type; the
    // answers' types hold
    let csv = s
        .write("c.csv", "city,x\nb,1.5\na,2.5\n")
        .display()
        .to_string();
    let store = s.path("c.store").display().to_string();
    crate::common::run(["split", "-q", "--input", &csv, "--store", &store]).expect_ok("split");
    for source in [["--input", &csv], ["--store", &store]] {
        let out = s.path("c.parquet");
        let o = out.display().to_string();
        let mut args = vec!["run", "--where", "x > 100", "--by", "city"];
        args.extend(source);
        args.extend(["--agg", "count,min:x,sum:x,mean:x"]);
        args.extend(["--format", "parquet", "--output", &o]);
        crate::common::run(&args).expect_ok("csv");
        assert_eq!(
            parquet_types(&out),
            [Int64, Int64, Int64, Int64, Float64],
            "{source:?}"
        );
    }
    let header = s.write("h.csv", "city,x\n");
    let out = s.path("h.parquet");
    crate::common::run([
        "run",
        "--input",
        &header.display().to_string(),
        "--by",
        "city",
        "--agg",
        "count,mean:x,min:x",
        "--format",
        "parquet",
        "--output",
        &out.display().to_string(),
    ])
    .expect_ok("header only");
    assert_eq!(parquet_types(&out), [Int64, Int64, Float64, Int64]);
}

/// The wide integers' rows: `k` a UInt64 (`None`: null), `d` a decimal of
/// scale 0 beyond i64 (as text, its digits).
const WIDE_ROWS: [(Option<u64>, Option<&str>); 6] = [
    (Some(u64::MAX), Some("100000000000000000000")),
    (Some(u64::MAX - 1), Some("100000000000000000001")),
    (Some(1 << 63), Some("-100000000000000000000")),
    (Some(5), Some("7")),
    (Some(10), Some("0")),
    (None, None),
];

/// An integer beyond 64 bits in a Parquet or Arrow IPC file (a UInt64 above
/// 2^63 - 1, a decimal of scale 0 beyond i64) is read as the CSV reader
/// reads the same digits: its column text for `distinct` (its keys each
/// their group, but sorted by value and printed as integers), its integers
/// compared as integers by `min` and `max` and exact in sums. They were read as floats, which
/// merged `18446744073709551615` and `18446744073709551614` into one key
/// `1.8446744073709552e19`, counted them as one distinct value and summed
/// them inexactly: an answer that depended on the input kind. A `--where`
/// that keeps only narrow rows types them as the CSV does: integers, sorted
/// numerically.
#[test]
fn integers_beyond_64_bits_read_alike_from_csv_parquet_and_arrow() {
    const KEYS: &str = "k,count,sum_v,min_d,max_d\n\
        5,5,75,7,7\n\
        10,5,80,0,0\n\
        9223372036854775808,5,70,-100000000000000000000,-100000000000000000000\n\
        18446744073709551614,5,65,100000000000000000001,100000000000000000001\n\
        18446744073709551615,5,60,100000000000000000000,100000000000000000000\n\
        ,5,85,,\n";
    const TOTALS: &str = "sum_k,distinct_k,min_k,max_k,sum_d,distinct_d,count_d,mean_d,median_k\n\
        230584300921369395260,5,5,18446744073709551615,500000000000000000040,5,25,\
        2e19,9.223372036854776e18\n";
    const BY_D: &str = "d,count,max_k\n\
        -100000000000000000000,5,9223372036854775808\n\
        0,5,10\n\
        7,5,5\n\
        100000000000000000000,5,18446744073709551615\n\
        100000000000000000001,5,18446744073709551614\n\
        ,5,\n";
    // only the rows of 5 and 10: integers, in numeric order, as in the CSV
    const NARROW: &str = "k,count,max_k\n5,5,5\n10,5,10\n";
    let narrow = "v in (3, 4, 9, 10, 15, 16, 21, 22, 27, 28)";
    let queries: [(&[&str], &str); 4] = [
        (&["--by", "k", "--agg", "count,sum:v,min:d,max:d"], KEYS),
        (
            &[
                "--agg",
                "sum:k,distinct:k,min:k,max:k,sum:d,distinct:d,count:d,mean:d,median:k",
            ],
            TOTALS,
        ),
        (&["--by", "d", "--agg", "count,max:k"], BY_D),
        (
            &["--by", "k", "--agg", "count,max:k", "--where", narrow],
            NARROW,
        ),
    ];

    let scratch = Scratch::new();
    let rows: Vec<_> = WIDE_ROWS.iter().cycle().take(30).collect();
    let mut text = String::from("k,v,d\n");
    for (i, (k, d)) in rows.iter().enumerate() {
        let k = k.map(|k| k.to_string()).unwrap_or_default();
        writeln!(text, "{k},{i},{}", d.unwrap_or_default()).unwrap();
    }
    let csv = scratch.write("wide.csv", text);
    let k: arrow_array::UInt64Array = rows.iter().map(|(k, _)| *k).collect();
    let v: Int64Array = (0..rows.len() as i64).map(Some).collect();
    let d = arrow_array::Decimal128Array::from(
        (rows.iter())
            .map(|(_, d)| d.map(|d| d.parse::<i128>().unwrap()))
            .collect::<Vec<_>>(),
    )
    .with_precision_and_scale(38, 0)
    .unwrap();
    let columns = vec![
        ("k", Arc::new(k) as ArrayRef),
        ("v", Arc::new(v) as _),
        ("d", Arc::new(d) as _),
    ];
    let typed = write_typed(&scratch, "wide", columns);
    for (args, want) in queries {
        let args: Vec<&str> = args.iter().copied().chain(["--format", "csv"]).collect();
        let mut from_csv = vec!["--input", csv.to_str().unwrap()];
        from_csv.extend(&args);
        let got = String::from_utf8(same_everywhere(&from_csv, true)).unwrap();
        assert_eq!(got, want, "{args:?} from the CSV");
        store_gives(&scratch, &csv, &args, want.as_bytes());
        for path in &typed {
            let mut from_typed = vec!["--input", path.to_str().unwrap()];
            from_typed.extend(&args);
            let got = String::from_utf8(same_everywhere(&from_typed, true)).unwrap();
            assert_eq!(got, want, "{args:?} from {}", path.display());
        }
    }
}

/// Row groups and batches of narrow integers beside one holding a value
/// beyond 64 bits: the column is text (as the CSV reads it), and the narrow
/// batches' values count in `min`, `max` (as integers, every value being
/// one) and `distinct` (as their spelling) (they were dropped: `max` 3 for
/// 7, `distinct` 2 for 3, and a group of narrow batches only came out
/// empty), for every partition count and in parts mapped and reduced.
#[test]
fn narrow_batches_beside_wide_ones_keep_their_values_as_text() {
    // (k, u, d); batches of two rows: [a 5, b 10] [a 2^64-1, b 5] [a 7, b -]
    // [a -, b 10]
    const ROWS: [(&str, Option<u64>, Option<i128>); 8] = [
        ("a", Some(5), Some(5)),
        ("b", Some(10), Some(-10)),
        ("a", Some(u64::MAX), Some(10i128.pow(20))),
        ("b", Some(5), Some(5)),
        ("a", Some(7), Some(7)),
        ("b", None, None),
        ("a", None, None),
        ("b", Some(10), Some(-10)),
    ];
    const TOTALS: &str = "min_u,max_u,distinct_u,min_d,max_d,distinct_d\n\
        5,18446744073709551615,4,-10,100000000000000000000,4\n";
    const BY_K: &str = "k,min_u,max_u,distinct_u,min_d,max_d,distinct_d\n\
        a,5,18446744073709551615,3,5,100000000000000000000,3\n\
        b,5,10,2,-10,5,2\n";
    let aggs = "min:u,max:u,distinct:u,min:d,max:d,distinct:d";
    let queries: [(&[&str], &str); 2] = [
        (&["--agg", aggs], TOTALS),
        (&["--by", "k", "--agg", aggs], BY_K),
    ];
    let scratch = Scratch::new();
    let mut text = String::from("k,u,d\n");
    for (k, u, d) in ROWS {
        let u = u.map(|u| u.to_string()).unwrap_or_default();
        let d = d.map(|d| d.to_string()).unwrap_or_default();
        writeln!(text, "{k},{u},{d}").unwrap();
    }
    let csv = scratch.write("narrow.csv", text);
    let k: arrow_array::StringArray = ROWS.iter().map(|r| Some(r.0)).collect();
    let u: arrow_array::UInt64Array = ROWS.iter().map(|r| r.1).collect();
    let d = arrow_array::Decimal128Array::from(ROWS.iter().map(|r| r.2).collect::<Vec<_>>())
        .with_precision_and_scale(38, 0)
        .unwrap();
    let columns = vec![
        ("k", Arc::new(k) as ArrayRef),
        ("u", Arc::new(u) as _),
        ("d", Arc::new(d) as _),
    ];
    let typed = write_parquet_and_ipc(&scratch, "narrow", &record_batch(columns), Some(2), Some(2));
    for (query, want) in queries {
        let args: Vec<&str> = query.iter().copied().chain(["--format", "csv"]).collect();
        for path in [&csv, &typed[0], &typed[1]] {
            let mut from = vec!["--input", path.to_str().unwrap()];
            from.extend(&args);
            let got = String::from_utf8(same_everywhere(&from, true)).unwrap();
            assert_eq!(got, want, "{args:?} from {}", path.display());
            // in parts, mapped and reduced
            let mut partials = Vec::new();
            for part in 0..3 {
                let out = scratch.path(&format!("part{part}"));
                let mut map = vec!["map".to_string(), "--input".into()];
                map.push(path.display().to_string());
                map.extend(query.iter().map(|a| a.to_string()));
                map.extend([
                    "--part".into(),
                    format!("{part}/3"),
                    "--emit-partial".into(),
                ]);
                map.push(out.display().to_string());
                crate::common::run(&map).expect_ok("map");
                partials.push(out.display().to_string());
            }
            let mut reduce = vec!["reduce".to_string()];
            reduce.extend(partials);
            reduce.extend(["--format".into(), "csv".into()]);
            // (a part that saw only numbers is mapped again, keeping text)
            let r = crate::common::run(&reduce);
            r.expect_code(0, "reduce");
            assert_eq!(
                r.stdout,
                want,
                "{args:?} from {}, mapped in 3 parts",
                path.display()
            );
        }
    }
}

/// Text keys that agree on tens of thousands of bytes are put in order:
/// sorting them 16 bytes a level nested a call per level, and three keys of
/// 60 KB that differ only at their ends overflowed a worker's stack
/// (`fatal runtime error: stack overflow`, exit 134). The keys come in an
/// order that is not already sorted, so that they are sorted.
#[test]
fn keys_that_agree_on_thousands_of_bytes_are_sorted_without_a_crash() {
    let long = "€".repeat(20_000);
    let (_dir, path) = temp_csv(format!("k\n{long}\n{long}€\n{long}\né\n"));
    let out = run_all_partitions(&["--by", "k", "--agg", "count"], &path);
    assert_eq!(out, format!("k,count\né,1\n{long},2\n{long}€,1\n"));
}
