//! The batch fast path of the CSV scanner: index a window, then cut records.
//!
//! The per-record [`FastScanner`](super::fastscan::FastScanner) decides at
//! every separator whether a block is used up, whether the field is wanted,
//! whether the record ended: branches whose outcome depends on the data (a
//! record ends in this block or the next one at random), so they mispredict
//! about once per record. This path splits the work in two stages, as
//! simdjson does:
//!
//! 1. *index*: classify a window of blocks (same checks as the fast
//!    scanner, `QuoteState::scan`) and write the offset of every separator
//!    outside quotes into a flat array;
//! 2. *cut*: when every record of the window has exactly `ncols` fields,
//!    record `r`'s separators are entries `r * ncols .. (r + 1) * ncols` of
//!    that array, so a wanted field is two array reads, with no search.
//!
//! The window is regular when the number of newlines equals the number of
//! `ncols`-groups and every group ends with a newline (then no group holds
//! another one). Anything else (a blank line, a short record,
//! quoting the block check rejects, a record longer than the window) makes
//! [`IndexScanner::window`] answer [`Window::Irregular`], and the caller
//! scans those records with the per-record scanners, which define the
//! semantics and the errors. The records and fields this path yields are
//! therefore exactly the fast scanner's.

#[cfg(target_arch = "aarch64")]
use super::fastscan::classify_neon;
use super::fastscan::{
    classifier, classify_portable, field_span, split_portable, Classified, Classifier, Classify,
    Masks, QuoteState,
};
#[cfg(target_arch = "x86_64")]
use super::fastscan::{classify_avx2_inline, classify_avx512_inline, classify_sse2, split_sse2};
use super::scan::Span;
use crate::cpu::{self, Features};

/// Bytes indexed per window: small enough for the window and its index to
/// stay in the L2 cache while records are cut from it.
const WINDOW: usize = 32 * 1024;

/// Bytes ahead of the block being classified that are asked into the cache.
/// The hardware prefetcher follows a stream only within a 4 KiB page, and
/// the pages of a mapped file lie anywhere in memory, so each page's first
/// lines were cache misses: most of the index loop's time was its loads.
/// Prefetching 2 KiB ahead took Q1 0.243 -> 0.235 s (1, 1.5, 3 and 4 KiB
/// measured within a percent of it, 4 KiB a little worse).
const PREFETCH_AHEAD: usize = 2048;

/// Room for the index: at most one separator per byte, plus the slack the
/// unconditional stores of [`IndexScanner::index_block`] write past the end.
const INDEX_LEN: usize = WINDOW + 64 + 64;

/// What [`IndexScanner::window`] found at a record start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Records from the given start up to `next` are cut and ready
    /// ([`IndexScanner::records`]).
    Records { next: usize },
    /// The records from the given start up to `until` need the per-record
    /// scanners (`until` is the input's end when no boundary is known).
    Irregular { until: usize },
    /// No record starts before the range's end.
    End,
}

/// How a window's blocks are classified and indexed: each path is the one
/// loop [`IndexScanner::index_blocks`], with its classifier known at compile
/// time rather than through the function pointer (inlined on the x86-64
/// paths; the portable one the compiler keeps out of line) and, where it
/// says so, compiled for wider instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexPath {
    /// AVX-512 BW classifier, byte compress (VBMI2), the loop compiled for
    /// them (and BMI1, LZCNT): [`Features::avx512_vbmi2`].
    Avx512Compress,
    /// AVX2 classifier, the loop compiled for AVX2, BMI1, BMI2 and LZCNT
    /// (`tzcnt`, `blsr`, `lzcnt` in the bit walks): [`Features::avx2_bmi`].
    Avx2,
    /// SSE2 classifier, baseline loop.
    Sse2,
    /// NEON classifier (aarch64), baseline loop.
    Neon,
    /// The portable classifier, baseline loop: what other
    /// architectures run.
    Portable,
    /// Whatever classifier [`classifier`] hands out, through its pointer
    /// (an AVX-512 machine without VBMI2; an AVX2 one without BMI).
    Pointer,
}

impl IndexPath {
    /// The fastest path `features` allow.
    fn of(features: Features) -> IndexPath {
        if features.avx512_vbmi2() {
            return IndexPath::Avx512Compress;
        }
        match Classifier::of(features) {
            Classifier::Avx2 if features.avx2_bmi() => IndexPath::Avx2,
            Classifier::Sse2 => IndexPath::Sse2,
            Classifier::Neon => IndexPath::Neon,
            Classifier::Portable => IndexPath::Portable,
            _ => IndexPath::Pointer,
        }
    }
}

