"""`--where` against an evaluator of SQL's three-valued logic.

Random expressions (and, or, not; comparisons with number and text
literals; in, between, like, regular expressions; is null) over integer,
float and text columns with nulls; the rows the evaluator keeps must be
the rows rayproc aggregates (their count, the exact sum of an integer
column, the least and greatest text). The evaluator is as lazy as the
README's contract (`holds`): a number test reads a field only where it can
still change whether the row is kept, and where one reads text (`k` holds
both) rayproc must fail naming that row's line, the first in the input.
"""
import csv, io, json, math, random, re, subprocess
from fractions import Fraction

from aggregates import as_num, col_type

R = "rayproc"  # set by run.py

TEXTS = ["a", "b", "ab", "abc", "a%b", "a_b", "A", "é", "日本", "x.y", "", "it's", " a", "10", "9", "-1", "1e1"]


def gen(kind, rng):
    if rng.random() < 0.15:
        return ""
    if kind == "n":
        return str(rng.choice([rng.randint(-20, 20), rng.randint(-20, 20), 9007199254740993, -9223372036854775808,
                               9223372036854775807, 10, 0]))
    if kind == "x":
        return rng.choice(["0.5", "-0.5", "1e1", "10", "10.0", "0.1", "0.30000000000000004", "-0.0", "0",
                           repr(rng.uniform(-20, 20)), "1e-300", "9007199254740993"])
    return rng.choice(TEXTS[:-4] + ["10", "9"])


# how often a test of each column has a text literal: `k` holds texts, so its
# number tests meet fields that are not numbers (a data error where a test
# reads one, none where the row was decided without it)
TEXT_SHARE = {"n": 0.15, "x": 0.15, "k": 0.7}


def num(s):
    """The exact value of a field or literal that is a finite number, else None."""
    v = as_num(s)
    return None if v is None or not math.isfinite(v) else Fraction(v)


class DataError(Exception):
    pass


def lit_sql(v):
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return v[1]  # (Fraction, text)


def cmp(field, op, lit):
    if field == "":
        return None
    if isinstance(lit, str):
        a, b = field.encode(), lit.encode()
    else:
        a = num(field)
        if a is None:
            raise DataError()
        b = lit[0]
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def like(field, pat):
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pat)
    return re.fullmatch(rx, field, re.S) is not None


def NOT(v):
    return None if v is None else not v


def AND(a, b):
    return NOT(OR(NOT(a), NOT(b)))


