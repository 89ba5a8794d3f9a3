//! A set of `u64`s: the values of `distinct` as 8-byte keys (a typed
//! column's integers and floats, a CSV column's numbers as
//! [`number_codes`](super::number_codes)).
//!
//! A flat power-of-two table, open addressing with linear probing, filled
//! to at most 5/8: 8 bytes a slot, where a `hashbrown` set of ten million
//! values took its rehashing and scattered inserts (half of `distinct:x`
//! from Parquet), and a set of texts 64 bytes a slot.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;
use rayon::prelude::*;

/// The most a table is filled: `len` at most this many eighths of its slots.
const MAX_LOAD_EIGHTHS: usize = 5;
/// Values ahead to prefetch the slot of while inserting a batch.
const PREFETCH: usize = 16;
/// The smallest table: 64 bytes, as a set per group is often small.
const MIN_SLOTS: usize = 8;

/// Tables smaller than this many slots (256 KiB) stay in the CPU's caches:
/// values go in one at a time, without hashing a chunk ahead.
const CACHED_SLOTS: usize = 1 << 15;

/// A table of `n` free slots, written (zeroed) before use: the table is
/// touched at random, and fresh pages from the allocator took two faults
/// each at their first touch (a read maps the shared zero page, the write
/// that follows copies it), a fifth of the CPU of `distinct` over ten
/// million numbers.
///
/// On small pages, not huge ones: a table that doubles is a fresh block
/// each time, and where a VM reports freed memory to its host (virtio-balloon
/// free page reporting, on free blocks of 2 MiB and up) a fresh huge page
/// is one the host faults in again, at up to six times a small page's cost
/// per byte. `distinct:id` (ten million numbers) took 0.79 s with huge
/// pages and 0.56 s without (4 interleaved pairs: system time 0.67 → 0.29
/// s, user time 0.57 → 0.62 s for the TLB misses); `distinct:n` 0.385 →
/// 0.307 s (6 pairs). Key tables, which double in place, keep theirs
/// ([`crate::keyset`]).
// not `vec![0; n]`: that is `calloc`, whose fresh pages nothing writes
#[allow(clippy::slow_vector_initialization)]
fn free_slots(n: usize) -> Vec<u64> {
    let mut slots = Vec::with_capacity(n);
    slots.resize(n, 0);
    slots
}

/// A set of `u64`s: a power-of-two table of `v + 1` (0 is a free slot),
/// and `u64::MAX`, whose slot form would be 0, as a flag.
///
/// A value's first slot is the top bits of its hash, so the table is in
/// hash order: doubling it, or adding another set's values in their table
/// order, writes the table from one end to the other instead of at random
/// (each value's new first slot is twice its old one, or one more).
#[derive(Clone)]
pub struct U64Set {
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: a hash shifted right by this is a slot.
    shift: u32,
    /// Values in `slots`.
    in_slots: usize,
    has_max: bool,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for U64Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("U64Set").field("len", &self.len()).finish()
    }
}

/// An empty set takes no memory: a state per group may never see a value
/// of its kind.
impl Default for U64Set {
    fn default() -> Self {
        U64Set {
            slots: Vec::new(),
            shift: u64::BITS,
            in_slots: 0,
            has_max: false,
            hasher: shared_hasher(),
        }
    }
}

/// The hasher of every set, seeded once per process: sets that share it
/// keep their values in one order, which [`U64Set`]'s merges rely on.
fn shared_hasher() -> DefaultHashBuilder {
    static HASHER: std::sync::OnceLock<DefaultHashBuilder> = std::sync::OnceLock::new();
    *HASHER.get_or_init(DefaultHashBuilder::default)
}

impl U64Set {
    /// The table size that holds `n` values.
    fn slots_for(n: usize) -> usize {
        (n * 8 / MAX_LOAD_EIGHTHS + 1)
            .next_power_of_two()
            .max(MIN_SLOTS)
    }

    pub fn len(&self) -> usize {
        self.in_slots + self.has_max as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every value, in table order (`u64::MAX` last).
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (self.slots.iter())
            .filter(|&&s| s != 0)
            .map(|&s| s - 1)
            .chain(self.has_max.then_some(u64::MAX))
    }

    /// `f` of every value that has an image, in parallel for large sets.
    pub fn values<T: Send>(&self, f: impl Fn(u64) -> Option<T> + Sync) -> Vec<T> {
        if self.slots.len() < 1 << 16 {
            return self.iter().filter_map(f).collect();
        }
        let mut out: Vec<T> = (self.slots.par_iter())
            .filter(|&&s| s != 0)
            .filter_map(|&s| f(s - 1))
            .collect();
        out.extend(self.has_max.then_some(u64::MAX).and_then(f));
        out
    }

