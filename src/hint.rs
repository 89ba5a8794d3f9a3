//! CPU hints for the hot loops.

/// Asks the CPU to bring `value` into cache ahead of use: with a million
/// groups, hash-table slots and group states are cache misses, and fetching
/// them a few rows ahead overlaps those misses. A no-op off x86-64.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is only a hint; the address is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(
            value as *const T as *const i8,
            std::arch::x86_64::_MM_HINT_T0,
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
