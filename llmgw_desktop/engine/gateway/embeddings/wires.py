"""Each provider's embedding API on the wire: what it is sent and what its answer says.

- `openai` (OpenAI, Azure OpenAI, Mistral, OpenAI-compatible servers: vLLM, llama.cpp, LM
  Studio): `POST {base}/embeddings`, the client's own body (model replaced) when it came in
  OpenAI's shape, else `input` and `dimensions`; answers `data[].embedding` (numbers or base64)
  and `usage.prompt_tokens`.
- `gemini` (the Gemini API): `POST .../models/{m}:batchEmbedContents`, one request a text;
  answers `embeddings[].values`, with no usage.
- `vertex` (Vertex AI): `POST .../publishers/google/models/{m}:predict`, `instances[].content`;
  answers `predictions[].embeddings.values` and `statistics.token_count`.
- `titan` (Bedrock's Amazon Titan): `POST /model/{id}/invoke`, one text a call (`inputText`);
  answers `embedding` and `inputTextTokenCount`.
- `cohere` (Bedrock's Cohere Embed): `POST /model/{id}/invoke`, `texts`; answers `embeddings`
  (or `embeddings.float`), its tokens in the `x-amzn-bedrock-input-token-count` header.
- `ollama` (Ollama): `POST {root}/api/embed`, `input`; answers `embeddings` and
  `prompt_eval_count`.

`embed_wire` chooses one for a provider and model, or says why that target cannot embed
(Anthropic has no embeddings API; a Bedrock chat model is not an embedding model). Parsers
raise `UpstreamMalformed` on an answer of the wrong shape, so a broken answer falls back like
any other.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from llmgw_desktop.config.api_catalog import (
    CLOUD_AZURE,
    CLOUD_BEDROCK,
    CLOUD_VERTEX,
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    ApiProviderSpec,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.clouds.models import bedrock_base_id
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.embeddings.request import FRONT_OPENAI, EmbedRequest
from llmgw_desktop.engine.gateway.same_dialect.passthrough import GATEWAY_FIELDS

__all__ = [
    "MAX_ONE_TEXT_CALLS",
    "OLLAMA_PORT",
    "EmbedWire",
    "Embedded",
    "decode_base64",
    "embed_wire",
    "encode_base64",
    "ollama_root",
]

OLLAMA_PORT = 11434
# A wire that takes one text a call (Titan) makes a call per input: one request of a remote
# caller is held to this many upstream calls (its rate limit counts requests, not calls).
MAX_ONE_TEXT_CALLS = 128
# The header Bedrock's InvokeModel counts the input in (Cohere's body has no usage).
BEDROCK_INPUT_TOKENS = "x-amzn-bedrock-input-token-count"
# What Cohere embeds a text as when the client does not say (Gemini's task types map over).
_COHERE_INPUT_TYPES = {
    "RETRIEVAL_QUERY": "search_query",
    "RETRIEVAL_DOCUMENT": "search_document",
    "CLASSIFICATION": "classification",
    "CLUSTERING": "clustering",
}


@dataclass(frozen=True)
class Embedded:
    """An upstream's answer: one vector per input, in order, and the input tokens it counted
    (None: it reported none, and the gateway estimates them)."""

    vectors: list[list[float]]
    input_tokens: int | None


@dataclass(frozen=True)
class EmbedWire:
    """One embedding API: its name (the table above) and whether it takes one text a call."""

    name: str
    one_text_a_call: bool = False

    def bodies(self, request: EmbedRequest, model: str) -> list[bytes]:
        """What the upstream is sent: one body, or one a text for a wire that takes one."""
        if self.name == "openai":
            return [jsonio.dumps(_openai_body(request, model))]
        texts = request.texts or ()
        if self.name == "titan":
            return [jsonio.dumps(_titan_body(text, request)) for text in texts]
        if self.name == "gemini":
            body = _gemini_body(request, model)
        elif self.name == "vertex":
            body = _vertex_body(request)
        elif self.name == "cohere":
            body = _cohere_body(request)
        else:
            body = _ollama_body(request, model)
        return [jsonio.dumps(body)]

    def url(self, base_url: str, model: str) -> str:
        """Where a provider that is not a cloud is sent it (a cloud's wire says for clouds)."""
        base = base_url.rstrip("/")
        if self.name == "gemini":
            root = base if base.endswith(("/v1beta", "/v1")) else base + "/v1beta"
            return f"{root}/models/{quote(model, safe='-._~')}:batchEmbedContents"
        if self.name == "ollama":
            return ollama_root(base) + "/api/embed"
        return base + "/embeddings"

    def parse(self, answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
        """The vectors and token count of the upstream's answers (each its JSON and headers).

        Raises:
            UpstreamMalformed: an answer is not of this wire's shape.
        """
        try:
            return _PARSERS[self.name](answers)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise UpstreamMalformed(
                f"the {self.name} embedding answer is not of its shape ({type(exc).__name__}: "
                f"{exc})"
            ) from None


_WIRES = {
    name: EmbedWire(name, name == "titan")
    for name in ("openai", "gemini", "vertex", "titan", "cohere", "ollama")
}


def embed_wire(spec: ApiProviderSpec, model: str, request: EmbedRequest) -> EmbedWire | str:
    """The embedding API of `model` at `spec`, or why that target cannot embed this request."""
    label = f"{spec.id}/{model}"
    if spec.cloud == CLOUD_BEDROCK:
        base = bedrock_base_id(model)
        if base.startswith("amazon.titan-embed"):
            wire = _WIRES["titan"]
        elif base.startswith("cohere.embed"):
            wire = _WIRES["cohere"]
        else:
            return (
                f"{label} is not an embedding model; Bedrock embeds with Amazon Titan "
                "(amazon.titan-embed-text-v2:0) and Cohere Embed (cohere.embed-english-v3)"
            )
    elif spec.cloud == CLOUD_VERTEX:
        if spec.dialect_for(model) == DIALECT_ANTHROPIC:
            return f"{label} is a Claude model; Vertex embeds with Google's embedding models"
        wire = _WIRES["vertex"]
    elif spec.cloud == CLOUD_AZURE:
        wire = _WIRES["openai"]
    elif spec.dialect == DIALECT_ANTHROPIC:
        return f"{label}: Anthropic has no embeddings API"
    elif spec.dialect == DIALECT_GEMINI:
        wire = _WIRES["gemini"]
    elif is_ollama(spec):
        wire = _WIRES["ollama"]
    else:
        wire = _WIRES["openai"]
    if wire.name != "openai" and request.texts is None:
        return (
            f"input: token arrays are sent only to OpenAI-compatible providers; {label} embeds text"
        )
    if wire.one_text_a_call and len(request.inputs) > MAX_ONE_TEXT_CALLS:
        return (
            f"input: {len(request.inputs)} texts; {label} takes one text a call, so at most "
            f"{MAX_ONE_TEXT_CALLS} a request to it"
        )
    return wire


def is_ollama(spec: ApiProviderSpec) -> bool:
    """Whether `spec` is an Ollama server (the built-in provider, or one on Ollama's port),
    reached through its own API rather than its OpenAI-compatible one."""
    return spec.id == "ollama" or f":{OLLAMA_PORT}" in spec.base_url


def ollama_root(base_url: str) -> str:
    """An Ollama server's root, from its OpenAI-compatible base (`.../v1`) or its root."""
    base = base_url.rstrip("/")
    return base.removesuffix("/v1")


# -- requests ---------------------------------------------------------------------------


def _openai_body(request: EmbedRequest, model: str) -> dict[str, Any]:
    if request.front == FRONT_OPENAI:  # the client's own body: unknown fields go along
        body = {k: v for k, v in request.body.items() if k not in GATEWAY_FIELDS}
        body["model"] = model
        return body
    inputs = [item if isinstance(item, str) else list(item) for item in request.inputs]
    body = {"model": model, "input": inputs, "encoding_format": "float"}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    return body


def _gemini_body(request: EmbedRequest, model: str) -> dict[str, Any]:
    named = f"models/{model}"
    requests = []
    for text in request.texts or ():
        item: dict[str, Any] = {"model": named, "content": {"parts": [{"text": text}]}}
        if request.task_type:
            item["taskType"] = request.task_type
        if request.title:
            item["title"] = request.title
        if request.dimensions is not None:
            item["outputDimensionality"] = request.dimensions
        requests.append(item)
    return {"requests": requests}


def _vertex_body(request: EmbedRequest) -> dict[str, Any]:
    instances = []
    for text in request.texts or ():
        instance: dict[str, Any] = {"content": text}
        if request.task_type:
            instance["task_type"] = request.task_type
        if request.title:
            instance["title"] = request.title
        instances.append(instance)
    body: dict[str, Any] = {"instances": instances}
    if request.dimensions is not None:
        body["parameters"] = {"outputDimensionality": request.dimensions}
    return body


def _titan_body(text: str, request: EmbedRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"inputText": text}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    return body


def _cohere_body(request: EmbedRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "texts": list(request.texts or ()),
        "input_type": _COHERE_INPUT_TYPES.get(request.task_type or "", "search_document"),
    }
    if request.dimensions is not None:
        body["output_dimension"] = request.dimensions
    return body


def _ollama_body(request: EmbedRequest, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": list(request.texts or ())}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    for name in ("truncate", "options", "keep_alive"):  # an Ollama client's own settings
        if name in request.body:
            body[name] = request.body[name]
    return body


# -- answers ----------------------------------------------------------------------------


def _openai_answer(answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
    data, _ = answers[0]
    items = sorted(data["data"], key=lambda item: int(item.get("index", 0)))
    vectors = [_vector(item["embedding"]) for item in items]
    usage = data.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return Embedded(vectors, tokens if isinstance(tokens, int) else None)


def _gemini_answer(answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
    data, _ = answers[0]
    return Embedded([_floats(item["values"]) for item in data["embeddings"]], None)


def _vertex_answer(answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
    data, _ = answers[0]
    vectors, tokens = [], 0
    for prediction in data["predictions"]:
        embedding = prediction["embeddings"]
        vectors.append(_floats(embedding["values"]))
        tokens += int((embedding.get("statistics") or {}).get("token_count") or 0)
    return Embedded(vectors, tokens or None)


def _titan_answer(answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
    vectors, tokens = [], 0
    for data, _ in answers:
        vectors.append(_floats(data["embedding"]))
        tokens += int(data.get("inputTextTokenCount") or 0)
    return Embedded(vectors, tokens or None)


def _cohere_answer(answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
    data, headers = answers[0]
    found = data["embeddings"]
    if isinstance(found, dict):  # asked for by type: `{"float": [...]}`
        found = found["float"]
    counted = headers.get(BEDROCK_INPUT_TOKENS)
    tokens = int(counted) if counted and counted.isdigit() else None
    return Embedded([_floats(vector) for vector in found], tokens)


def _ollama_answer(answers: list[tuple[Any, Mapping[str, str]]]) -> Embedded:
    data, _ = answers[0]
    tokens = data.get("prompt_eval_count")
    return Embedded(
        [_floats(vector) for vector in data["embeddings"]],
        tokens if isinstance(tokens, int) else None,
    )


_PARSERS = {
    "openai": _openai_answer,
    "gemini": _gemini_answer,
    "vertex": _vertex_answer,
    "titan": _titan_answer,
    "cohere": _cohere_answer,
    "ollama": _ollama_answer,
}


def _vector(value: Any) -> list[float]:
    return decode_base64(value) if isinstance(value, str) else _floats(value)


def _floats(value: Any) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
    ):
        raise ValueError("a vector is not a list of numbers")
    return [float(x) for x in value]


def decode_base64(text: str) -> list[float]:
    """A vector sent as base64 of little-endian float32 (OpenAI's `encoding_format`).

    Raises:
        ValueError: the text is not base64 of whole float32s.
    """
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 4:
        raise ValueError("a base64 vector is not a whole number of float32s")
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def encode_base64(vector: list[float]) -> str:
    """`vector` as OpenAI's base64 form: little-endian float32."""
    values = array("f", vector)
    if sys.byteorder != "little":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")
