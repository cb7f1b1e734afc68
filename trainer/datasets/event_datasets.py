"""Loaders for event-camera datasets in their official on-disk layouts (no download)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ._common import EventIndex, EventRef, EventSet, canonical_split, natural_key, resolve_root
from .errors import CorruptFileError, DatasetError
from .events import (
    NMNIST_SENSOR,
    make_events,
    read_aedat2_dvs128,
    read_aedat31_polarity,
    read_aedat_header,
    read_nmnist_bin,
)
from .splits import limit_indices, nmnist_small_split

# ----------------------------------------------------------------------------- N-MNIST

NMNIST_SENSOR_WHP = (NMNIST_SENSOR[1], NMNIST_SENSOR[0], 2)  # Tonic's (W, H, P)

NMNIST_LAYOUT = """\
  <root>/Train/<digit>/<id>.bin   (digit folders 0..9, 60,000 files)
  <root>/Test/<digit>/<id>.bin    (10,000 files)
  (<root> may also be the parent of a folder named N-MNIST, NMNIST or nmnist)
  each .bin: 40-bit big-endian events (x, y, polarity bit + 23-bit timestamp in us)"""


def materialise(index: EventIndex) -> EventSet:
    """Read every sample of an index into memory (use trainer.datasets.stream for big sets)."""
    events, keep = [], []
    for i, ev in index.samples():
        events.append(ev)
        keep.append(i)
    return EventSet(events, [index.window(i) for i in keep],
                    np.asarray(index.labels, np.int64)[keep], index.n_classes, index.name,
                    index.sensor_size, index.split, index.skipped, index.class_names,
                    index.split_protocol)


def nonempty(es, where, expected):
    """Raise DatasetError when nothing of a split could be read (first skipped files named)."""
    if not len(es.labels):
        detail = "; ".join(f"{p}: {r}" for p, r in es.skipped[:5])
        raise DatasetError(f"{es.name}: no readable samples for split {es.split!r} in {where} "
                           f"(expected {expected}); skipped: {detail or 'none found'}")
    return es


def _file_index(name, paths, labels, limit, reader, sensor, split, n_classes, class_names,
                protocol, skipped=None) -> EventIndex:
    idx = limit_indices(labels, limit)
    return EventIndex([EventRef(str(paths[i])) for i in idx],
                      np.asarray(labels, np.int64)[idx] if len(idx) else np.zeros(0, np.int64),
                      n_classes, name, sensor, split, reader, list(skipped or []), class_names,
                      protocol)


def index_nmnist(root, split: str = "train", *, limit=None) -> EventIndex:
    name = "nmnist"
    base = resolve_root(root, name, NMNIST_LAYOUT,
                        lambda p: (p / "Train").is_dir() or (p / "Test").is_dir(),
                        ("N-MNIST", "NMNIST", "nmnist"))
    sp = canonical_split(name, split, {"train": "Train", "test": "Test"})
    folder = base / sp
    if not folder.is_dir():
        raise DatasetError(f"{name}: incomplete dataset folder: {folder} is missing. "
                           f"Expected layout:\n{NMNIST_LAYOUT}")
    missing = [str(d) for d in range(10) if not (folder / str(d)).is_dir()]
    if missing:
        raise DatasetError(f"{name}: incomplete dataset folder {folder}: digit folder(s) "
                           f"{', '.join(missing)} missing. Expected layout:\n{NMNIST_LAYOUT}")
    paths, labels = [], []
    for d in range(10):
        files = sorted((folder / str(d)).glob("*.bin"), key=natural_key)
        paths += files
        labels += [d] * len(files)
    if not paths:
        raise DatasetError(f"{name}: no .bin files under {folder}/<digit>/. "
                           f"Expected layout:\n{NMNIST_LAYOUT}")
    index = _file_index(name, paths, labels, limit, read_nmnist_bin, NMNIST_SENSOR_WHP,
                        sp.lower(), 10, [str(d) for d in range(10)], "official Train/Test")
    index.where, index.expected = str(folder), "*.bin files"
    return index


def load_nmnist(root, split: str = "train", *, limit=None) -> EventSet:
    index = index_nmnist(root, split, limit=limit)
    return nonempty(materialise(index), index.where, index.expected)


# ----------------------------------------------------------------------------- nmnist-small

NMNIST_SMALL_LAYOUT = """\
  <root>/<id>.bs2        (N-MNIST 40-bit events, ids 1..1000)
  <root>/labels.csv      (header sample_id,label,split,file)  or
  <root>/train1K.txt     (tab-separated '#sample #class' list, header line starts with '#')
  (<root> may also be the parent of a folder named nmnist-small)"""


def _read_nmnist_small_labels(base: Path) -> tuple[list[int], list[int], list[str]]:
    csv_path, txt_path = base / "labels.csv", base / "train1K.txt"
    ids, labels, files = [], [], []
    if csv_path.is_file():
        with open(csv_path, newline="") as fh:
            reader = csv.DictReader(fh)
            need = {"sample_id", "label"}
            if not reader.fieldnames or not need <= set(reader.fieldnames):
                raise DatasetError(f"nmnist-small: {csv_path} has columns "
                                   f"{reader.fieldnames}, expected sample_id,label,split,file")
            for row in reader:
                try:
                    sid, lab = int(row["sample_id"]), int(row["label"])
                except (TypeError, ValueError):
                    raise DatasetError(f"nmnist-small: bad row in {csv_path} at line "
                                       f"{reader.line_num}: {row}") from None
                ids.append(sid)
                labels.append(lab)
                files.append(row.get("file") or f"{sid}.bs2")
    elif txt_path.is_file():
        for n, line in enumerate(txt_path.read_text().splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            parts = s.split()
            try:
                sid, lab = int(parts[0]), int(parts[1])
            except (IndexError, ValueError):
                raise DatasetError(f"nmnist-small: bad line {n} in {txt_path}: {line!r}") \
                    from None
            ids.append(sid)
            labels.append(lab)
            files.append(f"{sid}.bs2")
    else:
        raise DatasetError(f"nmnist-small: incomplete dataset folder {base}: neither "
                           f"labels.csv nor train1K.txt found. Expected layout:\n"
                           f"{NMNIST_SMALL_LAYOUT}")
    if not ids:
        raise DatasetError(f"nmnist-small: the label list in {base} is empty")
    bad = [lab for lab in labels if not 0 <= lab <= 9]
    if bad:
        raise DatasetError(f"nmnist-small: labels outside 0..9 in {base}: {bad[:5]}")
    order = np.argsort(ids, kind="stable")
    return ([ids[i] for i in order], [labels[i] for i in order], [files[i] for i in order])


def nmnist_small_index(root) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """(sample ids, labels, file paths) of nmnist-small in increasing id order."""
    base = resolve_root(root, "nmnist-small", NMNIST_SMALL_LAYOUT,
                        lambda p: (p / "labels.csv").is_file() or (p / "train1K.txt").is_file()
                        or any(p.glob("*.bs2")), ("nmnist-small",))
    ids, labels, files = _read_nmnist_small_labels(base)
    return np.asarray(ids), np.asarray(labels, np.int64), [base / f for f in files]


def index_nmnist_small(root, split: str = "train", *, limit=None) -> EventIndex:
    """nmnist-small: ``train`` (800), ``val`` (200, alias ``validation`` and ``test``:
    the folder has no test recordings) or ``all`` (1,000); see
    :func:`~trainer.datasets.splits.nmnist_small_split`."""
    name = "nmnist-small"
    sp = canonical_split(name, split, {"train": "train", "val": "val", "validation": "val",
                                       "test": "val", "all": "all"})
    ids, labels, paths = nmnist_small_index(root)
    tr, va = nmnist_small_split(labels)
    sel = {"train": tr, "val": va, "all": np.arange(ids.size)}[sp]
    index = _file_index(name, [paths[i] for i in sel], labels[sel], limit, read_nmnist_bin,
                        NMNIST_SENSOR_WHP, sp, 10, [str(d) for d in range(10)],
                        "fixed stratified 800/200 (nmnist_small_split, seed 0)")
    index.where, index.expected = str(paths[0].parent), "*.bs2 files"
    return index


def load_nmnist_small(root, split: str = "train", *, limit=None) -> EventSet:
    """nmnist-small as an :class:`EventSet` (see :func:`index_nmnist_small`)."""
    index = index_nmnist_small(root, split, limit=limit)
    return nonempty(materialise(index), index.where, index.expected)


# ----------------------------------------------------------------------------- DVS Gesture

DVSGESTURE_LAYOUT = """\
  <root>/trials_to_train.txt, <root>/trials_to_test.txt   (one userXX_<lighting>.aedat a line)
  <root>/userXX_<lighting>.aedat          (AEDAT 3.1, DVS128 polarity events)
  <root>/userXX_<lighting>_labels.csv     (class,startTime_usec,endTime_usec; class 1..11)
  (<root> may also be the parent of a folder named DvsGesture)"""

DVSGESTURE_CLASSES = [
    "hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
    "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
    "arm_roll", "air_drums", "air_guitar", "other_gestures"]


def read_dvsgesture_labels(path) -> list[tuple[int, int, int]]:
    """``userXX_<lighting>_labels.csv`` -> [(label 0..10, start_us, end_us)]."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(path, f"cannot read label file ({exc})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        parts = [q.strip() for q in s.split(",")]
        if n == 1 and not parts[0].lstrip("-").isdigit():
            continue  # header class,startTime_usec,endTime_usec
        try:
            cls, start, end = (int(q) for q in parts[:3])
        except ValueError:
            raise CorruptFileError(path, f"corrupt label file: line {n} {line!r} is not "
                                         "class,startTime_usec,endTime_usec") from None
        if not 1 <= cls <= 11 or end <= start:
            raise CorruptFileError(path, f"corrupt label file: line {n} {line!r} (class "
                                         "must be 1..11 and endTime > startTime)")
        rows.append((cls - 1, start, end))
    if not rows:
        raise CorruptFileError(path, "label file has no segments")
    return rows


