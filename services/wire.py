"""The one module that converts wire messages (proto/ancoef/v1) to engine and trainer types and back.

Bad messages raise `trueasync.SimulationError` naming the field (e.g.
`network.layers[2].kind is not set`), which a gRPC server maps to INVALID_ARGUMENT.

Building and reading messages needs only the pure-Python parts of `trueasync` (model, result);
the error type is the engine's `SimulationError` when the engine is importable and an equivalent
ValueError otherwise (`wire.SimulationError`), so a client can run without the compiled engine
once `trueasync` imports it lazily.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Optional, Union

import numpy as np

from services.proto.ancoef.v1 import simulator_pb2 as pb
from trueasync import model as tm
from trueasync.result import COUNT_NAMES, ENERGY_UNITS, SimResult

try:
    from trueasync.api import SimulationError
except ImportError:  # no compiled engine here (a pure client)

    class SimulationError(ValueError):  # type: ignore[no-redef]
        """Bad input to the simulator; the message names the field and the limit."""


_MAPPING = {pb.MAPPING_POLICY_PACKED: "packed", pb.MAPPING_POLICY_SPREAD: "spread", pb.MAPPING_POLICY_LOCALITY: "locality"}
_RESET = {pb.RESET_MODE_HARD: "hard", pb.RESET_MODE_SUBTRACT: "subtract"}
_SEMANTICS = {pb.SEMANTICS_TIMESTEP: "timestep", pb.SEMANTICS_SANAFE: "sanafe"}
# SCHEDULE_UNSPECIFIED is the default schedule (a field older clients do not set).
_SCHEDULE = {pb.SCHEDULE_UNSPECIFIED: "asynchronous", pb.SCHEDULE_ASYNCHRONOUS: "asynchronous",
             pb.SCHEDULE_CLOCKED: "clocked"}
TIMELINE_DTYPE = np.dtype([("sample", "<i8"), ("start_s", "<f8"), ("end_s", "<f8"), ("unit", "u1"), ("index", "<i8"),
                           ("port", "u1"), ("step", "<i8")])


def _enum(table: dict, value: int, field: str, enum) -> str:
    if value not in table:
        raise SimulationError(f"{field} must be one of {', '.join(enum.keys()[1:])}, got {enum.Name(value) if value in enum.values() else value}")
    return table[value]


def _invert(table: dict) -> dict:
    return {v: k for k, v in table.items()}


# ---- wire -> engine ---------------------------------------------------------------------------


def architecture_from_proto(m: pb.Architecture) -> tm.Architecture:
    return tm.Architecture(
        mesh_width=m.mesh_width,
        mesh_height=m.mesh_height,
        cores_per_tile=m.cores_per_tile,
        neurons_per_core=m.neurons_per_core,
        synapse_memory_kib=m.synapse_memory_kib,
        weight_bits=m.weight_bits,
        synapse_lanes=m.synapse_lanes,
        fifo_depth=m.fifo_depth,
        link_width_bits=m.link_width_bits,
        voltage_v=m.voltage_v if m.HasField("voltage_v") else None,
        mapping=_enum(_MAPPING, m.mapping, "architecture.mapping", pb.MappingPolicy),
    )


def _layer_from_proto(m: pb.Layer, where: str):
    shape = (m.shape.height, m.shape.width, m.shape.channels) if m.HasField("shape") else None
    kind = m.WhichOneof("kind")
    if kind == "input":
        return tm.InputLayer(m.name, m.size, shape=shape)
    if kind == "lif":
        p = m.lif
        return tm.LifLayer(
            m.name,
            m.size,
            threshold=p.threshold,
            leak_num=p.leak_num,
            leak_shift=p.leak_shift,
            bias=p.bias,
            reset_mode=_enum(_RESET, p.reset_mode, f"{where}.lif.reset_mode", pb.ResetMode),
            reset_value=p.reset_value,
            shape=shape,
        )
    raise SimulationError(f"{where}.kind is not set (input or lif)")


def _projection_from_proto(m: pb.Projection, sizes: dict, where: str):
    # arrays in the wire's own types (sint32 weights, uint32 indices): the engine's conversion of
    # int32 is a third of int64's, per call, on a cached network
    for end in ("pre", "post"):
        if getattr(m, end) not in sizes:
            raise SimulationError(f"{where}.{end}: no layer is named {getattr(m, end)!r}")
    kind = m.WhichOneof("connectivity")
    if kind == "dense":
        w = np.asarray(m.dense.weights, dtype=np.int32)
        n_pre, n_post = sizes.get(m.pre, 0), sizes.get(m.post, 0)
        if w.size != n_pre * n_post:
            raise SimulationError(f"{where}.dense.weights has {w.size} values, expected {n_pre} x {n_post}")
        return tm.DenseProjection(m.pre, m.post, w.reshape(n_pre, n_post))
    if kind == "conv2d":
        c = m.conv2d
        shape = (c.out_channels, c.in_channels, c.kernel_h, c.kernel_w)
        w = np.asarray(c.weights, dtype=np.int32)
        if w.size != int(np.prod(shape)):
            raise SimulationError(f"{where}.conv2d.weights has {w.size} values, expected shape {list(shape)}")
        return tm.Conv2dProjection(m.pre, m.post, w.reshape(shape), stride=c.stride, padding=c.padding)
    if kind == "sparse":
        s = m.sparse
        return tm.SparseProjection(
            m.pre,
            m.post,
            np.asarray(s.pre_index, dtype=np.uint32),
            np.asarray(s.post_index, dtype=np.uint32),
            np.asarray(s.weights, dtype=np.int32),
        )
    raise SimulationError(f"{where}.connectivity is not set (dense, conv2d or sparse)")


def network_from_proto(m: pb.Network) -> tm.Network:
    layers = [_layer_from_proto(layer, f"network.layers[{i}]") for i, layer in enumerate(m.layers)]
    sizes = {layer.name: layer.size for layer in layers}
    projections = [
        _projection_from_proto(p, sizes, f"network.projections[{i}]") for i, p in enumerate(m.projections)
    ]
    return tm.Network(layers, projections, weight_scale=m.weight_scale, name=m.name or "network")


def spikes_from_proto(m: pb.SpikeInput) -> np.ndarray:
    row = (m.neurons + 7) // 8
    if len(m.packed_spikes) != m.samples * m.steps * row:
        raise SimulationError(
            f"input.packed_spikes has {len(m.packed_spikes)} bytes, expected samples x steps x ceil(neurons / 8) = "
            f"{m.samples} x {m.steps} x {row}"
        )
    packed = np.frombuffer(m.packed_spikes, dtype=np.uint8).reshape(m.samples, m.steps, row)
    return np.unpackbits(packed, axis=-1, count=m.neurons).astype(bool)


# CostModel's design-dependent terms: optional on the wire, so an absent one takes the default.
_COST_MODEL_TERMS = ("synapse_read_j_per_bit", "lane_j_per_bit", "sram_read_size_exponent", "link_width_energy_share",
                     "reference_weight_bits", "reference_synapse_memory_kib", "reference_link_width_bits")


def cost_model_from_proto(m: pb.CostModel) -> tm.CostModel:
    return tm.CostModel(
        name=m.name,
        energy_j=dict(m.energy_j),
        latency_s=dict(m.latency_s),
        nominal_voltage_v=m.nominal_voltage_v,
        threshold_voltage_v=m.threshold_voltage_v,
        alpha=m.alpha,
        leakage_w_per_mm2=m.leakage_w_per_mm2,
        area=dict(m.area),
        **{name: getattr(m, name) for name in _COST_MODEL_TERMS if m.HasField(name)},
    )


def costs_from_proto(m, where: str = "request") -> Union[str, tm.CostModel]:
    """The `preset` argument of trueasync from a message with a `costs` oneof (preset | cost_model)."""
    costs = m.WhichOneof("costs")
    if costs is None:
        raise SimulationError(f"{where}.costs is not set (preset or cost_model)")
    if costs == "preset":
        if os.sep in m.preset or m.preset.endswith(".json"):  # a server never opens a client's path
            raise SimulationError(f"{where}.preset must be a preset name, got {m.preset!r}; send a file's "
                                  "constants as cost_model")
        return m.preset
    return cost_model_from_proto(m.cost_model)


def simulate_request_from_proto(m: pb.SimulateRequest, network=None) -> dict:
    """Keyword arguments for `trueasync.simulate` (`network`: already converted, e.g. a cached
    trueasync.Network or trueasync.PreparedNetwork)."""
    if network is None and not m.HasField("network"):
        raise SimulationError("request.network is missing (send it, or set request.network_id to the id "
                              "RegisterNetwork returned)")
    for field in ("architecture", "input"):
        if not m.HasField(field):
            raise SimulationError(f"request.{field} is missing")
    kwargs = {
        "network": network if network is not None else network_from_proto(m.network),
        "arch": architecture_from_proto(m.architecture),
        "inputs": spikes_from_proto(m.input),
        "semantics": _enum(_SEMANTICS, m.semantics, "request.semantics", pb.Semantics),
        "preset": costs_from_proto(m),
        "core_of": np.asarray(m.core_of, dtype=np.int64) if len(m.core_of) else None,
        "threads": m.threads or None,
        "trace": m.trace,
        "timeline": m.timeline,
        "schedule": _enum(_SCHEDULE, m.schedule, "request.schedule", pb.Schedule),
    }
    return kwargs


def costs_to_proto(preset: Union[str, tm.CostModel], m) -> None:
    """Set the `costs` oneof of `m` from trueasync's `preset` argument: a built-in name, a preset
    JSON file (read here, sent as its constants) or a CostModel."""
    if isinstance(preset, str) and os.path.isfile(preset):
        with open(preset, encoding="utf-8") as f:
            data = json.load(f)
        fields = {f.name for f in dataclasses.fields(tm.CostModel)}
        preset = tm.CostModel(**{k: v for k, v in data.items() if k in fields})
    if isinstance(preset, tm.CostModel):
        m.cost_model.CopyFrom(cost_model_to_proto(preset))
    elif isinstance(preset, str):
        m.preset = preset
    else:
        raise SimulationError(f"preset must be a preset name, a preset JSON file or a trueasync.CostModel, got "
                              f"{type(preset).__name__}")


def cost_model_to_proto(c: tm.CostModel) -> pb.CostModel:
    return pb.CostModel(name=c.name, energy_j=dict(c.energy_j), latency_s=dict(c.latency_s),
                        nominal_voltage_v=c.nominal_voltage_v, threshold_voltage_v=c.threshold_voltage_v, alpha=c.alpha,
                        leakage_w_per_mm2=c.leakage_w_per_mm2, area=dict(c.area),
                        **{name: getattr(c, name) for name in _COST_MODEL_TERMS})


def simulate_request_to_proto(network: Optional[tm.Network], arch: tm.Architecture, inputs: np.ndarray, *,
                              semantics: str = "timestep", preset: Union[str, tm.CostModel] = "loihi",
                              core_of: Optional[np.ndarray] = None, threads: Optional[int] = None,
                              trace: bool = False, timeline: bool = False,
                              schedule: str = "asynchronous") -> pb.SimulateRequest:
    """The request for `trueasync.simulate`'s arguments (`network` None: leave it out, e.g. to add
    a cached serialised network)."""
    semantics_enum = _invert(_SEMANTICS).get(semantics)
    if semantics_enum is None:
        raise SimulationError(f"semantics must be one of {', '.join(_SEMANTICS.values())}, got {semantics!r}")
    schedule_enum = {"asynchronous": pb.SCHEDULE_ASYNCHRONOUS, "clocked": pb.SCHEDULE_CLOCKED}.get(schedule)
    if schedule_enum is None:
        raise SimulationError(f"schedule must be asynchronous or clocked, got {schedule!r}")
    m = pb.SimulateRequest(architecture=architecture_to_proto(arch), input=spikes_to_proto(inputs),
                           semantics=semantics_enum, schedule=schedule_enum, trace=bool(trace),
                           timeline=bool(timeline))
    if network is not None:
        m.network.CopyFrom(network_to_proto(network))
    costs_to_proto(preset, m)
    if core_of is not None:
        c = np.asarray(core_of)
        if c.size and (c.min() < 0 or c.max() > np.iinfo(np.uint32).max):
            raise SimulationError("core_of has entries outside 0 .. 2^32-1")
        m.core_of.extend(c.astype(np.int64).reshape(-1).tolist())
    if threads is not None:
        if isinstance(threads, bool) or int(threads) != threads or threads < 1:
            raise SimulationError(f"threads must be at least 1, got {threads}")
        m.threads = int(threads)
    return m


# ---- engine -> wire ---------------------------------------------------------------------------


def architecture_to_proto(a: tm.Architecture) -> pb.Architecture:
    m = pb.Architecture(
        mesh_width=a.mesh_width,
        mesh_height=a.mesh_height,
        cores_per_tile=a.cores_per_tile,
        neurons_per_core=a.neurons_per_core,
        synapse_memory_kib=a.synapse_memory_kib,
        weight_bits=a.weight_bits,
        synapse_lanes=a.synapse_lanes,
        fifo_depth=a.fifo_depth,
        link_width_bits=a.link_width_bits,
        mapping=_invert(_MAPPING)[a.mapping],
    )
    if a.voltage_v is not None:
        m.voltage_v = a.voltage_v
    return m


def _layer_to_proto(layer) -> pb.Layer:
    m = pb.Layer(name=layer.name, size=layer.size)
    if layer.shape is not None:
        m.shape.CopyFrom(pb.Shape(height=layer.shape[0], width=layer.shape[1], channels=layer.shape[2]))
    if isinstance(layer, tm.InputLayer):
        m.input.SetInParent()
    else:
        m.lif.CopyFrom(
            pb.LifLayer(
                threshold=layer.threshold,
                leak_num=layer.leak_num,
                leak_shift=layer.leak_shift,
                bias=layer.bias,
                reset_mode=_invert(_RESET)[layer.reset_mode],
                reset_value=layer.reset_value,
            )
        )
    return m


def _projection_to_proto(p) -> pb.Projection:
    m = pb.Projection(pre=p.pre, post=p.post)
    w = np.asarray(p.weights).reshape(-1).tolist()
    if isinstance(p, tm.DenseProjection):
        m.dense.weights.extend(w)
    elif isinstance(p, tm.Conv2dProjection):
        oc, ic, kh, kw = np.asarray(p.weights).shape
        m.conv2d.CopyFrom(
            pb.Conv2dConnectivity(
                weights=w, out_channels=oc, in_channels=ic, kernel_h=kh, kernel_w=kw, stride=p.stride, padding=p.padding
            )
        )
    else:
        m.sparse.CopyFrom(
            pb.SparseConnectivity(
                pre_index=np.asarray(p.pre_index).reshape(-1).tolist(),
                post_index=np.asarray(p.post_index).reshape(-1).tolist(), weights=w
            )
        )
    return m


def network_to_proto(n: tm.Network) -> pb.Network:
    return pb.Network(
        name=n.name,
        weight_scale=n.weight_scale,
        layers=[_layer_to_proto(layer) for layer in n.layers],
        projections=[_projection_to_proto(p) for p in n.projections],
    )


def spikes_to_proto(spikes: np.ndarray) -> pb.SpikeInput:
    s = np.asarray(spikes, dtype=bool)
    return pb.SpikeInput(
        samples=s.shape[0], steps=s.shape[1], neurons=s.shape[2], packed_spikes=np.packbits(s, axis=-1).tobytes()
    )


def _sample_figures(r: SimResult, i: int) -> pb.SampleFigures:
    return pb.SampleFigures(
        energy_j=float(r.energy_j[i]),
        latency_s=float(r.latency_s[i]),
        edp_js=float(r.edp_js[i]),
        critical_path_s=float(r.critical_path_s[i]),
        serial_time_s=float(r.serial_time_s[i]),
        quiescent_s=float(r.quiescent_s[i]) if r.quiescent_s is not None else 0.0,
        energy_breakdown_j={k: float(v[i]) for k, v in r.energy_breakdown_j.items()},
        counts={k: int(v[i]) for k, v in r.counts.items()},
        spikes_per_layer=r.spikes_per_layer[i].tolist(),
        output_spike_counts=r.output_spike_counts[i].tolist(),
        core_utilisation=r.core_utilisation[i].tolist(),
        core_dynamic_energy_j=r.core_dynamic_energy_j[i].tolist(),
    )


def _timeline_to_proto(rows: np.ndarray) -> pb.Timeline:
    return pb.Timeline(**{name: rows[name].tolist() for name in TIMELINE_DTYPE.names})


def _totals_to_proto(r: SimResult, schedule: str) -> pb.SimulateResponse:
    return pb.SimulateResponse(
        area_mm2=r.area_mm2,
        static_power_w=r.static_power_w,
        core_of=r.core_of.tolist(),
        wall_s=r.wall_s,
        layer_names=list(r.layer_names),
        preset=r.preset,
        semantics=_invert(_SEMANTICS)[r.semantics],
        schedule=pb.SCHEDULE_CLOCKED if schedule == "clocked" else pb.SCHEDULE_ASYNCHRONOUS,
        count_names=list(r.counts),
        energy_units=list(r.energy_breakdown_j),
    )


def simulate_response_to_proto(r: SimResult, schedule: str = "asynchronous") -> pb.SimulateResponse:
    m = _totals_to_proto(r, schedule)
    m.samples.extend(_sample_figures(r, i) for i in range(r.n_samples))
    if r.spike_trace is not None:
        m.spike_trace.extend(spikes_to_proto(layer) for layer in r.spike_trace)
    if r.timeline is not None:
        m.timeline.CopyFrom(_timeline_to_proto(r.timeline))
    return m


def sample_result_to_proto(r: SimResult, index: int) -> pb.SampleResult:
    """One sample's SimulateStream message from a one-sample SimResult of sample `index`."""
    m = pb.SampleResult(index=index, figures=_sample_figures(r, 0))
    if r.spike_trace is not None:
        m.spike_trace.extend(spikes_to_proto(layer) for layer in r.spike_trace)
    if r.timeline is not None:
        rows = r.timeline.copy()
        rows["sample"] = index
        m.timeline.CopyFrom(_timeline_to_proto(rows))
    return m


