//! The CSV record scanner: RFC 4180 with the leniencies of the `csv` crate.
//!
//! Rules, which the splitter and the property tests rely on:
//! - a field that starts with `"` is quoted: it may hold delimiters, `""`
//!   (one quote), LF and CRLF; bytes after its closing quote up to the next
//!   delimiter are kept literally;
//! - a `"` anywhere else is an ordinary byte (`5'11" tall`);
//! - records end at LF or CRLF (a lone CR is data); blank lines are skipped;
//!   the last record may lack a newline.
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
                b'\n' => self.pos += 1,
                b'\r' if buf.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
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
                let at_end = |p: usize| {
                    p >= len
                        || buf[p] == delim
                        || buf[p] == b'\n'
                        || (buf[p] == b'\r' && (p + 1 == len || buf[p + 1] == b'\n'))
                };
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
                if pos < len && buf[pos] == b'\r' {
                    pos += 1; // the CR of a CRLF (at_end guarantees LF or EOF follows)
                }
            } else {
                let start = pos;
                loop {
                    match memchr3(delim, b'\n', b'"', &buf[pos..]) {
                        None => {
                            pos = len;
                            break;
                        }
                        Some(i) => {
                            pos += i;
                            if buf[pos] == b'"' {
                                pos += 1; // a quote inside an unquoted field is data
                            } else {
                                break;
                            }
                        }
                    }
                }
                let mut end = pos;
                if end > start && buf[end - 1] == b'\r' && (pos == len || buf[pos] == b'\n') {
                    end -= 1;
                }
                span = Span {
                    start,
                    end,
                    escaped: false,
                };
            }
            sink.field(index, span);
            index += 1;
            if pos < len && buf[pos] == delim {
                self.pos = pos + 1;
                continue;
            }
            // end of record: at LF or end of input
            self.pos = if pos < len { pos + 1 } else { len };
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
        assert_eq!(records("a\rb,c\n").unwrap(), [["a\rb", "c"]]);
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
