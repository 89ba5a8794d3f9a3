//! The object store and the typed inputs, end to end through the binary:
//!
//! - round trip: `run --input data.csv`, `split` + `run --store`, the same
//!   data as Parquet and as Arrow IPC give byte-identical output, at several
//!   partition and thread counts;
//! - damage: a flipped byte, a truncated or deleted partition file, an edited
//!   source, an unknown manifest version each fail with their own message
//!   and exit 1, never with an answer;
//! - `split` reports data errors as `run` does and writes nothing; a store
//!   it cannot write (or `-` as a store) is named with the reason;
//! - `--format parquet` writes a Parquet file that reads back.

use crate::common::{gzip, set_store_version, store_generation, zstd, Lcg};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn rayproc<I, S>(args: I) -> Out
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = crate::common::rayproc().args(args).output().expect("runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S> + Clone,
    S: AsRef<std::ffi::OsStr>,
{
    let shown: Vec<String> = args
        .clone()
        .into_iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    let out = rayproc(args);
    assert_eq!(
        out.code, 0,
        "rayproc {shown:?} failed:\n{}{}",
        out.stdout, out.stderr
    );
    out.stdout
}

#[track_caller]
fn fails<I, S>(args: I, needle: &str) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = rayproc(args);
    assert_eq!(
        out.code, 1,
        "expected exit 1:\n{}{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "stderr lacks {needle:?}:\n{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no output on error: {}", out.stdout);
    out.stderr
}

/// One generated cell: its CSV field and its typed value.
#[derive(Clone)]
enum Cell {
    Null,
    Int(i64),
    Float(f64, String),
    Text(String),
}

const COLUMNS: [&str; 7] = ["id", "n", "x", "t", "k", "empty", "late_text"];

/// Rows with integers, floats (some written as integers), text with quotes,
/// commas, newlines and non-ASCII, nulls everywhere, an all-null column, and
/// a column that looks numeric until its last row.
fn generate(rows: usize, seed: u64) -> Vec<Vec<Cell>> {
    let mut g = Lcg(seed);
    let words = [
        "alpha",
        "beta",
        "say \"hi\"",
        "a,b",
        "line\nbreak",
        "ünï",
        "42x",
        " pad",
        "Z",
    ];
    (0..rows)
        .map(|r| {
            let n = match g.below(10) {
                0 => Cell::Null,
                1 => Cell::Int(i64::MAX - g.below(5) as i64),
                _ => Cell::Int(g.below(2000) as i64 - 1000),
            };
            let x = match g.below(8) {
                0 => Cell::Null,
                1 => {
                    let v = g.below(100) as i64 - 50;
                    Cell::Float(v as f64, v.to_string())
                }
                2 => {
                    let s = format!("{}e{}", g.below(999) + 1, g.below(40) as i64 - 20);
                    Cell::Float(s.parse().unwrap(), s)
                }
                _ => {
                    let s = format!("{}.{:03}", g.below(200) as i64 - 100, g.below(1000));
                    Cell::Float(s.parse().unwrap(), s)
                }
            };
            let t = match g.below(6) {
                0 => Cell::Null,
                _ => Cell::Text(words[g.below(words.len() as u64) as usize].to_string()),
            };
            let k = match g.below(9) {
                0 => Cell::Null,
                i => Cell::Text(format!("k{}", i % 4)),
            };
            let late = if r == rows - 1 {
                Cell::Text("n/a".into())
            } else if g.below(5) == 0 {
                Cell::Null
            } else {
                Cell::Text(g.below(100).to_string())
            };
            vec![Cell::Int(r as i64), n, x, t, k, Cell::Null, late]
        })
        .collect()
}

fn csv_field(c: &Cell) -> String {
    let s = match c {
        Cell::Null => return String::new(),
        Cell::Int(v) => v.to_string(),
        Cell::Float(_, s) => s.clone(),
        Cell::Text(s) => s.clone(),
    };
    if s.contains([',', '"', '\n']) || s.starts_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn write_csv(path: &Path, rows: &[Vec<Cell>]) {
    let mut out = COLUMNS.join(",") + "\n";
    for row in rows {
        let fields: Vec<String> = row.iter().map(csv_field).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    fs::write(path, out).unwrap();
}

/// The rows as one Arrow record batch, typed as the CSV reader types them.
fn record_batch(rows: &[Vec<Cell>]) -> RecordBatch {
    let col = |j: usize| rows.iter().map(move |r| &r[j]);
    let ints = |j: usize| -> ArrayRef {
        Arc::new(Int64Array::from_iter(col(j).map(|c| match c {
            Cell::Int(v) => Some(*v),
            _ => None,
        })))
    };
    let floats = |j: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter(col(j).map(|c| match c {
            Cell::Float(v, _) => Some(*v),
            _ => None,
        })))
    };
    let texts = |j: usize| -> ArrayRef {
        Arc::new(StringArray::from_iter(col(j).map(|c| match c {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        })))
    };
    let arrays = vec![
        ints(0),
        ints(1),
        floats(2),
        texts(3),
        texts(4),
        ints(5),
        texts(6),
    ];
    let fields: Vec<Field> = COLUMNS
        .iter()
        .zip(&arrays)
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Writes the rows as Parquet with small row groups (several per file).
fn write_parquet(path: &Path, rows: &[Vec<Cell>], row_group_rows: usize) {
    crate::common::write_parquet(path, &record_batch(rows), Some(row_group_rows));
}

/// Writes the rows as an Arrow IPC file, in record batches of `per` rows.
fn write_ipc(path: &Path, rows: &[Vec<Cell>], per: usize) {
    let batch = record_batch(rows);
    let file = fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    let mut at = 0;
    while at < batch.num_rows() {
        let n = per.min(batch.num_rows() - at);
        w.write(&batch.slice(at, n)).unwrap();
        at += n;
    }
    w.finish().unwrap();
}

const QUERIES: &[&[&str]] = &[
    &["--agg", "count,count:n,sum:n,mean:n,min:n,max:n,var:n,std_pop:n,median:n,p90:n,distinct:n,null_count:n"],
    &["--agg", "sum:x,mean:x,min:x,max:x,var:x,std:x,p99.9:x,distinct:x,null_count:x,count:x"],
    &["--agg", "count:t,min:t,max:t,distinct:t,null_count:t,min:late_text,max:late_text,distinct:late_text"],
    &["--agg", "count,sum:empty,min:empty,distinct:empty,null_count:empty,median:empty"],
    &["--by", "k", "--agg", "count,sum:n,mean:x,max:t,distinct:late_text"],
    &["--by", "k,t", "--agg", "count,min:x"],
    &["--by", "late_text", "--agg", "count,sum:x"],
    &["--by", "x", "--agg", "count"],
    &["--by", "n", "--agg", "count,max:id"],
];

fn args(parts: &[&str], extra: &[String]) -> Vec<String> {
    let mut v: Vec<String> = vec!["run".into()];
    v.extend(parts.iter().map(|s| s.to_string()));
    v.extend(extra.iter().cloned());
    v.extend(["--format".into(), "csv".into()]);
    v
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    csv: PathBuf,
}

fn fixture(rows: usize, seed: u64) -> (Fixture, Vec<Vec<Cell>>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let data = generate(rows, seed);
    let csv = root.join("data.csv");
    write_csv(&csv, &data);
    (
        Fixture {
            _dir: dir,
            root,
            csv,
        },
        data,
    )
}

#[test]
fn csv_store_parquet_and_ipc_agree_byte_for_byte() {
    let (fx, data) = fixture(9_000, 7);
    let parquet = fx.root.join("data.parquet");
    write_parquet(&parquet, &data, 1_000);
    // detection is by content: a Parquet file named .csv is still Parquet
    let disguised = fx.root.join("parquet-really.csv");
    fs::copy(&parquet, &disguised).unwrap();
    let ipc = fx.root.join("data.arrow");
    write_ipc(&ipc, &data, 2_500);

    let stores: Vec<(u32, PathBuf)> = [1u32, 3, 7]
        .iter()
        .map(|&p| {
            let store = fx.root.join(format!("store{p}"));
            ok([
                "split",
                "--input",
                &s(&fx.csv),
                "--store",
                &s(&store),
                "--partitions",
                &p.to_string(),
                "--quiet",
            ]);
            (p, store)
        })
        .collect();

    for q in QUERIES {
        let reference = ok(args(q, &["--input".into(), s(&fx.csv)]));
        assert!(reference.lines().count() >= 2, "{reference}");
        for p in [2u32, 5] {
            let csv = ok(args(
                q,
                &["--input".into(), s(&fx.csv), "-p".into(), p.to_string()],
            ));
            assert_eq!(csv, reference, "CSV at {p} partitions, {q:?}");
        }
        for (p, store) in &stores {
            for threads in ["1", "3"] {
                let got = ok(args(
                    q,
                    &["--store".into(), s(store), "-t".into(), threads.into()],
                ));
                assert_eq!(
                    got, reference,
                    "store of {p} partitions, {threads} threads, {q:?}"
                );
            }
        }
        for input in [&parquet, &disguised, &ipc] {
            for p in ["1", "4", "100"] {
                let got = ok(args(
                    q,
                    &["--input".into(), s(input), "-p".into(), p.into()],
                ));
                assert_eq!(
                    got,
                    reference,
                    "{} at {p} partitions, {q:?}",
                    input.display()
                );
            }
        }
    }
}

#[test]
fn numeric_aggregate_over_text_fails_like_csv() {
    let (fx, _) = fixture(3_000, 11);
    let store = fx.root.join("st");
    ok([
        "split",
        "-i",
        &s(&fx.csv),
        "--store",
        &s(&store),
        "-p",
        "4",
        "-q",
    ]);
    let from_csv = fails(
        ["run", "-i", &s(&fx.csv), "--agg", "sum:late_text"],
        "sum needs numbers",
    );
    let from_store = fails(
        ["run", "--store", &s(&store), "--agg", "sum:late_text"],
        "sum needs numbers",
    );
    // (the CSV's names `--null`, which a store takes only at its split)
    let hint = " (if it marks a missing value, `--null n/a` reads it as null)";
    assert_eq!(
        from_store,
        from_csv.replace(hint, ""),
        "same FILE:LINE: message"
    );
    assert!(from_csv.contains(hint), "{from_csv}");
    // the last record, on a later physical line than 3001 (quoted newlines)
    assert!(
        from_csv.contains(": column 'late_text': sum needs numbers, found \"n/a\""),
        "{from_csv}"
    );
    let parquet = fx.root.join("d.parquet");
    write_parquet(&parquet, &generate(3_000, 11), 500);
    fails(
        ["run", "-i", &s(&parquet), "--agg", "mean:late_text"],
        "d.parquet: row 3000: column 'late_text': mean needs numbers, found \"n/a\"",
    );
}

/// `--no-header` with `--store` was silently ignored, where `--delimiter`
/// and `--partitions` are refused: it is refused too (exit 2).
#[test]
fn no_header_does_not_apply_to_a_store() {
    let (fx, _) = fixture(100, 1);
    let store = split_store(&fx, "st", "1");
    let out = rayproc([
        "run",
        "--store",
        &s(&store),
        "--no-header",
        "--agg",
        "count",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--no-header does not apply to --store"),
        "{}",
        out.stderr
    );
}

/// `--allow-stale` and `--no-verify` say "With --store:", and were taken
/// without it, doing nothing: refused (exit 2), as `--partitions` is with
/// `--store`.
#[test]
fn store_only_flags_are_refused_without_a_store() {
    let (fx, _) = fixture(100, 1);
    let input = s(&fx.csv);
    for command in ["run", "map"] {
        for (flag, why) in [
            ("--allow-stale", "it reads a store whose sources changed"),
            ("--no-verify", "it skips the checksums of a store's files"),
        ] {
            let mut args = vec![command, "-i", &input, "--agg", "count", flag];
            if command == "map" {
                args.extend(["--part", "0/1", "--emit-partial", "-"]);
            }
            let out = rayproc(&args);
            assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
            let want = format!("rayproc: error: {flag} applies to --store only: {why}\n");
            assert_eq!(out.stderr, want, "{args:?}");
            assert!(out.stdout.is_empty());
        }
    }
}

fn split_store(fx: &Fixture, name: &str, parts: &str) -> PathBuf {
    let store = fx.root.join(name);
    ok([
        "split",
        "-i",
        &s(&fx.csv),
        "--store",
        &s(&store),
        "-p",
        parts,
        "-q",
    ]);
    store
}

/// Where column `name`'s buffers (and the record batches' bodies) lie in
/// a partition file, as the store's reader finds them.
fn layout_of(bytes: &[u8], name: &str) -> (rayproc::store::verify::Layout, usize) {
    let ipc = rayproc::source::ipc::IpcFile::from_bytes(bytes, "part", None).unwrap();
    let mut layout = rayproc::store::verify::Layout::read_bodies(bytes, ipc.blocks()).unwrap();
    layout
        .read_buffers(bytes, ipc.blocks(), &ipc.schema)
        .unwrap();
    let c = ipc.schema.index_of(name).unwrap();
    (layout, c)
}

#[test]
fn a_flipped_byte_is_caught_by_the_checksum() {
    let (fx, _) = fixture(5_000, 3);
    let store = split_store(&fx, "st", "3");
    let part = store_generation(&store).join("part-00001.arrow");
    let sum_x = ok(["run", "--store", &s(&store), "--agg", "sum:x,count"]);
    let mut bytes = fs::read(&part).unwrap();
    // a byte in the middle of column n's values (its last buffer)
    let (layout, n) = layout_of(&bytes, "n");
    let values = layout.columns[n].last().unwrap().clone();
    bytes[values.start + values.len() / 2] ^= 0x10;
    fs::write(&part, &bytes).unwrap();
    let err = fails(
        ["run", "--store", &s(&store), "--agg", "sum:n,count"],
        "checksum mismatch in column 'n'",
    );
    assert!(err.contains("part-00001.arrow"), "{err}");
    fails(
        ["run", "--store", &s(&store), "--by", "n", "--agg", "count"],
        "checksum mismatch",
    );
    // a query that does not read n never sees the damage: its answer is whole
    assert_eq!(
        ok(["run", "--store", &s(&store), "--agg", "sum:x,count"]),
        sum_x
    );
    let out = rayproc(["inspect", &s(&store), "--verify"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("BAD"), "{}", out.stdout);
    assert!(out.stderr.contains("1 partition file(s)"), "{}", out.stderr);
}

#[test]
fn a_flipped_byte_in_the_frame_fails_every_query() {
    let (fx, _) = fixture(5_000, 13);
    let store = split_store(&fx, "st", "2");
    let part = store_generation(&store).join("part-00000.arrow");
    let mut bytes = fs::read(&part).unwrap();
    // a byte of the first record batch's metadata, just before its body
    let (layout, _) = layout_of(&bytes, "n");
    bytes[layout.bodies[0].start - 9] ^= 0x01;
    fs::write(&part, &bytes).unwrap();
    for agg in ["count", "sum:n", "max:t"] {
        let err = fails(
            ["run", "--store", &s(&store), "--agg", agg],
            "checksum mismatch in the file's frame",
        );
        assert!(err.contains("part-00000.arrow"), "{err}");
    }
}

#[test]
fn a_version_2_store_is_refused_not_read_unverified() {
    let (fx, _) = fixture(100, 14);
    let store = split_store(&fx, "st", "1");
    // as version 2 wrote it: no per-column checksums, its own checksum right
    set_store_version(&store, 2);
    let err = fails(
        ["run", "--store", &s(&store), "--agg", "count"],
        "store format version 2 was made by an older rayproc",
    );
    assert!(
        err.contains("re-create the store with `rayproc split`"),
        "{err}"
    );
}

#[test]
fn a_truncated_partition_is_refused() {
    let (fx, _) = fixture(5_000, 4);
    let store = split_store(&fx, "st", "2");
    let part = store_generation(&store).join("part-00000.arrow");
    let bytes = fs::read(&part).unwrap();
    fs::write(&part, &bytes[..bytes.len() - 100]).unwrap();
    let err = fails(
        ["run", "--store", &s(&store), "--agg", "count"],
        "truncated or replaced",
    );
    assert!(err.contains("part-00000.arrow"), "{err}");
    // even without the checksum, a short file is never read
    fails(
        [
            "run",
            "--store",
            &s(&store),
            "--agg",
            "count",
            "--no-verify",
        ],
        "truncated or replaced",
    );
}

#[test]
fn a_missing_partition_is_refused() {
    let (fx, _) = fixture(2_000, 5);
    let store = split_store(&fx, "st", "3");
    fs::remove_file(store_generation(&store).join("part-00002.arrow")).unwrap();
    let err = fails(
        ["run", "--store", &s(&store), "--agg", "count"],
        "cannot open",
    );
    assert!(err.contains("part-00002.arrow"), "{err}");
}

/// `--input STORE` used to read the store's folder as a dataset: its
/// pointer file `current` sniffed as CSV beside the Arrow partitions (an
/// error about mixing inputs), and every generation on disk read at once.
/// Naming a generation's folder read its manifest as CSV.
#[test]
fn a_store_named_as_input_points_to_store() {
    let (fx, _) = fixture(500, 6);
    let store = split_store(&fx, "st", "2");
    let err = fails(
        ["run", "--input", &s(&store), "--agg", "count"],
        "is a rayproc store",
    );
    assert!(err.contains(&format!("--store {}", s(&store))), "{err}");
    // a generation's folder and its files too: the folder holds the
    // manifest beside the partitions, and a pattern over the generations
    // would count the same rows twice
    let generation = s(&store_generation(&store));
    for arg in [generation.clone(), format!("{generation}/part-00000.arrow")] {
        fails(
            ["run", "--input", &arg, "--agg", "count"],
            "is a rayproc store",
        );
    }
    // copied out of the store, a partition is an Arrow file like any other
    let copy = fx.root.join("part.arrow");
    fs::copy(format!("{generation}/part-00000.arrow"), &copy).unwrap();
    ok(["run", "--input", &s(&copy), "--agg", "count,sum:n"]);
}

/// Whether `--input` refused a store's file hung on how its path was
/// spelled: typed inside the generation folder (`part-00000.arrow`, `.`)
/// or through a link, a partition was read as a plain Arrow file (the
/// store's own columns as data, no checks), and the generation's folder
/// read as data failed on mixing CSV and Arrow without naming the store.
#[test]
fn a_store_file_is_refused_however_its_path_is_spelled() {
    let (fx, _) = fixture(300, 7);
    let store = split_store(&fx, "st", "2");
    let generation = store_generation(&store);
    let run_in = |dir: &Path, input: &str| {
        let out = crate::common::rayproc()
            .current_dir(dir)
            .args(["run", "--input", input, "--agg", "count"])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{input} in {dir:?}: {stderr}");
        assert!(
            stderr.contains("is a rayproc store") && stderr.contains("--store"),
            "{input} in {dir:?}: {stderr}"
        );
    };
    run_in(&generation, "part-00000.arrow");
    run_in(&generation, ".");
    run_in(&generation, "manifest.json");
    run_in(&generation, "*.arrow");
    run_in(&store, "current");
    run_in(&store, "gen-000001/part-00000.arrow");
    run_in(&generation.join(".."), "gen-000001");
    // links to a partition, to a generation and to the store
    let links = fx.root.join("links");
    fs::create_dir(&links).unwrap();
    std::os::unix::fs::symlink(generation.join("part-00000.arrow"), links.join("p.arrow")).unwrap();
    std::os::unix::fs::symlink(&generation, links.join("g")).unwrap();
    std::os::unix::fs::symlink(&store, links.join("s")).unwrap();
    for input in ["p.arrow", "g", "s", "g/part-00000.arrow"] {
        run_in(&links, input);
    }
    run_in(&fx.root, "links");
}

/// A source without a byte at the split is a source too: filled since, it
/// makes the store stale. It was left out of the manifest, and the store
/// went on answering as if the file were still empty.
#[test]
fn an_empty_source_filled_since_makes_the_store_stale() {
    let scratch = crate::common::Scratch::new();
    let empty = scratch.write("a.csv", "");
    let other = scratch.write("b.csv", "x\n1\n");
    let store = scratch.path("st");
    ok([
        "split",
        "-i",
        &s(&empty),
        "-i",
        &s(&other),
        "--store",
        &s(&store),
        "-q",
    ]);
    assert!(ok(["inspect", &s(&store)]).contains("a.csv"));
    fs::write(&empty, "x\n41\n").unwrap();
    let err = fails(
        ["run", "--store", &s(&store), "--agg", "count,sum:x"],
        "is stale",
    );
    assert!(err.contains("a.csv"), "{err}");
}

#[test]
fn an_edited_source_makes_the_store_stale() {
    let (fx, _) = fixture(2_000, 6);
    let store = split_store(&fx, "st", "2");
    let before = ok(["run", "--store", &s(&store), "--agg", "count"]);
    let mut text = fs::read_to_string(&fx.csv).unwrap();
    text.push_str("9999,1,1.5,z,k1,,7\n");
    fs::write(&fx.csv, text).unwrap();
    let err = fails(["run", "--store", &s(&store), "--agg", "count"], "is stale");
    assert!(
        err.contains("data.csv") && err.contains("--allow-stale"),
        "{err}"
    );
    let stale = ok([
        "run",
        "--store",
        &s(&store),
        "--agg",
        "count",
        "--allow-stale",
    ]);
    assert_eq!(
        stale, before,
        "the store still answers for the data it holds"
    );
    let shown = ok(["inspect", &s(&store)]);
    assert!(shown.contains("CHANGED since the split"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(["inspect", &s(&store), "--format", "json"])).unwrap();
    assert_eq!(json["changed_sources"][0]["path"], s(&fx.csv));
}

/// A source named through a symbolic link is checked through the link: a
/// link pointed at another file since the split makes the store stale, as
/// any other change of the file the user named. The manifest recorded the
/// resolved path of the link's target at the split, so `latest.csv`
/// pointed at next month's file was never seen to change, and the store
/// answered for the old month with exit 0.
#[cfg(unix)]
#[test]
fn a_source_link_pointed_elsewhere_makes_the_store_stale() {
    let scratch = crate::common::Scratch::new();
    scratch.write("jan.csv", "v\n1\n");
    scratch.write("feb.csv", "v\n100\n200\n");
    let link = scratch.path("latest.csv");
    std::os::unix::fs::symlink("jan.csv", &link).unwrap();
    let store = scratch.path("st");
    ok(["split", "-i", &s(&link), "--store", &s(&store), "-q"]);
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:v"];
    assert_eq!(ok(count), "count,sum_v\n1,1\n");
    assert_eq!(changed_sources(&store), serde_json::json!([]));

    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("feb.csv", &link).unwrap();
    let err = fails(count, "is stale");
    assert!(
        err.contains(&format!("its source {} changed since the split", s(&link))),
        "{err}"
    );
    let stale = [&count[..], &["--allow-stale"]].concat();
    assert_eq!(ok(stale), "count,sum_v\n1,1\n", "the data it holds");
    let changed = changed_sources(&store);
    assert_eq!(changed[0]["path"], s(&link), "{changed}");
    assert_eq!(changed[0]["kind"], "source", "{changed}");
    assert!(ok(["inspect", &s(&store)]).contains("CHANGED since the split"));

    // pointed back, the store is fresh again: it holds that file's data
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("jan.csv", &link).unwrap();
    assert_eq!(ok(count), "count,sum_v\n1,1\n");
}

/// `split` run in `dir` (so that its `--input`s may be relative).
fn split_in(dir: &Path, args: &[&str]) {
    let out = crate::common::rayproc()
        .current_dir(dir)
        .arg("split")
        .args(args)
        .arg("-q")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `inspect --format json`'s `changed_sources`.
fn changed_sources(store: &Path) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&ok(["inspect", &s(store), "--format", "json"])).unwrap();
    json["changed_sources"].clone()
}

/// A file added to a folder given to `split` makes the store stale: the
/// folder is expanded again by every run (from any working directory) and
/// what it finds compared with the sources. It was not: the store stayed
/// fresh and answered for the old files only. Files a dataset walk skips
/// (`_SUCCESS`, hidden ones) change nothing.
#[test]
fn a_file_added_to_a_split_folder_makes_the_store_stale() {
    let scratch = crate::common::Scratch::new();
    fs::create_dir_all(scratch.path("d/sub")).unwrap();
    scratch.write("d/one.csv", "a,b\n1,2\n");
    scratch.write("d/sub/two.csv", "a,b\n3,4\n");
    let root = scratch.dir.path();
    split_in(root, &["--input", "d", "--store", "st"]);
    let store = scratch.path("st");
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:a"];
    let before = ok(count);
    assert_eq!(before, "count,sum_a\n2,4\n");
    scratch.write("d/_SUCCESS", "");
    scratch.write("d/.one.csv.crc", "x");
    assert_eq!(ok(count), before, "an unchanged folder stays fresh");
    assert_eq!(changed_sources(&store), serde_json::json!([]));

    scratch.write("d/sub/three.csv", "a,b\n5,6\n");
    let err = fails(count, "is stale");
    assert!(
        err.contains("d/sub/three.csv was added to folder d"),
        "{err}"
    );
    let stale = ok([
        "run",
        "--store",
        &s(&store),
        "--agg",
        "count,sum:a",
        "--allow-stale",
    ]);
    assert_eq!(stale, before, "the store answers for the files it holds");
    let changed = changed_sources(&store);
    assert_eq!(changed[0]["path"], "d/sub/three.csv", "{changed}");
    assert_eq!(changed[0]["kind"], "added", "{changed}");
    assert!(ok(["inspect", &s(&store)]).contains("d/sub/three.csv  NOT IN THE STORE"));

    // the folder gone is a change of its own, beside its sources
    fs::remove_dir_all(scratch.path("d")).unwrap();
    let changed = changed_sources(&store);
    let inputs: Vec<&serde_json::Value> = (changed.as_array().unwrap().iter())
        .filter(|c| c["kind"] == "input")
        .collect();
    assert_eq!(inputs.len(), 1, "{changed}");
    assert_eq!(inputs[0]["path"], "d", "{changed}");
}

/// The same for a glob pattern: a file that matches it since the split
/// makes the store stale; one that does not match changes nothing.
#[test]
fn a_file_newly_matching_a_split_pattern_makes_the_store_stale() {
    let scratch = crate::common::Scratch::new();
    fs::create_dir_all(scratch.path("logs/2026")).unwrap();
    scratch.write("logs/2026/a.csv", "a\n1\n");
    scratch.write("logs/2026/notes.txt", "a\nx\n");
    split_in(
        scratch.dir.path(),
        &["--input", "logs/*/*.csv", "--store", "st"],
    );
    let store = scratch.path("st");
    let count = ["run", "--store", &s(&store), "--agg", "count"];
    assert_eq!(ok(count), "count\n1\n");
    scratch.write("logs/2026/b.txt", "a\n2\n");
    fs::create_dir_all(scratch.path("logs/2027")).unwrap();
    scratch.write("logs/2027.csv", "a\n2\n");
    assert_eq!(ok(count), "count\n1\n", "no new match: still fresh");

    scratch.write("logs/2027/b.csv", "a\n2\n");
    let err = fails(count, "is stale");
    assert!(
        err.contains("logs/2027/b.csv was added") && err.contains("pattern logs/*/*.csv"),
        "{err}"
    );
    let stale = [
        "run",
        "--store",
        &s(&store),
        "--agg",
        "count",
        "--allow-stale",
    ];
    assert_eq!(ok(stale), "count\n1\n");
    let changed = changed_sources(&store);
    assert_eq!(changed[0]["path"], "logs/2027/b.csv", "{changed}");
}

/// The sources `store`'s manifest records.
fn sources(store: &Path) -> Vec<rayproc::store::manifest::SourceInfo> {
    let path = store_generation(store).join("manifest.json");
    let m = rayproc::store::manifest::Manifest::parse(&fs::read(&path).unwrap(), &path).unwrap();
    m.sources
}

/// A compressed source is a file like any other: replaced since the split,
/// it makes the store stale, by name. It was recorded like standard input
/// (no path, never checked), and the store went on answering for the old
/// data. Its record is of the file on disk, the compressed bytes, so that
/// a check decompresses nothing and reads only the file's ends; standard
/// input, compressed or not, stays unrecorded.
#[test]
fn a_replaced_compressed_source_makes_the_store_stale() {
    use rayproc::store::manifest::fingerprint;
    let scratch = crate::common::Scratch::new();
    // named for their format, and gzip under a plain name (told by its
    // magic bytes)
    type Pack = fn(&[u8]) -> Vec<u8>;
    let packs: [(&str, Pack); 3] = [
        ("x.csv.gz", gzip),
        ("x.csv.zst", zstd),
        ("packed.csv", gzip),
    ];
    for (name, pack) in packs {
        let file = scratch.write(name, pack(b"a\n1\n"));
        let store = scratch.path(&format!("{name}.store"));
        ok(["split", "-i", &s(&file), "--store", &s(&store), "-q"]);
        let count = ["run", "--store", &s(&store), "--agg", "count"];
        assert_eq!(ok(count), "count\n1\n");
        let source = &sources(&store)[0];
        let size = fs::metadata(&file).unwrap().len();
        assert_eq!(source.size, size, "{name}: the size on disk");
        let absolute = s(&fs::canonicalize(&file).unwrap());
        assert_eq!(source.absolute_path.as_deref(), Some(absolute.as_str()));
        let mut on_disk = fs::File::open(&file).unwrap();
        assert_eq!(source.fingerprint, fingerprint(&mut on_disk, size).unwrap());

        fs::write(&file, pack(b"a\n1\n2\n")).unwrap();
        let err = fails(count, "is stale");
        assert!(
            err.contains(&format!("its source {}", s(&file))) && err.contains("--allow-stale"),
            "{err}"
        );
        let stale = [&count[..], &["--allow-stale"]].concat();
        assert_eq!(
            ok(stale),
            "count\n1\n",
            "the store answers for what it holds"
        );
    }

    // found by a folder
    fs::create_dir_all(scratch.path("d")).unwrap();
    scratch.write("d/a.csv.gz", gzip(b"a\n1\n"));
    scratch.write("d/b.csv", "a\n2\n");
    split_in(scratch.dir.path(), &["--input", "d", "--store", "st"]);
    let store = scratch.path("st");
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:a"];
    assert_eq!(ok(count), "count,sum_a\n2,3\n");
    scratch.write("d/a.csv.gz", gzip(b"a\n1\n4\n"));
    let err = fails(count, "is stale");
    assert!(err.contains("its source d/a.csv.gz changed"), "{err}");
    let changed = changed_sources(&store);
    assert_eq!(changed[0]["path"], "d/a.csv.gz", "{changed}");
    assert_eq!(changed[0]["kind"], "source", "{changed}");

    // standard input cannot be read again: recorded, never checked
    let stdin = scratch.path("stdin.store");
    let out = crate::common::rayproc()
        .args(["split", "-i", "-", "--store", &s(&stdin), "-q"])
        .write_stdin(gzip(b"a\n1\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let source = &sources(&stdin)[0];
    assert_eq!(
        (source.path.as_str(), source.absolute_path.as_deref()),
        ("<stdin>", None)
    );
    assert!(ok(["inspect", &s(&stdin)]).contains("standard input, cannot be re-checked"));
}

/// Every file below `dir`, as paths relative to it, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                todo.push(path);
            }
            out.push(rel);
        }
    }
    out.sort();
    out
}

/// `split` refuses to write a store where one of its own `--input`s, a
/// folder or a pattern, would find it, naming both, before it writes
/// anything: every run expands such an input again, would find the store
/// there (which an expansion refuses to read as data), and called the
/// store stale from its first run on; the next split of it failed too.
/// A Hive folder is read with every folder below it like any other, so a
/// store named like a partition (`h/k=2`) is refused the same way. A store
/// in a folder a folder read skips (`_`, `.`), or beside the files a
/// pattern finds, is fine, and fresh.
#[test]
fn split_refuses_a_store_its_own_inputs_would_find() {
    let scratch = crate::common::Scratch::new();
    let root = scratch.dir.path();
    fs::create_dir_all(scratch.path("d/sub")).unwrap();
    fs::create_dir_all(scratch.path("h/k=1")).unwrap();
    scratch.write("d/a.csv", "a\n1\n");
    scratch.write("d/sub/b.csv", "a\n2\n");
    scratch.write("h/k=1/a.csv", "a\n1\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(scratch.path("d"), scratch.path("link")).unwrap();
    let split = |input: &str, store: &str| {
        let out = crate::common::rayproc()
            .current_dir(root)
            .args(["split", "-q", "--input", input, "--store", store])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut refused = vec![
        ("d", "d/s", "is inside the folder d given to --input"),
        ("d", "d/sub/s", "is inside the folder d given to --input"),
        ("d", "d", "is the folder d given to --input"),
        ("h", "h/k=2", "is inside the folder h given to --input"),
        (
            "d/**/*",
            "d/s",
            "is where the pattern d/**/* given to --input",
        ),
        ("d/**", "d/s", "is where the pattern d/** given to --input"),
        (
            "d/*/*",
            "d/s",
            "is where the pattern d/*/* given to --input",
        ),
        ("d/**/*.arrow", "d/s", "is where the pattern"),
    ];
    // through links: to the folder, and from inside it to a store elsewhere
    #[cfg(unix)]
    {
        fs::create_dir(scratch.path("elsewhere")).unwrap();
        std::os::unix::fs::symlink(scratch.path("elsewhere"), scratch.path("d/sub/out")).unwrap();
        refused.push(("d", "link/s", "is inside the folder d given to --input"));
        refused.push(("d", "d/sub/out", "is inside the folder d given to --input"));
    }
    let before = files_below(root);
    for (input, store, why) in refused {
        let (code, err) = split(input, store);
        assert_eq!(code, Some(2), "{input} into {store}: {err}");
        assert!(
            err.contains(&format!("--store {store} {why}")),
            "{input} into {store}: {err}"
        );
        assert_eq!(
            files_below(root),
            before,
            "{input} into {store}: nothing written"
        );
    }
    for (input, store, count) in [
        ("d/**/*.csv", "d/s", 2),
        ("d/*", "d/s", 1),
        ("d", "d/_s", 2),
        ("d", "d/.s", 2),
        ("d", "d/sub/_s", 2),
    ] {
        let (code, err) = split(input, store);
        assert_eq!(code, Some(0), "{input} into {store}: {err}");
        let store = root.join(store);
        let run = ["run", "--store", &s(&store), "--agg", "count"];
        assert_eq!(
            ok(run),
            format!("count\n{count}\n"),
            "{input} into {store:?}"
        );
        fs::remove_dir_all(&store).unwrap();
    }
}

/// A store made before the folders and patterns were recorded (their
/// fields absent) is read as before: nothing to expand again, so a file
/// added to its folder goes unseen, as it did.
#[test]
fn a_store_without_recorded_inputs_is_read_as_before() {
    use rayproc::store::manifest::Manifest;
    let scratch = crate::common::Scratch::new();
    fs::create_dir_all(scratch.path("d")).unwrap();
    scratch.write("d/one.csv", "a\n1\n");
    split_in(scratch.dir.path(), &["--input", "d", "--store", "st"]);
    let store = scratch.path("st");
    let path = store_generation(&store).join("manifest.json");
    let mut m = Manifest::parse(&fs::read(&path).unwrap(), &path).unwrap();
    assert_eq!(m.inputs.len(), 1);
    assert_eq!(m.sources[0].input, Some(0));
    m.inputs.clear();
    m.sources[0].input = None;
    let text = m.to_text();
    assert!(!text.contains("\"input"), "{text}");
    fs::write(&path, text).unwrap();
    scratch.write("d/two.csv", "a\n2\n");
    assert_eq!(
        ok(["run", "--store", &s(&store), "--agg", "count"]),
        "count\n1\n"
    );
}

#[test]
fn an_unknown_manifest_version_is_refused() {
    let (fx, _) = fixture(100, 8);
    let store = split_store(&fx, "st", "1");
    let path = store_generation(&store).join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    m["version"] = 99.into();
    fs::write(&path, m.to_string()).unwrap();
    let err = fails(
        ["run", "--store", &s(&store), "--agg", "count"],
        "version 99",
    );
    assert!(err.contains("manifest.json"), "{err}");
    fails(["inspect", &s(&store)], "version 99");
    fs::write(&path, "{ not json").unwrap();
    fails(
        ["run", "--store", &s(&store), "--agg", "count"],
        "not valid JSON",
    );
    fails(
        [
            "run",
            "--store",
            &s(&fx.root.join("nowhere")),
            "--agg",
            "count",
        ],
        "no such store",
    );
}

#[test]
fn split_reports_data_errors_like_run_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    fs::write(&csv, "a,b\n1,2\n3\n").unwrap();
    let store = dir.path().join("st");
    let from_run = fails(["run", "-i", &s(&csv), "--agg", "count"], "bad.csv:3:");
    let from_split = fails(
        ["split", "-i", &s(&csv), "--store", &s(&store)],
        "bad.csv:3:",
    );
    assert_eq!(from_split, from_run);
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "only the CSV: no store, no temporary directory"
    );
}

/// `rayproc split` with `args`, started with the binary's test hook
/// `RAYPROC_TEST_PAUSE=POINT:FLAG` (`map`: an input was just mapped,
/// before its header is read; `split.read`: every byte of the store is
/// read and written, and it is not yet committed); returns once it waits
/// there, its FLAG created. Removing FLAG lets it go on ([`resume`]).
fn split_paused(
    scratch: &crate::common::Scratch,
    point: &str,
    args: &[&str],
) -> (std::process::Child, PathBuf) {
    let mut all = vec![std::ffi::OsStr::new("split")];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    crate::faults::output::spawn_paused(scratch, point, &all)
}

/// Lets the split paused by [`split_paused`] go on, and what it gave.
fn resume(child: std::process::Child, flag: &Path) -> Out {
    fs::remove_file(flag).unwrap();
    let out = child.wait_with_output().expect("split ends");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts that `out`, a split of `source`, failed with exit 1 because
/// the source changed while it was being split, for `why`.
#[track_caller]
fn expect_changed_while_split(out: &Out, source: &Path, why: &str) {
    assert_eq!(
        out.code,
        1,
        "a split of {} that changed under it must fail: {}{}",
        s(source),
        out.stdout,
        out.stderr
    );
    let want = format!(
        "rayproc: error: {} changed while it was being split (",
        s(source)
    );
    assert!(
        out.stderr.starts_with(&want) && out.stderr.contains(why),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("run `rayproc split` again"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

/// Every file below `dir` with its bytes: a store as it is on disk.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    (files_below(dir).into_iter())
        .map(|rel| {
            let bytes = fs::read(dir.join(&rel)).unwrap_or_default();
            (rel, bytes)
        })
        .collect()
}

/// A source that changes while `split` reads it fails the split, naming
/// it, and leaves no store. The source was fingerprinted once its data had
/// been read, so the store recorded the new file over data of the old one
/// (or of part of the new), and `run --store` answered from that data with
/// exit 0, calling the store fresh. Here the file is changed after it was
/// mapped and before its header is read: replaced by another (a rename
/// over it), and rewritten in place, longer (the map still covers the old
/// length: the split read the old rows of the new text).
#[test]
fn a_source_changed_while_split_reads_it_fails_the_split() {
    let scratch = crate::common::Scratch::new();
    let old = "k,x\na,1\nb,2\nc,3\n";
    let data = scratch.write("data.csv", old);
    let store = scratch.path("st");
    let split = ["-i", &s(&data), "--store", &s(&store), "-q"];

    let (child, flag) = split_paused(&scratch, "map", &split);
    let new = scratch.write("new.csv", "k,x\na,10\nb,20\n");
    fs::rename(&new, &data).unwrap();
    expect_changed_while_split(&resume(child, &flag), &data, "size is now 14 bytes, was 16");
    assert!(!store.exists(), "no store: {:?}", scratch.listing());
    assert_eq!(scratch.listing(), ["data.csv"]);

    fs::write(&data, old).unwrap();
    let (child, flag) = split_paused(&scratch, "map", &split);
    fs::write(&data, format!("{old}d,4\n")).unwrap();
    expect_changed_while_split(&resume(child, &flag), &data, "size is now 20 bytes, was 16");
    assert_eq!(scratch.listing(), ["data.csv"], "no store");

    // unchanged, the same split succeeds, and its store is fresh
    fs::write(&data, old).unwrap();
    let (child, flag) = split_paused(&scratch, "split.read", &split);
    let out = resume(child, &flag);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:x"];
    assert_eq!(ok(count), "count,sum_x\n3,6\n");
}

/// While a first split of a store is writing it, a query of the store is
/// told that a split is creating it (it said "not a rayproc store"), and a
/// second split says that it waits for the first (it waited in silence,
/// as if hung); then it writes the store again.
#[test]
fn a_store_being_created_is_said_to_be_and_a_second_split_says_it_waits() {
    let scratch = crate::common::Scratch::new();
    let data = scratch.write("data.csv", "k,x\na,1\nb,2\n");
    let store = scratch.path("st");
    let split = ["-i", &s(&data), "--store", &s(&store)];
    let (first, flag) = split_paused(&scratch, "split.read", &split);
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:x"];
    let out = rayproc(count);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "rayproc: error: {}: a split is creating this store and has not finished: run again \
             once it has\n",
            s(&store)
        )
    );
    let (mut second, mut stderr) = second_split_waiting(&split, &store);
    let out = resume(first, &flag);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(!rest.contains("error"), "{rest}");
    assert!(second.wait().unwrap().success(), "the second split");
    assert_eq!(ok(count), "count,sum_x\n2,3\n");
}

/// Starts a split with the arguments `split` while another split of
/// `store` holds its lock, and returns it once it has said that it waits,
/// with the rest of its stderr. Within 60 s: a build that says nothing
/// fails the test here instead of hanging it.
fn second_split_waiting(
    split: &[&str],
    store: &Path,
) -> (std::process::Child, std::process::ChildStderr) {
    let mut second = std::process::Command::new(crate::common::bin_path())
        .arg("split")
        .args(split)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = second.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // the split writes nothing more until the other one ends
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut reader, &mut line);
        let _ = tx.send((line, reader.into_inner()));
    });
    let Ok((line, stderr)) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
        let _ = second.kill();
        panic!("the second split said nothing in 60 s");
    };
    let note = format!(
        "rayproc: note: waiting for another split of {} to finish\n",
        s(store)
    );
    assert_eq!(line, note);
    (second, stderr)
}

