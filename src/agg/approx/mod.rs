//! Approximate aggregates in bounded memory: `approx_distinct`,
//! `approx_median`, `approx_pNN`.
//!
//! The exact `distinct` and `median`/`pNN` keep every distinct value or
//! every value; these keep a sketch of fixed maximum size, whatever the
//! input, and stay as deterministic as the exact aggregates: **the same
//! output bytes for every partition count, thread count and merge order.**
//! That rules out sketches that sample or keep "the first k" of anything
//! (KLL, t-digest, reservoir samples), whose content depends on arrival
//! order. Both sketches chosen here are functions of the *set* (HLL) or
//! *multiset* (DDSketch) of values seen, so every merge tree gives the same
//! state, and their error bounds are worst-case (DDSketch) or tight and
//! distribution-free (HyperLogLog):
//!
//! - [`ApproxDistinct`] (`approx_distinct`): HyperLogLog, 2^14 one-byte
//!   registers (16 KiB), Ertl's improved estimator: relative standard error
//!   1.04/sqrt(16384) = 0.81% at every cardinality (within 2.4%, three
//!   standard errors, for 99.7% of inputs), exact up to 1024 distinct
//!   values. Merge is a register-wise maximum. Values hash by their value
//!   as `distinct` compares them (`007` is `7` in an integer column, `1.0`
//!   is `1` in a float one, every NaN is one value), through fixed-seeded
//!   XXH3, so it estimates exactly the count `distinct` gives. See
//!   [`distinct`] and [`hll`].
//! - [`ApproxQuantile`] (`approx_median`, `approx_pNN`): DDSketch with
//!   relative accuracy 1% (`gamma <= 1.01/0.99`): the value of each rank
//!   is known within 1% of itself, so the quantile is within 1% of the
//!   exact one (of `(1-t)|a| + t|b|` when it interpolates across zero),
//!   exact up to 64 values, at p0 and p100, and for zeros, infinities and
//!   NaN. Bucket counts are integers, so merging is exact addition. Memory
//!   is at most 2048 buckets per sign (about 1 KiB per decade of magnitudes
//!   spanned, 32 KiB at most): values more than 2^58.5 (4e17) times smaller
//!   in magnitude than the largest of their sign fall into the lowest
//!   bucket kept, which the largest value alone determines, so the collapse
//!   is order-independent too. See [`quantile`] and [`ddsketch`]. The
//!   result is a float, for integer columns too (the bound is relative:
//!   integers above 2^53 lose nothing that matters).
//!
//! Both start empty and grow on demand (a hash set, a list of values), so
//! a group-by's many small groups cost little more than their values.

mod ddsketch;
mod distinct;
mod hll;
mod quantile;

pub use distinct::ApproxDistinct;
pub use quantile::ApproxQuantile;

/// The documented error bounds, for tests and help text.
pub mod bounds {
    /// `approx_distinct`'s relative standard error.
    pub const DISTINCT_STANDARD_ERROR: f64 = super::hll::STANDARD_ERROR;
    /// Distinct values counted exactly.
    pub const DISTINCT_EXACT_UP_TO: usize = super::hll::EXACT_MAX;
    /// `approx_median`/`approx_pNN`'s relative accuracy per rank.
    pub const QUANTILE_RELATIVE_ACCURACY: f64 = super::quantile::RELATIVE_ACCURACY;
    /// Values for which quantiles are exact.
    pub const QUANTILE_EXACT_UP_TO: usize = super::quantile::EXACT_MAX;
    /// Buckets kept per sign.
    pub const QUANTILE_MAX_BUCKETS: usize = super::quantile::MAX_BUCKETS;
}

#[cfg(test)]
pub(crate) mod testing {
    //! Batches typed as the CSV reader types them, and random merge trees.
    use crate::agg::{AggState, BadValue};
    use crate::value::{
        is_wide_int_field, parse_float_field, parse_int_field, Column, ColumnType, Data, Rows,
    };

    /// A batch that owns its values.
    pub struct OwnedBatch {
        raw: Vec<Vec<u8>>,
        ints: Vec<i64>,
        floats: Vec<f64>,
        valid: Vec<bool>,
        ty: ColumnType,
    }

    impl OwnedBatch {
        /// The batch's type.
        pub fn ty(&self) -> ColumnType {
            self.ty
        }

