//! `rayproc map` and `rayproc reduce`: every part mapped, then reduced, is
//! `rayproc run`'s answer byte for byte, for any part count, any order
//! and any reduction tree; partials that do not belong together are
//! refused; data errors read as in `run`.

use std::path::PathBuf;

use crate::common::*;

fn reduce(partials: &[PathBuf], extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["reduce".into()];
    args.extend(partials.iter().map(|p| p.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args)
}

fn run_query(query: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["run"];
    args.extend(query);
    args.extend(extra);
    run(&args)
}

/// A CSV with quoted newlines and commas, many groups, floats that cancel,
/// integers past 2^53, and text: `rows` records.
fn varied_csv(dir: &Scratch, name: &str, rows: usize, seed: u64) -> PathBuf {
    let mut rng = Lcg(seed);
    let mut text = String::from("k,x,n,t\n");
    for i in 0..rows {
        let k = format!("g{}", rng.below(37));
        let x = match rng.below(4) {
            0 => "1e16".to_string(),
            1 => "-1e16".to_string(),
            _ => format!("{}.{}", rng.below(1000) as i64 - 500, rng.below(100)),
        };
        let n = (i as i64 * 7919) % 1000
            + if i % 97 == 0 {
                9_007_199_254_740_993
            } else {
                0
            };
        let t = match rng.below(5) {
            0 => "\"line\nbreak\"".to_string(),
            1 => "\"a,b\"".to_string(),
            2 => String::new(),
            _ => format!("w{}", rng.below(50)),
        };
        text += &format!("{k},{x},{n},{t}\n");
    }
    dir.write(name, text)
}

const QUERIES: &[&[&str]] = &[
    &["--agg", "count,sum:x,mean:x,min:t,max:t,sum:n,var:x"],
    &[
        "--by",
        "k",
        "--agg",
        "count,median:x,p90:n,distinct:t,min:x,max:n",
    ],
    &["--by", "t", "--agg", "count,sum:x"],
    &[
        "--where",
        "x > 0 and t is not null",
        "--by",
        "k",
        "--agg",
        "mean:x,count",
    ],
];

#[test]
fn every_part_mapped_then_reduced_is_the_run_answer() {
    let dir = Scratch::new();
    let a = varied_csv(&dir, "a.csv", 3000, 1);
    let b = varied_csv(&dir, "b.csv", 700, 2);
    let (a, b) = (a.display().to_string(), b.display().to_string());
    for q in QUERIES {
        let mut query: Vec<&str> = vec!["--input", &a, "--input", &b];
        query.extend(*q);
        let want = run_query(&query, &["--format", "csv"]);
        want.expect_ok("run");
        for n in [1, 2, 3, 8, 31] {
            let parts = map_all(&dir, &query, n);
            let mut shuffled = parts.clone();
            shuffled.reverse();
            let got = reduce(&shuffled, &["--format", "csv"]);
            got.expect_ok(&format!("reduce of {n}"));
            assert_eq!(got.stdout, want.stdout, "{q:?} in {n} parts");
        }
    }
}

#[test]
fn a_reduction_tree_of_any_shape_gives_the_same_bytes() {
    let dir = Scratch::new();
    let a = varied_csv(&dir, "a.csv", 2000, 3).display().to_string();
    let query = [
        "--input",
        &a,
        "--by",
        "k",
        "--agg",
        "count,sum:x,p99:x,distinct:t",
    ];
    let want = run_query(&query, &["--format", "json"]);
    let parts = map_all(&dir, &query, 7);
    // ((0 1 2) (3 4)) 5 6, with the merged partials of the inner nodes
    let left = dir.path("left.part");
    let right = dir.path("right.part");
    let inner = dir.path("inner.part");
    reduce(
        &parts[0..3],
        &["--emit-partial", &left.display().to_string()],
    )
    .expect_ok("left");
    reduce(
        &parts[3..5],
        &["--emit-partial", &right.display().to_string()],
    )
    .expect_ok("right");
    reduce(
        &[right.clone(), left.clone()],
        &["--emit-partial", &inner.display().to_string()],
    )
    .expect_ok("inner");
    let got = reduce(
        &[parts[6].clone(), inner, parts[5].clone()],
        &["--format", "json"],
    );
    got.expect_ok("root");
    assert_eq!(got.stdout, want.stdout);
    // a merged partial still covers only its parts
    let r = reduce(&[left], &["--format", "json"]);
    r.expect_code(1, "a subtree alone");
    assert!(
        r.stderr.contains("parts missing: 3/7, 4/7, 5/7, 6/7"),
        "{}",
        r.stderr
    );
}

#[test]
fn partials_that_do_not_belong_together_are_refused() {
    let dir = Scratch::new();
    let a = varied_csv(&dir, "a.csv", 500, 4).display().to_string();
    let b = varied_csv(&dir, "b.csv", 500, 5).display().to_string();
    let (d1, d2, d3) = (Scratch::new(), Scratch::new(), Scratch::new());
    let mine = map_all(&d1, &["--input", &a, "--agg", "sum:x"], 3);
    let other_query = map_all(&d2, &["--input", &a, "--agg", "mean:x"], 3);
    let other_input = map_all(&d3, &["--input", &b, "--agg", "sum:x"], 3);

    let r = reduce(
        &[mine[0].clone(), mine[1].clone(), other_query[2].clone()],
        &[],
    );
    r.expect_code(1, "another query");
    assert!(r.stderr.contains("another query"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&other_query[2].display().to_string()),
        "{}",
        r.stderr
    );

    let r = reduce(
        &[mine[0].clone(), mine[1].clone(), other_input[2].clone()],
        &[],
    );
    r.expect_code(1, "other inputs");
    assert!(r.stderr.contains("other inputs"), "{}", r.stderr);

    let r = reduce(&[mine[0].clone(), mine[1].clone()], &[]);
    r.expect_code(1, "a missing part");
    assert!(r.stderr.contains("parts missing: 2/3"), "{}", r.stderr);

    let r = reduce(
        &[
            mine[0].clone(),
            mine[1].clone(),
            mine[1].clone(),
            mine[2].clone(),
        ],
        &[],
    );
    r.expect_code(1, "a part twice");
    assert!(r.stderr.contains("part 1/3 is also in"), "{}", r.stderr);

    let r = reduce(
        &[mine[0].clone(), mine[1].clone(), other_input[2].clone()],
        &[],
    );
    r.expect_code(1, "other inputs");

    // damaged files: every truncation and a flipped byte
    let bytes = std::fs::read(&mine[2]).unwrap();
    let bad = d1.path("bad.part");
    for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let r = reduce(&[mine[0].clone(), mine[1].clone(), bad.clone()], &[]);
        r.expect_code(1, &format!("truncated at {cut}"));
        assert!(r.stderr.contains("bad.part"), "{}", r.stderr);
    }
    let mut flipped = bytes.clone();
    let at = bytes.len() - 12;
    flipped[at] ^= 1;
    std::fs::write(&bad, &flipped).unwrap();
    let r = reduce(&[mine[0].clone(), mine[1].clone(), bad.clone()], &[]);
    r.expect_code(1, "a flipped byte");
    assert!(r.stderr.contains("checksum"), "{}", r.stderr);
    let r = reduce(&[a.clone().into()], &[]);
    r.expect_code(1, "a CSV as a partial");
    assert!(r.stderr.contains("not a rayproc partial"), "{}", r.stderr);
}

