"""The stdio relay's requests awaiting the gateway's answer, and how an editor's cancel or
departure ends them (`stdio_forward.py`).

Two ways a call through `llmgw-desktop mcp` ran its CLI on for nobody:
- a 2026-era editor cancels with `notifications/cancelled` on stdio; posted, the gateway's 2026
  entry acknowledges and drops it (that era cancels by closing the request's stream), so the
  job ran on. Such a cancel closes that request's POST instead, as the SDK's own HTTP client
  does; a 2025-era cancel is still posted (on that wire the notification is the signal).
- an editor that crashes closes the relay's pipes and stops nothing; the relay waited for the
  answers it could no longer deliver, the CLIs with them. Once its input closes the relay waits
  `INPUT_CLOSED_GRACE_S` and then gives up what is left: each POST closed, which the gateway
  takes for a cancel, and the editor told should it still read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from llmgw_desktop.transports.mcp import stdio_wire as wire

__all__ = ["INPUT_CLOSED_GRACE_S", "InFlight"]

log = logging.getLogger(__name__)

# How long the relay still waits for the answers due once the editor closed its input: enough
# for one that closed only its side to read them, never a CLI run on for an editor that is gone
# (one that quits stops the relay itself: the SDKs' stdio clients 2 s after closing its input).
INPUT_CLOSED_GRACE_S = 5.0


class InFlight:
    """The editor's requests awaiting the gateway's answer, by id: each one's relaying task,
    and whether it is of the 2026 era (cancelled by closing its POST, not by a notification)."""

    def __init__(self) -> None:
        self._tasks: dict[Any, tuple[asyncio.Task[None], bool]] = {}
        # Requests whose answer is handed to the editor's stdout, still being written (a
        # reader slower than the answer is long): answered, never failed after it.
        self._answered: set[Any] = set()

    def note(self, message: dict[str, Any], task: asyncio.Task[None]) -> None:
        """Keep `task` as the one relaying `message`, while it runs, if it is a request."""
        request_id = message.get("id")
        if "method" not in message or not isinstance(request_id, str | int):
            return
        self._tasks[request_id] = (task, wire.modern_version(message) is not None)

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(request_id, (None, False))[0] is done:
                del self._tasks[request_id]
                self._answered.discard(request_id)

        task.add_done_callback(forget)

    def answered(self, request_id: Any) -> None:
        """The answer to `request_id` is being written: it is not failed after the grace."""
        if request_id in self._tasks:
            self._answered.add(request_id)

    def cancels_modern(self, message: dict[str, Any]) -> bool:
        """Whether `message` is the editor's cancel of a 2026-era request in flight, done here
        by closing that request's POST (then it is not posted)."""
        if message.get("method") != "notifications/cancelled" or "id" in message:
            return False
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        if not isinstance(request_id, str | int):
            return False
        task, modern = self._tasks.get(request_id, (None, False))
        if task is None or not modern:
            return False
        task.cancel()  # its POST closes: the gateway cancels the call; it gets no answer
        return True

    async def give_up_after_grace(self, fail: Callable[[Any, str], Awaitable[None]]) -> None:
        """The editor closed its input: the answers due are waited for `INPUT_CLOSED_GRACE_S`,
        then given up, each with its POST closed (the gateway cancels it) and `fail` told."""
        waiting = {request_id: task for request_id, (task, _) in self._tasks.items()}
        if not waiting:
            return
        await asyncio.wait(waiting.values(), timeout=INPUT_CLOSED_GRACE_S)
        for request_id, task in waiting.items():
            if task.done():
                continue
            task.cancel()
            if request_id in self._answered:
                # Its answer waits in the writer for a slow reader: it goes when read (the
                # stdout writer is flushed as the relay ends), with no second answer after it.
                continue
            log.info(
                "the editor closed its input; request %r given up, the gateway cancels it",
                request_id,
            )
            await fail(request_id, "the editor closed its input before the answer: cancelled")
