//! Interned byte strings: group keys and distinct text values.
//!
//! All keys live in one arena, numbered in order of first insertion. The
//! index is an open-addressing table whose 32-byte slots hold the key's hash
//! tag, id and length, and the key itself when it is short (up to 16 bytes),
//! so looking up a short key touches one cache line. With a million groups
//! the table is far larger than the CPU caches and every lookup is a cache
//! miss; [`KeySet::intern_batch`] therefore hashes a whole batch first and
//! prefetches each slot a few rows ahead, so that the misses overlap.

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
pub fn shared_hasher() -> DefaultHashBuilder {
    static HASHER: std::sync::OnceLock<DefaultHashBuilder> = std::sync::OnceLock::new();
    *HASHER.get_or_init(DefaultHashBuilder::default)
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
    slots: Vec<Slot>,
    mask: usize,
    /// `ends[id]` is the end of key `id` in `arena`; it starts at `ends[id-1]`.
    ends: Vec<usize>,
    arena: Vec<u8>,
    hasher: DefaultHashBuilder,
}

impl Default for KeySet {
    fn default() -> Self {
        KeySet {
            slots: vec![Slot::default(); 16],
            mask: 15,
            ends: Vec::new(),
            arena: Vec::new(),
            // seeded per table (hash flooding resistance); nothing depends
            // on the order of a table, and `absorb` rehashes every key
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("len", &self.len()).finish()
    }
}

/// `n` free slots; a big table gets huge pages ([`crate::alloc`]), as its
/// slots are hit at random.
fn new_slots(n: usize) -> Vec<Slot> {
    let mut slots = Vec::with_capacity(n);
    crate::alloc::advise_huge_pages(slots.as_ptr() as *const u8, n * std::mem::size_of::<Slot>());
    slots.resize(n, Slot::default());
    slots
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
    pub fn with_hasher(hasher: DefaultHashBuilder) -> Self {
        KeySet {
            hasher,
            ..Self::default()
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

    /// The hash this set files `key` under.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
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

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = new_slots(old.len() * 2);
        self.mask = self.slots.len() - 1;
        // Old slots in order land in two nearly sequential runs of the new
        // table (home h or h + old length), so growing streams through
        // memory instead of missing the cache once per key.
        let low_bits_suffice = self.mask <= u32::MAX as usize;
        for slot in old.into_iter().filter(|s| s.tag != 0) {
            let hash = if low_bits_suffice {
                slot.hash_low as usize
            } else {
                // tables past 2^32 slots: rehash (never at any size seen)
                self.hash(self.get(slot.id)) as usize
            };
            let mut i = hash & self.mask;
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
