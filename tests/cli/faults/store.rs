//! The store under faults (issue 17): crafted files whose checksums were
//! recomputed, an edited manifest, things that are not regular files where
//! a store's files should be, readers racing a replacing `split`, a `split`
//! killed half way, `--store` naming the store from inside or through a
//! link, and absurd partition counts. Each test pins one sentence of
//! docs/store.md's "Guarantees under faults".
//!
//! The binary under test is `RAYPROC_BIN` when set (to run these tests
//! against an older build and see them fail), else the one cargo built
//! ([`bin_path`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin_path, store_generation, write_store_manifest, Lcg, Run, Scratch};

/// Runs the binary; a run that has not ended after `limit` is killed and
/// reported as a hang (never a stuck test).
fn run_within(args: &[&str], cwd: Option<&Path>, limit: Duration) -> Run {
    let mut cmd = Command::new(bin_path());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("rayproc starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rayproc {args:?} hung (killed after {limit:?})");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("output");
    use std::os::unix::process::ExitStatusExt;
    Run {
        code: out
            .status
            .code()
            .unwrap_or_else(|| -100 - out.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn rp(args: &[&str]) -> Run {
    run_within(args, None, Duration::from_secs(60))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A CSV with an integer, a float and a text column of fixed-width values
/// (so that the text column's offsets are 0, 7, 14, ... in the files).
fn csv(scratch: &Scratch, rows: usize) -> PathBuf {
    let mut text = String::from("id,x,t\n");
    for i in 0..rows {
        text.push_str(&format!("{i},{}.5,w{:06}\n", i % 97, i % 1000));
    }
    scratch.write("data.csv", text)
}

fn split(csv: &Path, store: &Path, partitions: &str) {
    rp(&[
        "split",
        "-i",
        s(csv),
        "--store",
        s(store),
        "-p",
        partitions,
        "-q",
    ])
    .expect_code(0, "split");
}

fn xxh3(bytes: &[u8]) -> String {
    format!("xxh3:{:016x}", rayproc::xxh3::xxh3_64(bytes))
}

/// Rewrites the manifest's partition checksums to match the files as they
/// are now, and the manifest's own checksum the way `split` writes it:
/// what someone who can write the store can always do.
fn recompute_checksums(store: &Path) {
    let dir = store_generation(store);
    let path = dir.join("manifest.json");
    let mut text = fs::read_to_string(&path).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    for p in m["partitions"].as_array().unwrap() {
        let bytes = fs::read(dir.join(p["file"].as_str().unwrap())).unwrap();
        let old = p["checksum"].as_str().unwrap();
        text = text.replace(old, &xxh3(&bytes));
        // the frame's and each column's (store format 3), as `split` computes them
        let ipc = rayproc::source::ipc::IpcFile::from_bytes(&bytes, "part", None).unwrap();
        let (frame, columns) =
            rayproc::store::verify::checksums(&bytes, ipc.blocks(), &ipc.schema).unwrap();
        text = text.replace(p["frame_checksum"].as_str().unwrap(), &frame);
        for (c, new) in p["columns"].as_array().unwrap().iter().zip(columns) {
            text = text.replace(c["checksum"].as_str().unwrap(), &new);
        }
    }
    write_store_manifest(&path, &text);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_crafted_partition_with_recomputed_checksums_is_an_error_not_a_crash() {
    let scratch = Scratch::new();
    // t of more distinct values than a store reads as codes: its text is
    // what a query reads
    let mut text = String::from("id,x,t\n");
    for i in 0..20_000 {
        text.push_str(&format!("{i},{}.5,w{i:06}\n", i % 97));
    }
    let data = scratch.write("data.csv", text);
    let store = scratch.path("st");
    split(&data, &store, "1");
    let part = store_generation(&store).join("part-00000.arrow");
    let mut bytes = fs::read(&part).unwrap();
    // the text column's offsets 0, 7, 14, 21 (i32, little-endian)
    let offsets: Vec<u8> = [0i32, 7, 14, 21]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = find(&bytes, &offsets).expect("the text column's offsets");
    bytes[at + 8..at + 12].copy_from_slice(&0x3fff_0000i32.to_le_bytes());
    fs::write(&part, &bytes).unwrap();
    // Checksums not recomputed: columns are hashed batch by batch as they
    // are decoded, and when the decode fails first the partition is hashed
    // to its end, so the damage is reported as such; a query that does not
    // read t never sees it.
    let out = rp(&["run", "--store", s(&store), "--agg", "max:t"]);
    out.expect_code(1, "max:t over a damaged column");
    assert!(
        out.stderr.contains("checksum mismatch in column 't'")
            && out.stderr.contains("part-00000.arrow"),
        "{}",
        out.stderr
    );
    rp(&["run", "--store", s(&store), "--agg", "sum:id,count"]).expect_code(0, "t unread");
    recompute_checksums(&store);
    for extra in [&[][..], &["--no-verify"][..]] {
        for agg in ["max:t", "distinct:t", "count,min:t,sum:id"] {
            let mut args = vec!["run", "--store", s(&store), "--agg", agg];
            args.extend_from_slice(extra);
            let out = rp(&args);
            out.expect_code(1, &format!("{agg} {extra:?} over a crafted partition"));
            assert!(
                out.stderr.contains("part-00000.arrow") && out.stderr.contains("unreadable"),
                "{}",
                out.stderr
            );
        }
    }
}

/// The texts of a number column (`NAME#text`, format version 6) are read
/// only by a text test of `--where`, and checked as every column read is:
/// crafted offsets whose checksums were recomputed are an error, never a
/// crash, and so is a manifest that gives the field another type.
#[test]
fn crafted_texts_of_a_number_column_are_an_error_not_a_crash() {
    let scratch = Scratch::new();
    // `c` is integers written with a sign: `+1` ... `+9`, two bytes each,
    // all kept as texts (offsets 0, 2, 4, 6, ...)
    let mut text = String::from("id,c\n");
    for i in 0..3_000 {
        text.push_str(&format!("{i},+{}\n", i % 9 + 1));
    }
    let data = scratch.write("data.csv", text);
    let store = scratch.path("st");
    split(&data, &store, "1");
    let manifest = store_generation(&store).join("manifest.json");
    assert!(fs::read_to_string(&manifest)
        .unwrap()
        .contains("\"texts\": \"Utf8\""));
    let texted = ["--where", "c like '+%'", "--agg", "count"];
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--store", s(&store)];
        args.extend_from_slice(extra);
        rp(&args)
    };
    let out = run(&texted);
    out.expect_code(0, "a text test of the texts");
    assert_eq!(out.stdout, "count\n3000\n");
    let part = store_generation(&store).join("part-00000.arrow");
    let mut bytes = fs::read(&part).unwrap();
    let offsets: Vec<u8> = [0i32, 2, 4, 6]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = find(&bytes, &offsets).expect("the texts' offsets");
    bytes[at + 8..at + 12].copy_from_slice(&0x3fff_0000i32.to_le_bytes());
    fs::write(&part, &bytes).unwrap();
    let out = run(&texted);
    out.expect_code(1, "texts damaged");
    assert!(
        out.stderr
            .contains("checksum mismatch in the texts of column 'c'"),
        "{}",
        out.stderr
    );
    recompute_checksums(&store);
    for extra in [&[][..], &["--no-verify"][..]] {
        let mut args = texted.to_vec();
        args.extend_from_slice(extra);
        let out = run(&args);
        out.expect_code(1, &format!("crafted texts {extra:?}"));
        assert!(out.stderr.contains("part-00000.arrow"), "{}", out.stderr);
        // a query that does not read the texts answers
        let mut args = vec!["--where", "c > 3", "--agg", "count,sum:c"];
        args.extend_from_slice(extra);
        run(&args).expect_code(0, "texts unread");
    }
    // the manifest says the texts are of another type
    let m = fs::read_to_string(&manifest).unwrap();
    let edited = m.replace("\"texts\": \"Utf8\"", "\"texts\": \"Int64\"");
    assert_ne!(m, edited);
    write_store_manifest(&manifest, &edited);
    let out = run(&["--agg", "count"]);
    out.expect_code(1, "texts of another type");
    assert!(out.stderr.contains("malformed manifest"), "{}", out.stderr);
}

#[test]
fn an_edited_manifest_is_caught_by_its_checksum() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 2_000);
    let store = scratch.path("st");
    split(&data, &store, "2");
    let path = store_generation(&store).join("manifest.json");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"line\": 2"), "{text}");
    // only the reported line changes: no count, no size is off
    fs::write(&path, text.replace("\"line\": 2", "\"line\": 7")).unwrap();
    let out = rp(&["run", "--store", s(&store), "--agg", "sum:t"]);
    out.expect_code(1, "an edited manifest");
    assert!(
        out.stderr.contains("manifest.json") && out.stderr.contains("manifest is damaged"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(":7:"), "{}", out.stderr);
    rp(&["inspect", s(&store)]).expect_code(1, "inspect of an edited manifest");
}

/// Replaces `path` by what `make` puts there.
fn replace(path: &Path, make: impl FnOnce(&Path)) {
    fs::remove_file(path).unwrap();
    make(path);
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[test]
fn a_fifo_in_a_store_is_refused_without_hanging() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 500);
    for victim in ["part-00000.arrow", "manifest.json"] {
        let store = scratch.path(&format!("st-{victim}"));
        split(&data, &store, "1");
        replace(&store_generation(&store).join(victim), mkfifo);
        let limit = Duration::from_secs(20);
        let store_arg = s(&store);
        for args in [
            &["run", "--store", store_arg, "--agg", "count"][..],
            &["inspect", store_arg, "--verify"][..],
        ] {
            let out = run_within(args, None, limit);
            out.expect_code(1, &format!("{args:?} with {victim} a FIFO"));
            let said = format!("{}{}", out.stdout, out.stderr);
            assert!(
                said.contains(victim) && said.contains("not a regular file"),
                "{said}"
            );
        }
    }
}

