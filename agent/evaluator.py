"""Score hardware designs on one workload with the TrueAsync simulator.

    ev = Evaluator(workload, space, targets=Targets(max_latency_s=1e-3))
    record = ev.evaluate(space.sample(rng))     # an Evaluation: energy, latency, EDP, area, ...

Rules (the same for every search method):

- A design is first checked analytically (`agent.space.check_design`) and then by the engine's
  own mapper (`trueasync.map_network`). A design that cannot hold the network is **never
  simulated**; its reasons are recorded and it costs no budget.
- Identical designs are simulated once (cache keyed by the Architecture's values).
- The **budget** counts distinct simulated designs (`n_simulated`).
- Batches are simulated in parallel with Ray tasks when Ray is initialised and the batch has more
  than one design to simulate (same code on a laptop and on a cluster); otherwise in-process.
- Once per workload the evaluator simulates a *reference design* (the default template grown
  until the network fits). It gives the measured spike rates (workload features for the RL
  policy), the scale of the RL reward and the hypervolume's normalisation. It is not part of the
  archive and costs no budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from trueasync.model import Architecture

from agent.pareto import Normaliser, ParetoArchive
from agent.space import HardwareSpace, WorkloadNeeds, check_design, shortfall


class BudgetExhausted(RuntimeError):
    """The evaluation budget is spent; the design was not simulated."""


@dataclass(frozen=True)
class Targets:
    """User targets per sample; None means no target."""

    max_energy_j: Optional[float] = None
    max_latency_s: Optional[float] = None
    max_area_mm2: Optional[float] = None

    def __post_init__(self):
        for name in ("max_energy_j", "max_latency_s", "max_area_mm2"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
                raise ValueError(f"target {name} must be a positive finite number, got {v!r}")

    def items(self):
        return (
            ("energy_j", self.max_energy_j),
            ("latency_s", self.max_latency_s),
            ("area_mm2", self.max_area_mm2),
        )

    @property
    def any(self) -> bool:
        return any(v is not None for _, v in self.items())

    def violations(self, figures: dict) -> list[str]:
        out = []
        for key, limit in self.items():
            if limit is not None and figures[key] > limit:
                out.append(f"{key} {figures[key]:.4g} > target {limit:.4g}")
        return out

    def overshoot(self, figures: dict) -> float:
        """Sum over missed targets of ln(value / target); 0 when every target is met."""
        return float(sum(
            math.log(figures[key] / limit)
            for key, limit in self.items()
            if limit is not None and figures[key] > limit
        ))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Evaluation:
    """The figures of one design (NaN when it was not simulated because it does not fit)."""

    key: tuple
    design: dict
    fits: bool
    reasons: list
    energy_j: float = float("nan")
    latency_s: float = float("nan")
    edp_js: float = float("nan")
    area_mm2: float = float("nan")
    meets_targets: bool = False
    violations: list = field(default_factory=list)
    overshoot: float = float("inf")
    sim_wall_s: float = 0.0
    index: int = -1  # order among this evaluator's archived designs
    n_simulated: int = 0  # simulations spent so far when this design was scored
    spikes_per_layer: Optional[list] = None
    t_s: float = 0.0  # seconds since the evaluator's clock started when it was archived
    proposer: str = ""  # what produced the design: "ppo", "archive-move", "nsga2", "tpe", ...

    @property
    def feasible(self) -> bool:
        return self.fits and self.meets_targets

    def objectives(self) -> np.ndarray:
        return np.array([self.energy_j, self.latency_s, self.area_mm2], dtype=float)

    def figures(self) -> dict:
        return {"energy_j": self.energy_j, "latency_s": self.latency_s, "area_mm2": self.area_mm2}

    def to_dict(self) -> dict:
        d = {
            "index": self.index,
            "n_simulated": self.n_simulated,
            "fits": self.fits,
            "meets_targets": self.meets_targets,
            "energy_j": _f(self.energy_j),
            "latency_s": _f(self.latency_s),
            "edp_js": _f(self.edp_js),
            "edp_snj": _f(self.edp_js * 1e9),
            "area_mm2": _f(self.area_mm2),
            "sim_wall_s": self.sim_wall_s,
            "t_s": self.t_s,
            "proposer": self.proposer,
            "design": dict(self.design),
            "reasons": list(self.reasons),
            "violations": list(self.violations),
        }
        return d


def _f(x):
    return None if x is None or not math.isfinite(x) else float(x)


def arch_key(arch: Architecture) -> tuple:
    return tuple(asdict(arch).items())


def _figures_of(result) -> dict:
    e = np.asarray(result.energy_j, dtype=float)
    l = np.asarray(result.latency_s, dtype=float)
    spl = getattr(result, "spikes_per_layer", None)
    return {
        "energy_j": float(e.mean()),
        "latency_s": float(l.mean()),
        "edp_js": float((e * l).mean()),
        "area_mm2": float(result.area_mm2),
        "spikes_per_layer": None if spl is None else np.asarray(spl, dtype=float).mean(axis=0).tolist(),
    }


def _default_simulate(network, arch, inputs, *, semantics, preset, threads):
    import trueasync

    return trueasync.simulate(network, arch, inputs, semantics=semantics, preset=preset, threads=threads)


def _default_map(network, arch):
    import trueasync

    return trueasync.map_network(network, arch)


def _simulate_result(simulate, network, arch, inputs, semantics, preset, threads) -> tuple:
    t0 = time.perf_counter()
    result = simulate(network, arch, inputs, semantics=semantics, preset=preset, threads=threads)
    return result, time.perf_counter() - t0


def _simulate_one(simulate, network, arch, inputs, semantics, preset, threads) -> tuple[dict, float]:
    result, wall = _simulate_result(simulate, network, arch, inputs, semantics, preset, threads)
    return _figures_of(result), wall


_ray_tasks: dict = {}


def _get_ray_task(fn=_simulate_one):
    if fn not in _ray_tasks:
        import ray

        _ray_tasks[fn] = ray.remote(num_cpus=1)(fn)
    return _ray_tasks[fn]


class Evaluator:
    """(workload, Architecture) -> Evaluation, with cache, budget, archive and Ray batches."""

    def __init__(
        self,
        workload,
        space: Optional[HardwareSpace] = None,
        *,
        targets: Optional[Targets] = None,
        preset="loihi",
        semantics: str = "timestep",
        threads: Optional[int] = None,
        simulate: Optional[Callable] = None,
        map_network: Optional[Callable] = None,
        budget: Optional[int] = None,
        use_ray: Optional[bool] = None,
        name: Optional[str] = None,
        area: Optional[Callable] = None,
    ):
        if budget is not None and budget < 1:
            raise ValueError(f"budget must be at least 1 evaluation, got {budget}")
        self.workload = workload
        self.network = workload.network
        self.inputs = np.asarray(workload.inputs, dtype=bool)
        if self.inputs.ndim != 3:
            raise ValueError(f"inputs must be bool [sample, step, input neuron], got shape {self.inputs.shape}")
        self.space = space or HardwareSpace()
        self.targets = targets or Targets()
        self.preset = preset
        self.semantics = semantics
        self.threads = threads
        self.simulate_fn = simulate or _default_simulate
        self.map_fn = map_network if map_network is not None else _default_map
        self.budget = budget
        self.use_ray = use_ray
        self.name = name or getattr(self.network, "name", "workload")
        self.area_fn = area  # (arch, preset) -> mm^2 without simulating, for a custom `simulate`
        self.needs = WorkloadNeeds.of(self.network)
        self.cache: dict[tuple, Evaluation] = {}
        self.archive = ParetoArchive()
        self.n_simulated = 0
        self.n_rejected = 0
        self.n_proposals = 0
        self.sim_seconds = 0.0
        self._reference: Optional[Evaluation] = None
        self._ray_refs = None
        self.t0 = time.perf_counter()

    def start_clock(self) -> None:
        self.t0 = time.perf_counter()

    # -- budget ---------------------------------------------------------------------------------
    @property
    def remaining(self) -> Optional[int]:
        return None if self.budget is None else max(0, self.budget - self.n_simulated)

    @property
    def exhausted(self) -> bool:
        return self.budget is not None and self.n_simulated >= self.budget

    # -- reference design -------------------------------------------------------------------------
    def reference_arch(self) -> Architecture:
        bits = max(8, self.needs.weight_bits)
        bits = 8 if bits <= 8 else 16
        last_reasons = []
        for k in range(1, 33):
            for cpt in (1, 2, 4):
                arch = Architecture(
                    mesh_width=k, mesh_height=k, cores_per_tile=cpt, neurons_per_core=1024,
                    synapse_memory_kib=1024, weight_bits=bits, synapse_lanes=1, fifo_depth=8,
                    link_width_bits=32, voltage_v=None, mapping="packed",
                )
                last_reasons = check_design(arch, self.needs) or self._map_reasons(arch)
                if not last_reasons:
                    return arch
        raise ValueError(
            f"workload {self.name!r} does not fit even a 32x32 mesh of 4 cores per tile: "
            + "; ".join(last_reasons)
        )

    def reference(self) -> Evaluation:
        """The reference (calibration) design's figures; simulated once, not budgeted."""
        if self._reference is None:
            arch = self.reference_arch()
            figs, wall = _simulate_one(
                self.simulate_fn, self.network, arch, self.inputs, self.semantics, self.preset, self.threads
            )
            self.sim_seconds += wall
            self._reference = self._record(arch, True, [], figs, wall)
            self._reference.proposer = "reference"
        return self._reference

    def normaliser(self) -> Normaliser:
        ref = self.reference()
        return Normaliser(ref.energy_j, ref.latency_s, ref.area_mm2)

    def spike_rates(self) -> np.ndarray:
        """Measured spikes per neuron per step of each layer on the calibration run."""
        ref = self.reference()
        steps = self.inputs.shape[1]
        sizes = np.array(self.needs.layer_sizes, dtype=float)
        spl = np.asarray(ref.spikes_per_layer if ref.spikes_per_layer is not None else np.zeros(len(sizes)))
        return spl / np.maximum(1.0, sizes * steps)

    def area_mm2(self, arch: Architecture) -> Optional[float]:
        """The design's area without simulating (None when a custom simulator is in use and no
        `area` function was given)."""
        if self.area_fn is not None:
            return float(self.area_fn(arch, self.preset))
        if self.simulate_fn is not _default_simulate:
            return None
        from trueasync.api import area_and_static_power

        return float(area_and_static_power(arch, self.preset)[0])

    # -- evaluation ------------------------------------------------------------------------------
    def _map_reasons(self, arch: Architecture) -> list[str]:
        if self.map_fn is False:
            return []
        try:
            self.map_fn(self.network, arch)
        except ValueError as exc:  # trueasync.SimulationError is a ValueError
            return [f"mapper: {exc}"]
        return []

    def _record(self, arch, fits, reasons, figs, wall) -> Evaluation:
        rec = Evaluation(key=arch_key(arch), design=asdict(arch), fits=fits, reasons=list(reasons))
        if figs is not None:
            rec.energy_j = figs["energy_j"]
            rec.latency_s = figs["latency_s"]
            rec.edp_js = figs["edp_js"]
            rec.area_mm2 = figs["area_mm2"]
            rec.spikes_per_layer = figs.get("spikes_per_layer")
            rec.violations = self.targets.violations(figs)
            rec.meets_targets = not rec.violations
            rec.overshoot = self.targets.overshoot(figs)
            rec.sim_wall_s = wall
        return rec

    def _archive(self, rec: Evaluation, proposer: str = "") -> Evaluation:
        rec.proposer = proposer
        rec.index = len(self.archive)
        rec.n_simulated = self.n_simulated
        rec.t_s = time.perf_counter() - self.t0
        self.cache[rec.key] = rec
        self.archive.add(rec)
        return rec

    def _precheck(self, arch: Architecture, proposer: str = "") -> Optional[Evaluation]:
        """Cached record, or an infeasible record (archived), or None if it must be simulated."""
        key = arch_key(arch)
        if key in self.cache:
            return self.cache[key]
        reasons = check_design(arch, self.needs)
        if not reasons:
            reasons = self._map_reasons(arch)
        if reasons:
            self.n_rejected += 1
            return self._archive(self._record(arch, False, reasons, None, 0.0), proposer)
        return None

    def evaluate_arch(self, arch: Architecture, proposer: str = "") -> Evaluation:
        """Score one design; `proposer` names what produced it (recorded in the archive; a
        repeat keeps the proposer that first produced the design)."""
        self.n_proposals += 1
        rec = self._precheck(arch, proposer)
        if rec is not None:
            return rec
        if self.exhausted:
            raise BudgetExhausted(f"budget of {self.budget} simulations spent")
        figs, wall = _simulate_one(
            self.simulate_fn, self.network, arch, self.inputs, self.semantics, self.preset, self.threads
        )
        self.n_simulated += 1
        self.sim_seconds += wall
        return self._archive(self._record(arch, True, [], figs, wall), proposer)

    def evaluate(self, action: Sequence[int], proposer: str = "") -> Evaluation:
        return self.evaluate_arch(self.space.decode(action), proposer)

    def evaluate_batch(self, actions: Sequence[Sequence[int]],
                       proposer: str | Sequence[str] = "") -> list[Optional[Evaluation]]:
        """Evaluate designs in order; None for designs left unsimulated because the budget ran out.

        `proposer`: one name for the whole batch or one per design (recorded in the archive).
        """
        archs = [self.space.decode(a) for a in actions]
        names = [proposer] * len(archs) if isinstance(proposer, str) else list(proposer)
        if len(names) != len(archs):
            raise ValueError(f"{len(names)} proposer names for {len(archs)} designs")
        out: list[Optional[Evaluation]] = [None] * len(archs)
        todo: dict[tuple, list[int]] = {}
        todo_arch: list[Architecture] = []
        for i, arch in enumerate(archs):
            self.n_proposals += 1
            key = arch_key(arch)
            if key in todo:
                todo[key].append(i)
                continue
            rec = self._precheck(arch, names[i])
            if rec is not None:
                out[i] = rec
                continue
            if self.remaining is not None and len(todo_arch) >= self.remaining:
                continue
            todo[key] = [i]
            todo_arch.append(arch)
        results = self._simulate_many(todo_arch)
        for arch, (figs, wall) in zip(todo_arch, results):
            self.n_simulated += 1
            self.sim_seconds += wall
            rec = self._archive(self._record(arch, True, [], figs, wall), names[todo[arch_key(arch)][0]])
            for i in todo[rec.key]:
                out[i] = rec
        return out

    def _simulate_many(self, archs: list[Architecture]) -> list[tuple[dict, float]]:
        if not archs:
            return []
        use_ray = self.use_ray
        if use_ray is None:
            try:
                import ray

                use_ray = ray.is_initialized() and len(archs) > 1
            except ImportError:  # pragma: no cover
                use_ray = False
        if not use_ray:
            return [
                _simulate_one(self.simulate_fn, self.network, a, self.inputs, self.semantics, self.preset, self.threads)
                for a in archs
            ]
        batch = getattr(self.simulate_fn, "simulate_batch", None)
        if batch is not None:  # a caching simulate (the run store's): only its misses go to Ray
            pairs = batch(self.network, archs, self.inputs, semantics=self.semantics, preset=self.preset,
                          threads=self.threads or 1, run_many=self._ray_results)
            return [(_figures_of(r), wall) for r, wall in pairs]
        return self._ray_run(_simulate_one, self.simulate_fn, archs)

    def _ray_run(self, fn, simulate, archs: list) -> list:
        """`fn(simulate, network, arch, inputs, ...)` for every design, one Ray task each, in order."""
        import ray

        if self._ray_refs is None:
            self._ray_refs = (ray.put(self.network), ray.put(self.inputs))
        net_ref, inp_ref = self._ray_refs
        task = _get_ray_task(fn)
        refs = [task.remote(simulate, net_ref, a, inp_ref, self.semantics, self.preset, self.threads or 1)
                for a in archs]
        return ray.get(refs)

    def _ray_results(self, simulate, archs: list) -> list:
        """(SimResult, wall seconds) of `simulate` for every design, as Ray tasks."""
        return self._ray_run(_simulate_result, simulate, archs)

    def constraint_violation(self, rec: Evaluation) -> float:
        """The targets as one constraint, the same for every method (<= 0: the design meets them).

        A design that fits: its target overshoot (sum over missed targets of ln(value / target)).
        A design that does not fit: 1 + its capacity shortfall (summed log2 deficits).
        """
        if rec.fits:
            return float(rec.overshoot)
        return 1.0 + float(shortfall(Architecture(**rec.design), self.needs))

    # -- reward --------------------------------------------------------------------------------
    def scalarise(self, rec: Evaluation, weights: Sequence[float], penalty: float = 3.0,
                  targets: Optional[Targets] = None) -> float:
        """Log-normalised scalar reward (higher is better); see agent/env.py.

        `targets` (default: the evaluator's) set the penalty for missed targets.
        """
        if not rec.fits:
            arch = Architecture(**rec.design)
            return float(-6.0 - min(4.0, shortfall(arch, self.needs)))
        ref = self.reference()
        z = np.log(rec.objectives() / ref.objectives())
        r = -float(np.dot(np.asarray(weights, dtype=float), z))
        t = self.targets if targets is None else targets
        over = t.overshoot(rec.figures())
        r -= penalty * over + (2.0 if over > 0 else 0.0)
        return float(np.clip(r, -10.0, 10.0))

    def summary(self) -> dict:
        best = self.archive.best_edp(meeting_targets=True)
        return {
            "workload": self.name,
            "designs_archived": len(self.archive),
            "simulated": self.n_simulated,
            "rejected_without_simulation": self.n_rejected,
            "proposals": self.n_proposals,
            "simulation_seconds": self.sim_seconds,
            "best_edp": best.to_dict() if best else None,
        }
