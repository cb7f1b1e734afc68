"""Prometheus metrics of the ANCoEF services (prometheus-client), named as docs/services.md lists them.

The gRPC metrics have the names and labels of grpc-ecosystem/go-grpc-prometheus, so that existing
dashboards fit: `grpc_type` is unary | server_stream | client_stream | bidi_stream and `grpc_code`
the CamelCase name of the status code (OK, InvalidArgument, DeadlineExceeded, ...). Every service
process also exports prometheus_client's default process_* and python_* metrics. One service runs
per process, so the metrics live in the default registry.
"""

from __future__ import annotations

import time
from typing import Iterable, Optional

import grpc
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

from services import __version__

GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")
_UNREGISTERED = {"registry": None}  # initialise() registers the groups a service exports

grpc_started = Counter("grpc_server_started_total", "RPCs started on the server.", GRPC_LABELS, **_UNREGISTERED)
grpc_handled = Counter("grpc_server_handled_total", "RPCs completed on the server, whatever their status code.",
                       GRPC_LABELS + ("grpc_code",), **_UNREGISTERED)
grpc_handling_seconds = Histogram("grpc_server_handling_seconds",
                                  "Time from the start of an RPC to its end on the server (seconds).", GRPC_LABELS,
                                  **_UNREGISTERED)
grpc_msg_sent = Counter("grpc_server_msg_sent_total", "Messages sent by the server (stream messages each count).",
                        GRPC_LABELS, **_UNREGISTERED)

build_info = Gauge("ancoef_build_info", "Always 1; the version and the service of this process.",
                   ("version", "service"), **_UNREGISTERED)
inflight_requests = Gauge("ancoef_inflight_requests", "Calls holding one of the --max-concurrent slots now.",
                          ("service",), **_UNREGISTERED)
queued_requests = Gauge("ancoef_queued_requests", "Calls waiting for a slot now (at most --max-queued).",
                        ("service",), **_UNREGISTERED)

simulations = Counter("ancoef_simulations_total", "Simulate and SimulateStream calls that finished with a result.",
                      ("preset", "semantics", "schedule"), **_UNREGISTERED)
simulated_samples = Counter("ancoef_simulated_samples_total", "Samples simulated by finished calls.", **_UNREGISTERED)
simulated_synaptic_ops = Counter("ancoef_simulated_synaptic_ops_total",
                                 "Synaptic operations simulated by finished calls.", **_UNREGISTERED)
simulated_chip_seconds = Counter("ancoef_simulated_chip_seconds_total",
                                 "Simulated chip time: the sum over samples of latency_s (seconds).", **_UNREGISTERED)
simulation_wall_seconds = Histogram("ancoef_simulation_wall_seconds", "Engine wall time per finished call (seconds).",
                                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                             30, 60, 120, 300), **_UNREGISTERED)
engine_synaptic_ops_per_second = Gauge("ancoef_engine_synaptic_ops_per_second",
                                       "Throughput of the last finished call: synaptic ops per engine wall second.",
                                       **_UNREGISTERED)

OPERATION_KINDS = ("training", "search", "exploration")
OPERATION_STATES = ("succeeded", "failed", "cancelled")
operations_running = Gauge("ancoef_operations_running", "Long-running operations running now.", ("kind",),
                           **_UNREGISTERED)
operations = Counter("ancoef_operations_total", "Long-running operations that ended, by final state.",
                     ("kind", "state"), **_UNREGISTERED)
search_simulations_done = Counter("ancoef_search_simulations_done_total",
                                  "Designs simulated by a search or exploration.", ("operation",), **_UNREGISTERED)
search_best_edp = Gauge("ancoef_search_best_edp_joule_seconds", "Best EDP meeting the targets so far (J*s).",
                        ("operation",), **_UNREGISTERED)
search_hypervolume = Gauge("ancoef_search_hypervolume", "Normalised hypervolume of the front so far (unitless).",
                           ("operation",), **_UNREGISTERED)
training_epoch = Gauge("ancoef_training_epoch", "Epochs done in the current training phase.", ("operation",),
                       **_UNREGISTERED)
training_loss = Gauge("ancoef_training_loss", "Loss of the last training step.", ("operation",), **_UNREGISTERED)
training_accuracy = Gauge("ancoef_training_accuracy_ratio", "Latest accuracy of a training (0..1).",
                          ("operation", "split"), **_UNREGISTERED)


