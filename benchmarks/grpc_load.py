"""Load on the simulator service: what gRPC adds to a simulation, side by side with the in-process call.

    python benchmarks/grpc_load.py                       # 1 and 4 clients, tiny and reference workloads
    python benchmarks/grpc_load.py --inline              # also the network sent inline with every call
    python benchmarks/grpc_load.py --clients 1 --quick   # a quick look

For each workload and client count, the same number of requests is made twice in one run: by
CLIENTS processes calling `trueasync.simulate` in-process, and by CLIENTS processes calling
`services.client.SimulatorClient.simulate` on an `ancoef serve sim --max-concurrent CLIENTS`
started by this script on 127.0.0.1 (port 0). With one client the two alternate call by call in
one client process (the order swapped every call) and the overhead is paired, the median of the
per-call differences, because this VM's speed drifts by a third within a minute; with more
clients they alternate in rounds (--rounds) of CLIENTS fresh processes per mode, and the overhead
is the difference of the p50s. The client registers the network once
(RegisterNetwork) and names it by its network_id afterwards, as it does by default; with
--inline a third mode, in the same alternation, sends the network inline with every call
(`SimulatorClient(register_networks=False)`). Every call uses one engine thread. Per call the
latency is timed around the whole call (request building and result conversion included).
Reported: throughput (clients / mean latency), p50 and p99 latency, engine wall time, CPU time
per call (the clients' plus, for gRPC, the server's share: what a loaded machine disturbs least),
errors (must be 0), and the overhead of gRPC over the in-process call: p50 difference in ms and in
% of the in-process p50, and the CPU time added per call. Targets: at most 1 ms added
per call on the tiny workload and at most 5 % on the reference workload (shared/workloads).
Writes benchmarks/results/grpc_load.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REFERENCE = ROOT.parent / "shared" / "workloads" / "mlp_784-512-256-10_T100_16c"
TARGETS = {"tiny": ("ms", 1.0), "reference": ("%", 5.0)}


def load_case(name: str):
    """(network, arch, inputs, keyword arguments) of a workload."""
    import trueasync as ta
    from trueasync.workload import generate_mlp, load_workload

    if name == "tiny":
        wl = generate_mlp((64, 32, 10), timesteps=10, rate=0.2, samples=1, mesh=(1, 1), seed=0)
        return wl.network, ta.Architecture(mesh_width=1, mesh_height=1), wl.inputs, dict(preset="async28")
    wl = load_workload(REFERENCE)
    return wl.network, wl.arch, wl.inputs, dict(semantics="sanafe", preset=wl.costs, core_of=wl.core_of)


def _simulate_fn(mode: str, endpoint):
    import trueasync as ta

    if mode == "in_process":
        return ta.simulate
    from services.client import SimulatorClient

    return SimulatorClient(endpoint, register_networks=mode != "grpc_inline").simulate


def worker(args) -> dict:
    """One client process that makes `warmup` untimed, then `n` timed calls of each of `modes`,
    alternating them call by call (the order rotated every call). Per mode: its latencies, engine
    times, errors, own CPU over the timed calls and, with a `server_pid`, the server's CPU during
    its gRPC calls (read from /proc around each, outside the timed span); per gRPC mode, the
    (gRPC, in-process) latency pairs of the rounds where both calls succeeded."""
    case, endpoint, server_pid, n, warmup, modes = args
    network, arch, inputs, kw = load_case(case)
    calls = {m: _simulate_fn(m, endpoint) for m in modes}
    out = {m: {"latencies_s": [], "engine_s": [], "errors": 0, "cpu_s": 0.0, "server_cpu_s": 0.0, "pairs": []}
           for m in modes}
    watch_server = server_pid is not None
    for i in range(warmup + n):
        latency = {}
        for m in modes[i % len(modes):] + modes[:i % len(modes)]:
            remote = watch_server and m != "in_process"
            server0 = server_cpu_s(server_pid) if remote else 0.0
            cpu0, t0 = time.process_time(), time.perf_counter()
            try:
                r = calls[m](network, arch, inputs, threads=1, **kw)
            except Exception:  # noqa: BLE001 - counted, the table shows them
                out[m]["errors"] += 1
                continue
            latency[m], cpu = time.perf_counter() - t0, time.process_time() - cpu0
            if i >= warmup:
                out[m]["latencies_s"].append(latency[m])
                out[m]["engine_s"].append(r.wall_s)
                out[m]["cpu_s"] += cpu
                if remote:
                    out[m]["server_cpu_s"] += server_cpu_s(server_pid) - server0
        if i >= warmup and "in_process" in latency:
            for m in latency.keys() - {"in_process"}:
                out[m]["pairs"].append((latency[m], latency["in_process"]))
    return out


def run_paired(case: str, endpoint, server_pid: int, requests: int, warmup: int, modes: list[str]) -> dict:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(worker, ((case, endpoint, server_pid, requests, warmup, modes),))


def paired_row(case: str, got: dict, modes: list[str]) -> dict:
    """A one-client row from a paired run: the overheads are medians of per-call differences."""
    local = got["in_process"]
    row = {"workload": case, "clients": 1, "paired": True, "in_process": figures([local], 1)}
    for mode in modes:
        part = got[mode]
        f = row[mode] = figures([part], 1, part["server_cpu_s"])
        pairs = part["pairs"] or [(float("nan"), 1.0)]
        f["overhead_p50_ms"] = 1e3 * float(np.median([a - b for a, b in pairs]))
        f["overhead_p50_pct"] = 100 * float(np.median([(a - b) / b for a, b in pairs]))
        f["overhead_cpu_ms"] = f["cpu_ms_per_call"] - row["in_process"]["cpu_ms_per_call"]
    return row


def run_clients(case: str, endpoint, clients: int, requests: int, warmup: int, inline: bool = False) -> list[dict]:
    per = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(clients) as pool:
        mode = "in_process" if endpoint is None else "grpc_inline" if inline else "grpc"
        return [got[mode] for got in pool.map(worker, [(case, endpoint, None, n, warmup, [mode]) for n in per])]


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figures(parts: list[dict], clients: int, server_cpu: float = 0.0, warmup_calls: int = 0) -> dict:
    """Latency figures, and CPU seconds per call: the clients' own, plus the server's share (its CPU
    over the timed and warm-up calls it served). CPU time is what the machine's load disturbs least."""
    lat = np.concatenate([p["latencies_s"] for p in parts]) if parts else np.zeros(0)
    calls = max(1, lat.size)
    client_cpu = sum(p["cpu_s"] for p in parts) / calls
    served_cpu = server_cpu / max(1, lat.size + warmup_calls)
    eng = np.concatenate([p["engine_s"] for p in parts]) if parts else np.zeros(0)
    return {"requests": int(lat.size), "errors": int(sum(p["errors"] for p in parts)),
            "throughput_per_s": float(lat.size / sum(lat) * clients) if lat.size else 0.0,
            "p50_ms": float(np.percentile(lat, 50) * 1e3), "p99_ms": float(np.percentile(lat, 99) * 1e3),
            "engine_p50_ms": float(np.percentile(eng, 50) * 1e3),
            "cpu_ms_per_call": 1e3 * (client_cpu + served_cpu), "client_cpu_ms_per_call": 1e3 * client_cpu,
            "server_cpu_ms_per_call": 1e3 * served_cpu}


