"""The code's search settings are the ones the committed tuning study chose (docs/search.md,
"Settings"): a rerun of the study that chooses otherwise fails here until the constants follow."""

import json
from pathlib import Path

from agent import baselines, rl

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def chosen(report: str) -> dict:
    out = {}
    for study, rep in json.loads((RESULTS / report).read_text())["studies"].items():
        out[study] = {int(b): rep["settings"][c["chosen"]] for b, c in rep["choice"].items()}
    return out


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
