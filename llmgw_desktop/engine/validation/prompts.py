"""The framing each validation tool puts around the caller's material.

Every frame ends by asking for the same closing lines (`Verdict:`, `Rationale:`, `Risks:`),
which is what `verdicts.py` reads back.
"""

from __future__ import annotations

__all__ = ["consensus", "red_team", "review", "synthesis"]

_CLOSE_REVIEW = (
    "\n\nEnd your answer with exactly these lines:\n"
    "Verdict: APPROVED | CONDITIONAL | NOT APPROVED\n"
    "Rationale: <one short paragraph>\n"
    "Risks:\n- <one risk per line, or 'none'>"
)
_CLOSE_TRUTH = (
    "\n\nEnd your answer with exactly these lines:\n"
    "Verdict: TRUE | FALSE | UNCERTAIN\n"
    "Rationale: <one short paragraph>\n"
    "Risks:\n- <what would change your answer, one per line, or 'none'>"
)


def _block(tag: str, text: str) -> str:
    return f"<{tag}>\n{text.strip()}\n</{tag}>"


def review(subject: str, *, question: str | None = None, context: str | None = None) -> str:
    """An independent review of `subject`."""
    parts = [
        "You are an independent reviewer. Judge the material on its merits; do not assume "
        "anyone else has checked it.",
    ]
    if context:
        parts.append(_block("context", context))
    parts.append(_block("subject", subject))
    if question:
        parts.append(f"Question: {question.strip()}")
    return "\n\n".join(parts) + _CLOSE_REVIEW


def red_team(subject: str, *, focus: str | None = None) -> str:
    """An adversarial pass that looks for how `subject` fails."""
    parts = [
        "You are a red-team reviewer. Try to break the material below: find security holes, "
        "wrong assumptions, edge cases that fail, and ways it could be misused. List each "
        "finding as a risk with its severity (high, medium, low). Approve only if you find no "
        "high-severity problem.",
    ]
    if focus:
        parts.append(f"Focus on: {focus.strip()}")
    parts.append(_block("subject", subject))
    return "\n\n".join(parts) + _CLOSE_REVIEW


def consensus(claim: str, *, context: str | None = None) -> str:
    """Whether `claim` is true, asked of one model."""
    parts = [
        "Decide whether the claim below is true. Say UNCERTAIN rather than guess when the "
        "evidence does not settle it.",
    ]
    if context:
        parts.append(_block("context", context))
    parts.append(_block("claim", claim))
    return "\n\n".join(parts) + _CLOSE_TRUTH


def synthesis(subject: str, reviews: list[tuple[str, str]]) -> str:
    """A judge's reading of several reviews of `subject`."""
    collected = "\n\n".join(_block(f'review source="{source}"', text) for source, text in reviews)
    return (
        "You are the judge. Several independent reviewers looked at the same material. Weigh "
        "their arguments (not their number), note where they disagree and who is right, and "
        "give the final verdict.\n\n"
        + _block("subject", subject)
        + "\n\n"
        + collected
        + _CLOSE_REVIEW
    )
