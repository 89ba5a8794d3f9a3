//! Evaluating a bound `--where` expression on a columnar batch.
//!
//! A test computes a truth value per row, coded `FALSE < UNKNOWN < TRUE`
//! (0, 1, 2), so that `not` is `2 - v`. A node is given a *selection* (the
//! rows it must decide, ascending) and writes only those rows of its output.
//! A test's loop is chosen once per batch by the column's type (integer,
//! float, text), so that no per-row dispatch remains.
//!
//! # Only what decides the row
//!
//! A row is kept when the expression is `TRUE`; whether a dropped row is
//! `FALSE` or `UNKNOWN` makes no difference. So a node is asked one yes/no
//! question, its *target*: "is the value `TRUE`?" (the root), or "is it
//! `FALSE`?" (under a `not`, which swaps the target: `not v` is true exactly
//! where `v` is false). Its output answers that question only: `out[r] ==
//! target` exactly where the value is the target, while a row where it is
//! not may be left either of the two other values. The question decides
//! which rows each next term of an `and`/`or` must see:
//!
//! | node | target `TRUE` | target `FALSE` |
//! | --- | --- | --- |
//! | `a and b` | `b` where `a` is true | `b` where `a` is not false |
//! | `a or b`  | `b` where `a` is not true | `b` where `a` is false |
//!
//! Everywhere else `b` cannot change whether the row is kept, so it is not
//! evaluated: in `k = 'a' and x > 5`, `x` is read only where `k` is `a`,
//! not where `k` is null (`null and anything` is never true). Under a `not`
//! a null first term does leave the second open: `not (k = 'a' and x > 5)`
//! is true where `k` is null and `x > 5` false, so `x` is read there. Each
//! term is asked its `and`/`or`'s question, so the rule holds at every
//! depth. (SQL's usual short-circuit, no `b` where `a` is false in an `and`
//! or true in an `or`, is the part of the table both targets share.)
//!
//! # Errors
//!
//! A numeric test meeting a field that is not a number stops the batch. The
//! report must be the row that row-by-row evaluation (left to right, asking
//! the same questions, with the same short-circuits) would stop at: the
//! least row where *any* evaluated test rejects. Since the selections are
//! exactly the rows row-by-row evaluation visits, every test only looks at
//! rows before the least rejection found so far, and a later test may lower
//! it.

use std::io::Write as _;

use regex::bytes::Regex;

use super::like::LikePattern;
use super::number::{
    classify, may_hide_an_integer, BetweenTest, CmpOp, CmpTest, InTest, NumLit, NumTest,
};
use super::{Expr, Literal, Node, TestKind};
use crate::batch::Batch;
use crate::value::{Column, Data};

const FALSE: u8 = 0;
const UNKNOWN: u8 = 1;
const TRUE: u8 = 2;

#[inline(always)]
fn truth(b: bool) -> u8 {
    (b as u8) << 1
}

/// A numeric test met a field that is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// The row in the batch.
    pub row: usize,
    /// The slot (index in `Batch::columns`) of the field.
    pub slot: usize,
    /// Which test rejected it, for [`Bound::message`].
    pub test: usize,
}

/// An expression bound to batch slots, ready to evaluate batches. Cheap to
/// share between threads (`Sync`).
#[derive(Clone, Debug)]
pub struct Bound {
    root: BNode,
    /// The slots read, ascending, each once.
    slots: Vec<usize>,
    /// The slots a text test reads, ascending, each once.
    text_slots: Vec<usize>,
    /// Each test in the canonical form, by test number.
    tests: Vec<String>,
}

#[derive(Clone, Debug)]
enum BNode {
    And(Vec<BNode>),
    Or(Vec<BNode>),
    Not(Box<BNode>),
    Leaf(Leaf),
}

#[derive(Clone, Debug)]
struct Leaf {
    slot: usize,
    /// Index into `Bound::tests`.
    test: usize,
    negated: bool,
    kind: LeafKind,
}

#[derive(Clone, Debug)]
enum LeafKind {
    IsNull,
    Cmp(CmpTest),
    Between(Box<BetweenTest>),
    In(InTest),
    TextCmp(CmpOp, Vec<u8>),
    TextBetween(Vec<u8>, Vec<u8>),
    /// Sorted.
    TextIn(Vec<Vec<u8>>),
    Like(LikePattern),
    Regex(Regex),
}

