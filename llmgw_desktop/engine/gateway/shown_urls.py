"""An upstream's URL as the gateway may show it: in an error, the window, `/health` or a key
holder's provider listing. A base URL can carry a token in its user, password or query.

Not `transports/edge.origin_of` (a browser's `Origin`, normalised to compare against the
allowed origins, "" for anything that is not http(s)), nor `store.redacted_url` (a store's URL
with its password masked, for the operator's own logs): here nothing secret is kept at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["origin_of", "shown_url"]


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of `url`: never its user, password, path or query (a base URL
    may carry a token in any of them)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def shown_url(url: str) -> str:
    """`url` as a listing shows it to the local user: its origin and path, never its user,
    password, query or fragment (where a token in a base URL usually is)."""
    if not url:
        return url
    parts = urlsplit(url)
    return origin_of(url) + parts.path
