"""Python clients of the ANCoEF gRPC services (docs/services.md).

    from services.client import SimulatorClient
    sim = SimulatorClient("127.0.0.1:50051")
    result = sim.simulate(network, arch, inputs, semantics="timestep", preset="async28")  # a trueasync.SimResult

`SimulatorClient.simulate` has the signature and result type of `trueasync.simulate`, and
`map_network` / `area_and_static_power` those of trueasync's (`area_mm2` the area alone), so a
client stands in for the in-process engine (`agent.evaluator.Evaluator(simulate=sim.simulate)`,
or `Evaluator(..., **sim.evaluator_keywords())` for every engine call). A client is picklable (a
Ray task gets its endpoint and opens its own channel). Errors: bad input raises
`trueasync.SimulationError` (a ValueError) with the server's message, a passed deadline
`TimeoutError`, a cancelled call `trueasync.SimulationCancelled` where the engine has it, any other
status `RemoteError`.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

import grpc
import numpy as np

from services import wire
from services.proto.ancoef.v1 import agent_pb2, agent_pb2_grpc, operation_pb2, trainer_pb2, trainer_pb2_grpc  # noqa: E501
from services.proto.ancoef.v1 import simulator_pb2 as pb
from services.proto.ancoef.v1 import simulator_pb2_grpc
from trueasync import model as tm
from trueasync.result import SimResult

DEFAULT_MAX_MESSAGE_BYTES = 64 << 20


class RemoteError(RuntimeError):
    """A call failed with a status other than INVALID_ARGUMENT, DEADLINE_EXCEEDED or CANCELLED."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


def _raise(err: grpc.RpcError):
    code, details = err.code(), err.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        raise wire.SimulationError(details) from None
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        raise TimeoutError(details or "deadline exceeded") from None
    if code == grpc.StatusCode.CANCELLED:
        try:
            from trueasync import SimulationCancelled
        except ImportError:
            raise RemoteError(code, details) from None
        raise SimulationCancelled(details) from None
    raise RemoteError(code, details) from None


@dataclass(frozen=True)
class Tls:
    """PEM files: the CA that signed the server (None: the system's roots), and for mutual TLS the
    client's certificate chain and key."""

    root_certificates: Optional[Path] = None
    certificate_chain: Optional[Path] = None
    private_key: Optional[Path] = None

    def credentials(self) -> grpc.ChannelCredentials:
        def read(p):
            return Path(p).read_bytes() if p is not None else None

        return grpc.ssl_channel_credentials(read(self.root_certificates), read(self.private_key),
                                            read(self.certificate_chain))


class _Channel:
    """Endpoint + options; the channel itself is opened lazily and never pickled."""

    def __init__(self, endpoint: str, *, timeout_s: Optional[float] = None, tls: Optional[Tls] = None,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES):
        if not isinstance(endpoint, str) or ":" not in endpoint:
            raise ValueError(f"endpoint must be HOST:PORT, got {endpoint!r}")
        self.endpoint, self.timeout_s, self.tls, self.max_message_bytes = endpoint, timeout_s, tls, max_message_bytes
        self._channel = None
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"endpoint": self.endpoint, "timeout_s": self.timeout_s, "tls": self.tls,
                "max_message_bytes": self.max_message_bytes}

    def __setstate__(self, state):
        self.__init__(state.pop("endpoint"), **state)

    def channel(self) -> grpc.Channel:
        with self._lock:
            if self._channel is None:
                options = [("grpc.max_receive_message_length", self.max_message_bytes),
                           ("grpc.max_send_message_length", self.max_message_bytes)]
                if self.tls is not None:
                    self._channel = grpc.secure_channel(self.endpoint, self.tls.credentials(), options=options)
                else:
                    self._channel = grpc.insecure_channel(self.endpoint, options=options)
                self._opened()
            return self._channel

    def _opened(self) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Block until the server answers (or raise TimeoutError)."""
        try:
            grpc.channel_ready_future(self.channel()).result(timeout=timeout_s)
        except grpc.FutureTimeoutError:
            raise TimeoutError(f"no server answered at {self.endpoint} within {timeout_s} s") from None


def _network_key(n: tm.Network) -> bytes:
    """A digest of everything in a network, so that a changed array is never served from the cache
    (the layers, frozen dataclasses of numbers, by their hash; every array by its bytes)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((n.name, float(n.weight_scale), hash(tuple(n.layers)))).encode())
    for p in n.projections:
        h.update(repr((type(p).__name__, p.pre, p.post, getattr(p, "stride", None), getattr(p, "padding", None)))
                 .encode())
        for a in _arrays(p):
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.view(np.uint8).reshape(-1) if a.size else b"")
    return h.digest()


