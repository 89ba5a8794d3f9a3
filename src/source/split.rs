//! Splitting a CSV body into partitions that start and end on record
//! boundaries, without parsing the whole file sequentially.
//!
//! In well-formed CSV every `"` opens, closes or doubles inside a quoted
//! field, so a newline ends a record exactly when the number of quotes
//! before it is even. [`split_speculative`] cuts the body into equal byte
//! ranges and, reading only a little past each cut, guesses the quote state
//! there and walks to the first newline outside quotes.
//!
//! A guess can be wrong: for malformed quoting (`5'11" tall`, a quote
//! inside an unquoted field), and for a well-formed quoted field holding
//! line breaks when no quote in the look-ahead tells the state (its quotes
//! all follow a line break and precede a delimiter or one: `\n",`, which
//! can open or close a field; the guess is then "outside"). The map step ([`super::csv_run`]) therefore
//! validates every boundary with the real parser (each partition's last
//! record must end where the next partition starts) and, on a mismatch,
//! redoes the map on [`split_sequential`]'s boundaries, found by a plain
//! scan with the parser.
//! The answer is always the sequential parser's; only such files pay twice.
//!
//! Records end at LF, CRLF or a lone CR (see [`scan`](super::scan)), so a
//! boundary follows an LF or a CR that no LF follows.
//!
//! The look-ahead of the guess is bounded ([`LOOKAHEAD`] in production) so
//! that a cut inside a huge quoted field costs a bounded read; it is a
//! parameter of [`split_speculative_within`] and [`guess_inside`] so that
//! tests and the fuzz target reach the window's edge with a few bytes.

use memchr::memchr3;
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
/// A guess can be wrong (see the module doc), and callers validate every
/// boundary: partition `i` is parsed from a true record start, so the
/// record it ends on must end exactly where partition `i + 1` starts. On a
/// mismatch the caller falls back to [`split_sequential`].
pub fn split_speculative(buf: &[u8], start: usize, parts: usize, delimiter: u8) -> Vec<usize> {
    split_speculative_within(buf, start, parts, delimiter, LOOKAHEAD)
}

