r"""`ancoef explore`: co-exploration of spiking networks and asynchronous chips (the main job).

    ancoef explore --out runs/explore                       # embedded digits-dvs, a few minutes
    ancoef explore --resume runs/explore                    # continue it after Ctrl-C, a kill, a crash
    ancoef explore --sim-endpoint 127.0.0.1:50051 --out runs/explore-remote   # on `ancoef serve sim`
    ancoef explore --trainer-endpoint 127.0.0.1:50052 --out runs/explore-rt   # train on `ancoef serve trainer`
    ancoef explore --candidates 4 --budget 48 --algo nsga2 --bits 4 --max-latency-s 1e-3 \
        --minutes 3 --seed 0 --out runs/explore --json runs/explore.json

The loop lives in the `coexplore` package (docs/explore.md): supernet, candidates, a hardware
search per candidate at its weight width, abandonment, QAT fine-tuning, on-chip evaluation on the
held-out split, the Pareto front, and two baselines measured in the same run: (a) the largest
sub-network on a reference chip, (b) the sequential flow (network first, then one search).
Every finished step is committed to OUT/run.sqlite, so `--resume OUT` continues a run without
redoing or losing one and ends as an uninterrupted run with the same seed would.

Writes to --out: run.sqlite, explore.log, summary.json, summary.md, pareto.png,
search_progress.png, energy_breakdown.png, front/<k>-<name>/ (model.pt, workload.{json,npz},
chip.json), search/<name>/archive.{json,csv}, checkpoints/.
Exit status 0; 1 when no candidate meets the targets (the closest ones are reported); 2 for bad
options or a run folder that cannot be used (nothing is changed then); 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.options import positive_float

SETTING_OPTIONS = ("dataset", "data_root", "seed", "candidates", "screen", "budget", "algo", "bits", "max_energy_j",
                   "max_latency_s", "max_area_mm2", "minutes", "limit", "test_limit", "calib_samples",
                   "designs_per_survivor", "downsample", "encoding", "batch_size", "lr", "preset", "warm_start", "baselines",
                   "checkpoint_every")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _bits(text: str) -> tuple:
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected weight widths such as 4 or 2,4,8, got {text!r}") from None


def register(subparsers) -> argparse.ArgumentParser:
    from coexplore.settings import DEFAULT_MINUTES, WARM_STARTS

    p = subparsers.add_parser(
        "explore",
        help="co-explore SNN architectures and chips (the main job)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Every setting defaults to None here: given options are the ones a resume must agree with.
    p.add_argument("--dataset", help="dataset (default: the embedded digits-dvs)")
    p.add_argument("--data-root", help="dataset folder (not needed for digits-dvs)")
    p.add_argument("--out", type=Path, help="output directory (default ancoef-explore)")
    p.add_argument("--resume", type=Path, metavar="OUT", help="continue the run in OUT (its settings are kept)")
    p.add_argument("--seed", type=_int)
    p.add_argument("--candidates", type=_int, metavar="K", help="candidate sub-networks sampled from the supernet "
                   "(default 4)")
    p.add_argument("--screen", type=_int, metavar="N", help="sub-networks scored with inherited weights to select "
                   "the candidates from (default 3 x K)")
    p.add_argument("--budget", type=_int, metavar="N", help="simulated hardware designs per candidate (default 48)")
    p.add_argument("--algo", help="hardware search: rl (warm-started PPO), nsga2, tpe, random or moves (the RL "
                   "search's archive moves without PPO) (default: rl when the pre-trained policy is installed, "
                   "else nsga2)")
    p.add_argument("--bits", type=_bits, metavar="B[,B...]", help="weight widths of the candidates, 2, 4 or 8; "
                   "each candidate is trained at its width and its chip's weight memory has that width (default 4)")
    p.add_argument("--max-energy-j", type=positive_float, help="target: energy per sample (J)")
    p.add_argument("--max-latency-s", type=positive_float, help="target: latency per sample (s)")
    p.add_argument("--max-area-mm2", type=positive_float, help="target: chip area (mm^2)")
    p.add_argument("--minutes", type=positive_float, help=f"training budget in laptop minutes (default "
                   f"{DEFAULT_MINUTES:g}; scales the supernet and fine-tuning steps)")
    p.add_argument("--json", type=Path, help="also write the summary JSON here")
    g = p.add_argument_group("baselines and warm start")
    g.add_argument("--no-baselines", dest="baselines", action="store_const", const=False,
                   help="skip baselines (a) reference and (b) sequential")
    g.add_argument("--warm-start", choices=WARM_STARTS, help="RL searches: each from the shipped policy "
                   "(shipped, the default), the policy carried from one candidate's search to the next (policy), "
                   "the shipped policy with a design critic that also fits the earlier candidates' designs "
                   "(critic), or from scratch (none); docs/explore.md")
    g = p.add_argument_group("smaller runs and tuning")
    g.add_argument("--limit", type=_int, help="at most N training samples (balanced)")
    g.add_argument("--test-limit", type=_int, help="at most N held-out test samples")
    g.add_argument("--calib-samples", type=_int, help="calibration batch: samples simulated per hardware design "
                   "in the search (default 16)")
    g.add_argument("--designs-per-survivor", type=_int, help="designs of each survivor's hardware front simulated "
                   "on the test split: best EDP, then lowest energy, latency, area (default 3)")
    g.add_argument("--downsample", type=_int, help="spatial pooling of the input frames (default 1)")
    g.add_argument("--encoding", help="event data: binary (default) or count; static images: direct (default: "
                   "the analog image feeds the first layer, which runs as the chip's off-chip encoder) or rate")
    g.add_argument("--batch-size", type=_int, help="default 32")
    g.add_argument("--lr", type=positive_float, help="supernet learning rate (default 3e-3)")
    g.add_argument("--preset", help="cost preset (default async28 if available, else loihi)")
    g.add_argument("--threads", type=_int, help="torch threads (default 1) and simulator threads (default: all "
                   "cores)")
    g.add_argument("--checkpoint-every", type=_int, metavar="STEPS", help="training checkpoint interval "
                   "(default 200 steps; may change on --resume)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--sim-endpoint", metavar="HOST:PORT",
                   help="simulate on a SimulatorService (`ancoef serve sim`) instead of in-process; the results are "
                   "the same bit for bit, so a resume may use another endpoint or none")
    g.add_argument("--trainer-endpoint", metavar="HOST:PORT",
                   help="train, evaluate and export on a TrainerService (`ancoef serve trainer`) training session "
                   "instead of in-process; the same results bit for bit")
    p.set_defaults(func=run)
    return p


def given_settings(args) -> dict:
    """The settings named on the command line (None: not given)."""
    given = {k: getattr(args, k) for k in SETTING_OPTIONS if getattr(args, k, None) is not None}
    if args.threads is not None:
        given["torch_threads"] = given["sim_threads"] = args.threads
    return given


class ProgressPrinter:
    """Phase and log lines on stderr; tqdm bars for training, searches and test simulations."""

    def __init__(self, bars: bool):
        self.bars = bars
        self.bar = None
        self.key = None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar, self.key = None, None

    def _bar(self, key, total: int, desc: str, unit: str):
        if not self.bars:
            return None
        if self.key != key:
            self.close()
            from tqdm import tqdm

            self.bar, self.key = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False), key
        return self.bar

    def __call__(self, ev) -> None:
        from coexplore import LogEvent, PhaseEvent, SearchEvent, SimulationEvent, TrainingEvent

        if isinstance(ev, PhaseEvent):
            self.close()
            print(f"[explore] phase {ev.index}/{ev.total}: {ev.message}", file=sys.stderr, flush=True)
        elif isinstance(ev, LogEvent):
            self.close()
            print(f"[explore] {'WARNING ' if ev.level == 'warning' else ''}{ev.message}", file=sys.stderr, flush=True)
        elif isinstance(ev, TrainingEvent):
            bar = self._bar(("train", ev.job), ev.steps, ev.job, "step")
            if bar is not None:
                bar.n = ev.step
                bar.refresh()
        elif isinstance(ev, SearchEvent):
            bar = self._bar(("search", ev.flow, ev.candidate), ev.budget, f"search {ev.candidate}", "sim")
            if bar is not None:
                bar.n = ev.simulations_done
                bar.set_postfix(best_edp_snj="-" if ev.best_edp_js is None else f"{ev.best_edp_js * 1e9:.4g}",
                                hv=f"{ev.hypervolume:.4f}", refresh=False)
                bar.refresh()
        elif isinstance(ev, SimulationEvent):
            bar = self._bar(("sim", ev.flow), ev.total, f"test split ({ev.flow})", "design")
            if bar is not None:
                bar.n = ev.done
                bar.refresh()


def run(args) -> int:
    trainer = trainer_backend(args.trainer_endpoint)
    try:
        return _run(args, trainer)
    finally:
        if hasattr(trainer, "close"):
            trainer.close()


def _run(args, trainer) -> int:
    from coexplore import ExploreSettings, explore, preflight, resume_run, start_run
    from runstore import STORE_NAME, RunExists

    given = given_settings(args)
    pre = None
    if args.resume is not None:
        out = Path(args.resume)
        if args.out is not None and Path(args.out).resolve() != out.resolve():
            raise ValueError(f"--out {args.out} and --resume {out} name different folders; a resumed run writes "
                             "to its own folder")
        store, settings = resume_run(out, given)
    else:
        out = Path(args.out or "ancoef-explore")
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} exists and is not a folder")
        if (out / STORE_NAME).exists():
            raise RunExists(f"--out {out} already holds a run: continue it with `ancoef explore --resume {out}` or "
                            "choose another --out")
        settings = ExploreSettings(**given).validated()
        pre = preflight(settings, trainer)
        store = start_run(out, settings)
    printer = ProgressPrinter(not args.no_progress)
    try:
        result = explore(settings, store, out=out, trainer=trainer, preflight=pre, progress=printer,
                         simulate=remote_simulate(args.sim_endpoint))
    except KeyboardInterrupt:
        printer.close()
        print(f"ancoef explore: interrupted; every finished step is in {out / STORE_NAME}: continue with "
              f"`ancoef explore --resume {out}`", file=sys.stderr)
        return 130
    finally:
        printer.close()
    return report(result, args)


def trainer_backend(endpoint):
    """`explore`'s trainer backend: a training session on the TrainerService at `endpoint`, or
    in-process (None). The caller closes a remote one."""
    if not endpoint:
        from coexplore import InProcessTrainer

        return InProcessTrainer()
    from services.client import RemoteTrainer

    return RemoteTrainer(endpoint)


def remote_simulate(endpoint):
    """`explore`'s simulate on the SimulatorService at `endpoint` (None: in-process)."""
    if not endpoint:
        return None
    from services.client import SimulatorClient

    return SimulatorClient(endpoint).simulate


