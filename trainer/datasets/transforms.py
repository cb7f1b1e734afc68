"""Event transforms named and defined as Tonic's (``tonic.transforms``), on Tonic event arrays.

Sizes follow Tonic: ``sensor_size = (W, H, P)``, ``target_size = (W', H')``. Every random
transform takes a ``numpy.random.Generator`` instead of drawing from numpy's global state, so a
pipeline is reproducible from one seed (``Augment.apply(events, rng)``); given the same random
draws the results are Tonic's.

* :func:`denoise` (``tonic.transforms.Denoise(filter_time)``): an event is kept when one of its
  four neighbours (x +- 1 or y +- 1, not the pixel itself) had an event earlier in the array
  whose time plus ``filter_time`` is after it (as in Tonic, a neighbour without any event yet
  counts as one at t = 0, so events before ``filter_time`` pass). Vectorised, O(n log n); the
  same events as Tonic's loop.
* :func:`random_crop` / :func:`center_crop` (``RandomCrop``, ``CenterCrop``).
* :func:`flip_lr`, :func:`flip_ud`, :func:`flip_polarity` (``RandomFlipLR`` ``x' = W - 1 - x``,
  ``RandomFlipUD``, ``RandomFlipPolarity``), each applied with probability ``p``.
* :func:`drop_event`, :func:`drop_by_time`, :func:`drop_by_area` and :func:`event_drop`
  (``EventDrop``: identity, drop by time, by area or random events, one of four chosen at
  random, with the paper's ratios as Tonic draws them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np


def _wh(sensor_size) -> tuple[int, int]:
    if len(sensor_size) not in (2, 3):
        raise ValueError(f"sensor_size must be (W, H, P) as in Tonic, got {sensor_size!r}")
    return int(sensor_size[0]), int(sensor_size[1])


def denoise(events: np.ndarray, filter_time: float) -> np.ndarray:
    """Drop events with no event at a 4-neighbour pixel less than ``filter_time`` before them."""
    n = events.shape[0]
    if n == 0:
        return events.copy()
    x = events["x"].astype(np.int64)
    y = events["y"].astype(np.int64)
    t = events["t"]
    width, height = int(x.max()) + 1, int(y.max()) + 1
    pix = x * height + y
    idx = np.arange(n, dtype=np.int64)
    # events sorted by (pixel, array position): the last event of pixel q before position i
    # is found by one binary search of q * n + i
    key = pix * n + idx
    order = np.argsort(key, kind="stable")
    skey, st = key[order], t[order]
    keep = np.zeros(n, bool)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nx, ny = x + dx, y + dy
        inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
        q = (nx * height + ny) * n + idx
        pos = np.searchsorted(skey, q, side="left") - 1
        ok = inside & (pos >= 0)
        pos = np.where(ok, pos, 0)
        same = ok & (skey[pos] // n == nx * height + ny)
        # Tonic's memory starts at filter_time: a neighbour with no event yet counts as one
        # at time 0
        last = np.where(same, st[pos], 0)
        keep |= inside & (last + filter_time > t)
    return events[keep]


def center_crop(events: np.ndarray, sensor_size, size) -> np.ndarray:
    """Tonic's ``CenterCrop``: keep the centred ``size = (W', H')`` box and shift it to 0."""
    w, h = _wh(sensor_size)
    sw, sh = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    ox, oy = (w - sw) // 2, (h - sh) // 2
    x0, y0 = max(ox, 0), max(oy, 0)
    sel = (events["x"] >= x0) & (events["x"] < x0 + sw) & (events["y"] >= y0) \
        & (events["y"] < y0 + sh)
    out = events[sel]
    out["x"] -= ox
    out["y"] -= oy
    return out


def random_crop(events: np.ndarray, sensor_size, target_size, rng: np.random.Generator):
    """Tonic's ``RandomCrop``: a ``target_size = (W', H')`` box at a uniformly drawn origin."""
    w, h = _wh(sensor_size)
    tw, th = int(target_size[0]), int(target_size[1])
    if tw > w or th > h:
        raise ValueError(f"random crop {target_size} is larger than the sensor {sensor_size}")
    x0 = int(rng.random() * (w - tw))
    y0 = int(rng.random() * (h - th))
    sel = (events["x"] >= x0) & (events["x"] < x0 + tw) & (events["y"] >= y0) \
        & (events["y"] < y0 + th)
    out = events[sel]
    out["x"] -= x0
    out["y"] -= y0
    return out


def flip_lr(events, sensor_size, p: float, rng: np.random.Generator) -> np.ndarray:
    out = events.copy()
    if rng.random() <= p:
        out["x"] = _wh(sensor_size)[0] - 1 - out["x"]
    return out


