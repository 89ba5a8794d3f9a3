//! `count` (rows), `count:col` (non-null values) and `null_count:col`.

use super::{count_valid, each_scattered, get_count, AggState, BadValue, Func};
use crate::value::{Column, ColumnType, Rows, Value};
use crate::wire::{put_varint, Reader, WireError};

/// `count` alone: the number of rows.
#[derive(Default, Debug)]
pub struct CountRows(u64);

impl AggState for CountRows {
    fn update(&mut self, _col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        self.0 += rows.count() as u64;
        Ok(())
    }
    fn scatters(_col: &Column<'_>) -> bool {
        true
    }
    fn update_scattered(
        states: &mut [Self],
        _col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        each_scattered(states, ids, |state, _| state.0 += 1);
        Ok(())
    }
    fn merge(&mut self, other: &mut Self) {
        self.0 += other.0;
    }
    /// The count, a varint.
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(CountRows(get_count(r, "count")?))
    }
    fn finish(&self, _ty: ColumnType, _func: &Func) -> Value {
        Value::Int(self.0.into())
    }
}

/// `count:col`: the number of non-null values.
#[derive(Default, Debug)]
pub struct CountValues(u64);

impl AggState for CountValues {
    const TAKES_TEXT: bool = true;

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        self.0 += count_valid(col, rows);
        Ok(())
    }
    fn scatters(_col: &Column<'_>) -> bool {
        true
    }
    fn update_scattered(
        states: &mut [Self],
        col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        each_scattered(states, ids, |state, row| {
            state.0 += col.is_valid(row) as u64
        });
        Ok(())
    }
    fn merge(&mut self, other: &mut Self) {
        self.0 += other.0;
    }
    /// The count, a varint.
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(CountValues(get_count(r, "count")?))
    }
    fn finish(&self, _ty: ColumnType, _func: &Func) -> Value {
        Value::Int(self.0.into())
    }
}

/// `null_count:col`: the number of nulls (empty fields).
#[derive(Default, Debug)]
pub struct NullCount(u64);

impl AggState for NullCount {
    const TAKES_TEXT: bool = true;

    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        self.0 += rows.count() as u64 - count_valid(col, rows);
        Ok(())
    }
    fn scatters(_col: &Column<'_>) -> bool {
        true
    }
    fn update_scattered(
        states: &mut [Self],
        col: &Column<'_>,
        ids: &[u32],
    ) -> Result<(), BadValue> {
        each_scattered(states, ids, |state, row| {
            state.0 += !col.is_valid(row) as u64
        });
        Ok(())
    }
    fn merge(&mut self, other: &mut Self) {
        self.0 += other.0;
    }
    /// The count, a varint.
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(NullCount(get_count(r, "null_count")?))
    }
    fn finish(&self, _ty: ColumnType, _func: &Func) -> Value {
        Value::Int(self.0.into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn counts() {
        let v = [Some(1.0), None, Some(3.0), None, None];
        let f = Func::Count;
        assert_eq!(
            floats::<CountValues>(&v).finish(ColumnType::Float, &f),
            Value::Int(2)
        );
        assert_eq!(
            floats::<NullCount>(&v).finish(ColumnType::Float, &f),
            Value::Int(3)
        );
        assert_eq!(
            floats::<CountRows>(&v).finish(ColumnType::Float, &f),
            Value::Int(5)
        );
        assert_eq!(
            CountValues::default().finish(ColumnType::Null, &f),
            Value::Int(0)
        );
        check_merge::<CountValues>(&v, ColumnType::Float, &f);
        check_merge::<NullCount>(&v, ColumnType::Float, &f);
        check_merge::<CountRows>(&v, ColumnType::Float, &f);
    }
}
