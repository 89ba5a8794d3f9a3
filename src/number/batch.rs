//! A batch's column of numbers, read at once: what the CSV reader types its
//! batches with.
//!
//! Why a batch reader besides the field readers of [`super`]: one loop over
//! a column can be compiled for the widest instructions the processor has
//! (the binary targets x86-64-v2), with the field readers inlined into it,
//! and can read eight fields at a time in the lanes of an AVX-512 register
//! ([`super::x8`]), or four in an AVX2 one ([`super::x4`]). The paths
//! ([`Path`]), picked per call from
//! [`crate::cpu`]'s answer; each gives exactly what the field readers give
//! field by field, which the tests here check on every path the processor
//! has:
//!
//! - [`Path::Lanes`]: eight fields at a time through the lanes; the lanes
//!   they leave (another shape, an empty field, text, the rare value whose
//!   rounding the estimate cannot decide) go through the field reader,
//!   which therefore still decides where a run of numbers stops;
//! - [`Path::Avx512`]: a field at a time, the loop compiled for AVX-512 (and
//!   BMI1, BMI2, LZCNT): the readers compiled for it took 11% less CPU on the
//!   Q1 benchmark (mean of 10M decimals), as much as building the whole
//!   binary for x86-64-v4; BMI and AVX2 alone gained 4%;
//! - [`Path::Avx2`]: what AVX2 machines without AVX-512 have (AVX2, BMI1,
//!   BMI2, LZCNT and FMA): four fields at a time through the lanes of
//!   [`super::x4`], the lanes they leave through the field reader as on
//!   [`Path::Lanes`]; on the cached fields of a batch (the benchmark's
//!   columns x, y and n) the lanes took a third less time for the floats,
//!   a fifth less for the integers, than a field at a time in the loop
//!   compiled for these instructions ([`parse_numbers_avx2`], what this
//!   path ran before);
//! - [`Path::Scalar`]: a field at a time, the loop compiled for the
//!   baseline.
//!
//! The compiled paths share one body ([`parse_numbers_with`], inlined into
//! a thin `#[target_feature]` wrapper per instruction set), so they cannot
//! drift apart.

use std::ops::Range;

use super::{is_wide_int_field, parse_float_field, parse_int_field};
use crate::cpu::{self, Features};

/// How a batch's numbers are read (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Lanes,
    Avx512,
    Avx2,
    Scalar,
}

impl Path {
    /// The fastest path `features` allow.
    pub fn of(features: Features) -> Path {
        if features.avx512_numbers() && features.avx512_lanes() {
            Path::Lanes
        } else if features.avx512_numbers() {
            Path::Avx512
        } else if features.avx2_numbers() {
            Path::Avx2
        } else {
            Path::Scalar
        }
    }
}

/// Whether a float batch holds an integer too wide for 64 bits, which
/// makes it text wherever it lands: only values of magnitude 2^63 or more
/// can be one, so the text of the few such values is looked at.
#[inline]
pub(crate) fn has_wide_int(raw: &[&[u8]], floats: &[f64]) -> bool {
    const WIDE: f64 = 9.2e18; // below 2^63, the least wide integer as a float
    floats
        .iter()
        .zip(raw)
        .any(|(v, f)| v.abs() >= WIDE && is_wide_int_field(f))
}

/// Calls `$reader::<LONG, SHORT>($args)` for the shapes of decimal the
/// float lanes should try on the batch `$raw`: those of its first eight
/// non-empty fields, long (16 to 24 bytes) or short (1 to 15), or both, as a
/// column mostly keeps one shape (the lanes leave any field of another
/// shape to the field reader, so this choice is only speed).
#[cfg(target_arch = "x86_64")]
macro_rules! by_shape {
    ($raw:expr, $reader:ident($($arg:expr),*)) => {{
        let (mut long, mut short) = (false, false);
        for field in $raw.iter().filter(|f| !f.is_empty()).take(8) {
            long |= field.len() >= 16;
            short |= field.len() < 16;
        }
        match (long, short) {
            (true, false) => $reader::<true, false>($($arg),*),
            (false, true) => $reader::<false, true>($($arg),*),
            _ => $reader::<true, true>($($arg),*),
        }
    }};
}

