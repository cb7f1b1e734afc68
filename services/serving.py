"""What every ANCoEF gRPC server shares: binding (loopback by default, port 0 allowed), TLS,
standard health checking and reflection, the message-size limit, bounded concurrency with a
bounded wait queue, Prometheus metrics and a graceful stop on SIGTERM (docs/services.md).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import traceback
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services import metrics

MIB = 1 << 20
# Threads beyond the slots and the queue, for health checks, reflection, small calls and streams
# that wait on an operation (WatchTraining).
LIGHT_WORKERS = 16


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 0
    metrics_port: Optional[int] = None  # None: no metrics endpoint; 0: a free port
    max_concurrent: int = 2
    max_queued: int = 8
    max_message_bytes: int = 64 * MIB
    grace_s: float = 20.0
    tls_cert: Optional[Path] = None
    tls_key: Optional[Path] = None
    tls_client_ca: Optional[Path] = None

    def check(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(f"--max-concurrent must be at least 1, got {self.max_concurrent}")
        if self.max_queued < 0:
            raise ValueError(f"--max-queued must be at least 0, got {self.max_queued}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)")
        for name in ("tls_cert", "tls_key", "tls_client_ca"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise FileNotFoundError(f"--{name.replace('_', '-')} {path} does not exist")


class LimitExceeded(Exception):
    """A request over one of the server's documented limits (RESOURCE_EXHAUSTED)."""


class status_errors:
    """Map what a handler raises to a status: bad input (ValueError, which trueasync.SimulationError
    is, or FileNotFoundError) -> INVALID_ARGUMENT with its message, LimitExceeded ->
    RESOURCE_EXHAUSTED, the engine's cancellation -> CANCELLED or DEADLINE_EXCEEDED, anything else
    (a bug) -> INTERNAL naming its type, with the traceback on stderr. An abort passes through."""

    def __init__(self, context: grpc.ServicerContext, cancelled: tuple = ()):
        self.context, self.cancelled = context, cancelled

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, GeneratorExit) or self.context.code() is not None:
            return False
        if isinstance(exc, LimitExceeded):
            self.context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        if isinstance(exc, (ValueError, FileNotFoundError)):
            self.context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if self.cancelled and isinstance(exc, self.cancelled):
            abort_cancelled(self.context, "the simulation")
        traceback.print_exception(kind, exc, tb, file=sys.stderr)
        self.context.abort(grpc.StatusCode.INTERNAL, f"internal error ({kind.__name__}: {exc}); please report it")


# grpc core's deadline timer runs on its own (monotonic) clock, while time_remaining() is computed from
# time.time(): the timer may end a call, and fire its cancellation callback, just before time_remaining()
# reaches zero. A call that ends this close to its deadline is reported as DEADLINE_EXCEEDED, not CANCELLED.
DEADLINE_SLACK_S = 0.05


def expired(context: grpc.ServicerContext) -> bool:
    """The call's deadline has passed (grpc keeps such a call active until its handler returns)."""
    remaining = context.time_remaining()
    return remaining is not None and remaining <= DEADLINE_SLACK_S


def abort_cancelled(context: grpc.ServicerContext, what: str) -> None:
    """End a call whose client went away or whose deadline passed, with the code that says which."""
    if expired(context):
        context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline exceeded: {what} stopped")
    context.abort(grpc.StatusCode.CANCELLED, f"cancelled by the client: {what} stopped")


class Admission:
    """At most `max_concurrent` calls run at once; up to `max_queued` more wait (honouring their
    deadline and cancellation); beyond that a call gets RESOURCE_EXHAUSTED at once."""

    def __init__(self, service: str, max_concurrent: int, max_queued: int):
        self.service, self.max_concurrent, self.max_queued = service, max_concurrent, max_queued
        self._cv = threading.Condition()
        self._running = 0
        self._waiting = 0
        self._inflight = metrics.inflight_requests.labels(service=service)
        self._queued = metrics.queued_requests.labels(service=service)

    @contextlib.contextmanager
    def slot(self, context: grpc.ServicerContext) -> Iterator[None]:
        with self._cv:
            if self._running >= self.max_concurrent:
                if self._waiting >= self.max_queued:
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"server busy: {self._running} calls running and {self._waiting} waiting "
                                  f"(--max-concurrent {self.max_concurrent}, --max-queued {self.max_queued}); "
                                  "retry later")
                self._waiting += 1
                self._queued.set(self._waiting)
                try:
                    while self._running >= self.max_concurrent:
                        if not context.is_active() or expired(context):
                            abort_cancelled(context, "the call waited in the queue and")
                        self._cv.wait(timeout=0.05)
                finally:
                    self._waiting -= 1
                    self._queued.set(self._waiting)
            self._running += 1
            self._inflight.set(self._running)
        try:
            yield
        finally:
            with self._cv:
                self._running -= 1
                self._inflight.set(self._running)
                self._cv.notify()


