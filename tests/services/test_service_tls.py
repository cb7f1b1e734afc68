"""TLS with certificates the test makes (openssl): a plain-text client is refused; with
--tls-client-ca a client without a certificate signed by that CA is refused too."""

from __future__ import annotations

import shutil
import subprocess

import grpc
import pytest

from services.client import SimulatorClient, Tls
from services.proto.ancoef.v1 import simulator_pb2 as pb
from services.proto.ancoef.v1 import simulator_pb2_grpc

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ancoef test CA",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-out", f"{name}.pem", *ext, cwd=d)
    return d


def _limits(channel) -> pb.GetLimitsResponse:
    return simulator_pb2_grpc.SimulatorServiceStub(channel).GetLimits(pb.GetLimitsRequest(), timeout=5)


def test_tls_refuses_plaintext_and_mutual_tls_refuses_clients_without_a_certificate(pki, start_server):
    tls = start_server("sim", "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))
    assert "(TLS)" in tls.lines[0]
    with grpc.insecure_channel(tls.endpoint) as plain, pytest.raises(grpc.RpcError) as info:
        _limits(plain)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    client = SimulatorClient(tls.endpoint, tls=Tls(root_certificates=pki / "ca.pem"))
    assert client.limits().max_samples == 4096

    mutual = start_server("sim", "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
                          "--tls-client-ca", str(pki / "ca.pem"))
    assert "(mutual TLS)" in mutual.lines[0]
    anonymous = grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes())
    with grpc.secure_channel(mutual.endpoint, anonymous) as channel, pytest.raises(grpc.RpcError) as info:
        _limits(channel)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    with grpc.insecure_channel(mutual.endpoint) as plain, pytest.raises(grpc.RpcError):
        _limits(plain)
    signed = SimulatorClient(mutual.endpoint, tls=Tls(pki / "ca.pem", pki / "client.pem", pki / "client.key"))
    assert signed.limits().max_samples == 4096
