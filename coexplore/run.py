"""Entry points: start or resume a co-exploration run in a folder, and run it.

    settings = ExploreSettings(candidates=4, budget=48).validated()
    pre = preflight(settings, trainer)                      # ValueError before any work
    store = start_run(out, settings)                        # or: store, settings = resume_run(out, given)
    result = explore(settings, store, out=out, preflight=pre, progress=print, cancel=event)

`explore` runs every phase (coexplore.phases, coexplore.baselines), commits each finished step to
the store, writes the outputs (coexplore.report) and closes the store with the run's state. It
raises `Cancelled` when `cancel` fires (and re-raises KeyboardInterrupt), leaving the store
resumable; `resume_run` + `explore` then continue without redoing a finished step.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from runstore import RunStore, SettingsDiffer, sha256_file

from coexplore import phases
from coexplore.backends import InProcessTrainer, TrainerBackend
from coexplore.baselines import baseline_reference, baseline_sequential
from coexplore.context import Run, check_file
from coexplore.progress import Cancelled, CancelCheck
from coexplore.records import Baseline, OnChipPoint
from coexplore.settings import EXECUTION_FIELDS, ExploreSettings, policy_status

KIND = "exploration"
REPO = Path(__file__).resolve().parent.parent


# -- versions -------------------------------------------------------------------------------------


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("ancoef", "numpy", "torch", "spikingjelly", "ray", "pymoo", "gymnasium"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    from agent import rl

    w = Path(rl.DEFAULT_CHECKPOINT) / rl.WEIGHTS_FILE
    out["policy_sha256"] = sha256_file(w) if w.is_file() else None
    return out


def git_commit() -> Optional[str]:
    if not (REPO / ".git").exists():
        return None
    try:
        r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        d = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0 or not r.stdout.strip():
        return None
    return r.stdout.strip() + ("-dirty" if d.returncode == 0 and d.stdout.strip() else "")


# -- opening a run ----------------------------------------------------------------------------------


def start_run(out: Path, settings: ExploreSettings) -> RunStore:
    """A new run in `out` (RunExists when `out` already holds one)."""
    return RunStore.create(out, kind=KIND, settings=settings.to_dict(), fingerprint=settings.fingerprint(),
                           seed=settings.seed, versions=versions(), git_commit=git_commit())


def resume_run(out: Path, given: Optional[dict] = None) -> tuple[RunStore, ExploreSettings]:
    """The run in `out`, checked, locked and ready to continue, with its settings.

    `given`: settings the caller asked for explicitly; any that differ from the run's are refused
    (`SettingsDiffer` naming them). Execution settings (`EXECUTION_FIELDS`) given are applied.
    Every file the store relies on must exist with its recorded SHA-256. Nothing is written
    before all checks pass."""
    out = Path(out)
    store = RunStore.resume(out, kind=KIND, check=lambda conn, run_id: verify_files(conn, run_id, out))
    try:
        settings = ExploreSettings.from_dict(store.info.settings)
        if settings.fingerprint() != store.info.fingerprint:
            raise SettingsDiffer(f"{store.path}: the settings do not match the fingerprint the run recorded", [])
        diff = settings.differences(given or {})
        if diff:
            text = "; ".join(f"--{k.replace('_', '-')}: the run has {_show(a)}, given {_show(b)}" for k, a, b in diff)
            raise SettingsDiffer(f"cannot resume {out} with different settings ({text}); drop them to resume, "
                                 "or start a new run in another folder", diff)
        changes = {k: v for k, v in (given or {}).items() if k in EXECUTION_FIELDS}
        return store, dataclasses.replace(settings, **changes)
    except BaseException:
        store.release()
        raise


def _show(v) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    return "none" if v is None else str(v)


def verify_files(conn, run_id: str, out: Path) -> None:
    """Every file the store relies on exists with its recorded SHA-256 (else RunStoreError): the
    final models of training jobs, the latest checkpoint of unfinished ones, the candidates'
    folded models and the policies carried between searches."""
    rows = conn.execute("SELECT checkpoint, sha256 FROM trainings WHERE run_id=?", (run_id,)).fetchall()
    rows += conn.execute(
        "SELECT c.checkpoint, c.sha256 FROM training_checkpoints c WHERE c.run_id=? AND c.step = (SELECT MAX(step) "
        "FROM training_checkpoints d WHERE d.run_id=c.run_id AND d.job=c.job) AND c.job NOT IN "
        "(SELECT job FROM trainings t WHERE t.run_id=c.run_id)", (run_id,)).fetchall()
    for (payload,) in conn.execute("SELECT payload FROM steps WHERE run_id=?", (run_id,)):
        d = json.loads(payload)
        if d.get("model_checkpoint"):
            rows.append((d["model_checkpoint"], d["model_sha256"]))
        srch = d.get("search")
        if isinstance(srch, dict) and srch.get("policy_checkpoint"):
            rows.append((srch["policy_checkpoint"], srch["policy_sha256"]))
    for rel, sha in rows:
        check_file(out, rel, sha)


# -- the result -----------------------------------------------------------------------------------


@dataclass
class ExploreResult:
    out: Path
    summary: dict  # what summary.json holds
    candidates: list = field(default_factory=list)  # Candidate
    front: list = field(default_factory=list)  # OnChipPoint
    chosen: Optional[OnChipPoint] = None
    baselines: dict = field(default_factory=dict)  # name -> Baseline

    @property
    def met_targets(self) -> bool:
        return bool(self.summary["met_targets"])

    @property
    def exit_status(self) -> int:
        """0; 1 when no candidate met the targets or a chip's counts differ from fixed point."""
        return 0 if self.met_targets and self.summary["all_counts_equal_fixed_point"] else 1