impl LeafKind {
    /// Whether the test reads the field's text ([`textual`]).
    fn reads_text(&self) -> bool {
        match self {
            LeafKind::IsNull | LeafKind::Cmp(_) | LeafKind::Between(_) | LeafKind::In(_) => false,
            LeafKind::TextCmp(..)
            | LeafKind::TextBetween(..)
            | LeafKind::TextIn(_)
            | LeafKind::Like(_)
            | LeafKind::Regex(_) => true,
        }
    }
}

/// The rows a node must decide.
#[derive(Clone, Copy)]
enum Sel<'s> {
    /// `0..n`.
    All(usize),
    /// These rows, ascending.
    Rows(&'s [u32]),
}

impl Sel<'_> {
    /// Only the rows before `limit`.
    fn before(self, limit: usize) -> Self {
        match self {
            Sel::All(n) => Sel::All(n.min(limit)),
            Sel::Rows(r) => Sel::Rows(&r[..r.partition_point(|&x| (x as usize) < limit)]),
        }
    }

    #[inline(always)]
    fn for_each(self, mut f: impl FnMut(usize)) {
        match self {
            Sel::All(n) => (0..n).for_each(f),
            Sel::Rows(rows) => rows.iter().for_each(|&r| f(r as usize)),
        }
    }

    /// Like `for_each`, stopping at the first `Err` (a rejected row).
    #[inline(always)]
    fn try_for_each(self, mut f: impl FnMut(usize) -> Result<(), usize>) -> Result<(), usize> {
        match self {
            Sel::All(n) => (0..n).try_for_each(f),
            Sel::Rows(rows) => rows.iter().try_for_each(|&r| f(r as usize)),
        }
    }

    fn collect_where(self, out: &[u8], keep: impl Fn(u8) -> bool, into: &mut Vec<u32>) {
        into.clear();
        self.for_each(|r| {
            if keep(out[r]) {
                into.push(r as u32);
            }
        });
    }
}

/// State of one evaluation.
struct Ctx<'b, 'a> {
    batch: &'b Batch<'a>,
    /// Rows from here on need no answer: an earlier one was rejected.
    limit: usize,
    rejected: Option<Rejected>,
    /// Scratch for the text of a number with no source text.
    text: Vec<u8>,
}

impl Bound {
    pub(crate) fn new(expr: &Expr, slots: &[usize]) -> Bound {
        assert_eq!(slots.len(), expr.columns().len(), "one slot per column");
        let mut tests = Vec::new();
        let root = Self::build(expr, expr.root(), slots, &mut tests);
        let mut used = slots.to_vec();
        used.sort_unstable();
        used.dedup();
        let mut text_slots = Vec::new();
        Self::text_leaves(&root, &mut text_slots);
        text_slots.sort_unstable();
        text_slots.dedup();
        Bound {
            root,
            slots: used,
            text_slots,
            tests,
        }
    }

    /// Adds the slot of each text test under `node` to `into`.
    fn text_leaves(node: &BNode, into: &mut Vec<usize>) {
        match node {
            BNode::And(items) | BNode::Or(items) => {
                items.iter().for_each(|n| Self::text_leaves(n, into))
            }
            BNode::Not(inner) => Self::text_leaves(inner, into),
            BNode::Leaf(leaf) => {
                if leaf.kind.reads_text() {
                    into.push(leaf.slot);
                }
            }
        }
    }

