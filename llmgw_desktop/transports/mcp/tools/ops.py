"""Operations: models, CLI versions, CLI upgrades (dry run by default), process health."""

from __future__ import annotations

import asyncio
from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import Engine, InvalidRequest, answering_of
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
    provider: Annotated[
        str | None,
        Field(description="One provider, a coding CLI or an API provider; default: all."),
    ] = None


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
    """Each CLI's models (`models`) and each API provider's that answer now (`apiModels`)."""
    # A CLI's are listed by the CLI where it can, else its bridge's (as on /v1/models); the API
    # providers' and local servers' are GET /v1/models' rows, preferred first (`answering_of`).
    clis = engine.providers.catalog().ids
    apis = [spec.id for spec in engine.providers.api_providers() if spec.id not in clis]
    _check(inputs.provider, (*clis, *apis))
    wanted = [p for p in clis if inputs.provider in (None, p)]
    # A gateway key sees only the CLIs and models in its scope, as on /v1/models.
    lists = await asyncio.gather(
        *(engine.providers.cli_models_for(p, caller.principal) for p in wanted)
    )
    shown = {p: models for p, models in zip(wanted, lists, strict=True) if models is not None}
    # Under the caller's project (X-Project), whose key pool is read: granted as a call is.
    project = caller.project(None)
    engine.project_grants.require(caller.principal, project)
    answering = answering_of(await engine.providers.models(project, caller.principal))
    api = {p: list(models) for p, models in answering.items() if inputs.provider in (None, p)}
    return success({"models": shown, "apiModels": api})


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
