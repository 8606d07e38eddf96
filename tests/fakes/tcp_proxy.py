"""A TCP proxy on loopback that cuts one client off from its server in the ways a network does.

Put between one gateway process and PostgreSQL, it makes a partition: that gateway loses the
store while its peers, connected directly, keep it. `set(fault)` switches what it does to every
connection, open or new:

- `PASS`: bytes flow both ways, as without the proxy.
- `RESET`: each open connection is reset (RST to the client, the server's side closed), and each
  new one is accepted and reset at once: "connection reset by peer".
- `REFUSE`: the open ones are reset and the port stops listening: "connection refused". Back to
  `PASS`, it listens on the same port again.
- `BLACKHOLE`: nothing passes either way and nothing is said: the bytes wait (the proxy stops
  reading, so the kernels' buffers hold them, as a route that drops packets makes TCP retransmit
  them), and a new connection is accepted but not carried on to the server. Back to `PASS`, what
  waited is delivered, in order, as the retransmissions would be.
- `SLOW`: every chunk is delivered `delay_s` late, each way, in order: a store that answers,
  too late.

The proxy runs its own event loop in a thread, so plain (sync) tests and async ones use it
alike; `set` returns once the fault is in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from tests.ports import free_port

__all__ = ["Fault", "FaultyProxy", "faulty_proxy"]

READ_CHUNK = 65536
APPLY_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0


class Fault(StrEnum):
    PASS = "pass"
    RESET = "reset"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"
    SLOW = "slow"


@dataclass(eq=False)  # each one its own: kept in a set
class _Link:
    """One client connection and, once made, its connection to the server."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        """RST to the client (linger 0, then close); the server's side closed plainly."""
        sock = self.client.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.client.transport.abort()
        if self.server is not None:
            self.server.transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultyProxy:
    """Listens on 127.0.0.1:`port` and carries each connection to `upstream_port`."""

    def __init__(self, upstream_port: int, *, delay_s: float = 0.5) -> None:
        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.port = free_port()  # listened on again after REFUSE: see tests/ports.py
        self.fault = Fault.PASS
        self.accepted = 0
        self.resets = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy")
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._flowing: asyncio.Event | None = None

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def set(self, fault: Fault) -> None:
        """Do `fault` to every connection from now on (see the module docstring)."""
        self._call(self._apply(fault))

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), CLOSE_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT_S)
        self._loop.close()

    def _call(self, coro: object, timeout_s: float = APPLY_TIMEOUT_S) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        future.result(timeout_s)

    # -- on the proxy's loop -------------------------------------------------------------------

    async def _listen(self) -> None:
        if self._flowing is None:
            self._flowing = asyncio.Event()
            self._flowing.set()
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def _apply(self, fault: Fault) -> None:
        assert self._flowing is not None
        self.fault = fault
        if fault in (Fault.RESET, Fault.REFUSE):
            for link in list(self._links):
                self.resets += 1
                link.reset()
            self._links.clear()
        if fault is Fault.REFUSE and self._server is not None:
            self._server.close()
            self._server = None
        elif fault is not Fault.REFUSE and self._server is None:
            await self._listen()
        if fault is Fault.BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.reset()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        self.accepted += 1
        link = _Link(writer)
        if self.fault is Fault.RESET:
            self.resets += 1
            link.reset()
            return
        self._links.add(link)
        # A black hole carries nothing on: the client's connect succeeded (the proxy's kernel
        # answered), its first bytes wait with the rest.
        await self._flowing.wait()
        if link not in self._links:  # reset while it waited
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self._links.discard(link)
            link.reset()
            return
        link.server = up_writer
        link.tasks = [
            asyncio.ensure_future(self._pump(reader, up_writer, link)),
            asyncio.ensure_future(self._pump(up_reader, writer, link)),
        ]

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link
    ) -> None:
        """Carry one direction: read while bytes may flow, hand each chunk on after the delay
        the fault asks for, in order."""
        assert self._flowing is not None
        loop = asyncio.get_running_loop()
        due: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def deliver() -> None:
            assert self._flowing is not None
            while (item := await due.get()) is not None:
                at, chunk = item
                await asyncio.sleep(max(0.0, at - loop.time()))
                await self._flowing.wait()
                sink.write(chunk)
                await sink.drain()
            sink.close()

        deliverer = asyncio.ensure_future(deliver())
        try:
            while True:
                await self._flowing.wait()
                chunk = await source.read(READ_CHUNK)
                if not chunk:
                    break
                delay = self.delay_s if self.fault is Fault.SLOW else 0.0
                due.put_nowait((loop.time() + delay, chunk))
            due.put_nowait(None)
            await deliverer
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            deliverer.cancel()
            if link in self._links:
                self._links.discard(link)
                link.client.transport.abort()
                if link.server is not None:
                    link.server.transport.abort()


@contextlib.contextmanager
def faulty_proxy(upstream_port: int, *, delay_s: float = 0.5) -> Iterator[FaultyProxy]:
    """A started proxy to `upstream_port` for the length of the block."""
    proxy = FaultyProxy(upstream_port, delay_s=delay_s)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
