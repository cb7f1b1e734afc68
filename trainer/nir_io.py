"""NIR (Neuromorphic Intermediate Representation, `nir` 1.0) export and import.

Time step. NIR neurons are continuous-time ODEs; a discrete-time network reads them with a time
step `dt` (seconds), by Euler's rule as snnTorch and SpikingJelly do:
LIF `v <- (1 - dt/tau) v + (dt/tau) (v_leak + r I)`, IF `v <- v + dt r I`, CubaLIF with the
synaptic current `I <- (1 - dt/tau_syn) I + (dt/tau_syn) w_in S` first. snnTorch's exporter and
SpikingJelly's `nir_exchange` write `dt = 1e-4` s without recording it; ANCoEF writes its `dt`
(default `DEFAULT_DT = 1e-4`, the same) in the graph's metadata (`dt`), and reads it back.

Export (`network_to_nir`): an exported `trueasync.Network` (chain of conv2d / dense LIF layers,
optionally behind the off-chip encoder of a direct-encoded network) becomes
`Input -> Conv2d -> LIF -> ... -> Flatten -> Affine -> LIF -> Output` with real values
(integer * the layer's scale). A layer with leak `l` becomes `LIF(tau = dt / (1 - l),
r = tau / dt, v_leak = 0)`, so its input gain `r dt / tau` is 1 and snnTorch reads
`beta = 1 - dt / tau = l`; no leak becomes `IF(r = 1 / dt)`. Node metadata records what NIR
has no field for: `reset_mechanism` (`subtract` or `zero`) and `spike_condition` (`v >=
v_threshold`, TrueAsync's rule).

Import (`nir_to_network`): any graph of Input, Output, Linear, Affine, Conv2d, SumPool2d,
AvgPool2d, Flatten, LIF, IF and CubaLIF nodes, nested subgraphs (snnTorch's recurrent
layers) included. Every chain of weight / pooling nodes between two neuron nodes (or from the
input) becomes one projection: a convolution when the chain composes exactly into one (pooling
is a fixed convolution: SumPool weights 1, AvgPool 1/k^2, per channel), else dense or sparse
weights computed from the chain itself. Several chains into one neuron node add up; a chain
from a later (or the same) neuron node is a recurrent projection (one step of delay, as
snnTorch's RLeaky). Per neuron, the input gain and the threshold are folded into the incoming
weights and bias, `v_leak` into the bias; then each layer is made integer: exactly when its
values are integer multiples of a common step (threshold <= 2**16; ANCoEF's own exports),
otherwise by symmetric rounding to `weight_bits`. A leak that is not a binary fraction is
rounded to n / 2**16 (`NirImport.leak_exact`). Spikes: NIR fires at `v > v_threshold`
(snnTorch's rule), TrueAsync at `v >= threshold`; an exact layer gets threshold + 1 unless its
metadata says `v >= v_threshold` (ANCoEF; SpikingJelly also fires at `>=` but does not say so:
the two differ only when a potential equals the threshold exactly). A subtract reset
(`reset_mechanism` metadata) stays a subtract reset; without metadata the reset is NIR's
`v_reset`. CubaLIF imports exactly when its synaptic current has no memory (`tau_syn == dt`);
otherwise, and for every other node type, `NirImportError` names the node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from trainer.leak import tau_from_leak
from trueasync.model import (
    Conv2dProjection,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)

DEFAULT_DT = 1e-4  # seconds; what snnTorch's and SpikingJelly's exporters assume
PRODUCER = "ancoef"
MAX_DENSE_ENTRIES = 1 << 24  # a chain that is not one convolution: dense up to this size
LIMIT = 1 << 30  # docs/fixed-point.md "Limits"


class NirImportError(ValueError):
    """The NIR graph uses something a TrueAsync network cannot represent."""


# -- export ----------------------------------------------------------------------------------------


def _lif_node(nir, layer_like, shape, thr_real, dt, reset_value_real=0.0, meta=None):
    thr = np.full(shape, thr_real, dtype=np.float64)
    reset = np.full(shape, reset_value_real, dtype=np.float64)
    md = {"reset_mechanism": "subtract" if layer_like["reset_mode"] == "subtract" else "zero",
          "spike_condition": "v >= v_threshold", **(meta or {})}
    if layer_like["leak_num"] == (1 << layer_like["leak_shift"]):
        return nir.IF(r=np.full(shape, 1.0 / dt), v_threshold=thr, v_reset=reset, metadata=md)
    tau_steps = tau_from_leak(layer_like["leak_num"], layer_like["leak_shift"])
    return nir.LIF(tau=np.full(shape, tau_steps * dt), r=np.full(shape, tau_steps),
                   v_leak=np.zeros(shape), v_threshold=thr, v_reset=reset, metadata=md)


def network_to_nir(network: Network, layer_scales: Optional[list] = None, dt: float = DEFAULT_DT,
                   encoder=None):
    """A `nir.NIRGraph` of `network` (a feed-forward chain), time step `dt` seconds.

    `encoder` (`trainer.encoder.InputEncoder` or its dict) puts the off-chip encoder of a
    direct-encoded network in front: the graph then reads the analog image (C, H, W) in
    [0, 1]."""
    import nir

    from trainer.encoder import encoder_from_meta

    if not dt > 0:
        raise ValueError(f"dt must be > 0 seconds, got {dt}")
    enc = encoder_from_meta({"input_encoder": encoder}) if encoder is not None else None
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
    nodes, edges = {}, []
    prev_node, prev_shape = "input", in_shape
    if enc is not None:
        prev_shape = tuple(enc.in_shape)
        real = enc.unit * enc.levels  # real weight of one integer step (input in [0, 1])
        nodes["encoder_conv"] = nir.Conv2d(
            input_shape=np.array(prev_shape[1:]), weight=enc.weights.astype(np.float64) * real,
            stride=np.array([enc.stride] * 2), padding=np.array([enc.padding] * 2),
            dilation=np.array([1, 1]), groups=1,
            bias=np.full(enc.out_shape[0], enc.bias * enc.unit, dtype=np.float64),
            metadata={"ancoef_scale": real, "ancoef_role": "off-chip input encoder"})
        lk = {"leak_num": enc.leak_num, "leak_shift": enc.leak_shift,
              "reset_mode": enc.reset_mode}
        nodes["encoder_lif"] = _lif_node(nir, lk, tuple(enc.out_shape), enc.threshold * enc.unit,
                                         dt, meta={"ancoef_role": "off-chip input encoder"})
        edges += [("input", "encoder_conv"), ("encoder_conv", "encoder_lif")]
        prev_node, prev_shape = "encoder_lif", tuple(enc.out_shape)
    nodes["input"] = nir.Input(input_type={"input": np.array(in_shape if enc is None
                                                             else enc.in_shape)})
    prev_layer = first
    for i, layer in enumerate(layers[1:]):
        proj = by_post.get(layer.name)
        if proj is None or proj.pre != prev_layer.name:
            raise ValueError(f"NIR export needs a chain: {layer.name} is not fed by {prev_layer.name}")
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
        lk = {"leak_num": layer.leak_num, "leak_shift": layer.leak_shift,
              "reset_mode": layer.reset_mode}
        nodes[nname] = _lif_node(nir, lk, out_shape, layer.threshold * s, dt,
                                 layer.reset_value * s if layer.reset_mode == "hard" else 0.0)
        edges += [(prev_node, sname), (sname, nname)]
        prev_node, prev_layer, prev_shape = nname, layer, out_shape
    nodes["output"] = nir.Output(output_type={"output": np.array(prev_shape)})
    edges.append((prev_node, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"dt": float(dt), "producer": PRODUCER,
                                  "input": "analog image in [0, 1]" if enc is not None
                                  else "spikes"})


def write_nir(network: Network, path, layer_scales: Optional[list] = None,
              dt: float = DEFAULT_DT, encoder=None) -> None:
    import nir

    nir.write(str(path), network_to_nir(network, layer_scales, dt=dt, encoder=encoder))


# -- import ----------------------------------------------------------------------------------------


@dataclass
class NirImport:
    network: Network
    exact: list = field(default_factory=list)  # per LIF layer: integers found exactly
    leak_exact: list = field(default_factory=list)
    layer_scales: list = field(default_factory=list)  # real value of one integer unit per layer
    dt: float = DEFAULT_DT
    node_of_layer: dict = field(default_factory=dict)  # layer name -> NIR node key


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO" and v.size == 1:
        return _text(v.reshape(-1)[0])
    return v


def _meta(node) -> dict:
    return {str(k): _text(v) for k, v in (getattr(node, "metadata", None) or {}).items()}


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
    a = np.asarray(a, dtype=np.float64)
    try:
        a = np.broadcast_to(a.reshape(a.shape[-len(shape):]) if a.ndim > len(shape) else a, shape)
    except ValueError:
        raise NirImportError(f"{what} has shape {a.shape}, the layer {shape}") from None
    if len(shape) == 3:
        flat = a.reshape(shape[0], -1)
        if not np.allclose(flat, flat[:, :1], rtol=1e-9, atol=1e-12):
            raise NirImportError(f"{what} varies within a channel; a conv layer needs one value "
                                 "per output channel")
        return flat[:, 0].copy()
    return a.reshape(-1).copy()


def _strip_batch(shape: tuple) -> tuple:
    """Input types as exporters write them: snnTorch keeps the sample's batch dim ([1, N],
    [1, C, H, W])."""
    if len(shape) in (2, 4) and shape[0] == 1:
        return shape[1:]
    return shape


def _flatten_graph(graph, prefix: str = ""):
    """(nodes, edges) with nested NIRGraph nodes (snnTorch's RLeaky, RSynaptic) inlined."""
    import nir

    nodes, edges, entry, exit_ = {}, [], {}, {}
    for key, node in graph.nodes.items():
        name = f"{prefix}{key}"
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten_graph(node, prefix=f"{name}.")
            ins = [k for k, v in sub_nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in sub_nodes.items() if isinstance(v, nir.Output)]
            if len(ins) != 1 or len(outs) != 1:
                raise NirImportError(f"subgraph {name!r} needs one Input and one Output node")
            entry[name] = [b for a, b in sub_edges if a == ins[0]]
            exit_[name] = [a for a, b in sub_edges if b == outs[0]]
            nodes.update({k: v for k, v in sub_nodes.items() if k not in (ins[0], outs[0])})
            edges += [(a, b) for a, b in sub_edges if a != ins[0] and b != outs[0]]
        else:
            nodes[name] = node
    for a, b in graph.edges:
        a, b = f"{prefix}{a}", f"{prefix}{b}"
        for src in exit_.get(a, [a]):
            for dst in entry.get(b, [b]):
                edges.append((src, dst))
    return nodes, list(dict.fromkeys(edges))


@dataclass
class _Op:
    """A weight or pooling node as a linear map (no bias) on [C, H, W] or [n] arrays."""

    key: str
    kind: str  # conv | dense | flatten
    weight: Optional[np.ndarray] = None  # conv [O, I, kh, kw] ; dense [out, in]
    stride: int = 1
    padding: int = 0
    bias: Optional[np.ndarray] = None  # per output channel / feature

    def out_shape(self, shape: tuple) -> tuple:
        if self.kind == "flatten":
            return (int(np.prod(shape)),)
        if self.kind == "dense":
            if int(np.prod(shape)) != self.weight.shape[1]:
                raise NirImportError(f"node {self.key!r}: {self.weight.shape[1]} inputs but the "
                                     f"previous node gives {shape}")
            return (self.weight.shape[0],)
        if len(shape) != 3 or shape[0] != self.weight.shape[1]:
            raise NirImportError(f"node {self.key!r} needs a ({self.weight.shape[1]}, H, W) "
                                 f"input, got {shape}")
        kh, kw = self.weight.shape[2:]
        ho = (shape[1] + 2 * self.padding - kh) // self.stride + 1
        wo = (shape[2] + 2 * self.padding - kw) // self.stride + 1
        if ho < 1 or wo < 1:
            raise NirImportError(f"node {self.key!r}: empty output for input {shape}")
        return (self.weight.shape[0], ho, wo)

    def apply(self, x, shape: tuple):
        """x: float64 tensor [B, *shape] -> [B, *out_shape] (no bias)."""
        import torch
        import torch.nn.functional as F

        if self.kind == "flatten":
            return x.reshape(x.shape[0], -1)
        if self.kind == "dense":
            return x.reshape(x.shape[0], -1) @ torch.from_numpy(self.weight).T
        return F.conv2d(x, torch.from_numpy(self.weight), stride=self.stride,
                        padding=self.padding)


def _square(v, what: str) -> int:
    a = np.asarray(v).reshape(-1)
    if isinstance(v, str) or a.size == 0 or a.min() != a.max():
        raise NirImportError(f"{what}: must be a square integer (got {v!r})")
    return int(a[0])


def _op_of(key: str, node, shape: tuple) -> _Op:
    import nir

    if isinstance(node, nir.Flatten):
        return _Op(key, "flatten")
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = np.asarray(node.weight, dtype=np.float64)
        b = np.asarray(node.bias, np.float64).reshape(-1) if isinstance(node, nir.Affine) else None
        return _Op(key, "dense", w, bias=b)
    if isinstance(node, nir.Conv2d):
        if _square(node.dilation, f"Conv2d {key!r} dilation") != 1 or int(node.groups) != 1:
            raise NirImportError(f"Conv2d {key!r}: dilation and groups are not supported")
        w = np.asarray(node.weight, dtype=np.float64)
        b = None if node.bias is None else np.broadcast_to(
            np.asarray(node.bias, np.float64).reshape(-1), (w.shape[0],)).copy()
        return _Op(key, "conv", w, _square(node.stride, f"Conv2d {key!r} stride"),
                   _square(node.padding, f"Conv2d {key!r} padding"), b)
    if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
        if len(shape) != 3:
            raise NirImportError(f"{type(node).__name__} {key!r} needs a (C, H, W) input, got {shape}")
        k = _square(node.kernel_size, f"{type(node).__name__} {key!r} kernel_size")
        stride = np.asarray(node.stride).reshape(-1)
        s = k if stride.size == 0 else _square(node.stride, f"{type(node).__name__} {key!r} stride")
        p = _square(node.padding, f"{type(node).__name__} {key!r} padding")
        c = shape[0]
        value = 1.0 if isinstance(node, nir.SumPool2d) else 1.0 / (k * k)
        w = np.zeros((c, c, k, k))
        w[np.arange(c), np.arange(c)] = value  # one fixed kernel per channel
        return _Op(key, "conv", w, s, p)
    raise NirImportError(_unsupported(key, node))


def _unsupported(key, node) -> str:
    return (f"unsupported NIR node {key!r} of type {type(node).__name__}; supported: Input, "
            "Output, Flatten, Conv2d, Affine, Linear, SumPool2d, AvgPool2d, LIF, IF, CubaLIF "
            "(tau_syn == dt)")


def _compose_conv(a: _Op, b: _Op) -> _Op:
    """One convolution computing b(a(x)) where valid (checked by the caller)."""
    import torch

    wa, wb = torch.from_numpy(a.weight), torch.from_numpy(b.weight)
    # kernel of the composition: each tap of b places a's kernel, spread by a's stride
    o = wb.shape[0]
    i = wa.shape[1]
    kh = wa.shape[2] + (wb.shape[2] - 1) * a.stride
    kw = wa.shape[3] + (wb.shape[3] - 1) * a.stride
    w = torch.zeros((o, i, kh, kw), dtype=torch.float64)
    for u in range(wb.shape[2]):
        for v in range(wb.shape[3]):
            w[:, :, u * a.stride:u * a.stride + wa.shape[2],
              v * a.stride:v * a.stride + wa.shape[3]] += torch.einsum(
                "om,mihw->oihw", wb[:, :, u, v], wa)
    return _Op(f"{a.key}+{b.key}", "conv", w.numpy(), a.stride * b.stride,
               a.padding + b.padding * a.stride)


def _chain_map(chain: list, shape: tuple):
    """(function x -> chain(x) without bias, output shape)."""
    shapes = [shape]
    for op in chain:
        shapes.append(op.out_shape(shapes[-1]))

    def run(x):
        for op, s in zip(chain, shapes):
            x = op.apply(x, s)
        return x

    return run, shapes[-1]


def _projection_weights(chain: list, pre_shape: tuple, where: str):
    """('conv', weights, stride, padding) | ('dense', [pre, post]) | ('sparse', pre, post, w):
    the chain as one TrueAsync projection (inputs and outputs in (C, H, W) / flat order)."""
    import torch

    run, out_shape = _chain_map(chain, pre_shape)
    ops = [op for op in chain if op.kind != "flatten"]
    if chain and all(op.kind == "conv" for op in chain):
        comp = ops[0]
        for op in ops[1:]:
            comp = _compose_conv(comp, op)
        ok = comp.out_shape(pre_shape) == out_shape
        if ok and len(ops) > 1:
            x = torch.from_numpy(np.random.default_rng(0).random((2,) + pre_shape))
            ok = torch.allclose(run(x), comp.apply(x, pre_shape), rtol=1e-9, atol=1e-9)
        if ok:
            return ("conv", comp.weight, comp.stride, comp.padding), out_shape
    n_pre, n_post = int(np.prod(pre_shape)), int(np.prod(out_shape))
    if n_pre * n_post > 64 * MAX_DENSE_ENTRIES:
        raise NirImportError(f"{where}: the chain {' -> '.join(op.key for op in chain)} is not "
                             f"one convolution and too large ({n_pre} x {n_post}) to expand")
    pre_i, post_i, wts = [], [], []
    for s in range(0, n_pre, 512):
        eye = torch.zeros((min(512, n_pre - s), n_pre), dtype=torch.float64)
        eye[torch.arange(eye.shape[0]), torch.arange(s, s + eye.shape[0])] = 1.0
        y = run(eye.reshape((-1,) + pre_shape)).reshape(eye.shape[0], -1).numpy()
        r, c = np.nonzero(y)
        pre_i.append(r + s)
        post_i.append(c)
        wts.append(y[r, c])
    pre_i, post_i, wts = np.concatenate(pre_i), np.concatenate(post_i), np.concatenate(wts)
    if n_pre * n_post <= MAX_DENSE_ENTRIES and wts.size > 0.25 * n_pre * n_post:
        dense = np.zeros((n_pre, n_post))
        dense[pre_i, post_i] = wts
        return ("dense", dense), out_shape
    return ("sparse", pre_i, post_i, wts), out_shape


def _neuron_params(key, node, shape, dt):
    """(gain per channel, threshold per channel, leak, bias offset per channel, reset, strict)."""
    import nir

    md = _meta(node)
    where = f"{type(node).__name__} {key!r}"
    if isinstance(node, nir.LIF):
        tau = _uniform(node.tau, f"{where}: tau") / dt
        gain = _per_channel(node.r, shape, f"{where}: r") / tau
        leak, v_leak = 1.0 - 1.0 / tau, _per_channel(node.v_leak, shape, f"{where}: v_leak")
    elif isinstance(node, nir.IF):
        gain = _per_channel(node.r, shape, f"{where}: r") * dt
        leak, v_leak = 1.0, np.zeros_like(gain)
    else:
        tau_syn = _uniform(node.tau_syn, f"{where}: tau_syn")
        if not math.isclose(tau_syn, dt, rel_tol=1e-6):  # exporters compute in float32
            alpha = 1.0 - dt / tau_syn
            raise NirImportError(
                f"{where}: its synaptic current has memory (tau_syn = {tau_syn:g} s = "
                f"{tau_syn / dt:g} dt, current decay {alpha:g} a step); TrueAsync neurons have "
                f"no synaptic state, so only CubaLIF with tau_syn == dt ({dt:g} s) imports "
                "exactly")
        tau = _uniform(node.tau_mem, f"{where}: tau_mem") / dt
        gain = (_per_channel(node.r, shape, f"{where}: r")
                * _per_channel(node.w_in, shape, f"{where}: w_in") / tau)
        leak, v_leak = 1.0 - 1.0 / tau, _per_channel(node.v_leak, shape, f"{where}: v_leak")
    if not 0.0 <= leak <= 1.0:
        raise NirImportError(f"{where}: leak {leak} outside [0, 1] (tau < dt? dt = {dt:g} s)")
    thr = _per_channel(node.v_threshold, shape, f"{where}: v_threshold")
    if np.any(thr <= 0) or np.any(gain <= 0):
        raise NirImportError(f"{where}: thresholds and input gains must be positive")
    mech = str(md.get("reset_mechanism", md.get("reset", "zero"))).lower()
    if mech in ("subtract", "soft", "subtraction"):
        reset = "subtract"
    elif mech in ("zero", "hard", "v_reset"):
        reset = "hard"
    else:
        raise NirImportError(f"{where}: reset mechanism {mech!r} is not supported (subtract or "
                             "a reset to v_reset)")
    v_reset = _per_channel(node.v_reset if node.v_reset is not None else 0.0, shape,
                           f"{where}: v_reset")
    strict = str(md.get("spike_condition", "v > v_threshold")).replace(" ", "") != "v>=v_threshold"
    # v_leak enters as a constant drive (1 - leak) * v_leak per step
    return gain, thr, leak, (1.0 - leak) * v_leak, v_reset, reset, strict


def _common_step(values: np.ndarray, max_threshold: int = 1 << 16) -> Optional[int]:
    """The smallest t <= max_threshold making every value * t an integer (None if there is
    none): candidates from a few values first, then checked on all."""
    vals = np.unique(np.abs(values[values != 0]))
    if vals.size == 0:
        return 1
    probe = vals[np.linspace(0, vals.size - 1, min(16, vals.size)).astype(int)]
    ts = np.arange(1, max_threshold + 1, dtype=np.float64)
    cand = ts
    for v in probe:
        prod = v * cand
        cand = cand[np.abs(prod - np.round(prod)) <= 1e-6 * np.maximum(1.0, prod)]
        if cand.size == 0:
            return None
    for t in cand:
        prod = vals * t
        if np.all(np.abs(prod - np.round(prod)) <= 1e-6 * np.maximum(1.0, prod)):
            return int(t)
    return None


def _quantise_layer(parts: list, bias: float, reset_value: float, bits: int, strict: bool):
    """Integer weights of all incoming projections of one layer (threshold 1 in these units),
    plus (bias, threshold, reset value, unit, exact)."""
    allw = np.concatenate([np.asarray(w).reshape(-1) for w in parts] + [np.array([bias,
                                                                                   reset_value])])
    t = _common_step(allw)
    if t is not None:
        ints = [np.round(np.asarray(w) * t).astype(np.int64) for w in parts]
        thr = t + 1 if strict else t
        return ints, int(round(bias * t)), thr, int(round(reset_value * t)), 1.0 / t, True
    q = (1 << (bits - 1)) - 1
    wmax = max(float(np.abs(np.asarray(w)).max()) if np.asarray(w).size else 0.0 for w in parts)
    s = wmax / q if wmax > 0 else 1.0
    ints = [np.clip(np.round(np.asarray(w) / s), -q, q).astype(np.int64) for w in parts]
    return (ints, int(round(bias / s)), max(1, int(round(1.0 / s))), int(round(reset_value / s)),
            s, False)


def _leak_fraction_16(leak: float) -> tuple[int, int, bool]:
    """n / 2**k (k <= 16) nearest to `leak`, and whether that is exact up to float32 noise in
    the exporter's tau (1e-2 of 2**-16)."""
    num = leak * 65536
    lshift, lnum = 16, int(round(num))
    while lshift > 0 and lnum % 2 == 0:
        lnum //= 2
        lshift -= 1
    return lnum, lshift, abs(num - round(num)) < 1e-2


def _read_graph(graph_or_path):
    import nir

    if hasattr(graph_or_path, "nodes"):
        return graph_or_path
    try:
        return nir.read(str(graph_or_path))
    except (OSError, KeyError) as exc:
        raise NirImportError(f"cannot read NIR file {graph_or_path}: {exc}") from None
    except Exception:  # noqa: BLE001 - older graphs may fail nir's type check
        return nir.read(str(graph_or_path), type_check=False)


def graph_dt(graph) -> Optional[float]:
    """The time step recorded in a graph's metadata (ANCoEF writes `dt`), else None. ANCoEF
    exports written before `dt` was recorded used tau in time steps: dt = 1."""
    md = {str(k): _text(v) for k, v in (getattr(graph, "metadata", None) or {}).items()}
    if "dt" in md:
        return float(np.asarray(md["dt"]).reshape(-1)[0])
    legacy = any("ancoef_scale" in (getattr(n, "metadata", None) or {})
                 for n in graph.nodes.values())
    return 1.0 if legacy else None


def _order(neurons: list, feeds: dict, start: str) -> list:
    """Neuron nodes in topological order of the feed-forward projections (depth first from the
    input; an edge back to a node on the current path closes a loop: recurrent)."""
    out, state = [], {}
    succ = {k: [] for k in [start] + neurons}
    for dst, terms in feeds.items():
        for src, _ in terms:
            succ[src].append(dst)

    def visit(n):
        stack = [(n, iter(succ[n]))]
        state[n] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                out.append(node)
                stack.pop()
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))

    visit(start)
    for n in neurons:
        if n not in state:
            visit(n)
    return [n for n in reversed(out) if n != start]


