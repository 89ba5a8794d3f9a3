//! A store's dictionary-coded text columns: a group-by on one reads its
//! codes and groups by code, a `distinct` of one without `--by` counts
//! codes, and both answer exactly as the CSV does; damaged codes or
//! dictionaries are errors, never a crash or a wrong answer.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{run, set_store_version, store_generation, write_store_manifest, Scratch};

/// Rows of `g` (3,000 text keys, no null, one with a comma), `h` (50 keys
/// and nulls), `v` (integers) and `w` (floats).
fn csv(rows: usize) -> String {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = String::from("g,h,v,w\n");
    for _ in 0..rows {
        let r = next();
        let g = match r % 3000 {
            7 => "\"g,7\"".to_string(),
            n => format!("g{n}"),
        };
        let h = if (r >> 20) % 7 == 0 {
            String::new()
        } else {
            format!("h{}", (r >> 24) % 50)
        };
        let v = (r >> 32) % 1000;
        let w = ((r >> 40) % 10_000) as f64 / 8.0 - 300.0;
        out.push_str(&format!("{g},{h},{v},{w}\n"));
    }
    out
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    out.stdout
}

fn fails(args: &[&str], needle: &str) -> String {
    let out = run(args);
    assert_eq!(
        out.code, 1,
        "{args:?} should fail: {}{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "{needle:?} not in: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stderr
}

fn split(csv: &Path, store: &Path, parts: &str) {
    let (csv, store) = (csv.display().to_string(), store.display().to_string());
    ok(&["split", "-i", &csv, "--store", &store, "-p", parts, "-q"]);
}

fn manifest(store: &Path) -> serde_json::Value {
    let text = fs::read_to_string(store_generation(store).join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The names of the store's coded columns.
fn coded(store: &Path) -> Vec<String> {
    (manifest(store)["columns"].as_array().unwrap().iter())
        .filter(|c| c.get("dictionary").is_some())
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn setup(rows: usize, parts: &str) -> (Scratch, PathBuf, PathBuf) {
    let scratch = Scratch::new();
    let csv = scratch.write("data.csv", csv(rows));
    let store = csv.with_file_name("st");
    split(&csv, &store, parts);
    (scratch, csv, store)
}

#[test]
fn coded_columns_answer_as_the_csv_does() {
    let (_scratch, csv, _) = setup(20_000, "1");
    let csv_s = csv.display().to_string();
    let queries: &[&[&str]] = &[
        &[
            "--by",
            "g",
            "--agg",
            "count,sum:v,mean:w,min:h,max:h,distinct:h,median:w,null_count:h",
        ],
        &["--by", "h", "--agg", "count,sum:v,distinct:g,min:g,max:g"],
        &[
            "--by",
            "g",
            "--agg",
            "count,sum:w",
            "--where",
            "v > 500 and h != 'h3'",
        ],
        &["--by", "g,h", "--agg", "count"],
        &["--by", "g", "--agg", "count", "--where", "g >= 'g2'"],
        &["--agg", "distinct:g,min:g,max:g,count:h"],
    ];
    for parts in ["1", "5"] {
        let store = csv.with_file_name(format!("st{parts}"));
        split(&csv, &store, parts);
        // g and h are text with few values: coded; v and w are numbers
        assert_eq!(coded(&store), ["g", "h"]);
        let store_s = store.display().to_string();
        let described = ok(&["inspect", &store_s]);
        assert!(described.contains("Utf8 + codes of 50"), "{described}");
        // every field checks out, the codes' and the dictionaries' too
        let verified = ok(&["inspect", &store_s, "--verify"]);
        assert_eq!(
            verified.matches(" ok").count(),
            parts.parse::<usize>().unwrap(),
            "{verified}"
        );
        for q in queries {
            for format in ["csv", "json"] {
                let mut want_args = vec!["run", "-i", &csv_s, "--format", format];
                want_args.extend_from_slice(q);
                let want = ok(&want_args);
                assert!(want.lines().count() >= 2, "{want}");
                for threads in ["1", "3"] {
                    let mut args = vec![
                        "run", "--store", &store_s, "-t", threads, "--format", format,
                    ];
                    args.extend_from_slice(q);
                    assert_eq!(ok(&args), want, "{parts} parts, {threads} threads, {q:?}");
                }
            }
        }
    }
}

#[test]
fn a_column_of_mostly_distinct_or_numeric_values_is_not_coded() {
    let scratch = Scratch::new();
    // u: every value new; n: numbers in most batches, text in the last
    let mut text = String::from("u,n\n");
    for i in 0..5_000 {
        let n = if i == 4_999 {
            "x".to_string()
        } else {
            (i % 10).to_string()
        };
        text.push_str(&format!("id{i},{n}\n"));
    }
    let csv = scratch.write("data.csv", text);
    let store = csv.with_file_name("st");
    split(&csv, &store, "2");
    // u: 5,000 values, too few to give up on early, so coded; n is typed
    // text only by its last value: its numeric batches were never gathered
    assert_eq!(coded(&store), ["u"]);
    let (c, st) = (csv.display().to_string(), store.display().to_string());
    for by in ["u", "n"] {
        let want = ok(&["run", "-i", &c, "--by", by, "--agg", "count"]);
        assert_eq!(
            ok(&["run", "--store", &st, "--by", by, "--agg", "count"]),
            want
        );
    }
}

/// Where the named field's last buffer (its values) lies in a partition
/// file, as the store's reader finds it.
fn values_of(bytes: &[u8], field: &str) -> std::ops::Range<usize> {
    let ipc = rayproc::source::ipc::IpcFile::from_bytes(bytes, "part", None).unwrap();
    let mut layout = rayproc::store::verify::Layout::read_bodies(bytes, ipc.blocks()).unwrap();
    layout
        .read_buffers(bytes, ipc.blocks(), &ipc.schema)
        .unwrap();
    let c = ipc.schema.index_of(field).unwrap();
    layout.columns[c].last().unwrap().clone()
}

#[test]
fn a_code_past_its_dictionary_is_an_error() {
    let (_scratch, _, store) = setup(3_000, "2");
    let st = store.display().to_string();
    let part = store_generation(&store).join("part-00001.arrow");
    let mut bytes = fs::read(&part).unwrap();
    let codes = values_of(&bytes, "g#codes");
    bytes[codes.start + 40..codes.start + 44].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&part, &bytes).unwrap();
    let by_g = ["run", "--store", &st, "--by", "g", "--agg", "count"];
    let err = fails(&by_g, "checksum mismatch in the codes of column 'g'");
    assert!(err.contains("part-00001.arrow"), "{err}");
    // unverified, the code is still checked against the dictionary
    let mut unverified = by_g.to_vec();
    unverified.push("--no-verify");
    let err = fails(
        &unverified,
        "code 4294967295 is past the end of its dictionary",
    );
    assert!(err.contains("row 11"), "{err}");
    // g's dictionary is small: any query that reads g reads its codes
    // (never its text), and finds them damaged...
    for agg in ["count:g,distinct:g", "count:g,min:g,max:g"] {
        let query = ["run", "--store", &st, "--by", "h", "--agg", agg];
        fails(&query, "checksum mismatch in the codes of column 'g'");
    }
    // ...but a query that does not read g never does
    ok(&["run", "--store", &st, "--by", "h", "--agg", "count,sum:v"]);
}

#[test]
fn a_dictionary_out_of_order_is_an_error() {
    let (_scratch, _, store) = setup(20_000, "2");
    let st = store.display().to_string();
    let m = manifest(&store);
    let g = &m["columns"].as_array().unwrap()[0];
    let dict = store_generation(&store).join(g["dictionary"]["file"].as_str().unwrap());
    let mut bytes = fs::read(&dict).unwrap();
    // "g,7", "g0", "g1", "g10", ... are the first values: swap two
    let at = bytes.windows(7).position(|w| w == b"g0g1g10").unwrap();
    bytes[at..at + 4].copy_from_slice(b"g1g0");
    fs::write(&dict, &bytes).unwrap();
    let by_g = ["run", "--store", &st, "--by", "g", "--agg", "count"];
    fails(&by_g, "checksum mismatch");
    let mut unverified = by_g.to_vec();
    unverified.push("--no-verify");
    let err = fails(
        &unverified,
        "dictionary value 2 is not greater than the one before it",
    );
    assert!(err.contains("dict-0.arrow"), "{err}");
    let verified = run(["inspect", &st, "--verify"]);
    assert_ne!(verified.code, 0, "{}", verified.stdout);
    // g's dictionary is small, so any query that reads g reads it...
    let distinct = ["run", "--store", &st, "--by", "h", "--agg", "distinct:g"];
    fails(&distinct, "checksum mismatch");
    // ...and one that does not read g does not
    ok(&["run", "--store", &st, "--by", "h", "--agg", "count,sum:w"]);
}

/// A coded column of few values is read as its codes and its dictionary:
/// its own text field is never read by a query (only by `inspect
/// --verify`), and every answer is the CSV's.
#[test]
fn a_column_of_few_values_is_read_as_its_codes() {
    let (_scratch, csv, store) = setup(3_000, "1");
    let (c, st) = (csv.display().to_string(), store.display().to_string());
    let part = store_generation(&store).join("part-00000.arrow");
    let mut bytes = fs::read(&part).unwrap();
    // h's text: "h<n>" values and nulls (empty)
    let text = values_of(&bytes, "h");
    bytes[text.clone()].fill(b'!');
    fs::write(&part, &bytes).unwrap();
    let queries: &[&[&str]] = &[
        &["--by", "h", "--agg", "count,sum:v"],
        &["--by", "g", "--agg", "min:h,max:h,distinct:h,null_count:h"],
        &[
            "--agg",
            "count:h,distinct:h",
            "--where",
            "h >= 'h3' or v < 10",
        ],
    ];
    for q in queries {
        let mut want = vec!["run", "-i", &c];
        want.extend_from_slice(q);
        let mut got = vec!["run", "--store", &st];
        got.extend_from_slice(q);
        assert_eq!(ok(&got), ok(&want), "{q:?}");
    }
    // the damage is there, for whoever reads the whole file
    let verified = run(["inspect", &st, "--verify"]);
    assert!(
        verified
            .stdout
            .contains("part-00000.arrow: checksum mismatch"),
        "{}",
        verified.stdout
    );
}

#[test]
fn a_manifest_whose_dictionary_names_another_file_is_refused() {
    let (_scratch, _, store) = setup(1_000, "1");
    let path = store_generation(&store).join("manifest.json");
    let text = fs::read_to_string(&path).unwrap();
    write_store_manifest(&path, &text.replace("dict-0.arrow", "../dict-0.arrow"));
    let st = store.display().to_string();
    fails(
        &["run", "--store", &st, "--agg", "count"],
        "bad dictionary file name",
    );
}

/// A float column's integers (`f#ints`) are read, and so verified, only
/// by a query with `--where` that reads the column: damage to them is a
/// checksum mismatch there, and nothing to a query that does not read them.
#[test]
fn damaged_integers_are_caught_where_a_filter_reads_them() {
    let scratch = Scratch::new();
    let mut text = String::from("f,v\n");
    for i in 0..3_000 {
        let f = match i % 10 {
            0 => "0.25".to_string(),
            1 => "9007199254740993".to_string(),
            _ => (i % 100).to_string(),
        };
        text.push_str(&format!("{f},{}\n", i % 7));
    }
    let csv = scratch.write("data.csv", text);
    let store = csv.with_file_name("st");
    split(&csv, &store, "2");
    let (c, st) = (csv.display().to_string(), store.display().to_string());
    let filtered = ["--where", "f > 1", "--agg", "sum:f,max:f"];
    let run = |source: &[&str], q: &[&str]| ok(&[&["run"], source, q].concat());
    // sound: the integers past 2^53 answer exactly, as over the CSV
    let want = run(&["-i", &c], &filtered);
    assert!(want.contains("9007199254740993"), "{want}");
    assert_eq!(run(&["--store", &st], &filtered), want);
    let m = fs::read_to_string(store_generation(&store).join("manifest.json")).unwrap();
    assert!(m.contains("\"integers\": \"Int64\""), "{m}");
    let part = store_generation(&store).join("part-00001.arrow");
    let mut bytes = fs::read(&part).unwrap();
    let ints = values_of(&bytes, "f#ints");
    bytes[ints.start + 8] ^= 1;
    fs::write(&part, &bytes).unwrap();
    let mut args = vec!["run", "--store", &st];
    args.extend_from_slice(&filtered);
    let err = fails(&args, "checksum mismatch in the integers of column 'f'");
    assert!(err.contains("part-00001.arrow"), "{err}");
    // a query without `--where` never reads them
    let plain = ["--agg", "sum:f,min:f"];
    assert_eq!(run(&["--store", &st], &plain), run(&["-i", &c], &plain));
}

/// A version 4 store does not record which values of a float column were
/// integers: it answers `--where` as before where no float column is read,
/// and refuses (rather than answer other than its CSV) where one is.
#[test]
fn a_version_4_store_refuses_a_filter_over_a_float_column() {
    let scratch = Scratch::new();
    let mut text = String::from("v,w,t\n");
    for i in 0..2_000 {
        text.push_str(&format!("{},{}.5,{}\n", i % 17, i % 5, ["a", "7"][i % 2]));
    }
    let csv = scratch.write("data.csv", text);
    let store = csv.with_file_name("st");
    split(&csv, &store, "2");
    set_store_version(&store, 4);
    let (c, st) = (csv.display().to_string(), store.display().to_string());
    let q = ["--where", "t <> 'a'", "--by", "v", "--agg", "count,min:t"];
    let mut want = vec!["run", "-i", &c];
    want.extend_from_slice(&q);
    let mut got = vec!["run", "--store", &st];
    got.extend_from_slice(&q);
    assert_eq!(ok(&got), ok(&want));
    fails(
        &["run", "--store", &st, "--where", "v > 3", "--agg", "sum:w"],
        "store format version 4 does not record which values of float column 'w' were integers",
    );
}

#[test]
fn a_version_3_store_is_read_as_a_store_without_coded_columns() {
    let scratch = Scratch::new();
    let mut text = String::from("v,w\n");
    for i in 0..2_000 {
        text.push_str(&format!("{},{}.5\n", i % 17, i % 5));
    }
    let csv = scratch.write("data.csv", text);
    let store = csv.with_file_name("st");
    split(&csv, &store, "2");
    assert!(coded(&store).is_empty());
    // what a version 3 rayproc wrote for the same input
    set_store_version(&store, 3);
    let (c, st) = (csv.display().to_string(), store.display().to_string());
    let q = ["--by", "v", "--agg", "count,sum:w"];
    let mut want = vec!["run", "-i", &c];
    want.extend_from_slice(&q);
    let mut got = vec!["run", "--store", &st];
    got.extend_from_slice(&q);
    assert_eq!(ok(&got), ok(&want));
}
