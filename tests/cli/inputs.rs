//! Where rows come from: standard input (`--input -`, once), several
//! inputs forming one table (same header, errors naming their own file
//! and line), a missing file.
//!
//! Inputs at the edges of what the reader sees (issue 16, "never a panic,
//! never a silent wrong answer"):
//! - a quoted field of a million `""` pairs, which straddle the splitter's
//!   look-ahead window (it panicked);
//! - inputs that are not regular files (a FIFO, `/dev/stdin` on a pipe,
//!   `/proc` files with a stat size of 0), which were read as empty;
//! - lone CR line endings (old Mac exports), which were read as one record;
//! - an empty input, which accepted any column name.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::*;
use crate::common::{run_with_stdin, sample};

#[test]
fn input_dash_reads_standard_input() {
    let bytes = std::fs::read(sample()).unwrap();
    let r = run_with_stdin(
        [
            "run",
            "--input",
            "-",
            "--by",
            "city",
            "--agg",
            "count,sum:qty",
        ],
        Some(&bytes),
    );
    r.expect_ok("stdin");
    assert_eq!(
        r.stdout,
        "city,count,sum_qty\nBerlin,2,3\nLisbon,1,5\nParis,3,10\n"
    );
}

#[test]
fn input_dash_gives_the_same_answer_at_every_partition_count() {
    let bytes = std::fs::read(sample()).unwrap();
    let mut outs = Vec::new();
    for p in ["1", "2", "3", "7", "64"] {
        let r = run_with_stdin(
            [
                "run",
                "--input",
                "-",
                "--agg",
                "count,mean:price,min:note",
                "--partitions",
                p,
            ],
            Some(&bytes),
        );
        r.expect_ok(&format!("stdin --partitions {p}"));
        outs.push(r.stdout);
    }
    assert!(outs.iter().all(|o| o == &outs[0]), "{outs:?}");
}

#[test]
fn errors_in_standard_input_name_stdin_and_the_line() {
    let r = run_with_stdin(
        ["run", "--input", "-", "--agg", "mean:x"],
        // line 1 header, line 2, lines 3-4 (quoted newline), line 5 bad
        Some(b"x,n\n1,a\n2,\"b\nc\"\nbad,d\n"),
    );
    r.expect_code(1, "stdin error");
    assert!(r.stderr.contains("<stdin>:5:"), "stderr: {}", r.stderr);
}

#[test]
fn standard_input_can_be_read_only_once() {
    let r = run_with_stdin(
        ["run", "--input", "-", "--input", "-", "--agg", "count"],
        Some(b"x\n1\n"),
    );
    r.expect_code(2, "--input - twice");
}

#[test]
fn two_inputs_form_one_table() {
    let s = Scratch::new();
    let a = s.write("a.csv", "k,x\nb,1\na,2\n");
    let b = s.write("b.csv", "k,x\na,10\nc,\"20\"\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--by",
        "k",
        "--agg",
        "count,sum:x",
    ]);
    r.expect_ok("two inputs");
    assert_eq!(r.stdout, "k,count,sum_x\na,2,12\nb,1,1\nc,1,20\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--agg",
        "count,median:x",
        "--format",
        "json",
    ]);
    r.expect_ok("two inputs, no groups");
    let v = r.json();
    assert_eq!(v[0]["count"], 4);
    assert_eq!(f64_of(&v[0]["median_x"]), 6.0, "median of 1,2,10,20");
}

#[test]
fn two_inputs_with_different_headers_exit_1() {
    let s = Scratch::new();
    let a = s.write("a.csv", "k,x\nb,1\n");
    let b = s.write("b.csv", "k,y\na,10\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--agg",
        "count",
    ]);
    r.expect_code(1, "mismatched headers");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("b.csv"),
        "names the odd file: {}",
        r.stderr
    );
}

#[test]
fn an_error_in_the_second_input_names_that_file_and_its_own_line() {
    let s = Scratch::new();
    let a = s.write("a.csv", "k,x\nb,1\na,2\nc,3\n");
    let b = s.write("b.csv", "k,x\na,10\nc,oops\n");
    let r = run([
        "run",
        "--input",
        a.to_str().unwrap(),
        "--input",
        b.to_str().unwrap(),
        "--agg",
        "sum:x",
    ]);
    r.expect_code(1, "bad value in second input");
    let want = format!("{}:3:", b.display());
    assert!(
        r.stderr.contains(&want),
        "expected {want:?} in: {}",
        r.stderr
    );
}

