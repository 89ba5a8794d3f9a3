//! What every source does to a batch between reading it and folding it:
//! keep only the rows `--where` keeps ([`Plan::filter`]) and append the
//! time-bucket key columns ([`Plan::buckets`]).
//!
//! Both happen before the aggregates see a row, so that a filtered query
//! gives exactly what filtering the input first and aggregating would: a
//! dropped row creates no group, is not counted, and cannot make its
//! columns text or float. The CSV reader filters its raw fields before it
//! types them (`source::csv`: the types of a batch are decided by its kept
//! rows); typed sources (Parquet, Arrow IPC, the store) call
//! [`fold_typed`], which gathers the kept rows of their typed columns.
//!
//! # Errors
//!
//! A row can fail three ways: a numeric `--where` test meets a non-number,
//! a bucket key column holds something that is not a time, an aggregate
//! meets a non-number; a typed input's row a fourth, a value rayproc cannot
//! read where the query reads it ([`Unreadable`]: a date past 9999). The
//! error reported is the earliest row's, in input order, as row-by-row
//! evaluation would find it: the filter's error is the earliest among the
//! tests ([`crate::filter::Bound::select`]); on it, the rows before it are
//! still filtered and folded, so that an earlier bucket or aggregate error
//! wins. Likewise a bad time value or an unreadable one: the rows before it
//! are folded first. Errors come back with the row of the batch given
//! ([`BadRow`]), which the source turns into a position.

use crate::batch::Batch;
use crate::plan::Plan;
use crate::timebucket::{TimeError, TimeUnit};
use crate::value::{Column, ColumnType, Data};

/// A row that cannot be folded: its row in the batch, the slot of the
/// field, and what is wrong (`--where x > 3 needs a number, found "n/a"`;
/// the source adds where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub row: usize,
    pub slot: usize,
    pub message: String,
}

/// The text of row `row` of `col`, for a message: the source text where
/// there is one, else the value as the CSV writer prints it.
pub fn value_text(col: &Column<'_>, row: usize) -> Vec<u8> {
    match (col.raw, col.data) {
        (Some(raw), _) => raw[row].to_vec(),
        (None, Data::Text(t)) => t[row].to_vec(),
        (None, Data::Int(v)) => v[row].to_string().into_bytes(),
        (None, Data::Float(v)) => crate::output::format_float(v[row]).into_bytes(),
        (None, Data::Rows) => Vec::new(),
    }
}

/// The first `len` rows of `col`.
pub fn head<'a>(col: &Column<'a>, len: usize) -> Column<'a> {
    let data = match col.data {
        Data::Rows => Data::Rows,
        Data::Int(v) => Data::Int(&v[..len]),
        Data::Float(v) => Data::Float(&v[..len]),
        Data::Text(t) => Data::Text(&t[..len]),
    };
    Column {
        len,
        data,
        valid: col.valid.map(|v| &v[..len]),
        raw: col.raw.map(|r| &r[..len]),
    }
}

/// The first `len` rows of `batch` (types as they were).
fn head_batch<'a>(batch: &Batch<'a>, len: usize) -> Batch<'a> {
    Batch {
        len,
        columns: batch.columns.iter().map(|c| head(c, len)).collect(),
        types: batch.types.clone(),
        codes: (batch.codes.iter())
            .map(|c| c.map(|c| c.slice(0, len)))
            .collect(),
    }
}

/// The length of every key of `unit`: keys have fixed positions
/// (`2026-11-30T02`), so a batch's keys are one buffer cut at a stride.
fn key_len(unit: TimeUnit) -> usize {
    match unit {
        TimeUnit::Year => 4,
        TimeUnit::Month => 7,
        TimeUnit::Week => 8,
        TimeUnit::Day => 10,
        TimeUnit::Hour => 13,
        TimeUnit::Minute => 16,
        TimeUnit::Second => 19,
    }
}

/// The bucket key columns of a batch, reused from batch to batch.
#[derive(Default)]
pub struct Buckets {
    /// Per bucket: its keys back to back, [`key_len`] bytes each (zeros
    /// for a null).
    keys: Vec<Vec<u8>>,
    valid: Vec<Vec<bool>>,
}

impl Buckets {
    /// Computes the key of every row of every bucket, each up to its first
    /// bad value; returns the earliest bad value's row, bucket and error.
    fn compute(&mut self, plan: &Plan, batch: &Batch<'_>) -> Option<(usize, usize, TimeError)> {
        let n = plan.buckets.len();
        self.keys.resize_with(n, Vec::new);
        self.valid.resize_with(n, Vec::new);
        let mut first: Option<(usize, usize, TimeError)> = None;
        for (b, bucket) in plan.buckets.iter().enumerate() {
            let col = &batch.columns[bucket.slot];
            let (keys, valid) = (&mut self.keys[b], &mut self.valid[b]);
            // rows past an earlier bucket's error are never looked at
            let limit = first.map_or(batch.len, |f| f.0);
            let bad = match bucket.unit {
                TimeUnit::Year => keys_of::<4>(bucket.unit, col, limit, keys, valid),
                TimeUnit::Month => keys_of::<7>(bucket.unit, col, limit, keys, valid),
                TimeUnit::Week => keys_of::<8>(bucket.unit, col, limit, keys, valid),
                TimeUnit::Day => keys_of::<10>(bucket.unit, col, limit, keys, valid),
                TimeUnit::Hour => keys_of::<13>(bucket.unit, col, limit, keys, valid),
                TimeUnit::Minute => keys_of::<16>(bucket.unit, col, limit, keys, valid),
                TimeUnit::Second => keys_of::<19>(bucket.unit, col, limit, keys, valid),
            };
            if let Some((row, e)) = bad {
                first = Some((row, b, e));
            }
        }
        first
    }

