//! A store's dictionaries: one file per dictionary-coded text column.
//!
//! `split` codes a text column when its distinct values are few enough
//! ([`MAX_VALUES`], [`MAX_BYTES`]): the values, sorted, go once into
//! `dict-N.arrow` (column `N` of the schema; an Arrow IPC file of one
//! `Utf8` or `Binary` column named `values`), and every partition file
//! holds, after the columns, a `UInt32` field of the column's codes
//! (`NAME#codes`, null where the column is). A query that groups by the
//! column reads the codes and groups by code (see [`crate::dict`]) instead
//! of hashing every row's text; every other use of the column reads its
//! text as before, in file order (text looked up in the dictionary row by
//! row would be a cache miss per row: `distinct` of a million values took
//! 0.42 s that way against 0.24 s from the text).
//!
//! Reading one trusts nothing in it: the manifest records its checksum
//! (checked unless the run skips verification), Arrow validates the file
//! as it decodes it (offsets, UTF-8), and [`Dictionary::new`] refuses
//! values that are not strictly ascending, so no two codes name one value.
//! Codes are checked against the dictionary's length as each partition is
//! read ([`crate::source::arrow::Prepared::with_codes`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, BinaryArray, RecordBatch, StringArray};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::dict::Dictionary;
use crate::error::{show_path, Error, Result};
use crate::keyset::KeySet;
use crate::source::ipc::IpcFile;

/// The most values a coded column's dictionary holds (a query groups by
/// code over fewer still, by its thread count: `partial::coded`).
pub const MAX_VALUES: usize = 1 << 22;
/// The most bytes of text a coded column's dictionary holds.
pub const MAX_BYTES: usize = 256 << 20;

/// A coded column's dictionary, as the manifest records it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DictionaryInfo {
    /// The file in the generation directory (`dict-N.arrow`).
    pub file: String,
    /// Number of values.
    pub values: u64,
    pub bytes: u64,
    /// `xxh3:` + the XXH3 of the whole file.
    pub checksum: String,
}

/// The distinct values of one text column as `split` gathers them: `None`
/// once there are too many to code the column.
#[derive(Default)]
pub struct Distinct {
    set: Option<KeySet>,
    /// Values added, repeats included.
    seen: u64,
    /// The ids of a batch's values (not needed, but interned into).
    ids: Vec<u32>,
    /// The most bytes of text the set may hold ([`MAX_BYTES`]).
    max_bytes: usize,
}

/// Past this many distinct values, a column whose values are mostly
/// distinct (more than one in [`MOSTLY_DISTINCT`]) is given up on early:
/// coding a column of unique ids or timestamps would only cost time at
/// `split` and a code per row.
const EARLY: usize = 1 << 20;
const MOSTLY_DISTINCT: u64 = 2;

impl Distinct {
    pub fn new() -> Distinct {
        Distinct::with_max_bytes(MAX_BYTES)
    }

    fn with_max_bytes(max_bytes: usize) -> Distinct {
        Distinct {
            set: Some(KeySet::new()),
            seen: 0,
            ids: Vec::new(),
            max_bytes,
        }
    }

    /// Gives up on coding the column.
    pub fn abandon(&mut self) {
        self.set = None;
    }

    /// Adds `values`; gives up past the limits.
    ///
    /// The values go into the set in runs whose bytes fit in what it may
    /// still hold: a batch can carry gigabytes of text (a field of 1 GiB),
    /// and the set copied all of it before the limit was looked at, a peak
    /// of the batch's text twice over. A value that fits in no run gives
    /// the column up, unless the set holds it already.
    pub fn add<'v>(&mut self, values: impl Iterator<Item = &'v [u8]>) {
        let Some(set) = &mut self.set else {
            return;
        };
        // a run at a time: the set prefetches each value's slot
        let values: Vec<&[u8]> = values.collect();
        let mut rest = &values[..];
        while !rest.is_empty() {
            let mut room = self.max_bytes.saturating_sub(set.bytes());
            let run = rest
                .iter()
                .take_while(|v| room.checked_sub(v.len()).map(|r| room = r).is_some())
                .count();
            if run == 0 {
                if set.find(rest[0]).is_none() {
                    self.set = None;
                    return;
                }
                (self.seen, rest) = (self.seen + 1, &rest[1..]);
                continue;
            }
            self.ids.clear();
            set.intern_batch(run, |i| rest[i], &mut self.ids);
            (self.seen, rest) = (self.seen + run as u64, &rest[run..]);
        }
        self.check_limits();
    }

    /// Gives up on a set past the limits: the values', the bytes' (after a
    /// merge), or [`EARLY`]'s.
    fn check_limits(&mut self) {
        if let Some(set) = &self.set {
            let n = set.len();
            let mostly_distinct = n > EARLY && n as u64 * MOSTLY_DISTINCT > self.seen;
            if n > MAX_VALUES || set.bytes() > self.max_bytes || mostly_distinct {
                self.set = None;
            }
        }
    }

    /// Both workers' values (`None` if either gave up).
    pub fn merge(mut self, other: Distinct) -> Distinct {
        match (&mut self.set, other.set) {
            (Some(mine), Some(theirs)) => {
                mine.absorb(&theirs);
                self.seen += other.seen;
                self.check_limits();
            }
            _ => self.set = None,
        }
        self
    }

    /// The coder of the gathered values, if the column can be coded.
    pub fn into_coder(self) -> Option<Coder> {
        let set = self.set?;
        let mut by_value: Vec<u32> = (0..set.len() as u32).collect();
        use rayon::prelude::*;
        by_value.par_sort_unstable_by(|&a, &b| set.get(a).cmp(set.get(b)));
        let mut code_of = vec![0u32; set.len()];
        for (code, &id) in by_value.iter().enumerate() {
            code_of[id as usize] = code as u32;
        }
        Some(Coder {
            set,
            by_value,
            code_of,
        })
    }
}

