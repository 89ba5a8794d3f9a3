//! Decimal text to integers of any width, in time that grows a little
//! faster than the number of digits rather than with its square.
//!
//! An integer field too wide for 64 bits is read exactly by the numeric
//! aggregates (`sum`, `mean`, `var`/`std`, `median`/`pNN`: see
//! [`super::parse_wide_int_field`]). num-bigint reads decimal text a few
//! digits at a time, multiplying the whole value read so far by a power of
//! ten at each step: quadratic in the length of the field. Nothing bounds
//! a field's length, so one field of 4M digits took 22 s, and one of 40 MB
//! would have taken half an hour: a denial of service from a small input.
//! A cap on the length would change answers, so [`parse`] is exact and
//! divides and conquers instead: it splits a long digit string in two at
//! `k` digits from its end, reads both halves the same way and joins them
//! as `high * 10^k + low`. Each power of ten is computed once (the halves
//! of one level have at most two lengths), and num-bigint multiplies large
//! operands by Karatsuba and Toom-3, so a reading costs about one
//! multiplication of the whole width per level of the split, `O(M(n) log
//! n)` where the old reading cost `O(n²)`. Below [`THRESHOLD`] digits it
//! hands the text to num-bigint, whose simple loop is faster there; the
//! value is the same either way (the tests compare the two on many
//! lengths, across the threshold's edges).
//!
//! The other direction needs nothing here: a sum past 128 bits is printed
//! as its digits ([`crate::value::Value::IntDigits`]) by num-bigint's
//! `to_string`, which since num-bigint 0.4.7 (the least version
//! `Cargo.toml` asks for) divides and conquers itself, by powers of
//! `10^19` squared level by level and Burnikel and Ziegler's recursive
//! division. A writer of the same shape built on num-bigint's public
//! division was measured slower than it (4.0 s against 3.5 s for 4M
//! digits), so sums are printed by `to_string`; the tests here check that
//! what [`parse`] reads prints back as its text.

use std::collections::HashMap;

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::Zero;

/// Digit strings of at most this length are read by num-bigint itself.
/// Measured on fields of 100k and 1M digits, reading takes about the same
/// time with leaves of 256 to 4096 digits, and longer with 64 or 128
/// (0.33 s against 0.17 s for 1M digits with 64).
pub const THRESHOLD: usize = 1024;

/// The integer a decimal text spells, exactly as
/// `BigInt::parse_bytes(text, 10)` reads it (the same value for the same
/// text, `None` for the same texts), but in `O(M(n) log n)` for a long
/// run of digits. The long path takes an optional sign (`-` or `+`) and
/// ASCII digits; anything else is num-bigint's to judge.
pub fn parse(text: &[u8]) -> Option<BigInt> {
    let (sign, digits) = match text.first() {
        Some(b'-') => (Sign::Minus, &text[1..]),
        Some(b'+') => (Sign::Plus, &text[1..]),
        _ => (Sign::Plus, text),
    };
    if digits.len() <= THRESHOLD || !digits.iter().all(u8::is_ascii_digit) {
        return BigInt::parse_bytes(text, 10);
    }
    let magnitude = parse_digits(digits, &mut Powers::default());
    Some(BigInt::from_biguint(sign, magnitude))
}

/// The powers of ten a reading or a writing joins its halves with, each
/// computed once.
#[derive(Default)]
struct Powers(HashMap<usize, BigUint>);

impl Powers {
    /// `10^k`.
    fn get(&mut self, k: usize) -> &BigUint {
        self.0
            .entry(k)
            .or_insert_with(|| BigUint::from(10u32).pow(k as u32))
    }
}

