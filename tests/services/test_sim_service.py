"""SimulatorService as a separate process, called through the generated stubs and the client:
remote results equal in-process ones bit for bit; bad input, limits, a full queue, deadlines and
SIGTERM get the documented status codes."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import trueasync as ta
from services import wire
from services.client import SimulatorClient
from services.proto.ancoef.v1 import simulator_pb2 as pb
from services.proto.ancoef.v1 import simulator_pb2_grpc
from trueasync.workload import generate_conv, generate_mlp

ROOT = Path(__file__).resolve().parents[2]


def assert_same(remote: ta.SimResult, local: ta.SimResult) -> None:
    """Every figure equal bit for bit, with the same dtypes and key order (wall time aside)."""
    for name in local.__dataclass_fields__:
        a, b = getattr(remote, name), getattr(local, name)
        if name == "wall_s":
            continue
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
        elif isinstance(b, dict):
            assert list(a) == list(b), name
            for k in b:
                assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), f"{name}[{k}]"
        elif isinstance(b, list) and b and isinstance(b[0], np.ndarray):
            assert len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b)), name
        else:
            assert a == b, name


def conv_case():
    wl = generate_conv(samples=3, seed=1)
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=256, mapping="locality", voltage_v=0.6)
    return wl.network, arch, wl.inputs, dict(semantics="timestep", preset="async28", threads=1)


def reference_case(wl):
    return wl.network, wl.arch, wl.inputs, dict(semantics="sanafe", preset=wl.costs, core_of=wl.core_of, threads=1)


@pytest.fixture(params=["reference", "conv"])
def case(request):
    if request.param == "reference":
        return reference_case(request.getfixturevalue("reference_workload"))
    return conv_case()


@pytest.mark.parametrize("mode", ["unary", "stream"])
def test_remote_results_equal_in_process_bit_for_bit(case, mode, stub):
    network, arch, inputs, kw = case
    local = ta.simulate(network, arch, inputs, **kw)
    request = wire.simulate_request_to_proto(network, arch, inputs, **kw)
    if mode == "unary":
        response = stub.Simulate(request, timeout=60)
        remote = wire.simulate_response_from_proto(response)
    else:
        messages = list(stub.SimulateStream(pb.SimulateStreamRequest(simulation=request), timeout=60))
        assert [m.WhichOneof("item") for m in messages] == ["sample"] * len(inputs) + ["totals"]
        assert sorted(m.sample.index for m in messages[:-1]) == list(range(len(inputs)))
        remote = wire.stream_to_result(messages)
    assert_same(remote, local)
    assert remote.counts["synaptic_ops"].sum() > 0


def test_the_client_is_trueasync_simulate_with_trace_and_timeline(sim_server):
    network, arch, inputs, kw = conv_case()
    client = pickle.loads(pickle.dumps(SimulatorClient(sim_server.endpoint)))  # as a Ray task gets it
    local = ta.simulate(network, arch, inputs, **kw, trace=True, timeline=True)
    assert_same(client.simulate(network, arch, inputs, **kw, trace=True, timeline=True), local)
    assert_same(client.simulate(network, arch, inputs, **kw), ta.simulate(network, arch, inputs, **kw))
    assert np.array_equal(client.map_network(network, arch), ta.map_network(network, arch))
    assert client.area_and_static_power(arch, "async28") == ta.area_and_static_power(arch, "async28")
    assert [p.name for p in client.presets()] == ta.preset_names()
    assert client.presets()[0] == ta.load_preset(ta.preset_names()[0])
    # the client and the server cache networks by content: a weight changed in place is seen
    before = client.simulate(network, arch, inputs, **kw)
    network.projections[-1].weights[0] += 3
    after = client.simulate(network, arch, inputs, **kw)
    assert_same(after, ta.simulate(network, arch, inputs, **kw))
    assert after.output_spike_counts.sum() != before.output_spike_counts.sum()


def test_an_evaluator_on_the_remote_backend_scores_like_in_process(sim_server):
    from agent.evaluator import Evaluator
    from agent.space import HardwareSpace

    wl = generate_mlp((40, 30, 10), timesteps=8, rate=0.3, samples=2, mesh=(2, 2), seed=4)
    space = HardwareSpace()
    actions = [space.sample(np.random.default_rng(s)) for s in range(4)]
    remote = Evaluator(wl, space, preset="async28", threads=1, use_ray=False,
                       **SimulatorClient(sim_server.endpoint).evaluator_keywords())
    local = Evaluator(wl, space, preset="async28", threads=1, use_ray=False)
    for a in actions:
        r, l = remote.evaluate(a), local.evaluate(a)
        assert (r.fits, r.reasons, r.energy_j, r.latency_s, r.area_mm2) == (l.fits, l.reasons, l.energy_j, l.latency_s,
                                                                           l.area_mm2)
        assert remote.area_mm2(space.decode(a)) == local.area_mm2(space.decode(a))


def _valid() -> pb.SimulateRequest:
    wl = generate_mlp((8, 4), timesteps=3, rate=0.5, samples=1, mesh=(1, 1), seed=0)
    return wire.simulate_request_to_proto(wl.network, ta.Architecture(mesh_width=1, mesh_height=1), wl.inputs,
                                          preset="loihi")


BAD_INPUT = [
    (lambda r: r.ClearField("network"), "request.network is missing"),
    (lambda r: r.ClearField("architecture"), "request.architecture is missing"),
    (lambda r: r.ClearField("input"), "request.input is missing"),
    (lambda r: r.ClearField("preset"), "request.costs is not set"),
    (lambda r: setattr(r, "semantics", pb.SEMANTICS_UNSPECIFIED), "request.semantics must be one of SEMANTICS_TIMESTEP"),
    (lambda r: setattr(r, "semantics", 7), "request.semantics must be one of"),
    (lambda r: setattr(r.architecture, "mapping", pb.MAPPING_POLICY_UNSPECIFIED), "architecture.mapping must be one of"),
    (lambda r: setattr(r.architecture, "mesh_width", 0), "mesh_width must be at least 1"),
    (lambda r: setattr(r.architecture, "neurons_per_core", 2), "does not fit"),
    (lambda r: setattr(r.architecture, "voltage_v", float("nan")), "voltage_v must be a positive finite number"),
    (lambda r: r.network.layers[1].ClearField("lif"), "network.layers[1].kind is not set"),
    (lambda r: setattr(r.network.layers[1].lif, "reset_mode", 0), "network.layers[1].lif.reset_mode must be one of"),
    (lambda r: setattr(r.network.projections[0], "post", "nowhere"), "no layer is named 'nowhere'"),
    (lambda r: r.network.projections[0].dense.weights.append(1), "network.projections[0].dense.weights has 33 values"),
    (lambda r: r.network.projections[0].ClearField("dense"), "network.projections[0].connectivity is not set"),
    (lambda r: setattr(r.network, "weight_scale", -1.0), "weight_scale must be a positive finite number"),
    (lambda r: setattr(r.input, "packed_spikes", b"\x00"), "input.packed_spikes has 1 bytes"),
    (lambda r: setattr(r.input, "neurons", 9), "input.packed_spikes has"),
    (lambda r: setattr(r, "preset", "nosuch"), "unknown cost preset 'nosuch'"),
    (lambda r: setattr(r, "preset", "/etc/passwd"), "request.preset must be a preset name"),
    (lambda r: r.cost_model.CopyFrom(pb.CostModel(name="x", energy_j={"synapse": float("inf")})), "must be finite"),
    (lambda r: r.core_of.extend([99] * 12), "core"),
    (lambda r: setattr(r, "schedule", 9), "request.schedule must be one of"),
]


@pytest.mark.parametrize("break_it, message", BAD_INPUT, ids=[m for _, m in BAD_INPUT])
def test_bad_input_gets_invalid_argument_naming_the_field(break_it, message, stub):
    request = _valid()
    break_it(request)
    with pytest.raises(grpc.RpcError) as info:
        stub.Simulate(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert message in info.value.details()
    with pytest.raises(grpc.RpcError) as info:  # the stream checks the request before any sample
        list(stub.SimulateStream(pb.SimulateStreamRequest(simulation=request), timeout=30))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and message in info.value.details()


def test_bad_bytes_and_other_rpcs_get_invalid_argument(sim_server, stub):
    channel = grpc.insecure_channel(sim_server.endpoint)
    raw = channel.unary_unary("/ancoef.v1.SimulatorService/Simulate")
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\x0a\xff\xff\xff\x0f", timeout=10)  # a field longer than the message
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()
    for call, request, message in [
        (stub.MapNetwork, pb.MapNetworkRequest(), "request.network is missing"),
        (stub.ComputeArea, pb.ComputeAreaRequest(architecture=_valid().architecture), "request.costs is not set"),
        (stub.ComputeArea, pb.ComputeAreaRequest(), "request.architecture is missing"),
    ]:
        with pytest.raises(grpc.RpcError) as info:
            call(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and message in info.value.details()


def test_requests_over_a_documented_limit_get_resource_exhausted(stub):
    limits = stub.GetLimits(pb.GetLimitsRequest(), timeout=10)
    assert limits.max_message_bytes == 64 << 20 and limits.max_samples == 4096
    assert (limits.max_concurrent_requests, limits.max_queued_requests) == (2, 2)
    request = _valid()
    n = limits.max_samples + 1
    request.input.samples = n
    request.input.packed_spikes = request.input.packed_spikes * n
    with pytest.raises(grpc.RpcError) as info:
        stub.Simulate(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "input.samples = 4097 exceeds this server's limit of 4096 (GetLimits.max_samples)" in info.value.details()
    big = _valid()
    big.network.name = "x" * (limits.max_message_bytes + 1)
    with pytest.raises(grpc.RpcError) as info:
        stub.Simulate(big, timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _slow_request(seconds: float, threads: int = 1) -> pb.SimulateRequest:
    """A request of about `seconds` of engine time on this machine (measured on one sample): much
    work per input spike, so that the request stays small."""
    wl = generate_mlp((64, 1024, 512, 10), timesteps=200, rate=0.3, samples=1, mesh=(2, 2), seed=3)
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=1024)
    one = min(ta.simulate(wl.network, arch, wl.inputs, threads=1).wall_s for _ in range(2))
    n = max(1, min(4000, int(seconds / max(one, 1e-4))))
    inputs = np.repeat(wl.inputs, n, axis=0)
    return wire.simulate_request_to_proto(wl.network, arch, inputs, preset="loihi", threads=threads)


def test_a_full_queue_gets_resource_exhausted(sim_server, stub):
    slow = _slow_request(3.0)
    futures = [stub.Simulate.future(slow, timeout=120) for _ in range(4)]  # 2 running + 2 queued
    deadline = time.monotonic() + 20
    while sim_server.metric("ancoef_queued_requests", service="simulator") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim_server.metric("ancoef_inflight_requests", service="simulator") == 2
    with pytest.raises(grpc.RpcError) as info:
        stub.Simulate(_valid(), timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-concurrent 2, --max-queued 2" in info.value.details()
    assert stub.GetLimits(pb.GetLimitsRequest(), timeout=5).max_samples == 4096  # health of light calls
    for f in futures:
        f.cancel()
    for f in futures:
        with pytest.raises(grpc.FutureCancelledError):
            f.result()


def test_a_deadline_stops_the_engine_and_the_next_call_is_served_at_once(start_server):
    server = start_server("sim", "--max-concurrent", "1", "--max-queued", "1", "--metrics-port", "0")
    channel = grpc.insecure_channel(server.endpoint)
    stub = simulator_pb2_grpc.SimulatorServiceStub(channel)
    slow = _slow_request(30.0)
    stub.GetLimits(pb.GetLimitsRequest(), timeout=10)  # connected and warm: the deadline is the engine's alone
    t0 = time.perf_counter()
    with pytest.raises(grpc.RpcError) as info:
        # a deadline that passes before grpc has received the whole request never reaches a handler (grpc
        # ends the call itself); 1 s leaves room for that on a loaded machine, against 30 s of engine work
        stub.Simulate(slow, timeout=1.0)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    t1 = time.perf_counter()
    response = stub.Simulate(_valid(), timeout=10)  # one slot: served only if the engine let go of it
    served_s = time.perf_counter() - t1
    assert len(response.samples) == 1
    assert served_s < 2.0, f"the next call waited {served_s:.2f} s: the engine did not stop"
    assert t1 - t0 < 2.0
    deadline = time.monotonic() + 5
    while server.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.SimulatorService",
                        grpc_method="Simulate", grpc_code="DeadlineExceeded") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.SimulatorService",
                         grpc_method="Simulate", grpc_code="DeadlineExceeded") == 1
    # a client's cancellation (the client's own CancelToken) stops it the same way
    kwargs = wire.simulate_request_from_proto(slow)
    token = ta.CancelToken()
    threading.Timer(0.3, token.cancel).start()
    t2 = time.perf_counter()
    with pytest.raises(ta.SimulationCancelled):
        SimulatorClient(server.endpoint).simulate(**kwargs, cancel=token)
    assert time.perf_counter() - t2 < 1.5
    assert len(stub.Simulate(_valid(), timeout=2).samples) == 1
    channel.close()


def test_sigterm_finishes_the_call_in_flight_refuses_new_ones_and_exits_0(start_server):
    server = start_server("sim", "--max-concurrent", "1", "--metrics-port", "0", "--grace-s", "60")
    channel = grpc.insecure_channel(server.endpoint)
    stub = simulator_pb2_grpc.SimulatorServiceStub(channel)
    slow = _slow_request(2.0)
    kwargs = wire.simulate_request_from_proto(slow)
    first = ta.simulate(**{**kwargs, "inputs": kwargs["inputs"][:1]})  # samples are independent
    result = {}
    call = threading.Thread(target=lambda: result.update(r=stub.Simulate(slow, timeout=120)))
    call.start()
    deadline = time.monotonic() + 20
    while server.metric("ancoef_inflight_requests", service="simulator") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.process.send_signal(subprocess.signal.SIGTERM)
    server.wait_for_line("stopping")
    with pytest.raises(grpc.RpcError) as info:
        simulator_pb2_grpc.SimulatorServiceStub(grpc.insecure_channel(server.endpoint)).GetLimits(
            pb.GetLimitsRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    call.join(120)
    assert server.process.wait(60) == 0
    remote = wire.simulate_response_from_proto(result["r"])
    assert remote.n_samples == slow.input.samples
    assert remote.energy_j[0] == first.energy_j[0] and remote.latency_s[0] == first.latency_s[0]
    assert remote.counts["synaptic_ops"][0] == first.counts["synaptic_ops"][0] > 0
    channel.close()


def test_ancoef_simulate_with_sim_endpoint_prints_the_in_process_figures(sim_server, tmp_path, capsys):
    import json

    from services import cli

    def run(*extra):
        out = tmp_path / f"r{len(extra)}.json"
        assert cli.main(["simulate", "--workload", "builtin:conv", "--samples", "2", "--threads", "1", "--json",
                         str(out), *extra]) == 0
        report = json.loads(out.read_text())["trueasync"]
        report.pop("wall_s")
        return report, capsys.readouterr().out.split("wall time")[0]

    assert run("--sim-endpoint", sim_server.endpoint) == run()


def test_ray_tasks_simulate_on_the_service_like_in_process(sim_server):
    """The evaluator's Ray batches pickle the client's simulate into tasks; each opens its channel."""
    ray = pytest.importorskip("ray")
    from agent.evaluator import Evaluator
    from agent.space import HardwareSpace

    from agent.rl import ensure_ray

    ensure_ray(num_cpus=2)  # shared with the other tests of the session, as tests/agent do
    wl = generate_mlp((40, 30, 10), timesteps=8, rate=0.3, samples=2, mesh=(2, 2), seed=5)
    space = HardwareSpace()
    actions = [space.sample(np.random.default_rng(10 + s)) for s in range(4)]
    remote = Evaluator(wl, space, preset="async28", threads=1, use_ray=True,
                       **SimulatorClient(sim_server.endpoint).evaluator_keywords())
    local = Evaluator(wl, space, preset="async28", threads=1, use_ray=False)
    got, want = remote.evaluate_batch(actions), local.evaluate_batch(actions)
    assert remote.n_simulated == local.n_simulated >= 2
    assert [(r.fits, r.energy_j, r.latency_s, r.area_mm2) for r in got] == \
        [(r.fits, r.energy_j, r.latency_s, r.area_mm2) for r in want]


@pytest.mark.parametrize("algo", ["random", "nsga2"])
def test_ancoef_search_with_sim_endpoint_archives_the_in_process_designs(algo, sim_server, tmp_path):
    import json

    from services import cli
    from trueasync.workload import save_workload

    prefix = tmp_path / "workload"
    save_workload(generate_mlp((40, 30, 10), timesteps=8, rate=0.3, samples=2, mesh=(2, 2), seed=6), prefix)

    def run(*extra):
        out = tmp_path / f"{algo}{len(extra)}"
        assert cli.main(["search", "--workload", str(prefix), "--algo", algo, "--budget", "8", "--seed", "2",
                         "--threads", "1", "--out", str(out), "--no-progress", "--mesh-width", "1:4",
                         "--mesh-height", "1:4", *extra]) == 0
        designs = json.loads((out / "archive.json").read_text())["designs"]
        return [{k: v for k, v in d.items() if k not in ("sim_wall_s", "t_s")} for d in designs]

    remote = run("--sim-endpoint", sim_server.endpoint)
    assert remote == run() and sum(d["fits"] for d in remote) == 8
