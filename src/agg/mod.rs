//! Aggregate functions as mergeable partial states.
//!
//! Every aggregate implements [`AggState`]: `update` folds a batch of a
//! column into the state, `merge` combines two partial states, and `finish`
//! turns the state into the output value once the column's type is known.
//! The scheduler only sees the type-erased [`StateVec`] (one state per
//! group), so adding an aggregate means one new `AggState`, a [`Func`]
//! variant, one line in [`Func::new_states_for`] and one in [`FUNCS`] (its
//! name, which parsing, labels and messages read); nothing outside this
//! module changes.
//!
//! Merging must be exact: the final answer may not depend on how rows were
//! split into partitions nor on the order partials are merged in. States
//! therefore carry exact sums, full value sets, or total orders, never
//! rounded intermediate results such as per-partition means.

pub mod approx;
mod count;
mod distinct;
mod extreme;
mod moments;
pub mod number_codes;
mod quantile;
mod small_values;
mod sum;
mod u64set;
#[cfg(test)]
mod wire_tests;

use std::any::Any;

use crate::dict::Codes;
use crate::value::{Column, ColumnType, Rows, Value};
use crate::wire::{Reader, WireError};

pub use approx::{ApproxDistinct, ApproxQuantile};
pub use count::{CountRows, CountValues, NullCount};
pub use distinct::Distinct;
pub use extreme::{Max, MaxText, Min, MinText};
pub use moments::Moments;
pub use quantile::Quantile;
pub use sum::SumState;

/// What finishing a group may need to know about its whole column,
/// gathered from every group's state before any group is finished
/// ([`StateVec::gather`]).
///
/// Why: a group's rows share batches with other groups' rows, and a batch
/// is typed as a whole (one `1.5` makes it a float batch), so what a single
/// state saw of its column depends on partitioning. Facts about the whole
/// column do not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnFacts {
    /// Some value of the column is a number but not an integer (`1.5`,
    /// `1e3`, `1.0`): the sums of a text column holding numbers then read
    /// every value as the float it parses to, in every group; without one,
    /// they are exact integers (some maybe wider than 64 bits).
    pub non_integers: bool,
    /// Some value `min` or `max` read is an integer beyond 64 bits (which
    /// makes its column text, [`crate::number::is_wide_int_field`]).
    pub wide_integers: bool,
    /// Some value `min` or `max` read is not an integer as an integer
    /// column spells one ([`crate::number::integer_digits`]): text, a
    /// number with a point or an exponent, `-0`, an integer with a
    /// significant leading zero (`007`). Without one, a text column whose
    /// values include [`wide_integers`](Self::wide_integers) is text only
    /// for them, and `min` and `max` compare its values as integers.
    pub not_integers: bool,
}

/// A row whose value an aggregate cannot accept (text where a number is
/// needed). `row` indexes the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadValue {
    pub row: usize,
}

