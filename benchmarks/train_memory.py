"""Peak memory of training on a DVS-Gesture-sized event set: streamed (per-sample framing from the
on-disk cache) beside the dense in-memory path, in one run, and the streamed peak at other
dataset sizes (memory must be bounded by the batch, not the dataset).

    python benchmarks/train_memory.py [--samples 1000] [--scaling 250,500] [--events-per-sample 40000]
        [--epochs 1] [--timesteps 8] [--batch-size 16] [--no-dense]
        [--json benchmarks/results/train_memory.json]

The data set is synthetic but in IBM's DVS128 Gesture layout (AEDAT 3.1 trials, labels CSVs,
trials_to_train/test.txt), 128 x 128 x 2, 11 classes, `--samples` training segments of 1.5 s
(each a blob moving in a direction of its class, plus noise), written to a temporary folder, so
the real reader runs. Each configuration is one `ancoef train --dataset dvsgesture ...` process:

* stream, cold: reads the trials once, one at a time, builds the frame cache, trains;
* stream, warm: the same command again (the cache is reused);
* memory: `--data-loading memory`, every sample framed into one dense array first;
* stream, cold, at each `--scaling` size (a data set of that many samples, its own cache).

Reported per process: peak RSS (the kernel's ru_maxrss of that child), wall time, training
samples per second (epochs x samples / training seconds), the load average. Every streamed row
is checked against the bound docs/datasets.md states ("Memory"), `stream_bound_bytes` below.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS_PER_TRIAL, SEGMENT_US, N_CLASSES = 20, 1_500_000, 11
# The bound docs/datasets.md states for the streamed path (process total, torch included), a
# function of the batch only: the runtime floor plus the larger of the training step (BPTT keeps
# every step's activations: per sample of the training batch, at 128 x 128 x 2, T steps) and the
# norm recalibration (no gradient, its own batches of 64 samples).
FLOOR_BYTES = 640 << 20  # Python + torch + SpikingJelly + the trainer, imported, with the model
TRAIN_BYTES_PER_SAMPLE_STEP = (15 << 20) // 2  # x batch x T (7.5 MiB a sample and time step)
CALIB_BYTES_PER_SAMPLE_STEP = 3 << 20  # x 64 x T (3 MiB a sample and time step)
CALIB_BATCH = 64  # trainer.train.recalibrate's batch


def stream_bound_bytes(batch_size: int, timesteps: int) -> int:
    """Peak RSS the streamed training of the benchmark's network stays within (128 x 128 x 2)."""
    train = TRAIN_BYTES_PER_SAMPLE_STEP * batch_size * timesteps
    calib = CALIB_BYTES_PER_SAMPLE_STEP * CALIB_BATCH * timesteps
    return FLOOR_BYTES + max(train, calib)

AEDAT31_HEAD = (b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n"
                b"#Start-Time: 2024-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n")


def segment_events(rng, label: int, n: int, t0: int):
    """A blob moving across the sensor in the class's direction, 80 % of the events, + noise."""
    k = int(n * 0.8)
    t = np.sort(rng.integers(0, SEGMENT_US, n))
    ang = 2 * np.pi * label / N_CLASSES
    frac = t[:k] / SEGMENT_US - 0.5
    cx, cy = 64 + 48 * frac * np.cos(ang), 64 + 48 * frac * np.sin(ang)
    x = np.concatenate([cx + rng.normal(0, 6, k), rng.integers(0, 128, n - k)])
    y = np.concatenate([cy + rng.normal(0, 6, k), rng.integers(0, 128, n - k)])
    order = np.argsort(np.concatenate([t[:k], t[k:]]), kind="stable")
    x = np.clip(np.round(x), 0, 127).astype(np.uint32)[order]
    y = np.clip(np.round(y), 0, 127).astype(np.uint32)[order]
    p = rng.integers(0, 2, n).astype(np.uint32)
    return x, y, p, (t + t0).astype(np.int64)


