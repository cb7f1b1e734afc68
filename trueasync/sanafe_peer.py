"""Run any `Workload` on SANA-FE (`pip install sanafe`), the peer simulator, side by side.

    from trueasync.workload import load_workload
    from trueasync.sanafe_peer import run_sanafe
    out = run_sanafe(load_workload("../shared/workloads/mlp_784-512-256-10_T100_16c"))
    out["totals"]["fired"], out["per_sample"]["energy"]

What the export does (docs/sanafe.md has the details and the exact count correspondence):

- architecture: a `mesh_width x mesh_height` mesh of tiles with `cores_per_tile` cores each; every
  core has one `current_based` synapse unit, an `accumulator` dendrite (cost 0), a
  `leaky_integrate_fire` soma unit `lif` and `input[0..K-1]` soma units of model `input` (SANA-FE's
  input model holds one spike train per unit, so every input neuron on a core gets its own unit);
  per-event energies and latencies are what the engine charges on this design
  (`trueasync.event_costs(workload.arch, workload.costs)`: a synaptic event at the design's
  weight width, a hop per packet with all its flits at the design's link width, the supply
  voltage's scaling); for a flat cost model (a workload file's own costs) that is the file's figures.
- network: one neuron group per layer; dense projections with `connect_neurons_dense`, conv2d and
  sparse projections expanded to explicit synapses (`connect_neurons_sparse`); real weights
  `w * weight_scale`; every neuron mapped to `core_of[neuron]` (the workload's, or packed).
- inputs: the `spikes` model attribute (a bool per step) of every input neuron, set again on the
  mapped neurons for every sample after `chip.reset()`.

`sanafe` is optional: it is imported inside the functions and a clear ImportError says how to
install it when it is missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional, Union

import numpy as np

from trueasync.model import DenseProjection, InputLayer, LifLayer
from trueasync.workload import Workload, packed_core_of

SANAFE_VERSION = "2.2.9"
# SANA-FE's name of each functional count -> ours (TrueAsync and the NumPy reference); the
# correspondence is explained in docs/sanafe.md.
COUNT_NAMES = (
    ("fired", "fired"),
    ("synaptic_events", "synaptic_ops"),
    ("packets", "packets"),
    ("hops", "hops"),
    ("updated", "neuron_updates"),
)


def _import_sanafe():
    try:
        import sanafe  # noqa: F401
    except ImportError as e:  # pragma: no cover - exercised only without sanafe
        raise ImportError(
            "trueasync.sanafe_peer needs SANA-FE's Python package: pip install "
            f"sanafe=={SANAFE_VERSION} ({e})"
        ) from None
    return sanafe


def _core_of(wl: Workload) -> np.ndarray:
    if wl.core_of is not None:
        return np.asarray(wl.core_of, dtype=np.int64)
    core_of, _ = packed_core_of(wl.network, wl.arch.n_cores, wl.arch.neurons_per_core)
    return core_of


def _input_units_needed(wl: Workload, core_of: np.ndarray) -> int:
    is_in = np.concatenate(
        [np.full(l.size, isinstance(l, InputLayer)) for l in wl.network.layers]
    ) if wl.network.layers else np.zeros(0, bool)
    if not is_in.any():
        return 1
    return int(np.bincount(core_of[is_in]).max())


def arch_description(wl: Workload, core_of: Optional[np.ndarray] = None) -> dict:
    """SANA-FE architecture (as the dict of its YAML file) for the workload's arch and costs."""
    from trueasync.api import event_costs

    arch = wl.arch
    charged = event_costs(arch, wl.costs)
    e, lat = charged["energy_j"], charged["latency_s"]
    core_of = _core_of(wl) if core_of is None else core_of
    n_tiles = arch.mesh_width * arch.mesh_height
    per_core = np.bincount(core_of, minlength=arch.n_cores)
    max_neurons = int(max(arch.neurons_per_core, per_core.max() if per_core.size else 1))
    n_input_units = _input_units_needed(wl, core_of)

    def E(k):
        return float(e.get(k, 0.0))

    def Lt(k):
        return float(lat.get(k, 0.0))

    tile_attrs = {}
    for d in ("north", "east", "south", "west"):
        tile_attrs[f"energy_{d}_hop"] = E(f"{d}_hop")  # per packet: all its flits
        tile_attrs[f"latency_{d}_hop"] = Lt(f"{d}_hop")
    core = {
        "name": f"core[0..{arch.cores_per_tile - 1}]",
        "attributes": {
            "buffer_position": "soma",
            "buffer_inside_unit": False,
            "max_neurons_supported": max_neurons,
        },
        "axon_in": [{"name": "axon_in", "attributes": {
            "energy_message_in": E("message_in"), "latency_message_in": Lt("message_in")}}],
        "synapse": [{"name": "syn", "attributes": {
            "model": "current_based",
            "energy_process_spike": E("synapse_event"),
            "latency_process_spike": Lt("synapse_event")}}],
        "dendrite": [{"name": "dend", "attributes": {
            "model": "accumulator", "energy_update": 0.0, "latency_update": 0.0}}],
        "soma": [
            {"name": "lif", "attributes": {
                "model": "leaky_integrate_fire",
                "energy_access_neuron": E("soma_access"),
                "latency_access_neuron": Lt("soma_access"),
                "energy_update_neuron": E("soma_update"),
                "latency_update_neuron": Lt("soma_update"),
                "energy_spike_out": E("soma_spike"),
                "latency_spike_out": Lt("soma_spike")}},
            {"name": f"input[0..{n_input_units - 1}]", "attributes": {
                "model": "input",
                "energy_access_neuron": 0.0, "latency_access_neuron": 0.0,
                "energy_update_neuron": 0.0, "latency_update_neuron": 0.0,
                "energy_spike_out": 0.0, "latency_spike_out": 0.0}},
        ],
        "axon_out": [{"name": "axon_out", "attributes": {
            "energy_message_out": E("message_out"), "latency_message_out": Lt("message_out")}}],
    }
    return {
        "architecture": {
            "name": wl.costs.name or "trueasync",
            "attributes": {
                "topology": "mesh",
                "width": arch.mesh_width,
                "height": arch.mesh_height,
                "link_buffer_size": arch.fifo_depth,
                "sync_model": "fixed",
                "latency_sync": 0.0,
            },
            "tile": [{
                "name": f"tile[0..{n_tiles - 1}]",
                "attributes": tile_attrs,
                "core": [core],
            }],
        }
    }


