//! [`x8`](super::x8)'s readers on four fields at once, in the 64-bit lanes
//! of AVX2 registers: what AVX2 machines without AVX-512 (AMD Zen 2 and 3,
//! most laptops and desktops) run. Both shapes of decimal are read, the
//! long and the short, as there.
//!
//! Why: on the AVX2 path the scalar float reader took a third of the CPU
//! of the benchmark's six statistics of three columns (Q2), twice what the
//! eight lanes take on AVX-512. Like the eight lanes, these run the very
//! same integer steps as [`split_wide`](super::decimal::split_wide) and
//! [`decimal_to_f64`](super::decimal::decimal_to_f64) (the same loads, masks, digit checks,
//! reciprocal multiply and rounding decision), so a lane's result is bit
//! for bit the scalar one, and a lane is read only where the scalar reader
//! would take the same steps; every other lane (another shape, an empty
//! field, text, the one value in 300 that needs the exact quotient) is left
//! to the scalar reader, which defines the semantics.
//!
//! On the benchmark's fields the four lanes take a third less time than
//! the scalar reader compiled for AVX2 for floats, a fifth less for
//! integers (`docs/performance.md`). AVX2 lacks what the eight lanes lean
//! on, so each is built from what it has:
//!
//! - masks are vectors of all-ones lanes (no mask registers), turned into
//!   a bit per lane once, at the end;
//! - unsigned 64-bit compares: signed ones with the sign bit flipped;
//! - the first '.': its byte index is a byte sum (`vpsadbw`) of the mask of
//!   the bytes below it, which the lowest bit of the SWAR zero-byte test
//!   gives directly (no 64-bit `lzcnt`);
//! - a short decimal's value: the mantissa (below 2^50) made a double by
//!   the 2^52 trick (no 64-bit integer conversion), 10^p the product of
//!   two `vpermd` lookups in registers;
//! - eight digits: `vpmaddubsw` and `vpmaddwd` (pairs, then fours), one
//!   32×32-bit multiply for the last step (no 64-bit `mullo`); the value
//!   is the same, as the digits were checked;
//! - the leading zeros of the mantissa: the exponent of the half that holds
//!   its top bit, converted to a double exactly (the 2^52 trick); the
//!   scaled quotient's top bit is 62 or 63, which its top bit tells;
//! - tables (10^t, the reciprocals of 5^p): each lane's entry loaded on
//!   its own, at its index modulo 32 in tables padded to 32 entries, so
//!   that no lane reads outside them whatever its garbage; the bit lengths
//!   of 5^p are a multiply;
//! - the fields' bytes: plain loads, 16 bytes or 8 a lane, shuffled into
//!   place. No gathers: on the machines this path is for they are
//!   microcode ([`super::loads`] says more), and even on the Xeon measured,
//!   where gathers are fast, the loads took 4 to 14% less time on float
//!   columns (`docs/performance.md`, "The lanes without gathers"). Plain
//!   loads of each word on its own, through general registers and with a
//!   branch-free choice of address per lane, had taken 3 to 5% more.

use std::arch::x86_64::*;

use std::ops::Range;

use super::decimal::{MAX_DIGITS, POW10, POW5_BITS, RECIP5};
use super::loads::{before_end, lane_address, pair};

const ZEROS: i64 = 0x3030_3030_3030_3030;

/// `entries` padded with zeros to 32, so that an index modulo 32 stays in.
const fn pad32<const N: usize>(entries: [u64; N]) -> [u64; 32] {
    let mut t = [0u64; 32];
    let mut i = 0;
    while i < N {
        t[i] = entries[i];
        i += 1;
    }
    t
}

static POW10_32: [u64; 32] = pad32(POW10);
static RECIP5_32: [u64; 32] = pad32(RECIP5);

/// The bit length of 5^p is `⌊p · log2 5⌋ + 1`; `log2 5` is taken as
/// `POW5_BITS_MUL / 2^10`, exact enough for every `p` the lanes meet
/// (checked at compile time below).
const POW5_BITS_MUL: u64 = 2378;

const _: () = {
    let mut p = 0;
    while p < POW5_BITS.len() {
        assert!(((p as u64 * POW5_BITS_MUL) >> 10) + 1 == POW5_BITS[p] as u64);
        p += 1;
    }
};

