"""rayproc on a Ray cluster: the same answer as `rayproc run` on one machine, byte for byte.

How a run goes (see docs/cluster.md for the user's side):

1. The driver (this module, on the machine where `rayproc run --cluster` was typed) connects
   to the cluster with `ray.init`, and ships the rayproc binary to the workers as the job's
   `runtime_env` `working_dir`: a folder holding only a copy of the binary (debug info stripped:
   17 MB instead of 97 MB), cached under ~/.cache/rayproc-ray by the binary's path, size and
   mtime. Ray zips and uploads that folder to the cluster once (its URI is its content hash,
   so later runs with the same binary upload nothing) and unpacks it on every node, keeping
   the executable bit; each task starts in it. No install step on the workers, and no wheel
   in `py_modules`, which made the first task wait about 16 s (../shared/RAY.md).
   Ray takes a local `working_dir` only at `ray.init`, not per task: when the process already
   holds a Ray connection made by someone else (the Python API in a notebook after the user's
   own `ray.init`), the binary goes through the object store instead (`ray.put` once per run,
   written by the first task on each node to a node-local cache named by its digest).
2. Part I of N is a Ray task named `rayproc map I/N` (so the dashboard tells the parts apart),
   asking `num_cpus=threads`, with `max_retries` for workers and nodes that die: it runs
   `rayproc map --part I/N ... --emit-partial -` and returns (exit code, partial bytes,
   stderr) through the object store. The task function is defined in a closure so that
   cloudpickle ships it by value: the workers need `ray`, not this package.
3. The driver `ray.wait`s for parts, writes each partial to a temporary folder as it arrives,
   merges batches with `rayproc reduce --emit-partial` when many have piled up (a tree, so the
   file count stays bounded), and draws a progress bar on a terminal.
4. The final `rayproc reduce` prints the table (or writes --output atomically) exactly as
   `rayproc run` would, and its exit code is the run's.

Errors: a part whose map exits non-zero is a data or usage error; the run ends with the
stderr of the earliest such part (lower-numbered parts are awaited first, so the message is
the one `rayproc run` would print, whatever order the parts finished in) and its exit code,
and nothing is written. A part that Ray cannot complete after its retries (worker or node
lost, runtime_env failure) ends the run with one paragraph naming the part and Ray's reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from typing import Dict, List, Optional, Sequence, Union

__version__ = "0.1.0"
__all__ = ["run", "RayprocError", "RayprocWarning", "MAX_RETRIES"]

#: Ray retries of a part whose worker or node died (Ray's own default for tasks).
MAX_RETRIES = 3
#: Partials merged per `reduce --emit-partial` once that many wait on disk.
_MERGE_FANIN_DEFAULT = 64
#: The command line's ranges (`rayproc run --threads`, `--partitions`).
_MAX_THREADS = 4096
_MAX_PARTITIONS = 1_000_000
_PROGRESS_MODES = ("auto", "always", "never")

_log = logging.getLogger("rayproc_ray")


class RayprocError(Exception):
    """A run that failed.

    `stderr` holds the bytes the command line prints (for a data error, the map's own
    message, `rayproc: error: FILE:LINE: ...`), `exit_code` the exit status it ends with.
    """

    def __init__(self, stderr: Union[str, bytes], exit_code: int = 1):
        if isinstance(stderr, str):
            stderr = stderr.encode()
        if not stderr.endswith(b"\n"):
            stderr += b"\n"
        self.stderr = stderr
        self.exit_code = exit_code
        super().__init__(stderr.decode("utf-8", "replace").rstrip("\n"))


class RayprocWarning(UserWarning):
    """A `rayproc: note:` of the run (the command line prints it on stderr), for instance an
    approximate aggregate whose answer may be off by more than its promised accuracy. The
    Python API issues each note with `warnings.warn(text, RayprocWarning)` once the
    DataFrame is read (Python shows it on stderr once per call site, by default; the
    `warnings` filters can turn it into an error or silence it)."""


# The signal that ended the run (the driver's handlers set it before raising
# KeyboardInterrupt): the exit code is 128 + it; None is Ctrl-C.
_SIGNALLED: Optional[int] = None


def _usage(message: str) -> RayprocError:
    return RayprocError(f"rayproc: error: {message}", 2)


def _int_arg(value, name: str, flag: str, lo: int, hi: int) -> int:
    """An integer argument of the API, checked as the command line checks `flag`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _usage(f"invalid value {value!r} for {name}= ({flag}): an integer is needed")
    value = int(value)
    if not lo <= value <= hi:
        raise _usage(f"invalid value {value} for {name}= ({flag}): {value} is not in {lo}..={hi}")
    return value