def write_arch_yaml(wl: Workload, path: Union[str, os.PathLike],
                    core_of: Optional[np.ndarray] = None) -> Path:
    import yaml

    path = Path(path)
    path.write_text(yaml.safe_dump(arch_description(wl, core_of), sort_keys=False))
    return path


def load_arch(wl: Workload, core_of: Optional[np.ndarray] = None):
    """The workload's architecture as a `sanafe.Architecture` (through a temporary YAML file)."""
    sanafe = _import_sanafe()
    with tempfile.TemporaryDirectory() as d:
        p = write_arch_yaml(wl, Path(d) / "arch.yaml", core_of)
        return sanafe.load_arch(str(p))


def _lif_attributes(layer: LifLayer, ws: float) -> dict:
    return {
        "threshold": layer.threshold * ws,
        "leak_decay": layer.leak_num / 2**layer.leak_shift,
        "reset": layer.reset_value * ws,
        "bias": layer.bias * ws,
        "input_decay": 0.0,
        "reset_mode": "hard" if layer.reset_mode == "hard" else "soft",
    }


def build_network(wl: Workload, sf_arch, sample: int = 0, core_of: Optional[np.ndarray] = None):
    """A `sanafe.Network` for the workload (inputs of `sample` as input spike trains).

    Returns (network, input_units) where input_units[(layer_name, index)] = the `input[k]` unit.
    """
    sanafe = _import_sanafe()
    from trueasync.reference import projection_coo

    net_model, ws = wl.network, float(wl.network.weight_scale)
    core_of = _core_of(wl) if core_of is None else core_of
    cores = sf_arch.cores()
    if core_of.size and core_of.max() >= len(cores):
        raise ValueError(f"core_of names core {core_of.max()}, the SANA-FE arch has {len(cores)}")
    net = sanafe.Network()
    groups = {}
    offsets = net_model.layer_offsets()
    next_unit = np.zeros(len(cores), dtype=np.int64)
    input_units = {}
    in_col = 0
    for layer, off in zip(net_model.layers, offsets):
        if isinstance(layer, InputLayer):
            g = net.create_neuron_group(layer.name, layer.size, {})
            for i in range(layer.size):
                c = int(core_of[off + i])
                unit = f"input[{next_unit[c]}]"
                next_unit[c] += 1
                input_units[(layer.name, i)] = unit
                g[i].set_attributes(
                    soma_hw_name=unit,
                    model_attributes={"spikes": [bool(b) for b in wl.inputs[sample, :, in_col + i]]},
                )
                g[i].map_to_core(cores[c])
            in_col += layer.size
        else:
            g = net.create_neuron_group(layer.name, layer.size, _lif_attributes(layer, ws),
                                        soma_hw_name="lif")
            for i in range(layer.size):
                g[i].map_to_core(cores[int(core_of[off + i])])
        groups[layer.name] = g
    for proj in net_model.projections:
        src, dst = groups[proj.pre], groups[proj.post]
        if isinstance(proj, DenseProjection):
            w = np.asarray(proj.weights, dtype=np.float64) * ws
            src.connect_neurons_dense(dst, {"weight": w.ravel().tolist()})
        else:  # conv2d and sparse: explicit synapses
            pre, post, w = projection_coo(net_model, proj)
            src.connect_neurons_sparse(
                dst,
                {"weight": (w.astype(np.float64) * ws).tolist()},
                list(zip(pre.tolist(), post.tolist())),
            )
    return net, input_units


