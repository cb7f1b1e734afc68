"""`ancoef search --resume`: a search killed with SIGKILL continues from its store and ends as an
uninterrupted one with the same seed, without simulating a design twice."""

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

pytest.importorskip("ray")
pytest.importorskip("trueasync._core")

from services import cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    from trueasync.workload import generate_mlp, save_workload

    prefix = tmp_path_factory.mktemp("wl") / "tiny"
    save_workload(generate_mlp((48, 24, 10), timesteps=6, samples=2, seed=3), prefix)
    return str(prefix)


def _args(workload, out):
    return ["search", "--workload", workload, "--algo", "rl", "--budget", "40", "--seed", "1", "--out", str(out),
            "--no-progress", "--mesh-width", "1:4", "--mesh-height", "1:4"]


def _comparable(out: Path) -> dict:
    """summary.json and archive.json without wall-clock fields and the store's bookkeeping."""
    from coexplore.phases import untimed

    s = json.loads((out / "summary.json").read_text())
    s.pop("store")
    s["best_edp_trace"] = [[n, best] for n, _, best in s["best_edp_trace"]]
    return {"summary": untimed(s), "archive": untimed(json.loads((out / "archive.json").read_text()))}


def _rows(out: Path):
    conn = sqlite3.connect(f"file:{out / 'run.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT workload, design, attempt FROM simulations").fetchall()
    finally:
        conn.close()


def test_search_killed_then_resumed_ends_as_uninterrupted(workload, tmp_path, capsys):
    ref = tmp_path / "ref"
    assert cli.main(_args(workload, ref)) == 0
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "services.cli", *_args(workload, out)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        t0 = time.time()
        while True:
            assert p.poll() is None, "the search ended before it could be killed: " + p.stdout.read().decode()[-2000:]
            assert time.time() - t0 < 240, "no simulation was committed"
            try:
                if (out / "run.sqlite").exists() and len(_rows(out)) >= 15:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.03)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    first = {(w, d) for w, d, _ in _rows(out)}
    assert 15 <= len(first) < 41  # 40 budgeted designs + the reference design
    assert not (out / "summary.json").exists()
    # a resume with another budget is refused, naming it, and changes nothing
    before = (out / "run.sqlite").read_bytes()
    assert cli.main(["search", "--resume", str(out), "--budget", "50", "--no-progress"]) == 2
    assert "--budget: the run has 40, given 50" in capsys.readouterr().err
    assert (out / "run.sqlite").read_bytes() == before
    p = subprocess.run([sys.executable, "-m", "services.cli", "search", "--resume", str(out), "--no-progress"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert _comparable(out) == _comparable(ref)
    rows = _rows(out)
    assert {(w, d) for w, d, a in rows if a == 1} == first  # nothing committed was lost
    assert sorted((w, d) for w, d, _ in rows) == sorted((w, d) for w, d, _ in _rows(ref))  # nor simulated twice
    s = json.loads((out / "summary.json").read_text())
    assert s["store"]["answered_by_store"] == len(first) and s["store"]["simulated_now"] == len(rows) - len(first)


@pytest.mark.parametrize("algo", ["nsga2", "random", "tpe", "moves"])
def test_search_with_ray_simulates_batches_as_ray_tasks_with_identical_results(algo, workload, tmp_path):
    """`ancoef search --ray`: the new designs of every batch are simulated in Ray workers (other
    processes), committed to the store by the driver, and the search ends exactly as without Ray."""
    from coexplore.hwsearch import SearchSettings, run_search, start_search

    runs, pids = {}, {}
    for use_ray in (False, True):
        pid_file = tmp_path / f"{algo}-{use_ray}.pids"

        def simulate(network, arch, inputs, _pids=pid_file, **kw):  # pickled by value into the Ray tasks
            import os as _os

            import trueasync

            with open(_pids, "a") as fh:
                fh.write(f"{_os.getpid()}\n")
            return trueasync.simulate(network, arch, inputs, **kw)

        settings = SearchSettings(workload=workload, algo=algo, budget=10, seed=2, ray=use_ray, threads=1,
                                  ranges={"mesh_width": "1:4", "mesh_height": "1:4"}).validated()
        wl = settings.load_workload()
        settings = settings.resolved(wl)
        out = tmp_path / f"{algo}-{use_ray}"
        store = start_search(out, settings)
        sr = run_search(settings, store, wl, simulate=simulate)
        store.close("succeeded")
        runs[use_ray] = ([(r.design, r.energy_j, r.latency_s, r.area_mm2, r.proposer) for r in sr.evaluator.archive.records],
                         sorted(_rows(out)))
        pids[use_ray] = pid_file.read_text().split()
        assert sr.simulated == len(pids[use_ray]) == len(runs[use_ray][1])
    assert runs[True] == runs[False]
    assert set(pids[False]) == {str(os.getpid())}
    # the reference design is simulated by the driver; with Ray the batches went to worker processes
    workers = [p for p in pids[True] if p != str(os.getpid())]
    assert len(workers) == len(pids[True]) - 1 > 0