/// A split waiting for a first split of the same new store, which is then
/// interrupted (and removes the folder it made), makes the store itself:
/// it failed ("cannot list the directory (No such file or directory)")
/// once the interrupted split took its folder away.
#[test]
fn a_split_waiting_for_an_interrupted_first_split_makes_the_store() {
    use std::os::unix::process::ExitStatusExt;
    let scratch = crate::common::Scratch::new();
    let data = scratch.write("data.csv", "k,x\na,1\nb,2\n");
    let store = scratch.path("st");
    let split = ["-i", &s(&data), "--store", &s(&store)];
    let (first, flag) = split_paused(&scratch, "split.read", &split);
    let (mut second, mut stderr) = second_split_waiting(&split, &store);
    // SAFETY: signals our own child, whose pid is alive (not reaped).
    unsafe { libc::kill(first.id() as libc::pid_t, libc::SIGINT) };
    let done = first.wait_with_output().unwrap();
    assert_eq!(done.status.signal(), Some(libc::SIGINT), "{}", done.status);
    fs::remove_file(&flag).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(second.wait().unwrap().success(), "the second split: {rest}");
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:x"];
    assert_eq!(ok(count), "count,sum_x\n2,3\n");
}

/// An interrupted first split leaves nothing: the store folder it made
/// went with the temporary directory in it (it stayed, empty, and a query
/// said it was "not a rayproc store"). An interrupted split of an existing
/// store leaves that store as it was.
#[test]
fn an_interrupted_first_split_leaves_no_store_folder() {
    use std::os::unix::process::ExitStatusExt;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let scratch = crate::common::Scratch::new();
        let data = scratch.write("data.csv", "k,x\na,1\nb,2\n");
        let store = scratch.path("st");
        let split = ["-i", &s(&data), "--store", &s(&store), "-q"];
        let (child, flag) = split_paused(&scratch, "split.read", &split);
        // SAFETY: signals our own child, whose pid is alive (not reaped).
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.signal(), Some(signal), "{}", done.status);
        fs::remove_file(&flag).unwrap();
        assert_eq!(scratch.listing(), ["data.csv"], "signal {signal}");

        ok([&["split"][..], &split].concat());
        let (child, flag) = split_paused(&scratch, "split.read", &split);
        // SAFETY: as above.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        child.wait_with_output().unwrap();
        fs::remove_file(&flag).unwrap();
        let count = ["run", "--store", &s(&store), "--agg", "count,sum:x"];
        assert_eq!(ok(count), "count,sum_x\n2,3\n", "signal {signal}");
    }
}

