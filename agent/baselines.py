"""Baselines on the same evaluator, budget and constraint as the RL agent: random search,
NSGA-II (pymoo, mixed-variable operators) and multi-objective TPE (Optuna).

All of them stop when the evaluator's budget (distinct simulated designs) is spent, or after a
cap on proposals (`max_proposals`, default 50 x budget) in case they keep proposing designs that
are already cached or do not fit (those cost no budget). NSGA-II and TPE see the same three
objectives, log10(f / f_ref) of energy, latency and area relative to the reference design, and
the same single constraint, `Evaluator.constraint_violation` (target overshoot; 1 + capacity
shortfall for a design that does not fit, whose objectives are set to 10 decades).

Every method proposes only values that some design could make feasible for the workload
(`allowed_choices`: the per-parameter mask the RL policy observes, `HardwareSpace.action_mask`),
so none spends its proposals on, say, a weight width below the network's largest weight.

Settings per budget (NSGA-II's population, TPE's start-up trials) come from a study on the
*tuning* workloads (`agent.workloads.tuning_workloads`, never the benchmark's):
`python benchmarks/hw_search_tuning.py`, recorded in docs/search.md.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from agent.evaluator import Evaluation, Evaluator

Progress = Optional[Callable[[Evaluator], None]]
INFEASIBLE_LOG = 10.0  # objectives (decades over the reference design) told for a design that does not fit

# Chosen by benchmarks/hw_search_tuning.py on the tuning workloads (docs/search.md, "Settings";
# benchmarks/results/hw_search_tuning.json), on the engine with issue 11's cost model and the
# feasibility mask: population 16 at both budgets, multivariate TPE with 10 start-up trials.
# tests/agent/test_studied_settings.py holds these to that report.
NSGA2_POPULATION = {200: 16, 500: 16}
TPE_STARTUP = {200: 10, 500: 10}
TPE_MULTIVARIATE = True


def per_budget(table: dict, budget: int):
    """The setting of the studied budget nearest to `budget` (log scale)."""
    return table[min(table, key=lambda b: (abs(np.log(b / budget)), b))]


def nsga2_population(budget: int, table: Optional[dict] = None) -> int:
    """The population for `budget` from `table` ({budget: population}, default NSGA2_POPULATION)."""
    return max(4, min(per_budget(table or NSGA2_POPULATION, budget), budget // 2))


def tpe_startup(budget: int, table: Optional[dict] = None) -> int:
    """TPE's random start-up trials for `budget` from `table` (default TPE_STARTUP)."""
    return max(1, min(per_budget(table or TPE_STARTUP, budget), budget))


def _log_objectives(evaluator: Evaluator, rec: Evaluation) -> tuple[np.ndarray, float]:
    """(objectives, constraint) as NSGA-II and TPE are told them."""
    if rec.fits:
        return np.log10(rec.objectives() / evaluator.reference().objectives()), evaluator.constraint_violation(rec)
    return np.full(3, INFEASIBLE_LOG), evaluator.constraint_violation(rec)


def allowed_choices(evaluator: Evaluator) -> list[np.ndarray]:
    """Per parameter, the choice indices with which some design could hold the workload (all of
    them where none could: the evaluator then reports why nothing fits)."""
    masks = evaluator.space.action_mask(evaluator.needs)
    return [np.flatnonzero(m) if m.any() else np.arange(p.n) for p, m in zip(evaluator.space.params, masks)]


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
    allowed = allowed_choices(evaluator)
    n_designs = int(np.prod([len(a) for a in allowed], dtype=float))
    cap = max_proposals or 50 * evaluator.budget
    seen: set = set()
    proposed = 0
    while not evaluator.exhausted and proposed < cap and len(seen) < n_designs:
        batch = []
        while len(batch) < batch_size and proposed < cap and len(seen) < n_designs:
            a = np.array([rng.choice(c) for c in allowed], dtype=np.int64)
            proposed += 1
            k = space.key(a)
            if k in seen:
                continue
            seen.add(k)
            batch.append(a)
        evaluator.evaluate_batch(batch, proposer="random")
        if progress:
            progress(evaluator)
    return evaluator


# -- NSGA-II ------------------------------------------------------------------------------------


def nsga2_problem(space, allowed: Optional[list] = None):
    """pymoo mixed-variable problem: an `Integer` position among the allowed choices of each
    ordered parameter (mesh sizes, powers of two, voltage steps: neighbouring positions are
    neighbouring values) and a `Choice` per categorical one (`mapping`: never ordinal)."""
    from pymoo.core.problem import Problem
    from pymoo.core.variable import Choice, Integer

    allowed = allowed or [np.arange(p.n) for p in space.params]
    variables = {}
    for p, a in zip(space.params, allowed):
        if p.grid == "categorical":
            variables[p.name] = Choice(options=[p.choices[int(i)] for i in a])
        else:
            variables[p.name] = Integer(bounds=(0, len(a) - 1))
    return Problem(vars=variables, n_obj=3, n_ieq_constr=1)


