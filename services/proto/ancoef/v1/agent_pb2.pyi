from services.proto.ancoef.v1 import operation_pb2 as _operation_pb2
from services.proto.ancoef.v1 import simulator_pb2 as _simulator_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEARCH_ALGORITHM_UNSPECIFIED: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_RL: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_NSGA2: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_RANDOM: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_TPE: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_MOVES: _ClassVar[SearchAlgorithm]
SEARCH_ALGORITHM_UNSPECIFIED: SearchAlgorithm
SEARCH_ALGORITHM_RL: SearchAlgorithm
SEARCH_ALGORITHM_NSGA2: SearchAlgorithm
SEARCH_ALGORITHM_RANDOM: SearchAlgorithm
SEARCH_ALGORITHM_TPE: SearchAlgorithm
SEARCH_ALGORITHM_MOVES: SearchAlgorithm

class Targets(_message.Message):
    __slots__ = ("max_energy_j", "max_latency_s", "max_area_mm2")
    MAX_ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    MAX_AREA_MM2_FIELD_NUMBER: _ClassVar[int]
    max_energy_j: float
    max_latency_s: float
    max_area_mm2: float
    def __init__(self, max_energy_j: _Optional[float] = ..., max_latency_s: _Optional[float] = ..., max_area_mm2: _Optional[float] = ...) -> None: ...

class ParameterRange(_message.Message):
    __slots__ = ("parameter", "range")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    range: str
    def __init__(self, parameter: _Optional[str] = ..., range: _Optional[str] = ...) -> None: ...

class SearchWorkload(_message.Message):
    __slots__ = ("network", "input")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    network: _simulator_pb2.Network
    input: _simulator_pb2.SpikeInput
    def __init__(self, network: _Optional[_Union[_simulator_pb2.Network, _Mapping]] = ..., input: _Optional[_Union[_simulator_pb2.SpikeInput, _Mapping]] = ...) -> None: ...

class SearchSpec(_message.Message):
    __slots__ = ("workload", "training_operation_id", "algorithm", "budget_simulations", "seed", "targets", "preset", "cost_model", "semantics", "ranges", "limit_samples", "limit_steps")
    WORKLOAD_FIELD_NUMBER: _ClassVar[int]
    TRAINING_OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SIMULATIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    COST_MODEL_FIELD_NUMBER: _ClassVar[int]
    SEMANTICS_FIELD_NUMBER: _ClassVar[int]
    RANGES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_STEPS_FIELD_NUMBER: _ClassVar[int]
    workload: SearchWorkload
    training_operation_id: str
    algorithm: SearchAlgorithm
    budget_simulations: int
    seed: int
    targets: Targets
    preset: str
    cost_model: _simulator_pb2.CostModel
    semantics: _simulator_pb2.Semantics
    ranges: _containers.RepeatedCompositeFieldContainer[ParameterRange]
    limit_samples: int
    limit_steps: int
    def __init__(self, workload: _Optional[_Union[SearchWorkload, _Mapping]] = ..., training_operation_id: _Optional[str] = ..., algorithm: _Optional[_Union[SearchAlgorithm, str]] = ..., budget_simulations: _Optional[int] = ..., seed: _Optional[int] = ..., targets: _Optional[_Union[Targets, _Mapping]] = ..., preset: _Optional[str] = ..., cost_model: _Optional[_Union[_simulator_pb2.CostModel, _Mapping]] = ..., semantics: _Optional[_Union[_simulator_pb2.Semantics, str]] = ..., ranges: _Optional[_Iterable[_Union[ParameterRange, _Mapping]]] = ..., limit_samples: _Optional[int] = ..., limit_steps: _Optional[int] = ...) -> None: ...

class StartSearchRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: SearchSpec
    def __init__(self, spec: _Optional[_Union[SearchSpec, _Mapping]] = ...) -> None: ...

class StartSearchResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...

