"""RFC 8707 resource identifiers: the forms that name this gateway, and those that do not."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.auth.oauth_resource import Audience, canonical_resource
from llmgw_desktop.engine.auth.oauth_rules import OAuthError

OURS = Audience(["https://gw.example.com", "http://127.0.0.1:8080"], "/mcp")


@pytest.mark.parametrize(
    "resource",
    [
        "https://gw.example.com",
        "https://gw.example.com/",
        "https://gw.example.com/mcp",
        "https://gw.example.com/mcp/",
        "HTTPS://GW.example.com:443/mcp",
        "http://127.0.0.1:8080/mcp",
    ],
)
def test_our_forms_are_accepted_and_stored_canonical(resource: str) -> None:
    audience = OURS.check(resource)
    assert audience in OURS.identifiers
    assert OURS.is_ours(audience) and OURS.is_ours(resource)


@pytest.mark.parametrize(
    "resource",
    [
        "https://evil.example/",
        "https://gw.example.com.evil.example/mcp",
        "https://gw.example.com/mcp/../admin",
        "https://gw.example.com/other",
        "http://gw.example.com/mcp",  # another scheme is another origin
        "http://127.0.0.1:8081/mcp",
        "https://gw.example.com/mcp?x=1",
        "https://gw.example.com/mcp#frag",
        "https://user@gw.example.com/mcp",
        "https://gw.example.com/mcp https://evil.example/",
        "gw.example.com/mcp",
    ],
)
def test_anything_else_is_invalid_target(resource: str) -> None:
    with pytest.raises(OAuthError) as refused:
        OURS.check(resource)
    assert refused.value.error == "invalid_target"
    assert not OURS.is_ours(resource)


def test_no_resource_means_this_gateway() -> None:
    assert OURS.check(None) is None and OURS.is_ours(None)


def test_before_the_address_is_known_nothing_is_ours() -> None:
    assert not Audience().is_ours("http://127.0.0.1:8080/mcp")


def test_canonical_form_matches_what_the_mcp_sdk_sends() -> None:
    from mcp.shared.auth_utils import resource_url_from_server_url

    for url in ("http://127.0.0.1:8080/mcp", "https://GW.example.com/mcp"):
        assert canonical_resource(resource_url_from_server_url(url)) == canonical_resource(url)
    assert canonical_resource("http://[::1]:8080/mcp/") == "http://[::1]:8080/mcp"
