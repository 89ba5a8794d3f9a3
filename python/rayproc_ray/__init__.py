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
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Union

__version__ = "0.1.0"
__all__ = ["run", "RayprocError", "MAX_RETRIES"]

#: Ray retries of a part whose worker or node died (Ray's own default for tasks).
MAX_RETRIES = 3
#: Partials merged per `reduce --emit-partial` once that many wait on disk.
_MERGE_FANIN_DEFAULT = 64

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


class _Interrupted(Exception):
    def __init__(self, exit_code: int):
        super().__init__(exit_code)
        self.exit_code = exit_code


def _as_list(value) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


class _Plan:
    """The flags every map of the run gets (paths already absolute)."""

    def __init__(self, inputs, store, agg, by, where, delimiter, no_header, threads):
        inputs = _as_list(inputs)
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
        agg = _as_list(agg)
        if not agg:
            raise RayprocError("rayproc: error: give at least one --agg SPEC", 2)
        if threads < 1:
            raise RayprocError("rayproc: error: --threads must be at least 1", 2)
        self.inputs = [os.path.abspath(p) for p in inputs]
        self.store = os.path.abspath(os.fspath(store)) if store is not None else None
        self.agg = agg
        self.by = _as_list(by)
        self.where = where
        self.delimiter = delimiter
        self.no_header = no_header
        self.threads = threads

    def map_args(self, part: int, parts: int) -> List[str]:
        args = ["map"]
        for p in self.inputs:
            args += ["--input", p]
        if self.store is not None:
            args += ["--store", self.store]
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

    def rayproc_map(args, ship):
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

        proc = subprocess.run(
            [exe] + list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        node = ray.util.get_node_ip_address()
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
        self.drawn = False

    def update(self, done: int, nbytes: int, force: bool = False):
        if self.kind is None:
            return
        now = time.monotonic()
        period = 0.1 if self.kind == "bar" else 2.0
        if not force and now - self.last < period:
            return
        self.last = now
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


# The stage folder of the runtime_env this process's ray.init was given (None: not ours).
_INIT_STAGE: Optional[str] = None


def _connect(ray, address: Optional[str], stage: str):
    """Connects (or reuses this process's connection); returns the `ship` argument of the
    tasks: None when the binary is in the job's working_dir, else (digest, [ObjectRef])."""
    global _INIT_STAGE
    if not ray.is_initialized():
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
        _INIT_STAGE = stage
        return None
    if _INIT_STAGE == stage:
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
) -> int:
    """Runs the whole thing; returns the final reduce's exit code (0) or raises RayprocError.
    With `capture`, the reduce's stderr is collected (the API) instead of inherited."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    trace_path = os.environ.get("RAYPROC_RAY_TRACE")
    fanin = max(2, int(os.environ.get("RAYPROC_RAY_MERGE_FANIN", _MERGE_FANIN_DEFAULT)))
    if partitions is not None and partitions < 1:
        raise RayprocError("rayproc: error: --partitions must be at least 1", 2)
    t_start = time.monotonic()
    stage = _stage_binary(binary)
    import ray  # late: `rayproc run --cluster --help`-like paths never pay for it

    ship = _connect(ray, address, stage)
    t_connected = time.monotonic()
    if partitions is None:
        partitions = max(1, int(ray.cluster_resources().get("CPU", 1)))
    n = partitions

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

    # Developer hook (the cluster test): part I asks for one unit of the custom resource
    # names[I % len], so that parts land on given nodes whatever the scheduler prefers.
    round_robin = [r for r in os.environ.get("RAYPROC_RAY_ROUND_ROBIN", "").split(",") if r]

    def submit(i):
        part_opts = dict(opts)
        if round_robin:
            part_opts["resources"] = {**opts.get("resources", {}), round_robin[i % len(round_robin)]: 1}
        return task.options(name=f"rayproc map {i}/{n}", **part_opts).remote(plan.map_args(i, n), ship)

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
            bar.update(len(done_ok), nbytes, force=bool(ready))
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
            # Ctrl-C reached the reduce too (same process group): let it clean up.
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


def _reduce_to_partial(binary: str, files: Sequence[str], dst: str):
    proc = subprocess.run(
        [binary, "reduce", *files, "--emit-partial", dst, "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if proc.returncode != 0:
        raise RayprocError(proc.stderr or b"rayproc: error: merging partials failed", proc.returncode)


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
):
    """Aggregates `inputs` (paths every node sees) on a Ray cluster; returns a polars.DataFrame.

    The arguments are those of `rayproc run` (`agg`, `by`: a string or a list of strings).
    `partitions` is the number of Ray tasks (default: the cluster's CPUs), `threads` the CPUs
    each asks for. `address` is what `ray.init` takes (`auto`, `HOST:PORT`, `ray://HOST:PORT`;
    None: $RAY_ADDRESS or a local Ray); an existing connection of this process is reused.
    `rayproc`: the binary (default $RAYPROC_BIN, then PATH). `ray_options`: extra
    `.options()` for the map tasks, e.g. `{"resources": {"big_disk": 1}}`.

    The result is the final reduce's Parquet output read by polars, so columns are typed
    (Int64, Float64, String) exactly as `rayproc run --format parquet` writes them. Raises
    RayprocError (its `stderr` and `exit_code` are what the command line would show).
    """
    import polars as pl

    plan = _Plan(inputs, store, agg, by, where, delimiter, no_header, threads)
    binary = find_binary(rayproc)
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
        )
        return pl.read_parquet(out)
