"""Fixtures for the hardware-search tests: small workloads, surrogate evaluators, one Ray."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trueasync.workload import generate_conv, generate_mlp  # noqa: E402

from agent.evaluator import Evaluator  # noqa: E402
from agent.space import HardwareSpace  # noqa: E402
from agent.surrogate import surrogate_map, surrogate_simulate  # noqa: E402


def engine_available() -> bool:
    try:
        import trueasync._core  # noqa: F401
    except ImportError:
        return False
    return True


needs_engine = pytest.mark.skipif(not engine_available(), reason="trueasync._core (the Rust engine) is not built")


@pytest.fixture(scope="session")
def ray_session():
    import ray

    from agent.rl import ensure_ray

    ensure_ray(num_cpus=2)
    yield ray


@pytest.fixture(scope="session")
def small_mlp():
    return generate_mlp((64, 32, 10), timesteps=8, samples=2, seed=1)


@pytest.fixture(scope="session")
def small_conv():
    return generate_conv(in_shape=(8, 8, 2), out_channels=4, timesteps=6, samples=2, seed=2)


def surrogate_evaluator(workload, space=None, **kw) -> Evaluator:
    kw.setdefault("simulate", surrogate_simulate)
    kw.setdefault("map_network", surrogate_map)
    return Evaluator(workload, space or HardwareSpace(), **kw)


@pytest.fixture
def make_evaluator():
    return surrogate_evaluator


@pytest.fixture
def rng():
    return np.random.default_rng(0)
