"""The off-chip input encoder of direct-encoded (analog image) networks.

With ``--encoding direct`` the first layer of the network reads the analog image. TrueAsync
cores receive spikes only, so that layer is exported as an *encoder*, the way SNN papers with
direct encoding and chips with a dense input layer treat it: a convolution plus LIF layer
computed off the chip in the same fixed-point arithmetic (docs/fixed-point.md, "Direct image
input"), whose output spikes are the chip's input spikes. The chip runs every later layer.

Numbers: the image is quantised to ``levels = 255`` (pixel ``p`` in [0, 1] -> ``round(255 p)``),
the weights are the layer's integer weights (``weight_bits``), the potential is an int64 in units
of ``weight scale / 255``: ``I = conv(pixels, weights)`` (the same current every step, since the
image does not change), then per step ``v = floor(v * leak) + bias + I; spike = v >= threshold``
and the layer's reset. The QAT forward pass computes the same integers
(`trainer.folded.FoldedSNN`), so chip output == trainer fixed point, sample for sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class InputEncoder:
    weights: np.ndarray  # int [C1, C0, kh, kw] (PyTorch order)
    stride: int
    padding: int
    threshold: int
    bias: int
    leak_num: int
    leak_shift: int
    reset_mode: str
    in_shape: tuple  # (C0, H, W)
    out_shape: tuple  # (C1, H1, W1)
    levels: int = 255
    unit: float = 1.0  # real value of one integer step of the potential

    @property
    def n_outputs(self) -> int:
        c, h, w = self.out_shape
        return int(c * h * w)

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates of the encoder's one convolution of an image (the current is
        the same at every step), counting only taps inside the image."""
        c1, _, kh, kw = self.weights.shape
        import torch
        import torch.nn.functional as F

        ones = torch.ones((1, self.in_shape[0]) + tuple(self.in_shape[1:]), dtype=torch.float64)
        taps = F.conv2d(ones, torch.ones((1, self.in_shape[0], kh, kw), dtype=torch.float64),
                        stride=self.stride, padding=self.padding)
        return int(taps.sum().item()) * int(c1)

    def currents(self, images: np.ndarray) -> np.ndarray:
        """int64 [N, C1, H1, W1] input currents of images float [N, C0, H, W] in [0, 1]."""
        import torch
        import torch.nn.functional as F

        x = np.rint(np.clip(np.asarray(images, np.float64), 0.0, 1.0) * self.levels)
        y = F.conv2d(torch.from_numpy(x), torch.from_numpy(self.weights.astype(np.float64)),
                     stride=self.stride, padding=self.padding)
        return torch.round(y).to(torch.int64).numpy()  # exact: integers far below 2**53

    def spikes(self, frames, timesteps: Optional[int] = None, batch_size: int = 256) -> np.ndarray:
        """The chip's input spikes bool [N, T, H1*W1*C1] (channels-last numbering) of
        direct-encoded frames [N, T', C0, H, W] (the image of each sample; T' may differ from
        T, every step shows the same image)."""
        from trainer.fixedpoint import lif_update

        f = np.asarray(frames)
        if f.ndim != 5 or tuple(f.shape[2:]) != tuple(self.in_shape):
            raise ValueError(f"direct-encoded frames must be [N, T, {', '.join(map(str, self.in_shape))}]"
                             f" (C, H, W), got {f.shape}")
        T = int(timesteps or f.shape[1])
        c1, h1, w1 = self.out_shape
        out = np.zeros((f.shape[0], T, h1 * w1 * c1), bool)
        for s in range(0, f.shape[0], batch_size):
            cur = self.currents(f[s:s + batch_size].mean(axis=1))
            cur = cur.transpose(0, 2, 3, 1).reshape(cur.shape[0], -1)  # HWC numbering
            v = np.zeros_like(cur)
            for t in range(T):
                v, spk = lif_update(v, cur, self.leak_num, self.leak_shift, self.bias,
                                    self.threshold, self.reset_mode, 0)
                out[s:s + cur.shape[0], t] = spk
        return out

    def to_dict(self) -> dict:
        return {"kind": "conv2d+lif", "weights": self.weights.astype(int).tolist(),
                "stride": self.stride, "padding": self.padding, "threshold": self.threshold,
                "bias": self.bias, "leak_num": self.leak_num, "leak_shift": self.leak_shift,
                "reset_mode": self.reset_mode, "in_shape_chw": list(self.in_shape),
                "out_shape_chw": list(self.out_shape), "levels": self.levels,
                "unit": self.unit, "macs_per_sample": self.macs_per_sample}

    @staticmethod
    def from_dict(d: dict) -> "InputEncoder":
        return InputEncoder(np.asarray(d["weights"], np.int64), int(d["stride"]),
                            int(d["padding"]), int(d["threshold"]), int(d["bias"]),
                            int(d["leak_num"]), int(d["leak_shift"]), str(d["reset_mode"]),
                            tuple(d["in_shape_chw"]), tuple(d["out_shape_chw"]),
                            int(d.get("levels", 255)), float(d.get("unit", 1.0)))


def encoder_from_meta(meta: Optional[dict]) -> Optional[InputEncoder]:
    """The encoder recorded by `trainer.export.export_network`, or None (spike input)."""
    if not meta or not meta.get("input_encoder"):
        return None
    enc = meta["input_encoder"]
    return enc if isinstance(enc, InputEncoder) else InputEncoder.from_dict(enc)