def _arrays(p) -> list:
    return [np.ascontiguousarray(getattr(p, name)) for name in ("pre_index", "post_index", "weights")
            if getattr(p, name, None) is not None]


def _field_1(message: bytes) -> bytes:
    """`message` as field 1 (length-delimited) of an enclosing message."""
    size, head = len(message), bytearray(b"\x0a")
    while size > 0x7F:
        head.append(size & 0x7F | 0x80)
        size >>= 7
    head.append(size)
    return bytes(head) + message


class _Serialised:
    """A network's serialisation (field 1 of a SimulateRequest, which is also a whole
    RegisterNetworkRequest) and a snapshot of the object it came from, so that the same object
    asked again is recognised by a comparison (~0.1 ms for half a megabyte of weights) instead of a
    digest (~1.5 ms); an array changed in place fails the comparison and is digested again."""

    def __init__(self, network: tm.Network, key: bytes, raw: bytes):
        self.key, self.raw = key, raw
        self.ref = weakref.ref(network)
        self.layers = tuple(network.layers)
        self.projections = tuple(network.projections)
        self.arrays = [(a.dtype, a.shape, a.tobytes()) for p in network.projections for a in _arrays(p)]

    def same(self, network: tm.Network) -> bool:
        if self.ref() is not network or tuple(network.layers) != self.layers:
            return False
        if len(network.projections) != len(self.projections) or any(
                p is not q for p, q in zip(network.projections, self.projections)):
            return False
        now = [a for p in network.projections for a in _arrays(p)]
        return all(a.dtype == dtype and a.shape == shape and a.tobytes() == raw
                   for a, (dtype, shape, raw) in zip(now, self.arrays))


