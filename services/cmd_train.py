"""`ancoef train` and `ancoef evaluate`: train a hardware-mappable SNN, export it, check it.

    ancoef train --dataset digits-dvs --out runs/d1 --seed 0 --epochs 4 --weight-bits 4
    ancoef evaluate --checkpoint runs/d1 --dataset digits-dvs --on-chip --json eval.json

`train` writes into `--out`: `checkpoint.pt` (supernet + folded sub-network weights and
configs), `network.json` / `network.npz` (the exported integer network with the validation
input spikes, neutral workload format of `trueasync.workload`), `network.nir` (NIR graph) and
`metrics.json`. See docs/trainer.md.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from services.options import nonneg_float, positive_float, positive_int

CHECKPOINT = "checkpoint.pt"


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train, quantise and export a hardware-mappable SNN",
                              description="Train an SNN sub-network of the supernet on a dataset, "
                              "fold its normalisation, fine-tune it quantisation-aware and export "
                              "it as an integer TrueAsync network.")
    p.add_argument("--dataset", default="digits-dvs", help="dataset name (default: digits-dvs)")
    p.add_argument("--data-root", default=None, help="dataset folder (not needed for digits-dvs)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=positive_float, default=4.0, help="float training epochs")
    p.add_argument("--qat-epochs", type=nonneg_float, default=1.0,
                   help="quantisation-aware fine-tuning epochs (0: quantise only)")
    p.add_argument("--search-epochs", type=nonneg_float, default=0.0,
                   help="epochs of weight-sharing supernet training before the sub-network")
    p.add_argument("--weight-bits", type=int, default=4, choices=(2, 3, 4, 5, 6, 7, 8))
    p.add_argument("--timesteps", type=positive_int, default=8)
    p.add_argument("--tau", type=float, default=2.0, help="LIF tau: 2, 4 or 8 (leak 1-1/tau)")
    p.add_argument("--ops", default="conv3,conv3,skip",
                   help="op per block, comma-separated (conv3, conv5, skip; default "
                   "conv3,conv3,skip)")
    p.add_argument("--widths", default="16,32,32", help="channels per block (default 16,32,32)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=positive_float, default=2e-3)
    p.add_argument("--limit", type=positive_int, default=None, help="at most N train samples")
    p.add_argument("--budget-s", type=positive_float, default=None,
                   help="stop float training after this many seconds")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--downsample", type=positive_int, default=1, help="spatial pooling factor")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    e = subparsers.add_parser("evaluate", help="evaluate a trained SNN (fixed point, on chip)",
                              description="Evaluate the exported network of `ancoef train` with "
                              "the trainer's fixed-point arithmetic and, with --on-chip, on the "
                              "TrueAsync simulator, comparing the output spike counts.")
    e.add_argument("--checkpoint", required=True, help="the --out folder of `ancoef train`")
    e.add_argument("--dataset", default=None, help="dataset (default: the training dataset)")
    e.add_argument("--data-root", default=None)
    e.add_argument("--split", default="test", help="split to evaluate (default: test)")
    e.add_argument("--limit", type=positive_int, default=None, help="at most N samples")
    e.add_argument("--on-chip", action="store_true",
                   help="also run trueasync.simulate and compare output spike counts")
    e.add_argument("--threads", type=positive_int, default=None)
    e.add_argument("--json", default=None, help="write the results to this JSON file")
    e.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train)
    e.set_defaults(func=cmd_evaluate)


def _blocks(ops_text: str, widths_text: str):
    ops = tuple(o.strip() for o in ops_text.split(",") if o.strip())
    try:
        widths = tuple(int(w) for w in widths_text.split(",") if w.strip())
    except ValueError:
        raise ValueError(f"--widths must be comma-separated integers, got {widths_text!r}") from None
    if len(ops) != len(widths) or not ops:
        raise ValueError(f"--ops and --widths need the same number of blocks ({len(ops)} vs "
                         f"{len(widths)})")
    for o in ops:
        if o not in ("conv3", "conv5", "skip"):
            raise ValueError(f"--ops: unknown op {o!r}; choose conv3, conv5 or skip")
    if ops[0] == "skip":
        raise ValueError("--ops: the first block cannot be skip")
    if any(w < 1 for w in widths):
        raise ValueError("--widths must be positive")
    return ops, widths


def _space_and_config(ops, widths, timesteps, tau):
    from trainer.snn import leak_fraction
    from trainer.supernet import BlockSpec, SearchSpace, SubnetConfig

    leak_fraction(tau)
    blocks, seen_s1 = [], 0
    for i, (op, w) in enumerate(zip(ops, widths)):
        stride = 2 if i < 2 else 1  # two downsampling blocks, then stride-1 blocks
        allowed = ("conv3", "conv5") if stride == 2 else ("conv3", "conv5", "skip")
        if op not in allowed:
            raise ValueError(f"--ops: block {i} has stride {stride} and cannot be {op!r}")
        blocks.append(BlockSpec(stride=stride, ops=allowed,
                                widths=tuple(sorted({w, max(1, w // 2)}))))
    tchoices = tuple(sorted({timesteps} | ({timesteps // 2} if timesteps % 2 == 0 else set())))
    taus = tuple(sorted({float(tau), 2.0, 4.0}))
    space = SearchSpace(blocks=tuple(blocks), timesteps=tchoices, taus=taus)
    cfg = SubnetConfig(ops=ops, widths=widths, timesteps=timesteps, tau=float(tau))
    space.validate(cfg)
    return space, cfg


def _load(dataset, root, split, timesteps, limit=None, downsample=1):
    from trainer.datasets import load_frames

    return load_frames(dataset, root, split, timesteps, limit=limit, downsample=downsample)


def cmd_train(args, on_step=None) -> int:
    """`on_step`: a `trainer.train.StepReport` callback (the trainer service watches with it)."""
    import torch

    from trainer import fixedpoint
    from trainer.export import export_inputs, export_network, save_workload
    from trainer.nir_io import write_nir
    from trainer.train import run_training

    ops, widths = _blocks(args.ops, args.widths)
    space, cfg = _space_and_config(ops, widths, args.timesteps, args.tau)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    progress = not args.no_progress
    t0 = time.perf_counter()
    train = _load(args.dataset, args.data_root, "train", args.timesteps, args.limit,
                  args.downsample)
    val = _load(args.dataset, args.data_root, "test", args.timesteps, None, args.downsample)
    result = run_training(train.frames, train.labels, val.frames, val.labels, train.n_classes,
                          space=space, config=cfg, search_epochs=args.search_epochs,
                          epochs=args.epochs, qat_epochs=args.qat_epochs, bits=args.weight_bits,
                          batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          threads=args.threads, budget_s=args.budget_s, progress=progress,
                          on_step=on_step)
    network, meta = export_network(result.folded, args.weight_bits, name=f"{train.name}-snn")
    inputs = export_inputs(val.frames, cfg.timesteps)
    fp = fixedpoint.run(network, inputs, progress=progress)
    m = result.metrics
    m["fixed_point_val_accuracy"] = fp.accuracy(val.labels)
    m["dataset"] = train.name
    m["timesteps"] = cfg.timesteps
    m["total_seconds"] = time.perf_counter() - t0
    m["n_neurons"] = network.n_neurons
    m["export"] = meta
    out.mkdir(parents=True, exist_ok=True)
    torch.save({
        "format": "ancoef-snn-checkpoint", "version": 1,
        "dataset": train.name, "data_root": args.data_root, "downsample": args.downsample,
        "n_classes": train.n_classes, "bits": args.weight_bits,
        "space": space.to_dict(), "config": cfg.to_dict(),
        "supernet_state": result.supernet.state_dict(),
        "folded": result.folded.to_state(),
    }, out / CHECKPOINT)
    paths = save_workload(network, inputs, out / "network", meta)
    write_nir(network, out / "network.nir", meta["layer_scales"])
    (out / "metrics.json").write_text(json.dumps(m, indent=1) + "\n")
    print(f"dataset {train.name}: float val accuracy {m['float_val_accuracy']:.4f}, "
          f"{args.weight_bits}-bit {m['quant_val_accuracy']:.4f}, fixed point "
          f"{m['fixed_point_val_accuracy']:.4f} ({m['total_seconds']:.1f} s)")
    print(f"wrote {out / CHECKPOINT}, {', '.join(paths)}, {out / 'network.nir'}, "
          f"{out / 'metrics.json'}")
    return 0


def load_checkpoint(folder):
    import torch

    from trainer.folded import FoldedSNN

    path = Path(folder)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path} (give the --out folder of ancoef train)")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or ck.get("format") != "ancoef-snn-checkpoint":
        raise ValueError(f"{path} is not an ancoef train checkpoint")
    return ck, FoldedSNN.from_state(ck["folded"])


@dataclass
class SplitExport:
    """A trained checkpoint's network with a split's input spikes (what `evaluate` checks)."""

    network: object  # trueasync.Network
    meta: dict
    inputs: object  # bool [sample, step, input neuron]
    labels: object  # int64 [sample]
    frames: object  # the split's frames [N, T, C, H, W]
    folded: object  # trainer.folded.FoldedSNN
    bits: int
    dataset: str


def export_split(checkpoint, dataset=None, data_root=None, split="test", limit=None) -> SplitExport:
    import numpy as np

    from trainer.export import export_inputs, export_network

    ck, folded = load_checkpoint(checkpoint)
    bits = int(ck["bits"])
    dataset = dataset or ck["dataset"]
    root = data_root if data_root is not None else ck.get("data_root")
    fs = _load(dataset, root, split, folded.timesteps, limit, ck.get("downsample", 1))
    if tuple(fs.frames.shape[2:]) != tuple(folded.in_shape):
        raise ValueError(f"dataset {dataset} frames have shape {tuple(fs.frames.shape[2:])} "
                         f"(C,H,W) but the network expects {tuple(folded.in_shape)}")
    network, meta = export_network(folded, bits, name=f"{fs.name}-snn")
    inputs = export_inputs(fs.frames, folded.timesteps)
    return SplitExport(network, meta, inputs, np.asarray(fs.labels), fs.frames, folded, bits, fs.name)


def evaluate_split(ex: SplitExport, split: str, progress: bool = False) -> tuple[dict, object]:
    """Fixed-point and quantised-model accuracy of an export; (figures, fixed-point result)."""
    import numpy as np

    from trainer import fixedpoint
    from trainer.train import folded_accuracy

    t0 = time.perf_counter()
    fp = fixedpoint.run(ex.network, ex.inputs, progress=progress)
    fp_s = time.perf_counter() - t0
    qacc, qcounts = folded_accuracy(ex.folded, ex.frames, ex.labels, ex.bits)
    return {
        "dataset": ex.dataset, "split": split, "samples": int(len(ex.labels)), "bits": ex.bits,
        "timesteps": ex.folded.timesteps,
        "fixed_point_accuracy": fp.accuracy(ex.labels),
        "quantised_model_accuracy": qacc,
        "quantised_model_counts_equal_fixed_point": bool(np.array_equal(qcounts,
                                                                        fp.output_spike_counts)),
        "fixed_point_seconds": fp_s,
    }, fp


def cmd_evaluate(args) -> int:
    import numpy as np
    import torch

    from trainer.export import default_architecture

    if args.threads:
        torch.set_num_threads(args.threads)
    ex = export_split(args.checkpoint, args.dataset, args.data_root, args.split, args.limit)
    network, inputs, labels = ex.network, ex.inputs, ex.labels
    res, fp = evaluate_split(ex, args.split, progress=not args.no_progress)
    if args.on_chip:
        import trueasync as ta

        try:
            import trueasync._core  # noqa: F401
        except ImportError:
            raise ValueError("--on-chip needs the TrueAsync engine (trueasync._core); build it "
                             "with `pip install -e .`") from None
        arch = default_architecture(network)
        t1 = time.perf_counter()
        sim = ta.simulate(network, arch, inputs, semantics="timestep")
        counts = np.asarray(sim.output_spike_counts)
        same = np.all(counts == fp.output_spike_counts, axis=1)
        res.update({
            "on_chip_accuracy": float((sim.predicted_labels() == labels).mean()),
            "on_chip_counts_equal_fixed_point": bool(same.all()),
            "on_chip_samples_matching": int(same.sum()),
            "on_chip_seconds": time.perf_counter() - t1,
            "on_chip_energy_j_mean": float(np.mean(sim.energy_j)),
            "on_chip_latency_s_mean": float(np.mean(sim.latency_s)),
            "architecture": {"mesh_width": arch.mesh_width, "mesh_height": arch.mesh_height,
                             "neurons_per_core": arch.neurons_per_core},
        })
    for k, v in res.items():
        print(f"{k:45s} {v}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    if args.on_chip and not res["on_chip_counts_equal_fixed_point"]:
        print("ancoef evaluate: on-chip output spike counts differ from the fixed-point model",
              file=sys.stderr)
        return 1
    return 0
