"""Who may call which upstream tool, and which calls wait for the desk. Pure code.

The operator (the local user, the holder of the bearer token) may call every tool a server
offers except those in its `deny`; a remote principal only what `remote` and `allow` open
(`config.py` says how). A refusal names the setting that would allow the call.
"""

from __future__ import annotations

from llmgw_desktop.config.upstream_mcp import UpstreamServerConfig
from llmgw_desktop.engine.auth.access import Kind, kind_of
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = ["ToolRefused", "is_operator", "refusal", "visible"]

_OPERATOR_KINDS = frozenset({Kind.LOCAL, Kind.BEARER})


class ToolRefused(EngineError):
    """The server's policy refuses this tool to this principal (the details name the setting)."""

    code = ErrorCode.UPSTREAM_TOOL_REFUSED
    http_status = 403


def is_operator(principal: Principal | None) -> bool:
    return kind_of(principal) in _OPERATOR_KINDS


def refusal(
    config: UpstreamServerConfig, tool: str, read_only: bool, principal: Principal | None
) -> ToolRefused | None:
    """Why `principal` may not call `tool` of the server, or None when it may."""
    offered = f"{config.name}__{tool}"
    who = "an unauthenticated caller" if principal is None else principal.id
    if tool in config.deny:
        return ToolRefused(
            f"{offered} is denied to everyone ({config.key('deny')} names it); take it out of "
            "that list to allow it",
            setting=config.key("deny"),
            server=config.name,
            tool=tool,
            principal=None if principal is None else principal.id,
        )
    if is_operator(principal) or tool in config.allow:
        return None
    if config.remote == "all" or (config.remote == "read-only" and read_only):
        return None
    if config.remote == "read-only":
        why = "it is not marked read-only by its server, and remote principals get read-only tools"
    else:
        why = "remote principals get none of this server's tools"
    return ToolRefused(
        f"{offered} is not open to {who}: {why} ({config.key('remote')} = "
        f'"{config.remote}"); the operator may add it to {config.key("allow")} or set '
        f'{config.key("remote")} = "all"',
        setting=config.key("remote"),
        server=config.name,
        tool=tool,
        remote=config.remote,
        principal=None if principal is None else principal.id,
    )


def visible(
    config: UpstreamServerConfig, tool: str, read_only: bool, principal: Principal | None
) -> bool:
    """Whether `tools/list` shows `tool` to `principal` (exactly the tools it may call)."""
    return refusal(config, tool, read_only, principal) is None
