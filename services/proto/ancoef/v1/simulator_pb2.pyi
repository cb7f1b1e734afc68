from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Semantics(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEMANTICS_UNSPECIFIED: _ClassVar[Semantics]
    SEMANTICS_TIMESTEP: _ClassVar[Semantics]
    SEMANTICS_SANAFE: _ClassVar[Semantics]

class Schedule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_UNSPECIFIED: _ClassVar[Schedule]
    SCHEDULE_ASYNCHRONOUS: _ClassVar[Schedule]
    SCHEDULE_CLOCKED: _ClassVar[Schedule]

class MappingPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAPPING_POLICY_UNSPECIFIED: _ClassVar[MappingPolicy]
    MAPPING_POLICY_PACKED: _ClassVar[MappingPolicy]
    MAPPING_POLICY_SPREAD: _ClassVar[MappingPolicy]
    MAPPING_POLICY_LOCALITY: _ClassVar[MappingPolicy]

class ResetMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESET_MODE_UNSPECIFIED: _ClassVar[ResetMode]
    RESET_MODE_HARD: _ClassVar[ResetMode]
    RESET_MODE_SUBTRACT: _ClassVar[ResetMode]
SEMANTICS_UNSPECIFIED: Semantics
SEMANTICS_TIMESTEP: Semantics
SEMANTICS_SANAFE: Semantics
SCHEDULE_UNSPECIFIED: Schedule
SCHEDULE_ASYNCHRONOUS: Schedule
SCHEDULE_CLOCKED: Schedule
MAPPING_POLICY_UNSPECIFIED: MappingPolicy
MAPPING_POLICY_PACKED: MappingPolicy
MAPPING_POLICY_SPREAD: MappingPolicy
MAPPING_POLICY_LOCALITY: MappingPolicy
RESET_MODE_UNSPECIFIED: ResetMode
RESET_MODE_HARD: ResetMode
RESET_MODE_SUBTRACT: ResetMode

class Architecture(_message.Message):
    __slots__ = ("mesh_width", "mesh_height", "cores_per_tile", "neurons_per_core", "synapse_memory_kib", "weight_bits", "synapse_lanes", "fifo_depth", "link_width_bits", "voltage_v", "mapping")
    MESH_WIDTH_FIELD_NUMBER: _ClassVar[int]
    MESH_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CORES_PER_TILE_FIELD_NUMBER: _ClassVar[int]
    NEURONS_PER_CORE_FIELD_NUMBER: _ClassVar[int]
    SYNAPSE_MEMORY_KIB_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    SYNAPSE_LANES_FIELD_NUMBER: _ClassVar[int]
    FIFO_DEPTH_FIELD_NUMBER: _ClassVar[int]
    LINK_WIDTH_BITS_FIELD_NUMBER: _ClassVar[int]
    VOLTAGE_V_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    mesh_width: int
    mesh_height: int
    cores_per_tile: int
    neurons_per_core: int
    synapse_memory_kib: int
    weight_bits: int
    synapse_lanes: int
    fifo_depth: int
    link_width_bits: int
    voltage_v: float
    mapping: MappingPolicy
    def __init__(self, mesh_width: _Optional[int] = ..., mesh_height: _Optional[int] = ..., cores_per_tile: _Optional[int] = ..., neurons_per_core: _Optional[int] = ..., synapse_memory_kib: _Optional[int] = ..., weight_bits: _Optional[int] = ..., synapse_lanes: _Optional[int] = ..., fifo_depth: _Optional[int] = ..., link_width_bits: _Optional[int] = ..., voltage_v: _Optional[float] = ..., mapping: _Optional[_Union[MappingPolicy, str]] = ...) -> None: ...

class Shape(_message.Message):
    __slots__ = ("height", "width", "channels")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    height: int
    width: int
    channels: int
    def __init__(self, height: _Optional[int] = ..., width: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class InputLayer(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LifLayer(_message.Message):
    __slots__ = ("threshold", "leak_num", "leak_shift", "bias", "reset_mode", "reset_value")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    LEAK_NUM_FIELD_NUMBER: _ClassVar[int]
    LEAK_SHIFT_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    RESET_MODE_FIELD_NUMBER: _ClassVar[int]
    RESET_VALUE_FIELD_NUMBER: _ClassVar[int]
    threshold: int
    leak_num: int
    leak_shift: int
    bias: int
    reset_mode: ResetMode
    reset_value: int
    def __init__(self, threshold: _Optional[int] = ..., leak_num: _Optional[int] = ..., leak_shift: _Optional[int] = ..., bias: _Optional[int] = ..., reset_mode: _Optional[_Union[ResetMode, str]] = ..., reset_value: _Optional[int] = ...) -> None: ...

class Layer(_message.Message):
    __slots__ = ("name", "size", "shape", "input", "lif")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LIF_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    shape: Shape
    input: InputLayer
    lif: LifLayer
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., shape: _Optional[_Union[Shape, _Mapping]] = ..., input: _Optional[_Union[InputLayer, _Mapping]] = ..., lif: _Optional[_Union[LifLayer, _Mapping]] = ...) -> None: ...

class DenseConnectivity(_message.Message):
    __slots__ = ("weights",)
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, weights: _Optional[_Iterable[int]] = ...) -> None: ...

class Conv2dConnectivity(_message.Message):
    __slots__ = ("weights", "out_channels", "in_channels", "kernel_h", "kernel_w", "stride", "padding")
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    OUT_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    IN_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    KERNEL_H_FIELD_NUMBER: _ClassVar[int]
    KERNEL_W_FIELD_NUMBER: _ClassVar[int]
    STRIDE_FIELD_NUMBER: _ClassVar[int]
    PADDING_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.RepeatedScalarFieldContainer[int]
    out_channels: int
    in_channels: int
    kernel_h: int
    kernel_w: int
    stride: int
    padding: int
    def __init__(self, weights: _Optional[_Iterable[int]] = ..., out_channels: _Optional[int] = ..., in_channels: _Optional[int] = ..., kernel_h: _Optional[int] = ..., kernel_w: _Optional[int] = ..., stride: _Optional[int] = ..., padding: _Optional[int] = ...) -> None: ...

class SparseConnectivity(_message.Message):
    __slots__ = ("pre_index", "post_index", "weights")
    PRE_INDEX_FIELD_NUMBER: _ClassVar[int]
    POST_INDEX_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    pre_index: _containers.RepeatedScalarFieldContainer[int]
    post_index: _containers.RepeatedScalarFieldContainer[int]
    weights: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, pre_index: _Optional[_Iterable[int]] = ..., post_index: _Optional[_Iterable[int]] = ..., weights: _Optional[_Iterable[int]] = ...) -> None: ...

