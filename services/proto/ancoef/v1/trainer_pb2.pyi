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

class OpenTrainingSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OpenTrainingSessionResponse(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CloseTrainingSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CloseTrainingSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TrainingData(_message.Message):
    __slots__ = ("dataset", "data_root", "limit_samples", "test_limit_samples", "downsample", "encoding", "seed", "calib_samples", "batch_size", "torch_threads")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATA_ROOT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    TEST_LIMIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DOWNSAMPLE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CALIB_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    TORCH_THREADS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    data_root: str
    limit_samples: int
    test_limit_samples: int
    downsample: int
    encoding: str
    seed: int
    calib_samples: int
    batch_size: int
    torch_threads: int
    def __init__(self, dataset: _Optional[str] = ..., data_root: _Optional[str] = ..., limit_samples: _Optional[int] = ..., test_limit_samples: _Optional[int] = ..., downsample: _Optional[int] = ..., encoding: _Optional[str] = ..., seed: _Optional[int] = ..., calib_samples: _Optional[int] = ..., batch_size: _Optional[int] = ..., torch_threads: _Optional[int] = ...) -> None: ...

class LoadTrainingDataRequest(_message.Message):
    __slots__ = ("session_id", "data")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    data: TrainingData
    def __init__(self, session_id: _Optional[str] = ..., data: _Optional[_Union[TrainingData, _Mapping]] = ...) -> None: ...

class LoadTrainingDataResponse(_message.Message):
    __slots__ = ("dataset", "input_shape_chw", "classes", "fit_samples", "validation_samples", "test_samples", "calibration_samples", "steps_per_epoch", "test_labels", "fingerprint_sha256", "snn_space_json")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_CHW_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    FIT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    TEST_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    STEPS_PER_EPOCH_FIELD_NUMBER: _ClassVar[int]
    TEST_LABELS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SNN_SPACE_JSON_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    input_shape_chw: _containers.RepeatedScalarFieldContainer[int]
    classes: int
    fit_samples: int
    validation_samples: int
    test_samples: int
    calibration_samples: int
    steps_per_epoch: int
    test_labels: _containers.RepeatedScalarFieldContainer[int]
    fingerprint_sha256: str
    snn_space_json: str
    def __init__(self, dataset: _Optional[str] = ..., input_shape_chw: _Optional[_Iterable[int]] = ..., classes: _Optional[int] = ..., fit_samples: _Optional[int] = ..., validation_samples: _Optional[int] = ..., test_samples: _Optional[int] = ..., calibration_samples: _Optional[int] = ..., steps_per_epoch: _Optional[int] = ..., test_labels: _Optional[_Iterable[int]] = ..., fingerprint_sha256: _Optional[str] = ..., snn_space_json: _Optional[str] = ...) -> None: ...

class NewSupernetRequest(_message.Message):
    __slots__ = ("session_id", "seed")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    seed: int
    def __init__(self, session_id: _Optional[str] = ..., seed: _Optional[int] = ...) -> None: ...

class NewSupernetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TrainingChunk(_message.Message):
    __slots__ = ("resume_state", "checkpoint_every_steps", "stop_now")
    RESUME_STATE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    STOP_NOW_FIELD_NUMBER: _ClassVar[int]
    resume_state: bytes
    checkpoint_every_steps: int
    stop_now: bool
    def __init__(self, resume_state: _Optional[bytes] = ..., checkpoint_every_steps: _Optional[int] = ..., stop_now: _Optional[bool] = ...) -> None: ...

class TrainingChunkResult(_message.Message):
    __slots__ = ("finished", "steps_done", "state", "loss_last", "epochs", "start_step")
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STEPS_DONE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LOSS_LAST_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    START_STEP_FIELD_NUMBER: _ClassVar[int]
    finished: bool
    steps_done: int
    state: bytes
    loss_last: float
    epochs: float
    start_step: int
    def __init__(self, finished: _Optional[bool] = ..., steps_done: _Optional[int] = ..., state: _Optional[bytes] = ..., loss_last: _Optional[float] = ..., epochs: _Optional[float] = ..., start_step: _Optional[int] = ...) -> None: ...

class TrainSupernetRequest(_message.Message):
    __slots__ = ("session_id", "steps", "learning_rate", "batch_size", "seed", "chunk")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    steps: int
    learning_rate: float
    batch_size: int
    seed: int
    chunk: TrainingChunk
    def __init__(self, session_id: _Optional[str] = ..., steps: _Optional[int] = ..., learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., seed: _Optional[int] = ..., chunk: _Optional[_Union[TrainingChunk, _Mapping]] = ...) -> None: ...

class TrainSupernetResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: TrainingChunkResult
    def __init__(self, result: _Optional[_Union[TrainingChunkResult, _Mapping]] = ...) -> None: ...

class InheritSubnetRequest(_message.Message):
    __slots__ = ("session_id", "name", "config_json")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    config_json: str
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., config_json: _Optional[str] = ...) -> None: ...

