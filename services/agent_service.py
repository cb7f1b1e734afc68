"""AgentService: hardware searches and co-explorations as long-running operations
(proto/ancoef/v1/agent.proto, docs/services.md).

Every operation is a run folder WORK_DIR/<id>/ holding its run store (runstore): StartSearch and
StartExploration check the spec, create the folder and its store (so the operation is durable
before the call returns) and queue it; up to --max-concurrent run at once, --max-queued more wait
(PENDING), beyond that RESOURCE_EXHAUSTED. An operation runs the coexplore library
(`coexplore.hwsearch.run_search`, `coexplore.explore`) in a child process of its own: torch's
seeds and thread settings belong to a process, so operations that run at once each give what the
command line gives alone with the same seed, and a cancel stops one at its next step boundary.

The stores are the truth: a restarted service lists every folder's operation from its store, and
resumes the ones the previous process left running (killed) or interrupted (SIGTERM); a
CANCELLED or FAILED one continues on ResumeOperation. A resumed run answers every finished
simulation from its store and ends as the uninterrupted run would. With --sim-endpoint every
simulation, mapping and area call goes to a SimulatorService; with --trainer-endpoint an
exploration trains on a TrainerService training session, and StartSearch takes
`spec.training_operation_id`: the network and test split of a training there, fetched once with
ExportNetwork (services/training_source.py) and kept in the operation's folder like any
spec.workload, so a resume needs no trainer.

    ancoef serve agent --port 50053 --trainer-endpoint 127.0.0.1:50052 --sim-endpoint 127.0.0.1:50051
    python -c "from services.client import AgentClient as A; a = A('127.0.0.1:50053'); \
        op = a.start_search(training_operation_id='train-0123456789ab', limit_samples=16, budget=40); \
        print(a.wait(op).progress.best_edp_js)"
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import queue
import shutil
import sqlite3
import sys
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from concurrent import futures
from pathlib import Path
from typing import Optional

import grpc

from services import metrics, serving, wire
from services.proto.ancoef.v1 import agent_pb2 as pb
from services.proto.ancoef.v1 import agent_pb2_grpc
from services.proto.ancoef.v1 import operation_pb2 as op_pb

SERVICE = "ancoef.v1.AgentService"
KINDS = {"search": op_pb.OPERATION_KIND_SEARCH, "exploration": op_pb.OPERATION_KIND_EXPLORATION}
PREFIX = {"search": "search-", "exploration": "explore-"}
TERMINAL = (op_pb.OPERATION_STATE_SUCCEEDED, op_pb.OPERATION_STATE_FAILED, op_pb.OPERATION_STATE_CANCELLED)
_STATE_LABEL = {op_pb.OPERATION_STATE_SUCCEEDED: "succeeded", op_pb.OPERATION_STATE_FAILED: "failed",
                op_pb.OPERATION_STATE_CANCELLED: "cancelled"}
# run-store states -> operation states; running / interrupted in a store this process does not
# run: the previous process died or stopped, so the operation waits to be resumed
_FROM_STORE = {"succeeded": op_pb.OPERATION_STATE_SUCCEEDED, "failed": op_pb.OPERATION_STATE_FAILED,
               "cancelled": op_pb.OPERATION_STATE_CANCELLED, "running": op_pb.OPERATION_STATE_PENDING,
               "interrupted": op_pb.OPERATION_STATE_PENDING}
PAGE_SIZE = 50
DEFAULT_WORK_DIR = "ancoef-agent"
KEEP_SERIES = 20  # operations whose per-operation series stay exported
STOP_GRACE_S = 30.0  # a child that reaches no step boundary within this after a cancel is ended


class AgentOperation:
    """One operation, its progress and the events that stop it; `changed` wakes the watchers."""

    def __init__(self, op_id: str, kind: str, folder: Path, created: float):
        self.id, self.kind, self.folder = op_id, kind, folder
        self.state = op_pb.OPERATION_STATE_PENDING
        self.error = ""
        self.created, self.started, self.finished = created, 0.0, 0.0
        self.progress = pb.SearchProgress(phase="pending")
        self.cancel = threading.Event()
        self.changed = threading.Condition()
        self.version = 0
        self.searches: dict = {}  # (flow, candidate) -> simulations done (an exploration runs several)
        self.counted = 0  # simulations counted in ancoef_search_simulations_done_total by this process

    def operation(self) -> op_pb.Operation:
        return op_pb.Operation(id=self.id, kind=KINDS[self.kind], state=self.state, error=self.error,
                               created_unix_s=self.created, started_unix_s=self.started,
                               finished_unix_s=self.finished)

    def snapshot(self) -> tuple[int, pb.WatchOperationResponse]:
        with self.changed:
            return self.version, pb.WatchOperationResponse(operation=self.operation(), progress=self.progress)

    def update(self, **changes) -> None:
        with self.changed:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self.changed.notify_all()

    def on_event(self, kind: str, payload) -> None:
        """A progress event from the child: a phase that started, or a search's progress."""
        with self.changed:
            p = pb.SearchProgress()
            p.CopyFrom(self.progress)
            if kind == "phase":
                p.phase = payload
            else:
                e = payload
                self.searches[(e["flow"], e["candidate"])] = e["simulations_done"]
                done = sum(self.searches.values())
                if self.kind == "search":
                    p.phase = "search"
                p.simulations_done, p.budget_simulations = done, e["budget"]
                p.candidate = e["candidate"] if self.kind == "exploration" else ""
                if e["best_edp_js"] is None:
                    p.ClearField("best_edp_js")
                else:
                    p.best_edp_js = e["best_edp_js"]
                    metrics.search_best_edp.labels(operation=self.id).set(e["best_edp_js"])
                p.hypervolume = e["hypervolume"]
                metrics.search_hypervolume.labels(operation=self.id).set(e["hypervolume"])
                if done > self.counted:
                    metrics.search_simulations_done.labels(operation=self.id).inc(done - self.counted)
                    self.counted = done
            p.elapsed_s = time.time() - self.started if self.started else 0.0
            self.progress = p
            self.version += 1
            self.changed.notify_all()


