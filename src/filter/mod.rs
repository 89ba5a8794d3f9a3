//! `--where EXPR`: which rows an aggregation reads.
//!
//! ```text
//! city in ('Paris', 'Lisbon') and not (price < 0 or qty is null)
//! "unit price" between 1 and 9.99 or sku like 'A-%' or note ~ '(?i)refund'
//! ```
//!
//! (In a shell, double quotes around such an expression keep its single
//! quotes: `--where "city = 'Paris'"`.)
//!
//! # Language
//!
//! `or`, `and`, `not` and parentheses, with SQL's precedence (`not` binds
//! tightest, then `and`, then `or`), over tests of one column against
//! literals: `=` (`==`), `!=` (`<>`), `<`, `<=`, `>`, `>=`; `[not] in (...)`;
//! `[not] between LOW and HIGH` (both bounds included); `is [not] null`;
//! `[not] like 'pattern'` (SQL `LIKE`: `%` any run, `_` one character,
//! backslash escapes, whole field, case-sensitive; see [`like`]); `~ 'regex'`
//! and `!~ 'regex'` (Rust `regex` syntax, matched anywhere in the field as
//! PostgreSQL's `~` does; anchor with `^...$`). Keywords are
//! case-insensitive and reserved. A column is a bare name
//! (`[A-Za-z_][A-Za-z0-9_]*`) or a name in double quotes (`"unit price"`,
//! `""` for a quote inside), optionally followed by `#N`, the N-th column
//! of that name when the header repeats it (as in `--agg`); text literals
//! are in single quotes (`''` inside); number literals are decimals with an
//! optional sign and exponent (`-1.5e3`). The grammar is in [`parse`](mod@parse).
//!
//! # Meaning
//!
//! The kind of the literal decides the comparison, never the type of the
//! column (which may differ between batches of one input):
//!
//! - **a number literal compares numerically**. A field that is not a
//!   number is a data error ([`Rejected`]), as it is for `sum`. Integers
//!   are compared *exactly*, also with fractional literals and beyond 2^53
//!   (`x < 2.5` is `x <= 2`; `x = 9007199254740993` is not
//!   `9007199254740992`), and so are integers wider than 64 bits. Other
//!   numbers are doubles, each the number rayproc prints for it (the
//!   shortest decimal that reads back as that double), compared with the
//!   literal exactly too: `x = 0.1` finds the fields written `0.1`, and `1`
//!   and `1.0` compare alike with every literal, also one that no double
//!   holds (`x < 1.0000000000000000001` is true for both). A Parquet or
//!   Arrow double is the same number as the CSV field it was written from.
//!   The infinities are beyond every literal (`1e400` too), NaN above every
//!   number (as in `max` and in key order), `-0.0` equals `0`. The rule is
//!   decided by each field's text, so a row's fate does not depend on how
//!   the input is cut into batches; see [`number`].
//! - **a text literal compares the field's text** (CSV-unquoted), in byte
//!   order, as `min`/`max` order text. For a number column this is its text
//!   as written in the input; where the source has no text (Parquet, Arrow)
//!   it is the number as the CSV writer prints it (`7`, `2.5`, `1e-7`).
//! - `in` and `between` compare each literal as above; their literals must
//!   all be numbers or all be text.
//!
//! **Nulls** (empty fields) follow SQL's three-valued logic: a test of a
//! null is *unknown*, except `is [not] null`; `not unknown` is unknown;
//! `false and unknown` is false, `true or unknown` is true, otherwise
//! unknown wins over true in `and` and over false in `or`. A row is kept
//! only when the whole expression is true: `x != 5` drops the rows where
//! `x` is null, `x != 5 or x is null` keeps them.
//!
//! # Evaluation
//!
//! [`Expr::bind`] maps the expression's columns to batch slots, giving a
//! [`Bound`] that evaluates a whole [`Batch`] at a time, node by node: a
//! test runs one loop over its column (type dispatch outside the loop), and
//! `and`/`or` evaluate each next term only on the rows where it can still
//! change whether the row is kept: in `k = 'a' and x > 0`, `x` is read
//! only where `k` is `a` (not where `k` is null: the row is dropped
//! whatever `x` is), while in `not (k = 'a' and x > 0)` it is read where
//! `k` is `a` or null (`not (null and false)` is true); see [`eval`]. A
//! non-number met by a numeric test is reported at the earliest row where
//! row-by-row evaluation (left to right, with these short-circuits) would
//! meet one, whatever the batch, so the error is the same for every
//! `--partitions`.

pub mod eval;
pub mod like;
pub mod number;
mod parse;

#[cfg(test)]
mod tests;

use std::fmt;

pub use eval::{Bound, Rejected};
pub use number::{CmpOp, NumLit};
pub use parse::{parse, parse_bytes, ParseError};

#[cfg(doc)]
use crate::batch::Batch;
use crate::error::{show_code, show_name};
use crate::spec::{column_list, nearest, some_of, ColumnRef};

