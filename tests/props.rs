//! Property tests for rayproc's invariants:
//! - random CSVs (quotes, embedded LF/CRLF/CR, LF, CRLF and lone CR line
//!   endings, empty fields, stray quotes inside unquoted fields, BOM,
//!   missing final newline) give byte-identical output for every partition
//!   count and thread count;
//! - the output matches a simple sequential reference built on the `csv`
//!   crate's parser, with float sums checked against `math.fsum`;
//! - the speculative splitter, with a look-ahead window of a few bytes so
//!   that telling quotes and `""` pairs straddle its edge, never panics, and
//!   its boundaries, whenever they pass the scheduler's validation, give
//!   exactly the sequential parse's records.

use std::io::Write;

use num_bigint::{BigInt, BigUint};
use proptest::prelude::*;
use rayproc::exact::reference::fsum;
use rayproc::exact::{round_ratio, scaled};
use rayproc::exec::{self, ExecOptions};
use rayproc::output::{self, Format};
use rayproc::partial::Table;
use rayproc::plan::Plan;
use rayproc::source::CsvInput;
use rayproc::spec::parse_specs;
use rayproc::value::Value;

#[derive(Clone, Debug)]
enum Cell {
    Null,
    Int(i64),
    Float(String),
    Text(String),
}

fn cell(kind: u8) -> BoxedStrategy<Cell> {
    let int = prop_oneof![
        -20i64..20,
        any::<i64>(),
        Just(i64::MAX),
        Just(i64::MIN),
        Just((1i64 << 53) + 1)
    ]
    .prop_map(Cell::Int);
    let float = prop_oneof![
        (-1000i32..1000, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b:03}")),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        prop::sample::select(vec![
            "1e100",
            "-1e100",
            "0.1",
            "1e-300",
            "-0.0",
            "2.5e15",
            "1e308",
            // written otherwise than printed (a store keeps their text)
            "+7",
            "1.50",
            "7.0",
            "0.10000000000000001",
            "1e16",
            "-0",
            "1E3",
        ])
        .prop_map(str::to_string),
    ]
    .prop_map(Cell::Float);
    let text = prop_oneof![
        "[a-z]{1,6}",
        "[a-z]{1,3}(,|\n|\r\n|\r|\"|')[a-z ]{0,4}",
        Just("5'11\" tall".to_string()),
        Just("a\"b".to_string()),
        Just("ü€𝄞".to_string()),
    ]
    .prop_map(Cell::Text);
    match kind {
        0 => prop_oneof![
            1 => Just(Cell::Null),
            6 => int,
            // integers written otherwise than printed
            1 => prop::sample::select(vec!["+7", "+0", "+12"]).prop_map(|s| Cell::Float(s.into())),
        ]
        .boxed(),
        1 => prop_oneof![1 => Just(Cell::Null), 3 => int, 3 => float].boxed(),
        2 => prop_oneof![1 => Just(Cell::Null), 2 => int, 4 => text].boxed(),
        _ => prop_oneof![1 => Just(Cell::Null), 2 => prop::sample::select(vec!["k1", "k2", "K", "7", "007"]).prop_map(|s| Cell::Text(s.into()))].boxed(),
    }
}

#[derive(Clone, Debug)]
struct CsvCase {
    kinds: Vec<u8>,
    rows: Vec<Vec<Cell>>,
    /// Line ending before each row: LF, CRLF or a lone CR.
    ends: Vec<u8>,
    quote_all: bool,
    bom: bool,
    final_newline: bool,
}

fn csv_case() -> impl Strategy<Value = CsvCase> {
    prop::collection::vec(0u8..4, 1..5).prop_flat_map(|kinds| {
        let row = kinds.iter().map(|&k| cell(k)).collect::<Vec<_>>();
        (
            Just(kinds),
            prop::collection::vec(row, 0..60),
            prop::collection::vec(0u8..3, 60),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(kinds, rows, ends, quote_all, bom, final_newline)| CsvCase {
                    kinds,
                    rows,
                    ends,
                    quote_all,
                    bom,
                    final_newline,
                },
            )
    })
}

fn render(case: &CsvCase) -> Vec<u8> {
    render_nulls_as(case, "")
}

