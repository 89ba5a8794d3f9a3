//! Tests of [`Partial`] as a whole: folding, merging and finishing give
//! the same table whichever grouping path the rows took (the short-key
//! cache or the general one, direct or radix-partitioned, shared or own
//! partition tables, or by dictionary code).

use super::*;
use crate::dict::{Codes, Dictionary};
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
                // rows longer than a radix stage, and keys about 255 bytes
                // long (a buffered length's one byte, or five)
                key: (g != 3).then(|| {
                    let pad = if g.is_multiple_of(100) {
                        245 + g % 13
                    } else if g.is_multiple_of(50) {
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
    fold_coding(partial, plan, rows, batch, raw_w, None);
}

/// [`fold`], with the key column of every `every`-th batch also coded
/// against `dict` (a dictionary of every key, as a store's), when given.
fn fold_coding(
    partial: &mut Partial,
    plan: &Plan,
    rows: &[Row],
    batch: usize,
    raw_w: bool,
    coding: Option<(&Arc<Dictionary>, usize)>,
) {
    let values: Vec<&[u8]> = coding.map_or(Vec::new(), |(d, _)| d.iter().collect());
    for (b, chunk) in rows.chunks(batch).enumerate() {
        let len = chunk.len();
        let keys: Vec<&[u8]> = chunk
            .iter()
            .map(|r| r.key.as_deref().unwrap_or("").as_bytes())
            .collect();
        // a null key's code means nothing: 0
        let codes: Vec<u32> = keys
            .iter()
            .map(|k| values.binary_search(k).unwrap_or(0) as u32)
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
                    // as sources hand them: no validity when nothing is null
                    valid: key_valid.contains(&false).then_some(&key_valid[..]),
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
            codes: match coding {
                Some((dict, every)) if b % every == 0 => {
                    let valid = key_valid.contains(&false).then_some(&key_valid[..]);
                    vec![Some(Codes::new(&codes, valid, dict).unwrap())]
                }
                _ => Vec::new(),
            },
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

/// A worker folding its buffers does not wait for a partition another
/// worker is folding: it folds every other partition first. (Waiting for
/// each partition's lock in turn made the workers convoy.)
#[test]
fn a_fold_passes_over_a_partition_another_worker_holds() {
    let plan = plan("count,sum:v,sum:w");
    // no whole numbers in `v`: a batch of them would change the buffered
    // column's type, which folds the buffers at once
    let mut rows = rows(20_000, 5_000);
    rows.iter_mut().for_each(|r| r.v = r.v.map(|v| v + 0.5));
    let shared = SharedParts::new();
    let mut partial = Partial::with_limits(&plan, 100, usize::MAX);
    partial.shared = Some(Arc::clone(&shared));
    fold(&mut partial, &plan, &rows, 200, false);
    let radix = partial.radix.as_deref_mut().expect("partitioned");
    assert!(!radix.folded());
    let parts = radix.buffered_parts();
    assert!(parts.len() > 100, "{} partitions", parts.len());
    // the partition this worker would fold first, held by "another worker"
    let held = shared.table(parts[0]);
    std::thread::scope(|s| {
        let folder = s.spawn(|| radix.fold_buffers(&plan));
        let others_folded = || parts[1..].iter().all(|&p| shared.table(p).is_some());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !others_folded() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let folded_while_held = others_folded();
        assert!(held.is_none(), "folded a partition while another held it");
        drop(held);
        folder.join().unwrap();
        assert!(
            folded_while_held,
            "the fold waited for the held partition before folding the others"
        );
    });
    assert!(parts.iter().all(|&p| shared.table(p).is_some()));
    // and the rows all arrived: the answer is the one-worker direct table's
    let total = Partial::merge_all(&plan, vec![partial]);
    let mut direct = Partial::with_limits(&plan, usize::MAX, usize::MAX);
    fold(&mut direct, &plan, &rows, 200, false);
    let want = Partial::merge_all(&plan, vec![direct]).finish(&plan);
    same(
        &total.finish(&plan),
        &want,
        "folded around a held partition",
    );
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
                    codes: Vec::new(),
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

/// The short-key cache's placement is seeded per process; a partial's
/// bytes and table are the same under any seed, for keys that all shared
/// one home slot under the old fixed placement (16 hex digits: both words
/// full) and for everyday ones.
#[test]
fn short_keys_answer_alike_under_any_seed() {
    let plan = plan("count,sum:w,approx_distinct:w");
    let old_home = |k: &[u8]| {
        let w = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
        let x = w(&k[..8]) ^ w(&k[8..]).rotate_left(29) ^ 16;
        x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52
    };
    let crafted: Vec<String> = (0u64..)
        .map(|i| format!("{:016x}", i.wrapping_mul(0x2545_f491_4f6c_dd1d)))
        .filter(|k| old_home(k.as_bytes()) == 0)
        .take(600)
        .collect();
    let everyday: Vec<String> = (0..300).map(|i| format!("key{i}")).collect();
    let mut seed = 0x77_u64;
    let rows: Vec<(&str, i64)> = (0..30_000)
        .map(|i| {
            let r = crate::testing::xorshift(&mut seed) as usize;
            let keys = if i % 3 == 0 { &everyday } else { &crafted };
            (keys[r % keys.len()].as_str(), (r >> 40) as i64 % 5000)
        })
        .collect();
    let fold = |salt: u64| {
        crate::keyset::test_seeds::with_salt(salt, || {
            let mut partial = Partial::new(&plan);
            for chunk in rows.chunks(1000) {
                let keys: Vec<&[u8]> = chunk.iter().map(|(k, _)| k.as_bytes()).collect();
                let w: Vec<i64> = chunk.iter().map(|&(_, w)| w).collect();
                let col = |data| Column {
                    len: chunk.len(),
                    data,
                    valid: None,
                    raw: None,
                };
                let batch = Batch {
                    codes: Vec::new(),
                    len: chunk.len(),
                    columns: vec![
                        col(Data::Text(&keys)),
                        col(Data::Int(&w)),
                        col(Data::Int(&w)),
                    ],
                    types: vec![ColumnType::Text, ColumnType::Int, ColumnType::Int],
                };
                partial.fold(&plan, &batch).unwrap();
            }
            let merged = Partial::merge_all(&plan, vec![partial]);
            let mut bytes = Vec::new();
            merged.encode(&mut bytes);
            (bytes, merged.finish(&plan))
        })
    };
    let (bytes, table) = fold(0);
    assert_eq!(table.len(), 900);
    for salt in [1, 0xfeed] {
        let (b, t) = fold(salt);
        assert!(b == bytes, "salt {salt}: other partial bytes");
        same(&t, &table, &format!("salt {salt}"));
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
        // more workers than the buffer budget's floors allow: their
        // buffers are unmapped aside, and eight small tables are split
        (8, (500, 1 << 24)),
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
fn buffered_rows_carry_the_raw_text_a_state_reads() {
    // min/max/distinct of w read its raw text: every other batch carries
    // it, and its rows carry it through the buffers (before, such batches
    // bypassed them); every state still sees every row once
    let rows = rows(30_000, 5_000);
    let plan = plan("sum:v,min:w,max:w,distinct:w,approx_distinct:w,count");
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
fn buffered_rows_carry_a_text_column_whose_states_all_take_text() {
    // k is text (with nulls, and keys longer than a stage): counted,
    // compared and counted apart through the buffers
    let rows = rows(30_000, 5_000);
    let plan = plan("count:k,null_count:k,min:k,max:k,distinct:k,approx_distinct:k,sum:v");
    let direct = run(&plan, &rows, 1, (usize::MAX, usize::MAX), false);
    for (workers, limits) in [(1, (50, 4_096)), (3, (100, usize::MAX)), (2, (10, 1 << 20))] {
        same(
            &run(&plan, &rows, workers, limits, false),
            &direct,
            &format!("text k, {workers} workers, limits {limits:?}"),
        );
    }
}

#[test]
fn text_a_numeric_aggregate_reads_is_never_buffered() {
    // once partitioning, a batch whose v is text goes to the direct table,
    // where `sum` rejects it at its first text row
    let sums = plan("distinct:v,sum:v");
    let mut partial = Partial::with_limits(&sums, 0, 1 << 20);
    let keys: Vec<Vec<u8>> = (0..8).map(|i| format!("k{i}").into_bytes()).collect();
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let ints: Vec<i64> = (0..8).collect();
    let text: Vec<&[u8]> = vec![b"1", b"2", b"x", b"4", b"y", b"6", b"7", b"8"];
    let w = vec![0i64; 8];
    fn batch<'a>(keys: &'a [&'a [u8]], v: Data<'a>, w: &'a [i64]) -> Batch<'a> {
        let col = |data| Column {
            len: keys.len(),
            data,
            valid: None,
            raw: None,
        };
        let v_type = match v {
            Data::Int(_) => ColumnType::Int,
            _ => ColumnType::Text,
        };
        Batch {
            codes: Vec::new(),
            len: keys.len(),
            columns: vec![col(Data::Text(keys)), col(v), col(Data::Int(w))],
            types: vec![ColumnType::Text, v_type, ColumnType::Int],
        }
    }
    partial
        .fold(&sums, &batch(&keys, Data::Int(&ints), &w))
        .unwrap();
    let radix = partial.radix.as_deref().expect("partitioning");
    let texts = batch(&keys, Data::Text(&text), &w);
    assert!(!radix.accepts(&texts));
    // without the sum, the same batch is buffered, with its text
    let takes_text = plan("distinct:v,count:v,min:v");
    let mut buffered = Partial::with_limits(&takes_text, 0, 1 << 20);
    buffered
        .fold(&takes_text, &batch(&keys, Data::Int(&ints), &w))
        .unwrap();
    assert!(buffered.radix.as_deref().unwrap().accepts(&texts));
    // nor is text too long for a buffered row's lengths (a field of a
    // gigabyte: zeroed pages the test never touches)
    let huge = vec![0u8; (1 << 30) + 1];
    let mut long = text.clone();
    long[5] = &huge;
    assert!(!(buffered.radix.as_deref().unwrap()).accepts(&batch(&keys, Data::Text(&long), &w)));
    // nor a key that long
    let mut long_keys = keys.clone();
    long_keys[3] = &huge;
    assert!(!(buffered.radix.as_deref().unwrap()).accepts(&batch(
        &long_keys,
        Data::Int(&ints),
        &w
    )));
    assert_eq!(
        partial.fold(&sums, &texts),
        Err(Rejected { row: 2, agg: 1 })
    );
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
                codes: Vec::new(),
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

/// Every aggregate, for the partial byte-form tests.
const ALL_AGGS: &str = "count,count:v,sum:v,mean:v,std:v,var_pop:v,median:v,p90:v,null_count:v,\
sum:w,min:w,max:w,min:k,max:k,distinct:w,distinct:k,approx_distinct:k,approx_median:v,approx_p99:w";

/// The partial of `rows` (as `run` folds them, merged), its byte form.
fn partial_of(plan: &Plan, rows: &[Row], workers: usize, limits: (usize, usize)) -> Partial {
    let slices: Vec<&[Row]> = rows.chunks(rows.len().div_ceil(workers).max(1)).collect();
    let partials = slices
        .iter()
        .map(|slice| {
            let mut p = Partial::with_limits(plan, limits.0, limits.1);
            fold(&mut p, plan, slice, 200, true);
            p
        })
        .collect();
    Partial::merge_all(plan, partials)
}

fn bytes_of(p: &Partial) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode(&mut out);
    out
}

fn keyless_plan(aggs: &str) -> Plan {
    let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
    // `count:k` first: slots in the order `fold` makes columns (k, v, w)
    let aggs = format!("count:k,{aggs}");
    Plan::new(&header, &parse_specs(&[&aggs]).unwrap(), &[]).unwrap()
}

#[test]
fn wire_partials_round_trip_to_the_same_table() {
    let rows = rows(30_000, 4_000);
    for plan in [plan(ALL_AGGS), keyless_plan(ALL_AGGS)] {
        // direct, and through the radix path (one table per partition)
        for (workers, limits) in [(1, (usize::MAX, usize::MAX)), (3, (100, 5_000))] {
            let p = partial_of(&plan, &rows, workers, limits);
            assert_eq!(p.parts.is_empty(), plan.keys.is_empty() || limits.0 > 1000);
            let bytes = bytes_of(&p);
            let want = p.finish(&plan);
            let decoded = Partial::decode(&plan, &bytes).unwrap();
            assert_eq!(bytes_of(&decoded), bytes, "canonical");
            same(&decoded.finish(&plan), &want, &format!("{workers} workers"));
        }
    }
}

#[test]
fn wire_decoded_partials_merge_as_the_originals() {
    let rows = rows(20_000, 3_000);
    for plan in [plan(ALL_AGGS), keyless_plan(ALL_AGGS)] {
        let want = partial_of(&plan, &rows, 2, (usize::MAX, usize::MAX)).finish(&plan);
        // three map parts, one through the radix path, merged in a tree
        let parts: Vec<Vec<u8>> = rows
            .chunks(7_000)
            .enumerate()
            .map(|(i, part)| {
                let limits = if i == 1 {
                    (50, 4_096)
                } else {
                    (usize::MAX, usize::MAX)
                };
                bytes_of(&partial_of(&plan, part, 2, limits))
            })
            .collect();
        let decode = |b: &[u8]| Partial::decode(&plan, b).unwrap();
        let left = Partial::merge_all(&plan, vec![decode(&parts[2]), decode(&parts[0])]);
        let left = decode(&bytes_of(&left));
        let all = Partial::merge_all(&plan, vec![decode(&parts[1]), left, Partial::new(&plan)]);
        assert!(all.complete(&plan));
        same(&all.finish(&plan), &want, "map parts merged after decoding");
    }
}

#[test]
fn wire_partial_decoding_checks_plan_and_keys() {
    let plan2 = plan("count,sum:w");
    let rows = rows(500, 40);
    let bytes = bytes_of(&partial_of(&plan2, &rows, 1, (usize::MAX, usize::MAX)));
    let err = |plan: &Plan, b: &[u8]| Partial::decode(plan, b).err().unwrap().0;
    // another plan: its states, its keys
    assert!(!err(&plan("count,sum:w,min:w"), &bytes).is_empty());
    assert!(!err(&keyless_plan("count,sum:w"), &bytes).is_empty());
    // bad types, bad keys, a repeated key, trailing bytes
    let header: Vec<String> = ["a", "b", "w"].map(String::from).to_vec();
    let two_keys = Plan::new(
        &header,
        &parse_specs(&["count"]).unwrap(),
        &["a".into(), "b".into()],
    )
    .unwrap();
    let partial = |types: &[u8], keys: &[&[u8]]| {
        let mut out = vec![types.len() as u8];
        out.extend_from_slice(types);
        out.push(keys.len() as u8);
        let mut prev: &[u8] = &[];
        for k in keys {
            crate::wire::put_prefixed(&mut out, prev, k);
            prev = k;
        }
        out.extend(std::iter::repeat_n(1u8, keys.len()));
        out
    };
    assert!(Partial::decode(
        &two_keys,
        &partial(&[3, 3], &[b"\x01a\0\0\x02", b"\x02\x01\0"])
    )
    .is_ok());
    for (types, key, why) in [
        (&[3u8, 3][..], &b"\x01a"[..], "not terminated"),
        (&[3, 3], b"\x01a\0", "not escaped"),
        (&[3, 3], b"\x01a\0\x05\x02", "not escaped"),
        (&[3, 3], b"\x02", "field 1 missing"),
        (&[3, 3], b"\x02\x02\x02", "after the last field"),
        (&[3, 3], b"\x07\x02", "unknown tag"),
        (&[0, 3], b"\x01a\0\0\x02", "column of nulls"),
        (&[3, 9], b"\x02\x02", "unknown column type"),
    ] {
        let e = err(&two_keys, &partial(types, &[key]));
        assert!(e.contains(why), "{key:?}: {e}");
    }
    // a repeated key, and keys out of order: a partial's groups have one
    // order (ascending bytes), so that its bytes are canonical
    let dup = partial(&[3, 3], &[b"\x02\x02", b"\x02\x02"]);
    let e = err(&two_keys, &dup);
    assert!(e.contains("key 1 (keys from byte 3): not after"), "{e}");
    let descending = partial(&[3, 3], &[b"\x02\x01\0", b"\x01a\0\0\x02"]);
    assert!(err(&two_keys, &descending).contains("key 1 (keys from byte 3): not after"));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(err(&plan2, &trailing).contains("trailing"));
}

/// Thousands of mutated and random byte strings: decoding never panics,
/// and what decodes merges (with itself and a fresh partial) and finishes.
#[test]
fn wire_mutated_partials_never_panic() {
    let rows = rows(300, 25);
    let small = "count,sum:v,mean:w,std:v,median:v,min:k,max:w,distinct:k,approx_distinct:w,approx_median:v,null_count:v";
    let mut seed = 0xfeed_beef_u64;
    let mut next = || crate::testing::xorshift(&mut seed);
    for plan in [plan(small), keyless_plan(small)] {
        let good = bytes_of(&partial_of(&plan, &rows, 1, (usize::MAX, usize::MAX)));
        assert!(Partial::decode(&plan, &good).is_ok());
        for cut in 0..good.len() {
            assert!(Partial::decode(&plan, &good[..cut]).is_err(), "cut {cut}");
        }
        let mut accepted = 0;
        for round in 0..3_000 {
            let mut bytes = if round % 10 == 9 {
                (0..next() % 64).map(|_| next() as u8).collect()
            } else {
                good.clone()
            };
            for _ in 0..1 + next() % 3 {
                if bytes.is_empty() {
                    break;
                }
                let i = next() as usize % bytes.len();
                match next() % 6 {
                    0 => bytes[i] ^= 1 << (next() % 8),
                    1 => bytes[i] = next() as u8,
                    2 => bytes.truncate(i),
                    3 => bytes.insert(i, next() as u8),
                    4 => {
                        bytes.remove(i);
                    }
                    _ => bytes.extend((0..next() % 8).map(|_| next() as u8)),
                }
            }
            if let Ok(p) = Partial::decode(&plan, &bytes) {
                accepted += 1;
                assert_eq!(bytes_of(&p), bytes, "accepted bytes are canonical");
                let q = Partial::decode(&plan, &bytes).unwrap();
                let merged = Partial::merge_all(&plan, vec![p, q, Partial::new(&plan)]);
                merged.complete(&plan);
                merged.finish(&plan);
            }
        }
        assert!(accepted > 0, "some mutations are valid partials");
    }
}

/// A crafted partial (the `partial` fuzz target's input, minimised: the
/// plan with `--by k`, no text extremes) whose `sum:v` state of a group
/// holds an exact sum near 2^2100: finishing it rounded the sum with a
/// second power of two past 2^1023 (`exact::scale`), a debug assertion, and
/// in release -0.0, NaN or a finite negative number in place of infinity.
///
/// (Its `var`/`std` states, which answer `sum:v` and `mean:w`, were made
/// ones that values could make once decoding checked that: squares raised
/// to at least the square of the sum over the count, specials and
/// fractions taken out of the sums of integers, the sums of a state of no
/// values emptied; the sum near 2^2100 is kept, and nothing forbids it.)
#[test]
fn wire_sums_past_the_largest_float_finish_as_infinities() {
    let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
    let aggs = "count,count:v,null_count:v,sum:v,mean:w,var:v,std_pop:w,median:v,p99.9:w,\
                min:v,max:k,distinct:w,approx_distinct:v,approx_median:w,approx_p99:v";
    let plan = Plan::new(&header, &parse_specs(&[aggs]).unwrap(), &["k".into()]).unwrap();
    let p = Partial::decode(&plan, HUGE_SUM).expect("a valid partial");
    let q = Partial::decode(&plan, HUGE_SUM).unwrap();
    let table = Partial::merge_all(&plan, vec![p, q, Partial::new(&plan)]).finish(&plan);
    let rows = table.to_rows();
    let sum = (table.columns.iter())
        .position(|c| c == "sum_v")
        .expect("sum_v");
    let sums: Vec<(&Value, &Value)> = rows.iter().map(|r| (&r[0], &r[sum])).collect();
    assert_eq!(
        sums[1],
        (&Value::Text(b"b".to_vec()), &Value::Float(f64::INFINITY))
    );
    assert!(sums
        .iter()
        .all(|(_, s)| !matches!(s, Value::Float(v) if v.is_nan())));
}

const HUGE_SUM: &[u8] = &[
    0x03, 0x03, 0x03, 0x02, 0x04, 0x00, 0x02, 0x01, 0x61, 0x01, 0x01, 0x62, 0x01, 0x01, 0x63, 0x01,
    0x01, 0x64, 0x02, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 0x00, 0x02, 0x06,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x00, 0x03, 0x20, 0x21, 0x00, 0x00, 0x04,
    0x00, 0x00, 0x00, 0xef, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf4, 0x00, 0xf7, 0xff, 0x05, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x70, 0xd6, 0x01, 0x20, 0xe4, 0xc3, 0xfc, 0x05, 0x00, 0x3f, 0x43, 0x10, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x71, 0x7f, 0x60, 0x5f, 0xe1, 0xd7, 0xbf,
    0x5f, 0x0a, 0xc5, 0xe5, 0xd8, 0x8e, 0x01, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x03, 0x00, 0x03, 0x03, 0x62, 0x00, 0x52, 0xf4, 0x1f, 0x7c, 0xac, 0x36, 0xa6, 0xa4, 0xb5,
    0x15, 0x00, 0x06, 0xc4, 0x01, 0x00, 0x00, 0x44, 0x6a, 0x08, 0x85, 0xdc, 0xde, 0x89, 0xe4, 0x5d,
    0x29, 0xe4, 0xb5, 0x01, 0x7e, 0x2f, 0x68, 0xa3, 0x2a, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01,
    0x21, 0x80, 0x50, 0x00, 0x01, 0x43, 0xc8, 0x01, 0x02, 0x01, 0x03, 0x01, 0x21, 0x80, 0xd0, 0x01,
    0x00, 0x02, 0x42, 0x00, 0x00, 0x90, 0xaa, 0x22, 0x02, 0x00, 0x02, 0x01, 0x03, 0x03, 0x1f, 0x00,
    0x20, 0x1e, 0xd5, 0x7d, 0x05, 0xd2, 0x99, 0x03, 0x00, 0x05, 0x3e, 0x00, 0x00, 0x00, 0x84, 0xcb,
    0x64, 0x16, 0x7e, 0xd9, 0x4f, 0xd5, 0x16, 0xe6, 0xa0, 0x24, 0xf5, 0x02, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, 0x9c, 0x75, 0x00, 0x88, 0x3c, 0xe4,
    0x37, 0x7e, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
    0x36, 0x1e, 0x9c, 0x62, 0xce, 0x6a, 0x95, 0x1a, 0x43, 0x02, 0x03, 0x03, 0x10, 0xd2, 0x0a, 0x1f,
    0xeb, 0x8c, 0xa9, 0x54, 0xab, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x04, 0x40, 0x00, 0x00, 0x02, 0x80, 0x80, 0x01, 0x80, 0x80, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x0b, 0x6a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8e, 0xc0, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x31, 0x04, 0x02, 0x2d, 0x33, 0x00, 0x04, 0x03,
    0x32, 0x2e, 0x35, 0x04, 0x01, 0x04, 0x01, 0x62, 0x01, 0x63, 0x01, 0x64, 0x00, 0x00, 0x02, 0x00,
    0x03, 0x32, 0x2e, 0x35, 0x00, 0x01, 0x34, 0x00, 0x00, 0x02, 0x00, 0x03, 0x30, 0x2e, 0x31, 0x00,
    0x04, 0x31, 0x65, 0x2d, 0x35, 0x00, 0x00, 0x01, 0x00, 0x01, 0x37, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfc, 0x14, 0xf5, 0xa6, 0x98, 0x04, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x9b, 0xdc, 0xf2, 0xbd, 0x11, 0xee, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xce, 0x01, 0x00, 0x00, 0x01,
    0x80, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xf2, 0x01, 0xa9, 0xc1, 0x9c, 0xa8, 0x6a, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x8e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, 0x9c, 0x75, 0x00,
    0x88, 0x3c, 0xe4, 0x37, 0x7e, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x08, 0xc0, 0xe1, 0x63, 0x9d, 0x31, 0x95, 0x6a, 0xe5, 0x43, 0x02, 0x03, 0x03,
    0x10, 0xd2, 0x0a, 0x1f, 0xeb, 0x8c, 0xa9, 0x54, 0xab, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40, 0x00,
];

/// Prints the byte form's size for the benchmark's shapes of query (run
/// with `--ignored --nocapture`).
#[test]
#[ignore]
fn wire_sizes() {
    let header: Vec<String> = ["k", "x", "t"].map(String::from).to_vec();
    let mut seed = 0x1234_5678u64;
    let mut next = || crate::testing::xorshift(&mut seed);
    let size = |aggs: &str,
                by: bool,
                n: usize,
                groups: usize,
                col: &mut dyn FnMut(usize) -> (Vec<f64>, Vec<i64>, Vec<String>)| {
        let by_cols: Vec<String> = if by { vec!["k".into()] } else { vec![] };
        let plan = Plan::new(&header, &parse_specs(&[aggs]).unwrap(), &by_cols).unwrap();
        let mut p = Partial::new(&plan);
        let mut done = 0;
        while done < n {
            let len = (n - done).min(4096);
            let (floats, ints, texts) = col(len);
            let keys: Vec<String> = (0..len)
                .map(|i| format!("{}", (done + i) * 7919 % groups.max(1)))
                .collect();
            let key_raw: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            let text_raw: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
            let x = if floats.is_empty() {
                Data::Int(&ints)
            } else {
                Data::Float(&floats)
            };
            let mut columns = Vec::new();
            if by {
                columns.push(Column {
                    len,
                    data: Data::Text(&key_raw),
                    valid: None,
                    raw: None,
                });
            }
            let ty = if texts.is_empty() {
                columns.push(Column {
                    len,
                    data: x,
                    valid: None,
                    raw: None,
                });
                if floats.is_empty() {
                    ColumnType::Int
                } else {
                    ColumnType::Float
                }
            } else {
                columns.push(Column {
                    len,
                    data: Data::Text(&text_raw),
                    valid: None,
                    raw: None,
                });
                ColumnType::Text
            };
            let mut types = vec![ty];
            if by {
                types.insert(0, ColumnType::Text);
            }
            p.fold(
                &plan,
                &Batch {
                    codes: Vec::new(),
                    len,
                    columns,
                    types,
                },
            )
            .unwrap();
            done += len;
        }
        let p = Partial::merge_all(&plan, vec![p]);
        let bytes = bytes_of(&p);
        assert!(Partial::decode(&plan, &bytes).is_ok());
        println!(
            "{aggs:>12} by={by} rows={n} groups={groups}: {} bytes",
            bytes.len()
        );
    };
    size("mean:x", false, 1_000_000, 0, &mut |len| {
        (
            (0..len)
                .map(|_| (next() >> 11) as f64 / (1u64 << 53) as f64 * 1000.0)
                .collect(),
            vec![],
            vec![],
        )
    });
    size("sum:x", false, 1_000_000, 0, &mut |len| {
        (
            vec![],
            (0..len)
                .map(|_| (next() % 2_000_001) as i64 - 1_000_000)
                .collect(),
            vec![],
        )
    });
    size("median:x", false, 100_000, 0, &mut |len| {
        (
            (0..len)
                .map(|_| (next() % 100_000) as f64 / 100.0)
                .collect(),
            vec![],
            vec![],
        )
    });
    size("median:x", false, 100_000, 0, &mut |len| {
        (
            (0..len)
                .map(|_| (next() >> 11) as f64 / (1u64 << 53) as f64)
                .collect(),
            vec![],
            vec![],
        )
    });
    size("distinct:t", false, 100_000, 0, &mut |len| {
        (
            vec![],
            vec![],
            (0..len)
                .map(|_| format!("user_{:06}", next() % 1_000_000))
                .collect(),
        )
    });
    size("mean:x", true, 1_000_000, 100_000, &mut |len| {
        (
            (0..len)
                .map(|_| (next() % 100_000) as f64 / 100.0)
                .collect(),
            vec![],
            vec![],
        )
    });
}

/// A sorted dictionary of the rows' keys, as a store writes one.
fn dict_of(rows: &[Row]) -> Arc<Dictionary> {
    let mut keys: Vec<&[u8]> = rows
        .iter()
        .filter_map(|r| r.key.as_deref())
        .map(str::as_bytes)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    Arc::new(Dictionary::new(keys).unwrap())
}

/// The table of `workers` partials folding the rows with their keys coded
/// (every `every`-th batch, against `dicts[w % dicts.len()]` for worker
/// `w`), and whether any partial still held coded states before the merge.
fn run_coded(
    plan: &Plan,
    rows: &[Row],
    workers: usize,
    every: usize,
    dicts: &[Arc<Dictionary>],
) -> (Table, bool) {
    let slices: Vec<&[Row]> = rows.chunks(rows.len().div_ceil(workers)).collect();
    let partials: Vec<Partial> = slices
        .iter()
        .enumerate()
        .map(|(w, slice)| {
            let mut p = Partial::with_limits(plan, 500, 1 << 14);
            fold_coding(
                &mut p,
                plan,
                slice,
                200,
                true,
                Some((&dicts[w % dicts.len()], every)),
            );
            p
        })
        .collect();
    let coded = partials.iter().any(|p| p.coded.is_some());
    let total = Partial::merge_all(plan, partials);
    assert!(total.complete(plan));
    (total.finish(plan), coded)
}

#[test]
fn keys_grouped_by_code_answer_as_hashed_keys() {
    for (groups, nulls) in [
        (3, false),
        (40, true),
        (40, false),
        (5_000, true),
        (5_000, false),
    ] {
        // group 3 is the null key; a batch with a null key is not coded
        let rows: Vec<Row> = (rows(12_000, groups).into_iter())
            .filter(|r| nulls || r.key.is_some())
            .collect();
        let dict = dict_of(&rows);
        let plan = plan(ALL_AGGS);
        let want = run(&plan, &rows, 1, (usize::MAX, usize::MAX), true);
        for workers in [1, 3] {
            // every batch coded; one coded and one not, by turns; two
            // dictionaries of the same values (workers on different
            // sources): each way the same answer
            let other = dict_of(&rows);
            for (every, dicts) in [
                (1, vec![dict.clone()]),
                (2, vec![dict.clone()]),
                (1, vec![dict.clone(), other]),
            ] {
                let (got, coded) = run_coded(&plan, &rows, workers, every, &dicts);
                // the coded path ran while no null key or uncoded batch
                // came (a worker may see no null key where they are rare)
                assert!(nulls && every == 1 || coded == (!nulls && every == 1));
                same(
                    &got,
                    &want,
                    &format!(
                        "{groups} groups, {workers} workers, every {every}, {} dicts",
                        dicts.len()
                    ),
                );
            }
        }
    }
}

#[test]
fn coded_states_become_tables_with_the_codes_that_had_rows() {
    let rows: Vec<Row> = rows(3_000, 40)
        .into_iter()
        .filter(|r| r.key.is_some())
        .collect();
    // a dictionary with values no row has, before, between and after
    let mut values: Vec<String> = rows.iter().filter_map(|r| r.key.clone()).collect();
    values.extend(["", "g0", "g39zz", "zzz"].map(String::from));
    values.sort();
    values.dedup();
    let dict = Arc::new(Dictionary::new(values.iter().map(|v| v.as_bytes())).unwrap());
    let plan = plan("count,sum:w,min:k");
    let want = run(&plan, &rows, 1, (usize::MAX, usize::MAX), false);
    let (got, coded) = run_coded(&plan, &rows, 2, 1, &[dict]);
    assert!(coded);
    same(&got, &want, "unused codes");
    assert_eq!(
        got.len(),
        39,
        "one row per key that occurs (group 3 is the null key)"
    );
}

/// A lone `distinct` on 8 or more threads: the run's first batch (its
/// column is text) makes every worker group by the column, also past the
/// radix threshold; workers that fold nothing stay as they were and are
/// left out of the merge; the answer is the per-worker sets'. Fewer
/// threads, or a first batch of numbers, keep the sets.
#[test]
fn a_lone_distinct_on_many_threads_groups_by_its_text_column() {
    let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
    let plan = Plan::new(&header, &parse_specs(&["distinct:k"]).unwrap(), &[]).unwrap();
    for (n, groups) in [(30_000, 4_000), (400_000, 3 * radix::RADIX_GROUPS)] {
        let rows = rows(n, groups);
        let mut alone = Partial::new(&plan);
        fold(&mut alone, &plan, &rows, 200, false);
        assert!(alone.keys_only.is_none() && alone.may_group.is_none());
        let want = Partial::merge_all(&plan, vec![alone]).finish(&plan);

        let shared = SharedParts::new();
        let mut partials = Partial::for_run_workers(&plan, &shared, 8, 8);
        for (p, slice) in partials.iter_mut().zip(rows.chunks(n.div_ceil(5))) {
            fold(p, &plan, slice, 200, false);
        }
        let grouped = partials.iter().filter(|p| p.keys_only.is_some()).count();
        assert_eq!(grouped, 5, "the workers that folded a batch group");
        let radix = partials.iter().any(|p| p.radix.is_some());
        assert_eq!(radix, groups > radix::RADIX_GROUPS);
        assert_eq!(shared.lone_distinct_grouped.get(), Some(&true));
        let total = Partial::merge_all(&plan, partials);
        same(
            &total.finish(&plan),
            &want,
            &format!("{groups} keys, grouped"),
        );

        let mut few = Partial::for_run(&plan, &SharedParts::new(), 7);
        fold(&mut few, &plan, &rows[..1000], 200, false);
        assert!(few.keys_only.is_none(), "7 threads keep the sets");
    }
    // a column of numbers: the sets stay
    let plan = Plan::new(&header, &parse_specs(&["distinct:v"]).unwrap(), &[]).unwrap();
    let shared = SharedParts::new();
    let mut p = Partial::for_run(&plan, &shared, 8);
    let ints: Vec<i64> = (0..1000).collect();
    let batch = Batch {
        len: 1000,
        columns: vec![Column {
            len: 1000,
            data: Data::Int(&ints),
            valid: None,
            raw: None,
        }],
        types: vec![ColumnType::Int],
        codes: Vec::new(),
    };
    p.fold(&plan, &batch).unwrap();
    assert!(
        p.keys_only.is_none(),
        "a first batch of numbers keeps the sets"
    );
    assert_eq!(shared.lone_distinct_grouped.get(), Some(&false));
}
