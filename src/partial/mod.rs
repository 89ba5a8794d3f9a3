//! Partial results: the mergeable state of a set of aggregates (optionally
//! per group) over some rows, and how it becomes the final table.
//!
//! A worker folds its batches into one hash table of groups. Past
//! `radix::RADIX_GROUPS` groups that table no longer fits any cache, and
//! the worker switches to the radix-partitioned layout of `radix`: rows
//! are buffered by hash partition and aggregated partition by partition.

mod radix;

use std::sync::Arc;

use rayon::prelude::*;

use crate::agg::{BadValue, Groups, StateVec};
use crate::batch::{decode_key, encode_key, Batch};
use crate::keyset::KeySet;
use crate::number::{parse_float_field, parse_int_field};
use crate::plan::Plan;
pub use crate::table::Table;
use crate::table::{RowBuilder, ValueRef};
use crate::value::{ColumnType, Value};

use radix::Radix;
pub use radix::SharedParts;

/// One state vector per aggregate.
type StateVecs = Vec<Box<dyn StateVec>>;

/// Past this many groups, a batch's rows are folded one by one rather than
/// sorted into runs per group.
const MANY_GROUPS: usize = 1024;

/// A value an aggregate rejected, located in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    pub row: usize,
    /// Index of the aggregate in the plan.
    pub agg: usize,
}

/// A hash aggregate: group keys (encoded with [`encode_key`]), numbered by
/// first appearance, and one state vector per planned state
/// (`Plan::states`). Without `--by`, one keyless group.
struct GroupTable {
    groups: KeySet,
    states: StateVecs,
}

impl GroupTable {
    fn new(plan: &Plan) -> Self {
        Self::with_keys(plan, KeySet::new())
    }

    fn with_keys(plan: &Plan, groups: KeySet) -> Self {
        GroupTable {
            groups,
            states: plan
                .states
                .iter()
                .map(|s| s.func.new_states_for(plan.text_extremes))
                .collect(),
        }
    }

    /// Makes sure every state vector covers every group.
    fn resize_states(&mut self) {
        for s in &mut self.states {
            s.resize(self.groups.len());
        }
    }

    /// Absorbs `other`. Exact merges make the order irrelevant to the
    /// answer.
    fn absorb(&mut self, mut other: GroupTable) {
        // absorbing the smaller table into the larger is cheaper
        if other.groups.len() > self.groups.len() {
            std::mem::swap(self, &mut other);
        }
        let remap: Vec<u32> = if other.groups.is_empty() && self.groups.is_empty() {
            vec![0]
        } else {
            self.groups.absorb(&other.groups)
        };
        for (mine, theirs) in self.states.iter_mut().zip(other.states) {
            mine.merge_from(theirs, &remap);
        }
    }

    fn complete(&self, plan: &Plan, types: &[ColumnType]) -> bool {
        plan.states
            .iter()
            .zip(&self.states)
            .all(|(planned, states)| {
                let ty = planned.slot.map_or(ColumnType::Null, |s| types[s]);
                states.complete(ty)
            })
    }
}

/// The partial result of the plan's aggregates over some rows.
pub struct Partial {
    /// Widest type seen per slot.
    types: Vec<ColumnType>,
    /// Where batches are folded (all of them, until a group-by has many
    /// groups).
    table: GroupTable,
    /// Rows buffered by hash partition, once `table` has many groups.
    radix: Option<Box<Radix>>,
    /// After a partitioned merge: one table per hash partition, with
    /// disjoint keys (`table` is then empty).
    parts: Vec<GroupTable>,
    scratch: GroupScratch,
    /// Groups in `table` past which batches are partitioned, and bytes of
    /// buffered rows per fold ([`radix::RADIX_GROUPS`],
    /// [`radix::worker_budget`] when `None`; tests lower them).
    radix_after: usize,
    radix_budget: Option<usize>,
    /// Where partitioned rows are folded when the buffers are full: shared
    /// by the run's workers, or this partial's own when `None`.
    shared: Option<Arc<SharedParts>>,
}

#[derive(Default)]
struct GroupScratch {
    /// The batch's encoded keys, back to back; `key_ends[row]` ends row's.
    key: Vec<u8>,
    key_ends: Vec<usize>,
    ids: Vec<u32>,
    order: Vec<u32>,
    runs: Vec<(u32, u32, u32)>,
    /// Per group: rows in the batch, then where its run starts in `order`.
    counts: Vec<u32>,
    /// Short single-column keys seen so far and their group ids.
    short_keys: ShortKeys,
}

