"""Checks of the Ray driver that need no cluster (argument checks, path handling, column
names, notes, progress lines, the re-exec of a non-UTF-8 command line).

Run by python/tests/test_cluster.py before it starts its cluster, or alone:
    RAYPROC_BIN=target/release/rayproc PYTHONPATH=python python python/tests/test_driver_unit.py
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import rayproc_ray  # noqa: E402
from rayproc_ray import RayprocError, _Plan  # noqa: E402

BIN = os.path.abspath(os.environ["RAYPROC_BIN"])


def _usage_error(**kw):
    """run(**kw) must raise RayprocError, exit 2, before any Ray connection is made."""
    import ray

    base = dict(inputs="/nonexistent/x.csv", agg="count", address="127.0.0.1:1", rayproc=BIN)
    base.update(kw)
    try:
        rayproc_ray.run(**base)
    except RayprocError as e:
        assert e.exit_code == 2, (kw, e.exit_code, str(e))
        assert str(e).startswith("rayproc: error: "), (kw, str(e))
        assert not ray.is_initialized(), kw
        return str(e)
    raise AssertionError(f"run({kw}) should raise RayprocError")


def test_arguments():
    """F8: every argument checked up front, with a clear message and exit 2."""
    cases = {
        "where": 5, "threads": 1.5, "partitions": 2.0, "max_retries": "3", "no_header": 1,
        "agg": 5, "by": [["k"]], "inputs": 5, "store": 7, "progress": "bogus",
        "ray_options": {"bogus_opt": 1}, "allow_stale": "yes", "address": 5,
    }
    for name, value in cases.items():
        msg = _usage_error(**{name: value})
        assert name in msg or "ray_options" in msg, (name, msg)
    assert "threads" in _usage_error(threads="2")
    assert "partitions" in _usage_error(partitions="2")
    assert "1..=1000000" in _usage_error(partitions=10**7)
    assert "1..=4096" in _usage_error(threads=5000)
    assert "1..=4096" in _usage_error(threads=0)
    assert "--store" in _usage_error(allow_stale=True)  # like the CLI: --store only
    # bytes paths (a non-UTF-8 name) are paths, alone or in a list
    p = _Plan(b"/d/n\xffu.csv", None, "count", None, None, None, False, 1)
    assert p.inputs == [os.fsdecode(b"/d/n\xffu.csv")], p.inputs
    assert os.fsencode(p.inputs[0]) == b"/d/n\xffu.csv"
    p = _Plan([b"/a.csv", "/b.csv"], None, ["count", "sum:x"], "k", b"x > 1", None, False, 2)
    assert p.inputs == ["/a.csv", "/b.csv"] and p.where == "x > 1" and p.by == ["k"], vars(p)
    # --null: a string or a list, each a flag of its own for every map, attached (a
    # sentinel such as -999 would read as a flag)
    for null, flags in [("NA", ["--null=NA"]), (["NA", "\\N", "-999"], ["--null=NA", "--null=\\N", "--null=-999"])]:
        p = _Plan("/a.csv", None, "count", None, None, None, False, 1, null=null)
        args = p.map_args(0, 2)
        at = args.index(flags[0])
        assert args[at:at + len(flags)] == flags, args
    assert "null" in _usage_error(null=5)
    # the driver's command line: attached texts read as they are, "--" too (argparse drops it)
    from rayproc_ray.__main__ import _take_nulls
    argv = ["--input", "--null=x.csv", "--null=--", "--agg", "count", "--null=-1", "--null", "NA"]
    assert _take_nulls(argv) == (["--input", "--null=x.csv", "--agg", "count", "--null", "NA"], ["--", "-1"])


def test_relative_paths():
    """F4/F10: paths reach the maps as given; relative ones are read in the driver's cwd
    (the maps run there), never by prefixing the cwd to the pattern text."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="rp-unit-") as tmp:
        odd = os.path.join(tmp, "we[ird] st*r")
        os.mkdir(odd)
        os.chdir(odd)
        try:
            p = _Plan(["dup.csv", "sub/*.csv"], None, "count", None, None, None, False, 1)
            assert p.inputs == ["dup.csv", "sub/*.csv"], p.inputs
            assert p.cwd == odd, p.cwd
            args = p.map_args(0, 2)
            assert args[:5] == ["map", "--input", "dup.csv", "--input", "sub/*.csv"], args
            p = _Plan(["/abs/x.csv"], None, "count", None, None, None, False, 1)
            assert p.cwd is None and p.inputs == ["/abs/x.csv"]
            p = _Plan(None, "s.store", "count", None, None, None, False, 1, True, True)
            assert p.cwd == odd and "--allow-stale" in p.map_args(0, 1) and "--no-verify" in p.map_args(0, 1)
            # F14: a FIFO is refused up front (every map would open it and wait for ever)
            os.mkfifo("ff")
            try:
                _Plan(["ff"], None, "count", None, None, None, False, 1)
                raise AssertionError("a FIFO input must be refused")
            except RayprocError as e:
                assert e.exit_code == 2 and b"ff is a pipe, FIFO or device" in e.stderr, e
        finally:
            os.chdir(old)


