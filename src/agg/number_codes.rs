//! Texts that spell a number plainly, each kept as an 8-byte code.
//!
//! `distinct` over a CSV column keeps the text of every distinct value
//! until `finish`, when the column's type is known: `7` and `007` are one
//! integer, but two texts. Kept as texts in a [`KeySet`](crate::keyset),
//! ten million distinct numbers took 1.9 GB (a 32-byte slot at half load,
//! the arena and the ends per value) and most of the run was the kernel
//! zeroing it; Polars took a third of the memory and half the time.
//!
//! Most numeric columns spell each number one plain way, and a text of the
//! form `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 19 digits, whose
//! digits read as one integer `m` are below 2^58 (every text of 17 digits,
//! the most a shortest round-trip double has), is described exactly by its
//! sign, `m` and the number of digits after the point `s`: a 64-bit code
//! from which the text is written back byte for byte ([`write`](fn@write)). Two
//! texts are one code exactly when they are one text, so a set of codes
//! counts texts like a set of texts; the number a code spells is read from
//! it directly in the common cases and from its text otherwise
//! ([`int_of`], [`float_of`]), so it is always the number the text parses
//! to.
//!
//! A set of codes is a [`U64Set`](super::u64set::U64Set): 8 bytes a slot,
//! against a text's 32-byte slot, arena bytes and end.

use crate::number::decimal::{decimal_to_f64, split_plain};
use crate::number::{parse_float_field, parse_int_field};

/// Where the count of digits after the point sits in a code; the digits,
/// as one integer, are below 2^58.
const SCALE_SHIFT: u32 = 58;
const DIGITS_MASK: u64 = (1 << SCALE_SHIFT) - 1;
/// The most digits a coded text has, and so after the point: what the
/// number reader's plain-decimal splitter takes.
const MAX_DIGITS: usize = 19;
/// The longest text a code writes: a sign, `0.` and [`MAX_DIGITS`] digits.
pub const MAX_TEXT: usize = MAX_DIGITS + 3;

/// The code of `text`, if it spells a number plainly (see the module doc).
/// Read by the number reader's plain-decimal splitter (eight digits at a
/// time), then checked for the one spelling: no `+`, and an integer part
/// that is `0` or starts with another digit.
#[inline]
pub fn encode(text: &[u8]) -> Option<u64> {
    let (m, scale, negative) = split_plain(text)?;
    let unsigned = &text[negative as usize..];
    let canonical = matches!(unsigned, [b'1'..=b'9', ..] | [b'0'] | [b'0', b'.', ..]);
    (canonical && m <= DIGITS_MASK && scale <= MAX_DIGITS)
        .then_some((negative as u64) << 63 | (scale as u64) << SCALE_SHIFT | m)
}

/// The parts of a code: whether negative, the digits as one integer, and
/// how many of them follow the point.
#[inline]
fn parts(code: u64) -> (bool, u64, u32) {
    let scale = ((code >> SCALE_SHIFT) & 0x1f) as u32;
    (code >> 63 == 1, code & DIGITS_MASK, scale)
}

