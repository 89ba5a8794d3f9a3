#!/usr/bin/env python3
"""A million groups of every kind of key: rayproc, Polars and DuckDB side by side.

The reference queries group a million text keys that differ early (`key_0000000`, Q6). Real
keys also come as numbers, as text that begins alike (URLs, paths), and as several columns; a
group-by's last step sorts its groups by key, and each kind of key takes another way through
that sort (`src/partial/finish.rs`). This runs `sum(v)` grouped by each kind of key over a
million rows with a million distinct keys, on each engine in turn (round-robin, so that all see
the same machine), and prints the median wall time of each and rayproc's ratio to the fastest
peer. Every engine reads the CSV and materialises the sorted result; rayproc also prints it as
JSON (to /dev/null).

    target/bench-venv/bin/python benches/groups_bench.py [--runs 5] [--threads 2]

With `--aggs` it times, instead, each kind of aggregate grouped by the reference data's
`k_large` (a million groups of about ten rows, `target/bench-data/d10m.csv` from
benches/run.sh): means and deviations, exact quantiles, `distinct` of numbers and of text,
`approx_distinct`, and `min`/`max` of a number and of text.

    target/bench-venv/bin/python benches/groups_bench.py --aggs [--runs 3]

The data (about 20 MB per kind) is generated into target/bench-data/groups/ on first use. Needs
the venv of benches/setup.sh (polars, duckdb).
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "target", "bench-data", "groups")
ROWS = 1_000_000

# kind: (description, key columns, how row i's key fields are written)
KINDS = {
    "text": ("text keys differing early (`key_0123456`)", ["k"], lambda k: [f"key_{k:07d}"]),
    "url": ("text keys beginning alike (`https://example.com/item/0123456`)", ["k"],
            lambda k: [f"https://example.com/item/{k:07d}"]),
    "int": ("integer keys", ["k"], lambda k: [str(k * 37 + 5)]),
    "float": ("float keys", ["k"], lambda k: [repr(k / 7.0)]),
    "two": ("two columns: text and integer", ["a", "b"], lambda k: [f"cat_{k % 100:03d}", str(k // 100 * 7)]),
}


# aggregate: (description, rayproc's --agg, Polars' expressions, DuckDB's select list)
AGGS = {
    "moments": ("`mean:x,std:x`", "mean:x,std:x",
                "pl.col('x').mean().alias('mean'), pl.col('x').std().alias('std')", "avg(x), stddev_samp(x)"),
    "quantiles": ("`median:x,p99:y` (exact)", "median:x,p99:y",
                  "pl.col('x').median(), pl.col('y').quantile(0.99, 'linear')",
                  "median(x), quantile_cont(y, 0.99)"),
    "distinct": ("`distinct:n` (integers)", "distinct:n", "pl.col('n').n_unique()",
                 "count(DISTINCT n)"),
    "approx": ("`approx_distinct:n`", "approx_distinct:n", "pl.col('n').approx_n_unique()",
               "approx_count_distinct(n)"),
    "text": ("`distinct:note` (text)", "distinct:note", "pl.col('note').n_unique()",
             "count(DISTINCT note)"),
    "extremes": ("`min:x,max:note`", "min:x,max:note", "pl.col('x').min(), pl.col('note').max()",
                 "min(x), max(note)"),
}
REFERENCE = os.path.join(REPO, "target", "bench-data", "d10m.csv")


def agg_commands(agg, args):
    _, spec, polars_exprs, duckdb_select = AGGS[agg]
    return engine_commands(REFERENCE, ["k_large"], spec, polars_exprs, duckdb_select, args)


def data_file(kind):
    path = os.path.join(DATA, f"{kind}.csv")
    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        rng = random.Random(kind)
        keys = list(range(ROWS))
        rng.shuffle(keys)
        _, cols, fields = KINDS[kind]
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(",".join(cols + ["v"]) + "\n")
            for k in keys:
                f.write(",".join(fields(k) + [str(rng.randrange(1_000_000))]) + "\n")
        os.replace(tmp, path)
    return path


def commands(kind, path, args):
    return engine_commands(path, KINDS[kind][1], "sum:v", "pl.col('v').sum()", "sum(v)", args)


def engine_commands(path, cols, spec, polars_exprs, duckdb_select, args):
    """Each engine's command: group `path` by `cols`, aggregate, sort, materialise."""
    by = ", ".join(f'"{c}"' for c in cols)
    polars = (f"import polars as pl; pl.scan_csv({path!r}).group_by({by})"
              f".agg({polars_exprs}).sort({by}).collect()")
    duckdb = (f"import duckdb; c = duckdb.connect(); c.execute('SET threads TO {args.threads}'); "
              f"c.execute(\"SELECT {', '.join(cols)}, {duckdb_select} FROM read_csv('{path}') "
              f"GROUP BY ALL ORDER BY ALL\").fetchall()")
    env = dict(os.environ, POLARS_MAX_THREADS=str(args.threads))
    return {
        "rayproc": ([args.rayproc, "run", "--input", path, "--by", ",".join(cols), "--agg", spec,
                     "--threads", str(args.threads), "--format", "json", "--quiet"], env),
        "polars": ([args.python, "-c", polars], env),
        "duckdb": ([args.python, "-c", duckdb], env),
    }


def timed(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--aggs", nargs="?", const=",".join(AGGS), default=None,
                    help="time these aggregates by k_large of the reference data instead "
                         f"(default when given alone: {','.join(AGGS)})")
    ap.add_argument("--rayproc", default=os.path.join(REPO, "target", "release", "rayproc"))
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    version = subprocess.run([args.rayproc, "--version"], capture_output=True, text=True).stdout.strip()
    if args.aggs:
        if not os.path.exists(REFERENCE):
            sys.exit(f"{REFERENCE} is missing: benches/run.sh generates it")
        print(f"{version}, --threads {args.threads}, {REFERENCE} by k_large (a million groups), "
              f"median of {args.runs}\n")
        print("| aggregates | rayproc s | polars s | duckdb s | rayproc / fastest peer |")
        cases = [(AGGS[a][0], agg_commands(a, args)) for a in args.aggs.split(",")]
    else:
        print(f"{version}, --threads {args.threads}, {ROWS:,} rows and groups, median of {args.runs}\n")
        print("| keys | rayproc s | polars s | duckdb s | rayproc / fastest peer |")
        cases = ((KINDS[k][0], commands(k, data_file(k), args)) for k in args.kinds.split(","))
    print("| --- | --- | --- | --- | --- |")
    for label, cmds in cases:
        times = {engine: [] for engine in cmds}
        for _ in range(args.runs):
            for engine, (argv, env) in cmds.items():
                times[engine].append(timed(argv, env))
        med = {engine: statistics.median(t) for engine, t in times.items()}
        peer = min(med["polars"], med["duckdb"])
        print(f"| {label} | {med['rayproc']:.2f} | {med['polars']:.2f} | "
              f"{med['duckdb']:.2f} | {med['rayproc'] / peer:.2f} |", flush=True)


if __name__ == "__main__":
    main()
