"""Optional TLS on both receivers, with a self-signed certificate made for the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import aiohttp
import grpc
from collector_helpers import collector_config, make_request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agenttrace.collector.service import Collector

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_on_http_and_grpc(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    collector = Collector(
        collector_config(
            tmp_path, receivers={"tls_cert_file": str(cert_file), "tls_key_file": str(key_file)}
        )
    )
    await collector.start()
    try:
        assert collector.endpoints.http is not None
        assert collector.endpoints.http.startswith("https://")
        body = make_request(3, batch=1).SerializeToString()
        context = ssl.create_default_context(cafile=str(cert_file))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{collector.endpoints.http}/v1/traces",
                data=body,
                headers={"Content-Type": "application/x-protobuf"},
                ssl=context,
            ) as response,
        ):
            assert response.status == 200
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_file.read_bytes())
        assert collector.endpoints.grpc is not None
        async with grpc.aio.secure_channel(collector.endpoints.grpc, credentials) as channel:
            await channel.unary_unary(EXPORT)(body)
        plain_url = collector.endpoints.http.replace("https://", "http://")
        async with aiohttp.ClientSession() as session:
            try:
                async with session.post(f"{plain_url}/v1/traces", data=body) as response:
                    plain_status = response.status
            except aiohttp.ClientError:
                plain_status = None
        assert plain_status != 200  # plaintext is not served on the TLS port
    finally:
        await collector.shutdown()
