"""`simulate` and friends: validate nothing here, convert once, call the engine."""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from trueasync.model import Architecture, CostModel, Network, Schedule, Semantics
from trueasync.result import SimResult


from trueasync._core import SimulationError  # noqa: E402  (ValueError subclass)
from trueasync._core import CancelToken, SimulationCancelled  # noqa: E402  (Exception subclass)


class PreparedNetwork:
    """`network` converted to the engine's types once: `simulate` takes it wherever it takes a
    Network, with identical results, and skips the conversion that otherwise runs on every call
    (about 1-3 ms for a network of half a million synapses). A snapshot: changing the Network's
    arrays afterwards does not change it. It keeps the layer names, not the Network."""

    __slots__ = ("name", "layer_names", "n_inputs", "_core")

    def __init__(self, network: Network):
        from trueasync import _convert

        self._core = _convert.prepare_network(network)
        self.name = network.name
        self.layer_names = [layer.name for layer in network.layers]
        self.n_inputs = self._core.n_inputs

    def __repr__(self) -> str:
        return f"PreparedNetwork({self.name!r}, layers={self.layer_names})"


def simulate(
    network: Union[Network, PreparedNetwork],
    arch: Architecture,
    inputs: np.ndarray,
    *,
    semantics: Semantics = "timestep",
    preset: Union[str, CostModel] = "loihi",
    core_of: Optional[np.ndarray] = None,
    threads: Optional[int] = None,
    trace: bool = False,
    timeline: bool = False,
    cancel: Optional[CancelToken] = None,
    schedule: Schedule = "asynchronous",
) -> SimResult:
    """Simulate `inputs` (bool [sample, step, input neuron]) on `arch`.

    `network`: a Network, or a PreparedNetwork of one (converted once, the same results).

    `core_of` (int [neuron], global neuron index) overrides the architecture's mapping policy.
    `threads` defaults to all cores; results do not depend on it.
    `cancel`: a `CancelToken`; calling its `cancel()` from another thread stops the simulation
    within milliseconds, and this call then raises `SimulationCancelled` (the GIL is released
    while the engine runs).
    `schedule`: `"asynchronous"` (self-timed, the default) or `"clocked"` (a global barrier per
    step, as a clocked chip or SANA-FE runs it); the function is the same, only the times and
    the synchronisation traffic differ (docs/simulator.md, "Schedules").
    """
    from trueasync import _convert

    return _convert.simulate(
        network, arch, inputs, semantics, preset, core_of, threads, trace, timeline, cancel, schedule
    )


def map_network(network: Network, arch: Architecture) -> np.ndarray:
    """The core of every neuron under `arch.mapping`, or SimulationError saying what does not fit."""
    from trueasync import _convert

    return _convert.map_network(network, arch)


def load_preset(name_or_path: str) -> CostModel:
    """A cost preset by name (`loihi`, `async28`) or from a JSON file in the same format."""
    from trueasync import _convert

    return _convert.load_preset(name_or_path)


def preset_names() -> list[str]:
    from trueasync import _convert

    return _convert.preset_names()


def area_and_static_power(arch: Architecture, preset: Union[str, CostModel] = "loihi") -> tuple[float, float]:
    """Area (mm^2) and static power (W) of `arch` under a cost model, without simulating."""
    from trueasync import _convert, _core

    return _core.area_and_static_power(_convert.arch_dict(arch), _convert.costs_json(preset)[1])


def event_costs(arch: Architecture, preset: Union[str, CostModel] = "loihi") -> dict:
    """What one event costs on `arch`, as the engine charges it (docs/cost-model.md).

    Returns `energy_j` and `latency_s` per event kind at the design's supply voltage (a
    synaptic event at its weight width and memory size; `*_hop` per packet and hop, all flits,
    at its link width), and the packet format's `packet_bits` and `flits_per_packet`.
    """
    from trueasync import _convert, _core

    return _core.event_costs(_convert.arch_dict(arch), _convert.costs_json(preset)[1])
