"""Who may use which upstream tool, prompt or resource, and which calls wait for the desk.
Pure code.

The operator (the local user, the holder of the bearer token) may use everything a server
offers except what its `deny` names; a remote principal only what `remote` and `allow` open
(`config.py` says how). Getting a prompt and reading a resource are read-only, so "read-only"
opens them all. A refusal names the setting that would allow the use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from llmgw_desktop.config.upstream_mcp import (
    NAMESPACE_SEPARATOR,
    UpstreamServerConfig,
    offered_uri,
)
from llmgw_desktop.engine.auth.access import Kind, kind_of
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = [
    "ToolRefused",
    "UseKind",
    "is_operator",
    "offers_anything",
    "only_reads",
    "refusal",
    "visible",
]

_OPERATOR_KINDS = frozenset({Kind.LOCAL, Kind.BEARER})

UseKind = Literal["tool", "prompt", "resource"]


class ToolRefused(EngineError):
    """The server's policy refuses this tool, prompt or resource to this principal (the
    details name the setting)."""

    code = ErrorCode.UPSTREAM_TOOL_REFUSED
    http_status = 403


def only_reads(tool: Any) -> bool:
    """Whether a server's tool says it only reads (its `readOnlyHint` annotation)."""
    annotations = getattr(tool, "annotations", None)
    return bool(getattr(annotations, "read_only_hint", False))


def is_operator(principal: Principal | None) -> bool:
    return kind_of(principal) in _OPERATOR_KINDS


def refusal(
    config: UpstreamServerConfig,
    name: str,
    read_only: bool,
    principal: Principal | None,
    kind: UseKind = "tool",
) -> ToolRefused | None:
    """Why `principal` may not use the server's `name` (a tool, a prompt, or a resource's
    URI), or None when it may. A prompt or a resource is always read-only."""
    read_only = read_only or kind != "tool"
    offered = (
        offered_uri(config.name, name)
        if kind == "resource"
        else f"{config.name}{NAMESPACE_SEPARATOR}{name}"
    )
    who = "an unauthenticated caller" if principal is None else principal.id
    details: dict[str, Any] = {
        "server": config.name,
        kind: name,
        "principal": None if principal is None else principal.id,
    }
    if _named(config.deny, name, kind):
        return ToolRefused(
            f"the {kind} {offered} is denied to everyone ({config.key('deny')} names it); "
            "take it out of that list to allow it",
            setting=config.key("deny"),
            **details,
        )
    if is_operator(principal) or _named(config.allow, name, kind):
        return None
    if config.remote == "all" or (config.remote == "read-only" and read_only):
        return None
    if config.remote == "read-only":
        why = "it is not marked read-only by its server, and remote principals get read-only tools"
    else:
        why = "remote principals get none of this server's tools, prompts or resources"
    return ToolRefused(
        f"the {kind} {offered} is not open to {who}: {why} ({config.key('remote')} = "
        f'"{config.remote}"); the operator may add it to {config.key("allow")} or set '
        f'{config.key("remote")} = "all"',
        setting=config.key("remote"),
        remote=config.remote,
        **details,
    )


def offers_anything(config: UpstreamServerConfig, principal: Principal | None) -> bool:
    """Whether `principal` could be offered anything of the server at all, decided without
    starting it: a remote principal gets nothing of a server whose `remote` is "none" and whose
    `allow` is empty (the default), so its use must not start the server (a process spawned,
    or an OAuth sign-in opened in the operator's browser, on a stranger's request)."""
    return is_operator(principal) or config.remote != "none" or bool(config.allow)


def visible(
    config: UpstreamServerConfig,
    name: str,
    read_only: bool,
    principal: Principal | None,
    kind: UseKind = "tool",
) -> bool:
    """Whether a list shows `name` to `principal` (exactly what it may use)."""
    return refusal(config, name, read_only, principal, kind) is None


def _named(entries: Iterable[str], name: str, kind: UseKind) -> bool:
    """Whether an allow or deny list names `name`; a resource entry ending in '*' names every
    URI it begins."""
    for entry in entries:
        if entry == name:
            return True
        if kind == "resource" and entry.endswith("*") and name.startswith(entry[:-1]):
            return True
    return False
