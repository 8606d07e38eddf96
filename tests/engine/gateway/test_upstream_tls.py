"""Upstream TLS against a real https server with a test CA (trustme): which CAs are trusted.

The system store never holds the test CA, so a request succeeds only when the CA came in
through `gateway.ca_bundle`, `SSL_CERT_FILE` or `SSL_CERT_DIR`.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from llmgw_desktop.config.settings import ConfigError, load_settings
from llmgw_desktop.engine.gateway.http_client.http1 import ConnectError, Http1Client
from llmgw_desktop.engine.gateway.http_client.tls import TrustStore
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from tests.network_fixtures import CertAuthority, make_test_ca

WAIT_S = 5.0


@pytest.fixture
def test_ca(tmp_path: Path) -> CertAuthority:
    return make_test_ca(tmp_path)


@pytest.fixture
async def https_url(test_ca: CertAuthority) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 whose certificate the test CA signed."""

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "tls"})

    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server_context()).start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}/hello"
    await runner.cleanup()


async def fetch(trust: TrustStore, url: str) -> object:
    client = Http1Client(connect_timeout_s=WAIT_S, trust=trust)
    try:
        response = await client.request("GET", url, headers={}, head_timeout_s=WAIT_S)
        try:
            return json.loads(await response.read(timeout_s=WAIT_S))
        finally:
            response.release()
    finally:
        await client.close()


async def test_upstream_signed_by_an_unknown_ca_is_a_connect_error(https_url: str) -> None:
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await fetch(TrustStore(), https_url)


async def test_ca_bundle_is_trusted_on_top_of_the_system_store(
    https_url: str, test_ca: CertAuthority
) -> None:
    assert await fetch(TrustStore(ca_bundle=str(test_ca.ca_file)), https_url) == {"hello": "tls"}
    # On top of, not instead of: the system's roots are still there.
    context = TrustStore(ca_bundle=str(test_ca.ca_file)).context()
    assert context.cert_store_stats()["x509_ca"] > 1


async def test_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    other = make_test_ca(tmp_path)
    other.hosts = ("upstream.example",)

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=other.server_context()).start()
    try:
        with pytest.raises(ConnectError, match=r"IP address mismatch|doesn't match"):
            await fetch(
                TrustStore(ca_bundle=str(other.ca_file)),
                f"https://127.0.0.1:{runner.addresses[0][1]}/hello",
            )
    finally:
        await runner.cleanup()


async def test_ssl_cert_file_in_the_engine_environment_is_trusted(
    https_url: str, test_ca: CertAuthority
) -> None:
    trust = TrustStore.from_environ({"SSL_CERT_FILE": str(test_ca.ca_file)})
    assert await fetch(trust, https_url) == {"hello": "tls"}


@pytest.fixture
def cert_dir(test_ca: CertAuthority, tmp_path: Path) -> Path:
    """A directory holding the test CA under its subject hash, as SSL_CERT_DIR expects."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to hash a certificate directory")
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(test_ca.ca_file, certs / "test-ca.pem")
    subprocess.run([openssl, "rehash", str(certs)], check=True, capture_output=True)
    return certs


async def test_ssl_cert_dir_in_the_engine_environment_is_trusted(
    https_url: str, cert_dir: Path
) -> None:
    # A list, as OpenSSL takes it; the missing entry is skipped.
    trust = TrustStore.from_environ({"SSL_CERT_DIR": f"/nonexistent{os.pathsep}{cert_dir}"})
    assert await fetch(trust, https_url) == {"hello": "tls"}


async def test_ssl_cert_file_of_the_process_is_honoured_by_the_default_context(
    https_url: str, test_ca: CertAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What Python already does: OpenSSL reads SSL_CERT_FILE when the default paths load.
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_file))
    assert ssl.get_default_verify_paths().cafile == str(test_ca.ca_file)
    # And the gateway's client, built from the process environment as the engine builds it.
    upstream = UpstreamClient(connect_timeout_s=WAIT_S, read_timeout_s=WAIT_S)
    try:
        assert await upstream.get_json(https_url, timeout_s=WAIT_S) == {"hello": "tls"}
    finally:
        await upstream.close()


async def test_missing_ssl_cert_file_is_skipped_like_openssl_does(
    https_url: str, test_ca: CertAuthority
) -> None:
    trust = TrustStore.from_environ(
        {"SSL_CERT_FILE": "/nonexistent/ca.pem"}, ca_bundle=str(test_ca.ca_file)
    )
    assert await fetch(trust, https_url) == {"hello": "tls"}


# -- the settings -----------------------------------------------------------------------------


def settings_env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"LLM_GATEWAY_CONFIG": str(tmp_path / "absent.toml"), **values}


async def test_ca_bundle_setting_reaches_the_upstream_client(
    https_url: str, test_ca: CertAuthority, tmp_path: Path
) -> None:
    env = settings_env(tmp_path, LLM_GATEWAY_CA_BUNDLE=str(test_ca.ca_file))
    settings = load_settings(environ=env).settings
    assert settings.gateway.ca_bundle == str(test_ca.ca_file)
    upstream = UpstreamClient(
        connect_timeout_s=WAIT_S,
        read_timeout_s=WAIT_S,
        environ={},
        ca_bundle=settings.gateway.ca_bundle,
    )
    try:
        assert await upstream.get_json(https_url, timeout_s=WAIT_S) == {"hello": "tls"}
    finally:
        await upstream.close()


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "is not a file"), ("not a certificate\n", "holds no usable PEM certificate")],
)
def test_unusable_ca_bundle_is_a_config_error_naming_the_key(
    tmp_path: Path, content: str | None, words: str
) -> None:
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=settings_env(tmp_path, LLM_GATEWAY_CA_BUNDLE=str(bundle)))
    assert caught.value.key == "gateway.ca_bundle"
    assert words in caught.value.problem


def test_connection_cap_setting_must_be_positive(tmp_path: Path) -> None:
    env = settings_env(tmp_path, LLM_GATEWAY_MAX_CONNECTIONS_PER_HOST="0")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    assert caught.value.key == "gateway.max_connections_per_host"
    defaults = load_settings(environ=settings_env(tmp_path)).settings
    assert defaults.gateway.max_connections_per_host == 100
    assert defaults.gateway.ca_bundle == "" and defaults.gateway.proxy_loopback is False
