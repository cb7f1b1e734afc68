"""A hardware search for one workload with a run store (`ancoef search`, the agent's StartSearch).

Every simulated design is committed to the store as it completes. A resumed search replays the
seeded search from its start against the stored evaluations: each design it proposes again is
answered from the store, bit for bit, and no simulation is redone. Every search method is
deterministic for a seed given the same evaluations (NSGA-II and random search by construction,
RL because RLlib seeds its modules and the critic and archive moves draw from seeded generators),
so the replay reaches the point where the run stopped with the same state and continues as the
uninterrupted run would have; `tests/test_run_store.py` checks the end result is identical.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from runstore import RunStore, SettingsDiffer

from coexplore.progress import Cancelled, CancelCheck, SearchEvent, cancel_check
from coexplore.simcache import StoredSimulator, workload_fingerprint

KIND = "search"
EXECUTION_FIELDS = ("threads", "ray")  # how fast a search runs, not what it finds


@dataclass(frozen=True)
class SearchSettings:
    workload: Optional[str] = None  # PREFIX of a workload on disk
    network: Optional[str] = None  # or an `ancoef train` output folder
    algo: str = "rl"
    budget: int = 200
    seed: int = 0
    max_energy_j: Optional[float] = None
    max_latency_s: Optional[float] = None
    max_area_mm2: Optional[float] = None
    preset: Optional[str] = None
    semantics: str = "timestep"
    samples: Optional[int] = None
    timesteps: Optional[int] = None
    checkpoint: Optional[str] = None  # RL warm-start policy (None: the shipped one)
    warm_start: bool = True
    ranges: dict = field(default_factory=dict)  # parameter -> "lo:hi" or comma list
    workload_sha256: Optional[str] = None  # filled by `resolved`
    policy_sha256: Optional[str] = None
    threads: Optional[int] = None
    ray: bool = False  # each batch's new designs simulated as Ray tasks (results identical)

    @property
    def targets(self):
        from agent.evaluator import Targets

        return Targets(self.max_energy_j, self.max_latency_s, self.max_area_mm2)

    def space(self):
        from agent.space import HardwareSpace

        return HardwareSpace.from_options(dict(self.ranges))

    def validated(self) -> "SearchSettings":
        """These settings checked before any work (ValueError / FileNotFoundError naming the setting)."""
        from agent.search import METHODS

        if self.algo not in METHODS:
            raise ValueError(f"unknown --algo {self.algo!r}; choose one of {', '.join(METHODS)}")
        if self.budget is None or self.budget < 1:
            raise ValueError(f"--budget must be at least 1 evaluation, got {self.budget}")
        self.space()  # a bad range names its parameter
        self.targets  # a bad target too
        for name in ("samples", "timesteps", "threads"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name} must be at least 1, got {v}")
        if self.checkpoint is not None and not Path(self.checkpoint).exists():
            raise FileNotFoundError(f"--checkpoint {self.checkpoint} does not exist")
        return self

    def check_workload(self, workload) -> None:
        """A design space in which nothing can hold the network is a bad setting: say so first."""
        from agent.space import WorkloadNeeds

        space = self.space()
        needs = WorkloadNeeds.of(workload.network)
        masks = space.action_mask(needs)
        empty = [p.name for p, m in zip(space.params, masks) if not m.any()]
        if empty:
            raise ValueError(
                "no design in the given ranges can hold the network (" + ", ".join(empty) + " too small): "
                + "; ".join(space.check(space.decode([int(m.argmax()) if m.any() else p.n - 1
                                                       for p, m in zip(space.params, masks)]), needs)))

    def load_workload(self):
        from agent import workloads

        return workloads.load_search_workload(self.workload, self.network, self.samples, self.timesteps)

    def resolved(self, workload) -> "SearchSettings":
        """With the preset resolved and the content hashes of the workload and policy filled in."""
        from agent import rl, workloads

        pol = Path(self.checkpoint) if self.checkpoint else Path(rl.DEFAULT_CHECKPOINT) / rl.WEIGHTS_FILE
        pol = pol / rl.WEIGHTS_FILE if pol.is_dir() else pol
        return dataclasses.replace(
            self, preset=self.preset or workloads.default_preset(),
            workload_sha256=workload_fingerprint(workload.network, workload.inputs),
            policy_sha256=hashlib.sha256(pol.read_bytes()).hexdigest() if (
                self.algo == "rl" and self.warm_start and pol.is_file()) else None)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        d = {k: v for k, v in self.to_dict().items() if k not in EXECUTION_FIELDS}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def start_search(out: Path, settings: SearchSettings) -> RunStore:
    from coexplore.run import git_commit, versions

    return RunStore.create(out, kind=KIND, settings=settings.to_dict(), fingerprint=settings.fingerprint(),
                           seed=settings.seed, versions=versions(), git_commit=git_commit())


def resume_search(out: Path, given: dict) -> tuple[RunStore, SearchSettings, object]:
    """The search in `out`, checked and locked, its settings and its workload (loaded again and
    checked against the content hash the run recorded). Nothing is written before that."""
    store = RunStore.resume(out, kind=KIND)
    try:
        settings = SearchSettings(**store.info.settings)
        mine = settings.to_dict()
        diff = [(k, mine.get(k), v) for k, v in sorted(given.items())
                if k not in EXECUTION_FIELDS and json.dumps(mine.get(k)) != json.dumps(v)]
        if diff:
            text = "; ".join(f"--{k.replace('_', '-')}: the run has {a}, given {b}" for k, a, b in diff)
            raise SettingsDiffer(f"cannot resume {out} with different settings ({text}); drop them to resume, "
                                 "or start a new search in another folder", diff)
        wl = settings.load_workload()
        now = settings.resolved(wl)
        if now.workload_sha256 != settings.workload_sha256:
            raise SettingsDiffer(f"cannot resume {out}: the workload's content changed since the search started "
                                 f"({settings.workload or settings.network})", [("workload_sha256",
                                                                                settings.workload_sha256,
                                                                                now.workload_sha256)])
        if now.policy_sha256 != settings.policy_sha256:
            raise SettingsDiffer(f"cannot resume {out}: the RL warm-start policy changed since the search started",
                                 [("policy_sha256", settings.policy_sha256, now.policy_sha256)])
        changes = {k: v for k, v in given.items() if k in EXECUTION_FIELDS}
        return store, dataclasses.replace(settings, **changes), wl
    except BaseException:
        store.release()
        raise


@dataclass
class SearchRun:
    evaluator: object  # agent.evaluator.Evaluator, its archive complete
    figures: dict  # agent.search.search_figures
    simulated: int  # simulations this process ran
    answered: int  # simulations the store answered (a resumed search's replay)


def run_search(settings: SearchSettings, store: RunStore, workload, *, simulate: Optional[Callable] = None,
               map_network: Optional[Callable] = None, area: Optional[Callable] = None,
               progress: Optional[Callable] = None, cancel: CancelCheck = None) -> SearchRun:
    """Run (or continue) the search, every simulation through the store. On success the caller
    writes its outputs and closes the store (`store.close("succeeded", result=...)`); on
    cancellation, interruption or failure the store is closed here, resumable.

    `simulate`, `map_network`, `area`: the engine's calls (default in-process; a
    `services.client.SimulatorClient` gives the same results from a server)."""
    from agent.evaluator import Evaluator
    from agent.search import run_search as agent_search

    if simulate is None:
        import trueasync

        simulate = trueasync.simulate
    if store.attempt == 0:
        store.begin_attempt()
    from coexplore.noise import quiet_third_party

    quiet_third_party()
    if settings.ray:
        from agent.rl import ensure_ray

        ensure_ray()
    sim = StoredSimulator(store, simulate, lambda: "search")
    stop = cancel_check(cancel)
    from coexplore.phases import _area_fn

    ev = Evaluator(workload, settings.space(), targets=settings.targets, preset=settings.preset,
                   semantics=settings.semantics, threads=settings.threads, budget=settings.budget, simulate=sim,
                   use_ray=bool(settings.ray), name=getattr(workload.network, "name", "workload"),
                   area=area or _area_fn,
                   map_network=map_network)
    kw = {}
    if settings.algo == "rl":
        if not settings.warm_start:
            kw["checkpoint"] = None
        elif settings.checkpoint is not None:
            kw["checkpoint"] = Path(settings.checkpoint)

    def tick(e) -> None:
        if stop():
            raise Cancelled("cancelled")
        if progress is not None:
            best = e.archive.best_edp(meeting_targets=True)
            progress(SearchEvent("search", ev.name, e.n_simulated, settings.budget, best.edp_js if best else None,
                                 e.archive.hypervolume()))

    if progress is not None:  # the bar starts with the search, not at its first batch
        progress(SearchEvent("search", ev.name, 0, settings.budget, None, 0.0))
    try:
        figs = agent_search(settings.algo, ev, seed=settings.seed, progress=tick, **kw)
    except Cancelled:
        store.close("cancelled")
        raise
    except KeyboardInterrupt:
        store.close("interrupted")
        raise
    except BaseException as exc:
        store.close("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    return SearchRun(ev, figs, sim.simulated, sim.answered)