/// A number reader for [`parse_numbers`]: a type, not a function value, so
/// that the reader inlines into the loop compiled for AVX-512 (through a
/// function value it stayed a call, compiled for the baseline).
trait NumberReader {
    type Value: Copy;
    /// What a null (empty field) stands for in the values.
    const NULL: Self::Value;
    fn read(field: &[u8]) -> Option<Self::Value>;
}

struct Ints;

impl NumberReader for Ints {
    type Value = i64;
    const NULL: i64 = 0;
    #[inline(always)]
    fn read(field: &[u8]) -> Option<i64> {
        parse_int_field(field)
    }
}

struct Floats;

impl NumberReader for Floats {
    type Value = f64;
    const NULL: f64 = 0.0;
    #[inline(always)]
    fn read(field: &[u8]) -> Option<f64> {
        parse_float_field(field)
    }
}

/// The addresses of `buf`'s bytes: the `readable` range the batch readers
/// take for fields that lie in `buf`.
pub(crate) fn readable(buf: &[u8]) -> Range<usize> {
    let bytes = buf.as_ptr_range();
    bytes.start as usize..bytes.end as usize
}

/// Parses each field of `raw` as an integer ([`parse_int_field`]; an empty
/// one, a null, as 0) onto `out`; stops at the first field that is not one
/// and returns its index. `readable`: addresses that may be read around a
/// field (the mapped input's); the integer lanes read a field only inside
/// it, seven bytes past its start (they load the eight bytes that end where
/// the field ends).
#[inline]
pub(crate) fn parse_ints(
    raw: &[&[u8]],
    out: &mut Vec<i64>,
    readable: Range<usize>,
) -> Option<usize> {
    parse_ints_with(cpu::features(), raw, out, readable)
}

/// [`parse_ints`] on the path `features` allow.
#[inline]
fn parse_ints_with(
    features: Features,
    raw: &[&[u8]],
    out: &mut Vec<i64>,
    readable: Range<usize>,
) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    match Path::of(features) {
        Path::Lanes => {
            // SAFETY: the processor has what `parse_ints_avx512` needs
            // (`Path::Lanes`: `avx512_numbers` and `avx512_lanes`), and
            // `readable` is the caller's readable range.
            return unsafe { parse_ints_avx512(raw, out, readable) };
        }
        Path::Avx2 => {
            // SAFETY: the processor has what `parse_ints_avx2` needs
            // (`Path::Avx2`: `avx2_numbers`), and `readable` is the
            // caller's readable range.
            return unsafe { parse_ints_avx2(raw, out, readable) };
        }
        Path::Avx512 | Path::Scalar => {}
    }
    let _ = readable;
    parse_numbers::<Ints>(features, raw, out)
}

/// Parses each field of `raw` as a number ([`parse_float_field`]; an empty
/// one, a null, as 0.0) onto `out`; stops at the first field that is not
/// one and returns its index. `readable`: as for [`parse_ints`]; the float
/// lanes read a short field (1 to 15 bytes) only inside it, 16 bytes past
/// its start less the field's length (they load the 16 bytes that end
/// where the field ends).
#[inline]
pub(crate) fn parse_floats(
    raw: &[&[u8]],
    out: &mut Vec<f64>,
    readable: Range<usize>,
) -> Option<usize> {
    parse_floats_with(cpu::features(), raw, out, readable)
}

/// [`parse_floats`] on the path `features` allow.
#[inline]
fn parse_floats_with(
    features: Features,
    raw: &[&[u8]],
    out: &mut Vec<f64>,
    readable: Range<usize>,
) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    match Path::of(features) {
        Path::Lanes => {
            // SAFETY: the processor has what `parse_floats_avx512` needs
            // (`Path::Lanes`: `avx512_numbers` and `avx512_lanes`), and
            // `readable` is the caller's readable range.
            return unsafe { by_shape!(raw, parse_floats_avx512(raw, out, readable)) };
        }
        Path::Avx2 => {
            // SAFETY: the processor has what `parse_floats_avx2` needs
            // (`Path::Avx2`: `avx2_numbers`), and `readable` is the
            // caller's readable range.
            return unsafe { by_shape!(raw, parse_floats_avx2(raw, out, readable)) };
        }
        Path::Avx512 | Path::Scalar => {}
    }
    let _ = readable;
    parse_numbers::<Floats>(features, raw, out)
}

