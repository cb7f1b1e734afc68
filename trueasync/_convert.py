"""Python model -> the plain dicts and arrays the native `_core` takes, and its dict -> SimResult.

The binding checks types; this module checks what Python knows best (integral, finite numbers)
so that a NaN or a fractional threshold is reported with the field's name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Optional, Union

import numpy as np

from trueasync import _core
from trueasync.model import (
    Architecture,
    Conv2dProjection,
    CostModel,
    DenseProjection,
    InputLayer,
    LifLayer,
    SCHEDULES,
    Network,
    SparseProjection,
)
from trueasync.api import PreparedNetwork
from trueasync.result import SimResult

SimulationError = _core.SimulationError
INT32 = np.iinfo(np.int32)


def _integer(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise SimulationError(f"{what} must be an integer, got a boolean")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise SimulationError(f"{what} must be a finite integer, got {value}")
        if float(value).is_integer():
            return int(value)
    raise SimulationError(f"{what} must be an integer, got {value!r}")


def _int_array(values, what: str, dtype=np.int32) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise SimulationError(f"{what} contains NaN or infinite values")
        if not np.all(a == np.round(a)):
            raise SimulationError(f"{what} must hold integers (weights are in units of weight_scale)")
    elif a.dtype.kind not in "iub":
        raise SimulationError(f"{what} must be an integer array, got dtype {a.dtype}")
    info = np.iinfo(dtype)
    if a.size and (a.min() < info.min or a.max() > info.max):
        raise SimulationError(f"{what} has values outside the {np.dtype(dtype).name} range")
    return np.ascontiguousarray(a.astype(dtype).reshape(-1))


def _layer(layer) -> dict:
    what = f"layer '{getattr(layer, 'name', '?')}'"
    base = {"name": str(layer.name), "size": _integer(layer.size, f"{what}.size"), "shape": None}
    if base["size"] < 1:
        raise SimulationError(f"{what}: size must be at least 1, got {base['size']}")
    if layer.shape is not None:
        if len(layer.shape) != 3:
            raise SimulationError(f"{what}.shape must be (height, width, channels), got {layer.shape}")
        base["shape"] = tuple(_integer(s, f"{what}.shape") for s in layer.shape)
    if isinstance(layer, InputLayer):
        return {**base, "kind": "input"}
    if isinstance(layer, LifLayer):
        fields = ("threshold", "leak_num", "leak_shift", "bias", "reset_value")
        ints = {f: _integer(getattr(layer, f), f"{what}.{f}") for f in fields}
        for f in ("leak_num", "leak_shift"):
            if ints[f] < 0:
                raise SimulationError(f"{what}.{f} must be >= 0, got {ints[f]}")
        for f, v in ints.items():
            if not INT32.min <= v <= INT32.max:
                raise SimulationError(f"{what}.{f} = {v} is outside the 32-bit range")
        return {**base, "kind": "lif", "reset_mode": str(layer.reset_mode), **ints}
    raise SimulationError(f"unknown layer type {type(layer).__name__}")


def _projection(p, index: dict[str, int], sizes: dict[str, int]) -> dict:
    label = f"projection {p.pre}->{p.post}"
    for end in (p.pre, p.post):
        if end not in index:
            raise SimulationError(f"{label}: no layer is named '{end}'")
    out = {"pre": index[p.pre], "post": index[p.post], "label": label}
    if isinstance(p, DenseProjection):
        w = np.asarray(p.weights)
        expected = (sizes[p.pre], sizes[p.post])
        if w.shape != expected:
            raise SimulationError(
                f"{label}: dense weights must have shape [{expected[0]}, {expected[1]}] ([pre, post]), got {list(w.shape)}"
            )
        return {**out, "kind": "dense", "weights": _int_array(w, f"{label} weights")}
    if isinstance(p, Conv2dProjection):
        w = np.asarray(p.weights)
        if w.ndim != 4:
            raise SimulationError(f"{label}: conv2d weights must be 4-D [out_c, in_c, kh, kw], got {w.shape}")
        oc, ic, kh, kw = w.shape
        return {
            **out,
            "kind": "conv2d",
            "weights": _int_array(w, f"{label} weights"),
            "out_channels": oc,
            "in_channels": ic,
            "kernel_h": kh,
            "kernel_w": kw,
            "stride": _integer(p.stride, f"{label}.stride"),
            "padding": _integer(p.padding, f"{label}.padding"),
        }
    if isinstance(p, SparseProjection):
        idx = {}
        for name in ("pre_index", "post_index"):
            a = np.asarray(getattr(p, name))
            if a.size and a.min() < 0:
                raise SimulationError(f"{label}: {name} has negative entries")
            idx[name] = _int_array(a, f"{label} {name}", np.uint32)
        return {**out, "kind": "sparse", "weights": _int_array(p.weights, f"{label} weights"), **idx}
    raise SimulationError(f"{label}: unknown projection type {type(p).__name__}")


def network_dict(network: Network) -> dict:
    if not isinstance(network, Network):
        raise SimulationError(f"network must be a trueasync.Network, got {type(network).__name__}")
    scale = float(network.weight_scale)
    if not math.isfinite(scale) or scale <= 0:
        raise SimulationError(f"network.weight_scale must be a positive finite number, got {network.weight_scale}")
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    sizes = {layer.name: layer.size for layer in network.layers}
    return {
        "weight_scale": scale,
        "layers": [_layer(layer) for layer in network.layers],
        "projections": [_projection(p, index, sizes) for p in network.projections],
    }


def prepare_network(network: Network) -> "_core.PreparedNetwork":
    return _core.PreparedNetwork(network_dict(network))


def arch_dict(arch: Architecture) -> dict:
    if not isinstance(arch, Architecture):
        raise SimulationError(f"arch must be a trueasync.Architecture, got {type(arch).__name__}")
    d = dataclasses.asdict(arch)
    for key, value in d.items():
        if key in ("mapping", "voltage_v"):
            continue
        d[key] = _integer(value, f"architecture.{key}")
        if d[key] <= 0:
            raise SimulationError(f"invalid architecture: {key} must be at least 1, got {d[key]}")
    if d["voltage_v"] is not None:
        v = float(d["voltage_v"])
        if not math.isfinite(v) or v <= 0:
            raise SimulationError(f"invalid architecture: voltage_v must be a positive finite number, got {v}")
        d["voltage_v"] = v
    return d


def costs_json(preset: Union[str, CostModel]) -> tuple[str, str]:
    """(name, JSON text) of a preset name, a preset file path or a CostModel."""
    if isinstance(preset, CostModel):
        data = dataclasses.asdict(preset)
        for table in ("energy_j", "latency_s", "area"):
            for key, value in data[table].items():
                if not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise SimulationError(f"invalid cost model: {preset.name}: {table}.{key} must be finite, got {value}")
        return preset.name, json.dumps(data, allow_nan=False)
    if isinstance(preset, str) and preset in _core.preset_names():
        return preset, _core.preset_json(preset)
    if isinstance(preset, str) and os.path.isfile(preset):
        with open(preset, encoding="utf-8") as f:
            text = f.read()
        _core.check_costs(text)
        return json.loads(text).get("name", preset), text
    raise SimulationError(
        f"unknown cost preset {preset!r}: use one of {', '.join(_core.preset_names())}, "
        "a preset JSON file, or a trueasync.CostModel"
    )


def load_preset(name_or_path: str) -> CostModel:
    _, text = costs_json(name_or_path)
    data = json.loads(text)
    fields = {f.name for f in dataclasses.fields(CostModel)}
    return CostModel(**{k: v for k, v in data.items() if k in fields})


def preset_names() -> list[str]:
    return list(_core.preset_names())


def _inputs(inputs: np.ndarray) -> np.ndarray:
    a = np.asarray(inputs)
    if a.ndim != 3:
        raise SimulationError(f"invalid inputs: expected a 3-D array [sample, step, input neuron], got shape {a.shape}")
    if a.dtype != np.bool_:
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise SimulationError("invalid inputs: the spike array contains NaN or infinite values")
        if a.size and not np.all((a == 0) | (a == 1)):
            raise SimulationError("invalid inputs: spikes must be 0/1 or boolean")
    return np.ascontiguousarray(a.astype(np.uint8))


def simulate(
    network: Network,
    arch: Architecture,
    inputs: np.ndarray,
    semantics: str,
    preset: Union[str, CostModel],
    core_of: Optional[np.ndarray],
    threads: Optional[int],
    trace: bool,
    timeline: bool,
    cancel: Optional[_core.CancelToken] = None,
    schedule: str = "asynchronous",
) -> SimResult:
    if schedule not in SCHEDULES:
        raise SimulationError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if cancel is not None and not isinstance(cancel, _core.CancelToken):
        raise SimulationError(f"cancel must be a trueasync.CancelToken or None, got {type(cancel).__name__}")
    preset_name, text = costs_json(preset)
    spikes = _inputs(inputs)
    placement = None if core_of is None else np.ascontiguousarray(_int_array(core_of, "core_of", np.int64))
    if threads is not None:
        threads = _integer(threads, "threads")
        if threads < 1:
            raise SimulationError(f"threads must be at least 1, got {threads}")
    if isinstance(network, PreparedNetwork):
        engine_network, layer_names = network._core, network.layer_names
    else:
        engine_network, layer_names = network_dict(network), [layer.name for layer in network.layers]
    raw = _core.simulate(
        engine_network, arch_dict(arch), text, spikes, str(semantics), placement, threads, trace, timeline,
        cancel, schedule,
    )
    return _result(raw, layer_names, str(semantics), preset_name, schedule)


def _result(raw: dict, layer_names: list, semantics: str, preset: str, schedule: str) -> SimResult:
    timeline = raw.get("timeline")
    if timeline is not None:
        columns = list(timeline.items())
        table = np.zeros(len(columns[0][1]), dtype=[(k, v.dtype) for k, v in columns])
        for k, v in columns:
            table[k] = v
        timeline = table
    return SimResult(
        semantics=semantics,
        preset=preset,
        energy_j=raw["energy_j"],
        latency_s=raw["latency_s"],
        quiescent_s=raw["quiescent_s"],
        schedule=schedule,
        energy_breakdown_j=dict(raw["energy_breakdown_j"]),
        counts=dict(raw["counts"]),
        spikes_per_layer=raw["spikes_per_layer"],
        output_spike_counts=raw["output_spike_counts"],
        core_utilisation=raw["core_utilisation"],
        core_dynamic_energy_j=raw["core_dynamic_energy_j"],
        core_of=raw["core_of"],
        area_mm2=float(raw["area_mm2"]),
        static_power_w=float(raw["static_power_w"]),
        critical_path_s=raw["critical_path_s"],
        serial_time_s=raw["serial_time_s"],
        wall_s=float(raw["wall_s"]),
        layer_names=layer_names,
        spike_trace=raw.get("spike_trace"),
        timeline=timeline,
    )


def map_network(network: Network, arch: Architecture) -> np.ndarray:
    return _core.map_network(network_dict(network), arch_dict(arch))
