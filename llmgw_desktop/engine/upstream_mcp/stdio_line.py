"""A relayed tool call sent on a stdio server's stdin beside the SDK's session.

The gateway is an MCP client of the user's server through the SDK's `ClientSession`: a call
there builds pydantic request models, crosses two anyio memory streams and the session's
dispatcher task each way, opens a tracing span, and every line the server writes is validated
into a message model before anyone looks at it. For a relayed `tools/call` that was two fifths
of the gateway's CPU per call (docs/PERFORMANCE.md). So such a call is written on the server's
stdin as one JSON line with an id of ours, and the server's answer with that id is taken off its
stdout before the SDK's parse (`StdioLine.take`), then checked as the SDK's `call_tool` checks
it (`tool_result`). Everything else stays the SDK's: `initialize`, the lists, notifications, the
server's own requests to the client (answered by the session), progress (a call that wants it
goes through the session), and every other message on the same pipes.

What the session does for a call that matters is done here too: a caller that gives up sends
`notifications/cancelled` for it; a server that ends fails every call waiting with the SDK's
"connection closed" error, so the relay says it as before; an error answer is the SDK's
`MCPError`. Ids are strings with a prefix the SDK's integer ids never take. The server's output
is read as before, so its line cap holds for these answers too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import TYPE_CHECKING, Any

from llmgw_desktop.engine import jsonio

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

__all__ = ["ID_PREFIX", "StdioLine", "tool_result"]

log = logging.getLogger(__name__)

# Our requests' ids: "llmgw-relay:N". The SDK numbers its own from 1, so they never meet.
ID_PREFIX = "llmgw-relay:"
_ID_MARK = f'"{ID_PREFIX}'.encode()
# JSON-RPC's codes the SDK uses for a connection that closed and an answer it cannot read.
CONNECTION_CLOSED = -32000
INTERNAL_ERROR = -32603


class StdioLine:
    """Requests written on one run of a stdio server beside its SDK session, and their answers
    matched by id."""

    def __init__(self, stdin: asyncio.StreamWriter) -> None:
        self._stdin = stdin
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def open(self) -> bool:
        return not self._closed

    def take(self, line: bytes) -> bool:
        """Whether `line` (one line the server wrote) answers a request of ours; then its
        caller has it, and the SDK never sees it."""
        if not self._waiting or _ID_MARK not in line:
            return False
        try:
            message = jsonio.loads(line)
        except ValueError:
            return False  # the SDK's parse says what is wrong with it
        if not isinstance(message, dict) or "method" in message:
            return False
        request_id = message.get("id")
        waiter = self._waiting.get(request_id) if isinstance(request_id, str) else None
        if waiter is None or ("result" not in message and "error" not in message):
            return False
        if not waiter.done():
            waiter.set_result(message)
        return True

    def close(self) -> None:
        """The server's output ended: every call waiting fails as the SDK's would."""
        self._closed = True
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(_closed())
                waiter.exception()  # retrieved: its caller may have left

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return its result.

        Raises:
            MCPError: the server answered with an error, or its connection closed.
        """
        if self._closed:
            raise _closed()
        request_id = f"{ID_PREFIX}{next(self._ids)}"
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        sent = False
        try:
            self._write({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            sent = True
            await self._stdin.drain()
            answer = await waiter
        except asyncio.CancelledError:
            if sent:
                # As the SDK's session: the server is told, so it can stop the work.
                self._cancel(request_id)
            raise
        except (ConnectionError, RuntimeError):
            raise _closed() from None
        finally:
            self._waiting.pop(request_id, None)
        return _result_of(answer)

    def _cancel(self, request_id: str) -> None:
        if self._closed:
            return
        params = {"requestId": request_id, "reason": "caller cancelled"}
        try:
            self._write({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})
        except (ConnectionError, RuntimeError) as exc:
            log.debug("could not tell the server of a cancelled call: %s", exc)

    def _write(self, message: dict[str, Any]) -> None:
        """One line on the server's stdin: whole, so it never mixes with the session's (both
        write from this loop, a line at a time)."""
        try:
            data = jsonio.dumps(message)
        except TypeError:  # an integer orjson cannot hold: the standard library can
            data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        self._stdin.write(data + b"\n")


def _result_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The result of a JSON-RPC answer.

    Raises:
        MCPError: it is an error answer (or not a readable one).
    """
    from mcp.shared.exceptions import MCPError
    from mcp_types import ErrorData
    from pydantic import ValidationError

    if "error" in answer:
        try:
            error = ErrorData.model_validate(answer["error"])
        except ValidationError:
            raise MCPError(INTERNAL_ERROR, "the server answered with a malformed error") from None
        raise MCPError(error.code, error.message, error.data)
    result = answer.get("result")
    if not isinstance(result, dict):
        raise MCPError(INTERNAL_ERROR, "the server's result is not a JSON object")
    return result


def _closed() -> Exception:
    from mcp.shared.exceptions import MCPError

    return MCPError(CONNECTION_CLOSED, "Connection closed")


async def tool_result(session: ClientSession, name: str, raw: dict[str, Any]) -> Any:
    """The server's `tools/call` result, checked as the SDK's `ClientSession.call_tool` checks
    it on that session: against the negotiated version's schema (a later revision's fields
    left out), as a `CallToolResult`, and its structured content against the tool's output
    schema.

    Raises:
        pydantic.ValidationError: it is not a result of that version.
        RuntimeError: it asks for input, or its structured content does not fit the schema.
    """
    from mcp.client import session as sdk_session
    from mcp_types import CallToolResult
    from mcp_types import methods as sdk_methods

    method = "tools/call"
    version = session.protocol_version or "2025-11-25"
    sdk_session._clamp_inbound_ttl(raw)
    with contextlib.suppress(KeyError):  # a version without that method's schema, unchecked
        sdk_methods.validate_server_result(method, version, raw)
    foreign = sdk_session._later_revision_fields(method, version)
    if not foreign.isdisjoint(raw):
        raw = {key: value for key, value in raw.items() if key not in foreign}
    result = sdk_session._CallToolResultAdapter.validate_python(raw, by_name=False)
    if not isinstance(result, CallToolResult):
        raise RuntimeError(f"the server asked for input to {name}, which the gateway cannot give")
    if not result.is_error:
        await session.validate_tool_result(name, result)
    return result
