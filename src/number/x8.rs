//! [`split_wide`](super::decimal::split_wide) and
//! [`decimal_to_f64`](super::decimal::decimal_to_f64), and
//! [`split_short`](super::decimal::split_short) and its one division, on
//! eight fields at once, in the 64-bit lanes of AVX-512 registers.
//!
//! Why: the scalar reader is a chain of about seventy instructions per
//! value with little to overlap, and parsing took a third of the CPU of
//! the benchmark's six statistics of three columns (Q2). The lanes run the
//! very same integer steps (the same loads, masks, digit checks,
//! reciprocal multiply and rounding decision), so a lane's result is
//! bit for bit the scalar one; only the 64×64-bit high multiply is built
//! from four 32×32-bit ones.
//!
//! Two shapes are read, each lane taking the one its length picks: the
//! long one (16 to 24 bytes, the shortest round trip of a random double)
//! and the short one (1 to 15 bytes: prices, rates, coordinates, small
//! integers), whose value is one IEEE division in the lanes as in the
//! scalar reader. A lane is *read* when its field has one of the shapes
//! and, for the long one, the reciprocal estimate decides the rounding;
//! every other lane (another shape, an empty field, text, the one long
//! value in 300 that needs the exact quotient, a short field too near the
//! start of the readable bytes) is left to the scalar reader, which
//! defines the semantics.

use std::arch::x86_64::*;

use std::ops::Range;

use super::decimal::{MAX_DIGITS, POW10, POW10_F64, POW5_BITS, RECIP5};
use super::loads::{before_end, lane_address, pair};

const ZEROS: i64 = 0x3030_3030_3030_3030;

/// A lookup table of up to 32 `u64` entries that each lane indexes.
struct Table([__m512i; 4]);

impl Table {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(entries: &[u64]) -> Table {
        let mut t = [0u64; 32];
        t[..entries.len()].copy_from_slice(entries);
        // SAFETY: each load reads 8 entries of the 32.
        unsafe {
            let at = |i: usize| t[i..].as_ptr() as *const __m512i;
            Table([
                _mm512_loadu_si512(at(0)),
                _mm512_loadu_si512(at(8)),
                _mm512_loadu_si512(at(16)),
                _mm512_loadu_si512(at(24)),
            ])
        }
    }

    /// Entry `idx` of each lane (`idx` < 32).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn get(&self, idx: __m512i) -> __m512i {
        let low = _mm512_permutex2var_epi64(self.0[0], idx, self.0[1]);
        let high = _mm512_permutex2var_epi64(self.0[2], idx, self.0[3]);
        let in_high = _mm512_cmpge_epu64_mask(idx, _mm512_set1_epi64(16));
        _mm512_mask_blend_epi64(in_high, low, high)
    }
}

/// The tables [`read8`] indexes, loaded once per batch.
pub struct Tables {
    pow10: Table,
    recip5: Table,
    pow5_bits: Table,
    /// 10^0 to 10^15 as doubles, eight a register.
    pow10_f64: [__m512d; 2],
}

