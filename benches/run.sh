#!/usr/bin/env bash
# One command for the side-by-side benchmark: setup (venv + data), release build, comparison.
# Arguments are passed to benches/compare.py; the report goes to docs/benchmarks.md.
#
#   bash benches/run.sh                                # 10M rows, all queries, 5 runs
#   ROWS=1000000 bash benches/run.sh --runs 3
#   bash benches/run.sh --queries q1,q3 --scaling --parquet
#   bash benches/run.sh --simd all                     # also the avx2 and portable paths
#   SKIP_BUILD=1 bash benches/run.sh --rayproc /path/to/rayproc
#
# Environment:
#   ROWS=N        rows of generated data (default 10000000 -> target/bench-data/d10m.csv)
#   PARQUET=0     do not generate the Parquet copy (then do not pass --parquet)
#   SKIP_BUILD=1  do not run `cargo build --release`; benchmark the binary as it is
#   CARGO=...     cargo command (default cargo)
#
# A failed build does not stop the run: compare.py then reports rayproc as FAILED (or
# measures the previous binary, whose build time the report shows) and still measures
# the peers. The exit status is compare.py's: 0 all good, 1 a failure or a wrong answer.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# With an explicit --file the data is the caller's: generate nothing.
skip_data=0
for arg in "$@"; do
    case "$arg" in --file|--file=*) skip_data=1 ;; esac
done

if [ "$skip_data" = 1 ]; then
    ROWS=1 PARQUET=0 bash benches/setup.sh --venv-only >/dev/null
    file_args=()
else
    file_args=(--file "$(bash benches/setup.sh)")
fi

if [ "${SKIP_BUILD:-0}" = 1 ]; then
    echo "run: SKIP_BUILD=1, not building rayproc" >&2
elif ! "${CARGO:-cargo}" build --release >&2; then
    echo "run: WARNING: 'cargo build --release' failed; rayproc results will be FAILED or from an older binary" >&2
fi

exec "$REPO/target/bench-venv/bin/python" benches/compare.py "${file_args[@]}" "$@"
