//! A fast, exact reader for the plain decimals that fill real CSV files.
//!
//! Most numbers in data files are written as `[-]digits[.digits]` with at
//! most 19 significant digits: the shortest round-trip form every
//! serialiser (Polars, pandas, Python's `repr`) emits. A general parser
//! spends most of its time on the forms these never use (exponents, `inf`,
//! long mantissas), checked byte by byte. [`parse_plain`] reads only the plain
//! form, and leaves everything else to the general parser (its caller falls
//! back on `None`). Its two common shapes are read without a loop, a word
//! at a time: up to 15 bytes ([`split_short`]: prices, rates, coordinates,
//! most measurements) and 16 to 24 ([`split_wide`]: the shortest
//! round-trip form of a random double); any other plain decimal digit by
//! digit ([`split_any`], which defines the form).
//!
//! The result is always the correctly rounded `f64`, bit for bit what
//! `str::parse` gives. `w / 10^p` is estimated with one 64-bit multiply by
//! a reciprocal of 5^p, whose error is bounded; the rare estimate too close
//! to a rounding boundary to decide is replaced by the exact integer
//! quotient, rounded by hand (ties to even). No case relies on an
//! approximation that might be off by one ulp.
//!
//! [`x8`](super::x8) runs [`split_wide`]'s and [`split_short`]'s steps on
//! eight fields at once (AVX-512), [`x4`](super::x4) on four (AVX2); the
//! items they share with this reader are `pub(super)`. Their lanes leave
//! every other shape to this reader.

/// 5^p for the fraction lengths the exact path handles (p ≤ 19 < 27, so
/// every entry fits in 64 bits).
const POW5: [u64; 20] = powers(5);

/// `[1, base, base², ...]`, at compile time.
const fn powers<const N: usize>(base: u64) -> [u64; N] {
    let mut t = [1u64; N];
    let mut i = 1;
    while i < N {
        t[i] = t[i - 1] * base;
        i += 1;
    }
    t
}

/// The most significant digits a `u64` mantissa holds without overflow.
pub(super) const MAX_DIGITS: usize = 19;

/// Reads `s` if it is a plain decimal (`-`/`+`, digits, optionally `.` and
/// more digits, at least one digit, and at most 19 digits in all); `None` means "not this form", not "not a number".
#[inline(always)]
pub fn parse_plain(s: &[u8]) -> Option<f64> {
    let (v, neg) = if s.len() < 16 {
        let (w, p, neg) = split_short(s)?;
        (short_to_f64(w, p), neg)
    } else {
        let (w, p, neg) = split_long(s)?;
        (to_f64(w, p), neg)
    };
    // the quotient is never negative (zero is +0.0), so the sign is one
    // bit set: branch-free, as a sign branch mispredicts on data of both
    // signs
    Some(f64::from_bits(v.to_bits() | (neg as u64) << 63))
}

/// `w / 10^p`, correctly rounded, for the parts [`split_short`] gives: at
/// most 15 digits, so `w` < 10^15 < 2^53 and 10^p (p ≤ 14) are both exact
/// doubles, and one IEEE division, itself correctly rounded, is the
/// correctly rounded quotient (Clinger's fast path, which holds for every
/// short decimal, so no branch picks it). Cheaper than [`to_f64`]'s
/// multiply and rounding decision, which longer mantissas need.
#[inline(always)]
fn short_to_f64(w: u64, p: usize) -> f64 {
    debug_assert!(w < 1 << 53 && p < 16);
    // (w < 2^63: the signed conversion, one instruction on x86-64)
    (w as i64) as f64 / POW10_F64[p & 15]
}

/// 10^i as doubles, exact for every entry (10^i is exact up to 10^22).
pub(super) const POW10_F64: [f64; 16] = {
    let mut t = [1f64; 16];
    let mut i = 1;
    while i < 16 {
        t[i] = t[i - 1] * 10.0;
        i += 1;
    }
    t
};

/// The parts of `s` if it is a plain decimal (as [`parse_plain`] reads):
/// its digits as one integer, the number of them after the point, and
/// whether it is negative.
/// Short integers (ids, counts) are read eight digits at once first.
#[inline(always)]
pub fn split_plain(s: &[u8]) -> Option<(u64, usize, bool)> {
    let unsigned = s.strip_prefix(b"-").unwrap_or(s);
    if (1..=8).contains(&unsigned.len()) {
        if let Some(w) = parse_digits_8(unsigned) {
            return Some((w, 0, unsigned.len() != s.len()));
        }
    }
    if s.len() < 16 {
        split_short(s)
    } else {
        split_long(s)
    }
}

