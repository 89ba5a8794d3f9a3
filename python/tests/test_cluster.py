"""End-to-end test of `rayproc run --cluster` on a 2-node loopback Ray cluster.

Run by tests/cluster.rs (cargo test) with the virtualenv's python:
    RAYPROC_BIN=target/release/rayproc PYTHONPATH=python python python/tests/test_cluster.py

Checks, against `rayproc run` on one machine (byte for byte):
- CSV with quoted newlines, group-by with quantiles and distinct, several inputs, Parquet,
  --where, json and --output, at several --partitions (parts land on both nodes; a small
  merge fan-in makes the driver merge partials as a tree);
- the Python API returns the same table as a typed polars.DataFrame (the binary shipped
  through the object store to the other node, then through the job's working_dir);
- a malformed line: the same `FILE:LINE:` stderr, exit 1, nothing written to --output;
- the worker node killed mid-run: the answer is unchanged, or the run fails cleanly (says which);
- SIGINT, SIGTERM, SIGHUP: exit 130, 143, 129, maps cancelled, nothing left behind;
- `--progress always` prints a line every 2 s, not per batch; a non-UTF-8 input name; a FIFO
  input refused at once; relative paths in a directory named `st*r` and a stale store with
  --allow-stale (from the command line when the binary passes them through);
- the API: two threads at once, run() after ray.shutdown() and the caller's ray.init(),
  tasks no node can hold refused (exit 2), a --by key named like an aggregate, notes as
  RayprocWarning, relative paths, allow_stale.
test_driver_unit.py (no cluster) runs first.
Every Ray process it started is stopped by PID in a finally, and none may be left.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from loopback import LoopbackCluster, ray_env  # noqa: E402

BIN = os.path.abspath(os.environ["RAYPROC_BIN"])
# The binary the API and the driver-level checks ship to the workers (default: BIN; a
# stand-in when developing the driver without `rayproc map`/`reduce`).
CLUSTER_BIN = os.path.abspath(os.environ.get("RAYPROC_TEST_CLUSTER_BIN", BIN))
ONLY = set(filter(None, os.environ.get("RAYPROC_TEST_ONLY", "").split(",")))
T0 = time.time()


def log(msg: str):
    print(f"[{time.time() - T0:6.1f}s] {msg}", flush=True)


def env(**extra) -> dict:
    e = ray_env()
    e["RAYPROC_PYTHON"] = sys.executable
    e["PYTHONPATH"] = os.pathsep.join([os.path.dirname(HERE)] + [p for p in [e.get("PYTHONPATH")] if p])
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run_local(args, cwd=None):
    return subprocess.run([BIN, "run", *args], capture_output=True, env=env(), cwd=cwd)


def run_cluster(address, args, extra_env=None, rayproc=None, cwd=None):
    if rayproc is None:
        cmd = [BIN, "run", "--cluster", address, *args]
    else:  # the driver directly (with another binary: a slow wrapper)
        cmd = [sys.executable, "-m", "rayproc_ray", "run", "--address", address, "--rayproc", rayproc, *args]
    return subprocess.run(cmd, capture_output=True, env=env(**(extra_env or {})), timeout=300, cwd=cwd)


def make_data(d: str) -> dict:
    rng = random.Random(13)
    rows = []
    for i in range(3000):
        k = rng.choice(["a", "b", "c", "d e", ""])
        x = rng.choice([str(rng.randint(-100, 100)), f"{rng.uniform(-1e3, 1e3):.3f}", ""])
        s = f"s{rng.randint(0, 400)}"
        note = rng.choice(["plain", '"two\nlines, with comma"', '"say ""hi"""', '"\n"', ""])
        rows.append(f"{k},{x},{s},{note}")
    quoted = os.path.join(d, "quoted.csv")
    with open(quoted, "w") as f:
        f.write("k,x,s,note\n" + "\n".join(rows) + "\n")
    a, b = os.path.join(d, "a.csv"), os.path.join(d, "b.csv")
    with open(a, "w") as f:
        f.write("k,x\n" + "".join(f"{rng.choice('pqr')},{rng.randint(0, 10**12)}\n" for _ in range(1500)))
    with open(b, "w") as f:
        f.write("k,x\n" + "".join(f"{rng.choice('qrs')},{rng.randint(-(10**12), 0)}\n" for _ in range(1700)))
    import polars as pl

    pq = os.path.join(d, "d.parquet")
    pl.DataFrame(
        {
            "k": [rng.choice(["u", "v", "w", None]) for _ in range(5000)],
            "x": [rng.uniform(0, 1) if rng.random() > 0.05 else None for _ in range(5000)],
        }
    ).write_parquet(pq, row_group_size=700)
    # Two malformed lines in different parts: the earlier one must be reported.
    bad = os.path.join(d, "bad.csv")
    lines = ["k,x"] + [f"{rng.choice('ab')},{rng.randint(0, 99)}" for _ in range(3000)]
    lines[2100] = "a,not_a_number"
    lines[2800] = "b,also_bad"
    with open(bad, "w") as f:
        f.write("\n".join(lines) + "\n")
    return {"quoted": quoted, "a": a, "b": b, "pq": pq, "bad": bad}


