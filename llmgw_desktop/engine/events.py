"""Typed engine events and a tiny synchronous pub/sub the UI and transports subscribe to.

Events are frozen dataclasses. Subscribers run on the loop thread, in subscription order; a
subscriber that raises is logged and does not stop the others or the publisher.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "BreakerChanged",
    "EngineStarted",
    "EngineStopped",
    "Event",
    "EventBus",
    "JobStateChanged",
    "JobStuckChanged",
    "Notice",
    "PauseChanged",
    "ProviderToggled",
    "RequestFinished",
    "StoreHealthChanged",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base class of every engine event."""


@dataclass(frozen=True)
class EngineStarted(Event):
    started_at: float


@dataclass(frozen=True)
class EngineStopped(Event):
    pass


@dataclass(frozen=True)
class ProviderToggled(Event):
    provider: str
    enabled: bool


@dataclass(frozen=True)
class PauseChanged(Event):
    paused: bool


@dataclass(frozen=True)
class Notice(Event):
    """Something the person at the desk should see (a tray message, a status line)."""

    level: str  # "info", "warning" or "error"
    message: str
    # What it is about, for the desk to open its place ("budget", "providers"); "" for anything
    # else (the desk then keeps it about the page shown).
    topic: str = ""


@dataclass(frozen=True)
class StoreHealthChanged(Event):
    """The store became degraded (reason: what is wrong) or healthy again (reason None)."""

    reason: str | None


@dataclass(frozen=True)
class JobStateChanged(Event):
    job_id: str
    provider: str
    state: str
    principal: str


@dataclass(frozen=True)
class JobStuckChanged(Event):
    """A running job became stuck (no output for `limit_s`) or is no longer (output came,
    or it ended). `idle_s` is how long it had been silent when this was published."""

    job_id: str
    provider: str
    principal: str
    stuck: bool
    idle_s: float
    limit_s: float


@dataclass(frozen=True)
class BreakerChanged(Event):
    """A provider's circuit breaker moved (closed, open, half_open)."""

    provider: str
    state: str
    consecutive_failures: int


@dataclass(frozen=True)
class RequestFinished(Event):
    """A recorded request ended (any front door): what the dashboard's live figures count."""

    record_id: str
    provider: str
    model: str | None
    state: str  # completed, failed, canceled, refused, deduped, ...
    principal: str
    caller: str
    started_at: float
    finished_at: float
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    error_code: str | None = None  # why it failed (`auth_required`, `upstream_401` ...)
    project: str | None = None  # the project the caller named (budgets count it)
    transport: str = ""  # the front door (`http`, `mcp` ...)
    endpoint: str = ""  # the route or tool (`/v1/messages`, `ask_model` ...)
    first_token_s: float | None = None  # a streamed answer's wait for its first piece


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]


class EventBus:
    """Publish events to handlers subscribed by event type (or to `Event` for all)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call `handler` for each event of `event_type` (or a subclass); returns unsubscribe."""
        self._handlers[event_type].append(handler)

        def unsubscribe() -> None:
            handlers = self._handlers.get(event_type, [])
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` to every handler subscribed to its type or one of its bases."""
        for event_type in type(event).__mro__:
            for handler in list(self._handlers.get(event_type, ())):
                try:
                    handler(event)
                except Exception:
                    log.exception("event handler %r failed on %r", handler, event)