class Projection(_message.Message):
    __slots__ = ("pre", "post", "dense", "conv2d", "sparse")
    PRE_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    DENSE_FIELD_NUMBER: _ClassVar[int]
    CONV2D_FIELD_NUMBER: _ClassVar[int]
    SPARSE_FIELD_NUMBER: _ClassVar[int]
    pre: str
    post: str
    dense: DenseConnectivity
    conv2d: Conv2dConnectivity
    sparse: SparseConnectivity
    def __init__(self, pre: _Optional[str] = ..., post: _Optional[str] = ..., dense: _Optional[_Union[DenseConnectivity, _Mapping]] = ..., conv2d: _Optional[_Union[Conv2dConnectivity, _Mapping]] = ..., sparse: _Optional[_Union[SparseConnectivity, _Mapping]] = ...) -> None: ...

class Network(_message.Message):
    __slots__ = ("name", "weight_scale", "layers", "projections")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_SCALE_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    PROJECTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    weight_scale: float
    layers: _containers.RepeatedCompositeFieldContainer[Layer]
    projections: _containers.RepeatedCompositeFieldContainer[Projection]
    def __init__(self, name: _Optional[str] = ..., weight_scale: _Optional[float] = ..., layers: _Optional[_Iterable[_Union[Layer, _Mapping]]] = ..., projections: _Optional[_Iterable[_Union[Projection, _Mapping]]] = ...) -> None: ...

class SpikeInput(_message.Message):
    __slots__ = ("samples", "steps", "neurons", "packed_spikes")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    NEURONS_FIELD_NUMBER: _ClassVar[int]
    PACKED_SPIKES_FIELD_NUMBER: _ClassVar[int]
    samples: int
    steps: int
    neurons: int
    packed_spikes: bytes
    def __init__(self, samples: _Optional[int] = ..., steps: _Optional[int] = ..., neurons: _Optional[int] = ..., packed_spikes: _Optional[bytes] = ...) -> None: ...

