"""A bound on what a user's MCP server over Streamable HTTP can make the gateway hold.

The SDK reads a JSON answer whole (`response.aread()`) and caps an event-stream answer per
event at 1 MiB. A stdio server's answer is capped at `stdio.LINE_LIMIT_BYTES` (64 MiB a line);
an HTTP server's JSON answer had no cap at all, and a legitimate result over 1 MiB sent as an
event failed. Both now have the stdio line's bound: the JSON body through a response hook on our
own httpx client (`capped_json`), the events through the SDK's own `max_sse_event_size`.

Past the bound the body stops being read and the SDK is given an `httpx2.StreamError`, which it
turns into a JSON-RPC error for the request that was waiting: the relay then answers
`upstream_server_error` naming the server, as for any answer it cannot use. A compressed JSON
answer is refused the same way (we ask for none): its size on the wire says nothing of what it
decodes to. Imported only when an HTTP server is configured (httpx2 is loaded with it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx2

__all__ = ["AnswerTooLarge", "capped_json"]


class AnswerTooLarge(httpx2.StreamError):
    """The server's answer is over the bound (or compressed); the message says which."""


class _CappedBody(httpx2.AsyncByteStream):
    def __init__(self, body: httpx2.AsyncByteStream, limit: int, compressed: str | None) -> None:
        self._body, self._limit, self._compressed = body, limit, compressed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._compressed:
            raise AnswerTooLarge(
                f"the server sent a compressed answer ({self._compressed}) though none was asked "
                "for; its size decoded cannot be known before reading it"
            )
        read = 0
        async for chunk in self._body:
            read += len(chunk)
            if read > self._limit:
                raise AnswerTooLarge(
                    f"the server's answer is over {self._limit // (1024 * 1024)} MiB "
                    "(the most the gateway reads of one answer)"
                )
            yield chunk

    async def aclose(self) -> None:
        await self._body.aclose()


def capped_json(limit: int) -> Callable[[httpx2.Response], Awaitable[None]]:
    """A response hook for an `httpx2.AsyncClient` bounding each JSON body at `limit` bytes."""

    async def hook(response: httpx2.Response) -> None:
        kind = response.headers.get("content-type", "").lower()
        if not kind.startswith("application/json") or not isinstance(
            response.stream, httpx2.AsyncByteStream
        ):
            return  # event streams: the SDK's per-event bound
        encoding = response.headers.get("content-encoding", "").strip().lower()
        compressed = encoding if encoding not in ("", "identity") else None
        response.stream = _CappedBody(response.stream, limit, compressed)

    return hook
