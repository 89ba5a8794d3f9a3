//! Typed errors. Every error knows which exit code it maps to and carries
//! enough context (file, line, column) for a person to fix the input.
//! What cannot be written (an output, a store) is said here once
//! ([`unwritable`]), so that `-o PATH` and `split --store PATH` name the
//! path given and the reason in the same words.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong: bad spec, unknown column, bad flag value. Exit 2.
    #[error("{0}")]
    Usage(String),
    /// The input data is malformed at a known position. Exit 1.
    #[error("{0}")]
    Data(#[from] DataError),
    /// Reading an input or writing the output failed. Exit 1. The reason
    /// is std's words without the `(os error N)` it appends, as in every
    /// other message.
    #[error("{}: {}", show_path(.path), plain_reason(.source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else that is a runtime failure (exit 1) with a ready message.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The process exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The system would not start `threads` threads (a process limit,
    /// `ulimit -u`).
    pub fn cannot_start_threads(threads: usize, source: &dyn std::fmt::Display) -> Self {
        let s = if threads == 1 { "" } else { "s" };
        let why = without_os_code(source.to_string());
        Error::Other(format!("cannot start {threads} thread{s}: {why}"))
    }

    /// True when the error is a closed stdout (`rayproc ... | head`), which
    /// is not a failure for a shell pipeline.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// A problem with the data itself, positioned at a physical line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// The file as the user named it (`<stdin>` for standard input), as
    /// it is: messages show it escaped ([`show_name`]).
    pub file: String,
    /// 1-based physical line on which the offending record starts.
    pub line: u64,
    /// The column concerned, when there is one, named as it is (shown
    /// escaped as `file` is).
    pub column: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", show_name(&self.file), self.line)?;
        if let Some(c) = &self.column {
            write!(f, "column '{}': ", show_name(c))?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for DataError {}

/// A value as messages show it: quoted, shortened to 60 characters, every
/// character visible and two values never shown alike. Quotes and
/// backslashes are escaped, line breaks and tabs are `\n`, `\r`, `\t`,
/// other control and invisible characters `\u{..}` (as Rust's `{:?}`
/// writes them), and bytes that are not UTF-8 `\xNN` (not U+FFFD, which
/// made `ab\xfe` and `ab\xff` one message). A combining mark is escaped
/// only where it has no character before it to combine with (as
/// `str::escape_debug` does): escaped everywhere, as `char::escape_debug`
/// does, it broke every word of Hindi (`हिन\u{94d}दी`).
pub fn show_value(raw: &[u8]) -> String {
    const MAX: usize = 60;
    let mut out = String::with_capacity(raw.len().min(4 * MAX) + 2);
    out.push('"');
    let mut previous = None;
    for (shown, c) in units(raw).enumerate() {
        if shown == MAX {
            out.push_str("…\"");
            return out;
        }
        push_shown(&mut out, c, Some('"'), previous);
        previous = Some(c);
    }
    out.push('"');
    out
}

/// A file or column name as messages show it. A name is what a person
/// looks for (in a folder, in a header) and types again, so it keeps its
/// own characters where they can be read: a name of printable text shows
/// as it is, unquoted (messages put it after `FILE:` or between `'`), and
/// never shortened, or the file could not be found from the message. Only
/// the characters that would garble the message or make two names look
/// alike are escaped, as in [`show_value`]: line breaks and tabs (`\n`,
/// `\t`), control characters such as ESC, which would reach the terminal
/// as a command, and bidirectional overrides (`\u{1b}`, `\u{202e}`), other
/// invisible characters and a combining mark that begins the name
/// (`\u{..}`), and bytes that are not UTF-8 (`\xNN`, so that `a\xfe` and
/// `a\xff` differ). A backslash is `\\`: a name shown without a backslash
/// is then the name itself, and one shown with backslashes reads back one
/// way only. Quotes are not escaped: `Owner's name` and `O'Brien.csv` are
/// common, and `O\'Brien.csv` is no file. The `table` output format shows
/// its cells and column names this way too ([`crate::output::for_terminal`]).
pub fn show_name<T: AsRef<[u8]> + ?Sized>(name: &T) -> Cow<'_, str> {
    let raw = name.as_ref();
    let mut out = String::with_capacity(raw.len());
    let mut previous = None;
    for c in units(raw) {
        push_shown(&mut out, c, None, previous);
        previous = Some(c);
    }
    match std::str::from_utf8(raw) {
        Ok(text) if text == out => Cow::Borrowed(text),
        _ => Cow::Owned(out),
    }
}

/// A path as messages show it: its bytes as [`show_name`] shows a name
/// (not [`Path::display`], which shows invalid bytes as U+FFFD).
pub fn show_path(path: &Path) -> Cow<'_, str> {
    show_name(path.as_os_str().as_encoded_bytes())
}

