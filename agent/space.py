"""The hardware search space (DESIGN.md section 3) and its feasibility rules.

A design is one choice per parameter. The space encodes a design as a vector of choice indices
(a gymnasium ``MultiDiscrete`` action) and decodes it to a `trueasync.Architecture`.

Ranges are configurable (``HardwareSpace.from_options``); they are validated up front, so a bad
range is a ``ValueError`` naming the parameter before any search work starts.

Feasibility: `WorkloadNeeds` holds what a network needs from a chip (neurons, synapse memory,
weight bits). `HardwareSpace.check` lists every reason a design cannot hold the network; the
checks here are *necessary* conditions computed analytically (no simulation) and the evaluator
adds the engine's own mapper (`trueasync.map_network`) as the final word. `action_mask` gives,
per parameter, the values that some completion of the design could still make feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from trueasync.model import (
    Architecture,
    Conv2dProjection,
    DenseProjection,
    InputLayer,
    Network,
    SparseProjection,
)

MAPPINGS = ("packed", "spread", "locality")
KIB_BITS = 8 * 1024


@dataclass(frozen=True)
class Param:
    """One searchable parameter: its Architecture field and the ordered list of choices."""

    name: str  # Architecture field
    choices: tuple
    grid: str  # how "lo:hi" ranges expand: "int", "pow2", "step0.05", "categorical"
    help: str = ""

    @property
    def n(self) -> int:
        return len(self.choices)

    @cached_property
    def _index_of(self) -> dict:
        return {c: i for i, c in enumerate(self.choices)}

    def index(self, value) -> int:
        i = self._index_of.get(value)  # exact hit (the common case); else the tolerant scan
        if i is not None:
            return i
        for i, c in enumerate(self.choices):
            if (isinstance(c, float) and isinstance(value, (int, float)) and abs(c - value) < 1e-9) or c == value:
                return i
        raise ValueError(f"{self.name}: value {value!r} is not one of the choices {list(self.choices)}")

    def position(self, value) -> float:
        """Where `value` sits on the parameter's default scale, in [0, 1] (log scale for pow2)."""
        if self.grid == "categorical":
            default = DEFAULT_CHOICES[self.name]
            return default.index(value) / max(1, len(default) - 1) if value in default else 0.5
        lo, hi = DEFAULT_BOUNDS[self.name]
        if self.grid in ("pow2", "log"):
            lo, hi, value = math.log2(lo), math.log2(hi), math.log2(max(value, 1e-9))
        if hi == lo:
            return 0.0
        return float(np.clip((value - lo) / (hi - lo), -1.0, 2.0))


# The defaults of DESIGN.md's table.
DEFAULT_CHOICES: dict[str, tuple] = {
    "mesh_width": tuple(range(1, 17)),
    "mesh_height": tuple(range(1, 17)),
    "cores_per_tile": (1, 2, 4),
    "neurons_per_core": tuple(2**k for k in range(6, 13)),  # 64 .. 4096
    "synapse_memory_kib": tuple(2**k for k in range(4, 11)),  # 16 .. 1024
    "weight_bits": (2, 4, 8),
    "synapse_lanes": (1, 2, 4, 8, 16),
    "fifo_depth": (2, 4, 8, 16, 32),
    "link_width_bits": (16, 32, 64),
    "voltage_v": tuple(round(0.5 + 0.05 * k, 2) for k in range(9)),  # 0.50 .. 0.90
    "mapping": MAPPINGS,
}
GRIDS = {
    "mesh_width": "int",
    "mesh_height": "int",
    "cores_per_tile": "pow2",
    "neurons_per_core": "pow2",
    "synapse_memory_kib": "pow2",
    "weight_bits": "pow2",
    "synapse_lanes": "pow2",
    "fifo_depth": "pow2",
    "link_width_bits": "pow2",
    "voltage_v": "step0.05",
    "mapping": "categorical",
}
HELP = {
    "mesh_width": "tiles along x",
    "mesh_height": "tiles along y",
    "cores_per_tile": "cores sharing one router",
    "neurons_per_core": "neuron capacity of a core",
    "synapse_memory_kib": "synapse SRAM per core (KiB)",
    "weight_bits": "bits per stored weight",
    "synapse_lanes": "parallel weight fetch/accumulate lanes per core",
    "fifo_depth": "unit FIFO / router buffer depth (packets)",
    "link_width_bits": "bits per flit",
    "voltage_v": "supply voltage (V)",
    "mapping": "neuron-to-core mapping policy",
}
PARAM_NAMES = tuple(DEFAULT_CHOICES)
DEFAULT_BOUNDS = {
    name: (min(c), max(c)) for name, c in DEFAULT_CHOICES.items() if GRIDS[name] != "categorical"
}
# Hard limits of the template: anything outside is refused as a bad setting.
VALUE_LIMITS = {
    "mesh_width": (1, 256),
    "mesh_height": (1, 256),
    "cores_per_tile": (1, 64),
    "neurons_per_core": (1, 1 << 20),
    "synapse_memory_kib": (1, 1 << 20),
    "weight_bits": (1, 16),
    "synapse_lanes": (1, 1024),
    "fifo_depth": (1, 4096),
    "link_width_bits": (1, 4096),
    "voltage_v": (0.1, 2.0),
}


