"""Run one provider call once: prepare with the adapter, run the process, parse the output.

This is the one spawn point of every agent the gateway starts (the CLIs and the ACP agents,
from every front door: MCP tools, the HTTP bridge, an editor's ACP socket). A confined run is
held to the confinement table here (`_held`): an agent that cannot be held is refused, the
row's environment is added, and the last look at its command line and directory is taken at
this start. Retries, the breaker, sessions and jobs sit above this; this is a single attempt
that either returns a `ProviderResult` or raises a structured failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping

from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure, ProviderUnavailable
from llmgw_desktop.engine.providers.acp.adapter import AcpAdapter, AcpSetup
from llmgw_desktop.engine.providers.base import (
    CliAdapter,
    NdjsonParser,
    ProviderRequest,
    ProviderResult,
)
from llmgw_desktop.engine.providers.confinement import confined, last_look
from llmgw_desktop.engine.providers.failures import failure_from_outcome
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.process import (
    Invocation,
    RunLimits,
    Started,
    run_process,
)

__all__ = ["Progress", "invoke_once"]

log = logging.getLogger(__name__)

# Called as output arrives: (text so far, events parsed, bytes of stdout so far).
Progress = Callable[[str, int, int], None]


async def invoke_once(
    adapter: CliAdapter,
    request: ProviderRequest,
    executable: str,
    limits: RunLimits,
    *,
    environment: Mapping[str, str] | None = None,
    isolate_env: bool = False,
    on_progress: Progress | None = None,
    on_start: Started | None = None,
    extra_env: Mapping[str, str] | None = None,
    lifeline: Lifeline | None = None,
    acp: AcpSetup | None = None,
) -> ProviderResult:
    """One run of the CLI for `request`.

    Raises:
        InvalidRequest: the adapter cannot express the request for this CLI, or a confined
            run of an agent that cannot be held.
        ApprovalDenied: a confined run's command line or directory would widen it.
        ProviderUnavailable: the executable is missing or cannot be run (`not_installed`).
        ProviderFailure: the run failed (timeout, auth, rate limit, crash, ...).
    """
    # An ACP agent's turn also takes the call's spec and who answers its permission requests.
    if isinstance(adapter, AcpAdapter):
        prepared = adapter.prepare(request, executable, acp)
    else:
        prepared = adapter.prepare(request, executable)
    invocation = await _held(adapter.info.id, request, prepared.invocation)
    if extra_env:
        # Vault auth files: the CLI reads its credentials from a private dir for this call.
        invocation = dataclasses.replace(invocation, env={**invocation.env, **extra_env})
    parser = prepared.parser
    if isinstance(parser, NdjsonParser):
        parser.cap_lines(limits.max_output_bytes)
    received = [0]
    provider = adapter.info.id
    # A CLI that reports what each of its steps cost as it runs (`spent_usd`, with its dearest
    # step and the steps it has begun), held as one call under a hard budget (the operator
    # accepted it: a CLI under a hard budget is otherwise counted at the gateway, each model
    # call held on its own, `calls/cli_spend.py`): stopped once the next step would pass the
    # hold, as Claude Code stops itself at `--max-budget-usd`. The CLI may have sent its next
    # calls before its last step's cost is read here (steps of an upstream that answers at once
    # take milliseconds): the steps it was seen to begin are counted at the dearest one.
    # Raised from the output's reader, the failure stops the CLI's process group before
    # `run_process` re-raises it.
    cap = request.max_budget_usd
    counts_spend = cap is not None and hasattr(parser, "spent_usd")

    def on_stdout(chunk: bytes) -> None:
        parser.feed(chunk)
        received[0] += len(chunk)
        if on_progress is not None:
            on_progress(parser.partial_text, parser.events, received[0])
        if counts_spend and cap is not None:
            spent = float(getattr(parser, "spent_usd", 0.0))
            dearest = float(getattr(parser, "dearest_step_usd", 0.0))
            if spent > 0 and spent + dearest >= cap:
                begun = int(getattr(parser, "open_steps", 0))
                raise _over_budget(adapter, spent + begun * dearest, cap)

    try:
        outcome = await run_process(
            invocation,
            limits,
            environment=environment,
            isolate_env=isolate_env,
            on_stdout=on_stdout,
            on_start=on_start,
            lifeline=lifeline,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        missing_dir = request.working_dir is not None and not request.working_dir.is_dir()
        if missing_dir:
            raise ProviderFailure(
                f"the working directory {request.working_dir} does not exist",
                code=ErrorCode.INVALID_WORKING_DIR,
                provider=provider,
            ) from None
        raise ProviderUnavailable(
            f"{adapter.info.display_name} could not be started ({exc.strerror}: {executable}); "
            f"install it with: {adapter.info.install_command}",
            code=ErrorCode.NOT_INSTALLED,
            provider=provider,
            install_command=adapter.info.install_command,
        ) from None
    if outcome.ended_by not in ("exit", "finished"):
        raise failure_from_outcome(outcome, provider)
    # Off the loop: finishing decodes the whole output (up to the output cap) and some parsers
    # read a side file the CLI wrote.
    return await asyncio.to_thread(parser.finish, outcome)


async def _held(provider: str, request: ProviderRequest, invocation: Invocation) -> Invocation:
    """`invocation` held to the confinement table's row of `provider`, when the run is
    confined: its environment added over the adapter's, its command line and directory looked
    at (off the loop: the directory is on disk).

    Raises:
        InvalidRequest: the agent cannot be held at the request's permission mode.
        ApprovalDenied: a flag that lifts its guards, or project configuration that widens it.
    """
    if not request.confined:
        return invocation
    row = confined(provider, request.permission_mode)
    await asyncio.to_thread(last_look, provider, request, invocation.argv)
    return dataclasses.replace(invocation, env={**invocation.env, **row.env})


def _over_budget(adapter: CliAdapter, spent: float, cap: float) -> ProviderFailure:
    """The failure of a run stopped at a hard budget's hold, counted at what it said it cost."""
    failure = ProviderFailure(
        f"{adapter.info.display_name} was stopped before its next step would pass the spend a "
        f"hard budget held for this call (its steps cost ${spent:.4f} of ${cap:.4f}); name a "
        "cheaper model, ask for less, or raise the budget",
        code=ErrorCode.BUDGET_EXCEEDED,
        provider=adapter.info.id,
    )
    # Its row is counted at what the CLI said the run cost (`cli_spend.unreported`).
    failure.details["cost_usd"] = spent
    return failure
