//! Resolving a request (specs, `--by`) against a table's columns.

use crate::agg::{Func, SharedState};
use crate::error::Error;
use crate::spec::{nearest, AggSpec};

/// Marks a column that no aggregate or key needs.
pub const UNUSED: u16 = u16::MAX;

/// What to compute, with columns resolved to positions.
///
/// Only the columns that some aggregate or key needs are parsed; each gets a
/// *slot* (its position among the needed columns).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The table's column names.
    pub header: Vec<String>,
    /// For each column of the table, its slot or [`UNUSED`].
    pub slot_of: Vec<u16>,
    /// For each slot, the column name.
    pub slot_names: Vec<String>,
    /// Slots of the `--by` columns, in order.
    pub keys: Vec<usize>,
    /// The aggregates, in output order.
    pub aggs: Vec<PlannedAgg>,
    /// The partial states to keep: aggregates of one column that can share
    /// a state (`sum` and `mean`, say) point to the same one.
    pub states: Vec<PlannedState>,
    /// Whether `min` and `max` keep the text of numeric values (see
    /// [`crate::agg::Func::new_states_for`]); false unless a first run found
    /// a text column where they had skipped it.
    pub text_extremes: bool,
}

#[derive(Clone, Debug)]
pub struct PlannedAgg {
    pub spec: AggSpec,
    /// The slot the aggregate reads; `None` for `count` alone.
    pub slot: Option<usize>,
    /// Index of its state in [`Plan::states`].
    pub state: usize,
}

/// One partial state to compute.
#[derive(Clone, Debug)]
pub struct PlannedState {
    /// A function whose `new_states` makes the state.
    pub func: Func,
    pub slot: Option<usize>,
    /// The first aggregate (in output order) that reads the state: errors
    /// about rejected values name it.
    pub first_agg: usize,
}

impl Plan {
    /// Resolves `specs` and `by` against `header`.
    pub fn new(header: &[String], specs: &[AggSpec], by: &[String]) -> Result<Plan, Error> {
        if header.len() >= UNUSED as usize {
            return Err(Error::Other(format!(
                "the input has {} columns; rayproc handles up to {}",
                header.len(),
                UNUSED - 1
            )));
        }
        let mut plan = Plan {
            header: header.to_vec(),
            slot_of: vec![UNUSED; header.len()],
            slot_names: Vec::new(),
            keys: Vec::new(),
            aggs: Vec::new(),
            states: Vec::new(),
            text_extremes: false,
        };
        for name in by {
            let slot = plan.slot(name, &format!("--by {}", by.join(",")))?;
            if plan.keys.contains(&slot) {
                return Err(Error::Usage(format!("--by names column '{name}' twice")));
            }
            plan.keys.push(slot);
        }
        for spec in specs {
            let slot = match &spec.column {
                Some(col) => Some(plan.slot(col, &format!("--agg {}:{col}", spec.func.label()))?),
                None => None,
            };
            plan.aggs.push(PlannedAgg {
                spec: spec.clone(),
                slot,
                state: 0,
            });
        }
        plan.share_states();
        Ok(plan)
    }

    /// Assigns states: one per aggregate, except that aggregates of one
    /// column with the same [`SharedState`] share one, and `sum`/`mean` join
    /// the variances' state when a column has both.
    fn share_states(&mut self) {
        let with_moments: Vec<Option<usize>> = self
            .aggs
            .iter()
            .filter(|a| a.spec.func.shared_state() == Some(SharedState::Moments))
            .map(|a| a.slot)
            .collect();
        let mut shared: Vec<((SharedState, Option<usize>), usize)> = Vec::new();
        for i in 0..self.aggs.len() {
            let agg = &self.aggs[i];
            let kind = agg.spec.func.shared_state().map(|k| match k {
                SharedState::Sum if with_moments.contains(&agg.slot) => SharedState::Moments,
                k => k,
            });
            let existing = kind.and_then(|k| shared.iter().find(|(key, _)| *key == (k, agg.slot)));
            let state = match existing {
                Some(&(_, state)) => state,
                None => {
                    self.states.push(PlannedState {
                        func: kind
                            .map_or_else(|| agg.spec.func.clone(), SharedState::representative),
                        slot: agg.slot,
                        first_agg: i,
                    });
                    let state = self.states.len() - 1;
                    if let Some(k) = kind {
                        shared.push(((k, agg.slot), state));
                    }
                    state
                }
            };
            self.aggs[i].state = state;
        }
    }