def code_name(code: Optional[grpc.StatusCode]) -> str:
    """go-grpc-prometheus's grpc_code: OK, InvalidArgument, DeadlineExceeded, ..."""
    if code is None or code == grpc.StatusCode.OK:
        return "OK"
    return "".join(part.capitalize() for part in code.name.split("_"))


def serve_metrics(host: str, port: int) -> int:
    """Serve /metrics over HTTP on host:port (0: a free port); returns the port."""
    httpd, _ = start_http_server(port, addr=host, registry=REGISTRY)
    return int(httpd.server_port)


GROUPS = {
    "all": (grpc_started, grpc_handled, grpc_handling_seconds, grpc_msg_sent, build_info, inflight_requests,
            queued_requests),
    "simulator": (simulations, simulated_samples, simulated_synaptic_ops, simulated_chip_seconds,
                  simulation_wall_seconds, engine_synaptic_ops_per_second),
    "trainer": (operations_running, operations, training_epoch, training_loss, training_accuracy),
    "agent": (operations_running, operations, search_simulations_done, search_best_edp, search_hypervolume),
}


def initialise(service: str, methods: Iterable[tuple[str, str, str]]) -> None:
    """Register the metrics of `service` (simulator | trainer | agent) and create the series of every
    RPC at zero (as go-grpc-prometheus's InitializeMetrics does), so that rates and increases exist
    from the first scrape. `methods`: (grpc_type, service, method)."""
    for metric in GROUPS["all"] + GROUPS[service]:
        try:
            REGISTRY.register(metric)
        except ValueError:  # registered already (a second server in one process, as in a test)
            pass
    build_info.labels(version=__version__, service=service).set(1)
    inflight_requests.labels(service=service)
    queued_requests.labels(service=service)
    for labels in methods:
        grpc_started.labels(*labels)
        grpc_handled.labels(*labels, "OK")
        grpc_msg_sent.labels(*labels)
        grpc_handling_seconds.labels(*labels)
    if service != "simulator":
        for kind in OPERATION_KINDS:
            operations_running.labels(kind=kind)
            for state in OPERATION_STATES:
                operations.labels(kind=kind, state=state)


def _grpc_type(handler: grpc.RpcMethodHandler) -> str:
    if handler.request_streaming:
        return "bidi_stream" if handler.response_streaming else "client_stream"
    return "server_stream" if handler.response_streaming else "unary"


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts every RPC (started, handled by code, duration, messages sent)."""

    def __init__(self):
        self._wrapped = {}  # method -> (its handler, the counting handler), built once per RPC

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is None or known[0] is not handler:
            known = self._wrapped[method] = (handler, self._wrap(method, handler))
        return known[1]

    @staticmethod
    def _wrap(full_method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        _, service, method = full_method.split("/")
        labels = (_grpc_type(handler), service, method)
        kw = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary, labels), **kw)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(_streaming(handler.unary_stream, labels), **kw)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(_unary(handler.stream_unary, labels), **kw)
        return grpc.stream_stream_rpc_method_handler(_streaming(handler.stream_stream, labels), **kw)


class _Series:
    """The label children of one RPC, looked up once (a lookup costs more than an increment)."""

    def __init__(self, labels):
        self.labels = labels
        self.started = grpc_started.labels(*labels)
        self.sent = grpc_msg_sent.labels(*labels)
        self.seconds = grpc_handling_seconds.labels(*labels)
        self.handled = {}

    def finish(self, context, start: float, failed: bool) -> None:
        code = context.code() if hasattr(context, "code") else None
        if code is None and failed:
            code = grpc.StatusCode.UNKNOWN
        name = code_name(code)
        handled = self.handled.get(name)
        if handled is None:
            handled = self.handled[name] = grpc_handled.labels(*self.labels, name)
        handled.inc()
        self.seconds.observe(time.perf_counter() - start)


def _unary(behaviour, labels):
    series = _Series(labels)

    def wrapped(request, context):
        series.started.inc()
        start, failed = time.perf_counter(), True
        try:
            response = behaviour(request, context)
            failed = False
            series.sent.inc()
            return response
        finally:
            series.finish(context, start, failed)

    return wrapped


def _streaming(behaviour, labels):
    series = _Series(labels)

    def wrapped(request, context):
        series.started.inc()
        start, failed = time.perf_counter(), True
        try:
            for message in behaviour(request, context):
                series.sent.inc()
                yield message
            failed = False
        except GeneratorExit:  # the client went away: grpc closed the stream
            failed = False
            if context.code() is None:
                context.set_code(grpc.StatusCode.CANCELLED)
            raise
        finally:
            series.finish(context, start, failed)

    return wrapped
