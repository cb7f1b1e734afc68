"""`ancoef explore` end to end on tiny settings (embedded digits-dvs, random hardware search).

One module-scoped run is shared by most tests; a second run with the same seed checks
determinism. Each run takes ~10 s on 2 cores (torch limited to one thread).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("spikingjelly")
pytest.importorskip("pymoo")
pytest.importorskip("trueasync._core")

from services import cli  # noqa: E402

TINY = ["--limit", "120", "--test-limit", "40", "--minutes", "0.1", "--candidates", "2", "--budget", "8",
        "--algo", "random", "--calib-samples", "8", "--designs-per-survivor", "3", "--threads", "1",
        "--seed", "3", "--no-progress"]


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


def _without_timings(x):
    if isinstance(x, dict):
        return {k: _without_timings(v) for k, v in x.items()
                if k not in ("timings", "archive", "workload")}
    if isinstance(x, list):
        return [_without_timings(v) for v in x]
    return x


def test_runs_end_to_end_and_writes_every_output(tiny_run):
    code, out, jpath = tiny_run
    assert code == 0
    for name in ("summary.json", "summary.md", "pareto.png", "energy_breakdown.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(jpath.read_text()) == summary
    assert len(summary["candidates"]) == 2
    survivors = [c for c in summary["candidates"] if c["status"] == "survivor"]
    assert survivors and summary["front"]
    for c in summary["candidates"]:
        assert c["search"]["simulated"] <= 8
        assert (out / "search" / c["name"] / "archive.json").exists()
        assert c["calibration"]["samples"] == 8
        assert len(c["calibration"]["spikes_per_sample_per_layer"]) == len(c["calibration"]["layers"])
        assert c["calibration"]["spikes_per_sample_per_layer"][-1] >= 0
        if c["status"] == "abandoned":
            assert c["reason"]
    # the survivors' workloads load and hold the test split and the best design
    from trueasync.workload import load_workload

    for c in survivors:
        wl = load_workload(out / "survivors" / c["name"] / "workload")
        assert wl.inputs.shape[0] == 40
        best = c["on_chip"][0]
        assert "best_edp" in best["roles"]
        assert wl.arch.mesh_width == best["design"]["mesh_width"]
        assert len(wl.meta["labels"]) == 40
    md = (out / "summary.md").read_text()
    assert "Pareto front" in md and "| # | SNN |" in md
    for p in summary["front"]:
        assert p["edp_snj"] == pytest.approx(p["edp_js"] * 1e9)
        assert p["design_text"] and p["config"]["ops"]


def test_front_is_non_dominated_and_complete(tiny_run):
    _, out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    keys = ("accuracy", "energy_j", "latency_s", "edp_js", "area_mm2")
    sign = np.array([-1, 1, 1, 1, 1], float)  # accuracy is maximised

    def vec(p):
        return np.array([p[k] for k in keys], float) * sign

    def dominates(a, b):
        return bool(np.all(a <= b) and np.any(a < b))

    front = [vec(p) for p in summary["front"]]
    for i, a in enumerate(front):
        for j, b in enumerate(front):
            assert i == j or not dominates(b, a)
    # every simulated point meeting the targets is on the front or dominated by a front point
    points = [p for c in summary["candidates"] for p in c.get("on_chip", []) if p["meets_targets"]]
    assert points
    for p in points:
        v = vec(p)
        assert p["on_front"] or any(dominates(f, v) for f in front)


def test_on_chip_accuracy_equals_fixed_point(tiny_run):
    _, out, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["all_counts_equal_fixed_point"] is True
    for c in summary["candidates"]:
        if c["status"] != "survivor":
            continue
        assert c["finetune"]["qat_model_counts_equal_fixed_point"] is True
        assert c["finetune"]["qat_model_test_accuracy"] == c["fixed_point_test_accuracy"]
        for p in c["on_chip"]:
            assert p["counts_equal_fixed_point"] is True
            assert p["accuracy"] == p["fixed_point_accuracy"] == c["fixed_point_test_accuracy"]


def test_same_seed_same_numbers(tiny_run, tmp_path):
    _, out, _ = tiny_run
    assert _run(tmp_path / "again") == 0
    a = json.loads((out / "summary.json").read_text())
    b = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert _without_timings(a) == _without_timings(b)


def test_impossible_targets_report_closest(tmp_path, capsys):
    # an energy target no chip can meet: found only by simulating, so the run goes through the search
    # and stops before fine-tuning, exit status 1, with the closest candidates/designs
    code = _run(tmp_path / "o", ["--max-energy-j", "1e-15"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no candidate met the targets" in err
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["front"] == [] and s["met_targets"] is False
    assert s["closest_to_targets"]
    assert all(c["status"] == "abandoned" for c in s["candidates"])
    assert all(r["violations"] for r in s["closest_to_targets"])
    assert not (tmp_path / "o" / "survivors").exists()


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
    (["--bits", "1"], "--bits must be between 2 and 8"),
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
                                        ("--budget", "x"), ("--candidates", "2.5")])
def test_bad_numbers_are_argparse_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["explore", flag, value])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_pareto_mask():
    from services.cmd_explore import pareto_mask

    pts = [[0.9, 1.0], [0.8, 0.5], [0.7, 0.6], [0.9, 1.0], [0.95, 2.0]]
    assert pareto_mask(pts, (True, False)) == [True, True, False, True, True]
    assert pareto_mask([], (True, False)) == []


@pytest.mark.parametrize("policy_ok,loaded", [(True, 1), (False, 0)])
def test_rl_search_without_a_usable_policy_starts_from_scratch(policy_ok, loaded, monkeypatch):
    import agent.rl as rl
    from agent.evaluator import Evaluator
    from agent.surrogate import surrogate_map, surrogate_simulate
    from agent.workloads import laptop_space
    from services.cmd_explore import _search
    from trueasync.workload import generate_mlp

    calls = []
    real = rl.load_policy
    monkeypatch.setattr(rl, "load_policy", lambda path: calls.append(path) or real(path))
    ev = Evaluator(generate_mlp((32, 16, 10), timesteps=4, samples=1, seed=0), laptop_space(), budget=4,
                   simulate=surrogate_simulate, map_network=surrogate_map, use_ray=False)
    figs = _search("rl", ev, 0, None, policy_ok)
    assert figs["method"] == "rl" and figs["simulated"] == 4
    assert len(calls) == loaded
