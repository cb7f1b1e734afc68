"""TrainerService training sessions: `services.client.RemoteTrainer` (the co-exploration's trainer
backend over gRPC, on a trainer service in a separate process) computes what `InProcessTrainer`
computes here, bit for bit, through chunked resumable training and a stop; bad input names its
field, an unknown session is NOT_FOUND."""

from __future__ import annotations

import io
import json

import grpc
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from services import wire  # noqa: E402
from services.client import RemoteTrainer  # noqa: E402
from services.proto.ancoef.v1 import trainer_pb2 as pb  # noqa: E402
from services.proto.ancoef.v1 import trainer_pb2_grpc  # noqa: E402

# tests/test_explore.py's TINY data; a few training steps with a checkpoint every 2
DATA = dict(limit=60, test_limit=20, calib_samples=4, seed=3)
STEPS, EVERY, QAT_STEPS = 5, 2, 3


@pytest.fixture(scope="module")
def trainer_server(start_server):
    return start_server("trainer", "--max-concurrent", "1", "--max-queued", "1")


def _tensors(data: bytes) -> dict:
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _same(a, b) -> bool:
    """Nested states equal to the bit (tensors by value and dtype)."""
    import torch

    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _run(trainer, stop_at: int = -1) -> dict:
    """The trainer protocol end to end on the TINY data; `stop_at`: should_stop's call (0-based)
    that first answers True during supernet training, which then resumes from its last state."""
    from coexplore import ExploreSettings

    out: dict = {"checkpoints": []}
    info = trainer.load_data(ExploreSettings(**DATA))
    out["info"] = info
    trainer.new_supernet(DATA["seed"])
    calls = {"n": 0}

    def on_checkpoint(step, data):
        out["checkpoints"].append((step, data))

    def should_stop():
        calls["n"] += 1
        return calls["n"] - 1 == stop_at

    kw = dict(lr=3e-3, batch_size=32, seed=DATA["seed"], every=EVERY, on_checkpoint=on_checkpoint)
    o = trainer.train_supernet(STEPS, resume=None, should_stop=should_stop, **kw)
    out["stopped"] = o.stopped_early
    if o.stopped_early:
        out["stop_calls"] = calls["n"]
        o = trainer.train_supernet(STEPS, resume=out["checkpoints"][-1][1], should_stop=lambda: False, **kw)
    out["outcome"], out["supernet"] = o, trainer.state("supernet")
    from trainer.supernet import SearchSpace

    config = SearchSpace.from_dict(info.snn_space).smallest().to_dict()
    out["inherited"] = trainer.inherit("c1", config)
    out["calibration"] = trainer.export("c1", 4, "calibration")
    out["finetune"] = trainer.finetune("c1", 4, QAT_STEPS, batch_size=32, seed=DATA["seed"] + 2, resume=None,
                                       every=EVERY, on_checkpoint=lambda s, d: None, should_stop=lambda: False)
    out["test"] = trainer.export("c1", 4, "test")
    out["fixed_point"] = trainer.fixed_point_test("c1", 4, out["test"])
    out["model"] = trainer.state("c1")
    trainer.load_state("c2", out["model"])  # a folded model loaded under a new name exports alike
    out["reloaded"] = trainer.export("c2", 4, "test")
    return out


def _exported_equal(a, b) -> bool:
    return (wire.network_to_proto(a.network) == wire.network_to_proto(b.network)
            and np.array_equal(a.inputs, b.inputs) and a.inputs.dtype == b.inputs.dtype
            and json.dumps(a.meta) == json.dumps(b.meta))


@pytest.fixture(scope="module")
def local():
    from coexplore import InProcessTrainer

    return _run(InProcessTrainer())


