//! How flags name columns (issues 16 "Names" and 17 "Smaller ones"):
//! repeated header names, names that need quoting, repeated requests,
//! which flag an error names, `--delimiter` with `--store`, and the
//! nearest-name suggestion.

use crate::common::{fail_all_partitions, run, run_all_partitions, run_on, temp_csv, Scratch};

const REPEATED_KEY: &str = "k,k,v\na,x,1\nb,y,2\na,y,3\n";
const REPEATED_VALUE: &str = "k,v,v\na,1,10\nb,2,20\na,3,30\n";

fn split_to(scratch: &Scratch, csv: &std::path::Path, extra: &[&str]) -> String {
    let store = scratch.path("st").to_string_lossy().into_owned();
    let mut args = vec![
        "split",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        &store,
        "-q",
    ];
    args.extend(extra);
    run(&args).expect_ok("split");
    store
}

// ---------------------------------------------------------------------------
// 1. repeated header names

#[test]
fn a_name_the_header_repeats_is_ambiguous_and_the_error_lists_the_positions() {
    let (_d, file) = temp_csv(REPEATED_KEY);
    let err = fail_all_partitions(&["--by", "k", "--agg", "count"], &file, 2);
    assert!(err.contains("ambiguous"), "{err}");
    assert!(err.contains("columns 1, 2"), "{err}");
    assert!(err.contains("k#1, k#2"), "says how to pick one: {err}");

    let (_d, file) = temp_csv(REPEATED_VALUE);
    let err = fail_all_partitions(&["--agg", "sum:v"], &file, 2);
    assert!(err.contains("columns 2, 3") && err.contains("v#2"), "{err}");
}

