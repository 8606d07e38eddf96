"""Every MCP tool the server offers, in the order `tools/list` shows them: the one table.

A tool's name, title, annotations, input model and other names are declared here and nowhere
else; the capability each needs is in `access.py` (which fails closed for a tool missing there;
another name of a tool has its tool's). The order and every schema are pinned by
`tests/transports/mcp/tools_list.json`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from llmgw_desktop.engine.api import Engine, ProviderCatalog, provider_info
from llmgw_desktop.transports.mcp.tools import (
    jobs,
    ops,
    providers,
    sessions,
    validation,
    vault,
    workspaces,
)
from llmgw_desktop.transports.mcp.tools.binding import NoInput, ToolSpec, bind

__all__ = ["register_tools", "tool_aliases", "tool_specs"]

READ_ONLY = ToolAnnotations(read_only_hint=True)
DESTRUCTIVE = ToolAnnotations(destructive_hint=True)
ADDITIVE = ToolAnnotations(destructive_hint=False)
OPEN_WORLD = ToolAnnotations(open_world_hint=True)
VAULT_WRITE = ToolAnnotations(destructive_hint=False, idempotent_hint=True)
VAULT_DELETE = ToolAnnotations(destructive_hint=True, idempotent_hint=True)

# Kept byte-for-byte as clients have cached it (it was once an indented docstring).
CLI_UPGRADE_DESCRIPTION = (
    "Upgrade a CLI with its package manager; a dry run unless dryRun is false (operator\n"
    "        only: the local user or the holder of the gateway's bearer token)."
)


def _provider_specs(catalog: ProviderCatalog) -> list[ToolSpec[Any]]:
    specs: list[ToolSpec[Any]] = []
    for info in catalog:
        for wait in (True, False):
            name = f"{info.id}_request{'' if wait else '_async'}"
            how = "and wait for the answer" if wait else "as a background job"
            run = providers.request if wait else providers.request_async
            specs.append(
                ToolSpec(
                    name,
                    partial(run, provider=info.id, tool=name),
                    providers.RequestInput,
                    OPEN_WORLD,
                    title=f"{info.display_name} request{'' if wait else ' (async)'}",
                    description=(
                        f"Send a prompt to {info.display_name} ({', '.join(info.binaries)}) "
                        f"{how}. Every call is a durable job; a synchronous call that takes "
                        "longer than the sync deadline answers deferred with a jobId."
                    ),
                )
            )
    codex = provider_info("codex")
    specs.append(
        ToolSpec(
            "codex_fork_session",
            partial(providers.request, provider="codex", tool="codex_fork_session", fork=True),
            providers.RequestInput,
            title="Fork a Codex session",
            description=(
                f"Continue a {codex.display_name} session (sessionId) in a new branch, where the "
                "installed CLI can do that headless; otherwise a structured error says why."
            ),
        )
    )
    return specs


_OTHER_SPECS: tuple[ToolSpec[Any], ...] = (
    ToolSpec("llm_job_status", jobs.llm_job_status, jobs.JobInput, READ_ONLY),
    ToolSpec("llm_job_result", jobs.llm_job_result, jobs.JobResultInput, READ_ONLY),
    ToolSpec("llm_job_cancel", jobs.llm_job_cancel, jobs.JobInput, DESTRUCTIVE),
    ToolSpec("llm_job_watch", jobs.llm_job_watch, jobs.JobWatchInput, READ_ONLY),
    ToolSpec("llm_request_result", jobs.llm_request_result, jobs.CorrelationInput, READ_ONLY),
    ToolSpec("session_create", sessions.session_create, sessions.SessionCreateInput),
    ToolSpec("session_list", sessions.session_list, sessions.ProviderFilterInput, READ_ONLY),
    ToolSpec("session_get", sessions.session_get, sessions.SessionInput, READ_ONLY),
    ToolSpec("session_set_active", sessions.session_set_active, sessions.SessionInput),
    ToolSpec("session_delete", sessions.session_delete, sessions.SessionInput, DESTRUCTIVE),
    ToolSpec(
        "session_clear_all", sessions.session_clear_all, sessions.ProviderFilterInput, DESTRUCTIVE
    ),
    ToolSpec(
        "list_models", ops.list_models, ops.ListModelsInput, READ_ONLY, aliases=("llm_models",)
    ),
    ToolSpec("cli_versions", ops.cli_versions, ops.CliVersionsInput, READ_ONLY),
    ToolSpec(
        "cli_upgrade",
        ops.cli_upgrade,
        ops.CliUpgradeInput,
        DESTRUCTIVE,
        description=CLI_UPGRADE_DESCRIPTION,
    ),
    ToolSpec("llm_process_health", ops.llm_process_health, NoInput, READ_ONLY),
    ToolSpec(
        "ask_model",
        validation.ask_model,
        validation.AskModelInput,
        OPEN_WORLD,
        aliases=("llm_generate",),
    ),
    ToolSpec(
        "second_opinion", validation.second_opinion, validation.SecondOpinionInput, OPEN_WORLD
    ),
    ToolSpec(
        "validate_with_models",
        validation.validate_with_models,
        validation.ValidateInput,
        OPEN_WORLD,
    ),
    ToolSpec("red_team_review", validation.red_team_review, validation.RedTeamInput, OPEN_WORLD),
    ToolSpec("consensus_check", validation.consensus_check, validation.ConsensusInput, OPEN_WORLD),
    ToolSpec(
        "synthesize_validation",
        validation.synthesize_validation,
        validation.SynthesisInput,
        OPEN_WORLD,
    ),
    ToolSpec(
        "compare_answers",
        validation.compare_answers_tool,
        validation.CompareInput,
        ToolAnnotations(read_only_hint=True, open_world_hint=False),
        schema_name="compare_answers_tool",
    ),
    ToolSpec("vault_store", vault.vault_store, vault.StoreKeyInput, VAULT_WRITE),
    ToolSpec("vault_list", vault.vault_list, vault.ProjectInput, READ_ONLY),
    ToolSpec("vault_delete", vault.vault_delete, vault.RecordInput, VAULT_DELETE),
    ToolSpec("vault_store_file", vault.vault_store_file, vault.StoreFileInput, VAULT_WRITE),
    ToolSpec("vault_list_files", vault.vault_list_files, vault.ProjectInput, READ_ONLY),
    ToolSpec("vault_delete_file", vault.vault_delete_file, vault.RecordInput, VAULT_DELETE),
    ToolSpec("workspace_list", workspaces.workspace_list, NoInput, READ_ONLY),
    ToolSpec("workspace_get", workspaces.workspace_get, workspaces.WorkspaceInput, READ_ONLY),
    ToolSpec(
        "workspace_create",
        workspaces.workspace_create,
        workspaces.WorkspaceCreateInput,
        ADDITIVE,
    ),
    ToolSpec(
        "workspace_register_existing_repo",
        workspaces.workspace_register_existing_repo,
        workspaces.RegisterRepoInput,
        ADDITIVE,
    ),
)


def _with_aliases(specs: tuple[ToolSpec[Any], ...]) -> list[ToolSpec[Any]]:
    """Each tool followed by a tool of each of its other names: the same function, input and
    annotations, described as the other name it is."""
    listed: list[ToolSpec[Any]] = []
    for spec in specs:
        listed.append(spec)
        for alias in spec.aliases:
            described = spec.description or spec.run.__doc__ or ""
            listed.append(
                replace(
                    spec,
                    name=alias,
                    aliases=(),
                    description=f"Another name for {spec.name}. {described}",
                )
            )
    return listed


def tool_specs(catalog: ProviderCatalog) -> tuple[ToolSpec[Any], ...]:
    """Every tool, in `tools/list` order, for the CLIs and ACP agents of `catalog` (two per
    provider: `NAME_request` and `NAME_request_async`), each other name after its tool."""
    return (*_provider_specs(catalog), *_with_aliases(_OTHER_SPECS))


def tool_aliases(specs: tuple[ToolSpec[Any], ...]) -> dict[str, str]:
    """Each other name of a tool of `specs` -> the tool's own name."""
    return {alias: spec.name for spec in specs for alias in spec.aliases}


def register_tools(server: MCPServer, engine: Engine, specs: tuple[ToolSpec[Any], ...]) -> None:
    """Offer every tool of `specs` on `server`, run against `engine`."""
    for spec in specs:
        bind(server, engine, spec)
