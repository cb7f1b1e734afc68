"""Sweeps on Ray: `ancoef sweep SPEC.yaml --out DIR [--address auto|HOST:PORT] [--resume]` (docs/sweep.md).

    from sweep import load_spec, prepare, start_sweep, run_sweep, write_report
    prepared = prepare(load_spec(Path("sweep.yaml")))     # SpecError names the key at fault
    store = start_sweep(out, prepared)                    # or resume_sweep(out, prepared)
    outcome = run_sweep(prepared, store, address="auto")  # each task a Ray task, committed as it ends
    write_report(out, prepared.spec, outcome, store.path)

The command line (`services/cmd_sweep.py`) only parses options and calls these.
"""

from sweep.report import write_report
from sweep.run import Prepared, Progress, SweepOutcome, commit_result, prepare, resume_sweep, run_sweep, start_sweep
from sweep.spec import SpecError, SweepSpec, Task, load_spec, parse_spec

__all__ = ["Prepared", "Progress", "SpecError", "SweepOutcome", "SweepSpec", "Task", "commit_result", "load_spec",
           "parse_spec", "prepare", "resume_sweep", "run_sweep", "start_sweep", "write_report"]
