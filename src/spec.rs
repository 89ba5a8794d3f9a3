//! The aggregation grammar (`--agg mean:x,p99.9:y,count`) and the way every
//! flag names a column (`--agg`, `--by`, `split --columns`).
//!
//! A spec is `FUNC:COLUMN`, or `count` alone; one `--agg` may hold several
//! specs separated by commas. The first `:` separates the function (no
//! function name has one), so `median:a:b` reads column `a:b`.
//!
//! Column names come from other people's files and may hold anything, so a
//! column reference has two forms:
//!
//! - **bare**: `price`. Whitespace around it is trimmed (as around the whole
//!   spec) and it cannot hold a comma, which separates list items.
//! - **quoted**: `"a,b"`, `" price"`, `"say ""hi"""`: between double quotes,
//!   as in a CSV field, the name is taken literally (`""` is one `"`), so
//!   any header field can be named. A `"` that does not open the reference
//!   is ordinary text (`5'11"`), as in the CSV reader.
//!
//! Headers may repeat a name (`k,k,v`). A reference that matches several
//! columns is refused (see [`crate::plan`]) rather than resolved to the
//! first: `NAME#N` picks the N-th column called NAME (1-based, in header
//! order), bare (`k#2`) or after a quoted name (`"a,b"#2`). A column whose
//! whole name is literally `k#2` wins over that reading of the bare form;
//! the quoted forms are never ambiguous (`"k#2"` is the literal name,
//! `"k"#2` the second `k`). The grammar is decided here; which column a
//! reference means needs the header and is decided by the plan.

use std::fmt;

use crate::agg::Func;
use crate::error::{show_name, Error};

/// One requested aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    pub func: Func,
    /// `None` only for `count` alone.
    pub column: Option<ColumnRef>,
    /// Output column name: `count` or `FUNC_COLUMN`. The plan replaces
    /// COLUMN by the column's label once the header is known (see
    /// [`crate::plan::Plan::slot_labels`]).
    pub name: String,
    /// The spec as written (trimmed), for messages.
    pub text: String,
}

/// A column as a flag names it: see the module docs for the grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnRef {
    /// The column's name.
    pub name: String,
    /// `NAME#N`: the N-th column (1-based) called `name`.
    pub occurrence: Option<usize>,
    /// For a bare `NAME#N`: the whole text, which is the reference when
    /// some column has exactly that name.
    pub literal: Option<String>,
    /// The reference as written (trimmed), for messages.
    pub text: String,
}

impl ColumnRef {
    /// A reference to the column called `name`, with no `#N`.
    pub fn named(name: &str) -> ColumnRef {
        ColumnRef {
            name: name.to_string(),
            occurrence: None,
            literal: None,
            text: quote_if_needed(name),
        }
    }

    /// The name to use for an input with no header: the literal reading.
    pub fn plain_name(&self) -> &str {
        self.literal.as_deref().unwrap_or(&self.name)
    }
}

impl From<&str> for ColumnRef {
    fn from(name: &str) -> ColumnRef {
        ColumnRef::named(name)
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `name` as a bare reference if it reads back as that name, else quoted.
pub fn quote_if_needed(name: &str) -> String {
    let bare = !name.is_empty()
        && name.trim() == name
        && !name.contains(',')
        && !name.starts_with('"')
        && occurrence_suffix(name).is_none()
        && crate::timebucket::TimeUnit::parse_by_term(name).is_none();
    if bare {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `(NAME, N)` when `text` ends in `#N`, N a positive integer.
fn occurrence_suffix(text: &str) -> Option<(&str, usize)> {
    let (name, digits) = text.rsplit_once('#')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    Some((name, digits.parse().ok()?))
}

/// Splits a flag's value at the commas outside double quotes.
pub fn split_list<'a>(value: &'a str, flag: &str) -> Result<Vec<&'a str>, Error> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    // A quote opens a quoted name only at the start of a name (after
    // optional spaces and, in --agg, `FUNC:`, in --by, `FUNC(` as in
    // `day("a,b")`); inside one, `""` closes and reopens, which leaves the
    // state as it was.
    let mut at_name_start = true;
    let mut after_func = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' if quoted => quoted = false,
            '"' if at_name_start => quoted = true,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
                at_name_start = true;
                after_func = false;
                continue;
            }
            ':' if !quoted && flag == "--agg" && !after_func => {
                at_name_start = true;
                after_func = true;
                continue;
            }
            '(' if !quoted && flag == "--by" && !after_func => {
                at_name_start = true;
                after_func = true;
                continue;
            }
            c if c.is_whitespace() && at_name_start => continue,
            _ => {}
        }
        at_name_start = false;
    }
    if quoted {
        return Err(Error::Usage(format!(
            "{flag} {}: a quoted column name is not closed; write \"NAME\" (a quote inside is doubled: \"\")",
            show_name(value)
        )));
    }
    parts.push(&value[start..]);
    Ok(parts)
}

