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

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The store format version this build writes and reads.
pub const VERSION: u32 = 5;
/// The oldest store format version this build reads (version 3 is version
/// 4 without dictionary-coded columns; version 4 is version 5 without the
/// integers of float columns).
pub const MIN_VERSION: u32 = 3;
/// The first store format version that records the integers of float
/// columns.
pub const INTEGERS_VERSION: u32 = 5;
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
    /// Total rows over all partitions.
    pub rows: u64,
    /// Total bytes of the partition files.
    pub bytes: u64,
    pub columns: Vec<ColumnInfo>,
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
    /// Absolute path used to re-check the source; absent for stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_path: Option<String>,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: u128,
    /// `xxh3:` + the 64-bit XXH3 of the size and the first and last MiB.
    pub fingerprint: String,
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
}

impl PartitionInfo {
    /// The statistics of schema field `field`: a column's, or past the
    /// columns, the codes of a coded one, then the integers of a float one.
    pub fn field(&self, field: usize) -> &ColumnStats {
        match field.checked_sub(self.columns.len()) {
            None => &self.columns[field],
            Some(c) if c < self.codes.len() => &self.codes[c],
            Some(c) => &self.integers[c - self.codes.len()],
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

    /// The schema fields of every partition file: the columns, the codes,
    /// the integers.
    pub fn fields(&self) -> usize {
        self.columns.len() + self.coded_columns().len() + self.integer_columns().len()
    }

    /// What schema field `field` holds, for messages: `column 'k'`,
    /// `the codes of column 'k'`, or `the integers of column 'x'`.
    pub fn field_label(&self, field: usize) -> String {
        let coded = self.coded_columns();
        match field.checked_sub(self.columns.len()) {
            None => format!("column '{}'", self.columns[field].name),
            Some(c) if c < coded.len() => {
                format!("the codes of column '{}'", self.columns[coded[c]].name)
            }
            Some(c) => format!(
                "the integers of column '{}'",
                self.columns[self.integer_columns()[c - coded.len()]].name
            ),
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
    /// when the partition has no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
}

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
                path.display()
            ))
        };
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| damaged(format!("not valid JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(Error::Other(format!(
                "{}: not a rayproc store manifest (no \"format\": \"{FORMAT}\")",
                path.display()
            )));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if (MIN_VERSION as u64..=VERSION as u64).contains(&v) => {}
            Some(v) if v < VERSION as u64 => {
                return Err(Error::Other(format!(
                    "{}: store format version {v} was made by an older rayproc (this one \
                     reads versions {MIN_VERSION} to {VERSION}); re-create the store with `rayproc split`",
                    path.display()
                )));
            }
            other => {
                let found = other.map_or("none".to_string(), |v| v.to_string());
                return Err(Error::Other(format!(
                    "{}: store format version {found} is not supported by this rayproc \
                     (it reads versions {MIN_VERSION} to {VERSION}); re-create the store with `rayproc split`",
                    path.display()
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
            |why: String| Error::Other(format!("{}: malformed manifest: {why}", path.display()));
        let (coded, integers) = (self.coded_columns().len(), self.integer_columns().len());
        for p in &self.partitions {
            if p.file.contains(['/', '\\']) || p.file.starts_with('.') || p.file.is_empty() {
                return Err(bad(format!("bad partition file name {:?}", p.file)));
            }
            if p.codes.len() != coded {
                return Err(bad(format!(
                    "{} has the codes of {} columns, {coded} columns are coded",
                    p.file,
                    p.codes.len()
                )));
            }
            if p.integers.len() != integers {
                return Err(bad(format!(
                    "{} has the integers of {} columns, {integers} columns have them",
                    p.file,
                    p.integers.len()
                )));
            }
            if p.columns.len() != self.columns.len() {
                return Err(bad(format!(
                    "{} has stats for {} columns, the schema has {}",
                    p.file,
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
                        c.name, c.ty, c.arrow_type
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
                    c.name, c.ty, c.arrow_type
                )));
            }
        }
        if self.partitions.iter().map(|p| p.rows).sum::<u64>() != self.rows {
            return Err(bad("partition rows do not add up to the total".into()));
        }
        Ok(())
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

/// What precedes the checksum's hex digits in a manifest file.
const CHECKSUM_HEAD: &str = "{\n  \"checksum\": \"xxh3:";
/// What follows them, ending the checksum's line.
const CHECKSUM_TAIL: &str = "\",\n";
/// A manifest larger than this is not one `split` wrote (4096 partitions of
/// many columns stay far below it).
const MAX_BYTES: u64 = 1 << 30;

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
        Err(e) => return Some(format!("cannot be read ({e})")),
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
        Err(e) => Some(format!("cannot be read ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            checksum: None,
            format: FORMAT.into(),
            version: VERSION,
            created_by: "rayproc test".into(),
            created_at: 0,
            delimiter: ",".into(),
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
            }],
            sources: vec![],
            partitions: vec![PartitionInfo {
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
                }],
                codes: Vec::new(),
                integers: Vec::new(),
            }],
        }
    }

    #[test]
    fn the_manifest_checks_its_own_bytes() {
        let m = sample();
        let text = m.to_text();
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
