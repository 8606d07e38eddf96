"""Build the MCP server: every tool, resource and prompt, bound to one engine."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from llmgw_desktop import __version__
from llmgw_desktop.engine.api import Engine
from llmgw_desktop.transports.mcp.access import access_middleware, tool_capabilities
from llmgw_desktop.transports.mcp.arguments import arguments_middleware
from llmgw_desktop.transports.mcp.caller import caller_middleware
from llmgw_desktop.transports.mcp.prompts import PROMPT_ARGUMENTS, register_prompts
from llmgw_desktop.transports.mcp.resources import register_resources
from llmgw_desktop.transports.mcp.tools.registration import (
    register_tools,
    tool_aliases,
    tool_specs,
)
from llmgw_desktop.transports.mcp.tracing import tracing_middleware
from llmgw_desktop.transports.mcp.upstream import (
    ListChanges,
    advertise_list_changes,
    upstream_middleware,
)

__all__ = ["build_mcp_server"]

INSTRUCTIONS = (
    "llmgw-desktop runs the vendor coding CLIs (claude, codex, gemini, grok, mistral, copilot, "
    "opencode) for you. Every request is a durable job: a synchronous *_request answers, or "
    "answers deferred with a jobId after the sync deadline; *_request_async returns a jobId at "
    "once. Collect with llm_job_status / llm_job_result. Use promptParts for a large stable "
    "prefix (cache hits), session_create + sessionId for multi-turn work, and the validation "
    "tools (validate_with_models, consensus_check, red_team_review, compare_answers) to get "
    "independent reads. Errors carry a stable error.code."
)


def build_mcp_server(engine: Engine) -> MCPServer:
    # The user's own servers change their lists when they say so; ours never do.
    changes = ListChanges(engine) if engine.upstream_mcp.configured else None
    # Two tools for each CLI and ACP agent of this engine (the operator's added agents too).
    catalog = engine.providers.catalog()
    specs = tool_specs(catalog)
    server: MCPServer = MCPServer(
        name="llmgw-desktop",
        title="llmgw-desktop",
        version=__version__,
        instructions=INSTRUCTIONS,
        # Outermost first: who is calling, whether they may use what they ask for, and whether
        # its arguments fit (answered as our refusals, not the SDK's text).
        middleware=[
            caller_middleware,
            tracing_middleware(engine),
            # The user's own servers' tools, prompts and resources before the table of ours,
            # which names none of them.
            upstream_middleware(engine, changes),
            access_middleware(tool_capabilities(catalog), tool_aliases(specs)),
            arguments_middleware({spec.name: spec.inputs for spec in specs}, PROMPT_ARGUMENTS),
        ],
        log_level="WARNING",
        # Nothing of ours changes a list or pushes a resource update (the user's servers'
        # changes are told on each 2025-era session's stream). With a 2026-era listen
        # handler the SDK would claim listChanged and resources.subscribe in that era (not in
        # the 2025 one) and hold each listen stream open with nothing ever on it.
        subscriptions=False,
    )
    if changes is not None:
        advertise_list_changes(server)
    register_tools(server, engine, specs)
    register_resources(server, engine)
    register_prompts(server, engine)
    return server