/// Parses one column reference (`flag` names the flag, for messages).
pub fn parse_column(text: &str, flag: &str) -> Result<ColumnRef, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Usage(format!(
            "{flag} has an empty column name (a stray comma?); an empty name is written \"\""
        )));
    }
    let Some(body) = text.strip_prefix('"') else {
        return Ok(match occurrence_suffix(text) {
            Some((name, n)) if !name.is_empty() => ColumnRef {
                name: name.to_string(),
                occurrence: Some(n),
                literal: Some(text.to_string()),
                text: text.to_string(),
            },
            _ => ColumnRef {
                name: text.to_string(),
                occurrence: None,
                literal: None,
                text: text.to_string(),
            },
        });
    };
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    let mut rest = None;
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|&(_, c)| c) == Some('"') {
                chars.next();
            } else {
                rest = Some(&body[i + 1..]);
                break;
            }
        }
        name.push(c);
    }
    let Some(rest) = rest else {
        return Err(Error::Usage(format!(
            "{flag} {}: a quoted column name is not closed; write \"NAME\" (a quote inside is doubled: \"\")",
            show_name(text)
        )));
    };
    let occurrence = match rest {
        "" => None,
        _ => match rest.strip_prefix('#').and_then(|_| occurrence_suffix(rest)) {
            Some(("", n)) => Some(n),
            _ => {
                return Err(Error::Usage(format!(
                    "{flag} {}: after a quoted column name only #N may follow (the N-th column of that name), not {rest:?}",
                    show_name(text)
                )))
            }
        },
    };
    Ok(ColumnRef {
        name,
        occurrence,
        literal: None,
        text: text.to_string(),
    })
}

/// Parses a list flag's values (`--by a,b --by c`) into column references.
pub fn parse_columns<S: AsRef<str>>(values: &[S], flag: &str) -> Result<Vec<ColumnRef>, Error> {
    let mut columns = Vec::new();
    for value in values {
        for part in split_list(value.as_ref(), flag)? {
            columns.push(parse_column(part, flag)?);
        }
    }
    Ok(columns)
}

/// Parses every `--agg` value into specs, in order.
pub fn parse_specs<S: AsRef<str>>(values: &[S]) -> Result<Vec<AggSpec>, Error> {
    let mut specs = Vec::new();
    for value in values {
        for part in split_list(value.as_ref(), "--agg")? {
            specs.push(parse_spec(part.trim())?);
        }
    }
    if specs.is_empty() {
        return Err(Error::Usage(
            "no aggregation given: use --agg FUNC:COLUMN (or --agg count)".into(),
        ));
    }
    Ok(specs)
}

