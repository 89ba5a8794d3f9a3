//! A batch of rows as typed columns: what sources produce and aggregates
//! consume.

use crate::value::{Column, ColumnType};

/// A batch of rows, one [`Column`] per parsed slot.
pub struct Batch<'a> {
    pub len: usize,
    pub columns: Vec<Column<'a>>,
    /// Type of each slot's non-null values in this batch (`Null` if none).
    pub types: Vec<ColumnType>,
}

/// Appends the group-key encoding of row `row` of `col` to `out`: a tag byte
/// (0 null, 1 value), then the value's length and bytes. The text is the
/// original field where the source has text, so `007` and `7` stay apart
/// until the key column's type is known.
pub fn encode_key(col: &Column<'_>, row: usize, out: &mut Vec<u8>) {
    use crate::value::Data;
    if !col.is_valid(row) {
        out.push(0);
        return;
    }
    out.push(1);
    let mut push = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    match (col.raw, col.data) {
        (Some(raw), _) => push(raw[row]),
        (None, Data::Text(t)) => push(t[row]),
        (None, Data::Int(v)) => push(v[row].to_string().as_bytes()),
        (None, Data::Float(v)) => push(format!("{:?}", v[row]).as_bytes()),
        (None, Data::Rows) => push(b""),
    }
}

/// Splits an encoded key back into its fields (`None` for null).
pub fn decode_key(mut key: &[u8]) -> Vec<Option<&[u8]>> {
    let mut out = Vec::new();
    while let Some((&tag, rest)) = key.split_first() {
        if tag == 0 {
            out.push(None);
            key = rest;
        } else {
            let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            out.push(Some(&rest[4..4 + len]));
            key = &rest[4 + len..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Data;

    #[test]
    fn key_round_trip() {
        let raw: Vec<&[u8]> = vec![b"a,b", b"", b"7"];
        let valid = [true, false, true];
        let col = Column {
            len: 3,
            data: Data::Text(&raw),
            valid: Some(&valid),
            raw: Some(&raw),
        };
        let mut key = Vec::new();
        for r in 0..3 {
            encode_key(&col, r, &mut key);
        }
        assert_eq!(
            decode_key(&key),
            vec![Some(&b"a,b"[..]), None, Some(&b"7"[..])]
        );
    }
}
