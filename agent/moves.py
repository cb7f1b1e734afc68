"""The RL search without PPO: critic-screened archive moves started from random designs.

The ablation that tells what PPO adds to `agent.rl.rl_search`. Everything but the policy is the
same: the same archive moves (`agent.rl.local_proposals`, neighbours of the best designs and of
the front, screened by the design critic), the same rounds per iteration, the same evaluator and
budget. Where `rl_search` spends `batch` simulations per iteration on PPO proposals, this search
spends them on uniform random designs (proposer ``random-init`` for the first batch and
``random`` after), so it starts from random designs and keeps the same mix of new and local
designs.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from agent.evaluator import Evaluator

INIT_PROPOSER = "random-init"


def moves_search(
    evaluator: Evaluator,
    seed: int = 0,
    progress: Optional[Callable[[Evaluator], None]] = None,
    batch: int = 32,
    local_moves: Optional[int] = None,
    local_rounds: int = 4,
    pool: Optional[int] = None,
    local_options: Optional[dict] = None,
    max_proposals: Optional[int] = None,
    patience: int = 20,
) -> Evaluator:
    """`batch` random designs, then iterations of `local_moves` (default `batch`) critic-screened
    archive moves in `local_rounds` rounds (`pool` and `local_options` default to the RL
    search's studied settings, `agent.rl.rl_settings`)."""
    from agent.rl import MOVE_PROPOSER, _split, local_proposals, rl_settings

    if evaluator.budget is None:
        raise ValueError("the archive-move search needs an evaluator with a budget")
    space = evaluator.space
    rng_init = np.random.default_rng(seed)
    rng = np.random.default_rng(seed + 7919)  # the same stream rl_search gives its moves
    n_local = batch if local_moves is None else int(local_moves)
    studied = rl_settings(evaluator.budget)
    options = studied["local_options"] if local_options is None else local_options
    pool = studied["pool"] if pool is None else pool
    cap = max_proposals or 50 * evaluator.budget
    evaluator.evaluate_batch([space.sample(rng_init) for _ in range(batch)], proposer=INIT_PROPOSER)
    if progress:  # a budget the first batch spends ends the search here: report it all the same
        progress(evaluator)
    stale = 0
    while not evaluator.exhausted and evaluator.n_proposals < cap and stale < patience:
        before = evaluator.n_simulated
        for n_round in _split(n_local, local_rounds):
            if evaluator.exhausted:
                break
            moves = local_proposals(evaluator, n_round, rng, pool=pool, **options)
            if moves:
                evaluator.evaluate_batch(moves, proposer=MOVE_PROPOSER)
        if evaluator.n_simulated == before and not evaluator.exhausted:
            evaluator.evaluate_batch([space.sample(rng_init) for _ in range(batch)], proposer="random")
        stale = stale + 1 if evaluator.n_simulated == before else 0
        if progress:
            progress(evaluator)
    return evaluator
