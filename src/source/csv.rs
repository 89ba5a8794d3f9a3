//! Reading a partition of a CSV input as typed batches.

use super::csv_run::with_null_hint;
use super::fastscan::{FastScanner, Step};
use super::indexscan::{IndexScanner, Window};
use super::scan::{unescape, FieldSink, Scanner, Span};
use super::{CsvInput, FetchAhead};
use crate::batch::{Batch, BATCH_ROWS};
use crate::error::DataError;
use crate::number::typing::Typed;
use crate::plan::{Plan, UNUSED};
use crate::rows::Buckets;
use crate::value::Column;
use std::ops::Range;

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

/// Receives each batch with the start offset of each of its rows.
pub type BatchFn<'f, E> = dyn FnMut(&Batch<'_>, &[usize]) -> Result<(), E> + 'f;

/// Reads partitions of CSV inputs for one plan; reuse it across ranges of
/// inputs that outlive it (`'i`).
pub struct CsvReader<'p, 'i> {
    plan: &'p Plan,
    delimiter: u8,
    starts: Vec<usize>,
    fields: Fields<'i>,
    stage: Stage<'p>,
    /// The Hive columns of the input being read (see
    /// [`super::dataset`]): each read one's slot and constant text, which
    /// [`Self::flush`] gives every row.
    hive: Vec<(usize, &'i [u8])>,
    /// The index scanner's storage, kept from range to range (see
    /// [`IndexScanner::reusing`]).
    index: Option<Box<[u32]>>,
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
            stage: Stage {
                plan,
                typed: (0..plan.slots()).map(|_| Typed::default()).collect(),
                kept: Vec::with_capacity(BATCH_ROWS),
                buckets: Buckets::default(),
            },
            hive: Vec::new(),
            index: None,
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
        // the file's own columns; the plan's header also holds the Hive
        // columns after them, which no field of the file fills
        let ncols = input.header.len();
        let slot_of = &self.plan.slot_of[..ncols];
        self.hive = (input.hive.iter().enumerate())
            .map(|(k, v)| (self.plan.slot_of[ncols + k], v.as_bytes()))
            .filter(|&(slot, _)| slot != UNUSED)
            .map(|(slot, v)| (slot as usize, v))
            .collect();
        let next_wanted = next_wanted_table(slot_of);
        let wanted: Vec<(usize, usize)> = (slot_of.iter().enumerate())
            .filter(|&(_, &slot)| slot != UNUSED)
            .map(|(field, &slot)| (field, slot as usize))
            .collect();
        // the range's pages missing from the page cache are read from disk
        // a chunk at a time, while the scan works on the ones before
        let mut ahead = FetchAhead::new(input, start, end);
        // Three scanners, fastest first: the index path cuts regular windows
        // (every record `ncols` fields, well-formed quoting); the per-record
        // vectorised scanner takes the windows it refuses; at quoting only
        // the scalar scanner accepts, that one finishes the range.
        let mut index = IndexScanner::reusing(buf, self.delimiter, ncols, self.index.take());
        let mut pos = start;
        let mut stop = None;
        let mut resume = None;
        while stop.is_none() && resume.is_none() {
            ahead.at(input, pos);
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
        self.index = Some(index.into_index());
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
                        let (field, _) = record_fields(input, e.record_start, self.delimiter);
                        let column = input.header.get(field.len()).map(String::as_str);
                        return Err(input.error_at(e.record_start, column, msg).into());
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
            // the file's own columns (`next_wanted` has one entry more)
            slot_of: &self.plan.slot_of[..next_wanted.len() - 1],
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
        let ncols = input.header.len();
        if fields != ncols {
            self.fields.truncate(self.starts.len());
            self.flush(input, on_batch)?;
            let msg = ragged(input, record_start, self.delimiter, fields);
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
        // before the Hive columns are filled: a folder's `k=NA` is a key
        // its path names, not a field of the file
        let nulls = &self.plan.nulls;
        if !nulls.is_empty() {
            for raw in &mut self.fields.raw {
                null_spelled(raw, nulls);
            }
        }
        for &(slot, value) in &self.hive {
            self.fields.raw[slot].resize(n, value);
        }
        let buf = input.bytes();
        let readable = crate::number::batch::readable(buf);
        let result = if self.fields.escaped.is_empty() {
            let raw = &mut self.fields.raw;
            (self.stage).run(input, readable, raw, &mut self.starts, on_batch)
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
                raw[e.slot][e.row] = if is_null_spelled(text, nulls) {
                    &[]
                } else {
                    text
                };
            }
            (self.stage).run(input, readable, &mut raw, &mut self.starts, on_batch)
        };
        self.starts.clear();
        self.fields.clear();
        result
    }
}

/// What turns a batch's fields into the batch the aggregates see: the
/// `--where` filter, typing, the time-bucket keys ([`crate::rows`]).
struct Stage<'p> {
    plan: &'p Plan,
    typed: Vec<Typed>,
    /// The rows the filter keeps.
    kept: Vec<u32>,
    buckets: Buckets,
}

