"""`llmgw-desktop acp --model MODEL`: a chat agent on any model the gateway routes.

Each `session/prompt` is one streamed chat turn through the gateway's own HTTP front door
(`gateway_chat.py`), with the session's earlier turns as context; the answer streams back as
`agent_message_chunk` updates. The editor can switch the model inside a session (the `model`
config option lists what `/v1/models` lists). After each turn the session is saved in the
gateway (`PUT /v1/acp/chats/{id}`, kept per principal by the engine), so `session/load` in
another process (the editor restarted, or the gateway) reads it back and replays it; a session
another caller saved is "not found". `session/cancel` stops the turn's request, and the prompt
answers `cancelled`.

The gateway may restart under the agent (the desktop app quit and started again, a crash): its
instance token is new, and its address may be. A request it refused for the credential (401)
or that could not reach it was never run, so the agent then reads where the instance runs now
(`locate`) and, when that is somewhere else or with another token, sends it there once; the
editor's session goes on. A turn cut while the gateway stopped is the editor's error, as any
failed turn is.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import acp
from acp import schema

from llmgw_desktop.engine.api import InvalidRequest
from llmgw_desktop.transports.acp.gateway_chat import (
    GatewayAddress,
    GatewayRefused,
    GatewayUnreachable,
    list_models,
    load_chat,
    save_chat,
    stream_chat,
)
from llmgw_desktop.transports.acp.prompt_blocks import initialize_response, read_prompt

__all__ = ["Locate", "ModelAgent"]

# Where the gateway runs now (its address and the headers that prove the local user), or None.
Locate = Callable[[], GatewayAddress | None]
_T = TypeVar("_T")

log = logging.getLogger(__name__)

MODEL_OPTION = "model"
# JSON-RPC error code for a turn the gateway refused or failed (the server-error range).
GATEWAY_ERROR = -32000


@dataclass
class _Chat:
    model: str
    cwd: str
    history: list[dict[str, Any]] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class ModelAgent:
    """The ACP `Agent` the SDK calls: one chat per session, on the gateway."""

    def __init__(
        self,
        gateway: GatewayAddress,
        model: str,
        http: Any,
        version: str,
        *,
        max_attached_bytes: int,
        locate: Locate | None = None,
    ) -> None:
        """`max_attached_bytes`: the largest file or image a prompt may attach; `locate`: where
        the gateway runs now, asked when it refused this agent's credential or could not be
        reached (None: the gateway lives and dies with this process)."""
        self._gateway = gateway
        self._locate = locate
        self._max_attached = max_attached_bytes
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
        return initialize_response(protocol_version, f"LLM gateway ({self._model})", self._version)

    async def authenticate(self, method_id: str, **_: Any) -> None:
        """Nothing to sign in to: the gateway's own credentials are used."""

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> Any:
        session_id = f"gw-acp-{uuid.uuid4().hex}"
        self._chats[session_id] = _Chat(self._model, cwd)
        await self._save(session_id)
        return schema.NewSessionResponse(
            session_id=session_id, config_options=await self._options(self._model)
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any
    ) -> Any:
        chat = self._chats.get(session_id) or await self._kept(session_id)
        if chat is None:
            raise acp.RequestError.resource_not_found(session_id)
        self._chats[session_id] = chat
        for turn in chat.history:
            text = acp.text_block(_said(turn["content"]))
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
        await self._save(session_id)
        return schema.SetSessionConfigOptionResponse(config_options=await self._options(value))

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> Any:
        chat = self._chat(session_id)
        try:
            read = await read_prompt(prompt, Path(chat.cwd), self._max_attached)
        except InvalidRequest as exc:
            raise _refused(exc.message, exc.to_dict()) from None
        content = read.chat_parts() if read.attachments else read.text
        chat.cancelled.clear()
        messages = [*chat.history, {"role": "user", "content": content}]
        parts: list[str] = []
        # The turn returns its failure rather than raising it: a task group would wrap it in
        # an exception group, which reaches the editor as an internal error.
        async with asyncio.TaskGroup() as group:
            turn = group.create_task(self._stream(session_id, chat.model, messages, parts))
            stop = group.create_task(chat.cancelled.wait())
            await asyncio.wait({turn, stop}, return_when=asyncio.FIRST_COMPLETED)
            cancelled = not turn.done()
            turn.cancel()
            stop.cancel()
        failure = None if cancelled else turn.result()
        if failure is not None:
            raise failure
        chat.history = [*messages, {"role": "assistant", "content": "".join(parts)}]
        await self._save(session_id)
        return schema.PromptResponse(stop_reason="cancelled" if cancelled else "end_turn")

    async def cancel(self, session_id: str, **_: Any) -> None:
        chat = self._chats.get(session_id)
        if chat is not None:
            chat.cancelled.set()

    async def _stream(
        self, session_id: str, model: str, messages: list[dict[str, Any]], parts: list[str]
    ) -> acp.RequestError | None:
        """Stream one turn's answer to the editor; how the gateway failed it, if it did."""

        async def relayed(gateway: GatewayAddress) -> None:
            async for text in stream_chat(self._http, gateway, model, messages):
                parts.append(text)
                await self._client.session_update(
                    session_id=session_id, update=acp.update_agent_message_text(text)
                )

        try:
            await self._asked(relayed)
        except GatewayRefused as exc:
            return _refused(exc.message, {"code": exc.code, "status": exc.status})
        except OSError as exc:  # aiohttp's connection errors are OSErrors
            return acp.RequestError(GATEWAY_ERROR, f"the gateway could not be reached: {exc}")
        return None

    async def _asked(self, ask: Callable[[GatewayAddress], Awaitable[_T]]) -> _T:
        """`ask` the gateway; asked again, once, where the instance runs now when the gateway
        refused the credential or could not be reached (neither ran the request).

        Raises:
            GatewayRefused, OSError: as `ask` raises them.
        """
        try:
            return await ask(self._address())
        except (GatewayRefused, GatewayUnreachable) as exc:
            if not await self._moved(exc):
                raise
        return await ask(self._address())

    async def _moved(self, failure: Exception) -> bool:
        """Whether the gateway runs elsewhere now, or under another token, after `failure`
        (a 401 or no connection): then this agent asks it there from now on."""
        unrun = isinstance(failure, GatewayUnreachable) or (
            isinstance(failure, GatewayRefused) and failure.status == 401
        )
        if self._locate is None or not unrun:
            return False
        now = await asyncio.to_thread(self._locate)
        if now is None or now == self._gateway:
            return False
        log.info("acp: the gateway answers at %s now (it restarted)", now.base_url)
        self._gateway = now
        return True

    def _address(self) -> GatewayAddress:
        """The gateway, with the editor's name as this caller's (`X-Caller`)."""
        return GatewayAddress(
            self._gateway.base_url, {**self._gateway.headers, "X-Caller": self._caller}
        )

    async def _save(self, session_id: str) -> None:
        """Keep the session in the gateway for a later `session/load`. A failure is logged,
        not the editor's: its turn was answered, only a reload from a new process would miss
        it."""
        chat = self._chats[session_id]
        turns = [{"role": t["role"], "content": _said(t["content"])} for t in chat.history]
        try:
            await self._asked(
                lambda gateway: save_chat(
                    self._http, gateway, session_id, chat.model, chat.cwd, turns
                )
            )
        except (GatewayRefused, OSError) as exc:
            log.warning("acp: session %s was not saved in the gateway: %s", session_id, exc)

    async def _kept(self, session_id: str) -> _Chat | None:
        """The session as the gateway keeps it for this caller, or None.

        Raises:
            acp.RequestError: the gateway could not say.
        """
        try:
            kept = await self._asked(lambda gateway: load_chat(self._http, gateway, session_id))
        except GatewayRefused as exc:
            raise _refused(exc.message, {"code": exc.code, "status": exc.status}) from None
        except OSError as exc:
            why = f"the gateway could not be reached: {exc}"
            raise acp.RequestError(GATEWAY_ERROR, why) from None
        if kept is None:
            return None
        history = [{"role": t["role"], "content": t["content"]} for t in kept.get("turns", [])]
        return _Chat(str(kept["model"]), str(kept["cwd"]), history)

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


def _refused(why: str, data: dict[str, Any]) -> acp.RequestError:
    """The editor's error for a turn the gateway refused or failed, in the gateway's words."""
    return acp.RequestError(GATEWAY_ERROR, f"the gateway refused the turn: {why}", data)


def _said(content: str | list[dict[str, Any]]) -> str:
    """A turn's words as a replay shows them: its text, an attached image or file named."""
    if isinstance(content, str):
        return content
    said = []
    for part in content:
        if part.get("type") == "text":
            said.append(part["text"])
        elif part.get("type") == "image_url":
            said.append("[an image]")
        else:
            said.append(f"[{part.get('file', {}).get('filename', 'a file')}]")
    return "\n\n".join(said)
