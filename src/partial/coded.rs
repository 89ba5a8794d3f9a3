//! The coded group-by: one key column whose rows come as codes into a
//! dictionary that every batch of the run shares ([`crate::dict`]).
//!
//! With such a key the code is the group id. A worker keeps one state per
//! dictionary value, indexed by code, and folds a batch without encoding,
//! hashing or interning a key: the hash group-by's per-row work (and the
//! radix partitioning it needs past a few thousand groups) is gone. Workers
//! merge state by state, code by code, and only the codes that had rows
//! become groups of the usual [`GroupTable`]s, numbered in code order, for
//! `finish` to type, sort and write as any other group-by's.
//!
//! Whether a batch is coded is the source's business; a partial takes the
//! coded path while every batch it folds is coded against one dictionary,
//! has no null key, and nothing was folded the hash way before. Anything
//! else turns what the codes gathered into a [`GroupTable`] and continues
//! the hash way ([`Coded::into_tables`]), so mixing inputs is correct, only
//! slower.

use std::sync::Arc;

use rayon::prelude::*;

use super::group_table::GroupTable;
use super::scratch::GroupScratch;
use super::{update_states, Rejected, StateVecs};
use crate::agg::{Groups, StateVec};
use crate::batch::{Batch, VALUE_TAG};
use crate::dict::{Codes, Dictionary};
use crate::keyset::KeySet;
use crate::plan::Plan;

/// The most states, over all of a run's workers, that grouping by code may
/// allocate: every worker holds a state per dictionary value, allocated up
/// front, where the hash group-by past a few thousand groups folds into one
/// table per hash partition that its workers share. Past this, a
/// dictionary's states could cost more memory than the hash path's tables
/// (a million values at 2 threads are 2M states, 64 MiB of sums; at 16
/// threads they would be 16M).
const MAX_STATES: usize = 1 << 23;

/// Whether a run's workers group by code over a dictionary of `values`.
pub(super) fn worth_it(values: usize) -> bool {
    values.saturating_mul(rayon::current_num_threads()) <= MAX_STATES
}

/// A worker's states, one per dictionary value.
pub(super) struct Coded {
    pub(super) dict: Arc<Dictionary>,
    states: StateVecs,
    /// Per code: whether any row had it (only those become groups).
    seen: Vec<bool>,
}

impl Coded {
    pub(super) fn new(plan: &Plan, dict: &Arc<Dictionary>) -> Coded {
        let mut states = GroupTable::new(plan).states;
        for s in &mut states {
            s.resize(dict.len());
        }
        Coded {
            dict: Arc::clone(dict),
            states,
            seen: vec![false; dict.len()],
        }
    }

    /// Whether `dict` is this partial's dictionary (the same one, not an
    /// equal one: codes into it index these states).
    pub(super) fn codes_into(&self, dict: &Arc<Dictionary>) -> bool {
        Arc::ptr_eq(&self.dict, dict)
    }

    /// Folds a batch whose key column (no nulls) is `codes`.
    pub(super) fn fold(
        &mut self,
        plan: &Plan,
        batch: &Batch<'_>,
        codes: Codes<'_>,
        scratch: &mut GroupScratch,
    ) -> Result<(), Rejected> {
        let codes = codes.codes();
        for &c in codes {
            self.seen[c as usize] = true;
        }
        scratch.ids.clear();
        scratch.ids.extend_from_slice(codes);
        let scatters = super::scatters(plan, &self.states, batch);
        let groups = if scratch.group_runs(self.dict.len(), batch.len, scatters) {
            Groups::PerRow { ids: &scratch.ids }
        } else {
            Groups::Grouped {
                order: &scratch.order,
                runs: &scratch.runs,
            }
        };
        update_states(plan, &mut self.states, batch, &groups)
    }

    /// Adds `other`'s states (over the same dictionary) to these, code by
    /// code.
    pub(super) fn absorb(&mut self, other: Coded) {
        debug_assert!(self.codes_into(&other.dict));
        let identity: Vec<u32> = (0..self.dict.len() as u32).collect();
        for (mine, theirs) in self.states.iter_mut().zip(other.states) {
            mine.merge_from(theirs, &identity);
        }
        for (s, o) in self.seen.iter_mut().zip(other.seen) {
            *s |= o;
        }
    }

    /// The groups that had rows, as at most `parts` tables with disjoint
    /// keys (ranges of codes, each numbered in code order), interned in
    /// parallel; their states moved, not copied.
    pub(super) fn into_tables(self, plan: &Plan, parts: usize) -> Vec<GroupTable> {
        let seen: Vec<u32> = (0..self.dict.len() as u32)
            .filter(|&c| self.seen[c as usize])
            .collect();
        if seen.is_empty() {
            return Vec::new();
        }
        let chunks: Vec<&[u32]> = seen.chunks(seen.len().div_ceil(parts.max(1))).collect();
        let dict = &self.dict;
        let mut tables: Vec<GroupTable> = chunks
            .par_iter()
            .map(|chunk| {
                // what `encode_key` writes for a key of one text column,
                // for every code of the chunk
                let mut keys = Vec::new();
                let mut ends = Vec::with_capacity(chunk.len());
                for &c in chunk.iter() {
                    keys.push(VALUE_TAG);
                    keys.extend_from_slice(dict.get(c));
                    ends.push(keys.len());
                }
                let key = |i: usize| &keys[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
                // sized for its keys up front (no doubling: no fresh pages
                // twice), and interned a batch at a time (prefetched slots)
                let set = KeySet::with_capacity(chunk.len(), keys.len());
                let mut table = GroupTable::with_keys(plan, set);
                let mut ids = Vec::with_capacity(chunk.len());
                table.groups.intern_batch(chunk.len(), key, &mut ids);
                let in_order = ids.iter().enumerate().all(|(i, &id)| id as usize == i);
                assert!(in_order, "dictionary values are distinct");
                table
            })
            .collect();
        // where each code's states go: (table, group), or a last table that
        // is dropped for the codes no row had
        let dropped = tables.len() as u32;
        let mut dest = vec![(dropped, 0u32); self.dict.len()];
        for (t, chunk) in chunks.iter().enumerate() {
            for (i, &c) in chunk.iter().enumerate() {
                dest[c as usize] = (t as u32, i as u32);
            }
        }
        tables.push(GroupTable::new(plan));
        for (i, states) in self.states.into_iter().enumerate() {
            let mut to: Vec<&mut Box<dyn StateVec>> =
                tables.iter_mut().map(|t| &mut t.states[i]).collect();
            states.scatter(&mut to, &dest);
        }
        tables.pop();
        for t in &mut tables {
            t.resize_states();
        }
        tables
    }

    /// The groups that had rows, as one table.
    pub(super) fn into_table(self, plan: &Plan) -> GroupTable {
        self.into_tables(plan, 1)
            .pop()
            .unwrap_or_else(|| GroupTable::new(plan))
    }
}
