"""A loopback server that answers with recorded bytes: a cloud's real answers, replayed.

Each request takes the next `Canned` answer (status, headers, and the body whole or in chunks,
so a stream arrives as it did); what came in is kept in `requests`, with every header as sent
(the tests that use it check signatures and tokens, so nothing is redacted here: only test
credentials ever reach it).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.loopback import LoopbackApp


@dataclass(frozen=True)
class Canned:
    """One recorded answer: its body whole (`bytes`) or as the chunks it arrived in."""

    body: bytes | Sequence[bytes]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


@dataclass(frozen=True)
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    url: str


class ReplayUpstream(LoopbackApp):
    """`async with ReplayUpstream(Canned(...), ...) as up:`, then point a provider at up.url.

    `check(seen)` may refuse a request before it is answered: its message becomes a 403 (how
    the Bedrock fake refuses a signature botocore does not verify).
    """

    client_max_size = 64 * 1024 * 1024

    def __init__(self, *answers: Canned, check: Callable[[Seen], str | None] | None = None) -> None:
        self.answers: deque[Canned] = deque(answers)
        self.requests: list[Seen] = []
        self.check = check

    def add(self, *answers: Canned) -> None:
        self.answers.extend(answers)

    @property
    def url(self) -> str:
        return self.base_url

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._answer)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(
            method=request.method,
            path=request.path,
            raw_path=request.raw_path.split("?", 1)[0],
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.read(),
            url=str(request.url),
        )
        self.requests.append(seen)
        refusal = self.check(seen) if self.check is not None else None
        if refusal is not None:
            return web.json_response({"message": refusal}, status=403)
        if not self.answers:
            return web.json_response({"message": "replay: nothing more to answer"}, status=500)
        canned = self.answers.popleft()
        if isinstance(canned.body, bytes):
            return web.Response(body=canned.body, status=canned.status, headers=canned.headers)
        response = web.StreamResponse(status=canned.status, headers=canned.headers)
        await response.prepare(request)
        for chunk in canned.body:
            await response.write(chunk)
            await asyncio.sleep(0)  # each chunk its own write, as the cloud sent it
        await response.write_eof()
        return response