/// A source rewritten while `split` writes the store, to the same size and
/// with its modification time put back, so that only its fingerprint tells
/// (the bytes differ), fails the split, and the store already at `--store`
/// is left exactly as it was: its files, its answers. So does a source
/// found through a folder, or rewritten to another size. The split used to
/// record the rewritten file over the old data and replace the store.
#[test]
fn a_source_rewritten_while_split_writes_leaves_the_old_store() {
    let scratch = crate::common::Scratch::new();
    let data = scratch.write("data.csv", "k,x\na,1\nb,2\n");
    let store = scratch.path("st");
    let split = ["-i", &s(&data), "--store", &s(&store), "-q"];
    ok([&["split"][..], &split].concat());
    let count = ["run", "--store", &s(&store), "--agg", "count,sum:x"];
    assert_eq!(ok(count), "count,sum_x\n2,3\n");
    let before = snapshot(&store);

    let mtime = fs::metadata(&data).unwrap().modified().unwrap();
    let (child, flag) = split_paused(&scratch, "split.read", &split);
    fs::write(&data, "k,x\na,7\nb,9\n").unwrap();
    let file = fs::File::options().write(true).open(&data).unwrap();
    file.set_modified(mtime).unwrap();
    drop(file);
    assert_eq!(fs::metadata(&data).unwrap().modified().unwrap(), mtime);
    expect_changed_while_split(&resume(child, &flag), &data, "content differs");
    assert_eq!(snapshot(&store), before, "the old store, untouched");
    // the old store answers for the old data, and is stale now
    fails(count, "is stale");
    let stale = [&count[..], &["--allow-stale"]].concat();
    assert_eq!(ok(stale), "count,sum_x\n2,3\n");

    // found through a folder, and rewritten to another size
    fs::create_dir(scratch.path("d")).unwrap();
    scratch.write("d/one.csv", "k,x\na,1\n");
    let two = scratch.write("d/two.csv", "k,x\nb,2\n");
    let folder = ["-i", &s(&scratch.path("d")), "--store", &s(&store), "-q"];
    let (child, flag) = split_paused(&scratch, "split.read", &folder);
    fs::write(&two, "k,x\nb,2\nc,3\n").unwrap();
    expect_changed_while_split(&resume(child, &flag), &two, "size is now 12 bytes, was 8");
    assert_eq!(snapshot(&store), before, "the old store, untouched");
}

