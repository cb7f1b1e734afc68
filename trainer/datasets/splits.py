"""Deterministic split and subset helpers."""

from __future__ import annotations

import numpy as np

NMNIST_SMALL_SPLIT_SEED = 0
NMNIST_SMALL_VAL_FRACTION = 0.2


def stratified_split(labels, n_holdout: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (keep, holdout), stratified by label.

    Each class gives ``n_holdout * class_size / N`` samples to the holdout part, rounded by
    the largest-remainder method (ties broken by class value) so the parts have exactly
    ``N - n_holdout`` and ``n_holdout`` samples. Within a class the holdout samples are the
    first ones of a permutation drawn from ``numpy.random.default_rng(seed)``; classes are
    visited in increasing label order, so the result depends only on ``labels`` and
    ``seed``. Both index arrays are returned sorted.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if not 0 <= n_holdout <= n:
        raise ValueError(f"n_holdout={n_holdout} outside [0, {n}]")
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n_holdout / n
    take = np.floor(exact).astype(int)
    rest = n_holdout - take.sum()
    order = np.lexsort((classes, -(exact - take)))  # largest remainder first
    take[order[:rest]] += 1
    rng = np.random.default_rng(seed)
    hold = []
    for c, k in zip(classes, take):
        idx = np.flatnonzero(labels == c)
        hold.append(idx[rng.permutation(idx.size)[:k]])
    hold = np.sort(np.concatenate(hold)) if hold else np.empty(0, int)
    mask = np.ones(n, bool)
    mask[hold] = False
    return np.flatnonzero(mask), hold


def nmnist_small_split(labels, seed: int = NMNIST_SMALL_SPLIT_SEED,
                       n_val: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The fixed nmnist-small split: (train, val) positions into ``labels``.

    ``labels`` are the labels of the samples in increasing sample-id order (as listed in
    the label file, whether or not every file is present). ``n_val`` defaults to
    ``round(0.2 * N)``: 800 train / 200 validation for the 1,000 samples, stratified by
    class (:func:`stratified_split`, seed 0).
    """
    labels = np.asarray(labels)
    if n_val is None:
        n_val = round(NMNIST_SMALL_VAL_FRACTION * labels.shape[0])
    return stratified_split(labels, n_val, seed)


def limit_indices(labels, limit: int | None) -> np.ndarray:
    """Pick at most ``limit`` samples, balanced over classes and deterministic.

    Samples are taken round-robin over the classes (in increasing label order), each
    class in its original order, then returned in original order. ``None`` keeps all.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 0:
        raise ValueError("limit must be >= 0")
    # rank of each sample within its class -> sort by (rank, label)
    rank = np.empty(n, np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rank[idx] = np.arange(idx.size)
    order = np.lexsort((labels, rank))
    return np.sort(order[:limit])