class ExplorationSpec(_message.Message):
    __slots__ = ("dataset", "data_root", "seed", "candidates", "budget_simulations", "algorithm", "weight_bits", "targets", "budget_minutes", "limit_samples", "test_limit_samples", "preset", "calib_samples", "designs_per_survivor", "screen", "warm_start", "skip_baselines")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATA_ROOT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SIMULATIONS_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    TEST_LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    CALIB_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DESIGNS_PER_SURVIVOR_FIELD_NUMBER: _ClassVar[int]
    SCREEN_FIELD_NUMBER: _ClassVar[int]
    WARM_START_FIELD_NUMBER: _ClassVar[int]
    SKIP_BASELINES_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    data_root: str
    seed: int
    candidates: int
    budget_simulations: int
    algorithm: SearchAlgorithm
    weight_bits: int
    targets: Targets
    budget_minutes: float
    limit_samples: int
    test_limit_samples: int
    preset: str
    calib_samples: int
    designs_per_survivor: int
    screen: int
    warm_start: str
    skip_baselines: bool
    def __init__(self, dataset: _Optional[str] = ..., data_root: _Optional[str] = ..., seed: _Optional[int] = ..., candidates: _Optional[int] = ..., budget_simulations: _Optional[int] = ..., algorithm: _Optional[_Union[SearchAlgorithm, str]] = ..., weight_bits: _Optional[int] = ..., targets: _Optional[_Union[Targets, _Mapping]] = ..., budget_minutes: _Optional[float] = ..., limit_samples: _Optional[int] = ..., test_limit_samples: _Optional[int] = ..., preset: _Optional[str] = ..., calib_samples: _Optional[int] = ..., designs_per_survivor: _Optional[int] = ..., screen: _Optional[int] = ..., warm_start: _Optional[str] = ..., skip_baselines: _Optional[bool] = ...) -> None: ...

class StartExplorationRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: ExplorationSpec
    def __init__(self, spec: _Optional[_Union[ExplorationSpec, _Mapping]] = ...) -> None: ...

class StartExplorationResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...

class WatchOperationRequest(_message.Message):
    __slots__ = ("operation_id",)
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class SearchProgress(_message.Message):
    __slots__ = ("phase", "simulations_done", "budget_simulations", "best_edp_js", "hypervolume", "candidate", "elapsed_s")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SIMULATIONS_DONE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SIMULATIONS_FIELD_NUMBER: _ClassVar[int]
    BEST_EDP_JS_FIELD_NUMBER: _ClassVar[int]
    HYPERVOLUME_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    phase: str
    simulations_done: int
    budget_simulations: int
    best_edp_js: float
    hypervolume: float
    candidate: str
    elapsed_s: float
    def __init__(self, phase: _Optional[str] = ..., simulations_done: _Optional[int] = ..., budget_simulations: _Optional[int] = ..., best_edp_js: _Optional[float] = ..., hypervolume: _Optional[float] = ..., candidate: _Optional[str] = ..., elapsed_s: _Optional[float] = ...) -> None: ...

class WatchOperationResponse(_message.Message):
    __slots__ = ("operation", "progress")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    progress: SearchProgress
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ..., progress: _Optional[_Union[SearchProgress, _Mapping]] = ...) -> None: ...

class GetFrontRequest(_message.Message):
    __slots__ = ("operation_id",)
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class FrontPoint(_message.Message):
    __slots__ = ("architecture", "energy_j", "latency_s", "edp_js", "area_mm2", "meets_targets", "accuracy_ratio", "candidate")
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    EDP_JS_FIELD_NUMBER: _ClassVar[int]
    AREA_MM2_FIELD_NUMBER: _ClassVar[int]
    MEETS_TARGETS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    architecture: _simulator_pb2.Architecture
    energy_j: float
    latency_s: float
    edp_js: float
    area_mm2: float
    meets_targets: bool
    accuracy_ratio: float
    candidate: str
    def __init__(self, architecture: _Optional[_Union[_simulator_pb2.Architecture, _Mapping]] = ..., energy_j: _Optional[float] = ..., latency_s: _Optional[float] = ..., edp_js: _Optional[float] = ..., area_mm2: _Optional[float] = ..., meets_targets: _Optional[bool] = ..., accuracy_ratio: _Optional[float] = ..., candidate: _Optional[str] = ...) -> None: ...

class GetFrontResponse(_message.Message):
    __slots__ = ("operation", "points")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    points: _containers.RepeatedCompositeFieldContainer[FrontPoint]
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ..., points: _Optional[_Iterable[_Union[FrontPoint, _Mapping]]] = ...) -> None: ...

class CancelOperationRequest(_message.Message):
    __slots__ = ("operation_id",)
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class CancelOperationResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...

class ResumeOperationRequest(_message.Message):
    __slots__ = ("operation_id",)
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class ResumeOperationResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...

class ListOperationsRequest(_message.Message):
    __slots__ = ("kind", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: _operation_pb2.OperationKind
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[_Union[_operation_pb2.OperationKind, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOperationsResponse(_message.Message):
    __slots__ = ("operations", "next_page_token")
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    operations: _containers.RepeatedCompositeFieldContainer[_operation_pb2.Operation]
    next_page_token: str
    def __init__(self, operations: _Optional[_Iterable[_Union[_operation_pb2.Operation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
