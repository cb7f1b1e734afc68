"""The same chip under two schedules: asynchronous (self-timed) and clocked (a global barrier per
time step). Same function, never faster clocked; `ancoef simulate --compare-schedules`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import trueasync as ta
from services.cli import main
from trueasync.workload import generate_conv, generate_mlp, generate_sparse

FUNCTIONAL = ("fired", "synaptic_ops", "packets", "hops", "neuron_updates", "neuron_accesses")


def both(network, arch, inputs, **kw):
    a = ta.simulate(network, arch, inputs, schedule="asynchronous", trace=True, **kw)
    c = ta.simulate(network, arch, inputs, schedule="clocked", trace=True, **kw)
    return a, c


def assert_same_function(a: ta.SimResult, c: ta.SimResult):
    for got, want in zip(c.spike_trace, a.spike_trace):
        assert np.array_equal(got, want)
    assert np.array_equal(c.output_spike_counts, a.output_spike_counts)
    for name in FUNCTIONAL:
        assert c.counts[name].tolist() == a.counts[name].tolist(), name
    np.testing.assert_array_equal(c.energy_breakdown_j["synapse"], a.energy_breakdown_j["synapse"])
    np.testing.assert_array_equal(c.energy_breakdown_j["network"], a.energy_breakdown_j["network"])


def _generated():
    return {
        "mlp": generate_mlp((96, 64, 32, 10), timesteps=20, rate=0.2, samples=2, mesh=(2, 2), seed=1),
        "mlp_shared_tiles": generate_mlp((48, 32, 10), timesteps=15, rate=0.3, samples=2, mesh=(2, 1),
                                         cores_per_tile=2, seed=4),
        "conv": generate_conv(samples=2, timesteps=12, seed=2),
        "sparse_recurrent": generate_sparse(samples=2, timesteps=16, seed=3),
    }


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
@pytest.mark.parametrize("preset", ["loihi", "async28"])
@pytest.mark.parametrize("name", list(_generated()))
def test_clocked_computes_the_same_and_is_never_faster_in_timestep_semantics(name, preset, semantics):
    wl = _generated()[name]
    a, c = both(wl.network, wl.arch, wl.inputs, semantics=semantics, preset=preset, core_of=wl.core_of)
    assert_same_function(a, c)
    if semantics == "timestep":
        assert np.all(c.latency_s >= a.latency_s), (c.latency_s, a.latency_s)
    # sanafe semantics: every step depends only on the one before, so the barrier costs little
    # and can beat the asynchronous run-ahead (docs/simulator.md, "Schedules"); not asserted
    assert np.all(c.counts["barriers"] == wl.inputs.shape[1] - 1)
    assert np.all(a.counts["barriers"] == 0)
    # the same packets: the barrier is the only difference
    for name in ("tokens", "credits", "token_hops"):
        assert c.counts[name].tolist() == a.counts[name].tolist(), name
    # static energy is leakage over each schedule's own latency
    np.testing.assert_allclose(c.energy_breakdown_j["static"], c.static_power_w * c.latency_s, rtol=1e-12)
    assert np.all(c.critical_path_s <= c.latency_s) and np.all(c.latency_s <= c.quiescent_s)


@pytest.mark.parametrize("semantics", ["timestep", "sanafe"])
def test_clocked_on_random_chips(engine_cases, semantics):
    for seed in range(40):
        case = engine_cases.build(engine_cases.rng(seed))
        preset = "async28" if seed % 2 else "loihi"
        a, c = both(case.network, case.arch, case.inputs, semantics=semantics, preset=preset,
                    core_of=case.core_of)
        assert_same_function(a, c)
        if semantics == "timestep":
            assert np.all(c.latency_s >= a.latency_s), (seed, c.latency_s, a.latency_s)
        assert np.all(c.critical_path_s <= c.latency_s), seed


def test_sanafe_semantics_a_barrier_can_beat_asynchronous_run_ahead(engine_cases):
    """The documented exception (docs/simulator.md): on this two-core chip the input partitions
    run step 1 at t = 0, and two of their step-1 packets reach core 0's axon-in (16 ns each)
    ahead of the step-0 token of core 0's own recurrent layer, which core 0's step 1 waits for;
    the barrier holds them back until step 0 is over."""
    case = engine_cases.build(engine_cases.rng(6))
    a, c = both(case.network, case.arch, case.inputs[:1], semantics="sanafe", preset="loihi",
                core_of=case.core_of)
    assert_same_function(a, c)
    assert c.latency_s[0] < 0.8 * a.latency_s[0]


def test_unknown_schedule_is_refused():
    wl = generate_mlp((8, 4), timesteps=2, samples=1, mesh=(1, 1))
    with pytest.raises(ta.SimulationError, match="schedule must be one of asynchronous, clocked"):
        ta.simulate(wl.network, wl.arch, wl.inputs, schedule="synchronous")


def test_cli_compare_schedules(tmp_path, capsys):
    out = tmp_path / "cmp.json"
    assert main(["simulate", "--workload", "builtin:mlp-small", "--samples", "1", "--preset", "async28",
                 "--compare-schedules", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    s = report["schedules"]
    assert s["functional_results_identical"] is True
    assert s["latency_s"]["clocked"] >= s["latency_s"]["asynchronous"] > 0
    assert s["latency_s"]["ratio_clocked_over_asynchronous"] == pytest.approx(
        s["latency_s"]["clocked"] / s["latency_s"]["asynchronous"])
    # async28 leaks: the longer clocked run pays more static energy
    assert s["static_energy_j"]["clocked"] > s["static_energy_j"]["asynchronous"] > 0
    assert report["trueasync"]["schedule"] == "asynchronous"
    assert "clocked/async" in capsys.readouterr().out
    # --schedule clocked alone runs the clocked chip
    out2 = tmp_path / "clocked.json"
    assert main(["simulate", "--workload", "builtin:mlp-small", "--samples", "1", "--preset", "async28",
                 "--schedule", "clocked", "--json", str(out2)]) == 0
    clocked = json.loads(out2.read_text())["trueasync"]
    assert clocked["schedule"] == "clocked"
    assert clocked["per_sample"]["latency_s"] == [s["latency_s"]["clocked"]]
