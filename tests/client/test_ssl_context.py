"""One SSL context per process for the network: built once, the same verification as httpx's default."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prefect_virustotal.client import APIConnectionError, RetryPolicy, VirusTotalClient


def _network_context(vt: VirusTotalClient) -> ssl.SSLContext:
    transport = vt._http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    context = transport._pool._ssl_context
    assert context is not None
    return context


def test_clients_for_the_network_share_one_context_that_verifies_like_httpx() -> None:
    first, second = VirusTotalClient("key"), VirusTotalClient("key", base_url="https://vt.example/api/v3")
    context = _network_context(first)
    assert _network_context(second) is context  # built once, not per client (per task run)
    default = httpx.create_ssl_context()
    assert context.verify_mode == default.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and default.check_hostname
    assert context.get_ca_certs() == default.get_ca_certs()  # the same store: certifi's bundle


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA (its PEM file) and a certificate for 127.0.0.1 it signed, with its key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pack test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


@asynccontextmanager
async def _tls_server(cert_file: Path, key_file: Path) -> AsyncIterator[str]:
    """A loopback HTTPS server answering every request with ``{"data": {}}``; yields its base URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            body = b'{"data": {}}'
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
            pass  # the client refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}/api/v3"
    finally:
        server.close()
        await server.wait_closed()


async def test_the_shared_context_refuses_an_unknown_ca_and_follows_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    ca_file, cert_file, key_file = _certificates(tmp_path)
    once = RetryPolicy(max_retries=0)
    async with _tls_server(cert_file, key_file) as base_url:
        async with VirusTotalClient("key", base_url=base_url, retry=once) as vt:
            default = _network_context(vt)
            with pytest.raises(APIConnectionError):
                await vt.request("GET", "/users/me")  # our CA is in no default store
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # as httpx honours it
        async with VirusTotalClient("key", base_url=base_url, retry=once) as vt:
            assert _network_context(vt) is not default
            assert (await vt.request("GET", "/users/me")).status_code == 200
        monkeypatch.delenv("SSL_CERT_FILE")
        async with VirusTotalClient("key", base_url=base_url, retry=once) as vt:
            assert _network_context(vt) is default
