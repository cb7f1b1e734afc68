"""The NumPy reference (trueasync.reference): golden SANA-FE figures and hand-computed cases."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from trueasync import reference
from trueasync.model import (
    Architecture,
    Conv2dProjection,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOLDEN = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"


def spikes_of(res, layer):
    return res.spikes[res.layer_names.index(layer)]


# ------------------------------------------------------------------------------------------
# golden workload


@pytest.mark.skipif(not GOLDEN.with_suffix(".json").exists(), reason=f"{GOLDEN}.json not found")
def test_golden_workload_sanafe_semantics():
    from trueasync.workload import load_workload

    wl = load_workload(GOLDEN)
    res = reference.run(wl.network, wl.inputs, "sanafe", wl.core_of, wl.arch, wl.costs.energy_j)
    c = {k: int(v[0]) for k, v in res.counts.items()}
    assert c["fired"] == 17683
    assert res.spikes_per_layer.tolist() == [[7936, 5807, 3739, 201]]
    assert c["synaptic_ops"] == 5587214
    assert c["packets"] == 68776
    assert c["hops"] == 185987
    assert c["neuron_updates"] == 84682
    assert c["neuron_accesses"] == (512 + 256 + 10) * 100
    exp = json.loads(Path(str(GOLDEN) + ".expected.json").read_text())["sanafe"]
    assert exp["totals"]["fired"] == c["fired"]
    bd = exp["energy_breakdown_total"]
    assert res.energy_j[0] == pytest.approx(bd["total"], rel=1e-9)
    for unit in ("synapse", "soma", "network"):
        assert res.energy_breakdown_j[unit][0] == pytest.approx(bd[unit], rel=1e-9)


# ------------------------------------------------------------------------------------------
# hand-computed neuron arithmetic


def leak_net(weight_scale=1 / 64):
    # in(1) -> a(2): weights [50, -50], threshold 64 (1.0), leak 7/8, hard reset to 0
    return Network(
        layers=(InputLayer("in", 1), LifLayer("a", 2, threshold=64, leak_num=7, leak_shift=3)),
        projections=(DenseProjection("in", "a", np.array([[50, -50]])),),
        weight_scale=weight_scale,
    )


def test_leak_and_rounding_timestep():
    x = np.zeros((1, 4, 1), bool)
    x[0, :2, 0] = True
    res = reference.run(leak_net(), x, "timestep")
    # pos: 50 | floor(43.75)+50 = 93 >= 64 fires | 0 | 0
    # neg: -50 | floor(-43.75)-50 = -94 | floor(-82.25) = -83 | floor(-72.625) = -73
    assert spikes_of(res, "a")[0].astype(int).tolist() == [[0, 0], [1, 0], [0, 0], [0, 0]]
    assert res.extra["v_final"][1].tolist() == [[0, -73]]
    assert res.extra["v_final"][1].dtype == np.int64
    c = {k: int(v[0]) for k, v in res.counts.items()}
    # updates: t0 2 (reached), t1 2, t2 neg only (pos v=0, nothing arrives), t3 neg only = 6
    assert c["lif_updates"] == 6
    assert c["neuron_updates"] == 6 + 2  # plus the two input spikes
    assert c["neuron_accesses"] == 6
    assert c["fired"] == 3
    assert c["synaptic_ops"] == 2 * 2


def test_leak_and_trunc_sanafe():
    x = np.zeros((1, 4, 1), bool)
    x[0, :2, 0] = True
    res = reference.run(leak_net(), x, "sanafe")
    # one step of delay; pos: 0 | 50/64 | trunc(43.75)=43, +50 = 93/64 > 1 fires | 0
    # neg: 0 | -50/64 | trunc(-43.75) = -43, -50 = -93/64 | trunc(-81.375) = -81/64
    assert spikes_of(res, "a")[0].astype(int).tolist() == [[0, 0], [0, 0], [1, 0], [0, 0]]
    assert res.extra["v_final"][1].tolist() == [[0.0, -81 / 64]]
    c = {k: int(v[0]) for k, v in res.counts.items()}
    # updates: t0 0, t1 2 (reached), t2 2 (|v|>0), t3 neg only = 5
    assert c["lif_updates"] == 5
    assert c["neuron_updates"] == 5 + 2
    assert c["neuron_accesses"] == 2 * 4
    assert c["synaptic_ops"] == 4


def test_threshold_comparison_differs():
    # v == threshold fires in timestep (>=) but not in sanafe (strict >)
    net = Network(
        layers=(InputLayer("in", 1), LifLayer("a", 1, threshold=10, leak_num=1, leak_shift=0)),
        projections=(DenseProjection("in", "a", np.array([[10]])),),
        weight_scale=1.0,
    )
    x = np.ones((1, 3, 1), bool)
    assert spikes_of(reference.run(net, x, "timestep"), "a")[0, :, 0].tolist() == [1, 1, 1]
    # sanafe: 0 | 10 (not > 10) | 20 > 10 fires, reset 0
    assert spikes_of(reference.run(net, x, "sanafe"), "a")[0, :, 0].tolist() == [0, 0, 1]


def test_subtract_reset_and_bias():
    # a: threshold 10, no leak, subtract reset, bias 3, input weight 6
    net = Network(
        layers=(
            InputLayer("in", 1),
            LifLayer("a", 1, threshold=10, leak_num=1, leak_shift=0, bias=3,
                     reset_mode="subtract"),
        ),
        projections=(DenseProjection("in", "a", np.array([[6]])),),
        weight_scale=1.0,
    )
    x = np.zeros((1, 5, 1), bool)
    x[0, [0, 1, 3], 0] = True
    r = reference.run(net, x, "timestep")
    # v: 9 | 9+3+6 = 18 fires -> 8 | 11 fires -> 1 | 1+3+6 = 10 fires -> 0 | 3
    assert spikes_of(r, "a")[0, :, 0].tolist() == [0, 1, 1, 1, 0]
    assert r.extra["v_final"][1].tolist() == [[3]]
    # bias != 0: updated every step
    assert int(r.counts["lif_updates"][0]) == 5
    s = reference.run(net, x, "sanafe")
    # v: 3 | 3+3+6 = 12 > 10 fires -> 2 | 2+3+6 = 11 fires -> 1 | 4 | 4+3+6 = 13 fires -> 3
    assert spikes_of(s, "a")[0, :, 0].tolist() == [0, 1, 1, 0, 1]
    assert s.extra["v_final"][1].tolist() == [[3.0]]
    assert int(s.counts["lif_updates"][0]) == 5


def test_hard_reset_value():
    net = Network(
        layers=(InputLayer("in", 1),
                LifLayer("a", 1, threshold=8, leak_num=1, leak_shift=0, reset_value=-4)),
        projections=(DenseProjection("in", "a", np.array([[9]])),),
        weight_scale=1.0,
    )
    x = np.ones((1, 3, 1), bool)
    r = reference.run(net, x, "timestep")
    # 9 fires -> -4 | 5 | 14 fires -> -4
    assert spikes_of(r, "a")[0, :, 0].tolist() == [1, 0, 1]
    assert r.extra["v_final"][1].tolist() == [[-4]]


def test_same_step_feed_forward_and_one_step_late_sanafe():
    # in -> a -> b, every weight reaches threshold at once
    net = Network(
        layers=(
            InputLayer("in", 1),
            LifLayer("a", 1, threshold=4, leak_num=0, leak_shift=0),
            LifLayer("b", 1, threshold=4, leak_num=0, leak_shift=0),
        ),
        projections=(DenseProjection("in", "a", np.array([[5]])),
                     DenseProjection("a", "b", np.array([[5]]))),
        weight_scale=1.0,
    )
    x = np.zeros((1, 4, 1), bool)
    x[0, 0, 0] = True
    r = reference.run(net, x, "timestep")
    assert spikes_of(r, "a")[0, :, 0].tolist() == [1, 0, 0, 0]
    assert spikes_of(r, "b")[0, :, 0].tolist() == [1, 0, 0, 0]
    s = reference.run(net, x, "sanafe")
    assert spikes_of(s, "a")[0, :, 0].tolist() == [0, 1, 0, 0]
    assert spikes_of(s, "b")[0, :, 0].tolist() == [0, 0, 1, 0]
    # synaptic ops: input spike (1 synapse) + a spike (1 synapse); b has no outgoing synapse
    assert int(r.counts["synaptic_ops"][0]) == 2
    assert int(s.counts["synaptic_ops"][0]) == 2
    # updates timestep: t0 a, b reached; leak 0 so nothing carries -> 2 (+1 input)
    assert int(r.counts["neuron_updates"][0]) == 3
    # sanafe: t1 a reached, t2 b reached -> 2 (+1 input)
    assert int(s.counts["neuron_updates"][0]) == 3


def recurrent_net():
    # in -> r (weight 5), r -> r (weight 5), threshold 4, no leak
    return Network(
        layers=(InputLayer("in", 1), LifLayer("r", 1, threshold=4, leak_num=1, leak_shift=0)),
        projections=(DenseProjection("in", "r", np.array([[5]])),
                     DenseProjection("r", "r", np.array([[5]]))),
        weight_scale=1.0,
    )


def test_recurrent_projection_is_one_step_late():
    x = np.zeros((1, 4, 1), bool)
    x[0, 0, 0] = True
    r = reference.run(recurrent_net(), x, "timestep")
    # t0 fires from the same-step input; every later step from its own previous spike
    assert spikes_of(r, "r")[0, :, 0].tolist() == [1, 1, 1, 1]
    c = {k: int(v[0]) for k, v in r.counts.items()}
    assert c["synaptic_ops"] == 1 + 4  # the last step's spike counts too
    assert c["neuron_updates"] == 4 + 1
    s = reference.run(recurrent_net(), x, "sanafe")
    assert spikes_of(s, "r")[0, :, 0].tolist() == [0, 1, 1, 1]
    c = {k: int(v[0]) for k, v in s.counts.items()}
    assert c["synaptic_ops"] == 1 + 3
    assert c["neuron_updates"] == 3 + 1
    assert c["neuron_accesses"] == 4


def test_samples_are_independent():
    x = np.zeros((3, 4, 1), bool)
    x[0, 0, 0] = True
    x[2, 2, 0] = True
    r = reference.run(recurrent_net(), x, "timestep")
    assert spikes_of(r, "r")[:, :, 0].tolist() == [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 1, 1]]
    assert r.counts["fired"].tolist() == [5, 0, 3]


# ------------------------------------------------------------------------------------------
# connectivity


def conv_net(in_hw=3, kernel=None, stride=1, padding=1):
    if kernel is None:
        kernel = np.arange(1, 19).reshape(2, 1, 3, 3)
    out_c, in_c, kh, kw = kernel.shape
    ho = (in_hw + 2 * padding - kh) // stride + 1
    return Network(
        layers=(
            InputLayer("in", in_hw * in_hw * in_c, shape=(in_hw, in_hw, in_c)),
            LifLayer("c", ho * ho * out_c, threshold=10**6, leak_num=1, leak_shift=0,
                     shape=(ho, ho, out_c)),
        ),
        projections=(Conv2dProjection("in", "c", kernel, stride=stride, padding=padding),),
        weight_scale=1.0,
    )


def test_conv2d_synapse_counts():
    net = conv_net()
    pre, post, w = reference.projection_coo(net, net.projections[0])
    deg = np.bincount(pre, minlength=9).reshape(3, 3)
    # 3x3 input, 3x3 kernel, padding 1, 2 output channels: corners reach 4 output pixels,
    # edges 6, the centre 9 (times 2 channels)
    assert deg.tolist() == [[8, 12, 8], [12, 18, 12], [8, 12, 8]]
    assert pre.size == 98
    x = np.zeros((1, 2, 9), bool)
    x[0, 0, 4] = True  # centre
    x[0, 1, 0] = True  # corner (0, 0)
    r = reference.run(net, x, "timestep")
    assert int(r.counts["synaptic_ops"][0]) == 18 + 8
    assert int(r.counts["fired"][0]) == 2
    # updates: t0 all 18 reached by the centre; t1 all have |v| > 0
    assert int(r.counts["lif_updates"][0]) == 18 + 18


def test_conv2d_weights_land_where_torch_puts_them():
    kernel = np.arange(1, 19).reshape(2, 1, 3, 3)
    net = conv_net(kernel=kernel)
    x = np.zeros((1, 1, 9), bool)
    x[0, 0, 4] = True  # centre pixel (1, 1)
    r = reference.run(net, x, "timestep")
    v = r.extra["v_final"][1].reshape(3, 3, 2)  # channels last
    # cross-correlation with padding 1: out[oy, ox, co] = K[co, 0, 2 - oy, 2 - ox]
    for oy in range(3):
        for ox in range(3):
            for co in range(2):
                assert v[oy, ox, co] == kernel[co, 0, 2 - oy, 2 - ox]


def test_conv2d_stride_and_multichannel_counts():
    kernel = np.ones((3, 2, 3, 3), dtype=np.int64)
    net = Network(
        layers=(
            InputLayer("in", 5 * 5 * 2, shape=(5, 5, 2)),
            LifLayer("c", 2 * 2 * 3, threshold=100, shape=(2, 2, 3)),
        ),
        projections=(Conv2dProjection("in", "c", kernel, stride=2, padding=0),),
        weight_scale=1.0,
    )
    pre, post, w = reference.projection_coo(net, net.projections[0])
    deg = np.bincount(pre, minlength=50).reshape(5, 5, 2)
    # pixel (0,0) is in output (0,0)'s window only; (2,2) in all four; (2,0) in two
    assert deg[0, 0].tolist() == [3, 3]
    assert deg[2, 2].tolist() == [12, 12]
    assert deg[2, 0].tolist() == [6, 6]
    assert pre.size == 2 * 2 * 9 * 2 * 3


def test_sparse_duplicates_are_separate_synapses():
    net = Network(
        layers=(InputLayer("in", 2), LifLayer("a", 3, threshold=100, leak_num=1, leak_shift=0)),
        projections=(SparseProjection("in", "a", np.array([0, 0, 1, 0]), np.array([1, 1, 0, 2]),
                                      np.array([1, 2, 3, 0])),),
        weight_scale=1.0,
    )
    x = np.zeros((1, 3, 2), bool)
    x[0, 0, 0] = True
    x[0, 1, 0] = True
    x[0, 2, 1] = True
    r = reference.run(net, x, "timestep")
    assert int(r.counts["synaptic_ops"][0]) == 3 + 3 + 1
    assert r.extra["v_final"][1].tolist() == [[3, 6, 0]]
    # t0: posts 1, 2 reached (post 2 by a zero weight); t1: 1, 2; t2: 0 reached, 1 has v
    # (post 2 has v == 0 and is not reached at t2)
    assert int(r.counts["lif_updates"][0]) == 2 + 2 + 2


# ------------------------------------------------------------------------------------------
# packets, hops, energy


def routing_net():
    # in (2 neurons) -> a (3 neurons) dense; a -> a sparse self-loop on neuron 0 only
    return Network(
        layers=(InputLayer("in", 2), LifLayer("a", 3, threshold=1000)),
        projections=(
            DenseProjection("in", "a", np.zeros((2, 3), dtype=np.int64)),
            SparseProjection("a", "a", np.array([0]), np.array([0]), np.array([1])),
        ),
        weight_scale=1.0,
    )


def test_packets_and_hops_mesh():
    net = routing_net()
    core_of = np.array([0, 0, 1, 2, 3])
    arch = Architecture(mesh_width=2, mesh_height=2, cores_per_tile=1)
    x = np.zeros((1, 2, 2), bool)
    x[0, 0, :] = True  # both inputs at t0
    x[0, 1, 1] = True
    r = reference.run(net, x, "timestep", core_of=core_of, arch=arch)
    c = {k: int(v[0]) for k, v in r.counts.items()}
    # per input spike: cores 1 (x0,y1: 1 north), 2 (x1,y0: 1 east), 3 (x1,y1: east+north)
    assert c["packets"] == 3 * 3
    assert c["hops"] == 4 * 3
    assert (c["hops_east"], c["hops_west"], c["hops_north"], c["hops_south"]) == (6, 0, 6, 0)
    assert c["synaptic_ops"] == 3 * 3  # zero weights count


def test_packets_hops_shared_tiles_and_energy():
    net = routing_net()
    # cores 0,1 share tile 0 (x0), cores 2,3 share tile 1 (x1); a0 on core 3, a1 on 0, a2 on 1
    core_of = np.array([3, 3, 3, 0, 1])
    arch = Architecture(mesh_width=2, mesh_height=1, cores_per_tile=2, link_width_bits=16)
    x = np.zeros((1, 1, 2), bool)
    x[0, 0, 0] = True
    e = {"message_out": 1.0, "message_in": 0.5, "east_hop": 0.25, "west_hop": 0.125,
         "soma_access": 0.0, "soma_update": 0.0, "soma_spike": 0.0, "synapse_event": 2.0,
         "north_hop": 7.0, "south_hop": 7.0}
    r = reference.run(net, x, "timestep", core_of=core_of, arch=arch, energy_j=e)
    c = {k: int(v[0]) for k, v in r.counts.items()}
    # input 0 on core 3 (tile 1) -> cores 3 (own, 0 hops), 0 and 1 (tile 0: 1 west each)
    assert c["packets"] == 3
    assert c["hops"] == 2 and c["hops_west"] == 2
    # packets of 2 + (1 + 0 + 1) + (2 + 10) = 16 bits: one flit on a 16-bit link; 2 on 8 bits
    assert arch.packet_bits == 16
    assert r.energy_breakdown_j["network"][0] == 3 * 1.5 + 2 * 0.125 * 1
    narrow = reference.run(net, x, "timestep", core_of=core_of,
                           arch=replace(arch, link_width_bits=8), energy_j=e)
    assert narrow.energy_breakdown_j["network"][0] == 3 * 1.5 + 2 * 0.125 * 2
    assert r.energy_breakdown_j["synapse"][0] == 2.0 * 3
    assert r.energy_j[0] == 3 * 1.5 + 0.25 + 6.0


def test_neuron_without_synapses_sends_no_packets():
    net = Network(
        layers=(InputLayer("in", 1), LifLayer("a", 1, threshold=1, leak_num=1, leak_shift=0)),
        projections=(DenseProjection("in", "a", np.array([[1]])),),
        weight_scale=1.0,
    )
    x = np.ones((1, 3, 1), bool)
    r = reference.run(net, x, "timestep", core_of=np.array([0, 0]),
                      arch=Architecture(mesh_width=1, mesh_height=1))
    assert r.counts["fired"].tolist() == [6]
    assert r.counts["packets"].tolist() == [3]  # inputs only, own core, 0 hops
    assert r.counts["hops"].tolist() == [0]


def test_soma_energy_counts_lif_only():
    x = np.zeros((1, 4, 1), bool)
    x[0, :2, 0] = True
    e = dict.fromkeys(reference.ENERGY_KEYS, 0.0)
    e.update(soma_access=1.0, soma_update=10.0, soma_spike=100.0)
    r = reference.run(leak_net(), x, "sanafe", energy_j=e)
    # accesses 8, LIF updates 5, LIF spikes 1 (input spikes cost nothing)
    assert r.energy_breakdown_j["soma"][0] == 8 + 50 + 100


def test_bad_inputs_shape():
    with pytest.raises(ValueError, match=r"inputs must be \[sample, step, 1\]"):
        reference.run(leak_net(), np.zeros((1, 2, 3), bool))
