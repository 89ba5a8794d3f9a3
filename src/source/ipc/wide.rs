//! 128-bit integers (Polars' `Int128` and `UInt128`), which arrow-rs does
//! not read.
//!
//! An Arrow IPC schema may declare an `Int` of bit width 128; arrow-rs has
//! no such type and refused the whole file, whatever the query read. A
//! Parquet file Polars writes stores such a column as 16 fixed bytes with
//! no Parquet type to say what they are, and only its footer's Arrow schema
//! (`ARROW:schema`, which arrow-rs cannot read for the same reason) says
//! they are integers: read as bytes, `max` compared them as text and a
//! group-by printed them as binary.
//!
//! An integer of 128 bits is laid out as a `FixedSizeBinary(16)` is (a
//! validity bitmap and 16 little-endian bytes a value), so an IPC schema
//! is read with each such top-level field's type rewritten to that, in a
//! copy of the schema's flatbuffer (two values in place: the type's tag
//! and its width), and the field is marked ([`WIDE_INT`]); a Parquet
//! file's columns are marked from its footer's Arrow schema. A marked
//! column is read as the integers ([`super::super::arrow::Recast`]).

use arrow_ipc::{Int, Type};

/// The field metadata that marks a top-level column of 128-bit integers
/// read as `FixedSizeBinary(16)`: `signed` or `unsigned`.
pub const WIDE_INT: &str = "rayproc:int128";

/// The field metadata that marks a top-level column holding 128-bit
/// integers inside it (Polars' `List(Int128)`, a struct with a `UInt128`
/// field): read as `FixedSizeBinary(16)` there too, so that the file opens
/// and its other columns read; the column itself is nested, which rayproc
/// does not aggregate, and its error says what it holds
/// ([`super::super::arrow::check_types`]).
pub const NESTED_WIDE_INT: &str = "rayproc:nested-int128";

/// A field of 128-bit integers in an IPC schema's flatbuffer: the
/// top-level column it is or lies in (`nested`), its signedness, and where
/// in the buffer the schema was read from its type's tag and bit width lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WideInt {
    pub column: usize,
    pub signed: bool,
    pub nested: bool,
    tag_at: usize,
    width_at: usize,
}

/// The fields of `schema` that are integers of 128 bits, at the top level
/// or inside a top-level field's children (at any depth: the flatbuffer
/// verifier has bounded it), in the order of the columns.
pub fn wide_ints(schema: arrow_ipc::Schema<'_>) -> Vec<WideInt> {
    let Some(fields) = schema.fields() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (column, field) in fields.iter().enumerate() {
        visit(field, column, false, &mut found);
    }
    found
}

/// `field` and its children, as [`wide_ints`] finds them.
fn visit(field: arrow_ipc::Field<'_>, column: usize, nested: bool, found: &mut Vec<WideInt>) {
    if let Some((signed, tag_at, width_at)) = wide_int(field) {
        found.push(WideInt {
            column,
            signed,
            nested,
            tag_at,
            width_at,
        });
    }
    for child in field.children().into_iter().flatten() {
        visit(child, column, true, found);
    }
}

/// Whether `field` is a (not dictionary-encoded) 128-bit integer: its
/// signedness and where its type's tag and bit width lie.
fn wide_int(field: arrow_ipc::Field<'_>) -> Option<(bool, usize, usize)> {
    if field.type_type() != Type::Int || field.dictionary().is_some() {
        return None;
    }
    let int = field.type_as_int()?;
    if int.bitWidth() != 128 {
        return None;
    }
    // where the two values lie: the tables' own offsets (0 when a value is
    // absent, a default, which these never are)
    let tag = field._tab.vtable().get(arrow_ipc::Field::VT_TYPE_TYPE);
    let width = int._tab.vtable().get(Int::VT_BITWIDTH);
    if tag == 0 || width == 0 {
        return None;
    }
    Some((
        int.is_signed(),
        field._tab.loc() + usize::from(tag),
        int._tab.loc() + usize::from(width),
    ))
}

/// `buf` with each of `wide`'s fields (found in a schema read from `buf`)
/// declared `FixedSizeBinary(16)`: the tag says so, and the `Int` table's
/// bit width, its first field as a `FixedSizeBinary`'s byte width is,
/// says 16. The flatbuffer verifier checks the copy again when it is read.
pub fn as_fixed_bytes(buf: &[u8], wide: &[WideInt]) -> Vec<u8> {
    let mut copy = buf.to_vec();
    for w in wide {
        // within the buffer (the verifier checked both values' place
        // before they were read); were one not, the copy would read as the
        // original does, and fail as it does
        if let Some(tag) = copy.get_mut(w.tag_at) {
            *tag = Type::FixedSizeBinary.0;
        }
        if let Some(width) = copy.get_mut(w.width_at..w.width_at + 4) {
            width.copy_from_slice(&16i32.to_le_bytes());
        }
    }
    copy
}

/// The 128-bit integer columns that a Parquet footer's `ARROW:schema`
/// value declares: base64 of an IPC schema message, with or without its
/// continuation marker and length (as arrow-rs reads it). Nothing when it
/// is not one.
pub fn in_arrow_schema(encoded: &str) -> Vec<Declared> {
    let Some(bytes) = base64(encoded.trim_end()) else {
        return Vec::new();
    };
    let message = match bytes.get(..4) {
        Some([0xFF, 0xFF, 0xFF, 0xFF]) => bytes.get(8..).unwrap_or_default(),
        _ => &bytes[..],
    };
    let Ok(message) = arrow_ipc::root_as_message(message) else {
        return Vec::new();
    };
    let Some(schema) = message.header_as_schema() else {
        return Vec::new();
    };
    let names = schema.fields();
    (wide_ints(schema).into_iter())
        .map(|w| {
            let name = names
                .and_then(|f| f.get(w.column).name())
                .unwrap_or_default();
            Declared {
                column: w.column,
                name: name.to_string(),
                signed: w.signed,
                nested: w.nested,
            }
        })
        .collect()
}

/// A 128-bit integer column (or one holding them, `nested`) that a
/// Parquet footer's Arrow schema declares, by its place and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub column: usize,
    pub name: String,
    pub signed: bool,
    pub nested: bool,
}

/// Standard base64 (`=` padding optional), or `None` for any other byte.
fn base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert_eq!(base64("").unwrap(), b"");
        assert!(base64("a b").is_none());
    }
}
