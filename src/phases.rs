//! Where a run's wall time goes, phase by phase, for the people tuning it.
//!
//! With `RAYPROC_PHASES` set, each [`mark`] prints on stderr the phase that
//! just ended, the milliseconds since the run started and since the last
//! mark:
//!
//! ```text
//! map                 401.3 ms   +401.3
//! merge               440.6 ms    +39.3
//! ```
//!
//! A group-by partitioned by hash marks two steps of its merge before
//! `merge` itself: `merge.split` (the workers' unpartitioned tables split
//! by partition) and `merge.fold` (each partition's table built from its
//! pieces and buffered rows).
//!
//! Why it exists: a profile says which functions take the CPU's time, not
//! how long each step of a run keeps the others waiting, and whole-run wall
//! times on a shared VM vary by more than a small phase's gain. Timing the
//! phase a change touches, over a few interleaved runs, measures it to the
//! millisecond (`docs/performance.md` has figures taken so). Without the
//! variable a mark costs one environment lookup: a handful per run.

use std::sync::Mutex;
use std::time::Instant;

/// When the first mark of the process was made, and the last.
static MARKS: Mutex<Option<(Instant, Instant)>> = Mutex::new(None);

/// Ends phase `name`: prints its times when `RAYPROC_PHASES` is set. The
/// first mark of a process starts the clock.
pub fn mark(name: &str) {
    if std::env::var_os("RAYPROC_PHASES").is_none() {
        return;
    }
    let now = Instant::now();
    let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    let (start, last) = marks.get_or_insert((now, now));
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "{name:16} {:8.1} ms {:+8.1}",
        ms(now - *start),
        ms(now - *last)
    );
    *last = now;
}
