//! The CSV record scanner: RFC 4180 with the leniencies of the `csv` crate.
//!
//! Rules, which the splitter and the property tests rely on:
//! - a field that starts with `"` is quoted: it may hold delimiters, `""`
//!   (one quote), LF and CRLF; bytes after its closing quote up to the next
//!   delimiter are kept literally;
//! - a `"` anywhere else is an ordinary byte (`5'11" tall`);
//! - records end at LF, CRLF or a lone CR (old Mac exports), as in the
//!   `csv` crate; a CR inside quotes is data; blank lines are skipped; the
//!   last record may lack a newline.
//!
//! This scanner defines the semantics: the vectorised scanners
//! ([`fastscan`](super::fastscan), [`indexscan`](super::indexscan)) hand
//! over to it at anything they do not model, a lone CR outside quotes
//! included (it is rare, so it only needs to be correct, not fast).
//!
//! The scanner never copies: it reports each wanted field as a [`Span`] of
//! the input, and only fields with escapes need decoding ([`unescape`]).

use memchr::{memchr, memchr3};

/// A field's place in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    /// The range is the raw field, opening quote included, and must go
    /// through [`unescape`]; otherwise it is the field's exact content.
    pub escaped: bool,
}

/// Receives the fields of each record.
pub trait FieldSink {
    /// Called for every wanted field of a record, in order; `index` is 0-based.
    fn field(&mut self, index: usize, span: Span);
    /// The first wanted field at or after `index`, `usize::MAX` if none:
    /// the fast scanner skips the fields before it in bulk, without
    /// visiting them one by one.
    #[inline]
    fn next_wanted(&self, index: usize) -> usize {
        index
    }
    /// Whether field `index` is wanted.
    #[inline]
    fn wants(&self, index: usize) -> bool {
        self.next_wanted(index) == index
    }
}

/// A quoted field that never closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unterminated {
    /// Where the record holding the field starts.
    pub record_start: usize,
    /// Where the opening quote is.
    pub quote: usize,
}

/// Reads records from a byte buffer.
pub struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
    delimiter: u8,
}

impl<'a> Scanner<'a> {
    pub fn new(buf: &'a [u8], pos: usize, delimiter: u8) -> Self {
        Scanner {
            buf,
            pos,
            delimiter,
        }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Reads the next record if it starts before `limit`, feeding its fields
    /// to `sink`. Returns the record's start offset and its field count.
    pub fn next_record<S: FieldSink>(
        &mut self,
        limit: usize,
        sink: &mut S,
    ) -> Option<Result<(usize, usize), Unterminated>> {
        let buf = self.buf;
        let len = buf.len();
        // skip blank lines
        loop {
            if self.pos >= len || self.pos >= limit {
                return None;
            }
            match buf[self.pos] {
                b'\n' | b'\r' => self.pos += 1,
                _ => break,
            }
        }
        let record_start = self.pos;
        let delim = self.delimiter;
        let mut index = 0;
        loop {
            let mut pos = self.pos;
            let span;
            if pos < len && buf[pos] == b'"' {
                let open = pos;
                pos += 1;
                let mut escaped = false;
                let content_end;
                loop {
                    match memchr(b'"', &buf[pos..]) {
                        None => {
                            return Some(Err(Unterminated {
                                record_start,
                                quote: open,
                            }))
                        }
                        Some(i) => {
                            let q = pos + i;
                            if buf.get(q + 1) == Some(&b'"') {
                                escaped = true;
                                pos = q + 2;
                            } else {
                                content_end = q;
                                pos = q + 1;
                                break;
                            }
                        }
                    }
                }
                let at_end =
                    |p: usize| p >= len || buf[p] == delim || buf[p] == b'\n' || buf[p] == b'\r';
                if at_end(pos) {
                    span = if escaped {
                        Span {
                            start: open,
                            end: pos,
                            escaped: true,
                        }
                    } else {
                        Span {
                            start: open + 1,
                            end: content_end,
                            escaped: false,
                        }
                    };
                } else {
                    // text after the closing quote is kept as is
                    while !at_end(pos) {
                        pos += 1;
                    }
                    span = Span {
                        start: open,
                        end: pos,
                        escaped: true,
                    };
                }
            } else {
                // a quote inside an unquoted field is data
                let start = pos;
                pos = memchr3(delim, b'\n', b'\r', &buf[pos..]).map_or(len, |i| pos + i);
                span = Span {
                    start,
                    end: pos,
                    escaped: false,
                };
            }
            sink.field(index, span);
            index += 1;
            if pos < len && buf[pos] == delim {
                self.pos = pos + 1;
                continue;
            }
            // end of record: at LF, CR, CRLF or the end of the input
            self.pos = match buf.get(pos) {
                None => len,
                Some(b'\r') if buf.get(pos + 1) == Some(&b'\n') => pos + 2,
                Some(_) => pos + 1,
            };
            return Some(Ok((record_start, index)));
        }
    }
}

/// Decodes an escaped field (`"a ""b"" c"x` → `a "b" cx`) into `out`.
pub fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    debug_assert_eq!(raw.first(), Some(&b'"'));
    let mut i = 1;
    let mut quoted = true;
    while i < raw.len() {
        let b = raw[i];
        if quoted && b == b'"' {
            if raw.get(i + 1) == Some(&b'"') {
                out.push(b'"');
                i += 2;
                continue;
            }
            quoted = false;
        } else {
            out.push(b);
        }
        i += 1;
    }
}