/// Writes the text of `code` (from [`encode`]) into `buf`; returns it.
pub fn write(code: u64, buf: &mut [u8; MAX_TEXT]) -> &[u8] {
    let (negative, mut m, scale) = parts(code);
    let scale = scale as usize;
    // digits from the right end of `buf`
    let mut at = MAX_TEXT;
    let mut written = 0;
    while m != 0 || written <= scale {
        if scale != 0 && written == scale {
            at -= 1;
            buf[at] = b'.';
        }
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        written += 1;
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// The integer the text of `code` parses to ([`parse_int_field`]).
#[inline]
pub fn int_of(code: u64) -> Option<i64> {
    match parts(code) {
        // below 2^58: fits, and its negation too (`-0` is no integer)
        (negative, m, 0) if !(negative && m == 0) => {
            Some(if negative { -(m as i64) } else { m as i64 })
        }
        _ => parse_int_field(write(code, &mut [0; MAX_TEXT])),
    }
}

/// The float the text of `code` parses to ([`parse_float_field`]): its
/// digits over a power of ten, correctly rounded by the number reader.
#[inline]
pub fn float_of(code: u64) -> Option<f64> {
    let (negative, m, scale) = parts(code);
    match decimal_to_f64(m, scale as usize) {
        Some(v) => Some(if negative { -v } else { v }),
        None => parse_float_field(write(code, &mut [0; MAX_TEXT])),
    }
}

/// Whether `code`'s text is an integer's one spelling (`7`, `-7`, `0`; not
/// `-0`), as `distinct::canonical_int` says of texts.
#[inline]
pub fn is_canonical_int(code: u64) -> bool {
    matches!(parts(code), (negative, m, 0) if !(negative && m == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_have_codes_that_write_them_back() {
        for text in [
            "0",
            "7",
            "-7",
            "-0",
            "10",
            "0.5",
            "-0.5",
            "0.05",
            "0.50",
            "0.000",
            "-0.0",
            "123.456",
            "99999999999999999",
            "-0.0000000000000001",
            "0.05316270461298012",
            "288230376151711743",
            "0.000000000000000001",
            "0.8012042374516246",
            "1234567890.1234567",
        ] {
            let code = encode(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(write(code, &mut [0; MAX_TEXT]), text.as_bytes());
        }
        for text in [
            "",
            "-",
            "+7",
            "07",
            "-07",
            "00",
            "00.5",
            ".5",
            "5.",
            "-.5",
            " 7",
            "7 ",
            "1e3",
            "1.5e3",
            "x",
            "1.2.3",
            "--1",
            "0x10",
            "1_000",
            // digits at 2^58 or more, more than 19 digits
            "288230376151711744",
            "0.288230376151711744",
            "1234567890123456789",
            "0.0000000000000000001",
            "12345678901234567890",
        ] {
            assert_eq!(encode(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn codes_are_one_to_one_with_texts() {
        // every text of up to four characters over the alphabet that matters
        let alphabet = b"-.01";
        let mut seen = std::collections::HashMap::new();
        let mut texts = vec![Vec::new()];
        for _ in 0..6 {
            let mut longer = Vec::new();
            for t in &texts {
                for &c in alphabet.iter().chain(b"9") {
                    let mut t = t.clone();
                    t.push(c);
                    if let Some(code) = encode(&t) {
                        assert_eq!(write(code, &mut [0; MAX_TEXT]), &t[..]);
                        assert_eq!(seen.insert(code, t.clone()), None, "{t:?}");
                    }
                    longer.push(t);
                }
            }
            texts = longer;
        }
        assert!(seen.len() > 100);
    }

    #[test]
    fn a_code_is_the_number_its_text_parses_to() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for i in 0..200_000 {
            let r = crate::testing::xorshift(&mut state);
            // digits of every length, the point anywhere, either sign
            let digits = 1 + (r % 19) as u32;
            let mut m = (r >> 8) % 10u64.pow(digits);
            if i % 7 == 0 {
                m = 1 << 53 | (r >> 20); // past a double's mantissa
            } else if i % 11 == 0 {
                m = (DIGITS_MASK - 50) + (r >> 8) % 100; // around the limit
            }
            let text = m.to_string();
            let scale = (r >> 56) as usize % (MAX_DIGITS + 4);
            let mut t = String::new();
            if r & 1 == 1 {
                t.push('-');
            }
            if scale == 0 {
                t.push_str(&text);
            } else if scale >= text.len() {
                t.push_str("0.");
                t.push_str(&"0".repeat(scale - text.len()));
                t.push_str(&text);
            } else {
                let (a, b) = text.split_at(text.len() - scale);
                t.push_str(a);
                t.push('.');
                t.push_str(b);
            }
            let digits = t.bytes().filter(u8::is_ascii_digit).count();
            let Some(code) = encode(t.as_bytes()) else {
                assert!(m > DIGITS_MASK || digits > MAX_DIGITS, "{t}");
                continue;
            };
            assert!(m <= DIGITS_MASK && digits <= MAX_DIGITS, "{t}");
            assert_eq!(write(code, &mut [0; MAX_TEXT]), t.as_bytes());
            let want = parse_float_field(t.as_bytes()).unwrap();
            assert_eq!(float_of(code).unwrap().to_bits(), want.to_bits(), "{t}");
            assert_eq!(int_of(code), parse_int_field(t.as_bytes()), "{t}");
            let canonical = parse_int_field(t.as_bytes()).is_some_and(|v| v.to_string() == t);
            assert_eq!(is_canonical_int(code), canonical, "{t}");
        }
    }
}
