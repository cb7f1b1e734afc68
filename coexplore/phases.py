"""The phases of a co-exploration (DESIGN.md section 4; docs/explore.md), one function each.

Every phase reads its finished steps from the run store instead of redoing them, and commits
each step it finishes. A phase works on `coexplore.records.Candidate` records; models live in
the trainer backend under the candidate's name.
"""

from __future__ import annotations

import io
import itertools
import math
import random
import time
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Optional

import numpy as np

from agent.pareto import dominates, nondominated_mask
from trueasync.model import Architecture

from coexplore.backends import DataInfo, Exported
from coexplore.context import Run
from coexplore.progress import SearchEvent, SimulationEvent
from coexplore.records import (
    Candidate,
    FineTune,
    OnChipPoint,
    SearchOutcome,
    design_text,
)
from coexplore.settings import SEMANTICS, T_DATA, ExploreSettings

TOTAL_PHASES = 7
TIMING_KEYS = frozenset({"sim_wall_s", "t_s", "wall_s", "simulation_s"})
REFERENCE = "ref"  # model name of baseline (a)'s network


def hardware_space(bits: int):
    """The laptop space (agent.workloads) with the chip's weight width fixed to `bits`."""
    from agent.space import HardwareSpace
    from agent.workloads import LAPTOP_RANGES

    return HardwareSpace.from_options({**LAPTOP_RANGES, "weight_bits": str(int(bits))})


def untimed(x):
    """`x` without wall-clock fields (those go to the summary's `timings`), JSON-ready."""
    from agent.jsonio import to_jsonable

    if isinstance(x, dict):
        return {k: untimed(v) for k, v in x.items() if k not in TIMING_KEYS}
    if isinstance(x, (list, tuple)):
        return [untimed(v) for v in x]
    return to_jsonable(x)


# -- preflight: every check that needs the data, before any work ---------------------------------


@dataclass(frozen=True)
class Preflight:
    data: DataInfo
    smallest_area_mm2: float
    smallest_area_design: dict
    wall_s: float  # spent here, before the run's store existed (added to its data phase)
    cpu_s: float


def preflight(settings: ExploreSettings, trainer) -> Preflight:
    """Load the data and refuse targets no chip of the space can meet (ValueError)."""
    t0, c0 = time.perf_counter(), time.process_time()
    data = trainer.load_data(settings)
    from trainer.supernet import SearchSpace

    space = SearchSpace.from_dict(data.snn_space)
    for t in space.timesteps:
        if T_DATA % t:
            raise ValueError(f"timesteps choice {t} does not divide the {T_DATA} data frames")
    trainer.new_supernet(settings.seed)
    best = (math.inf, {})
    for bits in settings.bits:
        trainer.inherit("probe", space.smallest().to_dict())
        net = trainer.export("probe", bits, "calibration").network
        best = min(best, _smallest_area(hardware_space(bits), net, settings.preset), key=lambda t: t[0])
    if not math.isfinite(best[0]):
        raise ValueError("no design of the hardware space can hold even the smallest sub-network")
    t = settings.max_area_mm2
    if t is not None and t < best[0]:
        raise ValueError(
            f"--max-area-mm2 {t:g} is impossible: the smallest chip of the hardware space that can hold the "
            f"smallest sub-network has {best[0]:.4g} mm^2 ({design_text(best[1])})")
    return Preflight(data, best[0], best[1], time.perf_counter() - t0, time.process_time() - c0)


def _smallest_area(space, network, preset) -> tuple[float, dict]:
    """Smallest chip area in `space` among designs passing the necessary fit checks for `network`.

    Area grows with every parameter it depends on (docs/cost-model.md: mesh, cores per tile,
    neurons and synapse memory per core, lanes, FIFO depth, link width) and does not depend on
    voltage or mapping, so the lanes/FIFO/link minima are taken on their own.
    """
    import trueasync as ta
    from agent.space import WorkloadNeeds, check_design

    needs = WorkloadNeeds.of(network)
    values = {p.name: p.choices for p in space.params}
    bits = [b for b in sorted(values["weight_bits"]) if b >= needs.weight_bits]
    if not bits:
        return math.inf, {}
    best, best_d = math.inf, {}
    for mw, mh, cpt, npc, mem in itertools.product(values["mesh_width"], values["mesh_height"],
                                                   values["cores_per_tile"], values["neurons_per_core"],
                                                   values["synapse_memory_kib"]):
        arch = Architecture(mesh_width=mw, mesh_height=mh, cores_per_tile=cpt, neurons_per_core=npc,
                            synapse_memory_kib=mem, weight_bits=bits[0], synapse_lanes=min(values["synapse_lanes"]),
                            fifo_depth=min(values["fifo_depth"]), link_width_bits=min(values["link_width_bits"]),
                            mapping="packed")
        if check_design(arch, needs):
            continue
        area = ta.area_and_static_power(arch, preset)[0]
        if area < best:
            best, best_d = area, asdict(arch)
    return best, best_d


