"""One API target of a route: the keys of its pool in order, a budget hold of its estimate,
what it is sent (the client's own bytes where it speaks the client's dialect, else a
translation), and one attempt per key until one answers, refuses the request itself, or all
have failed. Each attempt is its own row in the flight recorder."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_GEMINI, ApiProviderSpec
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS, CallAsk, Hold, SpendGuard
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest
from llmgw_desktop.engine.gateway.answers import AnswerRelay
from llmgw_desktop.engine.gateway.balancing.balancer import Balancer
from llmgw_desktop.engine.gateway.cached_answers import CachedAnswers
from llmgw_desktop.engine.gateway.capabilities import target_model
from llmgw_desktop.engine.gateway.clouds.models import capability_provider, underlying_model
from llmgw_desktop.engine.gateway.dialects.by_name import upstream_dialect
from llmgw_desktop.engine.gateway.errors import UpstreamRejected
from llmgw_desktop.engine.gateway.facts import MAX_ANSWERS_HELD
from llmgw_desktop.engine.gateway.held_answers import releasing
from llmgw_desktop.engine.gateway.http_client.http1_response import Http1Response
from llmgw_desktop.engine.gateway.http_client.unreachable import RESTING_OUTCOME, UnreachableHosts
from llmgw_desktop.engine.gateway.http_client.upstream import (
    CONNECT_OUTCOME,
    HUNG_OUTCOME,
    NOT_CONFIGURED_OUTCOME,
    SHARE_OUTCOME,
    UpstreamClient,
    UpstreamFailure,
    UpstreamTarget,
)
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.keys import KeyChain, PoolKey
from llmgw_desktop.engine.gateway.outgoing import Outgoing
from llmgw_desktop.engine.gateway.output_limit import limit_changes
from llmgw_desktop.engine.gateway.records.recording import RequestRecords
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed, Streaming
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target
from llmgw_desktop.engine.gateway.same_dialect.passthrough import (
    forwardable_query,
    passthrough_body,
)
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.gateway.semantic_cache import SemanticCache, SemanticProbe
from llmgw_desktop.engine.gateway.translation import Untranslatable, encode_request, notice_for
from llmgw_desktop.engine.response_cache import CachedAnswer, Lookup, ResponseCache, keyed_headers
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["CANDIDATE_KEY_LABEL", "OWN_ADDRESS_OUTCOME", "ApiTargets"]

# The route log's outcome of a local server whose address is this gateway's own (not asked).
OWN_ADDRESS_OUTCOME = "own_address"
# The route log's name for a key a person is trying before storing it (`serve_exactly(key=)`).
CANDIDATE_KEY_LABEL = "key being tried"


class ApiTargets:
    """Asks API providers, key by key; one per gateway."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        keys: KeyChain,
        upstream: UpstreamClient,
        api_refusal: Callable[[str], str | None],
        budgets: SpendGuard,
        remote: RemotePassthrough,
        telemetry: Telemetry,
        prices: PriceBook,
        answers: AnswerRelay,
        records: RequestRecords,
        cache: ResponseCache | None = None,
        balancer: Balancer | None = None,
        semantic: SemanticCache | None = None,
    ) -> None:
        self.registry = registry
        # Learns each target's time to first token and quota from its answers.
        self._balancer = balancer or Balancer()
        self.keys = keys
        self.upstream = upstream
        # API provider id -> None when the user's switches let it run, else the attempt
        # outcome saying why not ("disabled": switched off, "paused": every provider is).
        self._api_refusal = api_refusal
        # Raises `BudgetExceeded` when calls running hold the rest of a hard budget: an API
        # target reserves its estimate before it is sent, so no upstream is asked.
        self._budgets = budgets
        # Which vendor features a remote caller may send on the operator's account, and which
        # stored responses are whose.
        self._remote = remote
        self._telemetry = telemetry
        self._prices = prices
        self._answers = answers
        self._records = records
        # Exact repeats answered without an upstream call (off unless configured).
        self.cache = cache
        self._from_cache = (
            CachedAnswers(cache, records, prices, semantic) if cache is not None else None
        )
        # Hosts rested after connect failures in a row: their routes are passed over at once.
        self.unreachable = UnreachableHosts()

    async def ask(
        self,
        incoming: ClientRequest,
        target: Target,
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
        *,
        only_key: str | None = None,
    ) -> tuple[Completed | Streaming | None, UpstreamFailure | EngineError | None]:
        """Ask `target` key by key (`only_key`: that key alone): the answer, or why not (an
        attempt outcome in `route`, with the failure or refusal when there is one).

        Raises:
            UpstreamRejected: a key's upstream refused the request itself (not worth another key).
            BudgetExceeded: calls running hold the rest of a hard budget (nothing was sent).
            VendorFeatureRefused, RepeatedKey: a remote caller's same-dialect body (not sent).
            EngineError: the request holds a value our HTTP client will not write (not sent).
        """
        usable = await self.usable(target, route, caller, only_key)
        if not isinstance(usable, tuple):
            return None, usable
        spec, pool = usable
        up_name = _dialect_sent(incoming.name, spec, target.model)
        # What a request that goes as it came must be sent with, once what it asks of the
        # vendor's account is checked (a remote caller gets what the operator allows; raises
        # VendorFeatureRefused, RepeatedKey): checked once, for every build.
        checked: dict[str, Any] = {}
        if up_name == incoming.name:
            headers = caller.passthrough_headers or {}
            checked = self._remote.check(
                caller.principal, up_name, incoming.body, headers, raw=incoming.raw
            )
        # A call continuing a stored response makes the vendor read that exchange again.
        carried = self._remote.carried_input(caller.principal, incoming.name, incoming.body)
        ask = self._call_ask(incoming, spec, target.model, carried)
        # Built once where it can be (`_expected`), with the limit the hold will send; the
        # response cache's key is the request without it.
        expected = None
        if self.cache is None or only_key is not None:
            expected = self._expected(incoming, spec.id, up_name, caller, ask)
        try:
            outgoing = self._outgoing(
                incoming, target, spec, up_name, caller, expected, checked=checked
            )
        except InvalidRequest as exc:
            route.attempts.append(Attempt(target.label, "", "untranslatable"))
            return None, exc
        lookup = None
        probe = None
        from_cache = self._from_cache if only_key is None else None
        if from_cache is not None:
            found, lookup, probe, outgoing = await self._look_in_cache(
                from_cache, incoming, caller, route, target, outgoing
            )
            if found is not None:
                return from_cache.replayed(found, incoming, spec.id, target, route, caller), None
        hold, per_answer = await self._hold(incoming, caller, route, ask, carried)
        try:
            if per_answer != expected:
                outgoing, lookup = self._limited(
                    incoming, target, spec, up_name, caller, checked, outgoing, lookup, per_answer
                )
            answer, failure = await self._each_key(
                incoming, outgoing, spec, up_name, target, pool, route, caller, plan, hold
            )
            if isinstance(answer, Streaming):
                # Held until the stream's row is counted, when its chunks end.
                answer, hold = releasing(answer, hold), Hold()
            if answer is not None and lookup is not None and from_cache is not None:
                answer = from_cache.kept(lookup, answer, target, probe)
            return answer, failure
        finally:
            # A whole answer's row was counted before it came back: the hold goes now.
            hold.release()

    def _call_ask(
        self, incoming: ClientRequest, spec: ApiProviderSpec, model: str, carried: int
    ) -> CallAsk:
        """What the call asks of the budgets: its model's price, the input it sends (with the
        `carried` input of a stored response it continues) and the output it may take."""
        facts = incoming.facts
        # A cloud's model is priced as the model it is (a deployment's, a Bedrock id's).
        priced_as = underlying_model(spec, model) if spec.cloud else model
        return CallAsk(
            priced_as,
            facts.estimated_tokens + carried,
            facts.max_output,
            default_output=(self._prices.max_output_of(priced_as) or ESTIMATED_OUTPUT_TOKENS)
            * facts.answers,
            price=self._prices.price_of(priced_as, spec.id),
        )

    async def _look_in_cache(
        self,
        from_cache: CachedAnswers,
        incoming: ClientRequest,
        caller: CallerInfo,
        route: RouteReport,
        target: Target,
        outgoing: Outgoing,
    ) -> tuple[CachedAnswer | None, Lookup | None, SemanticProbe | None, Outgoing]:
        """The response cache's kept answer to `outgoing`, when it has one; else the key (and
        the semantic probe) its own answer will be kept under (None: not kept), and `outgoing`
        as it is sent then."""
        lookup = from_cache.cache.lookup_for(
            incoming,
            caller,
            route,
            outgoing.data,
            target.label,
            outgoing.headers,
            translated=not outgoing.passthrough,
        )
        if lookup is None:
            return None, None, None, outgoing
        found, probe = await from_cache.find(lookup, incoming, caller, route)
        if found is None and outgoing.headers:
            # What the cache's key leaves out is not sent: no upstream can answer by it.
            outgoing = dataclasses.replace(outgoing, headers=keyed_headers(outgoing.headers))
        return found, lookup, probe, outgoing

    async def _hold(
        self,
        incoming: ClientRequest,
        caller: CallerInfo,
        route: RouteReport,
        ask: CallAsk,
        carried: int,
    ) -> tuple[Hold, int | None]:
        """Reserve the call's estimate on the budgets that cover it: the hold, and the output
        limit per answer it pays for (None: the request goes with the client's own); `route`
        notes what was held.

        Raises:
            BudgetExceeded: calls running hold the rest of a hard budget (nothing was sent).
            InvalidRequest: more answers asked for than a hard budget holds.
        """
        facts = incoming.facts
        hold = await self._budgets.reserve(caller.principal, caller.caller, caller.project, ask)
        if hold.output_tokens and facts.answers_asked > facts.answers:
            # Held for MAX_ANSWERS_HELD answers: a server that allows more would bill them all.
            hold.release()
            raise InvalidRequest(
                f"{facts.answers_asked} answers asked for: at most {MAX_ANSWERS_HELD} under a "
                "hard budget (each is held at its output limit until the call is counted)",
                param="candidateCount" if incoming.name == DIALECT_GEMINI else "n",
            )
        per_answer = None if hold.send_limit is None else max(1, hold.send_limit // facts.answers)
        route.held_output = hold.output_tokens
        route.carried_input = carried
        # The limit is said in `x-gateway-max-tokens` where the gateway chose it: the client
        # named none, or the budget had room for less.
        route.max_tokens = per_answer if facts.max_output is None or hold.lowered else None
        return hold, per_answer

    def _limited(
        self,
        incoming: ClientRequest,
        target: Target,
        spec: ApiProviderSpec,
        up_name: str,
        caller: CallerInfo,
        checked: dict[str, Any],
        outgoing: Outgoing,
        lookup: Lookup | None,
        per_answer: int | None,
    ) -> tuple[Outgoing, Lookup | None]:
        """`outgoing` with the output limit the hold paid for (`output_limit.py`) and no other,
        and the cache's `lookup` for it (an answer so limited is kept only if it ends by
        itself)."""
        rendered = outgoing.rendered
        limited = (
            self._outgoing(incoming, target, spec, up_name, caller, per_answer, checked=checked)
            if rendered is None
            else outgoing.with_limit(rendered, up_name, spec.id, per_answer)
        )
        if limited.data == outgoing.data:
            return outgoing, lookup
        # Kept only if it ends by itself: an answer cut at a budget's limit is not one for
        # callers without it (every call under a hard dollar budget that names no limit is
        # sent one, and would otherwise never be kept).
        return limited, None if lookup is None else replace(lookup, limited=True)

    async def _each_key(
        self,
        incoming: ClientRequest,
        outgoing: Outgoing,
        spec: ApiProviderSpec,
        up_name: str,
        target: Target,
        pool: list[PoolKey],
        route: RouteReport,
        caller: CallerInfo,
        plan: Plan,
        hold: Hold,
    ) -> tuple[Completed | Streaming | None, UpstreamFailure | None]:
        """Send `outgoing` with each key of `pool` in the route's order until one answers:
        the answer, or the last failure once no other key may be tried.

        Raises:
            UpstreamRejected: a key's upstream refused the request itself (not worth another key).
            EngineError: the request holds a value our HTTP client will not write (not sent).
        """
        failure: UpstreamFailure | None = None
        for key in self.keys.order(
            spec.id, pool, strategy=plan.route.strategy, caller=caller.caller
        ):
            answer, failure = await self._attempt(
                incoming, outgoing, spec, up_name, target, key, route, caller
            )
            if answer is not None:
                return answer, None
            if failure is not None:
                failure.relayable = outgoing.passthrough
            if failure is not None and failure.billed and hold.output_tokens:
                # Billed on this hold already: another key would be a second call the
                # budget never admitted (another target of the route is admitted anew).
                return None, failure
            if failure is not None and failure.kind in (SHARE_OUTCOME, HUNG_OUTCOME):
                # The caller's own share of this host is in use, or the host stopped
                # answering: no key of it would do.
                return None, failure
            if failure is not None and not failure.next_key:
                status = failure.status or 502
                raw = failure.raw_body if outgoing.passthrough else None
                raise UpstreamRejected(
                    status,
                    failure.message,
                    raw_body=raw,
                    retry_after_s=failure.retry_after_s,
                    code=failure.code,
                ) from None
        return None, failure

    async def usable(
        self, target: Target, route: RouteReport, caller: CallerInfo, only_key: str | None = None
    ) -> tuple[ApiProviderSpec, list[PoolKey]] | UpstreamFailure | None:
        """`target`'s provider and the keys of its pool (`only_key`: that key alone) when it
        may be asked now; else why not, as an attempt outcome in `route` (with the failure to
        report, when there is one): switched off, no key, a cloud not set up, its host
        resting. Every kind of call (chat, embeddings) asks this before it sends."""
        spec = self.registry.provider(target.provider)
        # Off in config.toml or by the user's switch: the same outcome, so the route moves on
        # (or the client is told the provider is switched off) either way.
        refusal = "disabled" if spec is None or not spec.enabled else self._api_refusal(spec.id)
        if spec is None or refusal is not None:
            route.attempts.append(Attempt(target.label, "", refusal or "disabled"))
            return None
        if spec.local and self.keys.points_at_us(spec):
            # This gateway serves that port itself (`http.ollama_port`): not an upstream.
            route.attempts.append(Attempt(target.label, "", OWN_ADDRESS_OUTCOME))
            return None
        if only_key is not None:
            pool = [PoolKey(CANDIDATE_KEY_LABEL, only_key)]
        else:
            pool = await self.keys.pool(spec, caller.project)
        if not pool:
            # Keys may be in the vault, whose database cannot be reached: not "no key".
            outcome = "store_unavailable" if self.keys.vault_unreachable else "no_key"
            route.attempts.append(Attempt(target.label, "", outcome))
            return None
        cloud = self.upstream.cloud(spec.id) if spec.cloud else None
        if (
            cloud is not None
            and (problem := cloud.problem(keyed=any(k.value for k in pool))) is not None
        ):
            # No endpoint, region or project: nothing to send it to (the message says what).
            route.attempts.append(Attempt(target.label, "", NOT_CONFIGURED_OUTCOME))
            return UpstreamFailure(
                problem,
                fallback=True,
                kind=NOT_CONFIGURED_OUTCOME,
                code=ErrorCode.CLOUD_NOT_CONFIGURED,
            )
        resting = self.unreachable.refusal(spec.id, self.keys.base_url(spec))
        if resting is not None:  # the next route at once, not this one's connect attempt
            route.attempts.append(Attempt(target.label, "", RESTING_OUTCOME))
            return resting
        return spec, pool

    def _expected(
        self, incoming: ClientRequest, provider: str, up_name: str, caller: CallerInfo, ask: CallAsk
    ) -> int | None:
        """The output limit (per answer) to build the request with before its hold: the one the
        hold sends if the budget has room for the whole call, where it only adds members the
        client did not send (or sets a translation's own; None else). Those are shallow, so the
        body can be written with it exactly when without: one that cannot is refused first."""
        limit = self._budgets.expected_limit(caller.principal, caller.caller, caller.project, ask)
        per_answer = None if limit is None else max(1, limit // incoming.facts.answers)
        if per_answer is None or up_name != incoming.name:
            return per_answer
        body = incoming.body
        for name, value in limit_changes(up_name, body, per_answer, provider=provider).items():
            if body.get(name, value) != value:
                return None
        return per_answer

    def _outgoing(
        self,
        incoming: ClientRequest,
        target: Target,
        spec: ApiProviderSpec,
        up_name: str,
        caller: CallerInfo,
        per_answer: int | None = None,
        *,
        checked: dict[str, Any],
    ) -> Outgoing:
        """What `target` is sent (`per_answer`: the output limit a hard budget held, which the
        request is sent with: `output_limit.py`; `checked`: what the remote check said it must
        be sent with).

        Raises:
            InvalidRequest: the request cannot be translated for this target (`Untranslatable`
                names the feature and the model), or is nested too deeply to be written.
        """
        facts = incoming.facts
        if up_name == incoming.name:
            sent_with = checked
            if per_answer is not None:
                limited = limit_changes(up_name, incoming.body, per_answer, provider=spec.id)
                # Only what differs: a client whose own limit was held keeps its bytes.
                changed = {k: v for k, v in limited.items() if incoming.body.get(k) != v}
                sent_with = {**(sent_with or {}), **changed}
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
                query=forwardable_query(up_name, caller.passthrough_query),
                added_usage=forwarded.added_usage,
                owner=caller.principal
                if self._remote.keeps_owner(caller.principal, up_name)
                else None,
            )
        # Translated: vendor features do not cross, but an image or document named by its
        # address does, and the target vendor fetches it (`web_fetch`).
        self._remote.check_translated(caller.principal, incoming.name, incoming.body)
        model = target_model(
            spec.id,
            target.model,
            up_name,
            like=(
                capability_provider(spec, target.model, up_name),
                underlying_model(spec, target.model),
            )
            if spec.cloud
            else None,
        )
        try:
            with self._telemetry.span(
                "translate", {"llmgw.from_dialect": incoming.name, "llmgw.to_dialect": up_name}
            ):
                request = incoming.neutral()
                notes = list(request.left_out)
                body = upstream_dialect(up_name).render_request(
                    incoming.for_target(target.model), target=model, notes=notes
                )
        except Untranslatable as exc:
            raise exc.for_target(model, incoming.name) from None
        if (spec.id == "openai" or spec.cloud == "azure") and "max_tokens" in body:
            # OpenAI's reasoning models refuse max_tokens (on Azure too); every OpenAI model
            # takes this name.
            body["max_completion_tokens"] = body.pop("max_tokens")
        sent = body  # `rendered` stays without the limit: another is set on a copy of it
        if per_answer is not None:
            sent = {**body, **limit_changes(up_name, body, per_answer, provider=spec.id)}
        return Outgoing(
            encode_request(sent),
            passthrough=False,
            request=request,
            notice=notice_for(model, notes),
            rendered=body,
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
        # The row is opened once the request is written, while the upstream thinks.
        record, open_row = self._records.attempt_to_open(route, caller, spec.id, target.model)
        if self._telemetry.enabled:  # the span's name and attributes made only for export
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
        ok: Attempt | None = None
        asked = False
        try:
            try:
                response = await self._sent(
                    upstream_target, target, outgoing, incoming, caller, record, open_row
                )
            finally:
                open_row()  # a request that never went out has its row too, before it ends
            asked = True
            route.provider, route.model, route.kind = spec.id, target.model, "api"
            route.price_model = underlying_model(spec, target.model) if spec.cloud else ""
            # Listed before the answer is rendered, so `x_gateway` includes it.
            ok = Attempt(target.label, key.label, "ok")
            route.attempts.append(ok)
            if outgoing.notice:
                route.notices.append(outgoing.notice)
            self.unreachable.connected(spec.id, upstream_target.base_url)
            answer = await self._answers.answer(
                response, incoming, outgoing, up_name, route, record, api_key=key.value or ""
            )
            # Whole, or its first frame come: the time to first token of a stream.
            took = time.perf_counter() - started
            self._balancer.answered(target, took, response.headers, principal=caller.principal)
        except UpstreamFailure as exc:
            if ok is not None and route.attempts and route.attempts[-1] is ok:
                route.attempts.pop()  # the answer broke after the status was fine
                if outgoing.notice and route.notices and route.notices[-1] == outgoing.notice:
                    route.notices.pop()
            # After a 2xx the upstream took the call and bills it, whatever became of the
            # body (too large, cut, not JSON): counted as a cut stream is, never at nothing.
            exc.billed = asked
            if exc.kind == CONNECT_OUTCOME:
                # Before the row finishes: the window reads the rests when it hears of the row.
                self.unreachable.failed(spec.id, upstream_target.base_url, exc.message)
            elif exc.status is not None:
                # An answer came back (a 500, a 429): a connection was made, so the connect
                # failures in a row end, as they do with a 200.
                self.unreachable.connected(spec.id, upstream_target.base_url)
            self._records.note_failure(
                route, target, key, exc, record, started, billed=incoming if asked else None
            )
            if exc.status == 429:
                self.keys.rest(spec.id, key, exc.retry_after_s)
            return None, exc
        except asyncio.CancelledError:
            # The client left before the answer began: the row ends now, or it stays open.
            # Under a hard budget a request on its way may have reached the vendor, which
            # answers (and bills) whoever is listening: it counts as asked (at its hold).
            if not asked and route.held_output > 0:
                asked = True
                route.provider, route.model, route.kind = spec.id, target.model, "api"
            self._records.cut_before_answer(record, route, incoming, asked=asked)
            raise
        except EngineError as exc:
            # Refused on its way out (a value our HTTP client will not write): the same.
            self._records.finish(
                record, route, "refused", Usage(), http_status=exc.http_status, error_code=exc.code
            )
            raise
        return answer, None

    async def _sent(
        self,
        upstream_target: UpstreamTarget,
        target: Target,
        outgoing: Outgoing,
        incoming: ClientRequest,
        caller: CallerInfo,
        record: str,
        open_row: Callable[[], None],
    ) -> Http1Response:
        """`outgoing` sent to `upstream_target`, once the head of its answer is in; the wait
        for it watched by the balancer, which gives it up when the target stops answering.

        Raises:
            UpstreamFailure: no answer, an error status, or the target found hung (`hung`).
        """
        probe = functools.partial(self.upstream.answers, upstream_target)
        async with self._balancer.first_byte(target, probe):
            return await self.upstream.send(
                upstream_target,
                outgoing.data,
                stream=incoming.facts.stream,
                passthrough_headers=self._telemetry.upstream_headers(record, outgoing.headers),
                query=outgoing.query,
                principal=caller.principal,
                while_waiting=open_row,
            )


def _dialect_sent(asked: str, spec: ApiProviderSpec, model: str) -> str:
    """The dialect `spec` is spoken to for `model`: the client's own (`asked`) where the
    provider, or that model of it, speaks it; else the provider's own (the model's first)."""
    speaks = spec.speaks_for(model) if spec.model_dialects else None
    if speaks is None:
        return asked if asked in (spec.dialect, *spec.also_speaks) else spec.dialect
    return asked if asked in speaks else speaks[0]
