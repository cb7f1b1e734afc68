"""Settings study for the hardware-search methods, on the TUNING workloads only.

    python benchmarks/hw_search_tuning.py --jobs 2                 # all three studies
    python benchmarks/hw_search_tuning.py --studies nsga2 tpe      # some of them

The workloads are `agent.workloads.tuning_workloads()` (Poisson-input dense MLP, a single conv
layer on 12x12x1, a sparse feed-forward net): disjoint from the benchmark's held-out set and
from the policy's pre-training set. Each study varies one method's settings under the
benchmark's rules (laptop space, targets = the reference design's latency and area, the same
evaluator) and scores them by the benchmark's main figure, the hypervolume of the designs that
meet the targets. Per budget, the setting with the best mean rank over the workloads of its
median (over seeds) constrained hypervolume is chosen (ties: the higher mean of those medians).
The chosen values are what `agent.baselines` (NSGA2_POPULATION, TPE_STARTUP, TPE_MULTIVARIATE)
and `agent.rl.rl_search`'s defaults hold; docs/search.md records the table.

- nsga2: population 16, 32, 64, run separately at each budget (the population changes the run).
- tpe: (start-up trials, multivariate) in (10, False) [Optuna's default for several objectives]
  and (10, True); (30, True) with `--settings`. TPE does not know the budget, so the 200 figures
  are the first 200 of the 500 run.
- rl: the archive moves' front (unconstrained, constrained) and the preference schedule (cycle,
  mixed) with the critic's pool of 16; a pool of 8 with `--all-settings`. First 200 of the 500
  run, as for the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import hw_search  # noqa: E402
from agent import workloads  # noqa: E402
from agent.evaluator import Targets  # noqa: E402
from agent.search import run_search  # noqa: E402

BUDGETS = (200, 500)
STUDIES = {
    "nsga2": {"method": "nsga2", "per_budget": True, "seeds": 5,
              "settings": {f"pop{p}": {"pop_size": p} for p in (16, 32, 64)}},
    "tpe": {"method": "tpe", "per_budget": False, "seeds": [1],
            "settings": {"startup10-independent": {"n_startup_trials": 10, "multivariate": False},
                         "startup10-multivariate": {"n_startup_trials": 10, "multivariate": True},
                         "startup30-multivariate": {"n_startup_trials": 30, "multivariate": True}},
            "default_settings": ["startup10-independent", "startup10-multivariate"]},
    "rl": {"method": "rl", "per_budget": False, "seeds": 2,
           "settings": {"pool16-unconstrained-cycle": {"pool": 16, "local_options": {"constrained": False},
                                                       "preference": "cycle"},
                        "pool16-constrained-cycle": {"pool": 16, "local_options": {"constrained": True},
                                                     "preference": "cycle"},
                        "pool8-constrained-cycle": {"pool": 8, "local_options": {"constrained": True},
                                                    "preference": "cycle"},
                        "pool16-constrained-mixed": {"pool": 16, "local_options": {"constrained": True},
                                                     "preference": "mixed"}},
           "default_settings": ["pool16-unconstrained-cycle", "pool16-constrained-cycle",
                                "pool16-constrained-mixed"]},
}


def study_seeds(study: str, n=None) -> list:
    seeds = STUDIES[study]["seeds"] if n is None else n
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def run_task(task: dict) -> dict:
    study = STUDIES[task["study"]]
    hw_search.ray_for_rl(study["method"])
    space = workloads.laptop_space()
    wl = workloads.tuning_workloads()[task["workload"]]
    kw = dict(study["settings"][task["setting"]])
    if study["method"] == "rl":
        from agent.rl import DEFAULT_CHECKPOINT

        kw["checkpoint"] = Path(task["policy"]) if task["policy"] else DEFAULT_CHECKPOINT
    budgets = BUDGETS if study["per_budget"] else (max(BUDGETS),)
    out = {}
    for run_budget in budgets:
        ev = workloads.make_evaluator(wl, space, preset=task["preset"], name=task["workload"],
                                      targets=Targets(**task["targets"]), budget=run_budget, use_ray=False)
        t0 = time.perf_counter()
        run_search(study["method"], ev, seed=task["seed"], **kw)
        wall = time.perf_counter() - t0
        for b in BUDGETS:
            if b <= run_budget and str(b) not in out:
                f = hw_search.at_budget(ev, b)
                out[str(b)] = {"hypervolume_meeting_targets": f["hypervolume_meeting_targets"],
                               "hypervolume": f["hypervolume"], "best_edp_js": f["best_edp_js"], "run_wall_s": wall}
    print(f"{task['study']} {task['setting']:28s} {task['workload']:24s} seed {task['seed']}: " + ", ".join(
        f"B={b} HVc {v['hypervolume_meeting_targets']:.4f}" for b, v in out.items()), flush=True)
    return dict({k: v for k, v in task.items() if k != "cache_dir"}, figures=out)


def choose(results: list[dict], study: str, settings: list) -> dict:
    """Per budget: the table of medians and the setting with the best mean rank over workloads."""
    wnames = sorted({r["workload"] for r in results})
    out = {}
    for b in map(str, BUDGETS):
        med = np.array([[np.median([r["figures"][b]["hypervolume_meeting_targets"] for r in results
                                    if r["setting"] == s and r["workload"] == w]) for w in wnames]
                        for s in settings])  # [setting, workload]
        ranks = np.argsort(np.argsort(-med, axis=0, kind="stable"), axis=0) + 1
        order = sorted(range(len(settings)), key=lambda i: (ranks[i].mean(), -med[i].mean()))
        out[b] = {"workloads": wnames, "median_hv_meeting_targets": {s: med[i].tolist() for i, s in enumerate(settings)},
                  "mean_rank": {s: float(ranks[i].mean()) for i, s in enumerate(settings)},
                  "chosen": settings[order[0]]}
    return out


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--studies", nargs="+", default=list(STUDIES), choices=list(STUDIES))
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds 0..N-1 per setting and workload (default: 0-4 for nsga2, 0-1 for rl, seed 1 alone "
                   "for tpe, whose 500 trials cost minutes of Optuna's own time on a loaded machine)")
    p.add_argument("--preset", default=None)
    p.add_argument("--policy", default=None, help="policy dir for the rl study (default agent/policy)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--all-settings", action="store_true", help="also the settings a study leaves out by default")
    p.add_argument("--cache-dir", type=Path, default=ROOT / "runs" / "hw_search" / "tuning-cache")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "hw_search_tuning.json")
    args = p.parse_args(argv)
    preset = args.preset or workloads.default_preset()
    space = workloads.laptop_space()
    tasks = []
    fp = hw_search.code_fingerprint(args.policy, workloads.tuning_workloads(), space, preset)
    chosen_settings = {s: (list(STUDIES[s]["settings"]) if args.all_settings else
                           STUDIES[s].get("default_settings", list(STUDIES[s]["settings"]))) for s in args.studies}
    targets = {w: hw_search.targets_for(wl, space, preset)[0] for w, wl in workloads.tuning_workloads().items()}
    for study in args.studies:  # study-major: the cheap studies finish first
        for wname in targets:
            for setting in chosen_settings[study]:
                for seed in study_seeds(study, args.seeds):
                    tasks.append({"study": study, "setting": setting, "workload": wname, "seed": seed,
                                  "targets": targets[wname].to_dict(), "preset": preset, "policy": args.policy,
                                  "code": fp, "cache_dir": str(args.cache_dir)})
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    done = hw_search.run_tasks(tasks, args.jobs, fn=run_task)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    report = {"command": "python benchmarks/hw_search_tuning.py " + " ".join(argv), "preset": preset,
              "seeds": {s: study_seeds(s, args.seeds) for s in args.studies}, "budgets": list(BUDGETS), "machine": hw_search.machine(),
              "loadavg_start": list(load0), "wall_s": time.perf_counter() - t0,
              "studies": dict(previous.get("studies", {}))}
    for study in args.studies:
        rows = [r for r in done if r["study"] == study]
        report["studies"][study] = {"settings": {k: STUDIES[study]["settings"][k] for k in chosen_settings[study]},
                                    "choice": choose(rows, study, chosen_settings[study]),
                                    "runs": rows}
    for study in args.studies:
        print(f"\n{study}:")
        for b, c in report["studies"][study]["choice"].items():
            print(f"  B={b}: workloads {c['workloads']}")
            for s, m in c["median_hv_meeting_targets"].items():
                print(f"    {s:30s} median HVc {' '.join(f'{x:.4f}' for x in m)}  mean rank {c['mean_rank'][s]:.2f}"
                      + ("   <- chosen" if s == c["chosen"] else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=None, separators=(",", ":"), default=str))
    print(f"\nwrote {args.out} ({report['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