class SimulatorClient(_Channel):
    """TrueAsync on a SimulatorService: `simulate`, `map_network`, `area_and_static_power` as in
    trueasync, plus `simulate_stream`, `register_network`, `presets` and `limits`.

    A network is sent once: the first call with it registers it (RegisterNetwork) and later calls
    name it by its `network_id`. A server that no longer holds it (evicted, restarted) answers
    NOT_FOUND; the client registers it again and retries once, then sends it inline, so a call
    never fails for it. `register_networks=False` sends the network inline with every call."""

    # serialised networks by digest, and by the id of the object they came from: a search sends the
    # same network with every design, and serialising it costs more than a small simulation
    _NETWORKS: "OrderedDict[bytes, _Serialised]" = OrderedDict()
    _BY_OBJECT: "dict[int, _Serialised]" = {}
    _NETWORKS_LOCK = threading.Lock()
    _NETWORKS_MAX = 8

    def __init__(self, endpoint: str, *, register_networks: bool = True, **options):
        super().__init__(endpoint, **options)
        self.register_networks = register_networks
        self._ids: dict[bytes, str] = {}  # network digest -> network_id this server returned

    def __getstate__(self):
        return {**super().__getstate__(), "register_networks": self.register_networks}

    def _opened(self) -> None:
        ch = self._channel
        self._stub = simulator_pb2_grpc.SimulatorServiceStub(ch)
        # bytes in: the cached serialised network is sent as it is (inline, or to register it)
        self._simulate_raw = ch.unary_unary("/ancoef.v1.SimulatorService/Simulate", request_serializer=None,
                                            response_deserializer=pb.SimulateResponse.FromString)
        self._stream_raw = ch.unary_stream("/ancoef.v1.SimulatorService/SimulateStream", request_serializer=None,
                                           response_deserializer=pb.SimulateStreamResponse.FromString)
        self._register_raw = ch.unary_unary("/ancoef.v1.SimulatorService/RegisterNetwork", request_serializer=None,
                                            response_deserializer=pb.RegisterNetworkResponse.FromString)

    def _serialised(self, network: tm.Network) -> _Serialised:
        if not isinstance(network, tm.Network):
            raise wire.SimulationError(f"network must be a trueasync.Network, got {type(network).__name__}")
        cls = SimulatorClient
        with cls._NETWORKS_LOCK:
            entry = cls._BY_OBJECT.get(id(network))
        if entry is not None and entry.same(network):
            return entry
        key = _network_key(network)
        with cls._NETWORKS_LOCK:
            entry = cls._NETWORKS.get(key)
        if entry is None or entry.ref() is not network:
            raw = entry.raw if entry is not None else \
                pb.SimulateRequest(network=wire.network_to_proto(network)).SerializeToString()
            entry = _Serialised(network, key, raw)
        with cls._NETWORKS_LOCK:
            cls._NETWORKS[key] = entry
            cls._NETWORKS.move_to_end(key)
            cls._BY_OBJECT[id(network)] = entry
            while len(cls._NETWORKS) > cls._NETWORKS_MAX:
                cls._NETWORKS.popitem(last=False)
            live = {id(e) for e in cls._NETWORKS.values()}
            for k in [k for k, e in cls._BY_OBJECT.items() if id(e) not in live]:
                del cls._BY_OBJECT[k]
        return entry

    def _register(self, entry: _Serialised, refused: Optional[str] = None) -> Optional[str]:
        """The server's network_id of `entry`, registering it there; `refused` where the server
        will not keep a network that large (RESOURCE_EXHAUSTED; None: then the network goes inline)."""
        try:
            network_id = self._register_raw(entry.raw, timeout=self.timeout_s).network_id
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and refused is None:
                return None
            _raise(err)
        with self._lock:
            self._ids[entry.key] = network_id
        return network_id

    def register_network(self, network: tm.Network) -> str:
        """Register `network` on the server (RegisterNetwork); its network_id. `simulate` does it
        by itself; this is for a client that builds its own SimulateRequest."""
        self.channel()
        return self._register(self._serialised(network), refused="raise")

    def _by_id(self, entry: _Serialised, rest: pb.SimulateRequest, send):
        """`send(request bytes)` naming the network by its id (registered first where this client
        has not yet); on NOT_FOUND for the id, once more after registering it anew; then inline."""
        for attempt in range(2):
            with self._lock:
                network_id = self._ids.get(entry.key) if attempt == 0 else None
            if network_id is None:
                network_id = self._register(entry)
                if network_id is None:
                    break
            rest.network_id = network_id
            try:
                return send(rest.SerializeToString())
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND or "network_id" not in (err.details() or ""):
                    raise
                with self._lock:
                    self._ids.pop(entry.key, None)
        rest.ClearField("network_id")
        return send(entry.raw + rest.SerializeToString())

    def _request(self, network, arch, inputs, send, **options):
        entry = self._serialised(network)
        rest = wire.simulate_request_to_proto(None, arch, inputs, **options)
        if not self.register_networks:
            return send(entry.raw + rest.SerializeToString())
        return self._by_id(entry, rest, send)

    def _call_raising(self, fn, request, cancel=None, timeout_s=None):
        timeout = timeout_s if timeout_s is not None else self.timeout_s
        if cancel is None:
            return fn(request, timeout=timeout)
        future = fn.future(request, timeout=timeout)
        while True:
            try:
                return future.result(timeout=0.02)
            except grpc.FutureTimeoutError:
                if cancel.cancelled:
                    future.cancel()  # the server sees CANCELLED and stops the engine
            except grpc.FutureCancelledError:
                from trueasync import SimulationCancelled

                raise SimulationCancelled("cancelled through the CancelToken passed to simulate") from None

    def _call(self, fn, request, cancel=None, timeout_s=None):
        try:
            return self._call_raising(fn, request, cancel, timeout_s)
        except grpc.RpcError as err:
            _raise(err)

    def simulate(self, network: tm.Network, arch: tm.Architecture, inputs: np.ndarray, *,
                 semantics: str = "timestep", preset: Union[str, tm.CostModel] = "loihi",
                 core_of: Optional[np.ndarray] = None, threads: Optional[int] = None, trace: bool = False,
                 timeline: bool = False, cancel=None, schedule: str = "asynchronous") -> SimResult:
        """`trueasync.simulate` on the server (`cancel`: a trueasync.CancelToken that cancels the call)."""
        self.channel()
        try:
            response = self._request(network, arch, inputs, lambda r: self._call_raising(self._simulate_raw, r, cancel),
                                     semantics=semantics, preset=preset, core_of=core_of, threads=threads,
                                     trace=trace, timeline=timeline, schedule=schedule)
        except grpc.RpcError as err:
            _raise(err)
        return wire.simulate_response_from_proto(response, trace=trace)

    def simulate_stream(self, network: tm.Network, arch: tm.Architecture, inputs: np.ndarray, *,
                        semantics: str = "timestep", preset: Union[str, tm.CostModel] = "loihi",
                        core_of: Optional[np.ndarray] = None, threads: Optional[int] = None, trace: bool = False,
                        timeline: bool = False, schedule: str = "asynchronous") -> Iterator[pb.SimulateStreamResponse]:
        """SimulateStream's messages as they arrive (`wire.stream_to_result` gathers them into a SimResult)."""
        self.channel()

        def send(request: bytes):
            # SimulateStreamRequest.simulation (field 1) around the request; the first message, or
            # the error (NOT_FOUND comes before any message), decides whether to retry
            messages = self._stream_raw(_field_1(request), timeout=self.timeout_s)
            return messages, next(messages, None)

        try:
            messages, first = self._request(network, arch, inputs, send, semantics=semantics, preset=preset,
                                            core_of=core_of, threads=threads, trace=trace, timeline=timeline,
                                            schedule=schedule)
            if first is not None:
                yield first
                yield from messages
        except grpc.RpcError as err:
            _raise(err)

    def map_network(self, network: tm.Network, arch: tm.Architecture) -> np.ndarray:
        self.channel()
        r = self._call(self._stub.MapNetwork, pb.MapNetworkRequest(network=wire.network_to_proto(network),
                                                                   architecture=wire.architecture_to_proto(arch)))
        return np.asarray(r.core_of, dtype=np.int64)

    def area_and_static_power(self, arch: tm.Architecture,
                              preset: Union[str, tm.CostModel] = "loihi") -> tuple[float, float]:
        self.channel()
        request = pb.ComputeAreaRequest(architecture=wire.architecture_to_proto(arch))
        wire.costs_to_proto(preset, request)
        r = self._call(self._stub.ComputeArea, request)
        return r.area_mm2, r.static_power_w

    def area_mm2(self, arch: tm.Architecture, preset: Union[str, tm.CostModel] = "loihi") -> float:
        return self.area_and_static_power(arch, preset)[0]

    def evaluator_keywords(self) -> dict:
        """`agent.evaluator.Evaluator` keywords that put every engine call (simulation, mapping,
        area) on this server, so that a search gives what it gives in-process."""
        return {"simulate": self.simulate, "map_network": self.map_network, "area": self.area_mm2}

    def presets(self) -> list[tm.CostModel]:
        self.channel()
        return [wire.cost_model_from_proto(c) for c in self._call(self._stub.ListPresets, pb.ListPresetsRequest()).presets]

    def limits(self) -> pb.GetLimitsResponse:
        self.channel()
        return self._call(self._stub.GetLimits, pb.GetLimitsRequest())


