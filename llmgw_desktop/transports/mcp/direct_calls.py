"""A call of one of the user's MCP servers' tools, answered beside the SDK.

The SDK answers every 2025-era POST as an event stream written from an anyio task group,
through the session's message loop and middleware chain: for a tool of the user's own server
relayed through the gateway, that was about half the gateway's CPU per call
(docs/PERFORMANCE.md). Such a call that asks for no progress has nothing to stream, and what
the SDK's path would do with it is our own middleware's relay (`upstream.relay_tool_call`:
the edge's rule, the server's policy, the desk's approval, the recorder row). So the front
door answers it itself, through that same relay, as one JSON response (Streamable HTTP lets a
server answer any request that way, and every client must read it).

It does so only when the SDK would have served that relay, and leaves anything else to the
SDK, which answers as always (its errors included):
- a 2025-era session whose `initialize` this front door saw answered (so it is initialized,
  and its client's name is known), still open, and opened by the caller (the SDK's record);
- the headers the SDK requires of it: a handshake-era MCP-Protocol-Version or none, an Accept
  of JSON and event streams, a JSON Content-Type;
- one JSON-RPC request `tools/call`, its params as the SDK checks them, naming a tool of the
  user's servers, with no progress token;
- OpenTelemetry export off (the SDK's path spans each tool call).
While it runs the session counts it in flight, as the SDK does, so the session's idle timeout
waits for it; a `notifications/cancelled` for it cancels it, answered with REQUEST_CANCELLED
as the SDK answers a cancelled 2025-era request.

A 2026-07-28 request (no session: its envelope travels with it) is answered here too when it
passes every check the SDK's entry for that era makes (`direct_modern.py`), with no progress
token and telemetry off; its client cancels it by leaving, which cancels the relayed call. The
SDK is imported before this module is.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
from aiohttp import web
from mcp.server.auth.middleware.bearer_auth import authorization_context
from mcp.server.streamable_http import REQUEST_CANCELLED, check_accept_headers
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS
from mcp_types import INTERNAL_ERROR
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel

from llmgw_desktop.engine.api import Engine, Principal, TaskSupervisor, jsonio
from llmgw_desktop.transports.gateway.callers import (
    PROJECT_HEADER,
    agent_name,
    clean_caller,
    explicit_caller,
)
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.direct_modern import SchemaLookup, is_modern, modern_call
from llmgw_desktop.transports.mcp.upstream import progress_token, relay_tool_call

__all__ = ["SESSION_HEADER", "DirectCall", "DirectCalls"]

log = logging.getLogger(__name__)

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
# Sessions remembered (their client's name), as many as the front door holds open by default;
# the oldest is forgotten first, and a forgotten one is served by the SDK as before.
REMEMBERED_SESSIONS = 2_000
# Bodies that may be one of the messages this module looks at (the rest is not parsed here).
_WORTH_PARSING = (b'"tools/call"', b'"initialize"', b'"notifications/cancelled"')


@dataclass(frozen=True)
class DirectCall:
    """A tool call this module answers: who asks for what, on which session ("" for a
    2026-era request, which has none)."""

    session_id: str
    request_id: str | int
    name: str
    arguments: Any
    caller: Caller
    transport: Any  # the SDK's StreamableHTTPServerTransport of the session (None: 2026 era)


class DirectCalls:
    """The sessions whose tool calls may be answered here, and those calls while they run."""

    def __init__(
        self, engine: Engine, tasks: TaskSupervisor, input_schema: SchemaLookup | None = None
    ) -> None:
        """`input_schema`: the SDK server's lookup of one of our own tools' input schemas."""
        self._engine = engine
        self._tasks = tasks
        self._input_schema = input_schema
        # Calls answered here since the start, in both eras (what /health need not show; the
        # tests read it to know which path answered).
        self.answered = 0
        self._clients: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._running: dict[tuple[str, str | int], asyncio.Task[Any]] = {}

    @staticmethod
    def message_of(body: bytes) -> dict[str, Any] | None:
        """The JSON-RPC message `body` holds, if it may be one this module looks at."""
        if not any(marker in body for marker in _WORTH_PARSING):
            return None
        try:
            message = jsonio.loads(body)
        except ValueError:
            return None  # the SDK answers it with its parse error
        return message if isinstance(message, dict) else None

    def opened(self, session_id: str, initialize: dict[str, Any]) -> None:
        """Remember a session the SDK opened (its `initialize` answered 200), and the client's
        name it gave."""
        params = initialize.get("params")
        info = params.get("clientInfo") if isinstance(params, dict) else None
        name = info.get("name") if isinstance(info, dict) else None
        self._clients[session_id] = clean_caller(name) if isinstance(name, str) else ""
        while len(self._clients) > REMEMBERED_SESSIONS:
            self._clients.popitem(last=False)

    def ended(self, session_id: str) -> None:
        self._clients.pop(session_id, None)

    @staticmethod
    def modern(request: web.Request) -> bool:
        """Whether the SDK serves `request` as a 2026-era one."""
        return is_modern(request)

    def modern_call_of(
        self, request: web.Request, message: dict[str, Any], principal: Principal, transport: str
    ) -> DirectCall | None:
        """The 2026-era call to answer here (`direct_modern.py` checks it), or None for the
        SDK to serve it; `principal` and `transport` are as the front door decided them."""
        if self._engine.telemetry.enabled:
            return None
        call = modern_call(request, message, self._engine.upstream_mcp.owns, self._input_schema)
        if call is None:
            return None
        caller = _caller(request, principal, transport, call.client)
        return DirectCall("", call.request_id, call.name, call.arguments, caller, None)

    def call_of(
        self,
        manager: Any,
        request: web.Request,
        message: dict[str, Any],
        principal: Principal,
        transport: str,
        user: Any,
    ) -> DirectCall | None:
        """The call to answer here, or None for the SDK to serve the request. `principal` and
        `transport` are as the front door decided them; `user` is the session owner it hands
        the SDK, compared with the session's."""
        session_id = request.headers.get(SESSION_HEADER, "")
        if (
            session_id not in self._clients
            or self._engine.telemetry.enabled
            or request.headers.get(VERSION_HEADER, HANDSHAKE_PROTOCOL_VERSIONS[0])
            not in HANDSHAKE_PROTOCOL_VERSIONS
            or check_accept_headers(request) != (True, True)  # type: ignore[arg-type]
            or not _json_content_type(request.headers.get("Content-Type", ""))
            or message.get("jsonrpc") != "2.0"
            or message.get("method") != "tools/call"
        ):
            return None
        request_id, params = message.get("id"), message.get("params")
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            return None
        if not isinstance(params, dict) or progress_token(params) is not None:
            return None
        name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta")
        if not isinstance(name, str) or not self._engine.upstream_mcp.owns(name):
            return None
        if not (arguments is None or isinstance(arguments, dict)):
            return None
        if not (meta is None or isinstance(meta, dict)):
            return None
        session = _open_session(manager, session_id, user)
        if session is None:
            return None
        caller = _caller(request, principal, transport, self._clients[session_id])
        return DirectCall(session_id, request_id, name, arguments, caller, session)

    async def answer(self, call: DirectCall) -> web.Response:
        """Relay the call and answer it as one JSON-RPC response."""
        self.answered += 1
        if call.transport is None:
            return await self._answer_modern(call)
        key = (call.session_id, call.request_id)
        relayed = self._tasks.spawn(
            relay_tool_call(self._engine, call.caller, call.name, call.arguments),
            name=f"mcp-direct-call {call.name}",
        )
        self._running[key] = relayed
        try:
            with _in_flight(call.transport):
                try:
                    result = await relayed
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        relayed.cancel()  # this request itself ended (the client left)
                        raise
                    body = _error(call.request_id, REQUEST_CANCELLED, "Request cancelled")
                except Exception:
                    log.exception("relaying %s failed", call.name)
                    body = _error(call.request_id, INTERNAL_ERROR, "the gateway failed relaying it")
                else:
                    body = {"jsonrpc": "2.0", "id": call.request_id, "result": _dumped(result)}
        finally:
            self._running.pop(key, None)
        return web.Response(
            body=jsonio.dumps(body),
            content_type="application/json",
            headers={SESSION_HEADER: call.session_id},
        )

    async def _answer_modern(self, call: DirectCall) -> web.Response:
        """A 2026-era call, relayed in this request's own task: a client that leaves cancels
        it (that era has no `notifications/cancelled` to honour), as the SDK's entry does."""
        try:
            result = await relay_tool_call(self._engine, call.caller, call.name, call.arguments)
        except Exception:
            log.exception("relaying %s failed", call.name)
            body = _error(call.request_id, INTERNAL_ERROR, "the gateway failed relaying it")
            status = ERROR_CODE_HTTP_STATUS.get(INTERNAL_ERROR, 200)
        else:
            body = {"jsonrpc": "2.0", "id": call.request_id, "result": _dumped(result)}
            status = 200
        return web.Response(body=jsonio.dumps(body), status=status, content_type="application/json")

    def cancelled(
        self, manager: Any, request: web.Request, message: dict[str, Any], user: Any
    ) -> None:
        """Cancel the call a `notifications/cancelled` names, if it runs here on a session
        `user` opened (the SDK's record, as for a call): a session id names a session, it
        proves nobody, and another principal holding it is refused it by the SDK (finding
        80)."""
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        if isinstance(request_id, str | int) and not isinstance(request_id, bool):
            session_id = request.headers.get(SESSION_HEADER, "")
            running = self._running.get((session_id, request_id))
            if running is not None and _opened_by(manager, session_id, user):
                running.cancel()


