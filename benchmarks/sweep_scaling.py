"""Sweep throughput on one and on two local Ray nodes, and what Ray adds per task.

    python benchmarks/sweep_scaling.py                     # 16 tasks, 3 rounds per mode
    python benchmarks/sweep_scaling.py --tasks 8 --rounds 1

One process run. The same sweep (TASKS random searches of BUDGET designs each, one per seed, on
a seeded 128-64-10 MLP, T=16, two samples, the laptop design space) is run

- in-process: each task's `sweep.task.run_task` called in one process without Ray (a child of
  this one, so that the Ray driver's threads here do not share its interpreter), one after
  another, its result committed to a fresh run store (what `ancoef search` does per task);
- on a Ray cluster started here with `ray start` (`sweep.local_cluster`): a head of 1 CPU, then
  the same head plus a second node of 1 CPU, each time through `sweep.run.run_sweep` (the code
  `ancoef sweep` runs: workloads put in the object store, one Ray task per search, SPREAD over
  the nodes, each result committed to a fresh run store as it arrives).

Each phase alternates in-process and Ray rounds, so both see the same machine noise, after an
untimed warm-up sweep that starts the Ray workers. Reported per mode: the median wall time of a
round, tasks per second, the median task time measured inside the task, and the time of a round
spent outside the tasks per task (scheduling, transfers, commits; meaningful where tasks run one
at a time). The per-task overhead of Ray is that outside time on one node of 1 CPU minus the
in-process one (the two differences of a round are less disturbed by a loaded machine than two
rounds' wall times; the difference of the median wall times is printed too); the speed-up of two
nodes over one is the ratio of their median round times.
Writes benchmarks/results/sweep_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "sweep_scaling.json"


def spec_doc(tasks: int, budget: int) -> dict:
    return {
        "name": "scaling", "budget": budget,
        "ranges": {"mesh_width": "1:6", "mesh_height": "1:6", "cores_per_tile": "1,2"},
        "workloads": {"mlp": {"generate": "mlp", "sizes": [128, 64, 10], "timesteps": 16, "samples": 2, "seed": 0}},
        "grid": {"preset": ["loihi"], "algo": ["random"], "seed": list(range(tasks))},
    }


def in_process_round(tasks: int, budget: int) -> dict:
    """One in-process round, in a child process (timed inside it, after its imports and set-up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    r = subprocess.run([sys.executable, __file__, "--in-process-round", "--tasks", str(tasks), "--budget",
                        str(budget)], capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"in-process round failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _in_process_round(prepared) -> dict:
    from sweep.run import commit_result, start_sweep
    from sweep.task import run_task

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        store = start_sweep(Path(tmp) / "out", prepared)
        t0 = time.perf_counter()
        inside = []
        for t in prepared.spec.tasks():
            r = run_task({**t.to_dict(), "key": t.key}, prepared.task_settings(t), prepared.workloads[t.workload])
            commit_result(store, r)
            inside.append(r["task_wall_s"])
        wall = time.perf_counter() - t0
        store.close("succeeded")
    return {"wall_s": wall, "task_s": inside, "nodes": 0}


def ray_round(prepared) -> dict:
    from sweep.run import run_sweep, start_sweep

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        store = start_sweep(Path(tmp) / "out", prepared)
        t0 = time.perf_counter()
        outcome = run_sweep(prepared, store)
        wall = time.perf_counter() - t0
        store.close("succeeded")
    assert outcome.complete and not outcome.failures, outcome.failures
    return {"wall_s": wall, "task_s": [r["task_wall_s"] for r in outcome.results], "nodes": len(outcome.nodes)}


def phase(name: str, prepared, warmup, rounds: int, tasks: int, budget: int) -> dict:
    ray_round(warmup)  # starts the workers (and imports) outside the timing
    runs = {"in-process": [], name: []}
    for _ in range(rounds):
        runs["in-process"].append(in_process_round(tasks, budget))
        runs[name].append(ray_round(prepared))
    return runs


def summarise(runs: list, tasks: int) -> dict:
    wall = statistics.median(r["wall_s"] for r in runs)
    return {"rounds": len(runs), "wall_s_median": wall, "wall_s": [r["wall_s"] for r in runs],
            "tasks_per_s": tasks / wall,
            "task_s_median": statistics.median(t for r in runs for t in r["task_s"]),
            # time of a round not spent inside a task, per task: scheduling, transfers, commits
            # (meaningful where tasks run one at a time: in-process and 1 node x 1 CPU)
            "outside_ms_per_task": 1e3 * statistics.median((r["wall_s"] - sum(r["task_s"])) / tasks for r in runs),
            "nodes_used": max(r["nodes"] for r in runs)}


def git_commit() -> str:
    r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--budget", type=int, default=20, help="designs simulated per task (default 20)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument("--in-process-round", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.in_process_round:
        from sweep import prepare
        from sweep.spec import parse_spec

        prepared = prepare(parse_spec(spec_doc(args.tasks, args.budget)))
        _in_process_round(prepare(parse_spec(spec_doc(2, 4))))  # imports and first-call costs, untimed
        print(json.dumps(_in_process_round(prepared)))
        return 0

    from sweep.local_cluster import LocalRayCluster

    cluster = LocalRayCluster()
    os.environ.update(cluster.client_env())  # before Ray is imported: it reads them once
    from sweep import prepare
    from sweep.spec import parse_spec

    prepared = prepare(parse_spec(spec_doc(args.tasks, args.budget)))
    warmup = prepare(parse_spec(spec_doc(4, 4)))
    load_start = os.getloadavg()
    modes = {}
    try:
        import ray

        from sweep.run import connect

        cluster.start_head(num_cpus=1)
        connect(cluster.address)
        one = phase("ray, 1 node", prepared, warmup, args.rounds, args.tasks, args.budget)
        cluster.add_node(num_cpus=1)
        deadline = time.monotonic() + 60
        while ray.cluster_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        two = phase("ray, 2 nodes", prepared, warmup, args.rounds, args.tasks, args.budget)
        ray.shutdown()
    finally:
        cluster.stop()
    load_end = os.getloadavg()

    n = args.tasks
    modes["in-process (phase 1)"] = summarise(one["in-process"], n)
    modes["ray, 1 node x 1 CPU"] = summarise(one["ray, 1 node"], n)
    modes["in-process (phase 2)"] = summarise(two["in-process"], n)
    modes["ray, 2 nodes x 1 CPU"] = summarise(two["ray, 2 nodes"], n)
    overhead_ms = (modes["ray, 1 node x 1 CPU"]["outside_ms_per_task"]
                   - modes["in-process (phase 1)"]["outside_ms_per_task"])
    wall_overhead_ms = 1e3 * (modes["ray, 1 node x 1 CPU"]["wall_s_median"]
                              - modes["in-process (phase 1)"]["wall_s_median"]) / n
    speedup = modes["ray, 1 node x 1 CPU"]["wall_s_median"] / modes["ray, 2 nodes x 1 CPU"]["wall_s_median"]

    lines = [f"{'mode':24s} {'rounds':>6s} {'wall s (median)':>16s} {'tasks/s':>8s} {'task s (median)':>16s} "
             f"{'outside ms/task':>16s} {'nodes':>5s}", "-" * 98]
    for name, m in modes.items():
        lines.append(f"{name:24s} {m['rounds']:6d} {m['wall_s_median']:16.3f} {m['tasks_per_s']:8.2f} "
                     f"{m['task_s_median']:16.3f} {m['outside_ms_per_task']:16.1f} {m['nodes_used']:5d}")
    lines.append(f"Ray overhead per task (time outside the tasks, 1 node x 1 CPU minus in-process, phase 1): "
                 f"{overhead_ms:+.1f} ms; from the medians of the round wall times: {wall_overhead_ms:+.1f} ms")
    lines.append(f"speed-up of 2 nodes over 1 node: {speedup:.2f}x")
    lines.append(f"load average at start {[round(x, 2) for x in load_start]}, at end "
                 f"{[round(x, 2) for x in load_end]} ({os.cpu_count()} CPUs)")
    print("\n".join(lines))

    import ray as _ray

    out = {
        "command": "python benchmarks/sweep_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "tasks": n, "budget": args.budget, "rounds": args.rounds, "spec": spec_doc(n, args.budget),
        "modes": modes, "ray_overhead_per_task_ms": overhead_ms,
        "ray_overhead_per_task_ms_from_wall": wall_overhead_ms, "speedup_2_nodes": speedup,
        "load_average_start": load_start, "load_average_end": load_end,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "ray": _ray.__version__},
        "commit": git_commit(), "table": lines, "raw": {"phase 1": one, "phase 2": two},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
