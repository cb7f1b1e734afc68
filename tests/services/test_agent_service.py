"""The agent service as a separate process: searches and explorations as operations in run
stores under its work dir, equal to the in-process commands with the same seed; a SIGKILL during
a search and a restart on the same work dir lose no finished simulation; cancel, resume, bad input.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import grpc
import pytest

from services import cli, wire
from services.proto.ancoef.v1 import agent_pb2 as pb
from services.proto.ancoef.v1 import agent_pb2_grpc
from services.proto.ancoef.v1 import operation_pb2 as op_pb
from trueasync.workload import generate_mlp, save_workload

RANGES = {"mesh_width": "1:4", "mesh_height": "1:4"}
# ~0.2 s per simulation on two cores: long enough to kill or cancel a search half-way
SLOW = dict(shape=(400, 300, 10), timesteps=100, samples=8, budget=16, seed=5, algo="nsga2")
QUICK = dict(shape=(40, 30, 10), timesteps=8, samples=2, budget=8, seed=2, algo="nsga2")
# tests/test_explore.py's TINY options without the baselines (the front does not depend on them), with
# NSGA-II: what crosses the wire does not depend on the search method, and RL would start a Ray instance in
# every operation's process (slow, and on a busy machine Ray's start-up can time out)
TINY = dict(limit=60, test_limit=20, minutes=0.1, candidates=2, budget=6, calib_samples=4, designs_per_survivor=2,
            seed=3, algo="nsga2")
ALGORITHMS = {"nsga2": pb.SEARCH_ALGORITHM_NSGA2, "random": pb.SEARCH_ALGORITHM_RANDOM, "tpe": pb.SEARCH_ALGORITHM_TPE,
              "moves": pb.SEARCH_ALGORITHM_MOVES}


def _workload(c: dict):
    return generate_mlp(c["shape"], timesteps=c["timesteps"], rate=0.3, samples=c["samples"], mesh=(2, 2), seed=6)


def _spec(c: dict, **changes) -> pb.SearchSpec:
    wl = _workload(c)
    spec = pb.SearchSpec(workload=pb.SearchWorkload(network=wire.network_to_proto(wl.network),
                                                    input=wire.spikes_to_proto(wl.inputs)),
                         algorithm=ALGORITHMS[c["algo"]], budget_simulations=c["budget"], seed=c["seed"],
                         ranges=[pb.ParameterRange(parameter=k, range=v) for k, v in RANGES.items()])
    for k, v in changes.items():
        setattr(spec, k, v)
    return spec


def _front_key(points) -> list:
    return sorted((tuple(sorted(p["design"].items())), p["energy_j"], p["latency_s"], p["area_mm2"]) for p in points)


def _proto_front(points) -> list:
    return _front_key([{"design": {k: v for k, v in _arch(p.architecture).items()}, "energy_j": p.energy_j,
                        "latency_s": p.latency_s, "area_mm2": p.area_mm2} for p in points])


def _arch(m) -> dict:
    import dataclasses

    return dataclasses.asdict(wire.architecture_from_proto(m))


def _in_process_search(c: dict, tmp: Path) -> tuple[list, int]:
    """The front of `ancoef search` in this process on the same workload, settings and seed, and
    the simulations in its store (the budget's designs and the reference design)."""
    prefix = tmp / "workload"
    save_workload(_workload(c), prefix)
    out = tmp / "search"
    args = ["search", "--workload", str(prefix), "--algo", c["algo"], "--budget", str(c["budget"]), "--seed",
            str(c["seed"]), "--out", str(out), "--no-progress"]
    for k, v in RANGES.items():
        args += ["--" + k.replace("_", "-"), v]
    assert cli.main(args) == 0
    front = _front_key([d for d in json.loads((out / "archive.json").read_text())["designs"] if d["on_front"]])
    conn = sqlite3.connect(out / "run.sqlite")
    try:
        return front, conn.execute("SELECT COUNT(*) FROM simulations").fetchone()[0]
    finally:
        conn.close()


def _stub(server):
    return agent_pb2_grpc.AgentServiceStub(grpc.insecure_channel(server.endpoint))


def _watch(stub, op_id: str, timeout_s: float = 300) -> list:
    return list(stub.WatchOperation(pb.WatchOperationRequest(operation_id=op_id), timeout=timeout_s))


def _store(work: Path, op_id: str, sql: str) -> list:
    conn = sqlite3.connect(work / op_id / "run.sqlite", timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def agent(start_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("agent-work")
    server = start_server("agent", "--work-dir", str(work), "--metrics-port", "0", "--max-concurrent", "1",
                          "--max-queued", "4")
    return server, work


@pytest.fixture(scope="module")
def slow_front(tmp_path_factory):
    return _in_process_search(SLOW, tmp_path_factory.mktemp("slow-in-process"))


@pytest.mark.parametrize("algo", ["nsga2", "tpe", "moves"])
def test_search_through_the_agent_equals_the_in_process_search(agent, tmp_path, algo):
    from services.client import AgentClient

    server, work = agent
    client = AgentClient(server.endpoint)
    quick = dict(QUICK, algo=algo)
    wl = _workload(quick)
    op_id = client.start_search(wl.network, wl.inputs, algorithm=algo, budget=quick["budget"],
                                seed=quick["seed"], ranges=RANGES)
    assert op_id.startswith("search-")
    msgs = list(client.watch(op_id))
    last = msgs[-1]
    op = last.operation
    assert op.kind == op_pb.OPERATION_KIND_SEARCH
    assert last.operation.state == op_pb.OPERATION_STATE_SUCCEEDED, last.operation.error
    assert last.progress.simulations_done == last.progress.budget_simulations == quick["budget"]
    assert any(m.operation.state == op_pb.OPERATION_STATE_RUNNING for m in msgs)
    assert op_id in [o.id for o in client.operations(op_pb.OPERATION_KIND_SEARCH)]
    assert client.operations(op_pb.OPERATION_KIND_TRAINING) == []
    points = client.front(op_id)
    local, simulations = _in_process_search(quick, tmp_path)
    assert _proto_front(points) == local != []
    assert _store(work, op.id, "SELECT COUNT(*) FROM simulations")[0][0] == simulations
    summary = json.loads((work / op.id / "summary.json").read_text())
    assert last.progress.best_edp_js == summary["best_edp_js"] == min(p.edp_js for p in points if p.meets_targets)
    assert server.metric("ancoef_search_simulations_done_total", operation=op.id) == quick["budget"]
    assert server.metric("ancoef_search_best_edp_joule_seconds", operation=op.id) == summary["best_edp_js"]
    assert server.metric("ancoef_search_hypervolume", operation=op.id) == pytest.approx(summary["hypervolume"])
    assert server.metric("ancoef_operations_total", kind="search", state="succeeded") >= 1
    assert server.metric("ancoef_operations_running", kind="search") == 0


def test_a_killed_or_stopped_agent_resumes_the_search_without_losing_a_simulation(start_server, tmp_path, slow_front):
    work = tmp_path / "work"
    first = start_server("agent", "--work-dir", str(work))
    stub = _stub(first)
    op = stub.StartSearch(pb.StartSearchRequest(spec=_spec(SLOW))).operation
    count = lambda: _store(work, op.id, "SELECT COUNT(*) FROM simulations")[0][0]  # noqa: E731
    deadline = time.monotonic() + 120
    while count() < 3:
        assert time.monotonic() < deadline, "the search never simulated 3 designs"
        time.sleep(0.02)
    first.process.kill()
    first.process.wait()
    before = set(_store(work, op.id, "SELECT design FROM simulations"))
    assert 3 <= len(before) < SLOW["budget"], "killed during the search"
    assert _store(work, op.id, "SELECT state FROM runs") == [("running",)]

    # restarted on the same work dir: listed from the store and resumed; then stopped (SIGTERM)
    second = start_server("agent", "--work-dir", str(work))
    stub = _stub(second)
    listed = {o.id: o for o in stub.ListOperations(pb.ListOperationsRequest()).operations}
    assert listed[op.id].state in (op_pb.OPERATION_STATE_PENDING, op_pb.OPERATION_STATE_RUNNING)
    while count() < len(before) + 2:
        assert time.monotonic() < deadline and second.process.poll() is None, second.lines
        time.sleep(0.02)
    assert second.stop() == 0
    middle = set(_store(work, op.id, "SELECT design FROM simulations"))
    assert before < middle and len(middle) < SLOW["budget"], "stopped during the search"
    assert _store(work, op.id, "SELECT state FROM runs") == [("interrupted",)]

    third = start_server("agent", "--work-dir", str(work))
    stub = _stub(third)
    last = _watch(stub, op.id)[-1]
    assert last.operation.state == op_pb.OPERATION_STATE_SUCCEEDED, last.operation.error
    after = _store(work, op.id, "SELECT design FROM simulations")
    front, simulations = slow_front
    assert middle <= set(after) and len(after) == len(set(after)) == simulations  # none lost, none redone
    assert _store(work, op.id, "SELECT attempt, state FROM attempts ORDER BY attempt") == [
        (1, "interrupted"), (2, "interrupted"), (3, "succeeded")]
    assert _proto_front(stub.GetFront(pb.GetFrontRequest(operation_id=op.id)).points) == front


def test_cancel_stops_the_search_and_resume_finishes_it(agent, slow_front):
    server, work = agent
    stub = _stub(server)
    op = stub.StartSearch(pb.StartSearchRequest(spec=_spec(SLOW))).operation
    for m in stub.WatchOperation(pb.WatchOperationRequest(operation_id=op.id), timeout=120):
        if m.progress.simulations_done >= 2:
            break
    cancelled = stub.CancelOperation(pb.CancelOperationRequest(operation_id=op.id)).operation
    assert cancelled.id == op.id
    last = _watch(stub, op.id)[-1]
    assert last.operation.state == op_pb.OPERATION_STATE_CANCELLED
    done = _store(work, op.id, "SELECT COUNT(*) FROM simulations")[0][0]
    assert 2 <= done < SLOW["budget"] and _store(work, op.id, "SELECT state FROM runs") == [("cancelled",)]
    assert len(stub.GetFront(pb.GetFrontRequest(operation_id=op.id)).points) >= 1  # the front so far
    assert server.metric("ancoef_operations_total", kind="search", state="cancelled") >= 1

    resumed = stub.ResumeOperation(pb.ResumeOperationRequest(operation_id=op.id)).operation
    assert resumed.state == op_pb.OPERATION_STATE_PENDING
    last = _watch(stub, op.id)[-1]
    assert last.operation.state == op_pb.OPERATION_STATE_SUCCEEDED, last.operation.error
    front, simulations = slow_front
    assert _store(work, op.id, "SELECT COUNT(*) FROM simulations")[0][0] == simulations
    assert _proto_front(stub.GetFront(pb.GetFrontRequest(operation_id=op.id)).points) == front
    for call, request in ((stub.CancelOperation, pb.CancelOperationRequest), (stub.ResumeOperation,
                                                                             pb.ResumeOperationRequest)):
        with pytest.raises(grpc.RpcError) as err:
            call(request(operation_id=op.id))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "SUCCEEDED" in err.value.details()


def _no_source(spec):
    spec.ClearField("workload")


def _no_input(spec):
    spec.workload.ClearField("input")


@pytest.mark.parametrize("change, field", [
    (lambda s: setattr(s, "budget_simulations", 0), "spec.budget_simulations"),
    (_no_source, "spec.source"),
    (_no_input, "spec.workload.input"),
    (lambda s: s.ranges.add(parameter="mesh_depth", range="1:2"), "spec.ranges[2].parameter"),
    (lambda s: s.ranges.add(parameter="fifo_depth", range="3:1"), "fifo_depth"),
    (lambda s: setattr(s, "preset", "no-such-preset"), "no-such-preset"),
    (lambda s: setattr(s.targets, "max_latency_s", -1.0), "spec.targets.max_latency_s"),
    (lambda s: setattr(s, "algorithm", 9), "spec.algorithm"),
])
def test_bad_search_specs_name_the_field(agent, change, field):
    server, work = agent
    spec = _spec(QUICK)
    change(spec)
    folders = set(work.iterdir())
    with pytest.raises(grpc.RpcError) as err:
        _stub(server).StartSearch(pb.StartSearchRequest(spec=spec))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert field in err.value.details()
    assert set(work.iterdir()) == folders  # nothing left behind


@pytest.mark.parametrize("spec, field", [
    (pb.ExplorationSpec(weight_bits=3), "spec.weight_bits"),
    (pb.ExplorationSpec(dataset="no-such-dataset"), "no-such-dataset"),
    (pb.ExplorationSpec(limit_samples=5), "spec.limit_samples"),
    (pb.ExplorationSpec(warm_start="sometimes"), "warm-start"),
])
def test_bad_exploration_specs_name_the_field(agent, spec, field):
    server, _ = agent
    with pytest.raises(grpc.RpcError) as err:
        _stub(server).StartExploration(pb.StartExplorationRequest(spec=spec))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()


def test_unknown_operations_are_not_found(agent):
    stub = _stub(agent[0])
    for call in (lambda r: list(stub.WatchOperation(pb.WatchOperationRequest(**r))),
                 lambda r: stub.GetFront(pb.GetFrontRequest(**r)),
                 lambda r: stub.CancelOperation(pb.CancelOperationRequest(**r)),
                 lambda r: stub.ResumeOperation(pb.ResumeOperationRequest(**r))):
        with pytest.raises(grpc.RpcError) as err:
            call({"operation_id": "search-000000000000"})
        assert err.value.code() == grpc.StatusCode.NOT_FOUND and "search-000000000000" in err.value.details()


def _tiny_spec() -> pb.ExplorationSpec:
    return pb.ExplorationSpec(seed=TINY["seed"], candidates=TINY["candidates"], budget_simulations=TINY["budget"],
                              algorithm=ALGORITHMS[TINY["algo"]],
                              budget_minutes=TINY["minutes"], limit_samples=TINY["limit"],
                              test_limit_samples=TINY["test_limit"], calib_samples=TINY["calib_samples"],
                              designs_per_survivor=TINY["designs_per_survivor"], skip_baselines=True)


def _explore_cli(out: Path, *extra) -> tuple[list, dict]:
    """`ancoef explore` in this process on the TINY settings: (front, summary.json)."""
    args = ["explore", "--out", str(out), "--no-baselines", "--threads", "1", "--no-progress", *extra]
    for k, v in TINY.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    assert cli.main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    return [(p["candidate"], p["accuracy"], p["energy_j"], p["latency_s"], p["area_mm2"]) for p in summary["front"]], \
        summary


@pytest.fixture(scope="module")
def trainer_server(start_server):
    return start_server("trainer", "--metrics-port", "0", "--max-concurrent", "2", "--max-queued", "0")


def _trainer_handled(trainer, method: str) -> float:
    return trainer.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.TrainerService",
                          grpc_method=method, grpc_code="OK")


@pytest.fixture(scope="module")
def tiny_local(tmp_path_factory):
    """The in-process `ancoef explore` of TINY: (front, summary)."""
    return _explore_cli(tmp_path_factory.mktemp("explore-in-process") / "out")


def _remote_front(stub, op_id: str) -> list:
    points = stub.GetFront(pb.GetFrontRequest(operation_id=op_id)).points
    assert all(p.HasField("accuracy_ratio") for p in points)
    return [(p.candidate, p.accuracy_ratio, p.energy_j, p.latency_s, p.area_mm2) for p in points]


def test_exploration_through_the_agent_on_the_simulator_service(start_server, sim_server, trainer_server, tiny_local,
                                                                tmp_path):
    work = tmp_path / "work"
    agent = start_server("agent", "--work-dir", str(work), "--sim-endpoint", sim_server.endpoint)
    stub = _stub(agent)
    simulated_before = sum(sim_server.metric("ancoef_simulations_total", preset="async28", semantics="timestep",
                                             schedule=s) for s in ("asynchronous",))
    op = stub.StartExploration(pb.StartExplorationRequest(spec=_tiny_spec())).operation
    assert op.kind == op_pb.OPERATION_KIND_EXPLORATION
    msgs = _watch(stub, op.id)
    assert msgs[-1].operation.state == op_pb.OPERATION_STATE_SUCCEEDED, msgs[-1].operation.error
    phases = {m.progress.phase for m in msgs}
    assert {"supernet", "candidates", "coexplore.search", "coexplore.finetune", "coexplore.onchip", "report"} <= \
        phases, phases
    searching = [m.progress for m in msgs if m.progress.phase == "coexplore.search"]
    assert {p.candidate for p in searching[1:]} == {"c1", "c2"} and all(p.budget_simulations == TINY["budget"]
                                                                       for p in searching[1:])
    assert msgs[-1].progress.simulations_done >= TINY["candidates"] * TINY["budget"]
    remote = _remote_front(stub, op.id)
    simulated = sum(sim_server.metric("ancoef_simulations_total", preset="async28", semantics="timestep",
                                      schedule=s) for s in ("asynchronous",)) - simulated_before
    assert simulated >= msgs[-1].progress.simulations_done  # every simulation went to the simulator service
    local = tiny_local[0]
    assert remote == local != []
    # `ancoef explore --sim-endpoint --trainer-endpoint`: the command line on the simulator and trainer
    # services gives the same front
    calls = sim_server.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.SimulatorService",
                              grpc_method="Simulate", grpc_code="OK")
    sessions = _trainer_handled(trainer_server, "CloseTrainingSession")
    assert _explore_cli(tmp_path / "cli", "--sim-endpoint", sim_server.endpoint, "--trainer-endpoint",
                        trainer_server.endpoint)[0] == local
    assert _trainer_handled(trainer_server, "CloseTrainingSession") - sessions == 1
    assert _trainer_handled(trainer_server, "FinetuneModel") >= TINY["candidates"]
    assert sim_server.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.SimulatorService",
                             grpc_method="Simulate", grpc_code="OK") - calls >= TINY["candidates"] * TINY["budget"]


