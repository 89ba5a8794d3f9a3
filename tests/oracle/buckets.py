"""Time buckets against Python's `datetime`.

Timestamps in every documented form (T or space, fractions, Z, +HH:MM and
+HHMM offsets converted to UTC, dates alone, Unix epoch seconds, before
1970 too), near year, leap-day and ISO-week boundaries, counted per
bucket of each unit.
"""
import csv, io, json, random, subprocess
from datetime import datetime, timedelta

R = "rayproc"  # set by run.py
UNITS = ["year", "month", "week", "day", "hour", "minute", "second"]


def gen(rng):
    """(text, the UTC-or-as-written datetime it denotes)"""
    base = rng.choice([datetime(2024, 2, 29, 23, 59, 59), datetime(2020, 12, 31, 23, 30), datetime(2021, 1, 3, 0, 15),
                       datetime(1969, 12, 31, 23, 59, 59), datetime(2026, 11, 30, 2, 24, 41), datetime(2000, 1, 1),
                       datetime(2015, 12, 28, 12), datetime(2027, 1, 1, 0, 0, 1), datetime(1999, 12, 31, 23, 59, 59)])
    dt = base + timedelta(seconds=rng.choice([0, 1, -1, 59, 3600, -86400, rng.randint(-10**6, 10**6)]))
    form = rng.random()
    if form < 0.15:
        epoch = int((dt - datetime(1970, 1, 1)).total_seconds())
        return str(epoch), dt
    if form < 0.25:
        return dt.strftime("%Y-%m-%d"), datetime(dt.year, dt.month, dt.day)
    sep = rng.choice(["T", " "])
    s = dt.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if rng.random() < 0.3:
        frac = str(rng.randint(0, 999999)).rjust(rng.choice([1, 3, 6]), "0")[:rng.choice([1, 3, 6])]
        s += "." + frac
    z = rng.random()
    if z < 0.2:
        return s + "Z", dt
    if z < 0.5:
        mins = rng.choice([330, -480, 60, -60, 840, -720, 45])
        sign = "+" if mins >= 0 else "-"
        hh, mm = divmod(abs(mins), 60)
        off = f"{sign}{hh:02d}:{mm:02d}" if rng.random() < 0.6 else f"{sign}{hh:02d}{mm:02d}"
        return s + off, dt - timedelta(minutes=mins)
    return s, dt


def bucket(dt, unit):
    if unit == "year":
        return f"{dt.year:04d}"
    if unit == "month":
        return f"{dt.year:04d}-{dt.month:02d}"
    if unit == "week":
        y, w, _ = dt.isocalendar()
        return f"{y:04d}-W{w:02d}"
    if unit == "day":
        return dt.strftime("%Y-%m-%d")
    if unit == "hour":
        return dt.strftime("%Y-%m-%dT%H")
    if unit == "minute":
        return dt.strftime("%Y-%m-%dT%H:%M")
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def run_case(seed):
    """None, or what went wrong in case `seed`."""
    rng = random.Random(seed)
    n = rng.choice([1, 5, 50, 500])
    vals = [gen(rng) for _ in range(n)]
    unit = rng.choice(UNITS)
    want = {}
    for _, dt in vals:
        b = bucket(dt, unit)
        want[b] = want.get(b, 0) + 1
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["ts"]] + [[t] for t, _ in vals])
    cmd = [R, "run", "--input", "-", "--by", f"{unit}(ts)", "--agg", "count", "--format", "json", "--quiet"]
    p = subprocess.run(cmd, input=buf.getvalue().encode(), capture_output=True)
    if p.returncode != 0:
        return f"ERROR seed={seed} {p.stderr.decode()[-300:]}"
    got = {r[f"{unit}_ts"]: r["count"] for r in json.loads(p.stdout)}
    if got != want:
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
        ex = [(t, bucket(dt, unit)) for t, dt in vals if bucket(dt, unit) in diff][:4]
        return f"MISMATCH seed={seed} unit={unit} {dict(list(diff.items())[:4])} e.g. {ex}"
    return None
