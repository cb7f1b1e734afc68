"""`ancoef simulate`: run a workload on TrueAsync, print a summary, optionally beside SANA-FE.

    ancoef simulate --workload builtin:conv
    ancoef simulate --workload builtin:conv --sim-endpoint 127.0.0.1:50051          # on `ancoef serve sim`
    ancoef simulate --trainer-endpoint 127.0.0.1:50052 --training-id train-0123456789ab --samples 100 \
        --json runs/trained.json        # a trained network on its test inputs, with its on-chip accuracy
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import trueasync as ta
from services import nir_options
from services.options import positive_int
from trueasync.workload import Workload, generate_conv, generate_mlp, load_workload

# Built-in workloads: a fresh machine can run `ancoef simulate` with no files at all.
BUILTINS = {
    "mlp": lambda: generate_mlp((784, 512, 256, 10), timesteps=100, rate=0.1, samples=4, seed=0),
    "mlp-small": lambda: generate_mlp((784, 128, 64, 10), timesteps=50, rate=0.1, samples=4, seed=0),
    "conv": lambda: generate_conv(samples=4, seed=0),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a workload on the TrueAsync chip simulator",
        description="Simulate a workload (PREFIX.json + PREFIX.npz, or builtin:NAME with NAME in "
        f"{', '.join(BUILTINS)}, or SANA-FE's own architecture and network YAML files) and print "
        "energy, latency, EDP, area and event counts. With --trainer-endpoint and --training-id: the "
        "network of a succeeded TrainerService training on a split's input spikes (TrainerService.ExportNetwork), "
        "with the on-chip accuracy against the split's labels.",
    )
    p.add_argument("--workload", help="workload prefix, or builtin:NAME (or --nir, or --sanafe-arch/--sanafe-net)")
    sf = p.add_argument_group("SANA-FE files (instead of --workload; always sanafe semantics, docs/sanafe.md)")
    sf.add_argument("--sanafe-arch", metavar="ARCH.yaml", help="SANA-FE architecture file")
    sf.add_argument("--sanafe-net", metavar="NET.yaml", help="SANA-FE (mapped) network file")
    sf.add_argument("--steps", type=positive_int, help="time steps to run (default: the longest input spike train)")
    p.add_argument("--semantics", choices=("timestep", "sanafe"), default="timestep")
    p.add_argument(
        "--preset",
        default=None,
        help=f"cost preset ({_preset_list()}) or preset JSON file; "
        "default: the workload's own per-event costs",
    )
    p.add_argument("--threads", type=int, default=None, help="worker threads (results do not depend on it)")
    p.add_argument(
        "--schedule",
        choices=ta.model.SCHEDULES,
        default="asynchronous",
        help="asynchronous (self-timed, default) or clocked (a global barrier per time step)",
    )
    p.add_argument(
        "--compare-schedules",
        action="store_true",
        help="also run the other schedule on the same chip and print both side by side",
    )
    p.add_argument("--samples", type=int, default=None, help="simulate only the first N samples")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="write a PNG: energy per unit kind, and dynamic energy and utilisation of every core on the mesh",
    )
    p.add_argument("--sim-endpoint", metavar="HOST:PORT",
                   help="simulate on a SimulatorService (`ancoef serve sim`) instead of in-process")
    tr = p.add_argument_group("a trained network (instead of --workload; docs/services.md)")
    tr.add_argument("--trainer-endpoint", metavar="HOST:PORT",
                    help="the TrainerService (`ancoef serve trainer`) that ran --training-id")
    tr.add_argument("--training-id", metavar="OP_ID",
                    help="a SUCCEEDED training operation: simulate its network on --split's input spikes (--samples N: "
                    "the trainer's class-balanced N) on the export's packed architecture, and report the on-chip "
                    "accuracy")
    tr.add_argument("--split", choices=("test", "train"), default=None, help="the split exported (default test)")
    p.add_argument("--sanafe", action="store_true", help="also run SANA-FE on the same input and compare")
    p.add_argument("--export-sanafe", metavar="DIR", help="write SANA-FE arch/network files of the workload")
    nir_options.add_arguments(p)
    p.set_defaults(func=run)


def _preset_list() -> str:
    try:  # the names come from the engine; `ancoef --help` works without it
        return ", ".join(ta.preset_names())
    except ImportError:
        return "the engine's presets: trueasync.preset_names()"


def load(spec: str) -> Workload:
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        if name not in BUILTINS:
            raise ValueError(f"unknown built-in workload '{name}'; choose one of {', '.join(BUILTINS)}")
        return BUILTINS[name]()
    return load_workload(spec)


def load_input(args: argparse.Namespace):
    """(workload, its name in reports, the SanafeImport when it came from SANA-FE's files)."""
    nir = getattr(args, "nir", None)
    trained = _trained_source(args)
    if trained:
        if args.workload is not None or nir is not None or args.sanafe_arch or args.sanafe_net or args.steps:
            raise ValueError("--training-id is a source of its own: give no --workload, --nir, --sanafe-arch, "
                             "--sanafe-net or --steps with it")
        endpoint, op_id, split = trained
        from services.training_source import fetch_workload

        return fetch_workload(endpoint, op_id, split, args.samples or 0), f"{op_id} ({split} split)", None
    if args.sanafe_arch is None and args.sanafe_net is None:
        if (args.workload is None) == (nir is None):
            raise ValueError("give exactly one of --workload PREFIX, --nir FILE, or --sanafe-arch and --sanafe-net "
                             "(or --trainer-endpoint with --training-id)")
        if args.steps is not None:
            raise ValueError("--steps applies to SANA-FE files (--sanafe-arch/--sanafe-net) only")
        if nir is not None:
            return nir_options.workload(args), nir, None
        return load(args.workload), args.workload, None
    if args.workload is not None or nir is not None or args.sanafe_arch is None or args.sanafe_net is None:
        raise ValueError("SANA-FE input needs both --sanafe-arch and --sanafe-net, and no --workload")
    from trueasync.sanafe_yaml import load_sanafe_yaml

    imported = load_sanafe_yaml(args.sanafe_arch, args.sanafe_net, steps=args.steps)
    for note in imported.notes:
        print(f"SANA-FE import: {note}")
    return imported.workload, f"{args.sanafe_arch} + {args.sanafe_net}", imported


def _trained_source(args: argparse.Namespace):
    """(endpoint, operation id, split) of --trainer-endpoint/--training-id/--split, or None."""
    endpoint, op_id, split = (getattr(args, k, None) for k in ("trainer_endpoint", "training_id", "split"))
    if endpoint is None and op_id is None and split is None:
        return None
    if endpoint is None or op_id is None:
        raise ValueError("--trainer-endpoint and --training-id go together: the TrainerService and its SUCCEEDED "
                         "training operation" + (" (--split needs them)" if split is not None else ""))
    return endpoint, op_id, split or "test"


def run(args: argparse.Namespace) -> int:
    if args.samples is not None and args.samples < 1:
        raise ValueError(f"--samples must be at least 1, got {args.samples}")
    wl, name, imported = load_input(args)
    semantics = "sanafe" if imported is not None else args.semantics
    inputs = wl.inputs
    if args.samples is not None:
        inputs = inputs[: args.samples]
    preset = args.preset if args.preset is not None else wl.costs
    simulate = ta.simulate
    if args.sim_endpoint:
        from services.client import SimulatorClient

        simulate = SimulatorClient(args.sim_endpoint).simulate
    result = simulate(
        wl.network, wl.arch, inputs, semantics=semantics, preset=preset, core_of=wl.core_of, threads=args.threads,
        schedule=args.schedule,
    )
    print(summary(name, result))
    report = {"workload": name, "trueasync": result.to_json()}
    if _trained_source(args):
        report["training"] = trained_report(wl, result)
    if imported is not None:
        report["sanafe_import"] = {"steps": imported.steps, "weight_scale": wl.network.weight_scale,
                                   "notes": list(imported.notes)}
    if args.compare_schedules:
        other = "clocked" if args.schedule == "asynchronous" else "asynchronous"
        second = simulate(
            wl.network, wl.arch, inputs, semantics=semantics, preset=preset, core_of=wl.core_of,
            threads=args.threads, schedule=other,
        )
        report["schedules"] = compare_schedules({args.schedule: result, other: second})
    if args.sanafe:
        from trueasync.sanafe_yaml import run_sanafe_files

        # SANA-FE files are run as they are, not exported again from the import
        peer = (lambda: run_sanafe_files(args.sanafe_arch, args.sanafe_net, imported.steps)) if imported else None
        report["sanafe"] = compare_with_sanafe(wl, inputs, result, semantics, peer)
    if args.export_sanafe:
        from trueasync.sanafe_peer import write_sanafe_files

        written = write_sanafe_files(wl, args.export_sanafe, samples=len(inputs))
        print(
            f"SANA-FE files: {written['arch']} and {len(written['networks'])} network file(s) in "
            f"{args.export_sanafe}; run {written['timesteps']} steps (see docs/sanafe.md)"
        )
    if args.plot:
        plot(result, wl, args.plot, name)
        print(f"plot written to {args.plot}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))
        print(f"JSON written to {args.json}")
    return 0


def trained_report(wl: Workload, r: ta.SimResult) -> dict:
    """Where a trained network came from, and its on-chip accuracy on the exported labels (printed)."""
    m = wl.meta
    labels = m["labels"][: r.n_samples]
    accuracy = r.accuracy(labels)
    correct = int(round(accuracy * len(labels)))
    print(f"  on-chip accuracy    {accuracy:.4f} ({correct}/{len(labels)} {m['split']} samples of "
          f"{m['training_operation_id']} on {m['trainer_endpoint']}, {m['weight_bits']}-bit weights)")
    return {k: m[k] for k in ("trainer_endpoint", "training_operation_id", "split", "weight_bits")} | {
        "samples": len(labels), "labels": labels, "predicted_labels": r.predicted_labels().tolist(),
        "on_chip_accuracy_ratio": accuracy}


def summary(name: str, r: ta.SimResult) -> str:
    t = r.totals()
    lines = [
        f"TrueAsync · {name} · {r.n_samples} sample(s) · semantics={r.semantics} · preset={r.preset}",
        f"  energy per sample   {t['energy_j_mean']:.4e} J",
        f"  latency per sample  {t['latency_s_mean']:.4e} s  "
        f"(critical path {float(np.mean(r.critical_path_s)):.3e} s, serialised {float(np.mean(r.serial_time_s)):.3e} s, "
        f"quiescent after {float(np.mean(r.quiescent_s)):.3e} s)",
        f"  EDP per sample      {t['edp_js_mean']:.4e} J*s = {t['edp_snj_mean']:.4f} s*nJ",
        f"  area                {r.area_mm2:.3f} mm^2 (static power {r.static_power_w:.3e} W)",
        "  energy breakdown    "
        + ", ".join(f"{k} {float(v.sum()):.3e} J" for k, v in r.energy_breakdown_j.items()),
        "  counts              " + ", ".join(f"{k} {int(v.sum())}" for k, v in r.counts.items()),
        "  spikes per layer    "
        + ", ".join(f"{n} {int(c)}" for n, c in zip(r.layer_names, r.spikes_per_layer.sum(axis=0))),
        f"  wall time           {r.wall_s:.4f} s",
    ]
    return "\n".join(lines)


def compare_schedules(runs: dict) -> dict:
    """Asynchronous and clocked side by side: latency, energy (static over each one's own
    latency included), EDP and the ratio clocked / asynchronous; returns the figures."""
    a, c = runs["asynchronous"], runs["clocked"]
    if a.spikes_per_layer.tolist() != c.spikes_per_layer.tolist():  # pragma: no cover - engine bug
        raise RuntimeError("the two schedules computed different spikes; please report this workload")
    rows = {
        "latency_s": (float(a.latency_s.mean()), float(c.latency_s.mean())),
        "energy_j": (float(a.energy_j.mean()), float(c.energy_j.mean())),
        "static_energy_j": (float(a.energy_breakdown_j["static"].mean()), float(c.energy_breakdown_j["static"].mean())),
        "sync_energy_j": (float(a.energy_breakdown_j["sync"].mean()), float(c.energy_breakdown_j["sync"].mean())),
        "edp_js": (float(a.edp_js.mean()), float(c.edp_js.mean())),
        "edp_snj": (float(a.edp_snj.mean()), float(c.edp_snj.mean())),
    }
    print("schedules on the same chip (per sample, mean)   asynchronous       clocked   clocked/async")
    out = {}
    for name, (x, y) in rows.items():
        ratio = y / x if x else float("nan")
        out[name] = {"asynchronous": x, "clocked": y, "ratio_clocked_over_asynchronous": ratio}
        print(f"  {name:<44} {x:>12.4e} {y:>13.4e} {ratio:>14.3f}x")
    print(f"  barriers (all samples)                       {int(a.counts['barriers'].sum()):>12} "
          f"{int(c.counts['barriers'].sum()):>13}")
    out["functional_results_identical"] = True
    return out


def compare_with_sanafe(wl: Workload, inputs: np.ndarray, r: ta.SimResult, semantics: str, peer=None) -> dict:
    """SANA-FE's figures beside ours; `peer()` runs SANA-FE (default: on an export of `wl`)."""
    from dataclasses import replace

    from trueasync.sanafe_peer import COUNT_NAMES, run_sanafe

    start = time.perf_counter()
    sf = peer() if peer is not None else run_sanafe(replace(wl, inputs=inputs))
    wall = time.perf_counter() - start
    rows = {}
    print(f"SANA-FE ({sf['timing_model']}) beside TrueAsync ({semantics} semantics):")
    for theirs, ours in COUNT_NAMES:
        a, b = int(r.counts[ours].sum()), int(sf["totals"][theirs])
        rows[ours] = {"trueasync": a, "sanafe": b, "equal": a == b}
        print(f"  {ours:<15} {a:>12} {b:>12} {'=' if a == b else 'DIFFERENT'}")
    e_ours, e_sf = float(r.dynamic_energy_j.sum()), float(sf["totals"]["energy"])
    rows["dynamic_energy_j"] = {"trueasync": e_ours, "sanafe": e_sf, "rel_diff": abs(e_ours - e_sf) / max(e_sf, 1e-300)}
    rows["latency_s_mean"] = {"trueasync": float(r.latency_s.mean()), "sanafe": float(sf["totals"]["latency_mean"])}
    rows["wall_s"] = {"trueasync": r.wall_s, "sanafe": wall}
    print(f"  dynamic energy  {e_ours:.6e} {e_sf:.6e} J")
    print(f"  latency/sample  {float(r.latency_s.mean()):.4e} {sf['totals']['latency_mean']:.4e} s")
    print(f"  wall time       {r.wall_s:.4f} {wall:.4f} s")
    if semantics != "sanafe":
        print("  (counts agree only in sanafe semantics; use --semantics sanafe to compare exactly)")
    return rows


def plot(r: ta.SimResult, wl: Workload, path: str, title: str) -> None:
    """Energy breakdown (bar) and per-core dynamic energy and utilisation laid out on the mesh."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arch = wl.arch
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    units = list(r.energy_breakdown_j)
    axes[0].bar(units, [float(r.energy_breakdown_j[u].mean()) for u in units], color="tab:blue")
    axes[0].set_ylabel("energy per sample (J)")
    axes[0].set_title("energy by unit kind")
    for ax, values, label in (
        (axes[1], r.core_dynamic_energy_j.mean(axis=0), "dynamic energy per core (J)"),
        (axes[2], r.core_utilisation.mean(axis=0), "utilisation per core"),
    ):
        grid = _mesh_grid(values, arch)
        image = ax.imshow(grid.T, origin="lower", cmap="viridis")
        ax.set_xlabel("tile x")
        ax.set_ylabel("tile y")
        ax.set_title(label + (f" (sum of {arch.cores_per_tile} per tile)" if arch.cores_per_tile > 1 else ""))
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(f"TrueAsync: {title} ({r.semantics} semantics, preset {r.preset})")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mesh_grid(per_core: np.ndarray, arch: ta.Architecture) -> np.ndarray:
    """Per-core values summed per tile, as [x, y] (tile t at x = t // height, y = t % height)."""
    per_tile = per_core.reshape(arch.mesh_width * arch.mesh_height, arch.cores_per_tile).sum(axis=1)
    return per_tile.reshape(arch.mesh_width, arch.mesh_height)
