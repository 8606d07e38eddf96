"""What kind of call a recorder row was, read from its `tool` (the route a gateway request
came through, the MCP tool or the engine's own call): an embedding, a text completion (fill
in the middle), or a chat (every other row: the chat dialects, the CLIs' jobs, MCP tools).

The kind is named by the route, so it needs no column of its own: the routes of each kind are
listed here once, and the desk's filter and counts read this table. Filtering by kind is a
condition on `tool` (`tool IN (...)`), which has no index: a page of a kind reads the time
index until it has its rows, quick while that kind is common in the range shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "KIND_CHAT",
    "KIND_COMPLETION",
    "KIND_EMBEDDING",
    "REQUEST_KINDS",
    "kind_condition",
    "kind_of",
]

KIND_CHAT = "chat"
KIND_EMBEDDING = "embedding"
KIND_COMPLETION = "completion"
REQUEST_KINDS = (KIND_CHAT, KIND_EMBEDDING, KIND_COMPLETION)
# The recorder's `tool` of each route that is not a chat (the route's path, as the front doors
# name it in `CallerInfo.endpoint`; `engine:embed` is the engine's own call).
_TOOLS: dict[str, tuple[str, ...]] = {
    KIND_EMBEDDING: (
        "/v1/embeddings",
        "gemini:embedContent",
        "gemini:batchEmbedContents",
        "/api/embed",
        "/api/embeddings",
        "engine:embed",
    ),
    KIND_COMPLETION: ("/v1/completions", "ollama:fim"),
}
_KIND_OF = {tool: kind for kind, tools in _TOOLS.items() for tool in tools}


def kind_of(tool: str | None) -> str:
    """The kind of a row whose `tool` is `tool`."""
    return _KIND_OF.get(tool or "", KIND_CHAT)


def kind_condition(kind: str) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) of the rows of `kind`; one no row meets for a
    word that is no kind (typed in the desk's box, as an unknown model matches nothing)."""
    if kind not in REQUEST_KINDS:
        return "1 = 0", []
    if kind == KIND_CHAT:
        others = [tool for tools in _TOOLS.values() for tool in tools]
        return f"tool NOT IN ({_marks(others)})", others
    tools = list(_TOOLS[kind])
    return f"tool IN ({_marks(tools)})", tools


def _marks(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)
