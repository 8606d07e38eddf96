"""The text completion kind of call to an API target: a budget hold of its input and output
limit (the limit sent when a hard budget covers it), and its wire (`_CompletionWire`): the body
its provider's API takes, and the answer read whole or piece by piece. A whole answer's row
ends with it; a stream's when its pieces end: completed at the upstream's last event, and cut
the moment its client leaves, the upstream's connection closed at once so it stops writing
(autocomplete abandons most of what it asks). The gates, keys, attempts and rows are the one
attempt loop's (`api_targets.py`). What is sent and said is never kept on this path: no body
capture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS, CallAsk
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.api_targets import ApiCall, ApiTargets, Line
from llmgw_desktop.engine.gateway.completions.request import FIM_OPENAI, FimRequest
from llmgw_desktop.engine.gateway.completions.wires import FimPiece, FimWire, fim_wire
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.dialects.by_name import addressed
from llmgw_desktop.engine.gateway.facts import ONE_ANSWER
from llmgw_desktop.engine.gateway.held_answers import held_until_ended
from llmgw_desktop.engine.gateway.http_client.answer import AnswerFrames, UpstreamAnswer
from llmgw_desktop.engine.gateway.http_client.upstream import (
    UpstreamFailure,
    UpstreamTarget,
    malformed_answer,
)
from llmgw_desktop.engine.gateway.keys import PoolKey
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.relay import first_frames
from llmgw_desktop.engine.gateway.results import CallerInfo, EndingChunks
from llmgw_desktop.engine.gateway.router import Plan, Target
from llmgw_desktop.engine.gateway.split_secrets import masked_pieces
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["Completion", "CompletionTargets"]


@dataclass(frozen=True)
class Completion:
    """A completion's answer: whole (`piece`), or a stream of pieces (`pieces`)."""

    route: RouteReport
    request: FimRequest
    piece: FimPiece | None = None
    pieces: AsyncIterator[FimPiece] | None = None


class CompletionTargets:
    """Asks API targets for text completions; one per gateway."""

    def __init__(self, *, api: ApiTargets, prices: PriceBook) -> None:
        self._api = api  # the one attempt loop: gates, hold, keys, attempts, rows
        self._prices = prices

    async def ask(
        self,
        request: FimRequest,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
    ) -> tuple[Completion | None, UpstreamFailure | EngineError | None]:
        """Ask `target` key by key: the answer, or why not (an attempt outcome in `route`).

        Raises:
            UpstreamRejected: an upstream refused the request itself.
            BudgetExceeded: a hard budget has no room for the call (nothing was sent).
        """
        call = await self._api.usable(target, route, caller, plan)
        if not isinstance(call, ApiCall):
            return None, call
        wire = fim_wire(call.spec, target.model)
        if isinstance(wire, str):
            route.attempts.append(Attempt(target.label, "", Outcome.UNTRANSLATABLE))
            return None, InvalidRequest(wire, param="model")
        answers = request.answers if wire.carries_answers(request) else ONE_ANSWER
        limit = request.max_tokens
        most = self._prices.max_output_of(target.model) or ESTIMATED_OUTPUT_TOKENS
        ask = CallAsk(  # each answer written may reach its limit, as a chat's (`_call_ask`)
            target.model,
            request.held_input_tokens,
            None if limit is None else limit * answers.held,
            default_output=most * answers.held,
            price=self._prices.price_of(target.model),
        )
        hold, limit = await self._api.hold(caller, route, ask, answers=answers)
        try:
            body = wire.body(request, target.model, limit)
        except BaseException:  # nothing sent: the reserve goes back (the loop frees it after)
            hold.release()
            raise
        completion = _CompletionWire(self._api, request, call, wire, body)
        answer, failure = await self._api.ask(call, completion, hold)
        return answer, failure


