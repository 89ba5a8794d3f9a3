//! Faults from outside the data (issue 17): inputs truncated while mapped,
//! interrupts and kills while `--output` is written, what `--output` may
//! overwrite, and extreme `--threads` / `--partitions`.
//!
//! The fault tests are deterministic: the binary's hidden test hook
//! `RAYPROC_TEST_PAUSE=POINT:FLAG` makes it create FLAG at POINT (`map`:
//! an input was just mapped; `output`: the temporary output file was just
//! created; `commit`: a split just renamed its new generation into place;
//! `split.read`: a split has written every byte of its store, before it
//! checks its sources and commits) and wait until the test, having
//! truncated or rewritten a file or sent a signal, removes FLAG
//! ([`spawn_paused`], which `tests/cli/store.rs` uses too).

#![cfg(unix)]

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::{bin_path, run, run_on, Scratch};

/// A CSV of `rows` rows, a few hundred KiB for 20,000 rows.
fn csv(rows: u64) -> String {
    let mut text = String::from("k,x\n");
    for i in 0..rows {
        text.push_str(&format!("k{},{}.{:02}\n", i % 7, i * 3 % 1000, i % 100));
    }
    text
}

/// Starts rayproc with `args`, paused at `point`; returns once it waits
/// there (its FLAG exists).
pub(crate) fn spawn_paused(
    scratch: &Scratch,
    point: &str,
    args: &[&std::ffi::OsStr],
) -> (Child, PathBuf) {
    spawn_paused_ignoring(scratch, point, args, None)
}

/// [`spawn_paused`], with the interrupt signals at their default action in
/// the child but `ignored`, which it starts with ignored (as under
/// `nohup`). Whatever the tests' own process ignores, a child inherits:
/// run under `nohup`, SIGHUP sent to the child was ignored, and the test
/// that sent it waited forever.
fn spawn_paused_ignoring(
    scratch: &Scratch,
    point: &str,
    args: &[&std::ffi::OsStr],
    ignored: Option<libc::c_int>,
) -> (Child, PathBuf) {
    let flag = scratch.path("pause.flag");
    let mut command = Command::new(bin_path());
    // SAFETY: between fork and exec the hook calls only `signal`, which is
    // async-signal-safe, and touches no memory shared with the parent.
    unsafe {
        command.pre_exec(move || {
            for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                let action = if Some(signo) == ignored {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                };
                libc::signal(signo, action);
            }
            Ok(())
        });
    }
    let mut child = command
        .args(args)
        .env("RAYPROC_TEST_PAUSE", format!("{point}:{}", flag.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rayproc starts");
    while !flag.exists() {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            panic!(
                "rayproc ended ({status}) before reaching {point}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    (child, flag)
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn temporaries(scratch: &Scratch) -> Vec<String> {
    (scratch.listing().into_iter())
        .filter(|n| n.contains(".rayproc-tmp-") || n.ends_with(".tmp"))
        .collect()
}

/// Truncates `file` to nothing, as logrotate's `copytruncate` does.
fn truncate(file: &Path) {
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_len(0)
        .unwrap();
}

/// The partition files of the store at `store` (in its generation folders).
fn store_partitions(store: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .flat_map(|g| std::fs::read_dir(g).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "arrow") && p.is_file())
        .collect()
}

/// Lets the paused `child` go on and returns its stderr, asserting exit 1
/// with the message for a truncated input, naming one of `truncated`.
fn expect_truncation_error(child: Child, flag: &Path, truncated: &[PathBuf]) -> String {
    std::fs::remove_file(flag).unwrap();
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(
        done.status.code(),
        Some(1),
        "status {}: {stderr}",
        done.status
    );
    assert!(
        truncated.iter().any(|p| stderr
            == format!(
                "rayproc: error: {} changed while being read (truncated?)\n",
                p.display()
            )),
        "{stderr}"
    );
    stderr
}

#[test]
fn an_input_truncated_while_mapped_is_an_error_not_a_crash() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(20_000));
    let out = scratch.path("out.csv");
    let args = [
        os("run"),
        os("--input"),
        input.as_os_str(),
        os("--agg"),
        os("sum:x"),
        os("--threads"),
        os("1"),
        os("--progress"),
        os("never"),
        os("--output"),
        out.as_os_str(),
    ];
    let (child, flag) = spawn_paused(&scratch, "map", &args);
    truncate(&input);
    expect_truncation_error(child, &flag, &[input]);
    assert!(!out.exists());
    assert_eq!(temporaries(&scratch), Vec::<String>::new());
}

/// An input cut within its last page while mapped reads zeros in place of
/// the lost bytes, no fault: `run` answered with a group `k2\0\0` that was
/// never in the file, and a rewrite in place of the same size answered
/// with a mix of the old and new rows (exit 0 both). Now both are errors
/// naming the file and what changed, for `run` and `map`, whether the
/// damage made the data fail or not; the output is not written.
#[test]
fn an_input_changed_within_its_size_while_read_is_an_error_not_another_answer() {
    use std::io::{Seek, SeekFrom, Write};
    let scratch = Scratch::new();
    let text = csv(20_000);
    let len = text.len();
    type Change = fn(&Path, usize);
    let cut: Change = |input, len| {
        let file = std::fs::File::options().write(true).open(input).unwrap();
        file.set_len(len as u64 - 2).unwrap();
    };
    let rewrite: Change = |input, _| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = std::fs::File::options().write(true).open(input).unwrap();
        file.seek(SeekFrom::Start(4)).unwrap();
        file.write_all(b"j").unwrap();
    };
    let changes = [
        (cut, format!("its size is now {} bytes, was {len}", len - 2)),
        (rewrite, "its modification time changed".to_string()),
    ];
    for (change, why) in &changes {
        for (command, agg) in [("run", "count,sum:x"), ("run", "count"), ("map", "sum:x")] {
            let input = scratch.write("in.csv", &text);
            let out = scratch.path("out.csv");
            let _ = std::fs::remove_file(&out);
            let mut args = vec![
                os(command),
                os("--input"),
                input.as_os_str(),
                os("--by"),
                os("k"),
                os("--agg"),
                os(agg),
                os("--threads"),
                os("1"),
            ];
            if command == "map" {
                args.extend([os("--part"), os("0/1"), os("--emit-partial")]);
            } else {
                args.push(os("--output"));
            }
            args.push(out.as_os_str());
            let (child, flag) = spawn_paused(&scratch, "map", &args);
            change(&input, len);
            std::fs::remove_file(&flag).unwrap();
            let done = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&done.stderr);
            assert_eq!(
                done.status.code(),
                Some(1),
                "{command} {agg} {why}: {stderr}"
            );
            assert!(
                stderr.starts_with(&format!(
                    "rayproc: error: {} changed while being read ({why}), so no answer is given",
                    input.display()
                )),
                "{command} {agg}: {stderr}"
            );
            assert!(!out.exists(), "{command} {agg} {why}");
            assert_eq!(temporaries(&scratch), Vec::<String>::new());
        }
    }
}

