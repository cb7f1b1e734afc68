"""The one module that converts wire messages (proto/ancoef/v1) to engine types and back.

Bad messages raise `trueasync.SimulationError` naming the field (e.g.
`network.layers[2].kind is not set`), which a gRPC server maps to INVALID_ARGUMENT.
"""

from __future__ import annotations

import numpy as np

import trueasync as ta
from services.proto.ancoef.v1 import simulator_pb2 as pb

_MAPPING = {pb.MAPPING_POLICY_PACKED: "packed", pb.MAPPING_POLICY_SPREAD: "spread", pb.MAPPING_POLICY_LOCALITY: "locality"}
_RESET = {pb.RESET_MODE_HARD: "hard", pb.RESET_MODE_SUBTRACT: "subtract"}
_SEMANTICS = {pb.SEMANTICS_TIMESTEP: "timestep", pb.SEMANTICS_SANAFE: "sanafe"}


def _enum(table: dict, value: int, field: str, enum) -> str:
    if value not in table:
        raise ta.SimulationError(f"{field} must be one of {', '.join(enum.keys()[1:])}, got {enum.Name(value) if value in enum.values() else value}")
    return table[value]


def _invert(table: dict) -> dict:
    return {v: k for k, v in table.items()}


# ---- wire -> engine ---------------------------------------------------------------------------


