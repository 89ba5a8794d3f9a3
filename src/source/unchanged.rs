//! Whether an input file changed while a run read it.
//!
//! rayproc reads a file by mapping it, or (Parquet) by reading its pages
//! where the footer says they are. Another process that changes the file
//! meanwhile changes what is read, and only some changes fault: a file
//! truncated by whole pages raises SIGBUS on the next read past its new
//! end (see [`crate::signals`]), but one cut within its last page reads
//! zeros in place of the lost bytes (a group `k\0\0` that was never in
//! the file, exit 0), and one rewritten in place keeping its size (or
//! appended to by a writer still writing its last line) reads as a mix
//! of old and new bytes, an answer that matches neither version.
//!
//! A CSV file whose bytes read end a record may grow meanwhile (a log
//! being written): what is appended after them changes nothing read, and
//! the answer is the file's as it was at the open. A file read whole at
//! the open (up to 64 KiB) is checked once, then.
//!
//! So an input opened from a regular file keeps the file's identity
//! (device and inode), size and modification time at the open
//! ([`FileState`]); when the run has read everything (its answer, or the
//! error it ended with, in hand), its path is asked again. The same file
//! with another size or time is an error that wins over the answer and
//! over an error the damage may have caused (`sum needs numbers, found
//! "6\0\0"`). Another file under the name (a rename over it), or none,
//! leaves the file that was opened and read whole, which is no change,
//! except for an input read again by its path (a Parquet file: every
//! reader opens it), which then read another file. No descriptor is kept:
//! a dataset of 10,000 files must not hold 10,000 of them.
//!
//! `split` has checked its sources so since it was written (it records
//! them); this is the same promise for `run` and `map`.
//!
//! The files opened so are also what an output must not replace
//! ([`refuse_as_output`]): `run -i in.csv -o in.csv` (or through a link,
//! or a pattern that found the output) replaced the input with the result,
//! exit 0.

use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::{show_name, Error, Result};

/// A file as it was when it was opened.
#[derive(Debug)]
pub struct FileState {
    path: PathBuf,
    id: Stamp,
    /// Readers open the path again.
    reopened: bool,
}

/// A file's identity, size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    file: FileId,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            file: FileId::of(meta),
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// What tells two files apart on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            device: meta.dev(),
            inode: meta.ino(),
        }
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> FileId {
        FileId {
            device: 0,
            inode: 0,
        }
    }
}

impl FileState {
    /// The state of `file`, opened from `path` for reading; `None` for
    /// anything but a regular file (a pipe or a device has no size to
    /// keep), or where its metadata cannot be read (then nothing is
    /// checked, as before). `reopened`: readers open `path` again. The file
    /// is noted as read by this process, under `name`
    /// ([`refuse_as_output`]).
    pub fn of(file: &File, path: &Path, name: &str, reopened: bool) -> Option<FileState> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        let id = Stamp::of(&meta);
        let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
        read.push((id, name.to_string()));
        drop(read);
        Some(FileState {
            path: path.to_path_buf(),
            id,
            reopened,
        })
    }

    /// How the file differs from what it was at the open, in words; `None`
    /// when it does not. `appendable`: the bytes read end a record, so that
    /// bytes appended after them (a log being written) changed nothing
    /// that was read: a longer file is then no change.
    pub fn change(&self, appendable: bool) -> Option<String> {
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => Stamp::of(&m),
            Err(_) if !self.reopened => return None,
            Err(e) => {
                return Some(format!(
                    "it cannot be opened by its name now: {}",
                    crate::error::plain_reason(&e)
                ))
            }
        };
        if now.file != self.id.file {
            return self
                .reopened
                .then(|| "its name now names another file".into());
        }
        if appendable && now.len > self.id.len {
            return None;
        }
        if now.len != self.id.len {
            return Some(format!(
                "its size is now {} bytes, was {}",
                now.len, self.id.len
            ));
        }
        if now.modified != self.id.modified {
            return Some("its modification time changed".into());
        }
        None
    }
}

/// Every file a [`FileState`] was made of, as it was opened (identity,
/// size and time: an inode freed and reused since is another file), with
/// its name: the inputs of this process.
static READ: Mutex<Vec<(Stamp, String)>> = Mutex::new(Vec::new());

/// Refuses `path`, named by `flag`, as an output when the file it would
/// replace (`replaced`: its links followed) is a file this process reads as
/// an input (by any name: a symbolic or hard link, a pattern's match):
/// replacing it would lose the input. An output that does not exist yet,
/// or cannot be asked, is no input.
pub fn refuse_as_output(flag: &str, path: &Path, replaced: &Path) -> Result<()> {
    let Ok(meta) = std::fs::metadata(replaced) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Ok(());
    }
    let id = Stamp::of(&meta);
    let read = READ.lock().unwrap_or_else(|e| e.into_inner());
    match read.iter().find(|(r, _)| *r == id) {
        None => Ok(()),
        Some((_, name)) => Err(Error::Usage(format!(
            "{flag} {} is the input {}: writing it would replace what was read; write the \
             result elsewhere",
            crate::error::show_path(path),
            show_name(name)
        ))),
    }
}

