"""The sweep file of `ancoef sweep` (docs/sweep.md): parsing, validation, and its tasks.

A sweep is the product workloads x targets x presets x algorithms x seeds; each combination is
one task, a hardware search (`coexplore.hwsearch`) with the sweep's common settings. Every error
names the key at fault, as a path from the top of the file (`grid.algo[1]`, `workloads.mlp.path`).
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

SPEC_VERSION = 1
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
GRID_AXES = ("workload", "target", "preset", "algo", "seed")
TARGET_KEYS = ("max_energy_j", "max_latency_s", "max_area_mm2")
TOP_KEYS = ("version", "name", "budget", "semantics", "samples", "timesteps", "ranges", "warm_start",
            "cpus_per_task", "max_retries", "workloads", "targets", "grid")
GENERATORS = ("mlp", "conv", "sparse")


class SpecError(ValueError):
    """A sweep file that cannot run as written; the message names the file and the key."""


@dataclass(frozen=True)
class WorkloadSource:
    name: str
    path: Optional[str] = None  # PREFIX of a workload on disk (absolute, or relative to the sweep file)
    network: Optional[str] = None  # or an `ancoef train` output folder
    generate: Optional[str] = None  # or a seeded synthetic workload: mlp | conv | sparse
    options: tuple = ()  # the generator's keyword arguments, (name, value) sorted

    def load(self, samples: Optional[int], timesteps: Optional[int]):
        from agent import workloads

        if self.generate is None:
            return workloads.load_search_workload(self.path, self.network, samples, timesteps)
        import dataclasses

        wl = generator(self.generate)(**dict(self.options))
        inputs = wl.inputs[:samples] if samples else wl.inputs
        inputs = inputs[:, :timesteps] if timesteps else inputs
        return dataclasses.replace(wl, inputs=inputs)

    def to_dict(self) -> dict:
        d = {k: v for k, v in (("path", self.path), ("network", self.network), ("generate", self.generate))
             if v is not None}
        d.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.options})
        return d


@dataclass(frozen=True)
class Task:
    """One combination of the grid: one hardware search."""

    workload: str
    target: str
    preset: str
    algo: str
    seed: int

    @property
    def key(self) -> str:
        """Stable within a sweep: the names of its grid values (the sweep's file fixes what they mean)."""
        return f"{self.workload}/{self.target}/{self.preset}/{self.algo}/seed={self.seed}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SweepSpec:
    name: str
    budget: int
    semantics: str
    samples: Optional[int]
    timesteps: Optional[int]
    ranges: tuple  # (parameter, range) sorted
    warm_start: bool
    cpus_per_task: int
    max_retries: int
    workloads: tuple  # WorkloadSource, in file order
    targets: tuple  # (name, ((key, value), ...)), in file order
    grid: tuple  # (axis, values) for GRID_AXES
    source: str = ""  # the file it was read from (not part of the settings)

    @property
    def axes(self) -> dict:
        return dict(self.grid)

    def workload(self, name: str) -> WorkloadSource:
        return next(w for w in self.workloads if w.name == name)

    def target(self, name: str) -> dict:
        return dict(dict(self.targets)[name])

    def tasks(self) -> list[Task]:
        """Every task, in grid order (workload slowest, seed fastest)."""
        a = self.axes
        return [Task(w, t, p, al, s) for w in a["workload"] for t in a["target"] for p in a["preset"]
                for al in a["algo"] for s in a["seed"]]

    def search_settings(self, task: Task):
        """The `coexplore.hwsearch.SearchSettings` of one task (before `resolved`)."""
        from coexplore.hwsearch import SearchSettings

        src = self.workload(task.workload)
        return SearchSettings(workload=src.path or src.network or f"generate:{src.generate}", algo=task.algo,
                              budget=self.budget, seed=task.seed, preset=task.preset, semantics=self.semantics,
                              warm_start=self.warm_start, ranges=dict(self.ranges), threads=self.cpus_per_task,
                              **self.target(task.target))

    def to_dict(self) -> dict:
        """The canonical settings: what the run store keeps and a resume compares."""
        return {
            "version": SPEC_VERSION, "name": self.name, "budget": self.budget, "semantics": self.semantics,
            "samples": self.samples, "timesteps": self.timesteps, "ranges": dict(self.ranges),
            "warm_start": self.warm_start, "cpus_per_task": self.cpus_per_task, "max_retries": self.max_retries,
            "workloads": {w.name: w.to_dict() for w in self.workloads},
            "targets": {n: dict(t) for n, t in self.targets},
            "grid": {axis: list(v) for axis, v in self.grid},
        }


# ------------------------------------------------------------------------------------ parsing


def generator(kind: str):
    from trueasync import workload as tw

    return {"mlp": tw.generate_mlp, "conv": tw.generate_conv, "sparse": tw.generate_sparse}[kind]


class _Reader:
    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(f"{self.where}: {key}: {message}" if key else f"{self.where}: {message}")

    def mapping(self, value: Any, key: str, known: tuple = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {_kind(value)}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(key, f"keys must be names, got {k!r}")
            if known and k not in known:
                raise self.fail(_join(key, k), f"unknown key; expected one of {', '.join(known)}")
        return value

    def integer(self, value: Any, key: str, lo: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {_kind(value)}")
        if value < lo:
            raise self.fail(key, f"must be at least {lo}, got {value}")
        return value

    def name(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not NAME.fullmatch(value):
            raise self.fail(key, f"expected a name of letters, digits, '.', '_' or '-' (at most 64), got {value!r}")
        return value

    def names(self, value: Any, key: str, allowed: tuple, what: str) -> tuple:
        values = self.nonempty_list(value, key)
        for i, v in enumerate(values):
            if v not in allowed:
                raise self.fail(f"{key}[{i}]", f"unknown {what} {v!r}; choose one of {', '.join(map(str, allowed))}")
        return self.unique(values, key)

    def nonempty_list(self, value: Any, key: str) -> list:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise self.fail(key, "must list at least one value")
        return values

    def unique(self, values: list, key: str) -> tuple:
        seen = set()
        for i, v in enumerate(values):
            if v in seen:
                raise self.fail(f"{key}[{i}]", f"{v!r} is listed twice (a task would run twice)")
            seen.add(v)
        return tuple(values)


def _join(key: str, sub) -> str:
    return f"{key}.{sub}" if key else str(sub)


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


def load_spec(path: Path) -> SweepSpec:
    """Read and validate the sweep file at `path` (SpecError names the key at fault)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    return parse_spec(doc, where=str(path), base=path.parent, default_name=path.stem)


def parse_spec(doc: Any, *, where: str = "sweep", base: Path = Path("."), default_name: str = "sweep") -> SweepSpec:
    r = _Reader(where)
    doc = r.mapping(doc, "", TOP_KEYS)
    version = doc.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise r.fail("version", f"this ANCoEF reads sweep files of version {SPEC_VERSION}, got {version!r}")
    name = r.name(doc.get("name", default_name), "name")
    budget = r.integer(doc.get("budget", 200), "budget")
    semantics = doc.get("semantics", "timestep")
    if semantics not in ("timestep", "sanafe"):
        raise r.fail("semantics", f"expected timestep or sanafe, got {semantics!r}")
    samples = None if doc.get("samples") is None else r.integer(doc["samples"], "samples")
    timesteps = None if doc.get("timesteps") is None else r.integer(doc["timesteps"], "timesteps")
    ranges = _ranges(r, doc.get("ranges", {}))
    warm_start = doc.get("warm_start", True)
    if not isinstance(warm_start, bool):
        raise r.fail("warm_start", f"expected true or false, got {_kind(warm_start)}")
    cpus = r.integer(doc.get("cpus_per_task", 1), "cpus_per_task")
    retries = r.integer(doc.get("max_retries", 3), "max_retries", lo=0)
    if "workloads" not in doc:
        raise r.fail("workloads", "missing: name at least one workload to search for")
    workloads = _workloads(r, doc["workloads"], base)
    targets = _targets(r, doc.get("targets", {"none": {}}))
    grid = _grid(r, doc.get("grid"), [w.name for w in workloads], [n for n, _ in targets])
    return SweepSpec(name, budget, semantics, samples, timesteps, ranges, warm_start, cpus, retries, workloads,
                     targets, grid, source=where)


def _ranges(r: _Reader, value: Any) -> tuple:
    from agent.space import PARAM_NAMES, HardwareSpace

    value = r.mapping(value if value is not None else {}, "ranges", PARAM_NAMES)
    out = {}
    for k, v in value.items():
        if isinstance(v, list):
            v = ",".join(str(x) for x in v)
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise r.fail(f"ranges.{k}", f"expected lo:hi or a list of choices, got {_kind(v)}")
        out[k] = str(v)
        try:
            HardwareSpace.from_options({k: out[k]})
        except ValueError as exc:
            raise r.fail(f"ranges.{k}", str(exc)) from None
    return tuple(sorted(out.items()))


def _workloads(r: _Reader, value: Any, base: Path) -> tuple:
    value = r.mapping(value, "workloads")
    if not value:
        raise r.fail("workloads", "name at least one workload to search for")
    out = []
    for name, src in value.items():
        key = f"workloads.{r.name(name, 'workloads')}"
        src = r.mapping(src, key)
        given = [k for k in ("path", "network", "generate") if k in src]
        if len(given) != 1:
            raise r.fail(key, "give exactly one of path (a workload PREFIX), network (an `ancoef train` folder) "
                              f"or generate ({', '.join(GENERATORS)}), got {', '.join(given) or 'none'}")
        kind = given[0]
        if kind != "generate":
            r.mapping(src, key, (kind,))
            p = src[kind]
            if not isinstance(p, str) or not p:
                raise r.fail(f"{key}.{kind}", f"expected a path, got {_kind(p)}")
            p = str((base / p).resolve())  # absolute: a resume from another folder names the same file
            out.append(WorkloadSource(name, **{kind: p}))
            continue
        gen = src["generate"]
        if gen not in GENERATORS:
            raise r.fail(f"{key}.generate", f"unknown generator {gen!r}; choose one of {', '.join(GENERATORS)}")
        params = inspect.signature(generator(gen)).parameters
        allowed = ("generate",) + tuple(p for p in params if p not in ("energy", "latency"))
        r.mapping(src, key, allowed)
        options = {}
        for k, v in src.items():
            if k == "generate":
                continue
            default = params[k].default
            if isinstance(v, list):
                v = tuple(v)
            if not _same_kind(v, default):
                raise r.fail(f"{key}.{k}", f"expected {_expected(default)}, got {_kind(v)}")
            options[k] = v
        out.append(WorkloadSource(name, generate=gen, options=tuple(sorted(options.items()))))
    return tuple(out)


def _same_kind(v: Any, default: Any) -> bool:
    if default is None or default is inspect.Parameter.empty:
        return isinstance(v, (int, float, str, tuple)) and not isinstance(v, bool)
    if isinstance(default, bool):
        return isinstance(v, bool)
    if isinstance(default, int):
        return isinstance(v, int) and not isinstance(v, bool)
    if isinstance(default, float):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if isinstance(default, (tuple, list)):
        return isinstance(v, tuple) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
    return isinstance(v, type(default))


def _expected(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (tuple, list)):
        return "a list of integers"
    return "a number" if isinstance(default, (int, float)) else f"a {type(default).__name__}"


def _targets(r: _Reader, value: Any) -> tuple:
    value = r.mapping(value, "targets")
    if not value:
        raise r.fail("targets", "name at least one target (`none: {}` for no limits)")
    out = []
    for name, limits in value.items():
        key = f"targets.{r.name(name, 'targets')}"
        limits = r.mapping(limits if limits is not None else {}, key, TARGET_KEYS)
        for k, v in limits.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise r.fail(f"{key}.{k}", f"expected a positive number, got {_kind(v)}")
        out.append((name, tuple((k, float(limits[k])) for k in TARGET_KEYS if k in limits)))
    return tuple(out)


def _grid(r: _Reader, value: Any, workloads: list, targets: list) -> tuple:
    from agent.search import METHODS

    if value is None:
        raise r.fail("grid", "missing: give at least grid.algo and grid.seed")
    value = r.mapping(value, "grid", GRID_AXES)
    for axis in ("algo", "seed"):
        if axis not in value:
            raise r.fail(f"grid.{axis}", "missing")
    out = {
        "workload": r.names(value.get("workload", workloads), "grid.workload", tuple(workloads), "workload"),
        "target": r.names(value.get("target", targets), "grid.target", tuple(targets), "target"),
        "preset": _presets(r, value.get("preset")),
        "algo": r.names(value["algo"], "grid.algo", METHODS, "algorithm"),
        "seed": _seeds(r, value["seed"]),
    }
    return tuple((axis, out[axis]) for axis in GRID_AXES)


def _presets(r: _Reader, value: Any) -> tuple:
    from agent.workloads import default_preset

    if value is None:
        return (default_preset(),)
    try:
        import trueasync

        known = tuple(trueasync.preset_names())
    except Exception:  # no engine: the names are checked where the tasks run
        values = r.nonempty_list(value, "grid.preset")
        for i, v in enumerate(values):
            r.name(v, f"grid.preset[{i}]")
        return r.unique(values, "grid.preset")
    return r.names(value, "grid.preset", known, "cost preset")


def _seeds(r: _Reader, value: Any) -> tuple:
    if isinstance(value, str):  # "lo:hi", both included
        m = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", value)
        if not m or int(m.group(1)) > int(m.group(2)):
            raise r.fail("grid.seed", f"expected a list of integers or lo:hi, got {value!r}")
        return tuple(range(int(m.group(1)), int(m.group(2)) + 1))
    values = r.nonempty_list(value, "grid.seed")
    for i, v in enumerate(values):
        r.integer(v, f"grid.seed[{i}]", lo=0)
    return r.unique(values, "grid.seed")