/// Parses each field of `raw` (an empty one, a null, as `R::NULL`) onto
/// `out`, a field at a time; stops at the first field that is not a number
/// and returns its index. Through [`parse_numbers_avx512`] where `features`
/// allow.
#[inline]
fn parse_numbers<R: NumberReader>(
    features: Features,
    raw: &[&[u8]],
    out: &mut Vec<R::Value>,
) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    match Path::of(features) {
        Path::Lanes | Path::Avx512 => {
            // SAFETY: the processor has the instructions (both paths
            // need `avx512_numbers`).
            return unsafe { parse_numbers_avx512::<R>(raw, out) };
        }
        Path::Avx2 => {
            // SAFETY: the processor has the instructions (`Path::Avx2`:
            // `avx2_numbers`).
            return unsafe { parse_numbers_avx2::<R>(raw, out) };
        }
        Path::Scalar => {}
    }
    let _ = features;
    parse_numbers_with::<R>(raw, out)
}

#[inline(always)]
fn parse_numbers_with<R: NumberReader>(raw: &[&[u8]], out: &mut Vec<R::Value>) -> Option<usize> {
    for (i, f) in raw.iter().enumerate() {
        if f.is_empty() {
            out.push(R::NULL);
            continue;
        }
        match R::read(f) {
            Some(v) => out.push(v),
            None => return Some(i),
        }
    }
    None
}

/// [`parse_numbers_with`] compiled for AVX-512.
///
/// # Safety
/// The processor must have AVX-512 F, BW, VL and DQ, BMI1, BMI2 and LZCNT
/// ([`Features::avx512_numbers`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,bmi1,bmi2,lzcnt")]
unsafe fn parse_numbers_avx512<R: NumberReader>(
    raw: &[&[u8]],
    out: &mut Vec<R::Value>,
) -> Option<usize> {
    parse_numbers_with::<R>(raw, out)
}

/// [`parse_numbers_with`] compiled for AVX2, BMI1, BMI2, LZCNT and FMA.
///
/// # Safety
/// The processor must have AVX2, BMI1, BMI2, LZCNT and FMA
/// ([`Features::avx2_numbers`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,fma")]
unsafe fn parse_numbers_avx2<R: NumberReader>(
    raw: &[&[u8]],
    out: &mut Vec<R::Value>,
) -> Option<usize> {
    parse_numbers_with::<R>(raw, out)
}

/// [`parse_floats`] on [`Path::Lanes`]: eight fields at a time through
/// [`read8`](super::x8::read8), for the shapes `LONG` and `SHORT` (those of
/// the batch's first fields: `by_shape`), the short ones that lie in
/// `readable`.
///
/// # Safety
/// The processor must have what [`parse_numbers_avx512`] needs, and
/// AVX-512 CD ([`Features::avx512_lanes`]); every address in `readable`
/// must be readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512cd,bmi1,bmi2,lzcnt")]
unsafe fn parse_floats_avx512<const LONG: bool, const SHORT: bool>(
    raw: &[&[u8]],
    out: &mut Vec<f64>,
    readable: Range<usize>,
) -> Option<usize> {
    use super::x8::{read8, Tables};
    let tables = Tables::new();
    parse_lanes::<Floats, 8>(raw, out, |fields| {
        // SAFETY: the caller's processor has the instructions, and the
        // caller vouches for `readable`.
        let (bits, read) = unsafe { read8::<LONG, SHORT>(fields, &tables, readable.clone()) };
        (bits.map(f64::from_bits), read)
    })
}

/// [`parse_ints`] on [`Path::Lanes`]: eight fields at a time through
/// [`read_int8`](super::x8::read_int8), for the fields that lie in
/// `readable`.
///
/// # Safety
/// The processor must have what [`parse_numbers_avx512`] needs, and every
/// address in `readable` must be readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,bmi1,bmi2,lzcnt")]
unsafe fn parse_ints_avx512(
    raw: &[&[u8]],
    out: &mut Vec<i64>,
    readable: Range<usize>,
) -> Option<usize> {
    use super::x8::read_int8;
    parse_lanes::<Ints, 8>(raw, out, |fields| {
        // SAFETY: the caller's processor has the instructions, and the
        // caller vouches for `readable`.
        let (values, read) = unsafe { read_int8(fields, readable.clone()) };
        (values.map(|v| v as i64), read)
    })
}

