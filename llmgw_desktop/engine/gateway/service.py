"""The gateway: one request in any dialect, routed to an API or a CLI, answered in kind.

`GatewayService.chat` reads the few facts routing needs from the client's body (model, stream;
`facts.py`), plans the targets (pin, small-request rule, owner, fallbacks), and tries them in
order: for an API, each key of its pool; for a CLI, one engine call. A target that speaks the
client's dialect gets the client's own request (`passthrough.py`) and its answer comes back as
it was sent; any other target gets a translation (`translation.py`), and what could not be
carried is said in `x-gateway-notice` or refused with a 400 naming it. It moves on after
connect errors, timeouts, 429 and 5xx, as long as nothing has been sent to the client; a
stream is committed once its first frame has arrived. Every request is written to the flight
recorder with its caller, route and the attempts it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import (
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
    ApiProviderSpec,
    recorded_provider,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.budgets.holds import NO_BUDGETS, Hold, SpendGuard, estimate_call
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest
from llmgw_desktop.engine.gateway.capabilities import target_model
from llmgw_desktop.engine.gateway.capture import GatewayCapture
from llmgw_desktop.engine.gateway.cli_bridge import CliBridge
from llmgw_desktop.engine.gateway.cli_targets import cli_cost_basis, serve_on_cli
from llmgw_desktop.engine.gateway.counting import TokenCounter, estimated_input_tokens
from llmgw_desktop.engine.gateway.dialects.base import Dialect, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.by_name import DIALECTS
from llmgw_desktop.engine.gateway.errors import AllRoutesFailed, UpstreamRejected
from llmgw_desktop.engine.gateway.facts import has_images
from llmgw_desktop.engine.gateway.http1 import BodyTooLarge, Http1Response
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.ir import ChatRequest
from llmgw_desktop.engine.gateway.keys import KeyChain, PoolKey
from llmgw_desktop.engine.gateway.passthrough import (
    finish_reasons_of,
    passthrough_body,
    relayable_headers,
    splice_field,
    usage_of_answer,
)
from llmgw_desktop.engine.gateway.provider_directory import ProviderDirectory
from llmgw_desktop.engine.gateway.relay import (
    RelayedStream,
    StreamOutcome,
    UpstreamStream,
    is_usage_only_chunk,
    relay_events,
)
from llmgw_desktop.engine.gateway.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.gateway.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import (
    OPENAI_DIALECTS,
    CallerInfo,
    Completed,
    Streaming,
    TokenCount,
)
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target, plan_request
from llmgw_desktop.engine.gateway.server_tool_use import server_tools_of_answer
from llmgw_desktop.engine.gateway.taps import stream_tap
from llmgw_desktop.engine.gateway.tracing import client_status, traced
from llmgw_desktop.engine.gateway.translation import Untranslatable, encode_request, notice_for
from llmgw_desktop.engine.gateway.upstream import (
    SHARE_OUTCOME,
    UpstreamClient,
    UpstreamFailure,
    UpstreamTarget,
)
from llmgw_desktop.engine.recorder import BodyCapture, FlightRecorder, new_record_id
from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import (
    COST_ESTIMATED,
    CostBasis,
    cost_note,
    server_tool_cost,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["GatewayService"]

log = logging.getLogger(__name__)

# Attempt outcomes that say a target was never asked; a request refused by all of its targets
# for its own content is answered with that refusal (400), not as an upstream failure.
_NOT_ASKED = ("untranslatable", "no_key", "disabled", "paused")
# The route log's outcome of a target a hard dollar budget could not count (no price).
UNPRICED_OUTCOME = "unpriced"
# The route log's outcome of a target outside the caller's gateway key's scope (not asked).
OUTSIDE_SCOPE_OUTCOME = "outside_key_scope"
# The route log's name for a key a person is trying before storing it (`serve_exactly(key=)`).
CANDIDATE_KEY_LABEL = "key being tried"


@dataclass(frozen=True)
class Outgoing:
    """What one target is sent: bytes, the client's headers (same dialect only), and for a
    translation, the client's request in neutral form and what was left out."""

    data: bytes
    passthrough: bool
    headers: Mapping[str, str] | None = None
    request: ChatRequest | None = None
    added_usage: bool = False
    notice: str | None = None
    # The remote principal a relayed Responses answer's id is recorded for (its owner).
    owner: str | None = None


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
        cli_available: Callable[[str], Awaitable[EngineError | None]],
        directory: ProviderDirectory,
        api_refusal: Callable[[str], str | None] | None = None,
        budgets: SpendGuard | None = None,
        project_access: Callable[[str, str | None], None] | None = None,
        target_access: Callable[[str, str, str], EngineError | None] | None = None,
        remote_passthrough: RemotePassthrough | None = None,
        telemetry: Telemetry | None = None,
        prices: PriceBook | None = None,
        bodies: BodyCapture | None = None,
    ) -> None:
        self.registry = registry
        self._prices = prices or PriceBook()  # the engine's: the person's prices on top
        self.directory = directory
        self.keys = keys
        self.upstream = upstream
        self._recorder = recorder
        self._cli = cli
        # Engine provider id -> None when usable, else the error saying why not.
        self._cli_available = cli_available
        # API provider id -> None when the user's switches let it run, else the attempt
        # outcome saying why not ("disabled": switched off, "paused": every provider is).
        self._api_refusal = api_refusal or (lambda _provider: None)
        # Raises `BudgetExceeded` when a hard budget covering the caller is used up (checked
        # before routing), when a hard dollar budget could not count a target (checked before
        # it is asked), or when calls running hold the rest of it (an API target reserves its
        # estimate before it is sent). Either way no upstream is asked, no stream starts.
        self._budgets = budgets or NO_BUDGETS
        # (principal, project) -> raises `ProjectForbidden` when the principal was not granted
        # the project whose keys and budgets the request names (`engine/auth/projects.py`).
        self._project_access = project_access or (lambda _principal, _project: None)
        # (principal, provider, model) -> the refusal when a gateway key's scope leaves that
        # target out (`engine/auth/key_scope.py`): checked per target, after aliases, routes
        # and fallbacks are resolved, so none of them leads a key out of its scope.
        self._target_access = target_access or (lambda _principal, _provider, _model: None)
        # Which vendor features a remote caller may send on the operator's account, and which
        # stored responses are whose.
        self._remote = remote_passthrough or RemotePassthrough()
        self._counter = TokenCounter(registry, keys, upstream, self._remote, self._target_access)
        # Spans of upstream attempts and translations (does nothing while export is off).
        self._telemetry = telemetry or Telemetry()
        # Set when the gateway stops: an answer cut then was interrupted, not abandoned.
        self.stopping = False
        # The bodies a person chose to keep (`recorder.capture`): off unless configured.
        self._capture = GatewayCapture(bodies)

    async def chat(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        *,
        raw: bytes | None = None,
        url_model: str | None = None,
        stream: bool | None = None,
    ) -> Completed | Streaming:
        """Serve one chat request from a client speaking `front` (`raw`: its body's bytes).

        Raises:
            InvalidRequest: the body cannot be routed (named field), or no target could take
                what it asks for (`Untranslatable`, naming the feature and the model).
            NotFound: the model is unknown.
            UpstreamRejected: the upstream refused the request itself (its status and message).
            AllRoutesFailed: every target failed or was unavailable.
            BudgetExceeded: a hard budget covering the caller or its project is used up.
            VendorFeatureRefused: a remote caller asked an upstream of its own dialect for a
                vendor feature the operator has not allowed it (nothing was sent).
            RepeatedKey: a remote caller's body for an upstream of its own dialect gives a key
                two values in one object (nothing was sent).
            ProjectForbidden: the caller's principal was not granted its project.
        """
        route = RouteReport(
            request_id=new_record_id(),
            requested_model="",
            project=caller.project,
            replay_of=caller.replay_of,
        )
        route.trace_id = self._telemetry.trace_id()
        if isinstance(body.get("model"), str):
            route.requested_model = body["model"]
        try:
            self._project_access(caller.principal, caller.project)
            self._budgets.check(caller.principal, caller.caller, caller.project)
            if front == DIALECT_OPENAI_RESPONSES and body.get("background") is True:
                # Answered before it runs: its tokens never reach the recorder.
                self._budgets.refuse_uncounted(
                    caller.principal, caller.caller, caller.project, "Responses `background`"
                )
            incoming = ClientRequest(front, body, raw, url_model=url_model, stream=stream)
            answer = await self._serve(incoming, caller, route)
            return self._capture.answered(front, body, raw, caller, url_model, answer)
        except EngineError as error:
            if not route.recorded:
                # Refused before any provider was asked (bad body, unknown model, no key):
                # still one row, so the recorder shows every request that came in.
                self._record_refusal(caller, route, error)
            else:
                # The row the answer names ends as the client saw it (a 502 all_routes_failed),
                # not as its own attempt did (the route log keeps each attempt's outcome).
                self._recorder.update(
                    route.request_id,
                    error_code=error.code,
                    http_status=client_status(front, error.http_status),
                )
            self._capture.refused(front, body, raw, caller, url_model, route, error)
            traced(error, route)
            raise

    async def _serve(
        self, incoming: ClientRequest, caller: CallerInfo, route: RouteReport
    ) -> Completed | Streaming:
        config = self.registry.config
        requested = incoming.facts.model or config.default_model
        if not requested:
            raise InvalidRequest("model: required (or set gateway.default_model)", param="model")
        route.requested_model = requested
        route.requested_provider = requested.partition("/")[0] if "/" in requested else None
        plan = plan_request(
            self.registry,
            requested,
            caller=caller.caller,
            small=bool(config.small_request_model) and self._is_small(incoming),
        )
        route.rule = plan.rule
        last: UpstreamFailure | EngineError | None = None
        refusals: list[EngineError] = []
        over_budget: list[EngineError] = []
        for index, target in enumerate(plan.targets):
            route.fallback_used = index > 0
            failure: UpstreamFailure | EngineError | None
            outside = self._target_access(caller.principal, target.provider, target.model)
            if outside is not None:
                route.attempts.append(Attempt(target.label, "", OUTSIDE_SCOPE_OUTCOME))
                over_budget.append(outside)
                continue
            unpriced = self._unpriced(target, caller)
            if unpriced is not None:
                # A hard dollar budget could not count this target: it is not asked, and the
                # route moves on (a priced fallback may serve).
                route.attempts.append(Attempt(target.label, "", UNPRICED_OUTCOME))
                over_budget.append(unpriced)
                continue
            if target.kind == "cli":
                answer, failure = await self._try_cli(incoming, target, route, caller)
            else:
                answer, failure = await self._try_api(incoming, target, route, caller, plan)
            if answer is not None:
                return answer
            if isinstance(failure, InvalidRequest):
                refusals.append(failure)
            last = failure if failure is not None else last
        not_asked = all(
            a.outcome in (*_NOT_ASKED, UNPRICED_OUTCOME, OUTSIDE_SCOPE_OUTCOME)
            for a in route.attempts
        )
        if over_budget and not_asked:
            raise over_budget[0]
        if refusals and all(a.outcome in _NOT_ASKED for a in route.attempts):
            raise refusals[0]
        raise AllRoutesFailed.from_attempts(requested, route.attempts, last, plan.hints)

    def _unpriced(self, target: Target, caller: CallerInfo) -> EngineError | None:
        """The refusal of a hard dollar budget that could not count `target`, else None."""
        cost = (
            cli_cost_basis(target, self._prices)
            if target.kind == "cli"
            else CostBasis.api(target.provider, target.model, self._prices)
        )
        if cost.priced:
            return None
        try:
            self._budgets.check(caller.principal, caller.caller, caller.project, cost)
        except EngineError as refusal:  # BudgetExceeded
            return refusal
        return None

    def _is_small(self, incoming: ClientRequest) -> bool:
        """Small enough for the cheaper model: no tools, no images, few tokens."""
        limit = self.registry.config.small_request_max_tokens
        facts = incoming.facts
        if limit <= 0 or facts.tools or facts.estimated_tokens > limit:
            return False
        return not has_images(incoming.name, incoming.body)

    async def _try_cli(
        self, incoming: ClientRequest, target: Target, route: RouteReport, caller: CallerInfo
    ) -> tuple[Completed | Streaming | None, EngineError | None]:
        try:
            request = incoming.neutral()
        except InvalidRequest as exc:
            route.attempts.append(Attempt(target.label, "", "untranslatable"))
            return None, exc
        return await serve_on_cli(
            self._cli, self._cli_available, incoming.dialect, request, target, route, caller
        )

    # -- API targets ---------------------------------------------------------------------

    async def _try_api(
        self,
        incoming: ClientRequest,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
        *,
        only_key: str | None = None,
    ) -> tuple[Completed | Streaming | None, UpstreamFailure | EngineError | None]:
        spec = self.registry.provider(target.provider)
        # Off in config.toml or by the user's switch: the same outcome, so the route moves on
        # (or the client is told the provider is switched off) either way.
        refusal = "disabled" if spec is None or not spec.enabled else self._api_refusal(spec.id)
        if spec is None or refusal is not None:
            route.attempts.append(Attempt(target.label, "", refusal or "disabled"))
            return None, None
        if only_key is not None:
            pool = [PoolKey(CANDIDATE_KEY_LABEL, only_key)]
        else:
            pool = await self.keys.pool(spec, caller.project)
        if not pool:
            # Keys may be in the vault, whose database cannot be reached: not "no key".
            outcome = "store_unavailable" if self.keys.vault_unreachable else "no_key"
            route.attempts.append(Attempt(target.label, "", outcome))
            return None, None
        up_name = (
            incoming.name if incoming.name in (spec.dialect, *spec.also_speaks) else spec.dialect
        )
        try:
            outgoing = self._outgoing(incoming, target, spec, up_name, caller)
        except InvalidRequest as exc:
            route.attempts.append(Attempt(target.label, "", "untranslatable"))
            return None, exc
        failure: UpstreamFailure | None = None
        facts = incoming.facts
        estimate = estimate_call(
            target.model, facts.estimated_tokens, facts.max_output, self._prices
        )
        hold = self._budgets.reserve(caller.principal, caller.caller, caller.project, estimate)
        try:
            for key in self.keys.order(
                spec.id, pool, strategy=plan.route.strategy, caller=caller.caller
            ):
                answer, failure = await self._attempt(
                    incoming, outgoing, spec, up_name, target, key, route, caller
                )
                if isinstance(answer, Streaming):
                    # Held until the stream's row is counted, when its chunks end.
                    answer, hold = _releasing(answer, hold), Hold()
                if answer is not None:
                    return answer, None
                if failure is not None and failure.kind == SHARE_OUTCOME:
                    # The caller's own share of this host is in use: no key of it would do.
                    return None, failure
                if failure is not None and not failure.next_key:
                    status = failure.status or 502
                    raw = failure.raw_body if outgoing.passthrough else None
                    raise UpstreamRejected(
                        status, failure.message, raw_body=raw, retry_after_s=failure.retry_after_s
                    ) from None
            return None, failure
        finally:
            # A whole answer's row was counted before it came back: the hold goes now.
            hold.release()

    def _outgoing(
        self,
        incoming: ClientRequest,
        target: Target,
        spec: ApiProviderSpec,
        up_name: str,
        caller: CallerInfo,
    ) -> Outgoing:
        """What `target` is sent.

        Raises:
            InvalidRequest: the request cannot be translated for this target (`Untranslatable`
                names the feature and the model), or is nested too deeply to be written.
            VendorFeatureRefused: the target speaks the client's dialect and a remote caller
                asked it for a vendor feature it is not allowed.
            RepeatedKey: the same, and the remote caller's body gives a key two values.
        """
        facts = incoming.facts
        if up_name == incoming.name:
            # The request goes as it came: what it asks of the vendor's account is checked
            # first (the local user passes; a remote caller gets what the operator allows).
            sent_with = self._remote.check(
                caller.principal,
                up_name,
                incoming.body,
                caller.passthrough_headers or {},
                raw=incoming.raw,
            )
            forwarded = passthrough_body(
                up_name,
                incoming.body,
                incoming.raw,
                target.model,
                stream=facts.stream,
                stream_usage=facts.stream_usage,
                sent_with=sent_with,
            )
            return Outgoing(
                forwarded.data,
                passthrough=True,
                headers=caller.passthrough_headers,
                added_usage=forwarded.added_usage,
                owner=caller.principal
                if self._remote.keeps_owner(caller.principal, up_name)
                else None,
            )
        model = target_model(spec.id, target.model, up_name)
        try:
            with self._telemetry.span(
                "translate", {"llmgw.from_dialect": incoming.name, "llmgw.to_dialect": up_name}
            ):
                request = incoming.neutral()
                notes = list(request.left_out)
                body = DIALECTS[up_name].render_request(
                    dataclasses.replace(request, model=target.model, stream_usage=True),
                    target=model,
                    notes=notes,
                )
        except Untranslatable as exc:
            raise exc.for_target(model, incoming.name) from None
        if spec.id == "openai" and "max_tokens" in body:
            # OpenAI's reasoning models refuse max_tokens; every OpenAI model takes this name.
            body["max_completion_tokens"] = body.pop("max_tokens")
        return Outgoing(
            encode_request(body),
            passthrough=False,
            request=request,
            notice=notice_for(model, notes),
        )

    async def _attempt(
        self,
        incoming: ClientRequest,
        outgoing: Outgoing,
        spec: ApiProviderSpec,
        up_name: str,
        target: Target,
        key: PoolKey,
        route: RouteReport,
        caller: CallerInfo,
    ) -> tuple[Completed | Streaming | None, UpstreamFailure | None]:
        """One key of one target: the answer, or the failure (recorded either way)."""
        upstream_target = UpstreamTarget(
            spec.id, self.keys.base_url(spec), up_name, target.model, key.value, key.label
        )
        route.recorded = True
        record = self._recorder.start(
            principal=caller.principal,
            provider=recorded_provider(spec.id),
            transport=caller.transport,
            tool=caller.endpoint,
            caller=caller.caller,
            model=target.model,
        )
        # The response names the row of the attempt that answered (or failed last).
        route.request_id = record
        self._telemetry.attempt(
            record,
            f"chat {target.model}",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": spec.id,
                "gen_ai.provider.name": spec.id,
                "gen_ai.request.model": target.model,
                "llmgw.key": key.label,
                "llmgw.fallback": route.fallback_used,
                "llmgw.translated": not outgoing.passthrough,
            },
        )
        started = time.perf_counter()
        stream = incoming.facts.stream
        ok: Attempt | None = None
        asked = False
        try:
            response = await self.upstream.send(
                upstream_target,
                outgoing.data,
                stream=stream,
                passthrough_headers=self._telemetry.upstream_headers(record, outgoing.headers),
                principal=caller.principal,
            )
            asked = True
            route.provider, route.model, route.kind = spec.id, target.model, "api"
            # Listed before the answer is rendered, so `x_gateway` includes it.
            ok = Attempt(target.label, key.label, "ok")
            route.attempts.append(ok)
            if outgoing.notice:
                route.notices.append(outgoing.notice)
            answer: Completed | Streaming
            if outgoing.passthrough and stream:
                answer = await self._relay_stream(
                    response, incoming, outgoing, route, record, api_key=key.value or ""
                )
            elif outgoing.passthrough:
                answer = await self._relay_whole(response, incoming, outgoing, route, record)
            elif stream:
                answer = await self._open_stream(
                    response, incoming, outgoing, up_name, route, record, api_key=key.value or ""
                )
            else:
                answer = await self._complete(response, incoming, outgoing, up_name, route, record)
        except UpstreamFailure as exc:
            if ok is not None and route.attempts and route.attempts[-1] is ok:
                route.attempts.pop()  # the answer broke after the status was fine
                if outgoing.notice and route.notices and route.notices[-1] == outgoing.notice:
                    route.notices.pop()
            self._note_failure(route, target, key, exc, record, started)
            if exc.status == 429:
                self.keys.rest(spec.id, key, exc.retry_after_s)
            return None, exc
        except asyncio.CancelledError:
            # The client left before the answer began: the row ends now, or it stays open. The
            # upstream that had accepted the request bills its prompt: counted at its estimate.
            state, code = self._cut()
            if asked:
                self._finish(
                    record, route, state, _estimated(incoming, 0), error_code=code, estimated=True
                )
            else:
                self._finish(record, route, state, Usage(), error_code=code)
            raise
        except EngineError as exc:
            # Refused on its way out (a value our HTTP client will not write): the same.
            self._finish(
                record, route, "refused", Usage(), http_status=exc.http_status, error_code=exc.code
            )
            raise
        return answer, None

    # -- answers in the client's own dialect --------------------------------------------

    async def _relay_whole(
        self,
        response: Http1Response,
        incoming: ClientRequest,
        outgoing: Outgoing,
        route: RouteReport,
        record: str,
    ) -> Completed:
        raw = await self._read_whole(response, route)
        try:
            data = jsonio.loads(raw)
        except jsonio.JsonDecodeError as exc:
            raise _malformed(route, exc) from None
        usage = usage_of_answer(incoming.name, data)
        tools = server_tools_of_answer(incoming.name, data)
        if self._telemetry.enabled:
            self._telemetry.answered(record, finish_reasons_of(incoming.name, data))
        if outgoing.owner is not None and isinstance(data, dict):
            self._remote.owners.record(outgoing.owner, str(data.get("id") or ""))
        if incoming.name in OPENAI_DIALECTS and isinstance(data, dict):
            raw = splice_field(raw, "x_gateway", route.x_gateway(usage))
        self._finish(record, route, "completed", usage, http_status=200, server_tools=tools)
        return Completed(None, route, usage, raw=raw, headers=relayable_headers(response.headers))

    async def _relay_stream(
        self,
        response: Http1Response,
        incoming: ClientRequest,
        outgoing: Outgoing,
        route: RouteReport,
        record: str,
        *,
        api_key: str,
    ) -> Streaming:
        stream = RelayedStream(
            response,
            stream_tap(incoming.name),
            idle_timeout_s=self.upstream.read_timeout_s,
            drop_frame=is_usage_only_chunk if outgoing.added_usage else None,
            api_key=api_key,
            max_event_bytes=self.upstream.max_sse_event_bytes,
        )
        await _primed(stream, route)
        self._recorder.first_token(record)
        dialect = incoming.dialect
        stub = incoming.stub(route.model)

        async def chunks() -> AsyncIterator[bytes]:
            outcome = stream.outcome
            try:
                # Closed with this generator, so the outcome is settled before it is recorded.
                async with contextlib.aclosing(stream.chunks()) as pieces:
                    async for piece in pieces:
                        yield piece
            except (OSError, TimeoutError, UpstreamMalformed) as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
                yield _stream_error(
                    dialect, stub, None, outcome.error, sequence=stream.next_sequence
                )
            finally:
                if outgoing.owner is not None and outcome.response_id:
                    self._remote.owners.record(outgoing.owner, outcome.response_id)
                self._finish_stream(record, route, outcome, incoming)

        return Streaming(route, chunks(), headers=relayable_headers(response.headers))

    # -- answers translated from another dialect ----------------------------------------

    async def _complete(
        self,
        response: Http1Response,
        incoming: ClientRequest,
        outgoing: Outgoing,
        up_name: str,
        route: RouteReport,
        record: str,
    ) -> Completed:
        raw = await self._read_whole(response, route)
        try:
            answer = DIALECTS[up_name].parse_response(jsonio.loads(raw))
        except (jsonio.JsonDecodeError, UpstreamMalformed) as exc:
            raise _malformed(route, exc) from None
        self._telemetry.answered(record, [answer.stop_reason])
        out = incoming.dialect.render_response(answer, outgoing.request)
        if incoming.name in OPENAI_DIALECTS:
            out["x_gateway"] = route.x_gateway(answer.usage)
        self._finish(record, route, "completed", answer.usage, http_status=200)
        return Completed(out, route, answer.usage)

    async def _open_stream(
        self,
        response: Http1Response,
        incoming: ClientRequest,
        outgoing: Outgoing,
        up_name: str,
        route: RouteReport,
        record: str,
        *,
        api_key: str,
    ) -> Streaming:
        stream = UpstreamStream(
            response,
            DIALECTS[up_name].stream_decoder(),
            idle_timeout_s=self.upstream.read_timeout_s,
            api_key=api_key,
            max_event_bytes=self.upstream.max_sse_event_bytes,
        )
        await _primed(stream, route)
        self._recorder.first_token(record)
        dialect = incoming.dialect
        request = outgoing.request or incoming.stub(route.model)
        encoder = dialect.stream_encoder(request)

        async def chunks() -> AsyncIterator[bytes]:
            outcome = stream.outcome
            try:
                async for piece in relay_events(stream.frames(), encoder):
                    yield piece
            except (OSError, TimeoutError, UpstreamMalformed, EngineError) as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
                yield _stream_error(dialect, request, encoder, outcome.error)
            finally:
                stream.close()
                self._finish_stream(record, route, outcome, incoming)

        return Streaming(route, chunks())

    async def _read_whole(self, response: Http1Response, route: RouteReport) -> bytes:
        try:
            try:
                raw = await response.read(
                    timeout_s=self.upstream.read_timeout_s, limit=self.upstream.max_answer_bytes
                )
            finally:
                response.release()
            # The answer goes to the caller who asked, except the operator's own secrets
            # (SECURITY.md 26): a model may have been steered into repeating them.
            return known_secrets.mask_bytes(raw)
        except BodyTooLarge as exc:
            raise UpstreamFailure(
                f"{route.provider}'s answer is larger than gateway.max_answer_bytes "
                f"({exc.limit} bytes); ask for a streamed answer or raise the setting",
                fallback=True,
                kind="too_large",
            ) from None
        except (OSError, TimeoutError) as exc:
            raise UpstreamFailure(
                f"{route.provider} broke off its answer: {type(exc).__name__}",
                fallback=True,
                kind="broken",
            ) from None

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
            attempts=len(route.attempts),
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

    def _record_refusal(self, caller: CallerInfo, route: RouteReport, error: EngineError) -> None:
        record = self._recorder.start(
            principal=caller.principal,
            provider=recorded_provider(
                route.provider
                or (route.attempts[0].target.split("/")[0] if route.attempts else "-")
            ),
            transport=caller.transport,
            tool=caller.endpoint,
            caller=caller.caller,
            model=route.requested_model or None,
            state="refused",
        )
        route.request_id = record
        # Refused, whatever the reason (a budget, a switch, no key): no provider was asked, so
        # nothing here says the provider failed (its health counts only calls it answered).
        self._recorder.finish(
            record,
            state=RecordState.REFUSED,
            error_code=error.code,
            http_status=error.http_status,
            attempts=len(route.attempts),
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
        server_tools: Mapping[str, int] | None = None,
        estimated: bool = False,
    ) -> None:
        # Upstream APIs report tokens, not money: the cost is the price table's estimate
        # (None for a model it does not know: "not priced", never $0). `estimated`: the tokens
        # are the gateway's own estimate too (the upstream reported none), and the row says so.
        cost = self._prices.cost_of(route.model, usage)
        note = cost_note(
            COST_ESTIMATED
            if estimated and cost is not None
            else self._prices.source_of(route.model)
            if cost is not None
            else None
        )
        routed = route.to_record() | ({"cost": note} if note is not None else {})
        if server_tools:
            # Server tools are billed per call, beside the tokens: priced where the table
            # knows the vendor's price, and always counted in the row's route.
            vendor = self._vendor_of(route.provider)
            tools_cost, unpriced = server_tool_cost(vendor, server_tools)
            cost = None if cost is None else round(cost + tools_cost, 8)
            routed["serverTools"] = dict(server_tools)
            if unpriced:
                routed["serverToolsUnpriced"] = list(unpriced)
        self._recorder.finish(
            record,
            state=state,
            model=route.model,
            cost_usd=cost,
            http_status=http_status,
            error_code=error_code,
            # Every try this request took, the answering one included (it is listed already).
            attempts=len(route.attempts),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            route=routed,
            requested_model=route.requested_model,
            project=route.project,
            fallback_used=route.fallback_used,
        )

    def _finish_stream(
        self, record: str, route: RouteReport, outcome: StreamOutcome, incoming: ClientRequest
    ) -> None:
        if outcome.stop_reason:
            self._telemetry.answered(record, [outcome.stop_reason])
        if outcome.error is not None:
            state, code = "failed", "stream_broken"
        elif outcome.completed:
            state, code = "completed", None
        else:
            state, code = self._cut()
        # OpenAI's dialects report usage in their last event only: a stream cut before it (the
        # client hung up, the upstream broke) was still billed by the vendor. It is counted at
        # its estimate, never at nothing, or a caller that always hangs up early would spend
        # under a hard budget without limit.
        usage, estimated = outcome.usage, outcome.usage.total_tokens == 0
        if estimated:
            usage = _estimated(incoming, outcome.events)
        self._finish(
            record,
            route,
            state,
            usage,
            http_status=200,
            error_code=code,
            server_tools=outcome.server_tools,
            estimated=estimated,
        )

    def _vendor_of(self, provider: str | None) -> str:
        """Whose server-tool prices apply: the vendor's own API only (a compatible server's
        tools are its own business, so unpriced)."""
        return provider if provider in ("anthropic", "openai") else ""

    def _cut(self) -> tuple[str, str]:
        """The row state and code of an answer cut short: the gateway's stop interrupted it,
        or else its client left."""
        if self.stopping:
            return RecordState.INTERRUPTED, ErrorCode.INTERRUPTED
        return RecordState.CANCELED, "client_disconnected"

    # -- one provider, token counts --------------------------------------------------------

    async def serve_exactly(
        self, target: Target, body: dict[str, Any], caller: CallerInfo, *, key: str | None = None
    ) -> Completed:
        """A whole (non-streaming) OpenAI-chat request served by `target` alone: no pin, no
        small-request rule, no fallback. It is how a person checks one provider (the
        dashboard's Test button); the request is recorded like any other. With `key`, an API
        target is sent that key alone instead of its pool (a key being tried before it is
        stored).

        Raises:
            InvalidRequest: the body is malformed.
            UpstreamRejected: the upstream refused the request.
            AllRoutesFailed: the target is not usable (no key, off, not installed) or failed.
            EngineError: the CLI failed in a way that says the request itself is wrong.
            ProjectForbidden: the caller's principal was not granted its project.
        """
        self._project_access(caller.principal, caller.project)
        outside = self._target_access(caller.principal, target.provider, target.model)
        if outside is not None:
            raise outside
        incoming = ClientRequest(DIALECT_OPENAI_CHAT, {**body, "stream": False})
        route = RouteReport(
            request_id=new_record_id(), requested_model=target.label, project=caller.project
        )
        answer: Completed | Streaming | None
        failure: UpstreamFailure | EngineError | None
        if target.kind == "cli":
            answer, failure = await self._try_cli(incoming, target, route, caller)
        else:
            plan = Plan(target.label, (target,), self.registry.route_for(target.label))
            answer, failure = await self._try_api(
                incoming, target, route, caller, plan, only_key=key
            )
        if isinstance(answer, Completed):
            return answer
        if isinstance(failure, InvalidRequest):
            raise failure
        raise AllRoutesFailed.from_attempts(target.label, route.attempts, failure)

    async def count_tokens(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        *,
        raw: bytes | None = None,
        url_model: str | None = None,
    ) -> TokenCount:
        """Input tokens of a request: counted by the provider that owns the model where it can
        count (Anthropic, Gemini, OpenAI), else an estimate (said so in the result).

        Raises:
            InvalidRequest: the body is malformed.
            NotFound: the model is unknown.
            ProjectForbidden: the caller's principal was not granted its project (whose key
                would count).
            VendorFeatureRefused: a remote caller's request, sent as it came, asked the vendor
                for a feature it is not allowed.
        """
        self._project_access(caller.principal, caller.project)
        return await self._counter.count(
            ClientRequest(front, body, raw, url_model=url_model, stream=False), caller
        )


