//! Number literals of `--where`, and how a field compares with one.
//!
//! A literal is kept as its exact decimal value ([`Decimal`]), from which
//! the views comparisons need are derived once, at parse time: the interval
//! arithmetic an integer needs (`floor` and whether the value is integral),
//! and for floats the nearest double and how a float equal to it compares.
//!
//! Every comparison is **exact**, of the literal's value with the field's
//! value, and the field's value depends on the field's *text*, never on the
//! type its batch happened to get (a column may be integer in one batch and
//! float or text in the next, and batches depend on `--partitions`):
//!
//! - a field that is an integer (`parse_int_field`, or an integer wider than
//!   64 bits) is that integer: `x < 2.5` is `x <= 2`, `x = 2.5` is never
//!   true, and `9007199254740993 > 9007199254740992` however large the
//!   integers;
//! - any other number is a double (the column is a float column), and its
//!   value is the shortest decimal that reads back as that double, the
//!   number as rayproc prints it: `0.1` for the double read from `0.1`, `1`
//!   for `1.0`. So `x = 0.1` holds for every field written `0.1` (the double
//!   nearest 0.1 is not 0.1, but it prints, and compares, as `0.1`), and
//!   `1.0` compares as the integer `1` does with every literal, also with
//!   one that no double holds (`x < 1.0000000000000000001` is true for
//!   both, `x = 1e-400` for neither `0` nor `0.0`). A Parquet or Arrow
//!   double, which has no text, is the same value, so a typed input agrees
//!   with its CSV. The infinities are beyond every literal (`1e400` too),
//!   NaN, however spelled, after `+inf` (as in group keys and `max`), so
//!   greater than every literal; `-0.0` equals `0`.
//!
//! Reading a decimal is monotonic, so a double below the literal's nearest
//! double `r` is below the literal, one above is above, and one equal to
//! `r` compares as `r`'s shortest decimal does, worked out once
//! ([`NumLit::cmp_double`]): a float comparison is one double comparison.
//! An integral double below 2^53 in magnitude is its own shortest decimal,
//! so an integer in a float batch compares as a double the same way it
//! does as an integer; only an integral value of magnitude 2^53 or more,
//! which may be a rounded integer, is looked at as the text it was read
//! from ([`may_hide_an_integer`]).

use std::cmp::Ordering;

use crate::number::{is_wide_int_field, parse_float, parse_float_field, parse_int_field};

/// 2^53: from here on, not every integer is a double.
const EXACT_DOUBLES: f64 = 9_007_199_254_740_992.0;

