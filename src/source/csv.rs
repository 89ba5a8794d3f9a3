//! Reading a partition of a CSV input as typed batches.

use super::fastscan::{FastScanner, Step};
use super::indexscan::{IndexScanner, Window};
use super::scan::{unescape, FieldSink, Scanner, Span};
use super::CsvInput;
use crate::batch::Batch;
use crate::error::DataError;
use crate::plan::{Plan, UNUSED};
use crate::value::{
    is_wide_int_field, parse_float_field, parse_int_field, Column, ColumnType, Data,
};
use std::ops::Range;

/// Rows per batch: small enough to stay in cache, large enough to amortise
/// the per-batch work.
pub const BATCH_ROWS: usize = 4096;

/// What reading a range found besides its rows.
#[derive(Debug, Default, Clone, Copy)]
pub struct RangeInfo {
    /// Where the first record at or after the range's end starts (the end of
    /// the input if none): equals `end` exactly when `end` is a record
    /// boundary, which is how speculative splits are validated.
    pub stop: usize,
}

/// A wanted field that holds escapes (`""`): its raw entry stays empty
/// until [`CsvReader::flush`] decodes it.
struct Escaped {
    slot: usize,
    row: usize,
    span: Span,
}

/// The fields of the batch being read: each slot's text, borrowed from the
/// input, and the fields that need decoding first.
struct Fields<'i> {
    raw: Vec<Vec<&'i [u8]>>,
    escaped: Vec<Escaped>,
}

impl<'i> Fields<'i> {
    #[inline(always)]
    fn push(&mut self, buf: &'i [u8], slot: usize, row: usize, span: Span) {
        if span.escaped {
            self.escaped.push(Escaped { slot, row, span });
            self.raw[slot].push(&[]);
        } else {
            self.raw[slot].push(&buf[span.start..span.end]);
        }
    }

    /// Drops the fields of rows `rows..` (a record cut short by an error).
    fn truncate(&mut self, rows: usize) {
        for r in &mut self.raw {
            r.truncate(rows);
        }
        self.escaped.retain(|e| e.row < rows);
    }

    fn clear(&mut self) {
        self.truncate(0);
    }
}

/// Takes the fields the per-record scanners report into [`Fields`].
struct SlotSink<'a, 'i> {
    slot_of: &'a [u16],
    /// `next_wanted[i]`: the first used field at or after `i`.
    next_wanted: &'a [usize],
    buf: &'i [u8],
    fields: &'a mut Fields<'i>,
    /// The batch row of the record being scanned.
    row: usize,
}

/// Bytes of a range consumed so far, reported at each full batch.
struct RangeProgress<'f> {
    reported: usize,
    report: &'f mut dyn FnMut(usize),
}

/// For each field index, the first field at or after it that has a slot
/// (`usize::MAX` past the last one); one entry past the header too.
fn next_wanted_table(slot_of: &[u16]) -> Vec<usize> {
    let mut table = vec![usize::MAX; slot_of.len() + 1];
    for i in (0..slot_of.len()).rev() {
        table[i] = if slot_of[i] != UNUSED {
            i
        } else {
            table[i + 1]
        };
    }
    table
}

impl FieldSink for SlotSink<'_, '_> {
    #[inline]
    fn field(&mut self, index: usize, span: Span) {
        if let Some(&slot) = self.slot_of.get(index) {
            if slot != UNUSED {
                self.fields.push(self.buf, slot as usize, self.row, span);
            }
        }
    }

    #[inline]
    fn next_wanted(&self, index: usize) -> usize {
        self.next_wanted.get(index).copied().unwrap_or(usize::MAX)
    }
}

/// Typed values of one slot of one batch.
#[derive(Default)]
struct Typed {
    ty: ColumnType,
    ints: Vec<i64>,
    floats: Vec<f64>,
    valid: Vec<bool>,
    has_nulls: bool,
}