    fn build(expr: &Expr, node: &Node, slots: &[usize], tests: &mut Vec<String>) -> BNode {
        let all = |items: &[Node], tests: &mut Vec<String>| {
            items
                .iter()
                .map(|n| Self::build(expr, n, slots, tests))
                .collect()
        };
        match node {
            Node::And(items) => BNode::And(all(items, tests)),
            Node::Or(items) => BNode::Or(all(items, tests)),
            Node::Not(inner) => BNode::Not(Box::new(Self::build(expr, inner, slots, tests))),
            Node::Test(t) => {
                let number = |l: &Literal| match l {
                    Literal::Number(n) => NumLit::clone(n),
                    Literal::Text(_) => unreachable!("the parser checks literal kinds"),
                };
                let text = |l: &Literal| match l {
                    Literal::Text(s) => s.as_bytes().to_vec(),
                    Literal::Number(_) => unreachable!("the parser checks literal kinds"),
                };
                let (negated, kind) = match &t.kind {
                    TestKind::Compare(op, Literal::Number(n)) => {
                        (false, LeafKind::Cmp(CmpTest::new(*op, NumLit::clone(n))))
                    }
                    TestKind::Compare(op, Literal::Text(s)) => {
                        (false, LeafKind::TextCmp(*op, s.as_bytes().to_vec()))
                    }
                    TestKind::In { negated, list } => match &list[0] {
                        Literal::Number(_) => (
                            *negated,
                            LeafKind::In(InTest::new(list.iter().map(number).collect())),
                        ),
                        Literal::Text(_) => {
                            let mut set: Vec<Vec<u8>> = list.iter().map(text).collect();
                            set.sort_unstable();
                            set.dedup();
                            (*negated, LeafKind::TextIn(set))
                        }
                    },
                    TestKind::Between { negated, low, high } => match low {
                        Literal::Number(n) => (
                            *negated,
                            LeafKind::Between(Box::new(BetweenTest::new(
                                NumLit::clone(n),
                                number(high),
                            ))),
                        ),
                        Literal::Text(s) => (
                            *negated,
                            LeafKind::TextBetween(s.as_bytes().to_vec(), text(high)),
                        ),
                    },
                    TestKind::IsNull { negated } => (*negated, LeafKind::IsNull),
                    TestKind::Like {
                        negated, compiled, ..
                    } => (*negated, LeafKind::Like(compiled.clone())),
                    TestKind::Regex { negated, regex } => {
                        (*negated, LeafKind::Regex(regex.clone()))
                    }
                };
                tests.push(expr.test_text(t));
                BNode::Leaf(Leaf {
                    slot: slots[t.column],
                    test: tests.len() - 1,
                    negated,
                    kind,
                })
            }
        }
    }

    /// The slots the expression reads, ascending.
    pub fn slots(&self) -> &[usize] {
        &self.slots
    }

    /// The slots a text test (a text literal, `like`, `~`) reads, ascending:
    /// of a number column, such a test reads the field's text, not its
    /// value (a numeric test reads the text of none but an integral value
    /// of 2^53 or more, to tell which integer it was).
    pub fn text_slots(&self) -> &[usize] {
        &self.text_slots
    }

    /// The slot of the test that sees every row of a batch (the first term
    /// of each `and`/`or` down from the root). The other
    /// tests see only the rows still undecided, so a source may hand their
    /// columns over as text rather than parse every field first: a numeric
    /// test reads a text field by the same rule (see [`super::number`]).
    pub fn leading_slot(&self) -> usize {
        let mut node = &self.root;
        loop {
            match node {
                BNode::And(items) | BNode::Or(items) => node = &items[0],
                BNode::Not(inner) => node = inner,
                BNode::Leaf(leaf) => return leaf.slot,
            }
        }
    }

    /// Sets `keep[i]` (for every row `i` of the batch) to whether the
    /// expression is true for row `i`.
    pub fn eval(&self, batch: &Batch<'_>, keep: &mut Vec<bool>) -> Result<(), Rejected> {
        let out = self.truths(batch)?;
        keep.clear();
        keep.extend(out.iter().map(|&v| v == TRUE));
        Ok(())
    }

    /// Sets `rows` to the rows for which the expression is true, ascending
    /// (what `Rows::Some` takes).
    pub fn select(&self, batch: &Batch<'_>, rows: &mut Vec<u32>) -> Result<(), Rejected> {
        let out = self.truths(batch)?;
        Sel::All(batch.len).collect_where(&out, |v| v == TRUE, rows);
        Ok(())
    }

    /// The message for a rejected field whose text is `value`, e.g.
    /// `--where price > 3 needs a number, found "n/a"` (the caller adds
    /// `FILE:LINE: column 'price': `).
    pub fn message(&self, rejected: &Rejected, value: &[u8]) -> String {
        format!(
            "--where {} needs a number, found {}",
            crate::error::show_code(&self.tests[rejected.test]),
            crate::error::show_value(value)
        )
    }

