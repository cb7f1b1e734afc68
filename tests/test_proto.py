"""The wire contract: generated code is current, buf-style rules hold, and a request sent over
the wire simulates exactly like the same request made in-process."""

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import trueasync as ta
from services import wire
from services.proto.ancoef.v1 import agent_pb2, operation_pb2, trainer_pb2
from services.proto.ancoef.v1 import simulator_pb2 as pb
from trueasync.workload import generate_conv, generate_mlp, generate_sparse

ROOT = Path(__file__).resolve().parents[1]
GENERATED_DIR = ROOT / "services" / "proto" / "ancoef" / "v1"
FILES = (pb, trainer_pb2, agent_pb2, operation_pb2)


def test_generated_code_is_current(tmp_path):
    pytest.importorskip("grpc_tools")
    subprocess.run(["bash", "proto/generate.sh", str(tmp_path)], cwd=ROOT, check=True,
                   env={**os.environ, "PYTHON": sys.executable})
    fresh = sorted(p.name for p in (tmp_path / "ancoef" / "v1").glob("*_pb2*"))
    committed = sorted(p.name for p in GENERATED_DIR.glob("*_pb2*"))
    assert fresh == committed, "generated files differ from the committed ones: run proto/generate.sh"
    assert len(fresh) == 3 * len(list((ROOT / "proto" / "ancoef" / "v1").glob("*.proto")))
    for name in fresh:
        assert filecmp.cmp(tmp_path / "ancoef" / "v1" / name, GENERATED_DIR / name, shallow=False), \
            f"{GENERATED_DIR / name} is stale: run proto/generate.sh"


@pytest.mark.parametrize("module", FILES, ids=lambda m: m.DESCRIPTOR.name)
def test_schema_follows_buf_style(module):
    fd = module.DESCRIPTOR
    assert fd.package == "ancoef.v1"
    for enum in fd.enum_types_by_name.values():
        first = enum.values[0]
        assert first.number == 0 and first.name == f"{_upper_snake(enum.name)}_UNSPECIFIED", enum.name
        assert all(v.name.startswith(_upper_snake(enum.name) + "_") for v in enum.values), enum.name
    seen = set()
    for service in fd.services_by_name.values():
        assert service.name.endswith("Service")
        for m in service.methods:  # one request/response pair per RPC, named after it
            assert m.input_type.name == f"{m.name}Request", m.full_name
            assert m.output_type.name == f"{m.name}Response", m.full_name
            assert m.input_type.name not in seen and m.output_type.name not in seen
            seen |= {m.input_type.name, m.output_type.name}


def test_the_three_services_have_the_rpcs_of_the_issue():
    methods = {s.full_name: [m.name for m in s.methods]
               for f in FILES for s in f.DESCRIPTOR.services_by_name.values()}
    assert methods == {
        "ancoef.v1.SimulatorService": ["Simulate", "SimulateStream", "ListPresets", "GetLimits", "RegisterNetwork",
                                       "MapNetwork", "ComputeArea"],
        "ancoef.v1.TrainerService": ["StartTraining", "WatchTraining", "Evaluate", "ExportNetwork", "CancelTraining",
                                     # training sessions: coexplore.backends.TrainerBackend over the wire
                                     "OpenTrainingSession", "CloseTrainingSession", "LoadTrainingData", "NewSupernet",
                                     "TrainSupernet", "InheritSubnet", "ExportModel", "FinetuneModel",
                                     "TestFixedPoint", "GetModelState", "LoadModelState"],
        "ancoef.v1.AgentService": ["StartSearch", "StartExploration", "WatchOperation", "GetFront", "CancelOperation",
                                   "ResumeOperation", "ListOperations"],
    }
    streaming = {m.full_name for f in FILES for s in f.DESCRIPTOR.services_by_name.values() for m in s.methods
                 if m.server_streaming}
    assert streaming == {"ancoef.v1.SimulatorService.SimulateStream", "ancoef.v1.TrainerService.WatchTraining",
                         "ancoef.v1.AgentService.WatchOperation"}


