//! The long help texts: what `--help` prints after the flags.
//!
//! They are kept apart from the flag definitions (`args.rs`) because they
//! are prose, edited as prose and long enough to hide the flags. Each
//! `-h` ends with [`EXIT_CODES`]; `run --help` and `split --help` end with
//! a longer text instead, which gives the exit codes in that command's
//! words.

/// The exit statuses, for the end of every `-h`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when stdout is closed early, as by `| head`)
  1  data or I/O error: malformed CSV, a non-number where a number is needed,
     unreadable input, unwritable output (nothing is written)
  2  usage error: a bad flag or flag value (an --agg spec or column of run)
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (temporary files removed first)";

/// `run --help`: aggregates, output, names, types, memory, inputs, stores.
pub const RUN_HELP: &str = "\
Aggregates (SPEC is FUNC:COLUMN, or `count` alone; comma-separate several):
  count            rows (alone) or non-null values (count:COL)
  sum, mean        exact: the sum, and the exact sum / count, each rounded once
  min, max         numeric order, or byte order for text columns
  var, std         sample (n-1);  var_pop, std_pop: population (n); rounded once
  null_count       empty fields (and those --null names)
  median, pNN      exact, linear interpolation rounded once (p99 is 99/100 as
                   written, p99.9 is 999/1000; p0..p100)
  distinct         exact number of distinct non-null values
  approx_distinct  estimate of distinct in 16 KiB (HyperLogLog): standard
                   error 0.81%, within 2.4% for 99.7% of inputs; exact up to
                   1024 distinct values
  approx_median, approx_pNN
                   within 1% of the exact median/pNN (DDSketch; 1% of the
                   larger of the two values it lies between when they differ
                   in sign); exact up to 64 values (median/pNN's answer) and
                   at p0, p100; a float; at most 32 KiB, so magnitudes more
                   than 4e17 times below the largest of their sign share one
                   bucket, and quantiles among them lose the 1% bound (a note
                   on stderr says so, naming the column). Both
                   approx_ aggregates give the same bytes for every
                   --partitions and --threads

Output columns are named `count` and FUNC_COLUMN (mean_x); --by columns come
first, rows sorted by key (numbers numerically, text in byte order, null last).
Keys are their bytes, UTF-8 or not; -0.0 and 0.0 are one key (0.0), and NaN in
any spelling or sign is one key (NaN), after +inf: the largest value in min,
max and the quantiles too.

Formats: csv writes text as its bytes, parquet as Binary where it is not UTF-8;
json and ndjson refuse text that is not UTF-8 (exit 1, naming FILE:LINE of a
CSV file, compressed or not, or of a store's source, else the column and the
value);
table shows control characters and invalid bytes as escapes (\\n, \\u{1b}, \\xff).

Column names (in --agg, --by and split --columns): whitespace around a name
is trimmed; a name with a comma, surrounding spaces or a leading quote is
written in double quotes, taken literally, a quote inside doubled:
  --agg 'sum:\"a,b\"'   --agg 'mean:\" price\"'   --by '\"say \"\"hi\"\"\",city'
A name the header repeats (k,k,v) must be told apart: k#2 (or \"k\"#2) is the
second column named k, k alone is refused; such columns are labelled k#1,
k#2 in the output. A column literally named k#2 wins over that reading; \"k#2\"
always means it. Asking for one output column twice (mean:x,mean:x) is a
usage error.

--where EXPR keeps only the rows for which EXPR is true, before anything is
aggregated (as if the input were filtered first: count counts kept rows, a
--by group with no kept row is absent, a dropped row decides no type):
  or, and, not, ( )                 not binds tightest, then and, then or
  COL = LIT  (also ==), != (<>), <, <=, >, >=
  COL [not] in (LIT, ...)           COL [not] between LOW and HIGH (inclusive)
  COL is [not] null                 COL [not] like 'A-%_' (% any run, _ one char)
  COL ~ 'regex', COL !~ 'regex'     Rust regex syntax, found anywhere in the field
Keywords in any case. COL is a bare name ([A-Za-z_][A-Za-z0-9_]*), or in double
quotes (\"unit price\"), k#2 as above; text in single quotes ('it''s'); numbers
as written (-1.5e3). A number literal compares numerically (a field that is not
a number there is a data error, exit 1, FILE:LINE); a text literal compares the
field's text in byte order. A null (empty field) makes a test unknown (SQL's
three-valued logic; only `is null` sees it): x != 5 drops the rows where x is
null. In a shell, double quotes keep the single ones:
  --where \"status >= 500 and path like '/api/%'\"

Time buckets: --by 'hour(ts)' groups by the hour of column ts, and likewise
year, month, week (ISO week, from Monday), day, minute, second, mixable with
columns (--by 'day(ts),status'). The output column is FUNC_COLUMN (hour_ts);
keys are ISO 8601 text that sorts as it reads: 2026, 2026-11, 2026-W48,
2026-11-30, 2026-11-30T02, 2026-11-30T02:24, 2026-11-30T02:24:41. Values: ISO
8601 / RFC 3339 dates and date-times (T or a space, optional fraction, optional
Z, +HH:MM or +HHMM offset: converted to UTC first; without one, bucketed as
written), or integer Unix epoch seconds; anything else is a data error. A
quoted \"day(ts)\" is a column of that name.

Types: a column is integer if every non-null value is a 64-bit integer, float
if every one is a number, else text. An integer wider than 64 bits is never
read as a float: its column is text for keys and distinct (compared by their
text; keys sort by value if all are plain integers), min and max compare it as
integers (as text if some value is no integer: a word, 007, 1.5), and
sum/mean/var/median read its integers exactly. An empty
field is null, and so is a CSV field of a text --null names (--null NA --null
'\\N': taken literally, after unquoting); aggregates skip nulls, and an
aggregate over no values is null (counts are 0).

Memory: scalar aggregates use constant memory per group. median/pNN keep every
value (8 bytes each); distinct keeps every distinct value; --by keeps one state
per group. Over a --store, scalar aggregates run in bounded memory whatever
the store's size: partitions are mapped, read in place and released.

Inputs: CSV, Parquet or Arrow IPC (Feather v2) files and Arrow IPC streams
(.arrows), told apart by their content (PAR1, ARROW1 at both ends), not
their name; a file that starts as Parquet or Arrow but lacks its footer, or
a stream without its end marker, is refused as truncated. Parquet and Arrow inputs
are typed by their schema (see docs/store.md for how other types are read);
only the needed columns are decoded, and row groups are read in parallel. A
quoted glob (--input 'logs/*.csv') is expanded by rayproc, sorted by path; a
folder (--input DIR) reads every file below it but hidden and _-prefixed
ones (_SUCCESS); key=value folders (Hive style) become columns named key,
typed as a CSV field of the value is (a key the files also hold as a column
is read from the files).
All files form one table and must have the same columns.

Stores: `--store DIR` reads a store made by `rayproc split`. A store whose
sources changed since the split is refused unless --allow-stale; the
checksums of each partition file's frame and of every column the query
reads are verified before use unless --no-verify.

Examples:
  rayproc run --input big.csv --agg mean:price
  rayproc run --input a.csv --input b.csv --by city --agg count,p99:latency
  rayproc run --input 'logs/2026-11-*.csv' --agg count
  rayproc run --input lake/events --by year --agg count,sum:amount
  cat data.csv | rayproc run --input - --agg sum:amount --format json
  rayproc run --input events.parquet --by day --agg count --format parquet --output by_day.parquet
  rayproc run --store big.store --agg mean:price,p99:price
  rayproc run --input log.csv --where \"status >= 500\" --agg count,p99:latency
  rayproc run --input log.csv --by 'hour(ts)' --agg count,mean:latency

Exit codes:
  0  success (also when stdout is closed early, as by `| head`)
  1  data or I/O error: malformed CSV, a non-number where a number is needed,
     unreadable input, unwritable output (nothing is written)
  2  usage error: bad flag, bad --agg spec or --where, unknown column
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (temporary files removed first)";

/// `split --help`: what a store is and how it is written.
pub const SPLIT_HELP: &str = "\
`split` parses the inputs exactly as `run` would (same splitter, parser and
types: integer, float or text per column; an empty field is null) and writes
one Arrow IPC file per partition plus manifest.json into DIR. Then

  rayproc run --store DIR --agg ...

gives the same output as `run --input` on the sources, without parsing them
again: the partitions are memory-mapped and read in place. A column with no
value at all is stored as an all-null Int64 column.

The store is built in a temporary directory inside DIR (DIR/.tmp-PID) and
switched to by an atomic rename: an interrupted split leaves no new store
behind, and an existing store at DIR is replaced only once the new one is
complete.

Examples:
  rayproc split --input big.csv --store big.store
  rayproc split --input a.csv --input b.csv --store ab.store --columns city,price
  rayproc inspect big.store

Exit codes:
  0  success
  1  data or I/O error (reported as `run` reports it; nothing is written)
  2  usage error
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (temporary files removed first)";
