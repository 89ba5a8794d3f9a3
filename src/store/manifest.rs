//! `manifest.json`: what a store holds and how to check it.
//!
//! Compatibility rule: `format` is always `"rayproc-store"` and `version` is
//! [`VERSION`]. A reader refuses any version it does not read with a clear
//! error.
//! Fields may be added without a version change (readers ignore fields they
//! do not know); anything that changes the meaning of an existing field or
//! the layout of the partition files bumps the version. Version 2 added the
//! generation layout (`current`, `gen-N/`, see [`super::layout`]) and the
//! manifest's own checksum; a version 1 store is refused with a message
//! saying to re-create it (stores are cheap to rebuild from their sources).
//! Version 3 added the per-column checksums (`frame_checksum` of each
//! partition, `checksum` of each column's statistics; see
//! [`super::verify`]), which `run --store` checks instead of the whole
//! file's: a version 2 store has none, and is refused the same way rather
//! than read unverified. Version 4 added dictionary-coded text columns (a
//! `dictionary`, and a `UInt32` field of codes after the columns in every
//! partition file; see [`super::dictionary`]): a version 3 reader would
//! refuse their partition files' schema as not the manifest's, so the
//! version says so first. Version 5 added the integers of float columns
//! (`integers`, and a field after the codes in every partition file: which
//! rows of a float column the CSV spelled as integers, see
//! [`ColumnInfo::integers`]), which `--where` needs to type the rows it
//! keeps as the CSV would. This reader reads version 3 and 4 stores too
//! (from [`MIN_VERSION`]): they are version 5 stores without integers
//! recorded, which answer every query except one with `--where` that reads
//! a float column (refused, with a message to re-create the store).
//! Version 6 added the text of number fields written otherwise than printed
//! (`texts`, and a field after the integers in every partition file: the
//! field's text where it is not what a filter reads of the value, `+7`,
//! `1.50`, `1e3`; see [`ColumnInfo::texts`]), which a text test of
//! `--where` reads. A version 3 to 5 store is a version 6 store without
//! them, and refuses only a `--where` whose text test reads a number
//! column.
//! Version 7 records which of its source's columns the store holds, where
//! `split --columns` kept other columns than all of them in order
//! (`source_columns`, the source's header, and each column's `source`, its
//! position there; see [`Manifest::source_columns`]): a query resolves its
//! columns against the source's header, so that `k#2`, the second `k` of
//! the source, is that column from the store too. The partition files are
//! as before, but the columns' names no longer say which columns they are:
//! a version 6 reader would resolve `k#1` against them, and answer from
//! another column, so the version says so first. A version 3 to 6 store is
//! a version 7 store without them: it refuses only a query that names a
//! column by its number (`k#2`), which it cannot tell from another of its
//! source's columns of that name.
//! `inputs` (the folders and patterns given to `split`, expanded again by
//! every run to see files added since; see [`input_changes`]) and each
//! source's `input` were added within version 5: they mean nothing to an
//! older reader, which reads the store as before, and a store without them
//! is one with no folder or pattern to expand again. A compressed source
//! (`.csv.gz`, `.csv.zst`) was recorded like standard input, without a
//! path, until it too was recorded as the file on disk (within version 5:
//! the fields mean what they meant for a plain file); such an old record
//! is left unchecked, as before. Each partition's `origin` (where its
//! records begin in which source, so that an error about a row names the
//! source line) was added within version 5 too: a store without it names
//! the partition file and row instead. So were a statistic's `min_truncated`
//! and `max_truncated` ([`ColumnStats`]: a text `min` or `max` of more than
//! [`STAT_TEXT_BYTES`] is recorded as its beginning): an older reader shows
//! the beginning as the value, which no query reads.
//!
//! Why the manifest has a checksum: it decides what the reader believes
//! about the partition files (sizes, checksums) and what errors say
//! (`first_non_number`), so damage to it must be caught like damage to a
//! partition. The checksum is the first field, written on the file's second
//! line, and covers the exact bytes after that line, so checking it needs
//! no re-serialization (which could differ in float formatting). Like the
//! partition checksums, it guards against accidents, not against someone
//! who can write the store: that is what validating every partition file
//! as it is decoded is for.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::read::{Change, ChangeKind};
use crate::error::{show_name, show_path, Error, Result};
use crate::source::dataset::InputKind;