/// Text typed as code rather than as a name (a `--where` expression, its
/// regex), as messages show it: as [`show_name`] shows a name, on one line
/// with every control, bidirectional override and invisible character
/// escaped, except that a backslash is left as typed. In code a backslash
/// is already an escape (a regex's `\d`, a like pattern's `\%`), and
/// `\\d` in the message would read as another pattern than the one typed.
pub fn show_code(text: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(text.len());
    let mut previous = None;
    for c in text.chars() {
        push_code(&mut out, c, previous);
        previous = Some(c);
    }
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// Writes character `c` of code after `previous` (`None` at the start of
/// what is shown) as [`show_code`] shows it: one character at a time, so
/// that a caret can be placed under any of them.
pub(crate) fn push_code(out: &mut String, c: char, previous: Option<char>) {
    push_code_unit(out, Ok(c), previous.map(Ok));
}

/// [`push_code`] of a character or of a byte that is not UTF-8 (`Err`,
/// shown `\xNN`), of code typed as bytes ([`units`]).
pub(crate) fn push_code_unit(
    out: &mut String,
    c: Result<char, u8>,
    previous: Option<Result<char, u8>>,
) {
    if c == Ok('\\') {
        out.push('\\');
    } else {
        push_shown(out, c, None, previous);
    }
}

/// Each line of `text` (a message of several lines from elsewhere, such
/// as a regex's error) shown as [`show_code`] shows code: the lines stay
/// apart, and nothing within one can reach the terminal as a command.
pub(crate) fn show_code_lines(text: &str) -> Cow<'_, str> {
    let lines: Vec<Cow<str>> = text.split('\n').map(show_code).collect();
    if lines.iter().all(|l| matches!(l, Cow::Borrowed(_))) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(lines.join("\n"))
    }
}

/// The characters of `raw`, and its bytes that are not UTF-8 (`Err`).
pub(crate) fn units(raw: &[u8]) -> impl Iterator<Item = Result<char, u8>> + '_ {
    raw.utf8_chunks().flat_map(|chunk| {
        let valid = chunk.valid().chars().map(Ok);
        valid.chain(chunk.invalid().iter().map(|&b| Err(b)))
    })
}

/// Writes one character (or byte that is not UTF-8) of a text shown
/// between `quote`s (or none), after `previous`: escaped as `{:?}` escapes
/// a string, except that of the two quotes only `quote` is (`escape_debug`
/// escapes both), and that a bidirectional control is escaped too. A
/// combining mark after a character is left to combine with it; where
/// nothing precedes it (the text's start, a byte that is not UTF-8) it
/// would combine with the quote or the message around it, and is escaped.
fn push_shown(
    out: &mut String,
    c: Result<char, u8>,
    quote: Option<char>,
    previous: Option<Result<char, u8>>,
) {
    use std::fmt::Write as _;
    match c {
        Ok(c @ ('"' | '\'')) if Some(c) != quote => out.push(c),
        Ok(c) if is_bidi_control(c) => {
            write!(out, "\\u{{{:x}}}", c as u32).expect("write to a String")
        }
        Ok(c) => {
            let escaped = c.escape_debug();
            if escaped.len() == 1 {
                out.push(c);
            } else if let Some(Ok(before)) = previous {
                // `str::escape_debug` escapes a combining mark only as the
                // string's first character
                let pair: String = [before, c].into_iter().collect();
                out.extend(pair.escape_debug().skip(before.escape_debug().len()));
            } else {
                out.extend(escaped);
            }
        }
        Err(b) => write!(out, "\\x{b:02x}").expect("write to a String"),
    }
}

/// The marks and overrides that reorder how text around them is shown:
/// printed raw, `abc` could show as `cba`.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error for a result that cannot be written at all (`what`: `output`
/// for `--output`, `store` for `split --store`): it names the path the
/// user gave, and says why ([`cannot_create_in`], or a refusal). What
/// failed is most often a file or folder made beside the target (the
/// temporary file of an output, the store directory itself), whose path
/// would mean nothing to the user: `-o /proc/version` said "No such file
/// or directory" of a file that exists, `split --store missing/x/st`
/// named only `missing/x`.
pub(crate) fn unwritable(path: &Path, what: &str, why: std::io::Error) -> Error {
    let message = format!("cannot write the {what}: {}", plain_reason(&why));
    Error::io(path, std::io::Error::new(why.kind(), message))
}

