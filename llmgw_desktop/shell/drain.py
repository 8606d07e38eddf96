"""A headless gateway's answer to SIGTERM with `http.drain_s` set: stop taking work, let what
is in flight finish, then stop as a quit does. A rolling restart then drops nothing.

1. Not ready at once: `/health/ready` answers 503, `/health` says `draining`, systemd hears
   `STOPPING=1` (`shell/headless.py`).
2. No new connection: the listening sockets close, so a balancer or a client's retry goes to
   another gateway. A connection a client completed first is served, never reset: on Linux the
   sockets stop beginning handshakes, those begun complete (10 ms), and the connections
   waiting in the backlog are taken before the close (`HttpFrontDoor.stop_accepting`). Idle
   keep-alive connections close, and a request still arriving on an open one is answered,
   then its connection closes (`ConnectionGuard`).
3. Wait until no request is being answered and no job is queued or running, for at most
   `http.drain_s`, or until a second signal. A client's MCP event stream or ACP socket is not
   waited for: it is a channel, not an answer, and its client opens it again elsewhere.
4. Then the stop (`GatewayRuntime.stop`): whatever still runs ends as a quit ends it, jobs
   `interrupted` and their recorder rows closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time

from llmgw_desktop.shell.runtime import GatewayRuntime

__all__ = ["drain"]

log = logging.getLogger(__name__)

# How often the drain looks whether the work in flight has ended.
DRAIN_POLL_S = 0.05
# How often a long drain says what it still waits for.
PROGRESS_EVERY_S = 5.0


async def drain(runtime: GatewayRuntime, grace_s: float, cut_short: asyncio.Event) -> bool:
    """Stop taking work and wait for what is in flight, at most `grace_s` or until
    `cut_short` is set; True when nothing was left running."""
    runtime.engine.begin_drain()
    await runtime.http.stop_accepting()
    runtime.connections.begin_drain()

    def in_flight() -> tuple[int, int]:
        return runtime.connections.in_flight(runtime.is_channel), runtime.engine.live_jobs

    began = time.monotonic()
    said = began - PROGRESS_EVERY_S
    while any(counts := in_flight()):
        waited = time.monotonic() - began
        if cut_short.is_set() or waited >= grace_s:
            why = "asked again to stop" if cut_short.is_set() else f"after {grace_s:g} s"
            _say(f"drain ended {why}: {_counted(*counts)} still in flight are ended")
            return False
        if time.monotonic() - said >= PROGRESS_EVERY_S:
            said = time.monotonic()
            _say(
                f"draining: {_counted(*counts)} in flight, waiting up to "
                f"{grace_s - waited:.0f} s more (a second signal stops at once)"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cut_short.wait(), DRAIN_POLL_S)
    _say(f"drained in {time.monotonic() - began:.1f} s: nothing is in flight")
    return True


def _counted(requests: int, jobs: int) -> str:
    return (
        f"{requests} request{'' if requests == 1 else 's'} and {jobs} job{'' if jobs == 1 else 's'}"
    )


def _say(line: str) -> None:
    """On the console, where a person or the service manager's journal sees it, and in the
    log."""
    print(f"llmgw-desktop: {line}", file=sys.stderr, flush=True)
    log.info("%s", line)
