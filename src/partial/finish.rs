//! Finishing: the merged states become the final [`Table`], one row, or one
//! row per group sorted by key.
//!
//! This is the one place where a column's final type is known (a column is
//! text if *any* batch was), so it is where keys are typed, sorted and,
//! where two spellings are one value (`7` and `007` in an integer column,
//! `0.0` and `-0.0`, every NaN), merged into one group; and where each
//! state is finished into its value. It runs once per run, after the
//! reduce, over every group: a million-group result is sorted and built in
//! parallel, in steps that each say what they cost:
//!
//! 1. [`Numbering`]: the groups of every table (one, or one per hash
//!    partition after a partitioned merge) numbered globally;
//! 2. [`sort_text_keys`] or [`sort_typed_keys`]: the groups in key order,
//!    and for typed keys the groups that turned out equal merged; both sort
//!    integers, not keys (one number column as `u128`s, everything else as
//!    bytes whose order is the keys', [`sort_byte_keys`]);
//! 3. [`build`]: the rows, built in group (memory) order and read in key
//!    order.

use std::borrow::Borrow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use rayon::prelude::*;

use super::group_table::GroupTable;
use super::StateVecs;
use crate::agg::{ColumnFacts, Func};
use crate::batch::decode_key;
use crate::keyset::KeySet;
use crate::number::{parse_float_field, parse_int_field};
use crate::plan::Plan;
use crate::table::{RowBuilder, Table, ValueRef};
use crate::value::{ColumnType, Value};

/// The final type of aggregate `i`'s column (`Null` for `count` alone).
fn agg_type(plan: &Plan, types: &[ColumnType], i: usize) -> ColumnType {
    plan.aggs[i].slot.map_or(ColumnType::Null, |s| types[s])
}

/// What every group's states of aggregate `i` know about its column
/// ([`ColumnFacts`]), from each of `tables`' state vectors. Only a text
/// column's answers need them (see `agg::ColumnFacts`), so other columns
/// skip the pass over their groups.
fn column_facts<'a>(
    plan: &Plan,
    types: &[ColumnType],
    i: usize,
    tables: impl Iterator<Item = &'a StateVecs>,
) -> ColumnFacts {
    let mut facts = ColumnFacts::default();
    if agg_type(plan, types, i) == ColumnType::Text {
        let state = plan.aggs[i].state;
        tables.for_each(|states| states[state].gather(&mut facts));
    }
    facts
}

/// The aggregates of each state that any has (`Plan::states`): the
/// state, its aggregates in order, and their functions. Aggregates share a
/// state only on one column, so they share its final type and facts too.
fn aggregates_of_states(plan: &Plan) -> Vec<(usize, Vec<usize>, Vec<&Func>)> {
    let mut of_state: Vec<Vec<usize>> = vec![Vec::new(); plan.states.len()];
    (plan.aggs.iter().enumerate()).for_each(|(i, a)| of_state[a.state].push(i));
    (of_state.into_iter().enumerate())
        .filter(|(_, aggs)| !aggs.is_empty())
        .map(|(state, aggs)| {
            let funcs = aggs.iter().map(|&i| &plan.aggs[i].spec.func).collect();
            (state, aggs, funcs)
        })
        .collect()
}

/// The one row of a run without `--by`, from its keyless group.
pub(super) fn scalar(table: &GroupTable, types: &[ColumnType], plan: &Plan) -> Table {
    let columns = plan.output_names();
    // The aggregates of each state finish together (the quantiles of a
    // column select among its values once), the states in parallel: a
    // quantile's finish selects among every value.
    let states = &table.states;
    let finished: Vec<Vec<(usize, Value)>> = (aggregates_of_states(plan).par_iter())
        .map(|(state, aggs, funcs)| {
            let first = aggs[0];
            let facts = column_facts(plan, types, first, std::iter::once(states));
            let values = states[*state].finish_each(0, agg_type(plan, types, first), funcs, &facts);
            aggs.iter().copied().zip(values).collect()
        })
        .collect();
    let mut row = vec![Value::Null; plan.aggs.len()];
    for (i, value) in finished.into_iter().flatten() {
        row[i] = value;
    }
    let beyond: Vec<(usize, Option<&str>)> = (plan.aggs.iter())
        .map(|a| {
            let why = states[a.state].beyond_bound(0, &a.spec.func);
            (why.is_some() as usize, why)
        })
        .collect();
    let mut out = Table::from_rows(columns, vec![row]).with_types(answer_types(plan, types));
    out.notes = beyond_bound_notes(plan, &beyond, None);
    out
}

/// The types of the aggregates' answers ([`Func::output_type`]), in
/// output order.
fn answer_types(plan: &Plan, types: &[ColumnType]) -> Vec<ColumnType> {
    (0..plan.aggs.len())
        .map(|i| plan.aggs[i].spec.func.output_type(agg_type(plan, types, i)))
        .collect()
}

/// The number of distinct values among the keys of a group-by of the one
/// column `slot` (`Plan::lone_distinct_as_groups`), as `distinct` counts
/// them: the null key is none; text keys are distinct as they are (a
/// partitioned merge leaves each in one table); keys of a number column
/// are counted as the values they spell, as `grouped` merges them
/// ([`typed_key`]: `7` and `007` one integer, `0.0` and `-0.0` one
/// float, every NaN one), and a key that does not parse as the column's
/// type is skipped, as `distinct` skips it.
pub(super) fn distinct_keys<'a>(
    tables: impl Iterator<Item = &'a GroupTable>,
    types: &[ColumnType],
    slot: usize,
) -> usize {
    let ty = types[slot];
    let tables: Vec<&GroupTable> = tables.collect();
    let fields = |t: &'a GroupTable| {
        (t.groups.iter()).filter_map(|key| match key.split_first() {
            Some((&crate::batch::VALUE_TAG, field)) => Some(field),
            _ => None,
        })
    };
    if !matches!(ty, ColumnType::Int | ColumnType::Float) {
        return tables.par_iter().map(|&t| fields(t).count()).sum();
    }
    let mut values: Vec<u64> = (tables.par_iter())
        .flat_map_iter(|&t| {
            fields(t).filter_map(|field| match typed_key(Some(field), ty) {
                ValueRef::Int(i) => i64::try_from(i).ok().map(|i| i as u64),
                ValueRef::Float(f) => Some(f.to_bits()),
                _ => None,
            })
        })
        .collect();
    values.par_sort_unstable();
    values.dedup();
    values.len()
}

/// A note per aggregate whose answer may miss its bound
/// ([`crate::agg::AggState::beyond_bound`]): `beyond[i]` is how many of
/// aggregate `i`'s answers may (of `groups`, with `--by`), and why.
fn beyond_bound_notes(
    plan: &Plan,
    beyond: &[(usize, Option<&str>)],
    groups: Option<usize>,
) -> Vec<String> {
    let names = plan.output_names();
    let key_columns = plan.keys.len();
    (beyond.iter().enumerate())
        .filter_map(|(i, &(n, why))| {
            let why = why.filter(|_| n > 0)?;
            let name = crate::error::show_name(&names[key_columns + i]);
            Some(match groups {
                Some(groups) => format!("{name}: in {n} of {groups} groups, {why}"),
                None => format!("{name}: {why}"),
            })
        })
        .collect()
}

