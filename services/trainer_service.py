"""TrainerService: `ancoef train` as a long-running operation (proto/ancoef/v1/trainer.proto).

StartTraining validates the spec, queues the training and returns its operation at once; up to
--max-concurrent trainings run at once, --max-queued more wait (PENDING), beyond that
RESOURCE_EXHAUSTED. A training runs `services.cmd_train.cmd_train` into WORK_DIR/<id> in a child
process of its own (torch's seeds and threads are per process, so concurrent trainings stay
deterministic), so its outputs are those of the command line. WatchTraining streams its progress;
CancelTraining stops it at its next training step (or ends the process if no step comes within
CANCEL_GRACE_S). Evaluate and ExportNetwork read the finished training's checkpoint.

Training sessions (OpenTrainingSession ... LoadModelState) carry the co-exploration's trainer
backend step by step, each session in a child process of its own (services/trainer_sessions.py).

Operations live in this process: a restarted trainer service does not know the trainings of the
previous one (their folders stay in the work dir). docs/services.md says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import queue
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import grpc

from services import metrics, serving, trainer_sessions, wire
from services.proto.ancoef.v1 import operation_pb2 as op_pb
from services.proto.ancoef.v1 import trainer_pb2 as pb
from services.proto.ancoef.v1 import trainer_pb2_grpc

SERVICE = "ancoef.v1.TrainerService"
KIND = "training"
KEEP_SERIES = 20  # operations whose per-operation gauges stay exported
TERMINAL = (op_pb.OPERATION_STATE_SUCCEEDED, op_pb.OPERATION_STATE_FAILED, op_pb.OPERATION_STATE_CANCELLED)
_STATE_LABEL = {op_pb.OPERATION_STATE_SUCCEEDED: "succeeded", op_pb.OPERATION_STATE_FAILED: "failed",
                op_pb.OPERATION_STATE_CANCELLED: "cancelled"}


class TrainingCancelled(Exception):
    """Raised from the step callback to stop a training."""


def train_defaults() -> dict:
    """`ancoef train`'s defaults, from its own parser."""
    from services import cmd_train

    parser = argparse.ArgumentParser()
    cmd_train.register(parser.add_subparsers())
    return vars(parser.parse_args(["train", "--out", "-"]))


@dataclass
class Plan:
    """Steps per phase, known from the first step (the loop reports its steps per epoch)."""

    phases: list  # (name, epochs)
    totals: list = field(default_factory=list)

    def estimate(self, index: int, step: int, steps_per_epoch: int) -> tuple[int, int]:
        """(steps done over all phases, steps planned over all phases)."""
        if not self.totals:
            self.totals = [max(1, int(round(e * steps_per_epoch))) for _, e in self.phases]
        index = min(index, len(self.totals) - 1)
        return sum(self.totals[:index]) + step, sum(self.totals)


