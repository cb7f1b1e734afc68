"""Datasets for the ANCoEF trainer: readers for official on-disk layouts (never a
download), the embedded ``digits-dvs`` dataset, and encoding into T frames.

Entry point::

    from trainer.datasets import load_frames
    fs = load_frames("digits-dvs", None, "train", timesteps=8)
    fs.frames  # float32 [N, T, C, H, W]; fs.labels int64 [N]

See ``docs/datasets.md`` for each dataset's expected layout.
"""

from __future__ import annotations

import warnings

from ._common import EventSet, ImageSet
from .digits_dvs import CameraConfig, build_digits_dvs, load_digits_dvs
from .errors import CorruptFileError, DatasetError, DatasetWarning
from .event_datasets import (
    CIFAR10DVS_LAYOUT,
    DVSGESTURE_LAYOUT,
    NMNIST_LAYOUT,
    NMNIST_SMALL_LAYOUT,
    load_cifar10dvs,
    load_dvsgesture,
    load_nmnist,
    load_nmnist_small,
    nmnist_small_index,
)
from .events import (
    EVENT_DTYPE,
    make_events,
    read_aedat2_dvs128,
    read_aedat31_polarity,
    read_aedat_header,
    read_event_file,
    read_nmnist_bin,
    read_prophesee_dat,
)
from .frames import (
    ENCODINGS,
    EVENT_ENCODINGS,
    IMAGE_ENCODINGS,
    FrameSet,
    event_samples_to_frames,
    events_to_frames,
    images_to_frames,
    pool_images,
)
from .image_datasets import (
    CIFAR10_LAYOUT,
    CIFAR100_LAYOUT,
    SVHN_LAYOUT,
    TINY_LAYOUT,
    load_cifar10,
    load_cifar100,
    load_svhn,
    load_tiny_imagenet,
)
from .splits import limit_indices, nmnist_small_split, stratified_split

#: name -> (kind, loader, layout text)
_REGISTRY = {
    "digits-dvs": ("events", load_digits_dvs,
                   ("  none: built from scikit-learn's bundled digits and cached under "
                    "$ANCOEF_CACHE or ~/.cache/ancoef")),
    "nmnist": ("events", load_nmnist, NMNIST_LAYOUT),
    "nmnist-small": ("events", load_nmnist_small, NMNIST_SMALL_LAYOUT),
    "dvsgesture": ("events", load_dvsgesture, DVSGESTURE_LAYOUT),
    "cifar10-dvs": ("events", load_cifar10dvs, CIFAR10DVS_LAYOUT),
    "cifar10": ("images", load_cifar10, CIFAR10_LAYOUT),
    "cifar100": ("images", load_cifar100, CIFAR100_LAYOUT),
    "svhn": ("images", load_svhn, SVHN_LAYOUT),
    "tiny-imagenet": ("images", load_tiny_imagenet, TINY_LAYOUT),
}

#: Canonical dataset names accepted by :func:`load_frames`.
DATASET_NAMES: tuple[str, ...] = tuple(_REGISTRY)

_ALIASES = {
    "n-mnist": "nmnist", "nmnistsmall": "nmnist-small", "dvs-gesture": "dvsgesture",
    "dvs128-gesture": "dvsgesture", "dvs128gesture": "dvsgesture", "cifar10dvs": "cifar10-dvs",
    "cifar-10-dvs": "cifar10-dvs", "cifar-10": "cifar10", "cifar-100": "cifar100",
    "tinyimagenet": "tiny-imagenet", "tiny-imagenet-200": "tiny-imagenet",
    "digitsdvs": "digits-dvs",
}


def canonical_name(name: str) -> str:
    """Normalise a dataset name (case, ``_`` vs ``-``, common aliases)."""
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: "
                           f"{', '.join(DATASET_NAMES)}")
    return key


def dataset_kind(name: str) -> str:
    """``"events"`` or ``"images"``."""
    return _REGISTRY[canonical_name(name)][0]


def expected_layout(name: str) -> str:
    return _REGISTRY[canonical_name(name)][2]


def load_events(name: str, root=None, split: str = "train", *, limit=None) -> EventSet:
    """One split of an event dataset as event arrays (before framing)."""
    key = canonical_name(name)
    kind, loader, _ = _REGISTRY[key]
    if kind != "events":
        raise DatasetError(f"{key} is a static-image dataset; use load_images")
    return loader(root, split, limit=limit)


