//! Where a run's wall time goes, phase by phase, for the people tuning it.
//!
//! With `RAYPROC_PHASES` set, each [`mark`] prints on stderr the phase that
//! just ended, the milliseconds since the run started and since the last
//! mark, and the CPU time all the process's threads spent in it (user and
//! system: how many threads a phase kept busy, faults included):
//!
//! ```text
//! map                 401.3 ms   +401.3   cpu   +790.2
//! merge               440.6 ms    +39.3   cpu    +52.0
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

/// When the first mark of the process was made, and the last, with the
/// process's CPU time (user and system, all threads) at the last.
static MARKS: Mutex<Option<(Instant, Instant, f64)>> = Mutex::new(None);

/// The CPU time the process has used so far, all threads, in milliseconds.
fn cpu_ms() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: `getrusage` writes the zeroed struct it is given and
        // nothing else; a failure leaves it zeroed.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            usage
        };
        let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
        ms(usage.ru_utime) + ms(usage.ru_stime)
    }
    #[cfg(not(unix))]
    0.0
}

/// Ends phase `name`: prints its times when `RAYPROC_PHASES` is set. The
/// first mark of a process starts the clock.
pub fn mark(name: &str) {
    if std::env::var_os("RAYPROC_PHASES").is_none() {
        return;
    }
    let (now, cpu) = (Instant::now(), cpu_ms());
    let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    let (start, last, last_cpu) = marks.get_or_insert((now, now, cpu));
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    crate::say!(
        "{name:16} {:8.1} ms {:+8.1}   cpu {:+8.1}",
        ms(now - *start),
        ms(now - *last),
        cpu - *last_cpu
    );
    (*last, *last_cpu) = (now, cpu);
}
