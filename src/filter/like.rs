//! SQL `LIKE` patterns, matched without a regex engine.
//!
//! `%` matches any run of characters (none included), `_` exactly one
//! character, and everything else itself, case-sensitively; a backslash
//! makes the next character literal (`\%`, `\_`, `\\`), as `LIKE` does by
//! default in PostgreSQL and MySQL. Regex metacharacters (`.`, `*`, `(`,
//! `[`, `^`, `$`, ...) have no meaning here. The whole field must match.
//!
//! Fields are bytes and need not be UTF-8: a character is a valid UTF-8
//! sequence, or else a single byte, so `_` matches `é` (two bytes) once and
//! never half of it, and a stray `\xff` byte counts as one character.
//!
//! The pattern is cut at its `%`s into segments of fixed *character* length.
//! The first segment must match at the start, the last at the end, and each
//! one in between at its leftmost place after the previous one (taking the
//! leftmost place leaves the most room to the rest, so this never misses a
//! match). Time is at most fields × pattern length, with no backtracking
//! blow-up; a literal segment is found with `memchr::memmem`, and the
//! common shapes (`abc%`, `%abc`, `%abc%`, exact) cost one comparison or
//! search.

/// One piece of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `_`: any one character.
    Any,
}

/// A compiled `LIKE` pattern.
#[derive(Clone, Debug)]
pub struct LikePattern {
    /// The pattern's segments, between its `%`s: one when there is no `%`.
    segments: Vec<Vec<Atom>>,
    /// A searcher for each segment that starts with bytes.
    finders: Vec<Option<memchr::memmem::Finder<'static>>>,
}

/// Why a pattern is not valid: it ends in an escaping backslash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailingEscape;

impl LikePattern {
    pub fn new(pattern: &str) -> Result<LikePattern, TrailingEscape> {
        let mut segments = vec![Vec::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let segment = segments.last_mut().expect("one segment");
            let literal = match c {
                '%' => {
                    segments.push(Vec::new());
                    continue;
                }
                '_' => {
                    segment.push(Atom::Any);
                    continue;
                }
                '\\' => chars.next().ok_or(TrailingEscape)?,
                c => c,
            };
            let mut buf = [0u8; 4];
            let bytes = literal.encode_utf8(&mut buf).as_bytes();
            match segment.last_mut() {
                Some(Atom::Bytes(b)) => b.extend_from_slice(bytes),
                _ => segment.push(Atom::Bytes(bytes.to_vec())),
            }
        }
        let finders = segments
            .iter()
            .map(|s| match s.first() {
                Some(Atom::Bytes(b)) => Some(memchr::memmem::Finder::new(b).into_owned()),
                _ => None,
            })
            .collect();
        Ok(LikePattern { segments, finders })
    }

    /// Whether the whole of `s` matches.
    pub fn matches(&self, s: &[u8]) -> bool {
        let segs = &self.segments;
        if segs.len() == 1 {
            return match_at(&segs[0], s, 0) == Some(s.len());
        }
        let Some(mut at) = match_at(&segs[0], s, 0) else {
            return false;
        };
        let last = segs.len() - 1;
        for (i, seg) in segs.iter().enumerate().take(last).skip(1) {
            match self.find(i, seg, s, at) {
                Some(end) => at = end,
                None => return false,
            }
        }
        self.match_suffix(&segs[last], s, at)
    }

    /// The end of the leftmost match of segment `i` starting at or after
    /// `from`, a character boundary.
    fn find(&self, i: usize, seg: &[Atom], s: &[u8], mut from: usize) -> Option<usize> {
        if seg.is_empty() {
            return Some(from);
        }
        match &self.finders[i] {
            // a valid UTF-8 literal only occurs at character boundaries
            Some(finder) => loop {
                let start = from + finder.find(&s[from..])?;
                if let Some(end) = match_at(seg, s, start) {
                    return Some(end);
                }
                from = start + 1;
            },
            None => loop {
                if let Some(end) = match_at(seg, s, from) {
                    return Some(end);
                }
                if from >= s.len() {
                    return None;
                }
                from += char_len(s, from);
            },
        }
    }

    /// Whether the last segment matches a suffix of `s` starting at or
    /// after `from`.
    fn match_suffix(&self, seg: &[Atom], s: &[u8], from: usize) -> bool {
        if seg.iter().all(|a| matches!(a, Atom::Bytes(_))) {
            // fixed byte length: only one place to look
            let len: usize = seg
                .iter()
                .map(|a| match a {
                    Atom::Bytes(b) => b.len(),
                    Atom::Any => 0,
                })
                .sum();
            return s.len() >= from + len && match_at(seg, s, s.len() - len) == Some(s.len());
        }
        let mut at = from;
        loop {
            match match_at(seg, s, at) {
                Some(end) if end == s.len() => return true,
                // the segment has fixed character length: a later start
                // ends later, and one that overran cannot come back
                Some(end) if end > s.len() => return false,
                _ => {}
            }
            if at >= s.len() {
                return false;
            }
            at += char_len(s, at);
        }
    }
}

/// Where a match of `seg` starting at `at` ends, if it matches there.
#[inline]
fn match_at(seg: &[Atom], s: &[u8], mut at: usize) -> Option<usize> {
    for atom in seg {
        match atom {
            Atom::Bytes(b) => {
                if !s[at..].starts_with(b) {
                    return None;
                }
                at += b.len();
            }
            Atom::Any => {
                if at >= s.len() {
                    return None;
                }
                at += char_len(s, at);
            }
        }
    }
    Some(at)
}

