//! The `--where` parser (`rayproc::filter::parse`), fed any text:
//!
//! - it never panics, and an error points inside the input (or just past
//!   its end); its message (the expression shown with a caret under the
//!   offending character) holds no control character but its line breaks,
//!   whatever the input holds;
//! - an expression it accepts prints (`Display`, the canonical form) as
//!   text that parses back to an expression printing the same: the
//!   canonical form is a fixed point.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::filter::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Err(e) => {
            assert!(e.column() <= text.chars().count() + 1, "{e}");
            let shown = e.to_string();
            assert!(
                !shown.chars().any(|c| c.is_control() && c != '\n'),
                "{text:?} shown as {shown:?}"
            );
        }
        Ok(expr) => {
            let canonical = expr.to_string();
            let again = parse(&canonical)
                .unwrap_or_else(|e| panic!("{text:?} printed as {canonical:?}, which fails: {e}"));
            assert_eq!(again.to_string(), canonical, "{text:?}");
        }
    }
});
