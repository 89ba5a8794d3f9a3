//! Pipes' buffers, sized for bulk streams in and out.
//!
//! A pipe holds 64 KiB by default, so a reader and a writer that each move
//! tens of megabytes wake each other every 64 KiB. rayproc reads a
//! streamed input (`-`, a named pipe) through one, and a million-group
//! result leaves through one whenever stdout is piped to a program
//! (`| jq`, a Python caller). With 1 MiB, the default most an
//! unprivileged process may ask (`/proc/sys/fs/pipe-max-size`), the
//! faster side runs ahead by a block's worth instead of waiting for each
//! wake-up, which on a busy machine cost more than the parsing (streamed
//! input), and 2-4% of a million-group JSON result read by Python.

/// The buffer a pipe is given.
#[cfg(target_os = "linux")]
const SIZE: libc::c_int = 1 << 20;

/// Asks the kernel for a 1 MiB buffer on the pipe `fd`, unless it has as
/// much already (a pipe someone made larger is not shrunk). Anything but
/// a pipe refuses, harmlessly, as does a limit below 1 MiB.
#[cfg(target_os = "linux")]
pub fn grow(fd: std::os::fd::RawFd) {
    if needs_growth(size(fd)) {
        // SAFETY: F_SETPIPE_SZ takes an int and touches no memory of ours;
        // a size over the limit gets an error (-1), which is ignored.
        unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, SIZE) };
    }
}

/// The buffer of the pipe `fd` in bytes (`F_GETPIPE_SZ`), or -1 if `fd`
/// is no pipe.
#[cfg(target_os = "linux")]
fn size(fd: std::os::fd::RawFd) -> libc::c_int {
    // SAFETY: F_GETPIPE_SZ touches no memory of ours; an fd that is not a
    // pipe gets an error (-1).
    unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) }
}

/// Whether a pipe of `size` bytes (`F_GETPIPE_SZ`; -1 for no pipe) is
/// grown: only one smaller than [`SIZE`].
#[cfg(target_os = "linux")]
fn needs_growth(size: libc::c_int) -> bool {
    (0..SIZE).contains(&size)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn grows_a_pipe_and_never_shrinks_one() {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two ends `pipe` writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let before = size(fds[1]);
        grow(fds[1]);
        let max: libc::c_int = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        assert_eq!(size(fds[0]), if max >= SIZE { SIZE } else { before });
        // larger than 1 MiB: where this process may (CAP_SYS_RESOURCE), it
        // stays so
        // SAFETY: as in `grow`.
        if unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 2 * SIZE) } == 2 * SIZE {
            grow(fds[0]);
            assert_eq!(size(fds[1]), 2 * SIZE);
        }
        grow(-1); // not a file: nothing happens
        assert!(needs_growth(4096) && needs_growth(64 << 10));
        assert!(!needs_growth(SIZE) && !needs_growth(2 * SIZE) && !needs_growth(-1));
        // SAFETY: the two ends made above, closed once.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}

/// Whether standard stream `fd` (0 or 1) is open the way rayproc uses it:
/// 0 for reading, 1 for writing. Rust's `stdin()` and `stdout()` take a
/// descriptor open only the other way (`1<file`, `0>file`: `EBADF` on
/// use) for a sink that swallows everything and an empty input: the
/// result went nowhere with exit 0, and `count` was 0. The error says
/// which stream and why. (A closed one is never seen here: before `main`,
/// the Rust runtime opens `/dev/null` on a closed standard descriptor.)
#[cfg(unix)]
pub fn check_std(fd: std::os::fd::RawFd) -> crate::error::Result<()> {
    // SAFETY: F_GETFL takes no argument and touches no memory of ours.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let reading = fd == 0;
    let usable = flags >= 0
        && match flags & libc::O_ACCMODE {
            libc::O_RDONLY => reading,
            libc::O_WRONLY => !reading,
            _ => true,
        };
    if usable {
        return Ok(());
    }
    let (what, how, instead) = if reading {
        ("input", "reading", "name a file with --input")
    } else {
        ("output", "writing", "write to a file with --output")
    };
    let state = if flags < 0 {
        "closed"
    } else {
        "open the other way only"
    };
    Err(crate::error::Error::Other(format!(
        "standard {what} is not open for {how} ({state}): {instead}"
    )))
}

#[cfg(not(unix))]
pub fn check_std(_: i32) -> crate::error::Result<()> {
    Ok(())
}