#[test]
fn split_replaces_a_store_and_keeps_other_directories() {
    let (fx, _) = fixture(1_000, 9);
    let store = split_store(&fx, "st", "4");
    assert!(store_generation(&store).join("part-00003.arrow").exists());
    let store = split_store(&fx, "st", "1");
    assert!(
        !store_generation(&store).join("part-00003.arrow").exists(),
        "old partitions gone"
    );
    let entries: Vec<String> = fs::read_dir(&fx.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(entries.iter().all(|e| !e.starts_with('.')), "{entries:?}");
    let other = fx.root.join("notastore");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("precious.txt"), "keep").unwrap();
    let out = rayproc(["split", "-i", &s(&fx.csv), "--store", &s(&other)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(other.join("precious.txt").exists());
}

/// `rayproc` run in `dir`, so that the paths it is given are relative.
fn rayproc_in(dir: &Path, args: &[&str]) -> Out {
    let out = crate::common::rayproc()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A store that cannot be written where `--store` names it is an error
/// naming that path as given, what failed and why, as an output that
/// cannot be written is: the bare OS error named another path
/// (`missing/x: No such file or directory`) or the right one without
/// saying what failed (`/proc/st: No such file or directory`). A file, or
/// a folder that is not a store, is refused (exit 2), never written over.
/// Nothing is left behind: no store directory, no temporary one.
/// A store that fills the disk (here: a file size limit, `ulimit -f`,
/// with `SIGXFSZ` ignored so that the write fails with `EFBIG`) is named
/// as the user gave it, with the reason: the split said
/// "/abs/path/st/.tmp-PID/dict-0.arrow: Io error: File too large (os error
/// 27)", a temporary file's resolved path in Arrow's words. Nothing is
/// left behind.
#[test]
fn a_store_that_cannot_be_written_to_the_end_is_named_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut csv = String::from("k,x,t\n");
    for i in 0..40_000 {
        csv.push_str(&format!("key{},{}.25,text {i}\n", i % 997, i % 1000));
    }
    fs::write(root.join("in.csv"), csv).unwrap();
    let before = files_below(root);
    // (1 KiB blocks: every file the split writes is cut at 100 KiB)
    let script = format!(
        "trap '' XFSZ; ulimit -f 100; exec '{}' split --input in.csv --store st --partitions 1",
        crate::common::bin_path().display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "rayproc: error: st: cannot write the store: File too large"
    );
    assert_eq!(files_below(root), before, "nothing is left behind");
}

#[test]
fn split_names_a_store_it_cannot_write_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("in.csv"), "a,b\n1,2\n").unwrap();
    fs::write(root.join("file.csv"), "x\n").unwrap();
    fs::create_dir(root.join("folder")).unwrap();
    fs::write(root.join("folder/notes.txt"), "keep").unwrap();
    let before = files_below(root);
    let mut cases = vec![
        (
            "missing/x/st",
            1,
            "the directory missing/x does not exist".to_string(),
        ),
        // the kernel's ENOTDIR said "cannot create a directory in
        // file.csv/x/y (Not a directory)", naming no file
        (
            "file.csv/x/y/st",
            1,
            "file.csv is a file, not a directory".to_string(),
        ),
        (
            "file.csv/st",
            1,
            "file.csv is a file, not a directory".to_string(),
        ),
        ("file.csv", 2, "it is a file, not a directory".to_string()),
        (
            "folder",
            2,
            "the directory is not a rayproc store (it holds notes.txt)".to_string(),
        ),
    ];
    if cfg!(target_os = "linux") {
        // (the reason is the kernel's: ENOENT for root, EACCES for others)
        let why = "cannot create a directory in /proc (".to_string();
        cases.insert(0, ("/proc/st", 1, why));
    }
    for (store, code, why) in cases {
        let out = rayproc_in(root, &["split", "-i", "in.csv", "--store", store]);
        assert_eq!(out.code, code, "{store}: {}", out.stderr);
        let want = format!("rayproc: error: {store}: cannot write the store: {why}");
        assert!(out.stderr.starts_with(&want), "{store}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{store}: {}", out.stderr);
        assert_eq!(files_below(root), before, "{store}: nothing left behind");
    }
}

