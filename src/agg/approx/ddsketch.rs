//! DDSketch: counts of values in buckets of bounded relative width.
//!
//! (C. Masson, J. Rim, H. K. Lee, *DDSketch: a fast and fully-mergeable
//! quantile sketch with relative-error guarantees*, VLDB 2019.) A positive
//! value `x` falls in bucket `i` when `lower(i) <= x < lower(i + 1)`, with
//! `lower(i + 1) / lower(i) <= gamma = (1 + a) / (1 - a)`; every value of
//! the bucket is then within relative error `a` of the bucket's harmonic
//! mean `2 lower(i) lower(i+1) / (lower(i) + lower(i+1))`, which stands for
//! them. Negative values count in a second set of buckets by magnitude;
//! zeros, infinities and NaN are counted exactly.
//!
//! **The index** is not `ceil(log_gamma(x))`, whose `ln` comes from the
//! platform's libm, but DDSketch's cubically interpolated mapping: with
//! `x = 2^e (1 + s)`, `0 <= s < 1` read from the bits of `x`,
//! `L(x) = e + A s^3 + B s^2 + C s` (`A = 6/35`, `B = -3/5`, `C = 10/7`) is
//! a continuous, increasing stand-in for `log2 x`, and the index is
//! `floor(35 L(x))`. `d ln(x) / dL = 1 / ((1 + s)(3 A s^2 + 2 B s + C))` is
//! at most `1 / C = 0.7` on `[0, 1)`, so a bucket (`1/35` of `L`) spans at
//! most `0.7 / 35 = 0.02` of `ln x`: `gamma <= e^0.02`, a relative accuracy
//! `a = tanh(0.01) = 0.99997%`, better than 1%. That costs 35 buckets per
//! octave (the exact logarithm needs 34.66 for 1%), and the index is a few
//! multiplications of exactly rounded IEEE arithmetic: the same bucket for
//! the same value on every machine, and several times faster than `ln`.
//! Bounds of a bucket are found by bisection on the same polynomial, so a
//! value rounded into a neighbouring bucket is off by ~1e-16, not 1%.
//!
//! **Bounded memory.** Each sign keeps at most [`MAX_BUCKETS`] contiguous
//! buckets (2048 / 35 = 58.5 octaves, a factor 4e17 of magnitudes). When a
//! value lands more than that below the greatest magnitude seen (of its
//! sign), it is counted in the lowest bucket kept, which the greatest index
//! fixes: `max(i, top - 2047)`. Buckets are only ever moved up to that floor,
//! and the floor only rises, so the counts end up as
//! `max(i, global_top - 2047)` for every value whatever the order of adds,
//! collapses and merges: the sketch is a function of the multiset of
//! values. Quantiles whose value lies that far below the top magnitude lose
//! the 1% bound (they read as the floor bucket's value).

/// Buckets per unit of `L` (per octave).
const PER_OCTAVE: i32 = 35;
const A: f64 = 6.0 / 35.0;
const B: f64 = -3.0 / 5.0;
const C: f64 = 10.0 / 7.0;
/// The relative accuracy: `tanh(0.7 / 35 / 2)`.
pub const RELATIVE_ACCURACY: f64 = 0.009_999_666_679_999_46;
/// Buckets kept per sign.
pub const MAX_BUCKETS: usize = 2048;

const SIGN: u64 = 1 << 63;
const FRACTION: u64 = (1 << 52) - 1;
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
const MIN_NORMAL_BITS: u64 = 1 << 52;
const INF_BITS: u64 = 0x7ff0_0000_0000_0000;

/// The cubic stand-in for `log2(1 + s)` on `[0, 1]`.
#[inline(always)]
fn poly(s: f64) -> f64 {
    ((A * s + B) * s + C) * s
}

/// The bucket of a positive normal finite value, given its bits.
#[inline(always)]
fn index_normal(bits: u64) -> i32 {
    let e = (bits >> 52) as i32 - 1023;
    let s = f64::from_bits((bits & FRACTION) | ONE_BITS) - 1.0;
    e * PER_OCTAVE + (poly(s) * PER_OCTAVE as f64) as i32
}