impl Tables {
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub fn new() -> Tables {
        Tables {
            pow10: Table::new(&POW10),
            recip5: Table::new(&RECIP5),
            pow5_bits: Table::new(&POW5_BITS.map(u64::from)),
            // SAFETY: each load reads 8 entries of the 16.
            pow10_f64: unsafe {
                let t = POW10_F64;
                [
                    _mm512_loadu_pd(t.as_ptr()),
                    _mm512_loadu_pd(t[8..].as_ptr()),
                ]
            },
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(v: i64) -> __m512i {
    _mm512_set1_epi64(v)
}

/// Lanes whose eight bytes are all ASCII digits ([`all_digits`](super::decimal::all_digits)).
#[inline]
#[target_feature(enable = "avx512f")]
fn all_digits(c: __m512i) -> __mmask8 {
    let high = splat(0xF0F0_F0F0_F0F0_F0F0_u64 as i64);
    let a = _mm512_cmpeq_epi64_mask(_mm512_and_si512(c, high), splat(ZEROS));
    let plus6 = _mm512_add_epi64(c, splat(0x0606_0606_0606_0606));
    a & _mm512_cmpeq_epi64_mask(_mm512_and_si512(plus6, high), splat(ZEROS))
}

/// [`parse8`](super::decimal::parse8) in each lane.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn parse8(c: __m512i) -> __m512i {
    parse8_values(_mm512_sub_epi64(c, splat(ZEROS)))
}

/// [`parse8`] of the digit values `c` (each byte 0 to 9).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn parse8_values(c: __m512i) -> __m512i {
    const MASK: i64 = 0x0000_00FF_0000_00FF;
    const MUL1: i64 = 0x000F_4240_0000_0064;
    const MUL2: i64 = 0x0000_2710_0000_0001;
    let c = _mm512_add_epi64(_mm512_mullo_epi64(c, splat(10)), _mm512_srli_epi64::<8>(c));
    let v1 = _mm512_mullo_epi64(_mm512_and_si512(c, splat(MASK)), splat(MUL1));
    let c16 = _mm512_srli_epi64::<16>(c);
    let v2 = _mm512_mullo_epi64(_mm512_and_si512(c16, splat(MASK)), splat(MUL2));
    _mm512_srli_epi64::<32>(_mm512_add_epi64(v1, v2))
}

/// The high 64 bits of each lane's 128-bit product `a · b`.
#[inline]
#[target_feature(enable = "avx512f")]
fn mul_high(a: __m512i, b: __m512i) -> __m512i {
    let (a_hi, b_hi) = (_mm512_srli_epi64::<32>(a), _mm512_srli_epi64::<32>(b));
    let ll = _mm512_mul_epu32(a, b);
    let lh = _mm512_mul_epu32(a, b_hi);
    let hl = _mm512_mul_epu32(a_hi, b);
    let hh = _mm512_mul_epu32(a_hi, b_hi);
    let low32 = splat(0xFFFF_FFFF);
    let mid = _mm512_add_epi64(
        _mm512_srli_epi64::<32>(ll),
        _mm512_add_epi64(_mm512_and_si512(lh, low32), _mm512_and_si512(hl, low32)),
    );
    let carries = _mm512_add_epi64(_mm512_srli_epi64::<32>(lh), _mm512_srli_epi64::<32>(hl));
    _mm512_add_epi64(hh, _mm512_add_epi64(carries, _mm512_srli_epi64::<32>(mid)))
}

/// The addresses and the lengths of the first eight of `fields`, a lane each.
#[inline]
#[target_feature(enable = "avx512f")]
fn addresses_and_lengths(fields: &[&[u8]]) -> (__m512i, __m512i) {
    let fields: &[&[u8]; 8] = fields[..8].try_into().expect("eight fields");
    let mut starts = [0u64; 8];
    let mut lens = [0u64; 8];
    for k in 0..8 {
        starts[k] = fields[k].as_ptr() as u64;
        lens[k] = fields[k].len() as u64;
    }
    // SAFETY: 8 lanes of 8 bytes each.
    unsafe {
        (
            _mm512_loadu_si512(starts.as_ptr() as *const __m512i),
            _mm512_loadu_si512(lens.as_ptr() as *const __m512i),
        )
    }
}

/// The 16 bytes that end where each of the first eight of `fields` ends,
/// for the lanes in `lanes` (the others get zeros): their low eight bytes
/// in the first vector, their high eight in the second. Plain loads, not
/// gathers, here and in [`words`] ([`super::loads`] says why).
///
/// # Safety
/// The 16 bytes before the end of each field of `lanes` must be readable.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn last16(fields: &[&[u8]], lanes: u8) -> (__m512i, __m512i) {
    let f: &[&[u8]; 8] = fields[..8].try_into().expect("eight fields");
    // SAFETY: the caller's promise for the lanes read, a blank for the others.
    let load = |k: usize| unsafe {
        _mm_loadu_si128(lane_address(f, lanes, k, |field| before_end(field, 16)) as *const __m128i)
    };
    // the even lanes in one vector, the odd in the other: the unpacks,
    // which work within each 128-bit quarter, then put lane k in place k
    let spread = |k: usize| {
        let v = _mm512_castsi128_si512(load(k));
        let v = _mm512_inserti32x4::<1>(v, load(k + 2));
        let v = _mm512_inserti32x4::<2>(v, load(k + 4));
        _mm512_inserti32x4::<3>(v, load(k + 6))
    };
    let (even, odd) = (spread(0), spread(1));
    (
        _mm512_unpacklo_epi64(even, odd),
        _mm512_unpackhi_epi64(even, odd),
    )
}

