"""An upstream's answer on its way to the client: read whole or streamed, relayed as the
upstream sent it (the client's own dialect) or translated from the upstream's dialect, its row
finished when it ends. A stream commits once its first frame has arrived (`Line.primed`, every
kind's commit point); a failure before that is an `UpstreamFailure` the route may fall back
from."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.gateway.api_targets import Line
from llmgw_desktop.engine.gateway.dialects.base import Dialect, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.by_name import frame_parser, upstream_dialect
from llmgw_desktop.engine.gateway.http_client.answer import UpstreamAnswer
from llmgw_desktop.engine.gateway.http_client.upstream import (
    malformed_answer,
)
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.ir import ChatRequest
from llmgw_desktop.engine.gateway.outgoing import Outgoing
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.gateway.records.server_tool_use import server_tools_of_answer
from llmgw_desktop.engine.gateway.relay import (
    RelayedStream,
    UpstreamStream,
    is_usage_only_chunk,
    relay_events,
)
from llmgw_desktop.engine.gateway.results import (
    OPENAI_DIALECTS,
    Completed,
    EndingChunks,
    Streaming,
)
from llmgw_desktop.engine.gateway.same_dialect.passthrough import (
    relayable_headers,
    splice_field,
)
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.gateway.same_dialect.taps import stream_tap
from llmgw_desktop.engine.gateway.split_secrets import split_masking
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN

__all__ = ["AnswerRelay", "Sent"]

# What a client whose whole answer was too large may do.
_TOO_LARGE = "ask for a streamed answer or raise the setting"


@dataclass(slots=True)
class Sent:
    """A chat as its attempt sent it: the client's request, what the upstream was sent (in the
    dialect `up_name`), the route and the attempt's line (its row, its commit point)."""

    incoming: ClientRequest
    outgoing: Outgoing
    up_name: str
    route: RouteReport
    line: Line

    @property
    def record(self) -> str:
        """The attempt's recorder row."""
        return self.line.record