def _upper_snake(name: str) -> str:
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(name)).upper()


@pytest.mark.parametrize(
    "make",
    [
        lambda: generate_mlp((40, 30, 10), timesteps=12, rate=0.3, samples=3, mesh=(2, 2), seed=4),
        lambda: generate_conv(samples=2, seed=1),
        lambda: generate_sparse(samples=2, seed=2),
    ],
    ids=["dense", "conv2d", "sparse-recurrent"],
)
@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_a_request_over_the_wire_simulates_like_in_process(make, semantics):
    wl = make()
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=256, mapping="locality", voltage_v=0.6)
    request = pb.SimulateRequest(
        network=wire.network_to_proto(wl.network),
        architecture=wire.architecture_to_proto(arch),
        input=wire.spikes_to_proto(wl.inputs),
        semantics=pb.SEMANTICS_SANAFE if semantics == "sanafe" else pb.SEMANTICS_TIMESTEP,
        preset="async28",
        threads=1,
    )
    received = pb.SimulateRequest.FromString(request.SerializeToString())
    kwargs = wire.simulate_request_from_proto(received)
    assert kwargs["arch"] == arch
    assert np.array_equal(kwargs["inputs"], wl.inputs)
    via_wire = ta.simulate(**kwargs)
    direct = ta.simulate(wl.network, arch, wl.inputs, semantics=semantics, preset="async28", threads=1)
    assert via_wire.latency_s.tolist() == direct.latency_s.tolist()
    assert via_wire.energy_j.tolist() == direct.energy_j.tolist()
    for k in direct.counts:
        assert via_wire.counts[k].tolist() == direct.counts[k].tolist(), k
    response = pb.SimulateResponse.FromString(wire.simulate_response_to_proto(via_wire).SerializeToString())
    assert [s.latency_s for s in response.samples] == direct.latency_s.tolist()
    assert [s.counts["synaptic_ops"] for s in response.samples] == direct.counts["synaptic_ops"].tolist()
    assert list(response.core_of) == direct.core_of.tolist()


def _valid_request() -> pb.SimulateRequest:
    wl = generate_mlp((8, 4), timesteps=3, rate=0.5, samples=1, mesh=(1, 1), seed=0)
    return pb.SimulateRequest(
        network=wire.network_to_proto(wl.network),
        architecture=wire.architecture_to_proto(ta.Architecture(mesh_width=1, mesh_height=1)),
        input=wire.spikes_to_proto(wl.inputs),
        semantics=pb.SEMANTICS_TIMESTEP,
        preset="loihi",
    )


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda r: r.ClearField("network"), "request.network is missing"),
        (lambda r: r.ClearField("preset"), "request.costs is not set"),
        (lambda r: setattr(r, "semantics", pb.SEMANTICS_UNSPECIFIED), "request.semantics must be one of SEMANTICS_TIMESTEP"),
        (lambda r: setattr(r.architecture, "mapping", pb.MAPPING_POLICY_UNSPECIFIED), "architecture.mapping must be one of"),
        (lambda r: r.network.layers[1].ClearField("lif"), "network.layers[1].kind is not set"),
        (lambda r: r.network.projections[0].dense.weights.append(1), "network.projections[0].dense.weights has 33 values"),
        (lambda r: setattr(r.input, "packed_spikes", b"\x00"), "input.packed_spikes has 1 bytes"),
        (lambda r: r.network.projections[0].ClearField("dense"), "network.projections[0].connectivity is not set"),
    ],
)
def test_bad_messages_name_the_field(break_it, message):
    request = _valid_request()
    break_it(request)
    with pytest.raises(ta.SimulationError) as info:
        ta.simulate(**wire.simulate_request_from_proto(request))
    assert message in str(info.value)