def _credentials(s: ServerSettings) -> grpc.ServerCredentials:
    key, cert = Path(s.tls_key).read_bytes(), Path(s.tls_cert).read_bytes()
    ca = Path(s.tls_client_ca).read_bytes() if s.tls_client_ca else None
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)


def grpc_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes)]


@dataclass
class Service:
    """One ANCoEF service: its metrics name, full gRPC service names (for health and reflection),
    a function that adds its handlers to a server, and what to do before a graceful stop."""

    name: str  # simulator | trainer | agent
    full_names: Sequence[str]
    add_to_server: Callable[[grpc.Server], None]
    methods: Sequence[tuple[str, str, str]]  # (grpc_type, service, method) for the metrics
    before_stop: Callable[[], None] = lambda: None

    @property
    def command(self) -> str:
        return "ancoef serve " + ("sim" if self.name == "simulator" else self.name)


def method_labels(file_descriptor, service_name: str) -> list[tuple[str, str, str]]:
    desc = file_descriptor.services_by_name[service_name]
    return [("server_stream" if m.server_streaming else "unary", desc.full_name, m.name) for m in desc.methods]


def run(service: Service, s: ServerSettings, ready: Callable[[str], None] = print) -> int:
    """Serve until SIGTERM or SIGINT, then stop gracefully; returns the exit status (0)."""
    s.check()
    metrics.initialise(service.name, service.methods)
    workers = s.max_concurrent + s.max_queued + LIGHT_WORKERS
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"ancoef-{service.name}"),
                         interceptors=[metrics.MetricsInterceptor()], options=grpc_options(s.max_message_bytes),
                         maximum_concurrent_rpcs=workers)
    service.add_to_server(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service.full_names) + [health.SERVICE_NAME, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    host = f"[{s.host}]" if ":" in s.host and not s.host.startswith("[") else s.host  # IPv6 literals
    address = f"{host}:{s.port}"
    if s.tls_cert is not None:
        port = server.add_secure_port(address, _credentials(s))
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise ValueError(f"cannot listen on {address}")
    metrics_port = metrics.serve_metrics(s.host, s.metrics_port) if s.metrics_port is not None else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    for name in [""] + list(service.full_names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    ready(f"{service.command}: listening on {host}:{port} "
          f"({'mutual TLS' if s.tls_client_ca else 'TLS' if s.tls_cert else 'plaintext'}); metrics "
          + (f"on http://{host}:{metrics_port}/metrics" if metrics_port is not None else "off")
          + f"; max {s.max_concurrent} concurrent + {s.max_queued} queued calls, messages up to "
          f"{s.max_message_bytes // MIB} MiB")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    t0 = time.perf_counter()
    print(f"{service.command}: stopping (new calls refused, in-flight calls get {s.grace_s:g} s)",
          flush=True)
    health_servicer.enter_graceful_shutdown()
    service.before_stop()
    server.stop(s.grace_s).wait()
    print(f"{service.command}: stopped after {time.perf_counter() - t0:.2f} s", flush=True)
    return 0


def watch_operation(op, context: grpc.ServicerContext, what: str) -> Iterator:
    """The messages of a watch stream: `op.snapshot()` now, then at every change of `op.version`
    (coalesced; `op.changed` is the Condition that announces them) until one is terminal, the
    client goes away or the call's deadline passes (the operation goes on)."""
    from services.proto.ancoef.v1 import operation_pb2 as op_pb

    terminal = (op_pb.OPERATION_STATE_SUCCEEDED, op_pb.OPERATION_STATE_FAILED, op_pb.OPERATION_STATE_CANCELLED)
    seen = -1
    while True:
        version, msg = op.snapshot()
        if version != seen:
            seen = version
            yield msg
            if msg.operation.state in terminal:
                return
        with op.changed:
            if op.version == seen:
                op.changed.wait(timeout=0.5)
        if not context.is_active():
            return
        if expired(context):
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline exceeded while watching; the {what} goes on "
                          "(watch it again)")