def architecture_from_proto(m: pb.Architecture) -> ta.Architecture:
    return ta.Architecture(
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
        return ta.InputLayer(m.name, m.size, shape=shape)
    if kind == "lif":
        p = m.lif
        return ta.LifLayer(
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
    raise ta.SimulationError(f"{where}.kind is not set (input or lif)")


def _projection_from_proto(m: pb.Projection, sizes: dict, where: str):
    kind = m.WhichOneof("connectivity")
    if kind == "dense":
        w = np.asarray(m.dense.weights, dtype=np.int64)
        n_pre, n_post = sizes.get(m.pre, 0), sizes.get(m.post, 0)
        if w.size != n_pre * n_post:
            raise ta.SimulationError(f"{where}.dense.weights has {w.size} values, expected {n_pre} x {n_post}")
        return ta.DenseProjection(m.pre, m.post, w.reshape(n_pre, n_post))
    if kind == "conv2d":
        c = m.conv2d
        shape = (c.out_channels, c.in_channels, c.kernel_h, c.kernel_w)
        w = np.asarray(c.weights, dtype=np.int64)
        if w.size != int(np.prod(shape)):
            raise ta.SimulationError(f"{where}.conv2d.weights has {w.size} values, expected shape {list(shape)}")
        return ta.Conv2dProjection(m.pre, m.post, w.reshape(shape), stride=c.stride, padding=c.padding)
    if kind == "sparse":
        s = m.sparse
        return ta.SparseProjection(
            m.pre,
            m.post,
            np.asarray(s.pre_index, dtype=np.int64),
            np.asarray(s.post_index, dtype=np.int64),
            np.asarray(s.weights, dtype=np.int64),
        )
    raise ta.SimulationError(f"{where}.connectivity is not set (dense, conv2d or sparse)")


def network_from_proto(m: pb.Network) -> ta.Network:
    layers = [_layer_from_proto(layer, f"network.layers[{i}]") for i, layer in enumerate(m.layers)]
    sizes = {layer.name: layer.size for layer in layers}
    projections = [
        _projection_from_proto(p, sizes, f"network.projections[{i}]") for i, p in enumerate(m.projections)
    ]
    return ta.Network(layers, projections, weight_scale=m.weight_scale, name=m.name or "network")


def spikes_from_proto(m: pb.SpikeInput) -> np.ndarray:
    row = (m.neurons + 7) // 8
    if len(m.packed_spikes) != m.samples * m.steps * row:
        raise ta.SimulationError(
            f"input.packed_spikes has {len(m.packed_spikes)} bytes, expected samples x steps x ceil(neurons / 8) = "
            f"{m.samples} x {m.steps} x {row}"
        )
    packed = np.frombuffer(m.packed_spikes, dtype=np.uint8).reshape(m.samples, m.steps, row)
    return np.unpackbits(packed, axis=-1, count=m.neurons).astype(bool)


def cost_model_from_proto(m: pb.CostModel) -> ta.CostModel:
    return ta.CostModel(
        name=m.name,
        energy_j=dict(m.energy_j),
        latency_s=dict(m.latency_s),
        nominal_voltage_v=m.nominal_voltage_v,
        threshold_voltage_v=m.threshold_voltage_v,
        alpha=m.alpha,
        leakage_w_per_mm2=m.leakage_w_per_mm2,
        area=dict(m.area),
    )


def simulate_request_from_proto(m: pb.SimulateRequest) -> dict:
    """Keyword arguments for `trueasync.simulate`."""
    for field in ("network", "architecture", "input"):
        if not m.HasField(field):
            raise ta.SimulationError(f"request.{field} is missing")
    costs = m.WhichOneof("costs")
    if costs is None:
        raise ta.SimulationError("request.costs is not set (preset or cost_model)")
    return {
        "network": network_from_proto(m.network),
        "arch": architecture_from_proto(m.architecture),
        "inputs": spikes_from_proto(m.input),
        "semantics": _enum(_SEMANTICS, m.semantics, "request.semantics", pb.Semantics),
        "preset": m.preset if costs == "preset" else cost_model_from_proto(m.cost_model),
        "core_of": np.asarray(m.core_of, dtype=np.int64) if len(m.core_of) else None,
        "threads": m.threads or None,
    }


# ---- engine -> wire ---------------------------------------------------------------------------


def architecture_to_proto(a: ta.Architecture) -> pb.Architecture:
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
    if isinstance(layer, ta.InputLayer):
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
    w = [int(x) for x in np.asarray(p.weights).reshape(-1)]
    if isinstance(p, ta.DenseProjection):
        m.dense.weights.extend(w)
    elif isinstance(p, ta.Conv2dProjection):
        oc, ic, kh, kw = np.asarray(p.weights).shape
        m.conv2d.CopyFrom(
            pb.Conv2dConnectivity(
                weights=w, out_channels=oc, in_channels=ic, kernel_h=kh, kernel_w=kw, stride=p.stride, padding=p.padding
            )
        )
    else:
        m.sparse.CopyFrom(
            pb.SparseConnectivity(
                pre_index=[int(x) for x in p.pre_index], post_index=[int(x) for x in p.post_index], weights=w
            )
        )
    return m


def network_to_proto(n: ta.Network) -> pb.Network:
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


def simulate_response_to_proto(r: ta.SimResult) -> pb.SimulateResponse:
    samples = []
    for i in range(r.n_samples):
        samples.append(
            pb.SampleFigures(
                energy_j=float(r.energy_j[i]),
                latency_s=float(r.latency_s[i]),
                edp_js=float(r.edp_js[i]),
                critical_path_s=float(r.critical_path_s[i]),
                serial_time_s=float(r.serial_time_s[i]),
                energy_breakdown_j={k: float(v[i]) for k, v in r.energy_breakdown_j.items()},
                counts={k: int(v[i]) for k, v in r.counts.items()},
                spikes_per_layer=[int(x) for x in r.spikes_per_layer[i]],
                output_spike_counts=[int(x) for x in r.output_spike_counts[i]],
                core_utilisation=[float(x) for x in r.core_utilisation[i]],
                core_dynamic_energy_j=[float(x) for x in r.core_dynamic_energy_j[i]],
            )
        )
    return pb.SimulateResponse(
        samples=samples,
        area_mm2=r.area_mm2,
        static_power_w=r.static_power_w,
        core_of=[int(c) for c in r.core_of],
        wall_s=r.wall_s,
    )
