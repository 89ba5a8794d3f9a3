//! What an `--input` argument names: a file, standard input, a folder of
//! data files (a *dataset*, possibly Hive-partitioned), or a glob pattern
//! that rayproc expands itself.
//!
//! # Why rayproc globs
//!
//! `--input 'logs/2026-11-*.csv.gz'`, quoted, reaches rayproc unexpanded, so
//! a cron line does not pass 100,000 names through the shell (and its
//! argument-length limit). The matcher is written here, not taken from a
//! crate: it is small, and the two rules that matter for a deterministic
//! answer are ours to state and test:
//!
//! - **Order.** Every expansion is sorted by path, component by component,
//!   each compared as bytes (Rust's `Path` order; not the locale's, not the
//!   directory's), and duplicates (`a/**/**/x`) are removed. The files, and
//!   so which file an error names first, never depend on the order a file
//!   system lists a directory in.
//! - **What matches.** `*` (any run of characters, none included), `?` (one
//!   character), `[abc]`, `[a-z]`, `[!x]` (or `[^x]`) within one path
//!   component; `**` alone as a component matches any number of folders,
//!   none included. A name that begins with `.` is matched only by a
//!   component pattern that begins with a literal `.` (`*` skips hidden
//!   files, as in the shell). `**` does not enter hidden folders, nor
//!   folders whose name begins with `_` (Spark's `_temporary`), the folders
//!   a dataset walk skips. A pattern yields files only: a folder matched by
//!   the last component is not read (name it alone to read it as a
//!   dataset). No match is an error naming the pattern.
//!
//! A path is a pattern when it contains `*`, `?` or `[`, whether or not a
//! file of that very name exists, so that what an argument means does not
//! depend on what happens to be on disk. A file whose name holds one of
//! those characters is reached by quoting it in brackets: `a[*]b.csv` is the
//! file `a*b.csv`, `x[[]1].csv` is `x[1].csv`. A `[` with no closing `]` is
//! literal. Anything without those characters is a literal path.
//!
//! # Datasets
//!
//! `--input DIR` reads every data file below DIR, in the order above:
//! names beginning with `.` or `_` (`_SUCCESS`, `_committed_…`, `.crc`
//! files) are skipped, files and folders alike. Folder names of the form
//! `key=value` (Hive partitioning, as Spark, DuckDB and Polars write it)
//! become columns `key` (typed in [`super::dataset`]); keys and values are
//! percent-decoded as those writers encode them (`city=S%C3%A3o%20Paulo`). A value that is empty
//! (`key=`) or Hive's `__HIVE_DEFAULT_PARTITION__` (how Spark and Polars
//! write a null) is null: the empty text, which is how rayproc reads a null
//! field anyway. Other folders (`2026/`, `raw/`) give no column. Every file
//! of a dataset must lie under the same keys in the same order; a file that
//! does not is an error naming it, as is a folder holding no data file.
//! Keys are taken from folders below the folder the user named: for a
//! pattern, below its leading components without glob characters (so
//! `data/year=*/*.csv` gives `year`, `data/year=2026/*.csv` none), as
//! Polars does.
//!
//! A rayproc store (`rayproc split --store DIR`) is not a dataset: its
//! folder holds a pointer file and generations of partitions, of which one
//! is current. Any file inside one, named, walked or matched, is an error
//! that names the store and `--store`, the flag that reads it. So `split`
//! writes no store where its own folder or pattern would find it, since
//! every run of the store expands that input again: [`would_find`] says
//! where, by these same rules.
//!
//! # Symbolic links
//!
//! Links to files are followed. Links to folders are followed too, for a
//! dataset may be laid out with them, but a folder that is one of its own
//! ancestors (a link to `..`) is an error naming it, not an endless walk.
//! A dangling link is an error naming it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{show_name, show_path, Error, Result};

/// One input file and the Hive partition values of its folders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// As the user wrote it, or its folder joined with the names found
    /// below it; `-` is standard input.
    pub path: PathBuf,
    /// `(key, value)` from each `key=value` folder between the named folder
    /// (or a pattern's literal base) and the file, outermost first,
    /// percent-decoded; the empty value is null.
    pub hive: Vec<(String, String)>,
}

