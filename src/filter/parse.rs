//! The `--where` grammar: a lexer and a recursive-descent parser.
//!
//! ```text
//! expr     := and ("or" and)*
//! and      := not ("and" not)*
//! not      := "not" not | primary
//! primary  := "(" expr ")" | column test
//! test     := cmp literal
//!           | ["not"] "in" "(" literal ("," literal)* ")"
//!           | ["not"] "between" literal "and" literal
//!           | "is" ["not"] "null"
//!           | ["not"] "like" 'pattern'
//!           | ("~" | "!~") 'regex'
//! cmp      := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! column   := (NAME | "quoted name") ["#" N]
//! literal  := NUMBER | 'text'
//! ```
//!
//! Keywords are case-insensitive and reserved: a column called `and` (or
//! `Null`, ...) is written `"and"`. Errors carry the byte offset of the
//! offending token and say what was expected there.

use std::fmt;

use regex::bytes::RegexBuilder;

use super::like::LikePattern;
use super::number::{CmpOp, NumLit};
use super::{Expr, Literal, Node, Test, TestKind};
use crate::error::{push_code_unit, show_code, show_code_lines, units};
use crate::spec::ColumnRef;

/// Nesting deeper than this (parentheses, `not`) is refused, so that no
/// input can exhaust the stack of the parser or the evaluator.
const MAX_DEPTH: usize = 128;

/// The most characters of the expression an error shows: of a longer one,
/// a window of this many around the offending character, an ellipsis for
/// each cut, so that the message stays a few lines however long the
/// expression (one of 60,000 parentheses is refused by its nesting, and
/// should not be printed whole, with a caret line as long).
const SHOWN: usize = 100;

/// Of the window, how many characters come before the offending one (where
/// the expression has them): what led to the error says more than what
/// follows it.
const BEFORE: usize = 60;

/// Before the expression in an error, under the message.
const INDENT: &str = "  ";

/// The most characters of a token, name or number a message quotes.
const QUOTED: usize = 40;

/// The reserved words.
const KEYWORDS: [&str; 8] = ["and", "or", "not", "in", "between", "is", "null", "like"];

/// A `--where` expression that does not parse, or names a column the input
/// lacks: where (a byte offset into the expression) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the offending character in the expression (its length
    /// for a premature end).
    pub offset: usize,
    /// What is wrong, typically `expected X after Y, found Z`.
    pub message: String,
    /// More help, printed after the caret line.
    pub note: Option<String>,
    /// The expression's bytes: UTF-8, but for the error that says it is
    /// not ([`parse_bytes`]).
    input: Vec<u8>,
}

impl ParseError {
    pub(crate) fn new(input: &str, offset: usize, message: String) -> ParseError {
        ParseError::in_bytes(input.as_bytes(), offset, message)
    }

