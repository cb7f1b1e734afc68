"""Pareto archive of every evaluated design, and the normalised hypervolume.

Objectives are minimised: energy per sample (J), latency per sample (s), area (mm^2).

Normalised hypervolume (the same for every method): each objective is put on a log scale relative
to the workload's *reference design* (the calibration design the evaluator simulates once per
workload, see `agent.evaluator.Evaluator.reference`),

    u = (log10(f / f_ref) + 3) / 4          clipped to [0, 1],

so u = 0 is 1000x better than the reference design and u = 1 is 10x worse. The hypervolume is
taken against the reference point (1, 1, 1) in u space, so it lies in [0, 1] (the unit cube).
The same reference design, scale and reference point are used for NSGA-II, random search and RL.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from agent import jsonio

OBJECTIVES = ("energy_j", "latency_s", "area_mm2")
DECADES_BELOW = 3.0
DECADES_ABOVE = 1.0


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """a dominates b (minimisation): no worse everywhere, strictly better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


_ROWS = 512


def nondominated_mask(points: np.ndarray) -> np.ndarray:
    """True for points no other point dominates (duplicates: all copies are kept)."""
    pts = np.asarray(points, dtype=float)
    n = pts.shape[0]
    keep = np.ones(n, dtype=bool)
    for lo in range(0, n, _ROWS):  # [row block, all points] comparisons, memory bounded
        rows = pts[lo:lo + _ROWS]
        le = np.ones((rows.shape[0], n), dtype=bool)  # le[i, j]: point j <= row i everywhere
        lt = np.zeros((rows.shape[0], n), dtype=bool)  # lt[i, j]: point j < row i somewhere
        for k in range(pts.shape[1]):
            le &= pts[None, :, k] <= rows[:, None, k]
            lt |= pts[None, :, k] < rows[:, None, k]
        keep[lo:lo + _ROWS] = ~np.any(le & lt, axis=1)
    return keep


def hypervolume(points: np.ndarray, ref: Sequence[float]) -> float:
    """Exact hypervolume dominated by `points` (minimisation) and bounded by `ref`."""
    ref = np.asarray(ref, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, ref.shape[0])
    pts = pts[np.all(pts < ref, axis=1)]
    if pts.shape[0] == 0:
        return 0.0
    pts = np.unique(pts, axis=0)
    pts = pts[nondominated_mask(pts)]
    return float(_hv(pts, ref))


def _hv(pts: np.ndarray, ref: np.ndarray) -> float:
    d = pts.shape[1]
    if pts.shape[0] == 0:
        return 0.0
    if d == 1:
        return float(ref[0] - pts[:, 0].min())
    if d == 2:
        order = np.argsort(pts[:, 0], kind="stable")
        p = pts[order]
        area, best_y = 0.0, ref[1]
        for i in range(p.shape[0]):
            best_y = min(best_y, p[i, 1])
            x_next = p[i + 1, 0] if i + 1 < p.shape[0] else ref[0]
            area += (x_next - p[i, 0]) * (ref[1] - best_y)
        return area
    # slice along the last objective
    order = np.argsort(pts[:, -1], kind="stable")
    p = pts[order]
    vol = 0.0
    for i in range(p.shape[0]):
        z_next = p[i + 1, -1] if i + 1 < p.shape[0] else ref[-1]
        depth = z_next - p[i, -1]
        if depth <= 0:
            continue
        sub = p[: i + 1, :-1]
        sub = sub[nondominated_mask(sub)]
        vol += _hv(sub, ref[:-1]) * depth
    return vol


