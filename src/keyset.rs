//! Interned byte strings: group keys and distinct text values.
//!
//! All keys live in one arena, numbered in order of first insertion. The
//! index is an open-addressing table whose 32-byte slots hold the key's hash
//! tag, id and length, and the key itself when it is short (up to 16 bytes),
//! so looking up a short key touches one cache line. With a million groups
//! the table is far larger than the CPU caches and every lookup is a cache
//! miss; [`KeySet::intern_batch`] therefore hashes a whole batch first and
//! prefetches each slot a few rows ahead, so that the misses overlap.
//! A large table doubles in place ([`Slots`]): growing a million-key set
//! by allocating each larger table anew was most of the fresh memory, and
//! of the kernel's page zeroing, that such a set cost; its fresh pages are
//! mapped writable before a probe reads them ([`populate`]).

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

/// Partitions of sets split by hash (the radix group-by, big `distinct`
/// sets): the top 8 bits of a key's hash.
pub const PARTS: usize = 256;
const PART_SHIFT: u32 = u64::BITS - PARTS.trailing_zeros();

/// The partition of a key with this [`shared_hasher`] hash.
#[inline]
pub fn part_of(hash: u64) -> usize {
    (hash >> PART_SHIFT) as usize
}

/// The hasher of every set split by hash, shared so that a key's partition
/// and its slot in the partition's set come from one hash. Seeded once per
/// process (hash flooding resistance).
pub fn shared_hasher() -> KeyHasher {
    static HASHER: std::sync::OnceLock<KeyHasher> = std::sync::OnceLock::new();
    *HASHER.get_or_init(KeyHasher::random)
}

/// A random value fixed for the process, one per `purpose`, drawn from
/// the [`shared_hasher`]'s seeds (so from the OS, once). For the small
/// tables beside the key tables that place entries by a cheaper hash of
/// their own (the short-key cache, `approx_distinct`'s exact set): with
/// the placement seeded, inputs cannot be crafted to pile into one probe
/// run (hash flooding). Nothing observable may depend on such a placement.
///
/// In tests, `test_seeds::with_salt` changes it on the calling thread.
pub fn process_seed(purpose: &str) -> u64 {
    let seed = shared_hasher().hash(purpose.as_bytes());
    #[cfg(test)]
    let seed = seed ^ test_seeds::salt().wrapping_mul(0x9e37_79b9_7f4a_7c15);
    seed
}

/// Test-only: other [`process_seed`]s on one thread, to check that nothing
/// observable depends on them.
#[cfg(test)]
pub mod test_seeds {
    use std::cell::Cell;

    std::thread_local! {
        static SALT: Cell<u64> = const { Cell::new(0) };
    }

    /// The calling thread's salt (0: the process's own seeds).
    pub fn salt() -> u64 {
        SALT.with(Cell::get)
    }

    /// Runs `f` with [`process_seed`](super::process_seed) salted by
    /// `salt` on this thread (build and use every table inside `f`: a
    /// table placed under one seed cannot be probed under another).
    pub fn with_salt<R>(salt: u64, f: impl FnOnce() -> R) -> R {
        let before = SALT.with(|s| s.replace(salt));
        let out = f();
        SALT.with(|s| s.set(before));
        out
    }
}

/// The hash of a key: its bytes read as 16-byte words, each folded into
/// the hash by one multiply.
///
/// Why not `Hash` through a `BuildHasher`: `[u8]`'s `Hash` feeds the
/// length and then the bytes, two rounds of the hasher, behind a call the
/// compiler did not inline; a group-by of a million keys hashes every row
/// twice (its partition when the row is buffered, its slot when the
/// buffer is folded), and that was 5% of its time. Group keys are mostly
/// short: a key of up to 16 bytes is the two words [`head`] reads (which
/// interning reads anyway) and two multiplies.
///
/// The multiply is foldhash's *folded multiply* (the two halves of the
/// 128-bit product, xored): every bit of the result depends on every bit
/// of both factors, so the high bits (a key's partition, its slot's tag)
/// and the low bits (its slot) are both well mixed. The seeds are random
/// per process, so keys cannot be crafted to collide.
#[derive(Clone, Copy, Debug)]
pub struct KeyHasher {
    seeds: [u64; 3],
}

impl KeyHasher {
    /// A hasher with seeds drawn from the process's random hash state
    /// (hashbrown's, itself seeded from the OS: no dependency of its own).
    pub fn random() -> KeyHasher {
        let state = DefaultHashBuilder::default();
        let seed = |i: u64| state.hash_one(i) | 1;
        KeyHasher {
            seeds: [seed(1), seed(2), seed(3)],
        }
    }

    /// The hash of `key`.
    #[inline(always)]
    pub fn hash(&self, key: &[u8]) -> u64 {
        let [s0, s1, s2] = self.seeds;
        let n = key.len();
        let acc = if n <= INLINE {
            // zero-padded, so the length below tells "a" from "a\0"
            let h = head(key);
            folded_multiply(h as u64 ^ s0, (h >> 64) as u64 ^ s1)
        } else {
            let word = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().expect("8 bytes"));
            let mut acc = s2;
            let mut at = 0;
            while at + INLINE < n {
                acc = folded_multiply(word(at) ^ s0 ^ acc, word(at + 8) ^ s1);
                at += INLINE;
            }
            // the last 16 bytes, overlapping the chunk before when short
            folded_multiply(word(n - 16) ^ s0 ^ acc, word(n - 8) ^ s1)
        };
        folded_multiply(acc ^ s2, (n as u64) ^ 0x9e37_79b9_7f4a_7c15)
    }
}

