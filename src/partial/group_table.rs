//! The group table: a hash aggregate's keys and states, and how two of them
//! merge.
//!
//! Every stage of a group-by ends in one of these: a worker folds batches
//! into its table, the radix path folds each hash partition into one
//! (`radix`), the reduce absorbs workers' tables into each other, and
//! `finish` reads them. Keeping the table and its merge apart from the
//! per-batch grouping (`scratch`) and from the final sort (`finish`) says
//! what every stage relies on: keys numbered by first appearance in a
//! [`KeySet`], one state vector per planned state, and exact merges, which
//! make the order tables are absorbed in irrelevant to the answer.

use super::StateVecs;
use crate::keyset::KeySet;
use crate::plan::Plan;

/// A hash aggregate: group keys (encoded with [`encode_key`](crate::batch::encode_key)), numbered by
/// first appearance, and one state vector per planned state
/// (`Plan::states`). Without `--by`, one keyless group.
pub(super) struct GroupTable {
    pub(super) groups: KeySet,
    pub(super) states: StateVecs,
}

impl GroupTable {
    pub(super) fn new(plan: &Plan) -> Self {
        Self::with_keys(plan, KeySet::new())
    }

    pub(super) fn with_keys(plan: &Plan, groups: KeySet) -> Self {
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
    pub(super) fn resize_states(&mut self) {
        for s in &mut self.states {
            s.resize(self.groups.len());
        }
    }

    /// Absorbs `other`. Exact merges make the order irrelevant to the
    /// answer.
    pub(super) fn absorb(&mut self, mut other: GroupTable) {
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
}