# -- 0. data -------------------------------------------------------------------------------------


def prepare_data(run: Run, pre: Optional[Preflight]) -> dict:
    """Load the splits (or check they are the ones this run started with) and record them."""
    stored = run.done("data")
    data = pre.data if pre is not None else run.trainer.load_data(run.s)
    if stored is not None:
        if stored["fingerprint"] != data.fingerprint:
            from runstore import RunStoreError

            raise RunStoreError(f"the {data.name} data differ from the data this run started with (SHA-256 "
                                f"{data.fingerprint[:12]}... instead of {stored['fingerprint'][:12]}...): "
                                "resume it with the same dataset files")
        with run.store.transaction("data"):
            pass  # the time spent loading and checking the data
        return stored
    extra = (0.0, 0.0) if pre is None else (pre.wall_s, pre.cpu_s)  # else the store's clock counts it
    if pre is None:
        pre = preflight(run.s, run.trainer)
    payload = {"dataset": data.name, "in_shape": list(data.in_shape), "n_classes": data.n_classes,
               "n_fit": data.n_fit, "n_val": data.n_val, "n_test": data.n_test, "n_calib": data.n_calib,
               "snn_space": data.snn_space, "fingerprint": data.fingerprint,
               "smallest_area_mm2": pre.smallest_area_mm2, "smallest_area_design": pre.smallest_area_design}
    with run.store.transaction("data", *extra) as tx:
        tx.put_step("data", payload)
    return payload


# -- 1. supernet -----------------------------------------------------------------------------------


def train_supernet(run: Run, data: DataInfo) -> dict:
    s = run.s
    steps = s.supernet_steps
    run.start_phase("supernet", 1, TOTAL_PHASES,
                    f"supernet, {steps} sandwich steps ({steps / data.steps_per_epoch:.2f} epochs)")
    run.trainer.new_supernet(s.seed)
    metrics = run.train("supernet", "supernet", steps, "supernet", lambda resume, every, on_ck, stop: (
        run.trainer.train_supernet(steps, lr=s.lr, batch_size=s.batch_size, seed=s.seed, resume=resume,
                                   every=every, on_checkpoint=on_ck, should_stop=stop)))
    return {**metrics, "lr": s.lr, "batch_size": s.batch_size}


# -- 2. candidates ---------------------------------------------------------------------------------


def _configs(run: Run, data: DataInfo, n: int) -> list[tuple[dict, int]]:
    """`n` distinct (sub-network, bits) pairs: the supernet's largest (at the widest bits) and
    smallest (at the narrowest) sub-networks, which the sandwich rule trains at every step, then
    draws with random.Random(seed)."""
    from trainer.supernet import SearchSpace

    space = SearchSpace.from_dict(data.snn_space)
    bits = run.s.bits
    rng = random.Random(run.s.seed)
    ends = [(space.largest(), max(bits)), (space.smallest(), min(bits))]
    out, seen = [], set()
    for k in range(200 * n):
        if k < len(ends):
            cfg, b = ends[k]
        else:
            cfg = space.sample(rng)
            b = bits[0] if len(bits) == 1 else rng.choice(bits)
        key = (cfg.ops, tuple(0 if o == "skip" else w for o, w in zip(cfg.ops, cfg.widths)), cfg.timesteps,
               cfg.tau, b)
        if key in seen:
            continue
        seen.add(key)
        out.append((cfg.to_dict(), b))
        if len(out) == n:
            return out
    raise ValueError(f"the SNN search space has only {len(out)} distinct sub-networks; "
                     f"ask for --screen / --candidates {len(out)} or fewer")


