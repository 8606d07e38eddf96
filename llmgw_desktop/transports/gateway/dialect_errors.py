"""Errors in the envelope of the dialect the client speaks: the gateway routes' one mapping.

Anthropic, Gemini and the two OpenAI dialects each have their own error body
(`Dialect.render_error`); `dialect_envelope` picks the status a client of that dialect is
answered with and fills the body, `dialect_error` writes it as the chat routes answer.
Ollama's API (`ollama_error`) has its own, a message alone.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    DIALECTS,
    EngineError,
    client_status,
    error_headers,
    jsonio,
    retry_after_seconds,
    with_retry_info,
)

__all__ = ["dialect_envelope", "dialect_error", "ollama_error"]


def dialect_envelope(front: str, error: EngineError) -> tuple[int, dict[str, Any]]:
    """The status and error body a client of the dialect `front` is answered with: the
    status as that dialect says it (529 is a 503 outside Anthropic's), the wait in the body
    where the envelope has a place for it."""
    status = client_status(front, error.http_status)
    body = DIALECTS[front].render_error(status, error.code, error.message)
    return status, with_retry_info(front, body, retry_after_seconds(error))


def dialect_error(front: str, error: EngineError) -> web.Response:
    """`error` in the envelope of the dialect the client speaks; an upstream of the client's
    own dialect that refused the request has its own error body relayed as it came. The
    answer names the request's recorder row, and relays the upstream's `Retry-After`."""
    status, body = dialect_envelope(front, error)
    headers = error_headers(error, status)
    raw = getattr(error, "raw_body", None)
    return web.Response(
        body=raw or jsonio.dumps(body),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def ollama_error(error: EngineError) -> web.Response:
    """`error` as Ollama's API answers one: `{"error": message}`, with the status an OpenAI
    client would get, the request's recorder row and the upstream's `Retry-After`."""
    status = client_status(DIALECT_OPENAI_CHAT, error.http_status)
    return web.Response(
        body=jsonio.dumps({"error": error.message}),
        status=status,
        content_type="application/json",
        headers=error_headers(error, status),
    )