/// A `split` whose input was truncated while mapped stopped with the
/// message, but left its store under construction (`STORE/.tmp-PID`, with
/// the partitions written so far: hundreds of MB) for the next run to
/// remove: the SIGBUS handler could only unlink files. The interrupt
/// thread ends such a run now, and removes it.
#[test]
fn a_split_whose_input_is_truncated_leaves_no_store_under_construction() {
    let scratch = Scratch::new();
    // 2 MB, cut to its first two pages: the split faults once it has
    // begun its store
    let input = scratch.write("in.csv", csv(200_000));
    let store = scratch.path("st");
    let args = [
        os("split"),
        os("--input"),
        input.as_os_str(),
        os("--store"),
        store.as_os_str(),
        os("--partitions"),
        os("4"),
        os("--quiet"),
    ];
    let (child, flag) = spawn_paused(&scratch, "map", &args);
    let file = std::fs::File::options().write(true).open(&input).unwrap();
    file.set_len(8192).unwrap();
    expect_truncation_error(child, &flag, &[input]);
    let left: Vec<String> = match std::fs::read_dir(&store) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(".lock"))
            .collect(),
        Err(_) => Vec::new(),
    };
    assert_eq!(left, Vec::<String>::new(), "in {}", store.display());
}

/// A log being written grows while it is read: lines appended after the
/// bytes read, which end a record, change nothing read, and the answer is
/// the file's as it was at the open (not an error, as a change is).
#[test]
fn an_input_appended_to_while_read_answers_as_at_its_open() {
    let scratch = Scratch::new();
    let text = csv(20_000);
    let input = scratch.write("in.csv", &text);
    let want = run_on(&input, &["--by", "k", "--agg", "count,sum:x"]);
    want.expect_ok("before");
    let args = [
        os("run"),
        os("--input"),
        input.as_os_str(),
        os("--by"),
        os("k"),
        os("--agg"),
        os("count,sum:x"),
    ];
    let (child, flag) = spawn_paused(&scratch, "map", &args);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut file = std::fs::File::options().append(true).open(&input).unwrap();
    std::io::Write::write_all(&mut file, b"k1,5.00\nk9,1.00\n").unwrap();
    std::fs::remove_file(&flag).unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&done.stdout), want.stdout);
}

/// Splits `input` into `store` in `partitions` partitions.
fn split_quietly(input: &Path, store: &Path, partitions: usize) {
    let partitions = partitions.to_string();
    let made = run([
        os("split"),
        os("--input"),
        input.as_os_str(),
        os("--store"),
        store.as_os_str(),
        os("--partitions"),
        os(&partitions),
        os("--quiet"),
    ]);
    made.expect_code(0, "split");
}

#[test]
fn a_store_partition_truncated_while_mapped_is_an_error_not_a_crash() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(20_000));
    let store = scratch.path("st");
    split_quietly(&input, &store, 2);
    let args = [
        os("run"),
        os("--store"),
        store.as_os_str(),
        os("--agg"),
        os("sum:x"),
        os("--threads"),
        os("1"),
        os("--progress"),
        os("never"),
    ];
    let (child, flag) = spawn_paused(&scratch, "map", &args);
    let truncated = store_partitions(&store);
    truncated.iter().for_each(|p| truncate(p));
    expect_truncation_error(child, &flag, &truncated);
}

