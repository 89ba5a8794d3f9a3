#!/usr/bin/env python3
"""Side-by-side benchmark of rayproc against DuckDB and Polars on the six reference queries.

Run it with the benchmark venv's interpreter (benches/setup.sh creates it), usually through
benches/run.sh:

    target/bench-venv/bin/python benches/compare.py --file target/bench-data/d10m.csv
    target/bench-venv/bin/python benches/compare.py --queries q1,q3 --runs 3 --no-scaling --parquet

For every query Q1..Q6 it runs, interleaved round-robin (each query's commands in an order
rotated by one place every round, see round_order), N times each:
  * rayproc        `rayproc run --input F --agg ... [--by ...] --threads T --format json --quiet`,
                   once per instruction path asked for (`--simd all`: avx512, avx2, sse and the portable
                   `none`, each capped with RAYPROC_SIMD, so one AVX-512 machine measures them all)
  * duckdb, polars `python benches/peers.py --engine E --query qN --file F --threads T`
and, once per round, the floors `cat F > /dev/null`, `wc -l F` and the bare Python imports of
the peers. Each child's wall time, user+sys CPU time and peak RSS come from os.wait4's rusage;
the report gives medians over the runs.

It also checks the answers: rayproc's JSON output is turned into the same summary that
peers.py prints (q3_summary for Q3; groups / sum_of_sums / max_sum for Q6) and compared with
each peer's RESULT line (floats to a relative tolerance of 1e-9, integers exactly). A failing
or missing rayproc is reported as FAILED while the peers' figures are still measured.

The report opens with the performance issues' targets (ratios to the fastest peer on every
path, Q1 against `wc -l`, the portable path against AVX2, peak RSS against the leanest peer,
2-thread scaling, beside the floor the machine itself sets: see machine_share), each marked met or not by the medians, with the ratio's range over the
rounds (each rayproc run against the same round's peers): a target met by the medians but
missed in some round is marked so, since its margin is within the machine's noise. Where one
is missed, docs/performance.md explains where the time goes. Every path must print the same
bytes, checked like the answers.

Writes a markdown report (default docs/benchmarks.md). Exit status: 0 when every run of every
engine succeeded and all answers agree, 1 otherwise (the report is written either way),
2 for a usage error.
"""
import argparse
import hashlib
import json
import shlex
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.dont_write_bytecode = True  # leave no __pycache__ in benches/
from peers import q3_summary  # noqa: E402  the exact summary the peers print for Q3

PEERS = ("duckdb", "polars", "pyarrow")
REL_TOL = 1e-9
# peers.py rounds these fields (to 9 and 12 decimals), so a value sitting on a rounding
# boundary can differ by one unit in the last kept place.
ABS_TOL = {"sum_of_means": 1.5e-9, "cat_000": 1.5e-12, "cat_099": 1.5e-12}


# ----------------------------------------------------------------------------- queries
class AnswerError(Exception):
    """rayproc's output could not be turned into the query's answer."""