impl Partial {
    pub fn new(plan: &Plan) -> Partial {
        Partial {
            types: vec![ColumnType::Null; plan.slots()],
            table: GroupTable::new(plan),
            radix: None,
            parts: Vec::new(),
            scratch: GroupScratch::default(),
            radix_after: radix::RADIX_GROUPS,
            radix_budget: None,
            shared: None,
        }
    }

    /// A partial for one worker of a run whose workers fold their
    /// partitioned rows into the same tables (see [`SharedParts`]).
    pub fn sharing(plan: &Plan, shared: &Arc<SharedParts>) -> Partial {
        Partial {
            shared: Some(Arc::clone(shared)),
            ..Partial::new(plan)
        }
    }

    /// A partial that partitions past `radix_after` groups and folds its
    /// buffers every `radix_budget` bytes.
    #[cfg(test)]
    fn with_limits(plan: &Plan, radix_after: usize, radix_budget: usize) -> Partial {
        Partial {
            radix_after,
            radix_budget: Some(radix_budget),
            ..Partial::new(plan)
        }
    }

    /// Folds a batch in. On a rejected value, returns the earliest row (and
    /// the first aggregate, in plan order, that rejected it).
    pub fn fold(&mut self, plan: &Plan, batch: &Batch<'_>) -> Result<(), Rejected> {
        for (t, &b) in self.types.iter_mut().zip(&batch.types) {
            *t = t.widen(b);
        }
        if !plan.keys.is_empty() {
            if let Some(radix) = self.radix.as_deref_mut() {
                if radix.accepts(batch) {
                    self.scratch.encode_keys(plan, batch);
                    radix.push(plan, batch, &self.scratch);
                    return Ok(());
                }
            }
        }
        let result = self.fold_direct(plan, batch);
        if self.radix.is_none()
            && !plan.keys.is_empty()
            && self.table.groups.len() > self.radix_after
        {
            let budget = self.radix_budget.unwrap_or_else(radix::worker_budget);
            let shared = self.shared.clone().unwrap_or_else(SharedParts::new);
            let radix = Radix::new(plan, &self.table.states, budget, shared);
            self.radix = Some(Box::new(radix));
        }
        result
    }

