//! `--output PATH`: write the result so that PATH never holds half of it.
//!
//! For a regular file (or a path that does not exist yet) the result is
//! written to a hidden temporary file in the same directory, synced, and
//! renamed over PATH: a failed run leaves PATH as it was. What a rename
//! would break is handled apart:
//!
//! - **Not a regular file** (`/dev/null`, `/dev/full`, a FIFO): renaming
//!   over it would replace the device node or the pipe by a regular file
//!   (as root, `--output /dev/null` would break the machine), and a FIFO's
//!   reader would get nothing. Such paths are opened and written directly,
//!   as the shell's `>` does; a write error (ENOSPC on `/dev/full`) is
//!   reported.
//! - **An open descriptor** (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
//!   `/proc/self/fd/N`, `/proc/PID/fd/N`: on Linux, a *magic link* in an
//!   `fd` folder of `/proc`, to which the others lead): the result is
//!   written through that descriptor, as if it were stdout, at its
//!   position (or at the end, if it was opened to append), and the
//!   descriptor is neither reopened nor truncated. Such a link is no
//!   path: `read_link` gives `pipe:[123]`, `socket:[456]`, or the name the
//!   file had (`NAME (deleted)` once removed), and replacing the file it
//!   names by a rename swept away what the shell had written there before
//!   (`{ echo header; rayproc ... -o /dev/stdout; } > report` lost the
//!   header, `>> log` the log), sent what it wrote after to the unlinked
//!   old file, made a stray file named `NAME (deleted)`, and failed on a
//!   pipe ("cannot create a file in /proc/self/fd"). Reopening the link,
//!   as bash's `> /dev/stdout` does on Linux, is no better: the kernel
//!   opens the file anew, truncated and at offset 0, so that the header
//!   is lost as well, and the shell's next write lands at its own offset,
//!   over the result. Writing through the descriptor is what `-o -` does
//!   and what a command's plain stdout does: the result lands where the
//!   next byte written to it would. Like stdout it is written as it is
//!   made, not atomically (a failed write leaves what was written). A
//!   link to a descriptor of another process (its `/proc/PID/fd/N`, which
//!   this one does not share) cannot be written through, and is opened
//!   and written as the shell's `>` opens it.
//! - **A symlink**: the link is kept and its *target* is replaced
//!   atomically (the temporary file is made beside the target, so that the
//!   rename stays within one filesystem).
//! - **A directory**, or a path that can only name one (`out/`), is
//!   refused, with why: it is one, a component of it is a file, or which
//!   of its folders does not exist.
//! - **Modes**: a new file gets `0666` less the umask, as with `>`; a
//!   replaced file keeps its mode, and its owner and group where this
//!   process may give them (root may: a report owned by a service user,
//!   replaced by root's cron job, became root's and unreadable to it; a
//!   user may keep a group of theirs). Other metadata (extended
//!   attributes, ACLs beyond the mode) belongs to the file replaced.
//!
//! The temporary file is named `.NAME.rayproc-tmp-PID-RANDOM`. It is
//! registered with [`crate::signals`], so SIGINT, SIGTERM, SIGHUP and a
//! SIGBUS from a truncated input remove it. A SIGKILL cannot be caught:
//! the pid in the name lets the next run that writes the same output
//! remove the leftovers of processes that no longer exist.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{cannot_create_in, not_a_directory, show_path, unwritable, Error, Result};
use crate::signals;

/// What goes between `.NAME` and `-PID-RANDOM` in a temporary file's name.
const TMP_MARK: &str = ".rayproc-tmp-";

/// Calls `fill` with a writer, then moves what it wrote to `path`.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    if names_a_directory(path) {
        return Err(unwritable(path, "output", no_file_at_directory(path)));
    }
    let target = match resolve_links(path).map_err(|e| unwritable(path, "output", e))? {
        Target::Path(target) => target,
        Target::Descriptor(file) => return write_in_place(path, file, fill),
        Target::Reopened(link) => {
            let file = File::create(link).map_err(|e| Error::io(path, e))?;
            return write_in_place(path, file, fill);
        }
    };
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
        Ok(meta) if !meta.is_file() => {
            let file = File::create(&target).map_err(|e| Error::io(path, e))?;
            return write_in_place(path, file, fill);
        }
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(no_file(e)),
    };
    let name = temporary_stem(&target);
    remove_leftovers(&dir, &name);
    let tmp = Temporary::create(&dir, &name).map_err(no_file)?;
    signals::test_pause("output");
    if let Some(meta) = existing {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // before the mode: a change of owner clears set-id bits;
            // refused (not root, a group not ours), the file stays ours
            let _ = std::os::unix::fs::fchown(&tmp.file, Some(meta.uid()), Some(meta.gid()));
        }
        tmp.file
            .set_permissions(meta.permissions())
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

