"""The trainer's phases behind a small protocol, and the in-process implementation.

The co-exploration never touches a torch model: it names models ("supernet", candidate names)
and asks the trainer backend to train, evaluate, fold and export them. States cross the
protocol as bytes (what a run store checkpoints and what a remote trainer sends), so a gRPC
trainer (`services.client.RemoteTrainer`) implements the same protocol. The simulator is
pluggable the same way: any callable with `trueasync.simulate`'s signature and result type.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Callable, Optional, Protocol

import numpy as np

from coexplore.settings import MAX_VAL, T_DATA, VAL_FRACTION, ExploreSettings

OnCheckpoint = Callable[[int, bytes], None]  # (steps done, training state)


@dataclass(frozen=True)
class DataInfo:
    name: str
    in_shape: tuple  # (C, H, W)
    n_classes: int
    n_fit: int
    n_val: int
    n_test: int
    n_calib: int
    steps_per_epoch: int
    test_labels: np.ndarray
    fingerprint: str  # SHA-256 of every split's frames and labels
    snn_space: dict  # trainer.supernet.SearchSpace.to_dict() of the supernet


@dataclass(frozen=True)
class Inherited:
    """A sub-network evaluated with the supernet's weights (norms recalibrated), then folded."""

    accuracy: float
    spikes_per_layer: list  # mean spikes per sample and layer (float model)
    synaptic_ops: float  # estimated per sample: each layer's input spikes x its mean fan-out


@dataclass(frozen=True)
class Exported:
    network: object  # trueasync.Network
    meta: dict
    inputs: np.ndarray  # bool [sample, step, input neuron]


@dataclass(frozen=True)
class TrainOutcome:
    steps: int
    loss_last: Optional[float]  # mean of the last 10 losses
    epochs: float
    stopped_early: bool  # should_stop() ended it; the state was handed to on_checkpoint


@dataclass(frozen=True)
class FixedPointEval:
    accuracy: float
    output_spike_counts: np.ndarray  # int64 [sample, class]
    qat_model_accuracy: float
    qat_model_counts_equal: bool


class TrainerBackend(Protocol):
    """What the co-exploration needs from a trainer (DESIGN.md section 4)."""

    def load_data(self, settings: ExploreSettings) -> DataInfo: ...

    def new_supernet(self, seed: int) -> None: ...

    def train_supernet(self, steps: int, *, lr: float, batch_size: int, seed: int, resume: Optional[bytes],
                       every: int, on_checkpoint: OnCheckpoint, should_stop: Callable[[], bool]) -> TrainOutcome: ...

    def inherit(self, name: str, config: dict) -> Inherited:
        """Evaluate sub-network `config` with inherited weights on the validation part and keep
        it, folded, as model `name`."""

    def export(self, name: str, bits: int, split: str) -> Exported:
        """Model `name` quantised to `bits` as a TrueAsync network, with the input spikes of
        `split` ("calibration": the first validation samples; "test": the held-out split)."""

    def finetune(self, name: str, bits: int, steps: int, *, batch_size: int, seed: int, resume: Optional[bytes],
                 every: int, on_checkpoint: OnCheckpoint, should_stop: Callable[[], bool]) -> TrainOutcome: ...

    def fixed_point_test(self, name: str, bits: int, exported: Exported) -> FixedPointEval: ...

    def state(self, name: str) -> bytes: ...

    def load_state(self, name: str, data: bytes) -> None: ...


def torch_tensor(a):
    import torch

    return torch.as_tensor(np.asarray(a) if not hasattr(a, "dim") else a)


def _to_bytes(obj) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _from_bytes(data: bytes):
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


