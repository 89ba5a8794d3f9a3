//! What each aggregate answers, on the bundled sample file and on small
//! files whose answers are worked out by hand: the README's example, the
//! statistics (`mean`, `var`, `std`, quantiles by linear interpolation),
//! `count` alone and `count:COL`, aggregates over only nulls, and the
//! order of several `--agg` flags and lists.

use std::fmt::Write as _;

use serde_json::json;

use crate::common::{f64_of, json_of, run_all_partitions, run_on, sample, temp_csv, Lcg};

// ---------------------------------------------------------------------------
// the sample file

#[test]
fn sample_grouped_by_city_gives_the_exact_csv() {
    // Berlin: qty 1+2, price 7.25 and null, notes "with, comma" and null.
    // Lisbon: qty 5, price 3.5.
    // Paris:  qty 3+null+7, price 10.5,12,1e2 -> fsum 122.5 / 3 = 40.833333333333336.
    let r = run_on(
        &sample(),
        &[
            "--by",
            "city",
            "--agg",
            "count,sum:qty,mean:price,max:price,null_count:price,min:note,max:note",
        ],
    );
    r.expect_ok("sample --by city");
    assert_eq!(
        r.stdout,
        "city,count,sum_qty,mean_price,max_price,null_count_price,min_note,max_note\n\
         Berlin,2,3,7.25,7.25,1,\"with, comma\",\"with, comma\"\n\
         Lisbon,1,5,3.5,3.5,0,\"she said \"\"hi\"\"\",\"she said \"\"hi\"\"\"\n\
         Paris,3,10,40.833333333333336,100.0,0,\"5'11\"\" tall\",plain\n"
    );
}

#[test]
fn sample_without_groups_gives_one_exact_row() {
    // price: 10.5+7.25+12+3.5+100 = 133.25; qty: 3+1+5+2+7 = 18 over 5 = 3.6.
    let r = run_on(
        &sample(),
        &[
            "--agg",
            "count,sum:price,mean:qty,min:id,max:id,distinct:city,count:price,null_count:qty",
        ],
    );
    r.expect_ok("sample, no groups");
    assert_eq!(
        r.stdout,
        "count,sum_price,mean_qty,min_id,max_id,distinct_city,count_price,null_count_qty\n\
         6,133.25,3.6,1,6,3,5,1\n"
    );
}

#[test]
fn sample_answer_is_the_same_at_every_partition_and_thread_count() {
    let out = run_all_partitions(
        &[
            "--by",
            "city",
            "--agg",
            "count,sum:qty,mean:price,min:note,max:note,median:qty",
        ],
        &sample(),
    );
    assert!(out.starts_with("city,count,sum_qty,mean_price,min_note,max_note,median_qty\n"));
    assert_eq!(out.lines().count(), 1 + 3);
}

#[test]
fn group_by_a_column_holding_newlines_quotes_and_commas_prints_csv_quoted_keys() {
    // the note column as a key: every RFC 4180 escape appears in the output
    let r = run_on(
        &sample(),
        &["--by", "note", "--agg", "count", "--partitions", "3"],
    );
    r.expect_ok("--by note");
    assert_eq!(
        r.stdout,
        "note,count\n\
         \"5'11\"\" tall\",1\n\
         \"multi\nline\",1\n\
         plain,1\n\
         \"she said \"\"hi\"\"\",1\n\
         \"with, comma\",1\n\
         ,1\n"
    );
}

// ---------------------------------------------------------------------------
// statistics, counts, several --agg