#[inline]
#[target_feature(enable = "avx2")]
fn splat(v: i64) -> __m256i {
    _mm256_set1_epi64x(v)
}

/// Lanes where `a > b`, unsigned: all ones, else zeros.
#[inline]
#[target_feature(enable = "avx2")]
fn gt_u(a: __m256i, b: __m256i) -> __m256i {
    let flip = splat(i64::MIN);
    _mm256_cmpgt_epi64(_mm256_xor_si256(a, flip), _mm256_xor_si256(b, flip))
}

/// Lanes where `a <= b`, unsigned.
#[inline]
#[target_feature(enable = "avx2")]
fn le_u(a: __m256i, b: __m256i) -> __m256i {
    _mm256_xor_si256(gt_u(a, b), splat(-1))
}

/// Unsigned maximum of `a` and `b`.
#[inline]
#[target_feature(enable = "avx2")]
fn max_u(a: __m256i, b: __m256i) -> __m256i {
    _mm256_blendv_epi8(b, a, gt_u(a, b))
}

/// A bit per lane of `lanes` (each all ones or zeros).
#[inline]
#[target_feature(enable = "avx2")]
fn bits(lanes: __m256i) -> u8 {
    _mm256_movemask_pd(_mm256_castsi256_pd(lanes)) as u8
}

/// Lanes whose eight bytes are all ASCII digits ([`all_digits`](super::decimal::all_digits)).
#[inline]
#[target_feature(enable = "avx2")]
fn all_digits(c: __m256i) -> __m256i {
    let high = splat(0xF0F0_F0F0_F0F0_F0F0_u64 as i64);
    let a = _mm256_cmpeq_epi64(_mm256_and_si256(c, high), splat(ZEROS));
    let plus6 = _mm256_add_epi64(c, splat(0x0606_0606_0606_0606));
    _mm256_and_si256(
        a,
        _mm256_cmpeq_epi64(_mm256_and_si256(plus6, high), splat(ZEROS)),
    )
}

/// The value of eight ASCII digits in each lane, the first (lowest) byte
/// the most significant: [`parse8`](super::decimal::parse8)'s value
/// where all eight are digits (garbage elsewhere).
#[inline]
#[target_feature(enable = "avx2")]
fn parse8(c: __m256i) -> __m256i {
    parse8_values(_mm256_sub_epi8(c, _mm256_set1_epi8(b'0' as i8)))
}

/// [`parse8`] of the digit values `d` (each byte 0 to 9).
#[inline]
#[target_feature(enable = "avx2")]
fn parse8_values(d: __m256i) -> __m256i {
    // pairs: 10 · first + second, in 16 bits
    let pairs = _mm256_maddubs_epi16(d, _mm256_set1_epi16(0x010A));
    // fours: 100 · first pair + second, in 32 bits
    let fours = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x0001_0064));
    _mm256_add_epi64(
        _mm256_mul_epu32(fours, splat(10_000)),
        _mm256_srli_epi64::<32>(fours),
    )
}

/// The high 64 bits of each lane's 128-bit product `a · b`.
#[inline]
#[target_feature(enable = "avx2")]
fn mul_high(a: __m256i, b: __m256i) -> __m256i {
    let (a_hi, b_hi) = (_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(b));
    let ll = _mm256_mul_epu32(a, b);
    let lh = _mm256_mul_epu32(a, b_hi);
    let hl = _mm256_mul_epu32(a_hi, b);
    let hh = _mm256_mul_epu32(a_hi, b_hi);
    let low32 = splat(0xFFFF_FFFF);
    let mid = _mm256_add_epi64(
        _mm256_srli_epi64::<32>(ll),
        _mm256_add_epi64(_mm256_and_si256(lh, low32), _mm256_and_si256(hl, low32)),
    );
    let carries = _mm256_add_epi64(_mm256_srli_epi64::<32>(lh), _mm256_srli_epi64::<32>(hl));
    _mm256_add_epi64(hh, _mm256_add_epi64(carries, _mm256_srli_epi64::<32>(mid)))
}

/// The low 64 bits of `a · b` for `a` < 2^32.
#[inline]
#[target_feature(enable = "avx2")]
fn mul_lo_32x64(a: __m256i, b: __m256i) -> __m256i {
    let low = _mm256_mul_epu32(a, b);
    let high = _mm256_mul_epu32(a, _mm256_srli_epi64::<32>(b));
    _mm256_add_epi64(low, _mm256_slli_epi64::<32>(high))
}

