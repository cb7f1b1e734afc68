"""The trainer's fixed-point evaluation of a `trueasync.Network` (docs/fixed-point.md, `timestep`).

Independent of the simulator and of `trueasync.reference` (it imports only the plain-Python model
`trueasync.model`, never the compiled extension): PyTorch, membrane potentials in int64.
Synaptic currents are computed as float64 convolutions / matrix products of 0/1 spikes with
integer weights, which is exact (every partial sum is an integer far below 2**53) and then cast
to int64. The leak is `torch.div(v * leak_num, 2**leak_shift, rounding_mode="floor")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from trueasync.model import (
    Conv2dProjection,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)


def lif_update(v, current, leak_num: int, leak_shift: int, bias: int, threshold: int,
               reset_mode: str, reset_value: int):
    """One `timestep` update of int64 potentials (numpy arrays or torch tensors):
    `v = floor(v * leak) + bias + I; spike = v >= threshold; reset`. Returns (v, spikes)."""
    if leak_num != (1 << leak_shift):
        if isinstance(v, np.ndarray):
            v = (v * leak_num) // (1 << leak_shift)  # numpy's // rounds toward -inf
        else:
            v = torch.div(v * leak_num, 1 << leak_shift, rounding_mode="floor")
    v = v + bias + current
    spike = v >= threshold
    if isinstance(v, np.ndarray):
        v = np.where(spike, reset_value if reset_mode == "hard" else v - threshold, v)
    elif reset_mode == "hard":
        v = torch.where(spike, torch.full_like(v, reset_value), v)
    else:
        v = torch.where(spike, v - threshold, v)
    return v, spike


@dataclass
class FixedPointResult:
    layer_names: list
    spikes: Optional[list]  # per layer (inputs included): bool [sample, step, size], if kept
    output_spike_counts: np.ndarray  # int64 [sample, neuron of the last layer]
    spikes_per_layer: np.ndarray  # int64 [sample, layer]

    def predicted_labels(self) -> np.ndarray:
        """Class with most output spikes (lowest index wins ties), as `SimResult`."""
        return np.argmax(self.output_spike_counts, axis=1)

    def accuracy(self, labels) -> float:
        labels = np.asarray(labels)
        return float((self.predicted_labels() == labels).mean()) if len(labels) else 0.0


def _current(proj, pre_spikes: torch.Tensor, pre_layer, post_layer, weights) -> torch.Tensor:
    """Current [B, post size] (float64, integer-valued) from 0/1 spikes [B, pre size]."""
    if isinstance(proj, DenseProjection):
        return pre_spikes @ weights
    if isinstance(proj, Conv2dProjection):
        if pre_layer.shape is None or post_layer.shape is None:
            raise ValueError(f"conv2d projection {proj.pre}->{proj.post} needs layer shapes")
        h, w, c = pre_layer.shape
        x = pre_spikes.reshape(-1, h, w, c).permute(0, 3, 1, 2)
        y = F.conv2d(x, weights, stride=proj.stride, padding=proj.padding)
        ho, wo, co = post_layer.shape
        if tuple(y.shape[1:]) != (co, ho, wo):
            raise ValueError(
                f"conv2d {proj.pre}->{proj.post}: output {tuple(y.shape[1:])} (C,H,W) does not "
                f"match layer shape {post_layer.shape} (H,W,C)"
            )
        return y.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
    if isinstance(proj, SparseProjection):
        pre_idx, post_idx, wv = weights
        out = torch.zeros(pre_spikes.shape[0], post_layer.size, dtype=torch.float64)
        out.index_add_(1, post_idx, pre_spikes[:, pre_idx] * wv)
        return out
    raise TypeError(f"unknown projection type {type(proj).__name__}")


@torch.no_grad()
def run(network: Network, inputs, batch_size: int = 256, keep_spikes: bool = False,
        progress: bool = False) -> FixedPointResult:
    """Evaluate `network` on `inputs` (bool [sample, step, n_inputs]) under `timestep` rules."""
    inputs = np.asarray(inputs)
    if inputs.ndim != 3 or inputs.shape[2] != network.n_inputs:
        raise ValueError(f"inputs must be [sample, step, {network.n_inputs}], got {inputs.shape}")
    layers = list(network.layers)
    index = {l.name: i for i, l in enumerate(layers)}
    prepared = []  # (proj, pre idx, post idx, recurrent, weights)
    for proj in network.projections:
        a, b = index[proj.pre], index[proj.post]
        if isinstance(proj, SparseProjection):
            wts = (torch.as_tensor(np.asarray(proj.pre_index), dtype=torch.long),
                   torch.as_tensor(np.asarray(proj.post_index), dtype=torch.long),
                   torch.as_tensor(np.asarray(proj.weights), dtype=torch.float64))
        else:
            wts = torch.as_tensor(np.asarray(proj.weights), dtype=torch.float64)
        prepared.append((proj, a, b, a >= b, wts))
    n, T, _ = inputs.shape
    offsets = network.layer_offsets()
    counts_all = np.zeros((n, len(layers)), dtype=np.int64)
    spikes_all = [np.zeros((n, T, l.size), dtype=bool) for l in layers] if keep_spikes else None
    out_counts = np.zeros((n, layers[-1].size), dtype=np.int64)

    batches = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="fixed-point", unit="batch")
    for s0 in batches:
        x = torch.as_tensor(inputs[s0:s0 + batch_size].astype(np.float64))
        B = x.shape[0]
        v = [torch.zeros(B, l.size, dtype=torch.int64) for l in layers]
        prev = [torch.zeros(B, l.size, dtype=torch.float64) for l in layers]
        cnt = [torch.zeros(B, l.size, dtype=torch.int64) for l in layers]
        for t in range(T):
            cur = [None] * len(layers)
            in_off = 0
            for li, layer in enumerate(layers):
                if isinstance(layer, InputLayer):
                    cur[li] = x[:, t, in_off:in_off + layer.size]
                    in_off += layer.size
                    continue
                I = torch.zeros(B, layer.size, dtype=torch.float64)
                for proj, a, b, rec, wts in prepared:
                    if b != li:
                        continue
                    pre = prev[a] if rec else cur[a]
                    I = I + _current(proj, pre, layers[a], layer, wts)
                Ii = torch.round(I).to(torch.int64)
                v[li], spike = lif_update(v[li], Ii, layer.leak_num, layer.leak_shift,
                                          layer.bias, layer.threshold, layer.reset_mode,
                                          layer.reset_value)
                cur[li] = spike.to(torch.float64)
            for li in range(len(layers)):
                cnt[li] += cur[li].to(torch.int64)
                if keep_spikes:
                    spikes_all[li][s0:s0 + B, t] = cur[li].numpy().astype(bool)
            prev = cur
        for li in range(len(layers)):
            counts_all[s0:s0 + B, li] = cnt[li].sum(dim=1).numpy()
        out_counts[s0:s0 + B] = cnt[-1].numpy()
    del offsets
    return FixedPointResult([l.name for l in layers], spikes_all, out_counts, counts_all)


def run_many(network: Network, batches, progress: bool = False) -> FixedPointResult:
    """`run` over an iterable of input batches (bool [b, step, n_inputs] each), so that a
    large split is evaluated without holding all its input spikes; counts are concatenated."""
    names, outs, layers = None, [], []
    for inputs in batches:
        r = run(network, inputs, progress=progress)
        names = r.layer_names
        outs.append(r.output_spike_counts)
        layers.append(r.spikes_per_layer)
    if names is None:
        names = [l.name for l in network.layers]
        return FixedPointResult(names, None, np.zeros((0, network.layers[-1].size), np.int64),
                                np.zeros((0, len(network.layers)), np.int64))
    return FixedPointResult(names, None, np.concatenate(outs), np.concatenate(layers))