/// A mergeable partial aggregate.
pub trait AggState: Default + Send + Sync + 'static {
    /// Whether `update` reads [`Column::raw`], the source's text of numeric
    /// values. The radix group-by buffers only typed values, so batches
    /// whose raw text such a state would read are folded directly instead.
    const READS_RAW: bool = false;
    /// Whether `update` takes a text column's values without rejecting
    /// any: then the radix group-by may buffer a text column this state
    /// reads (with its text), since no error has to name a row.
    const TAKES_TEXT: bool = false;
    /// Whether [`update_codes`](Self::update_codes) takes a column's rows
    /// as codes into a dictionary; a source reads a store's codes for a
    /// state without `--by` only then ([`Func::reads_codes`]).
    const READS_CODES: bool = false;

    /// Folds the selected rows of `col` given also as `codes` into one
    /// shared dictionary (a store's dictionary-coded text column, `dict`)
    /// into the state, as [`update`](Self::update) on the rows of `col`
    /// would: `false` if the state does not read codes, and `update` must
    /// take the rows. Called without `--by` only, and only on a state with
    /// [`READS_CODES`](Self::READS_CODES).
    fn update_codes(&mut self, _col: &Column<'_>, _codes: Codes<'_>, _rows: Rows<'_>) -> bool {
        false
    }
    /// Folds the selected rows of `col` into the state. Returns the first
    /// selected row the aggregate cannot use (a non-number for a numeric
    /// aggregate); the caller turns it into a positioned error.
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue>;
    /// Absorbs `other` (left empty or in any state afterwards).
    fn merge(&mut self, other: &mut Self);
    /// Adds what this state knows about its whole column to `facts`.
    fn gather(&self, _facts: &mut ColumnFacts) {}
    /// The output value, given the column's final inferred type and what
    /// [`gather`](Self::gather) found in every group; by default
    /// [`finish`](Self::finish), which needs neither.
    fn finish_in(&self, ty: ColumnType, func: &Func, _facts: &ColumnFacts) -> Value {
        self.finish(ty, func)
    }
    /// The output value, given the column's final inferred type.
    fn finish(&self, ty: ColumnType, func: &Func) -> Value;
    /// [`finish_in`](Self::finish_in) of each of `funcs`, the aggregates
    /// that share this state (`Plan::states`), in order. A state whose
    /// aggregates share work overrides it to do that work once: the
    /// quantiles of one column select among the same values.
    fn finish_each(&self, ty: ColumnType, funcs: &[&Func], facts: &ColumnFacts) -> Vec<Value> {
        (funcs.iter())
            .map(|func| self.finish_in(ty, func, facts))
            .collect()
    }
    /// Why [`finish`](Self::finish)'s answer may be off by more than the
    /// aggregate promises, if it may (an approximate quantile among values
    /// its bounded sketch had to merge): the run says so on stderr, after
    /// the column's name (and the number of groups).
    fn beyond_bound(&self, _func: &Func) -> Option<&'static str> {
        None
    }
    /// Whether [`finish_in`](Self::finish_in) can answer for type `ty` and
    /// the column's `facts` (gathered from every group). A state that cut a
    /// corner betting on the type answers false when the bet was lost, and
    /// the scheduler runs the map again with exact states
    /// ([`Func::new_states_for`]).
    fn complete(&self, _ty: ColumnType, _facts: &ColumnFacts) -> bool {
        true
    }
    /// Folds each row `r` of `col` into `states[ids[r]]` (a group-by with
    /// many groups). Returns the first row rejected, as `update` does. The
    /// default calls `update` row by row; a state whose per-row work is a
    /// few instructions overrides it with one loop.
    ///
    /// The result must be what `update` on each group's rows gives, to the
    /// bit: which of the two a batch gets depends on how many groups a
    /// worker has seen, hence on partitioning.
    fn update_scattered(
        states: &mut [Self],
        col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        update_each(states, col, ids)
    }
    /// Whether [`update_scattered`](Self::update_scattered) on `col` is one
    /// loop over the batch's rows in order, at least as fast as `update` on
    /// each group's run of rows. When every aggregate of a batch says so
    /// and the runs would be short (fewer than [`BINNED_ROWS`] rows a group,
    /// too few for the batch loops that make runs pay: binned sums), the
    /// batch is folded row by row and never sorted into runs. Reading the
    /// values in row order instead of group by group also keeps the reads
    /// sequential: a batch read from a store or Parquet file is not in cache
    /// yet, and a group's run jumps across it.
    fn scatters(_col: &Column<'_>) -> bool {
        false
    }
    /// Appends the state's byte form (docs/partials.md), canonical: equal
    /// states encode alike, and [`decode`](Self::decode) accepts nothing
    /// else. At least one byte, so that a count of states can be checked
    /// against the bytes left.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads what [`encode`](Self::encode) wrote. The bytes may be hostile:
    /// every invariant that `update`, `merge`, `finish` and `complete`
    /// rely on is checked here, so that a decoded state never makes them
    /// panic, overflow or allocate beyond a constant times its bytes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError>;
}

/// The largest count (of rows, values, bucket entries) a decoded state may
/// hold: 2^56, more than any input could have (a row is at least a byte),
/// and small enough that merging 256 such states cannot overflow a `u64`.
pub const MAX_WIRE_COUNT: u64 = 1 << 56;

/// Reads a count of at most [`MAX_WIRE_COUNT`] for aggregate `agg`.
pub(crate) fn get_count(r: &mut Reader<'_>, agg: &str) -> Result<u64, WireError> {
    let at = r.pos();
    let n = r.get_varint()?;
    if n > MAX_WIRE_COUNT {
        return Err(r.bad_state(agg, at, format!("count {n} beyond 2^56")));
    }
    Ok(n)
}

/// Rows ahead whose group state is prefetched when folding row by row: the
/// states of a million groups do not fit in cache. Far enough ahead to
/// cover a miss to memory when a row's update is a few instructions (a
/// sum's): at 8 rows, 80% of a store's million-group sum waited on the
/// state's load; 24 took a tenth off its CPU (64 measured no better).
pub(crate) const STATE_PREFETCH: usize = 24;

/// Calls `f` with `states[ids[row]]` and `row` for every row in order,
/// each group's state prefetched [`STATE_PREFETCH`] rows ahead: the loop
/// of every [`AggState::update_scattered`].
#[inline(always)]
pub(crate) fn each_scattered<S>(states: &mut [S], ids: &[u32], mut f: impl FnMut(&mut S, usize)) {
    for (row, &group) in ids.iter().enumerate() {
        if let Some(&ahead) = ids.get(row + STATE_PREFETCH) {
            crate::hint::prefetch(&states[ahead as usize]);
        }
        f(&mut states[group as usize], row);
    }
}

/// [`AggState::update_scattered`] by one `update` call per row.
pub(crate) fn update_each<S: AggState>(
    states: &mut [S],
    col: &Column<'_>,
    ids: &[u32],
) -> Result<(), BadValue> {
    let mut first: Option<BadValue> = None;
    each_scattered(states, ids, |state, row| {
        let row = row as u32;
        if let Err(bad) = state.update(col, Rows::Some(std::slice::from_ref(&row))) {
            // rows come in order: the first error is the earliest
            first.get_or_insert(bad);
        }
    });
    first.map_or(Ok(()), Err)
}

/// Merges the optional part of two states, often boxed as few groups need
/// it (text values, typed sets, spare sketches): theirs moves over when
/// this state has none, else `merge` combines the two.
pub(crate) fn merge_optional<T>(
    mine: &mut Option<T>,
    theirs: Option<T>,
    merge: impl FnOnce(&mut T, &mut T),
) {
    match (mine.as_mut(), theirs) {
        (_, None) => {}
        (None, theirs) => *mine = theirs,
        (Some(m), Some(mut t)) => merge(m, &mut t),
    }
}

