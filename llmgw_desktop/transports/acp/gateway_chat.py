"""One streamed chat turn through the gateway's own HTTP front door (`/v1/chat/completions`).

The ACP agent is a client of the gateway like any SDK: the running app's front door (or the one
this process started) authenticates it (the instance token proves the local user; a gateway key
is held to its scope), routes the model, applies budgets and records the turn as a row whose
agent is the editor's name (`X-Caller`). A gateway that refuses the credential (401) or
cannot be reached at all (`GatewayUnreachable`) never ran the request: the agent may look for
the instance running now and send it there (`model_agent.py`). aiohttp's client is imported
here only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.api import ErrorCode, SseParser

__all__ = [
    "GatewayAddress",
    "GatewayRefused",
    "GatewayUnreachable",
    "list_models",
    "load_chat",
    "save_chat",
    "stream_chat",
]

# Models offered in an editor's model menu, at most.
MAX_MENU_MODELS = 50


@dataclass(frozen=True)
class GatewayAddress:
    """Where the gateway answers and how this process proves who it is."""

    base_url: str  # "http://127.0.0.1:PORT"
    headers: Mapping[str, str]


class GatewayRefused(Exception):
    """The gateway answered the turn with an error: `message` is its own words."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} (HTTP {status}, {code})")
        self.status = status
        self.code = code
        self.message = message


class GatewayUnreachable(OSError):
    """No connection to the gateway could be made: nothing was sent."""


@contextlib.asynccontextmanager
async def _answer(session: Any, method: str, url: str, **kwargs: Any) -> AsyncIterator[Any]:
    """The gateway's answer to one request (`session.request`'s).

    Raises:
        GatewayUnreachable: no connection could be made (nothing was sent).
    """
    import aiohttp

    try:
        async with session.request(method, url, **kwargs) as answer:
            yield answer
    except aiohttp.ClientConnectorError as exc:
        raise GatewayUnreachable(str(exc)) from exc


async def stream_chat(
    session: Any, gateway: GatewayAddress, model: str, messages: Sequence[Mapping[str, Any]]
) -> AsyncIterator[str]:
    """The answer's text as it streams; `session` is an aiohttp `ClientSession`.

    Raises:
        GatewayRefused: the gateway refused or failed the turn (its code and message), or its
            answer was cut before `[DONE]`.
        OSError: the gateway could not be reached (aiohttp's connection errors).
    """
    import aiohttp

    body = {"model": model, "messages": list(messages), "stream": True}
    async with _answer(
        session,
        "POST",
        f"{gateway.base_url}/v1/chat/completions",
        json=body,
        headers=dict(gateway.headers),
    ) as answer:
        if answer.status != 200:
            raise await _refusal(answer)
        try:
            async for text in _texts(answer):
                yield text
        except aiohttp.ClientPayloadError as exc:
            raise _cut(f"the gateway's answer was cut mid-stream ({exc})") from None


async def _texts(answer: Any) -> AsyncIterator[str]:
    """The text of each chunk of a streamed chat answer, until `[DONE]`.

    Raises:
        GatewayRefused: an error event, or the stream ended before `[DONE]`.
    """
    parser = SseParser()
    async for chunk in answer.content.iter_any():
        for _event, data in parser.feed(chunk):
            if data == "[DONE]":
                return
            text, error = _delta(json.loads(data))
            if error is not None:
                raise GatewayRefused(502, error.get("code") or "error", _text(error))
            if text:
                yield text
    # Without `[DONE]` the answer may be whole or cut: an editor must not take half for all.
    raise _cut("the gateway's answer ended before it finished")


def _cut(why: str) -> GatewayRefused:
    return GatewayRefused(502, ErrorCode.UPSTREAM_STREAM_BROKEN.value, why)


async def list_models(session: Any, gateway: GatewayAddress) -> list[str]:
    """The model ids the gateway lists for this caller (empty when it cannot say)."""
    async with _answer(
        session, "GET", f"{gateway.base_url}/v1/models", headers=dict(gateway.headers)
    ) as answer:
        if answer.status != 200:
            return []
        listed = await answer.json()
    data = listed.get("data") if isinstance(listed, dict) else None
    ids = [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    return ids[:MAX_MENU_MODELS]


async def save_chat(
    session: Any,
    gateway: GatewayAddress,
    chat_id: str,
    model: str,
    cwd: str,
    turns: Sequence[Mapping[str, str]],
) -> None:
    """Keep a chat session in the gateway (`PUT /v1/acp/chats/{id}`), for `session/load`.

    Raises:
        GatewayRefused: the gateway refused it (its code and message).
        OSError: the gateway could not be reached.
    """
    body = {"model": model, "cwd": cwd, "turns": list(turns)}
    async with _answer(
        session,
        "PUT",
        f"{gateway.base_url}/v1/acp/chats/{chat_id}",
        json=body,
        headers=dict(gateway.headers),
    ) as answer:
        if answer.status != 200:
            raise await _refusal(answer)


async def load_chat(session: Any, gateway: GatewayAddress, chat_id: str) -> dict[str, Any] | None:
    """A chat session the gateway keeps for this caller (model, cwd, turns), or None.

    Raises:
        GatewayRefused: the gateway refused to say (other than "not found").
        OSError: the gateway could not be reached.
    """
    async with _answer(
        session, "GET", f"{gateway.base_url}/v1/acp/chats/{chat_id}", headers=dict(gateway.headers)
    ) as answer:
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise await _refusal(answer)
        kept: dict[str, Any] = await answer.json()
        return kept


def _delta(event: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    error = event.get("error")
    if isinstance(error, Mapping):
        return "", error
    parts = []
    for choice in event.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, Mapping) else None
        if isinstance(delta, Mapping) and isinstance(delta.get("content"), str):
            parts.append(delta["content"])
    return "".join(parts), None


def _text(error: Mapping[str, Any]) -> str:
    message = error.get("message")
    return message if isinstance(message, str) else json.dumps(error)[:500]


async def _refusal(answer: Any) -> GatewayRefused:
    try:
        body = await answer.json(content_type=None)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, Mapping):
        return GatewayRefused(answer.status, str(error.get("code") or ""), _text(error))
    return GatewayRefused(answer.status, "http_error", f"the gateway answered HTTP {answer.status}")
