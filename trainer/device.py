"""Device and mixed-precision choices for training.

`resolve_device("auto" | "cpu" | "cuda" | "cuda:N")`: ``auto`` is CUDA when
``torch.cuda.is_available()``, else the CPU; asking for CUDA where there is none is a
ValueError naming the option.

Mixed precision (`amp_dtype`) applies only to the *float* training phases (supernet and
sub-network training): the forward pass runs under ``torch.autocast`` (bfloat16 where the
device supports it, else float16 with a gradient scaler), weights stay float32. The
quantisation-aware phase, the norm recalibration, every evaluation and the export run in
float32 without autocast, because their integer-valued arithmetic is exact only in float32
(docs/trainer.md, "Exactness"): mixed precision changes which float weights training reaches,
never how those weights become the exported integers.

The CUDA path is written for and tested on the CPU only; no GPU was available where it was
written (docs/trainer.md says so).
"""

from __future__ import annotations

from typing import Optional

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")
AMP_CHOICES = ("auto", "on", "off")


def resolve_device(spec: Optional[str] = "auto") -> torch.device:
    s = "auto" if spec is None else str(spec).strip().lower()
    if s == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if s == "cpu":
        return torch.device("cpu")
    if s == "cuda" or s.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {spec}: CUDA is not available here "
                             "(torch.cuda.is_available() is False); use --device cpu or auto")
        dev = torch.device(s)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s)")
        return dev
    raise ValueError(f"--device must be one of auto, cpu, cuda or cuda:N, got {spec!r}")


def amp_dtype(device: torch.device, mode: Optional[str] = "auto") -> Optional[torch.dtype]:
    """The autocast dtype for float training, or None for float32.

    ``auto``: on for CUDA (bfloat16 if supported, else float16), off on the CPU. ``on``:
    bfloat16 on the CPU, as ``auto`` on CUDA. ``off``: float32."""
    m = "auto" if mode is None else str(mode).lower()
    if m not in AMP_CHOICES:
        raise ValueError(f"--amp must be one of {', '.join(AMP_CHOICES)}, got {mode!r}")
    if m == "off":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if m == "on" else None


def describe(device: torch.device, dtype: Optional[torch.dtype]) -> dict:
    return {"device": str(device),
            "mixed_precision": None if dtype is None else str(dtype).replace("torch.", "")}
