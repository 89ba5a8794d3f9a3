//! Every vectorised path gives the same bytes: the binary run under each
//! `RAYPROC_SIMD` cap (and the older `RAYPROC_NO_SIMD`) on a generated
//! input with quotes, escapes, CRLF, lone CRs, blank lines, a stray quote
//! and numbers of every shape, against the uncapped run. Also: the level
//! `--version` reports follows the cap, and an unknown cap is a usage error.
//!
//! Self-contained (no `tests/common`): it only runs the binary.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rayproc");

/// The levels, lowest first, as `RAYPROC_SIMD` and `--version` name them.
const LEVELS: [&str; 4] = ["none", "sse", "avx2", "avx512"];

/// Runs the binary with `args`, `RAYPROC_SIMD` set to `simd` (or unset),
/// and `RAYPROC_NO_SIMD` set or not.
fn run(args: &[&str], simd: Option<&str>, no_simd: bool) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("RAYPROC_SIMD")
        .env_remove("RAYPROC_NO_SIMD");
    if let Some(v) = simd {
        cmd.env("RAYPROC_SIMD", v);
    }
    if no_simd {
        cmd.env("RAYPROC_NO_SIMD", "1");
    }
    cmd.output().expect("the rayproc binary runs")
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A CSV input of `rows` records that takes every scanner path (regular
/// windows for the index scanner, blank lines and lone CRs for the
/// per-record one, a stray quote for the scalar one) and every number path
/// (16-24-byte decimals for the lanes, short integers, blanks, exponents,
/// nulls, an integer too wide for 64 bits).
fn generate(rows: usize, seed: u64) -> String {
    let mut state = seed;
    let mut text = String::from("id,k,x,n,t,w\r\n");
    for i in 0..rows {
        let r = xorshift(&mut state);
        let k = match r % 7 {
            0 => "\"a,b\"".to_string(),
            1 => "\"say \"\"hi\"\"\"".to_string(),
            2 => String::new(),
            _ => format!("k{}", (r >> 8) % 13),
        };
        let v = xorshift(&mut state);
        let x = match (r >> 16) % 16 {
            0 => String::new(),
            1 => format!(" {}.5 ", v % 100),
            2 => format!("{:e}", (v >> 11) as f64 / 1e9),
            3 => format!("\"{}\"", (v % 1000) as f64 / 8.0),
            // the lanes' shape: shortest round-trip doubles, both signs
            _ => format!(
                "{}",
                ((v >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi((v % 5) as i32)
            ),
        };
        let n = match (r >> 24) % 8 {
            0 => String::new(),
            1 => format!("\t{}", v % 1000),
            2 => format!("{}", (v >> 1) as i64),
            3 => format!("-{}", v % 100_000_000),
            _ => format!("{}", v % 100_000),
        };
        let t = match (r >> 32) % 9 {
            0 => "\"two\r\nlines\"".to_string(),
            1 => "\"cr\rinside\"".to_string(),
            2 => "\"q\"\"q\"".to_string(),
            3 => "\"l\nm\"".to_string(),
            _ => format!("t{}", (r >> 40) % 5),
        };
        let w = if i == rows * 2 / 3 {
            "89014103211118510720".to_string()
        } else {
            format!("{}", v % 1_000_000)
        };
        text.push_str(&format!("{i},{k},{x},{n},{t},{w}"));
        text.push_str(match (r >> 48) % 5 {
            0 => "\r\n",
            _ => "\n",
        });
        if i % 997 == 0 {
            text.push('\n'); // a blank line
        }
        if i == rows / 2 {
            // a lone CR ends a record
            text.push_str(&format!("{i},k1,1.25,7,x,8\r{i},k2,0.5,3,y,4\n"));
        }
        if i == rows * 4 / 5 {
            text.push_str(&format!("{i},k2,2.5,9,5'11\" tall,10\n")); // a stray quote
        }
    }
    text
}

/// The level the binary reports with `RAYPROC_SIMD` set to `simd`.
fn reported_level(simd: Option<&str>, no_simd: bool) -> String {
    let out = run(&["--version"], simd, no_simd);
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    let want_prefix = format!("rayproc {} (simd: ", env!("CARGO_PKG_VERSION"));
    let level = line
        .trim_end()
        .strip_prefix(&want_prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version line {line:?}"));
    assert!(LEVELS.contains(&level), "{line:?}");
    level.to_string()
}

fn rank(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).expect("a level")
}

#[test]
fn version_reports_the_lower_of_the_cap_and_the_processor() {
    let top = reported_level(None, false);
    assert_eq!(
        reported_level(Some(""), false),
        top,
        "an empty value is no cap"
    );
    for cap in LEVELS {
        let want = LEVELS[rank(cap).min(rank(&top))];
        assert_eq!(reported_level(Some(cap), false), want, "cap {cap}");
        assert_eq!(
            reported_level(Some(&cap.to_uppercase()), false),
            want,
            "cap {cap}, upper case"
        );
        // the older switch caps at `sse`; the lower cap wins
        let want = LEVELS[rank(cap).min(rank(&top)).min(rank("sse"))];
        assert_eq!(
            reported_level(Some(cap), true),
            want,
            "cap {cap} and NO_SIMD"
        );
    }
    let want = LEVELS[rank(&top).min(rank("sse"))];
    assert_eq!(reported_level(None, true), want);
    if cfg!(target_arch = "x86_64") {
        assert!(rank(&top) >= rank("sse"), "x86-64 has SSE2: {top}");
    }
}

#[test]
fn an_unknown_cap_is_a_usage_error() {
    for args in [
        &["--version"][..],
        &["run", "--input", "-", "--agg", "count"][..],
    ] {
        for bad in ["avx3", "AVX-512", "sse2", "off", " avx2"] {
            let out = run(args, Some(bad), false);
            assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
            assert!(out.stdout.is_empty(), "{bad:?}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert!(
                err.starts_with("rayproc: error: ")
                    && err.contains(&format!("RAYPROC_SIMD={bad}"))
                    && err.contains("avx512, avx2, sse, none"),
                "{bad:?}: {err}"
            );
        }
    }
}

/// Help is printed whatever `RAYPROC_SIMD` holds: it is where a user
/// looks to mend the value. An unknown cap refused `--help` too.
#[test]
fn help_is_printed_under_an_unknown_cap() {
    for args in [
        &["--help"][..],
        &["run", "--help"][..],
        &["help", "split"][..],
    ] {
        let out = run(args, Some("bogus"), false);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(
            String::from_utf8(out.stdout).unwrap().contains("Usage"),
            "{args:?}"
        );
        assert!(out.stderr.is_empty(), "{args:?}");
    }
}

/// Runs `args` uncapped and under every cap: the same exit code, stdout
/// and stderr each time.
fn same_under_every_cap(args: &[&str]) {
    let want = run(args, None, false);
    let mut settings: Vec<(Option<&str>, bool)> =
        LEVELS.iter().map(|l| (Some(*l), false)).collect();
    settings.push((None, true));
    for (simd, no_simd) in settings {
        let got = run(args, simd, no_simd);
        let what = format!("RAYPROC_SIMD={simd:?} RAYPROC_NO_SIMD={no_simd}: {args:?}");
        assert_eq!(got.status.code(), want.status.code(), "{what}");
        assert!(got.stdout == want.stdout, "{what}: stdout differs");
        assert_eq!(
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&want.stderr),
            "{what}"
        );
    }
}

#[test]
fn every_cap_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.csv");
    std::fs::write(&path, generate(30_000, 0x5eed_cafe)).unwrap();
    let input = path.to_str().unwrap();
    let stats = "count,sum:x,mean:x,min:x,max:x,std:x,median:x,\
                 sum:n,min:n,max:n,mean:n,distinct:n,sum:w,max:w,count:t";
    for parts in ["1", "5"] {
        let common = ["--threads", "2", "--partitions", parts, "--format", "csv"];
        let with = |extra: &[&str]| -> Vec<String> {
            let mut a: Vec<String> = ["run", "--input", input].map(String::from).to_vec();
            a.extend(extra.iter().map(|s| s.to_string()));
            a.extend(common.iter().map(|s| s.to_string()));
            a
        };
        for query in [
            with(&["--agg", stats]),
            with(&["--by", "k", "--agg", "count,mean:x,sum:n,max:t,p99:x"]),
            with(&["--by", "t,n", "--agg", "count,min:x"]),
        ] {
            let args: Vec<&str> = query.iter().map(String::as_str).collect();
            let out = run(&args, None, false);
            assert!(out.status.success(), "{args:?}: {out:?}");
            same_under_every_cap(&args);
        }
    }
}

#[test]
fn every_cap_reports_the_same_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let mut text = generate(12_000, 42);
    // a non-number in a float column, deep in the file
    text.push_str("12001,k1,0.12345678901234567x,1,t,2\n");
    text.push_str(&generate(3_000, 43)[14..]);
    std::fs::write(&path, text).unwrap();
    let input = path.to_str().unwrap();
    for agg in ["sum:x", "mean:x,sum:n"] {
        let args = ["run", "--input", input, "--agg", agg, "--threads", "2"];
        let out = run(&args, None, false);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("0.12345678901234567x"));
        same_under_every_cap(&args);
    }
}

#[test]
fn generated_input_is_read_as_the_csv_crate_reads_it() {
    // the generator's input is what the tests above mean it to be: the
    // stray quote is data and the lone CR ends a record, as in the csv crate
    let text = generate(2_000, 7);
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let records: Vec<csv::ByteRecord> = rdr.byte_records().map(Result::unwrap).collect();
    assert!(records.iter().all(|r| r.len() == 6));
    let t = |want: &[u8]| records.iter().filter(|r| &r[4] == want).count();
    assert_eq!((t(b"5'11\" tall"), t(b"x"), t(b"y")), (1, 1, 1));
    assert!(t(b"two\r\nlines") > 0 && t(b"cr\rinside") > 0 && t(b"q\"q") > 0);
}
