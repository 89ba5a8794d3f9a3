//! The object store: parse a big input once into typed columnar partitions
//! on disk (`rayproc split`, [`create`]), then run any number of aggregations
//! over them at memory speed (`rayproc run --store`, [`Store::run`]), the
//! partitions memory-mapped and read in place.
//!
//! A store is a directory holding generations ([`layout`]): `current` names
//! the one to read, and each generation holds one Arrow IPC file per
//! partition (`part-00000.arrow`, ...) and a `manifest.json`
//! ([`manifest::Manifest`]) with the schema, the sources, and each
//! partition's rows, size, column statistics and checksum. See
//! `docs/store.md` for the layout, the compatibility rule and what holds
//! under faults (crafted files, concurrent splits, killed splits).

pub mod dictionary;
pub mod layout;
pub mod manifest;
pub mod read;
pub mod verify;
pub mod write;

use std::fmt::Write as _;

use crate::error::{show_name, show_path};

pub use read::{Change, ChangeKind, Store, StoreRunOptions};
pub use write::{create, CreateOptions, CreateSummary};

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size for people: `812.3 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A statistic for people: text shortened to 24 characters, followed by
/// `…` where the value goes on (past them, or past what the manifest
/// recorded of it: `truncated`).
fn stat_text(v: &Option<(serde_json::Value, bool)>) -> String {
    match v {
        None => "null".into(),
        Some((serde_json::Value::String(s), truncated)) => {
            let mut t: String = s.chars().take(24).collect();
            if *truncated || s.chars().count() > 24 {
                t.push('…');
            }
            t.replace('\n', "\\n")
        }
        Some((other, _)) => other.to_string(),
    }
}

/// The manifest for people: rows, partitions, sizes, schema, sources (and
/// whether they changed since the split), and with `verified` the result of
/// checking each partition. Names are shown as messages show them
/// ([`show_name`]): for a terminal, one line each (`describe_json`, for
/// scripts, keeps them as they are).
pub fn describe(store: &Store, changes: &[Change], verified: Option<&[Option<String>]>) -> String {
    let m = &store.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "store       {}", show_path(&store.dir));
    let _ = writeln!(
        out,
        "format      {} version {}, written by {}",
        m.format, m.version, m.created_by
    );
    let _ = writeln!(
        out,
        "rows        {} in {} partitions, {}",
        thousands(m.rows),
        m.partitions.len(),
        human_bytes(m.bytes)
    );
    if !m.nulls.is_empty() {
        let spelled: Vec<String> = m.nulls.iter().map(|s| format!("{s:?}")).collect();
        let _ = writeln!(
            out,
            "nulls       {} (split --null), and empty fields",
            spelled.join(", ")
        );
    }
    let _ = writeln!(out, "sources");
    for s in &m.sources {
        let state = match changes.iter().find(|c| c.path == s.path) {
            Some(c) => format!("CHANGED since the split: {}", c.why),
            None if s.absolute_path.is_none() && s.path == "<stdin>" => {
                "standard input, cannot be re-checked".into()
            }
            // a pipe, or a compressed file in a store made before those
            // were recorded as files
            None if s.absolute_path.is_none() => "read once, cannot be re-checked".into(),
            None => "unchanged".into(),
        };
        let path = show_name(&s.path);
        let _ = writeln!(out, "  {path}  {}  {state}", human_bytes(s.size));
    }
    // files a folder or pattern finds now, and such inputs that fail
    for c in changes.iter().filter(|c| c.kind != ChangeKind::Source) {
        let state = match c.kind {
            ChangeKind::Added => "NOT IN THE STORE",
            _ => "CHANGED since the split",
        };
        let _ = writeln!(out, "  {}  {state}: {}", show_name(&c.path), c.why);
    }
    let _ = writeln!(out, "columns");
    // a column of a name its source repeats, as a query names it (`k#2`):
    // which of them the store holds (a store before version 7 does not know)
    let refs = (m.version >= manifest::SOURCE_COLUMNS_VERSION)
        .then(|| crate::plan::Plan::every_column(&store.header()));
    let positions = m.source_positions();
    let mins: Vec<Vec<String>> = m
        .columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            // min/max over partitions, as the manifest records them: a
            // text value cut short (`truncated`) orders after the text it
            // begins with, as the whole value does
            type Pick = fn(&manifest::ColumnStats) -> (&Option<serde_json::Value>, bool);
            let vals = |pick: Pick| {
                (m.partitions.iter())
                    .filter_map(|p| {
                        let (v, truncated) = pick(&p.columns[c]);
                        Some((v.clone()?, truncated))
                    })
                    .collect::<Vec<_>>()
            };
            let order = |(a, a_cut): &(serde_json::Value, bool),
                         (b, b_cut): &(serde_json::Value, bool)| {
                match (a.as_f64(), b.as_f64(), a.as_str(), b.as_str()) {
                    (Some(x), Some(y), ..) if col.ty != "text" => x.total_cmp(&y),
                    (.., Some(x), Some(y)) => (x, a_cut).cmp(&(y, b_cut)),
                    _ => (a.to_string(), a_cut).cmp(&(b.to_string(), b_cut)),
                }
            };
            let min = vals(|s| (&s.min, s.min_truncated))
                .into_iter()
                .min_by(order);
            let max = vals(|s| (&s.max, s.max_truncated))
                .into_iter()
                .max_by(order);
            // a coded column: its dictionary's size beside the Arrow type;
            // a float column with integers: their field's type; a number
            // column with texts: theirs
            let mut arrow = match (&col.dictionary, &col.integers) {
                (Some(d), _) => format!("{} + codes of {}", col.arrow_type, thousands(d.values)),
                (None, Some(ints)) => format!("{} + integers ({ints})", col.arrow_type),
                (None, None) => col.arrow_type.clone(),
            };
            if let Some(texts) = &col.texts {
                arrow.push_str(&format!(" + texts ({texts})"));
            }
            let name = match refs.as_ref().and_then(|r| r.get(positions[c])) {
                Some(r) if r.occurrence.is_some() => show_name(&r.text),
                _ => show_name(&col.name),
            };
            vec![
                name.into_owned(),
                col.ty.clone(),
                arrow,
                thousands(col.null_count),
                stat_text(&min),
                stat_text(&max),
            ]
        })
        .collect();
    let head = ["name", "type", "arrow", "nulls", "min", "max"]
        .map(String::from)
        .to_vec();
    table(&mut out, &head, &mins);
    let _ = writeln!(out, "partitions");
    let rows: Vec<Vec<String>> = m
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut row = vec![
                show_name(&p.file).into_owned(),
                thousands(p.rows),
                human_bytes(p.bytes),
                p.checksum.clone(),
            ];
            if let Some(v) = verified {
                row.push(match &v[i] {
                    None => "ok".into(),
                    Some(e) => format!("BAD: {e}"),
                });
            }
            row
        })
        .collect();
    let mut head = ["file", "rows", "size", "checksum"]
        .map(String::from)
        .to_vec();
    if verified.is_some() {
        head.push("verify".into());
    }
    table(&mut out, &head, &rows);
    out
}

fn table(out: &mut String, head: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..head.len())
        .map(|j| {
            rows.iter()
                .map(|r| r[j].chars().count())
                .chain([head[j].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut String, r: &[String]| {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    };
    line(out, head);
    for r in rows {
        line(out, r);
    }
}

/// The manifest as JSON for scripts, with `changed_sources` (and with
/// `verified`, `verify`: one entry per partition, `null` or the error).
pub fn describe_json(
    store: &Store,
    changes: &[Change],
    verified: Option<&[Option<String>]>,
) -> String {
    let mut v = serde_json::to_value(&store.manifest).expect("manifest to JSON");
    v["changed_sources"] = serde_json::Value::Array(
        changes
            .iter()
            .map(|c| serde_json::json!({"path": c.path, "why": c.why, "kind": c.kind.name()}))
            .collect(),
    );
    if let Some(verified) = verified {
        v["verify"] = serde_json::json!(verified);
    }
    serde_json::to_string_pretty(&v).expect("JSON") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
