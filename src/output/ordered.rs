//! Chunks of output formatted on every thread of the pool and written in
//! order, each as soon as it and every chunk before it are done.
//!
//! Why: the rows of a large result (a million groups) were formatted a
//! window of 16 chunks at a time, in parallel, and the window written once
//! all 16 were done. Each window ended in a barrier: the thread done first
//! waited for the other's last chunk, then went to sleep until the next
//! window woke it. On the 2-core VM measured, that wake-up costs about a
//! millisecond, and writing a million-group JSON result (the reference
//! Q6, `docs/performance.md`) took as long on two threads as on one:
//! 50–60 ms, of which the formatting itself was 60 ms of CPU.
//!
//! How: every thread takes the next chunk from a shared count, formats it
//! into a buffer and leaves it in a ring of slots. The calling thread alone
//! writes (`out` need not be `Send`: a lock on stdout is not); between
//! writes it formats chunks too, and it sleeps only when the next chunk to
//! write is being formatted by another thread and none is left to take. A
//! thread that would run more than the ring ahead of the writer waits for
//! it, so at most [`RING_PER_THREAD`] chunks a thread are held at once,
//! whatever the size of the result; written buffers are reused.
//!
//! A write error stops the other threads and is returned; a panic while
//! formatting stops them too, and resumes in the caller once they have.

use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Chunks formatted but not yet written, at most, per thread.
const RING_PER_THREAD: usize = 4;

/// What the threads share, under one lock.
struct State {
    /// Chunks taken for formatting (they are taken in order).
    taken: usize,
    /// Chunks written (in order).
    written: usize,
    /// Formatted chunks not yet written: chunk `c` in slot `c % len`.
    slots: Vec<Option<Vec<u8>>>,
    /// Buffers already written, emptied, for the next chunks.
    spare: Vec<Vec<u8>>,
    /// Set when the writer failed or a thread panicked: everyone stops.
    stop: bool,
}

struct Shared {
    /// How many chunks there are.
    chunks: usize,
    state: Mutex<State>,
    /// A chunk was formatted, or `stop` was set.
    formatted: Condvar,
    /// A chunk was written, or `stop` was set.
    written: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // a panicking thread holds no invariant half-done under the lock
        // (it sets `stop` on the way out), so a poisoned lock is usable
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the next chunk to format and a buffer for it, if one is left
    /// and the ring has room for it.
    fn take(&self, state: &mut State) -> Option<(usize, Vec<u8>)> {
        let room = state.taken < state.written + state.slots.len();
        (room && state.taken < self.chunks).then(|| {
            state.taken += 1;
            (state.taken - 1, state.spare.pop().unwrap_or_default())
        })
    }
}

/// Sets `stop` if its thread unwinds, so that no other thread waits for a
/// chunk the panicking one will never finish.
struct StopOnPanic<'a>(&'a Shared);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().stop = true;
            self.0.formatted.notify_all();
            self.0.written.notify_all();
        }
    }
}