impl Typed {
    /// Infers the batch type of `raw` and parses it: integers if every
    /// non-null value is one, else floats if every one is a number, else text.
    /// `readable`: addresses that may be read around a field (the input's).
    fn fill(&mut self, raw: &[&[u8]], readable: Range<usize>) {
        self.ints.clear();
        self.floats.clear();
        self.valid.clear();
        self.valid.extend(raw.iter().map(|f| !f.is_empty()));
        self.has_nulls = self.valid.contains(&false);
        if !self.valid.contains(&true) {
            self.ty = ColumnType::Null;
            self.ints.resize(raw.len(), 0);
            return;
        }
        let Some(from) = parse_ints(raw, &mut self.ints, readable) else {
            self.ty = ColumnType::Int;
            return;
        };
        if is_wide_int_field(raw[from]) {
            // an integer beyond 64 bits: text, never a float (see
            // `is_wide_int_field`)
            self.ty = ColumnType::Text;
            return;
        }
        self.floats
            .extend(self.ints[..from].iter().map(|&v| v as f64));
        self.ty = match parse_floats(&raw[from..], &mut self.floats) {
            None if has_wide_int(raw, &self.floats) => ColumnType::Text,
            None => ColumnType::Float,
            Some(_) => ColumnType::Text,
        };
    }

    fn column<'a>(&'a self, raw: &'a [&'a [u8]]) -> Column<'a> {
        let data = match self.ty {
            ColumnType::Null | ColumnType::Int => Data::Int(&self.ints),
            ColumnType::Float => Data::Float(&self.floats),
            ColumnType::Text => Data::Text(raw),
        };
        Column {
            len: raw.len(),
            data,
            valid: self.has_nulls.then_some(&self.valid[..]),
            raw: Some(raw),
        }
    }
}

/// Whether a float batch holds an integer too wide for 64 bits, which
/// makes it text wherever it lands: only values of magnitude 2^63 or more
/// can be one, so the text of the few such values is looked at.
#[inline]
fn has_wide_int(raw: &[&[u8]], floats: &[f64]) -> bool {
    const WIDE: f64 = 9.2e18; // below 2^63, the least wide integer as a float
    floats
        .iter()
        .zip(raw)
        .any(|(v, f)| v.abs() >= WIDE && is_wide_int_field(f))
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

/// Parses each field of `raw` (an empty one, a null, as `R::NULL`) onto
/// `out`; stops at the first field that is not a number and returns its
/// index.
///
/// Through [`parse_numbers_avx512`] where the processor has AVX-512 (and
/// BMI1, BMI2, LZCNT), which the baseline target (x86-64-v2) lacks: the
/// number readers compiled for it took 11% less CPU on the Q1 benchmark
/// (mean of 10M decimals), as much as building the whole binary for
/// x86-64-v4; BMI and AVX2 alone gained 4%.
#[inline]
fn parse_numbers<R: NumberReader>(raw: &[&[u8]], out: &mut Vec<R::Value>) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if avx512_available() {
        // SAFETY: the processor has the instructions (`avx512_available`).
        return unsafe { parse_numbers_avx512::<R>(raw, out) };
    }
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
/// The processor must have AVX-512 F, BW, VL and DQ, BMI1, BMI2 and LZCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,bmi1,bmi2,lzcnt")]
unsafe fn parse_numbers_avx512<R: NumberReader>(
    raw: &[&[u8]],
    out: &mut Vec<R::Value>,
) -> Option<usize> {
    parse_numbers_with::<R>(raw, out)
}

/// [`parse_numbers::<Floats>`](parse_numbers), eight fields at a time
/// through [`read8`](crate::decimal::x8::read8) where the processor has
/// AVX-512 (F, DQ, CD): the lanes it does not read go through the scalar
/// reader, which therefore still decides every field that is not a plain
/// decimal, and where a run stops.
#[inline]
fn parse_floats(raw: &[&[u8]], out: &mut Vec<f64>) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if avx512_available() && crate::decimal::lanes_available() {
        // SAFETY: the processor has the instructions (checked just above).
        return unsafe { parse_floats_avx512(raw, out) };
    }
    parse_numbers::<Floats>(raw, out)
}

