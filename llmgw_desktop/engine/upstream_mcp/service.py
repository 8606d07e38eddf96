"""The user's MCP servers as one set: what each principal sees, and every call relayed.

A call is checked against the server's policy (`policy.py`), put to the desk when the server's
`approval` names the tool, relayed through the server's session, and written to the flight
recorder as one row: provider `mcp:NAME`, the offered tool name, the principal, the client
(agent), the transport, duration and outcome. Arguments and result are kept only when
`mcp.record_arguments` is on, redacted and shortened; otherwise the row holds their sizes.

Errors keep their meaning: a tool result the server marked `isError` is passed on as it came;
a JSON-RPC error from the server becomes `upstream_server_error` with its code, message and data;
a server that ended during the call becomes `upstream_server_failed` with its exit and the tail of
its stderr, and it is started again (`connection.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from llmgw_desktop.config.upstream_mcp import (
    NAMESPACE_SEPARATOR,
    RESOURCE_SEPARATOR,
    UpstreamServerConfig,
    field_named,
    offered_uri,
    parse_servers,
    split_offered,
)
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.calls.approval import ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.errors import (
    ApprovalDenied,
    EngineError,
    ErrorCode,
    InvalidRequest,
    NotFound,
)
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.redact import known_secrets, redact
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.upstream_mcp import policy
from llmgw_desktop.engine.upstream_mcp.connection import (
    MAX_TOOLS,
    START_TIMEOUT_S,
    ServerDown,
    UpstreamServer,
)
from llmgw_desktop.engine.upstream_mcp.oauth import OAuthVault, open_in_browser

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

__all__ = ["RelayedTool", "UpstreamServers"]

log = logging.getLogger(__name__)

# How long a list waits for servers starting for the first time (`mcp.list_wait_ms`): one not
# up by then is left out of that answer and never waited on again (`running`).
LIST_WAIT_S = 10.0
# How much of a call's arguments and result a row keeps when mcp.record_arguments is on.
RECORDED_CHARS = 2000
# JSON-RPC's "connection closed" (the SDK's code for a transport that ended mid-request).
CONNECTION_CLOSED = -32000

# The lists a server offers, as `on_lists_changed` names them.
LIST_KINDS = ("tools", "prompts", "resources")

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class RelayedTool:
    """An upstream tool as our server offers it."""

    server: str
    name: str  # the server's own name for it
    offered: str  # NAME__tool
    tool: Any  # the server's mcp_types.Tool


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


class UpstreamServers:
    """Every configured server, started at its first use and stopped with the engine."""

    def __init__(
        self,
        configs: Mapping[str, UpstreamServerConfig],
        *,
        lifeline: Lifeline,
        tasks: TaskSupervisor,
        secret: Callable[[str], Awaitable[str | None]],
        recorder: FlightRecorder,
        approvals: ApprovalGate,
        record_arguments: bool = False,
        version: str = "",
        saver: SettingsSaver | None = None,
        vault: OAuthVault | None = None,
        list_wait_s: float = LIST_WAIT_S,
        start_timeout_s: float = START_TIMEOUT_S,
        max_tools: int = MAX_TOOLS,
    ) -> None:
        """`list_wait_s`: how long a list waits for a server's first start; `start_timeout_s`
        bounds a server's `initialize` and each reading of its lists; `max_tools`, the entries
        each of its lists keeps."""
        self._recorder = recorder
        self._list_wait_s = list_wait_s
        # How a sign-in URL is shown to the user (the system browser; a test follows it itself).
        self.open_url: Callable[[str], None] = open_in_browser
        self._approvals = approvals
        self._record_arguments = record_arguments
        self._saver = saver
        self._listeners: list[Callable[[str, str], None]] = []

        def connect(config: UpstreamServerConfig) -> UpstreamServer:
            return UpstreamServer(
                config,
                lifeline=lifeline,
                tasks=tasks,
                secret=secret,
                on_lists_changed=self._changed,
                version=version,
                vault=vault,
                open_url=lambda url: self.open_url(url),
                start_timeout_s=start_timeout_s,
                max_tools=max_tools,
            )

        self._connect = connect
        self.servers = {name: connect(config) for name, config in configs.items()}

    @property
    def configured(self) -> bool:
        return bool(self.servers)

    def on_lists_changed(self, listener: Callable[[str, str], None]) -> None:
        """Hear when a server's tools, prompts or resources change: with the server's name and
        which list ("tools", "prompts" or "resources")."""
        self._listeners.append(listener)

    def _changed(self, name: str, kind: str) -> None:
        for listener in self._listeners:
            listener(name, kind)

    def status(self) -> list[dict[str, Any]]:
        return [server.status() for server in self.servers.values()]

    def sign_in_url(self, name: str) -> str | None:
        """The address a server waiting for its user's sign-in (OAuth) asks them to open, for
        the desk only (it carries the sign-in's state); None when none is waiting."""
        server = self.servers.get(name)
        return server.sign_in_url if server is not None else None

    def stderr_tail(self, name: str) -> str:
        """The last few KiB a stdio server wrote to stderr (redacted); "" when there is none."""
        server = self.servers.get(name)
        return redact(server.stderr_tail()) if server is not None else ""

    async def set_enabled(self, principal: Principal, name: str, enabled: bool) -> None:
        """Switch a server on or off: saved as `mcp.servers.NAME.enabled` in config.toml (when
        there is one), the server stopped, and every session told its lists changed. A server
        switched on starts at its next use.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            NotFound: no server of that name is configured.
            OSError: config.toml cannot be written (nothing is switched then).
        """
        require(principal, Capability.SETTINGS)
        server = self.servers.get(name)
        if server is None:
            raise NotFound(f"no MCP server {name!r} is configured ([mcp.servers.NAME])")
        if self._saver is not None and self._saver.can_save:
            await self._saver.write(server.config.key("enabled"), enabled)
        else:
            log.info("MCP server %s switched for this run only: no settings file", name)
        if server.config.enabled == enabled:
            return
        await server.stop()
        self.servers[name] = self._connect(replace(server.config, enabled=enabled))
        log.info("MCP server %s switched %s", name, "on" if enabled else "off")
        for kind in LIST_KINDS:
            self._changed(name, kind)

    def checked(self, name: str, table: Mapping[str, Any]) -> UpstreamServerConfig:
        """`table` as the config of a new server called `name`.

        Raises:
            InvalidRequest: the name is taken or malformed, or a field is wrong; `param` names
                the field ("name", "command", "url", "env", ...), and so does the message.
        """
        if name in self.servers:
            raise InvalidRequest(
                f"an MCP server called {name!r} is configured already", param="name"
            )
        try:
            return parse_servers({name: table})[name]
        except ValueError as exc:
            raise InvalidRequest(str(exc), param=field_named(str(exc))) from None

    async def add(self, principal: Principal, name: str, table: Mapping[str, Any]) -> None:
        """Add a server: written as `[mcp.servers.NAME]` to config.toml (the person's comments
        kept), and offered at once (it starts at its first use); every session is told.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: as `checked`.
            OSError: config.toml cannot be written (nothing is added then).
        """
        require(principal, Capability.SETTINGS)
        config = self.checked(name, table)
        await self._save_table(name, dict(table))
        self.servers[name] = self._connect(config)
        log.info("MCP server %s added", name)
        for kind in LIST_KINDS:
            self._changed(name, kind)

    async def remove(self, principal: Principal, name: str) -> None:
        """Stop a server and remove its table from config.toml (its OAuth tokens, if any, stay
        in the vault, listed on the Credentials page); every session is told.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            NotFound: no server of that name is configured.
            OSError: config.toml cannot be written (nothing is removed then).
        """
        require(principal, Capability.SETTINGS)
        server = self.servers.get(name)
        if server is None:
            raise NotFound(f"no MCP server {name!r} is configured ([mcp.servers.NAME])")
        await self._save_table(name, None)
        del self.servers[name]
        await server.stop()
        log.info("MCP server %s removed", name)
        for kind in LIST_KINDS:
            self._changed(name, kind)

    async def _save_table(self, name: str, table: dict[str, Any] | None) -> None:
        if self._saver is not None and self._saver.can_save:
            await self._saver.write_many([(("mcp", "servers", name), table)])
        else:
            log.info("MCP server %s changed for this run only: no settings file", name)

    async def test(self, name: str) -> dict[str, Any]:
        """Connect to the server (starting it if it is not running), read its lists again, and
        say what it offers or why it failed: `ok`, `message`, the counts, `ms`, `stderrTail`.

        Raises:
            NotFound: no server of that name is configured.
        """
        server = self.servers.get(name)
        if server is None:
            raise NotFound(f"no MCP server {name!r} is configured ([mcp.servers.NAME])")
        began = time.monotonic()
        try:
            await server.reread()
        except Exception as exc:  # any failure is the answer to "does it work?"
            return {
                "ok": False,
                "message": redact(str(exc) or type(exc).__name__),
                "ms": round((time.monotonic() - began) * 1000),
                "stderrTail": self.stderr_tail(name),
            }
        status = server.status()
        return {
            "ok": True,
            "message": (
                f"{status['tools']} tools, {status['prompts']} prompts, "
                f"{status['resources']} resources"
            ),
            "tools": status["tools"],
            "prompts": status["prompts"],
            "resources": status["resources"],
            "ms": round((time.monotonic() - began) * 1000),
            "stderrTail": self.stderr_tail(name),
        }

    async def stop(self) -> None:
        """Stop every server (in parallel; each bounded by its stop grace)."""
        await asyncio.gather(*(s.stop() for s in self.servers.values()), return_exceptions=True)

    # -- listing --------------------------------------------------------------------------

    async def running(self, principal: Principal | None = None) -> list[UpstreamServer]:
        """The enabled servers that could offer `principal` anything and have lists to offer:
        those running, and those restarting or failed that listed before (what they listed
        last). One starting for the first time is waited on for `mcp.list_wait_ms`, once: a
        server that is slow, stuck or failing never holds up another's list again; it joins
        the lists when it runs, and the sessions are told then."""
        enabled = [
            s
            for s in self.servers.values()
            if s.config.enabled and policy.offers_anything(s.config, principal)
        ]
        ready: list[UpstreamServer] = []
        waiting: dict[UpstreamServer, asyncio.Future[Any]] = {}
        for server in enabled:
            if server.connected:
                ready.append(server)
                continue
            attempt = server.wake()  # started (or restarted) in the background
            if server.listed:
                ready.append(server)
            elif not server.waited_out and server.state not in ("failed", "needs_sign_in"):
                waiting[server] = attempt
        if waiting:
            await asyncio.wait(
                [asyncio.shield(a) for a in waiting.values()], timeout=self._list_wait_s
            )
            for server, attempt in waiting.items():
                if attempt.done() and not attempt.cancelled() and attempt.exception() is None:
                    ready.append(server)
                    continue
                server.waited_out = True
                log.info(
                    "MCP server %s left out of the list: it did not start within %g s "
                    "(mcp.list_wait_ms); it is added when it runs",
                    server.config.name,
                    self._list_wait_s,
                )
        return ready

    async def tools(self, principal: Principal | None) -> list[RelayedTool]:
        """The tools `principal` may call, named NAME__tool."""
        offered = []
        for server in await self.running(principal):
            for tool in server.tools:
                if policy.visible(server.config, tool.name, _read_only(tool), principal):
                    offered.append(
                        RelayedTool(
                            server.config.name,
                            tool.name,
                            f"{server.config.name}{NAMESPACE_SEPARATOR}{tool.name}",
                            tool,
                        )
                    )
        return offered

    async def prompts(self, principal: Principal | None) -> list[Any]:
        """The prompts `principal` may get, as `mcp_types.Prompt` named NAME__prompt."""
        offered = []
        for server in await self.running(principal):
            name = server.config.name
            for prompt in server.prompts:
                if policy.visible(server.config, prompt.name, True, principal, "prompt"):
                    offered.append(
                        prompt.model_copy(
                            update={"name": f"{name}{NAMESPACE_SEPARATOR}{prompt.name}"}
                        )
                    )
        return offered

    async def resources(self, principal: Principal | None) -> list[Any]:
        """The resources `principal` may read, as `mcp_types.Resource` with NAME+uri."""
        offered = []
        for server in await self.running(principal):
            for resource in server.resources:
                if policy.visible(server.config, resource.uri, True, principal, "resource"):
                    uri = offered_uri(server.config.name, resource.uri)
                    offered.append(resource.model_copy(update={"uri": uri}))
        return offered

    async def resource_templates(self, principal: Principal | None) -> list[Any]:
        """The resource templates `principal` may read through, with NAME+template."""
        offered = []
        for server in await self.running(principal):
            for template in server.templates:
                template_uri = template.uri_template
                if policy.visible(server.config, template_uri, True, principal, "resource"):
                    uri = offered_uri(server.config.name, template_uri)
                    offered.append(template.model_copy(update={"uri_template": uri}))
        return offered

    def owns(self, offered: str) -> bool:
        """Whether the tool or prompt name `offered` is in a configured server's namespace."""
        split = split_offered(offered, NAMESPACE_SEPARATOR)
        return split is not None and split[0] in self.servers

    def owns_uri(self, offered: str) -> bool:
        """Whether the resource URI `offered` is in a configured server's namespace."""
        split = split_offered(offered, RESOURCE_SEPARATOR)
        return split is not None and split[0] in self.servers

    # -- using ------------------------------------------------------------------------------

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
        server = self.servers[name]

        async def use(session: ClientSession) -> Any:
            tool = next((t for t in server.tools if t.name == tool_name), None)
            if tool is None:
                raise NotFound(
                    f"MCP server {name!r} offers no tool {tool_name!r} (tools/list names "
                    "what it offers)",
                    server=name,
                    tool=tool_name,
                )
            refused = policy.refusal(server.config, tool_name, _read_only(tool), principal)
            if refused is not None:
                raise refused
            if tool_name in server.config.approval:
                await self._approve(server.config, tool_name, principal, client)
            return await session.call_tool(
                tool_name, dict(arguments or {}), progress_callback=cast(Any, progress)
            )

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
        server = self.servers[name]

        async def use(session: ClientSession) -> Any:
            refused = policy.refusal(server.config, prompt, True, principal, "prompt")
            if refused is not None:
                raise refused
            return await session.get_prompt(prompt, dict(arguments or {}))

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
        server = self.servers[name]

        async def use(session: ClientSession) -> Any:
            refused = policy.refusal(server.config, uri, True, principal, "resource")
            if refused is not None:
                raise refused
            result = await session.read_resource(uri)
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
        except (OSError, ConnectionError, EOFError) as exc:
            server.broken(str(exc) or type(exc).__name__)
            raise _server_failed(
                server, f"MCP server {config.name!r} failed during the use of {offered}: {exc}"
            ) from None

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


def _read_only(tool: Any) -> bool:
    annotations = getattr(tool, "annotations", None)
    return bool(getattr(annotations, "read_only_hint", False))


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


def _server_failed(server: UpstreamServer, message: str) -> EngineError:
    return EngineError(
        message,
        code=ErrorCode.UPSTREAM_SERVER_FAILED,
        retryable=True,
        server=server.config.name,
        stderrTail=redact(server.stderr_tail()[-1000:]) or None,
        needsSignIn=server.sign_in_url is not None,
    )


def _masked_for(principal: Principal, result: Any) -> Any:
    """`result` as a remote principal may see it: the secrets this process holds (the vault
    keys handed to the servers among them) masked. The local user gets the server's answer."""
    if not principal.remote:
        return result
    dumped = result.model_dump_json(by_alias=True)
    masked = known_secrets.mask(dumped)
    return result if masked == dumped else type(result).model_validate_json(masked)
