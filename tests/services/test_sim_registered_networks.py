"""Networks sent once: RegisterNetwork, SimulateRequest.network_id, the server's bounded cache and
the client's transparent registration, against `ancoef serve sim` as a separate process."""

from __future__ import annotations

import hashlib

import grpc
import numpy as np
import pytest

import trueasync as ta
from services import wire
from services.client import SimulatorClient
from services.proto.ancoef.v1 import simulator_pb2 as pb
from services.proto.ancoef.v1 import simulator_pb2_grpc
from tests.services.test_sim_service import assert_same, case  # noqa: F401 - case: the reference and conv workloads
from trueasync.workload import generate_mlp

RN = "/ancoef.v1.SimulatorService/RegisterNetwork"


@pytest.fixture(scope="module")
def small_cache(start_server):
    """A server that keeps one registered network of at most 1 MiB."""
    return start_server("sim", "--metrics-port", "0", "--max-cached-networks", "1", "--network-cache-mib", "1")


def _stub(server):
    return simulator_pb2_grpc.SimulatorServiceStub(grpc.insecure_channel(server.endpoint))


def _registrations(server) -> float:
    return server.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.SimulatorService",
                         grpc_method="RegisterNetwork", grpc_code="OK")


def _mlp(seed: int):
    wl = generate_mlp((24, 16, 8), timesteps=6, rate=0.4, samples=2, mesh=(1, 1), seed=seed)
    return wl.network, ta.Architecture(mesh_width=1, mesh_height=1), wl.inputs, dict(preset="async28", threads=1)


@pytest.mark.parametrize("mode", ["unary", "stream"])
def test_a_registered_network_simulates_bit_for_bit_like_in_process(case, mode, sim_server):
    network, arch, inputs, kw = case
    local = ta.simulate(network, arch, inputs, **kw)
    stub = _stub(sim_server)
    registered = stub.RegisterNetwork(pb.RegisterNetworkRequest(network=wire.network_to_proto(network)), timeout=60)
    canonical = wire.network_to_proto(network).SerializeToString(deterministic=True)
    assert registered.network_id == "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert registered.network_bytes == len(canonical)
    request = wire.simulate_request_to_proto(None, arch, inputs, **kw)
    request.network_id = registered.network_id
    assert request.ByteSize() < 20_000  # the network stays on the server
    if mode == "unary":
        remote = wire.simulate_response_from_proto(stub.Simulate(request, timeout=60))
    else:
        messages = list(stub.SimulateStream(pb.SimulateStreamRequest(simulation=request), timeout=60))
        assert [m.WhichOneof("item") for m in messages] == ["sample"] * len(inputs) + ["totals"]
        remote = wire.stream_to_result(messages)
    assert_same(remote, local)
    assert remote.counts["synaptic_ops"].sum() > 0


def test_the_client_registers_once_and_names_the_network_after(sim_server):
    network, arch, inputs, kw = _mlp(seed=11)
    client = SimulatorClient(sim_server.endpoint)
    before = _registrations(sim_server)
    local = ta.simulate(network, arch, inputs, **kw)
    for _ in range(3):
        assert_same(client.simulate(network, arch, inputs, **kw), local)
    assert_same(wire.stream_to_result(client.simulate_stream(network, arch, inputs, **kw)), local)
    assert _registrations(sim_server) == before + 1
    # registering the same network again is idempotent: the same content address
    assert client.register_network(network) == client.register_network(network) == \
        _stub(sim_server).RegisterNetwork(pb.RegisterNetworkRequest(network=wire.network_to_proto(network))).network_id
    # and the inline path still gives the same result
    assert_same(SimulatorClient(sim_server.endpoint, register_networks=False).simulate(network, arch, inputs, **kw),
                local)


