"""Every hardware-search parameter (agent/space.py) moves energy, latency or area in the direction
docs/cost-model.md ("What each parameter moves") states, on one fixed workload with async28."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest

import trueasync as ta

# The parameters of the hardware search space; a new one must get a test here.
SEARCH_PARAMETERS = ("mesh_width", "mesh_height", "cores_per_tile", "neurons_per_core",
                     "synapse_memory_kib", "weight_bits", "synapse_lanes", "fifo_depth",
                     "link_width_bits", "voltage_v", "mapping")

BASE = ta.Architecture(mesh_width=2, mesh_height=2, cores_per_tile=1, neurons_per_core=64,
                       synapse_memory_kib=64, weight_bits=4, synapse_lanes=1, fifo_depth=4,
                       link_width_bits=32, mapping="packed")


@lru_cache(maxsize=1)
def workload():
    """96-64-32-10 dense LIF network with 4-bit weights, 2 samples x 16 steps at rate 0.25."""
    rng = np.random.default_rng(3)
    sizes = (96, 64, 32, 10)
    layers = [ta.InputLayer("in", sizes[0])] + [
        ta.LifLayer(f"h{i}", s, threshold=12, leak_num=7, leak_shift=3) for i, s in enumerate(sizes[1:])
    ]
    projections = [
        ta.DenseProjection(layers[k].name, layers[k + 1].name, rng.integers(-3, 8, size=(sizes[k], sizes[k + 1])))
        for k in range(len(sizes) - 1)
    ]
    return ta.Network(layers, projections, weight_scale=1 / 16), rng.random((2, 16, sizes[0])) < 0.25


@lru_cache(maxsize=None)
def run(**changes) -> ta.SimResult:
    network, inputs = workload()
    return ta.simulate(network, dataclasses.replace(BASE, **changes), inputs, preset="async28")


def latency(r):
    return float(r.latency_s.mean())


def energy(r, unit=None):
    return float((r.dynamic_energy_j if unit is None else r.energy_breakdown_j[unit]).mean())


def test_every_search_parameter_has_a_test_here():
    from agent.space import PARAM_NAMES

    assert set(PARAM_NAMES) == set(SEARCH_PARAMETERS)
    assert set(SEARCH_PARAMETERS) <= {f.name for f in dataclasses.fields(ta.Architecture)}


@pytest.mark.parametrize("side", ["mesh_width", "mesh_height"])
def test_a_larger_mesh_costs_area_and_static_power(side):
    small, large = run(), run(**{side: 4})
    assert large.area_mm2 > small.area_mm2
    assert large.static_power_w > small.static_power_w
    assert np.all(large.energy_breakdown_j["static"] > small.energy_breakdown_j["static"] * 1.5)


def test_more_cores_per_tile_cost_area_and_share_routers():
    one, two = run(), run(cores_per_tile=2)
    assert two.area_mm2 > one.area_mm2
    # neighbouring layers now share a tile: fewer hops
    assert two.counts["hops"].sum() < one.counts["hops"].sum()


def test_more_neurons_per_core_cost_neuron_state_area():
    assert run(neurons_per_core=128).area_mm2 > run().area_mm2


def test_a_larger_synapse_memory_costs_area_and_read_energy():
    small, large = run(), run(synapse_memory_kib=256)
    assert large.area_mm2 > small.area_mm2
    # 4x the memory, twice the read energy per bit (square-root law); same synaptic events
    assert large.counts["synaptic_ops"].tolist() == small.counts["synaptic_ops"].tolist()
    assert energy(large, "synapse") > energy(small, "synapse")
    costs = ta.load_preset("async28")
    per_op = lambda arch: ta.event_costs(arch, costs)["energy_j"]["synapse_event"]  # noqa: E731
    grew = per_op(dataclasses.replace(BASE, synapse_memory_kib=256)) - per_op(BASE)
    assert grew == pytest.approx(BASE.weight_bits * costs.synapse_read_j_per_bit
                                 * ((256 / 1024) ** 0.5 - (64 / 1024) ** 0.5), rel=1e-9)


def test_wider_weights_cost_read_energy_and_lane_area():
    narrow, wide = run(), run(weight_bits=8)
    assert energy(wide, "synapse") > energy(narrow, "synapse")
    assert wide.area_mm2 > narrow.area_mm2
    assert latency(wide) == latency(narrow)  # one weight per lane per access at any width
    assert wide.spikes_per_layer.tolist() == narrow.spikes_per_layer.tolist()


def test_more_synapse_lanes_cut_latency_and_cost_area():
    one, eight = run(), run(synapse_lanes=8)
    assert latency(eight) < 0.5 * latency(one)  # this workload is synapse-bound
    assert eight.area_mm2 > one.area_mm2
    assert energy(eight) == pytest.approx(energy(one), rel=1e-12)  # same events


def test_deeper_fifos_cut_stalls_and_cost_buffer_area():
    shallow, deep = run(fifo_depth=2), run(fifo_depth=32)
    assert deep.area_mm2 > shallow.area_mm2
    assert deep.counts["stalls"].sum() < shallow.counts["stalls"].sum()
    assert latency(deep) <= latency(shallow)


def test_a_wider_link_trades_area_and_energy_against_latency():
    # 4x4 tiles of 1024 neurons: packets of 2 + (2 + 2) + (4 + 10) = 20 bits, 2 flits on 16 bits;
    # 16 lanes, so that links rather than synapse units set the pace
    big = dict(mesh_width=4, mesh_height=4, neurons_per_core=1024, mapping="spread", synapse_lanes=16)
    r16, r32, r64 = (run(link_width_bits=w, **big) for w in (16, 32, 64))
    assert dataclasses.replace(BASE, link_width_bits=16, **big).flits_per_packet == 2
    assert latency(r32) < latency(r16)  # one flit a hop instead of two
    assert float(r32.serial_time_s.mean()) < float(r16.serial_time_s.mean())
    assert r16.area_mm2 < r32.area_mm2 < r64.area_mm2
    # per packet-hop: 2 x (1 - 0.8 / 2) = 1.2, 1, and 1 + 0.8 = 1.8 flit-hops at 32 bits
    assert energy(r64, "network") > energy(r32, "network") < energy(r16, "network")
    assert latency(r64) == latency(r32)  # nothing left to gain from a 64-bit link here


def test_a_higher_supply_voltage_is_faster_and_costs_energy():
    low, high = run(voltage_v=0.5), run(voltage_v=0.8)
    assert latency(high) < latency(low)
    assert energy(high) > energy(low)
    assert energy(high) / energy(low) == pytest.approx((0.8 / 0.5) ** 2, rel=1e-9)


def test_mapping_spread_balances_load_and_locality_shortens_routes():
    packed, spread, locality = run(), run(mapping="spread"), run(mapping="locality")
    assert latency(spread) < latency(packed)
    assert locality.counts["hops"].sum() < min(packed.counts["hops"].sum(), spread.counts["hops"].sum())
    assert energy(locality, "network") < min(energy(packed, "network"), energy(spread, "network"))
    for r in (spread, locality):  # the function never changes
        assert r.spikes_per_layer.tolist() == packed.spikes_per_layer.tolist()