fn parse_spec(text: &str) -> Result<AggSpec, Error> {
    if text.is_empty() {
        return Err(Error::Usage(
            "empty aggregation in --agg (a stray comma?): write FUNC:COLUMN, like mean:price"
                .into(),
        ));
    }
    let (func_text, column) = match text.split_once(':') {
        Some((f, c)) => (f.trim(), Some(c.trim())),
        None => (text, None),
    };
    // the spec as typed, as messages show it (on one line, escaped)
    let shown = show_name(text);
    let func = Func::parse(func_text).map_err(|why| {
        if why.is_empty() {
            let mut msg = format!(
                "unknown aggregate function '{}' in --agg {shown}; known functions: {}",
                show_name(func_text),
                Func::names().collect::<Vec<_>>().join(", ")
            );
            if let Some(near) = nearest(func_text, Func::names()) {
                msg.push_str(&format!("; did you mean '{near}'?"));
            }
            Error::Usage(msg)
        } else {
            Error::Usage(format!("{why} (in --agg {shown})"))
        }
    })?;
    match column {
        None if func == Func::Count => Ok(AggSpec {
            func: Func::CountRows,
            column: None,
            name: "count".into(),
            text: text.to_string(),
        }),
        // (`func_text` is a function's name, and so is `text`)
        None => Err(Error::Usage(format!(
            "--agg {text}: '{func_text}' needs a column, as in {func_text}:COLUMN"
        ))),
        Some("") => Err(Error::Usage(format!(
            "--agg {shown}: the column name is empty (an empty name is written \"\")"
        ))),
        Some(col) => {
            let column = parse_column(col, "--agg")?;
            Ok(AggSpec {
                name: format!("{}_{}", func.label(), column.name),
                func,
                column: Some(column),
                text: text.to_string(),
            })
        }
    }
}

/// Edit distance between two strings, counted in chars and ignoring case:
/// insertions, deletions, substitutions and swaps of two neighbours
/// (`maen` is one edit from `mean`), each costing one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (folded(a), folded(b));
    distance_within(&a, &b, a.len().max(b.len())).expect("no distance exceeds the longer length")
}

/// `text` lowercased, as chars.
fn folded(text: &str) -> Vec<char> {
    text.to_lowercase().chars().collect()
}

