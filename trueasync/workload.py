"""Load, save and generate workloads in the neutral format of `shared/workloads` (docs/workload-format.md).

A workload is `PREFIX.json` (layers, projections, weight scale, architecture and per-event costs,
semantics notes) plus `PREFIX.npz` (weight numerators, packed input spikes, `core_of`).

    from trueasync.workload import load_workload, save_workload, generate_mlp
    wl = load_workload("../shared/workloads/mlp_784-512-256-10_T100_16c")
    wl.network, wl.arch, wl.costs, wl.core_of, wl.inputs
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

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

FORMAT = "snn-anchor-workload"
VERSION = 1
ENERGY_KEYS = (
    "soma_access",
    "soma_update",
    "soma_spike",
    "synapse_event",
    "message_out",
    "message_in",
    "east_hop",
    "west_hop",
    "north_hop",
    "south_hop",
)
# Per-event costs of the reference workload (Loihi figures as used by SANA-FE's loihi arch).
LOIHI_ENERGY_J = {
    "soma_access": 5.12e-11,
    "soma_update": 2.16e-11,
    "soma_spike": 6.93e-11,
    "synapse_event": 3.55e-11,
    "message_out": 1.11e-10,
    "message_in": 0.0,
    "east_hop": 3e-12,
    "west_hop": 3e-12,
    "north_hop": 4.2e-12,
    "south_hop": 4.2e-12,
}
LOIHI_LATENCY_S = {
    "soma_access": 6e-09,
    "soma_update": 3.7e-09,
    "soma_spike": 3e-08,
    "synapse_event": 3.8e-09,
    "message_out": 5.1e-09,
    "message_in": 1.6e-08,
    "east_hop": 4.1e-09,
    "west_hop": 4.1e-09,
    "north_hop": 6.5e-09,
    "south_hop": 6.5e-09,
}
SANAFE_SEMANTICS = {
    "time": "discrete steps t=1..T; a spike emitted at step t is integrated by its targets at step "
    "t+1 (one step of delay per synapse)",
    "lif_update": "if t>1: v*=leak_decay; v=trunc(v*64)/64 (toward zero); v+=bias+I; if "
    "v>threshold: spike and v=reset (hard reset) or v-=threshold (subtract reset)",
    "input": "input neurons emit inputs[sample, t-1, i] at step t",
    "weights": "real weight = w_q * weight_scale; dense W[pre, post]; conv2d w[out_c, in_c, kh, kw] "
    "(PyTorch order, zero padding); sparse pre/post/w COO",
    "neuron_index": "global index = layer_offsets[layer] + index in layer; conv layers are "
    "flattened HWC (channels last)",
    "samples": "each sample starts from v=0 and empty buffers (chip.reset())",
    "packets": "one packet per (firing neuron, distinct destination core), including the neuron's "
    "own core (0 hops)",
}
ENERGY_SEMANTICS = {
    "soma_access": "every LIF neuron, every time-step (input neurons cost 0)",
    "soma_update": "LIF neuron with |v|>0 at the start of the step, or that received any synaptic "
    "input in the previous step, or bias!=0",
    "soma_spike": "LIF neuron that fires",
    "synapse_event": "per synapse reached by a delivered packet",
    "message_out": "per packet sent (one per firing neuron and destination core)",
    "message_in": "per packet received",
    "hops": "per packet, |dx| hops charged east_hop (dx>0) or west_hop, |dy| hops north_hop "
    "(dy>0) or south_hop",
}
TOPOLOGY = (
    "2d mesh, dimension-order (Manhattan) routing; tile x = tile_id // mesh_height, "
    "y = tile_id % mesh_height"
)


class WorkloadError(ValueError):
    """A workload file is missing or malformed; the message names the file and the field."""


@dataclass
class Workload:
    """A network, an architecture with its per-event costs, a mapping and input spikes."""

    network: Network
    arch: Architecture
    costs: CostModel
    core_of: Optional[np.ndarray]  # int [neuron] (global index) or None
    inputs: np.ndarray  # bool [sample, step, n_inputs]
    meta: dict = field(default_factory=dict)

    @property
    def timesteps(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def samples(self) -> int:
        return int(self.inputs.shape[0])

    def __eq__(self, other) -> bool:
        if not isinstance(other, Workload):
            return NotImplemented
        return workload_diff(self, other) is None


# --------------------------------------------------------------------------------------------
# comparison


def _network_diff(a: Network, b: Network) -> Optional[str]:
    if a.name != b.name:
        return f"network name {a.name!r} != {b.name!r}"
    if a.weight_scale != b.weight_scale:
        return f"weight_scale {a.weight_scale} != {b.weight_scale}"
    if len(a.layers) != len(b.layers):
        return "number of layers differs"
    for la, lb in zip(a.layers, b.layers):
        if la != lb:
            return f"layer {la} != {lb}"
    if len(a.projections) != len(b.projections):
        return "number of projections differs"
    for pa, pb in zip(a.projections, b.projections):
        if type(pa) is not type(pb):
            return f"projection {pa.pre}->{pa.post}: kind differs"
        for name in pa.__dataclass_fields__:
            x, y = getattr(pa, name), getattr(pb, name)
            if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
                if np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                    return f"projection {pa.pre}->{pa.post}: {name} differs"
            elif x != y:
                return f"projection {pa.pre}->{pa.post}: {name} {x!r} != {y!r}"
    return None


def workload_diff(a: Workload, b: Workload) -> Optional[str]:
    """None if the two workloads are equal, else what differs first."""
    d = _network_diff(a.network, b.network)
    if d:
        return d
    if a.arch != b.arch:
        return f"arch {a.arch} != {b.arch}"
    if a.costs != b.costs:
        return f"costs {a.costs} != {b.costs}"
    if (a.core_of is None) != (b.core_of is None):
        return "core_of present in only one"
    if a.core_of is not None and not np.array_equal(a.core_of, b.core_of):
        return "core_of differs"
    if a.inputs.shape != b.inputs.shape or not np.array_equal(a.inputs, b.inputs):
        return "inputs differ"
    if a.meta != b.meta:
        return f"meta {a.meta} != {b.meta}"
    return None


# --------------------------------------------------------------------------------------------
# conversions


def _as_int(value, scale: float, what: str) -> int:
    try:
        q = float(value) / scale
    except (TypeError, ValueError):
        raise WorkloadError(f"{what}: expected a number, got {value!r}") from None
    r = round(q)
    if not math.isfinite(q) or abs(q - r) > 1e-9 * max(1.0, abs(q)):
        raise WorkloadError(
            f"{what}: {value!r} is not an integer multiple of weight_scale {scale!r} "
            f"({value!r} / {scale!r} = {q!r})"
        )
    return int(r)


def leak_fraction(leak_decay: float, what: str = "leak_decay") -> tuple[int, int]:
    """`leak_decay` as (leak_num, leak_shift) with the smallest shift <= 16, exactly."""
    try:
        x = float(leak_decay)
    except (TypeError, ValueError):
        raise WorkloadError(f"{what}: expected a number, got {leak_decay!r}") from None
    if not 0.0 <= x <= 1.0:
        raise WorkloadError(f"{what}: {x!r} is outside [0, 1]")
    for shift in range(17):
        num = x * 2**shift
        if num == int(num):
            return int(num), shift
    raise WorkloadError(
        f"{what}: {x!r} is not a binary fraction num / 2**shift with shift <= 16 "
        f"(closest: {round(x * 65536)}/65536)"
    )


def weight_bits_needed(network: Network) -> int:
    """Signed bits needed by the largest weight magnitude, at least 8."""
    bits = 8
    for p in network.projections:
        w = np.asarray(p.weights)
        if w.size:
            lo, hi = int(w.min()), int(w.max())
            need = max(hi.bit_length() + 1, (-lo - 1).bit_length() + 1 if lo < 0 else 1)
            bits = max(bits, need)
    return bits


def _mesh_for(n_cores: int) -> tuple[int, int]:
    w = int(math.isqrt(n_cores))
    while n_cores % w:
        w -= 1
    return n_cores // w, w  # width >= height


def packed_core_of(network: Network, n_cores: int, neurons_per_core: Optional[int] = None):
    """Neurons in global order, `neurons_per_core` (default: ceil(N / n_cores)) to a core."""
    n = network.n_neurons
    npc = neurons_per_core or max(1, -(-n // n_cores))
    if -(-n // npc) > n_cores:
        raise ValueError(f"{n} neurons do not fit on {n_cores} cores of {npc}")
    return (np.arange(n) // npc).astype(np.int64), npc


# --------------------------------------------------------------------------------------------
# load


def _paths(prefix) -> tuple[Path, Path]:
    prefix = str(prefix)
    for ext in (".json", ".npz"):
        if prefix.endswith(ext):
            prefix = prefix[: -len(ext)]
    return Path(prefix + ".json"), Path(prefix + ".npz")


def _get(d: dict, key: str, where: str, types=None):
    if not isinstance(d, dict) or key not in d:
        raise WorkloadError(f"{where}: missing field {key!r}")
    v = d[key]
    if types is not None and not isinstance(v, types):
        raise WorkloadError(f"{where}: field {key!r} has the wrong type ({type(v).__name__})")
    return v


def load_workload(prefix: Union[str, os.PathLike]) -> Workload:
    """Read `PREFIX.json` + `PREFIX.npz`; WorkloadError names the file and field at fault."""
    jpath, npath = _paths(prefix)
    if not jpath.is_file():
        raise WorkloadError(f"{jpath}: no such workload file")
    if not npath.is_file():
        raise WorkloadError(f"{npath}: no such workload file")
    try:
        doc = json.loads(jpath.read_text())
    except json.JSONDecodeError as e:
        raise WorkloadError(f"{jpath}: malformed json: {e}") from None
    try:
        npz = np.load(npath, allow_pickle=False)
        arrays = {k: npz[k] for k in npz.files}
    except Exception as e:  # zipfile / format errors
        raise WorkloadError(f"{npath}: cannot read arrays: {e}") from None
    return workload_from_dict(doc, arrays, str(jpath), str(npath))


def workload_from_dict(doc: dict, arrays: dict, jname="workload.json", nname="workload.npz"):
    if not isinstance(doc, dict):
        raise WorkloadError(f"{jname}: top level is not an object")
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        raise WorkloadError(f"{jname}: field 'format' is {fmt!r}, expected {FORMAT!r}")
    version = _get(doc, "version", jname)
    if version != VERSION:
        raise WorkloadError(f"{jname}: field 'version' is {version!r}, this reader knows {VERSION}")
    ws = _get(doc, "weight_scale", jname, (int, float))
    if not ws > 0:
        raise WorkloadError(f"{jname}: field 'weight_scale' must be > 0, got {ws!r}")
    ws = float(ws)

    def arr(name, where):
        if name not in arrays:
            raise WorkloadError(f"{nname}: array {name!r} (named by {jname} {where}) is missing")
        return arrays[name]

    layers = []
    for k, ld in enumerate(_get(doc, "layers", jname, list)):
        where = f"{jname} layers[{k}]"
        name = _get(ld, "name", where, str)
        where = f"{jname} layer {name!r}"
        size = _get(ld, "size", where, int)
        kind = _get(ld, "kind", where, str)
        shape = ld.get("shape")
        if shape is not None:
            if not (isinstance(shape, list) and len(shape) == 3):
                raise WorkloadError(f"{where}: field 'shape' must be [H, W, C] or null")
            shape = tuple(int(s) for s in shape)
            if shape[0] * shape[1] * shape[2] != size:
                raise WorkloadError(f"{where}: field 'shape' {list(shape)} does not match size {size}")
        if kind == "input":
            layers.append(InputLayer(name=name, size=size, shape=shape))
        elif kind == "lif":
            thr = _as_int(_get(ld, "threshold", where), ws, f"{where}: field 'threshold'")
            bias = _as_int(ld.get("bias", 0.0), ws, f"{where}: field 'bias'")
            reset = _as_int(ld.get("reset", 0.0), ws, f"{where}: field 'reset'")
            decay = _get(ld, "leak_decay", where)
            num, shift = leak_fraction(decay, f"{where}: field 'leak_decay'")
            if "leak_num" in ld or "leak_shift" in ld:
                n2, s2 = ld.get("leak_num"), ld.get("leak_shift")
                if not (isinstance(n2, int) and isinstance(s2, int) and 0 <= s2 <= 16
                        and n2 * 2**shift == num * 2**s2):
                    raise WorkloadError(
                        f"{where}: fields 'leak_num'/'leak_shift' ({n2}/2^{s2}) disagree with "
                        f"'leak_decay' {decay!r}"
                    )
                num, shift = n2, s2
            if float(ld.get("input_decay", 0.0)) != 0.0:
                raise WorkloadError(
                    f"{where}: field 'input_decay' must be 0.0 (current-based synapses without "
                    f"carry-over), got {ld['input_decay']!r}"
                )
            mode = ld.get("reset_mode", "hard")
            if mode == "soft":
                mode = "subtract"
            if mode not in ("hard", "subtract"):
                raise WorkloadError(
                    f"{where}: field 'reset_mode' must be 'hard' or 'subtract', got {mode!r}"
                )
            layers.append(
                LifLayer(name=name, size=size, threshold=thr, leak_num=num, leak_shift=shift,
                         bias=bias, reset_mode=mode, reset_value=reset, shape=shape)
            )
        else:
            raise WorkloadError(f"{where}: field 'kind' must be 'input' or 'lif', got {kind!r}")
    names = {l.name: l for l in layers}
    if len(names) != len(layers):
        raise WorkloadError(f"{jname}: layer names are not unique")

    projections = []
    for k, pd in enumerate(_get(doc, "projections", jname, list)):
        where = f"{jname} projections[{k}]"
        pre = _get(pd, "pre", where, str)
        post = _get(pd, "post", where, str)
        where = f"{jname} projection {pre}->{post}"
        for end in (pre, post):
            if end not in names:
                raise WorkloadError(f"{where}: no layer named {end!r}")
        kind = _get(pd, "kind", where, str)
        an = _get(pd, "arrays", where, dict)

        def weights_name():
            for key in ("w_q", "w"):
                if key in an:
                    return an[key]
            raise WorkloadError(f"{where}: field 'arrays' names no 'w_q' (or 'w') array")

        if kind == "dense":
            w = arr(weights_name(), where)
            if w.shape != (names[pre].size, names[post].size):
                raise WorkloadError(
                    f"{nname}: array {weights_name()!r} of {where} has shape {w.shape}, "
                    f"expected {(names[pre].size, names[post].size)}"
                )
            projections.append(DenseProjection(pre=pre, post=post, weights=w))
        elif kind == "conv2d":
            w = arr(weights_name(), where)
            if w.ndim != 4:
                raise WorkloadError(f"{nname}: conv2d array of {where} must be [out_c, in_c, kh, kw]")
            stride = int(pd.get("stride", 1))
            padding = int(pd.get("padding", 0))
            projections.append(
                Conv2dProjection(pre=pre, post=post, weights=w, stride=stride, padding=padding)
            )
        elif kind == "sparse":
            for key in ("pre", "post"):
                if key not in an:
                    raise WorkloadError(f"{where}: field 'arrays' names no {key!r} array")
            pi, po, w = arr(an["pre"], where), arr(an["post"], where), arr(weights_name(), where)
            if not (pi.shape == po.shape == w.shape and pi.ndim == 1):
                raise WorkloadError(f"{nname}: sparse arrays of {where} differ in shape")
            projections.append(
                SparseProjection(pre=pre, post=post, pre_index=pi, post_index=po, weights=w)
            )
        else:
            raise WorkloadError(
                f"{where}: field 'kind' must be 'dense', 'conv2d' or 'sparse', got {kind!r}"
            )
    meta = doc.get("meta", {}) or {}
    network = Network(
        layers=tuple(layers),
        projections=tuple(projections),
        weight_scale=ws,
        name=str(doc.get("name", meta.get("name", "network"))),
    )

    # inputs
    idoc = _get(doc, "inputs", jname, dict)
    ishape = _get(idoc, "shape", f"{jname} inputs", list)
    if len(ishape) != 3 or ishape[2] != network.n_inputs:
        raise WorkloadError(
            f"{jname} inputs: field 'shape' {ishape} must be [sample, step, {network.n_inputs}]"
        )
    packed = arr(idoc.get("array", "inputs"), "inputs")
    try:
        inputs = np.unpackbits(packed, axis=-1, count=ishape[2]).astype(bool)
    except Exception as e:
        raise WorkloadError(f"{nname}: array 'inputs' cannot be unpacked: {e}") from None
    if list(inputs.shape) != list(ishape):
        raise WorkloadError(f"{nname}: array 'inputs' unpacks to {inputs.shape}, json says {ishape}")

    # mapping
    core_of = None
    mdoc = doc.get("mapping")
    if mdoc:
        core_of = arr(mdoc.get("array", "core_of"), "mapping").astype(np.int64)
        if core_of.shape != (network.n_neurons,):
            raise WorkloadError(
                f"{nname}: array 'core_of' has shape {core_of.shape}, expected ({network.n_neurons},)"
            )

    # architecture and costs
    adoc = _get(doc, "architecture", jname, dict)
    aw = f"{jname} architecture"
    mw = _get(adoc, "mesh_width", aw, int)
    mh = _get(adoc, "mesh_height", aw, int)
    cpt = int(adoc.get("cores_per_tile", 1))
    n_cores = int(adoc.get("n_cores", mw * mh * cpt))
    if n_cores != mw * mh * cpt:
        raise WorkloadError(f"{aw}: field 'n_cores' {n_cores} != mesh_width*mesh_height*cores_per_tile")
    npc = adoc.get("neurons_per_core")
    if npc is None:
        npc = max(1, -(-network.n_neurons // n_cores))
    arch = Architecture(
        mesh_width=mw,
        mesh_height=mh,
        cores_per_tile=cpt,
        neurons_per_core=int(npc),
        synapse_memory_kib=int(adoc.get("synapse_memory_kib", 1024)),
        weight_bits=int(adoc.get("weight_bits", weight_bits_needed(network))),
        synapse_lanes=int(adoc.get("synapse_lanes", 1)),
        fifo_depth=int(adoc.get("link_buffer_size", 8)),
        link_width_bits=int(adoc.get("link_width_bits", 32)),
        voltage_v=adoc.get("voltage_v"),
        mapping=(mdoc or {}).get("policy", "packed") if (mdoc or {}).get("policy") in
        ("packed", "spread", "locality") else "packed",
    )
    if core_of is not None and core_of.size and (core_of.min() < 0 or core_of.max() >= n_cores):
        raise WorkloadError(f"{nname}: array 'core_of' names cores outside 0..{n_cores - 1}")
    energy = _get(adoc, "energy", aw, dict)
    latency = adoc.get("latency", {}) or {}
    for key in ENERGY_KEYS:
        if key not in energy:
            raise WorkloadError(f"{aw}: field 'energy' lacks {key!r}")
    costs = CostModel(
        name=str(adoc.get("name", "workload")),
        energy_j={k: float(v) for k, v in energy.items()},
        latency_s={k: float(v) for k, v in latency.items()},
        nominal_voltage_v=1.0,
        leakage_w_per_mm2=0.0,
    )
    return Workload(network=network, arch=arch, costs=costs, core_of=core_of, inputs=inputs,
                    meta=dict(meta))


# --------------------------------------------------------------------------------------------
# save


def workload_to_dict(wl: Workload) -> tuple[dict, dict]:
    net, arch = wl.network, wl.arch
    ws = float(net.weight_scale)
    arrays: dict = {}
    layers = []
    for layer in net.layers:
        d = {"name": layer.name, "size": layer.size,
             "kind": "input" if isinstance(layer, InputLayer) else "lif",
             "shape": list(layer.shape) if layer.shape is not None else None}
        if isinstance(layer, LifLayer):
            d.update(
                threshold=layer.threshold * ws,
                leak_decay=layer.leak_num / 2**layer.leak_shift,
                leak_num=layer.leak_num,
                leak_shift=layer.leak_shift,
                reset=layer.reset_value * ws,
                bias=layer.bias * ws,
                input_decay=0.0,
                reset_mode=layer.reset_mode,
            )
        layers.append(d)
    projections = []
    for k, p in enumerate(net.projections):
        d = {"pre": p.pre, "post": p.post}
        if isinstance(p, DenseProjection):
            w = np.asarray(p.weights)
            d.update(kind="dense", n_edges=int(w.size), arrays={"w_q": f"W{k}"})
            arrays[f"W{k}"] = w
        elif isinstance(p, Conv2dProjection):
            from trueasync.reference import projection_coo

            d.update(kind="conv2d", n_edges=int(projection_coo(net, p)[0].size),
                     stride=int(p.stride), padding=int(p.padding), arrays={"w": f"W{k}"})
            arrays[f"W{k}"] = np.asarray(p.weights)
        elif isinstance(p, SparseProjection):
            d.update(kind="sparse", n_edges=int(np.asarray(p.weights).size),
                     arrays={"pre": f"P{k}_pre", "post": f"P{k}_post", "w": f"W{k}"})
            arrays[f"P{k}_pre"] = np.asarray(p.pre_index)
            arrays[f"P{k}_post"] = np.asarray(p.post_index)
            arrays[f"W{k}"] = np.asarray(p.weights)
        else:
            raise TypeError(f"unknown projection type {type(p).__name__}")
        projections.append(d)
    inputs = np.asarray(wl.inputs, dtype=bool)
    arrays["inputs"] = np.packbits(inputs, axis=-1)
    arrays["layer_offsets"] = np.array(net.layer_offsets() + [net.n_neurons], dtype=np.int64)
    mapping = None
    if wl.core_of is not None:
        arrays["core_of"] = np.asarray(wl.core_of).astype(np.int32)
        mapping = {"array": "core_of", "n_cores": arch.n_cores, "policy": arch.mapping}
    cores = []
    for c in range(arch.n_cores):
        tile = c // arch.cores_per_tile
        cores.append({"id": c, "tile": tile, "x": tile // arch.mesh_height,
                      "y": tile % arch.mesh_height})
    adoc = {
        "name": wl.costs.name,
        "n_cores": arch.n_cores,
        "cores_per_tile": arch.cores_per_tile,
        "mesh_width": arch.mesh_width,
        "mesh_height": arch.mesh_height,
        "topology": TOPOLOGY,
        "neurons_per_core": arch.neurons_per_core,
        "input_units": arch.neurons_per_core,
        "link_buffer_size": arch.fifo_depth,
        "latency_sync": 0.0,
        "weight_bits": arch.weight_bits,
        "synapse_memory_kib": arch.synapse_memory_kib,
        "synapse_lanes": arch.synapse_lanes,
        "link_width_bits": arch.link_width_bits,
        "voltage_v": arch.voltage_v,
        "energy_semantics": ENERGY_SEMANTICS,
        "energy": dict(wl.costs.energy_j),
        "latency": dict(wl.costs.latency_s),
        "cores": cores,
    }
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "name": net.name,
        "meta": wl.meta,
        "weight_scale": ws,
        "layers": layers,
        "projections": projections,
        "inputs": {"array": "inputs", "shape": list(inputs.shape),
                   "encoding": "np.packbits along the last (neuron) axis; unpack with "
                   "np.unpackbits(a, axis=-1, count=n_in).astype(bool)"},
        "semantics": SANAFE_SEMANTICS,
        "architecture": adoc,
    }
    if mapping is not None:
        doc["mapping"] = mapping
    return doc, arrays


def save_workload(wl: Workload, prefix: Union[str, os.PathLike]) -> tuple[Path, Path]:
    """Write `PREFIX.json` and `PREFIX.npz`; returns both paths."""
    jpath, npath = _paths(prefix)
    doc, arrays = workload_to_dict(wl)
    jpath.parent.mkdir(parents=True, exist_ok=True)
    jpath.write_text(json.dumps(doc, indent=1, default=json_default) + "\n")
    with open(npath, "wb") as f:
        np.savez_compressed(f, **arrays)
    return jpath, npath


def json_default(o):
    """`json.dumps(default=...)` for numpy scalars and arrays."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --------------------------------------------------------------------------------------------