def nir_to_network(graph_or_path, weight_bits: int = 8, dt: Optional[float] = None,
                   name: str = "nir-import") -> NirImport:
    """A `trueasync.Network` from a NIR graph (or a `.nir` file path); see the module docstring.

    `dt` (seconds): explicit, else the graph's metadata, else `DEFAULT_DT` (snnTorch's and
    SpikingJelly's). `weight_bits` (2..16): integer range of layers that are not exact."""
    import nir

    if not 2 <= int(weight_bits) <= 16:
        raise NirImportError(f"weight_bits must be in 2..16, got {weight_bits}")
    graph = _read_graph(graph_or_path)
    if dt is None:
        dt = graph_dt(graph) or DEFAULT_DT
    if not dt > 0:
        raise NirImportError(f"dt must be > 0 seconds, got {dt}")
    nodes, edges = _flatten_graph(graph)
    preds = {k: [] for k in nodes}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise NirImportError(f"edge ({a!r}, {b!r}) names a node that is not in the graph")
        preds[b].append(a)
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    outputs = [k for k, n in nodes.items() if isinstance(n, nir.Output)]
    if len(inputs) != 1:
        raise NirImportError(f"expected exactly one Input node, found {len(inputs)}")
    if len(outputs) != 1:
        raise NirImportError(f"expected exactly one Output node, found {len(outputs)}")
    neuron_types = (nir.LIF, nir.IF, nir.CubaLIF)
    linear_types = (nir.Affine, nir.Linear, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d, nir.Flatten)
    for k, n in nodes.items():
        if not isinstance(n, neuron_types + linear_types + (nir.Input, nir.Output)):
            raise NirImportError(_unsupported(k, n))
    in_key = inputs[0]
    in_shape = _strip_batch(tuple(int(v) for v in np.asarray(
        list(nodes[in_key].input_type.values())[0]).reshape(-1)))
    if len(in_shape) not in (1, 3):
        raise NirImportError(f"Input shape {in_shape}: expected (C, H, W) or (n,)")

    # shapes: propagate forward until nothing changes (loops take the shape from outside)
    shape_out = {in_key: in_shape}
    ops: dict = {}
    changed = True
    while changed:
        changed = False
        for k, n in nodes.items():
            if k in shape_out or isinstance(n, nir.Input):
                continue
            known = [shape_out[p] for p in preds[k] if p in shape_out]
            if not known:
                continue
            s_in = known[0]
            if isinstance(n, neuron_types):
                s = s_in
            elif isinstance(n, nir.Output):
                s = s_in
            else:
                ops[k] = _op_of(k, n, s_in)
                s = ops[k].out_shape(s_in)
            shape_out[k] = s
            changed = True
    for k in nodes:
        if k not in shape_out and not isinstance(nodes[k], nir.Input):
            raise NirImportError(f"node {k!r} is not reachable from the Input node")

    # every chain of linear nodes into each neuron node: (source neuron/input, [ops])
    def terms_into(k, seen=()):
        out = []
        for p in preds[k]:
            if isinstance(nodes[p], neuron_types + (nir.Input,)):
                out.append((p, []))
            elif p in seen:
                raise NirImportError(f"node {p!r} is in a loop with no neuron node")
            else:
                out += [(src, chain + [ops[p]]) for src, chain in terms_into(p, seen + (p,))]
        return out

    def bias_into(k, shape):
        """Constant input (from Affine / Conv2d biases) reaching node k, shape `shape`."""
        import torch

        total = torch.zeros((1,) + tuple(shape), dtype=torch.float64)
        for p in preds[k]:
            if isinstance(nodes[p], neuron_types + (nir.Input,)):
                continue
            op = ops[p]
            ps = shape_out[p]
            pre = [shape_out[q] for q in preds[p]][0]
            b = op.apply(bias_into(p, pre), pre) if preds[p] else torch.zeros((1,) + ps)
            if op.bias is not None:
                bb = torch.from_numpy(op.bias)
                b = b + (bb.view(1, -1, 1, 1) if len(ps) == 3 else bb.view(1, -1))
            total = total + b.reshape(total.shape)
        return total

    neurons = [k for k, n in nodes.items() if isinstance(n, neuron_types)]
    feeds = {k: terms_into(k) for k in neurons}
    for k in neurons:
        if not feeds[k]:
            raise NirImportError(f"neuron node {k!r} has no weights before it")
    out_src = preds[outputs[0]]
    if len(out_src) != 1 or not isinstance(nodes[out_src[0]], neuron_types):
        raise NirImportError(f"Output node {outputs[0]!r} must be fed by exactly one neuron node "
                             f"(got {out_src}); a readout without spikes is not supported")
    order = _order(neurons, feeds, in_key)

    in_layer = (InputLayer("input", int(np.prod(in_shape)), shape=(in_shape[1], in_shape[2],
                                                                    in_shape[0]))
                if len(in_shape) == 3 else InputLayer("input", in_shape[0]))
    layers, projections = [in_layer], []
    exact, leak_exact, scales, names = [], [], [], {in_key: "input"}
    used = {"input"}
    for k in order:
        node, shape = nodes[k], shape_out[k]
        where = f"{type(node).__name__} {k!r}"
        gain, thr, leak, drive, v_reset, reset, strict = _neuron_params(k, node, shape, dt)
        f = gain / thr  # per channel: divide by the threshold, fold the gain in
        bias = bias_into(k, shape).numpy().reshape(shape)
        bias = (bias.reshape(shape[0], -1) if len(shape) == 3 else bias.reshape(-1, 1))
        if not np.allclose(bias, bias[:, :1], rtol=1e-9, atol=1e-12):
            raise NirImportError(f"{where}: the bias varies within a channel")
        bn = bias[:, 0] * f + drive / thr
        if not np.allclose(bn, bn[0], rtol=1e-9, atol=1e-12):
            raise NirImportError(f"{where}: per-neuron bias / threshold ratios differ; a "
                                 "TrueAsync layer has one bias and one threshold")
        rv = v_reset / thr
        if reset == "hard" and not np.allclose(rv, rv[0], rtol=1e-9, atol=1e-12):
            raise NirImportError(f"{where}: v_reset / threshold must be the same for every "
                                 "neuron of the layer")
        parts, kinds = [], []
        for src, chain in feeds[k]:
            pre_shape = shape_out[src]
            proj, out_shape = _projection_weights(chain, pre_shape, where)
            if tuple(out_shape) != tuple(shape):
                raise NirImportError(f"{where}: input of shape {out_shape} from {src!r}, "
                                     f"expected {shape}")
            if proj[0] == "conv":
                parts.append(proj[1] * f.reshape(-1, 1, 1, 1))
            elif proj[0] == "dense":
                parts.append(proj[1] * _post_factor(f, shape).reshape(1, -1))
            else:
                parts.append(proj[3] * _post_factor(f, shape)[proj[2]])
            kinds.append((src, proj, pre_shape))
        ints, bi, ti, ri, unit, ok = _quantise_layer(parts, float(bn[0]),
                                                     float(rv[0]) if reset == "hard" else 0.0,
                                                     int(weight_bits), strict)
        lnum, lshift, lexact = _leak_fraction_16(leak)
        lname = k.replace(".", "_") if k not in used else f"{k}_{len(layers)}"
        if lname in used or lname == "output":
            lname = f"{lname}_{len(layers)}"
        used.add(lname)
        names[k] = lname
        lif_shape = (shape[1], shape[2], shape[0]) if len(shape) == 3 else None
        layers.append(LifLayer(lname, int(np.prod(shape)), ti, lnum, lshift, bi,
                               reset_mode=reset, reset_value=ri if reset == "hard" else 0,
                               shape=lif_shape))
        for (src, proj, pre_shape), w in zip(kinds, ints):
            pre_name = names.get(src)
            if pre_name is None:  # a recurrent source not placed yet: named below
                pre_name = src
            projections.append(_to_projection(proj, w, pre_name, lname, pre_shape, shape))
        exact.append(ok)
        leak_exact.append(lexact)
        scales.append(unit)
        _check_limits(layers[-1], [(proj, w) for (_, proj, _), w in zip(kinds, ints)], shape, k)
    # recurrent projections named their source by node key: map to layer names
    projections = [replace(p, pre=names.get(p.pre, p.pre)) for p in projections]
    last = names[out_src[0]]
    layers = [replace(l, name="output") if l.name == last else l for l in layers]
    projections = [replace(p, pre="output" if p.pre == last else p.pre,
                           post="output" if p.post == last else p.post) for p in projections]
    if layers[-1].name != "output":  # the output layer last (TrueAsync reports the last layer)
        raise NirImportError(f"the neuron node feeding Output ({out_src[0]!r}) must come last in "
                             "the network's order")
    node_of_layer = {("output" if v == last else v): k for k, v in names.items() if k != in_key}
    return NirImport(Network(tuple(layers), tuple(projections), 1.0, name), exact, leak_exact,
                     scales, float(dt), node_of_layer)


