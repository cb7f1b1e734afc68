"""Training loops: supernet (weight sharing), sub-network evaluation, folding, QAT, export.

Loss: mean squared error between each output neuron's firing rate over the T steps and the
one-hot label (SpikingJelly's classic recipe); the prediction is the class with the most output
spikes, lowest index on ties -- exactly what the chip reports (`SimResult.predicted_labels`).

Determinism: every random choice (initialisation, batch order, sub-network sampling) comes from
the seed; on the CPU with a fixed thread count two runs give identical metrics.

Frames: every loop takes dense frames (array, tensor) or a stream (`trainer.datasets.open_stream`)
through `trainer.data.as_source`, reads one batch at a time and moves it to the model's device.
Models read their input through `trainer.snn.model_input` in their `input_mode` (binary spikes,
or the analog image for direct encoding).

Early stopping: `run_training(..., stop_frames=, stop_labels=, patience=)` evaluates the float
sub-network (and, in QAT, the quantised one) on a split carved from the training data after every
epoch, keeps the best weights, and stops after `patience` epochs without improvement.
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from trainer.data import as_source, iter_slices
from trainer.folded import FoldedSNN, fold_subnet
from trainer.memory import release_heap
from trainer.snn import ScaleNorm, model_input
from trainer.supernet import SearchSpace, SubnetConfig, SuperNet


# Samples in a no-gradient batch (recalibration, evaluation): the same 64 everywhere, so that
# the no-gradient term of the memory bound is one figure (docs/datasets.md, "Memory"). Evaluation
# is per sample (norms use running statistics), so its batch changes no output; recalibration's
# batch statistics do depend on it (it stays 64, as before).
NO_GRAD_BATCH = 64


def set_seed(seed: int, threads: Optional[int] = None) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))


def as_tensor_frames(frames) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    if t.dim() != 5:
        raise ValueError(f"frames must be [N, T, C, H, W], got shape {tuple(t.shape)}")
    return t.float()


def rate_loss(out: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """MSE between output firing rates ([T, N, K] spikes) and one-hot labels."""
    return F.mse_loss(out.float().mean(0), F.one_hot(labels, n_classes).float())


def model_device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _inputs(model, x: torch.Tensor, timesteps: int) -> torch.Tensor:
    return model_input(x, timesteps, getattr(model, "input_mode", "spikes"), model_device(model))


def _progress(iterable, enabled: bool, **kw):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, **kw)


def _batches(n: int, batch_size: int, gen: torch.Generator, shuffle: bool = True):
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


@dataclass(frozen=True)
class StepReport:
    """What training reports to an `on_step` callback: after every step of a phase (`desc` of the
    loop: supernet, finetune, qat4 ...) and, with `val_accuracy`, when a phase's validation accuracy
    is measured. Raising from the callback stops the training (the exception propagates)."""

    phase: str
    step: int  # steps done in this phase
    total_steps: int
    steps_per_epoch: int
    loss: float
    val_accuracy: Optional[float] = None


@dataclass
class TrainLog:
    steps: int = 0
    epochs: float = 0.0
    seconds: float = 0.0
    losses: list = field(default_factory=list)
    stopped_by_budget: bool = False
    stopped_early: bool = False
    stopped_to_resume: bool = False  # `Checkpointing.should_stop` ended it (a state was saved)


@dataclass
class Checkpointing:
    """Resumable training (the co-exploration's run store uses it).

    `save(state)` receives the whole training state every `every` steps (not after the last
    one) and once more if `should_stop()` (checked before every step) ends training early; it
    must serialise the state at once (it holds references to live tensors). Training given a
    `state` that `save` received continues exactly where that one stopped: the same batches,
    sub-networks, optimiser and schedule, so the result is bit-identical to an uninterrupted run.
    An `on_epoch` callback's own state (early stopping's best weights) is not part of it.
    """

    every: int = 0
    save: Optional[Callable[[dict], None]] = None
    state: Optional[dict] = None
    should_stop: Optional[Callable[[], bool]] = None


def train_loop(
    forward: Callable[[torch.Tensor], torch.Tensor],
    params,
    frames,
    labels,
    *,
    epochs: float = 1.0,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    budget_s: Optional[float] = None,
    max_steps: Optional[int] = None,
    progress: bool = False,
    desc: str = "train",
    on_epoch: Optional[Callable[[int, "TrainLog"], bool]] = None,
    amp_dtype: Optional[torch.dtype] = None,
    device: Optional[torch.device] = None,
    on_step: Optional[Callable[[StepReport], None]] = None,
    checkpointing: Optional[Checkpointing] = None,
    state_hooks: Optional[tuple] = None,
) -> TrainLog:
    """Generic loop: `forward(frames, labels, step)` -> loss; Adam with a cosine schedule.

    `checkpointing` makes it resumable; `state_hooks` = (get, set) of the caller's own state
    (model weights and buffers, samplers), which the training state carries.

    `frames`: dense frames or a stream (`trainer.data.as_source`); training batches of a stream
    are augmented with `(seed, epoch)`. `on_epoch(epoch, log)` runs after every full epoch and
    stops training by returning True. `amp_dtype`: run `forward` under `torch.autocast` (float
    phases only). `device`: where the labels go (the forward moves the frames).
    """
    src = as_source(frames)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if device is not None:
        labels = labels.to(device)
    n = len(src)
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = max(1, -(-n // batch_size))
    total = max(1, int(round(epochs * steps_per_epoch)))
    if max_steps is not None:
        total = min(total, int(max_steps))
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    dev_type = device.type if device is not None else "cpu"
    scaler = (torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 and dev_type == "cuda"
              else None)
    log = TrainLog()
    t0 = time.perf_counter()
    it = iter(())
    ck = checkpointing
    if ck is not None and state_hooks is None:
        raise ValueError("checkpointing needs state_hooks (the model's own state)")
    epoch_state, taken, start = None, 0, 0  # where the current epoch's batch order came from
    if ck is not None and ck.state is not None:
        st = ck.state
        if st["total"] != total:
            raise ValueError(f"the saved training state is for {st['total']} steps, not {total}")
        state_hooks[1](st["extra"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        if scaler is not None and st.get("scaler") is not None:
            scaler.load_state_dict(st["scaler"])
        torch.set_rng_state(st["torch_rng"])
        log.losses, log.steps, start = list(st["losses"]), int(st["step"]), int(st["step"])
        if st["epoch_generator"] is not None:  # the same batch order, minus the batches taken
            epoch_state, taken = st["epoch_generator"], int(st["batches_taken"])
            gen.set_state(epoch_state)
            it = _batches(n, batch_size, gen)
            for _ in range(taken):
                next(it)
        gen.set_state(st["generator"])

    def state(done: int) -> dict:
        return {"total": total, "step": done, "losses": list(log.losses), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "torch_rng": torch.get_rng_state(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "epoch_generator": epoch_state, "batches_taken": taken, "generator": gen.get_state(),
                "extra": state_hooks[0]()}

    bar = _progress(range(start, total), progress, desc=desc, unit="step", leave=False,
                    **({"initial": start, "total": total} if start else {}))
    for step in bar:
        if ck is not None and ck.should_stop is not None and ck.should_stop():
            if ck.save is not None:
                ck.save(state(step))
            log.stopped_to_resume = True
            break
        try:
            idx = next(it)
        except StopIteration:
            epoch_state, taken = gen.get_state(), 0
            it = _batches(n, batch_size, gen)
            idx = next(it)
        taken += 1
        x = src.batch(idx, train=True, epoch=step // steps_per_epoch, seed=seed)
        ctx = (torch.autocast(device_type=dev_type, dtype=amp_dtype) if amp_dtype is not None
               else contextlib.nullcontext())
        with ctx:
            loss = forward(x, labels[idx], step)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        sched.step()
        log.losses.append(float(loss.detach()))
        log.steps += 1
        if on_step is not None:
            on_step(StepReport(desc, log.steps, total, steps_per_epoch, log.losses[-1]))
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            log.stopped_by_budget = True
            break
        if on_epoch is not None and (step + 1) % steps_per_epoch == 0:
            if on_epoch((step + 1) // steps_per_epoch, log):
                log.stopped_early = True
                break
        if ck is not None and ck.every and ck.save is not None and log.steps % ck.every == 0 \
                and log.steps < total:
            ck.save(state(log.steps))
    log.seconds = time.perf_counter() - t0
    log.epochs = log.steps / steps_per_epoch
    release_heap()  # the steps' freed activations, before the next phase (trainer.memory)
    return log


# -- supernet ------------------------------------------------------------------------------------


def train_supernet(
    supernet: SuperNet,
    frames,
    labels,
    *,
    sampler: Union[str, SubnetConfig] = "sandwich",
    epochs: float = 1.0,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    budget_s: Optional[float] = None,
    max_steps: Optional[int] = None,
    progress: bool = False,
    on_epoch: Optional[Callable[[int, TrainLog], bool]] = None,
    amp_dtype: Optional[torch.dtype] = None,
    on_step: Optional[Callable[[StepReport], None]] = None,
    checkpointing: Optional[Checkpointing] = None,
) -> TrainLog:
    """Train shared weights. `sampler`: a fixed `SubnetConfig` (standalone training),
    `"random"` (one random sub-network per step) or `"sandwich"` (largest + smallest + one
    random sub-network per step, gradients summed). Stops after `epochs`, `max_steps` or
    `budget_s` seconds, whichever comes first (partial training for a budget), or when
    `on_epoch` says so. Runs on the supernet's device; `amp_dtype`: mixed precision.
    `checkpointing` makes it resumable (`Checkpointing`)."""
    space = supernet.space
    rng = random.Random(seed)
    if isinstance(sampler, SubnetConfig):
        space.validate(sampler)
    elif sampler not in ("random", "sandwich"):
        raise ValueError(f"sampler must be 'random', 'sandwich' or a SubnetConfig (got {sampler!r})")
    t_data = as_source(frames).frame_shape[0]
    for t in space.timesteps:
        if t_data % t:
            raise ValueError(f"timesteps choice {t} does not divide the {t_data} data frames")
    supernet.train()

    def configs():
        if isinstance(sampler, SubnetConfig):
            return [sampler]
        if sampler == "random":
            return [space.sample(rng)]
        return [space.largest(), space.smallest(), space.sample(rng)]

    def forward(x, y, step):
        total = 0.0
        for cfg in configs():
            out = supernet(_inputs(supernet, x, cfg.timesteps), cfg)
            total = total + rate_loss(out, y, supernet.n_classes)
        return total

    def set_state(d):
        supernet.load_state_dict(d["model"])
        rng.setstate(d["sampler"])

    return train_loop(forward, supernet.parameters(), frames, labels,
                      epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, budget_s=budget_s,
                      max_steps=max_steps, progress=progress, desc="supernet", on_epoch=on_epoch,
                      amp_dtype=amp_dtype, device=model_device(supernet), on_step=on_step,
                      checkpointing=checkpointing,
                      state_hooks=(lambda: {"model": supernet.state_dict(), "sampler": rng.getstate()},
                                   set_state))


@torch.no_grad()
def recalibrate(supernet: SuperNet, cfg: SubnetConfig, frames, batches: int = 8,
                batch_size: int = NO_GRAD_BATCH) -> None:
    """Re-estimate the norms' running statistics for the sub-network `cfg` (weights inherited)."""
    release_heap()
    src = as_source(frames)
    norms = [m for m in supernet.modules() if isinstance(m, ScaleNorm)]
    saved = [m.momentum for m in norms]
    supernet.eval()
    for m in norms:
        m.train()
    for k, (_, x) in enumerate(iter_slices(src, batch_size, batches * batch_size)):
        for m in norms:
            m.momentum = 1.0 / (k + 1)  # cumulative average over the calibration batches
        supernet(_inputs(supernet, x, cfg.timesteps), cfg)
    for m, mom in zip(norms, saved):
        m.momentum = mom
        m.eval()
    release_heap()