/// The store format version this build writes and reads.
pub const VERSION: u32 = 7;
/// The oldest store format version this build reads (version 3 is version
/// 4 without dictionary-coded columns; version 4 is version 5 without the
/// integers of float columns; version 5 is version 6 without the text of
/// number fields; version 6 is version 7 without its source's columns).
pub const MIN_VERSION: u32 = 3;
/// The first store format version that records the integers of float
/// columns.
pub const INTEGERS_VERSION: u32 = 5;
/// The first store format version that records the text of number fields
/// written otherwise than printed.
pub const TEXTS_VERSION: u32 = 6;
/// The first store format version that records which of its source's
/// columns it holds, where it holds not all of them in order
/// ([`Manifest::source_columns`]).
pub const SOURCE_COLUMNS_VERSION: u32 = 7;
/// The `format` field of every manifest.
pub const FORMAT: &str = "rayproc-store";
/// The manifest's file name inside the store directory.
pub const FILE_NAME: &str = "manifest.json";
/// Bytes hashed at each end of a source file for its fingerprint.
pub const FINGERPRINT_SPAN: u64 = 1 << 20;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `xxh3:` + the XXH3 of the manifest file's bytes after the line that
    /// holds this field; set when read, absent while being written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    pub format: String,
    pub version: u32,
    /// `rayproc X.Y.Z` that wrote the store.
    pub created_by: String,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The CSV field delimiter the sources were read with.
    pub delimiter: String,
    /// The field texts the sources' CSV was read with as null besides the
    /// empty one (`split --null`), as [`crate::plan::Plan::nulls`] holds
    /// them; the partitions hold them as nulls. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nulls: Vec<String>,
    /// Total rows over all partitions.
    pub rows: u64,
    /// Total bytes of the partition files.
    pub bytes: u64,
    pub columns: Vec<ColumnInfo>,
    /// The header of the source, every column's name in order, where the
    /// store holds other columns than all of them in order (`split
    /// --columns`); each column's [`ColumnInfo::source`] is its position
    /// here. Absent where the store holds every column in order (its
    /// columns are its source's header), and in stores before version 7.
    ///
    /// Why: a query names columns as the source's header does, and a
    /// header may repeat a name, told apart by number (`k#2`, the second
    /// `k`). Resolved against the store's own columns, `k#1` of a store of
    /// `--columns 'k#2'` was the one `k` it holds, the source's second, and
    /// `k#2` was no column: a silent answer from another column. Resolved
    /// against this, every reference means the column it means over the
    /// source, and a column the store does not hold is said to be so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_columns: Option<Vec<String>>,
    /// The `--input`s that were folders or glob patterns, which every run
    /// expands again to see whether they find other files now (see
    /// [`input_changes`]). Absent (empty) in a store made before this field,
    /// or from plain files and standard input only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputInfo>,
    pub sources: Vec<SourceInfo>,
    pub partitions: Vec<PartitionInfo>,
}

/// One column of the store's schema.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// rayproc's type: `integer`, `float`, `text`, or `null` (no value at
    /// all; stored as an all-null Int64 column).
    #[serde(rename = "type")]
    pub ty: String,
    /// The Arrow type in the partition files: `Int64`, `Float64`, `Utf8`
    /// (text that is valid UTF-8), or `Binary` (text that is not).
    pub arrow_type: String,
    pub null_count: u64,
    /// For a text column, the first value that is not a number, so that
    /// `sum:COL` over the store fails with the same `FILE:LINE:` as over CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_non_number: Option<Position>,
    /// For a dictionary-coded text column (`arrow_type` `UInt32`: a code
    /// per row), its dictionary (see [`super::dictionary`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dictionary: Option<super::dictionary::DictionaryInfo>,
    /// For a float column some of whose values the CSV spelled as integers
    /// (`2` beside `2.5`): the Arrow type of the field `NAME#ints` after the
    /// codes in every partition file, which marks those rows. `Boolean`
    /// (true where the field was an integer) when every such integer is
    /// within ±2^53, so that its float is its value; else `Int64`, the
    /// integers themselves, null where the field was not one. Read only by
    /// a query with `--where`, which types a column by the rows it keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integers: Option<String>,
    /// For a number column (integer or float) some of whose fields' text
    /// is not what a filter reads of the value stored (`+7`, `1.50`, `1e3`,
    /// ` 7`: an integer reads as `{i}`, a float as its integer where
    /// `integers` marks the row, else as Rust's `{:?}`): the Arrow type
    /// (`Utf8`) of the field `NAME#text` after the integers in every
    /// partition file, that text where it differs and null where it does
    /// not. Read only by a `--where` with a text test of the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<String>,
    /// The column's position in [`Manifest::source_columns`], where the
    /// manifest has them (and only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<usize>,
}

/// Where a row of the store came from.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Position {
    pub partition: usize,
    /// Row index within the partition.
    pub row: u64,
    /// The source file as named on the command line.
    pub file: String,
    /// 1-based physical line where the record starts.
    pub line: u64,
}

