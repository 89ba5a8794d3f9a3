//! The radix-partitioned group-by, for many groups.
//!
//! Why: a worker's hash table of a million groups is far larger than the
//! CPU caches, so folding a row into it costs a cache miss for the key's
//! slot and another for the group's state, on every row, in every worker;
//! and the merge of the workers' tables misses again on every group. This
//! is what DuckDB and Polars avoid by partitioning on the key hash first.
//!
//! How: once a worker's table passes [`RADIX_GROUPS`] groups, its rows are
//! no longer folded but appended, key, hash and the typed values the states
//! read, to one of [`PARTS`] buffers chosen by the top bits of the key's
//! hash: sequential writes, no misses. The reduce then builds each
//! partition's table from every worker's buffer for it, the partitions in
//! parallel. A partition holds 1/[`PARTS`] of the groups, so its table stays
//! in cache while it is built, and the partitions have disjoint keys, so
//! nothing is merged twice.
//!
//! Memory stays bounded: a worker whose buffers pass its share of [`BUDGET`]
//! bytes folds each buffer into that partition's table, shared by all the
//! run's workers ([`SharedParts`]; again one small table at a time), then
//! refills the same buffers. The table a worker built before switching is
//! split by partition at the reduce.
//!
//! A buffered row carries what its states read: numbers as 8-byte words,
//! and the text of a field where a state reads text. That is a text
//! column's values when every state of the column takes text
//! (`AggState::TAKES_TEXT`: `count`, `null_count`, `min`/`max`, `distinct`,
//! `approx_distinct`), and the source's text of numbers when a state reads
//! it (`AggState::READS_RAW`: `min`/`max` and `distinct` on CSV). A batch
//! of text a numeric aggregate reads goes to the direct table instead: the
//! aggregate rejects it, and the error must name the row. Either way every
//! row is folded exactly once, and exact states make the answer independent
//! of which way a row went.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::group_table::GroupTable;
use super::scratch::{copy_short, GroupScratch};
use super::StateVecs;
use crate::agg::{Groups, StateVec};
use crate::batch::Batch;
use crate::keyset::{part_of, shared_hasher as hasher, KeySet, PARTS};
use crate::plan::Plan;
use crate::value::{Column, Data};

/// A worker switches to partitioning when its table passes this many
/// groups: about where the table and states outgrow a core's L2 cache.
pub(super) const RADIX_GROUPS: usize = 1 << 15;
/// Bytes of buffered rows, all workers together, before a worker folds its
/// rows into the shared per-partition tables ([`SharedParts`])... Small
/// enough that the buffers' pages, reused from fold to fold, are not a
/// large share of the run's memory (fresh pages cost the kernel's time:
/// 512 MiB of buffers, once all rows of a 10M-row group-by, added 110 MiB
/// of peak memory and ran no faster). Each fold reads every partition's
/// table again, so a smaller budget trades fresh pages for folds; 80 MiB
/// holds as many rows as 128 MiB did before rows lost their hash and
/// 4-byte lengths (the reference million-group run: peak memory 365 → 310
/// MiB, time the same).
const BUDGET: usize = 80 << 20;
/// ...but at least this many per worker.
const MIN_WORKER_BUDGET: usize = 20 << 20;

/// A worker's share of [`BUDGET`] in the current rayon pool (the map's).
pub(super) fn worker_budget() -> usize {
    (BUDGET / rayon::current_num_threads().max(1)).max(MIN_WORKER_BUDGET)
}

/// The type of a buffered column's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BufferedType {
    Int,
    Float,
    /// Text, carried as the row's text of the column (the word unused).
    Text,
}

/// How a buffered column is stored: its values' type, and whether the
/// column came with the source's text of its values ([`Column::raw`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kind {
    ty: BufferedType,
    raw: bool,
}

impl Kind {
    /// A numeric column with no text: what buffers start with.
    const INT: Kind = Kind {
        ty: BufferedType::Int,
        raw: false,
    };

    /// Whether rows of this kind carry the column's text.
    fn carries_text(self) -> bool {
        self.raw || self.ty == BufferedType::Text
    }
}

/// Buffered rows are written into chunks of this size, one chunk per
/// partition at a time...
const CHUNK: usize = 64 << 10;
/// ...carved from slabs this large: few mappings, each reused from fold to
/// fold.
const SLAB: usize = 16 << 20;
/// Rows decoded at a time when folding buffers: their columns stay in the
/// L1/L2 cache next to the partition's table.
const FOLD_ROWS: usize = 2048;
/// Bytes staged per partition before they go to the slab.
const STAGE: usize = 64;
/// Bytes ahead of the row being decoded that are prefetched.
const DECODE_AHEAD: usize = 512;

