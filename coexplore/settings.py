"""`ExploreSettings`: every choice of a co-exploration run, validated, with a stable fingerprint.

The fingerprint (SHA-256 of the canonical JSON of the fields that decide the result) is what a
resume compares: a run continues only under the settings it was started with. The execution
fields (`EXECUTION_FIELDS`: simulator threads, checkpoint interval) change how fast a run goes,
not what it finds, and may differ on a resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# Training budget per `--minutes` (steps, not seconds, so that a seed gives the same numbers on
# every run). Measured on the project's 2-core machine with torch on one thread (docs/explore.md):
# a sandwich step (3 sub-networks, batch 32) of the default space on digits-dvs takes ~0.14 s,
# a QAT step of one sub-network 0.015-0.07 s.
SUPERNET_SHARE = 0.75
SUPERNET_STEPS_PER_MINUTE = 420
QAT_STEPS_PER_MINUTE = 1500
DEFAULT_MINUTES = 2.0
VAL_FRACTION = 0.15
MAX_VAL = 200
T_DATA = 8
SEMANTICS = "timestep"
WARM_STARTS = ("shipped", "policy", "critic", "none")
EXECUTION_FIELDS = ("sim_threads", "checkpoint_every")
SETTINGS_VERSION = 1


@dataclass(frozen=True)
class ExploreSettings:
    dataset: str = "digits-dvs"
    data_root: Optional[str] = None
    seed: int = 0
    candidates: int = 4
    screen: Optional[int] = None  # sub-networks screened for the candidates (None: 3 x candidates)
    budget: int = 48  # simulated designs per candidate search
    algo: Optional[str] = None  # None: rl when the shipped policy is usable, else nsga2
    bits: tuple = (4,)  # weight widths the candidates are drawn with (training = chip width)
    max_energy_j: Optional[float] = None
    max_latency_s: Optional[float] = None
    max_area_mm2: Optional[float] = None
    minutes: float = DEFAULT_MINUTES
    limit: Optional[int] = None
    test_limit: Optional[int] = None
    calib_samples: int = 16
    designs_per_survivor: int = 3
    downsample: int = 1
    encoding: Optional[str] = None  # None: the dataset's default (events binary, images direct)
    batch_size: int = 32
    lr: float = 3e-3
    preset: Optional[str] = None  # None: async28 when the engine ships it, else loihi
    preset_sha256: Optional[str] = None  # of a preset given as a JSON file
    torch_threads: int = 1
    warm_start: str = "shipped"  # see docs/explore.md, "Warm start across the candidates"
    baselines: bool = True
    sim_threads: Optional[int] = None
    checkpoint_every: int = 200

    # -- derived budgets ------------------------------------------------------------------------
    @property
    def supernet_steps(self) -> int:
        return max(1, int(round(self.minutes * SUPERNET_SHARE * SUPERNET_STEPS_PER_MINUTE)))

    @property
    def qat_steps(self) -> int:
        """QAT steps of every fine-tuned network (each survivor and each baseline's network)."""
        return max(1, int(round(self.minutes * (1 - SUPERNET_SHARE) * QAT_STEPS_PER_MINUTE / self.candidates)))

    @property
    def screened(self) -> int:
        return 3 * self.candidates if self.screen is None else self.screen

    @property
    def sequential_budget(self) -> int:
        """The sequential flow's one search gets the co-exploration's searches' budget together."""
        return self.budget * self.candidates

    @property
    def targets(self):
        from agent.evaluator import Targets

        return Targets(self.max_energy_j, self.max_latency_s, self.max_area_mm2)

    # -- validation -------------------------------------------------------------------------------
    def validated(self) -> "ExploreSettings":
        """These settings checked (ValueError naming the setting) with defaults resolved."""
        from agent.search import METHODS

        s = self
        if s.algo is None:
            s = dataclasses.replace(s, algo="rl" if policy_status()[0] else "nsga2")
        elif str(s.algo).lower() not in METHODS:
            raise ValueError(f"unknown --algo {s.algo!r}; choose one of {', '.join(METHODS)}")
        else:
            s = dataclasses.replace(s, algo=str(s.algo).lower())
        for name, low in (("budget", 1), ("candidates", 1)):
            v = getattr(s, name)
            if not isinstance(v, int) or v < low:
                what = "simulated design per candidate" if name == "budget" else ""
                raise ValueError(f"--{name} must be at least {low}{' ' + what if what else ''}, got {v}")
        bits = tuple(int(b) for b in (s.bits if isinstance(s.bits, (tuple, list)) else (s.bits,)))
        if not bits:
            raise ValueError("--bits needs at least one weight width")
        for b in bits:
            if b not in (2, 4, 8):
                raise ValueError(f"--bits must be 2, 4 or 8 (the chip's weight widths), got {b}")
        if len(set(bits)) != len(bits):
            raise ValueError(f"--bits lists a width twice: {','.join(map(str, bits))}")
        s = dataclasses.replace(s, bits=bits)
        if s.screen is not None and (not isinstance(s.screen, int) or s.screen < s.candidates):
            raise ValueError(f"--screen must be at least --candidates ({s.candidates}), got {s.screen}")
        for name in ("limit", "test_limit", "calib_samples", "designs_per_survivor", "downsample",
                     "batch_size", "torch_threads", "sim_threads", "checkpoint_every"):
            v = getattr(s, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
        if s.limit is not None and s.limit < 20:
            raise ValueError(f"--limit must be at least 20 training samples (some are held out for "
                             f"validation), got {s.limit}")
        for name in ("minutes", "lr"):
            v = getattr(s, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"--{name} must be > 0 and finite, got {v}")
        if s.warm_start not in WARM_STARTS:
            raise ValueError(f"unknown --warm-start {s.warm_start!r}; choose one of {', '.join(WARM_STARTS)}")
        if s.encoding is not None:
            from trainer.datasets import ENCODINGS

            if s.encoding not in ENCODINGS:
                raise ValueError(f"--encoding must be one of {', '.join(ENCODINGS)}, got {s.encoding!r}")
        s.targets  # ValueError for a non-positive or non-finite target
        s = _resolve_preset(s)
        from trainer.datasets import canonical_name

        s = dataclasses.replace(s, dataset=canonical_name(s.dataset))  # DatasetError (ValueError)
        return s

    # -- identity -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["bits"] = list(self.bits)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ExploreSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"settings_version"})
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        kw = {k: v for k, v in d.items() if k in names}
        if "bits" in kw:
            kw["bits"] = tuple(kw["bits"]) if isinstance(kw["bits"], (list, tuple)) else (kw["bits"],)
        return cls(**kw)

    def result_dict(self) -> dict:
        """The fields that decide the result (what the fingerprint covers)."""
        d = {k: v for k, v in self.to_dict().items() if k not in EXECUTION_FIELDS}
        d["settings_version"] = SETTINGS_VERSION
        return d

    def fingerprint(self) -> str:
        text = json.dumps(self.result_dict(), sort_keys=True, allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def differences(self, given: dict) -> list[tuple[str, object, object]]:
        """(setting, this run's value, given value) for each result-deciding setting in `given`
        that differs from this (validated) run's."""
        out = []
        mine = self.to_dict()
        for k in sorted(given):
            if k in EXECUTION_FIELDS:
                continue
            v = list(given[k]) if k == "bits" else given[k]
            if json.dumps(mine.get(k)) != json.dumps(v):
                out.append((k, mine.get(k), v))
        return out


def _resolve_preset(s: ExploreSettings) -> ExploreSettings:
    import trueasync as ta
    from agent.workloads import default_preset

    preset = s.preset or default_preset()
    if preset in ta.preset_names():
        return dataclasses.replace(s, preset=preset, preset_sha256=None)
    p = Path(preset)
    if not p.is_file():
        raise ValueError(f"unknown --preset {preset!r}; choose one of {', '.join(ta.preset_names())} "
                         "or give a preset JSON file")
    ta.load_preset(str(p))  # a malformed file is a bad setting too
    return dataclasses.replace(s, preset=str(p.resolve()),
                               preset_sha256=hashlib.sha256(p.read_bytes()).hexdigest())


def policy_status() -> tuple[bool, str]:
    """(usable, why not) for the shipped pre-trained RL policy."""
    try:
        from agent import rl
    except ImportError as exc:  # pragma: no cover - search extra not installed
        return False, f"the RL agent cannot be imported ({exc})"
    wfile = Path(rl.DEFAULT_CHECKPOINT) / rl.WEIGHTS_FILE
    if not wfile.exists():
        return False, f"no pre-trained policy at {wfile}"
    try:
        from agent.space import HardwareSpace

        _, card = rl.load_policy(Path(rl.DEFAULT_CHECKPOINT))
        why = rl._compatible(card, HardwareSpace())
    except Exception as exc:  # a broken file: say so, search without it
        return False, f"the pre-trained policy cannot be loaded ({exc})"
    return (why is None), (why or "")