    /// Passes `batch` to `on` with the plan's bucket key columns appended
    /// (as is when there are none). A value that has no bucket: the rows
    /// before it are passed on, then its error returned.
    pub fn with_buckets<E>(
        &mut self,
        plan: &Plan,
        batch: &Batch<'_>,
        on: &mut dyn FnMut(&Batch<'_>) -> Result<(), E>,
        bad: impl FnOnce(BadRow) -> E,
    ) -> Result<(), E> {
        if plan.buckets.is_empty() {
            return on(batch);
        }
        let first = self.compute(plan, batch);
        let len = first.map_or(batch.len, |f| f.0);
        let slices: Vec<Vec<&[u8]>> = (plan.buckets.iter().zip(&self.keys))
            .map(|(bucket, keys)| keys.chunks_exact(key_len(bucket.unit)).take(len).collect())
            .collect();
        let mut columns: Vec<Column<'_>> = batch.columns.iter().map(|c| head(c, len)).collect();
        let mut types = batch.types.clone();
        for (slices, valid) in slices.iter().zip(&self.valid) {
            let valid = &valid[..len];
            let has_nulls = valid.contains(&false);
            columns.push(Column {
                len,
                data: Data::Text(slices),
                valid: has_nulls.then_some(valid),
                raw: None,
            });
            types.push(if valid.contains(&true) {
                ColumnType::Text
            } else {
                ColumnType::Null
            });
        }
        if len > 0 {
            on(&Batch {
                len,
                columns,
                types,
                codes: (batch.codes.iter())
                    .map(|c| c.map(|c| c.slice(0, len)))
                    .collect(),
            })?;
        }
        match first {
            None => Ok(()),
            Some((row, b, e)) => {
                let bucket = &plan.buckets[b];
                let value = value_text(&batch.columns[bucket.slot], row);
                Err(bad(BadRow {
                    row,
                    slot: bucket.slot,
                    message: e.message(&bucket.term, &value),
                }))
            }
        }
    }
}

/// Appends `v[r]` for each of `rows` to `out`.
fn pick<T: Copy>(v: &[T], rows: &[u32], out: &mut Vec<T>) {
    out.extend(rows.iter().map(|&r| v[r as usize]));
}

/// The `L`-byte keys of `unit` (see [`key_len`]) of rows `..limit` of
/// `col`, up to the first value that has none (its row and error).
fn keys_of<const L: usize>(
    unit: TimeUnit,
    col: &Column<'_>,
    limit: usize,
    keys: &mut Vec<u8>,
    valid: &mut Vec<bool>,
) -> Option<(usize, TimeError)> {
    debug_assert_eq!(L, key_len(unit));
    keys.clear();
    keys.resize(limit * L, 0);
    valid.clear();
    valid.resize(limit, true);
    let mut one = Vec::with_capacity(L);
    let text = match (col.data, col.raw) {
        (Data::Text(t), _) | (Data::Float(_), Some(t)) => Some(t),
        _ => None,
    };
    for (row, key) in keys.chunks_exact_mut(L).enumerate() {
        if !col.is_valid(row) {
            valid[row] = false;
            continue;
        }
        if let Some(plain) = text.and_then(|t| unit.bucket_plain::<L>(t[row])) {
            *<&mut [u8; L]>::try_from(key).expect("L bytes") = plain;
            continue;
        }
        one.clear();
        if let Err(e) = unit.bucket_row(col, row, &mut one) {
            keys.truncate(row * L);
            valid.truncate(row);
            return Some((row, e));
        }
        key.copy_from_slice(&one);
    }
    None
}

/// The kept rows of one column, gathered.
#[derive(Default)]
struct Gathered<'a> {
    ints: Vec<i64>,
    floats: Vec<f64>,
    text: Vec<&'a [u8]>,
    raw: Vec<&'a [u8]>,
    valid: Vec<bool>,
}

impl<'a> Gathered<'a> {
    /// Gathers rows `rows` of `col` (of batch type `ty`); returns the
    /// column's type on those rows: `ty`, or null when none holds a value.
    fn gather(&mut self, col: &Column<'a>, ty: ColumnType, rows: &[u32]) -> ColumnType {
        match col.data {
            Data::Rows => {}
            Data::Int(v) => pick(v, rows, &mut self.ints),
            Data::Float(v) => pick(v, rows, &mut self.floats),
            Data::Text(t) => pick(t, rows, &mut self.text),
        }
        if let Some(raw) = col.raw {
            pick(raw, rows, &mut self.raw);
        }
        match col.valid {
            Some(valid) => {
                pick(valid, rows, &mut self.valid);
                if self.valid.contains(&true) {
                    ty
                } else {
                    ColumnType::Null
                }
            }
            None => ty,
        }
    }

    fn column(&self, like: &Column<'_>, len: usize) -> Column<'_> {
        let data = match like.data {
            Data::Rows => Data::Rows,
            Data::Int(_) => Data::Int(&self.ints),
            Data::Float(_) => Data::Float(&self.floats),
            Data::Text(_) => Data::Text(&self.text),
        };
        Column {
            len,
            data,
            valid: like.valid.is_some().then_some(&self.valid[..]),
            raw: like.raw.is_some().then_some(&self.raw[..]),
        }
    }
}

/// The values of a typed batch that rayproc cannot read: dates and
/// timestamps outside the years 0000 to 9999, times of day outside the day
/// (`source::arrow`), whose text would not sort as they do.
///
/// Each is an error where the query reads it, and only there: in a row
/// `--where` keeps, and in any row of a column `--where` itself reads
/// (whose tests compare that text: a row they drop by it could not be told
/// from one they drop rightly). A row the filter drops otherwise has no say,
/// as a bad time in a dropped CSV row is no error: the answer is the one of
/// filtering the file first.
#[derive(Clone, Copy)]
pub struct Unreadable<'a> {
    /// `(row, slot)` of each such value, ascending.
    pub cells: &'a [(usize, usize)],
    /// What is wrong with the value at `(row, slot)`, in words.
    pub why: &'a dyn Fn(usize, usize) -> String,
}

impl Unreadable<'_> {
    /// No such value.
    pub const NONE: Unreadable<'static> = Unreadable {
        cells: &[],
        why: &|_, _| String::new(),
    };

    /// The cells of the first `len` rows.
    fn within(&self, len: usize) -> &[(usize, usize)] {
        &self.cells[..self.cells.partition_point(|&(row, _)| row < len)]
    }

    fn error(&self, (row, slot): (usize, usize)) -> BadRow {
        BadRow {
            row,
            slot,
            message: (self.why)(row, slot),
        }
    }
}