@dataclass(frozen=True)
class Normaliser:
    """log10 scale relative to a reference design's figures (see module docstring)."""

    energy_j: float
    latency_s: float
    area_mm2: float
    below: float = DECADES_BELOW
    above: float = DECADES_ABOVE

    @property
    def ref(self) -> np.ndarray:
        return np.array([self.energy_j, self.latency_s, self.area_mm2], dtype=float)

    def __call__(self, objectives: np.ndarray) -> np.ndarray:
        f = np.asarray(objectives, dtype=float)
        z = np.log10(np.maximum(f, 1e-300) / self.ref)
        return np.clip((z + self.below) / (self.below + self.above), 0.0, 1.0)

    def hypervolume(self, objectives: np.ndarray) -> float:
        pts = np.asarray(objectives, dtype=float).reshape(-1, 3)
        if pts.shape[0] == 0:
            return 0.0
        return hypervolume(self(pts), np.ones(3))

    def to_dict(self) -> dict:
        return {
            "reference_design_figures": {
                "energy_j": self.energy_j, "latency_s": self.latency_s, "area_mm2": self.area_mm2,
            },
            "scale": f"u = (log10(f / f_ref) + {self.below:g}) / {self.below + self.above:g}, clipped to [0, 1]",
            "reference_point": [1.0, 1.0, 1.0],
        }


class ParetoArchive:
    """Every evaluated design in evaluation order, with front, best-EDP and hypervolume queries.

    Records are `agent.evaluator.Evaluation` objects (anything with `fits`, `meets_targets`,
    `objectives()`, `edp_js` and `to_dict()` works).
    """

    def __init__(self, normaliser: Optional[Normaliser] = None):
        self.records: list = []
        self.normaliser = normaliser

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record) -> None:
        self.records.append(record)

    def extend(self, records: Iterable) -> None:
        for r in records:
            self.add(r)

    def feasible(self, meeting_targets: bool = False) -> list:
        return [r for r in self.records if r.fits and (r.meets_targets or not meeting_targets)]

    def front(self, meeting_targets: bool = False) -> list:
        """Non-dominated designs among those that fit (and meet the targets, if asked)."""
        recs = self.feasible(meeting_targets)
        if not recs:
            return []
        pts = np.array([r.objectives() for r in recs])
        mask = nondominated_mask(pts)
        return [r for r, m in zip(recs, mask) if m]

    def best_edp(self, meeting_targets: bool = True):
        recs = self.feasible(meeting_targets)
        return min(recs, key=lambda r: r.edp_js) if recs else None

    def hypervolume(self, normaliser: Optional[Normaliser] = None, meeting_targets: bool = False) -> float:
        norm = normaliser or self.normaliser
        if norm is None:
            raise ValueError("hypervolume needs a Normaliser (the workload's reference design figures)")
        recs = self.feasible(meeting_targets)
        return norm.hypervolume(np.array([r.objectives() for r in recs])) if recs else 0.0

    def closest_to_targets(self, k: int = 5) -> list:
        """The designs that fit and miss the targets by the least (sum of log overshoots)."""
        recs = [r for r in self.records if r.fits]
        return sorted(recs, key=lambda r: (r.overshoot, r.edp_js))[:k]

    # -- persistence ----------------------------------------------------------------------------
    def to_json(self) -> dict:
        front_ids = {id(r) for r in self.front()}
        return {
            "objectives": list(OBJECTIVES),
            "normalisation": self.normaliser.to_dict() if self.normaliser else None,
            "designs": [dict(r.to_dict(), on_front=id(r) in front_ids) for r in self.records],
        }

    def save(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        jpath, cpath = out_dir / "archive.json", out_dir / "archive.csv"
        data = self.to_json()
        jpath.write_text(jsonio.dumps(data))
        rows = data["designs"]
        if rows:
            design_keys = list(rows[0]["design"].keys())
            scalar_keys = [k for k in rows[0] if k not in ("design", "reasons", "violations", "key")]
            with cpath.open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(scalar_keys + design_keys + ["reasons", "violations"])
                for r in rows:
                    w.writerow(
                        [r.get(k) for k in scalar_keys]
                        + [r["design"].get(k) for k in design_keys]
                        + ["; ".join(r["reasons"]), "; ".join(r["violations"])]
                    )
        else:
            cpath.write_text("")
        return jpath, cpath

