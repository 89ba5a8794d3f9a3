//! Exact arithmetic on floating-point data.
//!
//! [`ExactSum`] is a *superaccumulator*: a fixed-point integer wide enough to
//! hold any sum of `f64` values (and of their squares) without rounding.
//! Adding a value costs a few integer additions, two sums merge by adding
//! their words, and the result is rounded to `f64` once, at the end. The
//! result therefore depends only on the multiset of values added, never on
//! their order or on how the data was partitioned: this is what makes
//! `sum`, `mean`, `var` and `std` byte-identical for every partition and
//! thread count, and equal to Python's `math.fsum` for sums.
//!
//! The accumulator stores only the window of 32-bit "chunks" that values
//! actually touched, so a sum over data of similar magnitude needs a handful
//! of words, which keeps per-group states in a group-by small.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, Signed, Zero};

/// Bits per chunk. Each chunk is an `i64`, so it can absorb 2^31 additions of
/// a 32-bit part before carries must be propagated.
const CHUNK_BITS: u32 = 32;
const CHUNK_MASK: i64 = (1 << CHUNK_BITS) - 1;
/// Additions allowed between two carry propagations (each adds < 2^32 to a
/// chunk whose magnitude is < 2^32 after normalisation).
const NORMALIZE_EVERY: u32 = 1 << 30;

/// Bit position of 2^0 in the accumulator of plain values (2^-1074 is bit 0).
pub const VALUE_SCALE: i64 = 1074;
/// Bit position of 2^0 in an accumulator of squares (2^-2148 is bit 0).
pub const SQUARE_SCALE: i64 = 2 * 1074;

