"""Baselines on the same evaluator and budget as the RL agent: random search and NSGA-II (pymoo).

Both stop when the evaluator's budget (distinct simulated designs) is spent, or after a cap on
proposals (`max_proposals`, default 50 x budget) in case they keep proposing designs that are
already cached or do not fit (those cost no budget).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from trueasync.model import Architecture

from agent.evaluator import Evaluator
from agent.space import shortfall

Progress = Optional[Callable[[Evaluator], None]]


def random_search(
    evaluator: Evaluator,
    seed: int = 0,
    batch_size: int = 16,
    progress: Progress = None,
    max_proposals: Optional[int] = None,
) -> Evaluator:
    """Uniform random designs (no repeats) until the budget is spent."""
    if evaluator.budget is None:
        raise ValueError("random search needs an evaluator with a budget")
    rng = np.random.default_rng(seed)
    space = evaluator.space
    cap = max_proposals or 50 * evaluator.budget
    seen: set = set()
    proposed = 0
    while not evaluator.exhausted and proposed < cap and len(seen) < space.size:
        batch = []
        while len(batch) < batch_size and proposed < cap and len(seen) < space.size:
            a = space.sample(rng)
            proposed += 1
            k = space.key(a)
            if k in seen:
                continue
            seen.add(k)
            batch.append(a)
        evaluator.evaluate_batch(batch)
        if progress:
            progress(evaluator)
    return evaluator


def nsga2_search(
    evaluator: Evaluator,
    seed: int = 0,
    pop_size: Optional[int] = None,
    progress: Progress = None,
    max_proposals: Optional[int] = None,
) -> Evaluator:
    """NSGA-II over (log energy, log latency, log area) relative to the reference design.

    Integer variables (choice indices) with SBX crossover and polynomial mutation followed by
    rounding (pymoo's usual integer setup), duplicate elimination, and one inequality
    constraint: the target overshoot for designs that fit, 1 + shortfall for designs that do not.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.core.evaluator import Evaluator as PymooEvaluator
    from pymoo.problems.static import StaticProblem

    if evaluator.budget is None:
        raise ValueError("NSGA-II needs an evaluator with a budget")
    space = evaluator.space
    nvec = space.nvec
    pop = pop_size or int(max(8, min(40, evaluator.budget // 8)))
    problem = Problem(n_var=len(nvec), n_obj=3, n_ieq_constr=1, xl=np.zeros(len(nvec)), xu=nvec - 1.0, vtype=int)
    algo = NSGA2(
        pop_size=pop,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    algo.setup(problem, seed=seed, verbose=False)
    ref = evaluator.reference().objectives()
    cap = max_proposals or 50 * evaluator.budget
    proposed = 0
    while not evaluator.exhausted and proposed < cap:
        offspring = algo.ask()
        X = np.clip(np.round(offspring.get("X")).astype(np.int64), 0, nvec - 1)
        proposed += len(X)
        recs = evaluator.evaluate_batch(list(X))
        F = np.full((len(X), 3), 1e3)
        G = np.full((len(X), 1), 1e3)
        for i, rec in enumerate(recs):
            if rec is None:
                continue
            if rec.fits:
                F[i] = np.log10(rec.objectives() / ref)
                G[i, 0] = rec.overshoot
            else:
                F[i] = 10.0
                G[i, 0] = 1.0 + shortfall(Architecture(**rec.design), evaluator.needs)
        PymooEvaluator().eval(StaticProblem(problem, F=F, G=G), offspring)
        algo.tell(infills=offspring)
        if progress:
            progress(evaluator)
    return evaluator