        /// Folds every row into `s`.
        pub fn feed<S: AggState>(&self, s: &mut S) -> Result<(), BadValue> {
            let raw: Vec<&[u8]> = self.raw.iter().map(|v| &v[..]).collect();
            let col = Column {
                len: raw.len(),
                data: match self.ty {
                    ColumnType::Int | ColumnType::Null => Data::Int(&self.ints),
                    ColumnType::Float => Data::Float(&self.floats),
                    ColumnType::Text => Data::Text(&raw),
                },
                valid: Some(&self.valid),
                raw: Some(&raw),
            };
            s.update(&col, Rows::All(raw.len()))
        }
    }

    /// A batch of `values` (`""` is null), typed as `source::csv` types
    /// one: text if a value is a zero-padded integer (`007`), else
    /// integers if every value is one, else floats if every one is a
    /// number and none a too-wide integer, else text.
    pub fn batch_of(values: &[&str]) -> OwnedBatch {
        let present: Vec<&[u8]> = values
            .iter()
            .filter(|v| !v.is_empty())
            .map(|v| v.as_bytes())
            .collect();
        let ty = if present.is_empty() {
            ColumnType::Null
        } else if present.iter().any(|v| crate::number::is_zero_padded_int(v)) {
            ColumnType::Text
        } else if present.iter().all(|v| parse_int_field(v).is_some()) {
            ColumnType::Int
        } else if present
            .iter()
            .all(|v| parse_float_field(v).is_some() && !is_wide_int_field(v))
        {
            ColumnType::Float
        } else {
            ColumnType::Text
        };
        OwnedBatch {
            raw: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
            ints: values
                .iter()
                .map(|v| parse_int_field(v.as_bytes()).unwrap_or(0))
                .collect(),
            floats: values
                .iter()
                .map(|v| parse_float_field(v.as_bytes()).unwrap_or(0.0))
                .collect(),
            valid: values.iter().map(|v| !v.is_empty()).collect(),
            ty,
        }
    }

    /// Deals `values` at random into `parts` states, each fed in random
    /// batches, then merges the states two at a time, picked at random and
    /// merged either way round, until one is left.
    pub fn merge_in_random_tree<S: AggState>(
        values: &[&str],
        parts: usize,
        next: &mut impl FnMut() -> u64,
    ) -> S {
        let mut dealt: Vec<Vec<&str>> = vec![Vec::new(); parts];
        for &v in values {
            dealt[(next() % parts as u64) as usize].push(v);
        }
        let mut states: Vec<S> = dealt
            .iter()
            .map(|part| {
                let mut s = S::default();
                let mut start = 0;
                while start < part.len() {
                    let end = (start + 1 + (next() % 2000) as usize).min(part.len());
                    batch_of(&part[start..end]).feed(&mut s).unwrap();
                    start = end;
                }
                s
            })
            .collect();
        while states.len() > 1 {
            let i = (next() % states.len() as u64) as usize;
            let mut a = states.swap_remove(i);
            let j = (next() % states.len() as u64) as usize;
            let mut b = states.swap_remove(j);
            if next().is_multiple_of(2) {
                a.merge(&mut b);
                states.push(a);
            } else {
                b.merge(&mut a);
                states.push(b);
            }
        }
        states.pop().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crate::agg::{Func, SharedState};

    #[test]
    fn names_parse_and_label() {
        assert_eq!(Func::parse("approx_distinct"), Ok(Func::ApproxDistinct));
        assert_eq!(
            Func::parse("approx_median"),
            Ok(Func::ApproxQuantile(0.5, "approx_median".into()))
        );
        assert_eq!(
            Func::parse("APPROX_P99.9"),
            Ok(Func::ApproxQuantile(0.999, "approx_p99.9".into()))
        );
        assert_eq!(Func::parse("approx_sum"), Err(String::new()));
        assert_eq!(Func::parse("approx_approx_distinct"), Err(String::new()));
        assert!(Func::parse("approx_p101")
            .unwrap_err()
            .contains("'approx_p101'"));
        assert!(Func::parse("approx_pxx")
            .unwrap_err()
            .contains("'approx_pxx'"));
        let p99 = Func::parse("approx_p99").unwrap();
        assert_eq!(p99.label(), "approx_p99");
        assert_eq!(Func::ApproxDistinct.label(), "approx_distinct");
        assert!(p99.needs_numbers() && !Func::ApproxDistinct.needs_numbers());
        assert_eq!(p99.shared_state(), Some(SharedState::Sketch));
        assert_eq!(Func::ApproxDistinct.shared_state(), None);
    }
}
