//! Tests of input expansion on temporary folders: patterns, order,
//! hidden and `_` files, datasets, Hive keys, links.

use super::*;
use tempfile::TempDir;

/// A temporary folder holding `files` (relative paths; folders created).
fn tree(files: &[&str]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, f.as_bytes()).unwrap();
    }
    dir
}

/// The expansion of `pattern` (relative to `dir`), as paths relative to
/// `dir`.
fn names(dir: &TempDir, pattern: &str) -> Vec<String> {
    let files = expand(&dir.path().join(pattern)).unwrap();
    files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn err(dir: &TempDir, pattern: &str) -> String {
    expand(&dir.path().join(pattern)).unwrap_err().to_string()
}

fn hive(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// -------------------------------------------------------------- matcher

/// A plainly recursive matcher to check the linear one against.
fn naive(t: &[Token], n: &[char]) -> bool {
    match t.first() {
        None => n.is_empty(),
        Some(Token::Star) => (0..=n.len()).any(|k| naive(&t[1..], &n[k..])),
        Some(tok) => {
            let Some(&c) = n.first() else { return false };
            let ok = match tok {
                Token::Literal(l) => *l == c,
                Token::One => true,
                Token::Class { negated, ranges } => {
                    ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated
                }
                Token::Star => unreachable!(),
            };
            ok && naive(&t[1..], &n[1..])
        }
    }
}

#[test]
fn matcher_agrees_with_a_recursive_one() {
    let atoms = ["a", "b", "*", "?", "[ab]", "[!a]", "[a-c]", "**"];
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |m: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % m) as usize
    };
    for _ in 0..20_000 {
        let pattern: String = (0..next(6)).map(|_| atoms[next(8)]).collect();
        let name: String = (0..next(8)).map(|_| ['a', 'b', 'c'][next(3)]).collect();
        let p = Pattern::new(&pattern);
        let chars: Vec<char> = name.chars().collect();
        assert_eq!(
            p.matches(&name),
            naive(&p.tokens, &chars),
            "{pattern:?} on {name:?}"
        );
    }
}

#[test]
fn matcher_syntax() {
    let m = |p: &str, n: &str| Pattern::new(p).matches(n);
    assert!(m("*.csv", "a.csv") && m("*.csv", ".csv") && !m("*.csv", "a.csv.gz"));
    assert!(m("2026-11-*.csv.gz", "2026-11-03.csv.gz"));
    assert!(m("?.csv", "é.csv") && !m("?.csv", "ab.csv"));
    assert!(m("[abc].csv", "b.csv") && !m("[abc].csv", "d.csv"));
    assert!(m("[a-c]x", "cx") && !m("[a-c]x", "dx"));
    assert!(m("[!a]x", "bx") && !m("[!a]x", "ax") && m("[^a]x", "bx"));
    assert!(m("[]x]", "]") && m("[]x]", "x"));
    assert!(m("[a-]", "-") && m("[a-]", "a"));
    // escapes: a class of one character is that character
    assert!(m("a[*]b", "a*b") && !m("a[*]b", "axb"));
    assert!(m("x[[]1].csv", "x[1].csv") && m("[?]", "?"));
    // an unclosed [ is literal
    assert!(m("a[b", "a[b") && !m("a[b", "ab"));
    assert!(m("a**b", "ab") && m("a**b", "axyb"));
    assert!(m("*", "") && !m("?", ""));
    assert!(Pattern::new(".*").leading_dot && !Pattern::new("*").leading_dot);
    assert!(!Pattern::new("[.]x").leading_dot);
}

// ---------------------------------------------------------------- globs

#[test]
fn a_pattern_expands_sorted_by_path() {
    // created in an order that is not the sorted one
    let d = tree(&[
        "logs/b.csv",
        "logs/a/z.csv",
        "logs/a-b/c.csv",
        "logs/n9/x",
        "logs/n10/x",
    ]);
    // component by component: `a/` before `a-b/`, though `-` < `/`
    assert_eq!(
        names(&d, "logs/*/*"),
        ["logs/a/z.csv", "logs/a-b/c.csv", "logs/n10/x", "logs/n9/x"]
    );
    // the folders of a pattern's matches are Hive folders too: all or none
    let d = tree(&["logs/a/z.csv", "logs/n=9/x"]);
    assert!(err(&d, "logs/*/*").contains("key=value folders"));
    let d = tree(&["m/c.csv", "m/a.csv", "m/B.csv", "m/b.csv"]);
    assert_eq!(
        names(&d, "m/*.csv"),
        ["m/B.csv", "m/a.csv", "m/b.csv", "m/c.csv"]
    );
}

