"""Every simulation of a run goes through the run store: the store is the evaluation cache.

`StoredSimulator` wraps a `simulate` callable (`trueasync.simulate`'s signature and result type,
in-process or remote). A simulation already in the store, for the same workload content, design,
semantics and preset, is answered from it bit for bit; a new one is simulated and committed in a
transaction of its own before the caller sees it. That is how a resumed run replays a search
without simulating a design twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from typing import Callable, Optional

import numpy as np

from trueasync.result import SimResult

_SCALARS = ("semantics", "preset", "area_mm2", "static_power_w", "wall_s", "layer_names")
_ARRAYS = ("energy_j", "latency_s", "spikes_per_layer", "output_spike_counts", "core_utilisation",
           "core_dynamic_energy_j", "core_of", "critical_path_s", "serial_time_s")


def encode_result(r: SimResult) -> bytes:
    arrays = {k: np.asarray(getattr(r, k)) for k in _ARRAYS}
    for k, v in r.energy_breakdown_j.items():
        arrays[f"energy_breakdown_j/{k}"] = np.asarray(v)
    for k, v in r.counts.items():
        arrays[f"counts/{k}"] = np.asarray(v)
    head = {k: getattr(r, k) for k in _SCALARS}
    head["layer_names"] = list(head["layer_names"])
    arrays["_head"] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def decode_result(data: bytes) -> SimResult:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    head = json.loads(arrays.pop("_head").tobytes().decode())
    groups: dict = {"energy_breakdown_j": {}, "counts": {}}
    plain = {}
    for k, v in arrays.items():
        if "/" in k:
            g, name = k.split("/", 1)
            groups[g][name] = v
        else:
            plain[k] = v
    return SimResult(**head, **plain, **groups)


def figures(r: SimResult) -> dict:
    e = np.asarray(r.energy_j, float)
    lat = np.asarray(r.latency_s, float)
    return {"energy_j": float(e.mean()), "latency_s": float(lat.mean()), "edp_js": float((e * lat).mean()),
            "area_mm2": float(r.area_mm2)}


def design_key(arch) -> str:
    return json.dumps(dataclasses.asdict(arch), sort_keys=True)


def _hash_value(h, v) -> None:
    if isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        h.update(f"a{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif dataclasses.is_dataclass(v):
        h.update(type(v).__name__.encode())
        for f in dataclasses.fields(v):
            h.update(f.name.encode())
            _hash_value(h, getattr(v, f.name))
    elif isinstance(v, (list, tuple)):
        h.update(f"l{len(v)}".encode())
        for x in v:
            _hash_value(h, x)
    else:
        h.update(repr(v).encode())


def workload_fingerprint(network, inputs) -> str:
    """SHA-256 of a network's structure, parameters and weights and of its input spikes."""
    h = hashlib.sha256()
    _hash_value(h, network)
    _hash_value(h, np.asarray(inputs, dtype=bool))
    return h.hexdigest()


class StoredSimulator:
    """`simulate` with the run store as its cache (see the module docstring)."""

    def __init__(self, store, simulate: Callable, phase: Callable[[], str]):
        self.store = store
        self.simulate = simulate
        self.phase = phase
        self.simulated = 0  # simulations this process ran
        self.answered = 0  # simulations the store answered
        self._fps: dict = {}  # (id(network), id(inputs)) -> (fingerprint, network, inputs)

    def fingerprint(self, network, inputs) -> str:
        k = (id(network), id(inputs))
        hit = self._fps.get(k)
        if hit is None or hit[1] is not network or hit[2] is not inputs:
            if len(self._fps) > 64:
                self._fps.clear()
            hit = (workload_fingerprint(network, inputs), network, inputs)
            self._fps[k] = hit
        return hit[0]

    def _key(self, network, arch, inputs, semantics, preset) -> tuple:
        if not isinstance(preset, str):
            raise TypeError("the run store keys simulations by preset name or file: pass a string")
        return (self.fingerprint(network, inputs), design_key(arch), str(semantics), preset)

    def _commit(self, key: tuple, result: SimResult) -> SimResult:
        data = encode_result(result)
        with self.store.transaction(self.phase()) as tx:
            tx.put_simulation(*key, n_samples=int(np.asarray(result.energy_j).shape[0]), figures=figures(result),
                              result=data)
        self.simulated += 1
        return decode_result(data)  # the same bytes a resumed run will read

    def __call__(self, network, arch, inputs, *, semantics: str = "timestep", preset="loihi",
                 threads: Optional[int] = None, **kw) -> SimResult:
        key = self._key(network, arch, inputs, semantics, preset)
        data = self.store.simulation(*key)
        if data is not None:
            self.answered += 1
            return decode_result(data)
        result = self.simulate(network, arch, inputs, semantics=semantics, preset=preset, threads=threads, **kw)
        return self._commit(key, result)

    def simulate_batch(self, network, archs: list, inputs, *, semantics: str, preset, threads: Optional[int],
                       run_many: Callable) -> list:
        """(SimResult, wall seconds) per design: stored ones from the store, the others through
        `run_many(simulate, archs)` (the evaluator's Ray tasks), each committed here in the
        designs' order, so the store is the same as after one-by-one calls."""
        keys = [self._key(network, a, inputs, semantics, preset) for a in archs]
        out: list = [None] * len(archs)
        misses = []
        for i, key in enumerate(keys):
            data = self.store.simulation(*key)
            if data is None:
                misses.append(i)
            else:
                self.answered += 1
                out[i] = (decode_result(data), 0.0)
        if misses:
            for i, (result, wall) in zip(misses, run_many(self.simulate, [archs[i] for i in misses])):
                out[i] = (self._commit(keys[i], result), wall)
        return out
