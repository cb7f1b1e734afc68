"""`ancoef simulate`: the command line prints a summary and writes the figures as JSON."""

import json
from pathlib import Path

import numpy as np
import pytest

import trueasync as ta
from services.cli import main
from services.cmd_simulate import BUILTINS

GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "workloads" / "mlp_784-512-256-10_T100_16c"


def test_builtin_workload_json_matches_a_direct_simulation(tmp_path, capsys):
    out = tmp_path / "sim.json"
    assert main(["simulate", "--workload", "builtin:mlp-small", "--threads", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    wl = BUILTINS["mlp-small"]()
    direct = ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, core_of=wl.core_of)
    totals = report["trueasync"]["totals"]
    assert totals["synaptic_ops"] == int(direct.counts["synaptic_ops"].sum())
    assert totals["packets"] == int(direct.counts["packets"].sum())
    assert report["trueasync"]["per_sample"]["latency_s"] == direct.latency_s.tolist()
    assert report["trueasync"]["wall_s"] > 0
    assert "EDP per sample" in capsys.readouterr().out


def test_samples_option_limits_the_run(tmp_path):
    out = tmp_path / "sim.json"
    assert main(["simulate", "--workload", "builtin:conv", "--samples", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["trueasync"]["totals"]["samples"] == 1


@pytest.mark.skipif(not GOLDEN.with_suffix(".json").is_file(), reason="needs ../shared/workloads")
def test_golden_workload_in_sanafe_semantics(tmp_path):
    out = tmp_path / "golden.json"
    assert main(["simulate", "--workload", str(GOLDEN), "--semantics", "sanafe", "--json", str(out)]) == 0
    totals = json.loads(out.read_text())["trueasync"]["totals"]
    expected = json.loads(GOLDEN.with_suffix(".expected.json").read_text())["sanafe"]["totals"]
    assert (totals["fired"], totals["synaptic_ops"], totals["packets"], totals["hops"]) == (
        expected["fired"],
        expected["synaptic_events"],
        expected["packets"],
        expected["hops"],
    )
    assert np.isclose(totals["energy_j"], expected["energy"], rtol=1e-9, atol=0)


def test_bad_workload_names_are_reported(tmp_path, capsys):
    assert main(["simulate", "--workload", "builtin:nope"]) == 2
    assert "unknown built-in workload 'nope'" in capsys.readouterr().err
    assert main(["simulate", "--workload", str(tmp_path / "missing")]) == 2
    assert "missing.json" in capsys.readouterr().err
    assert main(["simulate", "--workload", "builtin:mlp-small", "--preset", "nonexistent"]) == 2
    assert "unknown cost preset 'nonexistent'" in capsys.readouterr().err


def test_export_to_sanafe_files(tmp_path, capsys):
    pytest.importorskip("sanafe")
    assert main(["simulate", "--workload", "builtin:conv", "--samples", "2", "--export-sanafe", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.yaml", "snn_sample0.yaml", "snn_sample1.yaml"]
    assert "2 network file(s)" in capsys.readouterr().out


def test_plot_is_written(tmp_path):
    out = tmp_path / "sim.png"
    assert main(["simulate", "--workload", "builtin:mlp-small", "--samples", "1", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mesh_grid_follows_the_tile_numbering():
    from services.cmd_simulate import _mesh_grid

    arch = ta.Architecture(mesh_width=3, mesh_height=2, cores_per_tile=2)
    per_core = np.arange(12, dtype=float)  # tile t holds cores 2t, 2t+1
    grid = _mesh_grid(per_core, arch)
    assert grid.shape == (3, 2)
    assert grid[1, 0] == 4 + 5  # tile 2 is at x = 1, y = 0
    assert grid[2, 1] == 10 + 11
