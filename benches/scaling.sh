#!/usr/bin/env bash
# Thread scaling of rayproc on a many-core machine: each query at 1, 2, 4, ...
# threads, median of RUNS wall times, as a Markdown table.
#
#   bash benches/scaling.sh [BIN] [CSV]
#
# BIN defaults to target/release/rayproc, CSV to target/bench-data/d10m.csv.
# Where the generator cannot run (a machine without polars or network), make
# the CSV from a small generated one instead: SEED=d200k.csv (or .csv.gz)
# REPEAT=50 writes the 200k rows 50 times (10M rows, ~1.1 GB, same columns and
# value distributions; k_large then has at most 200k distinct keys, unless
# SPREAD_KEYS=1 shifts each copy's keys, which gives ~1M distinct keys).
#
# Env: THREADS (default "1 2 4 8 16"), RUNS (default 5), QUERIES (default q2),
# REPORT (a file to write the table to as well; default: stdout only).
set -euo pipefail

BIN=${1:-target/release/rayproc}
CSV=${2:-target/bench-data/d10m.csv}
THREADS=${THREADS:-1 2 4 8 16}
RUNS=${RUNS:-5}
QUERIES=${QUERIES:-q2}

if [[ -n "${SEED:-}" && ! -f "$CSV" ]]; then
    body=$(mktemp "${CSV}.body.XXXXXX")
    trap 'rm -f "$body" "$CSV".part.*' EXIT
    if [[ "$SEED" == *.gz ]]; then gzip -dc "$SEED"; else cat "$SEED"; fi >"$body"
    head -n 1 "$body" >"$CSV.part.head"
    # copy r of the body rows; with SPREAD_KEYS=1 every k_large key is shifted by
    # r * 20011 (mod 1M): ~1M distinct keys over the copies, about 10 rows each,
    # like the reference data
    copy() {
        if [[ "${SPREAD_KEYS:-0}" == 1 ]]; then
            tail -n +2 "$body" | awk -v shift=$(( $1 * 20011 )) '{
                i = index($0, "key_")
                if (i) {
                    k = (substr($0, i + 4, 7) + shift) % 1000000
                    $0 = substr($0, 1, i + 3) sprintf("%07d", k) substr($0, i + 11)
                }
                print
            }'
        else
            tail -n +2 "$body"
        fi >"$CSV.part.$1"
    }
    # the copies are independent: make them nproc at a time (a 16-core machine
    # writes the 1.1 GB in seconds), then join them in order
    jobs=$(nproc); copies=${REPEAT:-50}; parts=("$CSV.part.head")
    for r in $(seq 0 $(( copies - 1 ))); do
        copy "$r" &
        parts+=("$CSV.part.$r")
        if (( (r + 1) % jobs == 0 )); then wait; fi
    done
    wait
    cat "${parts[@]}" >"$CSV.tmp" && mv "$CSV.tmp" "$CSV"
fi

STATS=count
for c in x y n; do for f in count sum min max mean std; do STATS+=",$f:$c"; done; done
args_of() {
    case $1 in
        q1) echo "--agg mean:x" ;;
        q2) echo "--agg $STATS" ;;
        q3) echo "--by k_small --agg count,mean:x" ;;
        q4) echo "--agg distinct:k_large" ;;
        q5) echo "--agg median:x,p99:x" ;;
        q6) echo "--by k_large --agg sum:n" ;;
    esac
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
wall() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN {print e - s}' 
}

rows=$("$BIN" run --input "$CSV" --agg count --format csv --quiet | tail -n 1)
{
    echo "rayproc $("$BIN" --version | cut -d' ' -f2), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $rows rows, $(du -h "$CSV" | cut -f1) CSV; median of $RUNS runs"
    echo
    printf '| query |'; for t in $THREADS; do printf ' %s thr |' "$t"; done; printf ' speed-up at %s |\n' "${THREADS##* }"
    printf '|---|'; for _ in $THREADS; do printf -- '---|'; done; printf -- '---|\n'
    "$BIN" run --input "$CSV" --agg count --quiet >/dev/null  # page cache warm
    for q in ${QUERIES//,/ }; do
        printf '| %s |' "$q"
        first=
        for t in $THREADS; do
            # shellcheck disable=SC2046
            m=$(for _ in $(seq "$RUNS"); do wall "$BIN" run --input "$CSV" $(args_of "$q") --threads "$t" --format json --quiet; done | median)
            first=${first:-$m}
            last=$m
            printf ' %.3f s |' "$m"
        done
        printf ' %.1f× |\n' "$(awk -v a="$first" -v b="$last" 'BEGIN {print a / b}')"
    done
} | tee ${REPORT:+"$REPORT"}