/// An exact decimal number: `±0.DIGITS × 10^exp`, the digits without
/// leading or trailing zeros (none at all for zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    /// Reads `[+-]? (D+ [. D*] | . D+) ([eE] [+-]? D+)?` exactly. Exponents
    /// beyond ±2^40 saturate there (the value is then far beyond any
    /// double, and any integer a field can hold).
    pub fn parse(s: &[u8]) -> Option<Decimal> {
        let (neg, s) = match s.first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let int_len = s.iter().take_while(|b| b.is_ascii_digit()).count();
        let (int, mut rest) = s.split_at(int_len);
        let mut frac: &[u8] = &[];
        if let Some(r) = rest.strip_prefix(b".") {
            let n = r.iter().take_while(|b| b.is_ascii_digit()).count();
            frac = &r[..n];
            rest = &r[n..];
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut exp10: i64 = 0;
        if let Some(r) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
            let (eneg, digits) = match r.first() {
                Some(b'-') => (true, &r[1..]),
                Some(b'+') => (false, &r[1..]),
                _ => (false, r),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            const CAP: i64 = 1 << 40;
            let mut e: i64 = 0;
            for &d in digits {
                e = (e * 10 + i64::from(d - b'0')).min(CAP);
            }
            exp10 = if eneg { -e } else { e };
            rest = &[];
        }
        if !rest.is_empty() {
            return None;
        }
        // 0.INTFRAC × 10^(len(int) + exp10)
        let mut digits: Vec<u8> = int.iter().chain(frac).copied().collect();
        let mut exp = int.len() as i64 + exp10;
        let lead = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..lead);
        exp -= lead as i64;
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Some(Decimal::zero());
        }
        Some(Decimal { neg, digits, exp })
    }

    fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// The exact value of a finite double (`None` for NaN and infinities):
    /// the tests' reference, as a float compares as its shortest decimal
    /// ([`Decimal::shortest`]), not as this.
    #[cfg(test)]
    pub fn from_f64(f: f64) -> Option<Decimal> {
        use num_bigint::BigUint;
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Decimal::zero());
        }
        let bits = f.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1 << 52) - 1);
        // f = m × 2^e
        let (m, e) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1 << 52), biased - 1075)
        };
        let (n, shift) = if e >= 0 {
            (BigUint::from(m) << (e as usize), 0)
        } else {
            // m × 2^e = m × 5^-e × 10^e
            (BigUint::from(m) * BigUint::from(5u32).pow((-e) as u32), e)
        };
        let text = n.to_string();
        let mut d = Decimal::parse(text.as_bytes())?;
        d.exp += shift;
        d.neg = f < 0.0;
        Some(d)
    }

    /// The shortest decimal that reads back as the finite double `f` (the
    /// nearest such when there are several), as rayproc prints `f`: `0.1`
    /// for the double nearest 0.1, `1` for 1.0. `None` for NaN and the
    /// infinities.
    pub fn shortest(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        // Rust's float formatting is the shortest round trip, as `{:?}`
        // (the CSV writer's) is
        Decimal::parse(format!("{f:e}").as_bytes())
    }

    fn sign(&self) -> i8 {
        match (self.is_zero(), self.neg) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    /// Exact numeric order.
    pub fn cmp_value(&self, other: &Decimal) -> Ordering {
        let (a, b) = (self.sign(), other.sign());
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        // same sign, both non-zero: compare magnitudes
        let magnitude = self
            .exp
            .cmp(&other.exp)
            .then_with(|| self.digits.cmp(&other.digits));
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    /// `(floor, integral)`: the largest integer not above the value, clamped
    /// to `[i64::MIN - 1, i64::MAX + 1]`, and whether the value is one.
    fn floor_clamped(&self) -> (i128, bool) {
        const LOW: i128 = i64::MIN as i128 - 1;
        const HIGH: i128 = i64::MAX as i128 + 1;
        if self.is_zero() {
            return (0, true);
        }
        if self.exp > 19 {
            // at least 10^19 > 2^63
            return (if self.neg { LOW } else { HIGH }, false);
        }
        let int_digits = self.exp.max(0) as usize;
        let mut int: i128 = 0;
        for i in 0..int_digits {
            let d = self.digits.get(i).map_or(0, |&d| d - b'0');
            int = int * 10 + i128::from(d);
        }
        let integral = self.digits.len() <= int_digits;
        let floor = match (self.neg, integral) {
            (false, _) => int,
            (true, true) => -int,
            (true, false) => -int - 1,
        };
        (floor.clamp(LOW, HIGH), integral)
    }

    /// The double the project's number reader makes of this value.
    fn to_f64(&self) -> f64 {
        let signed = |v: f64| if self.neg { -v } else { v };
        if self.is_zero() {
            return 0.0;
        }
        // 0.1 × 10^-400 is below half the least subnormal, 0.1 × 10^310
        // above the greatest double
        if self.exp < -400 {
            return signed(0.0);
        }
        if self.exp > 310 {
            return signed(f64::INFINITY);
        }
        let mut text = String::with_capacity(self.digits.len() + 24);
        if self.neg {
            text.push('-');
        }
        text.push_str("0.");
        text.push_str(std::str::from_utf8(&self.digits).expect("ASCII digits"));
        text.push_str(&format!("e{}", self.exp));
        parse_float(text.as_bytes()).expect("a well-formed number")
    }
}

/// A number literal: its text and the views comparisons need.
#[derive(Clone, Debug)]
pub struct NumLit {
    text: String,
    exact: Decimal,
    /// The double nearest the literal, as the project's number reader
    /// reads it (never NaN; an infinity beyond the greatest double).
    double: f64,
    /// How a float equal to `double` compares with the literal: the
    /// shortest decimal that reads back as `double` (how rayproc prints it)
    /// against the literal's exact value; an infinity against any literal.
    at_double: Ordering,
    /// The largest integer not above the literal, clamped to
    /// `[i64::MIN - 1, i64::MAX + 1]`.
    floor: i128,
    /// The literal is an integer.
    integral: bool,
}

impl NumLit {
    /// `None` unless `text` is a number literal.
    pub fn parse(text: &str) -> Option<NumLit> {
        let exact = Decimal::parse(text.as_bytes())?;
        let double = exact.to_f64();
        let (floor, integral) = exact.floor_clamped();
        let at_double = match Decimal::shortest(double) {
            Some(shown) => shown.cmp_value(&exact),
            // the literal is beyond the greatest double, the infinity
            // beyond the literal
            None if double > 0.0 => Ordering::Greater,
            None => Ordering::Less,
        };
        Some(NumLit {
            text: text.to_string(),
            exact,
            double,
            at_double,
            floor,
            integral,
        })
    }

    /// The literal as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// An integer field against the literal, exactly.
    #[inline]
    pub fn cmp_int(&self, v: i64) -> Ordering {
        match i128::from(v).cmp(&self.floor) {
            Ordering::Equal if !self.integral => Ordering::Less,
            o => o,
        }
    }

    /// A float field against the literal, exactly, as the shortest decimal
    /// that reads back as `d` (see the module docs); NaN after every
    /// literal.
    #[inline]
    pub fn cmp_double(&self, d: f64) -> Ordering {
        // on either side of the literal's nearest double, a float is on that
        // side of the literal too (reading is monotonic); on it, its
        // shortest decimal decides, worked out once
        match d.partial_cmp(&self.double) {
            Some(Ordering::Equal) => self.at_double,
            Some(o) => o,
            None => Ordering::Greater,
        }
    }

    /// Whether a float equal to the literal's double equals the literal.
    fn double_is_literal(&self) -> bool {
        self.at_double.is_eq()
    }

    /// An exact value (an integer wider than 64 bits) against the literal.
    pub(crate) fn cmp_exact(&self, v: &Decimal) -> Ordering {
        v.cmp_value(&self.exact)
    }

    /// The integers `v` with `v OP literal`, as an inclusive range (empty
    /// when `lo > hi`), and whether the range is the complement (`!=`).
    fn int_range(&self, op: CmpOp) -> (i128, i128, bool) {
        let (f, integral) = (self.floor, self.integral);
        const MIN: i128 = i64::MIN as i128;
        const MAX: i128 = i64::MAX as i128;
        match op {
            CmpOp::Eq if integral => (f, f, false),
            CmpOp::Eq => (1, 0, false),
            CmpOp::Ne if integral => (f, f, true),
            CmpOp::Ne => (1, 0, true),
            CmpOp::Lt if integral => (MIN, f - 1, false),
            CmpOp::Lt | CmpOp::Le => (MIN, f, false),
            CmpOp::Ge if integral => (f, MAX, false),
            CmpOp::Gt | CmpOp::Ge => (f + 1, MAX, false),
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator as the canonical form writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether `field OP literal` holds when the field compares `o` to the
    /// literal.
    #[inline]
    pub fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o.is_eq(),
            CmpOp::Ne => o.is_ne(),
            CmpOp::Lt => o.is_lt(),
            CmpOp::Le => o.is_le(),
            CmpOp::Gt => o.is_gt(),
            CmpOp::Ge => o.is_ge(),
        }
    }
}

/// A field's number, as its text classifies it.
pub(crate) enum FieldNumber {
    Int(i64),
    /// An integer wider than 64 bits, exactly.
    Wide(Decimal),
    Double(f64),
}

/// Reads a text field as the project's number reader does; `None` when it
/// is not a number.
pub(crate) fn classify(text: &[u8]) -> Option<FieldNumber> {
    if let Some(v) = parse_int_field(text) {
        return Some(FieldNumber::Int(v));
    }
    if is_wide_int_field(text) {
        let t = crate::number::trim_blanks(text);
        return Decimal::parse(t).map(FieldNumber::Wide);
    }
    parse_float_field(text).map(FieldNumber::Double)
}

/// A test on a number field: `OP literal`, `BETWEEN`, `IN`. Evaluated on
/// the field's integer, exact wide integer or double (see the module docs).
pub(crate) trait NumTest {
    fn int(&self, v: i64) -> bool;
    fn double(&self, d: f64) -> bool;
    fn exact(&self, v: &Decimal) -> bool;

    #[inline]
    fn field(&self, n: &FieldNumber) -> bool {
        match n {
            FieldNumber::Int(v) => self.int(*v),
            FieldNumber::Wide(v) => self.exact(v),
            FieldNumber::Double(d) => self.double(*d),
        }
    }
}

/// For a value of a float batch: whether it must be classified by its text,
/// since an integer written so may compare differently. Only an integral
/// double of magnitude 2^53 or more may be an integer it does not hold
/// exactly; below, an integer and its double compare alike (see the module
/// docs).
#[inline]
pub(crate) fn may_hide_an_integer(d: f64) -> bool {
    d.abs() >= EXACT_DOUBLES && d.fract() == 0.0
}

/// `field OP literal`.
#[derive(Clone, Debug)]
pub(crate) struct CmpTest {
    pub op: CmpOp,
    pub lit: NumLit,
    /// Integers that pass: `lo..=hi` (or outside it when `outside`).
    lo: i64,
    hi: i64,
    outside: bool,
}

/// An i128 range clamped to i64, empty as `(1, 0)`.
fn clamp_range(lo: i128, hi: i128) -> (i64, i64) {
    let lo = lo.max(i64::MIN as i128);
    let hi = hi.min(i64::MAX as i128);
    if lo > hi {
        (1, 0)
    } else {
        (lo as i64, hi as i64)
    }
}

impl CmpTest {
    pub fn new(op: CmpOp, lit: NumLit) -> CmpTest {
        let (lo, hi, outside) = lit.int_range(op);
        let (lo, hi) = clamp_range(lo, hi);
        CmpTest {
            op,
            lit,
            lo,
            hi,
            outside,
        }
    }
}

impl NumTest for CmpTest {
    #[inline]
    fn int(&self, v: i64) -> bool {
        (self.lo <= v && v <= self.hi) != self.outside
    }
    #[inline]
    fn double(&self, d: f64) -> bool {
        self.op.holds(self.lit.cmp_double(d))
    }
    fn exact(&self, v: &Decimal) -> bool {
        self.op.holds(self.lit.cmp_exact(v))
    }
}

/// `field BETWEEN low AND high`.
#[derive(Clone, Debug)]
pub(crate) struct BetweenTest {
    pub low: NumLit,
    pub high: NumLit,
    lo: i64,
    hi: i64,
}

impl BetweenTest {
    pub fn new(low: NumLit, high: NumLit) -> BetweenTest {
        let (lo, _, _) = low.int_range(CmpOp::Ge);
        let (_, hi, _) = high.int_range(CmpOp::Le);
        let (lo, hi) = clamp_range(lo, hi);
        BetweenTest { low, high, lo, hi }
    }
}

impl NumTest for BetweenTest {
    #[inline]
    fn int(&self, v: i64) -> bool {
        self.lo <= v && v <= self.hi
    }
    #[inline]
    fn double(&self, d: f64) -> bool {
        self.low.cmp_double(d).is_ge() && self.high.cmp_double(d).is_le()
    }
    fn exact(&self, v: &Decimal) -> bool {
        self.low.cmp_exact(v).is_ge() && self.high.cmp_exact(v).is_le()
    }
}

/// `field IN (literal, ...)`.
#[derive(Clone, Debug)]
pub(crate) struct InTest {
    pub lits: Vec<NumLit>,
    /// The integral literals in the i64 range, sorted.
    ints: Vec<i64>,
    /// The doubles of the literals a float can equal (those that are the
    /// shortest decimal of their double), sorted.
    doubles: Vec<f64>,
}

impl InTest {
    pub fn new(lits: Vec<NumLit>) -> InTest {
        let mut ints: Vec<i64> = lits
            .iter()
            .filter(|l| l.integral && i64::try_from(l.floor).is_ok())
            .map(|l| l.floor as i64)
            .collect();
        ints.sort_unstable();
        ints.dedup();
        let mut doubles: Vec<f64> = (lits.iter())
            .filter(|l| l.double_is_literal())
            .map(|l| l.double)
            .collect();
        doubles.sort_by(f64::total_cmp);
        InTest {
            lits,
            ints,
            doubles,
        }
    }
}

/// Whether sorted `set` (no NaN) holds a double equal to `d`.
#[inline]
fn holds_double(set: &[f64], d: f64) -> bool {
    // binary search by value: -0.0 and 0.0 are equal, NaN matches nothing
    let i = set.partition_point(|&x| x < d);
    set.get(i).is_some_and(|&x| x == d)
}

impl NumTest for InTest {
    #[inline]
    fn int(&self, v: i64) -> bool {
        if self.ints.len() <= 8 {
            self.ints.contains(&v)
        } else {
            self.ints.binary_search(&v).is_ok()
        }
    }
    #[inline]
    fn double(&self, d: f64) -> bool {
        holds_double(&self.doubles, d)
    }
    fn exact(&self, v: &Decimal) -> bool {
        self.lits.iter().any(|l| l.cmp_exact(v).is_eq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> NumLit {
        NumLit::parse(s).unwrap_or_else(|| panic!("{s} is a literal"))
    }

    fn dec(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(dec("0012.3400"), dec("12.34"));
        assert_eq!(dec("1234e-2"), dec("12.34"));
        assert_eq!(dec(".5"), dec("0.5"));
        assert_eq!(dec("5."), dec("5"));
        assert_eq!(dec("-0"), dec("0"));
        assert_eq!(dec("+0.000e99"), dec("0"));
        assert_eq!(dec("1E+3"), dec("1000"));
        for bad in [
            "", "-", ".", "e3", "1e", "1e+", "1.2.3", "1x", "--1", "0x10", "1 ",
        ] {
            assert!(Decimal::parse(bad.as_bytes()).is_none(), "{bad}");
        }
        let order = [
            "-1e400", "-12", "-11.99", "-1", "-0.5", "-1e-400", "0", "1e-400", "0.1", "0.5", "1",
            "9.99", "10", "1e19", "1e400",
        ];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(dec(a).cmp_value(&dec(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn exact_values_of_doubles() {
        assert_eq!(Decimal::from_f64(0.5), Some(dec("0.5")));
        assert_eq!(Decimal::from_f64(-3.0), Some(dec("-3")));
        assert_eq!(
            Decimal::from_f64(0.1),
            Some(dec(
                "0.1000000000000000055511151231257827021181583404541015625"
            ))
        );
        assert_eq!(
            Decimal::from_f64(2f64.powi(70)),
            Some(dec("1180591620717411303424"))
        );
        assert_eq!(Decimal::from_f64(5e-324), Some(dec("4.940656458412465441765687928682213723650598026143247644255856825006755072702087518652998363616359923797965646954457177309266567103559397963987747960107818781263007131903114045278458171678489821036887186360569987307230500063874091535649843873124733972731696151400317153853980741262385655911710266585566867681870395603106249319452715914924553293054565444011274801297099995419319894090804165633245247571478690147267801593552386115501348035264934720193790268107107491703332226844753335720832431936092382893458368060106011506169809753078342277318329247904982524730776375927247874656084778203734469699533647017972677717585125660551199131504891101451037862738167250955837389733598993664809941164205702637090279242767544565229087538682506419718265533447265625e-324")));
        assert_eq!(Decimal::from_f64(f64::NAN), None);
    }

    #[test]
    fn literal_views() {
        use Ordering::*;
        let l = lit("2.5");
        assert_eq!(
            (l.floor, l.integral, l.at_double, l.double),
            (2, false, Equal, 2.5)
        );
        let l = lit("-2.5");
        assert_eq!((l.floor, l.integral), (-3, false));
        let l = lit("0.1");
        assert_eq!((l.double, l.at_double), (0.1, Equal), "0.1 prints as 0.1");
        let l = lit("0.10000000000000001");
        assert_eq!((l.double, l.at_double), (0.1, Less));
        let l = lit("1e400");
        assert_eq!((l.double, l.at_double), (f64::INFINITY, Greater));
        assert_eq!(l.floor, i64::MAX as i128 + 1);
        let l = lit("-1e-400");
        assert_eq!((l.double, l.floor, l.integral), (0.0, -1, false));
        assert_eq!(l.at_double, Greater, "0 is above -1e-400");
        let l = lit("9223372036854775807");
        assert_eq!(
            (l.floor, l.integral, l.at_double),
            (i64::MAX as i128, true, Greater),
            "the double 2^63 prints as 9.223372036854776e18"
        );
        let l = lit("-9223372036854775809");
        assert_eq!((l.floor, l.integral), (i64::MIN as i128 - 1, true));
        let l = lit("1e-99999999999999999999999");
        assert_eq!((l.double, l.floor), (0.0, 0));
    }

    #[test]
    fn integers_compare_exactly() {
        use Ordering::*;
        let l = lit("9007199254740993"); // 2^53 + 1, no double
        assert_eq!(l.cmp_int(9_007_199_254_740_992), Less);
        assert_eq!(l.cmp_int(9_007_199_254_740_993), Equal);
        assert_eq!(l.cmp_int(9_007_199_254_740_994), Greater);
        let l = lit("9223372036854775806.5");
        assert_eq!(l.cmp_int(i64::MAX - 1), Less);
        assert_eq!(l.cmp_int(i64::MAX), Greater);
        let l = lit("9223372036854775808"); // 2^63
        assert_eq!(l.cmp_int(i64::MAX), Less);
        let l = lit("-9223372036854775808");
        assert_eq!(l.cmp_int(i64::MIN), Equal);
        assert_eq!(l.cmp_int(i64::MIN + 1), Greater);
        let l = lit("-9223372036854775808.5");
        assert_eq!(l.cmp_int(i64::MIN), Greater);
        let l = lit("1e30");
        assert_eq!(l.cmp_int(i64::MAX), Less);
        let l = lit("-1e30");
        assert_eq!(l.cmp_int(i64::MIN), Greater);
        assert_eq!(lit("3.0").cmp_int(3), Equal);
        assert_eq!(lit("30e-1").cmp_int(3), Equal);
        assert_eq!(lit("3.00000000000000000001").cmp_int(3), Less);
        assert_eq!(lit("-2.5").cmp_int(-3), Less);
        assert_eq!(lit("-2.5").cmp_int(-2), Greater);
    }

    #[test]
    fn int_ranges_match_exact_comparisons() {
        let values = [
            i64::MIN,
            i64::MIN + 1,
            -4,
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            4,
            i64::MAX - 1,
            i64::MAX,
        ];
        let lits = [
            "-1e30",
            "-9223372036854775809",
            "-9223372036854775808",
            "-9223372036854775807.5",
            "-3",
            "-2.5",
            "-0",
            "0.5",
            "1e-400",
            "2",
            "2.0",
            "9223372036854775806.5",
            "9223372036854775807",
            "9223372036854775808",
            "1e400",
        ];
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ];
        for l in lits {
            for op in ops {
                let t = CmpTest::new(op, lit(l));
                for v in values {
                    assert_eq!(t.int(v), op.holds(lit(l).cmp_int(v)), "{v} {op:?} {l}");
                }
            }
            for h in lits {
                let t = BetweenTest::new(lit(l), lit(h));
                for v in values {
                    let want = lit(l).cmp_int(v).is_ge() && lit(h).cmp_int(v).is_le();
                    assert_eq!(t.int(v), want, "{v} between {l} and {h}");
                }
            }
        }
    }

    #[test]
    fn doubles_compare_exactly_as_they_print() {
        use Ordering::*;
        let l = lit("0.1");
        assert_eq!(
            l.cmp_double(0.1),
            Equal,
            "the double read from 0.1 prints so"
        );
        assert_eq!(l.cmp_double(0.3 - 0.2), Less); // 0.09999999999999998
        assert_eq!(l.cmp_double(0.30000000000000004 - 0.2), Greater);
        assert_eq!(l.cmp_double(f64::NAN), Greater);
        assert_eq!(l.cmp_double(f64::INFINITY), Greater);
        assert_eq!(l.cmp_double(f64::NEG_INFINITY), Less);
        assert_eq!(lit("0").cmp_double(-0.0), Equal);
        assert_eq!(lit("-0").cmp_double(0.0), Equal);
        // literals no double holds: 1.0 and 0.0 are where 1 and 0 are
        let l = lit("1.0000000000000000001");
        assert_eq!((l.cmp_double(1.0), l.cmp_int(1)), (Less, Less));
        let l = lit("0.9999999999999999999");
        assert_eq!((l.cmp_double(1.0), l.cmp_int(1)), (Greater, Greater));
        for zero in [0.0, -0.0] {
            assert_eq!(lit("1e-400").cmp_double(zero), Less);
            assert_eq!(lit("-1e-400").cmp_double(zero), Greater);
        }
        assert_eq!(lit("1e-400").cmp_int(0), Less);
        assert_eq!(lit("1e-400").cmp_double(5e-324), Greater);
        assert_eq!(lit("-1e-400").cmp_double(-5e-324), Less);
        // subnormals: the least one prints as 5e-324
        assert_eq!(lit("5e-324").cmp_double(5e-324), Equal);
        assert_eq!(lit("4.9406564584124654e-324").cmp_double(5e-324), Greater);
        assert_eq!(lit("3e-324").cmp_double(5e-324), Greater);
        assert_eq!(lit("3e-324").cmp_double(0.0), Less);
        // around the greatest double, and beyond: an infinity is beyond
        // every literal
        assert_eq!(lit("1.7976931348623157e308").cmp_double(f64::MAX), Equal);
        assert_eq!(lit("1.7976931348623158e308").cmp_double(f64::MAX), Less);
        assert_eq!(lit("1e400").cmp_double(f64::INFINITY), Greater);
        assert_eq!(lit("1e400").cmp_double(f64::MAX), Less);
        assert_eq!(lit("-1e400").cmp_double(f64::NEG_INFINITY), Less);
        assert_eq!(lit("-1e400").cmp_double(f64::MIN), Greater);
        // the exact value of a double that prints shorter is above it
        let exact = "0.1000000000000000055511151231257827021181583404541015625";
        assert_eq!(lit(exact).cmp_double(0.1), Less);
        // only integral doubles from 2^53 on are read again as text
        assert!(may_hide_an_integer(9007199254740992.0) && may_hide_an_integer(-1e17));
        assert!(!may_hide_an_integer(9007199254740991.0) && !may_hide_an_integer(3.0));
        assert!(!may_hide_an_integer(0.5) && !may_hide_an_integer(f64::INFINITY));
        assert!(!may_hide_an_integer(f64::NAN));
    }

    /// `0.DIGITSeEXP`, the value of `d` with `digits` for its digits.
    fn written(d: &Decimal, digits: &str) -> String {
        let sign = if d.neg { "-" } else { "" };
        format!("{sign}0.{digits}e{}", d.exp)
    }

    /// Literals at, just above and just below (in magnitude) the decimal
    /// `d`.
    fn around(d: &Decimal) -> Vec<String> {
        if d.is_zero() {
            return ["0", "1e-400", "-1e-400", "1e-30", "-1e-30"]
                .map(String::from)
                .to_vec();
        }
        let digits = std::str::from_utf8(&d.digits).unwrap();
        let (init, last) = digits.split_at(digits.len() - 1);
        let below = format!("{init}{}{}", last.as_bytes()[0] - b'0' - 1, "9".repeat(25));
        vec![
            written(d, digits),
            written(d, &format!("{digits}{}1", "0".repeat(25))),
            written(d, &below),
        ]
    }

    /// The precomputed comparison is the definition: a double's shortest
    /// decimal against the literal, exactly. And an integer compares as
    /// its double does, where that is the same number.
    #[test]
    fn float_comparisons_follow_the_definition() {
        use crate::testing::xorshift;
        let definition = |d: f64, l: &NumLit| match Decimal::shortest(d) {
            _ if d.is_nan() => Ordering::Greater,
            Some(shown) => shown.cmp_value(&l.exact),
            None if d > 0.0 => Ordering::Greater,
            None => Ordering::Less,
        };
        let mut state = 0x00c0_ffee_u64;
        let mut doubles = vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            9007199254740992.0,
            1e23,
            f64::INFINITY,
        ];
        for _ in 0..400 {
            let d = f64::from_bits(xorshift(&mut state));
            let k = (xorshift(&mut state) % 4001) as f64 - 2000.0;
            doubles.extend([d, k, k / 8.0, k / 10.0, k * 1e-300, -d]);
        }
        doubles.retain(|d| !d.is_nan());
        for &d in &doubles {
            // printed with Debug as the CSV writer prints it: the same value
            if d.is_finite() {
                let debug = Decimal::parse(format!("{d:?}").as_bytes()).unwrap();
                assert_eq!(Decimal::shortest(d), Some(debug), "{d:?}");
            }
            let mut lits: Vec<String> = Vec::new();
            for x in [d, d.next_up(), d.next_down()] {
                if let Some(shown) = Decimal::shortest(x) {
                    lits.extend(around(&shown));
                }
                if let Some(exact) = Decimal::from_f64(x) {
                    lits.extend(around(&exact));
                }
            }
            lits.extend(["1e400", "-1e400", "1e-400"].map(String::from));
            for text in &lits {
                let l = lit(text);
                for x in [d, d.next_up(), d.next_down(), f64::NAN] {
                    assert_eq!(l.cmp_double(x), definition(x, &l), "{x:?} vs {text}");
                }
                let t = InTest::new(vec![lit(text)]);
                assert_eq!(t.double(d), definition(d, &l).is_eq(), "{d:?} in ({text})");
                // an integer below 2^53 is its double: the same answer
                if d.fract() == 0.0 && d.abs() < EXACT_DOUBLES {
                    assert_eq!(l.cmp_int(d as i64), l.cmp_double(d), "{d} vs {text}");
                }
            }
        }
    }

    #[test]
    fn wide_integers_compare_exactly() {
        let t = CmpTest::new(CmpOp::Gt, lit("89014103211118510720"));
        let Some(FieldNumber::Wide(v)) = classify(b" 89014103211118510721") else {
            panic!("a wide integer")
        };
        assert!(t.exact(&v));
        let Some(FieldNumber::Wide(v)) = classify(b"+89014103211118510720") else {
            panic!("a wide integer")
        };
        assert!(!t.exact(&v));
        assert!(CmpTest::new(CmpOp::Eq, lit("8.9014103211118510720e19")).exact(&v));
        let t = InTest::new(vec![lit("1"), lit("89014103211118510720")]);
        assert!(t.exact(&v));
        assert!(matches!(classify(b"12"), Some(FieldNumber::Int(12))));
        assert!(matches!(classify(b"-0"), Some(FieldNumber::Double(_))));
        assert!(matches!(classify(b" 1.5e3"), Some(FieldNumber::Double(_))));
        assert!(classify(b"abc").is_none());
        assert!(classify(b"").is_none());
    }

    #[test]
    fn in_sets() {
        let t = InTest::new(vec![
            lit("3"),
            lit("2.5"),
            lit("0.1"),
            lit("-0"),
            lit("1e30"),
        ]);
        assert!(t.int(3) && t.int(0) && !t.int(2) && !t.int(1));
        assert!(t.double(2.5) && t.double(0.1) && t.double(-0.0) && t.double(1e30));
        assert!(!t.double(f64::NAN) && !t.double(0.2));
        let t = InTest::new(vec![lit("1.0000000000000000001"), lit("1e-400")]);
        assert!(!t.int(1) && !t.int(0));
        assert!(!t.double(1.0) && !t.double(0.0), "as the integers 1 and 0");
        let many = InTest::new((0..20).rev().map(|i| lit(&(i * 3).to_string())).collect());
        assert!(many.int(57) && many.int(0) && !many.int(58));
    }
}
