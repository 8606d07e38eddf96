"""An embedding request as the gateway holds it, whichever front door it came through.

OpenAI's `/v1/embeddings` (a string, a list of strings, a token array or a list of token
arrays; `dimensions`, `encoding_format`), Gemini's `embedContent` and `batchEmbedContents`,
and Ollama's `/api/embed` and `/api/embeddings` are read into one `EmbedRequest`. Each reader
checks what it must (every input a non-empty string or a list of token ids, at most
`MAX_INPUTS` of them) and raises `InvalidRequest` naming the field, so a client learns what
to fix before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    optional_positive_int,
    optional_str,
)
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field as gemini_field
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN, tokens_at_most

__all__ = [
    "EMBED_GEMINI",
    "EMBED_GEMINI_BATCH",
    "EMBED_OLLAMA",
    "EMBED_OLLAMA_LEGACY",
    "EMBED_OPENAI",
    "ENCODINGS",
    "ENGINE_EMBED_ENDPOINT",
    "MAX_INPUTS",
    "EmbedRequest",
    "embedding_from_gemini",
    "embedding_from_ollama",
    "embedding_from_openai",
    "embedding_from_texts",
    "embedding_request",
]

# OpenAI takes at most 2,048 inputs a request; so does the gateway, whatever the target.
MAX_INPUTS = 2048
# How OpenAI clients ask for the vectors: as JSON numbers, or as base64 of little-endian
# float32 (the `openai` SDKs ask for base64 unless told otherwise, and decode it).
ENCODINGS = ("float", "base64")

Input = str | tuple[int, ...]

# The front doors an embedding request comes through; `engine` is the engine's own call
# (`GatewayService.embed`), answered as vectors.
FRONT_OPENAI = EMBED_OPENAI = "openai"
FRONT_GEMINI = EMBED_GEMINI = "gemini"
FRONT_GEMINI_BATCH = EMBED_GEMINI_BATCH = "gemini-batch"
FRONT_OLLAMA = EMBED_OLLAMA = "ollama"
FRONT_OLLAMA_LEGACY = EMBED_OLLAMA_LEGACY = "ollama-legacy"
FRONT_ENGINE = "engine"
# The recorder's `tool` of the engine's own embedding calls (an HTTP request's is its path).
ENGINE_EMBED_ENDPOINT = "engine:embed"


@dataclass(frozen=True)
class EmbedRequest:
    """What to embed, and how the answer is wanted."""

    model: str | None
    inputs: tuple[Input, ...]
    dimensions: int | None = None
    encoding_format: str = "float"
    # Gemini's `taskType` and `title` (a retrieval query or document), where a target has them.
    task_type: str | None = None
    title: str | None = None
    # The front door it came through (a `FRONT_*`): an OpenAI client's own body goes as it came
    # (model replaced) to an OpenAI-compatible target, and its answer is given in its shape.
    front: str = "openai"
    body: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def texts(self) -> tuple[str, ...] | None:
        """Every input as text, or None when any is a token array."""
        if all(isinstance(item, str) for item in self.inputs):
            return self.inputs  # type: ignore[return-value]
        return None

    @property
    def estimated_tokens(self) -> int:
        """Input tokens as estimated where the vendor reports none: a token array's length, a
        text's size at about four bytes a token (at least one each)."""
        total = 0
        for item in self.inputs:
            if isinstance(item, str):
                total += max(1, len(item.encode()) // CHARS_PER_TOKEN)
            else:
                total += max(1, len(item))
        return total

    @property
    def held_input_tokens(self) -> int:
        """The most input tokens it can be billed as (a text at one a byte, a token array at
        its length): what a hard budget holds."""
        return sum(
            tokens_at_most(len(item.encode())) if isinstance(item, str) else max(1, len(item))
            for item in self.inputs
        )


def embedding_from_openai(body: dict[str, Any]) -> EmbedRequest:
    """An OpenAI `/v1/embeddings` body.

    Raises:
        InvalidRequest: `input` is missing, empty or of the wrong shape, or `dimensions`,
            `encoding_format` or `model` is wrong (named).
    """
    model = optional_str(body.get("model"), "model")
    if "input" not in body:
        raise InvalidRequest("input: required (a string, a list of strings or token ids)")
    encoding = body.get("encoding_format")
    if encoding is None:
        encoding = "float"
    if encoding not in ENCODINGS:
        raise InvalidRequest(
            f"encoding_format: expected one of {', '.join(ENCODINGS)}, got {encoding!r}",
            param="encoding_format",
        )
    return EmbedRequest(
        model=model,
        inputs=_openai_inputs(body["input"]),
        dimensions=optional_positive_int(body.get("dimensions"), "dimensions"),
        encoding_format=encoding,
        front=FRONT_OPENAI,
        body=body,
    )


def _openai_inputs(value: Any) -> tuple[Input, ...]:
    if isinstance(value, str):
        return (_text(value, "input"),)
    items = expect_list(value, "input")
    if not items:
        raise InvalidRequest("input: the list is empty; send at least one input", param="input")
    if all(_is_token(item) for item in items):
        return (tuple(items),)  # one token array
    _bounded(items, "input")
    inputs: list[Input] = []
    for index, item in enumerate(items):
        path = f"input[{index}]"
        if isinstance(item, str):
            inputs.append(_text(item, path))
        elif isinstance(item, list) and item and all(_is_token(t) for t in item):
            inputs.append(tuple(item))
        else:
            raise InvalidRequest(
                f"{path}: expected a non-empty string or a list of token ids", param="input"
            )
    return tuple(inputs)


def embedding_from_gemini(body: dict[str, Any], url_model: str, *, batch: bool) -> EmbedRequest:
    """A Gemini `embedContent` body (`batch`: `batchEmbedContents`, whose requests must all
    name the model of its URL, as Gemini's own API requires).

    Raises:
        InvalidRequest: no text to embed, a part that is not text, or a request of the batch
            naming another model (named).
    """
    model = url_model.removeprefix("models/")
    if not batch:
        requests = [body]
    else:
        requests = expect_list(gemini_field(body, "requests"), "requests")
        if not requests:
            raise InvalidRequest("requests: the list is empty", param="requests")
        _bounded(requests, "requests")
    texts: list[Input] = []
    first: dict[str, Any] = {}
    for index, item in enumerate(requests):
        path = f"requests[{index}]" if batch else ""
        item = expect_dict(item, path or "body")
        named = gemini_field(item, "model")
        if batch and named is not None and str(named).removeprefix("models/") != model:
            raise InvalidRequest(
                f"{path}.model: {named!r} differs from the model in the URL ({model!r})"
            )
        texts.append(
            _gemini_text(gemini_field(item, "content"), f"{path}.content" if path else "content")
        )
        first = first or item
    dimensions = gemini_field(first, "outputDimensionality")
    return EmbedRequest(
        model=model,
        inputs=tuple(texts),
        dimensions=optional_positive_int(dimensions, "outputDimensionality"),
        task_type=optional_str(gemini_field(first, "taskType"), "taskType"),
        title=optional_str(gemini_field(first, "title"), "title"),
        front=FRONT_GEMINI_BATCH if batch else FRONT_GEMINI,
        body=body,
    )


def _gemini_text(content: Any, path: str) -> str:
    parts = expect_list(gemini_field(expect_dict(content, path), "parts"), f"{path}.parts")
    texts = []
    for index, part in enumerate(parts):
        text = gemini_field(expect_dict(part, f"{path}.parts[{index}]"), "text")
        if not isinstance(text, str):
            raise InvalidRequest(f"{path}.parts[{index}]: only text parts can be embedded here")
        texts.append(text)
    return _text("".join(texts), f"{path}.parts")


def embedding_from_ollama(body: dict[str, Any], *, legacy: bool) -> EmbedRequest:
    """An Ollama `/api/embed` body (`input`: a string or a list), or with `legacy` an
    `/api/embeddings` one (`prompt`: one string).

    Raises:
        InvalidRequest: `model` is missing, or the input is empty or not text (named).
    """
    model = optional_str(body.get("model"), "model")
    if not model:
        raise InvalidRequest("model: required", param="model")
    if legacy:
        inputs: tuple[Input, ...] = (_text(body.get("prompt"), "prompt"),)
    else:
        value = body.get("input")
        if isinstance(value, str):
            inputs = (_text(value, "input"),)
        else:
            items = expect_list(value, "input")
            if not items:
                raise InvalidRequest("input: the list is empty", param="input")
            _bounded(items, "input")
            inputs = tuple(_text(item, f"input[{i}]") for i, item in enumerate(items))
    return EmbedRequest(
        model=model,
        inputs=inputs,
        dimensions=optional_positive_int(body.get("dimensions"), "dimensions"),
        front=FRONT_OLLAMA_LEGACY if legacy else FRONT_OLLAMA,
        body=body,
    )


def embedding_request(
    front: str, body: dict[str, Any], *, url_model: str | None = None
) -> EmbedRequest:
    """A request's body read as its front door (a `FRONT_*`) sends it.

    Raises:
        InvalidRequest: as the front door's reader says.
    """
    if front == FRONT_OPENAI:
        return embedding_from_openai(body)
    if front in (FRONT_GEMINI, FRONT_GEMINI_BATCH):
        return embedding_from_gemini(body, url_model or "", batch=front == FRONT_GEMINI_BATCH)
    if front in (FRONT_OLLAMA, FRONT_OLLAMA_LEGACY):
        return embedding_from_ollama(body, legacy=front == FRONT_OLLAMA_LEGACY)
    raise ValueError(f"no embedding front door {front!r}")


def embedding_from_texts(
    texts: Sequence[str], model: str, *, dimensions: int | None = None
) -> EmbedRequest:
    """The engine's own request: `texts` with `model`.

    Raises:
        InvalidRequest: no texts, too many, or one that is empty or not text (named).
    """
    items = list(texts) if not isinstance(texts, str) else [texts]
    if not items:
        raise InvalidRequest("texts: none given; send at least one text")
    _bounded(items, "texts")
    return EmbedRequest(
        model=model,
        inputs=tuple(_text(item, f"texts[{i}]") for i, item in enumerate(items)),
        dimensions=optional_positive_int(dimensions, "dimensions"),
        front=FRONT_ENGINE,
    )


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{path}: expected a string", param=path.partition("[")[0])
    if not value:
        raise InvalidRequest(
            f"{path}: empty; an empty text has no embedding", param=path.partition("[")[0]
        )
    return value


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bounded(items: list[Any], path: str) -> None:
    if len(items) > MAX_INPUTS:
        raise InvalidRequest(
            f"{path}: {len(items)} inputs; at most {MAX_INPUTS} a request", param=path
        )
