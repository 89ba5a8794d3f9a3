//! A [`Partial`]'s byte form: what `rayproc map --emit-partial` ships and
//! `rayproc reduce` merges (the body of the partial file; the map/reduce
//! commands wrap it in an envelope with the plan, inputs and checksum).
//!
//! The layout (docs/partials.md): the column types, the group keys (with
//! `--by`), then each planned state's vector, group by group. A partial
//! to encode comes from [`Partial::merge_all`]; after a partitioned merge
//! its groups sit in one table per hash partition, with disjoint keys, and
//! are written as one table, so a decoded partial is one table that merges
//! and finishes like any other.
//!
//! The groups are written in the byte order of their encoded keys, not in
//! the order the tables number them: that order is the order the workers
//! met the keys in and the partitions of a hash seeded afresh by every
//! run, so `map` gave other bytes for the same rows from run to run and
//! from one thread count to another. Sorted, the bytes depend on the rows
//! alone (each state has one byte form), and neighbouring keys share
//! longer prefixes, which the keys' front coding ([`put_prefixed`]) turns
//! into a smaller file.
//!
//! Decoding trusts nothing: the type count must be the plan's width, the
//! keys must be distinct and well-formed for the plan's number of key
//! columns (`finish` splits and types them), each state must pass its own
//! checks ([`AggState::decode`](crate::agg::AggState::decode)), and no
//! byte may be left over.

use super::group_table::GroupTable;
use super::Partial;
use crate::plan::Plan;
use crate::value::ColumnType;
use crate::wire::{put_prefixed, put_u8, put_varint, Reader, WireError};

/// Groups ahead of the one being encoded whose key or state is fetched.
const AHEAD: usize = 16;

/// The byte of each column type.
fn type_byte(t: ColumnType) -> u8 {
    match t {
        ColumnType::Null => 0,
        ColumnType::Int => 1,
        ColumnType::Float => 2,
        ColumnType::Text => 3,
    }
}

impl Partial {
    /// Appends the partial's byte form. The partial must come from
    /// [`merge_all`](Self::merge_all) (no rows left buffered).
    pub fn encode(&self, out: &mut Vec<u8>) {
        assert!(self.radix.is_none(), "encoding a partial before merge_all");
        assert!(
            self.keys_only.is_none(),
            "encoding a partial made to finish here (Partial::for_run)"
        );
        put_varint(out, self.types.len() as u64);
        self.types.iter().for_each(|&t| put_u8(out, type_byte(t)));
        let tables: Vec<&GroupTable> = self.tables().collect();
        let key = |(t, g): (u32, u32)| tables[t as usize].groups.get(g);
        let order = if self.keyed {
            let order = super::finish::in_byte_order(&tables);
            put_varint(out, order.len() as u64);
            // each run of groups coded after the key before the run
            encode_runs(&order, out, |run, at, out| {
                let mut prev: &[u8] = if at == 0 { &[] } else { key(order[at - 1]) };
                for (i, &group) in run.iter().enumerate() {
                    // in key order the keys are at random in the arenas:
                    // a key's end, then its bytes, fetched ahead
                    if let Some(&(t, g)) = run.get(i + 2 * AHEAD) {
                        tables[t as usize].groups.prefetch_end(g);
                    }
                    if let Some(&(t, g)) = run.get(i + AHEAD) {
                        tables[t as usize].groups.prefetch_bytes(g);
                    }
                    put_prefixed(out, prev, key(group));
                    prev = key(group);
                }
            });
            order
        } else {
            // the one keyless group
            vec![(0, 0)]
        };
        let states = tables.first().map_or(0, |t| t.states.len());
        for s in 0..states {
            encode_runs(&order, out, |run, _, out| {
                for (i, &(t, g)) in run.iter().enumerate() {
                    if let Some(&(t, g)) = run.get(i + AHEAD) {
                        tables[t as usize].states[s].prefetch_group(g as usize);
                    }
                    tables[t as usize].states[s].encode_group(g as usize, out);
                }
            });
        }
    }

    /// Reads a partial of `plan` from `bytes` (what [`encode`](Self::encode)
    /// wrote). Errors name the byte offset in `bytes`.
    pub fn decode(plan: &Plan, bytes: &[u8]) -> Result<Partial, WireError> {
        let mut partial = Partial::new(plan);
        partial.absorb_encoded(plan, bytes)?;
        Ok(partial)
    }

