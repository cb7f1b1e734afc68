"""Trainer SNN: folding, QAT == fixed point == trueasync.reference, NIR round trip, determinism."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from trainer import fixedpoint  # noqa: E402
from trainer.export import export_inputs, export_network  # noqa: E402
from trainer.folded import FoldedLayer, FoldedSNN, fold_subnet  # noqa: E402
from trainer.snn import leak_fraction  # noqa: E402
from trainer.supernet import BlockSpec, SearchSpace, SubnetConfig, SuperNet  # noqa: E402
from trainer.train import (  # noqa: E402
    evaluate_subnet,
    folded_accuracy,
    recalibrate,
    run_training,
    set_seed,
    train_supernet,
)

torch.set_num_threads(2)

C, H, W, T, K = 2, 12, 12, 4, 3


def synthetic(n=48, seed=0):
    """Class k lights a quadrant of polarity k % 2, plus noise; frames [N, T, C, H, W]."""
    g = np.random.default_rng(seed)
    labels = g.integers(0, K, n)
    frames = (g.random((n, T, C, H, W)) < 0.04).astype(np.float32)
    for i, lab in enumerate(labels):
        y0, x0 = (lab // 2) * 6, (lab % 2) * 6
        frames[i, :, lab % 2, y0:y0 + 6, x0:x0 + 6] += g.random((T, 6, 6)) < 0.5
    return frames, labels


def small_space():
    return SearchSpace(
        blocks=(BlockSpec(2, ("conv3", "conv5"), (4, 8)),
                BlockSpec(1, ("conv3", "conv5", "skip"), (4, 8))),
        timesteps=(2, 4), taus=(2.0, 4.0))


@pytest.fixture(scope="module")
def trained():
    frames, labels = synthetic()
    set_seed(0, 2)
    space = small_space()
    net = SuperNet((C, H, W), K, space)
    train_supernet(net, frames, labels, sampler="sandwich", epochs=2, batch_size=16, seed=0)
    cfg = SubnetConfig(("conv5", "conv3"), (8, 8), 4, 2.0)
    recalibrate(net, cfg, frames)
    return net, cfg, fold_subnet(net, cfg), frames, labels


def dense_model(seed=0, tau=4.0, reset="hard"):
    g = torch.Generator().manual_seed(seed)
    layers = [
        FoldedLayer("dense", torch.randn(10, C * H * W, generator=g) * 0.15, 0.05, 1, 0,
                    (C, H, W), (10,)),
        FoldedLayer("dense", torch.randn(K, 10, generator=g) * 0.6, -0.02, 1, 0, (10,), (K,)),
    ]
    return FoldedSNN((C, H, W), layers, tau, T, reset)


def test_leak_fraction():
    assert leak_fraction(2.0) == (1, 1)
    assert leak_fraction(4.0) == (3, 2)
    assert leak_fraction(8.0) == (7, 3)
    assert leak_fraction(float("inf")) == (1, 0)
    with pytest.raises(ValueError, match="not n / 2"):
        leak_fraction(3.0)


def test_space_rejects_bad_configs():
    space = small_space()
    with pytest.raises(ValueError, match="stride-2 block cannot be skipped"):
        BlockSpec(2, ("conv3", "skip"), (4,))
    with pytest.raises(ValueError, match="width"):
        space.validate(SubnetConfig(("conv3", "conv3"), (5, 4), 4, 2.0))
    with pytest.raises(ValueError, match="timesteps"):
        space.validate(SubnetConfig(("conv3", "conv3"), (4, 4), 3, 2.0))


def test_bn_folding_preserves_outputs(trained):
    net, cfg, folded, frames, _ = trained
    from trainer.snn import rebin, spike_input

    x = spike_input(rebin(torch.as_tensor(frames[:16]), cfg.timesteps)).double()
    net.double().eval()
    folded.double().eval()
    try:
        with torch.no_grad():
            a = net(x, cfg, return_all=True)
            b = folded(x, return_all=True)
        assert len(a) == len(b)
        for sa, sb in zip(a, b):
            assert torch.equal(sa, sb)
        assert a[-1].sum() > 0
    finally:
        net.float()
        folded.float()


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_fixed_point_matches_reference(trained, bits, kind):
    reference = pytest.importorskip("trueasync.reference")
    model = dense_model(bits) if kind == "dense" else trained[2]
    frames = trained[3][:12]
    network, meta = export_network(model, bits)
    assert meta["weight_bits"] == bits
    q = (1 << (bits - 1)) - 1
    for p in network.projections:
        assert np.abs(p.weights).max() <= q
    inputs = export_inputs(frames, model.timesteps)
    fp = fixedpoint.run(network, inputs, keep_spikes=True)
    ref = reference.run(network, inputs, "timestep")
    assert len(ref.spikes) == len(fp.spikes) == len(network.layers)
    for li, (a, b) in enumerate(zip(fp.spikes, ref.spikes)):
        assert a.shape == b.shape
        assert np.array_equal(a, b), f"layer {li} differs"
    assert fp.spikes[-1].any() or fp.spikes[1].any()
    # the quantised training model computes the same spikes, layer by layer
    from trainer.snn import rebin, spike_input

    with torch.no_grad():
        outs = model(spike_input(rebin(torch.as_tensor(frames), model.timesteps)), bits=bits,
                     return_all=True)
    for li, o in enumerate(outs, start=1):
        mine = o.numpy().transpose(1, 0, *range(2, o.dim()))  # [N, T, ...]
        if mine.ndim == 5:  # [N, T, C, H, W] -> HWC numbering
            mine = mine.transpose(0, 1, 3, 4, 2)
        assert np.array_equal(mine.reshape(mine.shape[0], mine.shape[1], -1).astype(bool),
                              fp.spikes[li])


def test_subtract_reset_and_no_leak_match_reference():
    reference = pytest.importorskip("trueasync.reference")
    frames, _ = synthetic(8, seed=3)
    for tau, reset in ((float("inf"), "subtract"), (8.0, "subtract"), (2.0, "hard")):
        model = dense_model(1, tau, reset)
        network, _ = export_network(model, 4)
        inputs = export_inputs(frames, T)
        fp = fixedpoint.run(network, inputs, keep_spikes=True)
        ref = reference.run(network, inputs, "timestep")
        for a, b in zip(fp.spikes, ref.spikes):
            assert np.array_equal(a, b)
        _, counts = folded_accuracy(model, frames, np.zeros(8, int), bits=4)
        assert np.array_equal(counts, fp.output_spike_counts)


def test_dense_export_uses_hwc_order():
    model = dense_model(2)
    network, _ = export_network(model, 8)
    w_int = model.layers[0].quantised(8)[0]  # [out, C*H*W], CHW order
    dense = network.projections[0].weights  # [H*W*C, out]
    c, y, x = 1, 3, 7
    assert dense[(y * W + x) * C + c, 5] == int(w_int[5, c * H * W + y * W + x])


def test_quantised_model_equals_fixed_point_after_training():
    """A small network trained with QAT: the quantised float model and the exported integer
    network give identical output spike counts on every sample (identical by construction)."""
    frames, labels = synthetic(64, seed=1)
    space = small_space()
    res = run_training(frames[:48], labels[:48], frames[48:], labels[48:], K, space=space,
                       config=SubnetConfig(("conv3", "skip"), (8, 8), 4, 2.0), epochs=3,
                       qat_epochs=1, bits=4, batch_size=16, seed=0, threads=2)
    network, _ = export_network(res.folded, 4)
    fp = fixedpoint.run(network, export_inputs(frames, 4))
    acc, counts = folded_accuracy(res.folded, frames, labels, bits=4)
    assert np.array_equal(counts, fp.output_spike_counts)
    assert acc == fp.accuracy(labels)
    assert res.metrics["float_val_accuracy"] > 0.5  # it learned something


def test_training_is_deterministic():
    frames, labels = synthetic(32, seed=2)
    space = small_space()
    cfg = SubnetConfig(("conv3", "conv3"), (4, 4), 2, 2.0)
    runs = []
    for _ in range(2):
        res = run_training(frames[:24], labels[:24], frames[24:], labels[24:], K, space=space,
                           config=cfg, search_epochs=1, epochs=1, qat_epochs=1, bits=4,
                           batch_size=8, seed=7, threads=2)
        m = {k: v for k, v in res.metrics.items() if not k.endswith("seconds")}
        runs.append((m, [p.detach().clone() for p in res.folded.parameters()]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        assert torch.equal(a, b)


def test_subnet_evaluation_with_inherited_weights(trained):
    net, _, _, frames, labels = trained
    import random

    cfg = net.space.sample(random.Random(3))
    out = evaluate_subnet(net, cfg, frames, labels, calib_frames=frames)
    assert 0.0 <= out["accuracy"] <= 1.0
    assert len(out["spikes_per_layer_mean"]) == len(net.active_layers(cfg)[0]) + 1


def test_nir_round_trip(trained, tmp_path):
    nir_io = pytest.importorskip("trainer.nir_io")
    pytest.importorskip("nir")
    frames = trained[3][:8]
    for model, bits in ((trained[2], 4), (dense_model(4), 8), (dense_model(5), 2)):
        network, meta = export_network(model, bits)
        path = tmp_path / f"net{bits}.nir"
        nir_io.write_nir(network, path, meta["layer_scales"])
        imp = nir_io.nir_to_network(path)
        assert all(imp.exact) and all(imp.leak_exact)
        for a, b in zip(network.layers[1:], imp.network.layers[1:]):
            assert (a.size, a.threshold, a.bias, a.leak_num, a.leak_shift, a.shape) == \
                   (b.size, b.threshold, b.bias, b.leak_num, b.leak_shift, b.shape)
        for a, b in zip(network.projections, imp.network.projections):
            assert np.array_equal(a.weights, b.weights)
        inputs = export_inputs(frames, model.timesteps)
        assert np.array_equal(fixedpoint.run(network, inputs).output_spike_counts,
                              fixedpoint.run(imp.network, inputs).output_spike_counts)


def test_nir_import_foreign_and_errors():
    nir = pytest.importorskip("nir")
    from trainer.nir_io import NirImportError, nir_to_network

    g = np.random.default_rng(0)
    w1 = g.normal(size=(6, 5))
    # CubaLIF with tau_syn == dt behaves as LIF with gain r*w_in/tau_mem; per-neuron thresholds
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc": nir.Linear(weight=w1),
        "lif": nir.CubaLIF(tau_syn=np.ones(6), tau_mem=np.full(6, 4.0), r=np.full(6, 4.0),
                           v_leak=np.zeros(6), v_threshold=np.linspace(0.5, 1.0, 6),
                           v_reset=np.zeros(6), w_in=np.ones(6)),
        "output": nir.Output(output_type={"output": np.array([6])}),
    }, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    imp = nir_to_network(graph, weight_bits=8, dt=1.0)  # tau in time steps
    lif = imp.network.layers[1]
    assert (lif.leak_num, lif.leak_shift) == (3, 2)
    assert imp.network.projections[0].weights.shape == (5, 6)
    assert np.abs(imp.network.projections[0].weights).max() <= 127

    bad = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc": nir.Linear(weight=w1),
        "li": nir.LI(tau=np.ones(6), r=np.ones(6), v_leak=np.zeros(6)),
        "output": nir.Output(output_type={"output": np.array([6])}),
    }, edges=[("input", "fc"), ("fc", "li"), ("li", "output")])
    with pytest.raises(NirImportError, match="unsupported NIR node 'li' of type LI"):
        nir_to_network(bad)
    syn = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc": nir.Linear(weight=w1),
        "lif": nir.CubaLIF(tau_syn=np.full(6, 3.0), tau_mem=np.full(6, 4.0), r=np.ones(6),
                           v_leak=np.zeros(6), v_threshold=np.ones(6), v_reset=np.zeros(6),
                           w_in=np.ones(6)),
        "output": nir.Output(output_type={"output": np.array([6])}),
    }, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    with pytest.raises(NirImportError, match="tau_syn == dt"):
        nir_to_network(syn, dt=1.0)
