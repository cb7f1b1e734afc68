"""The code's search settings are the ones the committed tuning study chose (docs/search.md,
"Settings"): a rerun of the study that chooses otherwise fails here until the constants follow."""

import sys
from pathlib import Path

from agent import baselines, rl

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import hw_search  # noqa: E402


def chosen(report: str) -> dict:
    """{study: {budget: settings}} the report chose, read as `hw_search.py --settings-from` reads it."""
    return hw_search.studied_from([BENCHMARKS / "results" / report])


def test_nsga2_and_tpe_constants_are_the_studys_choice():
    study = chosen("hw_search_tuning.json")
    assert baselines.NSGA2_POPULATION == {b: s["pop_size"] for b, s in study["nsga2"].items()}
    assert baselines.TPE_STARTUP == {b: s["n_startup_trials"] for b, s in study["tpe"].items()}
    assert {s["multivariate"] for s in study["tpe"].values()} == {baselines.TPE_MULTIVARIATE}


def test_rl_constants_are_the_studys_choice():
    study = chosen("hw_search_tuning_rl.json")["rl"]
    assert set(rl.RL_SETTINGS) == set(study)
    for budget, settings in study.items():
        assert rl.RL_SETTINGS[budget] == settings, budget
