"""A gymnasium environment over the simulator: propose a chip, get its scalarised figures.

Episode: `horizon` steps on one workload with one preference vector. Each action is a complete
design (a ``MultiDiscrete`` vector of choice indices of the *policy space*, by default the
DESIGN.md grid; a user's narrower or shifted ranges are reached by projecting each value to the
nearest allowed one, so a policy trained on the default grid transfers).

Observation (float32, fixed length `OBS_DIM`, every entry roughly in [-1, 2]):

- workload features (26): log sizes (neurons, inputs, synapses, stored weights), number of
  layers, largest fan-in / fan-out, weight bits needed, log time steps, log samples, per-layer
  log sizes (8, zero padded), per-layer spike rates measured on the calibration run (8);
- targets (6): per objective a present flag and log10(target / reference design's figure) / 3
  (the evaluator's targets; drawn at random per episode when pre-training);
- preference weights (3) over (energy, latency, area), summing to 1;
- the current design (11): each parameter's position on its default scale in [0, 1];
- the last reward / 10 and the fraction of the episode done (2);
- the action mask (sum of the policy space's choice counts): 1 where a value could still be
  feasible for this workload (`HardwareSpace.action_mask`), so the policy sees which values never
  fit; infeasible designs are never simulated anyway.

Reward (higher is better), with z_i = ln(f_i / f_i(reference design)):

    r = -sum_i w_i z_i  -  3 (sum over missed targets of ln(f / target))  -  (2 if any is missed)

and, for a design that does not fit the network, r = -6 - min(4, shortfall) (no simulation).
`info` carries the objective vector (`objectives` = [energy J, latency s, area mm^2]), EDP,
feasibility, the reasons and violations.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import gymnasium as gym
import numpy as np

from agent.evaluator import BudgetExhausted, Evaluator, Targets
from agent.space import DEFAULT_CHOICES, HardwareSpace, PARAM_NAMES

MAX_LAYERS = 8
N_WORKLOAD_FEATURES = 10 + 2 * MAX_LAYERS
N_TARGET_FEATURES = 6
EDP_WEIGHTS = (0.5, 0.5, 0.0)
# The preference schedule of a search ("cycle"): one vector per episode, in this order, so that
# the proposals sweep the front (EDP, the corners, the edges, the centre) instead of one point.
SWEEP_WEIGHTS = (
    (0.5, 0.5, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0),
    (0.5, 0.0, 0.5), (0.0, 0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.5, 0.5, 0.0),
    (0.6, 0.2, 0.2), (0.2, 0.6, 0.2), (0.2, 0.2, 0.6), (0.5, 0.5, 0.0),
)

# A registry so that RLlib (which deep-copies its config) can find live evaluators by key.
_EVALUATORS: dict[str, list] = {}


def register_evaluators(key: str, evaluators: Sequence[Evaluator]) -> str:
    _EVALUATORS[key] = list(evaluators)
    return key


def unregister_evaluators(key: str) -> None:
    _EVALUATORS.pop(key, None)


def workload_features(ev: Evaluator) -> np.ndarray:
    n = ev.needs
    steps = ev.inputs.shape[1]
    f = [
        math.log10(max(1, n.n_neurons)) / 7,
        math.log10(max(1, ev.network.n_inputs)) / 7,
        math.log10(max(1, n.n_synapses)) / 9,
        math.log10(max(1, n.stored_weights)) / 9,
        min(len(n.layer_sizes), MAX_LAYERS) / MAX_LAYERS,
        math.log10(max(1, n.max_fan_in)) / 5,
        math.log10(max(1, n.max_fan_out)) / 5,
        n.weight_bits / 16,
        math.log10(max(1, steps)) / 4,
        math.log10(max(1, ev.inputs.shape[0])) / 4,
    ]
    sizes = np.zeros(MAX_LAYERS, np.float32)
    rates = np.zeros(MAX_LAYERS, np.float32)
    ls = np.log10(np.maximum(1, np.array(n.layer_sizes[:MAX_LAYERS], dtype=float))) / 7
    sizes[: ls.size] = ls
    r = ev.spike_rates()[:MAX_LAYERS]
    rates[: r.size] = np.clip(r, 0, 1)
    return np.concatenate([np.array(f, np.float32), sizes, rates]).astype(np.float32)


def obs_dim(policy_space: HardwareSpace) -> int:
    return N_WORKLOAD_FEATURES + N_TARGET_FEATURES + 3 + len(policy_space.params) + 2 + int(policy_space.nvec.sum())


class HardwareDesignEnv(gym.Env):
    """See the module docstring. Pass `evaluators` directly or `evaluators_key` (registry)."""

    metadata = {"render_modes": []}

    def __init__(self, config: Optional[dict] = None, *, evaluators: Optional[Sequence[Evaluator]] = None):
        config = dict(config or {})
        if evaluators is None:
            key = config.get("evaluators_key")
            if key not in _EVALUATORS:
                raise ValueError(f"no evaluators registered under {key!r}")
            evaluators = _EVALUATORS[key]
        if not evaluators:
            raise ValueError("the environment needs at least one workload evaluator")
        self.evaluators = list(evaluators)
        self.horizon = int(config.get("horizon", 4))
        self.preference = config.get("preference", "mixed")  # "mixed", "edp", "cycle" or 3 weights
        # "evaluator": the evaluator's targets; "random": drawn per episode (pre-training)
        self.target_mode = config.get("targets", "evaluator")
        self.edp_fraction = float(config.get("edp_fraction", 0.5))
        # random targets (pre-training): P(no targets), and the range of log10(target / reference)
        self.p_no_targets = float(config.get("p_no_targets", 0.5))
        self.target_log_range = tuple(config.get("target_log_range", (-1.0, 0.5)))
        self.policy_space: HardwareSpace = config.get("policy_space") or HardwareSpace()
        self.action_space = gym.spaces.MultiDiscrete(self.policy_space.nvec)
        self.observation_space = gym.spaces.Box(-5.0, 5.0, (obs_dim(self.policy_space),), np.float32)
        self._features = {}
        self._masks = {}
        self._ev: Evaluator = self.evaluators[0]
        self._weights = np.array(EDP_WEIGHTS, np.float32)
        self._targets = Targets()
        self._design = np.zeros(len(self.policy_space.params), np.float32)
        self._last_reward = 0.0
        self._t = 0
        self._episode = 0
        self._rng = np.random.default_rng(config.get("seed", 0))

    # -- helpers ------------------------------------------------------------------------------
    def _sample_weights(self) -> np.ndarray:
        if self.preference == "edp":
            return np.array(EDP_WEIGHTS, np.float32)
        if self.preference == "cycle":
            w = SWEEP_WEIGHTS[self._episode % len(SWEEP_WEIGHTS)]
            self._episode += 1
            return np.array(w, np.float32)
        if not isinstance(self.preference, str):
            w = np.asarray(self.preference, np.float64)
            return (w / w.sum()).astype(np.float32)
        if self._rng.random() < self.edp_fraction:
            return np.array(EDP_WEIGHTS, np.float32)
        return self._rng.dirichlet(np.ones(3)).astype(np.float32)

    def _sample_targets(self) -> Targets:
        if self.target_mode != "random":
            return self._ev.targets
        if self._rng.random() < self.p_no_targets:
            return Targets()
        ref = self._ev.reference().objectives()
        lo, hi = self.target_log_range
        vals = []
        for f in ref:
            vals.append(float(f * 10 ** self._rng.uniform(lo, hi)) if self._rng.random() < 0.5 else None)
        return Targets(*vals)

    def _target_features(self) -> np.ndarray:
        ref = self._ev.reference().objectives()
        out = np.zeros(N_TARGET_FEATURES, np.float32)
        for i, (_, limit) in enumerate(self._targets.items()):
            if limit is not None:
                out[i] = 1.0
                out[3 + i] = np.clip(np.log10(limit / ref[i]) / 3.0, -1.0, 1.0)
        return out

    def _obs(self) -> np.ndarray:
        i = id(self._ev)
        if i not in self._features:
            self._features[i] = workload_features(self._ev)
            self._masks[i] = self.policy_space.flat_mask(self._ev.needs).astype(np.float32)
        obs = np.concatenate([
            self._features[i],
            self._target_features(),
            self._weights,
            self._design,
            np.array([self._last_reward / 10.0, self._t / self.horizon], np.float32),
            self._masks[i],
        ])
        return np.clip(obs, -5.0, 5.0).astype(np.float32)

    def to_search_action(self, action) -> np.ndarray:
        if self._ev.space is self.policy_space or self._ev.space == self.policy_space:
            return np.asarray(action, np.int64)
        return self._ev.space.project_from(self.policy_space, action)

    # -- gym API --------------------------------------------------------------------------------
    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        options = options or {}
        idx = options.get("workload")
        if idx is None:
            idx = int(self._rng.integers(len(self.evaluators)))
        self._ev = self.evaluators[idx]
        w = options.get("weights")
        self._weights = (np.asarray(w, np.float32) / np.sum(w)) if w is not None else self._sample_weights()
        self._targets = self._sample_targets()
        ref = self._ev.reference_arch()
        pos = []
        for name in PARAM_NAMES:
            p = self.policy_space.params[self.policy_space.names.index(name)]
            v = getattr(ref, name)
            if v is None:
                v = DEFAULT_CHOICES[name][-1]
            pos.append(p.position(v))
        self._design = np.array(pos, np.float32)
        self._last_reward = 0.0
        self._t = 0
        return self._obs(), {"workload": self._ev.name, "weights": self._weights.tolist(),
                             "targets": self._targets.to_dict()}

    def step(self, action):
        action = np.asarray(action, np.int64)
        search_action = self.to_search_action(action)
        self._t += 1
        info = {"workload": self._ev.name, "weights": self._weights.tolist()}
        try:
            rec = self._ev.evaluate(search_action, proposer="ppo")
        except BudgetExhausted:
            info.update(budget_exhausted=True, evaluated=False)
            return self._obs(), 0.0, False, True, info
        reward = self._ev.scalarise(rec, self._weights, targets=self._targets)
        self._design = self.policy_space.positions(action)
        self._last_reward = reward
        info.update(
            evaluated=True,
            budget_exhausted=False,
            objectives=rec.objectives(),
            energy_j=rec.energy_j,
            latency_s=rec.latency_s,
            edp_js=rec.edp_js,
            area_mm2=rec.area_mm2,
            fits=rec.fits,
            meets_targets=rec.meets_targets,
            reasons=list(rec.reasons),
            violations=list(rec.violations),
            design=dict(rec.design),
        )
        terminated = self._t >= self.horizon
        return self._obs(), float(reward), terminated, False, info
