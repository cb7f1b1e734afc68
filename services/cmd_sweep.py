r"""`ancoef sweep`: workloads x targets x presets x algorithms x seeds, one hardware search per
combination, as Ray tasks on a laptop or a cluster.

    ancoef sweep deploy/k8s/sweep/sweep.yaml --out runs/sweep                 # a local Ray
    ancoef sweep sweep.yaml --out runs/sweep --address auto                   # the cluster running here
    ancoef sweep sweep.yaml --out runs/sweep --address 10.0.0.5:6379 --resume # continue after a kill

The sweep file's schema is in docs/sweep.md. Every task's result is committed to OUT/run.sqlite
as it finishes, once per task key; a task lost with its worker or node is retried by Ray; --resume
continues an interrupted sweep without redoing a finished task.

Writes to --out: run.sqlite, results.csv (one row per task, with the Ray node that ran it),
summary.json, summary.md (per workload x target x preset x algorithm, over seeds),
front_<workload>.png, edp_vs_targets.png.
Exit status 0; 1 when a task failed or no Ray cluster answered (finished tasks stay in the store);
2 for a bad sweep file or a run folder that cannot be used (nothing is changed then); 130 after
Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.options import positive_int


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sweep",
        help="run a sweep of hardware searches as Ray tasks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", type=Path, metavar="SPEC.yaml", help="the sweep file (docs/sweep.md)")
    p.add_argument("--out", type=Path, required=True, help="output directory (holds the sweep's run store)")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="the Ray cluster to run on: auto (the one running on this machine, or RAY_ADDRESS) or its "
                   "GCS address; default: start a local Ray for this sweep")
    p.add_argument("--num-cpus", type=positive_int, help="CPUs of the local Ray (default: all); not with --address")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out (started from this file)")
    p.add_argument("--json", type=Path, help="also write the summary JSON here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from agent import jsonio
    from sweep import load_spec, prepare, resume_sweep, run_sweep, start_sweep, write_report
    from sweep.run import check_address

    if args.num_cpus is not None and args.address is not None:
        raise ValueError("--num-cpus sizes a local Ray; a cluster given with --address has its own CPUs")
    prepared = prepare(load_spec(args.spec))
    try:
        check_address(args.address)  # before the store is created
    except ConnectionError as exc:
        print(f"ancoef sweep: {exc}; nothing was written", file=sys.stderr)
        return 1
    store = (resume_sweep if args.resume else start_sweep)(args.out, prepared)
    bar = None if args.no_progress else _bar(prepared.spec)

    def progress(ev):
        if bar is not None:
            bar.n = ev.done
            bar.set_postfix(nodes=ev.nodes, failed=ev.failed, refresh=False)
            bar.refresh()

    try:
        outcome = run_sweep(prepared, store, address=args.address, num_cpus=args.num_cpus, progress=progress)
    except KeyboardInterrupt:
        print(f"ancoef sweep: interrupted; every finished task is in {store.path}: continue with "
              f"`ancoef sweep {args.spec} --out {args.out} --resume`", file=sys.stderr)
        return 130
    except ConnectionError as exc:
        print(f"ancoef sweep: {exc}; the finished tasks are in {store.path}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    summary = write_report(args.out, prepared.spec, outcome, store.path)
    if args.json:
        Path(args.json).write_text(jsonio.dumps(summary))
    result = {k: summary[k] for k in ("tasks", "finished", "complete", "nodes")}
    if outcome.failures:
        store.close("failed", result=result, error=f"{len(outcome.failures)} task(s) failed: "
                    + "; ".join(f"{k}: {v}" for k, v in outcome.failures.items()))
    else:
        store.close("succeeded", result=result)
    print((args.out / "summary.md").read_text())
    print(f"{outcome.ran_now} task(s) run now, {outcome.reused} already in the store, on {len(outcome.nodes)} Ray "
          f"node(s); results in {args.out}")
    if outcome.failures:
        print(f"ancoef sweep: {len(outcome.failures)} task(s) failed (listed in summary.md); run the same command "
              "with --resume to retry them", file=sys.stderr)
        return 1
    return 0


def _bar(spec):
    from tqdm import tqdm

    return tqdm(total=len(spec.tasks()), unit="task", desc=f"sweep {spec.name}", file=sys.stderr)
