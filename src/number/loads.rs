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
//! are from), the loads took 6 to 12% less time on float columns
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
