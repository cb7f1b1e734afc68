"""An analytic stand-in for `trueasync.simulate` and `trueasync.map_network`.

It is *not* the simulator: it exists so that the search machinery (space, evaluator, env, RL,
baselines) can be unit-tested quickly and deterministically, with a cost landscape whose shape
resembles the real one (energy ~ V^2, delay by the alpha-power law, more lanes = faster and
larger, bigger SRAM = more area and access energy, more cores = more hops and more area).
Every search method sees the same function, so comparisons on it are fair but say nothing about
real chips. Benchmarks and `ancoef search` use the real engine.
"""

from __future__ import annotations

import math

import numpy as np

from trueasync.model import Architecture, Network
from trueasync.result import SimResult

from agent.space import WorkloadNeeds, check_design

V_NOM, V_T, ALPHA = 0.9, 0.3, 1.3


def _delay(v: float) -> float:
    """Alpha-power-law gate delay relative to the nominal voltage."""
    f = lambda x: x / (x - V_T) ** ALPHA  # noqa: E731
    return f(v) / f(V_NOM)


def surrogate_map(network: Network, arch: Architecture) -> np.ndarray:
    needs = WorkloadNeeds.of(network)
    reasons = check_design(arch, needs)
    if reasons:
        raise ValueError("; ".join(reasons))
    return np.arange(needs.n_neurons) // arch.neurons_per_core


def surrogate_figures(needs: WorkloadNeeds, arch: Architecture, rate: float, steps: int) -> tuple:
    v = arch.voltage_v if arch.voltage_v is not None else V_NOM
    cores = arch.n_cores
    used = min(cores, math.ceil(needs.n_neurons / arch.neurons_per_core))
    if arch.mapping == "spread":
        used = cores
    ops = needs.n_synapses * rate * steps + 1.0
    spikes = needs.n_neurons * rate * steps + 1.0
    tiles = arch.mesh_width * arch.mesh_height
    hop_factor = {"packed": 1.0, "spread": 1.5, "locality": 0.6}[arch.mapping]
    hops = spikes * hop_factor * (1 + math.sqrt(min(tiles, math.ceil(used / arch.cores_per_tile))))
    flits = math.ceil(32 / arch.link_width_bits)
    vs = (v / V_NOM) ** 2
    e_syn = 2e-12 * (0.6 + 0.4 * arch.weight_bits / 8) * (1 + 0.15 * math.log2(arch.synapse_memory_kib / 16))
    e_dyn = vs * (ops * e_syn + hops * flits * 3e-12 + spikes * 5e-12)
    area = cores * (
        arch.synapse_memory_kib * 0.004 + arch.neurons_per_core * 0.00025 + arch.synapse_lanes * 0.02
        + 0.05 + arch.fifo_depth * 0.002
    ) + tiles * (0.03 + arch.link_width_bits * 0.001)
    d = _delay(v)
    stall = 1.0 + 2.0 / arch.fifo_depth + 0.3 * (arch.cores_per_tile - 1) / 3
    lat = d * (
        ops / (used * arch.synapse_lanes) * 1e-9 * (0.5 + 0.5 * math.log2(arch.synapse_memory_kib / 8) / 7)
        + hops * flits * stall * 2e-9 / max(1, math.sqrt(tiles))
        + steps * 1e-8
    )
    energy = e_dyn + 1e-3 * area * lat
    return energy, lat, area


def surrogate_simulate(network: Network, arch: Architecture, inputs, *, semantics="timestep", preset="loihi", threads=None):
    surrogate_map(network, arch)
    inputs = np.asarray(inputs, dtype=bool)
    n, steps = inputs.shape[0], inputs.shape[1]
    rate = float(inputs.mean()) if inputs.size else 0.0
    needs = WorkloadNeeds.of(network)
    energy, lat, area = surrogate_figures(needs, arch, max(rate, 0.01), steps)
    layers = len(network.layers)
    sizes = np.array([layer.size for layer in network.layers], dtype=float)
    return SimResult(
        semantics=semantics,
        preset=str(preset),
        energy_j=np.full(n, energy),
        latency_s=np.full(n, lat),
        energy_breakdown_j={"static": np.zeros(n)},
        counts={},
        spikes_per_layer=np.tile(sizes * rate * steps, (n, 1)).reshape(n, layers),
        output_spike_counts=np.zeros((n, 1)),
        core_utilisation=np.zeros((n, 1)),
        core_dynamic_energy_j=np.zeros((n, 1)),
        core_of=np.zeros(needs.n_neurons, np.int64),
        area_mm2=float(area),
        static_power_w=0.0,
        critical_path_s=np.full(n, lat),
        serial_time_s=np.full(n, lat),
        wall_s=0.0,
    )
