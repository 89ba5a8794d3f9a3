#!/usr/bin/env bash
# Streamed and compressed inputs (issue 14 §1-§2): rayproc on standard input
# against the same file, on gzip (Q9) against DuckDB and Polars, on zstd
# against `zstd -dc` alone; peak RSS of a stream. Medians of $RUNS, runs
# interleaved, 2 threads. Usage:
#   bash benches/stream_bench.sh [CSV]    # default /tmp/d10m.csv
# Makes CSV.gz (gzip -6) and CSV.zst (zstd -3) beside CSV when missing.
set -euo pipefail
CSV=${1:-/tmp/d10m.csv}
RUNS=${RUNS:-3}
R=${R:-target/release/rayproc}
PY=${PY:-/tmp/bench-venv/bin/python}
PEERS=${PEERS:-benches/peers.py}
[ -f "$CSV.gz" ] || gzip -6 -c "$CSV" > "$CSV.gz"
[ -f "$CSV.zst" ] || zstd -q -3 -c "$CSV" > "$CSV.zst"
"$R" --version

# seconds of wall time of a shell command line
wall() { /usr/bin/time -f %e -o /tmp/stream_bench.t sh -c "$1" > /dev/null 2>&1; cat /tmp/stream_bench.t; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A Q=(
  [q1]="--agg mean:x"
  [q2]="--agg count,count:x,sum:x,min:x,max:x,mean:x,std:x,count:y,sum:y,min:y,max:y,mean:y,std:y,count:n,sum:n,min:n,max:n,mean:n,std:n"
  [q3]="--by k_small --agg count,mean:x"
)
# The floor of any stream reader: `cat` writing the file into a pipe and a reader that only
# reads it (1 MiB pipe buffer and 1 MiB reads, as rayproc's), discarding the bytes.
DRAIN="$PY -c 'import fcntl,os,sys; fcntl.fcntl(0, 1031, 1 << 20); exec(\"while os.read(0, 1 << 20): pass\")'"
echo "| query | file (s) | cat FILE \| rayproc --input - (s) | ratio | the pipe alone (s) |"
echo "| --- | --- | --- | --- | --- |"
for q in q1 q2 q3; do
  f=(); s=(); t=()
  for _ in $(seq "$RUNS"); do
    f+=("$(wall "$R run --input $CSV ${Q[$q]} --threads 2")")
    s+=("$(wall "cat $CSV | $R run --input - ${Q[$q]} --threads 2")")
    t+=("$(wall "cat $CSV | $DRAIN")")
  done
  fm=$(printf '%s\n' "${f[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median)
  tm=$(printf '%s\n' "${t[@]}" | median)
  echo "| $q | $fm | $sm | $(echo "$sm / $fm" | bc -l | cut -c1-4) | $tm |"
done

echo
echo "| Q9 (Q1 on $CSV.gz) | wall (s) |"
echo "| --- | --- |"
a=(); d=(); p=()
for _ in $(seq "$RUNS"); do
  a+=("$(wall "$R run --input $CSV.gz --agg mean:x --threads 2")")
  d+=("$(wall "$PY $PEERS --engine duckdb --query q9 --file $CSV.gz --threads 2")")
  p+=("$(wall "$PY $PEERS --engine polars --query q9 --file $CSV.gz --threads 2")")
done
echo "| rayproc | $(printf '%s\n' "${a[@]}" | median) |"
echo "| duckdb | $(printf '%s\n' "${d[@]}" | median) |"
echo "| polars | $(printf '%s\n' "${p[@]}" | median) |"

echo
echo "| zstd | wall (s) |"
echo "| --- | --- |"
z=(); c=()
for _ in $(seq "$RUNS"); do
  z+=("$(wall "$R run --input $CSV.zst --agg mean:x --threads 2")")
  c+=("$(wall "zstd -dc $CSV.zst")")
done
echo "| rayproc Q1 on .zst | $(printf '%s\n' "${z[@]}" | median) |"
echo "| zstd -dc > /dev/null | $(printf '%s\n' "${c[@]}" | median) |"

echo
for what in "cat $CSV | $R run --input - --agg mean:x --threads 2" \
            "$R run --input $CSV.gz --agg mean:x --threads 2" \
            "$R run --input $CSV --agg mean:x --threads 2"; do
  /usr/bin/time -f "peak RSS %M KB: $what" sh -c "$what" > /dev/null
done
