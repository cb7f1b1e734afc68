"""Shared helpers for the TrueAsync engine tests (tests/test_engine_*.py).

`build_case(draw)` makes a small random network + architecture + inputs from a `Draw`: the
structure (layers, projection kinds, conv geometry, LIF parameters, architecture) is drawn one
decision at a time, so Hypothesis can shrink it; the bulk arrays (weights, input spikes) come from
a NumPy generator seeded by one drawn integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOLDEN = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"


class Draw:
    """Where random decisions come from: `RngDraw` (NumPy) or `HypothesisDraw` (st.data())."""

    def int(self, lo: int, hi: int) -> int:  # inclusive
        raise NotImplementedError

    def choice(self, options):
        return options[self.int(0, len(options) - 1)]

    def bool(self) -> bool:
        return self.int(0, 1) == 1


class RngDraw(Draw):
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def int(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))


class HypothesisDraw(Draw):
    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def int(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))


@dataclass
class Case:
    network: object
    arch: object
    inputs: np.ndarray
    core_of: Optional[np.ndarray]  # explicit placement or None (arch.mapping decides)


def build_case(draw: Draw, *, max_lif: int = 3, max_steps: int = 8, max_samples: int = 3) -> Case:
    """A random small network built directly from trueasync.model dataclasses."""
    import trueasync as ta

    rng = np.random.default_rng(draw.int(0, 2**31 - 1))
    layers = []
    projections = []

    def weights(shape, wmax):
        return rng.integers(-wmax, wmax + 1, size=shape).astype(np.int64)

    def sparse(pre_size, post_size, wmax):
        n = draw.int(0, 3 * max(pre_size, post_size))
        pre = rng.integers(0, pre_size, size=n)
        post = rng.integers(0, post_size, size=n)
        if n and draw.bool():  # duplicate (pre, post) pairs: separate synapses
            k = draw.int(1, n)
            pre = np.concatenate([pre, pre[:k]])
            post = np.concatenate([post, post[:k]])
        return pre.astype(np.int64), post.astype(np.int64), weights(pre.shape, wmax)

    # input layers (one or two), shaped (H, W, C) or flat
    for k in range(1 + int(draw.int(0, 4) == 0)):
        if draw.bool():
            shape = (draw.int(1, 5), draw.int(1, 5), draw.int(1, 3))
            layers.append(ta.InputLayer(f"in{k}", shape[0] * shape[1] * shape[2], shape=shape))
        else:
            layers.append(ta.InputLayer(f"in{k}", draw.int(1, 10)))

    n_lif = draw.int(1, max_lif)
    for k in range(n_lif):
        earlier = list(range(len(layers)))
        shaped = [i for i in earlier if layers[i].shape is not None]
        wmax = draw.choice([1, 3, 8, 20])
        lif = dict(
            threshold=draw.int(1, 24),
            leak_shift=draw.int(0, 4),
            bias=draw.choice([0, 0, 0, 1, -1, 2, 5]),
            reset_mode=draw.choice(["hard", "subtract"]),
            reset_value=draw.choice([0, 0, -2, 1, 3]),
        )
        lif["leak_num"] = draw.int(0, 2 ** lif["leak_shift"])
        name = f"l{k}"
        conv = None
        if shaped and draw.int(0, 2) > 0:
            src = draw.choice(shaped)
            H, W, C = layers[src].shape
            pad = draw.int(0, 2)
            kh, kw = draw.int(1, min(4, H + 2 * pad)), draw.int(1, min(4, W + 2 * pad))
            stride = draw.int(1, 3)
            oc = draw.int(1, 3)
            Ho, Wo = (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1
            shape = (Ho, Wo, oc)
            layers.append(ta.LifLayer(name, Ho * Wo * oc, shape=shape, **lif))
            conv = src
            projections.append(
                ta.Conv2dProjection(layers[src].name, name, weights((oc, C, kh, kw), wmax),
                                    stride=stride, padding=pad)
            )
        else:
            layers.append(ta.LifLayer(name, draw.int(1, 12), **lif))
        size = layers[-1].size
        # feed-forward projections from earlier layers (at least one if no conv)
        n_ff = draw.int(0 if conv is not None else 1, 2)
        for _ in range(n_ff):
            src = draw.choice(earlier)
            if draw.bool():
                projections.append(
                    ta.DenseProjection(layers[src].name, name, weights((layers[src].size, size), wmax))
                )
            else:
                pre, post, w = sparse(layers[src].size, size, wmax)
                projections.append(ta.SparseProjection(layers[src].name, name, pre, post, w))

    # recurrent projections: from a LIF layer at or after the target
    lif_idx = [i for i, l in enumerate(layers) if isinstance(l, ta.LifLayer)]
    for _ in range(draw.int(0, 2)):
        post = draw.choice(lif_idx)
        pre = draw.choice([i for i in lif_idx if i >= post])
        a, b = layers[pre], layers[post]
        if draw.bool():
            projections.append(ta.DenseProjection(a.name, b.name, weights((a.size, b.size), 6)))
        else:
            p, q, w = sparse(a.size, b.size, 6)
            projections.append(ta.SparseProjection(a.name, b.name, p, q, w))

    weight_scale = draw.choice([1.0, 0.5, 1 / 8, 1 / 64])
    network = ta.Network(tuple(layers), tuple(projections), weight_scale=weight_scale, name="rand")

    samples, steps = draw.int(1, max_samples), draw.int(1, max_steps)
    rate = draw.choice([0.0, 0.1, 0.3, 0.6, 1.0])
    inputs = rng.random((samples, steps, network.n_inputs)) < rate

    n = network.n_neurons
    mw, mh, cpt = draw.int(1, 3), draw.int(1, 3), draw.choice([1, 2, 4])
    n_cores = mw * mh * cpt
    mapping = draw.choice(["packed", "spread", "locality", "explicit"])
    npc_min = -(-n // n_cores)
    npc = draw.choice([npc_min, npc_min + 1, 2 * npc_min, n])
    arch = ta.Architecture(
        mesh_width=mw, mesh_height=mh, cores_per_tile=cpt, neurons_per_core=npc,
        synapse_memory_kib=1024, weight_bits=16, synapse_lanes=draw.choice([1, 2, 4, 16]),
        fifo_depth=draw.choice([1, 2, 4, 8, 32]), link_width_bits=draw.choice([8, 16, 32, 64]),
        mapping="packed" if mapping == "explicit" else mapping,
    )
    core_of = None
    if mapping == "explicit":
        arch = _replace(arch, neurons_per_core=n)
        core_of = rng.integers(0, n_cores, size=n).astype(np.int64)
    else:
        try:
            ta.map_network(network, arch)
        except ta.SimulationError:
            arch = _replace(arch, neurons_per_core=n)  # spread/locality may need more room
    return Case(network, arch, inputs, core_of)


def _replace(arch, **kw):
    import dataclasses

    return dataclasses.replace(arch, **kw)


@pytest.fixture(scope="session")
def engine_cases():
    """The random-case helpers (session-scoped, so tests decorated with @given can use it):
    `engine_cases.build(draw)`, `engine_cases.rng(seed)`, `engine_cases.hypothesis(data)`."""
    return SimpleNamespace(build=build_case, rng=RngDraw, hypothesis=HypothesisDraw)
