"""The outputs of a co-exploration: summary.json / summary.md, plots, the front's artefacts.

Everything in summary.json except `timings` and `run` is a function of the settings: a resumed
run writes the same bytes there as an uninterrupted one (`without_timings` drops those two).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Optional

import numpy as np

from agent import jsonio
from agent.pareto import hypervolume, nondominated_mask

from coexplore.context import Run
from coexplore.phases import untimed
from coexplore.records import Candidate, OnChipPoint
from coexplore.settings import SEMANTICS

SUMMARY_VERSION = 2
SHARED_PHASES = ("data", "supernet", "candidates")
VOLATILE_KEYS = ("timings", "run")


def without_timings(summary: dict) -> dict:
    """The part of a summary that must be identical for two runs with the same settings."""
    return {k: v for k, v in summary.items() if k not in VOLATILE_KEYS}


# -- comparisons ------------------------------------------------------------------------------------


def _ratios(chosen: OnChipPoint, other: OnChipPoint) -> dict:
    return {"edp_ratio": other.edp_js / chosen.edp_js, "energy_ratio": other.energy_j / chosen.energy_j,
            "latency_ratio": other.latency_s / chosen.latency_s, "area_ratio": other.area_mm2 / chosen.area_mm2,
            "accuracy_difference": chosen.accuracy - other.accuracy}


def _acc_edp_front(points: list) -> np.ndarray:
    """Non-dominated (1 - accuracy, log10 EDP) rows of the points meeting the targets."""
    pts = np.array([[1.0 - p.accuracy, math.log10(p.edp_js)] for p in points if p.meets_targets], float)
    return pts[nondominated_mask(pts)] if len(pts) else pts.reshape(0, 2)


def front_comparison(ours: list, theirs: list) -> dict:
    """Co-exploration front against the sequential flow's, in (accuracy, EDP).

    `coverage`: the share of the sequential front's points that a co-exploration point matches or
    beats in both accuracy and EDP (1.0: at least as good everywhere). The hypervolumes are taken
    in (1 - accuracy, log10 EDP) against the point (1, log10 of the largest EDP of either + 1)."""
    a, b = _acc_edp_front(ours), _acc_edp_front(theirs)
    if not len(a) or not len(b):
        return {"coverage": None, "at_least_as_good": None}
    covered = [bool(np.any(np.all(a <= q, axis=1))) for q in b]
    ref = [1.0, float(max(a[:, 1].max(), b[:, 1].max()) + 1.0)]
    hv_a, hv_b = hypervolume(a, ref), hypervolume(b, ref)
    return {"coverage": float(np.mean(covered)), "at_least_as_good": bool(all(covered)),
            "hypervolume_coexploration": hv_a, "hypervolume_sequential": hv_b,
            "hypervolume_reference_point": ref, "hypervolume_space": "(1 - accuracy, log10 EDP in J*s)"}


def _cost(pt: dict, phases: list, extra: tuple = (0.0, 0.0)) -> dict:
    wall = sum(pt.get(p, {}).get("wall_s", 0.0) for p in phases) + extra[0]
    cpu = sum(pt.get(p, {}).get("cpu_s", 0.0) for p in phases) + extra[1]
    return {"wall_s": wall, "cpu_s": cpu, "cpu_thread_hours": cpu / 3600.0, "phases": phases}


def search_cost(run: Run, baselines: dict) -> dict:
    """Wall-clock seconds and CPU-thread hours of each flow, from the store's committed phase times.

    The shared phases (data, supernet, candidates) count for both flows; work the sequential flow
    reuses from the co-exploration (the same fine-tuning job, the same test-split simulation)
    counts for it too, at the cost it was committed with."""
    pt = run.store.phase_times()
    co = [p for p in pt if p.startswith("coexplore.")]
    out = {"coexploration": _cost(pt, [*SHARED_PHASES, *sorted(co)])}
    seq = baselines.get("sequential")
    if seq is not None:
        reused = [0.0, 0.0]
        row = run.store.training(f"qat/{seq.candidate.name}")
        if row is not None and row["phase"].startswith("coexplore."):
            reused = list(run.store.job_time(f"qat/{seq.candidate.name}"))
        for p in seq.points:
            meta = run.store.simulation_meta(*_test_key(run, seq.candidate, p))
            if meta is not None and meta["phase"].startswith("coexplore."):
                reused = [reused[0] + meta["wall_s"], reused[1] + meta["cpu_s"]]
        sq = [p for p in pt if p.startswith("sequential.")]
        out["sequential"] = _cost(pt, [*SHARED_PHASES, *sorted(sq)], tuple(reused))
        out["sequential"]["reused_from_coexploration"] = {"wall_s": reused[0], "cpu_s": reused[1]}
    if "reference" in baselines:
        out["reference"] = _cost(pt, ["data", "supernet", "candidates", "baseline.reference"])
    out["cpu_time"] = ("process CPU time of every thread of the exploring process (torch, the simulator's "
                       "threads, RLlib in the driver); Ray's own helper processes are not counted")
    return out


def _test_key(run: Run, cand: Candidate, p: OnChipPoint):
    from coexplore.simcache import design_key
    from trueasync.model import Architecture

    test = run.tests[cand.name][0] if cand.name in run.tests else run.trainer.export(cand.name, cand.bits, "test")
    return (run.sim.fingerprint(test.network, test.inputs), design_key(Architecture(**p.design)), SEMANTICS,
            run.s.preset)


# -- summary ----------------------------------------------------------------------------------------


def _cand_json(c: Candidate, n_calib: int) -> dict:
    d = {"name": c.name, "config": c.config, "config_text": c.config_text, "bits": c.bits,
         "n_neurons": c.n_neurons, "inherited_val_accuracy": c.inherited_val_accuracy,
         "spikes_per_sample_per_layer_float": c.spikes_per_layer_float, "status": c.status, "reason": c.reason}
    if c.search is not None:
        ref = c.search.reference
        d["calibration"] = {
            "samples": n_calib, "reference_design": untimed(ref.to_dict()),
            "spikes_per_sample_per_layer": ref.spikes_per_layer, "spike_rate_per_layer": c.search.spike_rates,
            "layers": c.layers, "timesteps": c.timesteps}
        f = c.search.figures
        d["search"] = {k: f.get(k) for k in ("method", "budget", "simulated", "rejected_without_simulation",
                                             "proposals", "hypervolume", "hypervolume_meeting_targets",
                                             "front_size", "best_edp_js", "best_edp_snj", "met_targets", "best",
                                             "closest_to_targets")}
        d["search"]["front_meeting_targets"] = len(c.search.front())
        d["search"]["archive"] = f"search/{'sequential' if c.status == 'sequential' else c.name}/archive.json"
    if c.finetune is not None:
        d["finetune"] = c.finetune.to_json()
        d["fixed_point_test_accuracy"] = c.finetune.fixed_point_test_accuracy
    if c.points:
        d["on_chip"] = [p.to_json() for p in c.points]
    return d


def _point_row(p: OnChipPoint) -> dict:
    return untimed(p.to_json())


def _closest(run: Run, cands: list) -> list:
    rows = []
    for c in cands:
        for r in (c.search.figures.get("closest_to_targets") or []) if c.search else []:
            over = run.s.targets.overshoot(r) if r.get("energy_j") is not None else math.inf
            rows.append({"candidate": c.name, "config": c.config, "config_text": c.config_text, "bits": c.bits,
                         "inherited_val_accuracy": c.inherited_val_accuracy, **r, "overshoot": over})
    rows.sort(key=lambda r: (r["overshoot"], r.get("edp_js") or math.inf))
    return untimed(rows[:5])


def summarize(run: Run, data: dict, supernet: dict, cands: list, front: list, chosen: Optional[OnChipPoint],
              baselines: dict, points: Optional[list]) -> dict:
    s = run.s
    from coexplore.settings import EXECUTION_FIELDS

    settings = {**{k: v for k, v in s.to_dict().items() if k not in EXECUTION_FIELDS}, "supernet_steps": s.supernet_steps, "qat_steps_per_network": s.qat_steps,
                "sequential_budget": s.sequential_budget, "semantics": SEMANTICS, "n_train": data["n_fit"],
                "n_val": data["n_val"], "n_test": data["n_test"], "calib_samples": data["n_calib"],
                "snn_space": data["snn_space"], "smallest_area_mm2": data["smallest_area_mm2"],
                "hardware_space": {str(b): _space_dict(b) for b in s.bits},
                "weight_width": "one per candidate: QAT at the candidate's bits, the chip's weight_bits fixed to them"}
    summary = {
        "command": "explore", "version": SUMMARY_VERSION, "dataset": data["dataset"], "seed": s.seed,
        "settings": settings, "versions": run.store.info.versions, "commit": run.store.info.git_commit,
        "targets": s.targets.to_dict(), "supernet": untimed(supernet),
        "screening": run.screened,
        "candidates": [_cand_json(c, data["n_calib"]) for c in cands],
        "front": [_point_row(p) for p in front],
        "met_targets": bool(front),
        "all_counts_equal_fixed_point": all(p.counts_equal_fixed_point for p in points or []),
    }
    if not front and not points:  # no survivor: stopped after the searches
        summary["closest_to_targets"] = _closest(run, cands)
        summary["report"] = "no candidate met the targets" if s.targets.any else "no candidate fit the hardware space"
    elif not front:
        closest = sorted(points, key=lambda p: (s.targets.overshoot(p.to_json()), p.edp_js))[:5]
        summary["closest_to_targets"] = [_point_row(p) for p in closest]
        summary["report"] = ("no survivor met the targets on the held-out split (they met them on the calibration "
                             "batch); closest designs listed in closest_to_targets")
    if chosen is not None:
        summary["chosen"] = {**_point_row(chosen), "rule": (
            "the front point with the lowest EDP among those at least as accurate as baseline (a), else the most "
            "accurate point")}
    if baselines:
        bl = {}
        for name, b in baselines.items():
            bl[name] = {"description": b.description, "candidate": _cand_json(b.candidate, data["n_calib"]),
                        "points": [_point_row(p) for p in b.points],
                        "chosen": _point_row(b.chosen) if b.chosen else None}
        summary["baselines"] = bl
        comp = {}
        for name, b in baselines.items():
            if chosen is not None and b.chosen is not None:
                comp[f"vs_{name}"] = _ratios(chosen, b.chosen)
        if "sequential" in baselines:
            comp["front_vs_sequential"] = front_comparison(front, baselines["sequential"].points)
            seq = baselines["sequential"].candidate
            n_surv = sum(1 for c in cands if c.status == "survivor")
            comp["budgets"] = {
                "coexploration": {"supernet_steps": supernet["steps"], "qat_steps": n_surv * s.qat_steps,
                                  "search_simulations": sum(c.search.figures["simulated"] for c in cands),
                                  "test_simulations": sum(len(c.points) for c in cands)},
                "sequential": {"supernet_steps": supernet["steps"], "qat_steps": s.qat_steps,
                               "search_simulations": seq.search.figures["simulated"],
                               "test_simulations": len(seq.points)},
            }
        summary["comparison"] = comp
    pt = run.store.phase_times()
    summary["timings"] = {"phases": pt, "search_cost": search_cost(run, baselines) if baselines else None,
                          "total_wall_s": sum(v["wall_s"] for v in pt.values()),
                          "total_cpu_s": sum(v["cpu_s"] for v in pt.values())}
    summary["run"] = {"id": run.store.run_id, "attempt": run.store.attempt, "store": run.store.path.name,
                      "execution": {k: getattr(s, k) for k in EXECUTION_FIELDS}}
    return jsonio.to_jsonable(summary)


def _space_dict(bits: int) -> dict:
    from coexplore.phases import hardware_space

    return hardware_space(bits).to_dict()


# -- outputs ----------------------------------------------------------------------------------------


def write_outputs(run: Run, summary: dict, cands: list, points: list, baselines: dict, tests: dict) -> None:
    out = run.out
    out.mkdir(parents=True, exist_ok=True)
    from runstore import write_file_atomic

    text = jsonio.dumps(summary) + "\n"
    write_file_atomic(out / "summary.json", text.encode())
    write_file_atomic(out / "summary.md", markdown(summary).encode())
    pareto_png(out / "pareto.png", summary, cands, points, baselines)
    search_progress_png(out / "search_progress.png", cands, baselines)
    breakdown_png(out / "energy_breakdown.png", summary, points)
    front_artefacts(run, summary, cands, tests)


def front_artefacts(run: Run, summary: dict, cands: list, tests: dict) -> None:
    """front/<k>-<candidate>/: model.pt (the fine-tuned torch model), workload.{json,npz} (network,
    test-split spikes, chip and mapping), chip.json (the design and its figures)."""
    import trueasync as ta
    from trueasync.workload import Workload, save_workload

    by_name = {c.name: c for c in cands}
    root = run.out / "front"
    if root.exists():
        shutil.rmtree(root)
    for k, p in enumerate(summary["front"], 1):
        c = by_name[p["candidate"]]
        d = root / f"{k}-{c.name}"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run.out / c.finetune.checkpoint, d / "model.pt")
        test = tests[c.name][0]
        arch = ta.Architecture(**p["design"])
        meta = {"kind": "trained-snn", "config": c.config, "bits": c.bits, "preset": run.s.preset,
                "semantics": SEMANTICS, "dataset": summary["dataset"], "split": "test",
                "labels": np.asarray(run.data.test_labels).tolist(), **test.meta,
                "note": f"figures as reported: simulate with preset {run.s.preset}"}
        save_workload(Workload(test.network, arch, ta.load_preset(run.s.preset), ta.map_network(test.network, arch),
                               test.inputs, meta), d / "workload")
        chip = {"design": p["design"], "design_text": p["design_text"], "preset": run.s.preset,
                "area_mm2": p["area_mm2"], "energy_j": p["energy_j"], "latency_s": p["latency_s"],
                "edp_js": p["edp_js"], "edp_snj": p["edp_snj"], "accuracy": p["accuracy"],
                "energy_breakdown_j": p["energy_breakdown_j"], "roles": p["roles"], "network": c.config_text,
                "weight_bits": c.bits}
        (d / "chip.json").write_text(jsonio.dumps(chip) + "\n")


def _fmt(v, spec=".4g"):
    return "-" if v is None else format(v, spec)


def front_table_text(front: list) -> str:
    rows = [("#", "SNN", "acc on chip", "acc fixed pt", "energy J", "latency s", "EDP J*s", "EDP s*nJ",
             "area mm^2", "hardware")]
    for i, p in enumerate(front, 1):
        rows.append((str(i), f"{p['candidate']} {p['config_text']}", f"{p['accuracy']:.3f}",
                     f"{p['fixed_point_accuracy']:.3f}", f"{p['energy_j']:.4g}", f"{p['latency_s']:.4g}",
                     f"{p['edp_js']:.4g}", f"{p['edp_snj']:.4g}", f"{p['area_mm2']:.4g}", p["design_text"]))
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def edp_ratio_text(ratio: float) -> str:
    """`ratio` = baseline EDP / chosen EDP, as "N x lower EDP" or "N x higher EDP"."""
    return f"{ratio:.3g}x lower EDP" if ratio >= 1 else f"{1 / ratio:.3g}x higher EDP"


def comparison_text(summary: dict) -> str:
    """The chosen design against both baselines, and the flows' search cost (plain text)."""
    ch, comp = summary.get("chosen"), summary.get("comparison") or {}
    if ch is None or "baselines" not in summary:
        return ""
    lines = [f"chosen: {ch['candidate']} {ch['config_text']}, accuracy {ch['accuracy']:.3f}, EDP {ch['edp_snj']:.4g} "
             f"s*nJ, on {ch['design_text']}"]
    for name, label in (("reference", "baseline (a) reference"), ("sequential", "baseline (b) sequential")):
        b, r = summary["baselines"][name]["chosen"], comp.get(f"vs_{name}")
        if b and r:
            lines.append(f"{label}: accuracy {b['accuracy']:.3f}, EDP {b['edp_snj']:.4g} s*nJ -> chosen has "
                         f"{edp_ratio_text(r['edp_ratio'])}, {100 * r['accuracy_difference']:+.1f} accuracy points")
    fc = comp.get("front_vs_sequential") or {}
    if fc.get("coverage") is not None:
        lines.append(f"front vs sequential (accuracy, EDP): covers {100 * fc['coverage']:.0f} % of its points; "
                     f"hypervolume {fc['hypervolume_coexploration']:.4g} vs {fc['hypervolume_sequential']:.4g}")
    cost = (summary.get("timings") or {}).get("search_cost") or {}
    for name in ("coexploration", "sequential"):
        if name in cost:
            lines.append(f"search cost {name}: {cost[name]['wall_s']:.1f} s wall, "
                         f"{cost[name]['cpu_thread_hours']:.4f} CPU-thread hours")
    return "\n".join(lines)