/// The eight bytes at `at(field)` of each of the first eight of `fields`,
/// for the lanes in `lanes` (the others get zeros).
///
/// # Safety
/// The eight bytes at `at(field)` of each field of `lanes` must be readable.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn words(fields: &[&[u8]], lanes: u8, at: impl Fn(&[u8]) -> *const u8) -> __m512i {
    let f: &[&[u8]; 8] = fields[..8].try_into().expect("eight fields");
    let at = |k: usize| lane_address(f, lanes, k, &at);
    // lanes k and k+1 in one quarter
    // SAFETY: the caller's promise for the lanes read, a blank for the others.
    let two = |k: usize| unsafe { pair(at(k), at(k + 1)) };
    let v = _mm512_castsi128_si512(two(0));
    let v = _mm512_inserti32x4::<1>(v, two(2));
    let v = _mm512_inserti32x4::<2>(v, two(4));
    _mm512_inserti32x4::<3>(v, two(6))
}

/// Reads the first eight of `fields`: the lanes' values as `f64` bits and
/// the mask of the lanes read (see the module documentation); a lane not
/// read holds garbage. Only the shapes asked for are tried: the long one
/// with `LONG`, the short one with `SHORT` (of the lanes the long one
/// left). A short field is only read when it lies in `readable`, at least
/// 16 bytes past its start minus its length: its lane loads the 16 bytes
/// that end where the field ends.
///
/// Why the shapes are parameters, and the readers written out here rather
/// than called: the CSV reader's loop over a column of one shape runs only
/// that shape's reader (with both, a column of long decimals took 3 percent
/// more time), and only a function with one caller is reliably inlined
/// into that loop (called, the reader took 2 percent more instructions).
///
/// # Safety
/// The processor must have AVX-512 F, DQ and CD, and every byte of
/// `readable` must be readable.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512cd")]
pub unsafe fn read8<const LONG: bool, const SHORT: bool>(
    fields: &[&[u8]],
    tables: &Tables,
    readable: Range<usize>,
) -> ([u64; 8], u8) {
    let (starts, n) = addresses_and_lengths(fields);
    let none = _mm512_setzero_si512();
    // the long shape, 16 to 24 bytes: `split_wide`'s steps, then
    // `decimal_to_f64`'s
    let (long, long_read) = if LONG {
        'long: {
            let zero = _mm512_setzero_si512();
            let one = splat(1);
            let ones = splat(-1);
            // 16 to 24 bytes: the three loads below stay within the field
            let sized =
                _mm512_cmpge_epu64_mask(n, splat(16)) & _mm512_cmple_epu64_mask(n, splat(24));
            if sized == 0 {
                break 'long (zero, 0);
            }
            // SAFETY: a lane read loads bytes 0..8 and len-16..len of its
            // field, which has 16 to 24 bytes; other lanes load zeros.
            let (h, (lo, hi)) =
                unsafe { (words(fields, sized, <[u8]>::as_ptr), last16(fields, sized)) };
            // the sign
            let first = _mm512_and_si512(h, splat(0xFF));
            let neg = _mm512_cmpeq_epi64_mask(first, splat(b'-' as i64));
            let signed = neg | _mm512_cmpeq_epi64_mask(first, splat(b'+' as i64));
            let sign = _mm512_maskz_mov_epi64(signed, one);
            // the first '.'
            let dots = dots(h);
            let has_dot = _mm512_test_epi64_mask(dots, dots);
            let lowest = _mm512_and_si512(dots, _mm512_sub_epi64(zero, dots));
            let trailing = _mm512_sub_epi64(splat(63), _mm512_lzcnt_epi64(lowest));
            let d = _mm512_srli_epi64::<3>(trailing);
            let d1 = _mm512_add_epi64(d, one);
            let frac = _mm512_sub_epi64(n, d1);
            let tail_start = _mm512_max_epu64(d1, _mm512_sub_epi64(n, splat(16)));
            let t = _mm512_sub_epi64(n, tail_start);
            let head_len = _mm512_sub_epi64(_mm512_sub_epi64(tail_start, one), sign);
            let shape = has_dot
                & _mm512_test_epi64_mask(frac, frac)
                & _mm512_cmple_epu64_mask(_mm512_add_epi64(head_len, t), splat(MAX_DIGITS as i64))
                & _mm512_cmple_epu64_mask(head_len, splat(8));
            // the head: the point squeezed out, the digits moved to the top
            let below = _mm512_sub_epi64(_mm512_sllv_epi64(one, _mm512_slli_epi64::<3>(d)), one);
            let squeezed = _mm512_or_si512(
                _mm512_and_si512(h, below),
                _mm512_andnot_si512(below, _mm512_srli_epi64::<8>(h)),
            );
            let end = _mm512_add_epi64(sign, head_len);
            // (a shift by 64 or more gives 0, as the scalar u128 shifts do)
            let aligned = _mm512_sllv_epi64(
                squeezed,
                _mm512_sub_epi64(splat(64), _mm512_slli_epi64::<3>(end)),
            );
            let keep = _mm512_sllv_epi64(
                ones,
                _mm512_sub_epi64(splat(64), _mm512_slli_epi64::<3>(head_len)),
            );
            let head = _mm512_or_si512(
                _mm512_and_si512(aligned, keep),
                _mm512_andnot_si512(keep, splat(ZEROS)),
            );
            // the tail: its last t digits, zeros before them
            let s = _mm512_slli_epi64::<3>(_mm512_sub_epi64(splat(16), t));
            let keep_lo = _mm512_sllv_epi64(ones, s);
            let keep_hi = _mm512_sllv_epi64(
                ones,
                _mm512_sub_epi64(_mm512_max_epu64(s, splat(64)), splat(64)),
            );
            let lo = _mm512_or_si512(
                _mm512_and_si512(lo, keep_lo),
                _mm512_andnot_si512(keep_lo, splat(ZEROS)),
            );
            let hi = _mm512_or_si512(
                _mm512_and_si512(hi, keep_hi),
                _mm512_andnot_si512(keep_hi, splat(ZEROS)),
            );
            let digits = all_digits(head) & all_digits(lo) & all_digits(hi);
            let tail = _mm512_add_epi64(
                _mm512_mullo_epi64(parse8(lo), splat(100_000_000)),
                parse8(hi),
            );
            let w = _mm512_add_epi64(_mm512_mullo_epi64(parse8(head), tables.pow10.get(t)), tail);

            // to_f64(w, frac)
            let w_zero = _mm512_cmpeq_epi64_mask(w, zero);
            let lz = _mm512_lzcnt_epi64(w);
            let v = mul_high(_mm512_sllv_epi64(w, lz), tables.recip5.get(frac));
            let top = _mm512_sub_epi64(splat(63), _mm512_lzcnt_epi64(v));
            let guard = _mm512_sub_epi64(top, splat(53));
            let guard_mask = _mm512_sub_epi64(_mm512_sllv_epi64(one, guard), one);
            let low = _mm512_and_si512(v, guard_mask);
            let decided = _mm512_test_epi64_mask(low, low)
                & _mm512_cmple_epu64_mask(low, _mm512_sub_epi64(guard_mask, splat(2)));
            // rounded on the rounding bit: (x + 1) >> 1 of x = v >> guard
            let mant = _mm512_srli_epi64::<1>(_mm512_add_epi64(_mm512_srlv_epi64(v, guard), one));
            // exp = (top - 52) + 1 - POW5_BITS[p] - lz - p
            let exp = _mm512_sub_epi64(
                _mm512_sub_epi64(
                    _mm512_add_epi64(top, splat(1 - 52)),
                    tables.pow5_bits.get(frac),
                ),
                _mm512_add_epi64(lz, frac),
            );
            // compose(mant, exp): the mantissa added, its top bit to the
            // exponent field one below the exponent
            let bits = _mm512_add_epi64(
                _mm512_slli_epi64::<52>(_mm512_add_epi64(exp, splat(52 + 1023 - 1))),
                mant,
            );
            let bits = _mm512_mask_blend_epi64(w_zero, bits, zero);
            let bits = _mm512_mask_or_epi64(bits, neg, bits, splat(i64::MIN));
            (bits, sized & shape & digits & (decided | w_zero))
        }
    } else {
        (none, 0)
    };
    // the short shape, 1 to 15 bytes, of the lanes left, for the fields
    // that lie in `readable` at least 16 bytes past its start minus their
    // length: `split_short`'s steps, one for one (its frame is the 16
    // bytes that end where the field ends, the bytes before the field
    // masked to zeros), then its division
    let (short, short_read) = if SHORT && (!LONG || long_read != 0xFF) {
        'short: {
            let zero = _mm512_setzero_si512();
            let one = splat(1);
            let ones = splat(-1);
            let ends = _mm512_add_epi64(starts, n);
            let sized = _mm512_test_epi64_mask(n, n) & _mm512_cmple_epu64_mask(n, splat(15));
            let inside =
                _mm512_cmpge_epu64_mask(ends, splat(readable.start.saturating_add(16) as i64))
                    & _mm512_cmple_epu64_mask(ends, splat(readable.end as i64));
            let lanes = sized & inside;
            if lanes == 0 {
                break 'short (zero, 0);
            }
            // SAFETY: a lane read loads ends-16..ends, inside `readable` (checked
            // just above: the field ends in it, at least 16 bytes past its start);
            // other lanes load zeros.
            let (lo, hi) = unsafe { last16(fields, lanes) };
            // the frame: the field right-aligned, the bytes before it zero (a
            // shift by 64 or more gives 0: all of `lo` for a field of 8 bytes or
            // fewer)
            let before = _mm512_slli_epi64::<3>(_mm512_sub_epi64(splat(16), n));
            let lo = _mm512_and_si512(lo, _mm512_sllv_epi64(ones, before));
            let hi = _mm512_and_si512(
                hi,
                _mm512_sllv_epi64(
                    ones,
                    _mm512_sub_epi64(_mm512_max_epu64(before, splat(64)), splat(64)),
                ),
            );
            // the sign: the field's first byte, in `lo` or in `hi` (the other
            // shift is by 64 or more, or of zeros)
            let first = _mm512_and_si512(
                _mm512_or_si512(
                    _mm512_srlv_epi64(lo, before),
                    _mm512_srlv_epi64(hi, _mm512_sub_epi64(before, splat(64))),
                ),
                splat(0xFF),
            );
            let neg = _mm512_cmpeq_epi64_mask(first, splat(b'-' as i64));
            let signed = neg | _mm512_cmpeq_epi64_mask(first, splat(b'+' as i64));
            let sign = _mm512_maskz_mov_epi64(signed, one);
            // the first '.' of a word, and the bytes below it: `below`,
            // `(lowest >> 7) - 1`
            let below = |dots: __m512i| {
                let lowest = _mm512_and_si512(dots, _mm512_sub_epi64(zero, dots));
                _mm512_sub_epi64(_mm512_srli_epi64::<7>(lowest), one)
            };
            // the bytes below the point move up one, over it
            let squeeze = |w: __m512i, below: __m512i| {
                _mm512_or_si512(
                    _mm512_slli_epi64::<8>(_mm512_and_si512(w, below)),
                    _mm512_andnot_si512(
                        _mm512_or_si512(_mm512_slli_epi64::<8>(below), splat(0xFF)),
                        w,
                    ),
                )
            };
            let (in_lo, in_hi) = (dots(lo), dots(hi));
            let dot_lo = _mm512_test_epi64_mask(in_lo, in_lo);
            let dot_hi = !dot_lo & _mm512_test_epi64_mask(in_hi, in_hi);
            let point = dot_lo | dot_hi;
            let (below_lo, below_hi) = (below(in_lo), below(in_hi));
            // frame byte `at` is the point: 64 - lzcnt(below) is 8 times its
            // index in its word
            let at_lo =
                _mm512_srli_epi64::<3>(_mm512_sub_epi64(splat(64), _mm512_lzcnt_epi64(below_lo)));
            let at_hi =
                _mm512_srli_epi64::<3>(_mm512_sub_epi64(splat(128), _mm512_lzcnt_epi64(below_hi)));
            let at = _mm512_mask_blend_epi64(dot_lo, at_hi, at_lo);
            let frac = _mm512_maskz_sub_epi64(point, splat(15), at);
            let lo_squeezed =
                _mm512_mask_blend_epi64(dot_lo, _mm512_slli_epi64::<8>(lo), squeeze(lo, below_lo));
            let hi_squeezed = _mm512_or_si512(squeeze(hi, below_hi), _mm512_srli_epi64::<56>(lo));
            let lo = _mm512_mask_blend_epi64(point, lo, lo_squeezed);
            let hi = _mm512_mask_blend_epi64(dot_hi, hi, hi_squeezed);
            // digits: every byte but the sign and the point, at the frame's top
            let unsigned = _mm512_sub_epi64(n, sign);
            let k = _mm512_mask_sub_epi64(unsigned, point, unsigned, one);
            let shape =
                _mm512_test_epi64_mask(k, k) & !(point & _mm512_testn_epi64_mask(frac, frac));
            let top_bytes = |k: __m512i| {
                _mm512_sllv_epi64(ones, _mm512_sub_epi64(splat(64), _mm512_slli_epi64::<3>(k)))
            };
            let hi = _mm512_and_si512(
                _mm512_xor_si512(hi, splat(ZEROS)),
                top_bytes(_mm512_min_epu64(k, splat(8))),
            );
            let lo = _mm512_and_si512(
                _mm512_xor_si512(lo, splat(ZEROS)),
                top_bytes(_mm512_sub_epi64(_mm512_max_epu64(k, splat(8)), splat(8))),
            );
            let digits =
                _mm512_testn_epi64_mask(_mm512_or_si512(non_digits(hi), non_digits(lo)), ones);
            let w = _mm512_add_epi64(
                _mm512_mullo_epi64(parse8_values(lo), splat(100_000_000)),
                parse8_values(hi),
            );
            // short_to_f64(w, frac): one division, as in the scalar reader
            let [p10_lo, p10_hi] = tables.pow10_f64;
            let value = _mm512_div_pd(
                _mm512_cvtepi64_pd(w),
                _mm512_permutex2var_pd(p10_lo, frac, p10_hi),
            );
            let value = _mm512_castpd_si512(value);
            let bits = _mm512_mask_or_epi64(value, neg, value, splat(i64::MIN));
            (bits, lanes & shape & digits)
        }
    } else {
        (none, 0)
    };
    let bits = _mm512_mask_blend_epi64(short_read, long, short);
    let mut out = [0u64; 8];
    // SAFETY: 8 lanes of 8 bytes each.
    unsafe { _mm512_storeu_si512(out.as_mut_ptr() as *mut __m512i, bits) };
    (out, long_read | short_read)
}

