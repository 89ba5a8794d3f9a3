//! The partial file: what one `rayproc map` writes and `rayproc reduce`
//! reads. The body (types, group keys, aggregate states) is
//! [`Partial::encode`](crate::partial::Partial::encode)'s; this module
//! wraps it so that a reducer can refuse what it must not merge before
//! decoding a byte of state:
//!
//! ```text
//! "RAYPROCP"  u32 version  u32 header length  header (JSON)
//! u64 body length  body  u64 xxh3-64 of every byte before it
//! ```
//!
//! The header is JSON (read by people and by the Ray driver as much as by
//! rayproc): the plan as the user wrote it, the inputs' identity, the
//! parts covered and, for CSV, where each part's byte ranges started and
//! where their last records ended, which is how a guessed cut is checked
//! (see the module doc of [`super`]). The checksum comes last, so a
//! truncated or corrupted file is refused whatever was damaged; every
//! length is checked against the bytes present before it is used.

use crate::xxh3::xxh3_64;
use serde::{Deserialize, Serialize};

/// The first bytes of every partial file.
pub const MAGIC: &[u8; 8] = b"RAYPROCP";
/// The format version this build writes and reads (2: an `approx_median`
/// state of at most 64 values is kept in `median`'s form; 3: the groups
/// in their keys' byte order; 4: an `approx_median` sketch records whether
/// it took a number that is not an integer; 5: `--where` names its
/// columns as the header needs them, so that `"k"#2` is not recorded as
/// `k#2`, which a column literally called so would answer; 6: a `median`
/// state's values of text batches are written sorted, so that a part is
/// the same bytes however its values came; 7: a Parquet or Arrow UUID is
/// the UUID's text, not its 16 bytes, and Polars' 128-bit integers are
/// integers: parts of one query made by builds on either side of that
/// would count one key twice; 8: a `min`/`max` state keeps the extreme by
/// value of the text values that are integers, and whether some is wider
/// than 64 bits or none at all, for a column made text by integers past
/// 64 bits; 9: `--null`, the CSV texts read as null, which a reducer
/// before it would not have compared).
pub const VERSION: u32 = 9;

/// The query a partial answers, as written (so that the reducer can plan
/// it again), and the columns it was resolved against.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PlanText {
    /// `--agg`, one spec per entry, as written.
    pub agg: Vec<String>,
    /// `--by`, one column or bucket per entry, as written.
    pub by: Vec<String>,
    /// `--where`, in its canonical form against `columns`
    /// ([`crate::filter::Expr::canonical`], which parses back to the same
    /// expression and names each column as `columns` needs it): partials
    /// mapped with two spellings of one expression merge, and two
    /// expressions over different columns never read alike. A header
    /// written before the form was canonical is read into it.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// The CSV delimiter (one byte).
    pub delimiter: u8,
    pub no_header: bool,
    /// The CSV field texts read as null besides the empty one
    /// ([`crate::plan::Plan::nulls`]: for a store, those it was split with).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nulls: Vec<String>,
    /// The inputs' columns (Hive columns included).
    pub columns: Vec<String>,
}

impl PlanText {
    /// What of `self` differs from `expected`, one entry per field that
    /// does, as `SETTING (expected SETTING)`: a reducer refusing a partial
    /// names only what differs, so that a partial mapped with another
    /// `--delimiter` or `--no-header` (the same `--agg`, `--by` and
    /// `--where`) does not read as two identical plans.
    fn differences(&self, expected: &PlanText) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |what: &str, mine: String, theirs: String| {
            out.push(format!("{what}{mine} (expected {what}{theirs})"));
        };
        if self.agg != expected.agg {
            differ(
                "--agg ",
                format!("{:?}", self.agg),
                format!("{:?}", expected.agg),
            );
        }
        if self.by != expected.by {
            differ(
                "--by ",
                format!("{:?}", self.by),
                format!("{:?}", expected.by),
            );
        }
        if self.filter != expected.filter {
            let filter = |f: &Option<String>| match f {
                Some(f) => format!("--where {f:?}"),
                None => "no --where".into(),
            };
            differ("", filter(&self.filter), filter(&expected.filter));
        }
        if self.delimiter != expected.delimiter {
            let delimiter = |d: u8| format!("'{}'", char::from(d).escape_default());
            differ(
                "--delimiter ",
                delimiter(self.delimiter),
                delimiter(expected.delimiter),
            );
        }
        if self.no_header != expected.no_header {
            let header = |no: bool| match no {
                true => "--no-header",
                false => "a header row",
            };
            differ(
                "",
                header(self.no_header).into(),
                header(expected.no_header).into(),
            );
        }
        if self.nulls != expected.nulls {
            use crate::plan::show_nulls;
            differ("", show_nulls(&self.nulls), show_nulls(&expected.nulls));
        }
        if self.columns != expected.columns {
            differ(
                "columns ",
                format!("{:?}", self.columns),
                format!("{:?}", expected.columns),
            );
        }
        out
    }
}