def start_server(*options: str) -> tuple[subprocess.Popen, str]:
    """`ancoef serve sim --port 0 OPTIONS...` in a process of its own: (process, endpoint)."""
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "sim", "--port", "0", *options],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = process.stdout.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return process, f"127.0.0.1:{m.group(1)}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4], help="client processes (default 1 4)")
    p.add_argument("--requests", type=int, default=400, help="tiny workload requests per row (default 400)")
    p.add_argument("--reference-requests", type=int, default=60, help="reference requests per row (default 60)")
    p.add_argument("--warmup", type=int, default=5, help="untimed calls per client and round first (default 5)")
    p.add_argument("--rounds", type=int, default=3,
                   help="with more than one client: in-process and gRPC runs alternate this many times, the requests "
                   "split among them (default 3)")
    p.add_argument("--quick", action="store_true", help="a tenth of the requests")
    p.add_argument("--inline", action="store_true",
                   help="also measure the network sent inline with every call (no RegisterNetwork), beside")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "grpc_load.json")
    args = p.parse_args(argv)
    cases = {"tiny": args.requests}
    if REFERENCE.with_suffix(".json").exists():
        cases["reference"] = args.reference_requests
    else:
        print(f"skipping the reference workload: {REFERENCE}.json is absent", file=sys.stderr)
    if args.quick:
        cases = {k: max(args.clients[-1] * 2, v // 10) for k, v in cases.items()}
    load_start, uptime_start = os.getloadavg(), uptime()
    modes = ["grpc"] + (["grpc_inline"] if args.inline else [])
    rows = []
    for clients in args.clients:
        server, endpoint = start_server("--max-concurrent", str(clients), "--max-queued", str(clients))
        try:
            for case, n in cases.items():
                if clients == 1:
                    got = run_paired(case, endpoint, server.pid, n, args.warmup, ["in_process", *modes])
                    row = paired_row(case, got, modes)
                    row.update({k: row["grpc"][k] for k in ("overhead_p50_ms", "overhead_p50_pct", "overhead_cpu_ms")})
                    rows.append(row)
                    continue
                local, remote, cpu = [], {m: [] for m in modes}, dict.fromkeys(modes, 0.0)
                per_round = max(clients, n // args.rounds)
                for _ in range(args.rounds):  # alternate, so that every mode sees the same machine noise
                    local += run_clients(case, None, clients, per_round, args.warmup)
                    for mode in modes:
                        before = server_cpu_s(server.pid)
                        remote[mode] += run_clients(case, endpoint, clients, per_round, args.warmup,
                                                    inline=mode == "grpc_inline")
                        cpu[mode] += server_cpu_s(server.pid) - before
                row = {"workload": case, "clients": clients, "in_process": figures(local, clients)}
                for mode in modes:
                    f = row[mode] = figures(remote[mode], clients, cpu[mode], args.rounds * clients * args.warmup)
                    added_ms = f["p50_ms"] - row["in_process"]["p50_ms"]
                    f["overhead_p50_ms"] = added_ms
                    f["overhead_p50_pct"] = 100 * added_ms / row["in_process"]["p50_ms"]
                    f["overhead_cpu_ms"] = f["cpu_ms_per_call"] - row["in_process"]["cpu_ms_per_call"]
                # the default path's overhead at the top level of the row, as before
                row.update({k: row["grpc"][k] for k in ("overhead_p50_ms", "overhead_p50_pct", "overhead_cpu_ms")})
                rows.append(row)
        finally:
            server.terminate()
            server.wait(30)
    load_end, uptime_end = os.getloadavg(), uptime()
    print(table(rows, modes))
    verdicts = []
    for r in rows:
        unit, limit = TARGETS[r["workload"]]
        value = r["overhead_p50_ms"] if unit == "ms" else r["overhead_p50_pct"]
        ok = value <= limit and r["grpc"]["errors"] == 0 and r["in_process"]["errors"] == 0
        verdicts.append(ok)
        print(f"target {r['workload']} x{r['clients']} (registered network): overhead <= {limit:g} {unit}: "
              f"{value:+.3f} {unit} {'pass' if ok else 'MISS'} (errors {r['grpc']['errors']})")
    print(f"load average at start {list(load_start)}, at end {list(load_end)} ({os.cpu_count()} CPUs)")
    print(f"uptime at start: {uptime_start}\nuptime at end:   {uptime_end}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": "python benchmarks/grpc_load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_start": list(load_start), "load_average_end": list(load_end),
        "uptime_start": uptime_start, "uptime_end": uptime_end, "modes": modes, "rows": rows,
        "all_targets_met": all(verdicts)}, indent=1))
    print(f"JSON written to {args.out}")
    return 0


def uptime() -> str:
    """What `uptime` prints (the load averages beside the figures)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def table(rows, modes=("grpc",)) -> str:
    head = (f"{'workload':<10} {'clients':>7} {'mode':<11} {'requests':>8} {'calls/s':>9} {'p50 ms':>9} "
            f"{'p99 ms':>9} {'engine p50':>10} {'CPU/call':>10} {'errors':>6} {'added p50':>10} {'added %':>8} "
            f"{'added CPU':>10}")
    lines = ["gRPC load on the simulator service vs the in-process call (1 engine thread per call; one client: "
             "the modes alternate call by call and 'added' is the median of the per-call differences)", head,
             "-" * len(head)]
    for r in rows:
        for mode in ("in_process", *modes):
            f = r[mode]
            extra = (f"{f['overhead_p50_ms']:>+9.3f}ms {f['overhead_p50_pct']:>+7.2f}% {f['overhead_cpu_ms']:>+8.3f}ms"
                     if mode != "in_process" else "")
            lines.append(f"{r['workload']:<10} {r['clients']:>7} {mode.replace('_', '-'):<11} {f['requests']:>8} "
                         f"{f['throughput_per_s']:>9.1f} {f['p50_ms']:>9.3f} {f['p99_ms']:>9.3f} "
                         f"{f['engine_p50_ms']:>8.3f}ms {f['cpu_ms_per_call']:>8.3f}ms {f['errors']:>6} {extra}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
