"""Turning event streams and static images into T frames.

Event data: a sample's time window ``[t0, t1)`` (by default from its first event to one
microsecond after its last) is cut into ``T`` equal bins; bin ``k`` holds the events with
``k * (t1 - t0) <= (t - t0) * T < (k + 1) * (t1 - t0)`` (integer arithmetic, so the result
does not depend on floating point). Frame ``[k, c, y, x]`` counts the events at pixel
``(x, y)`` with polarity channel ``c`` (0 = OFF, 1 = ON) in bin ``k``.
Encodings: ``"count"`` keeps the counts, ``"binary"`` is 1.0 where the count is >= 1.

Static images ``[C, H, W]`` in ``[0, 1]``: ``"direct"`` repeats the analog image in every
time step; ``"rate"`` draws Bernoulli spikes with probability equal to the pixel value
from ``numpy.random.default_rng(seed)`` (same seed, same spikes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EVENT_ENCODINGS = ("binary", "count")
IMAGE_ENCODINGS = ("direct", "rate")
ENCODINGS = EVENT_ENCODINGS + IMAGE_ENCODINGS


@dataclass
class FrameSet:
    """A dataset split as dense frames.

    frames: float32 ``[N, T, C, H, W]``; labels: int64 ``[N]``; sensor_size: ``(H, W, C)``.
    skipped: ``(path, reason)`` for every file that was truncated, corrupt or missing.
    """

    frames: np.ndarray
    labels: np.ndarray
    n_classes: int
    name: str
    sensor_size: tuple[int, int, int]
    split: str = ""
    encoding: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    class_names: list[str] | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def timesteps(self) -> int:
        return int(self.frames.shape[1])


def _bin_index(t: np.ndarray, t0: int, t1: int, timesteps: int) -> np.ndarray:
    dur = max(int(t1) - int(t0), 1)
    k = ((t.astype(np.int64) - int(t0)) * timesteps) // dur
    return np.clip(k, 0, timesteps - 1)


def events_to_frames(events: np.ndarray, sensor_hw: tuple[int, int], timesteps: int, *,
                     window: tuple[int, int] | None = None, encoding: str = "binary",
                     downsample: int = 1) -> np.ndarray:
    """One sample's events -> float32 frames ``[T, 2, H, W]``.

    ``window`` = ``(t0, t1)``; events outside it are ignored. ``downsample`` > 1 pools
    ``downsample x downsample`` pixels into one (``x // d``, ``y // d``) before counting.
    """
    out = np.zeros((1, timesteps, 2) + _pooled(sensor_hw, downsample), np.float32)
    _accumulate(out, 0, events, sensor_hw, timesteps, window, downsample)
    return _finish(out, encoding)[0]


def _pooled(hw, d):
    return (-(-hw[0] // d), -(-hw[1] // d))


def _accumulate(out, i, events, sensor_hw, timesteps, window, downsample):
    if events.size == 0:
        return
    t = events["t"]
    if window is None:
        window = (int(t.min()), int(t.max()) + 1)
    t0, t1 = window
    sel = (t >= t0) & (t < t1) & (events["x"] >= 0) & (events["y"] >= 0) \
        & (events["x"] < sensor_hw[1]) & (events["y"] < sensor_hw[0])
    ev = events[sel]
    if ev.size == 0:
        return
    k = _bin_index(ev["t"], t0, t1, timesteps)
    x = ev["x"].astype(np.int64) // downsample
    y = ev["y"].astype(np.int64) // downsample
    c = ev["p"].astype(np.int64)
    _, _, _, h, w = out.shape
    lin = ((k * 2 + c) * h + y) * w + x
    counts = np.bincount(lin, minlength=timesteps * 2 * h * w)
    out[i] += counts.reshape(timesteps, 2, h, w)


def _finish(frames, encoding):
    if encoding == "binary":
        np.minimum(frames, 1.0, out=frames)
    elif encoding != "count":
        raise ValueError(f"event encoding must be one of {EVENT_ENCODINGS}, got {encoding!r}")
    return frames


def event_samples_to_frames(samples, sensor_hw, timesteps, *, windows=None,
                            encoding="binary", downsample=1) -> np.ndarray:
    """Many samples' events -> float32 ``[N, T, 2, H, W]`` (see :func:`events_to_frames`)."""
    if encoding not in EVENT_ENCODINGS:
        raise ValueError(f"event data support encodings {EVENT_ENCODINGS}, got {encoding!r}")
    if timesteps < 1:
        raise ValueError("timesteps must be >= 1")
    n = len(samples)
    out = np.zeros((n, timesteps, 2) + _pooled(sensor_hw, downsample), np.float32)
    for i, ev in enumerate(samples):
        win = None if windows is None else windows[i]
        _accumulate(out, i, ev, sensor_hw, timesteps, win, downsample)
    return _finish(out, encoding)


def pool_images(images: np.ndarray, downsample: int) -> np.ndarray:
    """Average-pool ``[N, C, H, W]`` images by an integer factor (edges cropped)."""
    if downsample == 1:
        return images
    n, c, h, w = images.shape
    h2, w2 = h // downsample, w // downsample
    im = images[:, :, :h2 * downsample, :w2 * downsample]
    return im.reshape(n, c, h2, downsample, w2, downsample).mean(axis=(3, 5)).astype(np.float32)


def images_to_frames(images: np.ndarray, timesteps: int, *, encoding: str = "direct",
                     seed: int = 0) -> np.ndarray:
    """Static images ``[N, C, H, W]`` in ``[0, 1]`` -> float32 ``[N, T, C, H, W]``."""
    if timesteps < 1:
        raise ValueError("timesteps must be >= 1")
    images = np.asarray(images, dtype=np.float32)
    n = images.shape[0]
    if encoding == "direct":
        return np.repeat(images[:, None], timesteps, axis=1)
    if encoding == "rate":
        rng = np.random.default_rng(seed)
        out = np.empty((n, timesteps) + images.shape[1:], np.float32)
        for i in range(n):  # per sample keeps memory of the uniform draws small
            out[i] = rng.random((timesteps,) + images.shape[1:], dtype=np.float32) < images[i]
        return out
    raise ValueError(f"static images support encodings {IMAGE_ENCODINGS}, got {encoding!r}")
