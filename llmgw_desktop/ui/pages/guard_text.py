"""What the outbound guard found, in words: the Overview's line (since start, per provider,
key and kind), a recorder row's section (what one request held, where, and what was done
with it for each provider), and the operator's rules as the Settings page lists them. Never a
value: the engine keeps none for the desk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmgw_desktop.config.guard_rules import guard_rules
from llmgw_desktop.engine.api import RULE_KIND, GuardCount

__all__ = ["guard_rows", "guard_text", "rules_words"]

# The largest groups the Overview names; the rest are counted.
NAMED_GROUPS = 4
# What the guard did, where the engine's word is not a person's.
_ACTIONS = {"answer_masked": "masked in answers"}


def guard_text(
    action: str,
    counts: list[GuardCount],
    unscanned: int = 0,
    *,
    read: int | None = None,
    exempt: int = 0,
) -> str:
    """`3 secrets since start: 2 warned, 1 redacted · openai (local): aws_access_key ×2, …`,
    or what the guard does when it found nothing yet: how many requests it read (`read`,
    where known), apart from those it left unread for going to a provider on this machine
    (`exempt`), so "nothing found" never stands for "nothing read"."""
    if action == "off" and not counts:
        return "off (guard.secrets)"
    total = sum(c.count for c in counts)
    if not total:
        text = f"{_nothing_found(read)} since start (guard.secrets = {action})"
    else:
        by_action: dict[str, int] = {}
        for count in counts:
            by_action[count.action] = by_action.get(count.action, 0) + count.count
        done = ", ".join(f"{n} {_ACTIONS.get(what, what)}" for what, n in sorted(by_action.items()))
        groups: dict[tuple[str, str], list[str]] = {}
        for count in counts:  # largest first
            groups.setdefault((count.provider, count.key), []).append(
                f"{count.kind} ×{count.count}"
            )
        named = [f"{p} ({k}): {', '.join(kinds)}" for (p, k), kinds in groups.items()]
        more = len(named) - NAMED_GROUPS
        listed = " · ".join(named[:NAMED_GROUPS]) + (f" · and {more} more" if more > 0 else "")
        text = f"{_found_words(counts)} since start: {done} · {listed}"
    if unscanned:
        text += f" · {_requests(unscanned)} too large to read whole"
    if exempt:
        text += f" · {_requests(exempt)} to providers on this machine not read (guard.exempt_local)"
    return text


def _nothing_found(read: int | None) -> str:
    if read is None:
        return "nothing found"
    return f"nothing found in {_requests(read)} read" if read else "nothing read"


def _requests(count: int) -> str:
    return f"{count:,} request{'s' * (count != 1)}"


def _found_words(counts: list[GuardCount]) -> str:
    """`3 secrets`, `1 match of your rules`, or both."""
    matches = sum(c.count for c in counts if c.kind.startswith(RULE_KIND))
    secrets = sum(c.count for c in counts) - matches
    words = [f"{secrets} secret{'s' * (secrets != 1)}"] if secrets else []
    if matches:
        words.append(f"{matches} match{'es' * (matches != 1)} of your rules")
    return " and ".join(words)


def guard_rows(guard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A row's guard record (`route.guard`) as label and value pairs."""
    rows = []
    found = guard.get("found") or {}
    if found:
        rows.append(("Found", ", ".join(f"{k} ×{n}" for k, n in sorted(found.items()))))
    for place in guard.get("where") or []:
        rows.append(("Where", str(place)))
    for provider, did in (guard.get("targets") or {}).items():
        rows.append((str(provider), str(did)))
    if guard.get("why"):
        rows.append(("Because", str(guard["why"])))
    if guard.get("unscanned"):
        rows.append(("Not read whole", str(guard["unscanned"])))
    for source in guard.get("answer_masked") or []:  # the operator's keys the answer repeated
        rows.append(("Masked in the answer", f"your key from {source}"))
    return rows


def rules_words(table: Mapping[str, Any]) -> str:
    """The operator's rules (`guard.rules`, checked), one a line: `pipe-to-shell: block (a
    download piped into a shell) · ollama: off · key:ci-bot: block`."""
    rules = guard_rules(table)
    if not rules:
        return "none: write one in config.toml as [guard.rules.NAME] (see the guard's page)"
    lines = []
    for rule in rules:
        line = f"{rule.name}: {rule.action}" + (
            f" ({rule.description})" if rule.description else ""
        )
        others = {**rule.providers, **rule.keys}
        line += "".join(f" · {who}: {action}" for who, action in others.items())
        lines.append(line)
    return "\n".join(lines)
