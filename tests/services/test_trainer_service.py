"""TrainerService as a separate process: a tiny real training as an operation, watched, evaluated,
exported and simulated; cancellation; bad specs name their field."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from services.client import SimulatorClient, TrainerClient  # noqa: E402
from services.proto.ancoef.v1 import operation_pb2 as op  # noqa: E402
from services.proto.ancoef.v1 import trainer_pb2 as pb  # noqa: E402
from services.proto.ancoef.v1 import trainer_pb2_grpc  # noqa: E402

TINY = dict(epochs=1, qat_epochs=0.5, weight_bits=4, timesteps=4, ops=["conv3", "conv3"], widths=[8, 8],
            limit_samples=200, threads=1, seed=0)


@pytest.fixture(scope="module")
def trainer(start_server, tmp_path_factory):
    server = start_server("trainer", "--max-concurrent", "2", "--max-queued", "1", "--metrics-port", "0",
                          "--work-dir", str(tmp_path_factory.mktemp("trainer")))
    return server, TrainerClient(server.endpoint)


@pytest.fixture(scope="module")
def trained(trainer):
    """One tiny training watched to its end: (operation id, every WatchTraining message)."""
    _, client = trainer
    op_id = client.start_training(**TINY)
    return op_id, list(client.watch(op_id))


def test_a_training_runs_as_an_operation_and_is_watched_to_its_end(trained, trainer):
    server, _ = trainer
    op_id, messages = trained
    assert op_id.startswith("train-")
    states = [m.operation.state for m in messages]
    assert states[-1] == op.OPERATION_STATE_SUCCEEDED and states.count(op.OPERATION_STATE_SUCCEEDED) == 1
    running = [m.progress for m in messages if m.operation.state == op.OPERATION_STATE_RUNNING and m.progress.step]
    assert {p.phase for p in running} >= {"train", "qat"}
    train = [p for p in running if p.phase == "train"]
    assert [p.step for p in train] == sorted(p.step for p in train) and train[-1].step == train[-1].total_steps
    assert all(p.loss > 0 and p.eta_s >= 0 and p.epoch > 0 for p in running)
    final = messages[-1]
    m = final.metrics
    assert final.progress.val_accuracy_ratio == m.fixed_point_val_accuracy_ratio
    assert m.quant_val_accuracy_ratio == m.fixed_point_val_accuracy_ratio  # the export is bit-exact
    assert (m.weight_bits, m.timesteps, m.dataset) == (4, 4, "digits-dvs") and m.train_steps == train[-1].total_steps
    assert server.metric("ancoef_operations_total", kind="training", state="succeeded") == 1
    assert server.metric("ancoef_training_accuracy_ratio", operation=op_id, split="val") == \
        m.fixed_point_val_accuracy_ratio


def test_the_export_simulates_on_the_simulator_service_like_the_trainers_fixed_point(trained, trainer,
                                                                                      sim_server):
    from trainer import fixedpoint

    _, client = trainer
    op_id, _ = trained
    ex = client.export_network(op_id, split="test", limit_samples=12)
    assert ex.inputs.shape == (12, 4, ex.network.n_inputs) and len(ex.labels) == 12 and ex.weight_bits == 4
    fp = fixedpoint.run(ex.network, ex.inputs)
    ev = client.evaluate(op_id, split="test", limit_samples=12)
    assert ev.samples == 12 and ev.fixed_point_accuracy_ratio == fp.accuracy(ex.labels)
    assert ev.quantised_model_counts_equal_fixed_point
    chip = SimulatorClient(sim_server.endpoint).simulate(ex.network, ex.arch, ex.inputs, semantics="timestep",
                                                         preset="async28", threads=1)
    assert np.array_equal(chip.output_spike_counts, fp.output_spike_counts)


def test_cancel_stops_a_training_and_finished_ones_cannot_be_cancelled(trained, trainer):
    server, client = trainer
    long_id = client.start_training(**{**TINY, "epochs": 200})
    for m in client.watch(long_id):
        if m.progress.step >= 1:
            break
    t0 = time.monotonic()
    assert client.cancel(long_id).id == long_id
    last = client.wait(long_id)
    assert last.operation.state == op.OPERATION_STATE_CANCELLED and "CancelTraining" in last.operation.error
    assert time.monotonic() - t0 < 30
    assert server.metric("ancoef_operations_total", kind="training", state="cancelled") == 1
    for call in (lambda: client.cancel(trained[0]), lambda: client.evaluate(long_id)):
        with pytest.raises(RuntimeError, match="FAILED_PRECONDITION"):
            call()
    with pytest.raises(RuntimeError, match="NOT_FOUND"):
        client.export_network("train-nosuch")


@pytest.mark.parametrize("spec, message", [
    (dict(weight_bits=9), "spec.weight_bits must be 2..8"),
    (dict(ops=["conv3", "conv7"], widths=[8, 8]), "spec.ops[1] must be one of conv3, conv5, skip"),
    (dict(ops=["conv3"], widths=[8, 8]), "spec.ops and spec.widths need the same number"),
    (dict(widths=[0], ops=["conv3"]), "spec.widths[0] must be at least 1"),
    (dict(epochs=float("nan")), "spec.epochs must be a finite number"),
    (dict(qat_epochs=-1.0), "spec.qat_epochs must be a finite number >= 0"),
    (dict(dataset="mnist-nosuch"), "spec.dataset must be one of"),
    (dict(tau=3.0), "spec (ops, widths, timesteps, tau)"),
])
def test_bad_specs_get_invalid_argument_naming_the_field(trainer, spec, message):
    server, _ = trainer
    with grpc.insecure_channel(server.endpoint) as channel:
        stub = trainer_pb2_grpc.TrainerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.StartTraining(pb.StartTrainingRequest(spec=pb.TrainingSpec(**spec)), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in info.value.details()
