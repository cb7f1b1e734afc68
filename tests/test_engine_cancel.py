"""Cancelling a simulation: `trueasync.CancelToken` and `trueasync.SimulationCancelled`."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

import trueasync as ta
from trueasync.workload import generate_mlp


def _workload():
    return generate_mlp((784, 512, 256, 10), timesteps=50, rate=0.1, samples=1, seed=0)


def test_cancelled_is_its_own_exception_not_bad_input():
    assert issubclass(ta.SimulationCancelled, Exception)
    assert not issubclass(ta.SimulationCancelled, ValueError)
    assert not issubclass(ta.SimulationCancelled, ta.SimulationError)
    token = ta.CancelToken()
    assert token.cancelled is False
    token.cancel()
    token.cancel()  # idempotent
    assert token.cancelled is True
    assert "cancelled=True" in repr(token)


def test_a_token_cancelled_before_the_call_stops_it_at_once():
    wl = _workload()
    token = ta.CancelToken()
    token.cancel()
    with pytest.raises(ta.SimulationCancelled, match="cancelled"):
        ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, core_of=wl.core_of, cancel=token)
    # an unused token changes nothing
    plain = ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, core_of=wl.core_of)
    with_token = ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, core_of=wl.core_of,
                             cancel=ta.CancelToken())
    assert with_token.latency_s.tolist() == plain.latency_s.tolist()
    assert with_token.energy_j.tolist() == plain.energy_j.tolist()


def test_cancel_must_be_a_token():
    wl = _workload()
    with pytest.raises(ta.SimulationError, match="cancel must be a trueasync.CancelToken"):
        ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, cancel=True)


def _slow_workload():
    """Much engine work per input spike, so that 30 s of samples make a small input array: freeing
    a large one (the 784-input workload's 30 s are about 45 MB, copied twice) took up to 235 ms on
    a loaded 2-core machine after the engine had stopped, which is not what this test measures."""
    return generate_mlp((64, 1024, 512, 10), timesteps=200, rate=0.3, samples=1, mesh=(2, 2), seed=3)


def test_a_30_second_simulation_stops_within_100_ms_of_cancel_from_another_thread():
    wl = _slow_workload()
    one = ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, core_of=wl.core_of, threads=1)
    # Enough identical samples for about 30 s on one thread.
    samples = max(2, math.ceil(30.0 / max(one.wall_s, 1e-4)))
    inputs = np.repeat(wl.inputs, samples, axis=0)
    token = ta.CancelToken()
    outcome = {}

    def work():
        try:
            ta.simulate(wl.network, wl.arch, inputs, preset=wl.costs, core_of=wl.core_of, threads=1,
                        cancel=token)
            outcome["finished"] = True
        except ta.SimulationCancelled as e:
            outcome["stopped_at"] = time.perf_counter()
            outcome["error"] = e

    thread = threading.Thread(target=work)
    started = time.perf_counter()
    thread.start()
    # The GIL is free while the engine runs: this loop keeps ticking.
    ticks = 0
    while time.perf_counter() - started < 0.5:
        time.sleep(0.005)
        ticks += 1
    cancelled_at = time.perf_counter()
    token.cancel()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the simulation did not stop after cancel()"
    assert "finished" not in outcome and "stopped_at" in outcome
    delay = outcome["stopped_at"] - cancelled_at
    print(f"projected run {samples * one.wall_s:.1f} s; stopped {delay * 1e3:.1f} ms after cancel()")
    assert samples * one.wall_s >= 25.0
    assert ticks >= 20
    assert delay < 0.1, delay