#[test]
fn a_missing_input_file_exits_1() {
    let s = Scratch::new();
    let r = run_on(&s.path("missing.csv"), &["--agg", "count"]);
    r.expect_code(1, "missing input");
    assert!(r.stderr.contains("missing.csv"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// at the edges (issue 16)

/// `rayproc split` of `file` at `partitions` into a new store under
/// `scratch`, then `run --store` with `args`: its stdout.
fn via_store(scratch: &Scratch, file: &Path, partitions: u32, args: &[&str]) -> String {
    let store = scratch.path(&format!("store{partitions}"));
    let p = partitions.to_string();
    let file = file.to_str().unwrap();
    let store_s = store.to_str().unwrap();
    run([
        "split",
        "-i",
        file,
        "--store",
        store_s,
        "-q",
        "--partitions",
        &p,
    ])
    .expect_ok(&format!("split --partitions {p}"));
    let mut all = vec!["run", "--store", store_s];
    all.extend(args);
    let r = run(all);
    r.expect_ok(&format!("run --store, split at {p}"));
    r.stdout
}

// ---------------------------------------------------------------- crash

#[test]
fn a_million_doubled_quotes_in_one_field_split_and_run_without_a_panic() {
    let mut text = String::from("k,t\na,\"");
    text.push_str(&"x\"\"".repeat(1_000_000));
    text.push_str("\"\nb,x\n");
    let (scratch, file) = temp_csv(&text);
    let args = ["--agg", "count,min:k,max:k,distinct:t"];
    let want = "count,min_k,max_k,distinct_t\n2,a,b,2\n";
    assert_eq!(run_all_partitions(&args, &file), want);
    // the default partitioning (a 3 MB file gets several partitions)
    let r = run_on(&file, &args);
    r.expect_ok("default partitions");
    assert_eq!(r.stdout, want);
    for p in [1, 2, 3, 7, 64] {
        assert_eq!(via_store(&scratch, &file, p, &args), want, "split at {p}");
    }
    // `split` at its default partitioning too
    let store = scratch.path("default");
    run([
        "split",
        "-i",
        file.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-q",
    ])
    .expect_ok("split at the default partitioning");
}

// ---------------------------------------------------------------- non-regular files

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Writes `content` into the FIFO `path` from a thread (opening it blocks
/// until rayproc opens it for reading).
#[cfg(unix)]
fn feed(path: &Path, content: &'static [u8]) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // rayproc reads to the end, so every byte is taken
        f.write_all(content).unwrap();
    })
}

#[cfg(unix)]
#[test]
fn one_fifo_named_twice_is_a_usage_error() {
    // a pipe is read as a stream, once: named twice, it is refused like
    // `--input -` twice (it used to be spooled once and counted twice)
    const CSV: &[u8] = b"x,k\n1,a\n2,b\n4,a\n";
    let scratch = Scratch::new();
    let fifo = scratch.path("twice.fifo");
    mkfifo(&fifo);
    let writer = feed_lossy(&fifo, CSV.to_vec());
    let f = fifo.to_str().unwrap();
    let r = run(["run", "--input", f, "--input", f, "--agg", "count,sum:x"]);
    release(&fifo, writer);
    r.expect_code(2, "one fifo twice");
    assert!(r.stderr.contains("named twice"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn a_named_fifo_is_read_whole() {
    const CSV: &[u8] = b"x,k\n1,a\n2,b\n4,a\n";
    let scratch = Scratch::new();
    for (p, t) in [(1u32, 1u32), (3, 2), (64, 4)] {
        let fifo = scratch.path(&format!("in{p}.fifo"));
        mkfifo(&fifo);
        let writer = feed(&fifo, CSV);
        let (ps, ts) = (p.to_string(), t.to_string());
        let r = run_on(
            &fifo,
            &[
                "--by",
                "k",
                "--agg",
                "count,sum:x",
                "--partitions",
                &ps,
                "--threads",
                &ts,
            ],
        );
        writer.join().unwrap();
        r.expect_ok("fifo");
        assert_eq!(
            r.stdout, "k,count,sum_x\na,2,5\nb,1,2\n",
            "--partitions {p}"
        );
    }
    // split too: a store of the FIFO's rows, whose source cannot be re-checked
    let fifo = scratch.path("split.fifo");
    mkfifo(&fifo);
    let writer = feed(&fifo, CSV);
    let store = scratch.path("st");
    let r = run([
        "split",
        "-i",
        fifo.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-q",
    ]);
    writer.join().unwrap();
    r.expect_ok("split of a fifo");
    let r = run([
        "run",
        "--store",
        store.to_str().unwrap(),
        "--agg",
        "count,sum:x",
    ]);
    r.expect_ok("run --store of a fifo's store");
    assert_eq!(r.stdout, "count,sum_x\n3,7\n");
}

#[cfg(unix)]
#[test]
fn a_fifo_holding_parquet_is_refused_not_misread() {
    // Parquet is read by random access from its path; a pipe cannot be
    // re-read, so it is refused clearly rather than read as empty or CSV
    // (the start of a Parquet file, with rows and without: the parquet
    // crate then writes no page, and the footer comes first)
    let scratch = Scratch::new();
    for rows in [3, 0] {
        let path = scratch.path("p.parquet");
        write_parquet(&path, &small_batch(rows), None);
        let fifo = scratch.path(&format!("p{rows}.fifo"));
        mkfifo(&fifo);
        let writer = feed_lossy(&fifo, std::fs::read(&path).unwrap());
        let r = run_on(&fifo, &["--agg", "count"]);
        release(&fifo, writer);
        r.expect_code(1, "parquet in a fifo");
        assert!(
            r.stderr.contains(&format!("p{rows}.fifo"))
                && r.stderr.contains("holds Parquet")
                && r.stderr.contains("save it to a file first"),
            "{}",
            r.stderr
        );
    }
}

/// Writes `content` into the FIFO `path` from a thread, as [`feed`] does,
/// but stops quietly when the reader goes (rayproc refusing the run);
/// [`release`] joins it.
#[cfg(unix)]
fn feed_lossy(path: &Path, content: Vec<u8>) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = f.write_all(&content);
        }
    })
}

/// Joins the writer of [`feed_lossy`]; if rayproc never opened the FIFO,
/// the writer still waits for a reader: opening it for reading, without
/// waiting, and closing it lets the writer go (its writes then fail).
#[cfg(unix)]
fn release(path: &Path, writer: std::thread::JoinHandle<()>) {
    use std::os::unix::fs::OpenOptionsExt;
    let start = std::time::Instant::now();
    while !writer.is_finished() && start.elapsed() < std::time::Duration::from_secs(30) {
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    writer.join().unwrap();
}

/// The lines `1` to `n`, as `seq 1 n` prints them.
fn seq(n: u64) -> Vec<u8> {
    (1..=n)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect()
}

/// One FIFO named by two paths (`ff` and `./ff`, or a link to it) is one
/// pipe named twice: both inputs read it, so they split its bytes between
/// them, and the run printed a wrong sum and count with exit 0. The pipe is
/// told by its device and inode, not by the path's text.
#[cfg(unix)]
#[test]
fn one_fifo_under_two_spellings_is_a_usage_error() {
    let scratch = Scratch::new();
    let fifo = scratch.path("two.fifo");
    mkfifo(&fifo);
    std::os::unix::fs::symlink(&fifo, scratch.path("link")).unwrap();
    let dotted = scratch.dir.path().join(".").join("two.fifo");
    let dotted = dotted.to_str().unwrap();
    // paths relative to the scratch folder, where rayproc runs
    for (a, b) in [
        ("two.fifo", "link"),
        ("two.fifo", "./two.fifo"),
        (fifo.to_str().unwrap(), dotted),
    ] {
        // more than a pipe's buffer: the writer is still there when the
        // second path is opened
        let writer = feed_lossy(&fifo, seq(500_000));
        let out = rayproc()
            .current_dir(scratch.dir.path())
            .args([
                "run",
                "--no-header",
                "-i",
                a,
                "-i",
                b,
                "--agg",
                "sum:1,count",
            ])
            .output()
            .unwrap();
        release(&fifo, writer);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a} and {b}: {stderr}");
        let both = format!("{a} and {b} are the same pipe, named twice");
        assert!(stderr.contains(&both), "{stderr}");
    }
}

/// Runs rayproc with `args` in `dir`; `None` if it is still running after
/// 20 s (then killed): a run waiting on a FIFO that no one writes.
#[cfg(unix)]
fn run_within(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    let mut child = std::process::Command::new(bin_path())
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// A FIFO named twice, with no writer yet, waited for ever in the first
/// open (its second name was looked at only once a writer came): the
/// inputs are now told apart by `stat`, before any is opened.
#[cfg(unix)]
#[test]
fn a_fifo_named_twice_with_no_writer_is_refused_at_once() {
    let scratch = Scratch::new();
    let fifo = scratch.path("idle.fifo");
    mkfifo(&fifo);
    std::os::unix::fs::symlink(&fifo, scratch.path("link")).unwrap();
    for (a, b, why) in [
        ("idle.fifo", "idle.fifo", "idle.fifo is a pipe named twice"),
        (
            "idle.fifo",
            "./link",
            "idle.fifo and ./link are the same pipe",
        ),
    ] {
        let out = run_within(
            scratch.dir.path(),
            &["run", "-i", a, "-i", b, "--agg", "count"],
        )
        .unwrap_or_else(|| panic!("{a} and {b}: still waiting after 20 s"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a} and {b}: {stderr}");
        assert!(stderr.contains(why), "{stderr}");
    }
}

/// A FIFO (or socket, or device) inside a dataset folder, or matched by a
/// pattern, was opened like a file: with no writer, the run waited for
/// ever. A folder or pattern reads regular files only; such a file is an
/// error naming it (named alone, it is still read as a stream).
#[cfg(unix)]
#[test]
fn a_fifo_in_a_folder_or_matched_by_a_pattern_is_an_error_naming_it() {
    let scratch = Scratch::new();
    let dir = scratch.path("data");
    std::fs::create_dir_all(dir.join("year=2026")).unwrap();
    std::fs::write(dir.join("year=2026/f.csv"), "k,x\na,1\n").unwrap();
    mkfifo(&dir.join("year=2026/p.csv"));
    for args in [
        vec!["run", "-i", "data", "--agg", "count"],
        vec!["run", "-i", "data/*/*.csv", "--agg", "count"],
        vec!["run", "-i", "data/**", "--agg", "count"],
        vec!["run", "-i", "data/*/p.csv", "--agg", "count"],
        vec!["split", "-i", "data", "--store", "s"],
    ] {
        let out = run_within(scratch.dir.path(), &args)
            .unwrap_or_else(|| panic!("{args:?}: still waiting after 20 s"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("p.csv: not a regular file (a FIFO, socket or device)"),
            "{args:?}: {stderr}"
        );
    }
}

/// Standard input on a pipe named as `-`, `/dev/stdin` or `/dev/fd/0` is
/// one pipe: named twice under two of them, it was read by both, the rows
/// split between them (`count` 200,001 of 200,000 lines, exit 0).
#[cfg(target_os = "linux")]
#[test]
fn standard_input_under_two_names_is_a_usage_error() {
    let rows = seq(200_000);
    let shown = |p: &str| {
        if p == "-" {
            "- (standard input)".to_string()
        } else {
            p.to_string()
        }
    };
    for (a, b) in [
        ("-", "/dev/stdin"),
        ("/dev/stdin", "/dev/fd/0"),
        ("/dev/fd/0", "-"),
    ] {
        let r = run_with_stdin(
            [
                "run",
                "--no-header",
                "-i",
                a,
                "-i",
                b,
                "--agg",
                "sum:1,count",
            ],
            Some(&rows),
        );
        r.expect_code(2, &format!("{a} and {b}"));
        let both = format!("{} and {} are the same pipe", shown(a), shown(b));
        assert!(r.stderr.contains(&both), "{}", r.stderr);
    }
    // split too
    let scratch = Scratch::new();
    let store = scratch.path("st");
    let r = run_with_stdin(
        [
            "split",
            "--no-header",
            "-i",
            "-",
            "-i",
            "/dev/stdin",
            "--store",
        ]
        .into_iter()
        .chain([store.to_str().unwrap(), "-q"]),
        Some(&rows),
    );
    r.expect_code(2, "split of - and /dev/stdin");
    assert!(!store.exists(), "no store written");
}

#[cfg(target_os = "linux")]
#[test]
fn dev_stdin_on_a_pipe_is_read_whole() {
    let csv = b"x,y\n1,2\n3,\n5,6\n";
    for p in ["1", "2", "7"] {
        let r = run_with_stdin(
            [
                "run",
                "--input",
                "/dev/stdin",
                "--agg",
                "count,sum:x,count:y",
                "--partitions",
                p,
            ],
            Some(csv),
        );
        r.expect_ok("/dev/stdin");
        assert_eq!(r.stdout, "count,sum_x,count_y\n3,9,2\n", "--partitions {p}");
    }
}

/// A part of `map` is a byte range of each input, read by position. A
/// stream named by a path other than `-` got through the check: map of
/// `/dev/stdin` on a pipe was an empty part (`reduce` printed a count of
/// 0, exit 0), and of a FIFO opened it again after reading it whole,
/// waiting for a writer for ever. Both are refused as `-` is.
#[cfg(target_os = "linux")]
#[test]
fn map_refuses_a_stream_under_any_name() {
    let csv = b"x\n1\n2\n3\n";
    let map = |input: &str| {
        [
            "map",
            "--input",
            input,
            "--agg",
            "count",
            "--part",
            "0/1",
            "--emit-partial",
            "-",
        ]
        .map(str::to_string)
    };
    let r = run_with_stdin(map("/dev/stdin"), Some(csv));
    r.expect_code(2, "map of /dev/stdin on a pipe");
    assert!(
        r.stderr.contains("/dev/stdin is a pipe, FIFO or device")
            && r.stderr.contains("cannot be cut into parts"),
        "{}",
        r.stderr
    );
    let scratch = Scratch::new();
    let fifo = scratch.path("in.fifo");
    mkfifo(&fifo);
    // a writer for each time the FIFO is opened (the build before opened
    // it twice; this one never does)
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            for _ in 0..2 {
                feed_lossy(&fifo, csv.to_vec()).join().unwrap();
            }
        })
    };
    let r = run(map(fifo.to_str().unwrap()));
    release(&fifo, writer);
    r.expect_code(2, "map of a FIFO");
    assert!(
        r.stderr.contains("in.fifo is a pipe, FIFO or device"),
        "{}",
        r.stderr
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_proc_file_with_stat_size_0_is_read_whole() {
    // /proc/meminfo: `Name:   value kB` lines, no commas or quotes, and a
    // stable number of lines; its stat size is 0.
    let path = Path::new("/proc/meminfo");
    let Ok(text) = std::fs::read_to_string(path) else {
        return; // no /proc here
    };
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        0,
        "the case under test"
    );
    let lines = text.lines().filter(|l| !l.is_empty()).count();
    let r = run_on(path, &["--agg", "count", "--delimiter", "|"]);
    r.expect_ok("/proc/meminfo");
    assert_eq!(r.stdout, format!("count\n{}\n", lines - 1));
}

// ---------------------------------------------------------------- lone CR

#[test]
fn lone_cr_line_endings_are_record_ends() {
    let (_d, file) = temp_csv("a,b\r1,2\r3,4\r");
    let out = run_all_partitions(&["--agg", "count,sum:a,sum:b"], &file);
    assert_eq!(out, "count,sum_a,sum_b\n2,4,6\n");
    // no final line end; a CR inside quotes is data; blank lines of CRs skipped
    let (_d, file) = temp_csv("k,t\r\r\"a\rb\",1\r\r\nz,\"2\"\r\r\rz,3");
    let out = run_all_partitions(&["--agg", "count,sum:t,distinct:k"], &file);
    assert_eq!(out, "count,sum_t,distinct_k\n3,6,2\n");
}

/// A generated file of mixed line ends (LF, CRLF, lone CR, inside and
/// outside quotes), longer than a scanner window, against the `csv` crate.
#[test]
fn mixed_line_ends_match_the_csv_crate_at_every_partitioning() {
    let mut rng = Lcg(16);
    let mut text = String::from("id,v,note\r");
    let ends = ["\n", "\r\n", "\r", "\r\r\n", "\n\r"];
    let notes = ["plain", "\"a\rb\"", "\"x\r\ny\"", "\"q\"\"\r\"", ""];
    for i in 0..20_000u64 {
        let note = notes[rng.below(notes.len() as u64) as usize];
        let end = if rng.below(50) == 0 {
            ends[rng.below(ends.len() as u64) as usize]
        } else {
            "\n" // mostly LF, so that the fast paths run and hand over
        };
        text.push_str(&format!("{i},{},{note}{end}", rng.below(1000)));
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let (mut count, mut sum, mut notes_seen) = (0u64, 0u64, std::collections::BTreeSet::new());
    for r in reader.records() {
        let r = r.unwrap();
        count += 1;
        sum += r[1].parse::<u64>().unwrap();
        if !r[2].is_empty() {
            notes_seen.insert(r[2].to_string());
        }
    }
    let (scratch, file) = temp_csv(&text);
    let args = ["--agg", "count,sum:v,distinct:note"];
    let want = format!(
        "count,sum_v,distinct_note\n{count},{sum},{}\n",
        notes_seen.len()
    );
    assert_eq!(run_all_partitions(&args, &file), want);
    for p in [1, 3, 64] {
        assert_eq!(via_store(&scratch, &file, p, &args), want, "split at {p}");
    }
}

#[test]
fn errors_after_lone_crs_name_the_physical_line() {
    // line 1 header, 2 `1,2`, 3 blank (CR), 4 `3` (one field), 5 `4,5`
    let (_d, file) = temp_csv("a,b\r1,2\r\r3\r4,5\r");
    let stderr = fail_all_partitions(&["--agg", "count"], &file, 1);
    let want = format!("{}:4:", file.display());
    assert!(stderr.contains(&want), "expected {want:?} in: {stderr}");
    // a bad number after CRLF and lone CR lines
    let (_d, file) = temp_csv("a,b\r\n1,2\r3,4\n5,x\r");
    let stderr = fail_all_partitions(&["--agg", "sum:b"], &file, 1);
    let want = format!("{}:4:", file.display());
    assert!(stderr.contains(&want), "expected {want:?} in: {stderr}");
}

// ---------------------------------------------------------------- empty input

#[test]
fn an_empty_input_refuses_named_columns_but_counts_0() {
    let (_d, file) = temp_csv("");
    for args in [
        &["--agg", "sum:typo"][..],
        &["--agg", "count,sum:x"],
        &["--by", "k", "--agg", "count"],
    ] {
        let stderr = fail_all_partitions(args, &file, 1);
        let want = format!(
            "{}: empty input, no header to check the columns against",
            file.display()
        );
        assert!(stderr.contains(&want), "{args:?}: {stderr}");
    }
    assert_eq!(run_all_partitions(&["--agg", "count"], &file), "count\n0\n");
}

#[test]
fn an_empty_input_beside_others_takes_their_header() {
    let s = Scratch::new();
    let empty = s.write("empty.csv", "");
    let full = s.write("full.csv", "x\n5\n");
    let (e, f) = (empty.to_str().unwrap(), full.to_str().unwrap());
    let r = run(["run", "-i", e, "-i", f, "-i", e, "--agg", "count,sum:x"]);
    r.expect_ok("empty, full, empty");
    assert_eq!(r.stdout, "count,sum_x\n1,5\n");
    let r = run(["run", "-i", e, "-i", f, "--agg", "sum:typo"]);
    r.expect_code(2, "the full input's header is checked");
    // all empty: refused
    let r = run(["run", "-i", e, "-i", e, "--agg", "sum:x"]);
    r.expect_code(1, "two empty inputs");
    assert!(r.stderr.contains("empty input, no header"), "{}", r.stderr);
}

#[test]
fn a_store_of_an_empty_input_refuses_named_columns_too() {
    let s = Scratch::new();
    let empty = s.write("empty.csv", "");
    let store = s.path("st");
    let (e, st) = (empty.to_str().unwrap(), store.to_str().unwrap());
    // --columns names columns nothing can check
    let r = run(["split", "-i", e, "--store", st, "-q", "--columns", "x"]);
    r.expect_code(1, "split --columns of an empty input");
    assert!(r.stderr.contains("empty input, no header"), "{}", r.stderr);
    run(["split", "-i", e, "--store", st, "-q"]).expect_ok("split of an empty input");
    let r = run(["run", "--store", st, "--agg", "sum:typo"]);
    r.expect_code(1, "run --store of an empty input's store");
    assert!(r.stderr.contains("empty input, no header"), "{}", r.stderr);
    let r = run(["run", "--store", st, "--agg", "count"]);
    r.expect_ok("count of an empty store");
    assert_eq!(r.stdout, "count\n0\n");
}

/// Arrow IPC files with compressed buffers (LZ4 frame, pyarrow's and
/// pandas' default for Feather v2, and zstd) are read, and give what the
/// same table written uncompressed gives, group by group (three record
/// batches, a dictionary column, nulls).
#[test]
fn compressed_arrow_ipc_files_read_as_the_uncompressed_file() {
    for file in ["lz4.arrow", "zstd.arrow"] {
        let path = fixture(file);
        let out = run([
            "run",
            "--input",
            path.to_str().unwrap(),
            "--agg",
            "sum:x,count,distinct:k",
        ]);
        out.expect_ok(file);
        assert_eq!(out.stdout, "sum_x,count,distinct_k\n8.0,3,2\n", "{file}");
    }
    let query = |file: &str| {
        let path = fixture(file);
        let out = run([
            "run",
            "--input",
            path.to_str().unwrap(),
            "--by",
            "d",
            "--agg",
            "count,sum:i,mean:x,var:x,min:k,max:k,distinct:k,p90:i",
        ]);
        out.expect_ok(file);
        out.stdout
    };
    let plain = query("batches_plain.arrow");
    assert_eq!(
        plain.lines().count(),
        8,
        "a header and seven cities: {plain}"
    );
    assert_eq!(query("batches_lz4.arrow"), plain, "LZ4 frame");
    assert_eq!(query("batches_zstd.arrow"), plain, "zstd");
}

/// A data error in an Arrow IPC file named "record batch 1, row 3" (the
/// batch counted from 0, the row from 1 within it) where the same data as
/// Parquet says "row 6": a user had to know the writer's batch sizes. It is
/// the row in the file, for a file and for a stream (legacy framing too).
#[test]
fn an_arrow_ipc_error_names_the_row_in_the_file() {
    use arrow_array::{RecordBatch, StringArray};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let x = StringArray::from(vec!["1", "2", "3", "4", "5", "oops", "7"]);
    let batch = RecordBatch::try_from_iter([("x", Arc::new(x) as arrow_array::ArrayRef)]).unwrap();
    let [parquet, ipc] = write_parquet_and_ipc(&scratch, "t", &batch, Some(3), Some(3));
    let stream = scratch.path("t.arrows");
    let batches: Vec<_> = (0..7)
        .step_by(3)
        .map(|at| batch.slice(at, 3.min(7 - at)))
        .collect();
    write_ipc_stream(&stream, &batches, Default::default());
    for path in [&parquet, &ipc, &stream] {
        let r = run_on(path, &["--agg", "sum:x"]);
        r.expect_code(1, &path.display().to_string());
        let want = format!(
            "{}: row 6: column 'x': sum needs numbers, found \"oops\"",
            path.display()
        );
        assert!(r.stderr.contains(&want), "{}", r.stderr);
    }
}

/// `rayproc run` of `inputs` (one `--input` each) with `--agg agg`.
fn run_inputs(inputs: &[&PathBuf], agg: &str) -> Run {
    let mut args = vec![std::ffi::OsStr::new("run")];
    for input in inputs {
        args.extend([std::ffi::OsStr::new("--input"), input.as_os_str()]);
    }
    args.extend(["--agg", agg].map(std::ffi::OsStr::new));
    run(args)
}

/// Asserts that each query of `queries` gives every file of `files` the
/// answer it gives `csv` (the same values as CSV text), at every
/// partitioning.
fn answers_as_csv_does(csv: &Path, files: &[PathBuf], queries: &[&[&str]]) {
    for args in queries {
        let want = run_all_partitions(args, csv);
        for file in files {
            assert_eq!(
                run_all_partitions(args, file),
                want,
                "{args:?} {}",
                file.display()
            );
        }
    }
}

/// Fixed-width bytes (Parquet's `FIXED_LEN_BYTE_ARRAY`, Arrow's
/// `FixedSizeBinary`: UUIDs, hashes) read as the bytes they hold, as a
/// binary column does: they were refused ("has Arrow type
/// FixedSizeBinary(4), which rayproc cannot aggregate"). The same values as
/// CSV text give the same answers, from Parquet and Arrow IPC, at every
/// partitioning; batches are sliced by the readers, so the slices' bytes
/// are where the values are.
#[test]
fn fixed_width_bytes_read_as_the_bytes_they_hold() {
    use arrow_array::{ArrayRef, FixedSizeBinaryArray, Int64Array, RecordBatch};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let values: [Option<&[u8]>; 7] = [
        Some(b"ab01"),
        None,
        Some(b"zz99"),
        Some(b"ab01"),
        Some(b"k000"),
        Some(b"0000"),
        Some(b"zz99"),
    ];
    let u = FixedSizeBinaryArray::try_from_sparse_iter_with_size(values.into_iter(), 4).unwrap();
    let x = Int64Array::from_iter_values(1..=7);
    let batch = RecordBatch::try_from_iter([
        ("u", Arc::new(u) as ArrayRef),
        ("x", Arc::new(x) as ArrayRef),
    ])
    .unwrap();
    let files = write_parquet_and_ipc(&scratch, "fixed", &batch, Some(3), Some(3));
    let csv = scratch.write(
        "fixed.csv",
        "u,x\nab01,1\n,2\nzz99,3\nab01,4\nk000,5\n0000,6\nzz99,7\n",
    );
    answers_as_csv_does(
        &csv,
        &files,
        &[
            &["--agg", "count,count:u,null_count:u,distinct:u,min:u,max:u"],
            &["--by", "u", "--agg", "count,sum:x"],
            &["--where", "u > 'b'", "--agg", "count,sum:x"],
        ],
    );
    assert_eq!(
        run_all_partitions(&["--agg", "distinct:u,min:u,max:u"], &files[0]),
        "distinct_u,min_u,max_u\n4,0000,zz99\n"
    );
}

/// UUID columns read as their canonical text, as DuckDB and Python print
/// them: Parquet's UUID type (DuckDB writes it, with no Arrow schema in the
/// footer) and Arrow's `arrow.uuid` extension (pyarrow's `pa.uuid()`).
/// They were read as their 16 raw bytes: a group-by printed binary garbage
/// in CSV and table output, and JSON output refused the column as text
/// that is not UTF-8. The same UUIDs as CSV text give the same answers, in
/// the same order (the text sorts as the bytes do), at every partitioning.
#[test]
fn uuid_columns_read_as_their_text() {
    let scratch = Scratch::new();
    let csv = scratch.write(
        "uuid.csv",
        "id,v\n8f14e45f-ceea-467f-a0e6-8c2f7f5d1a2b,1\n,2\n\
         00000000-0000-0000-0000-000000000000,3\n8f14e45f-ceea-467f-a0e6-8c2f7f5d1a2b,4\n\
         ffffffff-ffff-ffff-ffff-ffffffffffff,5\n7fffffff-0000-4000-8000-000000000001,6\n",
    );
    let files = [
        fixture("uuid_duckdb.parquet"),
        fixture("uuid_pyarrow.arrow"),
        // dictionary-encoded (read as the bytes until stop 88)
        fixture("uuid_dict_pyarrow.arrow"),
        fixture("uuid_dict_pyarrow.arrows"),
    ];
    answers_as_csv_does(
        &csv,
        &files,
        &[
            &["--agg", "count,count:id,distinct:id,min:id,max:id"],
            &["--by", "id", "--agg", "count,sum:v"],
            &["--where", "id > '7'", "--agg", "count,sum:v"],
        ],
    );
    for file in &files {
        let r = run_on(file, &["--by", "id", "--agg", "sum:v", "--format", "json"]);
        r.expect_code(0, "UUID keys as JSON");
        assert_eq!(
            r.stdout,
            "[\n  {\"id\":\"00000000-0000-0000-0000-000000000000\",\"sum_v\":3},\n  \
             {\"id\":\"7fffffff-0000-4000-8000-000000000001\",\"sum_v\":6},\n  \
             {\"id\":\"8f14e45f-ceea-467f-a0e6-8c2f7f5d1a2b\",\"sum_v\":5},\n  \
             {\"id\":\"ffffffff-ffff-ffff-ffff-ffffffffffff\",\"sum_v\":5},\n  \
             {\"id\":null,\"sum_v\":2}\n]\n",
            "{}",
            file.display()
        );
    }
}

/// Polars writes its Int128 columns with an Arrow schema in the footer
/// that the parquet crate cannot read, and the whole file was refused
/// ("Int type with bit width of 128 ... not supported"), though the query
/// never read that column. The file reads from its Parquet schema instead,
/// and the Int128 column, 16 bytes a value with no Parquet type, as the
/// integers the footer's Arrow schema says they are (it read as the bytes,
/// `max` comparing them as text, after stop 86 and until stop 87).
#[test]
fn a_parquet_file_with_an_unreadable_arrow_schema_reads_its_other_columns() {
    let path = fixture("int128_polars.parquet");
    assert_eq!(
        run_all_partitions(&["--agg", "sum:x,count"], &path),
        "sum_x,count\n3,2\n"
    );
    assert_eq!(
        run_all_partitions(&["--agg", "sum:big,max:big"], &path),
        "sum_big,max_big\n1267650600228229401496703205377,1267650600228229401496703205376\n"
    );
}

/// 128-bit integers inside nested columns (Polars' `List(Int128)`, a
/// struct with a `UInt128` field): an Arrow IPC file or stream holding one
/// was refused whole ("not a valid Arrow IPC file: ... Int type with bit
/// width of 128"), whatever the query read, and a query of such a column in
/// Parquet was refused as a list of `FixedSizeBinary(16)`. The files open
/// and their other columns read; the nested columns are refused as what
/// they are.
#[test]
fn nested_128_bit_integers_leave_the_other_columns_readable() {
    for ext in ["arrow", "arrows", "parquet"] {
        let path = fixture(&format!("wide_ints_nested_polars.{ext}"));
        assert_eq!(
            run_all_partitions(&["--agg", "sum:x,count"], &path),
            "sum_x,count\n6,3\n",
            "{ext}"
        );
        for agg in ["count:l", "min:s"] {
            let column = &agg[agg.len() - 1..];
            run_on(&path, &["--agg", agg]).expect_error(
                &format!("{ext} {agg}"),
                &format!(
                    "wide_ints_nested_polars.{ext}: column '{column}' holds 128-bit integers \
                     (Polars' Int128 or UInt128) inside a list, struct or map"
                ),
            );
        }
    }
}

/// Polars' 128-bit integers (Int128, UInt128), which arrow-rs does not
/// read: an Arrow IPC file or stream holding one was refused whole ("not a
/// valid Arrow IPC file: ... Int type with bit width of 128"), and in
/// Parquet their 16 bytes a value were read as text. They read as
/// integers, as the same numbers in a CSV do (exact beyond 64 bits), at
/// every partitioning; an unsigned one of 2^127 or more, which rayproc
/// cannot hold, is an error naming the column and the value, where a
/// query reads it.
#[test]
fn polars_128_bit_integers_read_as_integers() {
    let scratch = Scratch::new();
    let csv = scratch.write(
        "wide.csv",
        "x,big,small,us\n1,1,5,1\n2,1267650600228229401496703205376,-7,18446744073709551616\n\
         3,,,\n4,-1267650600228229401496703205376,9,3\n",
    );
    let files =
        ["arrow", "arrows", "parquet"].map(|ext| fixture(&format!("wide_ints_polars.{ext}")));
    answers_as_csv_does(
        &csv,
        &files,
        &[
            &[
                "--agg",
                "sum:x,sum:big,min:big,max:big,count:big,sum:small,mean:small,max:us",
            ],
            &["--by", "small", "--agg", "count,sum:big,min:us"],
            &["--where", "big > 100 or small < 0", "--agg", "count,sum:x"],
            &["--by", "us", "--agg", "count"],
        ],
    );
    assert_eq!(
        run_all_partitions(&["--agg", "max:big,sum:small"], &files[0]),
        "max_big,sum_small\n1267650600228229401496703205376,7\n"
    );
    // compared as integers: in text order 3 was the largest of 1, 2^64, 3
    for file in &files {
        assert_eq!(
            run_all_partitions(&["--agg", "min:us,max:us,min:big,max:small"], file),
            "min_us,max_us,min_big,max_small\n1,18446744073709551616,-1267650600228229401496703205376,9\n",
            "{}",
            file.display()
        );
    }
    for file in &files {
        run_on(file, &["--agg", "max:u"]).expect_error(
            "an unsigned value of 2^127 + 5",
            "column 'u' holds the unsigned integer 170141183460469231731687303715884105733",
        );
    }
}

/// A column that may hold integers beyond 64 bits in one input (Polars'
/// Int128, a UInt64, an integral decimal of 38 digits: read as their
/// digits where they pass 64 bits) and floats in another was answered
/// wrongly: `distinct` counted {1, 2^100, -2^100, 5.5, 7.0} as 3 (the typed
/// floats were left out of a column that ended text). Refused, naming both
/// files; beside 64-bit integers it reads.
#[test]
fn integers_beyond_64_bits_beside_floats_are_refused() {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, UInt64Array};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let columns = |big: ArrayRef| {
        let n = big.len() as i64;
        RecordBatch::try_from_iter([
            (
                "x",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            ("big", big.clone()),
            ("small", big.clone()),
            ("u", big.clone()),
            ("us", big),
        ])
        .unwrap()
    };
    let floats = columns(Arc::new(Float64Array::from(vec![5.5, 7.0])));
    let ints = columns(Arc::new(Int64Array::from(vec![5, 7])));
    let [floats_pq, floats_ipc] = write_parquet_and_ipc(&scratch, "floats", &floats, None, None);
    let [ints_pq, _] = write_parquet_and_ipc(&scratch, "ints", &ints, None, None);
    let unsigned = columns(Arc::new(UInt64Array::from(vec![1, u64::MAX])));
    let [unsigned_pq, _] = write_parquet_and_ipc(&scratch, "unsigned", &unsigned, None, None);
    let wide = fixture("wide_ints_polars.parquet");
    for (wide, floats) in [
        (&wide, &floats_pq),
        (&wide, &floats_ipc),
        // a UInt64 beyond 2^63 beside floats: 35e64a1 answered 2 for 4
        (&unsigned_pq, &floats_pq),
    ] {
        let r = run_inputs(&[wide, floats], "distinct:big");
        r.expect_error(
            "Int128 beside floats",
            "column 'big' holds integers that may pass 64 bits in",
        )
        .expect_error("Int128 beside floats", "but floats in");
    }
    let r = run_inputs(&[&wide, &ints_pq], "distinct:big,sum:big");
    r.expect_code(0, "Int128 beside Int64");
    assert_eq!(r.stdout, "distinct_big,sum_big\n5,13\n");
}

/// `approx_distinct` of a UInt64 column whose row groups (or record
/// batches) are integers in one and digits past 2^63 in another (the
/// column ends text): the integers past 2^53 of the integer batches went
/// uncounted, so the answer depended on `--partitions` (3 or 2; a group
/// of one value 0), where `distinct` gave 3 at every one.
#[test]
fn approx_distinct_counts_typed_integers_of_a_column_made_text() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let batch = RecordBatch::try_from_iter([
        (
            "k",
            Arc::new(StringArray::from(vec!["a", "b", "a", "a"])) as ArrayRef,
        ),
        (
            "x",
            Arc::new(UInt64Array::from(vec![
                (1 << 53) + 1,
                (1 << 53) + 1,
                1 << 63,
                5,
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    let files = write_parquet_and_ipc(&scratch, "u64", &batch, Some(2), Some(2));
    for file in &files {
        for p in ["1", "2", "4"] {
            let whole = run_on(file, &["--agg", "distinct:x,approx_distinct:x", "-p", p]);
            whole.expect_ok("approx_distinct of UInt64");
            assert_eq!(
                whole.stdout, "distinct_x,approx_distinct_x\n3,3\n",
                "{file:?} -p {p}"
            );
            let by = run_on(
                file,
                &[
                    "--by",
                    "k",
                    "--agg",
                    "distinct:x,approx_distinct:x",
                    "-p",
                    p,
                ],
            );
            by.expect_ok("approx_distinct of UInt64 by k");
            assert_eq!(
                by.stdout, "k,distinct_x,approx_distinct_x\na,3,3\nb,1,1\n",
                "{file:?} -p {p}"
            );
        }
    }
}

/// A column that holds UUIDs in one input and bare 16-byte values (no
/// UUID type) in another would be two keys for each UUID, its text and
/// its bytes: refused, naming both files, as a column that is text in one
/// and numeric in the other is.
#[test]
fn uuids_in_one_input_and_bare_bytes_in_another_are_refused() {
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, DictionaryArray, FixedSizeBinaryArray, Int64Array, RecordBatch, StringArray,
    };
    use std::sync::Arc;
    let scratch = Scratch::new();
    let table = |id: ArrayRef| {
        let v = Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef;
        RecordBatch::try_from_iter([("id", id), ("v", v)]).unwrap()
    };
    let id = FixedSizeBinaryArray::try_from_iter([[0u8; 16], [0xff; 16]].into_iter()).unwrap();
    let bare = write_parquet_and_ipc(&scratch, "bare", &table(Arc::new(id.clone())), None, None);
    let coded = DictionaryArray::<Int32Type>::try_new(vec![1, 0].into(), Arc::new(id)).unwrap();
    let bare_coded = write_parquet_and_ipc(&scratch, "coded", &table(Arc::new(coded)), None, None);
    let uuids_coded = fixture("uuid_dict_pyarrow.arrow");
    let text = StringArray::from(vec![
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ]);
    let texts = write_parquet_and_ipc(&scratch, "texts", &table(Arc::new(text)), None, None);
    let (uuids_pq, uuids_ipc) = (
        fixture("uuid_duckdb.parquet"),
        fixture("uuid_pyarrow.arrow"),
    );
    for inputs in [
        vec![&uuids_pq, &bare[0]],
        vec![&uuids_ipc, &bare[1]],
        // after a text column, which agrees with both: each is checked
        // against every other input, not only the first
        vec![&texts[0], &uuids_pq, &bare[0]],
        vec![&texts[1], &bare[1], &uuids_ipc],
        // either side dictionary-encoded (stop 88: both read as bytes)
        vec![&uuids_coded, &bare[1]],
        vec![&uuids_ipc, &bare_coded[1]],
        vec![&bare_coded[0], &uuids_pq],
    ] {
        let what = format!("UUIDs and bare bytes: {inputs:?}");
        run_inputs(&inputs, "distinct:id")
            .expect_error(&what, "column 'id' holds UUIDs in")
            .expect_error(&what, "but bare 16-byte values in");
    }
    // the bare bytes alone read as they did, and UUIDs beside their text
    // are one key each
    assert_eq!(
        run_all_partitions(&["--agg", "distinct:id"], &bare[0]),
        "distinct_id\n2\n"
    );
    let r = run_inputs(&[&texts[0], &uuids_pq], "distinct:id");
    r.expect_code(0, "UUIDs beside their text");
    assert_eq!(r.stdout, "distinct_id\n4\n");
    // UUIDs plain and dictionary-encoded are the same keys (8 until stop
    // 88, the coded ones read as their bytes)
    let r = run_inputs(&[&uuids_ipc, &uuids_coded], "distinct:id");
    r.expect_code(0, "UUIDs plain and coded");
    assert_eq!(r.stdout, "distinct_id\n4\n");
    assert_eq!(
        run_all_partitions(&["--agg", "distinct:id"], &bare_coded[1]),
        "distinct_id\n2\n"
    );
}

/// Damage that the Parquet format can tell was read as other rows, exit 0:
/// a row group's row count that its columns' value counts contradict (a
/// count alone trusted it: 10 rows of 12), a data page claiming 11 of its
/// 12 values (11 rows, sum 55 of 66), and a flipped bit in a page whose
/// writer stored its CRC-32 (5.0 read as 2.5). Each is an error naming
/// the damage, whatever the aggregates and the partitioning.
#[test]
fn damaged_parquet_counts_and_checksums_are_errors_not_other_rows() {
    for (file, queries, says) in [
        (
            "damaged_row_count.parquet",
            &["count", "count,sum:x"][..],
            "damaged_row_count.parquet: the file is damaged: row group 0 (counted from 0) \
             claims 4 rows, but its column 'i' holds 6 values\n",
        ),
        (
            "damaged_page_values.parquet",
            &["count,sum:x", "sum:x,sum:i", "max:x"][..],
            "damaged_page_values.parquet: row group 0 (counted from 0), column 'x' holds 11 \
             rows where the footer says 12: the file is damaged\n",
        ),
        (
            "damaged_page_crc.parquet",
            &["sum:x", "count,max:x"][..],
            "damaged_page_crc.parquet: row group 0 (counted from 0; rows 1 to 12), column 'x' \
             cannot be decoded, the file is damaged: ",
        ),
    ] {
        let path = fixture(file);
        for agg in queries {
            let err = fail_all_partitions(&["--agg", agg], &path, 1);
            assert!(
                err.starts_with("rayproc: error: ") && err.contains(says),
                "{file} {agg}: {err}"
            );
        }
    }
    // the undamaged column of the page file still answers
    assert_eq!(
        run_all_partitions(
            &["--agg", "count,sum:i"],
            &fixture("damaged_page_values.parquet")
        ),
        "count,sum_i\n12,66\n"
    );
}

/// A page header's claims are held against its codec before the page is
/// read: a Snappy page of 28 bytes claiming to decode to 2 GiB was given 2
/// GiB of zeroed memory (1.4 s and 2.1 GB for one page; 40 such pages took
/// 100 s and 4 GB), and a dictionary page claiming 2^31 values asked for 8
/// GiB, which failed as "out of memory" under a memory limit, naming no
/// file. Both are damage, said with the row group, column and byte; the
/// columns not damaged still answer.
#[test]
fn parquet_pages_claiming_more_than_their_bytes_are_damage_not_gigabytes() {
    for (file, agg, says, intact) in [
        (
            "damaged_page_size.parquet",
            "sum:x",
            "/damaged_page_size.parquet: row group 1 (counted from 0), column 'x': the page at \
             byte 169 says 28 bytes of Snappy data decode to 2147483647, more than Snappy can \
             give (22 times): the file is damaged\n",
            ("count:k", "count_k\n6\n"),
        ),
        (
            "damaged_dictionary_count.parquet",
            "count:k,count",
            "/damaged_dictionary_count.parquet: row group 1 (counted from 0), column 'k': the \
             dictionary page at byte 107 says it holds 2147483647 values, more than its 15 bytes \
             can: the file is damaged\n",
            ("sum:x", "sum_x\n21.5\n"),
        ),
    ] {
        let path = fixture(file);
        let err = fail_all_partitions(&["--agg", agg], &path, 1);
        assert!(
            err.starts_with("rayproc: error: ") && err.ends_with(says),
            "{file}: {err}"
        );
        assert_eq!(
            run_all_partitions(&["--agg", intact.0], &path),
            intact.1,
            "{file}"
        );
    }
}

/// Legacy INT96 timestamps (what Spark, Hive and Impala write, here with no
/// Arrow schema in the footer) read as the times they hold in every year
/// rayproc reads: outside 1677-09-21 to 2262-04-11 the `parquet` crate's
/// nanoseconds wrapped, and 9999-12-31 (a common "valid until") read as a
/// day in 1816, 1500-06-01 as one in 2084, without a word. Two row groups,
/// at every partition count: the far times in both.
#[test]
fn int96_timestamps_read_as_their_times_in_every_year() {
    let path = fixture("int96.parquet");
    let grouped = ["--by", "year(ts)", "--agg", "count,sum:v,min:ts,max:ts"];
    assert_eq!(
        run_all_partitions(&grouped, &path),
        "year_ts,count,sum_v,min_ts,max_ts\n\
         0001,1,5,0001-01-01T00:00:00.000000000,0001-01-01T00:00:00.000000000\n\
         1500,1,3,1500-06-01T00:00:00.000000000,1500-06-01T00:00:00.000000000\n\
         2000,1,1,2000-01-01T12:30:00.250000000,2000-01-01T12:30:00.250000000\n\
         2262,1,6,2262-04-12T00:00:00.000000000,2262-04-12T00:00:00.000000000\n\
         9999,1,2,9999-12-31T23:59:59.999999000,9999-12-31T23:59:59.999999000\n\
         ,1,4,,\n"
    );
    let out = run_on(&path, &["--where", "ts > '9000'", "--agg", "count,sum:v"]);
    out.expect_ok("--where");
    assert_eq!(out.stdout, "count,sum_v\n1,2\n");
}

/// Parquet files written by pyarrow with each common codec read alike
/// (gzip and LZ4 were refused with the `parquet` crate's "Disabled feature
/// at compile time" until its `flate2` and `lz4` features were built); one
/// compressed with Brotli, which this build leaves out, is refused with
/// what to do, not with the crate's words.
#[test]
fn parquet_files_of_every_common_codec_read_alike() {
    let query = |codec: &str| {
        let path = fixture(&format!("codec_{codec}.parquet"));
        run([
            "run",
            "--input",
            path.to_str().unwrap(),
            "--by",
            "k",
            "--agg",
            "count,sum:i,mean:x,min:i",
        ])
    };
    let snappy = query("snappy");
    snappy.expect_ok("snappy");
    assert_eq!(snappy.stdout.lines().count(), 4, "{}", snappy.stdout);
    for codec in ["gzip", "lz4"] {
        let out = query(codec);
        out.expect_ok(codec);
        assert_eq!(out.stdout, snappy.stdout, "{codec}");
    }
    let brotli = query("brotli");
    brotli.expect_code(1, "a Brotli file");
    assert!(
        brotli
            .stderr
            .contains("compressed with Brotli, which rayproc does not read")
            && brotli.stderr.contains("compression='zstd'")
            && !brotli.stderr.contains("feature"),
        "{}",
        brotli.stderr
    );
}

/// Dates and timestamps are read as their `YYYY-MM-DD…` text, which sorts
/// by date only within the years 0000 to 9999: `max` of 10000-01-01 and
/// 9999-12-31 was 9999-12-31, and `--where "d < '2000-01-01'"` kept
/// 10000-01-01. A value outside those years, in a column the query reads,
/// is now an error naming the file and row; the years' first and last days
/// read, and a column the query does not read is not looked at.
#[test]
fn dates_outside_the_years_0000_to_9999_are_errors_naming_the_row() {
    use arrow_array::{ArrayRef, Date32Array, Int64Array, RecordBatch, TimestampSecondArray};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let write = |name: &str, days: Vec<i32>| {
        let n = days.len() as i64;
        let batch = RecordBatch::try_from_iter([
            ("d", Arc::new(Date32Array::from(days.clone())) as ArrayRef),
            (
                "t",
                Arc::new(TimestampSecondArray::from(
                    days.iter()
                        .map(|&d| d as i64 * 86_400 + 1)
                        .collect::<Vec<_>>(),
                )),
            ),
            ("v", Arc::new(Int64Array::from_iter_values(0..n))),
        ])
        .unwrap();
        let path = scratch.path(name);
        write_parquet(&path, &batch, None);
        path
    };
    // 0000-01-01, 1970-01-01, 9999-12-31
    let inside = write("inside.parquet", vec![-719_528, 0, 2_932_896]);
    let out = run_on(&inside, &["--agg", "min:d,max:d,max:t,count"]);
    out.expect_ok("the years' first and last days");
    assert_eq!(
        out.stdout,
        "min_d,max_d,max_t,count\n0000-01-01,9999-12-31,9999-12-31T00:00:01,3\n"
    );
    // 1970-01-01, 10000-01-01 (row 2), 9999-12-31
    let outside = write("outside.parquet", vec![0, 2_932_897, 2_932_896]);
    for agg in ["max:d", "min:t", "distinct:d"] {
        let out = run_on(&outside, &["--agg", agg]);
        out.expect_code(1, agg);
        assert!(
            out.stderr.contains("outside.parquet: row 2: column '")
                && out.stderr.contains("a date in the year 10000"),
            "{agg}: {}",
            out.stderr
        );
    }
    let out = run_on(&outside, &["--where", "d < '2000-01-01'", "--agg", "count"]);
    out.expect_code(1, "--where on such a date");
    // a year before 0000 too
    let before = write("before.parquet", vec![-719_529]);
    let out = run_on(&before, &["--agg", "min:d"]);
    out.expect_code(1, "the year -1");
    assert!(
        out.stderr.contains("a date in the year -1"),
        "{}",
        out.stderr
    );
    // columns not read are not looked at
    let out = run_on(&outside, &["--agg", "sum:v"]);
    out.expect_ok("a query that reads no date");
    assert_eq!(out.stdout, "sum_v\n3\n");
}

/// A dictionary-encoded column of numbers or dates (pandas' categorical
/// integers, pyarrow's `dictionary_encode`) is read as its values, in
/// Parquet and Arrow IPC alike: the same answers as the plain column. It
/// was refused ("has Arrow type Dictionary(Int32, Int64), which rayproc
/// cannot aggregate"). A date past 9999 inside a dictionary is the error
/// a plain date column gives.
#[test]
fn dictionaries_of_numbers_and_dates_read_as_their_values() {
    use arrow_array::types::{Int16Type, Int32Type, Int8Type};
    use arrow_array::{
        ArrayRef, Date32Array, DictionaryArray, Float64Array, Int64Array, RecordBatch,
    };
    use std::sync::Arc;
    let scratch = Scratch::new();
    let n = 40usize;
    let ids: Vec<Option<i64>> = (0..n)
        .map(|i| (i % 7 != 3).then_some((i % 5) as i64 * 1000))
        .collect();
    let xs: Vec<Option<f64>> = (0..n)
        .map(|i| (i % 4 != 1).then_some((i % 3) as f64 / 4.0))
        .collect();
    let days: Vec<i32> = (0..n).map(|i| 19_000 + (i % 6) as i32).collect();
    let plain = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
        ("x", Arc::new(Float64Array::from(xs.clone()))),
        ("d", Arc::new(Date32Array::from(days.clone()))),
    ])
    .unwrap();
    let coded = |batch_days: &[i32]| {
        // the ids as keys into their distinct values
        let distinct: Vec<i64> = (0..5).map(|v| v * 1000).collect();
        let keys = arrow_array::Int32Array::from(
            ids.iter()
                .map(|v| v.map(|v| (v / 1000) as i32))
                .collect::<Vec<_>>(),
        );
        let id = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(Int64Array::from(distinct)))
            .unwrap();
        // a null value in the dictionary stands for the missing x
        let xkeys = arrow_array::Int8Array::from(
            (0..n)
                .map(|i| Some(if i % 4 == 1 { 3 } else { (i % 3) as i8 }))
                .collect::<Vec<_>>(),
        );
        let xvalues = Float64Array::from(vec![Some(0.0), Some(0.25), Some(0.5), None]);
        let x = DictionaryArray::<Int8Type>::try_new(xkeys, Arc::new(xvalues)).unwrap();
        let dkeys =
            arrow_array::Int16Array::from((0..n).map(|i| (i % 6) as i16).collect::<Vec<_>>());
        let d = DictionaryArray::<Int16Type>::try_new(
            dkeys,
            Arc::new(Date32Array::from(batch_days.to_vec())),
        )
        .unwrap();
        RecordBatch::try_from_iter_with_nullable([
            ("id", Arc::new(id) as ArrayRef, true),
            ("x", Arc::new(x), true),
            ("d", Arc::new(d), true),
        ])
        .unwrap()
    };
    let write =
        |name: &str, batch: &RecordBatch| write_parquet_and_ipc(&scratch, name, batch, None, None);
    let plain = write("plain", &plain);
    let coded_files = write("coded", &coded(&(19_000..19_006).collect::<Vec<_>>()));
    let queries: [&[&str]; 4] = [
        &["--by", "id", "--agg", "count,sum:x,mean:x,max:d"],
        &["--by", "d", "--agg", "count,min:id,distinct:x,median:x"],
        &["--agg", "sum:id,distinct:id,min:d,max:d,count:x"],
        &[
            "--where",
            "id >= 2000 and d < '2022-01-04'",
            "--by",
            "x",
            "--agg",
            "count,sum:id",
        ],
    ];
    let mut files = plain[1..].to_vec();
    files.extend(coded_files);
    answer_as(&plain[0], &files, &queries);
    // 10000-01-01 in a dictionary of dates, named by its row (3: key 2)
    let far = coded(&[19_000, 19_001, 2_932_897, 19_003, 19_004, 19_005]);
    refused_at(
        &write("far", &far),
        "max:d",
        "row 3: column 'd'",
        "the year 10000",
    );
}

/// Asserts that every query of `queries` answers over each of `files` as
/// over `want`.
fn answer_as(want: &Path, files: &[PathBuf], queries: &[&[&str]]) {
    for query in queries {
        let want = run_on(want, query);
        want.expect_ok(&format!("{query:?} over the reference"));
        for file in files {
            let got = run_on(file, query);
            got.expect_ok(&format!("{query:?} over {}", file.display()));
            assert_eq!(got.stdout, want.stdout, "{query:?} over {}", file.display());
        }
    }
}

/// Asserts that `--agg AGG` over each of `files` fails, its message naming
/// `at` (`row N: column 'c'`) and saying `why`.
fn refused_at(files: &[PathBuf], agg: &str, at: &str, why: &str) {
    for file in files {
        let out = run_on(file, &["--agg", agg]);
        out.expect_code(1, why);
        assert!(
            out.stderr.contains(at) && out.stderr.contains(why),
            "{}",
            out.stderr
        );
    }
}

/// A time-of-day column (Arrow Time32/Time64, DuckDB's and Polars' TIME)
/// is read as its `HH:MM:SS[.fraction]` text, as the CSV pyarrow writes of
/// it reads: the same answers for min, max, distinct, keys and `--where`.
/// It was refused ("has Arrow type Time64(µs), which rayproc cannot
/// aggregate"). A time outside the day is an error naming its row.
#[test]
fn times_of_day_read_as_their_text_answer_as_the_csv() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, Time64MicrosecondArray};
    use std::sync::Arc;
    let scratch = Scratch::new();
    let micros: Vec<Option<i64>> = (0..50i64)
        .map(|i| (i % 9 != 4).then_some((i * 7919 % 86_400) * 1_000_000 + i * 37))
        .collect();
    let mut csv = String::from("t,v\n");
    for (i, t) in micros.iter().enumerate() {
        let t = t.map_or(String::new(), |t| {
            let s = t / 1_000_000;
            format!(
                "{:02}:{:02}:{:02}.{:06}",
                s / 3600,
                s / 60 % 60,
                s % 60,
                t % 1_000_000
            )
        });
        csv.push_str(&format!("{t},{i}\n"));
    }
    let csv = scratch.write("times.csv", csv);
    let write = |name: &str, micros: Vec<Option<i64>>| {
        let n = micros.len() as i64;
        let batch = RecordBatch::try_from_iter([
            (
                "t",
                Arc::new(Time64MicrosecondArray::from(micros)) as ArrayRef,
            ),
            ("v", Arc::new(Int64Array::from_iter_values(0..n))),
        ])
        .unwrap();
        write_parquet_and_ipc(&scratch, name, &batch, None, None)
    };
    let queries: [&[&str]; 3] = [
        &["--agg", "min:t,max:t,distinct:t,count:t"],
        &["--by", "t", "--agg", "sum:v"],
        &[
            "--where",
            "t >= '12:00' and t < '18:30:00.5'",
            "--agg",
            "count,min:t,max:v",
        ],
    ];
    answer_as(&csv, &write("times", micros), &queries);
    // 24:00:00 is past the day (row 2)
    let late = write("late", vec![Some(0), Some(86_400_000_000), None]);
    refused_at(&late, "max:t", "row 2: column 't'", "outside the day");
}

/// A Parquet column that is a dictionary of decimals stored as bytes
/// (pyarrow's `dictionary_encode()` of a decimal column; the arrow writer
/// stores decimals of precision above 18 so) or of booleans is read as its
/// values, as the same column in Arrow IPC and the plain column are. The
/// `parquet` crate's reader cannot give such a column as a dictionary: a
/// dictionary of decimals was refused ("unsupported data type for byte
/// array dictionary reader - Dictionary(Int32, Decimal128(20, 2))"), one of
/// booleans panicked in it ("entered unreachable code").
#[test]
fn parquet_dictionaries_of_decimals_and_booleans_read_as_their_values() {
    use arrow_array::types::{Int16Type, Int32Type, Int8Type};
    use arrow_array::{
        ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, RecordBatch, StringArray,
    };
    use std::sync::Arc;
    let scratch = Scratch::new();
    let n = 50usize;
    // cents: 1.50, 2.25, null, -0.75, 1000.01; whole numbers to 10^17
    let cents = [Some(150i128), Some(225), None, Some(-75), Some(100_001)];
    let wholes = [Some(7i128), None, Some(99_999_999_999_999_999), Some(-3)];
    let flags = [Some(true), Some(false), None];
    let d_keys: Vec<i32> = (0..n).map(|i| (i * 7 % 5) as i32).collect();
    let e_keys: Vec<i8> = (0..n).map(|i| (i % 4) as i8).collect();
    let b_keys: Vec<i16> = (0..n).map(|i| (i * 5 % 3) as i16).collect();
    let decimals = |values: Vec<Option<i128>>, p: u8, s: i8| {
        Decimal128Array::from(values)
            .with_precision_and_scale(p, s)
            .unwrap()
    };
    let k = StringArray::from_iter_values((0..n).map(|i| format!("k{}", i % 3)));
    let plain = RecordBatch::try_from_iter([
        ("k", Arc::new(k.clone()) as ArrayRef),
        (
            "d",
            Arc::new(decimals(
                d_keys.iter().map(|&i| cents[i as usize]).collect(),
                20,
                2,
            )),
        ),
        (
            "e",
            Arc::new(decimals(
                e_keys.iter().map(|&i| wholes[i as usize]).collect(),
                25,
                0,
            )),
        ),
        (
            "b",
            Arc::new(BooleanArray::from(
                b_keys
                    .iter()
                    .map(|&i| flags[i as usize])
                    .collect::<Vec<_>>(),
            )),
        ),
    ])
    .unwrap();
    let d = DictionaryArray::<Int32Type>::try_new(
        d_keys.into(),
        Arc::new(decimals(cents.to_vec(), 20, 2)),
    )
    .unwrap();
    let e = DictionaryArray::<Int8Type>::try_new(
        e_keys.into(),
        Arc::new(decimals(wholes.to_vec(), 25, 0)),
    )
    .unwrap();
    let b = DictionaryArray::<Int16Type>::try_new(
        b_keys.into(),
        Arc::new(BooleanArray::from(flags.to_vec())),
    )
    .unwrap();
    let coded = RecordBatch::try_from_iter_with_nullable([
        ("k", Arc::new(k) as ArrayRef, false),
        ("d", Arc::new(d), true),
        ("e", Arc::new(e), true),
        ("b", Arc::new(b), true),
    ])
    .unwrap();
    // row groups of 16 rows: a dictionary page in each
    let plain = write_parquet_and_ipc(&scratch, "plain", &plain, Some(16), None);
    let coded = write_parquet_and_ipc(&scratch, "coded", &coded, Some(16), None);
    let queries: [&[&str]; 4] = [
        &[
            "--agg",
            "count:d,min:d,max:d,sum:d,mean:d,distinct:d,null_count:d",
        ],
        &[
            "--agg",
            "count:e,min:e,max:e,sum:e,distinct:e,median:e,count:b,min:b,max:b",
        ],
        &["--by", "d", "--agg", "count,min:e,max:b"],
        &[
            "--where",
            "d > 1.6 and e < 100",
            "--by",
            "k,b",
            "--agg",
            "count,sum:d",
        ],
    ];
    let mut files = plain[1..].to_vec();
    files.extend(coded);
    answer_as(&plain[0], &files, &queries);
}

// ---------------------------------------------------------------- format detection

/// `rows` rows of an integer column `x` (0, 1, 2, ...) and a text
/// column `k`.
pub(crate) fn small_batch(rows: i64) -> arrow_array::RecordBatch {
    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;
    let keys = (0..rows).map(|i| format!("key{}", i % 7));
    arrow_array::RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
        ),
        ("k", Arc::new(StringArray::from_iter_values(keys))),
    ])
    .unwrap()
}

