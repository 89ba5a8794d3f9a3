//! Helpers shared by the fuzz targets: the two ways of reading a range of a
//! CSV buffer (the scalar scanner alone, and the vectorised scanner that
//! hands over to the scalar one at `Step::Irregular`, as
//! `rayproc::source::csv::CsvReader::read_range` does), and the invariants
//! every scanned record must satisfy.
//!
//! The vectorised scanners run the process's paths (`rayproc::cpu`): set
//! `RAYPROC_SIMD=avx2|sse|none` to fuzz a narrower one.
//!
//! Only the public library API is used.

use rayproc::source::fastscan::{FastScanner, Step};
use rayproc::source::indexscan::{IndexScanner, Window};
use rayproc::source::scan::{field_bytes, FieldSink, Scanner, Span};

/// The delimiters a target picks from with the low two bits of its first byte.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Which fields a sink asks for. `All` is what tests and headers use, `First`
/// makes the fast scanner count the fields after field 0 by popcount, and
/// `None` is a plan that needs no column (`count` alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    All,
    First,
    None,
}

pub const WANTS: [Want; 3] = [Want::All, Want::First, Want::None];

/// A sink that records the wanted fields with their indices.
pub struct Recording {
    want: Want,
    pub fields: Vec<(usize, Span)>,
}

impl Recording {
    pub fn new(want: Want) -> Self {
        Recording {
            want,
            fields: Vec::new(),
        }
    }
}

impl FieldSink for Recording {
    fn field(&mut self, index: usize, span: Span) {
        // the scalar scanner reports every field, the fast one only wanted ones
        if self.wants(index) {
            self.fields.push((index, span));
        }
    }

    fn next_wanted(&self, index: usize) -> usize {
        match self.want {
            Want::All => index,
            Want::First if index == 0 => 0,
            Want::First | Want::None => usize::MAX,
        }
    }
}

/// One record: where it starts, how many fields it has, and the wanted ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub start: usize,
    pub fields: usize,
    pub wanted: Vec<(usize, Span)>,
}

/// How reading a range ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every record starting before the range's end was read; scanning
    /// resumes at `stop` (`RangeInfo::stop` in the CSV reader).
    Done { stop: usize },
    /// A quoted field never closes.
    Unterminated { record_start: usize, quote: usize },
}

/// The records starting in `start..limit` by the scalar scanner alone.
pub fn scalar(
    buf: &[u8],
    start: usize,
    limit: usize,
    delim: u8,
    want: Want,
) -> (Vec<Record>, Outcome) {
    let mut records = Vec::new();
    let mut s = Scanner::new(buf, start, delim);
    loop {
        let mut sink = Recording::new(want);
        match s.next_record(limit, &mut sink) {
            None => return (records, Outcome::Done { stop: s.position() }),
            Some(Ok((record_start, fields))) => records.push(Record {
                start: record_start,
                fields,
                wanted: sink.fields,
            }),
            Some(Err(e)) => {
                return (
                    records,
                    Outcome::Unterminated {
                        record_start: e.record_start,
                        quote: e.quote,
                    },
                )
            }
        }
    }
}

/// The records starting in `start..end` the way the CSV reader reads them:
/// the index scanner cuts regular windows (records with as many fields as
/// the input's first record), the fast scanner takes the windows it refuses,
/// and from a `Step::Irregular(at)` on the scalar scanner finishes the range.
pub fn fast(buf: &[u8], start: usize, end: usize, delim: u8, want: Want) -> (Vec<Record>, Outcome) {
    let ncols = scalar(buf, 0, buf.len(), delim, Want::None)
        .0
        .first()
        .map_or(1, |r| r.fields);
    let mut records: Vec<Record> = Vec::new();
    let mut index = IndexScanner::new(buf, delim, ncols);
    let mut pos = start;
    loop {
        match index.window(pos, end) {
            Window::End => return (records, Outcome::Done { stop: pos }),
            Window::Records { next } => {
                let cut = index.records();
                for r in 0..cut.len() {
                    let record_start = cut.start(r);
                    if record_start >= end {
                        return (records, Outcome::Done { stop: record_start });
                    }
                    let mut sink = Recording::new(want);
                    for f in 0..ncols {
                        if sink.wants(f) {
                            sink.field(f, cut.field(r, f));
                        }
                    }
                    records.push(Record {
                        start: record_start,
                        fields: ncols,
                        wanted: sink.fields,
                    });
                }
                pos = next;
            }
            Window::Irregular { until } => {
                let until = until.min(end);
                let mut f = FastScanner::new(buf, pos, until, delim);
                loop {
                    let mut sink = Recording::new(want);
                    match f.next_record(&mut sink) {
                        Step::Record(record_start, fields) => {
                            if want == Want::All {
                                assert_eq!(fields, sink.fields.len(), "field count vs fields fed");
                            }
                            records.push(Record {
                                start: record_start,
                                fields,
                                wanted: sink.fields,
                            });
                        }
                        Step::End => break,
                        Step::Irregular(at) => {
                            assert!(
                                at >= start && at < end.min(buf.len()),
                                "Irregular({at}) outside {start}..{end}"
                            );
                            if let Some(last) = records.last() {
                                assert!(
                                    at > last.start,
                                    "Irregular({at}) before the last record {}",
                                    last.start
                                );
                            }
                            let (rest, outcome) = scalar(buf, at, end, delim, want);
                            records.extend(rest);
                            return (records, outcome);
                        }
                    }
                }
                pos = f.position();
                if until == end {
                    return (records, Outcome::Done { stop: pos });
                }
            }
        }
    }
}

