//! The result table: what the reduce produces and the writers print.
//!
//! Why not a `Vec<Vec<Value>>`: a group-by over a million keys then makes
//! two heap allocations per row (the row and its text key), some 150 MiB of
//! fresh memory, and a pass that moves every row into key order. Here the
//! rows are stored in chunks built in parallel, each chunk one vector of
//! fixed-size cells and one arena for their text, and key order is an index
//! over the stored rows: no allocation per row, and nothing is moved.

use rayon::prelude::*;

use crate::value::{ColumnType, Value};

/// Stored rows per chunk: a chunk is built by one task.
const CHUNK: usize = 1 << 14;

/// A value of the table, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i128),
    /// An integer past `i128`, as its digits ([`Value::IntDigits`]).
    IntDigits(&'a [u8]),
    Float(f64),
    Text(&'a [u8]),
}

impl ValueRef<'_> {
    pub fn to_value(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::IntDigits(d) => Value::IntDigits(d.to_vec()),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Text(t) => Value::Text(t.to_vec()),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Int(*i),
            Value::IntDigits(d) => ValueRef::IntDigits(d),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Text(t) => ValueRef::Text(t),
        }
    }
}

/// A stored value, 16 bytes: text longer than [`SHORT_MAX`] bytes, and the
/// rare integer too wide for 64 bits, live in the chunk's arena.
///
/// Why so small: a group-by's result holds a cell per group and column,
/// all fresh memory (a page fault per 4 KiB) and, when the rows are written
/// in key order, read at random (a cache miss per row). With `i128` and two
/// `usize` inline a cell took 32 bytes: 960 MB of cells for ten million
/// groups of three columns.
#[derive(Clone, Copy, Debug)]
enum Cell {
    Null,
    Int(i64),
    /// An integer outside `i64`: 16 little-endian bytes at `at` in the arena.
    WideInt {
        at: usize,
    },
    /// An integer outside `i128` ([`ValueRef::IntDigits`]): laid out as
    /// [`Cell::LongText`] is, its digits for the text.
    IntDigits {
        at: usize,
    },
    Float(f64),
    /// Text of at most [`SHORT_MAX`] bytes, in the cell itself: the group
    /// keys of a big group-by mostly (`key_0673906`). Written in key order,
    /// such a row is one random read, its cells, where a key in the arena
    /// was two: the cells, then the text they point to. (Q6 formats a
    /// million rows read at random; see `docs/performance.md`.)
    Short {
        len: u8,
        bytes: [u8; SHORT_MAX],
    },
    Text {
        start: usize,
        len: u32,
    },
    /// Text of 4 GiB or more: its start and length, two little-endian
    /// `u64`s, at `at` in the arena (before the text itself).
    LongText {
        at: usize,
    },
}

const _: () = assert!(std::mem::size_of::<Cell>() <= 16);

/// The longest text a [`Cell::Short`] holds: what fits beside its tag and
/// length in 16 bytes.
const SHORT_MAX: usize = 14;

/// The longest text a [`Cell::Text`] holds (its length is a `u32`); the
/// unit tests lower it to reach [`Cell::LongText`].
const TEXT_MAX: usize = if cfg!(test) { 100 } else { u32::MAX as usize };

/// The 16 bytes at `at` of `arena`, as two little-endian `u64`s.
fn words_at(arena: &[u8], at: usize) -> (u64, u64) {
    let word = |i: usize| u64::from_le_bytes(arena[i..i + 8].try_into().expect("8 bytes"));
    (word(at), word(at + 8))
}

#[derive(Debug)]
struct Chunk {
    /// Row-major: row `r`'s cells are `cells[r * width..(r + 1) * width]`.
    cells: Vec<Cell>,
    text: Vec<u8>,
    /// Whether every [`Cell::Short`] text is ASCII (the arena is checked
    /// in one pass instead: [`Table::text_is_ascii`]).
    short_ascii: bool,
}