/// The edit distance of `a` and `b` (as [`edit_distance`] counts it) when
/// it is at most `max`, else `None`. Only the cells within `max` of the
/// diagonal are computed, and the table is left as soon as a row holds no
/// cell within `max`: a cost of about `a.len()` × `max`, where the whole
/// table made the suggestion for an unknown name of 5,000 chars, among
/// 65,000 columns of 100, take 100 seconds.
fn distance_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // beyond `max`: never read as less than `max + 1`, never overflowing
    let far = max + 1;
    // rows i-2, i-1 and i of the optimal-string-alignment table
    let mut before = vec![far; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).map(|j| j.min(far)).collect();
    let mut cur = vec![far; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur.fill(far);
        cur[0] = (i + 1).min(far);
        let mut least = cur[0];
        let (from, to) = (i.saturating_sub(max), (i + max + 1).min(b.len()));
        for j in from..to {
            let cb = &b[j];
            let cost = usize::from(ca != cb);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && *ca == b[j - 1] && a[i - 1] == *cb {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d.min(far);
            least = least.min(cur[j + 1]);
        }
        if least > max {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// The candidate closest to `word`, if it is close enough to be a likely
/// typo: at most one edit in three chars of the longer of the two, so that
/// a one-letter name is matched only by itself in another case (`e` is not
/// a typo of `ü`), `prise` is of `price`, and `qyt` is of `qty`; the first
/// of the closest. No suggestion for a word of over [`SUGGESTED_UP_TO`]
/// chars: the search stays short however long the word and the names.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = word.chars().count();
    if length > SUGGESTED_UP_TO {
        return None;
    }
    let word = folded(word);
    // lowercasing never shortens (`İ` is two chars lowercased): a
    // candidate of n chars is n or more lowercased, at least n less this
    // many edits from the word
    let reach = word.len().max(length);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        // within a third of the longer: at most half as long again
        if c.len() > 4 * (reach + reach / 2 + 1) {
            continue; // more chars than that, whatever they are
        }
        let mut max = length.max(c.chars().count()) / 3;
        if let Some((d, _)) = best {
            match d.checked_sub(1) {
                Some(closer) => max = max.min(closer),
                None => break, // equal but for case: none is closer
            }
        }
        if let Some(d) = distance_within(&word, &folded(c), max) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// A likely wrong delimiter, when a name was not found: the header is one
/// column whose name, cut at a tab, `;`, `|` or `,`, holds `name` (a TSV
/// or a European CSV read with the default comma), or Excel's `sep=;`
/// line. The note says which delimiter, as `--delimiter` takes it.
pub fn delimiter_hint(name: &str, header: &[String]) -> Option<String> {
    let [only] = header else {
        return None;
    };
    // the delimiter as `--delimiter` takes it, and as prose names it
    let flag = |c: char| match c {
        '\t' => ("tab".to_string(), "a tab".to_string()),
        c => (format!("'{c}'"), format!("'{c}'")),
    };
    // (one byte: `--delimiter` takes one ASCII character)
    if let Some(sep) = only.strip_prefix("sep=").filter(|d| d.len() == 1) {
        let (flag, _) = flag(sep.chars().next()?);
        return Some(format!(
            "the header is Excel's delimiter line, '{}', which rayproc does not read: drop \
             that line (`tail -n +2 FILE | rayproc run --input - ...`) and give \
             `--delimiter {flag}`",
            show_name(only)
        ));
    }
    let c = ['\t', ';', '|', ',']
        .into_iter()
        .find(|&c| only.split(c).any(|part| part == name))?;
    let (flag, shown) = flag(c);
    Some(format!(
        "the header was read as one column, '{}': are its fields cut by {shown}? \
         (`--delimiter {flag}`)",
        show_name(only)
    ))
}

/// Texts that other programs write for a missing value: R and pandas
/// (`NA`, `NaN` is a number here), SQL exports (`NULL`, MySQL's `\N`),
/// spreadsheets (`#N/A`, `N/A`), Python (`None`).
const NULL_SPELLINGS: [&[u8]; 13] = [
    b"NA", b"N/A", b"n/a", b"na", b"#N/A", b"NULL", b"null", b"Null", b"\\N", b"None", b"none",
    b"nil", b"-",
];

/// A note for a value refused as a number, when it is a common spelling of
/// a missing value: the flag that reads it as null, shell-quoted.
pub fn null_hint(found: &[u8]) -> Option<String> {
    let text = NULL_SPELLINGS.into_iter().find(|&s| s == found)?;
    let text = std::str::from_utf8(text).expect("ASCII");
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'-');
    let quoted = if plain {
        text.to_string()
    } else {
        format!("'{text}'")
    };
    Some(format!(
        "if it marks a missing value, `--null {quoted}` reads it as null"
    ))
}

/// The longest word [`nearest`] finds a likely typo of, in chars.
const SUGGESTED_UP_TO: usize = 128;

/// A header's names for a message (`'id', 'price'`), the first
/// [`LISTED_UP_TO`] of them, then how many more: the whole list of 65,000
/// columns was a message of 7 MB.
pub fn column_list(header: &[String]) -> String {
    some_of(header.iter().map(|h| format!("'{}'", show_name(h))))
}

/// The first [`LISTED_UP_TO`] of `items`, joined by commas, then how many
/// more: what a message lists of what may be thousands (a header's
/// columns, the positions of a name it repeats). Only those shown are
/// made.
pub fn some_of(items: impl ExactSizeIterator<Item = String>) -> String {
    let count = items.len();
    let mut list: Vec<String> = items.take(LISTED_UP_TO).collect();
    if count > LISTED_UP_TO {
        list.push(format!(
            "and {} more ({count} in all)",
            count - LISTED_UP_TO
        ));
    }
    list.join(", ")
}

/// How many items [`some_of`] shows.
const LISTED_UP_TO: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_value_spelled_as_other_programs_do_names_the_flag() {
        let hint = |t: &str| null_hint(t.as_bytes());
        for (text, flag) in [
            ("NA", "--null NA"),
            ("N/A", "--null N/A"),
            ("NULL", "--null NULL"),
            ("-", "--null -"),
            ("\\N", "--null '\\N'"),
            ("#N/A", "--null '#N/A'"),
        ] {
            let h = hint(text).unwrap_or_else(|| panic!("{text}"));
            assert!(h.contains(&format!("`{flag}`")), "{text}: {h}");
        }
        // words, numbers' neighbours and blanks are not missing values
        for text in ["abc", "NAN", "nan", "NA ", " NA", "", "n", "--", "?"] {
            assert_eq!(hint(text), None, "{text}");
        }
    }

    #[test]
    fn a_one_column_header_cut_by_another_delimiter_is_hinted() {
        let one = |h: &str| vec![h.to_string()];
        let hint = delimiter_hint("b", &one("a\tb")).unwrap();
        assert!(hint.contains("cut by a tab? (`--delimiter tab`)"), "{hint}");
        let hint = delimiter_hint("price", &one("id;price;qty")).unwrap();
        assert!(hint.contains("cut by ';'? (`--delimiter ';'`)"), "{hint}");
        let hint = delimiter_hint("a", &one("a|b")).unwrap();
        assert!(hint.contains("(`--delimiter '|'`)"), "{hint}");
        let hint = delimiter_hint("b", &one("a,b")).unwrap();
        assert!(hint.contains("(`--delimiter ','`)"), "{hint}");
        // Excel's `sep=` line opens the file
        let hint = delimiter_hint("b", &one("sep=;")).unwrap();
        assert!(hint.contains("Excel's delimiter line, 'sep=;'"), "{hint}");
        assert!(hint.contains("`--delimiter ';'`"), "{hint}");
        let hint = delimiter_hint("b", &one("sep=\t")).unwrap();
        assert!(hint.contains("`--delimiter tab`"), "{hint}");
        assert_eq!(delimiter_hint("b", &one("sep=;;")), None);
        // the name is not among the parts, or there are several columns
        assert_eq!(delimiter_hint("c", &one("a;b")), None);
        assert_eq!(delimiter_hint("b", &one("ab")), None);
        assert_eq!(delimiter_hint("b", &["a;b".into(), "c".into()]), None);
        assert_eq!(delimiter_hint("b", &[]), None);
    }

    #[test]
    fn parses_lists() {
        let specs = parse_specs(&["mean:x,max:y", "count", "p99.9:lat", "median:a:b"]).unwrap();
        let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["mean_x", "max_y", "count", "p99.9_lat", "median_a:b"]
        );
        assert_eq!(specs[3].func, Func::Quantile(0.999, "p99.9".into()));
        assert_eq!(specs[2].func, Func::CountRows);
        assert_eq!(specs[2].column, None);
        let specs = parse_specs(&["count:y", "p0:x", "p100:x"]).unwrap();
        assert_eq!(specs[0].func, Func::Count);
        assert_eq!(specs[0].name, "count_y");
    }

    #[test]
    fn rejects_bad_specs_with_hints() {
        let err = parse_specs(&["maen:x"]).unwrap_err().to_string();
        assert!(err.contains("did you mean 'mean'"), "{err}");
        assert!(parse_specs(&["mean"])
            .unwrap_err()
            .to_string()
            .contains("needs a column"));
        assert!(parse_specs(&["p101:x"])
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(parse_specs(&["pxx:x"]).is_err());
        assert!(parse_specs(&["p-1:x"]).is_err());
        assert!(parse_specs(&["mean:x,"])
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(parse_specs(&["mean:"]).is_err());
        assert!(parse_specs::<&str>(&[]).is_err());
    }

    /// The whole optimal-string-alignment table, as `edit_distance` was.
    fn whole_table(a: &str, b: &str) -> usize {
        let (a, b) = (folded(a), folded(b));
        let mut before: Vec<usize> = Vec::new();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                let cost = usize::from(ca != cb);
                cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
                if i > 0 && j > 0 && *ca == b[j - 1] && a[i - 1] == *cb {
                    cur[j + 1] = cur[j + 1].min(before[j - 1] + 1);
                }
            }
            before = std::mem::replace(&mut prev, cur);
        }
        prev[b.len()]
    }

    #[test]
    fn the_band_gives_the_whole_tables_distance_within_its_bound() {
        let mut state = 7;
        let mut next = || crate::testing::xorshift(&mut state);
        for _ in 0..3000 {
            let word = |next: &mut dyn FnMut() -> u64| -> String {
                let len = (next() % 12) as usize;
                (0..len)
                    .map(|_| ['a', 'b', 'C', 'é'][next() as usize % 4])
                    .collect()
            };
            let (a, b) = (word(&mut next), word(&mut next));
            let d = whole_table(&a, &b);
            assert_eq!(edit_distance(&a, &b), d, "{a} {b}");
            for max in 0..14 {
                let within = distance_within(&folded(&a), &folded(&b), max);
                assert_eq!(within, (d <= max).then_some(d), "{a} {b} {max}");
            }
        }
    }

    /// Long names, many of them: the search is short, and finds as before.
    #[test]
    fn nearest_stays_short_for_long_names() {
        let names: Vec<String> = (0..20_000)
            .map(|i| format!("col{i:05}_{}", "x".repeat(92)))
            .collect();
        let names = || names.iter().map(String::as_str);
        let typo = format!("col01234_{}", "x".repeat(91));
        assert_eq!(nearest(&typo, names()), Some(names().nth(1234).unwrap()));
        assert_eq!(nearest(&"y".repeat(100), names()), None);
        assert_eq!(nearest(&"y".repeat(100_000), names()), None);
        let long = "a".repeat(1 << 20);
        assert_eq!(nearest("ab", [long.as_str(), "b"]), None);
        assert_eq!(nearest("aab", [long.as_str(), "aa"]), Some("aa"));
        // the first of the closest; case alone is no edit
        assert_eq!(nearest("ab", ["abc", "ab_", "AB", "ab"]), Some("AB"));
        // `İ` lowercased is two chars: its word reaches as far as those
        let dotted = "i\u{307}".repeat(5) + &"\u{1f600}".repeat(5);
        assert_eq!(nearest("İİİİİ", [dotted.as_str()]), Some(dotted.as_str()));
    }

    #[test]
    fn a_long_header_is_listed_in_part() {
        let header: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let list = column_list(&header);
        assert!(list.starts_with("'c0', 'c1', "), "{list}");
        assert!(list.ends_with("'c99', and 50 more (150 in all)"), "{list}");
        assert_eq!(column_list(&header[..2]), "'c0', 'c1'");
        let positions = some_of((1..65_001).map(|n| n.to_string()));
        assert!(
            positions.ends_with(", 100, and 64900 more (65000 in all)"),
            "{positions}"
        );
    }

    #[test]
    fn nearest_match() {
        assert_eq!(nearest("pricee", ["price", "qty", "id"]), Some("price"));
        assert_eq!(nearest("zzzzzz", ["price", "qty"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("maen", "mean"), 1);
        assert_eq!(nearest("qyt", ["price", "qty"]), Some("qty"));
        assert_eq!(nearest("e", ["ü", "prix"]), None);
        assert_eq!(nearest("E", ["ü", "e"]), Some("e"));
        assert_eq!(nearest("grösse", ["ü", "größe"]), Some("größe"));
        assert_eq!(nearest("ab", ["a", "b"]), None);
    }

    #[test]
    fn quoted_and_numbered_columns() {
        let specs =
            parse_specs(&[r##"sum:"a,b", max: " price" ,min:"say ""hi""",p50:"k"#2,mean:k#2"##])
                .unwrap();
        let cols: Vec<&ColumnRef> = specs.iter().map(|s| s.column.as_ref().unwrap()).collect();
        assert_eq!(cols[0].name, "a,b");
        assert_eq!(cols[1].name, " price");
        assert_eq!(cols[2].name, "say \"hi\"");
        assert_eq!(
            (
                cols[3].name.as_str(),
                cols[3].occurrence,
                cols[3].literal.as_deref()
            ),
            ("k", Some(2), None)
        );
        assert_eq!(
            (
                cols[4].name.as_str(),
                cols[4].occurrence,
                cols[4].literal.as_deref()
            ),
            ("k", Some(2), Some("k#2"))
        );
        let by = parse_columns(&[r#""a,b",c , "" ,5'11",x#0"#], "--by").unwrap();
        let names: Vec<&str> = by.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a,b", "c", "", "5'11\"", "x#0"]);
        assert!(parse_columns(&[r#""a,b"#], "--by").is_err());
        assert!(parse_columns(&[r#""a"b"#], "--by").is_err());
        assert!(parse_columns(&["a,,b"], "--by").is_err());
        assert!(parse_specs(&[r#"sum:"a"#]).is_err());
        for name in ["a,b", " x", "\"q", "k#2", "", "plain", "a\"b"] {
            let back = parse_column(&quote_if_needed(name), "--by").unwrap();
            assert_eq!(
                (back.name.as_str(), back.occurrence),
                (name, None),
                "{name}"
            );
        }
    }
}
