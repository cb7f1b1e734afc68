"""Training loops: supernet (weight sharing), sub-network evaluation, folding, QAT, export.

Loss: mean squared error between each output neuron's firing rate over the T steps and the
one-hot label (SpikingJelly's classic recipe); the prediction is the class with the most output
spikes, lowest index on ties -- exactly what the chip reports (`SimResult.predicted_labels`).

Determinism: every random choice (initialisation, batch order, sub-network sampling) comes from
the seed; on the CPU with a fixed thread count two runs give identical metrics.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from trainer.folded import FoldedSNN, fold_subnet
from trainer.snn import ScaleNorm, rebin, spike_input
from trainer.supernet import SearchSpace, SubnetConfig, SuperNet


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
    return F.mse_loss(out.mean(0), F.one_hot(labels, n_classes).float())


def _progress(iterable, enabled: bool, **kw):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, **kw)


def _batches(n: int, batch_size: int, gen: torch.Generator, shuffle: bool = True):
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


@dataclass
class TrainLog:
    steps: int = 0
    epochs: float = 0.0
    seconds: float = 0.0
    losses: list = field(default_factory=list)
    stopped_by_budget: bool = False
    stopped_early: bool = False  # `Checkpointing.should_stop` ended it (a state was saved)


@dataclass
class Checkpointing:
    """Resumable training (the co-exploration's run store uses it).

    `save(state)` receives the whole training state every `every` steps (not after the last
    one) and once more if `should_stop()` (checked before every step) ends training early; it
    must serialise the state at once (it holds references to live tensors). Training given a
    `state` that `save` received continues exactly where that one stopped: the same batches,
    sub-networks, optimiser and schedule, so the result is bit-identical to an uninterrupted run.
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
    checkpointing: Optional[Checkpointing] = None,
    state_hooks: Optional[tuple] = None,
) -> TrainLog:
    """Generic loop: `forward(frames, labels, step)` -> loss; Adam with a cosine schedule.

    `checkpointing` makes it resumable; `state_hooks` = (get, set) of the caller's own state
    (model weights and buffers, samplers), which the training state carries."""
    frames = as_tensor_frames(frames)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    n = frames.shape[0]
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = max(1, -(-n // batch_size))
    total = max(1, int(round(epochs * steps_per_epoch)))
    if max_steps is not None:
        total = min(total, int(max_steps))
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
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
                "epoch_generator": epoch_state, "batches_taken": taken, "generator": gen.get_state(),
                "extra": state_hooks[0]()}

    bar = _progress(range(start, total), progress, desc=desc, unit="step", leave=False,
                    **({"initial": start, "total": total} if start else {}))
    for step in bar:
        if ck is not None and ck.should_stop is not None and ck.should_stop():
            if ck.save is not None:
                ck.save(state(step))
            log.stopped_early = True
            break
        try:
            idx = next(it)
        except StopIteration:
            epoch_state, taken = gen.get_state(), 0
            it = _batches(n, batch_size, gen)
            idx = next(it)
        taken += 1
        loss = forward(frames[idx], labels[idx], step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        log.losses.append(float(loss.detach()))
        log.steps += 1
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            log.stopped_by_budget = True
            break
        if ck is not None and ck.every and ck.save is not None and log.steps % ck.every == 0 \
                and log.steps < total:
            ck.save(state(log.steps))
    log.seconds = time.perf_counter() - t0
    log.epochs = log.steps / steps_per_epoch
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
    checkpointing: Optional[Checkpointing] = None,
) -> TrainLog:
    """Train shared weights. `sampler`: a fixed `SubnetConfig` (standalone training),
    `"random"` (one random sub-network per step) or `"sandwich"` (largest + smallest + one
    random sub-network per step, gradients summed). Stops after `epochs`, `max_steps` or
    `budget_s` seconds, whichever comes first (partial training for a budget).
    `checkpointing` makes it resumable (`Checkpointing`)."""
    space = supernet.space
    rng = random.Random(seed)
    if isinstance(sampler, SubnetConfig):
        space.validate(sampler)
    elif sampler not in ("random", "sandwich"):
        raise ValueError(f"sampler must be 'random', 'sandwich' or a SubnetConfig (got {sampler!r})")
    t_data = as_tensor_frames(frames).shape[1]
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
            xs = spike_input(rebin(x, cfg.timesteps))
            out = supernet(xs, cfg)
            total = total + rate_loss(out, y, supernet.n_classes)
        return total

    def set_state(d):
        supernet.load_state_dict(d["model"])
        rng.setstate(d["sampler"])

    return train_loop(forward, supernet.parameters(), frames, labels,
                      epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, budget_s=budget_s,
                      max_steps=max_steps, progress=progress, desc="supernet",
                      checkpointing=checkpointing,
                      state_hooks=(lambda: {"model": supernet.state_dict(), "sampler": rng.getstate()},
                                   set_state))


@torch.no_grad()
def recalibrate(supernet: SuperNet, cfg: SubnetConfig, frames, batches: int = 8,
                batch_size: int = 64) -> None:
    """Re-estimate the norms' running statistics for the sub-network `cfg` (weights inherited)."""
    frames = as_tensor_frames(frames)
    norms = [m for m in supernet.modules() if isinstance(m, ScaleNorm)]
    saved = [m.momentum for m in norms]
    supernet.eval()
    for m in norms:
        m.train()
    for k, i in enumerate(range(0, min(len(frames), batches * batch_size), batch_size)):
        for m in norms:
            m.momentum = 1.0 / (k + 1)  # cumulative average over the calibration batches
        supernet(spike_input(rebin(frames[i:i + batch_size], cfg.timesteps)), cfg)
    for m, mom in zip(norms, saved):
        m.momentum = mom
        m.eval()


@torch.no_grad()
def output_counts(forward: Callable[[torch.Tensor], torch.Tensor], frames, timesteps: int,
                  batch_size: int = 128) -> np.ndarray:
    """Output spike counts int64 [N, K] of `forward(x_seq)` over `frames`."""
    frames = as_tensor_frames(frames)
    outs = []
    for i in range(0, len(frames), batch_size):
        out = forward(spike_input(rebin(frames[i:i + batch_size], timesteps)))
        outs.append(out.sum(0).round().to(torch.int64))
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
    frames = as_tensor_frames(frames)
    counts, spikes = [], None
    with torch.no_grad():
        for i in range(0, len(frames), 128):
            outs = supernet(spike_input(rebin(frames[i:i + 128], cfg.timesteps)), cfg,
                            return_all=True)
            per_layer = torch.stack([o.sum(dim=tuple(d for d in range(o.dim()) if d != 1))
                                     for o in outs], 1)
            spikes = per_layer if spikes is None else torch.cat([spikes, per_layer])
            counts.append(outs[-1].sum(0).round().long())
    counts = torch.cat(counts).numpy()
    return {"accuracy": accuracy_from_counts(counts, labels),
            "spikes_per_layer_mean": spikes.float().mean(0).tolist(),
            "config": cfg.to_dict()}


def finetune(model: FoldedSNN, frames, labels, *, bits: Optional[int] = None,
             epochs: float = 1.0, batch_size: int = 32, lr: float = 5e-4, seed: int = 0,
             budget_s: Optional[float] = None, progress: bool = False,
             checkpointing: Optional[Checkpointing] = None) -> TrainLog:
    """Train a folded network in float (`bits=None`) or quantisation-aware (`bits`);
    `checkpointing` makes it resumable (`Checkpointing`)."""
    model.train()

    def forward(x, y, step):
        out = model(spike_input(rebin(x, model.timesteps)), bits=bits)
        return rate_loss(out, y, model.n_classes)

    log = train_loop(forward, model.parameters(), frames, labels,
                     epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, budget_s=budget_s,
                     progress=progress, desc=f"qat{bits}" if bits else "finetune",
                     checkpointing=checkpointing,
                     state_hooks=(lambda: {"model": model.state_dict()},
                                  lambda d: model.load_state_dict(d["model"])))
    model.eval()
    return log


def folded_accuracy(model: FoldedSNN, frames, labels, bits: Optional[int] = None) -> tuple:
    model.eval()
    counts = output_counts(lambda x: model(x, bits=bits), frames, model.timesteps)
    return accuracy_from_counts(counts, labels), counts


# -- end-to-end: train a sub-network, fold, QAT, export -----------------------------------------


@dataclass
class TrainResult:
    supernet: SuperNet
    config: SubnetConfig
    folded: FoldedSNN  # after QAT (weights are the float shadow weights)
    bits: int
    metrics: dict


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
) -> TrainResult:
    """Supernet (optional, `search_epochs` of sandwich training) -> train `config` (default:
    the largest sub-network) for `epochs` -> fold the norms -> `qat_epochs` of QAT at `bits`.

    Metrics: float accuracy (folded, before QAT), quantised accuracy (QAT forward pass),
    losses, times. `budget_s` bounds the float training time (partial training).
    """
    from trainer.quant import qmax

    qmax(bits)
    set_seed(seed, threads)
    train_frames = as_tensor_frames(train_frames)
    val_frames = as_tensor_frames(val_frames)
    in_shape = tuple(train_frames.shape[2:])
    if space is None:
        from trainer.supernet import default_space

        space = default_space(in_shape)
    cfg = config or space.largest(timesteps=max(t for t in space.timesteps
                                                if train_frames.shape[1] % t == 0))
    space.validate(cfg)
    net = SuperNet(in_shape, n_classes, space)
    t0 = time.perf_counter()
    metrics: dict = {"seed": seed, "bits": bits, "config": cfg.to_dict(),
                     "space": space.to_dict(), "n_train": int(len(train_frames)),
                     "n_val": int(len(val_frames))}
    if search_epochs > 0:
        log = train_supernet(net, train_frames, train_labels, sampler="sandwich",
                             epochs=search_epochs, batch_size=batch_size, lr=lr, seed=seed,
                             progress=progress)
        metrics["supernet_steps"] = log.steps
        metrics["supernet_loss_last"] = log.losses[-1] if log.losses else None
    log = train_supernet(net, train_frames, train_labels, sampler=cfg, epochs=epochs,
                         batch_size=batch_size, lr=lr, seed=seed + 1, budget_s=budget_s,
                         progress=progress)
    metrics["train_steps"] = log.steps
    metrics["train_epochs_done"] = log.epochs
    metrics["train_loss_last"] = log.losses[-1] if log.losses else None
    metrics["train_stopped_by_budget"] = log.stopped_by_budget
    recalibrate(net, cfg, train_frames)
    metrics["subnet_val_accuracy"] = evaluate_subnet(net, cfg, val_frames, val_labels)["accuracy"]
    folded = fold_subnet(net, cfg)
    metrics["float_val_accuracy"] = folded_accuracy(folded, val_frames, val_labels)[0]
    metrics["train_seconds"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    metrics["quant_val_accuracy_before_qat"] = folded_accuracy(folded, val_frames, val_labels,
                                                               bits)[0]
    if qat_epochs > 0:
        qlog = finetune(folded, train_frames, train_labels, bits=bits, epochs=qat_epochs,
                        batch_size=batch_size, lr=qat_lr, seed=seed + 2, progress=progress)
        metrics["qat_steps"] = qlog.steps
    metrics["quant_val_accuracy"] = folded_accuracy(folded, val_frames, val_labels, bits)[0]
    metrics["qat_seconds"] = time.perf_counter() - t1
    return TrainResult(net, cfg, folded, bits, metrics)
