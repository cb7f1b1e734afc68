"""Co-exploration on N-MNIST against both baselines, and whether the carried warm start helps.

    python benchmarks/explore_nmnist.py                       # ../shared/data/nmnist-small, seed 0
    python benchmarks/explore_nmnist.py --warm-start-seeds 10 --json benchmarks/results/explore_nmnist.json

1. One `ancoef explore` run (the library, default settings) on nmnist-small's fixed 800/200 split:
   the chosen design against (a) the reference network on the reference chip and (b) the
   sequential flow; accuracy, EDP (s*nJ per sample), energy, latency, area, and each flow's
   search cost (wall seconds, CPU-thread hours). The run lives in --out and is resumable: a rerun
   with the same settings reads every finished step from its store.
   Targets (issue 8): accuracy >= baseline (a)'s with EDP >= 10x lower; a front at least as good
   as the sequential flow's (every sequential point matched or beaten in accuracy and EDP) at no
   more search cost.
2. Warm start: the run's candidates' searches again from their calibration workloads (the same
   networks), for --warm-start-seeds search seeds, under each `--warm-start`: every search from
   the shipped policy (`shipped`), the policy weights carried from candidate to candidate
   (`policy`), the shipped policy with a design critic that also fits the earlier candidates'
   designs (`critic`), from scratch (`none`). Hypervolume and best EDP per candidate (medians and
   spread) and, for each mode against `shipped`, the paired differences and a Wilcoxon
   signed-rank test.

Prints tables, writes JSON; the machine's load average is recorded beside the timings. Skips with
the reason when the data folder is absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nmnist-small"
MODES = ("shipped", "policy", "critic", "none")


def _load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


def run_exploration(args):
    from coexplore import ExploreSettings, InProcessTrainer, explore, preflight, resume_run, start_run
    from runstore import STORE_NAME

    out = Path(args.out)
    given = {"dataset": "nmnist-small", "data_root": str(args.data_root), "seed": args.seed}
    if args.minutes is not None:
        given["minutes"] = args.minutes
    trainer = InProcessTrainer()
    t0 = time.perf_counter()
    if (out / STORE_NAME).exists():
        store, settings = resume_run(out, given)
        pre = None
    else:
        settings = ExploreSettings(**given).validated()
        pre = preflight(settings, trainer)
        store = start_run(out, settings)
    result = explore(settings, store, out=out, trainer=trainer, preflight=pre, progress=_print_event)
    return result, trainer, settings, time.perf_counter() - t0


def _print_event(ev):
    from coexplore import LogEvent, PhaseEvent

    if isinstance(ev, PhaseEvent):
        print(f"[explore] phase {ev.index}/{ev.total}: {ev.message}", flush=True)
    elif isinstance(ev, LogEvent):
        print(f"[explore] {ev.message}", flush=True)


def comparison_table(s: dict) -> tuple[list, dict]:
    ch, bl, comp = s["chosen"], s["baselines"], s["comparison"]
    cost = s["timings"]["search_cost"]
    rows = []
    for label, p, flow in (("co-exploration (chosen)", ch, "coexploration"),
                           ("(a) reference", bl["reference"]["chosen"], "reference"),
                           ("(b) sequential", bl["sequential"]["chosen"], "sequential")):
        rows.append({"flow": label, "network": f"{p['candidate']} {p['config_text']} {p['bits']}-bit",
                     "accuracy": p["accuracy"], "edp_snj": p["edp_snj"], "energy_j": p["energy_j"],
                     "latency_s": p["latency_s"], "area_mm2": p["area_mm2"], "chip": p["design_text"],
                     "search_wall_s": cost[flow]["wall_s"] if flow != "reference" else None,
                     "search_cpu_thread_hours": cost[flow]["cpu_thread_hours"] if flow != "reference" else None})
    ra, rb, fc = comp["vs_reference"], comp["vs_sequential"], comp["front_vs_sequential"]
    targets = {
        "accuracy_at_least_reference": ra["accuracy_difference"] >= 0,
        "edp_10x_below_reference": ra["edp_ratio"] >= 10,
        "edp_ratio_vs_reference": ra["edp_ratio"],
        "accuracy_difference_vs_reference": ra["accuracy_difference"],
        "edp_ratio_vs_sequential": rb["edp_ratio"],
        "accuracy_difference_vs_sequential": rb["accuracy_difference"],
        "front_at_least_as_good_as_sequential": fc.get("at_least_as_good"),
        "front_coverage_of_sequential": fc.get("coverage"),
        "no_more_search_cost_wall": cost["coexploration"]["wall_s"] <= cost["sequential"]["wall_s"],
        "no_more_search_cost_cpu": cost["coexploration"]["cpu_s"] <= cost["sequential"]["cpu_s"],
        "search_cost_ratio_wall": cost["coexploration"]["wall_s"] / cost["sequential"]["wall_s"],
        "search_cost_ratio_cpu": cost["coexploration"]["cpu_s"] / cost["sequential"]["cpu_s"],
    }
    return rows, targets


def print_comparison(rows, targets, s):
    print()
    print(f"{'flow':26s} {'network':44s} {'acc':>6s} {'EDP s*nJ':>10s} {'energy J':>10s} {'latency s':>10s} "
          f"{'area mm2':>9s} {'wall s':>8s} {'CPU-h':>8s}")
    for r in rows:
        w = "-" if r["search_wall_s"] is None else f"{r['search_wall_s']:.1f}"
        c = "-" if r["search_cpu_thread_hours"] is None else f"{r['search_cpu_thread_hours']:.4f}"
        print(f"{r['flow']:26s} {r['network']:44s} {r['accuracy']:6.3f} {r['edp_snj']:10.4g} {r['energy_j']:10.4g} "
              f"{r['latency_s']:10.4g} {r['area_mm2']:9.4g} {w:>8s} {c:>8s}")
    t = targets
    print()
    print(f"vs (a): EDP {t['edp_ratio_vs_reference']:.3g}x lower, accuracy {100 * t['accuracy_difference_vs_reference']:+.1f} "
          f"points -> accuracy target {'met' if t['accuracy_at_least_reference'] else 'MISSED'}, 10x EDP target "
          f"{'met' if t['edp_10x_below_reference'] else 'MISSED'}")
    print(f"vs (b): EDP ratio {t['edp_ratio_vs_sequential']:.3g}, accuracy {100 * t['accuracy_difference_vs_sequential']:+.1f} "
          f"points; front covers {100 * (t['front_coverage_of_sequential'] or 0):.0f} % of the sequential front -> "
          f"{'met' if t['front_at_least_as_good_as_sequential'] else 'MISSED'}; search cost co-exploration / "
          f"sequential = {t['search_cost_ratio_wall']:.2f} wall, {t['search_cost_ratio_cpu']:.2f} CPU -> "
          f"{'met' if t['no_more_search_cost_cpu'] else 'MISSED'}")


def warm_start_ablation(result, trainer, settings, seeds: list) -> dict:
    """The run's candidates' searches again, per warm start and search seed (simulations memoised:
    the same design on the same workload is the same simulation)."""
    import trueasync as ta
    from agent.search import run_search
    from coexplore.phases import make_evaluator, search_options, warm_start_carry
    from coexplore.simcache import design_key, workload_fingerprint

    cands = result.candidates
    exports = {}
    for c in cands:
        trainer.load_state(c.name, (result.out / c.model_checkpoint).read_bytes())
        exports[c.name] = trainer.export(c.name, c.bits, "calibration")
    memo: dict = {}

    def simulate(network, arch, inputs, **kw):
        k = (workload_fingerprint(network, inputs), design_key(arch))
        if k not in memo:
            memo[k] = ta.simulate(network, arch, inputs, **kw)
        return memo[k]

    rows = []
    for seed in seeds:
        for mode in MODES:
            s = dataclasses.replace(settings, seed=seed, warm_start=mode)
            carry = warm_start_carry(s)
            for i, c in enumerate(cands):
                ev = make_evaluator(s, c, exports[c.name], s.budget, simulate)
                t0 = time.perf_counter()
                figs = run_search("rl", ev, seed=seed, **search_options(s, carry))
                rows.append({"seed": seed, "mode": mode, "candidate": c.name, "order": i,
                             "hypervolume": figs["hypervolume"], "best_edp_js": figs["best_edp_js"],
                             "wall_s": time.perf_counter() - t0})
        print(f"warm start: seed {seed} done ({len(memo)} distinct simulations so far)", flush=True)
    return summarise_ablation(rows, [c.name for c in cands])


def summarise_ablation(rows: list, names: list) -> dict:
    """Medians per candidate and mode; each mode against `shipped` (the default) over the paired
    (seed, candidate) searches (the carrying modes from the second candidate on: the first search
    of a run is the same for them)."""
    from scipy.stats import wilcoxon

    out = {"rows": rows, "per_candidate": {}, "tests": {}}
    for n in names:
        for m in MODES:
            hv = [r["hypervolume"] for r in rows if r["candidate"] == n and r["mode"] == m]
            ed = [r["best_edp_js"] for r in rows if r["candidate"] == n and r["mode"] == m and r["best_edp_js"]]
            out["per_candidate"][f"{n}/{m}"] = {
                "hypervolume_median": statistics.median(hv), "hypervolume_min": min(hv), "hypervolume_max": max(hv),
                "best_edp_js_median": statistics.median(ed) if ed else None}
    base = {(r["seed"], r["candidate"]): r for r in rows if r["mode"] == "shipped"}
    for mode in MODES[1:]:
        pairs = [(r, base[(r["seed"], r["candidate"])]) for r in rows
                 if r["mode"] == mode and (r["order"] > 0 or mode == "none")]
        d = [a["hypervolume"] - b["hypervolume"] for a, b in pairs]
        e = [math.log10(b["best_edp_js"] / a["best_edp_js"]) for a, b in pairs if a["best_edp_js"] and b["best_edp_js"]]
        test = {"pairs": len(d), "better": sum(x > 0 for x in d), "worse": sum(x < 0 for x in d),
                "median_hypervolume_difference": statistics.median(d) if d else None,
                "median_log10_best_edp_gain": statistics.median(e) if e else None}
        if any(d):
            test["wilcoxon_p_hypervolume"] = float(wilcoxon(d, zero_method="wilcox").pvalue)
        out["tests"][f"{mode}_vs_shipped"] = test
    return out


def print_ablation(ab: dict, names: list) -> None:
    print()
    print("warm start across candidates (same candidates, RL searches only): hypervolume median [min, max]")
    print(f"{'candidate':10s} " + " ".join(f"{m:>26s}" for m in MODES))
    for n in names:
        cells = []
        for m in MODES:
            r = ab["per_candidate"][f"{n}/{m}"]
            cells.append(f"{r['hypervolume_median']:.4f} [{r['hypervolume_min']:.4f}, {r['hypervolume_max']:.4f}]")
        print(f"{n:10s} " + " ".join(f"{c:>26s}" for c in cells))
    for k, t in ab["tests"].items():
        p = t.get("wilcoxon_p_hypervolume")
        print(f"{k}: hypervolume higher in {t['better']}, lower in {t['worse']} of {t['pairs']} paired searches, "
              f"median difference {t['median_hypervolume_difference']:+.4f}; median best-EDP gain "
              f"{t['median_log10_best_edp_gain']:+.3f} decades" + ("" if p is None else f"; Wilcoxon p = {p:.3g}"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "explore_nmnist")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "explore_nmnist.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=None, help="training budget (default: ancoef explore's)")
    ap.add_argument("--warm-start-seeds", type=int, default=10, help="search seeds of the warm-start ablation (0: skip)")
    args = ap.parse_args(argv)
    if not args.data_root.is_dir():
        print(f"skipping: {args.data_root} does not exist (expected shared/data/nmnist-small)")
        return 0
    load_start = _load()
    result, trainer, settings, wall = run_exploration(args)
    s = result.summary
    rows, targets = comparison_table(s)
    print_comparison(rows, targets, s)
    doc = {"command": "python benchmarks/explore_nmnist.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "settings": s["settings"], "versions": s["versions"], "commit": s["commit"], "rows": rows,
           "targets": targets, "front": s["front"], "comparison": s["comparison"],
           "search_cost": s["timings"]["search_cost"], "phases": s["timings"]["phases"],
           "exploration_wall_s_this_process": wall, "load_average_start": load_start, "load_average_after_run": _load(),
           "cpus": os.cpu_count()}
    if args.warm_start_seeds > 0:
        ab = warm_start_ablation(result, trainer, settings, list(range(args.warm_start_seeds)))
        print_ablation(ab, [c.name for c in result.candidates])
        doc["warm_start"] = ab
        doc["load_average_end"] = _load()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    from agent import jsonio

    args.json.write_text(jsonio.dumps(doc) + "\n")
    print(f"\nJSON: {args.json}; load average {load_start} -> {_load()} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
