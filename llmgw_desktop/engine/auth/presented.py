"""Where a request carries the gateway's credential, as each dialect's clients send their key.

`Authorization: Bearer` is read on every route. The vendor SDKs and CLIs put their API key
elsewhere and have no setting to move it: Anthropic's in `x-api-key`, Google's in
`x-goog-api-key` or the `key` query parameter. On the routes of those dialects the gateway reads
its own credential there too, so a client set up with only its usual key variable works on a
locked gateway. Exactly one credential is read per request (the first place that holds one), so
a request is one guess, counted once.

A gateway key (`llmgw-...`, `gateway_keys.py`) is also read from `x-api-key` and
`x-goog-api-key` on every other route (the OpenAI routes, `/mcp`), so a tool configured with
its vendor's key variable carries its key anywhere; only a value with the key prefix is read
there, so where the static token is accepted does not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from multidict import MultiMapping, istr

from llmgw_desktop.engine.values import stores_directly

__all__ = [
    "ANTHROPIC_KEY_PLACES",
    "BEARER_ONLY",
    "GATEWAY_KEY_PREFIX",
    "GEMINI_KEY_PLACES",
    "KEY_ANYWHERE_PLACES",
    "KEY_QUERY_PARAMETER",
    "Presented",
    "describe_places",
    "is_gateway_key",
    "presented_credential",
    "presented_key",
]

KEY_QUERY_PARAMETER = "key"
# A place is a header name, or `?key` for the query parameter.
BEARER_ONLY: tuple[str, ...] = ()
ANTHROPIC_KEY_PLACES: tuple[str, ...] = ("x-api-key",)
GEMINI_KEY_PLACES: tuple[str, ...] = ("x-goog-api-key", f"?{KEY_QUERY_PARAMETER}")
# Looked up in every request's headers: as an `istr` its case is folded once, where a `str`
# name is lower-cased and hashed anew at each lookup (about 600 instructions).
_AUTHORIZATION = istr("Authorization")


@stores_directly
@dataclass(frozen=True)
class Presented:
    """A credential a request presented, and where (for the refusal's message)."""

    value: str
    place: str

    def __repr__(self) -> str:  # never the value, should one end up in a log line
        return f"Presented(place={self.place!r})"


def presented_key(
    headers: MultiMapping[str],
    query: Mapping[str, str] | None = None,
    places: tuple[str, ...] = BEARER_ONLY,
) -> Presented | None:
    """The credential the request presents: its bearer token, else the first of `places` that
    holds a value; None when it presents none."""
    bearer = _bearer(headers.get(_AUTHORIZATION, ""))
    if bearer is not None:
        return Presented(bearer, "Authorization: Bearer")
    for place in places:
        if place.startswith("?"):
            value = (query or {}).get(place[1:], "").strip()
            where = f"the ?{place[1:]}= query parameter"
        else:
            value = headers.get(place, "").strip()
            where = place
        if value:
            return Presented(value, where)
    return None


# Where a gateway key is read on any route, after the route's own places.
KEY_ANYWHERE_PLACES: tuple[str, ...] = ("x-api-key", "x-goog-api-key")
GATEWAY_KEY_PREFIX = "llmgw-"
# A gateway key's secret part is `secrets.token_urlsafe(32)`: 43 characters. Shorter values with
# the prefix are not keys, such as the Connect page's "llmgw-local", which an SDK needs as some
# key on an open loopback gateway.
GATEWAY_KEY_MIN_SECRET = 40


def is_gateway_key(value: str) -> bool:
    """Whether a presented credential has a gateway key's shape (prefix and length)."""
    return (
        value.startswith(GATEWAY_KEY_PREFIX)
        and len(value) - len(GATEWAY_KEY_PREFIX) >= GATEWAY_KEY_MIN_SECRET
    )


def presented_credential(
    headers: MultiMapping[str],
    query: Mapping[str, str] | None = None,
    places: tuple[str, ...] = BEARER_ONLY,
) -> Presented | None:
    """`presented_key`, else a gateway key in a vendor key header the route does not read."""
    found = presented_key(headers, query, places)
    if found is not None:
        return found
    for place in KEY_ANYWHERE_PLACES:
        if place in places:
            continue
        value = headers.get(place, "").strip()
        if is_gateway_key(value):
            return Presented(value, place)
    return None


def describe_places(places: tuple[str, ...]) -> str:
    """The places a credential is read from, for a refusal's message."""
    extra = [p if not p.startswith("?") else f"?{p[1:]}=" for p in places]
    return ", ".join(["Authorization: Bearer ...", *extra])


def _bearer(value: str) -> str | None:
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()