#[test]
fn name_hash_n_picks_the_nth_column_of_that_name_and_labels_it_so() {
    let (_d, file) = temp_csv(REPEATED_VALUE);
    let out = run_all_partitions(&["--by", "k", "--agg", "sum:v#2,sum:v#1"], &file);
    assert_eq!(out, "k,sum_v#2,sum_v#1\na,40,4\nb,20,2\n");
    // the quoted form says the same, and names the column alike
    let out = run_all_partitions(&["--by", "k", "--agg", r##"sum:"v"#2"##], &file);
    assert_eq!(out, "k,sum_v#2\na,40\nb,20\n");

    let (_d, file) = temp_csv(REPEATED_KEY);
    let out = run_all_partitions(&["--by", "k#2", "--agg", "sum:v"], &file);
    assert_eq!(out, "k#2,sum_v\nx,1\ny,5\n");
    // columns nobody names may repeat
    let out = run_all_partitions(&["--agg", "sum:v"], &file);
    assert_eq!(out, "sum_v\n6\n");
}

#[test]
fn a_column_literally_named_k_hash_2_wins_over_the_second_k() {
    let (_d, file) = temp_csv("x,x#2,x\n1,20,300\n");
    let out = run_all_partitions(&["--agg", "sum:x#2"], &file);
    assert_eq!(out, "sum_x#2\n20\n");
    // the second x is labelled as it is picked, never as the column
    // called x#2: both at once were refused as one output name twice
    let out = run_all_partitions(&["--agg", r##"sum:"x"#2"##], &file);
    assert_eq!(out, "\"sum_\"\"x\"\"#2\"\n300\n");
    let out = run_all_partitions(&["--agg", r##"sum:x#2,sum:"x"#2"##], &file);
    assert_eq!(out, "sum_x#2,\"sum_\"\"x\"\"#2\"\n20,300\n");
    let out = run_all_partitions(&["--by", r##"x#2,"x"#2"##, "--agg", "count"], &file);
    assert_eq!(out, "x#2,\"\"\"x\"\"#2\",count\n20,300,1\n");
    // the ambiguity hint then quotes, since x#2 means the literal column
    let err = fail_all_partitions(&["--agg", "sum:x"], &file, 2);
    assert!(err.contains(r##"x#1, "x"#2"##), "{err}");
}

#[test]
fn in_where_too_a_column_literally_named_k_hash_2_wins_over_the_second_k() {
    let (_d, file) = temp_csv("x,x#2,x\n1,20,300\n1,21,300\n");
    // as in --agg: the bare x#2 is the column called so, "x"#2 the second x
    let out = run_all_partitions(&["--where", "x#2 = 20", "--agg", "count,sum:x#2"], &file);
    assert_eq!(out, "count,sum_x#2\n1,20\n");
    let out = run_all_partitions(&["--where", r##""x"#2 = 300"##, "--agg", "count"], &file);
    assert_eq!(out, "count\n2\n");
    let out = run_all_partitions(
        &["--where", r##"x#2 = 21 and "x"#2 = 300"##, "--agg", "count"],
        &file,
    );
    assert_eq!(out, "count\n1\n");
    // the ambiguity hint quotes the second x, as --agg's does
    let err = fail_all_partitions(&["--where", "x = 1", "--agg", "count"], &file, 2);
    assert!(err.contains(r##"x#1, "x"#2"##), "{err}");
}

#[test]
fn a_number_past_the_repeats_is_a_usage_error() {
    let (_d, file) = temp_csv(REPEATED_KEY);
    let err = fail_all_partitions(&["--by", "k#3", "--agg", "count"], &file, 2);
    assert!(
        err.contains("k#3") && err.contains("2 columns named 'k'"),
        "{err}"
    );
}

#[test]
fn split_stores_repeated_columns_and_run_reads_them_as_from_the_csv() {
    let scratch = Scratch::new();
    let csv = scratch.write("in.csv", REPEATED_KEY);
    let store = split_to(&scratch, &csv, &[]);
    for args in [
        ["--by", "k#2", "--agg", "sum:v"],
        ["--by", "k#1", "--agg", "max:k#2"],
    ] {
        let from_csv = run_on(&csv, &args);
        from_csv.expect_ok("csv");
        let mut all = vec!["run", "--store", &store];
        all.extend(args);
        let from_store = run(&all);
        from_store.expect_ok("store");
        assert_eq!(from_store.stdout, from_csv.stdout, "{args:?}");
    }
    let r = run(["run", "--store", &store, "--by", "k", "--agg", "count"]);
    r.expect_code(2, "ambiguous in the store too");
    assert!(r.stderr.contains("ambiguous"), "{}", r.stderr);

    let r = run([
        "split",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        &scratch.path("st2").to_string_lossy(),
        "--columns",
        "k,v",
    ]);
    r.expect_code(2, "split --columns k");
    assert!(
        r.stderr.contains("--columns") && r.stderr.contains("k#1, k#2"),
        "{}",
        r.stderr
    );
}

/// A data error in a repeated column names it as the output does (`v#2`),
/// and the store finds the line of that column, not of the first `v`.
#[test]
fn a_data_error_in_a_repeated_column_names_it_by_its_label() {
    let scratch = Scratch::new();
    let csv = scratch.write("in.csv", "k,v,v\na,x,1\nb,2,y\n");
    let store = split_to(&scratch, &csv, &[]);
    let expected = format!(
        "rayproc: error: {}:3: column 'v#2': sum needs numbers, found \"y\"\n",
        csv.display()
    );
    let from_csv = run_on(&csv, &["--agg", "sum:v#2"]);
    from_csv.expect_code(1, "csv");
    assert_eq!(from_csv.stderr, expected);
    let from_store = run(["run", "--store", &store, "--agg", "sum:v#2"]);
    from_store.expect_code(1, "store");
    assert_eq!(from_store.stderr, expected);
}

// ---------------------------------------------------------------------------
// 2. names with commas, colons, spaces, quotes

const ODD_NAMES: &str = "\"a,b\", price,\"say \"\"hi\"\"\",c:d\nx,1,2,p\ny,3,4,q\nx,5,6,p\n";

#[test]
fn a_quoted_name_may_hold_commas_spaces_and_quotes() {
    let (_d, file) = temp_csv(ODD_NAMES);
    let out = run_all_partitions(
        &["--agg", r##"sum:" price",max:"say ""hi""",count:c:d"##],
        &file,
    );
    assert_eq!(
        out, "sum_ price,\"max_say \"\"hi\"\"\",count_c:d\n9,6,3\n",
        "output names are CSV-quoted where needed"
    );
    let out = run_all_partitions(
        &["--by", r##""a,b",c:d"##, "--agg", r##"sum:" price""##],
        &file,
    );
    assert_eq!(out, "\"a,b\",c:d,sum_ price\nx,p,6\ny,q,3\n");
    let out = run_all_partitions(
        &["--by", r##""a,b""##, "--agg", "count", "--format", "json"],
        &file,
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json[0]["a,b"], "x");
    assert_eq!(json[0]["count"], 2);
}

#[test]
fn an_unquoted_name_is_trimmed_and_a_quoted_one_is_not() {
    let (_d, file) = temp_csv(ODD_NAMES);
    let r = run_on(&file, &["--agg", "sum: price"]);
    r.expect_code(2, "trimmed to price");
    assert!(
        r.stderr.contains("unknown column 'price'")
            && r.stderr.contains(r##"name it as " price""##),
        "{}",
        r.stderr
    );
    let r = run_on(&file, &["--agg", r##"sum:"price""##]);
    r.expect_code(2, "the quoted name is literal");
}

#[test]
fn an_unclosed_quote_is_a_usage_error() {
    let (_d, file) = temp_csv(ODD_NAMES);
    for args in [
        &["--agg", r##"sum:"a,b"##][..],
        &["--by", r##""a,b"##, "--agg", "count"],
        &["--agg", r##"sum:"a"b"##],
    ] {
        let r = run_on(&file, args);
        r.expect_code(2, &format!("{args:?}"));
        assert!(r.stderr.contains("quoted column name"), "{}", r.stderr);
    }
}

// ---------------------------------------------------------------------------
// 3. one output column asked for twice

#[test]
fn the_same_aggregate_twice_is_a_usage_error_naming_it() {
    let (_d, file) = temp_csv("k,x,pop_x\na,1,2\n");
    for aggs in [
        &["mean:x,mean:x"][..],
        &["mean:x", " mean:x "],
        &["var:pop_x,var_pop:x"],
    ] {
        let mut args = Vec::new();
        for a in aggs {
            args.extend(["--agg", *a]);
        }
        let err = fail_all_partitions(&args, &file, 2);
        assert!(err.contains("would appear twice"), "{err}");
    }
    let err = fail_all_partitions(&["--by", "k,k", "--agg", "count"], &file, 2);
    assert!(err.contains("'k' twice"), "{err}");
    // a key named like an aggregate (a previous result read back) is fine
    let (_d, file) = temp_csv("count\n1\n1\n");
    let out = run_all_partitions(&["--by", "count", "--agg", "count"], &file);
    assert_eq!(out, "count#1,count#2\n1,2\n");
}

/// A key that shares its name with an aggregate: both were written under
/// the one name, a JSON object held it twice (readers keep one value) and
/// Parquet readers refused the schema. The two are numbered, as a header
/// that repeats a name is, in every format, and read back.
#[test]
fn a_key_named_as_an_aggregate_is_numbered_with_it_in_every_format() {
    let scratch = Scratch::new();
    let csv = scratch.write("r.csv", "mean_x,x,count#2\n5,10,a\n6,20,b\n5,30,c\n");
    let c = csv.to_str().unwrap();
    let query = ["run", "--input", c, "--by", "mean_x", "--agg", "mean:x"];
    let with = |extra: &[&str]| {
        let mut args = query.to_vec();
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.stdout
    };
    assert_eq!(with(&["-f", "csv"]), "mean_x#1,mean_x#2\n5,20.0\n6,20.0\n");
    assert_eq!(
        with(&["-f", "ndjson"]),
        "{\"mean_x#1\":5,\"mean_x#2\":20.0}\n{\"mean_x#1\":6,\"mean_x#2\":20.0}\n"
    );
    let json: serde_json::Value = serde_json::from_str(&with(&["-f", "json"])).unwrap();
    assert_eq!(json[1]["mean_x#1"], 6);
    // Parquet keeps both columns, each read back by its name
    let parquet = scratch.path("r.parquet");
    with(&["-o", parquet.to_str().unwrap()]);
    let back = run([
        "run",
        "--input",
        parquet.to_str().unwrap(),
        "--agg",
        "sum:mean_x#1,sum:mean_x#2",
    ]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_eq!(back.stdout, "sum_mean_x#1,sum_mean_x#2\n11,40.0\n");
    // a label that is already a column's name is quoted, as `"count"#2`
    // picks the second `count`
    let csv = scratch.write("c.csv", "count,count#2\n1,a\n1,b\n");
    let r = run([
        "run",
        "--input",
        csv.to_str().unwrap(),
        "--by",
        "count,count#2",
        "--agg",
        "count",
        "-f",
        "ndjson",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "{\"count#1\":1,\"count#2\":\"a\",\"\\\"count\\\"#2\":1}\n\
         {\"count#1\":1,\"count#2\":\"b\",\"\\\"count\\\"#2\":1}\n"
    );
}

// ---------------------------------------------------------------------------
// 4. split --columns errors name --columns

#[test]
fn split_columns_errors_name_the_columns_flag() {
    let scratch = Scratch::new();
    let csv = scratch.write("in.csv", "city,price\nParis,1\n");
    let r = run([
        "split",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        &scratch.path("st").to_string_lossy(),
        "--columns",
        "city,nosuch",
    ]);
    r.expect_code(2, "unknown --columns");
    assert!(
        r.stderr.contains("in --columns city,nosuch"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("--agg"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// 5. --delimiter with --store

#[test]
fn store_runs_refuse_a_delimiter_other_than_the_stores() {
    let scratch = Scratch::new();
    let csv = scratch.write("in.csv", "a;b\n1;2\n");
    let store = split_to(&scratch, &csv, &["--delimiter", ";"]);
    let r = run([
        "run",
        "--store",
        &store,
        "--agg",
        "sum:b",
        "--delimiter",
        ",",
    ]);
    r.expect_code(2, "--delimiter , over a ; store");
    assert!(
        r.stderr.contains("--delimiter") && r.stderr.contains("--store"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    for extra in [&["--delimiter", ";"][..], &[]] {
        let mut args = vec!["run", "--store", &store, "--agg", "sum:b"];
        args.extend(extra);
        let r = run(&args);
        r.expect_ok("the store's own delimiter, or none");
        assert_eq!(r.stdout, "sum_b\n2\n");
    }
}

// ---------------------------------------------------------------------------
// 6. the nearest-name suggestion

#[test]
fn the_suggestion_is_a_likely_typo_compared_by_chars() {
    let (_d, file) = temp_csv("ü,prix,größe\n1,2,3\n");
    let r = run_on(&file, &["--agg", "sum:e"]);
    r.expect_code(2, "unknown e");
    assert!(!r.stderr.contains("did you mean"), "{}", r.stderr);
    assert!(r.stderr.contains("'ü', 'prix', 'größe'"), "{}", r.stderr);
    let r = run_on(&file, &["--agg", "sum:grösse"]);
    r.expect_code(2, "grösse");
    assert!(r.stderr.contains("did you mean 'größe'"), "{}", r.stderr);
    let r = run_on(&file, &["--agg", "sum:Ü"]);
    r.expect_code(2, "Ü");
    assert!(r.stderr.contains("did you mean 'ü'"), "{}", r.stderr);
    let r = run_on(&file, &["--agg", "sum:pr"]);
    r.expect_code(2, "pr");
    assert!(!r.stderr.contains("did you mean"), "{}", r.stderr);
}
