"""Datasets for the ANCoEF trainer: readers for official on-disk layouts (never a
download), the embedded ``digits-dvs`` dataset, and encoding into T frames.

Entry points::

    from trainer.datasets import load_frames, open_stream
    fs = load_frames("digits-dvs", None, "train", timesteps=8)
    fs.frames  # float32 [N, T, C, H, W]; fs.labels int64 [N]
    st = open_stream("dvsgesture", root, "train", 16)   # framed per sample, cached on disk
    st.batch([0, 5, 7])  # float32 [3, T, C, H, W]; memory bounded by the batch

See ``docs/datasets.md`` for each dataset's expected layout.
"""

from __future__ import annotations

import warnings

from ._common import EventIndex, EventRef, EventSet, ImageSet
from .digits_dvs import CameraConfig, build_digits_dvs, index_digits_dvs, load_digits_dvs
from .errors import CorruptFileError, DatasetError, DatasetWarning
from .event_datasets import (
    CIFAR10DVS_DEFAULT_SPLIT,
    CIFAR10DVS_LAYOUT,
    CIFAR10DVS_SPLITS,
    DVSGESTURE_LAYOUT,
    NMNIST_LAYOUT,
    NMNIST_SMALL_LAYOUT,
    index_cifar10dvs,
    index_dvsgesture,
    index_nmnist,
    index_nmnist_small,
    load_cifar10dvs,
    load_dvsgesture,
    load_nmnist,
    load_nmnist_small,
    materialise,
    nmnist_small_index,
    nonempty,
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
    DEFAULT_FRAMING,
    ENCODINGS,
    EVENT_ENCODINGS,
    IMAGE_ENCODINGS,
    FrameSet,
    Framing,
    event_samples_to_frames,
    events_to_frames,
    frame_shape,
    images_to_frames,
    pool_images,
)
from .image_datasets import (
    CIFAR10_LAYOUT,
    CIFAR100_LAYOUT,
    SVHN_LAYOUT,
    TINY_LAYOUT,
    ImageSource,
    load_cifar10,
    load_cifar100,
    load_svhn,
    load_tiny_imagenet,
    read_source,
    source_cifar10,
    source_cifar100,
    source_svhn,
    source_tiny_imagenet,
)
from .splits import limit_indices, nmnist_small_split, stratified_split
from .stream import EventStream, ImageStream, event_stream, image_stream, streams_dir
from .transforms import Augment

#: name -> (kind, index (events) or source (images) function, layout text)
_REGISTRY = {
    "digits-dvs": ("events", index_digits_dvs,
                   ("  none: built from scikit-learn's bundled digits and cached under "
                    "$ANCOEF_CACHE or ~/.cache/ancoef")),
    "nmnist": ("events", index_nmnist, NMNIST_LAYOUT),
    "nmnist-small": ("events", index_nmnist_small, NMNIST_SMALL_LAYOUT),
    "dvsgesture": ("events", index_dvsgesture, DVSGESTURE_LAYOUT),
    "cifar10-dvs": ("events", index_cifar10dvs, CIFAR10DVS_LAYOUT),
    "cifar10": ("images", source_cifar10, CIFAR10_LAYOUT),
    "cifar100": ("images", source_cifar100, CIFAR100_LAYOUT),
    "svhn": ("images", source_svhn, SVHN_LAYOUT),
    "tiny-imagenet": ("images", source_tiny_imagenet, TINY_LAYOUT),
}

#: datasets whose train/test split is a choice (named protocols), with their default
SPLIT_PROTOCOLS = {"cifar10-dvs": (tuple(CIFAR10DVS_SPLITS), CIFAR10DVS_DEFAULT_SPLIT)}

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


def _protocol_kwargs(key: str, split_protocol, split_seed) -> dict:
    if split_protocol is None:
        return {}
    if key not in SPLIT_PROTOCOLS:
        raise DatasetError(f"{key} has a fixed train/test split; a split protocol applies to "
                           f"{', '.join(SPLIT_PROTOCOLS)}")
    return {"split_protocol": split_protocol, "split_seed": int(split_seed)}