/// A zeroed, page-aligned block of memory that rows are streamed into.
///
/// An anonymous mapping, not a heap block: the kernel hands out its pages
/// zeroed on first touch, so nothing writes the slab before the rows do (a
/// 64-byte aligned `alloc_zeroed` is a `memset` of every byte).
///
/// Small pages, never huge ones (key tables get them where they pay,
/// [`crate::alloc::huge_pages_for`]): a slab is written in order, so huge
/// pages spare few TLB misses, and where a VM reports freed
/// memory to its host (virtio-balloon free page reporting, which works on
/// free blocks of 2 MiB and up), a fresh huge page is one the host must
/// fault in again: 0.12 to 2.2 ms per MiB on the VM these figures are from,
/// against a steady 0.36 ms for small pages. Without the advice the
/// reference million-group run took 0.546 s against 0.586 (5 interleaved
/// rounds, 2.5 s apart), 0.548 against 0.570 back to back.
struct Slab {
    map: memmap2::MmapMut,
}

/// What an allocation failure reports for a slab of `len` bytes.
fn page_layout(len: usize) -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(len, 4096).expect("slab layout")
}

impl Slab {
    fn new(len: usize) -> Slab {
        let map = memmap2::MmapMut::map_anon(len)
            .unwrap_or_else(|_| crate::signals::out_of_memory(page_layout(len)));
        Slab { map }
    }

    fn bytes(&self, start: usize, len: usize) -> &[u8] {
        &self.map[start..start + len]
    }

    /// Writes `bytes` at `at`.
    fn write(&mut self, at: usize, bytes: &[u8]) {
        self.map[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes a full stage at `at` (a multiple of 64) with non-temporal
    /// stores: the line goes to memory without first being read into the
    /// cache, which for a write-once buffer halves the memory traffic and
    /// keeps the caches for the tables.
    fn stream(&mut self, at: usize, stage: &Stage) {
        assert!(at.is_multiple_of(64) && at + STAGE <= self.map.len());
        #[cfg(target_arch = "x86_64")]
        // SAFETY: in bounds, 16-byte aligned (the slab is page-aligned, the
        // stage 64-byte aligned, `at` a multiple of 64); SSE2 is part of
        // x86-64.
        unsafe {
            use std::arch::x86_64::{__m128i, _mm_load_si128, _mm_stream_si128};
            let dst = self.map.as_mut_ptr().add(at) as *mut __m128i;
            let src = stage.0.as_ptr() as *const __m128i;
            for i in 0..STAGE / 16 {
                _mm_stream_si128(dst.add(i), _mm_load_si128(src.add(i)));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.write(at, &stage.0[..STAGE]);
    }
}

/// Orders this thread's non-temporal stores before its later stores, so
/// that another thread that takes the buffers over sees every row.
fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    }
}

/// Moves the first [`STAGE`] bytes of a partition's stage to its open
/// chunk in the slab.
#[inline]
fn stream_stage(slabs: &mut [Slab], chunk: &mut Chunk, stage: &Stage) {
    let at = (chunk.start + chunk.flushed) as usize;
    slabs[chunk.slab as usize].stream(at, stage);
    chunk.flushed += STAGE as u32;
}

/// The bytes of a partition not yet in its slab: the end of the current
/// chunk, from a 64-byte boundary. Fewer than [`STAGE`] bytes wait here
/// between rows; the second half takes a row that crosses the boundary.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Stage([u8; 2 * STAGE]);

/// A run of a partition's rows: `used` of `capacity` bytes from `start` (a
/// multiple of 64) in slab `slab`; the first `flushed` are in the slab, the
/// rest (in the partition's open chunk only) in its stage.
#[derive(Clone, Copy, Default)]
struct Chunk {
    slab: u32,
    start: u32,
    used: u32,
    flushed: u32,
    capacity: u32,
}

/// A worker's buffered rows, by partition.
///
/// A row is stored as: each buffered column's value (8 bytes: `i64` or
/// `f64` bits, by the column's [`BufferedType`]; unused for text), a
/// validity bitmap (one bit per column), the key's length ([`put_len`]) and
/// the key, then for each column whose [`Kind`] carries text, the field's
/// length and text. One append-only stream per partition: rows collect in
/// a small stage per partition, which is streamed to the partition's chunk
/// a stage at a time; nothing is ever copied to grow.
///
/// The key's hash is not stored: decoding hashes the key again, which costs
/// less than the 8 bytes a row would carry. Every byte of a row is written
/// to fresh memory once per budget's worth of rows and read back once, and
/// on a VM whose host hands out fresh pages slowly the buffers' first
/// touch was the largest single cost of a million-group run (a reference
/// row of a 12-byte key and one number: 33 bytes with the hash and 4-byte
/// lengths, 22 without).
struct Buffers {
    kinds: Vec<Kind>,
    slabs: Vec<Slab>,
    /// The slab chunks are carved from (`usize::MAX`: none yet)...
    slab: usize,
    /// ...and where its free space starts.
    slab_used: usize,
    /// Per partition: the chunk rows go to (capacity 0: none yet), its
    /// stage and its rows; kept apart from the full chunks, in arrays a row
    /// touches one entry of, so that they stay in the L1 cache.
    open: Vec<Chunk>,
    /// Per partition: its full (or sealed) chunks.
    chunks: Vec<Vec<Chunk>>,
    stages: Vec<Stage>,
    rows: Vec<usize>,
    /// Bytes written since the last fold.
    bytes: usize,
    /// Scratch: a row longer than a stage.
    row: Vec<u8>,
}

/// Rows of one partition, decoded into columns for folding.
#[derive(Default)]
struct Decoded<'a> {
    /// The columns' kinds (rows of differing kinds are folded apart).
    kinds: Vec<Kind>,
    hashes: Vec<u64>,
    keys: Vec<&'a [u8]>,
    /// Per column: values as bits, text (if its kind carries any),
    /// validity, nulls.
    values: Vec<Vec<u64>>,
    texts: Vec<Vec<&'a [u8]>>,
    valid: Vec<Vec<bool>>,
    nulls: Vec<usize>,
}

impl Decoded<'_> {
    fn clear(&mut self) {
        self.hashes.clear();
        self.keys.clear();
        self.values.iter_mut().for_each(Vec::clear);
        self.texts.iter_mut().for_each(Vec::clear);
        self.valid.iter_mut().for_each(Vec::clear);
        self.nulls.iter_mut().for_each(|n| *n = 0);
    }

