"""TrueAsync: a fast, fully asynchronous simulator of many-core neuromorphic chips.

The engine is Rust (`sim-rs/engine`); `trueasync._core` is its thin PyO3 binding. This package
adds the plain-Python model (`trueasync.model`) and the result type.

    import trueasync as ta
    result = ta.simulate(network, ta.Architecture(), inputs, semantics="timestep", preset="loihi")

The extension is loaded on first use of a name that needs it (`simulate`, `SimulationError`, ...),
so `trueasync.model`, `trueasync.workload` and the trainer import without it.
"""

from __future__ import annotations

import importlib

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

# name -> module that defines it; importing that module loads the compiled extension
_LAZY = {name: "trueasync.api" for name in (
    "SimulationError", "area_and_static_power", "load_preset", "map_network", "preset_names",
    "simulate", "CancelToken", "SimulationCancelled", "event_costs", "PreparedNetwork",
)}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trueasync' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Architecture",
    "CancelToken",
    "Conv2dProjection",
    "CostModel",
    "DenseProjection",
    "InputLayer",
    "LifLayer",
    "Network",
    "PreparedNetwork",
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