# -- reading the stores ------------------------------------------------------------------------------


def _query(folder: Path, sql: str, args: tuple = ()) -> list:
    from runstore import STORE_NAME

    conn = sqlite3.connect(Path(folder) / STORE_NAME, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _restore(folder: Path) -> Optional[AgentOperation]:
    """The operation of a run folder a previous process left, from its store (None: not a run)."""
    from runstore import STORE_NAME

    if not (folder / STORE_NAME).is_file():
        return None
    kind = "search" if folder.name.startswith(PREFIX["search"]) else "exploration"
    try:
        rows = _query(folder, "SELECT kind, state, created_at, updated_at, error, result FROM runs "
                              "ORDER BY created_at LIMIT 1")
        started = _query(folder, "SELECT MIN(started_at) FROM attempts")[0][0]
        done = _query(folder, "SELECT COUNT(*) FROM simulations")[0][0]
    except sqlite3.DatabaseError as exc:
        op = AgentOperation(folder.name, kind, folder, folder.stat().st_mtime)
        op.state, op.error = op_pb.OPERATION_STATE_FAILED, f"its run store cannot be read ({exc})"
        return op
    if not rows or rows[0][0] not in KINDS:
        return None
    kind, state, created, updated, error, result = rows[0]
    op = AgentOperation(folder.name, kind, folder, created)
    op.state, op.error, op.started = _FROM_STORE.get(state, op_pb.OPERATION_STATE_FAILED), error or "", started or 0.0
    if op.state in TERMINAL:
        op.finished = updated
    op.progress = pb.SearchProgress(phase=state, simulations_done=done)
    figures = json.loads(result) if result else {}
    if isinstance(figures.get("best_edp_js"), float):
        op.progress.best_edp_js = figures["best_edp_js"]
    if isinstance(figures.get("hypervolume"), float):
        op.progress.hypervolume = figures["hypervolume"]
    return op


def _front(points: list) -> list:
    """The non-dominated (energy, latency, area) designs among those that fit."""
    import numpy as np

    from agent.pareto import nondominated_mask

    fit = [p for p in points if p.get("fits", True) and p.get("energy_j") is not None]
    if not fit:
        return []
    mask = nondominated_mask(np.array([[p["energy_j"], p["latency_s"], p["area_mm2"]] for p in fit], float))
    return [p for p, m in zip(fit, mask) if m]


def front_of(op: AgentOperation) -> list:
    """FrontPoints of `op`: a finished search's archived front, an exploration's on-chip front once
    it has one; before that, the front of the designs simulated so far (search) or of each finished
    candidate search (exploration), read from the store."""
    archive = op.folder / "archive.json"
    if op.kind == "search" and op.state == op_pb.OPERATION_STATE_SUCCEEDED and archive.is_file():
        designs = json.loads(archive.read_text())["designs"]
        return [wire.front_point_to_proto(d) for d in designs if d["on_front"]]
    if op.kind == "search":
        from agent.evaluator import Targets

        settings = json.loads(_query(op.folder, "SELECT settings FROM runs LIMIT 1")[0][0])
        targets = Targets(settings.get("max_energy_j"), settings.get("max_latency_s"), settings.get("max_area_mm2"))
        rows = _query(op.folder, "SELECT design, energy_j, latency_s, edp_js, area_mm2 FROM simulations ORDER BY seq")
        points = [dict(design=json.loads(d), energy_j=e, latency_s=lat, edp_js=edp, area_mm2=a) for d, e, lat, edp, a
                  in rows]
        for p in points:
            p["meets_targets"] = not targets.violations(p)
        return [wire.front_point_to_proto(p) for p in _front(points)]
    final = _query(op.folder, "SELECT point FROM front ORDER BY position")
    if final:
        return [wire.front_point_to_proto(json.loads(p)) for (p,) in final]
    out = []
    for name, payload in _query(op.folder, "SELECT name, payload FROM steps WHERE name LIKE 'search/%' "
                                           "ORDER BY finished_at"):
        archive = json.loads(payload)["search"]["archive"]
        out += [wire.front_point_to_proto(p, name.split("/", 1)[1]) for p in _front(archive)]
    return out


# -- the child process -------------------------------------------------------------------------------


def _exit_with_parent(parent: int) -> None:
    """A child whose service died (SIGKILL) ends too, releasing its run folder for the next one."""
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.5)