def _assert_equal(remote: dict, local: dict) -> None:
    a, b = remote["info"], local["info"]
    assert (a.name, a.in_shape, a.n_classes, a.n_fit, a.n_val, a.n_test, a.n_calib, a.steps_per_epoch,
            a.fingerprint) == (b.name, b.in_shape, b.n_classes, b.n_fit, b.n_val, b.n_test, b.n_calib,
                               b.steps_per_epoch, b.fingerprint)
    assert np.array_equal(a.test_labels, b.test_labels) and a.test_labels.dtype == b.test_labels.dtype
    assert json.loads(json.dumps(a.snn_space)) == json.loads(json.dumps(b.snn_space))
    assert remote["outcome"] == local["outcome"] and remote["outcome"].steps == STEPS
    assert _same(_tensors(remote["supernet"]), _tensors(local["supernet"]))
    assert remote["inherited"] == local["inherited"]
    assert remote["finetune"] == local["finetune"]
    for key in ("calibration", "test", "reloaded"):
        assert _exported_equal(remote[key], local[key]), key
    fa, fb = remote["fixed_point"], local["fixed_point"]
    assert (fa.accuracy, fa.qat_model_accuracy, fa.qat_model_counts_equal) == \
        (fb.accuracy, fb.qat_model_accuracy, fb.qat_model_counts_equal)
    assert np.array_equal(fa.output_spike_counts, fb.output_spike_counts)
    assert fa.output_spike_counts.dtype == fb.output_spike_counts.dtype and fa.output_spike_counts.shape[0] == 20
    assert _same(_tensors(remote["model"]), _tensors(local["model"]))


def test_remote_trainer_equals_the_in_process_trainer(trainer_server, local):
    with RemoteTrainer(trainer_server.endpoint) as remote_trainer:
        remote = _run(remote_trainer)
    _assert_equal(remote, local)
    # checkpoints handed over at the same steps with the same states (steps 2 and 4 of 5)
    assert [s for s, _ in remote["checkpoints"]] == [s for s, _ in local["checkpoints"]] == [2, 4]
    for (_, a), (_, b) in zip(remote["checkpoints"], local["checkpoints"]):
        assert _same(_tensors(a), _tensors(b))


def test_a_stop_hands_over_the_state_and_the_resumed_training_ends_alike(trainer_server, local):
    # should_stop's 4th call (before step 3) says stop: in-process the trainer would stop there; the
    # remote one stops at its next checkpoint (step 4), hands that state over (once more on the stop),
    # and the training resumed from it ends bit for bit as the uninterrupted in-process one
    with RemoteTrainer(trainer_server.endpoint) as remote_trainer:
        remote = _run(remote_trainer, stop_at=3)
    assert remote["stopped"]
    assert [s for s, _ in remote["checkpoints"]] == [2, 4, 4]
    assert remote["stop_calls"] == 5  # asked once per step done (4) and once before the next
    _assert_equal(remote, local)


def _stub(server):
    return trainer_pb2_grpc.TrainerServiceStub(grpc.insecure_channel(server.endpoint))


def _status(call, request) -> tuple:
    with pytest.raises(grpc.RpcError) as err:
        call(request, timeout=60)
    return err.value.code(), err.value.details()


