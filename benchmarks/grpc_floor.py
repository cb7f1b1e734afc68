"""Where a tiny remote simulation's time goes: gRPC's own round trip beside ours, in one run.

    python benchmarks/grpc_floor.py              # 8 alternating rounds of 300 calls per mode
    python benchmarks/grpc_floor.py --rounds 3   # a quick look

issue 9 asks for at most 1 ms added per call on the tiny workload (benchmarks/grpc_load.py measures
it). This script shows how much of that a Python gRPC server costs before any code of ours runs.
One client thread, alternating rounds (so that every mode sees the same machine noise), p50 per
call of:

- the in-process `trueasync.simulate` of the tiny workload (the baseline of grpc_load.py);
- a trivial unary call (GetLimits answered by a two-line handler) on a bare `grpc.server` with a
  thread pool, and on a bare `grpc.aio` server, each in a process of its own, with no code of ours:
  the floor of a Python gRPC round trip on this machine, sync and asyncio;
- GetLimits on `ancoef serve sim` (ours: interceptors, metrics, health, reflection);
- Simulate on `ancoef serve sim` with the request's bytes built once (the network by network_id):
  the server's whole share, without the client's conversions;
- `SimulatorClient.simulate`, what grpc_load.py times.

Then, without any transport, the simulator service's Simulate handler called in this process on a
registered network (tiny and, where ../shared has it, reference workload): the p50 of its wall time
less the engine's own `wall_s`, i.e. what the service spends around the engine per call.

Then the same question for a long call (`--long-rounds`, 0 skips it), which the reference target
(at most 5 %) is about: a server that keeps its core busy for as long as the in-process reference
call takes (measured first; 35 ms where ../shared has no reference workload), with no code of
ours: a bare `grpc.server` whose handler spins that long, and a plain TCP socket server that spins
that long between reading a request of the reference's size and writing a reply of its response's
size, each against the same spin in this process; beside them `SimulatorClient.simulate` of the
reference workload against `trueasync.simulate` of it in this process, with the network as it is
and as a PreparedNetwork. The modes alternate call by call (100 rounds of one call each), because
this VM's speed drifts by a third within a minute, and the added time is paired: the median of the
per-round differences.

Writes benchmarks/results/grpc_floor.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from services.proto.ancoef.v1 import simulator_pb2 as pb  # noqa: E402
from services.proto.ancoef.v1 import simulator_pb2_grpc as pb_grpc  # noqa: E402


def _busy(seconds: float) -> None:
    """Keep this core busy for `seconds`, as the engine keeps it (a sleep would let the core idle)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class _Bare(pb_grpc.SimulatorServiceServicer):
    def __init__(self, busy_s: float = 0.0):
        self.busy_s = busy_s

    def GetLimits(self, request, context):
        _busy(self.busy_s)
        return pb.GetLimitsResponse(max_samples=4096)


class _BareAio(pb_grpc.SimulatorServiceServicer):
    async def GetLimits(self, request, context):
        return pb.GetLimitsResponse(max_samples=4096)


def _serve_sync(port_out, busy_s: float = 0.0) -> None:
    server = __import__("grpc").server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_SimulatorServiceServicer_to_server(_Bare(busy_s), server)
    port_out.put(server.add_insecure_port("127.0.0.1:0"))
    server.start()
    server.wait_for_termination()