    /// Folds a batch into `table`.
    fn fold_direct(&mut self, plan: &Plan, batch: &Batch<'_>) -> Result<(), Rejected> {
        let rows_only = crate::value::Column::rows(batch.len);
        let groups = if plan.keys.is_empty() {
            Groups::Scalar
        } else {
            let groups = &mut self.table.groups;
            let per_row = if self.scratch.short_key_ids(plan, batch, groups) {
                self.scratch.group_runs(groups.len(), batch.len)
            } else {
                self.scratch.encode_keys(plan, batch);
                self.scratch.assign_groups(groups, batch.len)
            };
            self.table.resize_states();
            if per_row {
                Groups::PerRow {
                    ids: &self.scratch.ids,
                }
            } else {
                Groups::Grouped {
                    order: &self.scratch.order,
                    runs: &self.scratch.runs,
                }
            }
        };
        let mut first: Option<Rejected> = None;
        for (planned, state) in plan.states.iter().zip(&mut self.table.states) {
            let col = planned.slot.map_or(&rows_only, |s| &batch.columns[s]);
            if let Err(BadValue { row }) = state.update(col, &groups) {
                if first.is_none_or(|f| (row, planned.first_agg) < (f.row, f.agg)) {
                    first = Some(Rejected {
                        row,
                        agg: planned.first_agg,
                    });
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Merges partials (one per worker) into one.
    ///
    /// Without partitioned workers: pairwise in parallel, a tree of depth
    /// log2(n) instead of a chain of n - 1 merges (with many threads and
    /// many groups the chain was the serial tail of a run). With them:
    /// partition by partition in parallel (`radix::reduce`). Exact merges
    /// and sorted output make the merge order irrelevant to the answer.
    pub fn merge_all(plan: &Plan, partials: Vec<Partial>) -> Partial {
        let mut types = vec![ColumnType::Null; plan.slots()];
        let mut tables = Vec::with_capacity(partials.len());
        let mut radixes = Vec::new();
        for p in partials {
            for (t, o) in types.iter_mut().zip(&p.types) {
                *t = t.widen(*o);
            }
            tables.push(p.table);
            radixes.extend(p.radix.map(|r| *r));
            debug_assert!(p.parts.is_empty(), "merging merged partials");
        }
        let mut merged = Partial {
            types,
            ..Partial::new(plan)
        };
        if radixes.is_empty() {
            merged.table = tables
                .into_par_iter()
                .reduce_with(|mut a, b| {
                    a.absorb(b);
                    a
                })
                .unwrap_or_else(|| GroupTable::new(plan));
        } else {
            merged.parts = radix::reduce(plan, radixes, tables);
        }
        merged
    }

    /// The tables holding the groups: `parts` after a partitioned merge,
    /// else `table`.
    fn tables(&self) -> std::slice::Iter<'_, GroupTable> {
        if self.parts.is_empty() {
            std::slice::from_ref(&self.table).iter()
        } else {
            self.parts.iter()
        }
    }

    /// Whether [`finish`](Self::finish) can answer: false when a state bet
    /// on a column's type and lost (see [`crate::agg::AggState::complete`]);
    /// then the map must run again with `plan.text_extremes` set.
    pub fn complete(&self, plan: &Plan) -> bool {
        debug_assert!(self.radix.is_none(), "complete() after merge_all");
        self.tables().all(|t| t.complete(plan, &self.types))
    }

    /// The final table: one row, or one row per group sorted by key.
    pub fn finish(self, plan: &Plan) -> Table {
        let columns = plan.output_names();
        let types = &self.types;
        let agg_type = |i: usize| plan.aggs[i].slot.map_or(ColumnType::Null, |s| types[s]);
        if plan.keys.is_empty() {
            // in parallel: a quantile's finish selects among every value
            let states = &self.table.states;
            let row = (plan.aggs.par_iter().enumerate())
                .map(|(i, a)| states[a.state].finish(0, agg_type(i), &a.spec.func))
                .collect();
            return Table::from_rows(columns, vec![row]);
        }
        let tables = if self.parts.is_empty() {
            vec![self.table]
        } else {
            self.parts
        };
        // Groups are numbered globally: table t's group i is `starts[t] + i`.
        let mut starts = Vec::with_capacity(tables.len() + 1);
        let mut keysets = Vec::with_capacity(tables.len());
        let mut part_states = Vec::with_capacity(tables.len());
        let mut total = 0usize;
        for t in tables {
            starts.push(total as u32);
            total += t.groups.len();
            keysets.push(t.groups);
            part_states.push(t.states);
        }
        starts.push(total as u32);
        // The table of every 1024th group, so that finding a group's table
        // is a step or two forward from there, not a binary search over
        // 256 partitions (a million groups are located twice each: that
        // search was 3% of a million-group run's CPU).
        const BLOCK: u32 = 1024;
        let block_tables: Vec<usize> = (0..=total as u32 / BLOCK)
            .map(|b| {
                starts
                    .partition_point(|&s| s <= b * BLOCK)
                    .saturating_sub(1)
            })
            .collect();
        let locate = |g: u32| -> (usize, u32) {
            let mut t = block_tables[(g / BLOCK) as usize];
            while starts[t + 1] <= g {
                t += 1;
            }
            (t, g - starts[t])
        };
        let key = |g: u32| {
            let (t, i) = locate(g);
            keysets[t].get(i)
        };
        // Sort the groups by key. Text keys sort by their order-preserving
        // encoding; other keys are typed first, and groups whose keys are
        // equal as values of the column's type ("7" and "007" in an integer
        // column) are merged.
        let nkeys = plan.keys.len();
        let key_types: Vec<ColumnType> = plan.keys.iter().map(|&k| types[k]).collect();
        let typed = |g: u32| -> Vec<Value> {
            let mut values = Vec::with_capacity(nkeys);
            for_each_typed_key(key(g), &key_types, |v| values.push(v.to_value()));
            values
        };
        let text_only = key_types
            .iter()
            .all(|t| matches!(t, ColumnType::Text | ColumnType::Null));
        let (firsts, states): (Vec<u32>, FinalStates) = if text_only {
            // sort by a 16-byte prefix held inline first: the comparisons
            // then rarely need the keys themselves, scattered in the arena
            let mut keyed: Vec<(u128, u32)> = (0..total as u32)
                .into_par_iter()
                .map(|g| (prefix16(key(g)), g))
                .collect();
            keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key(a.1).cmp(key(b.1))));
            let order = keyed.into_iter().map(|(_, g)| g).collect();
            (order, FinalStates::PerTable(part_states))
        } else {
            let keys: Vec<Vec<Value>> = (0..total as u32).into_par_iter().map(typed).collect();
            let mut order: Vec<u32> = (0..total as u32).collect();
            order.par_sort_by(|&a, &b| compare_keys(&keys[a as usize], &keys[b as usize]));
            let mut remap = vec![0u32; keys.len()];
            let mut firsts: Vec<u32> = Vec::new();
            for &g in &order {
                let new = firsts
                    .last()
                    .is_none_or(|&f| compare_keys(&keys[f as usize], &keys[g as usize]).is_ne());
                if new {
                    firsts.push(g);
                }
                remap[g as usize] = (firsts.len() - 1) as u32;
            }
            if firsts.len() == keys.len() {
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
        };
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
        let width = columns.len();
        let fill = |g: usize, out: &mut RowBuilder<'_>| {
            let g = g as u32;
            if !wanted(g) {
                // merged into another group's row: never read
                (0..width).for_each(|_| out.push_ref(ValueRef::Null));
                return;
            }
            let (t, i) = locate(g);
            for_each_typed_key(keysets[t].get(i), &key_types, |v| out.push_ref(v));
            let (states, i) = state_at(g, t, i);
            for (a_i, a) in plan.aggs.iter().enumerate() {
                out.push(states[a.state].finish(i, agg_type(a_i), &a.spec.func));
            }
        };
        Table::build_parallel(columns, total, Some(firsts), fill)
    }
}

/// Where the final states of the groups are: still in their tables, or
/// merged into one vector (`remap[g]` is group `g`'s index) where typed
/// keys made groups equal.
enum FinalStates {
    PerTable(Vec<StateVecs>),
    Merged(StateVecs, Vec<u32>),
}

impl GroupScratch {
    /// Encodes each row's group key into `key`, back to back.
    fn encode_keys(&mut self, plan: &Plan, batch: &Batch<'_>) {
        self.key.clear();
        self.key_ends.clear();
        for row in 0..batch.len {
            for (i, &k) in plan.keys.iter().enumerate() {
                encode_key(
                    &batch.columns[k],
                    row,
                    i + 1 == plan.keys.len(),
                    &mut self.key,
                );
            }
            self.key_ends.push(self.key.len());
        }
    }