/// The bucket of any positive finite value (subnormals too).
pub fn index_of(x: f64) -> i32 {
    debug_assert!(x > 0.0 && x.is_finite());
    let bits = x.to_bits();
    if bits >= MIN_NORMAL_BITS {
        return index_normal(bits);
    }
    // scaling by 2^64 is exact and makes it normal
    let scaled = x * f64::from_bits((1023 + 64) << 52);
    index_normal(scaled.to_bits()) - 64 * PER_OCTAVE
}

/// `2^e`, for `-1074 <= e`; infinity above 1023.
fn pow2(e: i32) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1 << (e + 1074).max(0))
    }
}

/// The least value of bucket `i`: `L^-1(i / 35)`, the cubic inverted by
/// bisection.
pub fn lower_bound(i: i32) -> f64 {
    let e = i.div_euclid(PER_OCTAVE);
    let t = f64::from(i.rem_euclid(PER_OCTAVE)) / f64::from(PER_OCTAVE);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if poly(mid) < t {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (1.0 + hi) * pow2(e)
}

/// The value that stands for bucket `i`: the harmonic mean of its bounds,
/// within [`RELATIVE_ACCURACY`] of each value in it.
pub fn representative(i: i32) -> f64 {
    let lo = lower_bound(i);
    let hi = lower_bound(i + 1).min(f64::MAX);
    // 2 lo hi / (lo + hi), without overflow or underflow
    lo * (2.0 / (1.0 + lo / hi))
}

/// Bucket counts of one sign: `counts[j]` is bucket `base + j`. At most
/// [`MAX_BUCKETS`] long, grown on demand (empty until the first value);
/// also the least and greatest magnitudes added, as bits.
#[derive(Clone, Debug)]
pub struct Store {
    base: i32,
    counts: Vec<u64>,
    min_bits: u64,
    max_bits: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            base: 0,
            counts: Vec::new(),
            min_bits: u64::MAX,
            max_bits: 0,
        }
    }
}

impl Store {
    /// Counts a value of magnitude `bits` in bucket `i`.
    #[inline(always)]
    fn add(&mut self, i: i32, bits: u64) {
        self.min_bits = self.min_bits.min(bits);
        self.max_bits = self.max_bits.max(bits);
        // Any bucket inside the array is at or above the floor: the array
        // holds the top bucket and is at most MAX_BUCKETS long.
        let j = i.wrapping_sub(self.base) as u32 as usize;
        match self.counts.get_mut(j) {
            Some(c) => *c += 1,
            None => self.add_outside(i, 1),
        }
    }

    /// Counts `n` values in bucket `i`, outside the array.
    #[cold]
    fn add_outside(&mut self, i: i32, n: u64) {
        let (lo, hi) = self.nonzero_range().unwrap_or((i, i));
        let floor = self.cover(lo.min(i), hi.max(i));
        let i = i.max(floor);
        self.counts[(i - self.base) as usize] += n;
    }

    /// The least and greatest buckets with a count.
    fn nonzero_range(&self) -> Option<(i32, i32)> {
        let first = self.counts.iter().position(|&c| c != 0)?;
        let last = self.counts.iter().rposition(|&c| c != 0)?;
        Some((self.base + first as i32, self.base + last as i32))
    }

    /// Makes the array cover buckets `lo..=hi` (`hi` the greatest bucket
    /// that will have a count), moving counts below the floor
    /// `hi - MAX_BUCKETS + 1` up to it; returns the floor.
    fn cover(&mut self, lo: i32, hi: i32) -> i32 {
        let floor = hi - (MAX_BUCKETS as i32 - 1);
        let lo = lo.max(floor);
        let end = self.base + self.counts.len() as i32; // exclusive
        if !self.counts.is_empty() && lo >= self.base && hi < end {
            return floor;
        }
        // room to grow on both sides, within MAX_BUCKETS
        let pad = ((hi - lo + 1) / 8).max(16);
        let new_lo = (lo - pad).max(floor);
        let new_hi = (hi + pad).min(new_lo + MAX_BUCKETS as i32 - 1);
        let mut counts = vec![0u64; (new_hi - new_lo + 1) as usize];
        for (j, &c) in self.counts.iter().enumerate() {
            if c != 0 {
                let i = (self.base + j as i32).max(floor);
                counts[(i - new_lo) as usize] += c;
            }
        }
        self.base = new_lo;
        self.counts = counts;
        floor
    }