class Training:
    """One training operation and its progress; `changed` wakes the watchers."""

    def __init__(self, op_id: str, args: dict):
        self.id, self.args = op_id, args
        self.state = op_pb.OPERATION_STATE_PENDING
        self.error = ""
        self.created, self.started, self.finished = time.time(), 0.0, 0.0
        self.progress = pb.TrainingProgress(phase="pending")
        self.metrics: Optional[dict] = None
        self.cancel = threading.Event()
        self.cancel_reason = ""
        self.changed = threading.Condition()
        self.version = 0
        phases = [("supernet", args["search_epochs"]), ("train", args["epochs"]), ("qat", args["qat_epochs"])]
        self.plan = Plan([(n, e) for n, e in phases if e > 0])
        self._phase, self._last_step, self._t_first = 0, 0, None

    def out(self) -> Path:
        return Path(self.args["out"])

    def operation(self) -> op_pb.Operation:
        return op_pb.Operation(id=self.id, kind=op_pb.OPERATION_KIND_TRAINING, state=self.state, error=self.error,
                               created_unix_s=self.created, started_unix_s=self.started,
                               finished_unix_s=self.finished)

    def snapshot(self) -> tuple[int, pb.WatchTrainingResponse]:
        with self.changed:
            msg = pb.WatchTrainingResponse(operation=self.operation(), progress=self.progress)
            if self.metrics is not None:
                msg.metrics.CopyFrom(wire.training_metrics_to_proto(self.metrics))
            return self.version, msg

    def update(self, **changes) -> None:
        with self.changed:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self.changed.notify_all()

    def on_step(self, r) -> None:
        """Progress and gauges from one of trainer.train's StepReports."""
        now = time.perf_counter()
        with self.changed:
            p = pb.TrainingProgress()
            p.CopyFrom(self.progress)
            if r.val_accuracy is not None:
                p.val_accuracy_ratio = r.val_accuracy
                metrics.training_accuracy.labels(operation=self.id, split="val").set(r.val_accuracy)
            else:
                if self._t_first is None:
                    self._t_first = (now, 0)
                elif r.step <= self._last_step:
                    self._phase += 1
                self._last_step = r.step
                done, planned = self.plan.estimate(self._phase, r.step, r.steps_per_epoch)
                t0, done0 = self._t_first
                rate = (done - 1 - done0) / (now - t0) if now > t0 and done > 1 else 0.0
                p.phase = self.plan.phases[min(self._phase, len(self.plan.phases) - 1)][0]
                p.step, p.total_steps, p.loss = r.step, r.total_steps, r.loss
                p.epoch = r.step / max(1, r.steps_per_epoch)
                p.eta_s = (planned - done) / rate if rate > 0 else 0.0
                metrics.training_epoch.labels(operation=self.id).set(p.epoch)
                metrics.training_loss.labels(operation=self.id).set(r.loss)
            p.elapsed_s = time.time() - self.started if self.started else 0.0
            self.progress = p
            self.version += 1
            self.changed.notify_all()