def num(value, column):
    """A JSON value as int or float (numeric strings are accepted; None stays None)."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                pass
    raise AnswerError(f"column {column!r}: {value!r} is not a number")


def get(row, column):
    if column not in row:
        raise AnswerError(f"column {column!r} missing from rayproc output (has {sorted(row)})")
    return num(row[column], column)


def single(rows):
    if len(rows) != 1:
        raise AnswerError(f"expected 1 output row, got {len(rows)}")
    return rows[0]


def answer_q1(rows):
    return {"mean_x": get(single(rows), "mean_x")}


def answer_q2(rows):
    row = single(rows)
    res = {"rows": get(row, "count")}
    for c in ("x", "y", "n"):
        for func in ("count", "sum", "min", "max", "mean", "std"):
            res[f"{c}_{func}"] = get(row, f"{func}_{c}")
    return res


def answer_q3(rows):
    if any("k_small" not in r for r in rows):
        raise AnswerError("group column 'k_small' missing from rayproc output")
    return q3_summary([(r["k_small"], get(r, "count"), get(r, "mean_x")) for r in rows])


def answer_q4(rows):
    return {"distinct_k_large": get(single(rows), "distinct_k_large")}


def answer_q5(rows):
    row = single(rows)
    return {"median_x": get(row, "median_x"), "p99_x": get(row, "p99_x")}


def answer_q6(rows):
    sums = [get(r, "sum_n") for r in rows]
    if not sums:
        raise AnswerError("no groups in rayproc output")
    return {"groups": len(sums), "sum_of_sums": int(sum(sums)), "max_sum": int(max(sums))}


@dataclass
class Query:
    key: str
    title: str
    rayproc_args: list
    answer: object  # rows of rayproc's JSON output -> dict in peers.py's RESULT shape


STATS = ",".join(["count"] + [f"{f}:{c}" for c in ("x", "y", "n")
                              for f in ("count", "sum", "min", "max", "mean", "std")])
QUERIES = {q.key: q for q in [
    Query("q1", "mean x", ["--agg", "mean:x"], answer_q1),
    Query("q2", "6 stats x 3 cols", ["--agg", STATS], answer_q2),
    Query("q3", "by k_small: count, mean x", ["--by", "k_small", "--agg", "count,mean:x"], answer_q3),
    Query("q4", "distinct k_large", ["--agg", "distinct:k_large"], answer_q4),
    Query("q5", "median, p99 of x", ["--agg", "median:x,p99:x"], answer_q5),
    Query("q6", "by k_large: sum n (~1M groups)", ["--by", "k_large", "--agg", "sum:n"], answer_q6),
]}


def rayproc_rows(text):
    """Rows (dicts keyed by output column) from rayproc's --format json output.

    Accepts a single object, a list of objects, an object wrapping such a list
    ("rows"/"data"/"results"/"groups"), {"columns": [...], "rows": [[...], ...]}, or NDJSON.
    """
    text = text.strip()
    if not text:
        raise AnswerError("empty output")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        try:
            doc = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise AnswerError(f"output is not JSON ({e}): {text[:200]!r}") from None
    if isinstance(doc, dict):
        columns = doc.get("columns")
        for key in ("rows", "data", "results", "groups"):
            inner = doc.get(key)
            if isinstance(inner, list):
                if isinstance(columns, list) and all(isinstance(r, list) for r in inner):
                    inner = [dict(zip(columns, r)) for r in inner]
                doc = inner
                break
        else:
            doc = [doc]
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise AnswerError(f"unexpected JSON shape: {text[:200]!r}")
    return doc


def peer_answer(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.split(" ", 3)[3])
    raise AnswerError(f"no RESULT line in output: {text[-200:]!r}")


def values_agree(a, b, abs_tol=0.0):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_agree(x, y, abs_tol) for x, y in zip(a, b))
    if a is None or b is None or isinstance(a, (str, list, dict)) or isinstance(b, (str, list, dict)):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=abs_tol)


def differences(got, want):
    """Lines describing every key where two answers disagree (empty when they agree)."""
    out = []
    for key in sorted(set(got) | set(want)):
        a, b = got.get(key, "<missing>"), want.get(key, "<missing>")
        if not values_agree(a, b, ABS_TOL.get(key, 0.0)):
            out.append(f"{key}: {a!r} vs {b!r}")
    return out


# ----------------------------------------------------------------------------- measuring
@dataclass
class Sample:
    ok: bool
    wall: float = math.nan
    cpu: float = math.nan
    rss_mib: float = math.nan
    error: str = ""
    answer: dict = None
    digest: str = ""


# Linux keeps a process's peak RSS across exec, so a child forked from this (large, Python)
# harness would report at least the harness's own peak. GNU time forks the command from a
# tiny process and reports that child's own peak, so it is used when present.
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def measure(argv, timeout, keep_stdout=True, env=None):
    """Run argv once: wall time, user+sys CPU (wait4 rusage) and peak RSS of the command.

    env: variables added to this process's environment for the command."""
    if shutil.which(argv[0]) is None:
        return Sample(False, error=f"cannot start {argv[0]}: not found or not executable"), ""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if GNU_TIME else argv
        t0 = time.perf_counter()
        try:
            # own process group, so a timeout kills the command and not only GNU time
            proc = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stderr=err, process_group=0,
                                    stdout=out if keep_stdout else subprocess.DEVNULL,
                                    env={**os.environ, **env} if env else None)
        except OSError as e:
            return Sample(False, error=f"cannot start {argv[0]}: {e}"), ""
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: the command is in its own group and would live on
            kill()
            raise
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        rss_kib = usage.ru_maxrss
        if GNU_TIME:
            last = (rss_file.read().strip().splitlines() or [""])[-1]
            rss_kib = int(last) if last.isdigit() else math.nan
    sample = Sample(True, wall, usage.ru_utime + usage.ru_stime, rss_kib / 1024)
    if timed_out.is_set():
        sample.ok, sample.error = False, f"killed after the {timeout:g} s timeout"
    elif proc.returncode != 0:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        sample.ok, sample.error = False, f"exit status {proc.returncode}: {tail[:300]}"
    return sample, stdout


@dataclass
class Task:
    section: str          # "csv", "parquet", "scaling" or "floors"
    query: str            # q1..q6, or a floor's name
    engine: str
    argv: list
    answer: object = None  # stdout -> answer dict, or None for floors
    env: dict = None       # environment added for the command (rayproc's RAYPROC_SIMD cap)
    samples: list = field(default_factory=list)
    failed: str = ""      # first error; a failed task is not run again

    def ok_samples(self):
        return [s for s in self.samples if s.ok]

    def median(self, attr):
        vals = [getattr(s, attr) for s in self.ok_samples()]
        return statistics.median(vals) if vals and not self.failed else math.nan


def run_once(task, timeout):
    sample, stdout = measure(task.argv, timeout, keep_stdout=task.answer is not None, env=task.env)
    if sample.ok and task.answer is not None:
        try:
            sample.answer = task.answer(stdout)
            sample.digest = hashlib.sha256(stdout.encode()).hexdigest()
        except (AnswerError, ValueError, TypeError) as e:
            sample.ok, sample.error = False, f"bad output: {e}"
    task.samples.append(sample)
    if not sample.ok:
        task.failed = sample.error
    return sample


