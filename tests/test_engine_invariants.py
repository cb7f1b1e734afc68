"""Invariants of the engine: the energy model, latency bounds, determinism, idle hardware,
synapse lanes and voltage scaling."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import trueasync as ta
from trueasync.workload import generate_conv, generate_mlp, generate_sparse


def _input_mask(network) -> np.ndarray:
    return np.array([isinstance(l, ta.InputLayer) for l in network.layers], dtype=bool)


def expected_energy(r: ta.SimResult, network, arch, costs: ta.CostModel) -> dict:
    """Energy per sample recomputed from the result's counts and the cost model (not the engine)."""
    v = arch.voltage_v if arch.voltage_v is not None else costs.nominal_voltage_v
    s = (v / costs.nominal_voltage_v) ** 2
    e = {k: costs.energy_j.get(k, 0.0) * s for k in
         ("soma_access", "soma_update", "soma_spike", "synapse_event", "message_out", "message_in",
          "east_hop", "west_hop", "north_hop", "south_hop", "token_out", "token_hop")}
    # docs/cost-model.md: the synaptic event at the design's weight width and memory size ...
    read = costs.synapse_read_j_per_bit * (
        arch.synapse_memory_kib / costs.reference_synapse_memory_kib) ** costs.sram_read_size_exponent
    e["synapse_event"] += s * (arch.weight_bits * (read + costs.lane_j_per_bit)
                               - costs.reference_weight_bits * (costs.synapse_read_j_per_bit
                                                                + costs.lane_j_per_bit))
    # ... and a flit-hop at the design's link width
    w_ref = costs.reference_link_width_bits
    width = 1 + costs.link_width_energy_share * (arch.link_width_bits - w_ref) / w_ref
    # the counts expose total hops only; a preset with one hop energy for all directions
    hop = {e[f"{d}_hop"] for d in ("east", "west", "north", "south")}
    assert len(hop) == 1, "this recomputation needs equal hop energies in every direction"
    hop = hop.pop() * width
    e["token_hop"] *= width
    # packet format: 2 kind bits + destination (x, y, core) + source (core, neuron) bits
    bits = lambda n: max(0, n - 1).bit_length()  # noqa: E731
    packet = 2 + bits(arch.mesh_width) + bits(arch.mesh_height) + bits(arch.cores_per_tile) \
        + bits(arch.n_cores) + bits(arch.neurons_per_core)
    assert packet == arch.packet_bits
    flits = math.ceil(packet / arch.link_width_bits)
    c = r.counts
    is_in = _input_mask(network)
    input_spikes = r.spikes_per_layer[:, is_in].sum(axis=1)
    lif_spikes = c["fired"] - input_spikes
    lif_updates = c["neuron_updates"] - input_spikes  # input neurons that fire count as updated
    out = {
        "synapse": e["synapse_event"] * c["synaptic_ops"],
        "soma": e["soma_access"] * c["neuron_accesses"] + e["soma_update"] * lif_updates
        + e["soma_spike"] * lif_spikes,
        "network": (e["message_out"] + e["message_in"]) * c["packets"] + hop * flits * c["hops"],
        "sync": e["token_out"] * (c["tokens"] + c["credits"]) + e["token_hop"] * flits * c["token_hops"],
        "static": r.static_power_w * r.latency_s,
    }
    out["total"] = sum(out.values())
    return out


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
@pytest.mark.parametrize("voltage", [0.5, 0.8])
def test_energy_is_counts_times_costs_plus_static(semantics, voltage):
    costs = ta.load_preset("async28")
    assert costs.nominal_voltage_v != voltage
    wl = generate_sparse((30, 24, 12, 6), samples=3, timesteps=12, rate=0.3, mesh=(3, 2), seed=7)
    arch = dataclasses.replace(wl.arch, voltage_v=voltage, link_width_bits=8, mapping="spread",
                               neurons_per_core=64, synapse_memory_kib=256)
    assert arch.flits_per_packet == 2
    r = ta.simulate(wl.network, arch, wl.inputs, semantics=semantics, preset="async28")
    assert r.counts["synaptic_ops"].sum() > 0 and r.counts["tokens"].sum() > 0
    assert r.counts["hops"].sum() > 0 and r.counts["token_hops"].sum() > 0
    want = expected_energy(r, wl.network, arch, costs)
    for unit in ("synapse", "soma", "network", "sync", "static"):
        np.testing.assert_allclose(r.energy_breakdown_j[unit], want[unit], rtol=1e-9, atol=0,
                                   err_msg=unit)
    np.testing.assert_allclose(r.energy_j, want["total"], rtol=1e-9, atol=0)
    # static power is leakage x area at the supply voltage; > 0 for async28
    assert r.static_power_w > 0
    assert np.all(r.energy_breakdown_j["static"] > 0)
    # per-core dynamic energies add up to the chip's dynamic energy
    np.testing.assert_allclose(r.core_dynamic_energy_j.sum(axis=1), r.dynamic_energy_j, rtol=1e-9)
    np.testing.assert_allclose(r.edp_js, r.energy_j * r.latency_s, rtol=1e-12)
    np.testing.assert_allclose(r.edp_snj, r.energy_j * r.latency_s * 1e9, rtol=1e-12)


