"""Every aggregate against an exact oracle, on random CSVs.

Random tables (text, integer and float columns with nulls, quoting, CRLF,
integers at the ends of i64, floats of every magnitude) are queried with
random aggregates, `--by` keys, `--where` filters, thread and partition
counts; the oracle computes each answer in rational arithmetic
(`fractions.Fraction`) and rounds it once, as README's contract says rayproc
does: sums, means, variances and quantiles must match to the bit. Typing
follows the contract too (integer if every kept value is a 64-bit integer,
float if every one is a number, else text, where numeric aggregates are an
error). The approximate aggregates are checked against their documented
bounds. Some cases also run from a file, gzip, zstd and a store made by
`rayproc split`, which must give the same bytes as standard input.
"""
import csv, gzip, io, json, math, os, random, shutil, struct, subprocess, tempfile
from fractions import Fraction
from decimal import Decimal, getcontext

getcontext().prec = 80
R = "rayproc"  # set by run.py
I64 = (-(1 << 63), (1 << 63) - 1)


def is_int(s):
    t = s.strip(" \t")
    if not t:
        return False
    u = t[1:] if t[0] in "+-" else t
    if not u.isdigit() or not u.isascii():
        return False
    if t.startswith("-") and int(u) == 0:
        return False  # negative zero is a float
    v = int(t)
    return I64[0] <= v <= I64[1]


def as_num(s):
    t = s.strip(" \t")
    try:
        if is_int(t):
            return int(t)
        if not t.isascii():
            return None
        return float(t)
    except ValueError:
        return None


def col_type(vals):
    nn = [v for v in vals if v != ""]
    if not nn:
        return "null"
    if all(is_int(v) for v in nn):
        return "int"
    if all(as_num(v) is not None for v in nn):
        return "float"
    return "text"


def exact(v):
    return Fraction(v)


def rnd(fr):
    return float(fr)


def sqrt_round(fr):
    """The double nearest sqrt(fr), ties to even, decided exactly."""
    if fr < 0:
        return None
    if fr == 0:
        return 0.0
    d = Decimal(fr.numerator) / Decimal(fr.denominator)
    c = float(d.sqrt())
    for cand in (math.nextafter(c, -math.inf), c, math.nextafter(c, math.inf)):
        lo = (Fraction(math.nextafter(cand, -math.inf)) + Fraction(cand)) / 2
        hi = (Fraction(cand) + Fraction(math.nextafter(cand, math.inf))) / 2
        if lo * lo < fr < hi * hi:
            return cand
        if fr == lo * lo or fr == hi * hi:
            bits = struct.unpack("<Q", struct.pack("<d", cand))[0]
            if bits % 2 == 0:
                return cand
    raise AssertionError("sqrt oracle")


