"""Training sessions of the TrainerService: `coexplore.backends.TrainerBackend` over gRPC.

A session is one `InProcessTrainer` in a child process of its own (spawned: torch's seeds, global
RNG and thread settings belong to a process, so sessions that run at once each compute what the
in-process trainer computes alone). The servicer forwards each session RPC's serialised request
down a pipe; the child answers with the serialised response or a status. Calls on one session run
one at a time, in order.

Resumable training (TrainSupernet, FinetuneModel) returns at the trainer's next checkpoint with
the state there (`TrainingChunk`); the client (`services.client.RemoteTrainer`) calls again with
that state, and the trainer's resume is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import sys
import threading
import time
import traceback
import uuid
import grpc

from services import serving, wire
from services.proto.ancoef.v1 import trainer_pb2 as pb

IDLE_CLOSE_S = 3600.0  # a session nobody called for this long is closed (its client is gone)
METHODS = {  # RPC -> (request type, response type)
    "LoadTrainingData": (pb.LoadTrainingDataRequest, pb.LoadTrainingDataResponse),
    "NewSupernet": (pb.NewSupernetRequest, pb.NewSupernetResponse),
    "TrainSupernet": (pb.TrainSupernetRequest, pb.TrainSupernetResponse),
    "InheritSubnet": (pb.InheritSubnetRequest, pb.InheritSubnetResponse),
    "ExportModel": (pb.ExportModelRequest, pb.ExportModelResponse),
    "FinetuneModel": (pb.FinetuneModelRequest, pb.FinetuneModelResponse),
    "TestFixedPoint": (pb.TestFixedPointRequest, pb.TestFixedPointResponse),
    "GetModelState": (pb.GetModelStateRequest, pb.GetModelStateResponse),
    "LoadModelState": (pb.LoadModelStateRequest, pb.LoadModelStateResponse),
}


class Status(Exception):
    """A call's answer other than OK: a grpc.StatusCode name and a message naming the field."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# -- the child: one InProcessTrainer --------------------------------------------------------------


def _positive(value, field: str) -> None:
    if value < 1:
        raise Status("INVALID_ARGUMENT", f"{field} must be at least 1, got {value}")


def _bits(value: int) -> int:
    if not 2 <= value <= 8:
        raise Status("INVALID_ARGUMENT", f"weight_bits must be 2..8, got {value}")
    return int(value)


def _state(data: bytes, field: str) -> dict:
    """`data` loaded as the trainer loads it; INVALID_ARGUMENT unless it is a torch.save'd state."""
    from coexplore.backends import _from_bytes

    try:
        st = _from_bytes(data)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds for bytes that are no state
        raise Status("INVALID_ARGUMENT", f"{field} is not a state this trainer wrote ({type(exc).__name__}: "
                                         f"{str(exc)[:200]})") from None
    if not isinstance(st, dict):
        raise Status("INVALID_ARGUMENT", f"{field} is not a state this trainer wrote")
    return st