def screen(run: Run, data: DataInfo) -> list[dict]:
    """Draw `--screen` sub-networks, score each with inherited weights (validation accuracy and the
    float model's synaptic operations per sample; no simulation) and select the K candidates:
    the non-dominated ones in (accuracy up, synaptic operations down), spread along that front
    when there are more than K (its most accurate and its cheapest end always), topped up by
    accuracy when there are fewer."""
    stored = run.done("screen")
    if stored is not None:
        return stored["screened"]
    rows = []
    for i, (cfg, bits) in enumerate(_configs(run, data, run.s.screened)):
        run.check_cancel()
        inh = run.trainer.inherit("screen", cfg)
        rows.append({"index": i, "config": cfg, "bits": bits, "inherited_val_accuracy": inh.accuracy,
                     "synaptic_ops_estimate": inh.synaptic_ops, "selected": False})
    K = run.s.candidates
    pts = np.array([[-r["inherited_val_accuracy"], r["synaptic_ops_estimate"]] for r in rows])
    front = sorted(np.flatnonzero(nondominated_mask(pts)), key=lambda i: (pts[i, 0], pts[i, 1], i))
    if len(front) > K:
        picks = [front[int(round(j))] for j in np.linspace(0, len(front) - 1, K)]
    else:
        rest = sorted(set(range(len(rows))) - set(front), key=lambda i: (pts[i, 0], pts[i, 1], i))
        picks = list(front) + rest[: K - len(front)]
    for i in picks:
        rows[i]["selected"] = True
    return run.commit("screen", {"screened": rows}, "candidates")["screened"]


def _candidate(run: Run, name: str, config: dict, bits: int) -> Candidate:
    """Inherited weights, validation accuracy, folded model (checkpointed), calibration export."""
    step = f"candidate/{name}"
    stored = run.done(step)
    if stored is not None:
        cand = Candidate.from_json(stored)
        run.trainer.load_state(name, run.read_file(cand.model_checkpoint, cand.model_sha256))
        return cand
    inh = run.trainer.inherit(name, config)
    rel = f"checkpoints/{name}-inherited.pt"
    sha = run.write_file(rel, run.trainer.state(name))
    ex = run.trainer.export(name, bits, "calibration")
    cand = Candidate(name, config, bits, inh.accuracy, inh.spikes_per_layer, int(ex.network.n_neurons),
                     [layer.name for layer in ex.network.layers], int(config["timesteps"]), rel, sha)
    run.commit(step, cand.to_json())
    return cand


def sample_candidates(run: Run, data: DataInfo) -> list[Candidate]:
    run.start_phase("candidates", 2, TOTAL_PHASES,
                    f"{run.s.candidates} candidates screened from {run.s.screened} sub-networks with inherited weights, "
                    f"calibration batch of {data.n_calib} samples")
    run.screened = screen(run, data)
    pairs = [(r["config"], r["bits"]) for r in run.screened if r["selected"]]
    cands = []
    for i, (cfg, bits) in enumerate(pairs):
        run.check_cancel()
        c = _candidate(run, f"c{i + 1}", cfg, bits)
        cands.append(c)
        run.log(f"  {c.name} {c.config_text} {c.bits}-bit: {c.n_neurons} neurons, inherited validation "
                f"accuracy {c.inherited_val_accuracy:.3f}")
    return cands


def reference_candidate(run: Run, data: DataInfo, cands: list[Candidate]) -> Candidate:
    """Baseline (a)'s network: the supernet's largest sub-network at the widest of the run's bits.
    When a candidate is that network, baseline (a) shares its model and fine-tuning (the same
    computation)."""
    import dataclasses

    from trainer.supernet import SearchSpace

    cfg, bits = SearchSpace.from_dict(data.snn_space).largest().to_dict(), max(run.s.bits)
    for c in cands:
        if c.config == cfg and c.bits == bits:
            return dataclasses.replace(c, search=None, status="reference", reason="", finetune=None, points=[])
    return _candidate(run, REFERENCE, cfg, bits)


# -- 3. hardware search ----------------------------------------------------------------------------


def _area_fn(arch, preset) -> float:
    from trueasync.api import area_and_static_power

    return float(area_and_static_power(arch, preset)[0])


def _policy_bytes(weights: dict) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(weights, buf)
    return buf.getvalue()


def make_evaluator(s: ExploreSettings, cand: Candidate, exported: Exported, budget: int, simulate):
    """The evaluator of `cand`'s search: its calibration workload, the space at its bits."""
    from agent.evaluator import Evaluator

    return Evaluator(SimpleNamespace(network=exported.network, inputs=exported.inputs), hardware_space(cand.bits),
                     targets=s.targets, preset=s.preset, semantics=SEMANTICS, threads=s.sim_threads, budget=budget,
                     simulate=simulate, use_ray=False, name=f"{cand.name} {cand.config_text}", area=_area_fn)


