"""The design critic that screens the RL search's archive moves (agent/critic.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.critic import DesignCritic, edp_order, fit_critic, hv_gains
from agent.pareto import hypervolume
from agent.search import run_search
from agent.workloads import laptop_space

from conftest import needs_engine, surrogate_evaluator


def test_critic_recovers_an_additive_log_model():
    space = laptop_space()
    rng = np.random.default_rng(0)
    effects = [rng.normal(size=(p.n, 2)) for p in space.params]  # per value, per objective

    def truth(actions):
        return 1.5 + sum(effects[i][actions[:, i]] for i in range(len(effects)))

    train = np.array([space.sample(rng) for _ in range(400)])
    test = np.array([space.sample(rng) for _ in range(50)])
    critic = DesignCritic(space, ridge=1e-6).fit(train, truth(train))
    assert critic.ready and critic.n_points == 400
    np.testing.assert_allclose(critic.predict(test), truth(test), atol=1e-4)
    # from a parent: the parent's measured value (here with a residual) carries over
    parents = test[::-1]
    measured = truth(parents) + 0.3
    np.testing.assert_allclose(critic.predict_from_parent(test, parents, measured), truth(test) + 0.3, atol=1e-4)


def test_critic_needs_enough_points(small_mlp):
    ev = surrogate_evaluator(small_mlp, space=laptop_space(), budget=5, use_ray=False)
    run_search("random", ev, seed=0)
    assert not fit_critic(ev).ready  # 5 simulated designs: too few to screen with
    ev = surrogate_evaluator(small_mlp, space=laptop_space(), budget=20, use_ray=False)
    run_search("random", ev, seed=0)
    critic = fit_critic(ev)
    assert critic.ready and critic.n_points == ev.n_simulated == 20


def test_hv_gains_match_exact_hypervolume_and_pick_greedily():
    front = np.array([[0.5, 0.5, 0.5]])
    cands = np.array([
        [0.6, 0.6, 0.6],  # dominated: no gain
        [0.25, 0.5, 0.5],  # gain 0.25 * 0.5 * 0.5
        [0.5, 0.5, 0.4],  # gain 0.5 * 0.5 * 0.1
        [0.25, 0.5, 0.5],  # the same as the second: nothing left once that is picked
    ])
    picks, gains = hv_gains(front, cands, 3, seed=1)
    assert picks[:2] == [1, 2]
    base = hypervolume(front, np.ones(3))
    assert gains[0] == pytest.approx(hypervolume(np.vstack([front, cands[1]]), np.ones(3)) - base, rel=0.05)
    assert gains[1] == pytest.approx(hypervolume(np.vstack([front, cands[[1, 2]]]), np.ones(3))
                                     - hypervolume(np.vstack([front, cands[1]]), np.ones(3)), rel=0.1)
    assert gains[2] == 0.0  # the duplicate and the dominated one add nothing
    assert hv_gains(front, cands, 3, seed=1) == (picks, gains)  # seeded


def test_edp_order_puts_predicted_target_misses_last():
    # log10 energy, latency, area; latency target 10^-3
    pred = np.array([[-10.0, -2.0, 0.0],  # best EDP but misses the latency target by a decade
                     [-8.0, -3.5, 0.0],
                     [-8.5, -3.2, 0.0]])
    assert edp_order(pred, [None, -3.0, None]).tolist() == [2, 1, 0]
    assert edp_order(pred, [None, None, None]).tolist() == [0, 2, 1]


def test_screened_moves_beat_unscreened_ones(small_mlp):
    """With the critic, the archive moves' simulated EDP and hypervolume gain are better."""
    from agent.rl import local_proposals

    figures = {}
    for pool in (1, 8):
        ev = surrogate_evaluator(small_mlp, space=laptop_space(), budget=200, use_ray=False)
        run_search("random", ev, seed=0)
        ev.budget = None
        prefix = len(ev.archive.records)
        before = ev.archive.hypervolume()
        best_before = ev.archive.best_edp(meeting_targets=False).edp_js
        moves = local_proposals(ev, 24, np.random.default_rng(5), pool=pool)
        assert len(moves) == 24
        recs = [r for r in ev.evaluate_batch(moves) if r is not None and r.fits]
        assert len(ev.archive.records) > prefix
        figures[pool] = (np.median([r.edp_js for r in recs]) / best_before, ev.archive.hypervolume() - before)
    assert figures[8][0] < figures[1][0]
    assert figures[8][1] > figures[1][1]


def test_local_proposals_with_pool_are_seeded_and_new(small_mlp):
    from agent.rl import local_proposals
    from agent.space import check_design
    from trueasync.model import Architecture

    ev = surrogate_evaluator(small_mlp, space=laptop_space(), budget=60, use_ray=False)
    run_search("random", ev, seed=1)
    a = local_proposals(ev, 12, np.random.default_rng(2), pool=6)
    b = local_proposals(ev, 12, np.random.default_rng(2), pool=6)
    assert len(a) == 12 and [x.tolist() for x in a] == [x.tolist() for x in b]
    archived = {ev.space.key(ev.space.encode(Architecture(**r.design))) for r in ev.archive.records}
    assert len({ev.space.key(x) for x in a}) == 12
    for x in a:
        assert ev.space.key(x) not in archived and not check_design(ev.space.decode(x), ev.needs)


@needs_engine
def test_evaluator_area_without_simulation_equals_simulated_area(small_mlp):
    from agent.workloads import make_evaluator

    ev = make_evaluator(small_mlp, laptop_space(), preset="async28", budget=4)
    rng = np.random.default_rng(0)
    n = 0
    while n < 4:
        arch = ev.space.decode(ev.space.sample(rng))
        rec = ev.evaluate_arch(arch)
        if rec.fits:
            assert ev.area_mm2(arch) == pytest.approx(rec.area_mm2, rel=1e-12)
            n += 1
    assert surrogate_evaluator(small_mlp).area_mm2(arch) is None  # custom simulator: no exact area