    /// Folds the rows into `table` (which hashes with [`shared_hasher`](crate::keyset::shared_hasher)), and
    /// forgets them.
    fn fold_into(
        &mut self,
        table: &mut GroupTable,
        state_cols: &[Option<usize>],
        ids: &mut Vec<u32>,
    ) {
        let n = self.hashes.len();
        if n == 0 {
            return;
        }
        ids.clear();
        let keys = &self.keys;
        table
            .groups
            .intern_hashed_batch(n, |i| keys[i], &self.hashes, ids);
        table.resize_states();
        let groups = Groups::PerRow { ids };
        for (state, col) in table.states.iter_mut().zip(state_cols) {
            let column = match *col {
                None => Column::rows(n),
                Some(c) => {
                    let kind = self.kinds[c];
                    let texts = &self.texts[c][..];
                    Column {
                        len: n,
                        data: match kind.ty {
                            BufferedType::Int => Data::Int(bits_as(&self.values[c])),
                            BufferedType::Float => Data::Float(bits_as(&self.values[c])),
                            BufferedType::Text => Data::Text(texts),
                        },
                        valid: (self.nulls[c] > 0).then_some(&self.valid[c][..]),
                        raw: kind.raw.then_some(texts),
                    }
                }
            };
            state
                .update(&column, &groups)
                .expect("buffered values are never rejected");
        }
        self.clear();
    }
}

/// 64-bit values viewed as `i64` or `f64`.
trait FromBits {}
impl FromBits for i64 {}
impl FromBits for f64 {}

fn bits_as<T: FromBits>(bits: &[u64]) -> &[T] {
    const { assert!(std::mem::size_of::<T>() == 8 && std::mem::align_of::<T>() == 8) };
    // SAFETY: `T` is i64 or f64: same size and alignment as u64, and every
    // bit pattern is a valid value.
    unsafe { std::slice::from_raw_parts(bits.as_ptr() as *const T, bits.len()) }
}