/// The result of a run: named columns and rows of values.
#[derive(Debug)]
pub struct Table {
    pub columns: Vec<String>,
    /// Every chunk but the last holds [`CHUNK`] rows.
    chunks: Vec<Chunk>,
    /// Row `i` of the table is stored row `order[i]`; `None`: stored order.
    order: Option<Vec<u32>>,
    len: usize,
    /// What the run should say about the values beside writing them (an
    /// approximate answer that may miss its bound), one line each.
    pub notes: Vec<String>,
    /// What the rows were built from, freed with the table ([`Table::keep`]).
    kept: Kept,
    /// Per column, the type every value of it has where the run knows one
    /// (`Null` where the values decide, or where none was declared):
    /// what a typed output gives a column of no value ([`Table::declared`]).
    declared: Vec<ColumnType>,
    /// How many leading columns are group keys ([`Table::key_columns`]).
    keys: usize,
}

/// Values a table holds on to only so that they are freed with it.
#[derive(Default)]
struct Kept(Vec<Box<dyn Send + Sync>>);

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kept({} values)", self.0.len())
    }
}

/// Appends one stored row's cells, in column order.
pub struct RowBuilder<'a> {
    chunk: &'a mut Chunk,
}

impl RowBuilder<'_> {
    pub fn push(&mut self, v: Value) {
        match v {
            Value::Text(t) => self.push_text(&t),
            other => self.push_ref(ValueRef::from(&other)),
        }
    }

    pub fn push_ref(&mut self, v: ValueRef<'_>) {
        let text = &mut self.chunk.text;
        let cell = match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Int(i) => match i64::try_from(i) {
                Ok(i) => Cell::Int(i),
                Err(_) => {
                    let at = text.len();
                    text.extend_from_slice(&i.to_le_bytes());
                    Cell::WideInt { at }
                }
            },
            ValueRef::IntDigits(d) => Cell::IntDigits {
                at: push_long(text, d),
            },
            ValueRef::Float(f) => Cell::Float(f),
            ValueRef::Text(t) if t.len() <= SHORT_MAX => {
                let mut bytes = [0u8; SHORT_MAX];
                bytes[..t.len()].copy_from_slice(t);
                self.chunk.short_ascii &= t.is_ascii();
                Cell::Short {
                    len: t.len() as u8,
                    bytes,
                }
            }
            ValueRef::Text(t) => match u32::try_from(t.len()) {
                Ok(len) if t.len() <= TEXT_MAX => {
                    let start = text.len();
                    text.extend_from_slice(t);
                    Cell::Text { start, len }
                }
                _ => Cell::LongText {
                    at: push_long(text, t),
                },
            },
        };
        self.chunk.cells.push(cell);
    }

    /// Appends a text cell (without a `Value::Text` to allocate).
    pub fn push_text(&mut self, t: &[u8]) {
        self.push_ref(ValueRef::Text(t));
    }
}

/// Appends `t` to `arena` after its start and length (two little-endian
/// `u64`s), and returns where those are: the arena part of a
/// [`Cell::LongText`] or [`Cell::IntDigits`] ([`long_at`] reads it back).
fn push_long(arena: &mut Vec<u8>, t: &[u8]) -> usize {
    let at = arena.len();
    arena.extend_from_slice(&(at as u64 + 16).to_le_bytes());
    arena.extend_from_slice(&(t.len() as u64).to_le_bytes());
    arena.extend_from_slice(t);
    at
}

/// The bytes [`push_long`] appended at `at` of `arena`.
fn long_at(arena: &[u8], at: usize) -> &[u8] {
    let (start, len) = words_at(arena, at);
    &arena[start as usize..][..len as usize]
}

/// One row of a table.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    cells: &'a [Cell],
    text: &'a [u8],
}

