"""Operations: models, CLI versions, CLI upgrades (dry run by default), process health."""

from __future__ import annotations

import asyncio
from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import Engine, InvalidRequest
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import success
from llmgw_desktop.transports.mcp.tools.binding import NoInput

__all__ = [
    "CliUpgradeInput",
    "CliVersionsInput",
    "ListModelsInput",
    "cli_upgrade",
    "cli_versions",
    "list_models",
    "llm_process_health",
]


class ListModelsInput(BaseModel):
    provider: Annotated[str | None, Field(description="One provider; default: all.")] = None


class CliVersionsInput(BaseModel):
    refresh: Annotated[bool, Field(description="Check again instead of the cache.")] = False


class CliUpgradeInput(BaseModel):
    provider: Annotated[str, Field(description="Which CLI to upgrade.")]
    dryRun: Annotated[
        bool, Field(description="Only show the command (default). False runs it.")
    ] = True


def _check(provider: str | None, known: tuple[str, ...]) -> None:
    if provider is not None and provider not in known:
        raise InvalidRequest(
            f"unknown provider {provider!r}; known: {', '.join(known)}", param="provider"
        )


async def list_models(engine: Engine, caller: Caller, inputs: ListModelsInput) -> CallToolResult:
    """Models each CLI takes: listed by the CLI where it can, else its known aliases."""
    known = engine.providers.catalog().ids
    _check(inputs.provider, known)
    wanted = [inputs.provider] if inputs.provider else list(known)
    # A gateway key sees only the CLIs and models in its scope, as on /v1/models.
    lists = await asyncio.gather(
        *(engine.providers.cli_models_for(p, caller.principal) for p in wanted)
    )
    shown = {p: models for p, models in zip(wanted, lists, strict=True) if models is not None}
    return success({"models": shown})


async def cli_versions(engine: Engine, caller: Caller, inputs: CliVersionsInput) -> CallToolResult:
    """Which CLIs are installed, where, and their versions (checked in parallel)."""
    statuses = await engine.providers.cli_statuses(refresh=inputs.refresh)
    return success({"clis": [s.to_dict() for s in statuses]})


async def cli_upgrade(engine: Engine, caller: Caller, inputs: CliUpgradeInput) -> CallToolResult:
    """Upgrade a CLI with its package manager; a dry run unless dryRun is false (operator only:
    the local user or the holder of the gateway's bearer token)."""
    _check(inputs.provider, engine.providers.catalog().ids)
    outcome = await engine.providers.upgrade_cli(
        caller.as_principal, inputs.provider, dry_run=inputs.dryRun
    )
    return success(outcome.to_dict())


async def llm_process_health(engine: Engine, caller: Caller, inputs: NoInput) -> CallToolResult:
    """Live jobs by state and provider, limits, circuit breakers and provider switches."""
    return success(engine.process_health())