def _bool_arg(value, name: str, flag: str) -> bool:
    if not isinstance(value, bool):
        raise _usage(f"invalid value {value!r} for {name}= ({flag}): True or False is needed")
    return value


def _is_path(value) -> bool:
    return isinstance(value, (str, bytes, os.PathLike))


def _path(value) -> str:
    """A path as the text the command line would get: bytes (a non-UTF-8 name) become the
    str `os.fsdecode` makes of them, which `os.fsencode` turns back into the same bytes."""
    value = os.fspath(value)
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _path_list(value, name: str, flag: str) -> List[str]:
    """A path or a list of paths (str, bytes or os.PathLike)."""
    if value is None:
        return []
    if _is_path(value):
        return [_path(value)]
    try:
        items = list(value)
    except TypeError:
        items = None
    if items is None or not all(_is_path(v) for v in items):
        raise _usage(
            f"invalid value {value!r} for {name}= ({flag}): a path (str, bytes, os.PathLike) "
            "or a list of paths is needed"
        )
    return [_path(v) for v in items]


def _str_list(value, name: str, flag: str) -> List[str]:
    """A string or a list of strings (each may hold several, comma-separated, as on the
    command line)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        items = list(value) if not isinstance(value, (bytes, bytearray)) else None
    except TypeError:
        items = None
    if items is None or not all(isinstance(v, str) for v in items):
        raise _usage(f"invalid value {value!r} for {name}= ({flag}): a string or a list of strings is needed")
    return items


def _opt_str(value, name: str, flag: str) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return os.fsdecode(value)
    raise _usage(f"invalid value {value!r} for {name}= ({flag}): a string is needed")


def _check_progress(value) -> str:
    if value not in _PROGRESS_MODES:
        raise _usage(f"invalid value {value!r} for progress= (--progress): one of auto, always, never is needed")
    return value


def _check_partitions(value) -> Optional[int]:
    if value is None:
        return None
    return _int_arg(value, "partitions", "--partitions", 1, _MAX_PARTITIONS)


def _check_stream(path: str):
    """A pipe, FIFO or device given as an input (`-i <(...)`, `mkfifo`): every part's map
    would open it, and all but one would wait for ever for a writer. A path that does not
    exist is left to the maps (a glob pattern, or their `No such file` error)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise _usage(
            f"--input {path} is a pipe, FIFO or device: a cluster reads files that every node "
            "sees, by position (save it to a file first)"
        )


