//! What the lane readers' tests share ([`x8`](super::x8) on AVX-512,
//! [`x4`](super::x4) on AVX2): the fields they read, and the checks that
//! every lane a reader reads is bit for bit the scalar reader's value. A
//! test passes in the reader of its width; the fields and checks are the
//! same for both widths.

use std::ops::Range;

use super::batch::readable;
use super::decimal::{split_short, split_wide};
use super::{parse_float_field, parse_int, parse_int_field};

/// Each lane's value (the bits of a float, or an integer) and a mask of
/// the lanes read.
pub(super) type Lanes = (Vec<u64>, u32);
/// A float lane reader: the fields, one per lane, and the address range it
/// may read (the short fields'; the long ones are read within themselves).
pub(super) type FloatReader<'a> = &'a dyn Fn(&[&[u8]], Range<usize>) -> Lanes;
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

/// `fields` laid out in one buffer after `head`, a comma after each, as in
/// a CSV file: the buffer and each field's place in it.
fn layout<S: AsRef<str>>(head: &str, fields: &[S]) -> (String, Vec<Range<usize>>) {
    let mut text = String::from(head);
    let mut spans = Vec::with_capacity(fields.len());
    for field in fields {
        let field = field.as_ref();
        spans.push(text.len()..text.len() + field.len());
        text.push_str(field);
        text.push(',');
    }
    (text, spans)
}

/// How many fields of the long shape ([`split_wide`]) and of the short
/// one ([`split_short`], inside the readable range) [`check`] met, and
/// how many of each the lanes read.
#[derive(Debug, Default)]
struct Counts {
    wide: usize,
    wide_read: usize,
    short: usize,
    short_read: usize,
}