    fn slot(&mut self, name: &str, context: &str) -> Result<usize, Error> {
        let Some(index) = self.header.iter().position(|h| h == name) else {
            return Err(unknown_column(name, context, &self.header));
        };
        if self.slot_of[index] == UNUSED {
            self.slot_of[index] = self.slot_names.len() as u16;
            self.slot_names.push(name.to_string());
        }
        Ok(self.slot_of[index] as usize)
    }

    /// Number of parsed columns.
    pub fn slots(&self) -> usize {
        self.slot_names.len()
    }

    /// Output column names: keys, then aggregates.
    pub fn output_names(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|&k| self.slot_names[k].clone())
            .chain(self.aggs.iter().map(|a| a.spec.name.clone()))
            .collect()
    }
}

fn unknown_column(name: &str, context: &str, header: &[String]) -> Error {
    let mut msg = format!("unknown column '{name}' in {context}");
    if let Some(near) = nearest(name, header.iter().map(String::as_str)) {
        msg.push_str(&format!("; did you mean '{near}'?"));
    }
    if header.is_empty() {
        msg.push_str("; the input has no columns");
    } else {
        let list: Vec<String> = header.iter().map(|h| format!("'{h}'")).collect();
        msg.push_str(&format!("\navailable columns: {}", list.join(", ")));
    }
    Error::Usage(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_specs;

    fn header() -> Vec<String> {
        ["id", "price", "qty", "city"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn slots_follow_first_use() {
        let specs = parse_specs(&["mean:price,max:qty,min:price,count"]).unwrap();
        let plan = Plan::new(&header(), &specs, &["city".into()]).unwrap();
        assert_eq!(plan.slot_names, ["city", "price", "qty"]);
        assert_eq!(plan.keys, [0]);
        assert_eq!(plan.slot_of, [UNUSED, 1, 2, 0]);
        assert_eq!(
            plan.output_names(),
            ["city", "mean_price", "max_qty", "min_price", "count"]
        );
    }

    #[test]
    fn aggregates_of_a_column_share_states() {
        let specs = parse_specs(&[
            "sum:price,mean:price,min:price,std:qty,mean:qty,sum:id,var:price,count",
        ])
        .unwrap();
        let plan = Plan::new(&header(), &specs, &[]).unwrap();
        let states: Vec<usize> = plan.aggs.iter().map(|a| a.state).collect();
        // price: sum, mean and var share (moments); qty: std and mean share;
        // id: its own sum state; min and count their own
        assert_eq!(states, [0, 0, 1, 2, 2, 3, 0, 4]);
        assert_eq!(plan.states.len(), 5);
        assert_eq!(plan.states[0].func, Func::Var);
        assert_eq!(plan.states[3].func, Func::Sum);
        assert_eq!(plan.states[2].first_agg, 3);
    }

    #[test]
    fn quantiles_of_a_column_share_its_values() {
        let specs = parse_specs(&["median:price,p99:price,p90:qty,p25:price"]).unwrap();
        let plan = Plan::new(&header(), &specs, &[]).unwrap();
        let states: Vec<usize> = plan.aggs.iter().map(|a| a.state).collect();
        assert_eq!(states, [0, 0, 1, 0]);
        assert_eq!(plan.states.len(), 2);
    }

    #[test]
    fn unknown_columns_are_usage_errors() {
        let specs = parse_specs(&["mean:prise"]).unwrap();
        let err = Plan::new(&header(), &specs, &[]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.contains("did you mean 'price'"), "{msg}");
        assert!(msg.contains("'id', 'price', 'qty', 'city'"), "{msg}");
        assert!(Plan::new(
            &header(),
            &parse_specs(&["count"]).unwrap(),
            &["town".into()]
        )
        .is_err());
    }
}
