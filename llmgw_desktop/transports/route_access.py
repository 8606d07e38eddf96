"""Which capability each HTTP route needs (who holds it is the engine's table,
`engine/auth/access.py`).

The edge checks it for every authenticated request once the principal is known; a route that
is mounted but missing here is refused for everyone (fail closed), and
`tests/security/test_operator_only.py` walks the app's router so a new route without an entry
fails there first. Public routes check their own credential where they need one (a client
secret, the consent password, the instance token). The engine methods behind the vault routes
check again.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from llmgw_desktop.engine.api import Capability

__all__ = ["LIVE_PATH", "MCP_ROUTE", "READY_PATH", "ROUTES", "capability_of_route"]

PUBLIC, USE = Capability.PUBLIC, Capability.GATEWAY_USE
VAULT = Capability.VAULT
MCP_ROUTE = ("*", "{mcp}")  # the MCP endpoint, at whatever `http.path` says
# An orchestrator's probes: the process answers (liveness), it takes new work (readiness).
LIVE_PATH, READY_PATH = "/health/live", "/health/ready"

# (method, canonical path) -> capability. HEAD is looked up as GET.
ROUTES: Mapping[tuple[str, str], Capability] = {
    ("GET", "/"): PUBLIC,  # the gateway's name, for clients that probe their base URL
    ("GET", "/health"): PUBLIC,
    ("GET", LIVE_PATH): PUBLIC,
    ("GET", READY_PATH): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    # Every caller's figures: the operator's, or a scraper holding `metrics.scrape_token`
    # (the edge lets that token through for this route alone).
    ("GET", "/metrics"): Capability.METRICS_READ,
    # Only the local user holds the instance token; the handler checks it.
    ("POST", "/instance/activate"): Capability.INSTANCE_ACTIVATE,
    ("POST", "/instance/quit"): Capability.INSTANCE_ACTIVATE,
    # The OAuth server: clients authenticate inside (secrets, PKCE, registration policy), the
    # consent page asks for the consent password.
    ("GET", "/.well-known/oauth-authorization-server"): PUBLIC,
    ("GET", "/.well-known/oauth-protected-resource"): PUBLIC,
    ("GET", "/.well-known/oauth-protected-resource/{resource}"): PUBLIC,
    ("GET", "/oauth/authorize"): PUBLIC,
    ("POST", "/oauth/authorize"): PUBLIC,
    ("POST", "/oauth/token"): PUBLIC,
    ("POST", "/oauth/register"): PUBLIC,
    ("POST", "/oauth/revoke"): PUBLIC,
    ("GET", "/oauth/consent/{id}"): PUBLIC,
    ("GET", "/oauth/consent/{id}/status"): PUBLIC,
    ("POST", "/oauth/consent/{id}"): PUBLIC,
    # The LLM gateway's dialects and model lists.
    ("POST", "/v1/chat/completions"): USE,
    ("POST", "/v1/responses"): USE,
    ("POST", "/v1/messages"): USE,
    ("POST", "/v1/messages/count_tokens"): USE,
    ("POST", "/v1/embeddings"): USE,
    ("POST", "/v1/completions"): USE,
    # Ollama's API, for the tools that speak only it (`transports/gateway/ollama_routes.py`).
    ("POST", "/api/chat"): USE,
    ("POST", "/api/generate"): USE,
    ("POST", "/api/embed"): USE,
    ("POST", "/api/embeddings"): USE,
    ("GET", "/api/tags"): USE,
    ("POST", "/api/show"): USE,
    ("GET", "/api/ps"): USE,
    ("GET", "/api/version"): USE,
    ("GET", "/v1/models"): USE,
    ("GET", "/v1/models/{model}"): USE,
    ("POST", "/v1/models/{target}"): USE,
    ("GET", "/v1beta/models"): USE,
    ("GET", "/v1beta/models/{model}"): USE,
    ("POST", "/v1beta/models/{target}"): USE,
    ("POST", "/v1/generate"): USE,
    ("GET", "/v1/providers"): USE,
    # An editor's ACP connection to an agent the gateway runs (a WebSocket).
    ("GET", "/acp"): USE,
    # The chat sessions of `acp --model`, each its principal's (the engine checks whose).
    ("GET", "/v1/acp/chats/{id}"): USE,
    ("PUT", "/v1/acp/chats/{id}"): USE,
    # The vault: the operator's alone.
    ("POST", "/v1/credentials"): VAULT,
    ("GET", "/v1/credentials"): VAULT,
    ("DELETE", "/v1/credentials/{id}"): VAULT,
    ("POST", "/v1/files"): VAULT,
    ("GET", "/v1/files"): VAULT,
    ("DELETE", "/v1/files/{id}"): VAULT,
    MCP_ROUTE: USE,
}


def capability_of_route(method: str, path: str, *, mcp_path: str) -> Capability | None:
    """The capability a route (its method and canonical path) needs; None if unlisted."""
    if path == mcp_path:
        path = MCP_ROUTE[1]
        method = "*"
    elif method == "HEAD":
        method = "GET"
    return ROUTES.get((method, path))


def route_of(request: web.Request) -> tuple[str, str] | None:
    """The method and canonical path of the route `request` matched, or None when it matched
    none (a 404 or 405 follows)."""
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return None
    return route.method, resource.canonical