/// The `NAME` of the temporary file `.NAME.rayproc-tmp-PID-RANDOM` made
/// for `target`: its file name, shortened so that the temporary's fits
/// the 255 bytes a file name may take. Whole, a legal name of over 220
/// bytes (or fewer bytes that are not UTF-8, each read as a 3-byte
/// U+FFFD) made the temporary's too long, and the output was refused.
fn temporary_stem(target: &Path) -> String {
    // `.`, the mark, a pid of up to 10 digits, `-` and 8 hex digits
    const MAX: usize = 255 - (1 + TMP_MARK.len() + 10 + 1 + 8);
    let mut name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.len() > MAX {
        let mut end = MAX;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// Whether `path` can only name a directory: it ends in `/` (or `/.`,
/// `/..`, or is `.` or `..`). Read as a file's path, `no_such_dir/` made a
/// temporary file in `.` whose rename onto it failed with a bare "Not a
/// directory", and `file/` looked for a temporary's place in `.`, which
/// the message then named; and `/dev/fd/1/` would be taken for stdout, as
/// `Path::file_name` ignores the trailing `/` that the kernel does not.
fn names_a_directory(path: &Path) -> bool {
    let bytes = path.as_os_str().as_encoded_bytes();
    bytes.ends_with(b"/")
        || bytes.ends_with(b"/.")
        || bytes.ends_with(b"/..")
        || bytes == b"."
        || bytes == b".."
}

/// Why a `path` that names a directory ([`names_a_directory`]) cannot be
/// written as the output, in the words of the other outputs that cannot
/// be: it is a directory; a component of it is a file (`file.csv/`:
/// "file.csv is a file, not a directory"); or its first component that
/// does not exist, named as a missing directory, since the path can name
/// nothing else.
fn no_file_at_directory(path: &Path) -> io::Error {
    let looked = fs::metadata(path);
    if looked.as_ref().is_ok_and(|meta| meta.is_dir()) {
        return io::Error::new(io::ErrorKind::IsADirectory, "it is a directory");
    }
    if let Some((_, why)) = not_a_directory(path) {
        return io::Error::new(io::ErrorKind::NotADirectory, why);
    }
    let mut at = PathBuf::new();
    for component in path.components() {
        at.push(component);
        if fs::metadata(&at).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
            let text = path.as_os_str().as_encoded_bytes();
            let end = ["/..", "/.", "/"]
                .into_iter()
                .find(|end| text.ends_with(end.as_bytes()))
                .unwrap_or(".");
            let why = format!(
                "a path ending in {end} names a directory, and the directory {} does not exist",
                show_path(&at)
            );
            return io::Error::new(io::ErrorKind::NotFound, why);
        }
    }
    // (what the system said, where it was neither: a folder not to be read)
    looked
        .err()
        .unwrap_or_else(|| io::ErrorKind::NotADirectory.into())
}

/// Writes straight into `file`, an open device, FIFO or descriptor, as
/// the shell's `>` or a plain stdout does (a pipe gets the larger buffer
/// that stdout gets: see [`crate::pipe`]).
fn write_in_place(
    path: &Path,
    file: File,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    #[cfg(target_os = "linux")]
    crate::pipe::grow(std::os::fd::AsRawFd::as_raw_fd(&file));
    let mut out = BufWriter::new(file);
    fill(&mut out).map_err(|e| Error::io(path, e))?;
    out.flush().map_err(|e| Error::io(path, e))
}

/// What an `--output` path leads to once its symlinks are followed.
enum Target {
    /// A path: a file, to replace, or a device or FIFO, to write into. It
    /// is the path given or the target its symlinks lead to (which may not
    /// exist).
    Path(PathBuf),
    /// A descriptor of this process that the path names (`/dev/stdout`),
    /// duplicated: written through, neither reopened nor truncated.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Descriptor(File),
    /// A link to a descriptor of another process (`/proc/PID/fd/N`), to
    /// open as the shell's `>` would.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Reopened(PathBuf),
}

/// The file that writing `path` would replace (its symlinks followed), if
/// it is one: `None` for a descriptor (`/dev/stdout`: written through where
/// it stands, and refused on its own terms when it cannot be) or a path
/// that cannot be followed (the write says why).
pub fn replaced_file(path: &Path) -> Option<PathBuf> {
    match resolve_links(path) {
        Ok(Target::Path(p)) => Some(p),
        _ => None,
    }
}

/// Follows `path` through symlinks to the file that would be written; a
/// dangling link gives its (missing) target. A link into an `fd` folder of
/// `/proc` is a descriptor, not a path ([`descriptor`]).
fn resolve_links(path: &Path) -> io::Result<Target> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        #[cfg(target_os = "linux")]
        if let Some(fd) = descriptor_number(&at) {
            return descriptor(at, fd);
        }
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&at)?;
                at = match at.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(Target::Path(at)),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// The descriptor number `N` that `at` names when it is `DIR/fd/N` in a
