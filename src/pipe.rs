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

/// Asks the kernel for a 1 MiB buffer on the pipe `fd`. Anything but a
/// pipe refuses, harmlessly, as does a limit below 1 MiB.
#[cfg(target_os = "linux")]
pub fn grow(fd: std::os::fd::RawFd) {
    // SAFETY: F_SETPIPE_SZ takes an int and touches no memory of ours; an
    // fd that is not a pipe (or a size over the limit) gets an error,
    // which is ignored.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
    }
}

/// (No pipe buffer to size elsewhere.)
#[cfg(not(target_os = "linux"))]
pub fn grow(_fd: i32) {}