/// The parts of `s`, 16 bytes or longer: [`split_wide`] for the common
/// 16 to 24, [`split_any`] for the rest. (Under 16 bytes [`split_short`]
/// reads exactly what `split_any` reads, so nothing falls back there.)
#[inline(always)]
fn split_long(s: &[u8]) -> Option<(u64, usize, bool)> {
    // a `match`, not `Option::or_else`: `or_else` stayed a call per field
    // (six registers saved and restored to test `split_wide`'s answer),
    // about 22 instructions a value on the baseline and portable paths
    match split_wide(s) {
        Some(parts) => Some(parts),
        None => split_any(s),
    }
}

/// `w / 10^p`, correctly rounded, for `p` ≤ 19: the value of the parts
/// [`split_plain`] gives (`None` for a larger `p`).
#[inline]
pub fn decimal_to_f64(w: u64, p: usize) -> Option<f64> {
    (p < POW5.len()).then(|| to_f64(w, p))
}

/// The common shape, 16 to 24 bytes with the point among the first eight
/// (`-0.8012042374516246`), read without a loop or a data-dependent branch:
/// the eight leading bytes hold the sign, the integer digits, the point and
/// any fraction digits past the last sixteen; the sixteen trailing bytes
/// hold the rest. Each part is turned into digit values, masked to its
/// digits, and converted eight digits per multiply chain; one test checks
/// all three parts. Returns the mantissa, the number of fraction digits
/// and the sign; `None` for any other shape.
#[inline(always)]
pub(super) fn split_wide(s: &[u8]) -> Option<(u64, usize, bool)> {
    let n = s.len();
    if !(16..=24).contains(&n) {
        return None;
    }
    let first = s[0];
    let neg = first == b'-';
    let sign = (neg || first == b'+') as usize;
    let h = load8(&s[..8]);
    // the first '.': a zero byte of h ^ "........"
    let x = h ^ 0x2E2E_2E2E_2E2E_2E2E;
    let dots = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
    if dots == 0 {
        return None;
    }
    let d = (dots.trailing_zeros() / 8) as usize;
    let frac = n - d - 1;
    // the tail: the last min(frac, 16) bytes, all fraction digits
    let tail_start = (d + 1).max(n - 16);
    let t = n - tail_start;
    // the head: digits before the tail (integer part, then fraction digits
    // past the last sixteen), the point squeezed out of h
    let head_len = tail_start - 1 - sign;
    if frac == 0 || head_len + t > MAX_DIGITS || head_len > 8 {
        return None;
    }
    let below = (1u64 << (8 * d)) - 1;
    let squeezed = (h & below) | ((h >> 8) & !below);
    // head digits are bytes [sign, sign + head_len): move them to the top
    let end = sign + head_len;
    // (with no head digits the shift wraps, but the mask is then empty)
    let aligned = squeezed.wrapping_shl(64 - 8 * end as u32);
    // the bytes masked off become leading zeros (digit value 0); masks
    // from tables, not 128-bit shifts (several instructions each on the
    // x86-64 baseline)
    let head = digit_values(aligned) & TOP_BYTES[head_len];
    let lo = digit_values(load8(&s[n - 16..n - 8])) & TOP_BYTES[t.saturating_sub(8)];
    let hi = digit_values(load8(&s[n - 8..])) & TOP_BYTES[t.min(8)];
    if non_digits(head) | non_digits(lo) | non_digits(hi) != 0 {
        return None;
    }
    let tail = parse8_values(lo) * 100_000_000 + parse8_values(hi);
    Some((parse8_values(head) * POW10[t] + tail, frac, neg))
}

