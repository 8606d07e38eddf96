"""The gateway without a face: engine and front doors, started and stopped in order.

Both composition roots (the desktop app and headless mode) build one of these; they differ
only in what they put around it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import web

from llmgw_desktop.config.file import ConfigFileWriter
from llmgw_desktop.config.settings import LoadedSettings, Settings
from llmgw_desktop.engine.api import OLLAMA_PORT, Engine, startup_warnings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.startup import after_ready, keep_generated_code
from llmgw_desktop.transports.acp.socket_route import ACP_PATH
from llmgw_desktop.transports.connections import ConnectionGuard, ConnectionLimits
from llmgw_desktop.transports.http_app import HttpAppConfig, build_http_app
from llmgw_desktop.transports.http_server import HttpFrontDoor, base_url
from llmgw_desktop.transports.mcp.http_front import McpHttpFront, SessionLimits
from llmgw_desktop.transports.mcp.sdk_loading import MARK_FILE, McpUseMark

__all__ = ["GatewayRuntime", "allowed_hosts", "resource_bases"]

log = logging.getLogger(__name__)

# What start-up left for later (`shell/startup.py`: aiohttp's client, the compiled
# dataclass code to keep) is done this long after the door opens: past the first requests of
# a launch that waited for it.
AFTER_READY_S = 1.0
# Where Ollama's clients look for it unconfigured (`http.ollama_port`).
OLLAMA_LOOPBACK = "127.0.0.1"
# How long a stop waits for the requests it ended to be answered, before the front doors close.
END_IN_FLIGHT_S = 1.0
# How often it looks: a stop waits a few of these at most when nothing was in flight.
ANSWERS_POLL_S = 0.01


class GatewayRuntime:
    """Settings -> engine -> HTTP front door; `stop()` undoes `start()` in reverse order."""

    def __init__(
        self,
        loaded: LoadedSettings,
        *,
        mode: str,
        lock: InstanceLock,
        on_activate: Callable[[], str],
        on_quit: Callable[[], None] | None = None,
        port: int | None = None,
        reuse_port: bool = False,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        """`clock`, `monotonic`: the engine's (`Engine`), where a test passes its own."""
        self.settings = loaded.settings
        self.mode = mode
        self._lock = lock
        # The instance token (in the 0600 instance.json) proves the local user to the HTTP
        # door even when authentication is on: the stdio relay and a second launch use it.
        # A session on defaults leaves the file it could not use as it is.
        self._settings_file = ConfigFileWriter(loaded.config_file) if loaded.file_in_use else None
        self.engine = Engine(
            self.settings,
            settings_writer=self._settings_file,
            instance_token=lock.token,
            clock=clock,
            monotonic=monotonic,
        )
        self.connections = ConnectionGuard(
            ConnectionLimits(
                header_timeout_s=self.settings.http.header_timeout_ms / 1000,
                body_timeout_s=self.settings.http.body_timeout_ms / 1000,
                max_per_address=self.settings.http.max_connections_per_address,
                exempt=self.engine.auth.is_trusted_proxy,
            ),
            refusals=self.engine.refusals,
        )
        self.mcp = McpHttpFront(
            self.engine,
            path=self.settings.http.path,
            max_body_bytes=self.settings.http.max_body_bytes,
            stateless=self.settings.mcp.stateless,
            use_mark=McpUseMark(self.settings.data_path / MARK_FILE),
            sessions=SessionLimits(
                total=self.settings.mcp.max_sessions,
                per_principal=self.settings.mcp.max_sessions_per_principal,
                idle_timeout_s=self.settings.mcp.session_idle_timeout_s,
            ),
        )
        app = build_http_app(
            self.engine,
            HttpAppConfig(
                max_body_bytes=self.settings.http.max_body_bytes,
                max_body_bytes_in_flight=self.settings.http.max_body_bytes_in_flight,
                allowed_origins=tuple(self.settings.http.allowed_origins),
                allowed_hosts=allowed_hosts(self.settings),
                instance_token=lock.token,
                on_activate=on_activate,
                on_quit=on_quit,
                mode=mode,
                mcp_path=self.settings.http.path,
                mcp_sessions=self.mcp.sessions,
                public_url=self.settings.http.public_url,
                connections=self.connections,
                metrics_scrape_token=self.settings.metrics.scrape_token,
            ),
        )
        self.mcp.mount(app)
        self.http = HttpFrontDoor(
            app,
            self.settings.http.host,
            self.settings.http.port if port is None else port,
            self.connections,
            reuse_port=reuse_port,  # a worker's: its siblings listen on the same port
        )
        self._after_ready: asyncio.TimerHandle | None = None

    @property
    def base_url(self) -> str:
        return base_url(self.settings.http.host, self.http.port)

    @property
    def mcp_url(self) -> str:
        return self.base_url + self.settings.http.path

    async def start(self) -> None:
        """Open the engine, then the front door; on failure nothing is left running.

        Raises:
            StoreError: the database cannot be opened.
            PortInUse: the HTTP port is taken.
        """
        if self._settings_file is not None:
            # What a save killed midway left beside the settings file (its temporary file).
            await asyncio.to_thread(self._settings_file.clear_leftovers)
        # The vault's master key (the OS keyring) is found while the door opens.
        await self.engine.start(vault_later=True)
        try:
            await self.mcp.start(self.engine.tasks)
            await self.http.start()
        except BaseException:
            await self.mcp.stop()
            await self.engine.stop()
            raise
        port = self.http.port
        self.engine.listening_on(port)
        if self.settings.http.ollama_port:
            await self._listen_on_ollama_port()
        self.engine.auth.set_issuer(
            self.settings.http.public_url or self.base_url,
            resource_bases=resource_bases(self.settings, port),
            mcp_path=self.settings.http.path,
        )
        self._lock.publish(self.base_url, self.mode)
        for warning in startup_warnings(self.settings):
            log.warning("%s", warning)
        log.info("gateway ready at %s (%s)", self.base_url, self.mode)
        self._after_ready = asyncio.get_running_loop().call_later(
            AFTER_READY_S, self._finish_starting
        )

    async def _listen_on_ollama_port(self) -> None:
        """Serve on Ollama's own port too, for tools that assume it, unless a real Ollama is
        there or installed (it must find its port free when it starts); our own address from
        then on, so no upstream (the built-in Ollama provider) is ever pointed at it."""
        if shutil.which("ollama") is not None:
            log.info("ollama is installed: not listening on its port %d", OLLAMA_PORT)
            return
        if not await self.http.also_listen(OLLAMA_LOOPBACK, OLLAMA_PORT):
            log.info("port %d is in use (a real Ollama?): not listening there", OLLAMA_PORT)
            return
        self.engine.listening_on(OLLAMA_PORT)

    def _finish_starting(self) -> None:
        self.engine.tasks.spawn(asyncio.to_thread(after_ready), name="after-ready")

    async def stop(self) -> None:
        """Running jobs end first (interrupted, their CLIs killed), so callers waiting on them
        get their answer instead of holding the front doors' shutdown; then the front doors
        (no new work arrives), then the engine. MCP goes before the HTTP server: its open event
        streams would otherwise hold the server's shutdown."""
        if self._after_ready is not None:
            self._after_ready.cancel()
        await self.engine.interrupt_work()
        await self._answers_written()
        await self.mcp.stop()
        await self.http.stop()
        await self.engine.stop()
        # Classes defined since (the MCP SDK's, the window's pages) are kept for the next start.
        await asyncio.to_thread(keep_generated_code)

    def is_channel(self, request: web.BaseRequest) -> bool:
        """A client's MCP event stream or ACP socket: a channel its client opens again
        elsewhere, not an answer, which neither a drain nor a stop waits for."""
        return request.method == "GET" and request.path in (self.settings.http.path, ACP_PATH)

    async def _answers_written(self) -> None:
        """A moment for what the stop ended (`Engine.interrupt_work`) to reach its callers
        before the front doors close: each call waiting for its upstream turned into its
        `gateway_stopping`, and each MCP request answered (a tool whose call or job was ended
        writes its error on the request's own stream); at most `END_IN_FLIGHT_S`. Nothing else
        is waited for: an answer begun (a stream) is cut by the close, as any broken answer is."""
        mcp_path = self.settings.http.path

        def not_an_mcp_request(request: web.BaseRequest) -> bool:
            return request.method != "POST" or request.path != mcp_path

        for _ in range(round(END_IN_FLIGHT_S / ANSWERS_POLL_S)):
            if not self.engine.gateway.ending and not self.connections.answering(
                not_an_mcp_request
            ):
                return
            await asyncio.sleep(ANSWERS_POLL_S)


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """`Host` values accepted besides loopback: the configured ones, the public URL's host, and
    the bind address when it is a specific one (never the wildcard)."""
    # An IPv6 address as a `Host` header has it, inside its brackets (`edge._split_host`).
    hosts = [h.removeprefix("[").removesuffix("]") for h in settings.http.allowed_hosts]
    if settings.http.public_url:
        hosts.append(urlsplit(settings.http.public_url).hostname or "")
    if settings.http.host not in ("0.0.0.0", "::", ""):  # noqa: S104 - compared, not bound
        hosts.append(settings.http.host)
    return tuple(h for h in hosts if h)


def resource_bases(settings: Settings, port: int) -> tuple[str, ...]:
    """Every base URL this gateway answers at, for RFC 8707 resource checks: the public URL,
    and on the bound port each name the edge accepts (loopback names, the allowed hosts and a
    specific bind address), so a client may name it as it reaches it."""
    names = ["127.0.0.1", "localhost", "::1", *allowed_hosts(settings)]
    bases = [base_url(name, port) for name in dict.fromkeys(names)]
    return (settings.http.public_url, *bases) if settings.http.public_url else tuple(bases)
