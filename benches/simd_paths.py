#!/usr/bin/env python3
"""rayproc's Q1-Q6 on every SIMD path of one machine, interleaved (issue 18).

Caps the paths with RAYPROC_SIMD (`src/cpu.rs`), so that the AVX2 and the
portable paths can be measured on a machine that has AVX-512. Each round runs
every (binary, level) once per query, in turn, so that the machine's drift
hits all of them alike; the report is the median wall time of each, its ratio
to the first level given, and the md5 of its output (the same on every path
and binary, or the script says so and exits 1).

    python3 benches/simd_paths.py --input /tmp/d10m.csv --runs 3 \
        --levels avx512,avx2,sse,none [--binary before=/tmp/rayproc-old] \
        [--queries q1,q2] [--wc]

`--binary NAME=PATH` (repeatable) compares builds; the default is
target/release/rayproc. `--wc` times `wc -l` in each round too. The queries
are those of benches/compare.py (QUERIES), at --threads 2 unless given.

`--instructions` counts the instructions each run executes instead of timing
it (valgrind's callgrind, ~50x slower: use a sample, such as the first million
rows, `head -1000001 d10m.csv > /tmp/d1m.csv`) and, unless --threads says
otherwise, one thread. On a shared VM whose wall and CPU times swing by a
third within minutes, the count is the steady figure: at one thread repeated
runs agree within 0.01%, so a change of 1% between builds is real (at two,
Q4 moves by 2.4% from run to run: which worker's set absorbs the other's
depends on timing). It counts work, not time: it does not
see cache misses or page faults, and says nothing of `avx512` (valgrind lacks
AVX-512, so a cap of `avx512` runs the AVX2 path; the header says which).

    python3 benches/simd_paths.py --instructions --input /tmp/d1m.csv \
        --levels avx2,none --binary before=/tmp/rayproc-old --binary now=target/release/rayproc
"""

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import QUERIES  # noqa: E402


CALLGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]


def run(argv, env, instructions=False):
    """(wall seconds, or instructions executed with `instructions`; md5 of stdout)."""
    if instructions:
        argv = CALLGRIND + argv
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.decode()[:400]}")
    digest = hashlib.md5(p.stdout).hexdigest()
    if instructions:
        m = re.search(r"Collected : (\d+)", p.stderr.decode())
        if not m:
            sys.exit(f"no instruction count from callgrind: {p.stderr.decode()[-400:]}")
        return int(m.group(1)), digest
    return wall, digest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default="/tmp/d10m.csv")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, help="threads per run (2; 1 with --instructions)")
    ap.add_argument("--levels", default="avx512,avx2,sse,none")
    ap.add_argument("--queries", default=",".join(QUERIES))
    ap.add_argument("--binary", action="append", default=[])
    ap.add_argument("--wc", action="store_true")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under valgrind instead of timing (one run each)")
    args = ap.parse_args()
    if args.instructions:
        if not shutil.which("valgrind"):
            sys.exit("--instructions needs valgrind (apt-get install valgrind)")
        if args.wc:
            sys.exit("--wc times wc -l; it has no instruction count to compare")
        args.runs = 1
    if args.threads is None:
        args.threads = 1 if args.instructions else 2
    root = Path(__file__).resolve().parent.parent
    binaries = [b.split("=", 1) for b in args.binary] or [["now", str(root / "target/release/rayproc")]]
    levels = args.levels.split(",")
    queries = args.queries.split(",")
    for name, path in binaries:
        for level in levels:
            env = dict(os.environ, RAYPROC_SIMD=level)
            argv = [path, "--version"]
            if args.instructions:
                argv = CALLGRIND + argv
            v = subprocess.run(argv, env=env, capture_output=True, text=True)
            print(f"# {name} {level}: {v.stdout.strip()}")
    print(f"# {os.uname().nodename}, load {os.getloadavg()}")

    times = {}
    md5 = {}
    for r in range(args.runs):
        for q in queries:
            for name, path in binaries:
                for level in levels:
                    env = dict(os.environ, RAYPROC_SIMD=level)
                    argv = [path, "run", "--input", args.input, *QUERIES[q].rayproc_args,
                            "--threads", str(args.threads), "--format", "json", "--quiet"]
                    wall, digest = run(argv, env, args.instructions)
                    times.setdefault((q, name, level), []).append(wall)
                    md5.setdefault(q, {}).setdefault(digest, []).append(f"{name}/{level}")
            if args.wc and q == queries[0]:
                wall, _ = run(["wc", "-l", args.input], dict(os.environ))
                times.setdefault(("wc", "", ""), []).append(wall)
        print(f"# round {r + 1} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr)

    cols = [(name, level) for name, _ in binaries for level in levels]
    print("| query | " + " | ".join(f"{n} {l}" for n, l in cols) + " | md5 |")
    print("|---" * (len(cols) + 2) + "|")
    ok = True
    for q in queries:
        med = [statistics.median(times[(q, n, l)]) for n, l in cols]
        if args.instructions:
            cells = [f"{m / 1e6:,.0f}M ({m / med[0]:.3f})" for m in med]
        else:
            cells = [f"{m:.3f} s ({m / med[0]:.2f})" for m in med]
        digests = md5[q]
        if len(digests) != 1:
            ok = False
        print(f"| {q} | " + " | ".join(cells) + f" | {'same' if len(digests) == 1 else digests} |")
    if args.wc:
        wc = statistics.median(times[("wc", "", "")])
        print(f"\nwc -l: {wc:.3f} s; Q1 / wc -l: " + ", ".join(
            f"{n} {l} {statistics.median(times[('q1', n, l)]) / wc:.2f}x" for n, l in cols
            if ("q1", n, l) in times))
    for q in queries:
        print(f"# {q} md5: {' '.join(md5[q])}")
    if not ok:
        sys.exit("outputs differ between paths or binaries")


if __name__ == "__main__":
    main()
