"""Who is calling and for which project, from headers and body, checked once at the door."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.redact import redact

__all__ = ["caller_name", "project_scope"]

CALLER_HEADER = "X-Caller"
PROJECT_HEADER = "X-Project"
_PROJECT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_CALLER = re.compile(r"[^\w .:/@+()-]")
# Well-known user agents, so pins and the recorder name tools the way their users do.
_AGENTS = (
    ("claude-cli/", "claude-code"),
    ("claude-code", "claude-code"),
    ("codex_cli_rs", "codex"),
    ("codex_exec", "codex"),
    ("geminicli", "gemini-cli"),
    ("opencode", "opencode"),
    ("copilot", "copilot"),
    ("grok-cli", "grok-cli"),
    ("cursor", "cursor"),
    ("continue", "continue"),
    ("aider", "aider"),
    ("google-genai-sdk", "google-genai"),
    ("anthropic/python", "anthropic-python"),
    ("anthropic/js", "anthropic-js"),
    ("openai/python", "openai-python"),
    ("openai/js", "openai-js"),
    ("curl/", "curl"),
)


def caller_name(headers: Mapping[str, str]) -> str:
    """`X-Caller` when given, else a name recognised from the user agent, else its product.

    Secrets are masked first: the character filter could join a key to the word before it
    (`key=sk-...` becomes `keysk-...`), and the cut could leave part of one, where the redactor
    would no longer see it.
    """
    explicit = headers.get(CALLER_HEADER, "").strip()
    if explicit:
        return _CALLER.sub("", redact(explicit))[:80]
    agent = headers.get("User-Agent", "").strip()
    lowered = agent.lower()
    for needle, name in _AGENTS:
        if needle in lowered:
            return name
    product = agent.split(" ", 1)[0].split("/", 1)[0]
    return _CALLER.sub("", redact(product))[:80]


def project_scope(headers: Mapping[str, str], body: Mapping[str, Any] | None) -> str | None:
    """The project whose credentials a request uses: body `project` beats `X-Project`.

    Raises:
        InvalidRequest: the project name is not a plain identifier.
    """
    value: Any = None
    if body is not None and "project" in body:
        value = body["project"]
        source = "project"
    else:
        value = headers.get(PROJECT_HEADER)
        source = PROJECT_HEADER
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _PROJECT.match(value):
        raise InvalidRequest(
            f"{source}: a project name is letters, digits, '.', '_' or '-' (at most 64)",
            param=source,
        )
    return value
