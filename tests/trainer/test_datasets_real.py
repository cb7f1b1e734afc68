"""The real recordings under ../shared/data (read in place, never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer.datasets import (
    DatasetError,
    load_events,
    load_frames,
    nmnist_small_index,
    nmnist_small_split,
    read_aedat2_dvs128,
    read_aedat_header,
    read_event_file,
    read_nmnist_bin,
    read_prophesee_dat,
)
from trainer.datasets.errors import CorruptFileError

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
NMNIST_SMALL = DATA / "nmnist-small"
FIXTURES = DATA / "event-format-fixtures"

need_small = pytest.mark.skipif(not (NMNIST_SMALL / "train1K.txt").is_file(),
                                reason=f"real N-MNIST subset not present at {NMNIST_SMALL}")
need_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(),
                                   reason=f"event-format fixtures not present at {FIXTURES}")

CLASS_COUNTS = [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]  # PROVENANCE.md


@need_small
def test_nmnist_small_index_and_known_file():
    ids, labels, paths = nmnist_small_index(NMNIST_SMALL)
    assert ids.tolist() == list(range(1, 1001))
    assert np.bincount(labels).tolist() == CLASS_COUNTS
    assert labels[:4].tolist() == [5, 0, 4, 1]  # agrees with MNIST
    ev = read_nmnist_bin(NMNIST_SMALL / "1.bs2")
    assert ev.size == 4681
    assert (int(ev[0]["x"]), int(ev[0]["y"]), bool(ev[0]["p"]), int(ev[0]["t"])) == \
        (18, 16, True, 893)
    assert (np.diff(ev["t"]) >= 0).all()
    # total events from the file sizes, 5 bytes per event. (PROVENANCE.md's 4,518,827 /
    # min 1,069 / mean 4,108 include the 100 test recordings that were not copied: the
    # 1,000 files present hold 4,133,231 events, min 1,112, max 7,152, t <= 315,109 us.)
    assert sum(p.stat().st_size for p in paths) == 5 * 4_133_231


@need_small
def test_nmnist_small_split_and_frames():
    _, labels, _ = nmnist_small_index(NMNIST_SMALL)
    tr, va = nmnist_small_split(labels)
    assert tr.size == 800 and va.size == 200 and not set(tr) & set(va)
    assert np.array_equal(nmnist_small_split(labels)[1], va)  # fixed
    per_class = np.bincount(labels[va], minlength=10)
    assert (np.abs(per_class - np.array(CLASS_COUNTS) * 0.2) < 1).all()  # stratified
    es = load_events("nmnist-small", DATA, "val")  # parent folder works too
    sizes = np.array([e.size for e in es.events])
    assert len(es.events) == 200 and sizes.min() >= 1112 and sizes.max() <= 7152
    fs = load_frames("nmnist-small", NMNIST_SMALL, "train", 6)
    assert fs.frames.shape == (800, 6, 2, 34, 34) and fs.frames.dtype == np.float32
    assert np.bincount(fs.labels).tolist() == (np.array(CLASS_COUNTS) - per_class).tolist()
    assert set(np.unique(fs.frames).tolist()) == {0.0, 1.0} and fs.skipped == []
    assert len(load_frames("nmnist-small", NMNIST_SMALL, "test", 1)) == 200  # alias of val


@need_small
def test_nmnist_small_count_frames_keep_every_event():
    fs = load_frames("nmnist-small", NMNIST_SMALL, "all", 5, encoding="count", limit=30)
    es = load_events("nmnist-small", NMNIST_SMALL, "all", limit=30)
    assert np.array_equal(fs.frames.sum(axis=(1, 2, 3, 4)),
                          np.array([e.size for e in es.events], np.float32))


@need_fixtures
def test_fixture_event_counts():
    ev = read_nmnist_bin(FIXTURES / "sample_nmnist.bin")
    assert ev.size == 4325 and int(ev["t"].max()) == 311_175
    assert int(ev["x"].max()) <= 33 and int(ev["y"].max()) <= 33
    dat = read_prophesee_dat(FIXTURES / "sample_ncars.dat")
    assert dat.size == 2009 and int(dat["x"].max()) <= 77 and int(dat["y"].max()) <= 41
    assert set(dat["p"].tolist()) == {False, True}
    assert 90_000 < int(dat["t"].max() - dat["t"].min()) <= 100_000  # ~100 ms
    assert read_event_file(FIXTURES / "sample_ncars.dat").size == 2009


@need_fixtures
def test_fixture_aedat_headers():
    hdr = read_aedat_header(FIXTURES / "sample_aedat_header.aedat")
    assert hdr.version == "2.0" and hdr.start_time_ms == 1695355587880
    assert hdr.data_offset == 599 and "Davis346red" in hdr.fields["AEChip"]
    assert read_aedat2_dvs128(FIXTURES / "sample_aedat_header.aedat").size == 0  # header only
    assert read_aedat_header(FIXTURES / "sample.aedat4").version == "4.0"
    with pytest.raises(CorruptFileError, match="sample.aedat4: unsupported AEDAT version 4.0"):
        read_event_file(FIXTURES / "sample.aedat4")
    with pytest.raises(DatasetError, match="unknown event file type '.mat'"):
        read_event_file(FIXTURES / "sample_stmnist.mat")
