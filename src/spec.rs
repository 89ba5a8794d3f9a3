//! The aggregation grammar: `--agg mean:x,p99.9:y,count`.
//!
//! A spec is `FUNC:COLUMN`, or `count` alone; one `--agg` may hold several
//! specs separated by commas. Column names may themselves contain `:` (the
//! first `:` separates the function), but not `,`.

use crate::agg::{Func, FUNC_NAMES};
use crate::error::Error;

/// One requested aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    pub func: Func,
    /// `None` only for `count` alone.
    pub column: Option<String>,
    /// Output column name: `count` or `FUNC_COLUMN`.
    pub name: String,
}

/// Parses every `--agg` value into specs, in order.
pub fn parse_specs<S: AsRef<str>>(values: &[S]) -> Result<Vec<AggSpec>, Error> {
    let mut specs = Vec::new();
    for value in values {
        for part in value.as_ref().split(',') {
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
    let func = Func::parse(func_text).map_err(|why| {
        if why.is_empty() {
            let mut msg = format!(
                "unknown aggregate function '{func_text}' in --agg {text}; known functions: {}",
                FUNC_NAMES.join(", ")
            );
            if let Some(near) = nearest(func_text, FUNC_NAMES.iter().copied()) {
                msg.push_str(&format!("; did you mean '{near}'?"));
            }
            Error::Usage(msg)
        } else {
            Error::Usage(format!("{why} (in --agg {text})"))
        }
    })?;
    match column {
        None if func == Func::Count => Ok(AggSpec {
            func: Func::CountRows,
            column: None,
            name: "count".into(),
        }),
        None => Err(Error::Usage(format!(
            "--agg {text}: '{func_text}' needs a column, as in {func_text}:COLUMN"
        ))),
        Some("") => Err(Error::Usage(format!(
            "--agg {text}: the column name is empty"
        ))),
        Some(col) => Ok(AggSpec {
            name: format!("{}_{col}", func.label()),
            func,
            column: Some(col.to_string()),
        }),
    }
}

/// Levenshtein distance between two strings (by chars), case-insensitive.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let best = candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .min_by_key(|&(d, _)| d)?;
    let limit = (word.chars().count() / 2).max(2);
    (best.0 <= limit).then_some(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn nearest_match() {
        assert_eq!(nearest("pricee", ["price", "qty", "id"]), Some("price"));
        assert_eq!(nearest("zzzzzz", ["price", "qty"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
