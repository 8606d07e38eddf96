"""`llmgw-desktop acp --model MODEL`: a chat agent on any model the gateway routes.

Each `session/prompt` is one streamed chat turn through the gateway's own HTTP front door
(`gateway_chat.py`), with the session's earlier turns as context; the answer streams back as
`agent_message_chunk` updates. The editor can switch the model inside a session (the `model`
config option lists what `/v1/models` lists). Sessions live in this process's memory only (the
gateway keeps no conversation content): `session/load` replays a session this process holds.
`session/cancel` stops the turn's request, and the prompt answers `cancelled`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import acp
from acp import schema

from llmgw_desktop.transports.acp.gateway_chat import (
    GatewayAddress,
    GatewayRefused,
    list_models,
    stream_chat,
)

__all__ = ["ModelAgent"]

MODEL_OPTION = "model"
# JSON-RPC error code for a turn the gateway refused or failed (the server-error range).
GATEWAY_ERROR = -32000


@dataclass
class _Chat:
    model: str
    cwd: str
    history: list[dict[str, str]] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class ModelAgent:
    """The ACP `Agent` the SDK calls: one chat per session, on the gateway."""

    def __init__(self, gateway: GatewayAddress, model: str, http: Any, version: str) -> None:
        self._gateway = gateway
        self._model = model
        self._http = http
        self._version = version
        self._chats: dict[str, _Chat] = {}
        self._client: Any = None
        self._caller = "acp-editor"
        self._models: list[str] | None = None

    def on_connect(self, conn: Any) -> None:
        """The editor's side of the connection, for session updates."""
        self._client = conn

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: Any = None,
        client_info: Any = None,
        **_: Any,
    ) -> schema.InitializeResponse:
        if client_info is not None and client_info.name:
            self._caller = str(client_info.name)[:100]
        return schema.InitializeResponse(
            protocol_version=min(protocol_version, acp.PROTOCOL_VERSION),
            agent_capabilities=schema.AgentCapabilities(load_session=True),
            agent_info=schema.Implementation(
                name="llmgw-desktop", title=f"LLM gateway ({self._model})", version=self._version
            ),
            auth_methods=[],
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        """Nothing to sign in to: the gateway's own credentials are used."""

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> Any:
        session_id = f"gw-acp-{uuid.uuid4().hex}"
        self._chats[session_id] = _Chat(self._model, cwd)
        return schema.NewSessionResponse(
            session_id=session_id, config_options=await self._options(self._model)
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any
    ) -> Any:
        chat = self._chats.get(session_id)
        if chat is None:
            raise acp.RequestError.resource_not_found(session_id)
        for turn in chat.history:
            text = acp.text_block(turn["content"])
            update = (
                acp.update_user_message(text)
                if turn["role"] == "user"
                else acp.update_agent_message(text)
            )
            await self._client.session_update(session_id=session_id, update=update)
        return schema.LoadSessionResponse(config_options=await self._options(chat.model))

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> Any:
        chat = self._chat(session_id)
        if config_id != MODEL_OPTION or not isinstance(value, str) or not value:
            raise acp.RequestError.invalid_params({"configId": config_id, "value": value})
        chat.model = value
        return schema.SetSessionConfigOptionResponse(config_options=await self._options(value))

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> Any:
        chat = self._chat(session_id)
        text = "\n\n".join(block.text for block in prompt if getattr(block, "type", None) == "text")
        if not text.strip():
            raise acp.RequestError.invalid_params({"prompt": "no text in the prompt"})
        chat.cancelled.clear()
        messages = [*chat.history, {"role": "user", "content": text}]
        parts: list[str] = []
        try:
            async with asyncio.TaskGroup() as group:
                turn = group.create_task(self._stream(session_id, chat.model, messages, parts))
                stop = group.create_task(chat.cancelled.wait())
                await asyncio.wait({turn, stop}, return_when=asyncio.FIRST_COMPLETED)
                cancelled = not turn.done()
                turn.cancel()
                stop.cancel()
        except* acp.RequestError as refused:
            # The gateway's refusal, as the editor is told it (its code and words), not the
            # group's "unhandled errors in a TaskGroup" as an internal error.
            raise refused.exceptions[0] from None
        chat.history = [*messages, {"role": "assistant", "content": "".join(parts)}]
        return schema.PromptResponse(stop_reason="cancelled" if cancelled else "end_turn")

    async def cancel(self, session_id: str, **_: Any) -> None:
        chat = self._chats.get(session_id)
        if chat is not None:
            chat.cancelled.set()

    async def _stream(
        self, session_id: str, model: str, messages: list[dict[str, str]], parts: list[str]
    ) -> None:
        gateway = GatewayAddress(
            self._gateway.base_url, {**self._gateway.headers, "X-Caller": self._caller}
        )
        try:
            async for text in stream_chat(self._http, gateway, model, messages):
                parts.append(text)
                await self._client.session_update(
                    session_id=session_id, update=acp.update_agent_message_text(text)
                )
        except GatewayRefused as exc:
            raise acp.RequestError(
                GATEWAY_ERROR,
                f"the gateway refused the turn: {exc.message}",
                {"code": exc.code, "status": exc.status},
            ) from None
        except OSError as exc:  # aiohttp's connection errors are OSErrors
            raise acp.RequestError(
                GATEWAY_ERROR, f"the gateway could not be reached: {exc}", None
            ) from None

    async def _options(self, current: str) -> list[Any]:
        if self._models is None:
            try:
                self._models = await list_models(self._http, self._gateway)
            except OSError:
                self._models = []
        values = [current, *(m for m in self._models if m != current)]
        return [
            schema.SessionConfigOptionSelect(
                id=MODEL_OPTION,
                name="Model",
                category="model",
                type="select",
                current_value=current,
                options=[schema.SessionConfigSelectOption(value=v, name=v) for v in values],
            )
        ]

    def _chat(self, session_id: str) -> _Chat:
        chat = self._chats.get(session_id)
        if chat is None:
            raise acp.RequestError.resource_not_found(session_id)
        return chat