/// Reads `fields` `n` at a time with `read` (bits of each lane's value, and
/// a mask of the lanes read), laid out in one buffer after a two-byte
/// head; checks every lane read against the scalar reader, and that the
/// lanes read every short decimal they may.
fn check(fields: &[String], n: usize, read: FloatReader<'_>) -> Counts {
    let (text, spans) = layout("h,", fields);
    let buf = text.as_bytes();
    let readable = readable(buf);
    let mut counts = Counts::default();
    for (chunk, spans) in fields.chunks_exact(n).zip(spans.chunks_exact(n)) {
        let raw: Vec<&[u8]> = spans.iter().map(|s| &buf[s.clone()]).collect();
        let (bits, mask) = read(&raw, readable.clone());
        assert!(mask < 1 << n);
        for (lane, field) in raw.iter().enumerate() {
            let wide = split_wide(field).is_some();
            // a short field the lanes may read: it ends 16 bytes in or more
            let short = split_short(field).is_some() && spans[lane].end >= 16;
            let read = mask >> lane & 1 == 1;
            counts.wide += wide as usize;
            counts.short += short as usize;
            counts.wide_read += (wide && read) as usize;
            counts.short_read += (short && read) as usize;
            assert!(!short || read, "short {:?} not read", chunk[lane]);
            if read {
                assert!(wide || short, "{:?}", chunk[lane]);
                let want = parse_float_field(field).expect("a number");
                assert_eq!(bits[lane], want.to_bits(), "{:?}", chunk[lane]);
            }
        }
    }
    counts
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
    fields.extend(
        [
            "-",
            "+",
            ".",
            "-.",
            "5.",
            "-5.",
            ".5",
            "+.5",
            "1.2.3",
            "--1",
            "1-",
            "1e5",
            " 1",
            "1 ",
            "-0",
            "-0.0",
            "+0",
            "00.00",
            "0",
            "999999999999999",
            "99999999.9999999",
            ".99999999999999",
            "-9999999.9999999",
            "123456789012345",
            "0.0000000000001",
        ]
        .map(String::from),
    );
    fields.extend(decimals(0x5eed, 40_000, 1..26, true));
    let counts = check(&fields, n, read);
    assert!(
        counts.wide > 3_000 && counts.wide_read > 2_000 && counts.short > 10_000,
        "{counts:?}"
    );
    // every offset of the special fields among the lanes
    for skip in 1..n {
        check(&fields[skip..], n, read);
    }
    // short decimals only: prices, rates, coordinates, with either sign
    let mut state = 0x5407_u64;
    let short: Vec<String> = (0..40_000)
        .map(|_| {
            let r = crate::testing::xorshift(&mut state);
            let v = (r >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((r % 5) as i32);
            let v = if r >> 8 & 1 == 1 { -v } else { v };
            format!("{v:.prec$}", prec = (r >> 4) as usize % 9)
        })
        .collect();
    let counts = check(&short, n, read);
    assert!(counts.short > 39_000, "{counts:?}");
    // next to midpoints: many land on the exact quotient
    let counts = check(&near_ties(2_000), n, read);
    assert!(
        counts.wide > 10_000 && counts.wide_read > 0 && counts.wide_read < counts.wide,
        "{counts:?}"
    );
    // random digits: the estimate decides all but about one in 300
    let counts = check(&decimals(0xfee1, 40_000, 14..23, false), n, read);
    assert!(
        counts.wide > 5_000 && counts.wide_read * 100 >= counts.wide * 99,
        "{counts:?}"
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
    let counts = check(&shortest, n, read);
    assert!(
        counts.wide > 30_000 && counts.wide_read * 100 >= counts.wide * 99,
        "{counts:?}"
    );
    // no short field is read outside the readable range: one that ends
    // less than 16 bytes past its start, one that ends past its end
    let (text, _) = layout("", &["12.5"; 8]);
    let buf = text.as_bytes();
    let readable = readable(buf);
    let early = vec![&buf[10..14]; n];
    assert_eq!(read(&early, readable.clone()).1, 0);
    let late = vec![&buf[buf.len() - 5..buf.len() - 1]; n];
    assert_eq!(read(&late, readable.start..readable.end - 2).1, 0);
    assert_eq!(read(&late, readable.clone()).1, (1 << n) - 1);
}

/// The integer lanes of width `n` (`read`: each lane's value and a mask of
/// the lanes read, given the fields and the readable address range) read
/// exactly the fields of one to eight digits, as the scalar reader does,
/// and nothing outside the readable range.
pub(super) fn integer_lanes_agree(n: usize, read: IntReader<'_>) {
    // fields of every shape, laid out in one buffer as in a CSV file
    let mut state = 0x1e55_u64;
    let mut shapes = Vec::new();
    for _ in 0..20_000 {
        let r = crate::testing::xorshift(&mut state);
        shapes.push(match r % 9 {
            0 => String::new(),
            1 => format!("-{}", r >> 40),
            2 => format!("+{}", r >> 50),
            3 => "0".repeat(1 + (r >> 8) as usize % 9),
            4 => format!("{}x", r >> 44),
            5 => format!("{}", r >> 8),
            6 => format!(" {}", r >> 44),
            _ => format!("{}", (r >> 8) % 10u64.pow(1 + (r >> 4) as u32 % 8)),
        });
    }
    let (text, spans) = layout("head", &shapes);
    let buf = text.as_bytes();
    let fields: Vec<&[u8]> = spans.iter().map(|s| &buf[s.clone()]).collect();
    let readable = readable(buf);
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

/// One page of input between two pages that fault when touched: a lane
/// that loads a byte outside the input crashes the test.
struct Fenced {
    map: *mut u8,
}

impl Fenced {
    const PAGE: usize = 4096;

    fn new() -> Fenced {
        // SAFETY: a fresh anonymous mapping of three pages, the outer two
        // then made inaccessible; `map` is checked before use.
        unsafe {
            let map = libc::mmap(
                std::ptr::null_mut(),
                3 * Self::PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(map, libc::MAP_FAILED);
            let map = map as *mut u8;
            assert_eq!(libc::mprotect(map as _, Self::PAGE, libc::PROT_NONE), 0);
            let after = map.add(2 * Self::PAGE);
            assert_eq!(libc::mprotect(after as _, Self::PAGE, libc::PROT_NONE), 0);
            Fenced { map }
        }
    }

    /// The input page, `text` written at its start (`end`: at its end),
    /// the rest blanks.
    fn page(&mut self, text: &str, end: bool) -> &[u8] {
        assert!(text.len() <= Self::PAGE);
        // SAFETY: the middle page is mapped, readable and writable, and
        // borrowed from `self` for as long as the slice lives.
        let page = unsafe { std::slice::from_raw_parts_mut(self.map.add(Self::PAGE), Self::PAGE) };
        page.fill(b' ');
        let at = if end { Self::PAGE - text.len() } else { 0 };
        page[at..at + text.len()].copy_from_slice(text.as_bytes());
        page
    }
}

impl Drop for Fenced {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.map as _, 3 * Self::PAGE) };
    }
}

/// The lanes load nothing outside the readable range, whichever of their
/// lanes they read: every shape of field, `n` at a time in every rotation,
/// at the very start of an input page and at its very end, with pages
/// that fault on either side (the lanes choose, per lane, between the
/// field's bytes and a blank: a lane that loaded its field where it may
/// not would crash here).
pub(super) fn lanes_stay_inside(n: usize, floats: FloatReader<'_>, ints: IntReader<'_>) {
    let shapes = [
        "1",
        "-2",
        "1.5",
        "-0.25",
        "12345678",
        "123456789",
        "3.14159265358979",
        "0.8012042374516246",
        "-0.801204237451624612",
        "abc",
        "",
        "7.",
    ];
    let mut fenced = Fenced::new();
    for end in [false, true] {
        for rotate in 0..shapes.len() {
            let fields: Vec<&str> = (0..n)
                .map(|k| shapes[(rotate + k) % shapes.len()])
                .collect();
            let (text, spans) = layout("", &fields);
            // at the end: the last field's comma dropped, so that it ends
            // where the page does
            let text = if end {
                &text[..text.len() - 1]
            } else {
                &text[..]
            };
            let page = fenced.page(text, end);
            let shift = if end { page.len() - text.len() } else { 0 };
            let raw: Vec<&[u8]> = spans
                .iter()
                .map(|s| &page[s.start + shift..s.end + shift])
                .collect();
            let readable = readable(page);
            let (bits, mask) = floats(&raw, readable.clone());
            for (lane, field) in raw
                .iter()
                .enumerate()
                .filter(|(lane, _)| mask >> lane & 1 == 1)
            {
                let want = parse_float_field(field).expect("a number");
                assert_eq!(bits[lane], want.to_bits(), "{field:?}");
            }
            let (values, mask) = ints(&raw, readable);
            for (lane, field) in raw
                .iter()
                .enumerate()
                .filter(|(lane, _)| mask >> lane & 1 == 1)
            {
                assert_eq!(Some(values[lane] as i64), parse_int(field), "{field:?}");
            }
        }
    }
}
