//! Exact numerics: integer sums beyond `i64`, correctly rounded float sums,
//! variances of values with a large offset.
//!
//! Exactness at the edges (issue 16): means rounded once, quantiles
//! interpolated exactly, integers wider than 64 bits kept exact. Every
//! answer is checked at every `--partitions` / `--threads`.

use crate::common::*;

/// The shortest round-trip text of a float, as the contract wants it
/// (Rust's `{:?}` prints exactly that, with `.0` for integral values).
fn float_text(v: f64) -> String {
    format!("{v:?}")
}

#[test]
fn integer_sum_beyond_i64_max_is_printed_exactly() {
    let (_d, file) = temp_csv("x,y\n9223372036854775807,-9223372036854775808\n9223372036854775807,-9223372036854775808\n10,-9223372036854775808\n");
    let out = run_all_partitions(&["--agg", "sum:x,sum:y"], &file);
    // 2 * (2^63 - 1) + 10 = 18446744073709551624; 3 * -2^63 = -27670116110564327424
    assert_eq!(
        out,
        "sum_x,sum_y\n18446744073709551624,-27670116110564327424\n"
    );
}

#[test]
fn float_sum_is_exactly_rounded_1e100_plus_1_minus_1e100_is_1() {
    let mut text = String::from("x\n1e100\n");
    for _ in 0..3000 {
        text.push_str("0.0\n");
    }
    text.push_str("1\n");
    for _ in 0..3000 {
        text.push_str("0.0\n");
    }
    text.push_str("-1e100\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(&["--agg", "sum:x,mean:x,count:x"], &file);
    let n = 6003.0;
    assert_eq!(
        out,
        format!("sum_x,mean_x,count_x\n1.0,{},6003\n", float_text(1.0 / n))
    );
}

#[test]
fn float_sum_of_ten_tenths_is_exactly_1() {
    let (_d, file) = temp_csv("x\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n0.1\n");
    let out = run_all_partitions(&["--agg", "sum:x,mean:x"], &file);
    assert_eq!(out, "sum_x,mean_x\n1.0,0.1\n");
}

#[test]
fn variance_of_large_offset_integers_is_exact() {
    // 10^17 + 1, 10^17 + 2, 10^17 + 3: deviations -1, 0, 1 -> var 1,
    // var_pop 2/3, std_pop sqrt(2/3). A naive float computation loses it all.
    let (_d, file) = temp_csv("x\n100000000000000001\n100000000000000002\n100000000000000003\n");
    let out = run_all_partitions(
        &[
            "--agg",
            "var:x,std:x,var_pop:x,std_pop:x,sum:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    assert_eq!(f64_of(&v["var_x"]), 1.0);
    assert_eq!(f64_of(&v["std_x"]), 1.0);
    assert_eq!(f64_of(&v["var_pop_x"]), 2.0 / 3.0);
    assert_eq!(f64_of(&v["std_pop_x"]), 0.816496580927726);
    assert!(out.contains("\"sum_x\":300000000000000006"), "{out}");
}

#[test]
fn variance_of_large_offset_floats_is_exact() {
    // 1e9 + 0.5 and 1e9 + 1.5 are exact doubles: var = 0.5, var_pop = 0.25.
    let (_d, file) = temp_csv("x\n1000000000.5\n1000000001.5\n");
    let out = run_all_partitions(&["--agg", "var:x,var_pop:x,mean:x"], &file);
    assert_eq!(out, "var_x,var_pop_x,mean_x\n0.5,0.25,1000000001.0\n");
}

// ---------------------------------------------------------------------------
// at the edges (issue 16)

/// The CSV output of `run --agg AGG` (and `--by` if given) over `csv`, the
/// same at every partition and thread count.
fn answer(csv: &str, args: &[&str]) -> String {
    let (_dir, path) = temp_csv(csv);
    let mut all = vec!["--format", "csv"];
    all.extend_from_slice(args);
    run_all_partitions(&all, &path)
}

/// A column named `x` holding `values`, one per line.
fn column(values: &[&str]) -> String {
    let mut s = String::from("x\n");
    for v in values {
        s.push_str(v);
        s.push('\n');
    }
    s
}

// ---- item 1: the mean is the exact sum / count, rounded once ----

#[test]
fn float_mean_is_rounded_once() {
    let csv = column(&["9007199254740992.0", "1.0", "0.0"]);
    assert_eq!(
        answer(&csv, &["--agg", "mean:x"]),
        "mean_x\n3002399751580331.0\n"
    );
    // the same through the moments state (shared with var)
    assert_eq!(
        answer(&csv, &["--agg", "mean:x,var:x"]),
        "mean_x,var_x\n3002399751580331.0,2.7043212804868892e31\n"
    );
}

#[test]
fn float_mean_does_not_overflow_with_the_sum() {
    let csv = column(&["1.7976931348623157e308", "1.7976931348623157e308"]);
    assert_eq!(
        answer(&csv, &["--agg", "sum:x,mean:x"]),
        "sum_x,mean_x\ninf,1.7976931348623157e308\n"
    );
    assert_eq!(
        answer(&csv, &["--agg", "mean:x,std:x"]),
        "mean_x,std_x\n1.7976931348623157e308,0.0\n"
    );
    let neg = column(&[
        "-1.7976931348623157e308",
        "-1.7976931348623157e308",
        "-1e308",
    ]);
    assert_eq!(
        answer(&neg, &["--agg", "mean:x"]),
        "mean_x\n-1.5317954232415438e308\n"
    );
}

#[test]
fn mean_keeps_the_sign_rule_of_the_sum() {
    assert_eq!(
        answer(&column(&["-0.0", "-0.0"]), &["--agg", "sum:x,mean:x"]),
        "sum_x,mean_x\n-0.0,-0.0\n"
    );
    assert_eq!(
        answer(&column(&["-0.0", "0.0"]), &["--agg", "mean:x"]),
        "mean_x\n0.0\n"
    );
    // subnormal: 5e-324 / 2 is a tie, to even (zero), and 3 * 5e-324 / 2 -> 1e-323
    assert_eq!(
        answer(&column(&["5e-324", "0.0"]), &["--agg", "mean:x"]),
        "mean_x\n0.0\n"
    );
    assert_eq!(
        answer(&column(&["1e-323", "5e-324"]), &["--agg", "mean:x"]),
        "mean_x\n1e-323\n"
    );
}

#[test]
fn std_is_rounded_once() {
    // var = 563/12; sqrt of the rounded var is 6.849574196011505, one ulp
    // below the correctly rounded root of the exact variance
    assert_eq!(
        answer(&column(&["7", "8", "3", "19"]), &["--agg", "std:x,var:x"]),
        "std_x,var_x\n6.849574196011506,46.916666666666664\n"
    );
}

#[test]
fn integer_mean_is_rounded_once() {
    // i64::MAX * 3 - 1 over 3: exact sum is an i128; the mean rounds once
    let csv = column(&[
        "9223372036854775807",
        "9223372036854775807",
        "9223372036854775806",
    ]);
    assert_eq!(
        answer(&csv, &["--agg", "mean:x,var:x"]),
        "mean_x,var_x\n9.223372036854776e18,0.3333333333333333\n"
    );
}

// ---- item 2: exact quantiles ----

#[test]
fn integer_median_is_exact() {
    let csv = column(&["-10000000000000000", "10000000000000002"]);
    assert_eq!(answer(&csv, &["--agg", "median:x"]), "median_x\n1.0\n");
}

#[test]
fn float_median_is_exact() {
    let csv = column(&["-485.1995616424973", "485.01987532031234"]);
    // exact (a + b) / 2 = -0.0898431610924888..., correctly rounded
    assert_eq!(
        answer(&csv, &["--agg", "median:x"]),
        "median_x\n-0.0898431610924888\n"
    );
}

#[test]
fn percentile_fraction_is_the_decimal_written() {
    let out = run_all_partitions(
        &["--agg", "p99:price", "--format", "csv"],
        &fixture("sample.csv"),
    );
    assert_eq!(out, "p99_price\n96.48\n");
    // p99.9 of 0..=1000 (integers): rank 999.0 exactly
    let mut csv = String::from("x\n");
    for i in 0..=1000 {
        csv.push_str(&format!("{i}\n"));
    }
    assert_eq!(
        answer(&csv, &["--agg", "p99.9:x,p0.1:x,p50:x,p100:x,p0:x"]),
        "p99.9_x,p0.1_x,p50_x,p100_x,p0_x\n999.0,1.0,500.0,1000.0,0.0\n"
    );
}

#[test]
fn quantiles_with_infinities() {
    assert_eq!(
        answer(&column(&["1", "inf", "inf"]), &["--agg", "median:x,p25:x"]),
        "median_x,p25_x\ninf,inf\n"
    );
    assert_eq!(
        answer(
            &column(&["1", "2", "inf"]),
            &["--agg", "median:x,p75:x,p100:x"]
        ),
        "median_x,p75_x,p100_x\n2.0,inf,inf\n"
    );
    assert_eq!(
        answer(
            &column(&["-inf", "inf"]),
            &["--agg", "median:x,p0:x,p100:x"]
        ),
        "median_x,p0_x,p100_x\nNaN,-inf,inf\n"
    );
    assert_eq!(
        answer(
            &column(&["-inf", "-inf", "3"]),
            &["--agg", "median:x,p75:x"]
        ),
        "median_x,p75_x\n-inf,-inf\n"
    );
}

/// Quantiles of random floats in groups are the same at every partition
/// and thread count; the exact rounding itself is property-tested against a
/// big-rational reference in the library's unit tests
/// (`agg::quantile::tests::agrees_with_a_rational_reference`).
#[test]
fn quantiles_are_partition_independent_on_random_data() {
    let mut rng = Lcg(0x5eed);
    let mut csv = String::from("g,x\n");
    for _ in 0..3000 {
        let g = rng.below(5);
        let m = rng.next() as f64 / (1u64 << 31) as f64 - 0.5;
        let e = rng.below(40) as i32 - 20;
        csv.push_str(&format!("{g},{}\n", m * 2f64.powi(e)));
    }
    answer(
        &csv,
        &["--by", "g", "--agg", "median:x,p99.9:x,p1:x,mean:x,std:x"],
    );
}

// ---- item 3: integers wider than 64 bits ----

/// Twenty-digit identifiers next to 64-bit ones, among many small rows so
/// that the wide ones land in different batches and partitions.
fn identifiers() -> String {
    let mut csv = String::from("id,v\n");
    for i in 0..5000 {
        csv.push_str(&format!("{},1\n", i % 7));
    }
    for id in [
        "89014103211118510720",
        "89014103211118510721",
        "89014103211118510722",
        "12345678901234567",
        "12345678901234568",
    ] {
        csv.push_str(&format!("{id},2\n"));
    }
    csv
}

#[test]
fn wide_integers_are_distinct_keys() {
    let out = answer(&identifiers(), &["--by", "id", "--agg", "count,sum:v"]);
    for id in [
        "89014103211118510720",
        "89014103211118510721",
        "89014103211118510722",
        "12345678901234567",
        "12345678901234568",
    ] {
        assert!(out.contains(&format!("\n{id},1,2\n")), "{id} in\n{out}");
    }
    assert_eq!(out.lines().count(), 1 + 7 + 5, "{out}");
}

#[test]
fn wide_integers_sum_exactly() {
    let csv = column(&[
        "89014103211118510720",
        "89014103211118510721",
        "89014103211118510722",
        "12345678901234567",
        "12345678901234568",
    ]);
    // 267042309633355532163 + 24691357802469135
    assert_eq!(
        answer(&csv, &["--agg", "sum:x,mean:x,distinct:x"]),
        "sum_x,mean_x,distinct_x\n267067000991158001298,5.34134001982316e19,5\n"
    );
    assert_eq!(
        answer(&csv, &["--agg", "sum:x,var:x,median:x"]),
        "sum_x,var_x,median_x\n267067000991158001298,2.3763938531470784e39,8.901410321111851e19\n"
    );
    // the same rows spread over many batches
    let out = answer(&identifiers(), &["--agg", "sum:id,mean:id"]);
    let small: u128 = (0..5000u128).map(|i| i % 7).sum();
    let want = 267067000991158001298u128 + small;
    assert!(
        out.starts_with(&format!("sum_id,mean_id\n{want},")),
        "{out}"
    );
}

/// `min` and `max` of a column made text only by integers wider than 64
/// bits compare its values as integers: in text order the maximum of
/// {1, 2^64, 3} was 3 and its minimum of 5000 small identifiers and
/// 89014103211118510720 was 0 only by luck of the spelling. Every group
/// of a `--by` answers alike, and JSON prints the answers as numbers.
#[test]
fn wide_integers_have_extremes_by_value() {
    let csv = column(&[
        "1",
        "18446744073709551616",
        "3",
        "",
        "-89014103211118510720",
    ]);
    assert_eq!(
        answer(&csv, &["--agg", "min:x,max:x"]),
        "min_x,max_x\n-89014103211118510720,18446744073709551616\n"
    );
    let mut ids = identifiers();
    ids.push_str("-12,3\n100,3\n");
    assert_eq!(
        answer(&ids, &["--agg", "min:id,max:id", "--where", "v >= 2"]),
        "min_id,max_id\n-12,89014103211118510722\n"
    );
    assert_eq!(
        answer(&ids, &["--by", "v", "--agg", "min:id,max:id"]),
        "v,min_id,max_id\n1,0,6\n2,12345678901234567,89014103211118510722\n3,-12,100\n"
    );
    let (_dir, path) = temp_csv(&ids);
    let r = run_on(&path, &["--agg", "min:id,max:id", "--format", "json"]);
    r.expect_code(0, "json");
    assert_eq!(
        r.stdout,
        "[\n  {\"min_id\":-12,\"max_id\":89014103211118510722}\n]\n"
    );
    // a value that is no integer as a column of them spells one, in any
    // group, leaves the whole column in text order
    for other in ["abc", "007", "1.5"] {
        let mut odd = ids.clone();
        odd.push_str(&format!("{other},4\n"));
        let want = format!("v,max_id\n1,6\n2,89014103211118510722\n3,100\n4,{other}\n");
        assert_eq!(
            answer(&odd, &["--by", "v", "--agg", "max:id"]),
            want,
            "{other}"
        );
    }
}

/// Keys of a column made text only by integers wider than 64 bits sort by
/// value and print as integers: in byte order `-12` came first, then
/// `0`, `1`, `10`, `100`, `12345678901234567`, ... and `6` after
/// `12345678901234568`. Each key stays its group; a key spelled another
/// way (`+5`, `007`, `-0`) leaves the whole column in byte order.
#[test]
fn wide_integer_keys_sort_by_value() {
    let mut ids = identifiers();
    ids.push_str("-12,3\n100,3\n");
    let out = answer(&ids, &["--by", "id", "--agg", "count"]);
    let keys: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "-12",
            "0",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "100",
            "12345678901234567",
            "12345678901234568",
            "89014103211118510720",
            "89014103211118510721",
            "89014103211118510722"
        ]
    );
    let (_dir, path) = temp_csv(column(&[
        "3",
        "-170141183460469231731687303715884105729",
        "18446744073709551616",
    ]));
    let r = run_on(&path, &["--by", "x", "--agg", "count", "--format", "json"]);
    r.expect_code(0, "json");
    assert_eq!(
        r.stdout,
        "[\n  {\"x\":-170141183460469231731687303715884105729,\"count\":1},\n  \
         {\"x\":3,\"count\":1},\n  {\"x\":18446744073709551616,\"count\":1}\n]\n"
    );
    // two key columns, one of them such integers
    assert_eq!(
        answer(
            &ids,
            &["--by", "v,id", "--agg", "count", "--where", "v > 1"]
        ),
        "v,id,count\n2,12345678901234567,1\n2,12345678901234568,1\n\
         2,89014103211118510720,1\n2,89014103211118510721,1\n2,89014103211118510722,1\n\
         3,-12,1\n3,100,1\n"
    );
    for odd in ["+5", "007", "-0"] {
        let csv = column(&["18446744073709551616", "5", odd]);
        let mut want = vec!["18446744073709551616,1", "5,1", &*format!("{odd},1")]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        want.sort();
        assert_eq!(
            answer(&csv, &["--by", "x", "--agg", "count"]),
            format!("x,count\n{}\n", want.join("\n")),
            "{odd:?}"
        );
    }
}

/// Integers of 200,000 digits sum exactly, and print whole: read and
/// written in subquadratic time (a field's length is the input's to
/// choose, and num-bigint's own decimal conversions are quadratic).
#[test]
fn integers_of_200000_digits_sum_exactly() {
    let n = 200_000;
    // (10^n - 1) + 1 + 5*10^(n-1) - 10^(n-1) = 10^n + 4*10^(n-1): "14" and
    // n - 1 zeros
    let nines = "9".repeat(n);
    let five = format!("5{}", "0".repeat(n - 1));
    let minus_one = format!("-1{}", "0".repeat(n - 1));
    let csv = column(&[&nines, "1", &five, &minus_one]);
    let want = format!("sum_x\n14{}\n", "0".repeat(n - 1));
    assert!(answer(&csv, &["--agg", "sum:x"]) == want, "sum of four");

    // random digits, signs and leading zeros, with num-bigint's own
    // conversions as the oracle
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut digit = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (b'0' + (state % 10) as u8) as char
    };
    let values: Vec<String> = (0..5)
        .map(|i| {
            let sign = ["", "-", "+", "-", "00"][i];
            let digits: String = (0..n - 3 * i).map(|_| digit()).collect();
            format!("{sign}7{digits}")
        })
        .collect();
    let total: num_bigint::BigInt = values
        .iter()
        .map(|v| num_bigint::BigInt::parse_bytes(v.as_bytes(), 10).unwrap())
        .sum();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let out = answer(&column(&refs), &["--agg", "sum:x"]);
    assert!(out == format!("sum_x\n{total}\n"), "sum of random digits");
}

