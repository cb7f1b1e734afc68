"""The sweep's driver: tasks to Ray, results into the run store as each finishes, resume.

    spec = load_spec(Path("sweep.yaml"))
    prepared = prepare(spec)                       # workloads loaded and checked, hashes
    store = start_sweep(out, prepared)             # or resume_sweep(out, prepared)
    outcome = run_sweep(prepared, store, address="auto", progress=print)
    write_report(out, prepared.spec, outcome, store.path)   # sweep.report
    store.close("succeeded")

The store (`OUT/run.sqlite`, kind `sweep`) holds one `steps` row per finished task, named by the
task's key (`workload/target/preset/algo/seed=N`), written in one transaction when the driver
receives the result. Its primary key makes a result idempotent: a result for a key already in
the store (a duplicated or retried task) is dropped, never counted twice. A resumed sweep skips
every task whose key is in the store and submits the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from runstore import RunExists, RunStore, SettingsDiffer, settings_diff

from sweep.spec import SweepSpec, Task

KIND = "sweep"
PHASE = "sweep"
# Settings that may change on a resume: how the tasks are run, not what they compute.
EXECUTION_KEYS = ("cpus_per_task", "max_retries")


@dataclass
class Prepared:
    """A validated sweep with its workloads loaded, checked and hashed."""

    spec: SweepSpec
    workloads: dict  # name -> workload (only the ones the grid uses)
    workload_sha256: dict  # name -> SHA-256 of the network and its inputs
    policy_sha256: Optional[str]  # the RL warm-start policy, when an RL task warm-starts

    def settings(self) -> dict:
        return {**self.spec.to_dict(), "workload_sha256": dict(self.workload_sha256),
                "policy_sha256": self.policy_sha256}

    def fingerprint(self) -> str:
        d = {k: v for k, v in self.settings().items() if k not in EXECUTION_KEYS}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def task_settings(self, task: Task) -> dict:
        s = self.spec.search_settings(task)
        rl = task.algo == "rl" and self.spec.warm_start
        return dataclasses.replace(s, workload_sha256=self.workload_sha256[task.workload],
                                   policy_sha256=self.policy_sha256 if rl else None).to_dict()


def prepare(spec: SweepSpec) -> Prepared:
    """Load every workload of the grid and check that the design space can hold each (errors name the
    workload), before anything is written or submitted."""
    from coexplore.hwsearch import SearchSettings
    from coexplore.simcache import workload_fingerprint

    loaded, hashes = {}, {}
    for name in spec.axes["workload"]:
        src = spec.workload(name)
        try:
            wl = src.load(spec.samples, spec.timesteps)
            SearchSettings(workload=name, ranges=dict(spec.ranges)).check_workload(wl)
        except (ValueError, FileNotFoundError) as exc:
            raise type(exc)(f"{spec.source}: workloads.{name}: {exc}") from None
        loaded[name] = wl
        hashes[name] = workload_fingerprint(wl.network, wl.inputs)
    policy = None
    if "rl" in spec.axes["algo"] and spec.warm_start:
        first = next(iter(loaded.values()))
        policy = SearchSettings(workload="-", algo="rl").resolved(first).policy_sha256
    return Prepared(spec, loaded, hashes, policy)


def start_sweep(out: Path, prepared: Prepared) -> RunStore:
    from coexplore.run import git_commit, versions
    from runstore import STORE_NAME

    out = Path(out)
    if (out / STORE_NAME).exists():
        raise RunExists(f"--out {out} already holds a sweep: continue it with `ancoef sweep {prepared.spec.source} "
                        f"--out {out} --resume`, or choose another --out")
    store = RunStore.create(out, kind=KIND, settings=prepared.settings(), fingerprint=prepared.fingerprint(),
                            versions=versions(), git_commit=git_commit())
    store.begin_attempt()
    return store


def resume_sweep(out: Path, prepared: Prepared) -> RunStore:
    """The sweep in `out`, locked, after checking it is the sweep of this file (nothing written before)."""
    store = RunStore.resume(out, kind=KIND)
    try:
        stored = store.info.settings
        given = prepared.settings()
        diff = [d for d in settings_diff(stored, given) if d[0] not in EXECUTION_KEYS]
        if diff:
            text = "; ".join(f"{k}: the sweep has {json.dumps(a)}, the file has {json.dumps(b)}" for k, a, b in diff)
            raise SettingsDiffer(f"cannot resume {out} with a different sweep ({text}); resume it with the file it "
                                 "started with, or start the new sweep in another --out", diff)
    except BaseException:
        store.release()
        raise
    store.begin_attempt()
    return store


@dataclass
class Progress:
    done: int  # tasks with a result in the store
    total: int
    failed: int
    nodes: int  # distinct Ray nodes among the results
    last: Optional[dict] = None  # the result just committed


@dataclass
class SweepOutcome:
    results: list  # every task's stored result, in grid order (those finished)
    failures: dict  # key -> error, for tasks that raised (not stored: a resume runs them again)
    ran_now: int  # results committed by this attempt
    reused: int  # results that were in the store before this attempt
    dropped_duplicates: int  # results received for a key already stored (never counted twice)
    attempt: int
    total: int
    wall_s: float = 0.0
    nodes: dict = field(default_factory=dict)  # node id -> results

    @property
    def complete(self) -> bool:
        return len(self.results) == self.total


def commit_result(store: RunStore, payload: dict) -> bool:
    """Store one task's result in one transaction; False (nothing written) when its key is already there."""
    key = payload["key"]
    with store.transaction(PHASE) as tx:
        if tx.conn.execute("SELECT 1 FROM steps WHERE run_id=? AND name=?", (store.run_id, key)).fetchone():
            return False
        tx.put_step(key, {**payload, "attempt": store.attempt, "committed_at": time.time()})
    return True


