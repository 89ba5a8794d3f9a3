//! Number literals of `--where`, and how a field compares with one.
//!
//! A literal is kept as its exact decimal value ([`Decimal`]), from which
//! three views are derived once, at parse time: the interval arithmetic an
//! integer needs (`floor` and whether the value is integral), the double the
//! project's number reader makes of it, and whether that double is exact.
//!
//! How a field compares depends on the field's *text*, never on the type its
//! batch happened to get (a column may be integer in one batch and float or
//! text in the next, and batches depend on `--partitions`):
//!
//! - a field that is an integer (`parse_int_field`, or an integer wider than
//!   64 bits) compares **exactly** with the literal's exact value: `x < 2.5`
//!   is `x <= 2`, `x = 2.5` is never true, and `9007199254740993 >
//!   9007199254740992` however large the integers;
//! - any other number is a double (the column is a float column), and it is
//!   compared with the double the same reader makes of the literal's text,
//!   exactly (no tolerance): `x = 0.1` holds for every field written `0.1`,
//!   as the field and the literal are the same double. NaN, however spelled,
//!   sorts after `+inf` (as in group keys and `max`), so it is greater than
//!   every literal; `-0.0` equals `0`.
//!
//! The two rules differ only for a literal that no double holds exactly
//! (`0.1`, `3.00000000000000000001`) compared with an integral field, so in
//! a float batch only an integral value of magnitude 2^53 or more, or one
//! equal to such a literal's double, is looked at as the text it was read
//! from ([`NumTest::ambiguous`]); every other float compares as a double.

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

    /// The exact value of a finite double (`None` for NaN and infinities).
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
    /// The literal as the project's number reader reads it (never NaN).
    double: f64,
    /// The largest integer not above the literal, clamped to
    /// `[i64::MIN - 1, i64::MAX + 1]`.
    floor: i128,
    /// The literal is an integer.
    integral: bool,
    /// `double` is not the literal's exact value (`0.1`, `1e400`).
    inexact: bool,
}

