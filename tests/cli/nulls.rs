//! `--null TEXT`: CSV fields of that exact text read as null (R's and
//! pandas' `NA`, SQL's `NULL`, MySQL's `\N`). The answer is that of the
//! same file with those fields empty, whatever the input's form (file,
//! stdin, gzip, store, map and reduce) and its partitioning.

use std::path::Path;

use crate::common::*;

/// An R-style export: `NA` and `\N` in numeric, key and time columns,
/// quoted and not, beside real empty fields, and texts that only look
/// alike (`NA ` with a blank, `na`, `"NAN"`).
const SPELLED: &str = "k,x,n,ts,note\n\
a,1.5,3,2026-11-30T01:00:00,NA \n\
NA,NA,NA,NA,na\n\
b,,7,2026-11-30T02:30:00,\"NA\"\n\
\"NA\",2.25,\\N,\\N,x\n\
a,\\N,-4,2026-12-01T00:00:00,\n\
b,-3,NA,2026-11-30T01:59:59,NAN\n";

/// The same table with the `NA` and `\N` fields empty.
const EMPTY: &str = "k,x,n,ts,note\n\
a,1.5,3,2026-11-30T01:00:00,NA \n\
,,,,na\n\
b,,7,2026-11-30T02:30:00,\n\
,2.25,,,x\n\
a,,-4,2026-12-01T00:00:00,\n\
b,-3,,2026-11-30T01:59:59,NAN\n";

const QUERIES: &[&[&str]] = &[
    &[
        "--agg",
        "count,count:x,null_count:x,sum:x,mean:x,min:x,max:x,median:x,std:n,sum:n,distinct:k,approx_distinct:note,null_count:note,count:ts,min:note",
    ],
    &["--by", "k", "--agg", "count,sum:x,count:n,max:n"],
    &["--by", "day(ts)", "--agg", "count,sum:n"],
    &["--where", "x is null or n > 0", "--agg", "count,sum:n"],
    &["--where", "k = 'NA' or note != 'x'", "--agg", "count"],
    &["--by", "note", "--agg", "count"],
];

fn nulls<'a>(query: &[&'a str]) -> Vec<&'a str> {
    let mut args = query.to_vec();
    args.extend(["--null", "NA", "--null", "\\N"]);
    args
}

#[test]
fn a_null_spelling_reads_as_an_empty_field_at_every_partitioning() {
    let scratch = Scratch::new();
    let spelled = scratch.write("spelled.csv", SPELLED);
    let empty = scratch.write("empty.csv", EMPTY);
    for query in QUERIES {
        let want = run_all_partitions(query, &empty);
        assert_eq!(
            run_all_partitions(&nulls(query), &spelled),
            want,
            "{query:?}"
        );
    }
    // a few answers spelled out, so that the equivalence is not vacuous
    let r = run_on(
        &spelled,
        &nulls(&[
            "--agg",
            "count:x,sum:x,null_count:n,null_count:note,distinct:k",
        ]),
    );
    r.expect_ok("nulls");
    // `"NA"` quoted is NA too; `NA `, `na` and `NAN` are not
    assert_eq!(
        r.stdout,
        "count_x,sum_x,null_count_n,null_count_note,distinct_k\n3,0.75,3,2,2\n"
    );
    // the null key sorts last, as an empty key does
    let r = run_on(&spelled, &nulls(&["--by", "k", "--agg", "count"]));
    assert_eq!(r.stdout, "k,count\na,2\nb,2\n,2\n");
}

