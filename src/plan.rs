//! Resolving a request (specs, `--by`, `split --columns`) against a table's
//! columns.
//!
//! A header may repeat a name (`k,k,v`): files are made by other programs.
//! Taking the first match would silently read the wrong column, so a
//! reference that matches several columns is a usage error that lists their
//! positions and says how to pick one (`k#2`, see [`crate::spec`]); columns
//! that nobody names may repeat freely.
//!
//! Output column names are unique, because JSON objects, Parquet schemas and
//! whoever reads a CSV by header need them to be: a column's *label* is its
//! name, or `NAME#N` when the header repeats the name, and a request whose
//! aggregates (or keys) would repeat an output name (`mean:x,mean:x`,
//! `var:pop_x,var_pop:x`) is refused, naming both. A key named like an
//! aggregate (`--by count --agg count`, over a previous result) is allowed:
//! refusing it would leave no way to ask.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::agg::{Func, SharedState};
use crate::error::{show_name, Error};
use crate::filter::{Bound, Expr};
use crate::spec::{column_list, nearest, quote_if_needed, some_of, AggSpec, ColumnRef};
use crate::timebucket::TimeUnit;

/// A time-bucket key: `unit(column)`.
#[derive(Clone, Debug)]
pub struct Bucket {
    pub unit: TimeUnit,
    /// The slot of the column read.
    pub slot: usize,
    /// The term as written (`day(ts)`), for messages.
    pub term: String,
    /// The output column: `day_ts`.
    pub name: String,
}

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
    /// For each slot, the column's label in the output: its name, or
    /// `NAME#N` (the N-th of that name) where the header repeats the name.
    pub slot_labels: Vec<String>,
    /// Batch columns of the `--by` keys, in order: a slot, or a time
    /// bucket's column (`slots() + i` for `buckets[i]`).
    pub keys: Vec<usize>,
    /// The time buckets among the keys (`--by 'day(ts)'`). Sources append
    /// one text column per bucket after the slots' columns (see
    /// [`crate::rows`]), so that keys need nothing but a batch column.
    pub buckets: Vec<Bucket>,
    /// The `--where` filter, bound to slots: only the rows it keeps reach
    /// the aggregates. The columns it reads have slots like any other.
    pub filter: Option<Bound>,
    /// The aggregates, in output order.
    pub aggs: Vec<PlannedAgg>,
    /// The partial states to keep: aggregates of one column that can share
    /// a state (`sum` and `mean`, say) point to the same one.
    pub states: Vec<PlannedState>,
    /// Whether `min` and `max` keep the text of numeric values (see
    /// [`crate::agg::Func::new_states_for`]); false unless a first run found
    /// a text column where they had skipped it.
    pub text_extremes: bool,
    /// CSV fields read as null besides the empty one (`--null NA`): a
    /// field whose text (unquoted) is one of these, byte for byte, is
    /// null wherever it is read, in the filter as in the aggregates and
    /// keys. Sorted, without repeats or the empty text ([`null_spellings`]),
    /// so that two spellings of one set compare equal.
    pub nulls: Vec<String>,
}

