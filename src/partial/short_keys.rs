//! The short-key cache: group ids of short text keys by their bytes.
//!
//! It lives apart from the grouping scratch that owns it because it is a
//! small hash table of its own, with its own invariants (ids are the key
//! table's, so it may forget a key but never number one differently) and
//! its own tuning (slots per group, the word layout of a key), none of
//! which the rest of the group-by needs to know.

use super::scratch::MANY_GROUPS;

/// Group ids of short keys (up to 16 bytes) by their bytes, for group-bys
/// on one text column with few groups.
///
/// Why: the general path encodes each row's key into a buffer, hashes it
/// with the seeded hasher and probes the key table: about 17 ns a row, a
/// quarter of `--by k_small`. Here a key is read as two overlapping words,
/// hashed with one multiply and found in a table of at most a few thousand
/// entries that stays in the L1/L2 cache. The ids are the key table's, so
/// groups are numbered exactly as before (in order of first appearance).
///
/// The placement is seeded per process ([`crate::keyset::process_seed`]),
/// as the key table's is: with a fixed one, a file of keys crafted to share
/// one home slot made each row walk a probe run as long as the number of
/// keys (1024 such keys: 39 times slower). A walk is also capped at
/// [`MAX_PROBE`] slots, a key further from its home going uncached. The
/// seed changes nothing observable: a slot holds the id the key table gave
/// the key ([`KeySet::intern`](crate::keyset::KeySet::intern), in order
/// of first appearance), never one of its own, and a key the cache does
/// not hold gets that same id from the key table; the output is sorted by
/// key, and partials are encoded in key order, so neither sees a slot.
pub(super) struct ShortKeys {
    slots: Vec<ShortKey>,
    /// The placement's seeds.
    seeds: (u64, u64),
}

impl Default for ShortKeys {
    fn default() -> Self {
        let seed = crate::keyset::process_seed;
        ShortKeys::with_seeds((seed("short keys: 0"), seed("short keys: 1")))
    }
}

#[derive(Clone, Copy)]
struct ShortKey {
    /// The key's first and last eight bytes (overlapping for shorter keys;
    /// with the length, they determine the key).
    words: (u64, u64),
    /// The key's length, [`ShortKey::FREE`] for a free slot.
    len: u32,
    id: u32,
}

impl ShortKey {
    const FREE: u32 = u32::MAX;
}

/// Slots of [`ShortKeys`]: at least four per group up to `MANY_GROUPS`.
const SHORT_KEY_SLOTS: usize = 4 * MANY_GROUPS;

/// The most slots a lookup reads: a key is cached at most this far from
/// its home slot (counting it), so that no row costs more than this many
/// compares whatever the keys. With a seeded placement and the table at
/// most half full, runs this long are rare; a key past one goes the
/// general way, to the same id.
const MAX_PROBE: usize = 32;

impl ShortKeys {
    /// A key of up to 16 bytes as two words: for 8 bytes and more, the
    /// first and the last eight (overlapping); below, the first and the
    /// last four, and below 4, the bytes one by one.
    #[inline(always)]
    fn words(key: &[u8]) -> (u64, u64) {
        let n = key.len();
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let half = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64;
        if n >= 8 {
            (word(&key[..8]), word(&key[n - 8..]))
        } else if n >= 4 {
            (half(&key[..4]), half(&key[n - 4..]))
        } else {
            (key.iter().fold(0, |w, &b| w << 8 | b as u64), 0)
        }
    }

    /// An empty cache placing keys by `seeds`.
    fn with_seeds(seeds: (u64, u64)) -> ShortKeys {
        ShortKeys {
            slots: Vec::new(),
            seeds,
        }
    }

    /// A key's home slot: the top bits of the folded multiply (as the key
    /// table's hasher's, [`crate::keyset::KeyHasher`]) of its two words,
    /// each xored with a seed. Both words go through the multiply, so no
    /// key's bits cancel another's whatever the seeds (the fixed hash this
    /// replaces xored the words together before one multiply: keys with
    /// the same xor shared a home under any constant).
    #[inline(always)]
    fn home(&self, words: (u64, u64), len: usize) -> usize {
        let mixed = crate::keyset::folded_multiply(
            words.0 ^ self.seeds.0,
            words.1 ^ self.seeds.1 ^ len as u64,
        );
        (mixed >> (64 - SHORT_KEY_SLOTS.trailing_zeros())) as usize
    }

    /// The id of `key`, if cached.
    #[inline(always)]
    pub(super) fn get(&self, key: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let words = Self::words(key);
        let mut i = self.home(words, key.len());
        for _ in 0..MAX_PROBE {
            let slot = &self.slots[i];
            if slot.len == key.len() as u32 && slot.words == words {
                return Some(slot.id);
            }
            if slot.len == ShortKey::FREE {
                return None;
            }
            i = (i + 1) % SHORT_KEY_SLOTS;
        }
        // no key is cached further from its home
        None
    }