/// A text column of numbers (one wider than 64 bits) where one group has
/// a `1.5`: every group's sum reads its values as floats, whatever batch
/// (float or not) each group's rows shared with the `1.5`. Before, a group
/// whose integers or null sat in the `1.5`'s batch summed floats and the
/// others exact integers, so the answer changed with `--partitions`
/// (`b,1e20` with one partition, `b,99999999999999999999` with two).
#[test]
fn text_column_sums_do_not_depend_on_which_rows_share_a_batch() {
    let csv = |decimal: &str| {
        let mut csv = String::from("g,v\nb,\n");
        csv.push_str(&"c,1\n".repeat(3000));
        csv.push_str(&format!("a,{decimal}\n"));
        csv.push_str(&"c,1\n".repeat(2000));
        csv.push_str("b,99999999999999999999\n");
        csv
    };
    for aggs in ["sum:v,mean:v", "sum:v,std:v"] {
        let args = ["--by", "g", "--agg", aggs];
        // a non-integer in the column: floats in every group
        let out = answer(&csv("1.5"), &args);
        assert!(
            out.contains("\nb,1e20,") && out.contains("\nc,5000.0,"),
            "{aggs}: {out}"
        );
        // integers only: exact in every group
        let out = answer(&csv("2"), &args);
        assert!(
            out.contains("\na,2,")
                && out.contains("\nb,99999999999999999999,")
                && out.contains("\nc,5000,"),
            "{aggs}: {out}"
        );
    }
}

