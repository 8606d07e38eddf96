"""`GET` and `PUT /v1/acp/chats/{id}`: where `llmgw-desktop acp --model` keeps its chat sessions.

The chat agent runs in the process the editor launched; it saves each session here after a
turn and reads it back for `session/load` in a new process (an editor restarted), so a session
outlives both processes. The engine keeps it per principal (`engine.acp_chats`): the caller the
edge authenticated, whose session another caller's id never reaches. Light: no ACP SDK.
"""

from __future__ import annotations

from aiohttp import web

from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import principal_of
from llmgw_desktop.transports.gateway.exchange import json_body, read_json

__all__ = ["ACP_CHATS_PATH", "add_acp_chat_routes", "load_chat", "save_chat"]

ACP_CHATS_PATH = "/v1/acp/chats/{id}"


def add_acp_chat_routes(app: web.Application) -> None:
    """Mount the chat sessions' routes (the engine is the app's `ENGINE`)."""
    app.router.add_get(ACP_CHATS_PATH, load_chat)
    app.router.add_put(ACP_CHATS_PATH, save_chat)


async def load_chat(request: web.Request) -> web.Response:
    """The caller's chat session: model, folder and turns (404 for anyone else's)."""
    engine = request.app[ENGINE]
    chat = await engine.acp_chats.load(principal_of(request).id, request.match_info["id"])
    return json_body(chat.to_dict())


async def save_chat(request: web.Request) -> web.Response:
    """Keep the caller's chat session as the body says (`model`, `cwd`, `turns`)."""
    engine = request.app[ENGINE]
    body = await read_json(request)
    chat = await engine.acp_chats.save(
        principal_of(request).id,
        request.match_info["id"],
        body.get("model"),  # the engine checks each and names what was wrong
        body.get("cwd"),
        body.get("turns"),
    )
    return json_body({"sessionId": chat.id, "turns": len(chat.turns)})
