"""`python -m rayproc_ray run --address ADDRESS --rayproc BIN <run flags>`: the driver that
`rayproc run --cluster ADDRESS ...` execs (its exit code becomes rayproc's).

Flags are `rayproc run`'s, long forms only (rayproc normalises them before the exec):
--input PATH (repeated) or --store DIR (with --allow-stale, --no-verify), --agg SPEC
(repeated), --by COLS (repeated), --where EXPR, --delimiter C, --no-header, --null TEXT
(repeated), --partitions N
(Ray tasks; default: the cluster's CPUs), --threads T (CPUs per task, default 1), --format F,
--output PATH, --progress auto|always|never, --quiet. Relative paths are read from the
driver's working directory (the maps run in it).

Arguments that are not UTF-8 (a path's raw bytes) never stay on this process's command line:
`ray.init` records the command line as the job's entrypoint and encodes it as UTF-8, which
fails on them. The driver then runs itself again with its arguments in the environment
(`RAYPROC_RAY_ARGV`, the arguments' bytes in hex, NUL-separated) and an ASCII command line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from . import MAX_RETRIES, RayprocError, _execute, _Plan, find_binary
import rayproc_ray as _pkg

#: The environment variable that carries the arguments across the re-exec (see above).
ARGV_VAR = "RAYPROC_RAY_ARGV"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors: rayproc's form and exit code
        sys.stderr.write(f"rayproc: error: {message}\n")
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m rayproc_ray", description="rayproc's Ray driver")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="aggregate on a Ray cluster (what rayproc run --cluster execs)")
    r.add_argument("--address", default=None, help="auto, HOST:PORT or ray://HOST:PORT")
    r.add_argument("--rayproc", default=None, help="the rayproc binary (default $RAYPROC_BIN, then PATH)")
    r.add_argument("--input", action="append", default=[])
    r.add_argument("--store", default=None)
    r.add_argument("--allow-stale", action="store_true")
    r.add_argument("--no-verify", action="store_true")
    r.add_argument("--agg", action="append", default=[], required=True)
    r.add_argument("--by", action="append", default=[])
    r.add_argument("--where", default=None)
    r.add_argument("--delimiter", default=None)
    r.add_argument("--no-header", action="store_true")
    r.add_argument("--null", action="append", default=[])
    r.add_argument("--partitions", type=int, default=None)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--format", default=None, choices=["csv", "tsv", "json", "ndjson", "table", "parquet"])
    r.add_argument("--output", default=None)
    r.add_argument("--progress", default="auto", choices=["auto", "always", "never"])
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--max-retries", type=int, default=MAX_RETRIES, help=argparse.SUPPRESS)
    return p


def _on_signal(signum, _frame):
    # Raised from wherever the main thread is, Ray's Cython code included: Ray turns a
    # KeyboardInterrupt (only that) into its own clean interruption, any other exception
    # into a SystemError. main() reads the signal from _SIGNALLED.
    if _pkg._SIGNALLED is not None:
        return  # already ending: let the cleanup finish
    _pkg._SIGNALLED = signum
    raise KeyboardInterrupt


def _install_handlers():
    """SIGINT, SIGTERM and SIGHUP end the run as Ctrl-C does (tasks cancelled, temporary
    files removed), with exit code 128 + the signal. Installed again once connected:
    ray.init replaces SIGTERM's handler (and Ray's core worker has one that prints a crash
    report). A signal ignored when the driver started (`nohup`) stays ignored."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue
            signal.signal(sig, _on_signal)
        except (OSError, ValueError):
            pass


def _utf8(arg: str) -> bool:
    try:
        arg.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _argv_from_env() -> list:
    raw = bytes.fromhex(os.environ.pop(ARGV_VAR))
    return [os.fsdecode(a) for a in raw.split(b"\0")] if raw else []


def _reexec_ascii(argv: list):
    """Runs the driver again with `argv` in the environment (never returns)."""
    os.environ[ARGV_VAR] = b"\0".join(os.fsencode(a) for a in argv).hex()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "rayproc_ray"])


#: The driver's flags that take a value (the next argument, when not attached).
_VALUE_FLAGS = {
    "--address", "--rayproc", "--input", "--store", "--agg", "--by", "--where", "--delimiter",
    "--null", "--partitions", "--threads", "--format", "--output", "--progress", "--max-retries",
}


def _take_nulls(argv: list) -> tuple:
    """`argv` without its attached `--null=TEXT` flags, and their texts. rayproc passes each
    --null attached, so that a text starting with "-" is no flag; argparse would still take
    `--null=--` as no value at all (it drops a "--" from a value), so these are read here."""
    rest, nulls, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a in _VALUE_FLAGS and i + 1 < len(argv):
            rest += argv[i:i + 2]
            i += 2
            continue
        if a.startswith("--null="):
            nulls.append(a[len("--null="):])
        else:
            rest.append(a)
        i += 1
    return rest, nulls


def main(argv=None) -> int:
    if argv is None:
        if ARGV_VAR in os.environ:
            argv = _argv_from_env()
        else:
            argv = sys.argv[1:]
            if not all(_utf8(a) for a in argv):
                _reexec_ascii(argv)
    argv, nulls = _take_nulls(argv)
    args = _parser().parse_args(argv)
    args.null += nulls
    # Ray's driver prints cluster events (a task retried because its node died) with Python's
    # sys.stdout; the table goes to file descriptor 1 from the final `rayproc reduce` only.
    # Keep the two apart: Ray's notices go to stderr (nowhere with --quiet).
    sys.stdout = open(os.devnull, "w") if args.quiet else sys.stderr
    # A part cancelled after an earlier one failed may end in an error nobody fetches: Ray
    # would log it ("Unhandled error ...") on the run's stderr; the run reports its own.
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    _install_handlers()
    try:
        plan = _Plan(
            args.input, args.store, args.agg, args.by, args.where, args.delimiter, args.no_header,
            args.threads, args.allow_stale, args.no_verify, args.null,
        )
        binary = find_binary(args.rayproc)
        return _execute(
            plan,
            binary=binary,
            address=args.address,
            partitions=args.partitions,
            fmt=args.format,
            output=args.output,
            progress=args.progress,
            quiet=args.quiet,
            capture=False,
            max_retries=args.max_retries,
            after_connect=_install_handlers,
        )
    except RayprocError as e:
        sys.stderr.buffer.write(e.stderr)
        sys.stderr.flush()
        return e.exit_code
    except KeyboardInterrupt:
        signum = _pkg._SIGNALLED or signal.SIGINT
        if signum == signal.SIGINT:
            sys.stderr.write("\n")
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
