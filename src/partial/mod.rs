//! Partial results: the mergeable state of a set of aggregates (optionally
//! per group) over some rows, and how it becomes the final table.
//!
//! A worker folds its batches into one hash table of groups. Past
//! `radix::RADIX_GROUPS` groups that table no longer fits any cache, and
//! the worker switches to the radix-partitioned layout of `radix`: rows
//! are buffered by hash partition and aggregated partition by partition.
//!
//! This module is [`Partial`]'s public face: fold a batch, merge the
//! workers' partials, finish. The work is split by concern, each part
//! with the invariants only it needs:
//!
//! - `group_table`: a hash aggregate's keys and states, and their exact
//!   merge, which every stage below builds on;
//! - `scratch` (and its `short_keys` cache): turning one batch's rows into
//!   group ids, the hot loop of a group-by;
//! - `radix`: the partitioned layout for many groups;
//! - `coded`: the group-by of one dictionary-coded key, by code;
//! - `finish`: typing, sorting and merging the keys, and finishing the
//!   states into the [`Table`].

mod coded;
mod finish;
mod group_table;
mod radix;
mod scratch;
mod short_keys;
#[cfg(test)]
mod tests;
mod wire;

use std::sync::Arc;

use rayon::prelude::*;

use crate::agg::{BadValue, ColumnFacts, Groups, StateVec};
use crate::batch::Batch;
use crate::plan::Plan;
pub use crate::table::Table;
use crate::value::{ColumnType, Value};

use coded::Coded;
use group_table::GroupTable;
use radix::Radix;
pub use radix::SharedParts;
use scratch::GroupScratch;

/// One state vector per aggregate.
type StateVecs = Vec<Box<dyn StateVec>>;

/// Whether every state can take the batch's rows one by one, group by
/// group ([`crate::agg::AggState::scatters`]).
fn scatters(plan: &Plan, states: &StateVecs, batch: &Batch<'_>) -> bool {
    let rows_only = crate::value::Column::rows(batch.len);
    plan.states.iter().zip(states).all(|(planned, state)| {
        state.scatters(planned.slot.map_or(&rows_only, |s| &batch.columns[s]))
    })
}

