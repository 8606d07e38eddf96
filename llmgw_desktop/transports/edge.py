"""The edge's pure checks against web pages: DNS rebinding, origins, bodies a page may send.

A web page on a hostile site can make a browser send requests to 127.0.0.1 by pointing its own
DNS name at it; the browser then sends that foreign name as `Host` and the page's `Origin`.
Checking both closes that door while letting local tools (which send loopback names or no
`Origin` at all) in.

A page on another local port passes those checks (its `Origin` is loopback). What stops it
from changing state over HTTP is CORS: a browser asks first (a preflight, which the gateway
refuses) before sending a JSON body, but not before sending `text/plain`, form, multipart or
untyped bodies. So every state-changing door takes JSON only, except from a program that is
plainly no browser: a browser sends `Origin` on every POST, so a body with neither `Origin` nor
`Content-Type` (LiteLLM's Ollama providers send theirs so) is read as JSON. Nothing puts CORS
in front of a WebSocket: an upgrade takes no `Origin` but those the operator listed
(`upgrade_origin_allowed`).

`auth_edge.Edge` applies these, with each door's row (`doors.py`), to every request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "host_allowed",
    "is_json_media_type",
    "media_type_refusal",
    "origin_allowed",
    "origin_of",
    "upgrade_origin_allowed",
]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_loopback_name(host: str) -> bool:
    host = host.lower().strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> str | None:
    """The host part of a `Host` header (`name`, `name:port`, `[v6]:port`), or None if malformed."""
    value = value.strip()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end == -1 or (len(value) > end + 1 and not value[end + 1 :].startswith(":")):
            return None
        return value[1:end]
    host, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return host


def host_allowed(host_header: str | None, extra_hosts: Iterable[str] = ()) -> bool:
    """True when the `Host` header names this machine (any port) or one of `extra_hosts`."""
    if host_header is None:
        return False
    host = _split_host(host_header)
    if host is None:
        return False
    return _is_loopback_name(host) or host.lower() in {h.lower() for h in extra_hosts}


def origin_allowed(origin: str | None, extra_origins: Iterable[str] = ()) -> bool:
    """True when there is no `Origin`, or it is a loopback page, or it is explicitly allowed."""
    if origin is None:
        return True
    if origin in set(extra_origins):
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False  # includes the opaque "null" origin of sandboxed frames and files
    return _is_loopback_name(parts.hostname)


def origin_of(url: str) -> str:
    """The web origin of a URL as browsers send it in `Origin` (`https://host[:port]`, lower
    case, no default port); "" when `url` is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or `application/<something>+json`, parameters (charset) allowed."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def upgrade_origin_allowed(origin: str | None, listed: Iterable[str]) -> bool:
    """True when an upgrade (a WebSocket) may go on: no `Origin` (editors' clients send none),
    or one the operator listed. A loopback page is no exception: CORS does not guard a socket."""
    return origin is None or origin in set(listed)


def media_type_refusal(
    method: str, path: str, content_type: str | None, origin: str | None
) -> str | None:
    """Why a state-changing request's body is refused (None: it is JSON, or it carries
    neither `Content-Type` nor `Origin`, which no browser sends)."""
    if content_type == "application/json":  # what nearly every client sends: nothing to parse
        return None
    if content_type is None and origin is None:
        return None
    if content_type and is_json_media_type(content_type):
        return None
    got = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
    return (
        f"{method} {path} takes a JSON body: send it with Content-Type: application/json "
        f"(this request has {got}). Other body types are refused because any web page can "
        "send them to this machine without the browser asking first"
    )