/// The leading zeros of each lane (anything for a zero lane): the
/// exponent of the half that holds the top bit, made a double exactly.
#[inline]
#[target_feature(enable = "avx2")]
fn lzcnt(w: __m256i) -> __m256i {
    let hi = _mm256_srli_epi64::<32>(w);
    let hi_zero = _mm256_cmpeq_epi64(hi, _mm256_setzero_si256());
    let half = _mm256_blendv_epi8(hi, _mm256_and_si256(w, splat(0xFFFF_FFFF)), hi_zero);
    // 2^52 + half, less 2^52: `half` as a double, exactly (it has 32 bits)
    const TWO52: i64 = 0x4330_0000_0000_0000;
    let f = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(half, splat(TWO52))),
        _mm256_castsi256_pd(splat(TWO52)),
    );
    // its biased exponent: 1023 + ⌊log2 half⌋
    let e = _mm256_srli_epi64::<52>(_mm256_castpd_si256(f));
    // 63 - (⌊log2 half⌋ + 32 unless the high half is zero)
    _mm256_sub_epi64(
        _mm256_add_epi64(splat(63 + 1023 - 32), _mm256_and_si256(hi_zero, splat(32))),
        e,
    )
}

/// Each lane's entry `idx` (modulo 32) of `table`.
#[inline]
#[target_feature(enable = "avx2")]
fn lookup(table: &'static [u64; 32], idx: __m256i) -> __m256i {
    let mut i = [0u64; 4];
    // SAFETY: 4 lanes of 8 bytes each.
    unsafe { _mm256_storeu_si256(i.as_mut_ptr() as *mut __m256i, idx) };
    let at = |k: usize| &table[i[k] as usize % 32] as *const u64 as *const u8;
    // SAFETY: each address is of an entry of `table`.
    let two = |k: usize| unsafe { pair(at(k), at(k + 1)) };
    _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(two(0)), two(2))
}

/// The addresses and the lengths of the first four of `fields`, a lane each.
#[inline]
#[target_feature(enable = "avx2")]
fn addresses_and_lengths(fields: &[&[u8]]) -> (__m256i, __m256i) {
    let f: &[&[u8]; 4] = fields[..4].try_into().expect("four fields");
    let start = |k: usize| f[k].as_ptr() as i64;
    let len = |k: usize| f[k].len() as i64;
    (
        _mm256_set_epi64x(start(3), start(2), start(1), start(0)),
        _mm256_set_epi64x(len(3), len(2), len(1), len(0)),
    )
}

/// The 16 bytes that end where each of the first four of `fields` ends,
/// for the lanes in `lanes` (the others get zeros): their low eight bytes
/// in the first vector, their high eight in the second.
///
/// Plain loads, not gathers, here and in [`words`] ([`super::loads`] says
/// why).
///
/// # Safety
/// The 16 bytes before the end of each field of `lanes` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn last16(fields: &[&[u8]], lanes: u8) -> (__m256i, __m256i) {
    let f: &[&[u8]; 4] = fields[..4].try_into().expect("four fields");
    // SAFETY: the caller's promise for the lanes read, a blank for the others.
    let load = |k: usize| unsafe {
        _mm_loadu_si128(lane_address(f, lanes, k, |field| before_end(field, 16)) as *const __m128i)
    };
    // lanes 0 and 2 in one vector, 1 and 3 in the other: the unpacks,
    // which work within each 128-bit half, then put lane k in place k
    let even = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(load(0)), load(2));
    let odd = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(load(1)), load(3));
    (
        _mm256_unpacklo_epi64(even, odd),
        _mm256_unpackhi_epi64(even, odd),
    )
}

/// The eight bytes at `at(field)` of each of the first four of `fields`,
/// for the lanes in `lanes` (the others get zeros).
///
/// # Safety
/// The eight bytes at `at(field)` of each field of `lanes` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn words(fields: &[&[u8]], lanes: u8, at: impl Fn(&[u8]) -> *const u8) -> __m256i {
    let f: &[&[u8]; 4] = fields[..4].try_into().expect("four fields");
    let at = |k: usize| lane_address(f, lanes, k, &at);
    // lanes k and k+1 in one half
    // SAFETY: the caller's promise for the lanes read, a blank for the others.
    let two = |k: usize| unsafe { pair(at(k), at(k + 1)) };
    _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(two(0)), two(2))
}

