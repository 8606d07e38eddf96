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
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from llmgw_desktop.engine.auth.oauth_rules import OAuthError

__all__ = ["Audience", "canonical_resource"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


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