# ----------------------------------------------------------------------------- environment
def read_proc(path, key):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def cpu_description():
    """The CPU's model name with its family and model numbers: a virtual machine often names
    every Intel processor "Intel(R) Xeon(R) Processor", and the numbers tell the generations
    apart (family 6, model 143 is Sapphire Rapids, 207 Emerald Rapids; AMD family 25 is Zen 3)."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor's entry is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    except OSError:
        return "unknown"
    name = fields.get("model name", "unknown")
    numbers = [f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields]
    return f"{name} ({', '.join(numbers)})" if numbers else name


def command_output(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable ({e})"
    text = (r.stdout.strip() or r.stderr.strip()).splitlines()
    if r.returncode != 0:
        return f"unavailable (exit {r.returncode}{': ' + text[-1] if text else ''})"
    return text[0] if text else "(no output)"


def package_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def memory_reclaim():
    """What may take this machine's memory away between runs, which makes runs right after a
    pause or after another process freed memory slower (docs/performance.md): a virtio balloon
    that reports free pages to its host, and DAMON schemes that page out memory (the page cache
    of the data file included) left untouched for a while."""
    found = []
    devices = Path("/sys/bus/virtio/devices")
    try:
        for dev in devices.iterdir():
            try:
                device = int((dev / "device").read_text().strip(), 0)
                features = (dev / "features").read_text().strip()
            except (OSError, ValueError):
                continue
            # virtio balloon (device 5) with VIRTIO_BALLOON_F_REPORTING (feature bit 5)
            if device == 5 and len(features) > 5 and features[5] == "1":
                found.append("virtio balloon free page reporting")
                break
    except OSError:
        pass
    kdamonds = Path("/sys/kernel/mm/damon/admin/kdamonds")
    try:
        for kd in sorted(kdamonds.iterdir()):
            if not kd.name.isdigit() or (kd / "state").read_text().strip() != "on":
                continue
            for scheme in sorted(kd.glob("contexts/*/schemes/[0-9]*")):
                action = (scheme / "action").read_text().strip()
                age = (scheme / "access_pattern/age/min").read_text().strip()
                aggr = (scheme.parent.parent / "monitoring_attrs/intervals/aggr_us").read_text()
                idle_s = int(age) * int(aggr) / 1e6
                found.append(f"DAMON {action} of memory idle {idle_s:g} s or more")
    except (OSError, ValueError):
        pass
    return "; ".join(found) if found else "none found"


def environment(args):
    mem_kb = read_proc("/proc/meminfo", "MemTotal").split()[0]
    found = shutil.which(args.rayproc)
    binary = Path(found or args.rayproc)
    built = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(binary.stat().st_mtime))
             if found else "missing")
    commit = command_output(["git", "rev-parse", "--short", "HEAD"])
    if commit.startswith("unavailable"):
        commit = "unknown"
    elif command_output(["git", "status", "--porcelain", "--untracked-files=no"]) != "(no output)":
        commit += " with uncommitted changes"
    return {
        "nproc": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "CPU": cpu_description(),
        "memory": f"{int(mem_kb) / 2**20:.1f} GiB" if mem_kb.isdigit() else mem_kb,
        "kernel": os.uname().release,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "memory reclaim": memory_reclaim(),
        "rayproc": command_output([str(binary), "--version"]),
        "rayproc paths measured": ", ".join(args.paths) + " (each under `RAYPROC_SIMD=PATH`; "
                                  "`--version` shows the machine's own)",
        "rayproc binary": f"{binary} (built {built}; git {commit})",
        "duckdb": package_version("duckdb"),
        "polars": package_version("polars"),
        "python": sys.version.split()[0],
    }


# ----------------------------------------------------------------------------- plan
# rayproc's instruction paths, highest first, as RAYPROC_SIMD and `rayproc --version` name them
# (src/cpu.rs). `none` is the portable path, what a build for another architecture (arm64) runs.
SIMD_PATHS = ("avx512", "avx2", "sse", "none")
PORTABLE_PATHS = ("none", "sse")
# `--simd all`: every path this machine can run; sse is what RAYPROC_NO_SIMD=1 runs on x86-64,
# none what a build for another architecture (arm64) runs
ALL_PATHS = SIMD_PATHS


def simd_path(rayproc, cap=None):
    """The path rayproc runs under RAYPROC_SIMD=cap (None: no cap), from its --version line."""
    env = {**os.environ, "RAYPROC_SIMD": cap or ""}
    env.pop("RAYPROC_NO_SIMD", None)
    try:
        out = subprocess.run([rayproc, "--version"], env=env, capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"simd: (\w+)", out)
    return m.group(1) if m else None


def resolve_paths(args, notes):
    """args.simd ("native", "all" or a list) -> the distinct paths that run here, highest first."""
    native = simd_path(args.rayproc)
    if native is None:
        return ["native"]  # no usable binary: its tasks fail and say why
    wanted = {"native": [native], "all": list(ALL_PATHS)}.get(args.simd, args.simd.split(","))
    paths = []
    for cap in wanted:
        got = simd_path(args.rayproc, cap)
        if got != cap:
            notes.append(f"RAYPROC_SIMD={cap} runs the {got} path on this machine (its own is {native}).")
        if got and got not in paths:
            paths.append(got)
    return sorted(paths, key=SIMD_PATHS.index)


def rayproc_engine(path):
    return f"rayproc [{path}]"


def simd_env(path):
    return None if path == "native" else {"RAYPROC_SIMD": path}


def rayproc_argv(args, query, path, threads):
    return ([args.rayproc, "run", "--input", str(path), *QUERIES[query].rayproc_args,
             "--threads", str(threads), "--format", "json", "--quiet"])


def scaling_engine(simd, threads):
    return f"{rayproc_engine(simd)} {threads} thread" + ("" if threads == 1 else "s")


def side_by_side_engine(simd, copies):
    return f"{rayproc_engine(simd)} {copies} 1-thread runs at once"


def side_by_side_argv(argv, copies):
    """`copies` copies of `argv` started together, waited for together: what the machine charges
    each run when it shares the cores with another (caches, memory, the host's other vCPU),
    with nothing shared inside one process. The command's CPU time is all of theirs."""
    return ["sh", "-c", 'for i in $(seq "$0"); do "$@" > /dev/null & done; wait', str(copies), *argv]


def scaling_pairs(tasks, args):
    """(path, 1-thread task, --threads task, side-by-side task or None) of each scaling query and
    instruction path, all from the scaling block: the last is --threads 1-thread runs at once
    (`side_by_side_argv`), what a --threads run's CPU time is measured against."""
    by_key = {(t.query, t.engine): t for t in tasks if t.section == "scaling"}
    return [(simd, by_key[(q, scaling_engine(simd, 1))], by_key[(q, scaling_engine(simd, args.threads))],
             by_key.get((q, side_by_side_engine(simd, args.threads))))
            for q in args.queries for simd in args.paths
            if (q, scaling_engine(simd, 1)) in by_key and (q, scaling_engine(simd, args.threads)) in by_key]


def peer_argv(args, engine, query, path):
    return [sys.executable, str(BENCH_DIR / "peers.py"), "--engine", engine, "--query", query,
            "--file", str(path), "--threads", str(args.threads)]


def rayproc_reads_parquet(args, path):
    """Try once: does `rayproc run --input x.parquet` work? (Answers 'no' gracefully.)"""
    sample, stdout = measure([args.rayproc, "run", "--input", str(path), "--agg", "count",
                              "--format", "json", "--quiet"], args.timeout)
    if not sample.ok:
        return False, sample.error
    try:
        single(rayproc_rows(stdout))
    except AnswerError as e:
        return False, str(e)
    return True, ""


def plan(args, notes):
    tasks = []
    peers = [e for e in args.engines if e in PEERS]
    with_rayproc = "rayproc" in args.engines

    def add_section(section, path, rayproc_too):
        for q in args.queries:
            if rayproc_too:
                answer = QUERIES[q].answer
                for simd in args.paths:
                    tasks.append(Task(section, q, rayproc_engine(simd),
                                      rayproc_argv(args, q, path, args.threads),
                                      lambda out, answer=answer: answer(rayproc_rows(out)),
                                      env=simd_env(simd)))
            for e in peers:
                tasks.append(Task(section, q, e, peer_argv(args, e, q, path), peer_answer))

    add_section("csv", args.file, with_rayproc)
    if args.scaling and with_rayproc:
        # 1 thread and --threads back to back, so that both sides run under the same
        # conditions (in the CSV section rayproc follows a peer process, whose freed memory
        # makes the next run's fresh pages dearer: 5-15% on these short runs)
        # on every path measured: the figure (0.575 / 0.538) is from an AVX2 machine
        for q in [q for q in args.queries if q in ("q1", "q2", "q3")]:
            answer = QUERIES[q].answer
            for simd in args.paths:
                for n in (1, args.threads):
                    tasks.append(Task("scaling", q, scaling_engine(simd, n),
                                      rayproc_argv(args, q, args.file, n),
                                      lambda out, answer=answer: answer(rayproc_rows(out)),
                                      env=simd_env(simd)))
                if args.threads > 1:
                    # whether a --threads run's extra CPU time is rayproc's or the machine's
                    tasks.append(Task("scaling", q, side_by_side_engine(simd, args.threads),
                                      side_by_side_argv(rayproc_argv(args, q, args.file, 1), args.threads),
                                      env=simd_env(simd)))
        if args.threads == 1:
            notes.append("--scaling with --threads 1 compares 1 thread with itself.")
    if args.parquet:
        rayproc_pq = False
        if with_rayproc:
            rayproc_pq, why = rayproc_reads_parquet(args, args.parquet_file)
            if not rayproc_pq:
                notes.append(f"rayproc skipped on Parquet: `rayproc run --input {args.parquet_file.name}` "
                             f"did not work ({why}).")
        add_section("parquet", args.parquet_file, rayproc_pq)
    if not args.no_floors:
        tasks.append(Task("floors", "cat > /dev/null", "cat", ["cat", str(args.file)]))
        tasks.append(Task("floors", "wc -l", "wc", ["wc", "-l", str(args.file)],
                          lambda out: {"lines": int(out.split()[0])}))
        for e in peers:
            tasks.append(Task("floors", f"python -c 'import {e}'", e, [sys.executable, "-c", f"import {e}"]))
    return tasks


# ----------------------------------------------------------------------------- checking
def check_answers(tasks):
    """Compare answers: every rayproc variant with every peer, and the peers with each other.

    Each task's first successful answer is used; rayproc must also print the same bytes on
    every run. The scaling runs (1 thread and --threads) are checked against the CSV section's peers.
    """
    problems = []
    first = {(t.section, t.query, t.engine): t.ok_samples()[0].answer
             for t in tasks if t.section != "floors" and t.answer is not None and t.ok_samples()}
    for section, q in dict.fromkeys((t.section, t.query) for t in tasks if t.section != "floors"):
        ref_section = "csv" if section == "scaling" else section
        peers = [(e, a) for (s, qq, e), a in first.items() if s == ref_section and qq == q and e in PEERS]
        for (s, qq, engine), answer in first.items():
            if s != section or qq != q:
                continue
            if engine in PEERS:  # each pair of peers once
                others = [(e, a) for e, a in peers if e > engine]
            else:
                others = peers
            for peer, reference in others:
                for line in differences(answer, reference):
                    problems.append(f"{section} {q.upper()}: {engine} vs {peer}: {line}")
    for t in tasks:
        if t.engine.startswith("rayproc") and len({s.digest for s in t.ok_samples()}) > 1:
            problems.append(f"{t.section} {t.query.upper()}: {t.engine} output differs from run to run")
    for section, q in dict.fromkeys((t.section, t.query) for t in tasks if t.section in ("csv", "parquet")):
        digests = {t.engine: t.ok_samples()[0].digest for t in tasks
                   if t.section == section and t.query == q and t.engine.startswith("rayproc [")
                   and t.ok_samples()}
        if len(set(digests.values())) > 1:
            problems.append(f"{section} {q.upper()}: rayproc's output differs between paths "
                            f"({', '.join(sorted(digests))})")
    return problems


def answer_status(task, problems):
    if task.failed:
        return "FAILED"
    tag = f"{task.section} {task.query.upper()}: {task.engine} "
    return "MISMATCH" if any(p.startswith(tag) for p in problems) else "ok"


# ----------------------------------------------------------------------------- report
def fmt(x, digits=2):
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def peer_tasks(tasks, section, q):
    """The peers' tasks for query `q` in `section` that have not failed."""
    return [t for t in tasks if t.section == section and t.query == q and t.engine in PEERS
            and not t.failed]


def fastest_peer(tasks, section, q, attr):
    best = None
    for t in peer_tasks(tasks, section, q):
        v = t.median(attr)
        if not math.isnan(v) and (best is None or v < best[1]):
            best = (t.engine, v)
    return best


def section_tables(tasks, section, args, problems):
    out = []
    rows = []
    for q in args.queries:
        pw, pc = fastest_peer(tasks, section, q, "wall"), fastest_peer(tasks, section, q, "cpu")
        for simd in args.paths:
            ray = next((t for t in tasks if t.section == section and t.query == q
                        and t.engine == rayproc_engine(simd)), None)
            if ray is None:
                continue
            rw, rc = ray.median("wall"), ray.median("cpu")
            rows.append([f"{q.upper()} {QUERIES[q].title}", simd, fmt(rw),
                         f"{fmt(pw[1])} ({pw[0]})" if pw else "—",
                         fmt(rw / pw[1]) if pw and not math.isnan(rw) else "—",
                         fmt(rc), f"{fmt(pc[1])} ({pc[0]})" if pc else "—",
                         fmt(rc / pc[1]) if pc and not math.isnan(rc) else "—",
                         answer_status(ray, problems)])
    if rows and len(args.paths) > 1:
        out += ["### Wall ratio to the fastest peer, per instruction path", ""]
        out += path_table(tasks, section, args)
        out += [""]
    if rows:
        out += ["### Summary: rayproc against the fastest peer", ""]
        out += table(["query", "path", "rayproc wall s", "fastest peer wall s", "wall ratio",
                      "rayproc CPU s", "lowest peer CPU s", "CPU ratio", "rayproc answer"], rows)
        out += ["", "Ratios are rayproc / peer: below 1 means rayproc is faster.", ""]
    rows = []
    for q in args.queries:
        for t in tasks:
            if t.section == section and t.query == q:
                rows.append([f"{q.upper()} {QUERIES[q].title}", t.engine, fmt(t.median("wall")),
                             fmt(t.median("cpu")), fmt(t.median("rss_mib"), 0),
                             f"{len(t.ok_samples())}/{len(t.samples)}", answer_status(t, problems)])
    out += ["### Every engine", ""]
    out += table(["query", "engine", "wall s", "CPU s", "peak RSS MiB", "runs ok", "answer"], rows)
    return out + [""]


# The performance issues' targets: (what, section, queries, limit on rayproc / fastest peer
# wall), checked on every instruction path measured.
RATIO_TARGETS = [
    ("CSV wall ≤ 1/3 of the fastest peer", "csv", ("q1", "q2", "q3"), 1 / 3),
    ("CSV wall ≤ 0.4 of the fastest peer", "csv", ("q4", "q6"), 0.4),
    ("CSV wall ≤ 1/2 of the fastest peer", "csv", ("q5",), 1 / 2),
    ("Parquet wall ≤ the fastest peer", "parquet", ("q1", "q2", "q3", "q4", "q5", "q6"), 1.0),
]
# Q1 against `wc -l`: the AVX-512 path may take 1.5 times as long, every other path twice
WC_LIMITS = {"avx512": 1.5}
WC_LIMIT = 2.0
# the portable path against the AVX2 path (what arm64 runs against an x86-64 server)
PORTABLE_LIMIT = 1.3
TARGET_THREADS = 2
PERFORMANCE_DOC = "docs/performance.md"


# A target's mark when the medians meet it but some round does not.
NOT_EVERY_ROUND = "✓ (not every round)"


def round_ratios(task, against):
    """`task`'s wall time over the fastest of `against` in the same round, for every round in
    which all of them ran and succeeded. The commands run interleaved round-robin, so a round is
    the fairest pairing on a machine whose speed drifts; the spread of these ratios is the
    margin a single median hides."""
    if task.failed or not against or any(t.failed for t in against):
        return []
    rounds = min([len(task.samples)] + [len(t.samples) for t in against])
    ratios = []
    for i in range(rounds):
        samples = [task.samples[i]] + [t.samples[i] for t in against]
        if all(s.ok for s in samples):
            ratios.append(samples[0].wall / min(s.wall for s in samples[1:]))
    return ratios


def round_order(tasks, round_no):
    """The tasks in the order round `round_no` runs them: each query's (and the floors') commands
    together, as planned, but each group's order rotated by one more place every round. A
    command run first in its group runs just after the last group's, often a peer that freed
    700 MiB, and on a VM whose host takes freed memory back, the next process's fresh pages
    are slower: run first every round, Q4 at avx512 took 0.44-0.46 s where it took 0.39 s
    between rayproc runs. Rotated, no engine takes that place every round."""
    groups = {}
    for t in tasks:
        groups.setdefault((t.section, t.query), []).append(t)
    ordered = []
    for group in groups.values():
        k = round_no % len(group)
        ordered += group[k:] + group[:k]
    return ordered


def rayproc_task(tasks, section, q, simd):
    return next((t for t in tasks if t.section == section and t.query == q
                 and t.engine == rayproc_engine(simd) and not t.failed), None)


def path_table(tasks, section, args):
    """One row per query, a wall-ratio column per path, and each portable path against AVX2."""
    portable = [p for p in args.paths if p in PORTABLE_PATHS] if "avx2" in args.paths else []
    rows = []
    for q in args.queries:
        peer = fastest_peer(tasks, section, q, "wall")
        row = [f"{q.upper()} {QUERIES[q].title}", f"{fmt(peer[1])} ({peer[0]})" if peer else "—"]
        for simd in args.paths:
            t = rayproc_task(tasks, section, q, simd)
            row.append(f"{fmt(t.median('wall') / peer[1])} ({fmt(t.median('wall'))} s)"
                       if t and peer else fmt(t.median("wall")) + " s" if t else "—")
        avx2 = rayproc_task(tasks, section, q, "avx2")
        for simd in portable:
            t = rayproc_task(tasks, section, q, simd)
            row.append(fmt(t.median("wall") / avx2.median("wall")) if t and avx2 else "—")
        rows.append(row)
    return table(["query", "fastest peer wall s"] + [f"{p}: ratio (wall)" for p in args.paths]
                 + [f"{p} / avx2" for p in portable], rows)


def target_rows(tasks, args):
    """[target, measured, met] for every target the run has the figures for."""
    rows = []

    def add(what, value, limit, shown, rounds=()):
        """A target met by the medians' ratio; `rounds`, the same ratio in each round, says
        whether the median's margin held in every round or only in some (a lucky run)."""
        if math.isnan(value):
            return
        met = "✓" if value <= limit else "✗"
        if rounds:
            shown += f"; rounds {fmt(min(rounds))}–{fmt(max(rounds))}"
            if value <= limit < max(rounds):
                met = NOT_EVERY_ROUND
        rows.append([what, shown, met])

    for simd in args.paths:
        for what, section, queries, limit in RATIO_TARGETS:
            for q in (q for q in queries if q in args.queries):
                ray = rayproc_task(tasks, section, q, simd)
                peer = fastest_peer(tasks, section, q, "wall")
                if ray and peer:
                    ratio = ray.median("wall") / peer[1]
                    add(f"{q.upper()} [{simd}] {what}", ratio, limit,
                        f"{fmt(ratio)} ({fmt(ray.median('wall'))} s vs {peer[0]} {fmt(peer[1])} s)",
                        round_ratios(ray, peer_tasks(tasks, section, q)))
        wc = next((t for t in tasks if t.engine == "wc" and not t.failed), None)
        q1 = rayproc_task(tasks, "csv", "q1", simd)
        if wc and q1:
            ratio, limit = q1.median("wall") / wc.median("wall"), WC_LIMITS.get(simd, WC_LIMIT)
            add(f"Q1 [{simd}] CSV wall ≤ {limit:g}× `wc -l`", ratio, limit,
                f"{ratio:.2f}× ({fmt(q1.median('wall'))} s vs {fmt(wc.median('wall'))} s)",
                round_ratios(q1, [wc]))
    if "avx2" in args.paths:
        for simd in (p for p in args.paths if p in PORTABLE_PATHS):
            for section in ("csv", "parquet"):
                for q in args.queries:
                    t, avx2 = rayproc_task(tasks, section, q, simd), rayproc_task(tasks, section, q, "avx2")
                    if t and avx2:
                        ratio = t.median("wall") / avx2.median("wall")
                        add(f"{q.upper()} [{simd}] {section.upper() if section == 'csv' else 'Parquet'} "
                            f"wall ≤ {PORTABLE_LIMIT:g}× the avx2 path", ratio, PORTABLE_LIMIT,
                            f"{fmt(ratio)} ({fmt(t.median('wall'))} s vs {fmt(avx2.median('wall'))} s)",
                            round_ratios(t, [avx2]))
    for q in (q for q in ("q1", "q2", "q3") if q in args.queries):
        ray = rayproc_task(tasks, "csv", q, args.paths[0])
        leanest = min(((t.engine, t.median("rss_mib")) for t in tasks
                       if t.section == "csv" and t.query == q and t.engine in PEERS and not t.failed),
                      key=lambda p: p[1], default=None)
        if ray and leanest:
            ratio = ray.median("rss_mib") / leanest[1]
            add(f"{q.upper()} [{args.paths[0]}] CSV peak RSS ≤ 1/2 of the leanest peer's", ratio, 0.5,
                f"{fmt(ratio)} ({fmt(ray.median('rss_mib'), 0)} vs {leanest[0]} {fmt(leanest[1], 0)} MiB)")
    for simd, t1, t2, side in scaling_pairs(tasks, args):
        if not (t1.failed or t2.failed):
            ratio = t2.median("wall") / t1.median("wall")
            share = machine_share(t1, side, args.threads)
            floor = "" if math.isnan(share) else (
                f"; the machine's floor {fmt(share / args.threads)} ({args.threads} 1-thread runs at once "
                f"took {fmt(share)}× a lone run's CPU each)")
            add(f"{t1.query.upper()} [{simd}] CSV wall at {args.threads} threads ≤ 0.55 × 1 thread", ratio,
                0.55, f"{fmt(ratio)} ({fmt(t2.median('wall'))} s vs {fmt(t1.median('wall'))} s){floor}",
                round_ratios(t2, [t1]))
    return rows


def machine_share(t1, side, copies):
    """The CPU time each of `copies` 1-thread runs took when started together (`side`), over a
    lone 1-thread run's (`t1`): what sharing the machine costs a run with nothing shared in
    the process (NaN without the side-by-side runs). A --threads run can at best take this
    over `copies` of the 1-thread wall time."""
    if side is None or side.failed or t1.failed:
        return math.nan
    return side.median("cpu") / copies / t1.median("cpu")


def targets_section(tasks, args):
    rows = target_rows(tasks, args)
    if not rows:
        return []
    out = ["## Targets", "",
           "The performance issues' targets, checked against this run's medians on every path measured "
           f"(they are set for {TARGET_THREADS} threads"
           + (f"; this run used {args.threads}, so read them as indicative" if args.threads != TARGET_THREADS
              else "") + "). Where a ratio is to other commands, \"rounds\" is its range over the "
           "rounds, each rayproc run against the same round's runs (the fastest peer's, `wc -l`'s, "
           "the avx2 path's): a target met by the medians but missed in some round is marked so, "
           "as its margin is within this machine's noise.", ""]
    out += table(["target", "measured", "met"], rows)
    missed = sum(r[2] == "✗" for r in rows)
    narrow = sum(r[2] == NOT_EVERY_ROUND for r in rows)
    out += ["", f"{len(rows) - missed} of {len(rows)} met"
            + (f" ({narrow} not in every round)." if narrow else ".")
            + (f" `{PERFORMANCE_DOC}` shows where the time goes on each query, with the profiles and "
               "floors behind the ones missed." if missed else ""), ""]
    return out


def report(tasks, args, env, notes, problems):
    size = args.file.stat().st_size
    wc = next((t for t in tasks if t.engine == "wc" and t.ok_samples()), None)
    # gen_data.py writes no embedded newlines by default, so lines - header = rows
    n_rows = wc.ok_samples()[0].answer["lines"] - 1 if wc else None
    lines = [
        "# rayproc benchmarks",
        "",
        f"Written by `benches/compare.py` on {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; regenerate with "
        "`bash benches/run.sh` (see benches/README.md). Do not edit by hand.",
        "",
        "## Machine and versions",
        "",
    ]
    lines += table(["", ""], [[k, v] for k, v in env.items()])
    lines += [
        "",
        "## Setup",
        "",
        f"- file: `{args.file.name}`, {size:,} bytes ({size / 2**30:.2f} GiB)"
        + (f", {n_rows:,} data rows" if n_rows is not None else ""),
        f"- threads: {args.threads} for every engine; {args.runs} runs of each command, interleaved "
        f"round-robin, each query's commands in an order rotated by one place every round"
        f"{f', after {args.warmup} untimed warm-up round(s)' if args.warmup else ''}; "
        "file read once beforehand so it sits in the page cache",
        "- figures are medians over the runs of the whole process: wall time, user+sys CPU time "
        "(os.wait4 rusage) and peak RSS "
        + ("(GNU time's %M)" if GNU_TIME else "(os.wait4 ru_maxrss; without GNU time it includes "
           "the harness's own peak, which Linux carries across exec)")
        + "; peers' figures include starting Python and importing the engine (see the floors)",
        f"- answers: rayproc's JSON output compared with each peer's result, relative tolerance "
        f"{REL_TOL:g} for floats, integers exact",
        "",
    ]
    for n in notes:
        lines.append(f"> Note: {n}")
    if notes:
        lines.append("")
    lines += targets_section(tasks, args)
    lines += ["## CSV", ""] + section_tables(tasks, "csv", args, problems)

    scaling = scaling_pairs(tasks, args)
    if scaling:
        rows = []
        n = args.threads
        for simd, t1, t2, side in scaling:
            w1, w2 = t1.median("wall"), t2.median("wall")
            speedup = w1 / w2
            share = machine_share(t1, side, n)
            rows.append([f"{t1.query.upper()} {QUERIES[t1.query].title}", simd, fmt(w1), fmt(t1.median("cpu")),
                         fmt(w2), fmt(t2.median("cpu")), fmt(w2 / w1),
                         "—" if math.isnan(speedup) else f"{speedup:.2f}×",
                         fmt(side.median("cpu") / n if side and not side.failed else math.nan),
                         fmt(share / n), answer_status(t1, problems)])
        lines += ["## rayproc thread scaling (CSV)", "",
                  f"All columns from runs made back to back (1 thread, {n} threads, and {n} 1-thread runs "
                  "started together), not from the CSV section, where each rayproc run follows a peer's. "
                  f"The {n} runs at once share nothing but the machine: their CPU time over a lone run's is "
                  f"what the machine charges for running {n} at once (caches, memory bandwidth, the host's "
                  f"other work), so a {n}-thread run can at best take that over {n} of the 1-thread wall "
                  "time: the machine's floor. A wall ratio near the floor is the machine's limit, not "
                  "rayproc's.", ""]
        lines += table(["query", "path", "wall s, 1 thread", "CPU s, 1 thread", f"wall s, {n} threads",
                        f"CPU s, {n} threads", f"wall ratio {n}t/1t", "speed-up",
                        f"CPU s each, {n} 1-thread runs at once", "the machine's floor",
                        "answer (1 thread)"], rows)
        lines += [""]

    if args.parquet:
        lines += ["## Parquet", "", f"File `{args.parquet_file.name}`, "
                  f"{args.parquet_file.stat().st_size:,} bytes.", ""]
        lines += section_tables(tasks, "parquet", args, problems)

    floors = [t for t in tasks if t.section == "floors"]
    if floors:
        lines += ["## Floors", "", "What no engine can beat on this file (cat, wc), and the part of the "
                  "peers' figures that is only starting Python and importing the engine.", ""]
        lines += table(["command", "wall s", "CPU s", "peak RSS MiB", "runs ok"],
                       [[f"`{t.query}`", fmt(t.median("wall"), 3), fmt(t.median("cpu"), 3),
                         fmt(t.median("rss_mib"), 0), f"{len(t.ok_samples())}/{len(t.samples)}"]
                        for t in floors])
        lines += [""]

    lines += ["## Answer check", ""]
    failed = [t for t in tasks if t.failed]
    if not problems and not failed:
        lines += ["All engines succeeded and all answers agree.", ""]
    for p in problems:
        lines.append(f"- **MISMATCH** {p}")
    for t in failed:
        lines.append(f"- **FAILED** {t.section} {t.query.upper() if t.section != 'floors' else t.query} "
                     f"{t.engine}: {t.failed}")
    lines += ["", "## Commands", "", "```"]
    for t in tasks:
        command = " ".join([f"{k}={v}" for k, v in (t.env or {}).items()]
                           + [shlex.quote(a) for a in t.argv]) + (" > /dev/null" if t.engine == "cat" else "")
        lines.append(command.replace(f"{REPO}/", ""))
    lines += ["```", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, default=REPO / "target/bench-data/d10m.csv",
                    help="CSV from gen_data.py (default: %(default)s)")
    ap.add_argument("--rayproc", default=str(REPO / "target/release/rayproc"),
                    help="rayproc binary (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of every command (default 5)")
    ap.add_argument("--warmup", type=int, default=0, help="untimed warm-up rounds (default 0)")
    ap.add_argument("--queries", default="q1,q2,q3,q4,q5,q6", help="comma-separated subset of q1..q6")
    ap.add_argument("--engines", default="rayproc,duckdb,polars",
                    help="comma-separated subset of rayproc,duckdb,polars,pyarrow")
    ap.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    ap.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True,
                    help="also run rayproc Q1-Q3 at 1 thread and at --threads, back to back, on every "
                         "path measured, and report the wall ratio (default on; --no-scaling skips it)")
    ap.add_argument("--parquet", action="store_true",
                    help="also run the queries on the Parquet copy of the data")
    ap.add_argument("--parquet-file", type=Path, help="Parquet file (default: --file with .parquet)")
    ap.add_argument("--no-floors", action="store_true", help="skip cat / wc -l / import floors")
    ap.add_argument("--simd", default="native",
                    help="rayproc's instruction paths to measure, each as its own engine under a "
                         "RAYPROC_SIMD cap: 'native' (the machine's own, default), 'all' "
                         "(avx512,avx2,sse,none where the machine has them) or a comma-separated "
                         "subset of " + ",".join(SIMD_PATHS))
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed (default 900)")
    ap.add_argument("--out", type=Path, default=REPO / "docs/benchmarks.md",
                    help="markdown report (default: %(default)s)")
    args = ap.parse_args(argv)

    args.queries = [q.strip().lower() for q in args.queries.split(",") if q.strip()]
    args.engines = [e.strip().lower() for e in args.engines.split(",") if e.strip()]
    bad = [q for q in args.queries if q not in QUERIES] + \
          [e for e in args.engines if e not in ("rayproc", *PEERS)]
    if bad or not args.queries or not args.engines:
        ap.error(f"unknown or missing query/engine: {', '.join(bad) or '(none given)'}")
    if args.simd not in ("native", "all") and any(p not in SIMD_PATHS for p in args.simd.split(",")):
        ap.error(f"--simd: expected native, all or a subset of {','.join(SIMD_PATHS)}, got {args.simd!r}")
    if args.runs < 1 or args.threads < 1 or args.warmup < 0:
        ap.error("--runs and --threads must be at least 1, --warmup at least 0")
    if not args.file.is_file():
        ap.error(f"{args.file} does not exist: generate it with `bash benches/setup.sh` (ROWS=...)")
    args.parquet_file = args.parquet_file or args.file.with_suffix(".parquet")
    if args.parquet and not args.parquet_file.is_file():
        ap.error(f"{args.parquet_file} does not exist: run benches/setup.sh without PARQUET=0")
    if any(e in PEERS for e in args.engines):
        missing = [e for e in args.engines if e in PEERS and package_version(e) == "not installed"]
        if missing:
            ap.error(f"{', '.join(missing)} not importable by {sys.executable}: "
                     "run this script with target/bench-venv/bin/python (benches/setup.sh creates it)")
    return args


