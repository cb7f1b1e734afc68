r"""`ancoef explore`: co-exploration of spiking networks and asynchronous chips (the main job).

    ancoef explore --out runs/explore                       # embedded digits-dvs, a few minutes
    ancoef explore --candidates 4 --budget 48 --algo nsga2 --bits 4 --max-latency-s 1e-3 \
        --minutes 3 --seed 0 --out runs/explore --json runs/explore.json

The loop (DESIGN.md section 4, "Co-exploration"; docs/explore.md):

1. train the weight-sharing supernet briefly (sandwich rule) on the training split minus a
   validation part;
2. sample K distinct candidate sub-networks (deterministic with --seed), evaluate each with
   inherited weights on the validation part, fold it, export it with a calibration batch of input
   spikes as a TrueAsync workload and measure its spike activity on the simulated chip;
3. search the hardware space for each candidate (--algo, --budget simulated designs each) under
   the targets;
4. abandon the candidates that no design lets meet the targets, and those dominated in
   (inherited accuracy, energy, latency, area) by another candidate, before training them more;
5. fine-tune the survivors quantisation-aware to --bits weight bits;
6. simulate each survivor on the held-out test split with its best hardware (and the other ends
   of its hardware front), check the on-chip output spike counts against the trainer's
   fixed-point model, and report the Pareto front of (accuracy, energy, latency, EDP, area).

Writes to --out: summary.json, summary.md, pareto.png, energy_breakdown.png, the survivors'
workloads (survivors/<name>/workload.json + .npz: the fine-tuned network, the test split's
input spikes, the best design and its mapping) and every search archive (search/<name>/).
Exit status 0; 1 when no candidate meets the targets (the closest ones are reported); 2 for bad
options, before any work.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

from agent.search import METHODS
from services.options import positive_float

ALGOS = METHODS
SEMANTICS = "timestep"

# Training budget per `--minutes` (steps, not seconds, so that a seed gives the same numbers on
# every run). Calibrated on a 2-core laptop CPU with nothing else running: a sandwich step (3
# sub-networks, batch 32) of the default space on digits-dvs takes ~0.05 s, a QAT step of one
# sub-network 0.005-0.02 s (torch on one thread).
SUPERNET_SHARE = 0.75
SUPERNET_STEPS_PER_MINUTE = 1000
QAT_STEPS_PER_MINUTE = 3000
DEFAULT_MINUTES = 2.5
VAL_FRACTION = 0.15
MAX_VAL = 200
ROLES = ("best_edp", "min_energy", "min_latency", "min_area")
TIMING_KEYS = {"sim_wall_s", "t_s", "wall_s", "simulation_s"}


# -- options ---------------------------------------------------------------------------------------


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explore",
        help="co-explore SNN architectures and chips (the main job)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", default="digits-dvs", help="dataset (default: the embedded digits-dvs)")
    p.add_argument("--data-root", default=None, help="dataset folder (not needed for digits-dvs)")
    p.add_argument("--out", type=Path, default=Path("ancoef-explore"), help="output directory")
    p.add_argument("--seed", type=_int, default=0)
    p.add_argument("--candidates", type=_int, default=4, metavar="K",
                   help="candidate sub-networks sampled from the supernet (default 4)")
    p.add_argument("--budget", type=_int, default=48, metavar="N",
                   help="simulated hardware designs per candidate (default 48)")
    p.add_argument("--algo", default=None,
                   help="hardware search: rl (warm-started PPO), nsga2, tpe or random (default: rl when "
                   "the pre-trained policy is installed, else nsga2)")
    p.add_argument("--bits", type=_int, default=4, metavar="B", help="weight bits, 2..8 (default 4)")
    p.add_argument("--max-energy-j", type=positive_float, help="target: energy per sample (J)")
    p.add_argument("--max-latency-s", type=positive_float, help="target: latency per sample (s)")
    p.add_argument("--max-area-mm2", type=positive_float, help="target: chip area (mm^2)")
    p.add_argument("--minutes", type=positive_float, default=DEFAULT_MINUTES,
                   help=f"training budget in laptop minutes (default {DEFAULT_MINUTES:g}; scales the "
                   "supernet and fine-tuning steps; the run takes longer: searches, simulations)")
    p.add_argument("--json", type=Path, help="also write the summary JSON here")
    g = p.add_argument_group("smaller runs and tuning")
    g.add_argument("--limit", type=_int, default=None, help="at most N training samples (balanced)")
    g.add_argument("--test-limit", type=_int, default=None, help="at most N held-out test samples")
    g.add_argument("--calib-samples", type=_int, default=16,
                   help="calibration batch: samples simulated per hardware design in the search (default 16)")
    g.add_argument("--designs-per-survivor", type=_int, default=4,
                   help="designs of each survivor's hardware front simulated on the test split: best EDP, "
                   "then lowest energy, latency, area (default 4)")
    g.add_argument("--downsample", type=_int, default=1, help="spatial pooling of the input frames (default 1)")
    g.add_argument("--batch-size", type=_int, default=32)
    g.add_argument("--lr", type=positive_float, default=3e-3, help="supernet learning rate (default 3e-3)")
    g.add_argument("--preset", default=None, help="cost preset (default async28 if available, else loihi)")
    g.add_argument("--threads", type=_int, default=None,
                   help="torch threads (default 1) and simulator threads (default: all cores)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _policy_status() -> tuple[bool, str]:
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


def validate(args) -> dict:
    """Every check that can fail before any work; returns the resolved settings."""
    from agent.evaluator import Targets
    from agent.workloads import default_preset, laptop_space

    algo_note = ""
    if args.algo is None:
        ok, why = _policy_status()
        algo = "rl" if ok else "nsga2"
        if not ok:
            algo_note = f"nsga2 (default rl needs the pre-trained policy: {why})"
    else:
        algo = str(args.algo).lower()
        if algo not in ALGOS:
            raise ValueError(f"unknown --algo {args.algo!r}; choose one of {', '.join(ALGOS)}")
        if algo == "rl":
            ok, why = _policy_status()
            if not ok:
                algo_note = f"rl from scratch ({why})"
    if args.budget is None or args.budget < 1:
        raise ValueError(f"--budget must be at least 1 simulated design per candidate, got {args.budget}")
    if args.candidates is None or args.candidates < 1:
        raise ValueError(f"--candidates must be at least 1, got {args.candidates}")
    if not 2 <= args.bits <= 8:
        raise ValueError(f"--bits must be between 2 and 8, got {args.bits}")
    for name in ("limit", "test_limit", "calib_samples", "designs_per_survivor", "downsample",
                 "batch_size", "threads"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
    if args.limit is not None and args.limit < 20:
        raise ValueError(f"--limit must be at least 20 training samples (some are held out for "
                         f"validation), got {args.limit}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    targets = Targets(args.max_energy_j, args.max_latency_s, args.max_area_mm2)
    preset = args.preset or default_preset()
    import trueasync as ta

    if preset not in ta.preset_names() and not Path(preset).is_file():
        raise ValueError(f"unknown --preset {preset!r}; choose one of {', '.join(ta.preset_names())} "
                         "or give a preset JSON file")
    from trainer.datasets import canonical_name

    canonical_name(args.dataset)  # DatasetError (a ValueError) for an unknown name
    return {"algo": algo, "algo_note": algo_note, "targets": targets, "preset": preset,
            "hw_space": laptop_space()}


def _smallest_area(space, needs, preset) -> tuple[float, dict]:
    """Smallest chip area in `space` among designs passing the necessary fit checks for `needs`.

    Area grows with every parameter it depends on (docs/cost-model.md: mesh, cores per tile,
    neurons and synapse memory per core, lanes, FIFO depth, link width) and does not depend on
    voltage, mapping or weight bits, so the lanes/FIFO/link minima are taken on their own.
    """
    import itertools

    import trueasync as ta
    from agent.space import check_design

    values = {p.name: p.choices for p in space.params}
    bits = [b for b in sorted(values["weight_bits"]) if b >= needs.weight_bits]
    if not bits:
        return math.inf, {}
    best, best_d = math.inf, {}
    for mw, mh, cpt, npc, mem in itertools.product(values["mesh_width"], values["mesh_height"],
                                                   values["cores_per_tile"], values["neurons_per_core"],
                                                   values["synapse_memory_kib"]):
        arch = ta.Architecture(mesh_width=mw, mesh_height=mh, cores_per_tile=cpt, neurons_per_core=npc,
                               synapse_memory_kib=mem, weight_bits=bits[0],
                               synapse_lanes=min(values["synapse_lanes"]),
                               fifo_depth=min(values["fifo_depth"]),
                               link_width_bits=min(values["link_width_bits"]), mapping="packed")
        if check_design(arch, needs):
            continue
        area = ta.area_and_static_power(arch, preset)[0]
        if area < best:
            best, best_d = area, asdict(arch)
    return best, best_d


# -- helpers ---------------------------------------------------------------------------------------


def _phase(msg: str) -> None:
    print(f"[explore] {msg}", file=sys.stderr, flush=True)


def config_text(cfg) -> str:
    ops = "/".join("skip" if o == "skip" else f"{o}:{w}" for o, w in zip(cfg.ops, cfg.widths))
    return f"{ops} T{cfg.timesteps} tau{cfg.tau:g}"


def design_text(d: dict) -> str:
    v = "nom" if d.get("voltage_v") is None else f"{d['voltage_v']:.2f}V"
    return (f"{d['mesh_width']}x{d['mesh_height']}x{d['cores_per_tile']} cores, {d['neurons_per_core']} n/core, "
            f"{d['synapse_memory_kib']} KiB, w{d['weight_bits']}, {d['synapse_lanes']} lanes, "
            f"fifo {d['fifo_depth']}, link {d['link_width_bits']}b, {v}, {d['mapping']}")


def _clean(d):
    """JSON-ready copy without wall-clock fields (they go to `timings`)."""
    import numpy as np

    if isinstance(d, dict):
        return {k: _clean(v) for k, v in d.items() if k not in TIMING_KEYS}
    if isinstance(d, (list, tuple)):
        return [_clean(v) for v in d]
    if isinstance(d, np.generic):
        d = d.item()
    if isinstance(d, np.ndarray):
        return _clean(d.tolist())
    if isinstance(d, float) and not math.isfinite(d):
        return None
    return d


def pareto_mask(points, maximise) -> list[bool]:
    """Non-dominated flags of `points` (rows); `maximise[j]` says objective j is maximised."""
    import numpy as np

    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        return []
    sign = np.where(np.asarray(maximise, bool), -1.0, 1.0)
    p = pts * sign  # all minimised
    keep = []
    for i in range(p.shape[0]):
        le = np.all(p <= p[i], axis=1)
        lt = np.any(p < p[i], axis=1)
        keep.append(not bool(np.any(le & lt)))
    return keep


FRONT_KEYS = ("accuracy", "energy_j", "latency_s", "edp_js", "area_mm2")
FRONT_MAX = (True, False, False, False, False)


def _search(algo, ev, seed, progress_bar, checkpoint_ok):
    """run_search, except that RL without a usable policy runs from scratch."""
    from agent.search import run_search

    scratch = {"checkpoint": None} if algo == "rl" and not checkpoint_ok else {}
    return run_search(algo, ev, seed=seed, progress=progress_bar, **scratch)


# -- the job ---------------------------------------------------------------------------------------


def run(args) -> int:
    settings = validate(args)
    import torch

    prev_threads = torch.get_num_threads()
    try:
        return _explore(args, settings)
    finally:
        torch.set_num_threads(prev_threads)


def _explore(args, settings) -> int:
    t_start = time.perf_counter()
    import numpy as np
    import torch

    import trueasync as ta
    from agent.evaluator import Evaluator
    from agent.space import WorkloadNeeds
    from trainer import fixedpoint
    from trainer.datasets import load_frames
    from trainer.datasets.splits import stratified_split
    from trainer.export import default_architecture, export_inputs, export_network
    from trainer.folded import fold_subnet
    from trainer.supernet import SuperNet, default_space
    from trainer.train import evaluate_subnet, finetune, folded_accuracy, set_seed, train_supernet
    from trueasync.workload import Workload, save_workload

    algo, targets, preset, hw_space = (settings["algo"], settings["targets"], settings["preset"],
                                       settings["hw_space"])
    progress = not args.no_progress
    out = Path(args.out)
    K, bits = int(args.candidates), int(args.bits)
    timings: dict = {}
    # one torch thread by default: these networks are small, and two OpenMP threads sharing a
    # 2-core laptop with any other busy process made training steps 20-50x slower in our runs
    threads = args.threads or 1
    set_seed(args.seed, threads)

    # -- 0. data ---------------------------------------------------------------------------------
    t0 = time.perf_counter()
    T_data = 8
    train = load_frames(args.dataset, args.data_root, "train", T_data, limit=args.limit,
                        downsample=args.downsample)
    test = load_frames(args.dataset, args.data_root, "test", T_data, limit=args.test_limit,
                       downsample=args.downsample)
    in_shape = tuple(int(v) for v in train.frames.shape[2:])
    space = default_space(in_shape)
    for t in space.timesteps:
        if T_data % t:
            raise ValueError(f"timesteps choice {t} does not divide the {T_data} data frames")
    n_val = min(MAX_VAL, max(10, int(round(VAL_FRACTION * len(train.labels)))))
    fit_idx, val_idx = stratified_split(train.labels, n_val, seed=args.seed)
    fit_x, fit_y = train.frames[fit_idx], train.labels[fit_idx]
    val_x, val_y = train.frames[val_idx], train.labels[val_idx]
    calib_x = val_x[: args.calib_samples]
    test_y = np.asarray(test.labels)

    # targets no design of the space can meet, whatever candidate: refuse before training
    probe = SuperNet(in_shape, train.n_classes, space)
    with torch.no_grad():
        small_net, _ = export_network(fold_subnet(probe, space.smallest()), bits)
    min_area, min_area_design = _smallest_area(hw_space, WorkloadNeeds.of(small_net), preset)
    del probe
    if not math.isfinite(min_area):
        raise ValueError("no design of the hardware space can hold even the smallest sub-network")
    if targets.max_area_mm2 is not None and targets.max_area_mm2 < min_area:
        raise ValueError(
            f"--max-area-mm2 {targets.max_area_mm2:g} is impossible: the smallest chip of the hardware "
            f"space that can hold the smallest sub-network has {min_area:.4g} mm^2 ({design_text(min_area_design)})")
    timings["data_s"] = time.perf_counter() - t0
    _phase(f"{train.name}: {len(fit_y)} training, {len(val_y)} validation, {len(test_y)} held-out test samples, "
           f"frames {in_shape} (C,H,W), {train.n_classes} classes")
    if settings["algo_note"]:
        _phase(f"hardware search: {settings['algo_note']}")

    # -- 1. supernet -----------------------------------------------------------------------------
    t0 = time.perf_counter()
    n_fit = len(fit_y)
    spe = max(1, -(-n_fit // args.batch_size))
    s_steps = max(1, int(round(args.minutes * SUPERNET_SHARE * SUPERNET_STEPS_PER_MINUTE)))
    q_steps = max(1, int(round(args.minutes * (1 - SUPERNET_SHARE) * QAT_STEPS_PER_MINUTE / K)))
    _phase(f"phase 1/5: supernet, {s_steps} sandwich steps ({s_steps / spe:.2f} epochs)")
    supernet = SuperNet(in_shape, train.n_classes, space)
    slog = train_supernet(supernet, fit_x, fit_y, sampler="sandwich", epochs=s_steps / spe,
                          max_steps=s_steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          progress=progress)
    timings["supernet_s"] = time.perf_counter() - t0
    supernet_info = {"steps": slog.steps, "epochs": slog.epochs,
                     "loss_last": float(np.mean(slog.losses[-10:])) if slog.losses else None,
                     "lr": args.lr, "batch_size": args.batch_size}

    # -- 2. candidates: inherited weights, fold, export, calibration ------------------------------
    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    configs, seen = [], set()
    for _ in range(200 * K):
        cfg = space.sample(rng)
        key = (tuple("skip" if o == "skip" else o for o in cfg.ops),
               tuple(0 if o == "skip" else w for o, w in zip(cfg.ops, cfg.widths)), cfg.timesteps, cfg.tau)
        if key in seen:
            continue
        seen.add(key)
        configs.append(cfg)
        if len(configs) == K:
            break
    if len(configs) < K:
        raise ValueError(f"the SNN search space has only {len(configs)} distinct sub-networks; "
                         f"ask for --candidates {len(configs)} or fewer")
    _phase(f"phase 2/5: {K} candidates, inherited weights, calibration batch of {len(calib_x)} samples")
    cands = []
    for i, cfg in enumerate(configs):
        name = f"c{i + 1}"
        ev_sub = evaluate_subnet(supernet, cfg, val_x, val_y, calib_frames=fit_x)
        folded = fold_subnet(supernet, cfg)  # uses the norms just recalibrated for cfg
        network, meta = export_network(folded, bits, name=f"{train.name}-{name}")
        inputs = export_inputs(calib_x, cfg.timesteps)
        wl = Workload(network, default_architecture(network), ta.load_preset(preset), None, inputs,
                      {**meta, "kind": "calibration", "config": cfg.to_dict()})
        cands.append({"name": name, "cfg": cfg, "folded": folded, "workload": wl,
                      "inherited_val_accuracy": ev_sub["accuracy"],
                      "spikes_per_layer_float": ev_sub["spikes_per_layer_mean"]})
        _phase(f"  {name} {config_text(cfg)}: {network.n_neurons} neurons, inherited validation "
               f"accuracy {ev_sub['accuracy']:.3f}")
    timings["candidates_s"] = time.perf_counter() - t0

    # -- 3. hardware search per candidate ----------------------------------------------------------
    t0 = time.perf_counter()
    policy_ok = _policy_status()[0] if algo == "rl" else False
    if algo == "rl":
        from agent.rl import ensure_ray

        ensure_ray()
    _phase(f"phase 3/5: hardware search per candidate ({algo}, {args.budget} simulated designs each, "
           f"preset {preset}{', targets ' + _targets_text(targets) if targets.any else ''})")
    search_s = {}
    for c in cands:
        ts = time.perf_counter()
        ev = Evaluator(c["workload"], hw_space, targets=targets, preset=preset, semantics=SEMANTICS,
                       threads=args.threads, budget=args.budget,
                       name=f"{c['name']} {config_text(c['cfg'])}")
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=args.budget, unit="sim", desc=f"search {c['name']} ({algo})", file=sys.stderr,
                       leave=False)

        def tick(e, bar=bar):
            if bar is None:
                return
            bar.n = e.n_simulated
            best = e.archive.best_edp(meeting_targets=True)
            bar.set_postfix(best_edp_snj=f"{best.edp_js * 1e9:.4g}" if best else "-", refresh=False)
            bar.refresh()

        try:
            figs = _search(algo, ev, args.seed, tick, policy_ok)
        finally:
            if bar is not None:
                bar.close()
            torch.set_num_threads(threads)  # the RL driver limits torch to one thread
        ev.archive.save(out / "search" / c["name"])
        ref = ev.reference()
        steps = c["workload"].inputs.shape[1]
        c["calibration"] = {
            "samples": int(c["workload"].inputs.shape[0]),
            "reference_design": _clean(ref.to_dict()),
            "spikes_per_sample_per_layer": _clean(ref.spikes_per_layer),
            "spike_rate_per_layer": _clean(ev.spike_rates()),
            "layers": [l.name for l in c["workload"].network.layers],
            "timesteps": int(steps),
        }
        front = ev.archive.front(meeting_targets=True)
        c["hw_front"] = front
        c["search"] = _clean({k: figs[k] for k in ("method", "budget", "simulated", "rejected_without_simulation",
                                                  "proposals", "hypervolume", "hypervolume_meeting_targets",
                                                  "front_size", "best_edp_js", "best_edp_snj", "met_targets")})
        c["search"]["front_meeting_targets"] = len(front)
        c["search"]["best"] = _clean(figs["best"]) if figs["best"] else None
        c["search"]["closest_to_targets"] = _clean(figs["closest_to_targets"])
        c["search"]["archive"] = str(out / "search" / c["name"] / "archive.json")
        search_s[c["name"]] = {"wall_s": figs["wall_s"], "simulation_s": figs["simulation_s"],
                               "total_s": time.perf_counter() - ts}
        best = figs["best"]
        _phase(f"  {c['name']}: " + (f"best EDP {best['edp_snj']:.4g} s*nJ, {len(front)} designs on its front"
                                     if best else "no design met the targets" if targets.any else
                                     "no design fit the network"))
    timings["search_s"] = time.perf_counter() - t0
    timings["search_per_candidate"] = search_s

    # -- 4. abandon candidates that cannot meet the targets or are dominated ------------------------
    for c in cands:
        c["status"], c["reason"] = "survivor", ""
        if not c["hw_front"]:
            c["status"] = "abandoned"
            c["reason"] = ("no design met the targets" if targets.any else "no design fit the network")
    pts = [(c, r) for c in cands if c["status"] == "survivor" for r in c["hw_front"]]
    for c in cands:
        if c["status"] != "survivor":
            continue
        mine = [(c["inherited_val_accuracy"], *r.objectives()) for r in c["hw_front"]]
        others = [(d, (d["inherited_val_accuracy"], *r.objectives())) for d, r in pts if d is not c]
        dom_by = set()
        all_dominated = True
        for p in mine:
            hit = [d["name"] for d, q in others if _dominates_acc(q, p)]
            if not hit:
                all_dominated = False
                break
            dom_by.update(hit)
        if all_dominated and mine:
            c["status"] = "abandoned"
            c["reason"] = ("dominated in (inherited accuracy, energy, latency, area) by "
                           + ", ".join(sorted(dom_by)))
    survivors = [c for c in cands if c["status"] == "survivor"]
    for c in cands:
        if c["status"] != "survivor":
            _phase(f"  abandon {c['name']} {config_text(c['cfg'])}: {c['reason']}")

    summary = {
        "command": "explore", "version": 1, "dataset": train.name, "seed": args.seed,
        "settings": {
            "candidates": K, "budget": args.budget, "algo": algo, "algo_note": settings["algo_note"],
            "bits": bits, "minutes": args.minutes, "supernet_steps": s_steps,
            "qat_steps_per_survivor": q_steps, "preset": preset, "semantics": SEMANTICS,
            "calib_samples": int(len(calib_x)), "n_train": int(len(fit_y)), "n_val": int(len(val_y)),
            "n_test": int(len(test_y)), "limit": args.limit, "test_limit": args.test_limit,
            "downsample": args.downsample, "designs_per_survivor": args.designs_per_survivor,
            "snn_space": space.to_dict(), "hardware_space": hw_space.to_dict(),
            "smallest_area_mm2": min_area,
        },
        "targets": targets.to_dict(),
        "supernet": supernet_info,
    }

    if not survivors:
        closest = []
        for c in cands:
            for r in c["search"]["closest_to_targets"] or []:
                closest.append({"candidate": c["name"], "config": c["cfg"].to_dict(),
                                "config_text": config_text(c["cfg"]),
                                "inherited_val_accuracy": c["inherited_val_accuracy"], **r,
                                "overshoot": _overshoot(targets, r)})
        closest.sort(key=lambda r: (r["overshoot"], r["edp_js"] or math.inf))
        summary.update({"candidates": [_cand_json(c) for c in cands], "front": [], "met_targets": False,
                        "closest_to_targets": closest[:5],
                        "report": "no candidate met the targets" if targets.any else "no candidate fit the hardware space"})
        timings["total_s"] = time.perf_counter() - t_start
        summary["timings"] = timings
        _write_outputs(out, summary, cands, [], args)
        print(f"ancoef explore: {summary['report']} (search on the calibration batch); closest:", file=sys.stderr)
        for r in closest[:5]:
            print(f"  {r['candidate']} {r['config_text']}: energy {r['energy_j']:.4g} J, latency "
                  f"{r['latency_s']:.4g} s, area {r['area_mm2']:.4g} mm^2 -- misses: {'; '.join(r['violations'])}",
                  file=sys.stderr)
        return 1

    # -- 5. fine-tune the survivors quantisation-aware ----------------------------------------------
    t0 = time.perf_counter()
    _phase(f"phase 4/5: QAT fine-tuning of {len(survivors)} survivor(s) to {bits}-bit weights, "
           f"{q_steps} steps each")
    test_inputs = {}
    for c in survivors:
        tf = time.perf_counter()
        log = finetune(c["folded"], fit_x, fit_y, bits=bits, epochs=q_steps / spe, batch_size=args.batch_size,
                       seed=args.seed + 2, progress=progress)
        network, meta = export_network(c["folded"], bits, name=f"{train.name}-{c['name']}")
        if c["cfg"].timesteps not in test_inputs:
            test_inputs[c["cfg"].timesteps] = export_inputs(test.frames, c["cfg"].timesteps)
        inputs = test_inputs[c["cfg"].timesteps]
        fp = fixedpoint.run(network, inputs)
        qacc, qcounts = folded_accuracy(c["folded"], test.frames, test_y, bits)
        c.update(network=network, meta=meta, fp=fp, inputs=inputs)
        c["finetune"] = {"steps": log.steps, "loss_last": float(np.mean(log.losses[-10:])) if log.losses else None,
                         "fixed_point_test_accuracy": fp.accuracy(test_y),
                         "qat_model_test_accuracy": qacc,
                         "qat_model_counts_equal_fixed_point": bool(np.array_equal(qcounts, fp.output_spike_counts))}
        timings.setdefault("finetune_per_survivor_s", {})[c["name"]] = time.perf_counter() - tf
        _phase(f"  {c['name']}: fixed-point test accuracy {fp.accuracy(test_y):.3f} "
               f"(inherited, validation: {c['inherited_val_accuracy']:.3f})")
    timings["finetune_s"] = time.perf_counter() - t0

    # -- 6. simulate the survivors on the held-out split ------------------------------------------
    t0 = time.perf_counter()
    _phase(f"phase 5/5: on-chip simulation of the survivors on {len(test_y)} held-out samples "
           f"({SEMANTICS} semantics)")
    points = []
    sims = [(c, d, roles) for c in survivors for d, roles in _pick_designs(c["hw_front"], args.designs_per_survivor)]
    iterator = sims
    if progress:
        from tqdm import tqdm

        iterator = tqdm(sims, desc="simulate test split", unit="design", file=sys.stderr, leave=False)
    for c, rec, roles in iterator:
        arch = ta.Architecture(**rec.design)
        sim = ta.simulate(c["network"], arch, c["inputs"], semantics=SEMANTICS, preset=preset,
                          threads=args.threads)
        counts = np.asarray(sim.output_spike_counts)
        e, l = np.asarray(sim.energy_j, float), np.asarray(sim.latency_s, float)
        figs = {"energy_j": float(e.mean()), "latency_s": float(l.mean()), "area_mm2": float(sim.area_mm2)}
        viol = targets.violations(figs)
        pt = {
            "candidate": c["name"], "config": c["cfg"].to_dict(), "config_text": config_text(c["cfg"]),
            "bits": bits,
            "accuracy": float((np.argmax(counts, axis=1) == test_y).mean()),
            "fixed_point_accuracy": c["finetune"]["fixed_point_test_accuracy"],
            "counts_equal_fixed_point": bool(np.array_equal(counts, c["fp"].output_spike_counts)),
            **figs,
            "edp_js": float((e * l).mean()), "edp_snj": float((e * l).mean() * 1e9),
            "energy_breakdown_j": {k: float(np.mean(v)) for k, v in sim.energy_breakdown_j.items()},
            "spikes_per_sample_per_layer": np.asarray(sim.spikes_per_layer, float).mean(axis=0).tolist(),
            "synaptic_ops_per_sample": float(np.mean(sim.counts["synaptic_ops"])),
            "meets_targets": not viol, "violations": viol,
            "calibration_figures": {"energy_j": rec.energy_j, "latency_s": rec.latency_s,
                                    "edp_js": rec.edp_js, "area_mm2": rec.area_mm2},
            "roles": roles, "design": dict(rec.design), "design_text": design_text(rec.design),
        }
        points.append(pt)
        c.setdefault("points", []).append(pt)
        if not pt["counts_equal_fixed_point"]:
            _phase(f"  WARNING {c['name']} on {design_text(rec.design)}: on-chip output spike counts differ "
                   "from the fixed-point model")
    timings["simulate_s"] = time.perf_counter() - t0

    # workloads of the survivors: fine-tuned network, test inputs, best design and its mapping
    for c in survivors:
        best = c["points"][0]
        arch = ta.Architecture(**best["design"])
        wl = Workload(c["network"], arch, ta.load_preset(preset), ta.map_network(c["network"], arch),
                      c["inputs"], {**c["meta"], "kind": "trained-snn", "config": c["cfg"].to_dict(),
                                    "preset": preset, "semantics": SEMANTICS, "dataset": train.name,
                                    "split": "test", "labels": test_y.tolist(),
                                    "note": f"figures as reported: simulate with preset {preset}"})
        paths = save_workload(wl, out / "survivors" / c["name"] / "workload")
        c["workload_paths"] = [str(p) for p in paths]

    # -- the front ---------------------------------------------------------------------------------
    meeting = [p for p in points if p["meets_targets"]]
    pool = meeting if meeting else []
    mask = pareto_mask([[p[k] for k in FRONT_KEYS] for p in pool], FRONT_MAX)
    front = sorted([p for p, m in zip(pool, mask) if m], key=lambda p: (-p["accuracy"], p["edp_js"]))
    for p in points:
        p["on_front"] = any(p is f for f in front)
    summary.update({
        "candidates": [_cand_json(c) for c in cands],
        "front": [_clean(_front_row(p)) for p in front],
        "met_targets": bool(meeting),
        "all_counts_equal_fixed_point": all(p["counts_equal_fixed_point"] for p in points),
    })
    if not meeting:
        closest = sorted(points, key=lambda p: (_overshoot(targets, p), p["edp_js"]))[:5]
        summary["closest_to_targets"] = [_clean(_front_row(p)) for p in closest]
        summary["report"] = ("no survivor met the targets on the held-out split (they met them on the "
                             "calibration batch); closest designs listed in closest_to_targets")
    timings["total_s"] = time.perf_counter() - t_start
    summary["timings"] = timings
    _write_outputs(out, summary, cands, points, args)

    if meeting:
        print(f"Pareto front of (accuracy, energy, latency, EDP, area), {len(front)} point(s), "
              f"{train.name} test split, {bits}-bit weights, preset {preset}:")
        print(_front_table_text(front))
        print(f"{len(survivors)} of {K} candidates survived; {sum(len(c['hw_front']) for c in cands)} designs on "
              f"the candidates' hardware fronts; {time.perf_counter() - t_start:.1f} s; results in {out}")
    else:
        print(f"ancoef explore: {summary['report']}:", file=sys.stderr)
        for p in summary["closest_to_targets"]:
            print(f"  {p['candidate']} {p['config_text']}: accuracy {p['accuracy']:.3f}, energy {p['energy_j']:.4g} J, "
                  f"latency {p['latency_s']:.4g} s, area {p['area_mm2']:.4g} mm^2 -- misses: "
                  f"{'; '.join(p['violations'])}", file=sys.stderr)
        return 1
    if not summary["all_counts_equal_fixed_point"]:
        print("ancoef explore: on-chip output spike counts differ from the fixed-point model", file=sys.stderr)
        return 1
    return 0


def _targets_text(t) -> str:
    return ", ".join(f"{k} <= {v:g}" for k, v in t.items() if v is not None)


def _overshoot(targets, figs) -> float:
    if figs.get("energy_j") is None:
        return math.inf
    return targets.overshoot(figs)


def _dominates_acc(q, p) -> bool:
    """q dominates p: (accuracy maximised, energy/latency/area minimised)."""
    better_or_equal = q[0] >= p[0] and all(a <= b for a, b in zip(q[1:], p[1:]))
    strictly = q[0] > p[0] or any(a < b for a, b in zip(q[1:], p[1:]))
    return better_or_equal and strictly


def _pick_designs(front, n):
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


def _front_row(p) -> dict:
    keys = ("candidate", "config", "config_text", "bits", "accuracy", "fixed_point_accuracy",
            "counts_equal_fixed_point", "energy_j", "latency_s", "edp_js", "edp_snj", "area_mm2",
            "meets_targets", "violations", "roles", "design", "design_text", "energy_breakdown_j")
    return {k: p[k] for k in keys}


def _cand_json(c) -> dict:
    d = {
        "name": c["name"], "config": c["cfg"].to_dict(), "config_text": config_text(c["cfg"]),
        "n_neurons": int(c["workload"].network.n_neurons),
        "inherited_val_accuracy": c["inherited_val_accuracy"],
        "spikes_per_sample_per_layer_float": c["spikes_per_layer_float"],
        "calibration": c.get("calibration"), "search": c.get("search"),
        "status": c["status"], "reason": c["reason"],
    }
    if c["status"] == "survivor" and "finetune" in c:
        d["finetune"] = c["finetune"]
        d["fixed_point_test_accuracy"] = c["finetune"]["fixed_point_test_accuracy"]
        d["on_chip"] = [_clean({k: v for k, v in p.items() if k not in ("config", "config_text", "candidate")})
                        for p in c.get("points", [])]
        d["workload"] = c.get("workload_paths")
    return _clean(d)


# -- outputs ---------------------------------------------------------------------------------------


def _fmt(v, spec=".4g"):
    return "-" if v is None else format(v, spec)


def _front_table_text(front) -> str:
    rows = [("#", "SNN", "acc on chip", "acc fixed pt", "energy J", "latency s", "EDP J*s", "EDP s*nJ",
             "area mm^2", "hardware")]
    for i, p in enumerate(front, 1):
        rows.append((str(i), f"{p['candidate']} {p['config_text']}", f"{p['accuracy']:.3f}",
                     f"{p['fixed_point_accuracy']:.3f}", f"{p['energy_j']:.4g}", f"{p['latency_s']:.4g}",
                     f"{p['edp_js']:.4g}", f"{p['edp_snj']:.4g}", f"{p['area_mm2']:.4g}", p["design_text"]))
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _markdown(summary) -> str:
    s, t = summary["settings"], summary["targets"]
    tg = ", ".join(f"{k.replace('max_', '')} <= {v:g}" for k, v in t.items() if v is not None) or "none"
    lines = [
        f"# ancoef explore: {summary['dataset']}",
        "",
        f"Seed {summary['seed']}; {s['candidates']} candidates; hardware search `{s['algo']}` with "
        f"{s['budget']} simulated designs each (preset `{s['preset']}`, `{s['semantics']}` semantics, "
        f"calibration batch of {s['calib_samples']} samples); {s['bits']}-bit weights; targets: {tg}. "
        f"Supernet: {s['supernet_steps']} sandwich steps; QAT: {s['qat_steps_per_survivor']} steps per survivor. "
        f"Accuracy on the held-out test split ({s['n_test']} samples).",
        "",
    ]
    if s.get("algo_note"):
        lines += [f"Search note: {s['algo_note']}.", ""]
    lines += ["## Pareto front (accuracy, energy, latency, EDP, area)", ""]
    if summary["front"]:
        lines += ["| # | SNN | on-chip accuracy | fixed-point accuracy | energy / sample (J) | latency (s) | "
                  "EDP (J*s) | EDP (s*nJ) | area (mm^2) | hardware |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for i, p in enumerate(summary["front"], 1):
            lines.append(f"| {i} | {p['candidate']} `{p['config_text']}` | {p['accuracy']:.3f} | "
                         f"{p['fixed_point_accuracy']:.3f} | {p['energy_j']:.4g} | {p['latency_s']:.4g} | "
                         f"{p['edp_js']:.4g} | {p['edp_snj']:.4g} | {p['area_mm2']:.4g} | {p['design_text']} |")
    else:
        lines.append(f"**{summary.get('report', 'empty front')}.**")
        if summary.get("closest_to_targets"):
            lines += ["", "Closest:", ""]
            for r in summary["closest_to_targets"]:
                lines.append(f"- {r['candidate']} `{r['config_text']}`: energy {_fmt(r.get('energy_j'))} J, "
                             f"latency {_fmt(r.get('latency_s'))} s, area {_fmt(r.get('area_mm2'))} mm^2; misses "
                             f"{'; '.join(r.get('violations') or [])}")
    lines += ["", "## Candidates", "",
              "| name | SNN | neurons | inherited val. accuracy | best EDP on calibration (s*nJ) | status | "
              "fixed-point test accuracy |",
              "|---|---|---|---|---|---|---|"]
    for c in summary["candidates"]:
        best = (c.get("search") or {}).get("best_edp_snj")
        st = c["status"] + (f" ({c['reason']})" if c["reason"] else "")
        lines.append(f"| {c['name']} | `{c['config_text']}` | {c['n_neurons']} | {c['inherited_val_accuracy']:.3f} | "
                     f"{_fmt(best)} | {st} | {_fmt(c.get('fixed_point_test_accuracy'), '.3f')} |")
    tm = summary["timings"]
    lines += ["", "## Timings (s)", "", "| phase | seconds |", "|---|---|"]
    for k in ("data_s", "supernet_s", "candidates_s", "search_s", "finetune_s", "simulate_s", "total_s"):
        if k in tm:
            lines.append(f"| {k[:-2]} | {tm[k]:.1f} |")
    return "\n".join(lines) + "\n"


def _write_outputs(out: Path, summary: dict, cands, points, args) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary, indent=1, default=_json_default)
    (out / "summary.json").write_text(text + "\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    (out / "summary.md").write_text(_markdown(summary))
    _pareto_png(out / "pareto.png", summary, cands, points)
    _breakdown_png(out / "energy_breakdown.png", summary, points)


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _pareto_png(path: Path, summary, cands, points) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=100)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    cidx = {c["name"]: i for i, c in enumerate(cands)}
    for ax, key, label in zip(axes, ("energy_j", "latency_s", "area_mm2"),
                              ("energy per sample (J)", "latency per sample (s)", "area (mm$^2$)")):
        for c in cands:
            col = colors[cidx[c["name"]] % len(colors)]
            pts = [p for p in points if p["candidate"] == c["name"]]
            if pts:
                ax.scatter([p[key] for p in pts], [p["accuracy"] for p in pts], color=col, s=28,
                           label=f"{c['name']} {config_text(c['cfg'])}")
            elif c.get("search", {}).get("best"):
                b = c["search"]["best"]
                ax.scatter([b[key]], [c["inherited_val_accuracy"]], marker="x", color=col, s=36,
                           label=f"{c['name']} abandoned (calibration, inherited acc.)")
        fr = [p for p in points if p.get("on_front")]
        if fr:
            ax.scatter([p[key] for p in fr], [p["accuracy"] for p in fr], facecolors="none", edgecolors="red",
                       s=110, linewidths=1.5, label="Pareto front")
        tkey = {"energy_j": "max_energy_j", "latency_s": "max_latency_s", "area_mm2": "max_area_mm2"}[key]
        if summary["targets"].get(tkey):
            ax.axvline(summary["targets"][tkey], ls="--", c="gray", label="target")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label)
        ax.set_ylabel("accuracy (on chip, test split)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(handles)), fontsize=8)
    else:
        axes[1].text(0.5, 0.5, summary.get("report", "no point"), ha="center", transform=axes[1].transAxes)
    fig.suptitle(f"ancoef explore: {summary['dataset']}, seed {summary['seed']} "
                 f"({summary['settings']['algo']}, {summary['settings']['bits']}-bit)")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def _breakdown_png(path: Path, summary, points) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown = [p for p in points if p.get("on_front")] or points
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(shown) + 2), 4.4), dpi=100)
    if shown:
        units = list(shown[0]["energy_breakdown_j"].keys())
        x = np.arange(len(shown))
        bottom = np.zeros(len(shown))
        for u in units:
            v = np.array([p["energy_breakdown_j"].get(u, 0.0) for p in shown])
            ax.bar(x, v, bottom=bottom, label=u)
            bottom += v
        ax.set_xticks(x)
        ax.set_xticklabels([f"{p['candidate']}\n{'/'.join(p['roles'])}" for p in shown], fontsize=7)
        ax.set_ylabel("energy per sample (J)")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, summary.get("report", "no survivor simulated"), ha="center", transform=ax.transAxes)
    ax.set_title("energy breakdown per sample on the test split" + (" (Pareto front)" if any(
        p.get("on_front") for p in points) else ""))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