/// A source file, as it was when the store was made.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// As given on the command line (`<stdin>` for standard input).
    pub path: String,
    /// Absolute path used to re-check the source: the path as given, made
    /// absolute against the working directory of `split`, symbolic links
    /// not resolved, so that a run checks the file the name the user gave
    /// leads to now (a link pointed at another file is a change). A store
    /// made before recorded the resolved path, and so checks the file the
    /// link led to at the split. Absent for an input that cannot be read
    /// again (standard input, a pipe), which is never checked, and, in a
    /// store made before compressed files were recorded, for a compressed
    /// file too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_path: Option<String>,
    /// The file's size on disk (a compressed file's compressed size); of an
    /// input read once, the bytes read (decompressed).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 for an input
    /// read once).
    pub modified_ns: u128,
    /// `xxh3:` + the 64-bit XXH3 of the size and the first and last MiB of
    /// the file on disk ([`fingerprint`]); of an input read once, the XXH3
    /// of all the bytes read.
    pub fingerprint: String,
    /// For a file found by expanding a folder or pattern, that input's
    /// position in [`Manifest::inputs`]; absent for a file named as itself
    /// (and in a store made before `inputs` was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<usize>,
}

/// An `--input` of `split` that named a folder (a dataset) or a glob
/// pattern rather than a file: what it finds may change after the split
/// without any recorded source changing (a file added to the folder), so
/// a run expands it again with the code that expanded it at the split
/// ([`crate::source::paths::expand`]) and compares the files it finds now
/// with the sources it found then.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct InputInfo {
    /// As given on the command line.
    pub path: String,
    /// Made absolute against the working directory of `split`, symbolic
    /// links not resolved: it is expanded again as the user named it, so a
    /// link to a folder that now points elsewhere finds other files.
    pub absolute_path: String,
    /// `folder` or `pattern`.
    pub kind: String,
}

/// [`InputInfo::kind`] of a folder read as a dataset.
pub const FOLDER: &str = "folder";
/// [`InputInfo::kind`] of a glob pattern.
pub const PATTERN: &str = "pattern";

impl InputInfo {
    /// The record of `--input` `arg`, which `split` expanded as `kind`,
    /// when it is a folder or a pattern; `None` for a file or standard
    /// input, whose sources say it all.
    pub fn of(arg: &Path, kind: InputKind) -> Result<Option<InputInfo>> {
        let kind = match kind {
            InputKind::Pattern => PATTERN,
            InputKind::Folder => FOLDER,
            InputKind::File => return Ok(None),
        };
        let absolute = std::path::absolute(arg).map_err(|e| Error::io(arg, e))?;
        let absolute_path = super::write::recordable(arg, &absolute)?.to_string();
        Ok(Some(InputInfo {
            path: arg.display().to_string(),
            absolute_path,
            kind: kind.into(),
        }))
    }

    /// The folder below which the files it finds lie, as given and as
    /// recorded absolute: the folder itself, or a pattern's leading
    /// components without glob characters.
    fn bases(&self) -> (PathBuf, PathBuf) {
        let (given, absolute) = (Path::new(&self.path), Path::new(&self.absolute_path));
        if self.kind == PATTERN {
            use crate::source::paths::literal_base;
            (literal_base(given), literal_base(absolute))
        } else {
            (given.to_path_buf(), absolute.to_path_buf())
        }
    }

    /// `folder d` or `pattern d/*.csv`, for messages.
    fn shown(&self) -> String {
        format!("{} {}", self.kind, self.path)
    }
}

/// One partition file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PartitionInfo {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    /// `xxh3:` + the 64-bit XXH3 of the whole file (`inspect --verify`).
    pub checksum: String,
    /// `xxh3:` + the XXH3 of the file's bytes outside its record batches'
    /// bodies (schema, batch metadata, footer; see [`super::verify`]):
    /// checked by every query, with the checksums of the columns it reads.
    pub frame_checksum: String,
    /// Per column, in schema order.
    pub columns: Vec<ColumnStats>,
    /// Per coded column (those with a `dictionary`, in column order), its
    /// codes' field after the columns (see [`super::dictionary`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<ColumnStats>,
    /// Per float column with `integers` (in column order), its integers'
    /// field after the codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integers: Vec<ColumnStats>,
    /// Per number column with `texts` (in column order), its texts' field
    /// after the integers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<ColumnStats>,
    /// Where the partition's rows were read from, so that an error about
    /// one of them names its source line as `run --input` would (absent in
    /// stores made before it was recorded, within version 5: their errors
    /// name the partition file and row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// The records a partition holds: those of source `source` (a position in
/// [`Manifest::sources`]) from byte `offset` of its text (decompressed,
/// for a compressed file) on, one row each, in order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Origin {
    pub source: usize,
    pub offset: u64,
}