class Worker:
    """Executes session RPCs on its `InProcessTrainer`."""

    def __init__(self):
        from coexplore.backends import InProcessTrainer

        self.trainer = InProcessTrainer()
        self.loaded = False

    def _need_data(self) -> None:
        if not self.loaded:
            raise Status("FAILED_PRECONDITION", "this session has no data: call LoadTrainingData first")

    def _need_supernet(self) -> None:
        self._need_data()
        if self.trainer.supernet is None:
            raise Status("FAILED_PRECONDITION", "this session has no supernet: call NewSupernet first")

    def _need_model(self, name: str) -> None:
        self._need_data()
        if name not in self.trainer.models:
            known = ", ".join(sorted(self.trainer.models)) or "none yet"
            raise Status("NOT_FOUND", f"name {name!r}: no such model in this session (models: {known})")

    def LoadTrainingData(self, r):
        info = self.trainer.load_data(wire.training_data_from_proto(r.data))
        self.loaded = True
        return wire.data_info_to_proto(info)

    def NewSupernet(self, r):
        self._need_data()
        self.trainer.new_supernet(int(r.seed))
        return pb.NewSupernetResponse()

    def TrainSupernet(self, r):
        self._need_supernet()
        _positive(r.steps, "steps")
        _positive(r.batch_size, "batch_size")
        if not math.isfinite(r.learning_rate) or r.learning_rate <= 0:
            raise Status("INVALID_ARGUMENT", f"learning_rate must be > 0 and finite, got {r.learning_rate}")

        def call(resume, every, on_checkpoint, should_stop):
            return self.trainer.train_supernet(int(r.steps), lr=r.learning_rate, batch_size=int(r.batch_size),
                                               seed=int(r.seed), resume=resume, every=every,
                                               on_checkpoint=on_checkpoint, should_stop=should_stop)

        return pb.TrainSupernetResponse(result=_chunk(call, r.chunk))

    def InheritSubnet(self, r):
        self._need_supernet()
        if not r.name:
            raise Status("INVALID_ARGUMENT", "name is empty (the model name to keep the sub-network under)")
        from trainer.supernet import SubnetConfig

        config = wire.subnet_config_from_json(r.config_json)
        try:
            self.trainer.space.validate(SubnetConfig.from_dict(config))
        except ValueError as exc:
            raise Status("INVALID_ARGUMENT", f"config_json: {exc}") from None
        return wire.inherited_to_proto(self.trainer.inherit(r.name, config))

    def ExportModel(self, r):
        self._need_model(r.name)
        if r.split not in wire.SPLITS:
            raise Status("INVALID_ARGUMENT", f"split must be one of {', '.join(wire.SPLITS)}, got {r.split!r}")
        return wire.exported_to_proto(self.trainer.export(r.name, _bits(r.weight_bits), r.split))

    def FinetuneModel(self, r):
        self._need_model(r.name)
        bits = _bits(r.weight_bits)
        _positive(r.steps, "steps")
        _positive(r.batch_size, "batch_size")

        def call(resume, every, on_checkpoint, should_stop):
            return self.trainer.finetune(r.name, bits, int(r.steps), batch_size=int(r.batch_size), seed=int(r.seed),
                                         resume=resume, every=every, on_checkpoint=on_checkpoint,
                                         should_stop=should_stop)

        return pb.FinetuneModelResponse(result=_chunk(call, r.chunk))

    def TestFixedPoint(self, r):
        from coexplore.backends import Exported

        self._need_model(r.name)
        bits = _bits(r.weight_bits)
        if not r.HasField("network"):
            raise Status("INVALID_ARGUMENT", "network is not set (ExportModel's network for split test)")
        if not r.HasField("input"):
            raise Status("INVALID_ARGUMENT", "input is not set (ExportModel's input spikes for split test)")
        exported = Exported(wire.network_from_proto(r.network), {}, wire.spikes_from_proto(r.input))
        if len(exported.inputs) != len(self.trainer.test_y):
            raise Status("INVALID_ARGUMENT", f"input has {len(exported.inputs)} samples, the test split "
                                             f"{len(self.trainer.test_y)}")
        return wire.fixed_point_eval_to_proto(self.trainer.fixed_point_test(r.name, bits, exported))

    def GetModelState(self, r):
        if r.name == "supernet":
            self._need_supernet()
        else:
            self._need_model(r.name)
        return pb.GetModelStateResponse(state=self.trainer.state(r.name))

    def LoadModelState(self, r):
        self._need_data()
        kind = _state(r.state, "state").get("kind")
        if kind == "supernet":
            self._need_supernet()
        elif kind != "folded":
            raise Status("INVALID_ARGUMENT", f"state is not a model state (kind {kind!r}, not supernet or folded)")
        elif not r.name or r.name == "supernet":
            raise Status("INVALID_ARGUMENT", f"name {r.name!r}: a folded model's state needs its model name")
        self.trainer.load_state(r.name, r.state)
        return pb.LoadModelStateResponse()

    def handle(self, method: str, data: bytes) -> tuple:
        request_type, _ = METHODS[method]
        try:
            request = request_type.FromString(data)
            return "OK", getattr(self, method)(request).SerializeToString()
        except Status as exc:
            return exc.code, str(exc)
        except (ValueError, FileNotFoundError) as exc:  # the trainer's and wire's messages name the input
            return "INVALID_ARGUMENT", str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: INTERNAL with the traceback on stderr
            traceback.print_exc(file=sys.stderr)
            return "INTERNAL", f"internal error ({type(exc).__name__}: {exc}); please report it"