/// The first '.' of each lane: the lowest zero byte of `w ^ "........"`
/// has bit 7 set (bits above it may be set too, by the borrow; the lowest
/// set bit is exact).
#[inline]
#[target_feature(enable = "avx512f")]
fn dots(w: __m512i) -> __m512i {
    let x = _mm512_xor_si512(w, splat(0x2E2E_2E2E_2E2E_2E2E));
    let borrow = _mm512_sub_epi64(x, splat(0x0101_0101_0101_0101));
    _mm512_and_si512(
        _mm512_andnot_si512(x, borrow),
        splat(0x8080_8080_8080_8080_u64 as i64),
    )
}

/// [`non_digits`](super::decimal::non_digits) in each lane: zero exactly
/// when every byte is at most 9.
#[inline]
#[target_feature(enable = "avx512f")]
fn non_digits(x: __m512i) -> __m512i {
    _mm512_and_si512(
        _mm512_or_si512(x, _mm512_add_epi64(x, splat(0x0606_0606_0606_0606))),
        splat(0xF0F0_F0F0_F0F0_F0F0_u64 as i64),
    )
}

/// Reads the first eight of `fields` that are unsigned integers of one to
/// eight digits (what [`parse_digits_8`](super::decimal::parse_digits_8) reads,
/// `parse_int`'s common case): the values and the mask of the lanes read.
/// A lane is only read when its field lies in `readable`, seven bytes past
/// its start: the lane loads the eight bytes that end where the field ends
/// and masks the bytes before the field to zeros.
///
/// # Safety
/// The processor must have AVX-512 F and DQ, and every byte of
/// `readable` must be readable.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub unsafe fn read_int8(fields: &[&[u8]], readable: std::ops::Range<usize>) -> ([u64; 8], u8) {
    let (starts, n) = addresses_and_lengths(fields);
    let ends = _mm512_add_epi64(starts, n);
    let sized = _mm512_test_epi64_mask(n, n) & _mm512_cmple_epu64_mask(n, splat(8));
    let inside = _mm512_cmpge_epu64_mask(starts, splat(readable.start.saturating_add(7) as i64))
        & _mm512_cmple_epu64_mask(ends, splat(readable.end as i64));
    let lanes = sized & inside;
    if lanes == 0 {
        return ([0; 8], 0);
    }
    // SAFETY: a lane read loads ends-8..ends, inside `readable` (checked
    // just above: its field starts at least seven bytes in and has 1 to 8
    // bytes); other lanes load zeros.
    let v = unsafe { words(fields, lanes, |field| before_end(field, 8)) };
    // the field is v's top n bytes; the bytes below become '0's
    let keep = _mm512_sllv_epi64(
        splat(-1),
        _mm512_slli_epi64::<3>(_mm512_sub_epi64(splat(8), n)),
    );
    let c = _mm512_or_si512(
        _mm512_and_si512(v, keep),
        _mm512_andnot_si512(keep, splat(ZEROS)),
    );
    let read = lanes & all_digits(c);
    let mut out = [0u64; 8];
    // SAFETY: 8 lanes of 8 bytes each.
    unsafe { _mm512_storeu_si512(out.as_mut_ptr() as *mut __m512i, parse8(c)) };
    (out, read)
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use super::{read8, read_int8, Tables};
    use crate::number::lanes_testing::{
        float_lanes_agree, integer_lanes_agree, lanes_stay_inside, Lanes,
    };

    /// Whether this processor has the lanes' instructions (whatever
    /// `RAYPROC_SIMD` says: these tests compare the paths it has).
    fn lanes() -> bool {
        crate::cpu::detected().avx512_lanes()
    }

    /// [`read8`] of the shapes `LONG` and `SHORT`, as the shared checks
    /// call a float reader (`readable`: a readable buffer's range).
    fn floats<const LONG: bool, const SHORT: bool>(raw: &[&[u8]], readable: Range<usize>) -> Lanes {
        assert!(lanes());
        // SAFETY: the processor has AVX-512 F, DQ and CD (asserted above);
        // `readable` is a readable buffer's range (the checks' contract).
        let (bits, mask) = unsafe { read8::<LONG, SHORT>(raw, &Tables::new(), readable) };
        (bits.to_vec(), mask as u32)
    }

    /// [`read_int8`], as the shared checks call an integer reader.
    fn ints(fields: &[&[u8]], readable: Range<usize>) -> Lanes {
        assert!(lanes());
        // SAFETY: as in `floats`.
        let (values, mask) = unsafe { read_int8(fields, readable) };
        (values.to_vec(), mask as u32)
    }

    #[test]
    fn lanes_read_what_the_scalar_reader_reads() {
        if !lanes() {
            return; // no AVX-512 here
        }
        float_lanes_agree(8, &floats::<true, true>);
    }

    #[test]
    fn integer_lanes_read_what_the_scalar_reader_reads() {
        if !lanes() {
            return; // no AVX-512 here
        }
        integer_lanes_agree(8, &ints);
    }

    #[test]
    fn lanes_load_nothing_outside_the_input() {
        if !lanes() {
            return; // no AVX-512 here
        }
        lanes_stay_inside(8, &floats::<true, true>, &ints);
        lanes_stay_inside(8, &floats::<true, false>, &ints);
        lanes_stay_inside(8, &floats::<false, true>, &ints);
    }
}
