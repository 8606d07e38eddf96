from __future__ import annotations

import pytest

from llmgw_desktop.transports.edge import host_allowed, origin_allowed


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:3333",
        "localhost:3333",
        "localhost",
        "[::1]:3333",
        "[::1]",
        "127.0.0.1",
        "LOCALHOST:1",
    ],
)
def test_loopback_hosts_pass(host: str) -> None:
    assert host_allowed(host)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "evil.example",
        "evil.example:3333",
        "127.0.0.1.evil.example",
        "localhost:abc",
        "[::1",
        "10.0.0.5:3333",
        "0.0.0.0:3333",
    ],
)
def test_foreign_or_malformed_hosts_fail(host: str | None) -> None:
    assert not host_allowed(host)


def test_configured_extra_host_passes() -> None:
    assert host_allowed("gateway.internal:3333", extra_hosts=["gateway.internal"])


@pytest.mark.parametrize(
    "origin", [None, "http://localhost:5173", "http://127.0.0.1:3333", "https://[::1]:8443"]
)
def test_missing_or_loopback_origins_pass(origin: str | None) -> None:
    assert origin_allowed(origin)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "file://",
        "chrome-extension://abc",
        "http://localhost.evil.example",
    ],
)
def test_foreign_origins_fail(origin: str) -> None:
    assert not origin_allowed(origin)


def test_explicitly_allowed_origin_passes() -> None:
    assert origin_allowed("https://app.example", extra_origins=["https://app.example"])