def stored_results(store: RunStore, tasks: list) -> dict:
    found = {}
    for t in tasks:
        r = store.step(t.key)
        if r is not None:
            found[t.key] = r
    return found


def runtime_env() -> dict:
    """Ray's runtime environment for the tasks: when ANCoEF runs from a source tree rather than an
    installed package, the workers get the tree on their PYTHONPATH (they share this machine's
    files: local clusters; on a cluster, use an image with ANCoEF installed, see docs/sweep.md)."""
    import os

    import sweep

    root = Path(sweep.__file__).resolve().parents[1]
    if any(part in ("site-packages", "dist-packages") for part in root.parts):
        return {}
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    return {"env_vars": {"PYTHONPATH": path}}


def check_address(address: Optional[str], timeout_s: float = 5.0) -> None:
    """Refuse an --address that is not `auto` or HOST:PORT (ValueError), or where nothing listens
    (ConnectionError), in seconds rather than after Ray's own minutes of retries."""
    import socket

    if address is None or address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address {address}: expected auto or HOST:PORT (the Ray head's GCS address)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConnectionError(f"no Ray cluster answers at --address {address} ({exc.strerror or exc})") from None


def connect(address: Optional[str], num_cpus: Optional[int] = None) -> bool:
    """Join the Ray cluster at `address` (`auto`: the one running here or named by RAY_ADDRESS), or
    start a local one (None). False when Ray was already initialised by the caller (kept as is)."""
    import ray

    if ray.is_initialized():
        return False
    check_address(address)
    kw = {"runtime_env": runtime_env(), "logging_level": "warning"}
    if address is None:
        from agent.rl import init_local_ray

        init_local_ray(num_cpus=num_cpus, include_dashboard=False, **kw)
    else:
        try:
            ray.init(address=address, **kw)
        except ConnectionError as exc:
            raise ConnectionError(f"no Ray cluster at --address {address}: {exc}") from None
    return True


def run_sweep(prepared: Prepared, store: RunStore, *, address: Optional[str] = None, num_cpus: Optional[int] = None,
              progress: Optional[Callable[[Progress], None]] = None) -> SweepOutcome:
    """Run every task of the sweep without a result in the store; commit each result as it arrives.
    On Ctrl-C the store is closed `interrupted` (resumable) and KeyboardInterrupt propagates."""
    t0 = time.perf_counter()
    spec = prepared.spec
    tasks = spec.tasks()
    done = stored_results(store, tasks)
    pending = [t for t in tasks if t.key not in done]
    reused = len(done)
    with store.transaction(PHASE) as tx:
        tx.log("info", f"attempt {store.attempt}: {reused} of {len(tasks)} tasks already finished, "
                       f"{len(pending)} to run")
    failures: dict = {}
    ran = dropped = 0

    def tell(last=None):
        if progress is not None:
            nodes = {r.get("node_id") for r in done.values()}
            progress(Progress(len(done), len(tasks), len(failures), len(nodes), last))

    tell()
    if pending:
        import ray

        owned = connect(address, num_cpus)
        try:
            remote = _remote(spec)
            refs_of = {name: ray.put(wl) for name, wl in prepared.workloads.items()}
            waiting = {remote.remote({**t.to_dict(), "key": t.key}, prepared.task_settings(t), refs_of[t.workload]): t
                       for t in pending}
            while waiting:
                ready, _ = ray.wait(list(waiting), num_returns=1)
                for ref in ready:
                    task = waiting.pop(ref)
                    try:
                        payload = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        failures[task.key] = _error_text(exc)
                        with store.transaction(PHASE) as tx:
                            tx.log("error", f"task {task.key} failed: {failures[task.key]}")
                        tell()
                        continue
                    if commit_result(store, payload):
                        ran += 1
                        done[task.key] = store.step(task.key)
                        tell(done[task.key])
                    else:
                        dropped += 1
        except KeyboardInterrupt:
            store.close("interrupted")
            raise
        except BaseException as exc:
            store.close("failed", error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if owned:
                ray.shutdown()
    results = [done[t.key] for t in tasks if t.key in done]
    nodes: dict = {}
    for r in results:
        nodes[r.get("node_id")] = nodes.get(r.get("node_id"), 0) + 1
    return SweepOutcome(results, failures, ran, reused, dropped, store.attempt, len(tasks),
                        time.perf_counter() - t0, nodes)


def _remote(spec: SweepSpec):
    from sweep.task import remote_task

    return remote_task(spec.cpus_per_task, spec.max_retries)


def _error_text(exc) -> str:
    import ray

    if isinstance(exc, ray.exceptions.RayTaskError) and exc.cause is not None:
        return f"{type(exc.cause).__name__}: {exc.cause}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
