"""A 2-node Ray cluster on loopback, for the tests and the benchmark.

Head on 127.0.0.1, a second node on 127.0.0.2, one CPU each (by default), custom resources
`node_a` (head) and `node_b` (second node) so that a caller can force tasks onto one node.
Every process it starts is tracked by PID: `ray start --block` of each node, and everything
below it (/proc parent links), plus any process whose command line names this cluster's own
temporary folder (a worker reparented after its raylet died). `stop()` ends exactly those,
never `ray stop` (which would end every Ray process of the user on the machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)


def ray_env() -> dict:
    env = dict(os.environ)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # The first ray.init on a machine writes a token under ~/.ray/ that turns token auth on
    # for later starts: say which mode we want (../shared/RAY.md).
    env["RAY_AUTH_MODE"] = "disabled"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def tree(pids) -> set:
    """The given PIDs and all their descendants that are alive now."""
    kids = _children_map()
    out, todo = set(), list(pids)
    while todo:
        p = todo.pop()
        if p in out or not os.path.exists(f"/proc/{p}"):
            continue
        out.add(p)
        todo.extend(kids.get(p, []))
    return out


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] == "Z"
    except (OSError, ValueError, IndexError):
        return True


class LoopbackCluster:
    def __init__(self, cpus: int = 1, object_store: int = 100_000_000):
        self.cpus = cpus
        self.object_store = object_store
        # Short: Ray puts unix sockets under it (108-byte limit).
        self.tmp = tempfile.mkdtemp(prefix="rpt-", dir="/tmp")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes = {}  # name -> Popen of `ray start --block`
        self.logs = []

    def _start(self, name: str, args):
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")
        self.logs.append(log)
        proc = subprocess.Popen(
            [os.path.join(BIN, "ray"), "start", "--block", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=ray_env(),
            start_new_session=True,
        )
        self.nodes[name] = proc

    def start(self, timeout: float = 60.0):
        common = [
            f"--num-cpus={self.cpus}",
            f"--object-store-memory={self.object_store}",
        ]
        self._start(
            "head",
            [
                "--head",
                "--node-ip-address=127.0.0.1",
                f"--port={self.port}",
                "--include-dashboard=false",
                f"--dashboard-agent-listen-port={free_port()}",
                f"--temp-dir={self.tmp}/ray",
                '--resources={"node_a": 1000}',
                # Notice a dead node within about 2 s (the default takes about 30 s).
                '--system-config={"health_check_period_ms": 500, "health_check_failure_threshold": 4, "health_check_timeout_ms": 500}',
                *common,
            ],
        )
        self.wait_nodes(1, timeout)
        self._start(
            "worker",
            [
                f"--address={self.address}",
                "--node-ip-address=127.0.0.2",
                f"--dashboard-agent-listen-port={free_port()}",
                '--resources={"node_b": 1000}',
                *common,
            ],
        )
        self.wait_nodes(2, timeout)

    def wait_nodes(self, count: int, timeout: float):
        deadline = time.time() + timeout
        probe = (
            "import ray,logging;ray.init(address=%r,logging_level=logging.ERROR,log_to_driver=False);"
            "print(sum(1 for n in ray.nodes() if n['Alive']))" % self.address
        )
        last = ""
        while time.time() < deadline:
            for name, proc in self.nodes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"ray start ({name}) exited {proc.returncode}: {self.log_tail(name)}")
            try:  # ray.init would wait for a GCS that is not up yet
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.5)
                continue
            try:
                r = subprocess.run(
                    [sys.executable, "-c", probe], capture_output=True, text=True, env=ray_env(), timeout=30
                )
            except subprocess.TimeoutExpired:
                continue
            last = r.stdout.strip() + r.stderr[-500:]
            if r.returncode == 0 and r.stdout.strip().isdigit() and int(r.stdout.strip()) >= count:
                return
            time.sleep(1)
        raise RuntimeError(f"the cluster did not reach {count} alive nodes in {timeout} s: {last}")

    def log_tail(self, name: str) -> str:
        try:
            with open(os.path.join(self.tmp, f"{name}.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def pids(self, name=None) -> set:
        """Live processes of this cluster (of one node when `name` is given)."""
        roots = [p.pid for n, p in self.nodes.items() if name in (None, n)]
        out = tree(roots)
        if name is None:
            for entry in os.listdir("/proc"):
                if entry.isdigit() and self.tmp in _cmdline(int(entry)):
                    out |= tree([int(entry)])
        return {p for p in out if not _is_zombie(p)}

    def kill_node(self, name: str):
        """SIGKILL a whole node at once (raylet, workers, their rayproc maps)."""
        for p in self.pids(name):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.nodes[name].wait()

    def stop(self) -> set:
        """Ends every process this cluster started; returns those still alive (should be none)."""
        for proc in self.nodes.values():
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        while time.time() < deadline and any(p.poll() is None for p in self.nodes.values()):
            time.sleep(0.2)
        for _ in range(3):
            left = self.pids()
            if not left:
                break
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        for proc in self.nodes.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for log in self.logs:
            log.close()
        left = self.pids()
        if not left:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return left