class CostModel(_message.Message):
    __slots__ = ("name", "energy_j", "latency_s", "nominal_voltage_v", "threshold_voltage_v", "alpha", "leakage_w_per_mm2", "area", "synapse_read_j_per_bit", "lane_j_per_bit", "sram_read_size_exponent", "link_width_energy_share", "reference_weight_bits", "reference_synapse_memory_kib", "reference_link_width_bits")
    class EnergyJEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class LatencySEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class AreaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_VOLTAGE_V_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_VOLTAGE_V_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    LEAKAGE_W_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    SYNAPSE_READ_J_PER_BIT_FIELD_NUMBER: _ClassVar[int]
    LANE_J_PER_BIT_FIELD_NUMBER: _ClassVar[int]
    SRAM_READ_SIZE_EXPONENT_FIELD_NUMBER: _ClassVar[int]
    LINK_WIDTH_ENERGY_SHARE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_WEIGHT_BITS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_SYNAPSE_MEMORY_KIB_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_LINK_WIDTH_BITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    energy_j: _containers.ScalarMap[str, float]
    latency_s: _containers.ScalarMap[str, float]
    nominal_voltage_v: float
    threshold_voltage_v: float
    alpha: float
    leakage_w_per_mm2: float
    area: _containers.ScalarMap[str, float]
    synapse_read_j_per_bit: float
    lane_j_per_bit: float
    sram_read_size_exponent: float
    link_width_energy_share: float
    reference_weight_bits: int
    reference_synapse_memory_kib: int
    reference_link_width_bits: int
    def __init__(self, name: _Optional[str] = ..., energy_j: _Optional[_Mapping[str, float]] = ..., latency_s: _Optional[_Mapping[str, float]] = ..., nominal_voltage_v: _Optional[float] = ..., threshold_voltage_v: _Optional[float] = ..., alpha: _Optional[float] = ..., leakage_w_per_mm2: _Optional[float] = ..., area: _Optional[_Mapping[str, float]] = ..., synapse_read_j_per_bit: _Optional[float] = ..., lane_j_per_bit: _Optional[float] = ..., sram_read_size_exponent: _Optional[float] = ..., link_width_energy_share: _Optional[float] = ..., reference_weight_bits: _Optional[int] = ..., reference_synapse_memory_kib: _Optional[int] = ..., reference_link_width_bits: _Optional[int] = ...) -> None: ...

class SimulateRequest(_message.Message):
    __slots__ = ("network", "network_id", "architecture", "input", "semantics", "preset", "cost_model", "core_of", "threads", "schedule", "trace", "timeline")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    SEMANTICS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    COST_MODEL_FIELD_NUMBER: _ClassVar[int]
    CORE_OF_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    network: Network
    network_id: str
    architecture: Architecture
    input: SpikeInput
    semantics: Semantics
    preset: str
    cost_model: CostModel
    core_of: _containers.RepeatedScalarFieldContainer[int]
    threads: int
    schedule: Schedule
    trace: bool
    timeline: bool
    def __init__(self, network: _Optional[_Union[Network, _Mapping]] = ..., network_id: _Optional[str] = ..., architecture: _Optional[_Union[Architecture, _Mapping]] = ..., input: _Optional[_Union[SpikeInput, _Mapping]] = ..., semantics: _Optional[_Union[Semantics, str]] = ..., preset: _Optional[str] = ..., cost_model: _Optional[_Union[CostModel, _Mapping]] = ..., core_of: _Optional[_Iterable[int]] = ..., threads: _Optional[int] = ..., schedule: _Optional[_Union[Schedule, str]] = ..., trace: _Optional[bool] = ..., timeline: _Optional[bool] = ...) -> None: ...

class SampleFigures(_message.Message):
    __slots__ = ("energy_j", "latency_s", "edp_js", "critical_path_s", "serial_time_s", "energy_breakdown_j", "counts", "spikes_per_layer", "output_spike_counts", "core_utilisation", "core_dynamic_energy_j", "quiescent_s")
    class EnergyBreakdownJEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    EDP_JS_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_PATH_S_FIELD_NUMBER: _ClassVar[int]
    SERIAL_TIME_S_FIELD_NUMBER: _ClassVar[int]
    ENERGY_BREAKDOWN_J_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    SPIKES_PER_LAYER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SPIKE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CORE_UTILISATION_FIELD_NUMBER: _ClassVar[int]
    CORE_DYNAMIC_ENERGY_J_FIELD_NUMBER: _ClassVar[int]
    QUIESCENT_S_FIELD_NUMBER: _ClassVar[int]
    energy_j: float
    latency_s: float
    edp_js: float
    critical_path_s: float
    serial_time_s: float
    energy_breakdown_j: _containers.ScalarMap[str, float]
    counts: _containers.ScalarMap[str, int]
    spikes_per_layer: _containers.RepeatedScalarFieldContainer[int]
    output_spike_counts: _containers.RepeatedScalarFieldContainer[int]
    core_utilisation: _containers.RepeatedScalarFieldContainer[float]
    core_dynamic_energy_j: _containers.RepeatedScalarFieldContainer[float]
    quiescent_s: float
    def __init__(self, energy_j: _Optional[float] = ..., latency_s: _Optional[float] = ..., edp_js: _Optional[float] = ..., critical_path_s: _Optional[float] = ..., serial_time_s: _Optional[float] = ..., energy_breakdown_j: _Optional[_Mapping[str, float]] = ..., counts: _Optional[_Mapping[str, int]] = ..., spikes_per_layer: _Optional[_Iterable[int]] = ..., output_spike_counts: _Optional[_Iterable[int]] = ..., core_utilisation: _Optional[_Iterable[float]] = ..., core_dynamic_energy_j: _Optional[_Iterable[float]] = ..., quiescent_s: _Optional[float] = ...) -> None: ...

