//! `var`, `std` (sample, n-1) and `var_pop`, `std_pop` (population, n).
//!
//! The state keeps the exact sum of the values and the exact sum of their
//! squares (each square is a 106-bit integer, added without rounding). The
//! variance `(n·Σx² − (Σx)²) / (n·d)` is then evaluated in big-integer
//! arithmetic and rounded once, so it is the correctly rounded variance of
//! the data whatever the partitioning: no Welford drift, no cancellation.

use num_bigint::{BigInt, BigUint};

use super::{first_non_number, AggState, BadValue, Func};
use crate::exact::{round_ratio, ExactSum, SQUARE_SCALE, VALUE_SCALE};
use crate::value::{Column, ColumnType, Data, Rows, Value};

/// Integers beyond this magnitude are not exact as `f64`.
const EXACT_INT_LIMIT: i64 = 1 << 53;

/// Count, Σx and Σx², all exact. Integers are added exactly; should the
/// column turn out to be float, each integer counts as the `f64` it parses
/// to, and the `rounding_*` fields hold the exact corrections for the rare
/// integers beyond 2^53 (Σ(r−v) and Σ(r²−v²) with r the rounded value).
#[derive(Default, Debug, Clone)]
pub struct Moments {
    count: u64,
    sum: ExactSum,
    squares: ExactSum,
    rounding_sum: i128,
    rounding_squares: i128,
}

impl Moments {
    #[inline]
    fn add(&mut self, x: f64) {
        self.sum.add(x);
        self.squares.add_square(x);
    }

    #[inline]
    fn add_int(&mut self, v: i64) {
        let wide = v as i128;
        self.sum.add_integer(wide);
        self.squares.add_integer_square(wide);
        if !(-EXACT_INT_LIMIT..=EXACT_INT_LIMIT).contains(&v) {
            let rounded = (v as f64) as i128;
            self.rounding_sum += rounded - wide;
            self.rounding_squares += (rounded - wide) * (rounded + wide);
        }
    }

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        let mut n = 0u64;
        match col.data {
            Data::Int(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.add_int(values[r]);
                    n += 1;
                }
            }),
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.add(values[r]);
                    n += 1;
                }
            }),
            Data::Text(values) => return first_non_number(col, values, rows),
            Data::Rows => {}
        }
        self.count += n;
        Ok(())
    }

    fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum.merge(&other.sum);
        self.squares.merge(&other.squares);
        self.rounding_sum += other.rounding_sum;
        self.rounding_squares += other.rounding_squares;
    }

    /// The variance with `n - ddof` in the denominator; null when `n <= ddof`.
    fn variance(&self, ddof: u64, ty: ColumnType) -> Option<f64> {
        if self.count <= ddof {
            return None;
        }
        if self.sum.special().is_some() || self.squares.special().is_some() {
            return Some(f64::NAN);
        }
        let n = BigInt::from(self.count);
        let mut s = self.sum.to_bigint(); // Σx · 2^1074
        let mut q = self.squares.to_bigint(); // Σx² · 2^2148
        if ty == ColumnType::Float {
            s += BigInt::from(self.rounding_sum) << VALUE_SCALE as usize;
            q += BigInt::from(self.rounding_squares) << SQUARE_SCALE as usize;
        }
        let numerator = &n * q - &s * &s; // (nΣx² − (Σx)²) · 2^2148, never negative
        let denominator = BigUint::from(self.count) * BigUint::from(self.count - ddof);
        Some(round_ratio(&numerator, &denominator, -SQUARE_SCALE))
    }
}

macro_rules! variance_state {
    ($name:ident, $ddof:expr, $sqrt:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Default, Debug)]
        pub struct $name(Moments);

        impl AggState for $name {
            fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
                self.0.update(col, rows)
            }
            fn merge(&mut self, other: &mut Self) {
                self.0.merge(&other.0);
            }
            fn finish(&self, ty: ColumnType, _func: &Func) -> Value {
                match self.0.variance($ddof, ty) {
                    Some(v) if $sqrt => Value::Float(v.sqrt()),
                    Some(v) => Value::Float(v),
                    None => Value::Null,
                }
            }
        }
    };
}