/// The high and low halves of `a * b`, xored.
#[inline(always)]
pub(crate) fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = (a as u128) * (b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Keys up to this long are stored in their slot.
const INLINE: usize = 16;
/// Rows ahead to prefetch in [`KeySet::intern_batch`].
const PREFETCH: usize = 16;

#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
struct Slot {
    /// High bits of the hash, never 0 for a used slot; 0 marks a free slot.
    tag: u32,
    id: u32,
    len: u32,
    /// The low bits of the hash: where the key goes when the table grows,
    /// without rehashing the key.
    hash_low: u32,
    /// The key (short keys) or its first bytes (long keys), zero-padded,
    /// little-endian ([`head`]).
    bytes: u128,
}

/// A set of byte strings, each numbered in order of first insertion.
#[derive(Clone)]
pub struct KeySet {
    slots: Slots,
    mask: usize,
    /// `ends[id]` is the end of key `id` in `arena`; it starts at `ends[id-1]`.
    ends: Vec<usize>,
    arena: Vec<u8>,
    hasher: KeyHasher,
}

impl Default for KeySet {
    fn default() -> Self {
        KeySet {
            slots: Slots::new(16),
            mask: 15,
            ends: Vec::new(),
            arena: Vec::new(),
            // seeded per table (hash flooding resistance); nothing depends
            // on the order of a table, and `absorb` rehashes every key
            hasher: KeyHasher::random(),
        }
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("len", &self.len()).finish()
    }
}

/// Tables of at least this many bytes live in an anonymous mapping
/// ([`Slots`]). Smaller ones stay on the heap, which recycles the blocks
/// they free: from 64 KiB up, the radix group-by's 256 partition tables
/// (256-512 KiB each) took 15% more page faults in mappings of their own.
// used off Linux by the tests only (no mappings there)
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const MAP_MIN: usize = 1 << 20;

/// A table's slots: a heap vector while small, then an anonymous mapping
/// that doubles in place.
///
/// Why a mapping: a table that doubles by allocating a new block, filling
/// it and freeing the old one touches fresh memory for every size it passes
/// through, twice its final size in all, and on this VM fresh memory is
/// what a million keys cost most (the kernel zeroing pages was a quarter of
/// `distinct` over a million keys). `mremap` keeps the old pages where
/// they are, without copying them, and adds zeroed pages after them (zero
/// is a free slot), so doubling touches only the new half, and
/// [`KeySet::grow`] then moves the keys within the table.
enum Slots {
    Heap(Vec<Slot>),
    /// `len` slots at `ptr`, from `mmap` (len * 32 bytes, whole pages).
    #[cfg(target_os = "linux")]
    Mapped {
        ptr: std::ptr::NonNull<Slot>,
        len: usize,
    },
}

// SAFETY: a `Mapped` owns its mapping exclusively, like a `Vec` owns its
// buffer; `Slot` is plain data.
unsafe impl Send for Slots {}
// SAFETY: as above; shared references only read.
unsafe impl Sync for Slots {}

impl Slots {
    /// `n` free slots (`n` a power of two).
    fn new(n: usize) -> Slots {
        Slots::Heap(vec![Slot::default(); n])
    }

    /// `n` free slots (`n` a power of two), mapped from the start where a
    /// table that size would have been by doubling.
    fn with_len(n: usize) -> Slots {
        #[cfg(target_os = "linux")]
        if n * std::mem::size_of::<Slot>() >= MAP_MIN {
            return Slots::mapped(n);
        }
        Slots::new(n)
    }

    /// `n` free slots in a fresh anonymous mapping (zeroed: free).
    #[cfg(target_os = "linux")]
    fn mapped(n: usize) -> Slots {
        let bytes = n * std::mem::size_of::<Slot>();
        let layout = std::alloc::Layout::array::<Slot>(n).expect("table size");
        let ptr = map_anon(bytes).unwrap_or_else(|| crate::signals::out_of_memory(layout));
        advise_mapping(ptr, bytes);
        // SAFETY: the whole of the fresh mapping just made, still zeroed.
        unsafe { populate(ptr, bytes) };
        let ptr = std::ptr::NonNull::new(ptr as *mut Slot).expect("mmap is never null");
        Slots::Mapped { ptr, len: n }
    }

    fn len(&self) -> usize {
        match self {
            Slots::Heap(v) => v.len(),
            #[cfg(target_os = "linux")]
            Slots::Mapped { len, .. } => *len,
        }
    }

    /// Doubles the table: the slots stay where they are, the new half is
    /// free.
    fn double(&mut self) {
        let len = self.len();
        let new_len = len * 2;
        // only the mappings (Linux) need these
        #[cfg(target_os = "linux")]
        let bytes = new_len * std::mem::size_of::<Slot>();
        #[cfg(target_os = "linux")]
        let layout = || std::alloc::Layout::array::<Slot>(new_len).expect("table size");
        match self {
            #[cfg(target_os = "linux")]
            Slots::Heap(v) if bytes >= MAP_MIN => {
                let mapped = Slots::mapped(new_len);
                let Slots::Mapped { ptr, .. } = &mapped else {
                    unreachable!("a mapping was made")
                };
                // SAFETY: the mapping holds `new_len >= len` slots (page
                // aligned, so aligned for `Slot`) and does not overlap `v`.
                unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), ptr.as_ptr(), len) };
                *self = mapped;
            }
            Slots::Heap(v) => v.resize(new_len, Slot::default()),
            #[cfg(target_os = "linux")]
            Slots::Mapped { ptr, len } => {
                let old_bytes = *len * std::mem::size_of::<Slot>();
                let old = ptr.as_ptr() as *mut libc::c_void;
                // SAFETY: `old` is our mapping of `old_bytes`; `mremap`
                // keeps its contents and maps zeroed pages after them, at
                // whatever address it returns (checked below), or fails
                // and leaves it as it was.
                let remapped = unsafe { libc::mremap(old, old_bytes, bytes, libc::MREMAP_MAYMOVE) };
                let new = if remapped == libc::MAP_FAILED {
                    // SAFETY: `old` is our mapping of `old_bytes`, given up
                    // here (nothing else refers to it).
                    unsafe { remap_by_copy(old, old_bytes, bytes) }
                        .unwrap_or_else(|| crate::signals::out_of_memory(layout()))
                } else {
                    remapped
                };
                advise_mapping(new, bytes);
                // SAFETY: past `old_bytes`, the mapping of `bytes` at `new`
                // holds the fresh zeroed pages just added (by `mremap` or
                // by `remap_by_copy`).
                unsafe { populate((new as *mut u8).add(old_bytes).cast(), bytes - old_bytes) };
                *ptr = std::ptr::NonNull::new(new as *mut Slot).expect("mremap is never null");
                *len = new_len;
            }
        }
    }
}