impl Stage<'_> {
    /// Filters the fields `raw` (one vector per slot) of the records
    /// starting at `starts`, types the kept rows and calls `on_batch` with
    /// them (and their starts). `raw` and `starts` are left compacted to the
    /// kept rows; `readable` as for [`Typed::fill`].
    ///
    /// The filter reads only its own columns: the one its first test reads
    /// typed on every row, the others as text (their tests see only the
    /// rows still undecided, and read a text field's number by the same
    /// rule: `k = 'a' and x > 0` parses `x` only where `k` is `a`). Then
    /// every column is typed on the kept rows only (the leading one again
    /// if rows were dropped), so that a dropped row never decides a
    /// column's type: the batch is the one filtering the file first gives.
    fn run<E: From<DataError>>(
        &mut self,
        input: &CsvInput,
        readable: Range<usize>,
        raw: &mut [Vec<&[u8]>],
        starts: &mut Vec<usize>,
        on_batch: &mut BatchFn<'_, E>,
    ) -> Result<(), E> {
        let plan = self.plan;
        let n = starts.len();
        // slots already typed on exactly the rows handed on
        let mut typed_already = None;
        if let Some(filter) = &plan.filter {
            let leading = filter.leading_slot();
            for &s in filter.slots() {
                match s == leading {
                    true => self.typed[s].fill(&raw[s], readable.clone()),
                    false => self.typed[s].text(&raw[s]),
                }
            }
            let columns = (0..plan.slots())
                .map(|s| match filter.slots().contains(&s) {
                    true => self.typed[s].column(&raw[s]),
                    false => Column::rows(n),
                })
                .collect();
            let types = (self.typed.iter()).map(|t| t.ty).collect();
            let batch = Batch::new(n, columns, types);
            let selected = filter.select(&batch, &mut self.kept);
            drop(batch);
            if let Err(rejected) = selected {
                let (row, slot) = (rejected.row, rejected.slot);
                let message = filter.message(&rejected, raw[slot][row]);
                let message = with_null_hint(message, plan, input, slot, raw[slot][row]);
                let error = input.error_at(starts[row], Some(&plan.slot_labels[slot]), message);
                // the rows before it first: an earlier row's error wins
                raw.iter_mut().for_each(|r| r.truncate(row));
                starts.truncate(row);
                if row > 0 {
                    self.run(input, readable, raw, starts, on_batch)?;
                }
                return Err(error.into());
            }
            let kept = &self.kept;
            if kept.is_empty() {
                return Ok(());
            }
            if kept.len() == n {
                typed_already = Some(leading);
            } else {
                for r in raw.iter_mut() {
                    compact(r, kept);
                }
                compact(starts, kept);
            }
        }
        for (s, (typed, raw)) in self.typed.iter_mut().zip(raw.iter()).enumerate() {
            if typed_already != Some(s) {
                typed.fill(raw, readable.clone());
            }
        }
        let batch = Batch {
            len: starts.len(),
            columns: (self.typed.iter().zip(raw.iter()))
                .map(|(t, r)| t.column(r))
                .collect(),
            types: self.typed.iter().map(|t| t.ty).collect(),
            codes: Vec::new(),
        };
        let starts = &starts[..];
        self.buckets.with_buckets(
            plan,
            &batch,
            &mut |b| on_batch(b, &starts[..b.len]),
            |bad| {
                let column = Some(&plan.slot_labels[bad.slot][..]);
                input.error_at(starts[bad.row], column, bad.message).into()
            },
        )
    }
}

/// Makes each field of `raw` that `nulls` spells ([`Plan::nulls`]) empty,
/// which is how a null reads everywhere after.
fn null_spelled(raw: &mut [&[u8]], nulls: &[String]) {
    for field in raw {
        if is_null_spelled(field, nulls) {
            *field = &[];
        }
    }
}

/// Whether `field` is one of `nulls` ([`Plan::nulls`]).
fn is_null_spelled(field: &[u8], nulls: &[String]) -> bool {
    nulls.iter().any(|s| s.as_bytes() == field)
}

/// Keeps entries `kept` (ascending) of `v`, in place.
fn compact<T: Copy>(v: &mut Vec<T>, kept: &[u32]) {
    for (to, &from) in kept.iter().enumerate() {
        v[to] = v[from as usize];
    }
    v.truncate(kept.len());
}

/// The fields of the record starting at `start`, read again by the scalar
/// scanner, which defines them (for an error's message), and whether the
/// record is whole: for one whose quote is never closed, the fields before
/// that quote's.
fn record_fields(input: &CsvInput, start: usize, delimiter: u8) -> (Vec<Span>, bool) {
    let mut all = super::scan::AllFields::default();
    let mut scanner = Scanner::new(input.bytes(), start, delimiter);
    let whole = matches!(scanner.next_record(usize::MAX, &mut all), Some(Ok(_)));
    (all.0, whole)
}

/// The message for a record of `fields` fields where the header has
/// another count: the first field past the header's, or the first column
/// with no field, so that a wide file's fault is found by its content.
fn ragged(input: &CsvInput, record_start: usize, delimiter: u8, fields: usize) -> String {
    let ncols = input.header.len();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let first = if input.no_header {
        "in the first record"
    } else {
        "in the header"
    };
    let mut msg = format!(
        "expected {ncols} field{} (as {first}), found {fields}",
        plural(ncols)
    );
    let (all, whole) = record_fields(input, record_start, delimiter);
    if whole {
        if let Some(&extra) = all.get(ncols) {
            let value = super::scan::field_bytes(input.bytes(), extra);
            let value = crate::error::show_value(&value);
            msg.push_str(&format!(": field {} is {value}", ncols + 1));
        } else if let Some(name) = input.header.get(fields) {
            let name = crate::error::show_name(name);
            msg.push_str(&format!(": none for column '{name}'"));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
