"""``digits-dvs``: the embedded default dataset, made by the project itself.

Source images: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes,
shipped inside the scikit-learn wheel: no download). Each image is turned into an event
stream by an emulated event camera, the way N-MNIST was recorded from MNIST:

1. *Scene.* The 8x8 image (0..16) is scaled to [0, 1], upsampled bilinearly to
   ``digit_size`` x ``digit_size`` and centred on a dark ``sensor_size`` x ``sensor_size``
   background (a bright digit on a dark monitor).
2. *Saccades.* The image moves along a triangle, three straight saccades of
   ``saccade_us`` each (right-down, left, back up-right: displacements (0, 0) ->
   (A/2, A) -> (-A/2, A) -> (0, 0) in pixels (dx, dy), A = ``amplitude``), rendered every
   ``step_us`` with sub-pixel bilinear shifts.
3. *Pixels.* Each pixel sees log intensity ``L = log(I + background)``. It keeps the level
   ``L_ref`` of its last event; when ``L - L_ref >= C`` it emits ON events (OFF for
   ``<= -C``), one per threshold crossing, and moves ``L_ref`` by ``C`` per event.
   Event times are interpolated linearly between the two rendered steps (as ESIM/v2e do).
   ``C`` is ``threshold`` times a per-pixel fixed-pattern factor ``1 + mismatch * N(0, 1)``
   (clipped to >= 0.5), one map for the whole dataset (one camera).
4. *Noise.* Background activity: Poisson events at ``noise_hz`` per pixel, uniform in
   time, random polarity.

All randomness comes from ``numpy.random.default_rng`` seeded with ``seed`` (the
mismatch map) and ``[seed, sample index]`` (each sample's noise), so a build is
bit-for-bit reproducible and a sample does not depend on how many others are built.

The event streams are cached as ``digits-dvs-<hash of the parameters>.npz`` under
``$ANCOEF_CACHE`` (default ``~/.cache/ancoef``). Split: stratified, 1,437 ``train`` / 360
``test`` (:func:`~trainer.datasets.splits.stratified_split`, seed 0), or ``all``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ._common import EventIndex, EventRef, EventSet, canonical_split
from .events import EVENT_DTYPE
from .splits import limit_indices, stratified_split

CACHE_ENV = "ANCOEF_CACHE"
FORMAT_VERSION = 1
N_TEST = 360
SPLIT_SEED = 0


@dataclass(frozen=True)
class CameraConfig:
    """Parameters of the emulated event camera (the cache key)."""

    digit_size: int = 16
    sensor_size: int = 24
    amplitude: float = 2.0       # pixels
    saccade_us: int = 100_000    # per saccade, three saccades
    step_us: int = 2_000         # render interval
    threshold: float = 0.2       # contrast threshold C, log units
    mismatch: float = 0.03       # relative std of the per-pixel threshold
    background: float = 0.1      # intensity added before the log (dark level)
    noise_hz: float = 1.0        # background events per pixel per second
    seed: int = 0

    @property
    def duration_us(self) -> int:
        return 3 * self.saccade_us

    def key(self) -> str:
        blob = json.dumps({"v": FORMAT_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_dir(override=None) -> Path:
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ancoef"


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float64) / 16.0, d.target.astype(np.int64)


def _upsample(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize [N, 8, 8] -> [N, size, size] (pixel centres aligned)."""
    h = images.shape[1]
    c = (np.arange(size) + 0.5) * h / size - 0.5
    c = np.clip(c, 0, h - 1)
    i0 = np.floor(c).astype(int)
    i1 = np.minimum(i0 + 1, h - 1)
    f = c - i0
    rows = images[:, i0, :] * (1 - f)[None, :, None] + images[:, i1, :] * f[None, :, None]
    return rows[:, :, i0] * (1 - f)[None, None, :] + rows[:, :, i1] * f[None, None, :]


