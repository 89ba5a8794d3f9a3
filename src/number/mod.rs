//! Number parsing: every way rayproc reads a number from text.
//!
//! Numbers are read in three places, which must agree bit for bit: a
//! field at a time (this file: what aggregates, group keys and the store
//! read), a batch's column at a time ([`batch`]: what the CSV reader types
//! its batches with, eight or four fields at a time where the processor
//! allows), and the plain-decimal reader both build on ([`decimal`], and
//! [`x8`] and [`x4`], its forms on the eight 64-bit lanes of an AVX-512
//! register and the four of an AVX2 one). One module, so
//! that the readers' contract is in one place and the paths are tested
//! against each other here (and in the `numbers` fuzz target):
//!
//! - [`parse_int`] reads a 64-bit integer (a sign and ASCII digits; `-0` is
//!   not one: it is the float -0.0, whose sign an integer cannot keep);
//! - [`parse_float`] reads any number `str::parse::<f64>` reads, with the
//!   same value, bit for bit;
//! - the `_field` forms allow ASCII blanks (space, tab) around the number;
//! - [`is_wide_int_field`] and [`parse_wide_int_field`] single out the
//!   integers too wide for 64 bits, which are never read as floats, and
//!   [`bigdec`] reads them in subquadratic time, whatever their
//!   length.
//! - [`integer_digits`] reads an integer of any width as its sign and
//!   digits, for `min` and `max` to compare such integers by value.
//!
//! Which vectorised path the batch readers take is [`crate::cpu`]'s answer.

pub mod batch;
pub mod bigdec;
pub mod decimal;
#[cfg(all(test, target_arch = "x86_64"))]
mod lanes_testing;
#[cfg(target_arch = "x86_64")]
mod loads;
pub mod printed;
pub mod typing;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x4;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x8;

