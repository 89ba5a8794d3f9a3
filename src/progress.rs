//! Progress on stderr, for people: an indicatif bar (bytes done, throughput,
//! ETA, partitions done) when stderr is a terminal, or, with
//! `--progress always` on a pipe or log file, a plain line every few
//! seconds, since a redrawn bar is noise in a log.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between two plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(2);

enum Mode {
    Off,
    Bar(ProgressBar),
    Lines { last: Mutex<Instant> },
}

/// Thread-safe progress of a map step.
pub struct Progress {
    mode: Mode,
    total: u64,
    bytes: AtomicU64,
    parts: AtomicUsize,
    done: AtomicUsize,
    start: Instant,
}

impl Progress {
    /// `enabled` comes from `--progress`/`--quiet`; `total` is in bytes.
    pub fn new(enabled: bool, total: u64, parts: usize) -> Progress {
        let mode = if !enabled {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(format!("partitions 0/{parts}"));
            Mode::Bar(bar)
        } else {
            Mode::Lines {
                last: Mutex::new(Instant::now()),
            }
        };
        Progress {
            mode,
            total,
            bytes: AtomicU64::new(0),
            parts: AtomicUsize::new(parts),
            done: AtomicUsize::new(0),
            start: Instant::now(),
        }
    }

    /// A progress that shows nothing.
    pub fn hidden() -> Progress {
        Progress::new(false, 0, 0)
    }

    /// `bytes` more were read.
    pub fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Mode::Bar(bar) = &self.mode {
            bar.inc(bytes);
        }
    }

    /// One more partition is done.
    pub fn partition_done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let parts = self.parts.load(Ordering::Relaxed);
        match &self.mode {
            Mode::Off => {}
            Mode::Bar(bar) => bar.set_message(format!("partitions {done}/{parts}")),
            Mode::Lines { last } => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= LINE_EVERY || done == parts {
                    *last = Instant::now();
                    crate::say!("{}", self.line(done, parts));
                }
            }
        }
    }

    fn line(&self, done: usize, parts: usize) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let pct = if self.total > 0 {
            100.0 * bytes as f64 / self.total as f64
        } else {
            100.0
        };
        format!(
            "rayproc: {} / {} ({pct:.0}%), {}/s, partitions {done}/{parts}",
            HumanBytes(bytes),
            HumanBytes(self.total),
            HumanBytes((bytes as f64 / secs) as u64),
        )
    }

    /// The map starts over (on corrected partition boundaries).
    pub fn restart(&self, parts: usize) {
        self.parts.store(parts, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        if let Mode::Bar(bar) = &self.mode {
            bar.set_position(0);
        }
    }

    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}
