"""A generic gRPC client with none of our generated code: standard health checks, the reflection
listing, and a call built from reflected descriptors (grpcurl's way). This module imports nothing
from services.proto; the descriptors come over the wire into a fresh pool."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory

health_pb2 = pytest.importorskip("grpc_health.v1.health_pb2")
from grpc_health.v1 import health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase  # noqa: E402


@pytest.fixture(scope="module")
def servers(start_server):
    return {"sim": start_server("sim"), "trainer": start_server("trainer")}


@pytest.mark.parametrize("service, full_name, n_methods", [("sim", "ancoef.v1.SimulatorService", 7),
                                                           ("trainer", "ancoef.v1.TrainerService", 16)])
def test_health_and_reflection_from_a_generic_client(servers, service, full_name, n_methods):
    with grpc.insecure_channel(servers[service].endpoint) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", full_name):
            assert health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status == \
                health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as info:
            health.Check(health_pb2.HealthCheckRequest(service="ancoef.v1.NoSuchService"), timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        db = ProtoReflectionDescriptorDatabase(channel)
        assert set(db.get_services()) == {full_name, "grpc.health.v1.Health",
                                          "grpc.reflection.v1alpha.ServerReflection"}
        pool = descriptor_pool.DescriptorPool(db)
        methods = [m.name for m in pool.FindServiceByName(full_name).methods]
        assert len(methods) == n_methods and ("Simulate" in methods or "StartTraining" in methods)


def test_an_empty_simulate_built_from_reflected_descriptors_gets_invalid_argument(servers):
    with grpc.insecure_channel(servers["sim"].endpoint) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        service = pool.FindServiceByName("ancoef.v1.SimulatorService")
        method = service.methods_by_name["Simulate"]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary("/ancoef.v1.SimulatorService/Simulate",
                                   request_serializer=request_class.SerializeToString,
                                   response_deserializer=response_class.FromString)
        with pytest.raises(grpc.RpcError) as info:
            call(request_class(), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "request.network is missing" in info.value.details()
        limits = service.methods_by_name["GetLimits"]
        get = channel.unary_unary("/ancoef.v1.SimulatorService/GetLimits",
                                  request_serializer=message_factory.GetMessageClass(limits.input_type).SerializeToString,
                                  response_deserializer=message_factory.GetMessageClass(limits.output_type).FromString)
        assert get(message_factory.GetMessageClass(limits.input_type)(), timeout=10).max_message_bytes == 64 << 20
