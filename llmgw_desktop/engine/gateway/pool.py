"""The connections to one upstream origin: idle ones to reuse, a cap, and a line to wait in.

Each origin (scheme, host, port) has one `HostPool`. Its route (direct, or which proxy and how)
is decided when it is made, from rules read once, so a request to a known origin pays one dict
lookup for all of it. `open` counts connections being made, busy and idle; it never exceeds the
cap. A request finding every slot busy waits for a connection to come back or close, at most
until its deadline (the connect timeout), then gets `PoolTimeout`.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Generic, Protocol, TypeVar

from llmgw_desktop.engine.gateway.proxies import Proxy

__all__ = ["HostPool", "PoolTimeout"]


class PoolTimeout(TimeoutError):
    """Every connection the per-host cap allows stayed busy for the whole connect timeout."""


class Pooled(Protocol):
    """What the pool needs of a connection."""

    closed: bool
    idle_since: float

    def is_usable(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Pooled)


class HostPool(Generic[C]):
    """One origin's connections and its route (see the module docstring)."""

    __slots__ = ("absolute_prefix", "idle", "key", "open", "proxy", "proxy_lines", "waiters")

    def __init__(self, key: tuple[str, str, int], proxy: Proxy | None) -> None:
        self.key = key
        self.proxy = proxy
        self.idle: collections.deque[C] = collections.deque()
        self.open = 0
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        scheme = key[0]
        # Plain http through a proxy: requests name the whole URL and carry the proxy login.
        # https goes through a tunnel, where requests look as if sent directly.
        via_proxy = proxy is not None and scheme != "https"
        self.absolute_prefix: str | None = f"{scheme}://" if via_proxy else None
        self.proxy_lines: list[str] = (
            [f"Proxy-Authorization: {proxy.authorization}"]
            if via_proxy and proxy is not None and proxy.authorization
            else []
        )

    def take_idle(self, keep_s: float) -> C | None:
        """The most recently used idle connection still fit to reuse (idle under `keep_s`);
        stale ones are closed."""
        idle = self.idle
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.is_usable() and now - connection.idle_since < keep_s:
                return connection
            connection.close()
        return None

    def wake_one(self) -> None:
        """Something changed (a connection came back or closed): the next waiter looks."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def wait_for_turn(
        self, *, cap: int, deadline: float, fresh: bool, keep_s: float
    ) -> C | None:
        """At the cap: an idle connection once one comes back (unless `fresh`), or None once a
        slot is free (the caller takes it before its next await).

        Raises:
            PoolTimeout: neither happened by `deadline` (a loop time).
        """
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                first = True
                while True:
                    waiter = loop.create_future()
                    # Woken, but a new request took the turn first: back to the head of the
                    # line, not its end.
                    (self.waiters.append if first else self.waiters.appendleft)(waiter)
                    first = False
                    try:
                        await waiter
                    except BaseException:
                        if waiter in self.waiters:
                            self.waiters.remove(waiter)
                        elif waiter.done() and not waiter.cancelled():
                            self.wake_one()  # woken as we left: the next one gets the turn
                        raise
                    if not fresh and (connection := self.take_idle(keep_s)) is not None:
                        return connection
                    if self.open < cap:
                        return None
        except TimeoutError:
            scheme, host, port = self.key
            raise PoolTimeout(
                f"all {cap} connections to {scheme}://{host}:{port} stayed busy until the "
                "connect timeout"
            ) from None