def _expand(name: str, lo, hi) -> tuple:
    grid = GRIDS[name]
    if lo > hi:
        raise ValueError(f"{name}: empty range {lo}:{hi} (the lower end is above the upper end)")
    if grid == "int":
        return tuple(range(int(lo), int(hi) + 1))
    if grid == "pow2":
        out, v = [], 1
        while v <= hi:
            if v >= lo:
                out.append(v)
            v *= 2
        if not out:
            raise ValueError(f"{name}: empty range {lo}:{hi} (no power of two lies in it)")
        return tuple(out)
    if grid == "step0.05":
        k0, k1 = math.ceil(round(lo / 0.05, 6)), math.floor(round(hi / 0.05, 6))
        out = tuple(round(0.05 * k, 2) for k in range(k0, k1 + 1))
        if not out:
            out = (round(float(lo), 4),) if abs(lo - hi) < 1e-12 else ()
        if not out:
            raise ValueError(f"{name}: empty range {lo}:{hi} (no 0.05 V step lies in it)")
        return out
    raise ValueError(f"{name}: a categorical parameter takes a list such as packed,locality, not a range")


def parse_choices(name: str, spec: Union[str, Sequence, None]) -> tuple:
    """Choices of one parameter from ``"lo:hi"``, ``"a,b,c"``, a single value or a sequence."""
    if name not in DEFAULT_CHOICES:
        raise ValueError(f"unknown hardware parameter {name!r}; known: {', '.join(PARAM_NAMES)}")
    if spec is None:
        return DEFAULT_CHOICES[name]
    grid = GRIDS[name]
    conv = float if name == "voltage_v" else (str if grid == "categorical" else int)
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise ValueError(f"{name}: empty range ''")
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                raise ValueError(f"{name}: range {spec!r} must look like lo:hi")
            try:
                lo, hi = conv(parts[0]), conv(parts[1])
            except ValueError:
                raise ValueError(f"{name}: range {spec!r} is not numeric") from None
            values = _expand(name, lo, hi)
        else:
            items = [p.strip() for p in text.split(",") if p.strip()]
            if not items:
                raise ValueError(f"{name}: empty list {spec!r}")
            try:
                values = tuple(conv(p) for p in items)
            except ValueError:
                raise ValueError(f"{name}: {spec!r} holds a value that is not a {conv.__name__}") from None
    else:
        values = tuple(spec)
        if not values:
            raise ValueError(f"{name}: empty list of choices")
    return _validate_values(name, values)


def _validate_values(name: str, values: Iterable) -> tuple:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name}: empty list of choices")
    if GRIDS[name] == "categorical":
        bad = [v for v in values if v not in MAPPINGS]
        if bad:
            raise ValueError(f"{name}: unknown value(s) {bad}; choose from {', '.join(MAPPINGS)}")
    else:
        lo, hi = VALUE_LIMITS[name]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise ValueError(f"{name}: value {v!r} is not a number")
            if name != "voltage_v" and int(v) != v:
                raise ValueError(f"{name}: value {v!r} is not an integer")
            if not (lo <= v <= hi):
                raise ValueError(f"{name}: value {v} is outside the template's limits {lo}..{hi}")
        values = tuple(float(v) if name == "voltage_v" else int(v) for v in values)
    if len(set(values)) != len(values):
        raise ValueError(f"{name}: duplicate values in {list(values)}")
    return tuple(sorted(values, key=lambda v: MAPPINGS.index(v) if isinstance(v, str) else v))