/// [`render`], each null written as `null` (empty for [`render`]), quoted
/// as text is.
fn render_nulls_as(case: &CsvCase, null: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if case.bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let names: Vec<String> = (0..case.kinds.len()).map(|i| format!("c{i}")).collect();
    out.extend_from_slice(names.join(",").as_bytes());
    for (r, row) in case.rows.iter().enumerate() {
        out.extend_from_slice(match case.ends[r % case.ends.len()] {
            0 => b"\n",
            1 => b"\r\n",
            _ => b"\r",
        });
        let fields: Vec<String> = row
            .iter()
            .map(|c| {
                let s = match c {
                    // (`""`, a quoted empty field, as it is: one column's
                    // null that is no blank line, which is no record)
                    Cell::Null if null.is_empty() || null == "\"\"" => return null.to_string(),
                    Cell::Null => null.to_string(),
                    Cell::Int(i) => i.to_string(),
                    Cell::Float(f) => f.clone(),
                    Cell::Text(t) => t.clone(),
                };
                // a stray quote stays unquoted; anything else special is quoted
                let stray =
                    s.contains('"') && !s.starts_with('"') && !s.contains([',', '\n', '\r']);
                if !stray && (case.quote_all || s.contains([',', '"', '\n', '\r'])) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s
                }
            })
            .collect();
        out.extend_from_slice(fields.join(",").as_bytes());
    }
    if case.final_newline && !case.rows.is_empty() {
        out.push(b'\n');
    }
    out
}

fn specs_for(kinds: &[u8]) -> Vec<String> {
    let mut specs = vec!["count".to_string()];
    for (i, &k) in kinds.iter().enumerate() {
        let c = format!("c{i}");
        specs.extend(
            ["count", "null_count", "min", "max", "distinct"]
                .iter()
                .map(|f| format!("{f}:{c}")),
        );
        if k <= 1 {
            specs.extend(
                ["sum", "mean", "var", "std_pop", "median", "p90"]
                    .iter()
                    .map(|f| format!("{f}:{c}")),
            );
        }
    }
    specs
}

fn run_lib(
    path: &std::path::Path,
    specs: &[String],
    by: &[String],
    partitions: usize,
    threads: usize,
) -> (Table, String) {
    run_lib_nulls(path, specs, by, partitions, threads, &[])
}

/// [`run_lib`] with `nulls` read as null (`--null`).
fn run_lib_nulls(
    path: &std::path::Path,
    specs: &[String],
    by: &[String],
    partitions: usize,
    threads: usize,
    nulls: &[&str],
) -> (Table, String) {
    let input = CsvInput::open(path, b',').unwrap();
    let plan = Plan {
        nulls: nulls.iter().map(|s| s.to_string()).collect(),
        ..Plan::new(&input.header, &parse_specs(specs).unwrap(), by).unwrap()
    };
    let opts = ExecOptions {
        partitions: Some(partitions),
        threads,
        delimiter: b',',
        progress: false,
        taper: true,
    };
    let table = exec::run(&plan, &[input], &opts).unwrap();
    let mut out = Vec::new();
    output::write(&table, Format::Csv, &mut out).unwrap();
    (table, String::from_utf8(out).unwrap())
}

/// Records as the `csv` crate reads them (the independent reference parser).
fn reference_records(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    reader
        .byte_records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect()
        })
        .collect()
}

