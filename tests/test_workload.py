"""The neutral workload format (trueasync.workload): loading, round trips, generators, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from trueasync.model import Conv2dProjection, DenseProjection, LifLayer, SparseProjection
from trueasync.workload import (
    Workload,
    WorkloadError,
    generate_conv,
    generate_mlp,
    generate_sparse,
    leak_fraction,
    load_workload,
    save_workload,
    workload_diff,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOLDEN = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"
needs_golden = pytest.mark.skipif(
    not GOLDEN.with_suffix(".json").exists(), reason=f"{GOLDEN}.json not found"
)


@needs_golden
def test_load_reference_workload():
    wl = load_workload(GOLDEN)
    net = wl.network
    assert [l.size for l in net.layers] == [784, 512, 256, 10]
    assert net.weight_scale == 1 / 64
    fc1 = net.layers[1]
    assert isinstance(fc1, LifLayer)
    assert (fc1.threshold, fc1.leak_num, fc1.leak_shift, fc1.reset_value, fc1.bias) == (64, 7, 3, 0, 0)
    assert fc1.reset_mode == "hard"
    assert all(isinstance(p, DenseProjection) for p in net.projections)
    assert net.projections[0].weights.shape == (784, 512)
    assert wl.inputs.shape == (1, 100, 784) and wl.inputs.dtype == bool
    assert int(wl.inputs.sum()) == 7936
    assert wl.core_of.shape == (1562,)
    assert np.bincount(wl.core_of).tolist() == [98] * 15 + [92]
    a = wl.arch
    assert (a.mesh_width, a.mesh_height, a.cores_per_tile, a.neurons_per_core) == (4, 4, 1, 98)
    assert (a.fifo_depth, a.weight_bits, a.synapse_memory_kib) == (16, 8, 1024)
    assert wl.costs.name == "mesh4x4_16c"
    assert wl.costs.energy_j["synapse_event"] == 3.55e-11
    assert wl.costs.latency_s["message_in"] == 1.6e-08
    assert wl.costs.nominal_voltage_v == 1.0 and wl.costs.leakage_w_per_mm2 == 0.0
    assert wl.meta["seed"] == 0


@needs_golden
def test_reference_workload_round_trip(tmp_path):
    wl = load_workload(GOLDEN)
    save_workload(wl, tmp_path / "copy")
    back = load_workload(tmp_path / "copy")
    assert workload_diff(wl, back) is None
    assert back == wl


@pytest.mark.parametrize(
    "make",
    [
        lambda: generate_mlp((20, 16, 4), timesteps=7, samples=3, mesh=(2, 2), seed=3),
        lambda: generate_conv(samples=2, timesteps=5),
        lambda: generate_sparse(samples=2, timesteps=5),
    ],
    ids=["mlp", "conv", "sparse"],
)
def test_generated_round_trip(tmp_path, make):
    wl = make()
    jpath, npath = save_workload(wl, tmp_path / "w")
    assert jpath.name == "w.json" and npath.name == "w.npz"
    doc = json.loads(jpath.read_text())
    assert doc["version"] == 1 and doc["format"] == "snn-anchor-workload"
    back = load_workload(tmp_path / "w.json")  # either file name works as the prefix
    assert workload_diff(wl, back) is None
    assert back == wl
    # inputs stored packed along the neuron axis
    z = np.load(npath)
    assert z["inputs"].shape[-1] == (wl.network.n_inputs + 7) // 8


def test_generators_are_seeded_and_shaped():
    a = generate_mlp((30, 20, 5), timesteps=10, samples=2, seed=1, mesh=(2, 2))
    b = generate_mlp((30, 20, 5), timesteps=10, samples=2, seed=1, mesh=(2, 2))
    c = generate_mlp((30, 20, 5), timesteps=10, samples=2, seed=2, mesh=(2, 2))
    assert a == b and a != c
    assert a.inputs.shape == (2, 10, 30)
    assert a.network.weight_scale == 1 / 64
    assert all(p.weights.dtype == np.int8 for p in a.network.projections)
    assert a.network.layers[1].threshold == 64
    assert (a.network.layers[1].leak_num, a.network.layers[1].leak_shift) == (7, 3)
    # packed: ceil(55 / 4) = 14 neurons per core
    assert a.core_of.tolist() == [n // 14 for n in range(55)]
    assert a.arch.neurons_per_core == 14
    g = generate_mlp(n_cores=16, sizes=(784, 512, 256, 10), timesteps=2)
    assert (g.arch.mesh_width, g.arch.mesh_height) == (4, 4)
    assert g.arch.neurons_per_core == 98

    conv = generate_conv(in_shape=(6, 6, 1), out_channels=3, kernel=3, padding=0, n_out=4)
    assert conv.network.layers[1].shape == (4, 4, 3)
    assert isinstance(conv.network.projections[0], Conv2dProjection)
    assert conv.network.projections[0].weights.shape == (3, 1, 3, 3)
    sp = generate_sparse()
    assert all(isinstance(p, SparseProjection) for p in sp.network.projections)
    assert sp.network.projections[-1].pre == sp.network.projections[-1].post  # recurrent


def test_leak_fraction():
    assert leak_fraction(0.875) == (7, 3)
    assert leak_fraction(1.0) == (1, 0)
    assert leak_fraction(0.0) == (0, 0)
    assert leak_fraction(2**-16) == (1, 16)
    with pytest.raises(WorkloadError, match="not a binary fraction"):
        leak_fraction(0.9)
    with pytest.raises(WorkloadError, match="outside"):
        leak_fraction(1.5)


# ------------------------------------------------------------------------------------------
# errors


@pytest.fixture
def saved(tmp_path):
    wl = generate_mlp((6, 4, 2), timesteps=3, samples=1, mesh=(1, 1))
    save_workload(wl, tmp_path / "w")
    return tmp_path / "w"


def edit_json(prefix, fn):
    p = Path(str(prefix) + ".json")
    doc = json.loads(p.read_text())
    fn(doc)
    p.write_text(json.dumps(doc))


def test_missing_files(tmp_path, saved):
    with pytest.raises(WorkloadError, match=r"nothere\.json: no such workload file"):
        load_workload(tmp_path / "nothere")
    Path(str(saved) + ".npz").unlink()
    with pytest.raises(WorkloadError, match=r"w\.npz: no such workload file"):
        load_workload(saved)


def test_malformed_json(saved):
    Path(str(saved) + ".json").write_text("{ not json")
    with pytest.raises(WorkloadError, match=r"w\.json: malformed json"):
        load_workload(saved)


def test_non_integer_threshold(saved):
    def f(doc):
        doc["layers"][1]["threshold"] = 1.01
    edit_json(saved, f)
    with pytest.raises(WorkloadError, match=r"layer 'fc1': field 'threshold': 1\.01 is not an "
                                            r"integer multiple of weight_scale"):
        load_workload(saved)


def test_non_integer_bias_and_reset(saved):
    edit_json(saved, lambda d: d["layers"][2].update(bias=0.001))
    with pytest.raises(WorkloadError, match=r"layer 'fc2': field 'bias'"):
        load_workload(saved)
    edit_json(saved, lambda d: d["layers"][2].update(bias=0.0, reset=0.3))
    with pytest.raises(WorkloadError, match=r"layer 'fc2': field 'reset'"):
        load_workload(saved)


def test_bad_leak(saved):
    def f(doc):
        doc["layers"][1]["leak_decay"] = 0.9
        del doc["layers"][1]["leak_num"], doc["layers"][1]["leak_shift"]
    edit_json(saved, f)
    with pytest.raises(WorkloadError, match=r"layer 'fc1': field 'leak_decay': 0\.9 is not a "
                                            r"binary fraction"):
        load_workload(saved)


def test_missing_fields(saved):
    edit_json(saved, lambda d: d["layers"][1].pop("threshold"))
    with pytest.raises(WorkloadError, match=r"w\.json layer 'fc1': missing field 'threshold'"):
        load_workload(saved)
    edit_json(saved, lambda d: (d["layers"][1].update(threshold=1.0), d.pop("weight_scale")))
    with pytest.raises(WorkloadError, match=r"w\.json: missing field 'weight_scale'"):
        load_workload(saved)
    edit_json(saved, lambda d: (d.update(weight_scale=1 / 64), d["architecture"].pop("mesh_width")))
    with pytest.raises(WorkloadError, match=r"architecture: missing field 'mesh_width'"):
        load_workload(saved)


def test_bad_kind_and_version(saved):
    edit_json(saved, lambda d: d["projections"][0].update(kind="banana"))
    with pytest.raises(WorkloadError, match=r"projection in->fc1: field 'kind' must be"):
        load_workload(saved)
    edit_json(saved, lambda d: (d["projections"][0].update(kind="dense"), d.update(version=2)))
    with pytest.raises(WorkloadError, match=r"field 'version' is 2"):
        load_workload(saved)


def test_missing_array(saved):
    edit_json(saved, lambda d: d["projections"][0]["arrays"].update(w_q="nope"))
    with pytest.raises(WorkloadError, match=r"w\.npz: array 'nope' .* is missing"):
        load_workload(saved)


def test_unknown_layer_in_projection(saved):
    edit_json(saved, lambda d: d["projections"][0].update(post="ghost"))
    with pytest.raises(WorkloadError, match=r"no layer named 'ghost'"):
        load_workload(saved)


def test_workload_is_a_value_error():
    assert issubclass(WorkloadError, ValueError)
    assert isinstance(generate_mlp((4, 2), timesteps=1, mesh=(1, 1)), Workload)