#[test]
fn a_directory_in_place_of_a_partition_is_named_as_such() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 500);
    let store = scratch.path("st");
    split(&data, &store, "1");
    replace(&store_generation(&store).join("part-00000.arrow"), |p| {
        fs::create_dir(p).unwrap()
    });
    let out = rp(&["run", "--store", s(&store), "--agg", "count"]);
    out.expect_code(1, "a directory for a partition");
    assert!(
        out.stderr.contains("is a directory") && !out.stderr.contains("4096 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_symbolic_link_in_a_store_is_never_followed() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 500);
    let outside = scratch.write("outside.txt", "root:x:0:0:root:/root:/bin/bash\n");
    for victim in ["part-00000.arrow", "manifest.json"] {
        let store = scratch.path(&format!("st-{victim}"));
        split(&data, &store, "1");
        replace(&store_generation(&store).join(victim), |p| {
            std::os::unix::fs::symlink(&outside, p).unwrap()
        });
        for args in [
            &["run", "--store", s(&store), "--agg", "count"][..],
            &["inspect", s(&store), "--verify"][..],
        ] {
            let out = rp(args);
            out.expect_code(1, &format!("{args:?} with {victim} a symbolic link"));
            let said = format!("{}{}", out.stdout, out.stderr);
            assert!(
                said.contains("symbolic link") && !said.contains("33 bytes"),
                "{said}"
            );
        }
    }
}

#[test]
fn readers_racing_a_replacing_split_see_the_old_store_or_the_new() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 300);
    let store = scratch.path("st");
    split(&data, &store, "2");
    let expected = rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]);
    expected.expect_code(0, "first read");
    let done = std::sync::atomic::AtomicBool::new(false);
    let reads = std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..150 {
                let p = ["1", "2", "3"][i % 3];
                split(&data, &store, p);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let out = rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]);
            assert_eq!(
                (out.code, &out.stdout),
                (0, &expected.stdout),
                "a read during a split: {}",
                out.stderr
            );
            reads += 1;
        }
        reads
    });
    assert!(reads > 0);
    let left: Vec<String> = fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary leftovers: {left:?}");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Starts a `split` of `data` into `store` slow enough (8 partitions, one