class AnswerRelay:
    """Brings an upstream's answer to the client; one per gateway."""

    def __init__(
        self,
        *,
        telemetry: Telemetry,
        remote: RemotePassthrough,
        records: RequestRecords,
    ) -> None:
        self._telemetry = telemetry
        self._remote = remote  # records whose relayed Responses answer is whose
        self._records = records

    def answer(self, response: UpstreamAnswer, sent: Sent) -> Awaitable[Completed | Streaming]:
        """The upstream's answer brought back the way its request went: relayed when it went
        as the client sent it, else translated from the upstream's dialect; whole or streamed
        as asked. The chosen way's own coroutine, not one more awaiting it: every step the
        request's task takes passes each coroutine of its chain.

        Raises:
            UpstreamFailure: the answer failed before anything reached the client (fallback).
        """
        stream = sent.incoming.facts.stream
        if sent.outgoing.passthrough:
            if stream:
                return self.relay_stream(response, sent)
            return self.relay_whole(response, sent)
        if stream:
            return self.open_stream(response, sent)
        return self.complete(response, sent)

    # -- answers in the client's own dialect --------------------------------------------

    async def relay_whole(self, response: UpstreamAnswer, sent: Sent) -> Completed:
        """A whole answer in the client's own dialect, as the upstream sent it (`x_gateway` spliced
        in for OpenAI clients); its row finished.

        Raises:
            UpstreamFailure: the answer broke off, was too large or is not JSON (fallback).
        """
        incoming, outgoing, route, record = sent.incoming, sent.outgoing, sent.route, sent.record
        raw = await response.whole(advice=_TOO_LARGE)
        try:
            data = jsonio.loads(raw)
        except jsonio.JsonDecodeError as exc:
            raise malformed_answer(route.provider or "", exc) from None
        dialect = incoming.dialect
        usage = dialect.answer_usage(data)
        tools = server_tools_of_answer(incoming.name, data)
        if self._telemetry.enabled:
            self._telemetry.answered(record, dialect.finish_reasons(data))
        if outgoing.owner is not None and isinstance(data, dict):
            self._remote.owners.record(
                outgoing.owner,
                str(data.get("id") or ""),
                usage.total_input_tokens + usage.output_tokens,
            )
        bare = raw
        if incoming.name in OPENAI_DIALECTS and isinstance(data, dict):
            raw = splice_field(raw, "x_gateway", route.x_gateway(usage))
        sent.line.answered(usage, _written(raw), server_tools=tools)
        headers = relayable_headers(response.headers)
        # Positional, as the request path calls classes (`engine/values.py`).
        return Completed(None, route, usage, raw, headers, bare)

    async def relay_stream(self, response: UpstreamAnswer, sent: Sent) -> Streaming:
        """A stream in the client's own dialect, relayed frame by frame once its first frame has
        arrived; its row is finished when the chunks end.

        Raises:
            UpstreamFailure: the stream failed before its first frame (fallback).
        """
        incoming, outgoing, route, record = sent.incoming, sent.outgoing, sent.route, sent.record
        # Positional, as the `Streaming` below (`engine/values.py` says why).
        stream = RelayedStream(
            response,
            stream_tap(incoming.name),
            is_usage_only_chunk if outgoing.added_usage else None,
            split_masking(incoming.name, sent.line.addressed.scrubbed),
        )
        await sent.line.primed(stream)
        dialect = incoming.dialect
        outcome = stream.outcome

        def failed(exc: Exception) -> bytes:
            outcome.error = f"{type(exc).__name__}: {exc}"
            # The request the error frame is written for, made only for a stream that fails.
            stub = incoming.stub(route.model)
            return _stream_error(dialect, stub, None, outcome.error, sequence=stream.next_sequence)

        def ended() -> None:
            if outgoing.owner is not None and outcome.response_id:
                # What a call continuing it makes the vendor read again: this exchange,
                # or (no usage came) what it was held for.
                carried = outcome.usage.total_input_tokens + outcome.usage.output_tokens
                self._remote.owners.record(
                    outgoing.owner,
                    outcome.response_id,
                    carried
                    or (route.held_input or incoming.facts.estimated_tokens + route.carried_input)
                    + route.held_output,
                )
            sent.line.stream_ended(completed=outcome.completed, broke=outcome.error is not None)
            self._records.stream_ended(record, route, outcome, sent.line.wire)

        async def closed_unread() -> None:
            stream.close()
            ended()

        headers = relayable_headers(response.headers)
        return Streaming(
            route,
            EndingChunks(stream.chunks(failed=failed, ended=ended), closed_unread),
            headers,
            stream.outcome,
        )

    # -- answers translated from another dialect ----------------------------------------
    async def complete(self, response: UpstreamAnswer, sent: Sent) -> Completed:
        """A whole answer translated from the upstream's dialect into the client's; its row
        finished.

        Raises:
            UpstreamFailure: the answer broke off, was too large or did not parse (fallback).
        """
        incoming, outgoing, route, record = sent.incoming, sent.outgoing, sent.route, sent.record
        raw = await response.whole(advice=_TOO_LARGE)
        try:
            answer = upstream_dialect(sent.up_name).parse_response(jsonio.loads(raw))
        except (jsonio.JsonDecodeError, UpstreamMalformed) as exc:
            raise malformed_answer(route.provider or "", exc) from None
        if not answer.model:
            # Converse names the model in the URL only: the answer is the route's model's.
            answer = dataclasses.replace(answer, model=route.model)
        self._telemetry.answered(record, [answer.stop_reason])
        out = incoming.dialect.render_response(answer, outgoing.request)
        if incoming.name in OPENAI_DIALECTS:
            out["x_gateway"] = route.x_gateway(answer.usage)
        sent.line.answered(answer.usage, _written(raw))
        return Completed(out, route, answer.usage)

    async def open_stream(self, response: UpstreamAnswer, sent: Sent) -> Streaming:
        """A stream translated event by event from the upstream's dialect into the client's,
        once its first frame has arrived; its row is finished when the chunks end.

        Raises:
            UpstreamFailure: the stream failed before its first frame (fallback).
        """
        incoming, outgoing, route, record = sent.incoming, sent.outgoing, sent.route, sent.record
        stream = UpstreamStream(
            response,
            upstream_dialect(sent.up_name).stream_decoder(),
            parser=frame_parser(sent.up_name, response.max_event_bytes),
        )
        await sent.line.primed(stream)
        dialect = incoming.dialect
        request = outgoing.request or incoming.stub(route.model)
        encoder = dialect.stream_encoder(request)
        split = split_masking(incoming.name, sent.line.addressed.scrubbed)

        async def chunks() -> AsyncIterator[bytes]:
            outcome = stream.outcome
            try:
                async for piece in relay_events(stream.frames(), encoder, split):
                    yield piece
            except (OSError, TimeoutError, UpstreamMalformed, EngineError) as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
                held = b"" if split is None else split.close()
                yield held + _stream_error(dialect, request, encoder, outcome.error)
            except GeneratorExit:
                # Closed with a chunk not taken: the upstream's end was read (and decoded)
                # before the client had it, which is not the client's answer complete.
                outcome.completed = False
                raise
            finally:
                ended()

        async def ended_unread() -> None:
            stream.outcome.completed = False  # closed before the client took anything
            ended()

        def ended() -> None:
            stream.close()
            outcome = stream.outcome
            sent.line.stream_ended(completed=outcome.completed, broke=outcome.error is not None)
            self._records.stream_ended(record, route, outcome, sent.line.wire)

        return Streaming(route, EndingChunks(chunks(), ended_unread), outcome=stream.outcome)


def _written(raw: bytes) -> int:
    """A whole answer's output where the vendor reported none: its size at about four bytes a
    token."""
    tokens = len(raw) // CHARS_PER_TOKEN
    return tokens if tokens > 1 else 1  # not max(): `engine/values.py`


def _stream_error(
    dialect: Dialect, request: ChatRequest, encoder: Any, message: str, *, sequence: int = 0
) -> bytes:
    """The error event closing a broken stream; a relayed stream's numbering (`sequence`,
    the number its next event would carry) is continued, not restarted."""
    writer = encoder
    if writer is None:
        writer = dialect.stream_encoder(request)
        writer.continue_at(sequence)
    return bytes(
        writer.error(502, ErrorCode.UPSTREAM_STREAM_BROKEN, f"the upstream stream broke: {message}")
    )