/// Filters a typed batch (Parquet, Arrow IPC, the store) with the plan's
/// filter, appends its bucket columns and passes the kept rows to `on`.
/// `on`'s errors name rows of the batch it is given; the errors returned
/// name rows of `batch`.
///
/// `spelling` says, per slot, how a column is typed by the rows the filter
/// keeps ([`Spelling`]; empty: every column as typed), over rows that start
/// `first` rows before `batch`'s first row. `unreadable` lists the values
/// of `batch` that are an error where the query reads them ([`Unreadable`]).
pub fn fold_typed(
    plan: &Plan,
    batch: &Batch<'_>,
    spelling: &[Spelling<'_>],
    first: usize,
    unreadable: Unreadable<'_>,
    buckets: &mut Buckets,
    on: &mut dyn FnMut(&Batch<'_>) -> Result<(), BadRow>,
) -> Result<(), BadRow> {
    let fold = TypedFold {
        plan,
        spelling,
        first,
        unreadable,
    };
    fold.fold(batch, buckets, on)
}

/// [`fold_typed`]'s arguments that stay the same as it folds the rows
/// before a bad one.
#[derive(Clone, Copy)]
struct TypedFold<'p, 's> {
    plan: &'p Plan,
    spelling: &'p [Spelling<'s>],
    first: usize,
    unreadable: Unreadable<'p>,
}

impl TypedFold<'_, '_> {
    /// Fails with `bad` once the rows of `batch` before it are folded: an
    /// earlier row's error wins over it, as in a CSV read row by row.
    fn fail_after_rows_before(
        &self,
        batch: &Batch<'_>,
        bad: BadRow,
        buckets: &mut Buckets,
        on: &mut dyn FnMut(&Batch<'_>) -> Result<(), BadRow>,
    ) -> Result<(), BadRow> {
        self.fold(&head_batch(batch, bad.row), buckets, on)?;
        Err(bad)
    }

    fn fold(
        &self,
        batch: &Batch<'_>,
        buckets: &mut Buckets,
        on: &mut dyn FnMut(&Batch<'_>) -> Result<(), BadRow>,
    ) -> Result<(), BadRow> {
        let &TypedFold {
            plan,
            spelling,
            first,
            unreadable,
        } = self;
        let far = unreadable.within(batch.len);
        let Some(filter) = &plan.filter else {
            // every row is kept
            if let Some(&cell) = far.first() {
                return self.fail_after_rows_before(batch, unreadable.error(cell), buckets, on);
            }
            if let Some(bad) = unspelled_epoch(plan, batch, spelling, first, None) {
                return self.fail_after_rows_before(batch, bad, buckets, on);
            }
            return buckets.with_buckets(plan, batch, on, |bad| bad);
        };
        // a value the filter's tests read (as text): as a rejected field
        if let Some(&cell) = far.iter().find(|(_, slot)| filter.slots().contains(slot)) {
            return self.fail_after_rows_before(batch, unreadable.error(cell), buckets, on);
        }
        let mut kept = Vec::with_capacity(batch.len);
        let texts = filter_texts(batch, spelling, first, filter.slots(), filter.text_slots());
        let selected = if texts.is_empty() {
            filter.select(batch, &mut kept)
        } else {
            // the filter reads the number columns' texts; the rest of the
            // batch goes on as it is
            let rows: Vec<Option<Vec<&[u8]>>> =
                texts.iter().map(|t| t.as_ref().map(row_texts)).collect();
            let mut columns = batch.columns.clone();
            for (col, rows) in columns.iter_mut().zip(&rows) {
                if let Some(rows) = rows {
                    col.raw = Some(rows);
                }
            }
            let view = Batch {
                len: batch.len,
                columns,
                types: batch.types.clone(),
                codes: batch.codes.clone(),
            };
            filter.select(&view, &mut kept)
        };
        if let Err(rejected) = selected {
            let value = value_text(&batch.columns[rejected.slot], rejected.row);
            let bad = BadRow {
                row: rejected.row,
                slot: rejected.slot,
                message: filter.message(&rejected, &value),
            };
            return self.fail_after_rows_before(batch, bad, buckets, on);
        }
        if kept.is_empty() {
            return Ok(());
        }
        // a value in a kept row (`kept` ascends)
        let in_kept = |&&(row, _): &&(usize, usize)| kept.binary_search(&(row as u32)).is_ok();
        if let Some(&cell) = far.iter().find(in_kept) {
            return self.fail_after_rows_before(batch, unreadable.error(cell), buckets, on);
        }
        if let Some(bad) = unspelled_epoch(plan, batch, spelling, first, Some(&kept)) {
            return self.fail_after_rows_before(batch, bad, buckets, on);
        }
        let respelled = spelling.iter().any(|s| !matches!(s, Spelling::AsTyped));
        if kept.len() == batch.len {
            if respelled {
                return respell(
                    batch,
                    spelling,
                    |r| first + r,
                    |b| buckets.with_buckets(plan, b, on, |bad| bad),
                );
            }
            return buckets.with_buckets(plan, batch, on, |bad| bad);
        }
        let mut gathered: Vec<Gathered<'_>> = Vec::new();
        gathered.resize_with(batch.columns.len(), Gathered::default);
        let types: Vec<ColumnType> = (gathered.iter_mut().zip(&batch.columns).zip(&batch.types))
            .map(|((g, col), &ty)| g.gather(col, ty, &kept))
            .collect();
        let columns = (gathered.iter().zip(&batch.columns))
            .map(|(g, col)| g.column(col, kept.len()))
            .collect();
        // a coded column's codes are gathered with its rows
        let kept_codes: Vec<Option<Vec<u32>>> = (batch.codes.iter())
            .map(|c| c.map(|c| kept.iter().map(|&r| c.codes()[r as usize]).collect()))
            .collect();
        let kept_batch = Batch {
            len: kept.len(),
            columns,
            types,
            codes: (batch.codes.iter().zip(&kept_codes))
                .map(|(c, k)| Some(c.as_ref()?.with_codes(k.as_ref()?)))
                .collect(),
        };
        let at = |mut bad: BadRow| {
            bad.row = kept[bad.row] as usize;
            bad
        };
        let folded = if respelled {
            let row_of = |r: usize| first + kept[r] as usize;
            respell(&kept_batch, spelling, row_of, |b| {
                buckets.with_buckets(plan, b, on, |bad| bad)
            })
        } else {
            buckets.with_buckets(plan, &kept_batch, on, |bad| bad)
        };
        folded.map_err(at)
    }
}

/// The first of `rows` (every row: `None`) at which a time bucket would
/// read a float as epoch seconds that its source did not write as an
/// integer, as the error the CSV gives there.
///
/// Epoch seconds are an integer field: over a CSV `1700000000.0` is an
/// error, whatever its value. A float without text is read as epoch
/// seconds when it is integral ([`TimeUnit::bucket_row`]), which is right
/// only for the rows a store's CSV wrote as integers ([`Spelling::Number`]);
/// a float of a typed source's own (a Parquet `DOUBLE`, a decimal with a
/// fraction: `pa.decimal128(14, 2)`) was never one, so each of its values
/// is refused, as the same data as CSV is. `first` is the row of
/// `batch`'s first row among those `spelling` covers.
fn unspelled_epoch(
    plan: &Plan,
    batch: &Batch<'_>,
    spelling: &[Spelling<'_>],
    first: usize,
    rows: Option<&[u32]>,
) -> Option<BadRow> {
    let mut earliest: Option<(usize, usize)> = None;
    for (b, bucket) in plan.buckets.iter().enumerate() {
        let col = &batch.columns[bucket.slot];
        let (Data::Float(v), None) = (col.data, col.raw) else {
            continue;
        };
        // no marks: no row was written as an integer
        let marks = match spelling.get(bucket.slot) {
            Some(Spelling::Number {
                ints: Some(marks), ..
            }) => Some(marks),
            _ => None,
        };
        let int = |r: usize| marks.and_then(|m| m.int(first + r, v[r]));
        let unspelled = |r: usize| col.is_valid(r) && int(r).is_none();
        let row = match rows {
            None => (0..batch.len).find(|&r| unspelled(r)),
            Some(kept) => kept.iter().map(|&r| r as usize).find(|&r| unspelled(r)),
        };
        if let Some(row) = row.filter(|&r| earliest.is_none_or(|(e, _)| r < e)) {
            earliest = Some((row, b));
        }
    }
    let (row, b) = earliest?;
    let bucket = &plan.buckets[b];
    // the field as a store's CSV wrote it, where it kept the text (`1e9`,
    // `1.50`, `Infinity`): the CSV's error quotes the field, and a printed
    // float (`1000000000.0`, `1.5`, `inf`) was another value's text
    let written = match spelling.get(bucket.slot) {
        Some(Spelling::Number {
            texts: Some(texts), ..
        }) => texts.text(first + row),
        _ => None,
    };
    let value = match written {
        Some(text) => text.to_vec(),
        None => value_text(&batch.columns[bucket.slot], row),
    };
    // the float's text (`1700000000.0`: never an integer's) is what the
    // CSV's field read as: the same error
    let error = (bucket.unit.bucket(&value, &mut Vec::new()).err()).unwrap_or(TimeError::Malformed);
    Some(BadRow {
        row,
        slot: bucket.slot,
        message: error.message(&bucket.term, &value),
    })
}

/// How a typed source's column is typed by the rows `--where` keeps.
///
/// The CSV reader types each column of a batch by the rows the filter
/// keeps ([`crate::number::typing`]): in a column of `10`, `9` and `abc`,
/// the rows without `abc` are integers. A typed source's column has its
/// type whatever rows are kept (a Parquet column of strings stays text),
/// except where the source says otherwise: a store answers as the CSV it
/// was split from, so it types its text columns' kept values as the CSV
/// reader types a batch ([`Spelling::Text`]), and a float column whose CSV
/// spelled some values as integers is integers wherever every kept value
/// was one ([`Spelling::Number`]), with the integers' exact values. A text
/// test of a number column reads the text the CSV wrote ([`Written`]).
#[derive(Clone, Copy, Debug, Default)]
pub enum Spelling<'a> {
    /// The column's type is the source's.
    #[default]
    AsTyped,
    /// The kept values are CSV fields: typed as the CSV reader types them.
    Text,
    /// A number column: for a float one with any, which of its rows were
    /// integers; and the text of the fields written otherwise than the
    /// value prints, where a text test reads it.
    Number {
        ints: Option<IntMarks<'a>>,
        texts: Option<Written<'a>>,
    },
}

/// The text a store's CSV wrote of each field of a number column whose
/// text is not what a filter reads of the value (`+7`, `1.50`, `1e3`; none
/// for the others): an Arrow `Utf8` or `Binary` array's buffers.
#[derive(Clone, Copy, Debug)]
pub struct Written<'a> {
    /// `len + 1` offsets into `values`, ascending.
    offsets: &'a [i32],
    values: &'a [u8],
    /// The rows with a text; `None` when every row has one.
    valid: Option<Bitmap<'a>>,
}

/// A bitmap (least significant bit first) and the bit of row 0, checked
/// to cover its rows: an Arrow array's validity or a `Boolean`'s values,
/// from a file that may have been crafted.
#[derive(Clone, Copy, Debug)]
struct Bitmap<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Bitmap<'a> {
    /// `bytes` from bit `offset` on as the bits of `len` rows, or why it
    /// cannot be.
    fn new((bytes, offset): (&'a [u8], usize), len: usize) -> Result<Bitmap<'a>, String> {
        if offset
            .checked_add(len)
            .is_none_or(|end| end.div_ceil(8) > bytes.len())
        {
            return Err(format!(
                "a bitmap of {} bytes marks {len} rows",
                bytes.len()
            ));
        }
        Ok(Bitmap { bytes, offset })
    }

    /// Row `row`'s bit.
    #[inline]
    fn get(&self, row: usize) -> bool {
        let bit = self.offset + row;
        self.bytes[bit / 8] >> (bit % 8) & 1 == 1
    }
}

impl<'a> Written<'a> {
    /// The texts of `len` rows, or why the buffers cannot be them.
    pub fn new(
        offsets: &'a [i32],
        values: &'a [u8],
        valid: Option<(&'a [u8], usize)>,
        len: usize,
    ) -> Result<Written<'a>, String> {
        if offsets.len() <= len {
            return Err(format!("{} offsets for {len} rows", offsets.len()));
        }
        let offsets = &offsets[..len + 1];
        if offsets[0] < 0 || offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err("offsets out of order".into());
        }
        if offsets[len] as usize > values.len() {
            return Err(format!(
                "an offset of {} past {} bytes of text",
                offsets[len],
                values.len()
            ));
        }
        Ok(Written {
            offsets,
            values,
            valid: valid.map(|v| Bitmap::new(v, len)).transpose()?,
        })
    }

    /// Row `row`'s text, if its field was written otherwise than printed.
    #[inline]
    pub fn text(&self, row: usize) -> Option<&'a [u8]> {
        if self.valid.is_some_and(|v| !v.get(row)) {
            return None;
        }
        let (start, end) = (self.offsets[row] as usize, self.offsets[row + 1] as usize);
        Some(&self.values[start..end])
    }
}

/// Which rows of a float column its CSV spelled as integers, and their
/// values.
#[derive(Clone, Copy, Debug)]
pub struct IntMarks<'a> {
    /// The marked rows; `None` when every row is marked.
    bits: Option<Bitmap<'a>>,
    /// The integers, per row; `None` when each is its float's value (every
    /// integer of the column within ±2^53).
    exact: Option<&'a [i64]>,
}

