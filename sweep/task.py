"""One sweep task: a hardware search, run where Ray places it (or in-process).

`run_task` is a plain function of the task's settings and its workload: it runs the same
`coexplore.hwsearch.run_search` as `ancoef search`, against a run store of its own in a
temporary folder of the machine that runs it (every simulation goes through it as in a search;
the folder is removed when the task returns), and returns the task's result as a JSON-ready
mapping, which the sweep's driver commits to the sweep's store. A task lost with its worker or
node is rerun from its start by Ray (the search is deterministic for its seed, so the rerun
returns what the lost run would have).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from typing import Optional


def current_node_id() -> Optional[str]:
    """The Ray node running this process (None outside a Ray worker or driver)."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        return ray.get_runtime_context().get_node_id()
    except ImportError:
        return None


def run_task(task: dict, settings: dict, workload) -> dict:
    """Run one task. `task`: `Task.to_dict()` plus `key`; `settings`: its resolved `SearchSettings`."""
    from agent import jsonio
    from coexplore.hwsearch import SearchSettings, run_search
    from runstore import RunStore

    started = time.time()
    t0 = time.perf_counter()
    search = SearchSettings(**settings)
    with tempfile.TemporaryDirectory(prefix="ancoef-sweep-task-") as tmp:
        store = RunStore.create(tmp, kind="search", settings=search.to_dict(), fingerprint=search.fingerprint(),
                                seed=search.seed)
        sr = run_search(search, store, workload)
        store.close("succeeded")
    ev, figs = sr.evaluator, sr.figures
    summary = {k: v for k, v in figs.items() if k not in ("trace", "closest_to_targets", "reference_design")}
    return jsonio.to_jsonable({
        **task,
        "node_id": current_node_id(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": started,
        "task_wall_s": time.perf_counter() - t0,
        "search": summary,
        "best_edp_trace": [list(t) for t in figs["trace"]],
        "front": [r.to_dict() for r in ev.archive.front()],
        "normalisation": ev.archive.normaliser.to_dict(),
    })


def remote_task(cpus: int, max_retries: int):
    """`run_task` as a Ray remote function: `cpus` CPUs per task, spread over the nodes, retried up to
    `max_retries` times when its worker or node dies (an exception raised by the search itself is a
    result, not retried: the same seed would raise it again)."""
    import ray

    return ray.remote(run_task).options(num_cpus=cpus, max_retries=max_retries, retry_exceptions=False,
                                        scheduling_strategy="SPREAD", name="ancoef-sweep-task")