/// A column's values and their codes (their ranks in byte order).
pub struct Coder {
    set: KeySet,
    /// Ids in the set, in code order.
    by_value: Vec<u32>,
    /// Per id in the set: its code.
    code_of: Vec<u32>,
}

impl Coder {
    /// The codes of a batch's `values` (0 for a null, where `valid` says
    /// so), into `codes`; false if a value was not gathered.
    pub fn code_batch(
        &self,
        values: &[&[u8]],
        valid: Option<&[bool]>,
        codes: &mut Vec<u32>,
    ) -> bool {
        let mut ids = Vec::with_capacity(values.len());
        self.set.find_batch(values.len(), |i| values[i], &mut ids);
        codes.clear();
        for (row, id) in ids.into_iter().enumerate() {
            codes.push(match (id, valid.is_none_or(|v| v[row])) {
                (Some(id), true) => self.code_of[id as usize],
                (None, true) => return false,
                (_, false) => 0,
            });
        }
        true
    }

    /// The values in code order.
    pub fn values(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.by_value.iter().map(|&id| self.set.get(id))
    }

    pub fn len(&self) -> usize {
        self.by_value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_value.is_empty()
    }
}

/// The name of the field of a coded column's codes in partition files.
pub fn codes_field(column: &str) -> String {
    format!("{column}#codes")
}

/// The dictionary file of schema column `column`.
pub fn file_name(column: usize) -> String {
    format!("dict-{column}.arrow")
}

/// Writes `coder`'s values as `dir`/[`file_name`]`(column)`, as UTF-8 text
/// when `utf8` (every value was checked to be) and bytes otherwise.
pub fn write(dir: &Path, column: usize, coder: &Coder, utf8: bool) -> Result<DictionaryInfo> {
    let name = file_name(column);
    let path = dir.join(&name);
    let arrow = |e| super::write::arrow_failed(&path, e);
    let (dt, array): (DataType, ArrayRef) = if utf8 {
        let values: Vec<&str> = coder
            .values()
            .map(|v| std::str::from_utf8(v).expect("checked to be UTF-8"))
            .collect();
        (DataType::Utf8, Arc::new(StringArray::from(values)))
    } else {
        let values: Vec<&[u8]> = coder.values().collect();
        (DataType::Binary, Arc::new(BinaryArray::from(values)))
    };
    let schema = Arc::new(Schema::new(vec![Field::new("values", dt, false)]));
    let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
    let sink = super::write::Hashing::new(BufWriter::with_capacity(1 << 20, file));
    let mut writer = FileWriter::try_new(sink, &schema).map_err(arrow)?;
    writer
        .write(&RecordBatch::try_new(schema, vec![array]).map_err(arrow)?)
        .map_err(arrow)?;
    let mut sink = writer.into_inner().map_err(arrow)?;
    sink.flush().map_err(|e| Error::io(&path, e))?;
    let (checksum, bytes) = (super::verify::show(sink.digest()), sink.bytes());
    let file = sink
        .into_inner()
        .into_inner()
        .map_err(|e| Error::io(&path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&path, e))?;
    Ok(DictionaryInfo {
        file: name,
        values: coder.len() as u64,
        bytes,
        checksum,
    })
}

