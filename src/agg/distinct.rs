//! `distinct`: the exact number of distinct non-null values.
//!
//! Values are compared as the column's type: `7` and `007` are one integer,
//! `1` and `1.0` one float, but two texts. Text sources keep the original
//! text of each distinct value and decide at `finish`, once the column's
//! type is known. Memory grows with the number of distinct values.

use std::sync::Arc;

use rayon::prelude::*;

use super::number_codes;
use super::u64set::U64Set;
use super::{each_scattered, merge_optional, AggState, BadValue, Func};
use crate::dict::{Codes, Dictionary};
use crate::keyset::{part_of, shared_hasher, KeySet, PARTS};
use crate::value::{parse_float_field, parse_int_field, Column, ColumnType, Data, Rows, Value};
use crate::wire::{
    i64_from_order_key, i64_order_key, put_prefixed, put_sorted_u64s, put_varint, Reader, WireError,
};

#[derive(Default, Debug)]
pub struct Distinct {
    text: TextSet,
    /// The values of typed batches (Parquet, a store; never a CSV file's,
    /// which `distinct` reads as text), boxed: a state per group pays for
    /// every byte in place, and two sets are 96 bytes.
    typed: Option<Box<TypedSets>>,
}

/// A typed column's distinct values: integers as their `u64` bits, floats
/// as [`float_key`].
#[derive(Default, Debug)]
struct TypedSets {
    ints: U64Set,
    floats: U64Set,
}

impl Distinct {
    fn typed_mut(&mut self) -> &mut TypedSets {
        self.typed.get_or_insert_with(Box::default)
    }

    fn ints(&self) -> impl Iterator<Item = i64> + '_ {
        (self.typed.iter()).flat_map(|t| t.ints.iter().map(|v| v as i64))
    }

    fn floats(&self) -> impl Iterator<Item = u64> + '_ {
        self.typed.iter().flat_map(|t| t.floats.iter())
    }

    /// How many of the typed integers no text spells: in a column that
    /// ends up text, a typed batch's integers (a Parquet `UInt64` row group
    /// below 2^63 beside one of digits) count as their one spelling
    /// ([`crate::value::int_text`]), as the CSV reader reads them. (A typed
    /// float never shares a column with text: no source gives both.)
    fn ints_spelled_apart(&self) -> usize {
        if self.ints().next().is_none() {
            return 0;
        }
        let spelled: std::collections::HashSet<i64> = self
            .text
            .values(
                |t| parse_int_field(t).filter(|_| canonical_int(t)),
                |c| number_codes::int_of(c).filter(|_| number_codes::is_canonical_int(c)),
            )
            .into_iter()
            .collect();
        self.ints().filter(|i| !spelled.contains(i)).count()
    }

    /// Whether the state holds typed values of one kind only (`ints` or
    /// not) and no text: its set's size is then the count.
    fn only_typed(&self, ints: bool) -> Option<usize> {
        let typed = self.typed.as_deref()?;
        let (set, other) = if ints {
            (&typed.ints, &typed.floats)
        } else {
            (&typed.floats, &typed.ints)
        };
        (other.is_empty() && self.text.len() == 0).then_some(set.len())
    }
}

/// A set grows past this many texts before it is split by hash...
const SPLIT_AT: usize = 1 << 16;
/// ...and only in pools of this many threads: routing each text to its
/// part costs more than the parallel merges save with fewer (measured on
/// 1M distinct keys, 16 cores: 2 threads 0.72 -> 0.75 s, 4 even, 8 and 16
/// threads 0.38 -> 0.31 s and 0.39 -> 0.30 s).
const SPLIT_THREADS: usize = 8;

/// Whether a set of `len` texts should be split.
fn should_split(len: usize) -> bool {
    len > SPLIT_AT && rayon::current_num_threads() >= SPLIT_THREADS
}

/// Distinct texts: a list while few; then, while most texts spell a
/// number plainly, a set of their codes ([`number_codes`]) beside a set of
/// the other texts; otherwise one set of texts, and past [`SPLIT_AT`]
/// texts (with many threads), [`PARTS`] sets by [`shared_hasher`] hash.
/// Merging two big text sets is then [`PARTS`] independent merges, run in
/// parallel: with a million distinct values, a merge of whole sets was the
/// serial tail of a many-thread run.
///
/// The list ([`SmallTexts`]) is for the sets of a group-by: a million
/// groups of ten values each took a set apiece, three heap blocks and a
/// 512-byte table before the first value, 2.6 GB and 12 s where Polars
/// took 1 GB and 4 s, most of it `malloc` and `free`.
#[derive(Default, Debug)]
struct TextSet {
    small: SmallTexts,
    /// `None` while the texts fit in `small` (which is then the whole
    /// set; otherwise it is empty); boxed, as few groups' sets outgrow the
    /// list and a state per group pays for every byte in place.
    big: Option<Box<Big>>,
}

