//! Dictionary-coded text: a column's distinct values, once, and its rows as
//! codes into them.
//!
//! A store writes a text column with few distinct values relative to its
//! rows as one sorted dictionary for the whole store and a `u32` code per
//! row (see `store::write`). Every batch of a run over that store then
//! shares one [`Dictionary`], so a code names the same value in every
//! partition and on every worker: a group-by on the column can use the
//! code as the group id, with no hashing of keys, no per-worker key table
//! and a merge that adds states code by code (`partial`'s coded mode).
//!
//! The dictionary is checked to be strictly ascending when it is built, so
//! its values are distinct: two codes never name one value, which a group-by
//! by code relies on (two codes for one key would be two rows for one group
//! in the answer). Codes are checked against its length by the source that
//! hands them out ([`Codes::new`]), before any code indexes anything.

use std::sync::Arc;

/// A column's distinct values in ascending byte order, numbered from 0.
#[derive(Debug, Default)]
pub struct Dictionary {
    arena: Vec<u8>,
    /// `ends[code]` is where the value of `code` ends in `arena`.
    ends: Vec<u32>,
}

impl Dictionary {
    /// The dictionary of `values`, which must be strictly ascending (hence
    /// distinct) and hold at most `u32::MAX` values and bytes; the reason
    /// otherwise, naming the first value out of order.
    pub fn new<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Result<Dictionary, String> {
        let mut dict = Dictionary::default();
        let mut previous: Option<&[u8]> = None;
        for (code, value) in values.into_iter().enumerate() {
            if previous.is_some_and(|p| p >= value) {
                return Err(format!(
                    "dictionary value {code} is not greater than the one before it"
                ));
            }
            previous = Some(value);
            dict.arena.extend_from_slice(value);
            let end = u32::try_from(dict.arena.len())
                .map_err(|_| "the dictionary holds more than 4 GiB of text".to_string())?;
            if dict.ends.len() == u32::MAX as usize {
                return Err("the dictionary holds more than 2^32 - 1 values".into());
            }
            dict.ends.push(end);
        }
        Ok(dict)
    }

    /// Number of values (one past the greatest code).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The value of `code`; panics unless `code < len()`.
    #[inline]
    pub fn get(&self, code: u32) -> &[u8] {
        let c = code as usize;
        let start = if c == 0 { 0 } else { self.ends[c - 1] as usize };
        &self.arena[start..self.ends[c] as usize]
    }

    /// Every value, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.ends.len() as u32).map(|c| self.get(c))
    }
}

/// A batch column's rows as codes into a [`Dictionary`]. The column's
/// validity mask applies: a null row's code means nothing.
#[derive(Clone, Copy, Debug)]
pub struct Codes<'a> {
    codes: &'a [u32],
    dict: &'a Arc<Dictionary>,
}

impl<'a> Codes<'a> {
    /// `codes` into `dict`, or the first row whose code is out of range
    /// (`valid`: rows whose code matters, all when `None`).
    pub fn new(
        codes: &'a [u32],
        valid: Option<&[bool]>,
        dict: &'a Arc<Dictionary>,
    ) -> Result<Codes<'a>, usize> {
        let len = dict.len() as u64;
        let bad = match valid {
            // no branch per row: the compiler vectorises the maximum
            None => codes.iter().max().is_some_and(|&m| m as u64 >= len),
            Some(v) => codes.iter().zip(v).any(|(&c, &ok)| ok && c as u64 >= len),
        };
        if bad {
            let row = (0..codes.len())
                .find(|&r| valid.is_none_or(|v| v[r]) && codes[r] as u64 >= len)
                .expect("a code out of range was seen");
            return Err(row);
        }
        Ok(Codes { codes, dict })
    }

    pub fn codes(&self) -> &'a [u32] {
        self.codes
    }

    pub fn dict(&self) -> &'a Arc<Dictionary> {
        self.dict
    }

    /// The codes of rows `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> Codes<'a> {
        Codes {
            codes: &self.codes[start..end],
            dict: self.dict,
        }
    }

    /// These codes with `codes` in their place: rows of the same column
    /// (already checked against the same dictionary, as a selection of
    /// them is).
    pub fn with_codes<'b>(&self, codes: &'b [u32]) -> Codes<'b>
    where
        'a: 'b,
    {
        Codes {
            codes,
            dict: self.dict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_must_ascend_strictly() {
        let d = Dictionary::new([&b""[..], b"a", b"ab", b"b"]).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d.iter().collect::<Vec<_>>(), [&b""[..], b"a", b"ab", b"b"]);
        assert!(Dictionary::new([&b"a"[..], b"a"]).is_err());
        let e = Dictionary::new([&b"a"[..], b"c", b"b"]).unwrap_err();
        assert!(e.contains("value 2"), "{e}");
    }

    #[test]
    fn codes_out_of_range_are_found() {
        let d = Arc::new(Dictionary::new([&b"a"[..], b"b"]).unwrap());
        assert!(Codes::new(&[0, 1, 1], None, &d).is_ok());
        assert_eq!(Codes::new(&[0, 2, 1], None, &d).unwrap_err(), 1);
        assert_eq!(Codes::new(&[0, 1, u32::MAX], None, &d).unwrap_err(), 2);
        // a null row's code is not looked at
        assert!(Codes::new(&[0, 7], Some(&[true, false]), &d).is_ok());
        assert_eq!(
            Codes::new(&[9, 7], Some(&[true, false]), &d).unwrap_err(),
            0
        );
        let empty = Arc::new(Dictionary::default());
        assert!(Codes::new(&[], None, &empty).is_ok());
        assert_eq!(Codes::new(&[0], None, &empty).unwrap_err(), 0);
    }
}
