//! Where the vector lanes load a field's bytes from.
//!
//! [`x8`](super::x8) and [`x4`](super::x4) read each lane's bytes with
//! plain loads (16 bytes or 8 a lane, put in place by a few shuffles), not
//! with gathers. On the processors most AVX2 and AVX-512 machines have, a
//! gather costs far more than the loads it stands for: AMD Zen 2 and 3
//! run it as microcode (about 40 micro-ops for eight elements, against one
//! a load), and on Intel's Skylake to Ice Lake and Tiger Lake the
//! microcode that mitigates Gather Data Sampling, on by default, slows it
//! further. Even where gathers are fast (the Xeon, model 207, these figures
//! are from), the loads took 2 to 14% less time on float columns
//! (`docs/performance.md`, "The lanes without gathers").
//!
//! A load has no mask, so a lane that must not read its field (another
//! shape, or bytes outside the input) loads [`BLANK`] instead: the address
//! is chosen, not the load, so that no branch depends on which lanes are
//! read, and when every lane is read (the common batch) not even the choice
//! is made.

/// Zero bytes: what a lane that is not read loads.
static BLANK: [u8; 16] = [0; 16];

/// The address lane `k` of `f` loads from: `at(f[k])` if bit `k` of `lanes`
/// is set, else [`BLANK`] (16 readable bytes).
#[inline(always)]
pub(super) fn lane_address<const N: usize>(
    f: &[&[u8]; N],
    lanes: u8,
    k: usize,
    at: impl Fn(&[u8]) -> *const u8,
) -> *const u8 {
    const { assert!(N <= 8) };
    let every = (1u16 << N) - 1;
    if lanes as u16 == every || lanes & 1 << k != 0 {
        at(f[k])
    } else {
        BLANK.as_ptr()
    }
}

/// The address `back` bytes before the end of `field` (wrapping: it may
/// lie before the field, in the input around it; whether those bytes may
/// be read is the caller's to check).
#[inline(always)]
pub(super) fn before_end(field: &[u8], back: usize) -> *const u8 {
    field.as_ptr().wrapping_add(field.len()).wrapping_sub(back)
}

/// The eight bytes at `low` and the eight at `high`, as the low and high
/// halves of one vector: `vmovq` and `vmovhps`, straight into a vector
/// register (through general registers and inserts the same words took
/// more time; `docs/performance.md`, Tried and reverted).
///
/// # Safety
/// The eight bytes at each address must be readable.
#[inline(always)]
pub(super) unsafe fn pair(low: *const u8, high: *const u8) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promise; SSE2 is part of x86-64.
    unsafe {
        let low = _mm_castsi128_pd(_mm_loadl_epi64(low as *const __m128i));
        _mm_castpd_si128(_mm_loadh_pd(low, high as *const f64))
    }
}
