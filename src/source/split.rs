//! Splitting a CSV body into partitions that start and end on record
//! boundaries, without parsing the whole file sequentially.
//!
//! In well-formed CSV every `"` opens, closes or doubles inside a quoted
//! field, so a newline ends a record exactly when the number of quotes
//! before it is even. [`split_speculative`] cuts the body into equal byte
//! ranges and, reading only a little past each cut, guesses the quote state
//! there and walks to the first newline outside quotes.
//!
//! A guess can be wrong only for malformed quoting (`5'11" tall`, a quote
//! inside an unquoted field). The map step therefore validates every
//! boundary with the real parser (each partition's last record must end
//! where the next partition starts) and, on a mismatch, redoes the map on
//! [`split_sequential`]'s boundaries, found by a plain scan with the parser.
//! The answer is always the sequential parser's; only such files pay twice.

use memchr::memchr2;
use rayon::prelude::*;

use super::scan::{NoFields, Scanner};

/// `parts + 1` evenly spaced cut points over `start..end`.
fn cuts(start: usize, end: usize, parts: usize) -> Vec<usize> {
    let len = end - start;
    (0..=parts)
        .map(|i| start + (len as u128 * i as u128 / parts as u128) as usize)
        .collect()
}

/// Turns candidate boundaries into sorted, distinct ones from `start` to `end`.
fn finish(mut bounds: Vec<usize>, start: usize, end: usize) -> Vec<usize> {
    bounds.insert(0, start);
    bounds.push(end);
    for i in 1..bounds.len() {
        bounds[i] = bounds[i].clamp(bounds[i - 1], end);
    }
    bounds.dedup();
    if bounds.len() == 1 {
        bounds.push(end); // empty body: one empty partition
    }
    bounds
}

/// Candidate partition boundaries of `buf[start..]`, found without reading
/// more than a little past each cut: from each cut the quote state is
/// *guessed* from the first quote whose role is unambiguous (see
/// [`guess_inside`]), then the boundary is the first newline outside quotes.
///
/// A guess can only be wrong for malformed quoting, and callers validate
/// every boundary: partition `i` is parsed from a true record start, so the
/// record it ends on must end exactly where partition `i + 1` starts. On a
/// mismatch the caller falls back to [`split_sequential`].
pub fn split_speculative(buf: &[u8], start: usize, parts: usize, delimiter: u8) -> Vec<usize> {
    let end = buf.len();
    if parts <= 1 || end <= start {
        return finish(Vec::new(), start, end);
    }
    let points = cuts(start, end, parts);
    let bounds: Vec<usize> = points[1..parts]
        .par_iter()
        .map(|&cut| next_boundary(buf, cut, guess_inside(buf, cut, delimiter)))
        .collect();
    finish(bounds, start, end)
}

/// How far past a cut to look for a quote that tells the quote state.
const LOOKAHEAD: usize = 1 << 20;

/// Guesses whether offset `from` is inside a quoted field. In well-formed
/// CSV a quote that follows a delimiter or newline, and is not followed by
/// one, opens a field; a quote followed by a delimiter or newline, and not
/// preceded by one, closes it; `""` pairs do not change the state. The first
/// such unambiguous quote, and the parity of the quotes before it, give the
/// state at `from`. With no telling quote in sight, assume outside.
pub fn guess_inside(buf: &[u8], from: usize, delimiter: u8) -> bool {
    let window_end = buf.len().min(from + LOOKAHEAD);
    let is_sep = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
    let mut before = 0usize; // quotes in from..q
    let mut pos = from;
    while let Some(i) = memchr::memchr(b'"', &buf[pos..window_end]) {
        let q = pos + i;
        let next = buf.get(q + 1).copied();
        if next == Some(b'"') {
            before += 2;
            pos = q + 2;
            continue;
        }
        let opens = q == 0 || is_sep(buf[q - 1]);
        let closes = next.is_none_or(is_sep);
        if opens && !closes {
            return before % 2 == 1; // outside just before q
        }
        if closes && !opens {
            return before.is_multiple_of(2); // inside just before q
        }
        before += 1;
        pos = q + 1;
    }
    false
}