/// Indexes windows of `buf`; reuse it for a whole range.
pub struct IndexScanner<'a> {
    buf: &'a [u8],
    delim: u8,
    ncols: usize,
    classify: Classify,
    /// How blocks are indexed: set from [`Features`], so that a path that
    /// needs instructions is only set when the processor has them.
    path: IndexPath,
    index: Box<[u32]>,
    /// Where the indexed window starts.
    base: usize,
    /// Index entries that belong to complete records.
    complete: usize,
}

impl<'a> IndexScanner<'a> {
    pub fn new(buf: &'a [u8], delim: u8, ncols: usize) -> Self {
        Self::with_features(buf, delim, ncols, cpu::features())
    }

    /// [`new`](Self::new) on the index of an earlier scanner
    /// ([`into_index`](Self::into_index)), if any: a new one zeroes 130 KiB,
    /// and a range per small file of a dataset paid that 10,000 times (its
    /// contents do not matter: every entry is written before it is read, as
    /// across the windows of one range).
    pub fn reusing(buf: &'a [u8], delim: u8, ncols: usize, index: Option<Box<[u32]>>) -> Self {
        Self::with_index(buf, delim, ncols, cpu::features(), index)
    }

    /// The index storage, for [`reusing`](Self::reusing).
    pub fn into_index(self) -> Box<[u32]> {
        self.index
    }

    /// [`new`](Self::new), with the paths `features` allow rather than this
    /// process's ([`cpu::features`]): to compare the paths.
    pub fn with_features(buf: &'a [u8], delim: u8, ncols: usize, features: Features) -> Self {
        Self::with_index(buf, delim, ncols, features, None)
    }

    fn with_index(
        buf: &'a [u8],
        delim: u8,
        ncols: usize,
        features: Features,
        index: Option<Box<[u32]>>,
    ) -> Self {
        IndexScanner {
            buf,
            delim,
            ncols,
            classify: classifier(features),
            path: IndexPath::of(features),
            index: (index.filter(|i| i.len() == INDEX_LEN))
                .unwrap_or_else(|| vec![0; INDEX_LEN].into_boxed_slice()),
            base: 0,
            complete: 0,
        }
    }

    /// Indexes the window that starts at the record start `start`.
    pub fn window(&mut self, start: usize, end: usize) -> Window {
        if start >= end {
            return Window::End;
        }
        let buf = self.buf;
        let stop = (start + WINDOW).min(buf.len());
        let indexed = match self.path {
            #[cfg(target_arch = "x86_64")]
            IndexPath::Avx512Compress => {
                // SAFETY: `path` is only `Avx512Compress` when the processor
                // has AVX-512 BW and VBMI2, BMI1 and LZCNT (`avx512_vbmi2`),
                // what `index_blocks_avx512` enables besides the baseline's
                // POPCNT.
                unsafe { self.index_blocks_avx512(start, stop) }
            }
            #[cfg(target_arch = "x86_64")]
            IndexPath::Avx2 => {
                // SAFETY: `path` is only `Avx2` when the processor has AVX2,
                // BMI1, BMI2 and LZCNT (`avx2_bmi`), what
                // `index_blocks_avx2` enables besides the baseline's POPCNT.
                unsafe { self.index_blocks_avx2(start, stop) }
            }
            #[cfg(target_arch = "x86_64")]
            IndexPath::Sse2 => self.index_blocks_split(start, stop, split_sse2, classify_sse2),
            #[cfg(target_arch = "aarch64")]
            IndexPath::Neon => self.index_blocks::<false>(start, stop, classify_neon),
            IndexPath::Portable => {
                self.index_blocks_split(start, stop, split_portable, classify_portable)
            }
            _ => self.index_blocks::<false>(start, stop, self.classify),
        };
        let Some((newlines, len)) = indexed else {
            return Window::Irregular { until: buf.len() };
        };
        // A window is regular when its newlines are exactly every `ncols`-th
        // separator: then the first `newlines * ncols` entries are whole
        // records. Checking that the entries there are newlines is enough:
        // they are `newlines` distinct newlines outside quotes, so they are
        // all of them, and between two of them lie `ncols - 1` delimiters.
        let complete = newlines * self.ncols;
        let regular = newlines > 0
            && complete <= len
            && self.newline_at_every_record_end(start, complete)
            && (self.ncols > 1 || !self.has_blank_line(start, complete));
        if !regular {
            return match self.last_newline(start, len) {
                // the records up to the window's last newline
                Some(until) => Window::Irregular { until },
                // a record longer than the window, or the input's
                // unterminated end
                None => Window::Irregular { until: buf.len() },
            };
        }
        let until = start + self.index[complete - 1] as usize + 1;
        self.base = start;
        self.complete = complete;
        Window::Records { next: until }
    }