/// A Parquet or Arrow IPC file cut short (an interrupted copy) starts as
/// one but lacks the footer at its end: it was read as CSV, so `count`
/// printed a number with exit 0 and other queries named its binary bytes
/// as unknown columns. It is an error naming the file, from any cut on.
#[test]
fn truncated_parquet_and_ipc_files_are_errors_naming_them() {
    let scratch = Scratch::new();
    let [parquet, ipc] =
        write_parquet_and_ipc(&scratch, "whole", &small_batch(2000), Some(500), Some(500));
    for (whole, what) in [(parquet, "Parquet"), (ipc, "an Arrow IPC file")] {
        let bytes = std::fs::read(&whole).unwrap();
        let ext = whole.extension().unwrap().to_str().unwrap();
        for cut in [8, 100, bytes.len() / 2, bytes.len() - 1] {
            let cut_file = scratch.write(&format!("cut{cut}.{ext}"), &bytes[..cut]);
            for agg in ["count", "sum:x"] {
                let r = run_on(&cut_file, &["--agg", agg]);
                r.expect_code(1, &format!("{} --agg {agg}", cut_file.display()));
                let why = format!(
                    "{}: starts as {what} but does not end with its footer: a truncated or \
                     partly copied file?",
                    cut_file.display()
                );
                assert!(r.stderr.contains(&why), "{}", r.stderr);
            }
        }
    }
}

