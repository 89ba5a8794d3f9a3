//! `--output PATH`: write the result so that PATH never holds half of it.
//!
//! For a regular file (or a path that does not exist yet) the result is
//! written to a hidden temporary file in the same directory, synced, and
//! renamed over PATH: a failed run leaves PATH as it was. What a rename
//! would break is handled apart:
//!
//! - **Not a regular file** (`/dev/null`, `/dev/stdout`, `/dev/full`, a
//!   FIFO): renaming over it would replace the device node or the pipe by
//!   a regular file (as root, `--output /dev/null` would break the
//!   machine), and a FIFO's reader would get nothing. Such paths are
//!   opened and written directly, as the shell's `>` does; a write error
//!   (ENOSPC on `/dev/full`) is reported.
//! - **A symlink**: the link is kept and its *target* is replaced
//!   atomically (the temporary file is made beside the target, so that the
//!   rename stays within one filesystem).
//! - **Modes**: a new file gets `0666` less the umask, as with `>`; a
//!   replaced file keeps its mode.
//!
//! The temporary file is named `.NAME.rayproc-tmp-PID-RANDOM`. It is
//! registered with [`crate::signals`], so SIGINT, SIGTERM, SIGHUP and a
//! SIGBUS from a truncated input remove it. A SIGKILL cannot be caught:
//! the pid in the name lets the next run that writes the same output
//! remove the leftovers of processes that no longer exist.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{cannot_create_in, unwritable, Error, Result};
use crate::signals;

/// What goes between `.NAME` and `-PID-RANDOM` in a temporary file's name.
const TMP_MARK: &str = ".rayproc-tmp-";

/// Calls `fill` with a writer, then moves what it wrote to `path`.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let target = resolve_links(path).map_err(|e| Error::io(path, e))?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // the output cannot be written, named as given, with why
    let no_file = |e| unwritable(path, "output", cannot_create_in(&dir, "a file", e));
    let existing = match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            let e = io::Error::new(io::ErrorKind::IsADirectory, "it is a directory");
            return Err(unwritable(path, "output", e));
        }
        Ok(meta) if !meta.is_file() => return write_in_place(path, &target, fill),
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(no_file(e)),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_leftovers(&dir, &name);
    let tmp = Temporary::create(&dir, &name).map_err(no_file)?;
    signals::test_pause("output");
    if let Some(permissions) = existing {
        tmp.file
            .set_permissions(permissions)
            .map_err(|e| Error::io(path, e))?;
    }
    {
        let mut out = BufWriter::new(&tmp.file);
        fill(&mut out).map_err(|e| Error::io(path, e))?;
        out.flush().map_err(|e| Error::io(path, e))?;
    }
    tmp.file.sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(&target).map_err(|e| Error::io(path, e))
}

/// Writes straight into a device or FIFO, as the shell's `>` does.
fn write_in_place(
    path: &Path,
    target: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let file = File::create(target).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::new(file);
    fill(&mut out).map_err(|e| Error::io(path, e))?;
    out.flush().map_err(|e| Error::io(path, e))
}

/// Follows `path` through symlinks to the file that would be written; a
/// dangling link gives its (missing) target.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&at)?;
                at = match at.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(at),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A temporary file being written; removed when dropped unless persisted.
struct Temporary {
    path: PathBuf,
    persisted: bool,
    file: File,
    _guard: signals::Guard,
}

impl Temporary {
    /// Creates `DIR/.NAME.rayproc-tmp-PID-RANDOM`, `0666` less the umask.
    fn create(dir: &Path, name: &str) -> io::Result<Temporary> {
        use std::hash::{BuildHasher, Hasher};
        let pid = std::process::id();
        for _ in 0..100 {
            let random = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish() as u32;
            let path = dir.join(format!(".{name}{TMP_MARK}{pid}-{random:08x}"));
            let created = signals::create_removable(path.clone(), |p| {
                let mut options = OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o666);
                options.open(p)
            });
            match created {
                Ok((file, guard)) => {
                    return Ok(Temporary {
                        path,
                        persisted: false,
                        file,
                        _guard: guard,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("cannot find a free temporary file name"))
    }

    /// Renames the file over `target`.
    fn persist(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Removes `DIR/.NAME.rayproc-tmp-PID-*` files left by runs that were
/// killed (SIGKILL, power loss) and whose process no longer exists.
fn remove_leftovers(dir: &Path, name: &str) {
    let prefix = format!(".{name}{TMP_MARK}");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != std::process::id() && !process_exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// True unless process `pid` certainly does not exist.
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_on_success() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old").unwrap();
        let failed = write_atomically(&target, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        write_atomically(&target, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn leftovers_of_dead_processes_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // pid_max is at most 2^22 on Linux: this pid cannot be alive
        let dead = dir.path().join(".out.csv.rayproc-tmp-99999999-0000abcd");
        let alive = dir.path().join(format!(
            ".out.csv.rayproc-tmp-{}-0000abcd",
            std::process::id()
        ));
        let other = dir.path().join(".other.csv.rayproc-tmp-99999999-0000abcd");
        for p in [&dead, &alive, &other] {
            std::fs::write(p, "x").unwrap();
        }
        write_atomically(&dir.path().join("out.csv"), |w| w.write_all(b"new")).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists());
        assert!(other.exists());
    }
}