def _post_factor(f: np.ndarray, shape: tuple) -> np.ndarray:
    """The per-channel factor expanded to every post neuron in (C, H, W) / flat order."""
    if len(shape) == 3:
        return np.repeat(f, shape[1] * shape[2])
    return f


def _chw_to_hwc_index(shape: tuple) -> np.ndarray:
    """For each (C, H, W)-flat position, its TrueAsync channels-last index."""
    if len(shape) != 3:
        return np.arange(int(np.prod(shape)))
    c, h, w = shape
    ci, yi, xi = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return ((yi * w + xi) * c + ci).reshape(-1)


def _to_projection(proj, w, pre_name, post_name, pre_shape, post_shape):
    if proj[0] == "conv":
        return Conv2dProjection(pre_name, post_name, w, int(proj[2]), int(proj[3]))
    pre_map, post_map = _chw_to_hwc_index(pre_shape), _chw_to_hwc_index(post_shape)
    if proj[0] == "dense":
        dense = np.zeros_like(w)
        dense[np.ix_(pre_map, post_map)] = w
        return DenseProjection(pre_name, post_name, np.ascontiguousarray(dense))
    keep = w != 0
    return SparseProjection(pre_name, post_name, pre_map[proj[1][keep]], post_map[proj[2][keep]],
                            w[keep])