def test_static_power_scales_linearly_with_voltage():
    wl = generate_mlp((20, 10), timesteps=3, samples=1, mesh=(2, 2))
    costs = ta.load_preset("async28")
    p = {}
    for v in (costs.nominal_voltage_v, 0.7):
        arch = dataclasses.replace(wl.arch, voltage_v=v)
        r = ta.simulate(wl.network, arch, wl.inputs, preset="async28")
        p[v] = (r.static_power_w, r.area_mm2)
    (p0, a0), (p1, a1) = p[costs.nominal_voltage_v], p[0.7]
    assert a0 == a1 > 0
    np.testing.assert_allclose(p0, costs.leakage_w_per_mm2 * a0, rtol=1e-12)
    np.testing.assert_allclose(p1, p0 * 0.7 / costs.nominal_voltage_v, rtol=1e-12)


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_latency_between_critical_path_and_serial_time(engine_cases, semantics):
    checked = 0
    for seed in range(60):
        case = engine_cases.build(engine_cases.rng(seed))
        preset = "async28" if seed % 2 else "loihi"
        arch = case.arch
        if seed % 3 == 0:
            arch = dataclasses.replace(arch, voltage_v=0.6 if preset == "async28" else 0.9)
        r = ta.simulate(case.network, arch, case.inputs, semantics=semantics, preset=preset,
                        core_of=case.core_of)
        lat, cp, ser = r.latency_s, r.critical_path_s, r.serial_time_s
        assert np.all(lat > 0), seed
        assert np.all(cp <= lat), (seed, cp, lat)
        assert np.all(lat <= r.quiescent_s), (seed, lat, r.quiescent_s)
        assert np.all(r.quiescent_s <= ser), (seed, r.quiescent_s, ser)
        checked += r.n_samples
    assert checked >= 60