def stream_totals_to_proto(r: SimResult, wall_s: float, schedule: str = "asynchronous") -> pb.SimulateResponse:
    m = _totals_to_proto(r, schedule)
    m.wall_s = wall_s
    return m


# ---- wire -> result (clients) -------------------------------------------------------------------


def _ordered(keys, known) -> list:
    """Map keys in the engine's order (protobuf maps keep none): known names first, then the rest."""
    return [k for k in known if k in keys] + sorted(k for k in keys if k not in known)


def _timeline_from_proto(m: pb.Timeline) -> np.ndarray:
    rows = np.zeros(len(m.sample), dtype=TIMELINE_DTYPE)
    for name in TIMELINE_DTYPE.names:
        rows[name] = np.asarray(getattr(m, name))
    return rows


def _trace_from_proto(layers) -> list:
    return [spikes_from_proto(layer) for layer in layers]


def simulate_response_from_proto(m: pb.SimulateResponse, samples=None, trace: bool = False,
                                 timeline: Optional[pb.Timeline] = None) -> SimResult:
    """The `trueasync.SimResult` of a response (`samples`: SampleFigures in sample order, default
    m.samples), with the engine's dtypes, so that it equals the in-process result bit for bit."""
    figs = list(m.samples if samples is None else samples)
    n = len(figs)
    counts_keys = list(m.count_names) or _ordered(figs[0].counts.keys() if n else (), COUNT_NAMES)
    units = list(m.energy_units) or _ordered(figs[0].energy_breakdown_j.keys() if n else (), ENERGY_UNITS)

    def per_sample(name, dtype):
        return np.array([getattr(f, name) for f in figs], dtype=dtype)

    def rows(name, dtype, width):
        return np.array([list(getattr(f, name)) for f in figs], dtype=dtype).reshape(n, width)

    def columns(maps, keys, dtype):  # one array per key, over samples (one conversion, then copies)
        table = np.array([[m[k] for k in keys] for m in maps], dtype=dtype).reshape(n, len(keys))
        return {k: table[:, j].copy() for j, k in enumerate(keys)}

    return SimResult(
        semantics=_SEMANTICS.get(m.semantics, "timestep"),
        preset=m.preset,
        energy_j=per_sample("energy_j", np.float64),
        latency_s=per_sample("latency_s", np.float64),
        energy_breakdown_j=columns([f.energy_breakdown_j for f in figs], units, np.float64),
        counts=columns([f.counts for f in figs], counts_keys, np.uint64),
        spikes_per_layer=rows("spikes_per_layer", np.uint64, len(m.layer_names)),
        output_spike_counts=rows("output_spike_counts", np.uint64, len(figs[0].output_spike_counts) if n else 0),
        core_utilisation=rows("core_utilisation", np.float64, len(figs[0].core_utilisation) if n else 0),
        core_dynamic_energy_j=rows("core_dynamic_energy_j", np.float64, len(figs[0].core_dynamic_energy_j) if n else 0),
        core_of=np.asarray(m.core_of, dtype=np.int64),
        area_mm2=m.area_mm2,
        static_power_w=m.static_power_w,
        critical_path_s=per_sample("critical_path_s", np.float64),
        serial_time_s=per_sample("serial_time_s", np.float64),
        quiescent_s=per_sample("quiescent_s", np.float64),
        schedule=_SCHEDULE.get(m.schedule, "asynchronous"),
        wall_s=m.wall_s,
        layer_names=list(m.layer_names),
        spike_trace=_trace_from_proto(m.spike_trace) if trace else None,
        timeline=_timeline_from_proto(timeline if timeline is not None else m.timeline) if (
            timeline is not None or m.HasField("timeline")) else None,
    )


