"""A real multi-node Ray cluster on one machine, started with `ray start` (tests, benchmarks).

    with LocalRayCluster() as cluster:
        cluster.start_head(num_cpus=1)
        worker = cluster.add_node(num_cpus=1)
        env = {**os.environ, **cluster.client_env()}   # what a driver needs (its auth token)
        ...  ancoef sweep SPEC --out DIR --address cluster.address, run with env
        cluster.kill_node(worker)                       # SIGKILL every process of that node

Each node is one `ray start` run in a process group and session of its own, with a marker in
its environment that every process of the node inherits (raylet, agents, workers). Stopping or
killing a node signals its process group and every process carrying its marker, and nothing
else: never `ray stop`, which would stop every Ray cluster of the user on the machine (other
sweeps, other test runs). Every port is a free one chosen here, so several clusters can run side
by side; the cluster's folder (temp dir, logs, token) is private to it and removed by `stop`.
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
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

MARKER = "ANCOEF_LOCAL_RAY_NODE"

# Node deaths are noticed in about a second instead of Ray's default of about 15 s (GCS health
# checks every 3 s, 5 failures): a test that kills a node does not wait for the default.
FAST_FAILURE_DETECTION = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "2",
}


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 now (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ray_executable() -> str:
    beside = Path(sys.executable).parent / "ray"
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


@dataclass
class LocalNode:
    name: str
    head: bool
    num_cpus: int
    marker: str
    pgid: int
    log: Path
    node_id: Optional[str] = None


@dataclass
class LocalRayCluster:
    root: Optional[Path] = None  # parent folder of the cluster's temp dir (default: the system's)
    object_store_bytes: int = 80 * 1024 * 1024
    fast_failure_detection: bool = True
    env: dict = field(default_factory=dict)  # extra environment for every node
    nodes: list = field(default_factory=list)
    address: str = ""
    keep_files: bool = False  # keep the temp dir (Ray's logs) after stop
    base: Optional[Path] = None
    temp_dir: Optional[Path] = None
    auth_token_path: Optional[Path] = None

    def __enter__(self) -> "LocalRayCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- starting ---------------------------------------------------------------------------------
    def _ray_start(self, name: str, args: list[str], head: bool, num_cpus: int, timeout_s: float) -> LocalNode:
        marker = f"{name}-{uuid.uuid4().hex[:12]}"
        env = {**os.environ, **self.env, **self.client_env(), MARKER: marker, "RAY_USAGE_STATS_ENABLED": "0"}
        if self.fast_failure_detection:
            env.update(FAST_FAILURE_DETECTION)
        log = self.base / f"{name}.log"
        # Manager and agent ports: free ones (Ray's defaults such as 52365 and 10001 are fixed numbers
        # that a second cluster on the machine would collide with); workers bind ports the kernel picks.
        nm, om, ma, ag, al, re = free_ports(6)
        cmd = [ray_executable(), "start", *args, "--node-ip-address", "127.0.0.1", "--num-cpus", str(num_cpus),
               "--num-gpus", "0", "--object-store-memory", str(self.object_store_bytes),
               "--node-manager-port", str(nm), "--object-manager-port", str(om), "--metrics-export-port", str(ma),
               "--dashboard-agent-grpc-port", str(ag), "--dashboard-agent-listen-port", str(al),
               "--runtime-env-agent-port", str(re), "--min-worker-port", "0", "--max-worker-port", "0",
               "--disable-usage-stats"]
        with open(log, "ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        node = LocalNode(name, head, num_cpus, marker, proc.pid, log)
        self.nodes.append(node)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill_node(node)
            raise RuntimeError(f"`ray start` for {name} did not return within {timeout_s:.0f} s; see {log}")
        if rc != 0:
            self.kill_node(node)
            raise RuntimeError(f"`ray start` for {name} failed ({rc}):\n{log.read_text()[-3000:]}")
        return node

    def _ensure_base(self) -> Path:
        if self.base is None:
            self.base = Path(tempfile.mkdtemp(prefix="ray-cluster-", dir=self.root))
            # Ray's socket paths must stay short (AF_UNIX: 107 bytes), hence a short name.
            self.temp_dir = self.base / "t"
            # Ray 2.60 authenticates every connection with a token. The cluster gets a token of its
            # own, named to every node and driver by environment (a head finding the user's
            # ~/.ray/auth_token would enable token mode while `ray start --address` nodes, which do
            # not look there, would be refused).
            self.auth_token_path = self.base / "auth_token"
            self.auth_token_path.write_text(uuid.uuid4().hex + uuid.uuid4().hex)
            self.auth_token_path.chmod(0o600)
        return self.base

    def start_head(self, num_cpus: int = 1, timeout_s: float = 60.0) -> LocalNode:
        self._ensure_base()
        (port, client) = free_ports(2)
        node = self._ray_start("head", ["--head", "--port", str(port), "--temp-dir", str(self.temp_dir),
                                        "--include-dashboard", "false", "--ray-client-server-port", str(client)],
                               True, num_cpus, timeout_s)
        self.address = f"127.0.0.1:{port}"
        return node

    def add_node(self, num_cpus: int = 1, timeout_s: float = 60.0) -> LocalNode:
        if not self.address:
            raise RuntimeError("start the head first")
        name = f"node{len(self.nodes)}"
        return self._ray_start(name, ["--address", self.address], False, num_cpus, timeout_s)

    def client_env(self) -> dict:
        """Environment a driver needs to connect to this cluster (`ray.init(address=...)`); set it
        before `import ray` in a driver process (Ray reads it once)."""
        self._ensure_base()
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.auth_token_path)}

    # -- stopping ---------------------------------------------------------------------------------
    def node_pids(self, node: LocalNode) -> list[int]:
        """Every live process carrying the node's marker (read from /proc)."""
        needle = f"{MARKER}={node.marker}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:  # gone, or not ours
                continue
        return found

    def kill_node(self, node: LocalNode, sig: int = signal.SIGKILL) -> None:
        """Signal the node's process group and every process with its marker."""
        try:
            os.killpg(node.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in self.node_pids(node):
            if pid != os.getpid():
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop(self, grace_s: float = 3.0) -> None:
        """Stop every node (SIGTERM, then SIGKILL after `grace_s`); the workers first, the head last."""
        for node in reversed(self.nodes):
            self.kill_node(node, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(self.node_pids(n) for n in self.nodes):
            time.sleep(0.1)
        for node in reversed(self.nodes):
            self.kill_node(node, signal.SIGKILL)
        self.nodes.clear()
        if self.base is not None and not self.keep_files:
            shutil.rmtree(self.base, ignore_errors=True)
