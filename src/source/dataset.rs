//! Many files read as one table: expanding `--input` arguments (patterns,
//! folders; see [`super::paths`]), opening the files in parallel, checking
//! that they share their columns, and the Hive columns (`key=value`
//! folders) that a dataset adds after each file's own columns.
//!
//! # Hive columns
//!
//! A Hive key is a column of the table like any other: it follows the
//! file's own columns (in folder order, outermost first) in the header the
//! plan is resolved against, so `--by year`, `--agg count:year` and a
//! filter see a slot. The engines fill its slot with the file's constant:
//!
//! - CSV ([`super::csv::CsvReader`]): each batch gets the value's text as
//!   the raw field of every row, and is typed per batch exactly like a CSV
//!   field: `year=2024` reads as the integer 2024 wherever a CSV field
//!   `2024` would, `city=Paris` as text, `x=1.5` as a float, and a null
//!   folder (`key=` or `key=__HIVE_DEFAULT_PARTITION__`) as a null, the
//!   empty field. A non-number under `sum` is the usual error, naming the
//!   file and the line of the first record of the batch.
//! - Parquet and Arrow IPC ([`super::typed`]): a constant Arrow array per
//!   decoded batch, typed once for the whole dataset ([`HiveType`]) by the
//!   CSV rule ([`crate::number::typing`]) over all of the key's values, as
//!   if they were one CSV column: Int64 when every non-null value is an
//!   integer (`2024`, `+3`), Float64 when every one is a number and one is
//!   not an integer (`2` and `1.5` are the floats 2.0 and 1.5, `1e2` is
//!   100.0), else text, kept as the folder spells it (`007`, `Paris`, an
//!   integer beyond 64 bits). One type for all files, because typed
//!   sources do not re-type a column per batch; and the CSV rule, because
//!   a dataset's answer must not depend on what kind of files lie in its
//!   folders (a stricter rule, numbers only where spelled as rayproc
//!   prints them, once typed `x=2` beside `x=1.5` as text in a Parquet
//!   dataset and as floats in a CSV one).
//!
//! # Why open in parallel
//!
//! A day of logs is 10,000 files. Opening one costs a few system calls
//! (`stat`, `open`, `mmap`, and the header's page fault) that are mostly
//! waiting: done one after the other they took a visible share of a run
//! over many small files, so they run on a pool, and the first error in
//! argument order is the one reported, whichever thread met it.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::paths::{self, InputFile};
use crate::error::{show_name, Error, Result};
use crate::number::typing::Typed;
use crate::value::{ColumnType, Data};

/// The files of `args` (each expanded by [`paths::expand`]), in argument
/// order, and the Hive keys they all share (see [`paths::hive_columns`]).
pub fn expand_all(args: &[PathBuf]) -> Result<(Vec<InputFile>, Vec<String>)> {
    let expanded = expand_args(args)?;
    Ok((expanded.files, expanded.hive_keys))
}

/// What [`expand_args`] found: what [`expand_all`] finds, and what a store
/// records of the arguments (which folder or pattern found which file).
pub struct Expanded {
    pub files: Vec<InputFile>,
    /// For each of `files`, the index of the argument that named it.
    pub from: Vec<usize>,
    /// For each argument, what it named.
    pub kinds: Vec<InputKind>,
    pub hive_keys: Vec<String>,
}

/// [`expand_all`], with what [`Expanded`] adds.
pub fn expand_args(args: &[PathBuf]) -> Result<Expanded> {
    let mut files = Vec::new();
    let mut from = Vec::new();
    let mut kinds = Vec::with_capacity(args.len());
    for (a, arg) in args.iter().enumerate() {
        let found = paths::expand(arg)?;
        kinds.push(InputKind::of(arg, &found));
        from.extend(std::iter::repeat_n(a, found.len()));
        files.extend(found);
    }
    super::stream::check_named_once(files.iter().map(|f| f.path.as_path()))?;
    let hive_keys = paths::hive_columns(&files)?;
    Ok(Expanded {
        files,
        from,
        kinds,
        hive_keys,
    })
}

/// What an `--input` argument named, as [`paths::expand`] read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A file, or `-` (standard input).
    File,
    /// A folder, read as a dataset.
    Folder,
    /// A glob pattern.
    Pattern,
}

impl InputKind {
    /// What `arg` was, told from what [`paths::expand`] found for it rather
    /// than by looking at `arg` again: a second look costs a `stat` per
    /// argument, and could see a path that changed in between (a file
    /// replaced by a folder) and so describe another input than the one
    /// read. A pattern is told by its text, as `expand` tells it; any other
    /// argument `expand` returns as itself when it is a file (or `-`), and
    /// as the files below it, joined to it and so never equal to it, when
    /// it is a folder.
    fn of(arg: &Path, found: &[InputFile]) -> InputKind {
        if paths::is_pattern(arg) {
            InputKind::Pattern
        } else if matches!(found, [only] if only.path == arg) {
            InputKind::File
        } else {
            InputKind::Folder
        }
    }
}