TERMINAL = {operation_pb2.OPERATION_STATE_SUCCEEDED, operation_pb2.OPERATION_STATE_FAILED,
            operation_pb2.OPERATION_STATE_CANCELLED}


class _OperationClient(_Channel):
    """A service of long-running operations: plain calls, and `wait` on a `watch` stream."""

    def _call(self, fn, request):
        try:
            return fn(request, timeout=self.timeout_s)
        except grpc.RpcError as err:
            _raise(err)

    def _stream(self, fn, request):
        self.channel()
        try:
            yield from fn(request, timeout=self.timeout_s)
        except grpc.RpcError as err:
            _raise(err)

    def watch(self, operation_id: str):  # pragma: no cover - each client defines it
        raise NotImplementedError

    def wait(self, operation_id: str):
        """The terminal message of an operation (blocks until it ends)."""
        last = None
        for last in self.watch(operation_id):
            pass
        return last


class TrainerClient(_OperationClient):
    """The TrainerService: start a training, watch it, evaluate and export the trained network."""

    def _opened(self) -> None:
        self._stub = trainer_pb2_grpc.TrainerServiceStub(self._channel)

    def start_training(self, **spec) -> str:
        """Start a training (keywords: the fields of TrainingSpec); returns the operation id."""
        self.channel()
        r = self._call(self._stub.StartTraining, trainer_pb2.StartTrainingRequest(spec=trainer_pb2.TrainingSpec(**spec)))
        return r.operation.id

    def watch(self, operation_id: str) -> Iterator[trainer_pb2.WatchTrainingResponse]:
        """Progress messages until the training ends (the last one is terminal)."""
        self.channel()
        return self._stream(self._stub.WatchTraining, trainer_pb2.WatchTrainingRequest(operation_id=operation_id))

    def cancel(self, operation_id: str) -> operation_pb2.Operation:
        self.channel()
        return self._call(self._stub.CancelTraining,
                          trainer_pb2.CancelTrainingRequest(operation_id=operation_id)).operation

    def evaluate(self, operation_id: str, split: str = "test", limit_samples: int = 0) -> trainer_pb2.EvaluateResponse:
        self.channel()
        return self._call(self._stub.Evaluate, trainer_pb2.EvaluateRequest(operation_id=operation_id, split=split,
                                                                            limit_samples=limit_samples))

    def export_network(self, operation_id: str, split: str = "test", limit_samples: int = 0) -> "Export":
        self.channel()
        r = self._call(self._stub.ExportNetwork, trainer_pb2.ExportNetworkRequest(
            operation_id=operation_id, split=split, limit_samples=limit_samples))
        return Export(network=wire.network_from_proto(r.network), inputs=wire.spikes_from_proto(r.input),
                      labels=np.asarray(r.labels, dtype=np.int64), arch=wire.architecture_from_proto(r.architecture),
                      weight_bits=r.weight_bits, layer_scales=list(r.layer_scales), message=r)


