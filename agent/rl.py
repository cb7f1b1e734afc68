"""The RL hardware-search agent: PPO (Ray RLlib, new API stack) over `HardwareDesignEnv`.

Why PPO (see docs/search.md): the action is a MultiDiscrete vector (one choice per parameter),
which RLlib's PPO handles natively on the new API stack (DQN/SAC there need a single Discrete or
a Box); it is on-policy and stable with small batches; and it trains one policy across many
workloads whose features sit in the observation, so a search on a new workload warm-starts.

Pre-train (writes a small torch state_dict of the RLModule, tens of kB, plus a JSON card):

    python -m agent.rl pretrain --out agent/policy --iterations 60 --seed 0

Search on one workload with that policy as warm start (the CLI's ``--algo rl``):

    rl_search(evaluator, seed=0, checkpoint="agent/policy")

Ray must be initialised by the caller or is initialised here with `num_cpus` (tests: one
session-scoped ``ray.init(num_cpus=2)``). Runs use ``num_env_runners=0`` and ``num_learners=0``:
the env (and the evaluator behind it) lives in the driver process.
"""

from __future__ import annotations

import argparse
import sys
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np

from agent.env import HardwareDesignEnv, obs_dim, register_evaluators, unregister_evaluators
from agent.evaluator import Evaluator
from agent.space import HardwareSpace
from trueasync.model import Architecture

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "policy"
WEIGHTS_FILE = "ppo_policy.pt"
CARD_FILE = "ppo_policy.json"
HIDDENS = (128, 128)
MOVE_PROPOSER = "archive-move"  # proposer name of the critic-screened archive moves
# The search's settings per budget, chosen on the tuning workloads (benchmarks/hw_search_tuning.py,
# rl study; docs/search.md "Settings"): the critic's candidates per move (`pool`), the archive
# moves' options (`constrained`: aim at the front of the designs meeting the targets) and the
# preference schedule of the PPO proposals. Another budget takes the nearest studied one.
# On the engine with issue 11's cost model and today's policy the study chose unconstrained moves
# at 200 and constrained ones at 500, both with the cycle (benchmarks/results/hw_search_tuning_rl.json;
# tests/agent/test_studied_settings.py holds these to it).
RL_SETTINGS = {
    200: {"pool": 16, "local_options": {"constrained": False}, "preference": "cycle"},
    500: {"pool": 16, "local_options": {"constrained": True}, "preference": "cycle"},
}


def rl_settings(budget: Optional[int]) -> dict:
    """The studied settings of the budget nearest to `budget` (log scale; the largest if None)."""
    if budget is None:
        return RL_SETTINGS[max(RL_SETTINGS)]
    best = min(RL_SETTINGS, key=lambda b: (abs(np.log(b / budget)), b))
    return RL_SETTINGS[best]


# Ray's own message when the local raylet has not registered with the GCS within its fixed 30 s
# (seen in 2 of about 20 runs of the sim-service tests beside a CPU spinner); a second start succeeds.
RAY_STARTUP_TIMEOUT = "timed out during startup"
RAY_START_ATTEMPTS = 2


def ensure_ray(num_cpus: Optional[int] = None) -> None:
    """Start a local Ray for the searches (or keep the one running)."""
    import ray

    limit_torch_threads(1)
    if not ray.is_initialized():
        init_local_ray(num_cpus=num_cpus or min(4, os.cpu_count() or 1), include_dashboard=False,
                       log_to_driver=False, configure_logging=False)


def init_local_ray(**init_kwargs) -> None:
    """`ray.init(**init_kwargs)` for a new local cluster, once more if its node timed out at startup."""
    import ray

    for attempt in range(RAY_START_ATTEMPTS):
        try:
            ray.init(**init_kwargs)
            return
        except Exception as exc:  # Ray raises a bare Exception for it
            if RAY_STARTUP_TIMEOUT not in str(exc) or attempt + 1 == RAY_START_ATTEMPTS:
                raise
            print(f"Ray's local node timed out at startup; starting it again ({exc})", file=sys.stderr)
            ray.shutdown()


def limit_torch_threads(n: int = 1) -> None:
    """Tiny networks: one torch thread avoids OpenMP spin contention on busy machines (100x)."""
    import torch

    torch.set_num_threads(n)


