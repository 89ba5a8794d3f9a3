#!/usr/bin/env bash
# The object store against its alternatives, side by side, in one run:
#
#   * the same queries from the CSV (`run --input d10m.csv`), from a store made from it
#     (`split` once, then `run --store`, with and without checksum verification), from the
#     Parquet copy (`run --input d10m.parquet`), and DuckDB on the Parquet copy;
#   * with BIG=1, the bounded-memory check: a store made from a ~5.5 GB CSV (d10m.csv five
#     times over) must answer scalar aggregates in under 256 MiB of peak RSS.
#
# Wall time and peak RSS come from `/usr/bin/time -f '%e %M'`; each cell is the best wall
# time of RUNS runs and the largest peak RSS seen. The data must exist (benches/setup.sh
# makes target/bench-data/d10m.csv and d10m.parquet, and the venv with duckdb).
#
#   bash benches/store_bench.sh                 # 10M rows, 3 runs
#   RUNS=5 BIG=1 bash benches/store_bench.sh    # plus the 5 GB bounded-memory check
#   SKIP_BUILD=1 bash benches/store_bench.sh
#
# Exit status: 0, or 1 if a command failed, answers disagree, or (BIG=1) RSS exceeds 256 MiB.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RUNS="${RUNS:-3}"
DATA="${DATA:-target/bench-data}"
CSV="$DATA/d10m.csv"
PARQUET="$DATA/d10m.parquet"
STORE="$DATA/d10m.store"
PY="target/bench-venv/bin/python"
BIN="target/release/rayproc"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
status=0

for f in "$CSV" "$PARQUET" "$PY"; do
    [ -e "$f" ] || { echo "store_bench: $f is missing; run benches/setup.sh first" >&2; exit 1; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release >&2
fi

# measure NAME CMD...: runs CMD RUNS times; prints "best_wall max_rss_kib" and keeps the
# last stdout in $TMP/NAME.out.
measure() {
    local name="$1"; shift
    local best="" rss=0
    for _ in $(seq "$RUNS"); do
        if ! /usr/bin/time -f '%e %M' -o "$TMP/time" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; then
            echo "store_bench: FAILED: $*" >&2
            cat "$TMP/$name.err" >&2
            status=1
            echo "FAILED -"
            return
        fi
        read -r wall kib <"$TMP/time"
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best="$wall"; fi
        if [ "$kib" -gt "$rss" ]; then rss="$kib"; fi
    done
    echo "$best $rss"
}

mib() { awk "BEGIN{printf \"%.0f\", $1/1024}"; }

echo "## rayproc store benchmark ($(nproc) cores, $(date -u +%Y-%m-%d), best of $RUNS)"
echo
echo "Data: $CSV ($(du -h "$CSV" | cut -f1)), $PARQUET ($(du -h "$PARQUET" | cut -f1))."
echo

rm -rf "$STORE"
read -r split_wall split_rss < <(RUNS=1 measure split "$BIN" split --input "$CSV" --store "$STORE" --quiet)
echo "split: ${split_wall} s, peak RSS $(mib "$split_rss") MiB, store $(du -sh "$STORE" | cut -f1)"
echo

declare -A AGG BY SQL
AGG[scalar]="count,sum:x,mean:y,min:n,max:n,std:x"
BY[scalar]=""
SQL[scalar]="SELECT count(*) AS count, sum(x) AS sum_x, avg(y) AS mean_y, min(n) AS min_n, max(n) AS max_n, stddev_samp(x) AS std_x FROM read_parquet('$PARQUET')"
AGG[group]="count,mean:x,max:n"
BY[group]="k_small"
SQL[group]="SELECT k_small, count(*) AS count, avg(x) AS mean_x, max(n) AS max_n FROM read_parquet('$PARQUET') GROUP BY k_small ORDER BY k_small"
AGG[median]="median:x,p99:y"
BY[median]=""
SQL[median]="SELECT quantile_cont(x, 0.5) AS median_x, quantile_cont(y, 0.99) AS p99_y FROM read_parquet('$PARQUET')"

echo "| query | CSV (run --input) | store (run --store) | store, --no-verify | Parquet (run --input) | DuckDB on Parquet |"
echo "| --- | --- | --- | --- | --- | --- |"
for q in scalar group median; do
    by=()
    [ -n "${BY[$q]}" ] && by=(--by "${BY[$q]}")
    common=(--agg "${AGG[$q]}" "${by[@]}" --format csv --quiet)
    cells=()
    for source in csv store noverify parquet; do
        case "$source" in
            csv) args=(--input "$CSV") ;;
            store) args=(--store "$STORE") ;;
            noverify) args=(--store "$STORE" --no-verify) ;;
            parquet) args=(--input "$PARQUET") ;;
        esac
        read -r wall rss < <(measure "$q-$source" "$BIN" run "${args[@]}" "${common[@]}")
        cells+=("$wall s, $(mib "${rss/-/0}") MiB")
    done
    read -r wall rss < <(measure "$q-duckdb" "$PY" -c "import duckdb,sys; duckdb.sql(sys.argv[1]).show()" "${SQL[$q]}")
    cells+=("$wall s, $(mib "${rss/-/0}") MiB")
    for source in store noverify parquet; do
        if ! cmp -s "$TMP/$q-csv.out" "$TMP/$q-$source.out"; then
            echo "store_bench: $q: $source output differs from CSV's" >&2
            diff "$TMP/$q-csv.out" "$TMP/$q-$source.out" | head >&2 || true
            status=1
        fi
    done
    echo "| $q: \`${BY[$q]:+--by ${BY[$q]} }--agg ${AGG[$q]}\` | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} | ${cells[4]} |"