def _in_child(kind: str, folder: str, endpoints: tuple, events, cancel, stop, parent: int) -> None:
    """Run (or continue) the operation of `folder` through the coexplore library."""
    from coexplore import Cancelled, PhaseEvent, SearchEvent

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()

    def should_stop() -> bool:
        if stop.is_set():  # the service stops: the run is left interrupted, resumed at the next start
            raise KeyboardInterrupt("the agent service stopped")
        return cancel.is_set()

    def progress(ev) -> None:
        if isinstance(ev, SearchEvent):
            events.put(("search", dataclasses.asdict(ev)))
        elif isinstance(ev, PhaseEvent):
            events.put(("phase", ev.phase))

    try:
        if kind == "search":
            _search(Path(folder), endpoints[0], progress, should_stop)
        else:
            _explore(Path(folder), endpoints, progress, should_stop)
        events.put(("succeeded", ""))
    except Cancelled:
        events.put(("cancelled", "cancelled by CancelOperation; ResumeOperation continues it"))
    except KeyboardInterrupt:
        events.put(("interrupted", "interrupted: the agent service stopped; it resumes when the service starts "
                                   "again on this work dir"))
    except Exception as exc:  # noqa: BLE001 - reported as the operation's error
        traceback.print_exc(file=sys.stderr)
        events.put(("failed", f"{type(exc).__name__}: {exc}"))


def _search(folder: Path, sim_endpoint, progress, should_stop) -> None:
    from coexplore.hwsearch import resume_search, run_search
    from services.cmd_search import remote_keywords, write_outputs

    store, settings, wl = resume_search(folder, {})
    sr = run_search(settings, store, wl, progress=progress, cancel=should_stop, **remote_keywords(sim_endpoint))
    write_outputs(sr, settings, store, folder)


