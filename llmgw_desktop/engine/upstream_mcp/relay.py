"""A use of the user's MCP servers relayed: a tool called, a prompt got, a resource read.

Each use is checked against the server's policy (`policy.py`), put to the desk when the server's
`approval` names the tool, relayed through the server's session, and written to the flight
recorder as one row: provider `mcp:NAME`, the offered tool name, the principal, the client
(agent), the transport, duration and outcome. Arguments and result are kept only when
`mcp.record_arguments` is on, redacted and shortened; otherwise the row holds their sizes. A
remote principal gets the answer with the secrets this process holds masked.

A tool call that asks for no progress goes to a stdio server on its pipes beside the SDK's
session (`stdio_line.py`), its answer checked as the session checks one; any other use
goes through the session.

Errors keep their meaning: a tool result the server marked `isError` is passed on as it came;
a JSON-RPC error from the server becomes `upstream_server_error` with its code, message and data,
and so does a result that is not one (its shape, or its structured content against the tool's
output schema);
a server that ended during the call becomes `upstream_server_failed` with its exit and the tail of
its stderr, and it is started again (`connection.py`).

Each use has a deadline (`mcp.call_timeout_ms`): without one, a server that hangs (stopped,
deadlocked) held every call to it for as long as its caller waited, and looked "running" all
along. Past it the use is cancelled (the server is told) and answers `timeout`; the server was
pinged shortly before it, and one that answered no ping either is taken for hung: its run is
ended (the process group killed) and a new one started, so the next call is answered. The
caller hears at the deadline, not later: the use and the ping run in tasks of their own, whose
cancellation is not waited for (the SDK, cancelling a request, tries for up to 5 s to tell the
server so, and a hung HTTP server holds every later message behind that one; pinged after the
deadline, a hung HTTP server's caller heard 10 s late). Calls past their deadline together share
one ping (`silence.py`); a hung HTTP server's later callers are answered at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from llmgw_desktop.config.upstream_mcp import (
    NAMESPACE_SEPARATOR,
    RESOURCE_SEPARATOR,
    UpstreamServerConfig,
    offered_uri,
)
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.calls.approval import ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.errors import ApprovalDenied, EngineError, ErrorCode, NotFound
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.redact import known_secrets, redact
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.upstream_mcp import policy
from llmgw_desktop.engine.upstream_mcp.connection import UpstreamServer
from llmgw_desktop.engine.upstream_mcp.stdio_line import tool_result
from llmgw_desktop.engine.upstream_mcp.transport import ServerDown

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

__all__ = ["CALL_TIMEOUT_S", "Progress", "UpstreamRelay"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A use's deadline (`mcp.call_timeout_ms`): as long as a Streamable HTTP server's own read
# timeout (`transport.HTTP_TIMEOUT_S`), so a stdio server is held to the same.
CALL_TIMEOUT_S = 300.0
# How long before a use's deadline the server is pinged: one that has not answered by the
# deadline is taken for hung and restarted (a server that answers is only slow at that tool).
# Half the deadline when that is shorter.
PING_TIMEOUT_S = 5.0

# How much of a call's arguments and result a row keeps when mcp.record_arguments is on.
RECORDED_CHARS = 2000
# JSON-RPC's "connection closed" (the SDK's code for a transport that ended mid-request).
CONNECTION_CLOSED = -32000

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class Use:
    """One relayed use of a server: a tool call, a prompt got or a resource read."""

    server: UpstreamServer
    kind: policy.UseKind
    name: str  # the server's own tool or prompt name, or resource URI
    offered: str  # as our /mcp names it
    principal: Principal
    client: str
    transport: str


class UpstreamRelay:
    """Relays uses of the configured servers, each one recorder row."""

    def __init__(
        self,
        servers: Mapping[str, UpstreamServer],
        *,
        tasks: TaskSupervisor,
        recorder: FlightRecorder,
        approvals: ApprovalGate,
        record_arguments: bool = False,
        traced: bool = False,
        call_timeout_s: float = CALL_TIMEOUT_S,
        why_withheld: Callable[[str, str, Principal | None], str | None],
    ) -> None:
        """`servers`: the configured servers by name, as the server set keeps them (the same
        mapping, so a server added or switched is relayed to at once). `traced`: OpenTelemetry
        export is on, so every call goes through the SDK's session, which spans it.
        `call_timeout_s`: how long one use may wait for the server's answer. `tasks` runs each
        use, so that its deadline does not wait for its cancellation (`_answered`).
        `why_withheld(server, tool, principal)`: why the tool is kept from the principal (it
        changed since it was pinned, is new since its server's tools were approved, or is
        flagged: `pins.py`), or None: a call of a withheld tool is refused."""
        self._servers = servers
        self._why_withheld = why_withheld
        self._tasks = tasks
        self._call_timeout_s = call_timeout_s
        self._recorder = recorder
        self._approvals = approvals
        self._record_arguments = record_arguments
        self._beside_sdk = not traced

    async def call(
        self,
        offered: str,
        arguments: Mapping[str, Any] | None,
        *,
        principal: Principal,
        client: str,
        transport: str,
        progress: Progress | None = None,
    ) -> Any:
        """Relay one tool call; returns the server's `CallToolResult`.

        Raises:
            NotFound: no configured server offers that tool.
            ToolRefused: the server's policy refuses it to `principal`.
            ApprovalDenied: the desk said no, or could not be asked.
            EngineError: the server failed (`upstream_server_failed`) or answered with a protocol
                error (`upstream_server_error`).
        """
        name, _, tool_name = offered.partition(NAMESPACE_SEPARATOR)
        server = self._servers[name]

        async def use(session: ClientSession) -> Any:
            tool = next((t for t in server.tools if t.name == tool_name), None)
            if tool is None:
                raise NotFound(
                    f"MCP server {name!r} offers no tool {tool_name!r} (tools/list names "
                    "what it offers)",
                    server=name,
                    tool=tool_name,
                )
            why = self._why_withheld(name, tool_name, principal)
            if why is not None:
                raise EngineError(
                    f"MCP server {name!r}'s tool {tool_name!r} is withheld because {why}, "
                    "until the operator approves it on the MCP servers page or with "
                    f"`llmgw-desktop mcp-servers approve {name}`",
                    code=ErrorCode.UPSTREAM_TOOL_WITHHELD,
                    server=name,
                    tool=tool_name,
                )
            refused = policy.refusal(server.config, tool_name, policy.only_reads(tool), principal)
            if refused is not None:
                raise refused
            if tool_name in server.config.approval:
                await self._approve(server.config, tool_name, principal, client)
            line = server.line if progress is None and self._beside_sdk else None
            try:
                if line is not None:
                    params = {"name": tool_name, "arguments": dict(arguments or {})}
                    raw = await self._answered(server, offered, line.request("tools/call", params))
                    return await tool_result(session, tool_name, raw)
                return await self._answered(
                    server,
                    offered,
                    session.call_tool(
                        tool_name, dict(arguments or {}), progress_callback=cast(Any, progress)
                    ),
                )
            except (ValueError, RuntimeError) as exc:
                # pydantic's ValidationError (a ValueError) and the SDK's output-schema check
                # (a RuntimeError): the server's answer is not a result of this tool.
                raise EngineError(
                    f"MCP server {name!r} answered {offered} with a result that is not valid: "
                    f"{_first_line(exc)}",
                    code=ErrorCode.UPSTREAM_SERVER_ERROR,
                    server=name,
                    tool=tool_name,
                ) from None

        what = Use(server, "tool", tool_name, offered, principal, client, transport)
        return _masked_for(principal, await self._recorded(what, arguments or {}, use))

    async def get_prompt(
        self,
        offered: str,
        arguments: Mapping[str, str] | None,
        *,
        principal: Principal,
        client: str,
        transport: str,
    ) -> Any:
        """Relay one `prompts/get`; returns the server's `GetPromptResult`.

        Raises:
            ToolRefused: the server's policy refuses the prompt to `principal`.
            EngineError: the server failed or answered with a protocol error (as `call`).
        """
        name, _, prompt = offered.partition(NAMESPACE_SEPARATOR)
        server = self._servers[name]

        async def use(session: ClientSession) -> Any:
            refused = policy.refusal(server.config, prompt, True, principal, "prompt")
            if refused is not None:
                raise refused
            return await self._answered(
                server, offered, session.get_prompt(prompt, dict(arguments or {}))
            )

        what = Use(server, "prompt", prompt, offered, principal, client, transport)
        return _masked_for(principal, await self._recorded(what, arguments or {}, use))

    async def read_resource(
        self, offered: str, *, principal: Principal, client: str, transport: str
    ) -> Any:
        """Relay one `resources/read` of an offered URI; returns the server's
        `ReadResourceResult`, each content's URI offered as ours.

        Raises:
            ToolRefused: the server's policy refuses the resource to `principal`.
            EngineError: the server failed or answered with a protocol error (as `call`).
        """
        name, _, uri = offered.partition(RESOURCE_SEPARATOR)
        server = self._servers[name]

        async def use(session: ClientSession) -> Any:
            refused = policy.refusal(server.config, uri, True, principal, "resource")
            if refused is not None:
                raise refused
            result = await self._answered(server, offered, session.read_resource(uri))
            contents = [
                c.model_copy(update={"uri": offered_uri(name, c.uri)}) for c in result.contents
            ]
            return result.model_copy(update={"contents": contents})

        what = Use(server, "resource", uri, offered, principal, client, transport)
        return _masked_for(principal, await self._recorded(what, {"uri": uri}, use))

    async def _recorded(
        self,
        use: Use,
        arguments: Mapping[str, Any],
        relay: Callable[[ClientSession], Awaitable[Any]],
    ) -> Any:
        """Run `relay` on the server's session as one flight-recorder row, its errors said as
        ours."""
        server = use.server
        record = self._recorder.start(
            principal=use.principal.id,
            provider=f"mcp:{server.config.name}",
            transport=use.transport,
            tool=use.offered,
            caller=use.client,
        )
        route: dict[str, Any] = {"server": server.config.name, use.kind: use.name}
        route |= self._kept("arguments", arguments)
        try:
            result = await self._relay(use, relay)
        except EngineError as error:
            state = {
                ErrorCode.UPSTREAM_TOOL_REFUSED: RecordState.REFUSED,
                ErrorCode.NOT_FOUND: RecordState.REFUSED,
                ErrorCode.APPROVAL_DENIED: RecordState.DENIED,
            }.get(ErrorCode(error.code), RecordState.FAILED)
            self._recorder.finish(record, state=state, error_code=error.code, route=route)
            raise
        except asyncio.CancelledError:
            self._recorder.finish(
                record, state=RecordState.CANCELED, error_code=ErrorCode.CANCELED, route=route
            )
            raise
        except Exception:
            # Anything else is a bug of ours or the SDK's; the row still ends (a row left
            # `started` would read as a call in flight for ever), and the caller gets the error.
            self._recorder.finish(
                record, state=RecordState.FAILED, error_code=ErrorCode.INTERNAL_ERROR, route=route
            )
            raise
        failed = bool(getattr(result, "is_error", False))
        route |= self._kept("result", result.model_dump(mode="json", by_alias=True))
        self._recorder.finish(
            record,
            state=RecordState.FAILED if failed else RecordState.COMPLETED,
            error_code="tool_error" if failed else None,
            route=route,
        )
        return result

    async def _relay(self, use: Use, relay: Callable[[ClientSession], Awaitable[Any]]) -> Any:
        from anyio import BrokenResourceError, ClosedResourceError
        from mcp.shared.exceptions import MCPError

        server, config, offered = use.server, use.server.config, use.offered
        if not policy.offers_anything(config, use.principal):
            # Refused before the server starts (see `policy.offers_anything`).
            refused = policy.refusal(config, use.name, False, use.principal, use.kind)
            if refused is not None:
                raise refused
        try:
            session = await server.session()
        except ServerDown as exc:
            raise _server_failed(
                server, f"MCP server {config.name!r} is not available: {exc}"
            ) from None
        try:
            return await relay(session)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                await _settled(server)
                server.broken("the connection closed during a call")
                raise _server_failed(
                    server,
                    f"MCP server {config.name!r} ended during the use of {offered} "
                    f"({server.last_error}); it is being restarted, so the call can be retried",
                ) from None
            used: dict[str, Any] = {use.kind: use.name}
            raise EngineError(
                f"MCP server {config.name!r} answered {offered} with an error: {exc.error.message}",
                code=ErrorCode.UPSTREAM_SERVER_ERROR,
                server=config.name,
                **used,
                upstreamCode=exc.error.code,
                upstreamData=exc.error.data,
            ) from None
        except (
            OSError,
            ConnectionError,
            EOFError,
            ClosedResourceError,
            BrokenResourceError,
        ) as exc:
            # anyio's two: the session's streams closed under a call (the server's transport
            # ended between our last look and this send); the same as a connection lost.
            server.broken(str(exc) or type(exc).__name__)
            raise _server_failed(
                server,
                f"MCP server {config.name!r} failed during the use of {offered}: "
                f"{str(exc) or type(exc).__name__}",
            ) from None

    async def _answered(
        self, server: UpstreamServer, offered: str, answer: Coroutine[Any, Any, T]
    ) -> T:
        """What the server answers to one request (`answer`), within the call timeout.

        Raises:
            EngineError: `timeout`: no answer in time (the request was cancelled; a server that
                answered no ping either is restarted).
        """
        name = server.config.name
        call = self._tasks.spawn(_caught(answer), name=f"mcp-use-{name}")
        ping: asyncio.Future[bool] | None = None
        window = min(PING_TIMEOUT_S, self._call_timeout_s / 2)
        try:
            await asyncio.wait([call], timeout=self._call_timeout_s - window)
            if not call.done():
                # The ping in flight to this server, if there is one (shared: `silence.py`);
                # it is decided within its window, so by this call's deadline.
                ping = server.ping(window)
                await asyncio.wait([call], timeout=window)
        finally:
            # Past the deadline, or the caller gone: not waited for (see the module's
            # docstring); the SDK tells the server in the call's own task.
            if not call.done():
                call.cancel()
        if call.done():  # it ended before the deadline (cancelling it above changed nothing)
            return call.result().unwrap()
        answered = ping is not None and ping.done() and ping.result()
        waited = f"{self._call_timeout_s:g} s (mcp.call_timeout_ms)"
        if answered:
            raise EngineError(
                f"MCP server {name!r} did not answer {offered} within {waited}; the call was "
                "cancelled (the server still answers, so the tool itself is slow)",
                code=ErrorCode.TIMEOUT,
                server=name,
            )
        why = f"stopped answering: no answer to {offered} within {waited}, nor to a ping"
        if server.hung(why):  # said once, by the first of the calls that found it out
            log.warning("MCP server %s %s; restarting it", name, why)
        raise EngineError(
            f"MCP server {name!r} did not answer {offered} within {waited} and answers no ping "
            "either: it is being restarted, so the call can be retried",
            code=ErrorCode.TIMEOUT,
            retryable=True,
            server=name,
            stderrTail=redact(server.stderr_tail()[-1000:]) or None,
        )

    async def _approve(
        self, config: UpstreamServerConfig, tool: str, principal: Principal, client: str
    ) -> None:
        offered = f"{config.name}{NAMESPACE_SEPARATOR}{tool}"
        request = ApprovalRequest(
            provider=f"mcp:{config.name}",
            prompt=f"call the tool {offered}",
            permission_mode="default",
            full_auto=False,
            allowed_tools=(offered,),
            strategy="mcp_managed",
            principal=principal.id,
            caller=client,
        )
        decision = await self._approvals.ask_desk(
            request, f"{config.key('approval')} names {tool!r}"
        )
        if not decision.allowed:
            raise ApprovalDenied(
                f"{offered} needs the desk's approval ({config.key('approval')} names it) and "
                f"was not approved ({decision.decided_by}: {'; '.join(decision.reasons)})",
                setting=config.key("approval"),
                approval=decision.to_dict(),
            )

    def _kept(self, field: str, value: Any) -> dict[str, Any]:
        text = json.dumps(value, ensure_ascii=False, default=str)
        if not self._record_arguments:
            return {f"{field}Chars": len(text)}
        return {field: redact(text)[:RECORDED_CHARS]}


async def _settled(server: UpstreamServer) -> None:
    """Give a stdio server's exit a moment to be seen, so the error can say how it ended."""
    process = server.process
    if process is not None:
        try:
            await asyncio.wait_for(process.ended.wait(), 1.0)
        except TimeoutError:
            return
        if process.returncode is not None:
            code = process.returncode
            server.last_error = (
                f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
            )


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    """What a use's task ended with: its result, or the exception it raised."""

    result: T | None = None
    raised: Exception | None = None

    def unwrap(self) -> T:
        """The result.

        Raises:
            Exception: the one the use raised.
        """
        if self.raised is not None:
            raise self.raised
        return cast(T, self.result)


