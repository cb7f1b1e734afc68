"""Two builds of the engine side by side in one process, call by call: is a change faster, and exact?

    python benchmarks/engine_ab.py BASE.so CANDIDATE.so             # 40 calls per point
    python benchmarks/engine_ab.py sim-rs/target/release/lib_core.so /tmp/pgo/lib_core.so --calls 80

BASE and CANDIDATE are builds of the extension (`trueasync._core`, e.g. `cargo build --release -p
trueasync-py`'s `target/release/lib_core.so`, or a copy kept before a change). Both are loaded into
this process under names of their own and called alternately on the same converted arguments (the
order swapped every call), on the three networks of `benchmarks/sim_vs_sanafe.py` (one sample,
`sanafe` semantics, one thread). This VM's speed drifts by a third within a minute, so runs in
separate processes, or rounds of several calls, cannot resolve a few per cent; the paired ratio
(candidate / base, call by call) can. Every output array of the two builds must be bit-identical:
the table says so per point, and the script exits 1 where they differ.

Prints a table; writes JSON (default benchmarks/results/engine_ab.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (sizes, mesh, steps, share of --calls): the points of sim_vs_sanafe.py at T = 100 (50 for the
# largest, whose calls take a third of a second)
POINTS = (((784, 128, 64, 10), (4, 4), 100, 1.0), ((784, 512, 256, 10), (4, 4), 100, 1.0),
          ((784, 2048, 1024, 10), (8, 8), 50, 0.2))


def load_build(label: str, path: Path):
    """The extension at `path` as module `<label>._core` (its init function is PyInit__core)."""
    spec = importlib.util.spec_from_file_location(f"{label}._core", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path} is not a loadable extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outputs(raw: dict) -> bytes:
    """Every output array of one call, as bytes, in a fixed order (wall_s aside)."""
    parts = []
    for key in sorted(raw):
        value = raw[key]
        if key == "wall_s":
            continue
        if isinstance(value, dict):
            parts += [np.ascontiguousarray(value[k]).tobytes() for k in sorted(value)]
        elif isinstance(value, np.ndarray):
            parts.append(np.ascontiguousarray(value).tobytes())
        else:
            parts.append(repr(value).encode())
    return b"".join(parts)


def compare_point(builds: dict, sizes, mesh, steps: int, calls: int) -> dict:
    from trueasync import _convert
    from trueasync.workload import generate_mlp

    wl = generate_mlp(sizes, timesteps=steps, rate=0.1, mesh=mesh, seed=0, samples=1)
    args = (_convert.network_dict(wl.network), _convert.arch_dict(wl.arch), _convert.costs_json(wl.costs)[1],
            _convert._inputs(wl.inputs[:1]), "sanafe", np.ascontiguousarray(wl.core_of, dtype=np.int64), 1,
            False, False, None, "asynchronous")
    walls = {label: [] for label in builds}
    outputs = {}
    order = list(builds.items())
    for i in range(calls + 2):  # two untimed rounds first
        for label, module in (order if i % 2 == 0 else order[::-1]):
            raw = module.simulate(*args)
            if i >= 2:
                walls[label].append(raw["wall_s"])
            outputs[label] = _outputs(raw)
    ratios = [c / b for c, b in zip(walls["candidate"], walls["base"])]
    return {"workload": "-".join(map(str, sizes)) + f"/{mesh[0] * mesh[1]}c", "steps": steps, "calls": calls,
            "base_median_s": statistics.median(walls["base"]),
            "candidate_median_s": statistics.median(walls["candidate"]),
            "ratio_median": statistics.median(ratios), "ratio_q1": float(np.percentile(ratios, 25)),
            "ratio_q3": float(np.percentile(ratios, 75)), "identical": outputs["base"] == outputs["candidate"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", type=Path, help="the extension build to compare against")
    p.add_argument("candidate", type=Path, help="the extension build under test")
    p.add_argument("--calls", type=int, default=40, help="timed calls per build and point (default 40)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "engine_ab.json")
    args = p.parse_args(argv)
    for path in (args.base, args.candidate):
        if not path.is_file():
            raise SystemExit(f"no such build: {path}")
    builds = {"base": load_build("base", args.base), "candidate": load_build("candidate", args.candidate)}
    load_start = os.getloadavg()
    rows = [compare_point(builds, sizes, mesh, steps, max(3, round(args.calls * share)))
            for sizes, mesh, steps, share in POINTS]
    print(f"{'workload':22s} {'T':>4s} {'calls':>5s} {'base ms':>9s} {'cand. ms':>9s} {'ratio':>6s} "
          f"{'(q1-q3)':>13s}  identical")
    for r in rows:
        print(f"{r['workload']:22s} {r['steps']:4d} {r['calls']:5d} {1e3 * r['base_median_s']:9.2f} "
              f"{1e3 * r['candidate_median_s']:9.2f} {r['ratio_median']:6.3f} "
              f"({r['ratio_q1']:.3f}-{r['ratio_q3']:.3f})  {'yes' if r['identical'] else 'NO'}")
    load_end = os.getloadavg()
    print(f"ratio = candidate / base wall_s, call by call (median, quartiles); load average {load_start[0]:.2f} "
          f"-> {load_end[0]:.2f} on {os.cpu_count()} CPUs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": "python benchmarks/engine_ab.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "base": str(args.base), "candidate": str(args.candidate), "rows": rows,
        "load_average_start": load_start, "load_average_end": load_end,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
    }, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