def stream_to_result(messages) -> SimResult:
    """Gather SimulateStream's messages (samples in any order, then the totals) into a SimResult."""
    samples: dict[int, pb.SampleResult] = {}
    totals = None
    for msg in messages:
        if msg.WhichOneof("item") == "sample":
            samples[msg.sample.index] = msg.sample
        else:
            totals = msg.totals
    if totals is None:
        raise SimulationError("the stream ended without its totals message")
    ordered = [samples[i] for i in sorted(samples)]
    trace = None
    if ordered and len(ordered[0].spike_trace):
        layers = [np.concatenate([spikes_from_proto(s.spike_trace[k]) for s in ordered])
                  for k in range(len(ordered[0].spike_trace))]
        trace = layers
    timeline = None
    if ordered and any(s.HasField("timeline") for s in ordered):
        timeline = pb.Timeline()
        for s in ordered:
            timeline.MergeFrom(s.timeline)
    r = simulate_response_from_proto(totals, samples=[s.figures for s in ordered], timeline=timeline)
    r.spike_trace = trace
    return r


# ---- trainer ------------------------------------------------------------------------------------

TRAIN_OPS = ("conv3", "conv5", "skip")


def _finite_nonneg(value: float, field: str) -> float:
    if not np.isfinite(value) or value < 0:
        raise SimulationError(f"{field} must be a finite number >= 0, got {value}")
    return float(value)


