"""The engine against SANA-FE: the golden figures in shared/workloads and live SANA-FE runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import trueasync as ta
from trueasync.sanafe_peer import COUNT_NAMES
from trueasync.workload import generate_conv, generate_mlp, generate_sparse, load_workload

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOLDEN = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"


@pytest.fixture(scope="module")
def golden():
    if not GOLDEN.with_suffix(".json").is_file():
        pytest.skip(f"the golden workload is not there ({GOLDEN}.json): needs the sibling shared/ folder")
    wl = load_workload(GOLDEN)
    expected = json.loads(GOLDEN.with_name(GOLDEN.name + ".expected.json").read_text())
    return wl, expected


def _check_golden(r: ta.SimResult, expected: dict):
    totals = expected["sanafe"]["totals"]
    breakdown = expected["sanafe"]["energy_breakdown_total"]
    assert r.n_samples == 1
    for sf_name, our_name in COUNT_NAMES:
        assert int(r.counts[our_name].sum()) == totals[sf_name], sf_name
    np.testing.assert_allclose(r.energy_j.sum(), totals["energy"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(r.energy_j.sum(), breakdown["total"], rtol=1e-9, atol=0)
    for unit in ("synapse", "soma", "network"):
        np.testing.assert_allclose(r.energy_breakdown_j[unit].sum(), breakdown[unit], rtol=1e-9,
                                   atol=0, err_msg=unit)
    # no energy outside SANA-FE's units with Loihi costs: no token energy, no static power
    assert r.energy_breakdown_j["sync"].tolist() == [0.0]
    assert r.energy_breakdown_j["static"].tolist() == [0.0]
    assert r.spikes_per_layer[0].tolist() == expected["reference"]["fired_per_layer_reference"]


def test_golden_workload_with_its_own_costs(golden):
    wl, expected = golden
    r = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="sanafe", preset=wl.costs,
                    core_of=wl.core_of)
    _check_golden(r, expected)
    assert np.array_equal(r.core_of, wl.core_of)


def test_golden_workload_with_loihi_preset(golden):
    wl, expected = golden
    loihi = ta.load_preset("loihi")
    # the built-in preset has the workload's per-event energies
    for key, value in wl.costs.energy_j.items():
        assert loihi.energy_j[key] == value, key
    assert loihi.leakage_w_per_mm2 == 0.0
    r = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="sanafe", preset="loihi",
                    core_of=wl.core_of)
    _check_golden(r, expected)
    assert r.static_power_w == 0.0
    assert r.preset == "loihi"


@pytest.mark.parametrize("preset", ["workload", "loihi"])
def test_golden_asynchronous_latency_undercuts_sanafe(golden, preset):
    wl, expected = golden
    r = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="sanafe",
                    preset=wl.costs if preset == "workload" else "loihi", core_of=wl.core_of)
    ours, theirs = float(r.latency_s[0]), expected["sanafe"]["totals"]["latency"]
    print(f"golden latency ({preset} costs): TrueAsync {ours * 1e3:.4f} ms, "
          f"SANA-FE {theirs * 1e3:.4f} ms ({ours / theirs:.3f}x)")
    assert 0 < ours < theirs
    assert r.critical_path_s[0] <= ours <= r.serial_time_s[0]


def test_golden_timestep_semantics_matches_reference(golden):
    """The same workload under `timestep` semantics: the engine equals the NumPy reference."""
    from trueasync import reference

    wl, _ = golden
    r = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="timestep", preset="loihi",
                    core_of=wl.core_of, trace=True)
    ref = reference.run(wl.network, wl.inputs, "timestep", core_of=wl.core_of, arch=wl.arch)
    for got, want in zip(r.spike_trace, ref.spikes):
        assert np.array_equal(got, want)
    for name in ("fired", "synaptic_ops", "packets", "hops", "neuron_updates", "neuron_accesses"):
        assert r.counts[name].tolist() == ref.counts[name].tolist(), name


# ----------------------------------------------------------------------------------------------
# live SANA-FE


def _live_workloads():
    return {
        "mlp": lambda: generate_mlp((48, 32, 10), timesteps=20, rate=0.3, samples=2, mesh=(2, 2),
                                    seed=11),
        "mlp_bias_subtract_shared_tiles": lambda: generate_mlp(
            (24, 16, 6), timesteps=15, rate=0.2, samples=2, mesh=(3, 1), cores_per_tile=2,
            reset_mode="subtract", bias=3, seed=4),
        "conv": lambda: generate_conv(samples=2, timesteps=20, seed=2),
        "conv_stride2_nopad": lambda: generate_conv(in_shape=(9, 9, 1), out_channels=3, kernel=3,
                                                    stride=2, padding=0, samples=2, timesteps=15,
                                                    seed=5),
        "sparse_recurrent": lambda: generate_sparse(samples=2, timesteps=30, seed=3),
    }


@pytest.mark.parametrize("name", list(_live_workloads()))
def test_live_sanafe_counts_and_energy(name):
    pytest.importorskip("sanafe", reason="SANA-FE is not installed (pip install sanafe==2.2.9)")
    from trueasync.sanafe_peer import run_sanafe

    wl = _live_workloads()[name]()
    sf = run_sanafe(wl, spike_trace=True)
    r = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="sanafe", preset=wl.costs,
                    core_of=wl.core_of, trace=True)
    assert int(r.counts["fired"].sum()) > 0
    for sf_name, our_name in COUNT_NAMES:
        assert r.counts[our_name].tolist() == sf["per_sample"][sf_name].tolist(), sf_name
    np.testing.assert_allclose(r.energy_j, sf["per_sample"]["energy"], rtol=1e-9, atol=0)
    for unit in ("synapse", "soma", "network"):
        np.testing.assert_allclose(r.energy_breakdown_j[unit], sf["per_sample"][f"energy_{unit}"],
                                   rtol=1e-9, atol=0, err_msg=unit)
    for layer, got, want in zip(wl.network.layers, r.spike_trace, sf["spikes"]):
        assert np.array_equal(got, want), layer.name
    print(f"{name}: latency TrueAsync {r.latency_s.mean():.3e} s, "
          f"SANA-FE {sf['per_sample']['latency'].mean():.3e} s")
