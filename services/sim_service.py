"""SimulatorService: TrueAsync over gRPC (proto/ancoef/v1/simulator.proto, docs/services.md).

Requests are converted by `services.wire` and simulated by `trueasync.simulate`, so a remote
result equals the in-process one bit for bit. A deadline or a client's cancellation stops the
engine through its cancellation flag. A network is converted once: RegisterNetwork keeps it in a
bounded LRU cache under its content address (`network_id`), which later requests name instead of
carrying it; an inline network is cached the same way, under the digest of its bytes.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import threading
import time
from collections import OrderedDict
from concurrent import futures
from dataclasses import dataclass
from typing import Optional

import grpc
import numpy as np
from google.protobuf.message import DecodeError

import trueasync as ta
from services import metrics, serving, wire
from services.proto.ancoef.v1 import simulator_pb2 as pb

SERVICE = "ancoef.v1.SimulatorService"


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; over a limit answers RESOURCE_EXHAUSTED naming it."""

    max_message_bytes: int = 64 * serving.MIB
    max_samples: int = 4096
    max_steps: int = 1 << 16
    max_neurons: int = 1 << 24
    max_synapses: int = 1 << 28
    max_input_spike_bits: int = 1 << 32
    max_threads: int = os.cpu_count() or 1
    max_cached_networks: int = 64
    max_cached_network_bytes: int = 256 * serving.MIB

    def to_proto(self, admission: serving.Admission) -> pb.GetLimitsResponse:
        return pb.GetLimitsResponse(
            max_message_bytes=self.max_message_bytes, max_samples=self.max_samples, max_steps=self.max_steps,
            max_neurons=self.max_neurons, max_synapses=self.max_synapses,
            max_input_spike_bits=self.max_input_spike_bits, max_threads=self.max_threads,
            max_concurrent_requests=admission.max_concurrent, max_queued_requests=admission.max_queued,
            max_cached_networks=self.max_cached_networks, max_cached_network_bytes=self.max_cached_network_bytes)


# ---- raw messages: split out the network to cache it ------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def split_field(raw: bytes, number: int) -> tuple[Optional[bytes], bytes]:
    """(the bytes of length-delimited field `number`, the message without it), scanning only the
    top level. Protobuf merges repeated occurrences of a message field; then (None, raw) is
    returned and the caller parses the whole message."""
    found, rest, i, start = None, [], 0, 0
    while i < len(raw):
        field_start = i
        key, i = _varint(raw, i)
        wire_type = key & 7
        if wire_type == 0:
            _, i = _varint(raw, i)
        elif wire_type == 1:
            i += 8
        elif wire_type == 5:
            i += 4
        elif wire_type == 2:
            length, i = _varint(raw, i)
            if key >> 3 == number:
                if found is not None:
                    return None, raw
                rest.append(raw[start:field_start])
                found = raw[i:i + length]
                start = i + length
            i += length
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        if i > len(raw):
            raise ValueError("truncated message")
    rest.append(raw[start:])
    return found, b"".join(rest)


def network_id(canonical: bytes) -> str:
    """The content address of a serialised Network (RegisterNetworkResponse.network_id)."""
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


# Requests larger than this have their inline network split out of the bytes unparsed (a half
# megabyte network parses in about a millisecond, and is found in the cache by its digest).
SPLIT_ABOVE_BYTES = 64 << 10