/// A Parquet page that cannot be decoded (a snappy block damaged in the
/// middle of a column chunk) was named with the crate's words alone
/// ("x.parquet: Parquet argument error: External: snappy: corrupt
/// input"), where the file's other errors name a row: it now names the row
/// group, its rows and the damaged column, and a query that does not read
/// that column is not stopped by it.
#[test]
fn a_damaged_parquet_page_names_its_row_group_and_column() {
    use arrow_array::{Int64Array, RecordBatch, StringArray};
    use parquet::file::reader::FileReader;
    use std::sync::Arc;
    let scratch = Scratch::new();
    let n = 4_000;
    let batch = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Int64Array::from_iter_values(0..n)) as arrow_array::ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("text number {i} of many")),
            )),
        ),
    ])
    .unwrap();
    let path = scratch.path("damaged.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000))
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .build();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    // the middle of column s's chunk in row group 2
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap())
            .unwrap();
    let chunk = reader.metadata().row_group(2).column(1).clone();
    let (start, len) = chunk.byte_range();
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = (start + len / 2) as usize;
    bytes[mid..mid + 24].fill(0xff);
    std::fs::write(&path, &bytes).unwrap();
    for agg in ["count:s", "max:s,sum:x"] {
        let r = run_on(&path, &["--agg", agg, "-p", "1"]);
        r.expect_code(1, agg);
        let want = format!(
            "{}: row group 2 (counted from 0; rows 2001 to 3000), column 's' cannot be decoded, \
             the file is damaged: ",
            path.display()
        );
        assert!(r.stderr.contains(&want), "{agg}: {}", r.stderr);
    }
    // x's pages are whole
    let r = run_on(&path, &["--agg", "sum:x,count"]);
    r.expect_code(0, "x alone");
    assert_eq!(r.stdout, format!("sum_x,count\n{},{n}\n", n * (n - 1) / 2));
}

