"""The sweep file: defaults, the task grid and its keys, and errors that name the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sweep.spec import SpecError, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "k8s" / "sweep" / "sweep.yaml"

MINIMAL = {
    "workloads": {"mlp": {"generate": "mlp", "sizes": [16, 8, 4], "timesteps": 4, "samples": 1}},
    "grid": {"algo": ["random", "nsga2"], "seed": [0, 1, 2]},
}


def spec_with(**changes):
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for path, value in changes.items():
        node = doc
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return doc


DELETE = object()


def test_minimal_spec_defaults_and_grid_order():
    spec = parse_spec(MINIMAL, default_name="mine")
    assert (spec.name, spec.budget, spec.semantics, spec.cpus_per_task, spec.max_retries) == ("mine", 200, "timestep",
                                                                                               1, 3)
    assert spec.axes["target"] == ("none",) and spec.target("none") == {}
    assert spec.axes["preset"] == ("async28",)  # the default preset of the engine
    keys = [t.key for t in spec.tasks()]
    assert len(keys) == len(set(keys)) == 6
    assert keys[:2] == ["mlp/none/async28/random/seed=0", "mlp/none/async28/random/seed=1"]
    s = spec.search_settings(spec.tasks()[-1])
    assert (s.algo, s.seed, s.budget, s.threads, s.max_latency_s) == ("nsga2", 2, 200, 1, None)


def test_keys_are_stable_and_settings_canonical():
    a, b = parse_spec(MINIMAL), parse_spec(yaml.safe_load(yaml.safe_dump(MINIMAL)))
    assert [t.key for t in a.tasks()] == [t.key for t in b.tasks()]
    assert a.to_dict() == b.to_dict()
    c = parse_spec(spec_with(budget=64))
    assert c.to_dict() != a.to_dict() and [t.key for t in c.tasks()] == [t.key for t in a.tasks()]


def test_targets_and_seed_range():
    spec = parse_spec(spec_with(targets={"none": {}, "fast": {"max_latency_s": 1e-3, "max_area_mm2": 5}},
                                grid__seed="3:5", grid__target=["fast"]))
    assert spec.axes["seed"] == (3, 4, 5)
    assert [t.target for t in spec.tasks()] == ["fast"] * 6
    s = spec.search_settings(spec.tasks()[0])
    assert (s.max_latency_s, s.max_area_mm2, s.max_energy_j) == (1e-3, 5.0, None)


def test_the_deployed_example_is_a_valid_sweep():
    spec = load_spec(EXAMPLE)
    assert spec.name == "presets-x-algorithms"
    assert len(spec.tasks()) == 2 * 2 * 2 * 4 * 10
    assert set(spec.axes["algo"]) == {"rl", "nsga2", "tpe", "random"}


@pytest.mark.parametrize("changes, key, words", [
    ({"gird": {}}, "gird", "unknown key"),
    ({"budget": 0}, "budget", "at least 1"),
    ({"budget": "many"}, "budget", "expected an integer"),
    ({"semantics": "clocked"}, "semantics", "timestep or sanafe"),
    ({"version": 2}, "version", "version 1"),
    ({"name": "has space"}, "name", "expected a name"),
    ({"workloads": DELETE}, "workloads", "missing"),
    ({"workloads": {}}, "workloads", "at least one"),
    ({"workloads__mlp__path": "x"}, "workloads.mlp", "exactly one of"),
    ({"workloads__mlp": {"generate": "transformer"}}, "workloads.mlp.generate", "unknown generator"),
    ({"workloads__mlp__layers": [3]}, "workloads.mlp.layers", "unknown key"),
    ({"workloads__mlp__timesteps": "four"}, "workloads.mlp.timesteps", "expected a number"),
    ({"workloads__mlp__sizes": 16}, "workloads.mlp.sizes", "list of integers"),
    ({"workloads__mlp": {"path": 3}}, "workloads.mlp.path", "expected a path"),
    ({"targets": {"fast": {"max_latency": 1e-3}}}, "targets.fast.max_latency", "unknown key"),
    ({"targets": {"fast": {"max_latency_s": -1}}}, "targets.fast.max_latency_s", "positive number"),
    ({"targets": {"fast": {"max_latency_s": "1ms"}}}, "targets.fast.max_latency_s", "positive number"),
    ({"ranges": {"mesh_width": "9:1"}}, "ranges.mesh_width", ""),
    ({"ranges": {"mesh_wdth": "1:4"}}, "ranges.mesh_wdth", "unknown key"),
    ({"grid": DELETE}, "grid", "missing"),
    ({"grid__algo": DELETE}, "grid.algo", "missing"),
    ({"grid__seed": DELETE}, "grid.seed", "missing"),
    ({"grid__algo": ["random", "rll"]}, "grid.algo[1]", "unknown algorithm 'rll'"),
    ({"grid__algo": ["random", "random"]}, "grid.algo[1]", "listed twice"),
    ({"grid__algo": []}, "grid.algo", "at least one"),
    ({"grid__seed": [0, -1]}, "grid.seed[1]", "at least 0"),
    ({"grid__seed": [0, 1.5]}, "grid.seed[1]", "expected an integer"),
    ({"grid__seed": "5:1"}, "grid.seed", "lo:hi"),
    ({"grid__workload": ["mlp", "conv"]}, "grid.workload[1]", "unknown workload 'conv'"),
    ({"grid__target": ["fast"]}, "grid.target[0]", "unknown target"),
    ({"grid__preset": ["truenorth"]}, "grid.preset[0]", "unknown cost preset"),
    ({"grid__axis": [1]}, "grid.axis", "unknown key"),
    ({"cpus_per_task": 0}, "cpus_per_task", "at least 1"),
    ({"max_retries": -1}, "max_retries", "at least 0"),
    ({"warm_start": "yes"}, "warm_start", "true or false"),
])
def test_errors_name_the_key(changes, key, words):
    with pytest.raises(SpecError) as info:
        parse_spec(spec_with(**changes), where="s.yaml")
    message = str(info.value)
    assert message.startswith(f"s.yaml: {key}: "), message
    assert words in message, message


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_spec(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [unclosed\n")
    with pytest.raises(SpecError, match="bad.yaml: not valid YAML"):
        load_spec(bad)
    bad.write_text("- a list\n")
    with pytest.raises(SpecError, match="bad.yaml: expected a mapping"):
        load_spec(bad)


def test_paths_are_relative_to_the_sweep_file(tmp_path):
    doc = spec_with(workloads={"ref": {"path": "wl/net"}})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    spec = load_spec(tmp_path / "s.yaml")
    assert spec.workload("ref").path == str((tmp_path / "wl" / "net").resolve())
