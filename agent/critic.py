"""The RL search's design critic: a model of the objectives fitted online to the simulated designs.

With ``gamma = 0`` the search is a contextual bandit, whose action-value Q(s, a) is the expected
reward of proposing design a. The critic is that model, kept per objective instead of per
preference vector: ridge regression of log10(energy) and log10(latency) on features of the design
(each parameter's position on its scale plus a one-hot of its value), refitted after every batch
from the workload's own simulated designs. Area is modelled the same way, but where the engine
can compute it without simulating (`Evaluator.area_mm2`) the exact value replaces the model's.

It screens the archive moves (`agent.rl.local_proposals`): of many candidate neighbours, the
ones with the best predicted EDP under the targets and the largest predicted hypervolume gain are
simulated. A prediction is the parent's measured figure plus the model's difference between
child and parent, so the parent's residual (interactions the additive model misses) carries over.
The critic never replaces a simulation: every reported figure is simulated, and budget is spent
only on simulated designs, as for every other method.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from agent.space import HardwareSpace

MIN_POINTS = 12  # below this many simulated designs the critic does not screen
RIDGE = 0.3
HVI_SAMPLES = 8192


class DesignCritic:
    """Predicts log10 [energy, latency, area] of encoded designs from a workload's simulated designs."""

    def __init__(self, space: HardwareSpace, ridge: float = RIDGE):
        self.space = space
        self.ridge = ridge
        self.coef: Optional[np.ndarray] = None
        self.n_points = 0

    def features(self, actions: np.ndarray) -> np.ndarray:
        a = np.atleast_2d(np.asarray(actions, dtype=int))
        cols = [np.ones((a.shape[0], 1))]
        for i, p in enumerate(self.space.params):
            if p.n < 2:
                continue
            pos = np.array([p.position(c) for c in p.choices])
            if p.grid != "categorical":
                cols.append(pos[a[:, i]][:, None])
            cols.append(np.eye(p.n)[a[:, i]])
        return np.hstack(cols)

    def fit(self, actions: np.ndarray, log_objectives: np.ndarray, groups=None) -> "DesignCritic":
        """Ridge fit (intercept not penalised) of `log_objectives` [n, k] on the designs' features.

        `groups` (one label per row, e.g. the workload each design was simulated on) adds one
        unpenalised offset per group beyond the first: the design effects are shared, the levels
        are not (predictions from a parent, `predict_from_parent`, do not need the levels)."""
        x = self.features(actions)
        n_feat = x.shape[1]
        levels = []
        if groups is not None:
            g = np.asarray(groups)
            levels = list(np.unique(g))[1:]
            if levels:
                x = np.hstack([x, (g[:, None] == np.array(levels)[None, :]).astype(float)])
        y = np.asarray(log_objectives, dtype=float)
        penalty = self.ridge * np.eye(x.shape[1])
        penalty[0, 0] = 0.0
        for j in range(n_feat, x.shape[1]):
            penalty[j, j] = 0.0
        self.coef = np.linalg.solve(x.T @ x + penalty, x.T @ y)[:n_feat]
        self.n_points = x.shape[0]
        return self

    @property
    def ready(self) -> bool:
        return self.coef is not None and self.n_points >= MIN_POINTS

    def predict(self, actions: np.ndarray) -> np.ndarray:
        return self.features(actions) @ self.coef

    def predict_from_parent(self, actions: np.ndarray, parents: np.ndarray,
                            parent_log_objectives: np.ndarray) -> np.ndarray:
        """Parent's measured log figures + the model's child-minus-parent difference."""
        return np.asarray(parent_log_objectives) + self.predict(actions) - self.predict(parents)


def fit_critic(evaluator) -> DesignCritic:
    """A critic over `evaluator`'s space, fitted to every simulated design in its archive.

    With `evaluator.critic_prior` (a list of (design dicts, log10 objectives) of other workloads,
    e.g. the earlier candidates of a co-exploration), those designs join the fit with a level of
    their own per workload, so the critic screens from the first archive moves."""
    from trueasync.model import Architecture

    space = evaluator.space
    recs = [r for r in evaluator.archive.records if r.fits]
    critic = DesignCritic(space)
    prior = getattr(evaluator, "critic_prior", None) or []
    actions = [space.encode(Architecture(**r.design)) for r in recs]
    ys = [np.log10(r.objectives()) for r in recs]
    groups = [0] * len(recs)
    for k, (designs, logs) in enumerate(prior, 1):
        for d, y in zip(designs, logs):
            try:
                a = space.encode(Architecture(**d))
            except ValueError:  # a value this space does not offer
                continue
            actions.append(a)
            ys.append(np.asarray(y, dtype=float))
            groups.append(k)
    if recs and len(actions) >= MIN_POINTS:
        critic.fit(np.array(actions), np.array(ys), groups if len(set(groups)) > 1 else None)
    return critic


def hv_gains(front_u: np.ndarray, cand_u: np.ndarray, picks: int,
             seed: int = 0) -> tuple[list[int], list[float]]:
    """Greedily pick up to `picks` candidates (rows of `cand_u`) by estimated hypervolume gain.

    Points are in the normalised unit cube (reference point 1). The gain of each candidate over the
    front plus the ones already picked is estimated on a fixed seeded sample of the box the points
    span; ties (no gain) keep the candidates' order. Returns the picks and their estimated gains
    (in units of the unit cube's volume).
    """
    cand_u = np.asarray(cand_u, dtype=float).reshape(-1, 3)
    front_u = np.asarray(front_u, dtype=float).reshape(-1, 3)
    if cand_u.shape[0] == 0:
        return [], []
    lo = np.minimum(cand_u.min(axis=0), front_u.min(axis=0) if front_u.size else 1.0)
    rng = np.random.default_rng(seed)
    s = lo + rng.random((HVI_SAMPLES, 3)) * (1.0 - lo)
    covered = _dominated(s, front_u).any(axis=0)
    dom = _dominated(s, cand_u)  # [candidate, sample]
    cell = float(np.prod(1.0 - lo)) / HVI_SAMPLES
    chosen: list[int] = []
    gains: list[float] = []
    for _ in range(min(picks, cand_u.shape[0])):
        gain = (dom & ~covered).sum(axis=1).astype(float)
        gain[chosen] = -1.0
        i = int(np.argmax(gain))
        chosen.append(i)
        gains.append(gain[i] * cell)
        covered |= dom[i]
    return chosen, gains


def _dominated(samples: np.ndarray, points: np.ndarray) -> np.ndarray:
    """[point, sample]: the sample is weakly dominated by the point (per coordinate: faster than
    a reduction over a length-3 axis)."""
    out = samples[None, :, 0] >= points[:, None, 0]
    for j in (1, 2):
        out &= samples[None, :, j] >= points[:, None, j]
    return out


def edp_order(pred_log: np.ndarray, log_limits: Sequence[Optional[float]]) -> np.ndarray:
    """Candidates ordered by predicted log10 EDP plus a steep penalty for predicted target misses.

    `pred_log` [n, 3] are predicted log10 energy, latency and area; `log_limits` the log10 targets
    (None: no target). A decade over a target costs ten decades of EDP.
    """
    over = np.zeros(pred_log.shape[0])
    for j, lim in enumerate(log_limits):
        if lim is not None:
            over += np.maximum(0.0, pred_log[:, j] - lim)
    return np.argsort(pred_log[:, 0] + pred_log[:, 1] + 10.0 * over, kind="stable")
