//! Reading a store: resolve its current generation, map each partition
//! file, check it, and view its Arrow buffers in place as batches.
//!
//! [`Store::open`] resolves `current` once and holds a shared lock on that
//! generation for as long as the `Store` lives, so a `split` replacing the
//! store meanwhile neither disturbs nor removes it (see [`super::layout`]).
//! Every file is opened relative to the generation's directory, only if it
//! is a regular file and not a symbolic link.
//!
//! Each partition is checked before any of its rows is used: the file must
//! exist, have the size the manifest records and carry the manifest's
//! schema, and (unless verification is turned off) its frame (schema, batch
//! metadata, footer) and every column the query reads must hash to the
//! checksums the manifest records ([`super::verify`]): a query hashes what it
//! reads, not the columns it never touches. A coded column of few values
//! ([`SMALL_DICTIONARY`]) is read as its codes into its dictionary, never
//! as its text field: the codes are fewer bytes to hash and check, and the
//! dictionary, checked once per run, stays in cache for the lookups. The
//! frame is checked first; the columns batch by batch, each batch hashed
//! just before it is decoded, and compared when the partition is read (a
//! mismatch is the error reported, and no answer is given). Every record
//! batch is validated by the Arrow decoder as it is read (offsets, lengths,
//! UTF-8 of the columns read), whether or not the checksums were checked: a
//! checksum catches accidents, and whoever can edit a partition file can
//! recompute it, so it is no licence to trust the bytes. A damaged or
//! crafted store therefore fails with an error naming the file, never with
//! a crash.
//!
//! A partition of ordinary size (up to [`KEEP_MAPPED`]) stays mapped in
//! while it is read and is dropped as a whole when done; a huge one gives
//! its pages back as soon as they have been read (each record batch once
//! hashed and folded; `inspect --verify` each range it hashed), so the
//! resident set stays bounded by the page cache, not the store.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::DataType;
use memmap2::Mmap;

use super::layout;
use super::manifest::{
    self, source_change, Manifest, FILE_NAME, INTEGERS_VERSION, SOURCE_COLUMNS_VERSION,
    TEXTS_VERSION,
};
use super::verify::{self, Layout};
use crate::dict::Dictionary;
use crate::error::{because, not_a_directory, show_name, show_path, DataError, Error, Result};
use crate::exec::{self, AggregateOptions, Fold};
use crate::partial::Table;
use crate::plan::{Plan, UNUSED};
use crate::source::arrow::{each_kept_batch, fold_arrays, Rows, Spelled};
use crate::source::ipc::IpcFile;
use crate::source::release_range;
use crate::spec::ColumnRef;
use crate::xxh3::Xxh3;

/// Bytes hashed between two releases of the pages just hashed.
const HASH_CHUNK: usize = 8 << 20;
/// Partitions up to this size stay resident between checksum and decode.
const KEEP_MAPPED: usize = 64 << 20;

/// An opened store: its directory, the generation it reads, and its
/// manifest.
pub struct Store {
    /// The directory as the user named it.
    pub dir: PathBuf,
    /// `dir/gen-N`, for messages.
    pub generation: PathBuf,
    /// The generation's directory, share-locked while the store is open.
    gen_dir: File,
    pub manifest: Manifest,
}

/// The schema fields a run reads ([`Store::columns_read`]).
struct ColumnsRead {
    /// Schema fields, in the order the partition's projection holds them.
    needed: Vec<usize>,
    /// Per plan slot: its column (a manifest column index)...
    columns: Vec<usize>,
    /// ...and where its rows come from.
    rows: Vec<RowsAt>,
    /// Per plan slot: the position of its codes among `needed`, and their
    /// dictionary, for a coded column the plan groups by.
    codes: Vec<Option<(usize, Arc<Dictionary>)>>,
    /// Per plan slot, under `--where`: how its column is typed by the rows
    /// kept (a text column by its values; a float column by its integers,
    /// at this position among `needed`), and for a number column a text
    /// test reads, its fields' texts; and for a float column a time
    /// bucket reads, which of its values were integers (epoch seconds), and
    /// the texts its error quotes.
    spelled: Vec<Option<SpelledAt>>,
}

/// What [`slot_arrays`] reads of a batch, as [`fold_arrays`] takes it.
struct SlotArrays {
    arrays: Vec<ArrayRef>,
    codes: Vec<Option<(ArrayRef, Arc<Dictionary>)>>,
    spelled: Vec<Option<Spelled>>,
}

/// Where a plan slot's rows are read from.
#[derive(Clone)]
enum RowsAt {
    /// The column's field, at this position among the fields read.
    Column(usize),
    /// A coded column with a small dictionary: its codes' field, at this
    /// position, each code standing for its value in the dictionary (here
    /// as an Arrow array), and the column's own field is not read at all.
    Codes(usize, ArrayRef),
}

/// Coded text columns with at most this many distinct values are read as
/// their codes and their dictionary, not as their text.
///
/// Why: the text field of a column like `k_small` (a hundred values) is
/// 11 bytes a row of offsets and text that verification hashes and Arrow
/// validation checks (offsets in order, UTF-8) batch by batch, for values
/// the codes name in 4 bytes, against a dictionary checked once per run. A
/// row's text is then its dictionary value, looked up by code: for a
/// dictionary this small, the lookups stay in the L1 and L2 caches. A
/// million values would miss the caches on every row, where the text is
/// read in order, so larger dictionaries keep the text.
const SMALL_DICTIONARY: u64 = 1 << 14;

