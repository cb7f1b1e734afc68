"""Where the training loops get their frames: dense arrays or streams, one batch at a time.

Every loop in `trainer.train` accepts either dense frames (a numpy array or tensor
``[N, T, C, H, W]``, or a `FrameSet`) or a stream (`trainer.datasets.open_stream`), through
`as_source`. A source hands out float32 CPU tensors ``[B, T, C, H, W]``; the loops move them to
the model's device. Dense frames are indexed exactly as before streams existed (same batches,
same results).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch


class ArraySource:
    """Dense frames held in memory."""

    def __init__(self, frames):
        t = frames if isinstance(frames, torch.Tensor) else torch.as_tensor(np.asarray(frames))
        if t.dim() != 5:
            raise ValueError(f"frames must be [N, T, C, H, W], got shape {tuple(t.shape)}")
        self.frames = t.float()

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def frame_shape(self) -> tuple:
        return tuple(int(v) for v in self.frames.shape[1:])

    def batch(self, idx, *, train: bool = False, epoch: int = 0, seed: int = 0) -> torch.Tensor:
        return self.frames[idx]

    def slice(self, start: int, stop: int) -> torch.Tensor:
        return self.frames[start:stop]


class StreamSource:
    """A `trainer.datasets` stream (`EventStream` / `ImageStream`)."""

    def __init__(self, stream):
        self.stream = stream

    def __len__(self) -> int:
        return len(self.stream)

    @property
    def frame_shape(self) -> tuple:
        return tuple(int(v) for v in self.stream.frame_shape)

    def batch(self, idx, *, train: bool = False, epoch: int = 0, seed: int = 0) -> torch.Tensor:
        idx = idx.numpy() if isinstance(idx, torch.Tensor) else np.asarray(idx)
        return torch.from_numpy(self.stream.batch(idx, train=train, epoch=epoch, seed=seed))

    def slice(self, start: int, stop: int) -> torch.Tensor:
        return self.batch(np.arange(start, stop))


def as_source(frames):
    """`ArraySource` / `StreamSource` for whatever the caller passed (idempotent)."""
    if isinstance(frames, (ArraySource, StreamSource)):
        return frames
    if hasattr(frames, "batch") and hasattr(frames, "frame_shape"):
        return StreamSource(frames)
    if hasattr(frames, "frames") and hasattr(frames, "labels"):  # a FrameSet
        return ArraySource(frames.frames)
    return ArraySource(frames)


def iter_slices(src, batch_size: int, limit: Optional[int] = None):
    """Consecutive batches ``(start, tensor)`` of a source, in order."""
    n = len(src) if limit is None else min(len(src), int(limit))
    for i in range(0, n, batch_size):
        yield i, src.slice(i, min(i + batch_size, n))


def take(frames, idx):
    """The samples ``idx`` of dense frames (an array) or of a stream (a subset view)."""
    idx = np.asarray(idx, dtype=np.int64)
    if hasattr(frames, "subset"):
        return frames.subset(idx)
    return frames[idx]


def dense_bytes(n_samples: int, frame_shape) -> int:
    """Memory of ``n_samples`` dense float32 frames of ``frame_shape`` (T, C, H, W)."""
    return int(n_samples) * int(np.prod(frame_shape)) * 4