/// The sequential reference for one column's scalar aggregates.
fn reference_column(values: &[&str]) -> Vec<(String, Value)> {
    let present: Vec<&str> = values.iter().copied().filter(|v| !v.is_empty()).collect();
    // an integer with a significant leading zero (`007`) makes the column
    // text: min, max and distinct compare its text
    let padded = present.iter().any(|v| {
        let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
        digits.len() >= 2 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
    });
    // `-0` is the float -0.0: an integer cannot keep the sign (README,
    // Types), so it makes its column a float column
    let int = |v: &str| {
        v.parse::<i64>()
            .ok()
            .filter(|&i| i != 0 || !v.starts_with('-'))
    };
    let ints: Option<Vec<i64>> = match padded {
        true => None,
        false => present.iter().map(|v| int(v)).collect(),
    };
    let floats: Option<Vec<f64>> = match padded {
        true => None,
        false => present.iter().map(|v| v.parse::<f64>().ok()).collect(),
    };
    let mut out = vec![
        ("count".to_string(), Value::Int(present.len() as i128)),
        (
            "null_count".to_string(),
            Value::Int((values.len() - present.len()) as i128),
        ),
    ];
    let null_if_empty = |v: Value| if present.is_empty() { Value::Null } else { v };
    match (&ints, &floats) {
        (Some(ints), _) if !present.is_empty() => {
            out.push((
                "min".into(),
                Value::Int(*ints.iter().min().unwrap() as i128),
            ));
            out.push((
                "max".into(),
                Value::Int(*ints.iter().max().unwrap() as i128),
            ));
            let set: std::collections::HashSet<i64> = ints.iter().copied().collect();
            out.push(("distinct".into(), Value::Int(set.len() as i128)));
            out.push((
                "sum".into(),
                Value::Int(ints.iter().map(|&i| i as i128).sum()),
            ));
            let fs: Vec<f64> = ints.iter().map(|&i| i as f64).collect();
            let s: i128 = ints.iter().map(|&i| i as i128).sum();
            // the exact quotient, rounded once (round_ratio has its own tests)
            let mean = round_ratio(&BigInt::from(s), &BigUint::from(ints.len()), 0);
            out.push(("mean".into(), Value::Float(mean)));
            out.push(("floats".into(), Value::Text(format!("{fs:?}").into_bytes())));
        }
        (_, Some(fs)) if !present.is_empty() => {
            let min = fs.iter().copied().min_by(f64::total_cmp).unwrap();
            let max = fs.iter().copied().max_by(f64::total_cmp).unwrap();
            out.push(("min".into(), Value::Float(min)));
            out.push(("max".into(), Value::Float(max)));
            let set: std::collections::HashSet<u64> = fs
                .iter()
                .map(|&f| if f == 0.0 { 0 } else { f.to_bits() })
                .collect();
            out.push(("distinct".into(), Value::Int(set.len() as i128)));
            let s = fsum(fs);
            // fsum (like CPython's) fails on an overflowing sum: skip those
            if !(s.is_nan() && fs.iter().all(|f| f.is_finite())) {
                out.push(("sum".into(), Value::Float(s)));
            }
            // the mean: the exact sum / n, rounded once (-0.0 when every
            // value is -0.0, as for the sum)
            let mean = if fs.iter().all(|f| f.is_finite()) {
                let exact: BigInt = fs.iter().map(|&f| scaled(f)).sum();
                let m = round_ratio(&exact, &BigUint::from(fs.len()), -1074);
                if m == 0.0 && fs.iter().all(|f| f.is_sign_negative()) {
                    -0.0
                } else {
                    m
                }
            } else {
                s / fs.len() as f64
            };
            out.push(("mean".into(), Value::Float(mean)));
        }
        _ => {
            let min = present
                .iter()
                .min()
                .map(|s| Value::Text(s.as_bytes().to_vec()));
            let max = present
                .iter()
                .max()
                .map(|s| Value::Text(s.as_bytes().to_vec()));
            out.push(("min".into(), null_if_empty(min.unwrap_or(Value::Null))));
            out.push(("max".into(), null_if_empty(max.unwrap_or(Value::Null))));
            let set: std::collections::HashSet<&str> = present.iter().copied().collect();
            out.push(("distinct".into(), Value::Int(set.len() as i128)));
            if present.is_empty() {
                out.push(("sum".into(), Value::Null));
                out.push(("mean".into(), Value::Null));
            }
        }
    }
    out
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn value_of(table: &Table, name: &str) -> Value {
    let i = table
        .columns
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    table.row(0).get(i).to_value()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn same_bytes_for_every_partition_and_thread_count(case in csv_case()) {
        let bytes = render(&case);
        let file = write_temp(&bytes);
        let specs = specs_for(&case.kinds);
        let (_, base) = run_lib(file.path(), &specs, &[], 1, 1);
        for (parts, threads) in [(2, 2), (3, 1), (7, 3), (64, 2)] {
            let (_, out) = run_lib(file.path(), &specs, &[], parts, threads);
            prop_assert_eq!(&out, &base, "partitions {} threads {}", parts, threads);
        }
        let by = vec!["c0".to_string()];
        let (_, grouped) = run_lib(file.path(), &specs, &by, 1, 1);
        for parts in [2, 5, 64] {
            let (_, out) = run_lib(file.path(), &specs, &by, parts, 2);
            prop_assert_eq!(&out, &grouped, "group-by, partitions {}", parts);
        }
    }

    /// `--null`: a table whose nulls are written `NA` (or `\N`, `NULL`),
    /// quoted or not, gives the bytes of the same table with them empty
    /// (`""`), at every partitioning, grouped or not.
    #[test]
    fn null_spellings_read_as_empty_fields(
        case in csv_case(),
        null in prop::sample::select(vec!["NA", "\\N", "NULL"]),
    ) {
        // (an empty field alone on its line would be a blank line)
        let (empty, spelled) = (render_nulls_as(&case, "\"\""), render_nulls_as(&case, null));
        let (empty, spelled) = (write_temp(&empty), write_temp(&spelled));
        let specs = specs_for(&case.kinds);
        for by in [vec![], vec!["c0".to_string()]] {
            let (_, want) = run_lib(empty.path(), &specs, &by, 1, 1);
            for (parts, threads) in [(1, 1), (3, 2), (64, 2)] {
                let nulls = [null, "never"];
                let (_, out) = run_lib_nulls(spelled.path(), &specs, &by, parts, threads, &nulls);
                prop_assert_eq!(&out, &want, "{} partitions {} by {:?}", null, parts, by);
            }
        }
    }

    #[test]
    fn matches_sequential_reference(case in csv_case()) {
        let bytes = render(&case);
        let file = write_temp(&bytes);
        let records = reference_records(&bytes);
        // (a one-column null row is a blank line, which both parsers skip)
        let specs = specs_for(&case.kinds);
        let (table, _) = run_lib(file.path(), &specs, &[], 5, 2);
        prop_assert_eq!(value_of(&table, "count"), Value::Int(records.len() as i128));
        for (i, _) in case.kinds.iter().enumerate() {
            let col = format!("c{i}");
            let values: Vec<&str> = records.iter().map(|r| r[i].as_str()).collect();
            for (func, want) in reference_column(&values) {
                let name = format!("{func}_{col}");
                if !table.columns.contains(&name) {
                    continue;
                }
                let got = value_of(&table, &name);
                prop_assert_eq!(format!("{:?}", got), format!("{:?}", want), "{} over {:?}", name, values);
            }
        }
    }

    #[test]
    fn group_by_counts_match_reference(case in csv_case()) {
        let bytes = render(&case);
        let file = write_temp(&bytes);
        let records = reference_records(&bytes);
        let by = vec!["c0".to_string()];
        let (table, _) = run_lib(file.path(), &["count".to_string()], &by, 3, 2);
        let total: i128 = table.to_rows().iter().map(|r| match r[1] { Value::Int(n) => n, _ => 0 }).sum();
        prop_assert_eq!(total, records.len() as i128);
        // keys are strictly increasing (sorted, no duplicates), null last
        for w in table.to_rows().windows(2) {
            prop_assert_eq!(w[0][0].total_cmp(&w[1][0]), std::cmp::Ordering::Less);
        }
    }
}

/// Pieces of CSV text for the splitter's property: quoted fields with
/// separators, CRs and long runs of `""` pairs, stray quotes, and every line
/// ending (glued together they may leave a quote open, which is an outcome
/// of its own).
fn split_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just(String::new()),
        Just("\"q\"".to_string()),
        Just("\",\n\"".to_string()),
        Just("\"x\ry\r\nz\"".to_string()),
        Just("5'11\" tall".to_string()),
        Just("\"ab\"cd".to_string()),
        (0usize..40).prop_map(|n| format!("\"{}\"", "x\"\"".repeat(n))),
        (0usize..40).prop_map(|n| format!("\"{}\"", "\"\"".repeat(n))),
        Just(",".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
    ]
}

