"""The same chip, asynchronous and clocked: what asynchrony buys in latency, energy and EDP.

    python benchmarks/schedules.py              # the table of docs/benchmarks.md
    python benchmarks/schedules.py --steps 50   # shorter runs

Workloads: the three MLPs of benchmarks/sim_vs_sanafe.py (784-128-64-10 and 784-512-256-10 on
4x4 tiles, 784-2048-1024-10 on 8x8, Poisson input at rate 0.1, seed 0, packed mapping) and a
convolutional network (34x34x2 input, 5x5 stride-2 convolution to 17x17x8, dense to 10, on 4x4
tiles), each simulated under both schedules (`trueasync.simulate(..., schedule=...)`) in
`timestep` semantics with the `async28` preset (leakage, so the longer clocked run pays more
static energy; a barrier of 2 ns per tile crossed, out and back) and in `sanafe` semantics with
the `loihi` preset (SANA-FE's barrier schedule, free barrier). One sample per point; the
simulator is deterministic, so one run is the figure. Prints a table and writes
benchmarks/results/schedules.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import trueasync as ta  # noqa: E402
from trueasync.workload import generate_conv, generate_mlp, json_default  # noqa: E402

SETTINGS = (("timestep", "async28"), ("sanafe", "loihi"))


def workloads(steps: int):
    for label, sizes, mesh in (
        ("784-128-64-10/16c", (784, 128, 64, 10), (4, 4)),
        ("784-512-256-10/16c", (784, 512, 256, 10), (4, 4)),
        ("784-2048-1024-10/64c", (784, 2048, 1024, 10), (8, 8)),
    ):
        yield label, lambda sizes=sizes, mesh=mesh: generate_mlp(
            sizes, timesteps=steps, rate=0.1, mesh=mesh, seed=0, samples=1)
    yield "conv 34x34x2-c5s2x8-10/16c", lambda: generate_conv(
        in_shape=(34, 34, 2), out_channels=8, kernel=5, stride=2, padding=2, timesteps=steps,
        rate=0.1, mesh=(4, 4), samples=1, seed=0)


def figures(r: ta.SimResult) -> dict:
    return {
        "latency_s": float(r.latency_s[0]),
        "energy_j": float(r.energy_j[0]),
        "static_energy_j": float(r.energy_breakdown_j["static"][0]),
        "sync_energy_j": float(r.energy_breakdown_j["sync"][0]),
        "edp_js": float(r.edp_js[0]),
        "barriers": int(r.counts["barriers"][0]),
        "wall_s": r.wall_s,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=100, help="time steps per sample (default 100)")
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "schedules.json"))
    args = ap.parse_args(argv)
    started = time.perf_counter()
    rows = []
    for label, make in workloads(args.steps):
        wl = make()
        for semantics, preset in SETTINGS:
            runs = {s: ta.simulate(wl.network, wl.arch, wl.inputs, semantics=semantics, preset=preset,
                                   core_of=wl.core_of, schedule=s, threads=1)
                    for s in ("asynchronous", "clocked")}
            a, c = runs["asynchronous"], runs["clocked"]
            same = all(np.array_equal(a.counts[k], c.counts[k])
                       for k in ("fired", "synaptic_ops", "packets", "hops")) and \
                np.array_equal(a.spikes_per_layer, c.spikes_per_layer)
            row = {"workload": label, "steps": args.steps, "semantics": semantics, "preset": preset,
                   "asynchronous": figures(a), "clocked": figures(c), "functional_results_identical": same}
            for k in ("latency_s", "energy_j", "edp_js"):
                row[f"{k}_ratio_clocked_over_asynchronous"] = row["clocked"][k] / row["asynchronous"][k]
            rows.append(row)
            print(f"  {label} {semantics}/{preset}: async {row['asynchronous']['latency_s']:.4e} s, "
                  f"clocked {row['clocked']['latency_s']:.4e} s", flush=True)
    head = (f"{'workload':<28} {'semantics/preset':<17} {'latency async s':>15} {'clocked s':>11} {'ratio':>6} "
            f"{'energy async J':>14} {'clocked J':>11} {'ratio':>6} {'EDP ratio':>9} {'same':>5}")
    print()
    print(f"asynchronous vs clocked on the same chip, {args.steps} steps, one sample (ratio = clocked / asynchronous)")
    print(head)
    print("-" * len(head))
    for r in rows:
        a, c = r["asynchronous"], r["clocked"]
        print(f"{r['workload']:<28} {r['semantics'] + '/' + r['preset']:<17} {a['latency_s']:>15.4e} "
              f"{c['latency_s']:>11.4e} {r['latency_s_ratio_clocked_over_asynchronous']:>5.3f}x "
              f"{a['energy_j']:>14.4e} {c['energy_j']:>11.4e} {r['energy_j_ratio_clocked_over_asynchronous']:>5.3f}x "
              f"{r['edp_js_ratio_clocked_over_asynchronous']:>8.3f}x {'yes' if r['functional_results_identical'] else 'NO':>5}")
    doc = {
        "benchmark": "schedules",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "rows": rows,
        "elapsed_s": time.perf_counter() - started,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=json_default) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