/// A set of [`Plan::nulls`] as flags, for messages: `--null "NA" --null
/// "\\N"`, or `no --null`.
pub fn show_nulls(nulls: &[String]) -> String {
    match nulls {
        [] => "no --null".to_string(),
        _ => (nulls.iter())
            .map(|s| format!("--null {s:?}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `given` as [`Plan::nulls`] holds it: sorted, each once, without the
/// empty text (which is null anyway).
pub fn null_spellings(given: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = given.iter().filter(|s| !s.is_empty()).collect();
    set.into_iter().cloned().collect()
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
    /// Whether a source that has slot `slot`'s rows also as codes into a
    /// dictionary should hand them over: the plan groups by that column
    /// alone (`partial`'s coded group-by), or, without `--by`, a state
    /// reads the column's codes ([`Func::reads_codes`]).
    pub fn reads_codes(&self, slot: usize) -> bool {
        self.keys == [slot]
            || (self.keys.is_empty()
                && (self.states.iter()).any(|s| s.slot == Some(slot) && s.func.reads_codes()))
    }

    /// This plan as a group-by of its one column with no aggregates, when
    /// it is a lone `distinct` without `--by`: the answer is then the
    /// number of groups whose key is not null, once keys that are one value
    /// of the column's type are merged, which is how the groups' keys are
    /// finished anyway. The run's workers can then share the partitioned
    /// tables of the group-by (each key held once) instead of each building
    /// a set of nearly every key (see `Partial::for_run`). `None` for any
    /// other plan.
    pub fn lone_distinct_as_groups(&self) -> Option<Plan> {
        let [agg] = &self.aggs[..] else {
            return None;
        };
        let slot = agg.slot?;
        (self.keys.is_empty() && agg.spec.func == Func::Distinct).then(|| Plan {
            keys: vec![slot],
            aggs: Vec::new(),
            states: Vec::new(),
            ..self.clone()
        })
    }

    /// Resolves `specs` and `by` (column names, each taken literally)
    /// against `header`.
    pub fn new(header: &[String], specs: &[AggSpec], by: &[String]) -> Result<Plan, Error> {
        let by: Vec<ColumnRef> = by.iter().map(|name| ColumnRef::named(name)).collect();
        Plan::resolve(header, specs, &by)
    }

    /// Resolves `specs` and `by` (as the flags name them) against `header`.
    pub fn resolve(header: &[String], specs: &[AggSpec], by: &[ColumnRef]) -> Result<Plan, Error> {
        Plan::resolve_where(header, specs, by, None)
    }

    /// [`Plan::resolve`] with a `--where` filter. A `--by` term written
    /// `FUNC(COLUMN)` with a time unit as `FUNC` (`day(ts)`, see
    /// [`TimeUnit::parse_by`]) is a time bucket of that column.
    pub fn resolve_where(
        header: &[String],
        specs: &[AggSpec],
        by: &[ColumnRef],
        filter: Option<&Expr>,
    ) -> Result<Plan, Error> {
        let mut plan = Plan::empty(header)?;
        let names = Names::of(header);
        let by_text: Vec<&str> = by.iter().map(|c| c.text.as_str()).collect();
        let by_context = format!("--by {}", show_name(&by_text.join(",")));
        // a bucket's key column is numbered once every slot is known
        let mut bucket_keys = Vec::new();
        for column in by {
            match TimeUnit::parse_by(&column.text) {
                Some(parsed) => {
                    let (unit, inner) = parsed?;
                    let slot = plan.slot(&names, &inner, &by_context)?;
                    if (plan.buckets.iter()).any(|b| (b.unit, b.slot) == (unit, slot)) {
                        return Err(Error::Usage(format!(
                            "--by names {}({}) twice",
                            unit.name(),
                            show_name(&plan.slot_labels[slot])
                        )));
                    }
                    plan.buckets.push(Bucket {
                        unit,
                        slot,
                        term: column.text.clone(),
                        name: unit.output_name(&plan.slot_labels[slot]),
                    });
                    bucket_keys.push(plan.keys.len());
                    plan.keys.push(plan.buckets.len() - 1);
                }
                None => {
                    let slot = plan.slot(&names, column, &by_context)?;
                    let twice = (plan.keys.iter().enumerate())
                        .any(|(i, &k)| k == slot && !bucket_keys.contains(&i));
                    if twice {
                        return Err(Error::Usage(format!(
                            "--by names column '{}' twice",
                            show_name(&plan.slot_labels[slot])
                        )));
                    }
                    plan.keys.push(slot);
                }
            }
        }
        for spec in specs {
            let mut spec = spec.clone();
            let slot = match &spec.column {
                Some(col) => {
                    let context = format!("--agg {}", show_name(&spec.text));
                    let slot = plan.slot(&names, col, &context)?;
                    spec.name = format!("{}_{}", spec.func.label(), plan.slot_labels[slot]);
                    Some(slot)
                }
                None => None,
            };
            plan.aggs.push(PlannedAgg {
                spec,
                slot,
                state: 0,
            });
        }
        if let Some(expr) = filter {
            let positions = expr.resolve(header)?;
            let mut next = positions.into_iter();
            plan.filter = Some(expr.bind(|_| {
                let index = next.next().expect("one position per column");
                Ok::<_, Error>(plan.slot_at(&names, index))
            })?);
        }
        let slots = plan.slots();
        for &i in &bucket_keys {
            plan.keys[i] += slots;
        }
        plan.check_output_names(by)?;
        plan.share_states();
        Ok(plan)
    }

    /// The plan that reads `columns` (as `split --columns` names them), in
    /// that order: one `count:COL` per column, named by its label.
    pub fn for_columns(header: &[String], columns: &[ColumnRef]) -> Result<Plan, Error> {
        let mut plan = Plan::empty(header)?;
        let names = Names::of(header);
        let texts: Vec<&str> = columns.iter().map(|c| c.text.as_str()).collect();
        let context = format!("--columns {}", show_name(&texts.join(",")));
        for column in columns {
            let before = plan.slots();
            let slot = plan.slot(&names, column, &context)?;
            if slot < before {
                return Err(Error::Usage(format!(
                    "--columns names column '{}' twice",
                    show_name(&plan.slot_labels[slot])
                )));
            }
            plan.aggs.push(PlannedAgg {
                spec: AggSpec {
                    func: Func::Count,
                    column: Some(column.clone()),
                    name: plan.slot_labels[slot].clone(),
                    text: column.text.clone(),
                },
                slot: Some(slot),
                state: 0,
            });
        }
        plan.share_states();
        Ok(plan)
    }

    /// References to every column of `header`, in order (`NAME#N` where the
    /// name repeats): what `split` stores without `--columns`.
    pub fn every_column(header: &[String]) -> Vec<ColumnRef> {
        let names = Names::of(header);
        (header.iter().enumerate())
            .map(|(index, name)| {
                let mut column = ColumnRef::named(name);
                if let Some(n) = names.occurrence(index) {
                    column.occurrence = Some(n);
                    column.text = names.numbered(name, n);
                }
                column
            })
            .collect()
    }

    /// The plan that reads every column of `header`: what `split` stores
    /// without `--columns`. The column limit is checked before the
    /// references are made, as `run` checks it: a header of two million
    /// commas is refused at once.
    pub fn for_every_column(header: &[String]) -> Result<Plan, Error> {
        check_width(header)?;
        Plan::for_columns(header, &Plan::every_column(header))
    }

    fn empty(header: &[String]) -> Result<Plan, Error> {
        check_width(header)?;
        Ok(Plan {
            header: header.to_vec(),
            slot_of: vec![UNUSED; header.len()],
            slot_names: Vec::new(),
            slot_labels: Vec::new(),
            keys: Vec::new(),
            buckets: Vec::new(),
            filter: None,
            aggs: Vec::new(),
            states: Vec::new(),
            text_extremes: false,
            nulls: Vec::new(),
        })
    }

    /// Refuses a request whose output would name two columns alike.
    fn check_output_names(&self, by: &[ColumnRef]) -> Result<(), Error> {
        let names = self.requested_names();
        let source = |i: usize| match i.checked_sub(self.keys.len()) {
            None => format!("--by {}", show_name(&by[i].text)),
            Some(a) => format!("--agg {}", show_name(&self.aggs[a].spec.text)),
        };
        // A key may share its name with an aggregate (`--by count --agg
        // count` over a previous result): refusing would leave no way to
        // ask, and the output numbers the two (`output_names`).
        let keys = self.keys.len();
        // where each name first appears among the keys, and among the
        // aggregates
        let mut first: [HashMap<&str, usize>; 2] = Default::default();
        for (j, name) in names.iter().enumerate() {
            let earlier = &mut first[usize::from(j >= keys)];
            if let Some(&i) = earlier.get(name.as_str()) {
                let name = show_name(name);
                let hint = if j < keys {
                    "group by one of them"
                } else {
                    "ask for each aggregate once"
                };
                return Err(Error::Usage(format!(
                    "output column '{name}' would appear twice (from {} and from {}); \
                     output column names must be unique: {hint}",
                    source(i),
                    source(j)
                )));
            }
            earlier.insert(name, j);
        }
        Ok(())
    }

    /// Assigns states: one per aggregate, except that aggregates of one
    /// column with the same [`SharedState`] share one, and `sum`/`mean` join
    /// the variances' state when a column has both.
    fn share_states(&mut self) {
        let with_moments: BTreeSet<Option<usize>> = self
            .aggs
            .iter()
            .filter(|a| a.spec.func.shared_state() == Some(SharedState::Moments))
            .map(|a| a.slot)
            .collect();
        let mut shared: BTreeMap<(SharedState, Option<usize>), usize> = BTreeMap::new();
        for i in 0..self.aggs.len() {
            let agg = &self.aggs[i];
            let kind = agg.spec.func.shared_state().map(|k| match k {
                SharedState::Sum if with_moments.contains(&agg.slot) => SharedState::Moments,
                k => k,
            });
            let existing = kind.and_then(|k| shared.get(&(k, agg.slot)));
            let state = match existing {
                Some(&state) => state,
                None => {
                    self.states.push(PlannedState {
                        func: kind
                            .map_or_else(|| agg.spec.func.clone(), SharedState::representative),
                        slot: agg.slot,
                        first_agg: i,
                    });
                    let state = self.states.len() - 1;
                    if let Some(k) = kind {
                        shared.insert((k, agg.slot), state);
                    }
                    state
                }
            };
            self.aggs[i].state = state;
        }
    }

    fn slot(&mut self, names: &Names, column: &ColumnRef, context: &str) -> Result<usize, Error> {
        let index = names.position_of(column, context)?;
        Ok(self.slot_at(names, index))
    }

    /// The slot of header column `index`, given one if it has none.
    fn slot_at(&mut self, names: &Names, index: usize) -> usize {
        if self.slot_of[index] == UNUSED {
            self.slot_of[index] = self.slot_names.len() as u16;
            self.slot_names.push(self.header[index].clone());
            self.slot_labels.push(names.label(index).to_string());
        }
        self.slot_of[index] as usize
    }

    /// The slot (input column) behind output column `column` of this
    /// plan's result (its keys, then its aggregates); `None` for a count
    /// or a time bucket, which read no column of their own.
    pub fn input_slot(&self, column: usize) -> Option<usize> {
        let slot = match column.checked_sub(self.keys.len()) {
            None => self.keys[column],
            Some(agg) => self.aggs.get(agg)?.slot?,
        };
        (slot < self.slots()).then_some(slot)
    }

    /// Number of parsed columns.
    pub fn slots(&self) -> usize {
        self.slot_names.len()
    }

    /// Number of columns of the batches the aggregates see: the slots, then
    /// one per time bucket.
    pub fn width(&self) -> usize {
        self.slots() + self.buckets.len()
    }

    /// The output name of batch column `column`: a slot's label, or a
    /// bucket's name.
    pub fn column_label(&self, column: usize) -> &str {
        match column.checked_sub(self.slots()) {
            None => &self.slot_labels[column],
            Some(b) => &self.buckets[b].name,
        }
    }

    /// Output column names: keys, then aggregates. A key may share its
    /// name with an aggregate (`--by count --agg count` over a previous
    /// result, [`Plan::check_output_names`]); the two are then numbered as
    /// the columns of a header that repeats a name are, `count#1` (the key)
    /// and `count#2`, quoted where such a label is another column's name
    /// (`"count"#2`), so that no two output columns share a name: a JSON
    /// object with a name twice keeps one value, and Parquet readers refuse
    /// a schema with a name twice.
    pub fn output_names(&self) -> Vec<String> {
        let mut names = self.requested_names();
        let keys = self.keys.len();
        let aggregate_named: HashMap<&str, usize> = (names[keys..].iter().enumerate())
            .map(|(a, name)| (name.as_str(), keys + a))
            .collect();
        let shared: Vec<[usize; 2]> = (0..keys)
            .filter_map(|k| Some([k, *aggregate_named.get(names[k].as_str())?]))
            .collect();
        if shared.is_empty() {
            return names;
        }
        let mut taken: HashSet<String> = names.iter().cloned().collect();
        for pair in shared {
            let name = names[pair[0]].clone();
            for (n, column) in (1..).zip(pair) {
                names[column] = free_label(&name, n, &mut taken);
            }
        }
        names
    }

    /// Output column names as asked for: the keys' labels, then the
    /// aggregates' names.
    fn requested_names(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|&k| self.column_label(k).to_string())
            .chain(self.aggs.iter().map(|a| a.spec.name.clone()))
            .collect()
    }
}

/// `name#n`, or where that is `taken`, `"name"#n` (the reference that picks
/// the `n`th column called `name`), then `"name"#n#2` and on, the first
/// free; the label found is taken.
fn free_label(name: &str, n: usize, taken: &mut HashSet<String>) -> String {
    let mut label = format!("{name}#{n}");
    if taken.contains(&label) {
        let quoted = format!("\"{}\"#{n}", name.replace('"', "\"\""));
        label = quoted.clone();
        let mut more = 1;
        while taken.contains(&label) {
            more += 1;
            label = format!("{quoted}#{more}");
        }
    }
    taken.insert(label.clone());
    label
}

/// `text` is the reference as written, `name` the name it looks for.
fn unknown_column(text: &str, name: &str, context: &str, header: &[String]) -> Error {
    let mut msg = format!("unknown column '{}' in {context}", show_name(text));
    if let Some(near) = nearest(name, header.iter().map(String::as_str)) {
        msg.push_str(&format!("; did you mean '{}'?", show_name(near)));
        let written = quote_if_needed(near);
        if written != near {
            msg.push_str(&format!(" (name it as {})", show_name(&written)));
        }
    }
    if let Some(hint) = crate::spec::delimiter_hint(name, header) {
        msg.push_str(&format!("; {hint}"));
    }
    if header.is_empty() {
        msg.push_str("; the input has no columns");
    } else {
        msg.push_str(&format!("\navailable columns: {}", column_list(header)));
    }
    Error::Usage(msg)
}

/// The columns of a header by name, each looked up in constant time. A
/// plan resolves its columns one at a time, and a scan of the header for
/// each made planning quadratic in the columns: `split --columns` naming
/// 10,000 columns of 65,000 took 3 s of CPU, `split` of 8,000 unnamed
/// columns 40 s.
struct Names<'h> {
    header: &'h [String],
    /// Each name's columns, ascending.
    positions: HashMap<&'h str, Vec<usize>>,
    /// Each column's label in the output, no two alike (see [`Names::label`]).
    labels: Vec<String>,
}

impl<'h> Names<'h> {
    fn of(header: &'h [String]) -> Names<'h> {
        let mut positions: HashMap<&str, Vec<usize>> = HashMap::with_capacity(header.len());
        for (index, name) in header.iter().enumerate() {
            positions.entry(name).or_default().push(index);
        }
        let mut names = Names {
            header,
            positions,
            labels: Vec::new(),
        };
        names.labels = names.unique_labels();
        names
    }

    /// The columns called `name`, ascending.
    fn positions(&self, name: &str) -> &[usize] {
        self.positions.get(name).map_or(&[], Vec::as_slice)
    }

    /// Which of its name's columns column `index` is (1 for the first),
    /// where the header repeats the name; `None` where it does not.
    fn occurrence(&self, index: usize) -> Option<usize> {
        let same = self.positions(&self.header[index]);
        (same.len() > 1).then(|| same.partition_point(|&i| i < index) + 1)
    }

    /// Every column's label. A name the header holds once is its own
    /// label; the columns of a repeated name are numbered (`k#2`), quoting
    /// the name where a column is literally called `k#2` (`"k"#2`, the
    /// reference that picks it). Two columns never share a label:
    /// a crafted header can still make a numbered label equal another
    /// column's (`k,k#2,"k"#2,k`), and such a label gets `#N` more, the
    /// first N free, so that each output column keeps a name of its own.
    fn unique_labels(&self) -> Vec<String> {
        let mut taken: HashSet<String> = (self.header.iter())
            .filter(|name| self.positions(name).len() == 1)
            .cloned()
            .collect();
        let mut labels = Vec::with_capacity(self.header.len());
        for (index, name) in self.header.iter().enumerate() {
            let Some(n) = self.occurrence(index) else {
                labels.push(name.clone());
                continue;
            };
            labels.push(free_label(name, n, &mut taken));
        }
        labels
    }

    /// The label of column `index` in the output: its name, or its name
    /// numbered when the header repeats it (see [`Names::unique_labels`]).
    fn label(&self, index: usize) -> &str {
        &self.labels[index]
    }

    /// The header position `column` refers to (see [`crate::spec`]).
    fn position_of(&self, column: &ColumnRef, context: &str) -> Result<usize, Error> {
        // a bare `k#2` means the column literally called so, if there is one
        let (name, occurrence) = match &column.literal {
            Some(literal) if !self.positions(literal).is_empty() => (literal.as_str(), None),
            _ => (column.name.as_str(), column.occurrence),
        };
        let found = self.positions(name);
        let shown = show_name(name);
        let listed = |found: &[usize]| {
            format!(
                "the input has {} columns named '{shown}' (columns {})",
                found.len(),
                some_of(found.iter().map(|i| (i + 1).to_string()))
            )
        };
        match (occurrence, found.len()) {
            (_, 0) => Err(unknown_column(&column.text, name, context, self.header)),
            (None, 1) => Ok(found[0]),
            (None, _) => {
                let picks =
                    (1..found.len() + 1).map(|n| show_name(&self.numbered(name, n)).into_owned());
                Err(Error::Usage(format!(
                    "column '{shown}' in {context} is ambiguous: {}; \
                     pick one by its number among them: {}",
                    listed(found),
                    some_of(picks)
                )))
            }
            (Some(n), count) if n <= count => Ok(found[n - 1]),
            (Some(_), _) => Err(Error::Usage(format!(
                "no column {} in {context}: {}",
                show_name(&column.text),
                if found.len() == 1 {
                    format!(
                        "the input has one column named '{shown}' (column {})",
                        found[0] + 1
                    )
                } else {
                    listed(found)
                }
            ))),
        }
    }

    /// How to write a reference to the `n`-th column called `name`.
    fn numbered(&self, name: &str, n: usize) -> String {
        let bare = format!("{name}#{n}");
        if quote_if_needed(name) == name && self.positions(&bare).is_empty() {
            bare
        } else {
            format!("\"{}\"#{n}", name.replace('"', "\"\""))
        }
    }
}

/// Refuses a header of more columns than a slot can number (the inputs
/// check it first, to name the file: [`crate::query`]).
pub(crate) fn check_width(header: &[String]) -> Result<(), Error> {
    if header.len() >= UNUSED as usize {
        return Err(Error::Other(format!(
            "the input has {} columns; rayproc handles up to {}",
            header.len(),
            UNUSED - 1
        )));
    }
    Ok(())
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
    fn null_spellings_are_one_set_however_given() {
        let set = |given: &[&str]| {
            null_spellings(&given.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(set(&["NULL", "NA", "NA", ""]), ["NA", "NULL"]);
        assert_eq!(set(&["NA", "NULL"]), set(&["NULL", "", "NA"]));
        assert!(set(&[""]).is_empty() && set(&[]).is_empty());
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

    #[test]
    fn repeated_names_are_picked_by_number_and_labelled() {
        let header: Vec<String> = ["k", "v", "k"].iter().map(|s| s.to_string()).collect();
        let by = crate::spec::parse_columns(&["k#2"], "--by").unwrap();
        let plan =
            Plan::resolve(&header, &parse_specs(&["sum:v,count:k#1"]).unwrap(), &by).unwrap();
        assert_eq!(plan.output_names(), ["k#2", "sum_v", "count_k#1"]);
        assert_eq!(plan.slot_names, ["k", "v", "k"]);
        let err = Plan::new(&header, &parse_specs(&["count:k"]).unwrap(), &[]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("columns 1, 3"), "{err}");
        let every = Plan::every_column(&header);
        let plan = Plan::for_columns(&header, &every).unwrap();
        assert_eq!(plan.slot_names, header);
        assert_eq!(plan.slot_of, [0, 1, 2]);
    }

    #[test]
    fn no_two_columns_share_a_label_however_the_header_is_crafted() {
        let header: Vec<String> = ["k", "k#2", "\"k\"#2", "k", "\"k\"#2#2", "x#1", "x", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let names = Names::of(&header);
        let labels: Vec<&str> = (0..header.len()).map(|i| names.label(i)).collect();
        assert_eq!(
            labels,
            [
                "k#1",
                "k#2",
                "\"k\"#2",
                "\"k\"#2#3",
                "\"k\"#2#2",
                "x#1",
                "\"x\"#1",
                "x#2"
            ]
        );
        // the second `k` and the column called `k#2` are two aggregates
        let by = crate::spec::parse_columns(&["k#2", "\"k\"#2"], "--by").unwrap();
        let plan = Plan::resolve(
            &header,
            &parse_specs(&["count:k#2,count:\"k\"#2"]).unwrap(),
            &by,
        )
        .unwrap();
        assert_eq!(
            plan.output_names(),
            ["k#2", "\"k\"#2#3", "count_k#2", "count_\"k\"#2#3"]
        );
        // a header of many repeated names among their numbered forms
        let mut header: Vec<String> = (1..=300).map(|n| format!("a#{n}")).collect();
        header.extend(std::iter::repeat_n("a".to_string(), 300));
        header.extend((1..=300).map(|n| format!("\"a\"#{n}")));
        let names = Names::of(&header);
        let labels: HashSet<&str> = (0..header.len()).map(|i| names.label(i)).collect();
        assert_eq!(labels.len(), header.len());
    }

    #[test]
    fn a_key_named_as_an_aggregate_is_numbered_with_it() {
        let header: Vec<String> = ["mean_x", "x", "count", "count#2", "g"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let names = |by: &[&str], aggs: &str| {
            let by = crate::spec::parse_columns(by, "--by").unwrap();
            let plan = Plan::resolve(&header, &parse_specs(&[aggs]).unwrap(), &by).unwrap();
            plan.output_names()
        };
        assert_eq!(
            names(&["mean_x", "g"], "mean:x,sum:x"),
            ["mean_x#1", "g", "mean_x#2", "sum_x"]
        );
        // `count#2` is a column's name: the aggregate's label is quoted
        assert_eq!(
            names(&["count", "count#2"], "count,max:x"),
            ["count#1", "count#2", "\"count\"#2", "max_x"]
        );
        // no name shared: as asked
        assert_eq!(names(&["g"], "count,mean:x"), ["g", "count", "mean_x"]);
    }

    #[test]
    fn the_plan_of_every_column_labels_each_repeated_name_by_number() {
        let header: Vec<String> = ["k", "k#2", "k", "v", "", "", "a,b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let plan = Plan::for_every_column(&header).unwrap();
        assert_eq!(plan.slot_names, header);
        assert_eq!(plan.slot_of, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            plan.slot_labels,
            ["k#1", "k#2", "\"k\"#2", "v", "#1", "#2", "a,b"]
        );
        let texts: Vec<&str> = plan.aggs.iter().map(|a| a.spec.text.as_str()).collect();
        assert_eq!(
            texts,
            ["k#1", "\"k#2\"", "\"k\"#2", "v", "\"\"#1", "\"\"#2", "\"a,b\""]
        );
        let states: Vec<usize> = plan.aggs.iter().map(|a| a.state).collect();
        assert_eq!(states, [0, 1, 2, 3, 4, 5, 6]);
        // the column limit, as `run` refuses it
        let wide = vec![String::new(); 70_000];
        let err = Plan::for_every_column(&wide).unwrap_err().to_string();
        assert_eq!(
            err,
            "the input has 70000 columns; rayproc handles up to 65534"
        );
    }
}
