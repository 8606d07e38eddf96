"""What the fake upstream answers (Reply), what it saw (RecordedRequest), and the reply queue."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

ReplyKind = Literal["ok", "error", "cut", "malformed", "slow", "tool_call", "empty"]
Dialect = Literal["anthropic", "responses", "chat", "gemini", "bedrock", "ollama"]

# Usage every answer reports. The numbers differ per field so a test can tell which upstream
# field ended up where after a translation.
ANTHROPIC_INPUT_TOKENS = 12
ANTHROPIC_CACHE_CREATION_TOKENS = 100
ANTHROPIC_CACHE_READ_TOKENS = 200
ANTHROPIC_OUTPUT_TOKENS = 7
# OpenAI (Responses and Chat) and Gemini count cached and reasoning tokens inside the totals.
OPENAI_PROMPT_TOKENS = 312
OPENAI_CACHED_TOKENS = 200
OPENAI_OUTPUT_TOKENS = 9
OPENAI_REASONING_TOKENS = 2
GEMINI_PROMPT_TOKENS = 312
GEMINI_CACHED_TOKENS = 200
GEMINI_CANDIDATES_TOKENS = 7
GEMINI_THOUGHTS_TOKENS = 2
# count_tokens / countTokens answers.
COUNT_TOKENS_ANSWER = 321

DEFAULT_ANSWER = "FAKE-OK"
DEFAULT_CALL_ID = "call_fake_1"
# The last user text quoted in an answer is cut here: CLIs may send whole files as prompts.
LAST_USER_MAX_CHARS = 200

# Used when Reply.error() gets no message; close to what the real APIs say, marked "(fake)".
DEFAULT_ERROR_MESSAGES: Final[Mapping[int, str]] = {
    400: "Invalid request (fake)",
    401: "Invalid API key (fake)",
    403: "Permission denied (fake)",
    404: "Model not found (fake)",
    429: "Rate limit reached for requests (fake)",
    500: "Internal server error (fake)",
    502: "Bad gateway (fake)",
    503: "Service unavailable (fake)",
    529: "Overloaded (fake)",
}


class Pieces(str):
    """An answer's text that streams as exactly these deltas (split anywhere, mid-word: as the
    APIs split tokens), where other text is split at spaces (`sse.split_text`)."""

    pieces: tuple[str, ...]

    def __new__(cls, pieces: tuple[str, ...]) -> Pieces:
        text = super().__new__(cls, "".join(pieces))
        text.pieces = pieces
        return text


@dataclass(frozen=True)
class ToolCall:
    """One tool (function) call an answer asks the client to run."""

    name: str
    # Left out of the hash (a dict has none) but compared: replies stay usable as set members.
    arguments: Mapping[str, Any] = field(hash=False)
    call_id: str = DEFAULT_CALL_ID

    @property
    def arguments_json(self) -> str:
        """The arguments as the compact JSON string the OpenAI APIs carry."""
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))


# The members a whole answer says its usage in, in each wire the fake speaks.
USAGE_MEMBERS = frozenset({"usage", "usageMetadata", "prompt_eval_count", "eval_count"})


def without_usage(answer: Any) -> Any:
    """`answer` with the vendor's usage left out, wherever it says it."""
    if isinstance(answer, dict):
        return {k: without_usage(v) for k, v in answer.items() if k not in USAGE_MEMBERS}
    if isinstance(answer, list):
        return [without_usage(v) for v in answer]
    return answer


