"""Direct image encoding (issue 13, acceptance 1): on a CIFAR-layout set whose classes differ only
in intensity, `direct` encoding learns while a binarised input cannot, and the exported network's
chip output equals the trainer's fixed point (the first layer runs as the off-chip encoder)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from services import cli  # noqa: E402

torch.set_num_threads(2)
LEVELS = (70, 190)  # class k: a uniform grey of this level, +-12 of noise; no pixel is 0


def write_intensity_cifar(root: Path, n_train=90, n_test=45, seed=0) -> Path:
    """CIFAR-10's python layout (data_batch_1..5, test_batch, batches.meta) holding images whose
    class is only their brightness: thresholding at 0 makes every image all ones."""
    g = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def batch(n):
        labels = np.arange(n) % len(LEVELS)
        base = np.array(LEVELS)[labels][:, None]
        data = np.clip(base + g.integers(-12, 13, (n, 3072)), 1, 255).astype(np.uint8)
        return {b"labels": labels.tolist(), b"data": data}

    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "wb") as fh:
            pickle.dump(batch(n_train // 5), fh, protocol=2)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump(batch(n_test), fh, protocol=2)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [b"dark", b"mid", b"bright"] + [b"x"] * 7}, fh, protocol=2)
    return root


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    return write_intensity_cifar(tmp_path_factory.mktemp("cifar"))


def test_binarised_input_cannot_learn_intensity_classes(cifar_root):
    from trainer.datasets import load_frames
    from trainer.supernet import BlockSpec, SearchSpace, SubnetConfig
    from trainer.train import run_training

    tr = load_frames("cifar10", cifar_root, "train", 4, downsample=8)
    te = load_frames("cifar10", cifar_root, "test", 4, downsample=8)
    assert tr.encoding == "direct" and tr.frames.shape[1:] == (4, 3, 4, 4)
    assert (tr.frames > 0).all()  # binarised, every image is the same all-ones input
    space = SearchSpace(blocks=(BlockSpec(2, ("conv3",), (8,)), BlockSpec(2, ("conv3",), (8,))),
                        timesteps=(4,), taus=(2.0,))
    cfg = SubnetConfig(("conv3", "conv3"), (8, 8), 4, 2.0)
    res = run_training(tr.frames, tr.labels, te.frames, te.labels, 10, space=space, config=cfg,
                       epochs=8, qat_epochs=1, bits=8, batch_size=15, lr=1e-2, seed=0,
                       threads=2, input_mode="spikes")
    # identical inputs give identical outputs: at best the share of the largest class
    best = np.bincount(te.labels).max() / len(te.labels)
    assert res.metrics["float_val_accuracy"] <= best + 1e-9
    assert res.metrics["quant_val_accuracy"] <= best + 1e-9


@pytest.fixture(scope="module")
def direct_run(cifar_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("direct")
    code = cli.main(["train", "--dataset", "cifar10", "--data-root", str(cifar_root), "--out",
                     str(out), "--encoding", "direct", "--downsample", "8", "--timesteps", "4",
                     "--ops", "conv3,conv3", "--widths", "16,16", "--epochs", "8", "--lr", "1e-2",
                     "--patience", "0", "--stop-fraction", "0", "--qat-epochs", "1",
                     "--weight-bits", "8", "--batch-size", "15", "--threads", "2", "--no-progress",
                     "--cache", str(out / "cache")])
    assert code == 0
    return out


def test_direct_encoding_learns_and_exports_an_encoder(direct_run):
    m = json.loads((direct_run / "metrics.json").read_text())
    assert m["data"]["train"]["encoding"] == "direct" and m["input_mode"] == "analog"
    assert m["data"]["train"]["loading"] == "stream"  # images stream from the uint8 cache
    assert m["float_val_accuracy"] >= 0.9 and m["fixed_point_val_accuracy"] >= 0.9
    assert m["quant_val_accuracy"] == m["fixed_point_val_accuracy"]
    enc = m["export"]["input_encoder"]
    assert m["export"]["input_encoding"] == "direct" and enc["in_shape_chw"] == [3, 4, 4]
    assert enc["out_shape_chw"] == [16, 2, 2] and enc["levels"] == 255
    from trueasync.workload import load_workload

    wl = load_workload(direct_run / "network")
    assert wl.network.layers[0].shape == (2, 2, 16)  # the chip reads the encoder's spikes
    assert wl.inputs.shape == (45, 4, 64)


def test_direct_encoding_chip_equals_fixed_point(direct_run, tmp_path, capsys):
    """The exported network's chip output equals the trainer's fixed point, sample for sample,
    with the encoder's spikes as input; the QAT model computes the same counts."""
    out = tmp_path / "eval.json"
    argv = ["evaluate", "--checkpoint", str(direct_run), "--json", str(out), "--no-progress"]
    try:
        import trueasync._core  # noqa: F401

        argv.append("--on-chip")
    except ImportError:
        pass
    assert cli.main(argv) == 0, capsys.readouterr().err
    res = json.loads(out.read_text())
    assert res["input_encoding"] == "direct" and res["samples"] == 45
    assert res["quantised_model_counts_equal_fixed_point"] is True
    if "--on-chip" not in argv:
        pytest.skip("TrueAsync engine (trueasync._core) not built: chip half of the check skipped")
    assert res["on_chip_counts_equal_fixed_point"] is True
    assert res["on_chip_samples_matching"] == 45
    assert res["on_chip_accuracy"] == res["fixed_point_accuracy"] >= 0.9


def test_direct_encoded_nir_graph_holds_the_encoder(direct_run):
    nir = pytest.importorskip("nir")
    from trainer.nir_io import nir_to_network

    graph = nir.read(str(direct_run / "network.nir"))
    assert "encoder_conv" in graph.nodes and list(graph.nodes["input"].input_type["input"]) == \
        [3, 4, 4]
    imp = nir_to_network(graph)  # the whole network, encoder included, as one chip network
    assert imp.network.layers[0].size == 3 * 4 * 4 and all(imp.exact)


def test_explore_with_direct_encoding_runs_the_first_layer_as_the_encoder(cifar_root, tmp_path):
    """`ancoef explore --encoding direct` on images: every on-chip point equals the fixed point
    (the chip's input is the encoder's spikes), and the recorded encoding is direct."""
    pytest.importorskip("trueasync._core", reason="TrueAsync engine not built (pip install -e .)")
    out = tmp_path / "explore"
    code = cli.main(["explore", "--dataset", "cifar10", "--data-root", str(cifar_root), "--encoding", "direct",
                     "--downsample", "4", "--out", str(out), "--limit", "60", "--test-limit", "20",
                     "--minutes", "0.05", "--candidates", "1", "--screen", "1", "--budget", "4",
                     "--calib-samples", "4", "--designs-per-survivor", "1", "--threads", "1", "--seed", "1",
                     "--algo", "random", "--no-progress", "--no-baselines"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["encoding"] == "direct"
    points = [p for c in summary["candidates"] for p in c.get("on_chip", [])]
    assert code == 0 and points and summary["all_counts_equal_fixed_point"]
    assert all(p["counts_equal_fixed_point"] for p in points)
    assert cli.main(["explore", "--encoding", "grey", "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()
