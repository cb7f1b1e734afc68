r"""`ancoef search`: hardware search for one workload (RL warm-started, NSGA-II or random).

    ancoef search --workload ../shared/workloads/mlp_784-512-256-10_T100_16c --algo rl \
        --budget 200 --seed 0 --out runs/search --max-latency-s 1e-3 --mesh-width 1:8

Writes to --out: archive.json / archive.csv (every evaluated design, Pareto flags), summary.json
(best EDP, hypervolume, targets, closest designs when none met the targets) and pareto.png.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from agent.search import METHODS
from agent.space import DEFAULT_CHOICES, HELP, PARAM_NAMES, HardwareSpace
from services.options import positive_float

ALGOS = METHODS


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "search",
        help="search the hardware space for one workload",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--workload", metavar="PREFIX", help="workload on disk (PREFIX.json + PREFIX.npz)")
    src.add_argument("--network", metavar="TRAIN_OUT_DIR", help="an `ancoef train` output directory")
    p.add_argument("--algo", default="rl", help="rl (warm-started PPO), nsga2, tpe (Optuna multi-objective TPE) or random (default rl)")
    p.add_argument("--budget", type=int, default=200, help="distinct simulated designs (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("ancoef-search"), help="output directory")
    p.add_argument("--json", type=Path, help="also write the summary JSON here")
    p.add_argument("--max-energy-j", type=positive_float, help="target: energy per sample (J)")
    p.add_argument("--max-latency-s", type=positive_float, help="target: latency per sample (s)")
    p.add_argument("--max-area-mm2", type=positive_float, help="target: chip area (mm^2)")
    p.add_argument("--preset", default=None, help="cost preset (default async28 if available, else loihi)")
    p.add_argument("--semantics", default="timestep", choices=("timestep", "sanafe"))
    p.add_argument("--samples", type=int, help="use only the first N samples of the workload")
    p.add_argument("--timesteps", type=int, help="use only the first T steps of the workload")
    p.add_argument("--threads", type=int, help="simulator threads per simulation")
    p.add_argument("--checkpoint", type=Path, help="RL warm-start policy (default: the shipped one)")
    p.add_argument("--no-warm-start", action="store_true", help="RL from scratch")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--sim-endpoint", metavar="HOST:PORT",
                   help="simulate on a SimulatorService (`ancoef serve sim`) instead of in-process")
    g = p.add_argument_group("search ranges", "lo:hi (on the parameter's grid) or a comma list")
    for name in PARAM_NAMES:
        d = DEFAULT_CHOICES[name]
        shown = ",".join(d) if isinstance(d[0], str) else f"{d[0]}:{d[-1]}"
        g.add_argument("--" + name.replace("_", "-"), dest="range_" + name, metavar="RANGE",
                       help=f"{HELP[name]} (default {shown})")
    p.set_defaults(func=run)
    return p


def validate(args) -> tuple:
    """Every check that can fail before any simulation; returns (space, targets)."""
    from agent.evaluator import Targets

    if args.algo not in ALGOS:
        raise ValueError(f"unknown --algo {args.algo!r}; choose one of {', '.join(ALGOS)}")
    if args.budget is None or args.budget < 1:
        raise ValueError(f"--budget must be at least 1 evaluation, got {args.budget}")
    ranges = {n: getattr(args, "range_" + n) for n in PARAM_NAMES if getattr(args, "range_" + n, None) is not None}
    space = HardwareSpace.from_options(ranges)
    targets = Targets(args.max_energy_j, args.max_latency_s, args.max_area_mm2)
    if args.samples is not None and args.samples < 1:
        raise ValueError(f"--samples must be at least 1, got {args.samples}")
    if args.timesteps is not None and args.timesteps < 1:
        raise ValueError(f"--timesteps must be at least 1, got {args.timesteps}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.checkpoint is not None and not Path(args.checkpoint).exists():
        raise FileNotFoundError(f"--checkpoint {args.checkpoint} does not exist")
    return space, targets


def run(args) -> int:
    space, targets = validate(args)
    from agent import workloads
    from agent.evaluator import Evaluator
    from agent.search import pareto_plot, run_search

    wl = workloads.load_search_workload(args.workload, args.network, args.samples, args.timesteps)
    ev = Evaluator(wl, space, targets=targets, preset=args.preset or workloads.default_preset(),
                   semantics=args.semantics, threads=args.threads, budget=args.budget,
                   name=getattr(wl.network, "name", "workload"), **remote_backend(args))
    # a design space in which nothing can hold the network is a bad setting: say so before searching
    masks = space.action_mask(ev.needs)
    empty = [p.name for p, m in zip(space.params, masks) if not m.any()]
    if empty:
        raise ValueError(
            "no design in the given ranges can hold the network (" + ", ".join(empty) + " too small): "
            + "; ".join(space.check(space.decode([int(m.argmax()) if m.any() else p.n - 1
                                                   for p, m in zip(space.params, masks)]), ev.needs))
        )
    extra = {}
    if args.algo == "rl":
        if args.no_warm_start:
            extra["checkpoint"] = None
        elif args.checkpoint is not None:
            extra["checkpoint"] = args.checkpoint
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=args.budget, unit="sim", desc=f"search {args.algo}", file=sys.stderr)

    def progress(e):
        if bar is None:
            return
        bar.n = e.n_simulated
        best = e.archive.best_edp(meeting_targets=True)
        bar.set_postfix(best_edp_snj=f"{best.edp_js * 1e9:.4g}" if best else "-",
                        hv=f"{e.archive.hypervolume():.4f}", refresh=False)
        bar.refresh()

    if args.algo == "rl":
        from agent.rl import ensure_ray

        ensure_ray()
    try:
        figs = run_search(args.algo, ev, seed=args.seed, progress=progress, **extra)
    finally:
        if bar is not None:
            bar.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ev.archive.save(out)
    pareto_plot(ev, out / "pareto.png", title=f"{ev.name} ({args.algo}, seed {args.seed})")
    summary = {k: v for k, v in figs.items() if k != "trace"}
    summary["best_edp_trace"] = [list(t) for t in figs["trace"]]
    summary["space"] = space.to_dict()
    summary["preset"] = ev.preset
    summary["semantics"] = ev.semantics
    summary["normalisation"] = ev.archive.normaliser.to_dict()
    if not figs["met_targets"]:
        summary["report"] = (
            "no design met the targets" if targets.any else "no design fit the network"
        ) + f" within {ev.n_simulated} simulations; closest designs listed in closest_to_targets"
    text = json.dumps(summary, indent=1, default=_default)
    (out / "summary.json").write_text(text)
    if args.json:
        Path(args.json).write_text(text)
    if figs["met_targets"]:
        b = figs["best"]
        print(f"best EDP {b['edp_js']:.4g} J*s ({b['edp_snj']:.4g} s*nJ): energy {b['energy_j']:.4g} J, "
              f"latency {b['latency_s']:.4g} s, area {b['area_mm2']:.4g} mm^2; hypervolume "
              f"{figs['hypervolume']:.4f}; {ev.n_simulated} simulations; results in {out}")
    else:
        print(f"ancoef search: {summary['report']}:", file=sys.stderr)
        for r in figs["closest_to_targets"]:
            print(f"  energy {r['energy_j']:.4g} J, latency {r['latency_s']:.4g} s, area {r['area_mm2']:.4g} mm^2"
                  f" -- misses: {'; '.join(r['violations'])}", file=sys.stderr)
        return 1
    return 0


def remote_backend(args) -> dict:
    if not getattr(args, "sim_endpoint", None):
        return {}
    from services.client import SimulatorClient

    return SimulatorClient(args.sim_endpoint).evaluator_keywords()


def _default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    raise TypeError(type(o).__name__)
