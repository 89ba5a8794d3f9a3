//! `rayproc run --cluster` on a real Ray cluster (issue 13 §3): a 2-node loopback cluster
//! gives the same bytes as `rayproc run`, data errors read the same, and a node that dies
//! mid-run either changes nothing or ends the run cleanly.
//!
//! Its own test binary, one test: the cluster takes about 15 s to start, so every check
//! shares it. The checks themselves are Python (`python/tests/test_cluster.py`, driven with
//! the Ray API); this test provisions what they need:
//! - a virtualenv under `target/ray-venv` with `ray`, `polars` and `pyarrow` from the package
//!   registry and `pip install ./python` (made once, reused while its stamp file says it is
//!   complete; delete the folder to rebuild it);
//! - the script runs with `PYTHONPATH=python`, so it always tests the driver as checked out,
//!   even when the installed copy in the venv is older.
//!
//! The script starts and stops every Ray process itself, by PID (never `ray stop`, which
//! would end every Ray process of the user), and fails if one is left.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const VENV_STAMP: &str = "rayproc-venv-complete";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd`, echoing what it does; panics with `why` and the output's tail on failure.
fn step(what: &str, cmd: &mut Command, why: &str) {
    eprintln!("cluster test: {what}");
    let t = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}\n{why}"));
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let tail: String = text
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        panic!("{what} failed ({}):\n{tail}\n\n{why}", out.status);
    }
    eprintln!(
        "cluster test: {what}: done in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// The virtualenv's python, after making the venv if it is not complete.
fn venv_python(venv: &Path) -> PathBuf {
    let python = venv.join("bin").join("python");
    if venv.join(VENV_STAMP).exists() && python.exists() {
        eprintln!("cluster test: reusing the virtualenv {}", venv.display());
        return python;
    }
    let no_registry = "The cluster test installs ray, polars and pyarrow from the package \
                       registry into target/ray-venv: pip could not do it. Is the registry \
                       reachable (network, proxy, PIP_INDEX_URL)?";
    step(
        &format!("python3 -m venv {}", venv.display()),
        Command::new("python3").arg("-m").arg("venv").arg(venv),
        "The cluster test needs python3 (3.9 or newer) with the venv module.",
    );
    step(
        "pip install ray polars pyarrow (from the registry, about 300 MB)",
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "ray",
            "polars",
            "pyarrow",
        ]),
        no_registry,
    );
    step(
        "pip install ./python (the rayproc_ray driver)",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(repo().join("python")),
        no_registry,
    );
    std::fs::write(venv.join(VENV_STAMP), b"ray polars pyarrow ./python\n")
        .expect("write the venv stamp");
    python
}

#[test]
fn run_cluster_on_a_two_node_loopback_ray_cluster() {
    let t = Instant::now();
    let venv = repo().join("target").join("ray-venv");
    let python = venv_python(&venv);
    let script = repo().join("python").join("tests").join("test_cluster.py");
    eprintln!("cluster test: {} {}", python.display(), script.display());
    let status = Command::new(&python)
        .arg(&script)
        .env("RAYPROC_BIN", env!("CARGO_BIN_EXE_rayproc"))
        .env("PYTHONPATH", repo().join("python"))
        .env("RAY_USAGE_STATS_ENABLED", "0")
        .env("RAY_AUTH_MODE", "disabled")
        .env_remove("RAY_ADDRESS")
        .stdin(Stdio::null())
        .status()
        .expect("run python/tests/test_cluster.py");
    assert!(
        status.success(),
        "python/tests/test_cluster.py failed ({status}); its output is above"
    );
    eprintln!("cluster test: passed in {:.1} s", t.elapsed().as_secs_f64());
}
