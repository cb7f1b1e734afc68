"""Servers for the service tests: `ancoef serve ...` as separate processes on 127.0.0.1, port 0.

`start_server("sim", "--max-concurrent", "1")` starts one, reads the port(s) from the one line it
prints at start-up and returns a `Server`; every server started is stopped (SIGTERM, then SIGKILL)
when its fixture scope ends.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

pytest.importorskip("grpc")
pytest.importorskip("grpc_health")
pytest.importorskip("prometheus_client")

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"
READY = re.compile(r"listening on 127\.0\.0\.1:(\d+).*?metrics (?:on http://127\.0\.0\.1:(\d+)/metrics|off)")


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    metrics_port: Optional[int]
    lines: list = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()

    def metric(self, name: str, **labels) -> float:
        """The value of one sample on /metrics (0.0 if absent)."""
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in self.metrics().splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            base, _, rest = key.partition("{")
            have = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
            if base == name and have == want:
                return float(value)
        return 0.0

    def wait_for_line(self, text: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            time.sleep(0.05)
        raise AssertionError(f"server never printed {text!r}; it printed {self.lines}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _start(service: str, *args: str) -> Server:
    cmd = [sys.executable, "-m", "services.cli", "serve", service, "--host", "127.0.0.1", "--port", "0", *args]
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    found = threading.Event()
    result = {}

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            m = READY.search(line)
            if m and not found.is_set():
                result["ports"] = m.groups()
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(60) or "ports" not in result:
        process.kill()
        raise AssertionError(f"`ancoef serve {service}` did not start: {lines}")
    port, metrics_port = result["ports"]
    return Server(process, int(port), int(metrics_port) if metrics_port else None, lines)


@pytest.fixture(scope="module")
def start_server():
    started: list[Server] = []

    def start(service: str, *args: str) -> Server:
        server = _start(service, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def sim_server(start_server) -> Server:
    """One simulator service for a test module: 2 slots, a queue of 2, metrics on."""
    return start_server("sim", "--metrics-port", "0", "--max-concurrent", "2", "--max-queued", "2")


@pytest.fixture(scope="module")
def stub(sim_server):
    import grpc

    from services.proto.ancoef.v1 import simulator_pb2_grpc

    channel = grpc.insecure_channel(sim_server.endpoint, options=[("grpc.max_receive_message_length", 64 << 20),
                                                                 ("grpc.max_send_message_length", 256 << 20)])
    yield simulator_pb2_grpc.SimulatorServiceStub(channel)
    channel.close()


@pytest.fixture(scope="session")
def reference_workload():
    if not REFERENCE.with_suffix(".json").exists():
        pytest.skip(f"the shared reference workload is absent ({REFERENCE}.json)")
    from trueasync.workload import load_workload

    return load_workload(REFERENCE)
