"""Streaming splits (per-sample framing from an on-disk cache), Tonic's framing and transforms.

Tonic (`tonic` from PyPI) is the peer for ToFrame, Denoise and the deterministic transforms; those
comparisons skip where it is not installed."""

from __future__ import annotations

import numpy as np
import pytest

from test_datasets_readers import write_cifar10, write_gesture_tree  # noqa: E402 (tests dir)
from trainer.datasets import (
    Augment,
    Framing,
    events_to_frames,
    load_frames,
    make_events,
    open_stream,
)
from trainer.datasets import transforms as tf


def random_events(seed, n=None, w=7, h=5, span=100_000):
    g = np.random.default_rng(seed)
    n = int(g.integers(1, 400)) if n is None else n
    return make_events(g.integers(0, w, n), g.integers(0, h, n), np.sort(g.integers(0, span, n)),
                       g.integers(0, 2, n))


FRAMINGS = [dict(time_window=7_000.0), dict(time_window=9_000.0, overlap=2_000.0,
                                           include_incomplete=True),
            dict(event_count=37), dict(event_count=40, overlap=5, include_incomplete=True),
            dict(n_time_bins=6), dict(n_time_bins=6, overlap=0.3), dict(n_event_bins=6),
            dict(n_event_bins=6, overlap=0.25)]


@pytest.mark.parametrize("kw", FRAMINGS)
def test_framing_equals_tonic_to_frame(kw):
    tonic = pytest.importorskip("tonic")
    for seed in range(25):
        ev = random_events(seed)
        ref = tonic.transforms.ToFrame(sensor_size=(7, 5, 2), **kw)(ev.copy()).astype(np.float32)
        ours = events_to_frames(ev, (7, 5, 2), 6, encoding="count", framing=Framing(**kw))
        k = min(6, ref.shape[0])  # the first T slices; missing slices are empty frames
        assert np.array_equal(ours[:k], ref[:k]) and ours[k:].sum() == 0


def test_denoise_and_deterministic_transforms_equal_tonic():
    tonic = pytest.importorskip("tonic")
    T = tonic.transforms
    rng = np.random.default_rng(0)
    for seed in range(20):
        ev = random_events(seed, span=20_000)
        assert np.array_equal(tf.denoise(ev, 3000), T.Denoise(filter_time=3000)(ev.copy()))
        assert np.array_equal(tf.center_crop(ev, (7, 5, 2), (4, 3)),
                              T.CenterCrop(sensor_size=(7, 5, 2), size=(4, 3))(ev.copy()))
        assert np.array_equal(tf.flip_lr(ev, (7, 5, 2), 1.0, rng),
                              T.RandomFlipLR(sensor_size=(7, 5, 2), p=1.0)(ev.copy()))
        assert np.array_equal(tf.flip_ud(ev, (7, 5, 2), 1.0, rng),
                              T.RandomFlipUD(sensor_size=(7, 5, 2), p=1.0)(ev.copy()))
        assert np.array_equal(tf.flip_polarity(ev, 1.0, rng),
                              T.RandomFlipPolarity(p=1.0)(ev.copy()))


def test_random_transforms_are_seeded_and_keep_their_meaning():
    ev = random_events(3, n=300)
    a = Augment(random_crop=(4, 3), flip_lr=0.5, event_drop=True)
    x = a.apply(ev, (7, 5, 2), np.random.default_rng([1, 2]))
    y = a.apply(ev, (7, 5, 2), np.random.default_rng([1, 2]))
    assert np.array_equal(x, y) and (x["x"] < 4).all() and (x["y"] < 3).all()
    assert tf.drop_event(ev, 0.25, np.random.default_rng(0)).size == 300 - 75  # round(p * n)
    kept = tf.drop_by_time(ev, 0.5, np.random.default_rng(0))
    gone = np.setdiff1d(ev["t"], kept["t"])
    assert gone.size and gone.max() - gone.min() <= 0.5 * ev["t"].max()  # one interval
    with pytest.raises(ValueError, match="flip_lr is a probability"):
        Augment(flip_lr=1.5)