/// [`parse_floats`] with AVX-512.
///
/// # Safety
/// The processor must have what [`parse_numbers_avx512`] needs, and
/// AVX-512 CD.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512cd,bmi1,bmi2,lzcnt")]
unsafe fn parse_floats_avx512(raw: &[&[u8]], out: &mut Vec<f64>) -> Option<usize> {
    use crate::decimal::x8::{read8, Tables};
    let tables = Tables::new();
    parse_eights::<Floats>(raw, out, |fields| {
        // SAFETY: the caller's processor has the instructions.
        let (bits, read) = unsafe { read8(fields, &tables) };
        (bits.map(f64::from_bits), read)
    })
}

/// [`parse_numbers::<Ints>`](parse_numbers), eight fields at a time through
/// [`read_int8`](crate::decimal::x8::read_int8) where the processor has
/// AVX-512, for the fields that lie in `readable` (the lanes load the eight
/// bytes that end where a field ends).
#[inline]
fn parse_ints(raw: &[&[u8]], out: &mut Vec<i64>, readable: Range<usize>) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if avx512_available() && crate::decimal::lanes_available() {
        // SAFETY: the processor has the instructions (checked just above).
        return unsafe { parse_ints_avx512(raw, out, readable) };
    }
    let _ = readable;
    parse_numbers::<Ints>(raw, out)
}

/// [`parse_ints`] with AVX-512.
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
    use crate::decimal::x8::read_int8;
    parse_eights::<Ints>(raw, out, |fields| {
        // SAFETY: the caller's processor has the instructions, and the
        // caller vouches for `readable`.
        let (values, read) = unsafe { read_int8(fields, readable.clone()) };
        (values.map(|v| v as i64), read)
    })
}

/// Parses `raw` like [`parse_numbers_with`], eight fields at a time through
/// `read8` (their values and the mask of the lanes it read); the lanes it
/// did not read go through `R::read`, which decides where a run stops.
#[inline(always)]
fn parse_eights<R: NumberReader>(
    raw: &[&[u8]],
    out: &mut Vec<R::Value>,
    mut read8: impl FnMut(&[&[u8]]) -> ([R::Value; 8], u8),
) -> Option<usize> {
    let mut i = 0;
    while i + 8 <= raw.len() {
        let fields = &raw[i..i + 8];
        let (values, read) = read8(fields);
        let at = out.len();
        out.extend(values);
        let mut rest = !read;
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
        i += 8;
    }
    parse_numbers_with::<R>(&raw[i..], out).map(|stop| i + stop)
}

/// Whether the processor has what [`parse_numbers_avx512`] needs, unless
/// `RAYPROC_NO_SIMD` asks for the baseline (the detection macro caches).
#[cfg(target_arch = "x86_64")]
fn avx512_available() -> bool {
    super::fastscan::simd_allowed()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("lzcnt")
}

/// Receives each batch with the start offset of each of its rows.
pub type BatchFn<'f, E> = dyn FnMut(&Batch<'_>, &[usize]) -> Result<(), E> + 'f;

/// Reads partitions of CSV inputs for one plan; reuse it across ranges of
/// inputs that outlive it (`'i`).
pub struct CsvReader<'p, 'i> {
    plan: &'p Plan,
    delimiter: u8,
    starts: Vec<usize>,
    fields: Fields<'i>,
    typed: Vec<Typed>,
}

impl<'p, 'i> CsvReader<'p, 'i> {
    pub fn new(plan: &'p Plan, delimiter: u8) -> Self {
        CsvReader {
            plan,
            delimiter,
            starts: Vec::with_capacity(BATCH_ROWS),
            fields: Fields {
                raw: vec![Vec::with_capacity(BATCH_ROWS); plan.slots()],
                escaped: Vec::new(),
            },
            typed: (0..plan.slots()).map(|_| Typed::default()).collect(),
        }
    }

