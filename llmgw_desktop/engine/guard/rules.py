"""The operator's own rules (`guard.rules`) as the guard runs them: each compiled once, read by
the same scan as secrets (`scanner.OwnRules`: their matches are findings of kind `rule:NAME`),
and decided by the same ladder (`ladder.py`), with an action per provider and per caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from llmgw_desktop.config.guard_rules import GuardRule
from llmgw_desktop.engine.guard.policy import rule_action_for
from llmgw_desktop.engine.guard.scanner import OwnRules

__all__ = ["RULE_KIND", "OperatorRules", "is_rule_kind", "rule_name"]

# What a rule's match is called where a secret's kind would be (`rule:pipe-to-shell`).
RULE_KIND = "rule:"


def is_rule_kind(kind: str) -> bool:
    """Whether a finding's kind is a rule's match (else it is a secret's kind)."""
    return kind.startswith(RULE_KIND)


def rule_name(kind: str) -> str:
    """The rule whose match is of `kind`."""
    return kind.removeprefix(RULE_KIND)


class OperatorRules:
    """The rules of one set of settings, compiled; a new set of settings is a new object."""

    def __init__(self, rules: tuple[GuardRule, ...]) -> None:
        self.rules = rules
        self._by_kind = {RULE_KIND + rule.name: rule for rule in rules}
        patterns = tuple((RULE_KIND + rule.name, rule.compiled()) for rule in rules)
        made_of = "\n".join(f"{kind}\t{p.flags}\t{p.pattern}" for kind, p in patterns)
        salt = hashlib.blake2b(made_of.encode(), digest_size=16).digest() if rules else b""
        self.scan = OwnRules(patterns, salt)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def actions(self, provider: str, principal: str) -> Mapping[str, str]:
        """Each rule's action (by its kind) on a request from `principal` to `provider`."""
        return {
            kind: rule_action_for(rule, provider, principal) for kind, rule in self._by_kind.items()
        }

    def described(self, kind: str) -> str:
        """A rule as a person reads it: its name, and the operator's words for it."""
        rule = self._by_kind.get(kind)
        name = rule_name(kind)
        return f"{name} ({rule.description})" if rule is not None and rule.description else name
