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
    (["train", "--out", "X", "--epochs", "-1"], "must be >= 0"),
    (["train", "--out", "X", "--lr", "0"], "must be > 0"),
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


def test_defaults_are_the_measured_path():
    """`ancoef train` with no option trains the benchmark's network with early stopping."""
    args = cli.build_parser().parse_args(["train", "--out", "X"])
    assert (args.ops, args.widths, args.timesteps, args.tau) == ("conv5,conv5,conv3", "16,32,32",
                                                                8, 2.0)
    assert (args.epochs, args.patience, args.qat_epochs, args.qat_patience) == (30.0, 5, 3.0, 2)
    assert args.stop_fraction == 0.1 and args.weight_bits == 4 and args.device == "auto"
    assert args.data_loading == "auto" and args.encoding is None


def test_train_records_early_stopping_and_the_data(trained_dir):
    m = json.loads((trained_dir / "metrics.json").read_text())
    es = m["early_stopping"]
    assert m["n_early_stopping"] == 20 and m["n_train"] == 180  # 10 % of --limit 200 carved off
    assert len(es["accuracy_per_epoch"]) == 1 and es["best_epoch"] == 1
    assert es["stopped_by"] == "epoch limit (1)"
    assert m["data"]["early_stopping_split"]["carved_from"] == "train"
    assert m["data"]["train"]["split_protocol"].startswith("fixed stratified")
    assert m["data"]["framing"]["method"] == "window_bins"
    assert m["compute"] == {"device": "cpu", "mixed_precision": None}


def test_device_and_mixed_precision_options(tmp_path, capsys):
    if not torch.cuda.is_available():
        code, _, err = run_cli(["train", "--out", str(tmp_path / "c"), "--device", "cuda"],
                               capsys)
        assert code == 2 and "--device cuda: CUDA is not available" in err
    out = tmp_path / "amp"
    code, _, err = run_cli(["train", "--out", str(out), "--amp", "on", "--device", "cpu",
                            "--epochs", "1", "--qat-epochs", "0.5", "--timesteps", "4", "--ops",
                            "conv3,conv3", "--widths", "8,8", "--limit", "100", "--threads", "2",
                            "--no-progress"], capsys)
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert m["compute"] == {"device": "cpu", "mixed_precision": "bfloat16"}
    # bfloat16 only in the float phase: the exported integers are still the QAT model's
    assert m["quant_val_accuracy"] == m["fixed_point_val_accuracy"]


def test_train_from_nir_reexports_the_same_network(trained_dir, tmp_path, capsys):
    """--from-nir on ANCoEF's own export, without training: the imported network is exact, so
    quantising it again to the same bits gives the same integer network and accuracy."""
    from trueasync.workload import load_workload

    out = tmp_path / "fromnir"
    code, _, err = run_cli(["train", "--from-nir", str(trained_dir / "network.nir"), "--out",
                            str(out), "--epochs", "0", "--qat-epochs", "0", "--timesteps", "4",
                            "--weight-bits", "4", "--stop-fraction", "0", "--limit", "200",
                            "--no-progress"], capsys)
    assert code == 0, err
    a, b = load_workload(trained_dir / "network"), load_workload(out / "network")
    for la, lb in zip(a.network.layers[1:], b.network.layers[1:]):
        assert (la.threshold, la.bias, la.leak_num, la.leak_shift) == \
            (lb.threshold, lb.bias, lb.leak_num, lb.leak_shift)
    for pa, pb in zip(a.network.projections, b.network.projections):
        assert np.array_equal(pa.weights, pb.weights)
    ma = json.loads((trained_dir / "metrics.json").read_text())
    mb = json.loads((out / "metrics.json").read_text())
    assert mb["fixed_point_val_accuracy"] == ma["fixed_point_val_accuracy"]
    assert mb["from_nir"]["exact"] == [True] * len(a.network.layers[1:])
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not hdf5")
    code, _, err = run_cli(["train", "--from-nir", str(bad), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and "cannot read NIR file" in err


def test_simulate_nir_equals_the_exported_workload(trained_dir, tmp_path, capsys):
    pytest.importorskip("trueasync._core", reason="TrueAsync engine not built (pip install -e .)")
    from trueasync.workload import load_workload

    wl = load_workload(trained_dir / "network")
    spikes = tmp_path / "in.npy"
    np.save(spikes, wl.inputs[:6])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli.main(["simulate", "--nir", str(trained_dir / "network.nir"), "--inputs",
                     str(spikes), "--json", str(a)]) == 0
    assert cli.main(["simulate", "--workload", str(trained_dir / "network"), "--samples", "6",
                     "--json", str(b)]) == 0
    ra, rb = (json.loads(p.read_text())["trueasync"] for p in (a, b))
    assert ra["per_sample"]["output_spike_counts"] == rb["per_sample"]["output_spike_counts"]
    assert ra["totals"]["synaptic_ops"] == rb["totals"]["synaptic_ops"] > 0
    code, _, err = run_cli(["simulate"], capsys)
    assert code == 2 and "exactly one of --workload PREFIX, --nir FILE, or --sanafe-arch and --sanafe-net" in err