/// 10^p for each lane's `p` (0 to 15; only the low four bits are read), as
/// a double: 10^(p mod 4) · 10^(4·⌊p/4⌋), both looked up in a register by
/// `vpermd` and their product exact (it is below 2^53). A gather from a
/// table costs more on most AVX2 machines ([`super::loads`] says why).
#[inline]
#[target_feature(enable = "avx2")]
fn pow10_f64(p: __m256i) -> __m256i {
    let units = _mm256_castpd_si256(_mm256_setr_pd(1.0, 10.0, 100.0, 1000.0));
    let powers_of_1e4 = _mm256_castpd_si256(_mm256_setr_pd(1.0, 1e4, 1e8, 1e12));
    // the 32-bit indices of entry i of a table of four doubles: 2i and 2i+1
    let pairs = |i: __m256i| {
        let twice = _mm256_slli_epi64::<1>(i);
        _mm256_or_si256(
            _mm256_or_si256(twice, _mm256_slli_epi64::<32>(twice)),
            splat(1 << 32),
        )
    };
    let low = _mm256_permutevar8x32_epi32(units, pairs(_mm256_and_si256(p, splat(3))));
    let high = _mm256_permutevar8x32_epi32(
        powers_of_1e4,
        pairs(_mm256_and_si256(_mm256_srli_epi64::<2>(p), splat(3))),
    );
    _mm256_castpd_si256(_mm256_mul_pd(
        _mm256_castsi256_pd(low),
        _mm256_castsi256_pd(high),
    ))
}