/// A fresh private anonymous mapping of `bytes` (zeroed, page-aligned),
/// readable and writable; `None` if no memory is left.
#[cfg(target_os = "linux")]
fn map_anon(bytes: usize) -> Option<*mut libc::c_void> {
    // SAFETY: asks for new memory only; no existing mapping is touched,
    // and failure is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (ptr != libc::MAP_FAILED).then_some(ptr)
}

/// Asks for huge pages on the whole of a table's mapping, `bytes` long at
/// `ptr`, where [`crate::alloc::huge_pages_for`] says a block that large
/// gets them. The whole mapping, not only the huge pages inside it: advice
/// on part of a mapping splits it in several, and `mremap` refuses to move
/// a range that spans more than one (a `distinct` per group of a hundred
/// sets of 100,000 keys aborted there, "memory allocation of 8388608 bytes
/// failed").
#[cfg(target_os = "linux")]
fn advise_mapping(ptr: *mut libc::c_void, bytes: usize) {
    if crate::alloc::huge_pages_for(bytes) {
        // SAFETY: the caller's own mapping of `bytes`; the advice changes
        // no contents, and failure is harmless (ignored).
        unsafe {
            libc::madvise(ptr, bytes, libc::MADV_HUGEPAGE);
        }
    }
}

/// The page size `populate` works in: x86-64's and most arm64 kernels'.
/// With larger pages it stays correct: `madvise` may refuse a start that
/// is not on one, and the fallback then writes to some pages more than once.
#[cfg(target_os = "linux")]
const PAGE: usize = 4096;

/// Maps in, writable, the fresh pages of a table's mapping, `bytes` at
/// `ptr`, before any slot in them is read.
///
/// Why: a probe reads a slot before it writes one, and the first read of a
/// fresh anonymous page maps the kernel's shared zero page; the write that
/// follows then replaces it, which takes a second fault and a TLB flush on
/// every core the process runs on (an interrupt to the other workers: on
/// the reference million-group run, 1.5% of all samples were that flush,
/// under [`KeySet::grow`]). `MADV_POPULATE_WRITE` (Linux 5.14) maps the
/// pages writable in one call instead; on an older kernel each page is
/// touched by a write of the zero it already holds.
///
/// # Safety
/// `[ptr, ptr + bytes)` must be fresh (zeroed) memory of a writable
/// mapping owned by the caller; `ptr` need not be page-aligned.
#[cfg(target_os = "linux")]
unsafe fn populate(ptr: *mut libc::c_void, bytes: usize) {
    // `madvise` takes a page-aligned start: the page `ptr` lies in belongs
    // to the same mapping, and populating a page already mapped changes
    // nothing.
    let start = ptr as usize & !(PAGE - 1);
    // SAFETY: the caller's own writable mapping; populating changes no
    // contents, and on failure nothing was done but maybe part of the
    // work.
    let done = unsafe {
        libc::madvise(
            start as *mut libc::c_void,
            bytes + (ptr as usize - start),
            libc::MADV_POPULATE_WRITE,
        )
    } == 0;
    if !done {
        // SAFETY: the caller's promise, passed on.
        unsafe { touch_pages(ptr, bytes) };
    }
}

/// [`populate`] on a kernel without `MADV_POPULATE_WRITE`: a write of
/// zero to a byte of each page of `[ptr, ptr + bytes)`.
///
/// # Safety
/// As for [`populate`]: fresh (zeroed) writable memory owned by the caller.
#[cfg(target_os = "linux")]
unsafe fn touch_pages(ptr: *mut libc::c_void, bytes: usize) {
    let base = ptr as *mut u8;
    let mut at = 0;
    while at < bytes {
        // SAFETY: `at < bytes`, inside the caller's writable range, which
        // holds zeros: writing a zero changes nothing but maps the page.
        // Volatile, so that it is not elided as a no-op.
        unsafe { base.add(at).write_volatile(0) };
        at = ((ptr as usize + at) | (PAGE - 1)) + 1 - ptr as usize;
    }
}

/// What `mremap` does, by copying: a new mapping of `bytes`, zeroed past
/// the `old_bytes` copied from `old`, which is unmapped. For the mapping
/// `mremap` refuses (split by someone's advice, or the kernel's limits);
/// `None` if no memory is left.
///
/// # Safety
/// `old` must be a mapping of `old_bytes` (at most `bytes`) owned by the
/// caller, who gives it up: it is unmapped on success.
#[cfg(target_os = "linux")]
unsafe fn remap_by_copy(
    old: *mut libc::c_void,
    old_bytes: usize,
    bytes: usize,
) -> Option<*mut libc::c_void> {
    debug_assert!(old_bytes <= bytes);
    let new = map_anon(bytes)?;
    // SAFETY: `old` holds `old_bytes` readable bytes (the caller's
    // mapping), `new` `bytes >= old_bytes` writable ones, and two live
    // mappings do not overlap; `old` is then unmapped once, as the caller
    // gave it up.
    unsafe {
        std::ptr::copy_nonoverlapping(old as *const u8, new as *mut u8, old_bytes);
        libc::munmap(old, old_bytes);
    }
    Some(new)
}

impl std::ops::Deref for Slots {
    type Target = [Slot];
    fn deref(&self) -> &[Slot] {
        match self {
            Slots::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Slots::Mapped { ptr, len } => {
                // SAFETY: `len` initialised slots (zeroed pages are free
                // slots: `Slot` is plain integers), owned by `self`.
                unsafe { std::slice::from_raw_parts(ptr.as_ptr(), *len) }
            }
        }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [Slot] {
        match self {
            Slots::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Slots::Mapped { ptr, len } => {
                // SAFETY: as in `deref`, and `&mut self` is exclusive.
                unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), *len) }
            }
        }
    }
}

impl Clone for Slots {
    fn clone(&self) -> Slots {
        match self {
            Slots::Heap(v) => Slots::Heap(v.clone()),
            #[cfg(target_os = "linux")]
            Slots::Mapped { .. } => Slots::Heap(self.to_vec()),
        }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Slots::Mapped { ptr, len } = self {
            // SAFETY: our mapping of `len` slots, unmapped once; nothing
            // borrows it past `drop`.
            unsafe {
                libc::munmap(
                    ptr.as_ptr() as *mut libc::c_void,
                    *len * std::mem::size_of::<Slot>(),
                );
            }
        }
    }
}