/// thread) to be stopped halfway.
fn spawn_slow_split(data: &Path, store: &Path) -> std::process::Child {
    Command::new(bin_path())
        .args([
            "split",
            "-i",
            s(data),
            "--store",
            s(store),
            "-p",
            "8",
            "-t",
            "1",
            "-q",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn the_split_after_a_killed_one_succeeds_and_removes_its_leftovers() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 400_000);
    let store = scratch.path("st");
    split(&data, &store, "2");
    let expected = rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]);
    let mut killed = 0;
    for attempt in 0..3 {
        let mut child = spawn_slow_split(&data, &store);
        // wait until its temporary directory exists (in the store or beside it)
        let start = Instant::now();
        let busy = |d: &Path| {
            entries(d)
                .iter()
                .any(|n| n.starts_with(".") && n.contains("tmp"))
        };
        while !busy(&store)
            && !busy(scratch.dir.path())
            && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(20 * attempt));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(killed > 0, "no split was killed while running");
    // the store still answers as before
    assert_eq!(
        rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]).stdout,
        expected.stdout
    );
    split(&data, &store, "3");
    assert_eq!(
        rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]).stdout,
        expected.stdout
    );
    assert_eq!(
        entries(scratch.dir.path()),
        ["data.csv", "st"],
        "beside the store"
    );
    let inside: Vec<String> = entries(&store)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(inside.is_empty(), "inside the store: {inside:?}");
}

