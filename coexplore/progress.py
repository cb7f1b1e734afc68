"""Typed progress events of a run, and cancellation.

A caller passes ``progress=callable(event)`` and ``cancel=`` a callable returning True or a
`threading.Event`; the run checks it between steps (simulations, training steps) and raises
`Cancelled`, leaving the store resumable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional, Union


class Cancelled(Exception):
    """The run was cancelled between two steps; every finished step is in the store."""


@dataclass(frozen=True)
class PhaseEvent:
    """A phase started: `index` of `total` (the phases of docs/explore.md)."""

    phase: str
    index: int
    total: int
    message: str


@dataclass(frozen=True)
class LogEvent:
    level: str  # info | warning
    message: str


@dataclass(frozen=True)
class TrainingEvent:
    job: str  # supernet, qat/c1, ...
    step: int
    steps: int


@dataclass(frozen=True)
class SearchEvent:
    flow: str  # coexploration | sequential
    candidate: str
    simulations_done: int
    budget: int
    best_edp_js: Optional[float]  # lowest EDP meeting the targets so far
    hypervolume: float  # normalised (agent.pareto)


@dataclass(frozen=True)
class SimulationEvent:
    """Test-split simulations of a flow: `done` of `total` designs."""

    flow: str
    done: int
    total: int


ProgressEvent = Union[PhaseEvent, LogEvent, TrainingEvent, SearchEvent, SimulationEvent]
CancelCheck = Union[Callable[[], bool], threading.Event, None]


def cancel_check(cancel: CancelCheck) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    if not callable(cancel):
        raise TypeError("cancel must be a callable returning bool or a threading.Event")
    return lambda: bool(cancel())
