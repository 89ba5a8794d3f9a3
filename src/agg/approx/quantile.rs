//! `approx_median`, `approx_pNN`: quantiles from a DDSketch.
//!
//! Up to [`EXACT_MAX`] values the state is the exact quantiles' state
//! ([`Quantile`]) and answers as `median`/`pNN` do, to the bit (integers
//! beyond 2^53 too); past that, a [`Sketch`] of fixed-size buckets. Which
//! of the two a state holds depends only on how many values it has seen,
//! and the sketch only on the multiset of values, so merges in any order
//! give the same answer.
//!
//! The rank arithmetic is the exact quantiles' (numpy's "linear" method):
//! with `n` values and the percentile as written (`p99.9` is 999/1000),
//! the answer lies between the values of ranks `k` and `k + 1` at weight
//! `t`, both found in integers. The sketch gives each rank's value within
//! relative error [`RELATIVE_ACCURACY`] (its bucket's representative; the
//! least and greatest values exactly), and the two are interpolated in
//! floating point. So the answer is within 1% of
//! `(1 - t)·|a| + t·|b|`, `a` and `b` the exact values of the two ranks:
//! within 1% of the exact answer whenever `a` and `b` have the same sign
//! (always, for `median` of more than a couple of values of one sign).
//! Zeros, infinities and NaN are counted exactly and ordered as the exact
//! quantiles order them (`f64::total_cmp`: `-NaN`, `-inf`, ..., `-0.0`,
//! `0.0`, ..., `inf`, `NaN`), and interpolation follows the exact rules:
//! NaN if either rank is NaN, between a finite value and an infinity that
//! infinity, between `-inf` and `inf` NaN.

use num_bigint::BigUint;
use num_traits::{ToPrimitive, Zero};

use super::ddsketch::Sketch;
pub use super::ddsketch::{MAX_BUCKETS, RELATIVE_ACCURACY};
use crate::agg::quantile::{fraction, lerp_non_finite};
use crate::agg::{for_each_value, AggState, BadValue, ColumnFacts, Func, Quantile};
use crate::value::{Column, ColumnType, Data, Rows, Value};

/// Values a state keeps as they are, answering exactly.
pub const EXACT_MAX: usize = 64;

/// The `approx_median` / `approx_pNN` state (see the module docs).
#[derive(Default, Debug)]
pub struct ApproxQuantile {
    /// Every value, while there are at most [`EXACT_MAX`] (then empty).
    exact: Quantile,
    sketch: Option<Box<Sketch>>,
    /// Whether a value the sketch took was a number but not an integer
    /// ([`ColumnFacts::non_integers`]): what the exact values would tell
    /// [`gather`](AggState::gather), kept once they are gone.
    non_integers: bool,
}

impl ApproxQuantile {
    /// Moves the values into a sketch once there are more than
    /// [`EXACT_MAX`].
    fn spill_if_many(&mut self) {
        if self.sketch.is_none() && self.exact.len() > EXACT_MAX {
            let mut sketch = Box::<Sketch>::default();
            self.exact.for_each_float(|v| sketch.add(v));
            self.non_integers = non_integers(&self.exact);
            self.exact = Quantile::default();
            self.sketch = Some(sketch);
        }
    }

    /// The ranks `k` (and `k + 1`, with its weight `r / den`, unless `r`
    /// is zero) that quantile `num / den` of `n` values lies between.
    fn ranks(n: u64, num: &BigUint, den: &BigUint) -> (u64, Option<BigUint>) {
        let scaled = num * BigUint::from(n - 1);
        let k = (&scaled / den).to_u64().map_or(n - 1, |k| k.min(n - 1));
        let r = &scaled % den;
        (k, (!r.is_zero() && k + 1 < n).then_some(r))
    }

    /// The quantile `num / den` of the sketch's values, or `None` without
    /// any.
    fn sketch_quantile(sketch: &Sketch, num: &BigUint, den: &BigUint) -> Option<f64> {
        let n = sketch.count();
        if n == 0 {
            return None;
        }
        let (k, r) = Self::ranks(n, num, den);
        let a = sketch.value_at(k);
        let Some(r) = r else {
            return Some(a);
        };
        // t = r / den, to 64 bits
        let t = ((r << 64u32) / den).to_u64().unwrap_or(u64::MAX) as f64 / 2f64.powi(64);
        Some(lerp(a, sketch.value_at(k + 1), t))
    }

