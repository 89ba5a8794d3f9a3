//! `median` and `pNN`: exact quantiles with linear interpolation between the
//! closest ranks (numpy's default method, DuckDB's `quantile_cont`).
//!
//! Exactness needs every value, so the state keeps them all: memory grows
//! with the number of non-null values (8 bytes each).

use super::{first_non_number, AggState, BadValue, Func};
use crate::value::{Column, ColumnType, Data, Rows, Value};

#[derive(Default, Debug)]
pub struct Quantile {
    values: Vec<f64>,
}

impl AggState for Quantile {
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        match col.data {
            Data::Int(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.values.push(values[r] as f64)
                }
            }),
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.values.push(values[r])
                }
            }),
            Data::Text(values) => return first_non_number(col, values, rows),
            Data::Rows => {}
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        if self.values.is_empty() {
            std::mem::swap(&mut self.values, &mut other.values);
        } else {
            self.values.append(&mut other.values);
        }
    }

    fn finish(&self, _ty: ColumnType, func: &Func) -> Value {
        let Func::Quantile(q, _) = func else {
            unreachable!("quantile state used for {func:?}")
        };
        quantile(&self.values, *q).map_or(Value::Null, Value::Float)
    }
}

/// The `q` quantile of `values` (any order), numpy's "linear" method.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let pos = q * (n - 1) as f64;
    let lo = (pos.floor() as usize).min(n - 1);
    let t = pos - lo as f64;
    let next = t != 0.0;
    let parallel = n >= PARALLEL_MIN && rayon::current_num_threads() > 1;
    let (a, b) = parallel
        .then(|| ranks_parallel(values, lo, next))
        .flatten()
        .unwrap_or_else(|| ranks_sequential(values, lo, next));
    Some(b.map_or(a, |b| lerp(a, b, t)))
}

/// Values from which the selection runs in parallel.
const PARALLEL_MIN: usize = 1 << 20;

/// The value of rank `k` (0-based, in `f64::total_cmp` order) and, when
/// `next`, the value of rank `k + 1` if there is one.
fn ranks_sequential(values: &[f64], k: usize, next: bool) -> (f64, Option<f64>) {
    let mut v = values.to_vec();
    let (_, a, rest) = v.select_nth_unstable_by(k, f64::total_cmp);
    let a = *a;
    let b = next
        .then(|| rest.iter().copied().min_by(f64::total_cmp))
        .flatten();
    (a, b)
}

/// [`ranks_sequential`] on the current rayon pool, for big inputs: a sorted
/// strided sample gives two values that bracket rank `k`; one parallel pass
/// counts the values below the bracket and collects those inside it, and the
/// selection runs on those few. The sequential selection was the serial tail
/// of a quantile over ten million values on many cores. `None` when the
/// bracket misses rank `k` (a sample fooled by the input's order); the
/// caller then selects sequentially. Exact either way.
fn ranks_parallel(values: &[f64], k: usize, next: bool) -> Option<(f64, Option<f64>)> {
    use rayon::prelude::*;
    use std::cmp::Ordering::{Greater, Less};
    const SAMPLE: usize = 1 << 14;
    const MARGIN: usize = 512; // 4 standard deviations of a sample rank
    let n = values.len();
    let step = n / SAMPLE;
    let mut sample: Vec<f64> = (0..SAMPLE).map(|i| values[i * step]).collect();
    sample.sort_unstable_by(f64::total_cmp);
    let r = k * SAMPLE / n;
    // near either end the bracket is open on that side
    let lo = (r > MARGIN).then(|| sample[r - MARGIN]);
    let hi = (r + MARGIN < SAMPLE).then(|| sample[r + MARGIN]);
    let is_below = |v: &f64| lo.is_some_and(|lo| v.total_cmp(&lo) == Less);
    let is_above = |v: &f64| hi.is_some_and(|hi| v.total_cmp(&hi) == Greater);
    let parts: Vec<(usize, Vec<f64>)> = values
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut below = 0;
            let mut inside = Vec::new();
            for v in chunk {
                if is_below(v) {
                    below += 1;
                } else if !is_above(v) {
                    inside.push(*v);
                }
            }
            (below, inside)
        })
        .collect();
    let below: usize = parts.iter().map(|p| p.0).sum();
    let mut inside: Vec<f64> = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    parts.iter().for_each(|p| inside.extend_from_slice(&p.1));
    if k < below || k >= below + inside.len() {
        return None;
    }
    let (_, a, rest) = inside.select_nth_unstable_by(k - below, f64::total_cmp);
    let a = *a;
    let b = if !next || k + 1 == n {
        None
    } else if let Some(b) = rest.iter().copied().min_by(f64::total_cmp) {
        Some(b)
    } else {
        // rank k + 1 lies above the bracket: the least value there
        values
            .par_iter()
            .copied()
            .filter(is_above)
            .min_by(f64::total_cmp)
    };
    Some((a, b))
}

