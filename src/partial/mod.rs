//! Partial results: the mergeable state of a set of aggregates (optionally
//! per group) over some rows, and how it becomes the final table.

use rayon::prelude::*;

use crate::agg::{BadValue, Groups, StateVec};
use crate::batch::{decode_key, encode_key, Batch};
use crate::keyset::KeySet;
use crate::plan::Plan;
use crate::value::{parse_float_field, parse_int_field, ColumnType, Value};

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

/// The partial result of the plan's aggregates over some rows.
pub struct Partial {
    /// Widest type seen per slot.
    pub types: Vec<ColumnType>,
    /// Group keys (encoded with [`encode_key`]), numbered by first appearance.
    pub groups: KeySet,
    /// One state vector per planned state (`Plan::states`).
    pub states: Vec<Box<dyn StateVec>>,
    scratch: GroupScratch,
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
}

impl Partial {
    pub fn new(plan: &Plan) -> Partial {
        Partial {
            types: vec![ColumnType::Null; plan.slots()],
            groups: KeySet::new(),
            states: plan
                .states
                .iter()
                .map(|s| s.func.new_states_for(plan.text_extremes))
                .collect(),
            scratch: GroupScratch::default(),
        }
    }

    /// Folds a batch in. On a rejected value, returns the earliest row (and
    /// the first aggregate, in plan order, that rejected it).
    pub fn fold(&mut self, plan: &Plan, batch: &Batch<'_>) -> Result<(), Rejected> {
        for (t, &b) in self.types.iter_mut().zip(&batch.types) {
            *t = t.widen(b);
        }
        let rows_only = crate::value::Column::rows(batch.len);
        let groups = if plan.keys.is_empty() {
            Groups::Scalar
        } else {
            let per_row = self.assign_groups(plan, batch);
            for s in &mut self.states {
                s.resize(self.groups.len());
            }
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
        for (planned, state) in plan.states.iter().zip(&mut self.states) {
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

    /// Numbers the groups of the batch's rows and, while there are few
    /// groups, lists the rows of each group together (ascending within a
    /// group). Returns true when rows should rather be folded one by one.
    fn assign_groups(&mut self, plan: &Plan, batch: &Batch<'_>) -> bool {
        let s = &mut self.scratch;
        s.ids.clear();
        s.key.clear();
        s.key_ends.clear();
        for row in 0..batch.len {
            for (i, &k) in plan.keys.iter().enumerate() {
                encode_key(&batch.columns[k], row, i + 1 == plan.keys.len(), &mut s.key);
            }
            s.key_ends.push(s.key.len());
        }
        let (keys, ends) = (&s.key, &s.key_ends);
        let key = |r: usize| &keys[if r == 0 { 0 } else { ends[r - 1] }..ends[r]];
        self.groups.intern_batch(batch.len, key, &mut s.ids);
        if self.groups.len() > MANY_GROUPS {
            return true;
        }
        // Counting sort by group (few groups): rows ascending within each
        // group's run, runs in group order.
        s.counts.clear();
        s.counts.resize(self.groups.len(), 0);
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
        s.order.resize(batch.len, 0);
        for (row, &g) in s.ids.iter().enumerate() {
            let at = &mut s.counts[g as usize];
            s.order[*at as usize] = row as u32;
            *at += 1;
        }
        false
    }

    /// Merges partials (one per worker) pairwise in parallel, a tree of
    /// depth log2(n) instead of a chain of n - 1 merges: with many threads
    /// and many groups the chain was the serial tail of a run. Exact merges
    /// and sorted output make the merge order irrelevant to the answer.
    pub fn merge_all(plan: &Plan, partials: Vec<Partial>) -> Partial {
        partials
            .into_par_iter()
            .reduce_with(|mut a, b| {
                a.merge(b);
                a
            })
            .unwrap_or_else(|| Partial::new(plan))
    }

    /// Absorbs `other`. Exact merges make the order irrelevant to the
    /// answer.
    pub fn merge(&mut self, mut other: Partial) {
        // absorbing the smaller table into the larger is cheaper
        if other.groups.len() > self.groups.len() {
            std::mem::swap(self, &mut other);
        }
        for (t, o) in self.types.iter_mut().zip(&other.types) {
            *t = t.widen(*o);
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

    /// Whether [`finish`](Self::finish) can answer: false when a state bet
    /// on a column's type and lost (see [`crate::agg::AggState::complete`]);
    /// then the map must run again with `plan.text_extremes` set.
    pub fn complete(&self, plan: &Plan) -> bool {
        plan.states
            .iter()
            .zip(&self.states)
            .all(|(planned, states)| {
                let ty = planned.slot.map_or(ColumnType::Null, |s| self.types[s]);
                states.complete(ty)
            })
    }

    /// The final table: one row, or one row per group sorted by key.
    pub fn finish(self, plan: &Plan) -> Table {
        let columns = plan.output_names();
        let agg_type = |i: usize| {
            plan.aggs[i]
                .slot
                .map_or(ColumnType::Null, |s| self.types[s])
        };
        if plan.keys.is_empty() {
            // in parallel: a quantile's finish selects among every value
            let row = (plan.aggs.par_iter().enumerate())
                .map(|(i, a)| self.states[a.state].finish(0, agg_type(i), &a.spec.func))
                .collect();
            return Table {
                columns,
                rows: vec![row],
            };
        }
        // Sort the groups by key. Text keys sort by their order-preserving
        // encoding; other keys are typed first, and groups whose keys are
        // equal as values of the column's type ("7" and "007" in an integer
        // column) are merged.
        let nkeys = plan.keys.len();
        let key_types: Vec<ColumnType> = plan.keys.iter().map(|&k| self.types[k]).collect();
        let groups = &self.groups;
        let typed = |g: u32| -> Vec<Value> {
            decode_key(groups.get(g), nkeys)
                .into_iter()
                .zip(&key_types)
                .map(|(field, &ty)| typed_key(field.as_deref(), ty))
                .collect()
        };
        let mut order: Vec<u32> = (0..groups.len() as u32).collect();
        let text_only = key_types
            .iter()
            .all(|t| matches!(t, ColumnType::Text | ColumnType::Null));
        let (firsts, states, state_of): (Vec<u32>, StateVecs, Option<Vec<u32>>) = if text_only {
            // sort by a 16-byte prefix held inline first: the comparisons
            // then rarely need the keys themselves, scattered in the arena
            let mut keyed: Vec<(u128, u32)> = order
                .iter()
                .map(|&g| (prefix16(groups.get(g)), g))
                .collect();
            keyed.par_sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| groups.get(a.1).cmp(groups.get(b.1)))
            });
            let order = keyed.into_iter().map(|(_, g)| g).collect();
            (order, self.states, None)
        } else {
            let keys: Vec<Vec<Value>> = (0..groups.len() as u32)
                .into_par_iter()
                .map(typed)
                .collect();
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
                (firsts, self.states, None)
            } else {
                let merged = plan
                    .states
                    .iter()
                    .zip(self.states)
                    .map(|(planned, old)| {
                        let mut new = planned.func.new_states_for(plan.text_extremes);
                        new.merge_from(old, &remap);
                        new
                    })
                    .collect();
                (firsts, merged, Some(remap))
            }
        };
        let state_group = |g: u32| state_of.as_ref().map_or(g, |remap| remap[g as usize]) as usize;
        let row =
            |g: u32| -> Vec<Value> {
                let mut row = Vec::with_capacity(nkeys + plan.aggs.len());
                row.extend(typed(g));
                row.extend(plan.aggs.iter().enumerate().map(|(i, a)| {
                    states[a.state].finish(state_group(g), agg_type(i), &a.spec.func)
                }));
                row
            };
        // Groups in key order are scattered in memory: fetch each one's key
        // and states a few groups ahead, so that the cache misses overlap.
        const AHEAD: usize = 8;
        let (states, row, state_group) = (&states, &row, &state_group);
        let rows = firsts
            .par_chunks(4096)
            .flat_map_iter(|chunk| {
                (0..chunk.len()).map(move |i| {
                    if let Some(&g) = chunk.get(i + 2 * AHEAD) {
                        groups.prefetch(g, false);
                    }
                    if let Some(&g) = chunk.get(i + AHEAD) {
                        groups.prefetch(g, true);
                        for s in states {
                            s.prefetch(state_group(g));
                        }
                    }
                    row(chunk[i])
                })
            })
            .collect();
        Table { columns, rows }
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

/// A key field as a value of its column's type.
fn typed_key(field: Option<&[u8]>, ty: ColumnType) -> Value {
    let Some(raw) = field else {
        return Value::Null;
    };
    match ty {
        ColumnType::Int => {
            parse_int_field(raw).map_or_else(|| Value::Text(raw.to_vec()), |v| Value::Int(v.into()))
        }
        ColumnType::Float => match parse_float_field(raw) {
            // one group for 0.0 and -0.0
            Some(0.0) => Value::Float(0.0),
            Some(v) => Value::Float(v),
            None => Value::Text(raw.to_vec()),
        },
        _ => Value::Text(raw.to_vec()),
    }
}

/// The result of a run: named columns and rows of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}
