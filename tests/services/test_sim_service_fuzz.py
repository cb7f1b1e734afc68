"""Random mutations of valid requests never get INTERNAL (nor raise past the status mapping): each
answer is OK, INVALID_ARGUMENT or RESOURCE_EXHAUSTED. The servicer runs in-process here, with a
stand-in for grpc's context, so that hundreds of cases take seconds."""

from __future__ import annotations

import random

import pytest

import trueasync as ta
from services import metrics, serving, sim_service, wire
from services.proto.ancoef.v1 import simulator_pb2 as pb
from trueasync.workload import generate_conv, generate_mlp, generate_sparse

VALUES = [0, 1, 2, 3, 7, 255, 2**31 - 1, 2**32 - 1, -1, -2**31, 2**63 - 1, 2**64 - 1, 1e300, -1e300,
          float("nan"), float("inf"), 0.5]


class Aborted(Exception):
    pass


class Context:
    """What the servicer uses of grpc.ServicerContext."""

    def __init__(self):
        self.status, self.details = None, None

    def code(self):
        return self.status

    def abort(self, code, details):
        self.status, self.details = code, details
        raise Aborted(details)

    def add_callback(self, fn):
        pass

    def time_remaining(self):
        return None

    def is_active(self):
        return True


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _mutate(msg, rng: random.Random) -> None:
    fields = msg.DESCRIPTOR.fields
    if not fields:
        return
    f = rng.choice(fields)
    value = getattr(msg, f.name)
    try:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            value[rng.choice(["synapse", "soma", "x", ""])] = rng.choice(VALUES)
        elif f.message_type is not None and f.is_repeated:
            if len(value) and rng.random() < 0.7:
                _mutate(rng.choice(value), rng)
            elif len(value) and rng.random() < 0.5:
                del value[rng.randrange(len(value))]
            else:
                value.add()
        elif f.message_type is not None:
            msg.ClearField(f.name) if rng.random() < 0.2 else _mutate(value, rng)
        elif f.is_repeated:
            if len(value) and rng.random() < 0.5:
                del value[rng.randrange(len(value)):]
            else:
                value.append(rng.choice(VALUES))
        elif f.type == f.TYPE_STRING:
            setattr(msg, f.name, rng.choice(["", "in", "l0", "fc1", "out", "loihi", "async28", "x" * 10]))
        elif f.type == f.TYPE_BYTES:
            setattr(msg, f.name, value[:rng.randrange(len(value) + 1)] if value and rng.random() < 0.5 else
                    value + b"\xff")
        elif f.type == f.TYPE_BOOL:
            setattr(msg, f.name, not value)
        else:
            setattr(msg, f.name, rng.choice(VALUES))
    except (ValueError, TypeError, OverflowError):  # the value does not fit the field's type
        pass


@pytest.mark.parametrize("seed", range(4))
def test_random_bad_requests_never_get_internal(seed):
    metrics.initialise("simulator", [])
    servicer = sim_service.SimulatorServicer(sim_service.Limits(), serving.Admission("simulator", 2, 2))
    arch = ta.Architecture(mesh_width=2, mesh_height=2, neurons_per_core=512)
    bases = [wire.simulate_request_to_proto(w.network, arch, w.inputs, preset="loihi", threads=1) for w in (
        generate_mlp((8, 6, 4), timesteps=3, rate=0.5, samples=2, mesh=(1, 1), seed=0),
        generate_conv(samples=1, seed=1), generate_sparse(samples=1, seed=2))]
    rng = random.Random(seed)
    seen = {}
    for _ in range(100):
        request = pb.SimulateRequest()
        request.CopyFrom(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            _mutate(request, rng)
        raw = request.SerializeToString()
        if rng.random() < 0.1:  # and plain bad bytes
            raw = raw[: rng.randrange(len(raw) + 1)] + bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
        context = Context()
        stream = rng.random() < 0.3  # SimulateStream takes the same request inside its own
        try:
            if stream:
                list(servicer.SimulateStream(b"\x0a" + _varint(len(raw)) + raw, context))
            else:
                servicer.Simulate(raw, context)
            code = "OK"
        except Aborted:
            code = context.status.name
        allowed = ("OK", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED")
        if code == "NOT_FOUND":  # a mutated network_id names no registered network: the answer says so
            assert request.WhichOneof("network_source") == "network_id" and "request.network_id" in context.details
        else:
            assert code in allowed, (code, stream, context.details)
        seen[code] = seen.get(code, 0) + 1
    assert seen.get("INVALID_ARGUMENT", 0) > 10  # the mutations do break requests