/// `run --output out.csv` paused once its temporary file exists.
fn paused_output_run(scratch: &Scratch) -> (Child, PathBuf, PathBuf) {
    paused_output_run_ignoring(scratch, None)
}

/// [`paused_output_run`], the child starting with `ignored` ignored
/// ([`spawn_paused_ignoring`]).
fn paused_output_run_ignoring(
    scratch: &Scratch,
    ignored: Option<libc::c_int>,
) -> (Child, PathBuf, PathBuf) {
    let input = scratch.write("in.csv", csv(100));
    let out = scratch.write("out.csv", "old\n");
    let args = [
        os("run"),
        os("--input"),
        input.as_os_str(),
        os("--agg"),
        os("sum:x"),
        os("--output"),
        out.as_os_str(),
    ];
    let (child, flag) = spawn_paused_ignoring(scratch, "output", &args, ignored);
    assert_eq!(temporaries(scratch).len(), 1, "{:?}", scratch.listing());
    (child, flag, out)
}

#[test]
fn an_interrupted_output_leaves_no_temporary_file() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let scratch = Scratch::new();
        let (child, _flag, out) = paused_output_run(&scratch);
        // SAFETY: signals our own child, whose pid is alive (not reaped).
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.signal(), Some(signal), "{}", done.status);
        assert_eq!(
            temporaries(&scratch),
            Vec::<String>::new(),
            "signal {signal}"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    }
}

#[test]
fn a_signal_ignored_when_rayproc_starts_stays_ignored() {
    // under `nohup` SIGHUP is ignored: rayproc keeps ignoring it (and
    // goes on), and still cleans up after the SIGTERM that follows
    let scratch = Scratch::new();
    let (mut child, _flag, out) = paused_output_run_ignoring(&scratch, Some(libc::SIGHUP));
    // SAFETY: signals our own child, whose pid is alive (not reaped).
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP ended a nohup run"
    );
    assert_eq!(temporaries(&scratch).len(), 1);
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.signal(), Some(libc::SIGTERM), "{}", done.status);
    assert_eq!(temporaries(&scratch), Vec::<String>::new());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
}

#[test]
fn the_leftover_of_a_killed_output_is_removed_by_the_next_run() {
    let scratch = Scratch::new();
    let (mut child, flag, out) = paused_output_run(&scratch);
    let left = temporaries(&scratch);
    assert!(
        left[0].starts_with(&format!(".out.csv.rayproc-tmp-{}-", child.id())),
        "{left:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(&flag).unwrap();
    assert_eq!(temporaries(&scratch), left, "a KILL cannot be caught");
    let input = scratch.path("in.csv");
    run_on(
        &input,
        &["--agg", "sum:x", "--output", out.to_str().unwrap()],
    )
    .expect_ok("next run");
    assert_eq!(temporaries(&scratch), Vec::<String>::new());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(&input));
}

/// A run in another PID namespace (a container, or another host writing
/// to a shared folder) has a process ID that does not exist here: its
/// live temporary file was removed as a leftover, and that run failed
/// with `No such file or directory`. A live writer holds a lock on its
/// file; only a file no one holds is a leftover.
#[test]
fn a_live_temporary_file_of_another_pid_namespace_is_kept() {
    let scratch = Scratch::new();
    let input = scratch.path("in.csv");
    std::fs::write(&input, csv(100)).unwrap();
    let out = scratch.path("out.csv");
    // a process ID that no longer exists here
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let live = scratch.path(&format!(".out.csv.rayproc-tmp-{pid}-0123abcd"));
    let held = std::fs::File::create(&live).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&held);
    // SAFETY: flock on a descriptor that stays open during the call.
    let locked = unsafe { libc::flock(fd, libc::LOCK_EX) };
    assert_eq!(locked, 0);
    run_on(
        &input,
        &["--agg", "sum:x", "--output", out.to_str().unwrap()],
    )
    .expect_ok("run");
    assert!(live.exists(), "the live file was removed");
    // once its writer is gone, the next run removes it
    drop(held);
    run_on(
        &input,
        &["--agg", "sum:x", "--output", out.to_str().unwrap()],
    )
    .expect_ok("run");
    assert!(!live.exists(), "the leftover was kept");
}

