"""`ancoef explore` end to end on tiny settings (embedded digits-dvs), on the default `rl` path.

One module-scoped run in this process is shared by most tests; the kill-and-resume test runs the
same settings in separate processes, kills them with SIGKILL and checks that the resumed run ends
with the same summary (without timings) and that the store shows no step redone or lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("spikingjelly")
pytest.importorskip("pymoo")
pytest.importorskip("ray")
pytest.importorskip("trueasync._core")

from services import cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--limit", "60", "--test-limit", "20", "--minutes", "0.1", "--candidates", "2", "--budget", "6",
        "--calib-samples", "4", "--designs-per-survivor", "2", "--threads", "1", "--seed", "3", "--no-progress"]


def _run(out, extra=(), json_path=None):
    args = ["explore", "--out", str(out), *TINY, *extra]
    if json_path is not None:
        args += ["--json", str(json_path)]
    return cli.main(args)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("explore") / "run"
    jpath = out.parent / "copy.json"
    code = _run(out, json_path=jpath)
    return code, out, jpath


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _query(out: Path, sql: str, args=()):
    conn = sqlite3.connect(f"file:{out / 'run.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


# -- acceptance 1: the default path end to end --------------------------------------------------------


def test_runs_end_to_end_and_writes_every_output(tiny_run):
    code, out, jpath = tiny_run
    assert code == 0
    for name in ("summary.json", "summary.md", "pareto.png", "search_progress.png", "energy_breakdown.png",
                 "explore.log", "run.sqlite"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = _summary(out)
    assert json.loads(jpath.read_text()) == s
    assert s["settings"]["algo"] == "rl" and len(s["candidates"]) == 2
    for c in s["candidates"]:
        assert c["search"]["method"] == "rl" and c["search"]["simulated"] <= 6
        assert (out / "search" / c["name"] / "archive.json").exists()
        assert c["calibration"]["samples"] == 4
        assert len(c["calibration"]["spikes_per_sample_per_layer"]) == len(c["calibration"]["layers"])
        if c["status"] == "abandoned":
            assert c["reason"]
    log = (out / "explore.log").read_text()
    assert "phase 1/7: supernet" in log and "phase 7/7" in log
    md = (out / "summary.md").read_text()
    assert "Pareto front" in md and "| # | SNN |" in md and "Chosen design against the baselines" in md


def test_front_is_non_dominated_and_complete(tiny_run):
    _, out, _ = tiny_run
    s = _summary(out)
    keys = ("accuracy", "energy_j", "latency_s", "edp_js", "area_mm2")
    sign = np.array([-1, 1, 1, 1, 1], float)  # accuracy is maximised

    def vec(p):
        return np.array([p[k] for k in keys], float) * sign

    def dominates(a, b):
        return bool(np.all(a <= b) and np.any(a < b))

    front = [vec(p) for p in s["front"]]
    assert front
    for i, a in enumerate(front):
        assert not any(dominates(b, a) for j, b in enumerate(front) if j != i)
    points = [p for c in s["candidates"] for p in c.get("on_chip", []) if p["meets_targets"]]
    for p in points:
        assert p["on_front"] or any(dominates(f, vec(p)) for f in front)
    # the front's artefacts: torch checkpoint, workload (network, test spikes, chip, mapping), chip description
    from trueasync.workload import load_workload

    dirs = sorted((out / "front").iterdir())
    assert len(dirs) == len(s["front"])
    for d, p in zip(dirs, s["front"]):
        assert (d / "model.pt").stat().st_size > 0
        wl = load_workload(d / "workload")
        assert wl.inputs.shape[0] == 20 and wl.arch.mesh_width == p["design"]["mesh_width"]
        chip = json.loads((d / "chip.json").read_text())
        assert chip["design"] == p["design"] and chip["edp_js"] == p["edp_js"]


def test_on_chip_accuracy_equals_fixed_point_and_widths_agree(tiny_run):
    _, out, _ = tiny_run
    s = _summary(out)
    assert s["all_counts_equal_fixed_point"] is True
    points = [p for c in s["candidates"] for p in c.get("on_chip", [])]
    points += [p for b in s["baselines"].values() for p in b["points"]]
    assert points
    for p in points:
        assert p["counts_equal_fixed_point"] is True
        assert p["accuracy"] == p["fixed_point_accuracy"]
        assert p["design"]["weight_bits"] == p["bits"]  # one weight width from training to chip
    for c in s["candidates"]:
        if c["status"] == "survivor":
            assert c["finetune"]["qat_model_counts_equal_fixed_point"] is True
            assert c["finetune"]["qat_model_test_accuracy"] == c["fixed_point_test_accuracy"]
    assert s["chosen"]["design"]["weight_bits"] == s["chosen"]["bits"]


def test_baselines_and_ratios(tiny_run):
    _, out, _ = tiny_run
    s = _summary(out)
    ref, seq = s["baselines"]["reference"], s["baselines"]["sequential"]
    assert ref["candidate"]["config"]["widths"] == [16, 32, 32]  # the supernet's largest sub-network
    d = ref["chosen"]["design"]
    assert d["mesh_width"] == d["mesh_height"] and d["voltage_v"] is None and d["cores_per_tile"] == 1
    assert seq["candidate"]["search"]["budget"] == 2 * 6  # the co-exploration's budget together
    best = max(s["candidates"], key=lambda c: c["inherited_val_accuracy"])
    assert seq["candidate"]["name"] == best["name"]
    ch = s["chosen"]
    for name, b in (("reference", ref), ("sequential", seq)):
        r = s["comparison"][f"vs_{name}"]
        assert r["edp_ratio"] == pytest.approx(b["chosen"]["edp_js"] / ch["edp_js"])
        assert r["accuracy_difference"] == pytest.approx(ch["accuracy"] - b["chosen"]["accuracy"])
    # the chosen design: lowest EDP among front points at least as accurate as baseline (a), else the most accurate
    ok = [p for p in s["front"] if p["accuracy"] >= ref["chosen"]["accuracy"]]
    want = min(ok, key=lambda p: p["edp_js"]) if ok else max(s["front"], key=lambda p: p["accuracy"])
    assert (ch["candidate"], ch["design"]) == (want["candidate"], want["design"])
    cost = s["timings"]["search_cost"]
    for flow in ("coexploration", "sequential"):
        assert cost[flow]["wall_s"] > 0 and cost[flow]["cpu_thread_hours"] == pytest.approx(cost[flow]["cpu_s"] / 3600)


# -- acceptance 2: SIGKILL during the search and during fine-tuning, then resume ------------------------


def _start(args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _kill_when(proc, out: Path, condition, timeout_s=240.0):
    """SIGKILL `proc` as soon as `condition()` holds on its store; then its leftover children."""
    t0 = time.time()
    try:
        while time.time() - t0 < timeout_s:
            if proc.poll() is not None:
                pytest.fail("the run ended before it could be killed:\n" + proc.stdout.read().decode()[-3000:])
            if (out / "run.sqlite").exists():
                try:
                    if condition():
                        os.kill(proc.pid, signal.SIGKILL)
                        proc.wait()
                        return
                except sqlite3.Error:
                    pass
            time.sleep(0.03)
        pytest.fail("the condition to kill the run never held")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        try:  # Ray's helper processes of the killed driver
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _without_timings(s: dict) -> dict:
    from coexplore import without_timings

    return without_timings(s)


def test_sigkill_in_search_and_in_finetuning_cancel_then_resume(tiny_run, tmp_path):
    _, ref_out, _ = tiny_run
    out = tmp_path / "killed"
    n_search = lambda: _query(out, "SELECT COUNT(*) FROM simulations WHERE phase='coexplore.search'")[0][0]  # noqa: E731
    # 1. killed in the hardware search, after some of its simulations were committed
    _kill_when(_start(["explore", "--out", str(out), *TINY]), out, lambda: n_search() >= 3)
    assert _query(out, "SELECT name FROM steps WHERE name='abandon'") == []  # it was in the search phase
    first = set(_query(out, "SELECT workload, design FROM simulations"))
    assert first
    # 2. resumed (checkpointing every 2 steps now, an execution setting) and killed during QAT
    qat = lambda: _query(out, "SELECT COUNT(*) FROM training_checkpoints WHERE job LIKE 'qat/c%'")[0][0]  # noqa: E731
    _kill_when(_start(["explore", "--resume", str(out), "--checkpoint-every", "2", "--no-progress"]), out,
               lambda: qat() >= 1)
    unfinished = _query(out, "SELECT job FROM training_checkpoints WHERE job LIKE 'qat/c%' AND job NOT IN "
                             "(SELECT job FROM trainings)")
    assert unfinished, "killed during fine-tuning"
    # 3. resumed in this process through the library, as a service would, and cancelled between two
    #    steps once the sequential baseline's search reported progress (a threading.Event); the store
    #    stays resumable
    import threading

    from coexplore import Cancelled, InProcessTrainer, PhaseEvent, SearchEvent, explore, resume_run

    stop, phases = threading.Event(), []

    def progress(ev):
        if isinstance(ev, PhaseEvent):
            phases.append(ev.phase)
        if isinstance(ev, SearchEvent) and ev.flow == "sequential" and ev.simulations_done >= 2:
            stop.set()

    store, settings = resume_run(out, {"checkpoint_every": 2, "seed": 3})
    with pytest.raises(Cancelled):
        explore(settings, store, out=out, trainer=InProcessTrainer(), progress=progress, cancel=stop)
    # the event is checked at the next step boundary: after a batch of the search or before a test simulation
    assert phases[-1] == "sequential.finetune"
    assert _query(out, "SELECT COUNT(*) FROM simulations WHERE phase='sequential.search'")[0][0] >= 2
    assert _query(out, "SELECT name FROM steps WHERE name='onchip/sequential'") == []
    assert _query(out, "SELECT state FROM runs") == [("cancelled",)]
    # 4. resumed to the end
    store, settings = resume_run(out, {})
    result = explore(settings, store, out=out, trainer=InProcessTrainer())
    assert result.exit_status == 0
    assert _without_timings(_summary(out)) == _without_timings(_summary(ref_out))
    # nothing finished was lost or redone: every simulation of attempt 1 is still there and no design was
    # simulated twice (the store's key would refuse it); the same simulations as the uninterrupted run
    rows = _query(out, "SELECT workload, design, attempt FROM simulations")
    assert first <= {(w, d) for w, d, a in rows if a == 1}
    assert sorted((w, d) for w, d, _ in rows) == sorted(_query(ref_out, "SELECT workload, design FROM simulations"))
    assert {a for *_, a in rows} <= {1, 2, 3, 4}
    # training: the supernet was trained once; each QAT job's segments follow each other from step 0
    assert _query(out, "SELECT attempt FROM trainings WHERE job='supernet'") == [(1,)]
    for (job,) in unfinished:
        segs = _query(out, "SELECT from_step, step, attempt FROM training_checkpoints WHERE job=? ORDER BY step",
                      (job,))
        assert segs[0][0] == 0 and all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
        assert {a for *_, a in segs} <= {2, 3}
        total, attempt = _query(out, "SELECT steps, attempt FROM trainings WHERE job=?", (job,))[0]
        assert attempt == 3 and total == _summary(out)["settings"]["qat_steps_per_network"]
    assert _query(out, "SELECT attempt, state FROM attempts ORDER BY attempt") == [
        (1, "interrupted"), (2, "interrupted"), (3, "cancelled"), (4, "succeeded")]


# -- acceptance 3: refused resumes change nothing ---------------------------------------------------------


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    _, out, _ = tiny_run
    dst = tmp_path / "copy"
    shutil.copytree(out, dst)
    return dst


def _refused(args, capsys, folder: Path, message: str):
    before = _snapshot(folder) if folder.exists() else None
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and err.startswith("ancoef explore: error:")
    assert (_snapshot(folder) if folder.exists() else None) == before
    return err


def test_resume_of_a_folder_without_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    _refused(["explore", "--resume", str(tmp_path / "empty")], capsys, tmp_path / "empty", "holds no run")
    _refused(["explore", "--resume", str(tmp_path / "nope")], capsys, tmp_path / "nope", "not a folder holding a run")


def test_resume_with_changed_settings_names_them(run_copy, capsys):
    err = _refused(["explore", "--resume", str(run_copy), "--budget", "7", "--seed", "4", "--no-progress"], capsys,
                   run_copy, "--budget: the run has 6, given 7")
    assert "--seed: the run has 3, given 4" in err


def test_new_run_in_a_folder_holding_one_is_refused(run_copy, capsys):
    _refused(["explore", "--out", str(run_copy), *TINY], capsys, run_copy, "already holds a run")


def test_truncated_store_is_reported_and_kept(run_copy, capsys):
    path = run_copy / "run.sqlite"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    _refused(["explore", "--resume", str(run_copy)], capsys, run_copy, f"{path} is not a readable run store")


def test_changed_checkpoint_is_refused(run_copy, capsys):
    ck = run_copy / "checkpoints" / "supernet.pt"
    ck.write_bytes(ck.read_bytes()[:-10] + b"0123456789")
    _refused(["explore", "--resume", str(run_copy)], capsys, run_copy, "does not match the SHA-256")


def test_second_process_on_a_run_folder(run_copy, capsys):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from runstore import RunStore
        s = RunStore.resume({str(run_copy)!r}, kind="exploration")
        print("locked", flush=True)
        time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        _refused(["explore", "--resume", str(run_copy)], capsys, run_copy, "is in use by")
    finally:
        holder.kill()
        holder.wait()


# -- targets and options ------------------------------------------------------------------------------


def test_impossible_targets_report_closest(tmp_path, capsys):
    # an energy target no chip can meet: found only by simulating, so the run goes through the search
    # and stops before fine-tuning, exit status 1, with the closest candidates/designs
    code = _run(tmp_path / "o", ["--max-energy-j", "1e-15", "--algo", "random"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no candidate met the targets" in err
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["front"] == [] and s["met_targets"] is False
    assert s["closest_to_targets"] and all(r["violations"] for r in s["closest_to_targets"])
    assert all(c["status"] == "abandoned" for c in s["candidates"])
    assert not (tmp_path / "o" / "front").exists()
    assert _query(tmp_path / "o", "SELECT COUNT(*) FROM trainings WHERE job LIKE 'qat/%'") == [(0,)]


@pytest.fixture
def no_work(monkeypatch):
    import trainer.train as tt

    def boom(*a, **k):
        raise AssertionError("training started although the options are bad")

    monkeypatch.setattr(tt, "train_supernet", boom)


@pytest.mark.parametrize("extra,message", [
    (["--budget", "0"], "--budget must be at least 1"),
    (["--candidates", "0"], "--candidates must be at least 1"),
    (["--algo", "cmaes"], "unknown --algo 'cmaes'; choose one of rl, nsga2, tpe, random"),
    (["--bits", "3"], "--bits must be 2, 4 or 8"),
    (["--bits", "4,4"], "--bits lists a width twice"),
    (["--max-area-mm2", "1e-6"], "--max-area-mm2 1e-06 is impossible"),
    (["--dataset", "mnist-3d"], "mnist-3d"),
    (["--preset", "nope"], "unknown --preset 'nope'"),
    (["--limit", "5"], "--limit must be at least 20"),
])
def test_bad_options_fail_before_any_work(extra, message, tmp_path, capsys, no_work):
    args = ["explore", "--out", str(tmp_path / "o"), "--no-progress", "--threads", "1", *extra]
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.startswith("ancoef explore: error:")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag,value", [("--max-latency-s", "-1"), ("--max-energy-j", "0"),
                                        ("--max-area-mm2", "nan"), ("--minutes", "0"),
                                        ("--budget", "x"), ("--candidates", "2.5"), ("--bits", "four")])
def test_bad_numbers_are_argparse_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["explore", flag, value])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_training_resumes_bit_identically():
    """The trainer's checkpointing hook: stop after some steps, continue from the saved state."""
    import io

    import torch

    from trainer.datasets import load_frames
    from trainer.folded import fold_subnet
    from trainer.supernet import SuperNet, default_space
    from trainer.train import Checkpointing, finetune, set_seed, train_supernet

    tr = load_frames("digits-dvs", None, "train", 8, limit=40)
    shape = tuple(tr.frames.shape[2:])

    def fresh():
        set_seed(0, 1)
        return SuperNet(shape, tr.n_classes, default_space(shape))

    def saver(box):
        def save(state):
            buf = io.BytesIO()
            torch.save(state, buf)
            box["state"] = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
        return save

    for kind in ("supernet", "qat"):
        def train(net, ck=None):
            if kind == "supernet":
                return train_supernet(net, tr.frames, tr.labels, max_steps=5, epochs=4, batch_size=16, checkpointing=ck)
            return finetune(net, tr.frames, tr.labels, bits=4, epochs=5 / 3, batch_size=16, checkpointing=ck)

        def model():
            net = fresh()
            return net if kind == "supernet" else fold_subnet(net, net.space.smallest())

        a = model()
        whole = train(a)
        box, calls = {}, []
        b = model()
        part = train(b, Checkpointing(every=0, save=saver(box), should_stop=lambda: calls.append(1) or len(calls) > 3))
        assert part.stopped_to_resume and part.steps == 3 and box["state"]["step"] == 3
        c = model()
        torch.rand(7)  # another process would start from another global RNG state
        rest = train(c, Checkpointing(every=2, save=saver({}), state=box["state"]))
        assert rest.steps == whole.steps == 5 and rest.losses == whole.losses
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))