/// `open` applied to every file (and its index), in parallel when there are many, in
/// order; the error of the first file (in order) that fails.
pub fn open_all<T: Send>(
    files: &[InputFile],
    threads: usize,
    open: impl Fn(usize, &InputFile) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let open = |(i, file): (usize, &InputFile)| open(i, file);
    /// Fewer files are opened in the calling thread: a pool costs more.
    const PARALLEL_FROM: usize = 16;
    /// Opening is mostly waiting for the file system: more threads than
    /// cores help when the files are not cached.
    const THREADS_PER_CORE: usize = 4;
    let results: Vec<Result<T>> = if files.len() < PARALLEL_FROM {
        files.iter().enumerate().map(open).collect()
    } else {
        let openers = (threads * THREADS_PER_CORE).clamp(1, 64);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(openers)
            .build()
            .map_err(|e| Error::cannot_start_threads(openers, &e))?;
        pool.install(|| {
            (files.par_iter().enumerate())
                .with_min_len(8)
                .map(open)
                .collect()
        })
    };
    results.into_iter().collect()
}

/// Why `header` (of a file) differs from `want` (the first file's): the
/// first column that differs, by position, or the first missing or extra
/// one.
pub fn first_difference(header: &[String], want: &[String]) -> String {
    for (i, (got, wanted)) in header.iter().zip(want).enumerate() {
        if got != wanted {
            let (got, wanted) = (show_name(got), show_name(wanted));
            return format!("column {} is '{got}', not '{wanted}'", i + 1);
        }
    }
    match header.len().cmp(&want.len()) {
        std::cmp::Ordering::Less => format!(
            "it has {} columns, not {}: column {} '{}' is missing",
            header.len(),
            want.len(),
            header.len() + 1,
            show_name(&want[header.len()])
        ),
        _ => format!(
            "it has {} columns, not {}: column {} '{}' is extra",
            header.len(),
            want.len(),
            want.len() + 1,
            show_name(&header[want.len()])
        ),
    }
}

/// The message for a file whose columns (`header`) differ from those of
/// the first file, `first` (whose columns are `want`).
pub fn columns_differ(header: &[String], first: &str, want: &[String]) -> String {
    // at most LISTED names of each: 60,000 columns made the line 600 KB,
    // and the first difference, named before the lists, is what matters
    const LISTED: usize = 50;
    let list = |names: &[String]| {
        let mut shown = (names.iter().take(LISTED).map(show_name))
            .collect::<Vec<_>>()
            .join(",");
        if names.len() > LISTED {
            shown.push_str(&format!(",… {} more", names.len() - LISTED));
        }
        shown
    };
    let first = show_name(first);
    format!(
        "its columns differ from those of {first}: {}; files read as one table must have the \
         same columns, in the same order (this file: [{}]; {first}: [{}])",
        first_difference(header, want),
        list(header),
        list(want)
    )
}

/// The Hive keys (indices into `keys`) that are also columns of the files
/// (`header`): such a key is read from the files, and its folders only
/// name it. Polars' `write_parquet(partition_by=...)` keeps the key
/// columns in the files (its only layout), and such a dataset was refused;
/// taking the folder's constant instead would give the table two columns
/// of one name, and `--by key` could not say which.
pub fn keys_in_files(header: &[String], keys: &[String]) -> Vec<usize> {
    (0..keys.len())
        .filter(|&k| header.contains(&keys[k]))
        .collect()
}

/// `values` (one per Hive key) without those of the keys `in_files`
/// ([`keys_in_files`], ascending).
pub fn drop_keys<T>(values: &mut Vec<T>, in_files: &[usize]) {
    for &k in in_files.iter().rev() {
        values.remove(k);
    }
}

/// The Hive keys the table adds after the files' own columns: `keys`
/// without those `in_files`.
pub fn added_keys(keys: &[String], in_files: &[usize]) -> Vec<String> {
    let mut added = keys.to_vec();
    drop_keys(&mut added, in_files);
    added
}

/// The Hive values of `file`, in key order: the empty text for a null.
pub fn hive_values(file: &InputFile) -> Vec<String> {
    file.hive.iter().map(|(_, v)| v.clone()).collect()
}

/// The Arrow type a Hive key takes in a Parquet / Arrow IPC dataset (see
/// the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HiveType {
    Int,
    Float,
    Text,
}