/// A sink that keeps every field (for headers and tests).
#[derive(Default)]
pub struct AllFields(pub Vec<Span>);

impl FieldSink for AllFields {
    fn field(&mut self, _index: usize, span: Span) {
        self.0.push(span);
    }
}

/// A sink that keeps nothing (for finding record boundaries).
pub struct NoFields;

impl FieldSink for NoFields {
    #[inline]
    fn field(&mut self, _index: usize, _span: Span) {}
    #[inline]
    fn next_wanted(&self, _index: usize) -> usize {
        usize::MAX
    }
}

/// The decoded bytes of a span.
pub fn field_bytes(buf: &[u8], span: Span) -> Vec<u8> {
    if span.escaped {
        let mut out = Vec::with_capacity(span.end - span.start);
        unescape(&buf[span.start..span.end], &mut out);
        out
    } else {
        buf[span.start..span.end].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Result<Vec<Vec<String>>, Unterminated> {
        let buf = input.as_bytes();
        let mut s = Scanner::new(buf, 0, b',');
        let mut out = Vec::new();
        loop {
            let mut sink = AllFields::default();
            match s.next_record(usize::MAX, &mut sink) {
                None => return Ok(out),
                Some(Err(e)) => return Err(e),
                Some(Ok((_, n))) => {
                    assert_eq!(n, sink.0.len());
                    out.push(
                        sink.0
                            .iter()
                            .map(|&sp| String::from_utf8(field_bytes(buf, sp)).unwrap())
                            .collect(),
                    );
                }
            }
        }
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(records("a,b\n1,2\n").unwrap(), [["a", "b"], ["1", "2"]]);
        assert_eq!(records("a,b\r\n1,2").unwrap(), [["a", "b"], ["1", "2"]]);
        assert_eq!(records("\"x,y\",\"q\"\"q\"\n").unwrap(), [["x,y", "q\"q"]]);
        assert_eq!(records("\"l1\r\nl2\",3\r\n").unwrap(), [["l1\r\nl2", "3"]]);
        assert_eq!(records("a,,\n").unwrap(), [["a", "", ""]]);
        assert_eq!(records("\n\r\na\n\n").unwrap(), [["a"]]);
        assert_eq!(records("\"\"\n").unwrap(), [[""]]);
    }

    #[test]
    fn lone_cr_ends_a_record_outside_quotes() {
        assert_eq!(records("a\rb,c\n").unwrap(), [vec!["a"], vec!["b", "c"]]);
        assert_eq!(
            records("a,b\r1,2\r3,4\r").unwrap(),
            [["a", "b"], ["1", "2"], ["3", "4"]]
        );
        assert_eq!(records("a\r\r\n\rb\r").unwrap(), [["a"], ["b"]]);
        assert_eq!(records("\"x\ry\"\rz").unwrap(), [["x\ry"], ["z"]]);
        assert_eq!(records("\"x\"y\r\"q\"\r\n").unwrap(), [["xy"], ["q"]]);
        assert_eq!(records("a,\r").unwrap(), [["a", ""]]);
    }

    /// The `csv` crate (a dev-dependency) reads the same records, on inputs
    /// built from pieces that mix LF, CR and CRLF inside and outside quotes.
    #[test]
    fn agrees_with_the_csv_crate_on_line_ends() {
        let pieces = [
            "a",
            "",
            "\"q\"",
            "\"x\ry\"",
            "\"l\r\nm\"",
            "\"d\"\"e\"",
            "\r",
            "\n",
            "\r\n",
            ",",
        ];
        let mut state = 11u64;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..12 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            let mut reader = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let want: Vec<Vec<String>> = reader
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .collect();
            assert_eq!(records(&text).unwrap(), want, "{text:?}");
        }
    }

    #[test]
    fn lenient_quotes() {
        assert_eq!(
            records("5'11\" tall,x\n\"ab\"cd,e\n").unwrap(),
            [["5'11\" tall", "x"], ["abcd", "e"]]
        );
    }

    #[test]
    fn unterminated() {
        assert_eq!(
            records("a\n\"open,1\n2\n"),
            Err(Unterminated {
                record_start: 2,
                quote: 2
            })
        );
    }

    #[test]
    fn limit_stops_before_next_record() {
        let buf = b"a\n\nb\n";
        let mut s = Scanner::new(buf, 0, b',');
        assert!(s.next_record(2, &mut NoFields).is_some());
        assert!(s.next_record(2, &mut NoFields).is_none());
        assert!(s.next_record(usize::MAX, &mut NoFields).is_some());
    }
}
