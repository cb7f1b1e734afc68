"""The warm start carried across the candidates of a co-exploration (agent.rl.PolicyCarry)."""

from __future__ import annotations

import dataclasses

import numpy as np

from agent.critic import DesignCritic, fit_critic
from agent.evaluator import Evaluator
from agent.surrogate import surrogate_map, surrogate_simulate
from trueasync.workload import generate_mlp


def _evaluator(seed: int, budget: int = 4) -> Evaluator:
    from agent.space import HardwareSpace
    from agent.workloads import LAPTOP_RANGES

    space = HardwareSpace.from_options({**LAPTOP_RANGES, "weight_bits": "8"})
    return Evaluator(generate_mlp((32, 16, 10), timesteps=4, samples=1, seed=seed), space, budget=budget,
                     simulate=surrogate_simulate, map_network=surrogate_map, use_ray=False)


def test_critic_fits_earlier_workloads_with_a_level_of_their_own():
    """Design effects are shared, each workload's level is its own: shifting the other workload's
    figures by a constant changes no prediction made from a parent of this workload."""
    space = _evaluator(1).space  # the laptop space, 8-bit weights (what the test network needs)
    rng = np.random.default_rng(0)
    acts = np.array([space.sample(rng) for _ in range(60)])
    feats = DesignCritic(space).features(acts)
    truth = feats @ rng.normal(0, 0.3, (feats.shape[1], 3))
    groups = [0] * 3 + [1] * 40

    def predict(other_shift, use_groups):
        y = np.vstack([truth[:3], truth[3:43] + other_shift])
        c = DesignCritic(space).fit(acts[:43], y, groups=groups if use_groups else None)
        return c.predict_from_parent(acts[43:], np.repeat(acts[:1], 17, 0), np.repeat(truth[:1], 17, 0))

    assert np.allclose(predict(0.0, True), predict(2.5, True), atol=1e-9)
    assert not np.allclose(predict(0.0, False), predict(2.5, False), atol=1e-3)
    # the evaluator-level entry point uses the prior only when one is attached
    ev = _evaluator(1, budget=12)
    for a in acts[:3]:
        ev.evaluate_arch(space.decode(a))
    assert ev.archive.feasible() and not fit_critic(ev).ready
    ev.critic_prior = [([dataclasses.asdict(space.decode(a)) for a in acts[3:43]], truth[3:43].tolist())]
    assert fit_critic(ev).ready


def test_policy_carry_hands_on_to_the_next_search(monkeypatch):
    import agent.rl as rl

    loads = []
    real = rl.load_policy
    monkeypatch.setattr(rl, "load_policy", lambda path: loads.append(path) or real(path))
    carry = rl.PolicyCarry(keep_weights=True, keep_critic=True)
    first, second = _evaluator(1), _evaluator(2)
    rl.rl_search(first, seed=0, carry=carry)
    assert carry.weights is not None and len(carry.critic_data) == 1
    designs, logs = carry.critic_data[0]
    assert len(designs) == len(first.archive.feasible()) and len(logs[0]) == 3
    rl.rl_search(second, seed=0, carry=carry)
    assert len(loads) == 1  # the carried weights replace the shipped policy
    assert second.critic_prior == carry.critic_data[:1] and len(carry.critic_data) == 2