def flip_ud(events, sensor_size, p: float, rng: np.random.Generator) -> np.ndarray:
    out = events.copy()
    if rng.random() <= p:
        out["y"] = _wh(sensor_size)[1] - 1 - out["y"]
    return out


def flip_polarity(events, p: float, rng: np.random.Generator) -> np.ndarray:
    out = events.copy()
    if rng.random() <= p:
        out["p"] = ~out["p"].astype(bool)
    return out


def drop_event(events, drop_probability: float, rng: np.random.Generator) -> np.ndarray:
    """Drop ``round(p * n)`` events chosen uniformly without replacement (Tonic's rounding)."""
    n = events.shape[0]
    k = int(drop_probability * n + 0.5)
    gone = rng.choice(n, k, replace=False) if k else np.empty(0, np.int64)
    return np.delete(events, gone)


def drop_by_time(events, duration_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Drop the events of one time interval of ``duration_ratio`` of ``[0, max t]``."""
    if events.shape[0] == 0:
        return events.copy()
    t_end = float(events["t"].max())
    span = t_end * duration_ratio
    start = rng.uniform(0.0, t_end - span)
    hit = (events["t"] >= start) & (events["t"] <= start + span)
    return events[~hit]


def drop_by_area(events, sensor_size, area_ratio: float, rng: np.random.Generator):
    """Drop the events inside one box of ``area_ratio`` of the sensor's width and height."""
    w, h = _wh(sensor_size)
    cw, ch = int(w * area_ratio), int(h * area_ratio)
    x1 = int(rng.integers(0, w - cw)) if w - cw > 0 else 0
    y1 = int(rng.integers(0, h - ch)) if h - ch > 0 else 0
    hit = (events["x"] >= x1) & (events["y"] >= y1) & (events["x"] <= x1 + cw - 1) \
        & (events["y"] <= y1 + ch - 1)
    return events[~hit]


def event_drop(events, sensor_size, rng: np.random.Generator) -> np.ndarray:
    """Tonic's ``EventDrop`` (Gu et al. 2021): one of identity, drop by time (ratio k/10, k in
    1..9), drop by area (k/20, k in 1..5), drop random events (k/10, k in 1..9)."""
    choice = int(rng.integers(0, 4))
    if choice == 1:
        return drop_by_time(events, int(rng.integers(1, 10)) / 10.0, rng)
    if choice == 2:
        return drop_by_area(events, sensor_size, int(rng.integers(1, 6)) / 20.0, rng)
    if choice == 3:
        return drop_event(events, int(rng.integers(1, 10)) / 10.0, rng)
    return events


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation of event samples, in Tonic's terms and order: random crop,
    flips, then EventDrop. Evaluation uses :meth:`eval_view` (a centre crop of the same size,
    nothing random)."""

    random_crop: Optional[tuple[int, int]] = None  # (W', H')
    flip_lr: float = 0.0
    flip_ud: float = 0.0
    flip_polarity: float = 0.0
    event_drop: bool = False

    def __post_init__(self):
        for name in ("flip_lr", "flip_ud", "flip_polarity"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"augmentation {name} is a probability in [0, 1], got {p}")
        if self.random_crop is not None:
            if len(self.random_crop) != 2 or min(self.random_crop) < 1:
                raise ValueError(f"random_crop must be (W, H) > 0, got {self.random_crop!r}")
            object.__setattr__(self, "random_crop", tuple(int(v) for v in self.random_crop))

    @property
    def is_random(self) -> bool:
        return (self.random_crop is not None or self.flip_lr > 0 or self.flip_ud > 0
                or self.flip_polarity > 0 or self.event_drop)

    def out_size(self, sensor_size) -> tuple[int, int]:
        """(W, H) after cropping."""
        return self.random_crop if self.random_crop is not None else _wh(sensor_size)

    def apply(self, events: np.ndarray, sensor_size, rng: np.random.Generator) -> np.ndarray:
        if self.random_crop is not None:
            events = random_crop(events, sensor_size, self.random_crop, rng)
            sensor_size = self.random_crop
        if self.flip_lr > 0:
            events = flip_lr(events, sensor_size, self.flip_lr, rng)
        if self.flip_ud > 0:
            events = flip_ud(events, sensor_size, self.flip_ud, rng)
        if self.flip_polarity > 0:
            events = flip_polarity(events, self.flip_polarity, rng)
        if self.event_drop:
            events = event_drop(events, sensor_size, rng)
        return events

    def eval_view(self, events: np.ndarray, sensor_size) -> np.ndarray:
        """What evaluation sees: the centre crop when training crops, else the sample itself."""
        if self.random_crop is None:
            return events
        return center_crop(events, sensor_size, self.random_crop)

    def to_dict(self) -> dict:
        return asdict(self)