@pytest.fixture()
def gesture(tmp_path):
    root = tmp_path / "DvsGesture"
    write_gesture_tree(root)
    return root


@pytest.mark.parametrize("opts", [
    dict(), dict(encoding="count"), dict(downsample=4, denoise=300.0),
    dict(framing=Framing(time_window=150.0), encoding="count"),
])
def test_stream_batches_equal_dense_frames(gesture, tmp_path, opts):
    dense = load_frames("dvsgesture", gesture, "train", 10, **opts)
    st = open_stream("dvsgesture", gesture, "train", 10, cache=tmp_path / "c", **opts)
    assert len(st) == len(dense) == 3 and st.sensor_size == dense.sensor_size
    assert st.frame_shape == dense.frames.shape[1:]
    assert np.array_equal(st.batch([2, 0]), dense.frames[[2, 0]])
    assert np.array_equal(st.subset([1, 2]).batch([1]), dense.frames[[2]])
    assert st.split_protocol == dense.split_protocol == "official trials_to_train/test.txt"


def test_stream_cache_is_reused_and_rebuilt_when_a_file_changes(gesture, tmp_path, monkeypatch):
    from trainer.datasets import event_datasets

    calls = []
    real = event_datasets.read_aedat31_polarity
    monkeypatch.setattr(event_datasets, "read_aedat31_polarity",
                        lambda p: calls.append(p) or real(p))
    a = open_stream("dvsgesture", gesture, "train", 4, encoding="count", cache=tmp_path)
    n_first = len(calls)
    assert n_first == 2  # one read per trial file, although trial 1 holds two samples
    b = open_stream("dvsgesture", gesture, "train", 4, encoding="count", cache=tmp_path)
    assert len(calls) == n_first and b.cache_folder == a.cache_folder  # read from the cache
    assert np.array_equal(a.batch([0, 1, 2]), b.batch([0, 1, 2]))
    trial = gesture / "user02_led.aedat"  # new content -> new cache key
    data = trial.read_bytes()
    from test_datasets_readers import aedat31_bytes

    trial.write_bytes(aedat31_bytes([(3, 3, 1, 10)] * 7))
    c = open_stream("dvsgesture", gesture, "train", 4, encoding="count", cache=tmp_path)
    assert len(calls) > n_first and c.cache_folder != a.cache_folder
    assert c.batch([2]).sum() == 7 and a.batch([2]).sum() == 5  # the old cache is untouched
    trial.write_bytes(data)


def test_augmented_stream_is_seeded_and_evaluates_the_centre(gesture, tmp_path):
    aug = Augment(random_crop=(64, 64), flip_lr=0.5)
    st = open_stream("dvsgesture", gesture, "train", 10, encoding="count", augment=aug,
                     cache=tmp_path)
    assert st.frame_shape == (10, 2, 64, 64) and st.sensor_size == (64, 64, 2)
    one = st.batch([0, 1], train=True, epoch=3, seed=1)
    assert np.array_equal(one, st.batch([0, 1], train=True, epoch=3, seed=1))
    draws = {st.batch([0, 1], train=True, epoch=e, seed=1).tobytes() for e in range(6)}
    assert len(draws) > 1  # a new crop / flip per epoch
    full = load_frames("dvsgesture", gesture, "train", 10, encoding="count")
    assert np.array_equal(st.batch([0]), full.frames[[0], :, :, 32:96, 32:96])  # centre crop


