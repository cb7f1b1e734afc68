"""Workloads for the hardware search: loading, N-MNIST-driven networks, training sets.

- `load_search_workload(prefix=..., network_dir=...)`: a workload on disk (neutral format,
  `trueasync.workload`) or the workload a `ancoef train` output directory holds.
- `nmnist_inputs(...)`: real N-MNIST recordings (shared/data/nmnist-small, `.bs2` read with numpy)
  binned into T frames, optionally 2x2-pooled, as bool [sample, step, y*W*C + x*C + polarity].
- `nmnist_workloads(...)`: those inputs through seeded, randomly initialised SNNs (an MLP and a
  convolutional net) -- the held-out benchmark workloads.
- `training_workloads()` / `training_evaluators()`: the generated workloads the shipped policy is
  pre-trained on (none of them is a benchmark workload).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from agent.evaluator import Evaluator, Targets
from agent.space import HardwareSpace

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ANCOEF_SHARED", REPO.parent / "shared"))
NMNIST_DIR = SHARED / "data" / "nmnist-small"
SHARED_WORKLOADS = SHARED / "workloads"


# The "laptop space" used by the benchmark and the shipped policy's pre-training: DESIGN.md's
# defaults with the mesh cut to 6 x 6 and at most 2 cores per tile, so that one simulation of a
# benchmark workload stays around 0.05 s on a 2-core machine (a 16 x 16 x 4 design with the spread
# mapping takes ~25 s). Everything else keeps the default ranges.
LAPTOP_RANGES = {"mesh_width": "1:6", "mesh_height": "1:6", "cores_per_tile": "1,2"}


def laptop_space() -> HardwareSpace:
    return HardwareSpace.from_options(LAPTOP_RANGES)


def default_preset() -> str:
    """`async28` when the engine ships it (voltage scaling and leakage), else `loihi`."""
    try:
        import trueasync

        names = trueasync.preset_names()
        return "async28" if "async28" in names else "loihi"
    except Exception:  # engine not built: callers using the surrogate ignore the preset
        return "loihi"


def load_search_workload(prefix: Optional[str] = None, network_dir: Optional[str] = None,
                         samples: Optional[int] = None, timesteps: Optional[int] = None):
    """A workload from `prefix` (PREFIX.json + PREFIX.npz) or a trainer output directory."""
    from trueasync.workload import load_workload

    if (prefix is None) == (network_dir is None):
        raise ValueError("give exactly one of --workload PREFIX or --network TRAIN_OUT_DIR")
    if network_dir is not None:
        d = Path(network_dir)
        if not d.is_dir():
            raise FileNotFoundError(f"--network {d}: not a directory (expected an `ancoef train` output dir)")
        found = []
        for j in sorted(d.rglob("*.json")):
            if j.with_suffix(".npz").exists():
                try:
                    if json.loads(j.read_text()).get("format") == "snn-anchor-workload":
                        found.append(j)
                except (ValueError, UnicodeDecodeError, AttributeError):
                    continue
        if not found:
            raise FileNotFoundError(
                f"--network {d}: no exported workload (PREFIX.json + PREFIX.npz in the neutral format) found"
            )
        preferred = [j for j in found if j.stem == "workload"]
        prefix = str((preferred or found)[0].with_suffix(""))
    else:
        p = Path(prefix)
        if p.suffix in (".json", ".npz"):
            p = p.with_suffix("")
        if not p.with_suffix(".json").exists():
            raise FileNotFoundError(f"--workload {prefix}: {p.with_suffix('.json')} does not exist")
        prefix = str(p)
    wl = load_workload(prefix)
    inputs = np.asarray(wl.inputs, bool)
    if samples is not None:
        if samples < 1:
            raise ValueError(f"--samples must be at least 1, got {samples}")
        inputs = inputs[:samples]
    if timesteps is not None:
        if timesteps < 1:
            raise ValueError(f"--timesteps must be at least 1, got {timesteps}")
        inputs = inputs[:, :timesteps]
    return dataclasses.replace(wl, inputs=inputs)


# ---------------------------------------------------------------------------------------------
# N-MNIST


def read_bs2(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    b = np.fromfile(path, dtype=np.uint8).reshape(-1, 5).astype(np.uint32)
    x, y, p = b[:, 0], b[:, 1], b[:, 2] >> 7
    t = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return x, y, p, t


def nmnist_inputs(samples: int = 4, timesteps: int = 10, pool: int = 2, first: int = 1,
                  duration_us: int = 300_000, root: Path = NMNIST_DIR) -> np.ndarray:
    """bool [samples, timesteps, H*W*2] from recordings first, first+1, ... (channels-last)."""
    if not root.is_dir():
        raise FileNotFoundError(f"N-MNIST subset not found at {root} (expected shared/data/nmnist-small)")
    side = -(-34 // pool)
    out = np.zeros((samples, timesteps, side * side * 2), dtype=bool)
    for s in range(samples):
        x, y, p, t = read_bs2(root / f"{first + s}.bs2")
        step = np.minimum(t * timesteps // duration_us, timesteps - 1)
        idx = ((y // pool) * side + (x // pool)) * 2 + p
        out[s, step, idx] = True
    return out


def nmnist_workloads(samples: int = 2, timesteps: int = 8, seed: int = 100) -> dict:
    """N-MNIST spikes (17x17x2 after 2x2 pooling) through two seeded random SNNs."""
    from trueasync.workload import generate_conv, generate_mlp

    inputs = nmnist_inputs(samples=samples, timesteps=timesteps, pool=2)
    n_in = inputs.shape[-1]
    mlp = generate_mlp((n_in, 256, 10), timesteps=timesteps, samples=samples, seed=seed, gain=1.0)
    mlp = dataclasses.replace(mlp, inputs=inputs, meta={**mlp.meta, "input_kind": "nmnist"})
    conv = generate_conv(in_shape=(17, 17, 2), out_channels=8, kernel=3, stride=2, padding=1, n_out=10,
                         timesteps=timesteps, samples=samples, seed=seed + 1, gain=1.5)
    conv = dataclasses.replace(conv, inputs=inputs, meta={**conv.meta, "input_kind": "nmnist"})
    return {"nmnist-mlp578-256-10": mlp, "nmnist-conv17x17x2-c8s2-10": conv}


def shared_workload(samples: Optional[int] = None, timesteps: Optional[int] = None):
    prefix = SHARED_WORKLOADS / "mlp_784-512-256-10_T100_16c"
    return load_search_workload(prefix=str(prefix), samples=samples, timesteps=timesteps)


# ---------------------------------------------------------------------------------------------
# pre-training workloads (generated; disjoint from the benchmark's held-out ones)


def training_workloads(seed: int = 0) -> dict:
    from trueasync.workload import generate_conv, generate_mlp

    out = {}
    specs = [
        ((128, 64, 10), 10, 0.15), ((256, 128, 10), 10, 0.1), ((400, 200, 10), 8, 0.1),
        ((512, 256, 64, 10), 8, 0.08), ((1024, 128, 10), 8, 0.05), ((200, 400, 100, 10), 10, 0.12),
        ((578, 128, 10), 8, 0.14),
    ]
    for k, (sizes, T, rate) in enumerate(specs):
        wl = generate_mlp(sizes, timesteps=T, rate=rate, samples=2, seed=seed + 10 + k, gain=1.0)
        out[wl.network.name] = wl
    for k, (shape, c, s) in enumerate([((12, 12, 2), 8, 1), ((16, 16, 2), 4, 2), ((20, 20, 1), 8, 2)]):
        wl = generate_conv(in_shape=shape, out_channels=c, kernel=3, stride=s, padding=1, n_out=10,
                           timesteps=8, rate=0.15, samples=2, seed=seed + 30 + k)
        out[wl.network.name] = wl
    return out


def make_evaluator(workload, space: Optional[HardwareSpace] = None, *, surrogate: bool = False,
                   preset: Optional[str] = None, **kw) -> Evaluator:
    if surrogate:
        from agent.surrogate import surrogate_map, surrogate_simulate

        kw.setdefault("simulate", surrogate_simulate)
        kw.setdefault("map_network", surrogate_map)
    return Evaluator(workload, space or HardwareSpace(), preset=preset or default_preset(), **kw)


def training_evaluators(preset: Optional[str] = None, surrogate: bool = False,
                        targets: Optional[Targets] = None, space: Optional[HardwareSpace] = None) -> list[Evaluator]:
    space = space or laptop_space()
    return [
        make_evaluator(wl, space, surrogate=surrogate, preset=preset, targets=targets, name=name)
        for name, wl in training_workloads().items()
    ]
