//! Reading a partition of a CSV input as typed batches.

use super::fastscan::{FastScanner, Step};
use super::indexscan::{IndexScanner, Window};
use super::scan::{unescape, FieldSink, Scanner, Span};
use super::CsvInput;
use crate::batch::Batch;
use crate::error::DataError;
use crate::plan::{Plan, UNUSED};
use crate::value::{parse_float_field, parse_int_field, Column, ColumnType, Data};

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

struct SlotSink<'a> {
    slot_of: &'a [u16],
    /// `next_wanted[i]`: the first used field at or after `i`.
    next_wanted: &'a [usize],
    spans: &'a mut [Vec<Span>],
}

impl<'a> SlotSink<'a> {
    fn new(plan: &'a Plan, next_wanted: &'a [usize], spans: &'a mut [Vec<Span>]) -> Self {
        SlotSink {
            slot_of: &plan.slot_of,
            next_wanted,
            spans,
        }
    }
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

impl FieldSink for SlotSink<'_> {
    #[inline]
    fn field(&mut self, index: usize, span: Span) {
        if let Some(&slot) = self.slot_of.get(index) {
            if slot != UNUSED {
                self.spans[slot as usize].push(span);
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
    fn fill(&mut self, raw: &[&[u8]]) {
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
        let Some(from) = parse_numbers::<Ints>(raw, &mut self.ints) else {
            self.ty = ColumnType::Int;
            return;
        };
        self.floats
            .extend(self.ints[..from].iter().map(|&v| v as f64));
        self.ty = match parse_numbers::<Floats>(&raw[from..], &mut self.floats) {
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

/// Reads partitions of CSV inputs for one plan; reuse it across ranges.
pub struct CsvReader<'p> {
    plan: &'p Plan,
    delimiter: u8,
    starts: Vec<usize>,
    spans: Vec<Vec<Span>>,
    typed: Vec<Typed>,
    decoded: Vec<Vec<u8>>,
}

impl<'p> CsvReader<'p> {
    pub fn new(plan: &'p Plan, delimiter: u8) -> Self {
        CsvReader {
            plan,
            delimiter,
            starts: Vec::with_capacity(BATCH_ROWS),
            spans: vec![Vec::with_capacity(BATCH_ROWS); plan.slots()],
            typed: (0..plan.slots()).map(|_| Typed::default()).collect(),
            decoded: Vec::new(),
        }
    }

    /// Reads the records that start in `start..end` of `input`, calling
    /// `on_batch` with each batch and the start offset of each of its rows.
    /// `on_progress` gets the bytes consumed since its last call.
    pub fn read_range<E: From<DataError>>(
        &mut self,
        input: &CsvInput,
        start: usize,
        end: usize,
        on_batch: &mut BatchFn<'_, E>,
        on_progress: &mut dyn FnMut(usize),
    ) -> Result<RangeInfo, E> {
        let buf = input.bytes();
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
                    let mut records = index.records();
                    while let Some(record_start) = records.next_start() {
                        if record_start >= end {
                            stop = Some(record_start);
                            break;
                        }
                        for &(field, slot) in &wanted {
                            self.spans[slot].push(records.field(field));
                        }
                        self.accept(input, record_start, ncols, on_batch, &mut progress)?;
                        records.advance();
                    }
                    pos = next;
                }
                Window::Irregular { until } => {
                    let until = until.min(end);
                    let mut fast = FastScanner::new(buf, pos, until, self.delimiter);
                    loop {
                        let mut sink = SlotSink::new(self.plan, &next_wanted, &mut self.spans);
                        match fast.next_record(&mut sink) {
                            Step::Record(record_start, fields) => {
                                self.accept(input, record_start, fields, on_batch, &mut progress)?;
                            }
                            Step::End => break,
                            Step::Irregular(at) => {
                                self.truncate_to_complete();
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
                let mut sink = SlotSink::new(self.plan, &next_wanted, &mut self.spans);
                match scanner.next_record(end, &mut sink) {
                    None => break,
                    Some(Ok((record_start, fields))) => {
                        self.accept(input, record_start, fields, on_batch, &mut progress)?;
                    }
                    Some(Err(e)) => {
                        self.truncate_to_complete();
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
            self.truncate_to_complete();
            self.flush(input, on_batch)?;
            let msg = format!("expected {ncols} fields (as in the header), found {fields}");
            return Err(input.error_at(record_start, None, msg).into());
        }
        self.starts.push(record_start);
        if self.starts.len() == BATCH_ROWS {
            self.flush(input, on_batch)?;
            (progress.report)(record_start - progress.reported);
            progress.reported = record_start;
        }
        Ok(())
    }

    /// Drops fields of a record that was cut short by an error.
    fn truncate_to_complete(&mut self) {
        let n = self.starts.len();
        for s in &mut self.spans {
            s.truncate(n);
        }
    }

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
        // decode escaped fields first, so that every field can be borrowed
        self.decoded.clear();
        for spans in &self.spans {
            for span in spans.iter().filter(|s| s.escaped) {
                let mut out = Vec::new();
                unescape(&buf[span.start..span.end], &mut out);
                self.decoded.push(out);
            }
        }
        let mut decoded = self.decoded.iter();
        let raw: Vec<Vec<&[u8]>> = self
            .spans
            .iter()
            .map(|spans| {
                spans
                    .iter()
                    .map(|s| {
                        if s.escaped {
                            decoded.next().expect("decoded field").as_slice()
                        } else {
                            &buf[s.start..s.end]
                        }
                    })
                    .collect()
            })
            .collect();
        for (typed, raw) in self.typed.iter_mut().zip(&raw) {
            typed.fill(raw);
        }
        let batch = Batch {
            len: n,
            columns: self
                .typed
                .iter()
                .zip(&raw)
                .map(|(t, r)| t.column(r))
                .collect(),
            types: self.typed.iter().map(|t| t.ty).collect(),
        };
        let result = on_batch(&batch, &self.starts);
        drop(batch);
        self.starts.clear();
        for s in &mut self.spans {
            s.clear();
        }
        result
    }
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
            let raw: Vec<&[u8]> = chunk.iter().map(|f| f.as_bytes()).collect();
            let mut ints = Vec::new();
            let stop = parse_numbers::<Ints>(&raw, &mut ints);
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
            let stop = parse_numbers::<Floats>(&raw, &mut floats);
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
