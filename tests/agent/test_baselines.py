"""The baselines (NSGA-II's mixed-variable operators, TPE, random), the shared constraint, the
proposer record and the constrained hypervolume (issue 11, acceptance 1)."""

import numpy as np
import pytest

from agent import baselines
from agent.evaluator import Targets
from agent.search import anytime, run_search
from agent.space import HardwareSpace

from conftest import surrogate_evaluator


def test_nsga2_variables_are_integer_indices_and_a_categorical_mapping():
    from pymoo.core.variable import Choice, Integer

    space = HardwareSpace()
    problem = baselines.nsga2_problem(space)
    for p in space.params:
        var = problem.vars[p.name]
        if p.grid == "categorical":
            assert isinstance(var, Choice) and list(var.options) == list(p.choices)
        else:
            assert isinstance(var, Integer) and tuple(var.bounds) == (0, p.n - 1)


@pytest.mark.parametrize("options", [{}, {"cores_per_tile": "2", "mapping": "spread,locality"}])
def test_nsga2_operators_never_leave_the_space(options):
    """30 generations of ask/tell with random objectives and constraints: every offspring value
    is an in-range integer index or one of the categorical choices (never an interpolated one)."""
    from pymoo.core.evaluator import Evaluator as PymooEvaluator
    from pymoo.problems.static import StaticProblem

    space = HardwareSpace.from_options(options)
    problem = baselines.nsga2_problem(space)
    algo = baselines.nsga2_algorithm(space, pop_size=16)
    algo.setup(problem, seed=3, verbose=False)
    rng = np.random.default_rng(0)
    seen_mappings = set()
    for _ in range(30):
        off = algo.ask()
        X = off.get("X")
        for x in X:
            for p in space.params:
                v = x[p.name]
                if p.grid == "categorical":
                    assert isinstance(v, str) and v in p.choices
                    seen_mappings.add(v)
                else:
                    assert float(v) == int(v) and 0 <= int(v) < p.n, (p.name, v)
        actions = baselines.nsga2_actions(space, X)
        assert all(space.decode(a) for a in actions)
        F = rng.random((len(X), 3))
        G = rng.normal(size=(len(X), 1))
        PymooEvaluator().eval(StaticProblem(problem, F=F, G=G), off)
        algo.tell(infills=off)
    assert seen_mappings == set(space.params[space.names.index("mapping")].choices)


def test_nsga2_actions_refuse_values_outside_the_space():
    space = HardwareSpace()
    good = {p.name: (p.choices[0] if p.grid == "categorical" else 0) for p in space.params}
    assert baselines.nsga2_actions(space, [good]).tolist() == [[0] * len(space.params)]
    with pytest.raises(ValueError, match="mesh_width position 16"):
        baselines.nsga2_actions(space, [dict(good, mesh_width=16)])
    with pytest.raises(ValueError, match="mesh_width position 1.5"):
        baselines.nsga2_actions(space, [dict(good, mesh_width=1.5)])
    with pytest.raises(ValueError):
        baselines.nsga2_actions(space, [dict(good, mapping="diagonal")])


def test_population_and_startup_per_budget():
    for table in (baselines.NSGA2_POPULATION, baselines.TPE_STARTUP):
        for b, v in table.items():
            assert baselines.per_budget(table, b) == v
    assert baselines.nsga2_population(10) <= 5  # never more than half the budget
    big = max(baselines.NSGA2_POPULATION)
    assert baselines.nsga2_population(10 * big) == baselines.NSGA2_POPULATION[big]


@pytest.mark.parametrize("method", ["tpe", "nsga2", "random"])
def test_baseline_is_seeded_spends_the_budget_and_records_its_proposer(method, small_mlp):
    runs = []
    for seed in (4, 4, 5):
        ev = surrogate_evaluator(small_mlp, budget=30, use_ray=False, targets=Targets(max_area_mm2=50.0))
        figs = run_search(method, ev, seed=seed)
        assert figs["simulated"] == 30
        assert {r.proposer for r in ev.archive.records} == {method}
        assert figs["proposers"] == {method: 30}
        runs.append([tuple(sorted(r.design.items())) for r in ev.archive.records])
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_one_constraint_for_every_method(small_mlp):
    from agent.space import shortfall
    from trueasync.model import Architecture

    ev = surrogate_evaluator(small_mlp, budget=40, use_ray=False, targets=Targets(max_latency_s=1e-5))
    rng = np.random.default_rng(0)  # unmasked designs: some do not fit
    ev.evaluate_batch([ev.space.sample(rng) for _ in range(40)], proposer="test")
    fits = [r for r in ev.archive.records if r.fits]
    misfits = [r for r in ev.archive.records if not r.fits]
    assert fits and misfits
    for r in fits:
        g = ev.constraint_violation(r)
        assert (g <= 0) == r.meets_targets and g == pytest.approx(r.overshoot)
    for r in misfits:
        assert ev.constraint_violation(r) == pytest.approx(1.0 + shortfall(Architecture(**r.design), ev.needs))