def training_args_from_proto(m, defaults: dict) -> dict:
    """`ancoef train`'s arguments (`defaults`: that command's) from a TrainingSpec; fields left at
    0 / empty keep the default. Errors name the field (spec.weight_bits ...)."""
    a = dict(defaults)
    if m.dataset:
        a["dataset"] = m.dataset
    if m.data_root:
        a["data_root"] = m.data_root
    a["seed"] = int(m.seed)
    for field, key in (("epochs", "epochs"), ("search_epochs", "search_epochs"), ("tau", "tau"),
                       ("learning_rate", "lr"), ("budget_s", "budget_s")):
        value = _finite_nonneg(getattr(m, field), f"spec.{field}")
        if value:
            a[key] = value
    if m.HasField("qat_epochs"):
        a["qat_epochs"] = _finite_nonneg(m.qat_epochs, "spec.qat_epochs")
    if m.weight_bits:
        if not 2 <= m.weight_bits <= 8:
            raise SimulationError(f"spec.weight_bits must be 2..8, got {m.weight_bits}")
        a["weight_bits"] = int(m.weight_bits)
    for field, key, most in (("timesteps", "timesteps", 4096), ("batch_size", "batch_size", 1 << 16),
                             ("limit_samples", "limit", 1 << 31), ("downsample", "downsample", 64),
                             ("threads", "threads", 1024)):
        value = int(getattr(m, field))
        if value > most:
            raise SimulationError(f"spec.{field} must be at most {most}, got {value}")
        if value:
            a[key] = value
    if len(m.ops) or len(m.widths):
        if len(m.ops) != len(m.widths):
            raise SimulationError(f"spec.ops and spec.widths need the same number of blocks ({len(m.ops)} vs "
                                  f"{len(m.widths)})")
        for i, op in enumerate(m.ops):
            if op not in TRAIN_OPS:
                raise SimulationError(f"spec.ops[{i}] must be one of {', '.join(TRAIN_OPS)}, got {op!r}")
        for i, w in enumerate(m.widths):
            if w < 1:
                raise SimulationError(f"spec.widths[{i}] must be at least 1, got {w}")
        a["ops"] = ",".join(m.ops)
        a["widths"] = ",".join(str(w) for w in m.widths)
    return a


