"""A server that stopped answering: one ping at a time to find it out, and what the gateway
knows once it has.

Calls past their deadline on one hung server each sent a ping of their own (eight calls in
flight, eight pings, each a request the hung server's connection holds); `SharedPing` keeps one
in flight per server, its outcome heard by every call waiting on it.

A Streamable HTTP server found hung is not the gateway's process: its restart is a new
connection to the same stopped server, whose `initialize` then waits `mcp.start_timeout_ms`
(30 s). Every call to it waited those 30 s before it failed. `Silence` is what the gateway
knows meanwhile (since when, and what went unanswered), so such a call is answered at once,
saying so, while the gateway keeps asking the server and uses it as soon as it answers. A stdio
server found hung is killed and replaced by a new process, which nothing is known of yet: it
has no `Silence`, and a call waits for its start as for any start.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from llmgw_desktop.engine.tasks import TaskSupervisor

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

__all__ = ["SharedPing", "Silence"]

log = logging.getLogger(__name__)


class Silence:
    """What the gateway knows of one server's silence: since when (wall clock) it has not
    answered, what it left unanswered, and when the gateway next asks it to start."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.unanswered = ""
        self._tries_at = 0.0  # monotonic; in the past while a start is under way

    @property
    def known(self) -> bool:
        """The server is known not to answer (until it answers a start again)."""
        return self.since is not None

    def found(self, unanswered: str, next_try_in_s: float) -> None:
        """It left `unanswered` ("its last ping") unanswered; it is next asked to start in
        `next_try_in_s`. A silence already known keeps its first time."""
        if self.since is None:
            self.since, self.unanswered = time.time(), unanswered
        self.next_try_in(next_try_in_s)

    def next_try_in(self, seconds: float) -> None:
        self._tries_at = time.monotonic() + seconds

    def ended(self) -> None:
        """It answered (a start, or a failure it said): nothing is known of its silence."""
        self.since, self.unanswered = None, ""

    def retry_after_s(self) -> int:
        """Whole seconds until the gateway next asks it (at least one: while it is asking, the
        server is used the moment it answers)."""
        return max(1, math.ceil(self._tries_at - time.monotonic()))

    def said(self) -> str:
        """Why a call is not sent to it, and when to try again."""
        at = time.strftime("%H:%M:%S", time.localtime(self.since))
        return (
            f"not answering: it did not answer {self.unanswered} at {at}; the gateway keeps "
            f"asking it and uses it again as soon as it answers (retry in "
            f"{self.retry_after_s()} s)"
        )

    def since_iso(self) -> str | None:
        if self.since is None:
            return None
        return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.since))


class SharedPing:
    """One ping in flight to a server at a time; every caller asking meanwhile gets the same
    outcome: True when it was answered within its window (or the connection broke under it:
    the server is being started again already), False when not."""

    def __init__(self, name: str, tasks: TaskSupervisor) -> None:
        self._name = name
        self._tasks = tasks
        self._pending: asyncio.Future[bool] | None = None
        self._session: Any = None

    def send(self, session: ClientSession | None, timeout_s: float) -> asyncio.Future[bool]:
        """The outcome of the ping in flight on `session`, or of a new one, decided within
        `timeout_s` of its sending; True at once with no session (the server is not running,
        and is being started again already)."""
        loop = asyncio.get_running_loop()
        if session is None:
            answered: asyncio.Future[bool] = loop.create_future()
            answered.set_result(True)
            return answered
        pending = self._pending
        if pending is not None and not pending.done() and self._session is session:
            return pending
        outcome: asyncio.Future[bool] = loop.create_future()
        self._pending, self._session = outcome, session
        # Decided at the window's end, not when the ping's task ends: the SDK, cancelling the
        # ping, tries for up to 5 s to tell the server so, and a hung one never takes it.
        timer = loop.call_later(timeout_s, _settle, outcome, False)
        self._tasks.spawn(
            self._sent(session, timeout_s, outcome, timer), name=f"mcp-ping-{self._name}"
        )
        return outcome

    async def _sent(
        self,
        session: ClientSession,
        timeout_s: float,
        outcome: asyncio.Future[bool],
        timer: asyncio.TimerHandle,
    ) -> None:
        answered = True
        try:
            async with asyncio.timeout(timeout_s):
                await session.send_ping()
        except TimeoutError:
            answered = False
        except Exception as exc:  # the connection broke: its owner task sees the end too
            log.debug("MCP server %s: the ping failed: %s", self._name, exc)
        timer.cancel()
        _settle(outcome, answered)


def _settle(outcome: asyncio.Future[bool], answered: bool) -> None:
    if not outcome.done():
        outcome.set_result(answered)
