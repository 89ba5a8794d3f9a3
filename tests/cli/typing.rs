//! Column types across batches and partitions: a column is integer if
//! every non-null value is a 64-bit integer, float if every one is a
//! number, else text, whichever batch or partition holds the value that
//! decides it (the last one, in these tests), and every aggregate reads the
//! column as that type.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::json;

use crate::common::{f64_of, json_of, run_all_partitions, temp_csv};

#[test]
fn a_column_with_one_text_value_at_the_end_is_text_for_every_partition() {
    // 6000 rows of "7" / "007" and one "x" as the very last value: the
    // column is text, so "7" and "007" are different values and keys, and
    // min/max are in byte order, whatever the partitioning.
    let mut text = String::from("k,v\n");
    for i in 0..6000 {
        writeln!(text, "{},1", if i % 2 == 0 { "7" } else { "007" }).unwrap();
    }
    text.push_str("x,1\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(
        &["--agg", "distinct:k,min:k,max:k", "--format", "json"],
        &file,
    );
    assert_eq!(
        json_of(&out),
        json!([{"distinct_k": 3, "min_k": "007", "max_k": "x"}])
    );
    let out = run_all_partitions(&["--by", "k", "--agg", "count", "--format", "json"], &file);
    assert_eq!(
        json_of(&out),
        json!([{"k": "007", "count": 3000}, {"k": "7", "count": 3000}, {"k": "x", "count": 1}])
    );
}

#[test]
fn a_column_with_one_float_at_the_end_is_float_for_every_partition() {
    let mut text = String::from("k\n");
    for i in 0..6000 {
        writeln!(text, "{}", i % 10).unwrap();
    }
    text.push_str("0.5\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(
        &["--agg", "sum:k,max:k,min:k,distinct:k", "--format", "json"],
        &file,
    );
    // 600 * (0+...+9) + 0.5
    assert_eq!(
        json_of(&out),
        json!([{"sum_k": 27000.5, "max_k": 9.0, "min_k": 0.0, "distinct_k": 11}])
    );
    assert!(
        out.contains("\"max_k\":9.0"),
        "a float column prints 9.0: {out}"
    );
}

#[test]
fn a_column_that_is_float_because_of_one_value_sums_every_value_as_a_float() {
    // 2^53 + 1 is an i64 but not a double: as a float it is 2^53. The column
    // is float (one "0.5" at the end), so the sum is fsum of the doubles:
    // 3000 * 2^53 + 3000 * 2^53 + 0.5 = 6000 * 2^53 (+0.5 rounds away).
    let mut text = String::from("x\n");
    for i in 0..6000 {
        text.push_str(if i % 2 == 0 {
            "9007199254740992\n"
        } else {
            "9007199254740993\n"
        });
    }
    text.push_str("0.5\n");
    let (_d, file) = temp_csv(&text);
    let out = run_all_partitions(
        &[
            "--agg",
            "sum:x,max:x,distinct:x,count:x",
            "--format",
            "json",
        ],
        &file,
    );
    let v = &json_of(&out)[0];
    let two53 = 9007199254740992.0f64;
    assert_eq!(f64_of(&v["sum_x"]), 6000.0 * two53, "{out}");
    assert_eq!(f64_of(&v["max_x"]), two53, "{out}");
    assert!(
        v["max_x"].is_f64(),
        "max of a float column is a float: {out}"
    );
    assert_eq!(v["distinct_x"], 2, "2^53 and 0.5 as doubles: {out}");
    assert_eq!(v["count_x"], 6001);
}

#[test]
fn distinct_counts_values_of_the_column_type() {
    // float column: 1, 1.0, 1e0 are one value; text column: bytes differ
    let (_d, file) = temp_csv("f,t\n1,a\n1.0,A\n1e0,a\n2.5,\n,a \n");
    let out = run_all_partitions(&["--agg", "distinct:f,distinct:t"], &file);
    assert_eq!(out, "distinct_f,distinct_t\n2,3\n");
}

#[test]
fn negative_zero_is_a_float_whatever_the_partitioning() {
    // "-0" is the float -0.0 (an integer cannot keep the sign), so both
    // files are float columns of negative zeros at every partition count.
    for text in ["x\n-0.0\n-0\n", "x\n-0\n-0.0\n", "x\n-0\n-0e0\n"] {
        let (_d, file) = temp_csv(text);
        let out = run_all_partitions(&["--agg", "sum:x,min:x,max:x,mean:x,distinct:x"], &file);
        assert_eq!(
            out, "sum_x,min_x,max_x,mean_x,distinct_x\n-0.0,-0.0,-0.0,-0.0,1\n",
            "{text:?}"
        );
    }
    // `-00` is a zero-padded integer: its column is text, so min, max and
    // distinct see the text, the sum the number
    let (_d, file) = temp_csv("x\n-0\n-00\n");
    let out = run_all_partitions(&["--agg", "sum:x,min:x,max:x,distinct:x"], &file);
    assert_eq!(out, "sum_x,min_x,max_x,distinct_x\n-0.0,-0,-00,2\n");
    let (_d, file) = temp_csv("x\n-0\n0\n");
    let out = run_all_partitions(&["--agg", "sum:x,min:x,max:x"], &file);
    assert_eq!(out, "sum_x,min_x,max_x\n0.0,-0.0,0.0\n");
}