/// The error for input `name` that changed while it was read (`why`:
/// [`FileState::change`]'s words).
pub fn changed_while_read(name: &str, why: &str) -> Error {
    Error::Other(format!(
        "{} changed while being read ({why}), so no answer is given: run again once nothing \
         writes to it (or on a copy)",
        show_name(name)
    ))
}

/// `result`, unless one of the `inputs` (a name and its state) changed
/// while it was read: then that change, the first in input order, which
/// explains the result or the error better than either.
pub fn unless_changed<'a, T>(
    result: Result<T>,
    inputs: impl IntoIterator<Item = (&'a str, Option<&'a FileState>, bool)>,
) -> Result<T> {
    for (name, state, appendable) in inputs {
        if let Some(why) = state.and_then(|s| s.change(appendable)) {
            return Err(changed_while_read(name, &why));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};

    use super::*;

    fn state_of(path: &Path, reopened: bool) -> FileState {
        let file = File::open(path).unwrap();
        FileState::of(&file, path, "in", reopened).unwrap()
    }

    #[test]
    fn a_file_read_is_refused_as_an_output_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read.csv");
        std::fs::write(&path, "x\n1\n").unwrap();
        let (linked, other) = (dir.path().join("hard"), dir.path().join("other"));
        std::fs::hard_link(&path, &linked).unwrap();
        std::fs::write(&other, "x\n1\n").unwrap();
        let _state = state_of(&path, false);
        for name in [&path, &linked] {
            let e = refuse_as_output("--output", name, name)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("is the input in: writing it would replace"),
                "{e}"
            );
        }
        refuse_as_output("--output", &other, &other).unwrap();
        let new = dir.path().join("new");
        refuse_as_output("--output", &new, &new).unwrap();
    }

    #[test]
    fn a_file_left_alone_is_unchanged_and_every_change_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "k,x\na,1\nb,2\n").unwrap();
        let state = state_of(&path, false);
        assert_eq!(state.change(false), None);
        // cut by two bytes: the size
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(10).unwrap();
        assert_eq!(
            state.change(false).unwrap(),
            "its size is now 10 bytes, was 12"
        );
        assert_eq!(
            state.change(true).unwrap(),
            "its size is now 10 bytes, was 12"
        );

        // rewritten in place, the same size: the modification time
        std::fs::write(&path, "k,x\na,1\nb,2\n").unwrap();
        let state = state_of(&path, false);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(4)).unwrap();
        f.write_all(b"c").unwrap();
        drop(f);
        assert_eq!(
            state.change(false).unwrap(),
            "its modification time changed"
        );
        // appended to: a change unless the bytes read ended a record
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"c,3\n").unwrap();
        assert_eq!(
            state.change(false).unwrap(),
            "its size is now 16 bytes, was 12"
        );
        assert_eq!(state.change(true), None);
    }

    #[test]
    fn a_file_replaced_by_a_rename_is_a_change_only_where_its_name_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.parquet");
        std::fs::write(&path, "old").unwrap();
        let (kept, reopened) = (state_of(&path, false), state_of(&path, true));
        let new = dir.path().join("new");
        std::fs::write(&new, "new").unwrap();
        std::fs::rename(&new, &path).unwrap();
        assert_eq!(kept.change(false), None);
        assert_eq!(
            reopened.change(false).unwrap(),
            "its name now names another file"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(reopened
            .change(false)
            .unwrap()
            .starts_with("it cannot be opened by its name now"));
    }

    #[test]
    fn the_first_change_wins_over_the_result() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "1").unwrap();
        std::fs::write(&b, "1").unwrap();
        let (sa, sb) = (state_of(&a, false), state_of(&b, false));
        let ok: Result<u8> = Ok(7);
        let both = || {
            [
                ("a", Some(&sa), false),
                ("stdin", None, false),
                ("b", Some(&sb), false),
            ]
        };
        assert_eq!(unless_changed(ok, both()).unwrap(), 7);
        std::fs::write(&b, "12").unwrap();
        let failed: Result<u8> = Err(Error::Other("sum needs numbers".into()));
        let e = unless_changed(failed, both()).unwrap_err().to_string();
        assert!(
            e.starts_with("b changed while being read (its size is now 2 bytes, was 1)"),
            "{e}"
        );
    }
}
