"""The gateway's neutral form of a chat exchange, between the four wire dialects.

Every front-door request (OpenAI Chat, OpenAI Responses, Anthropic Messages, Gemini) is parsed
into a `ChatRequest`; every upstream answer is parsed into a `ChatResponse`, or, when
streaming, a sequence of `StreamEvent`s. Translating A to B is parse-with-A then render-with-B,
so N dialects need 2N translators, not N^2. Everything here is plain data: no I/O.

Token usage (`engine/tokens/usage.py`) follows Anthropic's convention: `input_tokens` excludes
cached input, and cache reads and writes are counted apart, so nothing is lost either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.engine.values import stores_directly

__all__ = [
    "CUSTOM_INPUT",
    "MAX_TOKEN_COUNT",
    "ChatRequest",
    "ChatResponse",
    "DocumentPart",
    "ImagePart",
    "Message",
    "MessageEnd",
    "MessageStart",
    "Part",
    "ResponseFormat",
    "Role",
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
]

# "system" only for an instruction in the middle of the conversation (Claude Code sends them;
# OpenAI's system and developer messages may come anywhere); leading ones are `ChatRequest.system`.
Role = Literal["user", "assistant", "system"]
# end_turn: finished; max_tokens: cut by the limit; tool_use: wants a tool result;
# stop_sequence: hit a stop string; refusal / error: the model declined or failed.
StopReason = Literal["end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", "error"]


# The most tokens an upstream is believed to report for one count; a larger figure reads as
# none, like a count that is not a number: it could neither be written in JSON (orjson stops at
# 64 bits) nor stored by the flight recorder (whose failed write would block every later one).
MAX_TOKEN_COUNT = 2**40


@stores_directly
@dataclass(frozen=True)
class TextPart:
    text: str
    # Anthropic prompt-cache breakpoint on this block (kept when both sides support it).
    cache: bool = False


@stores_directly
@dataclass(frozen=True)
class ImagePart:
    """An image, inline (`data` is base64) or by `url`."""

    media_type: str = ""
    data: str | None = None
    url: str | None = None


@stores_directly
@dataclass(frozen=True)
class DocumentPart:
    """A document (a PDF, or plain text) given to the model: inline base64 `data`, a `url`, or
    the `text` itself. `title` and `filename` are kept where the dialect has a slot for them."""

    media_type: str = "application/pdf"
    data: str | None = None
    url: str | None = None
    text: str | None = None
    title: str | None = None
    filename: str | None = None


@stores_directly
@dataclass(frozen=True)
class ThinkingPart:
    """Model reasoning, when the upstream returns it (kept opaque; `signature` as given)."""

    text: str
    signature: str | None = None


@stores_directly
@dataclass(frozen=True)
class ToolCallPart:
    """The model asks for a tool: `arguments` is the JSON text of the arguments object."""

    id: str
    name: str
    arguments: str


@stores_directly
@dataclass(frozen=True)
class ToolResultPart:
    """The answer to a tool call, sent back by the user side."""

    tool_call_id: str
    content: str
    is_error: bool = False
    name: str | None = None  # Gemini matches results by function name, not id


Part = TextPart | ImagePart | DocumentPart | ThinkingPart | ToolCallPart | ToolResultPart


@stores_directly
@dataclass(frozen=True)
class Message:
    role: Role
    parts: tuple[Part, ...]


@stores_directly
@dataclass(frozen=True)
class ToolDef:
    """A tool the client runs. `name` is what the model sees; for a tool of an OpenAI Responses
    `namespace` it is `<namespace>__<local_name>`, so dialects without namespaces can carry it
    and the answer can be mapped back. A `custom` (freeform) tool takes one string: elsewhere
    it becomes a function whose only argument is that string (`CUSTOM_INPUT`)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    kind: Literal["function", "custom"] = "function"
    namespace: str | None = None
    local_name: str | None = None
    # A custom tool's input format as the client gave it (a grammar, or plain text).
    format: dict[str, Any] | None = None


# The one argument a custom (freeform) tool becomes when a dialect has only function tools.
CUSTOM_INPUT = "input"


@stores_directly
@dataclass(frozen=True)
class ResponseFormat:
    """Structured output: any JSON object, or one matching `schema` (JSON Schema)."""

    kind: Literal["json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str = "response"
    description: str = ""
    strict: bool | None = None


@stores_directly
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
    response_format: ResponseFormat | None = None
    # False: at most one tool call per answer (Anthropic `disable_parallel_tool_use`).
    parallel_tool_calls: bool | None = None
    top_k: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # What the client sent that this form has no slot for, each as a short phrase for the
    # `x-gateway-notice` of a translated request ("context_management", "web_search tool").
    left_out: tuple[str, ...] = ()

    def tool_named(self, name: str) -> ToolDef | None:
        """The tool the model called by `name`, if the request declared one."""
        for tool in self.tools:
            if tool.name == name:
                return tool
        return None


@stores_directly
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


@stores_directly
@dataclass(frozen=True)
class MessageStart:
    """The answer begins. `usage` carries what is known up front (input and cache tokens)."""

    id: str
    model: str
    usage: Usage = field(default_factory=Usage)


@stores_directly
@dataclass(frozen=True)
class TextDelta:
    """More text for the content block at `index`."""

    index: int
    text: str


@stores_directly
@dataclass(frozen=True)
class ThinkingDelta:
    index: int
    text: str


@stores_directly
@dataclass(frozen=True)
class ToolCallStart:
    """A tool call begins at content block `index`."""

    index: int
    id: str
    name: str


@stores_directly
@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments."""

    index: int
    arguments: str


@stores_directly
@dataclass(frozen=True)
class MessageEnd:
    """The answer is complete. `usage` is the final total (input, output and cache)."""

    stop_reason: StopReason
    usage: Usage = field(default_factory=Usage)


StreamEvent = MessageStart | TextDelta | ThinkingDelta | ToolCallStart | ToolCallDelta | MessageEnd
