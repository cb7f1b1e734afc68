"""Every bad request is refused with trueasync.SimulationError (a ValueError) whose message names
the field, layer or limit at fault; nothing hangs and nothing crashes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import trueasync as ta
from trueasync import SimulationError


def net(**over):
    """in(6) -> h(4) -> out(3), dense; keyword overrides replace layers/projections/scale."""
    rng = np.random.default_rng(0)
    layers = over.pop("layers", (
        ta.InputLayer("in", 6),
        ta.LifLayer("h", 4, threshold=3, leak_num=1, leak_shift=1),
        ta.LifLayer("out", 3, threshold=2),
    ))
    projections = over.pop("projections", (
        ta.DenseProjection("in", "h", rng.integers(-2, 4, (6, 4))),
        ta.DenseProjection("h", "out", rng.integers(-2, 4, (4, 3))),
    ))
    return ta.Network(tuple(layers), tuple(projections), weight_scale=over.pop("weight_scale", 1.0))


def lif(name="h", size=4, **kw):
    args = dict(threshold=3, leak_num=1, leak_shift=1)
    args.update(kw)
    return ta.LifLayer(name, size, **args)


ARCH = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=16)
INPUTS = np.zeros((2, 3, 6), dtype=bool)
INPUTS[:, :, ::2] = True


def refuse(match: str, network=None, arch=ARCH, inputs=None, **kw):
    """simulate(...) must raise SimulationError whose message contains `match` (case-insensitive)."""
    network = net() if network is None else network
    inputs = INPUTS if inputs is None else inputs
    with pytest.raises(SimulationError) as info:
        ta.simulate(network, arch, inputs, **kw)
    assert isinstance(info.value, ValueError)
    assert match.lower() in str(info.value).lower(), f"{match!r} not in {str(info.value)!r}"
    return str(info.value)


def test_a_good_request_runs():
    r = ta.simulate(net(), ARCH, INPUTS)
    assert r.n_samples == 2 and r.counts["fired"].sum() > 0


def test_simulation_error_is_a_value_error():
    assert issubclass(SimulationError, ValueError)


# ---- sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -3])
def test_input_layer_size_zero_or_negative(size):
    layers = (ta.InputLayer("in", size), lif("h"), lif("out", 3))
    msg = refuse("size must be at least 1", net(layers=layers), inputs=np.zeros((1, 2, max(size, 0)), bool))
    assert "'in'" in msg


@pytest.mark.parametrize("size", [0, -1])
def test_lif_layer_size_zero_or_negative(size):
    layers = (ta.InputLayer("in", 6), lif("h", size), lif("out", 3))
    msg = refuse("size must be at least 1", net(layers=layers, projections=()))
    assert "'h'" in msg


def test_fractional_size():
    layers = (ta.InputLayer("in", 6), lif("h", 3.5), lif("out", 3))
    refuse("layer 'h'.size must be an integer", net(layers=layers, projections=()))


def test_integral_float_size_is_accepted():
    layers = (ta.InputLayer("in", 6), lif("h", 4.0), lif("out", 3))
    r = ta.simulate(net(layers=layers), ARCH, INPUTS)
    assert r.spikes_per_layer.shape == (2, 3)


def test_shape_that_does_not_hold_size():
    layers = (ta.InputLayer("in", 6, shape=(2, 2, 2)), lif("h"), lif("out", 3))
    refuse("holds 8 neurons but size is 6", net(layers=layers))


def test_shape_with_zero():
    layers = (ta.InputLayer("in", 6, shape=(0, 3, 2)), lif("h"), lif("out", 3))
    refuse("must be positive", net(layers=layers))


# ---- weights --------------------------------------------------------------------------------


def test_dense_weights_wrong_shape():
    p = (ta.DenseProjection("in", "h", np.ones((5, 4), int)), ta.DenseProjection("h", "out", np.ones((4, 3), int)))
    msg = refuse("dense weights must have shape [6, 4]", net(projections=p))
    assert "in->h" in msg


def test_dense_weights_transposed():
    p = (ta.DenseProjection("in", "h", np.ones((4, 6), int)),)
    refuse("dense weights must have shape [6, 4]", net(projections=p))


def test_dense_weights_not_2d():
    p = (ta.DenseProjection("in", "h", np.ones(24, int)),)
    refuse("dense weights must have shape [6, 4]", net(projections=p))


def test_sparse_lengths_differ():
    p = (ta.SparseProjection("in", "h", np.array([0, 1]), np.array([0]), np.array([1, 1])),)
    refuse("must have equal lengths", net(projections=p))


def test_sparse_index_out_of_range():
    p = (ta.SparseProjection("in", "h", np.array([0, 6]), np.array([0, 1]), np.array([1, 1])),)
    refuse("pre_index 6 is outside the 6 neurons", net(projections=p))
    p = (ta.SparseProjection("in", "h", np.array([0, 1]), np.array([0, 4]), np.array([1, 1])),)
    refuse("post_index 4 is outside the 4 neurons", net(projections=p))


def test_sparse_negative_index():
    p = (ta.SparseProjection("in", "h", np.array([0, -1]), np.array([0, 1]), np.array([1, 1])),)
    refuse("pre_index has negative entries", net(projections=p))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(bad):
    w = np.ones((6, 4))
    w[2, 1] = bad
    refuse("in->h weights contains NaN or infinite", net(projections=(ta.DenseProjection("in", "h", w),)))


def test_fractional_weights():
    w = np.ones((6, 4))
    w[0, 0] = 0.5
    refuse("in->h weights must hold integers", net(projections=(ta.DenseProjection("in", "h", w),)))


def test_weights_outside_int32():
    w = np.ones((6, 4), dtype=np.int64)
    w[0, 0] = 2**31
    refuse("outside the int32 range", net(projections=(ta.DenseProjection("in", "h", w),)))


def test_non_numeric_weights():
    w = np.full((6, 4), "a")
    refuse("must be an integer array", net(projections=(ta.DenseProjection("in", "h", w),)))


def test_projection_to_unknown_layer():
    refuse("no layer is named 'nope'", net(projections=(ta.DenseProjection("in", "nope", np.ones((6, 4))),)))


def test_projection_into_an_input_layer():
    p = (ta.DenseProjection("h", "in", np.ones((4, 6), int)),)
    refuse("its target is an input layer", net(projections=p))


def test_duplicate_layer_names():
    layers = (ta.InputLayer("in", 6), lif("h"), lif("h", 3))
    refuse("two layers are named 'h'", net(layers=layers, projections=()))


def test_no_input_layer():
    layers = (lif("h"), lif("out", 3))
    refuse("no input layer", net(layers=layers, projections=()), inputs=np.zeros((1, 2, 0), bool))


# ---- LIF parameters and scale ----------------------------------------------------------------


@pytest.mark.parametrize("field,value,match", [
    ("threshold", np.nan, "layer 'h'.threshold must be a finite integer"),
    ("threshold", np.inf, "layer 'h'.threshold must be a finite integer"),
    ("threshold", 2.5, "layer 'h'.threshold must be an integer"),
    ("threshold", 0, "threshold must be a positive integer"),
    ("threshold", -4, "threshold must be a positive integer"),
    ("bias", 0.25, "layer 'h'.bias must be an integer"),
    ("bias", np.nan, "layer 'h'.bias must be a finite integer"),
    ("reset_value", 1.5, "layer 'h'.reset_value must be an integer"),
    ("leak_num", 0.5, "layer 'h'.leak_num must be an integer"),
    ("leak_num", -1, "layer 'h'.leak_num must be >= 0"),
    ("leak_num", 3, "leak_num must be in 0..=2**leak_shift = 2"),
    ("leak_shift", 17, "leak_shift must be in 0..=16"),
    ("leak_shift", -1, "layer 'h'.leak_shift must be >= 0"),
    ("leak_shift", 1.5, "layer 'h'.leak_shift must be an integer"),
    ("threshold", 2**31, "outside the 32-bit range"),
    ("threshold", True, "must be an integer, got a boolean"),
    ("reset_mode", "soft", "reset_mode must be 'hard' or 'subtract'"),
])
def test_bad_lif_fields(field, value, match):
    layers = (ta.InputLayer("in", 6), lif("h", **{field: value}), lif("out", 3))
    refuse(match, net(layers=layers))


@pytest.mark.parametrize("scale", [np.nan, np.inf, 0.0, -1.0])
def test_bad_weight_scale(scale):
    refuse("weight_scale must be a positive finite number", net(weight_scale=scale))


@pytest.mark.parametrize("scale", [np.nan, 0.0])
def test_bad_weight_scale_sanafe(scale):
    refuse("weight_scale", net(weight_scale=scale), semantics="sanafe")


# ---- conv geometry ---------------------------------------------------------------------------


def conv_net(in_shape=(5, 5, 2), out_shape=(3, 3, 4), kernel=(4, 2, 3, 3), stride=1, padding=0,
             post_shape=True):
    size_out = int(np.prod(out_shape))
    layers = (
        ta.InputLayer("in", int(np.prod(in_shape)), shape=in_shape),
        ta.LifLayer("conv", size_out, threshold=2, shape=out_shape if post_shape else None),
    )
    p = (ta.Conv2dProjection("in", "conv", np.ones(kernel, int), stride=stride, padding=padding),)
    return ta.Network(layers, p)


def conv_inputs(in_shape=(5, 5, 2)):
    return np.ones((1, 2, int(np.prod(in_shape))), bool)


CONV_ARCH = dataclasses.replace(ARCH, neurons_per_core=32)


def test_conv_good_geometry_runs():
    r = ta.simulate(conv_net(), CONV_ARCH, conv_inputs())
    assert r.counts["synaptic_ops"].sum() > 0


def test_conv_output_shape_mismatch():
    msg = refuse("gives 3x3, but the target layer is 4x3",
                 conv_net(out_shape=(4, 3, 4)), inputs=conv_inputs(), arch=CONV_ARCH)
    assert "in->conv" in msg


def test_conv_stride_padding_mismatch():
    refuse("stride 2, padding 1 gives 3x3", conv_net(stride=2, padding=1, out_shape=(5, 5, 4)),
           inputs=conv_inputs(), arch=CONV_ARCH)


def test_conv_channel_mismatch():
    refuse("kernel maps 3 -> 4 channels but the layers have 2 -> 4",
           conv_net(kernel=(4, 3, 3, 3)), inputs=conv_inputs(), arch=CONV_ARCH)


def test_conv_without_shape():
    refuse("conv2d needs a shape", conv_net(post_shape=False), inputs=conv_inputs(), arch=CONV_ARCH)


def test_conv_kernel_larger_than_input():
    refuse("kernel is larger than the padded input",
           conv_net(kernel=(4, 2, 7, 7), out_shape=(1, 1, 4)), inputs=conv_inputs(), arch=CONV_ARCH)


def test_conv_weights_not_4d():
    layers = (ta.InputLayer("in", 50, shape=(5, 5, 2)), ta.LifLayer("conv", 36, threshold=2, shape=(3, 3, 4)))
    p = (ta.Conv2dProjection("in", "conv", np.ones((4, 2, 9), int)),)
    refuse("conv2d weights must be 4-D", ta.Network(layers, p), inputs=conv_inputs(), arch=CONV_ARCH)


@pytest.mark.parametrize("stride,padding,match", [
    (0, 0, "stride, kernel size and channel counts must be at least 1"),
    (1.5, 0, "in->conv.stride must be an integer"),
    (1, 0.5, "in->conv.padding must be an integer"),
])
def test_conv_bad_stride_padding(stride, padding, match):
    refuse(match, conv_net(stride=stride, padding=padding), inputs=conv_inputs(), arch=CONV_ARCH)


def test_conv_negative_padding():
    with pytest.raises(SimulationError):
        ta.simulate(conv_net(padding=-1), CONV_ARCH, conv_inputs())


# ---- architecture ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["mesh_width", "mesh_height", "cores_per_tile", "neurons_per_core",
                                   "synapse_memory_kib", "weight_bits", "synapse_lanes", "fifo_depth",
                                   "link_width_bits"])
@pytest.mark.parametrize("value", [0, -2])
def test_architecture_field_must_be_positive(field, value):
    refuse(f"{field} must be at least 1", arch=dataclasses.replace(ARCH, **{field: value}))


@pytest.mark.parametrize("field", ["mesh_width", "neurons_per_core", "synapse_lanes"])
def test_architecture_field_fractional(field):
    refuse(f"architecture.{field} must be an integer", arch=dataclasses.replace(ARCH, **{field: 2.5}))


@pytest.mark.parametrize("field,value,match", [
    ("mesh_width", 257, "mesh_width must be in 1..=256"),
    ("cores_per_tile", 65, "cores_per_tile must be in 1..=64"),
    ("weight_bits", 17, "weight_bits must be in 1..=16"),
])
def test_architecture_field_out_of_template(field, value, match):
    refuse(match, arch=dataclasses.replace(ARCH, **{field: value}))


@pytest.mark.parametrize("v", [np.nan, np.inf, -0.7, 0.0])
def test_bad_voltage(v):
    refuse("voltage_v must be a positive finite number", arch=dataclasses.replace(ARCH, voltage_v=v))


def test_voltage_at_threshold():
    refuse("too close to the threshold voltage", arch=dataclasses.replace(ARCH, voltage_v=0.32),
           preset="loihi")


def test_unknown_mapping():
    refuse("mapping must be one of packed, spread, locality", arch=dataclasses.replace(ARCH, mapping="random"))


def test_map_network_reports_the_same_errors():
    with pytest.raises(SimulationError, match="13 neurons but 1 cores x 4 neurons per core"):
        ta.map_network(net(), dataclasses.replace(ARCH, mesh_width=1, mesh_height=1, neurons_per_core=4))


# ---- fit -------------------------------------------------------------------------------------


def test_too_many_neurons_for_the_chip():
    msg = refuse("13 neurons but 4 cores x 3 neurons per core hold 12",
                 arch=dataclasses.replace(ARCH, neurons_per_core=3))
    assert msg.startswith("does not fit")


def test_too_many_neurons_on_one_core():
    core_of = np.array([0] * 10 + [1] * 3)
    msg = refuse("core 0 holds 10 neurons", arch=dataclasses.replace(ARCH, neurons_per_core=8),
                 core_of=core_of)
    assert "neurons_per_core is 8" in msg and "in, h" in msg


def test_synapse_memory_too_small():
    rng = np.random.default_rng(0)
    layers = (ta.InputLayer("in", 200), lif("big", 100))
    p = (ta.DenseProjection("in", "big", rng.integers(-3, 3, (200, 100))),)
    msg = refuse("KiB of synapse memory for layer(s) big but synapse_memory_kib is 1",
                 ta.Network(layers, p), arch=dataclasses.replace(ARCH, synapse_memory_kib=1, neurons_per_core=300),
                 inputs=np.zeros((1, 2, 200), bool))
    assert msg.startswith("does not fit")


def test_weights_need_more_bits():
    w = np.zeros((6, 4), int)
    w[1, 2] = 200
    msg = refuse("need 9 bits; weight_bits is 8", net(projections=(ta.DenseProjection("in", "h", w),)))
    assert "in->h" in msg
    w[1, 2] = -129
    refuse("need 9 bits", net(projections=(ta.DenseProjection("in", "h", w),)))
    refuse("need 3 bits; weight_bits is 2", net(projections=(ta.DenseProjection("in", "h", np.full((6, 4), 3)),)),
           arch=dataclasses.replace(ARCH, weight_bits=2))


def test_core_of_out_of_range():
    core_of = np.zeros(13, int)
    core_of[5] = 4
    refuse("neuron 5 is mapped to core 4 but the architecture has 4 cores", core_of=core_of)


def test_core_of_negative():
    core_of = np.zeros(13, int)
    core_of[2] = -1
    with pytest.raises(SimulationError, match="core_of"):
        ta.simulate(net(), ARCH, INPUTS, core_of=core_of)


@pytest.mark.parametrize("n", [12, 14, 0])
def test_core_of_wrong_length(n):
    refuse(f"core_of has {n} entries but the network has 13 neurons", core_of=np.zeros(n, int))


def test_core_of_fractional():
    refuse("core_of must hold integers", core_of=np.full(13, 0.5))


# ---- inputs ----------------------------------------------------------------------------------


def test_zero_samples():
    refuse("at least one sample and one step", inputs=np.zeros((0, 3, 6), bool))


def test_zero_steps():
    refuse("at least one sample and one step", inputs=np.zeros((2, 0, 6), bool))


@pytest.mark.parametrize("shape", [(3, 6), (6,), (1, 1, 3, 6)])
def test_inputs_not_3d(shape):
    refuse("expected a 3-D array [sample, step, input neuron]", inputs=np.zeros(shape, bool))


@pytest.mark.parametrize("n", [5, 7])
def test_inputs_wrong_neuron_count(n):
    refuse(f"the last axis has {n} input neurons but the network has 6", inputs=np.zeros((2, 3, n), bool))


@pytest.mark.parametrize("value", [2, -1, 0.5])
def test_inputs_not_binary(value):
    x = INPUTS.astype(float if isinstance(value, float) else int)
    x[1, 2, 3] = value
    refuse("spikes must be 0/1 or boolean", inputs=x)


def test_inputs_nan():
    x = INPUTS.astype(float)
    x[0, 0, 0] = np.nan
    refuse("contains NaN or infinite", inputs=x)


def test_integer_01_inputs_are_accepted():
    a = ta.simulate(net(), ARCH, INPUTS.astype(np.int64))
    b = ta.simulate(net(), ARCH, INPUTS)
    assert a.counts["fired"].tolist() == b.counts["fired"].tolist()


# ---- names: semantics, presets ------------------------------------------------------------------


def test_unknown_semantics():
    refuse("semantics must be 'timestep' or 'sanafe', got 'loihi'", semantics="loihi")


def test_unknown_preset():
    msg = refuse("unknown cost preset 'tsinghua'", preset="tsinghua")
    assert "loihi" in msg and "async28" in msg


def test_unknown_preset_by_load_preset():
    with pytest.raises(SimulationError, match="unknown cost preset"):
        ta.load_preset("nope")


def test_bad_cost_model():
    good = ta.load_preset("async28")
    energy = dict(good.energy_j, synapse_event=-1e-12)
    refuse("energy_j.synapse_event must be finite and >= 0", preset=dataclasses.replace(good, energy_j=energy))
    energy = {k: v for k, v in good.energy_j.items() if k != "soma_spike"}
    refuse("energy_j has no 'soma_spike'", preset=dataclasses.replace(good, energy_j=energy))
    refuse("alpha must be in 1..=2", preset=dataclasses.replace(good, alpha=3.0))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_cost_is_named(bad):
    good = ta.load_preset("async28")
    energy = dict(good.energy_j, synapse_event=bad)
    refuse("synapse_event", preset=dataclasses.replace(good, energy_j=energy))


def test_bad_threads():
    refuse("threads must be at least 1", threads=0)


# ---- documented limits -----------------------------------------------------------------------


def test_more_than_2_24_neurons():
    layers = (ta.InputLayer("in", 6), lif("huge", 2**24 + 1), lif("out", 3))
    msg = refuse("layer 'huge' has 16777217 neurons, the limit is 16777216",
                 net(layers=layers, projections=()), arch=dataclasses.replace(ARCH, neurons_per_core=2**20))
    assert msg.startswith("request too large")
    layers = (ta.InputLayer("in", 6), lif("a", 2**23), lif("b", 2**23))
    refuse("16777222 neurons, the limit is 16777216", net(layers=layers, projections=()))


def test_potential_range_over_2_30_by_threshold():
    layers = (ta.InputLayer("in", 6), lif("h", threshold=2**30), lif("out", 3))
    msg = refuse("layer 'h'", net(layers=layers))
    assert "the fixed-point limit is 2^30" in msg


def test_potential_range_over_2_30_by_weights():
    w = np.full((6, 4), 2**28, dtype=np.int64)  # 6 x 2^28 > 2^30 for every target neuron
    msg = refuse("the fixed-point limit is 2^30",
                 net(projections=(ta.DenseProjection("in", "h", w),)),
                 arch=dataclasses.replace(ARCH, weight_bits=16))
    assert "layer 'h'" in msg


def test_potential_just_below_2_30_is_accepted():
    w = np.zeros((6, 4), dtype=np.int64)
    w[:, 0] = 2**14
    layers = (ta.InputLayer("in", 6), lif("h", threshold=2**29), lif("out", 3))
    # weights need 16 bits: that is a fit error, not a limit one
    refuse("need 16 bits", net(layers=layers, projections=(ta.DenseProjection("in", "h", w),)))


def test_more_than_2_20_steps():
    refuse("the limits are 1048576 samples and 1048576 steps",
           inputs=np.zeros((1, 2**20 + 1, 6), bool))


def test_more_than_2_20_samples():
    refuse("the limits are 1048576 samples and 1048576 steps",
           inputs=np.zeros((2**20 + 1, 1, 6), bool))


def test_work_limit():
    # 1 sample x 2^18 steps x (2^23 + 4) neurons > 2^40: refused before anything runs
    layers = (ta.InputLayer("in", 1), lif("h", 2**23), lif("out", 3))
    x = np.zeros((1, 2**18, 1), bool)
    refuse("samples x steps x neurons = 2199024304128, the limit is 2^40",
           net(layers=layers, projections=()), inputs=x)


@pytest.mark.parametrize("size", [2**62, 2**63 - 1, 2**64 + 5])
def test_sizes_near_2_64_are_refused(size):
    # sums of such sizes would wrap (to 1 for [3, 2^63-1, 2^63-1]); they are refused instead
    layers = (ta.InputLayer("in", 6), lif("a", size), lif("b", size))
    refuse("layer 'a'", net(layers=layers, projections=()))


def test_latencies_in_nanoseconds_are_refused_naming_the_field():
    costs = ta.load_preset("loihi")
    in_ns = dataclasses.replace(costs, latency_s={**costs.latency_s, "synapse_event": 3.8})
    refuse("latency_s.synapse_event", preset=in_ns)
    for big in (1e6, float("1e300")):
        refuse("latency_s.message_in", preset=dataclasses.replace(
            costs, latency_s={**costs.latency_s, "message_in": big}))


def test_a_schedule_that_could_overflow_the_clock_is_refused_naming_the_field():
    # 0.5 s per synaptic event is allowed per event; 2^14 of them would pass 2^62 fs
    costs = ta.load_preset("loihi")
    slow = dataclasses.replace(costs, latency_s={**costs.latency_s, "synapse_event": 0.5})
    w = np.ones((64, 64), dtype=np.int64)
    network = net(layers=(ta.InputLayer("in", 64), lif("h", 64, threshold=1)),
                  projections=(ta.DenseProjection("in", "h", w),))
    msg = refuse("latency_s.synapse_event", network, inputs=np.ones((1, 4, 64), bool), preset=slow,
                 arch=dataclasses.replace(ARCH, neurons_per_core=64))
    assert "limit of 4611.7 s" in msg


def test_spike_trace_memory_limit():
    # 16 samples x 2^11 steps x (2^16 + 9) neurons > 2^30 bytes of trace: refused up front
    layers = (ta.InputLayer("in", 6), lif("h", 2**16), lif("out", 3))
    x = np.zeros((16, 2**11, 6), bool)
    refuse("spike trace", net(layers=layers, projections=()), inputs=x, trace=True)


# ---- nothing hangs ---------------------------------------------------------------------------


def test_pathological_but_valid_requests_finish():
    """Tiny FIFOs, one lane, one core, every input firing every step: completes and is sane."""
    rng = np.random.default_rng(3)
    layers = (ta.InputLayer("in", 40), lif("h", 30, threshold=1), lif("out", 10, threshold=1))
    p = (ta.DenseProjection("in", "h", rng.integers(0, 3, (40, 30))),
         ta.DenseProjection("h", "out", rng.integers(0, 3, (30, 10))),
         ta.DenseProjection("out", "h", rng.integers(0, 3, (10, 30))))
    network = ta.Network(layers, p)
    x = np.ones((2, 20, 40), bool)
    for arch in (ta.Architecture(mesh_width=1, mesh_height=1, neurons_per_core=80, fifo_depth=1),
                 ta.Architecture(mesh_width=5, mesh_height=1, cores_per_tile=2, neurons_per_core=8,
                                 fifo_depth=1, mapping="spread", link_width_bits=1)):
        for semantics in ("timestep", "sanafe"):
            r = ta.simulate(network, arch, x, semantics=semantics, preset="async28", threads=1)
            assert np.all(r.latency_s > 0) and np.all(np.isfinite(r.energy_j))
            assert np.all(r.latency_s <= r.serial_time_s)
            assert r.counts["fired"].sum() > 0
