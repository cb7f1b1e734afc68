"""Co-exploration of spiking networks and asynchronous chips as a library (docs/explore.md).

    from coexplore import ExploreSettings, InProcessTrainer, explore, preflight, start_run
    settings = ExploreSettings(candidates=4, budget=48).validated()
    trainer = InProcessTrainer()
    pre = preflight(settings, trainer)
    store = start_run(out, settings)
    result = explore(settings, store, out=out, trainer=trainer, preflight=pre, progress=print)

The command line (`ancoef explore`, `services/cmd_explore.py`) only parses options, calls these
and prints; the agent service calls the same functions.
"""

from coexplore.backends import (
    DataInfo,
    Exported,
    FixedPointEval,
    Inherited,
    InProcessTrainer,
    TrainerBackend,
    TrainOutcome,
)
from coexplore.phases import Preflight, preflight
from coexplore.progress import (
    Cancelled,
    LogEvent,
    PhaseEvent,
    ProgressEvent,
    SearchEvent,
    SimulationEvent,
    TrainingEvent,
)
from coexplore.records import Baseline, Candidate, FineTune, OnChipPoint, SearchOutcome
from coexplore.report import without_timings
from coexplore.run import ExploreResult, explore, resume_run, start_run
from coexplore.settings import ExploreSettings

__all__ = [
    "Baseline", "Cancelled", "Candidate", "DataInfo", "ExploreResult", "ExploreSettings", "Exported", "FineTune",
    "FixedPointEval", "InProcessTrainer", "Inherited", "LogEvent", "OnChipPoint", "PhaseEvent", "Preflight",
    "ProgressEvent", "SearchEvent", "SearchOutcome", "SimulationEvent", "TrainOutcome", "TrainerBackend",
    "TrainingEvent", "explore", "preflight", "resume_run", "start_run", "without_timings",
]