#[test]
fn integers_with_many_leading_zeros_are_still_integers() {
    let (_d, file) = temp_csv("x\n00000000000000000001\n2\n");
    assert_eq!(run_all_partitions(&["--agg", "sum:x"], &file), "sum_x\n3\n");
}

/// Min/max skip the text of numeric batches and run again when the column
/// turns out to be text: the answer must still be the byte-order extreme of
/// every value, in every group, numbers included, at every partition count.
#[test]
fn min_and_max_of_a_column_that_turns_text_late() {
    let mut csv = String::from("g,x\n");
    let mut values: Vec<(char, String)> = Vec::new();
    for i in 0..12_000u64 {
        let g = if i % 3 == 0 { 'b' } else { 'a' };
        let v = match i {
            11_000 => "MID-text".to_string(),
            _ => ((i * 7919) % 100_003).to_string(),
        };
        csv.push_str(&format!("{g},{v}\n"));
        values.push((g, v));
    }
    let (_d, file) = temp_csv(&csv);
    let expect = |group: Option<char>| {
        let mut vs: Vec<&[u8]> = (values.iter())
            .filter(|(g, _)| group.is_none_or(|w| *g == w))
            .map(|(_, v)| v.as_bytes())
            .collect();
        vs.sort();
        let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        (s(vs[0]), s(vs[vs.len() - 1]))
    };
    let (min, max) = expect(None);
    let out = run_all_partitions(&["--agg", "min:x,max:x"], &file);
    assert_eq!(out, format!("min_x,max_x\n{min},{max}\n"));
    let out = run_all_partitions(&["--by", "g", "--agg", "min:x,max:x"], &file);
    let ((amin, amax), (bmin, bmax)) = (expect(Some('a')), expect(Some('b')));
    assert_eq!(
        out,
        format!("g,min_x,max_x\na,{amin},{amax}\nb,{bmin},{bmax}\n")
    );
    assert_eq!(amax, "MID-text", "the text value is in group a");
    assert_ne!(bmax, "MID-text", "group b saw numbers only");
}

/// `distinct` keeps a CSV column's texts until the column's type is known;
/// past a few values, texts that spell a number plainly are kept as codes
/// of 8 bytes and the others beside them, and a set whose other texts
/// outnumber its codes becomes a set of texts. Numbers spelled several
/// ways, some plainly and some not, are counted as the column's type says,
/// at every partition and thread count.
#[test]
fn distinct_counts_numbers_spelled_many_ways_as_their_column_type() {
    let mut rng = crate::common::Lcg(5);
    let mut csv = String::from("i,f,t\n");
    let (mut ints, mut floats, mut texts) = (HashSet::new(), HashSet::new(), HashSet::new());
    for row in 0..4000 {
        let v = rng.below(400) as i64 - 200;
        let i = match rng.below(10) {
            0 if v >= 0 => format!("+{v}"),
            1 => format!(" {v}"),
            _ => v.to_string(),
        };
        ints.insert(v);
        let x = if rng.below(2) == 0 {
            rng.below(320) as f64 / 8.0 - 20.0
        } else {
            rng.next() as f64 / (1u64 << 31) as f64
        };
        let shortest = x.to_string();
        let f = match rng.below(6) {
            0 => format!("{x:e}"),
            1 => format!("{x:.20}"),
            2 if shortest.contains('.') => format!("{shortest}0"),
            2 => format!("{shortest}.0"),
            _ => shortest,
        };
        assert_eq!(f.parse::<f64>().unwrap(), x, "{f}");
        floats.insert(if x == 0.0 { 0 } else { x.to_bits() });
        // numbers, then words: the codes become texts
        let t = if row < 2000 {
            i.clone()
        } else {
            format!("w{}", rng.below(1500))
        };
        texts.insert(t.clone());
        writeln!(csv, "{i},{f},{t}").unwrap();
    }
    csv.push_str("-0,-0,-0\n");
    texts.insert("-0".to_string());
    let (_d, file) = temp_csv(&csv);
    let out = run_all_partitions(&["--agg", "distinct:i,distinct:f,distinct:t"], &file);
    // `-0` is no integer: the column of `i` is a float column
    assert_eq!(
        out,
        format!(
            "distinct_i,distinct_f,distinct_t\n{},{},{}\n",
            ints.len(),
            floats.len(),
            texts.len()
        )
    );
}