/// A [`TextSet`] past its list, in the order it moves through: codes to
/// one set of texts when the other texts outnumber the codes, one set to
/// parts when large.
#[derive(Debug)]
enum Big {
    /// The texts that are plain numbers, as codes, and the others (a text
    /// is in one or the other by its spelling alone, so never in both;
    /// `None` until the first, as a key set takes 512 bytes before it).
    Codes {
        codes: U64Set,
        others: Option<KeySet>,
    },
    One(KeySet),
    Parts(Vec<KeySet>),
    /// Values of one dictionary, a bit per value: a column read as codes
    /// (a store's dictionary-coded text, [`AggState::update_codes`]),
    /// where a set of ten million rows' texts was ten million hash
    /// lookups. Anything else joining the set makes it one set of texts
    /// first ([`TextSet::undict`]).
    Dict {
        dict: Arc<Dictionary>,
        /// Bit `c % 64` of word `c / 64`: whether code `c` was seen.
        seen: Vec<u64>,
        /// Bits set.
        len: usize,
    },
}

/// [`Big::Codes`] becomes one set of texts when the texts that are not
/// plain numbers outnumber the codes and this many.
const OTHERS_MAX: usize = 1024;

impl Big {
    /// Codes 1, one set 2, parts 3.
    fn rank(&self) -> u8 {
        match self {
            Big::Codes { .. } => 1,
            Big::One(_) | Big::Dict { .. } => 2,
            Big::Parts(_) => 3,
        }
    }

    fn len(&self) -> usize {
        match self {
            Big::Codes { codes, others } => codes.len() + others.as_ref().map_or(0, KeySet::len),
            Big::One(one) => one.len(),
            Big::Parts(parts) => parts.iter().map(KeySet::len).sum(),
            Big::Dict { len, .. } => *len,
        }
    }

    /// A set by code becomes one set of texts; any other form stays.
    fn undict(&mut self) {
        if matches!(self, Big::Dict { .. }) {
            let dict = std::mem::replace(self, Big::Parts(Vec::new()));
            *self = dict.into_texts();
        }
    }

    /// The set's texts as one set of texts (codes written back).
    fn into_texts(self) -> Big {
        match self {
            Big::Dict { dict, seen, len } => {
                let seen: Vec<u32> = codes_seen(&seen).collect();
                let bytes = seen.iter().map(|&c| dict.get(c).len()).sum();
                let mut texts = KeySet::with_capacity(len, bytes);
                let mut ids = Vec::with_capacity(len);
                texts.intern_batch(seen.len(), |i| dict.get(seen[i]), &mut ids);
                Big::One(texts)
            }
            Big::Codes { codes, others } => {
                let mut texts = others.unwrap_or_default();
                let mut buf = [0; number_codes::MAX_TEXT];
                for code in codes.iter() {
                    texts.intern(number_codes::write(code, &mut buf));
                }
                Big::One(texts)
            }
            texts => texts,
        }
    }
}

/// The codes whose bits are set in `seen`, ascending.
fn codes_seen(seen: &[u64]) -> impl Iterator<Item = u32> + '_ {
    (seen.iter().enumerate()).flat_map(|(w, &word)| {
        let mut bits = word;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let bit = bits.trailing_zeros();
                bits &= bits - 1;
                (w * 64) as u32 + bit
            })
        })
    })
}

/// At most [`SMALL`] texts of at most 255 bytes each, in one heap block:
/// each text's length byte, then its bytes. Looked up by a scan.
#[derive(Default, Debug)]
struct SmallTexts {
    bytes: Vec<u8>,
    len: usize,
}

/// The most texts a [`SmallTexts`] holds.
const SMALL: usize = 16;

impl SmallTexts {
    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            let len = *self.bytes.get(at)? as usize;
            let text = &self.bytes[at + 1..at + 1 + len];
            at += 1 + len;
            Some(text)
        })
    }

    fn contains(&self, text: &[u8]) -> bool {
        self.iter().any(|t| t == text)
    }

    /// Adds `text` if it is not here; `false` if it is not and does not
    /// fit (the set is full, or the text longer than 255 bytes).
    fn insert(&mut self, text: &[u8]) -> bool {
        if self.contains(text) {
            return true;
        }
        let Ok(len) = u8::try_from(text.len()) else {
            return false;
        };
        if self.len == SMALL {
            return false;
        }
        if self.bytes.capacity() == 0 {
            // room for half the list's texts if the others are alike: a
            // `Vec` growing from 8 bytes took five allocator calls for ten
            // 6-digit numbers, often in another thread's arena
            self.bytes.reserve_exact(SMALL / 2 * (1 + text.len()));
        }
        self.bytes.push(len);
        self.bytes.extend_from_slice(text);
        self.len += 1;
        true
    }
}

impl TextSet {
    fn len(&self) -> usize {
        self.small.len + self.big.as_ref().map_or(0, |big| big.len())
    }

    /// 0 while a list, then [`Big::rank`].
    fn rank(&self) -> u8 {
        self.big.as_ref().map_or(0, |big| big.rank())
    }