@torch.no_grad()
def output_counts(forward: Callable[[torch.Tensor], torch.Tensor], frames, timesteps: int,
                  batch_size: int = NO_GRAD_BATCH, input_mode: str = "spikes",
                  device: Optional[torch.device] = None) -> np.ndarray:
    """Output spike counts int64 [N, K] of `forward(x_seq)` over `frames`."""
    outs = []
    for _, x in iter_slices(as_source(frames), batch_size):
        out = forward(model_input(x, timesteps, input_mode, device))
        outs.append(out.sum(0).round().to(torch.int64).cpu())
    release_heap()
    return torch.cat(outs).numpy() if outs else np.zeros((0, 0), np.int64)


def accuracy_from_counts(counts: np.ndarray, labels) -> float:
    labels = np.asarray(labels)
    return float((np.argmax(counts, axis=1) == labels).mean()) if len(labels) else 0.0


def evaluate_subnet(supernet: SuperNet, cfg: SubnetConfig, frames, labels, calib_frames=None,
                    calib_batches: int = 4) -> dict:
    """Accuracy of sub-network `cfg` with inherited weights (norms recalibrated on
    `calib_frames` if given) plus its mean spikes per sample and layer."""
    supernet.space.validate(cfg)
    if calib_frames is not None:
        recalibrate(supernet, cfg, calib_frames, batches=calib_batches)
    supernet.eval()
    counts, spikes = [], None
    with torch.no_grad():
        for _, x in iter_slices(as_source(frames), NO_GRAD_BATCH):
            outs = supernet(_inputs(supernet, x, cfg.timesteps), cfg, return_all=True)
            per_layer = torch.stack([o.sum(dim=tuple(d for d in range(o.dim()) if d != 1))
                                     for o in outs], 1).cpu()
            spikes = per_layer if spikes is None else torch.cat([spikes, per_layer])
            counts.append(outs[-1].sum(0).round().long().cpu())
    release_heap()
    counts = torch.cat(counts).numpy()
    return {"accuracy": accuracy_from_counts(counts, labels),
            "spikes_per_layer_mean": spikes.float().mean(0).tolist(),
            "config": cfg.to_dict()}


