"""Serving a gateway request on a coding CLI target: availability, the engine call, and the
answer (whole or streamed) in the client's dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks, RunFor
from llmgw_desktop.engine.calls import RequestMeta
from llmgw_desktop.engine.calls.cli_spend import unmetered
from llmgw_desktop.engine.errors import ApprovalDenied, EngineError, InvalidRequest, NotFound
from llmgw_desktop.engine.gateway.cli_bridge import CliBridge
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.ir import ChatRequest, MessageStart
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.gateway.results import (
    OPENAI_DIALECTS,
    CallerInfo,
    Completed,
    EndingChunks,
    Streaming,
)
from llmgw_desktop.engine.gateway.router import Target
from llmgw_desktop.engine.recorder import new_record_id
from llmgw_desktop.engine.tokens.pricing import CostBasis, PriceLookup

__all__ = ["cli_cost_basis", "cli_unmetered", "serve_on_cli"]


def cli_cost_basis(target: Target, prices: PriceLookup, catalog: ProviderCatalog) -> CostBasis:
    """How a CLI target's cost will be known: as the call the engine submits for it."""
    engine_id = catalog.engine_id(target.provider) or target.provider
    return CostBasis.cli(engine_id, target.model, prices)


async def cli_unmetered(
    target: Target, caller: CallerInfo, catalog: ProviderCatalog, callbacks: AgentCallbacks
) -> tuple[str, str] | None:
    """The CLI target's engine id and why a job of it could not be counted as it runs under a
    hard budget, as the engine would refuse the call it submits (`cli_spend.unmetered`); None
    where it can be (its model calls would come back through the gateway, or it is accepted)."""
    engine_id = catalog.engine_id(target.provider)
    if engine_id is None or engine_id not in catalog:
        return None
    run = RunFor(
        engine_id,
        target.model,
        caller.principal,
        callbacks.principal_of(caller.principal, caller.proven),
        caller.caller,
        caller.project,
        acp=catalog.info(engine_id).speaks_acp,
        accepted=engine_id in catalog.unmetered_accepted,
    )
    why = unmetered(catalog, engine_id, route=await callbacks.choose(run))
    return None if why is None else (engine_id, why)


# Failures after which another target may well work (the others describe the request).
_MOVE_ON = ("not_installed", "auth_required")


async def serve_on_cli(
    cli: CliBridge,
    cli_available: Callable[[str], Awaitable[EngineError | None]],
    dialect: Dialect,
    request: ChatRequest,
    target: Target,
    route: RouteReport,
    caller: CallerInfo,
    catalog: ProviderCatalog,
    went_on: Callable[[str], None] | None = None,
) -> tuple[Completed | Streaming | None, EngineError | None]:
    """The answer from the CLI, or (None, why) when the next target should be tried;
    `went_on(row)` is told the request's earlier row once the CLI's row opens after it (that
    attempt failed over: `recorder/attempts.py`).

    Raises:
        ApprovalDenied, InvalidRequest, NotFound: the request itself is refused.
        EngineError: the CLI failed in a way another target would not fix.
    """
    bridge = catalog.bridge(target.provider)
    assert bridge is not None, f"{target.provider} is no CLI bridge"  # the router made it one
    why_not = await cli_available(bridge.engine_provider)
    if why_not is not None:
        route.attempts.append(Attempt(target.label, "", why_not.code))
        return None, why_not
    route.provider, route.model, route.kind = target.provider, target.model, "cli"
    earlier = route.request_id if route.recorded else None

    def opened() -> None:
        if earlier is not None and went_on is not None:
            went_on(earlier)

    # The CLI call's recorder row is this request's: the id the response carries.
    route.request_id = new_record_id()
    caller.row_opened(route.request_id)
    meta = RequestMeta(
        transport=caller.transport,
        tool=caller.endpoint,
        caller=caller.caller,
        project=caller.project,
        record_id=route.request_id,
        replay_of=caller.replay_of,
        proven=caller.proven,
        client_session=caller.client_session,
        guarded=True,  # the gateway's target loop decided what this request may carry
    )
    try:
        call = await cli.start(
            bridge.engine_provider,
            target.model,
            request,
            caller.principal,
            meta,
            workspace=caller.workspace,
            session_id=caller.session_id,
        )
    except ApprovalDenied:
        route.recorded = True  # the engine recorded the denial
        opened()
        raise
    except (InvalidRequest, NotFound):
        raise
    except EngineError as exc:
        if exc.details.get("requestId") == route.request_id:
            opened()  # refused with a row of its own
        route.attempts.append(Attempt(target.label, "", exc.code))
        return None, exc
    route.recorded = True  # the engine records the call from here on
    opened()
    route.notices.extend(call.notices)
    try:
        if request.stream:
            events = cli.stream(call, caller.principal, target.label)
            # Wait for the first text (or the end) so an early failure can still fall back.
            first = [await anext(events)]
            while isinstance(first[-1], MessageStart):
                first.append(await anext(events))
            route.attempts.append(Attempt(target.label, "", Outcome.OK))
            encoded = _encoded(dialect, request, first, events)
            # Closed unread, the CLI's events are closed all the same (the job ends, its row
            # with it): the generator's own `finally` would not run.
            closed_unread = events.aclose  # type: ignore[attr-defined]
            return Streaming(route, EndingChunks(encoded, closed_unread)), None
        answer = await cli.complete(call, caller.principal, target.label)
    except EngineError as exc:
        route.attempts.append(Attempt(target.label, "", exc.code))
        if not exc.retryable and exc.code not in _MOVE_ON:
            raise
        return None, exc
    route.attempts.append(Attempt(target.label, "", Outcome.OK))
    out = dialect.render_response(answer, request)
    if dialect.name in OPENAI_DIALECTS:
        out["x_gateway"] = route.x_gateway(answer.usage)
    return Completed(out, route, answer.usage), None


async def _encoded(
    dialect: Dialect, request: ChatRequest, first: list[Any], rest: AsyncIterator[Any]
) -> AsyncIterator[bytes]:
    encoder = dialect.stream_encoder(request)
    try:
        yield b"".join(encoder.encode(e) for e in first)
        async for event in rest:
            yield encoder.encode(event)
        yield encoder.close()
    except EngineError as exc:
        yield encoder.error(exc.http_status, exc.code, exc.message)
    finally:
        await rest.aclose()  # type: ignore[attr-defined]