/// One aggregate's states for every group of a partial result.
pub trait StateVec: Send + Sync {
    /// Makes sure groups `0..groups` exist.
    fn resize(&mut self, groups: usize);
    fn update(&mut self, col: &Column<'_>, groups: &Groups<'_>) -> Result<(), BadValue>;
    /// [`AggState::update_codes`] of the rows of `groups`: `false` where
    /// the state, or this grouping, does not take codes (then `update`
    /// must take the rows).
    fn update_codes(&mut self, col: &Column<'_>, codes: Codes<'_>, groups: &Groups<'_>) -> bool;
    /// See [`AggState::READS_CODES`].
    fn reads_codes(&self) -> bool;
    /// Merges `other`'s group `i` into this vector's group `remap[i]`.
    fn merge_from(&mut self, other: Box<dyn StateVec>, remap: &[u32]);
    /// Moves group `i`'s state to group `dest[i].1` of `to[dest[i].0]`
    /// (vectors of the same aggregate), replacing what is there: splits a
    /// table into partitions.
    fn scatter(self: Box<Self>, to: &mut [&mut Box<dyn StateVec>], dest: &[(u32, u32)]);
    /// See [`AggState::READS_RAW`].
    fn reads_raw(&self) -> bool;
    /// See [`AggState::TAKES_TEXT`].
    fn takes_text(&self) -> bool;
    /// See [`AggState::scatters`].
    fn scatters(&self, col: &Column<'_>) -> bool;
    /// Adds what every group's state knows about the column to `facts`
    /// ([`AggState::gather`]).
    fn gather(&self, facts: &mut ColumnFacts);
    fn finish(&self, group: usize, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value;
    /// [`AggState::finish_each`] of a group's state.
    fn finish_each(
        &self,
        group: usize,
        ty: ColumnType,
        funcs: &[&Func],
        facts: &ColumnFacts,
    ) -> Vec<Value>;
    /// [`AggState::beyond_bound`] of a group's state.
    fn beyond_bound(&self, group: usize, func: &Func) -> Option<&'static str>;
    /// Whether every group's state is [complete](AggState::complete), given
    /// what [`gather`](Self::gather) found in every table's groups.
    fn complete(&self, ty: ColumnType, facts: &ColumnFacts) -> bool;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Appends the state of group `group` (a group without a state as a
    /// fresh one's): a caller lists the groups it wants in its order, one
    /// call each, and knows their number.
    fn encode_group(&self, group: usize, out: &mut Vec<u8>);
    /// Starts fetching group `group`'s state, for a caller that visits
    /// groups in an order of its own (the partial's key order, at random
    /// in memory): a hint, nothing else.
    fn prefetch_group(&self, _group: usize) {}
    /// Reads `groups` states written by [`encode_group`](Self::encode_group),
    /// one after the other, and appends them.
    fn decode_into(&mut self, groups: usize, r: &mut Reader<'_>) -> Result<(), WireError>;
}

/// How the rows of a batch map to groups.
#[derive(Clone, Copy, Debug)]
pub enum Groups<'a> {
    /// No `--by`: every row belongs to group 0.
    Scalar,
    /// `order` lists row indices grouped together; each `(group, start, end)`
    /// run says that `order[start..end]` belong to `group` (rows ascending).
    Grouped {
        order: &'a [u32],
        runs: &'a [(u32, u32, u32)],
    },
    /// `ids[row]` is the group of each row: for many small groups, where
    /// sorting rows into runs costs more than it saves.
    PerRow { ids: &'a [u32] },
}

struct States<S>(Vec<S>);

impl<S: AggState> StateVec for States<S> {
    fn resize(&mut self, groups: usize) {
        if self.0.capacity() == 0 {
            // sized once, large: states hit at random, on huge pages where
            // they pay
            self.0.reserve_exact(groups);
            let bytes = groups * std::mem::size_of::<S>();
            crate::alloc::advise_huge_pages(self.0.as_ptr() as *const u8, bytes);
        }
        if self.0.len() < groups {
            self.0.resize_with(groups, S::default);
        }
    }

    fn update(&mut self, col: &Column<'_>, groups: &Groups<'_>) -> Result<(), BadValue> {
        match groups {
            Groups::Scalar => {
                self.resize(1);
                self.0[0].update(col, Rows::All(col.len))
            }
            Groups::Grouped { order, runs } => {
                // Keep going after an error so the earliest bad row of the
                // batch is reported, whatever group it is in.
                let mut first: Option<BadValue> = None;
                for &(group, start, end) in runs.iter() {
                    let rows = Rows::Some(&order[start as usize..end as usize]);
                    if let Err(bad) = self.0[group as usize].update(col, rows) {
                        if first.is_none_or(|f| bad.row < f.row) {
                            first = Some(bad);
                        }
                    }
                }
                first.map_or(Ok(()), Err)
            }
            Groups::PerRow { ids } => S::update_scattered(&mut self.0, col, ids),
        }
    }

    fn merge_from(&mut self, other: Box<dyn StateVec>, remap: &[u32]) {
        let other = other
            .into_any()
            .downcast::<States<S>>()
            .expect("merging partial states of the same aggregate");
        for (i, mut state) in other.0.into_iter().enumerate() {
            let dst = remap[i] as usize;
            self.resize(dst + 1);
            self.0[dst].merge(&mut state);
        }
    }

    fn scatter(self: Box<Self>, to: &mut [&mut Box<dyn StateVec>], dest: &[(u32, u32)]) {
        let mut to: Vec<&mut States<S>> = to
            .iter_mut()
            .map(|v| {
                v.as_any_mut()
                    .downcast_mut::<States<S>>()
                    .expect("scattering into states of the same aggregate")
            })
            .collect();
        for (state, &(part, group)) in self.0.into_iter().zip(dest) {
            let target = &mut to[part as usize];
            target.resize(group as usize + 1);
            target.0[group as usize] = state;
        }
    }

    fn reads_raw(&self) -> bool {
        S::READS_RAW
    }

    fn takes_text(&self) -> bool {
        S::TAKES_TEXT
    }

    fn update_codes(&mut self, col: &Column<'_>, codes: Codes<'_>, groups: &Groups<'_>) -> bool {
        if !S::READS_CODES || !matches!(groups, Groups::Scalar) {
            return false;
        }
        self.resize(1);
        self.0[0].update_codes(col, codes, Rows::All(col.len))
    }

    fn reads_codes(&self) -> bool {
        S::READS_CODES
    }

    fn scatters(&self, col: &Column<'_>) -> bool {
        S::scatters(col)
    }

    fn gather(&self, facts: &mut ColumnFacts) {
        self.0.iter().for_each(|s| s.gather(facts));
    }

    fn finish(&self, group: usize, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value {
        match self.0.get(group) {
            Some(state) => state.finish_in(ty, func, facts),
            None => S::default().finish_in(ty, func, facts),
        }
    }

    fn finish_each(
        &self,
        group: usize,
        ty: ColumnType,
        funcs: &[&Func],
        facts: &ColumnFacts,
    ) -> Vec<Value> {
        match self.0.get(group) {
            Some(state) => state.finish_each(ty, funcs, facts),
            None => S::default().finish_each(ty, funcs, facts),
        }
    }

    fn beyond_bound(&self, group: usize, func: &Func) -> Option<&'static str> {
        self.0.get(group).and_then(|s| s.beyond_bound(func))
    }

    fn complete(&self, ty: ColumnType, facts: &ColumnFacts) -> bool {
        self.0.iter().all(|s| s.complete(ty, facts))
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn prefetch_group(&self, group: usize) {
        if let Some(state) = self.0.get(group) {
            crate::hint::prefetch(state);
        }
    }

    fn encode_group(&self, group: usize, out: &mut Vec<u8>) {
        match self.0.get(group) {
            Some(state) => state.encode(out),
            None => S::default().encode(out),
        }
    }

    fn decode_into(&mut self, groups: usize, r: &mut Reader<'_>) -> Result<(), WireError> {
        // every state takes a byte at least
        if groups > r.remaining() {
            return Err(r.error(format!("{groups} states in {} bytes", r.remaining())));
        }
        self.0.reserve(groups);
        for _ in 0..groups {
            self.0.push(S::decode(r)?);
        }
        Ok(())
    }
}

fn states<S: AggState>() -> Box<dyn StateVec> {
    Box::new(States::<S>(Vec::new()))
}

/// An aggregate function, as named in a spec.
#[derive(Clone, Debug, PartialEq)]
pub enum Func {
    /// `count` alone: number of rows.
    CountRows,
    /// `count:col`: number of non-null values.
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Var,
    Std,
    VarPop,
    StdPop,
    NullCount,
    /// `median` (0.5) or `pNN`: the fraction in `0..=1` and the label.
    Quantile(f64, String),
    Distinct,
    /// `approx_distinct`: a HyperLogLog estimate (see [`approx`]).
    ApproxDistinct,
    /// `approx_median` / `approx_pNN`: like `Quantile`, from a DDSketch;
    /// the label has the `approx_` prefix.
    ApproxQuantile(f64, String),
}

/// States that several aggregates of one column can share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SharedState {
    /// Count and exact Σx: `sum`, `mean`.
    Sum,
    /// Count, exact Σx and Σx²: the variances, and `sum`/`mean` with them.
    Moments,
    /// Every value: `median` and every `pNN` of one column read one copy.
    Values,
    /// One DDSketch: `approx_median` and every `approx_pNN` of a column.
    Sketch,
}

impl SharedState {
    /// A function whose [`Func::new_states`] makes this state.
    pub fn representative(self) -> Func {
        match self {
            SharedState::Sum => Func::Sum,
            SharedState::Moments => Func::Var,
            SharedState::Values => Func::Quantile(0.5, "median".into()),
            SharedState::Sketch => Func::ApproxQuantile(0.5, "approx_median".into()),
        }
    }
}

/// An aggregate function's name and what `--agg` reads it as: one entry of
/// [`FUNCS`].
pub struct FuncName {
    /// The name: what the list of functions in messages shows, and the
    /// label of output columns (`mean` in `mean_x`).
    pub name: &'static str,
    /// Other spellings `--agg` accepts (any case, as the name).
    pub aliases: &'static [&'static str],
    /// Whether the function needs numbers (a text value is an error).
    pub needs_numbers: bool,
    /// The function the name stands for; `None` for `pNN`, whose name is a
    /// pattern: [`Func::parse`] reads the percentile from the digits.
    make: Option<fn() -> Func>,
}

impl FuncName {
    /// A function of numbers (a text value is an error).
    const fn numeric(name: &'static str, make: fn() -> Func) -> FuncName {
        FuncName {
            name,
            aliases: &[],
            needs_numbers: true,
            make: Some(make),
        }
    }

    /// A function of any values, text included.
    const fn any(name: &'static str, make: fn() -> Func) -> FuncName {
        FuncName {
            needs_numbers: false,
            ..FuncName::numeric(name, make)
        }
    }

    const fn aliases(self, aliases: &'static [&'static str]) -> FuncName {
        FuncName { aliases, ..self }
    }
}

/// Every aggregate function, once: [`Func::parse`], [`Func::label`],
/// [`Func::needs_numbers`] and the list of known functions in help and
/// "did you mean" messages ([`Func::names`]) all read this table, in this
/// order. A new aggregate is a [`Func`] variant, its state
/// ([`Func::new_states_for`]) and a line here.
pub const FUNCS: &[FuncName] = &[
    // `count` alone is `Func::CountRows` (see `crate::spec`): also `count`
    FuncName::any("count", || Func::Count),
    FuncName::numeric("sum", || Func::Sum),
    FuncName::numeric("mean", || Func::Mean).aliases(&["avg"]),
    FuncName::any("min", || Func::Min),
    FuncName::any("max", || Func::Max),
    FuncName::numeric("var", || Func::Var),
    FuncName::numeric("std", || Func::Std).aliases(&["stddev"]),
    FuncName::numeric("var_pop", || Func::VarPop),
    FuncName::numeric("std_pop", || Func::StdPop),
    FuncName::any("null_count", || Func::NullCount),
    FuncName::numeric("median", || Func::Quantile(0.5, "median".into())),
    // a pattern: `Func::parse` reads the percentile from the digits
    FuncName {
        name: "pNN",
        aliases: &[],
        needs_numbers: true,
        make: None,
    },
    FuncName::any("distinct", || Func::Distinct),
    FuncName::any("approx_distinct", || Func::ApproxDistinct),
    FuncName::numeric("approx_median", || {
        Func::ApproxQuantile(0.5, "approx_median".into())
    }),
    // a pattern, as `pNN`
    FuncName {
        name: "approx_pNN",
        aliases: &[],
        needs_numbers: true,
        make: None,
    },
];

impl Func {
    /// The type of this function's answers over a column of type `input`,
    /// where every answer has it (`Null`: the answers' values decide, as a
    /// sum of text does). Counts are integers; means, deviations and
    /// quantiles floats; sums the column's numbers; extremes the column's
    /// type. What an output declares for a column of no value (a result
    /// of no group).
    pub fn output_type(&self, input: ColumnType) -> ColumnType {
        match self {
            Func::CountRows | Func::Count | Func::NullCount => ColumnType::Int,
            Func::Distinct | Func::ApproxDistinct => ColumnType::Int,
            Func::Mean | Func::Var | Func::Std | Func::VarPop | Func::StdPop => ColumnType::Float,
            Func::Quantile(..) | Func::ApproxQuantile(..) => ColumnType::Float,
            Func::Sum => match input {
                ColumnType::Int | ColumnType::Float => input,
                ColumnType::Null | ColumnType::Text => ColumnType::Null,
            },
            Func::Min | Func::Max => input,
        }
    }

    /// Every function name, in [`FUNCS`] order, for help and "did you mean"
    /// messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        FUNCS.iter().map(|f| f.name)
    }

    /// Parses a function name (`mean`, `p99.9`, ...). An empty error means
    /// the name is unknown; otherwise the error says what is wrong.
    pub fn parse(name: &str) -> Result<Func, String> {
        let lower = name.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("approx_") {
            // the exact function's name and checks, then its sketch
            return match Func::parse(rest) {
                Ok(Func::Distinct) => Ok(Func::ApproxDistinct),
                Ok(Func::Quantile(q, label)) => {
                    Ok(Func::ApproxQuantile(q, format!("approx_{label}")))
                }
                Ok(_) => Err(String::new()),
                // the message quotes `rest` first: quote the whole name
                Err(why) => Err(why.replacen(
                    &*crate::error::show_name(rest),
                    &crate::error::show_name(name),
                    1,
                )),
            };
        }
        let named = FUNCS.iter().find_map(|f| match f.make {
            Some(make) if f.name == lower || f.aliases.contains(&lower.as_str()) => Some(make()),
            _ => None,
        });
        if let Some(func) = named {
            return Ok(func);
        }
        // the one pattern, after the names, which it must not shadow
        match lower.strip_prefix('p') {
            Some(num) if !num.is_empty() => {
                let valid_chars = num.bytes().all(|b| b.is_ascii_digit() || b == b'.');
                // digits with at most one point, a digit first
                let decimal =
                    valid_chars && num.as_bytes()[0].is_ascii_digit() && num.parse::<f64>().is_ok();
                // the name as typed, on one line, escaped
                let shown = crate::error::show_name(name);
                if !decimal {
                    return Err(format!("'{shown}' is not a percentile: use pNN with NN between 0 and 100, like p99 or p99.9"));
                }
                if !at_most_100(num) {
                    return Err(format!(
                        "percentile '{shown}' is out of range: NN must be between 0 and 100"
                    ));
                }
                Ok(Func::Quantile(percent_to_fraction(num), lower))
            }
            _ => Err(String::new()),
        }
    }

    /// This function's entry in [`FUNCS`]: the one whose function is of the
    /// same variant (`count` for `count` alone; `median` for every
    /// quantile, whose label is its own).
    fn entry(&self) -> &'static FuncName {
        let variant = std::mem::discriminant(match self {
            Func::CountRows => &Func::Count,
            f => f,
        });
        FUNCS
            .iter()
            .find(|f| {
                f.make
                    .is_some_and(|make| std::mem::discriminant(&make()) == variant)
            })
            .expect("every function is in FUNCS")
    }

    /// The name used in output column names (`mean` in `mean_x`).
    pub fn label(&self) -> &str {
        match self {
            Func::Quantile(_, label) => label,
            Func::ApproxQuantile(_, label) => label,
            _ => self.entry().name,
        }
    }

    /// Whether the function needs numbers (a text value is an error).
    pub fn needs_numbers(&self) -> bool {
        self.entry().needs_numbers
    }

    /// Which state this function can share with others on the same column:
    /// `sum` and `mean` share one; `var`, `std`, `var_pop`, `std_pop` share
    /// another, which also answers `sum` and `mean` when both kinds are asked
    /// of a column. `None`: a state of its own.
    pub fn shared_state(&self) -> Option<SharedState> {
        match self {
            Func::Sum | Func::Mean => Some(SharedState::Sum),
            Func::Var | Func::Std | Func::VarPop | Func::StdPop => Some(SharedState::Moments),
            Func::Quantile(..) => Some(SharedState::Values),
            Func::ApproxQuantile(..) => Some(SharedState::Sketch),
            _ => None,
        }
    }

    /// Fresh, empty states for this function.
    pub fn new_states(&self) -> Box<dyn StateVec> {
        self.new_states_for(false)
    }

    /// Whether this function's state reads a column's rows as codes into a
    /// dictionary, in a run without `--by` ([`AggState::READS_CODES`]).
    pub fn reads_codes(&self) -> bool {
        self.new_states_for(false).reads_codes()
    }

    /// Fresh, empty states; `text_extremes`: `min` and `max` keep the text
    /// of numeric values too, needed once a column turned out to be text
    /// (see the `extreme` module).
    pub fn new_states_for(&self, text_extremes: bool) -> Box<dyn StateVec> {
        match self {
            Func::Min if text_extremes => states::<MinText>(),
            Func::Max if text_extremes => states::<MaxText>(),
            Func::CountRows => states::<CountRows>(),
            Func::Count => states::<CountValues>(),
            Func::NullCount => states::<NullCount>(),
            Func::Sum | Func::Mean => states::<SumState>(),
            Func::Min => states::<Min>(),
            Func::Max => states::<Max>(),
            Func::Var | Func::Std | Func::VarPop | Func::StdPop => states::<Moments>(),
            Func::Quantile(..) => states::<Quantile>(),
            Func::Distinct => states::<Distinct>(),
            Func::ApproxDistinct => states::<ApproxDistinct>(),
            Func::ApproxQuantile(..) => states::<ApproxQuantile>(),
        }
    }
}

/// Whether `digits` (ASCII digits with at most one `.`, never negative) is
/// at most 100, decided on the text: the percentile is the decimal as
/// written, and as a double a value just above 100 (`100.000000000000001`)
/// rounds to 100.
fn at_most_100(digits: &str) -> bool {
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    int.len() < 3 || (int == "100" && frac.bytes().all(|b| b == b'0'))
}

/// `"99.9"` → 0.999, by moving the decimal point in the text, so that the
/// fraction is the double nearest to the decimal the user wrote (dividing by
/// 100 would give 0.9990000000000001).
fn percent_to_fraction(digits: &str) -> f64 {
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = format!("{int:0>2}");
    let (head, tail) = int.split_at(int.len() - 2);
    format!("{head}.{tail}{frac}")
        .parse()
        .expect("validated digits")
}

/// Rows of floats from which `sum`, `mean` and the moments add through
/// [`ExactSum::add_many`](crate::exact::ExactSum::add_many): below, its
/// fixed cost (sweeping the bins a run touched) outweighs what it saves,
/// as for the short per-group runs of a group-by with many groups.
pub(crate) const BINNED_ROWS: usize = 64;

/// The number of the selected rows of `col` that are not null.
pub(crate) fn count_valid(col: &Column<'_>, rows: Rows<'_>) -> u64 {
    match (col.valid, rows) {
        (None, rows) => rows.count() as u64,
        (Some(valid), Rows::All(n)) => valid[..n].iter().filter(|&&v| v).count() as u64,
        (Some(valid), Rows::Some(sel)) => sel.iter().filter(|&&r| valid[r as usize]).count() as u64,
    }
}

/// Calls `f` with the value of each selected row that holds one, in order,
/// and returns how many: plain loops, so that `f` inlines into them
/// (through [`Rows::for_each`] the per-row closure of a binned sum stayed a
/// call, with the bins' state stored to memory on every value).
#[inline(always)]
pub(crate) fn for_each_value<T: Copy>(
    col: &Column<'_>,
    values: &[T],
    rows: Rows<'_>,
    mut f: impl FnMut(T),
) -> u64 {
    let mut count = 0;
    match (rows, col.valid) {
        (Rows::All(n), None) => {
            for &v in &values[..n] {
                f(v);
            }
            count = n as u64;
        }
        (Rows::All(n), Some(valid)) => {
            for (&v, &ok) in values[..n].iter().zip(&valid[..n]) {
                if ok {
                    f(v);
                    count += 1;
                }
            }
        }
        (Rows::Some(rows), _) => {
            for &r in rows {
                if col.is_valid(r as usize) {
                    f(values[r as usize]);
                    count += 1;
                }
            }
        }
    }
    count
}

/// Returns the first selected row of a text batch that is not a number,
/// for the numeric aggregates (a text batch always has at least one).
pub(crate) fn first_non_number(
    col: &Column<'_>,
    values: &[&[u8]],
    rows: Rows<'_>,
) -> Result<(), BadValue> {
    rows.try_for_each(|r| {
        if col.is_valid(r) && crate::value::parse_float_field(values[r]).is_none() {
            Err(BadValue { row: r })
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers to drive states from plain vectors in unit tests.
    use super::*;
    use crate::value::Data;

    /// Floats at the edges of `f64::total_cmp`'s order: NaNs of both
    /// signs, the infinities, both zeros, the least subnormals, the
    /// extremes, and two plain values.
    pub const AWKWARD_FLOATS: [f64; 12] = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        f64::MAX,
        -f64::MAX,
        1.5,
        -2.25,
    ];

    /// Feeds `values` (None = null) as one float batch and returns the state.
    pub fn floats<S: AggState>(values: &[Option<f64>]) -> S {
        let mut s = S::default();
        feed_floats(&mut s, values);
        s
    }

    pub fn feed_floats<S: AggState>(s: &mut S, values: &[Option<f64>]) {
        let data: Vec<f64> = values.iter().map(|v| v.unwrap_or(0.0)).collect();
        feed_numbers(s, Data::Float(&data), values);
    }

    /// Feeds `values` (None = null) as one integer batch and returns the state.
    pub fn ints<S: AggState>(values: &[Option<i64>]) -> S {
        let mut s = S::default();
        let data: Vec<i64> = values.iter().map(|v| v.unwrap_or(0)).collect();
        feed_numbers(&mut s, Data::Int(&data), values);
        s
    }

    /// Feeds one numeric batch, `data`, null where `values` is None.
    fn feed_numbers<S: AggState, T>(s: &mut S, data: Data<'_>, values: &[Option<T>]) {
        let valid: Vec<bool> = values.iter().map(Option::is_some).collect();
        let col = Column {
            len: valid.len(),
            data,
            valid: Some(&valid),
            raw: None,
        };
        s.update(&col, Rows::All(valid.len())).unwrap();
    }

    pub fn texts<S: AggState>(values: &[&str]) -> (S, Result<(), BadValue>) {
        let mut s = S::default();
        let data: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let valid: Vec<bool> = values.iter().map(|v| !v.is_empty()).collect();
        let col = Column {
            len: data.len(),
            data: Data::Text(&data),
            valid: Some(&valid),
            raw: Some(&data),
        };
        let r = s.update(&col, Rows::All(data.len()));
        (s, r)
    }

    /// Splits `values` at every position, merges the halves, and checks the
    /// result equals the unsplit state's (and that merging empties works).
    pub fn check_merge<S: AggState>(values: &[Option<f64>], ty: ColumnType, func: &Func) {
        let whole = floats::<S>(values).finish(ty, func);
        for cut in 0..=values.len() {
            let mut left = floats::<S>(&values[..cut]);
            let mut right = floats::<S>(&values[cut..]);
            left.merge(&mut right);
            left.merge(&mut S::default());
            let mut empty = S::default();
            empty.merge(&mut left);
            assert_eq!(
                format!("{:?}", empty.finish(ty, func)),
                format!("{whole:?}"),
                "cut at {cut}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Folding a batch row by row (`Groups::PerRow`, `update_scattered`)
    /// must leave every state as folding each group's run does
    /// (`Groups::Grouped`): which one a batch gets depends on how many
    /// groups a worker has seen, so on partitioning. Compared by the states'
    /// canonical byte form, which also sees a state that merely exists.
    #[test]
    fn scattered_and_grouped_updates_agree() {
        use crate::value::Data;
        let funcs = [
            Func::CountRows,
            Func::Count,
            Func::NullCount,
            Func::Sum,
            Func::Std,
            Func::Min,
            Func::Max,
            Func::Quantile(0.5, "median".into()),
            Func::Distinct,
        ];
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for groups in [1usize, 3, 40, 300] {
            let len = 2000;
            let ids: Vec<u32> = (0..len).map(|_| (next() % groups as u64) as u32).collect();
            // group 0 holds only nulls
            let valid: Vec<bool> = ids.iter().map(|&g| g != 0 && next() % 5 != 0).collect();
            let floats: Vec<f64> = (0..len)
                .map(|_| (next() as f64 - 2e9) * 1.5f64.powi((next() % 40) as i32 - 20))
                .collect();
            let ints: Vec<i64> = (0..len).map(|_| next() as i64 - (1 << 30)).collect();
            let mut order: Vec<u32> = (0..len as u32).collect();
            order.sort_by_key(|&r| ids[r as usize]);
            let mut runs = Vec::new();
            for g in 0..groups {
                let start = order.partition_point(|&r| (ids[r as usize] as usize) < g);
                let end = order.partition_point(|&r| (ids[r as usize] as usize) <= g);
                if start < end {
                    runs.push((g as u32, start as u32, end as u32));
                }
            }
            for (kind, data) in [("floats", Data::Float(&floats)), ("ints", Data::Int(&ints))] {
                let col = Column {
                    len,
                    data,
                    valid: Some(&valid),
                    raw: None,
                };
                for func in &funcs {
                    let (mut grouped, mut scattered) = (func.new_states(), func.new_states());
                    grouped.resize(groups);
                    scattered.resize(groups);
                    let by_runs = Groups::Grouped {
                        order: &order,
                        runs: &runs,
                    };
                    grouped.update(&col, &by_runs).unwrap();
                    scattered
                        .update(&col, &Groups::PerRow { ids: &ids })
                        .unwrap();
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    for g in 0..groups {
                        grouped.encode_group(g, &mut a);
                        scattered.encode_group(g, &mut b);
                    }
                    assert!(a == b, "{func:?}, {groups} groups of {kind}");
                }
            }
        }
    }

    #[test]
    fn percentiles_are_the_decimal_written() {
        assert_eq!(percent_to_fraction("99.9"), 0.999);
        assert_eq!(percent_to_fraction("99"), 0.99);
        assert_eq!(percent_to_fraction("5"), 0.05);
        assert_eq!(percent_to_fraction("100"), 1.0);
        assert_eq!(percent_to_fraction("0"), 0.0);
        assert_eq!(percent_to_fraction("12.345"), 0.12345);
        assert_eq!(Func::parse("p50"), Ok(Func::Quantile(0.5, "p50".into())));
        assert_eq!(Func::parse("nope"), Err(String::new()));
    }

    /// The range is decided on the digits, not on their double: 100 and a
    /// hair (which rounds to 100.0) is out, 100 however spelt is in.
    #[test]
    fn percentiles_above_100_by_a_hair_are_out_of_range() {
        for name in [
            "p100.000000000000001",
            "p100.00000000000000000000000001",
            "p0100.1",
            "p101",
            "p1000",
            "p00000000000000000000101",
        ] {
            for name in [name.to_string(), format!("approx_{name}")] {
                let why = Func::parse(&name).unwrap_err();
                assert!(why.contains("out of range"), "{name}: {why}");
                assert!(why.contains(&format!("'{name}'")), "{name}: {why}");
            }
        }
        for (name, q) in [
            ("p100", 1.0),
            ("p100.", 1.0),
            ("p100.0000", 1.0),
            ("p0100", 1.0),
            ("p00000000000000000000100.000", 1.0),
            ("p99.999999999999999999", 1.0),
            ("p0", 0.0),
            ("p0.000", 0.0),
            ("p000", 0.0),
            ("p7", 0.07),
        ] {
            assert_eq!(
                Func::parse(name),
                Ok(Func::Quantile(q, name.into())),
                "{name}"
            );
        }
        for name in ["p-0", "p-1", "p.5", "p1.2.3", "p+5", "p1e2", "p 5"] {
            let why = Func::parse(name).unwrap_err();
            assert!(why.contains("is not a percentile"), "{name}: {why}");
        }
    }

    #[test]
    fn every_name_parses_to_a_function_labelled_by_it() {
        for f in FUNCS {
            let Some(make) = f.make else {
                assert!(["pNN", "approx_pNN"].contains(&f.name), "{}", f.name);
                continue;
            };
            let func = make();
            assert_eq!(func.label(), f.name);
            assert_eq!(func.needs_numbers(), f.needs_numbers, "{}", f.name);
            for spelling in std::iter::once(&f.name).chain(f.aliases) {
                assert_eq!(Func::parse(spelling), Ok(func.clone()));
                assert_eq!(Func::parse(&spelling.to_uppercase()), Ok(func.clone()));
            }
        }
        assert_eq!(Func::CountRows.label(), "count");
        assert_eq!(Func::parse("p99.9").unwrap().label(), "p99.9");
        assert!(Func::parse("p99").unwrap().needs_numbers());
        assert_eq!(
            Func::parse("approx_p99.9").unwrap(),
            Func::ApproxQuantile(0.999, "approx_p99.9".into())
        );
        assert!(Func::parse("approx_p99").unwrap().needs_numbers());
        assert!(!Func::ApproxDistinct.needs_numbers());
        assert_eq!(Func::parse("approx_sum"), Err(String::new()));
        assert_eq!(
            Func::names().collect::<Vec<_>>().join(", "),
            "count, sum, mean, min, max, var, std, var_pop, std_pop, null_count, median, pNN, distinct, \
             approx_distinct, approx_median, approx_pNN"
        );
    }
}
