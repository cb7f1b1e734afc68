r"""`ancoef search`: hardware search for one workload (RL warm-started, NSGA-II, TPE or random).

    ancoef search --workload ../shared/workloads/mlp_784-512-256-10_T100_16c --algo rl \
        --budget 200 --seed 0 --out runs/search --max-latency-s 1e-3 --mesh-width 1:8
    ancoef search --resume runs/search          # continue it after Ctrl-C, a kill or a crash
    ancoef search --trainer-endpoint 127.0.0.1:50052 --training-id train-0123456789ab --samples 16 \
        --algo nsga2 --budget 40 --out runs/search-trained   # the network of a TrainerService training

Writes to --out: run.sqlite (every simulated design, committed as it completes), archive.json /
archive.csv (every evaluated design, Pareto flags), summary.json (best EDP, hypervolume, targets,
closest designs when none met the targets) and pareto.png. A resumed search replays the seeded
search against the stored designs (none is simulated twice) and ends as the uninterrupted one.

--training-id fetches the trained network and --split's input spikes (TrainerService.ExportNetwork;
--samples N asks for N: the trainer's class-balanced N, as `ancoef evaluate --limit N`) once and
keeps them in OUT/workload.json + .npz: the search is then the one `--workload OUT/workload` would
run, and `--resume OUT` needs no trainer.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from agent.space import DEFAULT_CHOICES, HELP, PARAM_NAMES
from services.options import positive_float

SETTINGS = ("workload", "network", "algo", "budget", "seed", "max_energy_j", "max_latency_s", "max_area_mm2",
            "preset", "semantics", "samples", "timesteps", "checkpoint", "threads", "ray")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "search",
        help="search the hardware space for one workload",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--workload", metavar="PREFIX", help="workload on disk (PREFIX.json + PREFIX.npz)")
    src.add_argument("--network", metavar="TRAIN_OUT_DIR", help="an `ancoef train` output directory")
    src.add_argument("--training-id", metavar="OP_ID",
                     help="the network of this SUCCEEDED training operation of --trainer-endpoint, on --split's "
                     "input spikes (kept in OUT/workload.*)")
    src.add_argument("--resume", type=Path, metavar="OUT", help="continue the search in OUT (its settings are kept)")
    p.add_argument("--trainer-endpoint", metavar="HOST:PORT",
                   help="the TrainerService (`ancoef serve trainer`) that ran --training-id")
    p.add_argument("--split", choices=("test", "train"), help="the split --training-id's inputs come from "
                   "(default test)")
    # settings default to None: the ones given are the ones a resume must agree with
    p.add_argument("--algo", help="rl (warm-started PPO with critic-screened archive moves), nsga2, tpe (Optuna "
                   "multi-objective TPE), random, or moves (the archive moves from random designs, no PPO) "
                   "(default rl)")
    p.add_argument("--budget", type=int, help="distinct simulated designs (default 200)")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=Path, help="output directory (default ancoef-search)")
    p.add_argument("--json", type=Path, help="also write the summary JSON here")
    p.add_argument("--max-energy-j", type=positive_float, help="target: energy per sample (J)")
    p.add_argument("--max-latency-s", type=positive_float, help="target: latency per sample (s)")
    p.add_argument("--max-area-mm2", type=positive_float, help="target: chip area (mm^2)")
    p.add_argument("--preset", default=None, help="cost preset (default async28 if available, else loihi)")
    p.add_argument("--semantics", choices=("timestep", "sanafe"), help="default timestep")
    p.add_argument("--samples", type=int, help="use only the first N samples of the workload")
    p.add_argument("--timesteps", type=int, help="use only the first T steps of the workload")
    p.add_argument("--threads", type=int, help="simulator threads per simulation")
    p.add_argument("--checkpoint", type=Path, help="RL warm-start policy (default: the shipped one)")
    p.add_argument("--no-warm-start", action="store_true", help="RL from scratch")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--ray", action="store_true", default=None,
                   help="simulate each batch's new designs as Ray tasks on a local Ray, one CPU each (every "
                   "method; TPE proposes one design at a time); the results are identical, so a resume may "
                   "change it")
    p.add_argument("--sim-endpoint", metavar="HOST:PORT",
                   help="simulate on a SimulatorService (`ancoef serve sim`) instead of in-process; the results "
                   "are the same bit for bit, so a resume may use another endpoint or none")
    g = p.add_argument_group("search ranges", "lo:hi (on the parameter's grid) or a comma list")
    for name in PARAM_NAMES:
        d = DEFAULT_CHOICES[name]
        shown = ",".join(d) if isinstance(d[0], str) else f"{d[0]}:{d[-1]}"
        g.add_argument("--" + name.replace("_", "-"), dest="range_" + name, metavar="RANGE",
                       help=f"{HELP[name]} (default {shown})")
    p.set_defaults(func=run)
    return p


def given_settings(args) -> dict:
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k, None) is not None}
    for k in ("workload", "network", "checkpoint"):
        if k in given:
            given[k] = str(given[k])
    if args.no_warm_start:
        given["warm_start"] = False
    ranges = {n: getattr(args, "range_" + n) for n in PARAM_NAMES if getattr(args, "range_" + n, None) is not None}
    if ranges:
        given["ranges"] = ranges
    return given


def run(args) -> int:
    from coexplore.hwsearch import SearchSettings, resume_search, run_search, start_search
    from runstore import STORE_NAME, RunExists

    given = given_settings(args)
    if args.training_id is None and (args.trainer_endpoint is not None or args.split is not None):
        raise ValueError("--trainer-endpoint and --split go with --training-id" + (
            f" (--resume {args.resume} reads the network kept in {Path(args.resume) / 'workload'}.*)"
            if args.resume is not None else ""))
    if args.resume is not None:
        out = Path(args.resume)
        if args.out is not None and Path(args.out).resolve() != out.resolve():
            raise ValueError(f"--out {args.out} and --resume {out} name different folders")
        store, settings, wl = resume_search(out, given)
    else:
        out = Path(args.out or "ancoef-search")
        if args.training_id is not None:
            given["workload"] = str(out / TRAINED_WORKLOAD)
        settings = SearchSettings(**given).validated()
        if (out / STORE_NAME).exists():
            raise RunExists(f"--out {out} already holds a search: continue it with `ancoef search --resume {out}` "
                            "or choose another --out")
        if args.training_id is not None:
            settings, wl = _trained_workload(args, settings, out)
        else:
            wl = settings.load_workload()
            settings.check_workload(wl)
        settings = settings.resolved(wl)
        store = start_search(out, settings)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=settings.budget, unit="sim", desc=f"search {settings.algo}", file=sys.stderr)

    def progress(ev):
        if bar is None:
            return
        bar.n = ev.simulations_done
        bar.set_postfix(best_edp_snj="-" if ev.best_edp_js is None else f"{ev.best_edp_js * 1e9:.4g}",
                        hv=f"{ev.hypervolume:.4f}", refresh=False)
        bar.refresh()

    try:
        sr = run_search(settings, store, wl, progress=progress, **remote_keywords(args.sim_endpoint))
    except KeyboardInterrupt:
        print(f"ancoef search: interrupted; every simulated design is in {out / STORE_NAME}: continue with "
              f"`ancoef search --resume {out}`", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    return _report(sr, settings, store, out, args)


TRAINED_WORKLOAD = "workload"  # OUT/workload.json + .npz: a --training-id search's network and inputs


def _trained_workload(args, settings, out: Path):
    """Fetch --training-id's export, keep it in OUT/workload.* and load it as any --workload is
    (--samples, --timesteps); whatever fails leaves OUT as it was."""
    from services.training_source import fetch_workload
    from trueasync.workload import save_workload

    if args.trainer_endpoint is None:
        raise ValueError("--training-id needs --trainer-endpoint HOST:PORT (the TrainerService that ran it)")
    prefix = out / TRAINED_WORKLOAD
    kept = [prefix.with_suffix(s) for s in (".json", ".npz")]
    if any(p.exists() for p in kept):
        raise ValueError(f"--out {out} already holds {kept[0].name}/{kept[1].name}: choose another --out")
    trained = fetch_workload(args.trainer_endpoint, args.training_id, args.split or "test", settings.samples or 0)
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        save_workload(trained, prefix)
        wl = settings.load_workload()
        settings.check_workload(wl)
    except BaseException:
        for p in kept:
            p.unlink(missing_ok=True)
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return settings, wl


def write_outputs(sr, settings, store, out: Path, json_path=None) -> dict:
    """archive.json/.csv, pareto.png and summary.json of a finished search; closes the store
    (succeeded). The agent service's searches write the same files."""
    from agent import jsonio
    from agent.search import pareto_plot

    ev, figs = sr.evaluator, sr.figures
    ev.archive.save(out)
    pareto_plot(ev, out / "pareto.png", title=f"{ev.name} ({settings.algo}, seed {settings.seed})")
    summary = {k: v for k, v in figs.items() if k != "trace"}
    summary["best_edp_trace"] = [list(t) for t in figs["trace"]]
    summary["space"] = ev.space.to_dict()
    summary["preset"] = ev.preset
    summary["semantics"] = ev.semantics
    summary["normalisation"] = ev.archive.normaliser.to_dict()
    summary["store"] = {"path": str(store.path), "attempt": store.attempt, "simulated_now": sr.simulated,
                        "answered_by_store": sr.answered}
    if not figs["met_targets"]:
        summary["report"] = (
            "no design met the targets" if settings.targets.any else "no design fit the network"
        ) + f" within {ev.n_simulated} simulations; closest designs listed in closest_to_targets"
    text = jsonio.dumps(summary)
    (out / "summary.json").write_text(text)
    if json_path:
        Path(json_path).write_text(text)
    store.close("succeeded", result=jsonio.to_jsonable({k: v for k, v in summary.items()
                                                       if k in ("best_edp_js", "hypervolume", "simulated")}))
    return summary


def _report(sr, settings, store, out: Path, args) -> int:
    summary = write_outputs(sr, settings, store, out, args.json)
    ev, figs = sr.evaluator, sr.figures
    if figs["met_targets"]:
        b = figs["best"]
        print(f"best EDP {b['edp_js']:.4g} J*s ({b['edp_snj']:.4g} s*nJ): energy {b['energy_j']:.4g} J, "
              f"latency {b['latency_s']:.4g} s, area {b['area_mm2']:.4g} mm^2; hypervolume "
              f"{figs['hypervolume']:.4f}; {ev.n_simulated} simulations; results in {out}")
    else:
        print(f"ancoef search: {summary['report']}:", file=sys.stderr)
        for r in figs["closest_to_targets"]:
            print(f"  energy {r['energy_j']:.4g} J, latency {r['latency_s']:.4g} s, area {r['area_mm2']:.4g} mm^2"
                  f" -- misses: {'; '.join(r['violations'])}", file=sys.stderr)
        return 1
    return 0


def remote_keywords(endpoint) -> dict:
    """`run_search` keywords for a SimulatorService at `endpoint` (None: in-process, {})."""
    if not endpoint:
        return {}
    from services.client import SimulatorClient

    return SimulatorClient(endpoint).evaluator_keywords()
