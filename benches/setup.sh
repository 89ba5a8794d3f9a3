#!/usr/bin/env bash
# Prepare the side-by-side benchmark: a Python virtualenv with the peer engines,
# and the deterministic data set.
#
#   bash benches/setup.sh                # 10,000,000 rows: target/bench-data/d10m.csv (~1.1 GB) + .parquet
#   ROWS=200000 bash benches/setup.sh    # target/bench-data/d200k.csv + .parquet
#   bash benches/setup.sh --venv-only    # only the virtualenv
#
# Environment:
#   ROWS=N        rows to generate (default 10000000)
#   PARQUET=0     skip the Parquet copy of the data (default 1: generate it)
#   PYTHON=...    interpreter used to create the venv (default python3, needs >= 3.11)
#
# Idempotent: the venv is reused when it already imports every package, and a data
# file that exists is kept (gen_data.py writes through a .tmp file and renames it,
# so an existing file is a complete one).
#
# Only progress goes to stderr; the one line on stdout is the CSV path, so that
# run.sh can do FILE=$(bash benches/setup.sh).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
VENV="$REPO/target/bench-venv"
DATA_DIR="$REPO/target/bench-data"
ROWS="${ROWS:-10000000}"
PARQUET="${PARQUET:-1}"
PYTHON="${PYTHON:-python3}"
PACKAGES=(duckdb polars pyarrow numpy)

log() { echo "setup: $*" >&2; }

if ! [[ "$ROWS" =~ ^[0-9]+$ ]] || [ "$ROWS" -eq 0 ]; then
    log "ROWS must be a positive integer, got '$ROWS'"
    exit 2
fi

# --- virtualenv ------------------------------------------------------------
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import duckdb, polars, pyarrow, numpy" 2>/dev/null; then
    log "venv ok: $VENV"
else
    log "creating venv $VENV and installing ${PACKAGES[*]} (takes a few minutes)"
    mkdir -p "$REPO/target"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "${PACKAGES[@]}" >&2
    "$VENV/bin/python" -c "import duckdb, polars, pyarrow, numpy"
    log "venv ready"
fi

if [ "${1:-}" = "--venv-only" ]; then
    exit 0
fi

# --- data --------------------------------------------------------------------
# Name files after the row count: 10000000 -> d10m, 200000 -> d200k, 12345 -> d12345.
if (( ROWS % 1000000 == 0 )); then
    LABEL="$((ROWS / 1000000))m"
elif (( ROWS % 1000 == 0 )); then
    LABEL="$((ROWS / 1000))k"
else
    LABEL="$ROWS"
fi
CSV="$DATA_DIR/d$LABEL.csv"
PQ="$DATA_DIR/d$LABEL.parquet"
mkdir -p "$DATA_DIR"

generate() {  # generate OUT
    if [ -f "$1" ]; then
        log "data ok: $1 ($(stat -c %s "$1") bytes)"
    else
        log "generating $1 ($ROWS rows)"
        "$VENV/bin/python" "$BENCH_DIR/gen_data.py" --rows "$ROWS" --out "$1" >&2
    fi
}

generate "$CSV"
if [ "$PARQUET" != "0" ]; then
    generate "$PQ"
fi

echo "$CSV"
