"""Hardware-mappable SNN building blocks (SpikingJelly activation_based, multi-step mode 'm').

Everything here maps one-to-one onto the TrueAsync neuron of docs/fixed-point.md:

- `make_lif(tau, reset)`: SpikingJelly `LIFNode(decay_input=False, v_reset=0 or None,
  v_threshold=1)`, the float neuron. Its charge `v = v - v/tau + x` is `v = leak*v + x` with
  `leak = 1 - 1/tau`; the taus offered (`TAU_CHOICES`) make `leak` an exact binary fraction
  `leak_num / 2**leak_shift`.
- `IntLIFNode`: the same neuron in integer units (quantisation-aware training and fixed-point
  evaluation in float32 tensors): `v = floor(v*leak) + bias + I; spike = v >= threshold; reset`.
  With integer weights, bias and threshold every value it computes is an integer held exactly
  in float32, so its forward pass *is* the fixed-point arithmetic (gradients use straight-through
  estimators and SpikingJelly's ATan surrogate on `(v - threshold) / threshold`).
- `ScaleNorm`: the BatchNorm the trainer uses. Per-channel scale from the batch second moment
  (running estimate at eval) and a learned per-channel gain, plus ONE learned shift per layer.
  It folds exactly into the preceding conv / dense weights (per output channel) and the layer's
  scalar bias -- the TrueAsync `LifLayer` has one bias and one threshold per layer, so a standard
  BatchNorm's per-channel shift could not be folded (see docs/trainer.md).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from spikingjelly.activation_based import base, neuron, surrogate

from trainer.leak import TAU_CHOICES, leak_fraction, tau_from_leak  # noqa: F401 (re-exported)

#: How a model reads its input frames. ``spikes``: a pixel/polarity spikes in a step when its
#: frame value is > 0 (event data, rate-coded images). ``analog``: the frame values (``direct``
#: image encoding), quantised to ``INPUT_LEVELS`` levels, drive the first layer, which the
#: export turns into an off-chip encoder (docs/fixed-point.md, "Direct image input").
INPUT_MODES = ("spikes", "analog")
INPUT_LEVELS = 255


def input_mode_for(encoding: Optional[str]) -> str:
    """The model input mode for a dataset encoding: ``direct`` -> analog, else spikes."""
    return "analog" if encoding == "direct" else "spikes"


def check_input_mode(mode: str) -> str:
    if mode not in INPUT_MODES:
        raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {mode!r}")
    return mode


def make_lif(tau: float, reset: str = "hard") -> neuron.LIFNode:
    """The float training neuron: SpikingJelly LIFNode, multi-step, threshold 1."""
    leak_fraction(tau)  # validate
    if reset not in ("hard", "subtract"):
        raise ValueError(f"reset must be 'hard' or 'subtract' (got {reset!r})")
    return neuron.LIFNode(
        tau=float(tau) if not math.isinf(tau) else 1e12,
        decay_input=False,
        v_threshold=1.0,
        v_reset=0.0 if reset == "hard" else None,
        surrogate_function=surrogate.ATan(),
        detach_reset=True,
        step_mode="m",
    )


class _FloorSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)

    @staticmethod
    def backward(ctx, g):
        return g


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    return _FloorSTE.apply(x)


class IntLIFNode(base.MemoryModule):
    """LIF neuron in integer units (docs/fixed-point.md `timestep` semantics), multi-step.

    `forward(x_seq, threshold, bias)`: `x_seq` [T, ...] integer-valued input currents; `threshold`
    and `bias` integer-valued scalars (tensors or floats). Returns spikes [T, ...] as 0./1.
    """

    def __init__(self, leak_num: int, leak_shift: int, reset: str = "hard"):
        super().__init__()
        self.leak_num = int(leak_num)
        self.leak_shift = int(leak_shift)
        self.reset = reset
        self.surrogate = surrogate.ATan()
        self.register_memory("v", 0.0)
        self.step_mode = "m"

    def forward(self, x_seq: torch.Tensor, threshold, bias=0.0) -> torch.Tensor:
        v = torch.zeros_like(x_seq[0])
        out = []
        den = float(1 << self.leak_shift)
        for t in range(x_seq.shape[0]):
            if self.leak_num != (1 << self.leak_shift):
                v = floor_ste(v * self.leak_num / den)
            v = v + bias + x_seq[t]
            spike = self.surrogate((v - threshold) / threshold)
            if self.reset == "hard":
                v = v * (1.0 - spike.detach())
            else:
                v = v - spike.detach() * threshold
            out.append(spike)
        self.v = v
        return torch.stack(out)


class ScaleNorm(nn.Module):
    """Foldable normalisation: `y = x * gain[c] / sqrt(E[x^2][c] + eps) + shift` (shift: scalar).

    Works on [B, C, H, W] and [B, C] (SpikingJelly multi-step tensors are flattened to
    [T*N, ...] by the caller). `channels` is the maximum width: a narrower input uses the first
    `x.shape[1]` channels (weight sharing in the supernet).
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(()))
        self.register_buffer("running_sq", torch.ones(channels))
        self.momentum = momentum
        self.eps = eps

    def channel_scale(self, c: int, x: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Per-channel multiplier; from the batch (training) or the running estimate."""
        if x is not None and self.training:
            dims = [0] + list(range(2, x.dim()))
            sq = (x * x).mean(dim=dims)
            with torch.no_grad():
                self.running_sq[:c].mul_(1 - self.momentum).add_(self.momentum * sq.detach())
        else:
            sq = self.running_sq[:c]
        return self.gain[:c] / torch.sqrt(sq + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        scale = self.channel_scale(c, x)
        shape = [1, c] + [1] * (x.dim() - 2)
        return x * scale.view(shape) + self.shift


def seq_apply(fn, x_seq: torch.Tensor) -> torch.Tensor:
    """Apply a single-step op to [T, N, ...] by flattening time into the batch."""
    t, n = x_seq.shape[:2]
    y = fn(x_seq.reshape(t * n, *x_seq.shape[2:]))
    return y.reshape(t, n, *y.shape[1:])


def spike_input(frames: torch.Tensor) -> torch.Tensor:
    """Dataset frames [N, T, C, H, W] (event counts) -> binary input spikes [T, N, C, H, W]."""
    return (frames > 0).to(torch.float32).transpose(0, 1).contiguous()


def analog_input(frames: torch.Tensor) -> torch.Tensor:
    """Direct-encoded frames [N, T, C, H, W] in [0, 1] -> [T, N, C, H, W] quantised to
    ``INPUT_LEVELS`` levels (what the fixed-point encoder sees: ``round(x * 255) / 255``)."""
    x = torch.clamp(frames.to(torch.float32), 0.0, 1.0)
    return (torch.round(x * INPUT_LEVELS) / INPUT_LEVELS).transpose(0, 1).contiguous()


def rebin(frames: torch.Tensor, timesteps: int, reduce: str = "sum") -> torch.Tensor:
    """Merge the time bins of frames [N, T, ...] into `timesteps` bins (sum of groups, or
    their mean for analog frames)."""
    t = frames.shape[1]
    if timesteps == t:
        return frames
    if t % timesteps:
        raise ValueError(f"cannot rebin {t} frames into {timesteps} steps (not a divisor)")
    g = t // timesteps
    grouped = frames.reshape(frames.shape[0], timesteps, g, *frames.shape[2:])
    return grouped.mean(dim=2) if reduce == "mean" else grouped.sum(dim=2)


def model_input(frames: torch.Tensor, timesteps: int, input_mode: str = "spikes",
                device=None) -> torch.Tensor:
    """Dataset frames [N, T, ...] -> the model's input [timesteps, N, ...] on ``device``."""
    if device is not None:
        frames = frames.to(device, non_blocking=True)
    if input_mode == "analog":
        return analog_input(rebin(frames, timesteps, "mean"))
    return spike_input(rebin(frames, timesteps))


def input_spikes_hwc(frames) -> np.ndarray:
    """Frames [N, T, C, H, W] -> bool [N, T, H*W*C] in TrueAsync's channels-last numbering."""
    f = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    n, t, c, h, w = f.shape
    return np.ascontiguousarray((f > 0).transpose(0, 1, 3, 4, 2).reshape(n, t, h * w * c))
