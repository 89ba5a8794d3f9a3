//! Partial results: the mergeable state of a set of aggregates (optionally
//! per group) over some rows, and how it becomes the final table.

use crate::agg::{BadValue, Groups, StateVec};
use crate::batch::{decode_key, encode_key, Batch};
use crate::keyset::KeySet;
use crate::plan::Plan;
use crate::value::{parse_float_field, parse_int_field, ColumnType, Value};

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
    /// One state vector per aggregate.
    pub states: Vec<Box<dyn StateVec>>,
    pub rows: u64,
    scratch: GroupScratch,
}

#[derive(Default)]
struct GroupScratch {
    key: Vec<u8>,
    ids: Vec<u32>,
    order: Vec<u32>,
    runs: Vec<(u32, u32, u32)>,
}

impl Partial {
    pub fn new(plan: &Plan) -> Partial {
        Partial {
            types: vec![ColumnType::Null; plan.slots()],
            groups: KeySet::new(),
            states: plan.aggs.iter().map(|a| a.spec.func.new_states()).collect(),
            rows: 0,
            scratch: GroupScratch::default(),
        }
    }

    /// Folds a batch in. On a rejected value, returns the earliest row (and
    /// the first aggregate, in plan order, that rejected it).
    pub fn fold(&mut self, plan: &Plan, batch: &Batch<'_>) -> Result<(), Rejected> {
        for (t, &b) in self.types.iter_mut().zip(&batch.types) {
            *t = t.widen(b);
        }
        self.rows += batch.len as u64;
        let rows_only = crate::value::Column::rows(batch.len);
        let groups = if plan.keys.is_empty() {
            Groups::Scalar
        } else {
            self.assign_groups(plan, batch);
            for s in &mut self.states {
                s.resize(self.groups.len());
            }
            Groups::Grouped {
                order: &self.scratch.order,
                runs: &self.scratch.runs,
            }
        };
        let mut first: Option<Rejected> = None;
        for (i, (agg, state)) in plan.aggs.iter().zip(&mut self.states).enumerate() {
            let col = agg.slot.map_or(&rows_only, |s| &batch.columns[s]);
            if let Err(BadValue { row }) = state.update(col, &groups) {
                if first.is_none_or(|f| row < f.row) {
                    first = Some(Rejected { row, agg: i });
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Numbers the groups of the batch's rows and lists the rows of each
    /// group together (ascending within a group).
    fn assign_groups(&mut self, plan: &Plan, batch: &Batch<'_>) {
        let s = &mut self.scratch;
        s.ids.clear();
        for row in 0..batch.len {
            s.key.clear();
            for &k in &plan.keys {
                encode_key(&batch.columns[k], row, &mut s.key);
            }
            s.ids.push(self.groups.intern(&s.key));
        }
        s.order.clear();
        s.order.extend(0..batch.len as u32);
        let ids = &s.ids;
        s.order.sort_by_key(|&r| ids[r as usize]);
        s.runs.clear();
        let mut start = 0;
        while start < s.order.len() {
            let g = ids[s.order[start] as usize];
            let mut end = start + 1;
            while end < s.order.len() && ids[s.order[end] as usize] == g {
                end += 1;
            }
            s.runs.push((g, start as u32, end as u32));
            start = end;
        }
    }

    /// Absorbs `other`. Exact merges make the order irrelevant to the
    /// answer; partials are still merged in partition order.
    pub fn merge(&mut self, other: Partial) {
        for (t, o) in self.types.iter_mut().zip(&other.types) {
            *t = t.widen(*o);
        }
        self.rows += other.rows;
        let remap: Vec<u32> = if other.groups.is_empty() && self.groups.is_empty() {
            vec![0]
        } else {
            self.groups.absorb(&other.groups)
        };
        for (mine, theirs) in self.states.iter_mut().zip(other.states) {
            mine.merge_from(theirs, &remap);
        }
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
            let row = plan
                .aggs
                .iter()
                .enumerate()
                .map(|(i, a)| self.states[i].finish(0, agg_type(i), &a.spec.func))
                .collect();
            return Table {
                columns,
                rows: vec![row],
            };
        }
        // Type the keys, sort them, and merge groups whose keys are equal as
        // values of the column's type ("7" and "007" in an integer column).
        let key_types: Vec<ColumnType> = plan.keys.iter().map(|&k| self.types[k]).collect();
        let keys: Vec<Vec<Value>> = self
            .groups
            .iter()
            .map(|k| {
                decode_key(k)
                    .into_iter()
                    .zip(&key_types)
                    .map(|(field, &ty)| typed_key(field, ty))
                    .collect()
            })
            .collect();
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| compare_keys(&keys[a], &keys[b]));
        let mut remap = vec![0u32; keys.len()];
        let mut firsts: Vec<usize> = Vec::new();
        for &g in &order {
            if firsts
                .last()
                .is_none_or(|&f| compare_keys(&keys[f], &keys[g]).is_ne())
            {
                firsts.push(g);
            }
            remap[g] = (firsts.len() - 1) as u32;
        }
        let states: Vec<Box<dyn StateVec>> = if firsts.len() == keys.len() {
            self.states
        } else {
            plan.aggs
                .iter()
                .zip(self.states)
                .map(|(a, old)| {
                    let mut new = a.spec.func.new_states();
                    new.merge_from(old, &remap);
                    new
                })
                .collect()
        };
        let rows = firsts
            .iter()
            .map(|&g| {
                let final_group = remap[g] as usize;
                let state_group = if firsts.len() == keys.len() {
                    g
                } else {
                    final_group
                };
                keys[g]
                    .iter()
                    .cloned()
                    .chain(
                        plan.aggs
                            .iter()
                            .enumerate()
                            .map(|(i, a)| states[i].finish(state_group, agg_type(i), &a.spec.func)),
                    )
                    .collect()
            })
            .collect();
        Table { columns, rows }
    }
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