/// An exact sum of `f64` values (or of their exact squares).
#[derive(Clone, Debug, Default)]
pub struct ExactSum {
    /// Index of the chunk stored in `chunks[0]`.
    low: u32,
    /// Signed chunks; chunk `i` weighs 2^(32 * (low + i)) in units of bit 0.
    chunks: Window,
    pending: u32,
    /// Whether any value was added, and whether any was not -0.0: an IEEE
    /// sum is -0.0 exactly when every term is -0.0.
    any: bool,
    not_negative_zero: bool,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

/// Chunks a [`Window`] holds in place.
const INLINE: usize = 6;

/// An [`ExactSum`]'s chunks: up to [`INLINE`] in place, a wider window on
/// the heap. Values of one magnitude touch three chunks, and a column's
/// values near 1 (their squares) five or six; a group-by holds a sum per
/// group (two for a deviation), and a window on the heap was an allocation
/// per sum, freed again at the end, and a pointer to follow on every
/// addition.
#[derive(Clone)]
enum Window {
    Inline { len: u8, chunks: [i64; INLINE] },
    Heap(Vec<i64>),
}

impl Default for Window {
    fn default() -> Self {
        Window::Inline {
            len: 0,
            chunks: [0; INLINE],
        }
    }
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl std::ops::Deref for Window {
    type Target = [i64];
    fn deref(&self) -> &[i64] {
        match self {
            Window::Inline { len, chunks } => &chunks[..*len as usize],
            Window::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Window {
    fn deref_mut(&mut self) -> &mut [i64] {
        match self {
            Window::Inline { len, chunks } => &mut chunks[..*len as usize],
            Window::Heap(v) => v,
        }
    }
}

impl Window {
    /// `chunks` as a window: in place if they fit.
    fn from_vec(chunks: Vec<i64>) -> Window {
        let mut w = Window::default();
        w.resize(chunks.len());
        w.copy_from_slice(&chunks);
        w
    }

    /// Grows the window to `n` chunks, the new ones zero (never shrinks).
    fn resize(&mut self, n: usize) {
        match self {
            Window::Inline { len, .. } if n <= INLINE => *len = (*len).max(n as u8),
            Window::Inline { .. } => {
                let mut v = Vec::with_capacity(n);
                v.extend_from_slice(self);
                v.resize(n, 0);
                *self = Window::Heap(v);
            }
            Window::Heap(v) => {
                if n > v.len() {
                    v.resize(n, 0);
                }
            }
        }
    }

    /// Puts `extra` zero chunks below the first.
    fn prepend_zeros(&mut self, extra: usize) {
        let old = self.len();
        self.resize(old + extra);
        self.copy_within(..old, extra);
        self[..extra].fill(0);
    }

    /// Appends one chunk.
    fn push(&mut self, chunk: i64) {
        let n = self.len();
        self.resize(n + 1);
        self[n] = chunk;
    }
}

/// Splits a finite `f64` into (negative, integer mantissa, bit position of
/// the mantissa's lowest bit relative to 2^-1074).
#[inline]
fn decompose(x: f64) -> (bool, u64, u32) {
    let bits = x.to_bits();
    let neg = bits >> 63 != 0;
    let exp = ((bits >> 52) & 0x7ff) as u32;
    let frac = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        (neg, frac, 0)
    } else {
        (neg, frac | (1u64 << 52), exp - 1)
    }
}

impl ExactSum {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when nothing but zeros was added.
    pub fn is_zero(&self) -> bool {
        !self.nan && !self.pos_inf && !self.neg_inf && self.chunks.iter().all(|&c| c == 0)
    }

    #[inline]
    fn note_special(&mut self, x: f64) {
        if x.is_nan() {
            self.nan = true;
        } else if x > 0.0 {
            self.pos_inf = true;
        } else {
            self.neg_inf = true;
        }
    }

    /// Adds `x` exactly.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        self.any = true;
        self.not_negative_zero |= x.to_bits() != (-0.0f64).to_bits();
        if !x.is_finite() {
            self.note_special(x);
            return;
        }
        let (neg, m, pos) = decompose(x);
        if m != 0 {
            self.add_magnitude(neg, m, pos);
        }
    }

    /// Adds `x * x` exactly. Use on an accumulator read with [`SQUARE_SCALE`].
    #[inline(always)]
    pub fn add_square(&mut self, x: f64) {
        if !x.is_finite() {
            // inf^2 = +inf, nan^2 = nan
            self.note_special(x.abs());
            return;
        }
        let (_, m, pos) = decompose(x);
        if m == 0 {
            return;
        }
        let sq = (m as u128) * (m as u128);
        let pos = 2 * pos;
        self.add_magnitude(false, sq as u64, pos);
        let high = (sq >> 64) as u64;
        if high != 0 {
            self.add_magnitude(false, high, pos + 64);
        }
    }

    /// Adds an integer exactly (in an accumulator read with [`VALUE_SCALE`]).
    pub fn add_integer(&mut self, v: i128) {
        self.any = true;
        self.not_negative_zero = true;
        if v == 0 {
            return;
        }
        let neg = v < 0;
        let mag = v.unsigned_abs();
        let pos = VALUE_SCALE as u32;
        if mag as u64 != 0 {
            self.add_magnitude(neg, mag as u64, pos);
        }
        if (mag >> 64) as u64 != 0 {
            self.add_magnitude(neg, (mag >> 64) as u64, pos + 64);
        }
    }

    /// Adds `v · 2^-scale` exactly for an integer `v` of any width: with
    /// [`VALUE_SCALE`] the integer `v` to an accumulator of values, with
    /// [`SQUARE_SCALE`] to one of squares.
    pub fn add_big(&mut self, v: &BigInt, scale: i64) {
        self.any = true;
        self.not_negative_zero = true;
        let neg = v.sign() == Sign::Minus;
        for (i, d) in v.magnitude().iter_u64_digits().enumerate() {
            if d != 0 {
                self.add_magnitude(neg, d, scale as u32 + 64 * i as u32);
            }
        }
    }

    /// Adds `v * v` exactly to an accumulator of squares (read with
    /// [`SQUARE_SCALE`]).
    pub fn add_integer_square(&mut self, v: i128) {
        let m = v.unsigned_abs();
        assert!(m <= u64::MAX as u128, "square of a 64-bit integer");
        self.add_square_total(m * m);
    }

    /// Adds `sq`, a sum of squares of integers, exactly to an accumulator of
    /// squares (read with [`SQUARE_SCALE`]): lets a caller sum the squares of
    /// a batch in plain `u128` and add the total once.
    pub fn add_square_total(&mut self, sq: u128) {
        if sq == 0 {
            return;
        }
        let pos = SQUARE_SCALE as u32;
        if sq as u64 != 0 {
            self.add_magnitude(false, sq as u64, pos);
        }
        if (sq >> 64) as u64 != 0 {
            self.add_magnitude(false, (sq >> 64) as u64, pos + 64);
        }
    }

    /// Adds ±m·2^pos (in units of bit 0).
    #[inline(always)]
    fn add_magnitude(&mut self, neg: bool, m: u64, pos: u32) {
        let idx = pos / CHUNK_BITS;
        let wide = (m as u128) << (pos % CHUNK_BITS);
        // conditional negation without a branch: (p ^ mask) - mask
        let mask = -(neg as i64);
        let p0 = ((wide as u64 & 0xffff_ffff) as i64 ^ mask) - mask;
        let p1 = (((wide >> 32) as u64 & 0xffff_ffff) as i64 ^ mask) - mask;
        let p2 = ((wide >> 64) as i64 ^ mask) - mask;
        let base = idx.wrapping_sub(self.low) as usize;
        if idx < self.low || base + 3 > self.chunks.len() {
            self.cover(idx, idx + 3);
        }
        let base = (idx - self.low) as usize;
        let slots = &mut self.chunks[base..base + 3];
        slots[0] += p0;
        slots[1] += p1;
        slots[2] += p2;
        self.pending += 1;
        if self.pending >= NORMALIZE_EVERY {
            self.normalize();
        }
    }

    /// Makes chunk indices `from..to` addressable.
    #[cold]
    #[inline(never)]
    fn cover(&mut self, from: u32, to: u32) {
        if self.chunks.is_empty() {
            self.low = from;
            self.chunks.resize((to - from) as usize);
            return;
        }
        if from < self.low {
            let extra = (self.low - from) as usize;
            self.chunks.prepend_zeros(extra);
            self.low = from;
        }
        let high = self.low + self.chunks.len() as u32;
        if to > high {
            self.chunks.resize((to - self.low) as usize);
        }
    }

    /// Propagates carries so that every chunk but the top one is in
    /// `0..2^32` and the top one is small; the value is unchanged.
    fn normalize(&mut self) {
        self.pending = 0;
        if self.chunks.is_empty() {
            return;
        }
        let mut i = 0;
        loop {
            let carry = self.chunks[i] >> CHUNK_BITS;
            if i + 1 == self.chunks.len() {
                if carry == 0 || carry == -1 && self.chunks[i] < 0 && self.chunks[i] >= -(1 << 31) {
                    break;
                }
                self.chunks.push(0);
            }
            self.chunks[i] &= CHUNK_MASK;
            self.chunks[i + 1] += carry;
            i += 1;
        }
    }

    /// Adds another accumulator into this one.
    pub fn merge(&mut self, other: &ExactSum) {
        self.any |= other.any;
        self.not_negative_zero |= other.not_negative_zero;
        self.nan |= other.nan;
        self.pos_inf |= other.pos_inf;
        self.neg_inf |= other.neg_inf;
        if other.chunks.is_empty() {
            return;
        }
        let mut other = other.clone();
        other.normalize();
        self.normalize();
        let top = other.low + other.chunks.len() as u32;
        self.cover(other.low, top);
        let base = (other.low - self.low) as usize;
        for (s, o) in self.chunks[base..].iter_mut().zip(other.chunks.iter()) {
            *s += o;
        }
        self.pending = 2;
    }

    /// The special value (NaN or ±inf) the sum is, if any non-finite value
    /// was added: NaN wins, and +inf with -inf gives NaN (IEEE semantics).
    pub fn special(&self) -> Option<f64> {
        if self.nan || (self.pos_inf && self.neg_inf) {
            Some(f64::NAN)
        } else if self.pos_inf {
            Some(f64::INFINITY)
        } else if self.neg_inf {
            Some(f64::NEG_INFINITY)
        } else {
            None
        }
    }

    /// The exact value as an integer multiple of 2^-scale (finite part only).
    pub fn to_bigint(&self) -> BigInt {
        let (v, shift) = self.to_bigint_scaled();
        v << shift as usize
    }

    /// [`to_bigint`](Self::to_bigint) as `v · 2^shift`, `v` from the chunks
    /// above the lowest nonzero one: a sum of values near 1 is a few limbs
    /// here, against thirty-odd shifted into place (2^1074 is bit 0), and a
    /// variance's products and division work on those few.
    pub fn to_bigint_scaled(&self) -> (BigInt, i64) {
        if let Some((v, shift)) = self.small() {
            return (BigInt::from(v), shift);
        }
        let (chunks, shift) = self.significant();
        let mut acc = BigInt::zero();
        for &c in chunks.iter().rev() {
            acc = (acc << CHUNK_BITS) + BigInt::from(c);
        }
        (acc, shift)
    }

    /// The chunks from the lowest nonzero one up, and the weight of that
    /// one in units of bit 0 (`2^shift`): the forms of the value that
    /// [`to_bigint_scaled`](Self::to_bigint_scaled), [`small`](Self::small)
    /// and [`small_unsigned`](Self::small_unsigned) build.
    fn significant(&self) -> (&[i64], i64) {
        let skip = self.chunks.iter().take_while(|&&c| c == 0).count();
        let shift = CHUNK_BITS as i64 * (self.low as i64 + skip as i64);
        (&self.chunks[skip..], shift)
    }

    /// The sum of plain values, correctly rounded to the nearest `f64`
    /// (ties to even), exactly what `math.fsum` returns.
    pub fn round(&self) -> f64 {
        if let Some(s) = self.special() {
            return s;
        }
        let sum = self.round_over(1);
        if sum == 0.0 && self.any && !self.not_negative_zero {
            return -0.0;
        }
        sum
    }

    /// The exact sum divided by `n` (> 0), rounded once to the nearest
    /// `f64` (ties to even): a mean. Dividing the rounded sum would round
    /// twice (off by one ulp) and overflow when the sum does but the mean
    /// does not. Specials and the sign of zero follow [`round`](Self::round):
    /// a mean of -0.0 values is -0.0, and a negative mean too small for a
    /// subnormal is -0.0 as in IEEE division.
    pub fn round_div(&self, n: u64) -> f64 {
        if let Some(s) = self.special() {
            return s;
        }
        let mean = self.round_over(n.max(1));
        if mean == 0.0 && self.any && !self.not_negative_zero {
            return -0.0;
        }
        mean
    }
}

impl ExactSum {
    /// The finite part over `den` (> 0), rounded once: in 128-bit integers
    /// when the sum fits ([`small`](Self::small)), else through `BigInt`.
    /// A group-by's float `sum` and `mean` finish every group's state here,
    /// and with a million groups the big-integer path (allocating shifts and
    /// a long division per group) was a tenth of the run.
    fn round_over(&self, den: u64) -> f64 {
        match self.small() {
            Some((v, shift)) => {
                round_ratio_small(v < 0, v.unsigned_abs(), den, shift - VALUE_SCALE)
            }
            None => round_ratio(&self.to_bigint(), &BigUint::from(den), -VALUE_SCALE),
        }
    }

    /// [`small`](Self::small) for a sum that is not negative and may need
    /// up to 256 bits: a sum of squares, whose window is twice as wide.
    pub fn small_unsigned(&self) -> Option<(U256, i64)> {
        let (chunks, shift) = self.significant();
        let mut v = U256::default();
        for &c in chunks.iter().rev() {
            v = v.checked_shl(CHUNK_BITS)?;
            let magnitude = U256::from(c.unsigned_abs() as u128);
            v = if c >= 0 {
                v.checked_add(magnitude)?
            } else {
                v.checked_sub(magnitude)?
            };
        }
        Some((v, shift))
    }

    /// The finite part as `v · 2^shift` in units of bit 0 (what
    /// [`to_bigint`](Self::to_bigint) gives, `v << shift`), when `v` fits in
    /// an `i128`: the chunks from the lowest nonzero one up, added in
    /// checked arithmetic (`None` on overflow, whatever the chunks' signs).
    pub fn small(&self) -> Option<(i128, i64)> {
        let (chunks, shift) = self.significant();
        let mut v: i128 = 0;
        for &c in chunks.iter().rev() {
            v = v.checked_mul(1 << CHUNK_BITS)?.checked_add(c as i128)?;
        }
        Some((v, shift))
    }
}

/// Chunk indices an encoded [`ExactSum`] may reach (`low + chunks`): 2^14
/// chunks of 32 bits, a sum of magnitude up to 2^(2^19). Sums of floats
/// and of their squares stay below chunk 140; only the exact sums of
/// integers wider than 64 bits (text columns) reach further, and those of
/// integers (squares) over about 78,000 (39,000) decimal digits are refused.
/// The bound keeps a hostile encoding from making a later merge allocate
/// a huge window.
pub const MAX_WIRE_CHUNKS: u64 = 1 << 14;

impl ExactSum {
    /// Appends the sum's byte form: a flags byte (bit 0 `any`, 1
    /// `not_negative_zero`, 2 NaN, 3 +inf, 4 -inf), the number `n` of
    /// chunks, and when `n > 0` the index of the lowest, the `n - 1` low
    /// chunks as `u32`s and the top one as a zigzag varint. The chunks are
    /// the normalised window trimmed of zero chunks at both ends, so one
    /// value has one form (see [`decode`](Self::decode)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        use crate::wire::{put_u32, put_u8, put_varint, put_zigzag};
        let flags = self.any as u8
            | (self.not_negative_zero as u8) << 1
            | (self.nan as u8) << 2
            | (self.pos_inf as u8) << 3
            | (self.neg_inf as u8) << 4;
        put_u8(out, flags);
        let (low, chunks) = self.canonical_chunks();
        put_varint(out, chunks.len() as u64);
        if let Some((&top, rest)) = chunks.split_last() {
            put_varint(out, low as u64);
            rest.iter().for_each(|&c| put_u32(out, c as u32));
            put_zigzag(out, top);
        }
    }

    /// The normalised chunks without zero chunks at either end, and the
    /// index of the first; a top chunk of -1 folded into the one below
    /// where that one can carry it (both forms are normalised).
    fn canonical_chunks(&self) -> (u32, Vec<i64>) {
        let mut s = self.clone();
        s.normalize();
        let mut chunks = s.chunks.to_vec();
        loop {
            match chunks[..] {
                [.., 0] => {
                    chunks.pop();
                }
                [.., below, -1] if below >= 1 << 31 => {
                    chunks.pop();
                    *chunks.last_mut().expect("two chunks") -= 1 << CHUNK_BITS;
                }
                _ => break,
            }
        }
        let skip = chunks.iter().position(|&c| c != 0).unwrap_or(chunks.len());
        chunks.drain(..skip);
        let low = if chunks.is_empty() {
            0
        } else {
            s.low + skip as u32
        };
        (low, chunks)
    }

    /// Reads what [`encode`](Self::encode) wrote, refusing any other form:
    /// flag bits beyond the five, zero chunks at either end, a top chunk out
    /// of the normalised range (`-2^31..2^32`, not 0) or foldable, a window
    /// past [`MAX_WIRE_CHUNKS`]. What is accepted is a normalised
    /// accumulator, which `add` and `merge` can take 2^30 more additions
    /// into without overflow.
    pub fn decode(r: &mut crate::wire::Reader<'_>) -> Result<ExactSum, crate::wire::WireError> {
        let at = r.pos();
        let flags = r.get_u8()?;
        if flags >> 5 != 0 {
            return Err(r.bad_state("exact sum", at, format!("unknown flags {flags:#x}")));
        }
        let n = r.len(1)?;
        let mut sum = ExactSum {
            any: flags & 1 != 0,
            not_negative_zero: flags & 2 != 0,
            nan: flags & 4 != 0,
            pos_inf: flags & 8 != 0,
            neg_inf: flags & 16 != 0,
            ..ExactSum::default()
        };
        if n == 0 {
            return Ok(sum);
        }
        let low = r.get_varint()?;
        // (checked: a `low` near 2^64 wrapped past the test, and the merge
        // then asked for 2^33 chunks)
        let end = low.checked_add(n as u64);
        if end.is_none_or(|end| end > MAX_WIRE_CHUNKS) {
            return Err(r.bad_state(
                "exact sum",
                at,
                format!(
                    "chunks {low}..{} beyond the limit {MAX_WIRE_CHUNKS}",
                    low as u128 + n as u128
                ),
            ));
        }
        let mut chunks = Vec::with_capacity(n);
        for _ in 1..n {
            chunks.push(r.get_u32()? as i64);
        }
        let top = r.get_zigzag()?;
        let foldable = top == -1 && chunks.last().is_some_and(|&c| c >= 1 << 31);
        if !(-(1 << 31)..1 << CHUNK_BITS).contains(&top) || top == 0 || foldable {
            return Err(r.bad_state("exact sum", at, format!("top chunk {top} not canonical")));
        }
        chunks.push(top);
        if chunks[0] == 0 {
            return Err(r.bad_state("exact sum", at, "lowest chunk is zero"));
        }
        sum.low = low as u32;
        sum.chunks = Window::from_vec(chunks);
        Ok(sum)
    }
}

/// A finite `f64` as the exact integer `x · 2^1074` (the scale of an
/// accumulator of plain values, [`VALUE_SCALE`]).
pub fn scaled(x: f64) -> BigInt {
    debug_assert!(x.is_finite());
    let (neg, m, pos) = decompose(x);
    let v = BigInt::from(m) << pos as usize;
    if neg {
        -v
    } else {
        v
    }
}

/// Two finite floats as integers at one scale, `(A, B, e)` with
/// `a = A · 2^e` and `b = B · 2^e`, when both fit in 80 bits there (their
/// significant bits span at most 80 places together); `None` otherwise.
/// A quantile's interpolation between neighbouring values then runs in
/// `i128` ([`round_ratio_small`]) instead of on the heap ([`scaled`]).
pub fn common_scale(a: f64, b: f64) -> Option<(i128, i128, i64)> {
    // each as (negative, odd mantissa or 0, position of its lowest bit)
    let odd = |x: f64| {
        let (neg, m, pos) = decompose(x);
        let tz = if m == 0 { 0 } else { m.trailing_zeros() };
        (neg, m >> tz, pos + tz)
    };
    let (a, b) = (odd(a), odd(b));
    let low = match (a.1, b.1) {
        (0, 0) => 0,
        (0, _) => b.2,
        (_, 0) => a.2,
        _ => a.2.min(b.2),
    };
    let at_low = |(neg, m, pos): (bool, u64, u32)| -> Option<i128> {
        if m == 0 {
            return Some(0);
        }
        let shift = pos - low;
        if 64 - m.leading_zeros() + shift > 80 {
            return None;
        }
        let v = (m as i128) << shift;
        Some(if neg { -v } else { v })
    };
    Some((at_low(a)?, at_low(b)?, low as i64 - VALUE_SCALE))
}

/// The `f64` nearest to `sqrt(num / den · 2^exp2)`, ties to even, for
/// `num >= 0`: a standard deviation rounded once (the square root of a
/// rounded variance would round twice). The integer square root is taken
/// with at least 56 significant bits, and whether it was inexact is appended
/// as a sticky bit below them, so [`round_ratio`] rounds it correctly.
pub fn round_sqrt_ratio(num: &BigInt, den: &BigUint, exp2: i64) -> f64 {
    let Some(mut n) = num.to_biguint() else {
        return f64::NAN; // a negative radicand: cannot happen for a variance
    };
    if n.is_zero() {
        return 0.0;
    }
    let mut exp2 = exp2;
    if exp2 % 2 != 0 {
        n <<= 1usize;
        exp2 -= 1;
    }
    // scale by 2^(2k) so that the quotient has at least 112 bits
    let k = (114 + den.bits() as i64 - n.bits() as i64).div_euclid(2);
    let (a, d) = if k >= 0 {
        (n << (2 * k) as usize, den.clone())
    } else {
        (n, den << (-2 * k) as usize)
    };
    let (q, r) = (&a / &d, &a % &d);
    let root = q.sqrt();
    let sticky = !r.is_zero() || &root * &root != q;
    let m = (root << 1usize) + BigUint::from(sticky as u8);
    // value = sqrt(a / d) · 2^(exp2 / 2 - k) = (m / 2) · 2^(exp2 / 2 - k)
    round_ratio(&BigInt::from(m), &BigUint::one(), exp2 / 2 - k - 1)
}

/// Bins of [`Binned`]: one per `pos` of [`decompose`] (0..=2045).
const BINS: usize = 2046;
/// Values binned before the bins are added to the accumulators: a bin then
/// holds at most this many mantissas (< 2^53 each, so |sum| < 2^63) or
/// squares (< 2^106 each, so sum < 2^116), and cannot overflow.
const BIN_RUN: u32 = 1024;

/// Integer sums of mantissas (and of their squares), one bin per binary
/// exponent, kept all zero between uses.
struct Bins {
    values: [i64; BINS],
    squares: [u128; BINS],
}

thread_local! {
    static BINS_OF_THREAD: std::cell::RefCell<Bins> = const {
        std::cell::RefCell::new(Bins { values: [0; BINS], squares: [0; BINS] })
    };
}

/// Adds many values to an [`ExactSum`] (and, with `SQUARES`, their squares
/// to a second one) faster than [`ExactSum::add`] one at a time, with the
/// same result. Why: `add` spreads each value over three 32-bit chunks with
/// a read-modify-write each, and consecutive values of similar magnitude hit
/// the same chunks, so the additions wait on each other. Here a value is one
/// integer addition to the bin of its exponent; the few bins a run of
/// values touched reach the accumulator once per 1024 values.
pub struct Binned<'a, const SQUARES: bool> {
    bins: &'a mut Bins,
    sum: &'a mut ExactSum,
    squares: Option<&'a mut ExactSum>,
    /// Values binned since the last flush, and the range of bins they hit.
    pending: u32,
    low: usize,
    high: usize,
    /// Whether any value since the last flush was not -0.0.
    not_negative_zero: bool,
}

impl<const SQUARES: bool> Binned<'_, SQUARES> {
    /// Adds `x` (and with `SQUARES`, `x * x`) exactly.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        self.not_negative_zero |= bits != (-0.0f64).to_bits();
        let exp = ((bits >> 52) & 0x7ff) as usize;
        if exp == 0x7ff {
            self.special(x);
            return;
        }
        let frac = bits & ((1u64 << 52) - 1);
        let m = frac | (((exp != 0) as u64) << 52);
        let pos = exp.saturating_sub(1);
        let mask = -((bits >> 63) as i64);
        self.bins.values[pos] += (m as i64 ^ mask) - mask;
        if SQUARES {
            self.bins.squares[pos] += (m as u128) * (m as u128);
        }
        self.low = self.low.min(pos);
        self.high = self.high.max(pos);
        self.pending += 1;
        if self.pending == BIN_RUN {
            self.flush();
        }
    }

    #[cold]
    fn special(&mut self, x: f64) {
        self.sum.any = true;
        self.sum.not_negative_zero = true;
        self.sum.note_special(x);
        if let Some(squares) = self.squares.as_deref_mut() {
            squares.note_special(x.abs());
        }
    }

    /// Moves the bins into the accumulators and zeroes them. Out of line,
    /// so that `add` stays small enough to inline into the callers' row
    /// loops (inlined, it kept the per-row closure a call, with the bin
    /// range and count stored to memory on every value).
    #[inline(never)]
    fn flush(&mut self) {
        if self.pending == 0 {
            return;
        }
        self.sum.any = true;
        self.sum.not_negative_zero |= self.not_negative_zero;
        for pos in self.low..=self.high {
            let v = std::mem::take(&mut self.bins.values[pos]);
            if v != 0 {
                self.sum.add_magnitude(v < 0, v.unsigned_abs(), pos as u32);
            }
            if let Some(squares) = self.squares.as_deref_mut() {
                let q = std::mem::take(&mut self.bins.squares[pos]);
                if q != 0 {
                    let pos = 2 * pos as u32;
                    squares.add_magnitude(false, q as u64, pos);
                    if (q >> 64) as u64 != 0 {
                        squares.add_magnitude(false, (q >> 64) as u64, pos + 64);
                    }
                }
            }
        }
        self.pending = 0;
        self.low = BINS;
        self.high = 0;
        self.not_negative_zero = false;
    }
}