/// One row per group of `tables` (whose keys are disjoint), sorted by key.
pub(super) fn grouped(tables: Vec<GroupTable>, types: &[ColumnType], plan: &Plan) -> Table {
    let (groups, part_states) = Numbering::new(tables);
    // Sort the groups by key. Text keys sort by their order-preserving
    // encoding; other keys are typed first, and groups whose keys are
    // equal as values of the column's type ("7" and "007" in an integer
    // column) are merged.
    let mut key_types: Vec<ColumnType> = plan.keys.iter().map(|&k| types[k]).collect();
    let width = key_types.len();
    for (j, (&k, ty)) in plan.keys.iter().zip(&mut key_types).enumerate() {
        // (a time bucket's key, past the slots, is its label)
        if *ty == ColumnType::Text && k < plan.slots() && wide_integer_keys(&groups, j, width) {
            *ty = ColumnType::Int;
        }
    }
    let text_only = key_types
        .iter()
        .all(|t| matches!(t, ColumnType::Text | ColumnType::Null));
    let (firsts, states) = if text_only {
        let order = sort_text_keys(&groups);
        (order, FinalStates::PerTable(part_states))
    } else {
        sort_typed_keys(&groups, &key_types, part_states, plan)
    };
    crate::phases::mark("sort");
    // a time bucket's key is its label, text (with no row it has no type)
    let declared_keys = plan
        .keys
        .iter()
        .zip(&key_types)
        .map(|(&k, &ty)| match k >= plan.slots() {
            true => ColumnType::Text,
            false => ty,
        });
    let declared = declared_keys.chain(answer_types(plan, types)).collect();
    let mut table = build(plan, types, &groups, &key_types, firsts, &states)
        .with_types(declared)
        .with_key_columns(plan.keys.len());
    // freed with the table, not here: see `Table::keep`
    table.keep(groups);
    table.keep(states);
    crate::phases::mark("build");
    table
}

/// Whether key column `j` (of `width`) is text only for integers wider
/// than 64 bits: every key of it an integer spelled as an integer column
/// spells one, and no other way (no `+`, no blanks, no leading zero, so
/// that two keys are equal values exactly when they are equal text), and
/// some wider than 64 bits. Its keys then sort by value and print as
/// integers ([`typed_key`] of an integer column), as `min` and `max`
/// compare such a column's values; each key stays its group.
fn wide_integer_keys(groups: &Numbering, j: usize, width: usize) -> bool {
    // `None`: a key that is no such integer; else whether it is wide
    let kind = |field: Option<&[u8]>| match field {
        None => Some(false),
        Some(f) if crate::number::plain_integer(f) => Some(crate::number::parse_int(f).is_none()),
        Some(_) => None,
    };
    let verdict = (0..groups.total as u32)
        .into_par_iter()
        .map(|g| {
            let key = groups.key(g);
            if width == 1 {
                return kind(match key.split_first() {
                    Some((&crate::batch::VALUE_TAG, field)) => Some(field),
                    _ => None,
                });
            }
            kind(decode_key(key, width)[j].as_deref())
        })
        .try_reduce(|| false, |a, b| Some(a || b));
    verdict == Some(true)
}

/// The groups of every table, numbered globally: table t's group i is
/// `starts[t] + i`.
///
/// The key sets are owned (`finish`, whose output keeps them) or borrowed
/// (a partial being encoded, [`in_byte_order`]).
struct Numbering<K = KeySet> {
    keysets: Vec<K>,
    starts: Vec<u32>,
    total: usize,
    /// The table of every [`BLOCK`]th group, so that finding a group's
    /// table is a step or two forward from there, not a binary search over
    /// 256 partitions (a million groups are located twice each: that
    /// search was 3% of a million-group run's CPU).
    block_tables: Vec<usize>,
}

const BLOCK: u32 = 1024;

impl Numbering {
    /// Numbers the groups of `tables`; returns their states apart, table
    /// by table.
    fn new(tables: Vec<GroupTable>) -> (Numbering, Vec<StateVecs>) {
        let mut keysets = Vec::with_capacity(tables.len());
        let mut part_states = Vec::with_capacity(tables.len());
        for t in tables {
            keysets.push(t.groups);
            part_states.push(t.states);
        }
        (Numbering::of(keysets), part_states)
    }
}

impl<K: Borrow<KeySet>> Numbering<K> {
    /// Numbers the groups of `keysets`, set after set.
    fn of(keysets: Vec<K>) -> Numbering<K> {
        let mut starts = Vec::with_capacity(keysets.len() + 1);
        let mut total = 0usize;
        for set in &keysets {
            starts.push(total as u32);
            total += set.borrow().len();
        }
        starts.push(total as u32);
        let block_tables: Vec<usize> = (0..=total as u32 / BLOCK)
            .map(|b| {
                starts
                    .partition_point(|&s| s <= b * BLOCK)
                    .saturating_sub(1)
            })
            .collect();
        Numbering {
            keysets,
            starts,
            total,
            block_tables,
        }
    }

    /// Group `g` as (table, group in that table).
    #[inline]
    fn locate(&self, g: u32) -> (usize, u32) {
        let starts = &self.starts;
        let mut t = self.block_tables[(g / BLOCK) as usize];
        while starts[t + 1] <= g {
            t += 1;
        }
        (t, g - starts[t])
    }

    /// Group `g`'s encoded key.
    #[inline]
    fn key(&self, g: u32) -> &[u8] {
        let (t, i) = self.locate(g);
        self.keysets[t].borrow().get(i)
    }
}

/// The groups in key order, for keys that are all text: their encoding
/// sorts as the keys do, and no two groups are equal.
///
/// Groups numbered in key order already (a key column grouped by code
/// into a sorted dictionary, `partial::coded`) are found so in one pass
/// that stops at the first pair out of order, at once for hashed keys.
fn sort_text_keys<K: Borrow<KeySet> + Sync>(groups: &Numbering<K>) -> Vec<u32> {
    let total = groups.total as u32;
    let in_order = (1..total)
        .into_par_iter()
        .with_min_len(4096)
        .all(|g| groups.key(g - 1) < groups.key(g));
    if in_order {
        return (0..total).collect();
    }
    sort_byte_keys(groups)
}

/// The groups of `tables` (distinct keys), all together, in the byte
/// order of their encoded keys: `(table, group in that table)` each.
///
/// This is the order a partial's byte form lists its groups in
/// (`Partial::encode`), so that the bytes of a partial depend on its
/// rows only, not on the order the run's workers met its groups in nor
/// on the per-run seed of the partitions' hash.
pub(super) fn in_byte_order(tables: &[&GroupTable]) -> Vec<(u32, u32)> {
    let groups = Numbering::of(tables.iter().map(|t| &t.groups).collect());
    let order = sort_text_keys(&groups);
    order
        .into_par_iter()
        .map(|g| {
            let (t, i) = groups.locate(g);
            (t as u32, i)
        })
        .collect()
}

/// Keys numbered `0..len()`, each a byte string, sorted by their bytes.
trait ByteKeys: Sync {
    fn len(&self) -> usize;
    fn key(&self, g: u32) -> &[u8];
}

impl<K: Borrow<KeySet> + Sync> ByteKeys for Numbering<K> {
    fn len(&self) -> usize {
        self.total
    }

    fn key(&self, g: u32) -> &[u8] {
        Numbering::key(self, g)
    }
}