    /// An error at byte `offset` of an expression typed as `input`, which
    /// need not be UTF-8.
    pub(crate) fn in_bytes(input: &[u8], offset: usize, message: String) -> ParseError {
        ParseError {
            offset,
            message,
            note: None,
            input: input.to_vec(),
        }
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> ParseError {
        self.note = Some(note.into());
        self
    }

    /// 1-based column (in characters, a byte that is not UTF-8 counting
    /// as one) of the offending character.
    pub fn column(&self) -> usize {
        units(&self.input[..self.offset]).count() + 1
    }

    /// The expression as given.
    pub fn input(&self) -> &[u8] {
        &self.input
    }
}

/// The characters `from..to` that an error at character `at` shows of an
/// expression of `len` characters (see [`SHOWN`]).
fn window(len: usize, at: usize) -> (usize, usize) {
    if len <= SHOWN {
        return (0, len);
    }
    // a full window, also when the error is near the end (`at` is `len`
    // for a premature end: the caret is after the last character)
    let from = at.saturating_sub(BEFORE).min(len - SHOWN);
    (from, from + SHOWN)
}

/// `s`, or its first [`QUOTED`] characters and an ellipsis.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(QUOTED) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

impl fmt::Display for ParseError {
    /// `--where: MESSAGE at column N:`, then the expression (indented by
    /// two spaces, as a window around the offending character if it is
    /// long), a caret under that character, and the note if any.
    ///
    /// The expression is on a line of its own so that the caret lines up
    /// whatever the first line is prefixed with (`rayproc: error: `, a
    /// partial's name): with the expression after the message, the caret
    /// was off by that prefix.
    ///
    /// The expression is shown as typed, but on one line and with nothing
    /// that a terminal would take as a command or reorder: a tab or line
    /// break, which separates words in it, shows as a space, and a control
    /// character (ESC), bidirectional override or invisible character as
    /// its escape (`\u{1b}`), as in every message ([`show_code`]); a byte
    /// that is not UTF-8 as `\xff` (as U+FFFD, `\xfe` looked alike). The
    /// caret goes under the first cell of the offending character as a
    /// terminal shows it: after the escapes, wide characters (CJK, which
    /// take two cells) and combining marks (which take none) before it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use unicode_width::UnicodeWidthStr;
        let chars: Vec<Result<char, u8>> = units(&self.input).collect();
        let at = self.column() - 1;
        let (from, to) = window(chars.len(), at);
        let mut shown = String::new();
        if from > 0 {
            shown.push('…');
        }
        // the cells before the offending character, and of the character
        // before the one shown last
        let mut pad = INDENT.len() + usize::from(from > 0);
        let mut last = 0;
        for (i, &c) in chars.iter().enumerate().take(to).skip(from) {
            let before = shown.len();
            match c {
                // (what the lexer skips as a space)
                Ok(c) if c.is_ascii_whitespace() => shown.push(' '),
                // after `…` a combining mark has nothing of its own to join
                c => push_code_unit(&mut shown, c, (i > from).then(|| chars[i - 1])),
            }
            let cells = shown[before..].width();
            if i < at {
                pad += cells;
                last = cells;
            } else if i == at && cells == 0 {
                // a combining mark, shown joined to the character before
                // it: the caret goes under that character
                pad -= last;
            }
        }
        if to < chars.len() {
            shown.push('…');
        }
        write!(
            f,
            "--where: {} at column {}:\n{INDENT}{shown}\n{:pad$}^",
            self.message,
            self.column(),
            ""
        )?;
        if let Some(note) = &self.note {
            write!(f, "\n{note}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for crate::error::Error {
    /// A bad `--where` is a usage error (exit 2).
    fn from(e: ParseError) -> Self {
        crate::error::Error::Usage(e.to_string())
    }
}

#[derive(Clone, Debug)]
enum Tok {
    /// A column name, bare or quoted, or (bare, without `#N`) a keyword.
    Name {
        name: String,
        quoted: bool,
        occurrence: Option<usize>,
    },
    Text(String),
    Number(NumLit),
    Cmp(CmpOp),
    /// `~` (false) or `!~` (true).
    Match(bool),
    LParen,
    RParen,
    Comma,
    End,
    /// The lexer stopped here; the parser reports it on reaching it, so an
    /// earlier syntax error is reported first.
    Bad(Box<ParseError>),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `name` is a keyword (any case).
pub(crate) fn is_keyword(name: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// Whether `name` can be written bare.
pub(crate) fn is_bare_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && is_name_start(b[0]) && b.iter().all(|&c| is_name_char(c)) && !is_keyword(name)
}

/// A column name as `--where` writes it: bare when it can be, else quoted.
pub(crate) fn write_name(name: &str) -> String {
    if is_bare_name(name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Cuts `text` into tokens; the last is `End` or `Bad`.
fn lex(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let bad = |at: usize, msg: String| Tok::Bad(Box::new(ParseError::new(text, at, msg)));
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        let Some(&c) = b.get(i) else {
            tokens.push(Token {
                tok: Tok::End,
                start,
                end: start,
            });
            return tokens;
        };
        let tok = match c {
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'~' => {
                i += 1;
                Tok::Match(false)
            }
            b'=' => {
                i += if b.get(i + 1) == Some(&b'=') { 2 } else { 1 };
                Tok::Cmp(CmpOp::Eq)
            }
            b'!' => match b.get(i + 1) {
                Some(b'=') => {
                    i += 2;
                    Tok::Cmp(CmpOp::Ne)
                }
                Some(b'~') => {
                    i += 2;
                    Tok::Match(true)
                }
                _ => bad(
                    i,
                    "unexpected \"!\" (not equal is != or <>, a regex mismatch !~)".into(),
                ),
            },
            b'<' => match b.get(i + 1) {
                Some(b'=') => {
                    i += 2;
                    Tok::Cmp(CmpOp::Le)
                }
                Some(b'>') => {
                    i += 2;
                    Tok::Cmp(CmpOp::Ne)
                }
                _ => {
                    i += 1;
                    Tok::Cmp(CmpOp::Lt)
                }
            },
            b'>' => {
                if b.get(i + 1) == Some(&b'=') {
                    i += 2;
                    Tok::Cmp(CmpOp::Ge)
                } else {
                    i += 1;
                    Tok::Cmp(CmpOp::Gt)
                }
            }
            b'\'' => match quoted(text, i, b'\'') {
                Some((s, end)) => {
                    i = end;
                    Tok::Text(s)
                }
                None => bad(
                    i,
                    "this text literal is not closed (a quote inside one is doubled: '')".into(),
                ),
            },
            b'"' => match quoted(text, i, b'"') {
                Some((name, end)) => {
                    i = end;
                    match occurrence(text, &mut i) {
                        Ok(occurrence) => Tok::Name {
                            name,
                            quoted: true,
                            occurrence,
                        },
                        Err(t) => t,
                    }
                }
                None => bad(
                    i,
                    "this quoted column name is not closed (a quote inside one is doubled: \"\")"
                        .into(),
                ),
            },
            c if is_name_start(c) => {
                while i < b.len() && is_name_char(b[i]) {
                    i += 1;
                }
                let name = text[start..i].to_string();
                match occurrence(text, &mut i) {
                    Ok(occurrence) => Tok::Name {
                        name,
                        quoted: false,
                        occurrence,
                    },
                    Err(t) => t,
                }
            }
            c if c.is_ascii_digit() || c == b'.' || c == b'-' || c == b'+' => {
                let end = number_end(b, i);
                let after = b.get(end).copied();
                if end == i {
                    bad(i, format!("unexpected \"{}\"", c as char))
                } else if after.is_some_and(|a| is_name_char(a) || a == b'.') {
                    bad(
                        end,
                        format!(
                            "unexpected {} after the number {}",
                            describe_char(text, end),
                            clip(&text[i..end])
                        ),
                    )
                } else {
                    i = end;
                    Tok::Number(NumLit::parse(&text[start..end]).expect("a lexed number"))
                }
            }
            _ => bad(i, format!("unexpected {}", describe_char(text, i))),
        };
        // a character glued to a name, or a non-ASCII one: most likely a
        // column name that needs quotes
        let tok = match tok {
            Tok::Bad(e)
                if e.offset == start
                    && (!c.is_ascii() || (start > 0 && is_name_char(b[start - 1]))) =>
            {
                Tok::Bad(Box::new(e.with_note(
                    "a column name with characters other than letters, digits and _ is written in double quotes: \"unit price\"",
                )))
            }
            tok => tok,
        };
        let stop = matches!(tok, Tok::Bad(_));
        tokens.push(Token { tok, start, end: i });
        if stop {
            return tokens;
        }
    }
}

/// `'c'` or `"c"` for the character at `at`.
fn describe_char(text: &str, at: usize) -> String {
    let c = text[at..].chars().next().expect("a character");
    if c == '"' {
        "'\"'".into()
    } else {
        format!("\"{}\"", c.escape_debug())
    }
}

/// The body of the quoted token at `start` (quote `q`, doubled inside) and
/// the offset after it; `None` when it is not closed.
fn quoted(text: &str, start: usize, q: u8) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut from = i;
    loop {
        let at = i + memchr::memchr(q, &b[i..])?;
        if b.get(at + 1) == Some(&q) {
            out.push_str(&text[from..=at]);
            i = at + 2;
            from = i;
        } else {
            out.push_str(&text[from..at]);
            return Some((out, at + 1));
        }
    }
}

/// A `#N` right after a column name: `Ok(None)` when there is none.
fn occurrence(text: &str, i: &mut usize) -> Result<Option<usize>, Tok> {
    let b = text.as_bytes();
    if b.get(*i) != Some(&b'#') {
        return Ok(None);
    }
    let hash = *i;
    let digits = b[hash + 1..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let n = &text[hash + 1..hash + 1 + digits];
    match n.parse::<usize>() {
        Ok(n) if n > 0 && !text[hash + 1..].starts_with('0') => {
            *i = hash + 1 + digits;
            Ok(Some(n))
        }
        _ => Err(Tok::Bad(Box::new(
            ParseError::new(
                text,
                hash,
                "expected a column number (1, 2, ...) after \"#\"".into(),
            )
            .with_note("NAME#N is the N-th column called NAME"),
        ))),
    }
}

/// The end of the number literal at `i` (`i` itself when there is none):
/// `[+-]? (D+ [. D*] | . D+) ([eE] [+-]? D+)?`.
fn number_end(b: &[u8], mut i: usize) -> usize {
    let start = i;
    let digits = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let int = digits(i);
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        frac = digits(i + 1);
        if int == 0 && frac == 0 {
            return start;
        }
        i += 1 + frac;
    }
    if int == 0 && frac == 0 {
        return start;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let e = digits(j);
        if e > 0 {
            i = j + e;
        }
    }
    i
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    columns: Vec<ColumnRef>,
    /// Offset of each column's first mention.
    offsets: Vec<usize>,
    depth: usize,
}

/// Parses a `--where` expression given as bytes, as a command line gives
/// it (an argument need not be UTF-8). The expression is text, and bytes
/// that are not UTF-8 are refused where they start, with the way to match
/// such bytes in a field: a regex with Unicode off (`(?-u)`), where `\xNN`
/// is the byte NN (the fields are matched as bytes, [`regex::bytes`]).
pub fn parse_bytes(bytes: &[u8]) -> Result<Expr, ParseError> {
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => return parse(text),
        Err(e) => e.valid_up_to(),
    };
    let byte = bytes[valid];
    let message = format!("byte 0x{byte:02x} (at byte offset {valid}) is not UTF-8");
    let note = format!(
        "an expression is UTF-8 text; to match bytes that are not UTF-8 in a field, \
         use a regex with Unicode off and \\xNN escapes: COLUMN ~ '(?-u)\\x{byte:02x}'"
    );
    Err(ParseError::in_bytes(bytes, valid, message).with_note(note))
}

/// Parses a `--where` expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        text,
        tokens: lex(text),
        pos: 0,
        columns: Vec::new(),
        offsets: Vec::new(),
        depth: 0,
    };
    let root = p.or()?;
    match &p.peek().tok {
        Tok::End => {}
        Tok::RParen => {
            return Err(p.error_here("unmatched \")\"".into()));
        }
        _ => return Err(p.expected("and, or or the end of the expression")),
    }
    Ok(Expr {
        text: text.to_string(),
        root,
        columns: p.columns,
        offsets: p.offsets,
    })
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if !matches!(t.tok, Tok::End | Tok::Bad(_)) {
            self.pos += 1;
        }
        t
    }