/// How a column is typed by the rows `--where` keeps
/// ([`crate::source::arrow::Spelled`]), before a partition is read.
#[derive(Clone, Copy)]
enum SpelledAt {
    Text,
    /// A number column: the integers' field of a float one that has them,
    /// and the texts' field of one that has them and whose text a test
    /// reads (or, for a float one, a time bucket's error quotes), by their
    /// positions among the fields read.
    Number {
        ints: Option<usize>,
        texts: Option<usize>,
    },
    /// A float column none of whose values was an integer (it has no
    /// integers' field), for a time bucket: no row is epoch seconds.
    NoIntegers,
}

/// Times a reader re-resolves `current` when a split switched it between
/// reading it and locking the generation it named.
const RESOLVE_TRIES: usize = 1000;

/// How to run a plan over a store.
#[derive(Clone, Debug)]
pub struct StoreRunOptions {
    pub threads: usize,
    pub progress: bool,
    /// Check every partition file's checksum before using it.
    pub verify: bool,
}

/// How [`source_change`] begins its words for a source that exists but
/// this user may not read.
pub const UNREADABLE: &str = "cannot be read by this user";

/// A source that changed since the split, and how; or a file that a
/// folder or pattern given to `split` finds now and did not then; or such
/// an input that finds nothing any more.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The source as recorded, the new file (named as the input would name
    /// it), or the input as given.
    pub path: String,
    pub why: String,
    pub kind: ChangeKind,
}

/// What a [`Change`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A source of the store: changed, gone, or no longer found by its
    /// folder or pattern.
    Source,
    /// A file its folder or pattern finds now, not in the store.
    Added,
    /// A folder or pattern that cannot be expanded as at the split.
    Input,
}

impl ChangeKind {
    /// The name `inspect --format json` gives it.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Source => "source",
            ChangeKind::Added => "added",
            ChangeKind::Input => "input",
        }
    }
}

impl Change {
    /// Whether this is a source that could not be read (this user may not)
    /// rather than one known to have changed.
    pub fn unreadable(&self) -> bool {
        self.kind == ChangeKind::Source && self.why.starts_with(UNREADABLE)
    }

    /// What changed, as a clause of the message that refuses a stale store.
    pub fn clause(&self) -> String {
        if self.unreadable() {
            return format!(
                "its source {} {}, so whether it changed since the split is not known",
                show_name(&self.path),
                self.why
            );
        }
        match self.kind {
            ChangeKind::Source => format!(
                "its source {} changed since the split ({})",
                show_name(&self.path),
                self.why
            ),
            ChangeKind::Added => format!("{} was {}", show_name(&self.path), self.why),
            ChangeKind::Input => format!(
                "its input {} changed since the split ({})",
                show_name(&self.path),
                self.why
            ),
        }
    }
}

impl Store {
    /// The source file and line of row `row` of partition `i`, as the
    /// split recorded them ([`manifest::Origin`]), for an error about that
    /// row: the source is read again from the partition's first record,
    /// counting records, on this error path only (recording every row's
    /// line would cost every split, for errors few runs meet). `None` when
    /// the store records no origin (made before it did), the source cannot
    /// be read again (standard input), or it is no longer the file split
    /// read: the caller then names the partition file and row.
    fn source_line(&self, i: usize, row: u64) -> Option<(String, u64)> {
        use crate::source::csv::CsvReader;
        use crate::source::{CsvInput, OpenOptions};
        let origin = self.manifest.partitions.get(i)?.origin.as_ref()?;
        let source = self.manifest.sources.get(origin.source)?;
        let path = source.absolute_path.as_ref()?;
        // checked when the store was opened; it may have changed since
        if source_change(source).is_some() {
            return None;
        }
        let delimiter = *self.manifest.delimiter.as_bytes().first()?;
        let input = CsvInput::open_with(Path::new(path), &OpenOptions::new(delimiter)).ok()?;
        // a plan that reads no column: the reader still cuts every record
        let count = crate::spec::parse_specs(&["count"]).ok()?;
        let plan = Plan::new(&input.header, &count, &[]).ok()?;
        let mut reader = CsvReader::new(&plan, delimiter);
        let start = usize::try_from(origin.offset).ok()?;
        let mut left = usize::try_from(row).ok()?;
        let mut found = None;
        let _ = reader.read_range(
            &input,
            start.min(input.bytes().len()),
            input.bytes().len(),
            &mut |batch: &crate::batch::Batch<'_>, starts: &[usize]| {
                if left < batch.len {
                    found = Some(starts[left]);
                    return Err(DataError {
                        file: String::new(),
                        line: 0,
                        column: None,
                        message: "found".into(),
                    });
                }
                left -= batch.len;
                Ok(())
            },
            &mut |_| {},
        );
        Some((source.path.clone(), input.line_of(found?)))
    }
}

