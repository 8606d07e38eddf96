"""One question to an API provider (or a local model server), as `ask_model` asks it.

The coding CLIs are asked as durable jobs (`CallRunner`); an API provider has no CLI to run,
so its question goes through the HTTP gateway's own path instead: the same routing by
`provider/model`, switches, budgets, key pool and flight-recorder row as a client's
`/v1/chat/completions` request, answered whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_CHAT
from llmgw_desktop.engine.calls import RequestMeta
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.gateway.results import CallerInfo, Completed, Streaming
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["ApiAnswer", "ChatGateway", "ask_api_provider"]


class ChatGateway(Protocol):
    """The part of the HTTP gateway an API question needs."""

    async def chat(
        self,
        front: str,
        body: dict[str, Any],
        caller: CallerInfo,
        *,
        raw: bytes | None = None,
        url_model: str | None = None,
        stream: bool | None = None,
    ) -> Completed | Streaming: ...


@dataclass(frozen=True)
class ApiAnswer:
    """An API provider's whole answer, and the recorder row it was written to."""

    provider: str
    model: str
    text: str
    usage: Usage
    stop_reason: str | None
    request_id: str


async def ask_api_provider(
    gateway: ChatGateway,
    provider: str | None,
    model: str,
    prompt: str,
    principal: str,
    meta: RequestMeta,
) -> ApiAnswer:
    """Ask `provider`'s `model` (None: whoever owns `model`) one question through the gateway,
    in a fresh conversation.

    Raises:
        EngineError: whatever the gateway refuses or fails with (unknown model, no key,
            provider switched off, budget used up, upstream failure).
    """
    caller = CallerInfo(
        principal=principal,
        caller=meta.caller,
        project=meta.project,
        endpoint=f"mcp:{meta.tool or 'ask_model'}",
        transport=meta.transport,
        # What the door proved, as every door passes it: the operator's pins and an agent's
        # wait for budget room go by it.
        proven=meta.proven,
    )
    routed = (
        model if provider is None or model.startswith(f"{provider}/") else f"{provider}/{model}"
    )
    body = {"model": routed, "messages": [{"role": "user", "content": prompt}]}
    answer = await gateway.chat(DIALECT_OPENAI_CHAT, body, caller, stream=False)
    if not isinstance(answer, Completed):  # stream=False: never; closed rather than leaked
        await answer.chunks.aclose()  # type: ignore[attr-defined]
        raise EngineError(
            "the gateway streamed a whole-answer request", code=ErrorCode.INTERNAL_ERROR
        )
    choice = (answer.json().get("choices") or [{}])[0]
    message = choice.get("message") or {}
    return ApiAnswer(
        provider=answer.route.provider or provider or "",
        model=answer.route.model or model,
        text=str(message.get("content") or ""),
        usage=answer.usage,
        stop_reason=choice.get("finish_reason"),
        request_id=answer.route.request_id,
    )
