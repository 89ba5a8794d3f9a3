#!/usr/bin/env python3
"""Short decimals: rayproc on each SIMD path, Polars and DuckDB side by side.

The reference data's floats are the shortest round-trip form of random doubles, 16 to 24
bytes (`0.8012042374516246`), the one shape the AVX2 and AVX-512 lanes read. Most columns of
real data are shorter: prices (`19.99`), rates (`-4.1405`), coordinates (`-122.419416`),
which the scalar reader takes on every path (`src/number/decimal.rs`, `split_short`). This
times the mean of three such columns (two, four and six decimals) over 8M rows, on each SIMD
path this machine has (`RAYPROC_SIMD` caps) and on each binary given, with Polars and DuckDB,
round-robin; prints medians, each rayproc run's ratio to the fastest peer, and checks that
every path and binary prints the same bytes and that Polars agrees on the values.

    target/bench-venv/bin/python benches/decimals_bench.py [--runs 5] [--threads 2]
        [--levels avx512,avx2,none] [--binary old=PATH --binary new=PATH]

The data (about 300 MB) is generated into target/bench-data/decimals/ on first use. Needs the
venv of benches/setup.sh (polars, duckdb).
"""
import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "target", "bench-data", "decimals")
COLUMNS = ["price", "rate", "lat"]


def data_file(rows):
    """`rows` rows of an id and three short decimal columns, generated once (seeded)."""
    path = os.path.join(DATA, f"short{rows}.csv")
    if os.path.exists(path):
        return path
    os.makedirs(DATA, exist_ok=True)
    rng = random.Random(11)
    with open(path + ".tmp", "w") as f:
        f.write("id,price,rate,lat\n")
        lines = []
        for i in range(rows):
            # prices of three magnitudes: integer parts of 1 to 6 digits
            price = rng.random() * (20, 2000, 200000)[i % 3]
            lines.append(f"{i},{price:.2f},{rng.uniform(-5, 5):.4f},{rng.uniform(-90, 90):.6f}\n")
            if len(lines) == 100_000:
                f.write("".join(lines))
                lines = []
        f.write("".join(lines))
    os.rename(path + ".tmp", path)
    return path


def run(argv, env):
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, check=True, stdout=subprocess.PIPE).stdout
    return time.perf_counter() - start, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=8_000_000)
    ap.add_argument("--levels", default=None,
                    help="RAYPROC_SIMD caps to run, comma-separated (default: the machine's path and "
                         "every one below it; those above it are skipped)")
    ap.add_argument("--binary", action="append", default=[], metavar="NAME=PATH",
                    help="rayproc binaries to compare (default: target/release/rayproc)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    binaries = [b.split("=", 1) for b in args.binary] or [
        ("rayproc", os.path.join(REPO, "target", "release", "rayproc"))]
    path = data_file(args.rows)
    env = dict(os.environ, POLARS_MAX_THREADS=str(args.threads))
    version = subprocess.run([binaries[0][1], "--version"], capture_output=True, text=True).stdout
    machine = version.split("simd: ")[-1].strip(" )\n")
    # the paths at and below the machine's own
    ladder = next((ladder for ladder in (["avx512", "avx2", "sse", "none"], ["neon", "none"])
                   if machine in ladder), [machine, "none"])
    below = ladder[ladder.index(machine):]
    levels = [lv for lv in (args.levels or ",".join(below)).split(",") if lv in below]
    cmds = {}
    for name, binary in binaries:
        for level in levels:
            argv = [binary, "run", "--input", path, "--agg", ",".join(f"mean:{c}" for c in COLUMNS),
                    "--threads", str(args.threads), "--format", "json", "--quiet"]
            cmds[f"{name} [{level}]"] = (argv, dict(env, RAYPROC_SIMD=level))
    means = ", ".join(f"pl.col('{c}').mean()" for c in COLUMNS)
    cmds["polars"] = ([args.python, "-c", "import polars as pl, json; print(json.dumps("
                       f"pl.scan_csv({path!r}).select({means}).collect().rows()[0]))"], env)
    avgs = ", ".join(f"avg({c})" for c in COLUMNS)
    cmds["duckdb"] = ([args.python, "-c", "import duckdb; c = duckdb.connect(); "
                       f"c.execute('SET threads TO {args.threads}'); "
                       f"print(c.execute(\"SELECT {avgs} FROM read_csv('{path}')\").fetchall())"], env)
    times = {k: [] for k in cmds}
    outputs = {}
    for r in range(args.runs):
        keys = list(cmds)
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            t, out = run(*cmds[k])
            times[k].append(t)
            outputs[k] = out
    ours = [k for k in cmds if k not in ("polars", "duckdb")]
    digests = {hashlib.md5(outputs[k]).hexdigest() for k in ours}
    values = json.loads(outputs[ours[0]])[0]
    peer_values = json.loads(outputs["polars"])
    agree = all(abs(values[f"mean_{c}"] - v) <= 1e-9 * abs(v) for c, v in zip(COLUMNS, peer_values))
    med = {k: statistics.median(t) for k, t in times.items()}
    peer = min(med["polars"], med["duckdb"])
    print(f"{version.strip()}, --threads {args.threads}, {args.rows:,} rows of three short decimal "
          f"columns ({', '.join(COLUMNS)}), median of {args.runs}, round-robin\n")
    print("| command | wall s | / fastest peer |")
    print("| --- | --- | --- |")
    for k in cmds:
        print(f"| {k} | {med[k]:.3f} | {med[k] / peer:.2f} |")
    print(f"\nrayproc's outputs identical on every path and binary: {'yes' if len(digests) == 1 else 'NO'}; "
          f"Polars agrees (relative 1e-9): {'yes' if agree else 'NO'}")
    if len(digests) != 1 or not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
