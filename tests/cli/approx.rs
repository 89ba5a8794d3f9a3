//! `approx_distinct`, `approx_median`, `approx_pNN` from the command line:
//! the same bytes at every partition and thread count, within the
//! documented bounds of the exact aggregates, with and without `--by`,
//! and the same over a store as over its CSV.

use std::path::Path;

use crate::common::*;

/// `approx_distinct`'s documented relative standard error: 1.04/sqrt(2^14).
const HLL_SE: f64 = 1.04 / 128.0;
/// `approx_median`/`approx_pNN`'s documented relative accuracy.
const DD_ACCURACY: f64 = 0.01;

const PARTS: &[&str] = &["1", "3", "17"];
const THREADS: &[&str] = &["1", "2", "4"];

/// Runs `args` on `file` at `--partitions 1,3,17` × `--threads 1,2,4`,
/// asserts every run succeeds with the same bytes, and returns them.
#[track_caller]
fn same_everywhere(file: &Path, args: &[&str]) -> String {
    let mut first: Option<(String, String)> = None;
    for p in PARTS {
        for t in THREADS {
            let mut all = vec!["--format", "csv", "--partitions", p, "--threads", t];
            all.extend_from_slice(args);
            let label = format!("{args:?} --partitions {p} --threads {t}");
            let r = run_on(file, &all);
            r.expect_ok(&label);
            match &first {
                None => first = Some((label, r.stdout)),
                Some((l, out)) => assert_eq!(&r.stdout, out, "{label} differs from {l}"),
            }
        }
    }
    first.unwrap().1
}

/// CSV output as (header, rows of fields).
fn table(out: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = out.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn field<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    &row[i]
}

fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|_| panic!("{s:?} is not a number"))
}

/// A generated input: group `g` (five big groups and a tiny one), integer
/// ids `k` (some with leading zeros), text `t`, a column `m` of integers
/// with a few decimals (a float column), lognormal `x`, mixed-sign `y`
/// and wide-ranging integers `n`.
fn generate(rows: usize) -> String {
    let mut rng = Lcg(0x5eed_1234);
    let mut unit = move || (rng.next() as f64 + 0.5) / (1u64 << 31) as f64;
    let mut out = String::from("g,k,t,m,x,y,n\n");
    for i in 0..rows {
        let g = if i % 3001 == 7 {
            "tiny".to_string()
        } else {
            format!("g{}", i % 5)
        };
        let k = (unit() * 30_000.0) as u64;
        let k = if i % 11 == 0 {
            format!("{k:06}")
        } else {
            k.to_string()
        };
        let t = format!("user_{}", (unit() * 5_000.0) as u64);
        let m = if i % 997 == 0 {
            format!("{}.5", (unit() * 100.0) as u64)
        } else {
            ((unit() * 4_000.0) as u64).to_string()
        };
        let normal = (-2.0 * unit().ln()).sqrt() * (std::f64::consts::TAU * unit()).cos();
        let x = (normal * 1.5).exp();
        let normal2 = (-2.0 * unit().ln()).sqrt() * (std::f64::consts::TAU * unit()).cos();
        let y = normal2 * 50.0 + 20.0;
        let n = ((unit() - 0.5) * 2e6) as i64;
        out.push_str(&format!("{g},{k},{t},{m},{x:.6},{y:.4},{n}\n"));
    }
    out
}

fn fixture() -> (Scratch, std::path::PathBuf) {
    let scratch = Scratch::new();
    let path = scratch.write("data.csv", generate(120_000));
    (scratch, path)
}

#[track_caller]
fn assert_distinct_close(approx: &str, exact: &str, what: &str) {
    let (a, e) = (num(approx), num(exact));
    assert!(
        (a - e).abs() <= 3.0 * HLL_SE * e,
        "{what}: approx_distinct {a} vs distinct {e}"
    );
}

