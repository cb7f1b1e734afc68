"""Hardware-search benchmark: RL (and its ablations) vs NSGA-II vs multi-objective TPE vs random.

    python benchmarks/hw_search.py            # budgets 200 and 500, 10 seeds, the held-out set
    python benchmarks/hw_search.py --quick    # budget 60, 2 seeds, one workload (a few minutes)
    python benchmarks/hw_search.py --jobs 2   # the same figures, (workload, seed) runs in 2 processes

Workloads: `agent.workloads.benchmark_workloads()`, held out from the policy's pre-training set
and from the tuning set on which every method's settings were chosen (docs/search.md lists the
three sets side by side): N-MNIST events (17x17x2) through a two-conv-layer net and through a
sparse net with a recurrent projection, and the conv net that `ancoef train --dataset digits-dvs`
(defaults, seed 0) trains and exports (trained here into `--train-dir` unless it is there).

Rules, the same for every method: one evaluator (same simulator, preset, laptop space, cache,
analytic checks; in-process simulations, one at a time, for every method), the budget counts distinct simulated designs, the same targets (latency and
area no worse than the workload's reference design) and the same constraint
(`Evaluator.constraint_violation`). Every method runs with the settings the study on the tuning
set chose for the budget (`benchmarks/hw_search_tuning.py`): where those differ between the
budgets it is run once per budget; otherwise once with the largest budget, and its figures at a
smaller budget B are those of the first B simulations (no method knows the budget until it stops
it, so this equals a run with budget B).

Main figure: the hypervolume of the designs that meet the targets (agent.pareto's normalisation,
the same reference point for every method), unconstrained hypervolume beside it; anytime curves
(median and IQR over seeds) of both and of the best EDP; Mann-Whitney U (one-sided) for RL's
final constrained hypervolume against each baseline; simulations to NSGA-II's final best EDP (same
seed) with a one-sided Wilcoxon signed-rank test against NSGA-II's own; wall-clock seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent import workloads  # noqa: E402
from agent.evaluator import Evaluator, Targets  # noqa: E402
from agent.search import anytime, proposer_counts, reach, run_search  # noqa: E402

# name: (run_search method, keyword arguments). The RL variants are the ablation of the issue:
# the full method, PPO proposals only, the critic-screened archive moves without PPO (started
# from random designs), and the full method without the pre-trained policy.
VARIANTS = {
    "rl": ("rl", {}),
    "rl-ppo-only": ("rl", {"local_moves": 0}),
    "rl-no-ppo": ("moves", {}),
    "rl-no-warm-start": ("rl", {"checkpoint": None}),
    "nsga2": ("nsga2", {}),
    "tpe": ("tpe", {}),
    "random": ("random", {}),
}
BASELINES = ("nsga2", "tpe", "random")
RL = "rl"
TARGET_SPEED = 2.73
GRID_STEP = 10
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "hw_search.json"
DEFAULT_TRAIN_DIR = ROOT / "runs" / "hw_search" / "trained-digits-dvs"


def studied_from(reports: list) -> dict:
    """{method: {budget: settings}} chosen by `benchmarks/hw_search_tuning.py` reports (JSON
    files), for `--settings-from`: the benchmark then runs with what the study on the tuning
    set chose, without waiting for the code's constants to be updated to it."""
    out: dict = {}
    for path in reports:
        for study, rep in json.loads(Path(path).read_text())["studies"].items():
            out[study] = {int(b): rep["settings"][c["chosen"]] for b, c in rep["choice"].items()}
    return out


def variant_settings(variant: str, budget: int, studied: Optional[dict] = None) -> dict:
    """The studied settings a variant runs with at `budget`, as `run_search` keyword arguments
    (part of each run's cache key): the code's constants, or those of `studied` (`studied_from`)
    for the methods it holds."""
    from agent import baselines, rl

    method = VARIANTS[variant][0]
    study = (studied or {}).get("rl" if method == "moves" else method)
    if method == "nsga2":
        table = {b: st["pop_size"] for b, st in study.items()} if study else None
        return {"pop_size": baselines.nsga2_population(budget, table)}
    if method == "tpe":
        if study:
            startup = baselines.tpe_startup(budget, {b: st["n_startup_trials"] for b, st in study.items()})
            return {"n_startup_trials": startup, "multivariate": baselines.per_budget(study, budget)["multivariate"]}
        return {"n_startup_trials": baselines.tpe_startup(budget), "multivariate": baselines.TPE_MULTIVARIATE}
    if method in ("rl", "moves"):
        st = baselines.per_budget(study, budget) if study else rl.rl_settings(budget)
        out = {"pool": st["pool"], "local_options": dict(st["local_options"])}
        if method == "rl" and VARIANTS[variant][1].get("local_moves") == 0:
            out = {}  # PPO only: no archive moves, so neither pool nor move options apply
        if method == "rl":
            out["preference"] = st.get("preference", "cycle")  # older study reports: the cycle implied
        return out
    return {}


