#!/usr/bin/env python3
"""Benchmark of rayproc on Ray (issue 13 §3); figures go to docs/benchmarks.md.

    target/ray-venv/bin/python benches/cluster_bench.py [--file /tmp/d10m.csv] [--only a,b,c]

(a) `rayproc map` of 8 parts (each --threads 1, two at a time) + `rayproc reduce`, against
    `rayproc run --threads 2`, for Q1-Q6 of ../shared/bench/peers.py: CPU seconds
    (user+sys of the children), the overhead in %, and the partial sizes. Medians of 3.
(b) `rayproc run --cluster` on the 2-node loopback cluster (one CPU per node) against
    `rayproc run --threads 2`: wall seconds for Q1-Q3, and the per-task overhead from a
    small file at 2 and 64 partitions.
(c) The Ray Data peer on the same cluster and file: `ray.data.read_csv(F)` then `.mean("x")`
    (Q1), `.std`/`.sum`/... (Q2, on x), `.groupby("k_small").mean("x")` (Q3); answers compared
    with rayproc's. Needs pandas and pyarrow in the venv.
Needs RAYPROC_BIN (default target/release/rayproc) and the venv of tests/cluster.rs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python", "tests"))
sys.path.insert(0, os.path.join(ROOT, "python"))

from loopback import LoopbackCluster, ray_env  # noqa: E402

BIN = os.path.abspath(os.environ.get("RAYPROC_BIN", os.path.join(ROOT, "target", "release", "rayproc")))

Q = {
    "Q1": ["--agg", "mean:x"],
    "Q2": ["--agg", ",".join(["count"] + [f"{f}:{c}" for c in ("x", "y", "n") for f in ("count", "sum", "min", "max", "mean", "std")])],
    "Q3": ["--by", "k_small", "--agg", "count,mean:x"],
    "Q4": ["--agg", "distinct:k_large"],
    "Q5": ["--agg", "median:x,p99:x"],
    "Q6": ["--by", "k_large", "--agg", "sum:n"],
}


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn):
    c0, w0 = cpu_children(), time.perf_counter()
    out = fn()
    return cpu_children() - c0, time.perf_counter() - w0, out


def sh(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        raise SystemExit(f"{cmd} failed: {p.stderr.decode()}")
    return p.stdout


def bench_a(f, reps):
    rows = []
    for name, q in Q.items():
        base = [BIN, "run", "--input", f, *q, "--threads", "2", "--quiet", "--format", "csv"]
        runs, maps = [], []
        want = None
        for _ in range(reps):
            cpu, wall, want = timed(lambda: sh(base))
            runs.append((cpu, wall))
        with tempfile.TemporaryDirectory() as d:
            for _ in range(reps):
                def mapreduce():
                    paths = [os.path.join(d, f"p{i}") for i in range(8)]
                    procs = []
                    for i in range(8):  # two at a time: the machine has 2 cores
                        procs.append(subprocess.Popen([BIN, "map", "--input", f, "--part", f"{i}/8", *q, "--threads", "1", "--quiet", "--emit-partial", paths[i]]))
                        if len(procs) == 2:
                            for p in procs:
                                assert p.wait() == 0
                            procs = []
                    for p in procs:
                        assert p.wait() == 0
                    out = sh([BIN, "reduce", *paths, "--format", "csv", "--quiet"])
                    return out, [os.path.getsize(p) for p in paths]
                cpu, wall, (out, sizes) = timed(mapreduce)
                assert out == want, f"{name}: map+reduce differs from run"
                maps.append((cpu, wall))
        rc = statistics.median(c for c, _ in runs)
        mc = statistics.median(c for c, _ in maps)
        row = {"query": name, "run_cpu_s": round(rc, 2), "mapreduce_cpu_s": round(mc, 2),
               "overhead_pct": round(100 * (mc - rc) / rc, 1), "partial_bytes_total": sum(sizes),
               "partial_bytes_max": max(sizes)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def cluster_run(c, args, partitions, trace):
    env = ray_env()
    env.update(RAYPROC_PYTHON=sys.executable, PYTHONPATH=os.path.join(ROOT, "python"), RAYPROC_RAY_TRACE=trace)
    return sh([BIN, "run", "--cluster", c.address, *args, "--partitions", str(partitions), "--quiet", "--format", "csv"], env=env)


def bench_b(c, f, reps, small):
    rows = []
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "t.jsonl")
        for name in ("Q1", "Q2", "Q3"):
            q = Q[name]
            local = [timed(lambda: sh([BIN, "run", "--input", f, *q, "--threads", "2", "--quiet", "--format", "csv"])) for _ in range(reps)]
            clus = [timed(lambda: cluster_run(c, ["--input", f, *q], 8, trace)) for _ in range(reps)]
            assert clus[0][2] == local[0][2], f"{name}: cluster output differs"
            summary = [json.loads(line) for line in open(trace)][-1]["summary"]
            row = {"query": name, "run_wall_s": round(statistics.median(w for _, w, _ in local), 2),
                   "cluster_wall_s": round(statistics.median(w for _, w, _ in clus), 2), "last_trace": summary}
            print(json.dumps(row), flush=True)
            rows.append(row)
        walls = {}
        for n in (2, 64):
            walls[n] = statistics.median(timed(lambda: cluster_run(c, ["--input", small, "--agg", "mean:x"], n, trace))[1] for _ in range(reps))
        per_task_ms = 1000 * (walls[64] - walls[2]) / 62
        row = {"small_file_wall_2_parts_s": round(walls[2], 2), "wall_64_parts_s": round(walls[64], 2), "per_task_overhead_ms": round(per_task_ms, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def bench_c(c, f, reps):
    import ray

    os.environ.update(ray_env())
    import logging

    ray.init(address=c.address, logging_level=logging.ERROR, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    rows = []

    def q1():
        return {"mean_x": ray.data.read_csv(f).mean("x")}

    def q2():
        ds = ray.data.read_csv(f)
        agg = ds.aggregate(ray.data.aggregate.Count(), ray.data.aggregate.Sum("x"), ray.data.aggregate.Min("x"),
                           ray.data.aggregate.Max("x"), ray.data.aggregate.Mean("x"), ray.data.aggregate.Std("x", ddof=1))
        return agg

    def q3():
        pdf = ray.data.read_csv(f).groupby("k_small").mean("x").to_pandas()
        pdf = pdf.sort_values(pdf.columns[0])
        return {"groups": len(pdf), "first": [pdf.iloc[0, 0], float(pdf.iloc[0, 1])],
                "last": [pdf.iloc[-1, 0], float(pdf.iloc[-1, 1])]}

    for name, fn in (("Q1", q1), ("Q2", q2), ("Q3", q3)):
        walls = []
        for _ in range(reps):
            t = time.perf_counter()
            ans = fn()
            walls.append(time.perf_counter() - t)
        mine = sh([BIN, "run", "--input", f, *Q[name], "--threads", "2", "--quiet", "--format", "csv"]).decode()
        row = {"query": name, "ray_data_wall_s": round(statistics.median(walls), 2), "ray_data_answer": {k: str(v) for k, v in dict(ans).items()},
               "rayproc_answer": mine.splitlines()[:2]}
        print(json.dumps(row, default=str), flush=True)
        rows.append(row)
    ray.shutdown()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default="/tmp/d10m.csv")
    ap.add_argument("--only", default="a,b,c")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--reps-c", type=int, default=1, help="Ray Data runs take ~30 s each")
    a = ap.parse_args()
    only = set(a.only.split(","))
    print(sh([BIN, "--version"]).decode().strip(), flush=True)
    results = {}
    if "a" in only:
        results["a"] = bench_a(a.file, a.reps)
    if only & {"b", "c"}:
        c = LoopbackCluster()
        small = os.path.join(c.tmp, "small.csv")
        with open(small, "w") as fh:
            fh.write("x\n" + "".join(f"{i}\n" for i in range(1000)))
        try:
            c.start()
            if "b" in only:
                results["b"] = bench_b(c, a.file, a.reps, small)
            if "c" in only:
                results["c"] = bench_c(c, a.file, a.reps_c)
        finally:
            left = c.stop()
            assert not left, f"Ray processes left: {left}"
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
