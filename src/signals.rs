//! What rayproc does when the process is stopped from outside: interrupted
//! (SIGINT, SIGTERM, SIGHUP), faulting on a mapped input that shrank under
//! it (SIGBUS), writing past the file size limit (SIGXFSZ, ignored so that
//! the write fails as any other) or refused memory ([`out_of_memory`]).
//!
//! # Why
//!
//! rayproc writes through temporary files and directories (`--output`'s
//! hidden file, `split`'s store under construction) that are renamed into
//! place only when complete. Killed halfway, it would leave them behind.
//! And it reads its inputs memory-mapped: a file truncated while mapped
//! (logrotate's `copytruncate`, a store partition overwritten) makes the
//! next read of a page past the new end raise SIGBUS, which by default
//! kills the process with no message (exit 135) and leaves the temporary
//! files too. Both cases become clean exits here:
//!
//! - **Interrupts.** [`init`], called first thing in `main` (before rayon or
//!   any other thread exists, so that every thread inherits the mask),
//!   blocks SIGINT, SIGTERM and SIGHUP in all threads and starts one thread
//!   that `sigwait`s for them. That thread runs ordinary code, not a signal
//!   handler: it removes every path registered with [`remove_on_interrupt`]
//!   (`remove_dir_all` for directories), then restores the default action
//!   and re-raises the signal, so the shell sees a death by that signal
//!   (exit status 130, 143, 129) and a script's `trap` or `set -e` behaves
//!   as with any other program. A signal that was ignored when rayproc
//!   started (`nohup` ignores SIGHUP) stays ignored.
//! - **SIGBUS.** The mmap sites register each mapped region with
//!   [`register_mapping`]. A `SA_SIGINFO` handler looks the faulting
//!   address (`si_addr`) up; when it lies in a registered region, the
//!   handler hands the ending to the interrupt thread: it notes the file,
//!   sends the process a signal only that thread waits for (`SIGRTMIN`;
//!   one sent from outside, with no file noted, ends the run as an
//!   interrupt does) and waits; the thread removes every registered path, directories
//!   included (`split`'s store under construction: they were left behind,
//!   hundreds of MB, when a handler could only `unlink`), writes
//!   `rayproc: error: FILE changed while being read (truncated?)` and
//!   exits 1. Without that thread (it could not start) the handler writes
//!   the message, unlinks the registered files and `_exit(1)`s itself. A
//!   fault anywhere else is a real bug: the handler restores the default
//!   action and re-raises, and the process still dies of SIGBUS.
//!
//! # The registries are lock-free slot tables
//!
//! A signal handler may interrupt a thread that holds any lock, the
//! allocator's included, so the handler may only read atomics and call
//! async-signal-safe functions (`write`, `unlink`, `_exit`, `sigaction`,
//! `raise`). Both registries are fixed-size static arrays of slots
//! (region start, length, and a pointer to a C string made when the slot
//! was filled); a slot is claimed with a compare-and-swap on its `busy`
//! flag, filled, and published by storing the path pointer last.
//!
//! The one hazard is a string freed while the handler (or the interrupt
//! thread) reads it. A global `DYING` flag closes it, Dekker style, with
//! sequentially consistent atomics: the dying side stores `DYING` and then
//! reads the slots; a releasing thread clears the slot's pointer and then
//! reads `DYING`. If the releasing thread saw `DYING` unset, the dying side
//! will see the cleared pointer; if it saw it set, it frees nothing and
//! parks for good (the process is about to end). A full table is not an
//! error: the region or path is then simply not covered (256 temporary
//! paths at once are far beyond what a run holds; 65,536 mappings are
//! more than Linux lets a process hold by default, `vm.max_map_count`,
//! and a dataset of 10,000 files maps each). A claim scans from the slot
//! after the last one claimed, so that claiming 10,000 regions is linear,
//! not quadratic (it was a sixth of a run over 10,000 small files).
//!
//! Nothing is installed unless [`init`] ran: the library used from another
//! program, and the unit tests, keep their own signal dispositions.

