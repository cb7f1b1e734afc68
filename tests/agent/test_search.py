import itertools

import numpy as np
import pytest

from agent.search import best_edp_trace, reach, run_search
from agent.space import HardwareSpace

from conftest import surrogate_evaluator


def designs(ev):
    return [tuple(sorted(r.design.items())) for r in ev.archive.records]


@pytest.mark.parametrize("method", ["random", "nsga2"])
def test_same_seed_same_search(method, small_mlp):
    runs = []
    for seed in (5, 5, 6):
        ev = surrogate_evaluator(small_mlp, budget=40, use_ray=False)
        figs = run_search(method, ev, seed=seed)
        assert figs["simulated"] == 40
        runs.append((designs(ev), figs["best_edp_js"], figs["hypervolume"]))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_nsga2_with_ray_batches_is_the_same(small_mlp, ray_session):
    a = surrogate_evaluator(small_mlp, budget=30, use_ray=True)
    b = surrogate_evaluator(small_mlp, budget=30, use_ray=False)
    run_search("nsga2", a, seed=1)
    run_search("nsga2", b, seed=1)
    assert designs(a) == designs(b)


def test_unknown_method(small_mlp):
    with pytest.raises(ValueError, match="unknown search algorithm 'cmaes'"):
        run_search("cmaes", surrogate_evaluator(small_mlp, budget=5))


def test_trace_and_reach(small_mlp):
    ev = surrogate_evaluator(small_mlp, budget=25)
    figs = run_search("random", ev, seed=0)
    trace = best_edp_trace(ev)
    assert trace and all(b >= c for (_, _, b), (_, _, c) in zip(trace, trace[1:]))
    assert trace[-1][2] == figs["best_edp_js"]
    n, t = reach(trace, figs["best_edp_js"])
    assert 1 <= n <= 25 and t >= 0
    assert reach(trace, 0.0) == (None, None)


# -- RL ----------------------------------------------------------------------------------------

# A small space (16 x 5 x 9 x 3 = 2,160 designs) where the EDP optimum is found by enumeration.
SMALL = {"mesh_width": "1:4", "mesh_height": "1:4", "cores_per_tile": "1", "neurons_per_core": "256",
         "synapse_memory_kib": "64", "weight_bits": "8", "fifo_depth": "8", "link_width_bits": "32"}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, ray_session):
    from trueasync.workload import generate_conv, generate_mlp

    from agent import rl

    train = [generate_mlp((128, 64, 10), timesteps=8, samples=2, seed=11),
             generate_mlp((400, 200, 10), timesteps=8, samples=2, seed=12),
             generate_conv(in_shape=(12, 12, 2), out_channels=8, timesteps=6, samples=2, seed=13)]
    evs = [surrogate_evaluator(w) for w in train]
    out = tmp_path_factory.mktemp("policy")
    algo, hist = rl.pretrain(evs, iterations=20, seed=0, out_dir=out, batch=128, log=None)
    algo.stop()
    assert hist[-1]["episode_return_mean"] > hist[0]["episode_return_mean"]
    return out


def test_policy_checkpoint_is_small(pretrained):
    size = sum(p.stat().st_size for p in pretrained.iterdir())
    assert size < 2_000_000


def test_rl_beats_random_on_small_space_with_known_optimum(pretrained):
    from trueasync.workload import generate_mlp

    held_out = generate_mlp((300, 150, 10), timesteps=8, samples=2, seed=77)
    space = HardwareSpace.from_options(SMALL)
    full = surrogate_evaluator(held_out, space)
    opt = min(r.edp_js for r in (full.evaluate(a) for a in itertools.product(*map(range, space.nvec))) if r.fits)
    gaps = {"rl": [], "random": []}
    for seed in range(3):
        for method in gaps:
            ev = surrogate_evaluator(held_out, space, budget=20)
            figs = run_search(method, ev, seed=seed, **({"checkpoint": pretrained} if method == "rl" else {}))
            gaps[method].append(figs["best_edp_js"] / opt)
    assert min(gaps["rl"]) >= 1.0 - 1e-12
    assert np.median(gaps["rl"]) < np.median(gaps["random"]), gaps
    assert np.median(gaps["rl"]) < 1.05, gaps


def test_rl_same_seed_same_search(pretrained, small_mlp):
    runs = []
    for _ in range(2):
        ev = surrogate_evaluator(small_mlp, budget=15)
        run_search("rl", ev, seed=3, checkpoint=pretrained)
        runs.append(designs(ev))
    assert runs[0] == runs[1]


def test_rl_rejects_mismatched_policy(tmp_path, small_mlp, ray_session):
    import json

    import torch

    torch.save({}, tmp_path / "ppo_policy.pt")
    (tmp_path / "ppo_policy.json").write_text(json.dumps({"obs_dim": 3}))
    with pytest.raises(ValueError, match="does not match"):
        run_search("rl", surrogate_evaluator(small_mlp, budget=5), checkpoint=tmp_path)


def test_local_proposals_are_new_checked_neighbours_and_seeded(small_mlp):
    from agent.env import SWEEP_WEIGHTS, HardwareDesignEnv
    from agent.rl import local_proposals
    from agent.space import check_design
    from trueasync.model import Architecture

    ev = surrogate_evaluator(small_mlp, budget=40, use_ray=False)
    run_search("random", ev, seed=0)
    a = local_proposals(ev, 16, np.random.default_rng(3))
    b = local_proposals(ev, 16, np.random.default_rng(3))
    assert 0 < len(a) <= 16 and [x.tolist() for x in a] == [x.tolist() for x in b]
    archived = [ev.space.encode(Architecture(**r.design)) for r in ev.archive.records]
    parents = [ev.space.encode(Architecture(**r.design)) for r in ev.archive.feasible()]
    for x in a:
        assert not check_design(ev.space.decode(x), ev.needs)
        assert not any(np.array_equal(x, y) for y in archived)
        assert min(int(np.sum(x != p)) for p in parents) <= 2  # a neighbour of a design that fits
    env = HardwareDesignEnv({"preference": "cycle", "horizon": 1}, evaluators=[ev])
    seen = [env.reset()[1]["weights"] for _ in SWEEP_WEIGHTS]
    np.testing.assert_allclose(seen, np.array(SWEEP_WEIGHTS, np.float32))


def test_every_design_records_its_proposer_in_the_rl_search_and_its_ablations(pretrained, small_mlp):
    """Full method: PPO proposals and archive moves; PPO only; archive moves without PPO, from
    random designs (seeded: the same designs twice)."""
    def proposers(method, **kw):
        ev = surrogate_evaluator(small_mlp, budget=40)
        run_search(method, ev, seed=2, **kw)
        assert all(r.proposer for r in ev.archive.records)
        return ev, {r.proposer for r in ev.archive.records if r.fits}

    ev, full = proposers("rl", checkpoint=pretrained)
    assert full == {"ppo", "archive-move"}
    assert ev.archive.records[0].proposer == "ppo"
    _, ppo_only = proposers("rl", checkpoint=pretrained, local_moves=0)
    assert ppo_only == {"ppo"}
    a, no_ppo = proposers("moves")
    b, _ = proposers("moves")
    assert "ppo" not in no_ppo and {"random-init", "archive-move"} <= no_ppo
    assert [r.design for r in a.archive.records] == [r.design for r in b.archive.records]
    first = [r for r in a.archive.records if r.fits][:10]
    assert {r.proposer for r in first} == {"random-init"}