    /// Calls `f` with each text (codes written back).
    fn for_each_text(&self, mut f: impl FnMut(&[u8])) {
        self.small.iter().for_each(&mut f);
        match self.big.as_deref() {
            None => {}
            Some(Big::Codes { codes, others }) => {
                let mut buf = [0; number_codes::MAX_TEXT];
                codes
                    .iter()
                    .for_each(|code| f(number_codes::write(code, &mut buf)));
                others.iter().flat_map(KeySet::iter).for_each(f);
            }
            Some(Big::One(one)) => one.iter().for_each(f),
            Some(Big::Parts(parts)) => parts.iter().flat_map(KeySet::iter).for_each(f),
            Some(Big::Dict { dict, seen, .. }) => codes_seen(seen).for_each(|c| f(dict.get(c))),
        }
    }

    /// A set by code becomes one set of texts (what every other form
    /// merges with and inserts into).
    fn undict(&mut self) {
        if let Some(big) = self.big.as_deref_mut() {
            big.undict();
        }
    }

    /// Inserts the values of the selected rows of `col`, whose rows are
    /// also `codes`: by code while the set holds nothing but codes into
    /// their dictionary, else as texts.
    fn insert_codes(&mut self, col: &Column<'_>, codes: Codes<'_>, rows: Rows<'_>) {
        let dict = codes.dict();
        let codes = codes.codes();
        if self.len() == 0 && self.big.is_none() {
            self.big = Some(Box::new(Big::Dict {
                dict: Arc::clone(dict),
                seen: vec![0; dict.len().div_ceil(64)],
                len: 0,
            }));
        }
        if let Some(Big::Dict {
            dict: mine,
            seen,
            len,
        }) = self.big.as_deref_mut()
        {
            if Arc::ptr_eq(mine, dict) {
                rows.for_each(|r| {
                    if col.is_valid(r) {
                        // in range: `Codes` are checked against their dictionary
                        let code = codes[r] as usize;
                        let (word, bit) = (code / 64, 1u64 << (code % 64));
                        *len += (seen[word] & bit == 0) as usize;
                        seen[word] |= bit;
                    }
                });
                return;
            }
        }
        let mut selected: Vec<u32> = Vec::with_capacity(rows.count());
        rows.for_each(|r| {
            if col.is_valid(r) {
                selected.push(codes[r]);
            }
        });
        self.insert_batch(selected.len(), |i| dict.get(selected[i]));
    }

    /// The values `from_text` reads from the texts, and `from_code` from
    /// the codes (the same values: see [`number_codes`]).
    fn values<T: Send>(
        &self,
        from_text: impl Fn(&[u8]) -> Option<T>,
        from_code: impl Fn(u64) -> Option<T> + Sync,
    ) -> Vec<T> {
        match self.big.as_deref() {
            Some(Big::Codes { codes, others }) => {
                let mut out = codes.values(from_code);
                out.extend(others.iter().flat_map(KeySet::iter).filter_map(from_text));
                out
            }
            _ => {
                let mut out = Vec::with_capacity(self.len());
                self.for_each_text(|t| out.extend(from_text(t)));
                out
            }
        }
    }

    /// Whether every text is the one spelling of its integer
    /// ([`canonical_int`]).
    fn all_canonical_ints(&self) -> bool {
        match self.big.as_deref() {
            Some(Big::Codes { codes, others }) => {
                codes.iter().all(number_codes::is_canonical_int)
                    && others.iter().flat_map(KeySet::iter).all(canonical_int)
            }
            _ => {
                let mut all = true;
                self.for_each_text(|t| all &= canonical_int(t));
                all
            }
        }
    }