@dataclass(frozen=True)
class Reply:
    """What the next LLM call gets.

    kind "ok" answers normally (after delay_s), "error" answers `status` in the caller's
    dialect, "cut" drops the connection mid-answer, "malformed" sends a 200 whose data does
    not parse, "slow" is "ok" with a delay_s of silence before the first byte, "tool_call"
    answers `text` (if any) and then the one tool call in `call`.
    """

    kind: ReplyKind = "ok"
    text: str = DEFAULT_ANSWER
    delay_s: float = 0.0
    status: int = 200
    message: str = ""
    retry_after_s: float | None = None
    # When False the answer text appends what the request carried (message count and last
    # user text), so a test can see whether history reached the upstream.
    verbatim: bool = False
    # The tool call a "tool_call" reply makes; None for every other kind.
    call: ToolCall | None = None
    # A "cut" stream's: it stops whole after the frame that says how the answer finished, not
    # mid-event after the first delta (`Reply.cut`).
    after_finish: bool = False
    # A stream's body has neither a length nor chunks: its end is the connection's close, so
    # a cut one ends as cleanly as a whole one (`Reply.cut`).
    unframed: bool = False
    # Headers this reply adds (the rate-limit headers a real API sends with each answer).
    headers: tuple[tuple[str, str], ...] = ()
    # The text deltas a stream of this reply sends exactly (`Reply.in_pieces`); () splits
    # the text at spaces.
    pieces: tuple[str, ...] = ()
    # False: a whole answer leaves the vendor's usage out (a compatible server that does not
    # report it), whichever kind of call it answers (`Reply.without_usage`).
    usage: bool = True
    # Text written otherwise on the wire, in every body and event of the answer (`Reply.spelled`).
    spellings: tuple[tuple[str, str], ...] = ()

    def without_usage(self) -> Reply:
        """This reply, its whole answer without the vendor's usage."""
        return dataclasses.replace(self, usage=False)

    def with_headers(self, **headers: str) -> Reply:
        """This reply with more headers (`x_ratelimit_remaining_requests="3"`: underscores
        become dashes)."""
        added = tuple((name.replace("_", "-"), value) for name, value in headers.items())
        return dataclasses.replace(self, headers=self.headers + added)

    def spelled(self, text: str, wire: str) -> Reply:
        """This reply with `text`, where its answer's JSON holds it, written as `wire` (the
        same text in JSON escapes a client's decoder reads back: `\\u0041` for `A`)."""
        return dataclasses.replace(self, spellings=(*self.spellings, (text, wire)))

    def on_wire(self, data: bytes) -> bytes:
        """`data` (a body or one event as the fake writes it) with the reply's spellings."""
        for text, wire in self.spellings:
            data = data.replace(text.encode(), wire.encode())
        return data

    @classmethod
    def ok(
        cls, text: str = DEFAULT_ANSWER, delay_s: float = 0.0, *, verbatim: bool = False
    ) -> Reply:
        """A normal answer; `verbatim=True` sends `text` without the appended facts."""
        return cls("ok", text=text, delay_s=delay_s, verbatim=verbatim)

    @classmethod
    def in_pieces(cls, *pieces: str) -> Reply:
        """A normal answer of these pieces joined, verbatim, streamed as exactly these text
        deltas (a word, or a key, split across them)."""
        return cls("ok", text="".join(pieces), verbatim=True, pieces=pieces)

    @classmethod
    def error(cls, status: int, message: str = "", retry_after_s: float | None = None) -> Reply:
        """An HTTP error in the caller's dialect; retry_after_s adds retry-after headers."""
        return cls(
            "error",
            status=status,
            message=message or DEFAULT_ERROR_MESSAGES.get(status, f"Error {status} (fake)"),
            retry_after_s=retry_after_s,
        )

    @classmethod
    def cut(cls, *, after_finish: bool = False, unframed: bool = False) -> Reply:
        """A 200 whose body stops mid-event, then the connection closes.

        `after_finish`: a stream stops after the frame that says how its answer finished
        (OpenAI Chat's finish_reason chunk, Anthropic's message_delta, Bedrock's messageStop),
        before what ends it (the usage chunk and `[DONE]`, message_stop, the metadata).
        `unframed`: the stream's body is delimited by the connection's close (no length, no
        chunks, as an HTTP/1.0 server or some proxies send it), so the reader sees a clean
        end, not a broken one.
        """
        return cls("cut", after_finish=after_finish, unframed=unframed)

    @classmethod
    def empty(cls) -> Reply:
        """A 200 whose connection closes before any of its body: an upstream that fails before
        its first frame (whole or streamed, any kind of call)."""
        return cls("empty")

    @classmethod
    def malformed(cls) -> Reply:
        """A 200 whose JSON (or SSE data) does not parse."""
        return cls("malformed")

    @classmethod
    def slow(cls, delay_s: float, text: str = DEFAULT_ANSWER) -> Reply:
        """A normal answer after delay_s of silence before the first byte."""
        return cls("slow", text=text, delay_s=delay_s)

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: Mapping[str, Any],
        *,
        text: str = "",
        call_id: str = DEFAULT_CALL_ID,
    ) -> Reply:
        """An answer that says `text` (sent verbatim, may be empty) and then calls one tool.

        Raises:
            TypeError: `arguments` is not JSON-serialisable.
        """
        # The round trip copies the caller's dict (later edits do not change the script) and
        # fails here, not mid-answer, on values JSON cannot carry.
        copied = json.loads(json.dumps(dict(arguments)))
        call = ToolCall(name=name, arguments=copied, call_id=call_id)
        return cls("tool_call", text=text, verbatim=True, call=call)

    def answer_text(self, message_count: int, last_user: str) -> str:
        """The text an ok answer carries for a request with these facts."""
        if self.pieces:
            return Pieces(self.pieces)
        if self.verbatim:
            return self.text
        quoted = last_user[:LAST_USER_MAX_CHARS]
        return f"{self.text} msgs={message_count} last_user={quoted!r}"


