"""Embedding answers in each provider's own wire format, for the scripted upstream.

Every vector is `fake_vector(text)`: a few numbers made from the text's SHA-256, each a
multiple of 1/256 so it is exact in float32 (a base64 answer and a numbers answer hold the
same values), and so a test can tell which text a vector was made from.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

JsonObject = dict[str, Any]

# Dimensions of a fake vector unless the request asks for fewer.
FAKE_DIMENSIONS = 8
# Tokens the fake counts for each text (a test can tell the upstream's count from an estimate).
TOKENS_PER_TEXT = 5


def fake_vector(text: str, dimensions: int | None = None) -> list[float]:
    """The vector the fake upstream gives `text`."""
    size = min(dimensions or FAKE_DIMENSIONS, 32)
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i] - 128) / 256 for i in range(size)]


def openai_answer(body: JsonObject, model: str) -> JsonObject:
    """`POST /v1/embeddings` as OpenAI answers it (base64 when asked)."""
    inputs = body.get("input")
    items = [inputs] if isinstance(inputs, str) else list(inputs or [])
    if items and all(isinstance(t, int) for t in items):
        items = [items]
    texts = [t if isinstance(t, str) else " ".join(map(str, t)) for t in items]
    dims = body.get("dimensions")
    data = []
    for index, text in enumerate(texts):
        vector = fake_vector(text, dims)
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = TOKENS_PER_TEXT * len(texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def gemini_batch_answer(body: JsonObject) -> JsonObject:
    """`:batchEmbedContents` as the Gemini API answers it (no usage)."""
    out = []
    for request in body.get("requests", []):
        text = "".join(p.get("text", "") for p in request["content"]["parts"])
        out.append({"values": fake_vector(text, request.get("outputDimensionality"))})
    return {"embeddings": out}


def vertex_predict_answer(body: JsonObject) -> JsonObject:
    """`:predict` of a Vertex AI embedding model."""
    dims = (body.get("parameters") or {}).get("outputDimensionality")
    return {
        "predictions": [
            {
                "embeddings": {
                    "values": fake_vector(instance["content"], dims),
                    "statistics": {"token_count": TOKENS_PER_TEXT, "truncated": False},
                }
            }
            for instance in body.get("instances", [])
        ]
    }


def bedrock_invoke_answer(model: str, body: JsonObject) -> tuple[JsonObject, dict[str, str]]:
    """InvokeModel of a Bedrock embedding model (Titan: one text; Cohere: `texts`), with the
    header Bedrock counts the input in."""
    if "inputText" in body:
        vector = fake_vector(body["inputText"], body.get("dimensions"))
        answer: JsonObject = {"embedding": vector, "inputTextTokenCount": TOKENS_PER_TEXT}
        count = TOKENS_PER_TEXT
    else:
        texts = body.get("texts", [])
        answer = {
            "id": "fake-cohere",
            "response_type": "embeddings_floats",
            "texts": texts,
            "embeddings": [fake_vector(t, body.get("output_dimension")) for t in texts],
        }
        count = TOKENS_PER_TEXT * len(texts)
    return answer, {"x-amzn-bedrock-input-token-count": str(count)}


def ollama_embed_answer(body: JsonObject) -> JsonObject:
    """Ollama's `POST /api/embed`."""
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    return {
        "model": body.get("model"),
        "embeddings": [fake_vector(t, body.get("dimensions")) for t in texts],
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_count": TOKENS_PER_TEXT * len(texts),
    }