impl PartitionInfo {
    /// The statistics of schema field `field`: a column's, or past the
    /// columns, the codes of a coded one, then the integers of a float one,
    /// then the texts of a number one.
    pub fn field(&self, field: usize) -> &ColumnStats {
        match field.checked_sub(self.columns.len()) {
            None => &self.columns[field],
            Some(c) if c < self.codes.len() => &self.codes[c],
            Some(c) if c < self.codes.len() + self.integers.len() => {
                &self.integers[c - self.codes.len()]
            }
            Some(c) => &self.texts[c - self.codes.len() - self.integers.len()],
        }
    }
}

impl Manifest {
    /// The coded columns, in the order their codes' fields follow the
    /// columns in every partition file.
    pub fn coded_columns(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&c| self.columns[c].dictionary.is_some())
            .collect()
    }

    /// The float columns with integers recorded, in the order their fields
    /// follow the codes in every partition file.
    pub fn integer_columns(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&c| self.columns[c].integers.is_some())
            .collect()
    }

    /// The number columns with texts recorded, in the order their fields
    /// follow the integers in every partition file.
    pub fn text_columns(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&c| self.columns[c].texts.is_some())
            .collect()
    }

    /// The schema fields of every partition file: the columns, the codes,
    /// the integers, the texts.
    pub fn fields(&self) -> usize {
        self.columns.len()
            + self.coded_columns().len()
            + self.integer_columns().len()
            + self.text_columns().len()
    }

    /// What schema field `field` holds, for messages: `column 'k'`,
    /// `the codes of column 'k'`, or `the integers of column 'x'`.
    pub fn field_label(&self, field: usize) -> String {
        let coded = self.coded_columns();
        match field.checked_sub(self.columns.len()) {
            None => format!("column '{}'", show_name(&self.columns[field].name)),
            Some(c) if c < coded.len() => {
                format!(
                    "the codes of column '{}'",
                    show_name(&self.columns[coded[c]].name)
                )
            }
            Some(c) if c < coded.len() + self.integer_columns().len() => format!(
                "the integers of column '{}'",
                show_name(&self.columns[self.integer_columns()[c - coded.len()]].name)
            ),
            Some(c) => {
                let t = c - coded.len() - self.integer_columns().len();
                format!(
                    "the texts of column '{}'",
                    show_name(&self.columns[self.text_columns()[t]].name)
                )
            }
        }
    }
}

/// Statistics of one column in one partition.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct ColumnStats {
    /// `xxh3:` + the XXH3 of the column's buffers in this partition's file,
    /// batch after batch (see [`super::verify`]).
    pub checksum: String,
    pub null_count: u64,
    /// Numbers as JSON numbers (non-finite floats as the strings `NaN`,
    /// `inf`, `-inf`), text as a string (invalid UTF-8 replaced); absent
    /// when the partition has no value. A text value longer than
    /// [`STAT_TEXT_BYTES`] is recorded as its first bytes only (cut at a
    /// character), with `min_truncated` / `max_truncated` set: the
    /// partition's least (greatest) value *begins with* that text. So the
    /// manifest stays small whatever the data (one 4 GiB value made a 4 GB
    /// manifest that no reader would read), and a recorded prefix still
    /// orders as the value does against any other recorded one: a prefix
    /// is at most its value, and a value that is not an extension of it
    /// compares with both alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
    /// `min` is only the beginning of a longer value (added within version
    /// 5: an older reader shows the beginning as the value).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub min_truncated: bool,
    /// `max` is only the beginning of a longer value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub max_truncated: bool,
}

/// The most bytes of a text value that a partition's `min` or `max`
/// records ([`ColumnStats::min`]).
pub const STAT_TEXT_BYTES: usize = 4 << 10;

impl Manifest {
    /// Reads and checks `manifest.json` in the generation directory `dir`
    /// (shown as `shown`).
    pub fn read(dir: &File, shown: &Path) -> Result<Manifest> {
        let path = shown.join(FILE_NAME);
        let file = super::layout::open_regular(dir, FILE_NAME, &path)?;
        let text = super::layout::read_limited(&file, MAX_BYTES, &path)?;
        Manifest::parse(&text, &path)
    }