#[test]
fn an_interrupted_split_removes_its_temporary_directory() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 400_000);
    let store = scratch.path("st");
    split(&data, &store, "2");
    let expected = rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = spawn_slow_split(&data, &store);
        let start = Instant::now();
        let busy = |d: &Path| entries(d).iter().any(|n| n.starts_with('.'));
        while !busy(&store) && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(2));
        }
        // SAFETY: signalling a child this test started and has not reaped
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let _ = child.wait();
        let hidden: Vec<String> = entries(&store)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "signal {signal} left {hidden:?}");
        assert_eq!(
            rp(&["run", "--store", s(&store), "--agg", "count,sum:id"]).stdout,
            expected.stdout
        );
    }
}

#[test]
fn split_store_dot_from_inside_the_store_replaces_it() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 500);
    let store = scratch.path("st");
    split(&data, &store, "2");
    let out = run_within(
        &["split", "-i", s(&data), "--store", ".", "-p", "1", "-q"],
        Some(&store),
        Duration::from_secs(60),
    );
    out.expect_code(0, "split --store . inside the store");
    let json = rp(&["inspect", s(&store), "--format", "json"]);
    json.expect_code(0, "inspect");
    assert_eq!(json.json()["partitions"].as_array().unwrap().len(), 1);
    assert_eq!(entries(scratch.dir.path()), ["data.csv", "st"]);
    let hidden: Vec<String> = entries(&store)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        hidden.is_empty(),
        "no temporary copy left inside: {hidden:?}"
    );
}

#[test]
fn split_through_a_symbolic_link_replaces_the_store_it_names() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 500);
    let store = scratch.path("st");
    split(&data, &store, "2");
    let link = scratch.path("link");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    split(&data, &link, "1");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    let json = rp(&["inspect", s(&store), "--format", "json"]);
    assert_eq!(json.json()["partitions"].as_array().unwrap().len(), 1);
    assert_eq!(entries(scratch.dir.path()), ["data.csv", "link", "st"]);
}

#[test]
fn absurd_partition_counts_are_coarsened() {
    let scratch = Scratch::new();
    let data = csv(&scratch, 3_000);
    let store = scratch.path("st");
    let out = rp(&[
        "split",
        "-i",
        s(&data),
        "--store",
        s(&store),
        "--partitions",
        "1000000",
    ]);
    out.expect_code(0, "split --partitions 1000000");
    assert!(
        out.stderr.contains("--partitions 1000000"),
        "{}",
        out.stderr
    );
    let files = entries(&store_generation(&store));
    let size = fs::metadata(&data).unwrap().len() as usize;
    assert!(
        files.len() <= size / 4096 + 2,
        "{} files for {size} bytes",
        files.len()
    );
    let from_csv = rp(&["run", "-i", s(&data), "--agg", "count,sum:id,max:t"]);
    let from_store = rp(&["run", "--store", s(&store), "--agg", "count,sum:id,max:t"]);
    assert_eq!(from_store.stdout, from_csv.stdout);
}

