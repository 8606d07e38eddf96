from __future__ import annotations

import pytest

from llmgw_desktop.transports.edge import (
    host_allowed,
    media_type_refusal,
    origin_allowed,
    upgrade_origin_allowed,
)


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


def test_an_ipv6_host_configured_in_brackets_passes_as_clients_send_it() -> None:
    """`http.allowed_hosts = ["[fd00::1]"]`, as a URL writes it: the `Host` header's address
    is matched without its brackets (`shell.runtime.allowed_hosts` drops them)."""
    from llmgw_desktop.config.settings import load_settings
    from llmgw_desktop.shell.runtime import allowed_hosts

    settings = load_settings(environ={"LLM_GATEWAY_HTTP_ALLOWED_HOSTS": "[fd00::1],fd00::2"})
    hosts = allowed_hosts(settings.settings)
    assert host_allowed("[fd00::1]:3333", hosts) and host_allowed("[fd00::2]", hosts)
    assert not host_allowed("[fd00::3]:3333", hosts)


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


@pytest.mark.parametrize("origin", ["http://localhost:8081", "http://127.0.0.1:1", "null"])
def test_an_upgrade_takes_no_page_that_is_not_listed_loopback_or_not(origin: str) -> None:
    assert origin_allowed(origin) == (origin != "null")  # a JSON route lets loopback pages in
    assert not upgrade_origin_allowed(origin, ["https://app.example"])
    assert upgrade_origin_allowed(origin, [origin])
    assert upgrade_origin_allowed(None, [])  # an editor's client sends none


@pytest.mark.parametrize(
    ("content_type", "origin", "refused"),
    [
        ("application/json", "http://localhost:8081", False),
        ("application/vnd.x+json; charset=utf-8", None, False),
        (None, None, False),  # no browser sends a POST without Origin: LiteLLM's Ollama calls
        (None, "http://localhost:8081", True),  # a page's Blob body
        (None, "null", True),
        ("text/plain", None, True),
        ("application/x-www-form-urlencoded", None, True),
        ("", None, True),
    ],
)
def test_a_body_is_json_unless_no_browser_sent_it_untyped(
    content_type: str | None, origin: str | None, refused: bool
) -> None:
    why = media_type_refusal("POST", "/api/chat", content_type, origin)
    assert (why is not None) == refused, why