/// Writes chunks `0..chunks` to `out` in order, `format(c, buf)` appending
/// chunk `c`'s bytes to the empty `buf`, on every thread of the current
/// rayon pool (see the module documentation).
pub(super) fn write_in_order(
    chunks: usize,
    out: &mut dyn Write,
    format: impl Fn(usize, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    let threads = rayon::current_num_threads().clamp(1, chunks.max(1));
    let shared = Shared {
        chunks,
        state: Mutex::new(State {
            taken: 0,
            written: 0,
            slots: vec![None; RING_PER_THREAD * threads],
            spare: Vec::new(),
            stop: false,
        }),
        formatted: Condvar::new(),
        written: Condvar::new(),
    };
    let (shared, format) = (&shared, &format);
    rayon::in_place_scope(|scope| {
        for _ in 1..threads {
            scope.spawn(move |_| help(shared, format));
        }
        let _stop = StopOnPanic(shared);
        write(shared, out, format)
    })
}

/// A helper thread: formats the chunks it takes until none is left.
fn help(shared: &Shared, format: &(impl Fn(usize, &mut Vec<u8>) + Sync)) {
    let _stop = StopOnPanic(shared);
    loop {
        let (c, mut buf) = {
            let mut state = shared.lock();
            loop {
                if state.stop || state.taken == shared.chunks {
                    return;
                }
                if let Some(taken) = shared.take(&mut state) {
                    break taken;
                }
                // the ring is full: wait for the writer
                state = (shared.written.wait(state)).unwrap_or_else(PoisonError::into_inner);
            }
        };
        format(c, &mut buf);
        let mut state = shared.lock();
        let slots = state.slots.len();
        state.slots[c % slots] = Some(buf);
        if c == state.written {
            shared.formatted.notify_one();
        }
    }
}

/// The calling thread: writes each chunk once it is formatted, and formats
/// chunks itself while the next one to write is not.
fn write(
    shared: &Shared,
    out: &mut dyn Write,
    format: &(impl Fn(usize, &mut Vec<u8>) + Sync),
) -> io::Result<()> {
    let mut state = shared.lock();
    while state.written < shared.chunks && !state.stop {
        let slots = state.slots.len();
        let next = state.written % slots;
        if let Some(mut buf) = state.slots[next].take() {
            drop(state);
            let wrote = out.write_all(&buf);
            state = shared.lock();
            if let Err(e) = wrote {
                state.stop = true;
                shared.written.notify_all();
                return Err(e);
            }
            state.written += 1;
            buf.clear();
            state.spare.push(buf);
            shared.written.notify_all();
        } else if let Some((c, mut buf)) = shared.take(&mut state) {
            drop(state);
            format(c, &mut buf);
            state = shared.lock();
            state.slots[c % slots] = Some(buf);
        } else {
            // the next chunk is another thread's, still being formatted
            state = (shared.formatted.wait(state)).unwrap_or_else(PoisonError::into_inner);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunk `c`'s bytes: its number, as many times as it says (so that
    /// chunks differ in size), then a newline.
    fn chunk(c: usize, buf: &mut Vec<u8>) {
        assert!(buf.is_empty(), "a reused buffer comes emptied");
        for _ in 0..c % 7 {
            buf.extend_from_slice(c.to_string().as_bytes());
        }
        buf.push(b'\n');
    }

    fn expected(chunks: usize) -> Vec<u8> {
        let mut all = Vec::new();
        for c in 0..chunks {
            let mut buf = Vec::new();
            chunk(c, &mut buf);
            all.extend_from_slice(&buf);
        }
        all
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
    }

    /// Every chunk once, in order, on any number of threads, with chunks
    /// that take different times to format.
    #[test]
    fn chunks_come_out_in_order() {
        for threads in [1, 2, 3, 8] {
            for chunks in [0, 1, 2, 5, 31, 200] {
                let mut out = Vec::new();
                pool(threads)
                    .install(|| {
                        write_in_order(chunks, &mut out, |c, buf| {
                            if c % 5 == 1 {
                                std::thread::sleep(std::time::Duration::from_micros(200));
                            }
                            chunk(c, buf)
                        })
                    })
                    .expect("written");
                assert_eq!(out, expected(chunks), "{threads} threads, {chunks} chunks");
            }
        }
    }

    /// Fails after `budget` bytes.
    struct Failing {
        budget: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.budget {
                return Err(io::Error::other("disk full"));
            }
            self.budget -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A write error is returned, and the other threads stop rather than
    /// wait forever for room in the ring.
    #[test]
    fn a_write_error_stops_every_thread() {
        for threads in [1, 2, 4] {
            let mut out = Failing { budget: 100 };
            let result = pool(threads).install(|| write_in_order(1000, &mut out, chunk));
            let err = result.expect_err("the writer failed");
            assert_eq!(err.to_string(), "disk full");
        }
    }

    /// A panic while formatting reaches the caller, whichever thread it
    /// happened on, instead of leaving the writer waiting for its chunk.
    #[test]
    fn a_panic_while_formatting_reaches_the_caller() {
        for threads in [1, 2, 4] {
            for bad in [0, 3, 57] {
                let result = std::panic::catch_unwind(|| {
                    pool(threads).install(|| {
                        write_in_order(100, &mut Vec::new(), |c, buf| {
                            assert!(c != bad, "chunk {bad} cannot be formatted");
                            chunk(c, buf)
                        })
                    })
                });
                assert!(result.is_err(), "{threads} threads, chunk {bad}");
            }
        }
    }
}
