//! Whether a number field's text is the text a `--where` test reads of its
//! value where there is no text: an integer as `{i}` (`-`, digits, no
//! leading zero), a double as `{v:?}` (Rust's shortest round-trip form:
//! `1.5`, `100.0`, `1e16`, `1e-5`, `-0.0`, `inf`, `NaN`).
//!
//! A store keeps a number column's values, not its fields' text: `split`
//! asks this of every number field, and keeps the text of those where the
//! answer is no (`+7`, `1.50`, `1e3`) beside the values (format version 6,
//! the field `NAME#text`), so that a text test reads what `run --input`
//! reads. The reference data's numbers are all printed forms; the answer
//! costs little there:
//!
//! - an integer's field is its one spelling where it is in its syntax;
//! - a double's field whose value prints in decimal notation (1e-4 ≤ |v| <
//!   1e16, or zero) is read as digits: a text that is not in the printed
//!   syntax (`-`, no leading zero, a point, no trailing zero) is not the
//!   printed form; one of at most 15 significant digits is (any two
//!   decimals of at most 15 digits are different doubles, so the shortest
//!   that reads back as `v` is the text); one of 18 or more is not (a
//!   double never needs more than 17); and one of 16 or 17 is decided
//!   exactly in 128-bit integers (no shorter decimal lies in the double's
//!   rounding interval, and the text is the nearest decimal of its length);
//! - anything else (exponent forms, non-finite values, a tie) is printed
//!   and compared.