/// Why no `entry` (`a file`, `a directory`) can be made in `dir`, from the
/// error `e` that making one (or looking for it in `dir`) gave: a folder
/// that does not exist, a path through a file, or a folder that refuses
/// new entries (read-only, no permission, a file system such as `/proc`
/// where nothing can be created). The kernel's bare `ENOENT` or `ENOTDIR`
/// does not say which component is missing or not a folder; this does:
/// `a/b/c` below a file `a` said "cannot create a directory in a/b/c (Not
/// a directory)", now "a is a file, not a directory".
pub(crate) fn cannot_create_in(dir: &Path, entry: &str, e: std::io::Error) -> std::io::Error {
    use std::io::{Error as IoError, ErrorKind};
    if let Some((_, why)) = not_a_directory(dir) {
        return IoError::new(ErrorKind::NotADirectory, why);
    }
    match std::fs::metadata(dir) {
        Err(d) if d.kind() == ErrorKind::NotFound => IoError::new(
            d.kind(),
            format!("the directory {} does not exist", show_path(dir)),
        ),
        _ => because(format!("cannot create {entry} in {}", show_path(dir)), &e),
    }
}

/// What makes `path` no directory, where something on it is not one: the
/// first component (`a` of `a/b/c`, or `path` itself) that exists and is
/// not a directory, as in `path` (as the user gave it), and in words: `a
/// is a file, not a directory` for a regular file, `a is not a directory`
/// for a device or FIFO. `None` where every component that exists is a
/// directory (or cannot be looked at).
pub(crate) fn not_a_directory(path: &Path) -> Option<(PathBuf, String)> {
    // (component by component, not `Path::ancestors`, which keeps a
    // trailing `/`: `f/` of a file `f` is an error, not `f`)
    let mut at = PathBuf::new();
    for component in path.components() {
        at.push(component);
        match std::fs::metadata(&at) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(meta) => {
                let shown = show_path(&at).into_owned();
                return Some((
                    at,
                    if meta.is_file() {
                        format!("{shown} is a file, not a directory")
                    } else {
                        format!("{shown} is not a directory")
                    },
                ));
            }
            Err(_) => return None,
        }
    }
    None
}

/// The error `e` said as `what` failed and why, in words: `cannot list
/// the directory (Permission denied)`, with neither std's `(os error 13)`
/// nor a path the user did not give (the message's head names the path).
pub(crate) fn because(what: String, e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what} ({})", plain_reason(e)))
}

/// An I/O error's words without the `(os error N)` that std appends (also
/// where a message made of one ends in it). Only that: a message that
/// goes on after it ends otherwise, and cutting at its last `(os error `
/// whenever it ended in `)` cut off a whole explanation that did.
pub(crate) fn plain_reason(e: &std::io::Error) -> String {
    without_os_code(e.to_string())
}

/// `text` without the `(os error N)` that ends it, if it does.
fn without_os_code(text: String) -> String {
    match text.rsplit_once(" (os error ") {
        Some((words, code))
            if code
                .strip_suffix(')')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            words.to_string()
        }
        _ => text,
    }
}