    /// Merges the partial whose byte form is `bytes` into this one, as
    /// decoding it and [`merge_all`](Self::merge_all) would, but without
    /// building its table: each key goes straight into this partial's keys
    /// and each state into its group's (a reduce of many partials with a
    /// million groups each spent most of its time building and absorbing
    /// the decoded tables). `self` must not have been through `merge_all`
    /// (one table). On an error `self` is left part-merged: drop it.
    pub fn absorb_encoded(&mut self, plan: &Plan, bytes: &[u8]) -> Result<(), WireError> {
        assert!(
            self.radix.is_none() && self.parts.is_empty(),
            "absorbing into a merged partial"
        );
        let mut r = Reader::new(bytes);
        let at = r.pos();
        let width = r.len(1)?;
        if width != plan.width() {
            return Err(WireError(format!(
                "{width} column types at byte {at}, the plan has {} columns",
                plan.width()
            )));
        }
        let mut types = Vec::with_capacity(width);
        for _ in 0..width {
            let at = r.pos();
            types.push(match r.get_u8()? {
                0 => ColumnType::Null,
                1 => ColumnType::Int,
                2 => ColumnType::Float,
                3 => ColumnType::Text,
                b => return Err(WireError(format!("unknown column type {b} at byte {at}"))),
            });
        }
        let remap = if self.keyed {
            let at = r.pos();
            let key_types: Vec<ColumnType> = plan.keys.iter().map(|&k| types[k]).collect();
            // the keys come in ascending byte order (`encode`): the one
            // byte form of a partial's groups
            let mut prev: Vec<u8> = Vec::new();
            self.table.groups.decode_into(&mut r, |i, key| {
                check_key(key, &key_types)
                    .and_then(|()| match i > 0 && key <= &prev[..] {
                        true => Err("not after the key before it (keys are sorted)".into()),
                        false => Ok(()),
                    })
                    .map_err(|why| format!("group key {i} (keys from byte {at}): {why}"))?;
                prev.clear();
                prev.extend_from_slice(key);
                Ok(())
            })?
        } else {
            vec![0]
        };
        for (planned, states) in plan.states.iter().zip(&mut self.table.states) {
            let mut read = planned.func.new_states_for(plan.text_extremes);
            read.decode_into(remap.len(), &mut r).map_err(|e| {
                let column = planned
                    .slot
                    .map(|s| format!(" of '{}'", crate::error::show_name(plan.column_label(s))));
                WireError(format!(
                    "{}{}: {e}",
                    planned.func.label(),
                    column.unwrap_or_default()
                ))
            })?;
            states.merge_from(read, &remap);
        }
        r.finish()?;
        self.table.resize_states();
        for (t, &o) in self.types.iter_mut().zip(&types) {
            *t = t.widen(o);
        }
        Ok(())
    }
}

/// Groups encoded together by one thread in [`encode_runs`].
const RUN: usize = 1 << 14;

/// Appends `encode(run, at, out)` of each run of [`RUN`] groups of `order`
/// (`at`: where the run starts in `order`) in order: the runs are encoded
/// in parallel, each into its own buffer. A million groups' keys and
/// states are read in key order, a few cache misses each, which one
/// thread took 80 ms of a map of the reference data to do.
fn encode_runs(
    order: &[(u32, u32)],
    out: &mut Vec<u8>,
    encode: impl Fn(&[(u32, u32)], usize, &mut Vec<u8>) + Sync,
) {
    use rayon::prelude::*;
    if order.len() <= RUN {
        return encode(order, 0, out);
    }
    let runs: Vec<Vec<u8>> = (order.par_chunks(RUN).enumerate())
        .map(|(i, run)| {
            let mut buf = Vec::new();
            encode(run, i * RUN, &mut buf);
            buf
        })
        .collect();
    out.reserve(runs.iter().map(Vec::len).sum());
    runs.iter().for_each(|run| out.extend_from_slice(run));
}

/// Checks that `key` is what [`encode_key`](crate::batch::encode_key)
/// makes of `types.len()` fields, so that `finish` can split it
/// ([`decode_key`](crate::batch::decode_key) panics on anything else): a
/// field is a null tag, or a value tag and its bytes, which in any field
/// but the last escape `0x00` as `00 FF` and end with `00 00`. A column
/// whose type is null holds only nulls.
fn check_key(key: &[u8], types: &[ColumnType]) -> Result<(), String> {
    use crate::batch::{NULL_TAG, VALUE_TAG};
    let mut rest = key;
    for (i, &ty) in types.iter().enumerate() {
        let last = i + 1 == types.len();
        let Some((&tag, after)) = rest.split_first() else {
            return Err(format!("field {i} missing"));
        };
        rest = after;
        match tag {
            NULL_TAG => continue,
            VALUE_TAG if ty == ColumnType::Null => {
                return Err(format!("field {i} holds a value in a column of nulls"))
            }
            VALUE_TAG if last => rest = &[],
            VALUE_TAG => loop {
                let Some(zero) = memchr::memchr(0, rest) else {
                    return Err(format!("field {i} not terminated"));
                };
                match rest.get(zero + 1) {
                    Some(0xFF) => rest = &rest[zero + 2..],
                    Some(0) => {
                        rest = &rest[zero + 2..];
                        break;
                    }
                    _ => return Err(format!("field {i}: a zero byte not escaped")),
                }
            },
            _ => return Err(format!("field {i}: unknown tag {tag}")),
        }
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes after the last field", rest.len()));
    }
    Ok(())
}
