"""What a provider's rate-limit headers say is left of its quota, read from each answer.

OpenAI, Groq, OpenRouter, Mistral and xAI send `x-ratelimit-{limit,remaining,reset}-{requests,
tokens}` (a reset as a duration: `1s`, `6m0s`, `2m59.56s`, `20ms`); Anthropic sends
`anthropic-ratelimit-{requests,tokens,input-tokens}-{limit,remaining,reset}` (a reset as an
RFC 3339 time). The quota strategy steers a request away from a target whose last answer said
that it is near its limit, until that limit resets, so the request goes elsewhere before the
target answers 429 (a 429 itself cools the target down: `circuit.py`). What a header does not
say is unknown, never assumed to be zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["UNKNOWN_RESET_S", "Allowance", "QuotaReading", "read_quota"]

# How long a reading holds when the provider did not say when its limit resets: the vendors'
# windows are a minute.
UNKNOWN_RESET_S = 60.0
# Anthropic's `tokens` is the most restrictive of its token limits; `input-tokens` where it is
# the only one sent. Each spelling: its remaining, limit and reset header names, and how its
# reset is written.
_KINDS: tuple[tuple[str, tuple[tuple[str, str, str, str], ...]], ...] = tuple(
    (
        kind,
        tuple(
            (pattern.format("remaining"), pattern.format("limit"), pattern.format("reset"), form)
            for pattern, form in spellings
        ),
    )
    for kind, spellings in (
        (
            "requests",
            (
                ("x-ratelimit-{}-requests", "duration"),
                ("anthropic-ratelimit-requests-{}", "time"),
            ),
        ),
        (
            "tokens",
            (
                ("x-ratelimit-{}-tokens", "duration"),
                ("anthropic-ratelimit-tokens-{}", "time"),
                ("anthropic-ratelimit-input-tokens-{}", "time"),
            ),
        ),
    )
)
# Every spelling's "remaining" header: an answer naming none of them says nothing (names
# matched exactly, as `dict.get` does, so asked of a plain dict only).
_REMAINING = frozenset(names[0] for _, spellings in _KINDS for names in spellings)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True)
class Allowance:
    """One kind of limit (requests or tokens): how much is left of how much, until when."""

    left: int
    limit: int | None
    until: float  # monotonic seconds when it resets (the reading no longer holds)

    def fraction(self) -> float | None:
        """What is left as a fraction of the limit; None where the limit is not known."""
        if not self.limit:
            return None
        return max(0.0, min(1.0, self.left / self.limit))


@dataclass(frozen=True)
class QuotaReading:
    """What one answer's headers said is left, per kind."""

    requests: Allowance | None = None
    tokens: Allowance | None = None

    def live(self, now: float) -> list[Allowance]:
        """The allowances that have not reset yet at `now`."""
        return [a for a in (self.requests, self.tokens) if a is not None and a.until > now]

    def headroom(self, now: float) -> float | None:
        """The smallest fraction left of any limit still in force; None: nothing known."""
        fractions = [f for a in self.live(now) if (f := a.fraction()) is not None]
        return min(fractions) if fractions else None

    def near_limit(self, now: float, tokens: int, reserve: float) -> float | None:
        """Seconds until the limit resets when one more request of `tokens` would leave less
        than `reserve` (a fraction of the limit) of a kind, or none at all; None: it has room."""
        for allowance in self.live(now):
            need = tokens if allowance is self.tokens else 1
            kept = reserve * allowance.limit if allowance.limit else 0.0
            if allowance.left - need < kept or allowance.left < need:
                return allowance.until - now
        return None


def read_quota(headers: Mapping[str, str], now: float, wall: float) -> QuotaReading | None:
    """The quota an answer's headers (lower-case names) say is left; None when they say
    nothing. `now` is monotonic, `wall` the same moment in epoch seconds (Anthropic's resets
    are times of day)."""
    if type(headers) is dict and _REMAINING.isdisjoint(headers):
        return None  # most answers name no limit: nothing to look up one by one
    found: dict[str, Allowance] = {}
    for kind, spellings in _KINDS:
        for remaining, limit, reset_name, reset_form in spellings:
            said = headers.get(remaining)
            if said is None:
                continue
            left = _integer(said)
            if left is None:
                continue
            reset = headers.get(reset_name)
            wait = _reset_in(reset, reset_form, wall) if reset else None
            found[kind] = Allowance(
                left,
                _integer(headers.get(limit)),
                now + (UNKNOWN_RESET_S if wait is None else wait),
            )
            break
    if not found:
        return None
    return QuotaReading(found.get("requests"), found.get("tokens"))


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(0, int(float(value.strip())))
    except ValueError:
        return None


def _reset_in(value: str, form: str, wall: float) -> float | None:
    """Seconds until a reset written as a duration (`6m0s`) or an RFC 3339 time; None when it
    does not parse."""
    text = value.strip()
    if form == "time":
        try:
            return max(0.0, datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() - wall)
        except ValueError:
            return None
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        try:
            return max(0.0, float(text))  # a bare number of seconds
        except ValueError:
            return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)