#[test]
fn no_match_is_an_error_naming_the_pattern() {
    let d = tree(&["logs/a.csv"]);
    for p in ["logs/*.gz", "nope/*.csv", "logs/a.csv/*"] {
        let e = err(&d, p);
        assert!(
            e.contains(&format!("{p}: no file matches this pattern")),
            "{e}"
        );
    }
    let e = expand(&d.path().join("logs/*.gz")).unwrap_err();
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn patterns_match_files_only_and_every_component() {
    let d = tree(&[
        "2026-11-01/a.csv",
        "2026-11-02/a.csv",
        "2026-12-01/a.csv",
        "2026-11-03.csv",
    ]);
    assert_eq!(
        names(&d, "2026-11-*/a.csv"),
        ["2026-11-01/a.csv", "2026-11-02/a.csv"]
    );
    // folders matched by the last component are not files
    assert_eq!(names(&d, "2026-11-*"), ["2026-11-03.csv"]);
    assert_eq!(
        names(&d, "2026-1[12]-0?/*"),
        ["2026-11-01/a.csv", "2026-11-02/a.csv", "2026-12-01/a.csv"]
    );
    assert_eq!(names(&d, "2026-1[!1]-*/a.csv"), ["2026-12-01/a.csv"]);
}

#[test]
fn brackets_reach_names_holding_glob_characters() {
    let d = tree(&["a*b.csv", "axb.csv", "q?.csv", "x[1].csv"]);
    assert_eq!(names(&d, "a[*]b.csv"), ["a*b.csv"]);
    assert_eq!(names(&d, "a*b.csv"), ["a*b.csv", "axb.csv"]);
    assert_eq!(names(&d, "q[?].csv"), ["q?.csv"]);
    assert_eq!(names(&d, "x[[]1].csv"), ["x[1].csv"]);
    // a path without glob characters is literal
    let files = expand(&d.path().join("axb.csv")).unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].hive.is_empty());
}

#[test]
fn hidden_names_need_a_leading_dot() {
    let d = tree(&["x/.hidden.csv", "x/shown.csv", "x/_meta.csv", ".h/a.csv"]);
    assert_eq!(names(&d, "x/*.csv"), ["x/_meta.csv", "x/shown.csv"]);
    assert_eq!(names(&d, "x/.*"), ["x/.hidden.csv"]);
    assert_eq!(names(&d, ".*/a.csv"), [".h/a.csv"]);
    for p in ["x/?hidden.csv", "x/[.]hidden.csv", "*/a.csv"] {
        assert!(err(&d, p).contains("no file matches"), "{p}");
    }
}

#[test]
fn double_star_matches_any_depth() {
    let d = tree(&[
        "a.csv",
        "d/b.csv",
        "d/e/c.csv",
        "d/e/f/g.csv",
        "d/e/f/g.txt",
        "d/.git/x.csv",
        "d/_temporary/y.csv",
    ]);
    assert_eq!(
        names(&d, "**/*.csv"),
        ["a.csv", "d/b.csv", "d/e/c.csv", "d/e/f/g.csv"]
    );
    assert_eq!(
        names(&d, "d/**/*.csv"),
        ["d/b.csv", "d/e/c.csv", "d/e/f/g.csv"]
    );
    assert_eq!(names(&d, "d/**/f/*"), ["d/e/f/g.csv", "d/e/f/g.txt"]);
    assert_eq!(
        names(&d, "d/**"),
        ["d/b.csv", "d/e/c.csv", "d/e/f/g.csv", "d/e/f/g.txt"]
    );
    // the same file by two routes is listed once
    assert_eq!(names(&d, "d/**/**/c.csv"), ["d/e/c.csv"]);
    assert_eq!(names(&d, "**/e/**/g.*"), ["d/e/f/g.csv", "d/e/f/g.txt"]);
}

#[test]
fn a_relative_pattern_keeps_relative_paths() {
    // a folder below the working directory (the package root under cargo)
    let d = tempfile::Builder::new()
        .prefix("paths-test-rel-")
        .tempdir_in(".")
        .unwrap();
    let name = d.path().file_name().unwrap().to_str().unwrap().to_string();
    for f in ["rel/a.csv", "rel/b.csv"] {
        fs::create_dir_all(d.path().join("rel")).unwrap();
        fs::write(d.path().join(f), "x").unwrap();
    }
    let files = expand(Path::new(&format!("{name}/rel/*.csv"))).unwrap();
    assert_eq!(files[0].path, Path::new(&name).join("rel/a.csv"));
    // a pattern in the first component lists the working directory
    let first = format!("[{}]{}/rel/b.*", &name[..1], &name[1..]);
    let files = expand(Path::new(&first)).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, Path::new(&name).join("rel/b.csv"));
}

