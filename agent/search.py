"""One entry point for every search method, plus the figures reported for a finished search."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from agent.evaluator import Evaluator

# `moves`: the RL search's critic-screened archive moves started from random designs, without PPO
# (`agent.moves`); the hardware-search benchmark found it as good as `rl` (docs/search.md, "Results").
METHODS = ("rl", "nsga2", "tpe", "random", "moves")
SHIPPED = "shipped"  # `checkpoint` default: the shipped pre-trained policy (None: RL from scratch)


def run_search(method: str, evaluator: Evaluator, seed: int = 0,
               progress: Optional[Callable[[Evaluator], None]] = None,
               checkpoint: Optional[Path] | str = SHIPPED, **kw) -> dict:
    """Run `method` until the evaluator's budget is spent; return `search_figures`."""
    if method not in METHODS:
        raise ValueError(f"unknown search algorithm {method!r}; choose one of {', '.join(METHODS)}")
    evaluator.reference()  # calibration run: outside the budget and outside the clock
    evaluator.archive.normaliser = evaluator.normaliser()
    evaluator.start_clock()
    t0 = time.perf_counter()
    if method == "random":
        from agent.baselines import random_search

        random_search(evaluator, seed=seed, progress=progress, **kw)
    elif method == "nsga2":
        from agent.baselines import nsga2_search

        nsga2_search(evaluator, seed=seed, progress=progress, **kw)
    elif method == "tpe":
        from agent.baselines import tpe_search

        tpe_search(evaluator, seed=seed, progress=progress, **kw)
    elif method == "moves":
        from agent.moves import moves_search

        moves_search(evaluator, seed=seed, progress=progress, **kw)
    else:
        from agent.rl import DEFAULT_CHECKPOINT, rl_search

        rl_search(evaluator, seed=seed, progress=progress,
                  checkpoint=DEFAULT_CHECKPOINT if checkpoint == SHIPPED else checkpoint, **kw)
    wall = time.perf_counter() - t0
    return search_figures(evaluator, method, seed, wall)


def best_edp_trace(evaluator: Evaluator, meeting_targets: bool = True) -> list[tuple[int, float, float]]:
    """(simulations spent, seconds, best EDP so far) each time the best EDP improved."""
    out, best = [], math.inf
    for r in evaluator.archive.records:
        if r.fits and (r.meets_targets or not meeting_targets) and r.edp_js < best:
            best = r.edp_js
            out.append((r.n_simulated, r.t_s, best))
    return out


def reach(trace, threshold: float) -> tuple[Optional[int], Optional[float]]:
    """Simulations and seconds at which the best EDP first got to <= threshold (None: never)."""
    for n, t, best in trace:
        if best <= threshold * (1 + 1e-12):
            return n, t
    return None, None


def search_figures(evaluator: Evaluator, method: str, seed: int, wall_s: float) -> dict:
    arch = evaluator.archive
    best = arch.best_edp(meeting_targets=True)
    best_any = arch.best_edp(meeting_targets=False)
    return {
        "method": method,
        "seed": seed,
        "workload": evaluator.name,
        "budget": evaluator.budget,
        "simulated": evaluator.n_simulated,
        "rejected_without_simulation": evaluator.n_rejected,
        "proposals": evaluator.n_proposals,
        "wall_s": wall_s,
        "simulation_s": evaluator.sim_seconds,
        "hypervolume": arch.hypervolume(),
        "hypervolume_meeting_targets": arch.hypervolume(meeting_targets=True),
        "front_size": len(arch.front()),
        "proposers": proposer_counts(evaluator),
        "best_edp_js": best.edp_js if best else None,
        "best_edp_snj": best.edp_js * 1e9 if best else None,
        "best": best.to_dict() if best else None,
        "best_edp_any_js": best_any.edp_js if best_any else None,
        "targets": evaluator.targets.to_dict(),
        "met_targets": best is not None,
        "closest_to_targets": [r.to_dict() for r in arch.closest_to_targets(5)] if best is None else [],
        "reference_design": evaluator.reference().to_dict(),
        "trace": best_edp_trace(evaluator),
    }


def proposer_counts(evaluator: Evaluator) -> dict:
    """Simulated designs per proposer (designs that did not fit cost nothing and are left out)."""
    out: dict = {}
    for r in evaluator.archive.records:
        if r.fits:
            out[r.proposer] = out.get(r.proposer, 0) + 1
    return out


def anytime(records, normaliser, grid) -> dict:
    """Constrained and unconstrained hypervolume and best EDP meeting the targets after each
    number of simulations in `grid` (None for EDP while no design meets the targets).
    `records`: an archive's records in evaluation order."""
    recs = [r for r in records if r.fits]
    out = {"simulations": [int(n) for n in grid], "hypervolume_meeting_targets": [], "hypervolume": [],
           "best_edp_js": []}
    for n in grid:
        done = [r for r in recs if r.n_simulated <= n]
        meet = [r for r in done if r.meets_targets]
        out["hypervolume"].append(normaliser.hypervolume(np.array([r.objectives() for r in done])) if done else 0.0)
        out["hypervolume_meeting_targets"].append(
            normaliser.hypervolume(np.array([r.objectives() for r in meet])) if meet else 0.0)
        out["best_edp_js"].append(min(r.edp_js for r in meet) if meet else None)
    return out


def pareto_plot(evaluator: Evaluator, path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = evaluator.archive.feasible()
    front = evaluator.archive.front()
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    if recs:
        e = np.array([r.energy_j for r in recs])
        l = np.array([r.latency_s for r in recs])
        a = np.array([r.area_mm2 for r in recs])
        sc = ax.scatter(l, e, c=np.log10(a), s=10, cmap="viridis", alpha=0.6, label="evaluated")
        fig.colorbar(sc, ax=ax, label="log10 area (mm$^2$)")
        fl = np.array([r.latency_s for r in front])
        fe = np.array([r.energy_j for r in front])
        ax.scatter(fl, fe, facecolors="none", edgecolors="red", s=36, label="Pareto front (E, L, A)")
        best = evaluator.archive.best_edp(meeting_targets=True)
        if best is not None:
            ax.scatter([best.latency_s], [best.energy_j], marker="*", s=160, c="black", label="best EDP")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no design fit the network", ha="center", transform=ax.transAxes)
    t = evaluator.targets
    if t.max_latency_s:
        ax.axvline(t.max_latency_s, ls="--", c="gray")
    if t.max_energy_j:
        ax.axhline(t.max_energy_j, ls="--", c="gray")
    ax.set_xlabel("latency per sample (s)")
    ax.set_ylabel("energy per sample (J)")
    ax.set_title(title or f"{evaluator.name}: {len(recs)} designs that fit")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
