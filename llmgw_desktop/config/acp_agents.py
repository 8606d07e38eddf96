"""`[providers.acp.NAME]`: how one ACP agent is started, checked before start-up.

A table changes the shipped entry of the same name (`cli_catalog.py`), or adds an agent the
gateway does not ship when NAME is new (then `command` is required): `command` (a binary name
looked up as the CLIs are, or a path), `args` (what makes it speak ACP on stdio), `env` (names of
this environment's variables it may see beyond its vendor's family, `NAME` or `PREFIX_*`),
`models` (what `list_models` and the HTTP bridge offer for it) and `name` (the name the desk
shows). `provider_catalog.py` turns the tables into the engine's catalog. Pure: imports only the
catalogs and the child environment's names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS, CLI_BRIDGES, switch_id_for
from llmgw_desktop.config.child_env_names import FAMILIES, never_passed
from llmgw_desktop.config.cli_catalog import ACP_PROVIDER_IDS, PROVIDER_IDS

__all__ = ["AcpAgentSpec", "acp_agents_problem", "acp_names_clash", "acp_spec"]

_FIELDS = frozenset({"command", "args", "env", "models", "name"})
# A new agent's name is its switch, its MCP tools' prefix (`NAME_request`) and its bridge's
# (`NAME-cli/MODEL`): lower-case letters, digits and dashes keep all three well formed.
_NEW_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
# Names another provider or the gateway itself answers to.
_TAKEN = frozenset(
    {
        *PROVIDER_IDS,
        *(spec.id for spec in API_PROVIDERS),
        *(switch_id_for(spec.id) for spec in API_PROVIDERS),
        *(bridge.id for bridge in CLI_BRIDGES),
        *FAMILIES,  # npm, pip: the families of the upgrade commands
    }
)


@dataclass(frozen=True)
class AcpAgentSpec:
    """The operator's table for one ACP agent; None keeps the shipped entry's value."""

    command: str | None = None
    args: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    name: str | None = None


def acp_spec(table: Mapping[str, Any], name: str) -> AcpAgentSpec:
    """The spec `[providers.acp.NAME]` gives (an empty spec where there is no table); the table
    is assumed checked by `acp_agents_problem`."""
    entry = table.get(name)
    if not isinstance(entry, Mapping):
        return AcpAgentSpec()
    args = entry.get("args")
    return AcpAgentSpec(
        command=entry.get("command") or None,
        args=None if args is None else tuple(args),
        env=tuple(entry.get("env", ())),
        models=tuple(entry.get("models", ())),
        name=entry.get("name") or None,
    )


def acp_names_clash(acp: Mapping[str, Any], gateway_providers: Mapping[str, Any]) -> str | None:
    """An added agent whose name (or bridge, `NAME-cli`) is also a `[gateway.providers]` id:
    the switches and the routes could not tell them apart. None when none is."""
    for name in acp:
        if name in ACP_PROVIDER_IDS:
            continue
        for taken in (name, f"{name}-cli"):
            if taken in gateway_providers:
                return (
                    f"{name}: [gateway.providers.{taken}] has that name already; rename one of them"
                )
    return None


def acp_agents_problem(value: dict[str, Any]) -> str | None:
    """What is wrong with the `[providers.acp]` tables, naming the agent and field; None when
    nothing is."""
    for name, entry in value.items():
        if not isinstance(entry, Mapping):
            return f"{name}: must be a table (command, args, env, models, name)"
        if name not in ACP_PROVIDER_IDS:
            problem = _new_agent_problem(name, entry)
            if problem:
                return problem
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            return f"{name}: unknown field {unknown[0]!r}; known: {', '.join(sorted(_FIELDS))}"
        for text in ("command", "name"):
            item = entry.get(text, "")
            if not isinstance(item, str) or "\n" in item:
                what = "a program name or path" if text == "command" else "one line of text"
                return f"{name}.{text}: must be {what}"
        for field in ("args", "env", "models"):
            items = entry.get(field, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                return f"{name}.{field}: must be a list of strings"
        for variable in entry.get("env", []):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\*?", variable) or variable == "*":
                return f"{name}.env: {variable!r} is not a variable name (NAME, or PREFIX_*)"
            if never_passed(variable.rstrip("*")):
                return f"{name}.env: {variable!r} is the gateway's own: no agent may see it"
    return None


def _new_agent_problem(name: str, entry: Mapping[str, Any]) -> str | None:
    """What keeps `[providers.acp.NAME]` from adding agent `name`; None when nothing does."""
    if name in PROVIDER_IDS:
        return (
            f"{name!r} is a CLI with an adapter of its own, not an ACP agent; the shipped ACP "
            f"agents are {', '.join(ACP_PROVIDER_IDS)}"
        )
    if name in _TAKEN or name.endswith(("-cli", "-api")):
        return f"{name!r} is taken by another provider; name the agent otherwise"
    if not _NEW_NAME.fullmatch(name):
        return (
            f"{name!r}: an added agent's name is lower-case letters, digits and '-', starting "
            "with a letter (at most 40)"
        )
    if not entry.get("command"):
        return (
            f"{name}: an agent the gateway does not ship needs a command (the program that "
            "speaks ACP on stdio)"
        )
    return None