class InProcessTrainer:
    """`TrainerBackend` on the trainer package in this process (torch on `torch_threads`)."""

    def __init__(self):
        self.models: dict = {}
        self.supernet = None
        self._threads = 1

    # -- data -----------------------------------------------------------------------------------
    def load_data(self, settings: ExploreSettings) -> DataInfo:
        from trainer.datasets import load_frames
        from trainer.datasets.splits import stratified_split
        from trainer.train import set_seed

        self._threads = settings.torch_threads
        set_seed(settings.seed, self._threads)
        key = (settings.dataset, settings.data_root, settings.limit, settings.test_limit, settings.downsample,
               settings.encoding, settings.seed, settings.calib_samples, settings.batch_size)
        if getattr(self, "_data_key", None) == key:
            return self._info
        from trainer.snn import input_mode_for

        train = load_frames(settings.dataset, settings.data_root, "train", T_DATA, limit=settings.limit,
                            downsample=settings.downsample, encoding=settings.encoding, seed=settings.seed)
        test = load_frames(settings.dataset, settings.data_root, "test", T_DATA, limit=settings.test_limit,
                           downsample=settings.downsample, encoding=settings.encoding, seed=settings.seed)
        # direct (analog) images: the first layer runs as the chip's off-chip encoder (docs/fixed-point.md)
        self.input_mode = input_mode_for(train.encoding)
        n_val = min(MAX_VAL, max(10, int(round(VAL_FRACTION * len(train.labels)))))
        fit_idx, val_idx = stratified_split(train.labels, n_val, seed=settings.seed)
        self.fit_x, self.fit_y = train.frames[fit_idx], train.labels[fit_idx]
        self.val_x, self.val_y = train.frames[val_idx], train.labels[val_idx]
        self.calib_x = self.val_x[: settings.calib_samples]
        self.test_x, self.test_y = test.frames, np.asarray(test.labels)
        self.in_shape = tuple(int(v) for v in train.frames.shape[2:])
        self.n_classes = int(train.n_classes)
        self.dataset_name = train.name
        h = hashlib.sha256()
        for a in (self.fit_x, self.fit_y, self.val_x, self.val_y, self.test_x, self.test_y):
            arr = np.ascontiguousarray(np.asarray(a))
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        from trainer.supernet import default_space

        self.space = default_space(self.in_shape)
        self._data_key = key
        self._info = DataInfo(train.name, self.in_shape, self.n_classes, len(self.fit_y), len(self.val_y),
                              len(self.test_y), len(self.calib_x),
                              max(1, -(-len(self.fit_y) // settings.batch_size)), self.test_y, h.hexdigest(),
                              self.space.to_dict())
        return self._info

    # -- supernet -------------------------------------------------------------------------------
    def new_supernet(self, seed: int) -> None:
        from trainer.supernet import SuperNet
        from trainer.train import set_seed

        set_seed(seed, self._threads)
        self.supernet = SuperNet(self.in_shape, self.n_classes, self.space, input_mode=self.input_mode)

    def _checkpointing(self, resume, every, on_checkpoint, should_stop):
        from trainer.train import Checkpointing

        return Checkpointing(every=every, save=lambda st: on_checkpoint(int(st["step"]), _to_bytes(st)),
                             state=None if resume is None else _from_bytes(resume), should_stop=should_stop)

    def train_supernet(self, steps, *, lr, batch_size, seed, resume, every, on_checkpoint, should_stop):
        import torch

        from trainer.train import train_supernet

        torch.set_num_threads(self._threads)
        torch.manual_seed(seed)  # nothing here draws from it; a resumed process starts alike anyway
        spe = max(1, -(-len(self.fit_y) // batch_size))
        log = train_supernet(self.supernet, self.fit_x, self.fit_y, sampler="sandwich", epochs=steps / spe,
                             max_steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                             checkpointing=self._checkpointing(resume, every, on_checkpoint, should_stop))
        return _outcome(log)

    # -- candidates -----------------------------------------------------------------------------
    def inherit(self, name, config):
        from trainer.folded import fold_subnet
        from trainer.supernet import SubnetConfig
        from trainer.train import evaluate_subnet

        cfg = SubnetConfig.from_dict(config)
        ev = evaluate_subnet(self.supernet, cfg, self.val_x, self.val_y, calib_frames=self.fit_x)
        model = fold_subnet(self.supernet, cfg)  # uses the norms just recalibrated for cfg
        self.models[name] = model
        spikes = [float(v) for v in ev["spikes_per_layer_mean"]]
        return Inherited(float(ev["accuracy"]), spikes, self._synaptic_ops(model, spikes))

    def _synaptic_ops(self, model, spikes: list) -> float:
        """Float model's synaptic operations per sample: sum over layers of input spikes x mean fan-out."""
        from trainer.snn import rebin

        x = rebin(torch_tensor(self.val_x), model.timesteps)
        inputs = float((x > 0).float().sum(dim=tuple(range(1, x.dim()))).mean())
        ops = 0.0
        layers, s_ins = list(model.layers), [inputs] + spikes[:-1]
        if model.input_mode == "analog":  # the first layer is the off-chip encoder: no synaptic events on chip
            layers, s_ins = layers[1:], s_ins[1:]
        for layer, s_in in zip(layers, s_ins):
            n_in = float(np.prod(layer.in_shape))
            taps = float(np.prod(layer.weight.shape[1:])) if layer.kind == "conv" else n_in
            edges = float(np.prod(layer.out_shape)) * taps
            ops += s_in * edges / n_in
        return ops

    def export(self, name, bits, split):
        from trainer.encoder import encoder_from_meta
        from trainer.export import export_inputs, export_network

        model = self.models[name]
        network, meta = export_network(model, bits, name=f"{self.dataset_name}-{name}")
        frames = {"calibration": self.calib_x, "test": self.test_x}[split]
        return Exported(network, meta, export_inputs(frames, model.timesteps, encoder_from_meta(meta)))

    def finetune(self, name, bits, steps, *, batch_size, seed, resume, every, on_checkpoint, should_stop):
        import torch

        from trainer.train import finetune

        torch.set_num_threads(self._threads)
        torch.manual_seed(seed)
        spe = max(1, -(-len(self.fit_y) // batch_size))
        log = finetune(self.models[name], self.fit_x, self.fit_y, bits=bits, epochs=steps / spe,
                       batch_size=batch_size, seed=seed,
                       checkpointing=self._checkpointing(resume, every, on_checkpoint, should_stop))
        return _outcome(log)

    def fixed_point_test(self, name, bits, exported):
        from trainer import fixedpoint
        from trainer.train import folded_accuracy

        fp = fixedpoint.run(exported.network, exported.inputs)
        qacc, qcounts = folded_accuracy(self.models[name], self.test_x, self.test_y, bits)
        return FixedPointEval(fp.accuracy(self.test_y), np.asarray(fp.output_spike_counts, np.int64),
                              float(qacc), bool(np.array_equal(qcounts, fp.output_spike_counts)))

    # -- states ---------------------------------------------------------------------------------
    def state(self, name):
        if name == "supernet":
            return _to_bytes({"kind": "supernet", "state_dict": self.supernet.state_dict()})
        return _to_bytes({"kind": "folded", **self.models[name].to_state()})

    def load_state(self, name, data):
        from trainer.folded import FoldedSNN

        st = _from_bytes(data)
        if st["kind"] == "supernet":
            self.supernet.load_state_dict(st["state_dict"])
        else:
            self.models[name] = FoldedSNN.from_state({k: v for k, v in st.items() if k != "kind"})


def _outcome(log) -> TrainOutcome:
    loss = float(np.mean(log.losses[-10:])) if log.losses else None
    return TrainOutcome(log.steps, loss, float(log.epochs), bool(log.stopped_to_resume))
