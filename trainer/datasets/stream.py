"""Streaming dataset splits: framed per sample, on demand, from an on-disk cache.

:func:`trainer.datasets.open_stream` returns an :class:`EventStream` or an :class:`ImageStream`.
Neither ever holds a split in memory: the first use reads the dataset's files once, one file at
a time (one DVS Gesture trial, one CIFAR batch, a thousand JPEGs), and writes a cache under
``$ANCOEF_CACHE/streams/<key>/`` (default ``~/.cache/ancoef``); every later batch reads only its
own samples from memory-mapped files. The key hashes everything that decides the cached bytes
(dataset, split, split protocol, the files' paths, sizes and modification times, and for events
the timesteps, framing, denoising and downsampling), so a changed file or option builds a new
cache; ``meta.json`` is written last, so an interrupted build is rebuilt, never half-read.

What is cached:

* event data without random augmentation: the frames, packed bits (``binary``) or uint8
  counts clipped at 255 (``count``), ``[N, T, 2, H, W]``;
* event data with random augmentation (random crop, flips, EventDrop): the denoised events of
  every sample, so each batch is augmented and framed afresh (Tonic's order: transforms on
  events, then ToFrame); evaluation sees the centre crop and no randomness;
* static images: the uint8 images; ``direct`` and ``rate`` encodings are made per batch (rate:
  ``numpy.random.default_rng([seed, i])`` for sample ``i``, as load_frames, so a sample's
  spikes do not depend on its batch).

``batch(idx)`` returns float32 ``[B, T, C, H, W]`` exactly as :func:`trainer.datasets.load_frames`
would give those samples (tested). The cache files are read with ``pread``, not memory-mapped:
the pages an epoch reads stay in the kernel's page cache, never in this process's resident set,
so memory is the batch whatever the split's size (a memory map's touched pages count as resident
memory: 32 KiB a DVS Gesture sample of packed frames, ~0.5 MiB of cached events).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from ._common import EventIndex
from .events import EVENT_DTYPE
from .frames import (
    DEFAULT_FRAMING,
    Framing,
    _accumulate,
    _finish,
    frame_shape,
    pool_images,
    rate_spikes,
)
from .image_datasets import ImageSource
from .splits import limit_indices
from .transforms import Augment, denoise as denoise_events

STREAM_FORMAT = 1


def streams_dir(cache=None) -> Path:
    """Where stream caches live: ``cache``, else ``$ANCOEF_CACHE/streams`` or
    ``~/.cache/ancoef/streams``."""
    if cache is not None:
        return Path(cache).expanduser()
    from .digits_dvs import cache_dir

    return cache_dir() / "streams"


def _key(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _write_meta(folder: Path, meta: dict) -> None:
    tmp = folder / ".meta.json.tmp"
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, folder / "meta.json")


def _read_meta(folder: Path, key: str) -> Optional[dict]:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if meta.get("key") == key and meta.get("format") == STREAM_FORMAT else None


def _fresh_dir(root: Path, key: str) -> Path:
    """An empty build folder next to the final one (renamed into place when complete)."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root, prefix=f".{key}-"))


def _publish(tmp: Path, final: Path) -> Path:
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


class RowFile:
    """A read-only array ``shape`` of ``dtype`` stored at ``offset`` in ``path``, read with
    ``os.preadv`` (see the module docstring). Indexing with an integer array reads those rows,
    with a slice the contiguous rows; the file is opened lazily in each process (so the object
    survives pickling and forking) and closed with the object."""

    def __init__(self, path, dtype, shape, offset: int = 0):
        self.path, self.dtype, self.shape = Path(path), np.dtype(dtype), tuple(int(v) for v in shape)
        self.offset = int(offset)
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self._fd, self._pid = None, None

    @classmethod
    def npy(cls, path) -> "RowFile":
        """The array of a ``.npy`` file (C order), without mapping it."""
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(fh)
            if fortran:
                raise ValueError(f"{path}: a Fortran-ordered array cannot be read by rows")
            return cls(path, dtype, shape, fh.tell())

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self):
        return {**self.__dict__, "_fd": None, "_pid": None}

    def __del__(self):
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        return self._fd

    def _read_into(self, buf: np.ndarray, row: int) -> None:
        want = buf.nbytes
        got = os.preadv(self._file(), [memoryview(buf).cast("B")], self.offset + row * self.row_bytes)
        if got != want:
            raise OSError(f"{self.path}: short read at row {row} ({got} of {want} bytes): "
                          "the stream cache is truncated; delete it to rebuild")

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                raise IndexError("RowFile slices take step 1")
            out = np.empty((max(0, stop - start),) + self.shape[1:], self.dtype)
            if out.size:
                self._read_into(out, start)
            return out
        rows = np.asarray(key, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"row out of range 0..{self.shape[0] - 1}")
        out = np.empty((rows.size,) + self.shape[1:], self.dtype)
        for j, r in enumerate(rows.tolist()):
            self._read_into(out[j], r)
        return out