def nsga2_algorithm(space, pop_size: int):
    """NSGA-II with pymoo's mixed-variable operators: SBX (p 0.9, eta 15) and polynomial mutation
    (eta 20) with rounding on the integer indices, uniform crossover and random-choice mutation
    on the categorical ones, binary tournament on rank and crowding, duplicate elimination."""
    from pymoo.algorithms.moo.nsga2 import NSGA2, binary_tournament
    from pymoo.core.mixed import MixedVariableDuplicateElimination, MixedVariableMating, MixedVariableSampling
    from pymoo.operators.selection.tournament import TournamentSelection

    dedup = MixedVariableDuplicateElimination()
    return NSGA2(
        pop_size=pop_size,
        sampling=MixedVariableSampling(),
        mating=MixedVariableMating(selection=TournamentSelection(func_comp=binary_tournament),
                                   eliminate_duplicates=dedup),
        eliminate_duplicates=dedup,
    )


def nsga2_actions(space, X, allowed: Optional[list] = None) -> np.ndarray:
    """pymoo's mixed-variable individuals (dicts) -> choice-index actions; refuses anything
    outside the space (the operators must never produce it)."""
    allowed = allowed or [np.arange(p.n) for p in space.params]
    out = np.zeros((len(X), len(space.params)), dtype=np.int64)
    for k, x in enumerate(X):
        for i, (p, a) in enumerate(zip(space.params, allowed)):
            v = x[p.name]
            if p.grid == "categorical":
                out[k, i] = p.choices.index(v)  # ValueError for a value that is not a choice
            else:
                if int(v) != v or not 0 <= int(v) < len(a):
                    raise ValueError(f"NSGA-II produced {p.name} position {v!r} outside 0..{len(a) - 1}")
                out[k, i] = int(a[int(v)])
    return out


def nsga2_search(
    evaluator: Evaluator,
    seed: int = 0,
    pop_size: Optional[int] = None,
    progress: Progress = None,
    max_proposals: Optional[int] = None,
) -> Evaluator:
    """NSGA-II (pymoo ask/tell) over the three log objectives under the shared constraint.

    `pop_size` defaults to the population studied for the nearest budget (`nsga2_population`).
    """
    from pymoo.core.evaluator import Evaluator as PymooEvaluator
    from pymoo.problems.static import StaticProblem

    if evaluator.budget is None:
        raise ValueError("NSGA-II needs an evaluator with a budget")
    space = evaluator.space
    allowed = allowed_choices(evaluator)
    problem = nsga2_problem(space, allowed)
    algo = nsga2_algorithm(space, pop_size or nsga2_population(evaluator.budget))
    algo.setup(problem, seed=seed, verbose=False)
    cap = max_proposals or 50 * evaluator.budget
    proposed = 0
    while not evaluator.exhausted and proposed < cap:
        offspring = algo.ask()
        X = nsga2_actions(space, offspring.get("X"), allowed)
        proposed += len(X)
        recs = evaluator.evaluate_batch(list(X), proposer="nsga2")
        F = np.full((len(X), 3), 1e3)  # unsimulated (budget ran out): never selected
        G = np.full((len(X), 1), 1e3)
        for i, rec in enumerate(recs):
            if rec is not None:
                F[i], G[i, 0] = _log_objectives(evaluator, rec)
        PymooEvaluator().eval(StaticProblem(problem, F=F, G=G), offspring)
        algo.tell(infills=offspring)
        if progress:
            progress(evaluator)
    return evaluator


# -- multi-objective TPE (Optuna) -----------------------------------------------------------------