class NetworkCache:
    """Networks converted to the engine's types (trueasync.PreparedNetwork) by network_id, bounded
    by a count and by the bytes of their serialised form (GetLimits.max_cached_networks,
    .max_cached_network_bytes); least recently used out first."""

    def __init__(self, max_count: int, max_bytes: int):
        self.max_count, self.max_bytes = max_count, max_bytes
        self._entries: OrderedDict[str, tuple[ta.PreparedNetwork, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[ta.PreparedNetwork]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, network: ta.PreparedNetwork, size: int) -> bool:
        """Keep `network` (serialised size `size`); False if it alone is over the byte limit."""
        if size > self.max_bytes or self.max_count < 1:
            return False
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True
            self._entries[key] = (network, size)
            self._bytes += size
            while len(self._entries) > self.max_count or self._bytes > self.max_bytes:
                _, (_, old) = self._entries.popitem(last=False)
                self._bytes -= old
        return True

    def __len__(self) -> int:
        return len(self._entries)


# ---- the service --------------------------------------------------------------------------------


def _preset_label(preset) -> str:
    return preset if isinstance(preset, str) else "custom"  # a client's cost model names are unbounded


class SimulatorServicer:
    def __init__(self, limits: Limits, admission: serving.Admission):
        self.limits = limits
        self.admission = admission
        self.networks = NetworkCache(limits.max_cached_networks, limits.max_cached_network_bytes)

    # -- request checks -----------------------------------------------------------------------------
    def _parse(self, raw: bytes, context) -> tuple[pb.SimulateRequest, Optional[ta.PreparedNetwork]]:
        """The request without its network, and the network: converted from the inline bytes (or
        their cached conversion), or the registered one its network_id names."""
        try:
            if len(raw) <= SPLIT_ABOVE_BYTES:  # a network by id, or a small one: one parse is cheaper than a scan
                network_bytes, request = None, pb.SimulateRequest.FromString(raw)
            else:
                network_bytes, rest = split_field(raw, 1)
                request = pb.SimulateRequest.FromString(rest if network_bytes is not None else raw)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the client's bytes
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request is not a SimulateRequest: {exc}")
        self._check_input(request)
        source = request.WhichOneof("network_source")
        if network_bytes is not None:
            if source is not None:
                raise ta.SimulationError("request sets both network and network_id (a oneof): send one")
            return request, self._inline(network_bytes)
        if source == "network_id":
            return request, self._registered(request.network_id, context)
        if source == "network":  # a small request, or repeated occurrences merged by the full parse
            return request, self._inline(request.network.SerializeToString())
        return request, None

    def _inline(self, network_bytes: bytes) -> ta.PreparedNetwork:
        """An inline network, converted once (to the engine's types: later calls skip even that
        conversion): cached under the digest of its bytes (its network_id when they are the
        canonical serialisation, as a Python client's are)."""
        key = network_id(network_bytes)
        network = self.networks.get(key)
        if network is None:
            try:
                message = pb.Network.FromString(network_bytes)
            except DecodeError as exc:
                raise ta.SimulationError(f"request.network is not a valid Network message: {exc}") from None
            network = self._prepared(message)
            self.networks.put(key, network, len(network_bytes))
        return network

    def _registered(self, key: str, context) -> ta.PreparedNetwork:
        network = self.networks.get(key)
        if network is None:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"request.network_id {key!r} is not registered on this server (never registered, or "
                          f"evicted from its cache of {self.limits.max_cached_networks} networks / "
                          f"{self.limits.max_cached_network_bytes} bytes): RegisterNetwork it again and retry")
        return network

    def _over(self, field: str, value: int, limit_name: str) -> None:
        limit = getattr(self.limits, limit_name)
        if value > limit:
            raise serving.LimitExceeded(f"{field} = {value} exceeds this server's limit of {limit} (GetLimits.{limit_name})")

    def _check_input(self, m: pb.SimulateRequest) -> None:
        i = m.input
        self._over("input.samples", i.samples, "max_samples")
        self._over("input.steps", i.steps, "max_steps")
        self._over("input.neurons", i.neurons, "max_neurons")
        self._over("input.samples x steps x neurons", i.samples * i.steps * i.neurons, "max_input_spike_bits")

    def _prepared(self, message: pb.Network) -> ta.PreparedNetwork:
        """A wire network converted and checked against the limits, in the form the cache keeps."""
        network = wire.network_from_proto(message)
        self._check_network(network)
        return ta.PreparedNetwork(network)

    def _check_network(self, n: ta.Network) -> None:
        self._over("network neurons", sum(int(layer.size) for layer in n.layers), "max_neurons")
        self._over("network synapses", sum(int(np.asarray(p.weights).size) for p in n.projections), "max_synapses")

    def _kwargs(self, request: pb.SimulateRequest, network) -> dict:
        kwargs = wire.simulate_request_from_proto(request, network=network)
        kwargs["threads"] = min(kwargs["threads"] or self.limits.max_threads, self.limits.max_threads)
        return kwargs

    def _check_size(self, message, context) -> None:
        size = message.ByteSize()
        if size > self.limits.max_message_bytes:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"the response would be {size} bytes, over this server's limit of "
                          f"{self.limits.max_message_bytes} (GetLimits.max_message_bytes): ask for fewer samples, "
                          "or no trace or timeline")

    # -- RPCs -------------------------------------------------------------------------------------------
    def Simulate(self, raw: bytes, context):
        with _errors(context):
            request, network = self._parse(raw, context)
            kwargs = self._kwargs(request, network)
            with self.admission.slot(context), _engine_cancel(context) as token:
                result = _simulate(kwargs, token)
            _record(result, kwargs)
            response = wire.simulate_response_to_proto(result, kwargs.get("schedule", "asynchronous"))
            self._check_size(response, context)
            return response

    def SimulateStream(self, raw: bytes, context):
        with _errors(context):
            try:
                inner, rest = split_field(raw, 1)
                if inner is None:
                    inner = pb.SimulateStreamRequest.FromString(raw).simulation.SerializeToString()
                elif rest:
                    pb.SimulateStreamRequest.FromString(rest)  # unknown or malformed other fields
            except Exception as exc:  # noqa: BLE001
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request is not a SimulateStreamRequest: {exc}")
            request, network = self._parse(inner, context)
            kwargs = self._kwargs(request, network)
        yield from self._stream(kwargs, context)

    def _stream(self, kwargs: dict, context):
        """One sample per engine call, `threads` samples at once, each sent as it finishes."""
        with _errors(context), self.admission.slot(context), _engine_cancel(context) as token:
            inputs, workers = kwargs["inputs"], kwargs["threads"]
            if len(inputs) == 0:  # no sample to stream: the engine says what is wrong
                _simulate(kwargs, token)
                raise ta.SimulationError("input.samples must be at least 1")
            one = {**kwargs, "threads": 1}
            t0 = time.perf_counter()
            pool = futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(inputs))))
            try:
                jobs = {pool.submit(_simulate, {**one, "inputs": inputs[i:i + 1]}, token): i
                        for i in range(len(inputs))}
                results = []
                for job in futures.as_completed(jobs):
                    result = job.result()
                    results.append((jobs[job], result))
                    message = pb.SimulateStreamResponse(sample=wire.sample_result_to_proto(result, jobs[job]))
                    self._check_size(message, context)
                    yield message
            except ta.SimulationCancelled:
                serving.abort_cancelled(context, "the simulation")
            finally:
                token.cancel()  # a client that left mid-stream stops the samples still running
                pool.shutdown(wait=True, cancel_futures=True)
            wall = time.perf_counter() - t0
            results.sort(key=lambda item: item[0])
            last = results[-1][1]
            _record_many([r for _, r in results], kwargs, wall)
            yield pb.SimulateStreamResponse(totals=wire.stream_totals_to_proto(last, wall,
                                                                               kwargs.get("schedule", "asynchronous")))

    def ListPresets(self, request, context):
        with _errors(context):
            return pb.ListPresetsResponse(presets=[wire.cost_model_to_proto(ta.load_preset(name))
                                                   for name in ta.preset_names()])

    def GetLimits(self, request, context):
        return self.limits.to_proto(self.admission)

    def RegisterNetwork(self, request: pb.RegisterNetworkRequest, context):
        with _errors(context):
            if not request.HasField("network"):
                raise ta.SimulationError("request.network is missing")
            canonical = request.network.SerializeToString(deterministic=True)
            key = network_id(canonical)
            if self.networks.get(key) is None:  # registering again is idempotent
                self._over("request.network serialised bytes", len(canonical), "max_cached_network_bytes")
                if not self.networks.put(key, self._prepared(request.network), len(canonical)):
                    raise serving.LimitExceeded("this server keeps no registered networks (GetLimits.max_cached_networks "
                                                "= 0): send the network inline")
            return pb.RegisterNetworkResponse(network_id=key, network_bytes=len(canonical))

    def MapNetwork(self, request, context):
        with _errors(context):
            for field in ("network", "architecture"):
                if not request.HasField(field):
                    raise ta.SimulationError(f"request.{field} is missing")
            network = wire.network_from_proto(request.network)
            self._check_network(network)
            core_of = ta.map_network(network, wire.architecture_from_proto(request.architecture))
            return pb.MapNetworkResponse(core_of=core_of.tolist())

    def ComputeArea(self, request, context):
        with _errors(context):
            if not request.HasField("architecture"):
                raise ta.SimulationError("request.architecture is missing")
            area, static = ta.area_and_static_power(wire.architecture_from_proto(request.architecture),
                                                    wire.costs_from_proto(request))
            return pb.ComputeAreaResponse(area_mm2=area, static_power_w=static)