#[track_caller]
fn assert_quantile_close(approx: &str, exact: &str, what: &str) {
    let (a, e) = (num(approx), num(exact));
    assert!(
        (a - e).abs() <= DD_ACCURACY * e.abs(),
        "{what}: approx {a} vs exact {e}"
    );
}

#[test]
fn approx_distinct_is_deterministic_and_within_its_bound() {
    let (_dir, path) = fixture();
    let out = same_everywhere(
        &path,
        &[
            "--agg",
            "approx_distinct:k,distinct:k,approx_distinct:t,distinct:t,\
             approx_distinct:m,distinct:m,approx_distinct:x,distinct:x,approx_distinct:g,distinct:g",
        ],
    );
    let (h, rows) = table(&out);
    for col in ["k", "t", "m", "x"] {
        let (a, e) = (
            field(&h, &rows[0], &format!("approx_distinct_{col}")),
            field(&h, &rows[0], &format!("distinct_{col}")),
        );
        assert_distinct_close(a, e, col);
    }
    // exact while small
    assert_eq!(field(&h, &rows[0], "approx_distinct_g"), "6");
    assert_eq!(field(&h, &rows[0], "distinct_g"), "6");
}

#[test]
fn approx_quantiles_are_deterministic_and_within_one_percent() {
    let (_dir, path) = fixture();
    let specs = "approx_median:x,median:x,approx_p99:x,p99:x,approx_p1:x,p1:x,\
                 approx_median:y,median:y,approx_p99.9:y,p99.9:y,approx_p0.1:y,p0.1:y,\
                 approx_median:n,median:n,approx_p1:n,p1:n,approx_p100:n,p100:n";
    let out = same_everywhere(&path, &["--agg", specs]);
    let (h, rows) = table(&out);
    for spec in specs.split(',').filter(|s| s.starts_with("approx_")) {
        let name = spec.replace(':', "_");
        let exact = name.trim_start_matches("approx_");
        assert_quantile_close(
            field(&h, &rows[0], &name),
            field(&h, &rows[0], exact),
            &name,
        );
    }
    // the greatest value is exact
    assert_eq!(
        field(&h, &rows[0], "approx_p100_n"),
        field(&h, &rows[0], "p100_n")
    );
}

#[test]
fn approx_aggregates_work_with_by() {
    let (_dir, path) = fixture();
    let out = same_everywhere(
        &path,
        &[
            "--by",
            "g",
            "--agg",
            "count,approx_distinct:k,distinct:k,approx_median:x,median:x,approx_p99:y,p99:y",
        ],
    );
    let (h, rows) = table(&out);
    assert_eq!(rows.len(), 6, "{out}");
    for row in &rows {
        let g = field(&h, row, "g");
        assert_distinct_close(
            field(&h, row, "approx_distinct_k"),
            field(&h, row, "distinct_k"),
            g,
        );
        assert_quantile_close(
            field(&h, row, "approx_median_x"),
            field(&h, row, "median_x"),
            g,
        );
        assert_quantile_close(field(&h, row, "approx_p99_y"), field(&h, row, "p99_y"), g);
        if g == "tiny" {
            // 40 values: exact
            assert_eq!(field(&h, row, "count"), "40");
            assert_eq!(
                field(&h, row, "approx_distinct_k"),
                field(&h, row, "distinct_k")
            );
            assert_eq!(
                field(&h, row, "approx_median_x"),
                field(&h, row, "median_x")
            );
            assert_eq!(field(&h, row, "approx_p99_y"), field(&h, row, "p99_y"));
        }
    }
}