def _assert_results_identical(a: ta.SimResult, b: ta.SimResult):
    for f in dataclasses.fields(ta.SimResult):
        if f.name == "wall_s":
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, dict):
            assert x.keys() == y.keys(), f.name
            for k in x:
                assert np.array_equal(x[k], y[k]), f"{f.name}[{k}]"
        elif isinstance(x, list) and x and isinstance(x[0], np.ndarray):
            assert len(x) == len(y)
            for u, w in zip(x, y):
                assert np.array_equal(u, w), f.name
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_deterministic_across_runs_and_thread_counts(semantics):
    wl = generate_conv(in_shape=(8, 8, 2), out_channels=4, samples=6, timesteps=15, rate=0.3,
                       mesh=(3, 3), seed=9)
    arch = dataclasses.replace(wl.arch, fifo_depth=2)  # plenty of backpressure and arbitration
    runs = [
        ta.simulate(wl.network, arch, wl.inputs, semantics=semantics, preset="async28",
                    threads=t, trace=True, timeline=True)
        for t in (1, 1, 2, 2, None)
    ]
    assert runs[0].counts["stalls"].sum() > 0
    assert len(set(runs[0].latency_s.tolist())) > 1  # the samples really differ
    for other in runs[1:]:
        _assert_results_identical(runs[0], other)
    # every sample alone gives what it gave in the batch
    for s in (0, 5):
        alone = ta.simulate(wl.network, arch, wl.inputs[s:s + 1], semantics=semantics,
                            preset="async28", threads=1)
        assert alone.latency_s[0] == runs[0].latency_s[s]
        assert alone.energy_j[0] == runs[0].energy_j[s]
        for k, v in alone.counts.items():
            assert v[0] == runs[0].counts[k][s], k


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_idle_cores_cost_nothing(semantics):
    wl = generate_mlp((30, 20, 10), timesteps=10, rate=0.3, samples=2, seed=3)
    arch = ta.Architecture(mesh_width=4, mesh_height=4, neurons_per_core=32, mapping="packed")
    r = ta.simulate(wl.network, arch, wl.inputs, semantics=semantics, preset="async28")
    used = np.unique(r.core_of)
    assert used.tolist() == [0, 1]  # 60 neurons packed 32 to a core
    idle = np.setdiff1d(np.arange(arch.n_cores), used)
    assert r.core_dynamic_energy_j[:, idle].tolist() == [[0.0] * idle.size] * 2
    assert r.core_utilisation[:, idle].tolist() == [[0.0] * idle.size] * 2
    assert np.all(r.core_dynamic_energy_j[:, used] > 0)
    assert np.all(r.core_utilisation[:, used] > 0)
    assert np.all((r.core_utilisation >= 0) & (r.core_utilisation <= 1))


def _silent_branch_network(with_branch: bool):
    rng = np.random.default_rng(0)
    layers = [ta.InputLayer("in", 12), ta.LifLayer("h", 10, threshold=6, leak_num=3, leak_shift=2)]
    projections = [ta.DenseProjection("in", "h", rng.integers(-3, 6, (12, 10)))]
    if with_branch:
        # a second input whose neurons never spike, feeding a LIF layer with bias 0
        layers += [ta.InputLayer("quiet", 5), ta.LifLayer("idle", 7, threshold=4, bias=0)]
        projections += [
            ta.DenseProjection("quiet", "idle", rng.integers(1, 5, (5, 7))),
            ta.SparseProjection("quiet", "idle", np.array([0, 1]), np.array([3, 3]), np.array([2, 2])),
        ]
    return ta.Network(tuple(layers), tuple(projections), weight_scale=1 / 8)


def test_silent_lif_partition_costs_no_soma_or_synapse_energy():
    rng = np.random.default_rng(1)
    steps, samples = 12, 2
    active = rng.random((samples, steps, 12)) < 0.5
    base_net, net = _silent_branch_network(False), _silent_branch_network(True)
    inputs = np.concatenate([active, np.zeros((samples, steps, 5), bool)], axis=2)
    # in, h on core 0; quiet on core 1; idle on core 2 (its own partition and core)
    core_of = np.array([0] * 12 + [0] * 10 + [1] * 5 + [2] * 7)
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=64)
    loihi = "loihi"  # no token energy: a core's dynamic energy is synapse + soma + packets
    r = ta.simulate(net, arch, inputs, semantics="timestep", preset=loihi, core_of=core_of)
    base = ta.simulate(base_net, arch, active, semantics="timestep", preset=loihi,
                       core_of=core_of[:22])
    assert r.spikes_per_layer[:, 1].sum() > 0 and r.spikes_per_layer[:, 2:].sum() == 0
    assert r.core_dynamic_energy_j[:, 2].tolist() == [0.0, 0.0]
    assert r.core_dynamic_energy_j[:, 1].tolist() == [0.0, 0.0]
    for unit in ("synapse", "soma", "network"):
        assert r.energy_breakdown_j[unit].tolist() == base.energy_breakdown_j[unit].tolist(), unit
    assert r.counts["neuron_accesses"].tolist() == base.counts["neuron_accesses"].tolist()
    # sanafe semantics accesses every neuron every step: exactly soma_access per idle neuron-step
    s = ta.simulate(net, arch, inputs, semantics="sanafe", preset=loihi, core_of=core_of)
    e_access = ta.load_preset(loihi).energy_j["soma_access"]
    np.testing.assert_allclose(s.core_dynamic_energy_j[:, 2], [7 * steps * e_access] * 2, rtol=1e-12)