def check_same(address, args, partitions, extra_env=None, label=""):
    want = run_local(args)
    assert want.returncode == 0, f"rayproc run {args} failed: {want.stderr.decode()}"
    got = run_cluster(address, [*args, "--partitions", str(partitions), "--progress", "never"], extra_env)
    assert got.returncode == 0, f"run --cluster {args} -p {partitions}: exit {got.returncode}: {got.stderr.decode()}"
    assert got.stdout == want.stdout, (
        f"run --cluster {args} -p {partitions}: stdout differs\n--- cluster\n{got.stdout[:2000]!r}\n--- run\n{want.stdout[:2000]!r}"
    )
    assert got.stderr == b"", f"run --cluster {args}: unexpected stderr {got.stderr.decode()!r}"
    log(f"ok: {label or ' '.join(args)} --partitions {partitions}: {len(got.stdout)} bytes identical")
    return want.stdout


def trace_of(path):
    rows, summary = [], None
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            if "summary" in row:
                summary = row["summary"]
            else:
                rows.append(row)
    return rows, summary


def test_cli(c: LoopbackCluster, data: dict, tmp: str):
    q = data["quoted"]
    grouped = ["--input", q, "--by", "k", "--agg", "count,mean:x,median:x,p90:x,distinct:s,min:s,max:x,sum:x"]
    trace = os.path.join(tmp, "trace.jsonl")
    nodes = set()
    for n in (1, 3, 8):
        # Parts alternate between the nodes (custom resources node_a, node_b): Ray would
        # otherwise keep such short tasks wherever a worker is idle first.
        hooks = {"RAYPROC_RAY_TRACE": trace, "RAYPROC_RAY_MERGE_FANIN": 3, "RAYPROC_RAY_ROUND_ROBIN": "node_a,node_b"}
        check_same(c.address, grouped, n, hooks)
        rows, summary = trace_of(trace)
        assert sorted(r["part"] for r in rows) == list(range(n)), rows
        nodes |= {r["node"] for r in rows}
        if n > 1:
            assert len({r["node"] for r in rows}) == 2, f"parts should alternate nodes: {rows}"
        if n == 8:
            assert summary["merges"] >= 2, f"fan-in 3 over 8 parts should merge: {summary}"
    assert len(nodes) == 2, f"parts should have run on both nodes, ran on {nodes}"
    log(f"ok: parts ran on both nodes {sorted(nodes)}; partials merged as a tree")
    check_same(c.address, ["--input", data["a"], "--input", data["b"], "--agg", "count,sum:x,distinct:k,var:x,mean:x"], 5)
    check_same(c.address, ["--input", data["pq"], "--by", "k", "--agg", "count,mean:x,p99:x"], 4)
    check_same(c.address, ["--input", q, "--where", "x > 50 and note != 'plain'", "--agg", "count,sum:x", "--format", "json"], 3)
    check_same(c.address, ["--input", q, "--by", "k,s", "--agg", "count", "--format", "ndjson"], 6)
    # --null reaches every map: without it, "plain" and "s7" would be keys and counted
    check_same(c.address, ["--input", q, "--by", "note", "--agg", "count,count:s", "--null", "plain", "--null", "s7"], 3)
    # a text that starts with "-" goes through the driver and the maps as one
    check_same(c.address, ["--input", data["b"], "--agg", "count:x,sum:x", "--null=-1", "--null=--", "--null=-NA"], 2)

    out_cluster, out_local = os.path.join(tmp, "c.csv"), os.path.join(tmp, "l.csv")
    base = ["--by", "k", "--agg", "std:x", "--format", "csv"]
    assert run_local(["--input", q, *base, "--output", out_local]).returncode == 0
    # The cluster reads a copy whose name is not UTF-8 (ray.init must not see it on the
    # driver's command line, where it failed as "cannot connect").
    odd = os.path.join(os.fsencode(tmp), b"n\xffu.csv")
    shutil.copyfile(q, odd)
    t = time.time()
    got = run_cluster(c.address, ["--input", os.fsdecode(odd), *base, "--output", out_cluster, "--partitions", "16", "--progress", "always"])
    wall = time.time() - t
    assert got.returncode == 0 and got.stdout == b"", got
    assert open(out_cluster, "rb").read() == open(out_local, "rb").read()
    assert b"16/16 parts" in got.stderr, f"--progress always should print lines off a terminal: {got.stderr!r}"
    # a line every 2 s (plus the first and the last), not one per batch of parts done
    lines = got.stderr.splitlines()
    assert len(lines) <= 2 + wall / 2, f"{len(lines)} progress lines in {wall:.1f} s: {got.stderr.decode()}"
    assert len(set(lines)) == len(lines), f"a progress line repeated: {got.stderr.decode()}"
    log(f"ok: --output (input named by non-UTF-8 bytes) written atomically with the same bytes; --progress always: {len(lines)} lines in {wall:.1f} s")

    # A binary that passes --allow-stale and relative paths through (src/cli/cluster.rs):
    # the same checks as the driver-level ones in test_api, from the command line.
    probe = run_cluster(c.address, ["--store", os.path.join(tmp, "none.store"), "--agg", "count", "--allow-stale"])
    if b"does not apply with --cluster" in probe.stderr:
        log("skipped: this rayproc refuses --allow-stale with --cluster and makes paths absolute (the CLI-level checks of relative paths and stale stores)")
    else:
        star = _glob_dirs(tmp)
        args = ["--input", "dup.csv", "--by", "k", "--agg", "count,sum:x"]
        want = run_local(args, cwd=star)
        got = run_cluster(c.address, [*args, "--partitions", "2", "--progress", "never"], cwd=star)
        assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr), (got, want)
        store = _stale_store(tmp, "cli")
        for extra in (["--allow-stale", "--no-verify"],):
            want = run_local(["--store", store, "--agg", "count", *extra])
            got = run_cluster(c.address, ["--store", store, "--agg", "count", "--partitions", "2", "--progress", "never", *extra])
            assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr), (extra, got, want)
        log("ok: run --cluster in a directory named st*r, and a stale store with --allow-stale: as run")


