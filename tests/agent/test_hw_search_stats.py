"""The benchmark's bookkeeping: which runs it makes per budget, and its per-seed statistics."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import hw_search  # noqa: E402


def test_run_plan_follows_the_studied_settings(monkeypatch):
    from agent import baselines, rl

    monkeypatch.setattr(baselines, "NSGA2_POPULATION", {200: 32, 500: 32})
    assert hw_search.run_plan("nsga2", [200, 500]) == [(500, [200, 500])]  # one run, truncated
    monkeypatch.setattr(baselines, "NSGA2_POPULATION", {200: 16, 500: 32})
    assert hw_search.run_plan("nsga2", [200, 500]) == [(200, [200]), (500, [500])]
    assert hw_search.variant_settings("nsga2", 200) == {"pop_size": 16}
    monkeypatch.setattr(rl, "RL_SETTINGS", {200: {"pool": 8, "local_options": {}, "preference": "mixed"},
                                           500: {"pool": 16, "local_options": {}, "preference": "cycle"}})
    assert hw_search.run_plan("rl", [200, 500]) == [(200, [200]), (500, [500])]
    assert hw_search.variant_settings("rl-ppo-only", 200) == {"preference": "mixed"}  # no moves
    assert hw_search.variant_settings("rl-no-ppo", 500) == {"pool": 16, "local_options": {}}
    assert hw_search.run_plan("random", [200, 500]) == [(500, [200, 500])]


def figs(hv, trace):
    return {"hypervolume_meeting_targets": hv, "hypervolume": hv + 0.01, "best_edp_js": trace[-1][2],
            "wall_s": 1.0, "best_proposer": "x", "trace": trace}


def test_summary_ratios_and_rank_tests():
    from scipy.stats import mannwhitneyu

    runs = []
    for s in range(5):
        ns = [(8, 0.1, 2.0), (10, 0.2, 1.0)]  # NSGA-II reaches its best, 1.0, after 10
        rl = [(2, 0.05, 0.9)] if s < 4 else [(3, 0.1, 1.5)]  # RL: after 2, except seed 4: never
        runs.append({"seed": s, "runs": {"nsga2": {"10": figs(0.5 + 0.01 * s, ns)},
                                         "rl": {"10": figs(0.6 + 0.01 * s, rl)}}})
    out = hw_search.summarise(runs, [10], ["rl", "nsga2"])["10"]
    assert out["rl"]["sims_to_nsga2_best"] == [2, 2, 2, 2, None]
    assert out["rl"]["ratio_vs_nsga2"] == [5.0, 5.0, 5.0, 5.0, 0.0]
    assert out["rl"]["ratio_vs_nsga2_median"] == 5.0 and out["rl"]["reached_nsga2_best"] == 4
    assert out["rl"]["sims_to_nsga2_best_median"] == 2  # never reached counts as budget + 1
    assert out["tests"]["hv_target_met"] and out["tests"]["speed_target_met"]
    expected = mannwhitneyu(out["rl"]["hypervolume_meeting_targets"], out["nsga2"]["hypervolume_meeting_targets"],
                            alternative="greater").pvalue
    assert out["tests"]["mann_whitney_p_rl_hv_greater"]["nsga2"] == pytest.approx(expected)
    assert out["rl"]["wilcoxon_p_sims_below_nsga2"] < 0.1
    # a variant that finished fewer seeds is summarised on its own seeds
    del runs[4]["runs"]["rl"]
    out = hw_search.summarise(runs, [10], ["rl", "nsga2"])["10"]
    assert out["rl"]["seeds"] == [0, 1, 2, 3] and out["tests"]["seeds"] == {"rl": 4, "nsga2": 5}
    assert np.isclose(out["rl"]["hypervolume_meeting_targets_median"], 0.615)


def test_engine_fingerprint_is_the_engines_behaviour(monkeypatch, small_mlp, small_conv):
    """The cache key follows results, not the binary's bytes: the same on a second call, and
    changed by another preset or by one ulp of one sample's energy."""
    import dataclasses

    from agent import evaluator, workloads

    space = workloads.laptop_space()
    wls = {"mlp": small_mlp, "conv": small_conv}
    fp = hw_search.engine_fingerprint(wls, space, "async28")
    assert len(fp) == 16 and hw_search.engine_fingerprint(wls, space, "async28") == fp
    assert hw_search.engine_fingerprint(wls, space, "loihi") != fp
    assert hw_search.engine_fingerprint({"mlp": small_mlp}, space, "async28") != fp
    ev = workloads.make_evaluator(small_mlp, space, preset="async28", use_ray=False)
    designs = hw_search.fingerprint_designs(ev)
    assert len(designs) == 3 and {a.mapping for a in designs} == {"packed", "spread", "locality"}

    real = evaluator._default_simulate

    def one_ulp_more(*args, **kw):
        r = real(*args, **kw)
        e = r.energy_j.copy()
        e[-1] = np.nextafter(e[-1], np.inf)
        return dataclasses.replace(r, energy_j=e)

    monkeypatch.setattr(evaluator, "_default_simulate", one_ulp_more)
    assert hw_search.engine_fingerprint(wls, space, "async28") != fp


def test_settings_from_a_tuning_report(tmp_path):
    """`--settings-from`: the benchmark runs with what the study chose, per budget."""
    import json

    report = {"studies": {
        "nsga2": {"settings": {"pop16": {"pop_size": 16}, "pop64": {"pop_size": 64}},
                  "choice": {"200": {"chosen": "pop16"}, "500": {"chosen": "pop64"}}},
        "rl": {"settings": {"a": {"pool": 8, "local_options": {"constrained": True}, "preference": "mixed"}},
               "choice": {"200": {"chosen": "a"}, "500": {"chosen": "a"}}}}}
    path = tmp_path / "tuning.json"
    path.write_text(json.dumps(report))
    studied = hw_search.studied_from([path])
    assert hw_search.variant_settings("nsga2", 200, studied) == {"pop_size": 16}
    assert hw_search.variant_settings("nsga2", 500, studied) == {"pop_size": 64}
    assert hw_search.run_plan("nsga2", [200, 500], studied) == [(200, [200]), (500, [500])]
    assert hw_search.variant_settings("rl-no-ppo", 500, studied) == {"pool": 8, "local_options": {"constrained": True}}
    assert hw_search.variant_settings("rl", 200, studied)["preference"] == "mixed"
    assert hw_search.variant_settings("tpe", 500, studied) == hw_search.variant_settings("tpe", 500)  # not studied