def _lane_workloads():
    return {
        "mlp": generate_mlp((64, 48, 32, 10), timesteps=12, rate=0.3, samples=2, mesh=(2, 2), seed=1),
        "conv": generate_conv(samples=2, timesteps=12, mesh=(2, 2), seed=4),
        "sparse": generate_sparse((40, 30, 10), samples=2, timesteps=15, mesh=(2, 2), seed=2),
    }


@pytest.mark.parametrize("name", ["mlp", "conv", "sparse"])
@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_more_synapse_lanes_never_increase_latency(name, semantics):
    wl = _lane_workloads()[name]
    latencies = []
    for lanes in (1, 2, 4, 8, 16):
        arch = dataclasses.replace(wl.arch, synapse_lanes=lanes)
        r = ta.simulate(wl.network, arch, wl.inputs, semantics=semantics, preset="async28",
                        core_of=wl.core_of)
        assert np.array_equal(r.core_of, wl.core_of)
        latencies.append(r.latency_s)
    lat = np.stack(latencies)  # [lanes, sample]
    increases = [(l1, l2, s, lat[i, s], lat[i + 1, s])
                 for i, (l1, l2) in enumerate(zip((1, 2, 4, 8), (2, 4, 8, 16)))
                 for s in range(lat.shape[1]) if lat[i + 1, s] > lat[i, s]]
    assert not increases, f"latency rose with more lanes (lanes a->b, sample, before, after): {increases}"
    assert np.all(lat[-1] < lat[0])  # and 16 lanes really are faster than 1


def test_more_synapse_lanes_golden_workload():
    from pathlib import Path

    from trueasync.workload import load_workload

    prefix = Path(__file__).resolve().parents[1].parent / "shared" / "workloads" / "mlp_784-512-256-10_T100_16c"
    if not prefix.with_suffix(".json").is_file():
        pytest.skip("the golden workload needs the sibling shared/ folder")
    wl = load_workload(prefix)
    lat = []
    for lanes in (1, 2, 4, 8, 16):
        arch = dataclasses.replace(wl.arch, synapse_lanes=lanes)
        lat.append(float(ta.simulate(wl.network, arch, wl.inputs, semantics="sanafe",
                                     preset="loihi", core_of=wl.core_of).latency_s[0]))
    assert all(b <= a for a, b in zip(lat, lat[1:])), lat
    assert lat[-1] < lat[0]


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_lower_voltage_less_dynamic_energy_more_latency(semantics):
    costs = ta.load_preset("async28")
    wl = generate_mlp((40, 30, 10), timesteps=10, rate=0.3, samples=2, mesh=(2, 2), seed=8)
    volts = [0.45, 0.5, costs.nominal_voltage_v, 0.7, 0.9]
    res = {}
    for v in volts:
        arch = dataclasses.replace(wl.arch, voltage_v=v)
        res[v] = ta.simulate(wl.network, arch, wl.inputs, semantics=semantics, preset="async28",
                             core_of=wl.core_of)
    nominal = res[costs.nominal_voltage_v]
    for lo, hi in zip(volts, volts[1:]):
        a, b = res[lo], res[hi]
        assert np.all(a.dynamic_energy_j < b.dynamic_energy_j), (lo, hi)
        assert np.all(a.latency_s > b.latency_s), (lo, hi)
        # the same events at another voltage: dynamic energy scales exactly by (V/V0)^2
        np.testing.assert_allclose(a.dynamic_energy_j / b.dynamic_energy_j, (lo / hi) ** 2,
                                   rtol=1e-9)
        for k in ("fired", "synaptic_ops", "packets", "hops", "tokens", "credits", "token_hops"):
            assert a.counts[k].tolist() == b.counts[k].tolist(), k
    # the delay follows the alpha-power law V / (V - Vt)^alpha relative to nominal
    vt, alpha, v0 = costs.threshold_voltage_v, costs.alpha, costs.nominal_voltage_v
    for v in volts:
        want = (v / (v - vt) ** alpha) / (v0 / (v0 - vt) ** alpha)
        np.testing.assert_allclose(res[v].latency_s / nominal.latency_s, want, rtol=1e-3,
                                   err_msg=f"V={v}")


