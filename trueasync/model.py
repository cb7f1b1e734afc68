"""Plain-Python descriptions of a network and an architecture for the TrueAsync engine.

These dataclasses are the engine's Python-side model (see docs/fixed-point.md for the arithmetic
and docs/simulator.md for the hardware template). The binding converts them to engine types in
one place (`trueasync._convert`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Sequence, Tuple, Union

import numpy as np

Shape = Tuple[int, int, int]  # (height, width, channels); neurons numbered channels-last
ResetMode = Literal["hard", "subtract"]
Semantics = Literal["timestep", "sanafe"]
Schedule = Literal["asynchronous", "clocked"]
SCHEDULES = ("asynchronous", "clocked")
MappingPolicy = Literal["packed", "spread", "locality"]


@dataclass(frozen=True)
class InputLayer:
    """Neurons driven by the input spike array (one column of `inputs` each)."""

    name: str
    size: int
    shape: Optional[Shape] = None


@dataclass(frozen=True)
class LifLayer:
    """Leaky integrate-and-fire neurons; values are integers in units of `weight_scale`."""

    name: str
    size: int
    threshold: int
    leak_num: int = 1
    leak_shift: int = 1
    bias: int = 0
    reset_mode: ResetMode = "hard"
    reset_value: int = 0
    shape: Optional[Shape] = None


@dataclass(frozen=True)
class DenseProjection:
    """All-to-all synapses; `weights[pre, post]` (integers)."""

    pre: str
    post: str
    weights: np.ndarray


@dataclass(frozen=True)
class Conv2dProjection:
    """Shared-kernel convolution; `weights[out_c, in_c, kh, kw]` (integers, PyTorch order)."""

    pre: str
    post: str
    weights: np.ndarray
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True)
class SparseProjection:
    """COO synapse list: `pre_index[k] -> post_index[k]` with weight `weights[k]`."""

    pre: str
    post: str
    pre_index: np.ndarray
    post_index: np.ndarray
    weights: np.ndarray


Layer = Union[InputLayer, LifLayer]
Projection = Union[DenseProjection, Conv2dProjection, SparseProjection]


@dataclass(frozen=True)
class Network:
    layers: Sequence[Layer]
    projections: Sequence[Projection]
    weight_scale: float = 1.0
    name: str = "network"

    @property
    def n_inputs(self) -> int:
        return sum(layer.size for layer in self.layers if isinstance(layer, InputLayer))

    @property
    def n_neurons(self) -> int:
        return sum(layer.size for layer in self.layers)

    def layer_offsets(self) -> list[int]:
        """Global index of each layer's first neuron (layers in list order)."""
        offsets, total = [], 0
        for layer in self.layers:
            offsets.append(total)
            total += layer.size
        return offsets


@dataclass(frozen=True)
class Architecture:
    """One point of the hardware template (DESIGN.md section 3)."""

    mesh_width: int = 4
    mesh_height: int = 4
    cores_per_tile: int = 1
    neurons_per_core: int = 1024
    synapse_memory_kib: int = 1024
    weight_bits: int = 8
    synapse_lanes: int = 1
    fifo_depth: int = 8
    link_width_bits: int = 32
    voltage_v: Optional[float] = None  # None: the cost preset's nominal voltage
    mapping: MappingPolicy = "packed"

    @property
    def n_cores(self) -> int:
        return self.mesh_width * self.mesh_height * self.cores_per_tile

    @property
    def packet_bits(self) -> int:
        """Bits of a spike packet, token or credit (docs/cost-model.md, "Packet format"): a
        2-bit kind, the destination tile (x, y) and core in the tile, the source core and
        neuron, no payload; each address field as wide as this design needs."""
        return (
            PACKET_HEADER_BITS
            + index_bits(self.mesh_width)
            + index_bits(self.mesh_height)
            + index_bits(self.cores_per_tile)
            + index_bits(self.n_cores)
            + index_bits(self.neurons_per_core)
        )

    @property
    def flits_per_packet(self) -> int:
        return -(-self.packet_bits // self.link_width_bits)


PACKET_HEADER_BITS = 2  # spike, end-of-step token, step credit


def index_bits(n: int) -> int:
    """Bits that number `n` things (0 for one thing)."""
    return max(0, int(n) - 1).bit_length()


@dataclass(frozen=True)
class CostModel:
    """Per-event energies (J) and latencies (s) plus voltage, static-power and area constants.

    Normally loaded from a preset file (`trueasync.load_preset("loihi")`); every field is
    documented in docs/cost-model.md.
    """

    name: str
    energy_j: dict = field(default_factory=dict)
    latency_s: dict = field(default_factory=dict)
    nominal_voltage_v: float = 1.0
    threshold_voltage_v: float = 0.3
    alpha: float = 1.3
    leakage_w_per_mm2: float = 0.0
    area: dict = field(default_factory=dict)
    # Design-dependent terms (docs/cost-model.md); the defaults leave every event flat, as a
    # SANA-FE architecture file describes it.
    synapse_read_j_per_bit: float = 0.0
    lane_j_per_bit: float = 0.0
    sram_read_size_exponent: float = 0.5
    link_width_energy_share: float = 0.0
    reference_weight_bits: int = 8
    reference_synapse_memory_kib: int = 1024
    reference_link_width_bits: int = 32
