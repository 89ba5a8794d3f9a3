//! Reading a store: map each partition file, check it, and view its Arrow
//! buffers in place as batches.
//!
//! Each partition is checked before any of its rows is used: the file must
//! exist, have the size the manifest records, hash to the recorded checksum
//! (unless verification is turned off), and carry the manifest's schema. A
//! damaged store therefore fails with an error naming the file, never with
//! a wrong answer. Pages are released as soon as they have been read (the
//! checksum pass releases each chunk it hashed, the decode releases each
//! record batch it folded), and a partition's map is dropped when it is
//! done, so the resident set stays bounded by the page cache, not the store.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::manifest::{source_change, Manifest};
use crate::error::{DataError, Error, Result};
use crate::exec::{self, Fold, PartitionOptions};
use crate::partial::Table;
use crate::plan::{Plan, UNUSED};
use crate::source::arrow::fold_arrays;
use crate::source::ipc::{release_range, IpcFile};

/// Bytes hashed between two releases of the pages just hashed.
const HASH_CHUNK: usize = 8 << 20;
/// Partitions up to this size stay resident between checksum and decode.
const KEEP_MAPPED: usize = 64 << 20;

/// An opened store: its directory and manifest.
pub struct Store {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// How to run a plan over a store.
#[derive(Clone, Debug)]
pub struct StoreRunOptions {
    pub threads: usize,
    pub progress: bool,
    /// Check every partition file's checksum before using it.
    pub verify: bool,
}

/// A source that changed since the split, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub path: String,
    pub why: String,
}