def _check_limits(layer: LifLayer, parts: list, shape: tuple, key: str) -> None:
    """Refuse layers whose worst-case input could leave the engine's +-2**30 (the engine
    would refuse the network; the message here names the NIR node)."""
    per_post = np.zeros(int(np.prod(shape)))
    for proj, w in parts:
        if proj[0] == "conv":
            per_c = np.abs(w).reshape(w.shape[0], -1).sum(axis=1)
            per_post += np.repeat(per_c, per_post.size // w.shape[0])  # a bound per channel
        elif proj[0] == "dense":
            per_post += np.abs(w).sum(axis=0)
        else:
            per_post += np.bincount(proj[2], weights=np.abs(w), minlength=per_post.size)
    worst = float(per_post.max()) if per_post.size else 0.0
    if worst + abs(layer.bias) + abs(layer.threshold) + abs(layer.reset_value) >= LIMIT:
        raise NirImportError(f"node {key!r}: its integer weights could drive a potential past "
                             "the engine's 2**30 limit; import it with fewer weight_bits")


# -- an imported network as a trainable folded network -------------------------------------------


@dataclass
class FoldedImport:
    folded: object  # trainer.folded.FoldedSNN
    dt: float
    exact: list
    leak_exact: list


def folded_from_nir(path, timesteps: int, dt: Optional[float] = None,
                    weight_bits: int = 8) -> FoldedImport:
    """A `FoldedSNN` holding an imported NIR network, for `ancoef train --from-nir`: weights,
    bias and threshold 1 in float units (integer / threshold), per-layer leaks, the reset.
    Only chains of Conv2d layers then dense layers (what FoldedSNN trains) are accepted."""
    import torch

    from trainer.folded import FoldedLayer, FoldedSNN

    imp = nir_to_network(path, weight_bits=max(8, int(weight_bits)), dt=dt)
    net = imp.network
    layers = list(net.layers)
    by_post = {}
    for p in net.projections:
        if p.post in by_post or isinstance(p, SparseProjection):
            raise NirImportError(
                f"--from-nir fine-tunes chains of Conv2d layers followed by Affine/Linear "
                f"layers; layer {p.post!r} (node {imp.node_of_layer.get(p.post, p.post)!r}) has "
                "several inputs, a recurrent input or pooling that is not one convolution. Run "
                "it as it is with `ancoef simulate --nir`")
        by_post[p.post] = p
    resets = {l.reset_mode for l in layers[1:]}
    if len(resets) != 1 or any(l.reset_value != 0 for l in layers[1:]):
        raise NirImportError("--from-nir needs one reset mode for all layers and resets to 0")
    first = layers[0]
    in_shape = (first.shape[2], first.shape[0], first.shape[1]) if first.shape else (first.size,)
    folded_layers, taus, prev, prev_shape = [], [], first, in_shape
    seen_dense = False
    for layer in layers[1:]:
        p = by_post.get(layer.name)
        if p is None or p.pre != prev.name:
            raise NirImportError(f"--from-nir needs a chain; layer {layer.name!r} is not fed by "
                                 f"{prev.name!r} alone")
        th = float(layer.threshold)
        if isinstance(p, Conv2dProjection):
            if seen_dense or layer.shape is None:
                raise NirImportError(f"--from-nir: a convolution after a dense layer "
                                     f"({layer.name!r}) is not supported")
            ho, wo, co = layer.shape
            out_shape = (co, ho, wo)
            folded_layers.append(FoldedLayer("conv", torch.tensor(np.asarray(p.weights) / th),
                                             layer.bias / th, p.stride, p.padding, prev_shape,
                                             out_shape))
        else:
            seen_dense = True
            w = np.asarray(p.weights, dtype=np.float64)  # [pre (HWC), post]
            if len(prev_shape) == 3:
                c, h, wd = prev_shape
                w = w.reshape(h, wd, c, layer.size).transpose(3, 2, 0, 1).reshape(layer.size, -1)
            else:
                w = w.T
            out_shape = (layer.size,)
            folded_layers.append(FoldedLayer("dense", torch.tensor(w / th), layer.bias / th, 1, 0,
                                             prev_shape, out_shape))
        taus.append(tau_from_leak(layer.leak_num, layer.leak_shift))
        prev, prev_shape = layer, out_shape
    folded = FoldedSNN(in_shape, folded_layers, taus[0], int(timesteps), resets.pop(),
                       layer_taus=taus)
    return FoldedImport(folded, imp.dt, imp.exact, imp.leak_exact)


# -- a workload from a NIR graph (ancoef simulate --nir) -----------------------------------------


def nir_inputs(network: Network, inputs=None, *, timesteps: int = 20, rate: float = 0.1,
               samples: int = 4, seed: int = 0) -> np.ndarray:
    """Input spikes bool [N, T, n_inputs] for an imported network: `inputs` (a .npy path or an
    array, either [N, T, n_inputs] in TrueAsync's channels-last order or [N, T, C, H, W] frames
    in the graph's own order, spike = value > 0), else seeded Poisson spikes at `rate`."""
    first = network.layers[0]
    if inputs is None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"input rate must be in [0, 1], got {rate}")
        rng = np.random.default_rng(seed)
        return rng.random((int(samples), int(timesteps), first.size)) < rate
    arr = np.load(inputs) if isinstance(inputs, (str, bytes)) or hasattr(inputs, "__fspath__") \
        else np.asarray(inputs)
    if arr.ndim == 5 and first.shape is not None:
        h, w, c = first.shape
        if tuple(arr.shape[2:]) != (c, h, w):
            raise ValueError(f"input frames are {arr.shape[2:]}, the graph's input is "
                             f"(C, H, W) = {(c, h, w)}")
        arr = arr.transpose(0, 1, 3, 4, 2).reshape(arr.shape[0], arr.shape[1], -1)
    if arr.ndim != 3 or arr.shape[2] != first.size:
        raise ValueError(f"inputs must be [samples, steps, {first.size}] (or [N, T, C, H, W] "
                         f"frames), got shape {arr.shape}")
    return arr > 0


def nir_workload(path, inputs=None, *, dt: Optional[float] = None, weight_bits: int = 8,
                 timesteps: int = 20, rate: float = 0.1, samples: int = 4, seed: int = 0):
    """A `trueasync.workload.Workload` of a NIR graph: the imported network on a mesh of
    1024-neuron cores (packed mapping, Loihi costs) with `nir_inputs` spikes."""
    from trainer.export import make_workload

    imp = nir_to_network(path, weight_bits=weight_bits, dt=dt, name=Path(str(path)).stem)
    spikes = nir_inputs(imp.network, inputs, timesteps=timesteps, rate=rate, samples=samples,
                        seed=seed)
    meta = {"kind": "nir-import", "source": str(path), "dt_s": imp.dt, "exact": imp.exact,
            "leak_exact": imp.leak_exact, "layer_scales": imp.layer_scales,
            "nir_nodes": imp.node_of_layer}
    return make_workload(imp.network, spikes, meta)
