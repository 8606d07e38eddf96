"""The operator's own guard rules (`[guard.rules]`), checked and turned into typed objects:
patterns the outbound guard looks for in every request beside secrets (an instruction the
operator does not want a model to be given, a project's code name, an internal host), each
with the guard's actions, per provider and per caller as `guard.secrets` has them.

    [guard.rules.pipe-to-shell]
    pattern = '\\b(?:curl|wget)\\b[^|\\n]*\\|\\s*(?:sudo\\s+)?(?:ba|z)?sh\\b'
    action = "block"                      # off, warn, ask or block
    description = "a download piped into a shell"

    [guard.rules.ignore-instructions]
    pattern = 'ignore (?:all )?(?:the )?previous instructions'
    action = "ask"
    providers = { ollama = "off" }        # this provider: another action
    keys = { "key:ci-bot" = "block" }     # this caller: another action (the stricter wins)

A pattern is a Python regular expression, matched ignoring case unless `ignore_case = false`,
over every string and every object key of a request as the guard reads them (format
characters left out). A rule has no `redact`: a placeholder stands for a value the answer may
get back, and an instruction is no such value.

The checks return a message naming the offending key (the settings loader adds where the value
came from); `guard_rules` assumes checked input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.config.principals import is_principal_id
from llmgw_desktop.config.settings_fields import table_fields_problem
from llmgw_desktop.config.words import listed, one_of

__all__ = [
    "RULE_ACTIONS",
    "RULE_FIELDS",
    "RULE_NAME",
    "GuardRule",
    "check_guard_rules",
    "guard_rules",
]

# What a rule may do with a request it matches, mildest first.
RULE_ACTIONS = ("off", "warn", "ask", "block")
# A rule's name: it becomes the kind of what it finds (`rule:NAME`), in rows and in /metrics.
RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
RULE_FIELDS: dict[str, type] = {
    "pattern": str,
    "action": str,
    "description": str,
    "ignore_case": bool,
    "providers": dict,
    "keys": dict,
}
_REQUIRED = ("pattern", "action")


@dataclass(frozen=True)
class GuardRule:
    """One rule of the operator's: its name, what it looks for, what it does (`action`, or
    another for a provider or a caller named in `providers` and `keys`) and, in the
    operator's words, what it is about."""

    name: str
    pattern: str
    action: str
    description: str = ""
    ignore_case: bool = True
    providers: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)

    def compiled(self) -> re.Pattern[str]:
        """The pattern as the scan runs it."""
        return re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)


def check_guard_rules(value: Mapping[str, Any]) -> str | None:
    """None when `guard.rules` is well formed, else what is wrong with which rule."""
    for name, table in value.items():
        if (problem := _rule_problem(name, table)) is not None:
            return problem
    return None


def _rule_problem(name: str, table: Any) -> str | None:
    """What is wrong with one rule (None: nothing)."""
    where = f"guard.rules.{name}"
    if not RULE_NAME.fullmatch(name):
        return f"{where}: a rule's name is lowercase letters, digits, '.', '_' or '-' (40 at most)"
    if not isinstance(table, Mapping):
        return f'{where} must be a table such as {{ pattern = "...", action = "block" }}'
    if (problem := table_fields_problem(where, table, RULE_FIELDS, "a rule")) is not None:
        return problem
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        return f"{where} needs {' and '.join(missing)}"
    problem = _action_problem(f"{where}.action", table["action"]) or _pattern_problem(
        where, table["pattern"], table.get("ignore_case", True)
    )
    return problem or _table_problem(where, table)


def _table_problem(where: str, table: Mapping[str, Any]) -> str | None:
    """What is wrong with a rule's actions per provider and per caller (None: nothing)."""
    for provider, action in table.get("providers", {}).items():
        if not provider or any(c.isspace() for c in provider):
            return f"{where}.providers: {provider!r} is not a provider id"
        if (problem := _action_problem(f"{where}.providers.{provider}", action)) is not None:
            return problem
    for principal, action in table.get("keys", {}).items():
        if not is_principal_id(principal):
            return f"{where}.keys: {principal!r} is not a principal id (key:NAME, oauth:ID, ...)"
        if (problem := _action_problem(f"{where}.keys.{principal}", action)) is not None:
            return problem
    return None


def _action_problem(where: str, action: Any) -> str | None:
    if action in RULE_ACTIONS:
        return None
    if action == "redact":
        return (
            f"{where}: a rule cannot redact (a placeholder stands for a value the answer gets "
            f"back); use {listed(RULE_ACTIONS)}"
        )
    return f"{where}: {one_of(action, RULE_ACTIONS)}"


def _pattern_problem(where: str, pattern: str, ignore_case: bool) -> str | None:
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        return f"{where}.pattern is not a regular expression: {exc}"
    if compiled.fullmatch("") is not None:
        return f"{where}.pattern matches an empty text, so it would match every request"
    return None


def guard_rules(value: Mapping[str, Any]) -> tuple[GuardRule, ...]:
    """The rules of a checked `guard.rules`, in the order they are written."""
    return tuple(
        GuardRule(
            name=name,
            pattern=table["pattern"],
            action=table["action"],
            description=table.get("description", ""),
            ignore_case=table.get("ignore_case", True),
            providers=dict(table.get("providers", {})),
            keys=dict(table.get("keys", {})),
        )
        for name, table in value.items()
    )