def _caller(request: web.Request, principal: Principal, transport: str, client: str) -> Caller:
    """The caller as the SDK's path names it (`caller.caller_middleware`): the name the
    operator gave the key (SECURITY 99), else X-Caller, else the client's own name (from its
    `initialize`, or in the 2026 era its envelope), else its User-Agent's product; the
    User-Agent is read only when it is needed."""
    headers = request.headers
    name = principal.lane(explicit_caller(headers), client) or agent_name(headers)
    return Caller(
        principal.id,
        transport,
        name,
        principal.method,
        principal.scopes,
        headers.get(PROJECT_HEADER, ""),
        principal,
    )


def _open_session(manager: Any, session_id: str, user: Any) -> Any:
    """The session's transport when it is open, opened by `user` (the SDK's own comparison of
    who opened it), and keeps the in-flight count this module keeps up; else None."""
    transport = getattr(manager, "_server_instances", {}).get(session_id)
    if transport is None or not hasattr(transport, "_requests_in_flight"):
        return None
    idle = getattr(transport, "idle_scope", None)
    if transport.is_terminated or (idle is not None and idle.cancel_called):
        return None
    return transport if _opened_by(manager, session_id, user) else None


def _opened_by(manager: Any, session_id: str, user: Any) -> bool:
    """Whether `user` opened the session (the SDK's own comparison of who opened it)."""
    owner = getattr(manager, "_session_owners", {}).get(session_id)
    return owner is not None and owner == authorization_context(user)


def _json_content_type(value: str) -> bool:
    """The SDK's own test of a POST's Content-Type."""
    return any(part.strip() == "application/json" for part in value.split(";")[0].split(","))


@contextlib.contextmanager
def _in_flight(transport: Any) -> Iterator[None]:
    """Count a request in flight on the session, as the SDK's transport counts its own: its idle
    timeout is suspended until none is."""
    idle = getattr(transport, "idle_scope", None)
    timeout = getattr(transport, "_idle_timeout", None)
    if idle is None or timeout is None:
        yield
        return
    transport._requests_in_flight += 1
    idle.deadline = math.inf
    try:
        yield
    finally:
        transport._requests_in_flight -= 1
        if not transport._requests_in_flight:
            idle.deadline = anyio.current_time() + timeout


def _dumped(result: Any) -> Any:
    """The result on the wire, as the SDK's runner writes a middleware's result."""
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(result) if isinstance(result, dict) else {}


def _error(request_id: str | int, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
