//! The binary's memory allocator: the system allocator, asking Linux to back
//! large blocks with transparent huge pages.
//!
//! A group-by over a million keys or a quantile over ten million values
//! keeps tables of tens of megabytes that are touched at random. With 4 KiB
//! pages every first touch is a page fault and nearly every access a TLB
//! miss; 2 MiB pages cut both by a factor of 512. Many kernels only grant
//! huge pages to memory that asks for them (`madvise` mode), hence the hint.
//! Small blocks are left alone: they would not fill a huge page.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large get the hint.
const HUGE_MIN: usize = 4 << 20;
/// The size of a transparent huge page on x86-64 and most arm64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// [`System`], plus `MADV_HUGEPAGE` on large blocks (Linux only).
pub struct HugePageAlloc;

impl HugePageAlloc {
    /// Marks the whole huge pages inside `[ptr, ptr + size)`.
    #[inline]
    fn advise(ptr: *mut u8, size: usize) {
        #[cfg(target_os = "linux")]
        if size >= HUGE_MIN && !ptr.is_null() {
            let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
            let end = (ptr as usize + size) & !(HUGE_PAGE - 1);
            if end > start {
                // SAFETY: the range lies inside a block we own; the advice
                // changes no contents, and failure is harmless (ignored).
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (ptr, size);
    }
}

// SAFETY: every call is forwarded to `System`; `advise` only adds a hint.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        Self::advise(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        Self::advise(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        Self::advise(new, new_size);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_keep_their_contents_through_realloc() {
        let a = HugePageAlloc;
        let layout = Layout::from_size_align(HUGE_MIN + 12_345, 64).unwrap();
        // SAFETY: the layout is non-zero; every pointer is checked and freed
        // with the layout it was (re)allocated with.
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert!((0..layout.size()).step_by(4096).all(|i| *p.add(i) == 0));
            for i in (0..layout.size()).step_by(4096) {
                *p.add(i) = (i / 4096) as u8;
            }
            let bigger = 3 * HUGE_MIN;
            let q = a.realloc(p, layout, bigger);
            assert!(!q.is_null());
            assert!((0..layout.size())
                .step_by(4096)
                .all(|i| *q.add(i) == (i / 4096) as u8));
            a.dealloc(q, Layout::from_size_align(bigger, 64).unwrap());
            let small = Layout::from_size_align(100, 8).unwrap();
            let s = a.alloc(small);
            assert!(!s.is_null());
            a.dealloc(s, small);
        }
    }
}