impl<'a> IntMarks<'a> {
    /// The marks of `len` rows, or why `bits` and `exact` cannot be them.
    pub fn new(
        bits: Option<(&'a [u8], usize)>,
        exact: Option<&'a [i64]>,
        len: usize,
    ) -> Result<IntMarks<'a>, String> {
        let bits = bits.map(|b| Bitmap::new(b, len)).transpose()?;
        if exact.is_some_and(|v| v.len() < len) {
            return Err(format!(
                "{} integers for {len} rows",
                exact.map_or(0, <[i64]>::len)
            ));
        }
        Ok(IntMarks { bits, exact })
    }

    /// Row `row`'s integer, if its field was one (`float`: the row's value).
    #[inline]
    pub fn int(&self, row: usize, float: f64) -> Option<i64> {
        if self.bits.is_some_and(|b| !b.get(row)) {
            return None;
        }
        Some(match self.exact {
            Some(v) => v[row],
            // within ±2^53: the float is the integer
            None => float as i64,
        })
    }
}

/// The text a filter reads of a number column with integers or texts, per
/// row (see [`Spelling::Number`]): a field written otherwise than its value
/// prints as the CSV wrote it (`+7`, `1.50`, `1e3`), where a text test
/// reads the column (`text_reads`); a float column's marked row as its
/// integer (`2`, the exact `9007199254740993`); any other row's number as
/// the CSV writer prints it (what a filter reads of a number without
/// text). With it, a numeric test that the float alone cannot decide (an
/// integral value near the literal) decides by the integer, as over the
/// CSV's text, and a text test reads what `run --input` reads: `2` where
/// the CSV had `2`, not `2.0`, and `+7` where it had `+7`. Per slot the
/// filter `reads`: the texts back to back and where each row's ends; none
/// elsewhere (a number column without either reads as printed).
fn filter_texts(
    batch: &Batch<'_>,
    spelling: &[Spelling<'_>],
    first: usize,
    reads: &[usize],
    text_reads: &[usize],
) -> Vec<Option<(Vec<u8>, Vec<usize>)>> {
    use std::io::Write;
    let mut slots: Vec<Option<(Vec<u8>, Vec<usize>)>> = Vec::new();
    for &s in reads {
        let Some(&Spelling::Number { ints, texts }) = spelling.get(s) else {
            continue;
        };
        // a numeric test reads the value (and a marked row's integer)
        let texts = texts.filter(|_| text_reads.contains(&s));
        let data = batch.columns[s].data;
        let ints = match data {
            Data::Float(_) => ints,
            _ => None,
        };
        if ints.is_none() && texts.is_none() {
            continue;
        }
        let (mut text, mut ends) = (Vec::new(), Vec::with_capacity(batch.len));
        for r in 0..batch.len {
            if let Some(t) = texts.and_then(|t| t.text(first + r)) {
                text.extend_from_slice(t);
                ends.push(text.len());
                continue;
            }
            let written = match data {
                Data::Int(v) => write!(text, "{}", v[r]),
                Data::Float(v) => match ints.and_then(|m| m.int(first + r, v[r])) {
                    Some(i) => write!(text, "{i}"),
                    None => write!(text, "{:?}", v[r]),
                },
                // (a number column's data is numbers)
                Data::Text(_) | Data::Rows => Ok(()),
            };
            written.expect("write to a Vec");
            ends.push(text.len());
        }
        slots.resize_with(slots.len().max(s + 1), || None);
        slots[s] = Some((text, ends));
    }
    slots
}

/// Each row's text of one slot of [`filter_texts`].
fn row_texts((text, ends): &(Vec<u8>, Vec<usize>)) -> Vec<&[u8]> {
    let starts = std::iter::once(0).chain(ends.iter().copied());
    starts.zip(ends).map(|(a, &b)| &text[a..b]).collect()
}

/// Calls `on` with `batch` retyped as `spelling` says: a text column typed
/// by its values, a float column of marked integers as those integers.
/// `row_of(r)` is the row of batch row `r` among the rows `spelling`
/// covers. A column whose type does not change is passed as it was (with
/// its codes); one that changes loses its codes (they code text).
fn respell<'a, E>(
    batch: &Batch<'a>,
    spelling: &[Spelling<'_>],
    row_of: impl Fn(usize) -> usize,
    on: impl FnOnce(&Batch<'_>) -> Result<(), E>,
) -> Result<(), E> {
    use crate::number::typing::Typed;
    let slots = batch.columns.len();
    let mut texts: Vec<Vec<&'a [u8]>> = vec![Vec::new(); slots];
    let mut typed: Vec<Typed> = (0..slots).map(|_| Typed::default()).collect();
    let mut ints: Vec<Vec<i64>> = vec![Vec::new(); slots];
    // which slots change type, and to what
    let mut changed: Vec<Option<ColumnType>> = vec![None; slots];
    for (s, spelled) in spelling.iter().enumerate() {
        let col = &batch.columns[s];
        if batch.types[s] == ColumnType::Null {
            continue;
        }
        match (spelled, col.data) {
            (Spelling::Text, Data::Text(t)) => {
                // most text columns are text from their first value on:
                // what the rule below decides at once, without a copy
                let first = (0..col.len).find(|&r| col.is_valid(r));
                // (every integer is a number: one test says "not a number")
                let not_a_number = |f: &[u8]| crate::number::parse_float_field(f).is_none();
                if first.is_some_and(|r| not_a_number(t[r])) {
                    continue;
                }
                // a null's text is empty, as in a CSV batch
                let t = (0..col.len).map(|r| if col.is_valid(r) { t[r] } else { &[][..] });
                texts[s].extend(t);
                // a stored text need not lie in one readable buffer: no
                // lane reads around a field
                typed[s].fill(&texts[s], 0..0);
                if typed[s].ty != ColumnType::Text {
                    changed[s] = Some(typed[s].ty);
                }
            }
            (
                Spelling::Number {
                    ints: Some(marks), ..
                },
                Data::Float(v),
            ) => {
                let v = &v[..col.len];
                let mut all = true;
                ints[s].extend(
                    v.iter()
                        .enumerate()
                        .map(|(r, &f)| match marks.int(row_of(r), f) {
                            Some(i) => i,
                            None => {
                                all &= !col.is_valid(r);
                                0
                            }
                        }),
                );
                if all {
                    changed[s] = Some(ColumnType::Int);
                }
            }
            _ => {}
        }
    }
    if changed.iter().all(Option::is_none) {
        return on(batch);
    }
    let mut columns = batch.columns.clone();
    let mut types = batch.types.clone();
    let mut codes = batch.codes.clone();
    for (s, ty) in changed.iter().enumerate() {
        let Some(ty) = *ty else { continue };
        columns[s] = match spelling[s] {
            Spelling::Text => typed[s].column(&texts[s]),
            _ => Column {
                data: Data::Int(&ints[s]),
                ..columns[s]
            },
        };
        types[s] = ty;
        if let Some(c) = codes.get_mut(s) {
            *c = None;
        }
    }
    on(&Batch {
        len: batch.len,
        columns,
        types,
        codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A float column's spelling with `marks` and no texts.
    fn marked(marks: IntMarks<'_>) -> Spelling<'_> {
        Spelling::Number {
            ints: Some(marks),
            texts: None,
        }
    }
    use crate::spec::{parse_columns, parse_specs};

    fn plan(by: &str, filter: Option<&str>) -> Plan {
        let header: Vec<String> = ["ts", "x"].iter().map(|s| s.to_string()).collect();
        let by = parse_columns(&[by], "--by").unwrap();
        let expr = filter.map(|f| crate::filter::parse(f).unwrap());
        Plan::resolve_where(
            &header,
            &parse_specs(&["sum:x"]).unwrap(),
            &by,
            expr.as_ref(),
        )
        .unwrap()
    }

    /// Runs `fold_typed` on a batch of text timestamps and integer `x`:
    /// the keys and x values folded, and the error.
    fn run(plan: &Plan, ts: &[&str], x: &[i64]) -> (Vec<(String, i64)>, Option<BadRow>) {
        run_far(plan, ts, x, &[])
    }

    /// [`run`], the values of `ts` at rows `far` unreadable ([`Unreadable`],
    /// message `far ROW`).
    fn run_far(
        plan: &Plan,
        ts: &[&str],
        x: &[i64],
        far: &[usize],
    ) -> (Vec<(String, i64)>, Option<BadRow>) {
        let ts: Vec<&[u8]> = ts.iter().map(|t| t.as_bytes()).collect();
        let valid: Vec<bool> = ts.iter().map(|t| !t.is_empty()).collect();
        let batch = Batch {
            codes: Vec::new(),
            len: ts.len(),
            columns: vec![
                Column {
                    len: ts.len(),
                    data: Data::Text(&ts),
                    valid: Some(&valid),
                    raw: None,
                },
                Column {
                    len: x.len(),
                    data: Data::Int(x),
                    valid: None,
                    raw: None,
                },
            ],
            types: vec![ColumnType::Text, ColumnType::Int],
        };
        let mut got = Vec::new();
        let mut on = |b: &Batch<'_>| -> Result<(), BadRow> {
            let Data::Text(keys) = b.columns[2].data else {
                panic!("a text key column")
            };
            let Data::Int(xs) = b.columns[1].data else {
                panic!("ints")
            };
            for r in 0..b.len {
                let key = match b.columns[2].is_valid(r) {
                    true => String::from_utf8(keys[r].to_vec()).unwrap(),
                    false => "null".into(),
                };
                got.push((key, xs[r]));
            }
            Ok(())
        };
        let cells: Vec<(usize, usize)> = far.iter().map(|&r| (r, 0)).collect();
        let unreadable = Unreadable {
            cells: &cells,
            why: &|row, slot| format!("far {row} {slot}"),
        };
        let mut buckets = Buckets::default();
        let err = fold_typed(plan, &batch, &[], 0, unreadable, &mut buckets, &mut on).err();
        (got, err)
    }

    /// What `respell` passes on for one column: its type, and its values
    /// as text (`Int`/`Float` printed, text as is, `null`).
    fn respelled(
        col: Column<'_>,
        ty: ColumnType,
        spelling: Spelling<'_>,
    ) -> (ColumnType, Vec<String>, bool) {
        let batch = Batch::new(col.len, vec![col], vec![ty]);
        let mut out = None;
        respell(
            &batch,
            &[spelling],
            |r| r + 1,
            |b| -> Result<(), ()> {
                let c = &b.columns[0];
                let values = (0..b.len)
                    .map(|r| match (c.is_valid(r), c.data) {
                        (false, _) => "null".to_string(),
                        (true, Data::Int(v)) => format!("int {}", v[r]),
                        (true, Data::Float(v)) => format!("float {}", v[r]),
                        (true, Data::Text(t)) => String::from_utf8_lossy(t[r]).into_owned(),
                        (true, Data::Rows) => unreachable!(),
                    })
                    .collect();
                out = Some((b.types[0], values, c.raw.is_some()));
                Ok(())
            },
        )
        .unwrap();
        out.unwrap()
    }

    #[test]
    fn a_text_column_is_typed_by_its_values_as_in_a_csv_batch() {
        let text = |t: &[&'static str], valid: Option<&'static [bool]>| {
            let t: Vec<&[u8]> = t.iter().map(|s| s.as_bytes()).collect();
            let t: &'static [&'static [u8]] = Vec::leak(t);
            Column {
                len: t.len(),
                data: Data::Text(t),
                valid,
                raw: None,
            }
        };
        // numbers: integers (with their text, as a CSV batch has it)
        let (ty, v, raw) = respelled(text(&["10", " 9"], None), ColumnType::Text, Spelling::Text);
        assert_eq!(
            (ty, v, raw),
            (ColumnType::Int, vec!["int 10".into(), "int 9".into()], true)
        );
        // a null's bytes are never read: it stays null
        let (ty, v, _) = respelled(
            text(&["1.5", "abc"], Some(&[true, false])),
            ColumnType::Text,
            Spelling::Text,
        );
        assert_eq!(
            (ty, v),
            (ColumnType::Float, vec!["float 1.5".into(), "null".into()])
        );
        // text stays text; a zero-padded integer keeps its column text
        for values in [&["10", "abc"][..], &["abc", "10"][..], &["007", "7"][..]] {
            let (ty, v, raw) = respelled(text(values, None), ColumnType::Text, Spelling::Text);
            assert_eq!(
                (ty, v, raw),
                (
                    ColumnType::Text,
                    values.iter().map(|s| s.to_string()).collect(),
                    false
                )
            );
        }
        // as typed where the source says so
        let (ty, _, _) = respelled(text(&["1"], None), ColumnType::Text, Spelling::AsTyped);
        assert_eq!(ty, ColumnType::Text);
    }

    #[test]
    fn written_texts_are_checked_and_read_by_row() {
        let offsets = [0, 2, 2, 5];
        let values = b"+71e3";
        // rows 0 and 2 have a text
        let valid = [0b101u8];
        let w = Written::new(&offsets, values, Some((&valid, 0)), 3).unwrap();
        assert_eq!(w.text(0), Some(&b"+7"[..]));
        assert_eq!(w.text(1), None);
        assert_eq!(w.text(2), Some(&b"1e3"[..]));
        // from row 1 of the bitmap on (a sliced array)
        let w = Written::new(&offsets[1..], values, Some((&valid, 1)), 2).unwrap();
        assert_eq!((w.text(0), w.text(1)), (None, Some(&b"1e3"[..])));
        let all = Written::new(&offsets, values, None, 3).unwrap();
        assert_eq!(all.text(1), Some(&b""[..]));
        // what cannot be the texts of 3 rows
        for (offsets, values, valid, why) in [
            (&[0, 2, 2][..], &values[..], None, "3 offsets for 3 rows"),
            (&[0, 2, 1, 5], values, None, "offsets out of order"),
            (&[-1, 2, 2, 5], values, None, "offsets out of order"),
            (&[0, 2, 2, 6], values, None, "past 5 bytes"),
            (
                &offsets,
                values,
                Some((&valid[..], 6)),
                "a bitmap of 1 bytes marks 3 rows",
            ),
            (&offsets, values, Some((&[][..], 0)), "a bitmap of 0 bytes"),
        ] {
            let err = Written::new(offsets, values, valid, 3).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    /// A text test of a number column reads a field's text as written
    /// where there is one, and the printed number elsewhere; a numeric
    /// test, the values.
    #[test]
    fn a_filter_reads_the_written_texts_of_a_number_column() {
        let plan = |filter: &str| {
            let header = vec!["n".to_string()];
            let expr = crate::filter::parse(filter).unwrap();
            let specs = parse_specs(&["count"]).unwrap();
            Plan::resolve_where(&header, &specs, &[], Some(&expr)).unwrap()
        };
        let v = [7i64, 8, 1000, 9];
        let offsets = [0, 2, 2, 5, 5];
        let valid = [0b0101u8];
        let texts = Written::new(&offsets, b"+71e3", Some((&valid, 0)), 4).unwrap();
        let kept = |filter: &str, rows: std::ops::Range<usize>| {
            let first = rows.start;
            let batch = Batch {
                codes: Vec::new(),
                len: rows.len(),
                columns: vec![Column {
                    len: rows.len(),
                    data: Data::Int(&v[rows.clone()]),
                    valid: None,
                    raw: None,
                }],
                types: vec![ColumnType::Int],
            };
            let spelling = [Spelling::Number {
                ints: None,
                texts: Some(texts),
            }];
            let mut counted = 0;
            let mut buckets = Buckets::default();
            fold_typed(
                &plan(filter),
                &batch,
                &spelling,
                first,
                Unreadable::NONE,
                &mut buckets,
                &mut |b| {
                    counted += b.len;
                    Ok(())
                },
            )
            .unwrap();
            counted
        };
        assert_eq!(kept("n like '+%'", 0..4), 1);
        assert_eq!(kept("n like '7'", 0..4), 0);
        assert_eq!(kept("n = '1e3'", 0..4), 1);
        assert_eq!(kept("n = '1000'", 0..4), 0);
        assert_eq!(kept("not n like '%e%'", 0..4), 3);
        assert_eq!(kept("n >= 8", 0..4), 3);
        // rows 2 and 3 of the column, as a batch of its own
        assert_eq!(kept("n = '1e3' or n = '9'", 2..4), 2);
    }

    #[test]
    fn a_float_column_of_marked_integers_is_those_integers() {
        // rows 1.. of the marks (row_of is r + 1): bits 1, 2, 3
        let floats: &'static [f64] = &[2.0, 9007199254740992.0, -0.5];
        let col = |len: usize, valid: Option<&'static [bool]>| Column {
            len,
            data: Data::Float(&floats[..len]),
            valid,
            raw: None,
        };
        let bits = [0b0110u8];
        let marks = IntMarks::new(Some((&bits, 0)), None, 4).unwrap();
        let (ty, v, _) = respelled(col(2, None), ColumnType::Float, marked(marks));
        assert_eq!(
            (ty, v),
            (
                ColumnType::Int,
                vec!["int 2".into(), "int 9007199254740992".into()]
            )
        );
        // an unmarked value keeps the column float; an unmarked null does not
        let (ty, _, _) = respelled(col(3, None), ColumnType::Float, marked(marks));
        assert_eq!(ty, ColumnType::Float);
        let (ty, v, _) = respelled(
            col(3, Some(&[true, true, false])),
            ColumnType::Float,
            marked(marks),
        );
        assert_eq!(
            (ty, &v[..2]),
            (
                ColumnType::Int,
                &["int 2".to_string(), "int 9007199254740992".into()][..]
            )
        );
        // the exact integers, where the float is not the value
        let exact = [0, 2, 9007199254740993, 0];
        let marks = IntMarks::new(Some((&bits, 0)), Some(&exact), 4).unwrap();
        let (_, v, _) = respelled(col(2, None), ColumnType::Float, marked(marks));
        assert_eq!(v, ["int 2", "int 9007199254740993"]);
        // a bit offset, and every row marked
        let shifted = [0b1100u8];
        let marks = IntMarks::new(Some((&shifted, 1)), None, 4).unwrap();
        assert_eq!(
            respelled(col(2, None), ColumnType::Float, marked(marks)).0,
            ColumnType::Int
        );
        let marks = IntMarks::new(None, None, 4).unwrap();
        assert_eq!(
            respelled(col(2, None), ColumnType::Float, marked(marks)).0,
            ColumnType::Int
        );
    }

    #[test]
    fn marks_must_cover_their_rows() {
        let bits = [0u8; 2];
        assert!(IntMarks::new(Some((&bits, 0)), None, 16).is_ok());
        assert!(IntMarks::new(Some((&bits, 1)), None, 16).is_err());
        assert!(IntMarks::new(Some((&bits, usize::MAX)), None, 1).is_err());
        assert!(IntMarks::new(None, Some(&[1, 2]), 3).is_err());
        assert!(IntMarks::new(None, Some(&[1, 2, 3]), 3).is_ok());
    }

    #[test]
    fn buckets_are_appended_and_rows_filtered() {
        let p = plan("month(ts)", Some("x > 1"));
        assert_eq!(p.keys, [2]);
        assert_eq!(p.output_names(), ["month_ts", "sum_x"]);
        let (got, err) = run(
            &p,
            &["2026-01-31", "", "2026-02-01T00:00+01:00"],
            &[1, 2, 3],
        );
        assert_eq!(err, None);
        assert_eq!(got, [("null".into(), 2), ("2026-01".into(), 3)]);
    }

    #[test]
    fn the_earliest_bad_row_wins() {
        // a bad time at row 2 (kept row 1): row 1 is folded, then the error
        let p = plan("day(ts)", Some("x != 2"));
        let (got, err) = run(
            &p,
            &["2026-01-31", "2026-02-01", "nope", "x"],
            &[1, 2, 3, 4],
        );
        assert_eq!(got, [("2026-01-31".into(), 1)]);
        let err = err.unwrap();
        assert_eq!((err.row, err.slot), (2, 0));
        assert!(
            err.message.starts_with("day(ts) needs a date-time"),
            "{err:?}"
        );
        // a rejected filter value after a bad time: the time's error
        let p = plan("day(ts)", Some("x > 0 or ts > 5"));
        let (_, err) = run(&p, &["1", "2026-02-30", "abc"], &[1, 2, -3]);
        assert_eq!(err.unwrap().row, 1);
        let (got, err) = run(&p, &["1", "7", "abc"], &[1, 2, -3]);
        assert_eq!(got.len(), 2);
        let err = err.unwrap();
        assert_eq!((err.row, err.slot), (2, 0));
        assert!(
            err.message.contains("needs a number, found \"abc\""),
            "{err:?}"
        );
    }

    /// A value the query cannot read (a typed input's date past 9999) is
    /// an error where the query reads it, and only there: a row `--where`
    /// drops has no say, as a bad time in a dropped CSV row has none. It
    /// was refused before the filter ran, in any row.
    #[test]
    fn an_unreadable_value_is_an_error_only_where_it_is_read() {
        let ts = ["2026-01-01", "2026-01-02", "2026-01-03"];
        let x = [1, 2, 3];
        let bad = |err: Option<BadRow>| {
            let err = err.expect("an error");
            (err.row, err.slot, err.message)
        };
        // no filter: every row is read, the rows before it folded first
        let (got, err) = run_far(&plan("day(ts)", None), &ts, &x, &[1]);
        assert_eq!(got, [("2026-01-01".into(), 1)]);
        assert_eq!(bad(err), (1, 0, "far 1 0".into()));
        // dropped by the filter: never read
        let p = plan("day(ts)", Some("x != 2"));
        let (got, err) = run_far(&p, &ts, &x, &[1]);
        assert_eq!(err, None);
        assert_eq!(got, [("2026-01-01".into(), 1), ("2026-01-03".into(), 3)]);
        let (got, err) = run_far(&plan("year(ts)", Some("x > 5")), &ts, &x, &[0, 1, 2]);
        assert_eq!((got.len(), err), (0, None));
        // kept: an error at its row, the kept rows before it folded
        let (got, err) = run_far(&p, &ts, &x, &[1, 2]);
        assert_eq!(got, [("2026-01-01".into(), 1)]);
        assert_eq!(bad(err), (2, 0, "far 2 0".into()));
        // in a column the filter reads (by its text): in any row
        let p = plan("day(ts)", Some("x != 2 and ts > '2000'"));
        let (got, err) = run_far(&p, &ts, &x, &[1]);
        assert_eq!(got, [("2026-01-01".into(), 1)]);
        assert_eq!(bad(err), (1, 0, "far 1 0".into()));
        // an earlier row's error wins: a bad time in a kept row
        let p = plan("day(ts)", Some("x != 3"));
        let (got, err) = run_far(&p, &["nope", "2026-01-02", "2026-01-03"], &x, &[1]);
        assert_eq!((got.len(), bad(err).0), (0, 0));
    }

    /// A typed source's float (a Parquet `DOUBLE`, a decimal with a
    /// fraction) is no epoch second, not even a whole one: over a CSV
    /// `1700000000.0` is an error, so it is one here too, in the rows the
    /// filter keeps. Whole floats were read as epoch seconds.
    #[test]
    fn a_typed_float_is_no_epoch_second() {
        let ts = [1_700_000_000.0, 86_400.0, 0.0];
        let valid = [true, true, false];
        let x = [1i64, 2, 3];
        let batch = Batch {
            codes: Vec::new(),
            len: 3,
            columns: vec![
                Column {
                    len: 3,
                    data: Data::Float(&ts),
                    valid: Some(&valid),
                    raw: None,
                },
                Column {
                    len: 3,
                    data: Data::Int(&x),
                    valid: None,
                    raw: None,
                },
            ],
            types: vec![ColumnType::Float, ColumnType::Int],
        };
        let fold = |filter: Option<&str>| {
            let p = plan("day(ts)", filter);
            let mut rows = 0;
            let mut on = |b: &Batch<'_>| -> Result<(), BadRow> {
                rows += b.len;
                Ok(())
            };
            let none = Unreadable::NONE;
            let err = fold_typed(&p, &batch, &[], 0, none, &mut Buckets::default(), &mut on);
            (rows, err.err().map(|e| (e.row, e.slot, e.message)))
        };
        let found = |v: &str| {
            format!(
                "day(ts) needs a date-time or epoch seconds, found \"{v}\": {}",
                TimeError::Malformed
            )
        };
        assert_eq!(fold(None), (0, Some((0, 0, found("1700000000.0")))));
        assert_eq!(fold(Some("x != 1")), (0, Some((1, 0, found("86400.0")))));
        // only the null is kept: its key is null
        assert_eq!(fold(Some("x = 3")), (1, None));
    }

    #[test]
    fn bucket_keys_are_told_from_columns() {
        let header: Vec<String> = ["ts", "day_ts"].iter().map(|s| s.to_string()).collect();
        let specs = parse_specs(&["count"]).unwrap();
        let by = parse_columns(&["day(ts),day_ts"], "--by").unwrap();
        let err = Plan::resolve(&header, &specs, &by).unwrap_err();
        assert!(
            err.to_string().contains("'day_ts' would appear twice")
                && err
                    .to_string()
                    .ends_with("must be unique: group by one of them"),
            "{err}"
        );
        let by = parse_columns(&["day(ts),DAY( ts )"], "--by").unwrap();
        assert!(Plan::resolve(&header, &specs, &by).is_err());
        let by = parse_columns(&["ts,day(ts),hour(ts),\"day(ts)\""], "--by");
        // a quoted term names a column, here one that does not exist
        let err = Plan::resolve(&header, &specs, &by.unwrap()).unwrap_err();
        assert!(err.to_string().contains("unknown column"), "{err}");
        let by = parse_columns(&["ts,day(ts),hour(ts)"], "--by").unwrap();
        let p = Plan::resolve(&header, &specs, &by).unwrap();
        assert_eq!(p.keys, [0, 1, 2]);
        assert_eq!(p.output_names(), ["ts", "day_ts", "hour_ts", "count"]);
    }
}
