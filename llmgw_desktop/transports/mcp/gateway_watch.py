"""Whether the gateway still shows signs of life while the stdio relay waits on it.

A gateway that is stopped (SIGSTOP, a debugger, a laptop's frozen process) or hung looks, on
the relay's connection, like one running a long tool call: its kernel still accepts
connections and keeps them open, and nothing comes back. Without a bound of its own the relay
waited for ever, and so did the editor, with no word. A deadline on the call itself would cut
legitimate long calls; so the relay asks something else: while any request waits, the
gateway's /health is asked on a connection of its own every `probe_every_s`, and each answer
(of any status: something answered) moves every waiting request's deadline to `silence_s`
past it. A request that reaches its deadline, the gateway silent for that long since the last
answer or since the request began, ends with `GatewaySilent`; the relay answers it with an
error and carries on, and a later request goes through as soon as the gateway answers again.

No probe is sent before a request has waited an interval, nor while nothing waits: an idle
editor, and one whose calls are answered at once, cost the gateway nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["GatewaySilent", "GatewayWatch", "probe_every"]

# How often the gateway is asked while requests wait: a quarter of the silence bound, so a
# gateway slow for a moment has several chances to answer, and at most every 2 s.
PROBES_PER_SILENCE = 4
PROBE_EVERY_MAX_S = 2.0


class GatewaySilent(Exception):
    """The gateway showed no sign of life for the whole silence bound while a request waited."""


def probe_every(silence_s: float) -> float:
    """The interval between probes for a silence bound of `silence_s`."""
    return min(PROBE_EVERY_MAX_S, silence_s / PROBES_PER_SILENCE)


class GatewayWatch:
    """Bounds each wait on the gateway by its silence (see the module docstring)."""

    def __init__(self, probe: Callable[[], Awaitable[object]], silence_s: float) -> None:
        """`probe`: ask the gateway whether it is alive; returning at all is a sign of life (it
        raises, or never returns, otherwise)."""
        self.silence_s = silence_s
        self._probe = probe
        self._every_s = probe_every(silence_s)
        self._deadlines: set[asyncio.Timeout] = set()
        self._wanted = asyncio.Event()  # requests wait: probe
        self._alive_at = float("-inf")
        self.probes = 0  # probes answered so far (tests read it)

    @contextlib.asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        """Run the block (a wait on the gateway) until it ends or the gateway has been silent
        for `silence_s` since the block began and since its last answer; the block is then
        cancelled.

        Raises:
            GatewaySilent: the gateway was silent that long.
        """
        now = asyncio.get_running_loop().time()
        deadline = asyncio.timeout_at(max(now, self._alive_at) + self.silence_s)
        try:
            async with deadline:
                self._deadlines.add(deadline)
                self._wanted.set()
                try:
                    yield
                finally:
                    self._deadlines.discard(deadline)
                    if not self._deadlines:
                        self._wanted.clear()
        except TimeoutError:
            if deadline.expired():
                raise GatewaySilent(f"no answer for {self.silence_s:g} s") from None
            raise  # the block's own timeout (connecting, say)

    async def run(self) -> None:
        """Probe the gateway while requests wait; run as a task of the relay until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wanted.wait()
            # A request answered within an interval (nearly all are) costs the gateway no probe.
            await asyncio.sleep(self._every_s)
            if not self._wanted.is_set():
                continue
            # A probe the gateway never answers is given up once it would be no news: by then
            # the requests that waited when it was sent have reached their deadlines.
            with contextlib.suppress(OSError, ValueError, TimeoutError):
                async with asyncio.timeout(self.silence_s):
                    await self._probe()
                self.probes += 1
                self._answered(loop.time())

    def _answered(self, at: float) -> None:
        self._alive_at = at
        for deadline in self._deadlines:
            if not deadline.expired():
                deadline.reschedule(max(deadline.when() or at, at + self.silence_s))
