"""Workloads for the hardware search: loading, N-MNIST-driven networks, training sets.

- `load_search_workload(prefix=..., network_dir=...)`: a workload on disk (neutral format,
  `trueasync.workload`) or the workload a `ancoef train` output directory holds.
- `nmnist_inputs(...)`: real N-MNIST recordings (shared/data/nmnist-small, `.bs2` read with numpy)
  binned into T frames, optionally 2x2-pooled, as bool [sample, step, y*W*C + x*C + polarity].
- `nmnist_workloads(...)`: those inputs through seeded, randomly initialised SNNs (an MLP and a
  convolutional net).
- Three disjoint sets: `training_workloads()` / `training_evaluators()` (the shipped policy's
  pre-training), `tuning_workloads()` (where settings are chosen) and `benchmark_workloads()`
  (held out from both; see the comment above `training_workloads`).
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
# The three disjoint workload sets (docs/search.md, "Workload sets"):
#
# - pre-training (`training_workloads`): the shipped policy's only workloads. One family: dense
#   MLPs with ONE hidden LIF layer (depth 2), flat Poisson inputs, int8 or int4 weights.
# - tuning (`tuning_workloads`): where every method's settings are chosen (NSGA-II population,
#   TPE start-up, the critic and the preference schedule). Poisson inputs; a dense MLP, a single
#   conv layer on a 12x12x1 image and a sparse feed-forward net; none recurrent, none deeper than 2.
# - benchmark (`benchmark_workloads`, held out from both): families neither set has. A different
#   input geometry (real N-MNIST events, 17x17x2; the trained net's 24x24x2 digit events), a
#   different depth (three and four LIF layers), different layer kinds (two strided conv layers;
#   sparse synapses with a recurrent projection) and the network `ancoef train` trains and exports.
#   (The shared 784-512-256-10 workload of the earlier benchmark is left out: a dense MLP, the
#   nearest family to pre-training's, and three times slower to simulate than the others.)


def training_workloads(seed: int = 0) -> dict:
    """Pre-training set: dense MLPs in-hidden-out with Poisson inputs (see above)."""
    from trueasync.workload import generate_mlp

    out = {}
    # (sizes, T, input rate, weight bits)
    specs = [
        ((64, 32, 10), 10, 0.2, 8), ((128, 64, 10), 10, 0.15, 8), ((200, 400, 10), 10, 0.12, 8),
        ((256, 128, 10), 12, 0.1, 8), ((400, 200, 10), 8, 0.1, 8), ((512, 128, 10), 8, 0.08, 8),
        ((1024, 128, 10), 8, 0.05, 8), ((1024, 512, 10), 6, 0.05, 8), ((160, 80, 10), 10, 0.15, 4),
        ((640, 256, 10), 8, 0.08, 4),
    ]
    for k, (sizes, T, rate, bits) in enumerate(specs):
        wl = generate_mlp(sizes, timesteps=T, rate=rate, samples=2, seed=seed + 10 + k, gain=1.0)
        if bits < 8:
            wl = _requantise(wl, bits)
        out[wl.network.name] = wl
    return out


def _requantise(wl, bits: int):
    """The workload with its int8 weights rounded to `bits`-bit signed integers (and the threshold
    scaled with them), so that the network needs only `bits`-bit weight memory."""
    from trueasync.model import DenseProjection, LifLayer

    shift = 8 - bits
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    projections = tuple(
        dataclasses.replace(p, weights=np.clip(np.round(np.asarray(p.weights, float) / (1 << shift)), lo, hi)
                            .astype(np.int8)) if isinstance(p, DenseProjection) else p
        for p in wl.network.projections)
    layers = tuple(
        dataclasses.replace(lay, threshold=max(1, int(round(lay.threshold / (1 << shift)))))
        if isinstance(lay, LifLayer) else lay for lay in wl.network.layers)
    net = dataclasses.replace(wl.network, layers=layers, projections=projections,
                              name=wl.network.name + f"_w{bits}")
    return dataclasses.replace(wl, network=net, meta={**wl.meta, "weight_bits": bits})


def tuning_workloads(seed: int = 500) -> dict:
    """Tuning set: Poisson inputs; dense MLP, one conv layer on 12x12x1, sparse feed-forward."""
    from trueasync.workload import generate_conv, generate_mlp, generate_sparse

    mlp = generate_mlp((320, 160, 10), timesteps=10, rate=0.12, samples=2, seed=seed, gain=1.0)
    conv = generate_conv(in_shape=(12, 12, 1), out_channels=6, kernel=3, stride=1, padding=1, n_out=10,
                         timesteps=8, rate=0.15, samples=2, seed=seed + 1)
    sparse = generate_sparse((300, 150, 10), density=0.15, recurrent=False, timesteps=8, rate=0.12,
                             samples=2, seed=seed + 2)
    return {"tune-mlp320-160-10": mlp, "tune-conv12x12x1-c6-10": conv, "tune-sparse300-150-10": sparse}


def conv_stack(in_shape: tuple, channels: Sequence[int], n_out: int, timesteps: int, samples: int,
               seed: int, kernel: int = 3, stride: int = 2, gain: float = 1.5, name: str = "convstack"):
    """input H x W x C -> one strided conv LIF layer per entry of `channels` -> dense LIF `n_out`
    (seeded int8 weights, Poisson inputs until replaced)."""
    from trueasync.model import Conv2dProjection, DenseProjection, InputLayer, Network
    from trueasync.workload import Workload, _int8_weights, _lif, _poisson

    rng = np.random.default_rng(seed)
    h, w, c = in_shape
    layers = [InputLayer("in", h * w * c, shape=tuple(in_shape))]
    projections = []
    pad = kernel // 2
    for k, co in enumerate(channels, 1):
        ho, wo = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
        layers.append(_lif(f"conv{k}", ho * wo * co, shape=(ho, wo, co)))
        projections.append(Conv2dProjection(layers[-2].name, layers[-1].name,
                                            _int8_weights(rng, c * kernel * kernel, (co, c, kernel, kernel), gain),
                                            stride=stride, padding=pad))
        h, w, c = ho, wo, co
    layers.append(_lif("fc", n_out, reset_mode="subtract"))
    projections.append(DenseProjection(layers[-2].name, "fc", _int8_weights(rng, h * w * c, (h * w * c, n_out), gain)))
    net = Network(tuple(layers), tuple(projections), weight_scale=1 / 64, name=name)
    inputs = _poisson(rng, samples, timesteps, layers[0].size, 0.1)
    meta = {"kind": "convstack", "in_shape": list(in_shape), "channels": list(channels), "n_out": n_out,
            "timesteps": timesteps, "samples": samples, "seed": seed}
    return Workload(net, None, None, None, inputs, meta)


def benchmark_workloads(trained_dir: Optional[Path] = None, samples: int = 2, timesteps: int = 8,
                        seed: int = 100) -> dict:
    """The held-out benchmark set (see above). `trained_dir`: an `ancoef train` output directory
    (the benchmark trains one, `benchmarks/hw_search.py`); without it that workload is left out."""
    from trueasync.workload import generate_sparse

    inputs = nmnist_inputs(samples=samples, timesteps=timesteps, pool=2)
    n_in = inputs.shape[-1]
    conv = conv_stack((17, 17, 2), (8, 16), 10, timesteps, samples, seed + 1, name="nmnist_conv2_c8s2-c16s2-10")
    conv = dataclasses.replace(conv, inputs=inputs, meta={**conv.meta, "input_kind": "nmnist"})
    rec = generate_sparse((n_in, 256, 10), density=0.1, recurrent=True, timesteps=timesteps, samples=samples,
                          seed=seed + 2, gain=1.5)
    rec = dataclasses.replace(rec, inputs=inputs, meta={**rec.meta, "input_kind": "nmnist"})
    out = {"nmnist-conv2-c8s2-c16s2-10": conv, "nmnist-sparse-rec578-256-10": rec}
    if trained_dir is not None:
        out["trained-digits-dvs-conv"] = load_search_workload(network_dir=str(trained_dir), samples=samples)
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