def export_to_proto(network: tm.Network, inputs: np.ndarray, labels, arch: tm.Architecture, meta: dict):
    from services.proto.ancoef.v1 import trainer_pb2

    return trainer_pb2.ExportNetworkResponse(
        network=network_to_proto(network), input=spikes_to_proto(inputs),
        labels=np.asarray(labels, dtype=np.int64).tolist(), architecture=architecture_to_proto(arch),
        weight_bits=int(meta["weight_bits"]), layer_scales=[float(x) for x in meta["layer_scales"]])


def training_metrics_to_proto(m: dict):
    from services.proto.ancoef.v1 import trainer_pb2

    return trainer_pb2.TrainingMetrics(
        float_val_accuracy_ratio=m["float_val_accuracy"], quant_val_accuracy_ratio=m["quant_val_accuracy"],
        fixed_point_val_accuracy_ratio=m["fixed_point_val_accuracy"], train_steps=int(m.get("train_steps", 0)),
        total_s=float(m["total_seconds"]), neurons=int(m["n_neurons"]), weight_bits=int(m["bits"]),
        timesteps=int(m["timesteps"]), dataset=str(m["dataset"]))


# ---- agent --------------------------------------------------------------------------------------

_ALGORITHMS = {1: "rl", 2: "nsga2", 3: "random", 4: "tpe", 5: "moves"}  # agent_pb2.SearchAlgorithm (0: the command's default)


