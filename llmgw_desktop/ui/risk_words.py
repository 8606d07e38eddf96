"""A risky call's approval in plain words: how risky against the threshold, the policy's
reasons as sentences, the permission asked in words, and the risky parts of a prompt to mark.

The score and its reasons are the engine's (`engine/calls/approval.py`, which reads the prompt
as a shell would); this module only says them for a person. `risky_spans` marks the phrases of
the kinds the policy looks for in the prompt *as written*, so the person sees where they are:
a reading aid, never a decision (the engine's normalised reading decides).
"""

from __future__ import annotations

import re

__all__ = [
    "DECIDERS",
    "NO_CONFIRMATIONS",
    "PERMISSIONS",
    "mode_words",
    "permission_words",
    "plain_reason",
    "risk_line",
    "risk_words",
    "risky_spans",
]

# A score this many times the threshold reads "High risk".
HIGH = 2
PERMISSIONS = {
    "default": "ask before each change",
    "acceptEdits": "edit files without asking",
    "bypassPermissions": "skip every permission prompt",
    "plan": "only plan, changing nothing",
}
# Who decided a call, as the decision's line says it.
DECIDERS = {
    "policy": "by the policy",
    "desk": "by you at the desk",
    "desk-timeout": "no answer at the desk in time",
    "remote-power": "by the workspace's remote-power rule",
}
# What a full-auto run means, said once (never the CLI's own word for it).
NO_CONFIRMATIONS = "with no confirmations"
# The engine's prompt findings that are things done, not verbs: "the prompt runs a ...".
_NOUN_FINDINGS = ("recursive forced delete", "recursive delete of a whole tree")
# Phrases of the kinds the policy looks for, as a person would write them.
_RISKY = re.compile(
    r"\brm\s+(?:-[a-z]*[rf][a-z]*\s+)+\S+"  # rm -rf path, rm -r -f path
    r"|\brm\s+--(?:recursive|force)(?:\s+--(?:recursive|force))?\s+\S+"
    r"|\bsudo\b|\bdoas\b"
    r"|\bgit\s+push\b[^\n]{0,80}?(?:--force(?:-with-lease)?\b|\s-f\b)"
    r"|--force\b|--no-preserve-root\b"
    r"|\bchmod\s+(?:-R\s+)?(?:0?777|a\+rwx)\b"
    r"|\b(?:curl|wget)\b[^\n|]{0,200}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"
    r"|\bdd\s+if=\S+\s+of=/dev/\S+"
    r"|\b(?:drop\s+(?:table|database|schema)|truncate\s+table)\b"
    r"|\bmkfs(?:\.\w+)?\b"
    r"|:\(\)\s*\{\s*:\|:&\s*\};:",
    re.IGNORECASE,
)


def risk_words(score: int, threshold: int) -> str:
    """`High risk: 3 times the approval threshold`: the score against the line the policy
    draws, in words a person reads without knowing the policy (a bare "180 / threshold 60",
    or "score 180, approval asked from 60", left them to do the sum)."""
    if threshold <= 0:  # every call is asked about: there is no line to measure against
        return "Risky: every call is asked about"
    level = "High risk" if score >= HIGH * threshold else "Risky"
    ratio = score / threshold
    shown = round(ratio, 1)
    if ratio == 1:
        return f"{level}: at the approval threshold"
    if shown == 1:
        return f"{level}: just above the approval threshold"
    figure = f"{shown:g}" if shown == ratio else f"about {shown:g}"
    return f"{level}: {figure} times the approval threshold"


def plain_reason(reason: str) -> str:
    """One of the policy's reasons as a sentence: `prompt recursive forced delete` reads
    `The prompt runs a recursive forced delete`."""
    if reason.startswith("prompt "):
        rest = reason.removeprefix("prompt ")
        if rest in _NOUN_FINDINGS:
            return f"The prompt runs a {rest}."
        return f"The prompt {rest}."
    if reason == "asks for full-auto execution":
        return f"It asks to run {NO_CONFIRMATIONS}."
    return reason[:1].upper() + reason[1:] + "."


def risk_line(score: object, threshold: object) -> str:
    """`risk 40 (you are asked from 50)`: a decision's score beside the line the policy draws."""
    return f"risk {score} (you are asked from {threshold})"


def mode_words(mode: str) -> str:
    """`edit files without asking`: a CLI's permission mode in words (its own name, such as
    `acceptEdits`, is a CLI's flag, not a person's word)."""
    return PERMISSIONS.get(mode, mode)


def permission_words(mode: str, full_auto: bool) -> str:
    """`It may edit files without asking, with no confirmations.`"""
    text = f"It may {mode_words(mode)}"
    return text + (f", {NO_CONFIRMATIONS}." if full_auto else ".")


def risky_spans(text: str) -> list[tuple[int, int]]:
    """Where in `text` the phrases of risky kinds are, as (start, end) offsets."""
    return [match.span() for match in _RISKY.finditer(text)]