/// numpy's `_lerp`: exact at both ends and monotonic.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn q(values: &[f64], q: f64) -> f64 {
        quantile(values, q).unwrap()
    }

    #[test]
    fn parallel_selection_matches_the_sequential_one() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let n = PARALLEL_MIN + 12_345;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let random: Vec<f64> = (0..n)
            .map(|_| (next() % 100_000) as f64 * 0.5 - 7.0)
            .collect();
        let mut specials = random.clone();
        for (i, v) in specials.iter_mut().enumerate().step_by(997) {
            *v = [f64::NAN, -0.0, 0.0, f64::INFINITY, -f64::NAN][i % 5];
        }
        let sorted = {
            let mut v = random.clone();
            v.sort_by(f64::total_cmp);
            v
        };
        // periodic with the sample's stride: the sample sees one value
        let periodic: Vec<f64> = (0..n).map(|i| (i % (n / (1 << 14))) as f64).collect();
        let two: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let same = vec![3.25; n];
        for values in [&random, &specials, &sorted, &periodic, &two, &same] {
            for q in [0.0, 1e-7, 0.01, 0.25, 0.5, 0.75, 0.99, 0.999_999, 1.0] {
                let n = values.len();
                let pos = q * (n - 1) as f64;
                let k = (pos.floor() as usize).min(n - 1);
                let want = ranks_sequential(values, k, true);
                let got = pool.install(|| ranks_parallel(values, k, true));
                if std::ptr::eq(values, &random) || std::ptr::eq(values, &sorted) {
                    assert!(got.is_some(), "the sample brackets rank {k}");
                }
                if let Some(got) = got {
                    assert_eq!(got.0.to_bits(), want.0.to_bits(), "q {q}");
                    assert_eq!(got.1.map(f64::to_bits), want.1.map(f64::to_bits), "q {q}");
                }
                let a = pool.install(|| quantile(values, q)).unwrap();
                let b = one.install(|| quantile(values, q)).unwrap();
                assert_eq!(a.to_bits(), b.to_bits(), "q {q}");
            }
        }
    }

    #[test]
    fn matches_numpy() {
        // numpy.quantile(..., method="linear") figures
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert_eq!(q(&[4.0, 1.0, 3.0], 0.5), 3.0);
        assert_eq!(q(&[1.0, 2.0, 3.0, 4.0], 0.99), 3.9699999999999998);
        assert_eq!(q(&[10.0, 20.0], 0.25), 12.5);
        assert_eq!(q(&[5.0], 0.99), 5.0);
        assert_eq!(q(&[3.0, 1.0, 2.0], 0.0), 1.0);
        assert_eq!(q(&[3.0, 1.0, 2.0], 1.0), 3.0);
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn merge_and_nulls() {
        let v = [
            Some(5.0),
            None,
            Some(1.0),
            Some(9.0),
            Some(2.0),
            None,
            Some(7.0),
        ];
        let f = Func::Quantile(0.5, "median".into());
        assert_eq!(
            floats::<Quantile>(&v).finish(ColumnType::Float, &f),
            Value::Float(5.0)
        );
        check_merge::<Quantile>(&v, ColumnType::Float, &f);
        check_merge::<Quantile>(&v, ColumnType::Float, &Func::Quantile(0.9, "p90".into()));
    }
}