def report(result, args) -> int:
    from agent import jsonio
    from coexplore.report import comparison_text, front_table_text

    s = result.summary
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(jsonio.dumps(s) + "\n")
    if not s["met_targets"]:
        print(f"ancoef explore: {s['report']}; closest:", file=sys.stderr)
        for p in s["closest_to_targets"]:
            print(f"  {p['candidate']} {p['config_text']}: energy {p['energy_j']:.4g} J, latency "
                  f"{p['latency_s']:.4g} s, area {p['area_mm2']:.4g} mm^2 -- misses: {'; '.join(p['violations'])}",
                  file=sys.stderr)
        return result.exit_status
    st = s["settings"]
    print(f"Pareto front of (accuracy, energy, latency, EDP, area), {len(s['front'])} point(s), {s['dataset']} test "
          f"split, preset {st['preset']}:")
    print(front_table_text(s["front"]))
    text = comparison_text(s)
    if text:
        print(text)
    n_surv = sum(1 for c in s["candidates"] if c["status"] == "survivor")
    print(f"{n_surv} of {st['candidates']} candidates survived; {s['timings']['total_wall_s']:.1f} s of committed "
          f"work; results in {result.out}")
    if not s["all_counts_equal_fixed_point"]:
        print("ancoef explore: on-chip output spike counts differ from the fixed-point model", file=sys.stderr)
    return result.exit_status