use std::ffi::{CStr, CString};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::SeqCst};

/// One registered region or path.
struct Slot {
    busy: AtomicBool,
    start: AtomicUsize,
    len: AtomicUsize,
    path: AtomicPtr<libc::c_char>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            busy: AtomicBool::new(false),
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            path: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

const CLEANUP_SLOTS: usize = 256;
const MAPPING_SLOTS: usize = 1 << 16;

/// Paths to remove when interrupted (files are unlinked on SIGBUS too).
static CLEANUP: [Slot; CLEANUP_SLOTS] = [const { Slot::new() }; CLEANUP_SLOTS];
/// Mapped input regions and the names to report them by.
static MAPPINGS: [Slot; MAPPING_SLOTS] = [const { Slot::new() }; MAPPING_SLOTS];
/// Set once the process is ending from a signal; see the module docs.
static DYING: AtomicBool = AtomicBool::new(false);
/// Set by [`init`]: without it nothing is registered.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Held through a [`critical`] step; the interrupt thread takes it for good
/// before it removes anything.
static CRITICAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds off an interrupt's cleanup (and the process's death) until the
/// guard is dropped, for a step that moves a registered path into place:
/// `split` renaming its temporary directory to the next generation and
/// pointing `current` at it. The cleanup then finds the step not begun (and
/// removes the directory) or done (the directory is gone from its path),
/// never halfway: removing the directory while it was renamed emptied the
/// new generation, which the split then made current, and went on to
/// delete the old one.
pub fn critical() -> std::sync::MutexGuard<'static, ()> {
    CRITICAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Blocks the current thread for good: the process is ending from a signal
/// and the thread must not touch the registries any more.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Fills a free slot of `table`; `None` when the table is full or `init`
/// did not run.
fn claim(table: &'static [Slot], start: usize, len: usize, path: &Path) -> Option<usize> {
    /// Where the next scan starts (any slot index; a hint only).
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    if !ACTIVE.load(SeqCst) {
        return None;
    }
    let c_path = c_string(path)?;
    let from = NEXT.load(SeqCst);
    for k in 0..table.len() {
        let i = (from + k) % table.len();
        let slot = &table[i];
        if !slot.busy.load(SeqCst)
            && slot
                .busy
                .compare_exchange(false, true, SeqCst, SeqCst)
                .is_ok()
        {
            NEXT.store(i + 1, SeqCst);
            slot.start.store(start, SeqCst);
            slot.len.store(len, SeqCst);
            slot.path.store(c_path.into_raw(), SeqCst);
            if DYING.load(SeqCst) {
                park_forever();
            }
            return Some(i);
        }
    }
    None
}

/// Empties slot `i` of `table`.
fn release(table: &'static [Slot], i: usize) {
    let slot = &table[i];
    let path = slot.path.swap(std::ptr::null_mut(), SeqCst);
    if DYING.load(SeqCst) {
        // the dying side may be reading `path`: keep it, and stay out
        park_forever();
    }
    if !path.is_null() {
        // SAFETY: `path` came from `CString::into_raw` in `claim`, and the
        // swap above took it out of the table: no one else can free it, and
        // the dying side, which alone reads it concurrently, did not start
        // (DYING was unset after the swap; see the module docs).
        drop(unsafe { CString::from_raw(path) });
    }
    slot.busy.store(false, SeqCst);
}

#[cfg(unix)]
fn c_string(path: &Path) -> Option<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).ok()
}

#[cfg(not(unix))]
fn c_string(path: &Path) -> Option<CString> {
    CString::new(path.to_string_lossy().into_owned()).ok()
}

/// Keeps a path registered for removal on interrupt; dropping it
/// unregisters the path (and removes nothing).
#[must_use = "the path is unregistered when the guard is dropped"]
pub struct Guard {
    slot: Option<usize>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(i) = self.slot.take() {
            release(&CLEANUP, i);
        }
    }
}