def _glob_dirs(tmp: str) -> str:
    """`st*r` and its sibling `star`, each with dup.csv: a relative input read in `st*r`
    must not become the pattern `.../st*r/dup.csv`, which matches both."""
    for name in ("st*r", "star"):
        d = os.path.join(tmp, name)
        os.makedirs(d, exist_ok=True)
        for file in ("dup.csv", "bad.csv"):
            with open(os.path.join(d, file), "w") as f:
                f.write("k,x\na,1\nb,2\na,3\n" + ("b,zz\n" if file == "bad.csv" else ""))
    return os.path.join(tmp, "st*r")


def _stale_store(tmp: str, name: str) -> str:
    src = os.path.join(tmp, f"{name}-src.csv")
    with open(src, "w") as f:
        f.write("k,x\na,1\nb,2\n")
    store = os.path.join(tmp, f"{name}.store")
    subprocess.run([BIN, "split", "-i", src, "--store", store, "-q"], check=True, env=env())
    with open(src, "a") as f:
        f.write("a,5\n")
    return store


def test_errors(c: LoopbackCluster, data: dict, tmp: str):
    args = ["--input", data["bad"], "--by", "k", "--agg", "mean:x"]
    want = run_local(args)
    assert want.returncode == 1 and b":2101:" in want.stderr, want.stderr
    for n in (2, 5):
        out = os.path.join(tmp, f"never-{n}.csv")
        got = run_cluster(c.address, [*args, "--partitions", str(n), "--output", out])
        assert got.returncode == 1, f"exit {got.returncode}: {got.stderr.decode()}"
        assert got.stderr == want.stderr, f"stderr differs:\n{got.stderr.decode()}\nvs run:\n{want.stderr.decode()}"
        assert not os.path.exists(out), "--output written although a part failed"
        assert not [f for f in os.listdir(tmp) if "never-" in f], os.listdir(tmp)
    log(f"ok: malformed line -> {want.stderr.decode().strip()!r}, exit 1, no --output (2 and 5 parts)")
    got = run_cluster(c.address, ["--input", data["quoted"], "--agg", "mean:nope", "--partitions", "2"])
    want = run_local(["--input", data["quoted"], "--agg", "mean:nope"])
    assert got.returncode == want.returncode == 2 and got.stderr == want.stderr, (got, want)
    log("ok: unknown column -> exit 2, same message as run")
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    t = time.time()
    got = run_cluster(c.address, ["--input", fifo, "--agg", "count", "--partitions", "2"])
    assert got.returncode == 2 and b"is a pipe, FIFO or device" in got.stderr, got
    assert time.time() - t < 30, "a FIFO input must be refused at once"
    os.unlink(fifo)
    log("ok: a FIFO input -> exit 2 at once, not a hang")
    from loopback import free_port

    got = run_cluster(f"127.0.0.1:{free_port()}", ["--input", data["quoted"], "--agg", "mean:x"])
    assert got.returncode == 1 and got.stderr.startswith(b"rayproc: error: cannot connect to the Ray cluster at 127.0.0.1:"), got
    assert got.stderr.count(b"\n") == 1, got.stderr
    log("ok: nobody at the address -> exit 1, one line")


