//! Many files as one table (issue 14 §3): `--input` takes a quoted glob
//! pattern (expanded by rayproc, sorted by path) or a folder (every data
//! file below it, hidden and `_`-prefixed names skipped); `key=value`
//! folders become columns `key` after the files' own; files must share
//! their columns, and one that does not is named with its first
//! difference; the answer never depends on how a table is cut into files,
//! nor on the partition and thread counts.

use std::path::{Path, PathBuf};

use crate::common::*;

/// Writes `content` at `rel` below `root`, folders created.
fn put(root: &Path, rel: &str, content: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_pattern_that_matches_nothing_is_an_error_naming_it() {
    let scratch = Scratch::new();
    put(scratch.dir.path(), "a.csv", "x\n1\n");
    let pattern = scratch.path("logs-*.csv");
    let r = run(["run", "--input", s(&pattern), "--agg", "count"]);
    r.expect_code(1, "no match");
    assert!(r.stderr.contains(s(&pattern)), "{}", r.stderr);
    assert!(r.stderr.contains("no file matches"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
}

#[test]
fn a_pattern_reads_its_many_matches_in_path_order_whatever_their_creation_order() {
    let scratch = Scratch::new();
    let root = scratch.dir.path();
    // 300 files created in a scrambled order; two hold a non-number, and
    // the error must name the first of them in path order (d-037), though
    // d-211 was created first
    let mut order: Vec<u64> = (0..300).collect();
    let mut rng = Lcg(7);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let bad = |i: u64| i == 37 || i == 211;
    order.retain(|&i| i != 211);
    order.insert(0, 211);
    for &i in &order {
        let v = if bad(i) {
            "oops".to_string()
        } else {
            i.to_string()
        };
        put(
            root,
            &format!("d-{i:03}.csv"),
            &format!("k,v\nk{},{v}\n", i % 3),
        );
    }
    put(root, "other.csv", "k,v\nk9,1000000\n");
    let pattern = scratch.path("d-*.csv");
    let r = run(["run", "--input", s(&pattern), "--agg", "sum:v"]);
    r.expect_code(1, "a non-number");
    let first_bad = root.join("d-037.csv");
    assert!(
        r.stderr
            .contains(&format!("{}:2: column 'v'", first_bad.display())),
        "{}",
        r.stderr
    );
    // without the bad files: every match counted once, no other file
    std::fs::remove_file(root.join("d-037.csv")).unwrap();
    std::fs::remove_file(root.join("d-211.csv")).unwrap();
    let want: u64 = (0..300).filter(|&i| !bad(i)).sum();
    let out = run_all_partitions(&["--by", "k", "--agg", "count,sum:v"], &pattern);
    let per_key = |k: u64| -> (usize, u64) {
        let vs: Vec<u64> = (0..300).filter(|&i| !bad(i) && i % 3 == k).collect();
        (vs.len(), vs.iter().sum())
    };
    let mut expected = String::from("k,count,sum_v\n");
    for k in 0..3 {
        let (n, sum) = per_key(k);
        expected += &format!("k{k},{n},{sum}\n");
    }
    assert_eq!(out, expected);
    assert_eq!(per_key(0).1 + per_key(1).1 + per_key(2).1, want);
}

/// A Hive dataset: `year=` and `city=` folders, a null partition, and
/// files a dataset walk must skip.
fn hive_dataset(root: &Path) {
    put(root, "year=2024/city=Paris/a.csv", "v\n1\n2\n");
    put(root, "year=2024/city=Paris/b.csv", "v\n3\n");
    put(root, "year=2024/city=S%C3%A3o%20Paulo/a.csv", "v\n10\n");
    put(root, "year=2025/city=Paris/a.csv", "v\n100\n200\n");
    put(
        root,
        "year=__HIVE_DEFAULT_PARTITION__/city=Oslo/a.csv",
        "v\n1000\n",
    );
    // skipped: hidden and `_` files and folders
    put(root, "_SUCCESS", "");
    put(root, "year=2024/city=Paris/.a.csv.crc", "garbage");
    put(root, "year=2024/_temporary/city=Paris/x.csv", "v\noops\n");
    put(root, ".hidden/year=1/city=x/a.csv", "other,columns\n1,2\n");
}

/// A file deeper than the longest path the kernel opens (4096 bytes) was
/// silently left out by `**` (the sum missed it), though a folder walk
/// names the path it cannot open. Both are errors naming it now, as is a
/// literal component below a pattern.
#[test]
fn a_match_below_a_path_too_long_to_open_is_an_error_not_left_out() {
    let s = Scratch::new();
    put(&s.path("t"), "a.csv", "x\n1\n");
    // 25 folders of 200 characters, made from the inside out: each step
    // moves the tree made so far into a new folder, by short paths
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "cd t && mkdir -p n/sub && printf 'x\\n5\\n' > n/b.csv && printf 'x\\n7\\n' > \
             n/sub/c.csv && d=$(printf '%0200d' 0) && for i in $(seq 25); do mkdir w && mv n \
             w/$d && mv w n || exit 1; done",
        )
        .current_dir(s.path(""))
        .status()
        .unwrap();
    assert!(made.success());
    let t = s.path("t");
    for pattern in ["**/*.csv", "**", "*/**/sub/c.csv", ""] {
        let input = t.join(pattern);
        let r = run(["run", "-i", input.to_str().unwrap(), "--agg", "sum:x"]);
        r.expect_code(1, pattern);
        assert!(r.stdout.is_empty(), "{pattern}: {}", r.stdout);
        assert!(
            r.stderr.contains("File name too long") && r.stderr.contains("/00000"),
            "{pattern}: {}",
            r.stderr
        );
    }
}

#[test]
fn hive_folders_become_columns_usable_as_keys_and_in_aggregates() {
    let scratch = Scratch::new();
    let root = scratch.path("ds");
    hive_dataset(&root);
    let out = run_all_partitions(
        &[
            "--by",
            "year,city",
            "--agg",
            "count,sum:v,count:year,min:year",
        ],
        &root,
    );
    // the null year sorts last; its count:year is 0 and its min empty
    assert_eq!(
        out,
        "year,city,count,sum_v,count_year,min_year\n\
         2024,Paris,3,6,3,2024\n\
         2024,São Paulo,1,10,1,2024\n\
         2025,Paris,2,300,2,2025\n\
         ,Oslo,1,1000,0,\n"
    );
    // year types as an integer, as a CSV field 2024 would: it sums
    let out = run_all_partitions(&["--agg", "sum:year,max:year,count"], &root);
    assert_eq!(out, "sum_year,max_year,count\n12146,2025,7\n");
    // a glob with Hive folders below its literal base gives the same keys
    let pattern = root.join("year=*/city=*/*.csv");
    let out = run_all_partitions(&["--by", "city", "--agg", "count"], &pattern);
    assert_eq!(out, "city,count\nOslo,1\nParis,5\nSão Paulo,1\n");
}

#[test]
fn a_hive_value_that_is_no_number_under_sum_names_the_file() {
    let scratch = Scratch::new();
    let root = scratch.path("ds");
    hive_dataset(&root);
    let r = run(["run", "--input", s(&root), "--agg", "sum:city"]);
    r.expect_code(1, "sum of text");
    let first = root.join("year=2024/city=Paris/a.csv");
    assert!(
        r.stderr.contains(&format!(
            "{}:2: column 'city': sum needs numbers, found \"Paris\"",
            first.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_file_with_other_columns_is_named_with_its_first_difference() {
    let scratch = Scratch::new();
    let root = scratch.path("ds");
    put(&root, "a.csv", "id,x,y\n1,2,3\n");
    put(&root, "b.csv", "id,x,y\n4,5,6\n");
    put(&root, "c.csv", "id,z,y\n7,8,9\n");
    let r = run(["run", "--input", s(&root), "--agg", "count"]);
    r.expect_code(1, "other columns");
    let c = root.join("c.csv");
    let a = root.join("a.csv");
    assert!(
        r.stderr.contains(&format!(
            "{}:1: its columns differ from those of {}: column 2 is 'z', not 'x'",
            c.display(),
            a.display()
        )),
        "{}",
        r.stderr
    );
    // a missing column is named too
    put(&root, "c.csv", "id,x\n7,8\n");
    let r = run(["run", "--input", s(&root), "--agg", "count"]);
    r.expect_code(1, "a missing column");
    assert!(r.stderr.contains("column 3 'y' is missing"), "{}", r.stderr);
    // and files under different key=value folders
    std::fs::remove_file(root.join("c.csv")).unwrap();
    put(&root, "k=1/d.csv", "id,x,y\n1,2,3\n");
    let r = run(["run", "--input", s(&root), "--agg", "count"]);
    r.expect_code(1, "other keys");
    assert!(r.stderr.contains("key=value folders"), "{}", r.stderr);
}

#[test]
fn a_folder_of_pieces_gives_the_bytes_of_the_whole_file() {
    // a table with quoted fields, escapes, nulls and text keys, cut at
    // random record boundaries into pieces (each with the header), in
    // nested folders: every query gives the bytes of the whole file, at
    // every partition and thread count, as a folder and as a pattern
    let mut rng = Lcg(14);
    let header = "id,k,x,note\n";
    let mut rows = Vec::new();
    for i in 0..3000 {
        let k = ["a", "b", "\"c,d\"", ""][rng.below(4) as usize];
        let x = match rng.below(10) {
            0 => String::new(),
            1 => format!("{}", rng.below(1000)),
            _ => format!("{}.{}", rng.below(1000), rng.below(100)),
        };
        let note = if rng.below(5) == 0 {
            "\"say \"\"hi\"\"\nthere\"".to_string()
        } else {
            format!("n{i}")
        };
        rows.push(format!("{i},{k},{x},{note}\n"));
    }
    let scratch = Scratch::new();
    let whole = scratch.write("whole.csv", format!("{header}{}", rows.concat()));
    let root = scratch.path("pieces");
    let mut at = 0;
    let mut piece = 0;
    while at < rows.len() {
        let n = (1 + rng.below(400) as usize).min(rows.len() - at);
        let rel = format!("g{}/p{piece:03}.csv", piece / 4);
        put(
            &root,
            &rel,
            &format!("{header}{}", rows[at..at + n].concat()),
        );
        at += n;
        piece += 1;
    }
    assert!(piece > 10, "{piece} pieces");
    let pattern = root.join("g*/p*.csv");
    for args in [
        &["--agg", "count,sum:x,mean:x,min:x,max:x,p50:x,distinct:k"][..],
        &["--by", "k", "--agg", "count,sum:x,max:note"][..],
    ] {
        let want = run_all_partitions(args, &whole);
        assert_eq!(run_all_partitions(args, &root), want, "{args:?} folder");
        assert_eq!(run_all_partitions(args, &pattern), want, "{args:?} glob");
    }
    // a store split from the folder answers as the whole file does
    let store = scratch.path("s.store");
    let r = run(["split", "--input", s(&root), "--store", s(&store), "-q"]);
    r.expect_code(0, "split a folder");
    let args = ["--by", "k", "--agg", "count,sum:x"];
    let from_store = run([
        "run",
        "--store",
        s(&store),
        "--by",
        "k",
        "--agg",
        "count,sum:x",
    ]);
    from_store.expect_ok("run on the store");
    assert_eq!(from_store.stdout, run_all_partitions(&args, &whole));
}

#[test]
fn a_split_of_a_hive_dataset_keeps_its_hive_columns() {
    let scratch = Scratch::new();
    let root = scratch.path("ds");
    hive_dataset(&root);
    let store = scratch.path("s.store");
    let r = run(["split", "--input", s(&root), "--store", s(&store), "-q"]);
    r.expect_code(0, "split");
    let args = ["--by", "year", "--agg", "count,sum:v,min:city"];
    let direct = run_all_partitions(&args, &root);
    let r = run([
        "run",
        "--store",
        s(&store),
        "--by",
        "year",
        "--agg",
        "count,sum:v,min:city",
    ]);
    r.expect_ok("store");
    assert_eq!(r.stdout, direct);
}

#[test]
fn a_parquet_dataset_reads_as_the_same_csv_dataset() {
    // the same rows as CSV and as Parquet files (written by rayproc from
    // the CSV), in the same key=value folders: the same answers
    let scratch = Scratch::new();
    let csv_root = scratch.path("csv");
    let pq_root = scratch.path("pq");
    let parts = [
        ("year=2024/m=1", "a,b\n1,x\n2,y\n3,x\n"),
        ("year=2024/m=2", "a,b\n4,y\n"),
        ("year=2025/m=1", "a,b\n5,x\n6,x\n"),
        ("year=__HIVE_DEFAULT_PARTITION__/m=3", "a,b\n7,z\n"),
    ];
    for (folder, text) in parts {
        let src = put(&scratch.path("src"), &format!("{folder}/s.csv"), text);
        // --by a,b --agg count: columns a, b, count, one row per source row
        let csv_out = csv_root.join(folder).join("part-0.csv");
        let pq_out = pq_root.join(folder).join("part-0.parquet");
        std::fs::create_dir_all(csv_out.parent().unwrap()).unwrap();
        std::fs::create_dir_all(pq_out.parent().unwrap()).unwrap();
        for (format, out) in [("csv", &csv_out), ("parquet", &pq_out)] {
            let r = run([
                "run",
                "--input",
                s(&src),
                "--by",
                "a,b",
                "--agg",
                "count",
                "--format",
                format,
                "--output",
                s(out),
            ]);
            r.expect_code(0, "write a part");
        }
    }
    put(&pq_root, "_SUCCESS", "");
    for args in [
        &["--by", "year,m", "--agg", "count,sum:a,min:b"][..],
        &["--by", "b", "--agg", "count,sum:year,max:m,count:year"][..],
        &["--agg", "count,mean:a,min:year,max:year"][..],
    ] {
        let want = run_all_partitions(args, &csv_root);
        assert_eq!(run_all_partitions(args, &pq_root), want, "{args:?}");
    }
    let want = "year,count,sum_a\n2024,4,10\n2025,2,11\n,1,7\n";
    assert_eq!(
        run_all_partitions(&["--by", "year", "--agg", "count,sum:a"], &pq_root),
        want
    );
}

#[test]
fn an_empty_folder_and_a_folder_of_skipped_files_are_errors() {
    let scratch = Scratch::new();
    let root = scratch.path("ds");
    put(&root, "_SUCCESS", "");
    put(&root, ".keep", "");
    let r = run(["run", "--input", s(&root), "--agg", "count"]);
    r.expect_code(1, "no data file");
    assert!(
        r.stderr.contains("no data file in this folder"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(s(&root)), "{}", r.stderr);
}

/// Writes the rows of the CSV file `src` (its columns `by`, each row's
/// values distinct) as the Parquet file `out`, with a `count` column:
/// `run --by BY --agg count --format parquet`.
fn as_parquet(src: &Path, by: &str, out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let r = run([
        "run",
        "--input",
        s(src),
        "--by",
        by,
        "--agg",
        "count",
        "--format",
        "parquet",
        "--output",
        s(out),
    ]);
    r.expect_code(0, "write a part");
}

/// A Parquet or Arrow dataset typed its keys by a stricter rule than a CSV
/// column (numbers only where spelled as rayproc prints them): `x=2` beside
/// `x=1.5`, `x=1.50`, `x=1e2`, `x=+3` or `x=-0` made the key text, sorted
/// by bytes, where the same folders of CSV files answer with numbers. The
/// answer must not depend on the kind of files in the folders. (Before
/// that, a key spelled as rayproc prints infinities and NaN, `inf`,
/// `-inf`, `NaN`, made the whole key text: keys sorted as text, `10.0`
/// before `9.0`.)
#[test]
fn a_datasets_keys_type_alike_whatever_files_lie_in_its_folders() {
    let sets: &[&[&str]] = &[
        &["2", "1.5", "100000.0"],
        &["1.50", "2.25"],
        &["1e2", "2.5", "-3"],
        &["+3", "4"],
        &["-0", "0", "7"],
        &["1", "Infinity", "nan"],
        &["007", "1.5"],
        &["99999999999999999999", "1"],
        &["2", "x", ""],
        &["9.0", "10.0", "inf", "-inf", "NaN"],
    ];
    for (i, values) in sets.iter().enumerate() {
        let scratch = Scratch::new();
        let (csv_root, pq_root) = (scratch.path("csv"), scratch.path("pq"));
        for x in values.iter() {
            let folder = format!("x={x}");
            let src = put(&scratch.path("src"), &format!("{folder}/s.csv"), "y\n1\n");
            put(&csv_root, &format!("{folder}/p.csv"), "y\n1\n");
            as_parquet(&src, "y", &pq_root.join(&folder).join("p.parquet"));
        }
        let args = ["--by", "x", "--agg", "count,min:x,max:x,distinct:x"];
        let want = run_all_partitions(&args, &csv_root);
        assert_eq!(
            run_all_partitions(&args, &pq_root),
            want,
            "set {i}: {values:?}"
        );
        if i == 0 {
            assert_eq!(
                want,
                "x,count,min_x,max_x,distinct_x\n1.5,1,1.5,1.5,1\n2.0,1,2.0,2.0,1\n\
                 100000.0,1,100000.0,100000.0,1\n"
            );
        }
        if values.contains(&"inf") {
            assert_eq!(
                want,
                "x,count,min_x,max_x,distinct_x\n-inf,1,-inf,-inf,1\n9.0,1,9.0,9.0,1\n\
                 10.0,1,10.0,10.0,1\ninf,1,inf,inf,1\nNaN,1,NaN,NaN,1\n"
            );
        }
    }
}

/// Polars' `write_parquet(partition_by=...)` keeps the key columns in the
/// files under its `key=value` folders, and every such dataset was refused
/// ("the folder key year= names a column that the file also has"). A key
/// that is also a column of the files is read from the files; other keys
/// still come from their folders.
#[test]
fn a_hive_key_that_is_also_a_column_of_the_files_is_read_from_the_files() {
    let scratch = Scratch::new();
    let csv_root = scratch.path("csv");
    let pq_root = scratch.path("pq");
    let parts = [
        ("year=2024/m=1", "year,v\n2024,1\n"),
        ("year=2025/m=1", "year,v\n2025,2\n2025,3\n"),
        ("year=2025/m=2", "year,v\n2025,4\n"),
    ];
    for (folder, text) in parts {
        put(&csv_root, &format!("{folder}/a.csv"), text);
        let src = put(&scratch.path("src"), &format!("{folder}/s.csv"), text);
        as_parquet(
            &src,
            "year,v",
            &pq_root.join(folder).join("00000000.parquet"),
        );
    }
    let want = "year,m,count,sum_v\n2024,1,1,1\n2025,1,2,5\n2025,2,1,4\n";
    let args = ["--by", "year,m", "--agg", "count,sum:v"];
    assert_eq!(run_all_partitions(&args, &csv_root), want);
    // (the Parquet files hold year, v and count)
    let args = ["--by", "year,m", "--agg", "count,sum:v"];
    assert_eq!(run_all_partitions(&args, &pq_root), want);
    // the file's values, whatever the folder says
    let odd = scratch.path("odd");
    put(&odd, "year=2024/a.csv", "year,v\n2023,1\n");
    let r = run(["run", "--input", s(&odd), "--by", "year", "--agg", "count"]);
    r.expect_ok("a key that is a column");
    assert_eq!(r.stdout, "year,count\n2023,1\n");
}

/// A Hive dataset whose files are compressed (read as streams, in blocks)
/// and plain, asked with `--where` on a Hive key and a time bucket: the
/// blocks of a stream carry the file's columns and its Hive values (the
/// merge of streams and datasets first read such blocks with no columns).
#[test]
fn a_compressed_hive_dataset_answers_filtered_and_bucketed() {
    let scratch = Scratch::new();
    let root = scratch.path("ds");
    let gz = root.join("year=2025/a.csv.gz");
    std::fs::create_dir_all(gz.parent().unwrap()).unwrap();
    std::fs::write(
        &gz,
        gzip(b"ts,v\n2025-01-01T10:00:00,1\n2025-01-01T23:59:59,2\n2024-12-31T23:00:00-02:00,5\n"),
    )
    .unwrap();
    put(
        &root,
        "year=2026/b.csv",
        "ts,v\n2026-11-30T02:24:41+01:00,3\n",
    );
    put(&root, "year=2024/c.csv", "ts,v\n2024-06-01T00:00:00,7\n");
    let out = run_all_partitions(
        &[
            "--by",
            "day(ts)",
            "--agg",
            "count,sum:v,min:year",
            "--where",
            "year >= 2025 and v > 1",
        ],
        &root,
    );
    // -02:00 moves the last 2025 row to 2025-01-01 in UTC
    assert_eq!(
        out,
        "day_ts,count,sum_v,min_year\n2025-01-01,2,7,2025\n2026-11-30,1,3,2026\n"
    );
}

/// Every input file was mapped for the whole run, and Linux lets a
/// process hold 65,530 mappings by default (`vm.max_map_count`): a folder
/// of 66,000 small files failed with "Cannot allocate memory", whatever
/// its size (here under a megabyte). Small files are read now.
#[test]
fn a_folder_of_more_files_than_the_kernel_maps_is_read() {
    let dir = Scratch::new();
    let data = dir.path("many");
    std::fs::create_dir(&data).unwrap();
    let files = 66_000u64;
    for i in 0..files {
        let text = format!("k,v\n{},{i}\n", i % 7);
        std::fs::write(data.join(format!("f{i:06}.csv")), text).unwrap();
    }
    let r = run_on(&data, &["--agg", "count,sum:v", "--threads", "2"]);
    r.expect_ok("66,000 files");
    let sum = files * (files - 1) / 2;
    assert_eq!(r.stdout, format!("count,sum_v\n{files},{sum}\n"));
}