def make_config(env_config: dict, seed: int = 0, batch: int = 64, lr: float = 3e-4,
                entropy_coeff: float = 0.01, num_epochs: int = 6, hiddens: Sequence[int] = HIDDENS):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        .environment(HardwareDesignEnv, env_config=env_config, disable_env_checking=True)
        .env_runners(num_env_runners=0, num_envs_per_env_runner=1, rollout_fragment_length=batch,
                     batch_mode="truncate_episodes")
        .learners(num_learners=0)
        .training(
            train_batch_size_per_learner=batch,
            minibatch_size=max(16, batch // 2),
            num_epochs=num_epochs,
            lr=lr,
            gamma=0.0,  # each action is a whole design scored at once: a contextual bandit
            lambda_=1.0,
            entropy_coeff=entropy_coeff,
            vf_loss_coeff=0.5,
            clip_param=0.2,
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(hiddens), fcnet_activation="tanh",
                                                   vf_share_layers=False))
        .reporting(min_sample_timesteps_per_iteration=0, min_time_s_per_iteration=0)
        .debugging(seed=seed, log_level="ERROR")
    )


def _learner_module(algo):
    from ray.rllib.core import DEFAULT_MODULE_ID

    learner = algo.learner_group._learner  # local learner (num_learners=0)
    return learner.module[DEFAULT_MODULE_ID]


def get_weights(algo) -> dict:
    return {k: v.detach().cpu().clone() for k, v in _learner_module(algo).state_dict().items()}


def set_weights(algo, state_dict: dict) -> None:
    """Load a torch state_dict into the learner's module and the env runner's module."""
    _learner_module(algo).load_state_dict(state_dict)
    runner_module = algo.get_module()
    own = runner_module.state_dict()
    runner_module.load_state_dict({k: v for k, v in state_dict.items() if k in own}, strict=True)


def save_policy(algo, out_dir: Path, card: dict) -> Path:
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(get_weights(algo), out_dir / WEIGHTS_FILE)
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=1))
    return out_dir / WEIGHTS_FILE


def load_policy(path: Path) -> tuple[dict, dict]:
    import torch

    path = Path(path)
    wfile = path / WEIGHTS_FILE if path.is_dir() else path
    cfile = wfile.with_name(CARD_FILE)
    if not wfile.exists():
        raise FileNotFoundError(f"no pre-trained policy at {wfile} (make it with: python -m agent.rl pretrain)")
    card = json.loads(cfile.read_text()) if cfile.exists() else {}
    return torch.load(wfile, map_location="cpu", weights_only=True), card


def _compatible(card: dict, policy_space: HardwareSpace) -> Optional[str]:
    if card.get("obs_dim") not in (None, obs_dim(policy_space)):
        return f"observation size {card.get('obs_dim')} != {obs_dim(policy_space)}"
    if card.get("nvec") not in (None, policy_space.nvec.tolist()):
        return "action space differs"
    return None