def test_duplicate_names():
    """F5: a --by key named like an aggregate: the two are numbered (count#1, count#2), as
    the command line numbers them, and the DataFrame is built."""
    try:
        import polars as pl
    except ImportError:
        print("test_duplicate_names: no polars, skipped")
        return
    from polars.testing import assert_frame_equal

    from rayproc_ray import _read_result

    with tempfile.TemporaryDirectory(prefix="rp-unit-") as tmp:
        src = os.path.join(tmp, "dup.csv")
        with open(src, "w") as f:
            f.write("count,x\na,1\nb,2\na,3\n")
        pq = os.path.join(tmp, "r.parquet")
        args = ["run", "-i", src, "--by", "count", "--agg", "count,sum:x"]
        subprocess.run([BIN, *args, "-o", pq], check=True)
        csv = subprocess.run([BIN, *args, "--format", "csv"], check=True, capture_output=True).stdout
        assert csv.startswith(b"count#1,count#2,sum_x\n"), csv
        df = _read_result(pq)
        assert df.columns == ["count#1", "count#2", "sum_x"], df.columns
        assert_frame_equal(df, pl.read_csv(io.BytesIO(csv)))


def test_notes():
    """F11: a successful run's `rayproc: note:` lines are kept, one message each."""
    from rayproc_ray import _notes

    err = b"rayproc: note: a: first\n  continued\nrayproc: note: b: second\n"
    assert _notes(err) == ["rayproc: note: a: first\n  continued", "rayproc: note: b: second"]
    assert _notes(b"") == []


def test_progress_lines():
    """F12: `--progress always` off a terminal: a line every 2 s at most (plus the first and
    the last), however many batches of parts arrive."""
    from rayproc_ray import _Progress

    err = io.StringIO()
    old, sys.stderr = sys.stderr, err
    clock = [100.0]
    real = time.monotonic
    time.monotonic = lambda: clock[0]
    try:
        bar = _Progress(60, "always", quiet=False)
        bar.update(0, 0, force=True)
        for done in range(1, 61):  # a part every 0.1 s: 6 s in all
            clock[0] += 0.1
            bar.update(done, done * 100)
        bar.update(60, 6000, force=True)
        bar.close()
    finally:
        time.monotonic = real
        sys.stderr = old
    lines = err.getvalue().splitlines()
    assert lines[0] == "rayproc: 0/60 parts  0 B  ETA ?", lines
    assert lines[-1].startswith("rayproc: 60/60 parts"), lines
    assert len(lines) == 4, lines  # 0 s, about 2 s and 4 s, and the last


def test_argv_reexec():
    """F9: a command line that is not UTF-8 goes through the environment, byte for byte."""
    from rayproc_ray import __main__ as m

    argv = ["run", "--input", os.fsdecode(b"/d/n\xffu.csv"), "--agg", "count"]
    assert not all(m._utf8(a) for a in argv)
    os.environ[m.ARGV_VAR] = b"\0".join(os.fsencode(a) for a in argv).hex()
    assert m._argv_from_env() == argv and m.ARGV_VAR not in os.environ


def main():
    for test in (test_arguments, test_relative_paths, test_duplicate_names, test_notes,
                 test_progress_lines, test_argv_reexec):
        test()
        print(f"ok: {test.__name__}", flush=True)


if __name__ == "__main__":
    main()