    /// Checks and parses the text of a manifest read from `path`.
    pub fn parse(text: &[u8], path: &Path) -> Result<Manifest> {
        let damaged = |why: String| {
            Error::Other(format!(
                "{}: the manifest is damaged ({why}); re-create the store with `rayproc split`",
                show_path(path)
            ))
        };
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| damaged(format!("not valid JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(Error::Other(format!(
                "{}: not a rayproc store manifest (no \"format\": \"{FORMAT}\")",
                show_path(path)
            )));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if (MIN_VERSION as u64..=VERSION as u64).contains(&v) => {}
            Some(v) if v < VERSION as u64 => {
                return Err(Error::Other(format!(
                    "{}: store format version {v} was made by an older rayproc (this one \
                     reads versions {MIN_VERSION} to {VERSION}); re-create the store with `rayproc split`",
                    show_path(path)
                )));
            }
            other => {
                let found = other.map_or("none".to_string(), |v| v.to_string());
                return Err(Error::Other(format!(
                    "{}: store format version {found} is not supported by this rayproc \
                     (it reads versions {MIN_VERSION} to {VERSION}); re-create the store with `rayproc split`",
                    show_path(path)
                )));
            }
        }
        let (recorded, rest) = split_checksum(text)
            .ok_or_else(|| damaged("its checksum line is missing or malformed".into()))?;
        let found = format!("xxh3:{:016x}", crate::xxh3::xxh3_64(rest));
        if found != recorded {
            return Err(damaged(format!(
                "checksum mismatch: {found}, the manifest says {recorded}"
            )));
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| damaged(format!("malformed: {e}")))?;
        manifest.check(path)?;
        Ok(manifest)
    }

    /// Internal consistency: partition files named plainly, counts adding up.
    fn check(&self, path: &Path) -> Result<()> {
        let bad =
            |why: String| Error::Other(format!("{}: malformed manifest: {why}", show_path(path)));
        let (coded, integers) = (self.coded_columns().len(), self.integer_columns().len());
        let texts = self.text_columns().len();
        for p in &self.partitions {
            if p.file.contains(['/', '\\']) || p.file.starts_with('.') || p.file.is_empty() {
                return Err(bad(format!("bad partition file name {:?}", p.file)));
            }
            if p.codes.len() != coded {
                return Err(bad(format!(
                    "{} has the codes of {} columns, {coded} columns are coded",
                    show_name(&p.file),
                    p.codes.len()
                )));
            }
            if p.integers.len() != integers {
                return Err(bad(format!(
                    "{} has the integers of {} columns, {integers} columns have them",
                    show_name(&p.file),
                    p.integers.len()
                )));
            }
            if p.texts.len() != texts {
                return Err(bad(format!(
                    "{} has the texts of {} columns, {texts} columns have them",
                    show_name(&p.file),
                    p.texts.len()
                )));
            }
            if p.columns.len() != self.columns.len() {
                return Err(bad(format!(
                    "{} has stats for {} columns, the schema has {}",
                    show_name(&p.file),
                    p.columns.len(),
                    self.columns.len()
                )));
            }
        }
        for c in &self.columns {
            if let Some(ints) = &c.integers {
                if c.ty != "float"
                    || c.arrow_type != "Float64"
                    || !["Boolean", "Int64"].contains(&ints.as_str())
                {
                    return Err(bad(format!(
                        "column '{}' has integers of type {ints} but is {} ({})",
                        show_name(&c.name),
                        c.ty,
                        c.arrow_type
                    )));
                }
            }
            if let Some(texts) = &c.texts {
                let number = matches!(
                    (c.ty.as_str(), c.arrow_type.as_str()),
                    ("integer", "Int64") | ("float", "Float64")
                );
                if !number || texts != "Utf8" {
                    return Err(bad(format!(
                        "column '{}' has texts of type {texts} but is {} ({})",
                        show_name(&c.name),
                        c.ty,
                        c.arrow_type
                    )));
                }
            }
            let Some(d) = &c.dictionary else { continue };
            if d.file.contains(['/', '\\']) || d.file.starts_with('.') || d.file.is_empty() {
                return Err(bad(format!("bad dictionary file name {:?}", d.file)));
            }
            if c.ty != "text" || !["Utf8", "Binary"].contains(&c.arrow_type.as_str()) {
                return Err(bad(format!(
                    "column '{}' has a dictionary but is {} ({})",
                    show_name(&c.name),
                    c.ty,
                    c.arrow_type
                )));
            }
        }
        self.check_source_columns().map_err(bad)?;
        for i in &self.inputs {
            if i.kind != FOLDER && i.kind != PATTERN {
                return Err(bad(format!(
                    "input {} is of unknown kind {:?}",
                    i.path, i.kind
                )));
            }
        }
        for s in &self.sources {
            if s.input.is_some_and(|i| i >= self.inputs.len()) {
                return Err(bad(format!(
                    "source {} names input {}, there are {}",
                    s.path,
                    s.input.unwrap_or_default(),
                    self.inputs.len()
                )));
            }
        }
        if self.partitions.iter().map(|p| p.rows).sum::<u64>() != self.rows {
            return Err(bad("partition rows do not add up to the total".into()));
        }
        Ok(())
    }

    /// Every column names a column of [`Manifest::source_columns`], where
    /// there are any: one of its name, and no other column the same; and
    /// none names one where there are none.
    fn check_source_columns(&self) -> std::result::Result<(), String> {
        let Some(header) = &self.source_columns else {
            return match self.columns.iter().find(|c| c.source.is_some()) {
                Some(c) => Err(format!(
                    "column '{}' has a source position, the store records no source columns",
                    show_name(&c.name)
                )),
                None => Ok(()),
            };
        };
        let mut seen = vec![false; header.len()];
        for c in &self.columns {
            let at = c
                .source
                .ok_or_else(|| format!("column '{}' has no source position", show_name(&c.name)))?;
            if header.get(at) != Some(&c.name) || std::mem::replace(&mut seen[at], true) {
                return Err(format!(
                    "column '{}' has source position {at}, which is not a column of its \
                     name or is another column's",
                    show_name(&c.name)
                ));
            }
        }
        Ok(())
    }

    /// The position in the source's header of each column (the store's
    /// own order where it records none: it holds every column in order).
    pub fn source_positions(&self) -> Vec<usize> {
        (self.columns.iter().enumerate())
            .map(|(c, info)| info.source.unwrap_or(c))
            .collect()
    }

    /// The manifest file's text: its checksum on the second line, over the
    /// bytes after that line.
    pub fn to_text(&self) -> String {
        let mut plain = self.clone();
        plain.checksum = None;
        let body = serde_json::to_string_pretty(&plain).expect("manifest to JSON");
        let rest = format!("{}\n", body.strip_prefix("{\n").expect("a JSON object"));
        let sum = crate::xxh3::xxh3_64(rest.as_bytes());
        format!("{CHECKSUM_HEAD}{sum:016x}{CHECKSUM_TAIL}{rest}")
    }
}