/// A parsed `--where` expression.
#[derive(Clone, Debug)]
pub struct Expr {
    text: String,
    root: Node,
    /// The distinct columns, in order of first mention.
    columns: Vec<ColumnRef>,
    /// The byte offset of each column's first mention.
    offsets: Vec<usize>,
}

/// A node of the expression tree.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Test(Test),
}

/// A test of one column.
#[derive(Clone, Debug)]
pub(crate) struct Test {
    /// Index into [`Expr::columns`].
    pub column: usize,
    pub kind: TestKind,
}

#[derive(Clone, Debug)]
pub(crate) enum TestKind {
    Compare(CmpOp, Literal),
    /// The literals are all numbers or all text.
    In {
        negated: bool,
        list: Vec<Literal>,
    },
    /// Both bounds numbers, or both text.
    Between {
        negated: bool,
        low: Literal,
        high: Literal,
    },
    IsNull {
        negated: bool,
    },
    Like {
        negated: bool,
        pattern: String,
        compiled: like::LikePattern,
    },
    Regex {
        negated: bool,
        regex: regex::bytes::Regex,
    },
}

#[derive(Clone, Debug)]
pub(crate) enum Literal {
    Number(Box<NumLit>),
    Text(String),
}

/// How `--where` writes the `n`-th column called `name`: `name#n`, or
/// `"name"#n` where the bare form would mean a column literally called
/// `name#n` (or `name` needs quotes).
fn numbered(header: &[String], name: &str, n: usize) -> String {
    let bare = format!("{name}#{n}");
    if parse::write_name(name) == name && !header.contains(&bare) {
        bare
    } else {
        format!("\"{}\"#{n}", name.replace('"', "\"\""))
    }
}

impl Expr {
    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The columns the expression reads, each once, in order of first
    /// mention: the caller gives each a batch slot (see [`Expr::bind`]).
    pub fn columns(&self) -> &[ColumnRef] {
        &self.columns
    }

    /// The header position of each of [`Expr::columns`]. An unknown column
    /// is an error positioned at its first mention, suggesting the nearest
    /// name ([`crate::spec::nearest`], as for `--agg`) and listing the
    /// columns; a name the header repeats must be picked as `NAME#N`.
    pub fn resolve(&self, header: &[String]) -> Result<Vec<usize>, ParseError> {
        self.columns
            .iter()
            .zip(&self.offsets)
            .map(|(c, &at)| self.position(header, c, at))
            .collect()
    }

    fn position(&self, header: &[String], c: &ColumnRef, at: usize) -> Result<usize, ParseError> {
        let positions = |name: &str| -> Vec<usize> {
            (0..header.len()).filter(|&i| header[i] == name).collect()
        };
        // a bare `k#2` means the column literally called so, if there is
        // one (as in `--agg` and `--by`: `crate::plan`)
        let (name, occurrence) = match &c.literal {
            Some(literal) if !positions(literal).is_empty() => (literal.as_str(), None),
            _ => (c.name.as_str(), c.occurrence),
        };
        let found = positions(name);
        let error = |message: String| ParseError::new(&self.text, at, message);
        // the column as written, within reason
        let shown = show_code(&parse::clip(&c.text)).into_owned();
        let listed = || {
            format!(
                "the input has {} columns named '{}' (columns {})",
                found.len(),
                show_name(name),
                some_of(found.iter().map(|i| (i + 1).to_string()))
            )
        };
        match (occurrence, found.len()) {
            (_, 0) => {
                let mut note = String::new();
                if let Some(near) = nearest(&c.name, header.iter().map(String::as_str)) {
                    note = format!("did you mean {}?\n", show_name(&parse::write_name(near)));
                }
                if let Some(hint) = crate::spec::delimiter_hint(&c.name, header) {
                    note.push_str(&format!("{hint}\n"));
                }
                if header.is_empty() {
                    note.push_str("the input has no columns");
                } else {
                    note.push_str(&format!("available columns: {}", column_list(header)));
                }
                Err(error(format!("unknown column {shown}")).with_note(note))
            }
            (None, 1) => Ok(found[0]),
            (None, n) => {
                let picks = (1..n + 1).map(|i| show_name(&numbered(header, name, i)).into_owned());
                Err(
                    error(format!("column {shown} is ambiguous")).with_note(format!(
                        "{}; pick one by its number: {}",
                        listed(),
                        some_of(picks)
                    )),
                )
            }
            (Some(n), count) if n <= count => Ok(found[n - 1]),
            (Some(_), 1) => Err(error(format!("no column {shown}")).with_note(format!(
                "the input has one column named '{}' (column {})",
                show_name(name),
                found[0] + 1
            ))),
            (Some(_), _) => Err(error(format!("no column {shown}")).with_note(listed())),
        }
    }

