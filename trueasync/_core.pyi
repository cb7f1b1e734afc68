"""Type stubs of the native TrueAsync binding (sim-rs/binding). Use the `trueasync` package
instead of calling these directly: it converts the dataclasses of `trueasync.model`."""

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

class SimulationError(ValueError):
    """Bad input to the simulator; the message names the field and the limit."""

class SimulationCancelled(Exception):
    """The simulation was cancelled through its CancelToken (not a fault of the input)."""

class CancelToken:
    """A flag another thread can set to stop a running simulation; it cannot be reset."""

    def __init__(self) -> None: ...
    def cancel(self) -> None:
        """Ask every simulation given this token to stop (safe from any thread, at any time)."""
    @property
    def cancelled(self) -> bool: ...

class PreparedNetwork:
    """A network dict converted to the engine's types once; `simulate` takes it in place of the
    dict, with identical results."""

    def __init__(self, network: dict[str, Any]) -> None: ...
    @property
    def n_inputs(self) -> int: ...

def simulate(
    network: dict[str, Any] | PreparedNetwork,
    arch: dict[str, Any],
    costs_json: str,
    inputs: npt.NDArray[np.uint8],
    semantics: str,
    core_of: Optional[npt.NDArray[np.int64]] = None,
    threads: Optional[int] = None,
    trace: bool = False,
    timeline: bool = False,
    cancel: Optional[CancelToken] = None,
    schedule: str = "asynchronous",
) -> dict[str, Any]:
    """Simulate `inputs` (uint8 [sample, step, input neuron], C-contiguous); releases the GIL.

    `schedule` is "asynchronous" or "clocked" (a global barrier per step).
    Raises SimulationCancelled once `cancel` is cancelled (checked every step of the functional
    pass and every few thousand events of the timing pass).

    Returns per-sample numpy arrays (`energy_j`, `latency_s`, `quiescent_s`, `critical_path_s`,
    `serial_time_s`), `energy_breakdown_j` and `counts` dicts of arrays, `spikes_per_layer`,
    `output_spike_counts`, `core_utilisation`, `core_dynamic_energy_j`, `core_of`, `area_mm2`,
    `static_power_w`, `wall_s`, and, when asked, `spike_trace` (list of bool [sample, step,
    neuron]) and `timeline` (dict of columns).
    """

def map_network(network: dict[str, Any], arch: dict[str, Any]) -> npt.NDArray[np.int64]:
    """The core of every neuron under the architecture's mapping policy."""

def preset_json(name: str) -> str:
    """The JSON text of a built-in cost preset."""

def preset_names() -> list[str]: ...

def check_costs(costs_json: str) -> None:
    """Raise SimulationError when a cost model is malformed."""

def area_and_static_power(arch: dict[str, Any], costs_json: str) -> tuple[float, float]:
    """Area (mm^2) and static power (W) of an architecture under a cost model."""

def event_costs(arch: dict[str, Any], costs_json: str) -> dict[str, Any]:
    """Per-event energies (J) and latencies (s) as charged on `arch`, `packet_bits` and
    `flits_per_packet`."""
