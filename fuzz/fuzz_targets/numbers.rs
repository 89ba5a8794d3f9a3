//! Number parsing.
//!
//! - `parse_int`, `parse_float` and their `_field` forms never panic;
//! - `parse_int` agrees with `str::parse::<i64>`: whatever it accepts, std
//!   accepts with the same value, and whatever std accepts, it accepts too,
//!   except negative zero (`-0`, `-00`...), which rayproc reads as the
//!   float -0.0 only; non-UTF-8 input is never an integer;
//!   an integer also parses as the float it rounds to (`v as f64`);
//! - `parse_float` agrees with `str::parse::<f64>` bit for bit (NaNs compare
//!   as NaN, whatever their payload): it accepts exactly what std accepts,
//!   leading `+` included, and non-UTF-8 input is never a number;
//! - the `_field` forms are the plain forms on the input with ASCII blanks
//!   (space, tab) trimmed; a field of blanks only is no number;
//! - `is_wide_int_field` holds exactly for a sign and digits (blanks
//!   around) that `parse_int_field` rejects and that are not all zeros;
//!   such a field is a float too, and `parse_wide_int_field` reads its
//!   exact value (canonical digits: no `+`, no leading zeros);
//! - the eight-lane readers (`read_plain8`, `read_ints8`, AVX-512) and the
//!   four-lane ones (`read_plain4`, `read_ints4`, AVX2) give each lane they
//!   read exactly `parse_float_field`'s (`parse_int_field`'s) value, on the
//!   input and its cuts (where the processor has them and `RAYPROC_SIMD`
//!   allows them: see `rayproc::cpu`);
//! - a text `distinct` keeps as a code (`rayproc::agg::number_codes`) is
//!   written back from it byte for byte, and the code's integer and float
//!   are the text's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::agg::number_codes;
use rayproc::number::batch::{read_ints4, read_ints8, read_plain4, read_plain8};
use rayproc::number::{
    is_wide_int_field, parse_float, parse_float_field, parse_int, parse_int_field,
    parse_wide_int_field,
};

fn trim(s: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !blank(b)).map_or(start, |e| e + 1);
    &s[start..end]
}

