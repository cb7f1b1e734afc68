"""An independent NumPy reference of docs/fixed-point.md (both semantics) and of the event counts.

This module shares no code with the engine: it is the oracle the simulator (`sim-rs`) and the
SANA-FE peer (`trueasync.sanafe_peer`) are checked against.

    from trueasync import reference
    ref = reference.run(network, inputs, semantics="sanafe", core_of=core_of, arch=arch,
                        energy_j=cost_model.energy_j)
    ref.counts["fired"], ref.energy_j

Count rules (the contract with the engine; docs/sanafe.md repeats them):

- `fired`: every spike of every neuron, input neurons included (`spikes_per_layer` [sample, layer]).
- `synaptic_ops`: per spike, the number of outgoing synapses of its neuron over all projections
  (dense: n_post, zero weights included; conv2d: valid (output pixel, out channel) targets over
  all in-bounds taps; sparse: its COO entries). Spikes at the last step count too.
- `packets`: per spike, one per distinct destination core of its outgoing synapses (its own core
  included, 0 hops); a neuron without outgoing synapses sends none.
- `hops`: per packet, the XY (dimension-order) Manhattan distance between source and destination
  tile; core c is on tile c // cores_per_tile; tile x = tile // mesh_height, y = tile % mesh_height.
  dx > 0 east, dx < 0 west, dy > 0 north, dy < 0 south.
- `neuron_updates`: per step, LIF neurons with |v| > 0 at the start of the step, or reached by any
  synapse this step (timestep: same-step feed-forward or previous-step recurrent spikes; sanafe:
  previous-step spikes; a zero weight still counts), or bias != 0 -- plus input neurons that fire.
- `neuron_accesses`: sanafe: every LIF neuron every step; timestep: the LIF neurons updated.
- energies (keys of the workload format): soma = soma_access*accesses + soma_update*LIF updates +
  soma_spike*LIF spikes; synapse = synapse_event*synaptic_ops; network = (message_out +
  message_in)*packets + per-direction hop energy x flits, flits = `arch.flits_per_packet` (the
  packet format of docs/cost-model.md). These are flat per-event energies, as a workload file or
  SANA-FE states them (no weight-width or link-width terms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import scipy.sparse as sp

from trueasync.model import (
    Architecture,
    Conv2dProjection,
    DenseProjection,
    InputLayer,
    LifLayer,
    Network,
    SparseProjection,
)
from trueasync.workload import ENERGY_KEYS
DIRECTIONS = ("east", "west", "north", "south")


@dataclass
class ReferenceResult:
    """Spikes and per-sample counts (int64 arrays, first axis = sample).

    `counts` always holds `fired`, `synaptic_ops`, `neuron_updates`, `neuron_accesses`, plus the
    helpers `lif_fired` (spikes of LIF neurons) and `lif_updates` (updates of LIF neurons); with
    `core_of` also `packets`; with `core_of` and `arch` also `hops` and `hops_east` .. `hops_south`.
    `energy_breakdown_j` (keys `synapse`, `soma`, `network`) and `energy_j` are set when
    `energy_j` costs were given.
    """

    semantics: str
    layer_names: list
    spikes: list  # per layer: bool [sample, step, size]
    spikes_per_layer: np.ndarray  # int64 [sample, layer]
    counts: dict
    energy_breakdown_j: Optional[dict] = None
    energy_j: Optional[np.ndarray] = None
    extra: dict = field(default_factory=dict)  # "v_final": per layer potentials at the end

    def totals(self) -> dict:
        out = {name: int(v.sum()) for name, v in self.counts.items()}
        if self.energy_j is not None:
            out["energy_j"] = float(self.energy_j.sum())
            for k, v in self.energy_breakdown_j.items():
                out[f"energy_{k}_j"] = float(v.sum())
        return out


# --------------------------------------------------------------------------------------------
# Connectivity: every projection as (weight matrix, pattern matrix, COO of synapses)


def conv2d_synapses(
    in_shape, out_shape, kernel: np.ndarray, stride: int, padding: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Explicit synapses (pre, post, w) of a conv2d projection (channels-last numbering)."""
    H, W, Cin = (int(v) for v in in_shape)
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"conv2d weights must be [out_c, in_c, kh, kw], got shape {kernel.shape}")
    Cout, kin, kh, kw = kernel.shape
    if kin != Cin:
        raise ValueError(f"conv2d kernel has {kin} input channels, the pre layer has {Cin}")
    s, p = int(stride), int(padding)
    Ho = (H + 2 * p - kh) // s + 1
    Wo = (W + 2 * p - kw) // s + 1
    if out_shape is not None and tuple(int(v) for v in out_shape) != (Ho, Wo, Cout):
        raise ValueError(
            f"conv2d output shape should be {(Ho, Wo, Cout)} for input {(H, W, Cin)}, "
            f"kernel {kernel.shape}, stride {s}, padding {p}; the post layer has {tuple(out_shape)}"
        )
    oy, ox, ky, kx = np.meshgrid(
        np.arange(Ho), np.arange(Wo), np.arange(kh), np.arange(kw), indexing="ij"
    )
    iy = oy * s - p + ky
    ix = ox * s - p + kx
    ok = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    oy, ox, ky, kx, iy, ix = (a[ok] for a in (oy, ox, ky, kx, iy, ix))
    # broadcast over (in channel, out channel)
    ci = np.arange(Cin)[None, :, None]
    co = np.arange(Cout)[None, None, :]
    pre = ((iy * W + ix)[:, None, None] * Cin + ci) + 0 * co
    post = ((oy * Wo + ox)[:, None, None] * Cout + co) + 0 * ci
    w = kernel[co, ci, ky[:, None, None], kx[:, None, None]]
    return pre.ravel().astype(np.int64), post.ravel().astype(np.int64), w.ravel().astype(np.int64)


