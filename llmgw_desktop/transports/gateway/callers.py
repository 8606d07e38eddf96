"""Who is calling and for which project, from headers and body, checked once at the door."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from llmgw_desktop.engine.api import InvalidRequest, Principal, known_secrets, redact

if TYPE_CHECKING:  # the stdio relay imports this module, and needs no multidict
    from multidict import CIMultiDictProxy

__all__ = [
    "PROJECT_HEADER",
    "SESSION_HEADER",
    "agent_name",
    "cache_control",
    "caller_name",
    "checked_project",
    "clean_caller",
    "client_session",
    "explicit_caller",
    "project_scope",
    "session_named",
]

CALLER_HEADER = "X-Caller"
# OpenRouter's app attribution (openrouter.ai/docs/app-attribution), sent by clients written
# for it (aider, Continue, many SDK wrappers): the app's name, newer spelling second; its site.
_TITLE_HEADERS = ("X-Title", "X-OpenRouter-Title")
_REFERER_HEADER = "HTTP-Referer"
PROJECT_HEADER = "X-Project"
# The conversation a request to a CLI model (`claude-cli/...`) continues: a gateway session
# (`gw-...`) or the CLI's own session id. Without it every such request starts a fresh one.
SESSION_HEADER = "X-Session-Id"
# The session id a coding tool sends with every request of one of its sessions, by tool:
# Claude Code's, then Codex's (tests/fixtures/clients/ keeps what each sends; the Gemini CLI
# sends none with an API key).
CLIENT_SESSION_HEADERS = ("X-Claude-Code-Session-Id", "session-id")
# What a client's session id may be: an id (a UUID, a ULID, a CLI's own), never markup or a
# line; anything else is not kept.
_CLIENT_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
_PROJECT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
# Distinct (X-Caller, User-Agent) pairs whose caller name is remembered: a team's tools and
# their versions fit; past it the least recently seen is computed again.
_REMEMBERED_CALLERS = 512
# Longer pairs (no real tool's) are named afresh each time: the memory stays bounded (256 KiB).
_REMEMBERED_LENGTH = 512
_CALLER = re.compile(r"[^\w .:/@+()-]")


class _Names(NamedTuple):
    """The header names `caller_name` reads, as multidict's `istr` (`_names`)."""

    caller: str
    titles: tuple[str, ...]
    referer: str
    agent: str


@functools.cache
def _names() -> _Names:
    """The names `caller_name` looks up in a request's headers (five, most of them absent), as
    `istr`: multidict folds a `str` name's case and hashes it again at each lookup (about 500
    instructions a header), an `istr`'s once. A plain dict of headers finds them as it finds
    the `str` (same hash, equal). Made when first asked, by a request's headers: the stdio
    relay imports this module and must not load multidict. Asking costs about as much as one
    lookup saves, so the functions that read one header name it as a `str`."""
    from multidict import istr

    return _Names(
        caller=istr(CALLER_HEADER),
        titles=tuple(map(istr, _TITLE_HEADERS)),
        referer=istr(_REFERER_HEADER),
        agent=istr("User-Agent"),
    )


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
    ("dspy/", "dspy"),  # DSPy through LiteLLM (its own client, lm15, says only `lm15`)
    ("google-genai-sdk", "google-genai"),
    ("anthropic/python", "anthropic-python"),
    ("anthropic/js", "anthropic-js"),
    ("openai/python", "openai-python"),
    ("openai/js", "openai-js"),
    ("curl/", "curl"),
)
# Any of `_AGENTS`' needles, found in one scan: most agents are none of them, and the loop
# (which keeps the table's order when several are there) runs only when one is.
_ANY_AGENT = re.compile("|".join(re.escape(needle) for needle, _ in _AGENTS))


def caller_name(headers: Mapping[str, str]) -> str:
    """Who is calling, by the first of: `X-Caller`; the app name OpenRouter's attribution
    headers give (`X-Title`, `X-OpenRouter-Title`, else `HTTP-Referer`'s host), which clients
    built for OpenRouter send; a name recognised from the user agent, else its product."""
    names = _names()
    explicit = headers.get(names.caller, "") or _attributed(headers, names)
    agent = headers.get(names.agent, "")
    if len(explicit) + len(agent) > _REMEMBERED_LENGTH:
        return _named.__wrapped__(explicit, agent, known_secrets.version)
    return _named(explicit, agent, known_secrets.version)


