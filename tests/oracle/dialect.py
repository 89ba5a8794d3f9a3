"""CSV dialects against RFC 4180: group counts of random quoted text.

Fields full of delimiters, quotes, CR, LF and CRLF (quoted where RFC 4180
requires it, or always), four delimiters, both line ends, with and without
a final one, from standard input and from a file, at several partition
counts: every field must come back as written.
"""
import json, os, random, subprocess, tempfile

R = "rayproc"  # set by run.py
ALPH = ['a', 'b', ',', '"', '\n', '\r', ' ', ';', '\t', 'é', 'x', '\r\n', '""']


def text(rng):
    n = rng.choice([1, 2, 3, 5, 20, 70])
    s = "".join(rng.choice(ALPH) for _ in range(n))
    if s.strip(" \t") == "" or s.lstrip(" \t+-").replace(".", "").isdigit():
        s = "k" + s
    return s


def run_case(seed):
    """None, or what went wrong in case `seed`."""
    rng = random.Random(seed)
    delim = rng.choice([",", ";", "\t", "|"])
    n = rng.choice([1, 3, 10, 100, 3000])
    pool = [text(rng) for _ in range(rng.choice([1, 3, 20]))]
    rows = [[rng.choice(pool), rng.choice(pool)] for _ in range(n)]
    quote_all = rng.random() < 0.5
    term = rng.choice(["\n", "\r\n"])

    def field(v):
        # quoted where RFC 4180 requires it (Python's csv module leaves a
        # CR unquoted when the line end is LF: not RFC 4180)
        if quote_all or any(c in v for c in (delim, '"', "\r", "\n")):
            return '"' + v.replace('"', '""') + '"'
        return v
    data = term.join(delim.join(field(v) for v in r) for r in [["a", "b"]] + rows) + term
    if rng.random() < 0.3:
        data = data[: -len(term)]  # no final line end
    want = {}
    for a, b in rows:
        want[(a, b)] = want.get((a, b), 0) + 1
    d = {"\t": "tab"}.get(delim, delim)
    cmd = [R, "run", "--input", "-", "--by", "a,b", "--agg", "count", "--format", "ndjson", "--quiet",
           "--delimiter", d, "--threads", str(rng.choice([1, 2])), "--partitions", str(rng.choice([1, 3, 16]))]
    raw = data.encode()
    if rng.random() < 0.3:
        fd, f = tempfile.mkstemp(suffix=".csv")
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        cmd[3] = f
        p = subprocess.run(cmd, capture_output=True)
        os.unlink(f)
    else:
        p = subprocess.run(cmd, input=raw, capture_output=True)
    if p.returncode != 0:
        return f"ERROR seed={seed} delim={delim!r} {p.stderr.decode()[-300:]}"
    got = {}
    for line in p.stdout.decode().splitlines():
        r = json.loads(line)
        got[(r["a"], r["b"])] = r["count"]
    if got != want:
        diff = [(k, got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)]
        return f"MISMATCH seed={seed} delim={delim!r} {diff[:3]}"
    return None
