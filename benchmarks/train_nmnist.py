"""The training benchmark: `ancoef train` with its defaults on nmnist-small (and digits-dvs).

    python benchmarks/train_nmnist.py [--data-root ../shared/data] [--skip-digits]
                                      [--json benchmarks/results/train_nmnist.json]

It runs exactly the command users type, with no option but the dataset and the output folder:

    ancoef train --dataset nmnist-small --data-root ../shared/data --out DIR
    ancoef train --out DIR                  (the default dataset, digits-dvs)

in a fresh process each, times it end to end, and reads the run's metrics.json: float,
quantised and fixed-point accuracy on the dataset's validation split (nmnist-small: the fixed
200 of 1,000; digits-dvs: 360), the epochs early stopping chose on the split carved from
training, and the time. Target (issue 13): >= 90 % fixed-point accuracy on nmnist-small in
<= 5 minutes on an idle 2-core machine. The load average is recorded beside every row: timings
on a shared machine are pessimistic; the command's CPU time (user + system, both threads) is
recorded too, as a figure the other jobs on the machine change less. Prints a table and writes
JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
TARGET_ACCURACY, TARGET_SECONDS = 0.90, 300.0


def load_average() -> list:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def run_default(argv: list, out: Path) -> dict:
    cmd = [sys.executable, "-m", "services.cli", "train", *argv, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    load_before = load_average()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    m = json.loads((out / "metrics.json").read_text())
    es = m.get("early_stopping", {})
    return {
        "command": "ancoef train " + " ".join(argv + ["--out", "DIR"]),
        "dataset": m["dataset"], "n_fit": m["n_train"], "n_early_stopping": m["n_early_stopping"],
        "n_val": m["n_val"], "config": m["config"], "bits": m["bits"],
        "epochs_run": es.get("epochs_run"), "best_epoch": es.get("best_epoch"),
        "stopped_by": es.get("stopped_by"),
        "qat_best_epoch": m.get("qat_early_stopping", {}).get("best_epoch"),
        "float_val_accuracy": m["float_val_accuracy"],
        "quant_val_accuracy": m["quant_val_accuracy"],
        "fixed_point_val_accuracy": m["fixed_point_val_accuracy"],
        "train_seconds": m["train_seconds"], "qat_seconds": m["qat_seconds"],
        "command_seconds": wall, "command_cpu_seconds": cpu,
        "load_average_before": load_before,
        "load_average_after": load_average(), "compute": m.get("compute"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=str(DEFAULT_DATA),
                    help="folder holding nmnist-small/ (default ../shared/data)")
    ap.add_argument("--skip-digits", action="store_true", help="only nmnist-small")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "train_nmnist.json"))
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ancoef-train-bench-") as tmp:
        if (Path(args.data_root) / "nmnist-small").is_dir() or \
                (Path(args.data_root) / "train1K.txt").is_file():
            rows.append(run_default(["--dataset", "nmnist-small", "--data-root",
                                     args.data_root], Path(tmp) / "nmnist"))
        else:
            print(f"skipping nmnist-small: no nmnist-small under {args.data_root}")
        if not args.skip_digits:
            rows.append(run_default([], Path(tmp) / "digits"))
    print()
    print(f"{'dataset':13s} {'fit/stop/val':>13s} {'epochs':>7s} {'float':>7s} {'4-bit':>7s} "
          f"{'fixed-pt':>8s} {'train s':>8s} {'total s':>8s} {'CPU s':>7s}  load")
    for r in rows:
        r["meets_target"] = bool(r["fixed_point_val_accuracy"] >= TARGET_ACCURACY
                                 and r["command_seconds"] <= TARGET_SECONDS)
        print(f"{r['dataset']:13s} {r['n_fit']:>4d}/{r['n_early_stopping']:<3d}/{r['n_val']:<4d} "
              f"{r['epochs_run'] or 0:7.0f} {100 * r['float_val_accuracy']:6.1f}% "
              f"{100 * r['quant_val_accuracy']:6.1f}% {100 * r['fixed_point_val_accuracy']:7.1f}% "
              f"{r['train_seconds']:8.1f} {r['command_seconds']:8.1f} "
              f"{r['command_cpu_seconds']:7.1f}  "
              f"{r['load_average_before']} -> {r['load_average_after']}")
    doc = {"benchmark": "train_nmnist", "python": platform.python_version(),
           "machine": platform.machine(), "cpus": os.cpu_count(), "rows": rows,
           "targets": {"fixed_point_val_accuracy": TARGET_ACCURACY,
                       "seconds_idle_2_cores": TARGET_SECONDS}}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
