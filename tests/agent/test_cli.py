import json

import pytest

from services import cli

from conftest import needs_engine


@pytest.fixture
def no_simulation(monkeypatch):
    import agent.evaluator as evmod

    def boom(*a, **k):
        raise AssertionError("a simulation ran although the settings are bad")

    monkeypatch.setattr(evmod, "_simulate_one", boom)


@pytest.fixture(scope="module")
def tiny_workload(tmp_path_factory):
    from trueasync.workload import generate_mlp, save_workload

    prefix = tmp_path_factory.mktemp("wl") / "tiny"
    save_workload(generate_mlp((48, 24, 10), timesteps=6, samples=2, seed=3), prefix)
    return str(prefix)


def run_cli(args, capsys):
    code = cli.main(["search", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("extra,message", [
    (["--budget", "0"], "--budget must be at least 1"),
    (["--algo", "cmaes"], "unknown --algo 'cmaes'; choose one of rl, nsga2, tpe, random"),
    (["--mesh-width", "8:4"], "mesh_width: empty range 8:4"),
    (["--neurons-per-core", "3000:4000"], "neurons_per_core: empty range 3000:4000 (no power of two"),
    (["--mapping", "diagonal"], "mapping: unknown value"),
    (["--voltage-v", "abc"], "voltage_v"),
    (["--samples", "0"], "--samples must be at least 1"),
    (["--weight-bits", "2", "--neurons-per-core", "64", "--mesh-width", "1", "--mesh-height", "1",
      "--cores-per-tile", "1"], "no design in the given ranges can hold the network"),
])
def test_bad_settings_fail_before_any_work(extra, message, tiny_workload, tmp_path, capsys, no_simulation):
    code, _, err = run_cli(["--workload", tiny_workload, "--out", str(tmp_path / "o"), "--no-progress", *extra],
                           capsys)
    assert code == 2
    assert message in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag,value", [("--max-latency-s", "-1"), ("--max-energy-j", "0"),
                                        ("--max-area-mm2", "nan"), ("--budget", "x")])
def test_bad_numbers_are_argparse_errors(flag, value, tiny_workload, capsys, no_simulation):
    with pytest.raises(SystemExit) as exc:
        cli.main(["search", "--workload", tiny_workload, flag, value])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_missing_inputs(tmp_path, capsys, no_simulation):
    code, _, err = run_cli(["--workload", str(tmp_path / "nope"), "--no-progress"], capsys)
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(["--network", str(tmp_path), "--no-progress"], capsys)
    assert code == 2 and "no exported workload" in err
    with pytest.raises(SystemExit):
        cli.main(["search", "--budget", "3"])  # neither --workload nor --network


@needs_engine
@pytest.mark.parametrize("algo", ["random", "nsga2", "moves"])
def test_search_writes_archive_summary_plot(algo, tiny_workload, tmp_path, capsys):
    out = tmp_path / algo
    code, stdout, _ = run_cli(["--workload", tiny_workload, "--algo", algo, "--budget", "12", "--seed", "1",
                               "--out", str(out), "--no-progress", "--mesh-width", "1:4", "--mesh-height", "1:4"],
                              capsys)
    assert code == 0, stdout
    assert "best EDP" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulated"] == 12 and summary["best_edp_js"] > 0
    assert summary["best_edp_snj"] == pytest.approx(summary["best_edp_js"] * 1e9)
    archive = json.loads((out / "archive.json").read_text())
    assert sum(d["fits"] for d in archive["designs"]) == 12
    assert any(d["on_front"] for d in archive["designs"])
    assert (out / "archive.csv").exists() and (out / "pareto.png").stat().st_size > 1000
    proposers = {"moves": {"random-init", "archive-move", "random"}}.get(algo, {algo})
    assert set(summary["proposers"]) <= proposers and sum(summary["proposers"].values()) == 12


@needs_engine
def test_search_from_trainer_output_dir(tiny_workload, tmp_path, capsys):
    import shutil
    from pathlib import Path

    d = tmp_path / "train-out"
    d.mkdir()
    for ext in (".json", ".npz"):
        shutil.copy(Path(tiny_workload + ext), d / ("workload" + ext))
    code, stdout, _ = run_cli(["--network", str(d), "--algo", "random", "--budget", "4", "--out",
                               str(tmp_path / "o"), "--no-progress"], capsys)
    assert code == 0


@needs_engine
def test_impossible_targets_report_closest(tiny_workload, tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = run_cli(["--workload", tiny_workload, "--algo", "random", "--budget", "8", "--out", str(out),
                            "--no-progress", "--max-latency-s", "1e-15", "--mesh-width", "1:3"], capsys)
    assert code == 1
    assert "no design met the targets" in err and "latency_s" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["met_targets"] is False and summary["best_edp_js"] is None
    assert 1 <= len(summary["closest_to_targets"]) <= 5
    assert "no design met the targets" in summary["report"]


@needs_engine
def test_rl_search_with_shipped_policy(tiny_workload, tmp_path, capsys, ray_session):
    from agent.rl import DEFAULT_CHECKPOINT, WEIGHTS_FILE

    if not (DEFAULT_CHECKPOINT / WEIGHTS_FILE).exists():
        pytest.skip("no shipped policy (python -m agent.rl pretrain)")
    out = tmp_path / "rl"
    code, stdout, _ = run_cli(["--workload", tiny_workload, "--algo", "rl", "--budget", "10", "--out", str(out),
                               "--no-progress", "--mesh-width", "1:4", "--mesh-height", "1:4"], capsys)
    assert code == 0, stdout
    assert json.loads((out / "summary.json").read_text())["simulated"] <= 10


@needs_engine
@pytest.mark.parametrize("flags,loaded", [([], 1), (["--no-warm-start"], 0)])
def test_no_warm_start_does_not_load_the_policy(flags, loaded, tiny_workload, tmp_path, capsys, ray_session,
                                                monkeypatch):
    import agent.rl as rl

    calls = []
    real = rl.load_policy

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(rl, "load_policy", counting)
    code, stdout, _ = run_cli(["--workload", tiny_workload, "--algo", "rl", "--budget", "4", "--no-progress",
                               "--out", str(tmp_path / "rl"), "--mesh-width", "1:3", "--mesh-height", "1:3",
                               *flags], capsys)
    assert code == 0, stdout
    assert len(calls) == loaded