def _errors(context) -> serving.status_errors:
    return serving.status_errors(context, (ta.SimulationCancelled,))


class _Deadlines:
    """One thread that cancels the tokens of calls whose deadline has passed (grpc ends such a call
    only once its handler returns, so the engine must be told)."""

    def __init__(self):
        self._heap: list = []
        self._dropped = 0  # entries of calls that ended first, still in the heap
        self._cv = threading.Condition()
        self._thread = None

    def add(self, deadline: float, token: ta.CancelToken) -> list:
        entry = [deadline, id(token), token]
        with self._cv:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            if self._heap[0] is entry:  # the watcher sleeps until the earliest: wake it for a new earliest only
                self._cv.notify()
        return entry

    def discard(self, entry: list) -> None:
        with self._cv:
            if entry[2] is None:
                return
            entry[2] = None  # the call ended first; the entry goes when it comes up, or now:
            self._dropped += 1
            if self._dropped > 1024 and 2 * self._dropped > len(self._heap):  # long deadlines pile up
                self._heap = [e for e in self._heap if e[2] is not None]
                heapq.heapify(self._heap)
                self._dropped = 0

    def _run(self) -> None:
        with self._cv:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2] is None or self._heap[0][0] <= now):
                    _, _, token = heapq.heappop(self._heap)
                    if token is not None:
                        token.cancel()
                    else:
                        self._dropped -= 1
                self._cv.wait(timeout=self._heap[0][0] - now if self._heap else None)