# generators


def _int8_weights(rng, fan_in: int, shape, gain: float) -> np.ndarray:
    std = gain * math.sqrt(10.0 / fan_in) * 64.0
    return np.clip(np.round(rng.normal(0.0, std, size=shape)), -128, 127).astype(np.int8)


def _arch_and_mapping(network, mesh, cores_per_tile, neurons_per_core, energy, latency, name,
                      link_buffer_size=16):
    mw, mh = mesh
    n_cores = mw * mh * cores_per_tile
    core_of, npc = packed_core_of(network, n_cores, neurons_per_core)
    arch = Architecture(mesh_width=mw, mesh_height=mh, cores_per_tile=cores_per_tile,
                        neurons_per_core=npc, synapse_memory_kib=1024,
                        weight_bits=weight_bits_needed(network), fifo_depth=link_buffer_size)
    costs = CostModel(name=name, energy_j=dict(energy or LOIHI_ENERGY_J),
                      latency_s=dict(latency or LOIHI_LATENCY_S), nominal_voltage_v=1.0,
                      leakage_w_per_mm2=0.0)
    return arch, costs, core_of


def _poisson(rng, samples, timesteps, n, rate):
    return rng.random((samples, timesteps, n)) < rate


def _lif(name, size, shape=None, threshold=64, leak=(7, 3), reset_mode="hard", bias=0):
    return LifLayer(name=name, size=size, threshold=threshold, leak_num=leak[0],
                    leak_shift=leak[1], bias=bias, reset_mode=reset_mode, reset_value=0,
                    shape=shape)


