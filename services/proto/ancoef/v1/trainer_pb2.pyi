from services.proto.ancoef.v1 import operation_pb2 as _operation_pb2
from services.proto.ancoef.v1 import simulator_pb2 as _simulator_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrainingSpec(_message.Message):
    __slots__ = ("dataset", "data_root", "seed", "epochs", "qat_epochs", "search_epochs", "weight_bits", "timesteps", "tau", "ops", "widths", "batch_size", "learning_rate", "limit_samples", "budget_s", "downsample", "threads")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATA_ROOT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    QAT_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    TIMESTEPS_FIELD_NUMBER: _ClassVar[int]
    TAU_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    WIDTHS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_S_FIELD_NUMBER: _ClassVar[int]
    DOWNSAMPLE_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    data_root: str
    seed: int
    epochs: float
    qat_epochs: float
    search_epochs: float
    weight_bits: int
    timesteps: int
    tau: float
    ops: _containers.RepeatedScalarFieldContainer[str]
    widths: _containers.RepeatedScalarFieldContainer[int]
    batch_size: int
    learning_rate: float
    limit_samples: int
    budget_s: float
    downsample: int
    threads: int
    def __init__(self, dataset: _Optional[str] = ..., data_root: _Optional[str] = ..., seed: _Optional[int] = ..., epochs: _Optional[float] = ..., qat_epochs: _Optional[float] = ..., search_epochs: _Optional[float] = ..., weight_bits: _Optional[int] = ..., timesteps: _Optional[int] = ..., tau: _Optional[float] = ..., ops: _Optional[_Iterable[str]] = ..., widths: _Optional[_Iterable[int]] = ..., batch_size: _Optional[int] = ..., learning_rate: _Optional[float] = ..., limit_samples: _Optional[int] = ..., budget_s: _Optional[float] = ..., downsample: _Optional[int] = ..., threads: _Optional[int] = ...) -> None: ...

class StartTrainingRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: TrainingSpec
    def __init__(self, spec: _Optional[_Union[TrainingSpec, _Mapping]] = ...) -> None: ...

class StartTrainingResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...

class TrainingProgress(_message.Message):
    __slots__ = ("phase", "epoch", "step", "total_steps", "loss", "val_accuracy_ratio", "eta_s", "elapsed_s")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    VAL_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    ETA_S_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    phase: str
    epoch: float
    step: int
    total_steps: int
    loss: float
    val_accuracy_ratio: float
    eta_s: float
    elapsed_s: float
    def __init__(self, phase: _Optional[str] = ..., epoch: _Optional[float] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., loss: _Optional[float] = ..., val_accuracy_ratio: _Optional[float] = ..., eta_s: _Optional[float] = ..., elapsed_s: _Optional[float] = ...) -> None: ...

class TrainingMetrics(_message.Message):
    __slots__ = ("float_val_accuracy_ratio", "quant_val_accuracy_ratio", "fixed_point_val_accuracy_ratio", "train_steps", "total_s", "neurons", "weight_bits", "timesteps", "dataset")
    FLOAT_VAL_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    QUANT_VAL_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    FIXED_POINT_VAL_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    TRAIN_STEPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_S_FIELD_NUMBER: _ClassVar[int]
    NEURONS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    TIMESTEPS_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    float_val_accuracy_ratio: float
    quant_val_accuracy_ratio: float
    fixed_point_val_accuracy_ratio: float
    train_steps: int
    total_s: float
    neurons: int
    weight_bits: int
    timesteps: int
    dataset: str
    def __init__(self, float_val_accuracy_ratio: _Optional[float] = ..., quant_val_accuracy_ratio: _Optional[float] = ..., fixed_point_val_accuracy_ratio: _Optional[float] = ..., train_steps: _Optional[int] = ..., total_s: _Optional[float] = ..., neurons: _Optional[int] = ..., weight_bits: _Optional[int] = ..., timesteps: _Optional[int] = ..., dataset: _Optional[str] = ...) -> None: ...

class WatchTrainingRequest(_message.Message):
    __slots__ = ("operation_id",)
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class WatchTrainingResponse(_message.Message):
    __slots__ = ("operation", "progress", "metrics")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    progress: TrainingProgress
    metrics: TrainingMetrics
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ..., progress: _Optional[_Union[TrainingProgress, _Mapping]] = ..., metrics: _Optional[_Union[TrainingMetrics, _Mapping]] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("operation_id", "split", "limit_samples", "dataset", "data_root")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATA_ROOT_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    split: str
    limit_samples: int
    dataset: str
    data_root: str
    def __init__(self, operation_id: _Optional[str] = ..., split: _Optional[str] = ..., limit_samples: _Optional[int] = ..., dataset: _Optional[str] = ..., data_root: _Optional[str] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("samples", "fixed_point_accuracy_ratio", "quantised_model_accuracy_ratio", "quantised_model_counts_equal_fixed_point", "weight_bits", "timesteps")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    FIXED_POINT_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    QUANTISED_MODEL_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    QUANTISED_MODEL_COUNTS_EQUAL_FIXED_POINT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    TIMESTEPS_FIELD_NUMBER: _ClassVar[int]
    samples: int
    fixed_point_accuracy_ratio: float
    quantised_model_accuracy_ratio: float
    quantised_model_counts_equal_fixed_point: bool
    weight_bits: int
    timesteps: int
    def __init__(self, samples: _Optional[int] = ..., fixed_point_accuracy_ratio: _Optional[float] = ..., quantised_model_accuracy_ratio: _Optional[float] = ..., quantised_model_counts_equal_fixed_point: _Optional[bool] = ..., weight_bits: _Optional[int] = ..., timesteps: _Optional[int] = ...) -> None: ...

class ExportNetworkRequest(_message.Message):
    __slots__ = ("operation_id", "split", "limit_samples", "dataset", "data_root")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATA_ROOT_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    split: str
    limit_samples: int
    dataset: str
    data_root: str
    def __init__(self, operation_id: _Optional[str] = ..., split: _Optional[str] = ..., limit_samples: _Optional[int] = ..., dataset: _Optional[str] = ..., data_root: _Optional[str] = ...) -> None: ...

class ExportNetworkResponse(_message.Message):
    __slots__ = ("network", "input", "labels", "architecture", "weight_bits", "layer_scales")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    LAYER_SCALES_FIELD_NUMBER: _ClassVar[int]
    network: _simulator_pb2.Network
    input: _simulator_pb2.SpikeInput
    labels: _containers.RepeatedScalarFieldContainer[int]
    architecture: _simulator_pb2.Architecture
    weight_bits: int
    layer_scales: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, network: _Optional[_Union[_simulator_pb2.Network, _Mapping]] = ..., input: _Optional[_Union[_simulator_pb2.SpikeInput, _Mapping]] = ..., labels: _Optional[_Iterable[int]] = ..., architecture: _Optional[_Union[_simulator_pb2.Architecture, _Mapping]] = ..., weight_bits: _Optional[int] = ..., layer_scales: _Optional[_Iterable[float]] = ...) -> None: ...

class CancelTrainingRequest(_message.Message):
    __slots__ = ("operation_id",)
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    def __init__(self, operation_id: _Optional[str] = ...) -> None: ...

class CancelTrainingResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...
