//! A batch of rows as typed columns: what sources produce and aggregates
//! consume.

use std::borrow::Cow;

use crate::dict::Codes;
use crate::value::{Column, ColumnType};

/// Rows per batch, whatever the source (CSV, Arrow, Parquet): small enough
/// to stay in cache, large enough to amortise the per-batch work.
pub const BATCH_ROWS: usize = 4096;

/// A batch of rows, one [`Column`] per parsed slot.
pub struct Batch<'a> {
    pub len: usize,
    pub columns: Vec<Column<'a>>,
    /// Type of each slot's non-null values in this batch (`Null` if none).
    pub types: Vec<ColumnType>,
    /// Per slot, the rows as codes into a dictionary the run's batches
    /// share, where the source has them (a store's dictionary-coded text
    /// columns); shorter than `columns`, or empty, where it has none. The
    /// column's text is there too: codes are a faster way to the same
    /// values, never the only one.
    pub codes: Vec<Option<Codes<'a>>>,
}

impl<'a> Batch<'a> {
    /// A batch of these columns, none of them coded.
    pub fn new(len: usize, columns: Vec<Column<'a>>, types: Vec<ColumnType>) -> Batch<'a> {
        Batch {
            len,
            columns,
            types,
            codes: Vec::new(),
        }
    }

    /// Slot `slot`'s codes, if the source coded it.
    #[inline]
    pub fn codes(&self, slot: usize) -> Option<Codes<'a>> {
        self.codes.get(slot).copied().flatten()
    }
}

/// The first byte of a key field holding a value.
pub(crate) const VALUE_TAG: u8 = 1;
/// The key field of a null.
pub(crate) const NULL_TAG: u8 = 2;

/// Appends the group-key encoding of row `row` of `col` to `out`.
///
/// The encoding is *order-preserving*: comparing two encoded keys as bytes
/// compares their fields in order, each in byte order, with null after every
/// value. A field is a tag (value 1, null 2) and, for a value, its bytes; a
/// field that is not the `last` escapes `0x00` as `00 FF` and ends with
/// `00 00`. Sorting text keys therefore needs no decoding. The bytes are the
/// original text where the source has text, so `007` and `7` stay apart
/// until the key column's type is known.
pub fn encode_key(col: &Column<'_>, row: usize, last: bool, out: &mut Vec<u8>) {
    use crate::value::Data;
    use std::io::Write;
    if !col.is_valid(row) {
        out.push(NULL_TAG);
        return;
    }
    out.push(VALUE_TAG);
    let start = out.len();
    match (col.raw, col.data) {
        (Some(raw), _) => out.extend_from_slice(raw[row]),
        (None, Data::Text(t)) => out.extend_from_slice(t[row]),
        (None, Data::Int(v)) => write!(out, "{}", v[row]).expect("write to a Vec"),
        (None, Data::Float(v)) => write!(out, "{:?}", v[row]).expect("write to a Vec"),
        (None, Data::Rows) => {}
    }
    if !last {
        if out[start..].contains(&0) {
            let field = out.split_off(start);
            for b in field {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
}

/// Splits an encoded key back into its fields (`None` for null).
pub fn decode_key(mut key: &[u8], fields: usize) -> Vec<Option<Cow<'_, [u8]>>> {
    let mut out = Vec::with_capacity(fields);
    for i in 0..fields {
        let (&tag, rest) = key.split_first().expect("a key field");
        if tag == NULL_TAG {
            out.push(None);
            key = rest;
            continue;
        }
        if i + 1 == fields {
            out.push(Some(Cow::Borrowed(rest)));
            key = &[];
            continue;
        }
        // find the terminator 00 00, unescaping 00 FF
        let mut end = 0;
        let mut escaped = false;
        loop {
            match memchr::memchr(0, &rest[end..]) {
                Some(i) if rest[end + i + 1] == 0xFF => {
                    escaped = true;
                    end += i + 2;
                }
                Some(i) => {
                    end += i;
                    break;
                }
                None => unreachable!("unterminated key field"),
            }
        }
        let field = &rest[..end];
        out.push(Some(if escaped {
            let mut v = Vec::with_capacity(field.len());
            let mut j = 0;
            while j < field.len() {
                v.push(field[j]);
                j += if field[j] == 0 { 2 } else { 1 };
            }
            Cow::Owned(v)
        } else {
            Cow::Borrowed(field)
        }));
        key = &rest[end + 2..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Data;

    #[test]
    fn keys_round_trip_and_sort_like_their_fields() {
        let raw: Vec<&[u8]> = vec![b"a,b", b"", b"7", b"a\0z", b"a"];
        let valid = [true, false, true, true, true];
        let col = Column {
            len: raw.len(),
            data: Data::Text(&raw),
            valid: Some(&valid),
            raw: Some(&raw),
        };
        let key = |rows: &[usize]| {
            let mut k = Vec::new();
            for (i, &r) in rows.iter().enumerate() {
                encode_key(&col, r, i + 1 == rows.len(), &mut k);
            }
            k
        };
        let k = key(&[0, 1, 3, 2]);
        let fields: Vec<Option<Vec<u8>>> = decode_key(&k, 4)
            .into_iter()
            .map(|f| f.map(|c| c.to_vec()))
            .collect();
        assert_eq!(
            fields,
            vec![
                Some(b"a,b".to_vec()),
                None,
                Some(b"a\0z".to_vec()),
                Some(b"7".to_vec())
            ]
        );
        // (a, 7) < (a\0z, 7) < (a,b, 7) < (null, 7); and (a) < (a\0z) < (null)
        assert!(key(&[4, 2]) < key(&[3, 2]));
        assert!(key(&[3, 2]) < key(&[0, 2]));
        assert!(key(&[0, 2]) < key(&[1, 2]));
        assert!(key(&[4]) < key(&[3]) && key(&[3]) < key(&[1]));
    }
}