type Records = Vec<(usize, Vec<Vec<u8>>)>;

/// Records (start, fields) of `buf` starting in `from..limit`, by the
/// scalar scanner, and where it stopped (`Err`: the start of the record
/// whose quote never closes).
fn scalar_records(buf: &[u8], from: usize, limit: usize) -> (Records, Result<usize, usize>) {
    use rayproc::source::scan::{field_bytes, AllFields, Scanner};
    let mut scanner = Scanner::new(buf, from, b',');
    let mut out = Vec::new();
    loop {
        let mut sink = AllFields::default();
        match scanner.next_record(limit, &mut sink) {
            Some(Ok((start, _))) => out.push((
                start,
                sink.0.iter().map(|&sp| field_bytes(buf, sp)).collect(),
            )),
            Some(Err(e)) => return (out, Err(e.record_start)),
            None => return (out, Ok(scanner.position())),
        }
    }
}

/// The partitions `bounds` of `buf`, read and validated as the scheduler
/// does (each one from where the previous one's last record ended):
/// `None` when a boundary is not where the previous partition stopped.
fn read_validated(buf: &[u8], bounds: &[usize]) -> Option<(Records, Result<usize, usize>)> {
    let mut records = Vec::new();
    let mut expected = bounds[0];
    for w in bounds.windows(2) {
        if w[0] != expected {
            return None;
        }
        let (part, stop) = scalar_records(buf, w[0], w[1]);
        records.extend(part);
        match stop {
            Ok(stop) => expected = stop,
            Err(_) => return Some((records, stop)),
        }
    }
    Some((records, Ok(expected)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn speculative_boundaries_at_a_small_window_are_sound(
        pieces in prop::collection::vec(split_piece(), 0..80),
        window in 16usize..64,
        parts in 1usize..20,
    ) {
        use rayproc::source::split::{guess_inside, split_sequential, split_speculative_within};
        let text = format!("h,i\n{}", pieces.concat());
        let buf = text.as_bytes();
        let body = 4;
        for from in 0..=buf.len() {
            guess_inside(buf, from, b',', window);
        }
        let whole = scalar_records(buf, body, buf.len());
        let spec = split_speculative_within(buf, body, parts, b',', window);
        prop_assert_eq!(spec[0], body);
        prop_assert_eq!(*spec.last().unwrap(), buf.len());
        prop_assert!(spec.len() <= parts + 1);
        for &b in &spec[1..spec.len() - 1] {
            let after_end = buf[b - 1] == b'\n' || (buf[b - 1] == b'\r' && buf.get(b) != Some(&b'\n'));
            prop_assert!(after_end, "{} does not follow a record end in {:?}", b, text);
        }
        if let Some(got) = read_validated(buf, &spec) {
            prop_assert_eq!(&got, &whole, "validated speculative boundaries {:?}", spec);
        }
        let seq = split_sequential(buf, body, parts, b',');
        let got = read_validated(buf, &seq);
        prop_assert_eq!(got.as_ref(), Some(&whole), "sequential boundaries {:?}", seq);
    }
}

/// Many groups take the per-row folding path and the batched key table;
/// check them against a plain BTreeMap reference at several partition counts.
#[test]
fn many_groups_match_a_map_reference() {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut text = String::from("k,v\n");
    let mut state = 42u64;
    let mut reference: BTreeMap<String, (i128, i128, i64, i64)> = BTreeMap::new();
    for i in 0..40_000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let key = format!(
            "key_{:05}{}",
            (state >> 33) % 5000,
            if i % 7 == 0 { "\"q\"" } else { "" }
        );
        let v = ((state >> 20) % 1000) as i64 - 500;
        let quoted = key.contains('"');
        if quoted {
            writeln!(text, "\"{}\",{v}", key.replace('"', "\"\"")).unwrap();
        } else {
            writeln!(text, "{key},{v}").unwrap();
        }
        let e = reference.entry(key).or_insert((0, 0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 += v as i128;
        e.2 = e.2.min(v);
        e.3 = e.3.max(v);
    }
    let file = write_temp(text.as_bytes());
    let specs: Vec<String> = vec!["count,sum:v,min:v,max:v".into()];
    let by = vec!["k".to_string()];
    let mut want = String::from("k,count,sum_v,min_v,max_v\n");
    for (k, (c, s, lo, hi)) in &reference {
        let field = if k.contains('"') {
            format!("\"{}\"", k.replace('"', "\"\""))
        } else {
            k.clone()
        };
        writeln!(want, "{field},{c},{s},{lo},{hi}").unwrap();
    }
    for (parts, threads) in [(1, 1), (7, 2), (64, 3)] {
        let (_, got) = run_lib(file.path(), &specs, &by, parts, threads);
        assert_eq!(got, want, "partitions {parts} threads {threads}");
    }
}

/// `run_lib` with a `--where` filter.
fn run_lib_where(
    path: &std::path::Path,
    specs: &[String],
    by: &[String],
    filter: &str,
    partitions: usize,
) -> String {
    let input = CsvInput::open(path, b',').unwrap();
    let by: Vec<_> = by
        .iter()
        .map(|b| rayproc::spec::ColumnRef::named(b))
        .collect();
    let expr = rayproc::filter::parse(filter).unwrap();
    let specs = parse_specs(specs).unwrap();
    let plan = Plan::resolve_where(&input.header, &specs, &by, Some(&expr)).unwrap();
    let opts = ExecOptions {
        partitions: Some(partitions),
        threads: 2,
        delimiter: b',',
        progress: false,
        taper: true,
    };
    let table = exec::run(&plan, &[input], &opts).unwrap();
    let mut out = Vec::new();
    output::write(&table, Format::Csv, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The filter the `--where` property uses on column `c0` of kind `kind`,
/// and the same filter in Rust, on the field's text (empty is null).
fn where_case(kind: u8) -> (&'static str, fn(&str) -> bool) {
    if kind <= 1 {
        // numbers only: the sign of the parsed text decides
        ("c0 > 0 or c0 is null", |f| {
            f.is_empty() || f.parse::<f64>().unwrap() > 0.0
        })
    } else {
        ("c0 like '%1%' or not c0 <= 'k'", |f| {
            !f.is_empty() && (f.contains('1') || f > "k")
        })
    }
}

/// The filter the store property uses on column `c0` of kind `kind`: the
/// `--where` property's, and for numbers text tests too, which read a
/// number's text as the CSV wrote it (`+7`, `1.50`, `1E3`), over a store as
/// over the CSV (format version 6).
fn store_where_case(kind: u8) -> &'static str {
    if kind <= 1 {
        "(c0 > 0 and not c0 like '%0') or c0 ~ '^[+-]|[eE]' or c0 = '7.0' or c0 is null"
    } else {
        where_case(kind).0
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// `--where` gives exactly what filtering the CSV first (by a reference
    /// filter over the `csv` crate's records) and aggregating gives: the
    /// same counts, groups, and types (a dropped `1.5` leaves an integer
    /// column), at every partition count.
    #[test]
    fn where_equals_filtering_first(case in csv_case()) {
        let bytes = render(&case);
        let file = write_temp(&bytes);
        let (filter, keep) = where_case(case.kinds[0]);
        let records = reference_records(&bytes);
        let mut filtered = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(Vec::new());
        let names: Vec<String> = (0..case.kinds.len()).map(|i| format!("c{i}")).collect();
        filtered.write_record(&names).unwrap();
        for r in records.iter().filter(|r| keep(&r[0])) {
            filtered.write_record(r).unwrap();
        }
        let first = write_temp(&filtered.into_inner().unwrap());
        let specs = specs_for(&case.kinds);
        for by in [vec![], vec!["c0".to_string()]] {
            let (_, want) = run_lib(first.path(), &specs, &by, 1, 1);
            for parts in [1, 2, 3, 7, 64] {
                let got = run_lib_where(file.path(), &specs, &by, filter, parts);
                prop_assert_eq!(&got, &want, "{} by {:?} partitions {}", filter, by, parts);
            }
        }
    }
}

/// The table of `query` as CSV bytes.
fn csv_bytes(table: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    output::write(table, Format::Csv, &mut out).unwrap();
    out
}

/// Maps every part of `n` of `query`, and reduces the partials in the
/// order `order` gives (a permutation seed), through a random tree:
/// the CSV bytes of the result.
fn map_reduce(query: &rayproc::query::Query, n: usize, seed: u64) -> Vec<u8> {
    use rayproc::mapreduce::{self, Part, Reduce, Reduced};
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<std::path::PathBuf> = (0..n)
        .map(|index| {
            let file = mapreduce::map(query, Part { index, count: n }, &|| Ok(())).unwrap();
            let path = dir.path().join(format!("{index}.part"));
            std::fs::write(&path, file.to_bytes()).unwrap();
            path
        })
        .collect();
    // shuffle, then merge random neighbours until a few are left
    let mut s = seed | 1;
    let mut next = |m: usize| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % m as u64) as usize
    };
    for i in (1..files.len()).rev() {
        let j = next(i + 1);
        files.swap(i, j);
    }
    let mut merged = 0;
    while files.len() > 2 && next(3) > 0 {
        let at = next(files.len() - 1);
        let pair: Vec<_> = files.drain(at..at + 2).collect();
        let reduce = Reduce {
            partials: pair,
            merge_only: true,
            threads: Some(2),
            quiet: true,
        };
        let Ok(Reduced::Partial(file)) = mapreduce::reduce(&reduce) else {
            panic!("merging two partials")
        };
        let path = dir.path().join(format!("m{merged}.part"));
        merged += 1;
        std::fs::write(&path, file.to_bytes()).unwrap();
        files.insert(at, path);
    }
    let reduce = Reduce {
        partials: files,
        merge_only: false,
        threads: Some(2),
        quiet: true,
    };
    match mapreduce::reduce(&reduce).unwrap() {
        Reduced::Table(table, _) => csv_bytes(&table),
        Reduced::Partial(_) => panic!("a table was asked for"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `map` of every part and `reduce` of the partials, in any order and
    /// any tree, is `run`'s answer byte for byte: random CSVs (quoted
    /// newlines near cuts, stray quotes that mislead the guessed cuts,
    /// CR line ends), one or two inputs, with and without a group-by with
    /// quantiles and distinct, at random part counts.
    #[test]
    fn map_reduce_equals_run(case in csv_case(), n in 1usize..24, seed in any::<u64>(), two in any::<bool>()) {
        use rayproc::query::{self, Query, Source};
        let bytes = render(&case);
        let file = write_temp(&bytes);
        let other = write_temp(&bytes);
        let mut paths = vec![file.path().to_path_buf()];
        if two {
            paths.push(other.path().to_path_buf());
        }
        let specs = parse_specs(&specs_for(&case.kinds)).unwrap();
        for by in [vec![], vec![rayproc::spec::ColumnRef::named("c0")]] {
            let mut q = Query::new(Source::Files(paths.clone()), specs.clone());
            q.by = by.clone();
            q.threads = Some(2);
            q.quiet = true;
            let want = csv_bytes(&query::run(&q).unwrap());
            let got = map_reduce(&q, n, seed);
            prop_assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{} parts, by {:?}", n, by
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A store split from a random CSV answers every query with the CSV's
    /// bytes: at random partition and thread counts for the split and the
    /// query, with and without a group-by on the first column (which the
    /// split may have stored as codes into a dictionary: few distinct
    /// texts, or texts mixed with numbers, or numbers only), and with and
    /// without a `--where` on it (which types every column by the rows it
    /// keeps: text may become numbers, floats integers).
    #[test]
    fn store_answers_as_its_csv(
        case in csv_case(),
        split_parts in 1usize..9,
        split_threads in 1usize..3,
        run_threads in 1usize..3,
    ) {
        use rayproc::query::{self, Query, Source, Split};
        let bytes = render(&case);
        let file = write_temp(&bytes);
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s");
        let split = Split {
            inputs: vec![file.path().to_path_buf()],
            store: store.clone(),
            partitions: Some(split_parts),
            threads: Some(split_threads),
            delimiter: b',',
            columns: None,
            quiet: true,
            no_header: false,
            nulls: Vec::new(),
        };
        let specs = parse_specs(&specs_for(&case.kinds)).unwrap();
        let split = query::split(&split);
        let filter = rayproc::filter::parse(store_where_case(case.kinds[0])).unwrap();
        let forms = [(vec![], None), (vec![rayproc::spec::ColumnRef::named("c0")], None)];
        let filtered = forms.clone().map(|(by, _)| (by, Some(filter.clone())));
        for (by, filter) in forms.into_iter().chain(filtered) {
            let mut csv = Query::new(Source::Files(vec![file.path().to_path_buf()]), specs.clone());
            csv.by = by.clone();
            csv.filter = filter.clone();
            csv.threads = Some(2);
            csv.quiet = true;
            let want = query::run(&csv).map(|t| csv_bytes(&t));
            let mut from_store = csv.clone();
            from_store.source = Source::Store { dir: store.clone(), allow_stale: false, verify: true };
            from_store.threads = Some(run_threads);
            let Ok(want) = want else {
                // what the CSV cannot answer, its store cannot either
                let got = split.as_ref().ok().map(|_| query::run(&from_store));
                prop_assert!(!matches!(got, Some(Ok(_))), "the CSV fails ({:?}), its store answers", want.err());
                continue;
            };
            prop_assert!(split.is_ok(), "split failed: {:?}", split.as_ref().err());
            let got = csv_bytes(&query::run(&from_store).unwrap());
            prop_assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "split {} partitions, {} threads; by {:?}, where {:?}", split_parts, split_threads, by, filter
            );
        }
    }
}