    /// Bytes of the state's content, whatever the order it was built in.
    #[cfg(test)]
    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        match &self.sketch {
            Some(s) => s.canonical_bytes(),
            None => {
                let mut v = Vec::new();
                self.exact.for_each_float(|x| v.push(x));
                v.sort_by(f64::total_cmp);
                v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect()
            }
        }
    }
}

/// Whether the exact quantiles' state `q` holds a number that is not an
/// integer, as its [`gather`](AggState::gather) finds.
fn non_integers(q: &Quantile) -> bool {
    let mut facts = ColumnFacts::default();
    q.gather(&mut facts);
    facts.non_integers
}

/// `a + (b - a)·t` for `a <= b` and `0 < t < 1`, with the exact quantiles'
/// rules for NaN, infinities and zeros.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    if let Some(v) = lerp_non_finite(a, b) {
        return v;
    }
    if a == b {
        // two zeros: -0.0 only when both are
        return if a == 0.0 && a.is_sign_negative() != b.is_sign_negative() {
            0.0
        } else {
            a
        };
    }
    let d = b - a;
    let v = if d.is_finite() {
        a + d * t
    } else {
        a * (1.0 - t) + b * t
    };
    // (not `clamp`, which panics should a rounding ever order them wrong)
    v.max(a).min(b)
}

impl AggState for ApproxQuantile {
    fn update(&mut self, col: &Column<'_>, rows: Rows<'_>) -> Result<(), BadValue> {
        let Some(sketch) = &mut self.sketch else {
            // the first few values, kept exactly (a batch at most past
            // EXACT_MAX before they go to the sketch)
            self.exact.update(col, rows)?;
            self.spill_if_many();
            return Ok(());
        };
        match col.data {
            Data::Float(values) => {
                let mut any = false;
                for_each_value(col, values, rows, |v| {
                    sketch.add(v);
                    any = true;
                });
                self.non_integers |= any;
            }
            Data::Int(values) => {
                for_each_value(col, values, rows, |v| sketch.add(v as f64));
            }
            Data::Text(_) => {
                // numbers in text (a wide integer made the batch text):
                // checked and read as the exact state reads them
                let mut batch = Quantile::default();
                batch.update(col, rows)?;
                batch.for_each_float(|v| sketch.add(v));
                self.non_integers |= non_integers(&batch);
            }
            Data::Rows => {}
        }
        Ok(())
    }

