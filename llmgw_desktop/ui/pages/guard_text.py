"""What the outbound guard found, in words: the Overview's line (since start, per provider,
key and kind) and a recorder row's section (what one request held, where, and what was done
with it for each provider). Never a value: the engine keeps none for the desk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmgw_desktop.engine.api import GuardCount

__all__ = ["guard_rows", "guard_text"]

# The largest groups the Overview names; the rest are counted.
NAMED_GROUPS = 4
# What the guard did, where the engine's word is not a person's.
_ACTIONS = {"answer_masked": "masked in answers"}


def guard_text(action: str, counts: list[GuardCount], unscanned: int = 0) -> str:
    """`3 secrets since start: 2 warned, 1 redacted · openai (local): aws_access_key ×2, …`,
    or what the guard does when it found nothing yet."""
    if action == "off" and not counts:
        return "off (guard.secrets)"
    total = sum(c.count for c in counts)
    if not total:
        text = f"nothing found since start (guard.secrets = {action})"
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
        text = f"{total} secret{'s' * (total != 1)} since start: {done} · {listed}"
    if unscanned:
        text += f" · {unscanned} request{'s' * (unscanned != 1)} too large to read whole"
    return text


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
