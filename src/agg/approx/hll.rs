//! HyperLogLog: 2^14 one-byte registers, Ertl's improved estimator, and
//! an exact set of hashes while there are few of them.
//!
//! A 64-bit hash `h` selects register `h >> 50` (its top [`P`] bits) and
//! offers it `rho`, one more than the number of leading zeros of the other
//! 50 bits (1..=51). A register keeps the greatest `rho` offered, so the
//! registers are a function of the *set* of hashes inserted: merging is a
//! register-wise maximum, commutative, associative and idempotent.
//!
//! The estimate is Ertl's "improved" estimator (O. Ertl, *New cardinality
//! estimation algorithms for HyperLogLog sketches*, 2017, algorithm 6),
//! computed from the histogram of register values. Unlike the original
//! HyperLogLog estimate it needs neither linear counting below ~2.5m nor
//! HLL++'s empirical bias tables: it is nearly unbiased from a handful of
//! values to far beyond 2^50, with a relative standard error of
//! `1.04 / sqrt(2^14) = 0.81%`.
//!
//! While at most [`EXACT_MAX`] distinct hashes have been seen, the sketch
//! keeps the hashes themselves (an open-addressing table of at most 2048
//! `u64`s, the registers' 16 KiB) and the count is exact, barring a 64-bit
//! collision (odds about 3e-14 for 1024 values). Whether the sketch is in
//! that mode is also a function of the set of hashes (it is iff the set has
//! at most [`EXACT_MAX`] members), so the representation, and the answer,
//! never depends on insertion or merge order.

/// Bits of the hash that select a register.
pub const P: u32 = 14;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Bits left for `rho`: register values run from 0 (empty) to `Q + 1`.
const Q: usize = 64 - P as usize;
/// Distinct hashes kept exactly before the registers take over.
pub const EXACT_MAX: usize = 1024;
/// The relative standard error of the dense estimate, `1.04 / sqrt(m)`.
pub const STANDARD_ERROR: f64 = 1.04 / 128.0;

/// A HyperLogLog sketch (see the module docs).
#[derive(Clone, Debug)]
pub struct Hll {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    /// Few hashes: the set itself.
    Exact(HashSet),
    /// [`REGISTERS`] registers.
    Dense(Box<[u8]>),
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            repr: Repr::Exact(HashSet::default()),
        }
    }
}

