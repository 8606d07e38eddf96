"""The editor's end of `llmgw-desktop acp --agent NAME`: its stdin and stdout relayed to the
gateway's `/acp` socket, byte for byte, until either side closes.

The gateway does everything ACP means (`socket_route.py`); this process only carries bytes, so
an editor gets the same agent whichever process it launched. When the gateway refuses the
connection (an unknown agent, a refused credential), each request the editor sends is answered
with a JSON-RPC error carrying the gateway's words, so the editor shows why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from llmgw_desktop.transports.acp.gateway_chat import GatewayAddress

__all__ = ["relay_to_agent"]

READ_CHUNK = 65536
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
REFUSED = -32000  # JSON-RPC's server-error range


async def relay_to_agent(
    gateway: GatewayAddress, agent: str, reader: asyncio.StreamReader, writer: Any
) -> int:
    """Relay until the editor or the gateway closes; the exit code (1: the gateway refused)."""
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        try:
            socket = await http.ws_connect(
                f"{gateway.base_url}/acp",
                params={"agent": agent},
                headers=dict(gateway.headers),
                max_msg_size=MAX_MESSAGE_BYTES,
                autoping=True,
            )
        except aiohttp.WSServerHandshakeError as exc:
            await _refuse_editor(reader, writer, await _why(http, gateway, agent, exc))
            return 1
        except OSError as exc:
            await _refuse_editor(reader, writer, f"the gateway could not be reached: {exc}")
            return 1
        async with socket, asyncio.TaskGroup() as group:
            up = group.create_task(_editor_to_gateway(reader, socket), name="acp-relay-up")
            try:
                async for message in socket:
                    if message.type is aiohttp.WSMsgType.BINARY:
                        writer.write(message.data)
                    elif message.type is aiohttp.WSMsgType.TEXT:
                        writer.write(message.data.encode())
                    else:
                        break
                    await writer.drain()
            finally:
                up.cancel()
    return 0


async def _editor_to_gateway(reader: asyncio.StreamReader, socket: Any) -> None:
    while chunk := await reader.read(READ_CHUNK):
        await socket.send_bytes(chunk)
    await socket.close()  # the editor closed our stdin: the gateway ends the session


async def _why(http: Any, gateway: GatewayAddress, agent: str, exc: Any) -> str:
    """The gateway's own words for a refused connection (its JSON error), else the status."""
    with contextlib.suppress(Exception):
        async with http.get(
            f"{gateway.base_url}/acp", params={"agent": agent}, headers=dict(gateway.headers)
        ) as answer:
            body = await answer.json(content_type=None)
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict) and error.get("message"):
                return f"the gateway refused the agent: {error['message']}"
    return f"the gateway refused the agent (HTTP {exc.status})"


async def _refuse_editor(reader: asyncio.StreamReader, writer: Any, why: str) -> None:
    """Answer every request the editor sends with `why`, until it closes our stdin."""
    while line := await reader.readline():
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(line)
            if "id" in message and "method" in message:
                error = {"code": REFUSED, "message": why}
                reply = {"jsonrpc": "2.0", "id": message["id"], "error": error}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
