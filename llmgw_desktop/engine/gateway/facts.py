"""What routing and the recorder need to know about a request, read leniently from its body.

A request is not parsed into the neutral form before it is routed: most go to an upstream of
the client's own dialect and are forwarded as they came, so a field, tool type or role the
gateway has never seen must not stop them. This reads the few facts needed to route and to
read the answer (model, stream, whether usage was asked for, tools and images for the
small-request rule, the output limit a budget holds for) and checks nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
)
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.tokens.estimate import (
    CHARS_PER_TOKEN,
    TOOLS_PROMPT_TOKENS,
    tokens_at_most,
)
from llmgw_desktop.engine.values import stores_directly

__all__ = [
    "MAX_ANSWERS_HELD",
    "ONE_ANSWER",
    "Answers",
    "RequestFacts",
    "answer_count",
    "has_images",
    "request_facts",
]

# The small-request estimate: about four bytes of request per token (JSON included).
# A tuple, not a set: a client's `type` may be any JSON (a list cannot be hashed).
_IMAGE_TYPES = ("image", "image_url", "input_image")


# Past this many answers the vendor refuses the call anyway (OpenAI allows n up to 128).
MAX_ANSWERS_HELD = 128


class Answers(NamedTuple):
    """The answers a call asks for, each billed: as many as a hold covers (`held`, at most
    MAX_ANSWERS_HELD), as the client wrote it (`asked`: a hard budget refuses more than it
    holds), and the field that asked (`n`, `best_of`, `candidateCount`) a refusal names."""

    held: int
    asked: int
    field: str

    @classmethod
    def of(cls, asked: int, field: str) -> Answers:
        return ONE_ANSWER if asked == 1 else cls(min(asked, MAX_ANSWERS_HELD), asked, field)


ONE_ANSWER = Answers(1, 1, "n")


@stores_directly
@dataclass(frozen=True)
class RequestFacts:
    """The facts of one request that routing and relaying need."""

    model: str | None
    stream: bool
    # The client asked for usage in its stream (OpenAI Chat's `stream_options.include_usage`;
    # every other dialect's streams always carry it).
    stream_usage: bool
    tools: bool
    # Bytes of the request body, for the small-request estimate.
    size: int
    # The most output tokens the call may produce: the client's limit in its dialect's spelling
    # times the answers it asks for (OpenAI `n`, Gemini `candidateCount`); None: not said.
    # What a budget holds for the call while it runs (`budgets/holds.py`).
    max_output: int | None = None
    # The answers it asks for (a call naming no limit is held for that many maxima), at most
    # MAX_ANSWERS_HELD; `answers_asked`, as the client wrote it (a hard budget refuses more).
    answers: int = 1
    answers_asked: int = 1

    @property
    def estimated_tokens(self) -> int:
        tokens = self.size // CHARS_PER_TOKEN
        return tokens if tokens > 1 else 1  # not max(): `engine/values.py`

    @property
    def held_input_tokens(self) -> int:
        """The most input tokens the body can be billed as (`tokens_at_most`), with what a
        vendor adds around tools: what a hard budget holds."""
        held = tokens_at_most(self.size)
        return held + TOOLS_PROMPT_TOKENS if self.tools else held


def request_facts(
    dialect: str,
    body: dict[str, Any],
    *,
    size: int,
    url_model: str | None = None,
    stream: bool | None = None,
) -> RequestFacts:
    """The routing facts of a client's body (`url_model` and `stream` from a Gemini URL).

    Raises:
        InvalidRequest: `model` or `stream` is of the wrong type (the gateway must know both
            to route the request and to read its answer).
    """
    model = url_model.removeprefix("models/") if url_model else body.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequest("model: expected a string", param="model")
    if stream is None:
        value = body.get("stream")
        if value is not None and not isinstance(value, bool):
            raise InvalidRequest("stream: expected true or false", param="stream")
        stream = bool(value)
    usage = stream
    if dialect == DIALECT_OPENAI_CHAT:
        options = body.get("stream_options")
        usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    limit, asked = _output_limit(dialect, body), _answers(dialect, body)
    # Not min(): `engine/values.py`.
    answers = asked if asked < MAX_ANSWERS_HELD else MAX_ANSWERS_HELD
    return RequestFacts(
        model or None,
        stream,
        usage,
        bool(body.get("tools")),
        size,
        # Each answer may reach the limit; a hold of one answer's worth let 100 answers
        # through a budget meant for one (red-team finding 3).
        None if limit is None else limit * answers,
        answers,
        asked,
    )


def _answers(dialect: str, body: dict[str, Any]) -> int:
    """How many answers the call asks for (1 unless said; a wrong type is not a count)."""
    if dialect == DIALECT_GEMINI:
        config = field(body, "generationConfig")
        value = field(config, "candidateCount") if isinstance(config, dict) else None
    elif dialect == DIALECT_OPENAI_CHAT:
        value = body.get("n")
    else:
        return 1
    return 1 if value is None else answer_count(value)  # most name no count: no call


def answer_count(value: Any) -> int:
    """A count as a vendor may read it: an integer, or one written as a float (`8.0`) or a
    string (`"8"`, which protobuf's JSON mapping takes for Gemini's int32), rounded up; 1 for
    anything else, which the vendor refuses. A hold of one answer for `"8"` let eight through a
    budget meant for one (red team, 2026-11-29)."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return 1
    if isinstance(value, float):
        if not math.isfinite(value):
            return 1
        value = math.ceil(value)
    return value if isinstance(value, int) and value > 1 else 1


def _output_limit(dialect: str, body: dict[str, Any]) -> int | None:
    """The client's output limit, read leniently: a value of the wrong type is not one."""
    if dialect == DIALECT_GEMINI:
        config = field(body, "generationConfig")
        value = field(config, "maxOutputTokens") if isinstance(config, dict) else None
    elif dialect == DIALECT_OPENAI_CHAT:
        value = body.get("max_completion_tokens", body.get("max_tokens"))
    elif dialect == DIALECT_ANTHROPIC:
        value = body.get("max_tokens")
    else:
        value = body.get("max_output_tokens")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def has_images(dialect: str, body: dict[str, Any]) -> bool:
    """Whether the request carries an image (the small-request rule leaves those alone)."""
    if dialect == DIALECT_GEMINI:
        contents = field(body, "contents")
        for content in contents if isinstance(contents, list) else []:
            parts = field(content, "parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else []:
                inline = field(part, "inlineData") if isinstance(part, dict) else None
                if isinstance(inline, dict) and str(field(inline, "mimeType")).startswith("image"):
                    return True
        return False
    key = "input" if dialect not in (DIALECT_ANTHROPIC, DIALECT_OPENAI_CHAT) else "messages"
    items = body.get(key)
    for item in items if isinstance(items, list) else []:
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") in _IMAGE_TYPES:
                return True
    return False
