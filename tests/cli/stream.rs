//! Streamed inputs (issue 14 §1, §2, §4): standard input and pipes are read
//! in blocks while they arrive, compressed inputs (gzip, zstd: by their
//! magic bytes) are decompressed on the fly, and `--no-header` names the
//! columns `1`, `2`, ... The contract: the same output bytes and the same
//! errors (`<stdin>:LINE:` for the file's `FILE:LINE:`) as for the same
//! bytes in a plain file, at every block size and thread count.
//!
//! `RAYPROC_STREAM_BLOCK` sets the block size, so that tiny blocks put
//! block boundaries everywhere: inside quoted newlines, between the CR and
//! the LF of a CRLF, in blank lines.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

/// Runs `rayproc ARGS` with `stdin` and the block size `block`.
fn run_streamed(args: &[&str], stdin: &[u8], block: usize) -> RunBytes {
    let mut cmd = rayproc();
    cmd.env("RAYPROC_STREAM_BLOCK", block.to_string())
        .args(args)
        .write_stdin(stdin.to_vec());
    let out = cmd.output().expect("rayproc runs");
    RunBytes {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `run --input PATH ARGS...` as arguments.
fn args_for<'a>(input: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["run", "--input", input];
    all.extend_from_slice(rest);
    all
}

/// The file's answer (stdout, code, stderr with the file's name made
/// `<stdin>`) for `text` under `args`.
fn file_answer(scratch: &Scratch, text: &[u8], args: &[&str]) -> RunBytes {
    let path = scratch.write("same.csv", text);
    let p = path.to_str().unwrap();
    let mut r = run_bytes_with_stdin(args_for(p, args), None);
    r.stderr = r.stderr.replace(p, "<stdin>");
    r
}

#[track_caller]
fn assert_same(got: &RunBytes, want: &RunBytes, what: &str) {
    assert_eq!(
        (got.code, &got.stderr),
        (want.code, &want.stderr),
        "{what}: code and stderr"
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout),
        "{what}: stdout"
    );
}

/// A CSV text of `rows` records with every kind of line end, blank lines,
/// quoted fields holding newlines, CRs and delimiters, and escapes.
fn tricky_csv(rng: &mut Lcg, rows: usize) -> Vec<u8> {
    let mut t = b"k,x,note\n".to_vec();
    for i in 0..rows {
        let k = ["a", "b", "\"c\nd\"", "\"e,\"\"f\"\"\""][rng.below(4) as usize];
        let x = match rng.below(6) {
            0 => String::new(),
            1 => format!("\"{}\"", i),
            _ => format!("{}.{}", i, rng.below(100)),
        };
        let note = match rng.below(5) {
            0 => "\"line\none\r\ntwo\rthree\"".to_string(),
            1 => "\"\"\"\"".to_string(),
            2 => "5'11\" tall".to_string(),
            _ => format!("n{i}"),
        };
        t.extend_from_slice(format!("{k},{x},{note}").as_bytes());
        t.extend_from_slice(
            [&b"\n"[..], b"\r\n", b"\r", b"\n\n", b"\r\n\r\n"][rng.below(5) as usize],
        );
    }
    t
}

const QUERIES: &[&[&str]] = &[
    &["--agg", "count,sum:x,min:note,max:note,mean:x"],
    &["--by", "k", "--agg", "count,sum:x,max:x,distinct:note"],
];

#[test]
fn stdin_at_any_block_size_answers_as_the_file() {
    let scratch = Scratch::new();
    let mut rng = Lcg(14);
    for round in 0..6 {
        let text = tricky_csv(&mut rng, 40 + 30 * round);
        for query in QUERIES {
            let want = file_answer(&scratch, &text, query);
            assert_eq!(want.code, 0, "{}", want.stderr);
            for _ in 0..4 {
                let block = 1 + rng.below(120) as usize;
                let threads = (1 + rng.below(4)).to_string();
                let mut args = args_for("-", query);
                args.extend_from_slice(&["--threads", &threads]);
                let got = run_streamed(&args, &text, block);
                assert_same(
                    &got,
                    &want,
                    &format!("round {round} block {block} {query:?}"),
                );
            }
        }
    }
}