fn same_float(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (None, None) => true,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let int = parse_int(data);
    let float = parse_float(data);

    match std::str::from_utf8(data) {
        Ok(s) => {
            let std_int = s.parse::<i64>().ok();
            let negative_zero = s.starts_with('-') && std_int == Some(0);
            match int {
                Some(v) => assert_eq!(std_int, Some(v), "parse_int({s:?}) = {v}, std disagrees"),
                None if negative_zero => {}
                None => assert_eq!(std_int, None, "parse_int({s:?}) rejects what std accepts"),
            }
            // the same floats as std, leading '+' included, in both directions
            let std_float = s.parse::<f64>().ok();
            assert!(
                same_float(float, std_float),
                "parse_float({s:?}) = {float:?}, std gives {std_float:?}"
            );
        }
        Err(_) => {
            assert_eq!(int, None, "non-UTF-8 {data:?} parsed as an integer");
            assert_eq!(float, None, "non-UTF-8 {data:?} parsed as a float");
        }
    }
    if let Some(v) = int {
        let as_float = v as f64;
        assert!(
            same_float(float, Some(as_float)),
            "integer {v} parses as float {float:?}, not {as_float}"
        );
    }

    let t = trim(data);
    assert_eq!(
        parse_int_field(data),
        parse_int(t),
        "parse_int_field({data:?})"
    );
    let expected = if t.is_empty() { None } else { parse_float(t) };
    assert!(
        same_float(parse_float_field(data), expected),
        "parse_float_field({data:?}) = {:?}, trimmed parse gives {expected:?}",
        parse_float_field(data)
    );

    // integers beyond 64 bits
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let all_digits = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    let significant: Vec<u8> = digits.iter().copied().skip_while(|&b| b == b'0').collect();
    let wide = all_digits && !significant.is_empty() && parse_int_field(data).is_none();
    assert_eq!(is_wide_int_field(data), wide, "is_wide_int_field({data:?})");
    match parse_wide_int_field(data) {
        Some(v) => {
            assert!(wide, "parse_wide_int_field({data:?}) read a non-wide field");
            assert!(
                parse_float_field(data).is_some(),
                "wide {data:?} is no float"
            );
            let mut want = if neg { b"-".to_vec() } else { Vec::new() };
            want.extend_from_slice(&significant);
            assert_eq!(
                v.to_string().into_bytes(),
                want,
                "parse_wide_int_field({data:?})"
            );
        }
        None => assert!(!wide, "parse_wide_int_field({data:?}) rejects a wide field"),
    }

    // `distinct`'s codes of plain numbers: the text written back byte for
    // byte, and the numbers its text parses to
    if let Some(code) = number_codes::encode(data) {
        let mut buf = [0; number_codes::MAX_TEXT];
        assert_eq!(number_codes::write(code, &mut buf), data, "code of {data:?}");
        assert!(
            same_float(number_codes::float_of(code), parse_float_field(data)),
            "float_of(code of {data:?})"
        );
        let int = parse_int_field(data);
        assert_eq!(number_codes::int_of(code), int, "int_of(code of {data:?})");
        let canonical = int.is_some_and(|v| v.to_string().as_bytes() == data);
        assert_eq!(number_codes::is_canonical_int(code), canonical, "{data:?}");
    }

    // eight lanes: the input and cuts of it
    let n = data.len();
    let cut = |a: usize, b: usize| &data[a.min(n)..b.clamp(a.min(n), n)];
    let lanes = [
        data,
        cut(1, n),
        cut(0, n.saturating_sub(1)),
        t,
        cut(2, n),
        cut(0, n.saturating_sub(2)),
        cut(1, n.saturating_sub(1)),
        cut(n / 2, n),
    ];
    // the integer lanes and the short float ones read fields inside a
    // buffer: the input after sixteen bytes
    let mut buf = b"0123456789,1.5,-".to_vec();
    buf.extend_from_slice(data);
    let inside: Vec<&[u8]> = lanes
        .iter()
        .map(|lane| {
            let at = 16 + (lane.as_ptr() as usize - data.as_ptr() as usize);
            &buf[at..at + lane.len()]
        })
        .collect();
    if let Some((values, read)) = read_ints8(&buf, &inside) {
        for (lane, field) in inside.iter().enumerate() {
            if read >> lane & 1 == 1 {
                let want = parse_int_field(field);
                assert_eq!(Some(values[lane]), want, "int lane {lane}: {field:?}");
            }
        }
    }
    // four lanes: the first four cuts, then the last four
    for at in [0, 4] {
        let four = &inside[at..at + 4];
        if let Some((values, read)) = read_ints4(&buf, four) {
            for (lane, field) in four.iter().enumerate() {
                if read >> lane & 1 == 1 {
                    let want = parse_int_field(field);
                    assert_eq!(Some(values[lane]), want, "int lane {lane}: {field:?}");
                }
            }
        }
        let four = &inside[at..at + 4];
        if let Some((values, read)) = read_plain4(&buf, four) {
            for (lane, field) in four.iter().enumerate() {
                if read >> lane & 1 == 1 {
                    let want = parse_float_field(field);
                    assert!(
                        same_float(Some(values[lane]), want) && want.is_some(),
                        "four-lane {lane}: {field:?} read as {}, scalar gives {want:?}",
                        values[lane]
                    );
                }
            }
        }
    }
    if let Some((values, read)) = read_plain8(&buf, &inside) {
        for (lane, field) in inside.iter().enumerate() {
            if read >> lane & 1 == 1 {
                let want = parse_float_field(field);
                assert!(
                    same_float(Some(values[lane]), want) && want.is_some(),
                    "lane {lane}: {field:?} read as {}, scalar gives {want:?}",
                    values[lane]
                );
            }
        }
    }
});
