"""`llmgw-desktop mcp`: MCP over stdio for editors that launch a command.

If the gateway already runs (the desktop app, headless mode, or another editor's stdio
process), this process relays to it, so every editor shares one engine, one store and the
dashboard. Otherwise it becomes the gateway itself: the full headless engine and HTTP front
door (so later editors can relay to it), plus MCP on its own stdin/stdout, until the editor
closes the connection. Nothing here writes to stdout except MCP messages.

Relaying is what an editor's launch usually does, and it must answer `initialize` quickly, so
the relay path imports no engine, no HTTP server and no MCP SDK; serving in process imports
them when it is chosen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.config.paths import bare_pointer_dir
from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import INSTANCE_TOKEN_HEADER
from llmgw_desktop.shell.event_loop import new_event_loop
from llmgw_desktop.shell.instance import (
    UNPUBLISHED,
    InstanceLock,
    lock_is_held,
    published,
    running_elsewhere,
)
from llmgw_desktop.transports.line_caps import LineTooLong
from llmgw_desktop.transports.mcp.stdio_forward import Locate, StdioForwarder
from llmgw_desktop.transports.mcp.stdio_wire import opened_stdio

if TYPE_CHECKING:
    from llmgw_desktop.engine.api import Engine
    from llmgw_desktop.shell.runtime import GatewayRuntime

__all__ = ["LockFileUnusable", "run_stdio"]

log = logging.getLogger(__name__)
FIND_RUNNING_S = 5.0
# How long the port is asked whether a gateway of ours answers there (loopback: fast or never).
PROBE_S = 1.0


class LockFileUnusable(Exception):
    """The instance lock file cannot be opened (`error` says why): a problem with the data
    directory, told apart from any other failure while serving."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def run_stdio(loaded: LoadedSettings) -> int:
    """Serve MCP on stdin/stdout until the editor closes it; the exit code.

    Raises:
        LockFileUnusable: the instance lock file cannot be opened.
        LineTooLong: the editor wrote a line past the stdio door's cap (relayed or served in
            process alike), which ended the session.
    """
    lock = InstanceLock(
        loaded.settings.data_path, bare_dir=bare_pointer_dir(loaded.settings.data_path)
    )
    try:
        held = lock.acquire()
    except OSError as exc:
        raise LockFileUnusable(exc) from exc
    data_dir = loaded.settings.data_path
    if held:
        elsewhere = running_elsewhere(data_dir)
        if elsewhere is not None and elsewhere != data_dir and lock_is_held(elsewhere):
            # The instance that runs was started with XDG variables this process lacks.
            lock.release()
            data_dir = elsewhere
        else:
            try:
                if (problem := _gateway_elsewhere(loaded)) is not None:
                    print(f"llmgw-desktop: {problem}", file=sys.stderr)
                    return 1
                return _serve_locked(loaded, lock)
            finally:
                lock.release()
    found = _running_instance(data_dir, loaded.settings.http.path)
    if found is None:
        print(f"llmgw-desktop: {UNPUBLISHED}", file=sys.stderr)
        return 1
    url, token = found
    log.info("relaying stdio MCP to the running gateway at %s", url)

    def locate() -> tuple[str, dict[str, str]] | None:
        # Where the gateway runs now, after it refused the token or session of the one that
        # ran before (restarted under this relay): read once, never waited for.
        now = _running_instance(data_dir, loaded.settings.http.path, wait_s=0.0)
        return None if now is None else (now[0], _relay_headers(now[1]))

    silence_s = loaded.settings.mcp.stdio_relay_silence_ms / 1000
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_relay(url, token, locate, silence_s))


def _gateway_elsewhere(loaded: LoadedSettings) -> str | None:
    """Why this process must not become the gateway although no instance holds its data
    directory: one already answers on its port, keeping its files elsewhere (started with
    other XDG or LLM_GATEWAY_* variables). None when nothing of ours answers there."""
    import urllib.request  # only when this process would become the gateway, never to relay

    port = loaded.settings.http.port
    url = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(url + "/health", timeout=PROBE_S) as answer:  # noqa: S310
            health = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    if not isinstance(health, dict) or health.get("service") != "llmgw-desktop":
        return None
    return (
        f"a gateway already runs at {url}, but keeps its files in another data directory than "
        f"this process's ({loaded.settings.data_path}): it was started with XDG_* or "
        "LLM_GATEWAY_* variables this process does not have. Not starting a second gateway "
        "with a store of its own. Give this command the same variables (the env of the "
        f"editor's MCP server entry), or connect the editor to {url}{loaded.settings.http.path}"
    )


