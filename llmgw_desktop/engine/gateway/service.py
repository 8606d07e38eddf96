"""The gateway's route: one request of any kind (a chat in any dialect, embeddings, a text
completion, an exact target, a token count), its targets planned and tried in order, and when
to move on.

`GatewayService.chat` reads the few facts routing needs from the client's body (model, stream;
`facts.py`), plans the targets (pin, small-request rule, owner, fallbacks), and tries them in
order: for an API, the kind's call through the one attempt loop (`api_targets.py`: each key of
its pool); for a CLI, one engine call. A target that speaks the client's dialect gets the
client's own request (`passthrough.py`) and its answer comes back as it was sent; any other
target gets a translation (`translation.py`), and what could not be carried is said in
`x-gateway-notice` or refused with a 400 naming it. It moves on after connect errors,
timeouts, 429 and 5xx, as long as nothing has been sent to the client; a stream is committed
once its first frame has arrived. Every request is written to the flight recorder with its
caller, route and the attempts it took.

This module is the route and nothing else: its parts are built and wired by the composition
root (`composition.py`), and live by concept: `api_targets.py` asks one API target key by key
for every kind, each kind's wire says what it sends and how its answer is read
(`chat_targets.py`, `embeddings/targets.py`, `completions/targets.py`), `answers.py` brings a
chat's answer back whole or streamed, `recording.py` writes the recorder's rows, and
`cli_targets.py` serves a CLI target."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from llmgw_desktop.config.api_catalog import (
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS
from llmgw_desktop.engine.errors import EngineError, InvalidRequest, NotFound, gateway_stopping
from llmgw_desktop.engine.gateway.balancing.balancer import Ordered
from llmgw_desktop.engine.gateway.cli_targets import cli_cost_basis, cli_unmetered, serve_on_cli
from llmgw_desktop.engine.gateway.clouds.models import underlying_model
from llmgw_desktop.engine.gateway.completions.request import fim_request
from llmgw_desktop.engine.gateway.completions.targets import Completion
from llmgw_desktop.engine.gateway.embeddings.request import (
    ENGINE_EMBED_ENDPOINT,
    EmbedRequest,
    embedding_from_texts,
    embedding_request,
)
from llmgw_desktop.engine.gateway.embeddings.targets import Embeddings
from llmgw_desktop.engine.gateway.errors import AllRoutesFailed, unanswered
from llmgw_desktop.engine.gateway.facts import has_images
from llmgw_desktop.engine.gateway.held_answers import releasing
from llmgw_desktop.engine.gateway.http_client.unreachable import UnreachableHosts
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamFailure
from llmgw_desktop.engine.gateway.in_flight import CallsInFlight
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.parts import GatewayParts
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.records.tracing import client_status, traced
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed, Streaming, TokenCount
from llmgw_desktop.engine.gateway.router import (
    Plan,
    Target,
    pin_caller,
    plan_request,
)
from llmgw_desktop.engine.guard.kinds import completion_answer, completion_sent, embedding_sent
from llmgw_desktop.engine.guard.policy import stays_local
from llmgw_desktop.engine.guard.service import (
    SEND,
    Decision,
    RequestGuard,
)
from llmgw_desktop.engine.recorder import new_record_id
from llmgw_desktop.engine.recorder.kinds import (
    KIND_CHAT,
    KIND_COMPLETION,
    KIND_EMBEDDING,
    REQUEST_KINDS,
)
from llmgw_desktop.engine.response_cache import TEXT_COMPLETION, CacheStats
from llmgw_desktop.engine.tokens.pricing import CostBasis
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["GatewayService"]

log = logging.getLogger(__name__)

_Answer = TypeVar("_Answer")
# What asking one target gives: its answer, or why not (the failure or refusal, if any).
_Asked = tuple[_Answer | None, UpstreamFailure | EngineError | None]
# How one target is asked: what the outbound guard decided it may be sent (`Decision`).
_Ask = Callable[[Target, Plan, Decision], Awaitable[_Asked[_Answer]]]


def _error_front(front: str) -> str:
    """The dialect whose status rules an embedding front door's errors follow."""
    return DIALECT_GEMINI if front.startswith("gemini") else DIALECT_OPENAI_CHAT


