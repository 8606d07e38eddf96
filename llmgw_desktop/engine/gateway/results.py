"""What the gateway hands back to a front door: a whole answer, a stream, or a token count,
and who asked (`CallerInfo`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from llmgw_desktop.config.api_catalog import DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.records.report import RouteReport
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.engine.values import stores_directly

if TYPE_CHECKING:
    from llmgw_desktop.engine.auth.principals import Principal
    from llmgw_desktop.engine.gateway.relay import StreamOutcome

__all__ = [
    "OPENAI_DIALECTS",
    "CallerInfo",
    "Completed",
    "EndingChunks",
    "Streaming",
    "TokenCount",
    "close_chunks",
]

T = TypeVar("T")

# The dialects whose answers carry the `x_gateway` object.
OPENAI_DIALECTS = (DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES)


@stores_directly
@dataclass(frozen=True)
class CallerInfo:
    """Who is asking, through which endpoint, under which project scope."""

    principal: str
    caller: str = ""
    project: str | None = None
    endpoint: str = ""
    transport: str = "http"
    passthrough_headers: Mapping[str, str] = field(default_factory=dict)
    # The request's query string (`beta=true` on Claude Code's `/v1/messages`): what of it
    # the client's dialect defines goes on to an upstream of that dialect (`forwardable_query`).
    passthrough_query: str = ""
    # For CLI targets: the registered workspace the CLI runs in (`X-Workspace`).
    workspace: str | None = None
    # For CLI targets: the conversation to continue (`X-Session-Id`); None starts a fresh one.
    session_id: str | None = None
    # The session the client itself named (Claude Code's `X-Claude-Code-Session-Id`, Codex's
    # `session-id`): its row keeps it, so a session's requests, tokens and cost group.
    client_session: str | None = None
    # The request's `Cache-Control` header: `no-cache` or `no-store` keep it from the response
    # cache's answers (`engine/response_cache/`).
    cache_control: str = ""
    # The recorder row this request re-sends to another model (the desk's playground only:
    # no front door sets it).
    replay_of: str | None = None
    # Where a desk caller hears the id of each row its request opens, one an attempt (no front
    # door sets it): an answer stopped before it began still names its row.
    opened_rows: list[str] | None = None
    # The caller as its credential proved it: an agent a CLI target starts calls its models
    # back as it (`auth/agent_callbacks.py`).
    proven: Principal | None = None

    def row_opened(self, record: str) -> None:
        """Tell a desk caller that its request opened the row `record` (an attempt's, a CLI
        call's): `opened_rows`, where it listens."""
        if self.opened_rows is not None:
            self.opened_rows.append(record)


@stores_directly
@dataclass(frozen=True)
class Completed:
    """A whole answer in the client's dialect: rendered (`body`), or the upstream's own bytes
    (`raw`) when the upstream speaks the client's dialect, with the upstream's headers."""

    body: dict[str, Any] | None
    route: RouteReport
    usage: Usage
    raw: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # `raw` before the gateway's own `x_gateway` was spliced in (what the response cache keeps).
    bare: bytes | None = None

    def json(self) -> dict[str, Any]:
        """The answer as an object, whichever way it was made.

        Raises:
            ValueError: a relayed answer is not a JSON object.
        """
        if self.body is not None:
            return self.body
        value = jsonio.loads(self.raw or b"")
        if not isinstance(value, dict):
            raise ValueError("the answer is not a JSON object")
        return value

    def payload(self) -> bytes:
        """The bytes to send the client."""
        return self.raw if self.raw is not None else jsonio.dumps(self.body)


@stores_directly
@dataclass(frozen=True)
class TokenCount:
    """Input tokens of a request: counted by the upstream (`exact`), or estimated here."""

    tokens: int
    exact: bool
    # Who counted (`provider/model`), or why it is an estimate.
    source: str = ""
    # The upstream's own answer, when it speaks the client's dialect (relayed as it came).
    body: dict[str, Any] | None = None


@stores_directly
@dataclass(frozen=True)
class Streaming:
    """An answer being streamed: headers can go out now, `chunks` are the body. `headers` are
    the upstream's, relayed when it speaks the client's dialect."""

    route: RouteReport
    chunks: AsyncIterator[bytes]
    headers: Mapping[str, str] = field(default_factory=dict)
    # What the stream's end says (completed, broken, its usage) once its chunks have ended;
    # None for streams that do not tell (a CLI's).
    outcome: StreamOutcome | None = None

    def with_chunks(self, chunks: AsyncIterator[bytes]) -> Streaming:
        """The same answer with its body read through `chunks` (a hold released at their end,
        a copy kept, secrets masked): what every wrapper of a stream makes, several a request,
        so made directly (`dataclasses.replace` reads the fields' list each time)."""
        return Streaming(self.route, chunks, self.headers, self.outcome)


async def close_chunks(chunks: AsyncIterator[Any]) -> None:
    """Close a stream's `chunks` where they can be (a generator, the upstream's body): what a
    wrapper of them (a hold kept, a body captured, a stream kept in the cache) does on its
    own `aclose`, so the connection under them is let go."""
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


class EndingChunks(Generic[T]):
    """A stream's chunks (its bytes, or a kind's pieces: an async generator whose `finally` ends
    the stream, its row counted and its upstream let go) that run `end` instead when they are
    closed before the first chunk was asked for. An async generator's `finally` does not run
    then, and that happens: a client that leaves after the answer's headers were chosen but
    before they were written makes the front door close chunks it never read. Without `end` the
    row stayed open, the call's spend uncounted and the upstream's connection held."""

    __slots__ = ("_chunks", "_end", "_started")

    def __init__(self, chunks: AsyncIterator[T], end: Callable[[], Awaitable[None]]) -> None:
        self._chunks = chunks
        self._end = end
        self._started = False

    def __aiter__(self) -> EndingChunks[T]:
        return self

    def __anext__(self) -> Awaitable[T]:
        self._started = True
        return self._chunks.__anext__()

    async def aclose(self) -> None:
        try:
            await close_chunks(self._chunks)
        finally:
            if not self._started:
                self._started = True  # ended once
                await self._end()