class TrainerServicer(trainer_pb2_grpc.TrainerServiceServicer):
    def __init__(self, settings: serving.ServerSettings, work_dir: Path):
        self.settings = settings
        self.work_dir = work_dir
        self.defaults = train_defaults()
        self.trainings: "OrderedDict[str, Training]" = OrderedDict()
        self.lock = threading.Lock()
        self.pool = futures.ThreadPoolExecutor(max_workers=settings.max_concurrent, thread_name_prefix="training")
        self.admission = serving.Admission("trainer", settings.max_concurrent, settings.max_queued)
        self.running = metrics.operations_running.labels(kind=KIND)
        self.sessions = trainer_sessions.Sessions(settings.max_concurrent + settings.max_queued)

    # -- operations -----------------------------------------------------------------------------
    def _get(self, op_id: str, context) -> Training:
        with self.lock:
            t = self.trainings.get(op_id)
        if t is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"operation_id {op_id!r}: no such training on this server "
                          "(operations live as long as the trainer process)")
        return t

    def _succeeded(self, op_id: str, context) -> Training:
        t = self._get(op_id, context)
        if t.state != op_pb.OPERATION_STATE_SUCCEEDED:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"operation_id {op_id!r} is {op_pb.OperationState.Name(t.state)}, not SUCCEEDED")
        return t

    def _run(self, t: Training) -> None:
        if t.cancel.is_set():
            return
        self.running.inc()
        t.update(state=op_pb.OPERATION_STATE_RUNNING, started=time.time())
        try:
            state, detail = _supervise(t)
            if state == "succeeded":
                m = json.loads((t.out() / "metrics.json").read_text())
                metrics.training_accuracy.labels(operation=t.id, split="val").set(m["fixed_point_val_accuracy"])
                with t.changed:
                    t.progress.val_accuracy_ratio = m["fixed_point_val_accuracy"]
                    t.progress.phase, t.progress.eta_s = "done", 0.0
                t.update(state=op_pb.OPERATION_STATE_SUCCEEDED, metrics=m, finished=time.time())
            elif state == "cancelled":
                t.update(state=op_pb.OPERATION_STATE_CANCELLED, error=t.cancel_reason or detail, finished=time.time())
            else:
                t.update(state=op_pb.OPERATION_STATE_FAILED, error=detail, finished=time.time())
        except Exception as exc:  # noqa: BLE001 - the operation records why it failed
            traceback.print_exc(file=sys.stderr)
            t.update(state=op_pb.OPERATION_STATE_FAILED, error=f"{type(exc).__name__}: {exc}", finished=time.time())
        finally:
            self.running.dec()
            self._ended(t)

    def _ended(self, t: Training) -> None:
        metrics.operations.labels(kind=KIND, state=_STATE_LABEL[t.state]).inc()
        with self.lock:
            done = [x for x in self.trainings.values() if x.state in TERMINAL]
        for old in done[:-KEEP_SERIES]:
            for gauge in (metrics.training_epoch, metrics.training_loss):
                _remove(gauge, old.id)
            _remove(metrics.training_accuracy, old.id, "val")

    def cancel_all(self) -> None:
        with self.lock:
            trainings = list(self.trainings.values())
        for t in trainings:
            if t.state not in TERMINAL:
                self._cancel(t, "cancelled: the trainer service stopped")

    def _cancel(self, t: Training, why: str) -> None:
        t.cancel_reason = t.cancel_reason or why
        t.cancel.set()
        with t.changed:
            pending = t.state == op_pb.OPERATION_STATE_PENDING
        if pending:
            t.update(state=op_pb.OPERATION_STATE_CANCELLED, error=why, finished=time.time())
            self._ended(t)

    # -- RPCs ---------------------------------------------------------------------------------------
    def StartTraining(self, request, context):
        with serving.status_errors(context):
            args = wire.training_args_from_proto(request.spec, self.defaults)
            _check_training(args)
            with self.lock:
                waiting = sum(1 for t in self.trainings.values() if t.state == op_pb.OPERATION_STATE_PENDING)
                running = sum(1 for t in self.trainings.values() if t.state == op_pb.OPERATION_STATE_RUNNING)
                if running + waiting >= self.settings.max_concurrent + self.settings.max_queued:
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"{running} trainings running and {waiting} waiting (--max-concurrent "
                                  f"{self.settings.max_concurrent}, --max-queued {self.settings.max_queued}); "
                                  "retry later")
                op_id = "train-" + uuid.uuid4().hex[:12]
                args.update(out=str(self.work_dir / op_id), no_progress=True)
                t = Training(op_id, args)
                self.trainings[op_id] = t
            self.pool.submit(self._run, t)
            return pb.StartTrainingResponse(operation=t.operation())

    def WatchTraining(self, request, context):
        t = self._get(request.operation_id, context)
        yield from serving.watch_operation(t, context, "training")

    def CancelTraining(self, request, context):
        t = self._get(request.operation_id, context)
        if t.state in (op_pb.OPERATION_STATE_SUCCEEDED, op_pb.OPERATION_STATE_FAILED):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"operation_id {t.id!r} already ended {op_pb.OperationState.Name(t.state)}")
        self._cancel(t, "cancelled by CancelTraining")
        return pb.CancelTrainingResponse(operation=t.operation())

    def _export(self, request, context):
        from services import cmd_train

        t = self._succeeded(request.operation_id, context)
        split = request.split or "test"
        return cmd_train.export_split(t.out(), request.dataset or None, request.data_root or None, split,
                                      request.limit_samples or None), split

    def Evaluate(self, request, context):
        from services import cmd_train

        with serving.status_errors(context), self.admission.slot(context):
            ex, split = self._export(request, context)
            res, _ = cmd_train.evaluate_split(ex, split)
            return pb.EvaluateResponse(samples=res["samples"], fixed_point_accuracy_ratio=res["fixed_point_accuracy"],
                                       quantised_model_accuracy_ratio=res["quantised_model_accuracy"],
                                       quantised_model_counts_equal_fixed_point=res[
                                           "quantised_model_counts_equal_fixed_point"],
                                       weight_bits=res["bits"], timesteps=res["timesteps"])

    def ExportNetwork(self, request, context):
        from trainer.export import default_architecture

        with serving.status_errors(context), self.admission.slot(context):
            ex, _ = self._export(request, context)
            response = wire.export_to_proto(ex.network, ex.inputs, ex.labels, default_architecture(ex.network),
                                            ex.meta)
            if response.ByteSize() > self.settings.max_message_bytes:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"the export would be {response.ByteSize()} bytes, over this server's limit of "
                              f"{self.settings.max_message_bytes}: ask for fewer samples (limit_samples)")
            return response

    # -- training sessions (services/trainer_sessions.py) -----------------------------------------
    def OpenTrainingSession(self, request, context):
        return self.sessions.open(context)

    def CloseTrainingSession(self, request, context):
        return self.sessions.close(request.session_id, context)