def pretrain(
    evaluators: Sequence[Evaluator],
    iterations: int = 60,
    seed: int = 0,
    out_dir: Optional[Path] = None,
    batch: int = 128,
    horizon: int = 4,
    log: Optional[Callable[[str], None]] = print,
    extra_card: Optional[dict] = None,
    p_no_targets: float = 0.5,
    target_log_range: tuple = (-1.0, 0.5),
):
    """Train one policy across `evaluators` (workloads); returns (algo, history)."""
    ensure_ray()
    key = register_evaluators(f"pretrain-{uuid.uuid4().hex}", evaluators)
    policy_space = HardwareSpace()
    config = make_config(
        {"evaluators_key": key, "horizon": horizon, "preference": "mixed", "policy_space": policy_space,
         "targets": "random", "p_no_targets": p_no_targets, "target_log_range": tuple(target_log_range),
         "seed": seed},
        seed=seed, batch=batch,
    )
    algo = config.build_algo()
    history = []
    t0 = time.perf_counter()
    try:
        for it in range(iterations):
            res = algo.train()
            ret = res.get("env_runners", {}).get("episode_return_mean", float("nan"))
            history.append({"iteration": it + 1, "episode_return_mean": ret,
                            "simulated": sum(e.n_simulated for e in evaluators),
                            "wall_s": time.perf_counter() - t0})
            if log and (it + 1) % max(1, iterations // 10) == 0:
                log(f"pretrain it {it + 1}/{iterations}: mean episode return {ret:.3f}, "
                    f"simulated {history[-1]['simulated']}, {history[-1]['wall_s']:.0f} s")
        if out_dir is not None:
            import ray
            import torch

            card = {
                "algorithm": "PPO (RLlib new API stack)",
                "ray": ray.__version__,
                "torch": torch.__version__,
                "obs_dim": obs_dim(policy_space),
                "nvec": policy_space.nvec.tolist(),
                "hiddens": list(HIDDENS),
                "horizon": horizon,
                "iterations": iterations,
                "batch": batch,
                "seed": seed,
                "workloads": [e.name for e in evaluators],
                "preset": evaluators[0].preset,
                "semantics": evaluators[0].semantics,
                "targets": {"p_none": p_no_targets, "log10_range": list(target_log_range)},
                "history": history,
            }
            card.update(extra_card or {})
            save_policy(algo, out_dir, card)
    finally:
        unregister_evaluators(key)
    return algo, history


@dataclass
class PolicyCarry:
    """What one RL search hands to the next search of the same run (co-exploration's warm start).

    With `keep_weights` the next search starts from this one's policy weights instead of its
    checkpoint; with `keep_critic` the next search's design critic (`agent.critic`) also fits the
    designs of the last `max_critic_searches` searches, each workload with a level of its own."""

    keep_weights: bool = True
    keep_critic: bool = False
    max_critic_searches: int = 3
    weights: Optional[dict] = None
    critic_data: list = field(default_factory=list)  # (design dicts, log10 objectives) per search

    def add_designs(self, records) -> None:
        """Remember the designs that fit from a finished search (its archive records)."""
        fits = [r for r in records if r.fits]
        self.critic_data = (self.critic_data + [([dict(r.design) for r in fits],
                                                 [np.log10(r.objectives()).tolist() for r in fits])]
                            )[-self.max_critic_searches:]


def rl_search(
    evaluator: Evaluator,
    seed: int = 0,
    checkpoint: Optional[Path] = DEFAULT_CHECKPOINT,
    progress: Optional[Callable[[Evaluator], None]] = None,
    batch: int = 32,
    horizon: int = 4,
    max_proposals: Optional[int] = None,
    lr: float = 1e-3,
    edp_fraction: float = 0.5,
    patience: int = 20,
    preference=None,
    local_moves: Optional[int] = None,
    local_options: Optional[dict] = None,
    local_rounds: int = 4,
    pool: Optional[int] = None,
    carry: Optional[PolicyCarry] = None,
) -> Evaluator:
    """Search `evaluator`'s workload until its budget is spent, warm-started from `checkpoint`.

    Each iteration: one PPO iteration of `batch` policy proposals (episodes cycle through the
    preference vectors `agent.env.SWEEP_WEIGHTS` with ``preference="cycle"``, so the proposals
    sweep the front), then `local_moves` (default `batch`) archive moves in `local_rounds`
    rounds (`local_proposals`, with `local_options` as its keyword arguments: neighbours of the
    best designs and of the front's sparse regions, `pool` candidates per move screened by the
    design critic, `agent.critic`, refitted every round). Both go through the same evaluator
    and budget; the policy learns from its own proposals.

    With ``checkpoint=None`` (or a policy that does not match the space) the policy starts
    from scratch. The policy space is the default grid when the user's ranges are a subset of it
    (designs are projected onto the user's choices), else the user's own space. `preference`,
    `local_options` and `pool` default to `rl_settings(budget)` (chosen on the tuning workloads).
    With a `carry` (`PolicyCarry`) the search may start from the previous search's weights and
    screen with a critic that also knows the previous searches' designs; at the end `carry` holds
    what this search hands on.
    """
    studied = rl_settings(evaluator.budget)
    preference = studied["preference"] if preference is None else preference
    local_options = studied["local_options"] if local_options is None else local_options
    pool = studied["pool"] if pool is None else pool
    if evaluator.budget is None:
        raise ValueError("RL search needs an evaluator with a budget")
    ensure_ray()
    policy_space = HardwareSpace() if evaluator.space.is_default_grid_subset() else evaluator.space
    state = None
    if carry is not None and carry.keep_weights and carry.weights is not None:
        state = carry.weights
    elif checkpoint is not None and policy_space == HardwareSpace():
        state, card = load_policy(Path(checkpoint))
        why = _compatible(card, policy_space)
        if why:
            raise ValueError(f"pre-trained policy {checkpoint} does not match this search space: {why}")
    key = register_evaluators(f"search-{uuid.uuid4().hex}", [evaluator])
    config = make_config(
        {"evaluators_key": key, "horizon": horizon, "preference": preference, "edp_fraction": edp_fraction,
         "policy_space": policy_space, "seed": seed},
        seed=seed, batch=batch, lr=lr,
    )
    algo = config.build_algo()
    try:
        if state is not None:
            set_weights(algo, state)
        if carry is not None and carry.keep_critic and carry.critic_data:
            evaluator.critic_prior = list(carry.critic_data)
        cap = max_proposals or 50 * evaluator.budget
        n_local = batch if local_moves is None else int(local_moves)
        rng = np.random.default_rng(seed + 7919)
        stale = 0
        while not evaluator.exhausted and evaluator.n_proposals < cap and stale < patience:
            before = evaluator.n_simulated
            algo.train()
            for n_round in _split(n_local, local_rounds):
                if evaluator.exhausted:
                    break
                moves = local_proposals(evaluator, n_round, rng, pool=pool, **local_options)
                if moves:
                    evaluator.evaluate_batch(moves, proposer=MOVE_PROPOSER)
            stale = stale + 1 if evaluator.n_simulated == before else 0
            if progress:
                progress(evaluator)
        if carry is not None:
            if carry.keep_weights:
                carry.weights = get_weights(algo)
            if carry.keep_critic:
                carry.add_designs(evaluator.archive.records)
    finally:
        algo.stop()
        unregister_evaluators(key)
    return evaluator


def _split(n: int, rounds: int) -> list[int]:
    """`n` moves in `rounds` nearly equal positive parts."""
    rounds = max(1, min(int(rounds), n))
    return [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)] if n > 0 else []


