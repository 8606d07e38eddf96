"""Who is calling, and through which door: decided at the edge, read by tools and resources.

Over HTTP the aiohttp edge puts the principal, transport and client headers into the ASGI
scope's state; a server middleware copies them into a context variable for the duration of
each MCP message, so tools and resources (which get no request object of their own) can read
them. Over stdio there is no request, and the principal is the local user.

The caller's name is the MCP client's own: `X-Caller` when the client sends one (so two copies
of one editor can be told apart), else the `clientInfo` name it gave in `initialize` (on
2026-era requests, in each request's envelope), else, over HTTP, its User-Agent's product. It
names the client in the recorder and the job list, and scopes "continue my active session",
so two agents of one user never continue each other's conversation by accident. Editors
relayed by `llmgw-desktop mcp` keep their own name: the relay forwards their `initialize`, and
sends the name as X-Caller too. A stateless front door (`mcp.stateless`) keeps no 2025-era
`initialize`, so there a client is named by X-Caller or its User-Agent alone.

The project a call is for (the credential scope whose vault files reach the CLI, and the scope
of `project=` budgets) is decided as on the HTTP doors (`project_scope`): the one a job's
connection key pins, whatever a call names; else a tool's `project` argument, which beats the
X-Project header of MCP over HTTP. The caller carries the credential its edge proved whole
(`proven`), as the HTTP doors hand it to the route.
A workspace is not a project: it says where a CLI runs, not whose credentials or budget.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from llmgw_desktop.engine.api import LOCAL_PRINCIPAL, Principal
from llmgw_desktop.transports.gateway.callers import PROJECT_HEADER, clean_caller, project_scope

__all__ = ["SCOPE_KEY", "Caller", "caller_middleware", "caller_of", "client_name", "current_caller"]

SCOPE_KEY = "llmgw"


@dataclass(frozen=True)
class Caller:
    principal: str
    transport: str
    # The client's own name (see the module docstring): the recorder's label, and with the
    # principal the scope of the active session.
    client: str
    # How the principal proved itself ("local", "bearer", "oauth", ...) and, for OAuth
    # clients, the scopes granted.
    method: str = "local"
    scopes: frozenset[str] = frozenset()
    # The X-Project header of MCP over HTTP, as sent ("" without one; none over stdio).
    project_header: str = ""
    # The credential as the edge proved it, whole: the name the operator gave a key (the
    # routes' pins), an agent's job and project, that it is an agent (budget waits). None over
    # stdio, the local user.
    proven: Principal | None = None

    @property
    def as_principal(self) -> Principal:
        return self.proven or Principal(self.principal, self.method, self.scopes)

    def project(self, argument: str | None) -> str | None:
        """The project a call is for, as the HTTP doors decide it (`project_scope`): the one a
        job's connection key pins, else the tool's `project` argument, else the X-Project
        header, else None.

        Raises:
            InvalidRequest: the project name is not a plain identifier.
        """
        named = {"project": argument} if argument else None
        return project_scope({PROJECT_HEADER: self.project_header}, named, self.proven)


STDIO_CALLER = Caller(LOCAL_PRINCIPAL, "mcp-stdio", "")
_current: ContextVar[Caller] = ContextVar("llmgw_mcp_caller", default=STDIO_CALLER)


def current_caller() -> Caller:
    return _current.get()


def caller_of(ctx: Any = None) -> Caller:
    """The caller of the message being handled (the argument is accepted for readability)."""
    return _current.get()


def client_name(ctx: ServerRequestContext[Any, Any]) -> str:
    """The name the MCP client gave in `clientInfo` (cleaned), or "" when it gave none."""
    params = getattr(ctx.session, "client_params", None)
    info = getattr(params, "client_info", None)
    name = getattr(info, "name", None)
    return clean_caller(name) if isinstance(name, str) else ""


async def caller_middleware(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Set the caller from the HTTP request's scope state (the local user over stdio)."""
    scope = getattr(ctx.request, "scope", None)
    state = scope.get("state", {}).get(SCOPE_KEY) if isinstance(scope, dict) else None
    if not isinstance(state, dict):
        caller = Caller(LOCAL_PRINCIPAL, STDIO_CALLER.transport, client_name(ctx))
    else:
        name = str(state.get("caller", "")) or client_name(ctx) or str(state.get("agent", ""))
        caller = Caller(
            str(state.get("principal", LOCAL_PRINCIPAL)),
            str(state.get("transport", "mcp-http")),
            name,
            str(state.get("method", "local")),
            frozenset(state.get("scopes", ())),
            str(state.get("project", "")),
            proven if isinstance(proven := state.get("proven"), Principal) else None,
        )
    token = _current.set(caller)
    try:
        return await call_next(ctx)
    finally:
        _current.reset(token)