    /// Row `r`'s encoded key (after [`encode_keys`](Self::encode_keys)).
    #[inline]
    fn key(&self, r: usize) -> &[u8] {
        let start = if r == 0 { 0 } else { self.key_ends[r - 1] };
        &self.key[start..self.key_ends[r]]
    }

    /// Numbers the groups of the `len` encoded keys and, while there are
    /// few groups, lists the rows of each group together (ascending within
    /// a group). Returns true when rows should rather be folded one by one.
    fn assign_groups(&mut self, groups: &mut KeySet, len: usize) -> bool {
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        groups.intern_batch(len, |r| self.key(r), &mut ids);
        self.ids = ids;
        self.group_runs(groups.len(), len)
    }

    /// With one key column whose keys are all short text (up to 16 bytes,
    /// no nulls), the batch's group ids from the [`ShortKeys`] cache, keys
    /// it does not know yet interned into `groups` and cached; false (and
    /// nothing done) for any other batch, or once there are many groups.
    fn short_key_ids(&mut self, plan: &Plan, batch: &Batch<'_>, groups: &mut KeySet) -> bool {
        use crate::value::Data;
        let [k] = plan.keys[..] else {
            return false;
        };
        let col = &batch.columns[k];
        let raw = match (col.raw, col.data) {
            (Some(raw), _) => raw,
            (None, Data::Text(text)) => text,
            _ => return false,
        };
        if col.valid.is_some() || groups.len() > MANY_GROUPS || raw.iter().any(|k| k.len() > 16) {
            return false;
        }
        self.ids.clear();
        for (row, key) in raw.iter().enumerate() {
            let id = match self.short_keys.get(key) {
                Some(id) => id,
                None => {
                    // new to the cache: the key table's id, for the key
                    // encoded as the general path encodes it
                    self.key.clear();
                    encode_key(col, row, true, &mut self.key);
                    let id = groups.intern(&self.key);
                    self.short_keys.insert(key, id);
                    id
                }
            };
            self.ids.push(id);
        }
        true
    }