/// `/proc` file system (`/proc/self/fd/1`, `/proc/PID/task/TID/fd/1`, and
/// `/dev/fd/1`, whose `/dev/fd` leads there), whether or not `N` is open.
/// What `/proc` holds there are magic links, which the kernel follows to
/// the open file itself, not to the text `read_link` gives.
#[cfg(target_os = "linux")]
fn descriptor_number(at: &Path) -> Option<libc::c_int> {
    use std::os::unix::ffi::OsStrExt;
    /// `statfs`'s `f_type` of `/proc` (`linux/magic.h`).
    const PROC_SUPER_MAGIC: u64 = 0x9fa0;
    let name = at.file_name()?.to_str()?;
    let fd: libc::c_int = name.parse().ok()?;
    // (the kernel's names only: `+1` or `01` is no descriptor there)
    if fd.to_string() != name {
        return None;
    }
    let dir = at.parent()?;
    if dir.file_name()? != "fd" {
        return None;
    }
    let dir = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a NUL-terminated path, and a buffer of the struct statfs
    // fills; it is read only where statfs succeeded.
    let found = unsafe { libc::statfs(dir.as_ptr(), fs.as_mut_ptr()) } == 0;
    // SAFETY: statfs succeeded, so it filled the whole struct.
    let proc =
        found && u64::try_from(unsafe { fs.assume_init() }.f_type).ok() == Some(PROC_SUPER_MAGIC);
    proc.then_some(fd)
}