# -- the job --------------------------------------------------------------------------------------


def explore(settings: ExploreSettings, store: RunStore, *, out: Optional[Path] = None,
            trainer: Optional[TrainerBackend] = None, simulate: Optional[Callable] = None,
            preflight: Optional[phases.Preflight] = None, progress: Optional[Callable] = None,
            cancel: CancelCheck = None) -> ExploreResult:
    """Run (or continue) the co-exploration of `store`'s run; see the module docstring."""
    import torch

    out = Path(out or store.folder)
    if simulate is None:
        import trueasync

        simulate = trueasync.simulate
    trainer = trainer or InProcessTrainer()
    if store.attempt == 0:
        store.begin_attempt()
    from coexplore.noise import quiet_third_party

    quiet_third_party()
    prev_threads = torch.get_num_threads()
    run = Run(settings, store, out, trainer, simulate, progress, cancel)
    try:
        if store.attempt > 1:
            run.log(f"resuming run {store.run_id[:8]} (attempt {store.attempt}); finished steps are read from "
                    f"{store.path.name}")
        result = _explore(run, preflight)
    except (Cancelled, KeyboardInterrupt) as exc:
        run.close_log()
        store.close("cancelled" if isinstance(exc, Cancelled) else "interrupted")
        raise
    except BaseException as exc:
        run.close_log()
        store.close("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        torch.set_num_threads(prev_threads)
    run.close_log()
    store.close("succeeded", result=result.summary)
    return result


def _explore(run: Run, pre) -> ExploreResult:
    from coexplore import report

    s = run.s
    data_payload = phases.prepare_data(run, pre)
    run.data = run.trainer.load_data(s)
    run.log(f"{run.data.name}: {run.data.n_fit} training, {run.data.n_val} validation, {run.data.n_test} held-out "
            f"test samples, frames {tuple(run.data.in_shape)} (C,H,W), {run.data.n_classes} classes")
    if s.algo == "rl" and not policy_status()[0]:
        run.log(f"hardware search: rl from scratch ({policy_status()[1]})", "warning")
    supernet = phases.train_supernet(run, run.data)
    cands = phases.sample_candidates(run, run.data)
    ref = phases.reference_candidate(run, run.data, cands) if s.baselines else None
    phases.search_hardware(run, cands)
    survivors = phases.abandon(run, cands)
    if not survivors:
        summary = report.summarize(run, data_payload, supernet, cands, [], None, {}, None)
        report.write_outputs(run, summary, cands, [], {}, {})
        return ExploreResult(run.out, summary, cands)
    tests = phases.finetune_survivors(run, survivors)
    points = phases.evaluate_on_chip(run, survivors, tests)
    baselines: dict[str, Baseline] = {}
    if s.baselines:
        baselines["reference"] = baseline_reference(run, ref)
        floor = baselines["reference"].chosen.accuracy
        baselines["sequential"] = baseline_sequential(run, cands, floor)
    else:
        floor = None
    run.start_phase("report", 7, phases.TOTAL_PHASES, "front, chosen design, comparisons, outputs")
    front = phases.pareto_front(points)
    for p in points:
        p.on_front = any(p is f for f in front)
    chosen = phases.choose(front, floor)
    summary = report.summarize(run, data_payload, supernet, cands, front, chosen, baselines, points)
    with run.store.transaction("report") as tx:
        tx.set_front([p.to_json() for p in front])
    report.write_outputs(run, summary, cands, points, baselines, tests)
    return ExploreResult(run.out, summary, cands, front, chosen, baselines)