    /// Whether entries `ncols - 1, 2 * ncols - 1, ..` below `complete` of
    /// the window at `start` are newlines.
    fn newline_at_every_record_end(&self, start: usize, complete: usize) -> bool {
        let (window, ncols) = (&self.buf[start..], self.ncols);
        // (an index loop: `skip` and `step_by` over the entries compiled to
        // a call, 2% of Q1)
        let mut e = ncols - 1;
        while e < complete {
            if window[self.index[e] as usize] != b'\n' {
                return false;
            }
            e += ncols;
        }
        true
    }

    /// Just past the last newline among the `len` entries of the window at
    /// `start`, if any (an entry is a separator outside quotes, so a
    /// newline there ends a record; the delimiter is never a newline).
    fn last_newline(&self, start: usize, len: usize) -> Option<usize> {
        let window = &self.buf[start..];
        (self.index[..len].iter().rev())
            .map(|&e| e as usize)
            .find(|&e| window[e] == b'\n')
            .map(|e| start + e + 1)
    }

    /// Classifies and indexes the blocks of `start..stop`: the number of
    /// newlines outside quotes and of index entries, or `None` when a
    /// block's quoting needs the per-record scanners. Where the newlines
    /// lie is left to [`window`](Self::window), which finds them through
    /// the index: located per block here, they were a branch that went
    /// either way at random (a record spans about two blocks) and a
    /// `lzcnt`, mask and `popcnt` on every block with one.
    /// `COMPRESS`: index with [`index_block_compress`] (AVX-512 VBMI2).
    #[inline(always)]
    fn index_blocks<const COMPRESS: bool>(
        &mut self,
        start: usize,
        stop: usize,
        classify: impl Fn(&[u8; 64], u8) -> Masks,
    ) -> Option<(usize, usize)> {
        let mut quotes = QuoteState::AT_RECORD_START;
        let mut len = 0usize;
        let mut newlines = 0usize;
        let mut b = start;
        while b < stop {
            if let Some(ahead) = self.buf.get(b + PREFETCH_AHEAD) {
                crate::hint::prefetch(ahead);
            }
            let block = quotes.scan(self.buf, b, self.delim, &classify)?;
            newlines += block.newlines.count_ones() as usize;
            len = self.index_block::<COMPRESS>(len, b - start, block.seps);
            b += 64;
        }
        Some((newlines, len))
    }

    /// [`index_blocks`](Self::index_blocks) compiled for AVX-512, with the
    /// classifier and the byte compress inlined into the loop: through the
    /// baseline's function pointer each block cost two calls.
    ///
    /// # Safety
    /// The processor must have AVX-512 BW and VBMI2, POPCNT (the baseline),
    /// LZCNT and BMI1 ([`Features::avx512_vbmi2`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512bw,avx512vbmi2,popcnt,lzcnt,bmi1")]
    unsafe fn index_blocks_avx512(&mut self, start: usize, stop: usize) -> Option<(usize, usize)> {
        self.index_blocks::<true>(start, stop, |block, delim| {
            // SAFETY: this function runs only with AVX-512 BW.
            unsafe { classify_avx512_inline(block, delim) }
        })
    }

    /// [`index_blocks`](Self::index_blocks) compiled for AVX2 (and BMI1,
    /// BMI2, LZCNT), with the AVX2 classifier inlined into the loop.
    ///
    /// # Safety
    /// The processor must have AVX2, BMI1, BMI2, LZCNT and POPCNT (the
    /// baseline) ([`Features::avx2_bmi`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt,lzcnt,bmi1,bmi2")]
    unsafe fn index_blocks_avx2(&mut self, start: usize, stop: usize) -> Option<(usize, usize)> {
        self.index_blocks::<false>(start, stop, |block, delim| {
            // SAFETY: this function runs only with AVX2.
            unsafe { classify_avx2_inline(block, delim) }
        })
    }