    /// Reads the records that start in `start..end` of `input`, calling
    /// `on_batch` with each batch and the start offset of each of its rows.
    /// `on_progress` gets the bytes consumed since its last call.
    pub fn read_range<E: From<DataError>>(
        &mut self,
        input: &'i CsvInput,
        start: usize,
        end: usize,
        on_batch: &mut BatchFn<'_, E>,
        on_progress: &mut dyn FnMut(usize),
    ) -> Result<RangeInfo, E> {
        let buf = input.bytes();
        self.starts.clear();
        self.fields.clear();
        let mut progress = RangeProgress {
            reported: start,
            report: on_progress,
        };
        let next_wanted = next_wanted_table(&self.plan.slot_of);
        let ncols = self.plan.header.len();
        let wanted: Vec<(usize, usize)> = (self.plan.slot_of.iter().enumerate())
            .filter(|&(_, &slot)| slot != UNUSED)
            .map(|(field, &slot)| (field, slot as usize))
            .collect();
        // Three scanners, fastest first: the index path cuts regular windows
        // (every record `ncols` fields, well-formed quoting); the per-record
        // vectorised scanner takes the windows it refuses; at quoting only
        // the scalar scanner accepts, that one finishes the range.
        let mut index = IndexScanner::new(buf, self.delimiter, ncols);
        let mut pos = start;
        let mut stop = None;
        let mut resume = None;
        while stop.is_none() && resume.is_none() {
            match index.window(pos, end) {
                Window::End => stop = Some(pos),
                Window::Records { next } => {
                    stop = self.cut(&index, end, &wanted, input, on_batch, &mut progress)?;
                    pos = next;
                }
                Window::Irregular { until } => {
                    let until = until.min(end);
                    let mut fast = FastScanner::new(buf, pos, until, self.delimiter);
                    loop {
                        let mut sink = self.sink(&next_wanted, buf);
                        match fast.next_record(&mut sink) {
                            Step::Record(record_start, fields) => {
                                self.accept(input, record_start, fields, on_batch, &mut progress)?;
                            }
                            Step::End => break,
                            Step::Irregular(at) => {
                                self.fields.truncate(self.starts.len());
                                resume = Some(at);
                                break;
                            }
                        }
                    }
                    pos = fast.position();
                    if until == end && resume.is_none() {
                        stop = Some(pos);
                    }
                }
            }
        }
        let mut stop = stop.unwrap_or(pos);
        if let Some(at) = resume {
            let mut scanner = Scanner::new(buf, at, self.delimiter);
            loop {
                let mut sink = self.sink(&next_wanted, buf);
                match scanner.next_record(end, &mut sink) {
                    None => break,
                    Some(Ok((record_start, fields))) => {
                        self.accept(input, record_start, fields, on_batch, &mut progress)?;
                    }
                    Some(Err(e)) => {
                        self.fields.truncate(self.starts.len());
                        self.flush(input, on_batch)?;
                        let line = input.line_of(e.quote);
                        let msg = format!("quoted field opened on line {line} is never closed");
                        return Err(input.error_at(e.record_start, None, msg).into());
                    }
                }
            }
            stop = scanner.position();
        }
        self.flush(input, on_batch)?;
        (progress.report)(end.saturating_sub(progress.reported));
        input.release(start, end);
        Ok(RangeInfo { stop })
    }

