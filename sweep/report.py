"""What a sweep writes next to its store: results.csv, summary.json, summary.md and two plots.

- `results.csv`: one row per finished task (its key, grid values, best EDP, hypervolume, the
  Ray node that ran it, the attempt of the driver that committed it).
- `summary.md` / `summary.json`: one row per workload x target x preset x algorithm, over seeds:
  how many seeds met the targets, the median, minimum and maximum best EDP among them, the
  median hypervolume.
- `front_<workload>.png`: every task's Pareto front of that workload (latency against energy),
  coloured by algorithm, the designs on the front of their union ringed.
- `edp_vs_targets.png`: best EDP meeting the targets against each target, one panel per
  workload, one line (the median over seeds, seeds as points) per algorithm and preset.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import numpy as np

from agent import jsonio

CSV_COLUMNS = ("key", "workload", "target", "preset", "algo", "seed", "met_targets", "best_edp_js",
               "hypervolume", "hypervolume_meeting_targets", "simulated", "front_size", "task_wall_s",
               "node_id", "host", "attempt")


def _row(r: dict) -> dict:
    s = r["search"]
    return {"key": r["key"], "workload": r["workload"], "target": r["target"], "preset": r["preset"],
            "algo": r["algo"], "seed": r["seed"], "met_targets": s["met_targets"], "best_edp_js": s["best_edp_js"],
            "hypervolume": s["hypervolume"], "hypervolume_meeting_targets": s["hypervolume_meeting_targets"],
            "simulated": s["simulated"], "front_size": s["front_size"], "task_wall_s": r["task_wall_s"],
            "node_id": r["node_id"], "host": r["host"], "attempt": r["attempt"]}


def groups(spec, results: list) -> list[dict]:
    """Per workload x target x preset x algorithm, over seeds (in grid order)."""
    by = {}
    for r in results:
        by.setdefault((r["workload"], r["target"], r["preset"], r["algo"]), []).append(r)
    a = spec.axes
    out = []
    for w in a["workload"]:
        for t in a["target"]:
            for p in a["preset"]:
                for al in a["algo"]:
                    rs = by.get((w, t, p, al), [])
                    if not rs:
                        continue
                    met = [r["search"]["best_edp_js"] for r in rs if r["search"]["met_targets"]]
                    out.append({
                        "workload": w, "target": t, "preset": p, "algo": al, "seeds": len(rs),
                        "seeds_meeting_targets": len(met),
                        "best_edp_js_median": statistics.median(met) if met else None,
                        "best_edp_js_min": min(met) if met else None,
                        "best_edp_js_max": max(met) if met else None,
                        "hypervolume_median": statistics.median(r["search"]["hypervolume"] for r in rs),
                    })
    return out


def _snj(x) -> str:
    return "-" if x is None else f"{x * 1e9:.4g}"


def markdown_table(rows: list[dict]) -> str:
    head = ("| workload | target | preset | algo | seeds meeting targets | best EDP median (s*nJ) | min | max "
            "| hypervolume median |")
    lines = [head, "|" + " --- |" * 9]
    for g in rows:
        lines.append(f"| {g['workload']} | {g['target']} | {g['preset']} | {g['algo']} | "
                     f"{g['seeds_meeting_targets']}/{g['seeds']} | {_snj(g['best_edp_js_median'])} | "
                     f"{_snj(g['best_edp_js_min'])} | {_snj(g['best_edp_js_max'])} | {g['hypervolume_median']:.4f} |")
    return "\n".join(lines)


def write_report(out: Path, spec, outcome, store_path: Path) -> dict:
    """Write the outputs (see the module docstring) and return the summary."""
    out = Path(out)
    results = outcome.results
    with (out / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in results:
            w.writerow(_row(r))
    rows = groups(spec, results)
    plots = [str(p.name) for p in (*front_plots(out, spec, results), edp_targets_plot(out, spec, results))]
    summary = {
        "sweep": spec.name,
        "tasks": outcome.total,
        "finished": len(results),
        "failed": outcome.failures,
        "complete": outcome.complete,
        "nodes": outcome.nodes,
        "groups": rows,
        "store": {"path": str(store_path), "attempt": outcome.attempt, "ran_now": outcome.ran_now,
                  "reused": outcome.reused, "dropped_duplicates": outcome.dropped_duplicates},
        "wall_s": outcome.wall_s,
        "plots": plots,
    }
    (out / "summary.json").write_text(jsonio.dumps(summary))
    text = [f"# Sweep {spec.name}", "",
            f"{len(results)} of {outcome.total} tasks finished on {len(outcome.nodes)} Ray node(s); "
            f"this attempt ({outcome.attempt}) ran {outcome.ran_now}, {outcome.reused} were already in the store.",
            "", markdown_table(rows), ""]
    if outcome.failures:
        text += ["## Failed tasks (a resume runs them again)", ""]
        text += [f"- `{k}`: {v}" for k, v in outcome.failures.items()] + [""]
    text += [f"![front of {w}](front_{w}.png)" for w in spec.axes["workload"]]
    text += ["", "![best EDP against targets](edp_vs_targets.png)", ""]
    (out / "summary.md").write_text("\n".join(text))
    return summary


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def front_plots(out: Path, spec, results: list) -> list[Path]:
    from agent.pareto import nondominated_mask

    plt = _plt()
    paths = []
    colours = {a: f"C{i}" for i, a in enumerate(spec.axes["algo"])}
    markers = {p: m for p, m in zip(spec.axes["preset"], "os^Dv<>p*h")}
    for w in spec.axes["workload"]:
        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
        pts, shown = [], set()
        for r in results:
            if r["workload"] != w:
                continue
            front = [d for d in r["front"] if d["energy_j"] is not None]
            if not front:
                continue
            lat = [d["latency_s"] for d in front]
            en = [d["energy_j"] for d in front]
            label = f"{r['algo']} / {r['preset']}"
            ax.scatter(lat, en, s=12, alpha=0.5, c=colours[r["algo"]], marker=markers.get(r["preset"], "o"),
                       label=None if label in shown else label)
            shown.add(label)
            pts += [(d["energy_j"], d["latency_s"], d["area_mm2"]) for d in front]
        if pts:
            arr = np.array(pts, dtype=float)
            mask = nondominated_mask(arr)
            ax.scatter(arr[mask, 1], arr[mask, 0], facecolors="none", edgecolors="black", s=40,
                       label="front of all tasks (E, L, A)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(loc="best", fontsize=7)
        else:
            ax.text(0.5, 0.5, "no finished task", ha="center", transform=ax.transAxes)
        ax.set_xlabel("latency per sample (s)")
        ax.set_ylabel("energy per sample (J)")
        ax.set_title(f"{spec.name}: Pareto fronts of {w}")
        fig.tight_layout()
        path = out / f"front_{w}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def edp_targets_plot(out: Path, spec, results: list) -> Path:
    plt = _plt()
    workloads, targets = spec.axes["workload"], spec.axes["target"]
    fig, axes = plt.subplots(1, len(workloads), figsize=(max(6.4, 4.2 * len(workloads)), 4.6), dpi=110,
                             squeeze=False)
    x = np.arange(len(targets))
    for ax, w in zip(axes[0], workloads):
        for i, (p, al) in enumerate((p, al) for p in spec.axes["preset"] for al in spec.axes["algo"]):
            med = []
            for j, t in enumerate(targets):
                edp = [r["search"]["best_edp_js"] * 1e9 for r in results
                       if (r["workload"], r["target"], r["preset"], r["algo"]) == (w, t, p, al)
                       and r["search"]["met_targets"]]
                ax.scatter([j + 0.04 * (i - 1)] * len(edp), edp, s=10, alpha=0.5, c=f"C{i}")
                med.append(statistics.median(edp) if edp else np.nan)
            ax.plot(x, med, marker="o", c=f"C{i}", label=f"{al} / {p}")
        ax.set_xticks(x, targets, rotation=20)
        ax.set_yscale("log")
        ax.set_xlabel("target")
        ax.set_ylabel("best EDP meeting the target (s*nJ)")
        ax.set_title(w)
        ax.legend(fontsize=7)
    fig.suptitle(f"{spec.name}: best EDP against targets (median over seeds; seeds as points)")
    fig.tight_layout()
    path = out / "edp_vs_targets.png"
    fig.savefig(path)
    plt.close(fig)
    return path