def search_options(s: ExploreSettings, carry=None) -> dict:
    """`agent.search.run_search` keywords for the run's algorithm and warm start."""
    kw: dict = {}
    if s.algo == "rl":
        from coexplore.settings import policy_status

        if s.warm_start == "none" or not policy_status()[0]:
            kw["checkpoint"] = None
        if carry is not None:
            kw["carry"] = carry
    return kw


def warm_start_carry(s: ExploreSettings):
    """What the run's RL searches hand from candidate to candidate (`--warm-start`), or None."""
    if s.algo != "rl" or s.warm_start not in ("policy", "critic"):
        return None
    from agent.rl import PolicyCarry

    return PolicyCarry(keep_weights=s.warm_start == "policy", keep_critic=s.warm_start == "critic")


def search_one(run: Run, cand: Candidate, exported: Exported, *, flow: str, step: str, budget: int,
               carry=None) -> SearchOutcome:
    """One hardware search for `cand` on its calibration workload, every simulation in the store."""
    stored = run.done(step)
    if stored is not None:
        outcome = SearchOutcome.from_json(stored["search"])
        if carry is not None:  # what this search handed on, as it did the first time
            if carry.keep_weights and outcome.policy_checkpoint:
                import torch

                data = run.read_file(outcome.policy_checkpoint, outcome.policy_sha256)
                carry.weights = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            if carry.keep_critic:
                carry.add_designs(outcome.archive)
        return outcome
    from agent.search import run_search

    s = run.s
    ev = make_evaluator(s, cand, exported, budget, run.sim)
    kw = search_options(s, carry)

    def tick(e) -> None:
        run.check_cancel()
        best = e.archive.best_edp(meeting_targets=True)
        run.emit(SearchEvent(flow, cand.name, e.n_simulated, budget, best.edp_js if best else None,
                             e.archive.hypervolume()))

    run.emit(SearchEvent(flow, cand.name, 0, budget, None, 0.0))  # the bar starts with the search
    figs = run_search(s.algo, ev, seed=s.seed, progress=tick, **kw)
    outcome = SearchOutcome(s.algo, budget, untimed({k: v for k, v in figs.items() if k != "trace"}),
                            ev.reference(), [float(v) for v in ev.spike_rates()], list(ev.archive.records))
    outcome.figures["trace"] = [[n, best] for n, _, best in figs["trace"]]
    if carry is not None and carry.keep_weights and carry.weights is not None:
        outcome.policy_checkpoint = f"checkpoints/policy-after-{step.replace('/', '-')}.pt"
        outcome.policy_sha256 = run.write_file(outcome.policy_checkpoint, _policy_bytes(carry.weights))
    ev.archive.save(run.out / "search" / step.split("/", 1)[1])
    run.commit(step, {"search": outcome.to_json(),
                      "timings": {"wall_s": figs["wall_s"], "simulation_s": figs["simulation_s"]}})
    return outcome


def _search_line(name: str, outcome: SearchOutcome, targets_any: bool) -> str:
    best = outcome.figures.get("best")
    front = outcome.front()
    if best:
        return f"  {name}: best EDP {best['edp_snj']:.4g} s*nJ, {len(front)} designs on its front"
    return f"  {name}: " + ("no design met the targets" if targets_any else "no design fit the network")


def search_hardware(run: Run, cands: list[Candidate]) -> None:
    s = run.s
    tg = ", ".join(f"{k} <= {v:g}" for k, v in s.targets.items() if v is not None)
    run.start_phase("coexplore.search", 3, TOTAL_PHASES,
                    f"hardware search per candidate ({s.algo}, {s.budget} simulated designs each, preset "
                    f"{s.preset}{', targets ' + tg if tg else ''}; warm start: {s.warm_start})")
    carry = warm_start_carry(s)
    for c in cands:
        run.check_cancel()
        ex = run.trainer.export(c.name, c.bits, "calibration") if run.done(f"search/{c.name}") is None else None
        c.search = search_one(run, c, ex, flow="coexploration", step=f"search/{c.name}", budget=s.budget,
                              carry=carry)
        run.log(_search_line(c.name, c.search, s.targets.any))


# -- 4. abandonment --------------------------------------------------------------------------------


