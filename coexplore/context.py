"""`Run`: what every phase of one attempt shares (settings, store, backends, progress, log).

Its helpers are the only places that write the run store and the checkpoint files:

- `done(step)` / `commit(step, payload)`: a finished step, one transaction;
- `train(job, ...)`: a training job checkpointed every `checkpoint_every` steps (file written to
  a temporary name and renamed, then its path and SHA-256 committed), resumed from its latest
  checkpoint, recorded with its final model when it ends;
- `sim`: the store-backed simulator (`coexplore.simcache.StoredSimulator`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

from runstore import RunStoreError, sha256_file, write_file_atomic

from coexplore.backends import TrainerBackend
from coexplore.progress import Cancelled, LogEvent, PhaseEvent, TrainingEvent, cancel_check
from coexplore.settings import ExploreSettings
from coexplore.simcache import StoredSimulator

LOG_NAME = "explore.log"
CHECKPOINTS = "checkpoints"


def check_file(out: Path, rel: str, sha256: str) -> None:
    """RunStoreError unless OUT/rel exists with the SHA-256 the store recorded."""
    path = Path(out) / rel
    if not path.is_file():
        raise RunStoreError(f"{path}, which the run store records, is missing: the run cannot continue from it "
                            "(nothing was changed)")
    if sha256_file(path) != sha256:
        raise RunStoreError(f"{path} does not match the SHA-256 the run store records for it (changed or "
                            "damaged): the run cannot continue from it (nothing was changed or deleted)")


def _slug(job: str) -> str:
    return job.replace("/", "-")


class Run:
    def __init__(self, settings: ExploreSettings, store, out: Path, trainer: TrainerBackend,
                 simulate: Callable, progress: Optional[Callable] = None, cancel=None, log_name: str = LOG_NAME):
        self.s = settings
        self.store = store
        self.out = Path(out)
        self.trainer = trainer
        self.phase = "data"
        self.sim = StoredSimulator(store, simulate, lambda: self.phase)
        self._emit = progress
        self.cancelled = cancel_check(cancel)
        self.data = None  # coexplore.backends.DataInfo, once loaded
        self.tests: dict = {}  # model name -> (test-split Exported, fixed-point output spike counts)
        self.screened: list = []  # the sub-networks screened for the candidates
        self.out.mkdir(parents=True, exist_ok=True)
        self._log = open(self.out / log_name, "a", buffering=1, encoding="utf-8")

    # -- progress and log -----------------------------------------------------------------------
    def emit(self, event) -> None:
        if self._emit is not None:
            self._emit(event)

    def log(self, message: str, level: str = "info") -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"{stamp} {'WARNING ' if level == 'warning' else ''}{message}\n")
        with self.store.transaction(self.phase) as tx:
            tx.log(level, message)
        self.emit(LogEvent(level, message))

    def start_phase(self, phase: str, index: int, total: int, message: str) -> None:
        self.phase = phase
        self._log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} phase {index}/{total}: {message}\n")
        self.emit(PhaseEvent(phase, index, total, message))

    def check_cancel(self) -> None:
        if self.cancelled():
            raise Cancelled("cancelled")

    def close_log(self) -> None:
        self._log.close()

    # -- steps ----------------------------------------------------------------------------------
    def done(self, step: str) -> Optional[dict]:
        return self.store.step(step)

    def commit(self, step: str, payload: dict, phase: Optional[str] = None) -> dict:
        with self.store.transaction(phase or self.phase) as tx:
            tx.put_step(step, payload)
        return payload

    # -- files ----------------------------------------------------------------------------------
    def write_file(self, rel: str, data: bytes) -> str:
        return write_file_atomic(self.out / rel, data)

    def read_file(self, rel: str, sha256: str) -> bytes:
        check_file(self.out, rel, sha256)
        return (self.out / rel).read_bytes()

    # -- training -------------------------------------------------------------------------------
    def train(self, job: str, phase: str, steps: int, model: str, fn: Callable) -> dict:
        """Run (or continue, or load) training job `job` of model `model` for `steps` steps.

        `fn(resume, every, on_checkpoint, should_stop)` calls the trainer backend. Returns the
        job's metrics (steps, loss_last, epochs)."""
        finished = self.store.training(job)
        if finished is not None:
            self.trainer.load_state(model, self.read_file(finished["checkpoint"], finished["sha256"]))
            return finished["metrics"]
        latest = self.store.latest_checkpoint(job)
        resume, prev, prev_file = None, 0, None
        if latest is not None:
            resume = self.read_file(latest["checkpoint"], latest["sha256"])
            prev, prev_file = latest["step"], latest["checkpoint"]
            self.log(f"{job}: continuing from its checkpoint at step {prev} of {steps}")
        track = {"prev": prev, "file": prev_file, "next": prev}
        emit_every = max(1, steps // 100)

        def on_checkpoint(step: int, data: bytes) -> None:
            rel = f"{CHECKPOINTS}/{_slug(job)}.step{step}.pt"
            sha = self.write_file(rel, data)
            with self.store.transaction(phase) as tx:
                tx.put_training_checkpoint(job, from_step=track["prev"], step=step, checkpoint=rel, sha256=sha)
            old = track["file"]
            track.update(prev=step, file=rel)
            if old and old != rel:
                (self.out / old).unlink(missing_ok=True)

        def should_stop() -> bool:
            step = track["next"]
            track["next"] += 1
            if step % emit_every == 0:
                self.emit(TrainingEvent(job, step, steps))
            return self.cancelled()

        outcome = fn(resume, self.s.checkpoint_every, on_checkpoint, should_stop)
        if outcome.stopped_early:
            raise Cancelled(f"cancelled during {job} at step {track['prev']}")
        rel = f"{CHECKPOINTS}/{_slug(job)}.pt"
        sha = self.write_file(rel, self.trainer.state(model))
        metrics = {"steps": outcome.steps, "loss_last": outcome.loss_last, "epochs": outcome.epochs}
        with self.store.transaction(phase) as tx:
            tx.put_training(job, steps=outcome.steps, checkpoint=rel, sha256=sha, metrics=metrics)
        for p in (self.out / CHECKPOINTS).glob(f"{_slug(job)}.step*.pt"):
            p.unlink(missing_ok=True)
        self.emit(TrainingEvent(job, steps, steps))
        return metrics