def generate_mlp(
    sizes: Sequence[int] = (784, 512, 256, 10),
    timesteps: int = 100,
    rate: float = 0.1,
    mesh: tuple[int, int] = (4, 4),
    cores_per_tile: int = 1,
    samples: int = 1,
    seed: int = 0,
    gain: float = 1.0,
    neurons_per_core: Optional[int] = None,
    n_cores: Optional[int] = None,
    reset_mode: str = "hard",
    bias: int = 0,
    energy: Optional[dict] = None,
    latency: Optional[dict] = None,
) -> Workload:
    """A seeded feed-forward LIF MLP like the reference workload (weight_scale 1/64, threshold
    1.0 = 64 LSB, leak 7/8, int8 weight numerators, Poisson inputs, packed mapping).

    `n_cores` (if given) overrides `mesh` with a near-square mesh of that many tiles.
    """
    if n_cores is not None:
        mesh = _mesh_for(n_cores // cores_per_tile)
    rng = np.random.default_rng(seed)
    layers = [InputLayer("in", int(sizes[0]))]
    layers += [_lif(f"fc{k}", int(s), reset_mode=reset_mode, bias=bias)
               for k, s in enumerate(sizes[1:], 1)]
    projections = [
        DenseProjection(layers[k].name, layers[k + 1].name,
                        _int8_weights(rng, sizes[k], (sizes[k], sizes[k + 1]), gain))
        for k in range(len(sizes) - 1)
    ]
    name = "mlp_" + "-".join(str(s) for s in sizes) + f"_T{timesteps}"
    network = Network(tuple(layers), tuple(projections), weight_scale=1 / 64, name=name)
    inputs = _poisson(rng, samples, timesteps, sizes[0], rate)
    arch, costs, core_of = _arch_and_mapping(network, mesh, cores_per_tile, neurons_per_core,
                                             energy, latency, f"mesh{mesh[0]}x{mesh[1]}")
    meta = {"kind": "mlp", "layers": [int(s) for s in sizes], "timesteps": timesteps,
            "rate": rate, "samples": samples, "seed": seed, "n_cores": arch.n_cores,
            "mapping": "packed", "gain": gain, "input_kind": "poisson"}
    return Workload(network, arch, costs, core_of, inputs, meta)


def generate_conv(
    in_shape: tuple[int, int, int] = (8, 8, 2),
    out_channels: int = 4,
    kernel: int = 3,
    stride: int = 1,
    padding: int = 1,
    n_out: int = 10,
    timesteps: int = 20,
    rate: float = 0.2,
    mesh: tuple[int, int] = (2, 2),
    cores_per_tile: int = 1,
    samples: int = 2,
    seed: int = 0,
    gain: float = 1.5,
    neurons_per_core: Optional[int] = None,
    energy: Optional[dict] = None,
    latency: Optional[dict] = None,
) -> Workload:
    """input H x W x C -> conv2d LIF layer -> dense LIF layer of `n_out`, seeded."""
    rng = np.random.default_rng(seed)
    H, W, C = in_shape
    Ho = (H + 2 * padding - kernel) // stride + 1
    Wo = (W + 2 * padding - kernel) // stride + 1
    conv_shape = (Ho, Wo, out_channels)
    n_conv = Ho * Wo * out_channels
    layers = (
        InputLayer("in", H * W * C, shape=tuple(in_shape)),
        _lif("conv1", n_conv, shape=conv_shape),
        _lif("fc1", n_out, reset_mode="subtract"),
    )
    k = _int8_weights(rng, C * kernel * kernel, (out_channels, C, kernel, kernel), gain)
    wfc = _int8_weights(rng, n_conv, (n_conv, n_out), gain)
    projections = (
        Conv2dProjection("in", "conv1", k, stride=stride, padding=padding),
        DenseProjection("conv1", "fc1", wfc),
    )
    network = Network(layers, projections, weight_scale=1 / 64,
                      name=f"conv_{H}x{W}x{C}_k{kernel}c{out_channels}_T{timesteps}")
    inputs = _poisson(rng, samples, timesteps, H * W * C, rate)
    arch, costs, core_of = _arch_and_mapping(network, mesh, cores_per_tile, neurons_per_core,
                                             energy, latency, f"mesh{mesh[0]}x{mesh[1]}")
    meta = {"kind": "conv", "in_shape": list(in_shape), "out_channels": out_channels,
            "kernel": kernel, "stride": stride, "padding": padding, "n_out": n_out,
            "timesteps": timesteps, "rate": rate, "samples": samples, "seed": seed,
            "n_cores": arch.n_cores, "mapping": "packed", "gain": gain, "input_kind": "poisson"}
    return Workload(network, arch, costs, core_of, inputs, meta)


def generate_sparse(
    sizes: Sequence[int] = (64, 48, 10),
    density: float = 0.2,
    recurrent: bool = True,
    timesteps: int = 30,
    rate: float = 0.2,
    mesh: tuple[int, int] = (2, 2),
    cores_per_tile: int = 1,
    samples: int = 2,
    seed: int = 0,
    gain: float = 1.5,
    neurons_per_core: Optional[int] = None,
    energy: Optional[dict] = None,
    latency: Optional[dict] = None,
) -> Workload:
    """Sparse (COO) feed-forward layers, plus a sparse recurrent projection on the first LIF
    layer when `recurrent`; some duplicate (pre, post) pairs are included on purpose."""
    rng = np.random.default_rng(seed)
    layers = [InputLayer("in", int(sizes[0]))]
    layers += [_lif(f"s{k}", int(s), reset_mode="subtract" if k % 2 else "hard",
                    leak=(3, 2) if k % 2 else (7, 3))
               for k, s in enumerate(sizes[1:], 1)]

    def coo(n_pre, n_post, dens):
        m = rng.random((n_pre, n_post)) < dens
        pre, post = np.nonzero(m)
        dup = rng.random(pre.size) < 0.05  # duplicate pairs are separate synapses
        pre = np.concatenate([pre, pre[dup]]).astype(np.int64)
        post = np.concatenate([post, post[dup]]).astype(np.int64)
        fan_in = max(1.0, n_pre * dens)
        w = _int8_weights(rng, int(fan_in), pre.shape, gain)
        return pre, post, w

    projections = []
    for k in range(len(sizes) - 1):
        pre, post, w = coo(sizes[k], sizes[k + 1], density)
        projections.append(SparseProjection(layers[k].name, layers[k + 1].name, pre, post, w))
    if recurrent and len(sizes) > 1:
        pre, post, w = coo(sizes[1], sizes[1], density / 2)
        projections.append(SparseProjection(layers[1].name, layers[1].name, pre, post, w))
    network = Network(tuple(layers), tuple(projections), weight_scale=1 / 64,
                      name="sparse_" + "-".join(str(s) for s in sizes) + f"_T{timesteps}")
    inputs = _poisson(rng, samples, timesteps, sizes[0], rate)
    arch, costs, core_of = _arch_and_mapping(network, mesh, cores_per_tile, neurons_per_core,
                                             energy, latency, f"mesh{mesh[0]}x{mesh[1]}")
    meta = {"kind": "sparse", "layers": [int(s) for s in sizes], "density": density,
            "recurrent": recurrent, "timesteps": timesteps, "rate": rate, "samples": samples,
            "seed": seed, "n_cores": arch.n_cores, "mapping": "packed", "gain": gain,
            "input_kind": "poisson"}
    return Workload(network, arch, costs, core_of, inputs, meta)