    /// Inserts `key(i)` for `i` in `0..count`.
    fn insert_batch<'k>(&mut self, count: usize, key: impl Fn(usize) -> &'k [u8]) {
        self.undict();
        let mut from = 0;
        if self.big.is_none() {
            while from < count && self.small.insert(key(from)) {
                from += 1;
            }
            if from == count {
                return;
            }
            // the list is full: its texts and the rest go to a set, of
            // codes if some are plain numbers
            let small = std::mem::take(&mut self.small);
            let texts: Vec<&[u8]> = small.iter().collect();
            self.big = Some(Box::new(
                if texts.iter().any(|t| number_codes::encode(t).is_some()) {
                    Big::Codes {
                        codes: U64Set::default(),
                        others: None,
                    }
                } else {
                    Big::One(KeySet::new())
                },
            ));
            Self::insert_big(self.big.as_deref_mut(), texts.len(), |i| texts[i]);
        }
        Self::insert_big(self.big.as_deref_mut(), count - from, |i| key(from + i));
        if matches!(self.big.as_deref(), Some(Big::One(one)) if should_split(one.len())) {
            self.split();
        }
    }

    /// [`insert_batch`](Self::insert_batch) past the list.
    fn insert_big<'k>(big: Option<&mut Big>, count: usize, key: impl Fn(usize) -> &'k [u8]) {
        let big = big.expect("a set past the list");
        match big {
            Big::Codes { codes, others } => {
                let mut plain = Vec::with_capacity(count);
                for i in 0..count {
                    match number_codes::encode(key(i)) {
                        Some(code) => plain.push(code),
                        None => {
                            others.get_or_insert_with(KeySet::new).intern(key(i));
                        }
                    }
                }
                codes.insert_all(plain);
                if others.as_ref().map_or(0, KeySet::len) > codes.len().max(OTHERS_MAX) {
                    let texts = std::mem::replace(big, Big::Parts(Vec::new()));
                    *big = texts.into_texts();
                }
            }
            Big::One(one) => {
                let mut ids = Vec::with_capacity(count);
                one.intern_batch(count, key, &mut ids);
            }
            Big::Dict { .. } => {
                big.undict();
                Self::insert_big(Some(big), count, key);
            }
            Big::Parts(parts) => {
                let hasher = shared_hasher();
                let hashes: Vec<u64> = (0..count).map(|i| hasher.hash(key(i))).collect();
                const AHEAD: usize = 16;
                for (i, &hash) in hashes.iter().enumerate() {
                    if let Some(&ahead) = hashes.get(i + AHEAD) {
                        parts[part_of(ahead)].prefetch_slot(ahead);
                    }
                    parts[part_of(hash)].intern_hashed(key(i), hash);
                }
            }
        }
    }

    /// Moves the texts of one set into [`PARTS`] sets.
    fn split(&mut self) {
        let hasher = shared_hasher();
        let mut parts: Vec<KeySet> = (0..PARTS).map(|_| KeySet::with_hasher(hasher)).collect();
        let Some(Big::One(one)) = self.big.as_deref() else {
            unreachable!("only one set of texts is split");
        };
        for key in one.iter() {
            let hash = hasher.hash(key);
            parts[part_of(hash)].intern_hashed(key, hash);
        }
        self.big = Some(Box::new(Big::Parts(parts)));
    }

    fn merge(&mut self, other: &mut TextSet) {
        // an empty side changes nothing (and keeps a set by code so)
        if other.len() == 0 {
            return;
        }
        if self.len() == 0 {
            std::mem::swap(self, other);
            return;
        }
        if let (
            Some(Big::Dict { dict, seen, len }),
            Some(Big::Dict {
                dict: d, seen: s, ..
            }),
        ) = (self.big.as_deref_mut(), other.big.as_deref())
        {
            if Arc::ptr_eq(dict, d) {
                seen.iter_mut()
                    .zip(s)
                    .for_each(|(mine, theirs)| *mine |= theirs);
                *len = seen.iter().map(|w| w.count_ones() as usize).sum();
                return;
            }
        }
        self.undict();
        other.undict();
        // into the further grown of the two, or the larger
        if (self.rank(), self.len()) < (other.rank(), other.len()) {
            std::mem::swap(self, other);
        }
        let Some(theirs) = other.big.take() else {
            let texts: Vec<&[u8]> = other.small.iter().collect();
            self.insert_batch(texts.len(), |i| texts[i]);
            return;
        };
        let mine = self.big.as_deref_mut().expect("ranked at least as high");
        match (mine, *theirs) {
            (
                Big::Codes { codes, others },
                Big::Codes {
                    codes: mut their_codes,
                    others: their_others,
                },
            ) => {
                // into the larger set of codes
                if codes.len() < their_codes.len() {
                    std::mem::swap(codes, &mut their_codes);
                }
                codes.absorb(&their_codes);
                merge_optional(others, their_others, |mine, theirs| {
                    mine.absorb(theirs);
                });
            }
            (Big::One(mine), Big::One(theirs)) => {
                // both one set: theirs is the smaller
                mine.absorb(&theirs);
                if should_split(mine.len()) {
                    self.split();
                }
            }
            (Big::Parts(mine), Big::Parts(mut theirs)) => mine
                .par_iter_mut()
                .zip(theirs.par_iter_mut())
                .for_each(|(mine, theirs)| {
                    if mine.len() < theirs.len() {
                        std::mem::swap(mine, theirs);
                    }
                    mine.absorb(theirs);
                }),
            // ranked lower: its texts, one by one
            (_, theirs) => {
                let Big::One(one) = theirs.into_texts() else {
                    unreachable!("codes and one set become one set");
                };
                self.insert_batch(one.len(), |i| one.get(i as u32));
            }
        }
    }
}

/// Bits of a float with every NaN and both zeros made one value each.
fn float_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// Moves the smaller set into the larger one.
fn union(mine: &mut U64Set, theirs: &mut U64Set) {
    if mine.len() < theirs.len() {
        std::mem::swap(mine, theirs);
    }
    mine.absorb(theirs);
}

