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
        let mut failed_at = None;
        for (i, f) in raw.iter().enumerate() {
            if f.is_empty() {
                self.ints.push(0);
                continue;
            }
            match parse_int_field(f) {
                Some(v) => self.ints.push(v),
                None => {
                    failed_at = Some(i);
                    break;
                }
            }
        }
        let Some(from) = failed_at else {
            self.ty = ColumnType::Int;
            return;
        };
        self.floats
            .extend(self.ints[..from].iter().map(|&v| v as f64));
        for f in &raw[from..] {
            if f.is_empty() {
                self.floats.push(0.0);
                continue;
            }
            match parse_float_field(f) {
                Some(v) => self.floats.push(v),
                None => {
                    self.ty = ColumnType::Text;
                    return;
                }
            }
        }
        self.ty = ColumnType::Float;
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