/// Writes `batches` as an Arrow IPC stream, its dictionaries sent again
/// where they change (`Resend`) or extended by deltas (`Delta`).
fn write_ipc_stream(
    path: &Path,
    batches: &[arrow_array::RecordBatch],
    handling: arrow_ipc::writer::DictionaryHandling,
) {
    let options = arrow_ipc::writer::IpcWriteOptions::default().with_dictionary_handling(handling);
    let file = std::fs::File::create(path).unwrap();
    let mut w =
        arrow_ipc::writer::StreamWriter::try_new_with_options(file, &batches[0].schema(), options)
            .unwrap();
    for batch in batches {
        w.write(batch).unwrap();
    }
    w.finish().unwrap();
}

/// An Arrow IPC stream (pyarrow's `ipc.new_stream`, Polars'
/// `write_ipc_stream`, `.arrows`) was read as CSV with exit 0 until stop
/// 74, then refused; it is read as its file format would be, for every
/// partition count, with or without rows.
#[test]
fn an_arrow_ipc_stream_is_read_as_the_file_format_is() {
    let scratch = Scratch::new();
    for rows in [1000, 0] {
        let batch = small_batch(rows);
        let [_, file] =
            write_parquet_and_ipc(&scratch, &format!("f{rows}"), &batch, None, Some(300));
        let stream = scratch.path(&format!("s{rows}.arrows"));
        let batches: Vec<_> = if rows == 0 {
            vec![batch.clone()]
        } else {
            (0..rows)
                .step_by(300)
                .map(|at| batch.slice(at as usize, 300.min(rows - at) as usize))
                .collect()
        };
        write_ipc_stream(&stream, &batches, Default::default());
        for agg in ["count", "sum:x,mean:x,min:k,distinct:k"] {
            let want = run_on(&file, &["--agg", agg, "--by", "k"]);
            want.expect_ok("the IPC file");
            for p in ["1", "2", "4"] {
                let got = run_on(&stream, &["--agg", agg, "--by", "k", "--partitions", p]);
                got.expect_ok("the IPC stream");
                assert_eq!(
                    got.stdout, want.stdout,
                    "{rows} rows, {agg}, --partitions {p}"
                );
            }
        }
    }
}