/// The keys' numbers in the order of their bytes; equal keys in the
/// order of their numbers.
///
/// The keys are sorted by 16 of their bytes held inline
/// ([`prefix_bits`]), so that comparisons rarely need the keys
/// themselves, scattered in the arenas; keys whose 16 bytes tie are then
/// put in order by the bytes after them ([`order_ties`], [`sort_run`]).
/// Where the bits in which those 16 bytes differ and the keys' numbers fit
/// in 64 bits together (a million keys `key_0000000` to `key_0999999`
/// differ in 24 bits: the low four of six digits), each key is sorted as
/// one `u64` ([`Packing`]): a third of the time of sorting `(u128, u32)`
/// pairs.
fn sort_byte_keys<K: ByteKeys>(keys: &K) -> Vec<u32> {
    let total = keys.len();
    let bits = prefix_bits(keys);
    let prefix = |g: u32| prefix16(&keys.key(g)[bits.skipped..]);
    // ties: the keys' next 16 bytes decide
    let depth = bits.skipped + 16;
    match Packing::of(&bits, total) {
        Some(packing) => {
            // packed straight from the keys: their 16-byte prefixes are
            // never stored (16 MB of fresh memory written and read again
            // for a million keys)
            let mut packed: Vec<u64> = (0..total as u32)
                .into_par_iter()
                .map(|g| packing.pack(prefix(g), g))
                .collect();
            packed.par_sort_unstable();
            let (shift, mask) = (packing.group_bits, packing.group_mask());
            order_ties(
                &mut packed,
                |a, b| a >> shift == b >> shift,
                |&v| (v & mask) as u32,
                |v, g| *v = (*v & !mask) | g as u64,
                |run| sort_run(keys, run, depth),
            );
            packed.into_iter().map(|v| (v & mask) as u32).collect()
        }
        None => {
            let mut keyed: Vec<(u128, u32)> = (0..total as u32)
                .into_par_iter()
                .map(|g| (prefix(g), g))
                .collect();
            keyed.par_sort_unstable();
            order_ties(
                &mut keyed,
                |a, b| a.0 == b.0,
                |k| k.1,
                |k, g| k.1 = g,
                |run| sort_run(keys, run, depth),
            );
            keyed.into_iter().map(|(_, g)| g).collect()
        }
    }
}

/// Where the 16 bytes that [`sort_byte_keys`] sorts each key by start,
/// and the bits in which they differ: the first 16, or, where all keys
/// begin alike (`https://example.com/item/...`: they share their first
/// eight bytes at least), the 16 after what all keys share. Sorted by
/// their first 16 bytes, such keys would mostly tie and be sorted by whole
/// keys read from the arenas, three times slower.
fn prefix_bits<K: ByteKeys>(keys: &K) -> PrefixBits {
    let total = keys.len();
    let key = |g: u32| keys.key(g);
    let bits_from = |skipped: usize| -> PrefixBits {
        let first = prefix16(&key(0)[skipped..]);
        let differ = (0..total as u32)
            .into_par_iter()
            .with_min_len(4096)
            .map(|g| prefix16(&key(g)[skipped..]) ^ first)
            .reduce(|| 0, |a, b| a | b);
        PrefixBits { skipped, differ }
    };
    if total == 0 {
        return PrefixBits {
            skipped: 0,
            differ: 0,
        };
    }
    let bits = bits_from(0);
    if total > 1 && bits.differ.leading_zeros() >= 64 {
        let first = key(0);
        let shared = (0..total as u32)
            .into_par_iter()
            .map(|g| common_len(first, key(g)))
            .min()
            .unwrap_or(0);
        if shared > 0 {
            return bits_from(shared);
        }
    }
    bits
}

/// The 16 bytes of each key that [`sort_byte_keys`] sorts by: where they
/// start in every key, and the bits in which those bytes differ between
/// some keys.
struct PrefixBits {
    skipped: usize,
    differ: u128,
}

/// An order-preserving map of 16-byte key prefixes, with a group number
/// each, to `u64`s: the bits in which some prefixes differ, in order, above
/// the group number. Bits in which all prefixes agree do not change their
/// order, so the packed values sort as the prefixes do, and values of equal
/// prefixes as their groups.
struct Packing {
    /// Each byte of the prefix in which prefixes differ, most significant
    /// first: its shift in the prefix, the number of its bits that differ,
    /// and those bits of each byte value, compacted in order.
    bytes: Vec<(u32, u32, [u8; 256])>,
    /// Bits under the packed prefix that hold the group.
    group_bits: u32,
}

impl Packing {
    /// The packing of the prefixes of `groups` keys, which differ in
    /// `bits.differ`, if those bits and the groups' numbers fit in 64 bits.
    fn of(bits: &PrefixBits, groups: usize) -> Option<Packing> {
        let differ = bits.differ;
        let last_group = u32::try_from(groups.checked_sub(1)?).ok()?;
        let group_bits = u32::BITS - last_group.leading_zeros();
        if differ.count_ones() + group_bits > u64::BITS {
            return None;
        }
        let bytes = (0..16)
            .rev()
            .map(|b| 8 * b)
            .filter_map(|shift| {
                let mask = (differ >> shift) as u8;
                (mask != 0).then(|| (shift, mask.count_ones(), compacted(mask)))
            })
            .collect();
        Some(Packing { bytes, group_bits })
    }

    fn group_mask(&self) -> u64 {
        (1u64 << self.group_bits) - 1
    }

    #[inline]
    fn pack(&self, prefix: u128, group: u32) -> u64 {
        let mut v = 0u64;
        for (shift, width, table) in &self.bytes {
            v = (v << width) | table[(prefix >> shift) as u8 as usize] as u64;
        }
        // (with no bits for groups, the only group is 0)
        (v << self.group_bits) | group as u64
    }
}

