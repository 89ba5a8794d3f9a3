//! What the lane readers' tests share ([`x8`](super::x8) on AVX-512,
//! [`x4`](super::x4) on AVX2): the fields they read, and the checks that
//! every lane a reader reads is bit for bit the scalar reader's value. A
//! test passes in the reader of its width; the fields and checks are the
//! same for both widths.

use std::ops::Range;

use super::decimal::split_wide;
use super::{parse_float_field, parse_int, parse_int_field};

/// Each lane's value (the bits of a float, or an integer) and a mask of
/// the lanes read.
pub(super) type Lanes = (Vec<u64>, u32);
/// A float lane reader: the fields, one per lane.
pub(super) type FloatReader<'a> = &'a dyn Fn(&[&[u8]]) -> Lanes;
/// An integer lane reader: the fields, one per lane, and the address range
/// it may read.
pub(super) type IntReader<'a> = &'a dyn Fn(&[&[u8]], Range<usize>) -> Lanes;

/// Plain decimals of `digits` digits, point anywhere (or nowhere), any
/// sign, with leading zeros; with `runs`, some are all nines or zeros
/// after the first digit (carries, exact quotients, zero mantissas).
fn decimals(seed: u64, count: usize, digits: Range<u64>, runs: bool) -> Vec<String> {
    let mut state = seed;
    let mut next = move || crate::testing::xorshift(&mut state);
    (0..count)
        .map(|_| {
            let r = next();
            let len = (digits.start + r % (digits.end - digits.start)) as usize;
            let mut s: String = (0..len)
                .map(|i| match (r >> 8) % 5 {
                    0 if runs => '9',
                    1 if runs && i > 0 => '0',
                    2 if i < (r >> 40) as usize % 6 => '0', // leading zeros
                    _ => (b'0' + (next() % 10) as u8) as char,
                })
                .collect();
            let dot = (r >> 16) as usize % (len + 2);
            if dot <= len {
                s.insert(dot, '.');
            }
            match (r >> 24) % 4 {
                0 => format!("-{s}"),
                1 => format!("+{s}"),
                _ => s,
            }
        })
        .collect()
}

/// Decimals next to the midpoint of two doubles, where the rounding
/// is hardest to decide: the exact decimal expansion of a midpoint
/// `m / 2^e` (`m` odd, 54 bits; magnitudes 0.5 to 2^20) cut to 17 to
/// 19 significant digits, and one unit of the last digit either side;
/// with a sign, and with a trailing zero. (No midpoint itself has
/// the wide shape: one with at most eight integer digits needs more
/// than 19 digits.)
fn near_ties(count: usize) -> Vec<String> {
    use num_bigint::BigUint;
    let mut state = 0x71e5_u64;
    let mut out = Vec::new();
    for _ in 0..count {
        let r = crate::testing::xorshift(&mut state);
        let m = (1u64 << 53) | (r >> 11) | 1;
        let e = 54 - (r % 21) as u32;
        // m / 2^e = m · 5^e / 10^e
        let exact = (BigUint::from(m) * BigUint::from(5u32).pow(e)).to_string();
        let int_len = exact.len() - e as usize;
        let (int, frac) = match int_len {
            0 => ("0".to_string(), exact.clone()),
            _ => (exact[..int_len].to_string(), exact[int_len..].to_string()),
        };
        for sig in 17..=19 {
            let keep = sig - int.len();
            let cut: u64 = format!("{int}{}", &frac[..keep]).parse().expect("digits");
            for tweak in [0i64, -1, 1] {
                let d = format!("{:0w$}", cut as i64 + tweak, w = sig);
                let (i, f) = d.split_at(d.len() - keep);
                out.push(format!("{i}.{f}"));
                out.push(format!("-{i}.{f}0"));
            }
        }
    }
    out
}

/// Reads `fields` `n` at a time with `read` (bits of each lane's value, and
/// a mask of the lanes read); checks every lane read against the scalar
/// reader. Returns how many fields `split_wide` reads and how many of those
/// the lanes read.
fn check(fields: &[String], n: usize, read: FloatReader<'_>) -> (usize, usize) {
    let (mut wide_count, mut read_count) = (0, 0);
    for chunk in fields.chunks_exact(n) {
        let raw: Vec<&[u8]> = chunk.iter().map(|f| f.as_bytes()).collect();
        let (bits, mask) = read(&raw);
        assert!(mask < 1 << n);
        for (lane, field) in raw.iter().enumerate() {
            let wide = split_wide(field).is_some();
            wide_count += wide as usize;
            if mask >> lane & 1 == 1 {
                read_count += 1;
                assert!(wide, "{:?}", chunk[lane]);
                let want = parse_float_field(field).expect("a number");
                assert_eq!(bits[lane], want.to_bits(), "{:?}", chunk[lane]);
            }
        }
    }
    (wide_count, read_count)
}