/// Parses a 64-bit integer: optional sign, then ASCII digits only.
///
/// A negative zero (`-0`, `-00`) is not an integer: it is the float -0.0,
/// whose sign an integer cannot keep, so a column holding one is a float
/// column (otherwise a sum of `-0.0` and `-0` would depend on which batch
/// each value landed in).
#[inline(always)]
pub fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 8 {
        // the common short integer: no loop, no overflow possible
        let v = decimal::parse_digits_8(digits)?;
        return match (neg, v) {
            (true, 0) => None, // negative zero is a float
            (true, v) => Some(-(v as i64)),
            (false, v) => Some(v as i64),
        };
    }
    // leading zeros do not count towards the 19 digits an i64 can hold
    let first = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len());
    let significant = &digits[first..];
    if significant.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    if neg {
        if v == 0 {
            None
        } else if v <= 1u64 << 63 {
            Some((v as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Whether `s` (blanks around it allowed) is an integer too wide for 64
/// bits: an optional sign and ASCII digits, not all zeros, that
/// [`parse_int`] rejects. Such a value is not read as a float: a float
/// would merge neighbouring identifiers (`89014103211118510720` and
/// `...721` are the same `f64`), so its batch is text, compared by its text,
/// and the numeric aggregates read it exactly ([`parse_wide_int_field`]).
pub fn is_wide_int_field(s: &[u8]) -> bool {
    let t = trim_blanks(s);
    let digits = match t.first() {
        Some(b'-' | b'+') => &t[1..],
        _ => t,
    };
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && digits.iter().any(|&b| b != b'0')
        && parse_int(t).is_none()
}

/// An integer of any width spelled as an integer column spells one: blanks
/// around it allowed, an optional sign, then ASCII digits without a
/// significant leading zero (`0`, `+0`, `12`, `-89014103211118510720`;
/// not `007` nor `+00`, which are text, [`is_zero_padded_int`], nor `-0`,
/// which is the float -0.0). Returns whether it is negative, and its digits.
/// What `min` and `max` compare as integers in a column made text by
/// integers wider than 64 bits.
pub fn integer_digits(s: &[u8]) -> Option<(bool, &[u8])> {
    let t = trim_blanks(s);
    let (negative, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let canonical = match digits {
        [] => false,
        [b'0'] => !negative,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    canonical.then_some((negative, digits))
}

/// Whether `f` is an integer of any width spelled one way only: `-` or no
/// sign, then digits without a leading zero ([`integer_digits`] with
/// nothing around them and no `+`), as a key or a state keeps one.
pub fn plain_integer(f: &[u8]) -> bool {
    integer_digits(f).is_some_and(|(negative, digits)| f.len() == digits.len() + negative as usize)
}

/// The value of `f`, a [`plain_integer`], where it fits 128 bits: what an
/// integer wider than 64 bits prints as (a sum's, a key's, an extreme's);
/// `None` past 128 bits, where its digits are printed as they are.
pub fn plain_integer_i128(f: &[u8]) -> Option<i128> {
    debug_assert!(plain_integer(f), "{f:?}");
    std::str::from_utf8(f).ok()?.parse().ok()
}

/// Whether `s` (blanks around it allowed) is an integer written with a
/// significant leading zero: an optional sign, then two or more ASCII
/// digits of which the first is `0` (`007`, `-01`, `08123`; not `0`, not
/// `0.5`). Such a value is an identifier (a zip code, an account number)
/// more often than a quantity, and reading it as a number would lose its
/// text: `08123` would print as `8123` and `7` and `007` would be one key.
/// So its column is text (keys, `min`/`max` and `distinct` see the text
/// as written), while the numeric aggregates still read it as a number.
#[inline]
pub fn is_zero_padded_int(s: &[u8]) -> bool {
    let t = trim_blanks(s);
    let digits = match t.first() {
        Some(b'-' | b'+') => &t[1..],
        _ => t,
    };
    digits.len() >= 2 && digits[0] == b'0' && digits.iter().all(u8::is_ascii_digit)
}

/// The exact value of an integer field of any width (see
/// [`is_wide_int_field`]); `None` for anything else.
pub fn parse_wide_int_field(s: &[u8]) -> Option<num_bigint::BigInt> {
    if !is_wide_int_field(s) {
        return None;
    }
    let t = trim_blanks(s);
    let t = t.strip_prefix(b"+").unwrap_or(t);
    // not `BigInt::parse_bytes`, quadratic in the digits: a field's length
    // is the input's to choose ([`bigdec`])
    bigdec::parse(t)
}

/// Parses a number (decimal, exponent, `inf`, `nan`) the way a CSV reader
/// should: the whole field must be the number.
#[inline(always)]
pub fn parse_float(s: &[u8]) -> Option<f64> {
    // the plain decimals of real data take the fast reader; exponents,
    // `inf`, long mantissas and malformed text the general one
    // a `match`, not `Option::or_else`: compiled into the loops for wider
    // instructions, `or_else` stayed a call per field
    match decimal::parse_plain(s) {
        Some(v) => Some(v),
        None => parse_general(s),
    }
}

/// Any number `fast_float2` reads: out of line, so that callers inline
/// only the plain-decimal reader.
#[inline(never)]
fn parse_general(s: &[u8]) -> Option<f64> {
    fast_float2::parse(s).ok()
}

/// Strips ASCII spaces and tabs, so `" 42"` is a number too.
pub fn trim_blanks(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Integers beyond this magnitude may not be exact as `f64` (within it,
/// every integer is its float's value).
pub const EXACT_INT_LIMIT: i64 = 1 << 53;

/// An integer, with surrounding blanks allowed.
#[inline(always)]
pub fn parse_int_field(s: &[u8]) -> Option<i64> {
    // (a `match` for the reason given in `parse_float`)
    match parse_int(s) {
        Some(v) => Some(v),
        None => parse_int_trimmed(s),
    }
}

/// [`parse_int`] of `s` without blanks around it, if it has any. Out of
/// line, like [`parse_float_trimmed`]: callers inline only the common case.
#[inline(never)]
fn parse_int_trimmed(s: &[u8]) -> Option<i64> {
    let t = trim_blanks(s);
    if t.len() != s.len() {
        parse_int(t)
    } else {
        None
    }
}

/// A number, with surrounding blanks allowed.
#[inline(always)]
pub fn parse_float_field(s: &[u8]) -> Option<f64> {
    // (a `match` for the reason given in `parse_float`)
    match parse_float(s) {
        Some(v) => Some(v),
        None => parse_float_trimmed(s),
    }
}

/// [`parse_float`] of `s` without blanks around it, if it has any.
#[inline(never)]
fn parse_float_trimmed(s: &[u8]) -> Option<f64> {
    let t = trim_blanks(s);
    if t.len() != s.len() && !t.is_empty() {
        parse_float(t)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_digits_are_an_integer_columns_spelling() {
        assert_eq!(integer_digits(b"0"), Some((false, &b"0"[..])));
        assert_eq!(integer_digits(b"+0"), Some((false, &b"0"[..])));
        assert_eq!(integer_digits(b" -12\t"), Some((true, &b"12"[..])));
        assert_eq!(
            integer_digits(b"89014103211118510720"),
            Some((false, &b"89014103211118510720"[..]))
        );
        for text in [
            &b"-0"[..],
            b"007",
            b"+00",
            b"-01",
            b"",
            b"-",
            b"+",
            b" ",
            b"1.0",
            b"1e3",
            b"1_000",
            b"0x10",
            b"12a",
            b"--1",
        ] {
            assert_eq!(integer_digits(text), None, "{text:?}");
        }
        // an integer column's every value is one, and only `-0` is read
        // as another number
        for v in [0i64, 1, -1, 42, i64::MIN, i64::MAX] {
            let text = v.to_string();
            let (negative, digits) = integer_digits(text.as_bytes()).expect("an integer");
            assert_eq!(negative, v < 0);
            assert_eq!(digits, v.unsigned_abs().to_string().as_bytes());
        }
    }

    #[test]
    fn wide_integers() {
        assert!(is_wide_int_field(b"89014103211118510720"));
        assert!(is_wide_int_field(b" -9223372036854775809\t"));
        assert!(is_wide_int_field(
            b"+99999999999999999999999999999999999999999"
        ));
        assert!(!is_wide_int_field(b"9223372036854775807"));
        for padded in ["007", "-01", "+00", "08123", " 0012\t", "00"] {
            assert!(is_zero_padded_int(padded.as_bytes()), "{padded}");
        }
        for plain in [
            "0", "-0", "7", "0.5", "00.5", "0e1", "10", "", "-", "0x1", "0 1",
        ] {
            assert!(!is_zero_padded_int(plain.as_bytes()), "{plain}");
        }
        assert!(!is_wide_int_field(b"-9223372036854775808"));
        assert!(!is_wide_int_field(b"-000000000000000000000000"));
        assert!(!is_wide_int_field(b"1e30"));
        assert!(!is_wide_int_field(b"12345678901234567890.0"));
        assert!(!is_wide_int_field(b""));
        assert!(!is_wide_int_field(b"-"));
        assert_eq!(
            parse_wide_int_field(b"+00089014103211118510720"),
            Some("89014103211118510720".parse().unwrap())
        );
        assert_eq!(
            parse_wide_int_field(b" -9223372036854775809"),
            Some("-9223372036854775809".parse().unwrap())
        );
        assert_eq!(parse_wide_int_field(b"12"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-12"), Some(-12));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b"007"), Some(7));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"99999999999999999999"), None);
        assert_eq!(parse_int(b"1.0"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"1e3"), None);
        assert_eq!(parse_int(b"00000000000000000001"), Some(1));
        assert_eq!(
            parse_int(b"-0000000000009223372036854775808"),
            Some(i64::MIN)
        );
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"+00"), Some(0));
        assert_eq!(parse_int(b"-0"), None, "negative zero is a float");
        assert_eq!(parse_int(b"-00"), None);
        assert_eq!(
            parse_float(b"-0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(parse_int_field(b" 5 "), Some(5));
    }

    #[test]
    fn floats() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-2e-3"), Some(-2e-3));
        assert_eq!(parse_float(b".5"), Some(0.5));
        assert_eq!(parse_float(b"+1"), Some(1.0));
        assert!(parse_float(b"nan").unwrap().is_nan());
        assert_eq!(parse_float(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"1,5"), None);
        assert_eq!(parse_float(b"abc"), None);
        assert_eq!(parse_float(b"1.5x"), None);
        assert_eq!(parse_float(b""), None);
        assert_eq!(parse_float_field(b"\t2.5 "), Some(2.5));
        assert_eq!(parse_float_field(b"  "), None);
    }
}
