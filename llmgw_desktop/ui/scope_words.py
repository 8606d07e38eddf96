"""An OAuth scope in words, said one way wherever the desk shows one: the consent dialog that
asks for it, the Clients page's waiting requests and the grants it gave. The grants said
"mcp" where the dialog had asked to "Use this gateway's MCP tools and its model APIs"
(review 41-3): one table of words, read by all three. No Qt."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SCOPE_WORDS", "scope_names", "scope_words"]

SCOPE_WORDS = {
    "mcp": "Use this gateway's MCP tools and its model APIs",
    "workspace:admin": "Create and register workspaces",
}


def scope_words(scopes: Iterable[str]) -> list[str]:
    """Each scope in words, in order (one the table does not know by its name)."""
    return [SCOPE_WORDS.get(scope, scope) for scope in scopes]


def scope_names(scopes: Iterable[str]) -> str:
    """`Scopes: mcp workspace:admin`: the names a client asked for (a tooltip's line)."""
    return "Scopes: " + " ".join(scopes)
