"""A test's asyncio server run on a loop and thread of its own, for tests whose own thread
blocks (the proxies in `_reset_proxy.py` and `_counting_proxy.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol, TypeVar

__all__ = ["served_in_a_thread"]


class Serves(Protocol):
    async def serve(self, started: threading.Event, stop: asyncio.Event) -> None: ...


S = TypeVar("S", bound=Serves)


@contextlib.contextmanager
def served_in_a_thread(server: S) -> Iterator[S]:
    """`server.serve(started, stop)` on a thread of its own until the block ends."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    def run() -> None:
        loop.run_until_complete(server.serve(started, stop))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the server did not start"
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
