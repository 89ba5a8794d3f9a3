//! `rayproc run --cluster ADDRESS`: the same query on a Ray cluster. The
//! scheduling is Ray's and lives in the Python driver (`python/`,
//! `rayproc_ray`); this module only checks the flags as `run` would, and
//! hands the driver a normalised command line (long flags; paths as typed:
//! the driver runs the maps in this directory when a path is relative, so
//! that a directory name holding `*`, `?` or `[` never becomes part of a
//! glob pattern and messages name the paths as `run` does) with the path
//! of this binary, which the driver ships to the workers. The driver runs
//! `rayproc map` per part and `rayproc reduce`, so the answer is this
//! binary's, byte for byte; its exit code becomes ours (exec).

use std::ffi::OsString;
use std::path::Path;

use clap::ValueEnum;

use super::args::{ProgressMode, RunArgs};
use crate::error::{show_path, Error, Result};

/// The environment variable naming the Python interpreter of the driver.
pub const PYTHON_VAR: &str = "RAYPROC_PYTHON";

pub fn run(args: RunArgs) -> Result<()> {
    // the same usage errors as without --cluster, first
    args.clone().validate()?;
    let argv = driver_args(&args)?;
    // set but empty (`RAYPROC_PYTHON= rayproc ...`) is unset, as for PATH
    let python = (std::env::var_os(PYTHON_VAR))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    check_python(&python)?;
    let mut command = std::process::Command::new(&python);
    command.arg("-c").arg(DRIVER).arg("run").args(&argv);
    exec(command, &python)
}

/// What [`check_python`] runs: it prints the interpreter's version after a
/// word no other program prints for `-c CODE`.
const PROBE: &str = "import sys; sys.stdout.write('rayproc-python %d.%d' % sys.version_info[:2])";

/// The oldest Python the driver runs on (`python/pyproject.toml`).
const OLDEST_PYTHON: (u32, u32) = (3, 9);

/// Refuses a `python` that is not a Python the driver runs on. Once exec'd,
/// whatever it does is the run's outcome: `RAYPROC_PYTHON=/bin/true` exited
/// 0 having printed and written nothing, a lost result that a cron job
/// would take for a success. Asking it to print its version first costs one
/// interpreter start, against the seconds a cluster run takes anyway.
fn check_python(python: &OsString) -> Result<()> {
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| cannot_start(python, e))?;
    match probed_version(&out.stdout) {
        Some(v) if out.status.success() && v >= OLDEST_PYTHON => Ok(()),
        Some((major, minor)) if out.status.success() => Err(Error::Other(format!(
            "--cluster: {} is Python {major}.{minor}; the driver needs {}.{} or newer: set \
             {PYTHON_VAR} to one (docs/cluster.md)",
            show_path(Path::new(python)),
            OLDEST_PYTHON.0,
            OLDEST_PYTHON.1
        ))),
        _ => Err(Error::Other(format!(
            "--cluster: {} does not run Python code (`-c` printed no version{}): set \
             {PYTHON_VAR} to a Python that has the driver (pip install ./python, see \
             docs/cluster.md)",
            show_path(Path::new(python)),
            match out.status.code() {
                Some(0) => String::new(),
                Some(code) => format!(", exit {code}"),
                None => ", killed by a signal".into(),
            }
        ))),
    }
}

/// What the interpreter runs: `python -m rayproc_ray`, but a Python
/// without the package says so in rayproc's words and how to get it (it
/// printed only Python's "No module named rayproc_ray"). `run_module` with
/// `alter_sys` gives the driver the `sys.argv` that `-m` gives it.
const DRIVER: &str = "\
import runpy, sys
try:
    import rayproc_ray
except ModuleNotFoundError as e:
    if e.name != 'rayproc_ray':
        raise
    sys.stderr.write('rayproc: error: --cluster: ' + sys.executable + ' has no rayproc_ray '
        '(the driver): install it into that Python with pip install ./python, or set '
        'RAYPROC_PYTHON to a Python that has it (docs/cluster.md)\\n')
    sys.exit(1)
runpy.run_module('rayproc_ray', run_name='__main__', alter_sys=True)
";

#[cfg(unix)]
fn exec(mut command: std::process::Command, python: &OsString) -> Result<()> {
    use std::os::unix::process::CommandExt;
    // the driver must see Ctrl-C and SIGTERM: it cancels its tasks and
    // removes its files itself (docs/cluster.md)
    crate::signals::restore_for_exec();
    let e = command.exec();
    Err(cannot_start(python, e))
}

#[cfg(not(unix))]
fn exec(mut command: std::process::Command, python: &OsString) -> Result<()> {
    let status = command.status().map_err(|e| cannot_start(python, e))?;
    std::process::exit(status.code().unwrap_or(1));
}

fn cannot_start(python: &OsString, e: std::io::Error) -> Error {
    Error::Other(format!(
        "--cluster: cannot start {} ({}); set {PYTHON_VAR} to a Python that has the driver \
         (pip install ./python, see docs/cluster.md)",
        show_path(Path::new(python)),
        crate::error::plain_reason(&e)
    ))
}

