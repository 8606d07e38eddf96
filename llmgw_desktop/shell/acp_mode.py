"""`llmgw-desktop acp`: the gateway as an ACP agent for an editor, on stdin and stdout.

The agent runs in this process and makes every model call through a gateway's HTTP front
door, like any client: the running app's (found through `instance.json`, proven local by its
instance token), or, where none runs on this data directory, the gateway this process starts
for itself (the full headless runtime, so later editors and relays can use it too). Either way
each turn is recorded, budgeted and shown on the desk as the requests of an agent named after
the editor's `clientInfo`. Nothing but JSON-RPC is written to stdout.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from llmgw_desktop.config.paths import bare_pointer_dir
from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import INSTANCE_TOKEN_HEADER
from llmgw_desktop.shell.instance import UNPUBLISHED, InstanceLock, published

if TYPE_CHECKING:
    from llmgw_desktop.transports.acp.gateway_chat import GatewayAddress

__all__ = ["run_acp"]

log = logging.getLogger(__name__)
FIND_RUNNING_S = 5.0


def run_acp(loaded: LoadedSettings, *, model: str, version: str, agent: str = "") -> int:
    """Serve the ACP agent on stdio until the editor closes it; the exit code. With `agent`,
    the gateway runs that coding agent for the editor (this process relays to its `/acp`
    socket); else a chat agent on `model`."""
    lock = InstanceLock(
        loaded.settings.data_path, bare_dir=bare_pointer_dir(loaded.settings.data_path)
    )
    if lock.acquire():
        try:
            return asyncio.run(_serve_own_gateway(loaded, lock, model, version, agent))
        finally:
            lock.release()
    found = _running(loaded)
    if found is None:
        print(f"llmgw-desktop: {UNPUBLISHED}", file=sys.stderr)
        return 1
    return asyncio.run(_serve(found, loaded, model, version, agent))


def _running(loaded: LoadedSettings, wait_s: float = FIND_RUNNING_S) -> GatewayAddress | None:
    """The running instance's address and the headers that prove the local user to it,
    waiting up to `wait_s` for it to publish them."""
    from llmgw_desktop.transports.acp.gateway_chat import GatewayAddress

    found = published(loaded.settings.data_path, wait_s)
    if found is None:
        return None
    url, token = found
    return GatewayAddress(url, {INSTANCE_TOKEN_HEADER: token, "User-Agent": "llmgw-desktop-acp"})


async def _serve(
    gateway: GatewayAddress,
    loaded: LoadedSettings,
    model: str,
    version: str,
    agent: str = "",
    *,
    relay: bool = True,
) -> int:
    """Serve the editor through `gateway` (`relay`: another process's, which may restart
    under this one; else this process's own)."""
    import aiohttp

    from llmgw_desktop.transports.mcp.stdio_wire import opened_stdio

    async with opened_stdio() as (reader, writer):
        if agent:
            from llmgw_desktop.transports.acp.socket_relay import relay_to_agent

            return await relay_to_agent(gateway, agent, reader, writer)
        from llmgw_desktop.transports.acp.model_agent import ModelAgent
        from llmgw_desktop.transports.acp.stdio import serve_agent

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
            chat = ModelAgent(
                gateway,
                model,
                http,
                version,
                max_attached_bytes=loaded.settings.providers.max_attached_bytes,
                # Where the gateway runs now, once it refused this one's token (restarted):
                # read once, never waited for.
                locate=(lambda: _running(loaded, wait_s=0.0)) if relay else None,
            )
            await serve_agent(chat, reader, writer)
    return 0


async def _serve_own_gateway(
    loaded: LoadedSettings, lock: InstanceLock, model: str, version: str, agent: str
) -> int:
    from llmgw_desktop.shell.runtime import GatewayRuntime
    from llmgw_desktop.transports.acp.gateway_chat import GatewayAddress

    runtime = GatewayRuntime(loaded, mode="stdio", lock=lock, on_activate=lambda: "stdio")
    await runtime.start()
    try:
        gateway = GatewayAddress(
            runtime.base_url,
            {INSTANCE_TOKEN_HEADER: lock.token, "User-Agent": "llmgw-desktop-acp"},
        )
        return await _serve(gateway, loaded, model, version, agent, relay=False)
    finally:
        await runtime.stop()
