"""Read a reviewer's answer into one normalised shape: verdict, rationale, risks.

Reviewers are asked to end with `Verdict:`, `Rationale:` and `Risks:` lines, but models drift,
so the reader also accepts a JSON object, common verdict words, and bullet lists under a
risks-like heading. An empty or unreadable answer is never read as agreement.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["REVIEW_VERDICTS", "TRUTH_VERDICTS", "Reading", "read_review", "read_truth"]

REVIEW_VERDICTS = ("approved", "conditional", "rejected")
TRUTH_VERDICTS = ("true", "false", "uncertain")

# Checked in order: "NOT APPROVED" must win over "APPROVED", "approved with changes" over both.
_REVIEW_WORDS = (
    (
        "rejected",
        re.compile(
            r"\b(not\s+approved|rejected?|fail(ed|s)?|changes\s+requested|do\s+not\s+(merge|ship))\b",
            re.I,
        ),
    ),
    (
        "conditional",
        re.compile(
            r"\b(conditional(ly)?(\s+approved)?|approved\s+with\s+(changes|conditions))\b", re.I
        ),
    ),
    ("approved", re.compile(r"\b(approved?|pass(ed)?|lgtm|ship\s+it)\b", re.I)),
)
_TRUTH_WORDS = (
    (
        "uncertain",
        re.compile(r"\b(uncertain|unsure|unknown|cannot\s+(tell|determine)|unclear)\b", re.I),
    ),
    ("false", re.compile(r"\b(false|incorrect|wrong|no)\b", re.I)),
    ("true", re.compile(r"\b(true|correct|yes|accurate)\b", re.I)),
)
_VERDICT_LINE = re.compile(
    r"(?im)^[\s>*_#-]*(?:final\s+)?(?:verdict|answer|decision)\s*[:=-]\s*(.+)$"
)
_RATIONALE_LINE = re.compile(
    r"(?ims)^[\s>*_#-]*(?:rationale|reason(?:ing)?)\s*[:=-]\s*(.+?)(?:\n\s*\n|\n[\s>*_#-]*(?:risks?|issues|findings|verdict)\b|\Z)"
)
_RISK_HEADING = re.compile(
    r"(?i)^[\s>*_#-]*(risks?|issues|findings|concerns|problems)\b[^\n]*:?\s*$"
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)")
_JSON_BLOCK = re.compile(r"\{.*\}", re.S)
MAX_RISKS = 20
MAX_RATIONALE = 800


@dataclass(frozen=True)
class Reading:
    """One reviewer's answer, normalised."""

    verdict: str  # one of the verdict words, "unknown" (no verdict found) or "empty"
    rationale: str = ""
    risks: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> bool:
        """Whether this reading may count towards agreement."""
        return self.verdict not in ("unknown", "empty")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["risks"] = list(self.risks)
        return data


def read_review(text: str) -> Reading:
    """An approve/conditional/reject reading of a review."""
    return _read(text, _REVIEW_WORDS, REVIEW_VERDICTS)


def read_truth(text: str) -> Reading:
    """A true/false/uncertain reading of an answer about a claim."""
    return _read(text, _TRUTH_WORDS, TRUTH_VERDICTS)


def _read(
    text: str, words: tuple[tuple[str, re.Pattern[str]], ...], allowed: tuple[str, ...]
) -> Reading:
    if not text or not text.strip():
        return Reading("empty")
    from_json = _from_json(text, allowed)
    if from_json is not None:
        return from_json
    verdict = "unknown"
    line = _VERDICT_LINE.findall(text)
    if line:
        verdict = _classify(line[-1], words)
    if verdict == "unknown":
        # No verdict line: look at the end of the answer, where conclusions usually are.
        verdict = _classify(text[-400:], words)
    rationale_match = _RATIONALE_LINE.search(text)
    rationale = rationale_match.group(1).strip() if rationale_match else _first_paragraph(text)
    return Reading(verdict, rationale[:MAX_RATIONALE], tuple(_risks(text)))


def _classify(text: str, words: tuple[tuple[str, re.Pattern[str]], ...]) -> str:
    for verdict, pattern in words:
        if pattern.search(text):
            return verdict
    return "unknown"


def _from_json(text: str, allowed: tuple[str, ...]) -> Reading | None:
    match = _JSON_BLOCK.search(text)
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, dict) or "verdict" not in data:
        return None
    verdict = str(data["verdict"]).strip().lower().replace("not approved", "rejected")
    verdict = verdict if verdict in allowed else "unknown"
    risks = data.get("risks") or []
    return Reading(
        verdict,
        str(data.get("rationale", ""))[:MAX_RATIONALE],
        tuple(str(r) for r in risks if isinstance(r, str | int | float))[:MAX_RISKS]
        if isinstance(risks, list)
        else (),
    )


def _first_paragraph(text: str) -> str:
    """The first paragraph of prose, with any verdict line taken out."""
    for paragraph in re.split(r"\n\s*\n", _VERDICT_LINE.sub("", text).strip()):
        if paragraph.strip() and not _RISK_HEADING.match(paragraph.splitlines()[0]):
            return paragraph.strip()
    return ""


def _risks(text: str) -> list[str]:
    risks: list[str] = []
    collecting = False
    for line in text.splitlines():
        if _RISK_HEADING.match(line):
            collecting = True
            continue
        if collecting:
            bullet = _BULLET.match(line)
            if bullet:
                risk = bullet.group(1).strip()
                if risk.lower() not in ("none", "none.", "n/a"):
                    risks.append(risk)
            elif line.strip():
                collecting = False
    return risks[:MAX_RISKS]