/// Registers `path` (a file or a directory) to be removed if the process is
/// interrupted by SIGINT, SIGTERM or SIGHUP while the guard lives; a file is
/// also unlinked on a SIGBUS from a truncated input.
///
/// Register before creating the path, or better use [`create_removable`],
/// which also closes the race with an interrupt that arrives in between.
pub fn remove_on_interrupt(path: PathBuf) -> Guard {
    Guard {
        slot: claim(&CLEANUP, 0, 0, &path),
    }
}

/// A cleanup slot's `start` for a directory removed only if empty
/// ([`remove_on_interrupt_if_empty`]).
const EMPTY_ONLY: usize = 1;

/// Registers the directory `path` to be removed on interrupt (as
/// [`remove_on_interrupt`]), but only if it is empty once every other
/// registered path is gone: a store folder that a first `split` made, which
/// an interrupt left behind, empty. Once the store is in it, it stays.
pub fn remove_on_interrupt_if_empty(path: PathBuf) -> Guard {
    Guard {
        slot: claim(&CLEANUP, EMPTY_ONLY, 0, &path),
    }
}

/// Registers `path` for removal on interrupt, then calls `create` to make
/// it. If an interrupt's cleanup ran between the two, the new path is
/// removed here and the thread waits for the process to end.
pub fn create_removable<T>(
    path: PathBuf,
    create: impl FnOnce(&Path) -> io::Result<T>,
) -> io::Result<(T, Guard)> {
    let guard = remove_on_interrupt(path.clone());
    let made = create(&path)?;
    if DYING.load(SeqCst) {
        remove_path(&path);
        park_forever();
    }
    Ok((made, guard))
}

/// Keeps a mapped region registered; dropping it unregisters the region.
/// Drop it before the region is unmapped.
#[must_use = "the region is unregistered when the guard is dropped"]
pub struct MappingGuard {
    slot: Option<usize>,
}

impl Drop for MappingGuard {
    fn drop(&mut self) {
        if let Some(i) = self.slot.take() {
            release(&MAPPINGS, i);
        }
    }
}

/// Registers the mapped region `ptr..ptr + len` of file `path` (named as the
/// user knows it): a SIGBUS in it then ends the run with
/// `rayproc: error: PATH changed while being read (truncated?)` and exit
/// code 1 instead of a crash. The path is kept as that message shows it
/// ([`crate::error::show_path`]): the handler can only copy bytes.
pub fn register_mapping(ptr: *const u8, len: usize, path: &Path) -> MappingGuard {
    let shown = crate::error::show_path(path);
    let slot = claim(&MAPPINGS, ptr as usize, len, Path::new(&*shown));
    test_pause("map");
    MappingGuard { slot }
}

/// [`register_mapping`] for a region that stays mapped until the process
/// has finished its work (a CSV input): the registration is never undone.
pub fn register_mapping_for_run(ptr: *const u8, len: usize, path: &Path) {
    std::mem::forget(register_mapping(ptr, len, path));
}

/// A hook for the fault tests, inert unless `RAYPROC_TEST_PAUSE` is
/// `POINT:FLAG` with this `point`: the first time the process gets here it
/// creates file FLAG and waits until the test removes it, having in
/// between truncated an input or sent a signal.
pub fn test_pause(point: &str) {
    static DONE: AtomicBool = AtomicBool::new(false);
    let Some(spec) = std::env::var_os("RAYPROC_TEST_PAUSE") else {
        return;
    };
    let spec = spec.to_string_lossy();
    let Some((at, flag)) = spec.split_once(':') else {
        return;
    };
    if at != point || DONE.swap(true, SeqCst) {
        return;
    }
    if std::fs::write(flag, b"").is_err() {
        return;
    }
    while Path::new(flag).exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Removes a file, or a directory and its content; errors are ignored (the
/// path may not exist yet, or any more). A directory is tried a few times:
/// workers still writing into it (a split's partitions) may add a file
/// while it is being emptied, and its removal then fails.
fn remove_path(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            for _ in 0..5 {
                if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
                    break;
                }
            }
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Installs the interrupt thread and the SIGBUS handler. Call it first in
/// `main`, before any other thread starts; calling it again does nothing.
pub fn init() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            ACTIVE.store(true, SeqCst);
            unix::start_interrupt_thread();
            unix::install_bus_handler();
            unix::ignore_file_size_limit();
        });
    }
}