def finetune(model: FoldedSNN, frames, labels, *, bits: Optional[int] = None,
             epochs: float = 1.0, batch_size: int = 32, lr: float = 5e-4, seed: int = 0,
             budget_s: Optional[float] = None, progress: bool = False,
             on_epoch: Optional[Callable[[int, TrainLog], bool]] = None,
             amp_dtype: Optional[torch.dtype] = None,
             on_step: Optional[Callable[[StepReport], None]] = None,
             checkpointing: Optional[Checkpointing] = None) -> TrainLog:
    """Train a folded network in float (`bits=None`) or quantisation-aware (`bits`; always
    float32: its integer arithmetic must stay exact, so `amp_dtype` is ignored);
    `checkpointing` makes it resumable (`Checkpointing`)."""
    model.train()

    def forward(x, y, step):
        out = model(_inputs(model, x, model.timesteps), bits=bits)
        return rate_loss(out, y, model.n_classes)

    log = train_loop(forward, model.parameters(), frames, labels,
                     epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, budget_s=budget_s,
                     progress=progress, desc=f"qat{bits}" if bits else "finetune",
                     on_epoch=on_epoch, amp_dtype=None if bits else amp_dtype,
                     device=model_device(model), on_step=on_step, checkpointing=checkpointing,
                     state_hooks=(lambda: {"model": model.state_dict()},
                                  lambda d: model.load_state_dict(d["model"])))
    model.eval()
    return log