DEADLINES = _Deadlines()


class _engine_cancel:
    """A cancellation flag that the end of the call (client cancel) or its deadline raises in the engine."""

    def __init__(self, context):
        self.context = context
        self.entry = None

    def __enter__(self) -> ta.CancelToken:
        token = ta.CancelToken()
        self.context.add_callback(token.cancel)
        remaining = self.context.time_remaining()
        if remaining is not None and remaining < 1e9:  # grpc gives ~1e19 s for "no deadline"
            self.entry = DEADLINES.add(time.monotonic() + max(0.0, remaining), token)
        return token

    def __exit__(self, *exc):
        if self.entry is not None:
            DEADLINES.discard(self.entry)
        return False


def _simulate(kwargs: dict, token: ta.CancelToken) -> ta.SimResult:
    if token.cancelled:  # e.g. a stream's sample that had not started when the client left
        raise ta.SimulationCancelled("cancelled before it started")
    return ta.simulate(**kwargs, cancel=token)


def _record(result: ta.SimResult, kwargs: dict) -> None:
    _record_many([result], kwargs, result.wall_s)


_SIMULATIONS: dict = {}  # (preset, semantics, schedule) -> its counter (a labels() lookup costs more than inc)


def _record_many(results: list, kwargs: dict, wall_s: float) -> None:
    labels = (_preset_label(kwargs["preset"]), kwargs["semantics"], kwargs.get("schedule", "asynchronous"))
    counter = _SIMULATIONS.get(labels)
    if counter is None:
        counter = _SIMULATIONS[labels] = metrics.simulations.labels(*labels)
    counter.inc()
    ops = sum(int(r.counts["synaptic_ops"].sum()) for r in results)
    metrics.simulated_samples.inc(sum(r.n_samples for r in results))
    metrics.simulated_synaptic_ops.inc(ops)
    metrics.simulated_chip_seconds.inc(sum(float(r.latency_s.sum()) for r in results))
    metrics.simulation_wall_seconds.observe(wall_s)
    if wall_s > 0:
        metrics.engine_synaptic_ops_per_second.set(ops / wall_s)


def _serialise(message) -> bytes:
    return message.SerializeToString()


def service(limits: Limits, admission: serving.Admission) -> serving.Service:
    servicer = SimulatorServicer(limits, admission)
    raw = None  # Simulate and SimulateStream take raw bytes: the servicer splits out the network

    def unary(fn, request_type):
        return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=request_type.FromString,
                                                   response_serializer=_serialise)

    handlers = {
        "Simulate": grpc.unary_unary_rpc_method_handler(servicer.Simulate, request_deserializer=raw,
                                                        response_serializer=pb.SimulateResponse.SerializeToString),
        "SimulateStream": grpc.unary_stream_rpc_method_handler(
            servicer.SimulateStream, request_deserializer=raw,
            response_serializer=pb.SimulateStreamResponse.SerializeToString),
        "ListPresets": unary(servicer.ListPresets, pb.ListPresetsRequest),
        "GetLimits": unary(servicer.GetLimits, pb.GetLimitsRequest),
        "RegisterNetwork": unary(servicer.RegisterNetwork, pb.RegisterNetworkRequest),
        "MapNetwork": unary(servicer.MapNetwork, pb.MapNetworkRequest),
        "ComputeArea": unary(servicer.ComputeArea, pb.ComputeAreaRequest),
    }
    expected = {m.name for m in pb.DESCRIPTOR.services_by_name["SimulatorService"].methods}
    assert set(handlers) == expected, "every RPC of simulator.proto has a handler"

    def add(server: grpc.Server) -> None:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    return serving.Service("simulator", [SERVICE], add, serving.method_labels(pb.DESCRIPTOR, "SimulatorService"))