def _attributed(headers: Mapping[str, str], names: _Names) -> str:
    """The app an OpenRouter attribution names: its title, else its site's host."""
    for name in names.titles:
        if title := headers.get(name, "").strip():
            return title
    referer = headers.get(names.referer, "").strip()
    if not referer:
        return ""
    host = urlsplit(referer if "//" in referer else f"//{referer}").hostname or ""
    return host.removeprefix("www.")


@functools.lru_cache(maxsize=_REMEMBERED_CALLERS)
def _named(explicit: str, agent: str, secrets_version: int) -> str:
    """`caller_name` of the given name (`X-Caller` or an attribution) and the user agent: a
    client sends the same ones on every request, so the scan and the redaction run once per
    pair rather than per request (and again once the process knows a secret more:
    `secrets_version`)."""
    return clean_caller(explicit) or _agent_named(agent)


def explicit_caller(headers: Mapping[str, str]) -> str:
    """The name the client gave itself in `X-Caller`, or ""."""
    return clean_caller(headers.get(CALLER_HEADER, ""))


def agent_name(headers: Mapping[str, str]) -> str:
    """A well-known tool's name recognised from the user agent, else the agent's product."""
    return _agent_named(headers.get("User-Agent", ""))


def _agent_named(agent: str) -> str:
    agent = agent.strip()
    lowered = agent.lower()
    if _ANY_AGENT.search(lowered):
        for needle, name in _AGENTS:
            if needle in lowered:
                return name
    return clean_caller(agent.split(" ", 1)[0].split("/", 1)[0])


def clean_caller(name: str) -> str:
    """A caller's name as the gateway keeps it: printable, short, no markup.

    Secrets are masked first: the character filter could join a key to the word before it
    (`key=sk-...` becomes `keysk-...`), and the cut could leave part of one, where the redactor
    would no longer see it.
    """
    name = name.strip()
    if not name:  # no X-Caller, or no user agent: nothing to mask or filter
        return ""
    return _CALLER.sub("", redact(name))[:80]


def cache_control(headers: CIMultiDictProxy[str]) -> str:
    """The request's `Cache-Control` directives, every line of it: HTTP joins repeated lines
    with commas, and a `no-store` on the second line is as much the client's as on the
    first."""
    return ", ".join(headers.getall("Cache-Control", ()))


def session_named(headers: Mapping[str, str]) -> str | None:
    """The session `X-Session-Id` names (checked by the engine like `sessionId`), or None."""
    return headers.get(SESSION_HEADER, "").strip() or None


def client_session(headers: Mapping[str, str]) -> str | None:
    """The session the client named (`CLIENT_SESSION_HEADERS`, first found), or None when it
    named none or something that is no id."""
    for name in CLIENT_SESSION_HEADERS:
        value = headers.get(name, "").strip()
        if value:
            return value if _CLIENT_SESSION.fullmatch(value) else None
    return None


def project_scope(
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None,
    proven: Principal | None = None,
) -> str | None:
    """The project whose credentials a request uses: the one its credential pins (a
    connection key issued for a job: its model calls count on the job's project, whatever
    they name), else body `project`, which beats `X-Project`.

    Raises:
        InvalidRequest: the project name is not a plain identifier.
    """
    if proven is not None and proven.job:
        return proven.project
    if body is not None and "project" in body:
        return checked_project(body["project"], "project")
    return checked_project(headers.get(PROJECT_HEADER), PROJECT_HEADER)


def checked_project(value: Any, source: str) -> str | None:
    """`value` as a project name (None when absent or empty); `source` names it in the error.

    Raises:
        InvalidRequest: the project name is not a plain identifier.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _PROJECT.fullmatch(value):
        raise InvalidRequest(
            f"{source}: a project name is letters, digits, '.', '_' or '-' (at most 64)",
            param=source,
        )
    return value