    /// Whether the next token is keyword `kw`.
    fn at_keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Name { name, quoted: false, occurrence: None }
            if name.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let at = self.at_keyword(kw);
        if at {
            self.bump();
        }
        at
    }

    fn error_at(&self, offset: usize, message: String) -> ParseError {
        ParseError::new(self.text, offset, message)
    }

    /// An error at the next token (or the lexer's error, if it is there).
    fn error_here(&self, message: String) -> ParseError {
        match &self.peek().tok {
            Tok::Bad(e) => (**e).clone(),
            _ => self.error_at(self.peek().start, message),
        }
    }

    /// A token as messages show it (a quoted one on one line, escaped).
    fn shown(&self, t: &Token) -> String {
        let src = show_code(&clip(&self.text[t.start..t.end])).into_owned();
        match t.tok {
            Tok::End => "the end".into(),
            Tok::Name { quoted: true, .. } | Tok::Text(_) => src,
            _ => format!("\"{src}\""),
        }
    }

    /// `expected WHAT after PREVIOUS, found NEXT`, at the next token.
    fn expected(&self, what: &str) -> ParseError {
        let found = self.shown(self.peek());
        let message = match self.pos.checked_sub(1) {
            Some(prev) => format!(
                "expected {what} after {}, found {found}",
                self.shown(&self.tokens[prev])
            ),
            None => format!("expected {what}, found {found}"),
        };
        self.error_here(message)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "the expression nests deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        let mut items = vec![self.and()?];
        while self.eat_keyword("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        let mut items = vec![self.not()?];
        while self.eat_keyword("and") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Node::And(items)
        })
    }

    fn not(&mut self) -> Result<Node, ParseError> {
        if self.at_keyword("not") {
            self.enter()?;
            self.bump();
            if matches!(self.peek().tok, Tok::Cmp(_) | Tok::Match(_)) {
                // `not > 2`: a column called `not`, compared
                return Err(self.expected("a condition").with_note(
                    "not is a keyword; a column called so is written in double quotes: \"not\"",
                ));
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        const CONDITION: &str = "a condition (a column name, \"not\" or \"(\")";
        let t = self.peek().clone();
        match &t.tok {
            Tok::LParen => {
                self.enter()?;
                self.bump();
                let inner = self.or()?;
                if !matches!(self.peek().tok, Tok::RParen) {
                    let col = self.text[..t.start].chars().count() + 1;
                    return Err(self.expected(&format!("\")\" to close the \"(\" at column {col}")));
                }
                self.bump();
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Name {
                name,
                quoted,
                occurrence,
            } => {
                if !quoted && occurrence.is_none() && is_keyword(name) {
                    return Err(self.expected(CONDITION).with_note(format!(
                        "{name} is a keyword; a column called so is written in double quotes: \"{name}\""
                    )));
                }
                self.bump();
                // a bare `k#2` may be the name of a column literally called
                // so, which wins over the `#N` reading, as in `--agg`
                let literal = (!quoted && occurrence.is_some())
                    .then(|| self.text[t.start..t.end].to_string());
                let column = self.column(name, *occurrence, literal, t.start, t.end);
                let kind = self.test()?;
                Ok(Node::Test(Test { column, kind }))
            }
            Tok::Number(_) => {
                // `1 > 5` with --no-header, whose columns are named 1, 2, ...
                let number = clip(&self.text[t.start..t.end]);
                Err(self.expected(CONDITION).with_note(format!(
                    "a condition starts with the column: x > 3, not 3 < x; a column whose \
                     name is a number (as with --no-header) is written in double quotes: \"{number}\""
                )))
            }
            Tok::Text(_) => Err(self
                .expected(CONDITION)
                .with_note("a condition starts with the column: x > 3, not 3 < x")),
            _ => Err(self.expected(CONDITION)),
        }
    }

    /// The index of the column named so, registered on first mention.
    fn column(
        &mut self,
        name: &str,
        occurrence: Option<usize>,
        literal: Option<String>,
        start: usize,
        end: usize,
    ) -> usize {
        if let Some(i) = (self.columns.iter())
            .position(|c| c.name == name && c.occurrence == occurrence && c.literal == literal)
        {
            return i;
        }
        self.columns.push(ColumnRef {
            name: name.to_string(),
            occurrence,
            literal,
            text: self.text[start..end].to_string(),
        });
        self.offsets.push(start);
        self.columns.len() - 1
    }

    /// What follows a column.
    fn test(&mut self) -> Result<TestKind, ParseError> {
        const TESTS: &str =
            "a comparison (=, !=, <, <=, >, >=, in, between, is null, like, ~ or !~)";
        match self.peek().tok {
            Tok::Cmp(op) => {
                self.bump();
                return Ok(TestKind::Compare(op, self.literal()?));
            }
            Tok::Match(negated) => {
                self.bump();
                return self.regex(negated);
            }
            _ => {}
        }
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            if !self.eat_keyword("null") {
                let what = if negated {
                    "\"null\""
                } else {
                    "\"null\" or \"not null\""
                };
                return Err(self.expected(what));
            }
            return Ok(TestKind::IsNull { negated });
        }
        let negated = self.eat_keyword("not");
        if self.at_keyword("in") || self.at_keyword("between") || self.at_keyword("like") {
            self.negatable(negated)
        } else if negated {
            Err(self.expected("\"in\", \"between\" or \"like\""))
        } else {
            Err(self.expected(TESTS))
        }
    }

    /// `in`, `between` or `like`, after an optional `not`.
    fn negatable(&mut self, negated: bool) -> Result<TestKind, ParseError> {
        if self.eat_keyword("in") {
            if !matches!(self.peek().tok, Tok::LParen) {
                return Err(self.expected("\"(\" and a list of values"));
            }
            self.bump();
            let mut list = vec![self.literal()?];
            loop {
                match self.peek().tok {
                    Tok::Comma => {
                        self.bump();
                        let at = self.peek().start;
                        let lit = self.literal()?;
                        same_kind(&list[0], &lit)
                            .map_err(|m| self.error_at(at, format!("{m} in an in list")))?;
                        list.push(lit);
                    }
                    Tok::RParen => {
                        self.bump();
                        return Ok(TestKind::In { negated, list });
                    }
                    _ => return Err(self.expected("\",\" or \")\"")),
                }
            }
        }
        if self.eat_keyword("between") {
            let low = self.literal()?;
            if !self.eat_keyword("and") {
                return Err(self.expected("\"and\" (between LOW and HIGH)"));
            }
            let at = self.peek().start;
            let high = self.literal()?;
            same_kind(&low, &high)
                .map_err(|m| self.error_at(at, format!("{m} as bounds of between")))?;
            return Ok(TestKind::Between { negated, low, high });
        }
        assert!(self.eat_keyword("like"), "in, between or like");
        let (pattern, at) = self.text_literal("a 'pattern' in single quotes")?;
        let compiled = LikePattern::new(&pattern).map_err(|_| {
            self.error_at(at, "this like pattern ends in an escaping backslash".into())
                .with_note(
                    "in a like pattern \\% is a literal %, \\_ a literal _ and \\\\ one backslash",
                )
        })?;
        Ok(TestKind::Like {
            negated,
            pattern,
            compiled,
        })
    }

    fn regex(&mut self, negated: bool) -> Result<TestKind, ParseError> {
        let (pattern, at) = self.text_literal("a 'regex' in single quotes")?;
        let regex = RegexBuilder::new(&pattern).build().map_err(|e| {
            // (the regex crate's message quotes the pattern, a line of it
            // on a line of its own)
            self.error_at(at, "this is not a valid regex".into())
                .with_note(show_code_lines(&e.to_string()))
        })?;
        Ok(TestKind::Regex { negated, regex })
    }

    /// A text literal and its offset.
    fn text_literal(&mut self, what: &str) -> Result<(String, usize), ParseError> {
        match self.peek().tok.clone() {
            Tok::Text(s) => {
                let at = self.bump().start;
                Ok((s, at))
            }
            _ => Err(self.expected(what)),
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        const LITERAL: &str = "a number or a 'text' literal";
        match self.peek().tok.clone() {
            Tok::Number(n) => {
                self.bump();
                Ok(Literal::Number(Box::new(n)))
            }
            Tok::Text(s) => {
                self.bump();
                Ok(Literal::Text(s))
            }
            Tok::Name {
                name,
                quoted,
                occurrence: None,
            } if !quoted && name.eq_ignore_ascii_case("null") => Err(self
                .expected(LITERAL)
                .with_note("a comparison with null is never true: test for nulls with COLUMN is null or COLUMN is not null")),
            Tok::Name { name, .. } => Err(self.expected(LITERAL).with_note(format!(
                "a column is compared with a literal, not another column; text literals take single quotes: '{}'",
                show_code(&clip(&name.replace('\'', "''")))
            ))),
            _ => Err(self.expected(LITERAL)),
        }
    }
}

/// Both literals numbers, or both text.
fn same_kind(a: &Literal, b: &Literal) -> Result<(), &'static str> {
    match (a, b) {
        (Literal::Number(_), Literal::Number(_)) | (Literal::Text(_), Literal::Text(_)) => Ok(()),
        _ => Err("numbers and texts cannot be mixed"),
    }
}