/// The first [`INLINE`] bytes of `key`, zero-padded, as a little-endian
/// integer: byte `i` of the key is bits `8 * i..8 * i + 8`.
///
/// Built from a few (overlapping) whole-word loads, never byte by byte:
/// copying the key into a zeroed stack buffer with `memcpy` and reading the
/// buffer back as words stalled on store forwarding (the word load spans
/// two of `memcpy`'s stores), which was 40% of interning a key.
#[inline]
pub(crate) fn head(key: &[u8]) -> u128 {
    let n = key.len();
    let u64_at = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |at: usize| u32::from_le_bytes(key[at..at + 4].try_into().expect("4 bytes"));
    let (lo, hi) = if n >= INLINE {
        (u64_at(0), u64_at(8))
    } else if n > 8 {
        // bytes 8..n are the top of the last 8 bytes
        (u64_at(0), u64_at(n - 8) >> (8 * (16 - n)))
    } else if n == 8 {
        (u64_at(0), 0)
    } else if n >= 4 {
        // two overlapping halves; overlapping bytes are equal, so OR them
        let last = (u32_at(n - 4) as u64) << (8 * (n - 4));
        (u32_at(0) as u64 | last, 0)
    } else if n > 0 {
        let at = |i: usize| (key[i] as u64) << (8 * i);
        (at(0) | at(n / 2) | at(n - 1), 0)
    } else {
        (0, 0)
    };
    (hi as u128) << 64 | lo as u128
}

#[inline]
fn tag_of(hash: u64) -> u32 {
    ((hash >> 32) as u32) | 1
}

impl KeySet {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set hashing with `hasher`: sets that share a hasher can
    /// take each other's hashes ([`intern_hashed_batch`](Self::intern_hashed_batch)).
    pub fn with_hasher(hasher: KeyHasher) -> Self {
        KeySet {
            hasher,
            ..Self::default()
        }
    }

    /// An empty set with room for `keys` keys of `bytes` bytes in all
    /// before it grows: for a caller that knows what it will intern (a
    /// table that grows by doubling touches fresh memory at every size it
    /// passes through, and moves every key each time).
    pub fn with_capacity(keys: usize, bytes: usize) -> Self {
        Self::with_capacity_and_hasher(keys, bytes, KeyHasher::random())
    }

    /// [`with_capacity`](Self::with_capacity), hashing with `hasher` (as
    /// [`with_hasher`](Self::with_hasher)).
    pub fn with_capacity_and_hasher(keys: usize, bytes: usize, hasher: KeyHasher) -> Self {
        // the load factor stays at or below 1/2 (see `intern_hashed`)
        let slots = keys.saturating_mul(2).next_power_of_two().max(16);
        KeySet {
            slots: Slots::with_len(slots),
            mask: slots - 1,
            ends: Vec::with_capacity(keys),
            arena: Vec::with_capacity(bytes),
            hasher,
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of key `id`.
    #[inline]
    pub fn get(&self, id: u32) -> &[u8] {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.arena[start..self.ends[id]]
    }

    /// Starts fetching where key `id` ends (what [`get`](Self::get) reads
    /// first), for a caller that reads keys in an order of its own: the
    /// first of two prefetches a key's bytes take.
    #[inline]
    pub fn prefetch_end(&self, id: u32) {
        if let Some(end) = self.ends.get(id as usize) {
            crate::hint::prefetch(end);
        }
    }

    /// Starts fetching key `id`'s bytes: the second prefetch, some keys
    /// after [`prefetch_end`](Self::prefetch_end) of the same key (it
    /// reads where the key starts, the end before it).
    #[inline]
    pub fn prefetch_bytes(&self, id: u32) {
        let id = id as usize;
        let start = match id {
            0 => Some(&0),
            _ => self.ends.get(id - 1),
        };
        if let Some(byte) = start.and_then(|&at| self.arena.get(at)) {
            crate::hint::prefetch(byte);
        }
    }

    /// Bytes of all keys together.
    pub fn bytes(&self) -> usize {
        self.arena.len()
    }

    /// The id of `key`, if it is in the set.
    pub fn find(&self, key: &[u8]) -> Option<u32> {
        self.find_hashed(key, self.hash(key))
    }

    /// [`find`](Self::find) for `count` keys (`key(i)` for each `i`),
    /// pushing each one's id (or `None`) to `ids`; each slot is prefetched
    /// a few keys ahead, as [`intern_batch`](Self::intern_batch) does.
    pub fn find_batch<'k>(
        &self,
        count: usize,
        key: impl Fn(usize) -> &'k [u8],
        ids: &mut Vec<Option<u32>>,
    ) {
        let hashes: Vec<u64> = (0..count).map(|i| self.hash(key(i))).collect();
        for i in 0..count {
            if let Some(&ahead) = hashes.get(i + PREFETCH) {
                crate::hint::prefetch(&self.slots[ahead as usize & self.mask]);
            }
            ids.push(self.find_hashed(key(i), hashes[i]));
        }
    }

    /// [`find`](Self::find) with the key's hash given.
    #[inline]
    fn find_hashed(&self, key: &[u8], hash: u64) -> Option<u32> {
        let (tag, bytes) = (tag_of(hash), head(key));
        let mut i = hash as usize & self.mask;
        loop {
            let slot = &self.slots[i];
            if slot.tag == 0 {
                return None;
            }
            if self.slot_matches(slot, tag, key, bytes) {
                return Some(slot.id);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The hash this set files `key` under.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    /// The id of `key`, inserting it if new.
    #[inline]
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let hash = self.hash(key);
        self.intern_hashed(key, hash)
    }

    /// Interns `count` keys (`key(i)` for each `i`), pushing their ids to
    /// `ids`; faster than one at a time for large sets.
    pub fn intern_batch<'k>(
        &mut self,
        count: usize,
        key: impl Fn(usize) -> &'k [u8],
        ids: &mut Vec<u32>,
    ) {
        let hashes: Vec<u64> = (0..count).map(|i| self.hash(key(i))).collect();
        self.intern_hashed_batch(count, key, &hashes, ids);
    }

    /// [`intern_batch`](Self::intern_batch) with the keys' hashes given:
    /// `hashes[i]` must be [`hash`](Self::hash)`(key(i))`, from this set or
    /// one with the same hasher.
    pub fn intern_hashed_batch<'k>(
        &mut self,
        count: usize,
        key: impl Fn(usize) -> &'k [u8],
        hashes: &[u64],
        ids: &mut Vec<u32>,
    ) {
        debug_assert_eq!(hashes.len(), count);
        for i in 0..count {
            if let Some(&ahead) = hashes.get(i + PREFETCH) {
                crate::hint::prefetch(&self.slots[ahead as usize & self.mask]);
            }
            ids.push(self.intern_hashed(key(i), hashes[i]));
        }
    }

    /// Whether `slot` holds `key`; `head` is the key's first bytes,
    /// zero-padded like a slot's, so short keys compare as two integers.
    #[inline]
    fn slot_matches(&self, slot: &Slot, tag: u32, key: &[u8], head: u128) -> bool {
        slot.tag == tag
            && slot.len as usize == key.len()
            && slot.bytes == head
            && (key.len() <= INLINE || self.get(slot.id) == key)
    }

    /// Starts fetching the slot a key with this hash goes to first.
    #[inline]
    pub fn prefetch_slot(&self, hash: u64) {
        crate::hint::prefetch(&self.slots[hash as usize & self.mask]);
    }

    /// [`intern`](Self::intern) with the key's hash given (as for
    /// [`intern_hashed_batch`](Self::intern_hashed_batch)).
    #[inline]
    pub fn intern_hashed(&mut self, key: &[u8], hash: u64) -> u32 {
        let tag = tag_of(hash);
        let bytes = head(key);
        let mut i = hash as usize & self.mask;
        loop {
            let slot = &self.slots[i];
            if slot.tag == 0 {
                break;
            }
            if self.slot_matches(slot, tag, key, bytes) {
                return slot.id;
            }
            i = (i + 1) & self.mask;
        }
        let id = self.ends.len() as u32;
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len());
        self.slots[i] = Slot {
            tag,
            id,
            len: key.len() as u32,
            hash_low: hash as u32,
            bytes,
        };
        // keep the load factor at or below 1/2
        if self.ends.len() * 2 > self.slots.len() {
            self.grow();
        }
        id
    }