def test_api(c: LoopbackCluster, data: dict, tmp: str):
    import polars as pl
    from polars.testing import assert_frame_equal

    import ray
    import rayproc_ray

    os.environ.update(ray_env())
    q = data["quoted"]
    agg, by = ["count,mean:x,median:x", "distinct:s"], ["k"]
    want = run_local(["--input", q, "--by", "k", "--agg", "count,mean:x,median:x,distinct:s", "--format", "csv"])
    ref = pl.read_csv(io.BytesIO(want.stdout))

    # 1. The caller's own Ray connection: the binary goes through the object store; every
    #    part forced onto the second node, where the binary was never staged.
    trace = os.path.join(tmp, "api-trace.jsonl")
    os.environ["RAYPROC_RAY_TRACE"] = trace
    ray.init(address=c.address, logging_level=logging.ERROR, log_to_driver=False)
    df = rayproc_ray.run(q, agg=agg, by=by, partitions=4, rayproc=CLUSTER_BIN, progress="never", ray_options={"resources": {"node_b": 1}})
    rows, _ = trace_of(trace)
    assert {r["node"] for r in rows} == {"127.0.0.2"}, rows
    assert_frame_equal(df, ref, check_dtypes=False)
    assert df.schema["mean_x"] == pl.Float64 and df.schema["count"].is_integer(), df.schema
    try:
        rayproc_ray.run(data["bad"], agg="mean:x", partitions=3, rayproc=CLUSTER_BIN, progress="never")
        raise AssertionError("a malformed line must raise RayprocError")
    except rayproc_ray.RayprocError as e:
        assert e.exit_code == 1 and e.stderr == run_local(["--input", data["bad"], "--agg", "mean:x"]).stderr, e
    ray.shutdown()
    # 2. No connection yet: rayproc_ray connects with the binary in the job's working_dir.
    df2 = rayproc_ray.run([q], agg=agg, by=by, partitions=3, address=c.address, rayproc=CLUSTER_BIN, progress="never")
    assert_frame_equal(df2, ref, check_dtypes=False)
    ray.shutdown()
    del os.environ["RAYPROC_RAY_TRACE"]
    log(f"ok: API returns a typed polars.DataFrame {dict(df.schema)} equal to run's CSV (object store and working_dir shipping)")
    _test_api_more(c, data, tmp, ref)