/// The float lanes of width `n` (`read`: as for [`check`]) read exactly
/// what the scalar reader reads, and read nearly every field of the
/// shapes they are for.
pub(super) fn float_lanes_agree(n: usize, read: FloatReader<'_>) {
    // the shapes around plain decimals (blanks, exponents, text, empty
    // fields, a point only, two points, signs only), then plain
    // decimals with runs of nines and zeros, of every length
    let mut fields: Vec<String> = [
        "",
        " 1.5",
        "1.5 ",
        "1e5",
        "0.1234567890123456e1",
        "abc",
        " 0.8012042374516246",
        "0.8012042374516246 ",
        "0.80120423745162.6",
        "-.8012042374516246",
        "+-0.801204237451624",
        "0.801204237451624x",
        "1234567890123456.",
        "................",
        "-----------------",
        "0000000000000000.0",
        "-0.0000000000000000",
        "12345678901234567890.5",
        "0.12345678901234567890",
        "123456789.123456789",
        "9999999999.999999999",
        "0.000000000000000001",
        "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
        "0.8012042374516246\u{e9}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    fields.extend(decimals(0x5eed, 40_000, 1..26, true));
    let (wide, read_count) = check(&fields, n, read);
    assert!(wide > 3_000 && read_count > 2_000, "{read_count} of {wide}");
    // every offset of the special fields among the lanes
    for skip in 1..n {
        check(&fields[skip..], n, read);
    }
    // next to midpoints: many land on the exact quotient
    let (wide, read_count) = check(&near_ties(2_000), n, read);
    assert!(
        wide > 10_000 && read_count > 0 && read_count < wide,
        "{read_count} of {wide}"
    );
    // random digits: the estimate decides all but about one in 300
    let (wide, read_count) = check(&decimals(0xfee1, 40_000, 14..23, false), n, read);
    assert!(
        wide > 5_000 && read_count * 100 >= wide * 99,
        "{read_count} of {wide}"
    );
    // the benchmark's shape: shortest round trips of doubles in [0, 1)
    let mut state = 0xd10_u64;
    let shortest: Vec<String> = (0..40_000)
        .map(|_| {
            let r = crate::testing::xorshift(&mut state);
            let v = (r >> 11) as f64 / (1u64 << 53) as f64;
            if r & 1 == 1 {
                format!("{}", -v * 1e3)
            } else {
                format!("{v}")
            }
        })
        .collect();
    let (wide, read_count) = check(&shortest, n, read);
    assert!(
        wide > 30_000 && read_count * 100 >= wide * 99,
        "{read_count} of {wide}"
    );
}

/// The integer lanes of width `n` (`read`: each lane's value and a mask of
/// the lanes read, given the fields and the readable address range) read
/// exactly the fields of one to eight digits, as the scalar reader does,
/// and nothing outside the readable range.
pub(super) fn integer_lanes_agree(n: usize, read: IntReader<'_>) {
    // fields of every shape, laid out in one buffer as in a CSV file
    let mut state = 0x1e55_u64;
    let mut text = String::from("head");
    let mut spans = Vec::new();
    for _ in 0..20_000 {
        let r = crate::testing::xorshift(&mut state);
        let field = match r % 9 {
            0 => String::new(),
            1 => format!("-{}", r >> 40),
            2 => format!("+{}", r >> 50),
            3 => "0".repeat(1 + (r >> 8) as usize % 9),
            4 => format!("{}x", r >> 44),
            5 => format!("{}", r >> 8),
            6 => format!(" {}", r >> 44),
            _ => format!("{}", (r >> 8) % 10u64.pow(1 + (r >> 4) as u32 % 8)),
        };
        spans.push(text.len()..text.len() + field.len());
        text.push_str(&field);
        text.push(',');
    }
    let buf = text.as_bytes();
    let fields: Vec<&[u8]> = spans.iter().map(|s| &buf[s.clone()]).collect();
    let readable = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let mut read_count = 0;
    for chunk in fields.chunks_exact(n) {
        let (values, mask) = read(chunk, readable.clone());
        assert!(mask < 1 << n);
        for (lane, field) in chunk.iter().enumerate() {
            let read = mask >> lane & 1 == 1;
            let inside = field.as_ptr() as usize >= readable.start + 7;
            let digits = (1..=8).contains(&field.len()) && field.iter().all(u8::is_ascii_digit);
            assert_eq!(read, inside && digits, "{field:?}");
            if read {
                read_count += 1;
                let want = parse_int(field).expect("an integer");
                assert_eq!(values[lane] as i64, want, "{field:?}");
                assert_eq!(parse_int_field(field), Some(want));
            }
        }
    }
    assert!(read_count > 6_000, "{read_count}");
    // nothing outside `readable` is read: the first field starts 4 bytes
    // in, the last ends past it
    let head = vec![&buf[4..5]; n];
    assert_eq!(read(&head, readable.clone()).1, 0);
    let short = readable.start..readable.end - 1;
    let last = vec![&buf[buf.len() - 2..]; n];
    assert_eq!(read(&last, short).1, 0);
}