/// Reads the first four of `fields`: the lanes' values as `f64` bits and
/// the mask of the lanes read (see the module documentation); a lane not
/// read holds garbage. The steps are [`read8`](super::x8::read8)'s, one
/// for one, and so are the shapes tried (`LONG`, `SHORT`) and `readable`.
///
/// # Safety
/// The processor must have AVX2, and every byte of `readable` must be
/// readable.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn read4<const LONG: bool, const SHORT: bool>(
    fields: &[&[u8]],
    readable: Range<usize>,
) -> ([u64; 4], u8) {
    let (starts, n) = addresses_and_lengths(fields);
    let none = _mm256_setzero_si256();
    // the long shape, 16 to 24 bytes: `read8`'s steps
    let (long, long_read) = if LONG {
        'long: {
            let zero = _mm256_setzero_si256();
            let one = splat(1);
            let ones = splat(-1);
            // 16 to 24 bytes: the three loads below stay within the field
            let sized = _mm256_and_si256(gt_u(n, splat(15)), le_u(n, splat(24)));
            if bits(sized) == 0 {
                break 'long (zero, zero);
            }
            // SAFETY: a lane read loads bytes 0..8 and len-16..len of its
            // field, which has 16 to 24 bytes; other lanes load zeros.
            let (h, (lo, hi)) = unsafe {
                let lanes = bits(sized);
                (words(fields, lanes, <[u8]>::as_ptr), last16(fields, lanes))
            };
            // the sign
            let first = _mm256_and_si256(h, splat(0xFF));
            let neg = _mm256_cmpeq_epi64(first, splat(b'-' as i64));
            let signed = _mm256_or_si256(neg, _mm256_cmpeq_epi64(first, splat(b'+' as i64)));
            let sign = _mm256_and_si256(signed, one);
            // the first '.', byte d of h: the bytes below it, and their count
            let dots = dots(h);
            let no_dot = _mm256_cmpeq_epi64(dots, zero);
            let below = below_lowest(dots);
            let d = byte_count(below);
            let d1 = _mm256_add_epi64(d, one);
            let frac = _mm256_sub_epi64(n, d1);
            let tail_start = max_u(d1, _mm256_sub_epi64(n, splat(16)));
            let t = _mm256_sub_epi64(n, tail_start);
            let head_len = _mm256_sub_epi64(_mm256_sub_epi64(tail_start, one), sign);
            let shape = _mm256_andnot_si256(
                _mm256_or_si256(no_dot, _mm256_cmpeq_epi64(frac, zero)),
                _mm256_and_si256(
                    le_u(_mm256_add_epi64(head_len, t), splat(MAX_DIGITS as i64)),
                    le_u(head_len, splat(8)),
                ),
            );
            // the head: the point squeezed out, the digits moved to the top
            let squeezed = _mm256_or_si256(
                _mm256_and_si256(h, below),
                _mm256_andnot_si256(below, _mm256_srli_epi64::<8>(h)),
            );
            let end = _mm256_add_epi64(sign, head_len);
            // (a shift by 64 or more gives 0, as the scalar u128 shifts do)
            let aligned = _mm256_sllv_epi64(
                squeezed,
                _mm256_sub_epi64(splat(64), _mm256_slli_epi64::<3>(end)),
            );
            let keep = _mm256_sllv_epi64(
                ones,
                _mm256_sub_epi64(splat(64), _mm256_slli_epi64::<3>(head_len)),
            );
            let head = _mm256_or_si256(
                _mm256_and_si256(aligned, keep),
                _mm256_andnot_si256(keep, splat(ZEROS)),
            );
            // the tail: its last t digits, zeros before them
            let s = _mm256_slli_epi64::<3>(_mm256_sub_epi64(splat(16), t));
            let keep_lo = _mm256_sllv_epi64(ones, s);
            let keep_hi = _mm256_sllv_epi64(ones, _mm256_sub_epi64(max_u(s, splat(64)), splat(64)));
            let lo = _mm256_or_si256(
                _mm256_and_si256(lo, keep_lo),
                _mm256_andnot_si256(keep_lo, splat(ZEROS)),
            );
            let hi = _mm256_or_si256(
                _mm256_and_si256(hi, keep_hi),
                _mm256_andnot_si256(keep_hi, splat(ZEROS)),
            );
            let digits = _mm256_and_si256(
                all_digits(head),
                _mm256_and_si256(all_digits(lo), all_digits(hi)),
            );
            // (each parse8 is below 10^8 < 2^32: one 32×32-bit multiply)
            let tail =
                _mm256_add_epi64(_mm256_mul_epu32(parse8(lo), splat(100_000_000)), parse8(hi));
            let pow10 = lookup(&POW10_32, t);
            let w = _mm256_add_epi64(mul_lo_32x64(parse8(head), pow10), tail);

            // to_f64(w, frac)
            let w_zero = _mm256_cmpeq_epi64(w, zero);
            let lz = lzcnt(w);
            let recip = lookup(&RECIP5_32, frac);
            let v = mul_high(_mm256_sllv_epi64(w, lz), recip);
            // v lies in [2^62, 2^64) for w > 0: its top bit is 62 or 63
            let top = _mm256_add_epi64(splat(62), _mm256_srli_epi64::<63>(v));
            let guard = _mm256_sub_epi64(top, splat(53));
            let guard_mask = _mm256_sub_epi64(_mm256_sllv_epi64(one, guard), one);
            let low = _mm256_and_si256(v, guard_mask);
            let decided = _mm256_andnot_si256(
                _mm256_cmpeq_epi64(low, zero),
                le_u(low, _mm256_sub_epi64(guard_mask, splat(2))),
            );
            // rounded on the rounding bit: (x + 1) >> 1 of x = v >> guard
            let mant = _mm256_srli_epi64::<1>(_mm256_add_epi64(_mm256_srlv_epi64(v, guard), one));
            // exp = (top - 52) + 1 - POW5_BITS[p] - lz - p
            let pow5_bits = _mm256_add_epi64(
                _mm256_srli_epi64::<10>(_mm256_mul_epu32(frac, splat(POW5_BITS_MUL as i64))),
                one,
            );
            let exp = _mm256_sub_epi64(
                _mm256_sub_epi64(_mm256_add_epi64(top, splat(1 - 52)), pow5_bits),
                _mm256_add_epi64(lz, frac),
            );
            // compose(mant, exp): the mantissa added, its top bit to the
            // exponent field one below the exponent
            let value = _mm256_add_epi64(
                _mm256_slli_epi64::<52>(_mm256_add_epi64(exp, splat(52 + 1023 - 1))),
                mant,
            );
            let value = _mm256_andnot_si256(w_zero, value);
            let value = _mm256_or_si256(value, _mm256_and_si256(neg, splat(i64::MIN)));
            let read = _mm256_and_si256(
                _mm256_and_si256(sized, shape),
                _mm256_and_si256(digits, _mm256_or_si256(decided, w_zero)),
            );
            (value, read)
        }
    } else {
        (none, none)
    };
    // the short shape, 1 to 15 bytes, of the lanes left, for the fields
    // that lie in `readable` at least 16 bytes past its start minus their
    // length: `read8`'s steps
    let (short, short_read) = if SHORT && (!LONG || bits(long_read) != 0xF) {
        'short: {
            let zero = _mm256_setzero_si256();
            let one = splat(1);
            let ones = splat(-1);
            let ends = _mm256_add_epi64(starts, n);
            let sized = _mm256_andnot_si256(_mm256_cmpeq_epi64(n, zero), le_u(n, splat(15)));
            let inside = _mm256_andnot_si256(
                gt_u(splat(readable.start.saturating_add(16) as i64), ends),
                le_u(ends, splat(readable.end as i64)),
            );
            let lanes = _mm256_and_si256(sized, inside);
            if bits(lanes) == 0 {
                break 'short (zero, zero);
            }
            // SAFETY: a lane read loads ends-16..ends, inside `readable` (checked
            // just above: the field ends in it, at least 16 bytes past its start);
            // other lanes load zeros.
            let (lo, hi) = unsafe { last16(fields, bits(lanes)) };
            // the frame: the field right-aligned, the bytes before it zero (a
            // shift by 64 or more gives 0: all of `lo` for a field of 8 bytes or
            // fewer)
            let before = _mm256_slli_epi64::<3>(_mm256_sub_epi64(splat(16), n));
            let lo = _mm256_and_si256(lo, _mm256_sllv_epi64(ones, before));
            let hi = _mm256_and_si256(
                hi,
                _mm256_sllv_epi64(ones, _mm256_sub_epi64(max_u(before, splat(64)), splat(64))),
            );
            // the sign: the field's first byte, in `lo` or in `hi` (the other
            // shift is by 64 or more, or of zeros)
            let first = _mm256_and_si256(
                _mm256_or_si256(
                    _mm256_srlv_epi64(lo, before),
                    _mm256_srlv_epi64(hi, _mm256_sub_epi64(before, splat(64))),
                ),
                splat(0xFF),
            );
            let neg = _mm256_cmpeq_epi64(first, splat(b'-' as i64));
            let signed = _mm256_or_si256(neg, _mm256_cmpeq_epi64(first, splat(b'+' as i64)));
            let sign = _mm256_and_si256(signed, one);
            // the first '.' of each word: the bytes below it, and their
            // count, its index
            // the bytes below the point move up one, over it
            let squeeze = |w: __m256i, below: __m256i| {
                _mm256_or_si256(
                    _mm256_slli_epi64::<8>(_mm256_and_si256(w, below)),
                    _mm256_andnot_si256(
                        _mm256_or_si256(_mm256_slli_epi64::<8>(below), splat(0xFF)),
                        w,
                    ),
                )
            };
            let (in_lo, in_hi) = (dots(lo), dots(hi));
            let no_lo = _mm256_cmpeq_epi64(in_lo, zero);
            let no_hi = _mm256_cmpeq_epi64(in_hi, zero);
            let dot_lo = _mm256_xor_si256(no_lo, ones);
            let dot_hi = _mm256_andnot_si256(no_hi, no_lo);
            let point = _mm256_or_si256(dot_lo, dot_hi);
            let (below_lo, below_hi) = (below_lowest(in_lo), below_lowest(in_hi));
            // frame byte `at` is the point
            let at = _mm256_blendv_epi8(
                _mm256_add_epi64(byte_count(below_hi), splat(8)),
                byte_count(below_lo),
                dot_lo,
            );
            let frac = _mm256_and_si256(_mm256_sub_epi64(splat(15), at), point);
            let lo_squeezed =
                _mm256_blendv_epi8(_mm256_slli_epi64::<8>(lo), squeeze(lo, below_lo), dot_lo);
            let hi_squeezed = _mm256_or_si256(squeeze(hi, below_hi), _mm256_srli_epi64::<56>(lo));
            let lo = _mm256_blendv_epi8(lo, lo_squeezed, point);
            let hi = _mm256_blendv_epi8(hi, hi_squeezed, dot_hi);
            // digits: every byte but the sign and the point, at the frame's top
            let k = _mm256_sub_epi64(_mm256_sub_epi64(n, sign), _mm256_and_si256(point, one));
            let shape = _mm256_andnot_si256(
                _mm256_or_si256(
                    _mm256_cmpeq_epi64(k, zero),
                    _mm256_and_si256(point, _mm256_cmpeq_epi64(frac, zero)),
                ),
                ones,
            );
            let top_bytes = |k: __m256i| {
                _mm256_sllv_epi64(ones, _mm256_sub_epi64(splat(64), _mm256_slli_epi64::<3>(k)))
            };
            // (k ≤ 15: the 32-bit minimum and maximum are the 64-bit ones)
            let hi = _mm256_and_si256(
                _mm256_xor_si256(hi, splat(ZEROS)),
                top_bytes(_mm256_min_epu32(k, splat(8))),
            );
            let lo = _mm256_and_si256(
                _mm256_xor_si256(lo, splat(ZEROS)),
                top_bytes(_mm256_sub_epi64(_mm256_max_epu32(k, splat(8)), splat(8))),
            );
            let digits = _mm256_cmpeq_epi64(_mm256_or_si256(non_digits(hi), non_digits(lo)), zero);
            // (each parse8 is below 10^8 < 2^32: one 32×32-bit multiply)
            let w = _mm256_add_epi64(
                _mm256_mul_epu32(parse8_values(lo), splat(100_000_000)),
                parse8_values(hi),
            );
            // short_to_f64(w, frac): one division, as in the scalar reader; `w`
            // (below 10^15 < 2^52 in a lane read) as a double is 2^52 + w less 2^52
            const TWO52: i64 = 0x4330_0000_0000_0000;
            let w = _mm256_sub_pd(
                _mm256_castsi256_pd(_mm256_or_si256(w, splat(TWO52))),
                _mm256_castsi256_pd(splat(TWO52)),
            );
            let pow10 = pow10_f64(frac);
            let value = _mm256_castpd_si256(_mm256_div_pd(w, _mm256_castsi256_pd(pow10)));
            let value = _mm256_or_si256(value, _mm256_and_si256(neg, splat(i64::MIN)));
            let read = _mm256_and_si256(lanes, _mm256_and_si256(shape, digits));
            (value, read)
        }
    } else {
        (none, none)
    };
    let value = _mm256_blendv_epi8(long, short, short_read);
    let mut out = [0u64; 4];
    // SAFETY: 4 lanes of 8 bytes each.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, value) };
    (out, bits(_mm256_or_si256(long_read, short_read)))
}