/// [`parse_floats`] on [`Path::Avx2`]: four fields at a time through
/// [`read4`](super::x4::read4), for the shapes `LONG` and `SHORT` (those of
/// the batch's first fields: `by_shape`), the short ones that lie in
/// `readable`.
///
/// # Safety
/// The processor must have what [`parse_numbers_avx2`] needs, and every
/// address in `readable` must be readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,fma")]
unsafe fn parse_floats_avx2<const LONG: bool, const SHORT: bool>(
    raw: &[&[u8]],
    out: &mut Vec<f64>,
    readable: Range<usize>,
) -> Option<usize> {
    use super::x4::read4;
    parse_lanes::<Floats, 4>(raw, out, |fields| {
        // SAFETY: the caller's processor has the instructions, and the
        // caller vouches for `readable`.
        let (bits, read) = unsafe { read4::<LONG, SHORT>(fields, readable.clone()) };
        (bits.map(f64::from_bits), read)
    })
}

/// [`parse_ints`] on [`Path::Avx2`]: four fields at a time through
/// [`read_int4`](super::x4::read_int4), for the fields that lie in
/// `readable`.
///
/// # Safety
/// The processor must have what [`parse_numbers_avx2`] needs, and every
/// address in `readable` must be readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,fma")]
unsafe fn parse_ints_avx2(
    raw: &[&[u8]],
    out: &mut Vec<i64>,
    readable: Range<usize>,
) -> Option<usize> {
    use super::x4::read_int4;
    parse_lanes::<Ints, 4>(raw, out, |fields| {
        // SAFETY: the caller's processor has the instructions, and the
        // caller vouches for `readable`.
        let (values, read) = unsafe { read_int4(fields, readable.clone()) };
        (values.map(|v| v as i64), read)
    })
}

/// Parses `raw` like [`parse_numbers_with`], `N` fields at a time through
/// `read_n` (their values and the mask of the lanes it read); the lanes it
/// did not read go through `R::read`, which decides where a run stops.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn parse_lanes<R: NumberReader, const N: usize>(
    raw: &[&[u8]],
    out: &mut Vec<R::Value>,
    mut read_n: impl FnMut(&[&[u8]]) -> ([R::Value; N], u8),
) -> Option<usize> {
    let mut i = 0;
    while i + N <= raw.len() {
        let fields = &raw[i..i + N];
        let (values, read) = read_n(fields);
        let at = out.len();
        out.extend(values);
        let mut rest = !read & ((1u16 << N) - 1) as u8;
        while rest != 0 {
            let lane = rest.trailing_zeros() as usize;
            let field = fields[lane];
            out[at + lane] = if field.is_empty() {
                R::NULL
            } else {
                match R::read(field) {
                    Some(v) => v,
                    None => {
                        out.truncate(at + lane);
                        return Some(i + lane);
                    }
                }
            };
            rest &= rest - 1;
        }
        i += N;
    }
    parse_numbers_with::<R>(&raw[i..], out).map(|stop| i + stop)
}

/// Reads the first eight of `fields` at once, as the CSV reader does on
/// [`Path::Lanes`]: each lane's value and the mask of the lanes read. A
/// lane read holds [`parse_float_field`] of its field, bit for bit; the
/// others are for the field reader. Only short fields (1 to 15 bytes)
/// inside `buf`, ending at least 16 bytes past its start, are read; long
/// ones anywhere. `None` where the lanes may not run
/// ([`Features::avx512_lanes`]). Public for the fuzz targets.
pub fn read_plain8(buf: &[u8], fields: &[&[u8]]) -> Option<([f64; 8], u8)> {
    #[cfg(target_arch = "x86_64")]
    if cpu::features().avx512_lanes() {
        let readable = readable(buf);
        // SAFETY: the processor has AVX-512 F, DQ and CD (`avx512_lanes`),
        // and `buf`, a slice, is readable.
        let (bits, read) =
            unsafe { super::x8::read8::<true, true>(fields, &super::x8::Tables::new(), readable) };
        return Some((bits.map(f64::from_bits), read));
    }
    let _ = (buf, fields);
    None
}

