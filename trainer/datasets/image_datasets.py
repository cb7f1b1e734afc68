"""Loaders for static-image datasets in their official on-disk layouts (no download).

Images come back as float32 ``[N, C, H, W]`` in ``[0, 1]`` (uint8 / 255).
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._common import ImageSet, canonical_split, natural_key, resolve_root
from .errors import DatasetError
from .event_datasets import CIFAR10_CLASSES
from .splits import limit_indices


@dataclass
class ImageSource:
    """One split of an image dataset before reading: ``chunks()`` yields ``(uint8 [n, C, H,
    W], int64 labels)`` a file (CIFAR batch, .mat) or a thousand JPEGs at a time, appending
    unreadable files to ``skipped``; so a cache can be written without holding the split."""

    name: str
    split: str
    n_classes: int
    sensor_size: tuple[int, int, int]  # Tonic's order: (W, H, C)
    class_names: list[str] | None
    where: str
    expected: str
    chunks: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]
    skipped: list = field(default_factory=list)
    limit_applied: bool = False  # the listing was limited before reading (Tiny-ImageNet)
    files: list = field(default_factory=list)  # the files read, for cache keys

    def fingerprint(self) -> list:
        out = []
        for f in self.files:
            try:
                st = os.stat(f)
                out.append([str(f), st.st_size, st.st_mtime_ns])
            except OSError:
                out.append([str(f), None])
        return out


def read_source(src: ImageSource, limit=None) -> ImageSet:
    """All images of a source in memory, float32 in [0, 1], at most ``limit`` (balanced)."""
    images, labels = [], []
    for im, lab in src.chunks():
        images.append(im)
        labels.append(lab)
    if not images:
        detail = "; ".join(f"{p}: {r}" for p, r in src.skipped[:5])
        raise DatasetError(f"{src.name}: no readable samples for split {src.split!r} in "
                           f"{src.where} (expected {src.expected}); skipped: "
                           f"{detail or 'none found'}")
    imgs = np.concatenate(images)
    labs = np.concatenate(labels).astype(np.int64)
    if not src.limit_applied:
        idx = limit_indices(labs, limit)
        if idx.size != labs.size:
            imgs, labs = imgs[idx], labs[idx]
    return ImageSet(imgs.astype(np.float32) / np.float32(255.0), labs, src.n_classes, src.name,
                    src.sensor_size, src.split, src.skipped, src.class_names)


# ----------------------------------------------------------------------------- CIFAR pickles

class _SafeUnpickler(pickle.Unpickler):
    """Unpickler for the CIFAR batches: only the numpy array constructors are allowed,
    so a tampered batch file cannot run code."""

    _ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")})

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} not allowed in a CIFAR batch")


def _load_batch(path: Path) -> dict:
    with open(path, "rb") as fh:
        obj = _SafeUnpickler(io.BufferedReader(fh), encoding="bytes").load()
    if not isinstance(obj, dict):
        raise TypeError(f"unpickled a {type(obj).__name__}, expected a dict")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _cifar_batch_arrays(path: Path, label_key: str, n_classes: int):
    d = _load_batch(path)
    data = np.asarray(d["data"], dtype=np.uint8)
    labels = np.asarray(d[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise ValueError(f"data shape {data.shape} / {labels.shape[0]} labels, expected "
                         "[N, 3072] and N labels")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels outside 0..{n_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar(root, split, *, name, folder, files, label_key, n_classes, layout, meta,
           names_key) -> ImageSource:
    base = resolve_root(root, name, layout,
                        lambda p: any((p / f).is_file() for fs in files.values() for f in fs),
                        (folder,))
    sp = canonical_split(name, split, {k: k for k in files})
    missing = [f for f in files[sp] if not (base / f).is_file()]
    if missing:
        raise DatasetError(f"{name}: incomplete dataset folder {base}: {', '.join(missing)} "
                           f"missing. Expected layout:\n{layout}")
    class_names = None
    try:
        m = _load_batch(base / meta)
        class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in m[names_key]]
    except Exception:  # noqa: BLE001 - class names are optional
        class_names = list(CIFAR10_CLASSES) if n_classes == 10 else None
    src = ImageSource(name, sp, n_classes, (32, 32, 3), class_names, str(base), "pickle batches",
                      lambda: None, files=[str(base / f) for f in files[sp]])

    def chunks():
        for f in files[sp]:
            try:
                yield _cifar_batch_arrays(base / f, label_key, n_classes)
            except Exception as exc:  # noqa: BLE001 - any unreadable batch is reported & skipped
                reason = f"corrupt or truncated pickle batch ({type(exc).__name__}: {exc})"
                src.skipped.append((str(base / f), reason))

    src.chunks = chunks
    return src


CIFAR10_LAYOUT = """\
  <root>/cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch, batches.meta
  (python pickles: dict with b'data' uint8 [10000, 3072] (R, G, B planes of 32x32) and
   b'labels'; <root> may also be the cifar-10-batches-py folder itself)"""

CIFAR100_LAYOUT = """\
  <root>/cifar-100-python/train, test, meta
  (python pickles: dict with b'data' uint8 [N, 3072] and b'fine_labels' (0..99);
   <root> may also be the cifar-100-python folder itself)"""


def source_cifar10(root, split="train") -> ImageSource:
    return _cifar(root, split, name="cifar10", folder="cifar-10-batches-py",
                  files={"train": [f"data_batch_{i}" for i in range(1, 6)],
                         "test": ["test_batch"]},
                  label_key="labels", n_classes=10, layout=CIFAR10_LAYOUT,
                  meta="batches.meta", names_key="label_names")


def source_cifar100(root, split="train") -> ImageSource:
    return _cifar(root, split, name="cifar100", folder="cifar-100-python",
                  files={"train": ["train"], "test": ["test"]},
                  label_key="fine_labels", n_classes=100, layout=CIFAR100_LAYOUT,
                  meta="meta", names_key="fine_label_names")


def load_cifar10(root, split="train", *, limit=None) -> ImageSet:
    return read_source(source_cifar10(root, split), limit)


def load_cifar100(root, split="train", *, limit=None) -> ImageSet:
    return read_source(source_cifar100(root, split), limit)


# ----------------------------------------------------------------------------- SVHN

SVHN_LAYOUT = """\
  <root>/train_32x32.mat, <root>/test_32x32.mat (optional extra_32x32.mat)
  (MATLAB files: X uint8 [32, 32, 3, N], y [N, 1] with 1..10, 10 meaning digit 0;
   <root> may also be the parent of a folder named SVHN or svhn)"""


def source_svhn(root, split="train") -> ImageSource:
    import scipy.io

    name = "svhn"
    files = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
    base = resolve_root(root, name, SVHN_LAYOUT,
                        lambda p: any((p / f).is_file() for f in files.values()),
                        ("SVHN", "svhn"))
    sp = canonical_split(name, split, {k: k for k in files})
    path = base / files[sp]
    if not path.is_file():
        raise DatasetError(f"{name}: incomplete dataset folder {base}: {files[sp]} missing. "
                           f"Expected layout:\n{SVHN_LAYOUT}")
    src = ImageSource(name, sp, 10, (32, 32, 3), [str(d) for d in range(10)], str(base),
                      files[sp], lambda: None, files=[str(path)])

    def chunks():
        try:
            m = scipy.io.loadmat(path)
            x, y = np.asarray(m["X"]), np.asarray(m["y"]).reshape(-1).astype(np.int64)
            if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != y.size:
                raise ValueError(f"X shape {x.shape} / {y.size} labels, expected [32, 32, 3, N]")
            if y.size and (y.min() < 1 or y.max() > 10):
                raise ValueError("labels outside 1..10")
            y[y == 10] = 0
        except Exception as exc:  # noqa: BLE001 - reported with the file name
            reason = f"corrupt or truncated .mat file ({type(exc).__name__}: {exc})"
            src.skipped.append((str(path), reason))
            return
        for i in range(0, y.size, 10000):  # views of the file's array, converted per chunk
            yield np.ascontiguousarray(x[:, :, :, i:i + 10000].transpose(3, 2, 0, 1)), \
                y[i:i + 10000]

    src.chunks = chunks
    return src


def load_svhn(root, split="train", *, limit=None) -> ImageSet:
    return read_source(source_svhn(root, split), limit)


# ----------------------------------------------------------------------------- Tiny-ImageNet

TINY_LAYOUT = """\
  <root>/tiny-imagenet-200/wnids.txt                      (200 WordNet ids)
  <root>/tiny-imagenet-200/train/<wnid>/images/*.JPEG      (500 a class, 64x64)
  <root>/tiny-imagenet-200/val/images/*.JPEG + val/val_annotations.txt
      (tab-separated: file, wnid, x0, y0, x1, y1)
  (<root> may also be the tiny-imagenet-200 folder itself; label = index of the wnid in
   sorted order; split 'test' is an alias of 'val' because the official test set has no
   labels)"""


def _read_jpeg(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if arr.shape != (64, 64, 3):
        raise ValueError(f"image is {arr.shape[1]}x{arr.shape[0]}, expected 64x64")
    return arr


def source_tiny_imagenet(root, split="train", *, limit=None) -> ImageSource:
    name = "tiny-imagenet"
    base = resolve_root(root, name, TINY_LAYOUT, lambda p: (p / "wnids.txt").is_file(),
                        ("tiny-imagenet-200",))
    sp = canonical_split(name, split, {"train": "train", "val": "val", "validation": "val",
                                       "test": "val"})
    wnids = [w.strip() for w in (base / "wnids.txt").read_text().split() if w.strip()]
    if not wnids:
        raise DatasetError(f"{name}: {base / 'wnids.txt'} is empty")
    index = {w: i for i, w in enumerate(sorted(wnids))}
    paths, labels = [], []
    if sp == "train":
        missing = [w for w in wnids if not (base / "train" / w / "images").is_dir()]
        if missing:
            raise DatasetError(f"{name}: incomplete dataset folder {base}: train/<wnid>/images "
                               f"missing for {len(missing)} wnid(s), e.g. "
                               f"{base / 'train' / missing[0] / 'images'}. "
                               f"Expected layout:\n{TINY_LAYOUT}")
        for w in sorted(wnids):
            files = sorted((base / "train" / w / "images").glob("*.JPEG"), key=natural_key)
            paths += files
            labels += [index[w]] * len(files)
    else:
        ann = base / "val" / "val_annotations.txt"
        if not ann.is_file() or not (base / "val" / "images").is_dir():
            raise DatasetError(f"{name}: incomplete dataset folder {base}: val/images or "
                               f"val/val_annotations.txt missing. Expected layout:\n{TINY_LAYOUT}")
        for n, line in enumerate(ann.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 2 or parts[1].strip() not in index:
                raise DatasetError(f"{name}: bad line {n} in {ann}: {line!r} (expected "
                                   "'<file>\\t<wnid>\\t...' with a wnid from wnids.txt)")
            paths.append(base / "val" / "images" / parts[0].strip())
            labels.append(index[parts[1].strip()])
    if not paths:
        raise DatasetError(f"{name}: no images found for split {sp!r} in {base}. "
                           f"Expected layout:\n{TINY_LAYOUT}")
    idx = limit_indices(labels, limit)
    src = ImageSource(name, sp, len(wnids), (64, 64, 3), sorted(wnids), str(base),
                      "JPEG images", lambda: None, limit_applied=True,
                      files=[str(paths[i]) for i in idx])

    def chunks():
        for c in range(0, len(idx), 1000):
            images, labs = [], []
            for i in idx[c:c + 1000]:
                p = paths[i]
                if not p.is_file():
                    src.skipped.append((str(p), "missing file"))
                    continue
                try:
                    images.append(_read_jpeg(p))
                except Exception as exc:  # noqa: BLE001 - PIL raises many kinds
                    src.skipped.append((str(p), f"corrupt or truncated JPEG "
                                                f"({type(exc).__name__}: {exc})"))
                    continue
                labs.append(labels[i])
            if images:
                yield np.stack(images).transpose(0, 3, 1, 2).copy(), np.asarray(labs, np.int64)

    src.chunks = chunks
    return src


def load_tiny_imagenet(root, split="train", *, limit=None) -> ImageSet:
    return read_source(source_tiny_imagenet(root, split, limit=limit))