def test_bad_session_requests_name_the_field(trainer_server):
    stub = _stub(trainer_server)
    sid = stub.OpenTrainingSession(pb.OpenTrainingSessionRequest()).session_id
    try:
        bad = grpc.StatusCode.INVALID_ARGUMENT
        pre = grpc.StatusCode.FAILED_PRECONDITION
        code, msg = _status(stub.NewSupernet, pb.NewSupernetRequest(session_id=sid))
        assert code == pre and "LoadTrainingData" in msg
        for data, field in ((pb.TrainingData(dataset="mnist-typo"), "data.dataset"),
                            (pb.TrainingData(limit_samples=5), "data.limit_samples"),
                            (pb.TrainingData(encoding="morse"), "data.encoding")):
            code, msg = _status(stub.LoadTrainingData, pb.LoadTrainingDataRequest(session_id=sid, data=data))
            assert code == bad and field in msg, msg
        data = pb.TrainingData(limit_samples=DATA["limit"], test_limit_samples=DATA["test_limit"],
                               calib_samples=DATA["calib_samples"], seed=DATA["seed"])
        stub.LoadTrainingData(pb.LoadTrainingDataRequest(session_id=sid, data=data), timeout=120)
        code, msg = _status(stub.TrainSupernet, pb.TrainSupernetRequest(session_id=sid, steps=2, batch_size=8,
                                                                        learning_rate=1e-3))
        assert code == pre and "NewSupernet" in msg
        stub.NewSupernet(pb.NewSupernetRequest(session_id=sid, seed=1), timeout=60)
        train = dict(session_id=sid, steps=2, batch_size=8, learning_rate=1e-3)
        for change, field in ((dict(steps=0), "steps"), (dict(batch_size=0), "batch_size"),
                              (dict(learning_rate=float("nan")), "learning_rate"),
                              (dict(chunk=pb.TrainingChunk(resume_state=b"not a state")), "chunk.resume_state")):
            code, msg = _status(stub.TrainSupernet, pb.TrainSupernetRequest(**{**train, **change}))
            assert code == bad and field in msg, msg
        for config, field in (("{", "config_json"), ('{"ops": ["conv3"]}', "config_json"),
                              ('{"ops": ["warp"], "widths": [8], "timesteps": 4, "tau": 2}', "config_json")):
            code, msg = _status(stub.InheritSubnet, pb.InheritSubnetRequest(session_id=sid, name="c", config_json=config))
            assert code == bad and field in msg, msg
        code, msg = _status(stub.ExportModel, pb.ExportModelRequest(session_id=sid, name="nope", weight_bits=4,
                                                                    split="test"))
        assert code == grpc.StatusCode.NOT_FOUND and "'nope'" in msg
        code, msg = _status(stub.LoadModelState, pb.LoadModelStateRequest(session_id=sid, name="c", state=b"\x00"))
        assert code == bad and "state" in msg
        code, msg = _status(stub.TestFixedPoint, pb.TestFixedPointRequest(session_id=sid, name="nope", weight_bits=4))
        assert code == grpc.StatusCode.NOT_FOUND
    finally:
        stub.CloseTrainingSession(pb.CloseTrainingSessionRequest(session_id=sid))


def test_unknown_and_closed_sessions_are_not_found(trainer_server):
    stub = _stub(trainer_server)
    sid = stub.OpenTrainingSession(pb.OpenTrainingSessionRequest()).session_id
    stub.CloseTrainingSession(pb.CloseTrainingSessionRequest(session_id=sid))
    calls = [(stub.CloseTrainingSession, pb.CloseTrainingSessionRequest), (stub.LoadTrainingData, pb.LoadTrainingDataRequest),
             (stub.NewSupernet, pb.NewSupernetRequest), (stub.TrainSupernet, pb.TrainSupernetRequest),
             (stub.InheritSubnet, pb.InheritSubnetRequest), (stub.ExportModel, pb.ExportModelRequest),
             (stub.FinetuneModel, pb.FinetuneModelRequest), (stub.TestFixedPoint, pb.TestFixedPointRequest),
             (stub.GetModelState, pb.GetModelStateRequest), (stub.LoadModelState, pb.LoadModelStateRequest)]
    for session in (sid, "session-000000000000"):
        for call, request in calls:
            code, msg = _status(call, request(session_id=session))
            assert code == grpc.StatusCode.NOT_FOUND and session in msg and "session_id" in msg, (call, msg)


def test_sessions_beyond_the_limit_are_refused(trainer_server):
    stub = _stub(trainer_server)  # --max-concurrent 1 + --max-queued 1: two sessions
    ids = [stub.OpenTrainingSession(pb.OpenTrainingSessionRequest(), timeout=60).session_id for _ in range(2)]
    try:
        code, msg = _status(stub.OpenTrainingSession, pb.OpenTrainingSessionRequest())
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "2 training sessions open" in msg
    finally:
        for sid in ids:
            stub.CloseTrainingSession(pb.CloseTrainingSessionRequest(session_id=sid))
    sid = stub.OpenTrainingSession(pb.OpenTrainingSessionRequest(), timeout=60).session_id  # room again
    stub.CloseTrainingSession(pb.CloseTrainingSessionRequest(session_id=sid))