def _algorithm(value: int, field: str) -> Optional[str]:
    if value == 0:
        return None
    if value not in _ALGORITHMS:
        raise SimulationError(f"{field} = {value} is not a SearchAlgorithm")
    return _ALGORITHMS[value]


def _targets(m, field: str) -> dict:
    out = {}
    for name in ("max_energy_j", "max_latency_s", "max_area_mm2"):
        if m.HasField(name):
            v = getattr(m, name)
            if not np.isfinite(v) or v <= 0:
                raise SimulationError(f"{field}.{name} must be a positive finite number, got {v}")
            out[name] = float(v)
    return out


def _builtin_preset(name: str, field: str) -> str:
    """A built-in preset's name (a service never opens a file a client names)."""
    from trueasync.api import preset_names

    if name not in preset_names():
        raise SimulationError(f"{field} must be a built-in preset ({', '.join(preset_names())}), got {name!r}")
    return name


def search_settings_from_proto(spec) -> dict:
    """`coexplore.hwsearch.SearchSettings` fields of a SearchSpec, without the workload (the agent
    writes the spec's network and input spikes to the operation's folder). Errors name the field."""
    given: dict = {}
    algo = _algorithm(spec.algorithm, "spec.algorithm")
    if algo is not None:
        given["algo"] = algo
    if spec.budget_simulations < 1:
        raise SimulationError(f"spec.budget_simulations must be at least 1, got {spec.budget_simulations}")
    given["budget"] = int(spec.budget_simulations)
    given["seed"] = int(spec.seed)
    given.update(_targets(spec.targets, "spec.targets"))
    costs = spec.WhichOneof("costs")
    if costs == "cost_model":
        raise SimulationError("spec.cost_model: the agent service takes a built-in preset (spec.preset) only; "
                              "ListPresets on the simulator service names them")
    if costs == "preset":
        given["preset"] = _builtin_preset(spec.preset, "spec.preset")
    if spec.semantics:
        given["semantics"] = _enum(_SEMANTICS, spec.semantics, "spec.semantics", pb.Semantics)
    ranges = {}
    for i, r in enumerate(spec.ranges):
        from agent.space import PARAM_NAMES

        if r.parameter not in PARAM_NAMES:
            raise SimulationError(f"spec.ranges[{i}].parameter must be one of {', '.join(PARAM_NAMES)}, got "
                                  f"{r.parameter!r}")
        ranges[r.parameter] = r.range
    if ranges:
        given["ranges"] = ranges
    if spec.limit_samples:
        given["samples"] = int(spec.limit_samples)
    if spec.limit_steps:
        given["timesteps"] = int(spec.limit_steps)
    return given


