"""Shared pieces of the dataset loaders: raw sample containers and root lookup."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

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
    sensor_size: tuple[int, int, int]  # Tonic's (W, H, P)
    split: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    class_names: list[str] | None = None
    split_protocol: str = ""


@dataclass(frozen=True)
class EventRef:
    """Where one sample's events are: a file, or the segment ``[start_us, end_us)`` of one
    (shifted to start at 0, window ``(0, end_us - start_us)``)."""

    path: str
    start_us: Optional[int] = None
    end_us: Optional[int] = None

    @property
    def window(self) -> Optional[tuple[int, int]]:
        if self.start_us is None:
            return None
        return (0, int(self.end_us) - int(self.start_us))

    def cut(self, events: np.ndarray) -> np.ndarray:
        if self.start_us is None:
            return events
        t = events["t"]
        seg = events[(t >= self.start_us) & (t < self.end_us)].copy()
        seg["t"] -= self.start_us
        return seg


@dataclass
class EventIndex:
    """One split of an event dataset before reading: which sample is where, and its label.

    ``read_file(path)`` reads one file (raising ``CorruptFileError``); :meth:`samples` reads
    the samples in order, one file at a time, so memory holds one file's events, never the
    split's."""

    refs: list[EventRef]
    labels: np.ndarray
    n_classes: int
    name: str
    sensor_size: tuple[int, int, int]  # Tonic's (W, H, P)
    split: str
    read_file: Callable[[str], np.ndarray]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    class_names: list[str] | None = None
    split_protocol: str = ""
    windows: Optional[list] = None  # per sample, overrides EventRef.window (digits-dvs)
    where: str = ""  # the folder the files are in, for messages
    expected: str = "readable event files"  # what a readable split holds, for messages

    def __len__(self) -> int:
        return len(self.refs)

    def window(self, i: int):
        return self.windows[i] if self.windows is not None else self.refs[i].window

    def samples(self) -> Iterator[tuple[int, np.ndarray]]:
        """(position, events) of every readable sample, in order; unreadable files are
        appended to ``skipped`` (each once) and their samples are left out."""
        from .errors import CorruptFileError

        cur_path, cur_events, bad = None, None, set()
        for i, ref in enumerate(self.refs):
            if ref.path != cur_path:
                cur_path, cur_events = ref.path, None
                if ref.path in bad:
                    continue
                if not Path(ref.path).is_file() and not ref.path.startswith("#"):
                    self.skipped.append((ref.path, "missing file"))
                    bad.add(ref.path)
                    continue
                try:
                    cur_events = self.read_file(ref.path)
                except CorruptFileError as exc:
                    self.skipped.append((exc.path, exc.reason))
                    bad.add(ref.path)
                    continue
            if cur_events is None:
                continue
            yield i, ref.cut(cur_events)

    def fingerprint(self) -> list:
        """What identifies the samples' content: path, size and mtime of every file, plus
        the segment bounds (for cache keys)."""
        out, seen = [], {}
        for ref in self.refs:
            if ref.path not in seen:
                try:
                    st = os.stat(ref.path)
                    seen[ref.path] = [st.st_size, st.st_mtime_ns]
                except OSError:
                    seen[ref.path] = None
            out.append([ref.path, ref.start_us, ref.end_us, seen[ref.path]])
        return out


@dataclass
class ImageSet:
    """One split of a static-image dataset: images float32 [N, C, H, W] in [0, 1]."""

    images: np.ndarray
    labels: np.ndarray
    n_classes: int
    name: str
    sensor_size: tuple[int, int, int]  # Tonic's order: (W, H, C)
    split: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    class_names: list[str] | None = None
    split_protocol: str = "official"


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