/// Like [`read_plain8`], for the integer lanes: each lane read holds
/// [`parse_int_field`] of its field. Only fields inside `buf`, at least
/// seven bytes past its start, are read. Public for the fuzz targets.
pub fn read_ints8(buf: &[u8], fields: &[&[u8]]) -> Option<([i64; 8], u8)> {
    #[cfg(target_arch = "x86_64")]
    if cpu::features().avx512_lanes() {
        let readable = readable(buf);
        // SAFETY: the processor has AVX-512 F and DQ (`avx512_lanes`), and
        // `buf`, a slice, is readable.
        let (values, read) = unsafe { super::x8::read_int8(fields, readable) };
        return Some((values.map(|v| v as i64), read));
    }
    let _ = (buf, fields);
    None
}

/// Reads the first four of `fields` at once, as the CSV reader does on
/// [`Path::Avx2`]: each lane's value and the mask of the lanes read. A
/// lane read holds [`parse_float_field`] of its field, bit for bit; the
/// others are for the field reader. Only short fields inside `buf` are
/// read, as for [`read_plain8`]. `None` where the lanes may not run
/// ([`Features::avx2_numbers`]). Public for the fuzz targets.
pub fn read_plain4(buf: &[u8], fields: &[&[u8]]) -> Option<([f64; 4], u8)> {
    #[cfg(target_arch = "x86_64")]
    if cpu::features().avx2_numbers() {
        let readable = readable(buf);
        // SAFETY: the processor has AVX2 (`avx2_numbers`), and `buf`, a
        // slice, is readable.
        let (bits, read) = unsafe { super::x4::read4::<true, true>(fields, readable) };
        return Some((bits.map(f64::from_bits), read));
    }
    let _ = (buf, fields);
    None
}