def projection_coo(network: Network, proj) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synapses of one projection as local (pre, post, w) int64 arrays (dense: row-major)."""
    layers = {layer.name: layer for layer in network.layers}
    pre_l, post_l = layers[proj.pre], layers[proj.post]
    if isinstance(proj, DenseProjection):
        w = np.asarray(proj.weights)
        if w.shape != (pre_l.size, post_l.size):
            raise ValueError(
                f"dense projection {proj.pre}->{proj.post}: weights shape {w.shape}, "
                f"expected {(pre_l.size, post_l.size)}"
            )
        pre, post = np.divmod(np.arange(w.size, dtype=np.int64), post_l.size)
        return pre, post, w.ravel().astype(np.int64)
    if isinstance(proj, Conv2dProjection):
        if pre_l.shape is None or post_l.shape is None:
            raise ValueError(
                f"conv2d projection {proj.pre}->{proj.post}: both layers need a shape (H, W, C)"
            )
        return conv2d_synapses(pre_l.shape, post_l.shape, proj.weights, proj.stride, proj.padding)
    if isinstance(proj, SparseProjection):
        pre = np.asarray(proj.pre_index, dtype=np.int64)
        post = np.asarray(proj.post_index, dtype=np.int64)
        w = np.asarray(proj.weights, dtype=np.int64)
        if not (pre.shape == post.shape == w.shape) or pre.ndim != 1:
            raise ValueError(f"sparse projection {proj.pre}->{proj.post}: arrays differ in shape")
        if pre.size and (pre.min() < 0 or pre.max() >= pre_l.size):
            raise ValueError(f"sparse projection {proj.pre}->{proj.post}: pre_index out of range")
        if post.size and (post.min() < 0 or post.max() >= post_l.size):
            raise ValueError(f"sparse projection {proj.pre}->{proj.post}: post_index out of range")
        return pre, post, w
    raise TypeError(f"unknown projection type {type(proj).__name__}")


class _Proj:
    """One projection prepared for stepping: a weight operator and a reach operator."""

    def __init__(self, network: Network, proj, index_of: dict):
        self.pre = index_of[proj.pre]
        self.post = index_of[proj.post]
        self.recurrent = self.pre >= self.post
        layers = network.layers
        n_pre, n_post = layers[self.pre].size, layers[self.post].size
        if isinstance(proj, DenseProjection):
            self.dense = True
            w = np.asarray(proj.weights)
            if w.shape != (n_pre, n_post):
                raise ValueError(
                    f"dense projection {proj.pre}->{proj.post}: weights shape {w.shape}, "
                    f"expected {(n_pre, n_post)}"
                )
            self.w = w.astype(np.float64)  # integer sums < 2^53 are exact in float64
            self.out_deg = np.full(n_pre, n_post, dtype=np.int64)
            self.n_post = n_post
        else:
            self.dense = False
            pre, post, w = projection_coo(network, proj)
            self.w = sp.csr_matrix(
                (w.astype(np.float64), (pre, post)), shape=(n_pre, n_post)
            )
            self.reach = sp.csr_matrix(
                (np.ones(pre.size), (pre, post)), shape=(n_pre, n_post)
            )
            self.out_deg = np.bincount(pre, minlength=n_pre).astype(np.int64)
            self.n_post = n_post

    def current(self, spikes: np.ndarray) -> np.ndarray:
        """Integer weighted sums [sample, post] (float64 holding integers)."""
        s = spikes.astype(np.float64)
        if self.dense:
            return s @ self.w
        return np.asarray((self.w.T @ s.T).T)

    def reached(self, spikes: np.ndarray) -> np.ndarray:
        """bool [sample, post]: reached by at least one synapse of a spiking pre neuron."""
        if self.dense:
            return np.repeat(spikes.any(axis=1, keepdims=True), self.n_post, axis=1)
        s = spikes.astype(np.float64)
        return np.asarray((self.reach.T @ s.T).T) > 0


# --------------------------------------------------------------------------------------------
# Per-neuron routing tables


def tile_xy(core: np.ndarray, arch: Architecture) -> tuple[np.ndarray, np.ndarray]:
    tile = np.asarray(core, dtype=np.int64) // arch.cores_per_tile
    return tile // arch.mesh_height, tile % arch.mesh_height


def routing_tables(network: Network, core_of: np.ndarray, arch: Optional[Architecture]):
    """Per global neuron: packets per spike and hops per spike in each direction [N, 4]."""
    n = network.n_neurons
    core_of = np.asarray(core_of, dtype=np.int64)
    if core_of.shape != (n,):
        raise ValueError(f"core_of must have one entry per neuron ({n}), got shape {core_of.shape}")
    offsets = network.layer_offsets()
    index_of = {layer.name: i for i, layer in enumerate(network.layers)}
    n_cores = int(core_of.max()) + 1 if n else 1
    if arch is not None:
        n_cores = max(n_cores, arch.n_cores)
        if core_of.size and core_of.max() >= arch.n_cores:
            raise ValueError(f"core_of names core {core_of.max()}, the arch has {arch.n_cores}")
    codes = []
    for proj in network.projections:
        a, b = index_of[proj.pre], index_of[proj.post]
        pre_off, post_off = offsets[a], offsets[b]
        if isinstance(proj, DenseProjection):
            pre_cores = core_of[post_off : post_off + network.layers[b].size]
            dest = np.unique(pre_cores)
            pre = np.arange(network.layers[a].size, dtype=np.int64) + pre_off
            if network.layers[b].size == 0:
                continue
            codes.append((pre[:, None] * n_cores + dest[None, :]).ravel())
        else:
            pre, post, _ = projection_coo(network, proj)
            codes.append((pre + pre_off) * n_cores + core_of[post + post_off])
    if codes:
        pairs = np.unique(np.concatenate(codes))
    else:
        pairs = np.zeros(0, dtype=np.int64)
    src, dst = np.divmod(pairs, n_cores)
    packets = np.bincount(src, minlength=n).astype(np.int64)
    hops_dir = None
    if arch is not None:
        sx, sy = tile_xy(core_of[src], arch)
        dx_, dy_ = tile_xy(dst, arch)
        dx, dy = dx_ - sx, dy_ - sy
        per = np.stack(
            [np.maximum(dx, 0), np.maximum(-dx, 0), np.maximum(dy, 0), np.maximum(-dy, 0)], axis=1
        )
        hops_dir = np.zeros((n, 4), dtype=np.int64)
        np.add.at(hops_dir, src, per)
    return packets, hops_dir


# --------------------------------------------------------------------------------------------


def run(
    network: Network,
    inputs: np.ndarray,
    semantics: str = "timestep",
    core_of: Optional[np.ndarray] = None,
    arch: Optional[Architecture] = None,
    energy_j: Optional[dict] = None,
) -> ReferenceResult:
    """Evaluate `network` on `inputs` (bool [sample, step, n_inputs]) under `semantics`."""
    if semantics not in ("timestep", "sanafe"):
        raise ValueError(f"semantics must be 'timestep' or 'sanafe', got {semantics!r}")
    inputs = np.asarray(inputs)
    if inputs.ndim != 3 or inputs.shape[2] != network.n_inputs:
        raise ValueError(
            f"inputs must be [sample, step, {network.n_inputs}], got shape {inputs.shape}"
        )
    inputs = inputs.astype(bool)
    ns, T, _ = inputs.shape
    layers = list(network.layers)
    L = len(layers)
    index_of = {layer.name: i for i, layer in enumerate(layers)}
    if len(index_of) != L:
        raise ValueError("layer names must be unique")
    for proj in network.projections:
        for end in (proj.pre, proj.post):
            if end not in index_of:
                raise ValueError(f"projection {proj.pre}->{proj.post}: no layer named {end!r}")
        if isinstance(layers[index_of[proj.post]], InputLayer):
            raise ValueError(f"projection {proj.pre}->{proj.post} targets an input layer")
    projs = [_Proj(network, p, index_of) for p in network.projections]
    incoming = [[p for p in projs if p.post == i] for i in range(L)]
    sanafe = semantics == "sanafe"
    ws = float(network.weight_scale)

    # input columns
    in_cols, col = [], 0
    for layer in layers:
        if isinstance(layer, InputLayer):
            in_cols.append((col, col + layer.size))
            col += layer.size
        else:
            in_cols.append(None)

    # state
    v = []
    for layer in layers:
        if isinstance(layer, LifLayer):
            if not 0 <= layer.leak_shift <= 16 or not 0 <= layer.leak_num <= 2**layer.leak_shift:
                raise ValueError(f"layer {layer.name}: leak {layer.leak_num}/2^{layer.leak_shift}")
            v.append(np.zeros((ns, layer.size), dtype=np.float64 if sanafe else np.int64))
        else:
            v.append(None)
    spikes = [np.zeros((ns, T, layer.size), dtype=bool) for layer in layers]
    prev = [np.zeros((ns, layer.size), dtype=bool) for layer in layers]
    lif_updates = np.zeros(ns, dtype=np.int64)
    lif_accesses = np.zeros(ns, dtype=np.int64)
    n_lif = sum(layer.size for layer in layers if isinstance(layer, LifLayer))

    for t in range(T):
        now = [None] * L
        for i, layer in enumerate(layers):
            if isinstance(layer, InputLayer):
                a, b = in_cols[i]
                now[i] = inputs[:, t, a:b]
                continue
            current = np.zeros((ns, layer.size), dtype=np.float64)
            reached = np.zeros((ns, layer.size), dtype=bool)
            for p in incoming[i]:
                src = prev[p.pre] if (sanafe or p.recurrent) else now[p.pre]
                if not src.any():
                    continue
                current += p.current(src)
                reached |= p.reached(src)
            vi = v[i]
            updated = reached | (vi != 0)
            if layer.bias != 0:
                updated[:] = True
            lif_updates += updated.sum(axis=1)
            if sanafe:
                vi = vi * (layer.leak_num / 2**layer.leak_shift)
                vi = np.trunc(vi * 64.0) / 64.0
                vi = vi + layer.bias * ws + current * ws
                fire = vi > layer.threshold * ws
                if layer.reset_mode == "hard":
                    vi = np.where(fire, layer.reset_value * ws, vi)
                else:
                    vi = np.where(fire, vi - layer.threshold * ws, vi)
                lif_accesses += layer.size
            else:
                vi = (vi * layer.leak_num) >> layer.leak_shift
                vi = vi + layer.bias + current.astype(np.int64)
                fire = vi >= layer.threshold
                if layer.reset_mode == "hard":
                    vi = np.where(fire, np.int64(layer.reset_value), vi)
                else:
                    vi = np.where(fire, vi - layer.threshold, vi)
                lif_accesses += updated.sum(axis=1)
            v[i] = vi
            now[i] = fire
        for i in range(L):
            spikes[i][:, t, :] = now[i]
        prev = now

    # counts
    per_layer_counts = [s.sum(axis=1, dtype=np.int64) for s in spikes]  # [sample, size]
    cnt = np.concatenate(per_layer_counts, axis=1) if L else np.zeros((ns, 0), np.int64)
    spikes_per_layer = np.stack([c.sum(axis=1) for c in per_layer_counts], axis=1)
    is_input = np.array([isinstance(layer, InputLayer) for layer in layers], dtype=bool)
    fired = spikes_per_layer.sum(axis=1)
    lif_fired = spikes_per_layer[:, ~is_input].sum(axis=1)
    input_fired = fired - lif_fired

    out_deg = np.zeros(network.n_neurons, dtype=np.int64)
    offsets = network.layer_offsets()
    for p in projs:
        o = offsets[p.pre]
        out_deg[o : o + layers[p.pre].size] += p.out_deg
    counts = {
        "fired": fired,
        "synaptic_ops": cnt @ out_deg,
        "neuron_updates": lif_updates + input_fired,
        "neuron_accesses": lif_accesses if not sanafe else np.full(ns, n_lif * T, np.int64),
        "lif_fired": lif_fired,
        "lif_updates": lif_updates,
    }
    if core_of is not None:
        packets_per, hops_dir = routing_tables(network, core_of, arch)
        counts["packets"] = cnt @ packets_per
        if hops_dir is not None:
            per_dir = cnt @ hops_dir  # [sample, 4]
            for k, d in enumerate(DIRECTIONS):
                counts[f"hops_{d}"] = per_dir[:, k]
            counts["hops"] = per_dir.sum(axis=1)

    result = ReferenceResult(
        semantics=semantics,
        layer_names=[layer.name for layer in layers],
        spikes=spikes,
        spikes_per_layer=spikes_per_layer,
        counts=counts,
    )
    # final membrane potentials per LIF layer (None for input layers): int64 in LSB for
    # timestep, float64 in real units for sanafe
    result.extra["v_final"] = v
    if energy_j is not None:
        result.energy_breakdown_j, result.energy_j = energies(counts, energy_j, arch)
    return result


def energies(counts: dict, energy_j: dict, arch: Optional[Architecture]):
    """Dynamic energy per sample from counts and per-event costs (J)."""
    e = {k: float(energy_j.get(k, 0.0)) for k in ENERGY_KEYS}
    soma = (
        e["soma_access"] * counts["neuron_accesses"]
        + e["soma_update"] * counts["lif_updates"]
        + e["soma_spike"] * counts["lif_fired"]
    )
    synapse = e["synapse_event"] * counts["synaptic_ops"]
    msg = e["message_out"] + e["message_in"]
    if msg != 0 and "packets" not in counts:
        raise ValueError("network energy needs core_of (packets)")
    network = msg * counts.get("packets", np.zeros_like(synapse))
    hop_cost = any(e[f"{d}_hop"] != 0 for d in DIRECTIONS)
    if hop_cost:
        if "hops" not in counts or arch is None:
            raise ValueError("hop energy needs core_of and arch")
        flits = arch.flits_per_packet
        for d in DIRECTIONS:
            network = network + e[f"{d}_hop"] * flits * counts[f"hops_{d}"]
    breakdown = {
        "synapse": np.asarray(synapse, dtype=np.float64),
        "soma": np.asarray(soma, dtype=np.float64),
        "network": np.asarray(network, dtype=np.float64),
    }
    total = breakdown["synapse"] + breakdown["soma"] + breakdown["network"]
    return breakdown, total