def _tpe_sampler_class():
    """`TPESampler` whose independent sampling splits the trials once per `ask`.

    Optuna's independent TPE samples each parameter in its own `sample_independent` call, and
    each call splits all finished trials into "below" and "above" anew (feasibility of every
    trial, non-dominated sorting, hypervolume subset selection), although the split is the same
    for every parameter of a trial, and reads every trial's value of the parameter anew for its
    two Parzen estimators. Profiled on a 500-simulation search (~1,060 trials), the split was
    60 % of TPE's time, 9/10 of it repeated work. This subclass does exactly what
    `sample_independent` does for each parameter, in the same order and with the same random
    draws, from one split and one reading of the trials' values (`sample_relative`, Optuna's
    hook for sampling several parameters at once), so its proposals are identical (tested in
    `tests/agent/test_baselines.py`). It leans on the sampler's private helpers, so it is tied
    to the pinned Optuna (pyproject.toml); the identity test fails if an upgrade changes them.
    """
    import optuna
    from optuna.samplers._tpe import sampler as tpe
    from optuna.trial import TrialState

    class SharedSplitTPESampler(optuna.samplers.TPESampler):
        def __init__(self, search_space: dict, **kw):
            super().__init__(multivariate=False, **kw)
            self._fixed_space = dict(search_space)  # name -> distribution, in suggest order

        def infer_relative_search_space(self, study, trial):
            return dict(self._fixed_space)

        def sample_relative(self, study, trial, search_space):
            trials = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED),
                                       use_cache=True)
            if not search_space or len(trials) < self._n_startup_trials:
                return {}  # start-up: each parameter from the random sampler, as before
            if self._gamma is None:
                self._gamma = tpe.default_gamma_multiobjective if study._is_multi_objective() else tpe.default_gamma
            below, above = tpe._split_trials(study, trials, self._gamma(len(trials)))
            # Every trial suggests every parameter of the space, so reading all parameters of
            # each trial once gives each parameter the observations `_build_parzen_estimator`
            # would read for it alone (that reading was a third of the time left after the split).
            obs_below = self._get_internal_repr(below, search_space, study)
            obs_above = self._get_internal_repr(above, search_space, study)
            out = {}
            for name, dist in search_space.items():  # `_sample`, one parameter at a time
                one = {name: dist}
                weights_below = np.ones(len(obs_below[name])) if study._is_multi_objective() else None
                mpe_below = self._parzen_estimator_cls({name: obs_below[name]}, one,
                                                       self._parzen_estimator_parameters, weights_below)
                mpe_above = self._parzen_estimator_cls({name: obs_above[name]}, one,
                                                       self._parzen_estimator_parameters)
                samples = mpe_below.sample(self._rng.rng, self._n_ei_candidates)
                best = self._compare(samples, self._compute_acquisition_func(samples, mpe_below, mpe_above))
                out[name] = dist.to_external_repr(best[name])
            return out

    return SharedSplitTPESampler


def tpe_distributions(space, allowed: list) -> dict:
    """Optuna distributions of the parameters TPE samples (those with two or more allowed
    values), in suggest order: an `IntDistribution` over positions among the allowed choices of
    an ordered parameter, a `CategoricalDistribution` of the allowed values of a categorical one."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    out = {}
    for p, choices in zip(space.params, allowed):
        if len(choices) < 2:
            continue
        if p.grid == "categorical":
            out[p.name] = CategoricalDistribution([p.choices[int(j)] for j in choices])
        else:
            out[p.name] = IntDistribution(0, len(choices) - 1)
    return out


def tpe_search(
    evaluator: Evaluator,
    seed: int = 0,
    n_startup_trials: Optional[int] = None,
    multivariate: Optional[bool] = None,
    progress: Progress = None,
    max_proposals: Optional[int] = None,
    shared_split: bool = True,
) -> Evaluator:
    """Optuna's multi-objective TPE sampler (with its constraint support: `Trial.set_constraint`)
    over the design space.

    Ordered parameters are `suggest_int` over choice indices (TPE's numeric Parzen estimator, so
    neighbouring values share density), categorical ones are `suggest_categorical`. The first
    `n_startup_trials` (default per budget, `tpe_startup`) are uniform random. A design that does
    not fit, or that repeats an earlier one, is told its (cached) values and costs no budget:
    Optuna's own way with repeats (its FAQ, "How can I ignore duplicated samples?"). Closing
    repeats as FAIL trials instead, which TPE ignores, was measured to be slower: TPE, whose
    model then never changes, proposes the same designs again and again (docs/search.md).
    `shared_split` (default) samples with `_tpe_sampler_class`: the same proposals, one trial
    split per `ask` instead of one per parameter; False uses Optuna's `TPESampler` as it is.
    """
    import optuna

    if evaluator.budget is None:
        raise ValueError("TPE needs an evaluator with a budget")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = evaluator.space
    allowed = allowed_choices(evaluator)
    dists = tpe_distributions(space, allowed)
    multivariate = TPE_MULTIVARIATE if multivariate is None else multivariate
    kw = {"seed": seed, "n_startup_trials": n_startup_trials or tpe_startup(evaluator.budget)}
    if shared_split and not multivariate:  # multivariate TPE splits once per ask already
        sampler = _tpe_sampler_class()(dists, **kw)
    else:
        sampler = optuna.samplers.TPESampler(multivariate=multivariate, **kw)
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    cap = max_proposals or 50 * evaluator.budget
    proposed = 0
    while not evaluator.exhausted and proposed < cap:
        trial = study.ask()
        a = np.zeros(len(space.params), dtype=np.int64)
        for i, (p, choices) in enumerate(zip(space.params, allowed)):
            if p.name not in dists:
                a[i] = int(choices[0])
            elif p.grid == "categorical":  # the distributions of `tpe_distributions`
                a[i] = p.choices.index(trial.suggest_categorical(p.name, dists[p.name].choices))
            else:
                a[i] = int(choices[trial.suggest_int(p.name, 0, len(choices) - 1)])
        proposed += 1
        rec = evaluator.evaluate_batch([a], proposer="tpe")[0]
        if rec is None:  # budget spent
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        f, g = _log_objectives(evaluator, rec)
        trial.set_constraint("targets", float(g))  # Optuna: feasible when <= 0
        study.tell(trial, [float(v) for v in f])
        if progress:
            progress(evaluator)
    return evaluator
