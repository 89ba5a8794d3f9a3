//! Tests of [`Partial`] as a whole: folding, merging and finishing give
//! the same table whichever grouping path the rows took (the short-key
//! cache or the general one, direct or radix-partitioned, shared or own
//! partition tables).

use super::*;
use crate::spec::parse_specs;
use crate::value::{Column, Data, Value};

/// One generated row: key, `v` (a number or null), `w` (an integer).
struct Row {
    key: Option<String>,
    v: Option<f64>,
    w: i64,
}

fn rows(n: usize, groups: usize) -> Vec<Row> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            let seed = crate::testing::xorshift(&mut seed);
            let g = seed as usize % groups;
            Row {
                // a null key, keys longer than a slot's inline bytes,
                // and rows longer than a radix stage
                key: (g != 3).then(|| {
                    let pad = if g.is_multiple_of(50) {
                        150 + g % 7
                    } else {
                        g % 23
                    };
                    format!("g{g}{}", "x".repeat(pad))
                }),
                // whole numbers in some stretches: batches of those are
                // integer batches, as a CSV reader would type them
                v: (!seed.is_multiple_of(11)).then_some(
                    (seed >> 40) as f64 - 5000.0 + ((i / 500) % 3 != 0) as u8 as f64 * 0.25,
                ),
                w: (seed >> 20) as i64 % 1000 - 500,
            }
        })
        .collect()
}

/// Folds `rows` in batches of `batch` rows into `partial`. A batch
/// holds `v` as integers when they all are, as floats otherwise; `w`
/// carries its source text in every other batch when `raw_w`.
fn fold(partial: &mut Partial, plan: &Plan, rows: &[Row], batch: usize, raw_w: bool) {
    for (b, chunk) in rows.chunks(batch).enumerate() {
        let len = chunk.len();
        let keys: Vec<&[u8]> = chunk
            .iter()
            .map(|r| r.key.as_deref().unwrap_or("").as_bytes())
            .collect();
        let key_valid: Vec<bool> = chunk.iter().map(|r| r.key.is_some()).collect();
        let v_valid: Vec<bool> = chunk.iter().map(|r| r.v.is_some()).collect();
        let ints: Vec<i64> = chunk.iter().map(|r| r.v.unwrap_or(0.0) as i64).collect();
        let floats: Vec<f64> = chunk.iter().map(|r| r.v.unwrap_or(0.0)).collect();
        let w: Vec<i64> = chunk.iter().map(|r| r.w).collect();
        let w_text: Vec<String> = w.iter().map(|v| v.to_string()).collect();
        let w_raw: Vec<&[u8]> = w_text.iter().map(|t| t.as_bytes()).collect();
        let int_batch = chunk.iter().all(|r| r.v.is_none_or(|v| v.fract() == 0.0));
        let batch = Batch {
            len,
            columns: vec![
                Column {
                    len,
                    data: Data::Text(&keys),
                    valid: Some(&key_valid),
                    raw: None,
                },
                Column {
                    len,
                    data: if int_batch {
                        Data::Int(&ints)
                    } else {
                        Data::Float(&floats)
                    },
                    valid: Some(&v_valid),
                    raw: None,
                },
                Column {
                    len,
                    data: Data::Int(&w),
                    valid: None,
                    raw: (raw_w && b % 2 == 0).then_some(&w_raw[..]),
                },
            ],
            types: vec![
                ColumnType::Text,
                if int_batch {
                    ColumnType::Int
                } else {
                    ColumnType::Float
                },
                ColumnType::Int,
            ],
        };
        partial.fold(plan, &batch).expect("numbers only");
    }
}

fn plan(aggs: &str) -> Plan {
    let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
    Plan::new(&header, &parse_specs(&[aggs]).unwrap(), &["k".into()]).unwrap()
}

/// The table from `workers` partials, each folding every
/// `workers`-th slice of the rows.
fn run(plan: &Plan, rows: &[Row], workers: usize, limits: (usize, usize), raw_w: bool) -> Table {
    let slices: Vec<&[Row]> = rows.chunks(rows.len().div_ceil(workers)).collect();
    // the even workers fold into shared tables, the odd ones into their own
    let shared = SharedParts::new();
    let partials = slices
        .iter()
        .enumerate()
        .map(|(w, slice)| {
            let mut p = Partial::with_limits(plan, limits.0, limits.1);
            if w % 2 == 0 {
                p.shared = Some(Arc::clone(&shared));
            }
            fold(&mut p, plan, slice, 200, raw_w);
            // the paths under test were taken
            let radix = p.radix.as_deref();
            assert_eq!(radix.is_some(), limits.0 < 10_000);
            if limits.1 < 1 << 16 {
                assert!(radix.is_some_and(Radix::folded));
            }
            p
        })
        .collect();
    let total = Partial::merge_all(plan, partials);
    assert!(total.complete(plan));
    total.finish(plan)
}

/// Asserts equal tables, showing the first difference only.
fn same(got: &Table, want: &Table, what: &str) {
    assert_eq!(got.columns, want.columns);
    let (got_rows, want_rows) = (got.to_rows(), want.to_rows());
    for (i, (g, w)) in got_rows.iter().zip(&want_rows).enumerate() {
        assert_eq!(g, w, "{what}: row {i}");
    }
    assert_eq!(got.len(), want.len(), "{what}");
}

