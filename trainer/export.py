"""Export a folded, quantised SNN to a `trueasync.model.Network` (and a workload on disk).

Units (docs/trainer.md): every LIF layer is expressed in the unit of its own incoming weights
(its per-layer quantisation scale `s_l`): integer weights `round(w/s_l)`, integer threshold
`round(1/s_l)` and bias `round(b/s_l)`. Multiplying one layer's weights, bias, threshold and
membrane potential by the same positive constant changes none of its spikes, so the per-layer
units need no common LSB; the exported `Network.weight_scale` is 1.0 and the per-layer scales
are kept in the export metadata (`layer_scales`) for anyone who wants real values back.

Neuron numbering is channels-last, `(y*W + x)*C + c`. The trainer flattens conv outputs in
PyTorch's CHW order before the classifier, so the dense weights are permuted to HWC rows here.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

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
    a = t.detach().cpu().double().numpy()
    r = np.round(a)
    if not np.array_equal(a, r):
        raise AssertionError("quantised weights are not integers")
    return r.astype(dtype)


@torch.no_grad()
def export_network(model: FoldedSNN, bits: int, name: str = "snn") -> tuple[Network, dict]:
    """(`Network`, metadata) of `model` quantised to `bits` exactly as its QAT forward pass."""
    c, h, w = model.in_shape
    layers = [InputLayer("input", h * w * c, shape=(h, w, c))]
    projections = []
    scales = []
    prev = "input"
    n = len(model.layers)
    for i, layer in enumerate(model.layers):
        wq, theta, bq, scale = layer.quantised(bits)
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
        layers.append(LifLayer(
            name=lname, size=size, threshold=int(theta), leak_num=model.leak_num,
            leak_shift=model.leak_shift, bias=int(round(float(bq))), reset_mode=model.reset,
            reset_value=0, shape=lif_shape,
        ))
        scales.append(float(scale))
        prev = lname
    network = Network(tuple(layers), tuple(projections), weight_scale=1.0, name=name)
    meta = {
        "weight_bits": int(bits),
        "layer_scales": scales,
        "timesteps": model.timesteps,
        "tau": model.tau,
        "leak": [model.leak_num, model.leak_shift],
        "reset": model.reset,
        "n_classes": model.n_classes,
        "input_shape_hwc": [h, w, c],
        "units": "each LIF layer in the unit of its own weights (layer_scales); weight_scale 1",
    }
    return network, meta


def export_inputs(frames, timesteps: Optional[int] = None) -> np.ndarray:
    """Dataset frames [N, T, C, H, W] -> bool [N, T, n_inputs] (HWC numbering, spike = count>0)."""
    if timesteps is not None:
        from trainer.snn import rebin

        frames = rebin(torch.as_tensor(frames), timesteps)
    return input_spikes_hwc(frames)


def default_architecture(network: Network, neurons_per_core: int = 1024,
                         weight_bits: int = 8) -> Architecture:
    """A square-ish mesh with enough cores of `neurons_per_core` for `network` (packed)."""
    n_cores = max(1, -(-network.n_neurons // neurons_per_core))
    mw = int(math.ceil(math.sqrt(n_cores)))
    mh = int(math.ceil(n_cores / mw))
    return Architecture(mesh_width=mw, mesh_height=mh, neurons_per_core=neurons_per_core,
                        synapse_memory_kib=1 << 16, weight_bits=weight_bits)


def save_workload(network: Network, inputs: np.ndarray, prefix, meta: dict,
                  arch: Optional[Architecture] = None) -> list[str]:
    """Write the network + input spikes as a workload (`trueasync.workload`, neutral format).

    Architecture: `arch` or `default_architecture(network)`; mapping: packed; costs: Loihi.
    Returns the written paths (`PREFIX.json`, `PREFIX.npz`).
    """
    from trueasync import workload as wlmod

    arch = arch or default_architecture(network,
                                        weight_bits=max(8, wlmod.weight_bits_needed(network)))
    core_of, _ = wlmod.packed_core_of(network, arch.n_cores, arch.neurons_per_core)
    costs = CostModel(name="loihi", energy_j=dict(wlmod.LOIHI_ENERGY_J),
                      latency_s=dict(wlmod.LOIHI_LATENCY_S), nominal_voltage_v=1.0,
                      leakage_w_per_mm2=0.0)
    wl = wlmod.Workload(network, arch, costs, core_of, np.asarray(inputs, bool),
                        {**meta, "kind": "trained-snn"})
    return [str(p) for p in wlmod.save_workload(wl, prefix)]
