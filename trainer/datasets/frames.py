"""Turning event streams and static images into T frames.

Sizes are Tonic's: ``sensor_size = (W, H, P)`` (P = 2 polarities); frames are
``[T, P, H, W]`` per sample, as ``tonic.transforms.ToFrame`` returns them.

**Default framing** (no :class:`Framing` option set): a sample's time window ``[t0, t1)`` (by
default from its first event to one microsecond after its last; the labelled segment for DVS
Gesture) is cut into ``T`` equal bins; bin ``k`` holds the events with
``k * (t1 - t0) <= (t - t0) * T < (k + 1) * (t1 - t0)`` (integer arithmetic: every event of
the window is counted once, independent of floating point).

**Tonic framing** (:class:`Framing` with exactly one of ``time_window``, ``event_count``,
``n_time_bins``, ``n_event_bins``, plus ``overlap`` and ``include_incomplete``): the slices of
``tonic.transforms.ToFrame`` with the same arguments (its slicers' arithmetic: windows start at
the first event, ``numpy.searchsorted`` on the times, overlap in microseconds, events or a
fraction of a bin). ``time_window`` and ``event_count`` give a number of slices that depends on
the recording: the first ``T`` are kept and missing ones are empty frames.

Frame ``[k, p, y, x]`` counts the events at pixel ``(x, y)`` with polarity ``p`` (0 = OFF,
1 = ON) in slice ``k``. Encodings: ``"count"`` keeps the counts, ``"binary"`` is 1.0 where the
count is >= 1. ``downsample = d`` pools ``d x d`` pixels (``x // d``, ``y // d``) before counting.

Static images ``[C, H, W]`` in ``[0, 1]``: ``"direct"`` repeats the analog image in every
time step; ``"rate"`` draws Bernoulli spikes with probability equal to the pixel value,
sample ``i`` from ``numpy.random.default_rng([seed, i])`` (same seed, same spikes, whatever
the batch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

EVENT_ENCODINGS = ("binary", "count")
IMAGE_ENCODINGS = ("direct", "rate")
ENCODINGS = EVENT_ENCODINGS + IMAGE_ENCODINGS


@dataclass
class FrameSet:
    """A dataset split as dense frames.

    frames: float32 ``[N, T, C, H, W]``; labels: int64 ``[N]``; sensor_size: Tonic's
    ``(W, H, P)`` (``(W, H, C)`` for images), after downsampling and cropping.
    skipped: ``(path, reason)`` for every file that was truncated, corrupt or missing.
    split_protocol: how the split was made (recorded in every result).
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
    split_protocol: str = ""

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def timesteps(self) -> int:
        return int(self.frames.shape[1])


@dataclass(frozen=True)
class Framing:
    """How events become frames, in ``tonic.transforms.ToFrame``'s terms. All ``None``: the
    default equal bins over each sample's window (module docstring)."""

    time_window: Optional[float] = None  # us per frame
    event_count: Optional[int] = None  # events per frame
    n_time_bins: Optional[int] = None  # must equal the number of timesteps
    n_event_bins: Optional[int] = None  # must equal the number of timesteps
    overlap: float = 0.0  # us, events, or a fraction of a bin (Tonic's meaning per method)
    include_incomplete: bool = False

    def __post_init__(self):
        given = [k for k in ("time_window", "event_count", "n_time_bins", "n_event_bins")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"framing: give at most one of time_window, event_count, "
                             f"n_time_bins, n_event_bins (got {', '.join(given)})")
        for k in given:
            if not getattr(self, k) > 0:
                raise ValueError(f"framing: {k} must be > 0, got {getattr(self, k)}")
        if self.overlap < 0:
            raise ValueError(f"framing: overlap must be >= 0, got {self.overlap}")
        if self.method in ("n_time_bins", "n_event_bins") and not self.overlap < 1:
            raise ValueError(f"framing: with {self.method} the overlap is a fraction of a bin "
                             f"and must be < 1, got {self.overlap}")
        if self.method == "time_window" and not self.overlap < self.time_window:
            raise ValueError("framing: overlap must be smaller than time_window")
        if self.method == "event_count" and not self.overlap < self.event_count:
            raise ValueError("framing: overlap must be smaller than event_count")

    @property
    def method(self) -> str:
        for k in ("time_window", "event_count", "n_time_bins", "n_event_bins"):
            if getattr(self, k) is not None:
                return k
        return "window_bins"

    def check_timesteps(self, timesteps: int) -> None:
        for k in ("n_time_bins", "n_event_bins"):
            v = getattr(self, k)
            if v is not None and int(v) != int(timesteps):
                raise ValueError(f"framing: {k}={v} but the network runs {timesteps} timesteps; "
                                 "give the same number")

    def to_dict(self) -> dict:
        return {"method": self.method, **asdict(self)}