class _Plan:
    """The flags every map of the run gets.

    Paths go to the maps as they were given, relative ones with the driver's working
    directory (`cwd`, the maps run in it): a map then reads exactly the files `rayproc run`
    would read, and names them in its messages as `rayproc run` does. (Prefixing the
    directory to the path text instead made a directory name holding `*`, `?` or `[` part
    of a glob pattern, and every message named the absolute path.)"""

    def __init__(self, inputs, store, agg, by, where, delimiter, no_header, threads,
                 allow_stale=False, no_verify=False, null=()):
        inputs = _path_list(inputs, "inputs", "--input")
        if store is not None:
            if not _is_path(store):
                raise _usage(f"invalid value {store!r} for store= (--store): a path is needed")
            store = _path(store)
        if store is not None and inputs:
            raise RayprocError("rayproc: error: give --input or --store, not both", 2)
        if store is None and not inputs:
            raise RayprocError("rayproc: error: give --input PATH (one or more) or --store DIR", 2)
        if "-" in inputs:
            raise RayprocError(
                "rayproc: error: --input - (standard input) cannot be read on a cluster: "
                "give paths that every node sees",
                2,
            )
        for p in inputs:
            _check_stream(p)
        agg = _str_list(agg, "agg", "--agg")
        if not agg:
            raise RayprocError("rayproc: error: give at least one --agg SPEC", 2)
        self.by = _str_list(by, "by", "--by")
        self.where = _opt_str(where, "where", "--where")
        if delimiter is not None and not isinstance(delimiter, str):
            raise _usage(f"invalid value {delimiter!r} for delimiter= (--delimiter): a string is needed")
        self.no_header = _bool_arg(no_header, "no_header", "--no-header")
        self.null = _str_list(null, "null", "--null")
        self.threads = _int_arg(threads, "threads", "--threads", 1, _MAX_THREADS)
        self.allow_stale = _bool_arg(allow_stale, "allow_stale", "--allow-stale")
        self.no_verify = _bool_arg(no_verify, "no_verify", "--no-verify")
        if store is None and (self.allow_stale or self.no_verify):
            flag = "--allow-stale" if self.allow_stale else "--no-verify"
            raise _usage(f"{flag} applies to --store only")
        self.inputs = inputs
        self.store = store
        self.agg = agg
        self.delimiter = delimiter
        paths = inputs + ([store] if store is not None else [])
        # The maps run in this directory when a path is relative (it must exist on every
        # node, as it must for the absolute form of such a path).
        self.cwd = os.getcwd() if any(not os.path.isabs(p) for p in paths) else None

    def map_args(self, part: int, parts: int) -> List[str]:
        args = ["map"]
        for p in self.inputs:
            args += ["--input", p]
        if self.store is not None:
            args += ["--store", self.store]
            if self.allow_stale:
                args.append("--allow-stale")
            if self.no_verify:
                args.append("--no-verify")
        args += ["--part", f"{part}/{parts}"]
        for a in self.agg:
            args += ["--agg", a]
        for b in self.by:
            args += ["--by", b]
        if self.where is not None:
            args += ["--where", self.where]
        if self.delimiter is not None:
            args += ["--delimiter", self.delimiter]
        if self.no_header:
            args.append("--no-header")
        # attached: a text that starts with "-" (a sentinel such as -999) would read as a flag
        args += [f"--null={n}" for n in self.null]
        args += ["--threads", str(self.threads), "--quiet", "--emit-partial", "-"]
        return args


def find_binary(rayproc: Optional[str] = None) -> str:
    """The rayproc binary: `rayproc`, else $RAYPROC_BIN, else `rayproc` on PATH."""
    cand = rayproc or os.environ.get("RAYPROC_BIN") or shutil.which("rayproc")
    if not cand:
        raise RayprocError(
            "rayproc: error: the rayproc binary was not found: pass rayproc=PATH, "
            "set RAYPROC_BIN, or put rayproc on PATH",
            2,
        )
    path = os.path.abspath(cand)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RayprocError(f"rayproc: error: {path} is not an executable file", 2)
    return path


def _stage_binary(binary: str) -> str:
    """A folder holding only `rayproc`, a copy of `binary` without debug info (the
    runtime_env working_dir). Cached by the binary's path, size and mtime; built in a
    temporary sibling and renamed, so concurrent runs never see half a copy."""
    st = os.stat(binary)
    key = hashlib.sha256(
        f"{os.path.realpath(binary)}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    ).hexdigest()[:20]
    roots = []
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    roots.append(os.path.join(cache, "rayproc-ray"))
    roots.append(os.path.join(tempfile.gettempdir(), f"rayproc-ray-{os.getuid()}"))
    last_error = None
    for root in roots:
        final = os.path.join(root, "stage-" + key)
        if os.path.isfile(os.path.join(final, "rayproc")):
            return final
        try:
            os.makedirs(root, exist_ok=True)
            tmp = tempfile.mkdtemp(dir=root, prefix=".stage-")
        except OSError as e:
            last_error = e
            continue
        dst = os.path.join(tmp, "rayproc")
        strip = shutil.which("strip")
        stripped = False
        if strip:
            stripped = (
                subprocess.run(
                    [strip, "--strip-debug", "-o", dst, binary],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ).returncode
                == 0
            )
        if not stripped:
            shutil.copyfile(binary, dst)
        os.chmod(dst, 0o755)
        try:
            os.rename(tmp, final)
        except OSError:  # another run staged it first
            shutil.rmtree(tmp, ignore_errors=True)
        _prune_stages(root, keep=final)
        return final
    raise RayprocError(f"rayproc: error: cannot stage the binary for the workers: {last_error}", 1)


def _prune_stages(root: str, keep: str, count: int = 4):
    """Each rebuilt binary gets a stage folder (17 MB): keep the `count` newest."""
    try:
        stages = [os.path.join(root, d) for d in os.listdir(root) if d.startswith("stage-")]
        stages.sort(key=lambda d: os.stat(d).st_mtime, reverse=True)
    except OSError:
        return
    for d in stages[count:]:
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)


