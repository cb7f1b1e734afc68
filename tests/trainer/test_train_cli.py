"""`ancoef train` / `ancoef evaluate`: options, outputs, and the on-chip check."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from services import cli  # noqa: E402

torch.set_num_threads(2)


def run_cli(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, message", [
    (["train", "--out", "X", "--weight-bits", "9"], "invalid choice: 9"),
    (["train", "--out", "X", "--epochs", "0"], "must be > 0"),
    (["train", "--out", "X", "--timesteps", "zero"], "expected an integer"),
    (["train"], "the following arguments are required: --out"),
    (["evaluate"], "the following arguments are required: --checkpoint"),
])
def test_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--ops", "skip,conv3", "--widths", "8,8"], "the first block cannot be skip"),
    (["--ops", "conv3,conv7", "--widths", "8,8"], "unknown op 'conv7'"),
    (["--ops", "conv3,conv3", "--widths", "8"], "same number of blocks"),
    (["--ops", "conv3,skip", "--widths", "8,8"], "stride 2 and cannot be 'skip'"),
    (["--tau", "3"], "not n / 2**k"),
])
def test_train_option_errors(extra, message, tmp_path, capsys):
    code, _, err = run_cli(["train", "--out", str(tmp_path / "o")] + extra, capsys)
    assert code == 2
    assert err.startswith("ancoef train: error:")
    assert message in err


def test_evaluate_missing_checkpoint(tmp_path, capsys):
    code, _, err = run_cli(["evaluate", "--checkpoint", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert "no checkpoint at" in err


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A tiny real run on the embedded digits-dvs data (a few hundred samples, one epoch)."""
    pytest.importorskip("trainer.datasets")
    out = tmp_path_factory.mktemp("train")
    code = cli.main(["train", "--out", str(out), "--seed", "0", "--epochs", "1",
                     "--qat-epochs", "0.5", "--weight-bits", "4", "--timesteps", "4",
                     "--ops", "conv3,conv3", "--widths", "8,8", "--limit", "200",
                     "--threads", "2", "--no-progress"])
    assert code == 0
    return out


def test_train_writes_outputs(trained_dir):
    for name in ("checkpoint.pt", "network.json", "network.npz", "network.nir", "metrics.json"):
        assert (trained_dir / name).exists(), name
    m = json.loads((trained_dir / "metrics.json").read_text())
    assert m["quant_val_accuracy"] == m["fixed_point_val_accuracy"]
    assert m["export"]["weight_bits"] == 4
    from trueasync.workload import load_workload

    wl = load_workload(trained_dir / "network")
    assert wl.network.layers[-1].size == 10
    assert wl.inputs.shape[1] == 4


def test_evaluate_json(trained_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code, stdout, _ = run_cli(["evaluate", "--checkpoint", str(trained_dir), "--limit", "40",
                               "--json", str(out), "--no-progress"], capsys)
    assert code == 0
    res = json.loads(out.read_text())
    assert res["samples"] == 40
    assert res["quantised_model_counts_equal_fixed_point"] is True
    assert "fixed_point_accuracy" in stdout


def test_evaluate_on_chip(trained_dir, tmp_path, capsys):
    """Simulator output spike counts == the trainer's fixed-point counts, every sample."""
    pytest.importorskip("trueasync._core", reason="TrueAsync engine not built (pip install -e .)")
    out = tmp_path / "chip.json"
    code, _, err = run_cli(["evaluate", "--checkpoint", str(trained_dir), "--limit", "30",
                            "--on-chip", "--json", str(out), "--no-progress"], capsys)
    res = json.loads(out.read_text())
    assert code == 0, err
    assert res["on_chip_counts_equal_fixed_point"] is True
    assert res["on_chip_samples_matching"] == 30
    assert res["on_chip_accuracy"] == res["fixed_point_accuracy"]