/// One input, and how to tell that it is the same one later.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct InputId {
    /// The path as the map opened it.
    pub path: String,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u64,
    /// xxh3-64 (hex) of the first and last 64 KiB (a store: of its
    /// manifest).
    pub sample: String,
}

/// A byte range of a CSV input that a part read (or a run of row groups,
/// record batches or store partition files: then `start..end` counts
/// those, and `stop` is `end`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub part: usize,
    /// Index into [`Header::bodies`] (CSV) or the input list (others).
    pub input: usize,
    pub start: u64,
    pub end: u64,
    /// Where the last record read ended: the next piece of the input must
    /// start here.
    pub stop: u64,
    /// The cuts were found by the parser, not guessed.
    pub exact: bool,
}

/// The body of a CSV input as the map saw it: its records lie in
/// `body_start..len`; a compressed input (`whole`) is read by one part,
/// from start to end.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub name: String,
    pub body_start: u64,
    pub len: u64,
    pub whole: bool,
}

/// What kind of source the parts were cut from.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Csv,
    /// Parquet or Arrow IPC files: parts are runs of row groups / batches.
    Typed,
    /// A store: parts are runs of partition files.
    Store,
}

impl SourceKind {
    /// What inputs of this kind are, in a message.
    fn describe(self) -> &'static str {
        match self {
            SourceKind::Csv => "CSV",
            SourceKind::Typed => "Parquet or Arrow IPC",
            SourceKind::Store => "a store",
        }
    }
}

/// The header of a partial file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Header {
    pub plan: PlanText,
    pub source: SourceKind,
    /// `--input` as given (or the store directory): a reducer that must map
    /// a part again opens these.
    pub args: Vec<String>,
    /// The files read, after glob and folder expansion.
    pub inputs: Vec<InputId>,
    /// CSV only: each non-empty input's body.
    #[serde(default)]
    pub bodies: Vec<Body>,
    /// N of `--part I/N`.
    pub parts: usize,
    /// The parts whose rows this partial holds, ascending.
    pub covered: Vec<usize>,
    pub pieces: Vec<Piece>,
    /// Whether `min`/`max` states keep the text of numbers
    /// (`Plan::text_extremes`): partials merge only with the same.
    #[serde(default)]
    pub text_extremes: bool,
}

impl Header {
    /// A hex digest of everything two partials must share to be merged
    /// (plan, source, inputs, part count): shown in messages and docs.
    pub fn fingerprint(&self) -> String {
        let shared = (
            &self.plan,
            self.source,
            &self.args,
            &self.inputs,
            self.parts,
        );
        let json = serde_json::to_vec(&shared).expect("plain data serialises");
        format!("{:016x}", xxh3_64(&json))
    }

    /// Why `self` and `other` cannot be merged, if they cannot.
    pub fn mismatch(&self, other: &Header) -> Option<String> {
        if self.plan != other.plan {
            return Some(format!(
                "it answers another query ({})",
                other.plan.differences(&self.plan).join("; ")
            ));
        }
        if self.args != other.args {
            return Some(format!(
                "it was mapped from other inputs ({:?}; expected {:?})",
                other.args, self.args
            ));
        }
        if self.source != other.source {
            // the same names, read as another kind of input: a file
            // replaced between the maps (a CSV file by a Parquet one)
            return Some(format!(
                "its inputs were read as {}, the other partials' as {} (a file replaced \
                 between the maps?)",
                other.source.describe(),
                self.source.describe()
            ));
        }
        if self.inputs != other.inputs || self.bodies != other.bodies {
            let differ = (self.inputs.iter().zip(&other.inputs))
                .find(|(a, b)| a != b)
                .map(|(a, _)| a.path.clone())
                .unwrap_or_else(|| "the list of files".into());
            return Some(format!(
                "its inputs differ from the other partials' ({differ} changed between the maps?)"
            ));
        }
        if self.parts != other.parts {
            return Some(format!(
                "it is a part of {} parts, the others of {}",
                other.parts, self.parts
            ));
        }
        None
    }
}

/// A partial file's header and body.
#[derive(Debug, Clone)]
pub struct PartialFile {
    pub header: Header,
    pub body: Vec<u8>,
}