/// `rho` of hash `h` into its register.
#[inline(always)]
fn offer(registers: &mut [u8], h: u64) {
    let index = (h >> (64 - P)) as usize;
    // the guard bit caps the count of leading zeros at Q
    let rho = ((h << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
    let r = &mut registers[index];
    *r = (*r).max(rho);
}

impl Hll {
    /// Whether no hash was inserted.
    pub fn is_empty(&self) -> bool {
        matches!(&self.repr, Repr::Exact(set) if set.len == 0)
    }

    /// Inserts a hash.
    #[inline]
    pub fn insert(&mut self, h: u64) {
        match &mut self.repr {
            Repr::Dense(registers) => offer(registers, h),
            Repr::Exact(set) => {
                if set.insert(h) && set.len > EXACT_MAX {
                    self.densify();
                }
            }
        }
    }

    /// Switches to registers.
    fn densify(&mut self) {
        let Repr::Exact(set) = &self.repr else {
            return;
        };
        let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
        set.for_each(|h| offer(&mut registers, h));
        self.repr = Repr::Dense(registers);
    }

    /// Adds every hash of `other` (the union of the two sets).
    pub fn merge(&mut self, other: &Hll) {
        match (&mut self.repr, &other.repr) {
            (Repr::Dense(mine), Repr::Dense(theirs)) => {
                for (m, &t) in mine.iter_mut().zip(theirs.iter()) {
                    *m = (*m).max(t);
                }
            }
            (Repr::Dense(mine), Repr::Exact(set)) => set.for_each(|h| offer(mine, h)),
            (Repr::Exact(set), Repr::Dense(theirs)) => {
                let mut registers = theirs.clone();
                set.for_each(|h| offer(&mut registers, h));
                self.repr = Repr::Dense(registers);
            }
            (Repr::Exact(_), Repr::Exact(set)) => set.for_each(|h| self.insert(h)),
        }
    }

    /// Like [`merge`](Self::merge), reusing `other`'s memory where that
    /// saves a copy (`other` is left in any state).
    pub fn absorb(&mut self, other: &mut Hll) {
        let swap = match (&self.repr, &other.repr) {
            (Repr::Exact(_), Repr::Dense(_)) => true,
            (Repr::Exact(a), Repr::Exact(b)) => a.len < b.len,
            _ => false,
        };
        if swap {
            std::mem::swap(self, other);
        }
        self.merge(other);
    }

    /// The union of the two sketches' sets, as a new sketch.
    pub fn union(&self, other: &Hll) -> Hll {
        // start from the dense or bigger one
        let (big, small) = match (&self.repr, &other.repr) {
            (Repr::Exact(_), Repr::Dense(_)) => (other, self),
            (Repr::Exact(a), Repr::Exact(b)) if a.len < b.len => (other, self),
            _ => (self, other),
        };
        let mut out = big.clone();
        out.merge(small);
        out
    }

    /// The number of distinct hashes: exact while the set is kept, else
    /// Ertl's estimate (never below `EXACT_MAX + 1`, which the dense form
    /// implies), rounded to the nearest integer.
    pub fn count(&self) -> u64 {
        match &self.repr {
            Repr::Exact(set) => set.len as u64,
            Repr::Dense(registers) => {
                (ertl_estimate(registers).round() as u64).max(EXACT_MAX as u64 + 1)
            }
        }
    }

    /// Bytes that identify the sketch's content whatever the insertion
    /// order: the sorted hashes, or the registers.
    #[cfg(test)]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        match &self.repr {
            Repr::Exact(set) => {
                let mut hashes = Vec::with_capacity(set.len);
                set.for_each(|h| hashes.push(h));
                hashes.sort_unstable();
                let mut out = vec![b'E'];
                hashes
                    .iter()
                    .for_each(|h| out.extend_from_slice(&h.to_le_bytes()));
                out
            }
            Repr::Dense(registers) => {
                let mut out = vec![b'D'];
                out.extend_from_slice(registers);
                out
            }
        }
    }

    #[cfg(test)]
    pub fn is_dense(&self) -> bool {
        matches!(self.repr, Repr::Dense(_))
    }
}

/// Register bytes of a dense sketch's byte form: 6 bits a register.
const PACKED: usize = REGISTERS * 6 / 8;

impl Hll {
    /// Appends the sketch's byte form: `0`, then the hashes as a sorted set
    /// ([`put_sorted_u64s`](crate::wire::put_sorted_u64s)); or `1`, then the
    /// registers, 6 bits each (four in three bytes, low bits first).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match &self.repr {
            Repr::Exact(set) => {
                out.push(0);
                let mut hashes = Vec::with_capacity(set.len);
                set.for_each(|h| hashes.push(h));
                hashes.sort_unstable();
                crate::wire::put_sorted_u64s(out, &hashes);
            }
            Repr::Dense(registers) => {
                out.push(1);
                for four in registers.chunks(4) {
                    let w = four
                        .iter()
                        .enumerate()
                        .fold(0u32, |w, (i, &r)| w | (r as u32) << (6 * i));
                    out.extend_from_slice(&w.to_le_bytes()[..3]);
                }
            }
        }
    }

    /// Reads what [`encode`](Self::encode) wrote: at most [`EXACT_MAX`]
    /// distinct hashes (more is the dense form), or registers of at most
    /// `Q + 1` (the estimate indexes a histogram by them).
    pub fn decode(r: &mut crate::wire::Reader<'_>) -> Result<Hll, crate::wire::WireError> {
        const AGG: &str = "approx_distinct";
        let at = r.pos();
        match r.get_u8()? {
            0 => {
                let hashes = r.get_sorted_u64s(true)?;
                if hashes.len() > EXACT_MAX {
                    return Err(r.bad_state(AGG, at, format!("{} hashes kept", hashes.len())));
                }
                let mut sketch = Hll::default();
                hashes.into_iter().for_each(|h| sketch.insert(h));
                Ok(sketch)
            }
            1 => {
                let packed = r.get_slice(PACKED)?;
                let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
                for (four, three) in registers.chunks_mut(4).zip(packed.chunks(3)) {
                    let w = u32::from_le_bytes([three[0], three[1], three[2], 0]);
                    for (i, reg) in four.iter_mut().enumerate() {
                        *reg = (w >> (6 * i) & 63) as u8;
                    }
                }
                if let Some(bad) = registers.iter().find(|&&v| v as usize > Q + 1) {
                    return Err(r.bad_state(AGG, at, format!("register value {bad}")));
                }
                Ok(Hll {
                    repr: Repr::Dense(registers),
                })
            }
            tag => Err(r.bad_state(AGG, at, format!("unknown sketch form {tag}"))),
        }
    }
}

