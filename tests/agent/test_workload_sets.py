"""Held out means held out: the pre-training, tuning and benchmark workload sets are disjoint
families (docs/search.md, "Workload sets")."""

import pytest

from agent import workloads
from trueasync.model import Conv2dProjection, DenseProjection, SparseProjection


def lif_depth(net) -> int:
    return sum(1 for layer in net.layers if not type(layer).__name__ == "InputLayer")


def kinds(net) -> set:
    out = set()
    for p in net.projections:
        out.add({DenseProjection: "dense", Conv2dProjection: "conv", SparseProjection: "sparse"}[type(p)])
        if p.pre == p.post:
            out.add("recurrent")
    return out


def test_pretraining_set_is_one_family_the_others_never_reuse():
    pre = workloads.training_workloads()
    assert len(pre) >= 8
    for wl in pre.values():
        assert kinds(wl.network) == {"dense"} and lif_depth(wl.network) == 2
        assert all(layer.shape is None for layer in wl.network.layers)  # flat Poisson inputs
    tune = workloads.tuning_workloads()
    assert not set(tune) & set(pre)
    sizes = {tuple(layer.size for layer in wl.network.layers) for wl in pre.values()}
    for wl in tune.values():
        assert "recurrent" not in kinds(wl.network) and lif_depth(wl.network) <= 2
        assert tuple(layer.size for layer in wl.network.layers) not in sizes


def test_benchmark_set_is_held_out():
    if not workloads.NMNIST_DIR.is_dir():
        pytest.skip(f"N-MNIST subset not found at {workloads.NMNIST_DIR}")
    bench = workloads.benchmark_workloads()
    pre = workloads.training_workloads()
    tune = workloads.tuning_workloads()
    assert not set(bench) & (set(pre) | set(tune))
    seen_inputs = {wl.network.n_inputs for wl in list(pre.values()) + list(tune.values())}
    found = set()
    for wl in bench.values():
        net = wl.network
        k = kinds(net)
        assert k != {"dense"} or lif_depth(net) >= 3  # never a depth-2 dense MLP like pre-training
        found |= k
        if lif_depth(net) >= 3:
            found.add("deep")
        if net.n_inputs not in seen_inputs:
            found.add("new input size")
    assert {"conv", "sparse", "recurrent", "deep", "new input size"} <= found
    conv = bench["nmnist-conv2-c8s2-c16s2-10"].network
    assert sum(isinstance(p, Conv2dProjection) for p in conv.projections) == 2
