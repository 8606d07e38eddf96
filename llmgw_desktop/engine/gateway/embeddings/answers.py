"""An embedding answer in the shape of the front door the request came through.

- OpenAI `/v1/embeddings`: `object: list`, `data[{object, index, embedding}]` (numbers, or
  base64 of little-endian float32 when `encoding_format` is `base64`), `model`,
  `usage{prompt_tokens, total_tokens}`, and the gateway's `x_gateway`.
- Gemini `embedContent`: `embedding{values}`; `batchEmbedContents`: `embeddings[{values}]`.
- Ollama `/api/embed`: `model`, `embeddings`, `total_duration` (ns), `load_duration`,
  `prompt_eval_count`; `/api/embeddings`: `embedding`.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.embeddings.request import (
    FRONT_GEMINI,
    FRONT_GEMINI_BATCH,
    FRONT_OLLAMA,
    FRONT_OLLAMA_LEGACY,
)
from llmgw_desktop.engine.gateway.embeddings.targets import Embeddings
from llmgw_desktop.engine.gateway.embeddings.wires import encode_base64

__all__ = ["embedding_answer"]


def embedding_answer(answer: Embeddings, *, elapsed_ns: int = 0) -> dict[str, Any]:
    """`answer` in its request's front door's shape (its usage is what is reported to the
    client: nothing for a cached answer; `elapsed_ns`: Ollama's `total_duration`)."""
    request, vectors, usage, route = answer.request, answer.vectors, answer.usage, answer.route
    front = request.front
    if front == FRONT_GEMINI:
        return {"embedding": {"values": vectors[0]}}
    if front == FRONT_GEMINI_BATCH:
        return {"embeddings": [{"values": vector} for vector in vectors]}
    if front == FRONT_OLLAMA:
        return {
            "model": request.model or route.model,
            "embeddings": vectors,
            "total_duration": elapsed_ns,
            "load_duration": 0,
            "prompt_eval_count": usage.input_tokens,
        }
    if front == FRONT_OLLAMA_LEGACY:
        return {"embedding": vectors[0]}
    as_base64 = request.encoding_format == "base64"
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": index,
                "embedding": encode_base64(vector) if as_base64 else vector,
            }
            for index, vector in enumerate(vectors)
        ],
        "model": route.model,
        "usage": {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens},
        "x_gateway": route.x_gateway(usage),
    }
