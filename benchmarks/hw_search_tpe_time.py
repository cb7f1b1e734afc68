"""Independent TPE's own time per search: Optuna's TPESampler as it is against the
one-split-per-ask sampler of `agent.baselines` (the same proposals), on one benchmark workload,
side by side.

    python benchmarks/hw_search_tpe_time.py          # conv workload, seed 0, budget 500

Both searches run at the same time, each in its own process, so both see the same machine load;
the figure that transfers is the CPU seconds of each (wall seconds are printed beside them).
They must agree design for design (same proposals, same hypervolume): the script checks it.
Writes benchmarks/results/hw_search_tpe_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def one(args: tuple) -> dict:
    import hw_search
    from agent import workloads
    from agent.search import run_search

    shared, wname, seed, budget = args
    space, preset = workloads.laptop_space(), workloads.default_preset()
    wl = workloads.benchmark_workloads()[wname]
    targets, _ = hw_search.targets_for(wl, space, preset)
    ev = workloads.make_evaluator(wl, space, preset=preset, name=wname, targets=targets, budget=budget,
                                  use_ray=False)
    t0, c0, l0 = time.perf_counter(), time.process_time(), os.getloadavg()
    figs = run_search("tpe", ev, seed=seed, multivariate=False, shared_split=shared)  # independent TPE
    return {"sampler": "one split per ask" if shared else "Optuna TPESampler", "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0, "simulation_s": ev.sim_seconds, "proposals": figs["proposals"],
            "simulated": figs["simulated"], "hypervolume_meeting_targets": figs["hypervolume_meeting_targets"],
            "designs": [sorted(r.design.items()) for r in ev.archive.records],
            "loadavg": [list(l0), list(os.getloadavg())]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workload", default="nmnist-conv2-c8s2-c16s2-10")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=int, default=500)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "hw_search_tpe_time.json")
    args = p.parse_args(argv)
    import multiprocessing as mp

    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        rows = list(pool.map(one, [(False, args.workload, args.seed, args.budget),
                                   (True, args.workload, args.seed, args.budget)]))
    same = rows[0]["designs"] == rows[1]["designs"]
    print(f"{args.workload}, seed {args.seed}, budget {args.budget}; identical proposals: {same}")
    print(f"{'sampler':20s} {'CPU s':>7s} {'wall s':>7s} {'proposals':>9s} {'HV meeting targets':>19s}")
    for r in rows:
        print(f"{r['sampler']:20s} {r['cpu_s']:7.1f} {r['wall_s']:7.1f} {r['proposals']:9d} "
              f"{r['hypervolume_meeting_targets']:19.6f}")
    print(f"CPU ratio {rows[0]['cpu_s'] / rows[1]['cpu_s']:.2f}x; load {os.getloadavg()}")
    for r in rows:
        r.pop("designs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": "python benchmarks/hw_search_tpe_time.py " + " ".join(argv or sys.argv[1:]),
                                    "identical_proposals": same, "runs": rows}, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