/// The first '.' of each lane: the lowest zero byte of `w ^ "........"`
/// has bit 7 set (bits above it may be set too, by the borrow; the lowest
/// set bit is exact).
#[inline]
#[target_feature(enable = "avx2")]
fn dots(w: __m256i) -> __m256i {
    let x = _mm256_xor_si256(w, splat(0x2E2E_2E2E_2E2E_2E2E));
    let borrow = _mm256_sub_epi64(x, splat(0x0101_0101_0101_0101));
    _mm256_and_si256(
        _mm256_andnot_si256(x, borrow),
        splat(0x8080_8080_8080_8080_u64 as i64),
    )
}

/// The bytes below the lowest byte `dots` marks (bit 7 of byte d):
/// `(lowest >> 7) - 1`; all ones where `dots` is zero.
#[inline]
#[target_feature(enable = "avx2")]
fn below_lowest(dots: __m256i) -> __m256i {
    let lowest = _mm256_and_si256(dots, _mm256_sub_epi64(_mm256_setzero_si256(), dots));
    _mm256_sub_epi64(_mm256_srli_epi64::<7>(lowest), splat(1))
}

/// How many bytes `below` ([`below_lowest`]) covers: the index of the
/// byte marked.
#[inline]
#[target_feature(enable = "avx2")]
fn byte_count(below: __m256i) -> __m256i {
    _mm256_sad_epu8(
        _mm256_and_si256(below, splat(0x0101_0101_0101_0101)),
        _mm256_setzero_si256(),
    )
}

