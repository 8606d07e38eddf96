"""Resources: cache state (global, per session, per stable prefix), health and models.

Tokens, hashes and aggregates only: never prompt or answer text.
"""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.transports.mcp.caller import current_caller

__all__ = ["register_resources"]

JSON = "application/json"


def register_resources(server: MCPServer, engine: Engine) -> None:
    @server.resource(
        "cache-state://global",
        name="cache-state-global",
        description="Last 24 h prompt-cache hit rate, hits and estimated savings, per CLI.",
        mime_type=JSON,
    )
    async def global_cache() -> str:
        return json.dumps(await engine.cache.global_view(current_caller().principal))

    @server.resource(
        "cache-state://session/{sessionId}",
        name="cache-state-session",
        description="A session's cache aggregates; ttlRemainingMs for Claude.",
        mime_type=JSON,
    )
    async def session_cache(sessionId: str) -> str:
        view = await engine.cache.session_view(current_caller().principal, sessionId)
        if view is None:
            raise ResourceNotFoundError(f"no recorded requests for session {sessionId!r}")
        return json.dumps(view)

    @server.resource(
        "cache-state://prefix/{hash}",
        name="cache-state-prefix",
        description="A stable prompt prefix's cache aggregates by provider and model.",
        mime_type=JSON,
    )
    async def prefix_cache(hash: str) -> str:
        view = await engine.cache.prefix_view(current_caller().principal, hash)
        if view is None:
            raise ResourceNotFoundError(f"no recorded requests with prefix {hash!r}")
        return json.dumps(view)

    @server.resource(
        "gateway://health",
        name="health",
        description="Engine status, live jobs, circuit breakers and provider switches.",
        mime_type=JSON,
    )
    async def health() -> str:
        return json.dumps(engine.process_health())

    @server.resource(
        "gateway://models",
        name="models",
        description="The models each installed CLI accepts.",
        mime_type=JSON,
    )
    async def models() -> str:
        # A gateway key reads only the CLIs and models in its scope, as on /v1/models.
        principal = current_caller().principal
        ids = engine.providers.catalog().ids
        listed = {p: await engine.providers.cli_models_for(p, principal) for p in ids}
        return json.dumps({p: models for p, models in listed.items() if models is not None})