/// Structural invariants of scanned records (spans in bounds and in order,
/// escaped spans start with a quote and decode without panicking).
pub fn check_records(buf: &[u8], records: &[Record], want: Want) {
    let mut prev_start = None;
    let mut prev_end = 0;
    for r in records {
        assert!(
            r.start < buf.len(),
            "record start {} out of bounds",
            r.start
        );
        assert!(
            prev_start.is_none_or(|p| r.start > p),
            "record starts not increasing"
        );
        assert!(
            r.start >= prev_end,
            "record {} overlaps the previous one",
            r.start
        );
        assert!(r.fields >= 1, "a record has at least one field");
        prev_start = Some(r.start);
        let mut at = r.start;
        for (k, &(index, span)) in r.wanted.iter().enumerate() {
            match want {
                Want::All => assert_eq!(index, k, "field indices"),
                Want::First => assert_eq!(index, 0, "only field 0 wanted"),
                Want::None => panic!("no field wanted, got {index}"),
            }
            assert!(
                index < r.fields,
                "field index {index} >= count {}",
                r.fields
            );
            assert!(
                span.start <= span.end && span.end <= buf.len(),
                "span {span:?} out of bounds"
            );
            assert!(
                span.start >= at,
                "span {span:?} before the previous field ends"
            );
            if span.escaped {
                assert_eq!(
                    buf[span.start], b'"',
                    "escaped span {span:?} must start with a quote"
                );
                let decoded = field_bytes(buf, span);
                assert!(
                    decoded.len() < span.end - span.start,
                    "decoding drops the opening quote"
                );
            } else {
                assert_eq!(field_bytes(buf, span), &buf[span.start..span.end]);
            }
            at = span.end;
            prev_end = span.end;
        }
        match want {
            Want::All => assert_eq!(r.wanted.len(), r.fields),
            Want::First => assert_eq!(r.wanted.len(), 1),
            Want::None => assert!(r.wanted.is_empty()),
        }
    }
}

/// The fields of `want` kept from records read with `Want::All`.
pub fn restrict(records: &[Record], want: Want) -> Vec<Record> {
    records
        .iter()
        .map(|r| Record {
            start: r.start,
            fields: r.fields,
            wanted: match want {
                Want::All => r.wanted.clone(),
                Want::First => r.wanted[..1].to_vec(),
                Want::None => Vec::new(),
            },
        })
        .collect()
}

/// Reads consecutive ranges as the scheduler does (each range read from its
/// start with [`fast`]), then validates the starts in order as
/// `source::csv_run::check` does: the first range starts at `start`, and each next one
/// where the previous one's reading stopped; a failed range ends the check
/// (its error is genuine, since it started at a true record start).
///
/// Returns `None` if a start fails validation ("misaligned"), else the
/// records read and how the whole input ended.
pub fn read_validated(
    buf: &[u8],
    bounds: &[usize],
    delim: u8,
    want: Want,
) -> Option<(Vec<Record>, Outcome)> {
    let mut records = Vec::new();
    let mut expected = bounds[0];
    let mut last = Outcome::Done { stop: bounds[0] };
    for w in bounds.windows(2) {
        let (part, outcome) = fast(buf, w[0], w[1], delim, want);
        if let Outcome::Done { stop } = outcome {
            assert!(stop >= w[1], "stop {stop} before the range end {}", w[1]);
        }
        if w[0] != expected {
            return None;
        }
        records.extend(part);
        last = outcome;
        match outcome {
            Outcome::Done { stop } => expected = stop,
            Outcome::Unterminated { .. } => return Some((records, last)),
        }
    }
    Some((records, last))
}