/// An Arrow IPC stream in the framing before Arrow 0.15 (no continuation
/// marker; `pyarrow.ipc.IpcWriteOptions(use_legacy_format=True)` still
/// writes it) was read as CSV: a 3-row stream counted 4 rows, exit 0. It
/// is read as the current format is, cut short it is an error, and from a
/// pipe or compressed it is refused as any IPC input is.
#[test]
fn a_legacy_arrow_ipc_stream_is_read_as_the_current_format_is() {
    let scratch = Scratch::new();
    let batch = small_batch(1000);
    let [_, file] = write_parquet_and_ipc(&scratch, "f", &batch, None, Some(300));
    let stream = scratch.path("legacy.arrows");
    {
        let options =
            arrow_ipc::writer::IpcWriteOptions::try_new(8, true, arrow_ipc::MetadataVersion::V4)
                .unwrap();
        let out = std::fs::File::create(&stream).unwrap();
        let mut w =
            arrow_ipc::writer::StreamWriter::try_new_with_options(out, &batch.schema(), options)
                .unwrap();
        for at in (0..1000).step_by(300) {
            w.write(&batch.slice(at, 300.min(1000 - at))).unwrap();
        }
        w.finish().unwrap();
    }
    let bytes = std::fs::read(&stream).unwrap();
    assert_ne!(bytes[..4], [0xff; 4], "the legacy framing");
    for agg in ["count", "sum:x,mean:x,min:k,distinct:k"] {
        let want = run_on(&file, &["--agg", agg, "--by", "k"]);
        want.expect_ok("the IPC file");
        for p in ["1", "3"] {
            let got = run_on(&stream, &["--agg", agg, "--by", "k", "--partitions", p]);
            got.expect_ok("the legacy stream");
            assert_eq!(got.stdout, want.stdout, "{agg}, --partitions {p}");
        }
    }
    let cut = scratch.write("cut.arrows", &bytes[..bytes.len() - 20]);
    let r = run_on(&cut, &["--agg", "count"]);
    r.expect_code(1, "a cut legacy stream");
    assert!(
        r.stderr.contains("not a valid Arrow IPC stream"),
        "{}",
        r.stderr
    );
    let r = run_with_stdin(["run", "--input", "-", "--agg", "count"], Some(&bytes));
    r.expect_code(1, "a legacy stream on stdin");
    assert!(
        r.stderr
            .contains("holds Arrow IPC but comes on standard input"),
        "{}",
        r.stderr
    );
}