def _running_instance(
    data_dir: Path, mcp_path: str, wait_s: float = FIND_RUNNING_S
) -> tuple[str, str] | None:
    """The running instance's MCP URL and its instance token (which proves the local user),
    waiting up to `wait_s` for it to publish them."""
    found = published(data_dir, wait_s)
    return None if found is None else (found[0] + mcp_path, found[1])


def _relay_headers(token: str) -> dict[str, str]:
    return {"User-Agent": "llmgw-desktop-stdio", INSTANCE_TOKEN_HEADER: token}


async def _relay(url: str, token: str, locate: Locate, silence_s: float) -> int:
    forwarder = StdioForwarder(
        url, headers=_relay_headers(token), locate=locate, silence_s=silence_s
    )
    try:
        async with opened_stdio() as (reader, writer):
            await forwarder.run(reader, writer)
    except* LineTooLong as group:
        # A file's reader (`ThreadFedReader`) wraps it in its task group: raised bare, as the
        # door served in process raises it, for the command to say in one line.
        raise group.exceptions[0] from None
    return 0


def _serve_locked(loaded: LoadedSettings, lock: InstanceLock) -> int:
    """No gateway runs on this data dir: be the gateway, serving this editor on stdio."""
    from llmgw_desktop.engine.api import StoreError, startup_problems

    problems = startup_problems(loaded.settings, os.environ, desktop=False)
    for problem in problems:
        print(f"llmgw-desktop: refusing to start: {problem}", file=sys.stderr)
    if problems:
        return 2
    try:
        return asyncio.run(_serve_in_process(loaded, lock))
    except StoreError as exc:
        print(f"llmgw-desktop: {exc}", file=sys.stderr)
        log.error("%s", exc)
        return 1


async def _serve_in_process(loaded: LoadedSettings, lock: InstanceLock) -> int:
    from llmgw_desktop.engine.api import tune_for_serving
    from llmgw_desktop.shell.headless import TUNE_AFTER_S, install_stop_signals
    from llmgw_desktop.shell.runtime import GatewayRuntime
    from llmgw_desktop.transports.http_server import PortInUse
    from llmgw_desktop.transports.mcp.sdk_loading import MARK_FILE, McpUseMark, import_sdk
    from llmgw_desktop.transports.mcp.stdio_in_process import serve_stdio

    # The editor's initialize is already waiting: the SDK is needed now, not later.
    import_sdk(["llmgw_desktop.transports.mcp.server"])
    from llmgw_desktop.transports.mcp.server import build_mcp_server

    # An editor uses MCP here: the desktop app started later loads the SDK early for it.
    await asyncio.to_thread(McpUseMark(loaded.settings.data_path / MARK_FILE).note)

    def on_activate() -> str:
        log.info("another launch asked for the window; this instance serves an editor over stdio")
        return "stdio"

    runtime: GatewayRuntime | None = GatewayRuntime(
        loaded, mode="stdio", lock=lock, on_activate=on_activate
    )
    assert runtime is not None
    try:
        await runtime.start()
    except PortInUse as exc:
        # Another program has the port: editors can still use this stdio connection.
        log.warning("port %d is taken; serving stdio only, without the HTTP front door", exc.port)
        runtime = None
    engine = runtime.engine if runtime is not None else await _engine_only(loaded)
    # As headless does: the full collection comes after the editor's first messages.
    asyncio.get_running_loop().call_later(TUNE_AFTER_S, tune_for_serving)
    stop = asyncio.Event()
    install_stop_signals(asyncio.get_running_loop(), stop)
    server = build_mcp_server(engine)
    refused: list[LineTooLong] = []

    async def serve() -> None:
        try:
            await serve_stdio(server)
        except LineTooLong as exc:
            refused.append(exc)  # said once the engine has stopped, as the relay says it
        except Exception:
            # Top of the task: however the server ended, this process ends as it does when
            # stdin closes, with exit code 0, as it always has; the cause is kept for debugging.
            log.debug("the stdio MCP server ended with an error", exc_info=True)
        finally:
            stop.set()  # the editor closed the connection: this process is done too

    try:
        async with asyncio.TaskGroup() as group:
            serving = group.create_task(serve(), name="stdio MCP server")
            await stop.wait()  # the editor left, or a stop signal came
            serving.cancel()
    finally:
        if runtime is not None:
            await runtime.stop()
        else:
            await engine.stop()
    if refused:
        raise refused[0]
    return 0


async def _engine_only(loaded: LoadedSettings) -> Engine:
    from llmgw_desktop.config.file import ConfigFileWriter
    from llmgw_desktop.engine.api import Engine

    engine = Engine(loaded.settings, settings_writer=ConfigFileWriter(loaded.config_file))
    await engine.start()
    return engine