def _test_api_more(c: LoopbackCluster, data: dict, tmp: str, ref):
    import ray

    for check in (_api_threads_and_reconnect, _api_infeasible, _api_names_and_notes, _api_relative_and_store):
        check(c, data, tmp, ref)
    ray.shutdown()


def _api_threads_and_reconnect(c: LoopbackCluster, data: dict, tmp: str, ref):
    import threading

    import polars as pl
    from polars.testing import assert_frame_equal

    import ray
    import rayproc_ray

    q = data["quoted"]
    kw = dict(agg=["count,mean:x,median:x", "distinct:s"], by=["k"], rayproc=CLUSTER_BIN, progress="never")
    # Two threads, no connection yet: one ray.init between them, both runs succeed.
    results = {}

    def go(i):
        try:
            results[i] = rayproc_ray.run(q, partitions=2, address=c.address, **kw)
        except Exception as e:  # noqa: BLE001 (reported below)
            results[i] = e

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for r in results.values():
        assert isinstance(r, pl.DataFrame), r
        assert_frame_equal(r, ref, check_dtypes=False)
    # Our connection shut down by the caller, then the caller's own: the binary must go
    # through the object store again (the old connection's working_dir is gone).
    ray.shutdown()
    ray.init(address=c.address, logging_level=logging.ERROR, log_to_driver=False)
    assert_frame_equal(rayproc_ray.run(q, partitions=2, **kw), ref, check_dtypes=False)
    log("ok: API from two threads at once; run() after ray.shutdown() and the caller's ray.init()")


def _api_infeasible(c: LoopbackCluster, data: dict, tmp: str, ref):
    import rayproc_ray

    q = data["quoted"]
    # Tasks no node can hold: refused at once (exit 2), not a silent wait for ever.
    for bad, words in (({"threads": 2}, "--threads 2: no node of the cluster has 2 CPUs"),
                       ({"ray_options": {"resources": {"gpu_box": 1}}}, "gpu_box=1")):
        t = time.time()
        try:
            rayproc_ray.run(q, agg="count", address=c.address, rayproc=CLUSTER_BIN, progress="never", **bad)
            raise AssertionError(f"{bad}: should be refused")
        except rayproc_ray.RayprocError as e:
            assert e.exit_code == 2 and words in str(e), (bad, str(e))
        assert time.time() - t < 20, bad
    log("ok: --threads above every node's CPUs, an unknown resource -> exit 2 at once")


def _api_names_and_notes(c: LoopbackCluster, data: dict, tmp: str, ref):
    import warnings

    import polars as pl
    from polars.testing import assert_frame_equal

    import rayproc_ray

    kw = dict(address=c.address, rayproc=CLUSTER_BIN, progress="never")
    # A --by key named like an aggregate's column: numbered with it, as the command line does.
    dup = os.path.join(tmp, "dup.csv")
    with open(dup, "w") as f:
        f.write("count,x\na,1\nb,2\na,3\n")
    df = rayproc_ray.run(dup, by="count", agg="count,sum:x", partitions=2, **kw)
    csv = run_local(["--input", dup, "--by", "count", "--agg", "count,sum:x", "--format", "csv"]).stdout
    assert df.columns == ["count#1", "count#2", "sum_x"], df.columns
    assert_frame_equal(df.sort("count#1"), pl.read_csv(io.BytesIO(csv)).sort("count#1"))

    # The run's notes are warnings (RayprocWarning), not dropped.
    note = os.path.join(tmp, "note.csv")
    with open(note, "w") as f:
        f.write("x\n" + "1\n" * 100 + f"{10**18}\n")
    want = run_local(["--input", note, "--agg", "approx_median:x"])
    assert b"rayproc: note:" in want.stderr, want
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rayproc_ray.run(note, agg="approx_median:x", partitions=3, **kw)
    got = [str(w.message) for w in caught if w.category is rayproc_ray.RayprocWarning]
    assert got == [want.stderr.decode().rstrip("\n")], (got, want.stderr)
    log("ok: a --by key named like an aggregate -> count, count_duplicated_0; notes -> RayprocWarning")


