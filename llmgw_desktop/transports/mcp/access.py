"""Which capability each MCP tool, resource and prompt needs, and the check before each runs.

The capabilities and who holds them are the engine's table (`engine/auth/access.py`); this
module only names the capability of every entry point this server offers. A tool, resource or
prompt missing here is refused for everyone (the check fails closed), and
`tests/security/test_operator_only.py` walks the server's own lists so a new one without an
entry fails there first. The engine methods behind the host-changing tools check again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError

from llmgw_desktop.engine.api import (
    SHIPPED_CATALOG,
    AccessDenied,
    Capability,
    EngineError,
    ErrorCode,
    Principal,
    ProviderCatalog,
    key_tool_refusal,
    refusal,
)
from llmgw_desktop.transports.mcp.caller import current_caller
from llmgw_desktop.transports.mcp.results import tool_error

__all__ = [
    "PROMPTS",
    "RESOURCES",
    "TOOLS",
    "access_middleware",
    "capability_of_resource",
    "tool_capabilities",
]

USE, INSPECT = Capability.GATEWAY_USE, Capability.GATEWAY_INSPECT
# JSON-RPC's range for server-defined errors; the data carries our structured error.
FORBIDDEN_RPC_CODE = -32003

_OTHER_TOOLS: Mapping[str, Capability] = {
    "codex_fork_session": USE,
    # jobs and sessions: each principal sees only its own
    "llm_job_status": USE,
    "llm_job_result": USE,
    "llm_job_cancel": USE,
    "llm_job_watch": USE,
    "llm_request_result": USE,
    "session_create": USE,
    "session_list": USE,
    "session_get": USE,
    "session_set_active": USE,
    "session_delete": USE,
    "session_clear_all": USE,
    # operations
    "list_models": USE,
    "cli_versions": INSPECT,
    "cli_upgrade": Capability.CLI_UPGRADE,
    "llm_process_health": INSPECT,
    # validation: ordinary provider calls
    "ask_model": USE,
    "second_opinion": USE,
    "validate_with_models": USE,
    "red_team_review": USE,
    "consensus_check": USE,
    "synthesize_validation": USE,
    "compare_answers": USE,
    # the vault
    "vault_store": Capability.VAULT,
    "vault_list": Capability.VAULT,
    "vault_delete": Capability.VAULT,
    "vault_store_file": Capability.VAULT,
    "vault_list_files": Capability.VAULT,
    "vault_delete_file": Capability.VAULT,
    # mcp-llm-bridge's names for ask_model and list_models (`registration.py` offers each
    # beside ours): a tool's other name needs what the tool needs
    # (`tests/transports/mcp/tools/test_registration.py` holds them equal).
    "llm_generate": USE,
    "llm_models": USE,
    # workspaces
    "workspace_list": USE,
    "workspace_get": USE,
    "workspace_create": Capability.WORKSPACE_ADMIN,
    "workspace_register_existing_repo": Capability.WORKSPACE_ADMIN,
}


def tool_capabilities(catalog: ProviderCatalog) -> Mapping[str, Capability]:
    """Every tool's capability, the two of each CLI and ACP agent of `catalog` first."""
    return {
        **{f"{p}_request": USE for p in catalog.ids},
        **{f"{p}_request_async": USE for p in catalog.ids},
        **_OTHER_TOOLS,
    }


# A gateway that runs only what it ships; a server is built with its engine's own table.
TOOLS = tool_capabilities(SHIPPED_CATALOG)

# By URI (template); each principal's cache views cover its own requests only.
RESOURCES: Mapping[str, Capability] = {
    "cache-state://global": USE,
    "cache-state://session/{sessionId}": USE,
    "cache-state://prefix/{hash}": USE,
    "gateway://health": INSPECT,
    "gateway://models": USE,
}

PROMPTS: Mapping[str, Capability] = {
    "review_loop": USE,
    "red_team_blue_team": USE,
    "consensus": USE,
}

_RESOURCE_PATTERNS = tuple(
    (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"), capability)
    for template, capability in RESOURCES.items()
)


def capability_of_resource(uri: str) -> Capability | None:
    """The capability reading `uri` needs, or None when no listed resource matches it."""
    for pattern, capability in _RESOURCE_PATTERNS:
        if pattern.match(uri):
            return capability
    return None


def _entry(
    tools: Mapping[str, Capability], method: str, params: Mapping[str, Any] | None
) -> tuple[str, Capability | None] | None:
    """The entry point a message uses and its capability; None for messages that use none
    (listing, initialize, ping: the edge already required `gateway.use` for /mcp)."""
    params = params or {}
    if method == "tools/call":
        name = str(params.get("name", ""))
        return f"tool {name!r}", tools.get(name)
    if method == "resources/read":
        uri = str(params.get("uri", ""))
        return f"resource {uri!r}", capability_of_resource(uri)
    if method == "prompts/get":
        name = str(params.get("name", ""))
        return f"prompt {name!r}", PROMPTS.get(name)
    return None


def access_middleware(
    tools: Mapping[str, Capability], aliases: Mapping[str, str] | None = None
) -> Any:
    """The check of a server whose tools need `tools` (`tool_capabilities` of its engine's
    catalog); `aliases`, each other name of a tool -> the tool's (`registration.tool_aliases`):
    a gateway key that may call a tool by one of its names may call it by the others."""
    names = _names_of(aliases or {})

    async def check(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        return await _checked(tools, names, ctx, call_next)

    return check


def _names_of(aliases: Mapping[str, str]) -> Mapping[str, tuple[str, ...]]:
    """Each name of a tool that has several -> all its names, its own first."""
    tools: dict[str, list[str]] = {}
    for alias, tool in aliases.items():
        tools.setdefault(tool, [tool]).append(alias)
    return {name: tuple(every) for every in tools.values() for name in every}


def _key_refusal(
    principal: Principal, name: str, names: Mapping[str, tuple[str, ...]]
) -> EngineError | None:
    """A gateway key's refusal of the tool `name`, unless its scope names the tool by one of
    its other names."""
    refused = key_tool_refusal(principal, name)
    if refused is not None and any(
        key_tool_refusal(principal, other) is None for other in names.get(name, ())
    ):
        return None
    return refused


async def _checked(
    tools: Mapping[str, Capability],
    names: Mapping[str, tuple[str, ...]],
    ctx: ServerRequestContext[Any, Any],
    call_next: CallNext,
) -> HandlerResult:
    """Refuse a tool call, resource read or prompt the caller's principal may not use."""
    entry = _entry(tools, ctx.method, ctx.params)
    if entry is None:
        return await call_next(ctx)
    what, capability = entry
    principal = current_caller().as_principal
    if capability is None:
        error: EngineError | None = AccessDenied(
            f"{what} is not offered here (no access rule names it)", code=ErrorCode.NOT_OFFERED
        )
    else:
        error = refusal(principal, capability)
        if error is None and ctx.method == "tools/call":
            # A gateway key that names its tools may call those alone.
            error = _key_refusal(principal, str((ctx.params or {}).get("name", "")), names)
    if error is None:
        return await call_next(ctx)
    if ctx.method == "tools/call":
        return tool_error(error)
    raise MCPError(FORBIDDEN_RPC_CODE, error.message, error.to_dict())
