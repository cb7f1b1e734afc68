"""How long the default `ancoef explore` takes, baselines included, as a user would run it.

    python benchmarks/explore_time.py                 # one run in a fresh folder, defaults only
    python benchmarks/explore_time.py --repeats 2     # median of repeats

Runs `python -m services.cli explore --out DIR --no-progress` in a child process (a fresh
interpreter: imports, Ray's start-up and everything else included), and reports its wall time,
its CPU time (user + system of the process and its children, i.e. CPU-thread seconds), the
committed time per phase from the run's summary, and the load average before and after: on a
shared machine the wall time is only as good as the machine was quiet. Writes JSON to
benchmarks/results/explore_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0  # issue 8: at most 5 minutes on an idle 2-core machine


def one_run(extra: list) -> dict:
    with tempfile.TemporaryDirectory(prefix="explore-time-") as tmp:
        out = Path(tmp) / "run"
        load0 = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "services.cli", "explore", "--out", str(out), "--no-progress",
                            *extra], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise SystemExit(f"ancoef explore exited with {p.returncode}:\n{p.stderr[-3000:]}")
        summary = json.loads((out / "summary.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "load_before": list(load0), "load_after": list(os.getloadavg()),
            "phases": summary["timings"]["phases"], "front_points": len(summary["front"]),
            "chosen": summary.get("chosen"), "comparison": summary.get("comparison")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "explore_time.json")
    ap.add_argument("extra", nargs="*", help="extra `ancoef explore` options (default: none, the defaults)")
    args = ap.parse_args(argv)
    runs = [one_run(args.extra) for _ in range(args.repeats)]
    wall = statistics.median(r["wall_s"] for r in runs)
    print(f"{'run':>4s} {'wall s':>8s} {'CPU s':>8s} {'load before':>18s} {'load after':>18s}")
    for i, r in enumerate(runs, 1):
        lb = "/".join(f"{x:.2f}" for x in r["load_before"])
        la = "/".join(f"{x:.2f}" for x in r["load_after"])
        print(f"{i:>4d} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {lb:>18s} {la:>18s}")
    print("\ncommitted time per phase (first run), s:")
    for k, v in sorted(runs[0]["phases"].items(), key=lambda kv: -kv[1]["wall_s"]):
        print(f"  {k:22s} wall {v['wall_s']:7.1f}  CPU {v['cpu_s']:7.1f}")
    verdict = "met" if wall <= TARGET_S else "MISSED"
    print(f"\nmedian wall {wall:.1f} s ({wall / 60:.2f} min) on {os.cpu_count()} CPUs: <= {TARGET_S:.0f} s {verdict} "
          "(valid for an idle machine only: see the load averages)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"command": "python benchmarks/explore_time.py " + " ".join(argv or sys.argv[1:]),
                                     "cpus": os.cpu_count(), "median_wall_s": wall, "target_s": TARGET_S,
                                     "runs": runs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