def test_image_stream_equals_dense_and_streams_direct_and_rate(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py")
    for enc in ("direct", "rate"):
        dense = load_frames("cifar10", tmp_path, "train", 3, encoding=enc, seed=4, limit=6)
        st = open_stream("cifar10", tmp_path, "train", 3, encoding=enc, seed=4, limit=6,
                         cache=tmp_path / "c")
        assert len(st) == 6 and np.array_equal(st.batch([5, 1]), dense.frames[[5, 1]])
        assert np.array_equal(st.labels, dense.labels)


def test_training_on_a_stream_equals_training_on_dense_frames(gesture, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("spikingjelly")
    from trainer.supernet import BlockSpec, SearchSpace, SubnetConfig
    from trainer.train import run_training

    torch.set_num_threads(2)
    kw = dict(downsample=8, encoding="binary")
    dense = load_frames("dvsgesture", gesture, "train", 2, **kw)
    st = open_stream("dvsgesture", gesture, "train", 2, cache=tmp_path, **kw)
    space = SearchSpace(blocks=(BlockSpec(2, ("conv3",), (4,)),), timesteps=(2,), taus=(2.0,))
    cfg = SubnetConfig(("conv3",), (4,), 2, 2.0)
    runs = []
    for frames in (dense.frames, st):
        res = run_training(frames, dense.labels, frames, dense.labels, 11, space=space,
                           config=cfg, epochs=2, qat_epochs=1, bits=4, batch_size=2, seed=0,
                           threads=2)
        runs.append(({k: v for k, v in res.metrics.items() if not k.endswith("seconds")},
                     [p.detach().clone() for p in res.folded.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def _gesture_set(root, n_samples, per_trial=4, events=300):
    """`n_samples` DVS Gesture segments of `events` events, `per_trial` a trial (fixed-size
    trials, so one source file's memory does not grow with the set)."""
    from test_datasets_readers import aedat31_bytes

    rng = np.random.default_rng(n_samples)
    root.mkdir(parents=True)
    names = []
    for k in range(n_samples // per_trial):
        name = f"user{k + 1:02d}_led.aedat"
        t = np.sort(rng.integers(0, 1000 * per_trial, events * per_trial))
        evs = list(zip(rng.integers(0, 128, t.size).tolist(), rng.integers(0, 128, t.size).tolist(),
                       rng.integers(0, 2, t.size).tolist(), t.tolist()))
        (root / name).write_bytes(aedat31_bytes(evs))
        (root / name.replace(".aedat", "_labels.csv")).write_text(
            "class,startTime_usec,endTime_usec\n"
            + "".join(f"{s % 11 + 1},{1000 * s},{1000 * s + 1000}\n" for s in range(per_trial)))
        names.append(name)
    (root / "trials_to_train.txt").write_text("\n".join(names) + "\n")
    (root / "trials_to_test.txt").write_text(names[0] + "\n")


@pytest.mark.parametrize("augment", [None, Augment(random_crop=(96, 96), flip_lr=0.5)])
def test_stream_memory_is_bounded_by_the_batch_not_the_set(tmp_path, augment):
    """Building the cache and reading an epoch hold the same Python-side memory (tracemalloc
    peak: numpy's buffers are traced) for N and 2N samples, and no cache file is memory-mapped
    (a map's touched pages would count as resident memory, growing with the set)."""
    import tracemalloc

    peaks = {}
    for n in (16, 32):
        root = tmp_path / f"g{n}" / "DvsGesture"
        _gesture_set(root, n)
        tracemalloc.start()
        st = open_stream("dvsgesture", root, "train", 4, cache=tmp_path / f"c{n}",
                         augment=augment)
        build = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        for i in range(0, n, 4):
            st.batch(np.arange(i, i + 4), train=True, epoch=0, seed=0)
        read = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(st) == n
        with open("/proc/self/maps") as fh:
            assert str(st.cache_folder) not in fh.read()
        peaks[n] = (build, read)
    one_sample = 4 * 2 * 128 * 128 * 4  # dense float32 frames of one sample: 512 KiB
    # what grows with N is per-sample bookkeeping (labels, windows: bytes a sample), not data
    assert abs(peaks[32][0] - peaks[16][0]) < one_sample // 2, peaks
    assert abs(peaks[32][1] - peaks[16][1]) < one_sample // 8, peaks
    assert peaks[16][1] < 8 * one_sample  # an epoch's peak is about one batch of 4