/// Parts mapped with two spellings of one `--where` (spaces, keyword
/// case, parentheses) answer one query: they were refused as "another
/// query". Another expression still is.
#[test]
fn parts_mapped_with_two_spellings_of_one_where_merge() {
    let dir = Scratch::new();
    let a = varied_csv(&dir, "a.csv", 500, 6).display().to_string();
    let query = |filter: &'static str| ["--input", &a, "--agg", "sum:x,count", "--where", filter];
    let (d1, d2, d3) = (Scratch::new(), Scratch::new(), Scratch::new());
    let terse = map_all(&d1, &query("x>0 AND NOT k LIKE 'g1%'"), 2);
    let spaced = map_all(&d2, &query("(x > 0) and not (k like 'g1%')"), 2);
    let other = map_all(&d3, &query("x >= 0 and not k like 'g1%'"), 2);
    let r = reduce(&[terse[0].clone(), spaced[1].clone()], &[]);
    r.expect_ok("two spellings");
    let want = run_query(&query("x > 0 and not k like 'g1%'"), &[]);
    want.expect_ok("run");
    assert_eq!(r.stdout, want.stdout);
    let r = reduce(&[terse[0].clone(), other[1].clone()], &[]);
    r.expect_code(1, "another expression");
    assert!(r.stderr.contains("another query"), "{}", r.stderr);
}