/// The real attack surface, in process: partition files (and an Arrow file
/// with dictionaries and nested types) mutated by bit flips, truncations,
/// and overwritten 32-bit words (offsets, lengths, counts), each read
/// through `IpcFile::from_bytes`, the store's per-column checksums and
/// `read_everything`, as the `ipc_file` fuzz target does. Any outcome but a panic or a crash is fine.
#[test]
fn mutated_arrow_files_never_panic() {
    use rayproc::source::ipc::{read_everything, IpcFile};
    let scratch = Scratch::new();
    let data = csv(&scratch, 300);
    let store = scratch.path("st");
    split(&data, &store, "1");
    let seeds = [
        fs::read(store_generation(&store).join("part-00000.arrow")).unwrap(),
        typed_file(),
    ];
    for seed in &seeds {
        let file = IpcFile::from_bytes(seed, "seed", None).expect("the seed reads");
        read_everything(&file).expect("the seed reads");
    }
    let mut rng = Lcg(17);
    let mut errors = 0;
    for round in 0..3000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        let len = bytes.len() as u64;
        match rng.below(4) {
            0 => {
                let at = rng.below(len) as usize;
                bytes[at] ^= 1 << rng.below(8);
            }
            1 => bytes.truncate(rng.below(len) as usize),
            _ => {
                let at = (rng.below(len - 4) as usize) & !3;
                let word: i32 = match rng.below(5) {
                    0 => -1,
                    1 => i32::MAX,
                    2 => rng.below(64) as i32,
                    3 => (rng.next() as i32).wrapping_mul(7),
                    _ => 0x3fff_0000,
                };
                bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
        }
        let outcome = IpcFile::from_bytes(&bytes, "mutant", None).and_then(|f| {
            // the store's per-column checksums read the batch metadata too
            let _ = rayproc::store::verify::checksums(f.bytes(), f.blocks(), &f.schema);
            read_everything(&f)
        });
        errors += outcome.is_err() as usize;
    }
    assert!(errors > 0, "mutations are noticed");
}

/// An Arrow IPC file with Utf8, Binary, a string dictionary, a list and a
/// struct (types a store never holds, but `--input x.arrow` reads).
fn typed_file() -> Vec<u8> {
    use arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray, StructArray};
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;
    let n = 50;
    let text: ArrayRef = Arc::new(StringArray::from_iter(
        (0..n).map(|i| (i % 5 != 0).then(|| format!("v{i}"))),
    ));
    let bin: ArrayRef = Arc::new(BinaryArray::from_iter_values(
        (0..n).map(|i| vec![i as u8; i % 4]),
    ));
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    for i in 0..n {
        dict.append_value(["a", "bb", "ccc"][i % 3]);
    }
    let dict: ArrayRef = Arc::new(dict.finish());
    let mut list = ListBuilder::new(arrow_array::builder::Int64Builder::new());
    for i in 0..n {
        for j in 0..i % 3 {
            list.values().append_value(j as i64);
        }
        list.append(true);
    }
    let list: ArrayRef = Arc::new(list.finish());
    let ints: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n as i64));
    let nested: ArrayRef = Arc::new(StructArray::from(vec![(
        Arc::new(Field::new("i", DataType::Int64, false)),
        ints.clone(),
    )]));
    let batch = RecordBatch::try_from_iter([
        ("text", text),
        ("bin", bin),
        ("dict", dict),
        ("list", list),
        ("nested", nested),
        ("ints", ints),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut w = arrow_ipc::writer::FileWriter::try_new(&mut out, &batch.schema()).unwrap();
    w.write(&batch).unwrap();
    w.write(&batch.slice(10, 20)).unwrap();
    w.finish().unwrap();
    drop(w);
    out
}

/// `current` naming a generation that is not there is a damaged store, not
/// a store that "kept changing while being opened (1000 splits in a row)":
/// a split switches `current` before it removes a generation, so one that
/// is missing while `current` still names it was not removed by a split.
#[test]
fn current_naming_a_missing_generation_is_a_damaged_store() {
    let scratch = Scratch::new();
    let input = csv(&scratch, 50);
    let store = scratch.path("st");
    split(&input, &store, "1");
    fs::write(store.join("current"), "gen-000007\n").unwrap();
    for args in [
        &["run", "--store", s(&store), "--agg", "count"][..],
        &["inspect", s(&store)][..],
    ] {
        let out = rp(args);
        out.expect_code(1, "a missing generation");
        assert!(
            out.stderr.contains("gen-000007") && out.stderr.contains("the store is damaged"),
            "{}",
            out.stderr
        );
    }
}
