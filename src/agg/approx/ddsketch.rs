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

/// Bucket counts of one sign, and the least and greatest magnitudes added,
/// as bits. What a store holds is a count per bucket, a value of bucket
/// `i` counted in `max(i, floor)` (`floor` the greatest bucket with a
/// count, less `MAX_BUCKETS - 1`); how the counts lie in memory
/// ([`Layout`]) follows how many values there are, and never changes an
/// answer or the byte form.
#[derive(Clone, Debug)]
pub struct Store {
    layout: Layout,
    min_bits: u64,
    max_bits: u64,
}

/// How a store's counts are held.
///
/// Why two forms: an array of one count per bucket, from the least bucket
/// with a count to the greatest, makes an add one index, but its length
/// is the span of the magnitudes, not the number of values. A state spills
/// into the sketch at 65 values, and 65 values spread over 58 octaves took
/// the whole 16 KiB of a sign: `approx_median` by a key with many small
/// groups of widely spread values took ten times the input's memory
/// (20,000 groups of 100 values, 35 MB of CSV: 349 MB), far more than the
/// exact `median`'s 8 bytes a value. So a store keeps its buckets with a
/// count as a sorted list until it holds as many values as the array would
/// have buckets, and goes back to the list when a value far away would
/// grow the array past its values: a state then takes at most 8 bytes a
/// value or the array's `MAX_BUCKETS` counts, whichever is less (and what
/// the allocator rounds up).
#[derive(Clone, Debug)]
enum Layout {
    /// Each bucket with a count as `(bucket + 2^31) << 32 | count`,
    /// ascending; `total` is the sum of the counts. The store is sparse
    /// only while `total` is less than the array's span (at most
    /// `MAX_BUCKETS`), so a count fits its 32 bits with room to spare.
    Sparse { entries: Vec<u64>, total: u64 },
    /// `counts[j]` is bucket `base + j`; at most [`MAX_BUCKETS`] long.
    Dense { base: i32, counts: Vec<u64> },
}

/// A sparse entry: `bucket` biased into the high half, `count` below.
fn entry(bucket: i32, count: u64) -> u64 {
    debug_assert!(count < 1 << 32);
    (u64::from(bucket as u32 ^ (1 << 31)) << 32) | count
}

/// The bucket of a sparse entry.
fn entry_bucket(e: u64) -> i32 {
    ((e >> 32) as u32 ^ (1 << 31)) as i32
}

/// The count of a sparse entry.
fn entry_count(e: u64) -> u64 {
    e & 0xFFFF_FFFF
}

/// The buckets with a count, ascending, of either layout.
enum Buckets<'a> {
    Sparse(std::slice::Iter<'a, u64>),
    Dense(i32, std::iter::Enumerate<std::slice::Iter<'a, u64>>),
}

impl Iterator for Buckets<'_> {
    type Item = (i32, u64);

    fn next(&mut self) -> Option<(i32, u64)> {
        match self {
            Buckets::Sparse(it) => it.next().map(|&e| (entry_bucket(e), entry_count(e))),
            Buckets::Dense(base, it) => it
                .find(|(_, &c)| c != 0)
                .map(|(j, &c)| (*base + j as i32, c)),
        }
    }
}