def index_dvsgesture(root, split: str = "train", *, limit=None) -> EventIndex:
    """DVS128 Gesture: every labelled segment of every listed trial is one sample;
    its events are shifted to start at 0 and its window is ``(0, end - start)``."""
    name = "dvsgesture"
    base = resolve_root(root, name, DVSGESTURE_LAYOUT,
                        lambda p: (p / "trials_to_train.txt").is_file()
                        or (p / "trials_to_test.txt").is_file(),
                        ("DvsGesture", "DVSGesture", "dvsgesture"))
    sp = canonical_split(name, split, {"train": "train", "test": "test"})
    listing = base / f"trials_to_{sp}.txt"
    if not listing.is_file():
        raise DatasetError(f"{name}: incomplete dataset folder {base}: {listing.name} is "
                           f"missing. Expected layout:\n{DVSGESTURE_LAYOUT}")
    trials = [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
    if not trials:
        raise DatasetError(f"{name}: {listing} lists no trials")
    skipped: list[tuple[str, str]] = []
    refs, labels = [], []
    for tr in trials:
        aedat = base / tr
        lab_path = base / (Path(tr).stem + "_labels.csv")
        if not aedat.is_file():
            skipped.append((str(aedat), "missing file"))
            continue
        if not lab_path.is_file():
            skipped.append((str(lab_path), "missing file"))
            continue
        try:
            rows = read_dvsgesture_labels(lab_path)
        except CorruptFileError as exc:
            skipped.append((exc.path, exc.reason))
            continue
        refs += [EventRef(str(aedat), s, e) for _, s, e in rows]
        labels += [lab for lab, _, _ in rows]
    idx = limit_indices(labels, limit) if refs else np.zeros(0, np.int64)
    return EventIndex([refs[i] for i in idx], np.asarray(labels, np.int64)[idx], 11, name,
                      (128, 128, 2), sp, read_aedat31_polarity, skipped,
                      list(DVSGESTURE_CLASSES), "official trials_to_train/test.txt",
                      where=str(base), expected=f"trials listed in {listing.name}")


def load_dvsgesture(root, split: str = "train", *, limit=None) -> EventSet:
    """DVS128 Gesture as an :class:`EventSet` (see :func:`index_dvsgesture`); trials are
    read one at a time."""
    index = index_dvsgesture(root, split, limit=limit)
    return nonempty(materialise(index), index.where, index.expected)


# ----------------------------------------------------------------------------- CIFAR10-DVS

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]

