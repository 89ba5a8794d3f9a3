//! Progress on stderr, for people: an indicatif bar (bytes done, throughput,
//! ETA, partitions done) when stderr is a terminal, or, with
//! `--progress always` on a pipe or log file, a plain line every few
//! seconds, since a redrawn bar is noise in a log.
//!
//! A map of known size (files, mapped) counts its bytes against the total
//! and its partitions done. A stream (standard input, a pipe, a compressed
//! file: [`Progress::stream`]) has no size to count against and no
//! partitions, only the bytes read so far and the rate: its bar is a
//! spinner with those, and its line is written as the bytes come in (every
//! 2 s, the last when the stream ends), not when a partition ends, since a
//! stream's blocks may each take minutes of a slow producer. It counts
//! from the stream's opening: its header is read then, up to 64 KiB, which
//! a slow producer may take minutes to write. (A stream showed nothing at
//! all before, so that `zcat ... | rayproc run -i -` in a cron job never
//! logged progress.) Sources only report bytes ([`Progress::advance`]);
//! how they show is decided here.

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

/// What the bytes counted are part of.
enum Size {
    /// A map of this many bytes, in partitions.
    Known(u64),
    /// A stream, as messages name it; `decompressed`: the bytes counted
    /// are its text, decompressed, not those read from the file or pipe.
    Stream { name: String, decompressed: bool },
}

/// Thread-safe progress of a map step.
pub struct Progress {
    mode: Mode,
    size: Size,
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
            Mode::lines()
        };
        Progress::with(mode, Size::Known(total), parts)
    }

    /// The progress of reading the stream `name`, of unknown size: bytes
    /// read and the rate. `decompressed`: the bytes reported are the text
    /// decompressed from it. Its lines start at once; its bar only once
    /// [`Progress::show_bar`] is called: streams are opened together (in
    /// parallel, compressed files), and their bars would draw over each
    /// other, but mapped one at a time.
    pub fn stream(enabled: bool, name: &str, decompressed: bool) -> Progress {
        let size = Size::Stream {
            name: crate::error::show_name(name).into_owned(),
            decompressed,
        };
        let mode = if !enabled {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} {msg}, {binary_bytes_per_sec}",
                )
                .expect("valid template"),
            );
            bar.set_message(size.read(0));
            Mode::Bar(bar)
        } else {
            Mode::lines()
        };
        Progress::with(mode, size, 0)
    }

    fn with(mode: Mode, size: Size, parts: usize) -> Progress {
        Progress {
            mode,
            size,
            bytes: AtomicU64::new(0),
            parts: AtomicUsize::new(parts),
            done: AtomicUsize::new(0),
            start: Instant::now(),
        }
    }

    /// A stream's bar is drawn from now on, with what was read before.
    pub fn show_bar(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            // the time goes on while a slow producer writes nothing
            bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    /// A progress that shows nothing.
    pub fn hidden() -> Progress {
        Progress::new(false, 0, 0)
    }

    /// `bytes` more were read.
    pub fn advance(&self, bytes: u64) {
        let now = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match (&self.mode, &self.size) {
            (Mode::Off, _) => {}
            (Mode::Bar(bar), Size::Known(_)) => bar.inc(bytes),
            (Mode::Bar(bar), size @ Size::Stream { .. }) => {
                bar.inc(bytes);
                bar.set_message(size.read(now));
            }
            // a map's lines come as its partitions end
            (Mode::Lines { .. }, Size::Known(_)) => {}
            (Mode::Lines { last }, Size::Stream { .. }) => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    crate::say!("{}", self.line());
                }
            }
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
                    crate::say!("{}", self.line());
                }
            }
        }
    }

    /// The plain line: `rayproc: 50.56 MiB / 50.56 MiB (100%), 248.58
    /// MiB/s, partitions 4/4` for a map, `rayproc: <stdin>: 12.00 MiB
    /// read, 5.00 MiB/s` for a stream (`read (decompressed)` where the
    /// bytes are a compressed stream's text).
    fn line(&self) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = HumanBytes((bytes as f64 / secs) as u64);
        match &self.size {
            Size::Known(total) => {
                let (done, parts) = (
                    self.done.load(Ordering::Relaxed),
                    self.parts.load(Ordering::Relaxed),
                );
                let pct = if *total > 0 {
                    100.0 * bytes as f64 / *total as f64
                } else {
                    100.0
                };
                format!(
                    "rayproc: {} / {} ({pct:.0}%), {rate}/s, partitions {done}/{parts}",
                    HumanBytes(bytes),
                    HumanBytes(*total),
                )
            }
            size @ Size::Stream { .. } => format!("rayproc: {}, {rate}/s", size.read(bytes)),
        }
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

    /// The map is over: the bar goes; a stream's last line says what was
    /// read in all (a map's last partition said it).
    pub fn finish(&self) {
        match (&self.mode, &self.size) {
            (Mode::Bar(bar), _) => bar.finish_and_clear(),
            (Mode::Lines { .. }, Size::Stream { .. }) => crate::say!("{}", self.line()),
            _ => {}
        }
    }
}

impl Mode {
    fn lines() -> Mode {
        Mode::Lines {
            last: Mutex::new(Instant::now()),
        }
    }
}

impl Size {
    /// `<stdin>: 12.00 MiB read` (`read (decompressed)`) for a stream that
    /// has read `bytes`.
    fn read(&self, bytes: u64) -> String {
        match self {
            Size::Stream { name, decompressed } => format!(
                "{name}: {} read{}",
                HumanBytes(bytes),
                if *decompressed { " (decompressed)" } else { "" }
            ),
            Size::Known(_) => HumanBytes(bytes).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_line_has_its_bytes_and_rate_but_no_total() {
        let plain = Progress::with(
            Mode::Off,
            Size::Stream {
                name: "<stdin>".into(),
                decompressed: false,
            },
            0,
        );
        plain.advance(3 << 20);
        plain.advance(1 << 20);
        let line = plain.line();
        assert!(
            line.starts_with("rayproc: <stdin>: 4.00 MiB read, "),
            "{line}"
        );
        assert!(line.ends_with("/s"), "{line}");
        let gz = Progress::with(
            Mode::Off,
            Size::Stream {
                name: "a.csv.gz".into(),
                decompressed: true,
            },
            0,
        );
        gz.advance(1500);
        let line = gz.line();
        assert!(
            line.starts_with("rayproc: a.csv.gz: 1.46 KiB read (decompressed), "),
            "{line}"
        );
    }
}
