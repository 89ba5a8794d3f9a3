//! Parser and evaluator tests on hand-built batches.

use std::slice::from_ref;

use super::*;
use crate::batch::Batch;
use crate::value::{parse_float_field, parse_int_field, Column, ColumnType, Data};

fn canonical(text: &str) -> String {
    let e = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let c = e.to_string();
    // the canonical form parses back to itself
    assert_eq!(parse(&c).unwrap().to_string(), c, "{text}");
    c
}

fn err(text: &str) -> ParseError {
    match parse(text) {
        Ok(e) => panic!("{text} parsed as {e}"),
        Err(e) => e,
    }
}

#[test]
fn precedence_and_associativity() {
    let cases = [
        ("a = 1 or b = 2 and c = 3", "(a = 1 OR (b = 2 AND c = 3))"),
        ("a = 1 and b = 2 or c = 3", "((a = 1 AND b = 2) OR c = 3)"),
        ("a = 1 or b = 2 or c = 3", "(a = 1 OR b = 2 OR c = 3)"),
        ("a = 1 and b = 2 and c = 3", "(a = 1 AND b = 2 AND c = 3)"),
        ("not a = 1 and b = 2", "(NOT a = 1 AND b = 2)"),
        ("not a = 1 or b = 2", "(NOT a = 1 OR b = 2)"),
        ("not (a = 1 and b = 2)", "NOT (a = 1 AND b = 2)"),
        ("(a = 1 or b = 2) and c = 3", "((a = 1 OR b = 2) AND c = 3)"),
        ("a = 1 and (b = 2 or c = 3)", "(a = 1 AND (b = 2 OR c = 3))"),
        ("not not a is null", "NOT NOT a IS NULL"),
        ("((a = 1))", "a = 1"),
        (
            "a = 1 or not b = 2 and c = 3 or d = 4",
            "(a = 1 OR (NOT b = 2 AND c = 3) OR d = 4)",
        ),
        (
            "x between 1 and 2 and y = 3",
            "(x BETWEEN 1 AND 2 AND y = 3)",
        ),
        (
            "x not between 1 and 2 or y not in (1)",
            "(x NOT BETWEEN 1 AND 2 OR y NOT IN (1))",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(canonical(text), want, "{text}");
    }
}

#[test]
fn every_operator_and_keyword_case() {
    let cases = [
        ("x = 1", "x = 1"),
        ("x == 1", "x = 1"),
        ("x != 1", "x != 1"),
        ("x <> 1", "x != 1"),
        ("x < 1", "x < 1"),
        ("x <= 1", "x <= 1"),
        ("x > 1", "x > 1"),
        ("x >= 1", "x >= 1"),
        ("x>=-1.5e3", "x >= -1.5e3"),
        ("x<+.5", "x < +.5"),
        ("x=5.", "x = 5."),
        ("x IN (1, 2.5,3)", "x IN (1, 2.5, 3)"),
        ("x Not In ('a','b')", "x NOT IN ('a', 'b')"),
        ("x BETWEEN 'a' AND 'b'", "x BETWEEN 'a' AND 'b'"),
        ("x is null", "x IS NULL"),
        ("x IS NOT NULL", "x IS NOT NULL"),
        ("x LIKE 'a%_'", "x LIKE 'a%_'"),
        ("x not like 'a'", "x NOT LIKE 'a'"),
        ("x ~ '^a.*$'", "x ~ '^a.*$'"),
        ("x !~ 'b'", "x !~ 'b'"),
        (
            "A = 1 AnD b NoT iN (1) oR c Is NoT nUlL",
            "((A = 1 AND b NOT IN (1)) OR c IS NOT NULL)",
        ),
        ("x=1AND y=2", "x = 1"),
    ];
    for (text, want) in cases {
        if text == "x=1AND y=2" {
            // a number glued to a word is an error, not `1 AND`
            assert_eq!(err(text).column(), 4);
            continue;
        }
        assert_eq!(canonical(text), want, "{text}");
    }
}

#[test]
fn quoting() {
    let cases = [
        (r#""unit price" >= 2"#, r#""unit price" >= 2"#),
        (r#""say ""hi""" = 'it''s'"#, r#""say ""hi""" = 'it''s'"#),
        (r#""x" = ''"#, "x = ''"),
        (r#""and" = 1"#, r#""and" = 1"#),
        (r#""NULL" is null"#, r#""NULL" IS NULL"#),
        (r#""" = 'a'"#, r#""" = 'a'"#),
        ("k#2 = 1", "k#2 = 1"),
        // quoted, `"k"#2` is always the second k, where a bare `k#2` may
        // be a column literally called so: the quotes are kept
        (r##""k"#2 = 1"##, r##""k"#2 = 1"##),
        (r##""a b"#2 = 1"##, r##""a b"#2 = 1"##),
        ("x = 'a\"b'", "x = 'a\"b'"),
        ("x = 'é ''€'''", "x = 'é ''€'''"),
        ("_x1 = 1", "_x1 = 1"),
        ("x\t=\n1", "x = 1"),
    ];
    for (text, want) in cases {
        assert_eq!(canonical(text), want, "{text}");
    }
    let e = parse(
        r##""say ""hi""" = 'it''s' and k#2 = 1 and "k"#2 = 2 and x = 1 and k#2 = 3 and x < 2"##,
    )
    .unwrap();
    let names: Vec<(&str, Option<usize>, Option<&str>)> = e
        .columns()
        .iter()
        .map(|c| (c.name.as_str(), c.occurrence, c.literal.as_deref()))
        .collect();
    // a bare k#2 is the column literally called so where there is one,
    // "k"#2 always the second k: two references
    assert_eq!(
        names,
        [
            ("say \"hi\"", None, None),
            ("k", Some(2), Some("k#2")),
            ("k", Some(2), None),
            ("x", None, None)
        ],
        "distinct, in order of first mention"
    );
}

/// (expression, 1-based column of the error, part of the message)
const MALFORMED: &[(&str, usize, &str)] = &[
    (
        "x >> 3",
        4,
        "expected a number or a 'text' literal after \">\", found \">\"",
    ),
    ("", 1, "expected a condition"),
    ("   ", 4, "found the end"),
    ("x", 2, "expected a comparison (=, !="),
    ("x = ", 5, "after \"=\", found the end"),
    ("x = 'abc", 5, "text literal is not closed"),
    ("\"x = 1", 1, "quoted column name is not closed"),
    ("(x = 1", 7, "expected \")\" to close the \"(\" at column 1"),
    ("x = 1)", 6, "unmatched \")\""),
    (
        "x = 1 y = 2",
        7,
        "expected and, or or the end of the expression",
    ),
    (
        "x in ()",
        7,
        "expected a number or a 'text' literal after \"(\"",
    ),
    ("x in 1", 6, "expected \"(\" and a list of values"),
    (
        "x in (1, 'a')",
        10,
        "numbers and texts cannot be mixed in an in list",
    ),
    ("x in (1 2)", 9, "expected \",\" or \")\""),
    (
        "x between 1 or 2",
        13,
        "expected \"and\" (between LOW and HIGH)",
    ),
    (
        "x between 1 and 'b'",
        17,
        "cannot be mixed as bounds of between",
    ),
    ("x is nul", 6, "expected \"null\" or \"not null\""),
    ("x is not 1", 10, "expected \"null\""),
    ("x = null", 5, "expected a number"),
    ("x = y", 5, "found \"y\""),
    ("x = \"y\"", 5, "found \"y\""),
    ("x ~ '('", 5, "not a valid regex"),
    ("x ~ 3", 5, "expected a 'regex' in single quotes"),
    ("x like 'a\\'", 8, "ends in an escaping backslash"),
    ("x like b", 8, "expected a 'pattern'"),
    ("unit price > 3", 6, "after \"unit\", found \"price\""),
    ("prix€ > 3", 5, "unexpected \"€\""),
    ("unit-price > 3", 5, "unexpected \"-\""),
    ("x = 1.2.3", 8, "unexpected \".\" after the number 1.2"),
    ("x = 1e", 6, "unexpected \"e\" after the number 1"),
    ("x ! 3", 3, "unexpected \"!\""),
    ("and = 3", 1, "expected a condition"),
    ("3 < x", 1, "expected a condition"),
    ("k#0 = 1", 2, "expected a column number"),
    ("k# = 1", 2, "expected a column number"),
    (
        "x not = 1",
        7,
        "expected \"in\", \"between\" or \"like\" after \"not\"",
    ),
    ("x = 1 and", 10, "expected a condition"),
    ("x = 1 or or y = 2", 10, "expected a condition"),
    ("not", 4, "expected a condition"),
    ("x = 'a' 'b'", 9, "found 'b'"),
    ("(", 2, "expected a condition"),
    (
        "x = 1 and (y = 2 or (z = 3)",
        28,
        "to close the \"(\" at column 11",
    ),
    ("é = 1", 1, "unexpected \"é\""),
    ("x = 1 ; drop", 7, "unexpected \";\""),
];

#[test]
fn error_positions() {
    for &(text, column, part) in MALFORMED {
        let e = err(text);
        assert_eq!(e.column(), column, "{text}: {e}");
        assert!(e.message.contains(part), "{text}: {e}");
        assert_eq!(e.input(), text.as_bytes());
    }
}

#[test]
fn error_display_has_a_caret() {
    // the expression on a line of its own, so that the caret lines up
    // whatever precedes the message (`rayproc: error: `)
    assert_eq!(
        err("x >> 3").to_string(),
        "--where: expected a number or a 'text' literal after \">\", found \">\" at column 4:\n  \
         x >> 3\n     ^"
    );
    // the caret counts characters, not bytes, and a tab or newline shows as
    // one space
    let e = err("\"é\"\t= 'x' and\n€");
    let s = e.to_string();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[1], "  \"é\" = 'x' and €", "{s}");
    assert_eq!(
        lines[1].chars().nth(lines[2].chars().count() - 1),
        Some('€')
    );
    assert!(e.note.as_deref().unwrap().contains("double quotes"), "{s}");
    // notes follow the caret line
    let s = err("x = null").to_string();
    assert!(s.lines().nth(3).unwrap().contains("is null"), "{s}");
    let s = err("and = 1").to_string();
    assert!(s.contains("\"and\""), "{s}");
    // a column called `not`, and one named by a number (--no-header's
    // `1`, `2`, ...), are written in double quotes: the notes say so
    let s = err("not > 2").to_string();
    assert!(s.contains("written in double quotes: \"not\""), "{s}");
    // (it said `after "not" after "not"`)
    assert_eq!(
        err("not = 1").message,
        "expected a condition after \"not\", found \"=\""
    );
    let s = err("12 > 5").to_string();
    assert!(s.contains("written in double quotes: \"12\""), "{s}");
    assert!(s.contains("not 3 < x"), "{s}");
    canonical("not x > 2");
    canonical("not not (x > 2)");
    canonical("\"not\" > 2 and \"12\" > 5");
    let e: crate::error::Error = err("x").into();
    assert_eq!(e.exit_code(), 2);
}

/// The expression as an error shows it (the line after the message), and
/// the index in it of the character above the caret.
fn shown_and_caret(e: &ParseError) -> (String, usize) {
    let s = e.to_string();
    let head = format!("--where: {} at column {}:", e.message, e.column());
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some(head.as_str()), "{s}");
    let shown = lines.next().unwrap().strip_prefix("  ").unwrap();
    let caret = lines.next().unwrap();
    assert_eq!(caret.trim_start(), "^", "{s}");
    (shown.to_string(), caret.chars().count() - 3)
}

#[test]
fn a_long_expression_is_shown_around_the_error() {
    let chain = ["x = 1"; 300].join(" and ");
    let cases = [
        // 60,000 parentheses, refused at the 129th
        format!("{}x = 1{}", "(".repeat(60_000), ")".repeat(60_000)),
        format!("{chain} and y >> 3"),
        format!("x >> 3 and {chain}"),
        format!("{chain} and"),
        format!("{chain} and (y = 'a' or €)"),
        format!("{chain} and y = 'x\ty' and z <> 'é€' {chain}"),
        format!("x = 1 and {}", "not ".repeat(200)),
    ];
    for text in &cases {
        let e = err(text);
        let s = e.to_string();
        assert!(s.len() < 600, "{} bytes: {s}", s.len());
        let (shown, caret) = shown_and_caret(&e);
        let chars: Vec<char> = shown.chars().collect();
        let at = e.column() - 1;
        let cut_before = chars[0] == '…';
        let cut_after = chars.last() == Some(&'…') && at < text.chars().count();
        assert_eq!(cut_before, at > 60, "{s}");
        assert!(chars.len() <= 102, "{s}");
        // the caret is under the offending character, or after the last
        match text.chars().nth(at) {
            Some(c) => {
                let c = if c.is_control() { ' ' } else { c };
                assert_eq!(chars[caret], c, "{s}");
                assert!(cut_after || caret < chars.len(), "{s}");
            }
            None => assert_eq!(caret, chars.len(), "{s}"),
        }
        // and the window is the expression's own text there
        let from = at - (caret - usize::from(cut_before));
        let inner = &chars[usize::from(cut_before)..chars.len() - usize::from(cut_after)];
        let original: Vec<char> = (text.chars().skip(from).take(inner.len()))
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        assert_eq!(inner, original.as_slice(), "{s}");
    }
    let e = err(&cases[0]);
    assert!(e.message.contains("nests deeper than 128"), "{e}");
    assert_eq!(e.column(), 129);
    // a short expression is shown whole, as before
    let short = format!("{} and y >> 3", ["x = 1"; 8].join(" and "));
    assert_eq!(shown_and_caret(&err(&short)).0, short);
    // names and numbers quoted in messages and notes are cut too
    let long = "9".repeat(5000);
    let s = err(&format!("x = {long}x")).to_string();
    assert!(s.len() < 600 && s.contains("after the number 9999"), "{s}");
    let s = err(&format!("{long} > 1")).to_string();
    assert!(s.len() < 800, "{s}");
    let name = format!("\"{}\"", "n".repeat(5000));
    let e = parse(&format!("x = 1 and {name} = 2"))
        .unwrap()
        .resolve(&["x".into()])
        .unwrap_err();
    let s = e.to_string();
    assert!(s.len() < 600 && s.contains("unknown column \"nnnn"), "{s}");
}

/// The expression an error shows is on one line with nothing a terminal
/// would obey or reorder (ESC, other controls, bidirectional overrides and
/// invisible characters show as their escapes; tabs and line breaks, which
/// separate words, as spaces), and the caret is under the offending
/// character as the terminal shows the line: after escapes (several
/// cells), wide characters (two) and combining marks (none). It counted
/// characters: a CJK character before it put it a cell early, a combining
/// mark a cell late, and an override reordered the line.
#[test]
fn the_caret_is_under_the_offending_character_as_a_terminal_shows_it() {
    use unicode_width::UnicodeWidthStr;
    // (expression, what the line shows from the caret on)
    let cases = [
        ("k = '\x1b[31m' >> 3", ">> 3"),
        ("k = 'a\u{202e}b' >> 3", ">> 3"),
        ("k = 'a\u{200b}b' >> 3", ">> 3"),
        ("k = '日本語' >> 3", ">> 3"),
        ("k = '🦀' >> 3", ">> 3"),
        ("k = 'e\u{301}\u{301}' >> 3", ">> 3"),
        ("k = 'a\\d' >> 3", ">> 3"),
        ("k\t=\n1 \x1b", "\\u{1b}"),
        ("k = 1 and 日本 = 2", "日本 = 2"),
        ("k = 1 and e\u{301} = 2", "e\u{301} = 2"),
        ("k = '\x07' and 1 = 2", "1 = 2"),
    ];
    // and the same at the end of an expression too long to show whole
    let long: Vec<(String, &str)> = cases
        .iter()
        .map(|&(text, rest)| (format!("{} and {text}", ["x = 1"; 40].join(" and ")), rest))
        .chain([(
            format!("{} and k >> 3", ["k = '\x1b日'"; 40].join(" and ")),
            "> 3",
        )])
        .collect();
    let all = (cases.iter().map(|&(t, r)| (t.to_string(), r))).chain(long);
    for (text, rest) in all {
        let s = err(&text).to_string();
        let lines: Vec<&str> = s.lines().collect();
        let (shown, caret) = (lines[1], lines[2]);
        assert!(caret.ends_with('^') && caret.trim_start() == "^", "{s}");
        // the cells before the caret are the line's up to that character
        let cells = caret.len() - 1;
        let split = (0..=shown.len())
            .filter(|&i| shown.is_char_boundary(i))
            .find(|&i| shown[..i].width() == cells)
            .unwrap_or_else(|| panic!("no character at cell {cells}: {s}"));
        assert!(shown[split..].starts_with(rest), "{text:?}: {s}");
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() || crate::error::is_bidi_control(c) || c == '\u{200b}'),
            "{s}"
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}x = 1{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(canonical(&deep), "x = 1");
    let too_deep = format!("{}x = 1{}", "(".repeat(500), ")".repeat(500));
    assert!(err(&too_deep).message.contains("nests deeper"));
    let nots = format!("{}x = 1", "not ".repeat(1000));
    assert!(err(&nots).message.contains("nests deeper"));
    // long flat chains are not nesting
    let chain = ["x = 1"; 5000].join(" or ");
    assert!(parse(&chain).is_ok());
}

/// `Expr::canonical`: every column named as the header needs it, so that
/// two references to one column read alike and references to two columns
/// never do (what a partial records, and the reducer plans again).
#[test]
fn canonical_names_follow_the_header() {
    let header = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let canonical = |text: &str, h: &[String]| parse(text).unwrap().canonical(h);
    // a literal `k#2` column: the second k must be written quoted, the
    // literal one as a quoted name
    let h = header(&["k", "k", "v", "k#2"]);
    let second = canonical(r##""k"#2 = 'a'"##, &h).unwrap();
    let literal = canonical("k#2 = 'a'", &h).unwrap();
    assert_eq!(second, r##""k"#2 = 'a'"##);
    assert_eq!(literal, r##""k#2" = 'a'"##);
    assert_eq!(canonical(r##""k#2" = 'a'"##, &h).unwrap(), literal);
    for text in [&second, &literal] {
        let again = parse(text).unwrap();
        assert_eq!(again.canonical(&h).as_ref(), Some(text), "{text}");
    }
    assert_eq!(parse(&second).unwrap().resolve(&h).unwrap(), vec![1]);
    assert_eq!(parse(&literal).unwrap().resolve(&h).unwrap(), vec![3]);
    // no literal `k#2`: both spellings of the second k are one query
    let h = header(&["k", "k", "v"]);
    assert_eq!(canonical(r##""k"#2 = 1"##, &h).unwrap(), "k#2 = 1");
    assert_eq!(canonical("k#2 = 1", &h).unwrap(), "k#2 = 1");
    // two literal `k#2` columns: the second k stays unambiguous
    let h = header(&["k", "k", "k#2", "k#2"]);
    let text = canonical(r##""k"#2 = 2"##, &h).unwrap();
    assert_eq!(parse(&text).unwrap().resolve(&h).unwrap(), vec![1]);
    assert_eq!(
        canonical(r##""k#2"#2 = 2"##, &h).unwrap(),
        r##""k#2"#2 = 2"##
    );
    // one `x`: `x#1` is `x`; names that need quotes keep them
    let h = header(&["x", "unit price", "and"]);
    assert_eq!(
        canonical(r##"x#1 > 0 and "unit price" < 3 or "and" is null"##, &h).unwrap(),
        r##"((x > 0 AND "unit price" < 3) OR "and" IS NULL)"##
    );
    assert_eq!(canonical("y = 1", &h), None, "a column the header lacks");
}

#[test]
fn resolution_against_a_header() {
    let header: Vec<String> = ["id", "unit price", "qty", "k", "k"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = parse(r#"qty > 1 and "unit price" < 3 and k#2 = 1 and id = 0"#).unwrap();
    assert_eq!(e.resolve(&header).unwrap(), vec![2, 1, 4, 0]);

    let err = parse("qty > 1 and unit_prise < 3")
        .unwrap()
        .resolve(&header)
        .unwrap_err();
    assert_eq!(err.column(), 13);
    assert_eq!(err.message, "unknown column unit_prise");
    let s = err.to_string();
    assert!(s.contains("did you mean \"unit price\"?"), "{s}");
    assert!(s.contains("available columns: 'id', 'unit price'"), "{s}");

    let err = parse("id = 1 and k = 2")
        .unwrap()
        .resolve(&header)
        .unwrap_err();
    assert_eq!(
        (err.column(), err.message.as_str()),
        (12, "column k is ambiguous")
    );
    assert!(err.to_string().contains("columns 4, 5"), "{err}");
    assert!(err.to_string().contains("k#1, k#2"), "{err}");
    let err = parse("k#3 = 2").unwrap().resolve(&header).unwrap_err();
    assert_eq!(err.message, "no column k#3");
    let err = parse("id#2 = 2").unwrap().resolve(&header).unwrap_err();
    assert!(
        err.to_string().contains("one column named 'id' (column 1)"),
        "{err}"
    );
    let err = parse("x = 1").unwrap().resolve(&[]).unwrap_err();
    assert!(
        err.to_string().contains("the input has no columns"),
        "{err}"
    );
    let err = parse("ID = 1").unwrap().resolve(&header).unwrap_err();
    assert!(err.to_string().contains("did you mean id?"), "{err}");

    // binding through the caller's own slot numbers
    let e = parse("qty > 1 or id = 2 or qty < 0").unwrap();
    let mut asked = Vec::new();
    let b = e
        .bind(|c| {
            asked.push(c.name.clone());
            Ok::<_, ()>(7 - asked.len())
        })
        .unwrap();
    assert_eq!(asked, ["qty", "id"]);
    assert_eq!(b.slots(), &[5, 6]);
    assert_eq!(e.bind(|_| Err::<usize, _>("no")).unwrap_err(), "no");
}

// ---- evaluation ----------------------------------------------------------

/// A column's data, owned, for building test batches.
#[derive(Clone)]
enum Owned {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text,
}

#[derive(Clone)]
struct Col {
    data: Owned,
    valid: Vec<bool>,
    /// The field texts (the `Text` data, and `raw` when `has_raw`).
    texts: Vec<Vec<u8>>,
    has_raw: bool,
}

/// A column as the CSV reader types it: integer if every non-empty field is
/// one, else float if every one is a number (no integer wider than 64
/// bits), else text; `raw` holds the fields.
fn csv(fields: &[&str]) -> Col {
    let texts: Vec<Vec<u8>> = fields.iter().map(|f| f.as_bytes().to_vec()).collect();
    let valid: Vec<bool> = fields.iter().map(|f| !f.is_empty()).collect();
    let values = || fields.iter().filter(|f| !f.is_empty());
    let data = if values().all(|f| parse_int_field(f.as_bytes()).is_some()) {
        Owned::Int(
            fields
                .iter()
                .map(|f| parse_int_field(f.as_bytes()).unwrap_or(0))
                .collect(),
        )
    } else if values().all(|f| {
        parse_float_field(f.as_bytes()).is_some() && !crate::value::is_wide_int_field(f.as_bytes())
    }) {
        Owned::Float(
            fields
                .iter()
                .map(|f| parse_float_field(f.as_bytes()).unwrap_or(0.0))
                .collect(),
        )
    } else {
        Owned::Text
    };
    Col {
        data,
        valid,
        texts,
        has_raw: true,
    }
}

/// A text column (every value text, whatever it looks like).
fn text(fields: &[&str]) -> Col {
    Col {
        data: Owned::Text,
        ..csv(fields)
    }
}

/// A typed integer column with no source text (Parquet, Arrow).
fn ints(values: &[Option<i64>]) -> Col {
    Col {
        data: Owned::Int(values.iter().map(|v| v.unwrap_or(0)).collect()),
        valid: values.iter().map(Option::is_some).collect(),
        texts: vec![Vec::new(); values.len()],
        has_raw: false,
    }
}

/// A typed float column with no source text.
fn floats(values: &[Option<f64>]) -> Col {
    Col {
        data: Owned::Float(values.iter().map(|v| v.unwrap_or(0.0)).collect()),
        valid: values.iter().map(Option::is_some).collect(),
        texts: vec![Vec::new(); values.len()],
        has_raw: false,
    }
}

fn with_batch<R>(cols: &[Col], f: impl FnOnce(&Batch<'_>) -> R) -> R {
    let len = cols[0].valid.len();
    let refs: Vec<Vec<&[u8]>> = cols
        .iter()
        .map(|c| c.texts.iter().map(Vec::as_slice).collect())
        .collect();
    let columns: Vec<Column<'_>> = cols
        .iter()
        .zip(&refs)
        .map(|(c, t)| {
            assert_eq!(c.valid.len(), len);
            Column {
                len,
                data: match &c.data {
                    Owned::Int(v) => Data::Int(v),
                    Owned::Float(v) => Data::Float(v),
                    Owned::Text => Data::Text(t),
                },
                valid: c.valid.contains(&false).then_some(&c.valid[..]),
                raw: c.has_raw.then_some(&t[..]),
            }
        })
        .collect();
    let types = columns
        .iter()
        .map(|c| match c.data {
            Data::Int(_) => ColumnType::Int,
            Data::Float(_) => ColumnType::Float,
            _ => ColumnType::Text,
        })
        .collect();
    f(&Batch {
        codes: Vec::new(),
        len,
        columns,
        types,
    })
}

/// Binds `expr` to columns named `a`, `b`, `c`, ... in order.
fn bind(expr: &str, cols: &[Col]) -> Bound {
    let header: Vec<String> = (0..cols.len())
        .map(|i| ((b'a' + i as u8) as char).to_string())
        .collect();
    parse(expr)
        .unwrap_or_else(|e| panic!("{e}"))
        .bind_header(&header)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The rows `bound` keeps, by `select`, checked against `eval`.
fn select(bound: &Bound, cols: &[Col]) -> Result<Vec<usize>, Rejected> {
    with_batch(cols, |batch| {
        let mut rows = Vec::new();
        let mut keep = Vec::new();
        let selected = bound.select(batch, &mut rows);
        assert_eq!(bound.eval(batch, &mut keep), selected, "eval and select");
        selected?;
        let kept: Vec<u32> = (0..keep.len() as u32)
            .filter(|&i| keep[i as usize])
            .collect();
        assert_eq!(rows, kept, "eval and select");
        Ok(rows.iter().map(|&r| r as usize).collect())
    })
}

/// The rows kept, or where a numeric test first met a non-number.
fn outcome(expr: &str, cols: &[Col]) -> Result<Vec<usize>, Rejected> {
    select(&bind(expr, cols), cols)
}

/// The rows kept.
fn kept(expr: &str, cols: &[Col]) -> Vec<usize> {
    outcome(expr, cols).unwrap_or_else(|r| panic!("{expr}: rejected {r:?}"))
}

/// Each row's truth: `Some(true)` where `expr` keeps it, `Some(false)`
/// where `not (expr)` does, else `None` (unknown). (The evaluation answers
/// only whether a row is kept; see `eval`.)
fn truths(expr: &str, cols: &[Col]) -> Result<Vec<Option<bool>>, Rejected> {
    let t = outcome(expr, cols)?;
    let f = outcome(&format!("not ({expr})"), cols)?;
    assert!(t.iter().all(|r| !f.contains(r)), "{expr}: true and false");
    Ok((0..cols[0].valid.len())
        .map(|r| (t.contains(&r) || f.contains(&r)).then_some(t.contains(&r)))
        .collect())
}

#[test]
fn comparisons_on_integers() {
    let a = csv(&["-3", "0", "2", "3", "", "10"]);
    assert_eq!(a.data.kind(), "int");
    let cases: &[(&str, &[usize])] = &[
        ("a = 3", &[3]),
        ("a == 3.0", &[3]),
        ("a = 2.5", &[]),
        ("a != 3", &[0, 1, 2, 5]),
        ("a <> 2.5", &[0, 1, 2, 3, 5]),
        ("a < 2.5", &[0, 1, 2]),
        ("a <= 2", &[0, 1, 2]),
        ("a > 2.5", &[3, 5]),
        ("a >= 3", &[3, 5]),
        ("a > -3.5", &[0, 1, 2, 3, 5]),
        ("a < -2.5", &[0]),
        ("a >= 1e1", &[5]),
        ("a in (3, 10, 2.5)", &[3, 5]),
        ("a not in (3, 10)", &[0, 1, 2]),
        ("a between 0 and 3", &[1, 2, 3]),
        ("a between -2.5 and 2.5", &[1, 2]),
        ("a between 3 and 0", &[]),
        ("a not between 0 and 3", &[0, 5]),
        ("a is null", &[4]),
        ("a is not null", &[0, 1, 2, 3, 5]),
    ];
    for &(expr, want) in cases {
        assert_eq!(kept(expr, from_ref(&a)), want, "{expr}");
        // the same values typed by a Parquet reader (no text)
        let typed = ints(&[Some(-3), Some(0), Some(2), Some(3), None, Some(10)]);
        assert_eq!(kept(expr, &[typed]), want, "{expr} (typed)");
        // and in a text batch (the column holds text elsewhere)
        let t = text(&["-3", "0", "2", "3", "", "10"]);
        assert_eq!(kept(expr, &[t]), want, "{expr} (text batch)");
    }
}

impl Owned {
    fn kind(&self) -> &'static str {
        match self {
            Owned::Int(_) => "int",
            Owned::Float(_) => "float",
            Owned::Text => "text",
        }
    }
}

#[test]
fn comparisons_on_floats() {
    let fields = ["0.1", "-0.0", "2.5", "nan", "", "inf", "-inf", "1e-7"];
    let a = csv(&fields);
    assert_eq!(a.data.kind(), "float");
    let cases: &[(&str, &[usize])] = &[
        ("a = 0.1", &[0]),
        ("a = 0.10", &[0]),
        ("a = 1e-1", &[0]),
        ("a = 0", &[1]),
        ("a = -0", &[1]),
        ("a < 0", &[6]),
        ("a > 2.5", &[3, 5]),
        ("a >= 2.5", &[2, 3, 5]),
        ("a != 2.5", &[0, 1, 3, 5, 6, 7]),
        // the infinities are beyond every literal, NaN above every number
        ("a <= 1e400", &[0, 1, 2, 6, 7]),
        ("a = 1e400", &[]),
        ("a > 1e400", &[3, 5]),
        ("a = -1e400", &[]),
        ("a < -1e400", &[6]),
        ("a > 1e-400", &[0, 2, 3, 5, 7]),
        ("a >= -1e-400", &[0, 1, 2, 3, 5, 7]),
        ("a in (0.1, 2.5)", &[0, 2]),
        ("a between 0 and 1", &[0, 1, 7]),
        ("a not between 0 and 1", &[2, 3, 5, 6]),
        ("a is null", &[4]),
        ("a = 0.0000001", &[7]),
    ];
    for &(expr, want) in cases {
        assert_eq!(kept(expr, from_ref(&a)), want, "{expr}");
        assert_eq!(kept(expr, &[text(&fields)]), want, "{expr} (text batch)");
    }
}

#[test]
fn integers_compare_exactly_near_2_pow_63_and_2_pow_53() {
    let a = csv(&[
        "9223372036854775807",
        "9223372036854775806",
        "-9223372036854775808",
        "9007199254740992",
        "9007199254740993",
    ]);
    assert_eq!(a.data.kind(), "int");
    let cases: &[(&str, &[usize])] = &[
        ("a = 9223372036854775807", &[0]),
        ("a > 9223372036854775806", &[0]),
        ("a >= 9223372036854775806.5", &[0]),
        ("a < 9223372036854775806.5", &[1, 2, 3, 4]),
        ("a > 9223372036854775807", &[]),
        ("a < 9223372036854775808", &[0, 1, 2, 3, 4]),
        ("a = 9.223372036854775807e18", &[0]),
        ("a = 9223372036854775808", &[]),
        ("a > 9.2e18", &[0, 1]),
        ("a = -9223372036854775808", &[2]),
        ("a < -9223372036854775807", &[2]),
        ("a < -9223372036854775808", &[]),
        ("a > -1e300", &[0, 1, 2, 3, 4]),
        ("a = 9007199254740993", &[4]),
        ("a = 9007199254740992", &[3]),
        ("a > 9007199254740992", &[0, 1, 4]),
        ("a in (9007199254740993, 9223372036854775806)", &[1, 4]),
        ("a between 9007199254740992.5 and 9007199254740993", &[4]),
    ];
    for &(expr, want) in cases {
        assert_eq!(kept(expr, from_ref(&a)), want, "{expr}");
    }
    // in a float batch (the column also holds 0.5 there), the integers are
    // doubles, but they compare by their text, exactly, as in the int batch
    let f = csv(&[
        "9007199254740992",
        "9007199254740993",
        "0.5",
        "9223372036854775807",
    ]);
    assert_eq!(f.data.kind(), "float");
    assert_eq!(kept("a = 9007199254740993", from_ref(&f)), [1]);
    assert_eq!(kept("a = 9007199254740992", from_ref(&f)), [0]);
    assert_eq!(kept("a > 9007199254740992", from_ref(&f)), [1, 3]);
    assert_eq!(kept("a in (9007199254740993)", from_ref(&f)), [1]);
    assert_eq!(kept("a < 9223372036854775807", from_ref(&f)), [0, 1, 2]);
    // without source text a double is all there is: 2^53, exactly
    let typed = floats(&[Some(9007199254740992.0)]);
    assert_eq!(kept("a = 9007199254740992", from_ref(&typed)), [0]);
    assert_eq!(
        kept("a = 9007199254740993", from_ref(&typed)),
        Vec::<usize>::new()
    );
    assert_eq!(kept("a < 9007199254740993", &[typed]), [0]);
    // integers wider than 64 bits: text batches, compared exactly
    let w = csv(&[
        "89014103211118510720",
        "89014103211118510721",
        "5",
        "-1e400",
    ]);
    assert_eq!(w.data.kind(), "text");
    assert_eq!(kept("a > 89014103211118510720", from_ref(&w)), [1]);
    assert_eq!(kept("a = 89014103211118510721", from_ref(&w)), [1]);
    assert_eq!(kept("a < 1e20", from_ref(&w)), [0, 1, 2, 3]);
    assert_eq!(kept("a in (5, 89014103211118510720)", from_ref(&w)), [0, 2]);
}

#[test]
fn a_literal_finer_than_a_double() {
    // "3" is the integer 3 and "3.0" the double 3, the same number: both
    // are below a literal no double holds, in whatever batch they land,
    // and so is a Parquet double 3.0
    let lit = "3.00000000000000000001";
    let typed = floats(&[Some(3.0), Some(3.0), Some(4.0)]);
    for cols in [csv(&["3", "3.0", "4"]), text(&["3", "3.0", "4"]), typed] {
        assert_eq!(kept(&format!("a < {lit}"), from_ref(&cols)), [0, 1]);
        assert_eq!(
            kept(&format!("a = {lit}"), from_ref(&cols)),
            Vec::<usize>::new()
        );
        assert_eq!(kept(&format!("a > {lit}"), from_ref(&cols)), [2]);
        assert_eq!(
            kept(&format!("a in (1, {lit})"), from_ref(&cols)),
            Vec::<usize>::new()
        );
        assert_eq!(kept(&format!("a between {lit} and 5"), &[cols]), [2]);
    }
    assert_eq!(kept(&format!("a < {lit}"), &[csv(&["3", "4"])]), [0]);
    // the probe's cases: 1 and 1.0 in one float column; 0 and 0.0 against
    // a literal below the least double
    let one = csv(&["1", "1.0"]);
    assert_eq!(one.data.kind(), "float");
    assert_eq!(
        kept("a = 1.0000000000000000001", from_ref(&one)),
        Vec::<usize>::new()
    );
    assert_eq!(kept("a < 1.0000000000000000001", from_ref(&one)), [0, 1]);
    assert_eq!(kept("a > 0.9999999999999999999", from_ref(&one)), [0, 1]);
    let zero = csv(&["0", "0.0", "-0.0", "5e-324"]);
    assert_eq!(kept("a = 1e-400", from_ref(&zero)), Vec::<usize>::new());
    assert_eq!(kept("a < 1e-400", from_ref(&zero)), [0, 1, 2]);
    assert_eq!(kept("a > -1e-400 and a < 1e-400", &[zero]), [0, 1, 2]);
    // a literal that is a double's exact value but not how it prints
    let tenth = csv(&["0.1", "0.10000000000000001"]);
    assert_eq!(kept("a = 0.1", from_ref(&tenth)), [0, 1], "one double");
    let exact = "0.1000000000000000055511151231257827021181583404541015625";
    assert_eq!(kept(&format!("a < {exact}"), &[tenth]), [0, 1]);
}

#[test]
fn results_do_not_depend_on_the_batch_type() {
    // each field, in a batch typed by its neighbours and alone in a text
    // batch, must get the same answer for every literal
    let pool = [
        "0",
        "3",
        "3.0",
        "-0",
        "0.1",
        "2.5",
        "-2.5",
        "9007199254740993",
        "9007199254740992",
        "9007199254740992.0",
        "9223372036854775807",
        "-9223372036854775808",
        "1e19",
        "1e400",
        "-inf",
        "nan",
        "1.5e-300",
        "007",
        " 7 ",
        "+7",
        "1",
        "1.0",
        "0.0",
        "5e-324",
    ];
    let literals = [
        "0",
        "-0",
        "3",
        "3.0",
        "3.00000000000000000001",
        "0.1",
        "2.5",
        "-2.5",
        "9007199254740993",
        "9007199254740992",
        "9223372036854775807",
        "9223372036854775806.5",
        "1e19",
        "1e400",
        "1.5e-300",
        "7",
        "-1e-400",
        "1e-400",
        "1.0000000000000000001",
        "0.9999999999999999999",
        "-1e400",
        "5e-324",
        "3e-324",
    ];
    let ops = ["=", "!=", "<", "<=", ">", ">="];
    // alone, each field gets the same answer as the same number read
    // without text (a Parquet double or integer), where that is the
    // same number: a double, or an integer a double holds
    for field in pool {
        let typed = match number::classify(field.as_bytes()) {
            Some(number::FieldNumber::Double(d)) => floats(&[Some(d)]),
            Some(number::FieldNumber::Int(v)) if v.unsigned_abs() < 1 << 53 => {
                let as_int = ints(&[Some(v)]);
                for lit in literals {
                    for op in ops {
                        let expr = format!("a {op} {lit}");
                        let want = kept(&expr, &[text(&[field])]);
                        assert_eq!(kept(&expr, from_ref(&as_int)), want, "{expr} on {field}");
                    }
                }
                floats(&[Some(v as f64)])
            }
            _ => continue,
        };
        for lit in literals {
            for op in ops {
                let expr = format!("a {op} {lit}");
                let want = kept(&expr, &[text(&[field])]);
                assert_eq!(
                    kept(&expr, from_ref(&typed)),
                    want,
                    "{expr} on {field} (typed)"
                );
            }
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..200 {
        let fields: Vec<&str> = (0..6)
            .map(|_| pool[(crate::testing::xorshift(&mut state) % pool.len() as u64) as usize])
            .collect();
        let typed = csv(&fields);
        for lit in literals {
            for op in ops {
                let expr = format!("a {op} {lit}");
                let want = kept(&expr, &[text(&fields)]);
                assert_eq!(kept(&expr, from_ref(&typed)), want, "{expr} on {fields:?}");
            }
            let expr = format!("a in ({lit}, 2.5)");
            assert_eq!(kept(&expr, from_ref(&typed)), kept(&expr, &[text(&fields)]));
            let expr = format!("a between {lit} and 1e19");
            assert_eq!(kept(&expr, from_ref(&typed)), kept(&expr, &[text(&fields)]));
        }
    }
}

#[test]
fn text_comparisons() {
    let a = csv(&["apple", "Banana", "", "banana", "cherry", "a,b", "é"]);
    let cases: &[(&str, &[usize])] = &[
        ("a = 'banana'", &[3]),
        ("a != 'banana'", &[0, 1, 4, 5, 6]),
        ("a < 'b'", &[0, 1, 5]),
        ("a >= 'banana'", &[3, 4, 6]),
        ("a > 'z'", &[6]),
        ("a in ('cherry', 'apple', 'kiwi')", &[0, 4]),
        ("a not in ('cherry', 'apple')", &[1, 3, 5, 6]),
        ("a between 'a' and 'b'", &[0, 5]),
        ("a like 'b%'", &[3]),
        ("a like '_anana'", &[1, 3]),
        ("a not like '%an%'", &[0, 4, 5, 6]),
        ("a like '_'", &[6]),
        ("a ~ 'an+a$'", &[1, 3]),
        ("a ~ '(?i)^b'", &[1, 3]),
        ("a !~ 'a'", &[4, 6]),
        ("a ~ ','", &[5]),
        ("a = ''", &[]),
    ];
    for &(expr, want) in cases {
        assert_eq!(kept(expr, from_ref(&a)), want, "{expr}");
    }
}

#[test]
fn text_comparisons_on_number_columns() {
    // with source text: the text as written
    let a = csv(&["007", "7", "10", "", "-1"]);
    assert_eq!(a.data.kind(), "int");
    assert_eq!(kept("a = '007'", from_ref(&a)), [0]);
    assert_eq!(kept("a = 7", from_ref(&a)), [0, 1]);
    assert_eq!(kept("a < '2'", from_ref(&a)), [0, 2, 4], "byte order");
    assert_eq!(kept("a like '%7'", from_ref(&a)), [0, 1]);
    assert_eq!(kept("a ~ '^-'", from_ref(&a)), [4]);
    assert_eq!(kept("a in ('10', '7')", from_ref(&a)), [1, 2]);
    let f = csv(&["1.50", "2.5", "1e-7"]);
    assert_eq!(f.data.kind(), "float");
    assert_eq!(kept("a = '1.50'", from_ref(&f)), [0]);
    assert_eq!(kept("a like '1%'", from_ref(&f)), [0, 2]);
    // without: as the CSV writer prints them
    let i = ints(&[Some(7), Some(-12), None]);
    assert_eq!(kept("a = '7'", from_ref(&i)), [0]);
    assert_eq!(kept("a like '-1_'", from_ref(&i)), [1]);
    assert_eq!(kept("a is null", &[i]), [2]);
    let f = floats(&[Some(1.5), Some(1e-7), Some(2.0), Some(f64::NAN)]);
    assert_eq!(kept("a = '1.5'", from_ref(&f)), [0]);
    assert_eq!(kept("a = '1e-7'", from_ref(&f)), [1]);
    assert_eq!(kept("a = '2.0'", from_ref(&f)), [2]);
    assert_eq!(kept("a = 'NaN'", from_ref(&f)), [3]);
    assert_eq!(kept("a > 1e300", &[f]), [3], "NaN is above every number");
}

#[test]
fn like_and_regex_special_characters() {
    let a = text(&["a.c", "abc", "a%c", "a_c", "(x)", "[y]", "a\\c", "$1.00"]);
    let cases: &[(&str, &[usize])] = &[
        ("a like 'a.c'", &[0]),
        ("a like 'a_c'", &[0, 1, 2, 3, 6]),
        ("a like 'a\\%c'", &[2]),
        ("a like 'a\\_c'", &[3]),
        ("a like 'a\\\\c'", &[6]),
        ("a like '(%)'", &[4]),
        ("a like '[%]'", &[5]),
        ("a like '$_.%'", &[7]),
        ("a ~ '^a.c$'", &[0, 1, 2, 3, 6]),
        ("a ~ '^a\\.c$'", &[0]),
        ("a ~ '\\$\\d'", &[7]),
        ("a ~ '^\\(x\\)$'", &[4]),
    ];
    for &(expr, want) in cases {
        assert_eq!(kept(expr, from_ref(&a)), want, "{expr}");
    }
    // fields need not be UTF-8
    let mut bad = text(&["x", "y"]);
    bad.texts = vec![b"a\xffb".to_vec(), "aéb".as_bytes().to_vec()];
    assert_eq!(kept("a like 'a_b'", from_ref(&bad)), [0, 1]);
    assert_eq!(kept("a ~ '^a.b$'", from_ref(&bad)), [1], "a Unicode regex");
    assert_eq!(kept("a ~ '(?-u)^a.b$'", from_ref(&bad)), [0]);
    assert_eq!(kept("a > 'a'", &[bad]), [0, 1]);
}

#[test]
fn three_valued_logic() {
    // a = 1: true, false, unknown; likewise b: every pair
    let (t, f, n) = (Some(true), Some(false), None);
    let values = [t, f, n];
    let field = |v: Option<bool>| match v {
        Some(true) => "1",
        Some(false) => "0",
        None => "",
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    for x in values {
        for y in values {
            a.push(field(x));
            b.push(field(y));
        }
    }
    let cols = [csv(&a), csv(&b)];
    let and = truths("a = 1 and b = 1", &cols).unwrap();
    let or = truths("a = 1 or b = 1", &cols).unwrap();
    let not = truths("not a = 1", &cols).unwrap();
    #[rustfmt::skip]
    let want_and = [t, f, n,  f, f, f,  n, f, n];
    #[rustfmt::skip]
    let want_or = [t, t, t,  t, f, n,  t, n, n];
    #[rustfmt::skip]
    let want_not = [f, f, f,  t, t, t,  n, n, n];
    assert_eq!(and, want_and);
    assert_eq!(or, want_or);
    assert_eq!(not, want_not);
    // unknown in every test of a null but is [not] null
    let x = csv(&["", "1"]);
    for expr in [
        "a = 1",
        "a != 1",
        "a < 1",
        "a in (1)",
        "a not in (1)",
        "a between 0 and 2",
        "a not between 0 and 2",
        "a like '%'",
        "a not like '%'",
        "a ~ ''",
        "a !~ ''",
        "a = 'x'",
    ] {
        assert_eq!(truths(expr, from_ref(&x)).unwrap()[0], None, "{expr}");
    }
    assert_eq!(truths("a is null", from_ref(&x)).unwrap(), [t, f]);
    assert_eq!(truths("a is not null", from_ref(&x)).unwrap(), [f, t]);
    assert_eq!(truths("not a is null", from_ref(&x)).unwrap(), [f, t]);
    assert_eq!(kept("a != 5", from_ref(&x)), [1]);
    assert_eq!(kept("a != 5 or a is null", from_ref(&x)), [0, 1]);
    assert_eq!(truths("not (a = 1 or a = 2)", &[x]).unwrap(), [n, f]);
    // a column with no values at all (every field empty)
    let empty = csv(&["", ""]);
    assert_eq!(
        truths("a > 1 or a like 'x'", from_ref(&empty)).unwrap(),
        [n, n]
    );
    assert_eq!(kept("a is null", &[empty]), [0, 1]);
}

#[test]
fn short_circuit_over_many_terms() {
    let a = csv(&["1", "2", "3", "4", "5", "6", "", "8"]);
    let b = csv(&["x", "y", "x", "y", "x", "", "x", "y"]);
    let cases: &[(&str, &[usize])] = &[
        ("a > 2 and b = 'x' and a < 6", &[2, 4]),
        ("a < 2 or b = 'y' or a = 5", &[0, 1, 3, 4, 7]),
        ("(a < 3 or a > 6) and (b = 'x' or b is null)", &[0]),
        ("not (a < 3 or b = 'x')", &[3, 7]),
        ("a > 100 or a < 0 or b = 'x'", &[0, 2, 4, 6]),
        (
            "a = 1 or a = 2 or a = 3 or a = 4 or a = 8",
            &[0, 1, 2, 3, 7],
        ),
        ("a > 0 and a > 1 and a > 2 and not a > 4", &[2, 3]),
    ];
    for &(expr, want) in cases {
        assert_eq!(kept(expr, &[a.clone(), b.clone()]), want, "{expr}");
    }
}

#[test]
fn non_numbers_are_rejected_at_the_first_row_reached() {
    let a = text(&["1", "2", "abc"]);
    let b = text(&["zz", "1", "1"]);
    let c = csv(&["0", "1", "1"]);
    let cols = [a, b, c];
    let rejected = |expr: &str| outcome(expr, &cols).unwrap_err();
    // row by row: row 0's b is reached (a = 1 > 0), and is not a number
    assert_eq!(
        rejected("a > 0 and b > 0"),
        Rejected {
            row: 0,
            slot: 1,
            test: 1
        }
    );
    // row 0 and 1 are decided by a alone; row 2's a is not a number
    assert_eq!(
        rejected("a > 0 or b > 0"),
        Rejected {
            row: 2,
            slot: 0,
            test: 0
        }
    );
    // b is looked at only where c = 1
    assert_eq!(
        rejected("c = 1 and b > 0 and a > 0"),
        Rejected {
            row: 2,
            slot: 0,
            test: 2
        }
    );
    assert_eq!(
        rejected("not (a < 5)"),
        Rejected {
            row: 2,
            slot: 0,
            test: 0
        }
    );
    assert_eq!(rejected("a in (1, 2)").row, 2);
    assert_eq!(rejected("a between 1 and 2").row, 2);
    // never reached: no error
    assert_eq!(kept("c = 2 and b > 0", &cols), Vec::<usize>::new());
    assert_eq!(kept("c = 0 or b > 0", &cols), [0, 1, 2]);
    assert_eq!(
        rejected("c = 1 or b > 0"),
        Rejected {
            row: 0,
            slot: 1,
            test: 1
        }
    );
    // text tests never reject
    assert_eq!(kept("a = 'abc' or b like 'z%'", &cols), [0, 2]);
    // the message names the test
    let bound = parse("c = 1 and b > 0 and a > 0").unwrap();
    let bound = bound
        .bind_header(&["a".into(), "b".into(), "c".into()])
        .unwrap();
    let r = rejected("c = 1 and b > 0 and a > 0");
    assert_eq!(
        bound.message(&r, b"abc"),
        "--where a > 0 needs a number, found \"abc\""
    );
    // blanks around a number are fine, as for sum
    assert_eq!(kept("a > 1", &[text(&[" 2", "1 ", "\t3\t"])]), [0, 2]);
}

#[test]
fn a_test_is_read_only_where_it_can_decide_the_row() {
    // k is null on rows 0 and 3, where x is not a number
    let k = csv(&["", "a", "b", ""]);
    let x = text(&["abc", "7", "3", "xyz"]);
    let cols = [k, x];
    let rejected = |row: usize| Rejected {
        row,
        slot: 1,
        test: 1,
    };
    // `null and x > 5` is never true: x is not read where k is null
    let cases: &[(&str, &[usize])] = &[
        ("a = 'a' and b > 5", &[1]),
        ("a = 'a' and b > 5 and b < 100", &[1]),
        ("(a = 'a' or a = 'b') and b > 5", &[1]),
        ("a = 'a' and b > 5 or a = 'b'", &[1, 2]),
        ("not not (a = 'a' and b > 5)", &[1]),
        ("not (a = 'a') and b < 5", &[2]),
        ("a != 'b' and not (b < 5)", &[1]),
        // under a not, the question is whether `k != 'a' or x < 5` is
        // false: not where k is null, whatever x
        ("not (a != 'a' or b < 5)", &[1]),
        ("not (a = 'b' or b < 5 or a = 'c')", &[1]),
        // `not (null or x > 5)` is never true either
        ("not (a = 'b' or b > 5)", &[]),
        ("a = 'b' and b > 5", &[]),
    ];
    for &(expr, want) in cases {
        assert_eq!(outcome(expr, &cols), Ok(want.to_vec()), "{expr}");
    }
    // where a null first term leaves the row open, x is read: `null or
    // true` is true, `not (null and false)` is true
    for expr in [
        "a = 'a' or b > 5",
        "not (a = 'a' and b > 5)",
        "not (a = 'a') or b > 5",
        "a = 'b' or b > 5",
    ] {
        assert_eq!(outcome(expr, &cols), Err(rejected(0)), "{expr}");
    }
    // and, left to right, a test that comes first is read on every row
    let first = outcome("b > 5 and a = 'a'", &cols).unwrap_err();
    assert_eq!((first.row, first.test), (0, 0));
}

/// What a cell of the logic model makes of the tests on it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    True,
    False,
    Null,
    /// Not a number: an error where a test reads it.
    Bad,
}

impl Cell {
    const ALL: [Cell; 4] = [Cell::True, Cell::False, Cell::Null, Cell::Bad];

    fn field(self) -> &'static str {
        match self {
            Cell::True => "1",
            Cell::False => "0",
            Cell::Null => "",
            Cell::Bad => "abc",
        }
    }
}

/// SQL's three-valued logic, every test evaluated: `leaf` gives each
/// test's value by its column.
fn three_valued(node: &Node, leaf: &dyn Fn(usize) -> Option<bool>) -> Option<bool> {
    let all = |items: &[Node]| {
        items
            .iter()
            .map(|n| three_valued(n, leaf))
            .collect::<Vec<_>>()
    };
    match node {
        Node::Test(t) => leaf(t.column),
        Node::Not(inner) => three_valued(inner, leaf).map(|v| !v),
        Node::And(items) => {
            let v = all(items);
            if v.contains(&Some(false)) {
                Some(false)
            } else if v.contains(&None) {
                None
            } else {
                Some(true)
            }
        }
        Node::Or(items) => {
            let v = all(items);
            if v.contains(&Some(true)) {
                Some(true)
            } else if v.contains(&None) {
                None
            } else {
                Some(false)
            }
        }
    }
}

/// Row-by-row evaluation, left to right, asking each node whether it is
/// `target` and stopping each `and`/`or` as soon as the answer is known:
/// the rule `--where` promises. `Err(test)` where a test reads a `Bad`
/// cell; `reads` gets each test read, in order.
fn row_by_row(
    node: &Node,
    target: bool,
    leaf: &dyn Fn(usize) -> Result<Option<bool>, ()>,
    reads: &mut Vec<usize>,
) -> Result<bool, usize> {
    match node {
        Node::Test(t) => {
            reads.push(t.column);
            let v = leaf(t.column).map_err(|()| t.column)?;
            Ok(v == Some(target))
        }
        Node::Not(inner) => row_by_row(inner, !target, leaf, reads),
        Node::And(items) | Node::Or(items) => {
            // the target when every term is, or when any is
            let every = matches!(node, Node::And(_)) == target;
            for item in items {
                if row_by_row(item, target, leaf, reads)? != every {
                    return Ok(!every);
                }
            }
            Ok(every)
        }
    }
}

/// A random expression over the model's columns, each test on a column of
/// its own (`a`, `b`, ... in order); and whether each test is negated
/// (true on the cell `0`).
fn random_expr(state: &mut u64) -> (String, Vec<bool>) {
    fn go(state: &mut u64, depth: usize, negated: &mut Vec<bool>) -> String {
        let r = crate::testing::xorshift(state);
        match r % 8 {
            0..=2 if depth < 4 => {
                let n = 2 + (r >> 8) as usize % 2;
                let op = if (r >> 16).is_multiple_of(2) {
                    " and "
                } else {
                    " or "
                };
                let terms: Vec<String> = (0..n).map(|_| go(state, depth + 1, negated)).collect();
                format!("({})", terms.join(op))
            }
            3 if depth < 4 => format!("not {}", go(state, depth + 1, negated)),
            _ => {
                let c = (b'a' + negated.len() as u8) as char;
                let (test, neg) = [
                    ("= 1", false),
                    ("!= 1", true),
                    (">= 1", false),
                    ("< 1", true),
                    ("in (1, 2)", false),
                    ("not in (1)", true),
                    ("between 1 and 2", false),
                    ("not between 1 and 5", true),
                ][(r >> 8) as usize % 8];
                negated.push(neg);
                format!("{c} {test}")
            }
        }
    }
    let mut negated = Vec::new();
    let text = go(state, 0, &mut negated);
    (text, negated)
}

/// The evaluator against row-by-row evaluation on every combination of
/// true, false, null and non-number cells; and row-by-row evaluation
/// against SQL's logic: it keeps the rows SQL keeps, whatever the cells it
/// does not read (sound), and reads a test only where, given the tests
/// read before it, its value can change whether the row is kept (minimal).
#[test]
fn evaluation_reads_exactly_what_decides_each_row() {
    let mut state = 0x0dd_ba11_u64;
    let mut checked = 0;
    while checked < 300 {
        let (source, negated) = random_expr(&mut state);
        let k = negated.len();
        if k > 5 {
            continue;
        }
        checked += 1;
        let expr = parse(&source).unwrap();
        assert_eq!(expr.columns().len(), k, "{source}");
        let root = expr.root();
        // SQL's answer for each assignment of true, false, null to the tests
        let assignments = 3usize.pow(k as u32);
        let value =
            |x: usize, i: usize| [Some(true), Some(false), None][x / 3usize.pow(i as u32) % 3];
        let sql_keeps: Vec<bool> = (0..assignments)
            .map(|x| three_valued(root, &|i| value(x, i).map(|v| v != negated[i])) == Some(true))
            .collect();
        // every combination of cells, one row each
        let rows: Vec<Vec<Cell>> = (0..4usize.pow(k as u32))
            .map(|n| {
                (0..k)
                    .map(|i| Cell::ALL[n / 4usize.pow(i as u32) % 4])
                    .collect()
            })
            .collect();
        let cols: Vec<Col> = (0..k)
            .map(|i| {
                let fields: Vec<&str> = rows.iter().map(|r| r[i].field()).collect();
                text(&fields)
            })
            .collect();
        let bound = expr
            .bind(|c| Ok::<_, ()>((c.name.as_bytes()[0] - b'a') as usize))
            .unwrap();
        let mut want_kept = Vec::new();
        let mut first_error = None;
        let mut minimal = std::collections::HashMap::new();
        for (r, row) in rows.iter().enumerate() {
            let leaf = |i: usize| match row[i] {
                Cell::True => Ok(Some(!negated[i])),
                Cell::False => Ok(Some(negated[i])),
                Cell::Null => Ok(None),
                Cell::Bad => Err(()),
            };
            let mut reads = Vec::new();
            let got = row_by_row(root, true, &leaf, &mut reads);
            // the same row alone
            let one: Vec<Col> = row.iter().map(|c| text(&[c.field()])).collect();
            let want = got
                .map(|keep| if keep { vec![0] } else { vec![] })
                .map_err(|test| Rejected {
                    row: 0,
                    slot: test,
                    test,
                });
            assert_eq!(select(&bound, &one), want, "{source} on {row:?}");
            match got {
                Ok(true) => want_kept.push(r),
                Ok(false) => {}
                Err(test) => {
                    first_error.get_or_insert(Rejected {
                        row: r,
                        slot: test,
                        test,
                    });
                }
            }
            // sound: SQL keeps the row iff row-by-row does, whatever the
            // cells not read
            if let Ok(keep) = got {
                let free: Vec<usize> = (0..k).filter(|i| row[*i] == Cell::Bad).collect();
                for x in 0..3usize.pow(free.len() as u32) {
                    let mut a = 0;
                    for (i, cell) in row.iter().enumerate() {
                        let v = match cell {
                            Cell::True => 0,
                            Cell::False => 1,
                            Cell::Null => 2,
                            Cell::Bad => {
                                let j = free.iter().position(|&f| f == i).unwrap();
                                x / 3usize.pow(j as u32) % 3
                            }
                        };
                        a += v * 3usize.pow(i as u32);
                    }
                    assert_eq!(sql_keeps[a], keep, "{source} on {row:?}");
                }
            }
            // minimal: each test read can change the outcome, given the
            // values of the tests read before it
            for (n, &test) in reads.iter().enumerate() {
                let before: Vec<(usize, usize)> =
                    reads[..n].iter().map(|&i| (i, row[i] as usize)).collect();
                let decides = *minimal.entry((before.clone(), test)).or_insert_with(|| {
                    (0..assignments).any(|a| {
                        let digit = |i: usize| a / 3usize.pow(i as u32) % 3;
                        before.iter().all(|&(i, v)| digit(i) == v) && {
                            let base = a - digit(test) * 3usize.pow(test as u32);
                            let keeps = |v: usize| sql_keeps[base + v * 3usize.pow(test as u32)];
                            keeps(0) != keeps(1) || keeps(1) != keeps(2)
                        }
                    })
                });
                assert!(
                    decides,
                    "{source}: test {test} read on {row:?} decides nothing"
                );
            }
        }
        // the whole batch: the first error, else the rows kept
        let want = match first_error {
            Some(e) => Err(e),
            None => Ok(want_kept),
        };
        assert_eq!(select(&bound, &cols), want, "{source}");
    }
}

#[test]
fn columns_of_different_types_in_one_expression() {
    let id = ints(&[Some(1), Some(2), Some(3), None]);
    let price = csv(&["9.99", "", "0.5", "12"]);
    let city = csv(&["Paris", "Lisbon", "paris", "Berlin"]);
    let cols = [id, price, city];
    assert_eq!(kept("a >= 2 and b < 10", &cols), [2]);
    assert_eq!(kept("b is null or c ~ '(?i)^paris$'", &cols), [0, 1, 2]);
    assert_eq!(kept("a is null and c = 'Berlin' and b = 12", &cols), [3]);
    assert_eq!(kept("not (a = 1) and c > 'M'", &cols), [2]);
}

#[test]
fn a_column_may_be_used_twice_and_batches_may_be_empty() {
    let a = csv(&["1", "5", "9"]);
    assert_eq!(kept("a > 2 and a < 8 or a = 1", &[a]), [0, 1]);
    let empty = csv(&[]);
    let header = ["a".to_string()];
    let bound = parse("a = 1").unwrap().bind_header(&header).unwrap();
    with_batch(&[empty], |batch| {
        let mut keep = vec![true];
        bound.eval(batch, &mut keep).unwrap();
        assert!(keep.is_empty());
    });
}

#[test]
fn bound_expressions_are_shareable() {
    fn sync<T: Send + Sync>() {}
    sync::<Bound>();
    sync::<Expr>();
}

#[test]
fn random_input_never_panics() {
    let pieces = [
        "x",
        "y",
        "\"a b\"",
        "'t'",
        "'",
        "\"",
        "1",
        "-2.5e3",
        "9223372036854775808",
        "(",
        ")",
        ",",
        "=",
        "!=",
        "<>",
        "<",
        ">=",
        "~",
        "!~",
        "!",
        "and",
        "OR",
        "not",
        "in",
        "between",
        "is",
        "null",
        "like",
        "'%a_'",
        "'\\'",
        "'('",
        "#2",
        "#",
        " ",
        "é",
        ".",
        "\\",
        "%",
        // whole tests, so that many inputs parse
        "x = 1",
        "y in (1, 2.5)",
        "x like 'a%'",
        "x is not null",
        "y between 1 and 9",
        "x ~ 'b'",
        "\"a b\" != 'c'",
        "x > -1e400",
    ];
    let cols = [
        csv(&["1", "", "abc", "2.5", "9007199254740993"]),
        csv(&["", "7", "8", "9", "10"]),
    ];
    let mut state = 0x5eed_u64;
    let mut parsed = 0;
    for _ in 0..30_000 {
        let r = crate::testing::xorshift(&mut state);
        let mut text = String::new();
        for i in 0..(r % 10) {
            let k = crate::testing::xorshift(&mut state);
            text.push_str(pieces[(k % pieces.len() as u64) as usize]);
            if !(k >> 32).is_multiple_of(3) || i == 0 {
                text.push(' ');
            }
        }
        match parse(&text) {
            Ok(e) => {
                parsed += 1;
                let c = e.to_string();
                assert_eq!(parse(&c).unwrap().to_string(), c, "{text}");
                // x is slot 0, everything else slot 1
                let bound = e.bind(|c| Ok::<_, ()>(usize::from(c.name != "x"))).unwrap();
                with_batch(&cols, |batch| {
                    let mut keep = Vec::new();
                    if bound.eval(batch, &mut keep).is_ok() {
                        assert_eq!(keep.len(), 5);
                    }
                });
            }
            Err(e) => {
                assert!(
                    e.offset <= text.len() && text.is_char_boundary(e.offset),
                    "{text}"
                );
                assert!(e.to_string().starts_with("--where: "));
            }
        }
    }
    assert!(parsed > 100, "{parsed} parsed");
}

/// An expression that is not UTF-8 is shown with its bytes as `\xNN`, not
/// as U+FFFD (which showed `\xfe` and `\xff` alike), the caret under the
/// first that is not UTF-8, after wide characters and escapes before it.
#[test]
fn bytes_that_are_not_utf8_show_escaped_with_the_caret_under_them() {
    for (bytes, shown, column, caret) in [
        (&b"k = '\xff'"[..], r"k = '\xff'", 6, 5),
        (b"k = '\xfe'", r"k = '\xfe'", 6, 5),
        // 中 takes two cells, \u{1b} six
        (
            b"k = '\xe4\xb8\xad\x1b\xff\xfe'",
            r"k = '中\u{1b}\xff\xfe'",
            8,
            5 + 2 + 6,
        ),
        // a backslash stays as typed (it is the expression's own escape)
        (b"k ~ '\\d\xc3'", r"k ~ '\d\xc3'", 8, 7),
    ] {
        let e = parse_bytes(bytes).expect_err("not UTF-8");
        assert_eq!(e.column(), column, "{shown}");
        assert_eq!(e.input(), bytes);
        assert_eq!(shown_and_caret(&e), (shown.to_string(), caret), "{e}");
    }
}
