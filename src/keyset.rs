//! Interned byte strings: group keys and distinct text values.
//!
//! All keys live in one arena, and the hash table holds only `u32` ids, so
//! a million keys cost two allocations rather than a million, and a lookup
//! hashes the probe once and compares bytes in place.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Keys up to this long are stored in the hash table entry itself, so a
/// lookup of a short key touches one cache line of the table and nothing
/// else: with a million groups, that is most of the cost of a group-by.
const INLINE: usize = 16;

/// A table entry: the key's id, length, and either the key itself (short
/// keys) or its first bytes (long keys, compared in full in the arena).
#[derive(Clone, Copy)]
struct Entry {
    id: u32,
    len: u32,
    bytes: [u8; INLINE],
}

impl Entry {
    fn new(id: u32, key: &[u8]) -> Entry {
        let mut bytes = [0u8; INLINE];
        let n = key.len().min(INLINE);
        bytes[..n].copy_from_slice(&key[..n]);
        Entry {
            id,
            len: key.len() as u32,
            bytes,
        }
    }
}

/// A set of byte strings, each numbered in order of first insertion.
#[derive(Default, Clone)]
pub struct KeySet {
    table: HashTable<Entry>,
    hashes: Vec<u64>,
    /// `ends[id]` is the end of key `id` in `arena`; it starts at `ends[id-1]`.
    ends: Vec<usize>,
    arena: Vec<u8>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("len", &self.len()).finish()
    }
}

impl KeySet {
    pub fn new() -> Self {
        Self::default()
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

    /// The id of `key`, inserting it if new.
    #[inline]
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let hash = self.hasher.hash_one(key);
        self.intern_hashed(key, hash)
    }

    #[inline]
    fn intern_hashed(&mut self, key: &[u8], hash: u64) -> u32 {
        let probe = Entry::new(0, key);
        if let Some(e) = self.table.find(hash, |e| self.matches(e, &probe, key)) {
            return e.id;
        }
        let id = self.ends.len() as u32;
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len());
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, Entry { id, ..probe }, |e| hashes[e.id as usize]);
        id
    }

    /// Whether the entry holds `key` (`probe` is `key`'s entry form).
    #[inline]
    fn matches(&self, e: &Entry, probe: &Entry, key: &[u8]) -> bool {
        e.len == probe.len
            && e.bytes == probe.bytes
            && (key.len() <= INLINE || self.get(e.id) == key)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &[u8]) -> bool {
        let hash = self.hasher.hash_one(key);
        let probe = Entry::new(0, key);
        self.table
            .find(hash, |e| self.matches(e, &probe, key))
            .is_some()
    }

    /// Every key, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len() as u32).map(move |id| self.get(id))
    }

    /// Inserts every key of `other`; returns each of `other`'s ids' new id.
    pub fn absorb(&mut self, other: &KeySet) -> Vec<u32> {
        let hashes = &self.hashes;
        self.table.reserve(other.len(), |e| hashes[e.id as usize]);
        (0..other.len() as u32)
            .map(|id| {
                let key = other.get(id);
                // the hashers are equal only if built the same way, so rehash
                self.intern(key)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_absorbs() {
        let mut a = KeySet::new();
        assert_eq!(a.intern(b"x"), 0);
        assert_eq!(a.intern(b""), 1);
        assert_eq!(a.intern(b"yy"), 2);
        assert_eq!(a.intern(b"x"), 0);
        assert_eq!(a.get(2), b"yy");
        assert_eq!(a.get(1), b"");
        assert!(a.contains(b"yy") && !a.contains(b"y"));
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
    }
}