class _CompletionWire:
    """A completion's wire: its body, and its answer whole or as a stream of pieces."""

    __slots__ = ("_api", "_body", "_call", "_request", "_wire", "translated")

    operation = "text_completion"
    notice: str | None = None

    def __init__(
        self, api: ApiTargets, request: FimRequest, call: ApiCall, wire: FimWire, body: bytes
    ) -> None:
        self._api = api
        self._request = request
        self._call = call
        self._wire = wire
        self._body = body
        self.translated = not (request.front == FIM_OPENAI and wire.name == "openai")

    def address(self, base_url: str, key: PoolKey) -> UpstreamTarget:
        spec = self._call.spec
        return addressed(
            spec.id,
            base_url,
            spec.dialect,
            self._call.target.model,
            key.value,
            key.label,
            endpoint=self._wire.url(base_url),
        )

    async def exchange(self, line: Line) -> Completion:
        request, route = self._request, self._call.route
        response = await line.send(self._body, stream=request.stream)
        if request.stream:
            # Held until the stream's row is counted, when its pieces end.
            pieces = masked_pieces(await self._stream(response, line), line.addressed.scrubbed)
            pieces = held_until_ended(pieces, line.hold.moved())
            return Completion(route, request, pieces=pieces)
        piece = await self._whole(response)
        usage = line.answered(piece.usage, max(1, len(piece.text) // CHARS_PER_TOKEN))
        return Completion(route, request, piece=replace(piece, usage=usage, done=True))

    def estimate(self) -> Usage:
        return Usage(input_tokens=self._request.estimated_tokens)

    def estimated(self, written: int) -> Usage:
        return Usage(input_tokens=self._request.estimated_tokens, output_tokens=written)

    def relayed_error(self, failure: UpstreamFailure) -> bytes | None:
        return None if self.translated else failure.raw_body

    async def _whole(self, response: UpstreamAnswer) -> FimPiece:
        provider = self._call.spec.id
        raw = await response.whole()
        try:
            return self._wire.whole(jsonio.loads(raw))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise malformed_answer(provider, exc, "a completion") from None

    async def _stream(self, response: UpstreamAnswer, line: Line) -> AsyncIterator[FimPiece]:
        """The upstream's stream as pieces, committed at its first frame as every kind's is
        (`Line.primed`); its row ends when they do: completed at the last event, failed when
        it broke, cut when the consumer stopped or closed them unread (the connection closed
        at once, so the upstream stops writing).

        Raises:
            UpstreamFailure: the stream failed before its first frame (fallback).
        """
        # Server-sent events, or Ollama's lines: read alike, under the same cap, masked.
        stream = _FimFrames(response.frames(lines=self._wire.lines))
        await line.primed(stream)
        seen = _Seen()

        def end(state: str, code: str | None) -> None:
            response.release()  # unread, the connection closes: the upstream stops at once
            ended = state == "completed"
            line.stream_ended(completed=ended, broke=state == "failed")
            if state == "canceled":
                state, code = self._api.records.cut()
            written = max(1, seen.written // CHARS_PER_TOKEN)
            line.answered(seen.usage, written, state=state, error_code=code, ended=ended)

        async def closed_unread() -> None:
            end("canceled", None)

        pieces = self._pieces(stream, seen, end)
        return EndingChunks(pieces, closed_unread)

    async def _pieces(
        self,
        stream: _FimFrames,
        seen: _Seen,
        end: Callable[[str, str | None], None],
    ) -> AsyncIterator[FimPiece]:
        wire = self._wire
        state, code = "canceled", None
        try:
            read: list[SseFrame] | None = stream.first
            while read is not None:
                for frame in read:
                    piece = wire.event(frame[1])
                    if piece is None:
                        continue
                    seen.usage = piece.usage or seen.usage
                    seen.written += len(piece.text)
                    if piece.done:
                        state = "completed"
                        yield FimPiece(piece.text, piece.finish_reason, seen.usage, True)
                        return
                    yield piece
                read = await stream.frames.read()
            state, code = "failed", "stream_broken"  # ended before its last event
            yield FimPiece("", "error", seen.usage, done=True)
        except (OSError, TimeoutError, ValueError, KeyError, TypeError, IndexError):
            state, code = "failed", "stream_broken"
            yield FimPiece("", "error", seen.usage, done=True)
        finally:
            end(state, code)


class _FimFrames:
    """A completion's stream of frames as the loop commits it (`PrimedStream`): its first
    frames read before the answer is handed on (`first`), the rest read as it goes."""

    __slots__ = ("first", "frames")

    def __init__(self, frames: AnswerFrames) -> None:
        self.frames = frames
        self.first: list[SseFrame] = []

    async def prime(self) -> None:
        self.first = await first_frames(self.frames)

    def close(self) -> None:
        self.frames.release()


@dataclass
class _Seen:
    """What a stream said so far: its usage, and how much text it wrote."""

    usage: Usage | None = None
    written: int = 0
