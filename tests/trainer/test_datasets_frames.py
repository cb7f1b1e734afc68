"""Frame encoding of events and static images, split and subset helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.datasets import (
    event_samples_to_frames,
    events_to_frames,
    images_to_frames,
    limit_indices,
    make_events,
    pool_images,
    stratified_split,
)


def test_event_bins_exact():
    # window [0, 100): T=4 -> bins [0,25) [25,50) [50,75) [75,100)
    ev = make_events([0, 1, 1, 2, 3], [0, 0, 0, 1, 2], [0, 24, 25, 74, 99], [1, 0, 0, 1, 1])
    f = events_to_frames(ev, (4, 3, 2), 4, window=(0, 100), encoding="count")  # (W, H, P)
    assert f.shape == (4, 2, 3, 4) and f.dtype == np.float32 and f.sum() == 5
    assert f[0, 1, 0, 0] == 1 and f[0, 0, 0, 1] == 1
    assert f[1, 0, 0, 1] == 1 and f[2, 1, 1, 2] == 1 and f[3, 1, 2, 3] == 1
    # default window: first event .. last event + 1
    g = events_to_frames(ev, (4, 3, 2), 1, encoding="count")
    assert g.sum() == 5 and g[0, 0, 0, 1] == 2
    assert events_to_frames(ev, (4, 3, 2), 1, encoding="binary")[0, 0, 0, 1] == 1


def test_events_outside_window_or_sensor_ignored_and_downsample():
    ev = make_events([0, 5, 1, 3], [0, 0, 9, 3], [5, 5, 5, 200], [1, 1, 1, 1])
    f = events_to_frames(ev, (4, 4, 2), 2, window=(0, 100), encoding="count")
    assert f.sum() == 1
    ev2 = make_events([0, 1, 2, 3], [0, 1, 2, 3], [0, 0, 0, 0], [1, 1, 1, 1])
    d = events_to_frames(ev2, (4, 4, 2), 1, encoding="count", downsample=2)
    assert d.shape == (1, 2, 2, 2) and d[0, 1].tolist() == [[2, 0], [0, 2]]


def test_empty_sample_and_bad_encoding():
    empty = make_events([], [], [], [])
    out = event_samples_to_frames([empty], (2, 2), 3)
    assert out.shape == (1, 3, 2, 2, 2) and out.sum() == 0
    with pytest.raises(ValueError, match="encoding"):
        event_samples_to_frames([empty], (2, 2), 3, encoding="rate")


def test_image_encodings():
    img = np.zeros((4, 1, 8, 8), np.float32)
    img[:, :, :4] = 1.0
    img[:, :, 4:6] = 0.5
    d = images_to_frames(img, 3)
    assert d.shape == (4, 3, 1, 8, 8) and np.array_equal(d[:, 2], img)
    r1 = images_to_frames(img, 50, encoding="rate", seed=3)
    r2 = images_to_frames(img, 50, encoding="rate", seed=3)
    r3 = images_to_frames(img, 50, encoding="rate", seed=4)
    assert np.array_equal(r1, r2) and not np.array_equal(r1, r3)
    assert (r1[:, :, :, :4] == 1).all() and (r1[:, :, :, 6:] == 0).all()
    assert abs(r1[:, :, :, 4:6].mean() - 0.5) < 0.05
    p = pool_images(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), 2)
    assert p[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_stratified_split_and_limit():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    keep, hold = stratified_split(labels, 20, seed=1)
    assert hold.size == 20 and keep.size == 80
    assert np.bincount(labels[hold]).tolist() == [10, 6, 4]
    assert np.array_equal(hold, stratified_split(labels, 20, seed=1)[1])
    assert not np.array_equal(hold, stratified_split(labels, 20, seed=2)[1])
    idx = limit_indices(labels, 9)
    assert np.bincount(labels[idx]).tolist() == [3, 3, 3]
    assert limit_indices(labels, None).size == 100


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), st.integers(0, 1),
                          st.integers(0, 999)), min_size=1, max_size=60),
       st.integers(1, 7))
def test_count_and_binary_frames_property(evs, timesteps):
    x, y, p, t = (np.array(v) for v in zip(*evs))
    ev = make_events(x, y, t, p)
    count = events_to_frames(ev, (6, 5, 2), timesteps, window=(0, 1000), encoding="count")
    binary = events_to_frames(ev, (6, 5, 2), timesteps, window=(0, 1000), encoding="binary")
    assert count.sum() == len(evs)
    assert np.array_equal(binary, np.minimum(count, 1))
    # each event lands in bin t * T // 1000 at its own pixel and polarity
    for xi, yi, pi, ti in evs:
        assert count[ti * timesteps // 1000, pi, yi, xi] >= 1
