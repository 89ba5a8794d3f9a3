//! The store directory's layout, and opening only what belongs to it.
//!
//! ```text
//! DIR/
//!   current              "gen-000042\n": the generation readers use
//!   gen-000042/          one complete store: manifest.json + part-*.arrow
//!   gen-000041/          an older generation a reader may still hold
//!   .tmp-PID/            a generation being written by `split`
//! ```
//!
//! Why generations: `split` over an existing store must never make a reader
//! running at the same time fail. A directory cannot be renamed over a
//! non-empty one, so replacing `DIR` itself leaves a moment with no store
//! (or with the old store's files disappearing under a reader). Instead a
//! new generation is written beside the old one and `current` is switched
//! by renaming a small file over it, which is atomic: a reader sees the old
//! generation or the new one, never a mixture or a gap.
//!
//! Why locks: a reader resolves `current` once, opens that generation's
//! directory and takes a shared `flock` on it, then re-reads `current`; if
//! it still names the same generation, no writer can remove it until the
//! reader is done (a writer removes an old generation only while holding an
//! exclusive lock on it, and only after `current` has moved away from it,
//! which never moves back: generation numbers only grow). A generation a
//! reader still holds is left to the next `split`. Writers take an exclusive
//! `flock` on `DIR` itself for the whole split, so two splits of one store
//! run one after the other, and whatever a killed split left (`.tmp-*`)
//! belongs to no live process and is removed by the next one.
//!
//! Why `openat` with `O_NOFOLLOW | O_NONBLOCK` and `fstat`: everything
//! inside a store is opened relative to the directory already opened, never
//! through a symbolic link (a partition that links to `/etc/passwd` must not
//! be read), and only if it is a regular file (a FIFO in its place would
//! block forever, a directory would be "read" as its size).

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::Path;

use crate::error::{show_path, Error, Result};

/// The file naming the current generation.
pub const CURRENT: &str = "current";
/// Generation directories are `gen-` + a zero-padded number.
pub const GEN_PREFIX: &str = "gen-";
/// Temporary directories and files of a split in progress (or killed).
pub const TMP_PREFIX: &str = ".tmp-";

/// The name of generation `n`.
pub fn generation_name(n: u64) -> String {
    format!("{GEN_PREFIX}{n:06}")
}

/// The number of generation directory `name`, if it is one.
pub fn generation_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(GEN_PREFIX)?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn c_name(name: &str) -> std::io::Result<CString> {
    CString::new(name).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
}

/// `openat(dir, name, flags)` as a [`File`].
fn open_at(dir: &File, name: &str, flags: libc::c_int) -> std::io::Result<File> {
    let name = c_name(name)?;
    // SAFETY: `dir` is an open descriptor for the duration of the call and
    // `name` a NUL-terminated string that outlives it; openat reads both and
    // keeps neither.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens the store directory the user named (a symbolic link here is the
/// user's choice and is followed).
pub fn open_dir(path: &Path) -> std::io::Result<File> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: open returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens the directory `name` inside `dir`, refusing a symbolic link.
pub fn open_subdir(dir: &File, name: &str) -> std::io::Result<File> {
    open_at(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )
}

/// Opens `name` inside `dir` (shown as `shown` in messages) for reading,
/// only if it is a regular file: never through a symbolic link, never
/// blocking on a FIFO or a device.
pub fn open_regular(dir: &File, name: &str, shown: &Path) -> Result<File> {
    let damaged = |why: String| {
        Error::Other(format!(
            "{}: {why}; the store is damaged, re-create it with `rayproc split`",
            show_path(shown)
        ))
    };
    let file = open_at(
        dir,
        name,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    )
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) => damaged(
            "is a symbolic link, and a store holds only regular files (rayproc never \
             reads outside the store)"
                .into(),
        ),
        // not damage: the store may be whole, and re-creating it would not
        // help a reader without the right to read it
        Some(libc::EACCES | libc::EPERM) => Error::Other(format!(
            "{}: cannot open ({}): this user may not read the store's files",
            show_path(shown),
            crate::error::plain_reason(&e)
        )),
        _ => damaged(format!("cannot open ({e})")),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| damaged(format!("cannot read its metadata ({e})")))?;
    if !meta.file_type().is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(damaged(format!(
            "is {kind}, and a store holds only regular files"
        )));
    }
    Ok(file)
}

/// Reads a whole regular file opened by [`open_regular`], at most `limit`
/// bytes (more is an error: the file is not what the store wrote).
pub fn read_limited(mut file: &File, limit: u64, shown: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::io(shown, e))?;
    if out.len() as u64 > limit {
        return Err(Error::Other(format!(
            "{}: larger than {limit} bytes; the store is damaged, re-create it with \
             `rayproc split`",
            show_path(shown)
        )));
    }
    Ok(out)
}

/// Whether the directory at `path` is a store of this layout: it holds a
/// regular file `current` that names a generation. For `split`, to tell a
/// store from other directories (it refuses to write one inside a store);
/// readers use [`read_current`], which says what is wrong.
pub fn names_a_generation(path: &Path) -> bool {
    let Ok(dir) = open_dir(path) else {
        return false;
    };
    matches!(read_current(&dir, path), Ok(Some(_)))
}

/// Whether the directory at `path` holds a manifest of the first layout
/// (format version 1: `manifest.json` beside the partitions, no
/// generations), told by its `format` within its first KiB.
pub fn holds_a_first_manifest(path: &Path) -> bool {
    let Ok(dir) = open_dir(path) else {
        return false;
    };
    let shown = path.join(super::manifest::FILE_NAME);
    let Ok(file) = open_regular(&dir, super::manifest::FILE_NAME, &shown) else {
        return false;
    };
    let mut head = Vec::new();
    let _ = (&file).take(1024).read_to_end(&mut head);
    let format = format!("\"{}\"", super::manifest::FORMAT);
    head.windows(format.len()).any(|w| w == format.as_bytes())
}

/// The generation `current` names in `dir` (shown as `shown`), `None` when
/// there is no `current`.
pub fn read_current(dir: &File, shown: &Path) -> Result<Option<String>> {
    let path = shown.join(CURRENT);
    match open_at(
        dir,
        CURRENT,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    ) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let file = open_regular(dir, CURRENT, &path)?;
    let text = read_limited(&file, 64, &path)?;
    let name = std::str::from_utf8(&text)
        .unwrap_or("")
        .trim_end_matches('\n');
    if generation_number(name).is_none() {
        return Err(Error::Other(format!(
            "{}: does not name a generation; the store is damaged, re-create it with \
             `rayproc split`",
            show_path(&path)
        )));
    }
    Ok(Some(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_names() {
        assert_eq!(generation_name(42), "gen-000042");
        assert_eq!(generation_number("gen-000042"), Some(42));
        assert_eq!(generation_number("gen-1234567"), Some(1234567));
        assert_eq!(generation_number("gen-42"), None);
        assert_eq!(generation_number("gen-00004x"), None);
        assert_eq!(generation_number(".tmp-1"), None);
    }

    #[test]
    fn only_regular_files_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("l")).unwrap();
        let d = open_dir(dir.path()).unwrap();
        assert!(open_regular(&d, "f", Path::new("f")).is_ok());
        let err = open_regular(&d, "d", Path::new("d"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a directory"), "{err}");
        let err = open_regular(&d, "l", Path::new("l"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }
}