/// Reads the dictionary `info` describes from the generation directory
/// `dir` (shown as `shown`), checking its size, its checksum when
/// `verify`, and always its content.
pub fn read(
    dir: &File,
    shown: &Path,
    info: &DictionaryInfo,
    verify: bool,
) -> Result<Arc<Dictionary>> {
    let path = shown.join(&info.file);
    let damaged = |why: String| {
        Error::Other(format!(
            "{}: {why}; re-create the store with `rayproc split`",
            show_path(&path)
        ))
    };
    let file = super::layout::open_regular(dir, &info.file, &path)?;
    let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    if len != info.bytes {
        return Err(damaged(format!(
            "dictionary file is {len} bytes, the manifest says {} (truncated or replaced)",
            info.bytes
        )));
    }
    // SAFETY: a read-only map of a regular file of the store; its bytes are
    // only read as bytes and validated before use (hostile content is an
    // error). rayproc never rewrites a store file in place; another process
    // truncating it would raise SIGBUS (docs/store.md).
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
    if verify {
        let found = super::verify::show(crate::xxh3::xxh3_64(&map));
        if found != info.checksum {
            return Err(damaged(format!(
                "checksum mismatch ({found}, the manifest says {}): the dictionary file is corrupted",
                info.checksum
            )));
        }
    }
    let shown_name = path.display().to_string();
    let ipc = IpcFile::from_map(Arc::new(map), &shown_name, true, None)?;
    let dict = from_ipc(&ipc).map_err(damaged)?;
    if dict.len() as u64 != info.values {
        return Err(damaged(format!(
            "the dictionary holds {} values, the manifest says {}",
            dict.len(),
            info.values
        )));
    }
    Ok(Arc::new(dict))
}

/// The dictionary an IPC file holds (one non-null `Utf8` or `Binary`
/// column, strictly ascending), or why it holds none; every batch is
/// decoded and validated on the way.
pub fn from_ipc(ipc: &IpcFile) -> std::result::Result<Dictionary, String> {
    let mut batches = Vec::with_capacity(ipc.batches());
    for b in 0..ipc.batches() {
        batches.push(ipc.batch(b).map_err(|e| e.to_string())?);
    }
    let mut values: Vec<&[u8]> = Vec::new();
    for batch in &batches {
        if batch.num_columns() != 1 {
            return Err("a dictionary file has one column".into());
        }
        let column = batch.column(0);
        if column.null_count() > 0 {
            return Err("a dictionary holds no null".into());
        }
        if let Some(a) = column.as_string_opt::<i32>() {
            values.extend(a.iter().flatten().map(str::as_bytes));
        } else if let Some(a) = column.as_binary_opt::<i32>() {
            values.extend(a.iter().flatten());
        } else {
            return Err(format!(
                "dictionary values must be Utf8 or Binary, found {}",
                column.data_type()
            ));
        }
    }
    Dictionary::new(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the set holds, `None` once the column is given up.
    fn held(d: &Distinct) -> Option<usize> {
        d.set.as_ref().map(KeySet::bytes)
    }

    #[test]
    fn values_go_in_while_their_bytes_fit_and_a_new_one_past_them_gives_up() {
        let (a, b) = ("a".repeat(50), "b".repeat(40));
        let mut d = Distinct::with_max_bytes(100);
        d.add([a.as_bytes(), a.as_bytes(), b.as_bytes()].into_iter());
        assert_eq!(held(&d), Some(90));
        // a value longer than the room left that the set holds already
        d.add([a.as_bytes(), b"x", a.as_bytes(), b"y"].into_iter());
        assert_eq!((held(&d), d.seen), (Some(92), 7));
        // up to the limit exactly, then one byte past it
        d.add([&b"z".repeat(8)[..]].into_iter());
        assert_eq!(held(&d), Some(100));
        d.add([&b"q"[..], b"a"].into_iter());
        assert_eq!(held(&d), None);
        // a value longer than the limit, alone
        let mut d = Distinct::with_max_bytes(100);
        d.add([&[7u8; 101][..]].into_iter());
        assert_eq!(held(&d), None);
    }

    #[test]
    fn a_merge_past_the_bytes_gives_up() {
        let (mut mine, mut theirs) = (Distinct::with_max_bytes(100), Distinct::with_max_bytes(100));
        mine.add([&[1u8; 60][..]].into_iter());
        theirs.add([&[2u8; 60][..]].into_iter());
        assert_eq!(held(&mine.merge(theirs)), None);
        let (mut mine, mut theirs) = (Distinct::with_max_bytes(100), Distinct::with_max_bytes(100));
        mine.add([&[1u8; 60][..]].into_iter());
        theirs.add([&[1u8; 60][..]].into_iter());
        assert_eq!(held(&mine.merge(theirs)), Some(60));
    }
}
