"""`[providers.acp.NAME]`: how one ACP agent of the catalog is started, checked before start-up.

A table changes the shipped entry of the same name (`cli_catalog.py`): `command` (a binary name
looked up as the CLIs are, or a path), `args` (what makes it speak ACP on stdio), `env` (names of
this environment's variables it may see beyond its vendor's family, `NAME` or `PREFIX_*`) and
`models` (what `list_models` offers for it). Pure: imports only the catalog and the child
environment's names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.child_env_names import never_passed
from llmgw_desktop.config.cli_catalog import ACP_PROVIDER_IDS

__all__ = ["AcpAgentSpec", "acp_agents_problem", "acp_commands", "acp_spec"]

_FIELDS = frozenset({"command", "args", "env", "models"})


@dataclass(frozen=True)
class AcpAgentSpec:
    """The operator's changes to one shipped ACP agent; None keeps the catalog's value."""

    command: str | None = None
    args: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    models: tuple[str, ...] = ()


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
    )


def acp_commands(table: Mapping[str, Any]) -> dict[str, str]:
    """Each agent's `command` where the operator named one: what discovery looks for."""
    return {name: spec.command for name in table if (spec := acp_spec(table, name)).command}


def acp_agents_problem(value: dict[str, Any]) -> str | None:
    """What is wrong with the `[providers.acp]` tables, naming the agent and field; None when
    nothing is."""
    for name, entry in value.items():
        if name not in ACP_PROVIDER_IDS:
            return (
                f"{name!r} is not an ACP agent the gateway ships; one of "
                f"{', '.join(ACP_PROVIDER_IDS)}"
            )
        if not isinstance(entry, Mapping):
            return f"{name}: must be a table (command, args, env, models)"
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            return f"{name}: unknown field {unknown[0]!r}; known: {', '.join(sorted(_FIELDS))}"
        command = entry.get("command", "")
        if not isinstance(command, str) or "\n" in command:
            return f"{name}.command: must be a program name or path"
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
