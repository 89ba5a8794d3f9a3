#!/usr/bin/env bash
# Many small files against one file of the same bytes (issue 14 §3).
#
# Cuts the body of a CSV (default /tmp/d10m.csv, ~1.1 GB) into N files
# (default 10,000, ~110 KB each), each with the header, under
# $DIR/pieces/part=<i % 10>/ (Hive folders, so `--input $DIR/pieces` is a
# dataset with one text column more), and times, interleaved, medians of
# RUNS:
#   one   rayproc run --input ONE.csv
#   glob  rayproc run --input '$DIR/pieces/*/*.csv'   (rayproc expands)
#   dir   rayproc run --input $DIR/pieces             (dataset walk)
# for query Q1 (mean:x) and a grouped one (--by k_small count,mean:x), and
# checks that the answers agree.
#
#   bash benches/many_files.sh [SRC.csv] [N]
# env: RP (binary, default target/release/rayproc), DIR (default
# /tmp/many), THREADS (2), RUNS (3).
set -euo pipefail
SRC=${1:-/tmp/d10m.csv}
N=${2:-10000}
RP=${RP:-target/release/rayproc}
DIR=${DIR:-/tmp/many}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}

if [ ! -f "$DIR/.made-$N" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR/pieces"
  header=$(head -1 "$SRC")
  tail -n +2 "$SRC" > "$DIR/body"
  (cd "$DIR" && split -n l/"$N" -a 5 -d body piece.)
  i=0
  for f in "$DIR"/piece.*; do
    d="$DIR/pieces/part=$((i % 10))"
    mkdir -p "$d"
    { echo "$header"; cat "$f"; } > "$d/$(printf '%05d' "$i").csv"
    rm "$f"
    i=$((i + 1))
  done
  { echo "$header"; cat "$DIR/body"; } > "$DIR/one.csv"
  rm "$DIR/body"
  touch "$DIR/.made-$N"
fi
sync
echo "files: $(find "$DIR/pieces" -name '*.csv' | wc -l), bytes: $(du -sb "$DIR/pieces" | cut -f1) vs $(stat -c %s "$DIR/one.csv")"
"$RP" --version

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t() { # prints seconds
  local s e
  s=$(date +%s.%N)
  "$@" > /tmp/many-out.$$ 2>/dev/null
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
for q in "--agg mean:x" "--by k_small --agg count,mean:x"; do
  echo "query: $q"
  one=() glob=() dir=()
  for r in $(seq "$RUNS"); do
    one+=("$(t "$RP" run --threads "$THREADS" --input "$DIR/one.csv" $q)")
    cp /tmp/many-out.$$ /tmp/many-one.$$
    glob+=("$(t "$RP" run --threads "$THREADS" --input "$DIR/pieces/*/*.csv" $q)")
    cmp /tmp/many-out.$$ /tmp/many-one.$$ || { echo "glob answer differs"; exit 1; }
    dir+=("$(t "$RP" run --threads "$THREADS" --input "$DIR/pieces" $q)")
  done
  mo=$(printf '%s\n' "${one[@]}" | median)
  mg=$(printf '%s\n' "${glob[@]}" | median)
  md=$(printf '%s\n' "${dir[@]}" | median)
  printf '  one file %.2f s | glob %.2f s (%.2fx) | dir %.2f s (%.2fx)\n' \
    "$mo" "$mg" "$(echo "$mg / $mo" | bc -l)" "$md" "$(echo "$md / $mo" | bc -l)"
done
rm -f /tmp/many-out.$$ /tmp/many-one.$$