def test_constrained_hypervolume_equals_pymoo_on_the_target_meeting_subset(small_mlp):
    from pymoo.indicators.hv import HV

    ev = surrogate_evaluator(small_mlp, budget=60, use_ray=False)
    ref = ev.reference()
    ev = surrogate_evaluator(small_mlp, budget=60, use_ray=False,
                             targets=Targets(max_latency_s=3 * ref.latency_s, max_area_mm2=3 * ref.area_mm2))
    figs = run_search("random", ev, seed=1)
    meet = [r for r in ev.archive.records if r.fits and r.meets_targets]
    miss = [r for r in ev.archive.records if r.fits and not r.meets_targets]
    assert len(meet) >= 3 and miss  # both kinds are there, so the subset matters
    u = ev.archive.normaliser(np.array([r.objectives() for r in meet]))
    expected = float(HV(ref_point=np.ones(3))(u))
    assert figs["hypervolume_meeting_targets"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ev.archive.hypervolume(meeting_targets=True) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert figs["hypervolume"] > figs["hypervolume_meeting_targets"]  # the misses add volume
    curve = anytime(ev.archive.records, ev.archive.normaliser, range(10, 61, 10))
    hvc = curve["hypervolume_meeting_targets"]
    assert all(a <= b for a, b in zip(hvc, hvc[1:])) and hvc[-1] == pytest.approx(expected)
    edp = [e for e in curve["best_edp_js"] if e is not None]
    assert all(a >= b for a, b in zip(edp, edp[1:])) and edp[-1] == figs["best_edp_js"]


def test_proposer_is_in_the_saved_archive(tmp_path, small_mlp):
    import csv
    import json

    ev = surrogate_evaluator(small_mlp, budget=12, use_ray=False)
    run_search("nsga2", ev, seed=0)
    ev.archive.save(tmp_path)
    designs = json.loads((tmp_path / "archive.json").read_text())["designs"]
    assert designs and {d["proposer"] for d in designs} == {"nsga2"}
    rows = list(csv.DictReader((tmp_path / "archive.csv").open()))
    assert {r["proposer"] for r in rows} == {"nsga2"}
    assert ev.reference().proposer == "reference"
    ev = surrogate_evaluator(small_mlp, budget=12, use_ray=False)
    a, b = ev.space.sample(np.random.default_rng(1)), ev.space.sample(np.random.default_rng(2))
    ev.evaluate_batch([a, b, a], proposer=["mine", "yours", "theirs"])
    assert [r.proposer for r in ev.archive.records] == ["mine", "yours"]  # a repeat keeps the first
    with pytest.raises(ValueError, match="2 proposer names for 1 designs"):
        ev.evaluate_batch([a], proposer=["a", "b"])


@pytest.mark.parametrize("algo", ["random", "nsga2", "tpe"])
def test_baselines_propose_only_values_some_design_could_make_feasible(algo):
    """The network's largest weight needs 8 bits: no method spends proposals on 2- or 4-bit
    weights (NSGA-II with a population of 4 once proposed 400 of them and found no fit)."""
    from agent.evaluator import Evaluator
    from trueasync.workload import generate_mlp

    wl = generate_mlp((40, 30, 10), timesteps=8, rate=0.3, samples=2, mesh=(2, 2), seed=6)
    space = HardwareSpace.from_options({"mesh_width": "1:4", "mesh_height": "1:4"})
    ev = Evaluator(wl, space, budget=8, threads=1, use_ray=False)
    assert ev.needs.weight_bits == 8
    allowed = baselines.allowed_choices(ev)
    i = [p.name for p in space.params].index("weight_bits")
    assert [space.params[i].choices[j] for j in allowed[i]] == [8]
    run_search(algo, ev, seed=2)
    assert ev.n_simulated == 8 and all(r.design["weight_bits"] == 8 for r in ev.archive.records)
    assert ev.archive.best_edp(meeting_targets=True) is not None


def test_tpe_shared_split_proposes_exactly_what_optunas_sampler_does(small_mlp):
    """The one-split-per-ask sampler is a speed-up, not another baseline: design for design the
    archive equals that of Optuna's own TPESampler with the same seed, repeats included."""
    archives = {}
    for shared in (True, False):
        ev = surrogate_evaluator(small_mlp, budget=40, use_ray=False, targets=Targets(max_area_mm2=50.0))
        figs = run_search("tpe", ev, seed=7, multivariate=False, shared_split=shared)
        archives[shared] = ([tuple(sorted(r.design.items())) for r in ev.archive.records], figs["proposals"])
    assert archives[True] == archives[False]
    assert archives[True][1] > 40  # it did re-propose designs, so repeats were part of the comparison


def test_tpe_repeats_cost_no_budget_and_the_proposals_are_capped(small_mlp):
    import optuna

    told = []
    real_tell = optuna.study.Study.tell

    def tell(self, trial, values=None, state=None, **kw):
        told.append(state or "complete")
        return real_tell(self, trial, values, state, **kw)

    ev = surrogate_evaluator(small_mlp, budget=30, use_ray=False, targets=Targets(max_area_mm2=50.0))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optuna.study.Study, "tell", tell)
        figs = run_search("tpe", ev, seed=4, multivariate=False)  # independent TPE repeats itself early
    simulated = [r for r in ev.archive.records if r.fits]
    assert figs["simulated"] == 30 == len(simulated) == len({tuple(sorted(r.design.items())) for r in simulated})
    assert figs["proposals"] > len(ev.archive.records)  # some proposals repeated a design: no budget spent on them
    assert len(told) == figs["proposals"] and set(told) == {"complete"}  # each one told, as Optuna's FAQ does
    ev = surrogate_evaluator(small_mlp, budget=1000, use_ray=False)
    figs = run_search("tpe", ev, seed=4, max_proposals=25)
    assert figs["proposals"] == 25 and figs["simulated"] <= 25
