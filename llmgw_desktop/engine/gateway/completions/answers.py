"""A completion's answer in its front door's shape, whole or streamed.

- OpenAI `/v1/completions`: a `text_completion` object (`choices[].text`, `finish_reason`,
  `usage`, the gateway's `x_gateway`); streamed as SSE chunks of the same object, the usage
  chunk (empty `choices`) only when the client asked for it, then `data: [DONE]`.
- Ollama `/api/generate`: `model`, `created_at`, `response`, `done`, `done_reason` and the
  counts; streamed as newline-delimited JSON, the last line `done: true`.

A stream that breaks ends with an error in the front door's own form: an SSE `error` object,
or Ollama's `{"error": ...}` line.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.completions.request import FIM_OLLAMA
from llmgw_desktop.engine.gateway.completions.targets import Completion
from llmgw_desktop.engine.gateway.completions.wires import FimPiece
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["completion_answer", "completion_chunks"]

BROKEN = "the upstream stream broke"


def completion_answer(answer: Completion) -> dict[str, Any]:
    """A whole answer in its request's front door's shape."""
    piece = answer.piece or FimPiece("", done=True)
    usage = piece.usage or Usage()
    route = answer.route
    if answer.request.front == FIM_OLLAMA:
        return _ollama_line(answer, piece, usage)
    return {
        "id": f"cmpl-{route.request_id}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": route.model,
        "choices": [
            {
                "text": piece.text,
                "index": 0,
                "logprobs": None,
                "finish_reason": piece.finish_reason or "stop",
            }
        ],
        "usage": _openai_usage(usage),
        "x_gateway": route.x_gateway(usage),
    }


async def completion_chunks(answer: Completion) -> AsyncIterator[bytes]:
    """A streamed answer's bytes in its front door's framing (its pieces are closed when these
    are)."""
    assert answer.pieces is not None
    pieces = answer.pieces
    ollama = answer.request.front == FIM_OLLAMA
    created = int(time.time())
    try:
        async for piece in pieces:
            if piece.finish_reason == "error":
                yield (
                    _ollama_error()
                    if ollama
                    else _sse({"error": {"message": BROKEN, "type": "upstream_stream_broken"}})
                )
                return
            if ollama:
                yield jsonio.dumps(_ollama_line(answer, piece, piece.usage or Usage())) + b"\n"
                continue
            yield _sse(_openai_chunk(answer, piece, created))
            if piece.done:
                if answer.request.stream_usage:
                    chunk = _openai_chunk(answer, piece, created)
                    chunk["choices"] = []
                    chunk["usage"] = _openai_usage(piece.usage or Usage())
                    yield _sse(chunk)
                yield b"data: [DONE]\n\n"
    finally:
        await pieces.aclose()  # type: ignore[attr-defined]


def _openai_chunk(answer: Completion, piece: FimPiece, created: int) -> dict[str, Any]:
    reason = (piece.finish_reason or "stop") if piece.done else None
    return {
        "id": f"cmpl-{answer.route.request_id}",
        "object": "text_completion",
        "created": created,
        "model": answer.route.model,
        "choices": [{"text": piece.text, "index": 0, "logprobs": None, "finish_reason": reason}],
    }


def _ollama_line(answer: Completion, piece: FimPiece, usage: Usage) -> dict[str, Any]:
    line: dict[str, Any] = {
        "model": answer.request.model or answer.route.model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "response": piece.text,
        "done": piece.done,
    }
    if piece.done:
        line["done_reason"] = piece.finish_reason or "stop"
        line["prompt_eval_count"] = usage.input_tokens
        line["eval_count"] = usage.output_tokens
    return line


def _openai_usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.total_input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_input_tokens + usage.output_tokens,
    }


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + jsonio.dumps(data) + b"\n\n"


def _ollama_error() -> bytes:
    return jsonio.dumps({"error": BROKEN}) + b"\n"
