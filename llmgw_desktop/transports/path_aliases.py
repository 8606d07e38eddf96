"""The paths other gateways' users already have in their settings, served as ours.

People come from other gateways with base URLs that carry those gateways' own paths. Bifrost
serves each vendor's API under a prefix (`http://host/openai` or `/openai/v1` for OpenAI's SDKs
and Codex, `/anthropic` for Anthropic's, `/genai` for google-genai); CliGate serves Codex's
ChatGPT backend path (`/backend-api/codex/responses`). Each of those paths is another name of
a route of ours: mounted with the same handler (`add_route`) and given a copy of that route's
door (`doors.py`), so it passes every rule the route does (Host, Origin, size, media type,
credential and its key places, access, the error envelope). Rules that read the path itself
read the path of ours it names (`ours`).

Only the paths listed here are served: a prefix is another name for the routes it covers, not
a second gateway behind it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING

# Type-only: the door table reads these paths in the stdio relay, which must start without
# the HTTP server stack (tests/test_startup_imports.py).
if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["PATH_ALIASES", "add_route", "aliases_of", "ours"]

_OPENAI = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/models",
    "/v1/models/{model}",
)
_ANTHROPIC = ("/v1/messages", "/v1/messages/count_tokens", "/v1/models", "/v1/models/{model}")
_GEMINI = ("/v1beta/models/{target}", "/v1beta/models", "/v1beta/models/{model}")

# (the other gateway's prefix, the prefix of ours it stands for, the paths of ours it covers).
PATH_ALIASES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # Bifrost's OpenAI integration: Codex's base URL set for it (`/openai/v1`), and the
    # OpenAI SDK's as its docs write it (`/openai`, the SDK adding `/chat/completions`).
    ("/openai/v1", "/v1", _OPENAI),
    ("/openai", "/v1", _OPENAI),
    # Bifrost's Anthropic integration: the Anthropic SDK's base URL `http://host/anthropic`.
    ("/anthropic/v1", "/v1", _ANTHROPIC),
    # Bifrost's GenAI integration: google-genai's base URL `http://host/genai`, under the API
    # version the SDK adds (`v1beta`, or `v1` where it is set or defaults to it).
    ("/genai/v1beta", "/v1beta", _GEMINI),
    ("/genai/v1", "/v1", ("/v1/models/{target}", "/v1/models", "/v1/models/{model}")),
    # CliGate's (and ChatGPT's) Codex backend, where Codex signed in with ChatGPT posts.
    ("/backend-api/codex", "/v1", ("/v1/responses",)),
)

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]
_PARAMETER = re.compile(r"\{(\w+)(?::[^{}]*)?\}")


def _canonical(pattern: str) -> str:
    """A route pattern as aiohttp names its path (`{model:.+}` is `{model}`)."""
    return _PARAMETER.sub(r"{\1}", pattern)


def aliases_of(pattern: str) -> tuple[str, ...]:
    """The other paths (patterns, where `pattern` is one) a route of ours is served at."""
    canonical = _canonical(pattern)
    return tuple(
        prefix + pattern[len(mine) :]
        for prefix, mine, covered in PATH_ALIASES
        if canonical in covered and pattern.startswith(mine)
    )


@cache
def _covered(paths: tuple[str, ...]) -> re.Pattern[str]:
    """A request path that one of `paths` (canonical route paths) would match."""
    # `split` gives the static parts at even places, the parameters' names at odd ones.
    one = "|".join(
        "".join(re.escape(part) if i % 2 == 0 else ".+" for i, part in enumerate(pieces))
        for pieces in (_PARAMETER.split(p) for p in paths)
    )
    return re.compile(f"(?:{one})")


def ours(path: str) -> str:
    """A request's path as the path of ours it is another name of (itself when none)."""
    for prefix, mine, covered in PATH_ALIASES:
        if path.startswith(prefix + "/"):
            candidate = mine + path[len(prefix) :]
            if _covered(covered).fullmatch(candidate):
                return candidate
    return path


def add_route(app: web.Application, method: str, pattern: str, handler: Handler) -> None:
    """Mount `handler` for `method` at `pattern` and at each of its other names (a GET
    answers HEAD too, as `add_get` mounts it)."""
    for path in (pattern, *aliases_of(pattern)):
        if method == "GET":
            app.router.add_get(path, handler)
        else:
            app.router.add_route(method, path, handler)
