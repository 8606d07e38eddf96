"""The connections to one upstream origin: idle ones to reuse, a cap, and a line to wait in.

Each origin (scheme, host, port) has one `HostPool`. Its route (direct, or which proxy and how)
is decided when it is made, from rules read once, so a request to a known origin pays one dict
lookup for all of it. `open` counts connections being made, busy and idle; it never exceeds the
cap. A request finding every slot busy waits for a connection to come back or close, at most
until its deadline (the connect timeout), then gets `PoolTimeout`.

A request may also name its owner (a principal held to a fair share, `engine/shares.py`): an
owner's requests in flight to the origin, waiting for a slot or holding a connection, are
counted, and one beyond the owner's share waits in the owner's own line (its own requests
ending hand it their place) rather than taking a slot another principal needs, at most until
the same deadline, then gets `ShareTimeout`. So one principal cannot hold the whole cap while
others time out.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Generic, Protocol, TypeVar

from llmgw_desktop.engine.gateway.http_client.proxies import Proxy

__all__ = ["HostPool", "PoolTimeout", "ShareTimeout"]


class PoolTimeout(TimeoutError):
    """Every connection the per-host cap allows stayed busy for the whole connect timeout."""


class ShareTimeout(PoolTimeout):
    """The owner's share of the origin's connections stayed in use for the whole connect
    timeout (its own requests; others' still get theirs)."""


class Pooled(Protocol):
    """What the pool needs of a connection."""

    closed: bool
    idle_since: float

    def is_usable(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Pooled)


class HostPool(Generic[C]):
    """One origin's connections and its route (see the module docstring)."""

    __slots__ = (
        "absolute_prefix",
        "held",
        "idle",
        "key",
        "open",
        "proxy",
        "proxy_lines",
        "share_waiters",
        "waiters",
    )

    def __init__(self, key: tuple[str, str, int], proxy: Proxy | None) -> None:
        self.key = key
        self.proxy = proxy
        self.idle: collections.deque[C] = collections.deque()
        self.open = 0
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        # Requests in flight per owner held to a share, and each full owner's line.
        self.held: dict[str, int] = {}
        self.share_waiters: dict[str, collections.deque[asyncio.Future[None]]] = {}
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

    # -- fair shares ---------------------------------------------------------------------

    def claim(self, owner: str, share: int) -> bool:
        """Count a request of `owner` if it is under its `share`; False if it must wait
        (`wait_for_share`)."""
        held = self.held.get(owner, 0)
        if held >= share:
            return False
        self.held[owner] = held + 1
        return True

    def unclaim(self, owner: str) -> None:
        """A request of `owner` ended: its place goes to the owner's next waiter, if any."""
        line = self.share_waiters.get(owner)
        while line:
            waiter = line.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place passes on; the count stays
                return
        if line is not None:
            del self.share_waiters[owner]
        held = self.held[owner] - 1
        if held:
            self.held[owner] = held
        else:
            del self.held[owner]

    async def wait_for_share(self, owner: str, share: int, deadline: float) -> None:
        """Wait in `owner`'s line until one of its requests ends and hands over its place.

        Raises:
            ShareTimeout: none ended by `deadline` (a loop time).
        """
        waiter = asyncio.get_running_loop().create_future()
        line = self.share_waiters.setdefault(owner, collections.deque())
        line.append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed a place as we left: pass it on (or give it back).
                self.unclaim(owner)
            else:
                if waiter in line:
                    line.remove(waiter)
                if not line and self.share_waiters.get(owner) is line:
                    del self.share_waiters[owner]
            if isinstance(exc, TimeoutError):
                scheme, host, port = self.key
                raise ShareTimeout(
                    f"{owner} already holds its share of the connections to "
                    f"{scheme}://{host}:{port} ({share}) and none of its calls ended within "
                    "the connect timeout"
                ) from None
            raise