    /// Doubles the table in place ([`Slots::double`]) and moves each key
    /// to where the larger table wants it.
    ///
    /// Moving keys within one table must never leave a hole in the probe
    /// run of a key already moved. Old slots are taken out and reinserted
    /// in position order, starting after the first free slot `w`; a key at
    /// `p > w` probed from a home `h` in `(w, p]` (its run could not cross
    /// the free slot), so reinserted it lands either in `[h, p]` (home `h`;
    /// `p` was just freed), where every slot has been visited, or in the
    /// new half (home `h + old length`), which holds moved keys only:
    /// neither run crosses a slot still to be visited. The keys before `w`
    /// (a run that may wrap past the old end) and any key whose new-half
    /// run would wrap past the new end are set aside and inserted last. Old
    /// slots are visited in order, so moving streams through memory.
    fn grow(&mut self) {
        let old_len = self.slots.len();
        self.slots.double();
        let len = self.slots.len();
        self.mask = len - 1;
        let low_bits_suffice = self.mask <= u32::MAX as usize;
        let home = |set: &KeySet, slot: &Slot| -> usize {
            let hash = if low_bits_suffice {
                slot.hash_low as usize
            } else {
                // tables past 2^32 slots: rehash (never at any size seen)
                set.hash(set.get(slot.id)) as usize
            };
            hash & set.mask
        };
        let mut aside: Vec<Slot> = Vec::new();
        let mut p = 0;
        while self.slots[p].tag != 0 {
            aside.push(std::mem::take(&mut self.slots[p]));
            p += 1;
        }
        for p in p..old_len {
            if self.slots[p].tag == 0 {
                continue;
            }
            let slot = std::mem::take(&mut self.slots[p]);
            let mut i = home(self, &slot);
            loop {
                if self.slots[i].tag == 0 {
                    self.slots[i] = slot;
                    break;
                }
                i += 1;
                if i == len {
                    aside.push(slot);
                    break;
                }
            }
        }
        for slot in aside {
            let mut i = home(self, &slot);
            while self.slots[i].tag != 0 {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = slot;
        }
    }

    /// Every key, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len() as u32).map(move |id| self.get(id))
    }