impl Buffers {
    fn new(columns: usize) -> Buffers {
        Buffers {
            kinds: vec![Kind::INT; columns],
            slabs: Vec::new(),
            slab: usize::MAX,
            slab_used: 0,
            open: vec![Chunk::default(); PARTS],
            chunks: vec![Vec::new(); PARTS],
            stages: vec![Stage([0; 2 * STAGE]); PARTS],
            rows: vec![0; PARTS],
            bytes: 0,
            row: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Appends a row of `len` bytes to partition `p`; `write` fills them.
    #[inline]
    fn append(&mut self, p: usize, len: usize, write: impl FnOnce(&mut [u8])) {
        if self.open[p].capacity - self.open[p].used < len as u32 {
            self.new_chunk(p, len);
        }
        let chunk = &mut self.open[p];
        let stage = &mut self.stages[p];
        let fill = (chunk.used - chunk.flushed) as usize;
        if len <= STAGE {
            write(&mut stage.0[fill..fill + len]);
            chunk.used += len as u32;
            if fill + len >= STAGE {
                stream_stage(&mut self.slabs, chunk, stage);
                stage.0.copy_within(STAGE.., 0);
            }
        } else {
            // a long key: through a scratch row, a stage at a time
            let mut row = std::mem::take(&mut self.row);
            row.clear();
            row.resize(len, 0);
            write(&mut row);
            let mut src = &row[..];
            while !src.is_empty() {
                let fill = (chunk.used - chunk.flushed) as usize;
                let n = src.len().min(STAGE - fill);
                stage.0[fill..fill + n].copy_from_slice(&src[..n]);
                chunk.used += n as u32;
                src = &src[n..];
                if fill + n == STAGE {
                    stream_stage(&mut self.slabs, chunk, stage);
                }
            }
            self.row = row;
        }
        self.rows[p] += 1;
        self.bytes += len;
    }

    /// Starts a chunk for partition `p` with room for at least `len` bytes.
    #[cold]
    fn new_chunk(&mut self, p: usize, len: usize) {
        self.seal(p);
        let size = len.max(CHUNK).next_multiple_of(64);
        if self
            .slabs
            .get(self.slab)
            .is_none_or(|s| s.map.len() - self.slab_used < size)
        {
            // the next slab: one kept from before the last fold if it is
            // large enough (its pages are mapped already), else a new one
            self.slab = self.slab.wrapping_add(1);
            if self.slabs.len() == self.slab {
                self.slabs.push(Slab::new(size.max(SLAB)));
            } else if self.slabs[self.slab].map.len() < size {
                self.slabs[self.slab] = Slab::new(size.max(SLAB));
            }
            self.slab_used = 0;
        }
        self.open[p] = Chunk {
            slab: self.slab as u32,
            start: self.slab_used as u32,
            used: 0,
            flushed: 0,
            capacity: size as u32,
        };
        self.slab_used += size;
    }

    /// Moves partition `p`'s staged bytes into its slab and closes its open
    /// chunk.
    fn seal(&mut self, p: usize) {
        let chunk = std::mem::take(&mut self.open[p]);
        if chunk.capacity > 0 {
            let staged = (chunk.used - chunk.flushed) as usize;
            let at = (chunk.start + chunk.flushed) as usize;
            self.slabs[chunk.slab as usize].write(at, &self.stages[p].0[..staged]);
            self.chunks[p].push(Chunk {
                flushed: chunk.used,
                ..chunk
            });
        }
    }

    /// Moves every staged byte into the slabs: before rows are read back.
    fn seal_all(&mut self) {
        for p in 0..PARTS {
            self.seal(p);
        }
        store_fence();
    }

    /// Appends partition `p`'s rows to `d`; folds what `d` holds first if
    /// its columns are of other kinds.
    fn decode_into<'a>(
        &'a self,
        p: usize,
        d: &mut Decoded<'a>,
        table: &mut GroupTable,
        state_cols: &[Option<usize>],
        ids: &mut Vec<u32>,
    ) {
        if self.rows[p] == 0 {
            return;
        }
        let cols = self.kinds.len();
        if d.kinds != self.kinds {
            d.fold_into(table, state_cols, ids);
            d.kinds.clone_from(&self.kinds);
            d.values.resize_with(cols, Vec::new);
            d.texts.resize_with(cols, Vec::new);
            d.valid.resize_with(cols, Vec::new);
            d.nulls.resize(cols, 0);
        }
        let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8"));
        let mask_len = cols.div_ceil(8);
        let hasher = hasher();
        for c in &self.chunks[p] {
            debug_assert_eq!(c.used, c.flushed, "decoding sealed buffers");
            let mut chunk = self.slabs[c.slab as usize].bytes(c.start as usize, c.used as usize);
            while !chunk.is_empty() {
                // The rows were streamed past the cache: fetch the bytes a
                // few rows ahead, so that the misses overlap (the hardware
                // prefetcher stops at each 4 KiB page).
                if let Some(ahead) = chunk.get(DECODE_AHEAD) {
                    crate::hint::prefetch(ahead);
                }
                let mask = &chunk[8 * cols..8 * cols + mask_len];
                for c in 0..cols {
                    d.values[c].push(word(chunk, 8 * c));
                    let valid = mask[c / 8] & (1 << (c % 8)) != 0;
                    d.valid[c].push(valid);
                    d.nulls[c] += !valid as usize;
                }
                let (len, at) = get_len(chunk, 8 * cols + mask_len);
                let key = &chunk[at..at + len];
                d.hashes.push(hasher.hash(key));
                d.keys.push(key);
                let mut at = at + len;
                for (c, kind) in self.kinds.iter().enumerate() {
                    if kind.carries_text() {
                        let (len, text_at) = get_len(chunk, at);
                        d.texts[c].push(&chunk[text_at..text_at + len]);
                        at = text_at + len;
                    }
                }
                chunk = &chunk[at..];
                if d.hashes.len() == FOLD_ROWS {
                    d.fold_into(table, state_cols, ids);
                }
            }
        }
    }

    /// Forgets every row, keeping the slabs for reuse: memory written once
    /// already costs no page faults.
    fn clear(&mut self) {
        self.slab = usize::MAX;
        self.slab_used = 0;
        self.chunks.iter_mut().for_each(Vec::clear);
        self.open.iter_mut().for_each(|c| *c = Chunk::default());
        self.rows.iter_mut().for_each(|r| *r = 0);
        self.bytes = 0;
    }
}

/// A buffered length below this takes one byte; a longer one this byte
/// and then four.
const LONG_LEN: u8 = u8::MAX;

/// The bytes [`put_len`] writes for `len`.
#[inline]
fn len_size(len: usize) -> usize {
    if len < LONG_LEN as usize {
        1
    } else {
        5
    }
}

/// Writes `len` (below [`MAX_ROW_TEXT`]) at `at` in `row`; returns where
/// the bytes it counts go.
#[inline]
fn put_len(row: &mut [u8], at: usize, len: usize) -> usize {
    if len < LONG_LEN as usize {
        row[at] = len as u8;
        at + 1
    } else {
        row[at] = LONG_LEN;
        row[at + 1..at + 5].copy_from_slice(&(len as u32).to_le_bytes());
        at + 5
    }
}

/// Reads a length [`put_len`] wrote at `at`: the length, and where the
/// bytes it counts start.
#[inline]
fn get_len(row: &[u8], at: usize) -> (usize, usize) {
    match row[at] {
        LONG_LEN => {
            let len = u32::from_le_bytes(row[at + 1..at + 5].try_into().expect("4"));
            (len as usize, at + 5)
        }
        len => (len as usize, at + 1),
    }
}

/// The most bytes of text a buffered row carries: a batch with a longer
/// row (fields of a gigabyte) is folded directly, so that a row's lengths
/// never overflow their 32 bits.
const MAX_ROW_TEXT: usize = 1 << 30;

/// The text a buffered column's rows carry (its [`Kind`] carries text):
/// the source's text of its values, or its values if they are text.
fn carried_text<'a>(col: &Column<'a>) -> &'a [&'a [u8]] {
    col.text().expect("a kind carries text the column has")
}

