"""`ancoef serve sim|trainer|agent`: run one of the gRPC services (docs/services.md).

    ancoef serve sim --port 50051 --metrics-port 9464
    ancoef serve trainer --port 0 --metrics-port 0 --work-dir runs/trainer
    ancoef serve agent --work-dir runs/agent --sim-endpoint 127.0.0.1:50051 --trainer-endpoint 127.0.0.1:50052

Bound to 127.0.0.1 unless --host says otherwise; port 0 picks a free port, and the chosen ports
are printed on one line at start-up. SIGTERM (or Ctrl-C) stops accepting calls, lets the calls in
flight finish within --grace-s seconds and exits 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from services.options import nonneg_float, nonneg_int, positive_int

SERVICES = ("sim", "trainer", "agent")


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535 (0: a free port), got {v}")
    return v


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="run the simulator, trainer or agent gRPC service",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("service", choices=SERVICES, help="sim (TrueAsync), trainer (SNN training) or agent (search)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)")
    p.add_argument("--port", type=_port, default=0, help="gRPC port (default 0: a free port, printed)")
    p.add_argument("--metrics-port", type=_port, default=None,
                   help="serve Prometheus metrics on this port (0: a free port, printed; default: off)")
    p.add_argument("--max-concurrent", type=positive_int, default=2,
                   help="calls (sim), trainings (trainer) or operations (agent) that run at once (default 2)")
    p.add_argument("--max-queued", type=nonneg_int, default=8,
                   help="calls that may wait for a slot; more get RESOURCE_EXHAUSTED (default 8)")
    p.add_argument("--max-message-mib", type=positive_int, default=64,
                   help="largest message received or sent, MiB (default 64)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="sim: most engine threads one call may use (default: all cores)")
    p.add_argument("--max-cached-networks", type=nonneg_int, default=64,
                   help="sim: registered networks kept (RegisterNetwork), least recently used out first (default 64)")
    p.add_argument("--network-cache-mib", type=positive_int, default=256,
                   help="sim: MiB of serialised registered networks kept (default 256)")
    p.add_argument("--grace-s", type=nonneg_float, default=20.0,
                   help="on SIGTERM, seconds in-flight calls get to finish (default 20)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="trainer: folder for the trainings' outputs; agent: folder of the operations' run "
                   "folders, listed and resumed when the service starts again on it (default trainer: a new temporary "
                   "folder; agent: ancoef-agent)")
    p.add_argument("--sim-endpoint", metavar="HOST:PORT",
                   help="agent: simulate on this SimulatorService (`ancoef serve sim`) instead of in-process")
    p.add_argument("--trainer-endpoint", metavar="HOST:PORT",
                   help="agent: an exploration trains on a training session of this TrainerService (`ancoef serve "
                   "trainer`) instead of in-process, and a search's spec.training_operation_id names a training "
                   "of it")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate chain of the server (enables TLS)")
    p.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    p.add_argument("--tls-client-ca", type=Path,
                   help="PEM CA bundle: require client certificates signed by it (mutual TLS)")
    p.set_defaults(func=run)


def settings(args):
    from services.serving import MIB, ServerSettings

    s = ServerSettings(host=args.host, port=args.port, metrics_port=args.metrics_port,
                       max_concurrent=args.max_concurrent, max_queued=args.max_queued,
                       max_message_bytes=args.max_message_mib * MIB, grace_s=args.grace_s, tls_cert=args.tls_cert,
                       tls_key=args.tls_key, tls_client_ca=args.tls_client_ca)
    s.check()
    return s


def run(args) -> int:
    s = settings(args)
    from services import serving

    if args.service == "agent":
        from services import agent_service

        return serving.run(agent_service.service(s, args.work_dir, args.sim_endpoint, args.trainer_endpoint), s)
    for option in ("sim_endpoint", "trainer_endpoint"):
        if getattr(args, option):
            raise ValueError(f"--{option.replace('_', '-')} is an option of `ancoef serve agent`")
    if args.service == "sim":
        from dataclasses import replace

        from services import sim_service

        limits = sim_service.Limits(max_message_bytes=s.max_message_bytes, max_cached_networks=args.max_cached_networks,
                                    max_cached_network_bytes=args.network_cache_mib * serving.MIB)
        if args.threads is not None:
            limits = replace(limits, max_threads=args.threads)
        admission = serving.Admission("simulator", s.max_concurrent, s.max_queued)
        return serving.run(sim_service.service(limits, admission), s)
    from services import trainer_service

    return serving.run(trainer_service.service(s, args.work_dir), s)