    /// [`index_blocks`](Self::index_blocks) for the paths whose
    /// classifiers pay for each mask they pack (SSE2, portable): the index
    /// loop needs a block's separators and how many of them are newlines,
    /// not where, so a full block with no quote or CR outside quotes (most
    /// blocks) is taken from `split` in that form ([`split_sse2`]: 5
    /// movemasks a block instead of 9; one transpose instead of two in
    /// plain Rust), and any other block from its masks and the quoting
    /// checks ([`QuoteState::split_scan`]).
    ///
    /// The loop is written out again rather than shared with
    /// `index_blocks` through a per-block closure: shared, the AVX2 and
    /// portable loops ran 1.6% more instructions (callgrind, `--agg
    /// count`, a million rows: 265.0M → 269.2M at avx2, 390.9M → 397.4M at
    /// `none`).
    fn index_blocks_split(
        &mut self,
        start: usize,
        stop: usize,
        split: impl Fn(&[u8; 64], u8) -> Classified,
        classify: impl Fn(&[u8; 64], u8) -> Masks,
    ) -> Option<(usize, usize)> {
        let mut quotes = QuoteState::AT_RECORD_START;
        let mut len = 0usize;
        let mut newlines = 0usize;
        let mut b = start;
        while b < stop {
            if let Some(ahead) = self.buf.get(b + PREFETCH_AHEAD) {
                crate::hint::prefetch(ahead);
            }
            let (seps, count) = if self.buf.len() - b >= 64 {
                quotes.split_scan(self.buf, b, self.delim, &split, &classify)?
            } else {
                let block = quotes.scan(self.buf, b, self.delim, &classify)?;
                (block.seps, block.newlines.count_ones())
            };
            newlines += count as usize;
            len = self.index_block::<false>(len, b - start, seps);
            b += 64;
        }
        Some((newlines, len))
    }

    /// With one column every separator is a newline, so a blank line (which
    /// is skipped, not a record) looks like a record: look for one.
    fn has_blank_line(&self, start: usize, complete: usize) -> bool {
        let mut record = start;
        for &e in &self.index[..complete] {
            let sep = start + e as usize;
            if sep == record || (sep == record + 1 && self.buf[record] == b'\r') {
                return true;
            }
            record = sep + 1;
        }
        false
    }

    /// Appends the separators of one block at window offset `at`; returns
    /// the new index length. Writes eight entries at a time whatever the
    /// count, so that the loop's branches follow the separator density
    /// (steady) rather than each separator (random).
    /// `COMPRESS` (only in [`index_blocks_avx512`](Self::index_blocks_avx512)):
    /// with one byte compress.
    #[inline(always)]
    fn index_block<const COMPRESS: bool>(&mut self, len: usize, at: usize, seps: u64) -> usize {
        let count = seps.count_ones() as usize;
        let out = &mut self.index[len..len + 64];
        #[cfg(target_arch = "x86_64")]
        if COMPRESS {
            // SAFETY: `COMPRESS` is only set in code that runs when the
            // processor has the instructions (`index_blocks_avx512`).
            unsafe { index_block_compress(out, at as u32, seps, count) };
            return len + count;
        }
        let at = at as u32;
        let mut rest = seps;
        let mut i = 0;
        while i < count {
            let group: &mut [u32; 8] = (&mut out[i..i + 8]).try_into().expect("8 entries");
            for slot in group {
                // A volatile store, so that each entry is one plain 32-bit
                // store: with ordinary ones LLVM's SLP vectoriser gathers
                // the eight offsets into two vectors (`pinsrd`, two uops
                // each on one port) and stores those, which took 3-6% more
                // of Q1's CPU on the AVX2 and portable paths (docs/performance.md,
                // "Separators indexed with plain stores").
                // SAFETY: `slot` is a valid, aligned, exclusive reference;
                // a volatile write to ordinary memory is an ordinary write
                // that the compiler may not merge or drop.
                unsafe { std::ptr::write_volatile(slot, at + rest.trailing_zeros()) };
                rest &= rest.wrapping_sub(1);
            }
            i += 8;
        }
        len + count
    }

    /// The records of the last [`Window::Records`], by number.
    pub fn records<'s>(&'s self) -> Records<'s, 'a> {
        Records { scanner: self }
    }
}