done
echo
echo "Every cell: best wall time, peak RSS. rayproc outputs from the store and from Parquet are"
echo "checked byte for byte against the CSV run's."

if [ "${BIG:-0}" = 1 ]; then
    BIGCSV="$DATA/d50m.csv"
    BIGSTORE="$DATA/d50m.store"
    if [ ! -e "$BIGCSV" ]; then
        { cat "$CSV"; for _ in 1 2 3 4; do tail -n +2 "$CSV"; done; } >"$BIGCSV.tmp"
        mv "$BIGCSV.tmp" "$BIGCSV"
    fi
    echo
    echo "### Bounded memory: a store made from $BIGCSV ($(du -h "$BIGCSV" | cut -f1))"
    echo
    rm -rf "$BIGSTORE"
    read -r wall rss < <(RUNS=1 measure bigsplit "$BIN" split --input "$BIGCSV" --store "$BIGSTORE" --quiet)
    echo "- split: $wall s, peak RSS $(mib "$rss") MiB, store $(du -sh "$BIGSTORE" | cut -f1)"
    for q in scalar; do
        read -r wall rss < <(measure "big-$q" "$BIN" run --store "$BIGSTORE" --agg "${AGG[$q]}" --format csv --quiet)
        echo "- run --store --agg ${AGG[$q]}: $wall s, peak RSS $(mib "$rss") MiB"
        if [ "$rss" -gt $((256 * 1024)) ]; then
            echo "store_bench: peak RSS $(mib "$rss") MiB exceeds 256 MiB" >&2
            status=1
        fi
    done
    read -r wall rss < <(RUNS=1 measure big-csv "$BIN" run --input "$BIGCSV" --agg "${AGG[scalar]}" --format csv --quiet)
    echo "- the same from the CSV (run --input): $wall s, peak RSS $(mib "$rss") MiB"
    if ! cmp -s "$TMP/big-scalar.out" "$TMP/big-csv.out"; then
        echo "store_bench: the big store's answer differs from the CSV's" >&2
        status=1
    fi
    if [ "${KEEP_BIG:-0}" != 1 ]; then rm -rf "$BIGSTORE"; fi
fi
exit "$status"
