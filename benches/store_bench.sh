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
#   * with PEERS=1 instead, the store's target (issue 18): Q1-Q6 of benches/peers.py from the
#     store (verification on; Arrow validation always is), from the Parquet copy
#     (`run --input`), and DuckDB on its own persisted table (a .duckdb file made from the
#     CSV once), medians of RUNS, --threads THREADS (2), the three run in turn within each
#     round (in a rotating order) so they see the same machine; outputs of the store and Parquet runs are
#     compared byte for byte (and their md5 printed, to compare before/after a change).
#
#   bash benches/store_bench.sh                 # 10M rows, 3 runs
#   RUNS=5 BIG=1 bash benches/store_bench.sh    # plus the 5 GB bounded-memory check
#   SKIP_BUILD=1 bash benches/store_bench.sh
#   PEERS=1 CSV=/tmp/d10m.csv PARQUET=/tmp/d10m.parquet PY=/tmp/bench-venv/bin/python \
#     bash benches/store_bench.sh               # Q1-Q6: store / Parquet / DuckDB table
#
# Exit status: 0, or 1 if a command failed, answers disagree, or (BIG=1) RSS exceeds 256 MiB.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RUNS="${RUNS:-3}"
DATA="${DATA:-target/bench-data}"
CSV="${CSV:-$DATA/d10m.csv}"
PARQUET="${PARQUET:-$DATA/d10m.parquet}"
STORE="${STORE:-$DATA/d10m.store}"
DUCKDB="${DUCKDB:-${PARQUET%.parquet}.duckdb}"
PY="${PY:-target/bench-venv/bin/python}"
THREADS="${THREADS:-2}"
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

# The store's target (issue 18): Q1-Q6 from the store, the Parquet copy, and DuckDB's table.
if [ "${PEERS:-0}" = 1 ]; then
    if [ ! -e "$STORE/current" ] || [ "${RESPLIT:-0}" = 1 ]; then
        "$BIN" split --input "$CSV" --store "$STORE" --threads "$THREADS" --quiet
    fi
    if [ ! -e "$DUCKDB" ]; then
        "$PY" -c "import duckdb,sys; c=duckdb.connect(sys.argv[1]); c.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('\"+sys.argv[2]+\"')\"); c.close()" "$DUCKDB.tmp" "$CSV"
        mv "$DUCKDB.tmp" "$DUCKDB"
    fi
    STATS=count
    for c in x y n; do for f in count sum min max mean std; do STATS+=",$f:$c"; done; done
    declare -A Q=(
        [q1]="--agg mean:x"
        [q2]="--agg $STATS"
        [q3]="--by k_small --agg count,mean:x"
        [q4]="--agg distinct:k_large"
        [q5]="--agg median:x,p99:x"
        [q6]="--by k_large --agg sum:n"
    )
    median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
    wall() { # wall seconds of "$@", stdout to $OUTFILE
        local s e
        s=$(date +%s.%N)
        "$@" >"$OUTFILE" || { echo "store_bench: FAILED: $*" >&2; status=1; }
        e=$(date +%s.%N)
        awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f\n", e - s}'
    }
    echo "## Store against Parquet and DuckDB's table ($(nproc) cores, $(date -u +%Y-%m-%d))"
    echo
    echo "$("$BIN" --version), --threads $THREADS, median of $RUNS rounds (each round runs the three in turn, in a rotating order)."
    echo "Data: $CSV; store $(du -sh "$STORE" | cut -f1) ($(ls "$STORE/$(cat "$STORE/current")" | grep -c arrow) partitions),"
    echo "Parquet $(du -h "$PARQUET" | cut -f1) (written by DuckDB), DuckDB table $(du -h "$DUCKDB" | cut -f1)."
    echo
    echo "| query | store (run --store) | Parquet (run --input) | DuckDB table (peers.py) | store / Parquet | store / DuckDB | md5 of the store's output |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    for q in ${QUERIES:-q1 q2 q3 q4 q5 q6}; do
        read -ra qa <<<"${Q[$q]}"
        st=() pq=() dk=()
        for r in $(seq "$RUNS"); do
            # the three in a rotating order, so that none always follows the same one
            for k in 0 1 2; do
                case $(((r + k) % 3)) in
                    0) OUTFILE="$TMP/$q-store.out" st+=("$(wall "$BIN" run --store "$STORE" "${qa[@]}" --threads "$THREADS" --format csv --quiet)") ;;
                    1) OUTFILE="$TMP/$q-parquet.out" pq+=("$(wall "$BIN" run --input "$PARQUET" "${qa[@]}" --threads "$THREADS" --format csv --quiet)") ;;
                    2) OUTFILE="$TMP/$q-duckdb.out" dk+=("$(wall "$PY" benches/peers.py --engine duckdb --query "$q" --file "$DUCKDB" --threads "$THREADS")") ;;
                esac
            done
        done
        ms=$(printf '%s\n' "${st[@]}" | median)
        mp=$(printf '%s\n' "${pq[@]}" | median)
        md=$(printf '%s\n' "${dk[@]}" | median)
        if ! cmp -s "$TMP/$q-store.out" "$TMP/$q-parquet.out"; then
            echo "store_bench: $q: the store's output differs from Parquet's" >&2
            status=1
        fi
        echo "| $q \`${Q[$q]}\` | $ms | $mp | $md | $(awk -v a="$ms" -v b="$mp" 'BEGIN{printf "%.2f", a/b}') | $(awk -v a="$ms" -v b="$md" 'BEGIN{printf "%.2f", a/b}') | $(md5sum <"$TMP/$q-store.out" | cut -c1-12) |"
    done
    exit "$status"
fi

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