// -------------------------------------------------------------- datasets

#[test]
fn a_folder_is_every_data_file_below_it_sorted() {
    let d = tree(&[
        "ds/part-2.csv",
        "ds/part-10.csv",
        "ds/sub/part-1.csv",
        "ds/_SUCCESS",
        "ds/.part-2.csv.crc",
        "ds/_temporary/0/part-3.csv",
        "ds/.cache/x.csv",
    ]);
    let files = expand(&d.path().join("ds")).unwrap();
    let rel: Vec<_> = files
        .iter()
        .map(|f| f.path.strip_prefix(d.path()).unwrap().to_path_buf())
        .collect();
    let want: Vec<PathBuf> = ["ds/part-10.csv", "ds/part-2.csv", "ds/sub/part-1.csv"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(rel, want);
    assert!(files.iter().all(|f| f.hive.is_empty()));
}

#[test]
fn an_empty_folder_is_an_error() {
    let d = tree(&["only/_SUCCESS", "only/.hidden"]);
    fs::create_dir(d.path().join("empty")).unwrap();
    for f in ["empty", "only"] {
        let e = err(&d, f);
        assert!(
            e.contains(&format!("{f}: no data file in this folder")),
            "{e}"
        );
    }
}

#[test]
fn a_missing_literal_path_is_an_error_naming_it() {
    let d = tree(&[]);
    let e = err(&d, "missing.csv");
    assert!(e.contains("missing.csv: "), "{e}");
    let files = expand(Path::new("-")).unwrap();
    assert_eq!(
        files,
        [InputFile {
            path: "-".into(),
            hive: vec![]
        }]
    );
}

#[test]
fn hive_folders_become_keys() {
    let d = tree(&[
        "t/year=2026/month=11/a.parquet",
        "t/year=2026/month=12/b.parquet",
        "t/year=2025/month=1/c.parquet",
    ]);
    let files = expand(&d.path().join("t")).unwrap();
    let h: Vec<_> = files.iter().map(|f| f.hive.clone()).collect();
    assert_eq!(
        h,
        [
            hive(&[("year", "2025"), ("month", "1")]),
            hive(&[("year", "2026"), ("month", "11")]),
            hive(&[("year", "2026"), ("month", "12")]),
        ]
    );
    assert_eq!(hive_columns(&files).unwrap(), ["year", "month"]);
    // only the folders below the one named count
    let files = expand(&d.path().join("t/year=2026")).unwrap();
    assert_eq!(files[0].hive, hive(&[("month", "11")]));
}

#[test]
fn hive_values_are_percent_decoded_and_empty_ones_null() {
    let d = tree(&[
        "t/city=S%C3%A3o%20Paulo/x.csv",
        "t/city=a%3Db%2Fc%25/x.csv",
        "t/city=/x.csv",
        "t/city=__HIVE_DEFAULT_PARTITION__/x.csv",
        "t/city=50%zz%4/x.csv",
    ]);
    let files = expand(&d.path().join("t")).unwrap();
    let values: Vec<&str> = files.iter().map(|f| f.hive[0].1.as_str()).collect();
    assert_eq!(values, ["", "50%zz%4", "São Paulo", "", "a=b/c%"]);
    let d = tree(&["t/a%3Db=1/x.csv"]);
    let files = expand(&d.path().join("t")).unwrap();
    assert_eq!(files[0].hive, hive(&[("a=b", "1")]));
}

#[test]
fn folders_that_are_not_key_value_give_no_key() {
    let d = tree(&["t/raw/k=1/x.csv", "t/raw/k=2/y.csv", "t/=x/k=3/z.csv"]);
    let files = expand(&d.path().join("t")).unwrap();
    assert!(files
        .iter()
        .all(|f| f.hive.len() == 1 && f.hive[0].0 == "k"));
}

#[test]
fn mismatched_hive_keys_are_an_error_naming_the_file() {
    let d = tree(&["t/a=1/x.csv", "t/b=1/y.csv"]);
    let e = err(&d, "t");
    assert!(
        e.contains("b=1/y.csv: its folders give the keys b, but "),
        "{e}"
    );
    assert!(e.contains("a=1/x.csv has the keys a"), "{e}");
    let d = tree(&["t/a=1/b=2/x.csv", "t/b=2/a=1/y.csv"]);
    assert!(err(&d, "t").contains("in the same order"));
    let d = tree(&["t/a=1/x.csv", "t/y.csv"]);
    let e = err(&d, "t");
    assert!(
        e.contains("y.csv: its folders give no key=value folders"),
        "{e}"
    );
    let d = tree(&["t/a=1/a=2/x.csv"]);
    let e = err(&d, "t");
    assert!(
        e.contains("the key a appears in two key=value folders"),
        "{e}"
    );
    let d = tree(&["t/a=%FF/x.csv"]);
    assert!(err(&d, "t").contains("not UTF-8"));
}

#[test]
fn hive_keys_of_patterns_start_below_the_literal_base() {
    let d = tree(&["data/year=2025/a.csv", "data/year=2026/b.csv"]);
    let files = expand(&d.path().join("data/year=*/*.csv")).unwrap();
    assert_eq!(files[0].hive, hive(&[("year", "2025")]));
    assert_eq!(files[1].hive, hive(&[("year", "2026")]));
    let files = expand(&d.path().join("data/year=2026/*.csv")).unwrap();
    assert!(files[0].hive.is_empty());
}

#[test]
fn hive_columns_across_arguments() {
    let d = tree(&["a/k=1/x.csv", "b/j=1/x.csv"]);
    let mut files = expand(&d.path().join("a")).unwrap();
    assert_eq!(hive_columns(&files).unwrap(), ["k"]);
    files.extend(expand(&d.path().join("b")).unwrap());
    assert!(hive_columns(&files).is_err());
    assert!(hive_columns(&[]).unwrap().is_empty());
}

// ---------------------------------------------------------------- links

#[cfg(unix)]
#[test]
fn linked_files_and_folders_are_followed_and_loops_are_errors() {
    use std::os::unix::fs::symlink;
    let d = tree(&["real/k=1/x.csv", "data/k=2/y.csv"]);
    symlink(d.path().join("real/k=1"), d.path().join("data/k=1")).unwrap();
    symlink(
        d.path().join("real/k=1/x.csv"),
        d.path().join("data/k=2/z.csv"),
    )
    .unwrap();
    let files = expand(&d.path().join("data")).unwrap();
    let rel: Vec<_> = files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(d.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(rel, ["data/k=1/x.csv", "data/k=2/y.csv", "data/k=2/z.csv"]);
    assert_eq!(files[0].hive, hive(&[("k", "1")]));
    assert_eq!(names(&d, "data/**/*.csv").len(), 3);

    // a link to an ancestor: an error, not an endless walk
    symlink(d.path().join("data"), d.path().join("data/k=2/up")).unwrap();
    let e = err(&d, "data");
    assert!(e.contains("symbolic link loop"), "{e}");
    assert!(e.contains("up"), "{e}");
    let e = err(&d, "data/**/*.csv");
    assert!(e.contains("symbolic link loop"), "{e}");
    // a single-level pattern through the link is fine
    assert_eq!(
        names(&d, "data/k=2/up/k=2/y.csv"),
        ["data/k=2/up/k=2/y.csv"]
    );
}

#[cfg(unix)]
#[test]
fn dangling_links_are_errors_where_they_are_read() {
    use std::os::unix::fs::symlink;
    let d = tree(&["t/a.csv"]);
    symlink(d.path().join("gone"), d.path().join("t/b.csv")).unwrap();
    let e = err(&d, "t");
    assert!(e.contains("b.csv"), "{e}");
    let e = err(&d, "t/*.csv");
    assert!(e.contains("b.csv"), "{e}");
    // a pattern that does not match it does not read it
    assert_eq!(names(&d, "t/a*"), ["t/a.csv"]);
    assert_eq!(names(&d, "**/a.csv"), ["t/a.csv"]);
    // nor a link round in a loop, or through a file, below `**`
    symlink("loop", d.path().join("t/loop")).unwrap();
    symlink("a.csv/x", d.path().join("t/through")).unwrap();
    assert_eq!(names(&d, "**/a.csv"), ["t/a.csv"]);
    assert_eq!(names(&d, "t/**/a*.csv"), ["t/a.csv"]);
}

// ------------------------------------------------------------- stores

#[test]
fn a_store_is_refused_as_a_dataset_and_named_with_the_flag_to_use() {
    let dir = tree(&[
        "st/current",
        "st/gen-000001/part-00000.arrow",
        "st/gen-000002/part-00000.arrow",
    ]);
    for arg in [
        "st",
        "st/*",
        "st/**/*",
        "st/current",
        "st/gen-000002",
        "st/gen-*/*.arrow",
    ] {
        let e = err(&dir, arg);
        assert!(
            e.contains("is a rayproc store") && e.contains("--store"),
            "{arg}: {e}"
        );
    }
    // a `current` file, or a folder named like a generation, outside a
    // store is data like any other
    let other = tree(&["plain/current", "plain/x.csv", "gen-000001/y.csv"]);
    assert_eq!(names(&other, "plain"), ["plain/current", "plain/x.csv"]);
    assert_eq!(names(&other, "gen-000001"), ["gen-000001/y.csv"]);
}

// ------------------------------------------------------------ would_find

/// What `expand` finds of `arg`, canonical; nothing where it fails.
fn found(arg: &Path) -> Vec<PathBuf> {
    let files = expand(arg).unwrap_or_default();
    let files = files.into_iter();
    files.map(|f| fs::canonicalize(f.path).unwrap()).collect()
}

/// `would_find` says of every file what `expand` finds: on a tree of
/// nested, hidden and `_` folders, for folders and patterns of every kind
/// of segment, a file is found by one exactly when the expansion lists it;
/// and of a file not there yet (asked with its folders not made), what the
/// expansion lists once it is.
#[test]
fn would_find_agrees_with_expand() {
    let files = [
        "a.csv",
        "b.txt",
        ".h.csv",
        "_s.csv",
        "sub/c.csv",
        "sub/.hid/d.csv",
        "sub/_tmp/e.csv",
        "sub/deep/f.csv",
        "sub/deep/g.txt",
        ".dot/g.csv",
        "_under/i.csv",
    ];
    let d = tree(&files);
    let root = fs::canonicalize(d.path()).unwrap();
    let args = [
        "",
        "sub",
        "sub/deep",
        "*",
        "*.csv",
        "**",
        "**/*",
        "**/*.csv",
        "*/*",
        "*/*.csv",
        "*/*/*",
        "sub/*",
        "sub/**",
        "sub/**/*.csv",
        ".*",
        ".*/*",
        "*/.*/*",
        "**/.hid/*",
        "_*",
        "_*/*",
        "sub/_*/*",
        "[as]*",
        "**/deep/*",
        "sub/*/f.csv",
        "**/**/*.txt",
        "s?b/**",
        "sub/deep/[fg].*",
        "*/current",
        "**/gen-*/*.arrow",
    ];
    // files a split would add
    let new = [
        "sub/st/current",
        "sub/_st/current",
        "n/gen-000001/part-00000.arrow",
    ];
    for arg in args {
        let arg = d.path().join(arg);
        let now = found(&arg);
        for f in files {
            let f = root.join(f);
            let shown = format!("{} finds {}", arg.display(), f.display());
            assert_eq!(would_find(&arg, &f), now.contains(&f), "{shown}");
        }
        for f in new {
            let path = d.path().join(f);
            let made = path.ancestors().filter(|a| !a.exists()).last().unwrap();
            let made = made.to_path_buf();
            let f = root.join(f);
            let before = would_find(&arg, &f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "x").unwrap();
            let then = found(&arg).contains(&f);
            fs::remove_dir_all(&made).unwrap();
            let shown = format!("{} would find {}", arg.display(), f.display());
            assert_eq!(before, then, "{shown}");
        }
    }
    // a file, standard input, a missing folder, a file outside the base
    let a = root.join("a.csv");
    assert!(!would_find(&a, &a));
    assert!(!would_find(Path::new("-"), &a));
    assert!(!would_find(
        &d.path().join("none"),
        &root.join("none/a.csv")
    ));
    assert!(!would_find(&d.path().join("sub"), &a));
    // a folder named through a link is its target
    #[cfg(unix)]
    {
        let link = d.path().join("link");
        std::os::unix::fs::symlink(d.path().join("sub"), &link).unwrap();
        assert!(would_find(&link, &root.join("sub/deep/f.csv")));
        assert!(would_find(
            &link.join("*/*.csv"),
            &root.join("sub/deep/f.csv")
        ));
        assert!(!would_find(
            &link.join("*.csv"),
            &root.join("sub/deep/f.csv")
        ));
    }
}