#[test]
fn every_form_of_the_input_gives_the_same_bytes() {
    let scratch = Scratch::new();
    let spelled = scratch.write("spelled.csv", SPELLED);
    let gz = scratch.write("spelled.csv.gz", gzip(SPELLED.as_bytes()));
    let zst = scratch.write("spelled.csv.zst", zstd(SPELLED.as_bytes()));
    let store = scratch.path("st");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run(nulls(&[
        "split",
        "-i",
        &s(&spelled),
        "--store",
        &s(&store),
        "-q",
    ]))
    .expect_ok("split --null");
    for query in QUERIES {
        let want = run_all_partitions(&nulls(query), &spelled);
        for file in [&gz, &zst] {
            let r = run_on(file, &nulls(query));
            r.expect_ok("compressed");
            assert_eq!(r.stdout, want, "{query:?} {file:?}");
        }
        let mut args = vec!["run", "-i", "-"];
        args.extend(nulls(query));
        let r = run_with_stdin(&args, Some(SPELLED.as_bytes()));
        r.expect_ok("stdin");
        assert_eq!(r.stdout, want, "{query:?} stdin");
        // the store holds them as nulls: no --null needed, the same one
        // accepted
        for with in [false, true] {
            let mut args = vec!["run", "--store", store.to_str().unwrap()];
            args.extend_from_slice(query);
            if with {
                args.extend(["--null", "\\N", "--null", "NA", "--null", "NA"]);
            }
            let r = run(&args);
            r.expect_ok("store");
            assert_eq!(r.stdout, want, "{query:?} store");
        }
        // map and reduce
        let mut args = vec!["-i", spelled.to_str().unwrap()];
        args.extend(nulls(query));
        let parts = map_all(&scratch, &args, 3);
        let mut args = vec!["reduce", "-q"];
        args.extend(parts.iter().map(|p| p.to_str().unwrap()));
        let r = run(&args);
        r.expect_ok("reduce");
        assert_eq!(r.stdout, want, "{query:?} map/reduce");
    }
    let r = run(["inspect", store.to_str().unwrap()]);
    r.expect_ok("inspect");
    assert!(
        r.stdout
            .contains("nulls       \"NA\", \"\\\\N\" (split --null)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_hive_folder_named_like_a_null_is_a_key() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.path("d/k=NA")).unwrap();
    std::fs::create_dir_all(scratch.path("d/k=b")).unwrap();
    scratch.write("d/k=NA/a.csv", "x\n1\nNA\n");
    scratch.write("d/k=b/a.csv", "x\n2\n");
    let d = scratch.path("d");
    let r = run_on(&d, &["--by", "k", "--agg", "count,sum:x", "--null", "NA"]);
    r.expect_ok("hive");
    assert_eq!(r.stdout, "k,count,sum_x\nNA,2,1\nb,1,2\n");
    // a number aggregate or test of the key meets `NA`: no note naming
    // --null, which cannot make it null (it named it, --null NA given)
    for args in [
        &["--agg", "sum:k"][..],
        &["--where", "k > 0", "--agg", "count"],
    ] {
        for null in [&[][..], &["--null", "NA"]] {
            let mut all = args.to_vec();
            all.extend_from_slice(null);
            let r = run_on(&d, &all);
            r.expect_code(1, "key NA");
            assert!(
                r.stderr.contains("column 'k'") && !r.stderr.contains("--null"),
                "{all:?}: {}",
                r.stderr
            );
        }
    }
    // while the file's own field gets it
    let r = run_on(&d, &["--agg", "sum:x"]);
    assert!(
        r.stderr.contains("`--null NA` reads it as null"),
        "{}",
        r.stderr
    );
}

#[test]
fn null_spellings_are_refused_where_they_cannot_apply() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let batch =
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
            .unwrap();
    let [pq, ipc] = write_parquet_and_ipc(&scratch, "t", &batch, None, None);
    for (file, kind) in [(&pq, "Parquet"), (&ipc, "Arrow IPC")] {
        let r = run_on(file, &["--agg", "sum:x", "--null", "NA"]);
        r.expect_code(2, kind);
        let says = format!(
            "--null applies to CSV inputs only: {} is {kind}",
            file.display()
        );
        assert!(r.stderr.contains(&says), "{}", r.stderr);
    }
    // a store split with other spellings, or none
    let csv = scratch.write("t.csv", "x\n1\nNA\n");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (plain, na) = (scratch.path("plain"), scratch.path("na"));
    run(["split", "-i", &s(&csv), "--store", &s(&plain), "-q"]).expect_ok("split");
    run([
        "split",
        "-i",
        &s(&csv),
        "--store",
        &s(&na),
        "-q",
        "--null",
        "NA",
    ])
    .expect_ok("split --null");
    for (store, given, split_with) in [(&plain, "NA", "no --null"), (&na, "NULL", "--null \"NA\"")]
    {
        let r = run([
            "run",
            "--store",
            &s(store),
            "--agg",
            "count",
            "--null",
            given,
        ]);
        r.expect_code(2, given);
        assert!(
            r.stderr.contains(&format!(
                "--null \"{given}\" does not apply to --store: {} was split with {split_with}",
                s(store)
            )),
            "{}",
            r.stderr
        );
    }
    // partials mapped with and without: not merged
    let dirs = [Scratch::new(), Scratch::new()];
    let parts = [None, Some("NA")].map(|null| {
        let mut args = vec!["-i", csv.to_str().unwrap(), "--agg", "count:x"];
        args.extend(null.iter().flat_map(|n| ["--null", n]));
        let dir = &dirs[null.is_some() as usize];
        map_all(dir, &args, 1).remove(0)
    });
    let r = run(["reduce", &s(&parts[0]), &s(&parts[1])]);
    r.expect_code(1, "two nulls");
    assert!(
        r.stderr.contains("--null \"NA\" (expected no --null)"),
        "{}",
        r.stderr
    );
}

/// Without `--null`, a common spelling of a missing value stops a numeric
/// aggregate or test, as before; the message now names the flag that reads
/// it as null, shell-quoted.
#[test]
fn a_missing_value_refused_as_a_number_names_the_flag() {
    for (text, flag) in [
        ("NA", "--null NA"),
        ("\\N", "--null '\\N'"),
        ("#N/A", "--null '#N/A'"),
    ] {
        let (_dir, file) = temp_csv(format!("x\n1\n{text}\n"));
        for args in [
            &["--agg", "sum:x"][..],
            &["--where", "x > 0", "--agg", "count"],
        ] {
            let r = run_on(&file, args);
            r.expect_code(1, text);
            assert!(
                r.stderr.contains(&format!(
                    ":3: column 'x': {}",
                    if args[0] == "--agg" {
                        "sum needs numbers"
                    } else {
                        "--where x > 0 needs a number"
                    }
                )) && r.stderr.contains(&format!(
                    "(if it marks a missing value, `{flag}` reads it as null)"
                )),
                "{}",
                r.stderr
            );
            let mut with: Vec<&str> = args.to_vec();
            with.extend(["--null", text]);
            run_on(&file, &with).expect_ok(text);
        }
    }
    // other words get no such note
    let (_dir, file) = temp_csv("x\n1\nabc\n");
    let r = run_on(&file, &["--agg", "sum:x"]);
    assert!(!r.stderr.contains("--null"), "{}", r.stderr);
}