    /// Lists the rows of each group together (ascending within a group)
    /// while there are few groups, from `ids`; returns true when rows should
    /// rather be folded one by one.
    fn group_runs(&mut self, groups: usize, len: usize) -> bool {
        if groups > MANY_GROUPS {
            return true;
        }
        // Counting sort by group (few groups): rows ascending within each
        // group's run, runs in group order.
        let s = self;
        s.counts.clear();
        s.counts.resize(groups, 0);
        for &g in &s.ids {
            s.counts[g as usize] += 1;
        }
        s.runs.clear();
        let mut start = 0u32;
        for (g, count) in s.counts.iter_mut().enumerate() {
            if *count > 0 {
                s.runs.push((g as u32, start, start + *count));
            }
            let next = start + *count;
            *count = start;
            start = next;
        }
        s.order.clear();
        s.order.resize(len, 0);
        for (row, &g) in s.ids.iter().enumerate() {
            let at = &mut s.counts[g as usize];
            s.order[*at as usize] = row as u32;
            *at += 1;
        }
        false
    }
}

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
struct ShortKeys {
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
    fn get(&self, key: &[u8]) -> Option<u32> {
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
    fn insert(&mut self, key: &[u8], id: u32) {
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

/// The first 16 bytes as a big-endian integer, zero-padded: comparing these
/// orders keys as their bytes do, except on ties (then compare in full).
fn prefix16(key: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    let n = key.len().min(16);
    b[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(b)
}

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
        ColumnType::Int => {
            parse_int_field(raw).map_or(ValueRef::Text(raw), |v| ValueRef::Int(v.into()))
        }
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
    use crate::spec::parse_specs;
    use crate::value::{Column, Data};

    /// One generated row: key, `v` (a number or null), `w` (an integer).
    struct Row {
        key: Option<String>,
        v: Option<f64>,
        w: i64,
    }

    fn rows(n: usize, groups: usize) -> Vec<Row> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|i| {
                let seed = crate::testing::xorshift(&mut seed);
                let g = seed as usize % groups;
                Row {
                    // a null key, keys longer than a slot's inline bytes,
                    // and rows longer than a radix stage
                    key: (g != 3).then(|| {
                        let pad = if g.is_multiple_of(50) {
                            150 + g % 7
                        } else {
                            g % 23
                        };
                        format!("g{g}{}", "x".repeat(pad))
                    }),
                    // whole numbers in some stretches: batches of those are
                    // integer batches, as a CSV reader would type them
                    v: (!seed.is_multiple_of(11)).then_some(
                        (seed >> 40) as f64 - 5000.0 + ((i / 500) % 3 != 0) as u8 as f64 * 0.25,
                    ),
                    w: (seed >> 20) as i64 % 1000 - 500,
                }
            })
            .collect()
    }

    /// Folds `rows` in batches of `batch` rows into `partial`. A batch
    /// holds `v` as integers when they all are, as floats otherwise; `w`
    /// carries its source text in every other batch when `raw_w`.
    fn fold(partial: &mut Partial, plan: &Plan, rows: &[Row], batch: usize, raw_w: bool) {
        for (b, chunk) in rows.chunks(batch).enumerate() {
            let len = chunk.len();
            let keys: Vec<&[u8]> = chunk
                .iter()
                .map(|r| r.key.as_deref().unwrap_or("").as_bytes())
                .collect();
            let key_valid: Vec<bool> = chunk.iter().map(|r| r.key.is_some()).collect();
            let v_valid: Vec<bool> = chunk.iter().map(|r| r.v.is_some()).collect();
            let ints: Vec<i64> = chunk.iter().map(|r| r.v.unwrap_or(0.0) as i64).collect();
            let floats: Vec<f64> = chunk.iter().map(|r| r.v.unwrap_or(0.0)).collect();
            let w: Vec<i64> = chunk.iter().map(|r| r.w).collect();
            let w_text: Vec<String> = w.iter().map(|v| v.to_string()).collect();
            let w_raw: Vec<&[u8]> = w_text.iter().map(|t| t.as_bytes()).collect();
            let int_batch = chunk.iter().all(|r| r.v.is_none_or(|v| v.fract() == 0.0));
            let batch = Batch {
                len,
                columns: vec![
                    Column {
                        len,
                        data: Data::Text(&keys),
                        valid: Some(&key_valid),
                        raw: None,
                    },
                    Column {
                        len,
                        data: if int_batch {
                            Data::Int(&ints)
                        } else {
                            Data::Float(&floats)
                        },
                        valid: Some(&v_valid),
                        raw: None,
                    },
                    Column {
                        len,
                        data: Data::Int(&w),
                        valid: None,
                        raw: (raw_w && b % 2 == 0).then_some(&w_raw[..]),
                    },
                ],
                types: vec![
                    ColumnType::Text,
                    if int_batch {
                        ColumnType::Int
                    } else {
                        ColumnType::Float
                    },
                    ColumnType::Int,
                ],
            };
            partial.fold(plan, &batch).expect("numbers only");
        }
    }

    fn plan(aggs: &str) -> Plan {
        let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
        Plan::new(&header, &parse_specs(&[aggs]).unwrap(), &["k".into()]).unwrap()
    }

    /// The table from `workers` partials, each folding every
    /// `workers`-th slice of the rows.
    fn run(
        plan: &Plan,
        rows: &[Row],
        workers: usize,
        limits: (usize, usize),
        raw_w: bool,
    ) -> Table {
        let slices: Vec<&[Row]> = rows.chunks(rows.len().div_ceil(workers)).collect();
        // the even workers fold into shared tables, the odd ones into their own
        let shared = SharedParts::new();
        let partials = slices
            .iter()
            .enumerate()
            .map(|(w, slice)| {
                let mut p = Partial::with_limits(plan, limits.0, limits.1);
                if w % 2 == 0 {
                    p.shared = Some(Arc::clone(&shared));
                }
                fold(&mut p, plan, slice, 200, raw_w);
                // the paths under test were taken
                let radix = p.radix.as_deref();
                assert_eq!(radix.is_some(), limits.0 < 10_000);
                if limits.1 < 1 << 16 {
                    assert!(radix.is_some_and(Radix::folded));
                }
                p
            })
            .collect();
        let total = Partial::merge_all(plan, partials);
        assert!(total.complete(plan));
        total.finish(plan)
    }

    /// Asserts equal tables, showing the first difference only.
    fn same(got: &Table, want: &Table, what: &str) {
        assert_eq!(got.columns, want.columns);
        let (got_rows, want_rows) = (got.to_rows(), want.to_rows());
        for (i, (g, w)) in got_rows.iter().zip(&want_rows).enumerate() {
            assert_eq!(g, w, "{what}: row {i}");
        }
        assert_eq!(got.len(), want.len(), "{what}");
    }

    #[test]
    fn short_keys_group_as_the_general_path() {
        let plan = plan("count,sum:w,min:w");
        // keys of every length up to 16 that differ in one middle byte (the
        // two words of a key overlap there), the empty key, and now and then
        // a batch with a key too long for the cache
        let key_of = |i: usize| -> String {
            let len = i % 17;
            let mut key = vec![b'k'; len];
            if len > 0 {
                key[len / 2] = b'A' + (i / 17 % 50) as u8;
            }
            String::from_utf8(key).unwrap()
        };
        for distinct in [300, 2_000] {
            let mut seed = 0x5151_u64;
            let rows: Vec<(String, i64)> = (0..20_000)
                .map(|i| {
                    let r = crate::testing::xorshift(&mut seed);
                    let key = if i % 1_001 == 0 {
                        "a key longer than sixteen bytes".to_string()
                    } else {
                        key_of(r as usize % distinct)
                    };
                    (key, (r >> 32) as i64 % 1000)
                })
                .collect();
            let table = |cached: bool| {
                let mut partial = Partial::new(&plan);
                for chunk in rows.chunks(256) {
                    let keys: Vec<&[u8]> = chunk.iter().map(|(k, _)| k.as_bytes()).collect();
                    let w: Vec<i64> = chunk.iter().map(|&(_, w)| w).collect();
                    // a validity mask, even all true, sends keys the general way
                    let all_valid = vec![true; chunk.len()];
                    let col = |data| Column {
                        len: chunk.len(),
                        data,
                        valid: None,
                        raw: None,
                    };
                    let batch = Batch {
                        len: chunk.len(),
                        columns: vec![
                            Column {
                                valid: (!cached).then_some(&all_valid[..]),
                                ..col(Data::Text(&keys))
                            },
                            col(Data::Int(&w)),
                            col(Data::Int(&w)),
                        ],
                        types: vec![ColumnType::Text, ColumnType::Int, ColumnType::Int],
                    };
                    partial.fold(&plan, &batch).unwrap();
                }
                Partial::merge_all(&plan, vec![partial]).finish(&plan)
            };
            same(&table(true), &table(false), &format!("{distinct} keys"));
        }
    }

    #[test]
    fn partitioned_group_by_answers_as_the_direct_one() {
        let rows = rows(60_000, 9_000);
        let plan = plan("count,count:v,sum:v,mean:v,std:v,median:v,p90:v,null_count:v,sum:w,min:w,max:w,distinct:w");
        let direct = run(&plan, &rows, 1, (usize::MAX, usize::MAX), false);
        assert!(direct.len() > 8_900);
        for (workers, limits) in [
            (1, (0, usize::MAX)),
            (3, (100, usize::MAX)),
            // tiny budget: folds buffers into per-partition tables often,
            // and at every change of v's type
            (2, (10, 5_000)),
            (4, (2_000, 1 << 24)),
        ] {
            let radix = run(&plan, &rows, workers, limits, false);
            same(
                &radix,
                &direct,
                &format!("{workers} workers, limits {limits:?}"),
            );
        }
    }

    #[test]
    fn batches_whose_raw_text_a_state_reads_are_folded_directly() {
        // min/max/distinct of w read its raw text: batches that carry it
        // bypass the buffers, the others are buffered, and every state
        // still sees every row once
        let rows = rows(30_000, 5_000);
        let plan = plan("sum:v,min:w,max:w,distinct:w,count");
        let direct = run(&plan, &rows, 1, (usize::MAX, usize::MAX), true);
        for workers in [1, 3] {
            same(
                &run(&plan, &rows, workers, (50, 4_096), true),
                &direct,
                "raw w",
            );
        }
    }

    #[test]
    fn integer_keys_written_two_ways_are_one_group_across_partitions() {
        // "7" and "007" are different texts (so, likely, different hash
        // partitions) but one integer key: finish merges them across tables
        let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
        let plan = Plan::new(
            &header,
            &parse_specs(&["count,sum:w"]).unwrap(),
            &["k".into()],
        )
        .unwrap();
        let fold_all = |partial: &mut Partial| {
            for chunk in (0..40_000i64).collect::<Vec<_>>().chunks(500) {
                let len = chunk.len();
                let keys: Vec<i64> = chunk.iter().map(|i| i % 10_000).collect();
                let text: Vec<String> = chunk
                    .iter()
                    .zip(&keys)
                    .map(|(i, k)| {
                        if i % 3 == 0 {
                            format!("{k:05}")
                        } else {
                            k.to_string()
                        }
                    })
                    .collect();
                let raw: Vec<&[u8]> = text.iter().map(|t| t.as_bytes()).collect();
                let w: Vec<i64> = chunk.to_vec();
                let batch = Batch {
                    len,
                    columns: vec![
                        Column {
                            len,
                            data: Data::Int(&keys),
                            valid: None,
                            raw: Some(&raw),
                        },
                        // slot 1: w (slots follow first mention: keys, then aggregates)
                        Column {
                            len,
                            data: Data::Int(&w),
                            valid: None,
                            raw: None,
                        },
                    ],
                    types: vec![ColumnType::Int, ColumnType::Int],
                };
                partial.fold(&plan, &batch).unwrap();
            }
        };
        let finish = |limits: (usize, usize)| {
            let mut p = Partial::with_limits(&plan, limits.0, limits.1);
            fold_all(&mut p);
            assert_eq!(p.radix.is_some(), limits.0 < 20_000);
            Partial::merge_all(&plan, vec![p]).finish(&plan)
        };
        let direct = finish((usize::MAX, usize::MAX));
        assert_eq!(direct.len(), 10_000);
        assert_eq!(
            direct.to_rows()[7],
            vec![
                Value::Int(7),
                Value::Int(4),
                Value::Int(7 + 10_007 + 20_007 + 30_007)
            ]
        );
        same(&finish((100, usize::MAX)), &direct, "radix");
        same(&finish((100, 3_000)), &direct, "radix, folded");
    }
}