trainer_sessions.add_methods(TrainerServicer)  # LoadTrainingData ... LoadModelState, each to its session

CANCEL_GRACE_S = 10.0  # a training that reaches no step within this after a cancel is stopped outright


def _train_in_child(args: dict, events, cancel) -> None:
    """`ancoef train` in a process of its own: torch's global RNG and thread settings belong to a
    process, so trainings that run at once stay deterministic, and a cancel can end one outright."""
    from services import cmd_train

    def on_step(report) -> None:
        if cancel.is_set():
            raise TrainingCancelled("cancelled by CancelTraining")
        events.put(("step", dataclasses.asdict(report)))

    try:
        cmd_train.cmd_train(argparse.Namespace(**args), on_step=on_step)
        events.put(("succeeded", ""))
    except TrainingCancelled as exc:
        events.put(("cancelled", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported as the operation's error
        traceback.print_exc(file=sys.stderr)
        events.put(("failed", f"{type(exc).__name__}: {exc}"))


def _supervise(t: Training) -> tuple[str, str]:
    """Run `t` in a child process, passing its steps to `t.on_step`; (final state, detail)."""
    ctx = mp.get_context("spawn")
    events, cancel = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_train_in_child, args=(t.args, events, cancel), name=t.id, daemon=True)
    child.start()
    cancelled_at = None
    try:
        while True:
            if t.cancel.is_set() and cancelled_at is None:
                cancel.set()
                cancelled_at = time.monotonic()
            try:
                kind, payload = events.get(timeout=0.2)
            except queue.Empty:
                if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                    child.terminate()
                    return "cancelled", "cancelled: the training process was stopped"
                if not child.is_alive():
                    try:
                        kind, payload = events.get(timeout=1.0)  # what it said last, if anything
                    except queue.Empty:
                        return "failed", f"the training process exited with status {child.exitcode}"
                else:
                    continue
            if kind != "step":
                return kind, payload
            t.on_step(SimpleNamespace(**payload))
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


def _remove(gauge, *labels) -> None:
    try:
        gauge.remove(*labels)
    except KeyError:
        pass


def _check_training(args: dict) -> None:
    """The checks `ancoef train` makes before it loads any data, with the spec's field names."""
    from services import cmd_train
    from trainer.datasets import DATASET_NAMES

    if args["dataset"] not in DATASET_NAMES:
        raise ValueError(f"spec.dataset must be one of {', '.join(DATASET_NAMES)}, got {args['dataset']!r}")
    if args["epochs"] <= 0:
        raise ValueError(f"spec.epochs must be > 0, got {args['epochs']}")
    try:
        ops, widths = cmd_train._blocks(args["ops"], args["widths"])
        cmd_train._space_and_config(ops, widths, args["timesteps"], args["tau"])
    except ValueError as exc:
        raise ValueError(f"spec (ops, widths, timesteps, tau): {exc}") from None


def service(settings: serving.ServerSettings, work_dir: Optional[Path]) -> serving.Service:
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="ancoef-trainer-"))
    work.mkdir(parents=True, exist_ok=True)
    servicer = TrainerServicer(settings, work)

    def add(server: grpc.Server) -> None:
        trainer_pb2_grpc.add_TrainerServiceServicer_to_server(servicer, server)

    return serving.Service("trainer", [SERVICE], add, serving.method_labels(pb.DESCRIPTOR, "TrainerService"),
                           before_stop=servicer.cancel_all)