/// An output that is one of the run's inputs (by its name, a symbolic or
/// hard link, a pattern's match), or a file of the store it reads, was
/// replaced with the result, exit 0: the input lost. Now it is a usage
/// error (exit 2) naming both, and the input is left as it was.
#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let scratch = Scratch::new();
    let text = csv(100);
    std::fs::create_dir(scratch.path("d")).unwrap();
    let input = scratch.write("d/in.csv", &text);
    let other = scratch.write("d/other.csv", &text);
    let link = scratch.path("link.csv");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let hard = scratch.path("hard.csv");
    std::fs::hard_link(&input, &hard).unwrap();
    let pattern = scratch.path("d/*.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    for (args, out) in [
        (
            vec!["run", "-i", &s(&input), "--agg", "sum:x", "-o"],
            &input,
        ),
        (vec!["run", "-i", &s(&input), "--agg", "sum:x", "-o"], &link),
        (vec!["run", "-i", &s(&input), "--agg", "sum:x", "-o"], &hard),
        (
            vec!["run", "-i", &s(&pattern), "--agg", "sum:x", "-o"],
            &other,
        ),
        (
            vec![
                "map",
                "-i",
                &s(&input),
                "--agg",
                "sum:x",
                "--part",
                "0/1",
                "--emit-partial",
            ],
            &input,
        ),
    ] {
        let mut args = args.clone();
        let target = s(out);
        args.push(&target);
        let r = run(&args);
        r.expect_code(2, &target);
        assert!(
            r.stderr.contains(&format!("{target} is the input ")),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("write the result elsewhere"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read_to_string(out).unwrap(), text, "{args:?}");
    }
    // a store's files
    let store = scratch.path("st");
    split_quietly(&input, &store, 2);
    let current = store.join("current");
    let before = std::fs::read(&current).unwrap();
    let r = run([
        "run",
        "--store",
        &s(&store),
        "--agg",
        "sum:x",
        "-o",
        &s(&current),
    ]);
    r.expect_code(2, "into the store");
    assert!(r.stderr.contains("is inside the store"), "{}", r.stderr);
    // and through a link to it
    let to_current = scratch.path("current-link");
    std::os::unix::fs::symlink(&current, &to_current).unwrap();
    let r = run([
        "run",
        "--store",
        &s(&store),
        "--agg",
        "sum:x",
        "-o",
        &s(&to_current),
    ]);
    r.expect_code(2, "into the store through a link");
    assert!(r.stderr.contains("is inside the store"), "{}", r.stderr);
    assert_eq!(std::fs::read(&current).unwrap(), before);
    run(["run", "--store", &s(&store), "--agg", "sum:x"]).expect_ok("the store is whole");
}

/// `reduce` wrote its result over one of the partials it read, by name or
/// through a link, with exit 0 (`reduce p0 p1 -o p0`, `--emit-partial
/// p1`): that machine's `map` had to run again. Refused as `run` and `map`
/// refuse theirs, the partial kept.
#[test]
fn a_reduce_output_that_is_a_partial_is_refused_and_the_partial_kept() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(100));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let parts = [0, 1].map(|i| {
        let part = scratch.path(&format!("p{i}.part"));
        run([
            "map",
            "-i",
            &s(&input),
            "--agg",
            "sum:x",
            "--part",
            &format!("{i}/2"),
            "--emit-partial",
            &s(&part),
        ])
        .expect_ok("map");
        part
    });
    let link = scratch.path("link.part");
    std::os::unix::fs::symlink(&parts[0], &link).unwrap();
    let before = parts.clone().map(|p| std::fs::read(p).unwrap());
    for (flag, out) in [
        ("-o", &parts[0]),
        ("--output", &link),
        ("--emit-partial", &parts[1]),
        ("--emit-partial", &link),
    ] {
        let target = s(out);
        let r = run(["reduce", &s(&parts[0]), &s(&parts[1]), flag, &target]);
        r.expect_code(2, &target);
        assert!(
            r.stderr.contains(&format!("{target} is the input ")),
            "{}",
            r.stderr
        );
        for (part, bytes) in parts.iter().zip(&before) {
            assert_eq!(&std::fs::read(part).unwrap(), bytes, "{flag} {target}");
        }
    }
    let out = scratch.path("sum.csv");
    run(["reduce", &s(&parts[0]), &s(&parts[1]), "-o", &s(&out)]).expect_ok("elsewhere");
}

/// The refusal comes once the inputs are open, before their data is read:
/// `map` read the whole input first, so that an input with a bad value
/// was answered with that value's error (exit 1), and the output that
/// would have replaced the input was never named.
#[test]
fn an_output_that_is_an_input_is_refused_before_it_is_read() {
    let scratch = Scratch::new();
    let text = "x\n1\nabc\n";
    let input = scratch.write("in.csv", text);
    let input = input.to_str().unwrap();
    for args in [
        vec!["run", "-i", input, "--agg", "sum:x", "-o", input],
        vec![
            "map",
            "-i",
            input,
            "--agg",
            "sum:x",
            "--part",
            "0/1",
            "--emit-partial",
            input,
        ],
    ] {
        let r = run(&args);
        r.expect_code(2, args[0]);
        assert!(
            r.stderr.contains(&format!("{input} is the input ")) && !r.stderr.contains("abc"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(std::fs::read_to_string(input).unwrap(), text, "{args:?}");
    }
}

/// Runs rayproc with `args` through `sh`: after `setup` (`umask 077; `),
/// with its standard streams redirected by `redirect` (`1<file`), so that
/// either applies to the child alone.
fn run_through_sh(setup: &str, redirect: &str, args: &[&std::ffi::OsStr]) -> crate::common::Run {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{setup}exec \"$0\" \"$@\" {redirect}"))
        .arg(bin_path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    crate::common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`run_through_sh`] with `args`, its standard streams redirected by
/// `redirect`.
fn run_redirected(redirect: &str, args: &[&str]) -> crate::common::Run {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| os(a)).collect();
    run_through_sh("", redirect, &args)
}

