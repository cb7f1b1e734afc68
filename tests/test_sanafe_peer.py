"""Live SANA-FE against the golden figures and against reference.run(..., semantics="sanafe")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sanafe", reason="SANA-FE is not installed (pip install sanafe==2.2.9)")

from trueasync import reference  # noqa: E402
from trueasync.model import (  # noqa: E402
    Architecture,
    CostModel,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)
from trueasync.sanafe_peer import COUNT_NAMES, run_sanafe, write_sanafe_files  # noqa: E402
from trueasync.workload import (  # noqa: E402
    LOIHI_ENERGY_J,
    LOIHI_LATENCY_S,
    Workload,
    generate_conv,
    generate_mlp,
    generate_sparse,
    load_workload,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOLDEN = SHARED / "workloads" / "mlp_784-512-256-10_T100_16c"


def assert_same(wl: Workload, out: dict):
    ref = reference.run(wl.network, wl.inputs, "sanafe", wl.core_of, wl.arch, wl.costs.energy_j)
    for sf_name, ref_name in COUNT_NAMES:
        assert out["per_sample"][sf_name].tolist() == ref.counts[ref_name].tolist(), sf_name
    np.testing.assert_allclose(out["per_sample"]["energy"], ref.energy_j, rtol=1e-9, atol=0)
    for unit in ("synapse", "soma", "network"):
        np.testing.assert_allclose(
            out["per_sample"][f"energy_{unit}"], ref.energy_breakdown_j[unit], rtol=1e-9, atol=0
        )
    assert out["per_sample"]["energy_dendrite"].tolist() == [0.0] * wl.samples
    if "spikes" in out:
        for got, want in zip(out["spikes"], ref.spikes):
            assert np.array_equal(got, want)
    return ref


@pytest.mark.skipif(not GOLDEN.with_suffix(".json").exists(), reason=f"{GOLDEN}.json not found")
def test_golden_workload_live():
    wl = load_workload(GOLDEN)
    out = run_sanafe(wl, timing_model="detailed")
    t = out["totals"]
    assert t["fired"] == 17683
    assert t["synaptic_events"] == 5587214
    assert t["packets"] == 68776
    assert t["hops"] == 185987
    assert t["updated"] == 84682
    exp = json.loads(Path(str(GOLDEN) + ".expected.json").read_text())["sanafe"]
    assert t["energy"] == pytest.approx(exp["energy_breakdown_total"]["total"], rel=1e-9)
    for unit in ("synapse", "soma", "network"):
        assert t[f"energy_{unit}"] == pytest.approx(exp["energy_breakdown_total"][unit], rel=1e-9)
    # latency is timing-model dependent but deterministic enough to be within SANA-FE's spread
    assert t["latency"] == pytest.approx(exp["totals"]["latency"], rel=0.01)
    assert_same(wl, out)


def test_generated_mlp_matches_reference():
    wl = generate_mlp((40, 30, 10), timesteps=20, rate=0.3, samples=3, mesh=(2, 2), seed=5)
    assert_same(wl, run_sanafe(wl, spike_trace=True))


def test_generated_mlp_bias_subtract_shared_tiles_flits():
    wl = generate_mlp((24, 16, 6), timesteps=15, rate=0.2, samples=2, mesh=(3, 1),
                      cores_per_tile=2, seed=9, reset_mode="subtract", bias=5)
    arch = Architecture(**{**wl.arch.__dict__, "link_width_bits": 16})  # 2 flits per packet
    # every cost distinct and non-zero, message_in included (charged per packet, own core too)
    e = {k: (i + 1) * 1e-12 for i, k in enumerate(sorted(LOIHI_ENERGY_J))}
    costs = CostModel("distinct", energy_j=e, latency_s=dict(LOIHI_LATENCY_S))
    wl = Workload(wl.network, arch, costs, wl.core_of, wl.inputs, wl.meta)
    ref = assert_same(wl, run_sanafe(wl, spike_trace=True))
    assert ref.counts["hops"].sum() > 0


def test_generated_conv_matches_reference():
    wl = generate_conv(samples=2, timesteps=20)
    assert_same(wl, run_sanafe(wl, spike_trace=True))


def test_generated_conv_stride_no_padding_matches_reference():
    wl = generate_conv(in_shape=(9, 9, 1), out_channels=3, kernel=3, stride=2, padding=0,
                       samples=1, timesteps=15, gain=1.0, seed=4)
    assert_same(wl, run_sanafe(wl, spike_trace=True))


def test_generated_sparse_matches_reference():
    wl = generate_sparse(samples=2, timesteps=30)
    assert_same(wl, run_sanafe(wl, spike_trace=True))


def tiny_workload(inputs, reset_value=0, bias=0):
    net = Network(
        layers=(
            InputLayer("in", 2),
            LifLayer("a", 2, threshold=64, leak_num=7, leak_shift=3, bias=bias,
                     reset_value=reset_value),
        ),
        projections=(
            DenseProjection("in", "a", np.array([[70, -50], [10, 0]])),
            SparseProjection("a", "a", np.array([0]), np.array([1]), np.array([30])),
        ),
        weight_scale=1 / 64,
    )
    arch = Architecture(mesh_width=2, mesh_height=1, neurons_per_core=2)
    costs = CostModel("tiny", energy_j=dict(LOIHI_ENERGY_J), latency_s=dict(LOIHI_LATENCY_S))
    return Workload(net, arch, costs, np.array([0, 1, 1, 0]), inputs, {})


def test_last_step_spikes_are_counted():
    x = np.zeros((1, 3, 2), bool)
    x[0, 2, :] = True  # both inputs fire only at the last step
    out = run_sanafe(tiny_workload(x))
    p = {k: int(v[0]) for k, v in out["per_sample"].items() if v.dtype.kind == "i"}
    # their synapses (2 each), packets (input 0 on core 0 -> core 1 and 0; input 1 on core 1 ->
    # cores 1 and 0) and 1 hop each are counted although nothing integrates them any more
    assert (p["fired"], p["synaptic_events"], p["packets"], p["hops"]) == (2, 4, 4, 2)
    # updates: only the two input neurons that fire
    assert p["updated"] == 2
    assert_same(tiny_workload(x), out)


def test_reset_value_and_bias_match_reference():
    rng = np.random.default_rng(0)
    x = rng.random((3, 12, 2)) < 0.5
    for reset_value, bias in ((-16, 0), (8, 3), (0, -2)):
        wl = tiny_workload(x, reset_value=reset_value, bias=bias)
        assert_same(wl, run_sanafe(wl, spike_trace=True))


def test_write_sanafe_files_runs_standalone(tmp_path):
    import sanafe

    wl = generate_sparse(samples=2, timesteps=10, seed=3)
    files = write_sanafe_files(wl, tmp_path)
    assert files["arch"].exists() and len(files["networks"]) == 2
    ref = reference.run(wl.network, wl.inputs, "sanafe", wl.core_of, wl.arch, wl.costs.energy_j)
    for s, path in enumerate(files["networks"]):
        arch = sanafe.load_arch(str(files["arch"]))
        net = sanafe.load_net(str(path), arch)
        chip = sanafe.SpikingChip(arch)
        chip.load(net)
        r = chip.sim(wl.timesteps, perf_trace=True)
        assert int(np.sum(r["perf_trace"]["fired"])) == ref.counts["fired"][s]
        assert int(np.sum(r["perf_trace"]["spikes"])) == ref.counts["synaptic_ops"][s]
        assert int(r["packets_sent"]) == ref.counts["packets"][s]
        assert int(np.sum(r["perf_trace"]["hops"])) == ref.counts["hops"][s]
        assert r["energy"]["total"] == pytest.approx(ref.energy_j[s], rel=1e-9)