DEFAULT_FRAMING = Framing()


def sensor_wh(sensor_size) -> tuple[int, int]:
    """(W, H) of a Tonic ``sensor_size`` (W, H[, P])."""
    if not hasattr(sensor_size, "__len__") or len(sensor_size) not in (2, 3):
        raise ValueError(f"sensor_size must be Tonic's (W, H, P), got {sensor_size!r}")
    return int(sensor_size[0]), int(sensor_size[1])


def _bin_index(t: np.ndarray, t0: int, t1: int, timesteps: int) -> np.ndarray:
    dur = max(int(t1) - int(t0), 1)
    k = ((t.astype(np.int64) - int(t0)) * timesteps) // dur
    return np.clip(k, 0, timesteps - 1)


def tonic_slices(events: np.ndarray, framing: Framing) -> list[tuple[int, int]]:
    """(start, end) index ranges of the slices ``tonic.transforms.ToFrame`` makes (events in
    time order)."""
    n = events.shape[0]
    method = framing.method
    if method in ("time_window", "n_time_bins"):
        t = events["t"]
        if method == "time_window":
            window = framing.time_window
            stride = window - framing.overlap
            dur = t[-1] - t[0]
            rnd = np.ceil if framing.include_incomplete else np.floor
            count = max(int(rnd((dur - window) / stride) + 1), 1)
        else:
            count = int(framing.n_time_bins)
            window = (t[-1] - t[0]) // count * (1 + framing.overlap)
            stride = window * (1 - framing.overlap)
        starts = np.arange(count) * stride + t[0]
        lo = np.searchsorted(t, starts)[:count]
        hi = np.searchsorted(t, starts + window)[:count]
        return list(zip(lo.tolist(), hi.tolist()))
    if method == "event_count":
        size = min(int(framing.event_count), n)
        stride = int(framing.event_count - framing.overlap)
        rnd = np.ceil if framing.include_incomplete else np.floor
        count = int(rnd((n - size) / stride) + 1)
        lo = (np.arange(count) * stride).astype(int)
        return [(int(a), int(a) + size) for a in lo]
    if method == "n_event_bins":
        count = int(framing.n_event_bins)
        size = int(n // count * (1 + framing.overlap))
        stride = int(size * (1 - framing.overlap))
        return [(k * stride, k * stride + size) for k in range(count)]
    raise ValueError(f"framing {method!r} has no Tonic slices")


def _pooled_hw(wh, d) -> tuple[int, int]:
    return (-(-wh[1] // d), -(-wh[0] // d))


def _on_sensor(events, wh):
    return (events["x"] >= 0) & (events["y"] >= 0) & (events["x"] < wh[0]) \
        & (events["y"] < wh[1])


def _count_into(frame: np.ndarray, ev: np.ndarray, downsample: int) -> None:
    """Add the events ``ev`` into one frame [P, H', W'] (pooled coordinates)."""
    if ev.size == 0:
        return
    _, h, w = frame.shape
    lin = (ev["p"].astype(np.int64) * h + ev["y"].astype(np.int64) // downsample) * w \
        + ev["x"].astype(np.int64) // downsample
    frame += np.bincount(lin, minlength=frame.size).reshape(frame.shape)


def _accumulate(out: np.ndarray, events: np.ndarray, wh, timesteps: int, window,
                downsample: int, framing: Framing) -> None:
    """Frames of one sample's events added into ``out`` [T, 2, H', W']."""
    if events.size == 0:
        return
    if framing.method == "window_bins":
        t = events["t"]
        if window is None:
            window = (int(t.min()), int(t.max()) + 1)
        t0, t1 = window
        ev = events[(t >= t0) & (t < t1) & _on_sensor(events, wh)]
        if ev.size == 0:
            return
        k = _bin_index(ev["t"], t0, t1, timesteps)
        _, _, h, w = out.shape
        lin = (((k * 2 + ev["p"].astype(np.int64)) * h + ev["y"].astype(np.int64) // downsample)
               * w + ev["x"].astype(np.int64) // downsample)
        out += np.bincount(lin, minlength=out.size).reshape(out.shape)
        return
    if np.any(np.diff(events["t"]) < 0):
        events = events[np.argsort(events["t"], kind="stable")]
    for k, (lo, hi) in enumerate(tonic_slices(events, framing)[:timesteps]):
        ev = events[lo:hi]
        _count_into(out[k], ev[_on_sensor(ev, wh)], downsample)


def _finish(frames, encoding):
    if encoding == "binary":
        np.minimum(frames, 1.0, out=frames)
    elif encoding != "count":
        raise ValueError(f"event encoding must be one of {EVENT_ENCODINGS}, got {encoding!r}")
    return frames


def frame_shape(sensor_size, timesteps: int, downsample: int = 1) -> tuple[int, int, int, int]:
    """``(T, 2, H', W')`` of the frames of events on a ``(W, H, P)`` sensor."""
    return (int(timesteps), 2) + _pooled_hw(sensor_wh(sensor_size), int(downsample))


def events_to_frames(events: np.ndarray, sensor_size, timesteps: int, *,
                     window: tuple[int, int] | None = None, encoding: str = "binary",
                     downsample: int = 1, framing: Framing | None = None) -> np.ndarray:
    """One sample's events -> float32 frames ``[T, 2, H, W]``.

    ``sensor_size`` is Tonic's ``(W, H, P)``. ``window = (t0, t1)`` (default framing only):
    events outside it are ignored. ``framing``: see :class:`Framing`.
    """
    framing = framing or DEFAULT_FRAMING
    framing.check_timesteps(timesteps)
    if timesteps < 1:
        raise ValueError("timesteps must be >= 1")
    out = np.zeros(frame_shape(sensor_size, timesteps, downsample), np.float32)
    _accumulate(out, events, sensor_wh(sensor_size), timesteps, window, downsample, framing)
    return _finish(out, encoding)


def event_samples_to_frames(samples, sensor_size, timesteps, *, windows=None,
                            encoding="binary", downsample=1,
                            framing: Framing | None = None) -> np.ndarray:
    """Many samples' events -> float32 ``[N, T, 2, H, W]`` (see :func:`events_to_frames`)."""
    if encoding not in EVENT_ENCODINGS:
        raise ValueError(f"event data support encodings {EVENT_ENCODINGS}, got {encoding!r}")
    if timesteps < 1:
        raise ValueError("timesteps must be >= 1")
    framing = framing or DEFAULT_FRAMING
    framing.check_timesteps(timesteps)
    wh = sensor_wh(sensor_size)
    out = np.zeros((len(samples),) + frame_shape(sensor_size, timesteps, downsample), np.float32)
    for i, ev in enumerate(samples):
        win = None if windows is None else windows[i]
        _accumulate(out[i], ev, wh, timesteps, win, downsample, framing)
    return _finish(out, encoding)


def pool_images(images: np.ndarray, downsample: int) -> np.ndarray:
    """Average-pool ``[N, C, H, W]`` images by an integer factor (edges cropped)."""
    if downsample == 1:
        return images
    n, c, h, w = images.shape
    h2, w2 = h // downsample, w // downsample
    im = images[:, :, :h2 * downsample, :w2 * downsample]
    return im.reshape(n, c, h2, downsample, w2, downsample).mean(axis=(3, 5)).astype(np.float32)


def rate_spikes(image: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli spikes [T, C, H, W] of one image [C, H, W] in [0, 1]."""
    return (rng.random((timesteps,) + image.shape, dtype=np.float32) < image).astype(np.float32)


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
        out = np.empty((n, timesteps) + images.shape[1:], np.float32)
        for i in range(n):  # per sample keeps memory of the uniform draws small
            out[i] = rate_spikes(images[i], timesteps, np.random.default_rng([int(seed), i]))
        return out
    raise ValueError(f"static images support encodings {IMAGE_ENCODINGS}, got {encoding!r}")
