//! `distinct`: the exact number of distinct non-null values.
//!
//! Values are compared as the column's type: `7` and `007` are one integer,
//! `1` and `1.0` one float, but two texts. Text sources keep the original
//! text of each distinct value and decide at `finish`, once the column's
//! type is known. Memory grows with the number of distinct values.

use hashbrown::HashSet;

use super::{AggState, BadValue, Func};
use crate::keyset::KeySet;
use crate::value::{parse_float_field, parse_int_field, Column, ColumnType, Data, Rows, Value};

#[derive(Default, Debug)]
pub struct Distinct {
    text: KeySet,
    ints: HashSet<i64>,
    floats: HashSet<u64>,
}

/// Bits of a float with every NaN and both zeros made one value each.
fn float_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// Moves the smaller set into the larger one.
fn union<T: std::hash::Hash + Eq>(mine: &mut HashSet<T>, theirs: &mut HashSet<T>) {
    if mine.len() < theirs.len() {
        std::mem::swap(mine, theirs);
    }
    mine.extend(theirs.drain());
}

impl AggState for Distinct {
    const READS_RAW: bool = true;

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        let raw = col.raw.or(match col.data {
            Data::Text(t) => Some(t),
            _ => None,
        });
        if let Some(raw) = raw {
            let mut selected: Vec<usize> = Vec::with_capacity(rows.count());
            rows.for_each(|r| {
                if col.is_valid(r) {
                    selected.push(r);
                }
            });
            let mut ids = Vec::with_capacity(selected.len());
            self.text
                .intern_batch(selected.len(), |i| raw[selected[i]], &mut ids);
            return Ok(());
        }
        match col.data {
            Data::Int(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.ints.insert(values[r]);
                }
            }),
            Data::Float(values) => rows.for_each(|r| {
                if col.is_valid(r) {
                    self.floats.insert(float_key(values[r]));
                }
            }),
            Data::Text(_) | Data::Rows => {}
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        union(&mut self.ints, &mut other.ints);
        union(&mut self.floats, &mut other.floats);
        if self.text.len() < other.text.len() {
            std::mem::swap(&mut self.text, &mut other.text);
        }
        self.text.absorb(&other.text);
    }

    fn finish(&self, ty: ColumnType, _func: &Func) -> Value {
        let n = match ty {
            ColumnType::Null => 0,
            ColumnType::Text => self.text.len(),
            ColumnType::Int => {
                let mut all = self.ints.clone();
                all.extend(self.text.iter().filter_map(parse_int_field));
                all.len()
            }
            ColumnType::Float => {
                let mut all = self.floats.clone();
                all.extend(self.ints.iter().map(|&i| float_key(i as f64)));
                all.extend(
                    self.text
                        .iter()
                        .filter_map(parse_float_field)
                        .map(float_key),
                );
                all.len()
            }
        };
        Value::Int(n as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn typed_equality() {
        let (d, _) = texts::<Distinct>(&["7", "007", "", "8", "7"]);
        assert_eq!(d.finish(ColumnType::Int, &Func::Distinct), Value::Int(2));
        assert_eq!(d.finish(ColumnType::Text, &Func::Distinct), Value::Int(3));
        let (d, _) = texts::<Distinct>(&["1", "1.0", "-0", "0.0"]);
        assert_eq!(d.finish(ColumnType::Float, &Func::Distinct), Value::Int(2));
    }

    #[test]
    fn merge() {
        let v = [Some(1.0), Some(2.0), None, Some(1.0), Some(-0.0), Some(0.0)];
        check_merge::<Distinct>(&v, ColumnType::Float, &Func::Distinct);
        assert_eq!(
            floats::<Distinct>(&v).finish(ColumnType::Float, &Func::Distinct),
            Value::Int(3)
        );
        assert_eq!(
            Distinct::default().finish(ColumnType::Null, &Func::Distinct),
            Value::Int(0)
        );
    }
}