def exploration_settings_from_proto(spec) -> dict:
    """`coexplore.ExploreSettings` fields of an ExplorationSpec (0 / empty: `ancoef explore`'s
    default). Errors name the field."""
    given: dict = {"seed": int(spec.seed)}
    for field, key in (("dataset", "dataset"), ("data_root", "data_root"), ("warm_start", "warm_start")):
        if getattr(spec, field):
            given[key] = getattr(spec, field)
    if spec.preset:
        given["preset"] = _builtin_preset(spec.preset, "spec.preset")
    for field, key in (("candidates", "candidates"), ("budget_simulations", "budget"), ("limit_samples", "limit"),
                       ("test_limit_samples", "test_limit"), ("calib_samples", "calib_samples"),
                       ("designs_per_survivor", "designs_per_survivor"), ("screen", "screen")):
        if getattr(spec, field):
            given[key] = int(getattr(spec, field))
    if spec.limit_samples and spec.limit_samples < 20:
        raise SimulationError(f"spec.limit_samples must be at least 20 training samples (some are held out for "
                              f"validation), got {spec.limit_samples}")
    if spec.screen and spec.screen < given.get("candidates", 4):
        raise SimulationError(f"spec.screen must be at least spec.candidates, got {spec.screen}")
    algo = _algorithm(spec.algorithm, "spec.algorithm")
    if algo is not None:
        given["algo"] = algo
    if spec.weight_bits:
        if spec.weight_bits not in (2, 4, 8):
            raise SimulationError(f"spec.weight_bits must be 2, 4 or 8 (the chip's weight widths), got "
                                  f"{spec.weight_bits}")
        given["bits"] = (int(spec.weight_bits),)
    given.update(_targets(spec.targets, "spec.targets"))
    if spec.budget_minutes:
        if not np.isfinite(spec.budget_minutes) or spec.budget_minutes < 0:
            raise SimulationError(f"spec.budget_minutes must be a positive finite number, got {spec.budget_minutes}")
        given["minutes"] = float(spec.budget_minutes)
    if spec.skip_baselines:
        given["baselines"] = False
    return given


def front_point_to_proto(point: dict, candidate: str = ""):
    """A FrontPoint from an archived design (`Evaluation.to_dict()`) or an on-chip point of an
    exploration (`OnChipPoint.to_json()`, which carries the accuracy)."""
    from services.proto.ancoef.v1 import agent_pb2

    m = agent_pb2.FrontPoint(architecture=architecture_to_proto(tm.Architecture(**point["design"])),
                             energy_j=point["energy_j"], latency_s=point["latency_s"], edp_js=point["edp_js"],
                             area_mm2=point["area_mm2"], meets_targets=bool(point["meets_targets"]),
                             candidate=point.get("candidate", candidate))
    if point.get("accuracy") is not None:
        m.accuracy_ratio = float(point["accuracy"])
    return m


# ---- training sessions (coexplore.backends.TrainerBackend over TrainerService) ---------------------

# TrainingData field -> ExploreSettings field, for the integer fields where 0 means "the default"
_DATA_INTS = (("limit_samples", "limit"), ("test_limit_samples", "test_limit"), ("downsample", "downsample"),
              ("calib_samples", "calib_samples"), ("batch_size", "batch_size"), ("torch_threads", "torch_threads"))
SPLITS = ("calibration", "test")


def training_data_to_proto(settings):
    """The TrainingData of a `coexplore.ExploreSettings` (the fields `load_data` reads)."""
    from services.proto.ancoef.v1 import trainer_pb2

    m = trainer_pb2.TrainingData(dataset=settings.dataset, data_root=settings.data_root or "",
                                 encoding=settings.encoding or "", seed=int(settings.seed))
    for field, key in _DATA_INTS:
        setattr(m, field, int(getattr(settings, key) or 0))
    return m