def run_sanafe(
    wl: Workload,
    timing_model: str = "detailed",
    samples: Optional[int] = None,
    processing_threads: int = 1,
    spike_trace: bool = False,
) -> dict:
    """Simulate every sample (chip reset between samples) and return SANA-FE's figures.

    Returns {"per_sample": {name: array}, "totals": {name: number}, "energy_breakdown_total":
    {...}} with names `fired`, `synaptic_events`, `packets`, `hops`, `updated`, `energy`,
    `energy_synapse`, `energy_dendrite`, `energy_soma`, `energy_network`, `latency`; with
    `spike_trace` also "spikes": per layer bool [sample, step, size].
    """
    sanafe = _import_sanafe()
    core_of = _core_of(wl)
    n_samples = wl.samples if samples is None else min(samples, wl.samples)
    T = wl.timesteps
    sf_arch = load_arch(wl, core_of)
    net, input_units = build_network(wl, sf_arch, 0, core_of)
    chip = sanafe.SpikingChip(sf_arch)
    chip.load(net)
    mapped = chip.mapped_neuron_groups
    names = ("fired", "synaptic_events", "packets", "hops", "updated", "energy",
             "energy_synapse", "energy_dendrite", "energy_soma", "energy_network", "latency")
    per = {k: [] for k in names}
    layers = wl.network.layers
    offsets = wl.network.layer_offsets()
    spikes = [np.zeros((n_samples, T, l.size), dtype=bool) for l in layers] if spike_trace else None
    layer_index = {l.name: k for k, l in enumerate(layers)}
    for s in range(n_samples):
        if s > 0:
            chip.reset()
        # (re)load the input spike trains: this also rewinds SANA-FE's input model, which a
        # chip.reset() alone does not do
        in_col = 0
        for layer in layers:
            if isinstance(layer, InputLayer):
                group = mapped[layer.name]
                for i in range(layer.size):
                    group[i].set_attributes(model_attributes={
                        "spikes": [bool(b) for b in wl.inputs[s, :, in_col + i]]})
                in_col += layer.size
        if spike_trace:
            for layer in layers:
                group = mapped[layer.name]
                for i in range(layer.size):
                    group[i].set_attributes(log_spikes=True)
        r = chip.sim(T, timing_model=timing_model, processing_threads=processing_threads,
                     perf_trace=True, spike_trace=bool(spike_trace))
        pt = r["perf_trace"]
        per["fired"].append(int(np.sum(pt["fired"])))
        per["synaptic_events"].append(int(np.sum(pt["spikes"])))
        per["hops"].append(int(np.sum(pt["hops"])))
        per["updated"].append(int(np.sum(pt["updated"])))
        per["packets"].append(int(r["packets_sent"]))
        en = r["energy"]
        per["energy"].append(float(en["total"]))
        for unit in ("synapse", "dendrite", "soma", "network"):
            per[f"energy_{unit}"].append(float(en[unit]))
        per["latency"].append(float(r["sim_time"]))
        if spike_trace:
            for t, row in enumerate(r["spike_trace"]):
                for addr in row:
                    k = layer_index[addr.group_name]
                    spikes[k][s, t, addr.neuron_offset] = True
    per_sample = {k: np.asarray(v) for k, v in per.items()}
    totals = {k: (int(v.sum()) if v.dtype.kind == "i" else float(v.sum()))
              for k, v in per_sample.items()}
    totals["latency_mean"] = float(per_sample["latency"].mean()) if n_samples else 0.0
    out = {
        "timing_model": timing_model,
        "samples": n_samples,
        "per_sample": per_sample,
        "totals": totals,
        "energy_breakdown_total": {
            "total": totals["energy"],
            "synapse": totals["energy_synapse"],
            "dendrite": totals["energy_dendrite"],
            "soma": totals["energy_soma"],
            "network": totals["energy_network"],
        },
    }
    if spike_trace:
        out["spikes"] = spikes
    return out


def write_sanafe_files(wl: Workload, directory: Union[str, os.PathLike],
                       samples: Optional[int] = None) -> dict:
    """Write `arch.yaml` and one `snn_sampleN.yaml` per sample (SANA-FE's own formats), so the
    workload can be run with SANA-FE alone:

        arch = sanafe.load_arch("arch.yaml"); net = sanafe.load_net("snn_sample0.yaml", arch)
        chip = sanafe.SpikingChip(arch); chip.load(net); chip.sim(T)
    """
    sanafe = _import_sanafe()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    core_of = _core_of(wl)
    arch_path = write_arch_yaml(wl, directory / "arch.yaml", core_of)
    sf_arch = sanafe.load_arch(str(arch_path))
    n = wl.samples if samples is None else min(samples, wl.samples)
    nets = []
    for s in range(n):
        net, _ = build_network(wl, sf_arch, s, core_of)
        p = directory / f"snn_sample{s}.yaml"
        net.save(str(p))
        nets.append(p)
    return {"arch": arch_path, "networks": nets, "timesteps": wl.timesteps}