def abandon(run: Run, cands: list[Candidate]) -> list[Candidate]:
    """Drop candidates no design lets meet the targets, and those dominated in (inherited
    accuracy, energy, latency, area) at every point of their hardware front by other candidates."""
    stored = run.done("abandon")
    if stored is None:
        fronts = {c.name: c.search.front() for c in cands}
        status = {}
        for c in cands:
            if not fronts[c.name]:
                status[c.name] = ("abandoned", "no design met the targets" if run.s.targets.any
                                  else "no design fit the network")
            else:
                status[c.name] = ("survivor", "")
        alive = [c for c in cands if status[c.name][0] == "survivor"]
        vec = {c.name: [np.array([-c.inherited_val_accuracy, *r.objectives()]) for r in fronts[c.name]]
               for c in alive}
        for c in alive:
            by = set()
            for p in vec[c.name]:
                hit = [d.name for d in alive if d is not c and any(dominates(q, p) for q in vec[d.name])]
                if not hit:
                    break
                by.update(hit)
            else:
                status[c.name] = ("abandoned", "dominated in (inherited accuracy, energy, latency, area) by "
                                  + ", ".join(sorted(by)))
        stored = run.commit("abandon", {k: list(v) for k, v in status.items()}, "coexplore.search")
    for c in cands:
        c.status, c.reason = stored[c.name]
        if c.status == "abandoned":
            run.log(f"  abandon {c.name} {c.config_text}: {c.reason}")
    return [c for c in cands if c.status == "survivor"]


# -- 5. fine-tuning --------------------------------------------------------------------------------


def finetune_one(run: Run, cand: Candidate, phase: str) -> tuple[FineTune, np.ndarray, Exported]:
    """QAT of `cand` at its bits (a checkpointed job), then its fixed-point test accuracy.

    Returns the record, the fixed-point output spike counts and the test-split export."""
    s = run.s
    job = f"qat/{cand.name}"
    metrics = run.train(job, phase, s.qat_steps, cand.name, lambda resume, every, on_ck, stop: (
        run.trainer.finetune(cand.name, cand.bits, s.qat_steps, batch_size=s.batch_size, seed=s.seed + 2,
                             resume=resume, every=every, on_checkpoint=on_ck, should_stop=stop)))
    test = run.trainer.export(cand.name, cand.bits, "test")
    step = f"fixed_point/{cand.name}"
    stored = run.done(step)
    if stored is None:
        fp = run.trainer.fixed_point_test(cand.name, cand.bits, test)
        done = run.store.training(job)
        ft = FineTune(job, metrics["steps"], metrics["loss_last"], done["checkpoint"], done["sha256"],
                      fp.accuracy, fp.qat_model_accuracy, fp.qat_model_counts_equal)
        stored = run.commit(step, {"finetune": ft.to_json(), "counts": fp.output_spike_counts.tolist()}, phase)
    counts = np.asarray(stored["counts"], np.int64)
    run.tests[cand.name] = (test, counts)
    return FineTune.from_json(stored["finetune"]), counts, test


def finetune_survivors(run: Run, survivors: list[Candidate]) -> dict:
    s = run.s
    run.start_phase("coexplore.finetune", 4, TOTAL_PHASES,
                    f"QAT fine-tuning of {len(survivors)} survivor(s), each at its chip's weight width, "
                    f"{s.qat_steps} steps each")
    tests = {}
    for c in survivors:
        run.check_cancel()
        c.finetune, counts, test = finetune_one(run, c, "coexplore.finetune")
        tests[c.name] = (test, counts)
        run.log(f"  {c.name}: fixed-point test accuracy {c.finetune.fixed_point_test_accuracy:.3f} "
                f"(inherited, validation: {c.inherited_val_accuracy:.3f})")
    return tests


# -- 6. on-chip evaluation -------------------------------------------------------------------------


def pick_designs(front: list, n: int) -> list:
    """[(record, roles)]: best EDP first, then lowest energy, latency, area (distinct designs)."""
    if not front:
        return []
    choices = [
        ("best_edp", min(front, key=lambda r: (r.edp_js, r.index))),
        ("min_energy", min(front, key=lambda r: (r.energy_j, r.index))),
        ("min_latency", min(front, key=lambda r: (r.latency_s, r.index))),
        ("min_area", min(front, key=lambda r: (r.area_mm2, r.index))),
    ]
    out: list = []
    for role, rec in choices:
        for o in out:
            if o[0] is rec:
                o[1].append(role)
                break
        else:
            if len(out) < n:
                out.append((rec, [role]))
    return out


