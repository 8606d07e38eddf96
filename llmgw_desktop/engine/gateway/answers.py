"""What the gateway hands back to a front door: a whole answer, a stream, or a token count,
and who asked (`CallerInfo`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.gateway.catalog import DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES
from llmgw_desktop.engine.gateway.ir import Usage
from llmgw_desktop.engine.gateway.report import RouteReport

__all__ = ["OPENAI_DIALECTS", "CallerInfo", "Completed", "Streaming", "TokenCount"]

# The dialects whose answers carry the `x_gateway` object.
OPENAI_DIALECTS = (DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES)


@dataclass(frozen=True)
class CallerInfo:
    """Who is asking, through which endpoint, under which project scope."""

    principal: str
    caller: str = ""
    project: str | None = None
    endpoint: str = ""
    transport: str = "http"
    passthrough_headers: Mapping[str, str] = field(default_factory=dict)
    # For CLI targets: the registered workspace the CLI runs in (`X-Workspace`).
    workspace: str | None = None


@dataclass(frozen=True)
class Completed:
    """A whole answer, rendered in the client's dialect."""

    body: dict[str, Any]
    route: RouteReport
    usage: Usage


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool


@dataclass(frozen=True)
class Streaming:
    """An answer being streamed: headers can go out now, `chunks` are the body."""

    route: RouteReport
    chunks: AsyncIterator[bytes]
