"""Export a folded, quantised SNN to a `trueasync.model.Network` (and a workload on disk).

Units (docs/trainer.md): every LIF layer is expressed in the unit of its own incoming weights
(its per-layer quantisation scale `s_l`): integer weights `round(w/s_l)`, integer threshold
`round(1/s_l)` and bias `round(b/s_l)`. Multiplying one layer's weights, bias, threshold and
membrane potential by the same positive constant changes none of its spikes, so the per-layer
units need no common LSB; the exported `Network.weight_scale` is 1.0 and the per-layer scales
are kept in the export metadata (`layer_scales`) for anyone who wants real values back.

Neuron numbering is channels-last, `(y*W + x)*C + c`. The trainer flattens conv outputs in
PyTorch's CHW order before the classifier, so the dense weights are permuted to HWC rows here.

A direct-encoded model (`input_mode="analog"`) exports its first layer as the off-chip
`trainer.encoder.InputEncoder` (in `meta["input_encoder"]`); the `Network` starts at the
encoder's output spikes, and `export_inputs(frames, T, encoder=...)` computes them.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from trainer.encoder import InputEncoder, encoder_from_meta
from trainer.folded import FoldedSNN
from trainer.snn import input_spikes_hwc
from trueasync.model import (
    Architecture,
    Conv2dProjection,
    CostModel,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
)


def _int_array(t: torch.Tensor, dtype=np.int32) -> np.ndarray:
    """Integer numpy array of an integer-valued tensor (AssertionError if it is not)."""
    a = t.detach().cpu().double().numpy()
    r = np.round(a)
    if not np.array_equal(a, r):
        raise AssertionError("quantised weights are not integers")
    return r.astype(dtype)


def _encoder(model: FoldedSNN, bits: int) -> InputEncoder:
    layer = model.layers[0]
    if layer.kind != "conv":
        raise ValueError("a direct-encoded network needs a convolution as its first layer")
    wq, theta, bq, unit = layer.quantised(bits, model.input_levels(0))
    num, shift = model.leaks[0]
    return InputEncoder(_int_array(wq, np.int64), layer.stride, layer.padding, int(theta),
                        int(round(float(bq))), num, shift, model.reset, tuple(layer.in_shape),
                        tuple(layer.out_shape), model.input_levels(0), float(unit))


@torch.no_grad()
def export_network(model: FoldedSNN, bits: int, name: str = "snn") -> tuple[Network, dict]:
    """(`Network`, metadata) of `model` quantised to `bits` exactly as its QAT forward pass.

    For a direct-encoded model the first layer is `meta["input_encoder"]` (a dict; see
    `trainer.encoder`) and the network's input layer holds the encoder's output spikes."""
    encoder = _encoder(model, bits) if model.input_mode == "analog" else None
    first = 1 if encoder is not None else 0
    if encoder is not None:
        c, h, w = encoder.out_shape
    else:
        c, h, w = model.in_shape
    layers = [InputLayer("input", h * w * c, shape=(h, w, c))]
    projections = []
    scales = []
    prev = "input"
    n = len(model.layers)
    for i in range(first, n):
        layer = model.layers[i]
        wq, theta, bq, scale = layer.quantised(bits, model.input_levels(i))
        lname = "output" if i == n - 1 else f"{'conv' if layer.kind == 'conv' else 'fc'}{i + 1}"
        if layer.kind == "conv":
            co, ho, wo = layer.out_shape
            lif_shape = (ho, wo, co)
            size = ho * wo * co
            projections.append(Conv2dProjection(prev, lname, _int_array(wq), stride=layer.stride,
                                                padding=layer.padding))
        else:
            size = layer.out_shape[0]
            lif_shape = None
            wmat = wq  # [out, in] with `in` in CHW order (or plain order for a vector input)
            if len(layer.in_shape) == 3:
                ci, hi, wi = layer.in_shape
                wmat = wq.reshape(size, ci, hi, wi).permute(2, 3, 1, 0).reshape(hi * wi * ci, size)
            else:
                wmat = wq.t()
            projections.append(DenseProjection(prev, lname, _int_array(wmat)))
        num, shift = model.leaks[i]
        layers.append(LifLayer(
            name=lname, size=size, threshold=int(theta), leak_num=num,
            leak_shift=shift, bias=int(round(float(bq))), reset_mode=model.reset,
            reset_value=0, shape=lif_shape,
        ))
        scales.append(float(scale))
        prev = lname
    if len(layers) < 2:
        raise ValueError("a direct-encoded network needs at least one layer after the encoder")
    network = Network(tuple(layers), tuple(projections), weight_scale=1.0, name=name)
    ci, hi, wi = model.in_shape
    meta = {
        "weight_bits": int(bits),
        "layer_scales": scales,
        "timesteps": model.timesteps,
        "tau": model.tau,
        "leak": [model.leak_num, model.leak_shift],
        "layer_leaks": [list(model.leaks[i]) for i in range(first, n)],
        "reset": model.reset,
        "n_classes": model.n_classes,
        "input_shape_hwc": [h, w, c],
        "input_encoding": "direct" if encoder is not None else "spikes",
        "input_encoder": encoder.to_dict() if encoder is not None else None,
        "image_shape_chw": [ci, hi, wi],
        "units": "each LIF layer in the unit of its own weights (layer_scales); weight_scale 1",
    }
    return network, meta


def export_inputs(frames, timesteps: Optional[int] = None, encoder=None) -> np.ndarray:
    """Dataset frames [N, T, C, H, W] -> the chip's input spikes bool [N, T, n_inputs] (HWC
    numbering): spike = count > 0, or, with `encoder` (`meta["input_encoder"]` of a
    direct-encoded export, dict or `InputEncoder`), the encoder's output spikes."""
    enc = encoder_from_meta({"input_encoder": encoder}) if encoder is not None else None
    if enc is not None:
        return enc.spikes(frames, timesteps)
    if timesteps is not None:
        from trainer.snn import rebin

        frames = rebin(torch.as_tensor(frames), timesteps)
    return input_spikes_hwc(frames)