/// Ertl's improved estimator over the register-value histogram.
fn ertl_estimate(registers: &[u8]) -> f64 {
    let mut histogram = [0u32; Q + 2];
    for &r in registers {
        histogram[r as usize] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau(1.0 - f64::from(histogram[Q + 1]) / m);
    for k in (1..=Q).rev() {
        z = 0.5 * (z + f64::from(histogram[k]));
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    // alpha_inf = 1 / (2 ln 2)
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    ALPHA_INF * m * m / z
}

/// Ertl's sigma: `x + sum_k x^(2^k) 2^(k-1)`, for the empty registers.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's tau, for the saturated registers.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// A set of 64-bit hashes: linear probing over a power-of-two table at
/// most half full, 0 marking an empty slot (the hash 0 is a flag). It
/// grows from nothing, so a group-by's many small groups stay small.
///
/// A hash's slot is the top bits of the hash times a random odd multiplier
/// drawn once per process ([`probe_multiplier`]; multiply-shift, a
/// universal family): the hashes themselves are fixed (the sketch must be
/// the same on every run), so with its low bits as the slot, values crafted
/// to share them piled into one probe run that every row walked (1024 such
/// integers: 6 times slower). Nothing observable depends on the slots:
/// the sketch's byte form lists the hashes sorted ([`Hll::encode`]), and
/// the count, the registers and the switch to them depend on the set only.
#[derive(Clone, Debug, Default)]
struct HashSet {
    slots: Vec<u64>,
    len: usize,
    zero: bool,
}

impl HashSet {
    /// Inserts `h`; whether it was new.
    #[inline]
    fn insert(&mut self, h: u64) -> bool {
        if h == 0 {
            let new = !self.zero;
            self.zero = true;
            self.len += new as usize;
            return new;
        }
        if self.slots.is_empty() {
            self.slots = vec![0; 16];
        }
        let mask = self.slots.len() - 1;
        let mut i = slot_of(h, mask);
        loop {
            match self.slots[i] {
                s if s == h => return false,
                0 => break,
                _ => i = (i + 1) & mask,
            }
        }
        self.slots[i] = h;
        self.len += 1;
        if self.len * 2 > self.slots.len() && self.len <= EXACT_MAX {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for h in old.into_iter().filter(|&h| h != 0) {
            let mut i = slot_of(h, mask);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = h;
        }
    }

    fn for_each(&self, mut f: impl FnMut(u64)) {
        if self.zero {
            f(0);
        }
        self.slots.iter().filter(|&&h| h != 0).for_each(|&h| f(h));
    }
}

/// The process's multiplier of hashes into slots of [`HashSet`]: random
/// and odd, drawn once ([`crate::keyset::process_seed`]).
#[inline(always)]
fn probe_multiplier() -> u64 {
    const PURPOSE: &str = "approx_distinct: exact set";
    #[cfg(test)]
    if crate::keyset::test_seeds::salt() != 0 {
        return crate::keyset::process_seed(PURPOSE) | 1;
    }
    static MULTIPLIER: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MULTIPLIER.get_or_init(|| crate::keyset::process_seed(PURPOSE) | 1)
}

/// The home slot of hash `h` in a table of `mask + 1` slots (a power of
/// two, at least 2): the top bits of `h` times the process's multiplier.
#[inline(always)]
fn slot_of(h: u64, mask: usize) -> usize {
    (h.wrapping_mul(probe_multiplier()) >> (mask as u64).leading_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xxh3::xxh3_64_with_seed;

    fn hash(i: u64) -> u64 {
        xxh3_64_with_seed(&i.to_le_bytes(), 0x5eed)
    }

    fn sketch(range: std::ops::Range<u64>) -> Hll {
        let mut s = Hll::default();
        range.for_each(|i| s.insert(hash(i)));
        s
    }

    #[test]
    fn exact_while_small_then_dense() {
        assert_eq!(Hll::default().count(), 0);
        let mut s = sketch(0..EXACT_MAX as u64);
        assert_eq!(s.count(), EXACT_MAX as u64);
        assert!(!s.is_dense());
        // repeats change nothing
        (0..EXACT_MAX as u64).for_each(|i| s.insert(hash(i)));
        assert_eq!(s.count(), EXACT_MAX as u64);
        s.insert(0); // the zero hash is a value like any other
        assert!(s.is_dense());
        assert!(s.count() > EXACT_MAX as u64);
        let mut zero = Hll::default();
        zero.insert(0);
        zero.insert(0);
        zero.insert(1);
        assert_eq!(zero.count(), 2);
    }

    /// Every cardinality from 0 to 10M is within three standard errors
    /// (exact up to `EXACT_MAX`).
    #[test]
    fn estimates_within_three_standard_errors() {
        let mut s = Hll::default();
        let mut inserted = 0u64;
        let mut worst: f64 = 0.0;
        let checkpoints = [
            0u64, 1, 2, 10, 100, 1000, 1024, 1025, 1100, 1500, 2000, 3000, 5000, 8000, 12_000,
            16_384, 20_000, 30_000, 40_000, 50_000, 65_536, 100_000, 200_000, 500_000, 1_000_000,
            2_000_000, 5_000_000, 10_000_000,
        ];
        for &n in &checkpoints {
            while inserted < n {
                s.insert(hash(inserted));
                inserted += 1;
            }
            let got = s.count();
            if n <= EXACT_MAX as u64 {
                assert_eq!(got, n);
                continue;
            }
            let err = (got as f64 - n as f64) / n as f64;
            worst = worst.max(err.abs());
            assert!(
                err.abs() <= 3.0 * STANDARD_ERROR,
                "n {n}: estimate {got}, error {:.3}%",
                err * 100.0
            );
        }
        eprintln!("worst relative error {:.3}%", worst * 100.0);
    }

    /// Over many independent sketches of one size, the errors' spread is
    /// the standard error (the estimator is neither biased nor noisy).
    #[test]
    fn error_spread_is_the_standard_error() {
        for n in [2_000u64, 20_000, 200_000] {
            let trials = 40;
            let errors: Vec<f64> = (0..trials)
                .map(|t| {
                    let s = sketch(t * 10_000_000..t * 10_000_000 + n);
                    (s.count() as f64 - n as f64) / n as f64
                })
                .collect();
            let mean = errors.iter().sum::<f64>() / trials as f64;
            let rms = (errors.iter().map(|e| e * e).sum::<f64>() / trials as f64).sqrt();
            assert!(mean.abs() < STANDARD_ERROR, "n {n}: bias {mean}");
            assert!(rms < 1.5 * STANDARD_ERROR, "n {n}: rms error {rms}");
        }
    }

    /// Per stored hash, how far its slot is from its home; the longest.
    fn longest_probe(set: &HashSet) -> usize {
        let mask = set.slots.len() - 1;
        (0..set.slots.len())
            .filter(|&i| set.slots[i] != 0)
            .map(|i| (i.wrapping_sub(slot_of(set.slots[i], mask)) & mask) + 1)
            .max()
            .unwrap_or(0)
    }

    /// Hashes that all had slot 0 under the old placement (their low 11
    /// bits, zero for all of them): found among real hashes, and made.
    fn old_collisions() -> [Vec<u64>; 2] {
        let found = (0u64..)
            .map(hash)
            .filter(|h| h & 0x7ff == 0)
            .take(EXACT_MAX)
            .collect();
        let made = (1..=EXACT_MAX as u64).map(|i| i << 11).collect();
        [found, made]
    }

    /// Hashes crafted to share the old slot index (a probe run as long as
    /// the set: every insert walked it) spread under the seeded one, with
    /// the process's multiplier and others.
    #[test]
    fn hashes_crafted_for_the_old_slots_spread() {
        for hashes in old_collisions() {
            // fixed salts, not the process's own seed (salt 0): the test
            // must not depend on a draw (one put the made hashes, an
            // arithmetic progression, in a run of 79)
            for salt in [1, 0x5eed, 0xdead_beef, u64::MAX] {
                crate::keyset::test_seeds::with_salt(salt, || {
                    let mut set = HashSet::default();
                    hashes.iter().for_each(|&h| assert!(set.insert(h)));
                    assert_eq!((set.len, set.slots.len()), (EXACT_MAX, 2 * EXACT_MAX));
                    hashes.iter().for_each(|&h| assert!(!set.insert(h)));
                    let longest = longest_probe(&set);
                    eprintln!("salt {salt}: longest probe {longest} of {EXACT_MAX}");
                    // (the old placement: one run of all 1024)
                    assert!(longest <= 128, "salt {salt}: a probe run of {longest}");
                });
            }
        }
    }

    /// The sketch's byte form, count and merges do not depend on the
    /// placement: the same under every seed, crafted hashes or not.
    #[test]
    fn bytes_and_counts_do_not_depend_on_the_seed() {
        let [found, made] = old_collisions();
        let sets: Vec<Vec<u64>> = vec![
            found[..700].to_vec(),
            made[..EXACT_MAX - 10].to_vec(),
            (0..300)
                .map(hash)
                .chain(made[..500].iter().copied())
                .collect(),
            (0..5000).map(hash).collect(),
        ];
        let forms = |salt: u64| {
            crate::keyset::test_seeds::with_salt(salt, || {
                let mut out = Vec::new();
                for a in &sets {
                    for b in &sets {
                        let mut x = Hll::default();
                        a.iter().for_each(|&h| x.insert(h));
                        let mut y = Hll::default();
                        b.iter().rev().for_each(|&h| y.insert(h));
                        let mut bytes = Vec::new();
                        x.encode(&mut bytes);
                        let decoded = Hll::decode(&mut crate::wire::Reader::new(&bytes)).unwrap();
                        decoded.encode(&mut bytes);
                        let u = x.union(&y);
                        u.encode(&mut bytes);
                        out.push((bytes, x.count(), u.count()));
                    }
                }
                out
            })
        };
        let base = forms(0);
        for salt in [1, 2, 0xdead_beef] {
            assert!(forms(salt) == base, "salt {salt}");
        }
    }

    #[test]
    fn merge_is_the_union_in_any_form() {
        for (a, b) in [
            (0..10, 5..20),
            (0..900, 500..1000),
            (0..1000, 10..1030),
            (0..5000, 3000..4000),
            (0..100, 0..50_000),
            (0..60_000, 20_000..90_000),
        ] {
            let whole = sketch(a.start.min(b.start)..a.end.max(b.end));
            let (x, y) = (sketch(a.clone()), sketch(b.clone()));
            let mut xy = x.clone();
            xy.merge(&y);
            let mut yx = y.clone();
            yx.absorb(&mut x.clone());
            let u = x.union(&y);
            for s in [&xy, &yx, &u] {
                assert_eq!(s.canonical_bytes(), whole.canonical_bytes(), "{a:?} {b:?}");
            }
        }
    }
}