    /// Adds `other`'s counts.
    fn merge(&mut self, other: &Store) {
        let Some((olo, ohi)) = other.nonzero_range() else {
            return;
        };
        let (lo, hi) = match self.nonzero_range() {
            Some((slo, shi)) => (slo.min(olo), shi.max(ohi)),
            None => (olo, ohi),
        };
        let floor = self.cover(lo, hi);
        for (j, &c) in other.counts.iter().enumerate() {
            if c != 0 {
                let i = (other.base + j as i32).max(floor);
                self.counts[(i - self.base) as usize] += c;
            }
        }
        self.min_bits = self.min_bits.min(other.min_bits);
        self.max_bits = self.max_bits.max(other.max_bits);
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The value standing for the `k`-th smallest magnitude (0-based, `k`
    /// less than the total): the least and greatest are exact, the others
    /// their bucket's representative, kept within those two.
    fn magnitude_at(&self, k: u64, total: u64) -> f64 {
        let (min, max) = (f64::from_bits(self.min_bits), f64::from_bits(self.max_bits));
        if k == 0 {
            return min;
        }
        if k + 1 == total {
            return max;
        }
        let mut seen = 0;
        for (j, &c) in self.counts.iter().enumerate() {
            seen += c;
            if k < seen {
                return representative(self.base + j as i32).clamp(min, max);
            }
        }
        unreachable!("rank {k} beyond the store's {total} values")
    }

    /// Whether the `k`-th smallest magnitude (as in
    /// [`magnitude_at`](Self::magnitude_at)) is read from the lowest
    /// bucket while it holds values moved up from below the floor: then it
    /// stands for values it is not within 1% of. The least and greatest are
    /// exact.
    fn collapsed_at(&self, k: u64, total: u64) -> bool {
        if k == 0 || k + 1 == total || !self.has_collapsed() {
            return false;
        }
        let lowest = self.counts.iter().position(|&c| c != 0);
        lowest.is_some_and(|j| k < self.counts[j])
    }

    /// Whether the lowest bucket holds values moved up from below the
    /// floor: the least magnitude's own bucket is below it.
    fn has_collapsed(&self) -> bool {
        self.nonzero_range()
            .is_some_and(|(lowest, _)| index_of(f64::from_bits(self.min_bits)) < lowest)
    }

    /// `(bucket, count)` of every bucket with a count, ascending, and the
    /// magnitude extremes: the content, whatever the array's layout.
    #[cfg(test)]
    fn canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.min_bits.to_le_bytes());
        out.extend_from_slice(&self.max_bits.to_le_bytes());
        for (j, &c) in self.counts.iter().enumerate() {
            if c != 0 {
                out.extend_from_slice(&(self.base + j as i32).to_le_bytes());
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.push(b'|');
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.counts.len()
    }
}

impl Store {
    /// The byte form: the number `n` of buckets from the least to the
    /// greatest with a count (0: empty); then the least's index (zigzag),
    /// the `n` counts, and the least and greatest magnitudes' bits.
    fn encode(&self, out: &mut Vec<u8>) {
        use crate::wire::{put_u64, put_varint, put_zigzag};
        let Some((lo, hi)) = self.nonzero_range() else {
            put_varint(out, 0);
            return;
        };
        put_varint(out, (hi - lo + 1) as u64);
        put_zigzag(out, lo as i64);
        let counts = &self.counts[(lo - self.base) as usize..=(hi - self.base) as usize];
        counts.iter().for_each(|&c| put_varint(out, c));
        put_u64(out, self.min_bits);
        put_u64(out, self.max_bits);
    }

    /// Reads what [`encode`](Self::encode) wrote, checking what the rank
    /// lookups and the collapse rely on: at most [`MAX_BUCKETS`] buckets,
    /// the ends counted, indices of finite magnitudes, a total of at most
    /// 2^56, and extremes that are positive finite values lying in the
    /// greatest bucket and (or below the floor of) the least one.
    fn decode(r: &mut crate::wire::Reader<'_>) -> Result<Store, crate::wire::WireError> {
        const AGG: &str = "approx quantile";
        let at = r.pos();
        let n = r.len(1)?;
        if n == 0 {
            return Ok(Store::default());
        }
        let bad = |r: &crate::wire::Reader<'_>, why: &str| Err(r.bad_state(AGG, at, why));
        if n > MAX_BUCKETS {
            return bad(r, "too many buckets");
        }
        let lo = r.get_zigzag()?;
        let (least, greatest) = (
            index_of(f64::from_bits(1)) as i64,
            index_of(f64::MAX) as i64,
        );
        // `lo` bounded first: near i64::MAX, `lo + n` wrapped past the test
        if lo < least || lo > greatest || lo + n as i64 - 1 > greatest {
            return bad(r, "bucket index out of range");
        }
        let (lo, hi) = (lo as i32, (lo + n as i64 - 1) as i32);
        let mut counts = Vec::with_capacity(n);
        let mut total = 0u64;
        for _ in 0..n {
            let c = r.get_varint()?;
            total = total.saturating_add(c);
            counts.push(c);
        }
        if total > crate::agg::MAX_WIRE_COUNT {
            return bad(r, "count beyond 2^56");
        }
        if counts[0] == 0 || counts[n - 1] == 0 {
            return bad(r, "an end bucket without a count");
        }
        let (min_bits, max_bits) = (r.get_u64()?, r.get_u64()?);
        let magnitude = 1..INF_BITS;
        if !magnitude.contains(&min_bits) || !magnitude.contains(&max_bits) || min_bits > max_bits {
            return bad(r, "bad extremes");
        }
        let floor = hi - (MAX_BUCKETS as i32 - 1);
        if index_of(f64::from_bits(max_bits)) != hi
            || index_of(f64::from_bits(min_bits)).max(floor) != lo
        {
            return bad(r, "extremes outside their buckets");
        }
        Ok(Store {
            base: lo,
            counts,
            min_bits,
            max_bits,
        })
    }
}

/// A DDSketch over all of `f64`.
#[derive(Clone, Debug, Default)]
pub struct Sketch {
    pos: Store,
    neg: Store,
    /// `-0.0`, `+0.0`.
    zeros: [u64; 2],
    /// `-NaN`, `-inf`, `+inf`, `+NaN`: the order of `f64::total_cmp`.
    specials: [u64; 4],
}

/// A place in the sketch's value order, for [`Sketch::value_at`].
enum Part {
    Fixed(f64),
    Neg,
    Pos,
}

impl Sketch {
    /// Counts a value.
    #[inline(always)]
    pub fn add(&mut self, v: f64) {
        let bits = v.to_bits();
        let abs = bits & !SIGN;
        if abs.wrapping_sub(MIN_NORMAL_BITS) < INF_BITS - MIN_NORMAL_BITS {
            // normal, finite, not zero: the common case
            let i = index_normal(abs);
            if bits == abs {
                self.pos.add(i, abs);
            } else {
                self.neg.add(i, abs);
            }
        } else {
            self.add_rare(v);
        }
    }

    #[cold]
    fn add_rare(&mut self, v: f64) {
        let negative = v.is_sign_negative();
        if v == 0.0 {
            self.zeros[!negative as usize] += 1;
        } else if v.is_nan() {
            self.specials[if negative { 0 } else { 3 }] += 1;
        } else if v.is_infinite() {
            self.specials[if negative { 1 } else { 2 }] += 1;
        } else {
            let abs = v.abs();
            let store = if negative {
                &mut self.neg
            } else {
                &mut self.pos
            };
            store.add(index_of(abs), abs.to_bits());
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.pos.merge(&other.pos);
        self.neg.merge(&other.neg);
        for (a, b) in self.zeros.iter_mut().zip(other.zeros) {
            *a += b;
        }
        for (a, b) in self.specials.iter_mut().zip(other.specials) {
            *a += b;
        }
    }

    /// The byte form: the positive and the negative store, then the
    /// counts of `-0.0`, `+0.0`, `-NaN`, `-inf`, `+inf`, `+NaN` (varints).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.pos.encode(out);
        self.neg.encode(out);
        for &c in self.zeros.iter().chain(&self.specials) {
            crate::wire::put_varint(out, c);
        }
    }

    /// Reads what [`encode`](Self::encode) wrote; the whole count is at
    /// most 2^56.
    pub fn decode(r: &mut crate::wire::Reader<'_>) -> Result<Sketch, crate::wire::WireError> {
        let at = r.pos();
        let mut s = Sketch {
            pos: Store::decode(r)?,
            neg: Store::decode(r)?,
            ..Sketch::default()
        };
        let mut total = s.pos.total() + s.neg.total();
        for c in s.zeros.iter_mut().chain(&mut s.specials) {
            *c = crate::agg::get_count(r, "approx quantile")?;
            total += *c;
        }
        if total > crate::agg::MAX_WIRE_COUNT {
            return Err(r.bad_state("approx quantile", at, "count beyond 2^56"));
        }
        Ok(s)
    }

    /// The number of values counted.
    pub fn count(&self) -> u64 {
        self.pos.total()
            + self.neg.total()
            + self.zeros.iter().sum::<u64>()
            + self.specials.iter().sum::<u64>()
    }

    /// The value standing for the `k`-th smallest value (0-based) in
    /// `f64::total_cmp` order, `k < self.count()`.
    pub fn value_at(&self, k: u64) -> f64 {
        let (neg, pos) = (self.neg.total(), self.pos.total());
        let parts = [
            (self.specials[0], Part::Fixed(-f64::NAN)),
            (self.specials[1], Part::Fixed(f64::NEG_INFINITY)),
            (neg, Part::Neg),
            (self.zeros[0], Part::Fixed(-0.0)),
            (self.zeros[1], Part::Fixed(0.0)),
            (pos, Part::Pos),
            (self.specials[2], Part::Fixed(f64::INFINITY)),
            (self.specials[3], Part::Fixed(f64::NAN)),
        ];
        let mut k = k;
        for (n, part) in parts {
            if k < n {
                return match part {
                    Part::Fixed(v) => v,
                    // negatives ascend as their magnitudes descend
                    Part::Neg => -self.neg.magnitude_at(n - 1 - k, n),
                    Part::Pos => self.pos.magnitude_at(k, n),
                };
            }
            k -= n;
        }
        unreachable!("rank beyond the sketch's values")
    }

    /// Whether [`value_at`](Self::value_at)`(k)` may be off by more than
    /// the sketch's relative accuracy: it lies among magnitudes moved into
    /// a store's lowest bucket ([`MAX_BUCKETS`]).
    pub fn collapsed_at(&self, k: u64) -> bool {
        let (neg, pos) = (self.neg.total(), self.pos.total());
        let before_neg = self.specials[0] + self.specials[1];
        let before_pos = before_neg + neg + self.zeros[0] + self.zeros[1];
        if (before_neg..before_neg + neg).contains(&k) {
            self.neg.collapsed_at(neg - 1 - (k - before_neg), neg)
        } else if (before_pos..before_pos + pos).contains(&k) {
            self.pos.collapsed_at(k - before_pos, pos)
        } else {
            false
        }
    }

    /// Whether either store holds magnitudes moved into its lowest bucket.
    pub fn has_collapsed(&self) -> bool {
        self.pos.has_collapsed() || self.neg.has_collapsed()
    }

    /// Bytes of the sketch's content, whatever its layout in memory.
    #[cfg(test)]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pos.canonical(&mut out);
        self.neg.canonical(&mut out);
        for c in self.zeros.iter().chain(&self.specials) {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    #[cfg(test)]
    pub fn stores_len(&self) -> (usize, usize) {
        (self.neg.len(), self.pos.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_window_past_the_index_range_is_refused() {
        for lo in [i64::MAX, i64::MAX - 1, index_of(f64::MAX) as i64] {
            let mut bytes = Vec::new();
            crate::wire::put_varint(&mut bytes, 2);
            crate::wire::put_zigzag(&mut bytes, lo);
            bytes.extend([1, 1]);
            bytes.extend(1f64.to_bits().to_le_bytes());
            bytes.extend(2f64.to_bits().to_le_bytes());
            let err = Store::decode(&mut crate::wire::Reader::new(&bytes)).unwrap_err();
            assert!(
                err.0.contains("bucket index out of range"),
                "{lo}: {}",
                err.0
            );
        }
    }

    #[test]
    fn buckets_are_narrow_and_contiguous() {
        let accuracy = ((0.7f64 / 35.0).exp() - 1.0) / ((0.7f64 / 35.0).exp() + 1.0);
        assert!((accuracy - RELATIVE_ACCURACY).abs() < 1e-15);
        // bucket bounds: increasing, each ratio at most gamma, and a
        // value's index puts it between its bucket's bounds
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        for i in -37_590..35_839 {
            let (lo, hi) = (lower_bound(i), lower_bound(i + 1));
            if lo >= f64::MIN_POSITIVE {
                assert!(lo < hi, "bucket {i}");
                assert!(hi / lo <= gamma * (1.0 + 1e-15), "bucket {i}: {}", hi / lo);
                let r = representative(i);
                assert!(
                    (r - lo) / lo <= RELATIVE_ACCURACY * (1.0 + 1e-12)
                        && (hi - r) / hi <= RELATIVE_ACCURACY * (1.0 + 1e-12)
                );
                let mid = lo + (hi - lo) * 0.5;
                assert_eq!(index_of(mid), i, "middle of bucket {i}");
            }
        }
        assert_eq!(index_of(1.0), 0);
        assert_eq!(index_of(2.0), 35);
        assert_eq!(index_of(0.5), -35);
        assert!(index_of(f64::MAX) < 1024 * 35);
        assert!(index_of(f64::from_bits(1)) >= -1074 * 35);
        // every value is within the accuracy of its bucket's representative
        let mut seed = 0x1234_5678u64;
        for _ in 0..200_000 {
            let bits = crate::testing::xorshift(&mut seed) & !SIGN;
            let x = f64::from_bits(bits);
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            let r = representative(index_of(x));
            let err = (r - x).abs() / x;
            assert!(
                err <= RELATIVE_ACCURACY + 1e-12 || x < 1e-300,
                "{x}: {r}, {err}"
            );
        }
    }

    #[test]
    fn collapsing_keeps_the_top_buckets_whatever_the_order() {
        // magnitudes from 1e-300 to 1e300: far more than MAX_BUCKETS
        let values: Vec<f64> = (0..4000)
            .map(|i| 10f64.powf(-300.0 + i as f64 * 0.15))
            .collect();
        let mut up = Sketch::default();
        values.iter().for_each(|&v| up.add(v));
        let mut down = Sketch::default();
        values.iter().rev().for_each(|&v| down.add(v));
        let mut halves = Sketch::default();
        values[..2000].iter().for_each(|&v| halves.add(v));
        let mut top = Sketch::default();
        values[2000..].iter().for_each(|&v| top.add(v));
        halves.merge(&top);
        assert_eq!(up.canonical_bytes(), down.canonical_bytes());
        assert_eq!(up.canonical_bytes(), halves.canonical_bytes());
        assert!(up.stores_len().1 <= MAX_BUCKETS);
        // the top 58 octaves keep their accuracy
        let n = values.len() as u64;
        // (0.15 decades a value: the top 17.6 decades are the last 117)
        for k in [n - 1, n - 2, n - 50, n - 110] {
            let want = values[k as usize];
            let got = up.value_at(k);
            assert!(
                (got - want).abs() <= RELATIVE_ACCURACY * want,
                "rank {k}: {got} vs {want}"
            );
        }
        // the least is exact, and lower ranks are no lower than it
        assert_eq!(up.value_at(0), values[0]);
        assert!(up.value_at(1) >= values[0]);
    }
}
