"""RFC 8707 resource indicators: which `resource` values name this gateway, so that a token is
only ever issued for, and accepted by, the gateway itself.

A token minted for another server (`resource=https://evil.example/`) must not open this one:
the authorization and token endpoints refuse a foreign resource with `invalid_target`, the
audience that was asked for is stored with the code and the tokens, and verification refuses
a token whose audience is not ours. A token stored without an audience (the client named no
resource) is ours: this server issues tokens for nothing else.

Our identifiers are the gateway's base URLs (the public URL, the bound address and the other
names the edge accepts for it) and its MCP endpoint under each, compared in the canonical form
the `mcp` SDK's client sends (`resource_url_from_server_url`: lower-case scheme and host, no
fragment), with or without a trailing slash and with the default port written or not.

`GatewayAddress` holds both names the server goes by once its address is known: that audience,
and the issuer its answers carry (`issuer_url`, rendered as the MCP SDK's metadata renders it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from llmgw_desktop.engine.auth.oauth_rules import OAuthError

__all__ = ["Audience", "GatewayAddress", "canonical_resource", "issuer_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A path (and query) pydantic leaves as it is: unreserved characters, sub-delimiters and
# %-escapes, no empty `?` or `#`; anything else (spaces, dot segments, IDN) goes to pydantic.
_PLAIN_TAIL = re.compile(
    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]+)?"
)


def canonical_resource(uri: str) -> str | None:
    """`scheme://host[:port]/path` with scheme and host lower-case, the default port and a
    trailing slash dropped; None when `uri` is not an absolute http(s) URI without query or
    fragment (RFC 8707 section 2)."""
    if not uri or any(c.isspace() or ord(c) < 0x20 for c in uri):
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.query or parts.fragment:
        return None
    if "#" in uri or parts.username is not None or parts.password is not None:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


class Audience:
    """The resource identifiers this gateway answers to."""

    def __init__(self, bases: Iterable[str] = (), mcp_path: str = "/mcp") -> None:
        ours: set[str] = set()
        for base in bases:
            canonical = canonical_resource(base)
            if canonical is not None:
                ours.add(canonical)
                ours.add(canonical + "/" + mcp_path.strip("/"))
        self.identifiers = frozenset(ours)

    def is_ours(self, resource: str | None) -> bool:
        """Whether a stored audience names this gateway (no audience: issued for us alone)."""
        if resource is None:
            return True
        return canonical_resource(resource) in self.identifiers

    def check(self, resource: str | None) -> str | None:
        """The audience to store for a requested `resource` (None when none was named).

        Raises:
            OAuthError: invalid_target, naming the resource that is not this gateway.
        """
        if resource is None or resource == "":
            return None
        canonical = canonical_resource(resource)
        if canonical is None:
            raise OAuthError(
                "invalid_target",
                f"resource {resource!r} must be an absolute http(s) URL without query or fragment",
            )
        if canonical not in self.identifiers:
            named = ", ".join(sorted(self.identifiers)) or "none known yet"
            raise OAuthError(
                "invalid_target",
                f"resource {resource!r} is not this gateway; tokens here are for: {named}",
            )
        return canonical

    def for_tokens(self, granted: str | None, asked: str | None) -> str | None:
        """The audience of tokens issued at the token endpoint: the resource the request names,
        else the one the grant was for. Every identifier here names this same gateway, so a
        request may name another of them than its authorization did.

        Raises:
            OAuthError: invalid_target (the grant or the request is for another resource).
        """
        if not self.is_ours(granted):
            raise OAuthError("invalid_target", f"this grant is for {granted!r}, not this gateway")
        return self.check(asked) or (None if granted is None else self.check(granted))


class GatewayAddress:
    """This gateway as OAuth names it, shared by the grant flows and the tokens: the issuer its
    answers carry and the audience its tokens are for. Until the address is known (`set`), no
    resource is ours: fail closed."""

    def __init__(self) -> None:
        self.issuer = ""
        self.audience = Audience()

    def set(self, url: str, resource_bases: Iterable[str], mcp_path: str) -> None:
        """The issuer as OAuth metadata renders it, and the resources tokens may be for: `url`,
        `resource_bases` (other addresses of this gateway) and the MCP endpoint under each."""
        self.issuer = issuer_url(url)
        self.audience = Audience([url, *resource_bases], mcp_path)


def issuer_url(url: str) -> str:
    """`url` as the MCP SDK's metadata renders an issuer (pydantic's `AnyHttpUrl`): scheme and
    host in lower case, the scheme's default port dropped, an empty path made `/`. Done here
    for the plain ASCII http(s) URLs a gateway has, since importing pydantic costs start-up a
    tenth of a second before the door can open; anything else goes to pydantic itself."""
    parts = urlsplit(url)
    host = parts.hostname
    try:
        port = parts.port
    except ValueError:
        port, host = None, None  # not a port: let pydantic say what is wrong
    tail = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    plain = url.isascii() and _PLAIN_TAIL.fullmatch(tail) is not None and "/." not in tail
    if parts.scheme.lower() not in ("http", "https") or not host or not plain:
        from pydantic import AnyHttpUrl

        return str(AnyHttpUrl(url))
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))