# -- events --------------------------------------------------------------------------------------


@dataclass
class _EventCache:
    folder: Path
    meta: dict
    frames: Optional[RowFile] = None  # packed bits or uint8 counts, a row per sample
    events: Optional[RowFile] = None  # EVENT_DTYPE records, sample p at offsets[p]:offsets[p+1]
    offsets: Optional[np.ndarray] = None


@dataclass
class EventStream:
    """An event-dataset split framed per sample on demand (see the module docstring).

    ``labels``, ``n_classes``, ``name``, ``split``, ``encoding``, ``skipped``, ``class_names``,
    ``split_protocol`` as :class:`~trainer.datasets.FrameSet`; ``sensor_size`` is Tonic's
    ``(W, H, P)`` after cropping and downsampling; ``frame_shape`` is ``(T, 2, H, W)``.
    """

    cache: _EventCache
    positions: np.ndarray  # rows of the cache this stream covers (a subset view)
    labels: np.ndarray
    n_classes: int
    name: str
    split: str
    encoding: str
    timesteps: int
    framing: Framing
    downsample: int
    augment: Optional[Augment]
    source_sensor: tuple[int, int, int]  # before cropping and downsampling
    skipped: list = field(default_factory=list)
    class_names: Optional[list] = None
    split_protocol: str = ""

    def __len__(self) -> int:
        return int(self.positions.size)

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        w, h = self.augment.out_size(self.source_sensor) if self.augment else self.source_sensor[:2]
        d = self.downsample
        return (-(-w // d), -(-h // d), 2)

    @property
    def frame_shape(self) -> tuple[int, int, int, int]:
        return frame_shape(self.sensor_size[:2] + (2,), self.timesteps, 1)

    @property
    def cache_folder(self) -> Path:
        return self.cache.folder

    def subset(self, idx) -> "EventStream":
        idx = np.asarray(idx, dtype=np.int64)
        return replace(self, positions=self.positions[idx], labels=self.labels[idx])

    def batch(self, idx, *, train: bool = False, epoch: int = 0, seed: int = 0) -> np.ndarray:
        """Frames float32 ``[B, T, 2, H, W]`` of stream samples ``idx``. ``train=True`` applies
        the random augmentation, drawn from ``default_rng([seed, epoch, position])``."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        pos = self.positions[idx]
        out = np.zeros((pos.size,) + self.frame_shape, np.float32)
        c = self.cache
        if c.frames is not None:
            rows = c.frames[pos]
            if self.encoding == "binary":
                n = int(np.prod(self.frame_shape))
                bits = np.unpackbits(rows, axis=1, count=n)
                out[:] = bits.reshape(out.shape)
            else:
                out[:] = rows.reshape(out.shape)
            return out
        wh = self.source_sensor[:2]
        for j, p in enumerate(pos.tolist()):
            ev = c.events[int(c.offsets[p]):int(c.offsets[p + 1])]
            sensor = self.source_sensor
            if self.augment is not None:
                if train:
                    rng = np.random.default_rng([int(seed), int(epoch), int(p)])
                    ev = self.augment.apply(ev, sensor, rng)
                else:
                    ev = self.augment.eval_view(ev, sensor)
                wh = self.augment.out_size(sensor)
            win = c.meta["windows"][p]
            _accumulate(out[j], ev, wh, self.timesteps, None if win is None else tuple(win),
                        self.downsample, self.framing)
        return _finish(out, self.encoding)

    def dense(self) -> np.ndarray:
        """All frames in memory (small sets only): ``[N, T, 2, H, W]``."""
        return self.batch(np.arange(len(self)))


def _event_cache_key(index: EventIndex, timesteps, encoding, framing, downsample, denoise,
                     keep_events: bool) -> str:
    return _key({"format": STREAM_FORMAT, "kind": "events", "name": index.name,
                 "split": index.split, "protocol": index.split_protocol,
                 "files": index.fingerprint(), "timesteps": None if keep_events else timesteps,
                 "encoding": None if keep_events else encoding,
                 "framing": None if keep_events else framing.to_dict(),
                 "downsample": None if keep_events else downsample, "denoise": denoise,
                 "store": "events" if keep_events else "frames"})


def _build_event_cache(index: EventIndex, folder: Path, key: str, *, timesteps, encoding,
                       framing, downsample, denoise, keep_events: bool) -> dict:
    """Read the index's samples once, one file at a time, into ``folder``."""
    n = len(index)
    wh = index.sensor_size[:2]
    shape = frame_shape(index.sensor_size, timesteps, downsample)
    nbits = int(np.prod(shape))
    frames = ev_file = None
    if keep_events:
        ev_file = open(folder / "events.bin", "wb")
    else:
        width = -(-nbits // 8) if encoding == "binary" else nbits
        frames = np.lib.format.open_memmap(folder / "frames.npy", mode="w+", dtype=np.uint8,
                                           shape=(n, width))
    kept, windows, offsets = [], [], [0]
    try:
        for i, ev in index.samples():
            if denoise is not None:
                ev = denoise_events(ev, denoise)
            win = index.window(i)
            row = len(kept)
            if keep_events:
                rec = np.ascontiguousarray(ev, dtype=EVENT_DTYPE)
                ev_file.write(rec.tobytes())
                offsets.append(offsets[-1] + rec.size)
            else:
                f = np.zeros(shape, np.float32)
                _accumulate(f, ev, wh, timesteps, win, downsample, framing)
                if encoding == "binary":
                    frames[row] = np.packbits(f.reshape(-1) > 0)
                else:
                    frames[row] = np.minimum(f.reshape(-1), 255).astype(np.uint8)
            kept.append(i)
            windows.append(None if win is None else [int(win[0]), int(win[1])])
    finally:
        if ev_file is not None:
            ev_file.close()
        if frames is not None:
            frames.flush()
            del frames
    if keep_events:
        np.save(folder / "offsets.npy", np.asarray(offsets, np.int64))
    meta = {"key": key, "format": STREAM_FORMAT, "n": len(kept), "rows": n,
            "kept": kept, "labels": np.asarray(index.labels)[kept].tolist(),
            "windows": windows, "skipped": index.skipped, "frame_shape": list(shape),
            "store": "events" if keep_events else "frames", "encoding": encoding}
    _write_meta(folder, meta)
    return meta


def _open_event_cache(folder: Path, meta: dict) -> _EventCache:
    c = _EventCache(folder, meta)
    if meta["store"] == "frames":
        c.frames = RowFile.npy(folder / "frames.npy")  # rows past meta["n"] (skipped files) unused
    else:
        c.offsets = np.load(folder / "offsets.npy")
        c.events = RowFile(folder / "events.bin", EVENT_DTYPE, (int(c.offsets[-1]),))
    return c


def event_stream(index: EventIndex, timesteps: int, *, encoding: str = "binary",
                 framing: Framing | None = None, downsample: int = 1,
                 denoise: Optional[float] = None, augment: Optional[Augment] = None,
                 cache=None) -> EventStream:
    """An :class:`EventStream` over ``index`` (built into the cache on first use)."""
    framing = framing or DEFAULT_FRAMING
    framing.check_timesteps(timesteps)
    if augment is not None and not augment.is_random and augment.random_crop is None:
        augment = None
    keep_events = augment is not None
    key = _event_cache_key(index, timesteps, encoding, framing, downsample, denoise, keep_events)
    root = streams_dir(cache)
    final = root / key
    meta = _read_meta(final, key)
    if meta is None:
        tmp = _fresh_dir(root, key)
        try:
            meta = _build_event_cache(index, tmp, key, timesteps=timesteps, encoding=encoding,
                                      framing=framing, downsample=downsample, denoise=denoise,
                                      keep_events=keep_events)
            final = _publish(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    c = _open_event_cache(final, meta)
    return EventStream(c, np.arange(meta["n"], dtype=np.int64),
                       np.asarray(meta["labels"], np.int64), index.n_classes, index.name,
                       index.split, encoding, int(timesteps), framing, int(downsample), augment,
                       tuple(index.sensor_size), [tuple(s) for s in meta["skipped"]],
                       index.class_names, index.split_protocol)


# -- images --------------------------------------------------------------------------------------


@dataclass
class ImageStream:
    """A static-image split read per batch from a uint8 cache; ``direct`` repeats the analog
    image T times, ``rate`` draws seeded Bernoulli spikes per sample."""

    images: RowFile  # uint8 [rows, C, H, W]
    positions: np.ndarray
    ids: np.ndarray  # sample number within the (limited) split: rate coding's seed
    labels: np.ndarray
    n_classes: int
    name: str
    split: str
    encoding: str
    timesteps: int
    downsample: int
    seed: int
    cache_folder: Path
    skipped: list = field(default_factory=list)
    class_names: Optional[list] = None
    split_protocol: str = "official"

    def __len__(self) -> int:
        return int(self.positions.size)

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        _, c, h, w = self.images.shape
        d = self.downsample
        return (w // d, h // d, c)

    @property
    def frame_shape(self) -> tuple[int, int, int, int]:
        w, h, c = self.sensor_size
        return (self.timesteps, c, h, w)

    def subset(self, idx) -> "ImageStream":
        idx = np.asarray(idx, dtype=np.int64)
        return replace(self, positions=self.positions[idx], ids=self.ids[idx],
                       labels=self.labels[idx])

    def batch(self, idx, *, train: bool = False, epoch: int = 0, seed: int = 0) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        pos = self.positions[idx]
        imgs = self.images[pos].astype(np.float32) / np.float32(255.0)
        imgs = pool_images(imgs, self.downsample)
        if self.encoding == "direct":
            return np.repeat(imgs[:, None], self.timesteps, axis=1)
        out = np.empty((pos.size,) + self.frame_shape, np.float32)
        for j, i in enumerate(self.ids[idx].tolist()):
            out[j] = rate_spikes(imgs[j], self.timesteps,
                                 np.random.default_rng([int(self.seed), int(i)]))
        return out

    def dense(self) -> np.ndarray:
        return self.batch(np.arange(len(self)))


def image_stream(src: ImageSource, timesteps: int, *, encoding: str = "direct",
                 limit: Optional[int] = None, seed: int = 0, downsample: int = 1,
                 cache=None) -> ImageStream:
    """An :class:`ImageStream` over ``src`` (its uint8 images cached on first use)."""
    key = _key({"format": STREAM_FORMAT, "kind": "images", "name": src.name, "split": src.split,
                "where": src.where, "files": src.fingerprint(),
                "limit": limit if src.limit_applied else None})
    root = streams_dir(cache)
    final = root / key
    meta = _read_meta(final, key)
    if meta is None:
        tmp = _fresh_dir(root, key)
        try:
            path = tmp / "images.bin"
            labels, shape = [], None
            with open(path, "wb") as fh:
                for im, lab in src.chunks():
                    fh.write(np.ascontiguousarray(im, np.uint8).tobytes())
                    labels.append(np.asarray(lab, np.int64))
                    shape = im.shape[1:]
            if shape is None:
                detail = "; ".join(f"{p}: {r}" for p, r in src.skipped[:5])
                from .errors import DatasetError

                raise DatasetError(f"{src.name}: no readable samples for split {src.split!r} "
                                   f"in {src.where} (expected {src.expected}); skipped: "
                                   f"{detail or 'none found'}")
            labs = np.concatenate(labels)
            meta = {"key": key, "format": STREAM_FORMAT, "n": int(labs.size),
                    "shape": list(shape), "labels": labs.tolist(), "skipped": src.skipped}
            _write_meta(tmp, meta)
            final = _publish(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    labels = np.asarray(meta["labels"], np.int64)
    images = RowFile(final / "images.bin", np.uint8, (meta["n"], *meta["shape"]))
    pos = np.arange(meta["n"], dtype=np.int64)
    if not src.limit_applied:
        pos = pos[limit_indices(labels, limit)]
    return ImageStream(images, pos, np.arange(pos.size, dtype=np.int64), labels[pos], src.n_classes, src.name, src.split, encoding,
                       int(timesteps), int(downsample), int(seed), final,
                       [tuple(s) for s in meta["skipped"]], src.class_names)