    /// A sink for the per-record scanners' fields of the next record.
    fn sink<'a>(&'a mut self, next_wanted: &'a [usize], buf: &'i [u8]) -> SlotSink<'a, 'i> {
        SlotSink {
            slot_of: &self.plan.slot_of,
            next_wanted,
            buf,
            fields: &mut self.fields,
            row: self.starts.len(),
        }
    }

    /// Takes the records of an indexed window that start before `end` into
    /// batches, column by column: for each wanted field, one tight loop over
    /// the records (two index reads each), where a record at a time cost a
    /// branchy call per record. Returns the first record start at or after
    /// `end`, if the window holds one.
    fn cut<E: From<DataError>>(
        &mut self,
        index: &IndexScanner<'i>,
        end: usize,
        wanted: &[(usize, usize)],
        input: &CsvInput,
        on_batch: &mut BatchFn<'_, E>,
        progress: &mut RangeProgress<'_>,
    ) -> Result<Option<usize>, E> {
        let records = index.records();
        let mut r = 0;
        while r < records.len() {
            let row = self.starts.len();
            let upto = records.len().min(r + BATCH_ROWS - row);
            let mut stop = None;
            let mut take = r;
            while take < upto {
                let s = records.start(take);
                if s >= end {
                    stop = Some(s);
                    break;
                }
                self.starts.push(s);
                take += 1;
            }
            let Fields { raw, escaped } = &mut self.fields;
            for &(field, slot) in wanted {
                records.cut_field(field, r..take, &mut raw[slot], |q, span| {
                    let row = row + q - r;
                    escaped.push(Escaped { slot, row, span });
                });
            }
            self.flush_if_full(input, on_batch, progress)?;
            if stop.is_some() {
                return Ok(stop);
            }
            r = take;
        }
        Ok(None)
    }

    /// Takes a scanned record into the batch; a full batch is flushed and
    /// the bytes up to the record reported as progress.
    fn accept<E: From<DataError>>(
        &mut self,
        input: &CsvInput,
        record_start: usize,
        fields: usize,
        on_batch: &mut BatchFn<'_, E>,
        progress: &mut RangeProgress<'_>,
    ) -> Result<(), E> {
        let ncols = self.plan.header.len();
        if fields != ncols {
            self.fields.truncate(self.starts.len());
            self.flush(input, on_batch)?;
            let msg = format!("expected {ncols} fields (as in the header), found {fields}");
            return Err(input.error_at(record_start, None, msg).into());
        }
        self.starts.push(record_start);
        self.flush_if_full(input, on_batch, progress)
    }

    /// Flushes a full batch and reports the bytes up to its last record as
    /// progress.
    fn flush_if_full<E: From<DataError>>(
        &mut self,
        input: &CsvInput,
        on_batch: &mut BatchFn<'_, E>,
        progress: &mut RangeProgress<'_>,
    ) -> Result<(), E> {
        if self.starts.len() == BATCH_ROWS {
            let last = self.starts[BATCH_ROWS - 1];
            self.flush(input, on_batch)?;
            (progress.report)(last - progress.reported);
            progress.reported = last;
        }
        Ok(())
    }

    /// Types the batch's fields, hands the batch to `on_batch` and clears it.
    fn flush<E: From<DataError>>(
        &mut self,
        input: &CsvInput,
        on_batch: &mut BatchFn<'_, E>,
    ) -> Result<(), E> {
        let n = self.starts.len();
        if n == 0 {
            return Ok(());
        }
        let buf = input.bytes();
        let readable = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
        let result = if self.fields.escaped.is_empty() {
            let raw = &self.fields.raw;
            call_with_batch(&mut self.typed, raw, readable, &self.starts, on_batch)
        } else {
            // decode the escaped fields into a patched copy of the batch
            // (rare: only fields that hold `""`)
            let decoded: Vec<Vec<u8>> = (self.fields.escaped.iter())
                .map(|e| {
                    let mut out = Vec::new();
                    unescape(&buf[e.span.start..e.span.end], &mut out);
                    out
                })
                .collect();
            let mut raw: Vec<Vec<&[u8]>> = self.fields.raw.clone();
            for (e, text) in self.fields.escaped.iter().zip(&decoded) {
                raw[e.slot][e.row] = text;
            }
            call_with_batch(&mut self.typed, &raw, readable, &self.starts, on_batch)
        };
        self.starts.clear();
        self.fields.clear();
        result
    }
}

