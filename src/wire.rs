//! The byte form of partial states: compact little-endian primitives.
//!
//! `rayproc map` writes a [`Partial`](crate::partial::Partial) to a file and
//! `rayproc reduce` reads it back on another machine, so every aggregate
//! state has a byte form ([`AggState::encode`](crate::agg::AggState::encode)
//! and `decode`). This module holds the primitives they are written in:
//! bytes, fixed-width little-endian integers, LEB128 varints (zigzag for
//! signed ones), floats as their bits, and length-prefixed byte strings.
//!
//! Why hand-written and not serde: a partial comes from another machine,
//! maybe truncated, maybe hostile, and every state's decoder must check
//! what its other methods rely on (a bin index in range, a sorted list
//! sorted). Decoding through [`Reader`] makes each check explicit, never
//! allocates more than the input could hold ([`Reader::len`]), and names
//! the byte offset of what was wrong. Every encoding is canonical: one
//! state has one byte form, and a decoder refuses any other (an overlong
//! varint, an unsorted set), so that re-encoding a decoded partial gives
//! the same bytes. docs/partials.md documents the layout.

use std::fmt;

/// A malformed encoding: what was wrong, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

/// Appends a byte.
#[inline]
pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Appends a little-endian `u32`.
#[inline]
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a little-endian `u64`.
#[inline]
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends an unsigned LEB128 varint: 7 bits a byte, low bits first, the
/// high bit set on every byte but the last.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, v: u64) {
    put_varint128(out, v as u128);
}

/// [`put_varint`] of a `u128` (at most 19 bytes).
pub fn put_varint128(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a signed integer as the varint of its zigzag form (0, -1, 1,
/// -2, ... become 0, 1, 2, 3, ...), so small magnitudes take few bytes.
#[inline]
pub fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// [`put_zigzag`] of an `i128`.
pub fn put_zigzag128(out: &mut Vec<u8>, v: i128) {
    put_varint128(out, ((v << 1) ^ (v >> 127)) as u128);
}

/// Appends a float as its 8 bits, little-endian (every NaN payload and
/// the sign of zero survive).
#[inline]
pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    put_u64(out, v.to_bits());
}

/// Appends a byte string: its length as a varint, then the bytes.
#[inline]
pub fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    put_varint(out, v.len() as u64);
    out.extend_from_slice(v);
}

/// Appends a `bool` as one byte, 0 or 1.
#[inline]
pub fn put_bool(out: &mut Vec<u8>, v: bool) {
    out.push(v as u8);
}

