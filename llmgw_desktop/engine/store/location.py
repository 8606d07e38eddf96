"""How logs, errors and `config --show` name a store: never with the password of its URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["redacted_url", "store_password"]

MASK = "***"
# libpq's query parameters that hold a secret (`?password=...` works as well as `user:pw@`).
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def redacted_url(url: str) -> str:
    """`url` with its password (if any, in the authority or as a `password` query parameter)
    replaced by `***`, for logs, errors and `config --show`."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:{MASK}@{host}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(name.lower() in _SECRET_PARAMETERS for name, _ in pairs):
            masked = [(n, MASK if n.lower() in _SECRET_PARAMETERS else v) for n, v in pairs]
            parts = parts._replace(query=urlencode(masked, safe="*"))
    return urlunsplit(parts)


def store_password(url: str) -> str:
    """The password in a store URL (in the authority or a `password` query parameter), or ""."""
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    for name, value in parse_qsl(parts.query):
        if name.lower() == "password":
            return value
    return ""