/// Whether `text` is an integer as it is printed, its one spelling (`7`,
/// `-7`, `0`; not `+7`, `-0`, `07`, ` 7`): texts of this form are the same
/// integer only if they are the same text.
fn canonical_int(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let well_formed = match digits {
        [b'0'] => text.len() == 1,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    // 18 digits always fit an i64; longer ones may not
    well_formed && (digits.len() <= 18 || parse_int_field(text).is_some())
}

/// The number of distinct values among `keys`, by sorting them. A group's
/// few values are sorted on the stack; a hash set built per group in
/// `finish` was a tenth of a million-group `distinct` (its growth, then
/// its free); many values are sorted in parallel.
fn count_distinct(mut keys: impl Iterator<Item = u64>) -> usize {
    const FEW: usize = 32;
    let mut few = [0u64; FEW];
    let mut n = 0;
    while let Some(key) = keys.next() {
        if n == FEW {
            let mut all: Vec<u64> = few.iter().copied().chain([key]).chain(keys).collect();
            if all.len() >= 1 << 16 {
                all.par_sort_unstable();
            } else {
                all.sort_unstable();
            }
            return count_runs(&all);
        }
        few[n] = key;
        n += 1;
    }
    let few = &mut few[..n];
    few.sort_unstable();
    count_runs(few)
}

/// The number of runs of equal keys in `sorted`.
fn count_runs(sorted: &[u64]) -> usize {
    sorted
        .iter()
        .enumerate()
        .filter(|&(i, k)| i == 0 || sorted[i - 1] != *k)
        .count()
}

impl AggState for Distinct {
    const READS_RAW: bool = true;
    const TAKES_TEXT: bool = true;
    const READS_CODES: bool = true;

    fn update_codes(&mut self, col: &Column<'_>, codes: Codes<'_>, rows: Rows<'_>) -> bool {
        self.text.insert_codes(col, codes, rows);
        true
    }

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        let raw = col.text();
        if let Some(raw) = raw {
            let mut selected: Vec<usize> = Vec::with_capacity(rows.count());
            rows.for_each(|r| {
                if col.is_valid(r) {
                    selected.push(r);
                }
            });
            self.text.insert_batch(selected.len(), |i| raw[selected[i]]);
            return Ok(());
        }
        let mut keys: Vec<u64> = Vec::with_capacity(rows.count());
        match col.data {
            Data::Int(values) => {
                rows.for_each(|r| keys.extend(col.is_valid(r).then_some(values[r] as u64)));
                self.typed_mut().ints.insert_all(keys);
            }
            Data::Float(values) => {
                rows.for_each(|r| keys.extend(col.is_valid(r).then(|| float_key(values[r]))));
                self.typed_mut().floats.insert_all(keys);
            }
            Data::Text(_) | Data::Rows => {}
        }
        Ok(())
    }

    /// A row at a time, as `update` would take each group's rows: the
    /// radix group-by folds its buffered rows so, and `update` on one row
    /// built a list of one row for it.
    fn update_scattered(
        states: &mut [Self],
        col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        let raw = col.text();
        match (raw, col.data) {
            (Some(raw), _) => each_scattered(states, ids, |state, r| {
                if col.is_valid(r) {
                    state.text.insert_batch(1, |_| raw[r]);
                }
            }),
            (None, Data::Int(values)) => each_scattered(states, ids, |state, r| {
                if col.is_valid(r) {
                    state.typed_mut().ints.insert(values[r] as u64);
                }
            }),
            (None, Data::Float(values)) => each_scattered(states, ids, |state, r| {
                if col.is_valid(r) {
                    state.typed_mut().floats.insert(float_key(values[r]));
                }
            }),
            (None, Data::Text(_) | Data::Rows) => {}
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        merge_optional(&mut self.typed, other.typed.take(), |mine, theirs| {
            union(&mut mine.ints, &mut theirs.ints);
            union(&mut mine.floats, &mut theirs.floats);
        });
        self.text.merge(&mut other.text);
    }

    fn finish(&self, ty: ColumnType, _func: &Func) -> Value {
        let n = match ty {
            ColumnType::Null => 0,
            ColumnType::Text => self.text.len() + self.ints_spelled_apart(),
            // every text the one spelling of its integer, and no typed
            // values: as many integers as texts (a set of ten million
            // integers built here took a second)
            ColumnType::Int if self.typed.is_none() && self.text.all_canonical_ints() => {
                self.text.len()
            }
            // a typed set alone holds distinct values already (but not
            // integers among floats: two integers may round to one float)
            ColumnType::Int => self.only_typed(true).unwrap_or_else(|| {
                count_distinct(
                    (self.ints())
                        .chain(self.text.values(parse_int_field, number_codes::int_of))
                        .map(|v| v as u64),
                )
            }),
            ColumnType::Float => self.only_typed(false).unwrap_or_else(|| {
                count_distinct(
                    (self.floats())
                        .chain(self.ints().map(|i| float_key(i as f64)))
                        .chain(self.text.values(
                            |t| parse_float_field(t).map(float_key),
                            |c| number_codes::float_of(c).map(float_key),
                        )),
                )
            }),
        };
        Value::Int(n as i128)
    }

    /// The integers, then the floats (as their canonical bits), each a
    /// sorted set ([`put_sorted_u64s`]); then the texts, sorted, each as
    /// the length of the prefix it shares with the one before, and the
    /// rest (length-prefixed): canonical, and keys like `user_000123` take
    /// a few bytes each.
    fn encode(&self, out: &mut Vec<u8>) {
        let mut ints: Vec<u64> = self.ints().map(i64_order_key).collect();
        ints.sort_unstable();
        put_sorted_u64s(out, &ints);
        let mut floats: Vec<u64> = self.floats().collect();
        floats.sort_unstable();
        put_sorted_u64s(out, &floats);
        let mut arena = Vec::new();
        let mut ends = Vec::with_capacity(self.text.len());
        self.text.for_each_text(|t| {
            arena.extend_from_slice(t);
            ends.push(arena.len());
        });
        let mut texts: Vec<&[u8]> = (ends.iter().enumerate())
            .map(|(i, &end)| &arena[if i == 0 { 0 } else { ends[i - 1] }..end])
            .collect();
        if texts.len() >= 1 << 16 {
            texts.par_sort_unstable();
        } else {
            texts.sort_unstable();
        }
        put_varint(out, texts.len() as u64);
        let mut prev: &[u8] = &[];
        for t in texts {
            put_prefixed(out, prev, t);
            prev = t;
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        const AGG: &str = "distinct";
        let ints = r.get_sorted_u64s(true)?;
        let at = r.pos();
        let floats = r.get_sorted_u64s(true)?;
        if floats.iter().any(|&k| k != float_key(f64::from_bits(k))) {
            return Err(r.bad_state(AGG, at, "a float not in canonical form"));
        }
        // each text takes two varints at least
        let n = r.len(2)?;
        let mut arena: Vec<u8> = Vec::new();
        let mut ends: Vec<usize> = Vec::with_capacity(n);
        let mut prev = 0..0;
        for i in 0..n {
            let at = r.pos();
            let cur = r.get_prefixed(&mut arena, prev.clone())?;
            if i > 0 && arena[cur.clone()] <= arena[prev.clone()] {
                return Err(r.bad_state(AGG, at, "texts not sorted, or a repeat"));
            }
            ends.push(cur.end);
            prev = cur;
        }
        let mut text = TextSet::default();
        let start = |i: usize| if i == 0 { 0 } else { ends[i - 1] };
        text.insert_batch(n, |i| &arena[start(i)..ends[i]]);
        // no typed values: no box (the form a state that never saw one has)
        let typed = (!ints.is_empty() || !floats.is_empty()).then(|| {
            Box::new(TypedSets {
                ints: (ints.into_iter())
                    .map(|k| i64_from_order_key(k) as u64)
                    .collect(),
                floats: floats.into_iter().collect(),
            })
        });
        Ok(Distinct { text, typed })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use hashbrown::HashSet;

    /// `distinct` of `values` (None: null) fed as codes into `dict` in
    /// batches of `batch` rows.
    fn by_codes(dict: &Arc<Dictionary>, values: &[Option<u32>], batch: usize) -> Distinct {
        let mut state = Distinct::default();
        feed(&mut state, dict, values, batch);
        state
    }

    fn feed(state: &mut Distinct, dict: &Arc<Dictionary>, values: &[Option<u32>], batch: usize) {
        for chunk in values.chunks(batch) {
            let text: Vec<&[u8]> = chunk
                .iter()
                .map(|c| c.map_or(&b""[..], |c| dict.get(c)))
                .collect();
            let valid: Vec<bool> = chunk.iter().map(Option::is_some).collect();
            // a null row's code means nothing: out of range here
            let codes: Vec<u32> = chunk.iter().map(|c| c.unwrap_or(u32::MAX)).collect();
            let col = Column {
                len: chunk.len(),
                data: Data::Text(&text),
                valid: Some(&valid),
                raw: None,
            };
            let codes = Codes::new(&codes, Some(&valid), dict).unwrap();
            assert!(state.update_codes(&col, codes, Rows::All(chunk.len())));
        }
    }

    /// The same state by text.
    fn by_text(dict: &Dictionary, values: &[Option<u32>]) -> Distinct {
        let texts: Vec<&[u8]> = values.iter().flatten().map(|&c| dict.get(c)).collect();
        let mut state = Distinct::default();
        state.text.insert_batch(texts.len(), |i| texts[i]);
        state
    }

    fn encoded(state: &Distinct) -> Vec<u8> {
        let mut out = Vec::new();
        state.encode(&mut out);
        out
    }

    /// A set by code answers, encodes and merges as the set of its texts:
    /// with a set by code of the same dictionary (bit by bit), of another
    /// one, with texts, with an empty set, and then takes texts.
    #[test]
    fn a_set_by_code_is_its_texts() {
        let values: Vec<String> = (0..300).map(|i| format!("v{i:03}")).collect();
        let dict = Arc::new(Dictionary::new(values.iter().map(|v| v.as_bytes())).unwrap());
        let other = Arc::new(Dictionary::new(values.iter().map(|v| v.as_bytes())).unwrap());
        let rows = |from: u32, step: u32| -> Vec<Option<u32>> {
            (0..500u32)
                .map(|i| (i % 7 != 0).then_some((from + i * step) % 300))
                .collect()
        };
        let (a, b) = (rows(0, 3), rows(1, 5));
        let coded = by_codes(&dict, &a, 64);
        assert!(matches!(coded.text.big.as_deref(), Some(Big::Dict { .. })));
        let want = by_text(&dict, &a);
        assert_eq!(coded.text.len(), want.text.len());
        assert_eq!(coded.text.texts(), want.text.texts());
        assert_eq!(encoded(&coded), encoded(&want));
        assert_eq!(
            coded.finish(ColumnType::Text, &Func::Distinct),
            want.finish(ColumnType::Text, &Func::Distinct)
        );
        let mut both = by_text(&dict, &a);
        both.merge(&mut by_text(&dict, &b));
        let joined: Vec<Distinct> = vec![
            // same dictionary: bit by bit
            {
                let mut s = by_codes(&dict, &a, 100);
                s.merge(&mut by_codes(&dict, &b, 7));
                assert!(matches!(s.text.big.as_deref(), Some(Big::Dict { .. })));
                s
            },
            // another dictionary: as texts
            {
                let mut s = by_codes(&dict, &a, 100);
                s.merge(&mut by_codes(&other, &b, 100));
                s
            },
            // texts into codes, codes into texts
            {
                let mut s = by_codes(&dict, &a, 100);
                s.merge(&mut by_text(&dict, &b));
                s
            },
            {
                let mut s = by_text(&dict, &b);
                s.merge(&mut by_codes(&dict, &a, 100));
                s
            },
            // codes of another dictionary fed to a set by code: as texts
            {
                let mut s = by_codes(&dict, &a, 100);
                feed(&mut s, &other, &b, 33);
                assert!(matches!(s.text.big.as_deref(), Some(Big::One(_))));
                s
            },
        ];
        for (i, mut s) in joined.into_iter().enumerate() {
            assert_eq!(s.text.texts(), both.text.texts(), "case {i}");
            assert_eq!(encoded(&s), encoded(&both), "case {i}");
            // and a set by code takes texts after
            s.text.insert_batch(2, |i| [&b"zz"[..], b"v001"][i]);
            assert_eq!(s.text.len(), both.text.len() + 1, "case {i}");
        }
        // an empty set merged in keeps a set by code as it is
        let mut s = by_codes(&dict, &a, 50);
        s.merge(&mut Distinct::default());
        assert!(matches!(s.text.big.as_deref(), Some(Big::Dict { .. })));
        let mut e = Distinct::default();
        e.merge(&mut s);
        assert!(matches!(e.text.big.as_deref(), Some(Big::Dict { .. })));
        assert_eq!(e.text.texts(), want.text.texts());
    }

    #[test]
    fn a_state_is_small() {
        // a state per group and worker: `--by id` on 10M rows holds 20M
        assert!(std::mem::size_of::<Distinct>() <= 72);
    }

    impl TextSet {
        fn texts(&self) -> HashSet<Vec<u8>> {
            let mut all = HashSet::new();
            self.for_each_text(|t| {
                assert!(all.insert(t.to_vec()), "{t:?} twice");
            });
            all
        }
    }

    #[test]
    fn canonical_integers_are_their_one_spelling() {
        for text in [
            "0",
            "7",
            "-7",
            "10",
            "-9223372036854775808",
            "9223372036854775807",
        ] {
            assert!(canonical_int(text.as_bytes()), "{text}");
            let v = parse_int_field(text.as_bytes()).unwrap();
            assert_eq!(v.to_string(), text);
        }
        for text in [
            "",
            "-",
            "+7",
            "-0",
            "07",
            "-07",
            "00",
            " 7",
            "7 ",
            "7.0",
            "1e3",
            "9223372036854775808",
            "-9223372036854775809",
            "x",
        ] {
            assert!(!canonical_int(text.as_bytes()), "{text}");
        }
        // and in an integer column, `7`, `+7` and ` 7 ` are one value
        let (d, _) = texts::<Distinct>(&["7", "+7", "8", "-0", "0"]);
        assert_eq!(d.finish(ColumnType::Int, &Func::Distinct), Value::Int(3));
        let (d, _) = texts::<Distinct>(&["7", "-7", "8", "0", "70"]);
        assert_eq!(d.finish(ColumnType::Int, &Func::Distinct), Value::Int(5));
    }

    #[test]
    fn counting_distinct_keys_agrees_with_a_set() {
        // every count from none to past the stack's 32, with repeats
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..100 {
            for spread in [1, 3, 40, u64::MAX] {
                let keys: Vec<u64> = (0..n)
                    .map(|_| crate::testing::xorshift(&mut seed) % spread)
                    .collect();
                let set: std::collections::HashSet<u64> = keys.iter().copied().collect();
                assert_eq!(count_distinct(keys.iter().copied()), set.len(), "{keys:?}");
            }
        }
    }

    #[test]
    fn typed_equality() {
        let (d, _) = texts::<Distinct>(&["7", "007", "", "8", "7"]);
        assert_eq!(d.finish(ColumnType::Int, &Func::Distinct), Value::Int(2));
        assert_eq!(d.finish(ColumnType::Text, &Func::Distinct), Value::Int(3));
        let (d, _) = texts::<Distinct>(&["1", "1.0", "-0", "0.0"]);
        assert_eq!(d.finish(ColumnType::Float, &Func::Distinct), Value::Int(2));
    }

    #[test]
    fn big_text_sets_split_and_merge_exactly() {
        let keys: Vec<Vec<u8>> = (0..3 * SPLIT_AT as u64)
            .map(|i| format!("v{}", i * 7919 % 200_003).into_bytes())
            .collect();
        // splitting happens in pools of SPLIT_THREADS threads
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(SPLIT_THREADS)
            .build()
            .unwrap();
        let set_of = |range: std::ops::Range<usize>| {
            let mut s = TextSet::default();
            for chunk in keys[range].chunks(1000) {
                pool.install(|| s.insert_batch(chunk.len(), |i| &chunk[i]));
            }
            s
        };
        let want = |range: std::ops::Range<usize>| -> HashSet<&[u8]> {
            keys[range].iter().map(|k| &k[..]).collect()
        };
        let n = keys.len();
        // small + small, big + small (both ways), big + big; overlapping
        for (a, b) in [
            (0..1000, 500..3000),
            (0..n / 2, n / 2 - 10..n / 2 + 500),
            (n - 700..n, 0..n / 2),
            (0..2 * n / 3, n / 3..n),
        ] {
            let (mut x, mut y) = (set_of(a.clone()), set_of(b.clone()));
            pool.install(|| x.merge(&mut y));
            let mut all = want(a);
            all.extend(want(b));
            assert_eq!(x.len(), all.len());
            assert_eq!(x.texts(), all.into_iter().map(<[u8]>::to_vec).collect());
        }
        assert_eq!(set_of(0..n).rank(), 3, "big sets are split");
    }

    /// Lists that fill up or meet a long text become sets (of codes while
    /// every text is a plain number), and every pair of kinds merges into
    /// the union: against a `HashSet` model, with empty texts, repeats,
    /// texts past 255 bytes, and numbers spelled several ways.
    #[test]
    fn small_sets_grow_into_sets_and_merge_exactly() {
        let mut state = 3u64;
        let mut ranks = HashSet::new();
        for _ in 0..400 {
            let mut sets = Vec::new();
            for _ in 0..2 {
                let r = crate::testing::xorshift(&mut state);
                let n = (r % 40) as usize;
                // numbers only (kept as codes), or now and then a text
                // that is not a plain number (codes become texts)
                let numbers = !(r >> 40).is_multiple_of(3);
                let texts: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let r = crate::testing::xorshift(&mut state);
                        let v = (r >> 8) % 30;
                        match (numbers, r % 23) {
                            (_, 0) => vec![b'x'; 250 + (r >> 8) as usize % 10],
                            (_, 1) => Vec::new(),
                            (false, _) => format!("t{v}").into_bytes(),
                            (true, 2..=4) => format!("-{v}.{}0", v % 3).into_bytes(),
                            (true, _) => format!("{v}").into_bytes(),
                        }
                    })
                    .collect();
                let mut set = TextSet::default();
                for chunk in texts.chunks(1 + (r >> 16) as usize % 7) {
                    set.insert_batch(chunk.len(), |i| &chunk[i]);
                }
                let model: HashSet<Vec<u8>> = texts.into_iter().collect();
                assert_eq!(set.len(), model.len());
                ranks.insert(set.rank());
                sets.push((set, model));
            }
            let (mut y, my) = sets.pop().unwrap();
            let (mut x, mut mx) = sets.pop().unwrap();
            x.merge(&mut y);
            mx.extend(my);
            assert_eq!(x.len(), mx.len());
            assert_eq!(x.texts(), mx);
        }
        assert_eq!(ranks, HashSet::from([0, 1, 2]), "lists, codes, texts");
    }

    /// A typed set alone is counted by its size; integers among floats
    /// are counted as the floats they round to (2^53 and 2^53 + 1 are one).
    #[test]
    fn typed_sets_count_the_column_type_s_values() {
        let big = 1i64 << 53;
        let values = [
            Some(big),
            Some(big + 1),
            Some(-1),
            None,
            Some(-1),
            Some(i64::MIN),
        ];
        let d = ints::<Distinct>(&values);
        assert_eq!(d.finish(ColumnType::Int, &Func::Distinct), Value::Int(4));
        assert_eq!(d.finish(ColumnType::Float, &Func::Distinct), Value::Int(3));
        let mut d = ints::<Distinct>(&values);
        feed_floats(&mut d, &[Some(9007199254740992.0), Some(0.5), Some(-1.0)]);
        assert_eq!(d.finish(ColumnType::Float, &Func::Distinct), Value::Int(4));
        let f = floats::<Distinct>(&[Some(f64::NAN), Some(-f64::NAN), Some(-0.0), Some(0.0)]);
        assert_eq!(f.finish(ColumnType::Float, &Func::Distinct), Value::Int(2));
    }

    #[test]
    fn merge() {
        let v = [Some(1.0), Some(2.0), None, Some(1.0), Some(-0.0), Some(0.0)];
        check_merge::<Distinct>(&v, ColumnType::Float, &Func::Distinct);
        assert_eq!(
            floats::<Distinct>(&v).finish(ColumnType::Float, &Func::Distinct),
            Value::Int(3)
        );
        assert_eq!(
            Distinct::default().finish(ColumnType::Null, &Func::Distinct),
            Value::Int(0)
        );
    }
}