impl Manifest {
    /// The length of [`Manifest::to_text`], counted without making it (a
    /// manifest too large to read is refused before it is written).
    pub fn text_len(&self) -> u64 {
        struct Count(u64);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        let body = match self.checksum {
            None => serde_json::to_writer_pretty(&mut count, self),
            Some(_) => serde_json::to_writer_pretty(
                &mut count,
                &Manifest {
                    checksum: None,
                    ..self.clone()
                },
            ),
        };
        body.expect("manifest to JSON");
        // the body less its opening `{\n`, a newline, and the checksum line
        count.0 - 2 + 1 + (CHECKSUM_HEAD.len() + 16 + CHECKSUM_TAIL.len()) as u64
    }
}

/// What precedes the checksum's hex digits in a manifest file.
const CHECKSUM_HEAD: &str = "{\n  \"checksum\": \"xxh3:";
/// What follows them, ending the checksum's line.
const CHECKSUM_TAIL: &str = "\",\n";
/// A manifest larger than this is not one `split` wrote: `split` refuses
/// to write one (see `write::check_manifest_size`), so that every store it
/// writes can be read.
pub const MAX_BYTES: u64 = 1 << 30;

/// The checksum a manifest's text records, and the bytes it covers.
fn split_checksum(text: &[u8]) -> Option<(String, &[u8])> {
    let rest = text.strip_prefix(CHECKSUM_HEAD.as_bytes())?;
    let (hex, rest) = rest.split_at_checked(16)?;
    if !hex.iter().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let rest = rest.strip_prefix(CHECKSUM_TAIL.as_bytes())?;
    Some((format!("xxh3:{}", std::str::from_utf8(hex).ok()?), rest))
}

/// The modification time of `meta` in nanoseconds since the Unix epoch.
pub fn modified_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Size plus the XXH3 of the first and last [`FINGERPRINT_SPAN`] bytes: cheap
/// on any file size, and catches appends, truncations and most rewrites.
/// (An in-place edit in the middle of a big file that keeps its size is
/// caught by the modification time, not by this.)
pub fn fingerprint(file: &mut File, size: u64) -> std::io::Result<String> {
    let mut hasher = crate::xxh3::Xxh3::new();
    hasher.update(&size.to_le_bytes());
    let mut buf = vec![0u8; FINGERPRINT_SPAN.min(size) as usize];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut buf)?;
    hasher.update(&buf);
    if size > FINGERPRINT_SPAN {
        let tail = FINGERPRINT_SPAN.min(size - FINGERPRINT_SPAN);
        buf.resize(tail as usize, 0);
        file.seek(SeekFrom::Start(size - tail))?;
        file.read_exact(&mut buf)?;
        hasher.update(&buf);
    }
    Ok(format!("xxh3:{:016x}", hasher.digest()))
}

