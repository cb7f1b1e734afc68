"""The result of one `trueasync.simulate` call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

ENERGY_UNITS = ("synapse", "soma", "network", "sync", "static")
COUNT_NAMES = (
    "fired",
    "synaptic_ops",
    "packets",
    "hops",
    "tokens",
    "credits",
    "token_hops",
    "stalls",
    "barriers",
    "neuron_updates",
    "neuron_accesses",
)


@dataclass
class SimResult:
    """Per-sample arrays (first axis = sample) and totals of one simulation.

    Energies are in joules, times in seconds, area in mm^2. `edp_js` is energy x latency in J*s and
    `edp_snj` the same in s*nJ (the ANCoEF paper's unit).
    """

    semantics: str
    preset: str
    energy_j: np.ndarray
    latency_s: np.ndarray
    energy_breakdown_j: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    spikes_per_layer: np.ndarray  # [sample, layer]
    output_spike_counts: np.ndarray  # [sample, neuron of the last layer]
    core_utilisation: np.ndarray  # [sample, core]: busy fraction of the core's units
    core_dynamic_energy_j: np.ndarray  # [sample, core]
    core_of: np.ndarray  # [neuron]: the mapping that was simulated
    area_mm2: float
    static_power_w: float
    critical_path_s: np.ndarray  # [sample]: lower bound on latency (no contention, no sharing)
    serial_time_s: np.ndarray  # [sample]: every event's duration added up (upper bound)
    wall_s: float
    layer_names: list[str] = field(default_factory=list)
    # [sample]: until the last event of any kind (the chip is quiescent), >= latency_s, which
    # ends at the output layer's last update
    quiescent_s: Optional[np.ndarray] = None
    schedule: str = "asynchronous"  # or "clocked" (docs/simulator.md, "Schedules")
    spike_trace: Optional[list[np.ndarray]] = None  # per layer: bool [sample, step, neuron]
    timeline: Optional[np.ndarray] = None  # structured: sample, time_s, core, unit, step, kind

    @property
    def n_samples(self) -> int:
        return int(self.energy_j.shape[0])

    @property
    def edp_js(self) -> np.ndarray:
        return self.energy_j * self.latency_s

    @property
    def edp_snj(self) -> np.ndarray:
        return self.edp_js * 1e9

    @property
    def dynamic_energy_j(self) -> np.ndarray:
        return self.energy_j - self.energy_breakdown_j["static"]

    def totals(self) -> dict[str, float]:
        """Sums over samples of energy and counts, plus per-sample means of latency and EDP."""
        out: dict[str, float] = {
            "samples": self.n_samples,
            "energy_j": float(self.energy_j.sum()),
            "latency_s_mean": float(self.latency_s.mean()) if self.n_samples else 0.0,
            "energy_j_mean": float(self.energy_j.mean()) if self.n_samples else 0.0,
            "edp_js_mean": float(self.edp_js.mean()) if self.n_samples else 0.0,
            "edp_snj_mean": float(self.edp_snj.mean()) if self.n_samples else 0.0,
        }
        for unit, values in self.energy_breakdown_j.items():
            out[f"energy_{unit}_j"] = float(values.sum())
        for name, values in self.counts.items():
            out[name] = int(values.sum())
        return out

    def predicted_labels(self) -> np.ndarray:
        """Class with the most output spikes per sample (lowest index wins ties)."""
        return np.argmax(self.output_spike_counts, axis=1)

    def accuracy(self, labels) -> float:
        """Fraction of samples whose predicted label is `labels`' (one per sample; 0 for none)."""
        labels = np.asarray(labels)
        return float((self.predicted_labels() == labels).mean()) if len(labels) else 0.0

    def to_json(self) -> dict:
        """JSON-ready figures: totals, per-sample values, area and wall time."""
        per_sample = {
            "energy_j": self.energy_j.tolist(),
            "latency_s": self.latency_s.tolist(),
            "quiescent_s": None if self.quiescent_s is None else self.quiescent_s.tolist(),
            "edp_js": self.edp_js.tolist(),
            "edp_snj": self.edp_snj.tolist(),
            "critical_path_s": self.critical_path_s.tolist(),
            "serial_time_s": self.serial_time_s.tolist(),
            "energy_breakdown_j": {k: v.tolist() for k, v in self.energy_breakdown_j.items()},
            "counts": {k: v.tolist() for k, v in self.counts.items()},
            "spikes_per_layer": self.spikes_per_layer.tolist(),
            "output_spike_counts": self.output_spike_counts.tolist(),
            "core_utilisation": self.core_utilisation.tolist(),
        }
        return {
            "semantics": self.semantics,
            "schedule": self.schedule,
            "preset": self.preset,
            "layer_names": list(self.layer_names),
            "area_mm2": self.area_mm2,
            "static_power_w": self.static_power_w,
            "wall_s": self.wall_s,
            "totals": self.totals(),
            "per_sample": per_sample,
        }