class Timeline(_message.Message):
    __slots__ = ("sample", "start_s", "end_s", "unit", "index", "port", "step")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    sample: _containers.RepeatedScalarFieldContainer[int]
    start_s: _containers.RepeatedScalarFieldContainer[float]
    end_s: _containers.RepeatedScalarFieldContainer[float]
    unit: _containers.RepeatedScalarFieldContainer[int]
    index: _containers.RepeatedScalarFieldContainer[int]
    port: _containers.RepeatedScalarFieldContainer[int]
    step: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sample: _Optional[_Iterable[int]] = ..., start_s: _Optional[_Iterable[float]] = ..., end_s: _Optional[_Iterable[float]] = ..., unit: _Optional[_Iterable[int]] = ..., index: _Optional[_Iterable[int]] = ..., port: _Optional[_Iterable[int]] = ..., step: _Optional[_Iterable[int]] = ...) -> None: ...

class SimulateResponse(_message.Message):
    __slots__ = ("samples", "area_mm2", "static_power_w", "core_of", "wall_s", "layer_names", "spike_trace", "timeline", "preset", "semantics", "schedule", "count_names", "energy_units")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    AREA_MM2_FIELD_NUMBER: _ClassVar[int]
    STATIC_POWER_W_FIELD_NUMBER: _ClassVar[int]
    CORE_OF_FIELD_NUMBER: _ClassVar[int]
    WALL_S_FIELD_NUMBER: _ClassVar[int]
    LAYER_NAMES_FIELD_NUMBER: _ClassVar[int]
    SPIKE_TRACE_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    SEMANTICS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    COUNT_NAMES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_UNITS_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[SampleFigures]
    area_mm2: float
    static_power_w: float
    core_of: _containers.RepeatedScalarFieldContainer[int]
    wall_s: float
    layer_names: _containers.RepeatedScalarFieldContainer[str]
    spike_trace: _containers.RepeatedCompositeFieldContainer[SpikeInput]
    timeline: Timeline
    preset: str
    semantics: Semantics
    schedule: Schedule
    count_names: _containers.RepeatedScalarFieldContainer[str]
    energy_units: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, samples: _Optional[_Iterable[_Union[SampleFigures, _Mapping]]] = ..., area_mm2: _Optional[float] = ..., static_power_w: _Optional[float] = ..., core_of: _Optional[_Iterable[int]] = ..., wall_s: _Optional[float] = ..., layer_names: _Optional[_Iterable[str]] = ..., spike_trace: _Optional[_Iterable[_Union[SpikeInput, _Mapping]]] = ..., timeline: _Optional[_Union[Timeline, _Mapping]] = ..., preset: _Optional[str] = ..., semantics: _Optional[_Union[Semantics, str]] = ..., schedule: _Optional[_Union[Schedule, str]] = ..., count_names: _Optional[_Iterable[str]] = ..., energy_units: _Optional[_Iterable[str]] = ...) -> None: ...

class SimulateStreamRequest(_message.Message):
    __slots__ = ("simulation",)
    SIMULATION_FIELD_NUMBER: _ClassVar[int]
    simulation: SimulateRequest
    def __init__(self, simulation: _Optional[_Union[SimulateRequest, _Mapping]] = ...) -> None: ...

