"""Acceptance 1 of issue 10: `ancoef sweep` on a real two-node Ray cluster started with `ray start`.

One test, one cluster (about 65 s on a loaded 2-core machine, 25 s of it starting the nodes): a
sweep whose results show both nodes, the second node SIGKILLed in the middle, every task's result
present exactly once at the end; then a driver SIGKILLed mid-sweep and `--resume` finishing
without redoing a finished task. The cluster's
processes are stopped in a `finally` by process group and marker (`sweep.local_cluster`), never by
`ray stop`, which would stop other Ray clusters on the machine.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray")

from sweep.local_cluster import LocalRayCluster  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# Tasks of about a second each here (a 60-design random search of a 256-128-10 MLP): long enough
# that the second node is in the middle of one when it is killed.
SPEC = {
    "name": "two-nodes",
    "budget": 60,
    "ranges": {"mesh_width": "1:4", "mesh_height": "1:4", "cores_per_tile": "1,2"},
    "workloads": {"mlp": {"generate": "mlp", "sizes": [256, 128, 10], "timesteps": 32, "samples": 2, "seed": 3}},
    "targets": {"none": {}, "fast": {"max_latency_s": 2.0e-5}},
    "grid": {"preset": ["loihi"], "algo": ["random"], "seed": "0:3"},
}
N_TASKS = 8
# The driver-kill part needs no long tasks: 8 searches of 20 designs.
SHORT = {**SPEC, "name": "killed-driver", "budget": 20}


def steps(out: Path) -> dict:
    """key -> (attempt, finished_at, node_id) of every stored result (read-only, while a driver writes)."""
    path = out / "run.sqlite"
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            found = conn.execute("SELECT name, attempt, finished_at, payload FROM steps").fetchall()
    except sqlite3.OperationalError:  # created but not yet initialised
        return {}
    return {k: (a, f, json.loads(p)) for k, a, f, p in found}


def events(out: Path) -> list[str]:
    with sqlite3.connect(f"file:{out / 'run.sqlite'}?mode=ro", uri=True) as conn:
        return [m for (m,) in conn.execute("SELECT message FROM events ORDER BY seq")]


def sweep_command(spec: Path, out: Path, address: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", "sweep", str(spec), "--out", str(out), "--address", address,
            "--no-progress", *extra]


def start_driver(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    fh = open(log, "wb")
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until(predicate, timeout_s: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the driver exited ({proc.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def finish(proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> str:
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"the driver did not finish within {timeout_s} s:\n{log.read_text()[-4000:]}")
    text = log.read_text()
    assert proc.returncode == 0, text[-4000:]
    return text


def assert_same_as_in_process(spec_file: Path, stored: dict) -> None:
    from sweep import load_spec, prepare
    from sweep.task import run_task

    prepared = prepare(load_spec(spec_file))
    task = next(t for t in prepared.spec.tasks() if t.key == stored["key"])
    mine = run_task({**task.to_dict(), "key": task.key}, prepared.task_settings(task), prepared.workloads[task.workload])
    untimed = ("sim_wall_s", "t_s")
    assert mine["search"]["best_edp_js"] == stored["search"]["best_edp_js"]
    assert mine["search"]["hypervolume"] == stored["search"]["hypervolume"]
    assert [{k: v for k, v in d.items() if k not in untimed} for d in mine["front"]] == \
        [{k: v for k, v in d.items() if k not in untimed} for d in stored["front"]]


def test_sweep_survives_a_lost_node_and_a_killed_driver(tmp_path):
    spec, short = tmp_path / "sweep.yaml", tmp_path / "short.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    short.write_text(yaml.safe_dump(SHORT))
    t0 = time.monotonic()
    cluster = LocalRayCluster()
    drivers: list[subprocess.Popen] = []
    try:
        cluster.start_head(num_cpus=1)
        node = cluster.add_node(num_cpus=1)
        print(f"cluster up at {time.monotonic() - t0:.1f} s")
        env = {**os.environ, **cluster.client_env(), "PYTHONPATH": str(REPO)}

        # -- 1. a sweep over both nodes; the second node is SIGKILLed in the middle ---------------
        out, log = tmp_path / "lost-node", tmp_path / "lost-node.log"
        drivers.append(start_driver(sweep_command(spec, out, cluster.address), env, log))

        def on_node():  # a result computed by a worker of the second node (its pid carries the marker)
            pids = set(cluster.node_pids(node))
            return next((p["node_id"] for _, _, p in steps(out).values() if p["pid"] in pids), None)

        node_id = wait_until(on_node, 90, "a result from the second node", drivers[-1], log)
        time.sleep(0.3)  # the node has started its next task
        before_kill = set(steps(out))
        assert len(before_kill) < N_TASKS, "the sweep finished before the node could be killed: make tasks longer"
        cluster.kill_node(node)
        killed_at = time.time()
        print(f"node killed at {time.monotonic() - t0:.1f} s")
        text = finish(drivers[-1], log)

        rows = steps(out)
        assert len(rows) == N_TASKS  # every task exactly once (the key is the store's primary key)
        assert sorted(rows) == sorted(f"mlp/{t}/loihi/random/seed={s}" for t in ("none", "fast") for s in range(4))
        nodes = {p["node_id"] for _, _, p in rows.values()}
        assert len(nodes) == 2 and node_id in nodes, nodes
        after = [p for k, (_, f, p) in rows.items() if k not in before_kill and f > killed_at + 0.5]
        assert after and all(p["node_id"] != node_id for p in after)  # the dead node ran nothing more
        assert "will be retried" in text  # Ray retried the task lost with the node
        summary = json.loads((out / "summary.json").read_text())
        assert summary["complete"] and summary["finished"] == N_TASKS and summary["failed"] == {}
        assert sum(summary["nodes"].values()) == N_TASKS and set(summary["nodes"]) == nodes
        assert summary["store"]["dropped_duplicates"] == 0
        assert all((out / f).is_file() for f in ("results.csv", "summary.md", "front_mlp.png", "edp_vs_targets.png"))
        assert len((out / "results.csv").read_text().splitlines()) == N_TASKS + 1
        # A task's result on the cluster is the one the same search gives in-process.
        key = sorted(rows)[-1]
        assert_same_as_in_process(spec, rows[key][2])

        # -- 2. the driver is SIGKILLed mid-sweep; --resume finishes without redoing a task -------
        out, log = tmp_path / "killed-driver", tmp_path / "killed-driver.log"
        print(f"lost node part done at {time.monotonic() - t0:.1f} s")
        drivers.append(start_driver(sweep_command(short, out, cluster.address), env, log))
        wait_until(lambda: len(steps(out)) >= 3, 90, "three results", drivers[-1], log)
        os.killpg(drivers[-1].pid, signal.SIGKILL)
        drivers[-1].wait(timeout=30)
        first = steps(out)  # read after the driver is dead: nothing more can be committed by it
        assert 3 <= len(first) < N_TASKS and {a for a, _, _ in first.values()} == {1}

        log = tmp_path / "resumed.log"
        drivers.append(start_driver(sweep_command(short, out, cluster.address, "--resume"), env, log))
        finish(drivers[-1], log)
        rows = steps(out)
        assert len(rows) == N_TASKS
        assert {k: rows[k] for k in first} == first  # the first attempt's results, untouched
        assert {rows[k][0] for k in rows if k not in first} == {2}
        summary = json.loads((out / "summary.json").read_text())
        assert summary["store"] == {**summary["store"], "attempt": 2, "reused": len(first),
                                    "ran_now": N_TASKS - len(first), "dropped_duplicates": 0}
        assert f"attempt 2: {len(first)} of {N_TASKS} tasks already finished, {N_TASKS - len(first)} to run" \
            in events(out)
        print(f"resumed sweep done at {time.monotonic() - t0:.1f} s")
    finally:
        for proc in drivers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        cluster.stop()
    assert not any(cluster.node_pids(n) for n in (node,))
