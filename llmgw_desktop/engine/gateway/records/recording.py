"""The flight recorder's rows of gateway requests: one row per attempt, finished with its
tokens, cost, route and outcome; one row for a request refused before any provider was asked;
and how a row ends when its answer is cut short (the client left, or the gateway stopped)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from llmgw_desktop.config.api_catalog import recorded_provider
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.gateway.counting import estimated_input_tokens
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamFailure
from llmgw_desktop.engine.gateway.incoming import ClientRequest
from llmgw_desktop.engine.gateway.keys import PoolKey
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.relay import StreamOutcome
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.router import Target
from llmgw_desktop.engine.recorder import (
    USAGE_AT_HOLD,
    USAGE_ESTIMATED,
    FlightRecorder,
    new_record_id,
)
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import COST_ESTIMATED, server_tool_cost
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["Estimates", "RequestRecords", "estimated_usage", "held_usage"]

log = logging.getLogger(__name__)
# Compared for every request: module globals, not enum reads (`engine/states.py`).
_COMPLETED = RecordState.COMPLETED
_FAILED = RecordState.FAILED


class Estimates(Protocol):
    """What a kind's call is counted at where the vendor reported no usage (its wire's)."""

    def estimated(self, written: int) -> Usage:
        """The call's input as estimated, and `written` tokens of output."""
        ...


