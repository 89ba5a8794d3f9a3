//! The library entry point (`rayproc::query`) without clap: a `Query`, a
//! `Split` and an `Inspect` built by hand give what the binary gives for
//! the same request, byte for byte, errors included. The binary is only
//! flags over the library, so any difference is a behaviour that lives in
//! the command line and should not.

use crate::common::sample;
use rayproc::error::Error;
use rayproc::output::{self, Format};
use rayproc::query::{self, Inspect, InspectFormat, Query, Source, Split};
use rayproc::spec::{parse_columns, parse_specs};

fn rayproc(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = crate::common::rayproc()
        .args(args)
        .output()
        .expect("rayproc runs");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    (out.status.code().expect("an exit code"), out.stdout, stderr)
}

fn query(source: Source, specs: &[&str], by: &[&str]) -> Query {
    let mut q = Query::new(source, parse_specs(specs).unwrap());
    q.by = parse_columns(by, "--by").unwrap();
    q.threads = Some(2);
    q
}

fn written(table: &rayproc::table::Table, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    output::write(table, format, &mut out).unwrap();
    out
}

/// What the binary prints for `e`.
fn message(e: &Error) -> String {
    format!("rayproc: error: {e}\n")
}

#[test]
fn a_query_gives_what_run_prints() {
    let path = sample();
    let specs = ["count,mean:price,p99:price,distinct:note", "max:qty"];
    for by in [&[][..], &["city"][..], &["city,qty"][..]] {
        let q = query(Source::Files(vec![path.clone()]), &specs, by);
        let table = query::run(&q).unwrap();
        let mut args = vec!["run", "--input", path.to_str().unwrap(), "--format", "csv"];
        for s in specs {
            args.extend(["--agg", s]);
        }
        for b in by {
            args.extend(["--by", b]);
        }
        let (code, stdout, stderr) = rayproc(&args);
        assert_eq!((code, stderr.as_str()), (0, ""));
        assert_eq!(written(&table, Format::Csv), stdout, "--by {by:?}");
    }
}

#[test]
fn partitions_and_threads_do_not_change_the_table() {
    let reference = query::run(&query(
        Source::Files(vec![sample()]),
        &["count,sum:qty"],
        &["city"],
    ))
    .unwrap()
    .to_rows();
    for (partitions, threads) in [(1, 1), (3, 2), (7, 4)] {
        let mut q = query(Source::Files(vec![sample()]), &["count,sum:qty"], &["city"]);
        q.partitions = Some(partitions);
        q.threads = Some(threads);
        assert_eq!(query::run(&q).unwrap().to_rows(), reference);
    }
}

#[test]
fn a_store_made_and_read_through_the_library_gives_what_the_binary_gives() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("lib.store");
    let summary = query::split(&Split {
        inputs: vec![sample()],
        store: store.clone(),
        partitions: Some(2),
        threads: Some(2),
        delimiter: b',',
        columns: None,
        quiet: true,
        no_header: false,
        nulls: Vec::new(),
    })
    .unwrap();
    assert_eq!(summary.rows, 6);

    let source = Source::Store {
        dir: store.clone(),
        allow_stale: false,
        verify: true,
    };
    let table = query::run(&query(source, &["count,mean:price"], &["city"])).unwrap();
    let (code, stdout, _) = rayproc(&[
        "run",
        "--store",
        store.to_str().unwrap(),
        "--by",
        "city",
        "--agg",
        "count,mean:price",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert_eq!(written(&table, Format::Csv), stdout);

    let inspection = query::inspect(&Inspect {
        store: store.clone(),
        format: InspectFormat::Text,
        verify: true,
    })
    .unwrap();
    assert_eq!(inspection.failed, 0);
    let (code, stdout, _) = rayproc(&["inspect", store.to_str().unwrap(), "--verify"]);
    assert_eq!(code, 0);
    assert_eq!(inspection.text.as_bytes(), stdout);
}

#[test]
fn errors_are_the_binarys() {
    let path = sample();
    let p = path.to_str().unwrap();

    // an unknown column: refused by `prepare`, before any data is read
    let q = query(Source::Files(vec![path.clone()]), &["mean:prise"], &[]);
    let e = query::prepare(&q).err().expect("an unknown column");
    let (code, _, stderr) = rayproc(&["run", "--input", p, "--agg", "mean:prise"]);
    assert_eq!((e.exit_code(), message(&e)), (code, stderr));

    // json cannot hold text that is not UTF-8: the error names the line
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, b"k,v\na,1\n\xff,2\n").unwrap();
    let mut q = query(Source::Files(vec![bad.clone()]), &["count"], &["k"]);
    q.format = Some(Format::Json);
    let e = query::run(&q).expect_err("invalid UTF-8 for json");
    let b = bad.to_str().unwrap();
    let args = [
        "run", "--input", b, "--by", "k", "--agg", "count", "--format", "json",
    ];
    let (code, stdout, stderr) = rayproc(&args);
    assert!(stdout.is_empty());
    assert_eq!((e.exit_code(), message(&e)), (code, stderr));
    // with no format to write, the table keeps the bytes
    q.format = None;
    assert_eq!(query::run(&q).unwrap().len(), 2);

    // a store has fixed partitions
    let mut q = query(
        Source::Store {
            dir: dir.path().join("none"),
            allow_stale: false,
            verify: true,
        },
        &["count"],
        &[],
    );
    q.partitions = Some(3);
    let e = query::run(&q).expect_err("--partitions with a store");
    let store = dir.path().join("none");
    let s = store.to_str().unwrap();
    let (code, _, stderr) = rayproc(&["run", "--store", s, "--partitions", "3", "--agg", "count"]);
    assert_eq!((e.exit_code(), message(&e)), (code, stderr));

    // no input at all is a usage error, not a panic
    let q = query(Source::Files(Vec::new()), &["count"], &[]);
    assert_eq!(query::run(&q).expect_err("no input").exit_code(), 2);
}

#[test]
fn the_plan_is_known_before_the_data_is_read() {
    let q = query(
        Source::Files(vec![sample()]),
        &["count,mean:price"],
        &["city"],
    );
    let prepared = query::prepare(&q).unwrap();
    assert_eq!(prepared.plan().keys.len(), 1);
    assert_eq!(prepared.plan().aggs.len(), 2);
    let table = prepared.execute().unwrap();
    assert_eq!(table.columns, ["city", "count", "mean_price"]);
}

#[test]
fn a_filtered_query_gives_what_run_where_prints() {
    let path = sample();
    let mut q = query(
        Source::Files(vec![path.clone()]),
        &["count,mean:price"],
        &["city"],
    );
    q.filter = Some(rayproc::filter::parse("price > 2 and city is not null").unwrap());
    let table = query::run(&q).unwrap();
    let p = path.to_str().unwrap();
    let args = [
        "run",
        "--input",
        p,
        "--format",
        "csv",
        "--agg",
        "count,mean:price",
        "--by",
        "city",
        "--where",
        "price > 2 and city is not null",
    ];
    let (code, stdout, _) = rayproc(&args);
    assert_eq!(code, 0);
    assert_eq!(written(&table, Format::Csv), stdout);
    let unfiltered = query::run(&query(Source::Files(vec![path]), &["count"], &[])).unwrap();
    assert_ne!(
        written(&table, Format::Csv),
        written(&unfiltered, Format::Csv)
    );
}