/// [`split_speculative`] of a mapped file, calling `release(from, to)` for
/// the bytes read past each cut as soon as its boundary is found. The first
/// read past a cut maps a whole folio of the page cache (up to 2 MiB on a
/// kernel that caches files in large folios), and with every cut probed at
/// once, before the map, those folios were the run's peak memory: 537 MiB of
/// a 1 GiB file at `--partitions 256`, where each partition read and
/// released holds a few.
pub fn split_speculative_releasing(
    buf: &[u8],
    start: usize,
    parts: usize,
    delimiter: u8,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Vec<usize> {
    split_guessing(buf, start, parts, delimiter, LOOKAHEAD, release)
}

/// [`split_speculative`] with the guess looking at most `lookahead` bytes
/// past each cut.
pub fn split_speculative_within(
    buf: &[u8],
    start: usize,
    parts: usize,
    delimiter: u8,
    lookahead: usize,
) -> Vec<usize> {
    split_guessing(buf, start, parts, delimiter, lookahead, &|_, _| {})
}

/// [`split_speculative_within`], calling `release(from, to)` for the bytes
/// read past each cut once its boundary is found.
fn split_guessing(
    buf: &[u8],
    start: usize,
    parts: usize,
    delimiter: u8,
    lookahead: usize,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Vec<usize> {
    let end = buf.len();
    if parts <= 1 || end <= start {
        return finish(Vec::new(), start, end);
    }
    let points = cuts(start, end, parts);
    let walks: Vec<(bool, Walk)> = (1..parts)
        .into_par_iter()
        .map(|j| {
            let (cut, next) = (points[j], points[j + 1]);
            let inside = guess_inside(buf, cut, delimiter, lookahead);
            let walk = walk_within(buf, cut, next, inside);
            // what the guess and the walk read (the guess looks at the byte
            // before a quote, and at the one after a `""` pair that
            // straddles the look-ahead's end)
            let walked_to = walk.unwrap_or(next);
            let read_to = walked_to.max(cut.saturating_add(lookahead).saturating_add(2));
            release(cut.saturating_sub(1), read_to.min(end));
            (inside, walk)
        })
        .collect();
    finish(chained_boundaries(buf, &points[1..], walks), start, end)
}

/// A walk from `from`, in quote state `inside` there, to the first record
/// end (LF, or a CR that no LF follows, outside quotes) before `to`:
/// `Ok(end)`, or `Err(flips)` when there is none, `flips` telling whether
/// the quotes of `from..to` flip the state. [`next_boundary`] from a cut is
/// the walk to the next cut or, where it finds no record end, the walk from
/// the next cut in the state flipped so ([`chained_boundaries`]).
///
/// Why the walks stop at the next cut: from every cut inside one long
/// field, each walk went on to the field's end, the same bytes once per
/// cut. A field of 200 MB of doubled quotes (each quote flips the state,
/// and no guess can tell it) took 11 s at the default partitions against
/// 0.09 s at one, and `-p 4096` on a 3 MB one 27 s. A walk reads line by
/// line, counting the quotes of each, so a stretch of no line break is
/// only counted.
type Walk = std::result::Result<usize, bool>;

fn walk_within(buf: &[u8], from: usize, to: usize, inside: bool) -> Walk {
    let odd_quotes = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    let mut flips = false;
    let mut pos = from;
    while let Some(i) = memchr::memchr2(b'\n', b'\r', &buf[pos..to]) {
        let at = pos + i;
        flips ^= odd_quotes(&buf[pos..at]);
        pos = at + 1;
        if buf[at] == b'\r' && buf.get(at + 1) == Some(&b'\n') {
            continue; // the LF ends it
        }
        // outside quotes here: the state at `from`, flipped by the quotes
        // since, is outside
        if inside == flips {
            return Ok(pos);
        }
    }
    Err(flips ^ odd_quotes(&buf[pos..to]))
}

/// Each cut's boundary, [`next_boundary`] from it in the state guessed
/// there, from `walks` (per cut: the guess, and its walk to the next cut,
/// [`walk_within`]). `stretches` holds the cuts and then the end: stretch
/// `j` is `stretches[j]..stretches[j + 1]`.
///
/// Where a walk finds no record end, the boundary is the next stretch's in
/// the state the walk flipped to. That is the next cut's own walk when the
/// state is its guess; otherwise the stretch is walked in the other state
/// now, at most once: two guesses at odds happen where the text is quoted
/// oddly or a cut falls in a long field, so a stretch is read at most
/// twice and most stretches once, up to their first record end.
fn chained_boundaries(buf: &[u8], stretches: &[usize], walks: Vec<(bool, Walk)>) -> Vec<usize> {
    let end = *stretches.last().expect("the end");
    let count = walks.len();
    let guesses: Vec<bool> = walks.iter().map(|&(guess, _)| guess).collect();
    // each stretch's walk in either state, as known so far
    let mut walked: Vec<[Option<Walk>; 2]> = walks
        .into_iter()
        .map(|(guess, walk)| {
            let mut both = [None, None];
            both[guess as usize] = Some(walk);
            both
        })
        .collect();
    // the boundary from the start of stretch `j` in either state, once known
    let mut boundary: Vec<[Option<usize>; 2]> = vec![[None, None]; count];
    let mut path = Vec::new();
    (0..count)
        .map(|j| {
            let (mut k, mut state) = (j, guesses[j]);
            path.clear();
            let found = loop {
                if k == count {
                    break end;
                }
                if let Some(bound) = boundary[k][state as usize] {
                    break bound;
                }
                let walk = *walked[k][state as usize]
                    .get_or_insert_with(|| walk_within(buf, stretches[k], stretches[k + 1], state));
                match walk {
                    Ok(bound) => break bound,
                    Err(flips) => {
                        path.push((k, state));
                        (k, state) = (k + 1, state ^ flips);
                    }
                }
            };
            for &(k, state) in &path {
                boundary[k][state as usize] = Some(found);
            }
            found
        })
        .collect()
}

/// How far past a cut [`split_speculative`] looks for a quote that tells
/// the quote state.
pub const LOOKAHEAD: usize = 1 << 20;

/// Guesses whether offset `from` is inside a quoted field. In well-formed
/// CSV a quote that follows a delimiter or newline, and is not followed by
/// one, opens a field; a quote followed by a delimiter or newline, and not
/// preceded by one, closes it; `""` pairs do not change the state. The first
/// such unambiguous quote, and the parity of the quotes before it, give the
/// state at `from`. With no telling quote among the `lookahead` bytes from
/// `from`, assume outside.
pub fn guess_inside(buf: &[u8], from: usize, delimiter: u8, lookahead: usize) -> bool {
    let window_end = buf.len().min(from.saturating_add(lookahead));
    let is_sep = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
    let mut before = 0usize; // quotes in from..q
    let mut pos = from;
    // `pos` may pass `window_end` by one when a `""` pair straddles it
    while pos < window_end {
        let Some(i) = memchr::memchr(b'"', &buf[pos..window_end]) else {
            break;
        };
        let q = pos + i;
        let next = buf.get(q + 1).copied();
        if next == Some(b'"') {
            // `""` pairs, as many as the run of quotes from `q` holds and
            // start before the window's end, taken at once: one pair a
            // step made a cut inside a long field of doubled quotes read
            // its whole look-ahead a quote at a time (4096 cuts of a 3 MB
            // field: seconds)
            let run = quote_run(&buf[q..buf.len().min(window_end + 1)]);
            let pairs = (run / 2).min((window_end - q).div_ceil(2));
            before += 2 * pairs;
            pos = q + 2 * pairs;
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

/// How many quotes `bytes` starts with, read eight at a time.
fn quote_run(bytes: &[u8]) -> usize {
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut n = 0;
    for word in bytes.chunks_exact(8) {
        let diff = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ QUOTES;
        if diff != 0 {
            return n + diff.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + bytes[n..].iter().take_while(|&&b| b == b'"').count()
}

/// The first offset after `from` that follows a record end (LF, or a CR
/// that no LF follows) at even quote parity, given whether `from` is inside
/// quotes.
fn next_boundary(buf: &[u8], from: usize, mut inside: bool) -> usize {
    let mut pos = from;
    while let Some(i) = memchr3(b'"', b'\n', b'\r', &buf[pos..]) {
        let at = pos + i;
        match buf[at] {
            b'"' => inside = !inside,
            b'\r' if buf.get(at + 1) == Some(&b'\n') => {} // the LF ends it
            _ if !inside => return at + 1,
            _ => {}
        }
        pos = at + 1;
    }
    buf.len()
}

/// Partition boundaries found with the real parser, one record at a time:
/// exact for any input, but sequential.
pub fn split_sequential(buf: &[u8], start: usize, parts: usize, delimiter: u8) -> Vec<usize> {
    split_sequential_releasing(buf, start, parts, delimiter, &|_, _| {})
}

/// [`split_sequential`] of a mapped file, calling `release(from, to)` for
/// the records behind the scan as it passes each cut: it reads the whole
/// input before the map starts, and every page it read stayed mapped until
/// its partition was read again.
pub fn split_sequential_releasing(
    buf: &[u8],
    start: usize,
    parts: usize,
    delimiter: u8,
    release: &dyn Fn(usize, usize),
) -> Vec<usize> {
    let end = buf.len();
    if parts <= 1 || end <= start {
        return finish(Vec::new(), start, end);
    }
    let points = cuts(start, end, parts);
    let mut bounds = Vec::with_capacity(parts);
    let mut next = 1;
    let mut scanner = Scanner::new(buf, start, delimiter);
    let mut released = 0;
    while next < parts {
        match scanner.next_record(usize::MAX, &mut NoFields) {
            Some(Ok((record_start, _))) => {
                if next < parts && record_start >= points[next] {
                    release(released, record_start);
                    released = record_start;
                }
                while next < parts && record_start >= points[next] {
                    bounds.push(record_start);
                    next += 1;
                }
            }
            // an unterminated quote swallows the rest: one last partition
            _ => break,
        }
    }
    release(released, scanner.position().min(end));
    finish(bounds, start, end)
}

/// The record boundary for each of `points` (ascending offsets in
/// `start..=buf.len()`), for cuts made by someone other than this module
/// (`rayproc map` cuts several inputs as one): the body start and the end
/// stay themselves, and every other point moves to the first boundary at
/// or after it, guessed as [`split_speculative`] does or, with `exact`,
/// found by [`split_sequential`]'s scan. The boundaries never decrease, so
/// consecutive points always bound a (possibly empty) range; a wrong guess
/// is caught as for the run's partitions, by checking where each range's
/// last record ended.
pub fn boundaries_at(
    buf: &[u8],
    start: usize,
    points: &[usize],
    delimiter: u8,
    exact: bool,
) -> Vec<usize> {
    let end = buf.len();
    let inner = |p: usize| p > start && p < end;
    let mut raw: Vec<usize> = points.iter().map(|&p| p.clamp(start, end)).collect();
    if exact {
        let mut scanner = Scanner::new(buf, start, delimiter);
        let mut pending = raw.iter_mut().filter(|p| inner(**p)).peekable();
        while pending.peek().is_some() {
            match scanner.next_record(usize::MAX, &mut NoFields) {
                Some(Ok((record_start, _))) => {
                    while let Some(p) = pending.next_if(|p| record_start >= **p) {
                        *p = record_start;
                    }
                }
                // an unterminated quote swallows the rest
                _ => {
                    for p in pending.by_ref() {
                        *p = end;
                    }
                }
            }
        }
    } else {
        for p in raw.iter_mut().filter(|p| inner(**p)) {
            *p = next_boundary(buf, *p, guess_inside(buf, *p, delimiter, LOOKAHEAD));
        }
    }
    let mut floor = start;
    for p in &mut raw {
        floor = floor.max(*p);
        *p = floor;
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact split releases what its scan passed, in order, up to where
    /// the scan stopped, and finds the boundaries it finds without releasing.
    #[test]
    fn the_sequential_scan_releases_what_it_passed() {
        let mut text = String::from("a,b\n");
        for i in 0..3000 {
            text += &format!("{i},\"x\ny {i}\"\n");
        }
        let buf = text.as_bytes();
        let released = std::cell::RefCell::new(Vec::new());
        let release = |from, to| released.borrow_mut().push((from, to));
        let bounds = split_sequential_releasing(buf, 4, 7, b',', &release);
        assert_eq!(bounds, split_sequential(buf, 4, 7, b','));
        let released = released.into_inner();
        assert_eq!(released.len(), 7, "one per cut passed and one at the end");
        assert_eq!(released[0].0, 0);
        for w in released.windows(2) {
            assert_eq!(w[0].1, w[1].0, "contiguous");
        }
        for &(from, to) in &released[..6] {
            assert!(from <= to && bounds.contains(&to), "{from}..{to}");
        }
        // the scan stops in the record after the last cut
        let last_cut = bounds[bounds.len() - 2];
        assert!(
            released[6].0 == last_cut && released[6].1 > last_cut && released[6].1 <= buf.len()
        );
    }

    /// Every stretch the guesses read is handed to `release` once: from
    /// the byte before its cut to at least the boundary found past it and
    /// the look-ahead's end, within the input.
    #[test]
    fn the_reads_past_each_cut_are_released() {
        let mut text = String::from("a,b\n");
        for i in 0..4000 {
            text += &format!("{i},\"x\ny {i}\"\n");
        }
        let buf = text.as_bytes();
        let released = std::sync::Mutex::new(Vec::new());
        let release = |from, to| released.lock().unwrap().push((from, to));
        let parts = 9;
        let bounds = split_guessing(buf, 4, parts, b',', 100, &release);
        assert_eq!(bounds, split_speculative_within(buf, 4, parts, b',', 100));
        let mut released = released.into_inner().unwrap();
        released.sort();
        let cuts = cuts(4, buf.len(), parts);
        assert_eq!(released.len(), parts - 1);
        for (&(from, to), &cut) in released.iter().zip(&cuts[1..parts]) {
            assert_eq!(from, cut - 1);
            // up to the boundary, or to the next cut, past which the next
            // stretch reads
            let next = cuts[cuts.partition_point(|&c| c <= cut)];
            let bound = bounds[bounds.partition_point(|&b| b < cut)];
            assert!(
                to >= bound.min(next) && to >= cut + 100 && to <= buf.len(),
                "{from}..{to}"
            );
        }
    }

    /// The boundaries chained from stretches between the cuts are the
    /// walk from each cut to its boundary ([`next_boundary`]), for every
    /// guess: random bytes of quotes, line breaks (LF, CR, CRLF), commas
    /// and letters, cut at every count of parts.
    #[test]
    fn chained_walks_find_what_a_walk_from_each_cut_finds() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..400 {
            let len = (next() % 120) as usize;
            let alphabet: &[u8] = match next() % 3 {
                0 => b"\"\"\"\n,a",
                1 => b"\"\r\n,ab",
                _ => b"\"\"\"\"\"\n",
            };
            let buf: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            for parts in 2..12 {
                let points = cuts(0, len, parts);
                let walks: Vec<(bool, Walk)> = (1..parts)
                    .map(|j| {
                        let guess = next() % 2 == 1;
                        (guess, walk_within(&buf, points[j], points[j + 1], guess))
                    })
                    .collect();
                let walked: Vec<usize> = (1..parts)
                    .map(|j| next_boundary(&buf, points[j], walks[j - 1].0))
                    .collect();
                assert_eq!(
                    chained_boundaries(&buf, &points[1..], walks),
                    walked,
                    "{:?} in {parts}",
                    String::from_utf8_lossy(&buf)
                );
            }
        }
    }

    /// On text without quotes a walk reads to the first line end past its
    /// cut, not on through its stretch (which a first form of the chained
    /// walks did, to find the other quote state's record end: the whole
    /// input read once before the map).
    #[test]
    fn plain_text_is_read_to_the_first_line_end_past_each_cut() {
        let buf = "123,456\n".repeat(1000);
        let read = std::sync::Mutex::new(Vec::new());
        let release = |from: usize, to: usize| read.lock().unwrap().push(to - from);
        let bounds = split_guessing(buf.as_bytes(), 0, 10, b',', 16, &release);
        assert_eq!(bounds.len(), 11);
        for n in read.into_inner().unwrap() {
            assert!(n <= 16 + 3 + 8, "{n} bytes read past a cut");
        }
    }

    /// A long field of doubled quotes, cut many times: each stretch is
    /// read once (the walks from each cut read to the field's end), and
    /// the boundaries are the walks'.
    #[test]
    fn cuts_inside_one_long_field_read_each_stretch_once() {
        let mut buf = b"\"".to_vec();
        buf.extend(std::iter::repeat_n(b'"', 20_000));
        buf.extend_from_slice(b"\",1\nx,2\n");
        let read = std::sync::Mutex::new(0usize);
        let release = |from: usize, to: usize| *read.lock().unwrap() += to - from;
        let bounds = split_guessing(&buf, 0, 100, b',', 16, &release);
        assert_eq!(bounds, [0, 20_005, buf.len()]);
        // each stretch (and each guess's 16 bytes) once, not 100 walks
        assert!(read.into_inner().unwrap() < 2 * buf.len());
    }

    /// The guess takes a run of `""` pairs at once, as it took them one
    /// at a time: the same answer for every start and window over runs of
    /// quotes of every length, around every kind of byte.
    #[test]
    fn runs_of_quote_pairs_guess_as_pairs_taken_one_at_a_time() {
        fn one_pair_at_a_time(buf: &[u8], from: usize, delimiter: u8, lookahead: usize) -> bool {
            let window_end = buf.len().min(from.saturating_add(lookahead));
            let is_sep = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
            let (mut before, mut pos) = (0usize, from);
            while pos < window_end {
                let Some(i) = memchr::memchr(b'"', &buf[pos..window_end]) else {
                    break;
                };
                let q = pos + i;
                let next = buf.get(q + 1).copied();
                if next == Some(b'"') {
                    (before, pos) = (before + 2, q + 2);
                    continue;
                }
                let opens = q == 0 || is_sep(buf[q - 1]);
                let closes = next.is_none_or(is_sep);
                if opens && !closes {
                    return before % 2 == 1;
                }
                if closes && !opens {
                    return before.is_multiple_of(2);
                }
                (before, pos) = (before + 1, q + 1);
            }
            false
        }
        for len in [0, 1, 2, 3, 7, 8, 9, 16, 17, 30] {
            for (lead, tail) in [("", ""), ("a", ",b\n"), (",", "x"), ("\n", ","), ("x", "")] {
                let text = format!("{lead}{}{tail}", "\"".repeat(len));
                let buf = text.as_bytes();
                for from in 0..=buf.len() {
                    for lookahead in 0..buf.len() + 3 {
                        assert_eq!(
                            guess_inside(buf, from, b',', lookahead),
                            one_pair_at_a_time(buf, from, b',', lookahead),
                            "{text:?} from {from} within {lookahead}"
                        );
                    }
                }
            }
        }
        assert_eq!(quote_run(b""), 0);
        assert_eq!(quote_run(b"\"\"\"\"\"\"\"\"\"x\""), 9);
        assert_eq!(quote_run(&[b'"'; 21]), 21);
    }

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
        assert!(guess_inside(b"ab\"\n,x", 0, b',', LOOKAHEAD));
        assert!(!guess_inside(b"ab\n\"x,", 0, b',', LOOKAHEAD));
        assert!(!guess_inside(b"no quotes\n", 0, b',', LOOKAHEAD));
    }

    /// A run of `""` pairs longer than the look-ahead window: a pair that
    /// straddles the window's edge took the search past it (a panic at the
    /// default 1 MiB window with a million pairs).
    #[test]
    fn doubled_quotes_straddling_the_window_edge() {
        let mut buf = b"k,t\na,\"".to_vec();
        for _ in 0..100 {
            buf.extend(b"x\"\"");
        }
        buf.extend(b"\"\nb,x\n");
        let body = 4;
        for window in 1..70 {
            for from in 0..=buf.len() {
                guess_inside(&buf, from, b',', window);
            }
            for parts in 1..12 {
                let b = split_speculative_within(&buf, body, parts, b',', window);
                assert_eq!((b[0], *b.last().unwrap()), (body, buf.len()));
                for &inner in &b[1..b.len() - 1] {
                    assert_eq!(buf[inner - 1], b'\n', "window {window}, parts {parts}");
                }
            }
        }
    }

    #[test]
    fn lone_cr_ends_a_record_for_both_splitters() {
        let buf = b"h\r1\r\"a\rb\"\r2\r\n3\r\r4\n5\r";
        let mut starts = vec![buf.len()];
        let mut scanner = Scanner::new(buf, 2, b',');
        while let Some(Ok((s, _))) = scanner.next_record(usize::MAX, &mut NoFields) {
            starts.push(s);
        }
        assert_eq!(starts, [20, 2, 4, 10, 13, 16, 18]);
        for parts in 1..30 {
            // each partition, read from its start, stops where the next starts
            // (a boundary may fall before a blank line: the reader skips it)
            let bounds = split_speculative(buf, 2, parts, b',');
            let mut read = Vec::new();
            for w in bounds.windows(2) {
                let mut scanner = Scanner::new(buf, w[0], b',');
                while let Some(Ok((s, _))) = scanner.next_record(w[1], &mut NoFields) {
                    read.push(s);
                }
                assert_eq!(scanner.position(), w[1], "parts {parts}: {bounds:?}");
            }
            assert_eq!(read, starts[1..], "parts {parts}: {bounds:?}");
            for b in split_sequential(buf, 2, parts, b',') {
                assert!(
                    starts.contains(&b),
                    "parts {parts}: {b} is not a record start"
                );
            }
        }
    }

    #[test]
    fn stray_quote_confuses_parity_but_not_sequential() {
        let buf = b"h\n5'11\" tall\n1\n2\n3\n4\n";
        let seq = split_sequential(buf, 2, 5, b',');
        assert_eq!(pieces(buf, &seq).concat(), "5'11\" tall\n1\n2\n3\n4\n");
        assert!(pieces(buf, &seq).iter().all(|p| p.ends_with('\n')));
    }

    #[test]
    fn boundaries_at_points_agree_with_the_splitters() {
        let buf = b"h\n\"a\nb\",1\n2,\"x\"\"\ny\"\n3,4\n5,6\n";
        let mut starts = vec![buf.len()];
        let mut scanner = Scanner::new(buf, 2, b',');
        while let Some(Ok((s, _))) = scanner.next_record(usize::MAX, &mut NoFields) {
            starts.push(s);
        }
        let points: Vec<usize> = (2..=buf.len()).collect();
        for exact in [false, true] {
            let b = boundaries_at(buf, 2, &points, b',', exact);
            assert_eq!((b[0], *b.last().unwrap()), (2, buf.len()));
            assert!(b.windows(2).all(|w| w[0] <= w[1]));
            for (&p, &at) in points.iter().zip(&b) {
                assert!(starts.contains(&at), "exact {exact}: {p} -> {at}");
                assert!(at >= p);
            }
        }
        // a stray quote misleads the guess but not the scan
        let buf = b"h\n5'11\" tall\n1\n2\n";
        assert_eq!(boundaries_at(buf, 2, &[5], b',', true), vec![13]);
    }
}
