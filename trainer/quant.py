"""Quantisation-aware training: symmetric per-layer weight scale, straight-through estimator.

For `bits` b the integer weights lie in `[-qmax, qmax]`, `qmax = 2**(b-1) - 1` (2 bits: ternary
{-1, 0, 1}; 4 bits: [-7, 7]; 8 bits: [-127, 127]). The per-layer scale (one LSB) is

- b >= 3: `max|w| / qmax` (no clipping);
- b == 2: `1.4 * mean|w|` (ternary-weight-network rule: weights below 0.7*mean|w| become 0,
  larger ones are clipped to +-1 LSB).

The scale is recomputed from the current float weights at every forward pass and treated as a
constant by autograd; `round` and `clamp` pass gradients straight through. The layer's threshold
(1.0 in float units) and bias become `round(1/scale)` (at least 1) and `round(bias/scale)` in the
same unit, so the whole layer is integer (docs/trainer.md, "Units").
"""

from __future__ import annotations

import torch

SUPPORTED_BITS = (2, 3, 4, 5, 6, 7, 8)


def qmax(bits: int) -> int:
    if bits not in SUPPORTED_BITS:
        raise ValueError(f"weight bits must be one of {SUPPORTED_BITS} (got {bits})")
    return (1 << (bits - 1)) - 1


def weight_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """The per-layer LSB (a detached positive scalar tensor)."""
    w = w.detach()
    if bits == 2:
        s = 1.4 * w.abs().mean()
    else:
        s = w.abs().max() / qmax(bits)
    if not torch.isfinite(s) or s <= 0:
        s = torch.tensor(1.0, dtype=w.dtype, device=w.device)
    return s.to(w.dtype)


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def round_ste(x: torch.Tensor) -> torch.Tensor:
    return _RoundSTE.apply(x)


def quantize_int(w: torch.Tensor, bits: int, scale: torch.Tensor) -> torch.Tensor:
    """Integer-valued weights `clamp(round(w/scale))` (float tensor, STE gradient)."""
    q = qmax(bits)
    x = w / scale
    return torch.clamp(round_ste(x), -q, q)


def threshold_int(scale: torch.Tensor, threshold: float = 1.0) -> int:
    return max(1, int(round(float(threshold) / float(scale))))


def bias_int(bias: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Integer-valued bias (STE gradient)."""
    return round_ste(bias / scale)