/// Why the store directory `dir` cannot be opened (`e`), in words: that
/// there is none (and what on its path is not a directory, where
/// something is), or what refused it. It said "no such store directory
/// (Permission denied (os error 13))" of a directory that exists, and
/// "(Not a directory (os error 20))" without saying what is not one.
fn unopened(dir: &Path, e: std::io::Error) -> Error {
    let shown = show_path(dir);
    let make = "make one with `rayproc split`";
    Error::Other(match not_a_directory(dir) {
        Some((at, _)) if at == dir => {
            let what = if at.is_file() {
                "a file"
            } else {
                "not a directory"
            };
            format!(
                "{shown}: not a store directory (it is {what}); a store is a directory \
                 that `rayproc split` makes"
            )
        }
        Some((_, why)) => format!("{shown}: no such store directory ({why}); {make}"),
        None if e.kind() == std::io::ErrorKind::NotFound => {
            format!("{shown}: no such store directory; {make}")
        }
        None => format!(
            "{shown}: {}",
            because("cannot open the store directory".into(), &e)
        ),
    })
}

impl Store {
    /// Resolves the current generation of the store in `dir`, locks it
    /// against removal, and reads and checks its manifest.
    pub fn open(dir: &Path) -> Result<Store> {
        let root = layout::open_dir(dir).map_err(|e| unopened(dir, e))?;
        for _ in 0..RESOLVE_TRIES {
            let Some(name) = layout::read_current(&root, dir)? else {
                let legacy = layout::open_regular(&root, FILE_NAME, &dir.join(FILE_NAME)).is_ok();
                // a split holds the directory's writer lock while it writes
                // (a shared lock is refused only then): a store it is
                // creating has no `current` yet
                let creating =
                    !legacy && crate::flock::lock(&root, false, false).ok() == Some(false);
                return Err(Error::Other(if creating {
                    format!(
                        "{}: a split is creating this store and has not finished: run again \
                         once it has",
                        show_path(dir)
                    )
                } else if legacy {
                    format!(
                        "{}: a store made by an older rayproc (format version 1); re-create \
                         it with `rayproc split`",
                        show_path(dir)
                    )
                } else {
                    format!(
                        "{}: not a rayproc store (no `{}` file; is it a store made by \
                         `rayproc split`?)",
                        show_path(dir),
                        layout::CURRENT
                    )
                }));
            };
            let gen_dir = match layout::open_subdir(&root, &name) {
                Ok(d) => d,
                // removed by a split that switched `current` meanwhile (a
                // split switches it before removing anything), unless
                // `current` still names it: then it is missing
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if layout::read_current(&root, dir)?.as_deref() == Some(name.as_str()) {
                        return Err(Error::Other(format!(
                            "{}: the store's generation {name}, which `current` names, is \
                             missing; the store is damaged, re-create it with `rayproc split`",
                            show_path(dir)
                        )));
                    }
                    continue;
                }
                Err(e) => {
                    return Err(Error::Other(format!(
                        "{}: cannot open the store's generation {name} ({e}); the store is \
                         damaged, re-create it with `rayproc split`",
                        show_path(dir)
                    )))
                }
            };
            crate::flock::lock(&gen_dir, false, true).map_err(|e| {
                let what = format!("cannot lock the store's generation {name}");
                Error::io(dir, because(what, &e))
            })?;
            if layout::read_current(&root, dir)?.as_deref() != Some(name.as_str()) {
                continue;
            }
            let generation = dir.join(&name);
            let manifest = Manifest::read(&gen_dir, &generation)?;
            return Ok(Store {
                dir: dir.to_path_buf(),
                generation,
                gen_dir,
                manifest,
            });
        }
        Err(Error::Other(format!(
            "{}: the store kept changing while being opened ({RESOLVE_TRIES} splits in a row); \
             try again",
            show_path(dir)
        )))
    }

    /// The header a query's columns are resolved against: its source's
    /// (where the store holds other columns than all of them in order,
    /// [`Manifest::source_columns`]), else its columns' names in schema
    /// order. A plan resolved against it has a slot per position of this
    /// header, which [`Store::run`] maps to the store's columns.
    pub fn header(&self) -> Vec<String> {
        match &self.manifest.source_columns {
            Some(header) => header.clone(),
            None => (self.manifest.columns.iter())
                .map(|c| c.name.clone())
                .collect(),
        }
    }

    /// Fails where the store cannot tell which of its source's columns a
    /// reference among `columns` (every column reference of a query)
    /// means: a store before version 7 records only its columns' names, and
    /// where its source repeated a name, `split --columns` may have kept
    /// some of those columns or reordered them, so that its own numbering
    /// of them is not the source's. A reference by number (`k#2`) is
    /// refused there rather than answered from what may be another column;
    /// checked before the query is resolved, which would number them so.
    pub fn check_references(&self, columns: &[ColumnRef]) -> Result<()> {
        let m = &self.manifest;
        if m.version >= SOURCE_COLUMNS_VERSION {
            return Ok(());
        }
        let header = self.header();
        let holds = |name: &String| header.contains(name);
        // (a name it does not hold is an unknown column, as resolved)
        let numbered = columns.iter().find(|c| {
            c.occurrence.is_some() && holds(&c.name) && !c.literal.as_ref().is_some_and(holds)
        });
        match numbered {
            Some(c) => Err(Error::Other(format!(
                "{}: store format version {} does not record which of its source's \
                 columns named '{}' it holds (`split --columns` may have kept some of \
                 them, or reordered them), and {} picks one by its number; re-create \
                 the store with `rayproc split`",
                show_path(&self.dir),
                m.version,
                show_name(&c.name),
                show_name(&c.text)
            ))),
            None => Ok(()),
        }
    }

    /// Fails unless the store holds every column `plan` (resolved against
    /// [`Store::header`]) reads: a column of the source that `split
    /// --columns` left out is named, with the columns the store holds
    /// (exit 2, as an unknown column).
    pub fn check_plan(&self, plan: &Plan) -> Result<()> {
        let stored = self.manifest.source_positions();
        let mut held = vec![false; plan.slot_of.len()];
        for &p in &stored {
            if let Some(h) = held.get_mut(p) {
                *h = true;
            }
        }
        let missing = (plan.slot_of.iter().enumerate()).find(|&(p, &s)| s != UNUSED && !held[p]);
        if let Some((_, &slot)) = missing {
            // as `--columns` names them
            let every = Plan::every_column(&plan.header);
            let held: Vec<&str> = stored.iter().map(|&p| every[p].text.as_str()).collect();
            return Err(Error::Usage(format!(
                "store {} does not hold column '{}' of its source: it was split with \
                 --columns {}; split the source again with the columns this query reads",
                show_path(&self.dir),
                show_name(&plan.slot_labels[slot as usize]),
                show_name(&held.join(","))
            )));
        }
        Ok(())
    }

    /// Sources whose size, modification time or fingerprint changed since
    /// the split (standard input cannot be checked and never shows here),
    /// then what each folder or pattern given to `split` finds now that it
    /// did not, or no longer finds ([`manifest::input_changes`]).
    pub fn changed_sources(&self) -> Vec<Change> {
        let m = &self.manifest;
        let mut changes: Vec<Change> = (m.sources.iter())
            .filter_map(|s| {
                source_change(s).map(|why| Change {
                    path: s.path.clone(),
                    why,
                    kind: ChangeKind::Source,
                })
            })
            .collect();
        let reported: std::collections::HashSet<String> =
            changes.iter().map(|c| c.path.clone()).collect();
        for i in 0..m.inputs.len() {
            let unreported = |s: &super::manifest::SourceInfo| !reported.contains(&s.path);
            changes.extend(manifest::input_changes(m, i, unreported));
        }
        changes
    }

    fn partition_path(&self, i: usize) -> PathBuf {
        self.generation.join(&self.manifest.partitions[i].file)
    }

    /// Maps partition `i` after checking that it is a regular file of the
    /// store and has its size.
    fn map_partition(&self, i: usize) -> Result<Arc<Mmap>> {
        let info = &self.manifest.partitions[i];
        let path = self.partition_path(i);
        let file = layout::open_regular(&self.gen_dir, &info.file, &path)?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len != info.bytes {
            return Err(Error::Other(format!(
                "{}: partition file is {len} bytes, the manifest says {} (truncated or replaced); \
                 re-create the store with `rayproc split`",
                show_path(&path),
                info.bytes
            )));
        }
        // SAFETY: a read-only map of a regular file; its bytes are only ever
        // read as bytes and validated before use (hostile content is an
        // error). rayproc never rewrites a partition file in place; another
        // process truncating it would raise SIGBUS (docs/store.md).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Arc::new(map))
    }

    /// Hashes a mapped partition whole and compares with the manifest
    /// (`inspect --verify`; queries check only what they read, see
    /// [`Store::check_columns`]).
    fn check_checksum(&self, i: usize, map: &Mmap) -> Result<()> {
        let info = &self.manifest.partitions[i];
        let mut hasher = crate::xxh3::Xxh3::new();
        // A partition of ordinary size stays mapped in while it is read; a
        // huge one is released chunk by chunk, to keep the resident set
        // bounded.
        let release = map.len() > KEEP_MAPPED;
        let mut at = 0;
        while at < map.len() {
            let end = (at + HASH_CHUNK).min(map.len());
            hasher.update(&map[at..end]);
            if release {
                release_range(map, at, end - at);
            }
            at = end;
        }
        let found = verify::show(hasher.digest());
        if found != info.checksum {
            return Err(self.corrupted(i, "", &found, &info.checksum));
        }
        Ok(())
    }

    fn corrupted(&self, i: usize, what: &str, found: &str, recorded: &str) -> Error {
        Error::Other(format!(
            "{}: checksum mismatch{what} ({found}, the manifest says {recorded}): the partition \
             file is corrupted; re-create the store with `rayproc split`",
            show_path(&self.partition_path(i)),
        ))
    }

    /// Checks partition `i`'s frame (schema, batch metadata, footer)
    /// against the manifest ([`super::verify`]) and reads where each
    /// column's buffers lie, for the column checksums.
    fn checked_layout(&self, i: usize, ipc: &IpcFile) -> Result<Layout> {
        let info = &self.manifest.partitions[i];
        let path = self.partition_path(i);
        let malformed = |e: String| {
            Error::Other(format!(
                "{}: not a partition file as `split` writes them ({e}); the store is damaged, \
                 re-create it with `rayproc split`",
                show_path(&path)
            ))
        };
        let bytes = ipc.bytes();
        let mut layout = Layout::read_bodies(bytes, ipc.blocks()).map_err(malformed)?;
        let found = verify::show(layout.frame_hash(bytes));
        if found != info.frame_checksum {
            let what = " in the file's frame (schema, batch metadata, footer)";
            return Err(self.corrupted(i, what, &found, &info.frame_checksum));
        }
        layout
            .read_buffers(bytes, ipc.blocks(), &ipc.schema)
            .map_err(malformed)?;
        Ok(layout)
    }

    /// Checks partition `i`'s frame (schema, batch metadata, footer) and
    /// the checksums of `columns` (store column indices) against the
    /// manifest, reading the whole of each column before returning.
    fn check_columns(&self, i: usize, ipc: &IpcFile, columns: &[usize]) -> Result<()> {
        let info = &self.manifest.partitions[i];
        let bytes = ipc.bytes();
        let layout = self.checked_layout(i, ipc)?;
        // An ordinary partition stays mapped in until decoded; a huge one
        // is released as it is hashed, to keep the resident set bounded at
        // the price of faulting its pages in twice.
        let release = |r: &std::ops::Range<usize>| {
            if let Some(map) = ipc.map().filter(|m| m.len() > KEEP_MAPPED) {
                release_range(map, r.start, r.len());
            }
        };
        for &c in columns {
            let found = verify::show(layout.column_hash(bytes, c, release));
            let recorded = &info.field(c).checksum;
            if &found != recorded {
                let what = format!(" in {}", self.manifest.field_label(c));
                return Err(self.corrupted(i, &what, &found, recorded));
            }
        }
        Ok(())
    }

    /// Checks every partition file's size and checksum, and its frame and
    /// every column's checksum (`inspect --verify`). Returns one line per
    /// partition: `None` if fine, else the error.
    pub fn verify_all(&self) -> Vec<Option<String>> {
        use rayon::prelude::*;
        let all: Vec<usize> = (0..self.manifest.fields()).collect();
        // every partition holds codes into every dictionary
        let dictionaries = (self.manifest.coded_columns().iter())
            .try_for_each(|&c| self.dictionary(c, true).map(drop))
            .err()
            .map(|e| e.to_string());
        (0..self.manifest.partitions.len())
            .into_par_iter()
            .map(|i| {
                let check = || -> Result<()> {
                    if let Some(e) = &dictionaries {
                        return Err(Error::Other(e.clone()));
                    }
                    let map = self.map_partition(i)?;
                    self.check_checksum(i, &map)?;
                    let name = self.partition_path(i).display().to_string();
                    let ipc = IpcFile::from_map(map, &name, true, None)?;
                    self.check_schema(&ipc, &name)?;
                    self.check_columns(i, &ipc, &all)
                };
                check().err().map(|e| e.to_string())
            })
            .collect()
    }

    /// Runs `plan` (resolved against [`Store::header`]) over the store.
    pub fn run(&self, plan: &Plan, opts: &StoreRunOptions) -> Result<Table> {
        let read = self.columns_read(plan, opts.verify)?;
        let aopts = self.aggregate_options(opts);
        // a task is a partition file, by its index
        let tasks: Vec<usize> = (0..self.partitions()).collect();
        exec::aggregate(plan, &tasks, &aopts, |&i, fold| {
            self.read_partition(i, fold.plan(), &read, opts.verify, fold)
        })
    }

    /// Column `c`'s dictionary, read and checked (see
    /// [`super::dictionary::read`]), if the column is coded.
    pub fn dictionary(&self, c: usize, verify: bool) -> Result<Option<Arc<Dictionary>>> {
        let Some(info) = &self.manifest.columns[c].dictionary else {
            return Ok(None);
        };
        super::dictionary::read(&self.gen_dir, &self.generation, info, verify).map(Some)
    }

    /// The first row, in the store's order, that `plan`'s filter keeps
    /// and whose text in slot `slot` `is_sought` (a value `json` output
    /// cannot hold): the source `FILE` and `LINE` it was split from
    /// ([`Store::source_line`]). `None` when there is none,
    /// or its source cannot be read again. On an error path only: the
    /// partitions are read again, unverified (the run that failed read
    /// them verified).
    pub fn locate_text(
        &self,
        plan: &Plan,
        slot: usize,
        is_sought: impl Fn(&[u8]) -> bool,
    ) -> Option<(String, u64)> {
        use crate::value::Data;
        let read = self.columns_read(plan, false).ok()?;
        for i in 0..self.partitions() {
            let path = self.partition_path(i);
            let name = path.display().to_string();
            let map = self.map_partition(i).ok()?;
            let _truncation = crate::signals::register_mapping(map.as_ptr(), map.len(), &path);
            let ipc = IpcFile::from_map(map, &name, true, Some(read.needed.clone())).ok()?;
            let mut first = 0u64;
            for b in 0..ipc.batches() {
                let batch = ipc.batch(b).ok()?;
                let SlotArrays {
                    arrays,
                    codes,
                    spelled,
                } = slot_arrays(&read, plan, &batch, &name).ok()?;
                let rows = Rows {
                    names: &plan.slot_names,
                    arrays: &arrays,
                    codes: &codes,
                    spelled: &spelled,
                    len: batch.num_rows(),
                };
                let mut sought = false;
                let row = std::cell::Cell::new(None);
                let reject = |r: crate::source::arrow::Rejection| {
                    row.set(Some(r.row));
                    Error::Other(r.message)
                };
                let searched = each_kept_batch(plan, &rows, reject, &mut |kept| {
                    let col = &kept.columns[slot];
                    let texts = match (col.raw, col.data) {
                        (Some(raw), _) => raw,
                        (None, Data::Text(t)) => t,
                        _ => return Ok(()),
                    };
                    let found =
                        (texts.iter().enumerate()).find(|&(r, t)| col.is_valid(r) && is_sought(t));
                    match found {
                        Some((r, _)) => {
                            sought = true;
                            Err(crate::rows::BadRow {
                                row: r,
                                slot,
                                message: String::new(),
                            })
                        }
                        None => Ok(()),
                    }
                });
                if searched.is_err() {
                    // found, or (impossible after a run that succeeded) a
                    // row the run would have refused: no position
                    return sought
                        .then(|| self.source_line(i, first + row.get()? as u64))
                        .flatten();
                }
                first += batch.num_rows() as u64;
            }
        }
        None
    }

    /// The partition files of the store.
    pub fn partitions(&self) -> usize {
        self.manifest.partitions.len()
    }

    /// The merged partial result of `plan` over the partition files
    /// `files` (what `rayproc map` ships for one part of a store).
    pub fn partial(
        &self,
        plan: &Plan,
        files: std::ops::Range<usize>,
        opts: &StoreRunOptions,
    ) -> Result<crate::partial::Partial> {
        let read = self.columns_read(plan, opts.verify)?;
        let aopts = self.aggregate_options(opts);
        let tasks: Vec<usize> = files.collect();
        exec::aggregate_partial(plan, &tasks, &aopts, |&i, fold| {
            self.read_partition(i, plan, &read, opts.verify, fold)
        })
    }

    /// The schema fields `plan` reads: the column of each slot (or, for a
    /// coded column with a dictionary of at most [`SMALL_DICTIONARY`]
    /// values, its codes and dictionary instead), and the codes of a coded
    /// column whose codes the plan reads ([`Plan::reads_codes`]), with its
    /// dictionary (read and checked once per run).
    fn columns_read(&self, plan: &Plan, verify: bool) -> Result<ColumnsRead> {
        // (checked when the query was prepared; a slot of no column here
        // would read another column's data)
        self.check_plan(plan)?;
        let columns = self.manifest.columns.len();
        let coded = self.manifest.coded_columns();
        // the plan's slots are by position in the source's header
        // ([`Store::header`])
        let positions = self.manifest.source_positions();
        let slot_of = |c: usize| plan.slot_of.get(positions[c]).copied().unwrap_or(UNUSED);
        let small = |c: usize| {
            (self.manifest.columns[c].dictionary.as_ref())
                .is_some_and(|d| d.values <= SMALL_DICTIONARY)
        };
        let mut slot_columns = vec![0; plan.slots()];
        let mut needed: Vec<usize> = Vec::new();
        let mut rows = vec![RowsAt::Column(0); plan.slots()];
        for c in (0..columns).filter(|&c| slot_of(c) != UNUSED) {
            let slot = slot_of(c) as usize;
            slot_columns[slot] = c;
            if !small(c) {
                rows[slot] = RowsAt::Column(needed.len());
                needed.push(c);
            }
        }
        // the codes' fields follow the columns', in the same order
        let mut codes = vec![None; plan.slots()];
        for (k, &c) in coded.iter().enumerate() {
            let slot = slot_of(c);
            if slot == UNUSED || !(small(c) || plan.reads_codes(slot as usize)) {
                continue;
            }
            let slot = slot as usize;
            let dict = self.dictionary(c, verify)?.expect("a coded column");
            let at = needed.len();
            needed.push(columns + k);
            if small(c) {
                let values = arrow_array::BinaryArray::from_iter_values(dict.iter());
                rows[slot] = RowsAt::Codes(at, Arc::new(values));
            }
            if plan.reads_codes(slot) {
                codes[slot] = Some((at, dict));
            }
        }
        // Under `--where`, a column is typed by the rows kept, as `run
        // --input` types the CSV: text by its values, a float column by its
        // integers, where it has any. A time bucket of a float column reads
        // its integers too: over the CSV, only a field written as an integer
        // is epoch seconds (`1700000000.0` is an error), and the store has
        // no text to tell them by.
        let mut spelled = vec![None; plan.slots()];
        let bucketed = |slot: usize| plan.buckets.iter().any(|b| b.slot == slot);
        let integers = self.manifest.integer_columns();
        let texts = self.manifest.text_columns();
        let text_slots = plan.filter.as_ref().map_or(&[][..], |f| f.text_slots());
        for (c, info) in self.manifest.columns.iter().enumerate() {
            let slot = slot_of(c);
            if slot == UNUSED || !(plan.filter.is_some() || bucketed(slot as usize)) {
                continue;
            }
            let slot = slot as usize;
            let number = matches!(info.ty.as_str(), "integer" | "float");
            let ints = match info.ty.as_str() {
                "text" if plan.filter.is_some() => {
                    spelled[slot] = Some(SpelledAt::Text);
                    continue;
                }
                "float" if info.integers.is_some() => {
                    let k = integers.iter().position(|&i| i == c).expect("listed");
                    needed.push(columns + coded.len() + k);
                    Some(needed.len() - 1)
                }
                "float" if self.manifest.version < INTEGERS_VERSION => {
                    let needs = match bucketed(slot) {
                        true => "a time bucket needs to tell epoch seconds",
                        false => "`--where` needs to type the rows it keeps as the CSV would",
                    };
                    return Err(Error::Other(format!(
                        "{}: store format version {} does not record which values of \
                         float column '{}' were integers, which {needs}; re-create the \
                         store with `rayproc split`",
                        show_path(&self.dir),
                        self.manifest.version,
                        show_name(&info.name)
                    )));
                }
                _ => None,
            };
            // a text test (`like`, `~`, a text literal) reads a number
            // field's text as the CSV wrote it (`+7`, `1.50`, `1e3`), and
            // so does the error of a time bucket of a float column, which
            // quotes the field as the CSV's does (`found "1e9"`, where the
            // value prints as `1000000000.0`)
            let text_test = number && text_slots.contains(&slot);
            let quoted = info.ty == "float" && bucketed(slot);
            let texts_read = match (text_test || quoted, info.texts.is_some()) {
                (false, _) => None,
                (true, true) => {
                    let k = texts.iter().position(|&i| i == c).expect("listed");
                    needed.push(columns + coded.len() + integers.len() + k);
                    Some(needed.len() - 1)
                }
                // a store without texts quotes a bucket's value as printed,
                // as it always did; a text test would keep other rows
                (true, false) if text_test && self.manifest.version < TEXTS_VERSION => {
                    return Err(Error::Other(format!(
                        "{}: store format version {} does not record how the CSV wrote \
                         the numbers of column '{}' (`+7`, `1.50`, `1e3`), which a text \
                         test of `--where` reads; re-create the store with `rayproc split`",
                        show_path(&self.dir),
                        self.manifest.version,
                        show_name(&info.name)
                    )));
                }
                // every field's text is its value's printed form
                (true, false) => None,
            };
            spelled[slot] = match (ints, texts_read) {
                (None, None) if info.ty == "float" && bucketed(slot) => Some(SpelledAt::NoIntegers),
                (None, None) => None,
                (ints, texts) => Some(SpelledAt::Number { ints, texts }),
            };
        }
        Ok(ColumnsRead {
            needed,
            columns: slot_columns,
            rows,
            codes,
            spelled,
        })
    }

    fn aggregate_options(&self, opts: &StoreRunOptions) -> AggregateOptions {
        AggregateOptions {
            threads: opts.threads,
            progress: opts.progress,
            total_bytes: self.manifest.bytes,
            coded: true,
        }
    }

    fn read_partition(
        &self,
        i: usize,
        plan: &Plan,
        read: &ColumnsRead,
        verify: bool,
        fold: &mut Fold<'_>,
    ) -> Result<()> {
        let needed = &read.needed[..];
        let info = &self.manifest.partitions[i];
        let path = self.partition_path(i);
        let name = path.display().to_string();
        let map = self.map_partition(i)?;
        let _truncation = crate::signals::register_mapping(map.as_ptr(), map.len(), &path);
        let ipc = IpcFile::from_map(map, &name, true, Some(needed.to_vec()))?;
        self.check_schema(&ipc, &name)?;
        // The frame is checked first (it says where each column's buffers
        // lie); each column read is hashed batch by batch just before the
        // batch is decoded (its bytes then come from the cache, not from
        // memory a second time), and compared once the partition is read.
        // Should anything fail meanwhile, the partition is hashed to the end
        // and a checksum mismatch is the error reported: a damaged file is
        // reported as damaged, and no answer is given either way.
        let mut check = match verify {
            true => Some((
                self.checked_layout(i, &ipc)?,
                needed.iter().map(|_| Xxh3::new()).collect::<Vec<_>>(),
            )),
            false => None,
        };
        let bytes = ipc.bytes();
        let hash_batch = |check: &mut Option<(Layout, Vec<Xxh3>)>, b: usize| {
            if let Some((layout, hashers)) = check {
                for (h, &c) in hashers.iter_mut().zip(needed) {
                    layout.hash_batch(bytes, c, b, h);
                }
            }
        };
        let huge = info.bytes as usize > KEEP_MAPPED;
        let mut rows = 0u64;
        let mut hashed = 0;
        let mut outcome = Ok(());
        for b in 0..ipc.batches() {
            if fold.cancelled() {
                return Ok(());
            }
            hash_batch(&mut check, b);
            hashed = b + 1;
            let batch = match ipc.batch(b) {
                Ok(batch) => batch,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let SlotArrays {
                arrays,
                codes,
                spelled,
            } = match slot_arrays(read, plan, &batch, &name) {
                Ok(all) => all,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let first = rows;
            let folded = fold_arrays(
                fold,
                &plan.slot_names,
                &arrays,
                &codes,
                &spelled,
                batch.num_rows(),
                |r| {
                    let row = first + r.row as u64;
                    // by position, not name: a header may repeat a name
                    let column = &plan.slot_labels[r.slot];
                    let origin = self
                        .manifest
                        .columns
                        .get(read.columns[r.slot])
                        .and_then(|c| c.first_non_number.as_ref())
                        .filter(|p| p.partition == i && p.row == row);
                    let at = match origin {
                        Some(p) => Some((p.file.clone(), p.line)),
                        None => self.source_line(i, row),
                    };
                    match at {
                        // the same FILE:LINE: error as `run --input` on the source
                        Some((file, line)) => Error::Data(DataError {
                            file,
                            line,
                            column: Some(column.clone()),
                            message: r.message.clone(),
                        }),
                        None => Error::Other(format!(
                            "{}: row {}: {}",
                            show_name(&name),
                            row + 1,
                            r.describe(plan)
                        )),
                    }
                },
            );
            if let Err(e) = folded {
                outcome = Err(e);
                break;
            }
            rows += batch.num_rows() as u64;
            drop(batch);
            // A huge partition gives back each batch's pages as it goes (a
            // bounded resident set); an ordinary one all at once, when its
            // map is dropped, which costs no system call per batch.
            if huge {
                ipc.release(b);
            }
        }
        if check.is_some() {
            for b in hashed..ipc.batches() {
                hash_batch(&mut check, b);
            }
        }
        if let Some((_, hashers)) = &check {
            for (h, &c) in hashers.iter().zip(needed) {
                let found = verify::show(h.digest());
                let recorded = &info.field(c).checksum;
                if &found != recorded {
                    let what = format!(" in {}", self.manifest.field_label(c));
                    return Err(self.corrupted(i, &what, &found, recorded));
                }
            }
        }
        outcome?;
        if rows != info.rows {
            return Err(Error::Other(format!(
                "{}: holds {rows} rows, the manifest says {}; re-create the store with `rayproc split`",
                show_name(&name),
                info.rows
            )));
        }
        fold.advance(info.bytes);
        Ok(())
    }

    /// The partition file's schema must be the manifest's: its columns,
    /// then the codes of each coded one, then the integers of each float
    /// one that has them, then the texts of each number one that has them.
    fn check_schema(&self, ipc: &IpcFile, name: &str) -> Result<()> {
        let fields = ipc.schema.fields();
        let columns = &self.manifest.columns;
        let coded = self.manifest.coded_columns();
        let integers = self.manifest.integer_columns();
        let texts = self.manifest.text_columns();
        let same = fields.len() == self.manifest.fields()
            && fields
                .iter()
                .zip(columns)
                .all(|(f, c)| f.name() == &c.name && f.data_type().to_string() == c.arrow_type)
            && fields[columns.len()..].iter().zip(&coded).all(|(f, &c)| {
                f.name() == &super::dictionary::codes_field(&columns[c].name)
                    && *f.data_type() == DataType::UInt32
            })
            && (fields[columns.len() + coded.len()..].iter().zip(&integers)).all(|(f, &c)| {
                f.name() == &super::write::integers_field(&columns[c].name)
                    && columns[c].integers.as_deref() == Some(&f.data_type().to_string()[..])
            })
            && (fields[columns.len() + coded.len() + integers.len()..]
                .iter()
                .zip(&texts))
            .all(|(f, &c)| {
                f.name() == &super::write::texts_field(&columns[c].name)
                    && columns[c].texts.as_deref() == Some(&f.data_type().to_string()[..])
            });
        if !same {
            return Err(Error::Other(format!(
                "{}: the partition's schema differs from the manifest's; \
                 re-create the store with `rayproc split`",
                show_name(name)
            )));
        }
        Ok(())
    }
}

/// The arrays of `batch` (of partition file `name`) that `plan`'s slots
/// read, as [`fold_arrays`] takes them: each slot's rows, the codes of the
/// coded columns it reads as codes, and how `--where` types the rows kept.
fn slot_arrays(
    read: &ColumnsRead,
    plan: &Plan,
    batch: &arrow_array::RecordBatch,
    name: &str,
) -> Result<SlotArrays> {
    let arrays = (read.rows.iter().zip(&plan.slot_names))
        .map(|(at, column)| match at {
            RowsAt::Column(p) => Ok(batch.column(*p).clone()),
            RowsAt::Codes(p, values) => dictionary_rows(column, batch.column(*p), values)
                .map_err(|why| Error::Other(format!("{}: {why}", show_name(name)))),
        })
        .collect::<Result<Vec<_>>>()?;
    let codes: Vec<_> = (read.codes.iter())
        .map(|c| {
            c.as_ref()
                .map(|(p, dict)| (batch.column(*p).clone(), Arc::clone(dict)))
        })
        .collect();
    let spelled: Vec<_> = (read.spelled.iter())
        .map(|s| {
            s.map(|s| match s {
                SpelledAt::Text => Spelled::Text,
                SpelledAt::Number { ints, texts } => Spelled::Number {
                    ints: ints.map(|p| batch.column(p).clone()),
                    texts: texts.map(|p| batch.column(p).clone()),
                },
                SpelledAt::NoIntegers => {
                    let none = vec![false; batch.num_rows()];
                    Spelled::Number {
                        ints: Some(Arc::new(arrow_array::BooleanArray::from(none))),
                        texts: None,
                    }
                }
            })
        })
        .collect();
    Ok(SlotArrays {
        arrays,
        codes,
        spelled,
    })
}

/// A coded column's rows as an Arrow dictionary array: `codes` (a `UInt32`
/// array, null where the column is) into `values`, the run's dictionary
/// of column `name`. A code past the end of the dictionary is an error
/// naming its row, never a value read out of bounds.
fn dictionary_rows(
    name: &str,
    codes: &ArrayRef,
    values: &ArrayRef,
) -> std::result::Result<ArrayRef, String> {
    use arrow_array::{cast::AsArray, Array};
    let shown = show_name(name);
    let keys = (codes.as_primitive_opt::<arrow_array::types::UInt32Type>()).ok_or_else(|| {
        format!(
            "column '{shown}': codes must be UInt32, found {}",
            codes.data_type()
        )
    })?;
    let past = (keys.values().iter().enumerate())
        .find(|&(row, &code)| code as usize >= values.len() && keys.is_valid(row));
    if let Some((row, code)) = past {
        return Err(format!(
            "column '{shown}': row {}: code {code} is past the end of its dictionary of {} values",
            row + 1,
            values.len()
        ));
    }
    let rows = arrow_array::DictionaryArray::try_new(keys.clone(), Arc::clone(values))
        .map_err(|e| format!("column '{shown}': {e}"))?;
    Ok(Arc::new(rows))
}