def index_events(name: str, root=None, split: str = "train", *, limit=None,
                 split_protocol: str | None = None, split_seed: int = 0) -> EventIndex:
    """One split of an event dataset as an :class:`EventIndex` (nothing read yet)."""
    key = canonical_name(name)
    kind, index_fn, _ = _REGISTRY[key]
    if kind != "events":
        raise DatasetError(f"{key} is a static-image dataset; use load_images")
    return index_fn(root, split, limit=limit, **_protocol_kwargs(key, split_protocol, split_seed))


def image_source(name: str, root=None, split: str = "train", *, limit=None) -> ImageSource:
    key = canonical_name(name)
    kind, source_fn, _ = _REGISTRY[key]
    if kind != "images":
        raise DatasetError(f"{key} is an event dataset; use load_events")
    return source_fn(root, split, limit=limit) if key == "tiny-imagenet" else source_fn(root, split)


def load_events(name: str, root=None, split: str = "train", *, limit=None,
                split_protocol: str | None = None, split_seed: int = 0) -> EventSet:
    """One split of an event dataset as event arrays (before framing)."""
    index = index_events(name, root, split, limit=limit, split_protocol=split_protocol,
                         split_seed=split_seed)
    es = materialise(index)
    if index.name == "digits-dvs":
        return es
    return nonempty(es, index.where, index.expected)


def load_images(name: str, root=None, split: str = "train", *, limit=None) -> ImageSet:
    """One split of a static-image dataset as float32 ``[N, C, H, W]`` in [0, 1]."""
    return read_source(image_source(name, root, split, limit=limit), limit)