/// A store is never written inside another store: `--store outer.s/inner`
/// (or below one of its generations) is refused with exit 2, naming the
/// outer store, and nothing is written. It was accepted, after which
/// `split --store outer.s` refused the outer store, which every run still
/// read, as "not a rayproc store (it holds inner)". A store that holds
/// such a directory (as an older rayproc left it) is refused by `split`
/// with what to move out, not called "not a rayproc store".
#[test]
fn split_refuses_a_store_inside_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("o.csv"), "a\n1\n2\n").unwrap();
    let split = |store: &str| rayproc_in(root, &["split", "-q", "-i", "o.csv", "--store", store]);
    let out = split("outer.s");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let generation = fs::read_to_string(root.join("outer.s/current")).unwrap();
    let generation = generation.trim_end();
    let before = files_below(root);
    let inside = format!("outer.s/{generation}/inner");
    for store in ["outer.s/inner", inside.as_str()] {
        let out = split(store);
        assert_eq!(out.code, 2, "{store}: {}", out.stderr);
        let want = format!(
            "rayproc: error: {store}: cannot write the store: it is inside the store outer.s, "
        );
        assert!(out.stderr.starts_with(&want), "{store}: {}", out.stderr);
        assert_eq!(files_below(root), before, "{store}: nothing written");
    }
    // the outer store is still a store that split writes over
    let out = split("outer.s");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let count = ["run", "--store", "outer.s", "--agg", "count"];
    assert_eq!(rayproc_in(root, &count).stdout, "count\n2\n");

    // a store made inside it before this was refused
    fs::create_dir(root.join("outer.s/inner")).unwrap();
    fs::write(root.join("outer.s/inner/current"), "gen-000001\n").unwrap();
    assert_eq!(rayproc_in(root, &count).stdout, "count\n2\n", "still read");
    let out = split("outer.s");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "rayproc: error: outer.s: cannot write the store: the store also holds inner, \
             which is none of a store's own entries"
        ) && out.stderr.contains("move inner out of the store")
            && !out.stderr.contains("not a rayproc store"),
        "{}",
        out.stderr
    );
}

/// A store that cannot be opened is named as given, with why in words:
/// "no such store directory (Permission denied (os error 13))" was said of
/// a directory that exists, "(Not a directory (os error 20))" named no
/// file, and a missing store repeated "No such file or directory (os
/// error 2)". Whatever the reason, no message keeps std's `(os error N)`.
#[test]
fn a_store_that_cannot_be_opened_is_named_with_the_reason_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("file.csv"), "x\n").unwrap();
    let make = "make one with `rayproc split`";
    let mut cases = vec![
        (
            "missing/st".to_string(),
            format!("missing/st: no such store directory; {make}"),
        ),
        (
            "file.csv/x/st".to_string(),
            format!("file.csv/x/st: no such store directory (file.csv is a file, not a directory); {make}"),
        ),
        (
            "file.csv".to_string(),
            "file.csv: not a store directory (it is a file); a store is a directory that \
             `rayproc split` makes"
                .to_string(),
        ),
    ];
    // (a directory that even root may not open, where there is one)
    let fdinfo = "/proc/1/fdinfo";
    let refused = fs::read_dir(fdinfo).map_err(|e| e.kind());
    if fs::metadata(fdinfo).is_ok_and(|m| m.is_dir())
        && refused.as_ref().err() == Some(&std::io::ErrorKind::PermissionDenied)
    {
        cases.push((
            fdinfo.to_string(),
            format!("{fdinfo}: cannot open the store directory (Permission denied)"),
        ));
    }
    let mut misses = Vec::new();
    for (store, want) in &cases {
        for args in [
            &["run", "--store", store, "--agg", "count"][..],
            &["inspect", store][..],
        ] {
            let out = rayproc_in(root, args);
            if out.code != 1 || out.stderr != format!("rayproc: error: {want}\n") {
                misses.push(format!("{args:?}: {}", out.stderr));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join(""));
}

/// A store folder that `split` can see but not list (or open, lock, or
/// clean of what a killed split left) is named as given, with what failed
/// in words: it said "cannot write the store: Permission denied (os error
/// 13)", or named the folder by its absolute path. (As root, only such
/// folders of `/proc` refuse a listing, where there are any.)
#[test]
fn split_names_a_store_it_cannot_list_with_the_reason_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("in.csv"), "a,b\n1,2\n").unwrap();
    let mut tried = 0;
    for store in ["/proc/1/map_files", "/proc/1/fdinfo"] {
        let listed = fs::read_dir(store).and_then(|mut d| d.next().transpose());
        let denied = listed.is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
        if !(denied && fs::metadata(store).is_ok_and(|m| m.is_dir())) {
            continue;
        }
        tried += 1;
        let out = rayproc_in(root, &["split", "-i", "in.csv", "--store", store]);
        assert_eq!(out.code, 1, "{store}: {}", out.stderr);
        let want = format!(
            "rayproc: error: {store}: cannot write the store: cannot list the directory \
             (Permission denied)\n"
        );
        assert_eq!(out.stderr, want);
    }
    if tried == 0 {
        eprintln!("no folder here refuses to be listed: nothing to check");
    }
}

/// A store is a directory, which standard input cannot be: `run --store
/// -` and `inspect -` are usage errors, as `split --store -` is, where
/// they looked for a folder named `-` and said there was no such store.
/// `./-` is that folder.
#[test]
fn a_store_cannot_come_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("in.csv"), "a,b\n1,2\n").unwrap();
    let from_stdin = "a store is a directory, it cannot come from standard input \
                      (`./-` is a directory named -)";
    for (args, named) in [
        (&["run", "--store", "-", "--agg", "count"][..], "--store"),
        (&["inspect", "-"][..], "inspect"),
        (
            &[
                "map",
                "--store",
                "-",
                "--agg",
                "count",
                "--part",
                "0/1",
                "--emit-partial",
                "-",
            ][..],
            "--store",
        ),
    ] {
        let out = rayproc_in(root, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let want = format!("rayproc: error: {named} -: {from_stdin}\n");
        assert_eq!(out.stderr, want, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    let out = rayproc_in(root, &["split", "-i", "in.csv", "--store", "-"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        (out.stderr).contains("--store -: a store is a directory, it cannot go to standard output"),
        "{}",
        out.stderr
    );
    assert_eq!(files_below(root), ["in.csv"]);
    // a folder named -
    split_in(root, &["-i", "in.csv", "--store", "./-"]);
    let count = rayproc_in(
        root,
        &["run", "--store", "./-", "--agg", "count", "-f", "csv"],
    );
    assert_eq!(
        (count.code, count.stdout.as_str()),
        (0, "count\n1\n"),
        "{}",
        count.stderr
    );
    let inspected = rayproc_in(root, &["inspect", "./-"]);
    assert_eq!(inspected.code, 0, "{}", inspected.stderr);
}

#[test]
fn split_keeps_only_the_named_columns() {
    let (fx, _) = fixture(1_000, 10);
    let store = fx.root.join("st");
    ok([
        "split",
        "-i",
        &s(&fx.csv),
        "--store",
        &s(&store),
        "--columns",
        "k,x",
        "-q",
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(["inspect", &s(&store), "--format", "json"])).unwrap();
    let names: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["k", "x"]);
    assert_eq!(json["rows"], 1000);
    assert_eq!(
        ok([
            "run",
            "--store",
            &s(&store),
            "--by",
            "k",
            "--agg",
            "mean:x",
            "-f",
            "csv"
        ]),
        ok([
            "run",
            "-i",
            &s(&fx.csv),
            "--by",
            "k",
            "--agg",
            "mean:x",
            "-f",
            "csv"
        ])
    );
    let out = rayproc(["run", "--store", &s(&store), "--agg", "sum:n"]);
    assert_eq!(out.code, 2, "unknown column in the store: {}", out.stderr);
}

/// `split --columns` over a header that repeats a name: a store keeps
/// which of its source's columns each of its columns is, so that `k#2`
/// (the second column named `k`) means that column from the store as from
/// the CSV, whichever columns were kept and in whatever order. Every query
/// answers as over the CSV, to the byte (errors too), and one that reads a
/// column the store does not hold is refused, naming it. The store named
/// its columns by their own order: with `--columns 'k#2,k#1'`, `--by k#1`
/// answered with the source's second `k`; with `--columns 'k#2'`,
/// `sum:k#2` was refused and `--by k#1` answered with `k#2`'s data. A store
/// made before the columns were recorded (version 6) refuses a column
/// named by its number, which it cannot tell from another.
#[test]
fn a_stored_column_is_the_column_its_source_numbers_so() {
    use rayproc::store::manifest::Manifest;
    let scratch = crate::common::Scratch::new();
    let csv = scratch.write("dup.csv", "k,k,v\nfoo,1,x\nbar,2,y\nfoo,3,z\n");
    let split = |name: &str, columns: &str| {
        let store = scratch.path(name);
        let (input, output) = (s(&csv), s(&store));
        let args = [
            "split",
            "-q",
            "-i",
            &input,
            "--store",
            &output,
            "--columns",
            columns,
        ];
        ok(args);
        store
    };
    let same = |store: &Path, query: &[&str]| {
        let over_csv = rayproc([&["run", "-i", &s(&csv)][..], query].concat());
        let over_store = rayproc([&["run", "--store", &s(store)][..], query].concat());
        let (want, got) = (
            (over_csv.code, over_csv.stdout, over_csv.stderr),
            (over_store.code, over_store.stdout, over_store.stderr),
        );
        assert_eq!(got, want, "{query:?} over {}", s(store));
        want.0
    };
    let both = split("both.s", "k#2,k#1");
    let second = split("second.s", "k#2");
    let two = split("two.s", "v,k#2");
    let queries: [&[&str]; 6] = [
        &["--by", "k#1", "--agg", "count"],
        &["--by", "k#2", "--agg", "count"],
        &["--agg", "sum:k#2"],
        &["--by", "k#1", "--agg", "max:k#2,min:k#1"],
        &["--agg", "count,sum:k#2", "--where", "k#1 = 'foo'"],
        &["--by", "k", "--agg", "count"],
    ];
    for query in queries {
        same(&both, query);
    }
    // the ambiguous `k` is refused as over the CSV
    assert_eq!(same(&both, queries[5]), 2);
    for store in [&second, &two] {
        assert_eq!(same(store, &["--agg", "sum:k#2"]), 0);
        assert_eq!(same(store, &["--by", "k#2", "--agg", "count"]), 0);
        assert_eq!(same(store, &["--by", "k", "--agg", "count"]), 2);
        assert_eq!(same(store, &["--agg", "sum:k#3"]), 2);
        for query in [
            &["--by", "k#1", "--agg", "count"][..],
            &["--agg", "count", "--where", "k#1 = 'foo'"],
        ] {
            let out = rayproc([&["run", "--store", &s(store)][..], query].concat());
            assert_eq!(out.code, 2, "{query:?}: {}{}", out.stdout, out.stderr);
            assert!(out.stdout.is_empty(), "{}", out.stdout);
            assert!(
                out.stderr
                    .contains("does not hold column 'k#1' of its source")
                    && out.stderr.contains("--columns "),
                "{query:?}: {}",
                out.stderr
            );
        }
    }
    let shown = ok(["inspect", &s(&second)]);
    assert!(shown.contains("\n  k#2 "), "{shown}");

    // as a version 6 store records it: the names alone
    let path = store_generation(&second).join("manifest.json");
    let mut m = Manifest::parse(&fs::read(&path).unwrap(), &path).unwrap();
    m.version = 6;
    m.source_columns = None;
    m.columns[0].source = None;
    fs::write(&path, m.to_text()).unwrap();
    let err = fails(
        ["run", "--store", &s(&second), "--agg", "sum:k#2"],
        "store format version 6 does not record which of its source's columns named 'k'",
    );
    assert!(err.contains("re-create the store"), "{err}");
    fails(
        [
            "run",
            "--store",
            &s(&second),
            "--by",
            "k#1",
            "--agg",
            "count",
        ],
        "k#1 picks one by its number",
    );
}

#[test]
fn inspect_describes_the_store() {
    let (fx, _) = fixture(3_000, 12);
    let store = split_store(&fx, "st", "3");
    let text = ok(["inspect", &s(&store)]);
    for needle in [
        "3,000 in 3 partitions",
        "unchanged",
        "part-00002.arrow",
        "late_text",
        "text",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    let verified = ok(["inspect", &s(&store), "--verify"]);
    assert_eq!(verified.matches(" ok").count(), 3, "{verified}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(["inspect", &s(&store), "--format", "json"])).unwrap();
    assert_eq!(json["version"], 7);
    assert_eq!(json["partitions"].as_array().unwrap().len(), 3);
    let empty = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "empty")
        .unwrap();
    assert_eq!(empty["type"], "null");
    assert_eq!(empty["arrow_type"], "Int64");
    assert_eq!(empty["null_count"], 3000);
}

#[test]
fn parquet_output_reads_back() {
    let (fx, _) = fixture(2_000, 13);
    let out = fx.root.join("result.parquet");
    let q = ["--by", "k", "--agg", "count,sum:id,mean:x,max:t"];
    let mut a = vec!["run", "-i"];
    let csv = s(&fx.csv);
    let outs = s(&out);
    a.push(&csv);
    a.extend(q);
    let mut pq = a.clone();
    pq.extend(["--format", "parquet", "--output", &outs]);
    ok(&pq);
    // the Parquet result, read as an input, gives the same table back
    let expected = ok(a.iter().chain(&["-f", "csv"]));
    let back = ok([
        "run",
        "-i",
        &outs,
        "--by",
        "k,count,sum_id,mean_x,max_t",
        "--agg",
        "count",
        "-f",
        "csv",
    ]);
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(
        strip(&back)[1..],
        expected.lines().skip(1).collect::<Vec<_>>()[..]
    );
    let file = fs::File::open(&out).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let types: Vec<DataType> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Utf8,
            DataType::Int64,
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8
        ]
    );
}

#[test]
fn mixing_csv_and_parquet_inputs_is_a_usage_error() {
    let (fx, data) = fixture(100, 14);
    let parquet = fx.root.join("d.parquet");
    write_parquet(&parquet, &data, 50);
    let out = rayproc([
        "run",
        "-i",
        &s(&fx.csv),
        "-i",
        &s(&parquet),
        "--agg",
        "count",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("is Parquet"), "{}", out.stderr);
    // two Parquet inputs form one table
    let two = ok([
        "run",
        "-i",
        &s(&parquet),
        "-i",
        &s(&parquet),
        "--agg",
        "count",
        "-f",
        "csv",
    ]);
    assert_eq!(two, "count\n200\n");
}

#[test]
fn other_arrow_types_are_read_by_the_documented_rules() {
    use arrow_array::types::Int8Type;
    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array, Int32Array,
        TimestampMillisecondArray,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.parquet");
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![Some(1), None, Some(-7)])),
        Arc::new(Float32Array::from(vec![0.5, 1.25, -2.0])),
        Arc::new(
            Decimal128Array::from(vec![1234, -5, 100])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(BooleanArray::from(vec![true, false, true])),
        Arc::new(Date32Array::from(vec![19_723, 0, 19_724])),
        Arc::new(TimestampMillisecondArray::from(vec![1_500, 0, 86_400_000])),
        Arc::new(
            vec!["b", "a", "b"]
                .into_iter()
                .collect::<DictionaryArray<Int8Type>>(),
        ),
    ];
    let names = ["i32", "f32", "dec", "flag", "day", "ts", "dict"];
    let fields: Vec<Field> = names
        .iter()
        .zip(&arrays)
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let file = fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let p = s(&path);
    assert_eq!(
        ok([
            "run",
            "-i",
            &p,
            "--agg",
            "sum:i32,sum:f32,sum:dec,max:flag,min:day,max:ts,distinct:dict",
            "-f",
            "csv"
        ]),
        "sum_i32,sum_f32,sum_dec,max_flag,min_day,max_ts,distinct_dict\n\
         -6,-0.25,13.29,true,1970-01-01,1970-01-02T00:00:00.000,2\n"
    );
    assert_eq!(
        ok(["run", "-i", &p, "--by", "dict", "--agg", "count", "-f", "csv"]),
        "dict,count\na,1\nb,2\n"
    );
    fails(
        ["run", "-i", &p, "--agg", "sum:flag"],
        "typed.parquet: row 1: column 'flag': sum needs numbers, found \"true\"",
    );
}

/// Arrow's logical nulls are nulls: a column of the `Null` type (which has
/// no validity buffer) is all null, as documented ("an all-null integer
/// column"), and so are the rows of a dictionary array whose key names a
/// null value. Both were read as values: `count:nul` was the row count,
/// `null_count:nul` 0, `sum:nul` 0.0, `--by nul` one key `0`; the rows
/// pointing at the null dictionary value were the text `""`.
#[test]
fn arrow_null_columns_and_null_dictionary_values_are_null() {
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array, NullArray};
    let dir = tempfile::tempdir().unwrap();
    let keys = Int32Array::from(vec![Some(0), Some(1), None, Some(1), Some(0)]);
    let values = StringArray::from(vec![Some("a"), None]);
    let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(NullArray::new(5)),
        Arc::new(dict),
        Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
    ];
    let fields: Vec<Field> = ["nul", "k", "x"]
        .iter()
        .zip(&arrays)
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let ipc = dir.path().join("nulls.arrow");
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(fs::File::create(&ipc).unwrap(), &batch.schema())
            .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let parquet = dir.path().join("nulls.parquet");
    let only_nul = batch.project(&[0, 2]).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        fs::File::create(&parquet).unwrap(),
        only_nul.schema(),
        None,
    )
    .unwrap();
    w.write(&only_nul).unwrap();
    w.close().unwrap();
    for file in [&ipc, &parquet] {
        let f = s(file);
        assert_eq!(
            ok([
                "run",
                "-i",
                &f,
                "--agg",
                "count,count:nul,null_count:nul,sum:nul,min:nul,distinct:nul",
                "-f",
                "csv"
            ]),
            "count,count_nul,null_count_nul,sum_nul,min_nul,distinct_nul\n5,0,5,,,0\n",
            "{f}"
        );
        assert_eq!(
            ok(["run", "-i", &f, "--by", "nul", "--agg", "sum:x", "-f", "csv"]),
            "nul,sum_x\n,15\n",
            "{f}"
        );
        assert_eq!(
            ok([
                "run",
                "-i",
                &f,
                "--where",
                "nul is null",
                "--agg",
                "count",
                "-f",
                "csv"
            ]),
            "count\n5\n",
            "{f}"
        );
    }
    let f = s(&ipc);
    assert_eq!(
        ok([
            "run",
            "-i",
            &f,
            "--by",
            "k",
            "--agg",
            "count,null_count:k,sum:x",
            "-f",
            "csv"
        ]),
        "k,count,null_count_k,sum_x\na,2,0,6\n,3,3,9\n"
    );
    assert_eq!(
        ok([
            "run",
            "-i",
            &f,
            "--where",
            "k is null",
            "--agg",
            "count",
            "-f",
            "csv"
        ]),
        "count\n3\n"
    );
}

