"""The gateway's neutral form of a chat exchange, between the four wire dialects.

Every front-door request (OpenAI Chat, OpenAI Responses, Anthropic Messages, Gemini) is parsed
into a `ChatRequest`; every upstream answer is parsed into a `ChatResponse`, or, when
streaming, a sequence of `StreamEvent`s. Translating A to B is parse-with-A then render-with-B,
so N dialects need 2N translators, not N^2. Everything here is plain data: no I/O.

Token usage follows Anthropic's convention (see `Usage`): `input_tokens` excludes cached
input, and cache reads and writes are counted apart, so nothing is lost in either direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ImagePart",
    "Message",
    "MessageEnd",
    "MessageStart",
    "Part",
    "StopReason",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ThinkingDelta",
    "ThinkingPart",
    "ToolCallDelta",
    "ToolCallPart",
    "ToolCallStart",
    "ToolDef",
    "ToolResultPart",
    "Usage",
]

Role = Literal["user", "assistant"]
# end_turn: finished; max_tokens: cut by the limit; tool_use: wants a tool result;
# stop_sequence: hit a stop string; refusal / error: the model declined or failed.
StopReason = Literal["end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", "error"]


@dataclass(frozen=True)
class Usage:
    """Tokens of one exchange. `input_tokens` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        """All input, cached or not (OpenAI's and Gemini's `prompt` count)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class TextPart:
    text: str
    # Anthropic prompt-cache breakpoint on this block (kept when both sides support it).
    cache: bool = False


@dataclass(frozen=True)
class ImagePart:
    """An image, inline (`data` is base64) or by `url`."""

    media_type: str = ""
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ThinkingPart:
    """Model reasoning, when the upstream returns it (kept opaque; `signature` as given)."""

    text: str
    signature: str | None = None


@dataclass(frozen=True)
class ToolCallPart:
    """The model asks for a tool: `arguments` is the JSON text of the arguments object."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResultPart:
    """The answer to a tool call, sent back by the user side."""

    tool_call_id: str
    content: str
    is_error: bool = False
    name: str | None = None  # Gemini matches results by function name, not id


Part = TextPart | ImagePart | ThinkingPart | ToolCallPart | ToolResultPart


@dataclass(frozen=True)
class Message:
    role: Role
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class ToolDef:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ChatRequest:
    """A chat request in dialect-neutral form."""

    model: str
    messages: tuple[Message, ...]
    system: tuple[TextPart, ...] = ()
    tools: tuple[ToolDef, ...] = ()
    # "auto", "none", "required", or a tool name the model must call.
    tool_choice: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    # The client asked for usage in the stream (OpenAI `stream_options.include_usage`).
    stream_usage: bool = False
    user: str | None = None
    # "low", "medium" or "high" when the client asked for reasoning (OpenAI `reasoning_effort` /
    # Responses `reasoning.effort`; Anthropic `thinking.budget_tokens` maps onto it).
    reasoning_effort: str | None = None


@dataclass(frozen=True)
class ChatResponse:
    """A complete answer in dialect-neutral form."""

    id: str
    model: str
    parts: tuple[Part, ...]
    stop_reason: StopReason = "end_turn"
    usage: Usage = field(default_factory=Usage)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


# -- streaming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageStart:
    """The answer begins. `usage` carries what is known up front (input and cache tokens)."""

    id: str
    model: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class TextDelta:
    """More text for the content block at `index`."""

    index: int
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    index: int
    text: str


@dataclass(frozen=True)
class ToolCallStart:
    """A tool call begins at content block `index`."""

    index: int
    id: str
    name: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments."""

    index: int
    arguments: str


@dataclass(frozen=True)
class MessageEnd:
    """The answer is complete. `usage` is the final total (input, output and cache)."""

    stop_reason: StopReason
    usage: Usage = field(default_factory=Usage)


StreamEvent = MessageStart | TextDelta | ThinkingDelta | ToolCallStart | ToolCallDelta | MessageEnd
