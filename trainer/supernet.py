"""Weight-sharing SNN supernet of hardware-mappable blocks.

A search space is a list of blocks, each with candidate operations (`conv3`, `conv5`, and `skip`
where the block has stride 1), candidate output widths, plus network-wide choices of timesteps
and LIF tau. A sub-network (`SubnetConfig`) picks one of each. All sub-networks share the
supernet's weights: a conv weight is stored once at the largest kernel and width; a narrower
sub-network uses the first channels and `conv3` the centre 3x3 taps (as in once-for-all nets).

Only operations the chip runs are offered: strided conv2d (stride 2 downsamples -- no pooling),
dense, LIF; `skip` removes the block (no residual adds). The classifier is one dense layer of
LIF neurons on the channels of the last block; the class with most output spikes wins.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from trainer.snn import (
    TAU_CHOICES,
    ScaleNorm,
    check_input_mode,
    leak_fraction,
    make_lif,
    seq_apply,
)

OPS = ("conv3", "conv5", "skip")


@dataclass(frozen=True)
class BlockSpec:
    stride: int = 1
    ops: tuple = ("conv3", "conv5")
    widths: tuple = (16, 32)

    def __post_init__(self):
        if self.stride not in (1, 2):
            raise ValueError(f"block stride must be 1 or 2 (got {self.stride})")
        for op in self.ops:
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}; choose from {OPS}")
        if "skip" in self.ops and self.stride != 1:
            raise ValueError("a stride-2 block cannot be skipped (it changes the shape)")
        if not self.ops or not self.widths or min(self.widths) < 1:
            raise ValueError("a block needs at least one op and positive widths")


@dataclass(frozen=True)
class SearchSpace:
    blocks: tuple
    timesteps: tuple = (8,)
    taus: tuple = (2.0,)
    reset: str = "hard"

    def __post_init__(self):
        for tau in self.taus:
            leak_fraction(tau)
        if self.reset not in ("hard", "subtract"):
            raise ValueError(f"reset must be 'hard' or 'subtract' (got {self.reset!r})")
        if not self.blocks:
            raise ValueError("a search space needs at least one block")
        first = self.blocks[0]
        if "skip" in first.ops and len(set(first.ops)) == 1:
            raise ValueError("the first block cannot only be skipped")

    def to_dict(self) -> dict:
        return {
            "blocks": [asdict(b) for b in self.blocks],
            "timesteps": list(self.timesteps),
            "taus": list(self.taus),
            "reset": self.reset,
        }

    @staticmethod
    def from_dict(d: dict) -> "SearchSpace":
        blocks = tuple(
            BlockSpec(stride=b["stride"], ops=tuple(b["ops"]), widths=tuple(b["widths"]))
            for b in d["blocks"]
        )
        return SearchSpace(
            blocks=blocks,
            timesteps=tuple(d["timesteps"]),
            taus=tuple(float(t) for t in d["taus"]),
            reset=d.get("reset", "hard"),
        )

    def largest(self, timesteps: Optional[int] = None, tau: Optional[float] = None):
        ops = tuple("conv5" if "conv5" in b.ops else [o for o in b.ops if o != "skip"][0]
                    for b in self.blocks)
        return SubnetConfig(
            ops=ops,
            widths=tuple(max(b.widths) for b in self.blocks),
            timesteps=timesteps or max(self.timesteps),
            tau=tau or self.taus[0],
        )

    def smallest(self, timesteps: Optional[int] = None, tau: Optional[float] = None):
        ops = []
        for i, b in enumerate(self.blocks):
            if "skip" in b.ops and i > 0:
                ops.append("skip")
            else:
                ops.append("conv3" if "conv3" in b.ops else b.ops[0])
        return SubnetConfig(
            ops=tuple(ops),
            widths=tuple(min(b.widths) for b in self.blocks),
            timesteps=timesteps or min(self.timesteps),
            tau=tau or self.taus[0],
        )

    def sample(self, rng: random.Random) -> "SubnetConfig":
        ops, widths = [], []
        for i, b in enumerate(self.blocks):
            choices = [o for o in b.ops if not (o == "skip" and i == 0)]
            ops.append(rng.choice(choices))
            widths.append(rng.choice(b.widths))
        return SubnetConfig(
            ops=tuple(ops),
            widths=tuple(widths),
            timesteps=rng.choice(self.timesteps),
            tau=rng.choice(self.taus),
        )

    def validate(self, cfg: "SubnetConfig") -> None:
        if len(cfg.ops) != len(self.blocks) or len(cfg.widths) != len(self.blocks):
            raise ValueError(f"config has {len(cfg.ops)} blocks, the space {len(self.blocks)}")
        for i, (b, op, w) in enumerate(zip(self.blocks, cfg.ops, cfg.widths)):
            if op not in b.ops or (op == "skip" and i == 0):
                raise ValueError(f"block {i}: op {op!r} not in {b.ops}")
            if w not in b.widths and op != "skip":
                raise ValueError(f"block {i}: width {w} not in {b.widths}")
        if cfg.timesteps not in self.timesteps:
            raise ValueError(f"timesteps {cfg.timesteps} not in {self.timesteps}")
        if float(cfg.tau) not in [float(t) for t in self.taus]:
            raise ValueError(f"tau {cfg.tau} not in {self.taus}")


@dataclass(frozen=True)
class SubnetConfig:
    ops: tuple
    widths: tuple
    timesteps: int
    tau: float

    def to_dict(self) -> dict:
        return {"ops": list(self.ops), "widths": list(self.widths),
                "timesteps": int(self.timesteps), "tau": float(self.tau)}

    @staticmethod
    def from_dict(d: dict) -> "SubnetConfig":
        return SubnetConfig(ops=tuple(d["ops"]), widths=tuple(int(w) for w in d["widths"]),
                            timesteps=int(d["timesteps"]), tau=float(d["tau"]))


def default_space(in_shape: Sequence[int]) -> SearchSpace:
    """A small space for event frames (C, H, W): two stride-2 blocks and an optional third."""
    return SearchSpace(
        blocks=(
            BlockSpec(stride=2, ops=("conv3", "conv5"), widths=(8, 16)),
            BlockSpec(stride=2, ops=("conv3", "conv5"), widths=(16, 32)),
            BlockSpec(stride=1, ops=("conv3", "conv5", "skip"), widths=(16, 32)),
        ),
        timesteps=(4, 8),
        taus=(2.0, 4.0),
    )


def conv_out(size: int, k: int, stride: int) -> int:
    return (size + 2 * (k // 2) - k) // stride + 1


class SuperNet(nn.Module):
    """Shared weights for every sub-network of `space` on inputs of shape (C, H, W).

    `input_mode`: ``spikes`` (binary input: event data, rate-coded images) or ``analog``
    (direct-encoded images; `trainer.snn.input_mode_for(frameset.encoding)`)."""

    def __init__(self, in_shape: Sequence[int], n_classes: int, space: SearchSpace,
                 input_mode: str = "spikes"):
        super().__init__()
        self.input_mode = check_input_mode(input_mode)
        self.in_shape = tuple(int(v) for v in in_shape)
        self.n_classes = int(n_classes)
        self.space = space
        c, h, w = self.in_shape
        self.convs = nn.ParameterList()
        self.norms = nn.ModuleList()
        self.lifs = nn.ModuleList()
        in_max = c
        kmax_all = []
        for b in space.blocks:
            kmax = 5 if "conv5" in b.ops else 3
            kmax_all.append(kmax)
            out_max = max(b.widths)
            weight = torch.empty(out_max, in_max, kmax, kmax)
            nn.init.kaiming_uniform_(weight, a=5 ** 0.5)
            self.convs.append(nn.Parameter(weight))
            self.norms.append(ScaleNorm(out_max))
            self.lifs.append(make_lif(space.taus[0], space.reset))
            # any later block may see this block's output, or an earlier one (skips)
            in_max = max(in_max, out_max)
            h, w = conv_out(h, 3, b.stride), conv_out(w, 3, b.stride)
        self.out_hw = (h, w)
        self.kmax = kmax_all
        head = torch.empty(n_classes, in_max, h, w)
        nn.init.kaiming_uniform_(head.view(n_classes, -1), a=5 ** 0.5)
        self.head = nn.Parameter(head)
        self.head_norm = ScaleNorm(n_classes)
        self.head_lif = make_lif(space.taus[0], space.reset)

    # -- sub-network parameters (shared slices) --------------------------------------------
    def block_weight(self, i: int, op: str, c_in: int, c_out: int) -> torch.Tensor:
        w = self.convs[i][:c_out, :c_in]
        k = 3 if op == "conv3" else 5
        off = (self.kmax[i] - k) // 2
        return w[:, :, off:off + k, off:off + k]

    def active_layers(self, cfg: SubnetConfig):
        """[(block index, op, c_in, c_out, stride)] of the non-skipped blocks."""
        out, c = [], self.in_shape[0]
        for i, (b, op, width) in enumerate(zip(self.space.blocks, cfg.ops, cfg.widths)):
            if op == "skip":
                continue
            out.append((i, op, c, width, b.stride))
            c = width
        return out, c

    def set_tau(self, tau: float) -> None:
        for node in list(self.lifs) + [self.head_lif]:
            node.tau = float(tau)

    def forward(self, x_seq: torch.Tensor, cfg: SubnetConfig, return_all: bool = False):
        """`x_seq` [T, N, C, H, W] (spikes, or analog values) -> output spikes [T, N, K]."""
        functional.reset_net(self)
        self.set_tau(cfg.tau)
        layers, c_last = self.active_layers(cfg)
        spikes = []
        x = x_seq
        for i, op, c_in, c_out, stride in layers:
            weight = self.block_weight(i, op, c_in, c_out)
            k = weight.shape[-1]
            x = seq_apply(lambda z: self.norms[i](F.conv2d(z, weight, stride=stride,
                                                              padding=k // 2)), x)
            x = self.lifs[i](x)
            spikes.append(x)
        head = self.head[:, :c_last].reshape(self.n_classes, -1)
        x = seq_apply(lambda z: self.head_norm(F.linear(z.flatten(1), head)), x)
        x = self.head_lif(x)
        spikes.append(x)
        return spikes if return_all else x