/// A damaged Parquet file is an error naming it, never a crash: the
/// `parquet` crate panics (`offset + len out of bounds`) on a page whose
/// definition-level run claims more values than the page holds, and that
/// panic ended the run with exit 101 and a backtrace.
#[test]
fn a_parquet_page_claiming_too_many_levels_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.parquet");
    // 16 values, every other one null: the definition levels are one
    // bit-packed run of 2 groups (header 0x05, levels 0x55 0x55) after their
    // 4-byte length, in an uncompressed page with no dictionary
    let x = Int64Array::from_iter((0..16).map(|i| (i % 2 == 0).then_some(i)));
    let batch = RecordBatch::try_from_iter([("x", Arc::new(x) as ArrayRef)]).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        fs::File::create(&path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let p = s(&path);
    assert_eq!(
        ok(["run", "-i", &p, "--agg", "count:x,sum:x", "-f", "csv"]),
        "count_x,sum_x\n8,56\n"
    );
    let mut bytes = fs::read(&path).unwrap();
    let levels = [3, 0, 0, 0, 0x05, 0x55, 0x55];
    let at = (bytes.windows(levels.len()))
        .position(|w| w == levels)
        .expect("the definition levels as described");
    // a run of 108 groups (864 levels) in a page of 16
    bytes[at + 4] = 0xd9;
    fs::write(&path, &bytes).unwrap();
    for threads in ["1", "2"] {
        let err = fails(
            ["run", "-i", &p, "--agg", "sum:x", "-t", threads],
            "damaged.parquet: ",
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line, no backtrace: {err}");
    }
}

#[test]
fn stores_of_standard_input_and_of_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("st");
    let out = crate::common::rayproc()
        .args(["split", "-i", "-", "--store", &s(&store), "-q"])
        .write_stdin("a,b\n1,x\n2,\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ok([
            "run",
            "--store",
            &s(&store),
            "--agg",
            "sum:a,count:b",
            "-f",
            "csv"
        ]),
        "sum_a,count_b\n3,1\n"
    );
    assert!(ok(["inspect", &s(&store)]).contains("standard input, cannot be re-checked"));
    let header_only = dir.path().join("h.csv");
    fs::write(&header_only, "a,b\n").unwrap();
    let st2 = dir.path().join("st2");
    ok(["split", "-i", &s(&header_only), "--store", &s(&st2), "-q"]);
    assert_eq!(
        ok([
            "run",
            "--store",
            &s(&st2),
            "--agg",
            "count,sum:a,max:b",
            "-f",
            "csv"
        ]),
        ok([
            "run",
            "-i",
            &s(&header_only),
            "--agg",
            "count,sum:a,max:b",
            "-f",
            "csv"
        ]),
    );
}

/// `map` of every part and `reduce` over Parquet (parts are runs of row
/// groups), Arrow IPC (record batches) and a store (partition files): the
/// CSV run's answer, for part counts below, at and above the unit counts.
#[test]
fn map_reduce_over_parquet_ipc_and_stores_is_the_csv_answer() {
    let (fx, data) = fixture(6_000, 13);
    let parquet = fx.root.join("data.parquet");
    write_parquet(&parquet, &data, 700);
    let ipc = fx.root.join("data.arrow");
    write_ipc(&ipc, &data, 1_100);
    let store = fx.root.join("store");
    ok([
        "split",
        "--input",
        &s(&fx.csv),
        "--store",
        &s(&store),
        "-p",
        "5",
        "--quiet",
    ]);
    for q in &QUERIES[..6] {
        let reference = ok(args(q, &["--input".into(), s(&fx.csv)]));
        let sources: [[String; 2]; 3] = [
            ["--input".into(), s(&parquet)],
            ["--input".into(), s(&ipc)],
            ["--store".into(), s(&store)],
        ];
        for source in &sources {
            for n in [1usize, 3, 9, 20] {
                let mut partials = Vec::new();
                for i in 0..n {
                    let out = fx.root.join(format!("{i}.part"));
                    let mut a: Vec<String> = vec!["map".into()];
                    a.extend(source.iter().cloned());
                    a.extend(q.iter().map(|x| x.to_string()));
                    a.extend(["--part".into(), format!("{i}/{n}")]);
                    a.extend(["--emit-partial".into(), s(&out)]);
                    ok(a);
                    partials.push(s(&out));
                }
                partials.reverse();
                let mut a: Vec<String> = vec!["reduce".into()];
                a.extend(partials);
                a.extend(["--format".into(), "csv".into()]);
                assert_eq!(ok(a), reference, "{source:?} in {n} parts, {q:?}");
            }
        }
    }
}