/// Runs `f` with a [`Binned`] over this thread's bins.
fn with_bins<const SQUARES: bool>(
    sum: &mut ExactSum,
    squares: Option<&mut ExactSum>,
    f: impl FnOnce(&mut Binned<'_, SQUARES>),
) {
    BINS_OF_THREAD.with_borrow_mut(|bins| {
        let mut binned = Binned {
            bins,
            sum,
            squares,
            pending: 0,
            low: BINS,
            high: 0,
            not_negative_zero: false,
        };
        f(&mut binned);
        binned.flush();
    })
}

impl ExactSum {
    /// Adds every value `f` passes to [`Binned::add`]: the same result as
    /// [`add`](Self::add) on each, faster for more than a few dozen values.
    pub fn add_many(&mut self, f: impl FnOnce(&mut Binned<'_, false>)) {
        with_bins(self, None, f)
    }

    /// Like [`add_many`](Self::add_many), also adding each value's square
    /// to `squares` (as [`add_square`](Self::add_square) does).
    pub fn add_many_with_squares(
        &mut self,
        squares: &mut ExactSum,
        f: impl FnOnce(&mut Binned<'_, true>),
    ) {
        with_bins(self, Some(squares), f)
    }
}

/// `2^k` for `k` in the normal exponent range.
fn pow2(k: i64) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `m · 2^k` where the result is known to be exactly representable or to
/// overflow (`m <= 2^53`, `k >= -1074`).
fn scale(m: u64, k: i64) -> f64 {
    let x = m as f64;
    if k > 1023 {
        // m >= 1 makes it at least 2^1024: past f64::MAX whatever m is (a
        // second power of two past 2^1023 would leave pow2's range, whose
        // exponent bits then spill into the sign: -0.0 and NaN, not inf)
        return if m == 0 { 0.0 } else { f64::INFINITY };
    }
    if k >= -1022 {
        return x * pow2(k);
    }
    // subnormal result: scale in two exact steps
    x * pow2(k + 64) * pow2(-64)
}

/// The `f64` nearest to `num / den · 2^exp2`, ties to even, with correct
/// handling of subnormal results and overflow to infinity.
pub fn round_ratio(num: &BigInt, den: &BigUint, exp2: i64) -> f64 {
    if num.is_zero() {
        return 0.0;
    }
    let neg = num.sign() == Sign::Minus;
    let n = num.abs().to_biguint().expect("absolute value");
    // choose a shift so that the quotient has 55 or 56 significant bits
    let s = 55 + den.bits() as i64 - n.bits() as i64;
    let (a, d) = if s >= 0 {
        (n << s as usize, den.clone())
    } else {
        (n, den << (-s) as usize)
    };
    let (q, r) = (&a / &d, &a % &d);
    let sticky = !r.is_zero();
    let e = exp2 - s; // value = (q + r/d) · 2^e
    let qbits = q.bits() as i64;
    let shift = (qbits - 53).max(-1074 - e);
    let (mantissa, exponent) = if shift <= 0 {
        // only reachable for quotients that are already exact and tiny
        let m: u64 = q.try_into().expect("small quotient");
        (m << (-shift) as u32, e + shift)
    } else {
        let shift_u = shift as usize;
        let m: u64 = (&q >> shift_u).try_into().expect("53-bit mantissa");
        let rem = &q - (BigUint::from(m) << shift_u);
        let half = BigUint::one() << (shift_u - 1);
        let up = rem > half || (rem == half && (sticky || m & 1 == 1));
        (m + up as u64, e + shift)
    };
    let v = scale(mantissa, exponent);
    if neg {
        -v
    } else {
        v
    }
}

/// [`round_ratio`] of `±num / den · 2^exp2` for a numerator and a
/// denominator that fit in 128 and 64 bits: the same steps in `u128`
/// arithmetic, without allocating. The shifted operands stay within 128
/// bits: with `s >= 0` the numerator grows to `55 + bits(den) <= 119` bits,
/// with `s < 0` the denominator to `bits(num) - 55 <= 73`; the quotient has
/// 55 or 56 bits either way.
pub fn round_ratio_small(neg: bool, num: u128, den: u64, exp2: i64) -> f64 {
    round_ratio_sticky(neg, num, den, exp2, false)
}

/// [`round_ratio_small`] of a numerator that lost nonzero bits below the
/// ones given when `lost` (then the true value lies strictly above
/// `num / den · 2^exp2`, less than one unit of `num` above it).
fn round_ratio_sticky(neg: bool, num: u128, den: u64, exp2: i64, lost: bool) -> f64 {
    assert!(den > 0, "division by zero");
    if num == 0 {
        return 0.0;
    }
    let den_bits = 64 - den.leading_zeros() as i64;
    let num_bits = 128 - num.leading_zeros() as i64;
    // a shift that gives the quotient 55 or 56 significant bits
    let s = 55 + den_bits - num_bits;
    let (a, d) = if s >= 0 {
        (num << s, den as u128)
    } else {
        (num, (den as u128) << -s)
    };
    let (q, r) = (a / d, a % d);
    let sticky = r != 0 || lost;
    let e = exp2 - s; // value = (q + r/d) · 2^e
    let qbits = 128 - q.leading_zeros() as i64;
    let shift = (qbits - 53).max(-1074 - e);
    let (mantissa, exponent) = if shift <= 0 {
        // only reachable for quotients that are already exact and tiny
        ((q as u64) << -shift, e + shift)
    } else if shift >= 64 {
        // q < 2^56 is below half of 2^shift: rounds to zero
        (0, e + shift)
    } else {
        let m = (q >> shift) as u64;
        let rem = q - ((m as u128) << shift);
        let half = 1u128 << (shift - 1);
        let up = rem > half || (rem == half && (sticky || m & 1 == 1));
        (m + up as u64, e + shift)
    };
    let v = scale(mantissa, exponent);
    if neg {
        -v
    } else {
        v
    }
}

/// A 256-bit unsigned integer, four little-endian words: the numerator of
/// a variance whose sums fit in 128 bits ([`round_ratio_wide`],
/// [`round_sqrt_ratio_wide`]), so that a million groups' deviations finish
/// without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct U256([u64; 4]);

impl From<u128> for U256 {
    fn from(v: u128) -> U256 {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }
}

impl U256 {
    /// `a · b`, exactly.
    pub fn mul(a: u128, b: u128) -> U256 {
        let (a0, a1) = (a as u64 as u128, a >> 64);
        let (b0, b1) = (b as u64 as u128, b >> 64);
        let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
        // below 3 · 2^64, and the top below 2^128 since a · b < 2^256
        let mid = (p00 >> 64) + (p01 as u64 as u128) + (p10 as u64 as u128);
        let top = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
        U256([p00 as u64, mid as u64, top as u64, (top >> 64) as u64])
    }

    fn is_zero(self) -> bool {
        self.0 == [0; 4]
    }

    /// `self · n`, or `None` past 256 bits.
    pub fn times(self, n: u64) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (i, slot) in out.iter_mut().enumerate() {
            let p = self.0[i] as u128 * n as u128 + carry;
            *slot = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U256(out))
    }

    /// Significant bits.
    fn bits(self) -> u32 {
        match self.0.iter().rposition(|&w| w != 0) {
            Some(i) => 64 * i as u32 + 64 - self.0[i].leading_zeros(),
            None => 0,
        }
    }

    /// `self · 2^k`, or `None` if it needs more than 256 bits.
    pub fn checked_shl(self, k: u32) -> Option<U256> {
        if self.is_zero() {
            return Some(self);
        }
        if self.bits() + k > 256 {
            return None;
        }
        let (words, bits) = ((k / 64) as usize, k % 64);
        let mut out = [0u64; 4];
        for i in (words..4).rev() {
            let w = self.0[i - words];
            let below = if bits > 0 && i > words {
                self.0[i - words - 1] >> (64 - bits)
            } else {
                0
            };
            out[i] = (w << bits) | below;
        }
        Some(U256(out))
    }

    /// `⌊self / 2^k⌋`, and whether the bits shifted out were not all zero.
    fn shr_sticky(self, k: u32) -> (U256, bool) {
        if k >= 256 {
            return (U256::default(), !self.is_zero());
        }
        let (words, bits) = ((k / 64) as usize, k % 64);
        let lost = self.0[..words].iter().any(|&w| w != 0)
            || (bits > 0 && self.0[words] & ((1u64 << bits) - 1) != 0);
        let mut out = [0u64; 4];
        for (i, slot) in out.iter_mut().enumerate().take(4 - words) {
            let w = self.0[i + words];
            let above = if bits > 0 && i + words + 1 < 4 {
                self.0[i + words + 1] << (64 - bits)
            } else {
                0
            };
            *slot = (w >> bits) | above;
        }
        (U256(out), lost)
    }

    /// `self + other`, or `None` past 256 bits.
    fn checked_add(self, other: U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (d, c1) = self.0[i].overflowing_add(other.0[i]);
            let (d, c2) = d.overflowing_add(carry as u64);
            *slot = d;
            carry = c1 || c2;
        }
        (!carry).then_some(U256(out))
    }

    /// `self - other`, or `None` if negative.
    pub fn checked_sub(self, other: U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (d, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (d, b2) = d.overflowing_sub(borrow as u64);
            *slot = d;
            borrow = b1 || b2;
        }
        (!borrow).then_some(U256(out))
    }

    /// `⌊self / d⌋` and the remainder, a word at a time.
    fn div_rem(self, d: u64) -> (U256, u64) {
        let mut out = [0u64; 4];
        let mut rem = 0u128;
        for i in (0..4).rev() {
            let cur = (rem << 64) | self.0[i] as u128;
            out[i] = (cur / d as u128) as u64;
            rem = cur % d as u128;
        }
        (U256(out), rem as u64)
    }

    fn to_u128(self) -> Option<u128> {
        (self.0[2] == 0 && self.0[3] == 0).then(|| self.0[0] as u128 | (self.0[1] as u128) << 64)
    }
}

/// [`round_ratio`] of `num / den · 2^exp2` for a 256-bit numerator and a
/// 64-bit denominator: a numerator wider than 127 bits is cut to 127, the
/// bits it loses kept as a sticky bit, which is all the rounding needs.
pub fn round_ratio_wide(num: U256, den: u64, exp2: i64) -> f64 {
    let cut = num.bits().saturating_sub(127);
    let (top, lost) = num.shr_sticky(cut);
    let top = top.to_u128().expect("127 bits");
    round_ratio_sticky(false, top, den, exp2 + cut as i64, lost)
}

/// [`round_sqrt_ratio`] of a 256-bit numerator and a 64-bit denominator, in
/// fixed-width arithmetic: the same steps, with the scaled division's
/// dividend shifted right (its lost bits kept as a sticky bit) where
/// `round_sqrt_ratio` shifts the divisor left. `None` when a step would
/// need more than 256 bits.
pub fn round_sqrt_ratio_wide(num: U256, den: u64, exp2: i64) -> Option<f64> {
    assert!(den > 0, "division by zero");
    if num.is_zero() {
        return Some(0.0);
    }
    let (mut n, mut exp2) = (num, exp2);
    if exp2 % 2 != 0 {
        n = n.checked_shl(1)?;
        exp2 -= 1;
    }
    let den_bits = 64 - den.leading_zeros() as i64;
    // scale by 2^(2k) so that the quotient has at least 112 bits
    let k = (114 + den_bits - n.bits() as i64).div_euclid(2);
    let (a, lost) = if k >= 0 {
        (n.checked_shl(2 * k as u32)?, false)
    } else {
        n.shr_sticky((-2 * k) as u32)
    };
    let (q, r) = a.div_rem(den);
    let q = q.to_u128()?;
    let root = isqrt(q);
    let sticky = lost || r != 0 || root * root != q;
    let m = (root << 1) + sticky as u128;
    // value = sqrt(a / d) · 2^(exp2 / 2 - k) = (m / 2) · 2^(exp2 / 2 - k)
    Some(round_ratio_small(false, m, 1, exp2 / 2 - k - 1))
}

/// `⌊√q⌋`: the float estimate, one Newton step, then exact by steps of one.
fn isqrt(q: u128) -> u128 {
    if q == 0 {
        return 0;
    }
    let mut r = ((q as f64).sqrt() as u128).max(1);
    r = (r + q / r) / 2;
    while r.checked_mul(r).is_none_or(|sq| sq > q) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= q) {
        r += 1;
    }
    r
}

