"""The embedding kind of call to an API target: the response cache, a budget hold of its input,
and its wire (`_EmbeddingWire`): the body (or a body a text) its provider's API takes and the
vectors of its answer, counted at the embedding model's input price; an answer with no usage
(the Gemini API reports none) is counted at its estimate and says so. The gates, keys,
attempts and rows are the one attempt loop's (`api_targets.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.budgets.holds import CallAsk
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.api_targets import ApiCall, ApiTargets, Line
from llmgw_desktop.engine.gateway.cached_answers import CachedAnswers
from llmgw_desktop.engine.gateway.clouds import EMBED
from llmgw_desktop.engine.gateway.clouds.models import underlying_model
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.by_name import addressed
from llmgw_desktop.engine.gateway.embeddings.request import FRONT_OPENAI, EmbedRequest
from llmgw_desktop.engine.gateway.embeddings.wires import Embedded, EmbedWire, embed_wire
from llmgw_desktop.engine.gateway.http_client.upstream import (
    UpstreamFailure,
    UpstreamTarget,
    malformed_answer,
)
from llmgw_desktop.engine.gateway.keys import PoolKey
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.router import Plan, Target
from llmgw_desktop.engine.response_cache import Lookup, ResponseCache
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
    """Asks API targets for embeddings; one per gateway."""

    def __init__(
        self,
        *,
        api: ApiTargets,
        prices: PriceBook,
        cache: ResponseCache | None = None,
    ) -> None:
        self._api = api  # the one attempt loop: gates, hold, keys, attempts, rows
        self._prices = prices
        self._records = api.records
        self._cache = (
            CachedAnswers(cache, api.records, prices)
            if cache is not None and cache.enabled
            else None
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
        call = await self._api.usable(target, route, caller, plan)
        if not isinstance(call, ApiCall):
            return None, call
        spec = call.spec
        wire = embed_wire(spec, target.model, request)
        if isinstance(wire, str):
            route.attempts.append(Attempt(target.label, "", Outcome.UNTRANSLATABLE))
            return None, InvalidRequest(wire, param="model")
        embedding = _EmbeddingWire(request, call, wire)
        lookup = None
        if self._cache is not None:
            bodies = embedding.bodies
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
            request.held_input_tokens,
            0,
            default_output=0,
            price=self._prices.price_of(priced_as),
            can_limit=False,
        )
        hold, _ = await self._api.hold(caller, route, ask)
        answer, failure = await self._api.ask(call, embedding, hold)
        if answer is not None and lookup is not None:
            self._keep(lookup, answer, route)
        return answer, failure

    def _keep(self, lookup: Lookup, answer: Embeddings, route: RouteReport) -> None:
        """Keep the answer's vectors for an exact repeat, with what the call cost."""
        if self._cache is None:
            return
        cost = self._prices.cost_of(route.price_model or route.model, answer.usage)
        body = jsonio.dumps({"vectors": answer.vectors})
        self._cache.cache.keep_embedding(lookup, body, answer.usage, cost)


class _EmbeddingWire:
    """An embedding call's wire: its bodies (one, or one a text), the vectors of the answers."""

    __slots__ = ("_bodies", "_call", "_request", "_wire", "translated")

    operation = "embeddings"
    notice: str | None = None

    def __init__(self, request: EmbedRequest, call: ApiCall, wire: EmbedWire) -> None:
        self._request = request
        self._call = call
        self._wire = wire
        self._bodies = wire.bodies(request, call.target.model)
        # An OpenAI client's request to an OpenAI-shaped API goes as it came.
        self.translated = not (request.front == FRONT_OPENAI and wire.name == "openai")

    def address(self, base_url: str, key: PoolKey) -> UpstreamTarget:
        spec, model = self._call.spec, self._call.target.model
        return addressed(
            spec.id,
            base_url,
            spec.dialect_for(model),
            model,
            key.value,
            key.label,
            operation=EMBED,
            endpoint="" if spec.cloud else self._wire.url(base_url, model),
        )

    @property
    def bodies(self) -> list[bytes]:
        return self._bodies

    async def exchange(self, line: Line) -> Embeddings:
        provider = self._call.spec.id
        answers: list[tuple[Any, Mapping[str, str]]] = []
        for body in self._bodies:  # one, or one a text (Titan)
            answer = await line.send(body, stream=False)
            raw = await answer.whole(advice="embed fewer inputs a request or raise the setting")
            try:
                answers.append((jsonio.loads(raw), answer.headers))
            except jsonio.JsonDecodeError as exc:
                raise malformed_answer(provider, exc, "an embedding answer") from None
        embedded = _parsed(self._wire, answers, len(self._request.inputs), provider)
        counted = embedded.input_tokens
        reported = None if counted is None else Usage(input_tokens=counted)
        usage = line.answered(reported, 0)
        return Embeddings(embedded.vectors, usage, self._call.route, self._request)

    def estimate(self) -> Usage:
        return Usage(input_tokens=self._request.estimated_tokens)

    def estimated(self, written: int) -> Usage:
        return self.estimate()  # an embedding writes no output tokens

    def relayed_error(self, failure: UpstreamFailure) -> bytes | None:
        return None if self.translated else failure.raw_body


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
        raise malformed_answer(provider, exc, "an embedding answer") from None
    if len(embedded.vectors) != inputs:
        raise malformed_answer(
            provider,
            ValueError(f"{len(embedded.vectors)} vectors for {inputs} inputs"),
            "an embedding answer",
        )
    return embedded