/// A text test in `--where` (`like`, `~`, a text literal, and their
/// `not`) reads a number column's text as the CSV wrote it (`+7`, `1.50`,
/// `1e3`). A store keeps the numbers, and beside them (format version 6)
/// the text of each field whose text is not what a filter reads of the
/// value (`NAME#text`), so it keeps the same rows. Until then (found in
/// stop 38) a store read every number as printed (`7`, `1.5`, `1000.0`) and
/// kept other rows (docs/store.md, "Text tests of number columns").
#[test]
fn a_text_test_reads_a_store_number_as_the_csv_wrote_it() {
    let scratch = crate::common::Scratch::new();
    for (csv, filter) in [
        ("c0\n+7\n8\n", "c0 like '+%'"),
        ("c0\n1.50\n2.5\n", "c0 like '%0'"),
        ("c0\n1e3\n2.5\n", "c0 = '1e3'"),
        ("c0\n 7\n8\n", "c0 like ' %'"),
        ("c0\n0.10000000000000001\n0.1\n", "c0 = '0.1'"),
        ("c0\n7.0\n7\n2.5\n", "c0 like '7'"),
        ("c0\n-0\n0\n", "c0 like '-%'"),
        ("c0\n1e16\n10000000000000000.0\n0.5\n", "c0 ~ 'e'"),
        ("c0\nInfinity\ninf\nNaN\nnan\n", "c0 in ('inf', 'NaN')"),
        ("c0\n9007199254740993.0\n2.5\n", "c0 like '%3.0'"),
    ] {
        let input = scratch.write("in.csv", csv);
        let store = scratch.path("s");
        let _ = fs::remove_dir_all(&store);
        let (i, st) = (input.to_str().unwrap(), store.to_str().unwrap());
        ok(["split", "-i", i, "--store", st, "-q"]);
        let run = |flag: &str, source: &str| {
            ok([
                "run", flag, source, "--where", filter, "--agg", "count", "-q",
            ])
        };
        assert_eq!(run("--store", st), run("-i", i), "{csv:?} where {filter}");
    }

    // a mix over partitions and record batches: `i` integers, `f` floats
    // (some written as integers), `g` floats all written as printed, `k` a
    // key; rows written otherwise in some partitions and not in others
    let mut text = String::from("i,f,g,k\n");
    let odd_i = ["+7", " 9", "+0", "-12 ", "\t3"];
    let odd_f = [
        "1.50",
        "1e3",
        "0.10000000000000001",
        "7.0",
        "-0",
        "-0.0",
        "2.50e-3",
        "+2.5",
        "9007199254740993.0",
        "1E5",
        "0.00001",
    ];
    let plain_f = [
        "7",
        "2.5",
        "0.1",
        "9007199254740993",
        "-3",
        "0.30000000000000004",
    ];
    for r in 0..160_000usize {
        // none written otherwise from row 60,000 to 100,000
        let odd = !(60_000..100_000).contains(&r) && r % 7 == 3;
        let i = match odd {
            true => odd_i[r % odd_i.len()].to_string(),
            false => (r % 1000).to_string(),
        };
        let f = match (odd, r % 11) {
            (true, _) => odd_f[r % odd_f.len()],
            (false, 5) => "",
            (false, _) => plain_f[r % plain_f.len()],
        };
        let g = format!("{}.{}", r % 100, r % 9 + 1);
        text.push_str(&format!("{i},{f},{g},k{}\n", r % 5));
    }
    let input = scratch.write("mix.csv", text);
    let store = scratch.path("mix");
    let (i, st) = (input.to_str().unwrap(), store.to_str().unwrap());
    ok(["split", "-i", i, "--store", st, "--partitions", "6", "-q"]);
    let m = fs::read_to_string(store_generation(&store).join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&m).unwrap();
    let texts: Vec<&str> = (m["columns"].as_array().unwrap().iter())
        .filter(|c| c["texts"] == "Utf8")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // `g` is written as printed: no texts
    assert_eq!(texts, ["i", "f"], "{m}");
    assert!(m["partitions"].as_array().unwrap().len() > 2, "{m}");
    let shown = ok(["inspect", st, "--verify"]);
    assert!(shown.contains("Int64 + texts (Utf8)"), "{shown}");
    assert!(
        shown.contains("Float64 + integers (Int64) + texts (Utf8)"),
        "{shown}"
    );
    assert!(!shown.contains("BAD"), "{shown}");
    for filter in [
        "i like '+%'",
        "i ~ '^[ \t]'",
        "i = '+7'",
        "i in ('+0', '0')",
        "not i like '+%'",
        "not (i like '%9' or i ~ ' $')",
        "f like '%0'",
        "f = '1e3'",
        "f ~ '[eE]'",
        "f = '7'",
        "f = '7.0'",
        "f like '0.1%'",
        "f in ('1.50', '-0', '+2.5')",
        "f between '1' and '2'",
        "f <> '2.5'",
        "f >= '9'",
        "not f like '%.%'",
        "i > 5 and f like '%0'",
        "f > 1 or f like '-%'",
        "g like '%5' and not f ~ '^0'",
        "f like '9007199254740993%'",
        "f > 9007199254740992",
    ] {
        for by in [&[][..], &["--by", "k"][..]] {
            let run = |flag: &str, source: &str, threads: &str| {
                let mut a = vec!["run", flag, source, "--where", filter];
                a.extend_from_slice(by);
                a.extend([
                    "--agg",
                    "count,sum:i,sum:f,min:f,max:f,distinct:f",
                    "-t",
                    threads,
                    "-q",
                ]);
                ok(a)
            };
            let want = run("-i", i, "2");
            for threads in ["1", "2"] {
                assert_eq!(run("--store", st, threads), want, "where {filter} {by:?}");
            }
        }
    }
}

/// A version 5 store has no texts of its number columns: it answers every
/// query as before, and refuses (rather than read the numbers as printed,
/// where the CSV may have written them otherwise) only a `--where` whose
/// text test reads a number column.
#[test]
fn a_version_5_store_refuses_a_text_test_of_a_number_column() {
    let scratch = crate::common::Scratch::new();
    let mut text = String::from("n,x,t\n");
    for r in 0..3_000 {
        text.push_str(&format!("{},{}.5,{}\n", r % 17, r % 5, ["a", "b7"][r % 2]));
    }
    let input = scratch.write("data.csv", text);
    let store = scratch.path("st");
    let (i, st) = (input.to_str().unwrap(), store.to_str().unwrap());
    ok(["split", "-i", i, "--store", st, "--partitions", "2", "-q"]);
    let m = fs::read_to_string(store_generation(&store).join("manifest.json")).unwrap();
    assert!(
        !m.contains("\"texts\""),
        "every number is written as printed: {m}"
    );
    set_store_version(&store, 5);
    for filter in ["n > 3 and t like 'b%'", "x < 2 or t = 'a'", "t ~ '7'"] {
        let run = |flag: &str, source: &str| {
            ok([
                "run",
                flag,
                source,
                "--where",
                filter,
                "--by",
                "n",
                "--agg",
                "count,sum:x",
            ])
        };
        assert_eq!(run("--store", st), run("-i", i), "where {filter}");
    }
    for (filter, column) in [
        ("n like '1%'", "n"),
        ("t = 'a' or not x ~ '5$'", "x"),
        ("n = '7'", "n"),
    ] {
        let err = fails(
            ["run", "--store", st, "--where", filter, "--agg", "count"],
            &format!(
                "store format version 5 does not record how the CSV wrote the numbers of \
                 column '{column}'"
            ),
        );
        assert!(err.contains("re-create the store"), "{err}");
    }
    ok(["run", "--store", st, "--agg", "count,sum:x"]);
}

/// Under `--where`, `run --input` types a column by the rows the filter
/// keeps (a dropped `abc` leaves an integer column, a dropped `-1.0` an
/// integer one); a store answers the same: it types a text column's kept
/// values as the CSV reader does, and keeps which rows of a float column
/// were integers, with their exact values (format version 5). Before
/// that, the store answered `10` (text order), `9007199254740992.0` and
/// `5.0` to the first three cases.
#[test]
fn a_filter_types_a_store_column_by_the_rows_it_keeps() {
    let scratch = crate::common::Scratch::new();
    // a float column whose integers lie in other record batches and
    // partitions than its decimals; a coded text column of numbers but one
    let mut spread = String::from("f,k,v\n");
    for i in 0..150_000 {
        let f = if i % 70_000 == 7 {
            "0.5".to_string()
        } else {
            (i % 1000).to_string()
        };
        let k = if i % 50 == 0 {
            "x".to_string()
        } else {
            (i % 9).to_string()
        };
        spread.push_str(&format!("{f},{k},{}\n", i % 3));
    }
    // a text column whose kept values are text (`007`) in one partition
    // and numbers in another: min/max read the numbers' text too (they
    // lost the other partitions' values: `007,007`)
    let mut retyped = String::from("m,v\n007,1\n");
    for i in 0..150_000 {
        retyped.push_str(&format!("x,{}\n", i % 3));
    }
    retyped.push_str("5,2\n1.5,0\n");
    for (csv, filter, aggs, by) in [
        (&retyped[..], "m <> 'x'", "min:m,max:m,count:m", ""),
        (&retyped, "m <> 'x'", "min:m,max:m", "m"),
        (&retyped, "m <> 'x'", "min:m,max:m", "v"),
        ("c0\n10\n9\nabc\n", "c0 <> 'abc'", "min:c0,sum:c0", ""),
        ("c0\n9007199254740993\n-1.0\n", "c0 > 0", "sum:c0", ""),
        ("c0\n1.5\n2\n3\n", "c0 > 1.5", "sum:c0,max:c0", ""),
        // the integers beside a wide one, and the decimals kept
        (
            "c0\n9007199254740993\n2\n-1.5\n",
            "c0 > 0",
            "sum:c0,min:c0",
            "",
        ),
        (
            "c0\n9007199254740993\n2\n-1.5\n",
            "c0 < 3",
            "sum:c0,min:c0",
            "",
        ),
        // the zero-padded integer keeps text text; a key column retyped
        (
            "c0,k\n007,1\n7,2\nabc,b\n",
            "k <> 'b'",
            "min:c0,distinct:c0",
            "",
        ),
        ("c0,k\n1,10\n2.5,9\n3,abc\n", "k <> 'abc'", "sum:c0", "k"),
        (
            "c0,k\n1,10\n2.5,9\n3,abc\n",
            "c0 <> 2.5",
            "count,min:k",
            "c0",
        ),
        // every kept value null
        (
            "c0,k\n,1\n2.5,2\nabc,3\n",
            "k = 1",
            "count:c0,sum:c0,min:c0",
            "",
        ),
        // the filter reads a float column's integers as integers: exactly
        // past 2^53, and as their text (`2`, not `2.0`)
        (
            "c0\n9007199254740993\n-1.5\n",
            "c0 > 9007199254740992",
            "count",
            "",
        ),
        (
            "c0\n9007199254740993\n-1.5\n",
            "c0 <> 9007199254740992",
            "count",
            "",
        ),
        ("c0\n2\n2.5\n12\n", "c0 like '%2'", "count,sum:c0", ""),
        (&spread, "v <> 1", "sum:f,mean:f,min:k,max:k,distinct:k", ""),
        (&spread, "f <> 0.5", "sum:f,count", "k"),
        (&spread, "k <> 'x'", "sum:k,sum:f,max:f", "v"),
        (
            &spread,
            "k <> 'x' and f <> 0.5",
            "sum:f,distinct:k,min:k",
            "",
        ),
    ] {
        let input = scratch.write("in.csv", csv);
        let store = scratch.path("s");
        let _ = fs::remove_dir_all(&store);
        ok([
            "split",
            "-i",
            input.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--partitions",
            "3",
            "-q",
        ]);
        if csv == spread {
            // what the spread input is for: a coded text column, and a
            // float column with integers
            let m = crate::common::store_generation(&store).join("manifest.json");
            let m = fs::read_to_string(m).unwrap();
            assert!(m.contains("\"integers\": \"Boolean\""), "{m}");
            assert!(m.contains("\"dictionary\""), "{m}");
        }
        let run = |flag: &str, source: &Path| {
            let source = source.to_str().unwrap();
            let mut args = vec!["run", flag, source, "--where", filter, "--agg", aggs, "-q"];
            if !by.is_empty() {
                args.extend(["--by", by]);
            }
            ok(args)
        };
        let (want, got) = (run("-i", &input), run("--store", &store));
        let shown = &csv[..csv.len().min(40)];
        assert_eq!(got, want, "{shown:?}... where {filter}");
        // and in parts, as a cluster runs it: `map` of each, `reduce`
        let mut partials = Vec::new();
        for i in 0..2 {
            let out = scratch.path(&format!("{i}.part"));
            let (st, part) = (store.to_str().unwrap(), format!("{i}/2"));
            let mut args = vec!["map", "--store", st, "--where", filter, "--agg", aggs];
            if !by.is_empty() {
                args.extend(["--by", by]);
            }
            args.extend(["--part", &part, "--emit-partial", out.to_str().unwrap()]);
            ok(args);
            partials.push(out.to_str().unwrap().to_string());
        }
        let mut reduce = vec!["reduce".to_string()];
        reduce.extend(partials);
        assert_eq!(ok(reduce), want, "{shown:?}... where {filter}, in 2 parts");
    }
}

