"""One API target of an embedding request: the same gates as a chat's (`ApiTargets.usable`:
switches, key pool, cloud set-up, resting hosts), the response cache, a budget hold of its
input, then one attempt per key until one answers. Each attempt is its own recorder row, priced
at the embedding model's input price; an answer with no usage (the Gemini API reports none) is
counted at its estimate and says so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import ApiProviderSpec
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.budgets.holds import CallAsk, Hold, SpendGuard
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.api_targets import ApiTargets
from llmgw_desktop.engine.gateway.cached_answers import CachedAnswers
from llmgw_desktop.engine.gateway.clouds import EMBED
from llmgw_desktop.engine.gateway.clouds.models import underlying_model
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.embeddings.request import FRONT_OPENAI, EmbedRequest
from llmgw_desktop.engine.gateway.embeddings.wires import Embedded, EmbedWire, embed_wire
from llmgw_desktop.engine.gateway.errors import UpstreamRejected
from llmgw_desktop.engine.gateway.http_client.http1_response import BodyTooLarge, Http1Response
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
from llmgw_desktop.engine.response_cache import Lookup, ResponseCache
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["EmbeddingTargets", "Embeddings"]


@dataclass(frozen=True)
class Embeddings:
    """An embedding request's answer: one vector per input, what the call used (nothing for
    an answer from the cache), its route, and the request (whose front door's shape the
    answer is given in)."""

    vectors: list[list[float]]
    usage: Usage
    route: RouteReport
    request: EmbedRequest


class EmbeddingTargets:
    """Asks API providers for embeddings, key by key; one per gateway."""

    def __init__(
        self,
        *,
        api: ApiTargets,
        budgets: SpendGuard,
        prices: PriceBook,
        records: RequestRecords,
        telemetry: Telemetry,
        cache: ResponseCache | None = None,
    ) -> None:
        self._api = api  # the gates every API call passes, its keys, upstream and rests
        self._budgets = budgets
        self._prices = prices
        self._records = records
        self._telemetry = telemetry
        self._cache = (
            CachedAnswers(cache, records, prices) if cache is not None and cache.enabled else None
        )

    async def ask(
        self,
        request: EmbedRequest,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
    ) -> tuple[Embeddings | None, UpstreamFailure | EngineError | None]:
        """Ask `target` key by key: the answer, or why not (an attempt outcome in `route`,
        with the failure or refusal when there is one).

        Raises:
            UpstreamRejected: a key's upstream refused the request itself.
            BudgetExceeded: a hard budget has no room for the call's input (nothing was sent).
        """
        usable = await self._api.usable(target, route, caller)
        if not isinstance(usable, tuple):
            return None, usable
        spec, pool = usable
        wire = embed_wire(spec, target.model, request)
        if isinstance(wire, str):
            route.attempts.append(Attempt(target.label, "", "untranslatable"))
            return None, InvalidRequest(wire, param="model")
        bodies = wire.bodies(request, target.model)
        lookup = None
        if self._cache is not None:
            sent = bodies[0] if len(bodies) == 1 else b"[" + b",".join(bodies) + b"]"
            lookup = self._cache.cache.embedding_lookup(caller, route, sent, target.label)
            found = await self._cache.cache.find(lookup) if lookup is not None else None
            if found is not None:
                record, saved, saved_usd = self._cache.hit(found, spec.id, target, route, caller)
                self._records.finish_cached(record, route, saved, saved_usd)
                return Embeddings(
                    jsonio.loads(found.body)["vectors"], Usage(), route, request
                ), None
        priced_as = underlying_model(spec, target.model) if spec.cloud else target.model
        ask = CallAsk(
            priced_as,
            request.estimated_tokens,
            0,
            default_output=0,
            price=self._prices.price_of(priced_as),
            can_limit=False,
        )
        hold = await self._budgets.reserve(caller.principal, caller.caller, caller.project, ask)
        try:
            return await self._keys(
                request, spec, wire, bodies, target, pool, route, caller, plan, lookup, hold
            )
        finally:
            # The row was counted before the answer came back: the hold goes now.
            hold.release()

    async def _keys(
        self,
        request: EmbedRequest,
        spec: ApiProviderSpec,
        wire: EmbedWire,
        bodies: list[bytes],
        target: Target,
        pool: list[PoolKey],
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
        lookup: Lookup | None,
        hold: Hold,
    ) -> tuple[Embeddings | None, UpstreamFailure | None]:
        """Each key of the pool in the route's order, until one answers.

        Raises:
            UpstreamRejected: an upstream refused the request itself (no other key would do).
        """
        failure: UpstreamFailure | None = None
        keys = self._api.keys
        for key in keys.order(spec.id, pool, strategy=plan.route.strategy, caller=caller.caller):
            answer, failure = await self._attempt(
                request, spec, wire, bodies, target, key, route, caller
            )
            if answer is not None or failure is None:
                if answer is not None and lookup is not None:
                    self._keep(lookup, answer, route)
                return answer, None
            if failure.billed or failure.kind == SHARE_OUTCOME:
                # Billed: another key would be a second call the budget never admitted.
                return None, failure
            if not failure.next_key:
                raw = (
                    failure.raw_body
                    if request.front == FRONT_OPENAI and wire.name == "openai"
                    else None
                )
                raise UpstreamRejected(
                    failure.status or 502,
                    failure.message,
                    raw_body=raw,
                    retry_after_s=failure.retry_after_s,
                    code=failure.code,
                ) from None
        return None, failure

    async def _attempt(
        self,
        request: EmbedRequest,
        spec: ApiProviderSpec,
        wire: EmbedWire,
        bodies: list[bytes],
        target: Target,
        key: PoolKey,
        route: RouteReport,
        caller: CallerInfo,
    ) -> tuple[Embeddings | None, UpstreamFailure | None]:
        """One key of one target: the answer, or the failure (recorded either way)."""
        base = self._api.keys.base_url(spec)
        upstream_target = UpstreamTarget(
            spec.id,
            base,
            spec.dialect_for(target.model),
            target.model,
            key.value,
            key.label,
            operation=EMBED,
            endpoint="" if spec.cloud else wire.url(base, target.model),
        )
        record, open_row = self._records.attempt_to_open(route, caller, spec.id, target.model)
        if self._telemetry.enabled:
            self._telemetry.attempt(
                record,
                f"embeddings {target.model}",
                {
                    "gen_ai.operation.name": "embeddings",
                    "gen_ai.provider.name": spec.id,
                    "gen_ai.request.model": target.model,
                    "llmgw.key": key.label,
                },
            )
        started = time.perf_counter()
        estimate = Usage(input_tokens=request.estimated_tokens)
        asked = False
        try:
            try:
                answers: list[tuple[Any, Mapping[str, str]]] = []
                for body in bodies:  # one, or one a text (Titan)
                    response = await self._api.upstream.send(
                        upstream_target,
                        body,
                        stream=False,
                        passthrough_headers=self._telemetry.upstream_headers(record, None),
                        principal=caller.principal,
                        while_waiting=open_row,
                    )
                    asked = True
                    answers.append((await self._read(response, spec.id), response.headers))
            finally:
                open_row()  # a request that never went out has its row too
            embedded = _parsed(wire, answers, len(request.inputs), spec.id)
        except UpstreamFailure as exc:
            exc.billed = asked
            self._note_reach(spec.id, base, exc)
            self._records.note_failure(
                route, target, key, exc, record, started, billed=estimate if asked else None
            )
            if exc.status == 429:
                self._api.keys.rest(spec.id, key, exc.retry_after_s)
            return None, exc
        except asyncio.CancelledError:
            # The client left: the row ends now; a call that went out is billed at its estimate.
            self._records.cut_before_answer(record, route, estimate, asked=asked)
            raise
        except EngineError as exc:  # refused on its way out (a value the client will not write)
            self._records.finish(
                record, route, "refused", Usage(), http_status=exc.http_status, error_code=exc.code
            )
            raise
        self._api.unreachable.connected(spec.id, base)
        return self._answered(embedded, estimate, request, spec, target, key, route, record), None

    def _answered(
        self,
        embedded: Embedded,
        estimate: Usage,
        request: EmbedRequest,
        spec: ApiProviderSpec,
        target: Target,
        key: PoolKey,
        route: RouteReport,
        record: str,
    ) -> Embeddings:
        """The answer of an attempt that succeeded, its row finished at the upstream's count
        (or the estimate, said so)."""
        route.provider, route.model, route.kind = spec.id, target.model, "api"
        route.price_model = underlying_model(spec, target.model) if spec.cloud else ""
        route.attempts.append(Attempt(target.label, key.label, "ok"))
        counted = embedded.input_tokens
        usage = estimate if counted is None else Usage(input_tokens=counted)
        self._records.finish(
            record, route, "completed", usage, http_status=200, estimated=counted is None
        )
        return Embeddings(embedded.vectors, usage, route, request)

    def _keep(self, lookup: Lookup, answer: Embeddings, route: RouteReport) -> None:
        """Keep the answer's vectors for an exact repeat, with what the call cost."""
        if self._cache is None:
            return
        cost = self._prices.cost_of(route.price_model or route.model, answer.usage)
        body = jsonio.dumps({"vectors": answer.vectors})
        self._cache.cache.keep_embedding(lookup, body, answer.usage, cost)

    def _note_reach(self, provider: str, base: str, failure: UpstreamFailure) -> None:
        """A failed connect rests the host; any answer (a 500, a 429) ends the run of them."""
        if failure.kind == CONNECT_OUTCOME:
            self._api.unreachable.failed(provider, base, failure.message)
        elif failure.status is not None:
            self._api.unreachable.connected(provider, base)

    async def _read(self, response: Http1Response, provider: str) -> Any:
        """An answer's JSON, read whole within the read timeout and the size limit.

        Raises:
            UpstreamFailure: it broke off, was too large or is not JSON (fallback).
        """
        upstream = self._api.upstream
        try:
            try:
                raw = await response.read(
                    timeout_s=upstream.read_timeout_s, limit=upstream.max_answer_bytes
                )
            finally:
                response.release()
        except BodyTooLarge as exc:
            raise UpstreamFailure(
                f"{provider}'s answer is larger than gateway.max_answer_bytes ({exc.limit} "
                "bytes); embed fewer inputs a request or raise the setting",
                fallback=True,
                kind="too_large",
            ) from None
        except (OSError, TimeoutError) as exc:
            raise UpstreamFailure(
                f"{provider} broke off its answer: {type(exc).__name__}",
                fallback=True,
                kind="broken",
            ) from None
        try:
            return jsonio.loads(raw)
        except jsonio.JsonDecodeError as exc:
            raise _malformed(provider, exc) from None


def _parsed(
    wire: EmbedWire, answers: list[tuple[Any, Mapping[str, str]]], inputs: int, provider: str
) -> Embedded:
    """The vectors of the upstream's answers, one per input.

    Raises:
        UpstreamFailure: they are not of the wire's shape, or not one vector per input.
    """
    try:
        embedded = wire.parse(answers)
    except UpstreamMalformed as exc:
        raise _malformed(provider, exc) from None
    if len(embedded.vectors) != inputs:
        raise _malformed(
            provider, ValueError(f"{len(embedded.vectors)} vectors for {inputs} inputs")
        )
    return embedded


def _malformed(provider: str, exc: Exception) -> UpstreamFailure:
    return UpstreamFailure(
        f"{provider} sent an embedding answer that is not valid: {exc}",
        status=502,
        fallback=True,
        kind="malformed",
    )
