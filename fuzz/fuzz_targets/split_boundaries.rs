//! Partition boundaries.
//!
//! - `split_sequential`: every boundary is a record start of the scalar
//!   scanner (exactly the first record start at or after each cut point),
//!   and reading its partitions validates and gives the whole input's records.
//! - `split_speculative`: boundaries are in bounds, sorted and strictly
//!   increasing, and every inner one follows a record end (LF or a lone CR),
//!   with the production look-ahead and with a small one (16..64 bytes, so
//!   that `""` pairs and telling quotes straddle the window's edge). They may be wrong for
//!   some quoting (the scheduler validates them), so they are not required to
//!   be record starts; but whenever they pass the scheduler's validation
//!   (`source::csv_run::check`), the partitions must give exactly the whole input's
//!   records and error.
//!
//! Input: byte 0 picks the delimiter (bits 0-1), the sink (bits 2-3) and one
//! of the partition counts (bits 4-7); the other bytes are the CSV text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::source::scan::{NoFields, Scanner};
use rayproc::source::split::{guess_inside, split_sequential, split_speculative_within, LOOKAHEAD};
use rayproc_fuzz::{read_validated, scalar, Outcome, DELIMITERS, WANTS};

/// `parts + 1` evenly spaced cut points over `start..end` (as the splitter cuts).
fn cuts(start: usize, end: usize, parts: usize) -> Vec<usize> {
    let len = end - start;
    (0..=parts)
        .map(|i| start + (len as u128 * i as u128 / parts as u128) as usize)
        .collect()
}

/// Boundaries start at `start`, end at `end`, and strictly increase (an
/// empty body is the single empty partition `[start, start]`), with at most
/// `parts` partitions.
fn check_shape(bounds: &[usize], start: usize, end: usize, parts: usize, what: &str) {
    assert!(bounds.len() >= 2, "{what}: {bounds:?}");
    assert_eq!(bounds[0], start, "{what}: first boundary {bounds:?}");
    assert_eq!(
        *bounds.last().unwrap(),
        end,
        "{what}: last boundary {bounds:?}"
    );
    if start == end {
        assert_eq!(bounds, [start, end], "{what}: empty body");
    } else {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "{what}: not strictly increasing {bounds:?}"
        );
    }
    assert!(
        bounds.len() - 1 <= parts.max(1),
        "{what}: {} partitions for {parts} parts",
        bounds.len() - 1
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, buf)) = data.split_first() else {
        return;
    };
    let delim = DELIMITERS[(first & 3) as usize];
    let want = WANTS[((first >> 2) & 3) as usize % WANTS.len()];
    let len = buf.len();
    let small = 16 + len % 49;

    // The body starts at 0, or after a header record as `CsvInput` reads it.
    let mut starts = vec![0];
    let mut header = Scanner::new(buf, 0, delim);
    if let Some(Ok(_)) | None = header.next_record(usize::MAX, &mut NoFields) {
        starts.push(header.position());
    }

    for start in starts {
        let (records, end) = scalar(buf, start, len, delim, want);
        let record_starts: Vec<usize> = records.iter().map(|r| r.start).collect();
        for parts in [1, 2, 3, 4 + (first >> 4) as usize, 64] {
            // sequential: exactly the first record start at or after each cut
            let seq = split_sequential(buf, start, parts, delim);
            check_shape(&seq, start, len, parts, "split_sequential");
            for &b in &seq[1..seq.len() - 1] {
                assert!(
                    record_starts.contains(&b),
                    "split_sequential: {b} is not a record start ({seq:?})"
                );
            }
            let mut model = vec![start];
            if parts > 1 && start < len {
                let points = cuts(start, len, parts);
                for &cut in &points[1..parts] {
                    if let Some(&s) = record_starts.iter().find(|&&s| s >= cut) {
                        model.push(s);
                    }
                }
            }
            model.push(len);
            model.dedup();
            if model.len() == 1 {
                model.push(len);
            }
            assert_eq!(seq, model, "split_sequential, {parts} parts from {start}");
            let read = read_validated(buf, &seq, delim, want);
            let Some((got, got_end)) = read else {
                panic!("split_sequential boundaries {seq:?} fail validation");
            };
            assert_eq!(got, records, "partitions of split_sequential {seq:?}");
            assert_eq!(got_end, end, "partitions of split_sequential {seq:?}");

            // speculative: structure only, and the validation is sound
            for lookahead in [LOOKAHEAD, small] {
                let spec = split_speculative_within(buf, start, parts, delim, lookahead);
                check_shape(&spec, start, len, parts, "split_speculative");
                for &b in &spec[1..spec.len() - 1] {
                    assert!(
                        buf[b - 1] == b'\n' || (buf[b - 1] == b'\r' && buf.get(b) != Some(&b'\n')),
                        "split_speculative: {b} does not follow a record end ({spec:?})"
                    );
                }
                if let Some((got, got_end)) = read_validated(buf, &spec, delim, want) {
                    assert_eq!(
                        got, records,
                        "validated partitions of split_speculative {spec:?}"
                    );
                    assert_eq!(
                        got_end, end,
                        "validated partitions of split_speculative {spec:?}"
                    );
                    if let Outcome::Done { stop } = got_end {
                        assert_eq!(stop, len);
                    }
                }
            }
        }
    }

    // guess_inside reads only a window past its offset; it must not panic anywhere
    for from in [0, len / 3, len / 2, len.saturating_sub(1), len] {
        for lookahead in [LOOKAHEAD, small, 1, 2, usize::MAX] {
            let _ = guess_inside(buf, from, delim, lookahead);
        }
    }
});