def _serve_aio(port_out) -> None:
    from grpc import aio

    async def main():
        server = aio.server()
        pb_grpc.add_SimulatorServiceServicer_to_server(_BareAio(), server)
        port_out.put(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


def _serve_tcp(port_out, busy_s: float, reply_bytes: int) -> None:
    """One connection: per request read, spin `busy_s`, write `reply_bytes` (requests are read whole:
    the client sends one and waits for its reply)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port_out.put(listener.getsockname()[1])
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reply = bytes(reply_bytes)
    while conn.recv(1 << 20):
        _busy(busy_s)
        conn.sendall(reply)


def _start_bare(target, *args) -> tuple[mp.Process, int]:
    ctx = mp.get_context("spawn")
    port_out = ctx.Queue()
    process = ctx.Process(target=target, args=(port_out, *args), daemon=True)
    process.start()
    return process, port_out.get(timeout=60)


def p50_ms(call, n: int, warmup: int = 50) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def modes() -> tuple[dict, list]:
    import grpc

    import trueasync as ta
    from grpc_load import load_case, start_server
    from services import wire
    from services.client import SimulatorClient

    (sync_proc, sync_port), (aio_proc, aio_port) = _start_bare(_serve_sync), _start_bare(_serve_aio)
    ours_proc, ours = start_server("--metrics-port", "0")
    network, arch, inputs, kw = load_case("tiny")
    client = SimulatorClient(ours)
    request = wire.simulate_request_to_proto(None, arch, inputs, threads=1, **kw)
    request.network_id = client.register_network(network)
    raw = request.SerializeToString()
    channel = grpc.insecure_channel(ours)
    simulate_raw = channel.unary_unary("/ancoef.v1.SimulatorService/Simulate", request_serializer=None,
                                       response_deserializer=None)
    ours = pb_grpc.SimulatorServiceStub(channel)
    bare_sync = pb_grpc.SimulatorServiceStub(grpc.insecure_channel(f"127.0.0.1:{sync_port}"))
    bare_aio = pb_grpc.SimulatorServiceStub(grpc.insecure_channel(f"127.0.0.1:{aio_port}"))
    limits = pb.GetLimitsRequest()
    calls = {
        "in-process trueasync.simulate": lambda: ta.simulate(network, arch, inputs, threads=1, **kw),
        "bare grpc.server, trivial call": lambda: bare_sync.GetLimits(limits, timeout=60),
        "bare grpc.aio server, trivial call": lambda: bare_aio.GetLimits(limits, timeout=60),
        "ancoef serve sim, GetLimits": lambda: ours.GetLimits(limits, timeout=60),
        "ancoef serve sim, Simulate (bytes built once)": lambda: simulate_raw(raw, timeout=60),
        "SimulatorClient.simulate": lambda: client.simulate(network, arch, inputs, threads=1, **kw),
    }
    return calls, [sync_proc, aio_proc, ours_proc]


class _Context:
    """The few ServicerContext methods the Simulate handler uses, for a call with a 10 min deadline."""

    def __init__(self):
        self._deadline = time.time() + 600

    def time_remaining(self):
        return self._deadline - time.time()

    def add_callback(self, callback):
        return True

    def is_active(self):
        return True

    def code(self):
        return None

    def abort(self, code, details):
        raise RuntimeError(f"{code}: {details}")


def handler_outside_engine_ms() -> dict:
    """p50 of (Simulate handler wall time - engine wall_s) per workload, in this process."""
    from grpc_load import REFERENCE, load_case

    from services import serving, sim_service, wire

    servicer = sim_service.SimulatorServicer(sim_service.Limits(), serving.Admission("simulator", 2, 8))
    out = {}
    for case, calls in (("tiny", 2000), ("reference", 60)):
        if case == "reference" and not REFERENCE.with_suffix(".json").exists():
            continue
        network, arch, inputs, kw = load_case(case)
        registered = servicer.RegisterNetwork(pb.RegisterNetworkRequest(network=wire.network_to_proto(network)),
                                              _Context())
        request = wire.simulate_request_to_proto(None, arch, inputs, threads=1, **kw)
        request.network_id = registered.network_id
        raw, context, around = request.SerializeToString(), _Context(), []
        for i in range(calls + 5):
            t0 = time.perf_counter()
            response = servicer.Simulate(raw, context)
            if i >= 5:
                around.append(time.perf_counter() - t0 - response.wall_s)
        out[case] = 1e3 * statistics.median(around)
    return out


class _EngineTimed:
    """A simulate call that keeps each result's engine time (`wall_s`), to tell engine from transport."""

    def __init__(self, call):
        self.call, self.engine_s = call, []

    def __call__(self) -> None:
        self.engine_s.append(self.call().wall_s)


class _TcpClient:
    def __init__(self, port: int, request_bytes: int, reply_bytes: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request, self.reply_bytes = bytes(request_bytes), reply_bytes

    def call(self) -> None:
        self.sock.sendall(self.request)
        got = 0
        while got < self.reply_bytes:
            got += len(self.sock.recv(1 << 20))


def long_modes() -> tuple[dict, dict, list]:
    """Calls of the long-call part, the baseline of each (a mode of the same dict) and the processes
    to stop."""
    import grpc

    import trueasync as ta
    from grpc_load import REFERENCE, load_case, start_server
    from services import wire
    from services.client import SimulatorClient

    calls, baseline, processes = {}, {}, []
    busy_s, request_bytes, reply_bytes = 0.035, 12_000, 2_400
    if REFERENCE.with_suffix(".json").exists():
        network, arch, inputs, kw = load_case("reference")
        prepared = ta.PreparedNetwork(network)
        busy_s = statistics.median(ta.simulate(prepared, arch, inputs, threads=1, **kw).wall_s for _ in range(7))
        ours_proc, ours = start_server()
        processes.append(ours_proc)
        client = SimulatorClient(ours)
        request = wire.simulate_request_to_proto(None, arch, inputs, threads=1, **kw)
        request.network_id = client.register_network(network)
        request_bytes = request.ByteSize()
        reply_bytes = pb_grpc.SimulatorServiceStub(grpc.insecure_channel(ours)).Simulate(request, timeout=60).ByteSize()
        for name, simulate, net in (("in-process trueasync.simulate, reference", ta.simulate, network),
                                    ("in-process, reference as a PreparedNetwork", ta.simulate, prepared),
                                    ("SimulatorClient.simulate, reference", client.simulate, network)):
            calls[name] = _EngineTimed(lambda f=simulate, n=net: f(n, arch, inputs, threads=1, **kw))
        baseline["SimulatorClient.simulate, reference"] = "in-process trueasync.simulate, reference"
        baseline["in-process, reference as a PreparedNetwork"] = "in-process trueasync.simulate, reference"
    spin = f"in-process spin {1e3 * busy_s:.1f} ms"
    (sync_proc, sync_port) = _start_bare(_serve_sync, busy_s)
    (tcp_proc, tcp_port) = _start_bare(_serve_tcp, busy_s, reply_bytes)
    processes += [sync_proc, tcp_proc]
    bare = pb_grpc.SimulatorServiceStub(grpc.insecure_channel(f"127.0.0.1:{sync_port}"))
    tcp = _TcpClient(tcp_port, request_bytes, reply_bytes)
    limits = pb.GetLimitsRequest()
    calls[spin] = lambda: _busy(busy_s)
    calls["bare grpc.server, handler spins as long"] = lambda: bare.GetLimits(limits, timeout=60)
    calls[f"plain TCP, server spins as long ({request_bytes} B in, {reply_bytes} B out)"] = tcp.call
    for name in calls:
        if name.startswith(("bare", "plain")):
            baseline[name] = spin
    return calls, baseline, processes


def run_rounds(calls: dict, rounds: int, n: int, warmup: int) -> dict[str, list[float]]:
    """p50 ms of `n` calls per mode and round, the modes alternating within each round (`warmup`
    untimed calls per mode in the first round)."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(rounds):
        for name, call in calls.items():
            out[name].append(p50_ms(call, n, warmup if i == 0 else 0))
    return out


LONG_WARMUP = 5  # untimed calls per mode before the long part's first round


def long_part(rounds: int, calls_per_round: int) -> dict:
    calls, baseline, processes = long_modes()
    try:
        p50s = run_rounds(calls, rounds, calls_per_round, warmup=LONG_WARMUP)
    finally:
        for process in processes:
            process.terminate() if isinstance(process, subprocess.Popen) else process.kill()
    rows = []
    print(f"\nlong calls: {'mode':58s} {'p50 ms':>8s} {'rounds (min-max)':>18s} {'added ms':>9s} {'added %':>8s}"
          "  (added: paired, the median of the per-round differences)")
    for name, v in p50s.items():
        row = {"mode": name, "p50_ms": statistics.median(v), "min_round_ms": min(v), "max_round_ms": max(v)}
        if name in baseline:  # paired: the median of the differences within each round
            pairs = [(a, b) for a, b in zip(v, p50s[baseline[name]])]
            row.update(baseline=baseline[name], added_ms=statistics.median(a - b for a, b in pairs),
                       added_pct=100 * statistics.median((a - b) / b for a, b in pairs))
        if isinstance(calls[name], _EngineTimed):
            row["engine_p50_ms"] = 1e3 * statistics.median(calls[name].engine_s[LONG_WARMUP:])  # timed calls
        rows.append(row)
        added = f"{row['added_ms']:+9.3f} {row['added_pct']:+7.2f}%" if "added_ms" in row else ""
        engine = f"  (engine {row['engine_p50_ms']:.3f})" if "engine_p50_ms" in row else ""
        print(f"            {name:58s} {row['p50_ms']:8.3f} {row['min_round_ms']:8.3f}-{row['max_round_ms']:<8.3f} "
              f"{added}{engine}")
    return {"rounds": rounds, "calls_per_round": calls_per_round, "rows": rows, "round_p50s_ms": p50s}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=8, help="alternating rounds (default 8)")
    p.add_argument("--calls", type=int, default=300, help="timed calls per mode and round (default 300)")
    p.add_argument("--long-rounds", type=int, default=100,
                   help="alternating rounds of the long calls (default 100; 0: skip)")
    p.add_argument("--long-calls", type=int, default=1,
                   help="timed long calls per mode and round (default 1: the modes alternate call by call, "
                   "which the VM's drifting speed needs)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "grpc_floor.json")
    args = p.parse_args(argv)
    load_start = os.getloadavg()
    calls, processes = modes()
    try:
        rounds = run_rounds(calls, args.rounds, args.calls, warmup=50)
    finally:
        for process in processes:
            process.terminate() if isinstance(process, subprocess.Popen) else process.kill()
    base = statistics.median(rounds["in-process trueasync.simulate"])
    rows = [{"mode": name, "p50_ms": statistics.median(v), "min_round_ms": min(v), "max_round_ms": max(v),
             "over_in_process_ms": statistics.median(v) - base} for name, v in rounds.items()]
    print(f"{'mode':48s} {'p50 ms':>8s} {'rounds (min-max)':>18s} {'- in-process':>13s}")
    for r in rows:
        print(f"{r['mode']:48s} {r['p50_ms']:8.3f} {r['min_round_ms']:8.3f}-{r['max_round_ms']:<8.3f} "
              f"{r['over_in_process_ms']:+12.3f}")
    around = handler_outside_engine_ms()
    for case, ms in around.items():
        print(f"Simulate handler in this process, {case} workload: {ms:.3f} ms per call around the engine (p50)")
    long = long_part(args.long_rounds, args.long_calls) if args.long_rounds > 0 else None
    load_end = os.getloadavg()
    print("load average: start " + ", ".join(f"{x:.2f}" for x in load_start)
          + "; end " + ", ".join(f"{x:.2f}" for x in load_end))
    report = {"command": "python benchmarks/grpc_floor.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rounds": args.rounds, "calls_per_round": args.calls, "rows": rows,
              "round_p50s_ms": rounds, "handler_outside_engine_ms": around, "long_calls": long,
              "loadavg_start": load_start, "loadavg_end": load_end,
              "machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