/// [`non_digits`](super::decimal::non_digits) in each lane: zero exactly
/// when every byte is at most 9.
#[inline]
#[target_feature(enable = "avx2")]
fn non_digits(x: __m256i) -> __m256i {
    _mm256_and_si256(
        _mm256_or_si256(x, _mm256_add_epi64(x, splat(0x0606_0606_0606_0606))),
        splat(0xF0F0_F0F0_F0F0_F0F0_u64 as i64),
    )
}

/// Reads the first four of `fields` that are unsigned integers of one to
/// eight digits, as [`read_int8`](super::x8::read_int8) does eight: the
/// values and the mask of the lanes read. A lane is only read when its
/// field lies in `readable`, seven bytes past its start: the lane loads
/// the eight bytes that end where the field ends and masks the bytes
/// before the field to zeros.
///
/// # Safety
/// The processor must have AVX2, and every byte of `readable` must be
/// readable.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn read_int4(fields: &[&[u8]], readable: std::ops::Range<usize>) -> ([u64; 4], u8) {
    let (starts, n) = addresses_and_lengths(fields);
    let zero = _mm256_setzero_si256();
    let ends = _mm256_add_epi64(starts, n);
    let sized = _mm256_andnot_si256(_mm256_cmpeq_epi64(n, zero), le_u(n, splat(8)));
    let inside = _mm256_andnot_si256(
        gt_u(splat(readable.start.saturating_add(7) as i64), starts),
        le_u(ends, splat(readable.end as i64)),
    );
    let lanes = _mm256_and_si256(sized, inside);
    if bits(lanes) == 0 {
        return ([0; 4], 0);
    }
    // SAFETY: a lane read loads ends-8..ends, inside `readable` (checked
    // just above: its field starts at least seven bytes in and has 1 to 8
    // bytes); other lanes load zeros.
    let v = unsafe { words(fields, bits(lanes), |field| before_end(field, 8)) };
    // the field is v's top n bytes; the bytes below become '0's
    let keep = _mm256_sllv_epi64(
        splat(-1),
        _mm256_slli_epi64::<3>(_mm256_sub_epi64(splat(8), n)),
    );
    let c = _mm256_or_si256(
        _mm256_and_si256(v, keep),
        _mm256_andnot_si256(keep, splat(ZEROS)),
    );
    let read = _mm256_and_si256(lanes, all_digits(c));
    let mut out = [0u64; 4];
    // SAFETY: 4 lanes of 8 bytes each.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, parse8(c)) };
    (out, bits(read))
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use super::{read4, read_int4};
    use crate::number::lanes_testing::{
        float_lanes_agree, integer_lanes_agree, lanes_stay_inside, Lanes,
    };

    /// Whether this processor has the lanes' instructions (whatever
    /// `RAYPROC_SIMD` says: these tests compare the paths it has).
    fn lanes() -> bool {
        crate::cpu::detected().avx2_numbers()
    }

    /// [`read4`] of the shapes `LONG` and `SHORT`, as the shared checks
    /// call a float reader (`readable`: a readable buffer's range).
    fn floats<const LONG: bool, const SHORT: bool>(raw: &[&[u8]], readable: Range<usize>) -> Lanes {
        assert!(lanes());
        // SAFETY: the processor has AVX2 (asserted above); `readable` is a
        // readable buffer's range (the checks' contract).
        let (bits, mask) = unsafe { read4::<LONG, SHORT>(raw, readable) };
        (bits.to_vec(), mask as u32)
    }

    /// [`read_int4`], as the shared checks call an integer reader.
    fn ints(fields: &[&[u8]], readable: Range<usize>) -> Lanes {
        assert!(lanes());
        // SAFETY: as in `floats`.
        let (values, mask) = unsafe { read_int4(fields, readable) };
        (values.to_vec(), mask as u32)
    }

    #[test]
    fn lanes_read_what_the_scalar_reader_reads() {
        if !lanes() {
            return; // no AVX2 here
        }
        float_lanes_agree(4, &floats::<true, true>);
    }

    #[test]
    fn integer_lanes_read_what_the_scalar_reader_reads() {
        if !lanes() {
            return; // no AVX2 here
        }
        integer_lanes_agree(4, &ints);
    }

    #[test]
    fn lanes_load_nothing_outside_the_input() {
        if !lanes() {
            return; // no AVX2 here
        }
        lanes_stay_inside(4, &floats::<true, true>, &ints);
        lanes_stay_inside(4, &floats::<true, false>, &ints);
        lanes_stay_inside(4, &floats::<false, true>, &ints);
    }
}