def _api_relative_and_store(c: LoopbackCluster, data: dict, tmp: str, ref):
    import polars as pl
    from polars.testing import assert_frame_equal

    import rayproc_ray

    kw = dict(address=c.address, rayproc=CLUSTER_BIN, progress="never")
    # Relative paths, read in a directory named `st*r` next to `star`: the same answer and
    # the same messages (paths as typed) as run there; a stale store with allow_stale.
    star = _glob_dirs(tmp)
    old = os.getcwd()
    os.chdir(star)
    try:
        want = run_local(["--input", "dup.csv", "--by", "k", "--agg", "count,sum:x"])
        df = rayproc_ray.run("dup.csv", by="k", agg="count,sum:x", partitions=2, **kw)
        assert_frame_equal(df.sort("k"), pl.read_csv(io.BytesIO(want.stdout)).sort("k"))
        want = run_local(["--input", "bad.csv", "--agg", "sum:x"])
        try:
            rayproc_ray.run("bad.csv", agg="sum:x", partitions=2, **kw)
            raise AssertionError("a non-number must raise")
        except rayproc_ray.RayprocError as e:
            assert (e.exit_code, e.stderr) == (want.returncode, want.stderr), (e.stderr, want.stderr)
        store = os.path.relpath(_stale_store(tmp, "api"))
        want = run_local(["--store", store, "--agg", "count"])
        try:
            rayproc_ray.run(store=store, agg="count", **kw)
            raise AssertionError("a stale store must raise")
        except rayproc_ray.RayprocError as e:
            assert (e.exit_code, e.stderr) == (want.returncode, want.stderr), (e.stderr, want.stderr)
        want = run_local(["--store", store, "--agg", "count", "--allow-stale", "--no-verify"])
        df = rayproc_ray.run(store=store, agg="count", allow_stale=True, no_verify=True, **kw)
        assert_frame_equal(df, pl.read_csv(io.BytesIO(want.stdout)))
    finally:
        os.chdir(old)
    log("ok: relative paths in a directory named st*r: run's answer and messages; allow_stale on a stale store")


def test_kill_worker_node(c: LoopbackCluster, data: dict, tmp: str):
    # A wrapper that makes every map slow, so that parts are running on the worker node when
    # it dies. It goes to the workers like the real binary does (staged copy).
    slow = os.path.join(tmp, "slow-rayproc")
    with open(slow, "w") as f:
        f.write(f'#!/bin/sh\nif [ "$1" = map ]; then sleep 1; fi\nexec {CLUSTER_BIN} "$@"\n')
    os.chmod(slow, 0o755)
    args = ["--input", data["quoted"], "--by", "k", "--agg", "count,mean:x,p90:x,distinct:s"]
    want = run_local(args)
    cmd = [sys.executable, "-m", "rayproc_ray", "run", "--address", c.address, "--rayproc", slow, *args, "--partitions", "8", "--progress", "never"]
    trace = os.path.join(tmp, "kill-trace.jsonl")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(RAYPROC_RAY_TRACE=trace))
    deadline = time.time() + 60
    while time.time() < deadline:
        maps = [p for p in c.pids("worker") if b"map" in _cmd(p) and b"rayproc" in _cmd(p)]
        if maps:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise AssertionError("no map ever ran on the worker node")
    c.kill_node("worker")
    log(f"killed the worker node ({len(maps)} map process(es) running there)")
    out, err = proc.communicate(timeout=240)
    text = err.decode("utf-8", "replace")
    assert "Traceback" not in text, f"a traceback reached the user:\n{text}"
    if proc.returncode == 0:
        assert out == want.stdout, f"the answer changed after the node died:\n{out!r}\nvs\n{want.stdout!r}"
        rows, _ = trace_of(trace)
        log(
            "ok: worker node killed mid-run -> the answer is UNCHANGED "
            f"(Ray retried its parts; {sum(r['node'] != '127.0.0.2' for r in rows)}/8 parts finished on the head)"
        )
    else:
        assert proc.returncode == 1 and text.startswith("rayproc: error: part"), f"exit {proc.returncode}: {text}"
        log(f"ok: worker node killed mid-run -> the run FAILED CLEANLY (exit 1): {text.strip()}")