def training_data_from_proto(m, field: str = "data"):
    """The `coexplore.ExploreSettings` a session loads its data with. Errors name the field."""
    from coexplore.settings import ExploreSettings
    from trainer.datasets import DATASET_NAMES, ENCODINGS

    given: dict = {"seed": int(m.seed)}
    if m.dataset:
        if m.dataset not in DATASET_NAMES:
            raise SimulationError(f"{field}.dataset must be one of {', '.join(DATASET_NAMES)}, got {m.dataset!r}")
        given["dataset"] = m.dataset
    if m.data_root:
        given["data_root"] = m.data_root
    if m.encoding:
        if m.encoding not in ENCODINGS:
            raise SimulationError(f"{field}.encoding must be one of {', '.join(ENCODINGS)}, got {m.encoding!r}")
        given["encoding"] = m.encoding
    for f, key in _DATA_INTS:
        if getattr(m, f):
            given[key] = int(getattr(m, f))
    if m.limit_samples and m.limit_samples < 20:
        raise SimulationError(f"{field}.limit_samples must be at least 20 training samples (some are held out for "
                              f"validation), got {m.limit_samples}")
    return ExploreSettings(**given)


def data_info_to_proto(info):
    from services.proto.ancoef.v1 import trainer_pb2

    return trainer_pb2.LoadTrainingDataResponse(
        dataset=info.name, input_shape_chw=[int(v) for v in info.in_shape], classes=info.n_classes,
        fit_samples=info.n_fit, validation_samples=info.n_val, test_samples=info.n_test,
        calibration_samples=info.n_calib, steps_per_epoch=info.steps_per_epoch,
        test_labels=np.asarray(info.test_labels, np.int64).tolist(), fingerprint_sha256=info.fingerprint,
        snn_space_json=json.dumps(info.snn_space))


def data_info_from_proto(m):
    from coexplore.backends import DataInfo

    return DataInfo(m.dataset, tuple(int(v) for v in m.input_shape_chw), int(m.classes), int(m.fit_samples),
                    int(m.validation_samples), int(m.test_samples), int(m.calibration_samples),
                    int(m.steps_per_epoch), np.asarray(m.test_labels, np.int64), m.fingerprint_sha256,
                    json.loads(m.snn_space_json))


def chunk_result_to_proto(outcome, saved: Optional[tuple], start_step: int):
    """Where a resumable training call ended: `saved` = (step, state) of its last checkpoint, or
    None when it finished every step."""
    from services.proto.ancoef.v1 import trainer_pb2

    m = trainer_pb2.TrainingChunkResult(finished=not outcome.stopped_early, steps_done=outcome.steps,
                                        epochs=outcome.epochs, start_step=start_step)
    if outcome.stopped_early:
        m.steps_done, m.state = saved[0], saved[1]
    if outcome.loss_last is not None:
        m.loss_last = outcome.loss_last
    return m


def train_outcome_from_proto(m, stopped_early: bool):
    from coexplore.backends import TrainOutcome

    return TrainOutcome(int(m.steps_done), m.loss_last if m.HasField("loss_last") else None, m.epochs,
                        stopped_early)


def inherited_to_proto(inh):
    from services.proto.ancoef.v1 import trainer_pb2

    return trainer_pb2.InheritSubnetResponse(accuracy_ratio=inh.accuracy, spikes_per_layer=inh.spikes_per_layer,
                                             synaptic_ops=inh.synaptic_ops)


def inherited_from_proto(m):
    from coexplore.backends import Inherited

    return Inherited(m.accuracy_ratio, list(m.spikes_per_layer), m.synaptic_ops)


def subnet_config_from_json(text: str, field: str = "config_json") -> dict:
    """A SubnetConfig dict from its JSON, checked (errors name the field)."""
    from trainer.supernet import SubnetConfig

    try:
        d = json.loads(text)
        SubnetConfig.from_dict(d)
        return d
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SimulationError(f"{field} is not a SubnetConfig as JSON ({{\"ops\", \"widths\", \"timesteps\", "
                              f"\"tau\"}}): {type(exc).__name__}: {exc}") from None


def exported_to_proto(ex):
    from services.proto.ancoef.v1 import trainer_pb2

    return trainer_pb2.ExportModelResponse(network=network_to_proto(ex.network), input=spikes_to_proto(ex.inputs),
                                           meta_json=json.dumps(ex.meta))


def exported_from_proto(m):
    from coexplore.backends import Exported

    return Exported(network_from_proto(m.network), json.loads(m.meta_json), spikes_from_proto(m.input))


def fixed_point_eval_to_proto(ev):
    from services.proto.ancoef.v1 import trainer_pb2

    counts = np.asarray(ev.output_spike_counts, np.int64)
    return trainer_pb2.TestFixedPointResponse(
        accuracy_ratio=ev.accuracy, output_spike_counts=counts.ravel().tolist(),
        classes=counts.shape[1] if counts.ndim == 2 else 0, qat_model_accuracy_ratio=ev.qat_model_accuracy,
        qat_model_counts_equal=ev.qat_model_counts_equal)


def fixed_point_eval_from_proto(m):
    from coexplore.backends import FixedPointEval

    counts = np.asarray(m.output_spike_counts, np.int64).reshape(-1, max(1, m.classes))
    return FixedPointEval(m.accuracy_ratio, counts, m.qat_model_accuracy_ratio, m.qat_model_counts_equal)