/// A value counts once whatever batch it lands in: `1` and `1.0` are one
/// float, `7` and `+7` one integer, but `7` and `007` two texts (a
/// zero-padded integer makes its column text), as for `distinct`.
#[test]
fn approx_distinct_counts_what_distinct_counts() {
    let scratch = Scratch::new();
    // ids, some with leading zeros (so a text column of 1400 values);
    // `f` turns float in its last row only, `s` text in its next-to-last
    // (where `007` and `7` are two values)
    let mut csv = String::from("i,f,s\n");
    for r in 0..30_000 {
        let v = r % 700;
        let i = if r % 3 == 0 {
            format!("{v:04}")
        } else {
            v.to_string()
        };
        let f = if r == 29_999 {
            "1.0".into()
        } else {
            (r % 500).to_string()
        };
        let s = match r {
            29_998 => "x".into(),
            _ if (r / 900) % 2 == 0 => format!("{:03}", r % 900),
            _ => (r % 900).to_string(),
        };
        csv.push_str(&format!("{i},{f},{s}\n"));
    }
    let path = scratch.write("mix.csv", csv);
    let out = same_everywhere(
        &path,
        &[
            "--agg",
            "approx_distinct:i,distinct:i,approx_distinct:f,distinct:f,approx_distinct:s,distinct:s",
        ],
    );
    // each set is small: exact, and equal to distinct's count
    assert_eq!(
        out,
        "approx_distinct_i,distinct_i,approx_distinct_f,distinct_f,approx_distinct_s,distinct_s\n\
         1400,1400,500,500,1001,1001\n"
    );
}

/// The store keeps typed columns without their source text: the sketches
/// still see the same values, so the answers are the CSV's, byte for byte.
#[test]
fn a_store_gives_the_csv_answers() {
    let (dir, path) = fixture();
    let store = dir.path("data.store");
    run([
        "split",
        "--input",
        path.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--quiet",
    ])
    .expect_ok("split");
    let args = [
        "--by",
        "g",
        "--agg",
        "approx_distinct:k,approx_distinct:t,approx_distinct:m,approx_distinct:x,\
         approx_median:x,approx_p99:y,approx_p1:n",
        "--format",
        "csv",
    ];
    let from_csv = same_everywhere(&path, &args[..4]);
    for t in THREADS {
        let mut all = vec!["run", "--store", store.to_str().unwrap(), "--threads", t];
        all.extend_from_slice(&args);
        let r = run(&all);
        r.expect_ok("run --store");
        assert_eq!(r.stdout, from_csv, "--store --threads {t}");
    }
}

#[test]
fn usage_and_data_errors() {
    let (_dir, path) = temp_csv("a,b\n1,x\n2,y\n");
    let r = run_on(&path, &["--agg", "approx_median:b"]);
    r.expect_code(1, "text column");
    assert!(
        r.stderr.contains("approx_median needs numbers"),
        "{}",
        r.stderr
    );
    let r = run_on(&path, &["--agg", "approx_p101:a"]);
    r.expect_code(2, "percentile out of range");
    assert!(r.stderr.contains("'approx_p101'"), "{}", r.stderr);
    let r = run_on(&path, &["--agg", "approx_sum:a"]);
    r.expect_code(2, "no approximate sum");
    assert!(r.stderr.contains("approx_distinct"), "{}", r.stderr);
    // text is fine for approx_distinct; an empty column is null / 0
    let out = run_on(
        &path,
        &["--agg", "approx_distinct:b,approx_p50:a,approx_median:a"],
    );
    out.expect_ok("valid");
    assert_eq!(
        out.stdout,
        "approx_distinct_b,approx_p50_a,approx_median_a\n2,1.5,1.5\n"
    );
    let (_d, empty) = temp_csv("a,b\n,1\n,2\n");
    let r = run_on(
        &empty,
        &[
            "--agg",
            "approx_distinct:a,approx_median:a",
            "--format",
            "csv",
        ],
    );
    r.expect_ok("empty");
    assert_eq!(r.stdout, "approx_distinct_a,approx_median_a\n0,\n");
}