def local_proposals(evaluator: Evaluator, n: int, rng: np.random.Generator, tries: int = 20,
                    p_best: float = 0.5, p_jump: float = 0.0, pool: int = 1,
                    constrained: bool = False) -> list:
    """Up to `n` new designs near the archive's best designs (mutations of one or two parameters).

    Parents: with probability `p_best` one of the 8 designs closest to the targets' best EDP
    (designs meeting the targets by EDP, then the others by target overshoot: constraint
    domination, as in NSGA-II), else one of the unconstrained Pareto front of the designs that
    fit, drawn with weights that favour its sparse regions and ends (crowding distance in the
    normalised objectives). Each child changes one parameter (two with probability 0.3): one step
    on its grid, or with probability `p_jump` (and always for a categorical one) a random value.
    Children already in the archive, repeated, or failing the analytic checks
    (`agent.space.check_design`, free for every method) are dropped.

    With ``pool > 1``, `pool` x `n` children are drawn and the design critic (`agent.critic`,
    fitted to the simulated designs) keeps `n`: the children of best-EDP parents with the best
    predicted EDP under the targets, and the children of front parents with the largest
    predicted hypervolume gain.

    With ``constrained`` the front parents and the hypervolume gain use the front of the designs
    that meet the targets (the benchmark's main metric) while any exist, else the unconstrained one.
    """
    cands = _neighbours(evaluator, n * max(1, pool), rng, tries, p_best, p_jump, constrained)
    if pool <= 1 or len(cands) <= n:
        return [c.action for c in cands[:n]]
    from agent.critic import fit_critic

    critic = fit_critic(evaluator)
    if not critic.ready:
        return [c.action for c in cands[:n]]
    return _screen(evaluator, critic, cands, n, p_best, int(rng.integers(1 << 31)), constrained)


class _Child(NamedTuple):
    """A candidate archive move, with what screening it needs (computed once, when drawn)."""

    action: np.ndarray
    kind: str  # "best" | "front": which parent pool it came from
    parent: object  # the parent's archive record
    parent_action: np.ndarray
    design: Architecture


def _front(archive, constrained: bool) -> list:
    """The front the moves aim at: of the designs meeting the targets (if asked and any do)."""
    return (archive.front(meeting_targets=True) if constrained else []) or archive.front()


def _neighbours(evaluator: Evaluator, n: int, rng: np.random.Generator, tries: int, p_best: float,
                p_jump: float, constrained: bool = False) -> list[_Child]:
    """Up to `n` distinct new children of the archive's best designs and front."""
    from agent.evaluator import arch_key
    from agent.space import check_design

    space = evaluator.space
    arch = evaluator.archive
    fits = arch.feasible()
    if not fits:
        return []
    best = sorted(fits, key=lambda r: (0.0, r.edp_js) if r.meets_targets else (r.overshoot, r.edp_js))[:8]
    front = _front(arch, constrained)
    weights = _crowding_weights(arch, front)
    nvec = space.nvec
    out, keys = [], set()
    for _ in range(n * tries):
        if len(out) >= n:
            break
        if rng.random() < p_best:
            kind, parent = "best", best[int(rng.integers(len(best)))]
        else:
            kind, parent = "front", front[int(rng.choice(len(front), p=weights))]
        pa = space.encode(Architecture(**parent.design))
        a = pa.copy()
        for _k in range(2 if rng.random() < 0.3 else 1):
            i = int(rng.integers(len(nvec)))
            if nvec[i] < 2:
                continue
            if space.params[i].grid == "categorical" or (p_jump > 0 and rng.random() < p_jump):
                a[i] = int(rng.integers(nvec[i]))
            else:
                a[i] = int(np.clip(a[i] + (1 if rng.random() < 0.5 else -1), 0, nvec[i] - 1))
        k = space.key(a)
        if k in keys:
            continue
        design = space.decode(a)
        if arch_key(design) in evaluator.cache or check_design(design, evaluator.needs):
            continue
        keys.add(k)
        out.append(_Child(a, kind, parent, pa, design))
    return out