/// The null value of a Hive partition as Spark, Hive and Polars write it.
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// True when `arg` is a glob pattern: it holds `*`, `?` or `[`.
pub fn is_pattern(arg: &Path) -> bool {
    arg.components().any(|c| match c {
        Component::Normal(s) => has_meta(s),
        _ => false,
    })
}

fn has_meta(s: &OsStr) -> bool {
    s.as_encoded_bytes()
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// The files `arg` names: `-` (standard input) as is; a pattern expanded
/// (sorted, at least one file); a folder walked as a dataset (sorted, at
/// least one file, consistent Hive keys); any other path as is, which must
/// exist.
pub fn expand(arg: &Path) -> Result<Vec<InputFile>> {
    if arg.as_os_str() == "-" {
        return Ok(vec![InputFile {
            path: arg.to_path_buf(),
            hive: Vec::new(),
        }]);
    }
    let files = if is_pattern(arg) {
        let (base, files) = glob(arg)?;
        if files.is_empty() {
            return Err(Error::io(
                arg,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no file matches this pattern (a literal *, ? or [ is written [*], [?], [[])",
                ),
            ));
        }
        with_hive(&base, files)?
    } else {
        let meta = fs::metadata(arg).map_err(|e| Error::io(arg, e))?;
        if !meta.is_dir() {
            refuse_store_files([&arg.to_path_buf()])?;
            return Ok(vec![InputFile {
                path: arg.to_path_buf(),
                hive: Vec::new(),
            }]);
        }
        let mut files = Vec::new();
        let mut ancestors = vec![dir_id(arg, &meta)];
        walk(arg, &mut ancestors, &mut files)?;
        if files.is_empty() {
            return Err(Error::io(
                arg,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no data file in this folder (names beginning with . or _ are skipped)",
                ),
            ));
        }
        files.sort();
        with_hive(arg, files)?
    };
    refuse_store_files(files.iter().map(|f| &f.path))?;
    hive_columns(&files)?;
    Ok(files)
}

/// Refuses files that belong to a rayproc store (`rayproc split --store`):
/// its `current` file, and anything in its generation folders. Read as a
/// folder of data files, a store would mix every generation still on disk
/// (an old one a reader still holds counted twice) and read its pointer
/// file and manifests as data; `--store` reads the current generation
/// alone and verifies it. A partition read alone would show the store's
/// own columns (`city#codes`) and skip its checks.
///
/// A file is judged where it really lies, not by how its path is spelled:
/// `part-00000.arrow` typed inside a generation folder, `.` there, or a
/// link into a store are refused as `st/gen-000001/part-00000.arrow` is.
/// The spelled path is looked at first, so that the message names the
/// store as the user wrote it; then the file's folder resolved (once per
/// folder), and the file itself where it is a link.
fn refuse_store_files<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> Result<()> {
    let mut resolved_dir: Option<(&Path, Option<PathBuf>)> = None;
    for f in files {
        if let Some(store) = store_holding(f) {
            return Err(in_a_store(&store));
        }
        let dir = folder(f);
        if resolved_dir.as_ref().is_none_or(|(d, _)| *d != dir) {
            resolved_dir = Some((dir, fs::canonicalize(dir).ok()));
        }
        let real = match (fs::symlink_metadata(f), &resolved_dir) {
            (Ok(m), _) if m.file_type().is_symlink() => fs::canonicalize(f).ok(),
            (_, Some((_, Some(dir)))) => f.file_name().map(|name| dir.join(name)),
            _ => None,
        };
        if let Some(store) = real.as_deref().and_then(store_holding) {
            return Err(in_a_store(&store));
        }
    }
    Ok(())
}

/// The folder a file path lies in, `.` for a bare name.
fn folder(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The store `f` belongs to, judged by its path as written: `f` is the
/// store's `current` file, or lies in one of its generation folders.
fn store_holding(f: &Path) -> Option<PathBuf> {
    use crate::store::layout::{generation_number, CURRENT};
    let is_generation = |name: Option<&OsStr>| {
        name.and_then(OsStr::to_str)
            .and_then(generation_number)
            .is_some()
    };
    // a store: `current` beside at least one generation folder
    let is_store = |dir: &Path| {
        dir.join(CURRENT).is_file()
            && fs::read_dir(dir).is_ok_and(|read| {
                read.flatten()
                    .any(|e| is_generation(Some(&e.file_name())) && e.path().is_dir())
            })
    };
    let dir = folder(f);
    let store = if f.file_name() == Some(OsStr::new(CURRENT)) {
        dir
    } else if is_generation(dir.file_name()) {
        folder(dir)
    } else {
        return None;
    };
    is_store(store).then(|| store.to_path_buf())
}

fn in_a_store(store: &Path) -> Error {
    Error::Other(format!(
        "{}: this folder is a rayproc store; query it with --store {} \
         (read as a folder of files, it would mix the store's generations \
         and skip its checks)",
        show_path(store),
        show_path(store)
    ))
}

/// The Hive columns of files read as one table: the keys every file has,
/// in order. A file whose keys differ from the first file's is an error
/// naming both.
pub fn hive_columns(files: &[InputFile]) -> Result<Vec<String>> {
    let Some(first) = files.first() else {
        return Ok(Vec::new());
    };
    let keys = |f: &InputFile| f.hive.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    let want = keys(first);
    for f in &files[1..] {
        let got = keys(f);
        if got != want {
            let show = |k: &[String]| {
                if k.is_empty() {
                    "no key=value folders".to_string()
                } else {
                    let k: Vec<_> = k.iter().map(show_name).collect();
                    format!("the keys {}", k.join(", "))
                }
            };
            return Err(Error::Other(format!(
                "{}: its folders give {}, but {} has {}: every file of a dataset must lie \
                 under the same key=value folders, in the same order",
                show_path(&f.path),
                show(&got),
                show_path(&first.path),
                show(&want)
            )));
        }
    }
    Ok(want)
}

/// Attaches to each file the Hive values of its folders below `base`.
fn with_hive(base: &Path, files: Vec<PathBuf>) -> Result<Vec<InputFile>> {
    files
        .into_iter()
        .map(|path| {
            let hive = hive_of(base, &path)?;
            Ok(InputFile { path, hive })
        })
        .collect()
}

/// The `key=value` folders of `path` below `base`.
fn hive_of(base: &Path, path: &Path) -> Result<Vec<(String, String)>> {
    let Ok(rel) = path.strip_prefix(base) else {
        return Ok(Vec::new());
    };
    let Some(folders) = rel.parent() else {
        return Ok(Vec::new());
    };
    let mut hive: Vec<(String, String)> = Vec::new();
    for c in folders.components() {
        let Component::Normal(name) = c else { continue };
        let Some((key, value)) = split_hive(name.as_encoded_bytes()) else {
            continue;
        };
        let decode = |part: &[u8]| {
            String::from_utf8(percent_decode(part)).map_err(|_| {
                Error::Other(format!(
                    "{}: the folder name {} is not UTF-8 text once percent-decoded",
                    show_path(path),
                    show_path(Path::new(name))
                ))
            })
        };
        let key = decode(key)?;
        let mut value = decode(value)?;
        if value == HIVE_NULL {
            value.clear();
        }
        if hive.iter().any(|(k, _)| *k == key) {
            return Err(Error::Other(format!(
                "{}: the key {} appears in two key=value folders",
                show_path(path),
                show_name(&key)
            )));
        }
        hive.push((key, value));
    }
    Ok(hive)
}

/// `key=value` with a non-empty key (the first `=` splits: writers escape
/// `=` in keys and values).
fn split_hive(name: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = name.iter().position(|&b| b == b'=')?;
    (eq > 0).then(|| (&name[..eq], &name[eq + 1..]))
}

/// `%XX` (hex, either case) to its byte; a `%` not followed by two hex
/// digits stays as it is, as Spark's unescaping does.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// A folder's identity, for loop detection: device and inode on Unix, the
/// canonical path elsewhere.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum DirId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

fn dir_id(path: &Path, meta: &fs::Metadata) -> DirId {
    #[cfg(unix)]
    {
        let _ = path;
        use std::os::unix::fs::MetadataExt;
        DirId::Inode(meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        DirId::Path(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
    }
}

/// True for names a dataset walk (and `**`) skips: hidden, or `_`-prefixed.
fn skipped(name: &OsStr) -> bool {
    matches!(name.as_encoded_bytes().first(), Some(b'.' | b'_'))
}

/// One entry of a folder.
struct Entry {
    name: OsString,
    path: PathBuf,
    ty: fs::FileType,
}

impl Entry {
    /// The metadata of the folder this entry is or links to; `None` for
    /// anything else. A dangling link is an error naming it.
    fn folder(&self) -> Result<Option<fs::Metadata>> {
        if !self.ty.is_dir() && !self.ty.is_symlink() {
            return Ok(None);
        }
        let m = fs::metadata(&self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(m.is_dir().then_some(m))
    }

    /// This entry, not a folder, as a data file ([`data_file`]).
    fn file(self) -> Result<PathBuf> {
        if self.ty.is_file() {
            return Ok(self.path);
        }
        let m = fs::metadata(&self.path).map_err(|e| Error::io(&self.path, e))?;
        data_file(self.path, &m)
    }
}

/// A folder's entries, in the order the file system gives them.
fn entries(dir: &Path) -> Result<Vec<Entry>> {
    let read = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let path = dir.join(&name);
        let ty = entry.file_type().map_err(|e| Error::io(&path, e))?;
        out.push(Entry { name, path, ty });
    }
    Ok(out)
}

/// Enters folder `path` below the ones in `ancestors`, unless it is one of
/// them (a link loop: an error).
fn enter(path: &Path, meta: &fs::Metadata, ancestors: &mut Vec<DirId>) -> Result<()> {
    let id = dir_id(path, meta);
    if ancestors.contains(&id) {
        return Err(Error::Other(format!(
            "{}: symbolic link loop: this folder is also one of its own parent folders",
            show_path(path)
        )));
    }
    ancestors.push(id);
    Ok(())
}

/// `path`, which a folder walk or a pattern found and whose metadata
/// (links followed) is `meta`, if it is a regular file. Anything else that
/// is not a folder (a FIFO, a socket, a device) is an error naming it:
/// opening a FIFO waits for a writer, for ever without one, and a folder
/// or a pattern stands for files at rest. Named alone, such a file is read
/// as a stream.
fn data_file(path: PathBuf, meta: &fs::Metadata) -> Result<PathBuf> {
    if meta.is_file() {
        return Ok(path);
    }
    Err(Error::Other(format!(
        "{}: not a regular file (a FIFO, socket or device), found in a folder or by a \
         pattern, which read regular files only: name it alone with --input to read it as a \
         stream",
        show_path(&path)
    )))
}

/// Every data file below `dir` (unsorted).
fn walk(dir: &Path, ancestors: &mut Vec<DirId>, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in entries(dir)? {
        if skipped(&e.name) {
            continue;
        }
        match e.folder()? {
            Some(meta) => {
                enter(&e.path, &meta, ancestors)?;
                walk(&e.path, ancestors, out)?;
                ancestors.pop();
            }
            None => out.push(e.file()?),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- globs ----

/// One component of a pattern.
#[derive(Debug)]
enum Segment {
    Literal(OsString),
    Pattern(Pattern),
    /// `**`: any number of folders.
    AnyDepth,
}

/// The components of `arg` before its first one with a glob character.
fn literal_components(arg: &Path) -> usize {
    arg.components()
        .position(|c| matches!(c, Component::Normal(s) if has_meta(s)))
        .unwrap_or_else(|| arg.components().count())
}

/// The literal base of pattern `arg`: its leading components without glob
/// characters, the folder every file it matches lies below (`data` for
/// `data/year=*/*.csv`), and where its Hive keys begin.
pub fn literal_base(arg: &Path) -> PathBuf {
    arg.components().take(literal_components(arg)).collect()
}

/// The segments of pattern `arg` after its literal base.
fn segments(arg: &Path) -> Vec<Segment> {
    let comps: Vec<Component> = arg.components().collect();
    comps[literal_components(arg)..]
        .iter()
        .map(|c| match c {
            Component::Normal(s) if *s == "**" => Segment::AnyDepth,
            Component::Normal(s) if has_meta(s) => {
                Segment::Pattern(Pattern::new(&s.to_string_lossy()))
            }
            other => Segment::Literal(other.as_os_str().to_os_string()),
        })
        .collect()
}

/// Whether expanding `arg`, a folder or a pattern, would find a file at
/// `file` (an absolute path whose folders need not exist yet), by the
/// rules [`expand`] follows: a folder finds every file below it that no
/// name beginning with `.` or `_` hides (it is the pattern `DIR/**`); a
/// pattern, the files its segments match. `split` asks it of the files a
/// store will hold, so as not to write a store where its own inputs would
/// find it. Both are compared with their folders resolved (symbolic links,
/// `..`), so `link/s` is seen inside folder `d` when `link` points to `d`;
/// a link *inside* a folder that leads elsewhere is not followed here.
/// `false` for a file, standard input, or a folder that does not exist.
pub fn would_find(arg: &Path, file: &Path) -> bool {
    let (base, segments) = if is_pattern(arg) {
        (literal_base(arg), segments(arg))
    } else if arg.as_os_str() != "-" && is_dir(arg) {
        (arg.to_path_buf(), vec![Segment::AnyDepth])
    } else {
        return false;
    };
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &base
    };
    let Ok(base) = fs::canonicalize(base) else {
        return false;
    };
    let Ok(rel) = file.strip_prefix(&base) else {
        return false;
    };
    let names: Vec<&OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect::<Option<_>>()
        .unwrap_or_default();
    !names.is_empty() && matches_below(&segments, &names)
}

/// Whether `segments` match the path `names` below a pattern's base, as
/// [`Glob::step`] would find it: every name a folder but the last, a file.
fn matches_below(segments: &[Segment], names: &[&OsStr]) -> bool {
    let (Some(segment), Some(&name)) = (segments.first(), names.first()) else {
        // a path that ends in a folder, or one longer than the pattern
        return false;
    };
    let last_segment = segments.len() == 1;
    let file = names.len() == 1;
    match segment {
        Segment::Literal(literal) => {
            name == literal
                && last_segment == file
                && (file || matches_below(&segments[1..], &names[1..]))
        }
        Segment::Pattern(p) => {
            let shown = name.to_string_lossy();
            (p.leading_dot || !shown.starts_with('.'))
                && p.matches(&shown)
                && last_segment == file
                && (file || matches_below(&segments[1..], &names[1..]))
        }
        // `dir/**`: every file below, as a dataset walk finds them
        Segment::AnyDepth if last_segment => !names.iter().any(|n| skipped(n)),
        Segment::AnyDepth => {
            matches_below(&segments[1..], names)
                || (!file && !skipped(name) && matches_below(segments, &names[1..]))
        }
    }
}

/// Expands pattern `arg`: its literal base and the files matched, sorted.
fn glob(arg: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    let base = literal_base(arg);
    let segments = segments(arg);
    let mut g = Glob {
        segments,
        out: Vec::new(),
    };
    let mut ancestors = Vec::new();
    if is_dir(&base) {
        g.step(&base, 0, &mut ancestors)?;
    }
    let mut files = g.out;
    files.sort();
    files.dedup();
    Ok((base, files))
}

/// Whether `p` is a symbolic link that leads to nothing: to a missing
/// name, round in a loop, or through a file as if it were a folder.
fn is_dangling(p: &Path) -> bool {
    let nowhere = |e: io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ) || leads_round(&e)
    };
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
        && fs::metadata(p).is_err_and(nowhere)
}

/// Whether `e` is a loop of symbolic links (`ELOOP`).
#[cfg(unix)]
fn leads_round(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn leads_round(_: &io::Error) -> bool {
    false
}

fn is_dir(p: &Path) -> bool {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    fs::metadata(p).is_ok_and(|m| m.is_dir())
}

struct Glob {
    segments: Vec<Segment>,
    out: Vec<PathBuf>,
}

impl Glob {
    /// Matches segments `i..` below folder `at`.
    fn step(&mut self, at: &Path, i: usize, ancestors: &mut Vec<DirId>) -> Result<()> {
        let last = i + 1 == self.segments.len();
        match &self.segments[i] {
            Segment::Literal(name) => {
                let path = at.join(name);
                match fs::metadata(&path) {
                    Ok(m) if m.is_dir() && !last => self.step(&path, i + 1, ancestors)?,
                    Ok(m) if !m.is_dir() && last => self.out.push(data_file(path, &m)?),
                    Ok(_) => {}
                    // nothing of that name here, or a file where a folder
                    // is wanted; anything else (a path too long to open, a
                    // folder that cannot be searched) may hide a match
                    Err(e)
                        if e.kind() == io::ErrorKind::NotADirectory
                            || (e.kind() == io::ErrorKind::NotFound
                                && fs::symlink_metadata(&path).is_err()) => {}
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
            Segment::Pattern(p) => {
                let p_dot = p.leading_dot;
                let matched: Vec<Entry> = entries(at)?
                    .into_iter()
                    .filter(|e| {
                        let name = e.name.to_string_lossy();
                        (p_dot || !name.starts_with('.')) && self.pattern(i).matches(&name)
                    })
                    .collect();
                for e in matched {
                    match (e.folder()?, last) {
                        (None, true) => self.out.push(e.file()?),
                        (Some(_), false) => self.step(&e.path, i + 1, ancestors)?,
                        _ => {}
                    }
                }
            }
            Segment::AnyDepth => {
                if last {
                    // `dir/**`: every file below, as a dataset walk finds them
                    walk(at, ancestors, &mut self.out)?;
                    return Ok(());
                }
                self.step(at, i + 1, ancestors)?;
                for e in entries(at)? {
                    if skipped(&e.name) {
                        continue;
                    }
                    match e.folder() {
                        Ok(Some(meta)) => {
                            enter(&e.path, &meta, ancestors)?;
                            self.step(&e.path, i, ancestors)?;
                            ancestors.pop();
                        }
                        Ok(None) => {}
                        // a dangling link is no folder to descend into; it
                        // is an error only where a component matches it
                        Err(_) if is_dangling(&e.path) => {}
                        // a folder that could not be looked at (its path
                        // too long to open) may hold matches: skipping it
                        // silently left its files out of the answer
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        Ok(())
    }

    fn pattern(&self, i: usize) -> &Pattern {
        match &self.segments[i] {
            Segment::Pattern(p) => p,
            _ => unreachable!("segment {i} is a pattern"),
        }
    }
}

/// A compiled component pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
    /// The pattern begins with a literal `.`: it may match hidden names.
    leading_dot: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*` (runs of them are one)
    Star,
    /// `[...]`: inclusive ranges; `negated` for `[!...]` / `[^...]`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Pattern {
    pub(crate) fn new(s: &str) -> Pattern {
        let chars: Vec<char> = s.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                '[' => match class(&chars[i + 1..]) {
                    Some((token, len)) => {
                        tokens.push(token);
                        i += 1 + len;
                    }
                    None => {
                        tokens.push(Token::Literal('['));
                        i += 1;
                    }
                },
                c => {
                    tokens.push(Token::Literal(c));
                    i += 1;
                }
            }
        }
        let leading_dot = tokens.first() == Some(&Token::Literal('.'));
        Pattern {
            tokens,
            leading_dot,
        }
    }

    /// Whether `name` matches (the hidden-name rule aside). Linear in
    /// practice: on a mismatch only the last `*` is retried further on.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let t = &self.tokens;
        let (mut ti, mut ni) = (0, 0);
        // the last star: its token index and the name index it resumes at
        let mut star: Option<(usize, usize)> = None;
        while ni < name.len() {
            if ti < t.len() {
                let ok = match &t[ti] {
                    Token::Star => {
                        star = Some((ti, ni));
                        ti += 1;
                        continue;
                    }
                    Token::Literal(c) => *c == name[ni],
                    Token::One => true,
                    Token::Class { negated, ranges } => {
                        let c = name[ni];
                        ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated
                    }
                };
                if ok {
                    ti += 1;
                    ni += 1;
                    continue;
                }
            }
            match star {
                Some((st, sn)) => {
                    ti = st + 1;
                    ni = sn + 1;
                    star = Some((st, sn + 1));
                }
                None => return false,
            }
        }
        t[ti..].iter().all(|x| *x == Token::Star)
    }
}

/// Parses a class after its `[`: the token and how many characters it
/// took, its `]` included; `None` when no `]` closes it.
fn class(s: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(s.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    // a `]` first is a member, not the end
    let mut first = true;
    loop {
        let c = *s.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        if s.get(i + 1) == Some(&'-') && s.get(i + 2).is_some_and(|&d| d != ']') {
            ranges.push((c, s[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests;