@pytest.mark.parametrize("stream", [False, True])
def test_an_unknown_network_id_answers_not_found_naming_the_field(stream, sim_server):
    network, arch, inputs, kw = _mlp(seed=12)
    request = wire.simulate_request_to_proto(None, arch, inputs, **kw)
    request.network_id = "sha256:" + "0" * 64
    stub = _stub(sim_server)
    with pytest.raises(grpc.RpcError) as info:
        if stream:
            list(stub.SimulateStream(pb.SimulateStreamRequest(simulation=request), timeout=30))
        else:
            stub.Simulate(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "request.network_id" in info.value.details() and "RegisterNetwork" in info.value.details()


def test_the_cache_limit_is_in_get_limits_and_evicts_least_recently_used(small_cache):
    limits = _stub(small_cache).GetLimits(pb.GetLimitsRequest())
    assert (limits.max_cached_networks, limits.max_cached_network_bytes) == (1, 1 << 20)
    (a, arch, inputs, kw), (b, _, _, _) = _mlp(seed=13), _mlp(seed=14)
    stub = _stub(small_cache)
    id_a = stub.RegisterNetwork(pb.RegisterNetworkRequest(network=wire.network_to_proto(a))).network_id
    stub.RegisterNetwork(pb.RegisterNetworkRequest(network=wire.network_to_proto(b)))  # one fits: a goes
    request = wire.simulate_request_to_proto(None, arch, inputs, **kw)
    request.network_id = id_a
    with pytest.raises(grpc.RpcError) as info:
        stub.Simulate(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND and "request.network_id" in info.value.details()


def test_the_client_registers_an_evicted_network_again_and_retries(small_cache):
    (a, arch, inputs, kw), (b, _, inputs_b, _) = _mlp(seed=15), _mlp(seed=16)
    client = SimulatorClient(small_cache.endpoint)
    before = _registrations(small_cache)
    local_a, local_b = ta.simulate(a, arch, inputs, **kw), ta.simulate(b, arch, inputs_b, **kw)
    assert_same(client.simulate(a, arch, inputs, **kw), local_a)  # registers a
    assert_same(client.simulate(b, arch, inputs_b, **kw), local_b)  # registers b: a is evicted
    assert_same(client.simulate(a, arch, inputs, **kw), local_a)  # NOT_FOUND, registers a again, retries
    assert_same(wire.stream_to_result(client.simulate_stream(b, arch, inputs_b, **kw)), local_b)  # the same, streamed
    assert _registrations(small_cache) == before + 4
    assert local_a.output_spike_counts.sum() != local_b.output_spike_counts.sum()


def test_a_bad_registered_network_gets_invalid_argument_naming_the_field(small_cache):
    network, _, _, _ = _mlp(seed=17)
    stub = _stub(small_cache)
    bad = wire.network_to_proto(network)
    bad.projections[1].pre = "nowhere"
    with pytest.raises(grpc.RpcError) as info:
        stub.RegisterNetwork(pb.RegisterNetworkRequest(network=bad))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "network.projections[1].pre" in info.value.details()
    bad = wire.network_to_proto(network)
    del bad.projections[0].dense.weights[-1]
    with pytest.raises(grpc.RpcError) as info:
        stub.RegisterNetwork(pb.RegisterNetworkRequest(network=bad))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "network.projections[0].dense.weights" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        stub.RegisterNetwork(pb.RegisterNetworkRequest())
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "request.network" in info.value.details()


def test_a_network_over_the_cache_limit_is_refused_and_the_client_sends_it_inline(small_cache):
    rng = np.random.default_rng(0)
    network = ta.Network([ta.InputLayer("in", 1100), ta.LifLayer("out", 1000, threshold=64)],
                         [ta.DenseProjection("in", "out", rng.integers(-60, 60, size=(1100, 1000)))])
    with pytest.raises(grpc.RpcError) as info:
        _stub(small_cache).RegisterNetwork(pb.RegisterNetworkRequest(network=wire.network_to_proto(network)))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "GetLimits.max_cached_network_bytes" in info.value.details()
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=1024, synapse_memory_kib=4096)
    inputs = rng.random((1, 4, 1100)) < 0.05
    assert_same(SimulatorClient(small_cache.endpoint).simulate(network, arch, inputs, preset="async28", threads=1),
                ta.simulate(network, arch, inputs, preset="async28", threads=1))