/// The length of the longest common prefix of `a` and `b`.
fn common_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    // eight bytes at a time, then the first byte that differs
    let words = a[..n].chunks_exact(8).zip(b[..n].chunks_exact(8));
    let mut at = 0;
    for (x, y) in words {
        let diff = u64::from_le_bytes(x.try_into().expect("8 bytes"))
            ^ u64::from_le_bytes(y.try_into().expect("8 bytes"));
        if diff != 0 {
            return at + (diff.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + a[at..n]
        .iter()
        .zip(&b[at..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// For each byte value, its bits under `mask`, moved together in order
/// (the most significant highest): what `pext` does, as a table.
fn compacted(mask: u8) -> [u8; 256] {
    let mut table = [0u8; 256];
    for (byte, out) in table.iter_mut().enumerate() {
        for bit in (0..8).rev().filter(|&bit| mask >> bit & 1 == 1) {
            *out = (*out << 1) | (byte >> bit & 1) as u8;
        }
    }
    table
}

/// Puts each run of `sorted` whose prefixes are `same` in key order: the
/// groups whose keys agree on the 16 bytes sorted by (zero-padded: keys
/// ending in zero bytes tie with shorter ones) and may differ after them.
/// Each run's groups (`group`) are put in order by `sort` and written back
/// (`set`); the runs are sorted in parallel.
fn order_ties<T: Send + Sync>(
    sorted: &mut [T],
    same: impl Fn(&T, &T) -> bool,
    group: impl Fn(&T) -> u32 + Sync,
    set: impl Fn(&mut T, u32) + Sync,
    sort: impl Fn(&mut [u32]) + Sync,
) {
    let mut runs: Vec<&mut [T]> = Vec::new();
    let mut rest = sorted;
    while rest.len() > 1 {
        let len = 1 + rest.windows(2).take_while(|w| same(&w[0], &w[1])).count();
        let (run, tail) = rest.split_at_mut(len);
        if len > 1 {
            runs.push(run);
        }
        rest = tail;
    }
    runs.into_par_iter().for_each(|run| {
        let mut groups: Vec<u32> = run.iter().map(&group).collect();
        sort(&mut groups);
        for (t, g) in run.iter_mut().zip(groups) {
            set(t, g);
        }
    });
}

/// Puts `run` in key order, equal keys in group order: groups whose keys
/// agree on their bytes before `depth` (zero-padded). They are sorted by
/// their next 16 bytes (zero-padded), then by how many bytes they have
/// past `depth` (of two keys whose padded bytes agree, the shorter is a
/// prefix of the longer one), then by group; groups that still agree and
/// whose keys go on past those 16 bytes are sorted the same way by the 16
/// after. Sixteen bytes a level, as integers: a million keys of a text and
/// a number column (their first 16 bytes taken by the text, its
/// terminator and the number's high bytes) sorted by whole keys with
/// `memcmp` took half a million-group run.
///
/// From [`WHOLE_KEYS_FROM`] bytes on, a run is sorted by the rest of its
/// whole keys instead: a level a call, keys that agree on thousands of
/// bytes nested the calls thousands deep and overflowed a worker's stack
/// (three keys of 60 KB that differ only at their ends aborted the run).
fn sort_run<K: ByteKeys>(keys: &K, run: &mut [u32], depth: usize) {
    // past the next 16 bytes: more to compare
    const MORE: i64 = 17;
    if depth >= WHOLE_KEYS_FROM {
        // the keys agree on their bytes before `depth`, zero-padded: the
        // bytes after it, then the length (of keys that end before it, the
        // shorter is a prefix of the longer), are the order of the levels
        let rest = |g: u32| keys.key(g).get(depth..).unwrap_or(&[]);
        let len = |g: u32| keys.key(g).len();
        run.sort_unstable_by(|&a, &b| (rest(a), len(a), a).cmp(&(rest(b), len(b), b)));
        return;
    }
    let mut keyed: Vec<(u128, i64, u32)> = run
        .iter()
        .map(|&g| {
            let key = keys.key(g);
            let rest = key.get(depth..).unwrap_or(&[]);
            let past = (key.len() as i64 - depth as i64).min(MORE);
            (prefix16(rest), past, g)
        })
        .collect();
    if keyed.len() > 1 << 14 {
        keyed.par_sort_unstable();
    } else {
        keyed.sort_unstable();
    }
    for (slot, k) in run.iter_mut().zip(&keyed) {
        *slot = k.2;
    }
    // runs that go on: split off in order, sorted a level deeper
    let mut deeper: Vec<&mut [u32]> = Vec::new();
    let (mut rest, mut from) = (run, 0);
    while !rest.is_empty() {
        let k = &keyed[from];
        let len = if k.1 == MORE {
            keyed[from..]
                .iter()
                .take_while(|o| o.0 == k.0 && o.1 == MORE)
                .count()
        } else {
            1
        };
        let (head, tail) = rest.split_at_mut(len);
        if len > 1 {
            deeper.push(head);
        }
        (rest, from) = (tail, from + len);
    }
    drop(keyed);
    deeper
        .into_par_iter()
        .for_each(|run| sort_run(keys, run, depth + 16));
}

/// How deep into keys [`sort_run`] goes 16 bytes a level (16 levels at
/// the most) before it sorts what still ties by the whole keys' bytes.
const WHOLE_KEYS_FROM: usize = 256;

/// The groups in key order, for typed keys: returns the first group of
/// each run of equal keys, in order, and the states, merged where a run
/// holds several groups.
fn sort_typed_keys(
    groups: &Numbering,
    key_types: &[ColumnType],
    part_states: Vec<StateVecs>,
    plan: &Plan,
) -> (Vec<u32>, FinalStates) {
    let total = groups.total;
    let starts = &groups.starts;
    let (order, new_run) = key_order(groups, key_types);
    let mut remap = vec![0u32; total];
    let mut firsts: Vec<u32> = Vec::new();
    for (&g, new) in order.iter().zip(new_run) {
        if new {
            firsts.push(g);
        }
        remap[g as usize] = (firsts.len() - 1) as u32;
    }
    if firsts.len() == total {
        (firsts, FinalStates::PerTable(part_states))
    } else {
        let mut merged: StateVecs = plan
            .states
            .iter()
            .map(|planned| planned.func.new_states_for(plan.text_extremes))
            .collect();
        for (t, states) in part_states.into_iter().enumerate() {
            let remap = &remap[starts[t] as usize..starts[t + 1] as usize];
            for (new, old) in merged.iter_mut().zip(states) {
                new.merge_from(old, remap);
            }
        }
        (firsts, FinalStates::Merged(merged, remap))
    }
}

/// The groups in key order, and whether each starts a run of equal keys.
fn key_order(groups: &Numbering, key_types: &[ColumnType]) -> (Vec<u32>, Vec<bool>) {
    let Some(mut sorted) = number_keys(groups, key_types) else {
        return value_order(groups, key_types);
    };
    sorted.par_sort_unstable();
    let key = |e: u128| e >> u32::BITS;
    let new_run = (0..sorted.len())
        .map(|i| i == 0 || key(sorted[i - 1]) != key(sorted[i]))
        .collect();
    (sorted.into_iter().map(|e| e as u32).collect(), new_run)
}

/// [`key_order`] for any keys: each group's typed key encoded as bytes
/// that sort as the keys do ([`Encoded`]), the groups sorted by them as
/// text keys are ([`sort_byte_keys`]), equal keys in group order.
///
/// Why not the typed values themselves: sorting a million groups by keys
/// of two columns as `Vec<Value>`s, each comparison two lookups, a match
/// per column and `memcmp` calls, took three times Polars' whole group-by.
fn value_order(groups: &Numbering, key_types: &[ColumnType]) -> (Vec<u32>, Vec<bool>) {
    let encoded = Encoded::new(groups, key_types);
    let order = sort_byte_keys(&encoded);
    let key = |i: usize| encoded.key(order[i]);
    let new_run = (0..order.len())
        .map(|i| i == 0 || key(i - 1) != key(i))
        .collect();
    (order, new_run)
}

/// Every group's typed key as bytes whose order is the keys' order
/// (the tests' `compare_keys`, [`Value::total_cmp`] field by field) and that are
/// equal exactly when the keys are: field by field, a class byte (numbers,
/// then text, then null, as `total_cmp` orders them) and for a number its
/// 8 bytes, big-endian, as an ordered unsigned integer ([`ordered_int`],
/// [`ordered_float`]; a column holds integers or floats, never both), for
/// text its bytes
/// with each zero byte followed by `FF`, then a zero byte. A text's
/// encoding ends in a zero byte followed by nothing or a class byte
/// (below `FF`), so it sorts before every longer text it begins. Each
/// field's encoding is prefix-free, so comparing two keys' bytes compares
/// their first differing fields.
struct Encoded {
    /// Keys of groups `c * ENCODE_CHUNK ..`: their bytes and ends. The
    /// ends are `usize`: a chunk's keys may pass 4 GiB (two text keys of
    /// 2.2 GB did, and a `u32` end panicked).
    chunks: Vec<(Vec<u8>, Vec<usize>)>,
}

/// Groups encoded by one task.
const ENCODE_CHUNK: usize = 1 << 14;

impl Encoded {
    fn new(groups: &Numbering, key_types: &[ColumnType]) -> Encoded {
        let chunks = (0..groups.total.div_ceil(ENCODE_CHUNK))
            .into_par_iter()
            .map(|c| {
                let range = c * ENCODE_CHUNK..groups.total.min((c + 1) * ENCODE_CHUNK);
                let mut bytes = Vec::new();
                let mut ends = Vec::with_capacity(range.len());
                for g in range {
                    for_each_typed_key(groups.key(g as u32), key_types, |v| {
                        encode_value(v, &mut bytes)
                    });
                    ends.push(bytes.len());
                }
                (bytes, ends)
            })
            .collect();
        Encoded { chunks }
    }
}

impl ByteKeys for Encoded {
    fn len(&self) -> usize {
        self.chunks.iter().map(|(_, ends)| ends.len()).sum()
    }

    fn key(&self, g: u32) -> &[u8] {
        let (bytes, ends) = &self.chunks[g as usize / ENCODE_CHUNK];
        let i = g as usize % ENCODE_CHUNK;
        let start = if i == 0 { 0 } else { ends[i - 1] };
        &bytes[start..ends[i]]
    }
}

/// Appends `v`'s encoding (see [`Encoded`]).
fn encode_value(v: ValueRef<'_>, out: &mut Vec<u8>) {
    match v {
        ValueRef::Int(i) => {
            out.push(1);
            match i64::try_from(i) {
                Ok(i) => {
                    out.push(1);
                    out.extend_from_slice(&ordered_int(i).to_be_bytes());
                }
                Err(_) => encode_wide(i < 0, i.unsigned_abs().to_string().as_bytes(), out),
            }
        }
        ValueRef::Float(f) => {
            out.push(1);
            out.extend_from_slice(&ordered_float(f).to_be_bytes());
        }
        ValueRef::Text(t) => {
            out.push(2);
            for piece in t.split_inclusive(|&b| b == 0) {
                out.extend_from_slice(piece);
                if piece.ends_with(&[0]) {
                    out.push(0xFF);
                }
            }
            out.push(0);
        }
        ValueRef::IntDigits(d) => {
            out.push(1);
            match d.strip_prefix(b"-") {
                Some(digits) => encode_wide(true, digits, out),
                None => encode_wide(false, d, out),
            }
        }
        ValueRef::Null => out.push(3),
    }
}

/// Appends an integer wider than 64 bits (its sign, and its digits, no
/// leading zero) after an integer's class byte, ordered among the 64-bit
/// ones (which are `1` and 8 bytes): a negative one is `0`, its number of
/// digits (8 bytes, big-endian: a key of digits may pass 4 GiB) and its digits, every byte inverted (a
/// larger magnitude sorts lower); a positive one `2`, then the same bytes
/// as they are. Each is as long as its length says, so prefix-free.
fn encode_wide(negative: bool, digits: &[u8], out: &mut Vec<u8>) {
    let len = digits.len() as u64;
    if negative {
        out.push(0);
        out.extend_from_slice(&(!len).to_be_bytes());
        out.extend(digits.iter().map(|d| !d));
    } else {
        out.push(2);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(digits);
    }
}

/// For one key column of numbers (integers or floats) whose every key is
/// a number or null: each group's key as a `u128` that sorts as the keys
/// do ([`Value::total_cmp`]), above the group's number, so that the groups
/// sort as plain integers, and equal keys (`7` and `007`) in the order of
/// their groups, as a stable sort by the tests' `compare_keys` puts them. `None`
/// for any other keys (several columns, text, a key that is not a number
/// of its column's type).
///
/// Why: sorting a million groups by their keys as `Vec<Value>`s, each
/// comparison two lookups and a match, took a million integer keys three
/// times as long as Polars' whole group-by.
fn number_keys(groups: &Numbering, key_types: &[ColumnType]) -> Option<Vec<u128>> {
    let &[ty @ (ColumnType::Int | ColumnType::Float)] = key_types else {
        return None;
    };
    // numbers below null: numbers are ordered unsigned integers of 64
    // bits, null the bit above them
    const NULL: u128 = 1 << 64;
    (0..groups.total as u32)
        .into_par_iter()
        .map(|g| {
            let mut key = None;
            for_each_typed_key(groups.key(g), &[ty], |v| {
                key = match v {
                    ValueRef::Null => Some(NULL),
                    ValueRef::Int(i) => i64::try_from(i).ok().map(|i| ordered_int(i) as u128),
                    ValueRef::Float(f) => Some(ordered_float(f) as u128),
                    ValueRef::Text(_) | ValueRef::IntDigits(_) => None,
                }
            });
            key.map(|k| (k << u32::BITS) | g as u128)
        })
        .collect()
}

/// `i` as an unsigned integer of the same order.
fn ordered_int(i: i64) -> u64 {
    (i as u64) ^ (1 << 63)
}

/// `f` as an unsigned integer ordered as [`f64::total_cmp`] orders floats.
fn ordered_float(f: f64) -> u64 {
    let bits = f.to_bits();
    // negative floats: every bit flipped (a larger magnitude sorts lower);
    // the rest: the sign bit set, above every negative
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Where the final states of the groups are: still in their tables, or
/// merged into one vector (`remap[g]` is group `g`'s index) where typed
/// keys made groups equal.
enum FinalStates {
    PerTable(Vec<StateVecs>),
    Merged(StateVecs, Vec<u32>),
}

/// The table: a row per group in `firsts` (the groups in key order), its
/// typed key and its aggregates' values.
fn build(
    plan: &Plan,
    types: &[ColumnType],
    groups: &Numbering,
    key_types: &[ColumnType],
    firsts: Vec<u32>,
    states: &FinalStates,
) -> Table {
    let columns = plan.output_names();
    let total = groups.total;
    // group g, which is group i of table t
    let state_at = |g: u32, t: usize, i: u32| -> (&StateVecs, usize) {
        match &states {
            FinalStates::PerTable(per) => (&per[t], i as usize),
            FinalStates::Merged(merged, remap) => (merged, remap[g as usize] as usize),
        }
    };
    // Rows are stored in group order, which walks the keys and states in
    // memory order (in key order every group would be a few cache
    // misses); the table reads them in key order through `firsts`.
    let merged_away: Option<Vec<bool>> = match &states {
        FinalStates::PerTable(_) => None,
        FinalStates::Merged(..) => {
            let mut away = vec![true; total];
            firsts.iter().for_each(|&g| away[g as usize] = false);
            Some(away)
        }
    };
    let wanted = |g: u32| merged_away.as_ref().is_none_or(|away| !away[g as usize]);
    let facts: Vec<ColumnFacts> = (0..plan.aggs.len())
        .map(|i| match &states {
            FinalStates::PerTable(per) => column_facts(plan, types, i, per.iter()),
            FinalStates::Merged(merged, _) => column_facts(plan, types, i, std::iter::once(merged)),
        })
        .collect();
    let width = columns.len();
    // per aggregate: answers that may miss its bound, and why
    let beyond: Vec<(AtomicUsize, OnceLock<&str>)> = (plan.aggs.iter())
        .map(|_| (AtomicUsize::new(0), OnceLock::new()))
        .collect();
    // Where aggregates share a state (the quantiles of a column), each
    // group's finish goes state by state; else aggregate by aggregate,
    // with nothing allocated per group.
    let together = {
        let of_states = aggregates_of_states(plan);
        of_states
            .iter()
            .any(|(_, aggs, _)| aggs.len() > 1)
            .then_some(of_states)
    };
    let fill = |g: usize, out: &mut RowBuilder<'_>| {
        let g = g as u32;
        if !wanted(g) {
            // merged into another group's row: never read
            (0..width).for_each(|_| out.push_ref(ValueRef::Null));
            return;
        }
        let (t, i) = groups.locate(g);
        for_each_typed_key(groups.keysets[t].get(i), key_types, |v| out.push_ref(v));
        let (states, i) = state_at(g, t, i);
        if let Some(together) = &together {
            // a state's aggregates finish together, then go in order
            let mut row = vec![Value::Null; plan.aggs.len()];
            for (state, aggs, funcs) in together {
                let ty = agg_type(plan, types, aggs[0]);
                let values = states[*state].finish_each(i, ty, funcs, &facts[aggs[0]]);
                aggs.iter().zip(values).for_each(|(&a_i, v)| row[a_i] = v);
            }
            row.into_iter().for_each(|v| out.push(v));
        } else {
            for (a_i, a) in plan.aggs.iter().enumerate() {
                let ty = agg_type(plan, types, a_i);
                out.push(states[a.state].finish(i, ty, &a.spec.func, &facts[a_i]));
            }
        }
        for (a_i, a) in plan.aggs.iter().enumerate() {
            if let Some(why) = states[a.state].beyond_bound(i, &a.spec.func) {
                beyond[a_i].0.fetch_add(1, Ordering::Relaxed);
                beyond[a_i].1.get_or_init(|| why);
            }
        }
    };
    let groups = firsts.len();
    let mut table = Table::build_parallel(columns, total, Some(firsts), fill);
    let beyond: Vec<(usize, Option<&str>)> = (beyond.into_iter())
        .map(|(n, why)| (n.into_inner(), why.into_inner()))
        .collect();
    table.notes = beyond_bound_notes(plan, &beyond, Some(groups));
    table
}

/// The first 16 bytes as a big-endian integer, zero-padded: comparing these
/// orders keys as their bytes do, except on ties (then compare in full).
fn prefix16(key: &[u8]) -> u128 {
    // the little-endian head, byte-swapped: byte 0 most significant
    crate::keyset::head(key).swap_bytes()
}

#[cfg(test)]
fn compare_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Calls `f` with each field of an encoded key, typed.
fn for_each_typed_key(key: &[u8], types: &[ColumnType], mut f: impl FnMut(ValueRef<'_>)) {
    if let [ty] = types {
        // one key column: no need to split fields (nor to allocate for it)
        f(match key.split_first() {
            Some((&crate::batch::VALUE_TAG, field)) => typed_key(Some(field), *ty),
            _ => ValueRef::Null,
        });
        return;
    }
    let fields = decode_key(key, types.len());
    for (field, &ty) in fields.iter().zip(types) {
        f(typed_key(field.as_deref(), ty));
    }
}

/// A key field as a value of its column's type.
fn typed_key(field: Option<&[u8]>, ty: ColumnType) -> ValueRef<'_> {
    let Some(raw) = field else {
        return ValueRef::Null;
    };
    match ty {
        ColumnType::Int => match parse_int_field(raw) {
            Some(v) => ValueRef::Int(v.into()),
            // a key of a column of integers wider than 64 bits
            // ([`wide_integer_keys`]): as `i128` where it fits, as a sum
            // is, else its digits
            None if crate::number::plain_integer(raw) => crate::number::plain_integer_i128(raw)
                .map_or(ValueRef::IntDigits(raw), ValueRef::Int),
            None => ValueRef::Text(raw),
        },
        ColumnType::Float => match parse_float_field(raw) {
            // One key for 0.0 and -0.0 (equal numbers), printed 0.0; one
            // for every NaN (`nan`, `NaN`, `-nan`, any payload: a store or
            // Parquet input keeps no spelling, and the key must not depend
            // on the input kind), positive, so that it sorts after every
            // number, +inf included, and before the null key.
            Some(0.0) => ValueRef::Float(0.0),
            Some(v) if v.is_nan() => ValueRef::Float(f64::NAN),
            Some(v) => ValueRef::Float(v),
            None => ValueRef::Text(raw),
        },
        _ => ValueRef::Text(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in tables (as partitions would hold them) come back in byte
    /// order: keys sharing long prefixes, keys that are prefixes of
    /// others, zero bytes (padding must not tie them), keys that agree on
    /// the 16 bytes compared inline and differ after.
    #[test]
    fn text_keys_sort_in_byte_order() {
        let mut keys: Vec<Vec<u8>> = [
            &b"key_"[..],
            b"key_\0",
            b"key_\0\0",
            b"key_a",
            b"key_aaaaaaaaaaaa",
            b"key_aaaaaaaaaaaa\0",
            b"key_aaaaaaaaaaaa1",
            b"key_aaaaaaaaaaaaaaaa2",
            b"key_aaaaaaaaaaaaaaaa1",
            b"key_\xff",
        ]
        .iter()
        .map(|k| k.to_vec())
        .collect();
        keys.extend((0..3000u32).map(|i| format!("key_{:07}", i * 7919 % 3000).into_bytes()));
        // keys that agree on thousands of bytes (each 16 a level of
        // `sort_run` once, which overflowed the stack), and around the
        // depth where the whole keys decide (`WHOLE_KEYS_FROM`)
        let long = |n: usize, end: &[u8]| [b"key_", &vec![b'z'; n][..], end].concat();
        for n in [
            100_000,
            WHOLE_KEYS_FROM - 21,
            WHOLE_KEYS_FROM - 4,
            WHOLE_KEYS_FROM + 9,
        ] {
            for end in [&b""[..], b"\0", b"\0\0", b"0", b"1", b"\xff", b"0\0"] {
                keys.push(long(n, end));
            }
        }
        for shared in [true, false] {
            let mut keys = keys.clone();
            if !shared {
                keys.push(Vec::new());
                keys.push(b"a".to_vec());
            }
            let mut tables: Vec<GroupTable> = (0..5)
                .map(|_| GroupTable {
                    groups: KeySet::new(),
                    states: Vec::new(),
                })
                .collect();
            for (i, k) in keys.iter().enumerate() {
                tables[i * 31 % 5].groups.intern(k);
            }
            let (groups, _) = Numbering::new(tables);
            let got: Vec<&[u8]> = sort_text_keys(&groups)
                .into_iter()
                .map(|g| groups.key(g))
                .collect();
            let mut want: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
            want.sort();
            assert_eq!(got, want, "shared prefix: {shared}");
        }
        let none = Numbering::new(Vec::new()).0;
        assert!(sort_text_keys(&none).is_empty());
    }

    /// Groups numbered in key order (consecutive runs of sorted keys per
    /// table, as the coded group-by numbers them) come back as they are;
    /// one pair out of order anywhere, and they are sorted.
    #[test]
    fn text_keys_in_order_already_stay_so() {
        let sorted: Vec<Vec<u8>> = (0..20_000u32)
            .map(|i| format!("k{i:06}").into_bytes())
            .collect();
        let numbered = |keys: &[Vec<u8>]| {
            let tables: Vec<GroupTable> = keys
                .chunks(3001)
                .map(|chunk| {
                    let mut groups = KeySet::new();
                    chunk.iter().for_each(|k| _ = groups.intern(k));
                    GroupTable {
                        groups,
                        states: Vec::new(),
                    }
                })
                .collect();
            Numbering::new(tables).0
        };
        let groups = numbered(&sorted);
        assert!(sort_text_keys(&groups).into_iter().eq(0..20_000));
        for swap in [0, 3000, 9999, 19_998] {
            let mut keys = sorted.clone();
            keys.swap(swap, swap + 1);
            let groups = numbered(&keys);
            let got: Vec<&[u8]> = sort_text_keys(&groups)
                .into_iter()
                .map(|g| groups.key(g))
                .collect();
            assert!(
                got.iter().zip(&sorted).all(|(g, w)| g == w),
                "swap at {swap}"
            );
        }
    }

    /// `keys` spread over `parts` tables, then sorted: the keys in the
    /// order `sort_text_keys` gives, whether it packed them, and the bytes
    /// all keys share that it skipped.
    fn sorted_keys(keys: &[Vec<u8>], parts: usize) -> (Vec<Vec<u8>>, bool, usize) {
        let mut tables: Vec<GroupTable> = (0..parts)
            .map(|_| GroupTable {
                groups: KeySet::new(),
                states: Vec::new(),
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            tables[i * 31 % parts].groups.intern(k);
        }
        let (groups, _) = Numbering::new(tables);
        let bits = prefix_bits(&groups);
        let (packed, skipped) = (Packing::of(&bits, groups.len()).is_some(), bits.skipped);
        let got = sort_text_keys(&groups)
            .into_iter()
            .map(|g| groups.key(g).to_vec())
            .collect();
        (got, packed, skipped)
    }

    /// Keys that differ in few bits are packed, and still come back in
    /// byte order where their 16-byte prefixes tie (longer keys, trailing
    /// zero bytes); keys that differ in many bits take the wide sort.
    #[test]
    fn packed_and_wide_sorts_agree_with_byte_order() {
        let mut digits: Vec<Vec<u8>> = (0..20_000u32)
            .map(|i| format!("key_{:07}", i * 7919 % 20_000).into_bytes())
            .collect();
        digits.extend([
            b"key_0000001\0".to_vec(),
            b"key_0000001\0\0".to_vec(),
            b"key_0000001234567b".to_vec(),
            b"key_0000001234567a".to_vec(),
            b"key_0000001234567".to_vec(),
        ]);
        let mut want = digits.clone();
        want.sort();
        let (got, packed, skipped) = sorted_keys(&digits, 7);
        assert!(packed);
        assert_eq!(skipped, 0);
        assert_eq!(got, want);

        // keys sharing their first 25 bytes, one of them that prefix itself,
        // one the prefix and a zero byte
        let url = "https://example.com/item/";
        let mut urls: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| format!("{url}{:07}", i * 7919 % 5000).into_bytes())
            .collect();
        urls.extend([url.as_bytes().to_vec(), format!("{url}\0").into_bytes()]);
        let mut want = urls.clone();
        want.sort();
        let (got, packed, skipped) = sorted_keys(&urls, 3);
        assert!(packed);
        assert_eq!(skipped, url.len());
        assert_eq!(got, want);

        // random keys of a few letters, random lengths, shared prefixes:
        // sometimes packed, sometimes not
        let mut state = 3u64;
        let (mut paths, mut skips) = ([0; 2], 0);
        for round in 0..200 {
            let alphabet: &[u8] = [&b"ab"[..], b"a\0", b"abcdefgh", b"\x00\x7f\x80\xff"][round % 4];
            let prefix = &b"prefix_of_sixteen_bytes"[..round % 24];
            let n = 1 + crate::testing::xorshift(&mut state) as usize % 300;
            let mut keys: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let r = crate::testing::xorshift(&mut state);
                    let len = r as usize % 24;
                    let mut k = prefix.to_vec();
                    k.extend(
                        (0..len)
                            .map(|i| alphabet[(r >> (8 + 2 * i % 48)) as usize % alphabet.len()]),
                    );
                    k
                })
                .collect();
            keys.sort();
            keys.dedup();
            let mut shuffled = keys.clone();
            shuffled.sort_by_key(|k| crate::keyset::head(k).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (got, packed, skipped) = sorted_keys(&shuffled, 1 + round % 5);
            paths[packed as usize] += 1;
            skips += (skipped > 0) as usize;
            assert_eq!(got, keys, "round {round}");
        }
        assert!(
            paths[0] > 10 && paths[1] > 10 && skips > 10,
            "{paths:?} {skips}"
        );
    }

    /// What [`value_order`] computes, as it did before keys were encoded:
    /// each key typed as `Value`s, the groups sorted by them with a stable
    /// sort.
    fn value_order_reference(
        groups: &Numbering,
        key_types: &[ColumnType],
    ) -> (Vec<u32>, Vec<bool>) {
        let typed = |g: u32| -> Vec<Value> {
            let mut values = Vec::new();
            for_each_typed_key(groups.key(g), key_types, |v| values.push(v.to_value()));
            values
        };
        let keys: Vec<Vec<Value>> = (0..groups.total as u32).map(typed).collect();
        let mut order: Vec<u32> = (0..groups.total as u32).collect();
        order.sort_by(|&a, &b| compare_keys(&keys[a as usize], &keys[b as usize]));
        let key = |i: usize| &keys[order[i] as usize];
        let new_run = (0..order.len())
            .map(|i| i == 0 || compare_keys(key(i - 1), key(i)).is_ne())
            .collect();
        (order, new_run)
    }

    /// Keys of several columns of every type, encoded and sorted as bytes,
    /// come back in the order, and with the runs of equal keys, of the
    /// typed values: numbers of both kinds and spellings, text with zero
    /// bytes and empty text, nulls.
    /// A key column is read as integers wider than 64 bits only when every
    /// key is an integer spelled one way (no `+`, blanks, leading zero)
    /// and one is that wide.
    #[test]
    fn wide_integer_key_columns() {
        use crate::value::{Column, Data};
        let numbering = |keys: &[(&[u8], &[u8])]| {
            let mut table = GroupTable {
                groups: KeySet::new(),
                states: Vec::new(),
            };
            let (a, b): (Vec<&[u8]>, Vec<&[u8]>) = keys.iter().copied().unzip();
            let valid: Vec<bool> = a.iter().map(|f| !f.is_empty()).collect();
            let mut key = Vec::new();
            for row in 0..keys.len() {
                key.clear();
                for (c, fields) in [&a, &b].into_iter().enumerate() {
                    let col = Column {
                        len: keys.len(),
                        data: Data::Text(fields),
                        valid: Some(if c == 0 {
                            &valid
                        } else {
                            &[true; 8][..keys.len()]
                        }),
                        raw: Some(fields),
                    };
                    crate::batch::encode_key(&col, row, c == 1, &mut key);
                }
                table.groups.intern(&key);
            }
            Numbering::new(vec![table]).0
        };
        let wide: &[u8] = b"18446744073709551616";
        let groups = numbering(&[(b"1", b"x"), (wide, b"y"), (b"", b"z"), (b"-3", b"5")]);
        assert!(wide_integer_keys(&groups, 0, 2));
        assert!(!wide_integer_keys(&groups, 1, 2), "words");
        for odd in [&b"+1"[..], b" 1", b"01", b"-0", b"1.0", b"x"] {
            let groups = numbering(&[(odd, b"x"), (wide, b"y")]);
            assert!(!wide_integer_keys(&groups, 0, 2), "{odd:?}");
        }
        let groups = numbering(&[(b"10", b"x"), (b"9", b"y")]);
        assert!(!wide_integer_keys(&groups, 0, 2), "no key past 64 bits");
    }

    #[test]
    fn encoded_keys_sort_as_values() {
        use crate::value::{Column, Data};
        // with integers past 64 and 128 bits, which an integer key column
        // of them holds (`wide_integer_keys`)
        let words: [&[u8]; 23] = [
            b"7",
            b"007",
            b"-0.0",
            b"0",
            b"NaN",
            b"-inf",
            b"1.5",
            b"",
            b"a",
            b"a\0",
            b"a\0\0",
            b"a\x01",
            b"\0",
            b"\xff",
            b"12",
            b"-3",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"170141183460469231731687303715884105728",
            b"-170141183460469231731687303715884105729",
            b"-1701411834604692317316873037158841057290",
            b"99999999999999999999999999999999999999999",
        ];
        let types = [ColumnType::Int, ColumnType::Float, ColumnType::Text];
        let mut state = 77u64;
        for round in 0..120 {
            let width = 1 + round % 3;
            let key_types: Vec<ColumnType> =
                (0..width).map(|c| types[(round / 3 + c) % 3]).collect();
            let rows = 1 + (crate::testing::xorshift(&mut state) % 400) as usize;
            // per column: its fields and validity
            let columns: Vec<(Vec<&[u8]>, Vec<bool>)> = (0..width)
                .map(|_| {
                    (0..rows)
                        .map(|_| {
                            let r = crate::testing::xorshift(&mut state);
                            (words[r as usize % words.len()], !(r >> 8).is_multiple_of(9))
                        })
                        .unzip()
                })
                .collect();
            let mut table = GroupTable {
                groups: KeySet::new(),
                states: Vec::new(),
            };
            let mut key = Vec::new();
            for row in 0..rows {
                key.clear();
                for (c, (fields, valid)) in columns.iter().enumerate() {
                    let col = Column {
                        len: rows,
                        data: Data::Text(fields),
                        valid: Some(valid),
                        raw: Some(fields),
                    };
                    crate::batch::encode_key(&col, row, c + 1 == width, &mut key);
                }
                table.groups.intern(&key);
            }
            let (groups, _) = Numbering::new(vec![table]);
            assert_eq!(
                value_order(&groups, &key_types),
                value_order_reference(&groups, &key_types),
                "{key_types:?}"
            );
            if width == 1 && key_types[0] != ColumnType::Text {
                assert_eq!(
                    key_order(&groups, &key_types),
                    value_order_reference(&groups, &key_types),
                );
            }
        }
    }

    /// Number keys sorted as `u128`s come back in the order, and with the
    /// runs of equal keys, that sorting them as `Value`s gives: integers
    /// (`7`, `007`, `+7`, the ends of `i64`), floats (`-0.0` and `0.0`,
    /// NaNs, infinities, subnormals), nulls.
    #[test]
    fn number_keys_sort_as_values() {
        let ints = [
            "7",
            "007",
            "+7",
            "-7",
            "0",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
            "12",
            "120",
            " 5",
        ];
        let floats = [
            "0.0", "-0.0", "0", "1.5", "-1.5", "1e300", "-1e300", "inf", "-inf", "NaN", "nan",
            "-nan", "5e-324", "-5e-324", "2.5", "2.50", "7",
        ];
        let mut state = 21u64;
        for (ty, words) in [
            (ColumnType::Int, &ints[..]),
            (ColumnType::Float, &floats[..]),
        ] {
            for round in 0..50 {
                let mut keys: Vec<Vec<u8>> = Vec::new();
                for _ in 0..1 + round * 7 {
                    let r = crate::testing::xorshift(&mut state);
                    let mut key = match r % 13 {
                        0 => vec![crate::batch::NULL_TAG],
                        _ => {
                            let word = words[(r >> 8) as usize % words.len()];
                            let mut k = vec![crate::batch::VALUE_TAG];
                            k.extend_from_slice(word.as_bytes());
                            k
                        }
                    };
                    if (r >> 32).is_multiple_of(3) && ty == ColumnType::Int {
                        // other integers, some equal to the words'
                        key = vec![crate::batch::VALUE_TAG];
                        key.extend_from_slice(
                            ((r >> 40) as i64 % 200 - 100).to_string().as_bytes(),
                        );
                    }
                    keys.push(key);
                }
                keys.sort();
                keys.dedup();
                let mut tables: Vec<GroupTable> = (0..1 + round % 4)
                    .map(|_| GroupTable {
                        groups: KeySet::new(),
                        states: Vec::new(),
                    })
                    .collect();
                let n = tables.len();
                for (i, k) in keys.iter().enumerate() {
                    tables[i * 7 % n].groups.intern(k);
                }
                let (groups, _) = Numbering::new(tables);
                assert!(number_keys(&groups, &[ty]).is_some());
                assert!(number_keys(&groups, &[ty, ty]).is_none());
                assert_eq!(
                    key_order(&groups, &[ty]),
                    value_order_reference(&groups, &[ty]),
                    "{ty:?}, round {round}"
                );
                assert_eq!(
                    value_order(&groups, &[ty]),
                    value_order_reference(&groups, &[ty])
                );
            }
        }
    }

    #[test]
    fn keys_not_numbers_are_sorted_as_values() {
        let mut table = GroupTable {
            groups: KeySet::new(),
            states: Vec::new(),
        };
        for k in [&b"\x017"[..], b"\x01abc", b"\x02"] {
            table.groups.intern(k);
        }
        let (groups, _) = Numbering::new(vec![table]);
        assert!(number_keys(&groups, &[ColumnType::Int]).is_none());
        assert!(number_keys(&groups, &[ColumnType::Text]).is_none());
        assert_eq!(key_order(&groups, &[ColumnType::Int]).0, vec![0, 1, 2]);
    }

    #[test]
    fn common_lengths() {
        let mut state = 9u64;
        for _ in 0..2000 {
            let r = crate::testing::xorshift(&mut state);
            let a: Vec<u8> = (0..r % 40).map(|i| (i % 7) as u8).collect();
            let mut b = a[..(r >> 8) as usize % (a.len() + 1)].to_vec();
            if (r >> 16).is_multiple_of(2) {
                b.push(9);
            }
            b.extend((0..(r >> 24) % 20).map(|i| i as u8));
            let want = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            assert_eq!(common_len(&a, &b), want, "{a:?} {b:?}");
            assert_eq!(common_len(&b, &a), want);
        }
    }

    /// Keys that agree on their first 16, 32, 48 bytes (zero bytes at
    /// every level's end, keys that end at every level) are ordered
    /// level by level.
    #[test]
    fn long_ties_sort_level_by_level() {
        let mut state = 5u64;
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for _ in 0..3000 {
            let r = crate::testing::xorshift(&mut state);
            // two stems, so that no bytes are shared by all keys
            let mut k = if r.is_multiple_of(2) {
                b"a".to_vec()
            } else {
                b"b".to_vec()
            };
            let len = (r >> 8) as usize % 60;
            k.extend((0..len).map(|i| {
                let bit = (r >> (16 + i % 40)) & 1;
                if i % 16 == 15 || bit == 0 {
                    0
                } else {
                    b'x'
                }
            }));
            keys.push(k);
        }
        keys.extend([
            vec![b'a'; 33],
            vec![b'a'; 32],
            [vec![b'a'; 32], vec![0]].concat(),
        ]);
        keys.sort();
        keys.dedup();
        let want = keys.clone();
        // (tables hold disjoint keys)
        keys.sort_by_key(|k| crate::keyset::head(k).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (got, _, skipped) = sorted_keys(&keys, 4);
        assert_eq!(skipped, 0);
        assert_eq!(got, want);
    }

    #[test]
    fn compacted_bits_keep_their_order() {
        for mask in 0..=255u8 {
            let table = compacted(mask);
            for byte in 0..=255u8 {
                let mut want = 0u8;
                let mut at = 0;
                for bit in 0..8 {
                    if mask >> bit & 1 == 1 {
                        want |= (byte >> bit & 1) << at;
                        at += 1;
                    }
                }
                assert_eq!(table[byte as usize], want, "mask {mask:#x} byte {byte:#x}");
            }
        }
    }
}
