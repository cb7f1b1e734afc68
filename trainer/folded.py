"""A sub-network with its normalisation folded in: the model that is fine-tuned and exported.

`FoldedSNN` is a plain feed-forward chain of (conv2d | dense) -> LIF layers with a scalar bias
per layer and threshold 1. It runs in two modes:

- `forward(x, bits=None)`: float, SpikingJelly `LIFNode` neurons (what `fold_subnet` preserves);
- `forward(x, bits=b)`: quantised (QAT) in integer units -- per-layer symmetric weight scale,
  integer weights / threshold / bias, `IntLIFNode` neurons. This forward pass computes exactly
  the arithmetic of docs/fixed-point.md, so it agrees with `trainer.fixedpoint.run` and the
  exported `trueasync.Network` spike for spike.

With `input_mode="analog"` (direct image encoding) the first layer reads the image quantised
to 255 levels: in QAT its input is the integer pixel value `round(255 x)` and its unit is the
weight scale / 255, so its threshold and bias are `round(255 / scale)` and
`round(255 bias / scale)`. That layer becomes the off-chip encoder at export
(`trainer.encoder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from trainer import quant
from trainer.snn import (
    INPUT_LEVELS,
    IntLIFNode,
    check_input_mode,
    leak_fraction,
    make_lif,
    seq_apply,
)
from trainer.supernet import SubnetConfig, SuperNet


class FoldedLayer(nn.Module):
    def __init__(self, kind: str, weight: torch.Tensor, bias: float, stride: int = 1,
                 padding: int = 0, in_shape: Sequence[int] = (), out_shape: Sequence[int] = ()):
        super().__init__()
        if kind not in ("conv", "dense"):
            raise ValueError(f"layer kind must be 'conv' or 'dense' (got {kind!r})")
        self.kind = kind
        self.weight = nn.Parameter(weight.detach().clone().float())
        self.bias = nn.Parameter(torch.tensor(float(bias)))
        self.stride = int(stride)
        self.padding = int(padding)
        self.in_shape = tuple(int(v) for v in in_shape)  # (C, H, W) or (n,)
        self.out_shape = tuple(int(v) for v in out_shape)

    def current(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv":
            return F.conv2d(x, weight, stride=self.stride, padding=self.padding)
        return F.linear(x.flatten(1), weight)

    def quantised(self, bits: int, input_levels: int = 1):
        """(integer weights, integer threshold, integer bias, unit) -- as used in QAT.

        The unit (real value of one integer step of the potential) is the weight scale divided
        by ``input_levels`` (255 for the analog first layer, whose inputs are integer pixel
        values; 1 for spikes)."""
        scale = quant.weight_scale(self.weight, bits)
        w = quant.quantize_int(self.weight, bits, scale)
        unit = scale / input_levels
        theta = quant.threshold_int(unit)
        b = quant.bias_int(self.bias, unit)
        return w, theta, b, unit


class FoldedSNN(nn.Module):
    """`tau` applies to every layer unless `layer_taus` gives one per layer (imported
    networks); `input_mode` is ``spikes`` or ``analog`` (module docstring)."""

    def __init__(self, in_shape: Sequence[int], layers: Sequence[FoldedLayer], tau: float,
                 timesteps: int, reset: str = "hard", input_mode: str = "spikes",
                 layer_taus: Optional[Sequence[float]] = None):
        super().__init__()
        self.in_shape = tuple(int(v) for v in in_shape)
        self.layers = nn.ModuleList(layers)
        self.tau = float(tau)
        self.timesteps = int(timesteps)
        self.reset = reset
        self.input_mode = check_input_mode(input_mode)
        taus = [self.tau] * len(layers) if layer_taus is None else [float(t) for t in layer_taus]
        if len(taus) != len(layers):
            raise ValueError(f"layer_taus has {len(taus)} values for {len(layers)} layers")
        self.layer_taus = taus
        self.leak_num, self.leak_shift = leak_fraction(self.tau)
        self.leaks = [leak_fraction(t) for t in taus]
        self.lifs = nn.ModuleList(make_lif(t, reset) for t in taus)
        self.int_lifs = nn.ModuleList(IntLIFNode(n, k, reset) for n, k in self.leaks)

    def input_levels(self, i: int) -> int:
        """Integer input levels of layer `i` in the quantised model (255 for the analog first
        layer, else 1: spikes)."""
        return INPUT_LEVELS if i == 0 and self.input_mode == "analog" else 1

    @property
    def n_classes(self) -> int:
        return self.layers[-1].out_shape[0]

    def forward(self, x_seq: torch.Tensor, bits: Optional[int] = None, return_all: bool = False):
        """`x_seq` [T, N, C, H, W] (0/1) -> output spikes [T, N, n_classes] (or all layers)."""
        functional.reset_net(self)
        spikes = []
        x = x_seq
        for i, layer in enumerate(self.layers):
            if bits is None:
                x = seq_apply(lambda z: layer.current(z, layer.weight) + layer.bias, x)
                x = self.lifs[i](x)
            else:
                levels = self.input_levels(i)
                w, theta, b, _ = layer.quantised(bits, levels)
                if levels > 1:
                    x = torch.round(x * levels)
                x = seq_apply(lambda z: layer.current(z, w), x)
                x = self.int_lifs[i](x, float(theta), b)
            spikes.append(x)
        return spikes if return_all else x

    def describe(self) -> list[dict]:
        return [
            {"kind": l.kind, "weight_shape": list(l.weight.shape), "stride": l.stride,
             "padding": l.padding, "in_shape": list(l.in_shape), "out_shape": list(l.out_shape)}
            for l in self.layers
        ]

    def to_state(self) -> dict:
        return {"in_shape": list(self.in_shape), "tau": self.tau, "timesteps": self.timesteps,
                "reset": self.reset, "layers": self.describe(), "input_mode": self.input_mode,
                "layer_taus": list(self.layer_taus),
                "state_dict": {k: v.detach().clone() for k, v in self.state_dict().items()}}

    @staticmethod
    def from_state(state: dict) -> "FoldedSNN":
        layers = [
            FoldedLayer(d["kind"], torch.zeros(d["weight_shape"]), 0.0, d["stride"],
                        d["padding"], d["in_shape"], d["out_shape"])
            for d in state["layers"]
        ]
        net = FoldedSNN(state["in_shape"], layers, state["tau"], state["timesteps"],
                        state["reset"], state.get("input_mode", "spikes"),
                        state.get("layer_taus"))
        net.load_state_dict(state["state_dict"])
        return net


@torch.no_grad()
def fold_subnet(supernet: SuperNet, cfg: SubnetConfig) -> FoldedSNN:
    """The sub-network `cfg` of `supernet` with ScaleNorm folded into weights and biases.

    Uses the norms' running statistics (call `trainer.train.recalibrate` first for a sub-network
    of a weight-sharing supernet). In eval mode the result computes the same currents.
    """
    supernet.space.validate(cfg)
    active, c_last = supernet.active_layers(cfg)
    layers = []
    c, h, w = supernet.in_shape
    for i, op, c_in, c_out, stride in active:
        weight = supernet.block_weight(i, op, c_in, c_out)
        norm = supernet.norms[i]
        scale = norm.gain[:c_out] / torch.sqrt(norm.running_sq[:c_out] + norm.eps)
        k = weight.shape[-1]
        ho = (h + 2 * (k // 2) - k) // stride + 1
        wo = (w + 2 * (k // 2) - k) // stride + 1
        layers.append(FoldedLayer("conv", weight * scale.view(-1, 1, 1, 1), float(norm.shift),
                                  stride, k // 2, (c_in, h, w), (c_out, ho, wo)))
        c, h, w = c_out, ho, wo
    head = supernet.head[:, :c_last].reshape(supernet.n_classes, -1)
    norm = supernet.head_norm
    scale = norm.gain / torch.sqrt(norm.running_sq + norm.eps)
    layers.append(FoldedLayer("dense", head * scale.view(-1, 1), float(norm.shift), 1, 0,
                              (c, h, w), (supernet.n_classes,)))
    return FoldedSNN(supernet.in_shape, layers, cfg.tau, cfg.timesteps, supernet.space.reset,
                     getattr(supernet, "input_mode", "spikes"))