/// Files in formats rayproc does not read were read as CSV: a Feather
/// version 1 file of 3 rows counted 0 rows and an ORC file 19, with exit 0,
/// a ZIP archive or a bzip2 file its binary "lines". Each is an error
/// naming the file and the format, and what to do; text that only begins
/// like one stays CSV.
#[test]
fn files_of_formats_rayproc_does_not_read_are_refused_naming_them() {
    let scratch = Scratch::new();
    let junk: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
    let with = |magic: &[u8]| [magic, &junk[..]].concat();
    let files = [
        (fixture("feather_v1.feather"), "a Feather version 1 file"),
        (fixture("orc.orc"), "an ORC file"),
        (scratch.write("a.avro", with(b"Obj\x01")), "an Avro file"),
        (
            scratch.write("book.xlsx", with(b"PK\x03\x04")),
            "a ZIP archive",
        ),
        (
            scratch.write("t.bz2", with(b"BZh91AY&SY")),
            "compressed with bzip2",
        ),
        (
            scratch.write("t.xz", with(b"\xfd7zXZ\0")),
            "compressed with xz",
        ),
        (
            scratch.write("t.lz4", with(b"\x04\x22\x4d\x18")),
            "compressed with LZ4",
        ),
    ];
    for (path, what) in &files {
        for agg in ["count", "sum:x"] {
            let r = run_on(path, &["--agg", agg]);
            r.expect_code(1, &path.display().to_string());
            let said = format!("{}: is {what}", path.display());
            assert!(r.stderr.contains(&said), "{}", r.stderr);
        }
    }
    // from a pipe, by the magic that no text opens with
    let r = run_with_stdin(
        ["run", "--input", "-", "--agg", "count"],
        Some(&with(b"PK\x03\x04")),
    );
    r.expect_code(1, "a zip on stdin");
    assert!(
        r.stderr.contains("<stdin>: is a ZIP archive"),
        "{}",
        r.stderr
    );
    // text that begins as a textual magic does, but does not end as one
    for text in ["FEA1,x\n1,2\n", "ORC,x\n1,2\n", "BZh,x\n1,2\n"] {
        let path = scratch.write("t.csv", text);
        run_on(&path, &["--agg", "count"]).expect_ok(text);
    }
}

/// Inputs whose first line holds NUL bytes: an Arrow IPC stream whose
/// first byte is damaged (no longer its marker), and UTF-16 text without
/// a byte-order mark.
fn binary_first_lines() -> [(&'static str, Vec<u8>); 2] {
    let mut stream = std::fs::read(fixture("uuid_dict_pyarrow.arrows")).unwrap();
    stream[0] = 0xfe;
    let utf16: Vec<u8> = "id,x\n1,2\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    [("damaged.arrows", stream), ("utf16.csv", utf16)]
}

/// Arrow IPC files and streams whose first bytes are damaged were read as
/// CSV: a file whose magic lost a byte (`ARROW9`, its end intact) counted
/// 11 "rows" with exit 0, and a stream whose first byte changed counted 10.
/// The file is refused as a damaged Arrow IPC file (its closing magic says
/// so), and a header holding a NUL byte, which no CSV text does, is refused
/// whatever the input (a file, a pipe, UTF-16 text); NUL bytes in data rows
/// are read as stored, as before.
#[test]
fn damaged_arrow_starts_and_binary_headers_are_refused() {
    let scratch = Scratch::new();
    let mut file = std::fs::read(fixture("uuid_dict_pyarrow.arrow")).unwrap();
    file[5] = b'9';
    let file = scratch.write("damaged.arrow", &file);
    for agg in ["count", "distinct:id"] {
        run_on(&file, &["--agg", agg]).expect_error(
            agg,
            &format!(
                "{}: is a damaged Arrow IPC file: it ends with Arrow's magic (ARROW1)",
                file.display()
            ),
        );
    }
    for (name, bytes) in binary_first_lines() {
        let path = scratch.write(name, &bytes);
        run_on(&path, &["--agg", "count"]).expect_error(
            name,
            &format!("{}:1: the header holds a NUL byte", path.display()),
        );
        run_with_stdin(["run", "--input", "-", "--agg", "count"], Some(&bytes))
            .expect_error(name, "<stdin>:1: the header holds a NUL byte");
    }
    // the byte is the header's own, after blank lines and a BOM
    for text in [&b"\n\nk,\0x\na,1\n"[..], b"\xef\xbb\xbfk,\0x\na,1\n"] {
        let path = scratch.write("nul_later.csv", text);
        let line = if text[0] == b'\n' { 3 } else { 1 };
        run_on(&path, &["--agg", "count"]).expect_error(
            "NUL in a later header",
            &format!(
                "{}:{line}: the header holds a NUL byte (its byte 3, counted from 1)",
                path.display()
            ),
        );
    }
    // text that ends as an Arrow IPC or Parquet file does, binary bytes at
    // its start or not (a Hive table's `\x01` delimiter, colour codes)
    for (text, delimiter) in [
        ("k\x01x\nab\x01ARROW1", "\x01"),
        ("k,x\n\x1b[1ma\x1b[0m,uploaded ARROW1", ","),
        ("k,x\n\x1b[1ma\x1b[0m,uploaded PAR1", ","),
    ] {
        let path = scratch.write("ends_as_magic.csv", text);
        let r = run_on(
            &path,
            &["--delimiter", delimiter, "--agg", "count,distinct:x"],
        );
        r.expect_code(0, text);
        assert_eq!(r.stdout, "count,distinct_x\n1,1\n");
    }
    // NUL in the rows after the first line, with a header or without
    let path = scratch.write("nul_rows.csv", "id,x\na\0b,1\n\0,2\n");
    let r = run_on(&path, &["--agg", "count,distinct:id,sum:x"]);
    r.expect_code(0, "NUL in rows");
    assert_eq!(r.stdout, "count,distinct_id,sum_x\n2,2,3\n");
    let r = run_on(&path, &["--no-header", "--agg", "count,distinct:1"]);
    r.expect_code(0, "NUL in later rows, no header");
    assert_eq!(r.stdout, "count,distinct_1\n3,3\n");
}

/// With `--no-header`, a damaged Arrow IPC stream or UTF-16 text without a
/// byte-order mark was read as CSV with exit 0 (the stream's first byte
/// changed: 10 "rows"), as the NUL bytes of its first line were data. The
/// first record tells text from binary with or without a header: a NUL
/// byte there is refused, from a file, a pipe or a compressed input,
/// naming its line (after blank lines too); a ragged row is then counted
/// against the first record, not "the header".
#[test]
fn no_header_binary_first_lines_are_refused() {
    let scratch = Scratch::new();
    let [stream, utf16] = binary_first_lines();
    for (name, bytes) in [
        stream,
        utf16,
        ("nul_first_row.csv", b"a\0b,1\n\0,2\n".to_vec()),
    ] {
        let path = scratch.write(name, &bytes);
        let args = ["--no-header", "--agg", "count"];
        run_on(&path, &args).expect_error(
            name,
            &format!("{}:1: the first record holds a NUL byte", path.display()),
        );
        run_with_stdin(
            ["run", "--input", "-", "--no-header", "--agg", "count"],
            Some(&bytes),
        )
        .expect_error(name, "<stdin>:1: the first record holds a NUL byte");
        let gz = scratch.path("first.csv.gz");
        let status = std::process::Command::new("gzip")
            .arg("-c")
            .arg(&path)
            .stdout(std::fs::File::create(&gz).unwrap())
            .status()
            .unwrap();
        assert!(status.success());
        run_on(&gz, &args).expect_error(
            name,
            &format!("{}:1: the first record holds a NUL byte", gz.display()),
        );
    }
    // after blank lines, the first record's own line is named
    let path = scratch.write("blank_first.csv", "\n\na\0,1\n");
    run_on(&path, &["--no-header", "--agg", "count"]).expect_error(
        "blank lines first",
        &format!("{}:3: the first record holds a NUL byte", path.display()),
    );
    let path = scratch.write("ragged.csv", "a,b\n1\n");
    run_on(&path, &["--no-header", "--agg", "count"]).expect_error(
        "ragged",
        &format!(
            "{}:2: expected 2 fields (as in the first record), found 1: none for column '2'",
            path.display()
        ),
    );
    run_on(&path, &["--agg", "count"]).expect_error(
        "ragged",
        &format!(
            "{}:2: expected 2 fields (as in the header), found 1: none for column 'b'",
            path.display()
        ),
    );
}

/// UTF-16 and UTF-32 text (Excel's "Unicode Text", PowerShell's
/// `Out-File`) was read as CSV: with a header its NUL bytes were refused
/// as binary, with `--no-header` big-endian UTF-16 counted its lines with
/// exit 0, and UTF-16 of CJK text, which has no NUL byte, was read as
/// bytes. Its byte-order mark, which no UTF-8 text opens with, tells it:
/// the error names the encoding and the `iconv` command that converts it,
/// from a file, a pipe or a compressed input, header or not.
#[test]
fn utf16_and_utf32_text_is_told_by_its_mark() {
    let scratch = Scratch::new();
    let text = "\u{feff}id,名\n1,值\n2,3\n";
    let le16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let le32: Vec<u8> = text
        .chars()
        .flat_map(|c| (c as u32).to_le_bytes())
        .collect();
    let be32: Vec<u8> = text
        .chars()
        .flat_map(|c| (c as u32).to_be_bytes())
        .collect();
    for (bytes, encoding, mark) in [
        (
            le16,
            "UTF-16",
            "little-endian: it opens with the byte-order mark FF FE)",
        ),
        (
            be16,
            "UTF-16",
            "big-endian: it opens with the byte-order mark FE FF)",
        ),
        (
            le32,
            "UTF-32",
            "little-endian: it opens with the byte-order mark FF FE 00 00)",
        ),
        (
            be32,
            "UTF-32",
            "big-endian: it opens with the byte-order mark 00 00 FE FF)",
        ),
    ] {
        let path = scratch.write("wide.csv", &bytes);
        let convert = format!("`iconv -f {encoding} -t UTF-8 FILE > NEW.csv`");
        for header in [&[][..], &["--no-header"]] {
            let args: Vec<&str> = header.iter().copied().chain(["--agg", "count"]).collect();
            run_on(&path, &args).expect_error(
                mark,
                &format!(
                    "{}: is {encoding} text ({mark}; rayproc reads CSV as UTF-8: convert it \
                     first ({convert})",
                    path.display()
                ),
            );
            let mut piped = vec!["run", "--input", "-"];
            piped.extend(&args);
            run_with_stdin(piped, Some(&bytes))
                .expect_error(mark, &format!("<stdin>: is {encoding} text ({mark}"));
        }
        let zst = scratch.path("wide.csv.zst");
        let status = std::process::Command::new("zstd")
            .args(["-q", "-f", "-o"])
            .arg(&zst)
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        run_on(&zst, &["--agg", "count"]).expect_error(
            mark,
            &format!(
                "{}: holds {encoding} text compressed with zstd ({}, once decompressed); \
                 rayproc reads CSV as UTF-8: convert it first (`zstd -dc FILE | iconv -f \
                 {encoding} -t UTF-8 > NEW.csv`)",
                zst.display(),
                mark.trim_end_matches(')')
            ),
        );
    }
    // Latin-1 text that opens with `þÿ` (its line ends are single bytes)
    // is read as CSV, as before
    let path = scratch.write("latin1.csv", b"\xfe\xffid,name\n1,Jos\xe9\n");
    let r = run_on(&path, &["--agg", "count"]);
    r.expect_code(0, "Latin-1 opening as a mark");
    assert_eq!(r.stdout, "count\n1\n");
    // UTF-8 with its own mark (`EF BB BF`) is read, as before
    let path = scratch.write("utf8.csv", "\u{feff}id,名\n1,值\n2,3\n");
    let r = run_on(&path, &["--agg", "count,max:名"]);
    r.expect_code(0, "UTF-8 with a mark");
    assert_eq!(r.stdout, "count,max_名\n2,值\n");
}

/// A stream may replace a dictionary between record batches (pyarrow does
/// whenever a chunk's dictionary differs) or extend it by a delta: each
/// batch is decoded with the dictionaries in force where it stands, never
/// with a later replacement.
#[test]
fn an_arrow_ipc_streams_dictionaries_are_those_in_force_at_each_batch() {
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Int64Array, RecordBatch, StringArray};
    use arrow_ipc::writer::DictionaryHandling;
    use std::sync::Arc;
    let scratch = Scratch::new();
    let batch = |keys: &[i32], values: &[&str], x: &[i64]| {
        let k = DictionaryArray::<Int32Type>::try_new(
            keys.iter().copied().collect(),
            Arc::new(StringArray::from(values.to_vec())),
        )
        .unwrap();
        RecordBatch::try_from_iter([
            ("k", Arc::new(k) as ArrayRef),
            ("x", Arc::new(Int64Array::from(x.to_vec()))),
        ])
        .unwrap()
    };
    // the second batch's dictionary replaces the first's: its key 0 is z
    let replaced = [
        batch(&[0, 1, 0], &["a", "b"], &[1, 2, 3]),
        batch(&[0, 0, 1], &["z", "a"], &[10, 20, 30]),
        batch(&[1, 0], &["z", "a"], &[100, 200]),
    ];
    // the second and third extend the first's (`a b`, then `c`, then `d`)
    let extended = [
        batch(&[0, 1, 0], &["a", "b"], &[1, 2, 3]),
        batch(&[0, 1, 2], &["a", "b", "c"], &[10, 20, 30]),
        batch(&[3, 2], &["a", "b", "c", "d"], &[100, 200]),
    ];
    for (batches, handling, want) in [
        (
            &replaced,
            DictionaryHandling::Resend,
            "k,sum_x,count\na,134,4\nb,2,1\nz,230,3\n",
        ),
        (
            &extended,
            DictionaryHandling::Resend,
            "k,sum_x,count\na,14,3\nb,22,2\nc,230,2\nd,100,1\n",
        ),
        (
            &extended,
            DictionaryHandling::Delta,
            "k,sum_x,count\na,14,3\nb,22,2\nc,230,2\nd,100,1\n",
        ),
    ] {
        let path = scratch.path("d.arrows");
        write_ipc_stream(&path, batches, handling);
        for p in ["1", "3"] {
            let r = run_on(
                &path,
                &["--by", "k", "--agg", "sum:x,count", "--partitions", p],
            );
            r.expect_ok("a stream of dictionaries");
            assert_eq!(r.stdout, want, "{handling:?}, --partitions {p}");
        }
    }
}