def folded_accuracy(model: FoldedSNN, frames, labels, bits: Optional[int] = None) -> tuple:
    model.eval()
    counts = output_counts(lambda x: model(x, bits=bits), frames, model.timesteps,
                           input_mode=model.input_mode, device=model_device(model))
    return accuracy_from_counts(counts, labels), counts


# -- end-to-end: train a sub-network, fold, QAT, export -----------------------------------------


@dataclass
class TrainResult:
    supernet: SuperNet
    config: SubnetConfig
    folded: FoldedSNN  # after QAT (weights are the float shadow weights)
    bits: int
    metrics: dict


class EarlyStopping:
    """Keep the best weights of `model` by a validation accuracy measured after every epoch;
    `__call__` returns True (stop) after `patience` epochs without improvement (None: never)."""

    def __init__(self, model: torch.nn.Module, evaluate: Callable[[], float],
                 patience: Optional[int], min_epochs: int = 1):
        self.model, self.evaluate, self.patience = model, evaluate, patience
        self.min_epochs = int(min_epochs)
        self.history: list = []
        self.best, self.best_epoch, self.best_state = -1.0, 0, None

    def __call__(self, epoch: int, log: TrainLog) -> bool:
        was_training = self.model.training
        acc = float(self.evaluate())
        self.model.train(was_training)
        self.history.append(acc)
        if acc > self.best:
            self.best, self.best_epoch = acc, epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
        return (self.patience is not None and epoch >= self.min_epochs
                and epoch - self.best_epoch >= self.patience)

    def restore(self) -> None:
        """Load the best weights (those of the best epoch), if any epoch was evaluated."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    def summary(self, log: TrainLog, max_epochs: float) -> dict:
        if log.stopped_by_budget:
            reason = "time budget"
        elif log.stopped_early:
            reason = f"no improvement for {self.patience} epochs"
        else:
            reason = f"epoch limit ({max_epochs:g})"
        return {"patience": self.patience, "epochs_run": round(log.epochs, 4),
                "best_epoch": self.best_epoch, "best_accuracy": self.best,
                "accuracy_per_epoch": self.history, "stopped_by": reason}


def run_training(
    train_frames,
    train_labels,
    val_frames,
    val_labels,
    n_classes: int,
    *,
    space: Optional[SearchSpace] = None,
    config: Optional[SubnetConfig] = None,
    search_epochs: float = 0.0,
    epochs: float = 4.0,
    qat_epochs: float = 1.0,
    bits: int = 4,
    batch_size: int = 32,
    lr: float = 2e-3,
    qat_lr: float = 5e-4,
    seed: int = 0,
    threads: Optional[int] = None,
    budget_s: Optional[float] = None,
    progress: bool = False,
    stop_frames=None,
    stop_labels=None,
    patience: Optional[int] = None,
    qat_patience: Optional[int] = None,
    input_mode: str = "spikes",
    device: Optional[torch.device] = None,
    amp_dtype: Optional[torch.dtype] = None,
    folded: Optional[FoldedSNN] = None,
    on_step: Optional[Callable[[StepReport], None]] = None,
) -> TrainResult:
    """Supernet (optional, `search_epochs` of sandwich training) -> train `config` (default:
    the largest sub-network) for `epochs` -> fold the norms -> `qat_epochs` of QAT at `bits`.

    Frames are dense arrays or streams. With `stop_frames`/`stop_labels` (a split carved from
    the training data) each float epoch is scored on it and the best epoch's weights are kept;
    `patience` epochs without improvement stop the float phase early (`qat_patience` the QAT
    phase, which keeps its best epoch too). `val_frames` is only reported on. `input_mode`:
    `trainer.snn.input_mode_for(encoding)`. `device`, `amp_dtype`: `trainer.device`. `folded`:
    start from this folded network (an imported one) and skip the supernet and float phases
    unless `epochs` > 0 (float fine-tuning of it).

    Metrics: float accuracy (folded, before QAT), quantised accuracy (QAT forward pass),
    losses, times, the early-stopping history. `budget_s` bounds the float training time.
    `on_step` gets a `StepReport` after every step and with each validation accuracy.
    """
    from trainer.quant import qmax

    qmax(bits)
    set_seed(seed, threads)
    device = device or torch.device("cpu")
    train_src, val_src = as_source(train_frames), as_source(val_frames)
    stop_src = as_source(stop_frames) if stop_frames is not None else None
    t_data = train_src.frame_shape[0]
    in_shape = tuple(train_src.frame_shape[1:])
    metrics: dict = {"seed": seed, "bits": bits, "n_train": int(len(train_src)),
                     "n_val": int(len(val_src)), "input_mode": input_mode,
                     "n_early_stopping": int(len(stop_src)) if stop_src is not None else 0}
    t0 = time.perf_counter()
    if folded is None:
        if space is None:
            from trainer.supernet import default_space

            space = default_space(in_shape)
        cfg = config or space.largest(timesteps=max(t for t in space.timesteps
                                                    if t_data % t == 0))
        space.validate(cfg)
        metrics.update(config=cfg.to_dict(), space=space.to_dict())
        net = SuperNet(in_shape, n_classes, space, input_mode=input_mode).to(device)
        if search_epochs > 0:
            log = train_supernet(net, train_src, train_labels, sampler="sandwich",
                                 epochs=search_epochs, batch_size=batch_size, lr=lr, seed=seed,
                                 progress=progress, amp_dtype=amp_dtype, on_step=on_step)
            metrics["supernet_steps"] = log.steps
            metrics["supernet_loss_last"] = log.losses[-1] if log.losses else None
        stopper = None
        if stop_src is not None:
            stopper = EarlyStopping(
                net, lambda: evaluate_subnet(net, cfg, stop_src, stop_labels)["accuracy"],
                patience)
        log = train_supernet(net, train_src, train_labels, sampler=cfg, epochs=epochs,
                             batch_size=batch_size, lr=lr, seed=seed + 1, budget_s=budget_s,
                             progress=progress, on_epoch=stopper, amp_dtype=amp_dtype,
                             on_step=on_step)
        metrics["train_steps"] = log.steps
        metrics["train_epochs_done"] = log.epochs
        metrics["train_loss_last"] = log.losses[-1] if log.losses else None
        metrics["train_stopped_by_budget"] = log.stopped_by_budget
        if stopper is not None:
            stopper.restore()
            metrics["early_stopping"] = stopper.summary(log, epochs)
        recalibrate(net, cfg, train_src)
        metrics["subnet_val_accuracy"] = evaluate_subnet(net, cfg, val_src,
                                                         val_labels)["accuracy"]
        folded = fold_subnet(net, cfg)
    else:
        net, cfg = None, None
        log = TrainLog()
        folded = folded.to(device)
        metrics.update(config=None, imported=folded.describe())
        if epochs > 0:
            fstop = None
            if stop_src is not None:
                fstop = EarlyStopping(
                    folded, lambda: folded_accuracy(folded, stop_src, stop_labels)[0], patience)
                fstop(0, TrainLog())  # the imported network competes with its fine-tuned epochs
            flog = finetune(folded, train_src, train_labels, bits=None, epochs=epochs,
                            batch_size=batch_size, lr=qat_lr, seed=seed + 1, progress=progress,
                            amp_dtype=amp_dtype, on_epoch=fstop, on_step=on_step)
            if fstop is not None:
                fstop.restore()
                folded.eval()
                metrics["early_stopping"] = fstop.summary(flog, epochs)
            metrics["train_steps"] = flog.steps
            metrics["train_epochs_done"] = flog.epochs
            log = flog
    metrics["float_val_accuracy"] = folded_accuracy(folded, val_src, val_labels)[0]
    _report(on_step, "supernet" if net is not None else "finetune", log, metrics["float_val_accuracy"])
    metrics["train_seconds"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    metrics["quant_val_accuracy_before_qat"] = folded_accuracy(folded, val_src, val_labels,
                                                               bits)[0]
    if qat_epochs > 0:
        qstop = None
        if stop_src is not None:
            qstop = EarlyStopping(
                folded, lambda: folded_accuracy(folded, stop_src, stop_labels, bits)[0],
                qat_patience)
            qstop(0, TrainLog())  # the quantised network before QAT competes too
        qlog = finetune(folded, train_src, train_labels, bits=bits, epochs=qat_epochs,
                        batch_size=batch_size, lr=qat_lr, seed=seed + 2, progress=progress,
                        on_epoch=qstop, on_step=on_step)
        if qstop is not None:
            qstop.restore()
            folded.eval()
            metrics["qat_early_stopping"] = qstop.summary(qlog, qat_epochs)
        metrics["qat_steps"] = qlog.steps
    metrics["quant_val_accuracy"] = folded_accuracy(folded, val_src, val_labels, bits)[0]
    _report(on_step, f"qat{bits}", qlog if qat_epochs > 0 else log, metrics["quant_val_accuracy"])
    metrics["qat_seconds"] = time.perf_counter() - t1
    return TrainResult(net, cfg, folded, bits, metrics)


def _report(on_step, phase: str, log: TrainLog, accuracy: float) -> None:
    if on_step is not None:
        on_step(StepReport(phase, log.steps, log.steps, 0, log.losses[-1] if log.losses else 0.0, accuracy))