/// The value of a run of ASCII digits.
fn parse_digits(digits: &[u8], powers: &mut Powers) -> BigUint {
    if digits.len() <= THRESHOLD {
        // only ASCII digits: num-bigint reads them all
        return BigUint::parse_bytes(digits, 10).unwrap_or_default();
    }
    let k = digits.len() / 2;
    let (high, low) = digits.split_at(digits.len() - k);
    let high = parse_digits(high, powers);
    let low = parse_digits(low, powers);
    if high.is_zero() {
        return low;
    }
    high * powers.get(k) + low
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so that failures repeat.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            crate::testing::xorshift(&mut self.0)
        }
        fn digits(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| b'0' + (self.next() % 10) as u8).collect()
        }
    }

    /// Reads `text` (a sign and digits) both ways, and checks that the
    /// value prints back as the text less its `+` and leading zeros (and
    /// its `-`, for a zero).
    fn check(text: &[u8]) {
        let want = BigInt::parse_bytes(text, 10);
        let got = parse(text);
        assert!(got == want, "{} digits", text.len());
        let (minus, digits) = match text.first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let significant = match digits.iter().position(|&b| b != b'0') {
            Some(first) => &digits[first..],
            None => b"0",
        };
        let mut printed = Vec::new();
        if minus && significant != b"0" {
            printed.push(b'-');
        }
        printed.extend_from_slice(significant);
        let got = got.expect("a sign and digits");
        assert!(
            got.to_string().into_bytes() == printed,
            "{} digits",
            text.len()
        );
    }

    /// `text` with each sign, and with leading zeros.
    fn check_forms(text: &[u8]) {
        check(text);
        for prefix in [&b"-"[..], b"+", b"000", b"-000", b"+0"] {
            check(&[prefix, text].concat());
        }
    }

    #[test]
    fn random_lengths_read_as_num_bigint_reads() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for n in (1..=5000).step_by(7) {
            check_forms(&rng.digits(n));
        }
        // a random first digit may be a zero: also a nonzero one
        for n in [1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 3000, 4097] {
            let mut digits = rng.digits(n);
            digits[0] = b'9';
            check_forms(&digits);
        }
    }

    #[test]
    fn long_numbers_read_as_num_bigint_reads() {
        let mut rng = Rng(12345);
        for n in [50_000, 131_072, 200_000] {
            let mut digits = rng.digits(n);
            digits[0] = b'1' + (rng.next() % 9) as u8;
            check(&digits);
            check(&[&b"-"[..], &digits].concat());
        }
    }

    #[test]
    fn threshold_edges() {
        for n in [
            THRESHOLD - 1,
            THRESHOLD,
            THRESHOLD + 1,
            2 * THRESHOLD,
            2 * THRESHOLD + 1,
        ] {
            // all nines, a one and zeros, zeros with a one at the end, zeros
            check_forms(&vec![b'9'; n]);
            let mut one = vec![b'0'; n];
            one[0] = b'1';
            check_forms(&one);
            let mut last = vec![b'0'; n];
            last[n - 1] = b'1';
            check_forms(&last);
            check_forms(&vec![b'0'; n]);
        }
        // the split's own edge: a high half of zeros, a low half of zeros
        for n in [THRESHOLD + 1, 2 * THRESHOLD + 1, 4 * THRESHOLD + 3] {
            let mut low_only = vec![b'0'; n];
            low_only[n - 1] = b'9';
            low_only[n / 2 + 1] = b'3';
            check_forms(&low_only);
            let mut high_only = vec![b'0'; n];
            high_only[0] = b'4';
            check_forms(&high_only);
        }
    }

    #[test]
    fn anything_else_is_num_bigints_to_judge() {
        let long = vec![b'7'; THRESHOLD + 10];
        for bad in [
            [&long[..], b"x"].concat(),
            [&b"--"[..], &long].concat(),
            [&b"-+"[..], &long].concat(),
            [&long[..], b"_1"].concat(),
            b"".to_vec(),
            b"-".to_vec(),
            b"+".to_vec(),
            b"12a".to_vec(),
        ] {
            assert_eq!(parse(&bad), BigInt::parse_bytes(&bad, 10));
        }
    }
}
