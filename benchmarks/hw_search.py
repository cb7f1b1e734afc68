"""Hardware-search benchmark: RL (pre-trained, warm-started) vs NSGA-II vs random search.

    python benchmarks/hw_search.py            # budgets 200 and 500, 5 seeds, 3 held-out workloads
    python benchmarks/hw_search.py --quick    # budget 60, 2 seeds, one workload (a minute or two)
    python benchmarks/hw_search.py --first-seed 5 --out benchmarks/results/hw_search_seeds5-9.json
                                              # the same on seeds 5..9 (a check on fresh seeds)

Workloads (all held out from the RL policy's pre-training, which used `agent.workloads.
training_workloads()`): real N-MNIST recordings (shared/data/nmnist-small, 2x2-pooled to 17x17x2,
T=8, 2 samples) through two seeded, randomly initialised SNNs (an MLP 578-256-10 and a conv net
17x17x2 -> 8 ch stride 2 -> 10), and the shared reference workload
(shared/workloads/mlp_784-512-256-10_T100_16c, first 20 of its 100 steps).

Rules: same evaluator, simulator and search space (the laptop space, agent.workloads.
LAPTOP_RANGES) for every method; the budget counts distinct simulated designs. Each (method,
seed) is run once with the largest budget; the figures at a smaller budget B are those of the
first B simulations (NSGA-II keeps a population of 40 whatever the budget, and RL and random
search do not depend on the budget until it stops them, so this equals a run with budget B).
Targets per workload: latency <= the reference design's latency and area <= its area.

Reported per method (median over seeds): normalised hypervolume (agent.pareto), best EDP meeting
the targets, and the simulations and wall seconds each method needed to reach NSGA-II's final
best EDP (same seed, same budget); the ratio is NSGA-II's simulations to reach its own final best
over RL's.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent import workloads  # noqa: E402
from agent.evaluator import Targets  # noqa: E402
from agent.search import reach, run_search  # noqa: E402

METHODS = ("rl", "nsga2", "random")
TARGET_HV = "RL median HV >= NSGA-II median HV"
TARGET_SPEED = 2.73


def held_out_workloads(quick: bool) -> dict:
    out = dict(workloads.nmnist_workloads(samples=2, timesteps=8))
    if quick:
        return {k: v for k, v in out.items() if "mlp" in k}
    try:
        out["shared-mlp784-512-256-10-T20"] = workloads.shared_workload(samples=1, timesteps=20)
    except FileNotFoundError as exc:
        print(f"skipping the shared workload: {exc}", file=sys.stderr)
    return out


def at_budget(ev, budget: int) -> dict:
    """Figures of the first `budget` simulations of a finished search."""
    recs = [r for r in ev.archive.records if r.n_simulated <= budget]
    feas = [r for r in recs if r.fits]
    meet = [r for r in feas if r.meets_targets]
    norm = ev.archive.normaliser
    hv = norm.hypervolume(np.array([r.objectives() for r in feas])) if feas else 0.0
    best = min(meet, key=lambda r: r.edp_js) if meet else None
    trace, b = [], np.inf
    for r in meet:
        if r.edp_js < b:
            b = r.edp_js
            trace.append((r.n_simulated, r.t_s, b))
    sims = [r for r in recs if r.n_simulated == budget and r.fits]
    wall = sims[0].t_s if sims else (recs[-1].t_s if recs else 0.0)
    return {
        "hypervolume": hv,
        "best_edp_js": best.edp_js if best else None,
        "best_design": best.design if best else None,
        "simulated": min(budget, ev.n_simulated),
        "wall_s": wall,
        "trace": trace,
    }


def run(args) -> dict:
    from agent.rl import DEFAULT_CHECKPOINT, ensure_ray

    budgets = sorted(args.budgets)
    top = budgets[-1]
    space = workloads.laptop_space()
    preset = args.preset or workloads.default_preset()
    ensure_ray(2)
    checkpoint = Path(args.policy) if args.policy else DEFAULT_CHECKPOINT
    results = {"config": {
        "budgets": budgets, "seeds": args.seeds, "first_seed": args.first_seed, "preset": preset,
        "space": space.to_dict(),
        "policy": str(checkpoint), "machine": platform.platform(), "python": platform.python_version(),
    }, "workloads": {}}
    for wname, wl in held_out_workloads(args.quick).items():
        probe = workloads.make_evaluator(wl, space, preset=preset, name=wname)
        ref = probe.reference()
        targets = Targets(max_latency_s=ref.latency_s, max_area_mm2=ref.area_mm2)
        runs = {m: [] for m in METHODS}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for method in METHODS:
                ev = workloads.make_evaluator(wl, space, preset=preset, name=wname, targets=targets, budget=top)
                kw = {"pop_size": 40} if method == "nsga2" else ({"checkpoint": checkpoint} if method == "rl" else {})
                t0 = time.perf_counter()
                figs = run_search(method, ev, seed=seed, **kw)
                per_budget = {b: at_budget(ev, b) for b in budgets}
                runs[method].append(per_budget)
                print(f"{wname} seed {seed} {method:6s}: " + ", ".join(
                    f"B={b} HV {per_budget[b]['hypervolume']:.4f} EDP {_fmt(per_budget[b]['best_edp_js'])}"
                    for b in budgets) + f" ({time.perf_counter() - t0:.0f} s, {figs['simulated']} sims)",
                    flush=True)
        results["workloads"][wname] = summarise(runs, budgets, targets, ref)
    return results


def summarise(runs: dict, budgets, targets, ref) -> dict:
    out = {"targets": targets.to_dict(), "reference_design": ref.to_dict(), "budgets": {}}
    for b in budgets:
        rows = {}
        n_seeds = len(runs["nsga2"])
        for m in METHODS:
            hv = [r[b]["hypervolume"] for r in runs[m]]
            edp = [r[b]["best_edp_js"] for r in runs[m]]
            evals, walls, ratios = [], [], []
            for s in range(n_seeds):
                thr = runs["nsga2"][s][b]["best_edp_js"]
                if thr is None:
                    continue
                n, t = reach(runs[m][s][b]["trace"], thr)
                n_ns, _ = reach(runs["nsga2"][s][b]["trace"], thr)
                evals.append(n)
                walls.append(t)
                ratios.append(n_ns / n if n else 0.0)
            rows[m] = {
                "hypervolume": hv, "hypervolume_median": float(np.median(hv)),
                "best_edp_js": edp, "best_edp_js_median": _median(edp),
                "evals_to_nsga2_best": evals, "evals_to_nsga2_best_median": _median(evals),
                "wall_s_to_nsga2_best": walls, "wall_s_to_nsga2_best_median": _median(walls),
                "eval_ratio_vs_nsga2": ratios, "eval_ratio_vs_nsga2_median": _median(ratios),
                "reached_nsga2_best": sum(n is not None for n in evals), "seeds": n_seeds,
                "wall_s_total": [r[b]["wall_s"] for r in runs[m]],
            }
        rows["targets_met"] = {
            TARGET_HV: rows["rl"]["hypervolume_median"] >= rows["nsga2"]["hypervolume_median"],
            f"RL reaches NSGA-II's final best EDP with >= {TARGET_SPEED}x fewer evaluations (median)":
                (rows["rl"]["eval_ratio_vs_nsga2_median"] or 0.0) >= TARGET_SPEED,
        }
        out["budgets"][str(b)] = rows
    return out


def _median(xs):
    xs = [x for x in xs if x is not None]
    return float(np.median(xs)) if xs else None


def _fmt(x):
    return "-" if x is None else f"{x:.4g}"


def print_table(results: dict) -> None:
    print()
    hdr = f"{'workload':34s} {'B':>4s} {'method':7s} {'HV med':>8s} {'best EDP med (J*s)':>18s} " \
          f"{'sims->NSGA best':>15s} {'s->NSGA best':>12s} {'ratio':>6s} {'reached':>7s}"
    print(hdr)
    print("-" * len(hdr))
    for wname, w in results["workloads"].items():
        for b, rows in w["budgets"].items():
            for m in METHODS:
                r = rows[m]
                print(f"{wname:34s} {b:>4s} {m:7s} {r['hypervolume_median']:8.4f} "
                      f"{_fmt(r['best_edp_js_median']):>18s} {_fmt(r['evals_to_nsga2_best_median']):>15s} "
                      f"{_fmt(r['wall_s_to_nsga2_best_median']):>12s} {_fmt(r['eval_ratio_vs_nsga2_median']):>6s} "
                      f"{r['reached_nsga2_best']}/{r['seeds']:<5d}")
            for k, v in rows["targets_met"].items():
                print(f"{'':34s} {b:>4s} target: {k}: {'MET' if v else 'not met'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="budget 60, 2 seeds, one workload")
    p.add_argument("--budgets", type=int, nargs="+", default=None)
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    p.add_argument("--preset", default=None)
    p.add_argument("--policy", default=None, help="pre-trained policy dir (default agent/policy)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "hw_search.json")
    args = p.parse_args(argv)
    args.budgets = args.budgets or ([60] if args.quick else [200, 500])
    args.seeds = args.seeds or (2 if args.quick else 5)
    if min(args.budgets) < 1 or args.seeds < 1 or args.first_seed < 0:
        p.error("budgets and seeds must be positive")
    if args.quick and args.out == ROOT / "benchmarks" / "results" / "hw_search.json":
        args.out = args.out.with_name("hw_search_quick.json")
    t0 = time.perf_counter()
    results = run(args)
    results["wall_s"] = time.perf_counter() - t0
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    print(f"\nwrote {args.out} ({results['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
