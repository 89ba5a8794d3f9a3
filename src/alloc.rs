//! Transparent huge pages for the few large tables that are touched at
//! random.
//!
//! A group-by over a million keys keeps hash tables of tens of megabytes
//! whose slots are hit at random. With 4 KiB pages every first touch is a
//! page fault and nearly every access a TLB miss; 2 MiB pages cut both by a
//! factor of 512. Many kernels only grant huge pages to memory that asks for
//! them (`madvise` mode), hence the hint, given only where it was measured
//! to pay: key-table slots and aggregate state vectors. Not on every
//! large allocation: growing vectors are moved by `mremap`, which splits
//! huge pages, and a quantile's value vector ran 10-40% slower with them.
//! Nor on memory that is fresh each time or written in order (the radix
//! group-by's row slabs, `distinct`'s `u64` sets): where a VM reports freed
//! memory to its host (virtio-balloon free page reporting, on free blocks
//! of 2 MiB and up), a fresh huge page is one the host faults in again, at
//! up to six times a small page's cost per byte (`docs/performance.md`,
//! stop 39).

/// Blocks at least this large get the hint.
pub(crate) const HUGE_MIN: usize = 4 << 20;
/// The size of a transparent huge page on x86-64 and most arm64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// Asks for huge pages on the whole huge pages inside `[ptr, ptr + len)`,
/// when the block is at least `HUGE_MIN` (4 MiB) long. Call it before the memory
/// is first touched. A hint: failure changes nothing.
pub fn advise_huge_pages(ptr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    if len >= HUGE_MIN && !ptr.is_null() {
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize + len) & !(HUGE_PAGE - 1);
        if end > start {
            // SAFETY: the range lies inside a block the caller owns; the
            // advice changes no contents, and failure is harmless (ignored).
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advised_blocks_keep_their_contents() {
        let mut v: Vec<u64> = Vec::with_capacity(HUGE_MIN);
        advise_huge_pages(v.as_ptr() as *const u8, HUGE_MIN * 8);
        v.extend(0..HUGE_MIN as u64);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
        advise_huge_pages(std::ptr::null(), HUGE_MIN);
        advise_huge_pages(v.as_ptr() as *const u8, 100);
    }
}