/// The first offset after `from` that follows a newline at even quote
/// parity, given whether `from` is inside quotes.
fn next_boundary(buf: &[u8], from: usize, mut inside: bool) -> usize {
    let mut pos = from;
    while let Some(i) = memchr2(b'"', b'\n', &buf[pos..]) {
        let at = pos + i;
        if buf[at] == b'"' {
            inside = !inside;
        } else if !inside {
            return at + 1;
        }
        pos = at + 1;
    }
    buf.len()
}

/// Partition boundaries found with the real parser, one record at a time:
/// exact for any input, but sequential.
pub fn split_sequential(buf: &[u8], start: usize, parts: usize, delimiter: u8) -> Vec<usize> {
    let end = buf.len();
    if parts <= 1 || end <= start {
        return finish(Vec::new(), start, end);
    }
    let points = cuts(start, end, parts);
    let mut bounds = Vec::with_capacity(parts);
    let mut next = 1;
    let mut scanner = Scanner::new(buf, start, delimiter);
    while next < parts {
        match scanner.next_record(usize::MAX, &mut NoFields) {
            Some(Ok((record_start, _))) => {
                while next < parts && record_start >= points[next] {
                    bounds.push(record_start);
                    next += 1;
                }
            }
            // an unterminated quote swallows the rest: one last partition
            _ => break,
        }
    }
    finish(bounds, start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(buf: &[u8], bounds: &[usize]) -> Vec<String> {
        bounds
            .windows(2)
            .map(|w| String::from_utf8_lossy(&buf[w[0]..w[1]]).into_owned())
            .collect()
    }

    #[test]
    fn respects_quotes() {
        let buf = b"h\n\"a\nb\",1\n2,\"x\"\"\ny\"\n3,4\n";
        for parts in 1..30 {
            let b = split_speculative(buf, 2, parts, b',');
            for p in pieces(buf, &b) {
                assert!(p.is_empty() || p.ends_with('\n'), "{p:?}");
                assert_eq!(p.matches('"').count() % 2, 0, "{p:?}");
            }
            assert_eq!(
                pieces(buf, &b).concat(),
                "\"a\nb\",1\n2,\"x\"\"\ny\"\n3,4\n"
            );
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(split_speculative(b"", 0, 4, b','), vec![0, 0]);
        assert_eq!(split_speculative(b"h\n", 2, 4, b','), vec![2, 2]);
        assert_eq!(split_speculative(b"h\n1\n2", 2, 1, b','), vec![2, 5]);
        let b = split_speculative(b"h\n1\n2\n3\n", 2, 100, b',');
        assert_eq!(b, vec![2, 4, 6, 8]);
    }

    #[test]
    fn speculative_guesses_the_quote_state() {
        let buf = b"h\n\"a\nb\",1\n2,\"x\"\"\ny\"\n3,\"\"\n4,\",z\"\n";
        let mut starts = vec![buf.len()];
        let mut scanner = Scanner::new(buf, 2, b',');
        while let Some(Ok((s, _))) = scanner.next_record(usize::MAX, &mut NoFields) {
            starts.push(s);
        }
        for parts in 1..40 {
            for b in split_speculative(buf, 2, parts, b',') {
                assert!(
                    starts.contains(&b),
                    "parts {parts}: {b} is not a record start"
                );
            }
        }
        assert!(guess_inside(b"ab\"\n,x", 0, b','));
        assert!(!guess_inside(b"ab\n\"x,", 0, b','));
        assert!(!guess_inside(b"no quotes\n", 0, b','));
    }

    #[test]
    fn stray_quote_confuses_parity_but_not_sequential() {
        let buf = b"h\n5'11\" tall\n1\n2\n3\n4\n";
        let seq = split_sequential(buf, 2, 5, b',');
        assert_eq!(pieces(buf, &seq).concat(), "5'11\" tall\n1\n2\n3\n4\n");
        assert!(pieces(buf, &seq).iter().all(|p| p.ends_with('\n')));
    }
}