async def _caught(answer: Coroutine[Any, Any, T]) -> _Outcome[T]:
    """`answer`'s outcome, an exception included: the task then ends well, and the supervisor
    does not log as a failed task what the caller is given (a server's error, say)."""
    try:
        return _Outcome(await answer)
    except Exception as exc:
        return _Outcome(raised=exc)


def _first_line(exc: BaseException) -> str:
    """The start of an error's text: a validation error's first lines, not all of them."""
    return " ".join(str(exc).splitlines()[:3])[:500] or type(exc).__name__


def _server_failed(server: UpstreamServer, message: str) -> EngineError:
    silence = server.silence
    return EngineError(
        message,
        code=ErrorCode.UPSTREAM_SERVER_FAILED,
        retryable=True,
        server=server.config.name,
        serverState=server.state,
        stderrTail=redact(server.stderr_tail()[-1000:]) or None,
        needsSignIn=server.sign_in_url is not None,
        notAnsweringSince=silence.since_iso(),
        retry_after_s=silence.retry_after_s() if silence.known else None,
    )


def _masked_for(principal: Principal, result: Any) -> Any:
    """`result` as a remote principal may see it: the secrets this process holds (the vault
    keys handed to the servers among them) masked. The local user gets the server's answer."""
    if not principal.remote:
        return result
    dumped = result.model_dump_json(by_alias=True)
    masked = known_secrets.mask(dumped)
    return result if masked == dumped else type(result).model_validate_json(masked)