/// Writes `line` and a newline to stderr in one call, ignoring a failure:
/// nothing is left to tell it to, and it must not turn a run's outcome
/// into a panic (what [`crate::say`] is for).
pub fn to_stderr(line: fmt::Arguments) {
    use std::io::Write;
    let mut text = line.to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::{is_bidi_control, show_code, show_name, show_path, show_value, DataError, Error};
    use std::borrow::Cow;
    use std::path::Path;

    #[test]
    fn values_show_every_byte_distinctly() {
        assert_eq!(show_value(b"ab\xfe"), r#""ab\xfe""#);
        assert_eq!(show_value(b"ab\xff"), r#""ab\xff""#);
        assert_eq!(show_value("ab\u{FFFD}".as_bytes()), "\"ab\u{FFFD}\"");
        assert_eq!(show_value(b"a\"b\\c'd"), r#""a\"b\\c'd""#);
        assert_eq!(show_value(b"\x1b[0m\t\n"), r#""\u{1b}[0m\t\n""#);
        assert_eq!(show_value("x\u{202e}y".as_bytes()), r#""x\u{202e}y""#);
        let long = "é".repeat(70);
        assert_eq!(
            show_value(long.as_bytes()),
            format!("\"{}…\"", "é".repeat(60))
        );
        assert_eq!(
            show_value(&[0xff; 61]),
            format!("\"{}…\"", "\\xff".repeat(60))
        );
    }

    #[test]
    fn plain_names_show_as_they_are() {
        for name in [
            "data.csv",
            "x",
            "",
            "prix €",
            "日本語",
            "a \"b\"",
            "a/b c.csv",
        ] {
            assert!(
                matches!(show_name(name), Cow::Borrowed(n) if n == name),
                "{name}"
            );
        }
        // never shortened: a file must be found from the message
        let long = "n".repeat(500);
        assert_eq!(show_name(&long), long);
    }

    #[test]
    fn names_show_every_byte_distinctly_on_one_line() {
        assert_eq!(show_name("a\nb.csv"), r"a\nb.csv");
        assert_eq!(show_name("\x1b[31mred"), r"\u{1b}[31mred");
        assert_eq!(show_name("x\u{202e}y"), r"x\u{202e}y");
        assert_eq!(show_name(b"a\xff"), r"a\xff");
        assert_eq!(show_name(b"a\xfe"), r"a\xfe");
        assert_eq!(show_name("a\u{FFFD}"), "a\u{FFFD}");
        // a backslash is escaped, so no name shows as another's escape
        assert_eq!(show_name(r"a\nb"), r"a\\nb");
        assert_ne!(show_name(r"a\nb"), show_name("a\nb"));
        // quotes are not: a name with an apostrophe is common
        assert_eq!(show_name("O'Brien's \"x\".csv"), "O'Brien's \"x\".csv");
        // a combining mark is escaped only where it has nothing to combine with
        assert_eq!(show_name("हिन्दी"), "हिन्दी");
        assert_eq!(show_name("e\u{301}"), "e\u{301}");
        assert_eq!(show_name("\u{301}x"), r"\u{301}x");
        assert_eq!(show_name(b"\xff\xcc\x81"), r"\xff\u{301}");
        assert_eq!(show_value("हिन्दी".as_bytes()), "\"हिन्दी\"");
        assert_eq!(show_value("\u{301}".as_bytes()), r#""\u{301}""#);
        // invisible characters are escaped wherever they are
        assert_eq!(show_name("a\u{200b}b"), r"a\u{200b}b");
    }

    #[cfg(unix)]
    #[test]
    fn paths_show_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"dir/n\xffo\n.csv"));
        assert_eq!(show_path(path), r"dir/n\xffo\n.csv");
        assert_eq!(show_path(Path::new("<stdin>")), "<stdin>");
        let io = Error::io(path, std::io::Error::other("gone"));
        assert_eq!(io.to_string(), r"dir/n\xffo\n.csv: gone");
    }

    /// Over texts made of the pieces that need care (controls, invisible and
    /// combining characters, bidi overrides, bytes that are not UTF-8,
    /// backslashes, quotes, escapes written out), no two names or values
    /// show alike, and what shows has no control, bidi or invisible
    /// character left.
    #[test]
    fn names_and_values_show_distinctly_and_visibly() {
        const PIECES: [&[u8]; 16] = [
            b"a",
            b"\\",
            b"'",
            b"\"",
            b"\n",
            b"\\n",
            b"\x1b",
            b"\xff",
            b"\xfe",
            b"\xcc\x81",
            "\u{301}".as_bytes(),
            "\u{202e}".as_bytes(),
            "\u{200b}".as_bytes(),
            "\\u{301}".as_bytes(),
            "\u{94d}".as_bytes(),
            "é".as_bytes(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut seen_names = std::collections::HashMap::new();
        let mut seen_values = std::collections::HashMap::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 5) as usize;
            let raw: Vec<u8> = (0..len)
                .flat_map(|i| PIECES[(state >> (8 + 4 * i)) as usize % PIECES.len()].to_vec())
                .collect();
            let (name, value) = (show_name(&raw).into_owned(), show_value(&raw));
            for shown in [&name, &value] {
                let bad = shown.chars().find(|&c| {
                    c.is_control() || is_bidi_control(c) || matches!(c, '\u{200b}' | '\u{feff}')
                });
                assert_eq!(bad, None, "{raw:?} shows as {shown}");
            }
            let earlier = seen_names.insert(name.clone(), raw.clone());
            assert!(
                earlier.as_ref().is_none_or(|e| *e == raw),
                "{earlier:?} and {raw:?}: {name}"
            );
            let earlier = seen_values.insert(value.clone(), raw.clone());
            assert!(
                earlier.as_ref().is_none_or(|e| *e == raw),
                "{earlier:?} and {raw:?}: {value}"
            );
        }
    }

    /// Code (a `--where` expression) is shown as a name is, but for its
    /// backslashes, which are the code's own escapes.
    #[test]
    fn code_shows_as_typed_but_for_what_would_garble_the_line() {
        for code in ["x > 3", r"k ~ '^\d+$'", r"k like 'a\%'", "prix € = 'é'", ""] {
            assert!(
                matches!(show_code(code), Cow::Borrowed(c) if c == code),
                "{code}"
            );
        }
        assert_eq!(show_code("k = '\x1b[31m'\n"), r"k = '\u{1b}[31m'\n");
        assert_eq!(show_code("a\u{202e}b\u{200b}"), r"a\u{202e}b\u{200b}");
        assert_eq!(show_code("\u{301}e\u{301}"), "\\u{301}e\u{301}");
        // one character at a time, as the whole
        let text = "a\u{301}\x1b\\é";
        let mut one = String::new();
        let mut previous = None;
        for c in text.chars() {
            super::push_code(&mut one, c, previous);
            previous = Some(c);
        }
        assert_eq!(one, show_code(text));
        // a message of several lines keeps them, each shown as code
        let lines = "regex parse error:\n    \x1b(\n     ^\nerror: unclosed group";
        assert_eq!(
            super::show_code_lines(lines),
            "regex parse error:\n    \\u{1b}(\n     ^\nerror: unclosed group"
        );
        assert!(matches!(
            super::show_code_lines("a\nb\\d"),
            Cow::Borrowed("a\nb\\d")
        ));
    }

    /// What cannot be made in a folder says which component of its path
    /// is no folder, as the path was given: the kernel's ENOTDIR named
    /// none ("cannot create a directory in a/b/c (Not a directory)").
    #[test]
    fn a_path_through_a_file_names_the_file() {
        use super::{because, cannot_create_in, not_a_directory};
        use std::io::{Error as IoError, ErrorKind};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let shown = file.display().to_string();
        for below in ["", "b", "b/c", "b/c/"] {
            let path = file.join(below);
            let (at, why) = not_a_directory(&path).unwrap();
            assert_eq!(at, file, "{below}");
            assert_eq!(why, format!("{shown} is a file, not a directory"));
            let e = cannot_create_in(&path, "a file", IoError::from(ErrorKind::NotADirectory));
            assert_eq!(e.kind(), ErrorKind::NotADirectory);
            assert_eq!(e.to_string(), why, "{below}");
        }
        assert_eq!(not_a_directory(dir.path()), None);
        assert_eq!(not_a_directory(&dir.path().join("missing/x")), None);
        let e = cannot_create_in(
            &dir.path().join("missing/x"),
            "a file",
            IoError::from(ErrorKind::NotFound),
        );
        let missing = dir.path().join("missing/x").display().to_string();
        assert_eq!(
            e.to_string(),
            format!("the directory {missing} does not exist")
        );
        // (nor is a device)
        let (at, _) = not_a_directory(Path::new("/dev/null/x")).unwrap();
        assert_eq!(at, Path::new("/dev/null"));
        // the reason in words, without std's `(os error N)`
        let e = because(
            "cannot list the directory".into(),
            &IoError::from_raw_os_error(13),
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            e.to_string(),
            "cannot list the directory (Permission denied)"
        );
        let e = super::unwritable(Path::new("st"), "store", e);
        assert_eq!(
            e.to_string(),
            "st: cannot write the store: cannot list the directory (Permission denied)"
        );
    }

    /// Only the `(os error N)` that ends a message is std's: one that a
    /// message goes on after is kept, with all that follows it.
    #[test]
    fn the_os_code_is_cut_from_the_end_only() {
        use std::io::{Error as IoError, ErrorKind};
        let raw = IoError::from_raw_os_error(12);
        assert_eq!(super::plain_reason(&raw), "Cannot allocate memory");
        let told = format!("{raw}: the limit (ulimit -v)");
        let e = IoError::new(ErrorKind::OutOfMemory, told.clone());
        assert_eq!(super::plain_reason(&e), told);
        for kept in ["a (os error )", "a (os error 1x)", "a (os error 12"] {
            assert_eq!(super::plain_reason(&IoError::other(kept)), kept);
        }
        let e = Error::cannot_start_threads(2, &IoError::from_raw_os_error(11));
        assert_eq!(
            e.to_string(),
            "cannot start 2 threads: Resource temporarily unavailable"
        );
    }

    #[test]
    fn data_errors_show_file_and_column_escaped() {
        let e = DataError {
            file: "a\nb.csv".into(),
            line: 3,
            column: Some("\x1b[0m".into()),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), r"a\nb.csv:3: column '\u{1b}[0m': bad");
        let plain = DataError {
            file: "data.csv".into(),
            column: Some("x".into()),
            ..e
        };
        assert_eq!(plain.to_string(), "data.csv:3: column 'x': bad");
    }
}
