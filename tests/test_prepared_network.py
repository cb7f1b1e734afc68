"""trueasync.PreparedNetwork: a network converted once gives the results of the Network itself,
bit for bit, in every mode; it is a snapshot; it is refused where only a Network will do."""

import numpy as np
import pytest

import trueasync as ta
from trueasync.workload import generate_conv, generate_mlp

FIELDS = ("energy_j", "latency_s", "quiescent_s", "critical_path_s", "serial_time_s", "core_of",
          "output_spike_counts", "core_utilisation", "core_dynamic_energy_j")


def assert_identical(a: ta.SimResult, b: ta.SimResult) -> None:
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.counts.keys() == b.counts.keys()
    for k in a.counts:
        assert np.array_equal(a.counts[k], b.counts[k]), k
    assert a.layer_names == b.layer_names
    assert all(np.array_equal(x, y) for x, y in zip(a.spike_trace, b.spike_trace))
    assert np.array_equal(a.timeline, b.timeline)


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
@pytest.mark.parametrize("schedule", ["asynchronous", "clocked"])
def test_prepared_network_gives_the_networks_results(semantics, schedule):
    wl = generate_mlp((40, 24, 10), timesteps=12, rate=0.3, samples=3, mesh=(2, 2), seed=5)
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=32)
    prepared = ta.PreparedNetwork(wl.network)
    assert prepared.n_inputs == 40 and prepared.layer_names == [layer.name for layer in wl.network.layers]
    kw = dict(semantics=semantics, schedule=schedule, preset="async28", trace=True, timeline=True, threads=2)
    assert_identical(ta.simulate(wl.network, arch, wl.inputs, **kw), ta.simulate(prepared, arch, wl.inputs, **kw))


def test_prepared_conv_network_and_a_given_mapping():
    wl = generate_conv((8, 8, 2), out_channels=4, kernel=3, stride=1, timesteps=6, samples=2, seed=1)
    arch = ta.Architecture(mesh_width=2, mesh_height=1, neurons_per_core=256)
    core_of = ta.map_network(wl.network, arch)[::-1].copy() % 2
    kw = dict(semantics="timestep", preset="loihi", core_of=core_of, trace=True, timeline=True)
    assert_identical(ta.simulate(wl.network, arch, wl.inputs, **kw),
                     ta.simulate(ta.PreparedNetwork(wl.network), arch, wl.inputs, **kw))


def test_a_prepared_network_is_a_snapshot():
    wl = generate_mlp((16, 8, 4), timesteps=8, rate=0.5, samples=1, mesh=(1, 1), seed=2)
    arch = ta.Architecture(mesh_width=1, mesh_height=1)
    prepared = ta.PreparedNetwork(wl.network)
    before = ta.simulate(wl.network, arch, wl.inputs)
    wl.network.projections[0].weights[:] = 0  # the Network changes; the snapshot does not
    again = ta.simulate(prepared, arch, wl.inputs)
    assert np.array_equal(again.counts["synaptic_ops"], before.counts["synaptic_ops"])
    assert np.array_equal(again.energy_j, before.energy_j)
    assert not np.array_equal(ta.simulate(wl.network, arch, wl.inputs).energy_j, before.energy_j)


def test_bad_input_to_a_prepared_network_is_named():
    wl = generate_mlp((16, 8, 4), timesteps=4, rate=0.5, samples=1, mesh=(1, 1), seed=2)
    prepared = ta.PreparedNetwork(wl.network)
    with pytest.raises(ta.SimulationError, match="16"):
        ta.simulate(prepared, ta.Architecture(mesh_width=1, mesh_height=1), np.zeros((1, 4, 15), bool))
    with pytest.raises(ta.SimulationError, match="trueasync.Network"):
        ta.PreparedNetwork("not a network")