def write_trial(path: Path, labels_path: Path, rng, labels, n_events: int) -> None:
    """One AEDAT 3.1 trial: a packet of polarity events per segment, and its labels CSV."""
    rows, t0 = [], 0
    with open(path, "wb") as fh:
        fh.write(AEDAT31_HEAD)
        for lab in labels:
            x, y, p, t = segment_events(rng, int(lab), n_events, t0)
            data = (x << 17) | (y << 2) | (p << 1) | 1
            body = np.empty((n_events, 2), "<u4")
            body[:, 0] = data
            body[:, 1] = (t & 0x7FFFFFFF).astype(np.uint32)
            fh.write(struct.pack("<hhiiiiii", 1, 1, 8, 4, int(t[0] >> 31), n_events, n_events,
                                 n_events))
            fh.write(body.tobytes())
            rows.append(f"{int(lab) + 1},{t0},{t0 + SEGMENT_US}")
            t0 += SEGMENT_US + 100_000
    labels_path.write_text("class,startTime_usec,endTime_usec\n" + "\n".join(rows) + "\n")


def write_dataset(root: Path, samples: int, n_events: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    n_train_trials = -(-samples // SEGMENTS_PER_TRIAL)
    names = {"train": [], "test": []}
    for split, trials in (("train", n_train_trials), ("test", 2)):
        for i in range(trials):
            name = f"user{len(names['train']) + len(names['test']) + 1:02d}_synthetic.aedat"
            labels = rng.permutation(np.arange(SEGMENTS_PER_TRIAL) % N_CLASSES)
            if split == "train" and i == trials - 1:
                labels = labels[:samples - SEGMENTS_PER_TRIAL * (trials - 1)]
            write_trial(root / name, root / name.replace(".aedat", "_labels.csv"), rng, labels,
                        n_events)
            names[split].append(name)
    for split in ("train", "test"):
        (root / f"trials_to_{split}.txt").write_text("\n".join(names[split]) + "\n")
    size = sum(p.stat().st_size for p in root.iterdir())
    return {"train_samples": samples, "test_samples": 2 * SEGMENTS_PER_TRIAL,
            "events_per_sample": n_events, "bytes_on_disk": size}


def run_child(cmd: list) -> dict:
    """Run one command (it prints its own peak RSS, getrusage(RUSAGE_SELF).ru_maxrss)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, "stdout_tail": proc.stdout[-400:]}


def train_cmd(data: Path, out: Path, cache: Path, loading: str, args) -> list:
    return [sys.executable, "-c",
            "import resource, sys; "
            "from services.cli import main; code = main(sys.argv[1:]); "
            "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); "
            "sys.exit(code)",
            "train", "--dataset", "dvsgesture", "--data-root", str(data), "--out", str(out),
            "--data-loading", loading, "--cache", str(cache), "--epochs", str(args.epochs),
            "--patience", "0", "--stop-fraction", "0", "--qat-epochs", "0",
            "--timesteps", str(args.timesteps), "--batch-size", str(args.batch_size),
            "--threads", str(args.threads), "--export-samples", "16", "--no-progress"]


def measure(name, data, tmp, cache, loading, args, n_samples) -> dict:
    out = tmp / name.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "")
    load_before = [round(v, 2) for v in os.getloadavg()]
    r = run_child(train_cmd(data, out, cache, loading, args))
    peak_kib = [int(line.split()[1]) for line in r["stdout_tail"].splitlines()
                if line.startswith("PEAK_RSS_KIB")]
    m = json.loads((out / "metrics.json").read_text())
    epochs = m.get("train_epochs_done") or 0.0
    return {"configuration": name, "data_loading": loading, "dataset_samples": n_samples,
            "load_average_before": load_before,
            "peak_rss_bytes": peak_kib[0] * 1024,
            "wall_s": r["wall_s"], "train_seconds": m["train_seconds"],
            "samples_per_s": epochs * m["n_train"] / m["train_seconds"] if m["train_seconds"] else None,
            "n_train": m["n_train"], "epochs": epochs,
            "float_val_accuracy": m["float_val_accuracy"],
            "load_average_after": [round(v, 2) for v in os.getloadavg()]}


def _sizes(text: str) -> list:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--scaling", type=_sizes, default=[250, 500],
                    help="more data set sizes, streamed with a cold cache (comma-separated; "
                    "'' for none)")
    ap.add_argument("--events-per-sample", type=int, default=40_000)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-dense", action="store_true", help="skip the dense in-memory baseline")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "train_memory.json"))
    args = ap.parse_args(argv)
    bound = stream_bound_bytes(args.batch_size, args.timesteps)
    t_start = time.perf_counter()
    infos = {}
    with tempfile.TemporaryDirectory(prefix="ancoef-mem-bench-") as tmp_s:
        tmp = Path(tmp_s)

        def data(n):
            root = tmp / f"data{n}" / "DvsGesture"
            t0 = time.perf_counter()
            infos[n] = write_dataset(root, n, args.events_per_sample)
            infos[n]["write_s"] = time.perf_counter() - t0
            return root

        root = data(args.samples)
        rows = [measure("stream (cold cache)", root, tmp, tmp / "cache", "stream", args,
                        args.samples),
                measure("stream (warm cache)", root, tmp, tmp / "cache", "stream", args,
                        args.samples)]
        if not args.no_dense:
            rows.append(measure("memory (dense frames)", root, tmp, tmp / "cache-dense",
                                "memory", args, args.samples))
        shutil.rmtree(root.parent, ignore_errors=True)
        for n in args.scaling:
            root = data(n)
            rows.append(measure(f"stream (cold, {n} samples)", root, tmp, tmp / f"cache{n}",
                                "stream", args, n))
            shutil.rmtree(root.parent, ignore_errors=True)
    for r in rows:
        r["stream_bound_bytes"] = bound if r["data_loading"] == "stream" else None
        r["within_stream_bound"] = (r["peak_rss_bytes"] <= bound
                                    if r["data_loading"] == "stream" else None)
    info = infos[args.samples]
    dense_frames = args.samples * args.timesteps * 2 * 128 * 128 * 4
    print(f"data: {info['train_samples']} training samples of 128x128x2, "
          f"{info['events_per_sample']} events each, {info['bytes_on_disk'] / 2**20:.0f} MiB of "
          f"AEDAT; dense float32 frames at T={args.timesteps}: {dense_frames / 2**20:.0f} MiB; "
          f"batch {args.batch_size}")
    print(f"bound (docs/datasets.md): {FLOOR_BYTES >> 20} MiB + max("
          f"{TRAIN_BYTES_PER_SAMPLE_STEP / 2**20:g} MiB x batch {args.batch_size} x T "
          f"{args.timesteps}, {CALIB_BYTES_PER_SAMPLE_STEP / 2**20:g} MiB x {CALIB_BATCH} x T "
          f"{args.timesteps}) = {bound / 2**20:.0f} MiB")
    print(f"{'configuration':28s} {'samples':>7s} {'peak RSS MiB':>12s} {'wall s':>7s} "
          f"{'train s':>8s} {'samples/s':>10s} {'load':>5s}  within bound")
    for r in rows:
        sps = f"{r['samples_per_s']:10.2f}" if r["samples_per_s"] else f"{'-':>10s}"
        verdict = {True: "pass", False: "FAIL", None: "-"}[r["within_stream_bound"]]
        print(f"{r['configuration']:28s} {r['dataset_samples']:7d} "
              f"{r['peak_rss_bytes'] / 2**20:12.0f} {r['wall_s']:7.1f} {r['train_seconds']:8.1f} "
              f"{sps} {r['load_average_before'][0]:5.1f}  {verdict}")
    doc = {"benchmark": "train_memory", "python": platform.python_version(),
           "cpus": os.cpu_count(), "data": info, "data_by_size": infos,
           "dense_frames_bytes": dense_frames, "stream_bound_bytes": bound,
           "bound": {"floor_bytes": FLOOR_BYTES,
                     "train_bytes_per_sample_step": TRAIN_BYTES_PER_SAMPLE_STEP,
                     "calib_bytes_per_sample_step": CALIB_BYTES_PER_SAMPLE_STEP,
                     "calib_batch": CALIB_BATCH},
           "settings": vars(args), "rows": rows,
           "all_streamed_within_bound": all(r["within_stream_bound"] for r in rows
                                            if r["data_loading"] == "stream"),
           "load_average_end": [round(v, 2) for v in os.getloadavg()],
           "total_s": time.perf_counter() - t_start}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"JSON written to {args.json}")
    return 0 if doc["all_streamed_within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
