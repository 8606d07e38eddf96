"""The desk's playground: one chat sent through the gateway as the local user, streamed.

The request takes the path every client's does (`GatewayService.chat`, OpenAI chat dialect,
routes, keys, translation, the CLI bridge, the recorder), so what the person sees here is what a
tool would get. The figures shown afterwards (tokens, cache, cost, duration) are read back from
the request's recorder row, not counted again. "Compare with…" sends the same messages to a
second model with `replay_of` naming the first row, which its route keeps as `replayOf`.
`embed` tries an embedding the same way (`GatewayService.embed`): its reply says the vector's
size and first values, and the row's tokens and cost. A send can be stopped while it streams
(the desk's Stop): its stream is closed as a client's that hangs up, so its row reads canceled
(`client_disconnected`), and the reply keeps what came before.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_CHAT
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.recorder.query import RecorderQuery

__all__ = ["PLAYGROUND_CALLER", "STOPPED_CODE", "Playground", "PlaygroundReply"]

# How the playground's requests are recorded (the recorder's caller column).
PLAYGROUND_CALLER = "playground"
ENDPOINT = "/v1/chat/completions"
# The first values of an embedding the playground shows (a vector has hundreds or thousands).
EMBEDDING_VALUES_SHOWN = 8
# A reply stopped at the desk: its words, and its code (the row's, as a client hanging up).
STOPPED = "stopped at the desk"
STOPPED_CODE = "client_disconnected"


@dataclass(frozen=True)
class PlaygroundReply:
    """One answer as the playground shows it: the text, and the row the recorder keeps."""

    model: str
    text: str
    record_id: str | None
    error: str | None = None
    error_code: str | None = None
    # Read back from the recorder row (None: the row could not be read).
    record: dict[str, Any] | None = None
    # The whole exchange as the desk waited for it (routing included); the row's own times,
    # its duration and first token, are the provider's (`record`).
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stopped(self) -> bool:
        """Stopped at the desk (`Playground.send`'s `stop`): what came before it is kept."""
        return self.error == STOPPED


class Playground:
    """Sends the desk's chats through the gateway and reads their recorder rows back."""

    def __init__(
        self,
        gateway: GatewayService,
        query: RecorderQuery,
        *,
        offered: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
    ) -> None:
        """`offered`: the models `GET /v1/models` offers (`ProvidersService.models`: less a
        provider whose key was refused or whose CLI is logged out); the gateway's whole list
        where not given."""
        self._gateway = gateway
        self._query = query
        self._offered = offered

    async def models(self) -> list[dict[str, Any]]:
        """What the gateway offers now, as `GET /v1/models` lists it (API providers, local
        servers, CLI bridges, aliases): the desk offers no model the door would not."""
        if self._offered is not None:
            return await self._offered()
        return await self._gateway.directory.models()

    async def send(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        *,
        on_text: Callable[[str], None] | None = None,
        replay_of: str | None = None,
        stop: asyncio.Event | None = None,
    ) -> PlaygroundReply:
        """Stream one chat to `model`; `on_text` hears each piece of the answer as it comes.
        Setting `stop` ends it where it is (the stream closed, as a client that hangs up
        closes it: its row reads canceled, `client_disconnected`), with what came so far.
        Never raises for a refusal, a failure or a stop: the reply says what happened."""
        opened: list[str] = []
        caller = CallerInfo(
            principal=LOCAL,
            caller=PLAYGROUND_CALLER,
            endpoint=ENDPOINT,
            transport="desktop",
            replay_of=replay_of,
            opened_rows=opened,
        )
        body = {
            "model": model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        started = time.perf_counter()
        progress = _Progress()
        answering = self._answer(body, caller, on_text, progress)
        if stop is None:
            await answering
        elif await _stopped(answering, stop):
            progress.error, progress.code = STOPPED, STOPPED_CODE
            # Stopped before the answer began: its row, if the request got as far as one.
            progress.record_id = progress.record_id or (opened[-1] if opened else None)
        return await self._finished(
            model,
            "".join(progress.pieces),
            progress.record_id,
            error=progress.error,
            error_code=progress.code,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def _answer(
        self,
        body: dict[str, Any],
        caller: CallerInfo,
        on_text: Callable[[str], None] | None,
        progress: _Progress,
    ) -> None:
        """Ask, and read the answer into `progress` as it streams."""
        try:
            answer = await self._gateway.chat(DIALECT_OPENAI_CHAT, body, caller, stream=True)
        except EngineError as exc:
            record_id = exc.details.get("requestId")
            progress.record_id = record_id if isinstance(record_id, str) else None
            progress.error, progress.code = str(exc), str(exc.code)
            return
        progress.record_id = answer.route.request_id
        if isinstance(answer, Completed):  # not asked for, but a whole answer is an answer
            progress.pieces.append(_whole_text(answer.json()))
            return
        parser = SseParser()
        # Closed however the reading ends: `on_text` raising (its pane gone) left the
        # chunks unclosed, their budget hold held for as long as the gateway ran.
        async with contextlib.aclosing(answer.chunks):  # type: ignore[type-var]
            async for chunk in answer.chunks:
                for _event, data in parser.feed(chunk):
                    text, failure = _piece(data)
                    if failure is not None:
                        progress.error, progress.code = failure
                    if text:
                        progress.pieces.append(text)
                        if on_text is not None:
                            on_text(text)

    async def embed(self, model: str, text: str) -> PlaygroundReply:
        """Embed `text` with `model` as the local user, recorded as the playground's; the
        reply's text describes the vector (its size and first values). Never raises for a
        refusal or a failure: the reply says what went wrong."""
        started = time.perf_counter()
        try:
            answer = await self._gateway.embed(
                [text], model, LOCAL, caller=PLAYGROUND_CALLER, transport="desktop"
            )
        except EngineError as exc:
            record_id = exc.details.get("requestId")
            return await self._finished(
                model,
                "",
                record_id if isinstance(record_id, str) else None,
                error=str(exc),
                error_code=str(exc.code),
            )
        (vector,) = answer.vectors
        shown = ", ".join(f"{value:.4f}" for value in vector[:EMBEDDING_VALUES_SHOWN])
        more = ", …" if len(vector) > EMBEDDING_VALUES_SHOWN else ""
        return await self._finished(
            model,
            f"{len(vector)} dimensions: [{shown}{more}]",
            answer.route.request_id,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def _finished(
        self,
        model: str,
        text: str,
        record_id: str | None,
        **fields: Any,
    ) -> PlaygroundReply:
        record = None
        if record_id:
            detail = await self._query.detail(record_id)
            record = None if detail is None else detail.record
        return PlaygroundReply(model, text, record_id, record=record, **fields)


@dataclass
class _Progress:
    """What one answer has given so far: its row, its text, and what went wrong."""

    record_id: str | None = None
    pieces: list[str] = field(default_factory=list)
    error: str | None = None
    code: str | None = None


async def _stopped(answering: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run `answering` until it ends or `stop` is set (then it is cancelled where it is, its
    stream closed); whether it was stopped. Its own failure is raised as it is."""
    try:
        async with asyncio.TaskGroup() as group:
            reading = group.create_task(answering, name="playground answer")
            stopping = group.create_task(_cancel_on(stop, reading), name="playground stop")
            reading.add_done_callback(lambda _done: stopping.cancel())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # one task can fail: the answer's reading
    return reading.cancelled()


async def _cancel_on(stop: asyncio.Event, reading: asyncio.Task[None]) -> None:
    """Cancel `reading` once `stop` is set (this task is cancelled when it ends first)."""
    await stop.wait()
    reading.cancel()


def _piece(data: str) -> tuple[str, tuple[str, str] | None]:
    """The answer text one stream event adds, and the error it reports (message, code)."""
    if data.strip() == "[DONE]":
        return "", None
    try:
        event = jsonio.loads(data)
    except ValueError:
        return "", None
    if not isinstance(event, dict):
        return "", None
    if isinstance(event.get("error"), dict):
        failure = event["error"]
        return "", (str(failure.get("message") or "the stream failed"), str(failure.get("code")))
    text = ""
    for choice in event.get("choices") or []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            text += delta["content"]
    return text, None


def _whole_text(answer: dict[str, Any]) -> str:
    parts = []
    for choice in answer.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            parts.append(message["content"])
    return "".join(parts)