def _estimated(incoming: ClientRequest, events: int) -> Usage:
    """What a call the upstream reported no usage for is counted at: its input as the token
    counter estimates it, and about a token of output for each event it had sent."""
    return Usage(input_tokens=estimated_input_tokens(incoming), output_tokens=events)


def _releasing(answer: Streaming, hold: Hold) -> Streaming:
    """`answer` whose budget hold is released once its chunks end (its row counted first) or
    the reader closes them."""
    return dataclasses.replace(answer, chunks=_HeldChunks(answer.chunks, hold))


class _HeldChunks:
    """A stream's chunks that release a budget hold when they end or are closed, even when
    closed before the first chunk was asked for (an async generator's `finally` would not
    run then)."""

    def __init__(self, chunks: AsyncIterator[bytes], hold: Hold) -> None:
        self._chunks = chunks
        self._hold = hold

    def __aiter__(self) -> _HeldChunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except BaseException:
            self._hold.release()
            raise

    async def aclose(self) -> None:
        try:
            close = getattr(self._chunks, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._hold.release()


async def _primed(stream: UpstreamStream | RelayedStream, route: RouteReport) -> None:
    """Wait for the stream's first frame; a failure before it may still fall back.

    Raises:
        UpstreamFailure: the stream ended, broke or reported an error before any answer.
    """
    try:
        await stream.prime()
    except (OSError, TimeoutError, UpstreamMalformed, EngineError) as exc:
        stream.close()
        raise UpstreamFailure(
            f"{route.provider} failed before its stream began: {exc}",
            fallback=True,
            kind="stream_start",
        ) from None


def _malformed(route: RouteReport, exc: Exception) -> UpstreamFailure:
    return UpstreamFailure(
        f"{route.provider} sent an answer that is not valid: {exc}",
        status=502,
        fallback=True,
        kind="malformed",
    )


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