CIFAR10DVS_LAYOUT = """\
  <root>/<class>/*.aedat   for the 10 classes airplane automobile bird cat deer dog frog
                           horse ship truck (as published: cifar10_<class>_<n>.aedat,
                           1,000 a class; AEDAT 2.0 with DVS128 addresses, or AEDAT 3.1)
  (<root> may also be the parent of a folder named CIFAR10-DVS, CIFAR10DVS or cifar10-dvs)
  splits: see CIFAR10DVS_SPLITS (the folder has no official split)"""

#: Named train/test protocols for CIFAR10-DVS (the dataset defines none). Per class:
CIFAR10DVS_SPLITS = {
    # TEBN (Duan et al., NeurIPS 2022; SpikingJelly's CIFAR10DVSTEBNSplit): samples 0-99 of
    # each class are the test set, 100-999 train: here the first 10 % in natural name order
    "tebn": "per class, the first 10 % of the files in natural name order (cifar10_<c>_0 .. _99 "
            "of the published 1,000) are test, the rest train (TEBN, NeurIPS 2022; "
            "SpikingJelly CIFAR10DVSTEBNSplit)",
    # SpikingJelly split_to_train_test_set(0.9, CIFAR10DVS(...), 10): files in the
    # lexicographic order of torchvision's DatasetFolder, the first ceil(0.9 n) train
    "spikingjelly": "per class, files in lexicographic name order (as SpikingJelly's "
                    "DatasetFolder lists them), the first ceil(0.9 n) train, the rest test "
                    "(split_to_train_test_set(0.9, random_split=False))",
    "natural": "per class, files in natural name order (_2 before _10), the first floor(0.9 n) "
               "train, the rest test",
    "random": "per class, a seeded random 90/10 split (numpy default_rng(split_seed) "
              "permutation of the files in natural order, ceil(0.9 n) train)",
}
CIFAR10DVS_DEFAULT_SPLIT = "tebn"
CIFAR10DVS_TRAIN_FRACTION = 0.9