/// A standard stream open only the other way (stdout for reading, stdin
/// for writing) was taken by Rust's std for a sink or an empty input: the
/// result went nowhere (exit 0), or `count` was 0. Both are errors now,
/// naming the stream. (A closed one is not seen: the Rust runtime opens
/// `/dev/null` on it before `main`.)
#[test]
fn a_standard_stream_open_the_other_way_is_an_error() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let redirect = |fd: &str| format!("{fd}<>/dev/null {fd}<{}", input.display());
    let input = input.to_str().unwrap();
    let write_only = scratch.path("w");
    let cases = [
        (
            redirect("1"),
            vec!["run", "-i", input, "--agg", "count"],
            "output",
            "writing",
        ),
        (
            redirect("1"),
            vec!["run", "-i", input, "--agg", "count", "-o", "-"],
            "output",
            "writing",
        ),
        (
            redirect("1"),
            vec![
                "map",
                "-i",
                input,
                "--agg",
                "count",
                "--part",
                "0/1",
                "--emit-partial",
                "-",
            ],
            "output",
            "writing",
        ),
        (
            format!("0>{}", write_only.display()),
            vec!["run", "-i", "-", "--agg", "count"],
            "input",
            "reading",
        ),
    ];
    for (redirect, args, what, how) in &cases {
        let r = run_redirected(redirect, args);
        r.expect_code(1, redirect);
        let want = format!(
            "rayproc: error: standard {what} is not open for {how} (open the other way only): "
        );
        assert!(
            r.stderr.starts_with(&want),
            "{redirect} {args:?}: {}",
            r.stderr
        );
    }
}

/// What `run --input INPUT --agg sum:x` prints on stdout.
fn expected(input: &Path) -> String {
    let run = run_on(input, &["--agg", "sum:x", "--format", "csv"]);
    run.expect_ok("to stdout");
    run.stdout
}

/// `run --input in.csv --agg sum:x --output TARGET`, through `sh` so that
/// the umask can be set for the child alone.
fn run_with_umask(umask: &str, input: &Path, target: &Path) -> crate::common::Run {
    let args = [
        os("run"),
        os("--input"),
        input.as_os_str(),
        os("--agg"),
        os("sum:x"),
        os("--output"),
        target.as_os_str(),
    ];
    run_through_sh(&format!("umask {umask}; "), "", &args)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A replaced output kept its mode but became the writer's: as root (a
/// cron job), a report owned by a service user became root's, and with
/// mode 0640 unreadable to that user. It keeps its owner and group now.
/// (Skipped where this process may not give a file away: not root.)
#[test]
fn a_replaced_output_keeps_its_owner_where_it_may() {
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let out = scratch.write("out.csv", "old");
    if std::os::unix::fs::chown(&out, Some(65534), Some(65534)).is_err() {
        eprintln!("not root: skipped");
        return;
    }
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    run_on(
        &input,
        &["--agg", "sum:x", "--output", out.to_str().unwrap()],
    )
    .expect_ok("run");
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!((meta.uid(), meta.gid(), mode(&out)), (65534, 65534, 0o640));
    assert_ne!(std::fs::read_to_string(&out).unwrap(), "old");
}

#[test]
fn output_files_get_the_umask_mode_and_replaced_files_keep_theirs() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let new = scratch.path("new.csv");
    run_with_umask("022", &input, &new).expect_ok("umask 022");
    assert_eq!(mode(&new), 0o644);
    let private = scratch.path("private.csv");
    run_with_umask("077", &input, &private).expect_ok("umask 077");
    assert_eq!(mode(&private), 0o600);
    let shared = scratch.write("shared.csv", "old\n");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    run_with_umask("077", &input, &shared).expect_ok("replace");
    assert_eq!(mode(&shared), 0o640);
    assert_ne!(std::fs::read_to_string(&shared).unwrap(), "old\n");
}

#[test]
fn output_through_a_symlink_replaces_the_target_and_keeps_the_link() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    std::fs::create_dir(scratch.path("real")).unwrap();
    let target = scratch.write("real/out.csv", "old\n");
    let link = scratch.path("link.csv");
    std::os::unix::fs::symlink("real/out.csv", &link).unwrap();
    run_on(
        &input,
        &["--agg", "sum:x", "--output", link.to_str().unwrap()],
    )
    .expect_ok("link");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), expected(&input));
    assert_eq!(
        std::fs::read_dir(scratch.path("real")).unwrap().count(),
        1,
        "no temporary left beside the target"
    );
}

#[test]
fn output_to_dev_null_writes_into_the_device() {
    let (_scratch, input) = crate::common::temp_csv(csv(10));
    run_on(&input, &["--agg", "sum:x", "--output", "/dev/null"]).expect_ok("/dev/null");
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device());
}

#[test]
fn output_to_dev_full_reports_the_full_device() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let (_scratch, input) = crate::common::temp_csv(csv(10));
    let failed = run_on(&input, &["--agg", "sum:x", "--output", "/dev/full"]);
    failed.expect_code(1, "/dev/full");
    assert!(
        failed.stderr.starts_with("rayproc: error: /dev/full: ")
            && failed.stderr.contains("No space left on device")
            // the reason in words, without std's `(os error 28)`
            && !failed.stderr.contains("os error"),
        "{}",
        failed.stderr
    );
    let meta = std::fs::metadata("/dev/full").unwrap();
    assert!(meta.file_type().is_char_device());
}

