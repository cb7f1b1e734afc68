"""Typed records of a co-exploration: one candidate from sampling to the chip, and its results.

Each record turns into JSON (`to_json`) and back (`from_json`) exactly (floats are written with
Python's shortest round-trip repr), which is how a finished step is stored and reloaded.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from agent.evaluator import Evaluation, arch_key
from agent.pareto import Normaliser, ParetoArchive
from trueasync.model import Architecture

FLOWS = ("coexploration", "reference", "sequential")


def _num(x) -> Optional[float]:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def evaluation_to_json(r: Evaluation) -> dict:
    return {
        "design": dict(r.design), "fits": bool(r.fits), "reasons": list(r.reasons),
        "energy_j": _num(r.energy_j), "latency_s": _num(r.latency_s), "edp_js": _num(r.edp_js),
        "area_mm2": _num(r.area_mm2), "meets_targets": bool(r.meets_targets), "violations": list(r.violations),
        "overshoot": _num(r.overshoot), "index": int(r.index), "n_simulated": int(r.n_simulated),
        "spikes_per_layer": None if r.spikes_per_layer is None else [float(v) for v in r.spikes_per_layer],
        "proposer": r.proposer,
    }


def evaluation_from_json(d: dict) -> Evaluation:
    nan = float("nan")
    return Evaluation(
        key=arch_key(Architecture(**d["design"])), design=dict(d["design"]), fits=d["fits"],
        reasons=list(d["reasons"]),
        energy_j=nan if d["energy_j"] is None else d["energy_j"],
        latency_s=nan if d["latency_s"] is None else d["latency_s"],
        edp_js=nan if d["edp_js"] is None else d["edp_js"],
        area_mm2=nan if d["area_mm2"] is None else d["area_mm2"],
        meets_targets=d["meets_targets"], violations=list(d["violations"]),
        overshoot=math.inf if d["overshoot"] is None else d["overshoot"],
        index=d["index"], n_simulated=d["n_simulated"], spikes_per_layer=d["spikes_per_layer"],
        proposer=d.get("proposer", ""))


@dataclass
class SearchOutcome:
    """One hardware search on a candidate's calibration workload, with every design it scored."""

    method: str
    budget: int
    figures: dict  # simulated, proposals, hypervolume, best EDP, ... (agent.search.search_figures)
    reference: Evaluation  # the evaluator's reference (calibration) design
    spike_rates: list  # measured per layer on the reference design
    archive: list  # Evaluation, in evaluation order
    policy_checkpoint: Optional[str] = None  # policy weights after this search (warm start "policy")
    policy_sha256: Optional[str] = None

    @property
    def normaliser(self) -> Normaliser:
        return Normaliser(self.reference.energy_j, self.reference.latency_s, self.reference.area_mm2)

    def pareto(self) -> ParetoArchive:
        a = ParetoArchive(self.normaliser)
        a.extend(self.archive)
        return a

    def front(self) -> list:
        """The hardware front among designs meeting the targets (the candidate's chips)."""
        return self.pareto().front(meeting_targets=True)

    def to_json(self) -> dict:
        return {"method": self.method, "budget": self.budget, "figures": self.figures,
                "reference": evaluation_to_json(self.reference), "spike_rates": list(self.spike_rates),
                "archive": [evaluation_to_json(r) for r in self.archive],
                "policy_checkpoint": self.policy_checkpoint, "policy_sha256": self.policy_sha256}

    @classmethod
    def from_json(cls, d: dict) -> "SearchOutcome":
        return cls(d["method"], d["budget"], d["figures"], evaluation_from_json(d["reference"]),
                   list(d["spike_rates"]), [evaluation_from_json(r) for r in d["archive"]],
                   d.get("policy_checkpoint"), d.get("policy_sha256"))


@dataclass
class FineTune:
    """QAT at the candidate's bits, then the trainer's fixed-point evaluation on the test split."""

    job: str
    steps: int
    loss_last: Optional[float]
    checkpoint: str  # the fine-tuned model (relative to the run folder)
    sha256: str
    fixed_point_test_accuracy: float
    qat_model_test_accuracy: float
    qat_model_counts_equal_fixed_point: bool

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "FineTune":
        return cls(**d)


@dataclass
class OnChipPoint:
    """One (network, chip) pair simulated on the held-out test split."""

    flow: str  # coexploration | reference | sequential
    candidate: str
    config: dict
    config_text: str
    bits: int
    accuracy: float  # from the chip's output spike counts
    fixed_point_accuracy: float
    counts_equal_fixed_point: bool
    energy_j: float
    latency_s: float
    edp_js: float
    edp_snj: float
    area_mm2: float
    energy_breakdown_j: dict
    spikes_per_sample_per_layer: list
    synaptic_ops_per_sample: float
    meets_targets: bool
    violations: list
    roles: list
    design: dict
    design_text: str
    calibration_figures: Optional[dict] = None  # the search's figures for this design
    on_front: bool = False

    def objectives(self) -> np.ndarray:
        """(accuracy, energy, latency, EDP, area) with accuracy negated: all minimised."""
        return np.array([-self.accuracy, self.energy_j, self.latency_s, self.edp_js, self.area_mm2], float)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "OnChipPoint":
        return cls(**d)


@dataclass
class Candidate:
    """A sub-network of the supernet, from sampling to its chips (statuses: candidate, survivor,
    abandoned)."""

    name: str
    config: dict  # trainer.supernet.SubnetConfig.to_dict()
    bits: int  # QAT width = the chip's weight_bits
    inherited_val_accuracy: float
    spikes_per_layer_float: list
    n_neurons: int
    layers: list
    timesteps: int
    model_checkpoint: str  # the folded sub-network with inherited weights
    model_sha256: str
    search: Optional[SearchOutcome] = None
    status: str = "candidate"
    reason: str = ""
    finetune: Optional[FineTune] = None
    points: list = field(default_factory=list)  # OnChipPoint

    @property
    def config_text(self) -> str:
        return config_text(self.config)

    def to_json(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["search"] = self.search.to_json() if self.search else None
        d["finetune"] = self.finetune.to_json() if self.finetune else None
        d["points"] = [p.to_json() for p in self.points]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Candidate":
        d = dict(d)
        d["search"] = SearchOutcome.from_json(d["search"]) if d.get("search") else None
        d["finetune"] = FineTune.from_json(d["finetune"]) if d.get("finetune") else None
        d["points"] = [OnChipPoint.from_json(p) for p in d.get("points") or []]
        return cls(**d)


@dataclass
class Baseline:
    """A flow compared with the co-exploration on the same test split, preset and bits."""

    name: str  # reference | sequential
    description: str
    candidate: Candidate
    points: list  # OnChipPoint
    chosen: Optional[OnChipPoint]


def config_text(cfg: dict) -> str:
    ops = "/".join("skip" if o == "skip" else f"{o}:{w}" for o, w in zip(cfg["ops"], cfg["widths"]))
    return f"{ops} T{cfg['timesteps']} tau{cfg['tau']:g}"


def design_text(d: dict) -> str:
    v = "nom" if d.get("voltage_v") is None else f"{d['voltage_v']:.2f}V"
    return (f"{d['mesh_width']}x{d['mesh_height']}x{d['cores_per_tile']} cores, {d['neurons_per_core']} n/core, "
            f"{d['synapse_memory_kib']} KiB, w{d['weight_bits']}, {d['synapse_lanes']} lanes, "
            f"fifo {d['fifo_depth']}, link {d['link_width_bits']}b, {v}, {d['mapping']}")
