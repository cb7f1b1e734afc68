"""A real Prometheus server (Debian's package) scrapes both services on loopback; a known number of
calls is read back through its HTTP query API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import trueasync as ta
from services import wire
from services.client import SimulatorClient, TrainerClient
from trueasync.workload import generate_mlp

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus package is not installed "
                                "(scripts/setup installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus(start_server, tmp_path_factory):
    sim = start_server("sim", "--metrics-port", "0")
    trainer = start_server("trainer", "--metrics-port", "0")
    d = tmp_path_factory.mktemp("prometheus")
    (d / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        f"  - job_name: ancoef-simulator\n    static_configs:\n      - targets: ['127.0.0.1:{sim.metrics_port}']\n"
        f"  - job_name: ancoef-trainer\n    static_configs:\n      - targets: ['127.0.0.1:{trainer.metrics_port}']\n")
    port = _free_port()
    process = subprocess.Popen([PROMETHEUS, f"--config.file={d / 'prometheus.yml'}",
                                f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.path={d / 'data'}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(url + "/-/ready", timeout=2).status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("prometheus did not become ready")
        time.sleep(0.2)
    yield url, sim, trainer
    process.terminate()
    process.wait(30)


def _query(url: str, expr: str) -> float | None:
    body = json.loads(urllib.request.urlopen(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}",
                                             timeout=5).read())
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_reads_back_the_calls_that_were_made(prometheus):
    url, sim, trainer = prometheus
    wl = generate_mlp((20, 10), timesteps=5, rate=0.4, samples=2, mesh=(1, 1), seed=0)
    arch = ta.Architecture(mesh_width=1, mesh_height=1)
    client = SimulatorClient(sim.endpoint)
    ops = 0
    for _ in range(5):
        ops += int(client.simulate(wl.network, arch, wl.inputs[:1], preset="async28").counts["synaptic_ops"].sum())
    for _ in range(3):
        with pytest.raises(ValueError):
            client.simulate(wl.network, ta.Architecture(mesh_width=1, mesh_height=1, neurons_per_core=4), wl.inputs)
    messages = list(client.simulate_stream(wl.network, arch, wl.inputs, preset="loihi"))
    assert len(messages) == 3
    ops += int(wire.stream_to_result(messages).counts["synaptic_ops"].sum())
    tc = TrainerClient(trainer.endpoint)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="NOT_FOUND"):
            tc.evaluate("train-nosuch")

    service = 'grpc_service="ancoef.v1.SimulatorService"'
    expected = {
        f'sum(grpc_server_started_total{{{service},grpc_method="Simulate"}})': 8,
        f'sum(grpc_server_handled_total{{{service},grpc_method="Simulate",grpc_code="OK"}})': 5,
        f'sum(grpc_server_handled_total{{{service},grpc_method="Simulate",grpc_code="InvalidArgument"}})': 3,
        f'sum(grpc_server_msg_sent_total{{{service},grpc_method="SimulateStream",grpc_type="server_stream"}})': 3,
        f'sum(grpc_server_handling_seconds_count{{{service},grpc_method="Simulate"}})': 8,
        'sum(ancoef_simulations_total{preset="async28",semantics="timestep",schedule="asynchronous"})': 5,
        'sum(ancoef_simulations_total{preset="loihi"})': 1,
        "sum(ancoef_simulated_samples_total)": 7,
        'sum(grpc_server_handled_total{grpc_service="ancoef.v1.TrainerService",grpc_method="Evaluate",'
        'grpc_code="NotFound"})': 2,
        'ancoef_build_info{service="trainer",version!=""}': 1,
        'ancoef_build_info{service="simulator",job="ancoef-simulator"}': 1,
        'ancoef_operations_running{kind="training"}': 0,
        'sum(up{job=~"ancoef-.*"})': 2,
        'count(process_cpu_seconds_total{job=~"ancoef-.*"})': 2,
    }
    deadline = time.monotonic() + 30
    while True:
        got = {expr: _query(url, expr) for expr in expected}
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got == expected
    assert _query(url, "ancoef_simulated_synaptic_ops_total") == ops > 0
    assert _query(url, "ancoef_simulated_chip_seconds_total") > 0
    assert _query(url, "ancoef_engine_synaptic_ops_per_second") > 0
