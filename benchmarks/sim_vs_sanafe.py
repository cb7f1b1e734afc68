"""TrueAsync vs SANA-FE: wall time, agreement of counts, and TrueAsync's thread scaling.

    . .venv/bin/activate
    python benchmarks/sim_vs_sanafe.py            # every point, median of 3
    python benchmarks/sim_vs_sanafe.py --quick    # a subset (small T, large net at T=50 only)
    python benchmarks/sim_vs_sanafe.py --repeats 5 --json out.json

Part 1 runs SANA-FE (`trueasync.sanafe_peer.run_sanafe`, timing model `detailed`, one processing
thread) and TrueAsync (`semantics="sanafe"`, threads=1, the workload's `core_of`) on the same
seeded MLP workloads (`trueasync.workload.generate_mlp`, Poisson rate 0.1) and on the shared
reference workload, in this one process.

Timing:
- SANA-FE: only `chip.sim()` is timed. `run_sanafe` has no timer of its own, so
  `sanafe.SpikingChip` is wrapped, for the duration of the call, by a proxy that times each
  `sim()` call with `time.perf_counter`. `run_sanafe` always asks for `perf_trace=True` (its
  counts come from the perf trace), so that cost is inside the timed call. To build the SANA-FE
  network once per point rather than once per repeat, the repeats are N samples with identical
  inputs run in one `run_sanafe` call (chip.reset() and the input trains set again between
  samples, as `run_sanafe` does for any multi-sample workload); every sample's counts are
  checked. SANA-FE's "Executed steps" progress line is sent to /dev/null unless --verbose
  (this can only make SANA-FE's timed sim() faster, never slower).
- TrueAsync: `SimResult.wall_s` (the engine's own measure of the simulation alone, without the
  conversion of the inputs), one simulate() call per repeat; the wall time of the whole
  simulate() call is recorded beside it in the JSON.

Part 2 runs a batch of 8 and 16 samples of 784-512-256-10 T=100 in `timestep` semantics with
threads=1 and threads=2, one call of each at a time (at least 9 pairs, the order swapped every
pair), and reports the median of the per-pair wall_s ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import trueasync  # noqa: E402
from trueasync.workload import Workload, generate_mlp, json_default, load_workload  # noqa: E402

SHARED = REPO.parent / "shared"
REFERENCE_PREFIX = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"

TARGET_SPEEDUP = 20.0
TARGET_EVENTS_PER_S = 150e6
TARGET_THREAD_RATIO = 1.8
# Thread scaling: pairs of calls (one per thread count), at least this many, whatever --repeats says.
THREAD_SCALING_CALLS = 9

RATE = 0.1
SEED = 0
NETS = [  # (label, sizes, mesh)
    ("784-128-64-10/16c", (784, 128, 64, 10), (4, 4)),
    ("784-512-256-10/16c", (784, 512, 256, 10), (4, 4)),
    ("784-2048-1024-10/64c", (784, 2048, 1024, 10), (8, 8)),
]
TIMESTEPS = (50, 100, 200, 400)
QUICK_POINTS = {  # label -> T values run with --quick
    "784-128-64-10/16c": (50, 100),
    "784-512-256-10/16c": (50, 100),
    "784-2048-1024-10/64c": (50,),
}
COUNT_PAIRS = (  # (SANA-FE name, TrueAsync name)
    ("fired", "fired"),
    ("synaptic_events", "synaptic_ops"),
    ("packets", "packets"),
    ("hops", "hops"),
)


# ------------------------------------------------------------------------------------------
# machine info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict:
    status = _git("status", "--porcelain")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "nproc": os.cpu_count(),
        "sched_affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sanafe": _version("sanafe"),
        "ancoef": _version("ancoef"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status != "unknown" else None,
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# ------------------------------------------------------------------------------------------
# SANA-FE with chip.sim() timed


@contextlib.contextmanager
def _stdout_to_devnull(enabled: bool):
    """Redirect file descriptor 1 (SANA-FE's C++ progress output) to /dev/null."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


@contextlib.contextmanager
def _timed_sanafe_chip(sim_times: list):
    """Make `sanafe.SpikingChip(...)` return a proxy whose sim() appends its wall time."""
    import sanafe

    original = sanafe.SpikingChip

    class TimedChip:
        def __init__(self, *args, **kwargs):
            object.__setattr__(self, "_chip", original(*args, **kwargs))

        def sim(self, *args, **kwargs):
            t0 = time.perf_counter()
            out = self._chip.sim(*args, **kwargs)
            sim_times.append(time.perf_counter() - t0)
            return out

        def __getattr__(self, name):
            return getattr(self._chip, name)

    sanafe.SpikingChip = TimedChip
    try:
        yield
    finally:
        sanafe.SpikingChip = original


def run_sanafe_timed(wl: Workload, repeats: int, quiet: bool) -> dict:
    """SANA-FE on sample 0 of `wl`, `repeats` times in one chip (identical inputs)."""
    from trueasync.sanafe_peer import run_sanafe

    rep = replace(wl, inputs=np.repeat(wl.inputs[:1], repeats, axis=0))
    sim_times: list = []
    t0 = time.perf_counter()
    with _timed_sanafe_chip(sim_times), _stdout_to_devnull(quiet):
        out = run_sanafe(rep, timing_model="detailed", processing_threads=1)
    total = time.perf_counter() - t0
    if len(sim_times) != repeats:
        raise RuntimeError(f"expected {repeats} timed chip.sim() calls, saw {len(sim_times)}")
    per = out["per_sample"]
    counts = {}
    consistent = True
    for name, _ in COUNT_PAIRS:
        vals = [int(v) for v in per[name]]
        consistent &= len(set(vals)) == 1
        counts[name] = vals[0]
    return {
        "sim_s": sim_times,
        "sim_s_median": statistics.median(sim_times),
        "run_sanafe_total_s": total,
        "build_and_overhead_s": total - sum(sim_times),
        "counts": counts,
        "repeats_identical": bool(consistent),
        "latency_s": float(per["latency"][0]),
        "energy_j": float(per["energy"][0]),
    }


# ------------------------------------------------------------------------------------------
# TrueAsync


def _call_trueasync(wl: Workload, inputs: np.ndarray, semantics: str, threads: int) -> tuple:
    """One simulate() call: (engine wall_s, whole-call seconds, result)."""
    t0 = time.perf_counter()
    r = trueasync.simulate(wl.network, wl.arch, inputs, semantics=semantics,
                           preset=wl.costs, core_of=wl.core_of, threads=threads)
    return float(r.wall_s), time.perf_counter() - t0, r


def _summary(calls: list, inputs: np.ndarray) -> dict:
    """What run_trueasync reports of a list of _call_trueasync results."""
    walls, call_s, results = (list(x) for x in zip(*calls))
    r = results[0]
    counts = {name: int(np.sum(r.counts[name])) for _, name in COUNT_PAIRS}
    same = all(
        all(int(np.sum(x.counts[name])) == counts[name] for _, name in COUNT_PAIRS)
        for x in results[1:]
    )
    return {
        "wall_s": walls,
        "wall_s_median": statistics.median(walls),
        "call_s": call_s,
        "call_s_median": statistics.median(call_s),
        "counts": counts,
        "repeats_identical": bool(same),
        "latency_s": float(np.mean(r.latency_s)),
        "energy_j": float(np.sum(r.energy_j)),
        "samples": int(inputs.shape[0]),
    }


def run_trueasync(wl: Workload, repeats: int, semantics: str, threads: int,
                  inputs: np.ndarray | None = None) -> dict:
    inputs = wl.inputs[:1] if inputs is None else inputs
    return _summary([_call_trueasync(wl, inputs, semantics, threads) for _ in range(repeats)], inputs)


# ------------------------------------------------------------------------------------------
# part 1


def points(quick: bool):
    for label, sizes, mesh in NETS:
        for T in TIMESTEPS:
            if quick and T not in QUICK_POINTS[label]:
                continue
            yield label, T, (lambda sizes=sizes, mesh=mesh, T=T: generate_mlp(
                sizes, timesteps=T, rate=RATE, mesh=mesh, seed=SEED, samples=1))


def compare_point(label: str, T: int, wl: Workload, repeats: int, quiet: bool,
                  golden: dict | None = None) -> dict:
    print(f"  {label} T={T}: SANA-FE x{repeats} ...", end="", flush=True)
    sf = run_sanafe_timed(wl, repeats, quiet)
    print(f" {sf['sim_s_median']:.3f} s; TrueAsync x{repeats} ...", end="", flush=True)
    ta = run_trueasync(wl, repeats, "sanafe", 1)
    print(f" {ta['wall_s_median']:.4f} s", flush=True)
    mismatches = {
        sf_name: {"sanafe": sf["counts"][sf_name], "trueasync": ta["counts"][ta_name]}
        for sf_name, ta_name in COUNT_PAIRS if sf["counts"][sf_name] != ta["counts"][ta_name]
    }
    events = ta["counts"]["synaptic_ops"]
    speedup = sf["sim_s_median"] / ta["wall_s_median"] if ta["wall_s_median"] > 0 else float("inf")
    eps = events / ta["wall_s_median"] if ta["wall_s_median"] > 0 else float("inf")
    row = {
        "workload": label,
        "T": T,
        "n_cores": wl.arch.n_cores,
        "synaptic_events": events,
        "counts_match": not mismatches and sf["repeats_identical"] and ta["repeats_identical"],
        "mismatches": mismatches,
        "sanafe": sf,
        "trueasync": ta,
        "sanafe_sim_s_median": sf["sim_s_median"],
        "trueasync_wall_s_median": ta["wall_s_median"],
        "speedup": speedup,
        "trueasync_events_per_s": eps,
        "latency_sanafe_s": sf["latency_s"],
        "latency_trueasync_s": ta["latency_s"],
        "target_speedup_pass": speedup >= TARGET_SPEEDUP,
        "target_events_per_s_pass": eps >= TARGET_EVENTS_PER_S,
    }
    if golden is not None:
        g = golden["sanafe"]["totals"]
        gm = {k: {"golden": int(g[k]), "sanafe": sf["counts"][k]}
              for k, _ in COUNT_PAIRS if int(g[k]) != sf["counts"][k]}
        row["golden_sanafe_counts_match"] = not gm
        row["golden_mismatches"] = gm
        row["golden_sanafe_latency_s"] = float(g["latency"])
    return row


def _pf(ok: bool) -> str:
    return "pass" if ok else "MISS"


def print_table(rows: list) -> None:
    head = (f"{'workload':<22} {'T':>4} {'syn events':>11} {'match':>5} {'SANA-FE s':>10} "
            f"{'TrueAsync s':>11} {'speed-up':>9} {'>=20x':>5} {'TA M ev/s':>9} {'>=150M':>6} "
            f"{'lat SANA-FE s':>13} {'lat TrueAsync s':>15}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['workload']:<22} {r['T']:>4} {r['synaptic_events']:>11,} "
              f"{'ok' if r['counts_match'] else 'DIFF':>5} {r['sanafe_sim_s_median']:>10.4f} "
              f"{r['trueasync_wall_s_median']:>11.4f} {r['speedup']:>8.1f}x "
              f"{_pf(r['target_speedup_pass']):>5} {r['trueasync_events_per_s'] / 1e6:>9.1f} "
              f"{_pf(r['target_events_per_s_pass']):>6} {r['latency_sanafe_s']:>13.6e} "
              f"{r['latency_trueasync_s']:>15.6e}")
        for k, v in r["mismatches"].items():
            print(f"{'':<22}      count mismatch {k}: SANA-FE {v['sanafe']} vs TrueAsync "
                  f"{v['trueasync']}")
        if not r["sanafe"]["repeats_identical"] or not r["trueasync"]["repeats_identical"]:
            print(f"{'':<22}      counts differ between repeats")
        if r.get("golden_mismatches"):
            print(f"{'':<22}      SANA-FE differs from the golden figures: {r['golden_mismatches']}")


# ------------------------------------------------------------------------------------------
# part 2


def thread_scaling(batches, repeats: int) -> list:
    rows = []
    for batch in batches:
        wl = generate_mlp((784, 512, 256, 10), timesteps=100, rate=RATE, mesh=(4, 4), seed=SEED,
                          samples=batch)
        calls = max(THREAD_SCALING_CALLS, repeats)
        print(f"  batch {batch}: threads=1 and threads=2 alternating, x{calls} each ...", end="",
              flush=True)
        # one call of each at a time, the order swapped every pair: this VM's speed (and what its
        # second core gives) drifts within seconds, so runs of several calls per thread count
        # compare different machines; the ratio is the median of the per-pair ratios
        by_threads = {1: [], 2: []}
        for i in range(calls):
            for t in ((1, 2) if i % 2 == 0 else (2, 1)):
                by_threads[t].append(_call_trueasync(wl, wl.inputs, "timestep", t))
        one, two = (_summary(by_threads[t], wl.inputs) for t in (1, 2))
        ratios = [a / b for a, b in zip(one["wall_s"], two["wall_s"]) if b > 0]
        ratio = statistics.median(ratios) if ratios else 0.0
        print(f" {one['wall_s_median']:.4f} s / {two['wall_s_median']:.4f} s", flush=True)
        rows.append({
            "workload": "784-512-256-10/16c",
            "T": 100,
            "semantics": "timestep",
            "batch": batch,
            "threads1": one,
            "threads2": two,
            "threads1_wall_s_median": one["wall_s_median"],
            "threads2_wall_s_median": two["wall_s_median"],
            "ratio": ratio,
            "ratio_method": "median of per-pair ratios, 1 and 2 threads alternating call by call",
            "counts_equal_1_vs_2": one["counts"] == two["counts"],
            "target_ratio_pass": ratio >= TARGET_THREAD_RATIO,
        })
    return rows


def print_scaling(rows: list) -> None:
    head = (f"{'workload':<22} {'T':>4} {'batch':>5} {'1 thread s':>10} {'2 threads s':>11} "
            f"{'ratio':>6} {'>=1.8x':>6} {'counts 1=2':>10}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['workload']:<22} {r['T']:>4} {r['batch']:>5} "
              f"{r['threads1_wall_s_median']:>10.4f} {r['threads2_wall_s_median']:>11.4f} "
              f"{r['ratio']:>5.2f}x {_pf(r['target_ratio_pass']):>6} "
              f"{'yes' if r['counts_equal_1_vs_2'] else 'NO':>10}")


# ------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a subset: 784-128-64-10 and 784-512-256-10 at T=50,100, "
                         "784-2048-1024-10 at T=50, the reference workload, batches 8 and 16")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per point (median taken)")
    ap.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "sim_vs_sanafe.json"),
                    help="where to write all figures (default: %(default)s)")
    ap.add_argument("--verbose", action="store_true", help="let SANA-FE print its progress")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    t_start = time.perf_counter()

    print(f"part 1: SANA-FE (detailed, 1 thread, chip.sim() timed) vs TrueAsync (sanafe "
          f"semantics, threads=1), median of {args.repeats}")
    rows = []
    for label, T, make in points(args.quick):
        rows.append(compare_point(label, T, make(), args.repeats, not args.verbose))
    reference = {"path": str(REFERENCE_PREFIX), "present": False}
    if REFERENCE_PREFIX.with_suffix(".json").is_file() and \
            REFERENCE_PREFIX.with_suffix(".npz").is_file():
        reference["present"] = True
        wl = load_workload(REFERENCE_PREFIX)
        golden_path = Path(str(REFERENCE_PREFIX) + ".expected.json")
        golden = json.loads(golden_path.read_text()) if golden_path.is_file() else None
        rows.append(compare_point("reference 784-512-256-10/16c", wl.timesteps, wl,
                                  args.repeats, not args.verbose, golden))
    else:
        print(f"  reference workload skipped: {REFERENCE_PREFIX}.json/.npz not found "
              f"(shared/ absent)")

    print(f"part 2: TrueAsync thread scaling (timestep semantics), median of {args.repeats}")
    scaling = thread_scaling((8, 16), args.repeats)

    print()
    print(f"TrueAsync vs SANA-FE (median of {args.repeats}; SANA-FE = chip.sim() only; "
          f"TrueAsync = SimResult.wall_s; latency = simulated seconds per sample)")
    print_table(rows)
    print()
    print("TrueAsync thread scaling (1 and 2 threads alternating call by call; ratio: median of the per-pair ratios)")
    print_scaling(scaling)
    all_match = all(r["counts_match"] for r in rows)
    summary = {
        "all_counts_match": all_match,
        "speedup_min": min((r["speedup"] for r in rows), default=None),
        "speedup_all_pass": all(r["target_speedup_pass"] for r in rows),
        "events_per_s_min": min((r["trueasync_events_per_s"] for r in rows), default=None),
        "events_per_s_all_pass": all(r["target_events_per_s_pass"] for r in rows),
        "thread_ratio_min": min((r["ratio"] for r in scaling), default=None),
        "thread_ratio_all_pass": all(r["target_ratio_pass"] for r in scaling),
    }
    print()
    print(f"counts (fired, synaptic events, packets, hops) equal at every point: "
          f"{'yes' if all_match else 'NO'}")
    print(f"targets: >=20x at every point: {_pf(summary['speedup_all_pass'])} "
          f"(min {summary['speedup_min']:.1f}x); >=150 M ev/s single-thread: "
          f"{_pf(summary['events_per_s_all_pass'])} (min "
          f"{summary['events_per_s_min'] / 1e6:.1f} M/s); >=1.8x 1->2 threads: "
          f"{_pf(summary['thread_ratio_all_pass'])} (min {summary['thread_ratio_min']:.2f}x)")

    doc = {
        "benchmark": "sim_vs_sanafe",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "quick": args.quick,
        "repeats": args.repeats,
        "machine": info,
        "settings": {
            "rate": RATE,
            "seed": SEED,
            "sanafe": {"timing_model": "detailed", "processing_threads": 1,
                       "timed": "chip.sim() only (perf_trace=True, as run_sanafe asks)",
                       "repeats": "one chip build, N samples with identical inputs, "
                                  "chip.reset() between"},
            "trueasync": {"semantics": "sanafe", "threads": 1, "core_of": "workload's (packed)",
                          "timed": "SimResult.wall_s"},
            "targets": {"speedup": TARGET_SPEEDUP, "events_per_s": TARGET_EVENTS_PER_S,
                        "thread_ratio": TARGET_THREAD_RATIO},
        },
        "reference_workload": reference,
        "comparison": rows,
        "thread_scaling": scaling,
        "summary": summary,
        "elapsed_s": time.perf_counter() - t_start,
        "loadavg_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=json_default) + "\n")
    if doc["loadavg_at_end"] is not None:
        print(f"load average at start {info['loadavg_at_start']}, at end {doc['loadavg_at_end']} "
              f"({info['nproc']} CPUs): timings are only as good as the machine was quiet")
    print(f"wrote {out}")
    return 0




if __name__ == "__main__":
    sys.exit(main())