/// The same for median and pNN: a text column (here by its `007`) holding
/// a decimal anywhere reads every value as a float in every group, as its
/// sums and variances do. Before, a group of integers only interpolated
/// them exactly: `A`'s p25 was 9007199254740994.0 (from
/// 9007199254740993.75) beside a variance of the floats.
#[test]
fn text_column_quantiles_read_floats_in_every_group_when_one_holds_a_decimal() {
    let args = ["--by", "k", "--agg", "p25:x,median:x,var:x"];
    for (b, a_row, b_row) in [
        // a decimal in the column: the floats 2^53 and 2^53 + 4
        (
            "0.5",
            "9007199254740992.0,9007199254740994.0,8.0",
            "0.5,0.5,",
        ),
        // integers only: exact in every group (993.75 and 994.5, rounded once)
        ("5", "9007199254740994.0,9007199254740994.0,4.5", "5.0,5.0,"),
    ] {
        let csv = format!("k,x\nA,9007199254740993\nA,9007199254740996\nB,{b}\nC,007\n");
        assert_eq!(
            answer(&csv, &args),
            format!("k,p25_x,median_x,var_x\nA,{a_row}\nB,{b_row}\nC,7.0,7.0,\n"),
            "B = {b}"
        );
    }
}

#[test]
fn wide_integers_survive_the_store() {
    let (dir, path) = temp_csv(identifiers());
    let queries: &[&[&str]] = &[
        &["--by", "id", "--agg", "count,sum:v"],
        &[
            "--agg",
            "sum:id,mean:id,var:id,median:id,min:id,max:id,distinct:id",
        ],
    ];
    for q in queries {
        let mut args = vec!["--format", "csv"];
        args.extend_from_slice(q);
        let reference = run_all_partitions(&args, &path);
        for p in ["1", "3"] {
            let store = dir.path(&format!("store{p}"));
            run([
                "split",
                "--input",
                path.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--partitions",
                p,
                "--quiet",
            ])
            .expect_ok("split");
            for t in ["1", "2"] {
                let mut all = vec!["run", "--store", store.to_str().unwrap(), "-t", t];
                all.extend_from_slice(&args);
                let got = run(all);
                got.expect_ok("run --store");
                assert_eq!(
                    got.stdout, reference,
                    "store of {p} partitions, {t} threads"
                );
            }
        }
    }
}