@dataclass(frozen=True)
class WorkloadNeeds:
    """What a network needs from a chip; computed once per network from its layers and weights."""

    n_neurons: int  # all neurons, input neurons included (they are mapped to cores)
    n_lif: int
    layer_sizes: tuple
    n_synapses: int  # dense + sparse + conv synapse instances
    stored_weights: int  # weights that must be stored (conv kernels counted once)
    max_fan_in: int  # largest number of stored weights feeding one neuron
    max_fan_out: int
    weight_bits: int  # signed bits needed by the largest |weight|

    @classmethod
    def of(cls, network: Network) -> "WorkloadNeeds":
        sizes = {layer.name: layer.size for layer in network.layers}
        shapes = {layer.name: layer.shape for layer in network.layers}
        fan_in = {name: np.zeros(size, np.int64) for name, size in sizes.items()}
        fan_out = {name: np.zeros(size, np.int64) for name, size in sizes.items()}
        n_syn, stored, wmax, wmin = 0, 0, 0, 0
        for proj in network.projections:
            w = np.asarray(proj.weights)
            if w.size:
                wmax = max(wmax, int(np.max(w)))
                wmin = min(wmin, int(np.min(w)))
            if isinstance(proj, DenseProjection):
                n_pre, n_post = w.shape
                n_syn += w.size
                stored += w.size
                fan_in[proj.post] += n_pre
                fan_out[proj.pre] += n_post
            elif isinstance(proj, SparseProjection):
                n_syn += w.size
                stored += w.size
                np.add.at(fan_in[proj.post], np.asarray(proj.post_index, np.int64), 1)
                np.add.at(fan_out[proj.pre], np.asarray(proj.pre_index, np.int64), 1)
            elif isinstance(proj, Conv2dProjection):
                out_c, in_c, kh, kw = w.shape
                stored += w.size
                taps = in_c * kh * kw
                hi, wi, _ = shapes[proj.pre] or (1, 1, in_c)
                ho = (hi + 2 * proj.padding - kh) // proj.stride + 1
                wo = (wi + 2 * proj.padding - kw) // proj.stride + 1
                n_syn += ho * wo * out_c * taps  # upper bound (taps in padding are not synapses)
                fan_in[proj.post] += taps
                fan_out[proj.pre] += max(1, out_c * kh * kw // max(1, proj.stride**2))
            else:  # pragma: no cover - new projection kinds
                raise ValueError(f"unknown projection type {type(proj).__name__}")
        bits = 1  # signed two's complement: -2^(b-1) .. 2^(b-1)-1
        while wmax > (1 << (bits - 1)) - 1 or wmin < -(1 << (bits - 1)):
            bits += 1
        lif = [layer for layer in network.layers if not isinstance(layer, InputLayer)]
        return cls(
            n_neurons=int(sum(sizes.values())),
            n_lif=int(sum(layer.size for layer in lif)),
            layer_sizes=tuple(int(layer.size) for layer in network.layers),
            n_synapses=int(n_syn),
            stored_weights=int(stored),
            max_fan_in=int(max((int(a.max()) for a in fan_in.values() if a.size), default=0)),
            max_fan_out=int(max((int(a.max()) for a in fan_out.values() if a.size), default=0)),
            weight_bits=max(2, bits),
        )


@dataclass(frozen=True)
class HardwareSpace:
    """An ordered tuple of `Param`s; designs are index vectors into their choices."""

    params: tuple = field(default_factory=lambda: tuple(
        Param(n, DEFAULT_CHOICES[n], GRIDS[n], HELP[n]) for n in PARAM_NAMES
    ))

    @classmethod
    def from_options(cls, ranges: Optional[Mapping[str, Union[str, Sequence, None]]] = None) -> "HardwareSpace":
        """A space with some parameters restricted or widened, e.g. ``{"mesh_width": "1:8"}``."""
        ranges = dict(ranges or {})
        unknown = sorted(set(ranges) - set(PARAM_NAMES))
        if unknown:
            raise ValueError(f"unknown hardware parameter(s) {unknown}; known: {', '.join(PARAM_NAMES)}")
        params = tuple(
            Param(n, parse_choices(n, ranges.get(n)), GRIDS[n], HELP[n]) for n in PARAM_NAMES
        )
        return cls(params)

    # -- encoding ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple:
        return tuple(p.name for p in self.params)

    @property
    def nvec(self) -> np.ndarray:
        return np.array([p.n for p in self.params], dtype=np.int64)

    @property
    def size(self) -> int:
        return int(np.prod([p.n for p in self.params], dtype=object))

    def is_default_grid_subset(self) -> bool:
        """True when every choice is also a choice of the default (DESIGN.md) grid."""
        return all(set(p.choices) <= set(DEFAULT_CHOICES[p.name]) for p in self.params)

    def decode(self, action: Sequence[int]) -> Architecture:
        action = np.asarray(action).reshape(-1)
        if action.shape[0] != len(self.params):
            raise ValueError(f"a design has {len(self.params)} indices, got {action.shape[0]}")
        kwargs = {}
        for p, i in zip(self.params, action):
            i = int(i)
            if not 0 <= i < p.n:
                raise ValueError(f"{p.name}: index {i} out of range 0..{p.n - 1}")
            kwargs[p.name] = p.choices[i]
        return Architecture(**kwargs)

    def encode(self, arch: Architecture) -> np.ndarray:
        return np.array([p.index(getattr(arch, p.name)) for p in self.params], dtype=np.int64)

    def key(self, action: Sequence[int]) -> tuple:
        return tuple(int(i) for i in np.asarray(action).reshape(-1))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([rng.integers(p.n) for p in self.params], dtype=np.int64)

    def positions(self, action: Sequence[int]) -> np.ndarray:
        """The design as numbers in [0, 1] on the default scales (independent of the ranges)."""
        return np.array(
            [p.position(p.choices[int(i)]) for p, i in zip(self.params, np.asarray(action).reshape(-1))],
            dtype=np.float32,
        )

    def project_from(self, other: "HardwareSpace", action: Sequence[int]) -> np.ndarray:
        """Map a design of `other` to the nearest design of this space, parameter by parameter."""
        out = []
        for p, q, i in zip(self.params, other.params, np.asarray(action).reshape(-1)):
            v = q.choices[int(i)]
            if v in p.choices:
                out.append(p.choices.index(v))
            elif p.grid == "categorical":
                out.append(0)
            else:
                scale = (lambda x: math.log2(x)) if p.grid == "pow2" else (lambda x: x)
                out.append(int(np.argmin([abs(scale(c) - scale(v)) for c in p.choices])))
        return np.array(out, dtype=np.int64)

    def to_dict(self) -> dict:
        return {p.name: list(p.choices) for p in self.params}

    # -- feasibility --------------------------------------------------------------------------
    def check(self, arch: Architecture, needs: WorkloadNeeds) -> list[str]:
        """Every reason `arch` cannot hold the network (empty list: it passes these checks)."""
        return check_design(arch, needs)

    def action_mask(self, needs: WorkloadNeeds) -> list[np.ndarray]:
        """Per parameter, True where some choice of the other parameters could be feasible."""
        best = {p.name: max(p.choices) if p.grid != "categorical" else p.choices[0] for p in self.params}
        masks = []
        for p in self.params:
            m = np.zeros(p.n, dtype=bool)
            for i, c in enumerate(p.choices):
                arch = Architecture(**{**best, p.name: c})
                m[i] = not check_design(arch, needs)
            masks.append(m)
        return masks

    def flat_mask(self, needs: WorkloadNeeds) -> np.ndarray:
        return np.concatenate(self.action_mask(needs))


def check_design(arch: Architecture, needs: WorkloadNeeds) -> list[str]:
    reasons = []
    cores = arch.n_cores
    if arch.weight_bits < needs.weight_bits:
        reasons.append(
            f"weight_bits {arch.weight_bits} < {needs.weight_bits} bits needed by the largest weight"
        )
    capacity = cores * arch.neurons_per_core
    if capacity < needs.n_neurons:
        reasons.append(
            f"neurons: {cores} cores x {arch.neurons_per_core} = {capacity} < {needs.n_neurons} neurons"
        )
    mem_bits = arch.synapse_memory_kib * KIB_BITS
    total_bits = needs.stored_weights * arch.weight_bits
    if cores * mem_bits < total_bits:
        reasons.append(
            f"synapse memory: {cores} cores x {arch.synapse_memory_kib} KiB < "
            f"{math.ceil(total_bits / KIB_BITS)} KiB of {arch.weight_bits}-bit weights"
        )
    one = min(needs.max_fan_in, needs.max_fan_out) * arch.weight_bits
    if one > mem_bits:
        reasons.append(
            f"synapse memory: one neuron's {min(needs.max_fan_in, needs.max_fan_out)} synapses need "
            f"{math.ceil(one / KIB_BITS)} KiB > {arch.synapse_memory_kib} KiB per core"
        )
    return reasons


def shortfall(arch: Architecture, needs: WorkloadNeeds) -> float:
    """How far (sum of log2 ratios of need over capacity) an infeasible design is from fitting."""
    cores = arch.n_cores
    s = 0.0
    s += max(0.0, math.log2(needs.weight_bits / arch.weight_bits))
    s += max(0.0, math.log2(max(1, needs.n_neurons) / (cores * arch.neurons_per_core)))
    mem = arch.synapse_memory_kib * KIB_BITS
    s += max(0.0, math.log2(max(1, needs.stored_weights * arch.weight_bits) / (cores * mem)))
    return s


def with_params(arch: Architecture, **changes) -> Architecture:
    return replace(arch, **changes)