class RemoteTrainer(_OperationClient):
    """`coexplore.backends.TrainerBackend` on a TrainerService's training session: the
    co-exploration's training, evaluation, folding and export run on the server, and give what
    `InProcessTrainer` gives in this process (bit for bit: the session is a trainer process of its
    own). The session opens at the first `load_data` and ends with `close()`.

    Resumable training: each TrainSupernet / FinetuneModel call returns at the trainer's next
    checkpoint (every `every` steps) with the state there; this client hands it to `on_checkpoint`,
    asks `should_stop` once per step done (as the in-process trainer does, before each step) and
    calls again with the state until the training ends. A stop is honoured at the next
    checkpoint; with `every` = 0 a training is one call, which no `should_stop` interrupts.
    """

    def __init__(self, endpoint: str, **options):
        super().__init__(endpoint, **options)
        self.session_id: Optional[str] = None

    def __getstate__(self):
        raise TypeError("a RemoteTrainer holds a session on its server; open one per process instead")

    def _opened(self) -> None:
        self._stub = trainer_pb2_grpc.TrainerServiceStub(self._channel)

    def _do(self, method: str, request_type, **fields):
        self.channel()
        if self.session_id is None:
            self.session_id = self._call(self._stub.OpenTrainingSession,
                                         trainer_pb2.OpenTrainingSessionRequest()).session_id
        return self._call(getattr(self._stub, method), request_type(session_id=self.session_id, **fields))

    def close(self) -> None:
        if self.session_id is not None and self._channel is not None:
            session, self.session_id = self.session_id, None
            try:
                self._stub.CloseTrainingSession(trainer_pb2.CloseTrainingSessionRequest(session_id=session),
                                                timeout=30)
            except grpc.RpcError:
                pass  # the server is gone, and its session with it
        super().close()

    # -- TrainerBackend ---------------------------------------------------------------------------
    def load_data(self, settings):
        r = self._do("LoadTrainingData", trainer_pb2.LoadTrainingDataRequest,
                     data=wire.training_data_to_proto(settings))
        return wire.data_info_from_proto(r)

    def new_supernet(self, seed: int) -> None:
        self._do("NewSupernet", trainer_pb2.NewSupernetRequest, seed=int(seed))

    def _resumable(self, method: str, request_type, fields: dict, resume, every, on_checkpoint, should_stop):
        if should_stop():  # asked before the first step, as in-process: save the state there and stop
            result = self._do(method, request_type, chunk=_chunk(resume, every, stop_now=True), **fields).result
            on_checkpoint(int(result.steps_done), result.state)
            return wire.train_outcome_from_proto(result, stopped_early=True)
        while True:
            result = self._do(method, request_type, chunk=_chunk(resume, every), **fields).result
            if not result.finished:
                on_checkpoint(int(result.steps_done), result.state)
            # in-process, should_stop is asked before each step: the rest of this call's steps ...
            asked = [should_stop() for _ in range(max(0, int(result.steps_done) - int(result.start_step) - 1))]
            if result.finished:
                return wire.train_outcome_from_proto(result, stopped_early=False)
            resume = result.state
            if any(asked) | should_stop():  # ... and the next one's (both, as in-process)
                on_checkpoint(int(result.steps_done), resume)  # in-process: saved once more when it stops
                return wire.train_outcome_from_proto(result, stopped_early=True)

    def train_supernet(self, steps, *, lr, batch_size, seed, resume, every, on_checkpoint, should_stop):
        fields = dict(steps=int(steps), learning_rate=float(lr), batch_size=int(batch_size), seed=int(seed))
        return self._resumable("TrainSupernet", trainer_pb2.TrainSupernetRequest, fields, resume, every,
                               on_checkpoint, should_stop)

    def inherit(self, name, config):
        import json

        r = self._do("InheritSubnet", trainer_pb2.InheritSubnetRequest, name=name, config_json=json.dumps(config))
        return wire.inherited_from_proto(r)

    def export(self, name, bits, split):
        r = self._do("ExportModel", trainer_pb2.ExportModelRequest, name=name, weight_bits=int(bits), split=split)
        return wire.exported_from_proto(r)

    def finetune(self, name, bits, steps, *, batch_size, seed, resume, every, on_checkpoint, should_stop):
        fields = dict(name=name, weight_bits=int(bits), steps=int(steps), batch_size=int(batch_size), seed=int(seed))
        return self._resumable("FinetuneModel", trainer_pb2.FinetuneModelRequest, fields, resume, every,
                               on_checkpoint, should_stop)

    def fixed_point_test(self, name, bits, exported):
        r = self._do("TestFixedPoint", trainer_pb2.TestFixedPointRequest, name=name, weight_bits=int(bits),
                     network=wire.network_to_proto(exported.network), input=wire.spikes_to_proto(exported.inputs))
        return wire.fixed_point_eval_from_proto(r)

    def state(self, name) -> bytes:
        return self._do("GetModelState", trainer_pb2.GetModelStateRequest, name=name).state

    def load_state(self, name, data) -> None:
        self._do("LoadModelState", trainer_pb2.LoadModelStateRequest, name=name, state=bytes(data))