/// A lone `distinct` on 8 or more threads is grouped by its column, from
/// a stream too: the answer is the file's on one thread.
#[test]
fn distinct_alone_on_many_threads_answers_from_stdin_as_the_file() {
    let scratch = Scratch::new();
    let mut rng = Lcg(15);
    let text = tricky_csv(&mut rng, 3000);
    for agg in ["distinct:x", "distinct:note", "distinct:k"] {
        let one = ["--agg", agg, "--threads", "1"];
        let want = file_answer(&scratch, &text, &one);
        assert_eq!(want.code, 0, "{}", want.stderr);
        for (threads, block) in [("8", 700), ("12", 4096)] {
            let mut args = args_for("-", &["--agg", agg]);
            args.extend_from_slice(&["--threads", threads]);
            let got = run_streamed(&args, &text, block);
            assert_same(&got, &want, &format!("{agg} on {threads} threads"));
        }
    }
}

#[test]
fn errors_on_stdin_are_the_files_errors() {
    let scratch = Scratch::new();
    let mut rng = Lcg(7);
    // a bad record at a random place, after lines of every kind: a field
    // too many, a non-number, a quoted field never closed
    let bads: &[&[u8]] = &[b"z,1,2,3", b"a,oops,n", b"a,1,\"open\nand on"];
    for bad in bads {
        for _ in 0..4 {
            let rows = 30 + rng.below(40) as usize;
            let mut text = tricky_csv(&mut rng, rows);
            text.extend_from_slice(bad);
            if !bad.contains(&b'"') {
                // (an open quote runs to the end of the input)
                text.extend_from_slice(b"\n");
                text.extend_from_slice(&tricky_csv(&mut rng, 20)[9..]);
            }
            let query: &[&str] = &["--agg", "sum:x"];
            let want = file_answer(&scratch, &text, query);
            assert_eq!(want.code, 1, "the file fails");
            for threads in ["1", "3"] {
                let block = 1 + rng.below(90) as usize;
                let mut args = args_for("-", query);
                args.extend_from_slice(&["--threads", threads]);
                let got = run_streamed(&args, &text, block);
                assert_same(&got, &want, &format!("block {block}, threads {threads}"));
            }
        }
    }
}