    /// Binds the expression to batch slots: `slot_of` is called once for
    /// each of [`Expr::columns`], in order, and gives the index in
    /// [`Batch::columns`] where that column will be.
    pub fn bind<E>(
        &self,
        mut slot_of: impl FnMut(&ColumnRef) -> Result<usize, E>,
    ) -> Result<Bound, E> {
        let slots = self
            .columns
            .iter()
            .map(&mut slot_of)
            .collect::<Result<Vec<_>, E>>()?;
        Ok(Bound::new(self, &slots))
    }

    /// Binds to batches whose slots are the header's positions
    /// ([`Expr::resolve`]).
    pub fn bind_header(&self, header: &[String]) -> Result<Bound, ParseError> {
        let positions = self.resolve(header)?;
        Ok(Bound::new(self, &positions))
    }

    pub(crate) fn root(&self) -> &Node {
        &self.root
    }

    /// A test written back in the canonical form.
    pub(crate) fn test_text(&self, t: &Test) -> String {
        let mut s = String::new();
        (self.write_test(&mut s, t, &self.references())).expect("write to a String");
        s
    }

    /// The canonical form with every column named as `header` needs it
    /// ([`Display`](fmt::Display) names them as written): `k#2` and
    /// `"k"#2`, or `x` and `x#1` in a header with one `x`, are one column
    /// there and are written alike, and two references to different
    /// columns never are. What a partial's header records, so that the
    /// reducer, which plans the query again from this text and the same
    /// header, reads the columns the map read, and merges exactly the parts
    /// of one query. `None` if a column is not in `header`.
    pub fn canonical(&self, header: &[String]) -> Option<String> {
        let positions = self.resolve(header).ok()?;
        let names = (positions.iter())
            .map(|&p| {
                let name = &header[p];
                let before = header[..p].iter().filter(|h| *h == name).count();
                if before == 0 && !header[p + 1..].contains(name) {
                    parse::write_name(name)
                } else {
                    numbered(header, name, before + 1)
                }
            })
            .collect::<Vec<_>>();
        let mut s = String::new();
        (self.write_node(&mut s, &self.root, &names)).expect("write to a String");
        Some(s)
    }

    /// Each of [`Expr::columns`] as the canonical form writes it without a
    /// header: as written, up to quotes. A quoted `"k"#2` stays quoted, as
    /// a bare `k#2` may mean a column literally called so.
    fn references(&self) -> Vec<String> {
        (self.columns.iter())
            .map(|c| match (c.occurrence, &c.literal) {
                (None, _) => parse::write_name(&c.name),
                // bare as written: `name` needs no quotes
                (Some(n), Some(_)) => format!("{}#{n}", c.name),
                (Some(n), None) => format!("\"{}\"#{n}", c.name.replace('"', "\"\"")),
            })
            .collect()
    }

    fn write_node(&self, f: &mut impl fmt::Write, node: &Node, names: &[String]) -> fmt::Result {
        let list = |f: &mut dyn fmt::Write, items: &[Node], sep: &str| -> fmt::Result {
            f.write_char('(')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                let mut s = String::new();
                self.write_node(&mut s, item, names)?;
                f.write_str(&s)?;
            }
            f.write_char(')')
        };
        match node {
            Node::And(items) => list(f, items, " AND "),
            Node::Or(items) => list(f, items, " OR "),
            Node::Not(inner) => {
                f.write_str("NOT ")?;
                self.write_node(f, inner, names)
            }
            Node::Test(t) => self.write_test(f, t, names),
        }
    }

    fn write_test(&self, f: &mut impl fmt::Write, t: &Test, names: &[String]) -> fmt::Result {
        f.write_str(&names[t.column])?;
        let not = |negated: bool| if negated { " NOT" } else { "" };
        match &t.kind {
            TestKind::Compare(op, lit) => write!(f, " {} {lit}", op.symbol()),
            TestKind::In { negated, list } => {
                let items: Vec<String> = list.iter().map(Literal::to_string).collect();
                write!(f, "{} IN ({})", not(*negated), items.join(", "))
            }
            TestKind::Between { negated, low, high } => {
                write!(f, "{} BETWEEN {low} AND {high}", not(*negated))
            }
            TestKind::IsNull { negated } => write!(f, " IS{} NULL", not(*negated)),
            TestKind::Like {
                negated, pattern, ..
            } => write!(f, "{} LIKE {}", not(*negated), text_literal(pattern)),
            TestKind::Regex { negated, regex } => {
                let op = if *negated { "!~" } else { "~" };
                write!(f, " {op} {}", text_literal(regex.as_str()))
            }
        }
    }
}

impl fmt::Display for Expr {
    /// The canonical form: keywords in capitals, every `and`/`or` in
    /// parentheses, names quoted only where needed (and `"k"#2` as
    /// written). It parses back to the same expression.
    /// [`Expr::canonical`] also names the columns as a header needs them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_node(&mut s, &self.root, &self.references())?;
        f.write_str(&s)
    }
}

fn text_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(n) => f.write_str(n.text()),
            Literal::Text(s) => f.write_str(&text_literal(s)),
        }
    }
}