/// A worker's rows, buffered by partition.
pub(super) struct Radix {
    /// The batch slots whose values are buffered...
    slots: Vec<usize>,
    /// ...and those of the key.
    key_slots: Vec<usize>,
    /// Whether a state reading raw text reads the slot...
    raw_read: Vec<bool>,
    /// ...and whether every state reading it takes text.
    takes_text: Vec<bool>,
    /// Per planned state, the buffered column it reads (`None`: rows only).
    state_cols: Vec<Option<usize>>,
    buffers: Buffers,
    /// Per partition, the rows folded so far (after the budget ran out),
    /// shared with the run's other workers.
    shared: Arc<SharedParts>,
    /// The partition this worker's folds start at: workers start apart, so
    /// that they rarely wait for each other's partition.
    first_part: usize,
    /// Scratch: each batch row's hash.
    hashes: Vec<u64>,
    /// Bytes buffered before a fold ([`worker_budget`]).
    budget: usize,
}

impl Radix {
    pub(super) fn new(
        plan: &Plan,
        states: &StateVecs,
        budget: usize,
        shared: Arc<SharedParts>,
    ) -> Radix {
        let mut slots: Vec<usize> = Vec::new();
        let mut raw_read: Vec<bool> = Vec::new();
        let mut takes_text: Vec<bool> = Vec::new();
        let mut state_cols = Vec::with_capacity(plan.states.len());
        for (planned, state) in plan.states.iter().zip(states) {
            state_cols.push(planned.slot.map(|slot| {
                let c = slots.iter().position(|&s| s == slot).unwrap_or_else(|| {
                    slots.push(slot);
                    raw_read.push(false);
                    takes_text.push(true);
                    slots.len() - 1
                });
                raw_read[c] |= state.reads_raw();
                takes_text[c] &= state.takes_text();
                c
            }));
        }
        Radix {
            buffers: Buffers::new(slots.len()),
            slots,
            key_slots: plan.keys.clone(),
            raw_read,
            takes_text,
            state_cols,
            first_part: shared
                .next_start
                .fetch_add(PARTS / 4 + 1, Ordering::Relaxed)
                % PARTS,
            shared,
            hashes: Vec::new(),
            budget,
        }
    }