impl HiveType {
    /// The type of a key whose values (over every file) are `values`: the
    /// type a CSV column of these fields takes (see the module doc).
    pub fn of<'a>(values: impl IntoIterator<Item = &'a str>) -> HiveType {
        let raw: Vec<&[u8]> = values.into_iter().map(str::as_bytes).collect();
        match Self::typed(&raw).ty {
            ColumnType::Null | ColumnType::Int => HiveType::Int,
            ColumnType::Float => HiveType::Float,
            ColumnType::Text => HiveType::Text,
        }
    }

    /// `raw` typed as a CSV batch of these fields.
    fn typed(raw: &[&[u8]]) -> Typed {
        let mut typed = Typed::default();
        // the fields lie in separate strings: no lane reads around one
        typed.fill(raw, 0..0);
        typed
    }

    /// A column of `len` copies of `value` of this type (all null for the
    /// empty value). `value` is one of the values the type was found for.
    pub fn array(self, value: &str, len: usize) -> arrow_array::ArrayRef {
        use arrow_array::{Float64Array, Int64Array, StringArray};
        use std::sync::Arc;
        if value.is_empty() {
            return Arc::new(Int64Array::new_null(len));
        }
        let raw = [value.as_bytes()];
        let typed = Self::typed(&raw);
        let data = typed.column(&raw).data;
        match (self, data) {
            (HiveType::Int, Data::Int(v)) => Arc::new(Int64Array::from_value(v[0], len)),
            // an integer among floats is its nearest float, as in a CSV
            // column whose other batches are floats
            (HiveType::Float, Data::Int(v)) => Arc::new(Float64Array::from_value(v[0] as f64, len)),
            (HiveType::Float, Data::Float(v)) => Arc::new(Float64Array::from_value(v[0], len)),
            (HiveType::Text, _) => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                value, len,
            ))),
            _ => unreachable!("{value:?} is not a value the key was typed {self:?} for"),
        }
    }
}

/// The types of the Hive keys of `files` (which share their keys).
pub fn hive_types(files: &[InputFile]) -> Vec<HiveType> {
    let keys = files.first().map_or(0, |f| f.hive.len());
    (0..keys)
        .map(|k| HiveType::of(files.iter().map(|f| f.hive[k].1.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_long_header_is_listed_in_part() {
        let wide: Vec<String> = (0..60_000).map(|i| format!("column_{i}")).collect();
        let mut other = wide.clone();
        other[59_000] = "x".into();
        let message = columns_differ(&other, "a.csv", &wide);
        assert!(message.len() < 3_000, "{} bytes", message.len());
        assert!(
            message.contains("column 59001 is 'x', not 'column_59000'"),
            "{message}"
        );
        assert!(message.contains(",… 59950 more]"), "{message}");
    }

    #[test]
    fn the_first_difference_is_named() {
        let want = s(&["a", "b", "c"]);
        assert_eq!(
            first_difference(&s(&["a", "x", "c"]), &want),
            "column 2 is 'x', not 'b'"
        );
        assert_eq!(
            first_difference(&s(&["a", "b"]), &want),
            "it has 2 columns, not 3: column 3 'c' is missing"
        );
        assert_eq!(
            first_difference(&s(&["a", "b", "c", "d"]), &want),
            "it has 4 columns, not 3: column 4 'd' is extra"
        );
    }

    #[test]
    fn hive_types_are_what_a_csv_column_of_the_values_is() {
        assert_eq!(HiveType::of(["2024", "2025", ""]), HiveType::Int);
        assert_eq!(HiveType::of(["-3", "+3"]), HiveType::Int);
        assert_eq!(HiveType::of(["007"]), HiveType::Text);
        assert_eq!(HiveType::of(["007", "1.5"]), HiveType::Text);
        assert_eq!(HiveType::of(["1.5", "2.25"]), HiveType::Float);
        assert_eq!(HiveType::of(["1.5", "2"]), HiveType::Float);
        assert_eq!(HiveType::of(["1.50", "1e2"]), HiveType::Float);
        assert_eq!(HiveType::of(["Paris", "2"]), HiveType::Text);
        assert_eq!(HiveType::of(["99999999999999999999", "1"]), HiveType::Text);
        assert_eq!(HiveType::of(["", ""]), HiveType::Int);
        assert_eq!(HiveType::of(["9.0", "inf", "-inf", "NaN"]), HiveType::Float);
        let a = HiveType::Int.array("", 3);
        assert_eq!(a.null_count(), 3);
        let a = HiveType::Text.array("x", 2);
        assert_eq!(a.len(), 2);
        let float = |v: &str| {
            let a = HiveType::Float.array(v, 1);
            let a = a.as_any().downcast_ref::<arrow_array::Float64Array>();
            a.unwrap().value(0)
        };
        assert_eq!(float("2"), 2.0);
        assert_eq!(float("1e2"), 100.0);
        assert_eq!(float("1.50"), 1.5);
        let int = HiveType::Int.array("+3", 1);
        let int = int.as_any().downcast_ref::<arrow_array::Int64Array>();
        assert_eq!(int.unwrap().value(0), 3);
    }
}