/// Like [`read_plain4`], for the integer lanes: each lane read holds
/// [`parse_int_field`] of its field. Only fields inside `buf`, at least
/// seven bytes past its start, are read. Public for the fuzz targets.
pub fn read_ints4(buf: &[u8], fields: &[&[u8]]) -> Option<([i64; 4], u8)> {
    #[cfg(target_arch = "x86_64")]
    if cpu::features().avx2_numbers() {
        let readable = readable(buf);
        // SAFETY: the processor has AVX2 (`avx2_numbers`), and `buf`, a
        // slice, is readable.
        let (values, read) = unsafe { super::x4::read_int4(fields, readable) };
        return Some((values.map(|v| v as i64), read));
    }
    let _ = (buf, fields);
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::Level;

    /// Each cap selects its path: the lanes only at `avx512` (on a
    /// processor that has them), the scalar loop below.
    #[test]
    fn each_cap_selects_its_path() {
        let full = cpu::detected();
        for cap in Level::ALL {
            let f = full.capped(cap);
            let want = match f.level() {
                Level::Avx512 if full.avx512_numbers() && full.avx512_lanes() => Path::Lanes,
                Level::Avx512 if full.avx512_numbers() => Path::Avx512,
                Level::Avx512 | Level::Avx2 if full.avx2_numbers() => Path::Avx2,
                _ => Path::Scalar,
            };
            assert_eq!(Path::of(f), want, "cap {cap}");
        }
        assert_eq!(Path::of(Features::NONE), Path::Scalar);
    }

    /// Fields of every shape the number readers meet.
    fn awkward_fields(n: usize) -> Vec<String> {
        let mut state = 0x0dd_ba11_u64;
        let mut next = move || crate::testing::xorshift(&mut state);
        (0..n)
            .map(|_| {
                let r = next();
                let x = f64::from_bits(next());
                let small = (next() % 2_000_001) as i64 - 1_000_000;
                match r % 12 {
                    0 => String::new(),
                    1 => format!("{}", small),
                    2 => format!(" {small}\t"),
                    3 => format!("{}", next() as i64),
                    4 => format!("{:e}", x),
                    5 => [
                        "inf", "-nan", "1.2.3", "abc", "-0", "+5", ".5", "5.", "-", "0x10",
                    ][(r >> 8) as usize % 10]
                        .to_string(),
                    6 => "9".repeat(1 + (r >> 8) as usize % 24),
                    // short decimals: prices, rates
                    7 => format!("{:.2}", small as f64 / 7.0),
                    8 => format!("{:.4}", small as f64 / 3e3),
                    _ => format!(
                        "{}",
                        (next() >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 500.0
                    ),
                }
            })
            .collect()
    }

    /// Every path the processor has (whatever `RAYPROC_SIMD` says) reads
    /// what the field readers read, field by field, and stops where they
    /// stop.
    #[test]
    fn batch_number_readers_agree_with_the_single_ones() {
        let fields = awkward_fields(20_000);
        // as generated (runs end at the first non-number), and with only
        // the numbers each reader takes (long runs)
        let floats_only: Vec<String> = (fields.iter())
            .filter(|f| f.is_empty() || parse_float_field(f.as_bytes()).is_some())
            .cloned()
            .collect();
        let ints_only: Vec<String> = (fields.iter())
            .filter(|f| f.is_empty() || parse_int_field(f.as_bytes()).is_some())
            .cloned()
            .collect();
        assert!(floats_only.len() > 10_000 && ints_only.len() > 5_000);
        // batches whose first fields are all of one shape, long (16 bytes
        // or more) or short, then of every shape: the lanes try only the
        // first fields' shape (`by_shape`), and the field reader reads the rest
        let of_shape = |long: bool| -> Vec<String> {
            let first = floats_only
                .iter()
                .filter(|f| !f.is_empty() && (f.len() >= 16) == long);
            first.take(8).chain(&floats_only).cloned().collect()
        };
        let (long_first, short_first) = (of_shape(true), of_shape(false));
        let chunks: Vec<&[String]> = (fields.chunks(97))
            .chain(floats_only.chunks(4096))
            .chain(ints_only.chunks(4096))
            .chain([&long_first[..], &short_first[..]])
            .collect();
        let mut paths = Vec::new();
        for cap in Level::ALL {
            let features = cpu::detected().capped(cap);
            paths.push(Path::of(features));
            for chunk in &chunks {
                check_chunk(features, chunk);
            }
        }
        // on an AVX-512 machine, the lanes were among the paths compared
        if cpu::detected().avx512_numbers() && cpu::detected().avx512_lanes() {
            assert!(paths.contains(&Path::Lanes) && paths.contains(&Path::Scalar));
        }
        // on an AVX2 machine (or one with AVX-512), the AVX2 loop was too
        if cpu::detected().avx2_numbers() {
            assert!(paths.contains(&Path::Avx2));
        }
    }

    /// `chunk` through the batch readers on the path `features` allow,
    /// against the field readers.
    fn check_chunk(features: Features, chunk: &[String]) {
        // the fields laid out in one buffer, as in an input (the
        // integer lanes and the short float ones read only fields inside
        // `readable`)
        let text = format!("header,{}", chunk.join(","));
        let mut at = "header,".len();
        let raw: Vec<&[u8]> = (chunk.iter())
            .map(|f| {
                let field = &text.as_bytes()[at..at + f.len()];
                at += f.len() + 1;
                field
            })
            .collect();
        let readable = super::readable(text.as_bytes());
        let mut ints = Vec::new();
        let stop = parse_ints_with(features, &raw, &mut ints, readable.clone());
        let want: Vec<Option<i64>> = raw
            .iter()
            .map(|f| {
                if f.is_empty() {
                    Some(0)
                } else {
                    parse_int_field(f)
                }
            })
            .collect();
        let want_stop = want.iter().position(Option::is_none);
        assert_eq!(stop, want_stop, "{:?}", Path::of(features));
        let n = stop.unwrap_or(raw.len());
        assert_eq!(
            ints,
            want[..n].iter().map(|v| v.unwrap()).collect::<Vec<_>>()
        );

        let mut floats = Vec::new();
        let stop = parse_floats_with(features, &raw, &mut floats, readable);
        let want: Vec<Option<u64>> = raw
            .iter()
            .map(|f| {
                if f.is_empty() {
                    Some(0.0f64.to_bits())
                } else {
                    parse_float_field(f).map(f64::to_bits)
                }
            })
            .collect();
        assert_eq!(
            stop,
            want.iter().position(Option::is_none),
            "{:?}",
            Path::of(features)
        );
        let n = stop.unwrap_or(raw.len());
        let got: Vec<u64> = floats.iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            got,
            want[..n].iter().map(|v| v.unwrap()).collect::<Vec<_>>()
        );
    }
}
