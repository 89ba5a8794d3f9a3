//! csv-spectrum acid tests: every case under testdata/csv-spectrum must
//! parse to the records of its JSON, at every partition count.
//!
//! rayproc prints aggregates, not records, so each case is checked through
//! aggregates whose expected values follow from the JSON records:
//! - per column C: `count, count:C, min:C, max:C, distinct:C, null_count:C`;
//! - per column C: `--by C --agg count` (the value counts of C);
//! - `--by <every column> --agg count` (the records themselves, as a multiset).
//!
//! The expected values use rayproc's documented typing rules: a JSON `""`
//! is null; a column is text if a value is an integer with a significant
//! leading zero (`08123`), else integer if every non-null value is an i64
//! (`-0` is not: it is the float -0.0), float if every one is a number,
//! else text; min/max/keys compare in that type.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};

use crate::common::{fixture, run_on};

const SPECTRUM_PARTITIONS: &[u32] = &[1, 2, 3, 7, 64];

/// A typed, non-null cell.
#[derive(Clone, Debug)]
enum Cell {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    fn cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
            (Cell::Float(a), Cell::Float(b)) => a.total_cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            _ => panic!("cells of one column have one type"),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Cell::Int(i) => json!(i),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Cell::Text(t) => json!(t),
        }
    }
}

/// A number as the contract means it: something Rust parses as f64 that
/// has a digit (so not `inf` or `NaN` spelled out).
fn as_number(s: &str) -> Option<f64> {
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// `007`, `-01`: an integer written with a significant leading zero.
fn zero_padded(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    digits.len() >= 2 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Types a column's raw values ("" is null).
fn type_column(raw: &[String]) -> Vec<Option<Cell>> {
    let present: Vec<&String> = raw.iter().filter(|s| !s.is_empty()).collect();
    let padded = present.iter().any(|s| zero_padded(s));
    // (`-0` is the float -0.0: an integer cannot keep the sign)
    let all_int = !padded
        && (present.iter()).all(|s| {
            s.parse::<i64>()
                .is_ok_and(|i| i != 0 || !s.starts_with('-'))
        });
    let all_num = !padded && present.iter().all(|s| as_number(s).is_some());
    raw.iter()
        .map(|s| {
            if s.is_empty() {
                None
            } else if all_int {
                Some(Cell::Int(s.parse().unwrap()))
            } else if all_num {
                Some(Cell::Float(as_number(s).unwrap()))
            } else {
                Some(Cell::Text(s.clone()))
            }
        })
        .collect()
}

/// Orders optional cells with null last.
fn cmp_opt(a: &Option<Cell>, b: &Option<Cell>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(y),
    }
}

fn cmp_keys(a: &[Option<Cell>], b: &[Option<Cell>]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_opt(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn opt_json(c: &Option<Cell>) -> Json {
    c.as_ref().map_or(Json::Null, Cell::to_json)
}

/// One csv-spectrum case: its CSV path, column names and records.
struct Case {
    name: String,
    csv: PathBuf,
    columns: Vec<String>,
    /// `typed[c][r]`: column c of record r.
    typed: Vec<Vec<Option<Cell>>>,
    records: usize,
}

fn load_case(json_path: &Path) -> Case {
    let name = json_path
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let csv = fixture("csv-spectrum/csvs").join(format!("{name}.csv"));
    assert!(csv.is_file(), "case {name}: {} is missing", csv.display());
    let text = std::fs::read_to_string(json_path).unwrap();
    let parsed: Json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("case {name}: bad JSON {}: {e}", json_path.display()));
    let records = parsed
        .as_array()
        .unwrap_or_else(|| panic!("case {name}: JSON is not an array"));
    assert!(!records.is_empty(), "case {name}: no records");
    // Column order: the CSV header (first line), which the JSON objects'
    // keys must match as a set.
    let header_line = std::fs::read_to_string(&csv).unwrap();
    let header_line = header_line.lines().next().unwrap().trim_end_matches('\r');
    let columns: Vec<String> = header_line.split(',').map(str::to_string).collect();
    let mut typed = Vec::new();
    for col in &columns {
        let raw: Vec<String> = records
            .iter()
            .map(|r| {
                r.get(col)
                    .and_then(Json::as_str)
                    .unwrap_or_else(|| panic!("case {name}: record {r} lacks string field {col}"))
                    .to_string()
            })
            .collect();
        typed.push(type_column(&raw));
    }
    for r in records {
        assert_eq!(
            r.as_object().unwrap().len(),
            columns.len(),
            "case {name}: record {r} has other keys than the header {columns:?}"
        );
    }
    Case {
        name,
        csv,
        columns,
        typed,
        records: records.len(),
    }
}

fn cases() -> Vec<Case> {
    let dir = fixture("csv-spectrum/json");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 11, "the 11 csv-spectrum cases are in testdata");
    paths.iter().map(|p| load_case(p)).collect()
}

/// Runs rayproc with `--format json` on the case at `partitions` and
/// compares with `expected`.
fn check(case: &Case, partitions: u32, args: &[&str], expected: &Json) {
    let p = partitions.to_string();
    let mut all = args.to_vec();
    all.extend(["--format", "json", "--partitions", &p, "--threads", "2"]);
    let r = run_on(&case.csv, &all);
    assert_eq!(
        r.code, 0,
        "case {}, --partitions {partitions}: rayproc {all:?} failed:\n{}",
        case.name, r.stderr
    );
    let got: Json = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "case {}, --partitions {partitions}: {all:?} printed invalid JSON ({e}):\n{}",
            case.name, r.stdout
        )
    });
    assert_eq!(
        &got, expected,
        "case {}, --partitions {partitions}: rayproc {all:?}\n  got:      {got}\n  expected: {expected}",
        case.name
    );
}