class InheritSubnetResponse(_message.Message):
    __slots__ = ("accuracy_ratio", "spikes_per_layer", "synaptic_ops")
    ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    SPIKES_PER_LAYER_FIELD_NUMBER: _ClassVar[int]
    SYNAPTIC_OPS_FIELD_NUMBER: _ClassVar[int]
    accuracy_ratio: float
    spikes_per_layer: _containers.RepeatedScalarFieldContainer[float]
    synaptic_ops: float
    def __init__(self, accuracy_ratio: _Optional[float] = ..., spikes_per_layer: _Optional[_Iterable[float]] = ..., synaptic_ops: _Optional[float] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ("session_id", "name", "weight_bits", "split")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    weight_bits: int
    split: str
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., weight_bits: _Optional[int] = ..., split: _Optional[str] = ...) -> None: ...

class ExportModelResponse(_message.Message):
    __slots__ = ("network", "input", "meta_json")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    META_JSON_FIELD_NUMBER: _ClassVar[int]
    network: _simulator_pb2.Network
    input: _simulator_pb2.SpikeInput
    meta_json: str
    def __init__(self, network: _Optional[_Union[_simulator_pb2.Network, _Mapping]] = ..., input: _Optional[_Union[_simulator_pb2.SpikeInput, _Mapping]] = ..., meta_json: _Optional[str] = ...) -> None: ...

class FinetuneModelRequest(_message.Message):
    __slots__ = ("session_id", "name", "weight_bits", "steps", "batch_size", "seed", "chunk")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    weight_bits: int
    steps: int
    batch_size: int
    seed: int
    chunk: TrainingChunk
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., weight_bits: _Optional[int] = ..., steps: _Optional[int] = ..., batch_size: _Optional[int] = ..., seed: _Optional[int] = ..., chunk: _Optional[_Union[TrainingChunk, _Mapping]] = ...) -> None: ...

class FinetuneModelResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: TrainingChunkResult
    def __init__(self, result: _Optional[_Union[TrainingChunkResult, _Mapping]] = ...) -> None: ...

class TestFixedPointRequest(_message.Message):
    __slots__ = ("session_id", "name", "weight_bits", "network", "input")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    weight_bits: int
    network: _simulator_pb2.Network
    input: _simulator_pb2.SpikeInput
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., weight_bits: _Optional[int] = ..., network: _Optional[_Union[_simulator_pb2.Network, _Mapping]] = ..., input: _Optional[_Union[_simulator_pb2.SpikeInput, _Mapping]] = ...) -> None: ...

class TestFixedPointResponse(_message.Message):
    __slots__ = ("accuracy_ratio", "output_spike_counts", "classes", "qat_model_accuracy_ratio", "qat_model_counts_equal")
    ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SPIKE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    QAT_MODEL_ACCURACY_RATIO_FIELD_NUMBER: _ClassVar[int]
    QAT_MODEL_COUNTS_EQUAL_FIELD_NUMBER: _ClassVar[int]
    accuracy_ratio: float
    output_spike_counts: _containers.RepeatedScalarFieldContainer[int]
    classes: int
    qat_model_accuracy_ratio: float
    qat_model_counts_equal: bool
    def __init__(self, accuracy_ratio: _Optional[float] = ..., output_spike_counts: _Optional[_Iterable[int]] = ..., classes: _Optional[int] = ..., qat_model_accuracy_ratio: _Optional[float] = ..., qat_model_counts_equal: _Optional[bool] = ...) -> None: ...

class GetModelStateRequest(_message.Message):
    __slots__ = ("session_id", "name")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetModelStateResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: bytes
    def __init__(self, state: _Optional[bytes] = ...) -> None: ...

class LoadModelStateRequest(_message.Message):
    __slots__ = ("session_id", "name", "state")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    state: bytes
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[bytes] = ...) -> None: ...

class LoadModelStateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