    fn merge(&mut self, other: &mut Self) {
        if self.sketch.is_none() && other.sketch.is_some() {
            std::mem::swap(self, other);
        }
        self.non_integers |= other.non_integers;
        match (&mut self.sketch, &other.sketch) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (Some(mine), None) => other.exact.for_each_float(|v| mine.add(v)),
            (None, _) => {
                self.exact.merge(&mut other.exact);
                self.spill_if_many();
            }
        }
    }

    /// What the exact values tell about the column, or the sketch kept of
    /// them: a group's few integers are read as `median` reads them, as
    /// floats where another group of the column holds a decimal (in a
    /// sketch or not), whichever batches the rows came in.
    fn gather(&self, facts: &mut ColumnFacts) {
        self.exact.gather(facts);
        facts.non_integers |= self.non_integers;
    }

    fn finish(&self, ty: ColumnType, func: &Func) -> Value {
        let mut facts = ColumnFacts::default();
        self.gather(&mut facts);
        self.finish_in(ty, func, &facts)
    }

    fn finish_in(&self, ty: ColumnType, func: &Func, facts: &ColumnFacts) -> Value {
        let Func::ApproxQuantile(q, label) = func else {
            unreachable!("approximate quantile state used for {func:?}")
        };
        let label = label.strip_prefix("approx_").unwrap_or(label);
        let Some(sketch) = &self.sketch else {
            return (self.exact).finish_in(ty, &Func::Quantile(*q, label.into()), facts);
        };
        let (num, den) = fraction(label);
        Self::sketch_quantile(sketch, &num, &den).map_or(Value::Null, Value::Float)
    }

    fn beyond_bound(&self, func: &Func) -> Option<&'static str> {
        let (Some(sketch), Func::ApproxQuantile(_, label)) = (&self.sketch, func) else {
            return None;
        };
        if !sketch.has_collapsed() {
            return None;
        }
        let (num, den) = fraction(label.strip_prefix("approx_").unwrap_or(label));
        let (k, r) = Self::ranks(sketch.count(), &num, &den);
        (sketch.collapsed_at(k) || (r.is_some() && sketch.collapsed_at(k + 1))).then_some(
            "the answer lies among values more than 4e17 times smaller in magnitude than \
             the largest of their sign, which the sketch keeps in one bucket: it may be off \
             by more than 1%",
        )
    }

    /// `0`, then the exact state's form; or the sketch after `1` (every
    /// value it took an integer) or `2` (not).
    fn encode(&self, out: &mut Vec<u8>) {
        match &self.sketch {
            None => {
                out.push(0);
                self.exact.encode(out);
            }
            Some(sketch) => {
                out.push(1 + self.non_integers as u8);
                sketch.encode(out);
            }
        }
    }

    /// At most [`EXACT_MAX`] values, or a sketch of more.
    fn decode(r: &mut crate::wire::Reader<'_>) -> Result<Self, crate::wire::WireError> {
        const AGG: &str = "approx quantile";
        let at = r.pos();
        match r.get_u8()? {
            0 => {
                let exact = Quantile::decode(r)?;
                let n = exact.len();
                if n > EXACT_MAX {
                    return Err(r.bad_state(AGG, at, format!("{n} values kept")));
                }
                Ok(ApproxQuantile {
                    exact,
                    sketch: None,
                    non_integers: false,
                })
            }
            form @ (1 | 2) => {
                let sketch = Sketch::decode(r)?;
                if sketch.count() <= EXACT_MAX as u64 {
                    return Err(r.bad_state(AGG, at, "a sketch of few values"));
                }
                Ok(ApproxQuantile {
                    exact: Quantile::default(),
                    sketch: Some(Box::new(sketch)),
                    non_integers: form == 2,
                })
            }
            tag => Err(r.bad_state(AGG, at, format!("unknown form {tag}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{batch_of, merge_in_random_tree};
    use super::*;
    use crate::agg::Quantile;

    const LABELS: &[&str] = &[
        "p0", "p0.1", "p1", "p5", "p10", "p25", "median", "p75", "p90", "p99", "p99.9", "p100",
    ];

    fn func(label: &str) -> Func {
        Func::ApproxQuantile(0.0, format!("approx_{label}"))
    }

    fn state_of(values: &[f64]) -> ApproxQuantile {
        let mut s = ApproxQuantile::default();
        for chunk in values.chunks(4096) {
            let col = Column {
                len: chunk.len(),
                data: Data::Float(chunk),
                valid: None,
                raw: None,
            };
            s.update(&col, Rows::All(chunk.len())).unwrap();
        }
        s
    }

    /// The exact values of the two ranks a quantile interpolates between,
    /// and the weight of the second.
    fn exact_ranks(sorted: &[f64], label: &str) -> (f64, f64, f64) {
        let (num, den) = fraction(label);
        let n = sorted.len();
        let scaled = num * BigUint::from(n - 1);
        let k = (&scaled / &den).to_usize().unwrap();
        let r = (&scaled % &den).to_f64().unwrap() / den.to_f64().unwrap();
        (sorted[k], sorted[(k + 1).min(n - 1)], r)
    }

    struct Gen(u64);
    impl Gen {
        fn unit(&mut self) -> f64 {
            (crate::testing::xorshift(&mut self.0) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.unit().max(1e-300), self.unit());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// Uniform, lognormal, negative and mixed-sign data: every quantile is
    /// within 1% of `(1 - t)|a| + t|b|`, hence of the exact answer when
    /// its two ranks share a sign, and agrees with the exact state's answer
    /// that far.
    #[test]
    fn within_one_percent_of_the_exact_quantiles() {
        let mut g = Gen(0x5151_7777);
        let n = 200_000;
        let uniform: Vec<f64> = (0..n).map(|_| g.unit() * 1000.0).collect();
        let lognormal: Vec<f64> = (0..n).map(|_| (g.normal() * 2.0).exp()).collect();
        let negative: Vec<f64> = (0..n).map(|_| -(g.normal() * 3.0 + 1.0).exp()).collect();
        let mixed: Vec<f64> = (0..n).map(|_| g.normal() * 50.0 + 20.0).collect();
        let ints: Vec<f64> = (0..n).map(|_| (g.unit() * 1e6).floor() - 3e5).collect();
        let heavy: Vec<f64> = (0..n).map(|_| 1.0 / g.unit().max(1e-12)).collect();
        for (name, values) in [
            ("uniform", &uniform),
            ("lognormal", &lognormal),
            ("negative", &negative),
            ("mixed", &mixed),
            ("integers", &ints),
            ("heavy tail", &heavy),
        ] {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let approx = state_of(values);
            let mut exact = Quantile::default();
            crate::agg::testing::feed_floats(
                &mut exact,
                &values.iter().map(|&v| Some(v)).collect::<Vec<_>>(),
            );
            for &label in LABELS {
                let Value::Float(got) = approx.finish(ColumnType::Float, &func(label)) else {
                    panic!()
                };
                let Value::Float(want) =
                    exact.finish(ColumnType::Float, &Func::Quantile(0.0, label.into()))
                else {
                    panic!()
                };
                let (a, b, t) = exact_ranks(&sorted, label);
                let scale = (1.0 - t) * a.abs() + t * b.abs();
                let bound = RELATIVE_ACCURACY * scale * (1.0 + 1e-9);
                assert!(
                    (got - want).abs() <= bound,
                    "{name} {label}: {got} vs exact {want} (bound {bound})"
                );
                if a.signum() == b.signum() {
                    assert!((got - want).abs() <= 0.01 * want.abs(), "{name} {label}");
                }
                if label == "p0" || label == "p100" {
                    assert_eq!(got, want, "{name} {label} is exact");
                }
            }
        }
    }

    #[test]
    fn small_states_are_exact() {
        let mut g = Gen(99);
        for n in [1usize, 2, 3, 10, 63, EXACT_MAX] {
            let values: Vec<f64> = (0..n).map(|_| g.normal() * 1e3).collect();
            let approx = state_of(&values);
            assert!(approx.sketch.is_none());
            let mut exact = Quantile::default();
            crate::agg::testing::feed_floats(
                &mut exact,
                &values.iter().map(|&v| Some(v)).collect::<Vec<_>>(),
            );
            for &label in LABELS {
                assert_eq!(
                    approx.finish(ColumnType::Float, &func(label)),
                    exact.finish(ColumnType::Float, &Func::Quantile(0.0, label.into()))
                );
            }
        }
        assert!(state_of(&[1.0; EXACT_MAX + 1]).sketch.is_some());
        assert_eq!(
            ApproxQuantile::default().finish(ColumnType::Null, &func("median")),
            Value::Null
        );
    }

    /// Where the sketch had to merge magnitudes far below the largest into
    /// one bucket, the answer can miss the 1% bound: then the state says
    /// so ([`AggState::beyond_bound`]), and everywhere else the bound
    /// holds. (Before, 64 ones and one 1e18 gave an `approx_median` of 2.46
    /// without a word.)
    #[test]
    fn the_bound_holds_or_the_state_says_it_may_not() {
        let mut g = Gen(0xb0_0d);
        let mut sets: Vec<(String, Vec<f64>)> = Vec::new();
        for &(low, high) in &[(1.0, 1e18), (1e-18, 1.0), (1e-300, 1e300), (1.0, 1e10)] {
            for share in [1usize, 2, 10, 50] {
                let mut v: Vec<f64> = (0..2000)
                    .map(|i| {
                        let x = if i % share == 0 { high } else { low };
                        x * (1.0 + g.unit())
                    })
                    .collect();
                sets.push((format!("{low:e}..{high:e}, 1 in {share}"), v.clone()));
                v.iter_mut().for_each(|x| *x = -*x);
                sets.push((format!("-({low:e}..{high:e}), 1 in {share}"), v));
            }
        }
        let mut flagged = 0;
        for (name, values) in &sets {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let approx = state_of(values);
            for &label in LABELS {
                let Value::Float(got) = approx.finish(ColumnType::Float, &func(label)) else {
                    panic!()
                };
                let (a, b, t) = exact_ranks(&sorted, label);
                let want = a + (b - a) * t;
                let within = (got - want).abs() <= 0.0101 * want.abs();
                if approx.beyond_bound(&func(label)).is_some() {
                    flagged += 1;
                } else {
                    assert!(within, "{name} {label}: {got} vs {want}, not flagged");
                }
            }
        }
        // the wide spans do lose the bound, and say so
        assert!(flagged > 20, "{flagged} answers flagged");
        // small states and ordinary data never do
        assert!(state_of(&[1.0, 1e300])
            .beyond_bound(&func("median"))
            .is_none());
        let ordinary: Vec<f64> = (0..5000).map(|_| (g.normal() * 5.0).exp()).collect();
        assert!(LABELS
            .iter()
            .all(|&l| state_of(&ordinary).beyond_bound(&func(l)).is_none()));
    }

    /// Up to [`EXACT_MAX`] values the answer is `median`/`pNN`'s to the
    /// bit whatever the column holds: integers past 2^53 (which a float
    /// cannot hold: the median of 1 and 2^53 + 1 is 2^52 + 1, and reading
    /// them as floats gave 2^52), integers wider than 64 bits, mixed
    /// columns. (Before, the values were kept as floats.)
    #[test]
    fn small_states_answer_as_the_exact_quantiles_do() {
        let cases: &[&[&str]] = &[
            &["1", "9007199254740993"],
            &["-9223372036854775808", "9223372036854775806"],
            &["9223372036854775807", "9223372036854775806", "-3"],
            &["89014103211118510720", "1", "-7"],
            &["0.5", "9007199254740993", ""],
            &["1e300", "-1e300", "3", "0.1"],
        ];
        for values in cases {
            let batch = batch_of(values);
            let (mut approx, mut exact) = (ApproxQuantile::default(), Quantile::default());
            batch.feed(&mut approx).unwrap();
            batch.feed(&mut exact).unwrap();
            // and built from two states merged
            let (mut first, mut rest) = (ApproxQuantile::default(), ApproxQuantile::default());
            batch_of(&values[..1]).feed(&mut first).unwrap();
            batch_of(&values[1..]).feed(&mut rest).unwrap();
            first.merge(&mut rest);
            for &label in LABELS {
                let want = exact.finish(batch.ty(), &Func::Quantile(0.0, label.into()));
                for s in [&approx, &first] {
                    assert_eq!(
                        format!("{:?}", s.finish(batch.ty(), &func(label))),
                        format!("{want:?}"),
                        "{values:?} {label}"
                    );
                }
            }
        }
    }

    /// Zeros, infinities and NaN are counted exactly and follow the exact
    /// quantiles' rules.
    #[test]
    fn specials_follow_the_exact_rules() {
        let inf = f64::INFINITY;
        let mut values = vec![1.5; 100];
        values.extend([inf; 100]);
        let s = state_of(&values);
        let q = |s: &ApproxQuantile, label| match s.finish(ColumnType::Float, &func(label)) {
            Value::Float(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(q(&s, "p75"), inf);
        assert_eq!(q(&s, "median"), inf, "between 1.5 and inf");
        assert_eq!(q(&s, "p25"), 1.5);
        values.extend([f64::NAN; 10]);
        assert!(q(&state_of(&values), "p100").is_nan());
        assert_eq!(q(&state_of(&values), "p0"), 1.5);
        let mut both = vec![-inf; 100];
        both.extend([inf; 100]);
        assert!(q(&state_of(&both), "median").is_nan());
        let zeros = vec![-0.0; 100];
        assert_eq!(
            q(&state_of(&zeros), "median").to_bits(),
            (-0.0f64).to_bits()
        );
        let mut mixed_zeros = vec![-0.0; 100];
        mixed_zeros.extend([0.0; 100]);
        assert_eq!(
            q(&state_of(&mixed_zeros), "median").to_bits(),
            0.0f64.to_bits()
        );
        let mut around = vec![-1.0; 100];
        around.extend([1.0; 100]);
        assert_eq!(q(&state_of(&around), "median"), 0.0);
        let tiny: Vec<f64> = (1..200).map(|i| f64::from_bits(i * 1000)).collect();
        let got = q(&state_of(&tiny), "median");
        assert!(got > 0.0 && got < f64::MIN_POSITIVE, "subnormals: {got}");
    }

    /// Random splits into 1..64 parts, merged in random orders and tree
    /// shapes, give the same sketch bytes and answers.
    #[test]
    fn merge_order_never_matters() {
        let mut g = Gen(0xfeed);
        let mut seed = 0x7777_1234u64;
        let mut next = || crate::testing::xorshift(&mut seed);
        let texts: Vec<Vec<String>> = [10usize, EXACT_MAX + 1, 5000, 50_000]
            .iter()
            .map(|&n| {
                (0..n)
                    .map(|i| match i % 7 {
                        0 => format!("{}", (g.normal() * 1e4) as i64),
                        1 => "0".into(),
                        2 => format!("{:e}", g.normal().exp() * 1e200),
                        3 => format!("{}", -g.unit() * 1e-250),
                        _ => format!("{}", g.normal() * 100.0),
                    })
                    .collect()
            })
            .collect();
        for texts in &texts {
            let values: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
            let mut reference: Option<Vec<u8>> = None;
            for _ in 0..12 {
                let parts = 1 + (next() % 64) as usize;
                let merged = merge_in_random_tree::<ApproxQuantile>(&values, parts, &mut next);
                let mut bytes = merged.canonical_bytes();
                for &label in LABELS {
                    let v = merged.finish(ColumnType::Float, &func(label));
                    bytes.extend(format!("{v:?}").bytes());
                }
                match &reference {
                    None => reference = Some(bytes),
                    Some(r) => assert!(r == &bytes, "{} values, {parts} parts", values.len()),
                }
            }
        }
    }

    /// An integer reads the same in an integer, float or text batch.
    #[test]
    fn batch_types_do_not_matter() {
        let texts: Vec<String> = (0..3000)
            .map(|i| ((i * 7919) % 5003 - 2000).to_string())
            .collect();
        let raw: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let ints = batch_of(&raw);
        let mut with_float = raw.clone();
        with_float.push("0.5");
        let floats = batch_of(&with_float);
        let mut with_wide = raw.clone();
        with_wide.push("89014103211118510720");
        let wide = batch_of(&with_wide);
        assert_eq!(ints.ty(), ColumnType::Int);
        assert_eq!(floats.ty(), ColumnType::Float);
        assert_eq!(wide.ty(), ColumnType::Text);
        let state = |b: &super::super::testing::OwnedBatch| {
            let mut s = ApproxQuantile::default();
            b.feed(&mut s).unwrap();
            s
        };
        let (mut a, mut f, mut w) = (state(&ints), state(&floats), state(&wide));
        // the extra value, as a batch of its own
        a.merge(&mut state(&batch_of(&["0.5"])));
        f.merge(&mut state(&batch_of(&["89014103211118510720"])));
        w.merge(&mut state(&batch_of(&["0.5"])));
        assert_eq!(a.canonical_bytes(), state(&floats).canonical_bytes());
        // ints, 0.5 and the wide integer, batched two ways
        assert_eq!(f.canonical_bytes(), w.canonical_bytes());
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        let mut s = ApproxQuantile::default();
        assert_eq!(
            batch_of(&["1", "", "x"]).feed(&mut s),
            Err(BadValue { row: 2 })
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut g = Gen(3);
        // magnitudes from 1e-300 to 1e300, both signs
        let values: Vec<f64> = (0..1_000_000)
            .map(|_| {
                let v = 10f64.powf(g.unit() * 600.0 - 300.0);
                if g.unit() < 0.5 {
                    -v
                } else {
                    v
                }
            })
            .collect();
        let s = state_of(&values);
        let (neg, pos) = s.sketch.as_ref().unwrap().stores_len();
        assert!(neg <= MAX_BUCKETS && pos <= MAX_BUCKETS, "{neg} {pos}");
        // the top quantiles keep their accuracy
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for label in ["p99", "p99.9", "p1"] {
            let (a, b, t) = exact_ranks(&sorted, label);
            let want = a + (b - a) * t;
            let Value::Float(got) = s.finish(ColumnType::Float, &func(label)) else {
                panic!()
            };
            assert!(
                (got - want).abs() <= 0.01 * want.abs(),
                "{label}: {got} vs {want}"
            );
        }
    }
}
