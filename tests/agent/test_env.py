import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agent.env import HardwareDesignEnv, obs_dim, register_evaluators, unregister_evaluators
from agent.space import HardwareSpace


def test_env_checker_passes(small_mlp, small_conv, make_evaluator):
    env = HardwareDesignEnv({"horizon": 3}, evaluators=[make_evaluator(small_mlp), make_evaluator(small_conv)])
    check_env(env, skip_render_check=True)


def test_observation_reward_and_info(small_mlp, make_evaluator):
    ev = make_evaluator(small_mlp)
    env = HardwareDesignEnv({"horizon": 2, "preference": "edp"}, evaluators=[ev])
    obs, info = env.reset(seed=3)
    assert obs.shape == (obs_dim(HardwareSpace()),) and env.observation_space.contains(obs)
    assert info["weights"] == [0.5, 0.5, 0.0]
    sp = env.policy_space
    good = sp.encode(ev.space.decode(sp.sample(np.random.default_rng(0))).__class__(
        mesh_width=1, mesh_height=1, weight_bits=8, voltage_v=0.7))
    obs, r_good, term, trunc, info = env.step(good)
    assert info["fits"] and info["objectives"].shape == (3,)
    assert info["edp_js"] == pytest.approx(info["energy_j"] * info["latency_s"], rel=1e-9)
    assert not term and not trunc
    bad = good.copy()
    bad[sp.names.index("weight_bits")] = 0  # 2 bits < 8 needed
    obs, r_bad, term, trunc, info = env.step(bad)
    assert not info["fits"] and "weight_bits" in info["reasons"][0]
    assert r_bad < r_good and term
    # the workload features carry the measured spike rates of the calibration run
    rates = obs[18:26]
    assert np.all(rates[:3] > 0) and np.all(rates[3:] == 0)


def test_registry_and_user_space_projection(small_mlp, make_evaluator):
    space = HardwareSpace.from_options({"mesh_width": "2:3", "mapping": "locality", "weight_bits": "8"})
    ev = make_evaluator(small_mlp, space)
    key = register_evaluators("t-env", [ev])
    try:
        env = HardwareDesignEnv({"evaluators_key": key})
        env.reset(seed=0)
        for _ in range(8):
            _, _, _, _, info = env.step(env.action_space.sample())
            assert info["design"]["mesh_width"] in (2, 3) and info["design"]["mapping"] == "locality"
    finally:
        unregister_evaluators(key)
    with pytest.raises(ValueError, match="no evaluators"):
        HardwareDesignEnv({"evaluators_key": key})


def test_budget_exhausted_truncates(small_mlp, make_evaluator):
    ev = make_evaluator(small_mlp, budget=1)
    env = HardwareDesignEnv({"horizon": 50}, evaluators=[ev])
    env.reset(seed=0)
    sp = env.policy_space
    from trueasync.model import Architecture

    a1 = sp.encode(Architecture(mesh_width=1, mesh_height=1, voltage_v=0.7))
    a2 = sp.encode(Architecture(mesh_width=2, mesh_height=1, voltage_v=0.7))
    assert env.step(a1)[4]["evaluated"]
    _, r, term, trunc, info = env.step(a2)
    assert trunc and info["budget_exhausted"] and r == 0.0