def _shift_int(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(a)
    h, w = a.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = a[..., ys, xs]
    return out


def _render(base: np.ndarray, dx: float, dy: float) -> np.ndarray:
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = float(dx) - ix, float(dy) - iy
    return ((1 - fx) * (1 - fy) * _shift_int(base, iy, ix)
            + fx * (1 - fy) * _shift_int(base, iy, ix + 1)
            + (1 - fx) * fy * _shift_int(base, iy + 1, ix)
            + fx * fy * _shift_int(base, iy + 1, ix + 1))


def saccade_path(cfg: CameraConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_us, dx, dy) of the rendered steps, t from 0 to the duration inclusive."""
    a = cfg.amplitude
    verts = np.array([(0.0, 0.0), (a / 2, a), (-a / 2, a), (0.0, 0.0)])
    verts -= verts[:3].mean(axis=0)  # centre the triangle on the sensor
    t = np.arange(0, cfg.duration_us + 1, cfg.step_us, dtype=np.int64)
    leg = np.minimum(t // cfg.saccade_us, 2)
    frac = (t - leg * cfg.saccade_us) / cfg.saccade_us
    pos = verts[leg] + (verts[leg + 1] - verts[leg]) * frac[:, None]
    return t, pos[:, 0], pos[:, 1]


def emulate(images: np.ndarray, cfg: CameraConfig, first_index: int = 0):
    """Emulated camera: images [N, h, w] in [0, 1] -> (events list, one per image)."""
    n = images.shape[0]
    s, ds = cfg.sensor_size, cfg.digit_size
    up = _upsample(images, ds).astype(np.float32)
    base = np.zeros((n, s, s), np.float32)
    o = (s - ds) // 2
    base[:, o:o + ds, o:o + ds] = up
    rng = np.random.default_rng(cfg.seed)
    thr = (cfg.threshold * np.clip(1 + cfg.mismatch * rng.standard_normal((s, s)), 0.5, None)) \
        .astype(np.float32)
    ts, dxs, dys = saccade_path(cfg)
    lum = np.log(_render(base, dxs[0], dys[0]) + cfg.background)
    ref = lum.copy()
    parts = []
    for k in range(1, ts.size):
        prev = lum
        lum = np.log(_render(base, dxs[k], dys[k]) + cfg.background)
        d = lum - ref
        hit = np.nonzero(np.abs(d) >= thr)
        if hit[0].size == 0:
            continue
        dh = d[hit]
        c = np.floor(np.abs(dh) / thr[hit[1], hit[2]]).astype(np.int64)
        sign = np.sign(dh)
        ref[hit] += sign * c * thr[hit[1], hit[2]]
        # one row per event; j-th crossing (1-based) of its pixel in this step
        rep = np.repeat(np.arange(c.size), c)
        j = np.arange(rep.size) - np.repeat(np.cumsum(c) - c, c) + 1
        nidx, yy, xx = (h[rep] for h in hit)
        sg = sign[rep]
        ref0 = ref[nidx, yy, xx] - sg * c[rep] * thr[yy, xx]      # level before this step
        level = ref0 + sg * j * thr[yy, xx]
        lp, ln = prev[nidx, yy, xx], lum[nidx, yy, xx]
        frac = np.clip((level - lp) / np.where(ln != lp, ln - lp, 1), 0, 1)
        t = ts[k - 1] + np.minimum(np.floor(frac * cfg.step_us).astype(np.int64),
                                   cfg.step_us - 1)
        parts.append((nidx, xx, yy, t, sg > 0))
    cat = [np.concatenate([p[i] for p in parts]) if parts else np.empty(0)
           for i in range(5)]
    nidx, xx, yy, tt, pp = cat
    out = []
    area, dur_s = s * s, cfg.duration_us / 1e6
    for i in range(n):
        sel = nidx == i
        r = np.random.default_rng([cfg.seed, first_index + i])
        m = r.poisson(cfg.noise_hz * area * dur_s)
        ev = np.empty(int(sel.sum()) + m, EVENT_DTYPE)
        ev["x"] = np.concatenate([xx[sel], r.integers(0, s, m)])
        ev["y"] = np.concatenate([yy[sel], r.integers(0, s, m)])
        ev["t"] = np.concatenate([tt[sel], r.integers(0, cfg.duration_us, m)])
        ev["p"] = np.concatenate([pp[sel].astype(bool), r.integers(0, 2, m).astype(bool)])
        ev = ev[np.argsort(ev["t"], kind="stable")]
        out.append(ev)
    return out


def build_digits_dvs(cfg: CameraConfig = CameraConfig(), n_samples: int | None = None):
    """Build the event streams (no cache): (events list, labels int64)."""
    images, labels = _digits()
    if n_samples is not None:
        images, labels = images[:n_samples], labels[:n_samples]
    chunk = 256  # bounds memory; results do not depend on the chunking
    events = []
    for s in range(0, images.shape[0], chunk):
        events += emulate(images[s:s + chunk], cfg, first_index=s)
    return events, labels


def load_digits_dvs_events(cfg: CameraConfig = CameraConfig(), *, cache=None):
    """All 1,797 event streams and labels, from the on-disk cache or built and cached."""
    path = cache_dir(cache) / f"digits-dvs-{cfg.key()}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                ev, off, labels = z["events"], z["offsets"], z["labels"]
            return [ev[off[i]:off[i + 1]] for i in range(labels.size)], labels
        except Exception as exc:  # noqa: BLE001 - a bad cache is rebuilt
            warnings.warn(f"digits-dvs cache {path} unreadable ({exc}); rebuilding",
                          stacklevel=2)
    events, labels = build_digits_dvs(cfg)
    off = np.concatenate([[0], np.cumsum([e.size for e in events])]).astype(np.int64)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".digits-dvs-", suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, events=np.concatenate(events), offsets=off, labels=labels,
                     config=json.dumps(asdict(cfg)))
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"digits-dvs: could not write cache {path} ({exc}); using it in memory",
                      stacklevel=2)
    return events, labels


def index_digits_dvs(root=None, split: str = "train", *, limit=None,
                     cfg: CameraConfig = CameraConfig()) -> EventIndex:
    """``digits-dvs`` split as an :class:`EventIndex` over the cached event streams (``root``,
    if given, is the cache dir)."""
    name = "digits-dvs"
    sp = canonical_split(name, split, {"train": "train", "test": "test", "all": "all"})
    events, labels = load_digits_dvs_events(cfg, cache=root)
    tr, te = stratified_split(labels, N_TEST, SPLIT_SEED)
    sel = {"train": tr, "test": te, "all": np.arange(labels.size)}[sp]
    sel = sel[limit_indices(labels[sel], limit)]
    tag = f"#digits-dvs-{cfg.key()}"
    s = cfg.sensor_size
    return EventIndex([EventRef(f"{tag}/{i}") for i in sel], labels[sel].astype(np.int64), 10,
                      name, (s, s, 2), sp, lambda path: events[int(path.rsplit("/", 1)[1])],
                      [], [str(d) for d in range(10)],
                      f"fixed stratified {labels.size - N_TEST}/{N_TEST} (seed {SPLIT_SEED})",
                      windows=[(0, cfg.duration_us)] * sel.size, where=str(cache_dir(root)))


def load_digits_dvs(root=None, split: str = "train", *, limit=None,
                    cfg: CameraConfig = CameraConfig()) -> EventSet:
    """``digits-dvs`` split as an :class:`EventSet`. ``root``, if given, is the cache dir."""
    from .event_datasets import materialise

    return materialise(index_digits_dvs(root, split, limit=limit, cfg=cfg))
