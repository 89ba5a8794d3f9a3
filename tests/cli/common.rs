//! Helpers shared by the contract tests: running the `rayproc` binary,
//! writing temporary CSV inputs, checking that `--partitions` and
//! `--threads` never change the output, building CSV text that knows its
//! lines, and reading JSON output.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Partition counts every invariance check goes through.
pub const PARTITIONS: &[u32] = &[1, 2, 3, 7, 64];
/// Thread counts every invariance check goes through.
pub const THREADS: &[u32] = &[1, 2, 4];

/// A `rayproc` command, ready for arguments ([`bin_path`]'s binary).
pub fn rayproc() -> Command {
    Command::new(bin_path())
}

/// What one run of the binary gave.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole run when the exit code is not `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: expected exit code {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the run failed with exit code 1 and stderr holds
    /// `says`.
    #[track_caller]
    pub fn expect_error(&self, what: &str, says: &str) -> &Self {
        self.expect_code(1, what);
        assert!(
            self.stderr.contains(says),
            "{what}: stderr does not say {says:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Panics unless the run succeeded with an empty stderr.
    #[track_caller]
    pub fn expect_ok(&self, what: &str) -> &Self {
        self.expect_code(0, what);
        assert_eq!(self.stderr, "", "{what}: unexpected stderr");
        self
    }

    /// The first field of the first row after the header, of a CSV answer
    /// (what one `--agg` without `--by` gives first).
    #[track_caller]
    pub fn first_answer(&self) -> &str {
        let row = self.stdout.lines().nth(1);
        let row = row.unwrap_or_else(|| panic!("no row in:\n{}", self.stdout));
        row.split(',').next().unwrap_or_default()
    }

    /// The stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `rayproc` with `args` and optional standard input.
pub fn run_with_stdin<I, S>(args: I, stdin: Option<&[u8]>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run_bytes_with_stdin(args, stdin);
    Run {
        code: out.code,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: out.stderr,
    }
}

/// Runs `rayproc` with `args` (no standard input).
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_stdin(args, None)
}

/// `rayproc run --input FILE ARGS...`
pub fn run_on(file: &Path, args: &[&str]) -> Run {
    let mut all: Vec<&OsStr> = vec![OsStr::new("run"), OsStr::new("--input"), file.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    run(all)
}

/// A temporary directory that holds test inputs and outputs.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `content` as file `name` in the directory and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write temporary CSV");
        path
    }

    /// The names of the files now in the directory, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read temporary directory")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

/// Writes a single temporary CSV; keep the returned `Scratch` alive while
/// the file is used.
pub fn temp_csv(content: impl AsRef<[u8]>) -> (Scratch, PathBuf) {
    let scratch = Scratch::new();
    let path = scratch.write("input.csv", content);
    (scratch, path)
}

/// The absolute path of a fixture under `testdata/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// Runs `rayproc run --input FILE ARGS --partitions P --threads T` for every
/// P in [`PARTITIONS`] and T in [`THREADS`]; returns every run, labelled.
pub fn run_everywhere(args: &[&str], file: &Path) -> Vec<(String, Run)> {
    let mut runs = Vec::new();
    for &p in PARTITIONS {
        for &t in THREADS {
            let (ps, ts) = (p.to_string(), t.to_string());
            let mut all: Vec<&str> = args.to_vec();
            all.extend(["--partitions", &ps, "--threads", &ts]);
            runs.push((
                format!("--partitions {p} --threads {t}"),
                run_on(file, &all),
            ));
        }
    }
    runs
}

/// Runs with every partition and thread count, asserts that each run
/// succeeds with the same stdout, and returns that stdout.
#[track_caller]
pub fn run_all_partitions(args: &[&str], file: &Path) -> String {
    let runs = run_everywhere(args, file);
    let (first_label, first) = &runs[0];
    first.expect_code(0, &format!("{args:?} {first_label}"));
    for (label, r) in &runs[1..] {
        r.expect_code(0, &format!("{args:?} {label}"));
        assert_eq!(
            r.stdout,
            first.stdout,
            "{args:?} on {}: stdout with {label} differs from stdout with {first_label}",
            file.display()
        );
    }
    first.stdout.clone()
}

/// Runs with every partition and thread count and asserts that each run
/// fails with exit code `code` and the same stderr; returns that stderr.
#[track_caller]
pub fn fail_all_partitions(args: &[&str], file: &Path, code: i32) -> String {
    let runs = run_everywhere(args, file);
    let (first_label, first) = &runs[0];
    for (label, r) in &runs {
        r.expect_code(code, &format!("{args:?} {label}"));
        assert_eq!(r.stdout, "", "{args:?} {label}: stdout on failure");
        assert_eq!(
            r.stderr,
            first.stderr,
            "{args:?} on {}: stderr with {label} differs from stderr with {first_label}",
            file.display()
        );
    }
    first.stderr.clone()
}

/// The path of the `rayproc` binary, for tests that need a plain
/// `std::process::Command` (pipes closed early, for instance): the one
/// cargo built, or `RAYPROC_BIN` when set, to run the tests against an
/// older build and see the test of a fix fail without it.
pub fn bin_path() -> PathBuf {
    std::env::var_os("RAYPROC_BIN")
        .map_or_else(|| assert_cmd::cargo::cargo_bin("rayproc"), PathBuf::from)
}

/// A small deterministic generator (PCG-style LCG), so that generated
/// inputs are the same on every run: no test may depend on luck.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one run of the binary gave, stdout as bytes: for outputs that need
/// not be UTF-8 (`--format csv` writes text as its bytes).
#[derive(Debug, Clone)]
pub struct RunBytes {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `rayproc` with `args` and optional standard input, keeping stdout
/// as bytes.
pub fn run_bytes_with_stdin<I, S>(args: I, stdin: Option<&[u8]>) -> RunBytes
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = rayproc();
    cmd.args(args);
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes.to_vec());
    }
    let out = cmd.output().expect("rayproc runs");
    RunBytes {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------
// CSV text, the sample file, JSON output

/// Builds a CSV text while tracking the physical line each record starts on.
pub struct CsvText {
    pub text: String,
    /// Newlines in `text` so far.
    newlines: usize,
}

impl CsvText {
    pub fn new(header: &str) -> CsvText {
        CsvText {
            text: format!("{header}\n"),
            newlines: 1,
        }
    }
    /// The 1-based physical line the next record will start on.
    pub fn next_line(&self) -> usize {
        1 + self.newlines
    }
    /// Appends a raw record (terminator included by the caller) and returns
    /// the line it starts on.
    pub fn push(&mut self, record: &str) -> usize {
        let line = self.next_line();
        self.text.push_str(record);
        self.newlines += record.matches('\n').count();
        line
    }
}

pub fn sample() -> PathBuf {
    fixture("sample.csv")
}

pub fn json_of(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

pub fn f64_of(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// Where a store's manifest and partition files are: its current
/// generation (`DIR/gen-N`), or the directory itself for an older
/// rayproc's store.
pub fn store_generation(store: &Path) -> PathBuf {
    match std::fs::read_to_string(store.join("current")) {
        Ok(name) => store.join(name.trim_end()),
        Err(_) => store.to_path_buf(),
    }
}

/// Rewrites `store`'s manifest as a rayproc writing format `version` would
/// have (the same fields, the checksum recomputed), for the tests of older
/// stores; the manifest must be of the version this rayproc writes.
pub fn set_store_version(store: &Path, version: u32) {
    let path = store_generation(store).join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let now = format!("\"version\": {}", rayproc::store::manifest::VERSION);
    assert!(text.contains(&now), "the version this rayproc writes");
    let older = text.replace(&now, &format!("\"version\": {version}"));
    write_store_manifest(&path, &older);
}

/// Writes `text` as the store manifest at `path`, its checksum line
/// recomputed the way `split` writes it (when it has one: an older
/// rayproc's manifest has none): what someone who can write the store can
/// always do.
pub fn write_store_manifest(path: &Path, text: &str) {
    const HEAD: &str = "{\n  \"checksum\": \"xxh3:";
    let out = match text.strip_prefix(HEAD) {
        Some(after) => {
            let rest = &after[16 + 3..];
            format!(
                "{HEAD}{:016x}\",\n{rest}",
                rayproc::xxh3::xxh3_64(rest.as_bytes())
            )
        }
        None => text.to_string(),
    };
    std::fs::write(path, out).unwrap();
}

/// `data` compressed as gzip.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `data` compressed as zstd.
pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Writes `batch` as Parquet at `path`, in row groups of at most
/// `row_group_rows` rows (`None`: the writer's default).
pub fn write_parquet(path: &Path, batch: &arrow_array::RecordBatch, row_group_rows: Option<usize>) {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(row_group_rows)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Writes `batch` as an Arrow IPC file at `path`, in record batches of at
/// most `batch_rows` rows (`None`: one).
pub fn write_ipc(path: &Path, batch: &arrow_array::RecordBatch, batch_rows: Option<usize>) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    let step = batch_rows.unwrap_or(batch.num_rows()).max(1);
    for at in (0..batch.num_rows()).step_by(step) {
        w.write(&batch.slice(at, step.min(batch.num_rows() - at)))
            .unwrap();
    }
    w.finish().unwrap();
}

/// Writes `batch` as `NAME.parquet` (row groups of at most `parquet_rows`
/// rows) and `NAME.arrow` (record batches of at most `ipc_rows` rows) in
/// `scratch`; returns both paths.
pub fn write_parquet_and_ipc(
    scratch: &Scratch,
    name: &str,
    batch: &arrow_array::RecordBatch,
    parquet_rows: Option<usize>,
    ipc_rows: Option<usize>,
) -> [PathBuf; 2] {
    let parquet = scratch.path(&format!("{name}.parquet"));
    write_parquet(&parquet, batch, parquet_rows);
    let ipc = scratch.path(&format!("{name}.arrow"));
    write_ipc(&ipc, batch, ipc_rows);
    [parquet, ipc]
}

/// Maps every part of `n` into `dir`, returning the partial files (in
/// part order).
pub fn map_all(dir: &Scratch, query: &[&str], n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let out = dir.path(&format!("p{i}-of-{n}.part"));
            let mut args: Vec<String> = vec!["map".into()];
            args.extend(query.iter().map(|s| s.to_string()));
            args.extend([
                "--part".into(),
                format!("{i}/{n}"),
                "--emit-partial".into(),
                out.display().to_string(),
            ]);
            run(&args).expect_ok(&format!("map {i}/{n}"));
            out
        })
        .collect()
}
