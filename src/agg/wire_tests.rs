//! Every state's byte form: round trips to the same answers, merges after
//! decoding as before, is canonical, and refuses corruption without a
//! panic.

use super::approx::testing::batch_of;
use super::*;
use crate::wire::Reader;

const TYPES: [ColumnType; 4] = [
    ColumnType::Null,
    ColumnType::Int,
    ColumnType::Float,
    ColumnType::Text,
];

/// Numbers of every awkward kind, as a CSV holds them.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "7",
    "007",
    "-5",
    "9223372036854775807",
    "-9223372036854775808",
    "9007199254740993",
    "89014103211118510720",
    "-123456789012345678901234567890",
    "0.1",
    "-0.0",
    "1e308",
    "-1e308",
    "1e-320",
    "-4.9e-324",
    "2.5",
    "nan",
    "inf",
    "-inf",
    "",
];

/// Texts too (for the aggregates of any value).
const TEXTS: &[&str] = &[
    "abc",
    "",
    "a\u{0}z",
    "zz",
    "Ab",
    "é",
    "user_000123",
    "user_000124",
];

fn state_of<S: AggState>(batches: &[Vec<&str>]) -> S {
    let mut s = S::default();
    for b in batches {
        batch_of(b).feed(&mut s).expect("accepted values");
    }
    s
}

/// Random batches of values from `pools` (numbers, maybe texts), some
/// long (sketches and dense registers), with a random number pool.
fn batches<'a>(
    next: &mut impl FnMut() -> u64,
    texts: bool,
    owned: &'a [String],
) -> Vec<Vec<&'a str>> {
    let nbatches = (next() % 4) as usize;
    (0..nbatches)
        .map(|_| {
            let len = match next() % 5 {
                0 => 0,
                1 => 3000,
                _ => (next() % 40) as usize,
            };
            let kind = next() % 4;
            (0..len)
                .map(|_| {
                    let r = next();
                    match (kind, texts) {
                        (0, _) => NUMBERS[r as usize % NUMBERS.len()],
                        (1, true) => TEXTS[r as usize % TEXTS.len()],
                        _ => &owned[r as usize % owned.len()],
                    }
                })
                .collect()
        })
        .collect()
}

fn show(v: &Value) -> String {
    format!("{v:?}")
}

fn encode<S: AggState>(s: &S) -> Vec<u8> {
    let mut out = Vec::new();
    s.encode(&mut out);
    assert!(!out.is_empty(), "a state takes a byte at least");
    out
}

fn decode<S: AggState>(bytes: &[u8]) -> Result<S, crate::wire::WireError> {
    let mut r = Reader::new(bytes);
    let s = S::decode(&mut r)?;
    r.finish()?;
    Ok(s)
}

/// Every answer of `s`, for every type.
fn answers<S: AggState>(s: &S, funcs: &[Func]) -> Vec<String> {
    let mut out = Vec::new();
    let mut facts = ColumnFacts::default();
    s.gather(&mut facts);
    for ty in TYPES {
        for f in funcs {
            out.push(show(&s.finish_in(ty, f, &facts)));
        }
        out.push(s.complete(ty, &facts).to_string());
    }
    out
}

/// Round trips, merges and corruptions of random states of `S`.
fn check<S: AggState>(funcs: &[Func], texts: bool, seed: u64) {
    let mut state = seed;
    let mut next = || crate::testing::xorshift(&mut state);
    // plain numbers of one magnitude, integers and decimals: the usual data
    let owned: Vec<String> = (0..5000)
        .map(|i| {
            if i % 2 == 0 {
                format!("{}", i * 37 % 4001)
            } else {
                format!("{}.{}", i % 1000, i % 97)
            }
        })
        .collect();
    for round in 0..40 {
        let (ba, bb) = (
            batches(&mut next, texts, &owned),
            batches(&mut next, texts, &owned),
        );
        let (mut a, mut b) = (state_of::<S>(&ba), state_of::<S>(&bb));
        let (ea, eb) = (encode(&a), encode(&b));
        let (mut da, mut db) = (decode::<S>(&ea).unwrap(), decode::<S>(&eb).unwrap());
        assert_eq!(answers(&da, funcs), answers(&a, funcs), "round {round}");
        assert_eq!(encode(&da), ea, "canonical, round {round}");
        // decode(a) + decode(b) is a + b, to the byte
        a.merge(&mut b);
        da.merge(&mut db);
        assert_eq!(
            answers(&da, funcs),
            answers(&a, funcs),
            "merged, round {round}"
        );
        assert_eq!(encode(&da), encode(&a), "merged bytes, round {round}");
        // b + a is a + b, to the byte: a reducer may take parts in any order
        let (mut da, mut db) = (decode::<S>(&ea).unwrap(), decode::<S>(&eb).unwrap());
        db.merge(&mut da);
        assert_eq!(
            encode(&db),
            encode(&a),
            "merged the other way, round {round}"
        );
        // corruptions: never a panic; truncations always refused; what is
        // accepted re-encodes to itself, merges and finishes
        for cut in 0..ea.len().min(200) {
            assert!(decode::<S>(&ea[..cut]).is_err(), "cut {cut} of {ea:?}");
        }
        for _ in 0..60 {
            let mut bytes = ea.clone();
            match next() % 4 {
                0 => {
                    let i = next() as usize % bytes.len();
                    bytes[i] ^= 1 << (next() % 8);
                }
                1 => {
                    let i = next() as usize % bytes.len();
                    bytes[i] = next() as u8;
                }
                2 => bytes.push(next() as u8),
                _ => {
                    let i = next() as usize % bytes.len();
                    bytes.insert(i, [0, 0xff, 0x80, 1][next() as usize % 4]);
                }
            }
            if let Ok(mut s) = decode::<S>(&bytes) {
                assert_eq!(encode(&s), bytes, "accepted bytes are canonical");
                let mut again = decode::<S>(&bytes).unwrap();
                answers(&s, funcs);
                s.merge(&mut again);
                s.merge(&mut S::default());
                let mut fresh = S::default();
                fresh.merge(&mut s);
                answers(&fresh, funcs);
            }
        }
    }
}