def _screen(evaluator: Evaluator, critic, cands: list, n: int, p_best: float, seed: int,
            constrained: bool = False) -> list:
    """Keep `n` of the candidate children by the critic's predictions (see `local_proposals`)."""
    from agent.critic import edp_order, hv_gains

    acts = np.array([c.action for c in cands])
    parents = np.array([c.parent_action for c in cands])
    parent_logs = np.log10(np.array([c.parent.objectives() for c in cands]))
    pred = critic.predict_from_parent(acts, parents, parent_logs)
    for i, c in enumerate(cands):  # exact area where the engine gives it without simulating
        area = evaluator.area_mm2(c.design)
        if area is not None:
            pred[i, 2] = np.log10(area)
    kinds = np.array([c.kind for c in cands])
    best_idx = np.flatnonzero(kinds == "best")
    front_idx = np.flatnonzero(kinds == "front")
    n_best = min(len(best_idx), int(round(n * p_best)))
    limits = [None if v is None else float(np.log10(v)) for _, v in evaluator.targets.items()]
    chosen = list(best_idx[edp_order(pred[best_idx], limits)[:n_best]])
    norm = evaluator.archive.normaliser or evaluator.normaliser()
    front_u = norm(np.array([r.objectives() for r in _front(evaluator.archive, constrained)]))
    order = np.concatenate([front_idx, np.setdiff1d(best_idx, chosen)])  # front children first
    if order.size:
        picks, _ = hv_gains(front_u, norm(10.0 ** pred[order]), n - len(chosen), seed=seed)
        chosen += [int(order[i]) for i in picks]
    return [cands[i].action for i in chosen]


def _crowding_weights(archive, front: list) -> np.ndarray:
    """Selection weights over `front`: crowding distance (ends count as the largest), normalised."""
    m = len(front)
    if m <= 2:
        return np.full(m, 1.0 / m)
    u = archive.normaliser(np.array([r.objectives() for r in front])) if archive.normaliser else \
        np.log10(np.array([r.objectives() for r in front]))
    d = np.zeros(m)
    for j in range(u.shape[1]):
        order = np.argsort(u[:, j], kind="stable")
        span = max(1e-12, u[order[-1], j] - u[order[0], j])
        d[order[0]] = d[order[-1]] = np.inf
        d[order[1:-1]] += (u[order[2:], j] - u[order[:-2], j]) / span
    finite = d[np.isfinite(d)]
    cap = 2.0 * (finite.max() if finite.size else 1.0) + 1e-9
    d = np.where(np.isfinite(d), d, cap) + 1e-3
    return d / d.sum()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.rl", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pretrain", help="pre-train the shipped warm-start policy")
    p.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--preset", default=None)
    p.add_argument("--p-no-targets", type=float, default=0.5, help="share of episodes without targets")
    p.add_argument("--target-range", type=float, nargs=2, default=(-1.0, 0.5), metavar=("LO", "HI"),
                   help="targets drawn at 10^U(LO, HI) x the reference design's figure")
    p.add_argument("--surrogate", action="store_true", help="use the analytic surrogate, not the engine")
    p.add_argument("--full-space", action="store_true", help="pre-train on the full DESIGN.md grid "
                   "(default: the laptop space, agent.workloads.LAPTOP_RANGES)")
    args = parser.parse_args(argv)
    from agent import workloads

    space = HardwareSpace() if args.full_space else workloads.laptop_space()
    evs = workloads.training_evaluators(preset=args.preset, surrogate=args.surrogate, space=space)
    ensure_ray()
    t0 = time.perf_counter()
    algo, _ = pretrain(evs, iterations=args.iterations, seed=args.seed, out_dir=args.out, batch=args.batch,
                       p_no_targets=args.p_no_targets, target_log_range=tuple(args.target_range),
                       extra_card={"command": "python -m agent.rl " + " ".join(argv or sys.argv[1:]),
                                   "search_space": space.to_dict()})
    algo.stop()
    print(f"wrote {args.out / WEIGHTS_FILE} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
