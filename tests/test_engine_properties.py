"""Property-based: on random small networks the engine's spikes and counts equal the NumPy
reference (trueasync.reference) bit for bit, in both semantics, on random architectures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install hypothesis)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import trueasync as ta  # noqa: E402
from trueasync import reference  # noqa: E402

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

COUNTS = ("fired", "synaptic_ops", "packets", "hops", "neuron_updates", "neuron_accesses")


def check_against_reference(case, semantics: str):
    # Loihi's per-event figures without the design-dependent terms (weight width, link width):
    # the reference charges flat per-event energies (those terms: test_engine_invariants.py).
    loihi = dataclasses.replace(ta.load_preset("loihi"), synapse_read_j_per_bit=0.0,
                                lane_j_per_bit=0.0, link_width_energy_share=0.0)
    r = ta.simulate(case.network, case.arch, case.inputs, semantics=semantics, preset=loihi,
                    core_of=case.core_of, trace=True)
    if case.core_of is not None:
        assert np.array_equal(r.core_of, case.core_of)
    ref = reference.run(case.network, case.inputs, semantics, core_of=r.core_of, arch=case.arch,
                        energy_j=loihi.energy_j)
    assert r.spike_trace is not None and len(r.spike_trace) == len(case.network.layers)
    for layer, got, want in zip(case.network.layers, r.spike_trace, ref.spikes):
        got = np.asarray(got, dtype=bool)
        assert got.shape == want.shape, layer.name
        if not np.array_equal(got, want):
            s, t, i = np.argwhere(got != want)[0]
            pytest.fail(f"{semantics}: layer {layer.name} differs first at sample {s}, step {t}, "
                        f"neuron {i}: engine {got[s, t, i]}, reference {want[s, t, i]}")
    assert np.array_equal(r.spikes_per_layer, ref.spikes_per_layer)
    assert np.array_equal(r.output_spike_counts, ref.spikes[-1].sum(axis=1))
    for name in COUNTS:
        assert r.counts[name].tolist() == ref.counts[name].tolist(), name
    # flat loihi costs at the nominal voltage: dynamic energies equal the reference's
    for unit in ("synapse", "soma", "network"):
        np.testing.assert_allclose(r.energy_breakdown_j[unit], ref.energy_breakdown_j[unit],
                                   rtol=1e-9, atol=1e-30, err_msg=unit)
    return r, ref


@SETTINGS
@given(data=st.data())
def test_random_networks_timestep_match_reference(engine_cases, data):
    case = engine_cases.build(engine_cases.hypothesis(data))
    check_against_reference(case, "timestep")


@SETTINGS
@given(data=st.data())
def test_random_networks_sanafe_match_reference(engine_cases, data):
    case = engine_cases.build(engine_cases.hypothesis(data))
    check_against_reference(case, "sanafe")


def test_generator_covers_the_model(engine_cases):
    """The random generator really produces every projection kind, recurrence and mapping."""
    seen = set()
    for seed in range(200):
        case = engine_cases.build(engine_cases.rng(seed))
        index = {l.name: i for i, l in enumerate(case.network.layers)}
        for p in case.network.projections:
            seen.add(type(p).__name__)
            if index[p.pre] >= index[p.post]:
                seen.add("recurrent")
            if isinstance(p, ta.Conv2dProjection) and p.padding > 0 and p.stride > 1:
                seen.add("conv_pad_stride")
            if isinstance(p, ta.SparseProjection):
                pairs = set(zip(np.asarray(p.pre_index).tolist(), np.asarray(p.post_index).tolist()))
                if len(pairs) < len(p.pre_index):
                    seen.add("duplicates")
        seen.add("map_" + ("explicit" if case.core_of is not None else case.arch.mapping))
        for l in case.network.layers:
            if isinstance(l, ta.LifLayer):
                seen.add("reset_" + l.reset_mode)
                if l.bias != 0:
                    seen.add("bias")
                if l.leak_num < 2**l.leak_shift:
                    seen.add("leaky")
    want = {"DenseProjection", "SparseProjection", "Conv2dProjection", "recurrent",
            "conv_pad_stride", "duplicates", "map_packed", "map_spread", "map_locality",
            "map_explicit", "reset_hard", "reset_subtract", "bias", "leaky"}
    assert want <= seen, want - seen


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_many_seeded_random_networks_match_reference(engine_cases, semantics):
    """A fixed batch of seeded cases besides Hypothesis's (deterministic in CI)."""
    for seed in range(1000, 1060):
        check_against_reference(engine_cases.build(engine_cases.rng(seed)), semantics)
