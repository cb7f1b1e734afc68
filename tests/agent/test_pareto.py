import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from agent.evaluator import Evaluation
from agent.pareto import Normaliser, ParetoArchive, dominates, hypervolume, nondominated_mask

finite = st.floats(min_value=0.01, max_value=100.0, allow_nan=False, allow_infinity=False)
point3 = st.tuples(finite, finite, finite)


def rec(i, e, l, a, fits=True, meets=True):
    r = Evaluation(key=(i,), design={"i": i}, fits=fits, reasons=[] if fits else ["does not fit"])
    if fits:
        r.energy_j, r.latency_s, r.area_mm2, r.edp_js = e, l, a, e * l
        r.meets_targets = meets
        r.violations = [] if meets else ["latency_s over"]
        r.overshoot = 0.0 if meets else 1.0
    return r


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(point3, st.booleans()), min_size=0, max_size=40), st.randoms())
def test_front_properties(items, rnd):
    arch = ParetoArchive()
    for i, (p, fits) in enumerate(items):
        arch.add(rec(i, *p, fits=fits))
    front = arch.front()
    feas = arch.feasible()
    # no front point dominates another
    for a in front:
        for b in front:
            assert not dominates(a.objectives(), b.objectives())
    # every feasible design is on the front or dominated by a front design
    for r in feas:
        assert r in front or any(dominates(f.objectives(), r.objectives()) for f in front)
    # only designs that fit are on the front; every design is kept
    assert all(r.fits for r in front) and len(arch) == len(items)
    # the front does not depend on insertion order
    shuffled = list(arch.records)
    rnd.shuffle(shuffled)
    arch2 = ParetoArchive()
    arch2.extend(shuffled)
    assert sorted(r.index if r.index >= 0 else r.key for r in arch2.front()) == sorted(
        r.index if r.index >= 0 else r.key for r in front)
    if feas:
        assert arch.best_edp(meeting_targets=False).edp_js == min(r.edp_js for r in feas)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0.0, 1.2, allow_nan=False)] * 3), min_size=1, max_size=25))
def test_hypervolume_3d_matches_pymoo(points):
    from pymoo.indicators.hv import HV

    pts = np.array(points)
    ref = np.ones(3)
    ours = hypervolume(pts, ref)
    inside = pts[np.all(pts < ref, axis=1)]
    theirs = HV(ref_point=ref)(inside) if len(inside) else 0.0
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0.0, 2.0, allow_nan=False)] * 2), min_size=1, max_size=30))
def test_hypervolume_2d_matches_pymoo(points):
    from pymoo.indicators.hv import HV

    pts = np.array(points)
    ref = np.array([1.5, 1.5])
    inside = pts[np.all(pts < ref, axis=1)]
    theirs = HV(ref_point=ref)(inside) if len(inside) else 0.0
    assert hypervolume(pts, ref) == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def test_hypervolume_known_values():
    assert hypervolume(np.array([[0.0, 0.0, 0.0]]), np.ones(3)) == pytest.approx(1.0)
    assert hypervolume(np.array([[0.5, 0.5, 0.5]]), np.ones(3)) == pytest.approx(0.125)
    two = np.array([[0.0, 0.5], [0.5, 0.0]])
    assert hypervolume(two, np.ones(2)) == pytest.approx(0.75)
    assert hypervolume(np.array([[2.0, 2.0, 2.0]]), np.ones(3)) == 0.0


def test_normalised_hypervolume_matches_pymoo_on_archive():
    from pymoo.indicators.hv import HV

    rng = np.random.default_rng(3)
    norm = Normaliser(1e-6, 1e-3, 10.0)
    arch = ParetoArchive(norm)
    for i in range(60):
        f = norm.ref * 10 ** rng.uniform(-3.5, 1.5, 3)
        arch.add(rec(i, *f))
    u = norm(np.array([r.objectives() for r in arch.feasible()]))
    inside = u[np.all(u < 1, axis=1)]
    assert arch.hypervolume() == pytest.approx(HV(ref_point=np.ones(3))(inside), rel=1e-9)
    assert 0.0 < arch.hypervolume() <= 1.0
    # the reference design itself sits at u = 0.75 in every objective
    assert norm(norm.ref) == pytest.approx([0.75, 0.75, 0.75])


def test_nondominated_mask_keeps_duplicates():
    pts = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    assert nondominated_mask(pts).tolist() == [True, True, False]


def test_save(tmp_path):
    arch = ParetoArchive(Normaliser(1.0, 1.0, 1.0))
    arch.add(rec(0, 0.5, 0.5, 0.5))
    arch.add(rec(1, 0.7, 0.7, 0.7))
    arch.add(rec(2, 0, 0, 0, fits=False))
    j, c = arch.save(tmp_path)
    data = json.loads(j.read_text())
    assert [d["on_front"] for d in data["designs"]] == [True, False, False]
    assert data["designs"][2]["energy_j"] is None and data["designs"][2]["reasons"] == ["does not fit"]
    assert data["normalisation"]["reference_point"] == [1.0, 1.0, 1.0]
    lines = c.read_text().splitlines()
    assert len(lines) == 4 and "energy_j" in lines[0]
