import numpy as np
import pytest

from agent.evaluator import BudgetExhausted, Targets
from agent.space import HardwareSpace
from agent.surrogate import surrogate_map, surrogate_simulate
from trueasync.model import Architecture


class Counting:
    """Wraps the surrogate simulator and records every design it is asked to simulate."""

    def __init__(self):
        self.calls = []

    def __call__(self, network, arch, inputs, **kw):
        self.calls.append(arch)
        return surrogate_simulate(network, arch, inputs, **kw)


def test_infeasible_designs_are_never_simulated(small_mlp, make_evaluator, rng):
    sim = Counting()
    ev = make_evaluator(small_mlp, simulate=sim)
    sp = ev.space
    recs = [ev.evaluate(sp.sample(rng)) for _ in range(300)]
    infeasible = [r for r in recs if not r.fits]
    assert infeasible, "the sample should contain designs that cannot hold the network"
    simulated = {tuple(sorted(a.__dict__.items())) for a in sim.calls}
    for r in infeasible:
        assert r.reasons, "an infeasible design records why"
        assert np.isnan(r.energy_j)
        assert tuple(sorted(r.design.items())) not in simulated
    assert len(sim.calls) == ev.n_simulated == len({r.index for r in recs if r.fits})
    assert ev.n_rejected == len({r.index for r in infeasible})


def test_mapper_rejection_is_recorded_and_not_simulated(small_mlp, make_evaluator):
    import trueasync

    def strict_map(network, arch):
        if arch.mapping == "spread":
            raise trueasync.SimulationError("mapping spread: layer fc1 needs 3 cores, only 2 free")

    sim = Counting()
    ev = make_evaluator(small_mlp, simulate=sim, map_network=strict_map)
    arch = Architecture(mesh_width=2, mesh_height=2, mapping="spread", voltage_v=0.7)
    rec = ev.evaluate_arch(arch)
    assert not rec.fits and "mapper" in rec.reasons[0] and "fc1" in rec.reasons[0]
    assert sim.calls == []
    assert ev.evaluate_arch(arch) is rec  # cached, still not simulated
    assert sim.calls == []


def test_cache_and_budget(small_mlp, make_evaluator):
    sim = Counting()
    ev = make_evaluator(small_mlp, simulate=sim, budget=2)
    a = Architecture(mesh_width=1, mesh_height=1, voltage_v=0.7)
    r1 = ev.evaluate_arch(a)
    r2 = ev.evaluate_arch(Architecture(mesh_width=1, mesh_height=1, voltage_v=0.7))
    assert r1 is r2 and len(sim.calls) == 1 and ev.n_simulated == 1
    ev.evaluate_arch(Architecture(mesh_width=2, mesh_height=1, voltage_v=0.7))
    assert ev.exhausted
    with pytest.raises(BudgetExhausted):
        ev.evaluate_arch(Architecture(mesh_width=3, mesh_height=1, voltage_v=0.7))
    # infeasible and cached designs still answer once the budget is spent
    assert not ev.evaluate_arch(Architecture(weight_bits=2, voltage_v=0.7)).fits
    assert ev.evaluate_arch(a) is r1
    assert len(sim.calls) == 2


def test_batch_respects_budget_and_duplicates(small_mlp, make_evaluator, rng):
    sim = Counting()
    ev = make_evaluator(small_mlp, simulate=sim, budget=5, use_ray=False)
    sp = HardwareSpace.from_options({"weight_bits": "8"})
    ev.space = sp
    actions = [sp.sample(rng) for _ in range(20)]
    actions = actions + actions[:3]
    out = ev.evaluate_batch(actions)
    assert ev.n_simulated == 5 == len(sim.calls)
    assert sum(r is None for r in out) > 0
    assert out[20] is out[0] or out[0] is None


def test_ray_batch_matches_in_process(small_mlp, make_evaluator, ray_session, rng):
    sp = HardwareSpace.from_options({"weight_bits": "8"})
    actions = [sp.sample(rng) for _ in range(6)]
    ev_ray = make_evaluator(small_mlp, sp, use_ray=True)
    ev_loc = make_evaluator(small_mlp, sp, use_ray=False)
    a = ev_ray.evaluate_batch(actions)
    b = ev_loc.evaluate_batch(actions)
    assert [r.edp_js for r in a] == [r.edp_js for r in b]
    assert ev_ray.n_simulated == ev_loc.n_simulated


def test_targets(small_mlp, make_evaluator):
    with pytest.raises(ValueError, match="max_latency_s"):
        Targets(max_latency_s=-1.0)
    with pytest.raises(ValueError, match="max_energy_j"):
        Targets(max_energy_j=float("nan"))
    ev = make_evaluator(small_mlp, targets=Targets(max_latency_s=1e-30))
    rec = ev.evaluate_arch(Architecture(mesh_width=1, mesh_height=1, voltage_v=0.7))
    assert rec.fits and not rec.meets_targets and "latency_s" in rec.violations[0]
    assert rec.overshoot > 0
    assert ev.archive.best_edp(meeting_targets=True) is None
    assert ev.archive.closest_to_targets(3)[0] is rec


def test_budget_must_be_positive(small_mlp, make_evaluator):
    with pytest.raises(ValueError, match="budget"):
        make_evaluator(small_mlp, budget=0)


def test_reference_design_and_scalarise(small_mlp, make_evaluator):
    ev = make_evaluator(small_mlp)
    ref = ev.reference()
    assert ref.fits and ev.n_simulated == 0  # calibration is outside the budget
    assert ev.scalarise(ref, (0.5, 0.5, 0.0)) == pytest.approx(0.0)
    bad = ev.evaluate_arch(Architecture(weight_bits=2, voltage_v=0.7))
    good = ev.evaluate_arch(Architecture(mesh_width=1, mesh_height=1, voltage_v=0.7))
    assert ev.scalarise(bad, (1, 0, 0)) < ev.scalarise(good, (1, 0, 0))
    rates = ev.spike_rates()
    assert rates.shape == (3,) and np.all(rates >= 0)
