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

With `mcp.stateless` the SDK keeps no sessions at all: every 2025-era POST is served on its
own, by whichever process behind a load balancer receives it, with the principal its own
credential proves (there is no session to steal). What needs a session cannot work then and is
refused at once with a clear 405: the server-to-client event stream (GET), which would
otherwise stay open with nothing ever on it, and ending a session (DELETE). Nothing our tools
do needs either: they never ask the client anything, and they send no notifications. The
client's `clientInfo` arrives only with `initialize`, so later requests are labelled by
X-Caller or the user agent (`caller.py`). 2026-era requests are per-request in both modes.

The SDK (with pydantic and its protocol models, about a second of imports) loads in a worker
thread after the front door is open, never on the way to it: a second after start when this
data directory served MCP lately, else at the first MCP request (`sdk_loading`). /health, the
dashboard and the gateway routes answer meanwhile; an MCP request waits for the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    LOCAL_CALLER,
    Engine,
    ErrorCode,
    Principal,
    TaskSupervisor,
    freeze_late_arrivals,
)
from llmgw_desktop.transports.asgi import read_capped, serve_asgi
from llmgw_desktop.transports.auth_edge import principal_of
from llmgw_desktop.transports.gateway.callers import PROJECT_HEADER, agent_name, explicit_caller
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from llmgw_desktop.transports.http_errors import REFUSAL_CODE_KEY, EdgeRefusal, error_response
from llmgw_desktop.transports.mcp.left_requests import cancel_left
from llmgw_desktop.transports.mcp.sdk_loading import McpUseMark, import_sdk

if TYPE_CHECKING:
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

    from llmgw_desktop.transports.mcp.direct_calls import DirectCalls

