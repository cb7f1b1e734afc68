"""A succeeded TrainerService training operation as a workload: what `ancoef simulate` and
`ancoef search --trainer-endpoint HOST:PORT --training-id OP_ID` and the AgentService's
`SearchSpec.training_operation_id` simulate and search.

    ancoef serve trainer --port 50052 --work-dir runs/trainer &
    ancoef simulate --trainer-endpoint 127.0.0.1:50052 --training-id train-0123456789ab --samples 100
    ancoef search --trainer-endpoint 127.0.0.1:50052 --training-id train-0123456789ab --algo nsga2 \
        --budget 40 --samples 16 --out runs/search-trained

`TrainerService.ExportNetwork` gives the trained network, a split's input spikes and their labels
(`limit_samples` N: the trainer's deterministic class-balanced N samples of the split, as
`ancoef evaluate --limit N`, not the first N); `trainer.export.make_workload` makes them the
workload `ancoef train` writes to its output folder (the export's packed architecture and
mapping, Loihi costs), so a search or a simulation of it equals the in-process one of the same
export saved that way (`--network FOLDER` / `--workload FOLDER/network`).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class Options:
    """How the caller names what it was given, for error messages: the command line's options, or
    the AgentService's spec fields."""

    operation: str = "--training-id"
    endpoint: str = "--trainer-endpoint"
    split: str = "--split"
    samples: str = "--samples"


AGENT_OPTIONS = Options(operation="spec.training_operation_id", endpoint="the agent's --trainer-endpoint",
                        split="split", samples="spec.limit_samples")


class TrainingSourceError(ValueError):
    """The export could not be had; `code` is the status a service answers it with."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def fetch_workload(endpoint: str, operation_id: str, split: str = "test", limit_samples: int = 0,
                   names: Options = Options()):
    """The workload (trueasync.workload.Workload) of training `operation_id` on the TrainerService
    at `endpoint`: its network, `limit_samples` (0: all) input spikes of `split` and, in
    `meta`, where they came from and their labels. TrainingSourceError names the option at fault."""
    from services.client import RemoteError, TrainerClient
    from services.wire import SimulationError

    if not operation_id:
        raise TrainingSourceError(grpc.StatusCode.INVALID_ARGUMENT, f"{names.operation} is empty")
    try:
        client = TrainerClient(endpoint)
    except ValueError as exc:
        raise TrainingSourceError(grpc.StatusCode.INVALID_ARGUMENT, f"{names.endpoint}: {exc}") from None
    try:
        with client:
            ex = client.export_network(operation_id, split=split, limit_samples=int(limit_samples or 0))
    except SimulationError as exc:  # INVALID_ARGUMENT: the split, or a dataset the server lacks
        raise TrainingSourceError(grpc.StatusCode.INVALID_ARGUMENT,
                                  f"{names.operation} {operation_id!r} ({names.split} {split}): {exc}") from None
    except TimeoutError as exc:
        raise TrainingSourceError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                  f"{names.endpoint} {endpoint}: ExportNetwork timed out ({exc})") from None
    except RemoteError as exc:
        raise TrainingSourceError(exc.code, _message(exc, endpoint, operation_id, names)) from None
    from trainer.export import make_workload

    meta = {"source": "TrainerService.ExportNetwork", "trainer_endpoint": endpoint,
            "training_operation_id": operation_id, "split": split, "samples": int(len(ex.labels)),
            "labels": ex.labels.tolist(), "weight_bits": ex.weight_bits, "layer_scales": ex.layer_scales}
    return make_workload(ex.network, ex.inputs, meta, arch=ex.arch)


def _message(exc, endpoint: str, operation_id: str, names: Options) -> str:
    code = exc.code
    if code == grpc.StatusCode.NOT_FOUND:
        return f"{names.operation} {operation_id!r}: no such training operation on the trainer service at {endpoint}"
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return (f"{names.operation} {operation_id!r} has not succeeded on the trainer service at {endpoint} "
                f"({exc.details}); wait for it (TrainerClient.wait) or train again")
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"{names.endpoint} {endpoint}: no trainer service answers there ({exc.details})"
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        if "limit_samples" in exc.details or "bytes" in exc.details:  # the export is over the message size
            return f"{names.operation} {operation_id!r}: {exc.details}; set {names.samples} to export fewer samples"
        return f"{names.endpoint} {endpoint}: the trainer service is busy ({exc.details})"
    return f"{names.operation} {operation_id!r}: ExportNetwork on {endpoint} failed: {exc}"