#[test]
fn a_slow_producer_is_read_as_it_writes() {
    let scratch = Scratch::new();
    let mut rng = Lcg(3);
    let text = tricky_csv(&mut rng, 400);
    let query: &[&str] = &["--by", "k", "--agg", "count,sum:x,max:note"];
    let want = file_answer(&scratch, &text, query);
    let mut child = Command::new(bin_path())
        .args(args_for("-", query))
        .args(["--threads", "2"])
        .env("RAYPROC_STREAM_BLOCK", "256")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rayproc starts");
    let mut stdin = child.stdin.take().unwrap();
    let pieces = text.clone();
    let writer = std::thread::spawn(move || {
        let mut rng = Lcg(5);
        let mut at = 0;
        while at < pieces.len() {
            let n = (1 + rng.below(97) as usize).min(pieces.len() - at);
            stdin.write_all(&pieces[at..at + n]).unwrap();
            stdin.flush().unwrap();
            at += n;
            if rng.below(8) == 0 {
                std::thread::sleep(Duration::from_millis(15));
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
}

#[test]
fn a_record_longer_than_a_block_grows_it() {
    let long = "y".repeat(5000);
    let text = format!("a,b\n1,\"{long}\n{long}\"\n2,x\r\n3,{long}\r");
    let scratch = Scratch::new();
    let query: &[&str] = &["--agg", "count,sum:a,max:b"];
    let want = file_answer(&scratch, text.as_bytes(), query);
    for block in [1, 7, 100] {
        let got = run_streamed(&args_for("-", query), text.as_bytes(), block);
        assert_same(&got, &want, &format!("block {block}"));
    }
}

#[test]
fn non_utf8_text_on_stdin_fails_json_naming_the_column() {
    // a stream cannot be read again to find the line: the error names the
    // column and the value
    let text = b"k,x\na,1\n\xff,2\n";
    let r = run_streamed(
        &[
            "run", "-i", "-", "--by", "k", "--agg", "sum:x", "-f", "json",
        ],
        text,
        4,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("column 'k': invalid UTF-8"),
        "{}",
        r.stderr
    );
    // csv output takes any bytes
    let r = run_streamed(&["run", "-i", "-", "--by", "k", "--agg", "sum:x"], text, 4);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// ---------------------------------------------------------------- compressed

/// A larger CSV (many blocks), with quoted newlines now and then.
fn big_csv(rows: usize) -> Vec<u8> {
    let mut rng = Lcg(11);
    let mut t = String::from("id,k,x,note\n");
    for i in 0..rows {
        let note = if rng.below(50) == 0 {
            "\"two\nlines\""
        } else {
            "plain"
        };
        t += &format!(
            "{i},g{},{}.{},{note}\n",
            rng.below(7),
            rng.below(1000),
            i % 10
        );
    }
    t.into_bytes()
}

/// `data` cut in `parts` pieces on line ends, each compressed alone and
/// concatenated: a multi-member gzip or multi-frame zstd file.
fn in_members(data: &[u8], parts: usize, compress: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = 0;
    for p in 1..=parts {
        let end = if p == parts {
            data.len()
        } else {
            let at = data.len() * p / parts;
            at + data[at..].iter().position(|&b| b == b'\n').unwrap() + 1
        };
        out.extend(compress(&data[start..end]));
        start = end;
    }
    out
}

const CQUERIES: &[&[&str]] = &[
    &["--agg", "count,sum:x,mean:x,max:id"],
    &[
        "--by",
        "k",
        "--agg",
        "count,sum:x,min:note",
        "--partitions",
        "7",
    ],
];

#[test]
fn gzip_and_zstd_files_and_stdin_answer_as_the_plain_file() {
    let scratch = Scratch::new();
    let data = big_csv(30_000);
    let plain = scratch.write("plain.csv", &data);
    let kinds: Vec<(&str, Vec<u8>)> = vec![
        ("gz", gzip(&data)),
        ("gz-members", in_members(&data, 9, gzip)),
        ("zst", zstd(&data)),
        ("zst-frames", in_members(&data, 9, zstd)),
    ];
    for query in CQUERIES {
        let want = run_bytes_with_stdin(args_for(plain.to_str().unwrap(), query), None);
        assert_eq!(want.code, 0, "{}", want.stderr);
        for (kind, bytes) in &kinds {
            // named with no telling extension: the magic bytes decide
            let path = scratch.write(&format!("{kind}.data"), bytes);
            for threads in ["1", "2", "4"] {
                let mut args = args_for(path.to_str().unwrap(), query);
                args.extend_from_slice(&["--threads", threads]);
                let got = run_bytes_with_stdin(&args, None);
                assert_same(&got, &want, &format!("{kind} file, {threads} threads"));
                let mut args = args_for("-", query);
                args.extend_from_slice(&["--threads", threads]);
                let got = run_streamed(&args, bytes, 64 << 10);
                assert_same(&got, &want, &format!("{kind} on stdin, {threads} threads"));
            }
        }
    }
}

#[test]
fn every_output_format_reads_a_gzip_file() {
    let scratch = Scratch::new();
    let data = big_csv(2000);
    let plain = scratch.write("p.csv", &data);
    let gz = scratch.write("p.csv.gz", gzip(&data));
    for format in ["csv", "json", "ndjson", "table"] {
        let q = ["--by", "k", "--agg", "count,mean:x", "-f", format];
        let want = run_bytes_with_stdin(args_for(plain.to_str().unwrap(), &q), None);
        let got = run_bytes_with_stdin(args_for(gz.to_str().unwrap(), &q), None);
        assert_same(&got, &want, format);
    }
}

/// Runs `args` on `path` and returns the run, which must fail with exit 1
/// naming the file.
#[track_caller]
fn fails_naming(path: &Path, what: &str) -> Run {
    let p = path.to_str().unwrap();
    let r = run(["run", "-i", p, "--agg", "count,sum:x", "-t", "2"]);
    r.expect_code(1, what);
    assert!(r.stderr.contains(p), "{what}: {}", r.stderr);
    assert_eq!(r.stdout, "", "{what}: no answer");
    r
}

#[test]
fn corrupt_and_truncated_compressed_files_are_errors() {
    let scratch = Scratch::new();
    let data = big_csv(20_000);
    for (kind, bytes) in [
        ("gz", gzip(&data)),
        ("gzm", in_members(&data, 5, gzip)),
        ("zst", zstd(&data)),
        ("zstm", in_members(&data, 5, zstd)),
    ] {
        let cut = scratch.write(&format!("cut.{kind}"), &bytes[..bytes.len() * 2 / 3]);
        fails_naming(&cut, &format!("truncated {kind}"));
        let short = scratch.write(&format!("short.{kind}"), &bytes[..bytes.len() - 3]);
        fails_naming(&short, &format!("trailer cut {kind}"));
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x55;
        bad[mid + 1] ^= 0x0f;
        let bad = scratch.write(&format!("bad.{kind}"), &bad);
        fails_naming(&bad, &format!("corrupt {kind}"));
    }
    // on stdin too: the error names <stdin>
    let bytes = gzip(&data);
    let r = run_streamed(
        &["run", "-i", "-", "--agg", "count"],
        &bytes[..bytes.len() / 2],
        1 << 16,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("<stdin>"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

/// A bad record before the spot where a compressed input is damaged is an
/// error earlier in the input than the damage, and is the one reported,
/// as a file's first bad record is. It was reported only when it lay in an
/// earlier block of the stream than the damage (a megabyte), so a bad
/// record a few lines before a truncation or a member's CRC check lost to
/// it, and gzip and zstd, files and standard input, or two block sizes
/// named different errors for the same text.
#[test]
fn a_bad_record_before_a_damaged_spot_is_the_error_reported() {
    let scratch = Scratch::new();
    let mut data = big_csv(20_000);
    // a non-number in x, half way: a block or two of zstd before the end
    let at = data.len() / 2;
    let at = at + data[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let comma = at + data[at..].iter().position(|&b| b == b',').unwrap();
    let comma = comma + 1 + data[comma + 1..].iter().position(|&b| b == b',').unwrap();
    data.insert(comma + 1, b'q');
    let plain = file_answer(&scratch, &data, &["--agg", "count,sum:x"]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(
        plain.stderr.contains("sum needs numbers"),
        "{}",
        plain.stderr
    );
    for (kind, bytes) in [("gz", gzip(&data)), ("zst", zstd(&data))] {
        let cut = bytes[..bytes.len() - 40].to_vec();
        let mut flipped = bytes.clone();
        // the checksum (gzip's CRC-32, zstd's content checksum) at the end
        let n = flipped.len();
        flipped[n - 6] ^= 0x55;
        for (what, damaged) in [("cut", cut), ("checksum", flipped)] {
            let name = format!("{what}.{kind}");
            let file = scratch.write(&name, &damaged);
            let p = file.to_str().unwrap();
            for parts in ["1", "3"] {
                let mut r =
                    run_bytes_with_stdin(args_for(p, &["--agg", "count,sum:x", "-p", parts]), None);
                r.stderr = r.stderr.replace(p, "<stdin>");
                assert_same(&r, &plain, &format!("{name} -p {parts}"));
            }
            for block in [1 << 10, 1 << 16, 1 << 20] {
                let r = run_streamed(&["run", "-i", "-", "--agg", "count,sum:x"], &damaged, block);
                assert_same(&r, &plain, &format!("{name} on stdin, blocks of {block}"));
            }
        }
    }
}

/// A file cut inside its compression header, down to gzip's two-byte
/// magic number alone, is a damaged compressed input (exit 1, naming it),
/// as a file, on standard input and to `split`. Cut to `1f 8b`, or with a
/// method byte other than deflate's after it, a gzip file was read as CSV
/// (a header of control bytes, no rows) and answered `count` 0.
#[test]
fn a_file_cut_inside_its_compression_header_is_an_error() {
    let scratch = Scratch::new();
    let gz = gzip(b"a\n1\n");
    let zst = zstd(b"a\n1\n");
    let mut cases: Vec<(String, Vec<u8>, &str)> = Vec::new();
    // gzip's header is 10 bytes; zstd's, then every cut of its one frame
    for n in 2..=10 {
        cases.push((format!("g{n}"), gz[..n].to_vec(), "truncated gzip"));
    }
    for n in 4..zst.len() {
        cases.push((format!("z{n}"), zst[..n].to_vec(), "truncated zstd"));
    }
    let mut other_method = gz.clone();
    other_method[2] = b'x';
    cases.push(("gm".into(), other_method, "unknown compression method"));
    let store = scratch.path("st");
    let store = store.to_str().unwrap();
    for (name, bytes, what) in &cases {
        let file = scratch.write(name, bytes);
        let p = file.to_str().unwrap();
        for args in [
            vec!["run", "-i", p, "--agg", "count"],
            vec!["split", "-i", p, "--store", store, "-q"],
        ] {
            let r = run(&args);
            r.expect_code(1, &format!("{name}: {args:?}"));
            assert!(r.stderr.contains(p), "{name}: {}", r.stderr);
            assert!(r.stderr.contains(what), "{name}: {}", r.stderr);
            assert_eq!(r.stdout, "", "{name}: no answer");
        }
        let r = run_streamed(&["run", "-i", "-", "--agg", "count"], bytes, 1 << 16);
        assert_eq!(r.code, 1, "{name} on stdin: {}", r.stderr);
        assert!(r.stderr.contains("<stdin>"), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(what), "{name}: {}", r.stderr);
    }
    assert!(!scratch.path("st").exists(), "split wrote nothing");
}

// ---------------------------------------------------------------- --no-header

#[test]
fn no_header_names_the_columns_by_position() {
    let text = b"a,1,x\nb,2,y\na,4,z\n";
    let want = "1,count,mean_2,max_3\na,2,2.5,z\nb,1,2.0,y\n";
    let q = ["--no-header", "--by", "1", "--agg", "count,mean:2,max:3"];
    let (scratch, file) = temp_csv(text);
    let r = run_on(&file, &q);
    r.expect_ok("file");
    assert_eq!(r.stdout, want);
    let got = run_streamed(&args_for("-", &q), text, 5);
    assert_eq!(
        (got.code, String::from_utf8_lossy(&got.stdout).as_ref()),
        (0, want),
        "{}",
        got.stderr
    );
    let gz = scratch.write("t.gz", gzip(text));
    let r = run_on(&gz, &q);
    r.expect_ok("gz");
    assert_eq!(r.stdout, want);
    // without it, the first line is the header
    let r = run_on(&file, &["--agg", "count"]);
    assert_eq!(r.stdout, "count\n2\n");
    // errors name the first line as line 1
    let (_s, bad) = temp_csv("a,1\nb,x\n");
    let r = run_on(&bad, &["--no-header", "--agg", "sum:2"]);
    r.expect_code(1, "bad");
    assert!(r.stderr.contains(":2: column '2'"), "{}", r.stderr);
}

#[test]
fn split_takes_no_header_and_compressed_inputs() {
    let scratch = Scratch::new();
    let gz = scratch.write("t.gz", gzip(b"a,1\nb,2\na,4\n"));
    let store = scratch.path("st");
    let s = store.to_str().unwrap();
    run([
        "split",
        "-i",
        gz.to_str().unwrap(),
        "--store",
        s,
        "--no-header",
        "-q",
    ])
    .expect_ok("split");
    let r = run(["run", "--store", s, "--by", "1", "--agg", "sum:2"]);
    r.expect_ok("run on the store");
    assert_eq!(r.stdout, "1,sum_2\na,5\nb,2\n");
}

/// Parquet and Arrow IPC on standard input are told by the same start as
/// through a pipe or FIFO, and refused the same way (they are read by
/// random access from a path): Parquet piped to `-i -` was parsed as CSV,
/// failing on "fields" of its binary bytes, and an Arrow IPC file or
/// stream counted its "lines" with exit 0.
#[test]
fn parquet_and_arrow_on_standard_input_are_refused_as_through_a_fifo() {
    let scratch = Scratch::new();
    let batch = crate::inputs::small_batch(300);
    let [parquet, ipc] = write_parquet_and_ipc(&scratch, "t", &batch, None, None);
    let mut stream = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut stream, &batch.schema()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    drop(w);
    let save = "inputs are read by random access from a path: save it to a file first";
    for (bytes, why) in [
        (
            std::fs::read(parquet).unwrap(),
            format!("<stdin>: holds Parquet but comes on standard input; Parquet {save}"),
        ),
        (
            std::fs::read(ipc).unwrap(),
            format!("<stdin>: holds Arrow IPC but comes on standard input; Arrow IPC {save}"),
        ),
        (
            stream,
            format!("<stdin>: holds Arrow IPC but comes on standard input; Arrow IPC {save}"),
        ),
    ] {
        for agg in ["count", "sum:x"] {
            let r = run_with_stdin(["run", "-i", "-", "--agg", agg], Some(&bytes));
            r.expect_code(1, &why);
            assert!(r.stderr.contains(&why), "{}", r.stderr);
        }
    }
}

/// `--progress always` with stderr not a terminal wrote nothing for a
/// stream (standard input, a pipe, a compressed file), so that a cron job
/// fed by `zcat ... | rayproc run -i - --progress always` never logged
/// progress. It writes the bytes read so far and the rate (no total, no
/// percentage: none is known), every 2 s as the bytes come in, and a last
/// line when the stream ends; of a compressed file, the bytes of its text.
/// The producer writes a row every 100 ms until it sees a line while the
/// stream is still open, whatever the time that takes on a loaded machine.
#[test]
fn progress_always_reports_a_stream_while_it_is_read() {
    use std::io::{BufRead, BufReader};
    use std::time::Instant;
    let mut child = Command::new(bin_path())
        .args(["run", "-i", "-", "--agg", "sum:a", "--progress", "always"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rayproc starts");
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            tx.send(line.unwrap()).unwrap();
        }
    });
    stdin.write_all(b"a\n").unwrap();
    let (mut rows, mut seen) = (0u64, Vec::new());
    let start = Instant::now();
    while seen.is_empty() && start.elapsed() < Duration::from_secs(60) {
        stdin.write_all(b"1\n").unwrap();
        stdin.flush().unwrap();
        rows += 1;
        std::thread::sleep(Duration::from_millis(100));
        seen.extend(rx.try_iter());
    }
    let while_open = seen.len();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    lines.join().unwrap();
    seen.extend(rx.try_iter());
    assert_eq!(out.status.code(), Some(0), "{seen:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("sum_a\n{rows}\n")
    );
    assert!(
        while_open > 0,
        "no progress line in 60 s of a stream: {seen:?}"
    );
    assert!(seen.len() > while_open, "no last line: {seen:?}");
    for line in &seen {
        let ok = line.starts_with("rayproc: <stdin>: ")
            && line.contains(" read, ")
            && line.ends_with("/s")
            && !line.contains('%');
        assert!(ok, "{line}");
    }
    // the last line: every byte
    let all = indicatif::HumanBytes(2 + 2 * rows).to_string();
    let last = seen.last().unwrap();
    assert!(
        last.starts_with(&format!("rayproc: <stdin>: {all} read, ")),
        "{last}"
    );

    // a compressed file: its text (8 bytes) is what is counted
    let scratch = Scratch::new();
    let gz = scratch.write("n.csv.gz", gzip(b"a\n1\n2\n3\n"));
    let r = run_on(&gz, &["--agg", "sum:a", "--progress", "always"]);
    r.expect_code(0, "gzip");
    assert_eq!(r.stdout, "sum_a\n6\n");
    let want = format!("rayproc: {}: 8 B read (decompressed), ", gz.display());
    assert!(
        r.stderr.starts_with(&want) && r.stderr.ends_with("/s\n"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}