def _chunk(call, chunk: pb.TrainingChunk) -> pb.TrainingChunkResult:
    """Run a resumable training `call` until its next checkpoint (or the end, or at once when
    `chunk.stop_now`): `should_stop` turns true once the trainer has handed over a checkpoint,
    so the trainer saves the state there and returns."""
    resume = chunk.resume_state if chunk.HasField("resume_state") else None
    start = 0
    if resume is not None:
        st = _state(resume, "chunk.resume_state")
        if "step" not in st or "total" not in st:
            raise Status("INVALID_ARGUMENT", "chunk.resume_state is not a training state (no step)")
        start = int(st["step"])
    saved: list = []

    def on_checkpoint(step: int, data: bytes) -> None:
        saved.append((step, data))

    def should_stop() -> bool:
        return chunk.stop_now or bool(saved)

    outcome = call(resume, int(chunk.checkpoint_every_steps), on_checkpoint, should_stop)
    return wire.chunk_result_to_proto(outcome, saved[-1] if saved else None, start)


def _child_main(conn) -> None:
    worker = Worker()
    conn.send(("ready", ""))
    while True:
        try:
            method, data = conn.recv()
        except EOFError:
            return
        if method is None:
            return
        conn.send(worker.handle(method, data))


# -- the server side ----------------------------------------------------------------------------


class Session:
    def __init__(self, session_id: str):
        ctx = mp.get_context("spawn")
        self.id = session_id
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_child_main, args=(child_conn,), name=session_id, daemon=True)
        self.process.start()
        child_conn.close()
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.closed = False

    def call(self, method: str, data: bytes) -> tuple:
        with self.lock:
            self.last_used = time.monotonic()
            if self.closed:
                return "NOT_FOUND", f"session_id {self.id!r} was closed"
            try:
                self.conn.send((method, data))
                answer = self.conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                self.closed = True
                self.process.join(timeout=1)
                return "INTERNAL", (f"session_id {self.id!r}: its trainer process ended (exit status "
                                    f"{self.process.exitcode}); open a new session")
            self.last_used = time.monotonic()
            return answer

    def wait_ready(self) -> None:
        kind, _ = self.conn.recv()
        assert kind == "ready"

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            try:
                self.conn.send((None, b""))
            except (OSError, BrokenPipeError):
                pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class Sessions:
    """The open sessions of a TrainerService (at most `limit`)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.sessions: dict = {}
        self.lock = threading.Lock()

    def _close_idle(self) -> None:
        now = time.monotonic()
        with self.lock:
            idle = [s for s in self.sessions.values() if now - s.last_used > IDLE_CLOSE_S and not s.lock.locked()]
            for s in idle:
                del self.sessions[s.id]
        for s in idle:
            s.close()

    def open(self, context) -> pb.OpenTrainingSessionResponse:
        self._close_idle()
        with self.lock:
            if len(self.sessions) >= self.limit:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"{len(self.sessions)} training sessions open, this server's limit (--max-concurrent "
                              "+ --max-queued); close one (CloseTrainingSession) or retry later")
            session = Session("session-" + uuid.uuid4().hex[:12])
            self.sessions[session.id] = session
        try:
            session.wait_ready()
        except (EOFError, OSError, AssertionError):
            with self.lock:
                self.sessions.pop(session.id, None)
            context.abort(grpc.StatusCode.INTERNAL, "the session's trainer process did not start")
        return pb.OpenTrainingSessionResponse(session_id=session.id)

    def _get(self, session_id: str, context) -> Session:
        with self.lock:
            s = self.sessions.get(session_id)
        if s is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"session_id {session_id!r}: no such training session on "
                                                     "this server (closed, idle for an hour, or of a previous "
                                                     "trainer process): open a new one")
        return s

    def close(self, session_id: str, context) -> pb.CloseTrainingSessionResponse:
        s = self._get(session_id, context)
        with self.lock:
            self.sessions.pop(session_id, None)
        s.close()
        return pb.CloseTrainingSessionResponse()

    def call(self, method: str, request, context):
        s = self._get(request.session_id, context)
        code, payload = s.call(method, request.SerializeToString())
        if code != "OK":
            if code == "INTERNAL" and s.closed:
                with self.lock:
                    self.sessions.pop(s.id, None)
            context.abort(getattr(grpc.StatusCode, code), payload)
        return METHODS[method][1].FromString(payload)

    def close_all(self) -> None:
        with self.lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for s in sessions:
            s.close()


def add_methods(servicer_class) -> None:
    """Give the servicer class one handler per session RPC (each forwards to its session)."""
    for name in METHODS:
        def handler(self, request, context, _name=name):
            with serving.status_errors(context):
                return self.sessions.call(_name, request, context)

        handler.__name__ = name
        setattr(servicer_class, name, handler)
