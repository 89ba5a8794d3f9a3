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
//!
//! On such a VM the hint is not given at all (`huge_pages_pay`): the
//! tables it was for are fresh memory in every run too. `distinct` over a
//! million keys, whose two 64 MiB key tables are all its fresh memory, ran
//! 0.34-0.35 s with huge pages back to back but 0.50 s when the host had
//! taken the free memory back (a run 2.5 s after another process freed 1.5
//! GiB), and 0.355 s either way on small pages (stop 53).

/// The process's allocator (`main.rs`): the system's, except that memory
/// it refuses ends the run through [`crate::signals::out_of_memory`] (a
/// message, the temporary files removed, exit 1) instead of Rust's abort.
/// A caller that handles a refusal itself asks through [`fallibly`].
pub struct Allocator;

std::thread_local! {
    /// Set while this thread asks for memory it can do without.
    static FALLIBLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `ask` (a `try_reserve` and the like) with a refused allocation
/// returned to it as an error, as the standard library means, rather than
/// ending the run.
pub fn fallibly<T>(ask: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FALLIBLE.with(|f| f.set(self.0));
        }
    }
    let _restore = Restore(FALLIBLE.with(|f| f.replace(true)));
    ask()
}

/// `ptr` as the allocator returns it: a null one (refused) ends the run,
/// unless inside [`fallibly`].
#[inline]
fn granted(ptr: *mut u8, layout: std::alloc::Layout) -> *mut u8 {
    if ptr.is_null() && !FALLIBLE.try_with(|f| f.get()).unwrap_or(false) {
        crate::signals::out_of_memory(layout)
    }
    ptr
}

// SAFETY: every call is passed to `System` unchanged, which upholds the
// `GlobalAlloc` contract; only a null result is looked at, and it is
// either returned (as `System` gave it) or never returns (the process
// exits). The thread-local read is a const-initialised `Cell` with no
// destructor: it neither allocates nor fails while the thread lives.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        granted(unsafe { std::alloc::System.alloc(layout) }, layout)
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        granted(unsafe { std::alloc::System.alloc_zeroed(layout) }, layout)
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on; the layout of the new
        // size is valid, as `realloc`'s contract requires of `new_size`.
        unsafe {
            let new = std::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
            granted(std::alloc::System.realloc(ptr, layout, new_size), new)
        }
    }
}

/// From this many threads a run pads glibc's heaps ([`pad_heaps_for`]).
const MANY_THREADS: usize = 8;

/// Has glibc grow each heap by 64 MiB at a time rather than by what the
/// allocation needs, for a run of `threads` threads, from
/// [`MANY_THREADS`] up.
///
/// Why: every thread allocates from a heap (arena) of its own, which
/// glibc grows by `mprotect`-ing the next pages of its reserved range
/// readable and writable, a few pages at a time. Each call takes the
/// process's memory-map lock for writing, which the page faults of every
/// other thread then wait on. With 16 workers building a million groups'
/// tables, that was most of the merge's first step: on a 16-core VM
/// (Xeon, model 207) the 16 workers' tables split by partition in 43 ms
/// with the default and 10 ms with the pad, and CSV Q6 took 0.228 s
/// against 0.266 (11 interleaved runs; system time 0.50 against 0.74 s,
/// peak RSS 493 against 473 MiB; `docs/scaling.md`). Not on fewer
/// threads: setting the pad also fixes glibc's mmap threshold, which on
/// 2 threads cost a quantile query 66 MiB of peak memory and gained no
/// time (`docs/performance.md`, "Tried and reverted").
pub fn pad_heaps_for(threads: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if threads >= MANY_THREADS {
        // SAFETY: `mallopt` only sets a malloc parameter; glibc takes its
        // own lock. A failure (0) leaves the default, which is correct.
        unsafe { libc::mallopt(libc::M_TOP_PAD, 64 << 20) };
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = threads;
}

/// Blocks at least this large get the hint.
// the policy below is Linux's (`madvise`); elsewhere only the tests ask it
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const HUGE_MIN: usize = 4 << 20;
/// The size of a transparent huge page on x86-64 and most arm64 kernels.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Asks for huge pages on the whole huge pages inside `[ptr, ptr + len)`,
/// when the block is at least `HUGE_MIN` (4 MiB) long and huge pages pay
/// here (`huge_pages_pay`). Call it before the memory is first touched.
/// A hint: failure changes nothing.
pub fn advise_huge_pages(ptr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    if !ptr.is_null() && huge_pages_for(len) {
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

/// Whether a block of `len` bytes gets the huge-page hint: at least
/// [`HUGE_MIN`] long, on a machine where huge pages pay. The one place the
/// policy is decided, for [`advise_huge_pages`] and the key tables' own
/// mappings (`keyset::advise_mapping`).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn huge_pages_for(len: usize) -> bool {
    len >= HUGE_MIN && huge_pages_pay()
}

/// Whether fresh huge pages are worth asking for on this machine: not where
/// the host takes the guest's free memory back (see the module doc), which
/// Linux shows as a virtio balloon device offering free page reporting.
/// Looked up once per process.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn huge_pages_pay() -> bool {
    static PAY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PAY.get_or_init(|| !free_pages_reported())
}

/// Whether a virtio device of this machine reports free pages to its host.
#[cfg(target_os = "linux")]
fn free_pages_reported() -> bool {
    let Ok(devices) = std::fs::read_dir("/sys/bus/virtio/devices") else {
        return false;
    };
    devices.flatten().any(|device| {
        let read = |name: &str| std::fs::read_to_string(device.path().join(name));
        match (read("device"), read("features")) {
            (Ok(id), Ok(features)) => reports_free_pages(&id, &features),
            _ => false,
        }
    })
}

#[cfg(not(target_os = "linux"))]
#[allow(dead_code)]
fn free_pages_reported() -> bool {
    false
}

/// Whether a virtio device whose sysfs `device` and `features` files read
/// `id` and `features` is a memory balloon with free page reporting: device
/// id 5 (`VIRTIO_ID_BALLOON`), feature bit 5 (`VIRTIO_BALLOON_F_REPORTING`)
/// set. The kernel writes the features as one `0` or `1` per bit, bit 0
/// first.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn reports_free_pages(id: &str, features: &str) -> bool {
    const BALLOON: u32 = 5;
    const REPORTING: usize = 5;
    let id = id.trim();
    let id = id.strip_prefix("0x").unwrap_or(id);
    u32::from_str_radix(id, 16) == Ok(BALLOON) && features.as_bytes().get(REPORTING) == Some(&b'1')
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

    #[test]
    fn only_a_balloon_offering_free_page_reporting_reports_free_pages() {
        // as this project's Firecracker VMs show them: bits 1, 2, 5 and 7
        let reporting = "0110010100000000000000000000000010000000\n";
        assert!(reports_free_pages("0x0005\n", reporting));
        // the same balloon without bit 5
        assert!(!reports_free_pages("0x0005\n", "0110000100000000\n"));
        // another device with bit 5 set (a block device)
        assert!(!reports_free_pages("0x0002\n", reporting));
        // short or unreadable files
        assert!(!reports_free_pages("0x0005", "0110"));
        assert!(!reports_free_pages("", ""));
        assert!(!reports_free_pages("balloon", reporting));
    }

    #[test]
    fn the_machine_is_looked_up_once_without_failing() {
        assert_eq!(huge_pages_pay(), huge_pages_pay());
        assert_eq!(huge_pages_pay(), !free_pages_reported());
    }
}
