//! CPU hints for the hot loops.

/// Asks the CPU to bring `value` into cache ahead of use: with a million
/// groups, hash-table slots and group states are cache misses, and fetching
/// them a few rows ahead overlaps those misses.
///
/// On x86-64 `prefetcht0`, on aarch64 `prfm pldl1keep` (what the unstable
/// `core::arch::aarch64::_prefetch` compiles to; `asm!` is stable there).
/// Both are hints that never fault and change no memory or flags. Other
/// architectures get no hint: the loops are correct without it, only
/// slower on tables larger than the caches. Why aarch64 has one: every
/// arm64 machine (Graviton, Apple silicon) runs the portable path, and
/// without it the million-group and `distinct` loops there overlapped only
/// the misses the core's out-of-order window holds, where the x86-64
/// `none` path, which stands in for arm64 in the benchmarks, prefetched.
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
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `prfm` is a hint: it reads no memory the program can observe,
    // writes none, never faults (not even on an unmapped address; here the
    // address is a valid reference anyway), and leaves the flags and the
    // stack alone, as the options say.
    unsafe {
        std::arch::asm!(
            "prfm pldl1keep, [{ptr}]",
            ptr = in(reg) value as *const T,
            options(nostack, preserves_flags, readonly)
        )
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    /// A prefetch changes nothing the program can see, whatever it is
    /// given: a value on the stack, a slice's last element, a zero-sized
    /// value (a dangling but aligned address), an element past a large
    /// vector's first page. Run on every architecture that has a hint (the
    /// aarch64 build under `qemu-aarch64`, `docs/performance.md`).
    #[test]
    fn prefetching_changes_nothing() {
        let x = 7u64;
        super::prefetch(&x);
        assert_eq!(x, 7);
        let v: Vec<u32> = (0..100_000).collect();
        for i in (0..v.len()).step_by(997) {
            super::prefetch(&v[i]);
        }
        super::prefetch(v.last().unwrap());
        super::prefetch(&());
        assert!(v.iter().enumerate().all(|(i, &e)| e == i as u32));
    }
}