variance_state!(VarSample, 1, false, "`var:col`: sample variance (n - 1).");
variance_state!(
    StdSample,
    1,
    true,
    "`std:col`: sample standard deviation (n - 1)."
);
variance_state!(VarPop, 0, false, "`var_pop:col`: population variance (n).");
variance_state!(
    StdPop,
    0,
    true,
    "`std_pop:col`: population standard deviation (n)."
);

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn two_pass(v: &[f64], ddof: usize) -> f64 {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - ddof) as f64
    }

    #[test]
    fn known_values() {
        let v = [
            Some(2.0),
            Some(4.0),
            Some(4.0),
            Some(4.0),
            Some(5.0),
            Some(5.0),
            Some(7.0),
            Some(9.0),
        ];
        let f = Func::Var;
        assert_eq!(
            floats::<VarPop>(&v).finish(ColumnType::Float, &f),
            Value::Float(4.0)
        );
        assert_eq!(
            floats::<StdPop>(&v).finish(ColumnType::Float, &f),
            Value::Float(2.0)
        );
        assert_eq!(
            floats::<VarSample>(&v).finish(ColumnType::Float, &f),
            Value::Float(32.0 / 7.0)
        );
        check_merge::<VarSample>(&v, ColumnType::Float, &f);
        check_merge::<StdPop>(&v, ColumnType::Float, &f);
    }

    #[test]
    fn no_cancellation_with_large_offset() {
        // Naive Σx² − (Σx)²/n loses everything here; exact arithmetic does not.
        let base = 1e9;
        let raw = [4.0, 7.0, 13.0, 16.0];
        let v: Vec<Option<f64>> = raw.iter().map(|x| Some(base + x)).collect();
        let got = floats::<VarSample>(&v).finish(ColumnType::Float, &Func::Var);
        assert_eq!(got, Value::Float(30.0));
        let plain: Vec<f64> = raw.to_vec();
        assert_eq!(two_pass(&plain, 1), 30.0);
    }

    #[test]
    fn agrees_with_two_pass() {
        let v: Vec<f64> = (0..500)
            .map(|i| ((i * 7919) % 1000) as f64 / 37.0 - 3.0)
            .collect();
        let opt: Vec<Option<f64>> = v.iter().copied().map(Some).collect();
        let Value::Float(got) = floats::<VarSample>(&opt).finish(ColumnType::Float, &Func::Var)
        else {
            panic!()
        };
        let want = two_pass(&v, 1);
        assert!(((got - want) / want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn big_integers_are_exact_and_float_columns_round_them() {
        let big = 100_000_000_000_000_000i64;
        let v = [Some(big + 1), Some(big + 2), Some(big + 3)];
        let s = ints::<VarSample>(&v);
        assert_eq!(s.finish(ColumnType::Int, &Func::Var), Value::Float(1.0));
        // as floats the three values are all 1e17 (the spacing there is 16)
        assert_eq!(s.finish(ColumnType::Float, &Func::Var), Value::Float(0.0));
        let mut mixed = ints::<VarSample>(&v);
        mixed.merge(&mut floats::<VarSample>(&[Some(1e17)]));
        assert_eq!(
            mixed.finish(ColumnType::Float, &Func::Var),
            Value::Float(0.0)
        );
    }

    #[test]
    fn too_few_values() {
        let f = Func::Var;
        assert_eq!(
            floats::<VarSample>(&[Some(1.0)]).finish(ColumnType::Float, &f),
            Value::Null
        );
        assert_eq!(
            floats::<VarPop>(&[Some(1.0)]).finish(ColumnType::Float, &f),
            Value::Float(0.0)
        );
        assert_eq!(VarPop::default().finish(ColumnType::Null, &f), Value::Null);
        let ints_state = ints::<VarSample>(&[Some(1), Some(2), Some(3), None]);
        assert_eq!(ints_state.finish(ColumnType::Int, &f), Value::Float(1.0));
    }
}
