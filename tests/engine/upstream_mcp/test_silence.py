"""`silence.py` on a fake session: one ping in flight per server, its outcome shared and
decided at its window's end; what a server known not to answer is said to be."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.upstream_mcp.silence import SharedPing, Silence

WINDOW_S = 0.2
# A bound for a wait that is over in a window or two.
WAIT_S = 5.0


class FakeSession:
    """Counts pings; answers them when `answering` is set, else holds each, and (as the SDK
    does, telling a hung server of the cancellation) goes on holding it after being cancelled
    until `released` is set."""

    def __init__(self, answering: bool) -> None:
        self.pings = 0
        self.answering = answering
        self.released = asyncio.Event()

    async def send_ping(self) -> None:
        self.pings += 1
        if self.answering:
            return
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.released.wait()
            raise


async def test_pings_sent_meanwhile_share_the_one_in_flight_and_its_outcome() -> None:
    tasks = TaskSupervisor()
    session = FakeSession(answering=False)
    ping = SharedPing("hung", tasks)
    began = time.monotonic()
    outcomes = [ping.send(cast(Any, session), WINDOW_S) for _ in range(8)]
    answered = await asyncio.wait_for(asyncio.gather(*outcomes), WAIT_S)
    assert answered == [False] * 8
    assert session.pings == 1
    # Decided at the window's end, though the ping's task is still telling the server.
    assert time.monotonic() - began < WINDOW_S + 1.0
    session.released.set()
    await tasks.shutdown()


async def test_a_ping_after_the_last_one_ended_is_sent_again() -> None:
    tasks = TaskSupervisor()
    session = FakeSession(answering=True)
    ping = SharedPing("fine", tasks)
    assert await asyncio.wait_for(ping.send(cast(Any, session), WINDOW_S), WAIT_S)
    assert await asyncio.wait_for(ping.send(cast(Any, session), WINDOW_S), WAIT_S)
    assert session.pings == 2
    # No session (not running): answered at once, nothing sent.
    assert await asyncio.wait_for(ping.send(None, WINDOW_S), WAIT_S)
    assert session.pings == 2
    await tasks.shutdown()


def test_a_silence_says_since_when_and_when_to_retry_until_it_ends() -> None:
    silence = Silence()
    assert not silence.known and silence.since_iso() is None
    silence.found("its last ping", 2.5)
    first = silence.since
    assert silence.known and silence.retry_after_s() == 3
    said = silence.said()
    assert said.startswith("not answering: it did not answer its last ping at ")
    assert "(retry in 3 s)" in said
    # Found again while known: the first time stays; asking under way: retry in a second.
    silence.found("its last ping", 0.0)
    assert silence.since == first and silence.retry_after_s() == 1
    silence.ended()
    assert not silence.known