def run_plan(variant: str, budgets, studied: Optional[dict] = None) -> list[tuple[int, list[int]]]:
    """(run budget, budgets reported from that run): one run per budget when the studied
    settings differ between budgets, else one run with the largest budget, truncated."""
    budgets = sorted(budgets)
    settings = [variant_settings(variant, b, studied) for b in budgets]
    if all(st == settings[-1] for st in settings):
        return [(budgets[-1], budgets)]
    return [(b, [b]) for b in budgets]


# -- workloads ------------------------------------------------------------------------------------


def train_network(out_dir: Path) -> Path:
    """`ancoef train --dataset digits-dvs` with its defaults and seed 0 (skipped when present)."""
    out_dir = Path(out_dir)
    if not (out_dir / "network.json").exists():
        cmd = [sys.executable, "-m", "services.cli", "train", "--dataset", "digits-dvs", "--out", str(out_dir),
               "--seed", "0", "--threads", "1", "--no-progress"]
        print("training the benchmark's trained network:", " ".join(cmd[1:]), flush=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return out_dir


def fingerprint(wl) -> str:
    h = hashlib.sha256()
    for p in wl.network.projections:
        h.update(np.ascontiguousarray(np.asarray(p.weights)).tobytes())
    h.update(np.packbits(np.asarray(wl.inputs, bool)).tobytes())
    return h.hexdigest()[:16]


def load_set(name: str, quick: bool, train_dir: Optional[Path]) -> dict:
    if name == "tuning":
        wls = workloads.tuning_workloads()
    else:
        wls = workloads.benchmark_workloads(trained_dir=train_dir)
    if quick:
        first = next(iter(wls))
        return {first: wls[first]}
    return wls


def targets_for(wl, space, preset) -> tuple[Targets, object]:
    """Latency and area no worse than the reference design's; the reference record."""
    ref = workloads.make_evaluator(wl, space, preset=preset).reference()
    return Targets(max_latency_s=ref.latency_s, max_area_mm2=ref.area_mm2), ref


# -- one search and its figures ---------------------------------------------------------------


def at_budget(ev: Evaluator, budget: int) -> dict:
    """Figures of the first `budget` simulations of a finished search."""
    recs = [r for r in ev.archive.records if r.n_simulated <= budget]
    feas = [r for r in recs if r.fits]
    meet = [r for r in feas if r.meets_targets]
    norm = ev.archive.normaliser
    trace, b = [], np.inf
    for r in meet:
        if r.edp_js < b:
            b = r.edp_js
            trace.append((r.n_simulated, r.t_s, b))
    best = min(meet, key=lambda r: r.edp_js) if meet else None
    last = [r for r in feas if r.n_simulated == min(budget, ev.n_simulated)]
    grid = list(range(GRID_STEP, budget + 1, GRID_STEP)) or [budget]
    proposers: dict = {}
    for r in feas:
        proposers[r.proposer] = proposers.get(r.proposer, 0) + 1
    return {
        "hypervolume_meeting_targets": norm.hypervolume(np.array([r.objectives() for r in meet])) if meet else 0.0,
        "hypervolume": norm.hypervolume(np.array([r.objectives() for r in feas])) if feas else 0.0,
        "best_edp_js": best.edp_js if best else None,
        "best_design": best.design if best else None,
        "best_proposer": best.proposer if best else None,
        "simulated": min(budget, ev.n_simulated),
        "wall_s": last[0].t_s if last else (recs[-1].t_s if recs else 0.0),
        "trace": trace,
        "anytime": anytime(ev.archive.records, norm, grid),
        "proposers": proposers,
    }


def ray_for_rl(method: str, tries: int = 5) -> None:
    """Start this worker's Ray for the methods that need it (RLlib), retrying: on a loaded
    machine Ray's node start-up can exceed its fixed 30 s wait."""
    if method != "rl":
        return
    import ray

    from agent.rl import ensure_ray

    for attempt in range(tries):
        try:
            ensure_ray(1)
            return
        except Exception:  # noqa: BLE001 - Ray raises a bare Exception on a start-up time-out
            ray.shutdown()
            if attempt == tries - 1:
                raise
            time.sleep(5)


def run_one(task: dict) -> dict:
    """One run of a (workload, seed, variant) at `run_budget`, with the figures of each budget
    in `report_budgets` (its first B simulations). Runs in a worker process."""
    from agent.rl import DEFAULT_CHECKPOINT

    variant = task["variant"]
    method, kw = VARIANTS[variant]
    ray_for_rl(method)
    space = workloads.laptop_space()
    wl = load_set(task["set"], task["quick"], task["train_dir"])[task["workload"]]
    kw = dict(kw, **task["settings"])
    if method == "rl" and "checkpoint" not in kw:
        kw["checkpoint"] = Path(task["policy"]) if task["policy"] else DEFAULT_CHECKPOINT
    run_budget = task["run_budget"]
    ev = workloads.make_evaluator(wl, space, preset=task["preset"], name=task["workload"],
                                  targets=Targets(**task["targets"]), budget=run_budget, use_ray=False)
    t0 = time.perf_counter()
    figs = run_search(method, ev, seed=task["seed"], **kw)
    per = {str(b): dict(at_budget(ev, b), run_budget=run_budget) for b in task["report_budgets"]}
    per[f"run{run_budget}"] = {"wall_s": time.perf_counter() - t0, "simulated": figs["simulated"],
                               "proposals": figs["proposals"], "proposers": proposer_counts(ev),
                               "loadavg": list(os.getloadavg())}
    b = str(max(task["report_budgets"]))
    print(f"{task['workload']} seed {task['seed']} {variant:17s} B={run_budget} HVc "
          f"{per[b]['hypervolume_meeting_targets']:.4f} HV {per[b]['hypervolume']:.4f} "
          f"EDP {_fmt(per[b]['best_edp_js'])} ({per[f'run{run_budget}']['wall_s']:.0f} s)", flush=True)
    return {"workload": task["workload"], "seed": task["seed"], "variant": variant, "figures": per}


def _hash_files(files) -> str:
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


# Result arrays of a SimResult that the fingerprint hashes (all of them but wall time and the
# optional trace and timeline, which the searches never request).
_RESULT_ARRAYS = ("energy_j", "latency_s", "spikes_per_layer", "output_spike_counts", "core_utilisation",
                  "core_dynamic_energy_j", "core_of", "area_mm2", "static_power_w", "critical_path_s",
                  "serial_time_s", "quiescent_s")


def fingerprint_designs(ev: Evaluator) -> list:
    """Three fixed designs per workload: its reference design, and two that differ from it in
    every axis but the mesh (so the fingerprint exercises weight width, lanes, FIFO depth, link
    width, voltage, cores per tile and all three mappings). A variant the workload cannot hold
    is left out (deterministically: the same designs on every machine)."""
    from agent.space import check_design

    ref = ev.reference_arch()
    bits = min((b for b in (2, 4, 8) if b >= ev.needs.weight_bits), default=ref.weight_bits)
    variants = [
        dataclasses.replace(ref, weight_bits=bits, synapse_lanes=4, fifo_depth=2, link_width_bits=16,
                            voltage_v=0.6, mapping="spread"),
        dataclasses.replace(ref, cores_per_tile=2, synapse_lanes=16, fifo_depth=32, link_width_bits=64,
                            voltage_v=0.9, mapping="locality"),
    ]
    return [ref] + [a for a in variants if not (check_design(a, ev.needs) or ev._map_reasons(a))]


def engine_fingerprint(wls: dict, space, preset: str) -> str:
    """What a run's figures depend on in the engine, as behaviour, not bytes.

    Hashing the `_core*.so` bytes threw the whole cache away on every rebuild, also on those
    that change nothing a search sees (a faster engine with bit-identical results, a new
    compiler). This hashes instead the cost preset's data and the complete results (every
    count, energy and time as float64 bytes, per sample; the mapping; area and static power) of
    simulating three fixed designs per workload (`fingerprint_designs`) under the benchmark's
    evaluator settings: a change to the cost model, the timing, the functional pass or the
    mapper that moves any of those numbers changes it, one that moves none keeps the cache.
    What it cannot see (a change that alters only other designs) is a change that no fixed
    probe could rule out; `--no-cache` reruns everything after such an engine change.
    """
    from trueasync._convert import costs_json

    h = hashlib.sha256(costs_json(preset)[1].encode())
    for wname in sorted(wls):
        ev = workloads.make_evaluator(wls[wname], space, preset=preset, name=wname, use_ray=False)
        for arch in fingerprint_designs(ev):
            h.update(repr(sorted(dataclasses.asdict(arch).items())).encode())
            r = ev.simulate_fn(ev.network, arch, ev.inputs, semantics=ev.semantics, preset=ev.preset,
                               threads=ev.threads)
            for name in _RESULT_ARRAYS:
                h.update(name.encode())
                h.update(np.ascontiguousarray(np.asarray(getattr(r, name), dtype=np.float64)).tobytes())
            for table in (r.counts, r.energy_breakdown_j):
                for k in sorted(table):
                    h.update(k.encode())
                    h.update(np.ascontiguousarray(np.asarray(table[k], dtype=np.float64)).tobytes())
    return h.hexdigest()[:16]


def policy_fingerprint(policy: Optional[str]) -> str:
    """The pre-trained policy's weights (`*.pt`): RL's warm start depends on them, bytewise."""
    pol = Path(policy) if policy else ROOT / "agent" / "policy"
    return _hash_files(sorted(pol.glob("*.pt")) if pol.is_dir() else [pol])


def code_fingerprint(policy: Optional[str], wls: dict, space, preset: str) -> str:
    """Engine and policy: what a run's figures depend on besides the search code and its
    settings (`variant_settings` records those in each task)."""
    return engine_fingerprint(wls, space, preset) + policy_fingerprint(policy)


def uses_policy(variant: str) -> bool:
    """Whether the variant starts from the pre-trained policy (its runs depend on the policy)."""
    method, kw = VARIANTS[variant]
    return method == "rl" and kw.get("checkpoint", "shipped") is not None


def cache_path(task: dict) -> Optional[Path]:
    if not task.get("cache_dir"):
        return None
    key = hashlib.sha256(json.dumps({k: v for k, v in task.items() if k != "cache_dir"}, sort_keys=True,
                                    default=str).encode()).hexdigest()[:24]
    return Path(task["cache_dir"]) / f"{key}.json"


def cached_run(task: dict, fn=None) -> dict:
    """`fn(task)` (default `run_one`), answered from `task["cache_dir"]` when the same task
    already ran with the same settings, policy and engine (so an interrupted run resumes)."""
    fn = fn or run_one
    path = cache_path(task)
    if path is None:
        return fn(task)
    if path.exists():
        return json.loads(path.read_text())
    out = fn(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    tmp.replace(path)
    return out


def run_tasks(tasks: list[dict], jobs: int, fn=None) -> list[dict]:
    from functools import partial

    call = partial(cached_run, fn=fn)
    if jobs > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(call, tasks))
    return [call(t) for t in tasks]


# -- statistics -------------------------------------------------------------------------------


def _median(xs):
    xs = [x for x in xs if x is not None]
    return float(np.median(xs)) if xs else None


def _iqr(xs):
    xs = [x for x in xs if x is not None]
    return [float(np.percentile(xs, 25)), float(np.percentile(xs, 75))] if xs else None


def mann_whitney_greater(a, b) -> Optional[float]:
    from scipy.stats import mannwhitneyu

    if len(a) < 2 or len(b) < 2 or (len(set(a)) == 1 and set(a) == set(b)):
        return None
    return float(mannwhitneyu(a, b, alternative="greater").pvalue)


def wilcoxon_less(a, b) -> Optional[float]:
    """One-sided Wilcoxon signed-rank p-value that paired `a` is smaller than `b`."""
    from scipy.stats import wilcoxon

    d = np.asarray(a, float) - np.asarray(b, float)
    if d.size < 2 or np.all(d == 0):
        return None
    return float(wilcoxon(a, b, alternative="less", zero_method="wilcox").pvalue)


def summarise(runs: list[dict], budgets, variants) -> dict:
    """Per budget and variant: medians, IQRs, speed-ups against NSGA-II, rank tests.
    `runs`: one {"seed", "runs": {variant: figures per budget}} per seed."""
    by_seed = sorted(runs, key=lambda r: r["seed"])
    out = {}
    for b in map(str, budgets):
        rows = {}
        ns = {r["seed"]: r["runs"]["nsga2"][b] for r in by_seed if b in r["runs"].get("nsga2", {})}
        for v in variants:
            have = [r for r in by_seed if b in r["runs"].get(v, {})]
            if not have:
                continue
            figs = [r["runs"][v][b] for r in have]
            hvc = [f["hypervolume_meeting_targets"] for f in figs]
            hv = [f["hypervolume"] for f in figs]
            edp = [f["best_edp_js"] for f in figs]
            row = {
                "hypervolume_meeting_targets": hvc, "hypervolume_meeting_targets_median": _median(hvc),
                "hypervolume_meeting_targets_iqr": _iqr(hvc),
                "hypervolume": hv, "hypervolume_median": _median(hv), "hypervolume_iqr": _iqr(hv),
                "best_edp_js": edp, "best_edp_js_median": _median([e if e is not None else np.inf for e in edp]),
                "met_targets": sum(e is not None for e in edp),
                "wall_s": [f["wall_s"] for f in figs], "wall_s_median": _median([f["wall_s"] for f in figs]),
                "best_proposer": [f["best_proposer"] for f in figs],
                "seeds": [r["seed"] for r in have],
            }
            if ns:
                sims, walls, ratios, pairs = [], [], [], []
                for f, fn in ((f, ns[r["seed"]]) for f, r in zip(figs, have) if r["seed"] in ns):
                    thr = fn["best_edp_js"]
                    if thr is None:
                        continue
                    n, t = reach(f["trace"], thr)
                    n_ns, _ = reach(fn["trace"], thr)
                    sims.append(n)
                    walls.append(t)
                    ratios.append(n_ns / n if n else 0.0)
                    pairs.append((n if n is not None else int(b) + 1, n_ns))
                row.update({
                    "sims_to_nsga2_best": sims, "sims_to_nsga2_best_median": _median(
                        [s if s is not None else int(b) + 1 for s in sims]),
                    "wall_s_to_nsga2_best": walls, "wall_s_to_nsga2_best_median": _median(walls),
                    "ratio_vs_nsga2": ratios, "ratio_vs_nsga2_median": _median(ratios),
                    "reached_nsga2_best": sum(s is not None for s in sims), "seeds_with_nsga2_best": len(sims),
                    "wilcoxon_p_sims_below_nsga2": wilcoxon_less([p[0] for p in pairs], [p[1] for p in pairs])
                    if v != "nsga2" else None,
                })
            rows[v] = row
        if RL in rows:
            base = {m: rows[m]["hypervolume_meeting_targets_median"] for m in BASELINES if m in rows}
            best_base = max(base, key=lambda m: base[m]) if base else None
            tests = {m: mann_whitney_greater(rows[RL]["hypervolume_meeting_targets"],
                                             rows[m]["hypervolume_meeting_targets"]) for m in rows if m != RL}
            seeds = {m: len(rows[m]["seeds"]) for m in rows}
            rows["tests"] = {
                "best_baseline": best_base, "seeds": seeds,
                "mann_whitney_p_rl_hv_greater": tests,
                "hv_target_met": best_base is not None and rows[RL]["hypervolume_meeting_targets_median"]
                >= base[best_base],
                "speed_target_met": "nsga2" in rows and (rows[RL]["ratio_vs_nsga2_median"] or 0.0) >= TARGET_SPEED,
            }
        out[b] = rows
    return out


# -- report -----------------------------------------------------------------------------------


def _fmt(x, f="{:.3g}"):
    return "-" if x is None else f.format(x)


def print_table(results: dict) -> None:
    for wname, w in results["workloads"].items():
        print(f"\n{wname}  (targets: {w['targets']})")
        hdr = (f"{'B':>4s} {'variant':17s} {'HVc med [IQR]':>24s} {'HV med':>7s} {'EDP med':>9s} {'met':>5s} "
               f"{'sims->NS':>8s} {'ratio':>6s} {'reach':>6s} {'p(HVc>)':>8s} {'p(sims<)':>8s} {'wall s':>7s}")
        print(hdr)
        print("-" * len(hdr))
        for b, rows in w["budgets"].items():
            tests = rows.get("tests", {})
            for v in results["config"]["variants"]:
                if v not in rows:
                    continue
                r = rows[v]
                iqr = r["hypervolume_meeting_targets_iqr"]
                p_hv = tests.get("mann_whitney_p_rl_hv_greater", {}).get(v) if v != RL else None
                print(f"{b:>4s} {v:17s} {r['hypervolume_meeting_targets_median']:8.4f} "
                      f"[{iqr[0]:.4f}, {iqr[1]:.4f}] {r['hypervolume_median']:7.4f} "
                      f"{_fmt(r['best_edp_js_median']):>9s} {r['met_targets']:>2d}/{len(r['best_edp_js']):<2d} "
                      f"{_fmt(r.get('sims_to_nsga2_best_median'), '{:.0f}'):>8s} "
                      f"{_fmt(r.get('ratio_vs_nsga2_median'), '{:.2f}'):>6s} "
                      f"{r.get('reached_nsga2_best', 0):>2d}/{r.get('seeds_with_nsga2_best', 0):<3d} "
                      f"{_fmt(p_hv, '{:.3f}'):>8s} {_fmt(r.get('wilcoxon_p_sims_below_nsga2'), '{:.3f}'):>8s} "
                      f"{_fmt(r['wall_s_median'], '{:.1f}'):>7s} ({len(r['seeds'])} seeds)")
            if tests:
                print(f"{b:>4s} targets: RL median HVc >= best baseline ({tests['best_baseline']}): "
                      f"{'MET' if tests['hv_target_met'] else 'NOT MET'}; RL >= {TARGET_SPEED}x fewer sims to "
                      f"NSGA-II's best: {'MET' if tests['speed_target_met'] else 'NOT MET'}")


def markdown(results: dict) -> str:
    """The tables of docs/benchmarks.md and docs/search.md, from a results dict."""
    lines = []
    for wname, w in results["workloads"].items():
        lines.append(f"**{wname}** (targets: latency <= {w['targets']['max_latency_s']:.4g} s, "
                     f"area <= {w['targets']['max_area_mm2']:.4g} mm^2)\n")
        lines.append("| B | method | seeds | HV meeting targets, median [IQR] | p (RL >) | HV all | best EDP (J*s) | "
                     "met | sims to NSGA-II's best | ratio (reached) | p (sims <) | wall s |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for b, rows in w["budgets"].items():
            tests = rows.get("tests", {})
            for v in results["config"]["variants"]:
                if v not in rows:
                    continue
                r = rows[v]
                iqr = r["hypervolume_meeting_targets_iqr"]
                p_hv = tests.get("mann_whitney_p_rl_hv_greater", {}).get(v)
                name = f"**{v}**" if v == RL else v
                lines.append(
                    f"| {b} | {name} | {len(r['seeds'])} | {r['hypervolume_meeting_targets_median']:.4f} "
                    f"[{iqr[0]:.4f}, {iqr[1]:.4f}] | {_fmt(p_hv, '{:.3f}')} | {r['hypervolume_median']:.4f} | "
                    f"{_fmt(r['best_edp_js_median'])} | {r['met_targets']}/{len(r['seeds'])} | "
                    f"{_fmt(r.get('sims_to_nsga2_best_median'), '{:.0f}')} | "
                    f"{_fmt(r.get('ratio_vs_nsga2_median'), '{:.2f}')} ({r.get('reached_nsga2_best', 0)}/"
                    f"{r.get('seeds_with_nsga2_best', 0)}) | {_fmt(r.get('wilcoxon_p_sims_below_nsga2'), '{:.3f}')} | "
                    f"{_fmt(r['wall_s_median'], '{:.1f}')} |")
        lines.append("")
        for b, rows in w["budgets"].items():
            t = rows.get("tests")
            if t:
                lines.append(f"- B={b}: RL's median HV meeting targets >= the best baseline's ({t['best_baseline']}): "
                             f"**{'met' if t['hv_target_met'] else 'not met'}** (Mann-Whitney p = "
                             f"{_fmt(t['mann_whitney_p_rl_hv_greater'].get(t['best_baseline']), '{:.3f}')}); "
                             f"RL reaches NSGA-II's final best EDP with >= {TARGET_SPEED}x fewer simulations: "
                             f"**{'met' if t['speed_target_met'] else 'not met'}** (median ratio "
                             f"{_fmt(rows[RL].get('ratio_vs_nsga2_median'), '{:.2f}')}).")
        lines.append("")
    return "\n".join(lines)


def plot_anytime(results: dict, runs: dict, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    budgets = [str(b) for b in results["config"]["budgets"]]
    variants = results["config"]["variants"]
    colours = dict(zip(VARIANTS, ["C3", "C1", "C4", "C5", "C0", "C2", "C7"]))
    styles = {"rl-ppo-only": ":", "rl-no-ppo": "--", "rl-no-warm-start": "-."}
    for wname, wruns in runs.items():
        fig, axes = plt.subplots(2, len(budgets), figsize=(5.2 * len(budgets), 7.2), dpi=100, squeeze=False)
        for j, b in enumerate(budgets):
            for v in variants:
                curves = [r["runs"][v][b]["anytime"] for r in wruns if b in r["runs"].get(v, {})]
                if not curves:
                    continue
                x = np.array(curves[0]["simulations"])
                hv = np.array([c["hypervolume_meeting_targets"] for c in curves])
                edp = np.array([[np.inf if e is None else e for e in c["best_edp_js"]] for c in curves])
                kw = {"color": colours.get(v), "ls": styles.get(v, "-"), "lw": 2 if v == RL else 1.2}
                med, lo, hi = (np.percentile(hv, q, axis=0) for q in (50, 25, 75))
                axes[0, j].plot(x, med, label=v, **kw)
                axes[0, j].fill_between(x, lo, hi, color=kw["color"], alpha=0.12)
                med, lo, hi = (np.percentile(edp, q, axis=0) for q in (50, 25, 75))
                ok = np.isfinite(med)
                axes[1, j].plot(x[ok], med[ok], **kw)
                okb = np.isfinite(hi) & np.isfinite(lo)
                axes[1, j].fill_between(x[okb], lo[okb], hi[okb], color=kw["color"], alpha=0.12)
            axes[0, j].set_title(f"{wname}, budget {b}", fontsize=9)
            axes[0, j].set_ylabel("hypervolume of designs meeting targets")
            axes[1, j].set_ylabel("best EDP meeting targets (J*s)")
            axes[1, j].set_yscale("log")
            axes[1, j].set_xlabel("simulations")
        axes[0, 0].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"median and IQR over seeds ({len(wruns)} at most; see the table for each method's)",
                     fontsize=9)
        fig.tight_layout()
        path = out_dir / f"hw_search_{wname}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path))
    return paths


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cores": os.cpu_count(), "loadavg": list(os.getloadavg())}


# -- main -------------------------------------------------------------------------------------


def run(args) -> dict:
    from agent import rl

    budgets = sorted(args.budgets)
    space = workloads.laptop_space()
    preset = args.preset or workloads.default_preset()
    train_dir = None
    if args.set == "benchmark" and not args.quick:
        train_dir = train_network(args.train_dir)
    wls = load_set(args.set, args.quick, train_dir)
    if args.workloads:
        wls = {k: v for k, v in wls.items() if k in args.workloads}
    variants = args.variants
    studied = studied_from(args.settings_from)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    results = {"config": {
        "command": "python benchmarks/hw_search.py " + " ".join(args.argv), "set": args.set,
        "budgets": budgets, "seeds": seeds, "preset": preset, "variants": variants,
        "space": space.to_dict(), "policy": str(args.policy or rl.DEFAULT_CHECKPOINT),
        "settings": {v: {str(b): variant_settings(v, b, studied) for b in budgets} for v in variants},
        "settings_from": [str(p) for p in args.settings_from],
        "runs_per_variant": {v: run_plan(v, budgets, studied) for v in variants},
        "machine_start": machine(), "jobs": args.jobs,
    }, "workloads": {}}
    tasks, meta = [], {}
    results["config"]["engine_fingerprint"] = engine_fingerprint(wls, space, preset)
    results["config"]["policy_fingerprint"] = policy_fingerprint(args.policy)
    for wname, wl in wls.items():
        targets, ref = targets_for(wl, space, preset)
        meta[wname] = {"targets": targets.to_dict(), "reference_design": ref.to_dict(),
                       "neurons": [layer.size for layer in wl.network.layers], "fingerprint": fingerprint(wl),
                       "network": wl.network.name}
    for seed in seeds:  # seed-major: an interrupted run has whole seeds done, for every workload
        for wname in wls:
            targets = Targets(**meta[wname]["targets"])
            for variant in variants:
                for run_budget, report in run_plan(variant, budgets, studied):
                    tasks.append({
                        "set": args.set, "quick": args.quick, "train_dir": train_dir, "workload": wname,
                        "seed": seed, "variant": variant, "targets": targets.to_dict(),
                        "policy": args.policy if uses_policy(variant) else None, "preset": preset,
                        "run_budget": run_budget, "report_budgets": report,
                        "workload_fingerprint": meta[wname]["fingerprint"],
                        "engine": results["config"]["engine_fingerprint"],
                        "policy_fingerprint": results["config"]["policy_fingerprint"] if uses_policy(variant) else None,
                        "settings": variant_settings(variant, run_budget, studied),
                        "cache_dir": None if args.no_cache else str(args.cache_dir)})
    if args.cached_only:  # report what is finished: (seed, variant) done for every workload
        ok: dict = {}
        for t in tasks:
            ok.setdefault((t["seed"], t["variant"]), []).append(cache_path(t) is not None and cache_path(t).exists())
        tasks = [t for t in tasks if all(ok[(t["seed"], t["variant"])])]
        if not tasks:
            raise SystemExit("--cached-only: nothing is finished yet")
        results["config"]["cached_only"] = {v: sorted({t["seed"] for t in tasks if t["variant"] == v})
                                            for v in variants}
    done = run_tasks(tasks, args.jobs)
    runs: dict = {}
    for d in done:
        per_seed = runs.setdefault(d["workload"], {}).setdefault(d["seed"], {"seed": d["seed"], "runs": {}})
        per_seed["runs"].setdefault(d["variant"], {}).update(d["figures"])
    runs = {w: [v[s] for s in sorted(v)] for w, v in runs.items()}
    for wname, wruns in runs.items():
        results["workloads"][wname] = dict(meta[wname], budgets=summarise(wruns, budgets, variants))
    results["plots"] = plot_anytime(results, runs, args.plot_dir)
    results["runs"] = runs
    results["config"]["machine_end"] = machine()
    return results


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="budget 60, 2 seeds, one workload")
    p.add_argument("--set", choices=("benchmark", "tuning"), default="benchmark",
                   help="workload set (the tuning set is for choosing settings, never for reporting)")
    p.add_argument("--budgets", type=int, nargs="+", default=None)
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--workloads", nargs="+", default=None, help="only these workloads of the set")
    p.add_argument("--preset", default=None)
    p.add_argument("--policy", default=None, help="pre-trained policy dir (default agent/policy)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (each runs its own Ray)")
    p.add_argument("--settings-from", type=Path, nargs="+", default=[],
                   help="settings-study reports (benchmarks/hw_search_tuning.py --out) whose chosen settings "
                   "replace the code's constants for the methods they studied")
    p.add_argument("--train-dir", type=Path, default=DEFAULT_TRAIN_DIR)
    p.add_argument("--cache-dir", type=Path, default=ROOT / "runs" / "hw_search" / "cache",
                   help="finished (workload, seed, variant) runs, keyed by task, code, policy and engine: "
                   "an interrupted benchmark resumes")
    p.add_argument("--cached-only", action="store_true",
                   help="run nothing: report, per variant, the seeds the cache holds for every workload")
    p.add_argument("--no-cache", action="store_true",
                   help="rerun every search (needed after a change to the search code itself)")
    p.add_argument("--plot-dir", type=Path, default=ROOT / "docs" / "img")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--markdown", type=Path, default=None, help="also write the tables as Markdown here")
    args = p.parse_args(argv)
    args.argv = argv
    args.budgets = args.budgets or ([60] if args.quick else [200, 500])
    args.seeds = args.seeds or (2 if args.quick else 10)
    if min(args.budgets) < 1 or args.seeds < 1 or args.first_seed < 0 or args.jobs < 1:
        p.error("budgets, seeds and jobs must be positive")
    if args.quick and args.out == DEFAULT_OUT:
        args.out = args.out.with_name("hw_search_quick.json")
    if args.quick and args.plot_dir == ROOT / "docs" / "img":
        args.plot_dir = ROOT / "runs" / "hw_search" / "quick-plots"
    t0 = time.perf_counter()
    results = run(args)
    results["wall_s"] = time.perf_counter() - t0
    print_table(results)
    if args.markdown:
        args.markdown.write_text(markdown(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=None, separators=(",", ":"),
                                   default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    print(f"\nwrote {args.out} and {len(results['plots'])} plots ({results['wall_s']:.0f} s); "
          f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
