"""TrueAsync: a fast, fully asynchronous simulator of many-core neuromorphic chips.

The engine is Rust (`sim-rs/engine`); `trueasync._core` is its thin PyO3 binding. This package
adds the plain-Python model (`trueasync.model`) and the result type.

    import trueasync as ta
    result = ta.simulate(network, ta.Architecture(), inputs, semantics="timestep", preset="loihi")
"""

from __future__ import annotations

from trueasync.model import (
    Architecture,
    Conv2dProjection,
    CostModel,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)
from trueasync.result import SimResult
from trueasync.api import SimulationError, area_and_static_power, load_preset, map_network, preset_names, simulate
from trueasync.api import CancelToken, SimulationCancelled, event_costs

__all__ = [
    "Architecture",
    "CancelToken",
    "Conv2dProjection",
    "CostModel",
    "DenseProjection",
    "InputLayer",
    "LifLayer",
    "Network",
    "SimResult",
    "SimulationCancelled",
    "SimulationError",
    "SparseProjection",
    "area_and_static_power",
    "event_costs",
    "load_preset",
    "map_network",
    "preset_names",
    "simulate",
]