#[test]
fn output_to_a_fifo_feeds_its_reader() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let fifo = scratch.path("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    run_on(
        &input,
        &["--agg", "sum:x", "--output", fifo.to_str().unwrap()],
    )
    .expect_ok("fifo");
    // checked first: a replaced FIFO would leave the reader blocked
    let meta = std::fs::metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(reader.join().unwrap(), expected(&input));
}

/// `run --input INPUT --agg sum:x --output OUTPUT` with `stdout`, no
/// terminal and no shell: how the tests of `--output /dev/stdout` give it
/// a stdout that is a file, a pipe or a socket. The command (and with it
/// the parent's copy of `stdout`) is dropped on return, so that a pipe's
/// or a socket's reader sees its end.
fn run_to(input: &Path, output: &str, stdout: Stdio) -> std::process::Output {
    Command::new(bin_path())
        .args(["run", "--input"])
        .arg(input)
        .args(["--agg", "sum:x", "--output", output])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// The names under which a process reaches its own stdout on Linux.
#[cfg(target_os = "linux")]
const STDOUT_NAMES: [&str; 3] = ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

/// `--output /dev/stdout` with a file for stdout writes through that
/// descriptor, where the next byte would go, as the command's plain stdout
/// would: `{ echo header; rayproc ... -o /dev/stdout; echo trailer; } >
/// report` keeps all three, `>> log` keeps the log. rayproc took the
/// magic link for the file's path and replaced the file by a rename: the
/// header and the log were lost, the trailer went to the unlinked file,
/// and a stdout file already removed gave a stray file `NAME (deleted)`.
#[cfg(target_os = "linux")]
#[test]
fn output_to_dev_stdout_writes_into_a_file_stdout_where_it_stands() {
    use std::io::{Read, Seek, Write};
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let want = expected(&input);
    for output in STDOUT_NAMES {
        let report = scratch.path("report.txt");
        let mut file = std::fs::File::create(&report).unwrap();
        file.write_all(b"header\n").unwrap();
        let done = run_to(&input, output, Stdio::from(file.try_clone().unwrap()));
        assert!(done.status.success(), "{output}: {done:?}");
        // (the clone shares the descriptor's offset, as the shell's does)
        file.write_all(b"trailer\n").unwrap();
        let report = std::fs::read_to_string(&report).unwrap();
        assert_eq!(report, format!("header\n{want}trailer\n"), "{output}");

        let log = scratch.write("log.txt", "previous line\n");
        let appended = std::fs::File::options().append(true).open(&log).unwrap();
        let done = run_to(&input, output, Stdio::from(appended));
        assert!(done.status.success(), "{output}: {done:?}");
        let log = std::fs::read_to_string(&log).unwrap();
        assert_eq!(log, format!("previous line\n{want}"), "{output} >>");

        let gone = scratch.path("gone.txt");
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&gone)
            .unwrap();
        file.write_all(b"header\n").unwrap();
        std::fs::remove_file(&gone).unwrap();
        let done = run_to(&input, output, Stdio::from(file.try_clone().unwrap()));
        assert!(done.status.success(), "{output}: {done:?}");
        let mut text = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, format!("header\n{want}"), "{output}, a removed file");
        assert_eq!(
            scratch.listing(),
            ["in.csv", "log.txt", "report.txt"],
            "{output}: no stray file"
        );
    }
}

/// `--output /dev/stdout` with a pipe or a socket for stdout writes into
/// it, as `-o -` does. The magic link's text, `pipe:[123]`, was read as a
/// relative path: "cannot create a file in /proc/self/fd", exit 1.
#[cfg(target_os = "linux")]
#[test]
fn output_to_dev_stdout_writes_into_a_piped_stdout() {
    use std::io::Read;
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let want = expected(&input);
    for output in STDOUT_NAMES {
        let done = run_to(&input, output, Stdio::piped());
        assert!(done.status.success(), "{output}: {done:?}");
        assert_eq!(String::from_utf8_lossy(&done.stdout), want, "{output}");

        let (mine, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let done = run_to(
            &input,
            output,
            Stdio::from(std::os::fd::OwnedFd::from(theirs)),
        );
        assert!(done.status.success(), "{output}: {done:?}");
        let mut received = String::new();
        (&mine).read_to_string(&mut received).unwrap();
        assert_eq!(received, want, "{output}, a socket");
    }
    let parquet = Command::new(bin_path())
        .args(["run", "--input"])
        .arg(&input)
        .args(["--agg", "sum:x", "--format", "parquet", "-o", "/dev/stdout"])
        .output()
        .unwrap();
    assert!(parquet.status.success(), "{parquet:?}");
    assert!(parquet.stdout.starts_with(b"PAR1") && parquet.stdout.ends_with(b"PAR1"));
    let on_stderr = Command::new(bin_path())
        .args(["run", "--input"])
        .arg(&input)
        .args(["--agg", "sum:x", "-o", "/dev/stderr"])
        .output()
        .unwrap();
    assert!(on_stderr.status.success(), "{on_stderr:?}");
    assert_eq!(String::from_utf8_lossy(&on_stderr.stderr), want);
    assert_eq!(on_stderr.stdout, b"");
    assert_eq!(scratch.listing(), ["in.csv"]);
}

/// A descriptor that is not open, or open for reading only, is refused
/// in words, and nothing is written. `-o /dev/stdin` with the input for
/// stdin replaced the input file by the result; `-o /dev/fd/N` of no open
/// descriptor said "cannot create a file in /dev/fd".
#[cfg(target_os = "linux")]
#[test]
fn output_to_a_descriptor_that_cannot_be_written_is_refused() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let failed = run_to(&input, "/dev/fd/987", Stdio::null());
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert_eq!(
        String::from_utf8_lossy(&failed.stderr),
        "rayproc: error: /dev/fd/987: cannot write the output: descriptor 987 is not open\n"
    );
    let read_only = Command::new(bin_path())
        .args(["run", "--input"])
        .arg(&input)
        .args(["--agg", "sum:x", "-o", "/dev/stdin"])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert_eq!(read_only.status.code(), Some(1), "{read_only:?}");
    assert_eq!(
        String::from_utf8_lossy(&read_only.stderr),
        "rayproc: error: /dev/stdin: cannot write the output: descriptor 0 is open for reading only\n"
    );
    assert_eq!(std::fs::read_to_string(&input).unwrap(), csv(10));
    assert_eq!(scratch.listing(), ["in.csv"]);
}

