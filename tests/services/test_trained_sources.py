"""A TrainerService training operation as the network of `ancoef simulate`, `ancoef search` and the
AgentService's StartSearch (`--trainer-endpoint --training-id`, `spec.training_operation_id`).

One tiny real training runs in a trainer service (a separate process on 127.0.0.1, port 0). The
peers are the in-process commands on the same export saved locally as `ancoef train` saves it
(`--samples N` asks ExportNetwork for N samples: the trainer's class-balanced subset, not the
first N of the split): the search of the operation equals `ancoef search --network` of that
folder bit for bit (timings aside), and the simulation equals the in-process one of the export.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import grpc
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from services import cli  # noqa: E402
from services.client import AgentClient, TrainerClient  # noqa: E402
from services.proto.ancoef.v1 import agent_pb2 as pb  # noqa: E402
from services.proto.ancoef.v1 import agent_pb2_grpc  # noqa: E402
from services.proto.ancoef.v1 import operation_pb2 as op_pb  # noqa: E402

TINY = dict(epochs=1, qat_epochs=0.5, weight_bits=4, timesteps=4, ops=["conv3"], widths=[4], limit_samples=100,
            threads=1, seed=0)
SAMPLES, BUDGET = 2, 4
SEARCH = ["--algo", "nsga2", "--budget", str(BUDGET), "--seed", "1", "--samples", str(SAMPLES), "--no-progress"]
TIMINGS = {"wall_s", "simulation_s", "t_s", "sim_wall_s"}


@pytest.fixture(scope="module")
def trainer(start_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("trainer-work")
    server = start_server("trainer", "--work-dir", str(work), "--max-concurrent", "1", "--max-queued", "2")
    client = TrainerClient(server.endpoint)
    op_id = client.start_training(**TINY)
    last = client.wait(op_id)
    assert last.operation.state == op_pb.OPERATION_STATE_SUCCEEDED, last.operation.error
    return server, client, op_id, work / op_id


@pytest.fixture(scope="module")
def unfinished(trainer):
    """A training that never succeeded (cancelled before its end)."""
    _, client, _, _ = trainer
    op_id = client.start_training(**{**TINY, "epochs": 200})
    client.cancel(op_id)
    assert client.wait(op_id).operation.state == op_pb.OPERATION_STATE_CANCELLED
    return op_id


@pytest.fixture(scope="module")
def local_search(trainer, tmp_path_factory):
    """`ancoef search --network FOLDER` in this process, FOLDER holding the operation's export of
    SAMPLES test samples saved as `ancoef train` saves its network: (archive designs, summary)."""
    from trainer.export import save_workload

    _, client, op_id, _ = trainer
    folder = tmp_path_factory.mktemp("local")
    ex = client.export_network(op_id, split="test", limit_samples=SAMPLES)
    save_workload(ex.network, ex.inputs, folder / "network", {"labels": ex.labels.tolist()}, arch=ex.arch)
    assert cli.main(["search", "--network", str(folder), "--out", str(folder / "search"), *SEARCH]) == 0
    return _results(folder / "search")


def _untimed(x):
    """`x` without its wall-clock timings (they differ from run to run)."""
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if k not in TIMINGS}
    if isinstance(x, list):
        return [_untimed(v) for v in x]
    return x


def _results(out: Path) -> tuple[list, dict]:
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("store")
    summary["best_edp_trace"] = [[n, edp] for n, _, edp in summary["best_edp_trace"]]  # (simulations, time, EDP)
    return _untimed(json.loads((out / "archive.json").read_text())["designs"]), _untimed(summary)


def _front_key(points) -> list:
    return sorted((tuple(sorted(p["design"].items())), p["energy_j"], p["latency_s"], p["area_mm2"]) for p in points)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_search_of_a_training_equals_the_search_of_its_output_folder_and_resumes_without_the_trainer(
        trainer, sim_server, local_search, tmp_path):
    server, _, op_id, _ = trainer
    out = tmp_path / "search"
    assert cli.main(["search", "--trainer-endpoint", server.endpoint, "--training-id", op_id, "--out", str(out),
                     "--sim-endpoint", sim_server.endpoint, *SEARCH]) == 0
    designs, summary = _results(out)
    assert (designs, summary) == local_search and summary["simulated"] == BUDGET
    kept = json.loads((out / "workload.json").read_text())["meta"]
    assert (kept["training_operation_id"], kept["split"], kept["samples"]) == (op_id, "test", SAMPLES)
    settings = json.loads((out / "summary.json").read_text())
    assert settings["store"]["simulated_now"] > 0
    # the resume reads OUT/workload.*: it is given no trainer, simulates nothing again, ends the same
    assert cli.main(["search", "--resume", str(out), "--no-progress"]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["store"]["simulated_now"] == 0 and again["store"]["attempt"] == 2
    assert _results(out) == local_search


def test_simulate_of_a_training_reports_its_figures_and_on_chip_accuracy(trainer, sim_server, tmp_path):
    import dataclasses

    import trueasync as ta
    from trainer.export import make_workload
    from trueasync.workload import load_workload, workload_diff

    server, client, op_id, folder = trainer
    for split, endpoint in (("test", sim_server.endpoint), ("train", None)):
        path = tmp_path / f"{split}.json"
        args = ["simulate", "--trainer-endpoint", server.endpoint, "--training-id", op_id, "--split", split,
                "--samples", "5", "--threads", "1", "--json", str(path)]
        assert cli.main(args + (["--sim-endpoint", endpoint] if endpoint else [])) == 0
        report = json.loads(path.read_text())
        ex = client.export_network(op_id, split=split, limit_samples=5)
        wl = make_workload(ex.network, ex.inputs, {}, arch=ex.arch)
        local = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="timestep", preset=wl.costs,
                            core_of=wl.core_of, threads=1)
        got, want = report["trueasync"], json.loads(json.dumps(local.to_json(), default=float))
        got.pop("wall_s"), want.pop("wall_s")
        assert got == want
        accuracy = float((local.predicted_labels() == ex.labels).mean())
        fixed_point = client.evaluate(op_id, split=split, limit_samples=5).fixed_point_accuracy_ratio
        t = report["training"]
        assert t["on_chip_accuracy_ratio"] == accuracy == fixed_point
        assert (t["labels"], t["split"], t["samples"], t["training_operation_id"]) == (ex.labels.tolist(), split, 5,
                                                                                       op_id)
        if split == "test":  # the trained network `ancoef train` wrote to the operation's output folder
            disk = load_workload(folder / "network")
            assert workload_diff(wl, dataclasses.replace(disk, inputs=wl.inputs, meta={})) is None


@pytest.mark.parametrize("case", ["unknown", "unfinished", "no-endpoint", "endpoint-alone", "nobody-listens",
                                  "resume-with-trainer"])
def test_cli_errors_name_the_option_exit_2_and_change_no_file(trainer, unfinished, case, tmp_path, capsys):
    server, _, op_id, _ = trainer
    ep = server.endpoint
    out = tmp_path / "out"
    src = {
        "unknown": (["--trainer-endpoint", ep, "--training-id", "train-nosuch"],
                    "--training-id 'train-nosuch': no such training operation"),
        "unfinished": (["--trainer-endpoint", ep, "--training-id", unfinished],
                       f"--training-id {unfinished!r} has not succeeded"),
        "no-endpoint": (["--training-id", op_id], "--trainer-endpoint"),
        "endpoint-alone": (["--trainer-endpoint", ep, "--workload", "builtin:conv"], "--training-id"),
        "nobody-listens": (["--trainer-endpoint", f"127.0.0.1:{_free_port()}", "--training-id", op_id],
                           "--trainer-endpoint 127.0.0.1:"),
        "resume-with-trainer": (["--resume", str(out), "--trainer-endpoint", ep], "--trainer-endpoint"),
    }[case]
    commands = [["search", *src[0], "--out", str(out), *SEARCH]]
    if case != "resume-with-trainer":
        commands.append(["simulate", *src[0], "--json", str(out / "sim.json")])
    before = sorted(tmp_path.rglob("*"))
    for command in commands:
        assert cli.main(command) == 2, command
        err = capsys.readouterr().err
        assert src[1] in err and "Traceback" not in err, err
    assert sorted(tmp_path.rglob("*")) == before


@pytest.fixture(scope="module")
def agent(start_server, trainer, tmp_path_factory):
    work = tmp_path_factory.mktemp("agent-work")
    server = start_server("agent", "--work-dir", str(work), "--trainer-endpoint", trainer[0].endpoint,
                          "--max-concurrent", "1")
    return server, work


def test_agent_search_of_a_training_equals_the_search_of_its_output_folder(agent, trainer, local_search):
    server, work = agent
    client = AgentClient(server.endpoint)
    op_id = client.start_search(training_operation_id=trainer[2], algorithm="nsga2", budget=BUDGET, seed=1,
                                limit_samples=SAMPLES)
    last = client.wait(op_id)
    assert last.operation.state == op_pb.OPERATION_STATE_SUCCEEDED, last.operation.error
    designs, summary = _results(work / op_id)
    assert (designs, summary) == local_search
    assert _front_key([d for d in designs if d["on_front"]]) == _front_key(
        [{"design": _arch(p.architecture), "energy_j": p.energy_j, "latency_s": p.latency_s, "area_mm2": p.area_mm2}
         for p in client.front(op_id)])
    assert json.loads((work / op_id / "workload.json").read_text())["meta"]["training_operation_id"] == trainer[2]


def _arch(m) -> dict:
    import dataclasses

    from services import wire

    return dataclasses.asdict(wire.architecture_from_proto(m))


def _start_search(server, op_id: str):
    stub = agent_pb2_grpc.AgentServiceStub(grpc.insecure_channel(server.endpoint))
    spec = pb.SearchSpec(training_operation_id=op_id, budget_simulations=4, algorithm=pb.SEARCH_ALGORITHM_NSGA2)
    with pytest.raises(grpc.RpcError) as err:
        stub.StartSearch(pb.StartSearchRequest(spec=spec), timeout=60)
    return err.value


def test_agent_refuses_unknown_and_unfinished_trainings_naming_the_field(agent, unfinished):
    server, work = agent
    folders = set(work.iterdir())
    for op_id, code, text in (("train-nosuch", grpc.StatusCode.NOT_FOUND, "no such training operation"),
                              (unfinished, grpc.StatusCode.FAILED_PRECONDITION, "CANCELLED, not SUCCEEDED")):
        err = _start_search(server, op_id)
        assert err.code() == code and f"spec.training_operation_id {op_id!r}" in err.details(), err.details()
        assert text in err.details()
    assert set(work.iterdir()) == folders


def test_an_agent_without_a_trainer_endpoint_refuses_a_training_operation(start_server, trainer, tmp_path):
    server = start_server("agent", "--work-dir", str(tmp_path))
    err = _start_search(server, trainer[2])
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "spec.training_operation_id" in err.details() and "--trainer-endpoint" in err.details()
    assert list(tmp_path.iterdir()) == []