def test_interrupt(c: LoopbackCluster, data: dict, tmp: str):
    """Ctrl-C, SIGTERM, SIGHUP: the tasks are cancelled (no map left running), exit 130, 143,
    129, no --output, no temporary folder, no traceback nor Ray crash report."""
    slow = os.path.join(tmp, "slower-rayproc")
    with open(slow, "w") as f:
        # The map becomes `sleep 31.7` (exec: the task's own child, as a real map is).
        f.write(f'#!/bin/sh\nif [ "$1" = map ]; then exec sleep 31.7; fi\nexec {CLUSTER_BIN} "$@"\n')
    os.chmod(slow, 0o755)
    out = os.path.join(tmp, "interrupted.csv")
    cmd = [sys.executable, "-m", "rayproc_ray", "run", "--address", c.address, "--rayproc", slow,
           "--input", data["quoted"], "--agg", "mean:x", "--partitions", "4", "--output", out]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        scratch = tempfile.mkdtemp(dir=tmp, prefix="tmpdir-")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(TMPDIR=scratch))
        deadline = time.time() + 60
        while time.time() < deadline and not _sleepers():
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig, f"{sig.name}: exit {proc.returncode}: {err.decode()}"
        assert b"Traceback" not in err and b"received at time" not in err, err.decode()
        assert not os.path.exists(out)
        left = [f for f in os.listdir(scratch) if f.startswith("rayproc-ray-")]
        assert not left, f"{sig.name}: temporary files left: {left}"
        deadline = time.time() + 20
        while time.time() < deadline and _sleepers():
            time.sleep(0.2)
        left = _sleepers()
        assert not left, f"maps still running after {sig.name}: {left}"
        log(f"ok: {sig.name} -> exit {128 + sig}, every map cancelled, no --output, no temporary folder")


def _sleepers():
    """Every process on the machine that is one of test_interrupt's maps (orphans too)."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _cmd(int(p)) == b"sleep\x0031.7\x00"]


def _cmd(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def main():
    import test_driver_unit

    test_driver_unit.main()  # the checks that need no cluster
    tmp = tempfile.mkdtemp(prefix="rayproc-cluster-test-")
    c = LoopbackCluster()
    ok = False
    try:
        data = make_data(tmp)
        log(f"starting a 2-node loopback Ray cluster (head 127.0.0.1, worker 127.0.0.2) in {c.tmp}")
        c.start()
        log(f"cluster up at {c.address}")
        for test in (test_cli, test_errors, test_api, test_interrupt, test_kill_worker_node):
            if not ONLY or test.__name__ in ONLY:
                test(c, data, tmp)
        ok = True
    finally:
        try:
            import ray

            ray.shutdown()
        except Exception:
            pass
        left = c.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if left:
            print(f"FAIL: Ray processes left running: {sorted(left)}", flush=True)
            sys.exit(1)
        log("stopped every Ray process the test started (checked by PID: none left)")
        if not ok:
            print(f"cluster logs kept in {c.tmp}", flush=True)
    log("all cluster checks passed")


if __name__ == "__main__":
    main()
