"""Where a request carries the gateway's credential, as each dialect's clients send their key.

`Authorization: Bearer` is read on every route. The vendor SDKs and CLIs put their API key
elsewhere and have no setting to move it: Anthropic's in `x-api-key`, Google's in
`x-goog-api-key` or the `key` query parameter. On the routes of those dialects the gateway reads
its own credential there too, so a client set up with only its usual key variable works on a
locked gateway. Exactly one credential is read per request (the first place that holds one), so
a request is one guess, counted once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from multidict import MultiMapping

__all__ = [
    "ANTHROPIC_KEY_PLACES",
    "BEARER_ONLY",
    "GEMINI_KEY_PLACES",
    "KEY_QUERY_PARAMETER",
    "Presented",
    "describe_places",
    "presented_key",
]

KEY_QUERY_PARAMETER = "key"
# A place is a header name, or `?key` for the query parameter.
BEARER_ONLY: tuple[str, ...] = ()
ANTHROPIC_KEY_PLACES: tuple[str, ...] = ("x-api-key",)
GEMINI_KEY_PLACES: tuple[str, ...] = ("x-goog-api-key", f"?{KEY_QUERY_PARAMETER}")


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
    bearer = _bearer(headers.get("Authorization", ""))
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


def describe_places(places: tuple[str, ...]) -> str:
    """The places a credential is read from, for a refusal's message."""
    extra = [p if not p.startswith("?") else f"?{p[1:]}=" for p in places]
    return ", ".join(["Authorization: Bearer ...", *extra])


def _bearer(value: str) -> str | None:
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()