def test_exploration_through_the_agent_on_the_simulator_and_trainer_services(start_server, sim_server, trainer_server,
                                                                            tiny_local, tmp_path):
    """Issue 9, acceptance 4: the agent reaches the simulator and the trainer only over gRPC (each a
    process of its own), and the exploration ends as the in-process `ancoef explore` does."""
    from coexplore import without_timings

    trainer = trainer_server
    work = tmp_path / "work"
    agent = start_server("agent", "--work-dir", str(work), "--sim-endpoint", sim_server.endpoint,
                         "--trainer-endpoint", trainer.endpoint)
    stub = _stub(agent)
    simulate_calls = sim_server.metric("grpc_server_handled_total", grpc_type="unary",
                                       grpc_service="ancoef.v1.SimulatorService", grpc_method="Simulate", grpc_code="OK")
    before = {m: _trainer_handled(trainer, m) for m in ("OpenTrainingSession", "CloseTrainingSession", "NewSupernet",
                                                         "TrainSupernet", "FinetuneModel", "TestFixedPoint")}
    op = stub.StartExploration(pb.StartExplorationRequest(spec=_tiny_spec())).operation
    msgs = _watch(stub, op.id)
    assert msgs[-1].operation.state == op_pb.OPERATION_STATE_SUCCEEDED, msgs[-1].operation.error
    local_front, local_summary = tiny_local
    assert _remote_front(stub, op.id) == local_front != []
    summary = json.loads((work / op.id / "summary.json").read_text())
    assert without_timings(summary) == without_timings(local_summary)

    def handled(method: str) -> float:
        return _trainer_handled(trainer, method) - before[method]

    # one session (opened and closed), its supernet trained there, every candidate fine-tuned and tested there
    assert handled("OpenTrainingSession") == handled("CloseTrainingSession") == 1
    assert handled("NewSupernet") >= 1 and handled("TrainSupernet") >= 1
    assert handled("FinetuneModel") >= TINY["candidates"] and handled("TestFixedPoint") >= TINY["candidates"]
    assert sim_server.metric("grpc_server_handled_total", grpc_type="unary", grpc_service="ancoef.v1.SimulatorService",
                             grpc_method="Simulate", grpc_code="OK") - simulate_calls >= msgs[-1].progress.simulations_done
