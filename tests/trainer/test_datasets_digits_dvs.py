"""The embedded default dataset digits-dvs (emulated event camera on sklearn digits)."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.datasets import CameraConfig, build_digits_dvs, load_events, load_frames
from trainer.datasets.digits_dvs import saccade_path


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ancoef-cache")


def test_build_is_deterministic():
    cfg = CameraConfig()
    a, la = build_digits_dvs(cfg, n_samples=24)
    b, lb = build_digits_dvs(cfg, n_samples=24)
    assert np.array_equal(la, lb) and la.tolist() == [i % 10 for i in range(24)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c, _ = build_digits_dvs(CameraConfig(seed=1), n_samples=24)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    for ev in a:
        assert ev.dtype.names == ("x", "y", "t", "p") and ev["t"].dtype == np.int64
        assert 1000 < ev.size < 4000 and (np.diff(ev["t"]) >= 0).all()
        assert ev["t"].min() >= 0 and ev["t"].max() < cfg.duration_us
        assert ev["x"].max() < 24 and ev["y"].max() < 24
        assert 0.3 < ev["p"].mean() < 0.7  # ON and OFF both present


def test_saccades_form_a_closed_triangle():
    t, dx, dy = saccade_path(CameraConfig())
    assert t[0] == 0 and t[-1] == 300_000
    assert (dx[0], dy[0]) == pytest.approx((dx[-1], dy[-1]))
    assert np.abs(dx).max() <= 1.0 + 1e-9 and np.ptp(dy) == pytest.approx(2.0)


def test_load_frames_shapes_classes_and_cache(cache):
    tr = load_frames("digits-dvs", cache, "train", 4)
    te = load_frames("digits_dvs", cache, "test", 4)
    assert tr.frames.shape == (1437, 4, 2, 24, 24) and te.frames.shape == (360, 4, 2, 24, 24)
    assert tr.sensor_size == (24, 24, 2) and tr.n_classes == 10 and tr.encoding == "binary"
    assert set(np.unique(tr.frames).tolist()) == {0.0, 1.0}
    per_class = np.bincount(tr.labels) + np.bincount(te.labels)
    assert np.abs(np.bincount(te.labels) - per_class * 360 / 1797).max() < 1  # stratified
    files = list(cache.glob("digits-dvs-*.npz"))
    assert len(files) == 1
    again = load_frames("digits-dvs", cache, "test", 4)  # from the cache file
    assert np.array_equal(again.frames, te.frames) and np.array_equal(again.labels, te.labels)
    # the cached streams equal a fresh build of the same samples
    es = load_events("digits-dvs", cache, "all")
    fresh, labels = build_digits_dvs(CameraConfig(), n_samples=5)
    assert all(np.array_equal(x, y) for x, y in zip(es.events[:5], fresh))
    assert es.labels[:5].tolist() == labels.tolist()


def test_default_root_uses_cache_env(cache, monkeypatch):
    monkeypatch.setenv("ANCOEF_CACHE", str(cache))
    fs = load_frames("digits-dvs", None, "test", 2, encoding="count", limit=20)
    assert fs.frames.shape == (20, 2, 2, 24, 24) and fs.frames.max() > 1
    assert np.bincount(fs.labels).tolist() == [2] * 10
