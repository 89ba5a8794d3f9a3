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

/// Shortens a field for an error message and shows invisible characters.
pub fn show_value(raw: &[u8]) -> String {
    const MAX: usize = 60;
    let s = String::from_utf8_lossy(raw);
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
