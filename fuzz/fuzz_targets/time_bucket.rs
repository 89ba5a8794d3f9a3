//! Time buckets (`rayproc::timebucket`), fed any field:
//!
//! - `bucket` never panics for any unit, and leaves `out` unchanged on an
//!   error;
//! - a key is ASCII and starts with the year's key, and every unit below
//!   `year` extends the same year (a value is in one year whatever the unit,
//!   except ISO weeks, whose week-year may differ: not compared);
//! - the error message names the value (never panics on any bytes).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::timebucket::TimeUnit;

fuzz_target!(|data: &[u8]| {
    let mut year: Option<Vec<u8>> = None;
    for unit in TimeUnit::ALL {
        let mut out = b"prefix".to_vec();
        match unit.bucket(data, &mut out) {
            Err(e) => {
                assert_eq!(out, b"prefix", "{unit:?}: output changed on an error");
                let _ = e.message("day(ts)", data);
            }
            Ok(()) => {
                let key = &out[6..];
                assert!(key.is_ascii() && !key.is_empty(), "{unit:?}: {key:?}");
                match unit {
                    TimeUnit::Year => year = Some(key.to_vec()),
                    TimeUnit::Week => {}
                    _ => {
                        if let Some(y) = &year {
                            assert!(key.starts_with(y), "{unit:?}: {key:?} outside year {y:?}");
                        }
                    }
                }
            }
        }
    }
});
