"""The words of the trade a newcomer meets in the window, each said in plain words once.

A list's heading or a form's label that uses one of them gets its meaning as a tooltip
(`tidy_tables` gives it to every table's and tree's heading; a form asks `meaning`), so
"Circuit", "p50 / p95" or "Principal" are one hover from what they mean wherever they appear.
No Qt here.
"""

from __future__ import annotations

__all__ = ["TERMS", "meaning", "who_words"]

TERMS = {
    "Circuit": (
        "After several failures in a row the gateway stops calling a provider for a while "
        "(the circuit is open), then lets one call through to see whether it works again."
    ),
    "p50 / p95": (
        "How long calls took: half took less than the first time (p50, the median), "
        "95 in 100 less than the second (p95, the slow ones)."
    ),
    "Runs as": (
        "Who a request ran as: you at this desk, the master token, an access key, or an "
        "OAuth client signed in. Budgets and the recorder count each apart."
    ),
    "Caller": "The tool that sent the request, as it named itself (claude-code, codex, …).",
    "Front door": "How the request came in: the HTTP gateway, MCP, ACP or this window.",
    "Transport": "How the request came in: the HTTP gateway, MCP, ACP or this window.",
    "Cache read": (
        "Prompt tokens the provider read from its own cache: cheaper and faster than new ones."
    ),
    "Cache write": "Prompt tokens the provider stored in its cache for the next requests.",
    "Kind": (
        "API: a vendor's web API; CLI: a coding tool run on this computer; local: a model "
        "server on this computer."
    ),
}


# How each kind of caller identity reads (the engine's ids: `local`, `gateway-bearer`,
# `key:<name>`, `oauth:<client>`, `user:<name>`).
_WHO = {"local": "you at this desk", "gateway-bearer": "the master token"}
_WHO_KINDS = {
    "key": "access key {}",
    "oauth": "OAuth client {}",
    "user": "user {}, named by the trusted proxy",
}


def who_words(principal: str) -> str:
    """Who a request ran as, in plain words: `you at this desk`, `the master token`,
    `access key ci-bot`, `OAuth client laptop-editor`; an id of no known kind as it is."""
    if principal in _WHO:
        return _WHO[principal]
    kind, _, name = principal.partition(":")
    shape = _WHO_KINDS.get(kind)
    return shape.format(name) if shape and name else principal


def caller_words(caller: str, principal: str) -> str:
    """The client that sent a request and whom it runs as, as a person reads it: `cursor (run
    by you)`, `cursor (access key ci-bot)`; with no client named, `you`, `the master token`."""
    if principal == "local":
        return f"{caller} (run by you)" if caller else "you"
    who = who_words(principal)
    return f"{caller} ({who})" if caller else who


def meaning(term: str) -> str:
    """What `term` (a heading's words) means in plain words, or "" when it needs no help."""
    return TERMS.get(term.replace("\n", " ").strip(), "")
