"""Read SANA-FE's own architecture and network YAML files into a TrueAsync `Workload`.

    from trueasync.sanafe_yaml import load_sanafe_yaml
    imp = load_sanafe_yaml("example_chip.yaml", "example_snn.yaml")     # steps: longest spike train
    wl = imp.workload
    ta.simulate(wl.network, wl.arch, wl.inputs, semantics="sanafe", preset=wl.costs,
                core_of=wl.core_of)

It reads the part of SANA-FE 2.2.9's formats (sana-fe.readthedocs.io) that maps onto the TrueAsync
template (DESIGN.md section 3): a mesh of tiles, cores with one axon-in and one axon-out unit,
`current_based` synapses, `accumulator` dendrites that cost nothing, `leaky_integrate_fire` and
`input` somas, per-event energies and latencies. Anything else raises `SanafeYamlError` (a
`WorkloadError`, so a `ValueError`) whose message starts with `FILE:LINE:` and names the feature.
docs/sanafe.md lists what is read, what is refused and why.

Values: weights, thresholds, biases and resets become integers times one power-of-two scale
`2**-k`, the smallest in which every value is exact (SANA-FE computes in float64 and truncates the
potential to 1/64 each step, so only binary fractions can agree bit for bit); a value with no such
representation within the engine's limits is named with its line.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn, Optional, Union

import numpy as np
import yaml

from trueasync.model import (
    Architecture,
    CostModel,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)
from trueasync.workload import Workload, WorkloadError, leak_fraction, weight_bits_needed

# Engine limits (docs/fixed-point.md, sim-rs model.rs): weights in at most 16 signed bits,
# thresholds, biases and resets below 2^30.
WEIGHT_BITS_MAX = 16
VALUE_BITS_MAX = 30
# SANA-FE has no synapse memory size: the engine's largest, so capacity never refuses an import
# (the imported cost model has no area constants, so it costs no area either).
SYNAPSE_MEMORY_KIB = 1 << 22
# SANA-FE charges a hop once per packet: one 32-bit flit, so the file's hop costs stand as they are.
LINK_WIDTH_BITS = 32
# Bounds on what the importer builds, checked before it allocates (the engine's own limits,
# docs/fixed-point.md, apply after): neurons, steps, cores, and the names one range may expand to.
MAX_NEURONS = 1 << 24
MAX_STEPS = 1 << 20
MAX_CORES = 1 << 22
MAX_RANGE = 1 << 16

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RANGE = re.compile(r"^(.*)\[(\d+)\.\.(\d+)\]$")
_LOG_KEYS = ("log_energy", "log_latency")
_COSTS = {  # unit kind -> SANA-FE cost attributes (all required by SANA-FE)
    "axon_in": ("energy_message_in", "latency_message_in"),
    "axon_out": ("energy_message_out", "latency_message_out"),
    "synapse": ("energy_process_spike", "latency_process_spike"),
    "dendrite": ("energy_update", "latency_update"),
    "soma": ("energy_access_neuron", "latency_access_neuron", "energy_update_neuron",
             "latency_update_neuron", "energy_spike_out", "latency_spike_out"),
}
_HOPS = tuple(f"{kind}_{d}_hop" for d in ("north", "east", "south", "west")
              for kind in ("energy", "latency"))
_SUPPORTED_MODELS = {"synapse": ("current_based",), "dendrite": ("accumulator",),
                     "soma": ("leaky_integrate_fire", "input")}
_UNSUPPORTED_MODEL = {
    "loihi": "its concurrent-access synapse timing and mixed-sign modes have no TrueAsync equivalent",
    "accumulator_with_delay": "TrueAsync has one step of delay on every synapse, no per-synapse delays",
    "taps": "TrueAsync has no multi-compartment dendrites",
    "truenorth": "TrueAsync's LIF has a multiplicative leak and fires on v > threshold only",
}
# Neuron attributes that select hardware or only switch SANA-FE's own traces.
_NEURON_FLAGS = ("log_spikes", "log_potential", "log_u")
_FORCE_FLAGS = ("force_update", "force_update_every_timestep", "force_soma_update",
                "force_dendrite_update", "force_synapse_update")
_HW_NAMES = ("soma_hw_name", "synapse_hw_name", "dendrite_hw_name")
_LIF_DEFAULTS = {"threshold": 0.0, "bias": 0.0, "reset": 0.0, "leak_decay": 1.0,
                 "reset_mode": "hard"}
_LIF_UNSUPPORTED = {
    "reverse_threshold": "reverse (negative) thresholds",
    "reverse_reset": "reverse (negative) thresholds",
    "noise": "noise streams",
    "noise_bits": "noise streams",
    "force_potential": "forced potentials",
}
_INPUT_UNSUPPORTED = {
    "poisson": "random (Poisson) inputs: give the spike train as `spikes: [...]`",
    "rate": "rate-coded inputs (SANA-FE counts them on its global step counter): give the spike "
    "train as `spikes: [...]`",
}


class SanafeYamlError(WorkloadError):
    """A SANA-FE file is malformed or uses what TrueAsync cannot reproduce ("FILE:LINE: ...")."""


@dataclass(frozen=True)
class SanafeImport:
    """What `load_sanafe_yaml` read: the workload (one sample of `steps` steps) and how it maps.

    `neurons[group]` holds the global TrueAsync neuron index of each neuron of a SANA-FE group
    (layers are in `workload.network.layers`; a group whose neurons differ is split into several
    layers). `notes` say what the mapping onto the template chose.
    """

    workload: Workload
    steps: int
    neurons: dict
    notes: tuple


# --------------------------------------------------------------------------------------------
# YAML nodes with their lines


class _Doc:
    """One YAML file as PyYAML nodes (which keep their line), with typed, located accessors."""

    def __init__(self, path: Union[str, os.PathLike]):
        self.name = str(path)
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise SanafeYamlError(f"{self.name}: cannot read the file ({e.strerror or e})") from None
        try:
            self.root = _compose(text, self.name)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(e, "problem", None) or str(e)
            raise SanafeYamlError(f"{self.name}:{line}: malformed YAML: {problem}") from None

    def at(self, node) -> str:
        return f"{self.name}:{node.start_mark.line + 1}"

    def fail(self, node, message: str) -> NoReturn:
        raise SanafeYamlError(f"{self.at(node)}: {message}")

    def items(self, node, what: str) -> list:
        """(key, key node, value node) of a mapping; duplicate keys are refused."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping of keys to values")
        seen, out = set(), []
        for k, v in node.value:
            key = self.string(k, f"a key of {what}")
            if key in seen:
                self.fail(k, f"duplicate key '{key}' in {what}")
            seen.add(key)
            out.append((key, k, v))
        return out

    def fields(self, node, what: str, known: tuple, required: tuple = ()) -> dict:
        """A section's entries by key: unknown keys are refused, required ones must be there."""
        out = {}
        for key, kn, v in self.items(node, what):
            if key not in known:
                self.unknown(kn, key, what, known)
            out[key] = v
        for key in required:
            if key not in out:
                self.fail(node, f"{what} has no '{key}'")
        return out

    def attributes(self, node, what: str) -> list:
        """SANA-FE attribute lists: a mapping, a list of mappings (in order), or nothing."""
        if node is None or _is_null(node):
            return []
        if isinstance(node, yaml.SequenceNode):
            out = []
            for entry in node.value:
                out += self.attributes(entry, what)
            return out
        return self.items(node, what)

    def listed(self, node) -> list:
        """A section that SANA-FE takes either as a list or as a single entry."""
        return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]

    def string(self, node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{what} must be a single value")
        return str(node.value)

    def number(self, node, what: str) -> float:
        text = self.string(node, what)
        try:
            value = float(text)
        except ValueError:
            self.fail(node, f"{what} must be a number, got '{text}'")
        if not math.isfinite(value):
            self.fail(node, f"{what} must be finite, got {text}")
        return value

    def cost(self, node, what: str) -> float:
        value = self.number(node, what)
        if value < 0:
            self.fail(node, f"{what} must be >= 0, got {value!r}")
        return value

    def integer(self, node, what: str, minimum: int = 0) -> int:
        text = self.string(node, what)
        try:
            value = int(text)
        except ValueError:
            self.fail(node, f"{what} must be an integer, got '{text}'")
        if value < minimum:
            self.fail(node, f"{what} must be at least {minimum}, got {value}")
        return value

    def boolean(self, node, what: str) -> bool:
        text = self.string(node, what).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        self.fail(node, f"{what} must be true or false, got '{text}'")

    def unknown(self, key_node, key: str, section: str, known) -> NoReturn:
        self.fail(key_node, f"unknown key '{key}' in {section} (this importer reads "
                  f"{', '.join(sorted(known))}; docs/sanafe.md lists what is supported)")


def _compose(text: str, name: str):
    """The first YAML document as PyYAML nodes, built straight from the parser's events.

    PyYAML's own composer also resolves a tag for every scalar; this importer reads scalars as
    text itself, and composing from the events is about a third faster on large edge lists.
    """
    root, stack, anchors, docs = None, [], {}, 0

    def add(node):
        nonlocal root
        if not stack:
            root = node
        elif isinstance(stack[-1][0], yaml.SequenceNode):
            stack[-1][0].value.append(node)
        elif stack[-1][1] is None:
            stack[-1][1] = node  # a key: its value comes next
        else:
            stack[-1][0].value.append((stack[-1][1], node))
            stack[-1][1] = None

    for ev in yaml.parse(text, Loader=_LOADER):
        kind = type(ev)
        if kind is yaml.ScalarEvent:
            node = yaml.ScalarNode(None, ev.value, ev.start_mark, ev.end_mark, ev.style)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            cls = yaml.MappingNode if kind is yaml.MappingStartEvent else yaml.SequenceNode
            node = cls(None, [], ev.start_mark, ev.end_mark)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
            continue
        elif kind is yaml.AliasEvent:
            if ev.anchor not in anchors:
                raise SanafeYamlError(f"{name}:{ev.start_mark.line + 1}: unknown alias *{ev.anchor}")
            add(anchors[ev.anchor])
            continue
        else:
            if kind is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise SanafeYamlError(f"{name}:{ev.start_mark.line + 1}: more than one YAML "
                                          "document in the file")
            continue
        if ev.anchor is not None:
            anchors[ev.anchor] = node
        add(node)
        if kind is not yaml.ScalarEvent:
            stack.append([node, None])
    return root


def _is_null(node) -> bool:
    return (isinstance(node, yaml.ScalarNode) and node.style is None
            and node.value in ("", "~", "null", "Null", "NULL"))


def _expand(doc: _Doc, node, name: str) -> list:
    """`base[a..b]` -> ['base[a]', ..., 'base[b]']; a plain name stays one name."""
    m = _RANGE.match(name)
    if not m:
        return [name]
    a, b = int(m.group(2)), int(m.group(3))
    if a > b:
        doc.fail(node, f"range '{name}' is empty ({a} > {b})")
    if b - a >= MAX_RANGE:
        doc.fail(node, f"range '{name}' names {b - a + 1} units; this importer reads at most {MAX_RANGE}")
    return [f"{m.group(1)}[{i}]" for i in range(a, b + 1)]


def _index_range(doc: _Doc, node, text: str) -> range:
    """'3' or '0..7' (a neuron id or range of ids)."""
    parts = text.split("..")
    try:
        ids = [int(p) for p in parts]
    except ValueError:
        doc.fail(node, f"'{text}' is not a neuron id or range of ids (e.g. 3 or 0..7)")
    if len(ids) == 1:
        ids = ids * 2
    if len(ids) != 2 or ids[0] < 0 or ids[0] > ids[1]:
        doc.fail(node, f"'{text}' is not a neuron id or range of ids (e.g. 3 or 0..7)")
    return range(ids[0], ids[1] + 1)


# --------------------------------------------------------------------------------------------
# the architecture file


@dataclass
class _Unit:
    kind: str  # axon_in, axon_out, synapse, dendrite, soma
    name: str
    model: str  # "" for axon units
    costs: dict  # SANA-FE cost attribute -> value
    where: str
    unsupported: Optional[str] = None  # why a neuron may not use it (plugins, noise, ...)


@dataclass
class _Core:
    name: str
    tile: int
    offset: int
    max_neurons: int
    units: dict  # kind -> list of _Unit
    where: str

    def unit(self, kind: str, name: Optional[str]) -> Optional[_Unit]:
        units = self.units[kind]
        if name is None:
            return units[0] if units else None
        return next((u for u in units if u.name == name), None)


@dataclass
class _Tile:
    name: str
    hops: dict
    cores: list
    where: str


@dataclass
class _Chip:
    name: str
    width: int
    height: int
    link_buffer_size: int
    tiles: list
    cores_per_tile: int
    notes: list

    def core(self, tile: int, offset: int) -> _Core:
        return self.tiles[tile].cores[offset]

    def core_id(self, tile: int, offset: int) -> int:
        return tile * self.cores_per_tile + offset


def _unit(doc: _Doc, node, kind: str) -> list:
    fields = doc.fields(node, f"a {kind} unit", ("name", "attributes"), ("name", "attributes"))
    names = _expand(doc, fields["name"], doc.string(fields["name"], "a unit name"))
    if kind in ("axon_in", "axon_out") and len(names) > 1:
        doc.fail(fields["name"], f"a range of {kind} units: TrueAsync's core has one {kind} unit")
    attrs = doc.attributes(fields["attributes"], f"the attributes of {kind} unit '{names[0]}'")
    model, costs, unsupported = "", {}, None
    values = {k: (kn, v) for k, kn, v in attrs}
    if kind not in ("axon_in", "axon_out"):
        if "model" not in values:
            doc.fail(fields["attributes"], f"{kind} unit '{names[0]}' has no 'model'")
        model = doc.string(values["model"][1], "model")
        if model not in _SUPPORTED_MODELS[kind]:
            reason = _UNSUPPORTED_MODEL.get(model, f"{kind} model '{model}' is not one TrueAsync "
                                            f"reproduces (it reads {', '.join(_SUPPORTED_MODELS[kind])})")
            unsupported = f"{kind} model '{model}' is not supported: {reason}"
    for key, (kn, v) in values.items():
        if key in _COSTS[kind]:
            costs[key] = doc.cost(v, key)
        elif key == "model" or key in _LOG_KEYS:
            continue
        elif key == "plugin":
            unsupported = f"plug-in models ('{doc.string(v, key)}') cannot be reproduced"
        elif unsupported is not None:
            continue  # the unit is refused as a whole if a neuron uses it
        elif kind == "dendrite" and key == "update_every_timestep":
            doc.boolean(v, key)  # SANA-FE 2.2.9's accumulator ignores it (checked: same counts)
        elif kind == "soma" and model == "leaky_integrate_fire" and key in ("noise", "noise_bits"):
            unsupported = "noise streams are not supported (TrueAsync's LIF is deterministic)"
        else:
            doc.unknown(kn, key, f"{kind} unit '{names[0]}'", _COSTS[kind] + ("model",) + _LOG_KEYS)
    if unsupported is None:
        for key in _COSTS[kind]:
            if key not in costs:
                doc.fail(fields["attributes"], f"{kind} unit '{names[0]}' lacks '{key}' "
                         "(SANA-FE requires every per-event cost)")
    where = doc.at(fields["name"])
    return [_Unit(kind, n, model, costs, where, unsupported) for n in names]


def _core_attributes(doc: _Doc, node, core_name: str) -> int:
    max_neurons = None
    for key, kn, v in doc.attributes(node, f"the attributes of core '{core_name}'"):
        if key == "buffer_position":
            pos = doc.string(v, key)
            if pos != "soma":
                doc.fail(v, f"buffer_position '{pos}' is not supported: SANA-FE then updates every "
                         "neuron every step (other update counts); TrueAsync reproduces "
                         "buffer_position: soma")
        elif key == "buffer_inside_unit":
            if doc.boolean(v, key):
                doc.fail(v, "buffer_inside_unit: true is not supported (TrueAsync reproduces "
                         "buffer_position: soma with the buffer before the unit)")
        elif key == "max_neurons_supported":
            max_neurons = doc.integer(v, key, minimum=1)
        elif key not in _LOG_KEYS:
            doc.unknown(kn, key, f"core '{core_name}'",
                        ("buffer_position", "buffer_inside_unit", "max_neurons_supported") + _LOG_KEYS)
    if max_neurons is None:
        doc.fail(node, f"core '{core_name}' lacks 'max_neurons_supported'")
    return max_neurons


def _cores(doc: _Doc, node, tile: int, first: int) -> list:
    sections = ("axon_in", "synapse", "dendrite", "soma", "axon_out")
    known = ("name", "attributes") + sections
    fields = doc.fields(node, "a core", known, known)  # SANA-FE requires every section
    names = _expand(doc, fields["name"], doc.string(fields["name"], "a core name"))
    max_neurons = _core_attributes(doc, fields["attributes"], names[0])
    units = {}
    for kind in sections:
        units[kind] = [u for entry in doc.listed(fields[kind]) for u in _unit(doc, entry, kind)]
        if kind in ("axon_in", "axon_out") and len(units[kind]) != 1:
            doc.fail(fields[kind], f"core '{names[0]}' has {len(units[kind])} {kind} units: "
                     f"TrueAsync's core has exactly one")
    seen = {}
    for kind in ("synapse", "dendrite", "soma"):
        for u in units[kind]:
            if u.name in seen:
                raise SanafeYamlError(f"{u.where}: unit name '{u.name}' is used twice on core "
                                      f"'{names[0]}' (also {seen[u.name]}): SANA-FE merges such "
                                      "units into one; this importer reads separate units")
            seen[u.name] = u.where
    where = doc.at(fields["name"])
    return [_Core(n, tile, first + i, max_neurons, units, where) for i, n in enumerate(names)]


def _tiles(doc: _Doc, node, first: int) -> list:
    known = ("name", "attributes", "core")
    fields = doc.fields(node, "a tile", known, known)
    names = _expand(doc, fields["name"], doc.string(fields["name"], "a tile name"))
    hops = {}
    for key, kn, v in doc.attributes(fields["attributes"], f"the attributes of tile '{names[0]}'"):
        if key in _HOPS:
            hops[key] = doc.cost(v, key)
        elif key not in _LOG_KEYS:
            doc.unknown(kn, key, f"tile '{names[0]}'", _HOPS + _LOG_KEYS)
    for key in _HOPS:
        if key not in hops:
            doc.fail(fields["attributes"], f"tile '{names[0]}' lacks '{key}'")
    cores = []  # read once: every tile of the range has the same cores
    for entry in doc.listed(fields["core"]):
        cores += _cores(doc, entry, 0, len(cores))
    return [_Tile(name, hops, [replace(c, tile=first + i) for c in cores], doc.at(fields["name"]))
            for i, name in enumerate(names)]


def _read_arch(path) -> _Chip:
    doc = _Doc(path)
    if doc.root is None:
        raise SanafeYamlError(f"{doc.name}:1: the file is empty")
    top = doc.fields(doc.root, "the architecture file", ("architecture",), ("architecture",))
    fields = doc.fields(top["architecture"], "the architecture", ("name", "attributes", "tile"),
                        ("attributes", "tile"))
    name = doc.string(fields["name"], "name") if "name" in fields else "sanafe"
    noc, notes = {}, []
    known = ("width", "height", "link_buffer_size", "topology", "sync_model", "latency_sync")
    for key, kn, v in doc.attributes(fields["attributes"], "the architecture attributes"):
        if key in ("width", "height", "link_buffer_size"):
            noc[key] = doc.integer(v, key, minimum=1)
        elif key == "topology":
            if doc.string(v, key) != "mesh":
                doc.fail(v, f"topology '{doc.string(v, key)}' is not supported: TrueAsync's "
                         "template is a 2-D mesh")
        elif key in ("sync_model", "latency_sync"):
            note = ("sync_model and latency_sync (SANA-FE's own per-step barrier timing) are not "
                    "used: TrueAsync times the chip asynchronously")
            if note not in notes:
                notes.append(note)
        else:
            doc.unknown(kn, key, "the architecture attributes", known)
    for key in ("width", "height", "link_buffer_size"):
        if key not in noc:
            doc.fail(fields["attributes"], f"the architecture attributes lack '{key}'")
    n_mesh = noc["width"] * noc["height"]
    tiles = []
    for entry in doc.listed(fields["tile"]):
        tiles += _tiles(doc, entry, len(tiles))
        if len(tiles) > n_mesh:
            doc.fail(entry, f"{len(tiles)} tiles do not fit a {noc['width']} x {noc['height']} mesh")
        if sum(len(t.cores) for t in tiles) > MAX_CORES:
            doc.fail(entry, f"more than {MAX_CORES} cores")
    if not any(t.cores for t in tiles):
        doc.fail(fields["tile"], "the architecture has no cores")
    for t in tiles[1:]:
        if t.hops != tiles[0].hops:
            raise SanafeYamlError(f"{t.where}: tile '{t.name}' has other hop costs than tile "
                                  f"'{tiles[0].name}': TrueAsync's cost model has one cost per "
                                  "hop direction for the whole mesh")
    cpt = max(len(t.cores) for t in tiles)
    if len(tiles) < n_mesh:
        notes.append(f"the {noc['width']} x {noc['height']} mesh has {n_mesh} tile positions, the "
                     f"file defines {len(tiles)} tile(s): the others are template tiles that hold "
                     "no neurons (no events, no cost)")
    if any(len(t.cores) < cpt for t in tiles):
        notes.append(f"tiles with fewer than {cpt} cores get empty template cores (no events, "
                     "no cost)")
    return _Chip(name, noc["width"], noc["height"], noc["link_buffer_size"], tiles, cpt, notes)


# --------------------------------------------------------------------------------------------
# the network file


@dataclass
class _Attr:
    value: object  # the value node
    key: object  # the key node (its line names the attribute)
    scope: str  # "shared" (soma and dendrite), "soma" or "dendrite"


@dataclass
class _Group:
    name: str
    size: int
    attrs: list  # per neuron: dict name -> _Attr (shared between the neurons of one entry)
    mapping: list  # per neuron: dict of core/soma/synapse/dendrite -> node, or None
    where: str


@dataclass
class _Edges:
    """All synapses as (group, index) pairs with a real weight and the line that set it."""

    pre_group: list = field(default_factory=list)
    pre: list = field(default_factory=list)
    post_group: list = field(default_factory=list)
    post: list = field(default_factory=list)
    weight: list = field(default_factory=list)
    line: list = field(default_factory=list)
    dense: list = field(default_factory=list)  # (pre group, post group, weights [pre*post], lines)


def _neuron_attrs(doc: _Doc, node, base: dict, what: str) -> dict:
    out = dict(base)
    for key, kn, v in doc.attributes(node, what):
        if key in ("soma", "dendrite"):
            for sub, skn, sv in doc.attributes(v, f"the {key} attributes of {what}"):
                out[sub] = _Attr(sv, skn, key)
        else:
            out[key] = _Attr(v, kn, "shared")
    return out


def _group(doc: _Doc, node) -> _Group:
    fields = doc.fields(node, "a neuron group", ("name", "attributes", "neurons"), ("name", "neurons"))
    name = doc.string(fields["name"], "the group name")
    if "." in name or "->" in name:
        doc.fail(fields["name"], f"group name '{name}' contains '.' or '->'")
    default = _neuron_attrs(doc, fields.get("attributes"), {}, f"group '{name}'")
    neurons = fields["neurons"]
    if not isinstance(neurons, yaml.SequenceNode):
        doc.fail(neurons, f"the neurons of group '{name}' must be a list")
    entries = []  # (range, key node, attrs node or None)
    for entry in neurons.value:
        if isinstance(entry, yaml.ScalarNode):
            entries.append((_index_range(doc, entry, doc.string(entry, "a neuron id")), entry, None))
            continue
        for key, kn, v in doc.items(entry, f"a neuron of group '{name}'"):
            entries.append((_index_range(doc, kn, key), kn, v))
    size = sum(len(r) for r, _, _ in entries)
    if size == 0:
        doc.fail(neurons, f"group '{name}' has no neurons")
    if size > MAX_NEURONS:
        doc.fail(neurons, f"group '{name}' has {size} neurons; TrueAsync simulates at most {MAX_NEURONS}")
    attrs = [None] * size
    for ids, kn, v in entries:
        a = _neuron_attrs(doc, v, default, f"neuron {name}.{ids.start}") if v is not None else default
        for i in ids:
            if i >= size:
                doc.fail(kn, f"neuron id {i} of group '{name}' is out of range: the group lists "
                         f"{size} neurons, so ids run from 0 to {size - 1}")
            if attrs[i] is not None:
                doc.fail(kn, f"neuron {name}.{i} is defined twice")
            attrs[i] = a
    return _Group(name, size, attrs, [None] * size, doc.at(fields["name"]))


def _address(doc: _Doc, node, text: str, groups: dict):
    """'group' or 'group.i' or 'group.a..b' -> (group, range of ids or None)."""
    name, dot, rest = text.strip().partition(".")
    if name not in groups:
        doc.fail(node, f"no neuron group is named '{name}'")
    if not dot:
        return groups[name], None
    rest = rest.strip()
    ids = range(int(rest), int(rest) + 1) if rest.isdigit() else _index_range(doc, node, rest)
    if ids.stop > groups[name].size:
        doc.fail(node, f"neuron {text.strip()} is out of range: group '{name}' has "
                 f"{groups[name].size} neurons")
    return groups[name], ids


def _weights(doc: _Doc, node, what: str) -> tuple:
    """The weight of an edge: `weight`/`w`, also inside `synapse: {...}`; 0.0 if absent as in SANA-FE."""
    if isinstance(node, yaml.MappingNode) and len(node.value) == 1:  # {weight: w}: the common case
        (kn, v), = node.value
        if kn.value in ("weight", "w") and isinstance(v, yaml.ScalarNode):
            return doc.number(v, kn.value), kn.start_mark.line + 1
    weight, line = 0.0, node.start_mark.line + 1
    for key, kn, v in doc.attributes(node, what):
        if key in ("weight", "w"):
            weight, line = doc.number(v, key), kn.start_mark.line + 1
        elif key == "synapse":
            for sub, skn, sv in doc.attributes(v, f"the synapse attributes of {what}"):
                if sub not in ("weight", "w"):
                    doc.unknown(skn, sub, f"the synapse attributes of {what}", ("weight", "w"))
                weight, line = doc.number(sv, sub), skn.start_mark.line + 1
        elif key in ("delay", "d"):
            doc.fail(kn, f"synaptic delays ('{key}') are not supported: TrueAsync's sanafe "
                     "semantics has one step of delay on every synapse")
        elif key == "dendrite":
            doc.fail(kn, "dendrite attributes of an edge are not supported (the accumulator "
                     "dendrite has none)")
        else:
            doc.unknown(kn, key, what, ("weight", "w", "synapse"))
    return weight, line


def _hyperedge(doc: _Doc, node, pre: _Group, post: _Group, edges: _Edges, label: str):
    fields = {}
    for key, kn, v in doc.attributes(node, f"edge '{label}'"):
        fields[key] = (kn, v)
    if "type" not in fields:
        doc.fail(node, f"edge '{label}' between groups needs a 'type' (dense or sparse)")
    kind = doc.string(fields["type"][1], "type")
    if kind == "conv2d":
        doc.fail(fields["type"][1], "conv2d edges are not supported by this importer (SANA-FE's "
                 "conv2d has no padding and its own neuron order): give the synapses as a sparse or "
                 "per-neuron list, or use a TrueAsync workload (docs/workload-format.md)")
    if kind not in ("dense", "sparse"):
        doc.fail(fields["type"][1], f"edge type '{kind}' is not supported (dense or sparse)")
    known = ("type", "weight", "w") + (("source_target_pairs",) if kind == "sparse" else ())
    weights = None
    pairs = None
    for key, (kn, v) in fields.items():
        if key in ("weight", "w"):
            if not isinstance(v, yaml.SequenceNode):
                doc.fail(v, f"the weights of {kind} edge '{label}' must be a list")
            weights = [(doc.number(e, key), e.start_mark.line + 1) for e in v.value]
        elif key == "source_target_pairs" and kind == "sparse":
            if not isinstance(v, yaml.SequenceNode):
                doc.fail(v, "source_target_pairs must be a list of [source, target] pairs")
            pairs = []
            for e in v.value:
                if not isinstance(e, yaml.SequenceNode) or len(e.value) != 2:
                    doc.fail(e, "source_target_pairs must be a list of [source, target] pairs")
                s, t = (doc.integer(x, "a neuron id") for x in e.value)
                if s >= pre.size or t >= post.size:
                    doc.fail(e, f"pair [{s}, {t}] is out of range: groups '{pre.name}' and "
                             f"'{post.name}' have {pre.size} and {post.size} neurons")
                pairs.append((s, t))
        elif key in ("synapse", "dendrite"):
            doc.fail(kn, f"{key} attribute lists of an edge are not supported")
        elif key != "type":
            doc.unknown(kn, key, f"{kind} edge '{label}'", known)
    if kind == "dense":
        n = pre.size * post.size
        if weights is None or len(weights) != n:
            doc.fail(node, f"dense edge '{label}' needs {n} weights ({pre.size} x {post.size}, "
                     f"row-major [pre, post]), got {0 if weights is None else len(weights)}")
        edges.dense.append((pre, post, np.array([w for w, _ in weights], dtype=np.float64),
                            np.array([ln for _, ln in weights], dtype=np.int64)))
        return
    if pairs is None:
        doc.fail(node, f"sparse edge '{label}' needs source_target_pairs")
    if weights is None:
        weights = [(0.0, node.start_mark.line + 1)] * len(pairs)
    if len(weights) != len(pairs):
        doc.fail(node, f"sparse edge '{label}' has {len(pairs)} pairs but {len(weights)} weights")
    for (s, t), (w, ln) in zip(pairs, weights):
        _add_edge(edges, pre.name, s, post.name, t, w, ln)


def _add_edge(edges: _Edges, pg: str, pi: int, qg: str, qi: int, w: float, line: int):
    edges.pre_group.append(pg)
    edges.pre.append(pi)
    edges.post_group.append(qg)
    edges.post.append(qi)
    edges.weight.append(w)
    edges.line.append(line)


def _edges(doc: _Doc, node, groups: dict) -> _Edges:
    edges = _Edges()
    if not isinstance(node, yaml.SequenceNode):
        doc.fail(node, "the edges section must be a list")
    for entry in node.value:
        for label, kn, v in doc.items(entry, "an edge"):
            src, arrow, dst = label.partition("->")
            if not arrow:
                doc.fail(kn, f"edge '{label}' is not of the form 'a.i -> b.j' or 'a -> b'")
            pre, pre_ids = _address(doc, kn, src, groups)
            post, post_ids = _address(doc, kn, dst, groups)
            if (pre_ids is None) != (post_ids is None):
                doc.fail(kn, f"edge '{label}' joins a neuron and a whole group")
            if pre_ids is None:
                _hyperedge(doc, v, pre, post, edges, label)
                continue
            if len(pre_ids) != 1 or len(post_ids) != 1:
                doc.fail(kn, f"edge '{label}': a neuron-to-neuron edge names one neuron each side")
            w, line = _weights(doc, v, f"edge '{label}'")
            _add_edge(edges, pre.name, pre_ids.start, post.name, post_ids.start, w, line)
    return edges


def _mappings(doc: _Doc, node, groups: dict, chip: _Chip):
    if not isinstance(node, yaml.SequenceNode):
        doc.fail(node, "the mappings section must be a list")
    for entry in node.value:
        for label, kn, v in doc.items(entry, "a mapping"):
            group, ids = _address(doc, kn, label, groups)
            info = {}
            for key, akn, av in doc.attributes(v, f"the mapping of {label}"):
                if key not in ("core", "soma", "synapse", "dendrite"):
                    doc.unknown(akn, key, f"the mapping of {label}",
                                ("core", "soma", "synapse", "dendrite"))
                info[key] = av
            if "core" not in info:
                doc.fail(kn, f"the mapping of {label} names no core")
            text = doc.string(info["core"], "core")
            tile, dot, core = text.partition(".")
            try:
                tile, core = int(tile), int(core)
            except ValueError:
                doc.fail(info["core"], f"core '{text}' is not of the form TILE.CORE (e.g. 0.1)")
            if not dot or tile < 0 or core < 0 or tile >= len(chip.tiles):
                doc.fail(info["core"], f"core '{text}': the architecture has "
                         f"{len(chip.tiles)} tile(s)")
            if core >= len(chip.tiles[tile].cores):
                doc.fail(info["core"], f"core '{text}': tile {tile} has "
                         f"{len(chip.tiles[tile].cores)} core(s)")
            info["_core"] = (tile, core)
            info["_where"] = kn
            for i in ids if ids is not None else range(group.size):
                if group.mapping[i] is not None:
                    doc.fail(kn, f"neuron {group.name}.{i} is mapped twice")
                group.mapping[i] = info


def _read_net(path, chip: _Chip):
    doc = _Doc(path)
    if doc.root is None:
        raise SanafeYamlError(f"{doc.name}:1: the file is empty")
    top = doc.fields(doc.root, "the network file", ("network", "mappings"), ("network", "mappings"))
    fields = doc.fields(top["network"], "the network", ("name", "groups", "edges"), ("groups", "edges"))
    name = doc.string(fields["name"], "name").strip() if "name" in fields else "sanafe"
    if not isinstance(fields["groups"], yaml.SequenceNode):
        doc.fail(fields["groups"], "the groups section must be a list")
    groups, total = {}, 0
    for entry in fields["groups"].value:
        g = _group(doc, entry)
        if g.name in groups:
            raise SanafeYamlError(f"{g.where}: a second group is named '{g.name}'")
        groups[g.name] = g
        total += g.size
        if total > MAX_NEURONS:
            raise SanafeYamlError(f"{g.where}: the groups so far hold {total} neurons; TrueAsync "
                                  f"simulates at most {MAX_NEURONS}")
    edges = _edges(doc, fields["edges"], groups)
    _mappings(doc, top["mappings"], groups, chip)
    return doc, name or "sanafe", groups, edges


# --------------------------------------------------------------------------------------------
# neurons -> layers, costs


@dataclass
class _Resolved:
    """One neuron's model, hardware units and (for LIF) parameters."""

    kind: str  # "input" or "lif"
    soma: _Unit
    synapse: Optional[_Unit]
    dendrite: Optional[_Unit]
    params: tuple  # lif: (threshold, bias, reset, leak_decay, reset_mode) with their key nodes
    spikes: tuple  # input: the spike train


class _Resolver:
    """Resolves each (attributes, mapping) pair once: neurons of one range share both objects."""

    def __init__(self, doc: _Doc, chip: _Chip, targets: set):
        self.doc, self.chip, self.targets, self.cache = doc, chip, targets, {}

    def __call__(self, group: _Group, i: int) -> _Resolved:
        info = group.mapping[i]
        if info is None:
            raise SanafeYamlError(f"{group.where}: neuron {group.name}.{i} is not mapped to a core "
                                  "(add it to the mappings section)")
        key = (id(group.attrs[i]), id(info), (group.name, i) in self.targets)
        if key not in self.cache:
            self.cache[key] = self._resolve(group, i, info)
        return self.cache[key]

    def _hw(self, kind: str, info: dict, attrs: dict, core: _Core, label: str) -> Optional[_Unit]:
        node = info.get(kind) or (attrs[f"{kind}_hw_name"].value if f"{kind}_hw_name" in attrs else None)
        name = self.doc.string(node, f"{kind} unit name") if node is not None else None
        unit = core.unit(kind, name)
        if unit is None and name is not None:
            self.doc.fail(node, f"{label}: core '{core.name}' has no {kind} unit named '{name}'")
        if unit is not None and unit.unsupported:
            where = self.doc.at(node) if node is not None else self.doc.at(info["_where"])
            raise SanafeYamlError(f"{unit.where}: {unit.unsupported} (used by {label}, mapped at "
                                  f"{where})")
        return unit

    def _resolve(self, group: _Group, i: int, info: dict) -> _Resolved:
        doc, attrs = self.doc, group.attrs[i]
        label = f"neuron {group.name}.{i}"
        core = self.chip.core(*info["_core"])
        soma = self._hw("soma", info, attrs, core, label)
        if soma is None:
            doc.fail(info["core"], f"{label}: core '{core.name}' has no soma unit")
        self._check_flags(attrs, label)
        if soma.model == "input":
            return _Resolved("input", soma, None, None, (), self._input(attrs, label, soma))
        # the synapse unit matters (and must be supported) only for a neuron that synapses reach
        is_target = (group.name, i) in self.targets
        synapse = self._hw("synapse", info, attrs, core, label) if is_target else None
        dendrite = self._hw("dendrite", info, attrs, core, label)
        if dendrite is None:
            doc.fail(info["core"], f"{label}: core '{core.name}' has no dendrite unit")
        return _Resolved("lif", soma, synapse, dendrite, self._lif(attrs, label), ())

    def _check_flags(self, attrs: dict, label: str):
        for key, a in attrs.items():
            if key in _NEURON_FLAGS:
                self.doc.boolean(a.value, key)  # SANA-FE's own traces: nothing to simulate
            elif key in _FORCE_FLAGS and self.doc.boolean(a.value, key):
                self.doc.fail(a.key, f"{key}: true is not supported ({label}): TrueAsync updates "
                              "a neuron only when it has potential, input or bias, as SANA-FE does "
                              "by default")
            elif a.scope == "dendrite":
                self.doc.fail(a.key, f"dendrite attribute '{key}' ({label}) is not supported: the "
                              "accumulator dendrite has no attributes")

    def _input(self, attrs: dict, label: str, soma: _Unit) -> tuple:
        train = ()
        for key, a in attrs.items():
            if key == "spikes":
                if not isinstance(a.value, yaml.SequenceNode):
                    self.doc.fail(a.value, "spikes must be a list of 0/1 (or true/false), one per step")
                train = tuple(self.doc.boolean(e, "a spike") for e in a.value.value)
            elif key in _INPUT_UNSUPPORTED:
                self.doc.fail(a.key, f"{key} is not supported ({label}): {_INPUT_UNSUPPORTED[key]}")
            elif key not in _NEURON_FLAGS + _FORCE_FLAGS + _HW_NAMES:
                self.doc.fail(a.key, f"'{key}' does not apply to {label}, whose soma unit "
                              f"'{soma.name}' is of model input (it reads spikes)")
        return train

    def _lif(self, attrs: dict, label: str) -> tuple:
        doc, got = self.doc, {}
        for key, a in attrs.items():
            if key in _LIF_DEFAULTS:
                got[key] = a
            elif key == "input_decay":
                if doc.number(a.value, key) != 0.0:
                    doc.fail(a.key, f"input_decay {doc.string(a.value, key)} is not supported "
                             f"({label}): TrueAsync's synapses are current-based without carry-over "
                             "(input_decay 0)")
            elif key == "refractory_delay":
                if doc.integer(a.value, key) != 0:
                    doc.fail(a.key, f"refractory_delay is not supported ({label})")
            elif key == "reverse_reset_mode":
                if doc.string(a.value, key) != "none":
                    doc.fail(a.key, f"reverse_reset_mode is not supported ({label}): TrueAsync's LIF "
                             "has no reverse threshold")
            elif key in _LIF_UNSUPPORTED:
                doc.fail(a.key, f"'{key}' is not supported ({label}): TrueAsync's LIF has no "
                         f"{_LIF_UNSUPPORTED[key]}")
            elif key == "spikes":
                doc.fail(a.key, f"'spikes' applies to input neurons; {label} is mapped to a "
                         "leaky_integrate_fire soma")
            elif key not in _NEURON_FLAGS + _FORCE_FLAGS + _HW_NAMES:
                doc.unknown(a.key, key, f"the attributes of {label}",
                            tuple(_LIF_DEFAULTS) + ("input_decay",) + _NEURON_FLAGS + _HW_NAMES)
        out = []
        for key, default in _LIF_DEFAULTS.items():
            if key not in got:
                out.append((default, None))
            elif key == "reset_mode":
                mode = doc.string(got[key].value, key)
                if mode not in ("hard", "soft"):
                    doc.fail(got[key].value, f"reset_mode '{mode}' is not supported ({label}): "
                             "TrueAsync resets hard or soft (subtract)")
                out.append(("hard" if mode == "hard" else "subtract", got[key].key))
            else:
                out.append((doc.number(got[key].value, key), got[key].key))
        return tuple(out)


# --------------------------------------------------------------------------------------------
# values -> one power-of-two scale


def _fraction_bits(values: np.ndarray) -> np.ndarray:
    """Binary digits after the point that each float64 needs exactly (0 for integers)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(v.shape, dtype=np.int64)
    nz = v != 0
    mant, exp = np.frexp(v[nz])  # v = mant * 2**exp, 0.5 <= |mant| < 1, mant has <= 53 bits
    m = np.abs(np.ldexp(mant, 53)).astype(np.int64)
    trailing = np.log2((m & -m).astype(np.float64)).astype(np.int64)
    out[nz] = np.maximum(0, 53 - exp.astype(np.int64) - trailing)
    return out


def _signed_bits(n: float) -> int:
    return int(abs(n)).bit_length() + 1


def _choose_scale(weights: np.ndarray, weight_where, params: list) -> int:
    """The smallest k such that every value is an integer times 2**-k within the engine's limits.

    `params` are (value, what, where) of thresholds, biases and resets; `weight_where(i)` names
    weight i. Raises SanafeYamlError naming the value that cannot be exact: first one that fits
    no scale on its own (such as 0.2), else one that does not fit the scale another value needs.
    """
    pvals = np.array([v for v, _, _ in params], dtype=np.float64)
    wbits, pbits = _fraction_bits(weights), _fraction_bits(pvals)
    # (what, value, where, binary digits, magnitude limit) of value i of either kind
    groups = ((pvals, pbits, 2.0 ** VALUE_BITS_MAX, lambda i: params[i][1:]),
              (weights, wbits, 2.0 ** (WEIGHT_BITS_MAX - 1), lambda i: ("weight", weight_where(i))))
    rule = ("TrueAsync holds every weight, threshold, bias and reset as an integer times one "
            f"power-of-two scale (weights in at most {WEIGHT_BITS_MAX} signed bits, the others "
            f"below 2^{VALUE_BITS_MAX})")
    for values, bits, limit, name in groups:
        bad = np.flatnonzero(np.abs(np.ldexp(values, bits)) >= limit)
        if bad.size:
            i = int(bad[0])
            (what, where), v, own = name(i), float(values[i]), int(bits[i])
            n = int(abs(math.ldexp(v, own)))
            hint = (f"; {round(v * 64) / 64!r}, the nearest multiple of 1/64 (the potential "
                    "resolution SANA-FE truncates to), is exact" if own > 6 else "")
            raise SanafeYamlError(
                f"{where}: {what} {v!r} is not exactly representable: {rule}, and {v!r} is exactly "
                f"{'-' if v < 0 else ''}{n}/2^{own} in binary floating point, a "
                f"{_signed_bits(n)}-bit integer at any exact scale{hint}")
    k = int(max(wbits.max(initial=0), pbits.max(initial=0)))
    finest = max(((bits.max(), values, bits, name) for values, bits, _, name in groups if bits.size),
                 key=lambda g: g[0], default=None)
    for values, bits, limit, name in groups:
        bad = np.flatnonzero(np.abs(np.ldexp(values, k)) >= limit)
        if bad.size:
            i, (_, fvalues, fbits, fname) = int(bad[0]), finest
            j = int(np.argmax(fbits))
            (what, where), v = name(i), float(values[i])
            (fwhat, fwhere), fv = fname(j), float(fvalues[j])
            raise SanafeYamlError(
                f"{where}: {what} {v!r} is not exactly representable together with {fwhat} {fv!r} "
                f"({fwhere}): {rule}; {fv!r} needs the scale 2^-{k}, at which {v!r} is a "
                f"{_signed_bits(math.ldexp(v, k))}-bit integer")
    return k


# --------------------------------------------------------------------------------------------
# the import


def load_sanafe_yaml(arch_path: Union[str, os.PathLike], net_path: Union[str, os.PathLike],
                     steps: Optional[int] = None) -> SanafeImport:
    """Read SANA-FE's architecture and (mapped) network files as one TrueAsync workload.

    `steps` defaults to the longest input spike train. Raises SanafeYamlError ("FILE:LINE: ...")
    for anything outside the supported subset (docs/sanafe.md).
    """
    chip = _read_arch(arch_path)
    doc, net_name, groups, edges = _read_net(net_path, chip)
    notes = list(chip.notes)
    targets = set(zip(edges.post_group, edges.post))
    for _, post, _, _ in edges.dense:
        targets.update((post.name, j) for j in range(post.size))
    specs = _layer_specs(groups, _Resolver(doc, chip, targets))
    _check_capacity(doc, chip, groups)
    _check_input_units(doc, specs)
    costs = _cost_model(chip, specs, groups)
    kexp = _choose_scale(*_values(doc, specs, edges))
    layers, neurons = _layers(doc, specs, kexp)
    core_of = _core_of(chip, groups, neurons, layers)
    if not any(isinstance(x, InputLayer) for x in layers):
        # the engine needs an input layer; one neuron that never fires adds no event and no cost
        name = "idle_input"
        while name in {x.name for x in layers}:
            name += "_"
        layers.insert(0, InputLayer(name, 1))
        neurons = {g: idx + 1 for g, idx in neurons.items()}
        core_of = np.r_[_emptiest_core(chip, core_of), core_of]
        notes.append(f"the network has no input neuron: TrueAsync needs one, so '{name}', a single "
                     "input neuron that never fires, is added (no events, no cost)")
    network = Network(tuple(layers), tuple(_projections(edges, groups, neurons, layers, kexp)),
                      weight_scale=2.0 ** -kexp, name=net_name)
    inputs, steps = _inputs(doc, specs, steps, any(s.resolved.kind == "input" for s in specs))

    max_neurons = [c.max_neurons for t in chip.tiles for c in t.cores]
    if len(set(max_neurons)) > 1:
        notes.append(f"cores support {min(max_neurons)} to {max(max_neurons)} neurons: the template "
                     f"gives every core {max(max_neurons)}")
    split = sorted({s.group.name for s in specs if not s.whole})
    if split:
        notes.append(f"group(s) {', '.join(split)} hold neurons with different models or "
                     "parameters: each run of equal neurons is a layer")
    notes.append(f"values are integers times 2^-{kexp} (weight_scale {2.0 ** -kexp!r}), all exact")
    arch = Architecture(
        mesh_width=chip.width,
        mesh_height=chip.height,
        cores_per_tile=chip.cores_per_tile,
        neurons_per_core=max(max_neurons),
        synapse_memory_kib=SYNAPSE_MEMORY_KIB,
        weight_bits=weight_bits_needed(network),
        fifo_depth=chip.link_buffer_size,
        link_width_bits=LINK_WIDTH_BITS,
    )
    meta = {"source": "sanafe-yaml", "arch_file": str(arch_path), "net_file": str(net_path),
            "steps": steps}
    wl = Workload(network, arch, costs, core_of, inputs, meta)
    return SanafeImport(wl, steps, neurons, tuple(notes))


@dataclass
class _LayerSpec:
    """A run of neurons first..last of one group with the same model and parameters."""

    group: _Group
    first: int
    last: int
    members: list  # _Resolved per neuron (units may differ, parameters do not)

    @property
    def resolved(self) -> _Resolved:
        return self.members[0]

    @property
    def whole(self) -> bool:
        return self.first == 0 and self.last == self.group.size - 1

    @property
    def name(self) -> str:
        if self.whole:
            return self.group.name
        a, b = self.first, self.last
        return f"{self.group.name}[{a}]" if a == b else f"{self.group.name}[{a}..{b}]"


def _check_capacity(doc: _Doc, chip: _Chip, groups: dict):
    """Each core holds at most its own max_neurons_supported (the template gives all the largest)."""
    held = {}
    for g in groups.values():
        for info in g.mapping:
            held[info["_core"]] = held.get(info["_core"], 0) + 1
            core = chip.core(*info["_core"])
            if held[info["_core"]] > core.max_neurons:
                doc.fail(info["_where"], f"core {info['_core'][0]}.{info['_core'][1]} would hold "
                         f"more than its max_neurons_supported {core.max_neurons} ({core.where})")


def _check_input_units(doc: _Doc, specs: list):
    """SANA-FE's input model holds one spike train per unit: one input neuron per unit."""
    owner = {}
    for spec in specs:
        if spec.resolved.kind != "input":
            continue
        for i in range(spec.first, spec.last + 1):
            info = spec.group.mapping[i]
            key = (info["_core"], spec.members[i - spec.first].soma.name)
            label = f"{spec.group.name}.{i}"
            if key in owner:
                doc.fail(info["_where"], f"input neurons {owner[key]} and {label} share input unit "
                         f"'{key[1]}' on core {key[0][0]}.{key[0][1]}: SANA-FE's input model holds "
                         "one spike train per unit (map each input neuron to its own unit)")
            owner[key] = label


def _layer_specs(groups: dict, resolve) -> list:
    specs = []
    for g in groups.values():
        per = [resolve(g, i) for i in range(g.size)]
        start = 0
        for i in range(1, g.size + 1):
            if i == g.size or _signature(per[i]) != _signature(per[start]):
                specs.append(_LayerSpec(g, start, i - 1, per[start:i]))
                start = i
    return specs


def _signature(r: _Resolved) -> tuple:
    if r.kind == "input":
        return ("input",)
    return ("lif",) + tuple(v for v, _ in r.params)


def _cost_model(chip: _Chip, specs: list, groups: dict) -> CostModel:
    """One cost model for the chip: the units that neurons use must agree on every cost."""
    used = {"input": {}, "lif": {}, "synapse": {}, "dendrite": {}}
    for spec in specs:
        for r in spec.members:
            used[r.kind][id(r.soma)] = r.soma
            for kind, unit in (("synapse", r.synapse), ("dendrite", r.dendrite)):
                if unit is not None:
                    used[kind][id(unit)] = unit
    for u in used["input"].values():
        if any(u.costs.values()):
            raise SanafeYamlError(f"{u.where}: input soma unit '{u.name}' has non-zero costs: "
                                  "TrueAsync's input neurons cost nothing (engine change needed: "
                                  "per-event costs for input neurons)")
    for u in used["dendrite"].values():
        if any(u.costs.values()):
            raise SanafeYamlError(f"{u.where}: dendrite unit '{u.name}' has non-zero costs: "
                                  "TrueAsync's core has no dendrite stage (engine change needed: a "
                                  "per-update dendrite event with its own energy and latency)")
    cores = list({info["_core"]: chip.core(*info["_core"])
                  for g in groups.values() for info in g.mapping}.values())
    soma = _agreed(list(used["lif"].values()), "soma")
    synapse = _agreed(list(used["synapse"].values()), "synapse")
    ain = _agreed([c.units["axon_in"][0] for c in cores], "axon_in")
    aout = _agreed([c.units["axon_out"][0] for c in cores], "axon_out")
    hops = chip.tiles[0].hops
    energy = {
        "soma_access": soma["energy_access_neuron"],
        "soma_update": soma["energy_update_neuron"],
        "soma_spike": soma["energy_spike_out"],
        "synapse_event": synapse["energy_process_spike"],
        "message_out": aout["energy_message_out"],
        "message_in": ain["energy_message_in"],
    }
    latency = {
        "soma_access": soma["latency_access_neuron"],
        "soma_update": soma["latency_update_neuron"],
        "soma_spike": soma["latency_spike_out"],
        "synapse_event": synapse["latency_process_spike"],
        "message_out": aout["latency_message_out"],
        "message_in": ain["latency_message_in"],
    }
    for d in ("east", "west", "north", "south"):
        energy[f"{d}_hop"] = hops[f"energy_{d}_hop"]
        latency[f"{d}_hop"] = hops[f"latency_{d}_hop"]
    return CostModel(name=chip.name, energy_j=energy, latency_s=latency, nominal_voltage_v=1.0,
                     leakage_w_per_mm2=0.0)


def _agreed(units: list, kind: str) -> dict:
    """The costs of the units of one kind in use (all zero if none is): they must all agree."""
    if not units:
        return {k: 0.0 for k in _COSTS[kind]}
    first = units[0]
    for u in units[1:]:
        if u.costs != first.costs:
            diff = next(k for k in _COSTS[kind] if u.costs[k] != first.costs[k])
            raise SanafeYamlError(
                f"{u.where}: {kind} unit '{u.name}' costs {diff} = {u.costs[diff]!r}, but "
                f"'{first.name}' ({first.where}), also in use, costs {first.costs[diff]!r}: "
                "TrueAsync's cost model has one cost per event kind for the whole chip (engine "
                "change needed: per-core or per-unit cost tables)")
    return first.costs


def _values(doc: _Doc, specs: list, edges: _Edges) -> tuple:
    """(weights, where of weight i, [(value, what, where)] of LIF parameters) for the scale."""
    ew = np.array(edges.weight, dtype=np.float64)
    weights = np.concatenate([ew] + [w for _, _, w, _ in edges.dense])
    lines = np.concatenate([np.array(edges.line, dtype=np.int64)]
                           + [ln for _, _, _, ln in edges.dense])
    params = []
    for spec in specs:
        if spec.resolved.kind == "lif":
            for what, (v, kn) in zip(("threshold", "bias", "reset"), spec.resolved.params[:3]):
                where = doc.at(kn) if kn is not None else f"{spec.group.where} (default)"
                params.append((v, what, where))
    return weights, lambda i: f"{doc.name}:{lines[i]}", params


def _layers(doc: _Doc, specs: list, kexp: int) -> tuple:
    """TrueAsync layers (values as integers times 2**-kexp) and the global index of every
    neuron of every group."""
    def q(v: float) -> int:
        return int(math.ldexp(v, kexp))

    layers, neurons, offset = [], {}, 0
    for spec in specs:
        size = spec.last - spec.first + 1
        idx = neurons.setdefault(spec.group.name, np.zeros(spec.group.size, dtype=np.int64))
        idx[spec.first:spec.last + 1] = np.arange(offset, offset + size)
        offset += size
        if spec.resolved.kind == "input":
            layers.append(InputLayer(spec.name, size))
            continue
        (thr, _), (bias, _), (reset, _), (leak, leak_key), (mode, _) = spec.resolved.params
        try:
            num, shift = leak_fraction(leak)
        except WorkloadError as e:
            where = doc.at(leak_key) if leak_key is not None else spec.group.where
            raise SanafeYamlError(f"{where}: leak_decay of {spec.name}: {e}; TrueAsync's leak is "
                                  "a binary fraction num / 2**shift (shift <= 16)") from None
        layers.append(LifLayer(spec.name, size, threshold=q(thr), leak_num=num, leak_shift=shift,
                               bias=q(bias), reset_mode=mode, reset_value=q(reset)))
    if len({x.name for x in layers}) != len(layers):
        raise SanafeYamlError(f"{doc.name}:1: layer names collide after splitting groups: "
                              f"{[x.name for x in layers]}")
    return layers, neurons


def _core_of(chip: _Chip, groups: dict, neurons: dict, layers: list) -> np.ndarray:
    core_of = np.zeros(sum(x.size for x in layers), dtype=np.int64)
    for g in groups.values():
        core_of[neurons[g.name]] = [chip.core_id(*info["_core"]) for info in g.mapping]
    return core_of


def _emptiest_core(chip: _Chip, core_of: np.ndarray) -> int:
    ids = [chip.core_id(c.tile, c.offset) for t in chip.tiles for c in t.cores]
    load = np.bincount(core_of, minlength=chip.core_id(len(chip.tiles), 0))
    return min(ids, key=lambda c: (load[c], c))


def _inputs(doc: _Doc, specs: list, steps: Optional[int], has_inputs: bool) -> tuple:
    """bool [1, steps, n_inputs] from the spike trains (a train shorter than steps stops early)."""
    trains = [r.spikes for s in specs if s.resolved.kind == "input" for r in s.members]
    if steps is None:
        steps = max((len(t) for t in trains), default=0)
        if steps == 0:
            raise SanafeYamlError(f"{doc.name}:1: no input neuron has a spike train, so the number "
                                  "of steps must be given (--steps)")
    if not 1 <= steps <= MAX_STEPS:
        raise SanafeYamlError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
    inputs = np.zeros((1, steps, len(trains) if has_inputs else 1), dtype=bool)
    for col, train in enumerate(trains):
        m = min(steps, len(train))
        inputs[0, :m, col] = train[:m]
    return inputs, steps


def _projections(edges: _Edges, groups: dict, neurons: dict, layers: list, kexp: int) -> list:
    """Dense edges between whole layers stay dense; every other synapse is sparse (COO) per
    (pre layer, post layer)."""
    offsets = np.cumsum([0] + [x.size for x in layers])
    layer_at = np.repeat(np.arange(len(layers)), [x.size for x in layers])
    pre = [np.asarray([neurons[g][i] for g, i in zip(edges.pre_group, edges.pre)], dtype=np.int64)]
    post = [np.asarray([neurons[g][i] for g, i in zip(edges.post_group, edges.post)],
                       dtype=np.int64)]
    w = [np.array(edges.weight, dtype=np.float64)]
    out = []
    for pg, qg, weights, _ in edges.dense:
        a, b = layer_at[neurons[pg.name][0]], layer_at[neurons[qg.name][0]]
        if layers[a].size == pg.size and layers[b].size == qg.size:
            wq = np.ldexp(weights, kexp).astype(np.int64)
            out.append(DenseProjection(layers[a].name, layers[b].name, wq.reshape(pg.size, qg.size)))
            continue
        pi, qi = np.divmod(np.arange(weights.size, dtype=np.int64), qg.size)
        pre.append(neurons[pg.name][pi])
        post.append(neurons[qg.name][qi])
        w.append(weights)
    pre, post, w = np.concatenate(pre), np.concatenate(post), np.concatenate(w)
    if pre.size:
        lp, lq = layer_at[pre], layer_at[post]
        order = np.lexsort((lq, lp))
        pairs = np.stack([lp[order], lq[order]], axis=1)
        starts = np.flatnonzero(np.r_[True, np.any(pairs[1:] != pairs[:-1], axis=1)])
        for s, e in zip(starts, np.r_[starts[1:], order.size]):
            sel = order[s:e]
            a, b = int(lp[sel[0]]), int(lq[sel[0]])
            out.append(SparseProjection(layers[a].name, layers[b].name, pre[sel] - offsets[a],
                                        post[sel] - offsets[b],
                                        np.ldexp(w[sel], kexp).astype(np.int64)))
    return out


# --------------------------------------------------------------------------------------------
# SANA-FE itself on the same files


def run_sanafe_files(arch_path: Union[str, os.PathLike], net_path: Union[str, os.PathLike],
                     steps: int, timing_model: str = "detailed", spike_trace: bool = False) -> dict:
    """Run SANA-FE (`pip install sanafe`) on its own files for `steps` steps.

    Returns the figures of `trueasync.sanafe_peer.run_sanafe` (one sample); with `spike_trace`
    also "spikes": per group, bool [1, steps, group size] (every neuron is traced).
    """
    from trueasync.sanafe_peer import FIGURE_NAMES, _import_sanafe, append_figures, figures_summary

    sanafe = _import_sanafe()
    arch = sanafe.load_arch(str(arch_path))
    chip = sanafe.SpikingChip(arch)
    chip.load(sanafe.load_net(str(net_path), arch))
    groups = chip.mapped_neuron_groups
    if spike_trace:
        for group in groups.values():
            for neuron in group:
                neuron.set_attributes(log_spikes=True)
    r = chip.sim(steps, timing_model=timing_model, perf_trace=True, spike_trace=spike_trace)
    per = {k: [] for k in FIGURE_NAMES}
    append_figures(per, r)
    out = figures_summary(per, timing_model)
    if spike_trace:
        spikes = {name: np.zeros((1, steps, len(g)), dtype=bool) for name, g in groups.items()}
        for t, row in enumerate(r["spike_trace"]):
            for addr in row:
                spikes[addr.group_name][0, t, addr.neuron_offset] = True
        out["spikes"] = spikes
    return out