def cifar10dvs_split(files: list, protocol: str, split_seed: int = 0):
    """(train, test) file lists of one class under a named protocol (CIFAR10DVS_SPLITS)."""
    nat = sorted(files, key=natural_key)
    n = len(nat)
    if protocol == "tebn":
        k = int(math.ceil(0.1 * n))
        return nat[k:], nat[:k]
    if protocol == "spikingjelly":
        lex = sorted(files, key=lambda p: Path(p).name)
        k = int(math.ceil(CIFAR10DVS_TRAIN_FRACTION * n))
        return lex[:k], lex[k:]
    if protocol == "natural":
        k = int(n * CIFAR10DVS_TRAIN_FRACTION)
        return nat[:k], nat[k:]
    if protocol == "random":
        perm = np.random.default_rng(split_seed).permutation(n)
        k = int(math.ceil(CIFAR10DVS_TRAIN_FRACTION * n))
        return ([nat[i] for i in sorted(perm[:k])], [nat[i] for i in sorted(perm[k:])])
    raise DatasetError(f"cifar10-dvs: unknown split protocol {protocol!r}; choose one of "
                       f"{', '.join(CIFAR10DVS_SPLITS)}")


def read_cifar10dvs_file(path) -> np.ndarray:
    """One CIFAR10-DVS recording (AEDAT 2.0 DVS128 or AEDAT 3.1) as upright 128x128 events."""
    hdr = read_aedat_header(path)
    if hdr.version == "2.0":
        return read_aedat2_dvs128(path)
    if hdr.version == "3.1":
        ev = read_aedat31_polarity(path)
        if ev.size and (ev["x"].max() > 127 or ev["y"].max() > 127):
            raise CorruptFileError(path, "AEDAT 3.1 events outside the 128x128 sensor")
        return ev
    raise CorruptFileError(path, f"unsupported AEDAT version {hdr.version} (CIFAR10-DVS reader "
                                 "supports AEDAT 2.0 DVS128 and AEDAT 3.1)")


