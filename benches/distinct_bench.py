#!/usr/bin/env python3
"""`distinct` of whole numeric columns, rayproc side by side with Polars and DuckDB.

The reference data's `x` (10M distinct floats), `id` (10M distinct integers) and `n` (1M
distinct integers), from the CSV file and the Parquet file, 2 threads each; every engine
runs once per round, rounds interleaved; prints a markdown table of medians and rayproc's
ratio to the fastest peer (the last `--binary` given).

    python3 benches/distinct_bench.py [--runs 3] [--binary base=/tmp/rayproc-old ...]

Needs the bench virtualenv (`benches/setup.sh`) and `target/bench-data/d10m.{csv,parquet}`
(`benches/gen_data.py`).
"""

import argparse
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = os.path.join(ROOT, "target/bench-venv/bin/python")
DATA = os.path.join(ROOT, "target/bench-data")


def timed(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", default="2")
    ap.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a rayproc binary to time (repeatable; default target/release/rayproc)",
    )
    args = ap.parse_args()
    binaries = [b.split("=", 1) for b in args.binary] or [
        ["rayproc", os.path.join(ROOT, "target/release/rayproc")]
    ]
    env = dict(os.environ, POLARS_MAX_THREADS=args.threads)
    names = [name for name, _ in binaries]
    print("| query | " + " | ".join(names) + " | Polars | DuckDB | "
          f"{names[-1]} / fastest peer |")
    print("|---" * (len(names) + 4) + "|")
    for kind, scan, read in [("csv", "scan_csv", "read_csv_auto"),
                             ("parquet", "scan_parquet", "read_parquet")]:
        path = os.path.join(DATA, f"d10m.{kind}")
        for col in ["x", "id", "n"]:
            cmds = {
                name: [exe, "run", "--input", path, "--agg", f"distinct:{col}",
                       "--threads", args.threads, "--quiet"]
                for name, exe in binaries
            }
            cmds["polars"] = [PY, "-c", "import polars as pl; "
                              f"print(pl.{scan}({path!r}).select(pl.col({col!r}).n_unique()).collect())"]
            cmds["duckdb"] = [PY, "-c", "import duckdb; c = duckdb.connect(); "
                              f"c.execute('SET threads={args.threads}'); "
                              f"print(c.execute(\"SELECT count(DISTINCT {col}) FROM {read}('{path}')\").fetchall())"]
            times = {k: [] for k in cmds}
            for _ in range(args.runs):
                for k, argv in cmds.items():
                    times[k].append(timed(argv, env))
            med = {k: statistics.median(v) for k, v in times.items()}
            best = min(med["polars"], med["duckdb"])
            cells = " | ".join(f"{med[n]:.2f}" for n in names)
            print(f"| `distinct:{col}` {kind} | {cells} | {med['polars']:.2f} | "
                  f"{med['duckdb']:.2f} | {med[names[-1]] / best:.2f} |", flush=True)


if __name__ == "__main__":
    main()