/// The short shapes, 1 to 15 bytes (`19.99`, `-4.1405`, `-122.419416`,
/// `42`): what most columns of measurements, prices and rates hold, read
/// without a loop as [`split_wide`] reads the long ones (before, each of
/// their bytes went through [`split_any`]'s loop, whose exit mispredicts
/// wherever the integer parts' lengths vary).
///
/// The field is placed right-aligned in a 16-byte frame of two words,
/// `lo` (frame bytes 0 to 7) and `hi` (8 to 15), the bytes before it zero:
/// loads that stay within the field (overlapping where it is shorter than
/// a word). The first `.` is squeezed out by moving the bytes before it up
/// one byte, the digits are then the frame's top bytes, and bytes masked
/// off below them are leading zeros. Accepts exactly what [`split_any`]
/// accepts, with the same parts (the tests compare them); `None` for
/// anything else, and for lengths outside 1 to 15.
#[inline(always)]
pub(super) fn split_short(s: &[u8]) -> Option<(u64, usize, bool)> {
    let n = s.len();
    if !(1..16).contains(&n) {
        return None;
    }
    let (lo, hi) = if n >= 8 {
        let hi = load8(&s[n - 8..]);
        // byte j of `s` (j < n - 8) to frame byte 16 - n + j; the bytes
        // the words share are equal, and those past the word drop out
        let lo = if n > 8 {
            load8(&s[..8]) << (8 * (16 - n))
        } else {
            0
        };
        (lo, hi)
    } else if n >= 4 {
        // two 4-byte loads that overlap on equal bytes
        let first = u32::from_le_bytes(s[..4].try_into().expect("4 bytes")) as u64;
        let last = u32::from_le_bytes(s[n - 4..].try_into().expect("4 bytes")) as u64;
        (0, (first << (8 * (8 - n))) | (last << 32))
    } else {
        // 1 to 3 bytes: the first, middle and last (some the same byte)
        let at = |j: usize| (s[j] as u64) << (8 * (8 - n + j));
        (0, at(0) | at(n / 2) | at(n - 1))
    };
    let first = s[0];
    let neg = first == b'-';
    let sign = (neg || first == b'+') as usize;
    // the first '.': the lowest zero byte of a word ^ "........" (the
    // frame's zero bytes are not one); the SWAR test is exact for the
    // lowest zero byte of a word, which is the one wanted
    let dots = |w: u64| {
        let x = w ^ 0x2E2E_2E2E_2E2E_2E2E;
        x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
    };
    let (in_lo, in_hi) = (dots(lo), dots(hi));
    let (lo, hi, frac) = if in_lo != 0 {
        // frame byte d < 8: the bytes below it move up one
        let d = in_lo.trailing_zeros() / 8;
        let below = (1u64 << (8 * d)) - 1;
        let lo = ((lo & below) << 8) | (lo & (!below << 8));
        (lo, hi, 15 - d as usize)
    } else if in_hi != 0 {
        // frame byte 8 + d: the bytes below it move up one, the top byte
        // of `lo` into `hi`
        let d = in_hi.trailing_zeros() / 8;
        let below = (1u64 << (8 * d)) - 1;
        let hi = ((hi & below) << 8) | (hi & (!below << 8)) | (lo >> 56);
        (lo << 8, hi, 7 - d as usize)
    } else {
        (lo, hi, usize::MAX)
    };
    // digits: every byte but the sign and the point, at the frame's top
    // (no point: `frac` is `usize::MAX`; as an `Option` the reader took 13
    // to 19 more instructions a row of three columns, callgrind)
    let point = (frac != usize::MAX) as usize;
    let k = n - sign - point;
    if k == 0 || frac == 0 {
        return None;
    }
    let hi = digit_values(hi) & TOP_BYTES[k.min(8)];
    let lo = digit_values(lo) & TOP_BYTES[k.saturating_sub(8)];
    if non_digits(hi) | non_digits(lo) != 0 {
        return None;
    }
    let w = parse8_values(lo) * 100_000_000 + parse8_values(hi);
    Some((w, if point == 1 { frac } else { 0 }, neg))
}

/// `TOP_BYTES[k]`: the top `k` bytes of a `u64` set (`k` ≤ 8).
const TOP_BYTES: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut k = 1;
    while k <= 8 {
        t[k] = u64::MAX << (64 - 8 * k);
        k += 1;
    }
    t
};

/// 10^i for the digit counts read at once (up to 16).
pub(super) const POW10: [u64; 17] = powers(10);