def index_cifar10dvs(root, split: str = "train", *, limit=None, split_protocol=None,
                     split_seed: int = 0) -> EventIndex:
    name = "cifar10-dvs"
    protocol = CIFAR10DVS_DEFAULT_SPLIT if split_protocol is None else str(split_protocol)
    if protocol not in CIFAR10DVS_SPLITS:
        raise DatasetError(f"{name}: unknown split protocol {protocol!r}; choose one of "
                           f"{', '.join(CIFAR10DVS_SPLITS)}")
    base = resolve_root(root, name, CIFAR10DVS_LAYOUT,
                        lambda p: any((p / c).is_dir() for c in CIFAR10_CLASSES),
                        ("CIFAR10-DVS", "CIFAR10DVS", "cifar10-dvs", "cifar10dvs"))
    sp = canonical_split(name, split, {"train": "train", "test": "test", "all": "all"})
    missing = [c for c in CIFAR10_CLASSES if not (base / c).is_dir()]
    if missing:
        raise DatasetError(f"{name}: incomplete dataset folder {base}: class folder(s) "
                           f"{', '.join(missing)} missing. Expected layout:\n{CIFAR10DVS_LAYOUT}")
    paths, labels = [], []
    for lab, c in enumerate(CIFAR10_CLASSES):
        files = list((base / c).glob("*.aedat"))
        if not files:
            raise DatasetError(f"{name}: incomplete dataset folder: no .aedat files in "
                               f"{base / c}. Expected layout:\n{CIFAR10DVS_LAYOUT}")
        train, test = cifar10dvs_split(files, protocol, split_seed)
        part = {"train": train, "test": test, "all": sorted(files, key=natural_key)}[sp]
        paths += part
        labels += [lab] * len(part)
    label = protocol if protocol != "random" else f"random (split_seed {split_seed})"
    index = _file_index(name, paths, labels, limit, read_cifar10dvs_file, (128, 128, 2), sp, 10,
                        list(CIFAR10_CLASSES), label)
    index.where, index.expected = str(base), "*.aedat files"
    return index


def load_cifar10dvs(root, split: str = "train", *, limit=None, split_protocol=None,
                    split_seed: int = 0) -> EventSet:
    index = index_cifar10dvs(root, split, limit=limit, split_protocol=split_protocol,
                             split_seed=split_seed)
    return nonempty(materialise(index), index.where, index.expected)


__all__ = [
    "CIFAR10DVS_SPLITS",
    "index_cifar10dvs",
    "index_dvsgesture",
    "index_nmnist",
    "index_nmnist_small",
    "load_cifar10dvs",
    "load_dvsgesture",
    "load_nmnist",
    "load_nmnist_small",
    "make_events",
    "nmnist_small_index",
    "read_cifar10dvs_file",
    "read_dvsgesture_labels",
]
