//! The vectorised scanner, handing over to the scalar `Scanner` at
//! `Step::Irregular(at)`, yields exactly the records (start offset, field
//! count, field spans) of the scalar scanner alone, for every kind of sink,
//! over the whole input and over consecutive ranges read as the CSV reader
//! reads partitions.
//!
//! Input: byte 0 picks the delimiter (low two bits: `,` `;` tab `|`) and the
//! sink used for the ranges (the rest); the other bytes are the CSV text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc_fuzz::{check_records, fast, restrict, scalar, Outcome, Want, DELIMITERS, WANTS};

fuzz_target!(|data: &[u8]| {
    let Some((&first, buf)) = data.split_first() else {
        return;
    };
    let delim = DELIMITERS[(first & 3) as usize];
    let len = buf.len();

    // The whole input, from offset 0 to the end, with each kind of sink.
    let (all, all_end) = scalar(buf, 0, len, delim, Want::All);
    check_records(buf, &all, Want::All);
    if let Outcome::Done { stop } = all_end {
        assert_eq!(stop, len, "a full scan stops at the end");
    }
    for want in WANTS {
        let (slow, slow_end) = scalar(buf, 0, len, delim, want);
        assert_eq!(slow, restrict(&all, want), "scalar scanner, sink {want:?}");
        assert_eq!(slow_end, all_end, "scalar scanner, sink {want:?}");
        let (quick, quick_end) = fast(buf, 0, len, delim, want);
        check_records(buf, &quick, want);
        assert_eq!(
            quick, slow,
            "fast vs scalar records, sink {want:?}, delimiter {delim:?}"
        );
        assert_eq!(
            quick_end, slow_end,
            "fast vs scalar end, sink {want:?}, delimiter {delim:?}"
        );
    }

    // Consecutive ranges cut at arbitrary offsets, each read from where the
    // previous one stopped: both readers agree on every range, every stop is
    // at or past the cut, and the ranges together give the whole input.
    let want = WANTS[(first >> 2) as usize % WANTS.len()];
    let expected = restrict(&all, want);
    for parts in [2usize, 3, 7] {
        let mut records = Vec::new();
        let mut pos = 0;
        let mut end = Outcome::Done { stop: 0 };
        for i in 1..=parts {
            let cut = (len * i / parts).max(pos);
            let (quick, quick_end) = fast(buf, pos, cut, delim, want);
            let (slow, slow_end) = scalar(buf, pos, cut, delim, want);
            assert_eq!(
                quick, slow,
                "range {pos}..{cut}, sink {want:?}, delimiter {delim:?}"
            );
            assert_eq!(
                quick_end, slow_end,
                "range {pos}..{cut}, sink {want:?}, delimiter {delim:?}"
            );
            records.extend(quick);
            end = quick_end;
            match quick_end {
                Outcome::Done { stop } => {
                    assert!(stop >= cut, "range {pos}..{cut} stopped at {stop}");
                    pos = stop;
                }
                Outcome::Unterminated { .. } => break,
            }
        }
        assert_eq!(
            records, expected,
            "{parts} chained ranges vs one scan, sink {want:?}"
        );
        assert_eq!(
            end, all_end,
            "{parts} chained ranges vs one scan, sink {want:?}"
        );
    }
});