/// Gives a program that replaces this process (`exec`: the `--cluster`
/// driver) the signal state rayproc started with: the interrupts [`init`]
/// blocked unblocked, and SIGXFSZ back to its default. A blocked mask and
/// an ignored signal survive `exec`: the driver never saw Ctrl-C, `kill`
/// or `timeout`'s SIGTERM (pending for ever, only SIGKILL ended it), and
/// neither did the Ray and rayproc processes it started.
pub fn restore_for_exec() {
    #[cfg(unix)]
    unix::restore_for_exec();
}

std::thread_local! {
    /// The input this thread is decoding ([`decoding`]): a C string that
    /// outlives the mark, named when memory is refused meanwhile.
    static DECODING: std::cell::Cell<*const std::ffi::c_char> =
        const { std::cell::Cell::new(std::ptr::null()) };
}

/// Marks this thread as decoding the input shown as `name` until the mark
/// is dropped. Memory refused meanwhile is reported as asked for while
/// decoding that file ([`out_of_memory`]): a damaged file can claim more
/// than it holds, and the crates that decode Parquet and Arrow allocate
/// what it claims. Under a memory limit such a file ended the run with
/// "out of memory", naming no file.
pub fn decoding(name: &CStr) -> Decoding<'_> {
    let previous = DECODING.with(|d| d.replace(name.as_ptr()));
    Decoding {
        previous,
        _name: std::marker::PhantomData,
    }
}

/// The mark [`decoding`] sets; dropping it restores the one before.
pub struct Decoding<'a> {
    previous: *const std::ffi::c_char,
    _name: std::marker::PhantomData<&'a CStr>,
}

impl Drop for Decoding<'_> {
    fn drop(&mut self) {
        DECODING.with(|d| d.set(self.previous));
    }
}

/// Ends the run for memory the system refused (`layout`'s bytes): says
/// so, removes the registered temporary files, and exits 1, as a SIGBUS on
/// a shrunk input does. Rust's own handler for a refused allocation
/// aborts: under a memory limit (`ulimit -v`, a container's) a group-by
/// of many keys died of SIGABRT (exit 134, a core where cores are kept)
/// with half a backtrace, and left `--output`'s temporary file behind.
/// Called by the process's allocator ([`crate::alloc::Allocator`]) and by
/// the anonymous mappings that stand in for allocations.
///
/// It allocates nothing and takes no lock: it may run on any thread, in
/// the middle of anything (a thread that was refused memory while holding
/// the allocator's lock included).
pub fn out_of_memory(layout: std::alloc::Layout) -> ! {
    #[cfg(unix)]
    unix::die_out_of_memory(layout.size());
    #[cfg(not(unix))]
    std::alloc::handle_alloc_error(layout)
}

#[cfg(unix)]
mod unix {
    use super::*;

    const INTERRUPTS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// The signal by which the SIGBUS handler hands the ending of the run
    /// to the interrupt thread: the first real-time signal the C library
    /// leaves to programs, blocked in every thread and waited for by that
    /// one only, so that no one else ever sees it.
    fn bus_signal() -> libc::c_int {
        libc::SIGRTMIN()
    }

    /// Whether the interrupt thread waits for [`bus_signal`].
    static BUS_THREAD: AtomicBool = AtomicBool::new(false);
    /// The name of the input whose mapping faulted, for the interrupt
    /// thread's message.
    static BUS_NAME: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