impl<'a> Row<'a> {
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn get(&self, column: usize) -> ValueRef<'a> {
        // (a short text borrows the cells for 'a, not `self`)
        let cells: &'a [Cell] = self.cells;
        match cells[column] {
            Cell::Null => ValueRef::Null,
            Cell::Int(i) => ValueRef::Int(i as i128),
            Cell::WideInt { at } => {
                let (lo, hi) = words_at(self.text, at);
                ValueRef::Int(((hi as u128) << 64 | lo as u128) as i128)
            }
            Cell::Float(f) => ValueRef::Float(f),
            Cell::Short { len, ref bytes } => ValueRef::Text(&bytes[..len as usize]),
            Cell::Text { start, len } => ValueRef::Text(&self.text[start..start + len as usize]),
            Cell::LongText { at } => ValueRef::Text(long_at(self.text, at)),
            Cell::IntDigits { at } => ValueRef::IntDigits(long_at(self.text, at)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = ValueRef<'a>> + '_ {
        (0..self.cells.len()).map(|j| self.get(j))
    }

    /// Asks for the row's text to be cached: its first text cell's, when
    /// that is a `Cell::Text` (a short text is in its cell already; a
    /// long one's place is in the arena too, a read away). The cells
    /// themselves should be cached, see [`Table::prefetch`].
    pub fn prefetch_text(&self) {
        for cell in self.cells {
            match *cell {
                Cell::Text { start, len } => {
                    if len > 0 {
                        crate::hint::prefetch(&self.text[start]);
                    }
                    return;
                }
                Cell::Short { .. } | Cell::LongText { .. } => return,
                _ => {}
            }
        }
    }
}

impl Table {
    /// A table of the given rows, in order.
    /// Declares the type of each column's values (see [`Table::declared`]).
    pub fn with_types(mut self, types: Vec<ColumnType>) -> Table {
        debug_assert_eq!(types.len(), self.columns.len(), "a type per column");
        self.declared = types;
        self
    }

    /// The type every value of column `j` has, as the run that made the
    /// table knows it: a key column's type, an aggregate's answer type
    /// ([`crate::agg::Func::output_type`]). `Null` where the values decide
    /// (or nothing was declared). Parquet output types a column that holds
    /// no value by it, so that a result of no group has the columns a
    /// result of some groups has.
    pub fn declared(&self, j: usize) -> ColumnType {
        self.declared.get(j).copied().unwrap_or(ColumnType::Null)
    }

    /// Says that the first `n` columns are group keys (`--by`).
    pub fn with_key_columns(mut self, n: usize) -> Table {
        debug_assert!(n <= self.columns.len(), "keys among the columns");
        self.keys = n;
        self
    }

    /// How many leading columns are group keys (`--by`; 0 without).
    /// JSON spells a key's NaN and infinities, which a value's `null`
    /// would print alike and like the null key.
    pub fn key_columns(&self) -> usize {
        self.keys
    }

    pub fn from_rows(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Table {
        let mut rows = rows.into_iter();
        Table::build(columns, rows.len(), None, |_, out| {
            for v in rows.next().expect("a row per index") {
                out.push(v);
            }
        })
    }

    /// Builds `n` stored rows, `fill(r, row)` appending stored row `r`'s
    /// cells (one per column), in parallel chunks on the current rayon pool.
    /// Row `i` of the table is stored row `order[i]` (all of them when
    /// `order` is `None`; else `order` must not repeat a row).
    pub fn build_parallel(
        columns: Vec<String>,
        n: usize,
        order: Option<Vec<u32>>,
        fill: impl Fn(usize, &mut RowBuilder<'_>) + Sync,
    ) -> Table {
        let width = columns.len();
        let chunks = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| build_chunk(c, n, width, |r, b| fill(r, b)))
            .collect();
        Table::assemble(columns, chunks, order, n)
    }

    /// [`Table::build_parallel`] on this thread, for a `fill` that is not
    /// `Sync`.
    pub fn build(
        columns: Vec<String>,
        n: usize,
        order: Option<Vec<u32>>,
        mut fill: impl FnMut(usize, &mut RowBuilder<'_>),
    ) -> Table {
        let width = columns.len();
        let chunks = (0..n.div_ceil(CHUNK))
            .map(|c| build_chunk(c, n, width, &mut fill))
            .collect();
        Table::assemble(columns, chunks, order, n)
    }

    fn assemble(
        columns: Vec<String>,
        chunks: Vec<Chunk>,
        order: Option<Vec<u32>>,
        n: usize,
    ) -> Table {
        let len = match &order {
            Some(order) => {
                assert!(
                    order.iter().all(|&r| (r as usize) < n),
                    "order beyond the rows"
                );
                order.len()
            }
            None => n,
        };
        Table {
            declared: Vec::new(),
            keys: 0,
            columns,
            chunks,
            order,
            len,
            notes: Vec::new(),
            kept: Kept::default(),
        }
    }

    /// Holds on to `value` until the table is dropped: what its rows were
    /// built from (a group-by's keys and states), so that freeing those
    /// is not a step of its own between building the table and writing
    /// it. Freeing a million groups' states is a walk over all of them,
    /// and their heap blocks, on one thread: 4 ms for the reference
    /// million-group sum, about 20 ms with a mean's exact sums. The command line
    /// never frees the table (it exits right after writing it), so there
    /// the walk does not happen at all.
    pub fn keep(&mut self, value: impl Send + Sync + 'static) {
        self.kept.0.push(Box::new(value));
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Row `i`, in table order.
    pub fn row(&self, i: usize) -> Row<'_> {
        let stored = self.order.as_ref().map_or(i, |o| o[i] as usize);
        let chunk = &self.chunks[stored / CHUNK];
        let width = self.columns.len();
        let r = stored % CHUNK;
        Row {
            cells: &chunk.cells[r * width..(r + 1) * width],
            text: &chunk.text,
        }
    }

    /// Asks for row `i`'s cells to be cached: rows in key order lie
    /// wherever their group was built. Readers going through many rows
    /// prefetch a row's cells first, then, some rows later, its text
    /// ([`Row::prefetch_text`]), which needs the cells.
    pub fn prefetch(&self, i: usize) {
        let stored = self.order.as_ref().map_or(i, |o| o[i] as usize);
        let width = self.columns.len();
        let cells = &self.chunks[stored / CHUNK].cells;
        let first = stored % CHUNK * width;
        // a row's cells (16 bytes each) can span two cache lines
        if let (Some(a), Some(b)) = (cells.get(first), cells.get(first + width.max(1) - 1)) {
            crate::hint::prefetch(a);
            crate::hint::prefetch(b);
        }
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        (0..self.len).map(|i| self.row(i))
    }

    /// Whether every text cell is ASCII: one pass over the text arenas
    /// (short texts were checked as they were stored), so that a check of
    /// the text (is it UTF-8?) can skip the rows.
    pub fn text_is_ascii(&self) -> bool {
        self.chunks
            .iter()
            .all(|c| c.short_ascii && c.text.is_ascii())
    }

    /// The rows as owned values (tests, small tables).
    pub fn to_rows(&self) -> Vec<Vec<Value>> {
        self.rows()
            .map(|r| r.iter().map(ValueRef::to_value).collect())
            .collect()
    }
}

fn build_chunk(
    c: usize,
    n: usize,
    width: usize,
    mut fill: impl FnMut(usize, &mut RowBuilder<'_>),
) -> Chunk {
    let rows = c * CHUNK..n.min((c + 1) * CHUNK);
    let mut chunk = Chunk {
        cells: Vec::with_capacity(rows.len() * width),
        text: Vec::new(),
        short_ascii: true,
    };
    for r in rows {
        let before = chunk.cells.len();
        fill(r, &mut RowBuilder { chunk: &mut chunk });
        assert_eq!(
            chunk.cells.len() - before,
            width,
            "row {r}: one cell per column"
        );
    }
    chunk
}

impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        self.columns == other.columns
            && self.len == other.len
            && self
                .rows()
                .zip(other.rows())
                .all(|(a, b)| a.iter().eq(b.iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a table keeps lives exactly as long as the table.
    #[test]
    fn kept_values_are_freed_with_the_table() {
        let states = std::sync::Arc::new(vec![1u64; 4]);
        let mut table = Table::from_rows(vec!["x".into()], vec![vec![Value::Int(1)]]);
        table.keep(std::sync::Arc::clone(&states));
        table.keep(std::sync::Arc::clone(&states));
        assert_eq!(std::sync::Arc::strong_count(&states), 3);
        assert_eq!(table.len(), 1, "keeping changes no row");
        drop(table);
        assert_eq!(std::sync::Arc::strong_count(&states), 1);
    }

    /// Every kind of cell, the wide integers and long texts that live in
    /// the arena among them, comes back as it went in, next to its
    /// neighbours.
    #[test]
    fn every_value_round_trips_through_a_cell() {
        let long = vec![b'x'; TEXT_MAX + 1];
        let longest = vec![b'y'; TEXT_MAX];
        let values = [
            ValueRef::Null,
            ValueRef::Int(0),
            ValueRef::Int(i64::MAX as i128),
            ValueRef::Int(i64::MIN as i128),
            ValueRef::Int(i64::MAX as i128 + 1),
            ValueRef::Int(i64::MIN as i128 - 1),
            ValueRef::Int(i128::MAX),
            ValueRef::Int(i128::MIN),
            ValueRef::Int(-(1 << 100) + 12345),
            ValueRef::IntDigits(b"-170141183460469231731687303715884105729"),
            ValueRef::Float(-0.0),
            ValueRef::Float(f64::MIN_POSITIVE),
            ValueRef::Text(b""),
            ValueRef::Text(b"key"),
            ValueRef::Text(b"fourteen bytes"),
            ValueRef::Text(b"fifteen bytes.."),
            ValueRef::Text(b"\xff\x00 bytes"),
            ValueRef::Text(&long),
            ValueRef::Text(b"after"),
            ValueRef::Text(&longest),
            ValueRef::Text(&long[..TEXT_MAX + 1]),
        ];
        let columns: Vec<String> = (0..values.len()).map(|i| format!("c{i}")).collect();
        let n = 3;
        let t = Table::build(columns, n, None, |_, row| {
            for v in values {
                row.push_ref(v);
            }
        });
        for r in 0..n {
            let got: Vec<ValueRef<'_>> = t.row(r).iter().collect();
            assert_eq!(got, values, "row {r}");
        }
        assert_eq!(std::mem::size_of::<Cell>(), 16);
    }

    #[test]
    fn rows_come_back_in_order_across_chunks() {
        let n = 3 * CHUNK + 5;
        let columns = vec!["k".to_string(), "v".to_string()];
        // stored in reverse, read through the order
        let order: Vec<u32> = (0..n as u32).rev().collect();
        let t = Table::build_parallel(columns.clone(), n, Some(order), |r, row| {
            row.push_text(format!("key{r}").as_bytes());
            row.push(if r.is_multiple_of(3) {
                Value::Null
            } else {
                Value::Int(r as i128)
            });
        });
        assert_eq!(t.len(), n);
        for i in [0, 1, CHUNK - 1, CHUNK, n - 1] {
            let r = n - 1 - i;
            let row = t.row(i);
            assert_eq!(row.get(0), ValueRef::Text(format!("key{r}").as_bytes()));
            let want = if r.is_multiple_of(3) {
                ValueRef::Null
            } else {
                ValueRef::Int(r as i128)
            };
            assert_eq!(row.get(1), want);
        }
        let rows: Vec<Vec<Value>> = (0..4)
            .map(|i| {
                vec![
                    Value::Text(format!("t{i}").into_bytes()),
                    Value::Float(i as f64 / 2.0),
                ]
            })
            .collect();
        let small = Table::from_rows(columns, rows.clone());
        assert_eq!(small.to_rows(), rows);
        assert!(small != t);
    }

    #[test]
    fn text_is_ascii_looks_at_every_chunk() {
        let n = 2 * CHUNK + 3;
        // a short text (in its cell) and a long one (in the arena)
        let short = "caf\u{e9}";
        let long = "a long caf\u{e9}, not in its cell";
        let cases = [
            (None, "", true),
            (Some(CHUNK + 1), short, false),
            (Some(n - 1), short, false),
            (Some(CHUNK + 1), long, false),
            (Some(n - 1), long, false),
        ];
        for (odd, text, want) in cases {
            let t = Table::build_parallel(vec!["k".into()], n, None, |r, row| {
                if Some(r) == odd {
                    row.push_text(text.as_bytes());
                } else {
                    row.push_text(format!("key{r}").as_bytes());
                }
            });
            assert_eq!(t.text_is_ascii(), want, "{odd:?} {text:?}");
        }
    }
}