/// Any plain decimal, digit by digit for the integer part and eight at a
/// time for the fraction. Out of line: the fast shapes' callers inline
/// only the test that hands over to it.
#[inline(never)]
fn split_any(s: &[u8]) -> Option<(u64, usize, bool)> {
    let (neg, start) = match s.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut i = start;
    let mut w: u64 = 0;
    // the integer part is short in practice: byte by byte
    while i < s.len() {
        let d = s[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        w = w.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    let int_digits = i - start;
    let mut frac_digits = 0;
    if i < s.len() {
        if s[i] != b'.' {
            return None;
        }
        i += 1;
        frac_digits = s.len() - i;
        if frac_digits == 0 || int_digits + frac_digits > MAX_DIGITS {
            return None;
        }
        while s.len() - i >= 8 {
            let chunk = load8(&s[i..i + 8]);
            if !all_digits(chunk) {
                return None;
            }
            w = w * 100_000_000 + parse8(chunk);
            i += 8;
        }
        let rest = s.len() - i;
        if rest > 0 {
            // `s` is at least 9 bytes long when a tail follows eight digits;
            // otherwise read the tail byte by byte
            if s.len() >= 8 {
                // the last eight bytes, of which the first `8 - rest` were
                // read already: blank them out as leading zeros
                let chunk = load8(&s[s.len() - 8..]);
                let digits = digit_values(chunk) & TOP_BYTES[rest];
                if non_digits(digits) != 0 {
                    return None;
                }
                w = w * POW10[rest] + parse8_values(digits);
            } else {
                for &b in &s[i..] {
                    let d = b.wrapping_sub(b'0');
                    if d > 9 {
                        return None;
                    }
                    w = w * 10 + d as u64;
                }
            }
        }
    } else if int_digits == 0 {
        return None;
    }
    if int_digits > MAX_DIGITS || int_digits + frac_digits == 0 {
        return None;
    }
    Some((w, frac_digits, neg))
}

/// The value of 1 to 8 bytes that must all be ASCII digits (`None` if one
/// is not): loaded as two overlapping 4-byte words, padded with leading
/// zeros, checked and converted at once.
#[inline]
pub(super) fn parse_digits_8(d: &[u8]) -> Option<u64> {
    let n = d.len();
    debug_assert!((1..=8).contains(&n));
    if n < 4 {
        return d.iter().try_fold(0u64, |v, &b| {
            let digit = b.wrapping_sub(b'0');
            (digit <= 9).then_some(v * 10 + digit as u64)
        });
    }
    let zeros = ZEROS as u32;
    let first = u32::from_le_bytes(d[..4].try_into().expect("4 bytes")) ^ zeros;
    let last = u32::from_le_bytes(d[n - 4..].try_into().expect("4 bytes")) ^ zeros;
    // byte j of `d` goes to byte 8 - n + j (the words overlap on equal
    // bytes); the bytes below stay 0, leading zeros
    let x = ((first as u64) << (8 * (8 - n))) | ((last as u64) << 32);
    (non_digits(x) == 0).then(|| parse8_values(x))
}

#[inline(always)]
fn load8(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap())
}

/// ASCII `'0'` in every byte.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// The digit values of eight bytes: XOR `'0'` maps the ASCII digits to 0
/// to 9, and every other byte above 9 (it is a bijection, so no other
/// byte lands in 0 to 9). In this form a byte masked to zero is a leading
/// zero, and several words are checked at once ([`non_digits`]).
#[inline(always)]
fn digit_values(c: u64) -> u64 {
    c ^ ZEROS
}

/// Zero exactly when every byte of `x` is at most 9 ([`digit_values`] of
/// eight digits); the results for several words may be ORed and tested
/// once. A byte above 9 has a high bit in its upper nibble, or gets one when
/// 6 is added. A carry out of a byte happens only when it is 250 or more,
/// which fails by itself, so a carry never hides a failing byte.
#[inline(always)]
fn non_digits(x: u64) -> u64 {
    (x | x.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0
}

/// Whether all eight bytes are ASCII digits.
#[inline(always)]
pub(super) fn all_digits(c: u64) -> bool {
    non_digits(digit_values(c)) == 0
}

/// The value of eight ASCII digits, the first (lowest) byte the most
/// significant: three multiplies instead of eight.
#[inline(always)]
pub(super) fn parse8(c: u64) -> u64 {
    parse8_values(digit_values(c))
}

/// [`parse8`] of the digit values `x` (each byte 0 to 9).
#[inline(always)]
fn parse8_values(x: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064; // 100 + (1000000 << 32)
    const MUL2: u64 = 0x0000_2710_0000_0001; // 1 + (10000 << 32)
    let c = x * 10 + (x >> 8);
    let v1 = (c & MASK).wrapping_mul(MUL1);
    let v2 = ((c >> 16) & MASK).wrapping_mul(MUL2);
    (v1.wrapping_add(v2) >> 32) as u32 as u64
}

/// `w / 10^p`, correctly rounded (ties to even), for `p` ≤ 19.
///
/// Every fraction goes through the same multiply, whatever its mantissa
/// (no data-dependent choice between a fast and a slow path to mispredict):
/// `wn · ⌊2^(63+b) / 5^p⌋` (with `wn` the mantissa shifted to 64 bits and
/// `b` the bit length of 5^p) is the scaled quotient less at most `wn`, so
/// its high word `v` is the truth or one below it. When the bits of `v`
/// under the rounding bit are neither all zero nor nearly all one, the
/// truth agrees with `v` on every bit that decides the rounding and is
/// certainly not a tie; otherwise (about one value in 300) the quotient is
/// taken exactly.
#[inline]
fn to_f64(w: u64, p: usize) -> f64 {
    if w == 0 {
        return 0.0;
    }
    if p == 0 {
        // an integer conversion rounds to nearest, ties to even
        return w as f64;
    }
    let lz = w.leading_zeros();
    let wn = w << lz; // in [2^63, 2^64)
    let v = ((wn as u128 * RECIP5[p] as u128) >> 64) as u64;
    // The scaled quotient lies in (2^62, 2^64). Moved up one place when
    // its top bit is 62 (`s` = 1), it always has 53 mantissa bits in bits
    // 63 to 11, the rounding bit in bit 10 and the bits under it in bits 9
    // to 0: one variable shift instead of a bit scan of `v` and three
    // shifts by a guard width of 9 or 10.
    let s = (!v >> 63) as u32;
    let vn = v << s;
    // The truth lies in [v, v + 2), [vn, vn + 2^(s+1)) in these units: the
    // rounding is decided unless the bits under the rounding bit are all
    // zero (a tie, or just above one) or within two of v's units (2^(s+1)
    // of vn's) of carrying into the rounding bit; the values the lanes
    // leave to this reader are the same.
    let low = vn & 0x3FF;
    if low.wrapping_sub(1) >= 0x3FF - (2 << s) {
        return exact_quotient(w, p);
    }
    // the mantissa rounded on the rounding bit: (x >> 1) + (x & 1)
    let mant = ((vn >> 10) + 1) >> 1;
    // value = v · 2^(1 - b - lz - p) = mant · 2^(12 - s - b - lz - p)
    let exp = 12 - s as i32 - POW5_BITS[p] as i32 - lz as i32 - p as i32;
    compose(mant, exp)
}

/// `mant · 2^exp` for `mant` in [2^52, 2^53] (a round-up may carry to
/// 2^53) and a result in the normal range: the inputs lie in
/// [10^-19, 2^64), far from both ends of the exponent range. The
/// mantissa's top bit is added to the exponent field one below the
/// exponent, which a round-up's carry to 2^53 then moves up by one, as
/// it must (no test of the carry).
#[inline(always)]
fn compose(mant: u64, exp: i32) -> f64 {
    debug_assert!((1 << 52..=1 << 53).contains(&mant));
    f64::from_bits((((exp + 52 + 1023 - 1) as u64) << 52) + mant)
}

/// Bit lengths of the powers of five.
pub(super) const POW5_BITS: [u32; 20] = {
    let mut t = [0u32; 20];
    let mut i = 0;
    while i < 20 {
        t[i] = 64 - POW5[i].leading_zeros();
        i += 1;
    }
    t
};

/// `⌊2^(63+b) / 5^p⌋` with `b` the bit length of 5^p: a reciprocal in
/// [2^63, 2^64). (Entry 0 is unused: integers convert directly.)
pub(super) const RECIP5: [u64; 20] = {
    let mut t = [0u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = ((1u128 << (63 + POW5_BITS[i])) / POW5[i] as u128) as u64;
        i += 1;
    }
    t
};

/// `w / 10^p` for the rare values too close to a rounding boundary for
/// [`to_f64`]'s estimate: `w · 2^-p / 5^p`, the quotient by 5^p taken
/// exactly to 128 bits with its remainder as the sticky bit.
#[cold]
#[inline(never)]
fn exact_quotient(w: u64, p: usize) -> f64 {
    let lz = w.leading_zeros();
    let wn = w << lz; // in [2^63, 2^64)
    let d = POW5[p];
    // (wn · 2^64) / d in two 64-bit steps: the quotient has > 64 + 18 bits
    let hi = wn / d;
    let (lo, rem) = div_wide(wn % d, d);
    let q = ((hi as u128) << 64) | lo as u128;
    // value = q · 2^(-64 - lz - p), plus a nonzero fraction if rem != 0
    let bits = 128 - q.leading_zeros();
    let shift = bits - 53;
    let mant = (q >> shift) as u64;
    let dropped = q & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let round_up = dropped > half || (dropped == half && (rem != 0 || mant & 1 == 1));
    let exp = shift as i32 - 64 - lz as i32 - p as i32;
    compose(mant + round_up as u64, exp)
}

/// `(hi · 2^64) / d` and its remainder, for `hi < d`.
#[inline(always)]
fn div_wide(hi: u64, d: u64) -> (u64, u64) {
    debug_assert!(hi < d);
    #[cfg(target_arch = "x86_64")]
    {
        let (q, r): (u64, u64);
        // SAFETY: `div` divides rdx:rax by `d`; hi < d keeps the quotient
        // within 64 bits, so it cannot fault.
        unsafe {
            std::arch::asm!(
                "div {d}",
                d = in(reg) d,
                inout("rax") 0u64 => q,
                inout("rdx") hi => r,
                options(pure, nomem, nostack)
            );
        }
        (q, r)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let n = (hi as u128) << 64;
        ((n / d as u128) as u64, (n % d as u128) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    fn check(s: &str) {
        let b = s.as_bytes();
        if let Some(parts) = split_wide(b) {
            assert_eq!(Some(parts), split_any(b), "{s:?}: the two splits disagree");
        }
        if let Some(parts) = split_short(b) {
            assert_eq!(
                Some(parts),
                split_any(b),
                "{s:?}: the short split disagrees"
            );
        }
        let general = split_any(b);
        assert_eq!(split_plain(b), general, "{s:?}: the short path disagrees");
        let std = s.parse::<f64>().ok();
        if let Some(v) = parse_plain(s.as_bytes()) {
            assert_eq!(
                Some(v.to_bits()),
                std.map(f64::to_bits),
                "{s:?}: {v:e} vs std {std:?}"
            );
        }
    }

    fn must(s: &str) {
        check(s);
        let v = parse_plain(s.as_bytes()).unwrap_or_else(|| panic!("{s:?} not plain"));
        assert_eq!(v.to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s:?}");
    }

    #[test]
    fn plain_forms() {
        for s in [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.0",
            "1",
            "-1",
            "1.5",
            "-2.25",
            ".5",
            "-.5",
            "007.50",
            "0.8012042374516246",
            "-1.2345678901234567",
            "9007199254740993",
            "9007199254740992.5",
            "0.1",
            "0.2",
            "0.30000000000000004",
            "123456789.123456789",
            "9999999999999999999",
            "0.000000000000000001",
            "1.000000000000000001",
            "0.999999999999999999",
            "18446744073709551.61",
        ] {
            must(s);
        }
        for s in [
            "-0.8012042374516246",
            "0.12345678901234567",
            "12345.67890123456789",
        ] {
            assert!(
                split_wide(s.as_bytes()).is_some(),
                "{s:?} takes the wide path"
            );
        }
    }

    #[test]
    fn digit_checks_are_the_bytewise_test() {
        let bytewise = |c: u64| c.to_le_bytes().iter().all(u8::is_ascii_digit);
        let mut words = vec![0u64, u64::MAX, ZEROS, 0x3939_3939_3939_3939];
        // every byte value at every position, among digits (`0`, `9` and
        // mixed) and after a carry-prone byte
        for fill in [ZEROS, 0x3939_3939_3939_3939, 0x3132_3334_3536_3738] {
            for pos in 0..8 {
                for b in 0..=255u64 {
                    let w = (fill & !(0xFF << (8 * pos))) | (b << (8 * pos));
                    words.extend([w, w | 0xFA]);
                }
            }
        }
        let mut state = 0x1234_5678_9ABC_DEF1;
        for _ in 0..100_000 {
            let r = xorshift(&mut state);
            // random words, and words of digits with a few bytes replaced
            words.extend([r, (r & 0x0F0F_0F0F_0F0F_0F0F) | ZEROS, ZEROS ^ (r & 0x0F0F)]);
        }
        for c in words {
            assert_eq!(all_digits(c), bytewise(c), "{c:#018x}");
            assert_eq!(non_digits(digit_values(c)) == 0, bytewise(c), "{c:#018x}");
            if bytewise(c) {
                let text = String::from_utf8(c.to_le_bytes().to_vec()).unwrap();
                assert_eq!(parse8(c), text.parse::<u64>().unwrap(), "{text}");
            }
        }
    }

    #[test]
    fn short_digit_runs() {
        for s in [
            "0", "7", "42", "123", "1234", "00012", "987654", "1234567", "99999999",
        ] {
            assert_eq!(parse_digits_8(s.as_bytes()), s.parse().ok(), "{s:?}");
        }
        for s in [
            "x", "1x", "12 ", "-123", "1234x678", "x2345678", "1234567/", "12:4",
        ] {
            assert_eq!(parse_digits_8(s.as_bytes()), None, "{s:?}");
        }
        // what `split_plain` reads eight digits at once, with and without
        // a sign
        for s in [
            "0",
            "-0",
            "+0",
            "7",
            "-7",
            "-",
            "-12345678",
            "123456789",
            "-123456789",
            "00012",
            "-x",
            "--1",
            "1-",
        ] {
            check(s);
        }
    }

    /// [`split_short`] reads exactly what [`split_any`] reads, with the
    /// same parts, at every length it takes: every string of up to five
    /// bytes over an alphabet of digits, signs, points and other bytes,
    /// and random ones of six to fifteen bytes.
    #[test]
    fn short_split_is_the_general_one() {
        const ALPHABET: &[u8] = b"0159.-+e x";
        let agree = |b: &[u8]| {
            assert_eq!(
                split_short(b),
                split_any(b),
                "{:?}",
                String::from_utf8_lossy(b)
            );
        };
        let mut strings = vec![Vec::new()];
        for _ in 0..5 {
            strings = (strings.iter())
                .flat_map(|s| {
                    ALPHABET.iter().map(move |&c| {
                        let mut t = s.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
            strings.iter().for_each(|s| agree(s));
        }
        let mut state = 0x6A09_E667_F3BC_C909;
        for _ in 0..300_000 {
            let r = xorshift(&mut state);
            let n = 6 + (r % 10) as usize;
            let mut s = Vec::with_capacity(n);
            let mut bits = xorshift(&mut state);
            for i in 0..n {
                // mostly digits, a sign first now and then, a point or two
                let c = match (bits % 16, i) {
                    (0, 0) => b'-',
                    (1, 0) => b'+',
                    (2 | 3, _) => b'.',
                    (4, _) => ALPHABET[(bits >> 4) as usize % ALPHABET.len()],
                    _ => b'0' + ((bits >> 4) % 10) as u8,
                };
                s.push(c);
                bits = bits.rotate_right(7) ^ r;
            }
            agree(&s);
        }
        for s in [
            "19.99",
            "-4.1405",
            "-122.419416",
            "37.774929",
            "1700000000.123",
            "0.12345678",
            "-0.1234567",
            "12345678",
            "-1234567.",
            "999999999999999",
            "-99999999999999",
            ".12345678901234",
        ] {
            agree(s.as_bytes());
            must(s.trim_end_matches('.'));
        }
    }

    /// The division [`short_to_f64`] takes gives what [`to_f64`]'s
    /// multiply and rounding decision give, for every mantissa and scale a
    /// short decimal can have: random ones of each digit count, and the
    /// extremes (all nines, powers of ten, ties' neighbourhoods).
    #[test]
    fn short_quotients_are_the_general_ones() {
        let agree = |w: u64, p: usize| {
            assert_eq!(
                short_to_f64(w, p).to_bits(),
                to_f64(w, p).to_bits(),
                "{w} / 10^{p}"
            );
        };
        let mut state = 0xBB67_AE85_84CA_A73B;
        for digits in 1..=15u32 {
            let top = 10u64.pow(digits);
            for p in 0..=(digits as usize).min(14) {
                for w in [0, 1, 5, top / 10, top / 2, top - 1, top - 5, top / 3] {
                    agree(w, p);
                }
                for _ in 0..20_000 {
                    agree(xorshift(&mut state) % top, p);
                }
            }
        }
    }

    /// Decimals just under a power of two whose correctly rounded value is
    /// that power: the rounded mantissa carries to 2^53, which `compose`
    /// moves into the exponent. Random digits almost never round that way
    /// (all 53 mantissa bits must be ones), so these are made on purpose:
    /// `2^k - 1` followed by nines, up to the 19 digits the plain form
    /// holds, and `0.99…9` with 17 and 18 nines. Some must round up (the
    /// case tested), and every one must be what `str::parse` gives.
    #[test]
    fn roundings_that_carry_into_the_exponent() {
        let mut carried = 0;
        for k in 0..40u32 {
            let int = ((1u64 << k) - 1).to_string();
            for nines in 1..=(19 - int.len()) {
                let s = format!("{int}.{}", "9".repeat(nines));
                check(&s);
                let v = parse_plain(s.as_bytes());
                carried += (v == Some((1u64 << k) as f64)) as usize;
            }
        }
        for nines in 17..=18 {
            let s = format!("0.{}", "9".repeat(nines));
            must(&s);
            assert_eq!(parse_plain(s.as_bytes()), Some(1.0), "{s:?}");
        }
        assert!(
            carried >= 40,
            "only {carried} decimals rounded up to a power of two"
        );
    }

    #[test]
    fn other_forms_fall_back() {
        for s in [
            "",
            "-",
            "+",
            ".",
            "1.",
            "1e5",
            "1.5E-3",
            "inf",
            "nan",
            "1,5",
            "1.5x",
            " 1",
            "1 ",
            "--1",
            "1.2.3",
            "12345678901234567890",
            "0.12345678901234567890",
            "1.0000000x",
            "1.00000000000000x",
            "x.5",
            "-1.234567890123.5",
            "12345678.9012345e1",
            "1.2345678901234 5",
            "1234.56789012345-",
            "0.123456789012345678901",
            "+-1.2345678901234567",
        ] {
            assert_eq!(parse_plain(s.as_bytes()), None, "{s:?}");
        }
    }

    #[test]
    fn shortest_round_trip_of_random_doubles() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..300_000 {
            let bits = xorshift(&mut state);
            // random magnitudes in about [1e-7, 1e12], both signs
            let mant = f64::from_bits((bits >> 12) | (1023 << 52)) - 1.0;
            let scale = 10f64.powi((bits % 20) as i32 - 7);
            let v = if bits & 1 == 1 {
                -mant * scale
            } else {
                mant * scale
            };
            let s = format!("{v}");
            check(&s);
            if s.bytes().filter(u8::is_ascii_digit).count() <= MAX_DIGITS && !s.contains('e') {
                must(&s);
            }
        }
    }

    #[test]
    fn random_digit_strings_and_halfway_cases() {
        let mut state = 0x2545_F491_4F6C_DD1D;
        for _ in 0..300_000 {
            let r = xorshift(&mut state);
            let digits = 1 + (r % 19) as usize;
            let point = (r >> 8) as usize % (digits + 1);
            let mut s = String::from(["", "-", "+"][(r >> 16) as usize % 3]);
            let mut r2 = xorshift(&mut state);
            for i in 0..digits {
                if i == point {
                    s.push('.');
                }
                // bias towards 0, 5 and 9 to reach ties and carries
                let d = match r2 % 4 {
                    0 => b'0',
                    1 => b'5',
                    2 => b'9',
                    _ => b'0' + ((r2 >> 2) % 10) as u8,
                };
                r2 >>= 5;
                if r2 == 0 {
                    r2 = xorshift(&mut state);
                }
                s.push(d as char);
            }
            // (a point at `digits` is never pushed: an integer)
            must(&s);
        }
        // exact ties between two doubles just above 2^53 (odd and even)
        for w in [9007199254740993u64, 9007199254740995, 18014398509481986] {
            must(&w.to_string());
            must(&format!("{w}.0"));
            must(&format!("{}.{}", w / 10, w % 10));
        }
    }
}