def main(argv=None):
    args = parse_args(argv)
    notes = []
    load = os.getloadavg()[0]
    if load > len(os.sched_getaffinity(0)) / 2:
        notes.append(f"load average was {load:.2f} at start: another process was busy, "
                     "wall times are less reliable than CPU times.")
    args.paths = resolve_paths(args, notes)
    env = environment(args)
    tasks = plan(args, notes)

    # Put the data in the page cache so the first timed run is not the only cold one.
    for path in [args.file] + ([args.parquet_file] if args.parquet else []):
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=False)

    total = args.warmup + args.runs
    for round_no in range(total):
        warm = round_no < args.warmup
        if warm:
            label = f"warm-up {round_no + 1}/{args.warmup}"
        else:
            label = f"run {round_no - args.warmup + 1}/{args.runs}"
        for t in round_order(tasks, round_no):
            if t.failed:
                continue
            s = run_once(t, args.timeout)
            if warm and s.ok:
                t.samples.pop()
            what = f"{t.section} {t.query} {t.engine}"
            if s.ok:
                print(f"[{label}] {what}: wall {s.wall:.3f} s, cpu {s.cpu:.3f} s, "
                      f"peak {s.rss_mib:.0f} MiB", file=sys.stderr)
            else:
                print(f"[{label}] {what}: FAILED: {s.error}", file=sys.stderr)

    problems = check_answers(tasks)
    text = report(tasks, args, env, notes, problems)
    # sections measured by other scripts (benches/many_files.sh, ...) follow
    # this marker; a regeneration keeps them
    marker = "<!-- sections below are written by hand and kept by compare.py -->"
    if args.out.exists() and marker in (old := args.out.read_text()):
        text = text.rstrip("\n") + "\n\n" + old[old.index(marker):]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"\nwrote {args.out}", file=sys.stderr)

    failed = [t for t in tasks if t.failed]
    if problems or failed:
        bar = "!" * 78
        print(f"\n{bar}", file=sys.stderr)
        for p in problems:
            print(f"!! MISMATCH {p}", file=sys.stderr)
        for t in failed:
            print(f"!! FAILED {t.section} {t.query} {t.engine}: {t.failed}", file=sys.stderr)
        print(bar, file=sys.stderr)
        return 1
    print("all engines succeeded and all answers agree", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
