"""SANA-FE's own YAML files as input: live SANA-FE on the same files is reproduced exactly, and
what TrueAsync cannot reproduce is refused with the file, the line and the feature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sanafe", reason="SANA-FE is not installed (pip install sanafe==2.2.9)")

from importlib.resources import files  # noqa: E402

import trueasync as ta  # noqa: E402
from services.cli import main  # noqa: E402
from trueasync.model import CostModel  # noqa: E402
from trueasync.sanafe_peer import COUNT_NAMES, write_sanafe_files  # noqa: E402
from trueasync.sanafe_yaml import SanafeYamlError, load_sanafe_yaml, run_sanafe_files  # noqa: E402
from trueasync.workload import LOIHI_ENERGY_J, LOIHI_LATENCY_S, Workload, generate_sparse  # noqa: E402

EXAMPLES = Path(str(files("sanafe.examples")))
CHIP, SNN = EXAMPLES / "example_chip.yaml", EXAMPLES / "example_snn.yaml"
TUTORIAL_ARCH, TUTORIAL_SNN = EXAMPLES / "tutorial_arch.yaml", EXAMPLES / "tutorial_snn.yaml"


def assert_reproduces(arch, net, steps=None):
    """TrueAsync on the imported files against SANA-FE on the files themselves."""
    imp = load_sanafe_yaml(arch, net, steps=steps)
    wl = imp.workload
    r = ta.simulate(wl.network, wl.arch, wl.inputs, semantics="sanafe", preset=wl.costs,
                    core_of=wl.core_of, threads=1, trace=True)
    sf = run_sanafe_files(arch, net, imp.steps, spike_trace=True)
    for theirs, ours in COUNT_NAMES:
        assert int(r.counts[ours].sum()) == sf["totals"][theirs], theirs
    assert float(r.dynamic_energy_j.sum()) == pytest.approx(sf["totals"]["energy"], rel=1e-9, abs=0)
    for unit in ("synapse", "soma", "network"):
        ours = float(r.energy_breakdown_j[unit].sum())
        assert ours == pytest.approx(sf["totals"][f"energy_{unit}"], rel=1e-9, abs=0), unit
    spikes = np.concatenate([s[0] for s in r.spike_trace], axis=1)  # [step, global neuron]
    for group, theirs in sf["spikes"].items():
        assert np.array_equal(spikes[:, imp.neurons[group]], theirs[0]), group
    return imp, sf


def test_example_chip_and_snn_reproduce_live_sanafe():
    assert load_sanafe_yaml(CHIP, SNN).steps == 3  # the longest input spike train
    imp, sf = assert_reproduces(CHIP, SNN, steps=6)  # three steps past the end of the train
    assert sf["totals"]["fired"] == 3 and sf["totals"]["updated"] == 12
    wl = imp.workload
    assert (wl.arch.mesh_width, wl.arch.mesh_height, wl.arch.cores_per_tile) == (2, 1, 4)
    assert wl.core_of.tolist() == [0, 1, 0, 0]  # in.0 on 0.0, in.1 on 0.1, out on 0.0
    assert wl.costs.energy_j["east_hop"] == 2.5e-12 and wl.costs.latency_s["west_hop"] == 2.0e-9
    assert wl.network.weight_scale == 1.0


def test_tutorial_is_refused_naming_the_bias_and_its_line():
    with pytest.raises(SanafeYamlError) as e:
        load_sanafe_yaml(TUTORIAL_ARCH, TUTORIAL_SNN, steps=10)
    message = str(e.value)
    assert message.startswith(f"{TUTORIAL_SNN}:12: bias 0.2 is not exactly representable")
    assert "0.203125" in message  # the nearest value that is


def test_tutorial_with_a_binary_bias_reproduces_live_sanafe(tmp_path):
    # a network without input neurons, a group whose neurons differ, a mesh with a missing tile
    net = tmp_path / "tutorial_snn.yaml"
    net.write_text(TUTORIAL_SNN.read_text().replace("bias: 0.2", "bias: 0.203125"))
    imp, sf = assert_reproduces(TUTORIAL_ARCH, net, steps=12)
    assert sf["totals"]["fired"] == 2
    assert [layer.name for layer in imp.workload.network.layers] == ["idle_input", "0[0]", "0[1]", "1"]
    assert imp.workload.network.weight_scale == 2.0 ** -6


def test_exported_workload_reads_back_and_reproduces_sanafe(tmp_path):
    wl = generate_sparse(samples=1, timesteps=20, mesh=(2, 2), cores_per_tile=2, seed=3)
    # every cost distinct, so that a cost read into the wrong slot shows
    energy = {k: (i + 1) * 1e-12 for i, k in enumerate(sorted(LOIHI_ENERGY_J))}
    wl = Workload(wl.network, wl.arch, CostModel("distinct", energy, dict(LOIHI_LATENCY_S)),
                  wl.core_of, wl.inputs, wl.meta)
    written = write_sanafe_files(wl, tmp_path, samples=1)
    imp, sf = assert_reproduces(written["arch"], written["networks"][0])
    assert sf["totals"]["hops"] > 0
    assert imp.workload.costs.energy_j == energy
    assert np.array_equal(imp.workload.inputs, wl.inputs)


def edited(tmp_path, source: Path, old: str, new: str) -> Path:
    """A copy of `source` with `old` (which occurs once) replaced by `new`."""
    text = source.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / source.name
    path.write_text(text.replace(old, new))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# (file, old text, new text, a needle on the line the message must name, words it must hold)
REFUSALS = {
    "soma-model": ("arch", "model: leaky_integrate_fire\n                energy_access_neuron: 20.0e-12",
                   "model: truenorth\n                energy_access_neuron: 20.0e-12", "name: demo_soma_default",
                   "soma model 'truenorth' is not supported"),
    "synapse-model": ("arch", "model: current_based", "model: loihi", "name: demo_synapse",
                      "synapse model 'loihi' is not supported"),
    "dendrite-model": ("arch", "model: accumulator", "model: taps", "name: demo_dendrite",
                       "dendrite model 'taps' is not supported"),
    "unknown-arch-key": ("arch", "max_neurons_supported: 100", "max_neurons_supported: 100\n            colour: 3",
                         "colour: 3", "unknown key 'colour' in core"),
    "buffer-position": ("arch", "buffer_position: soma", "buffer_position: dendrite", "buffer_position",
                        "buffer_position 'dendrite'"),
    "dendrite-cost": ("arch", "energy_update: 0.0", "energy_update: 1.0e-12", "name: demo_dendrite",
                      "no dendrite stage"),
    "value": ("net", "- out.1 -> out.1: [weight: -4]", "- out.1 -> out.1: [weight: -0.1]", "weight: -0.1",
              "weight -0.1 is not exactly representable"),
    "unknown-net-key": ("net", "attributes: []", "attributes: [colour: 3]", "colour", "unknown key 'colour'"),
    "poisson": ("net", "1: [spikes: [1, 0, 1]]", "1: [poisson: 0.5]", "poisson", "poisson is not supported"),
    "delay": ("net", "- out.1 -> out.1: [weight: -4]", "- out.1 -> out.1: [weight: -4, delay: 2]", "delay",
              "synaptic delays ('delay') are not supported"),
    "shared-input-unit": ("net", '- in.1: [core: 0.1, soma: "demo_input[1]"]',
                          '- in.1: [core: 0.0, soma: "demo_input[0]"]', "- in.1:",
                          "share input unit 'demo_input[0]'"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_unsupported_features_are_refused_with_their_file_and_line(tmp_path, case):
    which, old, new, needle, words = REFUSALS[case]
    arch = edited(tmp_path, CHIP, old, new) if which == "arch" else CHIP
    net = edited(tmp_path, SNN, old, new) if which == "net" else SNN
    with pytest.raises(SanafeYamlError) as e:
        load_sanafe_yaml(arch, net)
    changed = arch if which == "arch" else net
    assert str(e.value).startswith(f"{changed}:{line_of(changed, needle)}: "), str(e.value)
    assert words in str(e.value)


def test_units_with_different_costs_in_use_are_refused(tmp_path):
    net = edited(tmp_path, SNN, "- out: [core: 0.0]", "- out.0: [core: 0.0]\n  - out.1: [core: 0.0, soma: demo_soma_alt]")
    with pytest.raises(SanafeYamlError) as e:
        load_sanafe_yaml(CHIP, net)
    assert str(e.value).startswith(f"{CHIP}:{line_of(CHIP, 'name: demo_soma_alt')}: soma unit 'demo_soma_alt'")
    assert "one cost per event kind" in str(e.value)


def test_a_core_over_its_capacity_is_refused(tmp_path):
    arch = edited(tmp_path, CHIP, "max_neurons_supported: 100", "max_neurons_supported: 2")
    with pytest.raises(SanafeYamlError) as e:
        load_sanafe_yaml(arch, SNN)  # in.0, out.0 and out.1 on core 0.0
    assert str(e.value).startswith(f"{SNN}:{line_of(SNN, '- out: [core: 0.0]')}: core 0.0 would hold more")


def test_malformed_yaml_names_its_line(tmp_path):
    net = edited(tmp_path, SNN, "  edges:", "  edges: [")
    with pytest.raises(SanafeYamlError, match=rf"^{net}:\d+: malformed YAML"):
        load_sanafe_yaml(CHIP, net)


def test_cli_runs_sanafe_files_beside_sanafe(tmp_path, capsys):
    out = tmp_path / "report.json"
    argv = ["simulate", "--sanafe-arch", str(CHIP), "--sanafe-net", str(SNN), "--steps", "5", "--sanafe",
            "--json", str(out)]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert report["trueasync"]["semantics"] == "sanafe"
    assert report["sanafe_import"]["steps"] == 5
    rows = report["sanafe"]
    assert all(rows[ours]["equal"] for _, ours in COUNT_NAMES)
    assert rows["dynamic_energy_j"]["rel_diff"] < 1e-9
    assert "semantics=sanafe" in capsys.readouterr().out


def test_cli_refusals_exit_2_with_the_line(tmp_path, capsys):
    assert main(["simulate", "--sanafe-arch", str(TUTORIAL_ARCH), "--sanafe-net", str(TUTORIAL_SNN)]) == 2
    err = capsys.readouterr().err
    assert f"{TUTORIAL_SNN}:12: bias 0.2" in err and "Traceback" not in err
    assert main(["simulate", "--sanafe-arch", str(CHIP)]) == 2
    assert "both --sanafe-arch and --sanafe-net" in capsys.readouterr().err
    assert main(["simulate", "--workload", "builtin:conv", "--steps", "3"]) == 2
    assert "--steps applies to SANA-FE files" in capsys.readouterr().err