def _make_map_task():
    """The task body, made in a closure so that cloudpickle ships it by value (workers need
    only `ray`, not this package)."""

    def rayproc_map(args, ship, cwd=None):
        import os
        import subprocess
        import tempfile
        import time

        import ray

        t0 = time.time()
        if ship is None:
            # The job's runtime_env working_dir: the task starts in the unpacked folder.
            exe = os.path.join(os.getcwd(), "rayproc")
        else:
            digest, holder = ship
            folder = os.path.join(tempfile.gettempdir(), f"rayproc-ray-bin-{os.getuid()}", digest)
            exe = os.path.join(folder, "rayproc")
            if not os.path.isfile(exe):
                data = ray.get(holder[0])
                os.makedirs(folder, exist_ok=True)
                tmp = f"{exe}.{os.getpid()}.tmp"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o755)
                os.replace(tmp, exe)

        def die_with_parent():
            # The map must not outlive a worker that Ray kills (cancel, lost node).
            try:
                import ctypes

                ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
            except Exception:
                pass

        node = ray.util.get_node_ip_address()
        if cwd is not None and not os.path.isdir(cwd):
            msg = (
                f"rayproc: error: relative paths are read from the driver's working directory "
                f"{cwd}, which node {node} does not have: give paths that every node sees\n"
            )
            return 1, b"", os.fsencode(msg), node, time.time() - t0
        proc = subprocess.run(
            [exe] + list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
            cwd=cwd,
        )
        return proc.returncode, proc.stdout, proc.stderr, node, time.time() - t0

    return rayproc_map


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class _Progress:
    """Parts done / total, partial bytes received, ETA: a bar on a terminal (`auto`,
    `always`), a plain line every 2 s elsewhere (`always`), nothing for `never` / quiet."""

    def __init__(self, total: int, mode: str, quiet: bool):
        tty = sys.stderr.isatty()
        if quiet or mode == "never":
            self.kind = None
        elif tty:
            self.kind = "bar"
        elif mode == "always":
            self.kind = "line"
        else:
            self.kind = None
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = None
        self.drawn = False

    def update(self, done: int, nbytes: int, force: bool = False):
        if self.kind is None:
            return
        now = time.monotonic()
        period = 0.1 if self.kind == "bar" else 2.0
        if not force and now - self.last < period:
            return
        if self.kind == "line" and (done, nbytes) == self.shown:
            return  # nothing new to say
        self.last = now
        self.shown = (done, nbytes)
        elapsed = now - self.start
        if done:
            eta = f"ETA {max(0.0, elapsed / done * (self.total - done)):.0f}s"
        else:
            eta = "ETA ?"
        text = f"{done}/{self.total} parts  {_human_bytes(nbytes)}  {eta}"
        if self.kind == "bar":
            width = 30
            fill = width * done // max(1, self.total)
            bar = "#" * fill + "-" * (width - fill)
            sys.stderr.write(f"\r[{bar}] {text}\x1b[K")
            self.drawn = True
        else:
            sys.stderr.write(f"rayproc: {text}\n")
        sys.stderr.flush()

    def close(self):
        if self.kind == "bar" and self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


# The connection this module made with ray.init: (stage folder given as its working_dir,
# the job id of that connection). None: not connected by us. Guarded by _CONNECT_LOCK, so
# that two threads calling run() at once make one connection, not two ray.init.
_INIT: Optional[tuple] = None
_CONNECT_LOCK = threading.Lock()


def _job_id(ray):
    try:
        return ray.get_runtime_context().get_job_id()
    except Exception:
        return None


