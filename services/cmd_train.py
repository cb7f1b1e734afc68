"""`ancoef train` and `ancoef evaluate`: train a hardware-mappable SNN, export it, check it.

    ancoef train --dataset nmnist-small --data-root ../shared/data --out runs/n1
    ancoef train --dataset cifar10 --data-root DIR --encoding direct --out runs/c1
    ancoef train --from-nir net.nir --dataset nmnist-small --data-root ../shared/data --out runs/i1
    ancoef evaluate --checkpoint runs/n1 --on-chip --json eval.json

`train` writes into `--out`: `checkpoint.pt` (supernet + folded sub-network weights and
configs), `network.json` / `network.npz` (the exported integer network with the validation
input spikes, neutral workload format of `trueasync.workload`), `network.nir` (NIR graph) and
`metrics.json`. The defaults are the measured path of docs/benchmarks.md (early stopping on a
validation split carved from the training split). See docs/trainer.md.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from services.options import nonneg_float, positive_float, positive_int

CHECKPOINT = "checkpoint.pt"
# the measured defaults (docs/benchmarks.md, benchmarks/train_nmnist.py runs exactly these)
DEFAULT_OPS, DEFAULT_WIDTHS = "conv5,conv5,conv3", "16,32,32"
DEFAULT_EPOCHS, DEFAULT_PATIENCE, DEFAULT_QAT_EPOCHS, DEFAULT_QAT_PATIENCE = 30.0, 5, 3.0, 2
DEFAULT_STOP_FRACTION = 0.1
DEFAULT_THREADS = 1
STREAM_ABOVE_BYTES = 1 << 30  # --data-loading auto streams splits whose dense frames exceed this


def _fraction(text: str) -> float:
    v = nonneg_float(text)
    if not v < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return v


def _pair(text: str) -> tuple[int, int]:
    import argparse

    try:
        w, h = (int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected W,H (two integers), got {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"W and H must be >= 1, got {text}")
    return w, h


def _add_data_options(p, *, train: bool) -> None:
    g = p.add_argument_group("data (Tonic's names for framing and augmentation)")
    g.add_argument("--encoding", default=None,
                   help="event data: binary (default) or count; static images: direct (default: "
                   "the analog image feeds the first layer, run as an off-chip encoder) or rate")
    g.add_argument("--time-window", type=positive_float, default=None,
                   help="frames of this many us (Tonic ToFrame time_window)")
    g.add_argument("--event-count", type=positive_int, default=None,
                   help="frames of this many events (Tonic ToFrame event_count)")
    g.add_argument("--n-time-bins", action="store_true",
                   help="Tonic's ToFrame(n_time_bins=timesteps) instead of the default bins")
    g.add_argument("--n-event-bins", action="store_true",
                   help="Tonic's ToFrame(n_event_bins=timesteps)")
    g.add_argument("--overlap", type=nonneg_float, default=0.0,
                   help="Tonic's overlap: us (time window), events (event count) or a fraction "
                   "of a bin (n bins)")
    g.add_argument("--include-incomplete", action="store_true",
                   help="Tonic's include_incomplete (time window / event count)")
    g.add_argument("--denoise", type=positive_float, default=None, metavar="FILTER_TIME_US",
                   help="Tonic's Denoise(filter_time) before framing")
    g.add_argument("--split-protocol", default=None,
                   help="train/test protocol where the dataset has none (cifar10-dvs: tebn "
                   "(default), spikingjelly, natural, random)")
    g.add_argument("--split-seed", type=int, default=0, help="seed of --split-protocol random")
    g.add_argument("--data-loading", choices=("auto", "memory", "stream"), default="auto",
                   help="memory: dense frames in RAM; stream: framed per batch from an on-disk "
                   "cache, memory bounded by the batch; auto: stream when the dense frames of a "
                   "split would exceed 1 GiB, for images, or with augmentation")
    g.add_argument("--cache", default=None, help="stream cache folder (default "
                   "$ANCOEF_CACHE/streams or ~/.cache/ancoef/streams)")
    if train:
        g.add_argument("--random-crop", type=_pair, default=None, metavar="W,H",
                       help="Tonic RandomCrop(target_size) in training, centre crop to evaluate")
        g.add_argument("--flip-lr", type=_fraction_or_one, default=0.0, metavar="P",
                       help="Tonic RandomFlipLR(p)")
        g.add_argument("--flip-ud", type=_fraction_or_one, default=0.0, metavar="P",
                       help="Tonic RandomFlipUD(p)")
        g.add_argument("--flip-polarity", type=_fraction_or_one, default=0.0, metavar="P",
                       help="Tonic RandomFlipPolarity(p)")
        g.add_argument("--event-drop", action="store_true", help="Tonic EventDrop")


def _fraction_or_one(text: str) -> float:
    import argparse

    v = nonneg_float(text)
    if v > 1:
        raise argparse.ArgumentTypeError(f"a probability must be in [0, 1], got {text}")
    return v


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train, quantise and export a hardware-mappable SNN",
                              description="Train an SNN sub-network of the supernet on a dataset, "
                              "fold its normalisation, fine-tune it quantisation-aware and export "
                              "it as an integer TrueAsync network. The defaults are the measured "
                              "path (docs/benchmarks.md).")
    p.add_argument("--dataset", default="digits-dvs", help="dataset name (default: digits-dvs)")
    p.add_argument("--data-root", default=None, help="dataset folder (not needed for digits-dvs)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=nonneg_float, default=DEFAULT_EPOCHS,
                   help=f"most float training epochs (default {DEFAULT_EPOCHS:g}; early stopping "
                   "usually ends sooner)")
    p.add_argument("--patience", type=int, default=DEFAULT_PATIENCE,
                   help=f"stop float training after this many epochs without a better "
                   f"early-stopping accuracy (default {DEFAULT_PATIENCE}; 0: run every epoch)")
    p.add_argument("--qat-epochs", type=nonneg_float, default=DEFAULT_QAT_EPOCHS,
                   help=f"most quantisation-aware fine-tuning epochs (default "
                   f"{DEFAULT_QAT_EPOCHS:g}; 0: quantise only)")
    p.add_argument("--qat-patience", type=int, default=DEFAULT_QAT_PATIENCE,
                   help=f"early stopping of QAT (default {DEFAULT_QAT_PATIENCE}; 0: off)")
    p.add_argument("--stop-fraction", type=_fraction, default=DEFAULT_STOP_FRACTION,
                   help="share of the training split carved off (stratified, seeded) to choose "
                   f"the epoch (default {DEFAULT_STOP_FRACTION:g}; 0: no early stopping)")
    p.add_argument("--search-epochs", type=nonneg_float, default=0.0,
                   help="epochs of weight-sharing supernet training before the sub-network")
    p.add_argument("--weight-bits", type=int, default=4, choices=(2, 3, 4, 5, 6, 7, 8))
    p.add_argument("--timesteps", type=positive_int, default=8)
    p.add_argument("--tau", type=float, default=2.0, help="LIF tau: 2, 4 or 8 (leak 1-1/tau)")
    p.add_argument("--ops", default=DEFAULT_OPS,
                   help=f"op per block, comma-separated (conv3, conv5, skip; default {DEFAULT_OPS})")
    p.add_argument("--widths", default=DEFAULT_WIDTHS,
                   help=f"channels per block (default {DEFAULT_WIDTHS})")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=positive_float, default=2e-3)
    p.add_argument("--limit", type=positive_int, default=None, help="at most N train samples")
    p.add_argument("--budget-s", type=positive_float, default=None,
                   help="stop float training after this many seconds")
    p.add_argument("--threads", type=positive_int, default=DEFAULT_THREADS,
                   help=f"torch CPU threads (default {DEFAULT_THREADS}: these networks are small, "
                   "and two OpenMP threads on a 2-core machine with any other busy process ran "
                   "many times slower; results depend on the thread count)")
    p.add_argument("--downsample", type=positive_int, default=1, help="spatial pooling factor")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                   help="mixed precision in the float phases (auto: on for CUDA); QAT and "
                   "export stay float32, so the exported integers are exact either way")
    p.add_argument("--from-nir", default=None, metavar="FILE",
                   help="start from the network of this NIR graph (snnTorch, SpikingJelly, "
                   "ANCoEF) instead of the supernet: fine-tune it and export it")
    p.add_argument("--nir-dt", type=positive_float, default=None,
                   help="time step of the NIR graph in seconds (default: its metadata, else "
                   "1e-4 as snnTorch and SpikingJelly write)")
    p.add_argument("--export-samples", type=positive_int, default=256,
                   help="validation samples whose input spikes go into network.npz (default 256)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_data_options(p, train=True)
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
    blocks = []
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


def data_options(args, timesteps: int) -> dict:
    """The framing / denoising / protocol keyword arguments of load_frames and open_stream."""
    from trainer.datasets import Framing

    fr = dict(overlap=float(getattr(args, "overlap", 0.0) or 0.0),
              include_incomplete=bool(getattr(args, "include_incomplete", False)))
    if getattr(args, "time_window", None) is not None:
        fr["time_window"] = float(args.time_window)
    if getattr(args, "event_count", None) is not None:
        fr["event_count"] = int(args.event_count)
    if getattr(args, "n_time_bins", False):
        fr["n_time_bins"] = int(timesteps)
    if getattr(args, "n_event_bins", False):
        fr["n_event_bins"] = int(timesteps)
    return {"framing": Framing(**fr), "denoise": getattr(args, "denoise", None),
            "split_protocol": getattr(args, "split_protocol", None),
            "split_seed": int(getattr(args, "split_seed", 0) or 0)}


def _augment(args):
    from trainer.datasets import Augment

    aug = Augment(random_crop=getattr(args, "random_crop", None),
                  flip_lr=getattr(args, "flip_lr", 0.0), flip_ud=getattr(args, "flip_ud", 0.0),
                  flip_polarity=getattr(args, "flip_polarity", 0.0),
                  event_drop=bool(getattr(args, "event_drop", False)))
    return aug if aug.is_random else None


def _use_stream(mode, dataset, root, split, timesteps, limit, downsample, opts, augment) -> bool:
    from trainer.data import dense_bytes
    from trainer.datasets import dataset_kind, frame_shape, index_events

    if mode != "auto":
        return mode == "stream"
    if augment is not None or dataset_kind(dataset) == "images":
        return True
    index = index_events(dataset, root, split, limit=limit, split_protocol=opts["split_protocol"],
                         split_seed=opts["split_seed"])
    shape = frame_shape(index.sensor_size, timesteps, downsample)
    return dense_bytes(len(index), shape) > STREAM_ABOVE_BYTES


def load_split(dataset, root, split, timesteps, *, limit=None, downsample=1, encoding=None,
               seed=0, opts=None, augment=None, mode="memory", cache=None):
    """A split as a FrameSet (memory) or a stream (see --data-loading)."""
    from trainer.datasets import load_frames, open_stream

    opts = opts or {}
    if _use_stream(mode, dataset, root, split, timesteps, limit, downsample, opts, augment):
        return open_stream(dataset, root, split, timesteps, encoding=encoding, limit=limit,
                           seed=seed, downsample=downsample, augment=augment, cache=cache,
                           **opts)
    if augment is not None:
        raise ValueError("augmentation (--random-crop, --flip-*, --event-drop) needs "
                         "--data-loading stream or auto")
    return load_frames(dataset, root, split, timesteps, encoding=encoding, limit=limit, seed=seed,
                       downsample=downsample, **opts)


def _frames(split):
    """Dense frames of a FrameSet, or the stream itself."""
    return split.frames if hasattr(split, "frames") else split


def _split_info(ds) -> dict:
    return {"split": ds.split, "samples": int(len(ds)), "split_protocol": ds.split_protocol,
            "encoding": ds.encoding, "sensor_size_whp": list(ds.sensor_size),
            "loading": "stream" if not hasattr(ds, "frames") else "memory",
            "skipped_files": len(ds.skipped)}


def cmd_train(args, on_step=None) -> int:
    """`on_step`: a `trainer.train.StepReport` callback (the trainer service watches with it)."""
    import numpy as np
    import torch

    from trainer import fixedpoint
    from trainer.data import take
    from trainer.datasets import stratified_split
    from trainer.device import amp_dtype, describe, resolve_device
    from trainer.encoder import encoder_from_meta
    from trainer.export import export_network, input_batches, save_workload
    from trainer.nir_io import write_nir
    from trainer.snn import input_mode_for
    from trainer.train import run_training

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    if args.patience < 0 or args.qat_patience < 0:
        raise ValueError("--patience and --qat-patience must be >= 0")
    device = resolve_device(args.device)
    amp = amp_dtype(device, args.amp)
    imported = None
    if args.from_nir:
        from trainer.nir_io import folded_from_nir

        imported = folded_from_nir(args.from_nir, timesteps=args.timesteps, dt=args.nir_dt,
                                   weight_bits=max(8, args.weight_bits))
        space = cfg = None
    else:
        ops, widths = _blocks(args.ops, args.widths)
        space, cfg = _space_and_config(ops, widths, args.timesteps, args.tau)
    progress = not args.no_progress
    t0 = time.perf_counter()
    opts = data_options(args, args.timesteps)
    augment = _augment(args)
    common = dict(downsample=args.downsample, encoding=args.encoding, seed=args.seed, opts=opts,
                  mode=args.data_loading, cache=args.cache)
    train = load_split(args.dataset, args.data_root, "train", args.timesteps, limit=args.limit,
                       augment=augment, **common)
    # with augmentation the validation stream keeps events too: evaluation sees the centre crop
    val = load_split(args.dataset, args.data_root, "test", args.timesteps, augment=augment,
                     **common)
    input_mode = input_mode_for(train.encoding)
    if imported is not None:
        imported.folded.input_mode = input_mode
        if tuple(imported.folded.in_shape) != tuple(train_shape(train)):
            raise ValueError(f"--from-nir {args.from_nir}: the graph's input is "
                             f"{tuple(imported.folded.in_shape)} (C, H, W) but {args.dataset} "
                             f"frames are {tuple(train_shape(train))}")
    stop, stop_labels = None, None
    n_stop = int(round(args.stop_fraction * len(train)))
    if n_stop > 0:
        fit_idx, stop_idx = stratified_split(train.labels, n_stop, seed=args.seed)
        fit, stop = take(_frames(train), fit_idx), take(_frames(train), stop_idx)
        fit_labels, stop_labels = train.labels[fit_idx], train.labels[stop_idx]
    else:
        fit, fit_labels = _frames(train), train.labels
    result = run_training(
        fit, fit_labels, _frames(val), val.labels, train.n_classes, space=space, config=cfg,
        search_epochs=args.search_epochs, epochs=args.epochs, qat_epochs=args.qat_epochs,
        bits=args.weight_bits, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        threads=args.threads, budget_s=args.budget_s, progress=progress, stop_frames=stop,
        stop_labels=stop_labels, patience=args.patience or None,
        qat_patience=args.qat_patience or None, input_mode=input_mode, device=device,
        amp_dtype=amp, folded=imported.folded if imported is not None else None, on_step=on_step)
    folded = result.folded.cpu()
    network, meta = export_network(folded, args.weight_bits, name=f"{train.name}-snn")
    encoder = encoder_from_meta(meta)
    T = folded.timesteps
    fp = fixedpoint.run_many(network, input_batches(_frames(val), T, encoder), progress=progress)
    m = result.metrics
    m["fixed_point_val_accuracy"] = fp.accuracy(val.labels)
    m["dataset"] = train.name
    m["timesteps"] = T
    m["total_seconds"] = time.perf_counter() - t0
    m["n_neurons"] = network.n_neurons
    m["export"] = meta
    m["data"] = {"train": _split_info(train), "validation": _split_info(val),
                 "early_stopping_split": {"carved_from": "train", "samples": n_stop,
                                          "fraction": args.stop_fraction,
                                          "stratified_seed": args.seed},
                 "framing": opts["framing"].to_dict(), "denoise_filter_time_us": opts["denoise"],
                 "augment": augment.to_dict() if augment else None,
                 "downsample": args.downsample}
    m["split_protocol"] = train.split_protocol
    m["compute"] = describe(device, amp)
    if imported is not None:
        m["from_nir"] = {"path": str(args.from_nir), "dt_s": imported.dt,
                         "exact": imported.exact, "leak_exact": imported.leak_exact}
    out.mkdir(parents=True, exist_ok=True)
    torch.save({
        "format": "ancoef-snn-checkpoint", "version": 1,
        "dataset": train.name, "data_root": args.data_root, "downsample": args.downsample,
        "encoding": train.encoding, "data_options": _opts_state(opts),
        "random_crop": list(augment.random_crop) if augment and augment.random_crop else None,
        "n_classes": train.n_classes, "bits": args.weight_bits,
        "space": space.to_dict() if space else None, "config": cfg.to_dict() if cfg else None,
        "supernet_state": result.supernet.state_dict() if result.supernet is not None else None,
        "folded": folded.to_state(),
    }, out / CHECKPOINT)
    export_n = min(len(val), args.export_samples)
    inputs = np.concatenate(list(input_batches(_frames(val), T, encoder, limit=export_n)))
    paths = save_workload(network, inputs, out / "network",
                          {**meta, "samples": int(export_n), "labels": val.labels[:export_n].tolist()})
    write_nir(network, out / "network.nir", meta["layer_scales"], encoder=encoder)
    (out / "metrics.json").write_text(json.dumps(m, indent=1, default=str) + "\n")
    print(f"dataset {train.name}: float val accuracy {m['float_val_accuracy']:.4f}, "
          f"{args.weight_bits}-bit {m['quant_val_accuracy']:.4f}, fixed point "
          f"{m['fixed_point_val_accuracy']:.4f} ({m['total_seconds']:.1f} s)")
    print(f"wrote {out / CHECKPOINT}, {', '.join(paths)}, {out / 'network.nir'}, "
          f"{out / 'metrics.json'}")
    return 0


def train_shape(ds):
    """(C, H, W) of a FrameSet's or stream's frames."""
    return tuple(int(v) for v in (ds.frames.shape[2:] if hasattr(ds, "frames")
                                  else ds.frame_shape[1:]))


def _opts_state(opts: dict) -> dict:
    return {"framing": {k: v for k, v in opts["framing"].to_dict().items() if k != "method"},
            "denoise": opts["denoise"], "split_protocol": opts["split_protocol"],
            "split_seed": opts["split_seed"]}


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


def _checkpoint_split(ck, dataset, root, split, timesteps, limit):
    """The split to evaluate, framed as at training (a centre crop if training cropped)."""
    from trainer.datasets import Augment, Framing, load_frames, open_stream

    saved = ck.get("data_options") or {}
    opts = {"framing": Framing(**saved.get("framing", {})), "denoise": saved.get("denoise"),
            "split_protocol": saved.get("split_protocol"),
            "split_seed": int(saved.get("split_seed", 0))}
    kw = dict(encoding=ck.get("encoding"), limit=limit, downsample=ck.get("downsample", 1), **opts)
    if ck.get("random_crop"):
        st = open_stream(dataset, root, split, timesteps,
                         augment=Augment(random_crop=tuple(ck["random_crop"])), **kw)
        return st
    return load_frames(dataset, root, split, timesteps, **kw)


@dataclass
class SplitExport:
    """A trained checkpoint's network with a split's input spikes (what `evaluate` checks)."""

    network: object  # trueasync.Network
    meta: dict
    inputs: object  # bool [sample, step, input neuron]
    labels: object  # int64 [sample]
    frames: object  # the split's frames [N, T, C, H, W], or a stream of them
    folded: object  # trainer.folded.FoldedSNN
    bits: int
    dataset: str
    split_protocol: object = None


def export_split(checkpoint, dataset=None, data_root=None, split="test", limit=None) -> SplitExport:
    """A checkpoint's network and a split framed as at training, with its input spikes."""
    import numpy as np

    from trainer.encoder import encoder_from_meta
    from trainer.export import export_network, input_batches

    ck, folded = load_checkpoint(checkpoint)
    bits = int(ck["bits"])
    dataset = dataset or ck["dataset"]
    root = data_root if data_root is not None else ck.get("data_root")
    fs = _checkpoint_split(ck, dataset, root, split, folded.timesteps, limit)
    if train_shape(fs) != tuple(folded.in_shape):
        raise ValueError(f"dataset {dataset} frames have shape {train_shape(fs)} "
                         f"(C,H,W) but the network expects {tuple(folded.in_shape)}")
    network, meta = export_network(folded, bits, name=f"{fs.name}-snn")
    encoder = encoder_from_meta(meta)
    inputs = np.concatenate(list(input_batches(_frames(fs), folded.timesteps, encoder)))
    return SplitExport(network, meta, inputs, np.asarray(fs.labels), _frames(fs), folded, bits, fs.name,
                       fs.split_protocol)


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
        "timesteps": ex.folded.timesteps, "split_protocol": ex.split_protocol,
        "input_encoding": ex.meta["input_encoding"],
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
            "on_chip_accuracy": sim.accuracy(labels),
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
