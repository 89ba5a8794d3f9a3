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
    let mut v = values.to_vec();
    let n = v.len();
    let pos = q * (n - 1) as f64;
    let lo = (pos.floor() as usize).min(n - 1);
    let t = pos - lo as f64;
    let (_, a, rest) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    if t == 0.0 || rest.is_empty() {
        return Some(a);
    }
    let b = rest
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .expect("non-empty");
    Some(lerp(a, b, t))
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
