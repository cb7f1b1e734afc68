import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from agent.space import DEFAULT_CHOICES, HardwareSpace, WorkloadNeeds, parse_choices
from trueasync.model import Architecture


def test_default_space_is_designs_table():
    sp = HardwareSpace()
    d = sp.to_dict()
    assert d["mesh_width"] == list(range(1, 17)) and d["mesh_height"] == list(range(1, 17))
    assert d["cores_per_tile"] == [1, 2, 4]
    assert d["neurons_per_core"] == [64, 128, 256, 512, 1024, 2048, 4096]
    assert d["synapse_memory_kib"][0] == 16 and d["synapse_memory_kib"][-1] == 1024
    assert d["weight_bits"] == [2, 4, 8]
    assert d["synapse_lanes"] == [1, 2, 4, 8, 16]
    assert d["fifo_depth"][0] == 2 and d["fifo_depth"][-1] == 32
    assert d["link_width_bits"] == [16, 32, 64]
    assert d["voltage_v"][0] == 0.5 and d["voltage_v"][-1] == 0.9
    assert d["mapping"] == ["packed", "spread", "locality"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_encode_decode_roundtrip(data):
    sp = HardwareSpace()
    action = np.array([data.draw(st.integers(0, n - 1)) for n in sp.nvec])
    arch = sp.decode(action)
    assert isinstance(arch, Architecture)
    assert np.array_equal(sp.encode(arch), action)


def test_ranges_parse():
    sp = HardwareSpace.from_options({
        "mesh_width": "1:4", "neurons_per_core": "100:1000", "voltage_v": "0.6:0.7",
        "mapping": "locality,packed", "weight_bits": [8],
    })
    d = sp.to_dict()
    assert d["mesh_width"] == [1, 2, 3, 4]
    assert d["neurons_per_core"] == [128, 256, 512]
    assert d["voltage_v"] == [0.6, 0.65, 0.7]
    assert d["mapping"] == ["packed", "locality"]
    assert d["weight_bits"] == [8]
    assert sp.is_default_grid_subset()
    assert not HardwareSpace.from_options({"mesh_width": "1:32"}).is_default_grid_subset()


@pytest.mark.parametrize("name,spec,match", [
    ("mesh_width", "8:4", "empty range"),
    ("neurons_per_core", "3000:4000", "no power of two"),
    ("voltage_v", "0.71:0.74", "no 0.05 V step"),
    ("mesh_width", "", "empty"),
    ("mesh_width", "a:b", "not numeric"),
    ("mapping", "packed,diagonal", "unknown value"),
    ("mapping", "1:3", "categorical"),
    ("weight_bits", "0,8", "outside the template"),
    ("mesh_width", "2,2", "duplicate"),
    ("voltage_v", "0.5:", "lo:hi"),
])
def test_bad_ranges_are_value_errors(name, spec, match):
    with pytest.raises(ValueError, match=match) as exc:
        parse_choices(name, spec)
    assert name in str(exc.value)


def test_unknown_parameter():
    with pytest.raises(ValueError, match="unknown hardware parameter"):
        HardwareSpace.from_options({"clock_mhz": "1:2"})


def test_needs_and_checks(small_mlp, small_conv):
    n = WorkloadNeeds.of(small_mlp.network)
    assert n.n_neurons == 64 + 32 + 10 and n.n_lif == 42
    assert n.stored_weights == 64 * 32 + 32 * 10
    assert n.weight_bits == 8  # int8 numerators
    c = WorkloadNeeds.of(small_conv.network)
    assert c.stored_weights < c.n_synapses  # kernels stored once
    sp = HardwareSpace()
    ok = Architecture(mesh_width=1, mesh_height=1, neurons_per_core=128, synapse_memory_kib=16)
    assert sp.check(ok, n) == []
    bad = Architecture(mesh_width=1, mesh_height=1, neurons_per_core=64, synapse_memory_kib=1, weight_bits=4)
    reasons = " | ".join(sp.check(bad, n))
    assert "weight_bits 4 < 8" in reasons
    assert "neurons" in reasons and "synapse memory" in reasons


def test_weight_bits_needed_is_signed():
    from trueasync.model import DenseProjection, InputLayer, LifLayer, Network

    def net(w):
        return Network([InputLayer("i", 2), LifLayer("o", 1, threshold=1)],
                       [DenseProjection("i", "o", np.array(w).reshape(2, 1))])
    assert WorkloadNeeds.of(net([1, -2])).weight_bits == 2
    assert WorkloadNeeds.of(net([7, -8])).weight_bits == 4
    assert WorkloadNeeds.of(net([8, 0])).weight_bits == 5
    assert WorkloadNeeds.of(net([127, -128])).weight_bits == 8


def test_action_mask(small_mlp):
    sp = HardwareSpace()
    n = WorkloadNeeds.of(small_mlp.network)
    masks = dict(zip(sp.names, sp.action_mask(n)))
    assert masks["weight_bits"].tolist() == [False, False, True]
    assert masks["mesh_width"].all()
    assert sp.flat_mask(n).shape == (int(sp.nvec.sum()),)
    # a big network masks small capacities
    big = WorkloadNeeds(n_neurons=2_000_000, n_lif=1, layer_sizes=(1,), n_synapses=1, stored_weights=1,
                        max_fan_in=1, max_fan_out=1, weight_bits=2)
    m = dict(zip(sp.names, sp.action_mask(big)))
    assert not m["neurons_per_core"][:3].any()


def test_projection_to_user_space():
    full = HardwareSpace()
    user = HardwareSpace.from_options({"mesh_width": "2:3", "synapse_lanes": "4,8", "mapping": "locality"})
    rng = np.random.default_rng(1)
    for _ in range(50):
        arch = user.decode(user.project_from(full, full.sample(rng)))
        assert arch.mesh_width in (2, 3) and arch.synapse_lanes in (4, 8) and arch.mapping == "locality"
    a = full.encode(Architecture(mesh_width=16, synapse_lanes=1, voltage_v=0.7))
    arch = user.decode(user.project_from(full, a))
    assert arch.mesh_width == 3 and arch.synapse_lanes == 4