/// `"k"#2` in `--where` (the second column called `k`) was recorded in a
/// partial's header as `k#2`, which means a column literally called `k#2`
/// where the header has one: the reducer merged a part of `"k"#2 = 'a'`
/// with one of `k#2 = 'a'`, answered with the other column when it mapped
/// parts again, and refused a header with two `k#2` columns as ambiguous.
#[test]
fn a_where_on_a_numbered_column_keeps_its_column_through_reduce() {
    let dir = Scratch::new();
    // the second k and the literal k#2 disagree on every row; a quoted
    // field of many lines misleads the guessed cuts, so that the reducer
    // maps the parts again from the header's text
    let mut csv = String::from("k,k,v,k#2\nx,b,10,a\n");
    for _ in 0..50 {
        csv.push_str("x,a,1,b\n");
    }
    csv.push_str("x,a,1,\"");
    for _ in 0..3000 {
        csv.push_str("x,a,1,b\n");
    }
    csv.push_str("\"\nx,a,2,b\n");
    for _ in 0..50 {
        csv.push_str("x,b,10,a\n");
    }
    let file = dir.write("t.csv", csv.as_bytes()).display().to_string();
    let query =
        |filter: &'static str| ["--input", &file, "--agg", "count,sum:v", "--where", filter];
    let second = query("\"k\"#2 = 'a'");
    let want = run_query(&second, &[]);
    want.expect_ok("run");
    assert_eq!(want.stdout, "count,sum_v\n52,53\n");
    let (d1, d2) = (Scratch::new(), Scratch::new());
    let parts = map_all(&d1, &second, 5);
    let r = reduce(&parts, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("again with exact record boundaries"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, want.stdout, "{}", r.stderr);
    // the literal column is another query
    let literal = map_all(&d2, &query("k#2 = 'a'"), 5);
    let r = reduce(&[parts[0].clone(), literal[1].clone()], &[]);
    r.expect_code(1, "two columns");
    assert!(r.stderr.contains("another query"), "{}", r.stderr);
    // a header with two columns literally called k#2: "k"#2 is still the
    // second k
    let amb = dir
        .write("amb.csv", b"k,k,k#2,k#2\n1,2,3,4\n")
        .display()
        .to_string();
    let d3 = Scratch::new();
    let parts = map_all(
        &d3,
        &["--input", &amb, "--agg", "count", "--where", "\"k\"#2 = 2"],
        1,
    );
    let r = reduce(&parts, &[]);
    r.expect_ok("two literal k#2 columns");
    assert_eq!(r.stdout, "count\n1\n");
    // and a data error quotes the test as written, not the other column
    let bad = dir.write("e.csv", b"k,k,k#2\n1,x,1\n");
    let r = run_on(&bad, &["--where", "\"k\"#2 > 0", "--agg", "count"]);
    r.expect_code(1, "not a number");
    assert!(
        r.stderr.contains("--where \"k\"#2 > 0 needs a number"),
        "{}",
        r.stderr
    );
}

/// Partials mapped with another `--delimiter` or `--no-header` are
/// refused by a message naming that setting, and only what differs: it
/// printed the two plans' `--agg`, `--by`, `--where` and columns, the same
/// in both.
#[test]
fn a_partial_of_another_dialect_is_refused_naming_what_differs() {
    let dir = Scratch::new();
    let map = |input: &PathBuf, part: &str, out: &str, extra: &[&str]| {
        let (input, out) = (input.display().to_string(), dir.path(out));
        let out_arg = out.display().to_string();
        let mut args = vec!["map", "--input", &input, "--part", part];
        args.extend(extra);
        args.extend(["--emit-partial", &out_arg]);
        run(&args).expect_ok(&format!("map {part} {extra:?}"));
        out
    };
    let one = dir.write("one.csv", "x\n1\n2\n3\n");
    let q0 = map(&one, "0/2", "q0", &["--agg", "sum:x"]);
    let q1 = map(&one, "1/2", "q1", &["--agg", "sum:x", "-d", ";"]);
    let r = reduce(&[q0, q1], &[]);
    r.expect_code(1, "another delimiter");
    assert!(
        r.stderr
            .contains("--delimiter ';' (expected --delimiter ',')"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("--agg"), "{}", r.stderr);
    // a first line `1`: column `1` whether it is the header or data
    let ones = dir.write("ones.csv", "1\n1\n2\n3\n");
    let h0 = map(&ones, "0/2", "h0", &["--agg", "sum:1"]);
    let h1 = map(&ones, "1/2", "h1", &["--agg", "sum:1", "--no-header"]);
    let r = reduce(&[h0, h1], &[]);
    r.expect_code(1, "--no-header");
    assert!(
        r.stderr.contains("(--no-header (expected a header row))"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_record_fails_its_part_as_run_fails() {
    let dir = Scratch::new();
    let mut text = String::from("k,x,t\n");
    for i in 0..5000 {
        text += &format!("k{},{i},\"a\nb\"\n", i % 3);
    }
    text += "k1,oops,c\n";
    for i in 0..100 {
        text += &format!("k2,{i},d\n");
    }
    let path = dir.write("bad.csv", &text);
    let p = path.display().to_string();
    let query = ["--input", &p, "--agg", "sum:x"];
    let want = run_query(&query, &[]);
    want.expect_code(1, "run");
    assert!(want.stderr.contains(":10002:"), "{}", want.stderr);
    let mut failed = 0;
    for i in 0..4 {
        let out = dir.path(&format!("{i}.part"));
        let r = run([
            "map",
            "--input",
            &p,
            "--agg",
            "sum:x",
            "--part",
            &format!("{i}/4"),
            "--emit-partial",
            &out.display().to_string(),
        ]);
        if r.code != 0 {
            r.expect_code(1, "the failing part");
            assert_eq!(r.stderr, want.stderr);
            assert!(!out.exists(), "nothing written on failure");
            failed += 1;
        }
    }
    assert_eq!(failed, 1, "one part holds the bad record");
}

#[test]
fn wrong_guesses_are_repaired_at_reduce() {
    // stray quotes (`ab",`) make the guess take the newline inside "p\nq"
    // for a record end wherever a cut falls before one
    let dir = Scratch::new();
    let mut text = String::from("k,a,b,c,d\n");
    for i in 0..3000 {
        text += &format!("k{},1,,,\nw{},2,ab\",c\"d,\"p\nq\"\n", i % 5, i % 3);
    }
    let path = dir.write("misleading.csv", &text);
    let p = path.display().to_string();
    let query = [
        "--input",
        &p,
        "--by",
        "k",
        "--agg",
        "count,sum:a,distinct:d",
    ];
    let want = run_query(&query, &["--format", "csv"]);
    want.expect_ok("run");
    let mut repaired = false;
    for n in [2, 5, 16] {
        let parts = map_all(&dir, &query, n);
        let got = reduce(&parts, &["--format", "csv"]);
        got.expect_code(0, "reduce");
        assert_eq!(got.stdout, want.stdout, "{n} parts");
        repaired |= got.stderr.contains("again with exact record boundaries");
    }
    assert!(repaired, "no guess was wrong: the test does not test");
}

#[test]
fn map_refuses_standard_input_and_bad_parts() {
    let r = run_with_stdin(
        [
            "map",
            "--input",
            "-",
            "--agg",
            "count",
            "--part",
            "0/2",
            "--emit-partial",
            "-",
        ],
        Some(b"x\n1\n"),
    );
    r.expect_code(2, "stdin");
    assert!(
        r.stderr.contains("standard input cannot be cut"),
        "{}",
        r.stderr
    );
    let s = sample().display().to_string();
    // (the most parts is said: `0/1000001` read as breaking a rule it keeps)
    for bad in ["2/2", "x", "1/0", "0/1000001"] {
        let r = run([
            "map",
            "--input",
            &s,
            "--agg",
            "count",
            "--part",
            bad,
            "--emit-partial",
            "-",
        ]);
        r.expect_code(2, bad);
        assert!(
            r.stderr
                .contains("--part must be I/N with 0 <= I < N <= 1000000"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn reduce_writes_every_format_and_output_atomically() {
    let dir = Scratch::new();
    let s = sample().display().to_string();
    let query = [
        "--input",
        &s,
        "--by",
        "city",
        "--agg",
        "count,mean:price,max:note",
    ];
    let parts = map_all(&dir, &query, 3);
    for format in ["csv", "table", "json", "ndjson"] {
        let want = run_query(&query, &["--format", format]);
        let got = reduce(&parts, &["--format", format]);
        got.expect_ok(format);
        assert_eq!(got.stdout, want.stdout, "{format}");
    }
    let out = dir.path("result.parquet");
    let o = out.display().to_string();
    reduce(&parts, &["--format", "parquet", "--output", &o]).expect_ok("parquet");
    let want_out = dir.path("want.parquet");
    run_query(
        &query,
        &[
            "--format",
            "parquet",
            "--output",
            &want_out.display().to_string(),
        ],
    )
    .expect_ok("run parquet");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&want_out).unwrap()
    );
    // partials to stdout, and reduce from them
    let r = run_bytes_with_stdin(
        [
            "map",
            "--input",
            &s,
            "--agg",
            "count",
            "--part",
            "0/1",
            "--emit-partial",
            "-",
        ],
        None,
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with(b"RAYPROCP"));
}

#[test]
fn cluster_without_a_driver_says_how_to_get_one() {
    let s = sample().display().to_string();
    let r = rayproc()
        .env("RAYPROC_PYTHON", "/nonexistent/python")
        .args(["run", "--cluster", "auto", "--input", &s, "--agg", "count"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("RAYPROC_PYTHON"), "{err}");
    // flags are checked before the driver is looked for
    let r = rayproc()
        .env("RAYPROC_PYTHON", "/nonexistent/python")
        .args(["run", "--cluster", "auto", "--input", "-", "--agg", "count"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
}

/// A program that is not Python exited 0 with no answer
/// (`RAYPROC_PYTHON=/bin/true`): a cron job's silent loss. It is refused,
/// naming it, as is a program that fails or prints something else.
#[test]
fn cluster_with_a_program_that_is_not_python_is_refused() {
    let s = Scratch::new();
    let input = sample().display().to_string();
    let out = s.path("out.csv");
    for (python, says) in [
        (
            "/bin/true",
            "does not run Python code (`-c` printed no version)",
        ),
        (
            "/bin/echo",
            "does not run Python code (`-c` printed no version)",
        ),
        (
            "/bin/sh",
            "does not run Python code (`-c` printed no version, exit ",
        ),
    ] {
        let r = rayproc()
            .env("RAYPROC_PYTHON", python)
            .args([
                "run",
                "--cluster",
                "auto",
                "--input",
                &input,
                "--agg",
                "count",
            ])
            .args(["-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{python}: {err}");
        assert!(
            err.starts_with(&format!("rayproc: error: --cluster: {python} ")) && err.contains(says),
            "{python}: {err}"
        );
        assert!(err.contains("RAYPROC_PYTHON"), "{err}");
        assert!(r.stdout.is_empty() && !out.exists(), "{python}");
    }
}

/// A Python without the driver package printed only Python's "No module
/// named rayproc_ray": it now says, in rayproc's words, which Python lacks
/// it and how to get it. (Skipped where no `python3` is on the PATH.)
#[test]
fn cluster_with_a_python_without_the_driver_says_how_to_get_it() {
    // succeeds only for a python3 without the package
    let probe = "import importlib.util as u, sys; print(sys.executable); \
                 sys.exit(u.find_spec('rayproc_ray') is not None)";
    let python = std::process::Command::new("python3")
        .args(["-c", probe])
        .env_remove("PYTHONPATH")
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(python) = python else {
        eprintln!("no python3 without rayproc_ray: skipped");
        return;
    };
    let python = String::from_utf8_lossy(&python.stdout).trim().to_string();
    let s = sample().display().to_string();
    let r = rayproc()
        .env("RAYPROC_PYTHON", &python)
        .env_remove("PYTHONPATH")
        .args(["run", "--cluster", "auto", "--input", &s, "--agg", "count"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    let want = format!("rayproc: error: --cluster: {python} has no rayproc_ray (the driver)");
    assert!(err.starts_with(&want), "{err}");
    assert!(err.contains("pip install ./python"), "{err}");
}

#[test]
fn parts_read_by_several_threads_give_the_same_bytes() {
    // pieces of several MiB are cut again into one range per thread; with
    // misleading quotes those inner cuts can be wrong too
    let dir = Scratch::new();
    let plain = varied_csv(&dir, "big.csv", 120_000, 9);
    let mut text = String::from("k,a,b,c,d\n");
    for i in 0..130_000 {
        text += &format!("k{},1,,,\nw{},2,ab\",c\"d,\"p\nq\"\n", i % 5, i % 3);
    }
    let misleading = dir.write("misleading.csv", &text);
    for (path, agg) in [
        (plain, "count,sum:x,distinct:t"),
        (misleading, "count,sum:a,max:d"),
    ] {
        let p = path.display().to_string();
        let want = run_query(
            &["--input", &p, "--by", "k", "--agg", agg],
            &["--format", "csv"],
        );
        want.expect_ok("run");
        for (n, threads) in [(1, "3"), (2, "4")] {
            let query = [
                "--input",
                &p,
                "--by",
                "k",
                "--agg",
                agg,
                "--threads",
                threads,
            ];
            let parts = map_all(&dir, &query, n);
            let got = reduce(&parts, &["--format", "csv"]);
            got.expect_code(0, "reduce");
            assert_eq!(
                got.stdout, want.stdout,
                "{p} in {n} parts, {threads} threads"
            );
        }
    }
}

/// A part's partial file is the same bytes however it was made: from run
/// to run (the partitions' hash is seeded afresh by each process) and at
/// any thread count (the workers meet the groups in another order), with
/// few groups and with more than a worker keeps in one table (the
/// partitioned path). Partials can then be cached, compared and
/// deduplicated by their checksum.
#[test]
fn a_part_is_the_same_bytes_from_run_to_run_and_thread_to_thread() {
    let dir = Scratch::new();
    let varied = varied_csv(&dir, "varied.csv", 20_000, 5);
    let mut text = String::from("k,x,n\n");
    for i in 0..90_000u64 {
        text += &format!("key{},{}.5,{}\n", (i * 7919) % 60_000, i % 1000, i % 77);
    }
    let many = dir.write("many.csv", &text);
    for (path, by, agg) in [
        (
            &varied,
            "k",
            "count,median:x,p90:n,distinct:t,min:t,max:n,mean:x",
        ),
        (&varied, "t", "sum:x,var:x,approx_distinct:n"),
        (&many, "k", "sum:n,mean:x,median:x,distinct:n,min:x"),
    ] {
        let p = path.display().to_string();
        let part = |threads: &str, name: &str| {
            let out = dir.path(name);
            let o = out.display().to_string();
            run([
                "map",
                "--input",
                &p,
                "--by",
                by,
                "--agg",
                agg,
                "--threads",
                threads,
                "--part",
                "0/2",
                "--emit-partial",
                &o,
            ])
            .expect_ok("map");
            std::fs::read(&out).unwrap()
        };
        let first = part("2", "a.part");
        for (threads, name) in [("2", "b.part"), ("1", "c.part"), ("3", "d.part")] {
            assert!(
                part(threads, name) == first,
                "{p} by {by}: {threads} threads gave other bytes"
            );
        }
    }
}

/// Integers wider than 64 bits reach `median` as text: their values were
/// kept in the order they came, so a part's bytes depended on the threads
/// and a merge's on the order of its parts.
#[test]
fn wide_integers_quantiles_are_the_same_bytes_in_any_order() {
    let dir = Scratch::new();
    let mut text = String::from("g,u\n");
    for i in 0..60_000u64 {
        text += &format!("{},99999999999{:09}\n", i % 3, (i * 7919) % 1_000_000_007);
    }
    let wide = dir.write("wide.csv", &text);
    let w = wide.display().to_string();
    for query in [
        &["--input", &w, "--agg", "median:u,p90:u,sum:u"][..],
        &["--input", &w, "--by", "g", "--agg", "p10:u,count"],
    ] {
        let part = |threads: &str, name: &str| {
            let out = dir.path(name);
            let mut args = vec!["map"];
            args.extend(query);
            let o = out.display().to_string();
            args.extend(["--threads", threads, "--part", "0/1", "--emit-partial", &o]);
            run(&args).expect_ok("map");
            std::fs::read(&out).unwrap()
        };
        let first = part("2", "a.part");
        for (threads, name) in [("2", "b.part"), ("1", "c.part"), ("3", "d.part")] {
            assert!(
                part(threads, name) == first,
                "{query:?}: {threads} threads gave other bytes"
            );
        }
        let parts = map_all(&dir, query, 3);
        let merged = |order: [usize; 3], name: &str| {
            let out = dir.path(name);
            let ordered: Vec<PathBuf> = order.iter().map(|&i| parts[i].clone()).collect();
            reduce(&ordered, &["--emit-partial", &out.display().to_string()]).expect_ok("reduce");
            std::fs::read(&out).unwrap()
        };
        let forward = merged([0, 1, 2], "forward.part");
        assert!(merged([2, 1, 0], "backward.part") == forward, "{query:?}");
        assert!(merged([1, 2, 0], "rotated.part") == forward, "{query:?}");
        let want = run_query(query, &["--format", "csv"]);
        let got = reduce(&[dir.path("backward.part")], &["--format", "csv"]);
        assert_eq!(got.stdout, want.stdout, "{query:?}");
    }
}

#[test]
fn a_compressed_input_goes_whole_to_one_part() {
    let dir = Scratch::new();
    let a = varied_csv(&dir, "a.csv", 4000, 11);
    let b = varied_csv(&dir, "b.csv", 4000, 12);
    let status = std::process::Command::new("gzip")
        .arg("-k")
        .arg(&b)
        .status()
        .unwrap();
    assert!(status.success());
    let gz = format!("{}.gz", b.display());
    let a = a.display().to_string();
    let query = [
        "--input",
        &a,
        "--input",
        &gz,
        "--by",
        "k",
        "--agg",
        "count,mean:x,min:t",
    ];
    let want = run_query(&query, &["--format", "csv"]);
    want.expect_ok("run");
    for n in [1, 2, 5] {
        let parts = map_all(&dir, &query, n);
        let got = reduce(&parts, &["--format", "csv"]);
        got.expect_ok("reduce");
        assert_eq!(got.stdout, want.stdout, "{n} parts");
    }
}

/// A compressed input whose name is not UTF-8 is mapped: its size was
/// looked up by the name messages show (with U+FFFD), which named no file.
#[cfg(unix)]
#[test]
fn a_compressed_input_whose_name_is_not_utf8_is_mapped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = Scratch::new();
    let csv = varied_csv(&dir, "a.csv", 1000, 3);
    let gz = dir
        .dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"a\xff.csv.gz"));
    let compressed = std::process::Command::new("gzip")
        .arg("-c")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(compressed.status.success());
    std::fs::write(&gz, compressed.stdout).unwrap();
    let query = ["--by", "k", "--agg", "count,mean:x"];
    let csv = csv.display().to_string();
    let want = run_query(&[&["--input", &csv][..], &query].concat(), &["-f", "csv"]);
    want.expect_ok("run");
    let part = dir.path("p.part");
    let map = std::process::Command::new(bin_path())
        .arg("map")
        .arg("--input")
        .arg(&gz)
        .args(query)
        .args(["--part", "0/1", "--emit-partial"])
        .arg(&part)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&map.stderr);
    assert!(map.status.success(), "{stderr}");
    let got = reduce(&[part], &["-f", "csv"]);
    got.expect_ok("reduce");
    assert_eq!(got.stdout, want.stdout);
}

#[test]
fn a_crafted_header_is_an_error_not_a_crash() {
    use rayproc::mapreduce::PartialFile;
    let dir = Scratch::new();
    let s = sample().display().to_string();
    let parts = map_all(&dir, &["--input", &s, "--agg", "count,sum:price"], 2);
    let real = PartialFile::from_bytes(&std::fs::read(&parts[0]).unwrap()).unwrap();
    let crafted = dir.path("crafted.part");
    type Edit = Box<dyn Fn(&mut PartialFile)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a billion parts",
            Box::new(|f| f.header.parts = 1_000_000_000),
        ),
        ("no parts", Box::new(|f| f.header.parts = 0)),
        (
            "a part past the count",
            Box::new(|f| f.header.covered = vec![5]),
        ),
        (
            "a quote as delimiter",
            Box::new(|f| f.header.plan.delimiter = b'"'),
        ),
        (
            "an unknown column",
            Box::new(|f| f.header.plan.agg = vec!["sum:nope".into()]),
        ),
        (
            "a body of another plan",
            Box::new(|f| f.header.plan.agg = vec!["median:price".into()]),
        ),
        ("a garbage body", Box::new(|f| f.body = vec![0xff; 40])),
    ];
    for (what, edit) in edits {
        let mut file = real.clone();
        edit(&mut file);
        std::fs::write(&crafted, file.to_bytes()).unwrap();
        let r = reduce(std::slice::from_ref(&crafted), &["--emit-partial", "-"]);
        r.expect_code(1, what);
        assert!(r.stderr.contains("crafted.part"), "{what}: {}", r.stderr);
    }
}

/// A partial whose `var` state no values make (crafted: the count of the
/// values 1, 2, 3 lowered to 2, or to 0) is refused as any corrupt body is,
/// naming the file, the aggregate and the byte: it finished as `var` -4 and
/// `std` NaN, exit 0 (and a state of no values with sums as null, or,
/// merged into another part's group, as that group's sums plus these).
#[test]
fn a_crafted_moments_state_is_refused() {
    use rayproc::mapreduce::PartialFile;
    let dir = Scratch::new();
    let csv = dir.write("x.csv", "x\n1\n2\n3\n");
    let c = csv.display().to_string();
    let query = ["--input", &c, "--agg", "var:x,std:x"];
    let parts = map_all(&dir, &query, 1);
    let real = PartialFile::from_bytes(&std::fs::read(&parts[0]).unwrap()).unwrap();
    // one column type (integer), then the state: its count first
    assert_eq!(real.body[..3], [1, 1, 3], "{:?}", real.body);
    let got = reduce(&parts, &["--format", "csv"]);
    got.expect_ok("the real part");
    assert_eq!(got.stdout, "var_x,std_x\n1.0,1.0\n");
    let crafted = dir.path("crafted.part");
    for count in [2, 0] {
        let mut file = real.clone();
        file.body[2] = count;
        std::fs::write(&crafted, file.to_bytes()).unwrap();
        let r = reduce(std::slice::from_ref(&crafted), &["--format", "csv"]);
        r.expect_code(1, &format!("count {count}"));
        assert!(
            r.stderr.contains("crafted.part")
                && r.stderr
                    .contains("var of 'x': bad state for var/std at byte 2: "),
            "count {count}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
}

#[test]
fn a_column_numeric_in_one_part_and_text_in_another_keeps_min_max_exact() {
    // `v` holds numbers in the first half and text in the second: min/max
    // must compare everything as text (as `run` does), which the parts of
    // numbers alone cannot know; the reducer maps them again
    let dir = Scratch::new();
    let mut text = String::from("k,v\n");
    for i in 0..4000 {
        // the text of 1000.50 is not the number's shortest form
        text += &format!("k{},{}.50\n", i % 3, 1000 + i);
    }
    for i in 0..4000 {
        text += &format!("k{},w{}\n", i % 3, i);
    }
    let path = dir.write("mixed.csv", &text);
    let p = path.display().to_string();
    for q in [
        vec!["--input", &p, "--agg", "min:v,max:v,count"],
        vec!["--input", &p, "--by", "k", "--agg", "max:v,min:v"],
    ] {
        let want = run_query(&q, &["--format", "csv"]);
        want.expect_ok("run");
        assert!(want.stdout.contains("1000.50"), "{}", want.stdout);
        for n in [1, 2, 3, 8] {
            let parts = map_all(&dir, &q, n);
            let got = reduce(&parts, &["--format", "csv"]);
            got.expect_code(0, "reduce");
            assert_eq!(got.stdout, want.stdout, "{q:?} in {n} parts");
            if n == 2 {
                assert!(
                    got.stderr.contains("keeping the text of min/max"),
                    "{}",
                    got.stderr
                );
            }
            // and through a tree of merged partials
            let merged = dir.path("merged.part");
            let m = merged.display().to_string();
            reduce(&parts[..n / 2 + 1], &["--emit-partial", &m, "--quiet"]).expect_ok("merge");
            let mut rest = vec![merged.clone()];
            rest.extend(parts[n / 2 + 1..].iter().cloned());
            let got = reduce(&rest, &["--format", "csv", "--quiet"]);
            got.expect_ok("tree");
            assert_eq!(got.stdout, want.stdout, "tree of {n}");
        }
    }
}

/// Parts of one input name read as two kinds of input (a CSV file
/// replaced by a Parquet file of the same columns between the maps) are
/// refused with that reason: the message said the parts were mapped from
/// "other inputs" and named the same file twice.
#[test]
fn parts_of_an_input_replaced_by_another_kind_are_refused_saying_so() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let input = scratch.write("x.dat", "a,b\n1,2\n3,4\n");
    let map = |i: usize| {
        let part = scratch.path(&format!("q{i}"));
        let spec = format!("{i}/2");
        let args = ["map", "--input", input.to_str().unwrap(), "--agg", "sum:a"];
        let args = [
            &args[..],
            &["--part", &spec, "--emit-partial", part.to_str().unwrap()],
        ];
        run(args.concat()).expect_ok("map");
        part
    };
    let first = map(0);
    let column = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let batch =
        RecordBatch::try_from_iter([("a", column(vec![1, 3])), ("b", column(vec![2, 4]))]).unwrap();
    write_parquet(&input, &batch, None);
    let second = map(1);
    let r = run(["reduce", first.to_str().unwrap(), second.to_str().unwrap()]);
    r.expect_code(1, "reduce");
    assert!(
        r.stderr.contains(
            "its inputs were read as Parquet or Arrow IPC, the other partials' as CSV (a file \
             replaced between the maps?)"
        ),
        "{}",
        r.stderr
    );
}

/// A well-formed file can mislead a guessed cut too: a quoted field that
/// holds line breaks, whose quotes all follow a line break and precede a
/// delimiter (`\n",`), tells nothing from inside. The repair's note said
/// "(malformed quoting)" of such a valid file, and a part repaired with
/// exact cuts was mapped again, and named again, when its cut then
/// disagreed with a neighbour's guess (parts 1/5, 3/5 and 4/5 twice).
#[test]
fn a_valid_file_that_misleads_the_guesses_is_repaired_once_per_part() {
    let mut csv = String::from("k,x\n");
    let record_lines = |csv: &mut String, key: &str| {
        for i in 0..50 {
            csv.push_str(&format!("{key},{i}\n"));
        }
    };
    record_lines(&mut csv, "a");
    csv.push('"');
    for i in 0..3000 {
        csv.push_str(&format!("b,{i}\n"));
    }
    csv.push_str("\",7\n");
    record_lines(&mut csv, "c");
    csv.push('"');
    for i in 0..3000 {
        csv.push_str(&format!("\"\"d\"\",{i}\n"));
    }
    csv.push_str("\",9\n");
    record_lines(&mut csv, "e");
    let (dir, file) = temp_csv(&csv);
    let f = file.display().to_string();
    let query = ["--input", &f, "--by", "k", "--agg", "count,sum:x"];
    let expected = run_query(&query, &[]);
    expected.expect_ok("run");
    let parts = map_all(&dir, &query, 5);
    let r = reduce(&parts, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, expected.stdout);
    // the note may say what can mislead a guess, not blame this file
    assert!(!r.stderr.contains("(malformed quoting)"), "{}", r.stderr);
    let mut named: Vec<&str> = (r.stderr.lines())
        .filter_map(|l| l.split(" again with").next()?.split("mapping part").nth(1))
        .flat_map(|list| list.trim_start_matches('s').split(", "))
        .map(str::trim)
        .collect();
    assert!(
        !named.is_empty(),
        "the guesses were not misled: {}",
        r.stderr
    );
    let all = named.len();
    named.sort_unstable();
    named.dedup();
    assert_eq!(named.len(), all, "a part mapped again twice: {}", r.stderr);
}