class SampleResult(_message.Message):
    __slots__ = ("index", "figures", "spike_trace", "timeline")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    SPIKE_TRACE_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    index: int
    figures: SampleFigures
    spike_trace: _containers.RepeatedCompositeFieldContainer[SpikeInput]
    timeline: Timeline
    def __init__(self, index: _Optional[int] = ..., figures: _Optional[_Union[SampleFigures, _Mapping]] = ..., spike_trace: _Optional[_Iterable[_Union[SpikeInput, _Mapping]]] = ..., timeline: _Optional[_Union[Timeline, _Mapping]] = ...) -> None: ...

class SimulateStreamResponse(_message.Message):
    __slots__ = ("sample", "totals")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    sample: SampleResult
    totals: SimulateResponse
    def __init__(self, sample: _Optional[_Union[SampleResult, _Mapping]] = ..., totals: _Optional[_Union[SimulateResponse, _Mapping]] = ...) -> None: ...

class ListPresetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPresetsResponse(_message.Message):
    __slots__ = ("presets",)
    PRESETS_FIELD_NUMBER: _ClassVar[int]
    presets: _containers.RepeatedCompositeFieldContainer[CostModel]
    def __init__(self, presets: _Optional[_Iterable[_Union[CostModel, _Mapping]]] = ...) -> None: ...

class GetLimitsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLimitsResponse(_message.Message):
    __slots__ = ("max_message_bytes", "max_samples", "max_steps", "max_neurons", "max_synapses", "max_input_spike_bits", "max_threads", "max_concurrent_requests", "max_queued_requests", "max_cached_networks", "max_cached_network_bytes")
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_NEURONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SYNAPSES_FIELD_NUMBER: _ClassVar[int]
    MAX_INPUT_SPIKE_BITS_FIELD_NUMBER: _ClassVar[int]
    MAX_THREADS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MAX_CACHED_NETWORKS_FIELD_NUMBER: _ClassVar[int]
    MAX_CACHED_NETWORK_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_message_bytes: int
    max_samples: int
    max_steps: int
    max_neurons: int
    max_synapses: int
    max_input_spike_bits: int
    max_threads: int
    max_concurrent_requests: int
    max_queued_requests: int
    max_cached_networks: int
    max_cached_network_bytes: int
    def __init__(self, max_message_bytes: _Optional[int] = ..., max_samples: _Optional[int] = ..., max_steps: _Optional[int] = ..., max_neurons: _Optional[int] = ..., max_synapses: _Optional[int] = ..., max_input_spike_bits: _Optional[int] = ..., max_threads: _Optional[int] = ..., max_concurrent_requests: _Optional[int] = ..., max_queued_requests: _Optional[int] = ..., max_cached_networks: _Optional[int] = ..., max_cached_network_bytes: _Optional[int] = ...) -> None: ...

class RegisterNetworkRequest(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: Network
    def __init__(self, network: _Optional[_Union[Network, _Mapping]] = ...) -> None: ...

class RegisterNetworkResponse(_message.Message):
    __slots__ = ("network_id", "network_bytes")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_BYTES_FIELD_NUMBER: _ClassVar[int]
    network_id: str
    network_bytes: int
    def __init__(self, network_id: _Optional[str] = ..., network_bytes: _Optional[int] = ...) -> None: ...

class MapNetworkRequest(_message.Message):
    __slots__ = ("network", "architecture")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    network: Network
    architecture: Architecture
    def __init__(self, network: _Optional[_Union[Network, _Mapping]] = ..., architecture: _Optional[_Union[Architecture, _Mapping]] = ...) -> None: ...

class MapNetworkResponse(_message.Message):
    __slots__ = ("core_of",)
    CORE_OF_FIELD_NUMBER: _ClassVar[int]
    core_of: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, core_of: _Optional[_Iterable[int]] = ...) -> None: ...

class ComputeAreaRequest(_message.Message):
    __slots__ = ("architecture", "preset", "cost_model")
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    COST_MODEL_FIELD_NUMBER: _ClassVar[int]
    architecture: Architecture
    preset: str
    cost_model: CostModel
    def __init__(self, architecture: _Optional[_Union[Architecture, _Mapping]] = ..., preset: _Optional[str] = ..., cost_model: _Optional[_Union[CostModel, _Mapping]] = ...) -> None: ...

class ComputeAreaResponse(_message.Message):
    __slots__ = ("area_mm2", "static_power_w")
    AREA_MM2_FIELD_NUMBER: _ClassVar[int]
    STATIC_POWER_W_FIELD_NUMBER: _ClassVar[int]
    area_mm2: float
    static_power_w: float
    def __init__(self, area_mm2: _Optional[float] = ..., static_power_w: _Optional[float] = ...) -> None: ...