def _connect(ray, address: Optional[str], stage: str):
    """Connects (or reuses this process's connection); returns the `ship` argument of the
    tasks: None when the binary is in the job's working_dir, else (digest, [ObjectRef])."""
    global _INIT
    with _CONNECT_LOCK:
        if not ray.is_initialized():
            _INIT = None  # whatever we made before was shut down
            _probe(address)
            try:
                kwargs = {}
                if not address and not os.environ.get("RAY_ADDRESS"):
                    kwargs["include_dashboard"] = False  # a local Ray just for this run
                ray.init(
                    address=address,
                    runtime_env={"working_dir": stage},
                    # Ray's own warnings (a retried task, a dead node) would change the run's
                    # stderr; errors that end the run are reported by us, in one paragraph.
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                    **kwargs,
                )
            except Exception as e:  # ConnectionError, RuntimeError, ... from ray.init
                detail = _first_line(str(e)) or type(e).__name__
                where = f" at {address}" if address else ""
                raise RayprocError(
                    f"rayproc: error: cannot connect to the Ray cluster{where}: {detail}", 1
                ) from None
            _INIT = (stage, _job_id(ray))
            return None
        # Ours only if it is still the very connection we made with this stage: after the
        # caller's ray.shutdown() and own ray.init(), the job (and its working_dir) is new.
        if _INIT is not None and _INIT == (stage, _job_id(ray)):
            return None
    with open(os.path.join(stage, "rayproc"), "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()[:32]
    return (digest, [ray.put(data)])


def _probe(address: Optional[str]):
    """Fails fast on a HOST:PORT nobody listens on: ray.init would retry for minutes,
    printing its C++ warnings on stderr."""
    if not address or "://" in address or address in ("auto", "local") or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except (OSError, ValueError) as e:
        raise RayprocError(
            f"rayproc: error: cannot connect to the Ray cluster at {address}: "
            f"{getattr(e, 'strerror', None) or e} (is `ray start --head` running there?)",
            1,
        ) from None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _lost_part_error(ray, part: int, parts: int, err: Exception) -> RayprocError:
    kind = type(err).__name__
    if isinstance(err, ray.exceptions.RayTaskError) and getattr(err, "cause", None) is not None:
        cause = err.cause
        detail = f"{type(cause).__name__}: {_first_line(str(cause))}"
    else:
        detail = _first_line(str(err))
    return RayprocError(
        f"rayproc: error: part {part}/{parts} could not be computed on the cluster ({kind}; "
        f"Ray retries a lost worker or node up to {MAX_RETRIES} times): {detail}",
        1,
    )


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _task_demand(opts: dict) -> Dict[str, float]:
    """The resources one map task with these `.options()` asks Ray for (Ray's names)."""
    demand = {}
    for key, name in (("num_cpus", "CPU"), ("num_gpus", "GPU"), ("memory", "memory")):
        if opts.get(key):
            demand[name] = float(opts[key])
    for name, amount in (opts.get("resources") or {}).items():
        if amount:
            demand[name] = float(amount)
    return demand


def _show_amount(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_feasible(ray, demands: List[Dict[str, float]], threads: int, cpus_from_threads: bool):
    """Refuses a run whose map tasks no node of the cluster can hold: Ray would keep them
    pending for ever (an "infeasible" task), and the run would wait silently. Nodes are
    those alive now: an autoscaling cluster must have one such node up."""
    try:
        nodes = [n.get("Resources") or {} for n in ray.nodes() if n.get("Alive")]
    except Exception:
        return  # no view of the nodes (an old Ray, a client): Ray schedules as it can
    if not nodes:
        return
    for demand in demands:
        if any(all(node.get(k, 0) >= v for k, v in demand.items()) for node in nodes):
            continue
        cpu_short = all(node.get("CPU", 0) < demand.get("CPU", 0) for node in nodes)
        other = {k: v for k, v in demand.items() if k != "CPU"}
        cpu_only = any(all(node.get(k, 0) >= v for k, v in other.items()) for node in nodes)
        most = max(node.get("CPU", 0) for node in nodes)
        if cpu_short and cpu_only and cpus_from_threads:
            raise _usage(
                f"--threads {threads}: no node of the cluster has {threads} CPUs (the most a "
                f"node has: {_show_amount(most)}); each map task asks Ray for --threads CPUs: "
                f"give --threads {max(1, int(most))} or less"
            )
        wanted = ", ".join(f"{k}={_show_amount(v)}" for k, v in sorted(demand.items()))
        has = ", ".join(
            f"{k}={_show_amount(max(node.get(k, 0) for node in nodes))}" for k in sorted(demand)
        )
        raise _usage(
            f"no node of the cluster has the resources a map task asks for ({wanted}; "
            f"--threads and ray_options): the most any node has is {has}"
        )


def _execute(
    plan: _Plan,
    *,
    binary: str,
    address: Optional[str],
    partitions: Optional[int],
    fmt: Optional[str],
    output: Optional[str],
    progress: str,
    quiet: bool,
    capture: bool,
    max_retries: int = MAX_RETRIES,
    ray_options: Optional[dict] = None,
    after_connect=None,
    notes: Optional[list] = None,
) -> int:
    """Runs the whole thing; returns the final reduce's exit code (0) or raises RayprocError.
    With `capture`, the reduce's stderr is collected (the API) instead of inherited, and its
    `rayproc: note:` lines are appended to `notes`. `after_connect()` runs once connected
    (the command line reinstalls its signal handlers there: ray.init replaces them)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    trace_path = os.environ.get("RAYPROC_RAY_TRACE")
    fanin = max(2, int(os.environ.get("RAYPROC_RAY_MERGE_FANIN", _MERGE_FANIN_DEFAULT)))
    partitions = _check_partitions(partitions)
    progress = _check_progress(progress)
    max_retries = _int_arg(max_retries, "max_retries", "Ray's max_retries", 0, 1000)
    if ray_options is not None and not (
        isinstance(ray_options, dict) and all(isinstance(k, str) for k in ray_options)
    ):
        raise _usage(f"invalid value {ray_options!r} for ray_options=: a dict of Ray's .options() is needed")
    t_start = time.monotonic()
    stage = _stage_binary(binary)
    import ray  # late: `rayproc run --cluster --help`-like paths never pay for it

    task = ray.remote(_make_map_task())
    # SPREAD: parts go round the nodes rather than filling the driver's node first (Ray's
    # default packs short tasks onto the local node); the inputs are on a shared filesystem,
    # so spreading them spreads the reading too.
    opts = dict(
        num_cpus=plan.threads,
        max_retries=max_retries,
        retry_exceptions=False,
        scheduling_strategy="SPREAD",
    )
    opts.update(ray_options or {})
    try:  # Ray checks the options here, before anything runs
        task.options(name="rayproc map", **opts)
    except (TypeError, ValueError) as e:
        raise _usage(f"invalid ray_options {ray_options!r}: {_first_line(str(e))}") from None

    # Developer hook (the cluster test): part I asks for one unit of the custom resource
    # names[I % len], so that parts land on given nodes whatever the scheduler prefers.
    round_robin = [r for r in os.environ.get("RAYPROC_RAY_ROUND_ROBIN", "").split(",") if r]

    def part_options(i):
        part_opts = dict(opts)
        if round_robin:
            part_opts["resources"] = {**opts.get("resources", {}), round_robin[i % len(round_robin)]: 1}
        return part_opts

    ship = _connect(ray, address, stage)
    if after_connect is not None:
        after_connect()
    t_connected = time.monotonic()
    demands = [_task_demand(part_options(i)) for i in range(max(1, len(round_robin)))]
    _check_feasible(ray, demands, plan.threads, "num_cpus" not in (ray_options or {}))
    if partitions is None:
        partitions = max(1, int(ray.cluster_resources().get("CPU", 1)))
    n = partitions

    def submit(i):
        return task.options(name=f"rayproc map {i}/{n}", **part_options(i)).remote(
            plan.map_args(i, n), ship, plan.cwd
        )

    workdir = tempfile.mkdtemp(prefix="rayproc-ray-")
    refs: Dict[object, int] = {}
    trace = []
    try:
        for i in range(n):
            refs[submit(i)] = i
        levels: List[List[str]] = [[]]  # levels[0]: partials of single parts
        done_ok = set()
        failures: Dict[int, RayprocError] = {}
        kill_retries: Dict[int, int] = {}
        nbytes = 0
        merges = 0
        bar = _Progress(n, progress, quiet)
        bar.update(0, 0, force=True)
        while refs:
            pending = list(refs)
            ready, _ = ray.wait(pending, num_returns=1, timeout=0.2)
            if ready:
                more, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
                ready = list({r: None for r in ready + more})
            for ref in ready:
                i = refs.pop(ref)
                try:
                    rc, out, err, node, secs = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                except ray.exceptions.RayError as e:
                    failures[i] = _lost_part_error(ray, i, n, e)
                    continue
                trace.append({"part": i, "node": node, "rc": rc, "task_s": round(secs, 4), "bytes": len(out)})
                if rc == 0:
                    path = os.path.join(workdir, f"part-{i:07d}.partial")
                    with open(path, "wb") as f:
                        f.write(out)
                    levels[0].append(path)
                    done_ok.add(i)
                    nbytes += len(out)
                elif rc < 0 and kill_retries.get(i, 0) < max_retries:
                    # The map was killed (OOM killer, a signal): run it again, as Ray
                    # would for a lost worker.
                    kill_retries[i] = kill_retries.get(i, 0) + 1
                    refs[submit(i)] = i
                elif rc < 0:
                    failures[i] = RayprocError(
                        f"rayproc: error: part {i}/{n}: rayproc map was killed by "
                        f"{_signal_name(-rc)} on {node}, {kill_retries.get(i, 0) + 1} times; "
                        "its stderr follows\n".encode() + err,
                        1,
                    )
                else:
                    failures[i] = RayprocError(err or f"rayproc: error: part {i}/{n}: rayproc map exited {rc}", rc)
            if failures:
                first = min(failures)
                # Parts after the earliest failure cannot change the outcome.
                for ref, j in list(refs.items()):
                    if j > first:
                        ray.cancel(ref, force=False)
                        del refs[ref]
                if all(j in done_ok for j in range(first)):
                    for ref in refs:
                        ray.cancel(ref, force=False)
                    bar.close()
                    raise failures[first]
            # Bound the file count: merge a full level into one file of the next level.
            lvl = 0
            while lvl < len(levels):
                if len(levels[lvl]) >= fanin:
                    if lvl + 1 == len(levels):
                        levels.append([])
                    merges += 1
                    dst = os.path.join(workdir, f"merged-{lvl + 1}-{merges:07d}.partial")
                    _reduce_to_partial(binary, levels[lvl], dst)
                    for p in levels[lvl]:
                        os.unlink(p)
                    levels[lvl] = []
                    levels[lvl + 1].append(dst)
                lvl += 1
            # At most a line every 2 s off a terminal (a redraw every 0.1 s on one).
            bar.update(len(done_ok), nbytes)
        bar.update(len(done_ok), nbytes, force=True)  # the last state: every part done
        bar.close()
        t_mapped = time.monotonic()

        files = [p for level in levels for p in level]
        cmd = [binary, "reduce", *files]
        if capture:
            cmd += ["--format", "parquet", "--output", output]
        else:
            if fmt is not None:
                cmd += ["--format", fmt]
            if output is not None:
                cmd += ["--output", output]
        if quiet:
            cmd.append("--quiet")
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE if capture else None,
        )
        try:
            _, err = proc.communicate()
        except BaseException:
            # Ctrl-C reached the reduce too (same process group); a SIGTERM or SIGHUP (or a
            # `kill -INT`) sent to the driver alone did not: pass it on, and let the reduce
            # remove its temporary output itself.
            try:
                proc.send_signal(_SIGNALLED or signal.SIGINT)
            except OSError:
                pass
            proc.wait()
            raise
        if trace_path:
            summary = {
                "partitions": n,
                "connect_s": round(t_connected - t_start, 4),
                "map_s": round(t_mapped - t_connected, 4),
                "reduce_s": round(time.monotonic() - t_mapped, 4),
                "wall_s": round(time.monotonic() - t_start, 4),
                "partial_bytes": nbytes,
                "merges": merges,
            }
            with open(trace_path, "w") as f:
                for row in sorted(trace, key=lambda r: r["part"]):
                    f.write(json.dumps(row) + "\n")
                f.write(json.dumps({"summary": summary}) + "\n")
        if proc.returncode != 0:
            if capture:
                raise RayprocError(err or b"rayproc: error: rayproc reduce failed", proc.returncode)
            return proc.returncode
        if capture and err and notes is not None:
            notes.extend(_notes(err))
        return 0
    except BaseException:
        for ref in refs:
            try:
                ray.cancel(ref, force=False)
            except Exception:
                pass
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _notes(stderr: bytes) -> List[str]:
    """The messages of a successful run's stderr (`rayproc: note: ...`, each with the lines
    that continue it)."""
    out: List[str] = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("rayproc: ") or not out:
            out.append(line)
        else:
            out[-1] += "\n" + line
    return [m for m in out if m.strip()]


def _reduce_to_partial(binary: str, files: Sequence[str], dst: str):
    proc = subprocess.run(
        [binary, "reduce", *files, "--emit-partial", dst, "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if proc.returncode != 0:
        raise RayprocError(proc.stderr or b"rayproc: error: merging partials failed", proc.returncode)


def _read_result(path: str):
    """The final reduce's Parquet file as a polars.DataFrame. rayproc names no two columns
    alike (a --by key named like an aggregate's column is numbered with it: `count#1`,
    `count#2`), so polars reads every result."""
    import polars as pl

    return pl.read_parquet(path)


def run(
    inputs=None,
    agg=(),
    by=(),
    where: Optional[str] = None,
    partitions: Optional[int] = None,
    threads: int = 1,
    delimiter: Optional[str] = None,
    no_header: bool = False,
    address: Optional[str] = None,
    store=None,
    rayproc: Optional[str] = None,
    progress: str = "auto",
    max_retries: int = MAX_RETRIES,
    ray_options: Optional[dict] = None,
    allow_stale: bool = False,
    no_verify: bool = False,
    null=(),
):
    """Aggregates `inputs` (paths every node sees) on a Ray cluster; returns a polars.DataFrame.

    The arguments are those of `rayproc run` (`agg`, `by`: a string or a list of strings;
    `inputs`: a path or a list of paths, str, bytes or os.PathLike; a relative path is read
    from the current directory, which every node must then have). `partitions` is the number
    of Ray tasks (default: the cluster's CPUs), `threads` the CPUs each asks for (a node
    must have that many). `address` is what `ray.init` takes (`auto`, `HOST:PORT`,
    `ray://HOST:PORT`; None: $RAY_ADDRESS or a local Ray); an existing connection of this
    process is reused (it may be shared by threads). `rayproc`: the binary (default
    $RAYPROC_BIN, then PATH). `ray_options`: extra `.options()` for the map tasks, e.g.
    `{"resources": {"big_disk": 1}}`. `allow_stale`, `no_verify`: `--allow-stale`,
    `--no-verify` for `store`. `null`: a string or a list of strings, CSV field texts read
    as null (`--null`, repeated: `null=["NA", "NULL"]`).

    The result is the final reduce's Parquet output read by polars, so columns are typed
    exactly as `rayproc run --format parquet` writes them (docs/store.md, "Parquet output").
    A --by key named like an aggregate's column is numbered with it, as on the command
    line (`count#1`, `count#2`). The run's notes
    (`rayproc: note: ...`, e.g. an approximate answer that may be off by more than its
    accuracy) are issued as `RayprocWarning`s. Raises RayprocError (its `stderr` and
    `exit_code` are what the command line would show; a wrong argument: exit code 2).
    """
    plan = _Plan(
        inputs, store, agg, by, where, delimiter, no_header, threads, allow_stale, no_verify, null
    )
    partitions = _check_partitions(partitions)
    progress = _check_progress(progress)
    if address is not None and not isinstance(address, str):
        raise _usage(f"invalid value {address!r} for address=: a string is needed")
    if rayproc is not None:
        if not _is_path(rayproc):
            raise _usage(f"invalid value {rayproc!r} for rayproc=: a path is needed")
        rayproc = _path(rayproc)
    binary = find_binary(rayproc)
    notes: List[str] = []
    with tempfile.TemporaryDirectory(prefix="rayproc-ray-out-") as tmp:
        out = os.path.join(tmp, "result.parquet")
        _execute(
            plan,
            binary=binary,
            address=address,
            partitions=partitions,
            fmt="parquet",
            output=out,
            progress=progress,
            quiet=False,
            capture=True,
            max_retries=max_retries,
            ray_options=ray_options,
            notes=notes,
        )
        df = _read_result(out)
    for note in notes:
        warnings.warn(note, RayprocWarning, stacklevel=2)
    return df