def simulate_point(run: Run, cand: Candidate, flow: str, test: Exported, fp_counts: np.ndarray, design: dict,
                   roles: list, calibration: Optional[dict]) -> OnChipPoint:
    """Simulate `cand`'s fine-tuned network on the test split on `design` (through the store)."""
    s = run.s
    sim = run.sim(test.network, Architecture(**design), test.inputs, semantics=SEMANTICS, preset=s.preset,
                  threads=s.sim_threads)
    labels = run.data.test_labels
    counts = np.asarray(sim.output_spike_counts)
    e, lat = np.asarray(sim.energy_j, float), np.asarray(sim.latency_s, float)
    figs = {"energy_j": float(e.mean()), "latency_s": float(lat.mean()), "area_mm2": float(sim.area_mm2)}
    viol = s.targets.violations(figs)
    return OnChipPoint(
        flow=flow, candidate=cand.name, config=dict(cand.config), config_text=cand.config_text, bits=cand.bits,
        accuracy=float((np.argmax(counts, axis=1) == labels).mean()),
        fixed_point_accuracy=cand.finetune.fixed_point_test_accuracy,
        counts_equal_fixed_point=bool(np.array_equal(counts, fp_counts)), **figs,
        edp_js=float((e * lat).mean()), edp_snj=float((e * lat).mean() * 1e9),
        energy_breakdown_j={k: float(np.mean(v)) for k, v in sim.energy_breakdown_j.items()},
        spikes_per_sample_per_layer=np.asarray(sim.spikes_per_layer, float).mean(axis=0).tolist(),
        synaptic_ops_per_sample=float(np.mean(sim.counts["synaptic_ops"])), meets_targets=not viol,
        violations=viol, roles=list(roles), design=dict(design), design_text=design_text(design),
        calibration_figures=calibration)


def evaluate_front_designs(run: Run, cand: Candidate, flow: str, step: str, test: Exported,
                           fp_counts: np.ndarray) -> list[OnChipPoint]:
    stored = run.done(step)
    if stored is not None:
        return [OnChipPoint.from_json(p) for p in stored["points"]]
    picks = pick_designs(cand.search.front(), run.s.designs_per_survivor)
    points = []
    for i, (rec, roles) in enumerate(picks):
        run.check_cancel()
        cal = {"energy_j": rec.energy_j, "latency_s": rec.latency_s, "edp_js": rec.edp_js, "area_mm2": rec.area_mm2}
        points.append(simulate_point(run, cand, flow, test, fp_counts, rec.design, roles, cal))
        run.emit(SimulationEvent(flow, i + 1, len(picks)))
    run.commit(step, {"points": [p.to_json() for p in points]})
    for p in points:
        if not p.counts_equal_fixed_point:
            run.log(f"  {cand.name} on {p.design_text}: on-chip output spike counts differ from the fixed-point "
                    "model", "warning")
    return points


def evaluate_on_chip(run: Run, survivors: list[Candidate], tests: dict) -> list[OnChipPoint]:
    run.start_phase("coexplore.onchip", 5, TOTAL_PHASES,
                    f"on-chip simulation of the survivors on {run.data.n_test} held-out samples ({SEMANTICS} "
                    "semantics)")
    points = []
    for c in survivors:
        test, counts = tests[c.name]
        c.points = evaluate_front_designs(run, c, "coexploration", f"onchip/{c.name}", test, counts)
        points += c.points
    return points


# -- 8. the front and the chosen design ------------------------------------------------------------


def pareto_front(points: list[OnChipPoint]) -> list[OnChipPoint]:
    """Non-dominated points meeting the targets in (accuracy max; energy, latency, EDP, area min),
    most accurate first."""
    pool = [p for p in points if p.meets_targets]
    if not pool:
        return []
    mask = nondominated_mask(np.array([p.objectives() for p in pool]))
    front = [p for p, m in zip(pool, mask) if m]
    return sorted(front, key=lambda p: (-p.accuracy, p.edp_js))


def choose(points: list[OnChipPoint], accuracy_floor: Optional[float]) -> Optional[OnChipPoint]:
    """The lowest-EDP point at least as accurate as `accuracy_floor` (baseline (a)), else the most
    accurate point (lowest EDP among equals)."""
    if not points:
        return None
    if accuracy_floor is not None:
        ok = [p for p in points if p.accuracy >= accuracy_floor]
        if ok:
            return min(ok, key=lambda p: (p.edp_js, -p.accuracy))
    return min(points, key=lambda p: (-p.accuracy, p.edp_js))