/// An approximate quantile among magnitudes the sketch had to merge (more
/// than 4e17 below the largest of their sign) may miss its 1% bound: the
/// run says so on stderr, naming the column and how many groups, and stays
/// silent where the bound holds or under --quiet. (Before, 64 ones and one
/// 1e18 gave an approx_median of 2.46 without a word.)
#[test]
fn an_answer_that_may_miss_its_bound_is_noted() {
    let mut csv = String::from("g,x\n");
    for _ in 0..64 {
        csv.push_str("a,1\nb,2\n");
    }
    csv.push_str("a,1e18\nb,3\n");
    let (_dir, file) = temp_csv(&csv);
    // group b alone: the sketch keeps every magnitude, no note
    let r = run_on(&file, &["--where", "g = 'b'", "--agg", "approx_median:x"]);
    r.expect_ok("b only");
    let (header, rows) = table(&r.stdout);
    let median = num(field(&header, &rows[0], "approx_median_x"));
    assert!((median - 2.0).abs() <= DD_ACCURACY * 2.0, "{median}");
    let r = run_on(
        &file,
        &["--by", "g", "--agg", "approx_median:x,approx_p100:x"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("rayproc: note: approx_median_x: in 1 of 2 groups")
            && r.stderr.contains("off by more than 1%")
            && !r.stderr.contains("approx_p100_x"),
        "{}",
        r.stderr
    );
    let quiet = run_on(&file, &["--by", "g", "--agg", "approx_median:x", "-q"]);
    quiet.expect_ok("quiet");
    assert_eq!(quiet.stderr, "");
    let a_only = run_on(&file, &["--where", "g = 'a'", "--agg", "approx_median:x"]);
    assert_eq!(a_only.code, 0, "{}", a_only.stderr);
    assert!(
        a_only
            .stderr
            .starts_with("rayproc: note: approx_median_x: the answer lies"),
        "{}",
        a_only.stderr
    );
}

/// A group's few integers (kept exactly, at most 64 values) are read as
/// `median` reads them: as floats where another group of the column holds
/// a decimal, whether that group's values are kept exactly or sketched,
/// and whichever batches, partitions or map parts the rows come in.
/// `approx_median` read them as integers whenever the group's own batches
/// held no decimal: `0.5` (the exact middle of -2^63 and 2^63 + 1) at one
/// partition, `0.0` (their floats' middle, `median`'s answer) at three.
#[test]
fn a_group_of_few_integers_is_read_as_median_reads_it() {
    let sketched: String = (0..100).map(|i| format!("b,{i}\n")).collect();
    for (other, want) in [
        ("b,1e-7\n".to_string(), "0.0"),
        (format!("{sketched}b,0.5\n"), "0.0"),
        (sketched, "0.5"),
    ] {
        let (_dir, path) = temp_csv(format!(
            "k,x\na,9223372036854775809\n{other}a,-9223372036854775808\n"
        ));
        let args = ["--by", "k", "--agg", "median:x,approx_median:x"];
        let out = same_everywhere(&path, &args);
        let (header, rows) = table(&out);
        let a = &rows[0];
        assert_eq!(field(&header, a, "median_x"), want, "{other:?}");
        assert_eq!(field(&header, a, "approx_median_x"), want, "{other:?}");
        // and from map parts: each part's rows in batches of their own
        let dir = tempfile::tempdir().unwrap();
        for n in [2, 3] {
            let mut parts = Vec::new();
            for i in 0..n {
                let part = dir.path().join(format!("p{n}_{i}"));
                let mut map = vec!["map", "--input", path.to_str().unwrap()];
                map.extend_from_slice(&args);
                let spec = format!("{i}/{n}");
                map.extend(["--part", &spec, "--emit-partial", part.to_str().unwrap()]);
                run(&map).expect_ok("map");
                parts.push(part);
            }
            let mut reduce = vec!["reduce", "--format", "csv"];
            reduce.extend(parts.iter().map(|p| p.to_str().unwrap()));
            let r = run(&reduce);
            r.expect_ok("reduce");
            assert_eq!(r.stdout, out, "{n} parts, {other:?}");
        }
    }
}