#[test]
fn mean_var_std_of_known_values() {
    // 2,4,4,4,5,5,7,9: mean 5, squared deviations sum to 32;
    // var = 32/7, std = sqrt(32/7), var_pop = 4, std_pop = 2.
    let (_d, file) = temp_csv("x\n2\n4\n4\n4\n5\n5\n7\n9\n");
    let out = run_all_partitions(
        &[
            "--agg",
            "mean:x,var:x,std:x,var_pop:x,std_pop:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    assert_eq!(f64_of(&v["mean_x"]), 5.0);
    assert_eq!(f64_of(&v["var_x"]), 4.571428571428571);
    assert_eq!(f64_of(&v["std_x"]), 2.138089935299395);
    assert_eq!(f64_of(&v["var_pop_x"]), 4.0);
    assert_eq!(f64_of(&v["std_pop_x"]), 2.0);
}

#[test]
fn median_and_percentiles_use_linear_interpolation() {
    // 10,20,30,40,50 (stored shuffled, with a null):
    //   p99: position 0.99 * 4 = 3.96 -> 40 + 0.96 * 10 = 49.6
    //   p10: position 0.4 -> 14; p25: position 1 -> 20; median 30
    let (_d, file) = temp_csv("x\n40\n10\n\n50\n30\n20\n");
    let out = run_all_partitions(
        &[
            "--agg",
            "median:x,p99:x,p10:x,p25:x,p0:x,p100:x,p50:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    for (name, want) in [
        ("median_x", 30.0),
        ("p99_x", 49.6),
        ("p10_x", 14.0),
        ("p25_x", 20.0),
        ("p0_x", 10.0),
        ("p100_x", 50.0),
        ("p50_x", 30.0),
    ] {
        assert_eq!(f64_of(&v[name]), want, "{name} in {out}");
    }
}

#[test]
fn quantiles_of_one_column_answer_together_as_each_alone() {
    // the quantiles of a column finish together (one selection), among
    // other aggregates and the quantiles of another column: every column
    // of the answer is the one its aggregate gives alone, with and without
    // --by, for big groups (selected together) and small ones (apart)
    let mut rng = Lcg(0x5eed_0f9a_1700);
    let mut text = String::from("k,x,y\n");
    for (key, rows) in [("big", 3000), ("mid", 1500), ("few", 5)] {
        for i in 0..rows {
            let x = rng.below(100_000) as f64 / 64.0 - 500.0;
            let y = rng.below(1_000_000) as i64 - 400_000;
            // a null now and then in each column
            let x = if i % 97 == 5 {
                String::new()
            } else {
                x.to_string()
            };
            let y = if i % 89 == 7 {
                String::new()
            } else {
                y.to_string()
            };
            writeln!(text, "{key},{x},{y}").unwrap();
        }
    }
    let (_d, file) = temp_csv(&text);
    let aggs = [
        "p99:x", "count", "median:y", "mean:x", "p1:x", "p50:y", "median:x", "p100:y",
    ];
    let all = aggs.join(",");
    for by in [&[][..], &["--by", "k"][..]] {
        let together = run_all_partitions(&[by, &["--agg", &all]].concat(), &file);
        let keys = by.len() / 2;
        for (i, agg) in aggs.iter().enumerate() {
            let alone = run_all_partitions(&[by, &["--agg", agg]].concat(), &file);
            let column = |out: &str, at: usize| -> Vec<String> {
                (out.lines())
                    .map(|line| line.split(',').nth(at).unwrap().to_string())
                    .collect()
            };
            assert_eq!(
                column(&together, keys + i),
                column(&alone, keys),
                "{agg} {by:?}:\n{together}"
            );
        }
    }
}

#[test]
fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
    let (_d, file) = temp_csv("x\n4\n1\n3\n2\n");
    let out = run_all_partitions(&["--agg", "median:x"], &file);
    assert_eq!(out, "median_x\n2.5\n");
}

#[test]
fn p99_9_is_a_percentile_spec() {
    // 0..=1000: p99.9 -> position 999 -> 999; p0.1 -> position 1 -> 1.
    let mut text = String::from("x\n");
    for i in (0..=1000).rev() {
        writeln!(text, "{i}").unwrap();
    }
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(&["--agg", "p99.9:x,p0.1:x", "--format", "json"], &file);
    let v = &json_of(&out)[0];
    assert_eq!(f64_of(&v["p99.9_x"]), 999.0, "{out}");
    assert_eq!(f64_of(&v["p0.1_x"]), 1.0, "{out}");
}

/// NN is the decimal as written: a hair above 100 is out of range (exit 2)
/// though its double is 100.0, which let `p100.000000000000001` through as
/// the max; 100 however spelt, and 0, are in.
#[test]
fn percentiles_a_hair_above_100_are_refused() {
    let (_d, file) = temp_csv("x\n1\n2\n3\n");
    for spec in [
        "p100.000000000000001:x",
        "approx_p100.000000000000001:x",
        "p100.00000000000000000000000000001:x",
        "p0100.0000000000000001:x",
        "p-0:x",
    ] {
        let r = run_on(&file, &["--agg", spec]);
        r.expect_code(2, spec);
        assert_eq!(r.stdout, "", "{spec}");
        let name = spec.trim_end_matches(":x");
        assert!(
            r.stderr.contains(&format!("'{name}'")),
            "{spec}: {}",
            r.stderr
        );
    }
    for (spec, col) in [
        ("p100.0000:x", "p100.0000_x"),
        ("p0100:x", "p0100_x"),
        ("p99.99999999999999999:x", "p99.99999999999999999_x"),
        ("approx_p100.000:x", "approx_p100.000_x"),
    ] {
        let r = run_on(&file, &["--agg", spec]);
        r.expect_ok(spec);
        assert_eq!(r.stdout, format!("{col}\n3.0\n"), "{spec}");
    }
    let r = run_on(&file, &["--agg", "p0.000:x,p-0:x"]);
    r.expect_code(2, "p-0");
}

#[test]
fn count_alone_counts_rows_and_count_column_counts_non_null_values() {
    let (_d, file) = temp_csv("a,b\n1,\n,\n3,x\n");
    let out = run_all_partitions(
        &["--agg", "count,count:a,count:b,null_count:a,null_count:b"],
        &file,
    );
    assert_eq!(
        out,
        "count,count_a,count_b,null_count_a,null_count_b\n3,2,1,1,2\n"
    );
}

#[test]
fn aggregates_over_only_nulls_are_null_and_counts_are_0() {
    let (_d, file) = temp_csv("k,x\na,\na,\nb,1\nb,3\n");
    let aggs = "count,count:x,sum:x,mean:x,min:x,max:x,var:x,std_pop:x,median:x,p99:x,distinct:x,null_count:x";
    let out = run_all_partitions(&["--by", "k", "--agg", aggs], &file);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("k,count,count_x,sum_x,mean_x,min_x,max_x,var_x,std_pop_x,median_x,p99_x,distinct_x,null_count_x")
    );
    assert_eq!(
        lines.next(),
        Some("a,2,0,,,,,,,,,0,2"),
        "all-null group:\n{out}"
    );
    let out = run_all_partitions(&["--by", "k", "--agg", aggs, "--format", "json"], &file);
    let b = &json_of(&out)[1];
    assert_eq!(b["k"], "b");
    assert_eq!(
        (b["count"].clone(), b["count_x"].clone(), b["sum_x"].clone()),
        (json!(2), json!(2), json!(4))
    );
    assert_eq!(
        (b["min_x"].clone(), b["max_x"].clone()),
        (json!(1), json!(3)),
        "an integer column's min and max are integers"
    );
    for (name, want) in [
        ("mean_x", 2.0),
        ("var_x", 2.0),
        ("std_pop_x", 1.0),
        ("median_x", 2.0),
        ("p99_x", 2.98),
    ] {
        assert_eq!(f64_of(&b[name]), want, "{name} in {out}");
    }
}

#[test]
fn several_agg_flags_and_lists_keep_their_order() {
    let r = run_on(
        &sample(),
        &[
            "--agg",
            "max:qty",
            "--agg",
            "count, min:qty",
            "-a",
            "sum:qty",
        ],
    );
    r.expect_ok("repeated --agg");
    assert_eq!(r.stdout, "max_qty,count,min_qty,sum_qty\n7,6,1,18\n");
}
