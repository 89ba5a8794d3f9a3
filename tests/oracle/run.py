"""Runs the differential oracles of this folder against a rayproc binary.

    python3 tests/oracle/run.py SUITE --rayproc PATH [--first N] [--cases M] [--big K]

SUITE is `aggregates`, `where`, `buckets` or `dialect`. Each case is a
random input and query made from its seed (the same seed, the same case on
every machine), answered by rayproc and by an oracle written from the
contract in README.md; the first disagreement is printed with the seed and
the command, and the exit code is 1. `--big K` adds K cases of 150,000
rows grouped into tens of thousands of groups on one thread (the radix
group-by) to the aggregates suite. Only the Python standard library is needed.
"""
import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("suite", choices=["aggregates", "where", "buckets", "dialect"])
    ap.add_argument("--rayproc", required=True)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--big", type=int, default=0)
    a = ap.parse_args()
    suite = importlib.import_module(a.suite)
    suite.R = a.rayproc
    problems = []
    seeds = [(s, False) for s in range(a.first, a.first + a.cases)]
    seeds += [(s, True) for s in range(a.first + 100_000, a.first + 100_000 + a.big)]
    for seed, big in seeds:
        msg = suite.run_case(seed, big=True) if big else suite.run_case(seed)
        if msg:
            problems.append(msg)
            print(msg, flush=True)
            if len(problems) >= 5:
                break
    print(f"{a.suite}: {len(seeds)} cases, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
