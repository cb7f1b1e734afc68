"""Fingerprints of every per-sample output of `trueasync.simulate` on sim_vs_sanafe's networks.

    python benchmarks/sim_fingerprints.py > before.txt     # on the commit before a change
    python benchmarks/sim_fingerprints.py > after.txt      # after it
    diff before.txt after.txt                              # must be empty

The Python-side companion of `cargo run --release --example bench_timing` (sim-rs/engine): the
same seeded MLP workloads as `benchmarks/sim_vs_sanafe.py` (784-128-64-10, 784-512-256-10,
784-2048-1024-10), two samples each, in both semantics and both schedules, with the timeline and
the spike trace on where they fit. Each line is a SHA-256 over every per-sample array of the
result (energies, latencies, quiescent and serial times, critical paths, utilisation, per-core
energies, counts, output counts, spikes per layer, spike trace, timeline). A speed change of the
engine must leave every line unchanged. Takes a few seconds; deterministic, so load does not
matter.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import trueasync  # noqa: E402
from trueasync.workload import generate_mlp  # noqa: E402

NETS = {
    "784-128-64-10/16c": ((784, 128, 64, 10), (4, 4)),
    "784-512-256-10/16c": ((784, 512, 256, 10), (4, 4)),
    "784-2048-1024-10/64c": ((784, 2048, 1024, 10), (8, 8)),
}
CASES = [  # (network, T, semantics, schedule, timeline)
    ("784-128-64-10/16c", 50, "sanafe", "asynchronous", True),
    ("784-128-64-10/16c", 100, "sanafe", "asynchronous", False),
    ("784-128-64-10/16c", 100, "timestep", "asynchronous", True),
    ("784-128-64-10/16c", 100, "timestep", "clocked", False),
    ("784-512-256-10/16c", 50, "sanafe", "asynchronous", True),
    ("784-512-256-10/16c", 100, "timestep", "asynchronous", False),
    ("784-2048-1024-10/64c", 50, "sanafe", "asynchronous", False),
]
ARRAYS = ("energy_j", "latency_s", "quiescent_s", "core_utilisation", "core_dynamic_energy_j",
          "critical_path_s", "serial_time_s", "output_spike_counts")


def fingerprint(r) -> str:
    h = hashlib.sha256()
    for k in ARRAYS:
        h.update(np.ascontiguousarray(getattr(r, k)).tobytes())
    for group in (r.counts, r.energy_breakdown_j):
        for k, v in sorted(group.items()):
            h.update(k.encode())
            h.update(np.ascontiguousarray(v).tobytes())
    for v in r.spikes_per_layer:
        h.update(np.ascontiguousarray(v).tobytes())
    for v in r.spike_trace or []:
        h.update(np.ascontiguousarray(v).tobytes())
    if r.timeline is not None:
        h.update(r.timeline.tobytes())
    return h.hexdigest()[:24]


def main() -> int:
    for net, T, semantics, schedule, timeline in CASES:
        sizes, mesh = NETS[net]
        wl = generate_mlp(sizes, timesteps=T, rate=0.1, mesh=mesh, seed=0, samples=2)
        r = trueasync.simulate(wl.network, wl.arch, wl.inputs, semantics=semantics,
                               preset=wl.costs, core_of=wl.core_of, threads=1,
                               timeline=timeline, schedule=schedule, trace=True)
        print(f"{net:<22} T={T:<4} {semantics:<9} {schedule:<13} "
              f"{'timeline' if timeline else '-':<8} {fingerprint(r)} "
              f"latency={float(np.mean(r.latency_s)):.9e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