def quantile(sorted_vals, p):
    n = len(sorted_vals)
    h = Fraction(n - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    a, b = exact(sorted_vals[lo]), exact(sorted_vals[hi])
    return rnd(a + (h - lo) * (b - a))


def agg_value(func, vals, ty, pfrac=None):
    """vals: raw strings of the group's kept rows for this column."""
    nn = [v for v in vals if v != ""]
    if func == "count":
        return len(nn)
    if func == "null_count":
        return len(vals) - len(nn)
    if func == "approx_distinct":
        if ty == "text":
            return ("APPROXD", len(set(nn)))
        return ("APPROXD", len(set(as_num(v) for v in nn)))
    if func == "distinct":
        if ty == "text":
            return len(set(nn))
        return len(set(as_num(v) for v in nn))
    if func in ("min", "max"):
        if not nn:
            return None
        if ty == "text":
            b = [v.encode() for v in nn]
            return (min(b) if func == "min" else max(b)).decode()
        xs = [as_num(v) for v in nn]
        return min(xs) if func == "min" else max(xs)
    if ty == "text":
        return "ERROR"
    xs = [as_num(v) for v in nn]
    if func == "sum":
        if not xs:
            return None
        s = sum(exact(x) for x in xs)
        return int(s) if ty == "int" else rnd(s)
    if not xs:
        return None
    n = len(xs)
    mean = sum(exact(x) for x in xs) / n
    if func == "mean":
        return rnd(mean)
    if func in ("var", "std", "var_pop", "std_pop"):
        ss = sum((exact(x) - mean) ** 2 for x in xs)
        if func in ("var", "std"):
            if n < 2:
                return None
            v = ss / (n - 1)
        else:
            v = ss / n
        return rnd(v) if func.startswith("var") else sqrt_round(v)
    if func.startswith("approx_"):
        return ("APPROX", func, xs)
    if func == "median" or func.startswith("p"):
        return quantile(sorted(xs), pfrac)
    raise ValueError(func)


TEXTS = ["a", "b", "B", "ab", "a,b", 'say "hi"', "line\nbreak", " sp", "sp ", "é", "日本", "z" * 20,
         "key_0001", "-", "0x1", "1e", "null", "\tx"]


def gen_value(kind, rng, big=False):
    """A random field of a column of `kind`; `big`: keys of tens of thousands of values."""
    r = rng.random()
    if big and kind == "key" and r > 0.05:
        return "k%d" % rng.randint(0, 70000)
    if big and kind == "ikey" and r > 0.05:
        return str(rng.randint(-80000, 80000))
    if r < 0.12:
        return ""
    if kind == "int":
        c = rng.random()
        if c < 0.05:
            return str(rng.choice(I64))
        if c < 0.15:
            return str(rng.randint(-10**15, 10**15))
        return str(rng.randint(-50, 50))
    if kind == "float":
        c = rng.random()
        if c < 0.3:
            return repr(rng.uniform(-1, 1))
        if c < 0.45:
            return "%.2f" % rng.uniform(-100, 100)
        if c < 0.55:
            return "%de%d" % (rng.randint(-9, 9), rng.randint(-30, 30))
        if c < 0.65:
            return str(rng.randint(-5, 5))  # ints inside a float column
        if c < 0.75:
            return repr(rng.uniform(-1e15, 1e15))
        if c < 0.8:
            return repr(rng.choice([1e16, -1e16, 0.1, 0.2, 0.3, 1 / 3, 2 ** -40]))
        return "%.1f" % rng.randint(-3, 3)
    if kind == "key":
        return rng.choice(TEXTS[:8])
    if kind == "ikey":
        return str(rng.randint(-3, 3))
    if kind == "fkey":
        return rng.choice(["0.5", "1", "-2.25", "1e1", "10", "0.1", "-0.0", "0"])
    return rng.choice(TEXTS)


COLS = [("k", "key"), ("g", "ikey"), ("f", "fkey"), ("x", "float"), ("n", "int"), ("t", "text")]
FUNCS = ["count", "sum", "mean", "min", "max", "var", "std", "var_pop", "std_pop", "null_count",
         "median", "p90", "p0", "p100", "p99.9", "distinct", "approx_distinct", "approx_median",
         "approx_p90", "approx_p0", "approx_p100", "approx_p99.9"]


def pfrac_of(func):
    """The quantile `func` asks for, exactly as written: p99.9 is 999/1000."""
    if func == "median":
        return Fraction(1, 2)
    if func.startswith("p"):
        return Fraction(func[1:]) / 100
    return None


def eq(a, b):
    """Whether rayproc's answer `a` is the oracle's `b` (for the approximate
    aggregates: within the bounds README documents)."""
    if isinstance(b, tuple) and b[0] == "APPROXD":
        # exact up to 1024 distinct values; past that a standard error of
        # 0.81% (within 2.4% for 99.7% of inputs: 5% here, so that no seed
        # fails by chance)
        return a == b[1] if b[1] <= 1024 else abs(a - b[1]) <= 0.05 * b[1]
    if isinstance(b, tuple) and b[0] == "APPROX":
        _, func, xs = b
        if not xs:
            return a is None
        p = pfrac_of(func[len("approx_"):])
        sx = sorted(xs)
        q = quantile(sx, p)
        if len(xs) <= 64 or p in (0, 1):
            return a == q  # exact: up to 64 values, and at p0 and p100
        n = len(sx)
        h = Fraction(n - 1) * p
        lo = math.floor(h)
        x0, x1 = sx[lo], sx[min(lo + 1, n - 1)]

        def collapsed(v):
            # kept in the lowest bucket of its sign: more than 2^58.5 times smaller than the
            # largest magnitude of that sign (2^58 here, a bucket's width of margin)
            if v == 0 or not math.isfinite(v):
                return False
            same = [abs(u) for u in sx if u != 0 and math.isfinite(u) and (u > 0) == (v > 0)]
            return max(same) / abs(v) > 2 ** 58
        if max(abs(x0), abs(x1)) == 0 or collapsed(x0) or collapsed(x1):
            return True  # the documented collapse of the lowest bucket (a note on stderr)
        return abs(Fraction(a) - Fraction(q)) <= Fraction(1, 100) * max(abs(Fraction(x0)), abs(Fraction(x1)))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if isinstance(a, str) or isinstance(b, str):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return float(a) == float(b)
    return a == b


KINDS = 0.2  # the share of cases also run from other input kinds


def check_kinds(seed, cmd, data, want, rng):
    """The same query from a file, gzip, zstd and a store gives the same bytes."""
    d = tempfile.mkdtemp(prefix="rpk")
    try:
        f = os.path.join(d, "in.csv")
        open(f, "wb").write(data)
        gz = os.path.join(d, "in.csv.gz")
        open(gz, "wb").write(gzip.compress(data))
        zs = os.path.join(d, "in.csv.zst")
        kinds = [("file", f), ("gzip", gz)]
        if shutil.which("zstd"):
            subprocess.run(["zstd", "-q", "-f", f, "-o", zs], check=True)
            kinds.append(("zstd", zs))
        base = cmd[:]
        i = base.index("-")
        outs = {}
        for name, path in kinds:
            c = base[:]
            c[i] = path
            outs[name] = subprocess.run(c, capture_output=True)
        st = os.path.join(d, "st")
        sp = ["split", "--input", f, "--store", st, "--quiet", "--partitions", str(rng.choice([1, 2, 5]))]
        r = subprocess.run([R] + sp, capture_output=True)
        if r.returncode != 0:
            return f"SPLIT FAILED {r.stderr.decode()[-300:]}"
        c = base[:]
        c[i - 1:i + 1] = ["--store", st]
        if "--partitions" in c:
            j = c.index("--partitions")
            del c[j:j + 2]
        outs["store"] = subprocess.run(c, capture_output=True)
        for name, o in outs.items():
            if o.returncode != 0 or o.stdout != want:
                return f"KIND {name} differs: rc={o.returncode} {o.stderr.decode()[-300:]}\n got {o.stdout[:300]!r}\n want {want[:300]!r}"
    finally:
        shutil.rmtree(d)
    return None


def run_case(seed, big=False):
    """None, or what went wrong in case `seed` (`big`: 150,000 rows in many groups)."""
    rng = random.Random(seed)
    nrows = rng.choice([0, 1, 2, 3, 5, 10, 50, 200, 2000]) if not big else 150_000
    rows = [[gen_value(kind, rng, big) for _, kind in COLS] for _ in range(nrows)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=rng.choice(["\n", "\r\n"]))
    w.writerow([c for c, _ in COLS])
    w.writerows(rows)
    data = buf.getvalue().encode()
    # query
    by = rng.choice([[], [], ["k"], ["g"], ["f"], ["k", "g"], ["g", "k"]])
    if big:
        # tens of thousands of groups in one worker, even after a filter
        # keeps half the rows: past the radix group-by's threshold (32,768)
        by = rng.choice([["k"], ["g"], ["k", "g"], ["g", "k"]])
    nagg = rng.randint(1, 4)
    specs = []
    for _ in range(nagg):
        func = rng.choice(FUNCS)
        if func == "count" and rng.random() < 0.5:
            spec = ("count", None)
        else:
            col = rng.choice(["x", "n", "x", "n", "t", "k", "g"])
            spec = (func, col)
        if spec not in specs:
            specs.append(spec)
    where = None
    kept = list(range(nrows))
    wr = rng.random()
    if wr < 0.25:
        c = rng.choice([-0.5, 0, 0.25, 10])
        where = f"x > {c}"
        kept = [i for i in kept if rows[i][3] != "" and as_num(rows[i][3]) > c]
    elif wr < 0.35:
        lit = rng.choice(TEXTS[:8])
        where = "k = '" + lit.replace("'", "''") + "'"
        kept = [i for i in kept if rows[i][0] == lit]
    elif wr < 0.45:
        where = "n is not null and g != 0"
        kept = [i for i in kept if rows[i][4] != "" and rows[i][1] != "" and int(rows[i][1]) != 0]
    kr = [rows[i] for i in kept]
    idx = {c: j for j, (c, _) in enumerate(COLS)}
    types = {c: col_type([r[idx[c]] for r in kr]) for c, _ in COLS}
    # expected
    expect_error = False
    for func, col in specs:
        if col is not None and func in ("sum", "mean", "var", "std", "var_pop", "std_pop", "median") or (
                col is not None and (func.startswith("p") or func.startswith("approx_")) and func != "approx_distinct"):
            if types[col] == "text":
                expect_error = True
    groups = {}
    for r in kr:
        key = tuple(r[idx[c]] for c in by)
        groups.setdefault(key, []).append(r)
    if not by and not groups:
        groups[()] = []
    # normalise group keys by type
    def norm_key(c, v):
        if v == "":
            return None
        t = types[c]
        if t in ("int", "float"):
            x = as_num(v)
            if isinstance(x, float) and x == 0:
                x = 0.0
            return ("num", x)
        return ("text", v)
    merged = {}
    for key, rs in groups.items():
        nk = tuple(norm_key(c, v) for c, v in zip(by, key))
        merged.setdefault(nk, []).extend(rs)
    expected = {}
    for nk, rs in merged.items():
        out = {}
        for func, col in specs:
            name = "count" if col is None else f"{func}_{col}"
            if col is None:
                out[name] = len(rs)
            else:
                out[name] = agg_value(func, [r[idx[col]] for r in rs], types[col], pfrac_of(func))
        expected[nk] = out
    threads = 1 if big else rng.choice([1, 2, 3])
    parts = rng.choice([None, 1, 2, 7])
    agg = ",".join("count" if c is None else f"{f}:{c}" for f, c in specs)
    cmd = [R, "run", "--input", "-", "--agg", agg, "--format", "json", "--quiet", "--threads", str(threads)]
    if by:
        cmd += ["--by", ",".join(by)]
    if parts:
        cmd += ["--partitions", str(parts)]
    if where:
        cmd += ["--where", where]
    p = subprocess.run(cmd, input=data, capture_output=True)
    desc = f"seed={seed} cmd={' '.join(cmd[1:])} rows={nrows} types={types}"
    if p.returncode not in (0, 1, 2):
        return f"CRASH rc={p.returncode} {desc}\n{p.stderr.decode()[-2000:]}"
    if expect_error:
        if p.returncode == 0:
            return f"EXPECTED ERROR, got success {desc}\n{p.stdout.decode()[:500]}"
        return None
    if p.returncode != 0:
        return f"UNEXPECTED ERROR rc={p.returncode} {desc}\n{p.stderr.decode()[-800:]}"
    if rng.random() < KINDS:
        msg = check_kinds(seed, cmd, data, p.stdout, rng)
        if msg:
            return msg + " " + desc
    try:
        got = json.loads(p.stdout)
    except Exception as e:
        return f"BAD JSON {desc}: {e} {p.stdout[:300]}"
    gotd = {}
    for row in got:
        nk = []
        for c in by:
            v = row[c]
            if v is None:
                nk.append(None)
            elif types[c] in ("int", "float"):
                nk.append(("num", float(v) if types[c] == "float" else v))
            else:
                nk.append(("text", v))
        gotd[tuple(nk)] = row
    if len(gotd) != len(expected):
        return f"GROUP COUNT {len(gotd)} != {len(expected)} {desc}\nexpected keys {sorted(map(str, expected))[:10]}\ngot {sorted(map(str, gotd))[:10]}"
    for nk, out in expected.items():
        # float keys: NaN
        row = gotd.get(nk)
        if row is None:
            alt = [k for k in gotd if str(k) == str(nk)]
            row = gotd.get(alt[0]) if alt else None
        if row is None:
            return f"MISSING GROUP {nk} {desc}\ngot {list(gotd)[:10]}"
        for name, want in out.items():
            g = row.get(name)
            if not eq(g, want):
                if isinstance(want, tuple) and want[0] == "APPROX":
                    sx = sorted(want[2]); p = pfrac_of(want[1][len("approx_"):])
                    h = Fraction(len(sx) - 1) * p; lo = math.floor(h)
                    want = f"approx of exact {quantile(sx, p)!r} between {sx[lo]!r} and {sx[min(lo + 1, len(sx) - 1)]!r} (n={len(sx)})"
                return f"MISMATCH {name} group {nk}: got {g!r} want {want!r} {desc}"
    return None
