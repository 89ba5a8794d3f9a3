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
#[derive(Default)]
pub(super) struct ShortKeys {
    slots: Vec<ShortKey>,
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

    #[inline(always)]
    fn home(words: (u64, u64), len: usize) -> usize {
        let mixed =
            (words.0 ^ words.1.rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - SHORT_KEY_SLOTS.trailing_zeros())) as usize
    }

    /// The id of `key`, if cached.
    #[inline(always)]
    pub(super) fn get(&self, key: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let words = Self::words(key);
        let mut i = Self::home(words, key.len());
        loop {
            let slot = &self.slots[i];
            if slot.len == key.len() as u32 && slot.words == words {
                return Some(slot.id);
            }
            if slot.len == ShortKey::FREE {
                return None;
            }
            i = (i + 1) % SHORT_KEY_SLOTS;
        }
    }

    /// Caches `key` (not cached yet) as `id`, while the table is at most
    /// half full.
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
        let mut i = Self::home(words, key.len());
        while self.slots[i].len != ShortKey::FREE {
            i = (i + 1) % SHORT_KEY_SLOTS;
        }
        self.slots[i] = ShortKey {
            words,
            len: key.len() as u32,
            id,
        };
    }
}