/// The version [`PROBE`] printed, if `stdout` is what it prints.
fn probed_version(stdout: &[u8]) -> Option<(u32, u32)> {
    let (major, minor) = (std::str::from_utf8(stdout).ok()?)
        .strip_prefix("rayproc-python ")?
        .split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The driver's command line for `args` (already validated).
fn driver_args(args: &RunArgs) -> Result<Vec<OsString>> {
    let q = &args.query;
    let mut out: Vec<OsString> = Vec::new();
    let mut flag = |name: &str, value: OsString| {
        out.push(name.into());
        out.push(value);
    };
    let binary = std::env::current_exe()
        .map_err(|e| Error::Other(format!("--cluster: cannot find this binary: {e}")))?;
    flag("--address", args.cluster.clone().unwrap_or_default().into());
    flag("--rayproc", binary.into());
    for input in &q.input {
        if input.as_os_str() == "-" {
            return Err(Error::Usage(
                "--cluster reads files that every node sees, not standard input".into(),
            ));
        }
        flag("--input", input.into());
    }
    if let Some(store) = &q.store {
        flag("--store", store.into());
    }
    for a in &q.agg {
        flag("--agg", a.into());
    }
    for b in &q.by {
        flag("--by", b.into());
    }
    if let Some(w) = &q.filter {
        flag("--where", w.clone());
    }
    if let Some(d) = &q.delimiter {
        flag("--delimiter", d.into());
    }
    if let Some(p) = args.partitions {
        flag("--partitions", p.to_string().into());
    }
    if let Some(t) = q.threads {
        flag("--threads", t.to_string().into());
    }
    if let Some(f) = args.format {
        let name = f.to_possible_value().expect("every format has a name");
        flag("--format", name.get_name().into());
    }
    // (`-o -` is standard output: the driver's, as without --output)
    if let Some(o) = super::validate::output_file(args.output.clone()) {
        flag("--output", o.into());
    }
    let progress = match args.progress {
        ProgressMode::Auto => "auto",
        ProgressMode::Always => "always",
        ProgressMode::Never => "never",
    };
    flag("--progress", progress.into());
    if q.no_header {
        out.push("--no-header".into());
    }
    // (attached: a text that starts with `-`, a sentinel such as `-999`,
    // would read as a flag to the driver and the maps)
    for n in &q.null {
        out.push(format!("--null={n}").into());
    }
    // per-store read options: every map opens the store and checks it
    if q.allow_stale {
        out.push("--allow-stale".into());
    }
    if q.no_verify {
        out.push("--no-verify".into());
    }
    if q.quiet {
        out.push("--quiet".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `--null` text that starts with `-` (`-999`) reached the driver
    /// and the maps as a flag of its own: each goes attached.
    #[test]
    fn null_texts_reach_the_driver_attached() {
        use clap::Parser;
        let cli = super::super::args::Cli::try_parse_from([
            "rayproc",
            "run",
            "-i",
            "a.csv",
            "--agg",
            "sum:x",
            "--null=-999",
            "--null",
            "NA",
            "--null=--",
            "--cluster",
            "auto",
        ])
        .unwrap();
        let super::super::args::Command::Run(args) = cli.command else {
            panic!("run");
        };
        let argv = driver_args(&args).unwrap();
        let nulls: Vec<&OsString> = argv
            .iter()
            .filter(|a| a.to_string_lossy().starts_with("--null"))
            .collect();
        assert_eq!(nulls, ["--null=-999", "--null=NA", "--null=--"]);
    }

    #[test]
    fn the_probe_s_version_is_read_and_compared() {
        assert_eq!(probed_version(b"rayproc-python 3.12"), Some((3, 12)));
        assert_eq!(probed_version(b"rayproc-python 2.7"), Some((2, 7)));
        assert!(probed_version(b"rayproc-python 3.10") >= Some(OLDEST_PYTHON));
        assert!(probed_version(b"rayproc-python 3.8") < Some(OLDEST_PYTHON));
        for other in [
            &b""[..],
            b"-c import sys",
            b"rayproc-python 3",
            b"rayproc-python x.y",
        ] {
            assert_eq!(probed_version(other), None, "{other:?}");
        }
    }

    /// The probe is what the version check reads, by the interpreter that
    /// runs the tests (skipped where there is no `python3`).
    #[test]
    fn a_python_passes_the_check() {
        let python: OsString = "python3".into();
        if std::process::Command::new(&python)
            .arg("-V")
            .output()
            .is_err()
        {
            eprintln!("no python3: skipped");
            return;
        }
        match check_python(&python) {
            Ok(()) => {}
            // an older python3 than the driver runs on is refused as such
            Err(e) => assert!(
                e.to_string().contains("; the driver needs 3.9 or newer"),
                "{e}"
            ),
        }
    }
}
