"""The chat kind of call to an API target: what it is sent (the client's own bytes where the
target speaks the client's dialect, else a translation), the output limit a hard budget paid
for, answers from and into the response cache, and its wire (`_ChatWire`): the answer brought
back whole or streamed by `answers.py`. The keys, attempts and rows are the one attempt loop's
(`api_targets.py`)."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_GEMINI, ApiProviderSpec
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS, CallAsk, Hold
from llmgw_desktop.engine.errors import EngineError, InvalidRequest
from llmgw_desktop.engine.gateway.answers import AnswerRelay, Sent
from llmgw_desktop.engine.gateway.api_targets import ApiCall, ApiTargets, Line
from llmgw_desktop.engine.gateway.cached_answers import CachedAnswers
from llmgw_desktop.engine.gateway.capabilities import target_model
from llmgw_desktop.engine.gateway.clouds.models import capability_provider, underlying_model
from llmgw_desktop.engine.gateway.counting import estimated_input_tokens
from llmgw_desktop.engine.gateway.dialects.by_name import addressed, upstream_dialect
from llmgw_desktop.engine.gateway.facts import ONE_ANSWER, Answers
from llmgw_desktop.engine.gateway.held_answers import releasing
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamFailure, UpstreamTarget
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.keys import PoolKey
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.outgoing import Outgoing
from llmgw_desktop.engine.gateway.output_limit import limit_changes
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed, Streaming
from llmgw_desktop.engine.gateway.router import Plan, Target
from llmgw_desktop.engine.gateway.same_dialect.passthrough import (
    forwardable_query,
    passthrough_body,
)
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.gateway.semantic_cache import SemanticCache, SemanticProbe
from llmgw_desktop.engine.gateway.translation import Untranslatable, encode_request, notice_for
from llmgw_desktop.engine.response_cache import CachedAnswer, Lookup, ResponseCache, keyed_headers
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["ChatTargets"]


class ChatTargets:
    """Asks API targets for chat answers; one per gateway."""

    def __init__(
        self,
        *,
        api: ApiTargets,
        remote: RemotePassthrough,
        prices: PriceBook,
        answers: AnswerRelay,
        cache: ResponseCache | None = None,
        semantic: SemanticCache | None = None,
    ) -> None:
        self._api = api  # the one attempt loop: gates, hold, keys, attempts, rows, spans
        # Which vendor features a remote caller may send on the operator's account, and which
        # stored responses are whose.
        self._remote = remote
        self._prices = prices
        self._answers = answers
        # Exact repeats answered without an upstream call (off unless configured).
        self.cache = cache
        self._from_cache = (
            CachedAnswers(cache, api.records, prices, semantic) if cache is not None else None
        )

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
        call = await self._api.usable(target, route, caller, plan, only_key)
        if not isinstance(call, ApiCall):
            return None, call
        up_name = _dialect_sent(incoming.name, call.spec, target.model)
        chat = _Chat(self._answers, incoming, call, up_name)
        if up_name == incoming.name:
            # What a request that goes as it came must be sent with, once what it asks of the
            # vendor's account is checked (a remote caller gets what the operator allows;
            # raises VendorFeatureRefused, RepeatedKey): checked once, for every build.
            headers = caller.passthrough_headers or {}
            chat.checked = self._remote.check(
                caller.principal, up_name, incoming.body, headers, raw=incoming.raw
            )
        # A call continuing a stored response makes the vendor read that exchange again.
        carried = self._remote.carried_input(caller.principal, incoming.name, incoming.body)
        ask = self._call_ask(chat, carried)
        # Built once where it can be (`_expected`), with the limit the hold will send; the
        # response cache's key is the request without it.
        expected = None
        if self.cache is None or only_key is not None:
            expected = self._expected(chat, ask)
        try:
            chat.outgoing = self._outgoing(chat, expected)
        except InvalidRequest as exc:
            route.attempts.append(Attempt(target.label, "", Outcome.UNTRANSLATABLE))
            return None, exc
        lookup = probe = None
        from_cache = self._from_cache if only_key is None else None
        if from_cache is not None:
            found, lookup, probe = await self._look_in_cache(from_cache, chat)
            if found is not None:
                return from_cache.replayed(
                    found, incoming, call.spec.id, target, route, caller
                ), None
        hold, per_answer = await self._hold(chat, ask, carried)
        if per_answer != expected:
            try:
                lookup = self._limited(chat, lookup, per_answer)
            except BaseException:
                hold.release()
                raise
        chat.notice = chat.outgoing.notice
        answer, failure = await self._api.ask(call, chat, hold)
        if isinstance(failure, UpstreamFailure):
            # Sent as the client wrote it (its own dialect): its error may go back as it came.
            failure.relayable = chat.outgoing.passthrough
        if answer is not None and lookup is not None and from_cache is not None:
            answer = from_cache.kept(lookup, answer, target, probe)
        return answer, failure

    def _call_ask(self, chat: _Chat, carried: int) -> CallAsk:
        """What the call asks of the budgets: its model's price, the input it sends (with the
        `carried` input of a stored response it continues) and the output it may take."""
        incoming, spec, model = chat.incoming, chat.call.spec, chat.call.target.model
        facts = incoming.facts
        # A cloud's model is priced as the model it is (a deployment's, a Bedrock id's).
        priced_as = underlying_model(spec, model) if spec.cloud else model
        default_output = (
            self._prices.max_output_of(priced_as) or ESTIMATED_OUTPUT_TOKENS
        ) * facts.answers
        # Positional, as the request path calls classes (`engine/values.py`).
        return CallAsk(
            priced_as,
            facts.held_input_tokens + carried,
            facts.max_output,
            default_output,
            self._prices.price_of(priced_as, spec.id),
        )

    async def _look_in_cache(
        self, from_cache: CachedAnswers, chat: _Chat
    ) -> tuple[CachedAnswer | None, Lookup | None, SemanticProbe | None]:
        """The response cache's kept answer to what `chat` sends, when it has one; else the key
        (and the semantic probe) its own answer will be kept under (None: not kept), and what
        it sends then."""
        incoming, outgoing = chat.incoming, chat.outgoing
        call = chat.call
        lookup = from_cache.cache.lookup_for(
            incoming,
            call.caller,
            call.route,
            outgoing.data,
            call.target.label,
            outgoing.headers,
            translated=not outgoing.passthrough,
        )
        if lookup is None:
            return None, None, None
        found, probe = await from_cache.find(lookup, incoming, call.caller, call.route)
        if found is None and outgoing.headers:
            # What the cache's key leaves out is not sent: no upstream can answer by it.
            chat.outgoing = dataclasses.replace(outgoing, headers=keyed_headers(outgoing.headers))
        return found, lookup, probe

    async def _hold(self, chat: _Chat, ask: CallAsk, carried: int) -> tuple[Hold, int | None]:
        """Reserve the call's estimate on the budgets that cover it: the hold, and the output
        limit per answer it pays for (None: the request goes with the client's own); the route
        notes what was held.

        Raises:
            BudgetExceeded: calls running hold the rest of a hard budget (nothing was sent).
            InvalidRequest: more answers asked for than a hard budget holds.
        """
        incoming, route = chat.incoming, chat.call.route
        facts = incoming.facts
        answers = ONE_ANSWER
        if facts.answers_asked > 1:
            field = "candidateCount" if incoming.name == DIALECT_GEMINI else "n"
            answers = Answers.of(facts.answers_asked, field)
        hold, per_answer = await self._api.hold(chat.call.caller, route, ask, answers=answers)
        route.carried_input = carried
        return hold, per_answer

    def _limited(self, chat: _Chat, lookup: Lookup | None, per_answer: int | None) -> Lookup | None:
        """`chat` sent with the output limit the hold paid for (`output_limit.py`) and no
        other, and the cache's `lookup` for it (an answer so limited is kept only if it ends by
        itself)."""
        outgoing = chat.outgoing
        rendered = outgoing.rendered
        limited = (
            self._outgoing(chat, per_answer)
            if rendered is None
            else outgoing.with_limit(
                rendered, chat.up_name, chat.call.spec.chat_output_limit, per_answer
            )
        )
        if limited.data == outgoing.data:
            return lookup
        chat.outgoing = limited
        # Kept only if it ends by itself: an answer cut at a budget's limit is not one for
        # callers without it (every call under a hard dollar budget that names no limit is
        # sent one, and would otherwise never be kept).
        return None if lookup is None else replace(lookup, limited=True)

    def _expected(self, chat: _Chat, ask: CallAsk) -> int | None:
        """The output limit (per answer) to build the request with before its hold: the one the
        hold sends if the budget has room for the whole call, where it only adds members the
        client did not send (or sets a translation's own; None else). Those are shallow, so the
        body can be written with it exactly when without: one that cannot is refused first."""
        incoming, caller, up_name = chat.incoming, chat.call.caller, chat.up_name
        limit = self._api.budgets.expected_limit(
            caller.principal, caller.caller, caller.project, ask
        )
        per_answer = None if limit is None else limit // incoming.facts.answers
        if per_answer is not None and per_answer < 1:  # not max(): `engine/values.py`
            per_answer = 1
        if per_answer is None or up_name != incoming.name:
            return per_answer
        body = incoming.body
        for name, value in chat.limit_changes(per_answer).items():
            if body.get(name, value) != value:
                return None
        return per_answer

    def _outgoing(self, chat: _Chat, per_answer: int | None = None) -> Outgoing:
        """What `chat`'s target is sent (`per_answer`: the output limit a hard budget held,
        which the request is sent with: `output_limit.py`; the remote check's `checked`: what
        it must be sent with).

        Raises:
            InvalidRequest: the request cannot be translated for this target (`Untranslatable`
                names the feature and the model), or is nested too deeply to be written.
        """
        incoming, up_name, checked = chat.incoming, chat.up_name, chat.checked
        spec, target, caller = chat.call.spec, chat.call.target, chat.call.caller
        facts = incoming.facts
        if up_name == incoming.name:
            sent_with = checked
            if per_answer is not None:
                limited = chat.limit_changes(per_answer)
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
            owner = (
                caller.principal if self._remote.keeps_owner(caller.principal, up_name) else None
            )
            # Positional, in field order, as the request path calls classes (`engine/values.py`).
            return Outgoing(
                forwarded.data,
                True,  # passthrough
                caller.passthrough_headers,
                forwardable_query(up_name, caller.passthrough_query),
                forwarded.added_usage,
                owner,
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
            with self._api.telemetry.span(
                "translate", {"llmgw.from_dialect": incoming.name, "llmgw.to_dialect": up_name}
            ):
                request = incoming.neutral()
                notes = list(request.left_out)
                body = upstream_dialect(up_name).render_request(
                    incoming.for_target(target.model), target=model, notes=notes
                )
        except Untranslatable as exc:
            raise exc.for_target(model, incoming.name) from None
        limit_name = spec.chat_output_limit
        if limit_name != "max_tokens" and "max_tokens" in body:
            body[limit_name] = body.pop("max_tokens")
        sent = body  # `rendered` stays without the limit: another is set on a copy of it
        if per_answer is not None:
            sent = {**body, **limit_changes(up_name, body, per_answer, chat_limit=limit_name)}
        return Outgoing(
            encode_request(sent),
            passthrough=False,
            request=request,
            notice=notice_for(model, notes),
            rendered=body,
        )


class _Chat:
    """One chat asked of one API target, and its wire: the client's request, the target's call,
    the dialect it is spoken to, what it is sent (`outgoing`), and its answer through
    `answers.py`."""

    __slots__ = (
        "_answers",
        "_limited",
        "call",
        "checked",
        "incoming",
        "notice",
        "outgoing",
        "up_name",
    )

    operation = "chat"

    def __init__(
        self, answers: AnswerRelay, incoming: ClientRequest, call: ApiCall, up_name: str
    ) -> None:
        self._answers = answers
        self.incoming = incoming
        self.call = call
        self.up_name = up_name  # the dialect the upstream is spoken to
        # What a request that goes as it came must be sent with (the remote check's).
        self.checked: dict[str, Any] = {}
        self.outgoing: Outgoing = _NOTHING_YET
        # A translation's notice, once what it sends is final (`ChatTargets.ask`).
        self.notice: str | None = None
        # The last `limit_changes` asked for, with its output limit per answer.
        self._limited: tuple[int, dict[str, Any]] | None = None

    def limit_changes(self, per_answer: int) -> dict[str, Any]:
        """What the request as it came sets so each answer has at most `per_answer` output
        tokens (`output_limit.py`): worked out once for the limit, which the build before the
        hold and the build after it usually share (a pure function of the dialect, the
        client's body and the provider's name for the limit, none of which a chat changes;
        read, never changed, by both)."""
        kept = self._limited
        if kept is not None and kept[0] == per_answer:
            return kept[1]
        changes = limit_changes(
            self.up_name,
            self.incoming.body,
            per_answer,
            chat_limit=self.call.spec.chat_output_limit,
        )
        self._limited = (per_answer, changes)
        return changes

    @property
    def translated(self) -> bool:
        return not self.outgoing.passthrough

    def address(self, base_url: str, key: PoolKey) -> UpstreamTarget:
        call = self.call
        return addressed(
            call.spec.id,
            base_url,
            self.up_name,
            call.target.model,
            key.value,
            key.label,
            stream=self.incoming.facts.stream,
        )

    async def exchange(self, line: Line) -> Completed | Streaming:
        incoming, outgoing = self.incoming, self.outgoing
        response = await line.send(
            outgoing.data,
            stream=incoming.facts.stream,
            headers=outgoing.headers,
            query=outgoing.query,
        )
        sent = Sent(incoming, outgoing, self.up_name, self.call.route, line)
        answer = await self._answers.answer(response, sent)
        if isinstance(answer, Streaming):
            # Held until the stream's row is counted, when its chunks end.
            return releasing(answer, line.hold.moved())
        return answer

    def estimate(self) -> ClientRequest:
        return self.incoming

    def estimated(self, written: int) -> Usage:
        # The prompt, with what a stored response it continues makes the vendor read again.
        carried = self.call.route.carried_input
        return Usage(estimated_input_tokens(self.incoming) + carried, written)

    def relayed_error(self, failure: UpstreamFailure) -> bytes | None:
        return failure.raw_body if self.outgoing.passthrough else None


# What a chat is sent before its request is built (never sent: built before the first key).
_NOTHING_YET = Outgoing(b"", passthrough=False)


def _dialect_sent(asked: str, spec: ApiProviderSpec, model: str) -> str:
    """The dialect `spec` is spoken to for `model`: the client's own (`asked`) where the
    provider, or that model of it, speaks it; else the provider's own (the model's first)."""
    speaks = spec.speaks_for(model) if spec.model_dialects else None
    if speaks is None:
        spoken = (spec.dialect, *spec.also_speaks)  # named: mypyc cannot compile it inline
        return asked if asked in spoken else spec.dialect
    return asked if asked in speaks else speaks[0]