/// Reference implementations for tests: deliberately independent of the
/// superaccumulator above.
#[doc(hidden)]
pub mod reference {
    /// Shewchuk / CPython `math.fsum`: an independent exact reference.
    pub fn fsum(values: &[f64]) -> f64 {
        let mut partials: Vec<f64> = Vec::new();
        let mut special = 0.0f64;
        let mut inf_sum = 0.0f64;
        for &x0 in values {
            let mut x = x0;
            if !x.is_finite() {
                if x.is_infinite() {
                    inf_sum += x;
                }
                special += x;
                continue;
            }
            let mut i = 0;
            for j in 0..partials.len() {
                let mut y = partials[j];
                if x.abs() < y.abs() {
                    std::mem::swap(&mut x, &mut y);
                }
                let hi = x + y;
                let lo = y - (hi - x);
                if lo != 0.0 {
                    partials[i] = lo;
                    i += 1;
                }
                x = hi;
            }
            partials.truncate(i);
            partials.push(x);
        }
        if special != 0.0 {
            return if inf_sum.is_nan() { f64::NAN } else { special };
        }
        let mut n = partials.len();
        let mut hi = 0.0;
        if n > 0 {
            n -= 1;
            hi = partials[n];
            let mut lo = 0.0;
            while n > 0 {
                let x = hi;
                n -= 1;
                let y = partials[n];
                hi = x + y;
                let yr = hi - x;
                lo = y - yr;
                if lo != 0.0 {
                    break;
                }
            }
            if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))
            {
                let y = lo * 2.0;
                let x = hi + y;
                let yr = x - hi;
                if y == yr {
                    hi = x;
                }
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::reference::fsum;
    use super::*;

    fn sum_of(values: &[f64]) -> f64 {
        let mut s = ExactSum::new();
        for &v in values {
            s.add(v);
        }
        s.round()
    }

    #[test]
    fn classic_cancellations() {
        assert_eq!(sum_of(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum_of(&[0.1; 10]), 1.0);
        assert_eq!(sum_of(&[1e308, 1e308, -1e308]), 1e308);
        assert_eq!(sum_of(&[]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[-0.0, -0.0]).to_bits(), (-0.0f64).to_bits());
        assert_eq!(sum_of(&[-0.0, 0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[-1.0, 1.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[-0.5, 0.25]), -0.25);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum_of(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
        assert_eq!(sum_of(&[5e-324, 5e-324]), 1e-323);
        assert_eq!(sum_of(&[2.0f64.powi(53), 1.0]), 2.0f64.powi(53));
        assert_eq!(
            sum_of(&[2.0f64.powi(53), 1.0, 1e-10]),
            2.0f64.powi(53) + 2.0
        );
        assert!(sum_of(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(sum_of(&[1.0, f64::NAN]).is_nan());
        assert_eq!(sum_of(&[1.0, f64::INFINITY]), f64::INFINITY);
    }

    #[test]
    fn matches_fsum_on_awkward_data() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = || crate::testing::xorshift(&mut state);
        for round in 0..200 {
            let n = (next() % 300) as usize;
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    let r = next();
                    let exp = (r % 80) as i32 - 40 + if round % 7 == 0 { 300 } else { 0 };
                    let mant = (next() >> 11) as f64 / (1u64 << 53) as f64;
                    let sign = if r & (1 << 40) != 0 { -1.0 } else { 1.0 };
                    sign * mant * 2f64.powi(exp)
                })
                .collect();
            assert_eq!(
                sum_of(&values).to_bits(),
                fsum(&values).to_bits(),
                "{values:?}"
            );
        }
    }

    /// Values of every kind: normal of any exponent, subnormal, both zeros,
    /// the extremes, and now and then NaN or an infinity.
    fn awkward_value(next: &mut impl FnMut() -> u64, specials: bool) -> f64 {
        let r = next();
        match r % 16 {
            0 => f64::from_bits(next() & ((1u64 << 52) - 1)), // subnormal (or 0)
            1 => [0.0, -0.0, f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 5e-324][(r >> 8) as usize % 6],
            2 if specials => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][(r >> 8) as usize % 3],
            3..=5 => f64::from_bits(next() & !(0x7ffu64 << 52) | (((r >> 8) % 2046 + 1) << 52)),
            _ => {
                let x = (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                x * 2f64.powi((r >> 8) as i32 % 20)
            }
        }
    }

    #[test]
    fn binned_adds_are_the_plain_adds() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || crate::testing::xorshift(&mut state);
        // lengths around the flush interval, and runs of one value (one bin)
        for (round, n) in [0, 1, 2, 5, 1023, 1024, 1025, 2048, 3000, 5000]
            .into_iter()
            .enumerate()
        {
            for specials in [false, true] {
                let values: Vec<f64> = if round % 4 == 3 {
                    vec![awkward_value(&mut next, false); n]
                } else {
                    (0..n).map(|_| awkward_value(&mut next, specials)).collect()
                };
                let (mut sum, mut squares) = (ExactSum::new(), ExactSum::new());
                for &v in &values {
                    sum.add(v);
                    squares.add_square(v);
                }
                let mut binned = ExactSum::new();
                binned.add_many(|b| values.iter().for_each(|&v| b.add(v)));
                let (mut binned2, mut binned_squares) = (ExactSum::new(), ExactSum::new());
                binned2.add_many_with_squares(&mut binned_squares, |b| {
                    values.iter().for_each(|&v| b.add(v))
                });
                for got in [&binned, &binned2] {
                    assert_eq!(got.to_bigint(), sum.to_bigint(), "n={n}");
                    assert_eq!(got.round().to_bits(), sum.round().to_bits(), "n={n}");
                    assert_eq!(
                        got.special().map(f64::to_bits),
                        sum.special().map(f64::to_bits)
                    );
                }
                assert_eq!(binned_squares.to_bigint(), squares.to_bigint(), "n={n}");
                assert_eq!(
                    binned_squares.special().map(f64::to_bits),
                    squares.special().map(f64::to_bits)
                );
            }
        }
        // the sign of an all-zero sum, and a sum of specials alone
        for values in [
            &[-0.0, -0.0][..],
            &[-0.0, 0.0],
            &[],
            &[f64::NAN],
            &[-0.0, f64::INFINITY],
        ] {
            let mut plain = ExactSum::new();
            values.iter().for_each(|&v| plain.add(v));
            let mut binned = ExactSum::new();
            binned.add_many(|b| values.iter().for_each(|&v| b.add(v)));
            assert_eq!(
                binned.round().to_bits(),
                plain.round().to_bits(),
                "{values:?}"
            );
        }
    }

    fn wire_bytes(s: &ExactSum) -> Vec<u8> {
        let mut out = Vec::new();
        s.encode(&mut out);
        out
    }

    fn from_wire(bytes: &[u8]) -> Result<ExactSum, crate::wire::WireError> {
        let mut r = crate::wire::Reader::new(bytes);
        let s = ExactSum::decode(&mut r)?;
        r.finish()?;
        Ok(s)
    }

    /// The byte form keeps the exact value, the specials and the sign of
    /// zero; one value has one form, whatever the window and the order of
    /// additions; decoded sums merge exactly.
    #[test]
    fn wire_form_is_exact_and_canonical() {
        let mut state = 0x0bad_cafe_u64;
        let mut next = || crate::testing::xorshift(&mut state);
        for round in 0..2000 {
            let n = (next() % 12) as usize;
            let values: Vec<f64> = (0..n)
                .map(|_| awkward_value(&mut next, round % 5 == 0))
                .collect();
            let (mut fwd, mut back) = (ExactSum::new(), ExactSum::new());
            values.iter().for_each(|&v| fwd.add(v));
            values.iter().rev().for_each(|&v| back.add(v));
            if round % 3 == 0 {
                let v = next() as i64 as i128 * (next() % 1000) as i128;
                fwd.add_integer(v);
                back.add_integer(v);
            }
            let bytes = wire_bytes(&fwd);
            assert_eq!(wire_bytes(&back), bytes, "{values:?}");
            let d = from_wire(&bytes).unwrap();
            assert_eq!(d.to_bigint(), fwd.to_bigint());
            assert_eq!(d.round().to_bits(), fwd.round().to_bits());
            assert_eq!(wire_bytes(&d), bytes);
            for cut in 0..bytes.len() {
                assert!(from_wire(&bytes[..cut]).is_err());
            }
            let mut merged = d.clone();
            merged.merge(&from_wire(&wire_bytes(&back)).unwrap());
            let mut want = fwd.clone();
            want.merge(&back);
            assert_eq!(merged.to_bigint(), want.to_bigint());
            assert_eq!(wire_bytes(&merged), wire_bytes(&want));
        }
        // negative sums whose window had room above: -1 is one chunk
        let mut a = ExactSum::new();
        a.add(1e20);
        a.add(-1e20);
        a.add(-5e-324);
        assert_eq!(wire_bytes(&a), [3, 1, 0, 1]);
        // a sum of squares, and an integer wider than 64 bits
        let mut q = ExactSum::new();
        q.add_square(1e300);
        q.add_big(&(BigInt::from(7) << 3000usize), VALUE_SCALE);
        let d = from_wire(&wire_bytes(&q)).unwrap();
        assert_eq!(d.to_bigint(), q.to_bigint());
    }

    #[test]
    fn wire_form_refuses_other_forms() {
        let err = |b: &[u8]| from_wire(b).unwrap_err().0;
        assert!(err(&[0x20, 0]).contains("unknown flags"));
        assert!(err(&[0, 1, 0, 0]).contains("not canonical"), "a zero top");
        // two chunks: the low one zero
        assert!(err(&[0, 2, 0, 0, 0, 0, 0, 2]).contains("lowest chunk is zero"));
        // a top of -1 over a chunk that can carry it (the form is -2^31)
        assert!(err(&[0, 2, 0, 0, 0, 0, 0x80, 1]).contains("not canonical"));
        assert!(from_wire(&[0, 2, 0, 0, 0, 0, 0x7f, 1]).is_ok());
        // beyond the window limit
        let mut far = vec![0, 1];
        crate::wire::put_varint(&mut far, MAX_WIRE_CHUNKS);
        far.push(2);
        assert!(err(&far).contains("beyond the limit"));
        // a window whose end wraps past 2^64 (it passed the test, and a
        // merge then asked for 32 GiB)
        for low in [u64::MAX, u64::MAX - 1, u64::MAX - 2] {
            let mut wrap = vec![0, 3];
            crate::wire::put_varint(&mut wrap, low);
            wrap.extend([1, 0, 0, 0, 1, 0, 0, 0, 2]);
            assert!(err(&wrap).contains("beyond the limit"), "{low}");
        }
        // a top beyond 2^32 (zigzag 2^33)
        let mut wide = vec![0, 1, 0];
        crate::wire::put_varint(&mut wide, 1 << 33);
        assert!(err(&wide).contains("not canonical"));
    }

    #[test]
    fn merge_is_partition_independent() {
        let values: Vec<f64> = (0..1000)
            .map(|i| (i as f64).sin() * 10f64.powi(i % 30 - 15))
            .collect();
        let whole = sum_of(&values);
        for parts in [1, 2, 3, 7, 64] {
            let mut total = ExactSum::new();
            for chunk in values.chunks(values.len().div_ceil(parts)) {
                let mut s = ExactSum::new();
                for &v in chunk {
                    s.add(v);
                }
                total.merge(&s);
            }
            total.merge(&ExactSum::new());
            assert_eq!(total.round().to_bits(), whole.to_bits());
        }
    }

    #[test]
    fn many_additions_survive_normalisation() {
        let mut s = ExactSum::new();
        s.pending = NORMALIZE_EVERY - 5;
        for _ in 0..20 {
            s.add(f64::MAX);
            s.add(-f64::MAX);
            s.add(3.0);
        }
        assert_eq!(s.round(), 60.0);
    }

    #[test]
    fn integers_and_squares() {
        let mut s = ExactSum::new();
        s.add_integer(i128::from(i64::MAX) * 4);
        s.add_integer(-3);
        assert_eq!(
            s.to_bigint(),
            BigInt::from(i128::from(i64::MAX) * 4 - 3) << 1074usize
        );
        let mut q = ExactSum::new();
        q.add_square(3.0);
        q.add_square(-0.5);
        assert_eq!(
            round_ratio(&q.to_bigint(), &BigUint::one(), -SQUARE_SCALE),
            9.25
        );
    }

    #[test]
    fn wide_integers_add_exactly() {
        let v: BigInt = "-89014103211118510720123456789".parse().unwrap();
        let mut s = ExactSum::new();
        s.add_big(&v, VALUE_SCALE);
        s.add_integer(5);
        assert_eq!(s.to_bigint(), (&v + 5) << 1074usize);
        let mut q = ExactSum::new();
        q.add_big(&(&v * &v), SQUARE_SCALE);
        assert_eq!(q.to_bigint(), (&v * &v) << 2148usize);
    }

    #[test]
    fn ratio_rounding() {
        let one = BigUint::one();
        assert_eq!(
            round_ratio(&BigInt::from(1), &BigUint::from(3u32), 0),
            1.0 / 3.0
        );
        assert_eq!(
            round_ratio(&BigInt::from(-2), &BigUint::from(3u32), 0),
            -2.0 / 3.0
        );
        assert_eq!(round_ratio(&BigInt::from(1), &one, -1074), 5e-324);
        assert_eq!(round_ratio(&BigInt::from(1), &one, -1075), 0.0); // tie to even (zero)
        assert_eq!(round_ratio(&BigInt::from(3), &one, -1075), 1e-323); // 1.5 ulp -> 2
        assert_eq!(round_ratio(&BigInt::from(1), &one, 1024), f64::INFINITY);
        assert_eq!(round_ratio(&BigInt::from(7), &BigUint::from(10u32), 0), 0.7);
    }

    /// A quotient past 2^2047 (a variance of integers hundreds of digits
    /// wide, or a crafted partial's state) overflows to infinity: `scale`
    /// took a second power of two past 2^1023 outside `pow2`'s range, a
    /// debug assertion, and in release -0.0 or NaN (found by the `partial`
    /// fuzz target).
    #[test]
    fn ratio_rounding_far_past_the_largest_float() {
        for exp2 in (1024..2300).chain([5000]) {
            for num in [1u128, 3, u128::MAX] {
                assert_eq!(round_ratio_small(false, num, 1, exp2), f64::INFINITY);
                assert_eq!(round_ratio_small(true, num, 1, exp2), f64::NEG_INFINITY);
            }
            let wide = U256::mul(u128::MAX, u128::MAX);
            assert_eq!(round_ratio_wide(wide, 3, exp2 - 200), f64::INFINITY);
            let big = BigInt::from(5) << 300usize;
            assert_eq!(
                round_ratio(&big, &BigUint::one(), exp2 - 300),
                f64::INFINITY
            );
        }
        assert_eq!(scale(1, 2047), f64::INFINITY);
        assert_eq!(scale(1 << 52, 2047 - 52), f64::INFINITY);
        assert_eq!(scale(0, 2047), 0.0);
    }

    /// A window keeps its chunks in order as it grows past its inline room,
    /// at either end, and back from a vector.
    #[test]
    fn windows_grow_in_place_then_on_the_heap() {
        let mut w = Window::default();
        let mut model: Vec<i64> = Vec::new();
        let mut step = 0i64;
        for round in 0..40 {
            step += 1;
            match round % 3 {
                0 => {
                    w.push(step);
                    model.push(step);
                }
                1 => {
                    let extra = (round % 4) as usize;
                    w.prepend_zeros(extra);
                    model.splice(0..0, std::iter::repeat_n(0, extra));
                    if let Some(first) = w.first_mut() {
                        *first = -step;
                        model[0] = -step;
                    }
                }
                _ => {
                    let n = model.len() + (round % 5) as usize;
                    w.resize(n);
                    model.resize(n, 0);
                    w.resize(1); // never shrinks
                }
            }
            assert_eq!(&w[..], &model[..], "round {round}");
            assert_eq!(matches!(w, Window::Inline { .. }), model.len() <= INLINE);
            assert_eq!(&Window::from_vec(model.clone())[..], &model[..]);
        }
    }

    /// The 128-bit ratio is the big-integer one, bit for bit: numerators and
    /// denominators of every length, exponents from below the subnormals to
    /// past overflow, both signs.
    #[test]
    fn small_ratio_is_the_big_one() {
        let check = |neg: bool, num: u128, den: u64, exp2: i64| {
            let big = BigInt::from(num) * if neg { -1 } else { 1 };
            let want = round_ratio(&big, &BigUint::from(den), exp2);
            let got = round_ratio_small(neg, num, den, exp2);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{neg} {num} / {den} · 2^{exp2}"
            );
        };
        for (num, den, exp2) in [
            (1, 1, -1074),
            (1, 1, -1075), // half the least subnormal: ties to zero
            (3, 1, -1075),
            (1, 1, 1024),
            (u128::MAX, 1, 0),
            (u128::MAX, u64::MAX, 0),
            (1, u64::MAX, 0),
            ((1 << 53) + 1, 1, 0),
            (1 << 127, 3, -1200),
            (7, 10, 0),
        ] {
            check(false, num, den, exp2);
            check(true, num, den, exp2);
        }
        let mut state = 0x5eed_1234_u64;
        let mut next = || crate::testing::xorshift(&mut state);
        for _ in 0..20_000 {
            let num_bits = 1 + next() % 128;
            let num =
                ((next() as u128) << 64 | next() as u128) >> (128 - num_bits) | 1 << (num_bits - 1);
            let den = (next() >> (next() % 64)).max(1);
            let exp2 = match next() % 4 {
                0 => -1300 + (next() % 400) as i64, // subnormal results and zero
                1 => 900 + (next() % 300) as i64,   // near and past overflow
                _ => -200 + (next() % 400) as i64,
            };
            check(next() % 2 == 0, num, den, exp2);
        }
    }

    /// The fixed-width ratio and square root are the `BigInt` ones, bit for
    /// bit, for numerators of every length up to 256 bits; the 256-bit
    /// operations agree with `BigUint`'s.
    #[test]
    fn wide_ratios_are_the_big_ones() {
        let big = |x: U256| {
            x.0.iter().rev().fold(BigUint::zero(), |acc, &w| {
                (acc << 64usize) + BigUint::from(w)
            })
        };
        let mut roots = 0;
        let mut state = 0x2_5600_u64;
        let mut next = || crate::testing::xorshift(&mut state);
        let wide128 = |next: &mut dyn FnMut() -> u64| {
            let bits = 1 + next() % 128;
            (((next() as u128) << 64 | next() as u128) >> (128 - bits)) | 1 << (bits - 1)
        };
        for round in 0..20_000 {
            let (a, b) = (wide128(&mut next), wide128(&mut next));
            let product = U256::mul(a, b);
            assert_eq!(big(product), BigUint::from(a) * BigUint::from(b));
            let k = (next() % 300) as u32;
            match product.checked_shl(k) {
                Some(p) => assert_eq!(big(p), big(product) << k as usize),
                None => assert!(product.bits() + k > 256),
            }
            let (down, lost) = product.shr_sticky(k);
            assert_eq!(big(down), big(product) >> k as usize);
            assert_eq!(
                lost,
                big(product) % (BigUint::one() << k as usize) != BigUint::zero()
            );
            let n = next() >> (next() % 64);
            match product.times(n) {
                Some(p) => assert_eq!(big(p), big(product) * BigUint::from(n)),
                None => assert!(big(product) * BigUint::from(n) >= BigUint::one() << 256usize),
            }
            let smaller = U256::mul(a >> (next() % 128), b);
            match product.checked_add(smaller) {
                Some(p) => assert_eq!(big(p), big(product) + big(smaller)),
                None => assert!(big(product) + big(smaller) >= BigUint::one() << 256usize),
            }
            match product.checked_sub(smaller) {
                Some(d) => assert_eq!(big(d), big(product) - big(smaller)),
                None => assert!(big(product) < big(smaller)),
            }
            let den = (next() >> (next() % 64)).max(1);
            let exp2 = match round % 3 {
                0 => -2300 + (next() % 300) as i64, // subnormal results
                1 => 1500 + (next() % 700) as i64,  // near and past overflow
                _ => -2200 + (next() % 400) as i64, // a variance's usual range
            };
            let num = BigInt::from(big(product));
            assert_eq!(
                round_ratio_wide(product, den, exp2).to_bits(),
                round_ratio(&num, &BigUint::from(den), exp2).to_bits(),
                "{product:?} / {den} · 2^{exp2}"
            );
            if let Some(got) = round_sqrt_ratio_wide(product, den, exp2) {
                let want = round_sqrt_ratio(&num, &BigUint::from(den), exp2);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "sqrt {product:?} / {den} · 2^{exp2}"
                );
                roots += 1;
            }
        }
        assert!(roots > 19_000, "only {roots} square roots in fixed width");
        // halfway cases decided only by bits below the ones kept: a tie
        // without them, above the tie with them
        // (an even mantissa: ties to even would round down)
        let tie = (((1u128 << 52) | 2) << 3) | 1 << 2; // 56 bits, halfway at bit 2
        let num = U256::from(tie).checked_shl(100).expect("fits").0;
        let num = U256([num[0] | 1, num[1], num[2], num[3]]);
        assert_eq!(
            round_ratio_wide(num, 1, 0).to_bits(),
            round_ratio(&BigInt::from(big(num)), &BigUint::one(), 0).to_bits()
        );
        // a 58-bit root, halfway at bit 4 (its double at bit 5): its square
        // of 115 bits is scaled by exactly the 2^40 shifted in here
        let root = (((1u128 << 52) | 2) << 5) | 1 << 4;
        let square = U256::mul(root, root).checked_shl(40).expect("fits").0;
        let num = U256([square[0] | 1, square[1], square[2], square[3]]);
        let want = round_sqrt_ratio(&BigInt::from(big(num)), &BigUint::one(), 0);
        assert_eq!(
            round_sqrt_ratio_wide(num, 1, 0).map(f64::to_bits),
            Some(want.to_bits())
        );
        for q in [
            0u128,
            1,
            2,
            3,
            4,
            99,
            100,
            u64::MAX as u128,
            u128::MAX,
            (1 << 114) + 12345,
        ] {
            let r = isqrt(q);
            assert!(
                r * r <= q && (r + 1).checked_mul(r + 1).is_none_or(|sq| sq > q),
                "{q}"
            );
        }
    }

    /// Sums that fit in 128 bits round and divide through the small path,
    /// others through `BigInt`, with the same answers; both paths are taken.
    #[test]
    fn small_sums_round_as_big_ones() {
        let (mut small, mut big, mut wide) = (0, 0, 0);
        let mut state = 0xabcd_ef01_u64;
        let mut next = || crate::testing::xorshift(&mut state);
        for _ in 0..5000 {
            let mut s = ExactSum::new();
            for _ in 0..(next() % 12) {
                let v = awkward_value(&mut next, false);
                s.add(v);
                if next() % 4 == 0 {
                    s.add(-v); // cancellations leave chunks of both signs
                }
            }
            match s.small() {
                Some(_) => small += 1,
                None => big += 1,
            }
            // a sum of squares (never negative) in 256 bits, as BigInt
            let mut squares = ExactSum::new();
            for _ in 0..(next() % 6) {
                squares.add_square(awkward_value(&mut next, false));
            }
            if let Some((v, shift)) = squares.small_unsigned() {
                let words = v.0.iter().rev();
                let v = words.fold(BigInt::zero(), |acc, &w| (acc << 64usize) + BigInt::from(w));
                assert_eq!(v << shift as usize, squares.to_bigint());
                wide += 1;
            }
            let exact = s.to_bigint();
            for n in [1, 3, 10, u64::MAX] {
                let want = round_ratio(&exact, &BigUint::from(n), -VALUE_SCALE);
                assert_eq!(s.round_over(n).to_bits(), want.to_bits(), "{s:?} / {n}");
            }
        }
        assert!(small > 1000 && big > 100, "small {small}, big {big}");
        assert!(wide > 1000, "squares in 256 bits: {wide}");
    }

    /// `round_div` against a big-rational reference: the quotient `q` it
    /// returns must be the nearest double to `S / n`, checked by comparing
    /// `S / n` exactly with the midpoints between `q` and its neighbours.
    #[test]
    fn division_is_rounded_once() {
        fn check(values: &[f64], n: u64) {
            let mut s = ExactSum::new();
            values.iter().for_each(|&v| s.add(v));
            let got = s.round_div(n);
            if let Some(sp) = s.special() {
                assert_eq!(got.to_bits(), sp.to_bits());
                return;
            }
            let exact = s.to_bigint(); // S · 2^1074; S / n vs midpoints · n
            let n_big = BigInt::from(n);
            if got.is_infinite() {
                // beyond the midpoint between MAX and 2^1024
                let edge = (scaled(f64::MAX) + (BigInt::one() << 2098usize)) * &n_big;
                assert!(exact.abs() * 2 >= edge, "{values:?} / {n}");
                return;
            }
            // 2^1024 stands for the infinity past MAX
            let sc = |x: f64| match x {
                f64::INFINITY => BigInt::one() << 2098usize,
                f64::NEG_INFINITY => -(BigInt::one() << 2098usize),
                _ => scaled(x),
            };
            let (q, up, down) = (sc(got), sc(got.next_up()), sc(got.next_down()));
            // (q + down) / 2 <= S / n <= (q + up) / 2, ties to the even one
            let lo = (&q + &down) * &n_big;
            let hi = (&q + &up) * &n_big;
            let twice = &exact * 2;
            assert!(lo <= twice && twice <= hi, "{values:?} / {n} gave {got}");
            if twice == lo || twice == hi {
                assert_eq!(got.to_bits() & 1, 0, "tie to even: {values:?} / {n}");
            }
        }
        check(&[9007199254740992.0, 1.0, 0.0], 3);
        assert_eq!(
            {
                let mut s = ExactSum::new();
                [9007199254740992.0, 1.0, 0.0]
                    .iter()
                    .for_each(|&v| s.add(v));
                s.round_div(3)
            },
            3002399751580331.0
        );
        let mut s = ExactSum::new();
        s.add(f64::MAX);
        s.add(f64::MAX);
        assert_eq!(s.round_div(2), f64::MAX);
        let mut z = ExactSum::new();
        z.add(-0.0);
        z.add(-0.0);
        assert_eq!(z.round_div(2).to_bits(), (-0.0f64).to_bits());
        let mut t = ExactSum::new();
        t.add(-5e-324);
        assert_eq!(t.round_div(3).to_bits(), (-0.0f64).to_bits());
        let mut state = 0x0dd_ba11u64;
        let mut next = || crate::testing::xorshift(&mut state);
        for _ in 0..3000 {
            let len = (next() % 6) as usize;
            let values: Vec<f64> = (0..len).map(|_| awkward_value(&mut next, true)).collect();
            let n = [1, 2, 3, 7, 10, 1 << 40, u64::MAX][(next() % 7) as usize];
            check(&values, n);
        }
    }

    /// `round_sqrt_ratio` of an exact double is IEEE's correctly rounded
    /// `sqrt`, subnormals included; and of rationals it brackets correctly.
    #[test]
    fn square_roots_are_rounded_once() {
        let mut state = 0x5_9a7e_u64;
        let mut next = || crate::testing::xorshift(&mut state);
        for _ in 0..5000 {
            let x = awkward_value(&mut next, false).abs();
            let got = round_sqrt_ratio(&scaled(x), &BigUint::one(), -VALUE_SCALE);
            assert_eq!(got.to_bits(), x.sqrt().to_bits(), "sqrt({x:e})");
            // sqrt(x / d) against the midpoints, squared, exactly
            let d = (next() % 1000) + 1;
            let got = round_sqrt_ratio(&scaled(x), &BigUint::from(d), -VALUE_SCALE);
            if x == 0.0 {
                assert_eq!(got, 0.0);
                continue;
            }
            let (q, up, down) = (scaled(got), scaled(got.next_up()), scaled(got.next_down()));
            // ((q + down) / 2)^2 <= x / d <= ((q + up) / 2)^2, all at scale 2^2148
            let target = scaled(x) * 4 * (BigInt::one() << 1074usize);
            let lo = (&q + &down).pow(2) * BigInt::from(d);
            let hi = (&q + &up).pow(2) * BigInt::from(d);
            assert!(
                lo <= target && target <= hi,
                "sqrt({x:e} / {d}) gave {got:e}"
            );
        }
        assert_eq!(
            round_sqrt_ratio(&BigInt::from(2), &BigUint::one(), 0),
            std::f64::consts::SQRT_2
        );
        assert_eq!(
            round_sqrt_ratio(&BigInt::from(9), &BigUint::from(4u32), 2),
            3.0
        );
    }
}