fn expected_column_stats(case: &Case, c: usize) -> Json {
    let col = &case.columns[c];
    let values: Vec<&Cell> = case.typed[c].iter().flatten().collect();
    let min = values
        .iter()
        .copied()
        .min_by(|a, b| a.cmp(b))
        .map_or(Json::Null, Cell::to_json);
    let max = values
        .iter()
        .copied()
        .max_by(|a, b| a.cmp(b))
        .map_or(Json::Null, Cell::to_json);
    let mut sorted = values.clone();
    sorted.sort_by(|a, b| a.cmp(b));
    sorted.dedup_by(|a, b| a.cmp(b).is_eq());
    let mut obj = Map::new();
    obj.insert("count".into(), json!(case.records));
    obj.insert(format!("count_{col}"), json!(values.len()));
    obj.insert(format!("min_{col}"), min);
    obj.insert(format!("max_{col}"), max);
    obj.insert(format!("distinct_{col}"), json!(sorted.len()));
    obj.insert(
        format!("null_count_{col}"),
        json!(case.records - values.len()),
    );
    json!([obj])
}

/// Rows of `--by cols --agg count`: distinct key tuples sorted, with counts.
fn expected_groups(case: &Case, cols: &[usize]) -> Json {
    let mut keys: Vec<Vec<Option<Cell>>> = (0..case.records)
        .map(|r| cols.iter().map(|&c| case.typed[c][r].clone()).collect())
        .collect();
    keys.sort_by(|a, b| cmp_keys(a, b));
    let mut rows: Vec<(Vec<Option<Cell>>, usize)> = Vec::new();
    for k in keys {
        match rows.last_mut() {
            Some((last, n)) if cmp_keys(last, &k).is_eq() => *n += 1,
            _ => rows.push((k, 1)),
        }
    }
    Json::Array(
        rows.into_iter()
            .map(|(k, n)| {
                let mut obj = Map::new();
                for (&c, v) in cols.iter().zip(&k) {
                    obj.insert(case.columns[c].clone(), opt_json(v));
                }
                obj.insert("count".into(), json!(n));
                Json::Object(obj)
            })
            .collect(),
    )
}

#[test]
fn spectrum_fixtures_are_present_with_their_license_note() {
    let readme = fixture("csv-spectrum/README.md");
    let text = std::fs::read_to_string(&readme).expect("testdata/csv-spectrum/README.md");
    assert!(
        text.contains("BSD-2-Clause"),
        "README keeps the license note"
    );
    for case in cases() {
        let bytes = std::fs::read(&case.csv).unwrap();
        assert!(!bytes.is_empty(), "case {}: empty CSV", case.name);
    }
}

#[test]
fn every_column_has_the_json_counts_extremes_and_distinct_values_at_every_partition_count() {
    for case in cases() {
        for (c, col) in case.columns.iter().enumerate() {
            let agg =
                format!("count,count:{col},min:{col},max:{col},distinct:{col},null_count:{col}");
            let expected = expected_column_stats(&case, c);
            for &p in SPECTRUM_PARTITIONS {
                check(&case, p, &["--agg", &agg], &expected);
            }
        }
    }
}

#[test]
fn group_by_each_column_gives_the_json_value_counts_at_every_partition_count() {
    for case in cases() {
        for (c, col) in case.columns.iter().enumerate() {
            let expected = expected_groups(&case, &[c]);
            for &p in SPECTRUM_PARTITIONS {
                check(&case, p, &["--by", col, "--agg", "count"], &expected);
            }
        }
    }
}

#[test]
fn group_by_all_columns_gives_the_json_records_at_every_partition_count() {
    for case in cases() {
        let all: Vec<usize> = (0..case.columns.len()).collect();
        let by = case.columns.join(",");
        let expected = expected_groups(&case, &all);
        for &p in SPECTRUM_PARTITIONS {
            check(&case, p, &["--by", &by, "--agg", "count"], &expected);
        }
    }
}

/// Sanity check of the expectations themselves on one hand-read case, so
/// that a bug in the typing helpers cannot make every case pass vacuously.
#[test]
fn expectations_for_comma_in_quotes_are_what_a_person_reads() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "comma_in_quotes")
        .unwrap();
    let city = case.columns.iter().position(|c| c == "city").unwrap();
    assert_eq!(
        expected_column_stats(&case, city),
        json!([{
            "count": 1, "count_city": 1, "min_city": "Anytown, WW",
            "max_city": "Anytown, WW", "distinct_city": 1, "null_count_city": 0
        }])
    );
    let zip = case.columns.iter().position(|c| c == "zip").unwrap();
    assert_eq!(
        expected_groups(&case, &[zip]),
        json!([{"zip": "08123", "count": 1}]),
        "\"08123\" is a zip code: its column is text"
    );
    let empty = cases().into_iter().find(|c| c.name == "empty").unwrap();
    assert_eq!(
        expected_groups(&empty, &[1]),
        json!([{"b": 3, "count": 1}, {"b": null, "count": 1}])
    );
}
