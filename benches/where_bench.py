#!/usr/bin/env python3
"""Q7 (--where) and Q8 (time buckets) of issue 15 against DuckDB and Polars, in one run.

    /tmp/bench-venv/bin/python benches/where_bench.py --file /tmp/d10m.csv \
        [--peers ../shared/bench/peers.py] [--rayproc target/release/rayproc] [--runs 3] [--threads 2]

Runs are interleaved (rayproc, duckdb, polars, then again) so that load on a shared machine
hits every engine alike; the report is the median wall time of each and rayproc's ratio to the
fastest peer (the target is 1/3 or less), as a Markdown table for docs/benchmarks.md. The
peers' queries are peers.py's q7/q8 (the shared one has them; benches/peers.py may not yet).
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

QUERIES = {
    "q7": ["--where", "k_small = 'cat_042' and x > 0", "--agg", "count,mean:y"],
    "q8": ["--by", "day(ts)", "--agg", "count,mean:x"],
}


def timed(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return wall, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--peers", default=str(REPO.parent / "shared" / "bench" / "peers.py"))
    ap.add_argument("--rayproc", default=str(REPO / "target" / "release" / "rayproc"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", default="q7,q8")
    a = ap.parse_args()
    version = subprocess.run([a.rayproc, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}; {a.file}; --threads {a.threads}; median of {a.runs}\n")
    print("| query | rayproc | DuckDB | Polars | rayproc / fastest peer |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for q in a.queries.split(","):
        engines = {
            "rayproc": [a.rayproc, "run", "--input", a.file, "--threads", str(a.threads),
                        "--format", "csv", *QUERIES[q]],
            "duckdb": [sys.executable, a.peers, "--engine", "duckdb", "--query", q,
                       "--file", a.file, "--threads", str(a.threads)],
            "polars": [sys.executable, a.peers, "--engine", "polars", "--query", q,
                       "--file", a.file, "--threads", str(a.threads)],
        }
        times = {e: [] for e in engines}
        for _ in range(a.runs):
            for e, cmd in engines.items():
                wall, out = timed(cmd)
                times[e].append(wall)
                if _ == 0:
                    print(f"<!-- {q} {e}: {out.strip()[:160]} -->", file=sys.stderr)
        med = {e: statistics.median(t) for e, t in times.items()}
        best = min(med["duckdb"], med["polars"])
        print(f"| {q} | {med['rayproc']:.2f} s | {med['duckdb']:.2f} s | {med['polars']:.2f} s "
              f"| {med['rayproc'] / best:.2f} |")


if __name__ == "__main__":
    main()