/// The output that descriptor `fd`'s magic link `link` names: this
/// process's own descriptor `fd`, duplicated, if it holds the very file
/// the link leads to (`/dev/stdout`, `/proc/self/fd/1`, and the shell's
/// `/proc/$$/fd/1` that rayproc inherited); else another process's, to
/// reopen. A descriptor that is not open, leads to a directory or is open
/// for reading only is refused, in words.
#[cfg(target_os = "linux")]
fn descriptor(link: PathBuf, fd: libc::c_int) -> io::Result<Target> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    let named = match fs::metadata(&link) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let why = format!("descriptor {fd} is not open");
            return Err(io::Error::new(e.kind(), why));
        }
        Err(e) => return Err(e),
    };
    if named.is_dir() {
        let e = io::Error::new(io::ErrorKind::IsADirectory, "it is a directory");
        return Err(e);
    }
    // SAFETY: F_DUPFD_CLOEXEC reads no memory of ours; a descriptor that
    // is not open gets an error (-1).
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Ok(Target::Reopened(link));
    }
    // SAFETY: `copy` is a new descriptor, open, and owned by nothing else.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(copy) });
    let ours = file.metadata()?;
    if (ours.dev(), ours.ino()) != (named.dev(), named.ino()) {
        return Ok(Target::Reopened(link));
    }
    // SAFETY: F_GETFL reads no memory of ours.
    let flags = unsafe { libc::fcntl(copy, libc::F_GETFL) };
    if flags >= 0 && flags & libc::O_ACCMODE == libc::O_RDONLY {
        let why = format!("descriptor {fd} is open for reading only");
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
    }
    Ok(Target::Descriptor(file))
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
                    let mut temporary = Temporary {
                        path,
                        persisted: false,
                        file,
                        _guard: guard,
                    };
                    if temporary.held()? {
                        return Ok(temporary);
                    }
                    // taken for a leftover before it was locked: the
                    // path is no longer ours to remove; another name
                    temporary.persisted = true;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("cannot find a free temporary file name"))
    }

    /// Locks the file for as long as it is open, the sign that a live run
    /// writes it ([`remove_leftovers`]), and checks that the path still
    /// names it: another run may have taken it for a leftover between
    /// its creation and the lock.
    #[cfg(unix)]
    fn held(&self) -> io::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        match crate::flock::lock(&self.file, true, false) {
            // a file system without locks: the process ID alone tells
            Err(_) => return Ok(true),
            // a cleaner holds it, about to remove it
            Ok(false) => return Ok(false),
            Ok(true) => {}
        }
        let (ours, named) = (self.file.metadata()?, fs::symlink_metadata(&self.path));
        Ok(named.is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino()))
    }

    #[cfg(not(unix))]
    fn held(&self) -> io::Result<bool> {
        Ok(true)
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
/// killed (SIGKILL, power loss): whose process no longer exists and whose
/// lock no one holds. The process ID alone removed the live file of a run
/// in another PID namespace (a container, or another host writing to the
/// same shared folder), which then failed with `No such file or
/// directory`.
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
        if is_file && pid != std::process::id() && !process_exists(pid) && !in_use(&entry.path()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// True unless the temporary file at `path` is certainly not being
/// written: no process holds its lock ([`Temporary::held`]).
fn in_use(path: &Path) -> bool {
    #[cfg(unix)]
    {
        let Ok(file) = File::open(path) else {
            return true;
        };
        !crate::flock::lock(&file, true, false).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
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

    /// A name of 255 bytes, the most a file name takes, is written; so is
    /// one of bytes that are not UTF-8 (each a 3-byte U+FFFD in the
    /// temporary's name), and a leftover of a killed run is still found.
    #[test]
    fn the_longest_names_are_written() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let mut utf8 = "é".repeat(126);
        utf8.push_str("abc");
        let not_utf8 = std::ffi::OsStr::from_bytes(&[0xff; 200]).to_owned();
        for name in [
            std::ffi::OsString::from("c".repeat(255)),
            std::ffi::OsString::from(utf8),
            not_utf8,
        ] {
            assert!(name.len() >= 200);
            let target = dir.path().join(&name);
            let stem = temporary_stem(&target);
            let dead = format!(".{stem}{TMP_MARK}99999999-0000abcd");
            assert!(dead.len() <= 255, "{}", dead.len());
            std::fs::write(dir.path().join(&dead), "left").unwrap();
            write_atomically(&target, |w| w.write_all(b"new")).unwrap();
            assert_eq!(std::fs::read(&target).unwrap(), b"new");
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
            assert_eq!(left.len(), 1, "the leftover is removed, no temporary stays");
            std::fs::remove_file(&target).unwrap();
        }
    }

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

    /// A descriptor named through `/proc/self/fd` is written where it
    /// stands, even once its file is removed (`read_link` gives `NAME
    /// (deleted)` then), and one open for reading only is refused.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_descriptor_is_written_through_where_it_stands() {
        use std::io::{Read, Seek};
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        // (a file already removed, as `tempfile()` makes it)
        let mut file = tempfile::tempfile_in(dir.path()).unwrap();
        file.write_all(b"before\n").unwrap();
        let link = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        write_atomically(&link, |w| w.write_all(b"result\n")).unwrap();
        file.write_all(b"after\n").unwrap();
        let mut text = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "before\nresult\nafter\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let input = dir.path().join("in.csv");
        std::fs::write(&input, "x\n1\n").unwrap();
        let reading = File::open(&input).unwrap();
        let link = PathBuf::from(format!("/proc/self/fd/{}", reading.as_raw_fd()));
        let refused = write_atomically(&link, |w| w.write_all(b"result\n"));
        assert!(refused.is_err());
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "x\n1\n");
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
