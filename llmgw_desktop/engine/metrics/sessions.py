"""`/metrics` by client session: requests, tokens and cost of each session a coding tool named.

Claude Code sends `X-Claude-Code-Session-Id` and Codex `session-id` with every request of one of
their sessions; the recorder keeps it (`client_session`) and `RequestFinished` carries it. A
session is a label no dashboard can bound by its values (a new one every time a tool starts),
so these series are their own families, beside the requests' and never multiplying them, for
the sessions seen last: at most `max_sessions` at once, the one heard from longest ago dropped
(with its series) when a new one comes, and a principal other than the operator holds at most
`per_principal` of them, its own oldest dropped first, so a key holder inventing ids cannot push
the operator's sessions out. A session is its principal's: another principal naming the same id
has a session (and series) of its own. A session's series start again from zero if it comes
back after being dropped, as a counter that reset (Prometheus's `rate` and `increase` read it
so).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.config.principals import OPERATORS
from llmgw_desktop.engine.events import RequestFinished

__all__ = ["SessionFigures"]

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")


@dataclass
class _Session:
    principal: str
    agent: str  # the caller its first request named
    requests: dict[str, int] = field(default_factory=dict)  # by state
    tokens: list[int] = field(default_factory=lambda: [0] * len(TOKEN_TYPES))
    cost: float = 0.0
    priced: bool = False


class SessionFigures:
    """Each recent client session's counters, as `ScrapeFigures` exposes them."""

    def __init__(self, *, max_sessions: int, per_principal: int) -> None:
        self._max = max(1, max_sessions)
        self._per_principal = max(1, per_principal)
        # (principal, session id) -> its counters, the one heard from last at the end.
        self._sessions: OrderedDict[tuple[str, str], _Session] = OrderedDict()
        self.dropped = 0  # sessions dropped to keep within the bounds (overflow's count)

    def __len__(self) -> int:
        return len(self._sessions)

    def count(self, event: RequestFinished) -> None:
        """Add a finished request to its session's counters (nothing without one)."""
        session_id = event.client_session
        if not session_id:
            return
        key = (event.principal, session_id)
        session = self._sessions.get(key)
        if session is None:
            session = self._admit(key, event)
        else:
            self._sessions.move_to_end(key)
        session.requests[event.state] = session.requests.get(event.state, 0) + 1
        for index, count in enumerate(
            (
                event.input_tokens,
                event.output_tokens,
                event.cache_read_tokens,
                event.cache_write_tokens,
            )
        ):
            session.tokens[index] += count
        if event.cost_usd:
            session.cost += event.cost_usd
            session.priced = True

    def _admit(self, key: tuple[str, str], event: RequestFinished) -> _Session:
        """A new session's counters, after dropping what the bounds say must go."""
        principal = event.principal
        if principal not in OPERATORS:
            mine = [k for k in self._sessions if k[0] == principal]
            for old in mine[: max(0, len(mine) - self._per_principal + 1)]:
                del self._sessions[old]
                self.dropped += 1
        while len(self._sessions) >= self._max:
            self._sessions.popitem(last=False)
            self.dropped += 1
        session = self._sessions[key] = _Session(principal, event.caller)
        return session

    def families(self, process: str) -> Iterator[Any]:
        """The sessions' metric families (prometheus_client's types)."""
        from prometheus_client.core import CounterMetricFamily

        requests = CounterMetricFamily(
            "llmgw_session_requests",
            "Requests of each recent client session (the id its coding tool named), by how "
            "they ended.",
            labels=["session", "agent", "principal", "state", "process"],
        )
        tokens = CounterMetricFamily(
            "llmgw_session_tokens",
            "Tokens of each recent client session, by type.",
            labels=["session", "principal", "type", "process"],
        )
        cost = CounterMetricFamily(
            "llmgw_session_cost_usd",
            "Estimated cost of each recent client session in US dollars (priced models only).",
            labels=["session", "principal", "process"],
        )
        for (principal, session_id), session in list(self._sessions.items()):
            for state, count in session.requests.items():
                requests.add_metric([session_id, session.agent, principal, state, process], count)
            for kind, count in zip(TOKEN_TYPES, session.tokens, strict=True):
                if count:
                    tokens.add_metric([session_id, principal, kind, process], count)
            if session.priced:
                cost.add_metric([session_id, principal, process], session.cost)
        yield requests
        yield tokens
        yield cost
