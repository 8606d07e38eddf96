"""The gateway: one request in any dialect, routed to an API or a CLI, answered in kind.

`GatewayService.chat` parses the client's body, plans the targets (pin, small-request rule,
owner, fallbacks), and tries them in order: for an API, each key of its pool; for a CLI, one
engine call. It moves on after connect errors, timeouts, 429 and 5xx, as long as nothing has
been sent to the client; a stream is committed once its first frame has arrived. Every request
is written to the flight recorder with its caller, route and the attempts it took.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import (
    GatewayError,
    InvalidRequest,
)
from llmgw_desktop.engine.gateway.answers import (
    OPENAI_DIALECTS,
    CallerInfo,
    Completed,
    Streaming,
    TokenCount,
)
from llmgw_desktop.engine.gateway.catalog import (
    CLI_BRIDGES,
    DIALECT_ANTHROPIC,
    DIALECT_OPENAI_CHAT,
)
from llmgw_desktop.engine.gateway.cli_bridge import CliBridge
from llmgw_desktop.engine.gateway.cli_targets import serve_on_cli
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.directory import ProviderDirectory
from llmgw_desktop.engine.gateway.errors import AllRoutesFailed, UpstreamRejected
from llmgw_desktop.engine.gateway.http1 import Http1Response
from llmgw_desktop.engine.gateway.ir import ChatRequest, Usage
from llmgw_desktop.engine.gateway.keys import KeyChain, PoolKey
from llmgw_desktop.engine.gateway.registry import DIALECTS
from llmgw_desktop.engine.gateway.relay import (
    StreamOutcome,
    UpstreamStream,
    is_usage_only_chunk,
    relay_events,
)
from llmgw_desktop.engine.gateway.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target, plan_request
from llmgw_desktop.engine.gateway.tokens import estimate_tokens, is_small_request
from llmgw_desktop.engine.gateway.upstream import UpstreamClient, UpstreamFailure, UpstreamTarget
from llmgw_desktop.engine.recorder import FlightRecorder

__all__ = ["GatewayService"]

log = logging.getLogger(__name__)

_CLI = {b.id: b for b in CLI_BRIDGES}
COUNT_TOKENS_KEYS = 2
# Gateway-only fields a client may put in its body; never sent upstream.
GATEWAY_FIELDS = ("project",)


class GatewayService:
    """Routes chat requests to API and CLI providers; one per engine."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        keys: KeyChain,
        upstream: UpstreamClient,
        recorder: FlightRecorder,
        cli: CliBridge,
        cli_available: Callable[[str], Awaitable[GatewayError | None]],
        directory: ProviderDirectory,
    ) -> None:
        self.registry = registry
        self.directory = directory
        self.keys = keys
        self.upstream = upstream
        self._recorder = recorder
        self._cli = cli
        # Engine provider id -> None when usable, else the error saying why not.
        self._cli_available = cli_available

    async def chat(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        *,
        url_model: str | None = None,
        stream: bool | None = None,
    ) -> Completed | Streaming:
        """Serve one chat request from a client speaking `front`.

        Raises:
            InvalidRequest: the body is malformed (named field).
            NotFound: the model is unknown.
            UpstreamRejected: the upstream refused the request itself (its status and message).
            AllRoutesFailed: every target failed or was unavailable.
        """
        route = RouteReport(request_id=uuid.uuid4().hex, requested_model="", project=caller.project)
        try:
            return await self._serve(front, body, caller, route, url_model, stream)
        except GatewayError as error:
            if not route.recorded:
                # Refused before any provider was asked (bad body, unknown model, no key):
                # still one row, so the recorder shows every request that came in.
                self._record_refusal(caller, route, error)
            raise

    async def _serve(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        route: RouteReport,
        url_model: str | None,
        stream: bool | None,
    ) -> Completed | Streaming:
        dialect = DIALECTS[front]
        if isinstance(body.get("model"), str):
            route.requested_model = body["model"]
        request = dialect.parse_request(body, model=url_model)
        if stream is not None:
            request = dataclasses.replace(request, stream=stream)
        requested = request.model or self.registry.config.default_model
        if not requested:
            raise InvalidRequest("model: required (or set gateway.default_model)", param="model")
        route.requested_model = requested
        route.requested_provider = requested.partition("/")[0] if "/" in requested else None
        plan = plan_request(
            self.registry,
            requested,
            caller=caller.caller,
            small=bool(self.registry.config.small_request_model)
            and is_small_request(request, self.registry.config.small_request_max_tokens),
        )
        route.rule = plan.rule
        last: UpstreamFailure | GatewayError | None = None
        for index, target in enumerate(plan.targets):
            route.fallback_used = index > 0
            failure: UpstreamFailure | GatewayError | None
            if target.kind == "cli":
                answer, failure = await serve_on_cli(
                    self._cli, self._cli_available, dialect, request, target, route, caller
                )
            else:
                answer, failure = await self._try_api(
                    dialect, request, body, target, route, caller, plan
                )
            if answer is not None:
                return answer
            last = failure if failure is not None else last
        raise AllRoutesFailed.from_attempts(requested, route.attempts, last)

    # -- API targets ---------------------------------------------------------------------

    async def _try_api(
        self,
        dialect: Dialect,
        request: ChatRequest,
        body: dict[str, Any],
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
    ) -> tuple[Completed | Streaming | None, UpstreamFailure | GatewayError | None]:
        spec = self.registry.provider(target.provider)
        if spec is None or not spec.enabled:
            route.attempts.append(Attempt(target.label, "", "disabled"))
            return None, None
        pool = await self.keys.pool(spec, caller.project)
        if not pool:
            route.attempts.append(Attempt(target.label, "", "no_key"))
            return None, None
        speaks = (spec.dialect, *spec.also_speaks)
        up_name = dialect.name if dialect.name in speaks else spec.dialect
        upstream_dialect = DIALECTS[up_name]
        passthrough = up_name == dialect.name
        upstream_body, skip_usage = self._upstream_body(dialect, request, body, target, up_name)
        if spec.id == "openai" and not passthrough and "max_tokens" in upstream_body:
            # OpenAI's reasoning models refuse max_tokens; every OpenAI model takes this name.
            upstream_body["max_completion_tokens"] = upstream_body.pop("max_tokens")
        headers = caller.passthrough_headers if passthrough else None
        failure: UpstreamFailure | None = None
        ok: Attempt | None = None
        for key in self.keys.order(
            spec.id, pool, strategy=plan.route.strategy, caller=caller.caller
        ):
            upstream_target = UpstreamTarget(
                spec.id,
                self.keys.base_url(spec),
                up_name,
                target.model,
                key.value,
                key.label,
            )
            route.recorded = True
            record = self._recorder.start(
                principal=caller.principal,
                provider=spec.id,
                transport=caller.transport,
                tool=caller.endpoint,
                caller=caller.caller,
                model=target.model,
            )
            started = time.perf_counter()
            try:
                response = await self.upstream.send(
                    upstream_target,
                    upstream_body,
                    stream=request.stream,
                    passthrough_headers=headers,
                )
                route.provider, route.model, route.kind = spec.id, target.model, "api"
                # Listed before the answer is rendered, so `x_gateway` includes it.
                ok = Attempt(target.label, key.label, "ok")
                route.attempts.append(ok)
                if request.stream:
                    answer: Completed | Streaming = await self._open_stream(
                        response, dialect, upstream_dialect, request, route, record, skip_usage
                    )
                else:
                    answer = await self._complete(
                        response, dialect, upstream_dialect, passthrough, route, record
                    )
            except UpstreamFailure as exc:
                if route.attempts and route.attempts[-1] is ok:
                    route.attempts.pop()  # the answer broke after the status was fine
                failure = exc
                self._note_failure(route, target, key, exc, record, started)
                if exc.status == 429:
                    self.keys.rest(spec.id, key, exc.retry_after_s)
                if not exc.next_key:
                    raise UpstreamRejected(exc.status or 502, exc.message) from None
                continue
            return answer, None
        return None, failure

    def _upstream_body(
        self,
        dialect: Dialect,
        request: ChatRequest,
        body: dict[str, Any],
        target: Target,
        up_name: str,
    ) -> tuple[dict[str, Any], bool]:
        """The body to send, and whether the gateway added a usage chunk the client did not ask
        for (OpenAI streams carry usage only on request; the recorder always wants it)."""
        if up_name != dialect.name:
            translated = DIALECTS[up_name].render_request(
                dataclasses.replace(request, model=target.model, stream_usage=True)
            )
            return translated, False
        out = {k: v for k, v in body.items() if k not in GATEWAY_FIELDS}
        if up_name != "gemini":
            out["model"] = target.model
        skip_usage = False
        if up_name == DIALECT_OPENAI_CHAT and request.stream and not request.stream_usage:
            out["stream_options"] = {**(out.get("stream_options") or {}), "include_usage": True}
            skip_usage = True
        return out, skip_usage

    async def _complete(
        self,
        response: Http1Response,
        dialect: Dialect,
        upstream_dialect: Dialect,
        passthrough: bool,
        route: RouteReport,
        record: str,
    ) -> Completed:
        try:
            try:
                raw = await response.read(timeout_s=self.upstream.read_timeout_s)
            finally:
                response.release()
            data = jsonio.loads(raw)
            answer = upstream_dialect.parse_response(data)
        except (OSError, TimeoutError) as exc:
            raise UpstreamFailure(
                f"{route.provider} broke off its answer: {type(exc).__name__}",
                fallback=True,
                kind="broken",
            ) from None
        except ValueError as exc:
            raise UpstreamFailure(
                f"{route.provider} sent an answer that is not valid: {exc}",
                status=502,
                fallback=True,
                kind="malformed",
            ) from None
        out = data if passthrough else dialect.render_response(answer)
        if dialect.name in OPENAI_DIALECTS:
            out["x_gateway"] = route.x_gateway(answer.usage)
        self._finish(record, route, "completed", answer.usage, http_status=200)
        return Completed(out, route, answer.usage)

    async def _open_stream(
        self,
        response: Http1Response,
        dialect: Dialect,
        upstream_dialect: Dialect,
        request: ChatRequest,
        route: RouteReport,
        record: str,
        skip_usage: bool,
    ) -> Streaming:
        passthrough = dialect.name == upstream_dialect.name
        stream = UpstreamStream(
            response,
            upstream_dialect.stream_decoder(),
            idle_timeout_s=self.upstream.read_timeout_s,
            skip_frame=is_usage_only_chunk if skip_usage else None,
        )
        try:
            await stream.prime()
        except (OSError, TimeoutError, ValueError, GatewayError) as exc:
            stream.close()
            raise UpstreamFailure(
                f"{route.provider} failed before its stream began: {exc}",
                fallback=True,
                kind="stream_start",
            ) from None
        encoder = None if passthrough else dialect.stream_encoder(request)

        async def chunks() -> AsyncIterator[bytes]:
            outcome = stream.outcome
            try:
                async for piece in relay_events(stream.frames(), encoder):
                    yield piece
            except (OSError, TimeoutError, ValueError, GatewayError) as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
                yield _stream_error(dialect, request, encoder, outcome.error)
            finally:
                stream.close()
                self._finish_stream(record, route, outcome)

        return Streaming(route, chunks())

    # -- recorder ------------------------------------------------------------------------

    def _note_failure(
        self,
        route: RouteReport,
        target: Target,
        key: PoolKey,
        failure: UpstreamFailure,
        record: str,
        started: float,
    ) -> None:
        route.attempts.append(Attempt(target.label, key.label, failure.outcome))
        self._recorder.finish(
            record,
            state="failed",
            error_code=f"upstream_{failure.outcome}",
            http_status=failure.status,
            route=route.to_record(),
            requested_model=route.requested_model,
            project=route.project,
            fallback_used=route.fallback_used,
        )
        log.info(
            "gateway: %s with key %s failed (%s) after %.0f ms",
            target.label,
            key.label,
            failure.outcome,
            (time.perf_counter() - started) * 1000,
        )

    def _record_refusal(self, caller: CallerInfo, route: RouteReport, error: GatewayError) -> None:
        record = self._recorder.start(
            principal=caller.principal,
            provider=route.provider
            or (route.attempts[0].target.split("/")[0] if route.attempts else "-"),
            transport=caller.transport,
            tool=caller.endpoint,
            caller=caller.caller,
            model=route.requested_model or None,
            state="refused",
        )
        self._recorder.finish(
            record,
            state="refused",
            error_code=error.code,
            http_status=error.http_status,
            route=route.to_record(),
            requested_model=route.requested_model or None,
            project=route.project,
        )

    def _finish(
        self,
        record: str,
        route: RouteReport,
        state: str,
        usage: Usage,
        *,
        http_status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        self._recorder.finish(
            record,
            state=state,
            model=route.model,
            http_status=http_status,
            error_code=error_code,
            attempts=len(route.attempts) + 1,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            route=route.to_record(),
            requested_model=route.requested_model,
            project=route.project,
            fallback_used=route.fallback_used,
        )

    def _finish_stream(self, record: str, route: RouteReport, outcome: StreamOutcome) -> None:
        if outcome.error is not None:
            state, code = "failed", "stream_broken"
        elif outcome.completed:
            state, code = "completed", None
        else:
            state, code = "canceled", "client_disconnected"
        self._finish(record, route, state, outcome.usage, http_status=200, error_code=code)

    async def serve_exactly(
        self, target: Target, body: dict[str, Any], caller: CallerInfo
    ) -> Completed:
        """A whole (non-streaming) OpenAI-chat request served by `target` alone: no pin, no
        small-request rule, no fallback. It is how a person checks one provider (the
        dashboard's Test button); the request is recorded like any other.

        Raises:
            InvalidRequest: the body is malformed.
            UpstreamRejected: the upstream refused the request.
            AllRoutesFailed: the target is not usable (no key, off, not installed) or failed.
            GatewayError: the CLI failed in a way that says the request itself is wrong.
        """
        dialect = DIALECTS[DIALECT_OPENAI_CHAT]
        request = dataclasses.replace(dialect.parse_request(body), stream=False)
        route = RouteReport(
            request_id=uuid.uuid4().hex, requested_model=target.label, project=caller.project
        )
        answer: Completed | Streaming | None
        failure: UpstreamFailure | GatewayError | None
        if target.kind == "cli":
            answer, failure = await serve_on_cli(
                self._cli, self._cli_available, dialect, request, target, route, caller
            )
        else:
            plan = Plan(target.label, (target,), self.registry.route_for(target.label))
            answer, failure = await self._try_api(
                dialect, request, body, target, route, caller, plan
            )
        if isinstance(answer, Completed):
            return answer
        raise AllRoutesFailed.from_attempts(target.label, route.attempts, failure)

    async def count_tokens(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        *,
        url_model: str | None = None,
    ) -> TokenCount:
        """Input tokens of a request: Anthropic's own count when it owns the model, else an
        estimate (said so in the result).

        Raises:
            InvalidRequest: the body is malformed.
            NotFound: the model is unknown.
        """
        parse_body = body
        if front == DIALECT_ANTHROPIC and "max_tokens" not in body:
            parse_body = {**body, "max_tokens": 1}  # count_tokens takes no max_tokens
        request = DIALECTS[front].parse_request(parse_body, model=url_model)
        target = self.registry.resolve(request.model or self.registry.config.default_model)
        spec = self.registry.provider(target.provider) if target.kind == "api" else None
        if front == DIALECT_ANTHROPIC and spec is not None and spec.dialect == DIALECT_ANTHROPIC:
            upstream_body = {k: v for k, v in body.items() if k not in GATEWAY_FIELDS}
            upstream_body["model"] = target.model
            for key in (await self.keys.pool(spec, caller.project))[:COUNT_TOKENS_KEYS]:
                upstream = UpstreamTarget(
                    spec.id, self.keys.base_url(spec), spec.dialect, target.model, key.value
                )
                try:
                    response = await self.upstream.send(
                        upstream, upstream_body, stream=False, count_tokens=True
                    )
                    try:
                        raw = await response.read(timeout_s=self.upstream.read_timeout_s)
                    finally:
                        response.release()
                    return TokenCount(int(jsonio.loads(raw)["input_tokens"]), exact=True)
                except (UpstreamFailure, OSError, TimeoutError, ValueError, KeyError, TypeError):
                    continue
        return TokenCount(estimate_tokens(request), exact=False)


def _stream_error(dialect: Dialect, request: ChatRequest, encoder: Any, message: str) -> bytes:
    writer = encoder if encoder is not None else dialect.stream_encoder(request)
    return bytes(
        writer.error(502, "upstream_stream_broken", f"the upstream stream broke: {message}")
    )