    #[inline]
    fn hash(&self, v: u64) -> u64 {
        self.hasher.hash_one(v)
    }

    /// Inserts `v`.
    #[inline]
    pub fn insert(&mut self, v: u64) {
        if v == u64::MAX {
            self.has_max = true;
            return;
        }
        self.make_room();
        let home = (self.hash(v) >> self.shift) as usize;
        self.insert_at(v + 1, home);
    }

    /// Inserts every value of `values`, hashing a chunk of them first and
    /// prefetching each slot a few values ahead, so that the cache misses
    /// of a large table overlap.
    pub fn insert_all(&mut self, values: impl IntoIterator<Item = u64>) {
        const CHUNK: usize = 1024;
        let mut values = values.into_iter();
        while self.slots.len() < CACHED_SLOTS {
            match values.next() {
                Some(v) => self.insert(v),
                None => return,
            }
        }
        let mut chunk = [0u64; CHUNK];
        let mut hashes = [0u64; CHUNK];
        loop {
            let mut n = 0;
            for (slot, v) in chunk.iter_mut().zip(&mut values) {
                *slot = v;
                n += 1;
            }
            for (hash, &v) in hashes.iter_mut().zip(&chunk[..n]) {
                *hash = self.hash(v);
            }
            for i in 0..n {
                if chunk[i] == u64::MAX {
                    self.has_max = true;
                    continue;
                }
                self.make_room();
                if let Some(&ahead) = hashes[..n].get(i + PREFETCH) {
                    crate::hint::prefetch(&self.slots[(ahead >> self.shift) as usize]);
                }
                self.insert_at(chunk[i] + 1, (hashes[i] >> self.shift) as usize);
            }
            if n < CHUNK {
                return;
            }
        }
    }

    /// Grows the table if one more value would fill it past its load.
    #[inline]
    fn make_room(&mut self) {
        if (self.in_slots + 1) * 8 > self.slots.len() * MAX_LOAD_EIGHTHS {
            self.resize((self.slots.len() * 2).max(MIN_SLOTS));
        }
    }

    /// Inserts the slot form `stored` (`v + 1`) from slot `i` on.
    #[inline]
    fn insert_at(&mut self, stored: u64, mut i: usize) {
        let mask = self.slots.len() - 1;
        loop {
            let slot = self.slots[i];
            if slot == stored {
                return;
            }
            if slot == 0 {
                self.slots[i] = stored;
                self.in_slots += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Moves the values to a table of `slots` slots.
    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, free_slots(slots));
        self.shift = 64 - slots.trailing_zeros();
        self.in_slots = 0;
        // in hash order, so the writes move through the new table from one
        // end to the other: nothing to prefetch; and it holds them all
        for stored in old.into_iter().filter(|&s| s != 0) {
            let home = (self.hash(stored - 1) >> self.shift) as usize;
            self.insert_at(stored, home);
        }
    }

    /// Adds every value of `other`.
    pub fn absorb(&mut self, other: &U64Set) {
        let slots = Self::slots_for(self.in_slots + other.in_slots);
        if slots > self.slots.len() {
            self.resize(slots);
        }
        self.insert_all(other.iter());
    }
}

impl FromIterator<u64> for U64Set {
    fn from_iter<I: IntoIterator<Item = u64>>(values: I) -> U64Set {
        let mut set = U64Set::default();
        set.insert_all(values);
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_each_value_once_through_growth_and_absorbing() {
        let mut state = 7u64;
        let mut model = std::collections::HashSet::new();
        let mut a = U64Set::default();
        let mut b = U64Set::default();
        for round in 0..50 {
            let codes: Vec<u64> = (0..500)
                .map(|_| crate::testing::xorshift(&mut state) % 20_000)
                .collect();
            model.extend(codes.iter().copied());
            if round % 2 == 0 {
                a.insert_all(codes);
            } else {
                b.insert_all(codes);
            }
        }
        a.absorb(&b);
        assert_eq!(a.len(), model.len());
        let got: std::collections::HashSet<u64> = a.iter().collect();
        assert_eq!(got, model);
        // the largest value is a flag, the others in slots, once each
        a.insert_all([u64::MAX, 0, u64::MAX - 1]);
        a.insert(u64::MAX);
        a.insert(0);
        for v in [0, u64::MAX, u64::MAX - 1] {
            model.insert(v);
        }
        assert_eq!(a.len(), model.len());
        assert_eq!(a.iter().collect::<std::collections::HashSet<u64>>(), model);
        let mut c = U64Set::default();
        c.insert(u64::MAX);
        a.absorb(&c);
        c.absorb(&a);
        assert_eq!(c.len(), model.len());
    }
}
