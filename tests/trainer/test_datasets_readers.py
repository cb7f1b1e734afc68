"""Readers of the official on-disk layouts, on tiny files written here byte by byte.

The writers below are independent of the package (struct / numpy by hand, following the
published format descriptions), so a reader bug is not mirrored by a writer bug.
"""

from __future__ import annotations

import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from trainer.datasets import (
    DATASET_NAMES,
    EVENT_DTYPE,
    DatasetError,
    DatasetWarning,
    load_events,
    load_frames,
    load_images,
    read_aedat2_dvs128,
    read_aedat31_polarity,
    read_aedat_header,
    read_event_file,
    read_nmnist_bin,
    read_prophesee_dat,
)
from trainer.datasets.errors import CorruptFileError

# ----------------------------------------------------------------------------- writers


def nmnist_bytes(events) -> bytes:
    """events: iterable of (x, y, p, t)."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def aedat2_bytes(raw_events, header=None) -> bytes:
    """raw_events: (x_raw, y_raw, polarity_bit, t) in jAER DVS128 address format."""
    lines = header or ["#!AER-DAT2.0", "# This is a raw AE data file - do not edit",
                       ("# Data format is int32 address, int32 timestamp (8 bytes total), "
                        "repeated for each event"), "# Timestamps tick is 1 us"]
    out = bytearray("".join(ln + "\r\n" for ln in lines).encode())
    for xr, yr, pb, t in raw_events:
        out += struct.pack(">II", (yr << 8) | (xr << 1) | pb, t)
    return bytes(out)


AEDAT31_HEAD = (b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n"
                b"#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n")


def aedat31_packet(events, ts_overflow=0, etype=1, valid=True) -> bytes:
    """events: (x, y, p, t31) polarity events; t31 = low 31 bits of the timestamp."""
    body = b"".join(struct.pack("<Ii", (x << 17) | (y << 2) | (p << 1) | int(valid), t)
                    for x, y, p, t in events)
    n = len(events)
    return struct.pack("<hhiiiiii", etype, 1, 8, 4, ts_overflow, n, n, n) + body


def aedat31_bytes(events, special_first=True) -> bytes:
    out = AEDAT31_HEAD
    if special_first:  # a type-0 (special event) packet the reader must skip
        out += struct.pack("<hhiiiiii", 0, 1, 8, 4, 0, 1, 1, 1) + struct.pack("<Ii", 5, 0)
    return out + aedat31_packet(events)


# ----------------------------------------------------------------------------- formats


def test_nmnist_bin_exact(tmp_path):
    evs = [(0, 0, 1, 0), (33, 5, 0, 1000), (7, 33, 1, (1 << 23) - 1)]
    p = tmp_path / "a.bin"
    p.write_bytes(nmnist_bytes(evs))
    ev = read_nmnist_bin(p)
    assert ev.dtype == EVENT_DTYPE and ev.dtype.names == ("x", "y", "t", "p")
    assert ev["t"].dtype == np.int64
    assert ev["x"].tolist() == [0, 33, 7]
    assert ev["y"].tolist() == [0, 5, 33]
    assert ev["p"].tolist() == [True, False, True]
    assert ev["t"].tolist() == [0, 1000, (1 << 23) - 1]


@pytest.mark.parametrize("content,msg", [
    (b"\x01\x02\x03\x04\x05\x06\x07", "truncated N-MNIST file: 7 bytes"),
    (b"", "empty N-MNIST file"),
    (bytes([40, 1, 0, 0, 1]), "outside the 34x34 sensor"),
])
def test_nmnist_bin_bad(tmp_path, content, msg):
    p = tmp_path / "bad.bin"
    p.write_bytes(content)
    with pytest.raises(CorruptFileError, match=msg) as ei:
        read_nmnist_bin(p)
    assert str(p) in str(ei.value)


def test_aedat2_dvs128_exact(tmp_path):
    raw = [(0, 0, 0, 10), (127, 3, 1, 20), (5, 127, 0, 30)]
    p = tmp_path / "c.aedat"
    # a special event (bit 15) is dropped
    data = aedat2_bytes(raw) + struct.pack(">II", 0x8000, 40)
    p.write_bytes(data)
    ev = read_aedat2_dvs128(p, orientation="raw")
    assert ev["x"].tolist() == [0, 127, 5]
    assert ev["y"].tolist() == [0, 3, 127]
    assert ev["p"].tolist() == [True, False, True]  # raw bit 1 = OFF (jAER)
    assert ev["t"].tolist() == [10, 20, 30]
    up = read_aedat2_dvs128(p)
    assert up["x"].tolist() == [127, 124, 0]  # 127 - y_raw
    assert up["y"].tolist() == [127, 0, 122]  # 127 - x_raw
    hdr = read_aedat_header(p)
    assert hdr.version == "2.0" and hdr.data_offset == len(aedat2_bytes([]))


def test_aedat2_truncated(tmp_path):
    p = tmp_path / "t.aedat"
    p.write_bytes(aedat2_bytes([(1, 1, 0, 1)])[:-3])
    with pytest.raises(CorruptFileError, match="truncated AEDAT 2.0 file: 5 payload bytes"):
        read_aedat2_dvs128(p)


def test_aedat31_exact(tmp_path):
    evs = [(0, 0, 1, 5), (127, 64, 0, 6), (3, 4, 1, 7)]
    p = tmp_path / "g.aedat"
    p.write_bytes(aedat31_bytes(evs) + aedat31_packet([(9, 9, 1, 3)], ts_overflow=2)
                  + aedat31_packet([(8, 8, 1, 4)], valid=False))
    ev = read_aedat31_polarity(p)
    assert ev["x"].tolist() == [0, 127, 3, 9]
    assert ev["y"].tolist() == [0, 64, 4, 9]
    assert ev["p"].tolist() == [True, False, True, True]
    assert ev["t"].tolist() == [5, 6, 7, (2 << 31) | 3]
    assert read_aedat31_polarity(p, keep_invalid=True).size == 5
    assert read_event_file(p).size == 4


@pytest.mark.parametrize("cut,msg", [(10, "partial packet header"), (4, "packet at byte")])
def test_aedat31_truncated(tmp_path, cut, msg):
    p = tmp_path / "g.aedat"
    full = aedat31_bytes([(1, 2, 1, 3), (4, 5, 0, 6)], special_first=False)
    p.write_bytes(full[:len(AEDAT31_HEAD) + cut] if cut == 10 else full[:-cut])
    with pytest.raises(CorruptFileError, match=msg):
        read_aedat31_polarity(p)


def test_aedat31_missing_end_header(tmp_path):
    p = tmp_path / "g.aedat"
    p.write_bytes(b"#!AER-DAT3.1\r\n#Format: RAW\r\n")
    with pytest.raises(CorruptFileError, match="no #!END-HEADER"):
        read_aedat31_polarity(p)


def test_prophesee_dat_exact(tmp_path):
    p = tmp_path / "n.dat"
    head = b"% Data file containing CD events.\n% Version 2\n% Height 240\n% Width 304\n"
    evs = [(100, 5, 6, 1), (250, 303, 239, 0)]
    body = b"".join(struct.pack("<II", t, x | (y << 14) | (pol << 28)) for t, x, y, pol in evs)
    p.write_bytes(head + bytes([0, 8]) + body)
    ev = read_prophesee_dat(p)
    assert ev["t"].tolist() == [100, 250] and ev["x"].tolist() == [5, 303]
    assert ev["y"].tolist() == [6, 239] and ev["p"].tolist() == [True, False]
    p.write_bytes(head + bytes([0, 8]) + body[:-1])
    with pytest.raises(CorruptFileError, match="truncated Prophesee DAT"):
        read_prophesee_dat(p)


def test_unsupported_aedat_versions(tmp_path):
    p = tmp_path / "x.aedat"
    p.write_bytes(b"#!AER-DAT4.0\r\n\x00\x01\x02")
    with pytest.raises(CorruptFileError, match="unsupported AEDAT version 4.0"):
        read_event_file(p)
    p.write_bytes(b"# old jAER file\r\n" + b"\x00" * 6)
    assert read_aedat_header(p).version == "1.0"
    with pytest.raises(CorruptFileError, match="unsupported AEDAT version 1.0"):
        read_event_file(p)
    p.write_bytes(b"\x00\x01")
    with pytest.raises(CorruptFileError, match="not an AEDAT file"):
        read_aedat_header(p)


# ----------------------------------------------------------------------------- N-MNIST

def write_nmnist_tree(root: Path, per_digit=2):
    """Train/<d>/<id>.bin with d+1+i events each; Test/<d>/ with one file each."""
    for split, n in (("Train", per_digit), ("Test", 1)):
        for d in range(10):
            folder = root / split / str(d)
            folder.mkdir(parents=True)
            for i in range(n):
                evs = [(d, i, k % 2, 100 * k) for k in range(d + 1 + i)]
                (folder / f"{d * 100 + i:05d}.bin").write_bytes(nmnist_bytes(evs))


def test_nmnist_layout(tmp_path):
    write_nmnist_tree(tmp_path)
    es = load_events("nmnist", tmp_path, "train")
    assert len(es.events) == 20 and es.sensor_size == (34, 34, 2)
    assert es.labels.tolist() == [d for d in range(10) for _ in range(2)]
    assert [e.size for e in es.events] == [d + 1 + i for d in range(10) for i in range(2)]
    fs = load_frames("N-MNIST", tmp_path, "test", 2)
    assert fs.frames.shape == (10, 2, 2, 34, 34) and fs.frames.dtype == np.float32
    assert fs.labels.dtype == np.int64 and fs.n_classes == 10 and fs.name == "nmnist"
    # digit 3 in test: 4 events at t = 0,100,200,300 -> window [0, 301), bins of 150.5 us
    f3 = fs.frames[3]
    assert f3[0, 0, 0, 3] == 1 and f3[0, 1, 0, 3] == 1   # t=0 OFF, t=100 ON
    assert f3[1, 0, 0, 3] == 1 and f3[1, 1, 0, 3] == 1   # t=200 OFF, t=300 ON
    assert fs.frames.sum() == sum(min(d + 1, 2) + min(max(d - 1, 0), 2) for d in range(10))


def test_nmnist_corrupt_file_skipped(tmp_path):
    write_nmnist_tree(tmp_path)
    bad = tmp_path / "Train" / "4" / "00400.bin"
    bad.write_bytes(bad.read_bytes()[:-2])
    with pytest.warns(DatasetWarning, match="00400.bin"):
        fs = load_frames("nmnist", tmp_path, "train", 1)
    assert len(fs) == 19
    reason = "truncated N-MNIST file: 23 bytes is not a multiple of 5 (40-bit events)"
    assert fs.skipped == [(str(bad), reason)]


def test_nmnist_bad_layouts(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as ei:
        load_frames("nmnist", tmp_path / "nope", "train", 1)
    msg = str(ei.value)
    assert str(tmp_path / "nope") in msg and "Train/<digit>/<id>.bin" in msg
    (tmp_path / "other").mkdir()
    with pytest.raises(DatasetError, match="does not hold the expected files"):
        load_frames("nmnist", tmp_path / "other", "train", 1)
    (tmp_path / "n" / "Train" / "0").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"Test is missing"):
        load_frames("nmnist", tmp_path / "n", "test", 1)
    with pytest.raises(DatasetError, match=r"digit folder\(s\) 1, 2, 3.*missing"):
        load_frames("nmnist", tmp_path / "n", "train", 1)
    for d in range(1, 10):
        (tmp_path / "n" / "Train" / str(d)).mkdir()
    with pytest.raises(DatasetError, match="no .bin files under"):
        load_frames("nmnist", tmp_path / "n", "train", 1)
    (tmp_path / "n" / "Train" / "0" / "1.bin").write_bytes(b"\x00" * 7)
    with pytest.raises(DatasetError, match="no readable samples.*1.bin: truncated"):
        load_frames("nmnist", tmp_path / "n", "train", 1)


def test_unknown_name_split_encoding(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="unknown dataset 'mnist-dvs'; known datasets: "
                                           "digits-dvs, nmnist"):
        load_frames("mnist-dvs", tmp_path, "train", 1)
    assert issubclass(DatasetError, ValueError)
    assert set(DATASET_NAMES) == {"digits-dvs", "nmnist", "nmnist-small", "dvsgesture",
                                  "cifar10-dvs", "cifar10", "cifar100", "svhn",
                                  "tiny-imagenet"}
    write_nmnist_tree(tmp_path)
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        load_frames("nmnist", tmp_path, "dev", 1)
    with pytest.raises(ValueError, match="encoding must be one of \\('binary', 'count'\\)"):
        load_frames("nmnist", tmp_path, "test", 1, encoding="rate")
    monkeypatch.delenv("ANCOEF_DATA", raising=False)
    with pytest.raises(DatasetError, match=r"(?s)no data root given.*Train/<digit>"):
        load_frames("nmnist", None, "test", 1)
    monkeypatch.setenv("ANCOEF_DATA", str(tmp_path))
    assert len(load_frames("nmnist", None, "test", 1)) == 10


# ----------------------------------------------------------------------------- nmnist-small

def test_nmnist_small_flat_layout(tmp_path):
    labels = [i % 10 for i in range(50)]
    (tmp_path / "train1K.txt").write_text(
        "#sample #class\n" + "".join(f"{i + 1}\t{lab}\n" for i, lab in enumerate(labels)))
    for i in range(50):
        (tmp_path / f"{i + 1}.bs2").write_bytes(nmnist_bytes([(i % 34, 1, 1, 7)] * (i + 1)))
    tr = load_events("nmnist-small", tmp_path, "train")
    va = load_events("nmnist-small", tmp_path, "val")
    al = load_events("nmnist-small", tmp_path, "all")
    assert len(al.events) == 50 and len(tr.events) + len(va.events) == 50
    assert al.labels.tolist() == labels
    assert [e.size for e in al.events] == list(range(1, 51))
    assert len(va.events) == 10 and np.bincount(va.labels).tolist() == [1] * 10
    # labels.csv wins over train1K.txt
    (tmp_path / "labels.csv").write_text(
        "sample_id,label,split,file\n" + "".join(f"{i + 1},{(i + 1) % 10},train,{i + 1}.bs2\n"
                                                 for i in range(50)))
    assert load_events("nmnist-small", tmp_path, "all").labels.tolist() == \
        [(i + 1) % 10 for i in range(50)]
    (tmp_path / "7.bs2").unlink()
    with pytest.warns(DatasetWarning, match="7.bs2 \\(missing file\\)"):
        fs = load_frames("nmnist-small", tmp_path, "all", 1)
    assert len(fs) == 49


def test_nmnist_small_bad_layouts(tmp_path):
    (tmp_path / "1.bs2").write_bytes(nmnist_bytes([(1, 1, 1, 1)]))
    with pytest.raises(DatasetError, match="neither labels.csv nor train1K.txt found"):
        load_frames("nmnist-small", tmp_path, "train", 1)
    (tmp_path / "train1K.txt").write_text("#sample #class\n1\tfive\n")
    with pytest.raises(DatasetError, match="bad line 2 in .*train1K.txt"):
        load_frames("nmnist-small", tmp_path, "train", 1)


# ----------------------------------------------------------------------------- DVS Gesture

def write_gesture_tree(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    (root / "trials_to_train.txt").write_text("user01_fluorescent.aedat\n"
                                              "user02_led.aedat\n\n")
    (root / "trials_to_test.txt").write_text("user24_lab.aedat\n")
    # trial 1: events every 100 us from 0 to 9,900 us, at x = t // 100
    evs = [(k, 2 * (k % 50), k % 2, 100 * k) for k in range(100)]
    (root / "user01_fluorescent.aedat").write_bytes(aedat31_bytes(evs))
    (root / "user01_fluorescent_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n1,1000,2000\n11,5000,9000\n")
    (root / "user02_led.aedat").write_bytes(aedat31_bytes([(1, 1, 1, 10)] * 5))
    (root / "user02_led_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n3,0,20\n")
    (root / "user24_lab.aedat").write_bytes(aedat31_bytes([(5, 6, 0, 1)]))
    (root / "user24_lab_labels.csv").write_text("class,startTime_usec,endTime_usec\n4,0,2\n")


def test_dvsgesture_layout(tmp_path):
    write_gesture_tree(tmp_path / "DvsGesture")
    es = load_events("dvsgesture", tmp_path, "train")  # parent of DvsGesture/ also works
    assert es.labels.tolist() == [0, 10, 2] and es.n_classes == 11
    assert [e.size for e in es.events] == [10, 40, 5]
    assert es.events[0]["t"].tolist() == list(range(0, 1000, 100))  # relative to start
    assert es.events[0]["x"].tolist() == list(range(10, 20))
    assert es.windows == [(0, 1000), (0, 4000), (0, 20)]
    fs = load_frames("DVS128-Gesture", tmp_path / "DvsGesture", "train", 10, encoding="count")
    assert fs.frames.shape == (3, 10, 2, 128, 128) and fs.sensor_size == (128, 128, 2)
    # segment 0: 1 event per 100 us bin, x = 10 + k, polarity alternates starting ON (k=10)
    for k in range(10):
        assert fs.frames[0, k, (k + 10) % 2, 2 * ((k + 10) % 50), 10 + k] == 1
    assert fs.frames[0].sum() == 10 and fs.frames[2].sum() == 5
    te = load_frames("dvsgesture", tmp_path / "DvsGesture", "test", 2)
    assert te.labels.tolist() == [3] and te.frames.sum() == 1


def test_dvsgesture_bad_files(tmp_path):
    root = tmp_path / "DvsGesture"
    write_gesture_tree(root)
    (root / "user02_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n3,x,20\n")
    data = (root / "user01_fluorescent.aedat").read_bytes()
    (root / "user01_fluorescent.aedat").write_bytes(data[:-5])
    with pytest.raises(DatasetError, match="(?s)no readable samples.*user02_led_labels.csv: "
                                           "corrupt label file.*user01_fluorescent.aedat: "
                                           "truncated AEDAT 3.1 file"):
        load_frames("dvsgesture", root, "train", 1)
    (root / "user01_fluorescent.aedat").write_bytes(data)
    with pytest.warns(DatasetWarning, match="user02_led_labels.csv"):
        fs = load_frames("dvsgesture", root, "train", 1)
    assert len(fs) == 2 and "corrupt label file: line 2" in fs.skipped[0][1]
    (root / "trials_to_test.txt").unlink()
    with pytest.raises(DatasetError, match="trials_to_test.txt is missing"):
        load_frames("dvsgesture", root, "test", 1)
    with pytest.raises(DatasetError, match="trials_to_train.txt, <root>/trials_to_test.txt"):
        load_frames("dvsgesture", tmp_path / "empty", "test", 1)


# ----------------------------------------------------------------------------- CIFAR10-DVS

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def write_cifar10dvs_tree(root: Path, numbers=(2, 10)):
    """File cifar10_<class>_<n>.aedat holds n events at x_raw = class label, y_raw = n."""
    for lab, c in enumerate(CLASSES):
        (root / c).mkdir(parents=True)
        for idx in numbers:
            raw = [(lab, idx, 0, 5 * k) for k in range(idx)]
            (root / c / f"cifar10_{c}_{idx}.aedat").write_bytes(aedat2_bytes(raw))


def test_cifar10dvs_layout(tmp_path):
    write_cifar10dvs_tree(tmp_path / "CIFAR10-DVS")
    tr = load_events("cifar10-dvs", tmp_path, "train", split_protocol="natural")
    te = load_events("cifar10-dvs", tmp_path, "test", split_protocol="natural")
    assert tr.labels.tolist() == list(range(10)) and te.labels.tolist() == list(range(10))
    assert [e.size for e in tr.events] == [2] * 10 and [e.size for e in te.events] == [10] * 10
    assert tr.split_protocol == "natural"
    e = te.events[3]
    assert set(e["x"].tolist()) == {127 - 10} and set(e["y"].tolist()) == {127 - 3}
    assert e["p"].all() and e["t"].tolist() == list(range(0, 50, 5))
    fs = load_frames("cifar10dvs", tmp_path, "all", 5, limit=20)
    assert fs.frames.shape == (20, 5, 2, 128, 128) and np.bincount(fs.labels).tolist() == [2] * 10
    assert fs.frames[fs.labels == 3].sum() == 2 + 5  # binary: 2 events of file _2, 5 bins of _10


@pytest.mark.parametrize("protocol, test_numbers", [
    ("tebn", [0, 1]),            # first ceil(10 %) in natural order: samples 0.. of a class
    ("spikingjelly", [9]),       # lexicographic 0 1 10 11 2 .. 9; ceil(0.9 * 12) = 11 train
    ("natural", [10, 11]),       # natural order, floor(0.9 * 12) = 10 train
])
def test_cifar10dvs_named_splits(tmp_path, protocol, test_numbers):
    write_cifar10dvs_tree(tmp_path, numbers=range(12))
    te = load_events("cifar10-dvs", tmp_path, "test", split_protocol=protocol)
    tr = load_events("cifar10-dvs", tmp_path, "train", split_protocol=protocol)
    per_class = [sorted(int(e.size) for e, lab in zip(te.events, te.labels) if lab == c)
                 for c in range(10)]
    assert per_class == [test_numbers] * 10  # a file's event count is its number
    assert len(tr.events) == 10 * (12 - len(test_numbers))
    assert te.split_protocol == protocol == tr.split_protocol
    if protocol == "tebn":  # the default
        assert load_frames("cifar10-dvs", tmp_path, "test", 1).split_protocol == "tebn"


def test_cifar10dvs_random_split_is_seeded_and_named(tmp_path):
    write_cifar10dvs_tree(tmp_path, numbers=range(12))
    a = load_events("cifar10-dvs", tmp_path, "test", split_protocol="random", split_seed=3)
    b = load_events("cifar10-dvs", tmp_path, "test", split_protocol="random", split_seed=3)
    c = load_events("cifar10-dvs", tmp_path, "test", split_protocol="random", split_seed=4)
    tr = load_events("cifar10-dvs", tmp_path, "train", split_protocol="random", split_seed=3)
    sizes = lambda es: [int(e.size) for e in es.events]  # noqa: E731
    assert sizes(a) == sizes(b) != sizes(c) and len(a.events) == 10  # 12 - ceil(10.8) a class
    assert not set(zip(sizes(a), a.labels.tolist())) & set(zip(sizes(tr), tr.labels.tolist()))
    assert a.split_protocol == "random (split_seed 3)"
    with pytest.raises(DatasetError, match="unknown split protocol 'papers'; choose one of tebn"):
        load_events("cifar10-dvs", tmp_path, "test", split_protocol="papers")
    with pytest.raises(DatasetError, match="nmnist has a fixed train/test split"):
        load_events("nmnist", tmp_path, "test", split_protocol="tebn")


def test_cifar10dvs_bad(tmp_path):
    root = tmp_path / "c"
    write_cifar10dvs_tree(root)
    bad = root / "cat" / "cifar10_cat_10.aedat"
    bad.write_bytes(b"#!AER-DAT4.0\r\n\x00")
    with pytest.warns(DatasetWarning, match="cifar10_cat_10.aedat"):
        fs = load_frames("cifar10-dvs", root, "test", 1, split_protocol="natural")
    assert len(fs) == 9 and "unsupported AEDAT version 4.0" in fs.skipped[0][1]
    import shutil
    shutil.rmtree(root / "dog")
    with pytest.raises(DatasetError, match="class folder\\(s\\) dog missing"):
        load_frames("cifar10-dvs", root, "test", 1)


# ----------------------------------------------------------------------------- CIFAR10/100

def cifar_images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)


def write_pickle(path, d):
    with open(path, "wb") as fh:
        pickle.dump(d, fh, protocol=2)


def write_cifar10(root: Path):
    root.mkdir(parents=True)
    for i in range(1, 6):
        write_pickle(root / f"data_batch_{i}", {b"batch_label": b"training batch",
                                                b"labels": [i, (i + 3) % 10],
                                                b"data": cifar_images(2, i),
                                                b"filenames": [b"a.png", b"b.png"]})
    write_pickle(root / "test_batch", {b"labels": [7, 8, 9], b"data": cifar_images(3, 0)})
    write_pickle(root / "batches.meta", {b"label_names": [c.encode() for c in CLASSES]})


def test_cifar10_layout(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py")
    im = load_images("cifar10", tmp_path, "train")
    assert im.images.shape == (10, 3, 32, 32) and im.images.dtype == np.float32
    assert im.labels.tolist() == [1, 4, 2, 5, 3, 6, 4, 7, 5, 8]
    raw = cifar_images(2, 3)[1]
    assert np.array_equal(im.images[5], raw.reshape(3, 32, 32).astype(np.float32) / 255)
    assert im.images[5, 1, 0, 0] == raw[1024] / np.float32(255)  # G plane starts at 1024
    assert im.class_names == CLASSES
    fs = load_frames("cifar10", tmp_path, "test", 3)
    assert fs.frames.shape == (3, 3, 3, 32, 32) and fs.sensor_size == (32, 32, 3)
    assert fs.encoding == "direct" and np.array_equal(fs.frames[:, 0], fs.frames[:, 2])
    rate = load_frames("cifar10", tmp_path, "test", 3, encoding="rate", seed=1)
    assert set(np.unique(rate.frames).tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="encoding must be one of \\('direct', 'rate'\\)"):
        load_frames("cifar10", tmp_path, "test", 3, encoding="binary")


def test_cifar10_corrupt_and_incomplete(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    write_cifar10(root)
    b3 = root / "data_batch_3"
    b3.write_bytes(b3.read_bytes()[:100])
    # a batch that would run code is refused, not executed
    import os
    write_pickle(root / "data_batch_4", {b"data": os.getcwd, b"labels": []})
    with pytest.warns(DatasetWarning, match="data_batch_3"):
        fs = load_frames("cifar10", root, "train", 1)
    assert len(fs) == 6
    reasons = dict(fs.skipped)
    assert "corrupt or truncated pickle batch" in reasons[str(b3)]
    assert "not allowed" in reasons[str(root / "data_batch_4")]
    b3.unlink()
    with pytest.raises(DatasetError, match="data_batch_3 missing"):
        load_frames("cifar10", root, "train", 1)


def test_cifar100_layout(tmp_path):
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    write_pickle(root / "train", {b"fine_labels": [99, 0, 42], b"coarse_labels": [1, 2, 3],
                                  b"data": cifar_images(3, 5)})
    write_pickle(root / "test", {b"fine_labels": [5], b"coarse_labels": [1],
                                 b"data": cifar_images(1, 6)})
    im = load_images("cifar100", tmp_path, "train")
    assert im.labels.tolist() == [99, 0, 42] and im.n_classes == 100
    assert np.array_equal((im.images * 255).round().astype(np.uint8).reshape(3, -1),
                          cifar_images(3, 5))
    assert load_frames("cifar100", root, "test", 2).labels.tolist() == [5]
    with pytest.raises(DatasetError, match="cifar-100-python/train, test, meta"):
        load_frames("cifar100", tmp_path / "x", "test", 1)


# ----------------------------------------------------------------------------- SVHN

def test_svhn_layout(tmp_path):
    import scipy.io

    x = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": np.array([[1], [10], [5], [10]])})
    im = load_images("svhn", tmp_path, "train")
    assert im.labels.tolist() == [1, 0, 5, 0]
    assert np.array_equal((im.images[2] * 255).round().astype(np.uint8),
                          x[:, :, :, 2].transpose(2, 0, 1))
    with pytest.raises(DatasetError, match="test_32x32.mat missing"):
        load_frames("svhn", tmp_path, "test", 1)
    (tmp_path / "test_32x32.mat").write_bytes(b"MATLAB 5.0 garbage")
    with pytest.raises(DatasetError, match="no readable samples.*test_32x32.mat: corrupt"):
        load_frames("svhn", tmp_path, "test", 1)


# ----------------------------------------------------------------------------- Tiny-ImageNet

def write_tiny(root: Path):
    from PIL import Image

    wnids = ["n02", "n01"]  # label = index in sorted order: n01 -> 0, n02 -> 1
    (root / "val" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for w, gray in (("n01", 40), ("n02", 200)):
        d = root / "train" / w / "images"
        d.mkdir(parents=True)
        for i in range(2):
            Image.new("L", (64, 64), gray + i).save(d / f"{w}_{i}.JPEG", quality=95)
    Image.new("RGB", (64, 64), (255, 0, 0)).save(root / "val" / "images" / "val_0.JPEG")
    Image.new("L", (64, 64), 128).save(root / "val" / "images" / "val_1.JPEG")
    (root / "val" / "val_annotations.txt").write_text(
        "val_0.JPEG\tn02\t0\t0\t63\t63\nval_1.JPEG\tn01\t1\t2\t30\t40\n")


def test_tiny_imagenet_layout(tmp_path):
    write_tiny(tmp_path / "tiny-imagenet-200")
    im = load_images("tiny-imagenet", tmp_path, "train")
    assert im.images.shape == (4, 3, 64, 64) and im.labels.tolist() == [0, 0, 1, 1]
    assert np.array_equal((im.images[3] * 255).round(), np.full((3, 64, 64), 201.0))
    assert im.n_classes == 2 and im.class_names == ["n01", "n02"]
    va = load_images("tiny-imagenet", tmp_path / "tiny-imagenet-200", "val")
    assert va.labels.tolist() == [1, 0]
    assert np.allclose(va.images[0].mean(axis=(1, 2)), [1, 0, 0], atol=3 / 255)


def test_tiny_imagenet_bad(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    write_tiny(root)
    bad = root / "train" / "n02" / "images" / "n02_1.JPEG"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.warns(DatasetWarning, match="n02_1.JPEG"):
        fs = load_frames("tiny-imagenet", root, "train", 1)
    assert len(fs) == 3 and "corrupt or truncated JPEG" in fs.skipped[0][1]
    (root / "val" / "val_annotations.txt").unlink()
    with pytest.raises(DatasetError, match="val/val_annotations.txt missing"):
        load_frames("tiny-imagenet", root, "val", 1)
    (root / "wnids.txt").unlink()
    with pytest.raises(DatasetError, match="tiny-imagenet-200/wnids.txt"):
        load_frames("tiny-imagenet", root, "val", 1)


def test_limit_is_balanced(tmp_path):
    write_nmnist_tree(tmp_path, per_digit=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs = load_frames("nmnist", tmp_path, "train", 1, limit=15)
    assert np.bincount(fs.labels, minlength=10).tolist() == [2] * 5 + [1] * 5
