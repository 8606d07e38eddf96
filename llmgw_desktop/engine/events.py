"""Typed engine events and a tiny synchronous pub/sub the UI and transports subscribe to.

Events are frozen dataclasses, apart from `RequestFinished`, a named tuple (as immutable): it
is made and published for every request, and a frozen dataclass's `__init__` sets each of its
eighteen fields through `object.__setattr__`. Subscribers run on the loop thread, in
subscription order; a subscriber that raises is logged and does not stop the others or the
publisher.

A subscriber that only watches (a figure, a view) subscribes `after=True`. The HTTP gateway
finishes a request's row in the same step of its task as it writes the answer's last bytes,
and says so (`answer_follows`): for such a request, those who only watch hear of its row
from the loop once that step is over, after the client has its answer rather than on the path
to it. The budgets, whose count decides the next call, still hear of it at once. Deliveries
keep their order and come before any request read later is served, since a request is served
in a task step the loop queues behind them (a client that asks `/metrics` once it has its
answer sees its request counted). Any other publisher's events are heard at once.

`UnheardNotices` keeps the notices published before the desk listened (the engine starts
before the window is built), for the desk to tell once it is.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "AttemptFailedOver",
    "BreakerChanged",
    "EngineStarted",
    "EngineStopped",
    "Event",
    "EventBus",
    "JobStateChanged",
    "JobStuckChanged",
    "ModelListRead",
    "Notice",
    "PauseChanged",
    "ProviderHealthChanged",
    "ProviderToggled",
    "RequestFinished",
    "SecretsFound",
    "StoreHealthChanged",
    "UnheardNotices",
    "answer_follows",
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
    # Which one of its topic it is about, for the desk to choose there (a budget's key, as
    # several budgets may share a scope); "" for the topic's place alone.
    detail: str = ""


@dataclass(frozen=True)
class SecretsFound(Event):
    """The outbound guard found secrets in a request to `provider` from `principal` and did
    `action` (warned, redacted, blocked, sent on the desk's word); `kinds` counts each kind
    found. Never a value: `/metrics` and the window count them."""

    provider: str
    principal: str
    action: str
    kinds: tuple[tuple[str, int], ...]
    request_id: str = ""


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
class ModelListRead(Event):
    """An API provider's model list was asked for with its first key: `refused` is the status
    the provider refused that key with (401, 403), None when it listed its models or when its
    host could not be reached (`unreached`, then, says why)."""

    provider: str  # its switch id (`openai`, `mistral-api`)
    key: str  # the key's source (`env:OPENAI_API_KEY`, `vault:openai#1`), never its value
    refused: int | None
    message: str = ""  # the refusal as the provider said it (redacted)
    # Why no connection could be made to its host ("cannot connect: Connection refused"), or
    # "" when one was: its list was not read, and nothing is known of its key.
    unreached: str = ""

    @property
    def listed(self) -> bool:
        """Whether the provider listed its models."""
        return self.refused is None and not self.unreached


@dataclass(frozen=True)
class BreakerChanged(Event):
    """A provider's circuit breaker moved (closed, open, half_open)."""

    provider: str
    state: str
    consecutive_failures: int


@dataclass(frozen=True)
class ProviderHealthChanged(Event):
    """A provider's health from its recent calls (`metrics.CallHealth`) says something else
    now (failing, degraded, ok): by a call that ended, or by the calls earlier runs left, read
    back at start. What the desk shows of a provider's verdict follows it."""

    provider: str
    state: str


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
    # Answered from the response cache: no provider was asked, so its health, latency and
    # "sent to providers" must not count it (a hit's few ms read as the provider's own).
    from_cache: bool = False
    # The session the client named (Claude Code's, Codex's): `/metrics` groups by it.
    client_session: str | None = None
    # The source of the key a failed call ended on (`env:OPENAI_API_KEY`), never its value:
    # a key the provider refused is marked where keys are listed. "" for any other row.
    failed_key: str = ""
    # Its tokens are the gateway's estimate (the upstream reported no usage): no cache figures,
    # so the prompt-cache hit rate leaves it out (its route's `usageEstimated`).
    usage_estimated: bool = False


class RequestFinished(_RequestFinishedFields, Event):
    """A recorded request ended (any front door): what the dashboard's live figures count."""

    __slots__ = ()


@dataclass(frozen=True)
class AttemptFailedOver(Event):
    """An attempt's row that ended failed (`RequestFinished` told it) has had its request go on
    to another attempt, whose row counts the request: the failed one was a provider's call,
    not a request its client got no answer for (`recorder.attempts`)."""

    record_id: str  # the failed attempt's row
    provider: str  # as its row names it
    started_at: float  # when that attempt began
    at: float  # when the next attempt took the request over


E = TypeVar("E", bound=Event)

# True in a task that writes its answer in the step that finishes the request's row.
_ANSWER_FOLLOWS = contextvars.ContextVar("llmgw_answer_follows", default=False)


def answer_follows() -> None:
    """Say, from a front door's request task, that its answer is written in the same step of
    the task as the request's row is finished (no await between): those who only watch rows
    then hear of it after that step, off the path to the answer."""
    _ANSWER_FOLLOWS.set(True)


Handler = Callable[[Any], None]


class EventBus:
    """Publish events to handlers subscribed by event type (or to `Event` for all)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[tuple[Handler, bool]]] = defaultdict(list)
        # Per event class, the handlers of it and of its bases in delivery order, those heard
        # at once and those heard after the publisher's step: worked out at its first publish
        # after a (un)subscription, not walked for every event (a request's `RequestFinished`
        # went through five classes and copied each list).
        self._delivery: dict[type[Event], tuple[tuple[Handler, ...], tuple[Handler, ...]]] = {}
        # Events the `after` handlers have yet to hear, in publishing order, and the loop
        # asked to deliver them (a loop closed before it did leaves them to the next).
        self._queued: list[tuple[tuple[Handler, ...], Event]] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], None], *, after: bool = False
    ) -> Callable[[], None]:
        """Call `handler` for each event of `event_type` (or a subclass); returns unsubscribe.
        `after`: from the loop once the publisher's step is over (a handler that only
        watches), not inside `publish`."""
        entry = (handler, after)
        self._handlers[event_type].append(entry)
        self._delivery = {}

        def unsubscribe() -> None:
            handlers = self._handlers.get(event_type, [])
            if entry in handlers:
                handlers.remove(entry)
                self._delivery = {}

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` to every handler subscribed to its type or one of its bases (those
        subscribed when it is published: one a handler adds hears the next event); the `after`
        ones, in a task whose answer follows (`answer_follows`), are queued for the loop."""
        kind = type(event)
        delivery = self._delivery.get(kind)
        if delivery is None:
            entries = [e for base in kind.__mro__ for e in self._handlers.get(base, ())]
            delivery = (
                tuple(h for h, after in entries if not after),
                tuple(h for h, after in entries if after),
            )
            self._delivery[kind] = delivery
        now, later = delivery
        _deliver(now, event)
        if not later:
            return
        loop = asyncio._get_running_loop() if _ANSWER_FOLLOWS.get() else None
        if loop is None:
            if self._queued:
                self.drain()  # those queued before it are heard before it
            _deliver(later, event)
            return
        self._queued.append((later, event))
        if self._scheduled_on is not loop:
            self._scheduled_on = loop
            loop.call_soon(self.drain)

    def drain(self) -> None:
        """Deliver every queued event to its `after` handlers now (the loop does it soon after
        each publish; the engine once more when it stops)."""
        self._scheduled_on = None
        queued, self._queued = self._queued, []
        for handlers, event in queued:
            _deliver(handlers, event)


def _deliver(handlers: tuple[Handler, ...], event: Event) -> None:
    for handler in handlers:
        try:
            handler(event)
        except Exception:
            log.exception("event handler %r failed on %r", handler, event)


class UnheardNotices:
    """The notices published before anyone showed them: the engine starts before the desk
    that tells the person is built, and what it finds while it starts (a hard budget already
    used up) was published to no one. Kept (the last `limit`) until `take`, once."""

    def __init__(self, bus: EventBus, limit: int = 50) -> None:
        self._kept: deque[Notice] = deque(maxlen=limit)
        self._stop: Callable[[], None] | None = bus.subscribe(Notice, self._kept.append)

    def take(self) -> list[Notice]:
        """The notices kept so far, oldest first; none are kept after (the taker listens)."""
        if self._stop is not None:
            self._stop()
            self._stop = None
        taken = list(self._kept)
        self._kept.clear()
        return taken