def _chunk(resume: Optional[bytes], every: int, stop_now: bool = False) -> trainer_pb2.TrainingChunk:
    m = trainer_pb2.TrainingChunk(checkpoint_every_steps=max(0, int(every)), stop_now=stop_now)
    if resume is not None:
        m.resume_state = bytes(resume)
    return m


@dataclass
class Export:
    """A trained network and a split's input spikes, as engine types (and the message they came in)."""

    network: tm.Network
    inputs: np.ndarray
    labels: np.ndarray
    arch: tm.Architecture
    weight_bits: int
    layer_scales: list
    message: trainer_pb2.ExportNetworkResponse


class AgentClient(_OperationClient):
    """The AgentService: hardware searches and co-explorations as operations kept in run stores."""

    def _opened(self) -> None:
        self._stub = agent_pb2_grpc.AgentServiceStub(self._channel)

    def start_search(self, network: Optional[tm.Network] = None, inputs: Optional[np.ndarray] = None, *,
                     training_operation_id: Optional[str] = None, algorithm: str = "rl", budget: int = 200,
                     seed: int = 0, preset: Optional[str] = None, ranges: Optional[dict] = None,
                     max_energy_j: Optional[float] = None, max_latency_s: Optional[float] = None,
                     max_area_mm2: Optional[float] = None, limit_samples: int = 0) -> str:
        """Start `ancoef search` on the server for `network` and its input spikes, or for the
        network and test split of a training operation of the agent's trainer service
        (`training_operation_id`); the operation id. `ranges`: parameter -> "lo:hi" or a comma
        list, as `ancoef search --PARAMETER` takes; `limit_samples`: N samples only (the first N; of a
        training, ExportNetwork's class-balanced N)."""
        self.channel()
        if (training_operation_id is None) == (network is None or inputs is None):
            raise ValueError("give network and inputs, or training_operation_id")
        source = dict(training_operation_id=training_operation_id) if training_operation_id is not None else dict(
            workload=agent_pb2.SearchWorkload(network=wire.network_to_proto(network),
                                              input=wire.spikes_to_proto(inputs)))
        targets = agent_pb2.Targets(max_energy_j=max_energy_j, max_latency_s=max_latency_s, max_area_mm2=max_area_mm2)
        spec = agent_pb2.SearchSpec(
            **source, algorithm=agent_pb2.SearchAlgorithm.Value("SEARCH_ALGORITHM_" + algorithm.upper()),
            budget_simulations=budget, seed=seed, targets=targets, limit_samples=limit_samples,
            ranges=[agent_pb2.ParameterRange(parameter=k, range=v) for k, v in (ranges or {}).items()])
        if preset is not None:
            spec.preset = preset
        return self._call(self._stub.StartSearch, agent_pb2.StartSearchRequest(spec=spec)).operation.id

    def start_exploration(self, **spec) -> str:
        """Start `ancoef explore` on the server (keywords: the fields of ExplorationSpec); the operation id."""
        self.channel()
        request = agent_pb2.StartExplorationRequest(spec=agent_pb2.ExplorationSpec(**spec))
        return self._call(self._stub.StartExploration, request).operation.id

    def watch(self, operation_id: str) -> Iterator[agent_pb2.WatchOperationResponse]:
        """Progress (phase, simulations done, best EDP, hypervolume) until the operation ends."""
        self.channel()
        return self._stream(self._stub.WatchOperation, agent_pb2.WatchOperationRequest(operation_id=operation_id))

    def front(self, operation_id: str) -> list:
        """The Pareto front so far (FrontPoint messages; final once the operation succeeded)."""
        self.channel()
        return list(self._call(self._stub.GetFront, agent_pb2.GetFrontRequest(operation_id=operation_id)).points)

    def cancel(self, operation_id: str) -> operation_pb2.Operation:
        self.channel()
        return self._call(self._stub.CancelOperation,
                          agent_pb2.CancelOperationRequest(operation_id=operation_id)).operation

    def resume(self, operation_id: str) -> operation_pb2.Operation:
        self.channel()
        return self._call(self._stub.ResumeOperation,
                          agent_pb2.ResumeOperationRequest(operation_id=operation_id)).operation

    def operations(self, kind: int = 0) -> list:
        """Every operation of the server (newest first), of one OperationKind if given."""
        self.channel()
        out, token = [], ""
        while True:
            r = self._call(self._stub.ListOperations, agent_pb2.ListOperationsRequest(kind=kind, page_token=token))
            out += list(r.operations)
            token = r.next_page_token
            if not token:
                return out


def wait_for_server(endpoint: str, timeout_s: float = 20.0, tls: Optional[Tls] = None) -> None:
    """Block until a server listens at `endpoint` (health check SERVING), or raise TimeoutError."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout_s
    with _Channel(endpoint, tls=tls) as c:
        stub = health_pb2_grpc.HealthStub(c.channel())
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no server became ready at {endpoint} within {timeout_s} s")
            time.sleep(0.1)