/// An error about a row of a store names the source file and line, as the
/// same query over the CSV does, whichever partition the row landed in:
/// the store records where each partition's records begin in its source,
/// and the error path reads the source again to count them. Records that
/// span lines (quoted newlines, CRLF) and a compressed source are counted
/// as `run --input` counts them; a source that cannot be read again
/// (standard input) leaves the partition file and row.
#[test]
fn a_store_error_names_the_source_line_the_csv_error_names() {
    let scratch = crate::common::Scratch::new();
    let mut csv = String::from("ts,note,v\r\n");
    for r in 0..40_000 {
        let ts = match r {
            31_337 => "not-a-time".to_string(),
            _ => format!("2024-01-{:02}T00:00:00", r % 28 + 1),
        };
        let note = match (r % 7, r % 11) {
            (0, _) => "\"one\ntwo\"",
            (_, 0) => "\"a\r\nb\nc\"",
            _ => "plain",
        };
        csv.push_str(&format!("{ts},{note},{r}\r\n"));
    }
    let plain = scratch.write("events.csv", &csv);
    let packed = scratch.write("events.csv.gz", gzip(csv.as_bytes()));
    let queries: [&[&str]; 2] = [
        &["--by", "day(ts)", "--agg", "count"],
        &["--agg", "sum:note"],
    ];
    for (source, partitions) in [(&plain, "4"), (&packed, "3")] {
        let store = scratch.path(&format!("store-{partitions}"));
        ok([
            "split".as_ref(),
            "--input".as_ref(),
            source.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
            "--partitions".as_ref(),
            partitions.as_ref(),
            "--quiet".as_ref(),
        ]);
        let parts = fs::read_dir(store_generation(&store)).unwrap().count();
        assert!(parts > 2, "several partitions: {parts} files");
        for query in queries {
            let over = |args: [&std::ffi::OsStr; 3]| {
                let mut all: Vec<&std::ffi::OsStr> = args.to_vec();
                all.extend(query.iter().map(std::ffi::OsStr::new));
                rayproc(all)
            };
            let csv = over(["run".as_ref(), "--input".as_ref(), source.as_os_str()]);
            let stored = over(["run".as_ref(), "--store".as_ref(), store.as_os_str()]);
            assert_eq!(csv.code, 1, "{}", csv.stderr);
            assert_eq!(stored.code, 1, "{}", stored.stderr);
            assert_eq!(
                stored.stderr,
                csv.stderr,
                "{query:?} over {}",
                source.display()
            );
        }
    }
    // the day bucket's error is on the bad row's line: its 31,337 records
    // before and the header take 31,338 lines, and the notes' newlines more
    let extra: usize = (0..31_337)
        .map(|r| match (r % 7, r % 11) {
            (0, _) => 1,
            (_, 0) => 2,
            _ => 0,
        })
        .sum();
    let line = 31_338 + extra + 1;
    let out = rayproc([
        "run".as_ref(),
        "--store".as_ref(),
        scratch.path("store-4").as_os_str(),
        "--by".as_ref(),
        "day(ts)".as_ref(),
        "--agg".as_ref(),
        "count".as_ref(),
    ]);
    assert!(
        out.stderr
            .contains(&format!("events.csv:{line}: column 'ts'")),
        "{}",
        out.stderr
    );
    // from standard input: no source to read again
    let store = scratch.path("store-stdin");
    let split = crate::common::run_with_stdin(
        [
            "split".as_ref(),
            "--input".as_ref(),
            "-".as_ref(),
            "--store".as_ref(),
            store.as_os_str(),
            "--partitions".as_ref(),
            "1".as_ref(),
            "--quiet".as_ref(),
        ],
        Some(csv.as_bytes()),
    );
    assert_eq!(split.code, 0, "{}", split.stderr);
    fails(
        [
            "run".as_ref(),
            "--store".as_ref(),
            store.as_os_str(),
            "--by".as_ref(),
            "day(ts)".as_ref(),
            "--agg".as_ref(),
            "count".as_ref(),
        ],
        "part-00000.arrow: row 31338: column 'ts'",
    );
}

/// A time bucket of a float column fails on a field not written as an
/// integer, and the store's error quotes the field as the CSV wrote it,
/// as `run --input` does: `found "1e9"`, not the printed float
/// `"1000000000.0"` (nor `"1.5"` for `1.50`, `"inf"` for `Infinity`).
/// The store keeps such a field's text (`NAME#text`); the error quoted the
/// value as printed. Rows `--where` drops are not read, as over the CSV,
/// and a field written as printed is quoted as it is either way.
#[test]
fn a_float_time_bucket_error_quotes_the_field_as_the_csv_wrote_it() {
    let scratch = crate::common::Scratch::new();
    let cases: [(&str, &[&str]); 5] = [
        ("t\n1700000000\n1e9\nInfinity\n", &[]),
        ("t\n1700000000\n1.50\n", &[]),
        (
            "t,k\n1700000000,a\n1e9,b\nInfinity,c\n",
            &["--where", "k = 'c'"],
        ),
        ("t,k\n1700000000,a\n+1.0e3,b\n", &["--where", "t > 5"]),
        ("t\n1700000000\n2.5\n", &[]),
    ];
    for (i, (csv, filter)) in cases.iter().enumerate() {
        let source = scratch.write(&format!("t{i}.csv"), csv);
        let store = scratch.path(&format!("t{i}.s"));
        ok(["split", "-q", "-i", &s(&source), "--store", &s(&store)]);
        let query = [&["--by", "day(t)", "--agg", "count"][..], filter].concat();
        let over_csv = rayproc([&["run", "-i", &s(&source)][..], &query].concat());
        let over_store = rayproc([&["run", "--store", &s(&store)][..], &query].concat());
        assert_eq!(over_csv.code, 1, "{csv:?}: {}", over_csv.stderr);
        assert!(
            over_csv.stderr.contains("epoch seconds, found"),
            "{}",
            over_csv.stderr
        );
        assert_eq!(over_store.code, 1, "{csv:?}: {}", over_store.stderr);
        assert_eq!(over_store.stderr, over_csv.stderr, "{csv:?} {filter:?}");
    }
}

/// Runs `rayproc` with `args` and fails the test if it has not finished
/// within `secs` seconds (it is killed then): for work that must stay
/// quick, with a bound far above its time, so that only a slowdown by
/// orders of magnitude fails. Its output must fit a pipe (64 KiB).
fn within(secs: u64, args: &[&str]) -> Out {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = Command::new(crate::common::bin_path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let start = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rayproc {args:?} took more than {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A header of `n` empty names (a line of commas) and rows 1 and 2.
fn unnamed_columns(n: usize) -> String {
    let row = |v: &str| vec![v; n].join(",");
    format!("{}\n{}\n{}\n", ",".repeat(n - 1), row("1"), row("2"))
}

/// Naming the columns of a header that repeats one name was quadratic in
/// them (each counted the columns of its name): 20,000 empty names took
/// minutes, and now take well under a second.
#[test]
fn split_names_thousands_of_unnamed_columns_in_linear_time() {
    let (scratch, csv) = crate::common::temp_csv(unnamed_columns(20_000));
    let store = scratch.path("st");
    let out = within(60, &["split", "-i", &s(&csv), "--store", &s(&store), "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // each told apart by its number, as over the CSV
    let last = ["--agg", "count,sum:\"\"#20000,max:\"\"#1", "-f", "csv"];
    let from_store = ok(["run", "--store", &s(&store)].iter().chain(&last));
    assert_eq!(from_store, ok(["run", "-i", &s(&csv)].iter().chain(&last)));
    assert_eq!(from_store, "count,sum_#20000,max_#1\n2,3,2\n");
}

/// A plan looked each named column up in the whole header, and checked
/// each output name against all before it: 60,000 aggregates over 65,000
/// columns took `run` 22 s, and `split --columns` naming 10,000 of them 13
/// s. Both now take a fraction of a second.
#[test]
fn run_and_split_plan_tens_of_thousands_of_named_columns_in_linear_time() {
    let n = 65_000;
    let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let row = |v: &str| vec![v; n].join(",");
    let (scratch, csv) = crate::common::temp_csv(format!(
        "{}\n{}\n{}\n",
        header.join(","),
        row("1"),
        row("2")
    ));
    // six flags of 10,000 aggregates: one argument holds at most 128 KiB
    let aggs: Vec<String> = (header[..60_000].chunks(10_000))
        .map(|names| {
            names
                .iter()
                .map(|c| format!("sum:{c}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let mut args: Vec<String> = ["run", "-i", &s(&csv), "-f", "csv"]
        .map(String::from)
        .to_vec();
    for agg in &aggs {
        args.extend(["--agg".to_string(), agg.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = within(10, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("sum_c0,sum_c1,") && lines[0].ends_with(",sum_c59999"));
    assert_eq!(lines[1], vec!["3"; 60_000].join(","));

    let store = scratch.path("st");
    let columns = header[55_000..].join(",");
    let split = [
        "split",
        "-i",
        &s(&csv),
        "--store",
        &s(&store),
        "--columns",
        &columns,
        "-q",
    ];
    let out = within(10, &split);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let last = ["--agg", "count,sum:c64999,max:c55000", "-f", "csv"];
    let from_store = ok(["run", "--store", &s(&store)].iter().chain(&last));
    assert_eq!(from_store, "count,sum_c64999,max_c55000\n2,3,2\n");
}

/// `split` refuses as many columns as `run` refuses, with its message and
/// as soon: 70,000 unnamed columns took it minutes to reach the refusal.
/// The message names the file (it did not).
#[test]
fn split_refuses_too_many_columns_as_run_does() {
    let (scratch, csv) = crate::common::temp_csv(unnamed_columns(70_000));
    let store = scratch.path("st");
    let run = rayproc(["run", "-i", &s(&csv), "--agg", "count"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let want = format!(
        "{}: the input has 70000 columns; rayproc handles up to 65534",
        csv.display()
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    let split = within(30, &["split", "-i", &s(&csv), "--store", &s(&store), "-q"]);
    assert_eq!((split.code, split.stderr), (1, run.stderr));
    assert!(!store.exists(), "nothing is written");
}

/// A text value's `min` or `max` is recorded as its first 4 KiB, marked as
/// such: a value of gigabytes was recorded whole, and made a manifest that
/// no reader would read.
#[test]
fn a_long_text_statistic_is_recorded_as_its_beginning() {
    let (a, z) = ("a".repeat(10_000), format!("{}é", "z".repeat(4_095)));
    let (scratch, csv) = crate::common::temp_csv(format!("t,n\nm,1\n{a},2\n{z},3\n"));
    let store = scratch.path("st");
    ok(["split", "-i", &s(&csv), "--store", &s(&store), "-q"]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(["inspect", &s(&store), "--format", "json"])).unwrap();
    let t = &json["partitions"][0]["columns"][0];
    let len = |v: &serde_json::Value| v.as_str().map(str::len);
    assert_eq!((len(&t["min"]), len(&t["max"])), (Some(4096), Some(4095)));
    // the cut falls inside é: the whole characters before it
    assert_eq!(t["min"], "a".repeat(4096));
    assert_eq!(t["max"], "z".repeat(4095));
    assert_eq!(
        (&t["min_truncated"], &t["max_truncated"]),
        (&true.into(), &true.into())
    );
    let n = &json["partitions"][0]["columns"][1];
    assert_eq!(
        (&n["min"], &n["max"], n.get("min_truncated")),
        (&1.into(), &3.into(), None)
    );
    let text = ok(["inspect", &s(&store)]);
    let line = text.lines().find(|l| l.starts_with("  t ")).unwrap();
    assert!(
        line.ends_with(&format!("{}…  {}…", "a".repeat(24), "z".repeat(24))),
        "{text}"
    );
    // the answers read the values, whole
    for agg in ["min:t", "max:t", "distinct:t"] {
        let args = ["--agg", agg, "-f", "json"];
        assert_eq!(
            ok(["run", "--store", &s(&store)].iter().chain(&args)),
            ok(["run", "-i", &s(&csv)].iter().chain(&args))
        );
    }
}

/// A source whose name is not UTF-8 cannot be recorded in a manifest (its
/// names are JSON text, by which every run finds the files again): `split`
/// recorded the name with the odd byte replaced, opened the file again by
/// that name before the commit, and said the file had changed during the
/// split ("run `rayproc split` again", which could never help). It is
/// refused by its name now, before anything is read, as a file, in a
/// folder and as a folder, and no store is left; `run` reads it.
#[test]
fn split_refuses_a_source_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("in");
    fs::create_dir(&folder).unwrap();
    let file = folder.join(std::ffi::OsStr::from_bytes(b"f\xfe.csv"));
    fs::write(&file, "a\n1\n").unwrap();
    let odd_folder = dir.path().join(std::ffi::OsStr::from_bytes(b"d\xff"));
    fs::create_dir(&odd_folder).unwrap();
    fs::write(odd_folder.join("g.csv"), "a\n2\n").unwrap();
    let store = dir.path().join("st");
    for (input, shown) in [
        (&file, "f\\xfe.csv"),
        (&folder, "f\\xfe.csv"),
        (&odd_folder, "d\\xff"),
    ] {
        let split = [
            "split".as_ref(),
            "--input".as_ref(),
            input.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
        ];
        let err = fails(split, "this name is not UTF-8");
        assert!(err.contains(shown), "{err}");
        assert!(!err.contains("changed"), "{err}");
        assert!(!store.exists());
        let run = ["run".as_ref(), "--input".as_ref(), input.as_os_str()];
        let out = ok(run.iter().chain(&["--agg".as_ref(), "sum:a".as_ref()]));
        assert!(out.contains('1') || out.contains('2'), "{out}");
    }
}
