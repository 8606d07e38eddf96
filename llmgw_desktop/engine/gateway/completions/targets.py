"""One API target of a text completion: the chat's gates (`ApiTargets.usable`), a budget hold
of its input and output limit (the limit sent when a hard budget covers it), then one attempt
per key until one answers. A whole answer's row ends with it; a stream's when its pieces end:
completed at the upstream's last event, and cut the moment its client leaves, the upstream's
connection closed at once so it stops writing (autocomplete abandons most of what it asks).
What is sent and said is never kept on this path: no body capture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS, CallAsk, Hold, SpendGuard
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.api_targets import ApiTargets
from llmgw_desktop.engine.gateway.completions.request import FimRequest
from llmgw_desktop.engine.gateway.completions.wires import FimPiece, FimWire, fim_wire
from llmgw_desktop.engine.gateway.errors import UpstreamRejected
from llmgw_desktop.engine.gateway.http_client.http1_response import BodyTooLarge, Http1Response
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.gateway.http_client.upstream import (
    CONNECT_OUTCOME,
    SHARE_OUTCOME,
    UpstreamFailure,
    UpstreamTarget,
)
from llmgw_desktop.engine.gateway.keys import PoolKey
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.router import Plan, Target
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
    """Asks API providers for text completions, key by key; one per gateway."""

    def __init__(
        self, *, api: ApiTargets, budgets: SpendGuard, prices: PriceBook, records: RequestRecords
    ) -> None:
        self._api = api
        self._budgets = budgets
        self._prices = prices
        self._records = records

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
        usable = await self._api.usable(target, route, caller)
        if not isinstance(usable, tuple):
            return None, usable
        spec, pool = usable
        wire = fim_wire(spec, target.model)
        if isinstance(wire, str):
            route.attempts.append(Attempt(target.label, "", "untranslatable"))
            return None, InvalidRequest(wire, param="model")
        ask = CallAsk(
            target.model,
            request.estimated_tokens,
            request.max_tokens,
            default_output=self._prices.max_output_of(target.model) or ESTIMATED_OUTPUT_TOKENS,
            price=self._prices.price_of(target.model),
        )
        hold = await self._budgets.reserve(caller.principal, caller.caller, caller.project, ask)
        route.held_output = hold.output_tokens
        route.max_tokens = hold.send_limit if request.max_tokens is None or hold.lowered else None
        body = wire.body(request, target.model, hold.send_limit)
        try:
            failure: UpstreamFailure | None = None
            keys = self._api.keys.order(
                spec.id, pool, strategy=plan.route.strategy, caller=caller.caller
            )
            for key in keys:
                answer, failure = await self._attempt(
                    request, spec, wire, body, target, key, route, caller, hold
                )
                if answer is not None:
                    if answer.pieces is not None:
                        hold = Hold()  # the stream's end releases it (`_stream`)
                    return answer, None
                assert failure is not None
                if failure.billed or failure.kind == SHARE_OUTCOME:
                    return None, failure
                if not failure.next_key:
                    raise UpstreamRejected(
                        failure.status or 502,
                        failure.message,
                        retry_after_s=failure.retry_after_s,
                        code=failure.code,
                    ) from None
            return None, failure
        finally:
            hold.release()

    async def _attempt(
        self,
        request: FimRequest,
        spec: ApiProviderSpec,
        wire: FimWire,
        body: bytes,
        target: Target,
        key: PoolKey,
        route: RouteReport,
        caller: CallerInfo,
        hold: Hold,
    ) -> tuple[Completion | None, UpstreamFailure | None]:
        """One key of one target: the answer, or the failure (recorded either way)."""
        base = self._api.keys.base_url(spec)
        upstream_target = UpstreamTarget(
            spec.id,
            base,
            spec.dialect,
            target.model,
            key.value,
            key.label,
            endpoint=wire.url(base),
        )
        record, open_row = self._records.attempt_to_open(route, caller, spec.id, target.model)
        started = time.perf_counter()
        estimate = Usage(input_tokens=request.estimated_tokens)
        asked = False
        try:
            try:
                response = await self._api.upstream.send(
                    upstream_target,
                    body,
                    stream=request.stream,
                    principal=caller.principal,
                    while_waiting=open_row,
                )
            finally:
                open_row()
            asked = True
            route.provider, route.model, route.kind = spec.id, target.model, "api"
            route.attempts.append(Attempt(target.label, key.label, "ok"))
            self._api.unreachable.connected(spec.id, base)
            if request.stream:
                pieces = self._stream(response, wire, record, route, estimate, hold)
                return Completion(route, request, pieces=pieces), None
            piece = await self._whole(response, wire, spec.id)
        except UpstreamFailure as exc:
            if asked and route.attempts and route.attempts[-1].key == key.label:
                route.attempts.pop()  # the answer broke after its status was fine
            exc.billed = asked
            if exc.kind == CONNECT_OUTCOME:
                self._api.unreachable.failed(spec.id, base, exc.message)
            self._records.note_failure(
                route, target, key, exc, record, started, billed=estimate if asked else None
            )
            if exc.status == 429:
                self._api.keys.rest(spec.id, key, exc.retry_after_s)
            return None, exc
        except asyncio.CancelledError:
            self._records.cut_before_answer(record, route, estimate, asked=asked)
            raise
        except EngineError as exc:
            self._records.finish(
                record, route, "refused", Usage(), http_status=exc.http_status, error_code=exc.code
            )
            raise
        usage = piece.usage or Usage(
            input_tokens=estimate.input_tokens, output_tokens=max(1, len(piece.text) // 4)
        )
        self._records.finish(
            record, route, "completed", usage, http_status=200, estimated=piece.usage is None
        )
        return Completion(
            route, request, piece=FimPiece(piece.text, piece.finish_reason, usage, True)
        ), None

    async def _whole(self, response: Http1Response, wire: FimWire, provider: str) -> FimPiece:
        upstream = self._api.upstream
        try:
            try:
                raw = await response.read(
                    timeout_s=upstream.read_timeout_s, limit=upstream.max_answer_bytes
                )
            finally:
                response.release()
            return wire.whole(jsonio.loads(raw))
        except BodyTooLarge as exc:
            raise UpstreamFailure(
                f"{provider}'s answer is larger than gateway.max_answer_bytes ({exc.limit})",
                fallback=True,
                kind="too_large",
            ) from None
        except (OSError, TimeoutError) as exc:
            raise UpstreamFailure(
                f"{provider} broke off its answer: {type(exc).__name__}",
                fallback=True,
                kind="broken",
            ) from None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise UpstreamFailure(
                f"{provider} sent a completion that is not valid: {exc}",
                status=502,
                fallback=True,
                kind="malformed",
            ) from None

    def _stream(
        self,
        response: Http1Response,
        wire: FimWire,
        record: str,
        route: RouteReport,
        estimate: Usage,
        hold: Hold,
    ) -> AsyncIterator[FimPiece]:
        """The upstream's stream as pieces; its row ends when they do: completed at the last
        event, failed when it broke, cut when the consumer stopped or closed them unread (the
        connection closed at once, so the upstream stops writing)."""
        seen = _Seen()

        def end(state: str, code: str | None) -> None:
            response.release()  # unread, the connection closes: the upstream stops at once
            if state == "canceled":
                state, code = self._records.cut()
            usage = seen.usage
            counted = usage or Usage(
                input_tokens=estimate.input_tokens,
                output_tokens=route.held_output or max(1, seen.written // 4),
            )
            self._records.finish(
                record,
                route,
                state,
                counted,
                http_status=200,
                error_code=code,
                estimated=usage is None,
            )
            hold.release()

        return _Ending(self._pieces(response, wire, seen, end), lambda: end("canceled", None))

    async def _pieces(
        self,
        response: Http1Response,
        wire: FimWire,
        seen: _Seen,
        end: Callable[[str, str | None], None],
    ) -> AsyncIterator[FimPiece]:
        upstream = self._api.upstream
        parser = SseParser(upstream.max_sse_event_bytes)
        buffered = b""
        state, code = "canceled", None
        try:
            while True:
                chunk = await response.readany(upstream.read_timeout_s)
                if not chunk:
                    state, code = "failed", "stream_broken"  # ended before its last event
                    yield FimPiece("", "error", seen.usage, done=True)
                    return
                if wire.lines:
                    buffered += chunk
                    *lines, buffered = buffered.split(b"\n")
                    events = [line.decode() for line in lines if line.strip()]
                else:
                    events = [data for _, data in parser.feed(chunk)]
                for data in events:
                    piece = wire.event(data)
                    if piece is None:
                        continue
                    seen.usage = piece.usage or seen.usage
                    seen.written += len(piece.text)
                    if piece.done:
                        state = "completed"
                        yield FimPiece(piece.text, piece.finish_reason, seen.usage, True)
                        return
                    yield piece
        except (OSError, TimeoutError, ValueError, KeyError, TypeError, IndexError):
            state, code = "failed", "stream_broken"
            yield FimPiece("", "error", seen.usage, done=True)
        finally:
            end(state, code)


@dataclass
class _Seen:
    """What a stream said so far: its usage, and how much text it wrote."""

    usage: Usage | None = None
    written: int = 0


class _Ending:
    """Pieces whose generator ends the stream's row in its `finally`, and that run `end`
    instead when they are closed before the first was asked for (a generator's `finally` does
    not run then: a client that left before the answer began)."""

    def __init__(self, pieces: AsyncIterator[FimPiece], end: Callable[[], None]) -> None:
        self._pieces = pieces
        self._end = end
        self._started = False

    def __aiter__(self) -> _Ending:
        return self

    def __anext__(self) -> Awaitable[FimPiece]:
        self._started = True
        return self._pieces.__anext__()

    async def aclose(self) -> None:
        if not self._started:
            self._started = True
            self._end()
            return
        await self._pieces.aclose()  # type: ignore[attr-defined]
