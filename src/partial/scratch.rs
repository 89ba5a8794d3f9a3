//! Per-batch grouping scratch: a batch's rows turned into group ids, and
//! the ids into the shape the states fold (`agg::Groups`).
//!
//! Grouping a batch is the hot loop of every group-by: encode each row's
//! key, intern it into the worker's key table, then either sort the rows
//! into one run per group (few groups: each state folds a run at once) or
//! hand the states the ids row by row (many groups: sorting would cost more
//! than it saves). The buffers live here, reused batch after batch, so that
//! grouping allocates nothing once a worker is warm; the short-key cache
//! ([`ShortKeys`]) that skips the encoding and the key table for short text
//! keys is one of them.

use super::short_keys::ShortKeys;
use crate::agg::BINNED_ROWS;
use crate::batch::{encode_key, Batch};
use crate::keyset::KeySet;
use crate::plan::Plan;
use crate::value::Column;

/// Past this many groups, a batch's rows are folded one by one rather than
/// sorted into runs per group.
pub(super) const MANY_GROUPS: usize = 1024;

/// A worker's grouping buffers, reused from batch to batch.
#[derive(Default)]
pub(super) struct GroupScratch {
    /// The batch's encoded keys, back to back; `key_ends[row]` ends row's.
    key: Vec<u8>,
    key_ends: Vec<usize>,
    /// Per row: its group id.
    pub(super) ids: Vec<u32>,
    /// The rows of each group together, and per group `(group, start,
    /// end)` in `order` (see `agg::Groups::Grouped`).
    pub(super) order: Vec<u32>,
    pub(super) runs: Vec<(u32, u32, u32)>,
    /// Per group: rows in the batch, then where its run starts in `order`.
    counts: Vec<u32>,
    /// Short single-column keys seen so far and their group ids.
    short_keys: ShortKeys,
}

impl GroupScratch {
    /// Encodes each row's group key into `key`, back to back.
    pub(super) fn encode_keys(&mut self, plan: &Plan, batch: &Batch<'_>) {
        self.key.clear();
        self.key_ends.clear();
        if self.encode_text_keys(plan, batch) {
            return;
        }
        for row in 0..batch.len {
            for (i, &k) in plan.keys.iter().enumerate() {
                encode_key(
                    &batch.columns[k],
                    row,
                    i + 1 == plan.keys.len(),
                    &mut self.key,
                );
            }
            self.key_ends.push(self.key.len());
        }
    }

    /// [`encode_keys`](Self::encode_keys) for the common key of a
    /// many-group run, one text column with no nulls: each key is the value
    /// tag and the text (what [`encode_key`] writes for the last field of a
    /// key), copied without a call per row (`encode_key`'s general match
    /// and `memcpy` calls were 3% of a million-group run). False, and
    /// nothing written, for any other key.
    fn encode_text_keys(&mut self, plan: &Plan, batch: &Batch<'_>) -> bool {
        use crate::batch::VALUE_TAG;
        let Some((_, text)) = sole_text_key(plan, batch) else {
            return false;
        };
        let total = text.iter().map(|t| 1 + t.len()).sum::<usize>();
        self.key.resize(total, 0);
        self.key_ends.reserve(text.len());
        let mut at = 0;
        for t in text {
            let end = at + 1 + t.len();
            self.key[at] = VALUE_TAG;
            copy_short(&mut self.key[at + 1..end], t);
            self.key_ends.push(end);
            at = end;
        }
        true
    }

    /// Row `r`'s encoded key (after [`encode_keys`](Self::encode_keys)).
    #[inline]
    pub(super) fn key(&self, r: usize) -> &[u8] {
        let start = if r == 0 { 0 } else { self.key_ends[r - 1] };
        &self.key[start..self.key_ends[r]]
    }

    /// Numbers the groups of the `len` encoded keys and, while there are
    /// few groups, lists the rows of each group together (ascending within
    /// a group). Returns true when rows should rather be folded one by one.
    pub(super) fn assign_groups(
        &mut self,
        groups: &mut KeySet,
        len: usize,
        scatters: bool,
    ) -> bool {
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        groups.intern_batch(len, |r| self.key(r), &mut ids);
        self.ids = ids;
        self.group_runs(groups.len(), len, scatters)
    }

    /// With one key column whose keys are all short text (up to 16 bytes,
    /// no nulls), the batch's group ids from the [`ShortKeys`] cache, keys
    /// it does not know yet interned into `groups` and cached; false (and
    /// nothing done) for any other batch, or once there are many groups.
    pub(super) fn short_key_ids(
        &mut self,
        plan: &Plan,
        batch: &Batch<'_>,
        groups: &mut KeySet,
    ) -> bool {
        let Some((col, raw)) = sole_text_key(plan, batch) else {
            return false;
        };
        if groups.len() > MANY_GROUPS || raw.iter().any(|k| k.len() > 16) {
            return false;
        }
        self.ids.clear();
        for (row, key) in raw.iter().enumerate() {
            let id = match self.short_keys.get(key) {
                Some(id) => id,
                None => {
                    // new to the cache: the key table's id, for the key
                    // encoded as the general path encodes it
                    self.key.clear();
                    encode_key(col, row, true, &mut self.key);
                    let id = groups.intern(&self.key);
                    self.short_keys.insert(key, id);
                    id
                }
            };
            self.ids.push(id);
        }
        true
    }