def _warn_skipped(name, skipped):
    if skipped:
        shown = "; ".join(f"{p} ({r})" for p, r in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warnings.warn(f"{name}: skipped {len(skipped)} unreadable file(s): {shown}{more}",
                      DatasetWarning, stacklevel=3)


def _encoding(key: str, encoding) -> str:
    kind = _REGISTRY[key][0]
    allowed = EVENT_ENCODINGS if kind == "events" else IMAGE_ENCODINGS
    enc = allowed[0] if encoding is None else str(encoding).lower()
    if enc not in allowed:
        raise ValueError(f"{key} holds {'event streams' if kind == 'events' else 'static images'}"
                         f": encoding must be one of {allowed}, got {encoding!r}")
    return enc


def default_encoding(name: str) -> str:
    """``binary`` for event data, ``direct`` for static images."""
    return _encoding(canonical_name(name), None)


def _check_common(timesteps, downsample, framing, kind, denoise):
    if int(timesteps) < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    if int(downsample) < 1:
        raise ValueError(f"downsample must be >= 1, got {downsample}")
    if kind == "images" and (framing is not None and framing != DEFAULT_FRAMING
                             or denoise is not None):
        raise ValueError("framing and denoising apply to event data, not to static images")
    if denoise is not None and not denoise > 0:
        raise ValueError(f"denoise filter_time must be > 0 us, got {denoise}")
    (framing or DEFAULT_FRAMING).check_timesteps(int(timesteps))


def load_frames(name: str, root=None, split: str = "train", timesteps: int = 8, *,
                encoding: str | None = None, limit: int | None = None, seed: int = 0,
                downsample: int = 1, framing: Framing | None = None,
                denoise: float | None = None, split_protocol: str | None = None,
                split_seed: int = 0) -> FrameSet:
    """Load one split of a dataset as T frames, all in memory (see :func:`open_stream` for
    splits that do not fit).

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
        seed: seed of the rate coding (sample ``i`` draws from ``default_rng([seed, i])``).
        downsample: integer spatial pooling factor (events: ``x // d``; images: mean pool).
        framing: Tonic's ToFrame options (:class:`Framing`); default: T equal bins over each
            sample's window.
        denoise: Tonic's ``Denoise(filter_time)`` in us, applied before framing.
        split_protocol, split_seed: the named train/test protocol where a dataset has no
            official split (``SPLIT_PROTOCOLS``: CIFAR10-DVS).

    Returns a :class:`FrameSet`; unreadable files are listed in ``FrameSet.skipped`` and
    reported in a :class:`DatasetWarning`. Raises :class:`DatasetError` for an unknown
    name, a missing or incomplete folder, or a split with no readable sample.
    """
    key = canonical_name(name)
    kind = _REGISTRY[key][0]
    _check_common(timesteps, downsample, framing, kind, denoise)
    enc = _encoding(key, encoding)
    T, d = int(timesteps), int(downsample)
    if kind == "events":
        es = load_events(key, root, split, limit=limit, split_protocol=split_protocol,
                         split_seed=split_seed)
        samples = es.events if denoise is None else [_denoise(e, denoise) for e in es.events]
        frames = event_samples_to_frames(samples, es.sensor_size, T, windows=es.windows,
                                         encoding=enc, downsample=d, framing=framing)
        src, protocol = es, es.split_protocol
    else:
        _protocol_kwargs(key, split_protocol, split_seed)
        im = load_images(key, root, split, limit=limit)
        imgs = pool_images(im.images, d)
        frames = images_to_frames(imgs, T, encoding=enc, seed=seed)
        src, protocol = im, im.split_protocol
    _warn_skipped(key, src.skipped)
    c, h, w = frames.shape[2:]
    return FrameSet(frames=frames, labels=src.labels.astype("int64"), n_classes=src.n_classes,
                    name=key, sensor_size=(w, h, c), split=src.split, encoding=enc,
                    skipped=list(src.skipped), class_names=src.class_names,
                    split_protocol=protocol)


def _denoise(events, filter_time):
    from .transforms import denoise

    return denoise(events, filter_time)


def open_stream(name: str, root=None, split: str = "train", timesteps: int = 8, *,
                encoding: str | None = None, limit: int | None = None, seed: int = 0,
                downsample: int = 1, framing: Framing | None = None,
                denoise: float | None = None, augment: Augment | None = None,
                split_protocol: str | None = None, split_seed: int = 0, cache=None):
    """One split as a stream (:class:`EventStream` / :class:`ImageStream`): framed per sample
    on demand from an on-disk cache, memory bounded by the batch. Same arguments as
    :func:`load_frames`, plus ``augment`` (event data: random crop, flips, EventDrop, applied
    by ``batch(idx, train=True, epoch=e, seed=s)``) and ``cache`` (default
    ``$ANCOEF_CACHE/streams``). ``stream.batch(idx)`` equals ``load_frames(...).frames[idx]``.
    """
    key = canonical_name(name)
    kind = _REGISTRY[key][0]
    _check_common(timesteps, downsample, framing, kind, denoise)
    enc = _encoding(key, encoding)
    if kind == "events":
        index = index_events(key, root, split, limit=limit, split_protocol=split_protocol,
                             split_seed=split_seed)
        st = event_stream(index, int(timesteps), encoding=enc, framing=framing,
                          downsample=int(downsample), denoise=denoise, augment=augment,
                          cache=cache)
    else:
        if augment is not None:
            raise ValueError("augmentation (crop, flips, EventDrop) applies to event data")
        _protocol_kwargs(key, split_protocol, split_seed)
        src = image_source(key, root, split, limit=limit)
        st = image_stream(src, int(timesteps), encoding=enc, limit=limit, seed=seed,
                          downsample=int(downsample), cache=cache)
    if not len(st):
        where = getattr(st, "cache_folder", "")
        detail = "; ".join(f"{p}: {r}" for p, r in st.skipped[:5])
        raise DatasetError(f"{key}: no readable samples for split {split!r} (cache {where}); "
                           f"skipped: {detail or 'none found'}")
    _warn_skipped(key, st.skipped)
    return st


__all__ = [
    "DATASET_NAMES",
    "ENCODINGS",
    "EVENT_DTYPE",
    "SPLIT_PROTOCOLS",
    "Augment",
    "CameraConfig",
    "CorruptFileError",
    "DatasetError",
    "DatasetWarning",
    "EventIndex",
    "EventSet",
    "EventStream",
    "FrameSet",
    "Framing",
    "ImageSet",
    "ImageStream",
    "default_encoding",
    "index_events",
    "open_stream",
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
