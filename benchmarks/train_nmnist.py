"""Train a hardware-mappable SNN on nmnist-small (fixed 800/200 split) and on digits-dvs.

    python benchmarks/train_nmnist.py [--data-root ../shared/data/nmnist-small] [--json out.json]

Targets: >= 90 % validation accuracy within 10 minutes on 2 CPU cores; the 4-bit quantised
(fixed-point, exported) network within 2 points of the float one. Prints a table, writes JSON.
The nmnist-small part is skipped, with the reason, when the data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_NMNIST = ROOT.parent / "shared" / "data" / "nmnist-small"


def run_one(name, root, *, ops, widths, timesteps, tau, epochs, qat_epochs, bits, seed,
            threads, budget_s):
    import numpy as np

    from trainer import fixedpoint
    from trainer.datasets import load_frames
    from trainer.export import export_inputs, export_network
    from trainer.supernet import BlockSpec, SearchSpace, SubnetConfig
    from trainer.train import run_training

    t0 = time.perf_counter()
    tr = load_frames(name, root, "train", timesteps)
    va = load_frames(name, root, "test", timesteps)
    space = SearchSpace(blocks=(BlockSpec(2, ("conv3", "conv5"), (8, 16)),
                                BlockSpec(2, ("conv3", "conv5"), (16, 32)),
                                BlockSpec(1, ("conv3", "conv5", "skip"), (16, 32))),
                        timesteps=(timesteps,), taus=(2.0, 4.0))
    cfg = SubnetConfig(ops=ops, widths=widths, timesteps=timesteps, tau=tau)
    res = run_training(tr.frames, tr.labels, va.frames, va.labels, tr.n_classes, space=space,
                       config=cfg, epochs=epochs, qat_epochs=qat_epochs, bits=bits, seed=seed,
                       threads=threads, budget_s=budget_s, progress=True)
    network, meta = export_network(res.folded, bits)
    fp = fixedpoint.run(network, export_inputs(va.frames, timesteps))
    m = res.metrics
    return {
        "dataset": tr.name, "n_train": int(len(tr.labels)), "n_val": int(len(va.labels)),
        "config": cfg.to_dict(), "bits": bits, "epochs_done": m["train_epochs_done"],
        "float_val_accuracy": m["float_val_accuracy"],
        "quant_val_accuracy": m["quant_val_accuracy"],
        "fixed_point_val_accuracy": fp.accuracy(va.labels),
        "train_seconds": m["train_seconds"], "qat_seconds": m["qat_seconds"],
        "total_seconds": time.perf_counter() - t0, "n_neurons": network.n_neurons,
        "output_spikes_per_sample": float(fp.output_spike_counts.sum(1).mean()),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=str(DEFAULT_NMNIST))
    ap.add_argument("--epochs", type=float, default=20)
    ap.add_argument("--qat-epochs", type=float, default=3)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=480.0, help="float training time cap")
    ap.add_argument("--skip-digits", action="store_true")
    ap.add_argument("--json", default="benchmarks/train_nmnist.json")
    args = ap.parse_args(argv)
    common = dict(ops=("conv5", "conv5", "conv3"), widths=(16, 32, 32), timesteps=8, tau=2.0,
                  qat_epochs=args.qat_epochs, bits=args.bits, seed=args.seed,
                  threads=args.threads, budget_s=args.budget_s)
    rows = []
    if Path(args.data_root).is_dir():
        rows.append(run_one("nmnist-small", args.data_root, epochs=args.epochs, **common))
    else:
        print(f"skipping nmnist-small: {args.data_root} does not exist")
    if not args.skip_digits:
        rows.append(run_one("digits-dvs", None, epochs=args.epochs, **common))
    print()
    print(f"{'dataset':14s} {'train/val':>9s} {'float':>7s} {f'{args.bits}-bit':>7s} "
          f"{'fixed-pt':>8s} {'gap':>6s} {'train s':>8s} {'total s':>8s}")
    for r in rows:
        gap = 100 * (r["float_val_accuracy"] - r["fixed_point_val_accuracy"])
        r["float_minus_quant_points"] = gap
        r["meets_targets"] = bool(r["float_val_accuracy"] >= 0.9 and r["fixed_point_val_accuracy"]
                                  >= 0.9 and gap <= 2.0 and r["total_seconds"] <= 600)
        print(f"{r['dataset']:14s} {r['n_train']:>4d}/{r['n_val']:<4d} "
              f"{100 * r['float_val_accuracy']:6.1f}% {100 * r['quant_val_accuracy']:6.1f}% "
              f"{100 * r['fixed_point_val_accuracy']:7.1f}% {gap:+6.1f} "
              f"{r['train_seconds']:8.1f} {r['total_seconds']:8.1f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": rows},
                                              indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