/// A stream cut anywhere (a writer that died, an interrupted copy) is an
/// error naming it, not the rows before the cut: even a cut at a message's
/// end, which only the missing end-of-stream marker tells. So are bytes
/// after the marker (two streams concatenated).
#[test]
fn an_arrow_ipc_stream_cut_short_or_followed_by_bytes_is_an_error() {
    let scratch = Scratch::new();
    let whole = scratch.path("whole.arrows");
    let batch = small_batch(900);
    let batches: Vec<_> = (0..3).map(|i| batch.slice(i * 300, 300)).collect();
    write_ipc_stream(&whole, &batches, Default::default());
    let bytes = std::fs::read(&whole).unwrap();
    let mut cuts: Vec<usize> = (12..bytes.len()).step_by(97).collect();
    cuts.push(bytes.len() - 8); // just before the end-of-stream marker
    cuts.push(bytes.len() - 4);
    for cut in cuts {
        let path = scratch.write(&format!("cut{cut}.arrows"), &bytes[..cut]);
        let r = run_on(&path, &["--agg", "count"]);
        r.expect_code(1, &format!("cut at {cut}"));
        let named = format!("{}: not a valid Arrow IPC", path.display());
        let started = format!("{}: starts as", path.display());
        assert!(
            r.stderr.contains(&named) || r.stderr.contains(&started),
            "cut at {cut}: {}",
            r.stderr
        );
    }
    let end = scratch.write("end.arrows", &bytes[..bytes.len() - 8]);
    let r = run_on(&end, &["--agg", "count"]);
    assert!(
        r.stderr
            .contains("ends without the end-of-stream marker (truncated?)"),
        "{}",
        r.stderr
    );
    let twice = scratch.write("twice.arrows", [&bytes[..], &bytes[..]].concat());
    let r = run_on(&twice, &["--agg", "count"]);
    r.expect_code(1, "two streams");
    assert!(
        r.stderr.contains("bytes after the end-of-stream marker"),
        "{}",
        r.stderr
    );
}

/// A Parquet or Arrow IPC file compressed whole (`x.parquet.gz`,
/// `x.arrow.zst`) was decompressed and read as CSV, and failed on its
/// binary bytes ("expected 1 fields"). Told by its decompressed start, it
/// is an error naming the file and the way out, from a file, a folder or a
/// pattern (whatever the name), standard input and `split`; a compressed
/// CSV that merely begins `PAR1` stays CSV.
#[test]
fn compressed_parquet_and_ipc_files_are_errors_naming_them() {
    let scratch = Scratch::new();
    let batch = small_batch(1000);
    let [parquet, file] = write_parquet_and_ipc(&scratch, "t", &batch, None, Some(300));
    let stream = scratch.path("t.arrows");
    write_ipc_stream(&stream, &[batch], Default::default());
    let typed = [
        (parquet, "a Parquet file", "Parquet"),
        (file, "an Arrow IPC file", "Arrow IPC"),
        (stream, "an Arrow IPC stream", "Arrow IPC"),
    ];
    let folder = scratch.path("lake/year=2026");
    std::fs::create_dir_all(&folder).unwrap();
    for (path, what, format) in typed {
        let bytes = std::fs::read(&path).unwrap();
        for (tool, ext) in [("gzip", "gz"), ("zstd", "zst")] {
            let packed = if ext == "gz" {
                gzip(&bytes)
            } else {
                zstd(&bytes)
            };
            let name = path.file_name().unwrap().to_str().unwrap();
            let named = scratch.write(&format!("{name}.{ext}"), &packed);
            // (a name that says nothing, shown escaped)
            let plain = scratch.write(&format!("pla\nin.{ext}"), &packed);
            let listed = folder.join("part-0");
            std::fs::write(&listed, &packed).unwrap();
            let why = |name: &str| {
                format!(
                    "rayproc: error: {name}: holds {what} compressed with {tool}; rayproc reads \
                     {format} only uncompressed ({format} compresses its own data): decompress \
                     it into a file first, with `{tool} -d`\n"
                )
            };
            let query = ["--agg", "count"];
            for (r, name) in [
                (run_on(&named, &query), named.display().to_string()),
                (
                    run_on(&plain, &query),
                    plain.display().to_string().replace('\n', "\\n"),
                ),
                (run_on(&folder, &query), listed.display().to_string()),
                (
                    run_on(&folder.join("*"), &query),
                    listed.display().to_string(),
                ),
                (
                    run_with_stdin(["run", "-i", "-", "--agg", "count"], Some(&packed)),
                    "<stdin>".to_string(),
                ),
            ] {
                r.expect_code(1, &name);
                assert_eq!(r.stderr, why(&name), "{name}");
            }
            let store = scratch.path("s");
            let r = run([
                "split",
                "-i",
                named.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
            ]);
            r.expect_code(1, "split");
            assert_eq!(r.stderr, why(&named.display().to_string()), "split");
            assert!(!store.exists(), "no store written");
        }
    }
    let magic = scratch.write("magic.csv.gz", gzip(b"PAR10,b\n1,2\n3,4\n"));
    let r = run_on(&magic, &["--agg", "count,sum:b"]);
    assert_eq!(
        r.expect_ok("a CSV beginning PAR1").stdout,
        "count,sum_b\n2,6\n"
    );
}

/// A CSV whose header merely begins with a magic (`PAR1`, `ARROW1`) is
/// CSV through every kind of input: a pipe's start was told by `PAR1`
/// alone, so such a CSV read from a file or standard input was refused as
/// Parquet through `<(cat file)` or a FIFO.
#[cfg(unix)]
#[test]
fn csv_headers_that_begin_like_a_magic_are_csv_through_every_input() {
    let scratch = Scratch::new();
    for (i, text) in ["PAR10,b\n1,2\n3,4\n", "ARROW1,b\n1,2\n3,4\n"]
        .into_iter()
        .enumerate()
    {
        let file = scratch.write(&format!("magic{i}.csv"), text);
        let query = ["--agg", "count,sum:b"];
        let want = "count,sum_b\n2,6\n";
        run_on(&file, &query).expect_ok("a file");
        assert_eq!(run_on(&file, &query).stdout, want);
        let stdin = run_with_stdin(
            ["run", "-i", "-"].into_iter().chain(query),
            Some(text.as_bytes()),
        );
        stdin.expect_ok("standard input");
        assert_eq!(stdin.stdout, want);
        let fifo = scratch.path(&format!("magic{i}.fifo"));
        mkfifo(&fifo);
        let writer = feed_lossy(&fifo, text.as_bytes().to_vec());
        let r = run_on(&fifo, &query);
        release(&fifo, writer);
        r.expect_ok("a FIFO");
        assert_eq!(r.stdout, want);
    }
}