def input_batches(frames, timesteps: Optional[int] = None, encoder=None, batch_size: int = 64,
                  limit: Optional[int] = None):
    """`export_inputs` of dense frames or a stream, one batch at a time (bool arrays)."""
    from trainer.data import as_source, iter_slices

    for _, x in iter_slices(as_source(frames), batch_size, limit):
        yield export_inputs(x.numpy(), timesteps, encoder)


def default_architecture(network: Network, neurons_per_core: int = 1024,
                         weight_bits: int = 8) -> Architecture:
    """A square-ish mesh with enough cores of `neurons_per_core` for `network` (packed)."""
    n_cores = max(1, -(-network.n_neurons // neurons_per_core))
    mw = int(math.ceil(math.sqrt(n_cores)))
    mh = int(math.ceil(n_cores / mw))
    return Architecture(mesh_width=mw, mesh_height=mh, neurons_per_core=neurons_per_core,
                        synapse_memory_kib=1 << 16, weight_bits=weight_bits)


def make_workload(network: Network, inputs: np.ndarray, meta: dict,
                  arch: Optional[Architecture] = None):
    """A `trueasync.workload.Workload`: `arch` or `default_architecture(network)` (weight bits
    as the network needs, at least 8), packed mapping, Loihi costs."""
    from trueasync import workload as wlmod

    arch = arch or default_architecture(network,
                                        weight_bits=max(8, wlmod.weight_bits_needed(network)))
    core_of, _ = wlmod.packed_core_of(network, arch.n_cores, arch.neurons_per_core)
    costs = CostModel(name="loihi", energy_j=dict(wlmod.LOIHI_ENERGY_J),
                      latency_s=dict(wlmod.LOIHI_LATENCY_S), nominal_voltage_v=1.0,
                      leakage_w_per_mm2=0.0)
    return wlmod.Workload(network, arch, costs, core_of, np.asarray(inputs, bool), meta)


def save_workload(network: Network, inputs: np.ndarray, prefix, meta: dict,
                  arch: Optional[Architecture] = None) -> list[str]:
    """Write the network + input spikes as a workload (`trueasync.workload`, neutral format).

    Architecture: `arch` or `default_architecture(network)`; mapping: packed; costs: Loihi.
    Returns the written paths (`PREFIX.json`, `PREFIX.npz`).
    """
    from trueasync import workload as wlmod

    wl = make_workload(network, inputs, {**meta, "kind": "trained-snn"}, arch)
    return [str(p) for p in wlmod.save_workload(wl, prefix)]