    /// Each row's answer to "is the expression true?": `TRUE` where it is,
    /// `FALSE` or `UNKNOWN` where not (see the module docs).
    fn truths(&self, batch: &Batch<'_>) -> Result<Vec<u8>, Rejected> {
        let mut out = vec![FALSE; batch.len];
        let mut ctx = Ctx {
            batch,
            limit: batch.len,
            rejected: None,
            text: Vec::new(),
        };
        eval_node(&self.root, Sel::All(batch.len), TRUE, &mut out, &mut ctx);
        match ctx.rejected {
            Some(r) => Err(r),
            None => Ok(out),
        }
    }
}

/// Writes, for each row of `sel`, whether `node` is `target` (`TRUE` or
/// `FALSE`): `out[r] == target` exactly where it is.
fn eval_node(node: &BNode, sel: Sel<'_>, target: u8, out: &mut [u8], ctx: &mut Ctx<'_, '_>) {
    match node {
        BNode::Leaf(leaf) => eval_leaf(leaf, sel.before(ctx.limit), out, ctx),
        BNode::Not(inner) => {
            // `not v` is true where `v` is false, and false where true
            eval_node(inner, sel, TRUE - target, out, ctx);
            sel.for_each(|r| out[r] = TRUE - out[r]);
        }
        // `and` is true when every term is, false when any is; `or` the
        // other way round
        BNode::And(items) => combine(items, sel, target, target == TRUE, out, ctx),
        BNode::Or(items) => combine(items, sel, target, target == FALSE, out, ctx),
    }
}

/// `and`/`or` asked for `target`: it is the target when `every` term is
/// (else when any is). Each next term runs only on the rows the ones
/// before left open: for `every`, those where each term so far is the
/// target; otherwise those where none is.
fn combine(
    items: &[BNode],
    sel: Sel<'_>,
    target: u8,
    every: bool,
    out: &mut [u8],
    ctx: &mut Ctx<'_, '_>,
) {
    let (first, rest) = items.split_first().expect("a term");
    eval_node(first, sel, target, out, ctx);
    if rest.is_empty() {
        return;
    }
    let open = |v: u8| (v == target) == every;
    let mut pending = Vec::new();
    sel.before(ctx.limit).collect_where(out, open, &mut pending);
    let mut next = vec![FALSE; out.len()];
    for item in rest {
        if pending.is_empty() {
            break;
        }
        eval_node(item, Sel::Rows(&pending), target, &mut next, ctx);
        let limit = ctx.limit;
        pending.retain(|&r| {
            let r = r as usize;
            // on an open row, the row is the target iff this term is
            out[r] = next[r];
            open(out[r]) && r < limit
        });
    }
}

fn eval_leaf(leaf: &Leaf, sel: Sel<'_>, out: &mut [u8], ctx: &mut Ctx<'_, '_>) {
    let col = ctx.batch.columns[leaf.slot];
    let neg = leaf.negated;
    let done = match &leaf.kind {
        LeafKind::IsNull => {
            if matches!(col.data, Data::Rows) {
                sel.for_each(|r| out[r] = truth(!neg));
            } else {
                sel.for_each(|r| out[r] = truth(col.is_valid(r) == neg));
            }
            Ok(())
        }
        LeafKind::Cmp(t) => numeric(t, neg, &col, sel, out),
        LeafKind::Between(t) => numeric(&**t, neg, &col, sel, out),
        LeafKind::In(t) => numeric(t, neg, &col, sel, out),
        LeafKind::TextCmp(op, lit) => {
            textual(|s| op.holds(s.cmp(lit)), neg, &col, sel, out, ctx);
            Ok(())
        }
        LeafKind::TextBetween(lo, hi) => {
            textual(
                |s| s >= lo.as_slice() && s <= hi.as_slice(),
                neg,
                &col,
                sel,
                out,
                ctx,
            );
            Ok(())
        }
        LeafKind::TextIn(set) => {
            textual(
                |s| set.binary_search_by(|x| x.as_slice().cmp(s)).is_ok(),
                neg,
                &col,
                sel,
                out,
                ctx,
            );
            Ok(())
        }
        LeafKind::Like(p) => {
            textual(|s| p.matches(s), neg, &col, sel, out, ctx);
            Ok(())
        }
        LeafKind::Regex(re) => {
            textual(|s| re.is_match(s), neg, &col, sel, out, ctx);
            Ok(())
        }
    };
    if let Err(row) = done {
        // the first rejection of this test; an earlier test's is later
        // (it only looked at rows before `limit`)
        ctx.limit = row;
        ctx.rejected = Some(Rejected {
            row,
            slot: leaf.slot,
            test: leaf.test,
        });
    }
}