def _lanes_runs(network, arch, inputs, semantics, core_of, lanes=(1, 2, 4, 8, 16)):
    out = []
    for k in lanes:
        r = ta.simulate(network, dataclasses.replace(arch, synapse_lanes=k), inputs,
                        semantics=semantics, preset="async28", core_of=core_of)
        assert np.array_equal(r.core_of, core_of)
        out.append(r)
    return out


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_more_synapse_lanes_shorten_the_work_random(engine_cases, semantics):
    """Random small networks, mapping fixed: more lanes never add work, and 16 lanes never lose
    to 1 lane. Step-to-step monotonicity is not asserted: greedy, non-preemptive asynchronous
    scheduling has timing anomalies (Graham 1969), where a faster unit reorders arrivals and a
    later step waits a few ns longer (documented in docs/simulator.md); over many cases 16 lanes
    must still be faster than 1."""
    total_1, total_16 = 0.0, 0.0
    for seed in range(50):
        case = engine_cases.build(engine_cases.rng(seed))
        core_of = case.core_of if case.core_of is not None else ta.map_network(case.network, case.arch)
        runs = _lanes_runs(case.network, case.arch, case.inputs, semantics, core_of)
        serial = np.stack([r.serial_time_s for r in runs])
        assert np.all(np.diff(serial, axis=0) <= 0), (seed, serial.T.tolist())
        for r in runs[1:]:
            assert r.counts["synaptic_ops"].tolist() == runs[0].counts["synaptic_ops"].tolist()
        total_1 += float(runs[0].latency_s.sum())
        total_16 += float(runs[-1].latency_s.sum())
    assert total_16 < total_1, (total_1, total_16)


def test_mapping_policies_place_every_neuron_within_capacity(engine_cases):
    for seed in range(40):
        case = engine_cases.build(engine_cases.rng(seed))
        n = case.network.n_neurons
        for policy in ("packed", "spread", "locality"):
            arch = dataclasses.replace(case.arch, mapping=policy, neurons_per_core=n)
            core_of = ta.map_network(case.network, arch)
            assert core_of.shape == (n,)
            assert core_of.min() >= 0 and core_of.max() < arch.n_cores
            assert np.bincount(core_of).max() <= arch.neurons_per_core
        # packed fills cores in neuron order, neurons_per_core to a core
        npc = -(-n // case.arch.n_cores)
        arch = dataclasses.replace(case.arch, mapping="packed", neurons_per_core=npc)
        assert ta.map_network(case.network, arch).tolist() == (np.arange(n) // npc).tolist()
        # and simulate() uses exactly that mapping
        r = ta.simulate(case.network, arch, case.inputs[:1, :2], preset="loihi")
        assert r.core_of.tolist() == (np.arange(n) // npc).tolist()