@dataclass
class RecordedRequest:
    """One request as the fake saw it; secrets in headers and query are redacted."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    # Which API family the path belongs to; None for paths the fake does not know.
    dialect: Dialect | None
    # What the path asks for, e.g. "messages", "count_tokens", "models", "unknown".
    endpoint: str
    arrived_at: float
    # The scripted reply applied; None for calls that are not LLM calls (lists, counts).
    reply: Reply | None = None
    stream: bool = False
    # A digest of each secret header's value (`secret_digests`): two requests can be shown to
    # carry the same credential without the credential being kept.
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def is_llm(self) -> bool:
        """True for calls that consumed a scripted reply."""
        return self.reply is not None


SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "proxy-authorization",
        "x-goog-user-project",
    }
)
SECRET_QUERY_KEYS = frozenset({"key", "api_key"})


def redact_headers(headers: Any) -> dict[str, str]:
    """Headers as a dict with lower-case names, secret values replaced by their length."""
    out: dict[str, str] = {}
    for raw_name, value in headers.items():
        # Clients differ in how they capitalise names; lower case makes lookups predictable.
        name = raw_name.lower()
        if name in SECRET_HEADERS:
            value = f"<redacted {len(value)} chars>"
        # A repeated header keeps every value, as HTTP allows folding them with commas.
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def secret_digests(headers: Any) -> dict[str, str]:
    """Each secret header (lower-case name) -> the first 16 hex digits of its value's SHA-256."""
    return {
        name.lower(): hashlib.sha256(value.encode()).hexdigest()[:16]
        for name, value in headers.items()
        if name.lower() in SECRET_HEADERS
    }


def redact_query(query: Any) -> dict[str, str]:
    """Query parameters as a plain dict, API keys redacted."""
    return {k: ("<redacted>" if k.lower() in SECRET_QUERY_KEYS else v) for k, v in query.items()}


def offered_tools(body: Any) -> set[str]:
    """The names of the tools a request offers the model, in any of the four dialects and
    Bedrock's Converse (Responses namespaces count by their members' names too)."""
    if not isinstance(body, dict):
        return set()
    names: set[str] = set()
    config = body.get("toolConfig")  # Bedrock's Converse
    for tool in (config.get("tools") or []) if isinstance(config, dict) else []:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            names.add(spec["name"])
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.add(function["name"])  # OpenAI Chat
        if isinstance(tool.get("name"), str):
            names.add(tool["name"])  # Anthropic, Responses
        for member in tool.get("tools") or []:  # a Responses namespace
            if isinstance(member, dict) and isinstance(member.get("name"), str):
                names.add(member["name"])
        for decl in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
            if isinstance(decl, dict) and isinstance(decl.get("name"), str):
                names.add(decl["name"])  # Gemini
    return names