fn funcs(names: &[&str]) -> Vec<Func> {
    names.iter().map(|n| Func::parse(n).unwrap()).collect()
}

#[test]
fn wire_counts() {
    check::<CountRows>(&[Func::CountRows], true, 1);
    check::<CountValues>(&[Func::Count], true, 2);
    check::<NullCount>(&[Func::NullCount], true, 3);
}

#[test]
fn wire_sums_and_moments() {
    check::<SumState>(&funcs(&["sum", "mean"]), false, 4);
    check::<Moments>(
        &funcs(&["sum", "mean", "var", "std", "var_pop", "std_pop"]),
        false,
        5,
    );
}

#[test]
fn wire_extremes() {
    check::<Min>(&[Func::Min], true, 6);
    check::<Max>(&[Func::Max], true, 7);
    check::<MinText>(&[Func::Min], true, 8);
    check::<MaxText>(&[Func::Max], true, 9);
}

#[test]
fn wire_quantiles_and_distinct() {
    check::<Quantile>(&funcs(&["median", "p0", "p99.9", "p100"]), false, 10);
    check::<Distinct>(&[Func::Distinct], true, 11);
}

#[test]
fn wire_approximate() {
    check::<ApproxDistinct>(&[Func::ApproxDistinct], true, 12);
    check::<ApproxQuantile>(
        &funcs(&["approx_median", "approx_p0", "approx_p99", "approx_p100"]),
        false,
        13,
    );
}

/// Exact sums survive to the bit: cancellation across states, huge and
/// tiny magnitudes, the sign of zero.
#[test]
fn wire_exact_sums_cancel_after_decoding() {
    let f = funcs(&["sum", "mean"]);
    let a = state_of::<SumState>(&[vec!["1e308", "1", "-0.0"], vec!["5e-324"]]);
    let b = state_of::<SumState>(&[
        vec!["-1e308", "0.5"],
        vec!["9223372036854775807", "9223372036854775807"],
    ]);
    let (mut da, mut db) = (
        decode::<SumState>(&encode(&a)).unwrap(),
        decode::<SumState>(&encode(&b)).unwrap(),
    );
    da.merge(&mut db);
    assert_eq!(
        da.finish(ColumnType::Float, &f[0]),
        Value::Float(1.8446744073709552e19)
    );
    let z = state_of::<SumState>(&[vec!["-0.0", "-0.0"]]);
    let dz = decode::<SumState>(&encode(&z)).unwrap();
    assert_eq!(show(&dz.finish(ColumnType::Float, &f[0])), "Float(-0.0)");
}

/// Hand-made hostile states are refused with a message naming the byte.
#[test]
fn wire_refuses_hostile_states() {
    let err =
        |bytes: &[u8], f: fn(&[u8]) -> Result<(), crate::wire::WireError>| f(bytes).unwrap_err().0;
    // a count beyond 2^56
    let mut big = Vec::new();
    crate::wire::put_varint(&mut big, 1 << 60);
    assert!(err(&big, |b| decode::<CountRows>(b).map(drop)).contains("beyond 2^56"));
    // a register value past Q + 1
    let mut hll = vec![1u8];
    hll.extend(std::iter::repeat_n(0xffu8, 12288));
    let mut s = hll.clone();
    s.extend([0, 0, 0, 0, 0, 0]);
    assert!(err(&s[..], |b| decode::<ApproxDistinct>(b).map(drop)).contains("register value 63"));
    // more than 1024 exact hashes
    let mut many = vec![0u8];
    crate::wire::put_sorted_u64s(&mut many, &(1..=1025).collect::<Vec<u64>>());
    assert!(err(&many, |b| decode::<ApproxDistinct>(b).map(drop)).contains("1025 hashes"));
    // a sketch of too few values, 65 values kept exactly
    let q = state_of::<ApproxQuantile>(&[vec!["1"; 100]]);
    assert!(decode::<ApproxQuantile>(&encode(&q)).is_ok());
    let mut few = encode(&q);
    // the one bucket's count is the byte after its index
    let i = few.iter().position(|&b| b == 100).unwrap();
    few[i] = 3;
    assert!(err(&few, |b| decode::<ApproxQuantile>(b).map(drop)).contains("few values"));
    let mut kept = vec![0u8];
    kept.extend(encode(&state_of::<Quantile>(&[vec!["1.5"; 65]])));
    assert!(err(&kept, |b| decode::<ApproxQuantile>(b).map(drop)).contains("65 values"));
    // unsorted distinct texts, a float that is not canonical (-0.0)
    let unsorted = [0u8, 0, 2, 0, 1, b'b', 0, 1, b'a'];
    assert!(err(&unsorted, |b| decode::<Distinct>(b).map(drop)).contains("not sorted"));
    let mut neg_zero = vec![0u8, 1];
    crate::wire::put_varint(&mut neg_zero, 1 << 63);
    neg_zero.push(0);
    assert!(err(&neg_zero, |b| decode::<Distinct>(b).map(drop)).contains("canonical"));
    // integers in a sum without an integer batch's flag
    assert!(err(&[0, 1, 5], |b| decode::<SumState>(b).map(drop)).contains("without a count"));
}
