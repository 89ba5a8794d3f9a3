//! `--partitions` and `--threads` never change a single output byte, nor
//! an error: on a larger generated file with quoted newlines, on a big file
//! rayproc partitions by itself, and on sets split across threads.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use crate::common::{
    json_of, run_all_partitions, run_everywhere, run_on, temp_csv, CsvText, Lcg, Run,
};

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
fn distinct_of_many_texts_is_exact_with_few_and_many_threads() {
    // past 64k distinct texts, in a pool of 8 or more threads, the sets are
    // split by hash and merged part by part in parallel; alone, `distinct`
    // groups by its column there instead, so it runs beside `count` too
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
        for (agg, tail) in [("distinct:key", ""), ("distinct:key,count", ",200000")] {
            let out = run_agg(&path, agg, threads, partitions);
            out.expect_ok(agg);
            let header = agg.replace("distinct:key", "distinct_key");
            assert_eq!(
                out.stdout,
                format!("{header}\n{}{tail}\n", want.len()),
                "{agg} on {threads} threads"
            );
        }
    }
}

/// `--agg AGG` over `path` on `threads` threads and `partitions` partitions.
fn run_agg(path: &Path, agg: &str, threads: &str, partitions: &str) -> Run {
    let args = [
        "--agg",
        agg,
        "--threads",
        threads,
        "--partitions",
        partitions,
    ];
    run_on(path, &args)
}

#[test]
fn distinct_alone_on_many_threads_counts_what_distinct_with_others_counts() {
    // alone, on 8 or more threads, `distinct` is answered by grouping on
    // its column (one shared table per hash partition, each key once);
    // beside another aggregate it keeps a set per worker. Both must count
    // values as the column's type: `7`, `007` and `0007` one integer, `0.0`
    // and `-0.0` one float, every NaN one, texts as spelled, nulls none.
    let mut csv = String::from("i,f,t,n\n");
    let mut rng = Lcg(5);
    let spellings = [
        ("7", "0.0", "abc", ""),
        ("007", "-0.0", "7", ""),
        ("0007", "NaN", "007", ""),
        ("-0", "nan", "", ""),
        ("0", "1", "abc", ""),
        ("", "1.0", "x", ""),
        ("12", "1e0", "", ""),
        ("-12", "-inf", "7", ""),
    ];
    for row in 0..40_000u64 {
        let (i, f, t, n) = spellings[(row % 8) as usize];
        let r = rng.next() % 3_000;
        if row % 5 == 0 {
            writeln!(csv, "{r},{r}.5,t{r},{n}").unwrap();
        } else {
            writeln!(csv, "{i},{f},{t},{n}").unwrap();
        }
    }
    let (_dir, path) = temp_csv(&csv);
    for column in ["i", "f", "t", "n"] {
        let alone = format!("distinct:{column}");
        let with_count = format!("distinct:{column},count");
        let want = run_on(&path, &["--agg", &with_count, "--threads", "1"]);
        let want = want.expect_ok(&with_count).first_answer();
        for (threads, partitions) in [
            ("1", "1"),
            ("2", "5"),
            ("8", "16"),
            ("16", "16"),
            ("9", "64"),
        ] {
            for agg in [&alone, &with_count] {
                let out = run_agg(&path, agg, threads, partitions);
                assert_eq!(
                    out.expect_ok(agg).first_answer(),
                    want,
                    "{agg} on {threads} threads, {partitions} partitions"
                );
            }
        }
    }
}
