"""NIR (Neuromorphic Intermediate Representation, `nir` 1.0) export and import.

Export (`network_to_nir`): an exported `trueasync.Network` (chain of conv2d / dense LIF layers)
becomes `Input -> Conv2d -> LIF -> ... -> Flatten -> Affine -> LIF -> Output` with real values
(integer * the layer's scale from the export metadata, or 1.0). LIF nodes use SpikingJelly's NIR
convention for `decay_input=False` neurons with dt = 1: `tau = 1 / (1 - leak)`, `r = tau`,
`v_leak = v_reset = 0` (so Euler's `v += (dt/tau)(-v + r*I)` is `v = leak*v + I`); a neuron
without leak becomes `IF` with `r = 1`. Shapes are PyTorch's (C, H, W); the dense weight after
a Flatten is in CHW order. Each synapse node's metadata carries `ancoef_scale`.

Import (`nir_to_network`): a chain `Input -> [Flatten] -> (Conv2d | Affine | Linear)
-> (LIF | IF | CubaLIF with tau_syn == dt) -> ... -> Output`. Per neuron, the input gain
(`r*dt/tau`, IF `r*dt`, CubaLIF `r*w_in*dt/tau_mem`) and the threshold are folded into the
incoming weights and bias (dividing a neuron's weights, bias and threshold by the same positive
number changes none of its spikes), then each layer is made integer: exactly when its values are
integer multiples of a common step (integer threshold <= 2**16, e.g. everything ANCoEF
exported), otherwise by symmetric rounding to `weight_bits`. The leak must be uniform per layer;
it is rounded to `n / 2**16` when not an exact binary fraction. Anything else raises
`NirImportError` naming the node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from trainer.snn import tau_from_leak
from trueasync.model import (
    Conv2dProjection,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
)


class NirImportError(ValueError):
    """The NIR graph uses something a TrueAsync network cannot represent."""


def network_to_nir(network: Network, layer_scales: Optional[list] = None):
    """A `nir.NIRGraph` of `network` (feed-forward chain, hard reset to 0)."""
    import nir

    layers = list(network.layers)
    if not isinstance(layers[0], InputLayer) or any(isinstance(l, InputLayer) for l in layers[1:]):
        raise ValueError("NIR export supports one input layer followed by LIF layers")
    by_post = {}
    for p in network.projections:
        if p.post in by_post:
            raise ValueError(f"NIR export supports one projection per layer ({p.post})")
        by_post[p.post] = p
    first = layers[0]
    in_shape = (first.shape[2], first.shape[0], first.shape[1]) if first.shape else (first.size,)
    nodes = {"input": nir.Input(input_type={"input": np.array(in_shape)})}
    edges = []
    prev_node, prev_layer, prev_shape = "input", first, in_shape
    for i, layer in enumerate(layers[1:]):
        proj = by_post.get(layer.name)
        if proj is None or proj.pre != prev_layer.name:
            raise ValueError(f"NIR export needs a chain: {layer.name} is not fed by {prev_layer.name}")
        if layer.reset_mode != "hard" or layer.reset_value != 0:
            raise ValueError(f"layer {layer.name}: NIR LIF nodes reset to v_reset; only a hard "
                             "reset to 0 is exported")
        s = float(layer_scales[i]) if layer_scales else 1.0
        if isinstance(proj, Conv2dProjection):
            ho, wo, co = layer.shape
            out_shape = (co, ho, wo)
            w = np.asarray(proj.weights, dtype=np.float64) * s
            syn = nir.Conv2d(input_shape=np.array(prev_shape[1:]), weight=w,
                             stride=np.array([proj.stride] * 2), padding=np.array([proj.padding] * 2),
                             dilation=np.array([1, 1]), groups=1,
                             bias=np.full(co, layer.bias * s, dtype=np.float64),
                             metadata={"ancoef_scale": s})
        elif isinstance(proj, DenseProjection):
            w = np.asarray(proj.weights, dtype=np.float64)  # [pre, post], pre in HWC order
            if len(prev_shape) == 3:
                c, h, wd = prev_shape
                w = w.reshape(h, wd, c, layer.size).transpose(3, 2, 0, 1).reshape(layer.size, -1)
                fname = f"flatten{i + 1}"
                nodes[fname] = nir.Flatten(input_type={"input": np.array(prev_shape)},
                                           start_dim=0, end_dim=-1)
                edges.append((prev_node, fname))
                prev_node = fname
            else:
                w = w.T
            out_shape = (layer.size,)
            syn = nir.Affine(weight=w * s, bias=np.full(layer.size, layer.bias * s),
                             metadata={"ancoef_scale": s})
        else:
            raise ValueError(f"NIR export: unsupported projection {type(proj).__name__}")
        sname = f"syn{i + 1}"
        nname = layer.name if layer.name not in ("input", "output") else f"{layer.name}_lif"
        nodes[sname] = syn
        thr = np.full(out_shape, layer.threshold * s, dtype=np.float64)
        zero = np.zeros(out_shape)
        if layer.leak_num == (1 << layer.leak_shift):
            nodes[nname] = nir.IF(r=np.ones(out_shape), v_threshold=thr, v_reset=zero)
        else:
            tau = tau_from_leak(layer.leak_num, layer.leak_shift)
            nodes[nname] = nir.LIF(tau=np.full(out_shape, tau), r=np.full(out_shape, tau),
                                   v_leak=zero, v_threshold=thr, v_reset=zero)
        edges += [(prev_node, sname), (sname, nname)]
        prev_node, prev_layer, prev_shape = nname, layer, out_shape
    nodes["output"] = nir.Output(output_type={"output": np.array(prev_shape)})
    edges.append((prev_node, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def write_nir(network: Network, path, layer_scales: Optional[list] = None) -> None:
    import nir

    nir.write(str(path), network_to_nir(network, layer_scales))


@dataclass
class NirImport:
    network: Network
    exact: list = field(default_factory=list)  # per LIF layer: integers found exactly
    leak_exact: list = field(default_factory=list)
    layer_scales: list = field(default_factory=list)  # real value of one integer unit per layer


def _uniform(a, what: str) -> float:
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise NirImportError(f"{what} is empty")
    v = float(a.reshape(-1)[0])
    if not np.allclose(a, v, rtol=1e-9, atol=1e-12):
        raise NirImportError(f"{what} must be the same for every neuron of the layer")
    return v


def _per_channel(a, shape, what: str) -> np.ndarray:
    """A per-neuron parameter as one value per output channel (conv) / neuron (dense)."""
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), shape)
    if len(shape) == 3:
        flat = a.reshape(shape[0], -1)
        if not np.allclose(flat, flat[:, :1], rtol=1e-9, atol=1e-12):
            raise NirImportError(f"{what} varies within a channel; a conv layer needs one value "
                                 "per output channel")
        return flat[:, 0].copy()
    return a.reshape(-1).copy()


def _integerise(w: np.ndarray, b: float, bits: int, max_threshold: int = 1 << 16):
    """(int weights, int bias, int threshold, unit, exact) for a layer with threshold 1."""
    vals = np.unique(np.abs(np.concatenate([w.reshape(-1), [b]])))
    vals = vals[vals > 0]
    for t0 in range(1, max_threshold + 1, 4096):
        ts = np.arange(t0, min(t0 + 4096, max_threshold + 1), dtype=np.float64)
        prod = vals[None, :] * ts[:, None]
        ok = np.all(np.abs(prod - np.round(prod)) <= 1e-6 * np.maximum(1.0, prod), axis=1)
        if ok.any():
            t = float(ts[np.argmax(ok)])
            return (np.round(w * t).astype(np.int64), int(round(b * t)), int(t), 1.0 / t, True)
    q = (1 << (bits - 1)) - 1
    s = float(np.abs(w).max()) / q if np.abs(w).max() > 0 else 1.0
    return (np.clip(np.round(w / s), -q, q).astype(np.int64), int(round(b / s)),
            max(1, int(round(1.0 / s))), s, False)


def nir_to_network(graph_or_path, weight_bits: int = 8, dt: float = 1.0,
                   name: str = "nir-import") -> NirImport:
    """A `trueasync.Network` from a NIR graph (or a `.nir` file path); see the module docstring."""
    import nir

    graph = nir.read(str(graph_or_path)) if not hasattr(graph_or_path, "nodes") else graph_or_path
    nodes, succ = graph.nodes, {}
    for a, b in graph.edges:
        if a in succ:
            raise NirImportError(f"node {a!r} has several successors; only chains are supported")
        succ[a] = b
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise NirImportError(f"expected exactly one Input node, found {len(inputs)}")
    cur = inputs[0]
    shape = tuple(int(v) for v in np.asarray(list(nodes[cur].input_type.values())[0]).reshape(-1))
    if len(shape) == 3:
        c, h, w = shape
        layers = [InputLayer("input", c * h * w, shape=(h, w, c))]
    elif len(shape) == 1:
        layers = [InputLayer("input", shape[0])]
    else:
        raise NirImportError(f"Input shape {shape}: expected (C, H, W) or (n,)")
    projections, exact, leak_exact, scales = [], [], [], []
    pending = None  # (kind, weight, bias vector, stride, padding, out shape)
    k = 0
    while cur in succ:
        key = succ[cur]
        node = nodes[key]
        if isinstance(node, nir.Output):
            break
        if isinstance(node, nir.Flatten):
            shape = (int(np.prod(shape)),)
        elif isinstance(node, nir.Conv2d):
            if len(shape) != 3:
                raise NirImportError(f"Conv2d {key!r} needs a (C, H, W) input, got {shape}")
            if int(np.max(np.asarray(node.dilation))) != 1 or int(node.groups) != 1:
                raise NirImportError(f"Conv2d {key!r}: dilation and groups are not supported")
            wt = np.asarray(node.weight, dtype=np.float64)
            st = np.asarray(node.stride).reshape(-1)
            pd = np.asarray(node.padding).reshape(-1)
            if st.min() != st.max() or pd.min() != pd.max() or isinstance(node.padding, str):
                raise NirImportError(f"Conv2d {key!r}: stride and padding must be square ints")
            kh, kw = wt.shape[2:]
            ho = (shape[1] + 2 * int(pd[0]) - kh) // int(st[0]) + 1
            wo = (shape[2] + 2 * int(pd[0]) - kw) // int(st[0]) + 1
            bias = np.zeros(wt.shape[0]) if node.bias is None else np.asarray(node.bias, float)
            pending = ("conv", wt, np.broadcast_to(bias, (wt.shape[0],)).astype(float),
                       int(st[0]), int(pd[0]), (wt.shape[0], ho, wo), shape)
            shape = (wt.shape[0], ho, wo)
        elif isinstance(node, (nir.Affine, nir.Linear)):
            wt = np.asarray(node.weight, dtype=np.float64)  # [out, in]
            if int(np.prod(shape)) != wt.shape[1]:
                raise NirImportError(f"{type(node).__name__} {key!r}: {wt.shape[1]} inputs but "
                                     f"the previous node gives {shape}")
            bias = (np.asarray(node.bias, float) if isinstance(node, nir.Affine)
                    else np.zeros(wt.shape[0]))
            pending = ("dense", wt, bias.reshape(-1), 1, 0, (wt.shape[0],), shape)
            shape = (wt.shape[0],)
        elif isinstance(node, (nir.LIF, nir.IF, nir.CubaLIF)):
            if pending is None:
                raise NirImportError(f"neuron node {key!r} has no weights before it")
            kind, wt, bias, stride, pad, out_shape, in_shape = pending
            where = f"{type(node).__name__} {key!r}"
            if isinstance(node, nir.LIF):
                tau = _uniform(node.tau, f"{where}: tau") / dt
                gain = _per_channel(node.r, out_shape, f"{where}: r") / tau
                leak = 1.0 - 1.0 / tau
                v_leak = node.v_leak
            elif isinstance(node, nir.IF):
                gain = _per_channel(node.r, out_shape, f"{where}: r") * dt
                leak, v_leak = 1.0, 0.0
            else:
                tau_syn = _uniform(node.tau_syn, f"{where}: tau_syn")
                if not math.isclose(tau_syn, dt, rel_tol=1e-9):
                    raise NirImportError(f"{where}: only CubaLIF with tau_syn == dt (no synaptic "
                                         f"memory) is supported (tau_syn={tau_syn}, dt={dt})")
                tau = _uniform(node.tau_mem, f"{where}: tau_mem") / dt
                gain = (_per_channel(node.r, out_shape, f"{where}: r")
                        * _per_channel(node.w_in, out_shape, f"{where}: w_in") / tau)
                leak = 1.0 - 1.0 / tau
                v_leak = node.v_leak
            if not np.allclose(np.asarray(v_leak, float), 0.0) or not np.allclose(
                    np.asarray(node.v_reset, float), 0.0):
                raise NirImportError(f"{where}: v_leak and v_reset must be 0")
            if not 0.0 <= leak <= 1.0:
                raise NirImportError(f"{where}: leak {leak} outside [0, 1] (tau < dt?)")
            thr = _per_channel(node.v_threshold, out_shape, f"{where}: v_threshold")
            if np.any(thr <= 0) or np.any(gain <= 0):
                raise NirImportError(f"{where}: thresholds and input gains must be positive")
            f = gain / thr  # per output channel / neuron: divide by threshold, fold the gain
            wn = wt * f.reshape(-1, *([1] * (wt.ndim - 1)))
            bn = bias * f
            if not np.allclose(bn, bn[0], rtol=1e-9, atol=1e-12):
                raise NirImportError(f"{where}: per-neuron bias / threshold ratios differ; a "
                                     "TrueAsync layer has one bias and one threshold")
            wi, bi, ti, unit, ok = _integerise(wn, float(bn[0]), weight_bits)
            num = leak * 65536
            lshift, lnum = 16, int(round(num))
            while lshift > 0 and lnum % 2 == 0:
                lnum //= 2
                lshift -= 1
            leak_exact.append(abs(num - round(num)) < 1e-9)
            k += 1
            lname = key if key not in [l.name for l in layers] else f"{key}_{k}"
            prev = layers[-1]
            if kind == "conv":
                co, ho, wo = out_shape
                layers.append(LifLayer(lname, co * ho * wo, ti, lnum, lshift, bi,
                                       shape=(ho, wo, co)))
                projections.append(Conv2dProjection(prev.name, lname, wi, stride, pad))
            else:
                if len(in_shape) == 3 or (prev.shape is not None):
                    if prev.shape is None:
                        raise NirImportError(f"{where}: cannot map a flattened (C,H,W) input")
                    h_, w_, c_ = prev.shape
                    wmat = wi.reshape(-1, c_, h_, w_).transpose(2, 3, 1, 0).reshape(h_ * w_ * c_, -1)
                else:
                    wmat = wi.T
                layers.append(LifLayer(lname, out_shape[0], ti, lnum, lshift, bi))
                projections.append(DenseProjection(prev.name, lname, np.ascontiguousarray(wmat)))
            exact.append(ok)
            scales.append(unit)
            pending = None
        else:
            raise NirImportError(f"unsupported NIR node {key!r} of type {type(node).__name__}; "
                                 "supported: Input, Output, Flatten, Conv2d, Affine, Linear, LIF, "
                                 "IF, CubaLIF (tau_syn == dt)")
        cur = key
    if pending is not None:
        raise NirImportError("the graph ends with weights that feed no neuron")
    if len(layers) < 2:
        raise NirImportError("the graph has no neuron layers")
    # the last layer is the network's output; name it so (projections follow the rename)
    last = layers[-1].name
    if last != "output" and "output" not in [l.name for l in layers]:
        from dataclasses import replace

        layers[-1] = replace(layers[-1], name="output")
        projections = [replace(p, post="output") if p.post == last else p for p in projections]
    return NirImport(Network(tuple(layers), tuple(projections), 1.0, name), exact, leak_exact,
                     scales)