__all__ = ["SESSIONS_PER_PROCESS", "STATELESS", "McpHttpFront", "SessionIdFilter", "session_owner"]

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0
# How long an MCP request waits for the SDK to finish loading (seconds of imports on a slow,
# busy machine) before it is answered with an error.
LOAD_TIMEOUT_S = 60.0
# The SDK's import (about 0.75 s of Python) holds the GIL for most of that time, thread or no
# thread: started at once it slows /health, the dashboard's first paint and every first
# request. So a gateway that has served MCP lately starts it this long after the door opens;
# any other loads it at the first MCP request (sdk_loading says why).
LOAD_AFTER_S = 1.0
# How the front door keeps 2025-era MCP sessions, as /health says it.
SESSION_HEADER = "Mcp-Session-Id"
# JSON-RPC's "server error" range; the SDK answers its own refusals with codes from it too.
JSONRPC_SERVER_ERROR = -32000
STATELESS = "stateless"
SESSIONS_PER_PROCESS = "per-process"
# What a stateless front door cannot do, and why, said to a client that asks for it.
_NEEDS_A_SESSION = {
    "GET": "there is no server-to-client event stream to open",
    "DELETE": "there is no session to end",
}
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
    request for that session. Made once per principal (nothing changes it after)."""
    return _owner(principal.id, principal.scopes)


@functools.lru_cache(maxsize=256)
def _owner(principal_id: str, scopes: frozenset[str]) -> AuthenticatedUser:
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken

    token = AccessToken(token="", client_id=principal_id, scopes=sorted(scopes))
    return AuthenticatedUser(token)


@dataclass(frozen=True)
class SessionLimits:
    """How many 2025-era sessions may be open (`mcp.max_sessions`, `...per_principal`), and
    how long an idle one lives (`mcp.session_idle_timeout_s`)."""

    total: int = 2_000
    per_principal: int = 32
    idle_timeout_s: float = 1800.0


class McpHttpFront:
    """Mounts the MCP endpoint on an aiohttp app and runs the SDK session manager."""

    def __init__(
        self,
        engine: Engine,
        *,
        path: str,
        max_body_bytes: int,
        stateless: bool = False,
        use_mark: McpUseMark | None = None,
        sessions: SessionLimits | None = None,
    ) -> None:
        self.path = path
        self.session_limits = sessions or SessionLimits()
        self.use_mark = use_mark or McpUseMark(None)
        self.stateless = stateless
        hide_session_ids()
        self._engine = engine
        self._max_body_bytes = max_body_bytes
        self._manager: Any = None  # the SDK's session manager, once loaded
        # Relayed tool calls answered beside it (`direct_calls.py`), once it is loaded.
        self._direct: DirectCalls | None = None
        self._is_modern: Callable[[web.Request], bool] | None = None
        self._scope_key = ""
        self._auth = engine.auth
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._due = asyncio.Event()  # an MCP request waits, or stop: do not wait any longer
        self._task: asyncio.Task[None] | None = None

    @property
    def sessions(self) -> str:
        """Where 2025-era sessions live: nowhere (`stateless`) or in this process."""
        return STATELESS if self.stateless else SESSIONS_PER_PROCESS

    @property
    def answered_beside_sdk(self) -> int:
        """Relayed tool calls this front door answered beside the SDK (`direct_calls.py`)."""
        return self._direct.answered if self._direct is not None else 0

    def mount(self, app: web.Application) -> None:
        app.router.add_route("*", self.path, self._handle)

    async def start(self, tasks: TaskSupervisor) -> None:
        """Load the SDK and run the session manager in their own, referenced task; returns at
        once (requests wait for it)."""
        self._task = tasks.spawn(self._run(), name="mcp-session-manager", service=True)

    async def _run(self) -> None:
        try:
            await self._until_due()
            if self._stop.is_set():  # stopped before it was needed: nothing to load
                self._ready.set()
                return
            manager = await self._load()
        except Exception:
            # Said once, here; every MCP request is answered with an error, the rest of the
            # gateway serves on, and stopping it later is not a second failure.
            log.exception("the MCP SDK could not be loaded; MCP requests are refused")
            self._ready.set()
            return
        except BaseException:
            self._ready.set()  # without a manager: waiting requests are answered with an error
            raise
        try:
            async with manager.run():
                self._manager = manager
                self._ready.set()
                freeze_late_arrivals()
                await self._stop.wait()
        finally:
            self._manager = None  # a request after the stop is refused, not sent to it

    async def _until_due(self) -> None:
        """Return at the first MCP request or at stop, or `LOAD_AFTER_S` after start when this
        data directory has served MCP lately."""
        if not await asyncio.to_thread(self.use_mark.recent):
            log.debug("MCP not served here lately: the SDK loads at the first MCP request")
            await self._due.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._due.wait(), LOAD_AFTER_S)

    async def _load(self) -> Any:
        """The SDK's session manager for our server. Its imports and the server's building run
        in a worker thread, so the loop keeps serving while they do: building alone (each
        tool's schema made by pydantic) held the loop 0.5-0.9 s at the first MCP request on a
        loaded machine (2026-11-28)."""
        try:
            server = await asyncio.to_thread(self._build)
        except ImportError as exc:
            # Seen once in the frozen bundle (CI, 2026-11-28): PySide6's import hook read
            # pydantic's lazy attributes while this thread was half-way through importing
            # pydantic, and the SDK's import failed on a half-imported module. A failed import
            # leaves nothing in `sys.modules`, so a second import finds them whole; without
            # it, MCP stayed refused until the gateway was started again.
            log.warning("the MCP SDK's import failed (%s); importing it again", exc)
            server = await asyncio.to_thread(self._build)
        from llmgw_desktop.transports.mcp.caller import SCOPE_KEY

        self._scope_key = SCOPE_KEY
        # Loaded with the SDK: whether a request is 2026-era (served per request, no session).
        from llmgw_desktop.transports.mcp.direct_modern import is_modern

        self._is_modern = is_modern
        if self._engine.upstream_mcp.configured:
            from llmgw_desktop.transports.mcp.direct_calls import DirectCalls

            # The SDK's lookup of our own tools' input schemas (2026-era Mcp-Param checks).
            lookup = getattr(server._lowlevel_server, "get_tool_input_schema", None)
            self._direct = DirectCalls(self._engine, self._engine.tasks, lookup)
        return server.session_manager

    def _build(self) -> Any:
        """Import the SDK and build our server with its Streamable HTTP app (blocks: run in a
        worker thread; it reads the engine's catalog and settings, and starts nothing)."""
        import_sdk(_SDK_MODULES)
        from mcp.server.transport_security import TransportSecuritySettings

        from llmgw_desktop.transports.mcp.server import build_mcp_server

        server = build_mcp_server(self._engine)
        # Host/Origin checks already ran at the aiohttp edge, once, for every front door.
        server.streamable_http_app(
            streamable_http_path=self.path,
            max_request_body_size=self._max_body_bytes,
            stateless_http=self.stateless,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            # Our own count answers first, naming the settings (`_session_refusal`); the SDK's
            # is the same cap, held under its lock.
            max_sessions=self.session_limits.total,
            session_idle_timeout=self.session_limits.idle_timeout_s,
        )
        return server

    async def stop(self) -> None:
        """End every MCP session and the manager (before the HTTP server stops)."""
        if self._task is None:
            return
        self._stop.set()
        self._due.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("MCP session manager did not stop in time; cancelling it")
            self._task.cancel()
        self._task = None
        await _end_sse_watchers()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.stateless and request.method in _NEEDS_A_SESSION:
            return _refused_without_session(request.method)
        # Checked on every request, not only before the load ends: after a failed load (or a
        # stop that came first) there is no manager, and each request is told so.
        if self._manager is None and not await self._loaded():
            return error_response(
                EdgeRefusal(ErrorCode.INTERNAL_ERROR, "the MCP front door could not be started")
            )
        if not self.use_mark.noted:  # the next start loads the SDK early (sdk_loading)
            await asyncio.to_thread(self.use_mark.note)
        principal = principal_of(request)
        direct = self._direct
        modern = self._is_modern is not None and self._is_modern(request)
        # A 2026-era request carries no session id and opens none: held to the session caps,
        # a principal at its cap could not make per-request calls at all.
        opens_session = (
            request.method == "POST" and SESSION_HEADER not in request.headers and not modern
        )
        if opens_session and not self.stateless:
            refusal = self._session_refusal(principal)
            if refusal is not None:
                return refusal
        transport = "mcp-stdio" if self._relayed(request) else "mcp-http"
        # A request of a 2025-era session runs on in the session when its client leaves: it
        # is cancelled then (`left_requests.py`), which needs its body.
        in_session = request.method == "POST" and SESSION_HEADER in request.headers
        in_session = in_session and not modern and not self.stateless
        body, message = None, None
        if request.method == "POST" and (
            in_session or (direct is not None and (modern or not self.stateless))
        ):
            # Read here (capped, as the bridge reads it) to see whether it is a relayed tool
            # call answered beside the SDK (`direct_calls.py`): 2026-era requests carry no
            # session, so they may be in either mode.
            body = await read_capped(request, self._max_body_bytes)
            message = direct.message_of(body) if direct is not None else None
        if message is not None and direct is not None and (modern or not opens_session):
            if modern:
                call = direct.modern_call_of(request, message, principal, transport)
            else:
                owner = session_owner(principal)
                call = direct.call_of(self._manager, request, message, principal, transport, owner)
            if call is not None:
                return await direct.answer(call)
            if not modern and message.get("method") == "notifications/cancelled":
                direct.cancelled(self._manager, request, message, session_owner(principal))
        state = {
            self._scope_key: {
                "principal": principal.id,
                "method": principal.method,
                "scopes": tuple(principal.scopes),
                "transport": transport,
                # The name the operator gave the key (SECURITY 99), else the client's own:
                # X-Caller, else clientInfo (read per message), else this.
                "caller": principal.lane(explicit_caller(request.headers)),
                "agent": agent_name(request.headers),
                # The project the HTTP doors read from X-Project: the default of a tool
                # call's `project` argument (checked by the tool, whose error is structured).
                "project": request.headers.get(PROJECT_HEADER, ""),
                "proven": principal,
            }
        }
        started: dict[str, Any] = {}
        try:
            return await serve_asgi(
                self._manager.handle_request,
                request,
                state=state,
                user=session_owner(principal),
                max_body_bytes=self._max_body_bytes,
                body=body,
                started=started,
            )
        finally:
            # Even when the client left once it had its answer (clients close an opening
            # request's event stream as soon as it holds the result): the SDK answered.
            if self._direct is not None:
                self._note_session(request, message, started)
            if in_session and body is not None and started.get("left"):
                self._cancel_left(request, body, state, principal)

    def _cancel_left(
        self, request: web.Request, body: bytes, state: dict[str, Any], principal: Principal
    ) -> None:
        """Cancel the requests of a 2025-era POST whose client left before the answer, in a
        task of its own: this handler is being cancelled."""
        manager = self._manager
        if manager is None:
            return  # stopped: its sessions, and their requests, ended with it
        owner = session_owner(principal)
        left = cancel_left(manager.handle_request, request, body, state=state, user=owner)
        try:
            self._engine.tasks.spawn(left, name="mcp-cancel-left-request")
        except RuntimeError:
            left.close()  # the engine stops: every job ends with it

    def _note_session(
        self, request: web.Request, message: dict[str, Any] | None, started: dict[str, Any]
    ) -> None:
        """Tell the direct answers of a session the SDK opened or ended."""
        assert self._direct is not None
        opened = started.get("headers", {}).get(SESSION_HEADER.lower())
        if message is not None and message.get("method") == "initialize" and opened:
            if started.get("status") == 200 and SESSION_HEADER not in request.headers:
                self._direct.opened(opened, message)
        elif (
            request.method == "DELETE"
            and (ended := request.headers.get(SESSION_HEADER))
            # Ended: not another principal's DELETE, which the SDK refused (finding 80).
            and started.get("status") == 200
        ):
            self._direct.ended(ended)

    def _session_refusal(self, principal: Principal) -> web.Response | None:
        """429 when a new session would pass the caps: one principal's sessions are counted
        from the SDK's own record of who opened each (read, never changed), so a session that
        ended or expired no longer counts."""
        owners: dict[str, Any] = getattr(self._manager, "_session_owners", {})
        total = len(getattr(self._manager, "_server_instances", {}))
        limits = self.session_limits
        mine = sum(1 for owner in owners.values() if owner.get("client_id") == principal.id)
        # The local user owns the machine and sets the caps: held to the total only (real
        # clients such as MCP Inspector or the conformance suite open dozens of sessions).
        if principal.id != LOCAL_CALLER.id and mine >= limits.per_principal:
            message = (
                f"{principal.id} has {mine} MCP sessions open, the most one principal may "
                f"(mcp.max_sessions_per_principal = {limits.per_principal}); close one "
                "(DELETE with its Mcp-Session-Id) or reuse it, or wait until an idle one "
                f"expires (mcp.session_idle_timeout_s = {limits.idle_timeout_s:g})"
            )
        elif total >= limits.total:
            message = (
                f"{total} MCP sessions are open, the most this gateway holds (mcp.max_sessions "
                f"= {limits.total}); try again once some close or expire"
            )
        else:
            return None
        log.warning("refused a new MCP session for %s: %s", principal.id, message)
        return _jsonrpc_refusal(429, ErrorCode.TOO_MANY_SESSIONS, message)

    async def _loaded(self) -> bool:
        """Wait for the SDK to load; False when it failed or took over LOAD_TIMEOUT_S."""
        self._due.set()
        try:
            await asyncio.wait_for(self._ready.wait(), LOAD_TIMEOUT_S)
        except TimeoutError:
            return False
        return self._manager is not None

    def _relayed(self, request: web.Request) -> bool:
        """Whether `llmgw-desktop mcp` relays this from an editor's stdio (it alone sends the
        instance token here)."""
        return self._auth.is_instance_token(request.headers.get(INSTANCE_TOKEN_HEADER, ""))


async def _end_sse_watchers() -> None:
    """End sse_starlette's shutdown watcher on this loop.

    The SDK streams through sse_starlette, which starts one task per loop at the first event
    stream that polls every half second for uvicorn's shutdown and never ends otherwise. No
    uvicorn runs here, so it outlived every stop: under the desktop's Qt loop it then failed
    at exit with anyio's NoEventLoopError, logged as an ERROR on every quit.
    """
    watchers = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "_shutdown_watcher" and not task.done()
    ]
    for task in watchers:
        task.cancel()
    if watchers:
        await asyncio.gather(*watchers, return_exceptions=True)


def _jsonrpc_refusal(status: int, code: ErrorCode, message: str) -> web.Response:
    """A refusal as MCP clients read one: a JSON-RPC error with no id (as the SDK answers its
    own refusals), our code in its data."""
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": JSONRPC_SERVER_ERROR, "message": message, "data": {"code": code}},
    }
    response = web.json_response(body, status=status)
    response[REFUSAL_CODE_KEY] = code
    return response


def _refused_without_session(method: str) -> web.Response:
    """405 for what only a session could serve, instead of an event stream that never ends."""
    refusal = EdgeRefusal(
        ErrorCode.METHOD_NOT_ALLOWED,
        f"this gateway serves MCP without sessions (mcp.stateless): {_NEEDS_A_SESSION[method]}; "
        "send each request as a POST",
    )
    response = error_response(refusal)
    response.headers["Allow"] = "POST"
    return response


# What the MCP front door needs, imported in a worker thread.
_SDK_MODULES = (
    "mcp.server.auth.middleware.bearer_auth",
    "mcp.server.transport_security",
    "llmgw_desktop.transports.mcp.caller",
    "llmgw_desktop.transports.mcp.server",
    "llmgw_desktop.transports.mcp.direct_calls",
)