/// The order-preserving `u64` of an `i64`: unsigned comparison of the
/// results orders the integers.
#[inline]
pub fn i64_order_key(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// The inverse of [`i64_order_key`].
#[inline]
pub fn i64_from_order_key(k: u64) -> i64 {
    (k ^ (1 << 63)) as i64
}

/// The order-preserving `u64` of a float's bits in `f64::total_cmp` order
/// (`-NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN`).
#[inline]
pub fn f64_order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The inverse of [`f64_order_key`].
#[inline]
pub fn f64_from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Appends ascending `u64`s: their count, the first, then each difference
/// to the one before, all varints. Sorted values of similar magnitude
/// (prices, ids, a float column's bits) thus take a byte or two each.
/// `sorted` must be ascending.
pub fn put_sorted_u64s(out: &mut Vec<u8>, sorted: &[u64]) {
    put_varint(out, sorted.len() as u64);
    let mut prev = 0u64;
    for (i, &v) in sorted.iter().enumerate() {
        debug_assert!(i == 0 || v >= prev, "put_sorted_u64s: not sorted");
        put_varint(out, if i == 0 { v } else { v - prev });
        prev = v;
    }
}

/// Bytes a [front-coded](put_prefixed) string takes from the one before
/// at most: bounds what a hostile encoding can expand to (a copy of 64
/// bytes for each string of 2 bytes at least).
pub const MAX_SHARED: usize = 64;

/// Appends `cur` front-coded against `prev`: the length of the prefix they
/// share (at most [`MAX_SHARED`]) as a varint, then the rest of `cur` as
/// [`put_bytes`]. Sorted strings, or group keys of one shape, take a few
/// bytes each.
pub fn put_prefixed(out: &mut Vec<u8>, prev: &[u8], cur: &[u8]) {
    let shared = prev
        .iter()
        .zip(cur)
        .take(MAX_SHARED)
        .take_while(|(a, b)| a == b)
        .count();
    put_varint(out, shared as u64);
    put_bytes(out, &cur[shared..]);
}

/// A cursor over an encoding. Every `get_*` fails with a [`WireError`]
/// naming the byte offset (from the start of the slice the reader was made
/// on) rather than reading past the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    /// The offset of the next byte to read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// An error at the current offset: `"{what} at byte N"`.
    pub fn error(&self, what: impl fmt::Display) -> WireError {
        WireError(format!("{what} at byte {}", self.pos))
    }

    /// An error in the state of aggregate `agg` at `at`:
    /// `"bad state for {agg} at byte N: {why}"`.
    pub fn bad_state(&self, agg: &str, at: usize, why: impl fmt::Display) -> WireError {
        WireError(format!("bad state for {agg} at byte {at}: {why}"))
    }

    fn truncated(&self) -> WireError {
        WireError(format!("truncated at byte {}", self.bytes.len()))
    }

    /// The next `n` bytes.
    pub fn get_slice(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(self.truncated());
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn get_u8(&mut self) -> Result<u8, WireError> {
        Ok(self.get_slice(1)?[0])
    }

    pub fn get_u32(&mut self) -> Result<u32, WireError> {
        let b = self.get_slice(4)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn get_u64(&mut self) -> Result<u64, WireError> {
        let b = self.get_slice(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn get_f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_bits(self.get_u64()?))
    }

    /// A byte that must be 0 or 1.
    pub fn get_bool(&mut self) -> Result<bool, WireError> {
        let at = self.pos;
        match self.get_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(WireError(format!("bad boolean {b} at byte {at}"))),
        }
    }

    /// A varint of at most `bits` significant bits, in its shortest form.
    fn get_varint_bits(&mut self, bits: u32) -> Result<u128, WireError> {
        let at = self.pos;
        let mut v: u128 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.get_u8()?;
            let part = (b & 0x7f) as u128;
            if shift >= bits || (shift > 0 && part >> (bits - shift).min(127) != 0) {
                return Err(WireError(format!("varint too large at byte {at}")));
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    return Err(WireError(format!("overlong varint at byte {at}")));
                }
                return Ok(v);
            }
            shift += 7;
        }
    }

    /// An unsigned varint that fits a `u64`.
    pub fn get_varint(&mut self) -> Result<u64, WireError> {
        Ok(self.get_varint_bits(64)? as u64)
    }

    /// A zigzag varint that fits an `i64`.
    pub fn get_zigzag(&mut self) -> Result<i64, WireError> {
        let z = self.get_varint()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// An unsigned varint that fits a `u128`.
    pub fn get_varint128(&mut self) -> Result<u128, WireError> {
        self.get_varint_bits(128)
    }

    /// A zigzag varint that fits an `i128`.
    pub fn get_zigzag128(&mut self) -> Result<i128, WireError> {
        let z = self.get_varint128()?;
        Ok(((z >> 1) as i128) ^ -((z & 1) as i128))
    }

    /// A count of elements that each take at least `min_elem_bytes` bytes
    /// (at least 1): refused when the bytes left cannot hold that many, so
    /// that a hostile count never makes a caller reserve a huge vector.
    pub fn len(&mut self, min_elem_bytes: usize) -> Result<usize, WireError> {
        let at = self.pos;
        let n = self.get_varint()?;
        let need = (n as u128) * (min_elem_bytes.max(1) as u128);
        if need > self.remaining() as u128 {
            return Err(WireError(format!(
                "count {n} at byte {at} exceeds the {} bytes left",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    /// A byte string written by [`put_bytes`].
    pub fn get_bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.len(1)?;
        self.get_slice(n)
    }

    /// Ascending `u64`s written by [`put_sorted_u64s`]; with `strict`, no
    /// two equal (a set).
    pub fn get_sorted_u64s(&mut self, strict: bool) -> Result<Vec<u64>, WireError> {
        let n = self.len(1)?;
        let mut out = Vec::with_capacity(n);
        let mut prev = 0u64;
        for i in 0..n {
            let at = self.pos;
            let d = self.get_varint()?;
            let v = if i == 0 {
                d
            } else {
                if strict && d == 0 {
                    return Err(WireError(format!("repeated set member at byte {at}")));
                }
                prev.checked_add(d)
                    .ok_or_else(|| WireError(format!("sorted value overflows at byte {at}")))?
            };
            out.push(v);
            prev = v;
        }
        Ok(out)
    }

    /// A string written by [`put_prefixed`] against `arena[prev]`,
    /// appended to `arena`; returns where it is. Refuses a shared length
    /// that is not the one `put_prefixed` writes.
    pub fn get_prefixed(
        &mut self,
        arena: &mut Vec<u8>,
        prev: std::ops::Range<usize>,
    ) -> Result<std::ops::Range<usize>, WireError> {
        let at = self.pos;
        let shared = self.get_varint()?;
        let rest = self.get_bytes()?;
        let before = &arena[prev.clone()];
        let canonical = shared <= before.len().min(MAX_SHARED) as u64
            && (shared == MAX_SHARED as u64
                || rest.is_empty()
                || before.get(shared as usize) != rest.first());
        if !canonical {
            return Err(WireError(format!(
                "bad shared prefix length {shared} at byte {at}"
            )));
        }
        let start = arena.len();
        arena.extend_from_within(prev.start..prev.start + shared as usize);
        arena.extend_from_slice(rest);
        Ok(start..arena.len())
    }

    /// Fails if any byte is left.
    pub fn finish(self) -> Result<(), WireError> {
        if self.remaining() > 0 {
            return Err(WireError(format!(
                "{} trailing bytes at byte {}",
                self.remaining(),
                self.pos
            )));
        }
        Ok(())
    }
}

/// Appends an arbitrary-precision integer: the varint of `len << 1 | neg`,
/// then the `len` bytes of the magnitude, little-endian, the last nonzero.
pub fn put_bigint(out: &mut Vec<u8>, v: &num_bigint::BigInt) {
    let neg = v.sign() == num_bigint::Sign::Minus;
    let mag = if v.sign() == num_bigint::Sign::NoSign {
        Vec::new()
    } else {
        v.magnitude().to_bytes_le()
    };
    put_varint(out, ((mag.len() as u64) << 1) | neg as u64);
    out.extend_from_slice(&mag);
}

impl Reader<'_> {
    /// An integer written by [`put_bigint`], in its one canonical form.
    pub fn get_bigint(&mut self) -> Result<num_bigint::BigInt, WireError> {
        let at = self.pos;
        let head = self.get_varint()?;
        let (len, neg) = (head >> 1, head & 1 == 1);
        if len > self.remaining() as u64 {
            return Err(self.truncated());
        }
        let mag = self.get_slice(len as usize)?;
        if mag.last() == Some(&0) || (neg && mag.is_empty()) {
            return Err(WireError(format!("non-canonical integer at byte {at}")));
        }
        let sign = match (mag.is_empty(), neg) {
            (true, _) => num_bigint::Sign::NoSign,
            (false, true) => num_bigint::Sign::Minus,
            (false, false) => num_bigint::Sign::Plus,
        };
        Ok(num_bigint::BigInt::from_bytes_le(sign, mag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_primitives_round_trip() {
        let mut out = Vec::new();
        let ints = [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        let signed = [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX];
        let wide = [0i128, -1, i128::MIN, i128::MAX, 1 << 100];
        ints.iter().for_each(|&v| put_varint(&mut out, v));
        signed.iter().for_each(|&v| put_zigzag(&mut out, v));
        wide.iter().for_each(|&v| put_zigzag128(&mut out, v));
        put_u32(&mut out, 0xdead_beef);
        put_f64(&mut out, -0.0);
        put_bytes(&mut out, b"abc");
        put_bool(&mut out, true);
        let bigs: Vec<num_bigint::BigInt> =
            ["0", "-1", "255", "-256", "123456789012345678901234567890"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        bigs.iter().for_each(|b| put_bigint(&mut out, b));
        put_sorted_u64s(&mut out, &[3, 3, 9, u64::MAX]);
        let mut r = Reader::new(&out);
        for &v in &ints {
            assert_eq!(r.get_varint().unwrap(), v);
        }
        for &v in &signed {
            assert_eq!(r.get_zigzag().unwrap(), v);
        }
        for &v in &wide {
            assert_eq!(r.get_zigzag128().unwrap(), v);
        }
        assert_eq!(r.get_u32().unwrap(), 0xdead_beef);
        assert_eq!(r.get_f64().unwrap().to_bits(), (-0.0f64).to_bits());
        assert_eq!(r.get_bytes().unwrap(), b"abc");
        assert!(r.get_bool().unwrap());
        for b in &bigs {
            assert_eq!(&r.get_bigint().unwrap(), b);
        }
        assert_eq!(r.get_sorted_u64s(false).unwrap(), vec![3, 3, 9, u64::MAX]);
        r.finish().unwrap();
        // every truncation is an error, never a panic
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut]);
            let all = (|| -> Result<(), WireError> {
                for _ in &ints {
                    r.get_varint()?;
                }
                for _ in &signed {
                    r.get_zigzag()?;
                }
                for _ in &wide {
                    r.get_zigzag128()?;
                }
                r.get_u32()?;
                r.get_f64()?;
                r.get_bytes()?;
                r.get_bool()?;
                for _ in &bigs {
                    r.get_bigint()?;
                }
                r.get_sorted_u64s(false)?;
                Ok(())
            })();
            assert!(all.is_err(), "cut {cut}");
        }
    }

    #[test]
    fn wire_refuses_non_canonical_and_oversized() {
        let err = |bytes: &[u8], f: fn(&mut Reader<'_>) -> Result<(), WireError>| {
            f(&mut Reader::new(bytes)).unwrap_err().0
        };
        assert!(err(&[0x80, 0x00], |r| r.get_varint().map(drop)).contains("overlong"));
        assert!(err(&[0xff; 11], |r| r.get_varint().map(drop)).contains("too large"));
        // 2^64 does not fit a u64: ten bytes, the last with bit 1 set
        let mut two64 = vec![0x80; 9];
        two64.push(0x02);
        assert!(err(&two64, |r| r.get_varint().map(drop)).contains("too large"));
        let mut max = Vec::new();
        put_varint(&mut max, u64::MAX);
        assert_eq!(Reader::new(&max).get_varint().unwrap(), u64::MAX);
        assert_eq!(
            err(&[0x05, 1, 2], |r| r.get_bytes().map(drop)),
            "count 5 at byte 0 exceeds the 2 bytes left"
        );
        assert_eq!(err(&[], |r| r.get_u8().map(drop)), "truncated at byte 0");
        assert!(err(&[2], |r| r.get_bool().map(drop)).contains("bad boolean"));
        assert!(err(&[0x03], |r| r.get_bigint().map(drop)).contains("truncated"));
        assert!(err(&[0x01], |r| r.get_bigint().map(drop)).contains("non-canonical"));
        assert!(err(&[0x02, 0], |r| r.get_bigint().map(drop)).contains("non-canonical"));
        assert!(err(&[2, 1, 0], |r| r.get_sorted_u64s(true).map(drop)).contains("repeated"));
        assert!(err(
            &[2, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            |r| r.get_sorted_u64s(false).map(drop)
        )
        .contains("overflows"));
        let r = Reader::new(&[1, 2]);
        assert_eq!(r.finish().unwrap_err().0, "2 trailing bytes at byte 0");
        for v in [
            0.0,
            -0.0,
            1.5,
            -1.5,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::MIN,
        ] {
            assert_eq!(f64_from_order_key(f64_order_key(v)).to_bits(), v.to_bits());
        }
        let mut sorted = [1.0, -0.0, 0.0, f64::NAN, -f64::NAN, f64::NEG_INFINITY, -2.0];
        sorted.sort_by_key(|&v| f64_order_key(v));
        let mut want = sorted;
        want.sort_by(f64::total_cmp);
        assert_eq!(sorted.map(f64::to_bits), want.map(f64::to_bits));
        assert!(i64_order_key(-1) < i64_order_key(0) && i64_order_key(i64::MIN) == 0);
    }
}