    /// Lists the rows of each group together (ascending within a group)
    /// while there are few groups, from `ids`; returns true when rows should
    /// rather be folded one by one: past [`MANY_GROUPS`], or when
    /// `scatters` (every aggregate folds rows one by one as fast,
    /// [`crate::agg::AggState::scatters`]) and the runs would average fewer
    /// than [`BINNED_ROWS`] rows.
    pub(super) fn group_runs(&mut self, groups: usize, len: usize, scatters: bool) -> bool {
        if groups > MANY_GROUPS || (scatters && len < groups * BINNED_ROWS) {
            return true;
        }
        // Counting sort by group (few groups): rows ascending within each
        // group's run, runs in group order.
        let s = self;
        s.counts.clear();
        s.counts.resize(groups, 0);
        for &g in &s.ids {
            s.counts[g as usize] += 1;
        }
        s.runs.clear();
        let mut start = 0u32;
        for (g, count) in s.counts.iter_mut().enumerate() {
            if *count > 0 {
                s.runs.push((g as u32, start, start + *count));
            }
            let next = start + *count;
            *count = start;
            start = next;
        }
        s.order.clear();
        s.order.resize(len, 0);
        for (row, &g) in s.ids.iter().enumerate() {
            let at = &mut s.counts[g as usize];
            s.order[*at as usize] = row as u32;
            *at += 1;
        }
        false
    }
}

/// The batch's key column and each row's key text, when the plan groups by
/// one column that has text for every row (a text column, or a column
/// parsed from text that kept it) and no nulls: the key both fast paths
/// above take. None for any other key.
fn sole_text_key<'b, 'a>(
    plan: &Plan,
    batch: &'b Batch<'a>,
) -> Option<(&'b Column<'a>, &'a [&'a [u8]])> {
    use crate::value::Data;
    let [k] = plan.keys[..] else {
        return None;
    };
    let col = &batch.columns[k];
    let text = match (col.raw, col.data) {
        (Some(raw), _) => raw,
        (None, Data::Text(text)) => text,
        _ => return None,
    };
    col.valid.is_none().then_some((col, text))
}

/// `dst.copy_from_slice(src)` for the short keys of a group-by, without a
/// call to `memcpy`: two overlapping fixed-size moves for up to 32 bytes.
#[inline(always)]
pub(super) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    assert_eq!(dst.len(), n);
    if n > 32 {
        dst.copy_from_slice(src);
    } else if n >= 16 {
        dst[..16].copy_from_slice(&src[..16]);
        dst[n - 16..].copy_from_slice(&src[n - 16..]);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::encode_key;
    use crate::spec::parse_specs;
    use crate::value::{Column, ColumnType, Data};

    /// The keys [`GroupScratch::encode_keys`] writes, from whichever path,
    /// are [`encode_key`]'s, row by row.
    #[test]
    fn keys_of_one_text_column_encode_as_encode_key_does() {
        let long = "k".repeat(70);
        let texts: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"ab",
            b"abc",
            b"abcd",
            b"key_0673906",
            b"a\0b",
            b"0123456789abcdef",
            b"0123456789abcdefg",
            b"\0\0\0\xff",
            long.as_bytes(),
            b"x,y",
        ];
        let len = texts.len();
        let header: Vec<String> = ["k", "v"].map(String::from).to_vec();
        let plan = Plan::new(&header, &parse_specs(&["count"]).unwrap(), &["k".into()]).unwrap();
        let numbers: Vec<i64> = (0..len as i64).collect();
        let mut valid = vec![true; len];
        let cases: [(Option<&[bool]>, bool); 3] =
            [(None, false), (None, true), (Some(&valid), false)];
        for (v, as_raw) in cases {
            // as text, as a number column's source text, and with a
            // validity mask (the general path)
            let col = Column {
                len,
                data: if as_raw {
                    Data::Int(&numbers)
                } else {
                    Data::Text(&texts)
                },
                valid: v,
                raw: as_raw.then_some(&texts[..]),
            };
            check(&plan, col);
        }
        valid[3] = false;
        let col = Column {
            len,
            data: Data::Text(&texts),
            valid: Some(&valid),
            raw: None,
        };
        check(&plan, col);
    }

    fn check(plan: &Plan, col: Column<'_>) {
        let len = col.len;
        let batch = Batch {
            codes: Vec::new(),
            len,
            columns: vec![col],
            types: vec![ColumnType::Text],
        };
        let mut scratch = GroupScratch::default();
        // twice: the buffers are reused
        for _ in 0..2 {
            scratch.encode_keys(plan, &batch);
            for r in 0..len {
                let mut want = Vec::new();
                encode_key(&batch.columns[0], r, true, &mut want);
                assert_eq!(scratch.key(r), &want[..], "row {r}");
            }
        }
    }
}
