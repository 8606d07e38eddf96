"""MCP over Streamable HTTP on the engine's aiohttp server (both protocol versions).

The SDK's session manager is ASGI and keeps its sessions in an anyio task group, which must
be entered and left in one task: a long-lived task runs it until `stop()`. Requests reach it
through the ASGI bridge after the aiohttp edge has checked Host, Origin and size, and decided
who is calling. It is stopped before the HTTP server, so open event streams end at once
instead of holding the server's shutdown.

Each 2025-era session belongs to the principal that opened it: the principal goes to the SDK as
the request's authenticated user, and the SDK answers any request for that session from another
principal (POST, GET or DELETE) with 404, as if it did not exist. Session ids are bearer
secrets for a session, so the SDK's log lines name them by a short hash only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re

from aiohttp import web
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings

from llmgw_desktop.engine.api import Engine, Principal, TaskSupervisor
from llmgw_desktop.transports.asgi import serve_asgi
from llmgw_desktop.transports.auth_edge import principal_of
from llmgw_desktop.transports.gateway.callers import agent_name, explicit_caller
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from llmgw_desktop.transports.mcp.caller import SCOPE_KEY
from llmgw_desktop.transports.mcp.server import build_mcp_server

__all__ = ["McpHttpFront", "SessionIdFilter", "session_owner"]

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0
# The SDK's loggers that name session ids (when a session opens, ends, idles out, crashes, or
# is asked for by the wrong principal or after it ended).
SESSION_LOGGERS = ("mcp.server.streamable_http_manager", "mcp.server.streamable_http")
# A session id after the word "session" (any token with a digit: the SDK's ids are 32 hex
# digits, and a caller's made-up id is logged the same way), or 32 hex digits anywhere.
_SESSION_ID = re.compile(
    r"(?i)(?P<lead>\bsession\b(?: id)?:?\s+)(?P<id>[\x21-\x7e]*\d[\x21-\x7e]*)"
    r"|(?P<hex>\b[0-9a-f]{32}\b)"
)


class SessionIdFilter(logging.Filter):
    """Rewrites a log record so it names MCP session ids by a short hash, never in clear."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SESSION_ID.sub(_hashed, message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def _hashed(match: re.Match[str]) -> str:
    if match.group("hex"):
        return _short_hash(match.group("hex"))
    return match.group("lead") + _short_hash(match.group("id"))


def _short_hash(session_id: str) -> str:
    return "#" + hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()[:10]


def hide_session_ids() -> None:
    """Attach the filter to the SDK's session loggers (once)."""
    for name in SESSION_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SessionIdFilter) for f in logger.filters):
            logger.addFilter(SessionIdFilter())


def session_owner(principal: Principal) -> AuthenticatedUser:
    """`principal` as the SDK's authenticated user: the SDK keeps it as the owner of the
    session a request opens, and compares it (client id, issuer, subject) on every later
    request for that session."""
    token = AccessToken(token="", client_id=principal.id, scopes=sorted(principal.scopes))
    return AuthenticatedUser(token)


class McpHttpFront:
    """Mounts the MCP endpoint on an aiohttp app and runs the SDK session manager."""

    def __init__(self, engine: Engine, *, path: str, max_body_bytes: int) -> None:
        self.path = path
        hide_session_ids()
        self._server = build_mcp_server(engine)
        # Host/Origin checks already ran at the aiohttp edge, once, for every front door.
        self._server.streamable_http_app(
            streamable_http_path=path,
            max_request_body_size=max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._manager = self._server.session_manager
        self._auth = engine.auth
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def mount(self, app: web.Application) -> None:
        app.router.add_route("*", self.path, self._handle)

    async def start(self, tasks: TaskSupervisor) -> None:
        """Start the session manager in its own, referenced task."""
        self._task = tasks.spawn(self._run(), name="mcp-session-manager", service=True)
        await asyncio.wait_for(self._ready.wait(), STOP_TIMEOUT_S)

    async def _run(self) -> None:
        async with self._manager.run():
            self._ready.set()
            await self._stop.wait()

    async def stop(self) -> None:
        """End every MCP session and the manager (before the HTTP server stops)."""
        if self._task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("MCP session manager did not stop in time; cancelling it")
            self._task.cancel()
        self._task = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        principal = principal_of(request)
        state = {
            SCOPE_KEY: {
                "principal": principal.id,
                "method": principal.method,
                "scopes": tuple(principal.scopes),
                "transport": "mcp-stdio" if self._relayed(request) else "mcp-http",
                # The client's name: X-Caller, else clientInfo (read per message), else this.
                "caller": explicit_caller(request.headers),
                "agent": agent_name(request.headers),
            }
        }
        return await serve_asgi(
            self._manager.handle_request, request, state=state, user=session_owner(principal)
        )

    def _relayed(self, request: web.Request) -> bool:
        """Whether `llmgw-desktop mcp` relays this from an editor's stdio (it alone sends the
        instance token here)."""
        return self._auth.is_instance_token(request.headers.get(INSTANCE_TOKEN_HEADER, ""))