/// A numeric test over the selected rows; `Err(row)` at the first field
/// that is not a number.
fn numeric<T: NumTest>(
    t: &T,
    neg: bool,
    col: &Column<'_>,
    sel: Sel<'_>,
    out: &mut [u8],
) -> Result<(), usize> {
    match col.data {
        Data::Rows => sel.for_each(|r| out[r] = UNKNOWN),
        Data::Int(v) => match (sel, col.valid) {
            // the common case, one tight loop
            (Sel::All(n), None) => {
                for (o, &x) in out[..n].iter_mut().zip(&v[..n]) {
                    *o = truth(t.int(x) != neg);
                }
            }
            (_, valid) => sel.for_each(|r| {
                out[r] = match valid {
                    Some(ok) if !ok[r] => UNKNOWN,
                    _ => truth(t.int(v[r]) != neg),
                }
            }),
        },
        Data::Float(v) => sel.for_each(|r| {
            if !col.is_valid(r) {
                out[r] = UNKNOWN;
                return;
            }
            let d = v[r];
            let holds = if may_hide_an_integer(d) {
                // an integral value of 2^53 or more may be an integer
                // that is not this double: decide by the text
                match col.raw.and_then(|raw| classify(raw[r])) {
                    Some(n) => t.field(&n),
                    None => t.double(d),
                }
            } else {
                t.double(d)
            };
            out[r] = truth(holds != neg);
        }),
        Data::Text(s) => {
            return sel.try_for_each(|r| {
                if !col.is_valid(r) {
                    out[r] = UNKNOWN;
                    return Ok(());
                }
                match classify(s[r]) {
                    Some(n) => {
                        out[r] = truth(t.field(&n) != neg);
                        Ok(())
                    }
                    None => Err(r),
                }
            })
        }
    }
    Ok(())
}

/// A test of the field's text over the selected rows.
fn textual(
    test: impl Fn(&[u8]) -> bool,
    neg: bool,
    col: &Column<'_>,
    sel: Sel<'_>,
    out: &mut [u8],
    ctx: &mut Ctx<'_, '_>,
) {
    let text = &mut ctx.text;
    let run = |s: &[u8], r: usize, out: &mut [u8]| out[r] = truth(test(s) != neg);
    match (col.data, col.raw) {
        (Data::Rows, _) => sel.for_each(|r| out[r] = UNKNOWN),
        (Data::Text(s), _) | (Data::Int(_) | Data::Float(_), Some(s)) => sel.for_each(|r| {
            if col.is_valid(r) {
                run(s[r], r, out)
            } else {
                out[r] = UNKNOWN
            }
        }),
        // no source text: the number as the CSV writer prints it (as
        // `batch::encode_key` writes key text)
        (Data::Int(v), None) => {
            let print = |t: &mut Vec<u8>, r: usize| write!(t, "{}", v[r]);
            each_printed(col, sel, text, out, print, run)
        }
        (Data::Float(v), None) => {
            let print = |t: &mut Vec<u8>, r: usize| write!(t, "{:?}", v[r]);
            each_printed(col, sel, text, out, print, run)
        }
    }
}

/// Writes `run`'s truth for the text `print` writes of each selected valid
/// row (into the reused buffer `text`), and `UNKNOWN` for each null one.
fn each_printed(
    col: &Column<'_>,
    sel: Sel<'_>,
    text: &mut Vec<u8>,
    out: &mut [u8],
    print: impl Fn(&mut Vec<u8>, usize) -> std::io::Result<()>,
    run: impl Fn(&[u8], usize, &mut [u8]),
) {
    sel.for_each(|r| {
        if col.is_valid(r) {
            text.clear();
            print(text, r).expect("write to a Vec");
            run(text, r, out)
        } else {
            out[r] = UNKNOWN
        }
    })
}
