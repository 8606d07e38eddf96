"""The user's MCP servers as one set: the operator's edits (add, remove, switch, test), what
each principal sees of them, and the way in for every use.

A server starts at its first use and stops with the engine. A list waits a bounded time for
servers starting for the first time (`running`). Each use (a tool called, a prompt got, a
resource read) is relayed by `relay.py`: the policy, the desk's approval, the recorder row and
the server's errors said as ours are there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

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
from llmgw_desktop.engine.calls.approval import ApprovalGate
from llmgw_desktop.engine.errors import InvalidRequest, NotFound
from llmgw_desktop.engine.events import EventBus, Notice
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.upstream_mcp import policy
from llmgw_desktop.engine.upstream_mcp.connection import MAX_TOOLS, START_TIMEOUT_S, UpstreamServer
from llmgw_desktop.engine.upstream_mcp.oauth import OAuthVault, open_in_browser
from llmgw_desktop.engine.upstream_mcp.pins import NOTICE_TOPIC, ToolPins
from llmgw_desktop.engine.upstream_mcp.pins_file import ToolReview
from llmgw_desktop.engine.upstream_mcp.relay import CALL_TIMEOUT_S, UpstreamRelay

__all__ = ["RelayedTool", "UpstreamServers"]

log = logging.getLogger(__name__)

# How long a list waits for servers starting for the first time (`mcp.list_wait_ms`): one not
# up by then is left out of that answer and never waited on again (`running`).
LIST_WAIT_S = 10.0

# A server in one of these states is not waited on by a list: it would not be up in time.
NOT_WAITED_ON = ("failed", "needs_sign_in", "not_answering")

# The lists a server offers, as `on_lists_changed` names them.
LIST_KINDS = ("tools", "prompts", "resources")


@dataclass(frozen=True)
class RelayedTool:
    """An upstream tool as our server offers it."""

    server: str
    name: str  # the server's own name for it
    offered: str  # NAME__tool
    tool: Any  # the server's mcp_types.Tool


class UpstreamServers:
    """Every configured server, started at its first use and stopped with the engine; its
    uses (`call`, `get_prompt`, `read_resource`) are `UpstreamRelay`'s."""

    def __init__(
        self,
        configs: Mapping[str, UpstreamServerConfig],
        *,
        lifeline: Lifeline,
        tasks: TaskSupervisor,
        secret: Callable[[str], Awaitable[str | None]],
        recorder: FlightRecorder,
        approvals: ApprovalGate,
        pins: ToolPins,
        record_arguments: bool = False,
        version: str = "",
        saver: SettingsSaver | None = None,
        vault: OAuthVault | None = None,
        list_wait_s: float = LIST_WAIT_S,
        start_timeout_s: float = START_TIMEOUT_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
        max_tools: int = MAX_TOOLS,
        traced: bool = False,
        events: EventBus,
    ) -> None:
        """`list_wait_s`: how long a list waits for a server's first start; `start_timeout_s`
        bounds a server's `initialize` and each reading of its lists; `call_timeout_s`, each
        use of it (`relay.py`); `max_tools`, the entries each of its lists keeps; `traced`,
        OpenTelemetry export is on (calls go through the SDK's session, which spans them);
        `pins`, each server's tools as first seen (a changed one is withheld: `pins.py`),
        required: a set of servers built without them would serve a changed tool unasked;
        `events` hear a server fail and run again (a `Notice` opening the servers' page)."""
        self._list_wait_s = list_wait_s
        self.pins = pins
        # How a sign-in URL is shown to the user (the system browser; a test follows it itself).
        self.open_url: Callable[[str], None] = open_in_browser
        self._saver = saver
        self._listeners: list[Callable[[str, str], None]] = []

        def tell(level: str, message: str) -> None:
            events.publish(Notice(level, message, topic=NOTICE_TOPIC))

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
                pins=self.pins,
                tell=tell,
            )

        self._connect = connect
        self.servers = {name: connect(config) for name, config in configs.items()}
        # Every use of a server (a tool called, a prompt got, a resource read) is relayed by
        # `relay.py`, over this same mapping: a server added or switched is relayed to at once.
        relay = UpstreamRelay(
            self.servers,
            tasks=tasks,
            recorder=recorder,
            approvals=approvals,
            record_arguments=record_arguments,
            traced=traced,
            call_timeout_s=call_timeout_s,
            why_withheld=self.pins.why_withheld,
        )
        self.call = relay.call
        self.get_prompt = relay.get_prompt
        self.read_resource = relay.read_resource

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

    def failing(self) -> list[str]:
        """The servers switched on that failed (to start, or while they ran, or found not
        answering) and have not run since, by name: what `/health` counts and the tray lists."""
        return [name for name, s in self.servers.items() if s.config.enabled and s.failing]

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
        switched on starts now, in the background (one that signs in with OAuth at its next use).

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
        self.servers[name] = restarted = self._connect(replace(server.config, enabled=enabled))
        if enabled and not restarted.config.oauth:
            restarted.wake()  # started now, as at the gateway's start (`warm`)
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
        in the vault, listed on the Provider keys page); every session is told.

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

    def warm(self) -> None:
        """Start every enabled server in the background, as the gateway starts: the first list
        then finds it running. Clients that list once without waiting long (Claude Code's
        `-p` went on without the tools of a server still starting under load) see every tool,
        as editors that start their MCP servers at launch do. A server that signs in with
        OAuth waits for its first use, so no browser opens before anyone asked."""
        for server in self.servers.values():
            if server.config.enabled and not server.config.oauth:
                server.wake()

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
            elif not server.waited_out and server.state not in NOT_WAITED_ON:
                waiting[server] = attempt
        if waiting:
            # `wait` cancels nothing it gives up on. (A shield each, as before, was left with
            # the start's failure when it came later: "Future exception was never retrieved".)
            await asyncio.wait(waiting.values(), timeout=self._list_wait_s)
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
        """The tools `principal` may call, named NAME__tool; a tool changed since it was
        pinned, new since its server's tools were approved, or flagged (from remote callers,
        or from everyone where those are withheld) is left out until approved."""
        offered = []
        running = await self.running(principal)
        await self.pins.fresh()
        for server in running:
            for tool in server.tools:
                if self.pins.withheld(server.config.name, tool.name, principal):
                    continue
                if policy.visible(server.config, tool.name, policy.only_reads(tool), principal):
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

    def tool_reviews(self, name: str) -> list[ToolReview]:
        """`name`'s tools a person should look at: changed since pinned (with the difference),
        or flagged (`tool_flags.py`); each says whether it is withheld now."""
        return self.pins.reviews(name)

    async def approve_tools(
        self, principal: Principal, name: str, tool: str | None = None
    ) -> list[str]:
        """Approve `name`'s changed tools as listed now (`tool`: that one, or a flagged one
        trusted as it is): offered again, and every session told its tools changed. The
        names approved.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            NotFound: no server of that name is configured.
        """
        require(principal, Capability.SETTINGS)
        if name not in self.servers:
            raise NotFound(f"no MCP server {name!r} is configured ([mcp.servers.NAME])")
        approved = await self.pins.approve(name, tool)
        if approved:
            log.info("MCP server %s: tools approved: %s", name, ", ".join(approved))
            self._changed(name, "tools")
        return approved

    def owns(self, offered: str) -> bool:
        """Whether the tool or prompt name `offered` is in a configured server's namespace."""
        split = split_offered(offered, NAMESPACE_SEPARATOR)
        return split is not None and split[0] in self.servers

    def owns_uri(self, offered: str) -> bool:
        """Whether the resource URI `offered` is in a configured server's namespace."""
        split = split_offered(offered, RESOURCE_SEPARATOR)
        return split is not None and split[0] in self.servers