    /// Whether the batch's rows can be buffered: no state would reject a
    /// value (see the module doc), and the key and text the rows would
    /// carry fit a row's 32-bit lengths with room to spare.
    pub(super) fn accepts(&self, batch: &Batch<'_>) -> bool {
        // an encoded key is its fields' text (or 8-byte numbers) and a few
        // bytes of tags and lengths per field
        let mut longest = (self.key_slots.iter())
            .map(|&k| match batch.columns[k].text() {
                Some(text) => 16 + text.iter().map(|t| t.len()).max().unwrap_or(0),
                None => 16,
            })
            .sum::<usize>();
        (0..self.slots.len()).all(|c| {
            let col = &batch.columns[self.slots[c]];
            let typed = match col.data {
                Data::Int(_) | Data::Float(_) => true,
                Data::Text(_) => self.takes_text[c],
                Data::Rows => false,
            };
            if typed && self.kind_of(c, col).carries_text() {
                longest += carried_text(col).iter().map(|t| t.len()).max().unwrap_or(0);
            }
            typed && longest <= MAX_ROW_TEXT
        }) && longest <= MAX_ROW_TEXT
    }

    /// How column `c` of an accepted batch is buffered.
    fn kind_of(&self, c: usize, col: &Column<'_>) -> Kind {
        let ty = match col.data {
            Data::Int(_) => BufferedType::Int,
            Data::Float(_) => BufferedType::Float,
            _ => BufferedType::Text,
        };
        Kind {
            ty,
            // the source's text, where a state reads it (a text column's
            // values are its text either way)
            raw: col.raw.is_some() && (self.raw_read[c] || ty == BufferedType::Text),
        }
    }

    /// Appends the batch's rows (accepted, keys encoded in `scratch`) to
    /// their partitions' buffers.
    pub(super) fn push(&mut self, plan: &Plan, batch: &Batch<'_>, scratch: &GroupScratch) {
        // a column changing type between batches: buffers hold one type
        for c in 0..self.slots.len() {
            let kind = self.kind_of(c, &batch.columns[self.slots[c]]);
            if self.buffers.kinds[c] != kind {
                self.fold_buffers(plan);
                self.buffers.kinds[c] = kind;
            }
        }
        let hasher = hasher();
        self.hashes.clear();
        self.hashes
            .extend((0..batch.len).map(|r| hasher.hash(scratch.key(r))));
        let cols: Vec<_> = self.slots.iter().map(|&s| &batch.columns[s]).collect();
        // the columns whose text the rows carry
        let texts: Vec<&[&[u8]]> = (cols.iter().zip(&self.buffers.kinds))
            .filter(|(_, kind)| kind.carries_text())
            .map(|(col, _)| carried_text(col))
            .collect();
        let mask_at = 8 * cols.len();
        let len_at = mask_at + cols.len().div_ceil(8);
        for (r, &hash) in self.hashes.iter().enumerate() {
            let key = scratch.key(r);
            let len = len_at
                + len_size(key.len())
                + key.len()
                + texts
                    .iter()
                    .map(|t| len_size(t[r].len()) + t[r].len())
                    .sum::<usize>();
            self.buffers.append(part_of(hash), len, |row| {
                // The validity bits are gathered in a register and each
                // mask byte written once: the row lies in one of 256
                // stages, often not in L1, and a read-modify-write of a
                // byte there waited for the line (half of this
                // closure's time), where plain stores do not wait.
                let mut mask = 0u8;
                for (c, col) in cols.iter().enumerate() {
                    let bits = match col.data {
                        Data::Int(v) => v[r] as u64,
                        Data::Float(v) => v[r].to_bits(),
                        _ => 0,
                    };
                    row[8 * c..8 * c + 8].copy_from_slice(&bits.to_le_bytes());
                    mask |= (col.is_valid(r) as u8) << (c % 8);
                    if c % 8 == 7 || c + 1 == cols.len() {
                        row[mask_at + c / 8] = mask;
                        mask = 0;
                    }
                }
                let key_at = put_len(row, len_at, key.len());
                let mut at = key_at + key.len();
                copy_short(&mut row[key_at..at], key);
                for text in &texts {
                    let text = text[r];
                    let text_at = put_len(row, at, text.len());
                    at = text_at + text.len();
                    copy_short(&mut row[text_at..at], text);
                }
            });
        }
        // the rows may be read by another thread (the reduce)
        store_fence();
        if self.buffers.bytes > self.budget {
            self.fold_buffers(plan);
        }
    }

    /// Whether buffers were folded into per-partition tables.
    #[cfg(test)]
    pub(super) fn folded(&self) -> bool {
        self.shared.tables.iter().any(|t| lock(t).is_some())
    }

    /// The partitions holding buffered rows, in the order this worker
    /// folds them.
    pub(super) fn buffered_parts(&self) -> Vec<usize> {
        (self.first_part..self.first_part + PARTS)
            .map(|p| p % PARTS)
            .filter(|&p| self.buffers.rows[p] > 0)
            .collect()
    }