class RequestRecords:
    """Writes the gateway's requests to the flight recorder; one per gateway."""

    def __init__(
        self,
        recorder: FlightRecorder,
        prices: PriceBook,
        telemetry: Telemetry,
        catalog: ProviderCatalog = SHIPPED_CATALOG,
    ) -> None:
        """`catalog`: the CLIs the gateway bridges, so a row names one by its engine id."""
        self._catalog = catalog
        self._recorder = recorder
        self._prices = prices  # the engine's: the person's prices on top
        self._telemetry = telemetry
        # Set when the gateway stops: an answer cut then was interrupted, not abandoned.
        self.stopping = False

    def start_attempt(
        self,
        route: RouteReport,
        caller: CallerInfo,
        provider: str,
        model: str,
        *,
        record_id: str | None = None,
        started_at: float | None = None,
    ) -> str:
        """Open the row of one attempt at an API target; its id, which the response names
        (`record_id`, `started_at`: the id `attempt_to_open` gave it and when it began, for a row
        opened once its request is on its way)."""
        if record_id is None or record_id != route.request_id:
            self._went_on(route)
        route.recorded = True
        record = self._recorder.start(
            principal=caller.principal,
            provider=recorded_provider(provider),
            transport=caller.transport,
            tool=caller.endpoint,
            caller=caller.caller,
            model=model,
            record_id=record_id,
            started_at=started_at,
            chosen_because=route.chosen_because,
            client_session=caller.client_session,
        )
        # The response names the row of the attempt that answered (or failed last).
        route.request_id = record
        caller.row_opened(record)
        return record

    def attempt_to_open(
        self, route: RouteReport, caller: CallerInfo, provider: str, model: str
    ) -> tuple[str, Callable[[], None]]:
        """The id of an attempt's row, which the response names, and what opens the row (once,
        however often it is called) with the time the attempt began: called as soon as the
        request is written (`UpstreamClient.send`'s `while_waiting`), the row is opened
        while the upstream thinks, off the path to the answer."""
        self._went_on(route)
        record, started_at = new_record_id(), self._recorder.now()
        route.request_id = record
        opened = False

        def open_row() -> None:
            nonlocal opened
            if not opened:
                opened = True
                self.start_attempt(
                    route, caller, provider, model, record_id=record, started_at=started_at
                )

        return record, open_row

    def _went_on(self, route: RouteReport) -> None:
        """Another attempt takes `route`'s request: the row it had, an attempt that failed,
        failed over (its request is counted by the row to come: `recorder/attempts.py`)."""
        if route.recorded:
            self._recorder.failed_over(route.request_id)

    def went_on(self, route: RouteReport, earlier: str) -> None:
        """A CLI's row of `route`'s request opened after the row `earlier` (`_went_on`)."""
        if earlier != route.request_id:
            self._recorder.failed_over(earlier)

    def _recorded_provider(self, gateway_id: str) -> str:
        """A CLI bridge's engine id (an added ACP agent's too), else `recorded_provider`."""
        return self._catalog.engine_id(gateway_id) or recorded_provider(gateway_id)

    def cut_before_answer(
        self, record: str, route: RouteReport, incoming: ClientRequest | Usage, *, asked: bool
    ) -> None:
        """End the row of an attempt whose client left (or whose gateway stopped) before the
        answer began. An upstream that had accepted the request (`asked`) bills its prompt:
        counted at its estimate (`incoming` as a `Usage`: the estimate of a call that is not
        a chat, an embedding's)."""
        state, code = self.cut()
        if asked:
            # The vendor goes on with an answer nobody reads, and bills it: under a hard
            # budget it is counted at what was held for it (`held_usage`).
            usage = _billed_usage(incoming, route)
            self.finish(record, route, state, usage, error_code=code, estimated=True)
        else:
            self.finish(record, route, state, Usage(), error_code=code)

    def note_failure(
        self,
        route: RouteReport,
        target: Target,
        key: PoolKey,
        failure: UpstreamFailure,
        record: str,
        started: float,
        *,
        billed: ClientRequest | Usage | None = None,
    ) -> None:
        """End an attempt's row as failed and list it in the route; `billed`: the request of
        an attempt the upstream had accepted (2xx) before it failed, counted at its estimate
        (under a hard budget, at least its hold), as a cut stream is (a `Usage`: that
        estimate, for a call that is not a chat)."""
        route.attempts.append(Attempt(target.label, key.label, failure.outcome))
        if billed is not None:
            usage = _billed_usage(billed, route)
            self.finish(
                record,
                route,
                "failed",
                usage,
                http_status=failure.status,
                error_code=f"upstream_{failure.outcome}",
                estimated=True,
            )
        else:
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
        # A provider's failure (a 529, a 503) is a warning: the Log's "warnings and above"
        # must show it, and the Log page marks it.
        log.warning(
            "gateway: %s with key %s failed (%s) after %.0f ms",
            target.label,
            key.label,
            failure.outcome,
            (time.perf_counter() - started) * 1000,
        )

    def record_refusal(self, caller: CallerInfo, route: RouteReport, error: EngineError) -> None:
        """The one row of a request refused before any provider was asked (its id in `route`)."""
        record = self._recorder.start(
            principal=caller.principal,
            provider=self._recorded_provider(
                route.provider
                or (route.attempts[0].target.split("/")[0] if route.attempts else "-")
            ),
            transport=caller.transport,
            tool=caller.endpoint,
            caller=caller.caller,
            model=route.requested_model or None,
            state="refused",
            client_session=caller.client_session,
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

    def answer_begins(self, record: str) -> None:
        """The answer of `record` is about to reach its client: its row's start is put on disk
        now if it is still open (a stream), so a crash from here on cannot lose the row."""
        self._recorder.keep_start(record)

    def first_token(self, record: str) -> None:
        """The moment `record`'s first token reached the client."""
        self._recorder.first_token(record)

    def end_as_answered(self, route: RouteReport, error: EngineError, http_status: int) -> None:
        """The row the answer names ends as the client saw it (a 502 all_routes_failed), not
        as its own attempt did (the route log keeps each attempt's outcome)."""
        self._recorder.update(route.request_id, error_code=error.code, http_status=http_status)

    def finish(
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
        at_hold: bool = False,
    ) -> None:
        """End an attempt's row with its state, tokens, cost and route (`at_hold`: its output
        counted at what its hard budget held, and the row says so)."""
        # Upstream APIs report tokens, not money: the cost is the price table's estimate
        # (None for a model it does not know: "not priced", never $0). `estimated`: the tokens
        # are the gateway's own estimate too (the upstream reported none), and the row says so.
        priced_as = route.price_model or route.model
        # Priced at the provider that answered where the price database knows it (a cloud's
        # own price, an aggregator's); CLI rows name no API provider.
        provider = route.provider if route.kind == "api" else None
        cost = self._prices.cost_of(priced_as, usage, provider)
        note = self._prices.cost_note(
            COST_ESTIMATED
            if estimated and cost is not None
            else self._prices.source_of(priced_as, provider)
            if cost is not None
            else None
        )
        facts: dict[str, Any] = {"cost": note} if note is not None else {}
        if estimated:  # no usage reported, so no cache figures: no prompt-cache hit rate
            facts[USAGE_ESTIMATED] = True
        if at_hold:
            facts[USAGE_AT_HOLD] = usage.output_tokens
        if server_tools:
            # Server tools are billed per call, beside the tokens: priced where the table
            # knows the vendor's price, and always counted in the row's route.
            vendor = self._vendor_of(route.provider)
            tools_cost, unpriced = server_tool_cost(vendor, server_tools)
            cost = None if cost is None else round(cost + tools_cost, 8)
            facts["serverTools"] = dict(server_tools)
            if unpriced:
                facts["serverToolsUnpriced"] = list(unpriced)
        route.row_facts = facts  # this attempt's own: an earlier one's do not carry over
        routed = route.to_record()
        # A dict written out, not keywords: see `finish_row`.
        self._recorder.finish_row(
            record,
            state,
            {
                "model": route.model,
                "cost_usd": cost,
                "http_status": http_status,
                "error_code": error_code,
                # Every try this request took, the answering one included (listed already).
                "attempts": len(route.attempts),
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_tokens": usage.cache_read_tokens,
                "cache_write_tokens": usage.cache_write_tokens,
                "reasoning_tokens": usage.reasoning_tokens,
                "route": routed,
                "requested_model": route.requested_model,
                "project": route.project,
                "fallback_used": route.fallback_used,
            },
        )

    def finish_cached(
        self,
        record: str,
        route: RouteReport,
        saved: Usage,
        saved_usd: float | None,
        *,
        replayed: bool = True,
    ) -> None:
        """End the row of a request answered from the response cache: no tokens billed, cost
        $0, and what the call it saved used and cost, in the route. `replayed`: false for a
        stream whose replay its client left before the end (cut, as a live one would be)."""
        # `hit` first: the desk's list finds a hit's row by this text (`recorder/query.py`).
        hit: dict[str, object] = {"hit": True, "savedTokens": saved.total_tokens}
        if saved_usd is not None:
            hit["savedUsd"] = saved_usd
        if route.cache_similarity is not None:
            # A semantic hit: how close the request was to the one whose answer it got.
            hit["semantic"] = True
            hit["similarity"] = route.cache_similarity
        state, code = ("completed", None) if replayed else self.cut()
        route.row_facts = {"cache": hit}
        self._recorder.finish(
            record,
            state=state,
            error_code=code,
            model=route.model,
            cost_usd=0.0,
            http_status=200,
            attempts=len(route.attempts),
            route=route.to_record(),
            requested_model=route.requested_model,
            project=route.project,
            fallback_used=route.fallback_used,
        )

    def answered(
        self,
        record: str,
        route: RouteReport,
        usage: Usage | None,
        estimate: Estimates,
        written: int,
        *,
        state: str = RecordState.COMPLETED,
        error_code: str | None = None,
        ended: bool = True,
        server_tools: Mapping[str, int] | None = None,
    ) -> Usage:
        """End the row of an attempt that answered, every kind alike (a whole answer when it
        is read, a stream when its chunks end), and what it was counted at: the vendor's
        `usage`; where it reported none (a server that leaves it out), never $0 but the
        kind's `estimate` of it (its input as estimated, and the `written` tokens it sent), the
        output being what a hard budget held and sent where it held some (the most the vendor
        could bill, thinking included), or for one cut short what it sent where that was more
        (a vendor that did not keep to its `max_tokens`). An answer that did not end by itself
        (`ended` false: cut, broken) under a hard budget is counted at least at what was held
        for it: a reasoning model bills thinking that sends nothing. The row says where its
        tokens are an estimate. The estimate is made only where it is needed (it reads the
        whole request)."""
        if usage is None or usage.total_tokens == 0:
            estimated, counted = True, estimate.estimated(written)
            if route.held_output and ended:  # one cut short: below, at least what it sent
                counted = dataclasses.replace(counted, output_tokens=route.held_output)
            counted = held_usage(counted, 0, route.held_input)
        else:
            estimated, counted = False, usage
        if not ended and (route.held_output or route.held_input):
            floor = max(estimate.estimated(written).input_tokens, route.held_input)
            counted = held_usage(counted, route.held_output, floor)
            estimated = True
        at_hold = estimated and route.held_output > 0 and counted.output_tokens == route.held_output
        self.finish(
            record,
            route,
            state,
            counted,
            http_status=200,
            error_code=error_code,
            server_tools=server_tools,
            estimated=estimated,
            at_hold=at_hold,
        )
        return counted

    def stream_ended(
        self, record: str, route: RouteReport, outcome: StreamOutcome, estimate: Estimates
    ) -> None:
        """End a chat stream's row when its chunks end (`answered`): completed, broken or cut,
        estimated at its input and about a token an event where the upstream reported no
        usage."""
        if outcome.stop_reason:
            self._telemetry.answered(record, [outcome.stop_reason])
        state: str
        code: str | None
        if outcome.error is not None:
            state, code = _FAILED, "stream_broken"
        elif outcome.completed:
            state, code = _COMPLETED, None
        else:
            state, code = self.cut()
        # OpenAI's dialects report usage in their last event only: a stream cut before it (the
        # client hung up, the upstream broke) was still billed by the vendor, so it is counted
        # at its estimate, never at nothing, or a caller that always hangs up early would
        # spend under a hard budget without limit.
        self.answered(
            record,
            route,
            outcome.usage,
            estimate,
            outcome.events,
            state=state,
            error_code=code,
            ended=outcome.completed,
            server_tools=outcome.server_tools,
        )

    def route_changed(self, route: RouteReport) -> None:
        """Write the route of `route`'s row again: what became known of it after the row was
        finished (the outbound guard masked a key in the whole answer the row describes)."""
        routed = route.to_record()
        if route.trace_id:
            routed["traceId"] = route.trace_id
        self._recorder.update(route.request_id, route=routed)

    def _vendor_of(self, provider: str | None) -> str:
        """Whose server-tool prices apply: the vendor's own API only (a compatible server's
        tools are its own business, so unpriced)."""
        return provider if provider in ("anthropic", "openai") else ""

    def cut(self) -> tuple[str, str]:
        """The row state and code of an answer cut short: the gateway's stop interrupted it,
        or else its client left."""
        if self.stopping:
            return RecordState.INTERRUPTED, ErrorCode.INTERRUPTED
        return RecordState.CANCELED, "client_disconnected"


def _billed_usage(incoming: ClientRequest | Usage, route: RouteReport) -> Usage:
    """What an accepted call that gave no usage is counted at: its estimate, raised to what a
    hard budget held for it."""
    if isinstance(incoming, Usage):
        return held_usage(incoming, route.held_output, route.held_input)
    floor = max(estimated_input_tokens(incoming) + route.carried_input, route.held_input)
    return held_usage(estimated_usage(incoming, 0), route.held_output, floor)


def held_usage(usage: Usage, held_output: int, floor_input: int = 0) -> Usage:
    """`usage` raised to what a hard budget held for the call: its output limit, and its input
    at least `floor_input` (what was held for it, or the estimate with what a stored response
    it continues carries); the larger of each (both 0: `usage` as it is)."""
    if not held_output and not floor_input:
        return usage
    # Cached input the vendor reported counts toward the floor (it is not billed twice).
    missing = max(0, floor_input - usage.total_input_tokens)
    return dataclasses.replace(
        usage,
        input_tokens=usage.input_tokens + missing,
        output_tokens=max(usage.output_tokens, held_output),
    )


def estimated_usage(incoming: ClientRequest, events: int) -> Usage:
    """What a call the upstream reported no usage for is counted at: its input as the token
    counter estimates it, and about a token of output for each event it had sent."""
    return Usage(input_tokens=estimated_input_tokens(incoming), output_tokens=events)