/// Writes `at + i` for each set bit `i` of `seps` (`count` of them) to
/// `out`, in order: the bit positions are packed by one byte compress, then
/// widened and offset sixteen at a time, instead of a bit-scan loop per
/// separator. Writes whole groups of sixteen (within `out`'s 64 entries).
///
/// # Safety
/// The processor must have AVX-512 BW and VBMI2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,avx512vbmi2")]
#[inline]
unsafe fn index_block_compress(out: &mut [u32], at: u32, seps: u64, count: usize) {
    use std::arch::x86_64::*;
    const IOTA: [u8; 64] = {
        let mut t = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            t[i] = i as u8;
            i += 1;
        }
        t
    };
    assert!(out.len() >= 64);
    // SAFETY: unaligned loads and stores within `IOTA` and `out` (64
    // entries, asserted above).
    unsafe {
        let iota = _mm512_loadu_si512(IOTA.as_ptr() as *const _);
        let packed = _mm512_maskz_compress_epi8(seps, iota);
        let base = _mm512_set1_epi32(at as i32);
        let dst = out.as_mut_ptr() as *mut __m512i;
        let widen = |lane: __m128i| _mm512_add_epi32(_mm512_cvtepu8_epi32(lane), base);
        _mm512_storeu_si512(dst, widen(_mm512_castsi512_si128(packed)));
        if count > 16 {
            _mm512_storeu_si512(dst.add(1), widen(_mm512_extracti32x4_epi32::<1>(packed)));
        }
        if count > 32 {
            _mm512_storeu_si512(dst.add(2), widen(_mm512_extracti32x4_epi32::<2>(packed)));
        }
        if count > 48 {
            _mm512_storeu_si512(dst.add(3), widen(_mm512_extracti32x4_epi32::<3>(packed)));
        }
    }
}

/// The records of one regular window.
pub struct Records<'s, 'a> {
    scanner: &'s IndexScanner<'a>,
}