impl PartialFile {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).expect("plain data serialises");
        let mut out = Vec::with_capacity(32 + header.len() + self.body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(self.body.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.body);
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads a partial file's bytes; the error says what is wrong with
    /// them (the caller adds the file's name).
    pub fn from_bytes(bytes: &[u8]) -> Result<PartialFile, String> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err("not a rayproc partial (made by `rayproc map --emit-partial`)".into());
        }
        let (content, sum) = bytes.split_at(bytes.len().saturating_sub(8).max(MAGIC.len()));
        let version = read_u32(content, 8).ok_or("truncated")?;
        if version != VERSION {
            return Err(format!(
                "partial format version {version}; this rayproc reads version {VERSION}"
            ));
        }
        if sum.len() != 8 || xxh3_64(content).to_le_bytes() != sum {
            return Err("truncated or corrupted (checksum mismatch)".into());
        }
        let header_len = read_u32(content, 12).ok_or("truncated")? as usize;
        let header_end = 16usize.checked_add(header_len).ok_or("bad header length")?;
        let header_bytes = content.get(16..header_end).ok_or("truncated header")?;
        let mut header: Header =
            serde_json::from_slice(header_bytes).map_err(|e| format!("bad header: {e}"))?;
        if let Some(text) = &mut header.plan.filter {
            // (one that does not parse, or names a column the header does
            // not hold, is left for the reducer to report)
            if let Some(canonical) = (crate::filter::parse(text).ok())
                .and_then(|filter| filter.canonical(&header.plan.columns))
            {
                *text = canonical;
            }
        }
        let body_len = read_u64(content, header_end).ok_or("truncated")?;
        let body_start = header_end + 8;
        if body_len != (content.len() - body_start) as u64 {
            return Err(format!(
                "the body is {} bytes, the header says {body_len}",
                content.len() - body_start
            ));
        }
        Ok(PartialFile {
            header,
            body: content[body_start..].to_vec(),
        })
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PartialFile {
        PartialFile {
            header: Header {
                plan: PlanText {
                    agg: vec!["mean:x".into()],
                    by: vec!["k".into()],
                    filter: Some("x > 1".into()),
                    delimiter: b',',
                    no_header: false,
                    nulls: Vec::new(),
                    columns: vec!["k".into(), "x".into()],
                },
                source: SourceKind::Csv,
                args: vec!["/d/a.csv".into()],
                inputs: vec![InputId {
                    path: "/d/a.csv".into(),
                    size: 100,
                    mtime_ns: 7,
                    sample: "ab".into(),
                }],
                bodies: vec![Body {
                    name: "/d/a.csv".into(),
                    body_start: 4,
                    len: 100,
                    whole: false,
                }],
                parts: 4,
                covered: vec![2],
                pieces: vec![Piece {
                    part: 2,
                    input: 0,
                    start: 50,
                    end: 75,
                    stop: 77,
                    exact: false,
                }],
                text_extremes: false,
            },
            body: vec![1, 2, 3, 4, 5],
        }
    }

    #[test]
    fn round_trips_and_refuses_every_damage() {
        let file = sample();
        let bytes = file.to_bytes();
        let back = PartialFile::from_bytes(&bytes).unwrap();
        assert_eq!(back.header, file.header);
        assert_eq!(back.body, file.body);
        for cut in 0..bytes.len() {
            assert!(PartialFile::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(PartialFile::from_bytes(&bad).is_err(), "flip {i}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(PartialFile::from_bytes(&longer).is_err());
        assert!(PartialFile::from_bytes(b"col\n1\n")
            .unwrap_err()
            .starts_with("not a rayproc partial"));
    }

    /// A header's `--where` is read in its canonical form, also from a
    /// partial that kept it as written (before the form was canonical), so
    /// that two spellings of one expression merge and a third does not.
    #[test]
    fn a_where_is_read_in_its_canonical_form() {
        let read = |filter: &str| {
            let mut file = sample();
            file.header.plan.filter = Some(filter.into());
            PartialFile::from_bytes(&file.to_bytes()).unwrap().header
        };
        let terse = read("x>1 and NOT x<2");
        let spaced = read("(x > 1) AND not (x < 2)");
        let canonical = crate::filter::parse("x > 1 and not x < 2")
            .unwrap()
            .to_string();
        assert_eq!(terse.plan.filter.as_deref(), Some(&canonical[..]));
        assert_eq!(terse.mismatch(&spaced), None);
        assert_eq!(terse.fingerprint(), spaced.fingerprint());
        let other = read("x > 1 and not x <= 2");
        assert!(terse.mismatch(&other).unwrap().contains("another query"));
        // one that does not parse is kept as written, for the reducer to report
        assert_eq!(read("x >").plan.filter.as_deref(), Some("x >"));
    }

    #[test]
    fn mismatches_say_what_differs() {
        let a = sample().header;
        let mut b = a.clone();
        assert_eq!(a.mismatch(&b), None);
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.plan.agg = vec!["sum:x".into()];
        assert!(a.mismatch(&b).unwrap().contains("another query"));
        // only what differs is named
        let mut e = a.clone();
        e.plan.delimiter = b'\t';
        e.plan.no_header = !a.plan.no_header;
        e.plan.nulls = vec!["NA".into()];
        let why = a.mismatch(&e).unwrap();
        assert!(why.contains("--null \"NA\" (expected no --null)"), "{why}");
        assert!(
            why.contains("--delimiter '\\t' (expected --delimiter ','"),
            "{why}"
        );
        assert!(why.contains("header"), "{why}");
        assert!(!why.contains("--agg") && !why.contains("columns"), "{why}");
        let mut c = a.clone();
        c.inputs[0].size = 101;
        assert!(a.mismatch(&c).unwrap().contains("/d/a.csv changed"));
        assert_ne!(a.fingerprint(), c.fingerprint());
        let mut d = a.clone();
        d.parts = 8;
        assert!(a.mismatch(&d).unwrap().contains("8 parts"));
    }
}
