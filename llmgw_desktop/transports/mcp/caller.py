"""Who is calling, and through which door: decided at the edge, read by tools and resources.

Over HTTP the aiohttp edge puts the principal and transport into the ASGI scope's state; a
server middleware copies them into a context variable for the duration of each MCP message,
so tools and resources (which get no request object of their own) can read them. Over stdio
there is no request, and the caller is the local user.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.engine import LOCAL_PRINCIPAL

__all__ = ["SCOPE_KEY", "Caller", "caller_middleware", "caller_of", "current_caller"]

SCOPE_KEY = "llmgw"


@dataclass(frozen=True)
class Caller:
    principal: str
    transport: str
    client: str  # a short label of the client software, for the recorder
    # How the principal proved itself ("local", "bearer", "oauth", ...) and, for OAuth
    # clients, the scopes granted.
    method: str = "local"
    scopes: frozenset[str] = frozenset()

    @property
    def as_principal(self) -> Principal:
        return Principal(self.principal, self.method, self.scopes)


STDIO_CALLER = Caller(LOCAL_PRINCIPAL, "mcp-stdio", "")
_current: ContextVar[Caller] = ContextVar("llmgw_mcp_caller", default=STDIO_CALLER)


def current_caller() -> Caller:
    return _current.get()


def caller_of(ctx: Any = None) -> Caller:
    """The caller of the message being handled (the argument is accepted for readability)."""
    return _current.get()


async def caller_middleware(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Set the caller from the HTTP request's scope state (left as stdio when there is none)."""
    scope = getattr(ctx.request, "scope", None)
    state = scope.get("state", {}).get(SCOPE_KEY) if isinstance(scope, dict) else None
    if not isinstance(state, dict):
        return await call_next(ctx)
    token = _current.set(
        Caller(
            str(state.get("principal", LOCAL_PRINCIPAL)),
            str(state.get("transport", "mcp-http")),
            str(state.get("client", "")),
            str(state.get("method", "local")),
            frozenset(state.get("scopes", ())),
        )
    )
    try:
        return await call_next(ctx)
    finally:
        _current.reset(token)