def markdown(summary: dict) -> str:
    s, t = summary["settings"], summary["targets"]
    tg = ", ".join(f"{k.replace('max_', '')} <= {v:g}" for k, v in t.items() if v is not None) or "none"
    lines = [
        f"# ancoef explore: {summary['dataset']}", "",
        f"Seed {summary['seed']}; {s['candidates']} candidates at {','.join(map(str, s['bits']))}-bit weights "
        f"(each chip's weight memory has its network's width); hardware search `{s['algo']}` with {s['budget']} "
        f"simulated designs each (warm start `{s['warm_start']}`; preset `{s['preset']}`, `{s['semantics']}` "
        f"semantics, calibration batch of {s['calib_samples']} samples); targets: {tg}. Supernet: "
        f"{s['supernet_steps']} sandwich steps; QAT: {s['qat_steps_per_network']} steps per network. Accuracy on the "
        f"held-out test split ({s['n_test']} samples).", "",
        "## Pareto front (accuracy, energy, latency, EDP, area)", ""]
    if summary["front"]:
        lines += ["| # | SNN | bits | on-chip accuracy | fixed-point accuracy | energy / sample (J) | latency (s) | "
                  "EDP (J*s) | EDP (s*nJ) | area (mm^2) | hardware |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for i, p in enumerate(summary["front"], 1):
            lines.append(f"| {i} | {p['candidate']} `{p['config_text']}` | {p['bits']} | {p['accuracy']:.3f} | "
                         f"{p['fixed_point_accuracy']:.3f} | {p['energy_j']:.4g} | {p['latency_s']:.4g} | "
                         f"{p['edp_js']:.4g} | {p['edp_snj']:.4g} | {p['area_mm2']:.4g} | {p['design_text']} |")
    else:
        lines.append(f"**{summary.get('report', 'empty front')}.**")
        for r in summary.get("closest_to_targets") or []:
            lines.append(f"- {r['candidate']} `{r['config_text']}`: energy {_fmt(r.get('energy_j'))} J, latency "
                         f"{_fmt(r.get('latency_s'))} s, area {_fmt(r.get('area_mm2'))} mm^2; misses "
                         f"{'; '.join(r.get('violations') or [])}")
    if summary.get("baselines"):
        comp = summary.get("comparison") or {}
        lines += ["", "## Chosen design against the baselines", "",
                  f"Chosen: {summary['chosen']['rule']}." if summary.get("chosen") else "No chosen design.", "",
                  "| flow | SNN | accuracy | EDP (s*nJ) | energy (J) | latency (s) | area (mm^2) | its EDP / chosen EDP | "
                  "accuracy difference | hardware |", "|---|---|---|---|---|---|---|---|---|---|"]
        rows = [("co-exploration (chosen)", summary.get("chosen"), None)]
        rows += [(f"({'a' if n == 'reference' else 'b'}) {n}", summary["baselines"][n]["chosen"], comp.get(f"vs_{n}"))
                 for n in ("reference", "sequential")]
        for label, p, r in rows:
            if p is None:
                continue
            lines.append(f"| {label} | {p['candidate']} `{p['config_text']}` | {p['accuracy']:.3f} | "
                         f"{p['edp_snj']:.4g} | {p['energy_j']:.4g} | {p['latency_s']:.4g} | {p['area_mm2']:.4g} | "
                         f"{'-' if r is None else format(r['edp_ratio'], '.3g') + 'x'} | "
                         f"{'-' if r is None else format(100 * r['accuracy_difference'], '+.1f') + ' points'} | "
                         f"{p['design_text']} |")
        fc = comp.get("front_vs_sequential") or {}
        if fc.get("coverage") is not None:
            lines += ["", f"Front against the sequential flow's, in (accuracy, EDP): it matches or beats "
                      f"{100 * fc['coverage']:.0f} % of the sequential points; hypervolume in {fc['hypervolume_space']} "
                      f"{fc['hypervolume_coexploration']:.4g} against {fc['hypervolume_sequential']:.4g}."]
        cost = (summary.get("timings") or {}).get("search_cost") or {}
        if cost:
            lines += ["", "| search cost | wall (s) | CPU-thread hours |", "|---|---|---|"]
            for name in ("coexploration", "sequential", "reference"):
                if name in cost:
                    lines.append(f"| {name} | {cost[name]['wall_s']:.1f} | {cost[name]['cpu_thread_hours']:.4f} |")
    lines += ["", "## Candidates", "",
              "| name | SNN | bits | neurons | inherited val. accuracy | best EDP on calibration (s*nJ) | status | "
              "fixed-point test accuracy |", "|---|---|---|---|---|---|---|---|"]
    for c in summary["candidates"]:
        best = (c.get("search") or {}).get("best_edp_snj")
        st = c["status"] + (f" ({c['reason']})" if c["reason"] else "")
        lines.append(f"| {c['name']} | `{c['config_text']}` | {c['bits']} | {c['n_neurons']} | "
                     f"{c['inherited_val_accuracy']:.3f} | {_fmt(best)} | {st} | "
                     f"{_fmt(c.get('fixed_point_test_accuracy'), '.3f')} |")
    tm = summary.get("timings") or {}
    if tm.get("phases"):
        lines += ["", "## Time per phase (committed work, all attempts)", "", "| phase | wall (s) | CPU (s) |",
                  "|---|---|---|"]
        for k, v in tm["phases"].items():
            lines.append(f"| {k} | {v['wall_s']:.1f} | {v['cpu_s']:.1f} |")
    return "\n".join(lines) + "\n"


# -- plots ------------------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pareto_png(path: Path, summary: dict, cands: list, points: list, baselines: dict) -> None:
    """Accuracy against EDP: every co-exploration point, the front, the chosen point, both baselines."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=100)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, c in enumerate(cands):
        col = colors[i % len(colors)]
        if c.points:
            ax.scatter([p.edp_snj for p in c.points], [p.accuracy for p in c.points], color=col, s=28,
                       label=f"{c.name} {c.config_text}")
        elif c.search is not None and c.search.figures.get("best"):
            b = c.search.figures["best"]
            ax.scatter([b["edp_snj"]], [c.inherited_val_accuracy], marker="x", color=col, s=36,
                       label=f"{c.name} abandoned (calibration EDP, inherited acc.)")
    fr = [p for p in points if p.on_front]
    if fr:
        ax.scatter([p.edp_snj for p in fr], [p.accuracy for p in fr], facecolors="none", edgecolors="red", s=120,
                   linewidths=1.5, label="Pareto front")
    seq = baselines.get("sequential")
    if seq is not None and seq.points:
        ax.scatter([p.edp_snj for p in seq.points], [p.accuracy for p in seq.points], marker="^", color="gray",
                   s=40, label="(b) sequential flow")
    ref = baselines.get("reference")
    if ref is not None and ref.chosen is not None:
        ax.scatter([ref.chosen.edp_snj], [ref.chosen.accuracy], marker="s", color="black", s=60,
                   label="(a) reference SNN on reference chip")
    ch = summary.get("chosen")
    if ch:
        ax.scatter([ch["edp_snj"]], [ch["accuracy"]], marker="*", color="gold", edgecolors="black", s=220,
                   zorder=5, label="chosen")
    ax.set_xscale("log")
    ax.set_xlabel("EDP per sample (s*nJ)")
    ax.set_ylabel("accuracy (on chip, test split)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, summary.get("report", "no point"), ha="center", transform=ax.transAxes)
    ax.set_title(f"ancoef explore: {summary['dataset']}, seed {summary['seed']} ({summary['settings']['algo']})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _progress_curves(outcome) -> tuple[list, list, list]:
    """(simulations, best EDP so far meeting targets, normalised hypervolume) after each design."""
    from agent.pareto import ParetoArchive

    arch = ParetoArchive(outcome.normaliser)
    n, best, hv = [], [], []
    b = math.inf
    for r in outcome.archive:
        arch.add(r)
        if not r.fits:
            continue
        if r.meets_targets and r.edp_js < b:
            b = r.edp_js
        n.append(r.n_simulated)
        best.append(b * 1e9 if math.isfinite(b) else np.nan)
        hv.append(arch.hypervolume())
    return n, best, hv


def search_progress_png(path: Path, cands: list, baselines: dict) -> None:
    """Best EDP and hypervolume against simulations spent, one line per search."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    searches = [(c.name, c.search) for c in cands if c.search is not None]
    if baselines.get("sequential") is not None:
        searches.append(("sequential", baselines["sequential"].candidate.search))
    for name, outcome in searches:
        n, best, hv = _progress_curves(outcome)
        style = "--" if name == "sequential" else "-"
        a1.step(n, best, where="post", ls=style, label=name)
        a2.step(n, hv, where="post", ls=style, label=name)
    a1.set_yscale("log")
    a1.set_xlabel("simulations")
    a1.set_ylabel("best EDP meeting the targets (s*nJ)")
    a2.set_xlabel("simulations")
    a2.set_ylabel("hypervolume (normalised)")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    fig.suptitle("hardware search progress (calibration batch)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def breakdown_png(path: Path, summary: dict, points: list) -> None:
    plt = _plt()
    shown = [p for p in points if p.on_front] or points
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(shown) + 2), 4.4), dpi=100)
    if shown:
        units = list(shown[0].energy_breakdown_j.keys())
        x = np.arange(len(shown))
        bottom = np.zeros(len(shown))
        for u in units:
            v = np.array([p.energy_breakdown_j.get(u, 0.0) for p in shown])
            ax.bar(x, v, bottom=bottom, label=u)
            bottom += v
        ax.set_xticks(x)
        ax.set_xticklabels([f"{p.candidate}\n{'/'.join(p.roles)}" for p in shown], fontsize=7)
        ax.set_ylabel("energy per sample (J)")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, summary.get("report", "no survivor simulated"), ha="center", transform=ax.transAxes)
    ax.set_title("energy breakdown per sample on the test split" + (" (Pareto front)" if any(
        p.on_front for p in points) else ""))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