/// Types each slot's fields and calls `on_batch` with the batch;
/// `readable` as for [`Typed::fill`].
fn call_with_batch<E>(
    typed: &mut [Typed],
    raw: &[Vec<&[u8]>],
    readable: Range<usize>,
    starts: &[usize],
    on_batch: &mut BatchFn<'_, E>,
) -> Result<(), E> {
    for (typed, raw) in typed.iter_mut().zip(raw) {
        typed.fill(raw, readable.clone());
    }
    let batch = Batch {
        len: starts.len(),
        columns: typed.iter().zip(raw).map(|(t, r)| t.column(r)).collect(),
        types: typed.iter().map(|t| t.ty).collect(),
    };
    on_batch(&batch, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    _ => format!(
                        "{}",
                        (next() >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 500.0
                    ),
                }
            })
            .collect()
    }

    /// Reads `text` whole through a [`CsvReader`] that wants columns `b`
    /// and `c`: every field's text, batch by batch, in order.
    fn read_fields(text: &str) -> Vec<[Vec<u8>; 2]> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let input = CsvInput::open(&path, b',').unwrap();
        let specs = crate::spec::parse_specs(&["min:c,max:b"]).unwrap();
        let plan = Plan::new(&input.header, &specs, &[]).unwrap();
        let (b, c) = (plan.slot_of[1] as usize, plan.slot_of[2] as usize);
        let mut reader = CsvReader::new(&plan, b',');
        let mut got = Vec::new();
        let mut on_batch = |batch: &Batch<'_>, starts: &[usize]| -> Result<(), DataError> {
            assert_eq!(batch.len, starts.len());
            assert!(batch.len <= BATCH_ROWS);
            let text = |slot: usize, row: usize| batch.columns[slot].raw.unwrap()[row].to_vec();
            got.extend((0..batch.len).map(|row| [text(b, row), text(c, row)]));
            Ok(())
        };
        let (start, end) = (input.body_start, input.bytes().len());
        reader
            .read_range(&input, start, end, &mut on_batch, &mut |_| {})
            .unwrap();
        got
    }

    #[test]
    fn fields_with_escapes_keep_their_rows_on_every_scanner_path() {
        // every record regular (the index path), escapes on random rows and
        // across batch boundaries; then the same with a blank line now and
        // then (the per-record paths) and with a stray quote (the scalar one)
        let mut state = 5u64;
        for variant in 0..3 {
            let mut text = String::from("a,b,c\n");
            for i in 0..3 * BATCH_ROWS + 17 {
                let r = crate::testing::xorshift(&mut state);
                let b = match r % 5 {
                    0 => format!("\"say \"\"{i}\"\"\""),
                    1 => format!("\"q,{i}\""),
                    2 => String::new(),
                    _ => format!("p{i}"),
                };
                let c = if (r >> 8).is_multiple_of(7) {
                    format!("\"{i}\"\"\"")
                } else {
                    format!("{}", i as f64 / 8.0)
                };
                text.push_str(&format!("{i},{b},{c}\n"));
                if variant == 1 && (r >> 16).is_multiple_of(500) {
                    text.push('\n');
                }
                if variant == 2 && i == BATCH_ROWS + 3 {
                    text.push_str(&format!("{i},x\"y,1\n"));
                }
            }
            let mut want = Vec::new();
            let mut rdr = ::csv::ReaderBuilder::new().from_reader(text.as_bytes());
            for rec in rdr.byte_records() {
                let rec = rec.unwrap();
                want.push([rec[1].to_vec(), rec[2].to_vec()]);
            }
            assert_eq!(read_fields(&text), want, "variant {variant}");
        }
    }

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
        let chunks = (fields.chunks(97))
            .chain(floats_only.chunks(4096))
            .chain(ints_only.chunks(4096));
        for chunk in chunks {
            // the fields laid out in one buffer, as in an input (the
            // integer lanes read only fields inside `readable`)
            let text = format!("header,{}", chunk.join(","));
            let mut at = "header,".len();
            let raw: Vec<&[u8]> = (chunk.iter())
                .map(|f| {
                    let field = &text.as_bytes()[at..at + f.len()];
                    at += f.len() + 1;
                    field
                })
                .collect();
            let readable = text.as_ptr() as usize..text.as_ptr() as usize + text.len();
            let mut ints = Vec::new();
            let stop = parse_ints(&raw, &mut ints, readable);
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
            assert_eq!(stop, want_stop);
            let n = stop.unwrap_or(raw.len());
            assert_eq!(
                ints,
                want[..n].iter().map(|v| v.unwrap()).collect::<Vec<_>>()
            );

            let mut floats = Vec::new();
            let stop = parse_floats(&raw, &mut floats);
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
            assert_eq!(stop, want.iter().position(Option::is_none));
            let n = stop.unwrap_or(raw.len());
            let got: Vec<u64> = floats.iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got,
                want[..n].iter().map(|v| v.unwrap()).collect::<Vec<_>>()
            );
        }
    }
}