    /// Folds every buffer into its partition's table, emptying the buffers.
    ///
    /// A partition another worker is folding is passed over and taken up
    /// after the others, not waited for. Waiting made convoys: the workers
    /// fill their buffers at one rate and fold at about the same time, and
    /// the second worker to fold a partition is the faster one (its table
    /// has grown, its keys are there), so once it caught up with the first
    /// it waited for the lock of every partition after that one in turn
    /// (the reference million-group run: one worker asleep for 50 and then
    /// 26 ms in its two folds, 30 to 116 lock waits a run; none now, and
    /// 0.586 → 0.574 s over 15 interleaved pairs).
    pub(super) fn fold_buffers(&mut self, plan: &Plan) {
        if self.buffers.is_empty() {
            return;
        }
        self.buffers.seal_all();
        let (mut d, mut ids) = (Decoded::default(), Vec::new());
        let mut pending = self.buffered_parts();
        let mut busy = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            for &p in &pending {
                match try_lock(&self.shared.tables[p]) {
                    Some(mut table) => self.fold_part(plan, p, &mut table, &mut d, &mut ids),
                    None => busy.push(p),
                }
            }
            if busy.len() == pending.len() {
                // every one left is being folded by another worker: wait
                // for the first (the others hold one partition each)
                let p = busy.remove(0);
                let mut table = lock(&self.shared.tables[p]);
                self.fold_part(plan, p, &mut table, &mut d, &mut ids);
            }
            std::mem::swap(&mut pending, &mut busy);
            busy.clear();
        }
        self.buffers.clear();
    }

    /// Folds partition `p`'s buffered rows into its shared table (locked).
    fn fold_part<'a>(
        &'a self,
        plan: &Plan,
        p: usize,
        table: &mut Option<GroupTable>,
        d: &mut Decoded<'a>,
        ids: &mut Vec<u32>,
    ) {
        let table = table.get_or_insert_with(|| new_table(plan));
        self.buffers.decode_into(p, d, table, &self.state_cols, ids);
        d.fold_into(table, &self.state_cols, ids);
    }
}

/// The per-partition tables that the workers of a run fold their full
/// buffers into, together.
///
/// Why shared: a worker over its budget could fold into tables of its own,
/// but then every worker builds (and pays fresh memory for) a table of
/// nearly every group, and the reduce merges them all again. Shared, each
/// group is built once, and the buffers, whose pages are reused from fold
/// to fold, stay as small as the budget. A worker holds one partition's lock
/// while it folds that partition's rows (1/[`PARTS`] of its buffers); the
/// workers start at different partitions, and one that finds a partition
/// locked folds the others first ([`Radix::fold_buffers`]), so they seldom
/// wait.
pub struct SharedParts {
    tables: Vec<Mutex<Option<GroupTable>>>,
    /// Spreads the workers' starting partitions.
    next_start: AtomicUsize,
    /// Whether the run's lone `distinct` is grouped by its column, decided
    /// by the first batch any worker folds (see `Partial::for_run`), so
    /// that every worker of the run folds the same way.
    pub(super) lone_distinct_grouped: std::sync::OnceLock<bool>,
}

impl SharedParts {
    pub fn new() -> Arc<SharedParts> {
        Arc::new(SharedParts {
            tables: (0..PARTS).map(|_| Mutex::new(None)).collect(),
            next_start: AtomicUsize::new(0),
            lone_distinct_grouped: std::sync::OnceLock::new(),
        })
    }

    /// Partition `p`'s table, locked.
    #[cfg(test)]
    pub(super) fn table(&self, p: usize) -> std::sync::MutexGuard<'_, Option<GroupTable>> {
        lock(&self.tables[p])
    }
}

/// Locks a partition's table; a worker that panicked while folding leaves
/// the run failing anyway, so poisoning is ignored.
fn lock(table: &Mutex<Option<GroupTable>>) -> std::sync::MutexGuard<'_, Option<GroupTable>> {
    table.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks a partition's table if no other worker holds it (poisoning
/// ignored, as in [`lock`]).
fn try_lock(
    table: &Mutex<Option<GroupTable>>,
) -> Option<std::sync::MutexGuard<'_, Option<GroupTable>>> {
    match table.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

fn new_table(plan: &Plan) -> GroupTable {
    table_with_room(plan, 0, 0)
}

/// A partition's table with room for `keys` keys of `bytes` bytes in all.
fn table_with_room(plan: &Plan, keys: usize, bytes: usize) -> GroupTable {
    GroupTable::with_keys(
        plan,
        KeySet::with_capacity_and_hasher(keys, bytes, hasher()),
    )
}

