"""Shared pieces of the dataset loaders: raw sample containers and root lookup."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DatasetError

DATA_ENV = "ANCOEF_DATA"


@dataclass
class EventSet:
    """One split of an event dataset before framing."""

    events: list[np.ndarray]
    windows: list[tuple[int, int] | None]
    labels: np.ndarray
    n_classes: int
    name: str
    sensor_size: tuple[int, int, int]  # (H, W, C)
    split: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    class_names: list[str] | None = None


@dataclass
class ImageSet:
    """One split of a static-image dataset: images float32 [N, C, H, W] in [0, 1]."""

    images: np.ndarray
    labels: np.ndarray
    n_classes: int
    name: str
    sensor_size: tuple[int, int, int]  # (H, W, C)
    split: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    class_names: list[str] | None = None


def resolve_root(root, name: str, layout: str, looks_right: Callable[[Path], bool],
                 subdirs: tuple[str, ...] = ()) -> Path:
    """Find the dataset folder: ``root`` itself or ``root/<one of subdirs>``.

    ``root=None`` falls back to ``$ANCOEF_DATA``. Raises :class:`DatasetError` naming the
    paths tried and the expected layout when no candidate ``looks_right``.
    """
    if root is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise DatasetError(
                f"{name}: no data root given (root=None and ${DATA_ENV} unset); nothing is "
                f"downloaded. Pass the folder that holds the dataset. Expected layout:\n{layout}")
        root = env
    root = Path(root).expanduser()
    tried = [root] + [root / s for s in subdirs]
    for cand in tried:
        if cand.is_dir() and looks_right(cand):
            return cand
    what = "does not exist" if not root.exists() else (
        "is not a folder" if not root.is_dir() else "does not hold the expected files")
    raise DatasetError(
        f"{name}: dataset folder not found: {root} {what} (tried: "
        + ", ".join(str(p) for p in tried)
        + f"). Nothing is downloaded; expected layout:\n{layout}")


def natural_key(path: Path):
    """Sort key that orders ``x_2`` before ``x_10``."""
    parts = re.split(r"(\d+)", path.name)
    return [int(s) if s.isdigit() else s for s in parts]


def canonical_split(name: str, split: str, allowed: dict[str, str]) -> str:
    s = str(split).strip().lower()
    if s not in allowed:
        raise DatasetError(
            f"{name}: unknown split {split!r}; choose one of {sorted(set(allowed))}")
    return allowed[s]