/// The length of the character at `s[at]`: a valid UTF-8 sequence, or one
/// byte.
#[inline]
fn char_len(s: &[u8], at: usize) -> usize {
    let b = s[at];
    let len = match b {
        0x00..=0x7f => return 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return 1,
    };
    match s.get(at..at + len) {
        Some(seq) if std::str::from_utf8(seq).is_ok() => len,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(pattern: &str, s: &[u8]) -> bool {
        LikePattern::new(pattern).unwrap().matches(s)
    }

    /// The reference: the same language, by plain recursion.
    fn slow(p: &[char], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('%', rest)) => (0..=s.len())
                .filter(|&i| i == 0 || i == s.len() || boundary(s, i))
                .any(|i| slow(rest, &s[i..])),
            Some(('_', rest)) => !s.is_empty() && slow(rest, &s[char_len(s, 0)..]),
            Some(('\\', rest)) => {
                let (c, rest) = rest.split_first().expect("no trailing escape");
                literal(*c, rest, s)
            }
            Some((c, rest)) => literal(*c, rest, s),
        }
    }

    fn literal(c: char, rest: &[char], s: &[u8]) -> bool {
        let mut buf = [0; 4];
        let b = c.encode_utf8(&mut buf).as_bytes();
        s.starts_with(b) && slow(rest, &s[b.len()..])
    }

    fn boundary(s: &[u8], i: usize) -> bool {
        let mut at = 0;
        while at < i {
            at += char_len(s, at);
        }
        at == i
    }

    #[test]
    fn wildcards() {
        assert!(like("abc", b"abc"));
        assert!(!like("abc", b"abcd"));
        assert!(!like("abc", b"ab"));
        assert!(like("a%", b"a"));
        assert!(like("a%", b"abc"));
        assert!(!like("a%", b"ba"));
        assert!(like("%c", b"abc"));
        assert!(like("%b%", b"abc"));
        assert!(!like("%d%", b"abc"));
        assert!(like("%", b""));
        assert!(like("%%", b"x"));
        assert!(like("", b""));
        assert!(!like("", b"x"));
        assert!(like("a_c", b"abc"));
        assert!(!like("a_c", b"ac"));
        assert!(!like("a_c", b"abbc"));
        assert!(like("___", b"abc"));
        assert!(!like("___", b"ab"));
        assert!(like("a%b%c", b"aXbYc"));
        assert!(like("a%b%c", b"abc"));
        assert!(!like("a%b%c", b"acb"));
        assert!(like("%ab_d%", b"xxabcabzdyy"));
        assert!(like("%a_", b"aaa"));
        assert!(like("%_a", b"ba"));
        assert!(!like("%_a", b"a"));
        assert!(
            like("Abc", b"Abc") && !like("abc", b"ABC"),
            "case-sensitive"
        );
    }

    #[test]
    fn escapes_and_regex_characters() {
        assert!(like(r"100\%", b"100%"));
        assert!(!like(r"100\%", b"1000"));
        assert!(like(r"a\_b", b"a_b"));
        assert!(!like(r"a\_b", b"axb"));
        assert!(like(r"a\\b", b"a\\b"));
        assert!(like(r"\a", b"a"));
        assert!(LikePattern::new("abc\\").is_err());
        for p in [
            ".*", "a.c", "(a)", "[ab]", "^a$", "a+", "a?", "a|b", "{1}", "$",
        ] {
            assert!(like(p, p.as_bytes()), "{p} matches itself");
        }
        assert!(!like("a.c", b"abc"));
        assert!(!like(".*", b"anything"));
        assert!(like("%.csv", b"data.csv"));
        assert!(!like("%.csv", b"data_csv"));
    }

    #[test]
    fn characters_are_utf8_sequences_or_bytes() {
        assert!(like("_", "é".as_bytes()));
        assert!(!like("__", "é".as_bytes()));
        assert!(like("caf_", "café".as_bytes()));
        assert!(like("%_x", "€x".as_bytes()));
        assert!(
            !like("%__x", "€x".as_bytes()),
            "half a character is not one"
        );
        assert!(like("_", b"\xff"));
        assert!(like("__", b"\xc3\xff"));
        assert!(like("a_b", b"a\x80b"));
        assert!(like("%é%", "café au lait".as_bytes()));
        assert!(like("%€", "10 €".as_bytes()));
        assert!(like("%_€", "10 €".as_bytes()));
        assert!(!like("%_€", "€".as_bytes()));
    }

    #[test]
    fn agrees_with_a_reference_matcher() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet: [&[u8]; 6] = [b"a", b"b", "é".as_bytes(), b"\xff", b"%", b"_"];
        let pattern_chars = ['a', 'b', 'é', '%', '_', '\\'];
        for _ in 0..20_000 {
            let r = crate::testing::xorshift(&mut state);
            let mut s = Vec::new();
            for i in 0..(r % 7) {
                s.extend_from_slice(alphabet[((r >> (8 + 3 * i)) % 6) as usize]);
            }
            let r = crate::testing::xorshift(&mut state);
            let mut p: String = (0..(r % 6))
                .map(|i| pattern_chars[((r >> (8 + 3 * i)) % 6) as usize])
                .collect();
            if p.ends_with('\\') && !p.ends_with("\\\\") {
                p.push('%');
            }
            let Ok(pat) = LikePattern::new(&p) else {
                continue;
            };
            let chars: Vec<char> = p.chars().collect();
            assert_eq!(pat.matches(&s), slow(&chars, &s), "{p:?} on {s:?}");
        }
    }
}