impl Layout {
    /// The layout of `buckets` (ascending, each with a count, any span):
    /// those below the floor moved up to it, then dense when there are at
    /// least as many values as buckets from the least to the greatest.
    fn of(mut buckets: Vec<(i32, u64)>) -> Layout {
        let Some(&(hi, _)) = buckets.last() else {
            return Layout::Sparse {
                entries: Vec::new(),
                total: 0,
            };
        };
        let floor = hi - (MAX_BUCKETS as i32 - 1);
        let below = buckets.partition_point(|&(i, _)| i < floor);
        if below > 0 {
            let moved: u64 = buckets[..below].iter().map(|&(_, c)| c).sum();
            match buckets.get_mut(below) {
                Some((i, c)) if *i == floor => *c += moved,
                _ => buckets.insert(below, (floor, moved)),
            }
            buckets.drain(..below);
        }
        let lo = buckets[0].0;
        let total: u64 = buckets.iter().map(|&(_, c)| c).sum();
        if total >= (hi - lo + 1) as u64 {
            let mut counts = vec![0u64; (hi - lo + 1) as usize];
            for (i, c) in buckets {
                counts[(i - lo) as usize] = c;
            }
            Layout::Dense { base: lo, counts }
        } else {
            let entries = buckets.into_iter().map(|(i, c)| entry(i, c)).collect();
            Layout::Sparse { entries, total }
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store {
            layout: Layout::Sparse {
                entries: Vec::new(),
                total: 0,
            },
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
        if let Layout::Dense { base, counts } = &mut self.layout {
            let j = i.wrapping_sub(*base) as u32 as usize;
            if let Some(c) = counts.get_mut(j) {
                *c += 1;
                return;
            }
        }
        self.add_outside(i);
    }

    /// Counts a value in bucket `i`, which is not in a dense array.
    #[inline(never)]
    fn add_outside(&mut self, i: i32) {
        match &mut self.layout {
            Layout::Sparse { entries, total } => {
                let top = entries.last().map_or(i, |&e| entry_bucket(e).max(i));
                let floor = top - (MAX_BUCKETS as i32 - 1);
                if entries.first().is_some_and(|&e| entry_bucket(e) < floor) {
                    // rare: a new top moved the floor past the least buckets
                    let buckets = entries.iter().map(|&e| (entry_bucket(e), entry_count(e)));
                    let buckets = buckets.chain([(i, 1)]).collect();
                    self.layout = Layout::of(sorted(buckets));
                    return;
                }
                let i = i.max(floor);
                match entries.binary_search_by_key(&i, |&e| entry_bucket(e)) {
                    Ok(k) => entries[k] += 1,
                    Err(k) => entries.insert(k, entry(i, 1)),
                }
                *total += 1;
                let lo = entry_bucket(entries[0]);
                if *total >= (top - lo + 1) as u64 {
                    self.layout = Layout::of(self.buckets().collect());
                }
            }
            Layout::Dense { .. } => {
                let (lo, hi) = self.nonzero_range().unwrap_or((i, i));
                let (lo, hi) = (lo.min(i), hi.max(i));
                let span = hi - lo.max(hi - (MAX_BUCKETS as i32 - 1)) + 1;
                if self.total() + 1 < span as u64 {
                    // a value far from the others: fewer values than the
                    // array would need buckets
                    let buckets = self.buckets().chain([(i, 1)]).collect();
                    self.layout = Layout::of(sorted(buckets));
                    return;
                }
                let floor = self.cover(lo, hi);
                let i = i.max(floor);
                if let Layout::Dense { base, counts } = &mut self.layout {
                    counts[(i - *base) as usize] += 1;
                }
            }
        }
    }

    /// The buckets with a count, ascending.
    fn buckets(&self) -> Buckets<'_> {
        match &self.layout {
            Layout::Sparse { entries, .. } => Buckets::Sparse(entries.iter()),
            Layout::Dense { base, counts } => Buckets::Dense(*base, counts.iter().enumerate()),
        }
    }

    /// The least and greatest buckets with a count.
    fn nonzero_range(&self) -> Option<(i32, i32)> {
        match &self.layout {
            Layout::Sparse { entries, .. } => Some((
                entry_bucket(*entries.first()?),
                entry_bucket(*entries.last()?),
            )),
            Layout::Dense { base, counts } => {
                let first = counts.iter().position(|&c| c != 0)?;
                let last = counts.iter().rposition(|&c| c != 0)?;
                Some((base + first as i32, base + last as i32))
            }
        }
    }

    /// Makes the dense array cover buckets `lo..=hi` (`hi` the greatest
    /// bucket that will have a count), moving counts below the floor
    /// `hi - MAX_BUCKETS + 1` up to it; returns the floor.
    fn cover(&mut self, lo: i32, hi: i32) -> i32 {
        let floor = hi - (MAX_BUCKETS as i32 - 1);
        let Layout::Dense { base, counts } = &mut self.layout else {
            unreachable!("cover of a sparse store")
        };
        let lo = lo.max(floor);
        let end = *base + counts.len() as i32; // exclusive
        if !counts.is_empty() && lo >= *base && hi < end {
            return floor;
        }
        // room to grow on both sides, within MAX_BUCKETS
        let pad = ((hi - lo + 1) / 8).max(16);
        let new_lo = (lo - pad).max(floor);
        let new_hi = (hi + pad).min(new_lo + MAX_BUCKETS as i32 - 1);
        let mut grown = vec![0u64; (new_hi - new_lo + 1) as usize];
        for (j, &c) in counts.iter().enumerate() {
            if c != 0 {
                let i = (*base + j as i32).max(floor);
                grown[(i - new_lo) as usize] += c;
            }
        }
        *base = new_lo;
        *counts = grown;
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
        let span = hi - lo.max(hi - (MAX_BUCKETS as i32 - 1)) + 1;
        let dense = |s: &Store| matches!(s.layout, Layout::Dense { .. });
        if dense(self) && dense(other) && self.total() + other.total() >= span as u64 {
            let floor = self.cover(lo, hi);
            if let Layout::Dense { base, counts } = &mut self.layout {
                for (i, c) in other.buckets() {
                    counts[(i.max(floor) - *base) as usize] += c;
                }
            }
        } else {
            self.layout = Layout::of(merged(self.buckets(), other.buckets()));
        }
        self.min_bits = self.min_bits.min(other.min_bits);
        self.max_bits = self.max_bits.max(other.max_bits);
    }

    fn total(&self) -> u64 {
        match &self.layout {
            Layout::Sparse { total, .. } => *total,
            Layout::Dense { counts, .. } => counts.iter().sum(),
        }
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
        for (i, c) in self.buckets() {
            seen += c;
            if k < seen {
                return representative(i).clamp(min, max);
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
        self.buckets().next().is_some_and(|(_, c)| k < c)
    }

    /// Whether the lowest bucket holds values moved up from below the
    /// floor: the least magnitude's own bucket is below it.
    fn has_collapsed(&self) -> bool {
        self.nonzero_range()
            .is_some_and(|(lowest, _)| index_of(f64::from_bits(self.min_bits)) < lowest)
    }

    /// `(bucket, count)` of every bucket with a count, ascending, and the
    /// magnitude extremes: the content, whatever the layout.
    #[cfg(test)]
    fn canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.min_bits.to_le_bytes());
        out.extend_from_slice(&self.max_bits.to_le_bytes());
        for (i, c) in self.buckets() {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.push(b'|');
    }

    /// Counts held in memory: the array's length, or the list's.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        match &self.layout {
            Layout::Sparse { entries, .. } => entries.len(),
            Layout::Dense { counts, .. } => counts.len(),
        }
    }

