//! Typed errors. Every error knows which exit code it maps to and carries
//! enough context (file, line, column) for a person to fix the input.

use std::fmt;
use std::path::PathBuf;

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong: bad spec, unknown column, bad flag value. Exit 2.
    #[error("{0}")]
    Usage(String),
    /// The input data is malformed at a known position. Exit 1.
    #[error("{0}")]
    Data(#[from] DataError),
    /// Reading an input or writing the output failed. Exit 1.
    #[error("{path}: {source}")]
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

    /// True when the error is a closed stdout (`rayproc ... | head`), which
    /// is not a failure for a shell pipeline.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// A problem with the data itself, positioned at a physical line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// The file as the user named it (`<stdin>` for standard input).
    pub file: String,
    /// 1-based physical line on which the offending record starts.
    pub line: u64,
    /// The column concerned, when there is one.
    pub column: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(c) = &self.column {
            write!(f, "column '{c}': ")?;
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
/// made `ab\xfe` and `ab\xff` one message).
pub fn show_value(raw: &[u8]) -> String {
    use std::fmt::Write as _;
    const MAX: usize = 60;
    let mut out = String::with_capacity(raw.len().min(4 * MAX) + 2);
    out.push('"');
    let mut shown = 0;
    for chunk in raw.utf8_chunks() {
        let valid = chunk.valid().chars().map(Ok);
        for c in valid.chain(chunk.invalid().iter().map(|&b| Err(b))) {
            if shown == MAX {
                out.push_str("…\"");
                return out;
            }
            shown += 1;
            match c {
                // (a char's escape_debug escapes the quote a str's does not)
                Ok('\'') => out.push('\''),
                Ok(c) if is_bidi_control(c) => {
                    write!(out, "\\u{{{:x}}}", c as u32).expect("write to a String")
                }
                Ok(c) => out.extend(c.escape_debug()),
                Err(b) => write!(out, "\\x{b:02x}").expect("write to a String"),
            }
        }
    }
    out.push('"');
    out
}

/// The marks and overrides that reorder how text around them is shown:
/// printed raw, `abc` could show as `cba`.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    use super::show_value;

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
}