/// A link to another process's descriptor (`/proc/PID/fd/1`) cannot be
/// written through: the file it leads to is opened as the shell's `>`
/// opens it, in place, and keeps its inode (it was replaced by a rename,
/// and the process went on writing to the unlinked old file).
#[cfg(target_os = "linux")]
#[test]
fn output_to_another_process_descriptor_writes_its_file_in_place() {
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(10));
    let log = scratch.write(
        "log.txt",
        "a log longer than the result, which is emptied first\n",
    );
    let inode = std::fs::metadata(&log).unwrap().ino();
    let mut sleeper = Command::new("sleep")
        .arg("60")
        .stdout(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    let done = run_to(
        &input,
        &format!("/proc/{}/fd/1", sleeper.id()),
        Stdio::null(),
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(done.status.success(), "{done:?}");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), expected(&input));
    assert_eq!(
        std::fs::metadata(&log).unwrap().ino(),
        inode,
        "the same file"
    );
    assert_eq!(scratch.listing(), ["in.csv", "log.txt"]);
}

#[test]
fn output_into_a_missing_folder_names_the_target() {
    let (scratch, input) = crate::common::temp_csv(csv(10));
    let target = scratch.path("missing/out.csv");
    let failed = run_on(
        &input,
        &["--agg", "sum:x", "--output", target.to_str().unwrap()],
    );
    failed.expect_code(1, "missing folder");
    assert!(
        failed
            .stderr
            .starts_with(&format!("rayproc: error: {}: ", target.display())),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains(".out.csv."), "{}", failed.stderr);
    assert_eq!(failed.stderr.lines().count(), 1, "{}", failed.stderr);
}

#[test]
fn thousands_of_threads_give_the_same_bytes_as_the_default() {
    let (_scratch, input) = crate::common::temp_csv(csv(6));
    let base = run_on(&input, &["--agg", "sum:x,count", "--by", "k"]);
    base.expect_ok("default");
    for threads in ["4096", "1000"] {
        let many = run_on(
            &input,
            &["--agg", "sum:x,count", "--by", "k", "--threads", threads],
        );
        many.expect_code(0, "many threads");
        assert_eq!(many.stdout, base.stdout, "--threads {threads}");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let useful = (4 * cores).max(256);
        if useful < threads.parse().unwrap() {
            assert_eq!(
                many.stderr,
                format!(
                    "rayproc: note: --threads {threads} capped to {useful} (more than 4 per core \
                     cannot help; 256 are always allowed)\n"
                )
            );
        }
        let quiet = run_on(
            &input,
            &[
                "--agg",
                "sum:x,count",
                "--by",
                "k",
                "--threads",
                threads,
                "-q",
            ],
        );
        quiet.expect_ok("quiet");
        assert_eq!(quiet.stdout, base.stdout);
    }
}