impl NumLit {
    /// `None` unless `text` is a number literal.
    pub fn parse(text: &str) -> Option<NumLit> {
        let exact = Decimal::parse(text.as_bytes())?;
        let double = exact.to_f64();
        let (floor, integral) = exact.floor_clamped();
        let inexact = Decimal::from_f64(double).is_none_or(|d| d != exact);
        Some(NumLit {
            text: text.to_string(),
            exact,
            double,
            floor,
            integral,
            inexact,
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

    /// A non-integer number field against the literal's double; NaN after
    /// every literal.
    #[inline]
    pub fn cmp_double(&self, d: f64) -> Ordering {
        d.partial_cmp(&self.double).unwrap_or(Ordering::Greater)
    }

    /// An exact value (an integer wider than 64 bits) against the literal.
    pub(crate) fn cmp_exact(&self, v: &Decimal) -> Ordering {
        v.cmp_value(&self.exact)
    }

    /// Whether an integral double `d` compares differently with this
    /// literal as an integer and as a double (see the module docs).
    #[inline]
    fn double_hides_integer(&self, d: f64) -> bool {
        self.inexact && d == self.double
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
    /// For a value of a float batch: whether it must be classified by its
    /// text, since an integer written so would compare differently.
    fn ambiguous(&self, d: f64) -> bool;

    #[inline]
    fn field(&self, n: &FieldNumber) -> bool {
        match n {
            FieldNumber::Int(v) => self.int(*v),
            FieldNumber::Wide(v) => self.exact(v),
            FieldNumber::Double(d) => self.double(*d),
        }
    }
}

/// Whether `d` could have been read from an integer's text: only an
/// integral double could (the tests then check the rest).
#[inline]
fn may_be_ambiguous(d: f64) -> bool {
    d.fract() == 0.0
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
    #[inline]
    fn ambiguous(&self, d: f64) -> bool {
        may_be_ambiguous(d) && (d.abs() >= EXACT_DOUBLES || self.lit.double_hides_integer(d))
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
    #[inline]
    fn ambiguous(&self, d: f64) -> bool {
        may_be_ambiguous(d)
            && (d.abs() >= EXACT_DOUBLES
                || self.low.double_hides_integer(d)
                || self.high.double_hides_integer(d))
    }
}

/// `field IN (literal, ...)`.
#[derive(Clone, Debug)]
pub(crate) struct InTest {
    pub lits: Vec<NumLit>,
    /// The integral literals in the i64 range, sorted.
    ints: Vec<i64>,
    /// The literals' doubles, sorted.
    doubles: Vec<f64>,
    /// The doubles of inexact literals, sorted.
    inexact: Vec<f64>,
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
        let sorted = |f: &dyn Fn(&NumLit) -> bool| {
            let mut v: Vec<f64> = lits.iter().filter(|l| f(l)).map(|l| l.double).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let doubles = sorted(&|_| true);
        let inexact = sorted(&|l| l.inexact);
        InTest {
            lits,
            ints,
            doubles,
            inexact,
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
    #[inline]
    fn ambiguous(&self, d: f64) -> bool {
        may_be_ambiguous(d) && (d.abs() >= EXACT_DOUBLES || holds_double(&self.inexact, d))
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
        let l = lit("2.5");
        assert_eq!(
            (l.floor, l.integral, l.inexact, l.double),
            (2, false, false, 2.5)
        );
        let l = lit("-2.5");
        assert_eq!((l.floor, l.integral), (-3, false));
        let l = lit("0.1");
        assert!(l.inexact);
        assert_eq!(l.double, 0.1);
        let l = lit("1e400");
        assert_eq!((l.double, l.inexact), (f64::INFINITY, true));
        assert_eq!(l.floor, i64::MAX as i128 + 1);
        let l = lit("-1e-400");
        assert_eq!((l.double, l.floor, l.integral), (0.0, -1, false));
        let l = lit("9223372036854775807");
        assert_eq!(
            (l.floor, l.integral, l.inexact),
            (i64::MAX as i128, true, true)
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
    fn doubles_compare_as_the_reader_reads_the_literal() {
        use Ordering::*;
        let l = lit("0.1");
        assert_eq!(l.cmp_double(0.1), Equal);
        assert_eq!(l.cmp_double(0.3 - 0.2), Less); // 0.09999999999999998
        assert_eq!(l.cmp_double(0.30000000000000004 - 0.2), Greater);
        assert_eq!(l.cmp_double(f64::NAN), Greater);
        assert_eq!(l.cmp_double(f64::INFINITY), Greater);
        assert_eq!(l.cmp_double(f64::NEG_INFINITY), Less);
        assert_eq!(lit("0").cmp_double(-0.0), Equal);
        assert_eq!(lit("1e400").cmp_double(f64::INFINITY), Equal);
        assert_eq!(lit("1e400").cmp_double(f64::MAX), Less);
        let t = CmpTest::new(CmpOp::Gt, lit("3.00000000000000000001"));
        assert!(
            t.ambiguous(3.0),
            "an integer 3 is below, a double 3.0 equal"
        );
        assert!(!t.ambiguous(4.0));
        assert!(!t.ambiguous(3.5));
        assert!(t.ambiguous(1e17));
        assert!(!CmpTest::new(CmpOp::Gt, lit("0.1")).ambiguous(1.0));
        assert!(!t.ambiguous(f64::INFINITY));
        assert!(!t.ambiguous(f64::NAN));
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
        assert!(t.ambiguous(1e30) && !t.ambiguous(3.0) && !t.ambiguous(0.1));
        let many = InTest::new((0..20).rev().map(|i| lit(&(i * 3).to_string())).collect());
        assert!(many.int(57) && many.int(0) && !many.int(58));
    }
}
