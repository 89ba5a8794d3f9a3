"""`python -m rayproc_ray run --address ADDRESS --rayproc BIN <run flags>`: the driver that
`rayproc run --cluster ADDRESS ...` execs (its exit code becomes rayproc's).

Flags are `rayproc run`'s, long forms only (rayproc normalises them before the exec):
--input PATH (repeated) or --store DIR, --agg SPEC (repeated), --by COLS (repeated),
--where EXPR, --delimiter C, --no-header, --partitions N (Ray tasks; default: the
cluster's CPUs), --threads T (CPUs per task, default 1), --format F, --output PATH,
--progress auto|always|never, --quiet.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from . import MAX_RETRIES, RayprocError, _execute, _Interrupted, _Plan, find_binary


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
    r.add_argument("--agg", action="append", default=[], required=True)
    r.add_argument("--by", action="append", default=[])
    r.add_argument("--where", default=None)
    r.add_argument("--delimiter", default=None)
    r.add_argument("--no-header", action="store_true")
    r.add_argument("--partitions", type=int, default=None)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--format", default=None, choices=["csv", "tsv", "json", "ndjson", "table", "parquet"])
    r.add_argument("--output", default=None)
    r.add_argument("--progress", default="auto", choices=["auto", "always", "never"])
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--max-retries", type=int, default=MAX_RETRIES, help=argparse.SUPPRESS)
    return p


def _on_signal(signum, _frame):
    raise _Interrupted(128 + signum)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    # Ray's driver prints cluster events (a task retried because its node died) with Python's
    # sys.stdout; the table goes to file descriptor 1 from the final `rayproc reduce` only.
    # Keep the two apart: Ray's notices go to stderr (nowhere with --quiet).
    sys.stdout = open(os.devnull, "w") if args.quiet else sys.stderr
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        plan = _Plan(args.input, args.store, args.agg, args.by, args.where, args.delimiter, args.no_header, args.threads)
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
        )
    except RayprocError as e:
        sys.stderr.buffer.write(e.stderr)
        sys.stderr.flush()
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except _Interrupted as e:
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