class GatewayService:
    """The route: one request of any kind planned, its targets tried in order (each as its
    kind asks it), and when to move on; one per engine. Its parts are built by the
    composition root (`composition.build_gateway`)."""

    def __init__(
        self,
        parts: GatewayParts,
        *,
        project_access: Callable[[str, str | None], None],
        target_access: Callable[[str, str, str], EngineError | None],
    ) -> None:
        self.registry = parts.registry
        self.balancer = parts.balancer
        self.directory = parts.directory
        self.keys = parts.keys
        self.upstream = parts.upstream
        self.clouds = parts.clouds
        self.cache = parts.cache
        self.semantic = parts.semantic
        self.guard = parts.guard
        self._p = parts
        # Raises `BudgetExceeded` when a hard budget covering the caller is used up (checked
        # before routing), when a hard dollar budget could not count a target (checked before
        # it is asked), or when calls running hold the rest of it (an API target reserves its
        # estimate before it is sent). Either way no upstream is asked, no stream starts.
        self._budgets = parts.budgets
        # (principal, project) -> raises `ProjectForbidden` when the principal was not granted
        # the project whose keys and budgets the request names (`engine/auth/projects.py`).
        # Required, as the scope check below: a gateway wired without one fails to start
        # rather than letting everyone in.
        self._project_access = project_access
        # (principal, provider, model) -> the refusal when a gateway key's scope leaves that
        # target out (`engine/auth/key_scope.py`): checked per target, after aliases, routes
        # and fallbacks are resolved, so none of them leads a key out of its scope.
        self._target_access = target_access
        # Requests of each kind since start (the Overview's line; the recorder has the rest).
        self._kinds = dict.fromkeys(REQUEST_KINDS, 0)
        # The calls choosing or asking a target now: a stop ends them (`end_in_flight`).
        self._in_flight = CallsInFlight()

    @property
    def unreachable(self) -> UnreachableHosts:
        """The API hosts rested after connect failures in a row (`rested()`: which, now)."""
        return self._p.api.unreachable

    @property
    def cache_stats(self) -> CacheStats | None:
        """What the response cache did since start; None while it is off."""
        return self.cache.stats if self.cache is not None and self.cache.enabled else None

    @property
    def kind_counts(self) -> dict[str, int]:
        """Requests of each kind (chat, embedding, completion) since start."""
        return dict(self._kinds)

    @property
    def cache_problem(self) -> str | None:
        """Why the response cache's file fails now (cannot be opened, the last write
        refused), as `/health` says it; None while it works or is off."""
        if self.cache is None or not self.cache.enabled:
            return None
        return self.cache.store.health()["lastError"]

    async def close(self) -> None:
        """Stop the balancer's watch, close the upstream pool and the response cache's file."""
        self.balancer.close()
        await self.upstream.close()
        if self.cache is not None:
            await self.cache.close()

    @property
    def stopping(self) -> bool:
        """Set when the gateway stops: an answer cut then was interrupted, not abandoned."""
        return self._p.records.stopping

    @stopping.setter
    def stopping(self, value: bool) -> None:
        self._p.records.stopping = value

    def end_in_flight(self) -> int:
        """A stop's word to the calls still choosing or asking a target (their answer not
        begun): each ends now, its caller told `gateway_stopping` in its door's form and its
        attempt's row `interrupted`, rather than cut off as the front doors close. How many."""
        return self._in_flight.end_all()

    @property
    def ending(self) -> bool:
        """Whether a call the stop ended has not yet turned into its caller's answer."""
        return self._in_flight.ending

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
        route = self._new_route(caller, body.get("model"))
        self._kinds[KIND_CHAT] += 1
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
            return self._p.capture.answered(front, body, raw, caller, url_model, answer)
        except EngineError as error:
            self._refused(front, caller, route, error)
            self._p.capture.refused(front, body, raw, caller, url_model, route, error)
            raise

    def _new_route(self, caller: CallerInfo, model: object) -> RouteReport:
        """The route report of a request as it comes in (its row's id chosen now)."""
        # Positional, as the request path calls classes (`engine/values.py`).
        route = RouteReport(
            new_record_id(),
            model if isinstance(model, str) else "",
            caller.project,
            caller.replay_of,
        )
        route.trace_id = self._p.telemetry.trace_id()
        if self.cache is not None and self.cache.enabled:
            route.cache = "miss"  # until the cache answers
        return route

    def _refused(
        self, front: str, caller: CallerInfo, route: RouteReport, error: EngineError
    ) -> None:
        """The recorder's row of a request that ends in `error`, the error's trace, and the
        first refusal of its kind said where the person running the gateway looks."""
        status = client_status(front, error.http_status)
        if not route.recorded:
            # Refused before any provider was asked (bad body, unknown model, no key):
            # still one row, so the recorder shows every request that came in.
            self._p.records.record_refusal(caller, route, error)
        else:
            # The row the answer names ends as the client saw it (a 502 all_routes_failed),
            # not as its own attempt did (the route log keeps each attempt's outcome).
            self._p.records.end_as_answered(route, error, status)
        self._p.first_refusals.note(caller.caller, route, error, status)
        traced(error, route)
        self._p.callbacks.refused(caller.proven, error)

    # -- embeddings -------------------------------------------------------------------------

    async def embeddings(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        *,
        url_model: str | None = None,
    ) -> Embeddings:
        """Serve one embedding request from the front door `front` (`embeddings/request.py`'s
        a `FRONT_*`; `url_model`: the model a Gemini URL names), routed as a chat is (aliases,
        routes, fallbacks, key scope) to a target that embeds.

        Raises:
            InvalidRequest: the body is malformed, no model, or no target of the route can
                embed it (each named).
            NotFound: the model is unknown.
            UpstreamRejected: the upstream refused the request itself.
            AllRoutesFailed: every target failed or was unavailable.
            BudgetExceeded: a hard budget covering the caller has no room for its input.
            ProjectForbidden: the caller's principal was not granted its project.
        """
        route = self._new_route(caller, url_model or body.get("model"))
        try:
            request = embedding_request(front, body, url_model=url_model)
        except EngineError as error:
            self._refused(_error_front(front), caller, route, error)
            raise
        return await self._embed(request, caller, route)

    async def _embed(
        self, request: EmbedRequest, caller: CallerInfo, route: RouteReport
    ) -> Embeddings:
        self._kinds[KIND_EMBEDDING] += 1
        try:
            self._project_access(caller.principal, caller.project)
            self._budgets.check(caller.principal, caller.caller, caller.project)
            if not request.model:
                raise InvalidRequest("model: required (an embedding model)", param="model")

            def ask(
                target: Target, plan: Plan, decision: Decision
            ) -> Awaitable[_Asked[Embeddings]]:
                if target.kind == "cli":
                    return self._cli_cannot(target, route, "does not embed")
                sent = embedding_sent(decision, request)
                return self._p.embeddings.ask(sent, target, route, caller, plan)

            asked = request.body or {"input": list(request.inputs)}
            guard = self._guard_of(asked, caller, route, answered=False)  # a vector
            return await self._route(request.model, caller, route, ask, guard=guard)
        except EngineError as error:
            self._refused(_error_front(request.front), caller, route, error)
            raise

    async def embed(
        self,
        texts: Sequence[str],
        model: str,
        principal: str,
        *,
        project: str | None = None,
        dimensions: int | None = None,
        caller: str = "",
        transport: str = "engine",
    ) -> Embeddings:
        """Embed `texts` with `model` for `principal`: the engine's own call (a semantic cache,
        a search), served, budgeted, cached and recorded as an HTTP client's request is.

        Raises:
            InvalidRequest, NotFound, UpstreamRejected, AllRoutesFailed, BudgetExceeded,
                ProjectForbidden: as `embeddings`.
        """
        who = CallerInfo(
            principal=principal,
            caller=caller,
            project=project,
            endpoint=ENGINE_EMBED_ENDPOINT,
            transport=transport,
        )
        try:
            request = embedding_from_texts(texts, model, dimensions=dimensions)
        except EngineError as error:
            self._refused(DIALECT_OPENAI_CHAT, who, self._new_route(who, model), error)
            raise
        return await self._embed(request, who, self._new_route(who, model))

    # -- text completions (fill in the middle) --------------------------------------------

    async def completions(self, front: str, body: dict[str, Any], caller: CallerInfo) -> Completion:
        """Serve one text completion (`prompt`, and `suffix` for fill-in-the-middle) from the
        front door `front` (`FIM_OPENAI`, `FIM_OLLAMA`), routed as a chat is to a target that
        completes; a stream's row ends when its pieces do (cut when its client leaves).

        Raises:
            InvalidRequest: the body is malformed, no model, or no target of the route takes
                text completions (each named).
            NotFound, UpstreamRejected, AllRoutesFailed, BudgetExceeded, ProjectForbidden:
                as `chat`.
        """
        route = self._new_route(caller, body.get("model"))
        self._kinds[KIND_COMPLETION] += 1
        if self.cache is not None:
            self.cache.pass_over(route, TEXT_COMPLETION)
        try:
            request = fim_request(front, body)
            self._project_access(caller.principal, caller.project)
            self._budgets.check(caller.principal, caller.caller, caller.project)
            model = request.model or self.registry.config.default_model
            if not model:
                raise InvalidRequest("model: required", param="model")

            async def ask(target: Target, plan: Plan, decision: Decision) -> _Asked[Completion]:
                if target.kind == "cli":
                    return await self._cli_cannot(target, route, "does not take text completions")
                sent = completion_sent(decision, request)
                answer, failure = await self._p.completions.ask(sent, target, route, caller, plan)
                return (None if answer is None else completion_answer(decision, answer)), failure

            asked = request.body or {"prompt": request.prompt, "suffix": request.suffix}
            guard = self._guard_of(asked, caller, route)
            return await self._route(model, caller, route, ask, guard=guard)
        except EngineError as error:
            self._refused(DIALECT_OPENAI_CHAT, caller, route, error)
            raise

    async def _cli_cannot(self, target: Target, route: RouteReport, what: str) -> _Asked[Any]:
        """A CLI target of a kind only API targets serve: passed over, saying so."""
        route.attempts.append(Attempt(target.label, "", Outcome.UNTRANSLATABLE))
        return None, InvalidRequest(f"{target.label} is a coding CLI, which {what}", param="model")

    async def _serve(
        self, incoming: ClientRequest, caller: CallerInfo, route: RouteReport
    ) -> Completed | Streaming:
        config = self.registry.config
        requested = incoming.facts.model or config.default_model
        if not requested:
            raise InvalidRequest("model: required (or set gateway.default_model)", param="model")

        async def ask(
            target: Target, plan: Plan, decision: Decision
        ) -> _Asked[Completed | Streaming]:
            sent = decision.request(incoming)
            asked: _Asked[Completed | Streaming]
            if target.kind == "cli":
                asked = await self._try_cli(sent, target, route, caller)
            else:
                asked = await self._p.chats.ask(sent, target, route, caller, plan)
            answer, failure = asked
            return (None if answer is None else decision.answer(answer, incoming.name)), failure

        return await self._route(
            requested,
            caller,
            route,
            ask,
            small=lambda: self._is_small(incoming),
            tokens=incoming.facts.estimated_tokens,
            cost=lambda target: self._estimated_cost(target, incoming),
            guard=self._guard_of(incoming.body, caller, route, size=len(incoming.raw)),
        )

    def _guard_of(
        self,
        body: Any,
        caller: CallerInfo,
        route: RouteReport,
        *,
        size: int | None = None,
        answered: bool = True,
    ) -> RequestGuard | None:
        """The outbound guard of one request whose content is `body` (`size`: its bytes, where
        known; `answered`: its answer is text, which may repeat the operator's keys)."""
        if self.guard is None:
            return None
        answers = self._p.answer_scan if answered else None
        return self.guard.for_request(body, caller, route, size=size, answers=answers)

    async def _route(
        self,
        requested: str,
        caller: CallerInfo,
        route: RouteReport,
        ask: _Ask[_Answer],
        *,
        small: Callable[[], bool] | None = None,
        tokens: int = 0,
        cost: Callable[[Target], float | None] | None = None,
        guard: RequestGuard | None = None,
    ) -> _Answer:
        """Plan `requested`'s targets and `ask` each in the order the balancer gives, past
        those the caller's key, a hard dollar budget or a CLI's budget leave out, until one
        answers: the one policy of targets, their order and when to move on, for every kind of
        call (`small`: whether the request is small, asked only where a route sends small
        requests elsewhere; `tokens`, `cost`: its estimated input and its cost at a target,
        for the strategies that weigh them). The outbound `guard` decides, per target, what
        the request may be sent as: this loop is the one place every request leaves the
        machine.

        Raises:
            NotFound, InvalidRequest, UpstreamRejected, AllRoutesFailed, BudgetExceeded: as
                `chat` says.
            ProviderUnavailable: the gateway is stopping (`gateway_stopping`): before a target
                is asked, or the stop ended the call (`end_in_flight`).
        """
        plan, ordered = self._planned(requested, caller, route, small, tokens, cost)
        last: UpstreamFailure | EngineError | None = None
        refusals: list[EngineError] = []
        over_budget: list[EngineError] = []
        task = self._in_flight.began()
        try:
            for index, target in enumerate(ordered.targets):
                if self.stopping:
                    # Arriving now, or a target failed as the stop ended its work (a CLI's job
                    # interrupted): no other target is asked for a caller the stop tells.
                    raise gateway_stopping()
                route.fallback_used = index > 0
                route.chosen_because = ordered.reason(index)
                decision = await self._may_ask(target, caller, guard)
                if not isinstance(decision, Decision):
                    # Passed over (its outcome in the route): a later target may still serve.
                    outcome, refusal = decision
                    route.attempts.append(Attempt(target.label, "", outcome))
                    over_budget.append(refusal)
                    continue
                answer, failure = await self._balanced(
                    target, plan, decision, ask, caller.principal
                )
                if answer is not None:
                    # Before its first byte goes out: a stream's row is kept on disk from here.
                    self._p.records.answer_begins(route.request_id)
                    return answer
                if isinstance(failure, InvalidRequest):
                    refusals.append(failure)
                last = failure if failure is not None else last
        except asyncio.CancelledError:
            if not self._in_flight.stopped(task):
                raise  # its caller left
            raise gateway_stopping() from None
        finally:
            self._in_flight.left(task)
        raise unanswered(
            requested,
            route.attempts,
            last,
            plan.hints,
            refusals=refusals,
            over_budget=over_budget,
            key_env=self.keys.env_names,
            caller=caller.caller,
        )

    def _planned(
        self,
        requested: str,
        caller: CallerInfo,
        route: RouteReport,
        small: Callable[[], bool] | None,
        tokens: int,
        cost: Callable[[Target], float | None] | None,
    ) -> tuple[Plan, Ordered]:
        """`requested`'s plan (pin, small-request rule, route, fallbacks) for `caller`, noted in
        `route`, and its targets in the order the balancer tries them.

        Raises:
            NotFound: the model is unknown.
        """
        route.requested_model = requested
        route.requested_provider = requested.partition("/")[0] if "/" in requested else None
        pinned_as = pin_caller(caller.principal, caller.caller, caller.proven)
        try:
            plan = plan_request(self.registry, requested, caller=pinned_as)
        except NotFound as exc:
            if requested != self.registry.config.default_model:
                raise
            # Every request naming no model asks for it (the door or the tool fills it in):
            # the setting is what to fix, which its caller may never have named.
            raise NotFound(
                f"unknown model {requested!r}, which is gateway.default_model, the model of "
                "every request naming none: no provider lists it. Set gateway.default_model "
                "to a model GET /v1/models lists (Settings, 'Model when a request names "
                "none'), or name a model in the request",
                code=exc.code,
                param="model",
            ) from None
        if plan.small_target and small is not None and small():
            plan = plan_request(self.registry, requested, caller=pinned_as, small=True)
        route.rule = plan.rule
        ordered = self.balancer.order(
            plan,
            principal=caller.principal,
            caller=caller.caller,
            tokens=tokens,
            cost=cost or _unpriced_cost,
        )
        return plan, ordered

    async def _may_ask(
        self, target: Target, caller: CallerInfo, guard: RequestGuard | None
    ) -> Decision | tuple[Outcome, EngineError]:
        """What `target` may be sent by the outbound guard's decision; or, passed over, why
        (its outcome in the route, and the refusal to answer with if every target is): outside
        the caller's key's scope, a hard dollar budget that cannot count it, a CLI a hard budget
        cannot stop at its hold, the guard's refusal."""
        outside = self._target_access(caller.principal, target.provider, target.model)
        if outside is not None:
            return Outcome.OUTSIDE_KEY_SCOPE, outside
        unpriced = self._unpriced(target, caller)
        if unpriced is not None:
            return Outcome.UNPRICED, unpriced  # a priced fallback may serve
        # Only a CLI's job can run unmetered: an API target is not awaited for nothing.
        unstoppable = await self._unmetered(target, caller) if target.kind == "cli" else None
        if unstoppable is not None:
            return Outcome.UNMETERED, unstoppable  # a fallback that stops at its hold may serve
        decision = SEND if guard is None else await guard.decide(*self._guarded(target))
        if decision.refusal is not None:
            return Outcome.GUARD_BLOCKED, decision.refusal  # a provider on this machine may serve
        return decision

    async def _balanced(
        self,
        target: Target,
        plan: Plan,
        decision: Decision,
        ask: _Ask[_Answer],
        principal: str,
    ) -> _Asked[_Answer]:
        """`ask` one target for `principal` (as the guard's `decision` lets it be sent),
        counted in flight until its answer ends (a stream's when its chunks do); what it
        teaches the balancer (an answer, a failure, and whose) on the way."""
        flight = self.balancer.began(target, principal)
        started = time.perf_counter()
        try:
            answer, failure = await ask(target, plan, decision)
        except BaseException:
            flight.release()
            raise
        if answer is None:
            flight.release()
            if isinstance(failure, UpstreamFailure):
                self.balancer.failed(
                    target,
                    failure.outcome,
                    failure.retry_after_s,
                    principal=principal,
                    body=failure.body_digest,
                )
            return None, failure
        if target.kind == "cli":  # an API target's time is taken per attempt, to its first token
            self.balancer.answered(target, time.perf_counter() - started, {}, principal=principal)
        # A stream whose end tells how it went (an API target's: `Line.stream_ended`) counts in
        # the route's share there, if whole; a CLI's or the cache's counts now, as a whole answer.
        ends_told = (
            answer.outcome is not None
            if isinstance(answer, Streaming)
            else isinstance(answer, Completion) and answer.pieces is not None
        )
        if not ends_told:
            self.balancer.served(plan, target)
        if isinstance(answer, Streaming):
            return releasing(answer, flight), None  # type: ignore[return-value]
        flight.release()
        return answer, None

    def _estimated_cost(self, target: Target, incoming: ClientRequest) -> float | None:
        """What `incoming` would cost at `target` by the price book (its estimated input, and
        its output limit or a typical answer); None where the target is not priced."""
        if target.kind != "api":
            return None
        model = underlying_model(self.registry.provider(target.provider), target.model)
        price = self._p.prices.price_of(model, target.provider)
        if price is None:
            return None
        facts = incoming.facts
        # `max_output` is every answer's limit together already.
        output = facts.max_output or ESTIMATED_OUTPUT_TOKENS * facts.answers
        return price.cost(Usage(facts.estimated_tokens, output))

    def _guarded(self, target: Target) -> tuple[str, str, bool]:
        """What the guard's settings call `target`'s provider (a CLI by its engine id), its
        model, and whether the request stays on this machine (a base URL on loopback)."""
        if target.kind == "cli":
            catalog = self.registry.config.catalog
            return catalog.engine_id(target.provider) or target.provider, target.model, False
        spec = self.registry.provider(target.provider)
        local = spec is not None and stays_local(self.keys.base_url(spec))
        return target.provider, target.model, local

    def _unpriced(self, target: Target, caller: CallerInfo) -> EngineError | None:
        """The refusal of a hard dollar budget that could not count `target`, else None."""
        if target.kind == "cli":
            cost = cli_cost_basis(target, self._p.prices, self.registry.config.catalog)
        else:
            model = underlying_model(self.registry.provider(target.provider), target.model)
            if self._p.prices.price_of(model, target.provider) is not None:
                return None  # priced: `CostBasis.api` would say so, built for nothing
            cost = CostBasis.api(target.provider, model, self._p.prices)
        if cost.priced:
            return None
        try:
            self._budgets.check(caller.principal, caller.caller, caller.project, cost)
        except EngineError as refusal:  # BudgetExceeded
            return refusal
        return None

    async def _unmetered(self, target: Target, caller: CallerInfo) -> EngineError | None:
        """The refusal of a hard budget under which a CLI target's job could not be counted as
        it runs (its model calls would not come back through the gateway), else None."""
        if target.kind != "cli":
            return None
        found = await cli_unmetered(target, caller, self.registry.config.catalog, self._p.callbacks)
        if found is None:
            return None
        engine_id, why = found
        try:
            self._budgets.refuse_unmetered(
                caller.principal, caller.caller, caller.project, engine_id, why
            )
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
            route.attempts.append(Attempt(target.label, "", Outcome.UNTRANSLATABLE))
            return None, exc
        return await serve_on_cli(
            self._p.cli,
            self._p.cli_available,
            incoming.dialect,
            request,
            target,
            route,
            caller,
            self.registry.config.catalog,
            went_on=functools.partial(self._p.records.went_on, route),
        )

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
        # A check of the provider is answered by the provider: a kept answer would say a
        # broken one works (and is not kept for a request a client sends).
        caller = dataclasses.replace(caller, cache_control="no-store")
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
            answer, failure = await self._p.chats.ask(
                incoming, target, route, caller, plan, only_key=key
            )
        if isinstance(answer, Completed):
            return answer
        if isinstance(failure, InvalidRequest):
            raise failure
        raise AllRoutesFailed.from_attempts(
            target.label, route.attempts, failure, key_env=self.keys.env_names
        )

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
        return await self._p.counter.count(
            ClientRequest(front, body, raw, url_model=url_model, stream=False), caller
        )


def _unpriced_cost(_target: Target) -> float | None:
    """The cost estimate of a call the route's strategy cannot weigh (an embedding, a
    completion): none, so `lowest-cost` keeps their listed order."""
    return None