def load_images(name: str, root=None, split: str = "train", *, limit=None) -> ImageSet:
    """One split of a static-image dataset as float32 ``[N, C, H, W]`` in [0, 1]."""
    key = canonical_name(name)
    kind, loader, _ = _REGISTRY[key]
    if kind != "images":
        raise DatasetError(f"{key} is an event dataset; use load_events")
    return loader(root, split, limit=limit)


def _warn_skipped(name, skipped):
    if skipped:
        shown = "; ".join(f"{p} ({r})" for p, r in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warnings.warn(f"{name}: skipped {len(skipped)} unreadable file(s): {shown}{more}",
                      DatasetWarning, stacklevel=3)


def load_frames(name: str, root=None, split: str = "train", timesteps: int = 8, *,
                encoding: str | None = None, limit: int | None = None, seed: int = 0,
                downsample: int = 1) -> FrameSet:
    """Load one split of a dataset as T frames.

    Args:
        name: one of :data:`DATASET_NAMES` (aliases such as ``"N-MNIST"`` are accepted).
        root: folder holding the dataset in its official layout (``None``: ``$ANCOEF_DATA``;
            for ``digits-dvs`` it is the cache folder and may be ``None``).
        split: ``"train"`` / ``"test"`` (plus ``"val"``/``"all"`` where the dataset has them).
        timesteps: T.
        encoding: event data ``"binary"`` (default: 1.0 where a pixel/polarity had >= 1
            event in the bin) or ``"count"``; static images ``"direct"`` (default: the
            analog image in every step) or ``"rate"`` (seeded Bernoulli spikes).
        limit: at most this many samples, balanced over classes, deterministic.
        seed: seed of the rate coding.
        downsample: integer spatial pooling factor (events: ``x // d``; images: mean pool).

    Returns a :class:`FrameSet`; unreadable files are listed in ``FrameSet.skipped`` and
    reported in a :class:`DatasetWarning`. Raises :class:`DatasetError` for an unknown
    name, a missing or incomplete folder, or a split with no readable sample.
    """
    key = canonical_name(name)
    kind = _REGISTRY[key][0]
    if int(timesteps) < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    if int(downsample) < 1:
        raise ValueError(f"downsample must be >= 1, got {downsample}")
    allowed = EVENT_ENCODINGS if kind == "events" else IMAGE_ENCODINGS
    enc = allowed[0] if encoding is None else str(encoding).lower()
    if enc not in allowed:
        raise ValueError(f"{key} holds {'event streams' if kind == 'events' else 'static images'}"
                         f": encoding must be one of {allowed}, got {encoding!r}")
    if kind == "events":
        es = load_events(key, root, split, limit=limit)
        h, w, c = es.sensor_size
        frames = event_samples_to_frames(es.events, (h, w), int(timesteps), windows=es.windows,
                                         encoding=enc, downsample=int(downsample))
        sensor = (frames.shape[3], frames.shape[4], c)
        src = es
    else:
        im = load_images(key, root, split, limit=limit)
        imgs = pool_images(im.images, int(downsample))
        frames = images_to_frames(imgs, int(timesteps), encoding=enc, seed=seed)
        sensor = (imgs.shape[2], imgs.shape[3], imgs.shape[1])
        src = im
    _warn_skipped(key, src.skipped)
    return FrameSet(frames=frames, labels=src.labels.astype("int64"), n_classes=src.n_classes,
                    name=key, sensor_size=sensor, split=src.split, encoding=enc,
                    skipped=list(src.skipped), class_names=src.class_names)


__all__ = [
    "DATASET_NAMES",
    "ENCODINGS",
    "EVENT_DTYPE",
    "CameraConfig",
    "CorruptFileError",
    "DatasetError",
    "DatasetWarning",
    "EventSet",
    "FrameSet",
    "ImageSet",
    "build_digits_dvs",
    "canonical_name",
    "dataset_kind",
    "event_samples_to_frames",
    "events_to_frames",
    "expected_layout",
    "images_to_frames",
    "limit_indices",
    "load_cifar10",
    "load_cifar10dvs",
    "load_cifar100",
    "load_digits_dvs",
    "load_dvsgesture",
    "load_events",
    "load_frames",
    "load_images",
    "load_nmnist",
    "load_nmnist_small",
    "load_svhn",
    "load_tiny_imagenet",
    "make_events",
    "nmnist_small_index",
    "nmnist_small_split",
    "pool_images",
    "read_aedat2_dvs128",
    "read_aedat31_polarity",
    "read_aedat_header",
    "read_event_file",
    "read_nmnist_bin",
    "read_prophesee_dat",
    "stratified_split",
]