    /// Whether the counts are an array.
    #[cfg(test)]
    fn is_dense(&self) -> bool {
        matches!(self.layout, Layout::Dense { .. })
    }
}

/// `buckets` sorted by bucket, a bucket's counts summed.
fn sorted(mut buckets: Vec<(i32, u64)>) -> Vec<(i32, u64)> {
    buckets.sort_unstable_by_key(|&(i, _)| i);
    buckets.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 += b.1;
        }
        same
    });
    buckets
}

/// Two ascending bucket lists as one, a bucket in both summed.
fn merged(a: Buckets<'_>, b: Buckets<'_>) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let (mut a, mut b) = (a.peekable(), b.peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(&(i, c)), Some(&(j, d))) if i == j => {
                a.next();
                b.next();
                (i, c + d)
            }
            (Some(&(i, _)), Some(&(j, _))) if i < j => a.next().expect("peeked"),
            (_, Some(_)) => b.next().expect("peeked"),
            (Some(_), None) => a.next().expect("peeked"),
            (None, None) => return out,
        };
        out.push(next);
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
        let mut next = lo;
        for (i, c) in self.buckets() {
            (next..i).for_each(|_| put_varint(out, 0));
            put_varint(out, c);
            next = i + 1;
        }
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
        let buckets = (counts.iter().enumerate())
            .filter(|&(_, &c)| c != 0)
            .map(|(j, &c)| (lo + j as i32, c));
        Ok(Store {
            layout: Layout::of(buckets.collect()),
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

    /// What a store holds, by definition: each value's bucket moved up to
    /// the floor below the greatest bucket, counted.
    fn model(magnitudes: &[f64]) -> Vec<(i32, u64)> {
        let top = magnitudes.iter().map(|&m| index_of(m)).max().unwrap_or(0);
        let floor = top - (MAX_BUCKETS as i32 - 1);
        let mut counts = std::collections::BTreeMap::new();
        for &m in magnitudes {
            *counts.entry(index_of(m).max(floor)).or_insert(0u64) += 1;
        }
        counts.into_iter().collect()
    }

    /// Magnitudes of `n` values: clustered (a few buckets, many values
    /// each), spread over a few octaves, or over the whole range.
    fn magnitudes(seed: &mut u64, n: usize) -> Vec<f64> {
        let shape = crate::testing::xorshift(seed) % 3;
        (0..n)
            .map(|_| {
                let r = crate::testing::xorshift(seed);
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                match shape {
                    0 => 1.0 + (r % 4) as f64 * 0.5,
                    1 => 2f64.powf(u * 12.0),
                    _ => 10f64.powf(-300.0 + u * 600.0),
                }
            })
            .filter(|m| m.is_finite() && *m > 0.0)
            .collect()
    }

    #[test]
    fn both_layouts_hold_the_same_counts_whatever_the_order_and_merges() {
        let mut seed = 0x9e37_79b9u64;
        for case in 0..300 {
            let n = (crate::testing::xorshift(&mut seed) % 3000) as usize + 1;
            let values = magnitudes(&mut seed, n);
            let want = model(&values);
            // one store, and the same values split among 1 to 8 stores
            // merged in turn
            let mut one = Store::default();
            values
                .iter()
                .for_each(|&m| one.add(index_of(m), m.to_bits()));
            let parts = (crate::testing::xorshift(&mut seed) % 8) as usize + 1;
            let mut stores = vec![Store::default(); parts];
            for &m in &values {
                let k = (crate::testing::xorshift(&mut seed) % parts as u64) as usize;
                stores[k].add(index_of(m), m.to_bits());
            }
            let mut merged = Store::default();
            stores.iter().for_each(|s| merged.merge(s));
            for store in [&one, &merged] {
                assert_eq!(store.buckets().collect::<Vec<_>>(), want, "case {case}");
                assert_eq!(store.total(), values.len() as u64);
                // the memory bound: a list no longer than the values, an
                // array no longer than the values (and the room it keeps to
                // grow, an eighth on each side) or MAX_BUCKETS
                let room = values.len() + values.len() / 4 + 32;
                assert!(store.len() <= room, "case {case}: {}", store.len());
                assert!(store.len() <= MAX_BUCKETS);
                // the byte form is the layout's content, and reads back
                let (mut a, mut b) = (Vec::new(), Vec::new());
                store.encode(&mut a);
                one.encode(&mut b);
                assert_eq!(a, b, "case {case}");
                let back = Store::decode(&mut crate::wire::Reader::new(&a)).unwrap();
                assert_eq!(back.buckets().collect::<Vec<_>>(), want);
                let total = values.len() as u64;
                for k in [0, total / 2, total - 1] {
                    assert_eq!(
                        store.magnitude_at(k, total).to_bits(),
                        one.magnitude_at(k, total).to_bits()
                    );
                }
            }
        }
    }

    #[test]
    fn few_values_far_apart_take_little_memory() {
        // 65 values over 600 decades: the array would be MAX_BUCKETS long
        let mut store = Store::default();
        for k in 0..65 {
            let m = 10f64.powf(-300.0 + k as f64 * 9.0);
            store.add(index_of(m), m.to_bits());
        }
        assert!(!store.is_dense() && store.len() <= 65, "{}", store.len());
        // many values in a few octaves: the array
        let mut narrow = Store::default();
        for k in 0..10_000 {
            let m = 1.0 + (k % 1000) as f64 / 100.0;
            narrow.add(index_of(m), m.to_bits());
        }
        assert!(narrow.is_dense());
        // one value far above them: MAX_BUCKETS counts are still fewer
        // than the values, so the array stays, the low buckets collapsed
        narrow.add(index_of(1e300), 1e300f64.to_bits());
        assert!(narrow.is_dense() && narrow.len() <= MAX_BUCKETS);
        // a dense store of few values meeting a far one
        let mut few = Store::default();
        for k in 0..200 {
            let m = 1.0 + k as f64 / 400.0;
            few.add(index_of(m), m.to_bits());
        }
        assert!(few.is_dense());
        few.add(index_of(1e300), 1e300f64.to_bits());
        assert!(!few.is_dense() && few.len() <= 201, "{}", few.len());
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