    /// Appends the set's byte form: the number of keys, then each key in
    /// id order, front-coded against the one before
    /// ([`put_prefixed`](crate::wire::put_prefixed)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        crate::wire::put_varint(out, self.len() as u64);
        let mut prev: &[u8] = &[];
        for key in self.iter() {
            crate::wire::put_prefixed(out, prev, key);
            prev = key;
        }
    }

    /// Reads what [`encode`](Self::encode) wrote, interning the keys in
    /// order, so that each key's id is its position; a key given twice is
    /// an error (ids must equal positions).
    pub fn decode(r: &mut crate::wire::Reader<'_>) -> Result<KeySet, crate::wire::WireError> {
        let mut set = KeySet::new();
        set.decode_into(r, |_, _| Ok(()))?;
        Ok(set)
    }

    /// Reads keys as [`decode`](Self::decode) does, each checked by
    /// `check(index, key)`, into this set (where some may be already):
    /// returns each read key's id here. A key read twice is an error. On an
    /// error the keys before it stay inserted.
    pub fn decode_into(
        &mut self,
        r: &mut crate::wire::Reader<'_>,
        mut check: impl FnMut(usize, &[u8]) -> Result<(), String>,
    ) -> Result<Vec<u32>, crate::wire::WireError> {
        let at = r.pos();
        // each key takes two varints at least
        let n = r.len(2)?;
        if self.len().saturating_add(n) > u32::MAX as usize {
            return Err(r.error(format!("{n} keys (the count at byte {at})")));
        }
        let mut ids = Vec::with_capacity(n);
        // the ids this decoding produced, to tell a repeated key
        let mut seen = vec![0u64; (self.len() + n).div_ceil(64)];
        let mut scratch: Vec<u8> = Vec::new();
        let mut prev = 0..0;
        // keys are read a block at a time and interned together, so that
        // the table's cache misses overlap (see `intern_batch`)
        const BLOCK: usize = 1024;
        let mut block: Vec<u8> = Vec::new();
        let mut ends: Vec<usize> = Vec::with_capacity(BLOCK);
        let mut block_ids: Vec<u32> = Vec::with_capacity(BLOCK);
        let mut i = 0;
        while i < n {
            let first = i;
            block.clear();
            ends.clear();
            while i < n && ends.len() < BLOCK {
                let cur = r.get_prefixed(&mut scratch, prev)?;
                let key = &scratch[cur.clone()];
                check(i, key).map_err(|why| r.error(why))?;
                block.extend_from_slice(key);
                ends.push(block.len());
                scratch.drain(..cur.start);
                prev = 0..cur.len();
                i += 1;
            }
            let key = |j: usize| &block[if j == 0 { 0 } else { ends[j - 1] }..ends[j]];
            block_ids.clear();
            self.intern_batch(ends.len(), key, &mut block_ids);
            for (j, &id) in block_ids.iter().enumerate() {
                let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
                if seen[word] & bit != 0 {
                    return Err(r.error(format!(
                        "key {} repeats an earlier key (the keys from byte {at})",
                        first + j
                    )));
                }
                seen[word] |= bit;
            }
            ids.extend_from_slice(&block_ids);
        }
        Ok(ids)
    }

    /// Inserts every key of `other`; returns each of `other`'s ids' new id.
    pub fn absorb(&mut self, other: &KeySet) -> Vec<u32> {
        let mut ids = Vec::with_capacity(other.len());
        self.intern_batch(other.len(), |id| other.get(id as u32), &mut ids);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys that differ only in their length or in one byte, anywhere,
    /// hash apart: zero padding ("a", "a\0"), the overlapping last word
    /// of long keys, every length up to 64.
    #[test]
    fn key_hashes_tell_every_byte_and_the_length() {
        let hasher = KeyHasher::random();
        let mut seen = std::collections::HashMap::new();
        let mut add = |key: Vec<u8>| {
            if let Some(other) = seen.insert(hasher.hash(&key), key.clone()) {
                assert_eq!(other, key, "two keys with one hash");
            }
        };
        for n in 0..=64usize {
            add(vec![0; n]);
            add(vec![b'k'; n]);
            for at in 0..n {
                for bit in [0, 7] {
                    let mut key = vec![b'k'; n];
                    key[at] ^= 1 << bit;
                    add(key);
                }
            }
        }
        // a hasher hashes alike every time; another seed hashes otherwise
        let other = KeyHasher::random();
        assert_eq!(hasher.hash(b"key_0673906"), hasher.hash(b"key_0673906"));
        assert_ne!(hasher.hash(b"key_0673906"), other.hash(b"key_0673906"));
    }

    /// Keys alike but for a few digits (the reference data's
    /// `key_0000000` to `key_0999999`) spread evenly over the 256
    /// partitions (the hash's top bits), over a table's slots (its low
    /// bits) and over the tags: every bucket holds within half its share
    /// of it. The seeds are random: with 256 keys or more a bucket (at
    /// least 16 standard deviations of a random spread, 8 for the slots),
    /// an even hash misses these bounds with a chance far below 10^-12; a
    /// test with 4,096 buckets of 64 keys and a floor of 32 failed once.
    #[test]
    fn key_hashes_spread_similar_keys_evenly() {
        let hasher = KeyHasher::random();
        let n = 1 << 18;
        let mut parts = vec![0u32; PARTS];
        let mut slots = vec![0u32; 1 << 10];
        let mut tags = vec![0u32; 1 << 8];
        for long in [false, true] {
            parts.fill(0);
            slots.fill(0);
            tags.fill(0);
            for i in 0..n {
                let key = match long {
                    false => format!("key_{i:07}"),
                    true => format!("https://example.com/item/{i:07}/details"),
                };
                let hash = hasher.hash(key.as_bytes());
                parts[part_of(hash)] += 1;
                slots[hash as usize & ((1 << 10) - 1)] += 1;
                // the tag's bits below the partition's
                tags[(tag_of(hash) >> 16) as usize & 0xff] += 1;
            }
            for (name, buckets) in [("partitions", &parts), ("slots", &slots), ("tags", &tags)] {
                let share = n as u32 / buckets.len() as u32;
                let (lo, hi) = (buckets.iter().min().unwrap(), buckets.iter().max().unwrap());
                assert!(
                    *hi < share * 3 / 2 && *lo > share / 2,
                    "{name} (long keys: {long}): {lo}..{hi} keys a bucket, {share} expected"
                );
            }
        }
    }

    /// Prefetching a key is a hint: any id, of a set empty or not, an
    /// empty key among others, changes nothing and never panics.
    #[test]
    fn prefetching_keys_changes_nothing() {
        let mut set = KeySet::new();
        for id in [0, 1, 7, u32::MAX] {
            set.prefetch_end(id);
            set.prefetch_bytes(id);
        }
        for key in [&b""[..], b"a", b"bc"] {
            set.intern(key);
        }
        for id in [0, 1, 2, 3, 4, u32::MAX] {
            set.prefetch_end(id);
            set.prefetch_bytes(id);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), [&b""[..], b"a", b"bc"]);
    }

    #[test]
    fn find_finds_what_was_interned_and_nothing_else() {
        let mut set = KeySet::new();
        let keys: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("key{i}{}", "y".repeat(i % 40)).into_bytes())
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(set.intern(k), i as u32);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(set.find(k), Some(i as u32));
        }
        let mut found = Vec::new();
        let probes: Vec<&[u8]> = keys
            .iter()
            .map(Vec::as_slice)
            .chain([&b"nope"[..]])
            .collect();
        set.find_batch(probes.len(), |i| probes[i], &mut found);
        assert_eq!(found.len(), probes.len());
        assert!((0..keys.len()).all(|i| found[i] == Some(i as u32)));
        assert_eq!(found[keys.len()], None);
        assert_eq!(set.find(b"key5000"), None);
        assert_eq!(set.find(b""), None);
        assert_eq!(set.bytes(), keys.iter().map(Vec::len).sum::<usize>());
    }

    /// A set made with room for its keys interns them without growing
    /// (mapped from the start when that large), finds them, and grows as
    /// any other past its capacity.
    #[test]
    fn a_set_with_capacity_holds_its_keys_without_growing() {
        for n in [0usize, 1, 1000, 40_000] {
            let key = |i: usize| format!("k{i}{}", "z".repeat(i % 23)).into_bytes();
            let bytes: usize = (0..n).map(|i| key(i).len()).sum();
            let mut set = KeySet::with_capacity(n, bytes);
            let slots = set.slots.len();
            // past the load limit of the table it was made with
            let keys: Vec<Vec<u8>> = (0..slots).map(key).collect();
            #[cfg(target_os = "linux")]
            assert_eq!(
                matches!(set.slots, Slots::Mapped { .. }),
                slots * std::mem::size_of::<Slot>() >= MAP_MIN
            );
            let mut ids = Vec::new();
            set.intern_batch(n, |i| &keys[i], &mut ids);
            assert!(ids.iter().enumerate().all(|(i, &id)| id as usize == i));
            assert_eq!(set.slots.len(), slots, "{n} keys grew their table");
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(set.intern(k), i as u32);
            }
            assert!(set.slots.len() > slots);
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(set.find(k), Some(i as u32));
            }
        }
    }

    /// A table whose mapping is split in several (advice on a part of it,
    /// as huge-page advice on the huge pages inside a block did) still
    /// doubles, keeping its slots: `mremap` refuses such a range, and the
    /// table is then copied into a new mapping. (Before, the run aborted.)
    #[cfg(target_os = "linux")]
    #[test]
    fn a_split_mapping_still_doubles() {
        let len = 3 * (2 << 20) / std::mem::size_of::<Slot>(); // 6 MiB
        let bytes = len * std::mem::size_of::<Slot>();
        let ptr = map_anon(bytes).expect("a mapping");
        let mut slots = Slots::Mapped {
            ptr: std::ptr::NonNull::new(ptr as *mut Slot).unwrap(),
            len,
        };
        for (i, slot) in slots.iter_mut().enumerate() {
            slot.id = i as u32;
            slot.tag = 1;
        }
        // SAFETY: the page at 1 MiB into our mapping, made read-only
        // (nothing writes the old slots again): the mapping is then three
        // ranges that `mremap` will not move as one, as partial huge-page
        // advice made it
        unsafe {
            let page = (ptr as *mut u8).add(1 << 20) as *mut libc::c_void;
            assert_eq!(libc::mprotect(page, 4096, libc::PROT_READ), 0);
        }
        slots.double();
        assert_eq!(slots.len(), 2 * len);
        assert!(slots[..len]
            .iter()
            .enumerate()
            .all(|(i, s)| s.id == i as u32 && s.tag == 1));
        assert!(slots[len..].iter().all(|s| s.tag == 0 && s.id == 0));
        slots.double();
        assert!(slots[..len]
            .iter()
            .enumerate()
            .all(|(i, s)| s.id == i as u32));
    }

    #[test]
    fn wire_keys_round_trip_in_id_order() {
        let long = [b'k'; 200];
        let mut keys: Vec<Vec<u8>> = vec![b"".to_vec(), b"\x01a".to_vec(), long.to_vec()];
        let mut more = long.to_vec();
        more.push(b'x');
        keys.push(more);
        keys.push(long[..100].to_vec());
        keys.extend((0..1000u32).map(|i| format!("\x01g{}", i * 7919 % 1000).into_bytes()));
        let mut set = KeySet::new();
        keys.iter().for_each(|k| {
            set.intern(k);
        });
        let mut out = Vec::new();
        set.encode(&mut out);
        let mut r = crate::wire::Reader::new(&out);
        let back = KeySet::decode(&mut r).unwrap();
        r.finish().unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            set.iter().collect::<Vec<_>>()
        );
        let mut again = Vec::new();
        back.encode(&mut again);
        assert_eq!(again, out);
        for cut in 0..out.len() {
            assert!(KeySet::decode(&mut crate::wire::Reader::new(&out[..cut])).is_err());
        }
        // a key twice: ids would not be positions
        let mut dup = vec![2];
        crate::wire::put_prefixed(&mut dup, b"", b"ab");
        crate::wire::put_prefixed(&mut dup, b"ab", b"ab");
        let e = KeySet::decode(&mut crate::wire::Reader::new(&dup)).unwrap_err();
        assert!(e.0.contains("key 1 repeats"), "{e}");
        // a shared length that is not the longest
        let bad = [2, 0, 2, b'a', b'b', 0, 1, b'a'];
        let e = KeySet::decode(&mut crate::wire::Reader::new(&bad)).unwrap_err();
        assert!(e.0.contains("shared prefix"), "{e}");
    }

    #[test]
    fn heads_are_the_first_bytes_zero_padded() {
        let key: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            let mut want = [0u8; INLINE];
            let m = n.min(INLINE);
            want[..m].copy_from_slice(&key[..m]);
            assert_eq!(head(&key[..n]), u128::from_le_bytes(want), "{n} bytes");
        }
        // zero bytes inside a key are not padding: the length tells them apart
        let mut set = KeySet::new();
        let ids: Vec<u32> = [&b""[..], b"\0", b"\0\0", b"a\0", b"a", &[0; 16], &[0; 17]]
            .iter()
            .map(|k| set.intern(k))
            .collect();
        assert_eq!(ids, (0..7).collect::<Vec<u32>>());
        assert_eq!(set.intern(b"a\0"), 3);
        assert_eq!(set.intern(&[0; 17]), 6);
    }

    /// Keys with chosen hashes ([`KeySet::intern_hashed`]): runs piled at
    /// the table's end (wrapping past it before and after each doubling),
    /// many keys on one home, spread keys; empty, inline, long and huge
    /// keys.
    #[test]
    fn growth_keeps_every_key_findable_with_clustered_hashes() {
        let n = 20_000u64;
        let key = |i: u64| -> Vec<u8> {
            match i % 5 {
                _ if i == 0 => Vec::new(),
                _ if i == 1 => vec![b'h'; 1 << 20],
                0 => i.to_string().into_bytes(),
                1 => format!("{i:0>16}").into_bytes(),
                2 => format!("{i:x>40}").into_bytes(),
                3 => i.to_le_bytes().to_vec(),
                _ => format!("{i:0>17}").into_bytes(),
            }
        };
        let hash = |i: u64| -> u64 {
            let low = match i % 4 {
                0 => u32::MAX as u64 - i % 5,
                1 => 7,
                2 => i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32,
                _ => (1 << 15) - 1 - i % 3,
            };
            (i.wrapping_mul(0x2545_F491_4F6C_DD1D) & !0xFFFF_FFFF) | low
        };
        let mut set = KeySet::new();
        let check = |set: &mut KeySet, upto: u64| {
            assert_eq!(set.len() as u64, upto);
            for i in 0..upto {
                assert_eq!(set.intern_hashed(&key(i), hash(i)), i as u32, "key {i}");
                assert_eq!(set.get(i as u32), &key(i)[..]);
            }
            assert_eq!(set.len() as u64, upto, "no key inserted twice");
        };
        for i in 0..n {
            assert_eq!(set.intern_hashed(&key(i), hash(i)), i as u32);
            if (i + 1).is_power_of_two() || i + 1 == n {
                check(&mut set, i + 1);
            }
        }
        // the slots' storage moved to a mapping on the way (Linux)
        assert!(set.slots.len() * std::mem::size_of::<Slot>() > MAP_MIN);
        let copy = set.clone();
        drop(set);
        let mut copy = copy;
        check(&mut copy, n);
    }

    #[test]
    fn slots_double_in_place() {
        let mut slots = Slots::new(4);
        slots[3].tag = 9;
        while slots.len() * std::mem::size_of::<Slot>() < 4 * MAP_MIN {
            let len = slots.len();
            slots.double();
            assert_eq!(slots.len(), 2 * len);
            assert_eq!(slots[3].tag, 9);
            assert!(slots[len..].iter().all(|s| s.tag == 0 && s.bytes == 0));
            slots[2 * len - 1].id = len as u32;
        }
        let copy = slots.clone();
        assert_eq!(copy.len(), slots.len());
        assert!(copy
            .iter()
            .zip(slots.iter())
            .all(|(a, b)| a.id == b.id && a.tag == b.tag));
    }

    /// Whether every page of `slots` is mapped (`mincore`).
    #[cfg(target_os = "linux")]
    fn all_resident(slots: &[Slot]) -> bool {
        let (ptr, bytes) = (slots.as_ptr() as usize, std::mem::size_of_val(slots));
        assert_eq!(ptr % PAGE, 0, "a mapping starts on a page");
        let mut pages = vec![0u8; bytes.div_ceil(PAGE)];
        // SAFETY: `[ptr, ptr + bytes)` is a live mapping of ours (`slots`),
        // and `pages` holds one byte per page of it.
        let rc = unsafe { libc::mincore(ptr as *mut libc::c_void, bytes, pages.as_mut_ptr()) };
        assert_eq!(rc, 0);
        pages.iter().all(|p| p & 1 == 1)
    }

    /// A mapped table's fresh pages are mapped in, writable, before any
    /// probe reads them ([`populate`]): a read of an untouched page would
    /// map the shared zero page, which the probe's write then replaces with
    /// a TLB flush on every core of the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn mapped_slots_are_populated_before_they_are_read() {
        let n = 2 * MAP_MIN / std::mem::size_of::<Slot>();
        let mut slots = Slots::with_len(n);
        assert!(matches!(slots, Slots::Mapped { .. }));
        assert!(all_resident(&slots), "a new mapping");
        slots[n - 1].id = 7;
        slots.double();
        assert!(all_resident(&slots), "the half that doubling added");
        assert_eq!(slots[n - 1].id, 7);
        assert!(slots[n..].iter().all(|s| s.tag == 0 && s.id == 0));
        // from the heap to a mapping
        let mut slots = Slots::new(MAP_MIN / std::mem::size_of::<Slot>() / 2);
        slots[0].id = 3;
        slots.double();
        assert!(matches!(slots, Slots::Mapped { .. }));
        assert!(all_resident(&slots), "a table moved from the heap");
        assert_eq!(slots[0].id, 3);
    }

    /// The fallback for kernels before 5.14 maps every page, from an
    /// unaligned start too, and leaves the zeros as they were.
    #[cfg(target_os = "linux")]
    #[test]
    fn pages_touched_one_by_one_are_mapped_and_still_zero() {
        let bytes = 64 << 10;
        let ptr = map_anon(bytes).expect("a mapping");
        // SAFETY: the fresh mapping of `bytes` just made, from 100 bytes in.
        unsafe { touch_pages((ptr as *mut u8).add(100).cast(), bytes - 100) };
        // SAFETY: the mapping holds `bytes / 32` zeroed (free) slots.
        let slots = unsafe { std::slice::from_raw_parts(ptr as *const Slot, bytes / 32) };
        assert!(all_resident(slots));
        assert!(slots
            .iter()
            .all(|s| s.tag == 0 && s.id == 0 && s.bytes == 0));
        // SAFETY: our mapping, no longer referred to.
        unsafe { libc::munmap(ptr, bytes) };
    }

    #[test]
    fn interns_and_absorbs() {
        let mut a = KeySet::new();
        assert_eq!(a.intern(b"x"), 0);
        assert_eq!(a.intern(b""), 1);
        assert_eq!(a.intern(b"yy"), 2);
        assert_eq!(a.intern(b"x"), 0);
        assert_eq!(a.get(2), b"yy");
        assert_eq!(a.get(1), b"");
        let mut b = KeySet::new();
        b.intern(b"yy");
        b.intern(b"z");
        assert_eq!(a.absorb(&b), vec![2, 3]);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![&b"x"[..], b"", b"yy", b"z"]
        );
        for i in 0..10_000u32 {
            a.intern(&i.to_le_bytes());
        }
        assert_eq!(a.len(), 10_004);
        assert_eq!(a.intern(&77u32.to_le_bytes()), 81);
        let long = [b'k'; 40];
        let id = a.intern(&long);
        assert_eq!(a.intern(&long), id);
        let mut other = long;
        other[39] = b'j';
        assert_ne!(
            a.intern(&other),
            id,
            "long keys differing after the inline prefix"
        );
        let mut ids = Vec::new();
        let keys: Vec<Vec<u8>> = (0..50_000u32)
            .map(|i| (i % 20_000).to_string().into_bytes())
            .collect();
        a.intern_batch(keys.len(), |i| &keys[i], &mut ids);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(a.get(ids[i]), &k[..]);
            assert_eq!(ids[i], ids[i % 20_000]);
        }
    }
}
