"""The issuer is rendered without pydantic on the start-up path, exactly as pydantic's
`AnyHttpUrl` (which the MCP SDK's metadata uses) renders it: a mismatch would make clients
refuse our authorization server metadata."""

from __future__ import annotations

import pytest
from pydantic import AnyHttpUrl

from llmgw_desktop.engine.auth.oauth_resource import issuer_url

URLS = [
    "http://127.0.0.1:3333",
    "http://127.0.0.1:3333/",
    "http://localhost:80",
    "https://gateway.example.com:443/",
    "https://Gateway.Example.COM",
    "HTTP://EXAMPLE.com:8080/base",
    "https://example.com/base/",
    "http://[::1]:3333",
    "http://[::1]",
    "https://example.com:8443/a/b?x=1",
    "http://user:pw@example.com:81/",
    "https://bücher.example/",  # not ASCII: pydantic itself
    "http://h/a b",  # a space: pydantic escapes it
    "http://h/?",  # an empty query
    "http://h/a/../b",  # dot segments
    "http://h/./b",
    "http://h/a#frag",
    "http://h:3333/mcp?x=1&y=%20",
]


@pytest.mark.parametrize("url", URLS)
def test_matches_pydantic(url: str) -> None:
    assert issuer_url(url) == str(AnyHttpUrl(url))


def test_a_bad_url_is_still_refused() -> None:
    with pytest.raises(ValueError):
        issuer_url("ftp://example.com/")
    with pytest.raises(ValueError):
        issuer_url("http://example.com:notaport/")