def _explore(folder: Path, endpoints: tuple, progress, should_stop) -> None:
    from coexplore import explore, resume_run
    from services.cmd_explore import remote_simulate, trainer_backend

    sim_endpoint, trainer_endpoint = endpoints
    store, settings = resume_run(folder, {})
    trainer = trainer_backend(trainer_endpoint)
    try:
        explore(settings, store, out=folder, trainer=trainer, simulate=remote_simulate(sim_endpoint),
                progress=progress, cancel=should_stop)
    finally:
        if hasattr(trainer, "close"):
            trainer.close()


def _supervise(op: AgentOperation, endpoints: tuple, stopping: threading.Event) -> tuple[str, str]:
    """Run `op` in a child process, passing its events to `op.on_event`; (final state, detail)."""
    ctx = mp.get_context("spawn")
    events, cancel, stop = ctx.Queue(), ctx.Event(), ctx.Event()
    child = ctx.Process(target=_in_child, args=(op.kind, str(op.folder), endpoints, events, cancel, stop,
                                                os.getpid()), name=op.id, daemon=True)
    child.start()
    asked_at = None
    try:
        while True:
            if asked_at is None and (op.cancel.is_set() or stopping.is_set()):
                (stop if stopping.is_set() else cancel).set()
                asked_at = time.monotonic()
            try:
                kind, payload = events.get(timeout=0.2)
            except queue.Empty:
                if asked_at is not None and time.monotonic() - asked_at > STOP_GRACE_S:
                    child.terminate()
                    return ("interrupted" if stopping.is_set() else "cancelled"), "the operation's process was ended"
                if not child.is_alive():
                    try:
                        kind, payload = events.get(timeout=1.0)  # what it said last, if anything
                    except queue.Empty:
                        return "failed", f"the operation's process exited with status {child.exitcode}"
                else:
                    continue
            if kind in ("phase", "search"):
                op.on_event(kind, payload)
            else:
                return kind, payload
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()