/// Whether `text`, a field that reads as the integer `v`
/// ([`super::parse_int_field`]), is the one spelling of `v` (what a filter
/// reads of an integer without text). That spelling is the only text in
/// its syntax, `0` or `-?[1-9][0-9]*`, that reads as `v`, so the syntax
/// decides, without writing `v` out.
#[inline]
pub fn is_printed_int(text: &[u8], v: i64) -> bool {
    let digits = match text.split_first() {
        Some((b'-', rest)) => rest,
        _ => text,
    };
    let canonical = match digits.split_first() {
        Some((b'0', rest)) => rest.is_empty() && digits.len() == text.len(),
        Some((b'1'..=b'9', rest)) => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    debug_assert!(
        !canonical || text == v.to_string().as_bytes(),
        "{text:?} does not read as {v}"
    );
    canonical
}

/// Whether `text`, a field that reads as the double `v`
/// ([`super::parse_float_field`]), is `format!("{v:?}")` (what a filter
/// reads of a double without text).
#[inline]
pub fn is_printed_float(text: &[u8], v: f64) -> bool {
    match decided_by_digits(text, v) {
        Some(same) => same,
        None => printed_float_is(text, v),
    }
}

/// `format!("{v:?}") == text`, written on the stack.
#[inline(never)]
fn printed_float_is(text: &[u8], v: f64) -> bool {
    use std::io::Write;
    // the longest is 24 bytes (`-2.2250738585072014e-308`)
    let mut buf = [0u8; 48];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    match write!(cursor, "{v:?}") {
        Ok(()) => {
            let len = cursor.position() as usize;
            &buf[..len] == text
        }
        Err(_) => format!("{v:?}").as_bytes() == text,
    }
}

/// [`is_printed_float`] decided from the text's digits, or `None` where
/// it must be printed (see the module docs).
#[inline]
fn decided_by_digits(text: &[u8], v: f64) -> Option<bool> {
    if !v.is_finite() {
        return None;
    }
    let a = v.abs();
    // as `{:?}` chooses its notation (core's `float_to_general_debug`)
    if (a != 0.0 && a < 1e-4) || a >= 1e16 {
        return None;
    }
    // the decimal notation: `-`? (`0` | [1-9][0-9]*) `.` ([0-9]*[1-9] | `0`)
    let (neg, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if neg != v.is_sign_negative() {
        return Some(false);
    }
    let Some(dot) = body.iter().position(|&b| b == b'.') else {
        return Some(false);
    };
    let (int, frac) = (&body[..dot], &body[dot + 1..]);
    let canonical = !int.is_empty()
        && !frac.is_empty()
        && int.iter().chain(frac).all(u8::is_ascii_digit)
        && (int.len() == 1 || int[0] != b'0')
        && (frac == b"0" || frac[frac.len() - 1] != b'0');
    if !canonical {
        return Some(false);
    }
    // the significant digits, as an integer `m` times 10^`e`
    let frac = if frac == b"0" { &[][..] } else { frac };
    let digits = int.iter().chain(frac).skip_while(|&&b| b == b'0');
    let mut n = 0usize;
    let mut m: u64 = 0;
    for &d in digits {
        n += 1;
        if n > 17 {
            // a double never needs more than 17
            return Some(false);
        }
        m = m * 10 + (d - b'0') as u64;
    }
    let mut e = -(frac.len() as i32);
    while m != 0 && m.is_multiple_of(10) {
        m /= 10;
        e += 1;
        n -= 1;
    }
    if n <= 15 {
        // the only decimal of at most 15 digits that reads as `v`
        return Some(true);
    }
    shortest_nearest(m, e, a)
}

/// Whether `m`·10^`e` (16 or 17 digits, reading as `a` > 0) is the
/// shortest decimal that reads back as `a` and, of its length, the one
/// nearest `a`: exactly, in 128-bit integers, where they hold it (`None`
/// elsewhere, and at a tie).
fn shortest_nearest(m: u64, e: i32, a: f64) -> Option<bool> {
    let bits = a.to_bits();
    let biased = (bits >> 52) as i32;
    if biased == 0 {
        return None;
    }
    let mant = (bits & ((1 << 52) - 1)) | (1 << 52);
    let q = biased - 1075;
    // a = mant·2^q, t = m·10^e: compared as mant·10^k and m·2^s, both
    // times 4 (k = -e, s = -q): below 2^125 for k <= 21, s <= 66 (which
    // every value of at least 1e-4 with at most 17 digits meets)
    if e >= 0 || q >= 0 || -e > 21 || -q > 66 {
        return None;
    }
    let (k, s) = ((-e) as u32, (-q) as u32);
    let ten_k = 10u128.pow(k);
    let a4 = 4 * mant as u128 * ten_k;
    // half the gap to the next double up, and down (a quarter of the gap
    // at the bottom of a binade), in the same units
    let half_up = 2 * ten_k;
    let half_down = match mant == 1 << 52 && biased > 1 {
        true => ten_k,
        false => 2 * ten_k,
    };
    // a round-half-even reader keeps the ends for an even mantissa
    let inclusive = mant.is_multiple_of(2);
    let reads_as_a = |d: u128| {
        let d4 = (4 * d) << s;
        match d4 >= a4 {
            true => d4 - a4 < half_up || (inclusive && d4 - a4 == half_up),
            false => a4 - d4 < half_down || (inclusive && a4 - d4 == half_down),
        }
    };
    let m = m as u128;
    // a decimal of one digit less at its place
    let below = m / 10 * 10;
    if reads_as_a(below) || reads_as_a(below + 10) {
        return Some(false);
    }
    // the nearest of its length: within half a unit of its last digit
    let t4 = (4 * m) << s;
    let off = t4.abs_diff(a4);
    let half_unit = 2u128 << s;
    match off.cmp(&half_unit) {
        std::cmp::Ordering::Less => Some(true),
        std::cmp::Ordering::Greater => Some(false),
        std::cmp::Ordering::Equal => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::parse_float_field;

    /// The rule: the text is the printed form.
    fn check(text: &str) {
        let v = parse_float_field(text.as_bytes()).unwrap_or_else(|| panic!("{text:?}"));
        let want = format!("{v:?}") == text;
        assert_eq!(
            is_printed_float(text.as_bytes(), v),
            want,
            "{text:?} ({v:?})"
        );
        if let Some(fast) = decided_by_digits(text.as_bytes(), v) {
            assert_eq!(fast, want, "the digits decide {text:?} ({v:?})");
        }
    }

    /// `d.ddde±x` (Rust's `{:e}` forms) in plain decimal notation.
    fn plain(sci: &str) -> Option<String> {
        let (mant, exp) = sci.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (neg, mant) = match mant.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mant),
        };
        let digits: String = mant.chars().filter(|c| *c != '.').collect();
        // the point after the first digit, moved by `exp`
        let point = 1 + exp;
        let s = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        Some(if neg { format!("-{s}") } else { s })
    }

    /// Every decimal of `digits` significant digits within `reach` units
    /// of the last digit of `v`'s correctly rounded one, that reads as `v`.
    fn neighbours(v: f64, digits: usize, reach: i64) -> Vec<String> {
        let sci = format!("{:.*e}", digits - 1, v);
        let (mant, exp) = sci.split_once('e').unwrap();
        let (neg, mant) = match mant.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mant),
        };
        let m: i64 = mant.replace('.', "").parse().unwrap();
        let mut out = Vec::new();
        for d in -reach..=reach {
            let m = m + d;
            if m <= 0 {
                continue;
            }
            let s = m.to_string();
            let mant = if s.len() > 1 {
                format!("{}.{}", &s[..1], &s[1..])
            } else {
                s.clone()
            };
            // (a carry to another digit count moves the exponent)
            let exp: i32 = exp.parse::<i32>().unwrap() + (s.len() as i32 - digits as i32);
            let Some(text) = plain(&format!("{}{mant}e{exp}", if neg { "-" } else { "" })) else {
                continue;
            };
            // trailing zeros stripped (`1.50` is tested apart)
            let text = match text.contains('.') {
                true => {
                    let t = text.trim_end_matches('0');
                    match t.ends_with('.') {
                        true => format!("{t}0"),
                        false => t.to_string(),
                    }
                }
                false => text,
            };
            if parse_float_field(text.as_bytes()) == Some(v) {
                out.push(text);
            }
        }
        out
    }

    #[test]
    fn integers_are_their_one_spelling() {
        for (text, v, same) in [
            ("7", 7, true),
            ("+7", 7, false),
            ("07", 7, false),
            (" 7", 7, false),
            ("7 ", 7, false),
            ("0", 0, true),
            ("-1", -1, true),
            ("-9223372036854775808", i64::MIN, true),
            ("9223372036854775807", i64::MAX, true),
            ("+9223372036854775807", i64::MAX, false),
            ("-0", 0, false),
            ("00", 0, false),
            ("-07", -7, false),
            ("+0", 0, false),
        ] {
            assert_eq!(is_printed_int(text.as_bytes(), v), same, "{text}");
        }
        // every field that reads as an integer: the rule
        let mut state = 7u64;
        for round in 0..200_000u64 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (state as i64) >> (state % 64);
            let pad = ["", "+", "0", "-", " ", "00", "-0"][(round % 7) as usize];
            let text = match pad {
                "-" | "-0" if v >= 0 => format!("{pad}{v}"),
                "-" | "-0" => format!("-{pad}{}", v.unsigned_abs()),
                _ => format!("{pad}{v}"),
            };
            let Some(read) = crate::number::parse_int_field(text.as_bytes()) else {
                continue;
            };
            let want = read.to_string() == text;
            assert_eq!(is_printed_int(text.as_bytes(), read), want, "{text:?}");
        }
    }

    #[test]
    fn edge_values() {
        for text in [
            "0.0",
            "-0.0",
            "0",
            "-0",
            "0.00",
            "1.0",
            "1.5",
            "1.50",
            "+1.5",
            " 1.5",
            "1.5 ",
            "\t1.5",
            "01.5",
            ".5",
            "5.",
            "7.0",
            "7",
            "100.0",
            "1e2",
            "1E2",
            "1e3",
            "1000.0",
            "0.1",
            "0.10000000000000001",
            "0.1000000000000000055511151231257827",
            "0.30000000000000004",
            "0.3",
            "1e-5",
            "0.00001",
            "1e-4",
            "0.0001",
            "0.0001000",
            "1e16",
            "10000000000000000.0",
            "9999999999999998.0",
            "1e15",
            "1000000000000000.0",
            "9007199254740993",
            "9007199254740993.0",
            "9007199254740992.0",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "5e-324",
            "4.9406564584124654e-324",
            "1e-320",
            "inf",
            "-inf",
            "+inf",
            "infinity",
            "Infinity",
            "INF",
            "nan",
            "NaN",
            "-nan",
            "NAN",
            "1e400",
            "-1e400",
            "123456789012345.6",
            "1234567890123456.7",
            "0.1234567890123456",
            "0.12345678901234567",
            "0.123456789012345678",
            "2.5e15",
            "2500000000000000.0",
            "1e100",
            "1e-300",
            "0.5e1",
            "5.0e0",
            "0.8012042374516246",
            "0.792463828625687",
            "0.8518725513276336",
            "0.999999999999999",
            "0.9999999999999999",
            "0.99999999999999999",
        ] {
            check(text);
        }
    }

    #[test]
    fn random_values_and_their_neighbours() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut decided = 0;
        for round in 0..60_000 {
            let r = next();
            let v = match round % 6 {
                0 => f64::from_bits(r),
                1 => (r >> 11) as f64 / (1u64 << 53) as f64,
                2 => ((r >> 11) as f64 / (1u64 << 53) as f64) * 10f64.powi((r % 40) as i32 - 20),
                3 => (r % 100_000) as f64 / 1000.0,
                4 => (r as i64 >> (r % 64)) as f64,
                _ => f64::from_bits((r % 0x10_0000_0000_0000) | 0x3ff0_0000_0000_0000) - 1.0,
            };
            if !v.is_finite() {
                continue;
            }
            let printed = format!("{v:?}");
            check(&printed);
            if printed.contains('.') && !printed.contains('e') {
                check(&format!("{printed}0"));
            }
            for digits in [15, 16, 17] {
                for text in neighbours(v, digits, 3) {
                    check(&text);
                    decided += decided_by_digits(text.as_bytes(), v).is_some() as usize;
                }
            }
        }
        // the digits decide most of them
        assert!(decided > 100_000, "{decided}");
    }

    /// Around each power of ten and of two in decimal notation, where the
    /// digit count or the gap between doubles changes: the doubles a few
    /// steps either side, their printed forms and their neighbours.
    #[test]
    fn values_at_the_powers_of_ten_and_two() {
        let mut centres: Vec<f64> = (-4..=16).map(|p| 10f64.powi(p)).collect();
        centres.extend((-13..=53).map(|p| 2f64.powi(p)));
        for centre in centres {
            for step in -3i64..=3 {
                let v = f64::from_bits((centre.to_bits() as i64 + step) as u64);
                for v in [v, -v] {
                    check(&format!("{v:?}"));
                    for digits in [15, 16, 17] {
                        for text in neighbours(v, digits, 12) {
                            check(&text);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn number_fields_are_ascii() {
        // the text kept of a number field is UTF-8 (the field `NAME#text`
        // is `Utf8`): no field with another byte reads as a number
        for base in ["1", "1.5", "inf", "nan", "1e5", "-7"] {
            for b in 0x80..=0xffu8 {
                for at in 0..=base.len() {
                    let mut t = base.as_bytes().to_vec();
                    t.insert(at, b);
                    assert!(parse_float_field(&t).is_none(), "{t:?}");
                }
            }
        }
    }
}