/// Folds the batch into `states` by `groups`; the earliest rejected row
/// (the first aggregate, in plan order, at that row) if any. Every state
/// sees the whole batch either way.
fn update_states(
    plan: &Plan,
    states: &mut StateVecs,
    batch: &Batch<'_>,
    groups: &Groups<'_>,
) -> Result<(), Rejected> {
    let rows_only = crate::value::Column::rows(batch.len);
    let mut first: Option<Rejected> = None;
    for (planned, state) in plan.states.iter().zip(states) {
        let col = planned.slot.map_or(&rows_only, |s| &batch.columns[s]);
        let codes = planned.slot.and_then(|s| batch.codes(s));
        if codes.is_some_and(|codes| state.update_codes(col, codes, groups)) {
            continue;
        }
        if let Err(BadValue { row }) = state.update(col, groups) {
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

/// A value an aggregate rejected, located in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    pub row: usize,
    /// Index of the aggregate in the plan.
    pub agg: usize,
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
    /// Whether the plan has keys (`--by`): then the groups are keyed,
    /// else there is one keyless group. Read by [`encode`](Self::encode).
    keyed: bool,
    /// States by code, while every batch's key is coded against one
    /// dictionary (see `coded`).
    coded: Option<Box<Coded>>,
    /// A lone `distinct` run as a group-by of its column
    /// ([`Plan::lone_distinct_as_groups`]): the plan this partial folds,
    /// merges and finishes by, in place of the one its callers pass.
    keys_only: Option<Arc<Plan>>,
    /// That plan, until the run's first batch decides whether to fold by
    /// it ([`Partial::for_run`]).
    may_group: Option<Arc<Plan>>,
}

/// Pools of at least this many threads may answer a lone `distinct` by
/// grouping ([`Partial::for_run`]). Each worker's own set holds nearly
/// every key once there are many workers and the keys repeat: a million
/// text keys in 10M rows took 1.2 GB of fresh memory on 16 threads where
/// one thread needs 140 MB, and the time went to zeroing pages and
/// merging sets. Grouping shares the partitioned tables instead, but
/// buffers every row's key first, which costs more than it saves on few
/// threads (2 threads: 0.35 s against 0.29 s on those keys).
const KEYS_ONLY_THREADS: usize = 8;

impl Partial {
    pub fn new(plan: &Plan) -> Partial {
        Partial {
            types: vec![ColumnType::Null; plan.width()],
            table: GroupTable::new(plan),
            radix: None,
            parts: Vec::new(),
            scratch: GroupScratch::default(),
            radix_after: radix::RADIX_GROUPS,
            radix_budget: None,
            shared: None,
            keyed: !plan.keys.is_empty(),
            coded: None,
            keys_only: None,
            may_group: None,
        }
    }

    /// A partial for one worker of a run of `threads` workers that
    /// finishes here (never one whose partial is shipped, see
    /// [`crate::mapreduce`]: a lone `distinct` may be folded as a
    /// group-by, whose partials are not `distinct`'s). Its workers share
    /// their partitioned tables, as with [`sharing`](Self::sharing).
    ///
    /// A lone `distinct` on [`KEYS_ONLY_THREADS`] or more is grouped by its
    /// column when the run's first batch holds the column as text. Numbers
    /// stay in `distinct`'s own sets, eight bytes a value: grouped, ten
    /// million distinct floats took 1.6 GB against 0.4 GB, and 1.5 s
    /// against 1.1 s on 8 threads; a key repeated across workers is what
    /// grouping saves, and numbers cost little to repeat.
    pub fn for_run(plan: &Plan, shared: &Arc<SharedParts>, threads: usize) -> Partial {
        Partial {
            may_group: (plan.lone_distinct_as_groups())
                .filter(|_| threads >= KEYS_ONLY_THREADS)
                .map(Arc::new),
            ..Partial::sharing(plan, shared)
        }
    }

    /// `n` partials made by [`for_run`](Self::for_run), sharing `shared`:
    /// the workers of one map.
    pub fn for_run_workers(
        plan: &Plan,
        shared: &Arc<SharedParts>,
        threads: usize,
        n: usize,
    ) -> Vec<Partial> {
        (0..n)
            .map(|_| Partial::for_run(plan, shared, threads))
            .collect()
    }

    /// Decides, at this worker's first batch, whether it folds by the
    /// grouped plan: as the run's first batch said (see
    /// [`for_run`](Self::for_run)). The partial holds nothing yet, so it
    /// is simply made anew for that plan.
    fn decide_grouping(&mut self, batch: &Batch<'_>) {
        let Some(grouped) = self.may_group.take() else {
            return;
        };
        let shared = self
            .shared
            .clone()
            .expect("a run's partial shares its tables");
        let text = || batch.types[grouped.keys[0]] == ColumnType::Text;
        if *shared.lone_distinct_grouped.get_or_init(text) {
            *self = Partial {
                keys_only: Some(Arc::clone(&grouped)),
                ..Partial::sharing(&grouped, &shared)
            };
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

    /// Widens the columns' types by `types` (one per column; `Null` adds
    /// nothing), with no row: what a typed source's schema says of a
    /// column whatever rows `--where` keeps, so that a filter keeping no
    /// row still leaves a text column text (a result of no group then
    /// declares its key column text, [`Table::declared`]).
    pub fn note_types(&mut self, types: &[ColumnType]) {
        for (t, &o) in self.types.iter_mut().zip(types) {
            *t = t.widen(o);
        }
    }

    /// Folds a batch in. On a rejected value, returns the earliest row (and
    /// the first aggregate, in plan order, that rejected it).
    pub fn fold(&mut self, plan: &Plan, batch: &Batch<'_>) -> Result<(), Rejected> {
        self.decide_grouping(batch);
        match self.keys_only.clone() {
            Some(grouped) => self.fold_by(&grouped, batch),
            None => self.fold_by(plan, batch),
        }
    }

    fn fold_by(&mut self, plan: &Plan, batch: &Batch<'_>) -> Result<(), Rejected> {
        for (t, &b) in self.types.iter_mut().zip(&batch.types) {
            *t = t.widen(b);
        }
        if let [k] = plan.keys[..] {
            let codes = batch.codes(k).filter(|_| batch.columns[k].valid.is_none());
            if let Some(codes) = codes {
                let fresh = self.radix.is_none() && self.table.groups.is_empty();
                if self.coded.is_none() && fresh && coded::worth_it(codes.dict().len()) {
                    self.coded = Some(Box::new(Coded::new(plan, codes.dict())));
                }
                if let Some(coded) = self
                    .coded
                    .as_deref_mut()
                    .filter(|c| c.codes_into(codes.dict()))
                {
                    return coded.fold(plan, batch, codes, &mut self.scratch);
                }
            }
        }
        if let Some(coded) = self.coded.take() {
            // a batch the codes cannot take: on the hash way from here
            let mut table = coded.into_table(plan);
            table.absorb(std::mem::replace(&mut self.table, GroupTable::new(plan)));
            self.table = table;
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
        let groups = if plan.keys.is_empty() {
            Groups::Scalar
        } else {
            let scatters = scatters(plan, &self.table.states, batch);
            let groups = &mut self.table.groups;
            let per_row = if self.scratch.short_key_ids(plan, batch, groups) {
                self.scratch.group_runs(groups.len(), batch.len, scatters)
            } else {
                self.scratch.encode_keys(plan, batch);
                self.scratch.assign_groups(groups, batch.len, scatters)
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
        update_states(plan, &mut self.table.states, batch, &groups)
    }

    /// Merges the workers' coded states, when every partial holding
    /// groups holds them by code over one dictionary: code by code, then
    /// into disjoint tables for `finish`. Otherwise the coded states become
    /// tables that merge as every other.
    fn merge_coded(
        plan: &Plan,
        coded: Vec<Coded>,
        tables: &mut Vec<GroupTable>,
        radixes: &[Radix],
    ) -> Option<Vec<GroupTable>> {
        let first = coded.first()?;
        let alone = radixes.is_empty()
            && tables.iter().all(|t| t.groups.is_empty())
            && coded.iter().all(|c| c.codes_into(&first.dict));
        if !alone {
            tables.extend(coded.into_iter().map(|c| c.into_table(plan)));
            return None;
        }
        let merged = coded
            .into_par_iter()
            .reduce_with(|mut a, b| {
                a.absorb(b);
                a
            })
            .expect("at least one coded partial");
        // a few tables per thread: they are interned in parallel
        Some(merged.into_tables(plan, 4 * rayon::current_num_threads()))
    }

    /// Merges partials (one per worker) into one.
    ///
    /// Without partitioned workers: pairwise in parallel, a tree of depth
    /// log2(n) instead of a chain of n - 1 merges (with many threads and
    /// many groups the chain was the serial tail of a run). With them:
    /// partition by partition in parallel (`radix::reduce`). Exact merges
    /// and sorted output make the merge order irrelevant to the answer.
    pub fn merge_all(plan: &Plan, mut partials: Vec<Partial>) -> Partial {
        let keys_only = partials.iter().find_map(|p| p.keys_only.clone());
        if keys_only.is_some() {
            // the run decided to group at its first batch: the workers
            // without one hold nothing, and were never made anew
            partials.retain(|p| p.keys_only.is_some());
        }
        let mut merged = Self::merge_by(keys_only.as_deref().unwrap_or(plan), partials);
        merged.keys_only = keys_only;
        merged
    }

    fn merge_by(plan: &Plan, partials: Vec<Partial>) -> Partial {
        let mut types = vec![ColumnType::Null; plan.width()];
        let mut tables = Vec::with_capacity(partials.len());
        let mut radixes = Vec::new();
        let mut coded = Vec::new();
        for p in partials {
            for (t, o) in types.iter_mut().zip(&p.types) {
                *t = t.widen(*o);
            }
            tables.push(p.table);
            radixes.extend(p.radix.map(|r| *r));
            coded.extend(p.coded.map(|c| *c));
            debug_assert!(p.parts.is_empty(), "merging merged partials");
        }
        let mut merged = Partial {
            types,
            ..Partial::new(plan)
        };
        if let Some(parts) = Self::merge_coded(plan, coded, &mut tables, &radixes) {
            merged.parts = parts;
        } else if radixes.is_empty() {
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
        let plan = self.keys_only.as_deref().unwrap_or(plan);
        plan.states.iter().enumerate().all(|(i, planned)| {
            let ty = planned.slot.map_or(ColumnType::Null, |s| self.types[s]);
            // what the states know of a text column (`AggState::gather`):
            // facts of every group of every table, as `finish` sees them
            let mut facts = ColumnFacts::default();
            if ty == ColumnType::Text {
                self.tables().for_each(|t| t.states[i].gather(&mut facts));
            }
            self.tables().all(|t| t.states[i].complete(ty, &facts))
        })
    }

    /// The final table: one row, or one row per group sorted by key.
    pub fn finish(self, plan: &Plan) -> Table {
        if let Some(grouped) = &self.keys_only {
            let count = finish::distinct_keys(self.tables(), &self.types, grouped.keys[0]);
            let answer = vec![Value::Int(count as i128)];
            return Table::from_rows(plan.output_names(), vec![answer]);
        }
        if plan.keys.is_empty() {
            return finish::scalar(&self.table, &self.types, plan);
        }
        let tables = if self.parts.is_empty() {
            vec![self.table]
        } else {
            self.parts
        };
        finish::grouped(tables, &self.types, plan)
    }
}
