"""Typed engine events and a tiny synchronous pub/sub the UI and transports subscribe to.

Events are frozen dataclasses, apart from `RequestFinished`, a named tuple (as immutable): it
is made and published for every request, and a frozen dataclass's `__init__` sets each of its
eighteen fields through `object.__setattr__`. Subscribers run on the loop thread, in
subscription order; a subscriber that raises is logged and does not stop the others or the
publisher.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

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


class Event:
    """Base class of every engine event (no fields: a named tuple can take it as a base)."""

    __slots__ = ()


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


class _RequestFinishedFields(NamedTuple):
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


class RequestFinished(_RequestFinishedFields, Event):
    """A recorded request ended (any front door): what the dashboard's live figures count."""

    __slots__ = ()


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]


class EventBus:
    """Publish events to handlers subscribed by event type (or to `Event` for all)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)
        # Per event class, the handlers of it and of its bases in delivery order: worked out
        # at its first publish after a (un)subscription, not walked for every event (a
        # request's `RequestFinished` went through five classes and copied each list).
        self._delivery: dict[type[Event], tuple[Handler, ...]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call `handler` for each event of `event_type` (or a subclass); returns unsubscribe."""
        self._handlers[event_type].append(handler)
        self._delivery = {}

        def unsubscribe() -> None:
            handlers = self._handlers.get(event_type, [])
            if handler in handlers:
                handlers.remove(handler)
                self._delivery = {}

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` to every handler subscribed to its type or one of its bases (those
        subscribed when it is published: one a handler adds hears the next event)."""
        kind = type(event)
        handlers = self._delivery.get(kind)
        if handlers is None:
            handlers = tuple(h for base in kind.__mro__ for h in self._handlers.get(base, ()))
            self._delivery[kind] = handlers
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %r", handler, event)