/// Random access, so that a caller can cut one field of many records in a
/// row (column by column) rather than every field of one record.
impl<'a> Records<'_, 'a> {
    /// How many records the window holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.scanner.complete / self.scanner.ncols
    }

    /// Whether the window holds no record (never, for a `Window::Records`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where record `r` starts.
    #[inline(always)]
    pub fn start(&self, r: usize) -> usize {
        let s = self.scanner;
        match r {
            0 => s.base,
            r => s.base + s.index[r * s.ncols - 1] as usize + 1,
        }
    }

    /// The span of field `field` (0-based) of record `r`.
    #[inline(always)]
    pub fn field(&self, r: usize, field: usize) -> Span {
        let s = self.scanner;
        let entry = r * s.ncols + field;
        let start = match entry {
            0 => s.base,
            e => s.base + s.index[e - 1] as usize + 1,
        };
        let sep = s.base + s.index[entry] as usize;
        field_span(s.buf, start, sep, field + 1 == s.ncols)
    }

    /// Appends the text of field `field` of each record in `rows` to `out`,
    /// borrowed from the input; a field that needs unescaping gets an empty
    /// placeholder, and `on_escaped` its record and span. What
    /// [`field`](Self::field) gives, in one loop with the window's layout in
    /// registers (through `field`, each record reloaded it, and bounds
    /// checked every index read).
    #[inline]
    pub fn cut_field(
        &self,
        field: usize,
        rows: std::ops::Range<usize>,
        out: &mut Vec<&'a [u8]>,
        mut on_escaped: impl FnMut(usize, Span),
    ) {
        let s = self.scanner;
        let (buf, base, ncols) = (s.buf, s.base, s.ncols);
        assert!(field < ncols && rows.end <= self.len());
        let last = field + 1 == ncols;
        let entries = s.index[rows.start * ncols..rows.end * ncols].chunks_exact(ncols);
        out.extend(rows.zip(entries).map(|(r, entries)| {
            let start = match field {
                0 => self.start(r),
                f => base + entries[f - 1] as usize + 1,
            };
            let span = field_span(buf, start, base + entries[field] as usize, last);
            if span.escaped {
                on_escaped(r, span);
                &[][..]
            } else {
                &buf[span.start..span.end]
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fastscan::testing::{every_path, fast_records, lcg, PIECES};
    use super::*;
    use crate::cpu::Level;

    /// Each cap selects its paths: the byte compress only at `avx512`, on a
    /// processor with VBMI2; the AVX2 loop at `avx2` (and at `avx512`
    /// without VBMI2), on a processor with BMI.
    #[test]
    fn each_cap_selects_its_path() {
        let full = cpu::detected();
        for cap in Level::ALL {
            let index = IndexScanner::with_features(b"a\n", b',', 1, full.capped(cap));
            let level = cap.min(full.level());
            let want = match level {
                Level::Avx512 if full.avx512_vbmi2() => IndexPath::Avx512Compress,
                Level::Avx2 if full.avx2_bmi() => IndexPath::Avx2,
                Level::Sse if cfg!(target_arch = "aarch64") => IndexPath::Neon,
                Level::Sse => IndexPath::Sse2,
                Level::None => IndexPath::Portable,
                _ => IndexPath::Pointer,
            };
            assert_eq!(index.path, want, "cap {cap}");
        }
        assert_eq!(IndexPath::of(Features::NONE), IndexPath::Portable);
    }

    /// Records of `buf` by the index path where it can, the fast path
    /// elsewhere, and by the fast path alone: the same records, fields and
    /// stopping point, on every path this processor has.
    /// Returns how many records the index path cut.
    fn check(text: &str, ncols: usize) -> usize {
        let cuts: Vec<usize> = (every_path().into_iter())
            .map(|features| check_with(features, text, ncols))
            .collect();
        assert!(cuts.windows(2).all(|w| w[0] == w[1]), "{cuts:?}");
        cuts[0]
    }

    /// [`check`] on the paths `features` allow.
    fn check_with(features: Features, text: &str, ncols: usize) -> usize {
        let buf = text.as_bytes();
        let (fast_only, _) = fast_records(features, buf, 0, buf.len());
        let mut mixed = Vec::new();
        let mut cut = 0;
        let mut index = IndexScanner::with_features(buf, b',', ncols, features);
        let mut pos = 0;
        loop {
            match index.window(pos, buf.len()) {
                Window::End => break,
                Window::Records { next } => {
                    let records = index.records();
                    for r in 0..records.len() {
                        let fields = (0..ncols).map(|i| records.field(r, i)).collect();
                        mixed.push((records.start(r), fields));
                        cut += 1;
                    }
                    // cut_field gives each field's text, or flags it
                    for f in 0..ncols {
                        let mut texts = Vec::new();
                        let mut escaped = Vec::new();
                        records.cut_field(f, 0..records.len(), &mut texts, |r, span| {
                            escaped.push((r, span))
                        });
                        assert_eq!(texts.len(), records.len());
                        for (r, text) in texts.iter().enumerate() {
                            let span = records.field(r, f);
                            if span.escaped {
                                assert!(text.is_empty() && escaped.contains(&(r, span)));
                            } else {
                                assert_eq!(*text, &buf[span.start..span.end]);
                            }
                        }
                        assert_eq!(
                            escaped.len(),
                            (0..records.len())
                                .filter(|&r| records.field(r, f).escaped)
                                .count()
                        );
                    }
                    pos = next;
                }
                Window::Irregular { until } => {
                    let (records, outcome) = fast_records(features, buf, pos, until);
                    mixed.extend(records);
                    let (Ok(next) | Err(next)) = outcome;
                    if next == pos {
                        break; // the fast path gave up too
                    }
                    pos = next;
                }
            }
        }
        assert_eq!(mixed, fast_only, "{features:?}: {text:?}");
        cut
    }

    #[test]
    fn regular_input_is_cut_from_the_index() {
        let row = "1,\"a,b\",\"say \"\"hi\"\"\",x\r\n";
        let text = row.repeat(5000);
        assert_eq!(check(&text, 4), 5000);
        // a blank line: only its window (~1260 rows) goes the per-record way
        let text = format!("{}\n{}", row.repeat(2000), row.repeat(3000));
        assert!(check(&text, 4) > 3000);
    }

    #[test]
    fn dense_separators_are_all_indexed() {
        // up to 64 separators in a 64-byte block: every group of sixteen
        // the compress path writes
        for ncols in [17, 33, 49, 64, 65] {
            let row = format!("{}\n", ",".repeat(ncols - 1));
            assert_eq!(check(&row.repeat(300), ncols), 300, "{ncols} columns");
        }
        // and every count in between: fields empty or one byte at random
        let mut state = 7u64;
        let mut text = String::new();
        for _ in 0..2000 {
            for col in 0..40 {
                lcg(&mut state);
                if (state >> 40).is_multiple_of(3) {
                    text.push('a');
                }
                text.push(if col == 39 { '\n' } else { ',' });
            }
        }
        assert_eq!(check(&text, 40), 2000);
    }

    #[test]
    fn agrees_with_fast_scanner() {
        let long = "x".repeat(70);
        let huge = "y".repeat(WINDOW + 100);
        let cases = [
            ("a,b\n1,2\n".to_string(), 2),
            ("a,b\r\n1,2\r\n\r\n\n3,4\n".to_string(), 2),
            (format!("\"{long}\",\"q\"\"q\"\n\"l1\r\nl2\",3\r\n,\n"), 2),
            ("a\n\nb\n\r\nc\n".to_string(), 1),
            ("a,b\n1,2,3\n4\n5,6\n".to_string(), 2),
            (format!("{huge},1\n2,3\n"), 2),
            ("a,b\n1,2".to_string(), 2),
            // a newline in a block's last byte (found by fuzzing)
            (format!("{},b\n", "a".repeat(61)).repeat(3), 2),
            // lone CRs end records: the index path hands over
            ("a,b\r1,2\r3,4\r".repeat(50), 2),
            (format!("{},b\r\n", "a".repeat(60)).repeat(3), 2),
            ("a,\"x\ry\"\n1,2\n".repeat(50), 2),
        ];
        for (case, ncols) in &cases {
            check(case, *ncols);
        }
    }

    /// A lone CR outside quotes ends a record, which the index does not
    /// model: such a window is irregular. CRLF and a CR inside quotes are not.
    #[test]
    fn a_lone_cr_makes_the_window_irregular() {
        for (text, regular) in [
            ("1,2\n3,4\n", true),
            ("1,2\r\n3,4\r\n", true),
            ("1,\"a\rb\"\n3,4\n", true),
            ("1,2\r3,4\n", false),
            ("1,2\n3,4\r", false),
        ] {
            let text = text.repeat(20);
            for features in every_path() {
                let mut index = IndexScanner::with_features(text.as_bytes(), b',', 2, features);
                let got = index.window(0, text.len());
                assert_eq!(
                    matches!(got, Window::Records { .. }),
                    regular,
                    "{features:?}: {text:?}: {got:?}"
                );
            }
        }
    }

    /// An irregular window hands the per-record scanners the records up to
    /// its last newline outside quotes, not the rest of the input; with no
    /// newline in the window, the rest. A window whose newline count equals
    /// its records' but not at every record's end (a short record and a
    /// long one) is irregular.
    #[test]
    fn an_irregular_window_hands_over_up_to_its_last_newline() {
        let row = "1,2,3\n";
        let short = format!("1,2\n{}", row.repeat(WINDOW / row.len() + 10));
        // the window's last newline: the last one in its first WINDOW bytes
        let last = short.as_bytes()[..WINDOW]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap();
        let compensated = format!("1,2\n3,4,5,6\n{}", row.repeat(20));
        let quoted_tail = format!("1,2\n{}\"a\nb\"", row.repeat(3));
        let long = format!("{},1,2\n", "x".repeat(WINDOW + 10));
        for features in every_path() {
            for (text, want) in [
                (&short, last + 1),
                (&compensated, compensated.len()),
                (&quoted_tail, quoted_tail.rfind("\n\"a").unwrap() + 1),
                (&long, long.len()),
            ] {
                let mut index = IndexScanner::with_features(text.as_bytes(), b',', 3, features);
                let got = index.window(0, text.len());
                assert_eq!(got, Window::Irregular { until: want }, "{features:?}");
            }
        }
        check(&short, 3);
        check(&compensated, 3);
    }

    #[test]
    fn agrees_on_generated_inputs() {
        let mut state = 11u64;
        for round in 0..200 {
            let ncols = 1 + round % 4;
            let mut text = String::new();
            for row in 0..(50 + round * 40) {
                for col in 0..ncols {
                    lcg(&mut state);
                    text.push_str(PIECES[(state >> 33) as usize % PIECES.len()]);
                    if col + 1 < ncols {
                        text.push(',');
                    }
                }
                text.push_str(if row % 7 == 0 { "\r\n" } else { "\n" });
                if (state >> 20).is_multiple_of(97) {
                    text.push('\n'); // a blank line now and then
                }
            }
            check(&text, ncols);
        }
    }
}