impl Store {
    /// Reads and checks the manifest of the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        Ok(Store {
            dir: dir.to_path_buf(),
            manifest: Manifest::read(dir)?,
        })
    }

    /// Column names, in schema order.
    pub fn header(&self) -> Vec<String> {
        self.manifest
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// Sources whose size, modification time or fingerprint changed since
    /// the split (standard input cannot be checked and never shows here).
    pub fn changed_sources(&self) -> Vec<Change> {
        self.manifest
            .sources
            .iter()
            .filter_map(|s| {
                source_change(s).map(|why| Change {
                    path: s.path.clone(),
                    why,
                })
            })
            .collect()
    }

    fn partition_path(&self, i: usize) -> PathBuf {
        self.dir.join(&self.manifest.partitions[i].file)
    }

    /// Maps partition `i` after checking that it exists and has its size.
    fn map_partition(&self, i: usize) -> Result<Arc<Mmap>> {
        let info = &self.manifest.partitions[i];
        let path = self.partition_path(i);
        let file = File::open(&path).map_err(|e| {
            Error::Other(format!(
                "{}: cannot open partition file ({e}); the store is damaged, \
                 re-create it with `rayproc split`",
                path.display()
            ))
        })?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len != info.bytes {
            return Err(Error::Other(format!(
                "{}: partition file is {len} bytes, the manifest says {} (truncated or replaced); \
                 re-create the store with `rayproc split`",
                path.display(),
                info.bytes
            )));
        }
        // SAFETY: read-only map of a file the store never rewrites in place.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Arc::new(map))
    }

    /// Hashes a mapped partition and compares with the manifest.
    fn check_checksum(&self, i: usize, map: &Mmap) -> Result<()> {
        let info = &self.manifest.partitions[i];
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        // A partition of ordinary size stays mapped in until decoded (its
        // record batches are released one by one after folding); a huge
        // one is released chunk by chunk, to keep the resident set bounded
        // at the price of faulting its pages in twice.
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
        let found = format!("xxh3:{:016x}", hasher.digest());
        if found != info.checksum {
            return Err(Error::Other(format!(
                "{}: checksum mismatch ({found}, the manifest says {}): the partition file is \
                 corrupted; re-create the store with `rayproc split`",
                self.partition_path(i).display(),
                info.checksum
            )));
        }
        Ok(())
    }

    /// Checks every partition file's size and checksum (`inspect --verify`).
    /// Returns one line per partition: `None` if fine, else the error.
    pub fn verify_all(&self) -> Vec<Option<String>> {
        use rayon::prelude::*;
        (0..self.manifest.partitions.len())
            .into_par_iter()
            .map(|i| {
                self.map_partition(i)
                    .and_then(|m| self.check_checksum(i, &m))
                    .err()
                    .map(|e| e.to_string())
            })
            .collect()
    }

    /// Runs `plan` (resolved against [`Store::header`]) over the store.
    pub fn run(&self, plan: &Plan, opts: &StoreRunOptions) -> Result<Table> {
        let needed: Vec<usize> = (0..plan.slot_of.len())
            .filter(|&c| plan.slot_of[c] != UNUSED)
            .collect();
        let mut positions = vec![0; plan.slots()];
        for (pos, &c) in needed.iter().enumerate() {
            positions[plan.slot_of[c] as usize] = pos;
        }
        let popts = PartitionOptions {
            threads: opts.threads,
            progress: opts.progress,
            total_bytes: self.manifest.bytes,
        };
        exec::run_partitions(plan, self.manifest.partitions.len(), &popts, |i, fold| {
            self.read_partition(i, plan, &needed, &positions, opts.verify, fold)
        })
    }

    fn read_partition(
        &self,
        i: usize,
        plan: &Plan,
        needed: &[usize],
        positions: &[usize],
        verify: bool,
        fold: &mut Fold<'_>,
    ) -> Result<()> {
        let info = &self.manifest.partitions[i];
        let path = self.partition_path(i);
        let name = path.display().to_string();
        let map = self.map_partition(i)?;
        let _truncation = crate::signals::register_mapping(map.as_ptr(), map.len(), &path);
        if verify {
            self.check_checksum(i, &map)?;
        }
        let ipc = IpcFile::from_map(map, &name, true, Some(needed.to_vec()), verify)?;
        self.check_schema(&ipc, &name)?;
        let mut rows = 0u64;
        for b in 0..ipc.batches() {
            if fold.cancelled() {
                return Ok(());
            }
            let batch = ipc.batch(b)?;
            let arrays: Vec<_> = positions.iter().map(|&p| batch.column(p).clone()).collect();
            let first = rows;
            fold_arrays(fold, &plan.slot_names, &arrays, batch.num_rows(), |r| {
                let row = first + r.row as u64;
                let column = &plan.slot_names[r.slot];
                let origin = self
                    .manifest
                    .columns
                    .iter()
                    .find(|c| &c.name == column)
                    .and_then(|c| c.first_non_number.as_ref())
                    .filter(|p| p.partition == i && p.row == row);
                match origin {
                    // the same FILE:LINE: error as `run --input` on the source
                    Some(p) => Error::Data(DataError {
                        file: p.file.clone(),
                        line: p.line,
                        column: Some(column.clone()),
                        message: r.message(plan),
                    }),
                    None => Error::Other(format!("{name}: row {}: {}", row + 1, r.describe(plan))),
                }
            })?;
            rows += batch.num_rows() as u64;
            drop(batch);
            ipc.release(b);
        }
        if rows != info.rows {
            return Err(Error::Other(format!(
                "{name}: holds {rows} rows, the manifest says {}; re-create the store with `rayproc split`",
                info.rows
            )));
        }
        fold.advance(info.bytes);
        Ok(())
    }

    /// The partition file's schema must be the manifest's.
    fn check_schema(&self, ipc: &IpcFile, name: &str) -> Result<()> {
        let fields = ipc.schema.fields();
        let same = fields.len() == self.manifest.columns.len()
            && fields
                .iter()
                .zip(&self.manifest.columns)
                .all(|(f, c)| f.name() == &c.name && f.data_type().to_string() == c.arrow_type);
        if !same {
            return Err(Error::Other(format!(
                "{name}: the partition's schema differs from the manifest's; \
                 re-create the store with `rayproc split`"
            )));
        }
        Ok(())
    }
}