    /// Caches `key` (not cached yet) as `id`, while the table is at most
    /// half full and a free slot is at most [`MAX_PROBE`] slots from the
    /// key's home (else the key stays uncached).
    pub(super) fn insert(&mut self, key: &[u8], id: u32) {
        if self.slots.is_empty() {
            let free = ShortKey {
                words: (0, 0),
                len: ShortKey::FREE,
                id: 0,
            };
            self.slots = vec![free; SHORT_KEY_SLOTS];
        }
        if id as usize >= SHORT_KEY_SLOTS / 2 {
            return;
        }
        let words = Self::words(key);
        let mut i = self.home(words, key.len());
        for _ in 0..MAX_PROBE {
            if self.slots[i].len == ShortKey::FREE {
                self.slots[i] = ShortKey {
                    words,
                    len: key.len() as u32,
                    id,
                };
                return;
            }
            i = (i + 1) % SHORT_KEY_SLOTS;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed placement this cache had: a multiply of the two words
    /// xored together.
    fn old_home(key: &[u8]) -> usize {
        let (w0, w1) = ShortKeys::words(key);
        let mixed =
            (w0 ^ w1.rotate_left(29) ^ key.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - SHORT_KEY_SLOTS.trailing_zeros())) as usize
    }

    /// Keys that all had home 0 under the old placement: 16-digit hex
    /// numbers (16 bytes, both words full), found by search.
    fn searched_old_collisions(n: usize) -> Vec<Vec<u8>> {
        (0u64..)
            .map(|i| format!("{:016x}", i.wrapping_mul(0x2545_f491_4f6c_dd1d)).into_bytes())
            .filter(|k| old_home(k) == 0)
            .take(n)
            .collect()
    }

    /// Keys whose words xor to one value (`w0 ^ rotl(w1, 29)` the same):
    /// under the old placement they shared a home whatever its constant.
    fn constructed_old_collisions(n: usize) -> Vec<Vec<u8>> {
        (0..n as u64)
            .map(|i| {
                let w0 = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let w1 = (w0 ^ 0x5555_5555_5555_5555).rotate_right(29);
                let mut key = w0.to_le_bytes().to_vec();
                key.extend_from_slice(&w1.to_le_bytes());
                key
            })
            .collect()
    }

    /// Per occupied slot, how far it is from its key's home; the longest.
    fn longest_probe(cache: &ShortKeys) -> usize {
        let slots = &cache.slots;
        (0..slots.len())
            .filter(|&i| slots[i].len != ShortKey::FREE)
            .map(|i| {
                let s = slots[i];
                let home = cache.home(s.words, s.len as usize);
                (i + SHORT_KEY_SLOTS - home) % SHORT_KEY_SLOTS + 1
            })
            .max()
            .unwrap_or(0)
    }

    fn fill(cache: &mut ShortKeys, keys: &[Vec<u8>]) {
        for (id, key) in keys.iter().enumerate() {
            assert_eq!(cache.get(key), None);
            cache.insert(key, id as u32);
        }
    }

    /// Keys that all shared one home under the old fixed placement (a
    /// probe run as long as the number of keys: every lookup walked it)
    /// spread under the seeded one, for the process's seeds and others.
    #[test]
    fn keys_crafted_for_the_old_placement_spread() {
        let n = SHORT_KEY_SLOTS / 4;
        for keys in [searched_old_collisions(n), constructed_old_collisions(n)] {
            let home = old_home(&keys[0]);
            assert!(keys.iter().all(|k| old_home(k) == home));
            for seeds in [None, Some((0, 0)), Some((1, 2)), Some((0x5eed, !0x5eed))] {
                let mut cache = seeds.map_or_else(ShortKeys::default, ShortKeys::with_seeds);
                fill(&mut cache, &keys);
                let longest = longest_probe(&cache);
                eprintln!("{seeds:?}: longest probe {longest} of {n} keys");
                assert!(longest < MAX_PROBE, "{seeds:?}: a probe run of {longest}");
                // each is cached, under its own id
                for (id, key) in keys.iter().enumerate() {
                    assert_eq!(cache.get(key), Some(id as u32), "{seeds:?}");
                }
            }
        }
    }

    /// Keys that do share a home (found with the seeds known, as an input
    /// cannot be): only the first `MAX_PROBE` are cached, every lookup
    /// stops within `MAX_PROBE` slots, and no key gets a wrong id.
    #[test]
    fn a_probe_walk_is_capped() {
        let cache = ShortKeys::with_seeds((7, 11));
        let keys: Vec<Vec<u8>> = (0u64..)
            .map(|i| format!("k{i}").into_bytes())
            .filter(|k| cache.home(ShortKeys::words(k), k.len()) == 5)
            .take(3 * MAX_PROBE)
            .collect();
        let mut cache = cache;
        fill(&mut cache, &keys);
        assert_eq!(longest_probe(&cache), MAX_PROBE);
        for (id, key) in keys.iter().enumerate() {
            let want = (id < MAX_PROBE).then_some(id as u32);
            assert_eq!(cache.get(key), want, "key {id}");
        }
        // a key homed just after the run is cached as usual
        let other = (0u64..)
            .map(|i| format!("o{i}").into_bytes())
            .find(|k| cache.home(ShortKeys::words(k), k.len()) == 5 + MAX_PROBE + 1)
            .unwrap();
        cache.insert(&other, 999);
        assert_eq!(cache.get(&other), Some(999));
    }
}
