"""Handing a gateway request's bodies to the recorder when the person asked to keep them.

`GatewayService.chat` calls `answered` with each answer and `refused` with each refusal; when
`recorder.capture` names the request's provider, agent or project, the request's body goes to
`BodyCapture` with the answer: a whole answer's bytes as the client got them, a stream's events
as they were sent (the tee keeps at most the capture's size, however long the stream runs). The
client's credentials are never among the headers kept: only those the gateway may relay
upstream (`forwardable_headers`, which leaves out every auth header) are, and redacted too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_GEMINI
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed, Streaming, close_chunks
from llmgw_desktop.engine.recorder.bodies import REDACT_MARGIN, BodyCapture

__all__ = ["GatewayCapture", "request_path"]


def request_path(front: str, endpoint: str, url_model: str | None, stream: bool) -> str:
    """The gateway URL path the request came to (what "Copy as curl" sends it to again)."""
    if front == DIALECT_GEMINI and endpoint.startswith("gemini:"):
        action = endpoint.partition(":")[2]
        query = "?alt=sse" if stream else ""
        return f"/v1beta/models/{url_model or 'MODEL'}:{action}{query}"
    return endpoint


class GatewayCapture:
    """The gateway's side of body capture: decides, then queues (or tees a stream)."""

    def __init__(self, bodies: BodyCapture | None) -> None:
        self._bodies = bodies

    def answered(
        self,
        front: str,
        body: dict[str, Any],
        raw: bytes | None,
        caller: CallerInfo,
        url_model: str | None,
        answer: Completed | Streaming,
    ) -> Completed | Streaming:
        """`answer`, its bodies queued (a stream's when it ends) if the policy keeps them."""
        bodies = self._bodies
        route = answer.route
        if bodies is None or not bodies.wants(_provider(route), caller.caller, caller.project):
            return answer
        keep = _Keeper(bodies, front, body, raw, caller, url_model, route)
        if isinstance(answer, Completed):
            keep(answer.payload().decode("utf-8", "replace"), stream=False)
            return answer
        limit = bodies.policy.max_chars + REDACT_MARGIN
        return answer.with_chunks(_Teed(answer.chunks, keep, limit))

    def refused(
        self,
        front: str,
        body: dict[str, Any],
        raw: bytes | None,
        caller: CallerInfo,
        url_model: str | None,
        route: RouteReport,
        error: EngineError,
    ) -> None:
        """Queue a refused request's body with the refusal, if the policy keeps it."""
        bodies = self._bodies
        if bodies is None or not route.request_id:
            return
        if not bodies.wants(_provider(route), caller.caller, caller.project):
            return
        refusal = {"error": {"code": str(error.code), "message": str(error)}}
        keep = _Keeper(bodies, front, body, raw, caller, url_model, route)
        keep(jsonio.dumps_text(refusal), stream=False)


class _Keeper:
    """One request's bodies, queued when its answer is known."""

    def __init__(
        self,
        bodies: BodyCapture,
        front: str,
        body: dict[str, Any],
        raw: bytes | None,
        caller: CallerInfo,
        url_model: str | None,
        route: RouteReport,
    ) -> None:
        self._bodies = bodies
        self._front = front
        # Cut now (what `keep` would cut anyway), so a long stream does not hold a second,
        # decoded copy of a large request until it ends; how much was cut goes with it.
        limit = bodies.policy.max_chars + REDACT_MARGIN
        text = raw.decode("utf-8", "replace") if raw is not None else jsonio.dumps_text(body)
        self._request, self._request_cut = text[:limit], max(0, len(text) - limit)
        self._caller = caller
        self._url_model = url_model
        self._route = route

    def __call__(self, response: str, *, stream: bool, response_cut: int = 0) -> None:
        self._bodies.keep(
            self._route.request_id,
            principal=self._caller.principal,
            dialect=self._front,
            endpoint=request_path(self._front, self._caller.endpoint, self._url_model, stream),
            stream=stream,
            headers=self._headers(),
            request=self._request,
            request_cut=self._request_cut,
            response=response,
            response_cut=response_cut,
        )

    def _headers(self) -> dict[str, str]:
        headers = dict(self._caller.passthrough_headers)
        if self._caller.project:
            headers["x-project"] = self._caller.project
        return headers


class _Teed:
    """A stream's chunks as they are, their first bytes (up to the capture's size) kept when
    they end or are closed. A class, not a generator: closed before its first chunk (the client
    left at once), a generator would neither close the chunks under it (whose close releases a
    budget hold) nor keep the bodies."""

    def __init__(self, chunks: AsyncIterator[bytes], keep: Callable[..., None], limit: int) -> None:
        self._chunks = chunks
        self._keep = keep
        self._limit = limit
        self._kept: list[bytes] = []
        self._size = 0
        self._more = 0
        self._done = False

    def __aiter__(self) -> _Teed:
        return self

    async def __anext__(self) -> bytes:
        try:
            piece = await self._chunks.__anext__()
        except BaseException:
            self._end()
            raise
        room = self._limit - self._size
        if room > 0:
            self._kept.append(piece[:room])
            self._size += min(room, len(piece))
        self._more += len(piece) - max(0, min(room, len(piece)))
        return piece

    async def aclose(self) -> None:
        try:
            await close_chunks(self._chunks)
        finally:
            self._end()

    def _end(self) -> None:
        if self._done:
            return
        self._done = True
        text = b"".join(self._kept).decode("utf-8", "replace")
        self._kept = []
        self._keep(text, stream=True, response_cut=self._more)


def _provider(route: RouteReport) -> str:
    """The provider a policy matches: who answered, else who was tried first or asked for."""
    if route.provider:
        return route.provider
    if route.attempts:
        return route.attempts[0].target.partition("/")[0]
    return route.requested_provider or ""