def OR(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def holds(node, row, want):
    """Whether `node` is `want` (True or False) on `row`, evaluated as the README says rayproc
    evaluates: left to right, a test only where it can still change whether the row is kept
    (the row is kept when the root holds True; `not` asks its operand the other question; `and`
    asked True needs both, asked False either, and `or` the reverse). A number test that meets
    a field that is not a number raises DataError."""
    kind = node[0]
    if kind == "test":
        return node[1](row) is want
    if kind == "not":
        return holds(node[1], row, not want)
    a, b = node[1], node[2]
    if (kind == "and") == want:
        return holds(a, row, want) and holds(b, row, want)
    return holds(a, row, want) or holds(b, row, want)


def gen_lit(col, rng, text=None):
    if text is None:
        text = rng.random() < TEXT_SHARE[col]
    if text:
        return rng.choice(TEXTS)
    v = rng.choice(["0", "10", "-1", "0.5", "1e1", "9007199254740992", "9007199254740993", "-0.0", "2.5", "-20",
                    "9223372036854775807", "-9223372036854775808", "1e-300"])
    return (num(v), v)


def gen_expr(rng, depth=0):
    r = rng.random()
    if depth < 3 and r < 0.35:
        op = rng.choice(["and", "or"])
        a, ea = gen_expr(rng, depth + 1)
        b, eb = gen_expr(rng, depth + 1)
        return f"({a} {op} {b})", (op, ea, eb)
    if depth < 3 and r < 0.45:
        a, ea = gen_expr(rng, depth + 1)
        return f"not {a}", ("not", ea)
    col = rng.choice(["n", "x", "k"])
    ci = {"n": 0, "x": 1, "k": 2}[col]
    kind = rng.random()
    if kind < 0.45:
        op = rng.choice(["=", "!=", "<", "<=", ">", ">="])
        lit = gen_lit(col, rng)
        return f"{col} {op} {lit_sql(lit)}", ("test", lambda row: cmp(row[ci], op, lit))
    if kind < 0.55:
        neg = rng.random() < 0.5
        return f"{col} is {'not ' if neg else ''}null", ("test", lambda row: (row[ci] != "") if neg else (row[ci] == ""))
    if kind < 0.7:
        text = rng.random() < TEXT_SHARE[col]
        lits = [gen_lit(col, rng, text) for _ in range(rng.randint(1, 3))]
        neg = rng.random() < 0.5

        def ev(row, lits=lits, neg=neg):
            v = False
            for l in lits:
                v = OR(v, cmp(row[ci], "=", l))
            return NOT(v) if neg else v
        return f"{col} {'not ' if neg else ''}in ({', '.join(lit_sql(l) for l in lits)})", ("test", ev)
    if kind < 0.8:
        text = rng.random() < TEXT_SHARE[col]
        lo, hi = gen_lit(col, rng, text), gen_lit(col, rng, text)
        neg = rng.random() < 0.3

        def ev(row, lo=lo, hi=hi, neg=neg):
            v = AND(cmp(row[ci], ">=", lo), cmp(row[ci], "<=", hi))
            return NOT(v) if neg else v
        return f"{col} {'not ' if neg else ''}between {lit_sql(lo)} and {lit_sql(hi)}", ("test", ev)
    if kind < 0.92:
        pat = rng.choice(["a%", "%b", "_", "a_b", "%", "a\\%", "é%", "_本", "%.%", "1%", "%0", ""])
        neg = rng.random() < 0.3

        def ev(row, pat=pat, neg=neg):
            if row[ci] == "":
                return None
            v = like(row[ci], pat)
            return (not v) if neg else v
        return f"{col} {'not ' if neg else ''}like {lit_sql(pat)}", ("test", ev)
    rx = rng.choice(["^a", "b$", "[0-9]", "\\.", "^$", "é", "a|b"])
    neg = rng.random() < 0.3

    def ev(row, rx=rx, neg=neg):
        if row[ci] == "":
            return None
        v = re.search(rx, row[ci]) is not None
        return (not v) if neg else v
    return f"{col} {'!~' if neg else '~'} {lit_sql(rx)}", ("test", ev)


def run_case(seed):
    """None, or what went wrong in case `seed`."""
    rng = random.Random(seed)
    n = rng.choice([1, 3, 10, 40, 300])
    rows = [[gen("n", rng), gen("x", rng), gen("k", rng)] for _ in range(n)]
    expr, root = gen_expr(rng)
    err = None  # the first row whose test reads a field that is not a number
    kept = []
    for i, row in enumerate(rows):
        try:
            if holds(root, row, True):
                kept.append(row)
        except DataError:
            err = i
            break
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["n", "x", "k"]] + rows)
    cmd = [R, "run", "--input", "-", "--agg", "count,sum:n,min:k,max:k", "--where", expr, "--format", "json",
           "--quiet", "--threads", str(rng.choice([1, 2]))]
    p = subprocess.run(cmd, input=buf.getvalue().encode(), capture_output=True)
    desc = f"seed={seed} where={expr!r} rows={n}"
    if p.returncode not in (0, 1, 2):
        return f"CRASH {p.returncode} {desc} {p.stderr.decode()[-500:]}"
    if p.returncode == 2:
        return f"USAGE {desc}: {p.stderr.decode().strip()}"
    if err is not None:
        # a number test read a field that is not a number: a data error
        # naming the first such row's line (the header is line 1)
        line = f"<stdin>:{err + 2}: "
        if p.returncode != 1 or not p.stderr.decode().startswith(f"rayproc: error: {line}"):
            return f"WANTED ERROR at {line}{desc}: exit {p.returncode} {p.stderr.decode().strip()!r}"
        return None
    if p.returncode != 0:
        return f"ERROR {desc}: {p.stderr.decode().strip()}"
    got = json.loads(p.stdout)[0]
    ns = [int(r[0]) for r in kept if r[0] != ""]
    ks = [r[2].encode() for r in kept if r[2] != ""]
    want = {"count": len(kept), "sum_n": sum(ns) if ns else None,
            "min_k": min(ks).decode() if ks else None, "max_k": max(ks).decode() if ks else None}
    # min/max of k: k's type may be numeric when every kept k is a number
    kt = col_type([r[2] for r in kept]) in ("int", "float")
    for name in ["count", "sum_n"] + ([] if kt else ["min_k", "max_k"]):
        if got.get(name) != want[name]:
            return f"MISMATCH {name}: got {got.get(name)!r} want {want[name]!r} {desc}"
    return None