# -- the service -------------------------------------------------------------------------------------


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self, settings: serving.ServerSettings, work_dir: Path, sim_endpoint: Optional[str] = None,
                 trainer_endpoint: Optional[str] = None):
        self.settings, self.work_dir = settings, work_dir
        self.endpoints = (sim_endpoint, trainer_endpoint)
        self.ops: "OrderedDict[str, AgentOperation]" = OrderedDict()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool = futures.ThreadPoolExecutor(max_workers=settings.max_concurrent, thread_name_prefix="operation")
        self.running = {k: metrics.operations_running.labels(kind=k) for k in KINDS}
        self.workers: list = []
        for folder in sorted(work_dir.iterdir(), key=lambda p: p.name):
            op = _restore(folder) if folder.is_dir() else None
            if op is None:
                continue
            self.ops[op.id] = op
            if op.state == op_pb.OPERATION_STATE_PENDING:  # the previous process died or stopped
                self._queue(op)

    # -- operations -------------------------------------------------------------------------------
    def _queue(self, op: AgentOperation) -> None:
        self.workers.append(self.pool.submit(self._run, op))

    def _get(self, op_id: str, context) -> AgentOperation:
        with self.lock:
            op = self.ops.get(op_id)
        if op is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"operation_id {op_id!r}: no such operation in this agent's "
                          f"work dir {self.work_dir}")
        return op

    def _admit(self, context) -> None:
        with self.lock:
            waiting = sum(1 for o in self.ops.values() if o.state == op_pb.OPERATION_STATE_PENDING)
            running = sum(1 for o in self.ops.values() if o.state == op_pb.OPERATION_STATE_RUNNING)
        if running + waiting >= self.settings.max_concurrent + self.settings.max_queued:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"{running} operations running and {waiting} waiting (--max-concurrent "
                          f"{self.settings.max_concurrent}, --max-queued {self.settings.max_queued}); retry later")

    def _run(self, op: AgentOperation) -> None:
        with op.changed:  # a cancel of the pending operation either comes first or sees it running
            if op.cancel.is_set() or self.stopping.is_set():
                return
            op.update(state=op_pb.OPERATION_STATE_RUNNING, started=op.started or time.time(), error="", finished=0.0)
        gauge = self.running[op.kind]
        gauge.inc()
        try:
            state, detail = _supervise(op, self.endpoints, self.stopping)
        except Exception as exc:  # noqa: BLE001 - the operation records why it failed
            traceback.print_exc(file=sys.stderr)
            state, detail = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            gauge.dec()
        if state == "interrupted":
            op.update(state=op_pb.OPERATION_STATE_PENDING, error=detail)
            return
        final = {"succeeded": op_pb.OPERATION_STATE_SUCCEEDED, "cancelled": op_pb.OPERATION_STATE_CANCELLED}.get(
            state, op_pb.OPERATION_STATE_FAILED)
        with op.changed:
            op.progress.phase = state
        op.update(state=final, error=detail, finished=time.time())
        self._ended(op)

    def _ended(self, op: AgentOperation) -> None:
        metrics.operations.labels(kind=op.kind, state=_STATE_LABEL[op.state]).inc()
        with self.lock:
            done = [o for o in self.ops.values() if o.state in TERMINAL]
        for old in done[:-KEEP_SERIES]:
            for series in (metrics.search_simulations_done, metrics.search_best_edp, metrics.search_hypervolume):
                try:
                    series.remove(old.id)
                except KeyError:
                    pass

    def _new(self, kind: str, context, prepare) -> AgentOperation:
        """Admit, then create the operation's folder and store with `prepare(folder)` (which checks
        the spec; nothing stays behind when it refuses it) and queue the operation."""
        self._admit(context)
        op_id = PREFIX[kind] + uuid.uuid4().hex[:12]
        folder = self.work_dir / op_id
        folder.mkdir(parents=True)
        try:
            prepare(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        op = AgentOperation(op_id, kind, folder, time.time())
        with self.lock:
            self.ops[op_id] = op
        self._queue(op)
        return op

    def stop(self) -> None:
        """SIGTERM: running operations stop at their next step boundary, left interrupted in their
        stores (the next start on this work dir resumes them); waits up to the grace period."""
        self.stopping.set()
        done, _ = futures.wait(self.workers, timeout=self.settings.grace_s)
        del done

    # -- RPCs -------------------------------------------------------------------------------------------
    def StartSearch(self, request, context):
        with serving.status_errors(context):
            given = wire.search_settings_from_proto(request.spec)
            source = self._search_source(request.spec, context)

            def prepare(folder: Path) -> None:
                from coexplore.hwsearch import SearchSettings, start_search
                from trueasync.workload import save_workload

                prefix = folder / "workload"  # the spec's network and spikes, so that a resume reloads them
                save_workload(source, prefix)
                try:
                    settings = SearchSettings(workload=str(prefix), **given).validated()
                    wl = settings.load_workload()
                    settings.check_workload(wl)
                except ValueError as exc:
                    raise ValueError(f"spec: {exc}") from None
                start_search(folder, settings.resolved(wl)).release()

            op = self._new("search", context, prepare)
            return pb.StartSearchResponse(operation=op.operation())

    def _search_source(self, spec, context):
        """The workload (trueasync.workload.Workload) the spec names: its own network and spikes, or
        a training operation's network and test split (ExportNetwork on the trainer service)."""
        from trainer.export import make_workload

        source = spec.WhichOneof("source")
        if source is None:
            raise ValueError("spec.source is not set: give spec.workload (a network and its input spikes) or "
                             "spec.training_operation_id")
        if source == "training_operation_id":
            return self._trained_source(spec, context)
        w = spec.workload
        for name in ("network", "input"):
            if not w.HasField(name):
                raise ValueError(f"spec.workload.{name} is not set")
        try:
            network, inputs = wire.network_from_proto(w.network), wire.spikes_from_proto(w.input)
        except ValueError as exc:
            raise ValueError(f"spec.workload: {exc}") from None
        return make_workload(network, inputs, {"source": "AgentService.StartSearch"})

    def _trained_source(self, spec, context):
        from services.training_source import AGENT_OPTIONS, TrainingSourceError, fetch_workload

        endpoint = self.endpoints[1]
        if endpoint is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          "spec.training_operation_id needs a trainer service, and this agent was started without "
                          "--trainer-endpoint: start it with `--trainer-endpoint HOST:PORT`, or send the network "
                          "as spec.workload (TrainerService.ExportNetwork gives it)")
        self._admit(context)  # a full agent refuses before the export, not after (StartSearch checks again)
        try:  # the test split, as agent.proto says; spec.limit_samples exports only the samples searched
            return fetch_workload(endpoint, spec.training_operation_id, "test", spec.limit_samples, AGENT_OPTIONS)
        except TrainingSourceError as exc:
            context.abort(exc.code, str(exc))

    def StartExploration(self, request, context):
        with serving.status_errors(context):
            from coexplore import ExploreSettings, start_run

            given = wire.exploration_settings_from_proto(request.spec)
            try:
                settings = ExploreSettings(**given).validated()
            except ValueError as exc:
                raise ValueError(f"spec: {exc}") from None
            op = self._new("exploration", context, lambda folder: start_run(folder, settings).release())
            return pb.StartExplorationResponse(operation=op.operation())

    def WatchOperation(self, request, context):
        op = self._get(request.operation_id, context)
        yield from serving.watch_operation(op, context, "operation")

    def GetFront(self, request, context):
        op = self._get(request.operation_id, context)
        with serving.status_errors(context):
            return pb.GetFrontResponse(operation=op.operation(), points=front_of(op))

    def CancelOperation(self, request, context):
        op = self._get(request.operation_id, context)
        if op.state in (op_pb.OPERATION_STATE_SUCCEEDED, op_pb.OPERATION_STATE_FAILED):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"operation_id {op.id!r} already ended {op_pb.OperationState.Name(op.state)}")
        with op.changed:
            op.cancel.set()
            pending = op.state == op_pb.OPERATION_STATE_PENDING
            if pending:  # not started here: its store stays as it is, resumable
                op.update(state=op_pb.OPERATION_STATE_CANCELLED, error="cancelled by CancelOperation before it ran; "
                          "ResumeOperation continues it", finished=time.time())
        if pending:
            self._ended(op)
        return pb.CancelOperationResponse(operation=op.operation())

    def ResumeOperation(self, request, context):
        op = self._get(request.operation_id, context)
        with op.changed:
            if op.state not in (op_pb.OPERATION_STATE_CANCELLED, op_pb.OPERATION_STATE_FAILED):
                context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                              f"operation_id {op.id!r} is {op_pb.OperationState.Name(op.state)}; only a CANCELLED "
                              "or FAILED operation can be resumed")
        self._admit(context)
        op.cancel.clear()
        op.update(state=op_pb.OPERATION_STATE_PENDING, error="", finished=0.0)
        self._queue(op)
        return pb.ResumeOperationResponse(operation=op.operation())

    def ListOperations(self, request, context):
        with self.lock:
            ops = sorted(self.ops.values(), key=lambda o: (o.created, o.id), reverse=True)
        if request.kind:
            ops = [o for o in ops if KINDS[o.kind] == request.kind]
        try:
            start = int(request.page_token or 0)
        except ValueError:
            start = -1
        if start < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"page_token {request.page_token!r} is not a token "
                          "this server gave")
        size = request.page_size or PAGE_SIZE
        page = ops[start:start + size]
        more = start + size < len(ops)
        return pb.ListOperationsResponse(operations=[o.operation() for o in page],
                                         next_page_token=str(start + size) if more else "")


def service(settings: serving.ServerSettings, work_dir: Optional[Path],
            sim_endpoint: Optional[str] = None, trainer_endpoint: Optional[str] = None) -> serving.Service:
    # a fixed default (not a temporary folder): the operations must outlive the process
    work = Path(work_dir) if work_dir is not None else Path(DEFAULT_WORK_DIR)
    work.mkdir(parents=True, exist_ok=True)
    servicer = AgentServicer(settings, work, sim_endpoint, trainer_endpoint)

    def add(server: grpc.Server) -> None:
        agent_pb2_grpc.add_AgentServiceServicer_to_server(servicer, server)

    return serving.Service("agent", [SERVICE], add, serving.method_labels(pb.DESCRIPTOR, "AgentService"),
                           before_stop=servicer.stop)