/// The reduce with partitioned workers: the workers' direct tables
/// (`direct`) are split by partition, then each partition's table is built
/// from its pieces, its shared tables and every worker's buffer for it, the
/// partitions in parallel. Returns one table per partition; their keys are disjoint.
pub(super) fn reduce(plan: &Plan, radixes: Vec<Radix>, direct: Vec<GroupTable>) -> Vec<GroupTable> {
    let state_cols = radixes[0].state_cols.clone();
    let mut pieces: Vec<Vec<GroupTable>> = (0..PARTS).map(|_| Vec::new()).collect();
    let split: Vec<Vec<GroupTable>> = direct
        .into_par_iter()
        .filter(|t| !t.groups.is_empty())
        .map(|t| split(plan, t))
        .collect();
    for parts in split {
        for (p, table) in parts.into_iter().enumerate() {
            pieces[p].push(table);
        }
    }
    crate::phases::mark("merge.split");
    let mut buffers = Vec::with_capacity(radixes.len());
    let mut shared: Vec<Arc<SharedParts>> = Vec::new();
    for radix in radixes {
        if !shared.iter().any(|s| Arc::ptr_eq(s, &radix.shared)) {
            for (p, table) in radix.shared.tables.iter().enumerate() {
                pieces[p].extend(lock(table).take());
            }
            shared.push(radix.shared);
        }
        let mut b = radix.buffers;
        b.seal_all();
        buffers.push(b);
    }
    let tables = pieces
        .into_par_iter()
        .enumerate()
        .map_init(
            || (Decoded::default(), Vec::new()),
            |(d, ids), (p, pieces)| {
                let mut table = new_table(plan);
                for t in pieces {
                    table.absorb(t);
                }
                for b in &buffers {
                    b.decode_into(p, d, &mut table, &state_cols, ids);
                }
                d.fold_into(&mut table, &state_cols, ids);
                table
            },
        )
        .collect();
    crate::phases::mark("merge.fold");
    // past 4 workers each holds its floor, and the buffers together more
    // than the budget
    if buffers.len() * MIN_WORKER_BUDGET > BUDGET {
        unmap_aside(buffers);
    }
    tables
}

/// Drops the workers' buffers on a thread of their own: unmapping their
/// slabs is the kernel freeing each page, work the result's sort, build
/// and output need not wait for. Only where the workers' floors
/// ([`MIN_WORKER_BUDGET`]) exceed [`BUDGET`], which is where it was
/// measured to pay: on 16 cores (model 207), CSV Q6
/// at 4, 8 and 16 threads 4-5% less wall time (unmapping 320 MiB inline
/// took 10-21 ms), Q4 at 16 threads 9%; at 2 threads, where the slabs are
/// 80 MiB and unmapping them took 3-5 ms, it measured 7% slower there
/// (twice, not here), so the run drops them itself. Where no thread can
/// be started, here too.
fn unmap_aside(buffers: Vec<Buffers>) {
    // a failed spawn drops the closure, and the buffers with it, here
    let _ = (std::thread::Builder::new().name("rayproc-unmap".into())).spawn(move || drop(buffers));
}

/// Splits a table into one per partition, by the keys' [`shared_hasher`](crate::keyset::shared_hasher) hashes.
fn split(plan: &Plan, table: GroupTable) -> Vec<GroupTable> {
    // the keys spread evenly over the partitions (by hash): room for a
    // little more than a share each, so that few of the tables double
    let share = table.groups.len() / PARTS;
    let keys = share + share / 4 + 8;
    let bytes = (table.groups.bytes() / PARTS) * 5 / 4 + 64;
    let mut parts: Vec<GroupTable> = (0..PARTS)
        .map(|_| table_with_room(plan, keys, bytes))
        .collect();
    let hasher = hasher();
    let dest: Vec<(u32, u32)> = table
        .groups
        .iter()
        .map(|key| {
            let hash = hasher.hash(key);
            let p = part_of(hash);
            (p as u32, parts[p].groups.intern_hashed(key, hash))
        })
        .collect();
    for (i, states) in table.states.into_iter().enumerate() {
        let mut to: Vec<&mut Box<dyn StateVec>> =
            parts.iter_mut().map(|t| &mut t.states[i]).collect();
        states.scatter(&mut to, &dest);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_back_as_written() {
        let mut row = vec![0u8; 16];
        for len in [0, 1, 254, 255, 256, 65_536, MAX_ROW_TEXT] {
            row.fill(0xAA);
            let end = put_len(&mut row, 3, len);
            assert_eq!(end, 3 + len_size(len), "{len}");
            assert_eq!(get_len(&row, 3), (len, end), "{len}");
            assert!(
                row[end..].iter().all(|&b| b == 0xAA),
                "{len}: wrote past its size"
            );
        }
    }

    #[test]
    fn short_copies_copy_every_length() {
        let src: Vec<u8> = (1..=80).collect();
        for n in 0..=80 {
            let mut dst = vec![0u8; n];
            copy_short(&mut dst, &src[..n]);
            assert_eq!(dst, &src[..n], "{n} bytes");
        }
    }
}