/// The source at `info` as it is now, or why it cannot be checked.
pub fn source_change(info: &SourceInfo) -> Option<String> {
    let path = info.absolute_path.as_ref()?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(unreadable(e)),
    };
    if meta.len() != info.size {
        return Some(format!(
            "size is now {} bytes, was {}",
            meta.len(),
            info.size
        ));
    }
    if modified_ns(&meta) != info.modified_ns {
        return Some("modification time differs".into());
    }
    let now = File::open(path).and_then(|mut f| fingerprint(&mut f, meta.len()));
    match now {
        Ok(f) if f == info.fingerprint => None,
        Ok(_) => Some("content differs".into()),
        Err(e) => Some(unreadable(e)),
    }
}

/// [`source_change`]'s words for a source it could not read: one this
/// user may not read is not known to have changed ([`super::read::UNREADABLE`]).
fn unreadable(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        let reason = crate::error::plain_reason(&e);
        format!("{} ({reason})", super::read::UNREADABLE)
    } else {
        format!("cannot be read ({e})")
    }
}

/// What input `i` of `manifest` (a folder or a pattern) finds now that it
/// did not find at the split, and which of the sources it found then it
/// no longer finds, by expanding it again as `split` did
/// ([`crate::source::paths::expand`], from its absolute path). Files are
/// compared by their path below the input's folder (a pattern's literal
/// base), as given then and as found now, so the working directory of the
/// run does not matter. A source whose file is gone is left to
/// [`source_change`], which names it already (`unreported` says whether a
/// source still needs a word). An input that cannot be expanded any more
/// (its folder removed, its pattern matching nothing) is a change of its
/// own.
pub fn input_changes(
    manifest: &Manifest,
    i: usize,
    unreported: impl Fn(&SourceInfo) -> bool,
) -> Vec<Change> {
    let input = &manifest.inputs[i];
    let (given, absolute) = input.bases();
    let failed = |why: String| {
        vec![Change {
            path: input.path.clone(),
            why,
            kind: ChangeKind::Input,
        }]
    };
    if input.kind == FOLDER {
        match std::fs::metadata(&input.absolute_path) {
            Err(e) => return failed(format!("it cannot be read ({e})")),
            Ok(m) if !m.is_dir() => return failed("it is no longer a folder".into()),
            Ok(_) => {}
        }
    }
    let found = match crate::source::paths::expand(Path::new(&input.absolute_path)) {
        Ok(files) => files,
        Err(e) => return failed(format!("it cannot be expanded as at the split: {e}")),
    };
    // a path below the base, as text (the manifest's paths are text)
    let below = |path: &Path, base: &Path| {
        let rel = path.strip_prefix(base).unwrap_or(path);
        PathBuf::from(rel.to_string_lossy().into_owned())
    };
    let now: BTreeSet<PathBuf> = found.iter().map(|f| below(&f.path, &absolute)).collect();
    let sources = manifest.sources.iter().filter(|s| s.input == Some(i));
    let then: BTreeSet<PathBuf> = sources
        .clone()
        .map(|s| below(Path::new(&s.path), &given))
        .collect();
    let mut changes: Vec<Change> = now
        .difference(&then)
        .map(|rel| Change {
            path: given.join(rel).display().to_string(),
            why: if input.kind == FOLDER {
                format!("added to folder {} since the split", show_name(&input.path))
            } else {
                format!(
                    "added since the split: it matches the pattern {}",
                    show_name(&input.path)
                )
            },
            kind: ChangeKind::Added,
        })
        .collect();
    changes.extend(
        sources
            .filter(|s| !now.contains(&below(Path::new(&s.path), &given)) && unreported(s))
            .map(|s| Change {
                path: s.path.clone(),
                why: format!("the {} no longer finds it", input.shown()),
                kind: ChangeKind::Source,
            }),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source this user may not read is not said to have changed: the
    /// store was refused as "stale: its source changed since the split
    /// (cannot be read (Permission denied))".
    #[test]
    fn an_unreadable_source_is_not_called_changed() {
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        let change = Change {
            path: "src.csv".into(),
            why: unreadable(denied),
            kind: ChangeKind::Source,
        };
        assert!(change.unreadable());
        assert_eq!(
            change.clause(),
            "its source src.csv cannot be read by this user (Permission denied), so whether it \
             changed since the split is not known"
        );
        let gone = Change {
            why: unreadable(std::io::Error::from_raw_os_error(libc::ENOENT)),
            ..change
        };
        assert!(!gone.unreadable());
        assert!(gone
            .clause()
            .starts_with("its source src.csv changed since the split (cannot"));
    }

    fn sample() -> Manifest {
        Manifest {
            checksum: None,
            format: FORMAT.into(),
            version: VERSION,
            created_by: "rayproc test".into(),
            created_at: 0,
            delimiter: ",".into(),
            nulls: Vec::new(),
            rows: 2,
            bytes: 10,
            columns: vec![ColumnInfo {
                name: "x".into(),
                ty: "float".into(),
                arrow_type: "Float64".into(),
                null_count: 0,
                first_non_number: None,
                dictionary: None,
                integers: None,
                texts: None,
                source: None,
            }],
            source_columns: None,
            inputs: vec![],
            sources: vec![],
            partitions: vec![PartitionInfo {
                origin: None,
                file: "part-00000.arrow".into(),
                rows: 2,
                bytes: 10,
                checksum: "xxh3:0".into(),
                frame_checksum: "xxh3:1".into(),
                columns: vec![ColumnStats {
                    checksum: "xxh3:2".into(),
                    null_count: 0,
                    min: Some(serde_json::json!(0.1)),
                    max: Some(serde_json::json!(1e300)),
                    ..ColumnStats::default()
                }],
                codes: Vec::new(),
                integers: Vec::new(),
                texts: Vec::new(),
            }],
        }
    }

    #[test]
    fn the_manifest_checks_its_own_bytes() {
        let m = sample();
        let text = m.to_text();
        assert_eq!(m.text_len(), text.len() as u64);
        let read = Manifest::parse(text.as_bytes(), Path::new("m")).unwrap();
        assert!(read.checksum.as_deref().unwrap().starts_with("xxh3:"));
        assert_eq!(
            Manifest {
                checksum: None,
                ..read
            },
            m
        );
        let edited = text.replace("\"rows\": 2", "\"rows\": 3");
        let err = Manifest::parse(edited.as_bytes(), Path::new("m"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest is damaged"), "{err}");
        let bare = serde_json::to_string_pretty(&m).unwrap();
        let err = Manifest::parse(bare.as_bytes(), Path::new("m"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("checksum line is missing"), "{err}");
    }

    /// A folder recorded as given (`data`, relative to a working directory
    /// the run does not share) is expanded again from its absolute path,
    /// and the files compared by their path below it: one found now and
    /// not then is added; one found then, still there but no longer found
    /// (a name a dataset walk skips), is a change of its source, unless
    /// the source's own check named it already.
    #[test]
    fn a_folder_is_expanded_again_and_compared() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        for f in ["one.csv", "sub/two.csv", "_three.csv"] {
            std::fs::write(data.join(f), "a\n1\n").unwrap();
        }
        let source = |path: &str| SourceInfo {
            path: path.into(),
            absolute_path: None,
            size: 0,
            modified_ns: 0,
            fingerprint: String::new(),
            input: Some(0),
        };
        let mut m = sample();
        m.inputs = vec![InputInfo {
            path: "data".into(),
            absolute_path: data.display().to_string(),
            kind: FOLDER.into(),
        }];
        m.sources = vec![source("data/one.csv"), source("data/_three.csv")];
        let changes = input_changes(&m, 0, |_| true);
        let shown: Vec<(&str, ChangeKind)> =
            changes.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(
            shown,
            [
                ("data/sub/two.csv", ChangeKind::Added),
                ("data/_three.csv", ChangeKind::Source)
            ]
        );
        assert_eq!(changes[0].why, "added to folder data since the split");
        assert!(input_changes(&m, 0, |s| s.path != "data/_three.csv").len() == 1);
        // as found then, nothing changed
        m.sources = vec![source("data/one.csv"), source("data/sub/two.csv")];
        assert_eq!(input_changes(&m, 0, |_| true), []);
        // the same files under a pattern (whose `*` would match `_three.csv`)
        std::fs::remove_file(data.join("_three.csv")).unwrap();
        m.inputs[0].path = "data/**/*.csv".into();
        m.inputs[0].absolute_path = data.join("**/*.csv").display().to_string();
        m.inputs[0].kind = PATTERN.into();
        assert_eq!(input_changes(&m, 0, |_| true), []);
        // a source of no folder or pattern is not theirs to judge
        m.sources.push(SourceInfo {
            input: None,
            ..source("elsewhere.csv")
        });
        assert_eq!(input_changes(&m, 0, |_| true), []);
    }

    #[test]
    fn fingerprints_see_both_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut data = vec![b'a'; 3 << 20];
        std::fs::write(&path, &data).unwrap();
        let fp = |p: &Path| {
            let mut f = File::open(p).unwrap();
            let n = f.metadata().unwrap().len();
            fingerprint(&mut f, n).unwrap()
        };
        let first = fp(&path);
        *data.last_mut().unwrap() = b'b';
        std::fs::write(&path, &data).unwrap();
        assert_ne!(fp(&path), first);
        std::fs::write(&path, b"x").unwrap();
        assert!(fp(&path).starts_with("xxh3:"));
    }
}
