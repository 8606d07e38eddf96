"""A tiny load balancer on loopback, in front of the team's gateway processes.

It does what a team's nginx or haproxy would: each request goes to one backend, picked by a
policy, with its headers and body passed through and the answer streamed back as it comes
(an MCP tool call may answer as an event stream). Two policies:

  round_robin   backends in turn, per request: what a plain balancer does
  sticky        a request naming a session the balancer saw a backend open (its answer's
                `Mcp-Session-Id`) goes to that backend, anything else in turn: haproxy's
                `stick store-response res.hdr(mcp-session-id)` with `stick on
                req.hdr(mcp-session-id)`

It counts the requests each backend served, and keeps, per request, the backend and what the
request asked for (the JSON-RPC method and tool name), so a test can show which process
answered what.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.ports import free_port

__all__ = ["LoopbackBalancer", "Served", "balancer"]

SESSION_HEADER = "Mcp-Session-Id"
# Headers that describe one hop, not the message: each side sets its own.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
)
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=5)
# At close, how long requests still in flight may finish. A client's server-to-client event
# stream stays open upstream after the client left, until the backend next writes (its ping,
# every 15 s): at the end of a test nothing more is wanted from it.
SHUTDOWN_S = 0.5


@dataclass(frozen=True)
class Served:
    """One request as the balancer passed it on."""

    backend: int
    method: str  # the HTTP method
    rpc: str  # the JSON-RPC method ("" for GET/DELETE)
    tool: str  # the tool name of a tools/call, else ""
    status: int


@dataclass
class LoopbackBalancer:
    backends: list[str]  # base URLs, such as http://127.0.0.1:41234
    sticky: bool = False
    served: list[Served] = field(default_factory=list)
    port: int = 0
    _turn: int = 0
    _stuck: dict[str, int] = field(default_factory=dict)
    _http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def counts(self) -> Counter[int]:
        return Counter(s.backend for s in self.served)

    def _pick(self, request: web.Request) -> int:
        session = request.headers.get(SESSION_HEADER)
        if self.sticky and session in self._stuck:
            return self._stuck[session]
        index = self._turn % len(self.backends)
        self._turn += 1
        return index

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        index = self._pick(request)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._http.request(
            request.method,
            self.backends[index] + request.path_qs,
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as upstream:
            opened = upstream.headers.get(SESSION_HEADER)
            if opened:
                self._stuck.setdefault(opened, index)
            self.served.append(Served(index, request.method, *_asked(body), upstream.status))
            reply = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS},
            )
            await reply.prepare(request)
            async for chunk in upstream.content.iter_any():
                await reply.write(chunk)
            await reply.write_eof()
            return reply


def _asked(body: bytes) -> tuple[str, str]:
    """The JSON-RPC method of a request body, and its tool name for a tools/call."""
    with contextlib.suppress(ValueError):
        message: Any = json.loads(body)
        if isinstance(message, dict):
            params = message.get("params") or {}
            return str(message.get("method", "")), str(params.get("name", ""))
    return "", ""


@contextlib.asynccontextmanager
async def balancer(backends: list[str], *, sticky: bool = False) -> AsyncIterator[LoopbackBalancer]:
    """A running balancer in front of `backends`, on a free loopback port."""
    front = LoopbackBalancer(backends, sticky=sticky, port=free_port())
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", front.handle)
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_S)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", front.port)
    # The answers pass through as they are: no decompression on the way.
    async with aiohttp.ClientSession(timeout=UPSTREAM_TIMEOUT, auto_decompress=False) as http:
        front._http = http
        await site.start()
        try:
            yield front
        finally:
            await runner.cleanup()
