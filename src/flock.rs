//! Advisory whole-file locks (`flock`): how one rayproc process tells that
//! another still works on a file or folder, where a process ID cannot (a
//! run in another PID namespace, a container, or on another host sharing
//! the folder; Linux carries `flock` over NFS). A lock ends with the last
//! descriptor of its holder, so a killed run holds none.
//!
//! Used by the store (readers hold a shared lock on a generation, `split`
//! an exclusive one on the store) and by `--output`'s temporary files
//! (their writer holds one, so that cleaning up a killed run's leftovers
//! never removes a live run's file).

use std::fs::File;
use std::os::unix::io::AsRawFd;

/// `flock` on `file`: shared or exclusive; with `wait` false, `Ok(false)`
/// when another process holds a conflicting lock.
pub fn lock(file: &File, exclusive: bool, wait: bool) -> std::io::Result<bool> {
    let mut op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    if !wait {
        op |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock on a descriptor that stays open during the call.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !wait => return Ok(false),
            _ => return Err(e),
        }
    }
}
