"""The two baselines measured in the same run, on the same test split, preset and bits.

(a) `reference`: a fixed network on a fixed chip, chosen without search the way a user would:
    the supernet's largest sub-network (inherited weights, the same QAT as every survivor) on the
    smallest square mesh of the template's default core (`trueasync.Architecture()`: one core
    per tile, 1024 neurons and 1024 KiB per core, one lane, FIFO 8, 32-bit links, packed
    mapping) that holds it, at the preset's nominal voltage, with the network's weight width.
(b) `sequential`: the network trained alone first, then one hardware search for it. The
    candidate with the best inherited validation accuracy (ties: the first drawn) gets the same
    QAT as a survivor, its fine-tuned network's calibration batch is searched with the same
    algorithm and the co-exploration's searches' budget together (candidates x budget), and
    its hardware front is simulated on the test split like a survivor's.
"""

from __future__ import annotations

import dataclasses

from trueasync.model import Architecture

from coexplore.context import Run
from coexplore.phases import (
    TOTAL_PHASES,
    choose,
    evaluate_front_designs,
    finetune_one,
    pareto_front,
    search_one,
    simulate_point,
)
from coexplore.records import Baseline, Candidate, OnChipPoint

REFERENCE_TEXT = ("the supernet's largest sub-network on the smallest square mesh of the template's default "
                  "core that holds it, at nominal voltage")
SEQUENTIAL_TEXT = ("the best inherited-accuracy candidate fine-tuned alone first, then one hardware search for "
                   "it with the co-exploration's whole simulation budget")


def reference_chip(network, bits: int) -> Architecture:
    """The smallest k x k mesh of the default core that holds `network` at `bits` weight bits."""
    import trueasync as ta
    from agent.space import WorkloadNeeds, check_design

    needs = WorkloadNeeds.of(network)
    for k in range(1, 257):
        arch = dataclasses.replace(Architecture(), mesh_width=k, mesh_height=k, weight_bits=int(bits))
        if check_design(arch, needs):
            continue
        try:
            ta.map_network(network, arch)
        except ValueError:
            continue
        return arch
    raise ValueError(f"no square mesh of the default core up to 256 x 256 holds {network.name}")


def baseline_reference(run: Run, ref: Candidate) -> Baseline:
    run.start_phase("baseline.reference", 6, TOTAL_PHASES,
                    f"baseline (a): {ref.config_text} {ref.bits}-bit on the reference chip")
    ref.finetune, counts, test = finetune_one(run, ref, "baseline.reference")
    stored = run.done("onchip/reference")
    if stored is not None:
        point = OnChipPoint.from_json(stored["points"][0])
    else:
        arch = reference_chip(test.network, ref.bits)
        point = simulate_point(run, ref, "reference", test, counts, dataclasses.asdict(arch), ["reference_chip"],
                               None)
        run.commit("onchip/reference", {"points": [point.to_json()]})
    ref.points = [point]
    run.log(f"  reference: accuracy {point.accuracy:.3f}, EDP {point.edp_snj:.4g} s*nJ on {point.design_text}")
    return Baseline("reference", REFERENCE_TEXT, ref, [point], point)


def sequential_candidate(cands: list[Candidate]) -> Candidate:
    best = max(enumerate(cands), key=lambda ic: (ic[1].inherited_val_accuracy, -ic[0]))[1]
    return dataclasses.replace(best, search=None, status="sequential", reason="", finetune=None, points=[])


def baseline_sequential(run: Run, cands: list[Candidate], accuracy_floor) -> Baseline:
    s = run.s
    seq = sequential_candidate(cands)
    run.start_phase("sequential.finetune", 6, TOTAL_PHASES,
                    f"baseline (b), sequential: {seq.name} {seq.config_text} trained alone, then one search of "
                    f"{s.sequential_budget} simulated designs")
    seq.finetune, counts, test = finetune_one(run, seq, "sequential.finetune")
    run.phase = "sequential.search"
    step = "search/sequential"
    ex = run.trainer.export(seq.name, seq.bits, "calibration") if run.done(step) is None else None
    seq.search = search_one(run, seq, ex, flow="sequential", step=step, budget=s.sequential_budget)
    run.phase = "sequential.onchip"
    seq.points = evaluate_front_designs(run, seq, "sequential", "onchip/sequential", test, counts)
    chosen = choose(pareto_front(seq.points), accuracy_floor)
    if chosen is not None:
        run.log(f"  sequential: {len(seq.points)} designs on the test split; chosen: accuracy {chosen.accuracy:.3f}, "
                f"EDP {chosen.edp_snj:.4g} s*nJ")
    return Baseline("sequential", SEQUENTIAL_TEXT, seq, seq.points, chosen)