#[test]
fn short_keys_group_as_the_general_path() {
    let plan = plan("count,sum:w,min:w");
    // keys of every length up to 16 that differ in one middle byte (the
    // two words of a key overlap there), the empty key, and now and then
    // a batch with a key too long for the cache
    let key_of = |i: usize| -> String {
        let len = i % 17;
        let mut key = vec![b'k'; len];
        if len > 0 {
            key[len / 2] = b'A' + (i / 17 % 50) as u8;
        }
        String::from_utf8(key).unwrap()
    };
    for distinct in [300, 2_000] {
        let mut seed = 0x5151_u64;
        let rows: Vec<(String, i64)> = (0..20_000)
            .map(|i| {
                let r = crate::testing::xorshift(&mut seed);
                let key = if i % 1_001 == 0 {
                    "a key longer than sixteen bytes".to_string()
                } else {
                    key_of(r as usize % distinct)
                };
                (key, (r >> 32) as i64 % 1000)
            })
            .collect();
        let table = |cached: bool| {
            let mut partial = Partial::new(&plan);
            for chunk in rows.chunks(256) {
                let keys: Vec<&[u8]> = chunk.iter().map(|(k, _)| k.as_bytes()).collect();
                let w: Vec<i64> = chunk.iter().map(|&(_, w)| w).collect();
                // a validity mask, even all true, sends keys the general way
                let all_valid = vec![true; chunk.len()];
                let col = |data| Column {
                    len: chunk.len(),
                    data,
                    valid: None,
                    raw: None,
                };
                let batch = Batch {
                    len: chunk.len(),
                    columns: vec![
                        Column {
                            valid: (!cached).then_some(&all_valid[..]),
                            ..col(Data::Text(&keys))
                        },
                        col(Data::Int(&w)),
                        col(Data::Int(&w)),
                    ],
                    types: vec![ColumnType::Text, ColumnType::Int, ColumnType::Int],
                };
                partial.fold(&plan, &batch).unwrap();
            }
            Partial::merge_all(&plan, vec![partial]).finish(&plan)
        };
        same(&table(true), &table(false), &format!("{distinct} keys"));
    }
}

#[test]
fn partitioned_group_by_answers_as_the_direct_one() {
    let rows = rows(60_000, 9_000);
    let plan = plan(
        "count,count:v,sum:v,mean:v,std:v,median:v,p90:v,null_count:v,sum:w,min:w,max:w,distinct:w",
    );
    let direct = run(&plan, &rows, 1, (usize::MAX, usize::MAX), false);
    assert!(direct.len() > 8_900);
    for (workers, limits) in [
        (1, (0, usize::MAX)),
        (3, (100, usize::MAX)),
        // tiny budget: folds buffers into per-partition tables often,
        // and at every change of v's type
        (2, (10, 5_000)),
        (4, (2_000, 1 << 24)),
    ] {
        let radix = run(&plan, &rows, workers, limits, false);
        same(
            &radix,
            &direct,
            &format!("{workers} workers, limits {limits:?}"),
        );
    }
}

#[test]
fn batches_whose_raw_text_a_state_reads_are_folded_directly() {
    // min/max/distinct of w read its raw text: batches that carry it
    // bypass the buffers, the others are buffered, and every state
    // still sees every row once
    let rows = rows(30_000, 5_000);
    let plan = plan("sum:v,min:w,max:w,distinct:w,count");
    let direct = run(&plan, &rows, 1, (usize::MAX, usize::MAX), true);
    for workers in [1, 3] {
        same(
            &run(&plan, &rows, workers, (50, 4_096), true),
            &direct,
            "raw w",
        );
    }
}

#[test]
fn integer_keys_written_two_ways_are_one_group_across_partitions() {
    // "7" and "007" are different texts (so, likely, different hash
    // partitions) but one integer key: finish merges them across tables
    let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
    let plan = Plan::new(
        &header,
        &parse_specs(&["count,sum:w"]).unwrap(),
        &["k".into()],
    )
    .unwrap();
    let fold_all = |partial: &mut Partial| {
        for chunk in (0..40_000i64).collect::<Vec<_>>().chunks(500) {
            let len = chunk.len();
            let keys: Vec<i64> = chunk.iter().map(|i| i % 10_000).collect();
            let text: Vec<String> = chunk
                .iter()
                .zip(&keys)
                .map(|(i, k)| {
                    if i % 3 == 0 {
                        format!("{k:05}")
                    } else {
                        k.to_string()
                    }
                })
                .collect();
            let raw: Vec<&[u8]> = text.iter().map(|t| t.as_bytes()).collect();
            let w: Vec<i64> = chunk.to_vec();
            let batch = Batch {
                len,
                columns: vec![
                    Column {
                        len,
                        data: Data::Int(&keys),
                        valid: None,
                        raw: Some(&raw),
                    },
                    // slot 1: w (slots follow first mention: keys, then aggregates)
                    Column {
                        len,
                        data: Data::Int(&w),
                        valid: None,
                        raw: None,
                    },
                ],
                types: vec![ColumnType::Int, ColumnType::Int],
            };
            partial.fold(&plan, &batch).unwrap();
        }
    };
    let finish = |limits: (usize, usize)| {
        let mut p = Partial::with_limits(&plan, limits.0, limits.1);
        fold_all(&mut p);
        assert_eq!(p.radix.is_some(), limits.0 < 20_000);
        Partial::merge_all(&plan, vec![p]).finish(&plan)
    };
    let direct = finish((usize::MAX, usize::MAX));
    assert_eq!(direct.len(), 10_000);
    assert_eq!(
        direct.to_rows()[7],
        vec![
            Value::Int(7),
            Value::Int(4),
            Value::Int(7 + 10_007 + 20_007 + 30_007)
        ]
    );
    same(&finish((100, usize::MAX)), &direct, "radix");
    same(&finish((100, 3_000)), &direct, "radix, folded");
}