    /// True when `signo` is ignored (as `nohup` leaves SIGHUP).
    fn ignored(signo: libc::c_int) -> bool {
        // SAFETY: a null new action only reads the current one into `old`,
        // a plain C struct for which all-zero bytes are a valid value.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signo, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        }
    }

    /// The interrupts [`start_interrupt_thread`] blocked (bit `signo`).
    static BLOCKED: AtomicUsize = AtomicUsize::new(0);
    /// Whether SIGXFSZ had its default action before
    /// [`ignore_file_size_limit`].
    static XFSZ_DEFAULT: AtomicBool = AtomicBool::new(false);

    pub(super) fn start_interrupt_thread() {
        let mut blocked = 0usize;
        // SAFETY: sigset_t is a plain C struct, initialised by sigemptyset
        // before use; pthread_sigmask only changes this thread's mask,
        // which the threads started later inherit.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signo in INTERRUPTS {
                if !ignored(signo) {
                    libc::sigaddset(&mut set, signo);
                    blocked |= 1 << signo;
                }
            }
            libc::sigaddset(&mut set, bus_signal());
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            set
        };
        BLOCKED.store(blocked, SeqCst);
        let started = std::thread::Builder::new()
            .name("rayproc-signals".into())
            .spawn(move || loop {
                let mut signo: libc::c_int = 0;
                // SAFETY: `set` is an initialised signal set and `signo` a
                // valid place for the answer.
                if unsafe { libc::sigwait(&set, &mut signo) } == 0 {
                    // the hand-off from the SIGBUS handler, which names the
                    // file first; sent from outside, the signal ends the
                    // run as any interrupt does (it killed rayproc before)
                    if signo == bus_signal() && !BUS_NAME.load(SeqCst).is_null() {
                        bus_fault();
                    }
                    interrupted(signo);
                }
            });
        BUS_THREAD.store(started.is_ok(), SeqCst);
        if started.is_err() {
            // No thread, no cleanup: let the signals kill as before.
            // SAFETY: as above, on this thread's own mask.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
            BLOCKED.store(0, SeqCst);
        }
    }

    pub(super) fn restore_for_exec() {
        let blocked = BLOCKED.load(SeqCst);
        // SAFETY: plain libc calls on this thread's own signal mask and on
        // SIGXFSZ's disposition (to the default action, no handler); the
        // set is initialised by sigemptyset before use.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signo in INTERRUPTS {
                if blocked & (1 << signo) != 0 {
                    libc::sigaddset(&mut set, signo);
                }
            }
            libc::sigaddset(&mut set, bus_signal());
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            if XFSZ_DEFAULT.load(SeqCst) {
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            }
        }
    }

    /// The run's end after a SIGBUS in a registered mapping, on the
    /// interrupt thread (the handler set `DYING` and [`BUS_NAME`]): the
    /// registered paths removed, directories included, the message, exit 1.
    fn bus_fault() -> ! {
        // as an interrupt does (no critical step reads a mapped input, so
        // the faulting thread, which waits for good, holds none)
        std::mem::forget(critical());
        remove_registered();
        let name = BUS_NAME.load(SeqCst);
        // SAFETY: the handler stored a published mapping's name, a live C
        // string that no one frees once DYING is set (module docs).
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        write_stderr(b"rayproc: error: ");
        write_stderr(name);
        write_stderr(b" changed while being read (truncated?)\n");
        // SAFETY: _exit ends the process at once; the faulting thread must
        // not run on (it waits in the handler).
        unsafe { libc::_exit(1) }
    }

    /// Removes every registered path (`DYING` is set): the directories
    /// to be removed only if empty last, once what they held is gone.
    fn remove_registered() {
        for empty_only in [false, true] {
            for slot in &CLEANUP {
                let path = slot.path.load(SeqCst);
                if path.is_null() || (slot.start.load(SeqCst) == EMPTY_ONLY) != empty_only {
                    continue;
                }
                // SAFETY: a published pointer is a live C string from
                // `claim`; with DYING set no one frees it (module docs).
                let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
                use std::os::unix::ffi::OsStrExt;
                let path = Path::new(std::ffi::OsStr::from_bytes(bytes));
                match empty_only {
                    true => drop(std::fs::remove_dir(path)),
                    false => remove_path(path),
                }
            }
        }
    }

    /// Removes the registered paths and dies of `signo`.
    fn interrupted(signo: libc::c_int) -> ! {
        // after any critical step under way, and before any other starts
        std::mem::forget(critical());
        DYING.store(true, SeqCst);
        remove_registered();
        // SAFETY: plain libc calls on this thread's own signal state; with
        // the default action restored and the signal unblocked here, raise
        // ends the process with that signal, as the shell expects.
        unsafe {
            libc::signal(signo, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signo);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signo);
            libc::_exit(128 + signo)
        }
    }

    /// Ignores SIGXFSZ, which a write past the file size limit (`ulimit
    /// -f`) raises: by default it killed the process with no message (exit
    /// 153) and left the temporary output or store behind. Ignored, the
    /// write fails with EFBIG ("File too large"), which every writer
    /// already reports as an unwritable output, removing what it made.
    pub(super) fn ignore_file_size_limit() {
        // SAFETY: setting a signal's disposition to SIG_IGN is a plain
        // libc call with no handler to run.
        let old = unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        XFSZ_DEFAULT.store(old == libc::SIG_DFL, SeqCst);
    }

    pub(super) fn install_bus_handler() {
        // SAFETY: `on_bus` has the SA_SIGINFO handler signature and only
        // does async-signal-safe work; the struct is zeroed (a valid empty
        // mask and no flags) before the fields that matter are set.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                on_bus;
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }

    /// Writes all of `bytes` to stderr, async-signal-safely.
    fn write_stderr(bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            // SAFETY: `rest` is a valid readable buffer of its length.
            let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
            if n <= 0 {
                return;
            }
            rest = &rest[n as usize..];
        }
    }

    /// The SIGBUS handler: only atomics and async-signal-safe calls.
    extern "C" fn on_bus(signo: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO
        // handler; si_addr is meaningful for kernel-raised SIGBUS (si_code
        // > 0), and a sent one (kill, si_code <= 0) is treated as foreign.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        if DYING.swap(true, SeqCst) {
            // another thread is already ending the process
            pause_forever()
        }
        let path = if code > 0 { find_mapping(addr) } else { None };
        let Some(path) = path else {
            // not ours: die of SIGBUS as without this handler (returning
            // re-runs a faulting access; a sent signal is re-raised)
            // SAFETY: sigaction/raise are async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signo, &action, std::ptr::null_mut());
                libc::raise(signo);
            }
            return;
        };
        if BUS_THREAD.load(SeqCst) {
            // the interrupt thread ends the run (it may allocate, to remove
            // directories); this thread must not run on, and waits
            BUS_NAME.store(path as *mut libc::c_char, SeqCst);
            // SAFETY: kill and getpid are async-signal-safe; the signal is
            // blocked in every thread but waited for by the interrupt one.
            unsafe { libc::kill(libc::getpid(), bus_signal()) };
            pause_forever()
        }
        // SAFETY: a published pointer is a live NUL-terminated string that
        // no one frees once DYING is set (module docs).
        let name = unsafe { CStr::from_ptr(path) }.to_bytes();
        fail(&[name, b" changed while being read (truncated?)"])
    }

    /// [`out_of_memory`](super::out_of_memory) on Unix.
    pub(super) fn die_out_of_memory(bytes: usize) -> ! {
        if DYING.swap(true, SeqCst) {
            pause_forever()
        }
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = bytes;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let decoding = DECODING.try_with(|d| d.get()).unwrap_or(std::ptr::null());
        if !decoding.is_null() {
            // SAFETY: set by `decoding` on this thread (the one refused
            // memory, here now) from a C string that outlives its mark,
            // which is still set: the string is alive and unchanged.
            let name = unsafe { CStr::from_ptr(decoding) }.to_bytes();
            fail(&[
                b"out of memory while decoding ",
                name,
                b": the system refused ",
                &digits[at..],
                b" bytes (a damaged file can claim more than it holds; else a memory limit such \
                  as `ulimit -v`, or more than this machine holds)",
            ])
        }
        fail(&[
            b"out of memory: the system refused ",
            &digits[at..],
            b" bytes (a memory limit such as `ulimit -v`, or more than this machine holds)",
        ])
    }

    /// Another thread is already ending the process: wait for it, without
    /// allocating (a handler, or a thread refused memory, must not).
    fn pause_forever() -> ! {
        loop {
            // SAFETY: pause only waits for a signal.
            unsafe { libc::pause() };
        }
    }

    /// Writes `rayproc: error: ` and `message` to stderr, unlinks the
    /// registered temporary files and exits 1, async-signal-safely. The
    /// caller has set `DYING`.
    fn fail(message: &[&[u8]]) -> ! {
        write_stderr(b"rayproc: error: ");
        for piece in message {
            write_stderr(piece);
        }
        write_stderr(b"\n");
        for slot in &CLEANUP {
            let file = slot.path.load(SeqCst);
            if !file.is_null() {
                // SAFETY: a published pointer is a live C string that no
                // one frees once DYING is set (module docs); unlink fails
                // harmlessly on a directory.
                unsafe { libc::unlink(file) };
            }
        }
        // SAFETY: _exit is async-signal-safe and runs no destructors.
        unsafe { libc::_exit(1) }
    }

    /// The name of the registered region that holds `addr`.
    fn find_mapping(addr: usize) -> Option<*const libc::c_char> {
        for slot in &MAPPINGS {
            let path = slot.path.load(SeqCst);
            if path.is_null() {
                continue;
            }
            let start = slot.start.load(SeqCst);
            let len = slot.len.load(SeqCst);
            if addr >= start && addr - start < len {
                return Some(path);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_claimed_released_and_reused() {
        ACTIVE.store(true, SeqCst);
        let a = remove_on_interrupt(PathBuf::from("/nonexistent/a"));
        let b = remove_on_interrupt(PathBuf::from("/nonexistent/b"));
        let (ia, ib) = (a.slot.unwrap(), b.slot.unwrap());
        assert_ne!(ia, ib);
        drop(a);
        assert!(CLEANUP[ia].path.load(SeqCst).is_null());
        let again = register_mapping(0x1000 as *const u8, 10, Path::new("x"));
        assert!(again.slot.is_some());
        drop(again);
        drop(b);
    }

    #[test]
    fn ten_thousand_mappings_all_get_a_slot() {
        // a dataset of 10,000 files maps each of them at once: every
        // region must be covered (the table once held 4,096), and the
        // claims must not rescan the busy slots (they were quadratic)
        ACTIVE.store(true, SeqCst);
        let guards: Vec<MappingGuard> = (0..10_000)
            .map(|i| register_mapping((0x1000 * (i + 1)) as *const u8, 10, Path::new("m")))
            .collect();
        let mut slots: Vec<usize> = guards.iter().map(|g| g.slot.expect("a slot")).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), 10_000);
        drop(guards);
    }

    #[test]
    fn a_decoding_mark_names_its_file_until_dropped_and_nests() {
        let now = || {
            let p = DECODING.with(|d| d.get());
            // SAFETY: a set mark's string outlives it (`decoding`)
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_owned())
        };
        let (a, b) = (c"a.parquet", c"b.arrow");
        assert_eq!(now(), None);
        let outer = decoding(a);
        assert_eq!(now().as_deref(), Some(a));
        {
            let _inner = decoding(b);
            assert_eq!(now().as_deref(), Some(b));
        }
        assert_eq!(now().as_deref(), Some(a));
        drop(outer);
        assert_eq!(now(), None);
    }
}