#[test]
fn a_million_partitions_are_coarsened_and_give_the_same_bytes() {
    // partitions of this input are under 64 KiB: past 4096 they are coarsened
    let (_scratch, input) = crate::common::temp_csv(csv(20_000));
    let base = run_on(&input, &["--agg", "sum:x,mean:x,count", "--by", "k"]);
    base.expect_ok("default");
    let many = run_on(
        &input,
        &[
            "--agg",
            "sum:x,mean:x,count",
            "--by",
            "k",
            "--partitions",
            "1000000",
            "--threads",
            "2",
        ],
    );
    many.expect_code(0, "a million partitions");
    assert_eq!(many.stdout, base.stdout);
    assert_eq!(
        many.stderr,
        "rayproc: note: --partitions 1000000 coarsened to 4096 (an input is cut into more than \
         4096 partitions only as far as each holds 64 KiB)\n"
    );
    let honoured = run_on(
        &input,
        &[
            "--agg",
            "sum:x,mean:x,count",
            "--by",
            "k",
            "--partitions",
            "64",
        ],
    );
    honoured.expect_ok("64 partitions are made as asked");
    assert_eq!(honoured.stdout, base.stdout);
    let store = _scratch.path("st");
    let split = run([
        os("split"),
        os("--input"),
        input.as_os_str(),
        os("--store"),
        store.as_os_str(),
        os("--partitions"),
        os("1000000"),
    ]);
    split.expect_code(0, "split into a million partitions");
    // split has its own, stricter cap (see tests/faults_store.rs)
    assert!(
        split
            .stderr
            .contains("--partitions 1000000 would make partitions"),
        "{}",
        split.stderr
    );
    let stored = run([
        os("run"),
        os("--store"),
        store.as_os_str(),
        os("--agg"),
        os("sum:x,mean:x,count"),
        os("--by"),
        os("k"),
    ]);
    stored.expect_ok("run --store");
    assert_eq!(stored.stdout, base.stdout);
}

/// The note on a coarsened `--partitions` says what was done for this run:
/// it said "coarsened to 4096 (partitions under 64 KiB cannot help)" while
/// cutting a 175-byte file into 4096 of them, and "coarsened to 4096" of
/// standard input, which is read in blocks whatever `--partitions` says.
/// Neither changes the output.
#[test]
fn the_coarsening_note_says_what_is_done() {
    let sample = crate::common::sample();
    let base = run_on(&sample, &["--agg", "count,sum:qty"]);
    base.expect_ok("default");
    let rule = "(an input is cut into more than 4096 partitions only as far as each holds 64 KiB)";
    let coarsened = run_on(&sample, &["--agg", "count,sum:qty", "-p", "4097"]);
    coarsened.expect_code(0, "-p 4097");
    assert_eq!(coarsened.stdout, base.stdout);
    assert_eq!(
        coarsened.stderr,
        format!("rayproc: note: --partitions 4097 coarsened to 4096 {rule}\n")
    );
    // two inputs, both coarsened alike: one count, no "for N of M inputs"
    let sample = sample.to_str().unwrap();
    let both = run([
        "run", "-i", sample, "-i", sample, "--agg", "count", "-p", "5000",
    ]);
    both.expect_code(0, "two inputs");
    assert_eq!(
        both.stderr,
        format!("rayproc: note: --partitions 5000 coarsened to 4096 {rule}\n")
    );
    let honoured = run_on(
        std::path::Path::new(sample),
        &["--agg", "count,sum:qty", "-p", "4096"],
    );
    honoured.expect_ok("-p 4096 is made as asked");
    assert_eq!(honoured.stdout, base.stdout);
    // a stream has no partitions to coarsen
    let text = std::fs::read(sample).unwrap();
    let streamed = crate::common::run_with_stdin(
        ["run", "-i", "-", "--agg", "count,sum:qty", "-p", "5000"],
        Some(&text),
    );
    streamed.expect_ok("stdin with -p 5000");
    assert_eq!(streamed.stdout, base.stdout);
}

#[test]
fn an_arrow_input_truncated_while_mapped_is_an_error_not_a_crash() {
    let scratch = Scratch::new();
    let source = scratch.write("in.csv", csv(20_000));
    let store = scratch.path("in.store");
    split_quietly(&source, &store, 1);
    // a store partition is an Arrow IPC file: read it as an --input
    let partition = store_partitions(&store).remove(0);
    let input = scratch.path("in.arrow");
    std::fs::copy(&partition, &input).unwrap();
    let args = [
        os("run"),
        os("--input"),
        input.as_os_str(),
        os("--agg"),
        os("sum:x"),
        os("--threads"),
        os("1"),
        os("--progress"),
        os("never"),
    ];
    let (child, flag) = spawn_paused(&scratch, "map", &args);
    truncate(&input);
    expect_truncation_error(child, &flag, &[input]);
}

/// An interrupt while `split` makes its new generation current waits until
/// that generation is current and complete, then ends the process. The
/// interrupt's cleanup used to remove the temporary directory while the
/// split renamed it: the new generation was emptied, made current, and
/// the old one deleted (the store gone, 9 times in 10 in a race test).
#[test]
fn an_interrupt_while_a_split_commits_waits_for_the_new_generation() {
    let scratch = Scratch::new();
    let input = scratch.write("in.csv", csv(20_000));
    let store = scratch.path("st");
    let split = [
        os("split"),
        os("-q"),
        os("-i"),
        input.as_os_str(),
        os("--store"),
        store.as_os_str(),
    ];
    let first = Command::new(bin_path()).args(split).output().unwrap();
    assert!(first.status.success());
    std::fs::write(&input, csv(30_000)).unwrap();
    let (child, flag) = spawn_paused(&scratch, "commit", &split);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    // the interrupt must wait for the commit, not end the process here
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::remove_file(&flag).unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.signal(), Some(libc::SIGINT), "{done:?}");
    let out = run(["run", "--store", store.to_str().unwrap(), "--agg", "count"]);
    out.expect_ok("the new generation");
    assert_eq!(out.stdout, "count\n30000\n");
    let left: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
