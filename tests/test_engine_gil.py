"""The binding releases the GIL around the simulation: Python threads keep running."""

import threading
import time

import trueasync as ta
from trueasync.workload import generate_mlp


def test_python_runs_while_the_engine_simulates():
    wl = generate_mlp((784, 256, 128, 10), timesteps=100, rate=0.1, samples=4, seed=0)
    result = {}

    def work():
        result["r"] = ta.simulate(wl.network, wl.arch, wl.inputs, preset=wl.costs, core_of=wl.core_of, threads=1)

    thread = threading.Thread(target=work)
    stamps = [time.perf_counter()]
    thread.start()
    while thread.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    thread.join()
    wall = result["r"].wall_s
    longest_gap = max(b - a for a, b in zip(stamps, stamps[1:]))
    # Holding the GIL would freeze this loop for the whole simulation.
    assert wall > 0.02
    assert longest_gap < 0.5 * wall, (longest_gap, wall)
    assert len(stamps) > 5
