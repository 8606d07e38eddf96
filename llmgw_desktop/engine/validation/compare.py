"""Compare answers locally, with no provider call: verdicts, pairwise agreement, differences.

Each answer is read for its verdict; every pair gets whether their verdicts match and how much
their content overlaps; and each answer's points that no other answer makes are listed, which
is usually where the interesting disagreement is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from llmgw_desktop.engine.validation.verdicts import read_review

__all__ = ["Answer", "compare_answers"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")
SAME_POINT = 0.6  # sentence similarity above which two answers make the same point
MIN_POINT_CHARS = 20
MAX_POINTS = 10


@dataclass(frozen=True)
class Answer:
    source: str
    text: str


def compare_answers(answers: list[Answer]) -> dict[str, Any]:
    """Verdicts, pairwise agreement and differing points of two or more answers."""
    readings = {a.source: read_review(a.text) for a in answers}
    points = {a.source: _points(a.text) for a in answers}
    pairs = []
    for left, right in combinations(answers, 2):
        lv, rv = readings[left.source], readings[right.source]
        verdicts_match = lv.verdict == rv.verdict if lv.counts and rv.counts else None
        pairs.append(
            {
                "a": left.source,
                "b": right.source,
                "verdictsMatch": verdicts_match,
                "similarity": round(_similarity(left.text, right.text), 3),
            }
        )
    differing = {}
    for answer in answers:
        others = [p for source, ps in points.items() if source != answer.source for p in ps]
        unique = [p for p in points[answer.source] if not _has_match(p, others)]
        if unique:
            differing[answer.source] = unique[:MAX_POINTS]
    counted = [r.verdict for r in readings.values() if r.counts]
    if len(counted) < 2:
        overall = "insufficient"  # fewer than two readable verdicts: nothing to agree on
    elif len(set(counted)) == 1 and len(counted) == len(answers):
        overall = "agree"
    elif len(set(counted)) == 1:
        overall = "agree_among_readable"
    else:
        overall = "disagree"
    return {
        "overall": overall,
        "verdicts": {source: r.to_dict() for source, r in readings.items()},
        "pairs": pairs,
        "differingPoints": differing,
    }


def _points(text: str) -> list[str]:
    return [s.strip(" -*•\t") for s in _SENTENCE.split(text) if len(s.strip()) >= MIN_POINT_CHARS]


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _similarity(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)


def _has_match(point: str, others: list[str]) -> bool:
    lowered = point.lower()
    return any(
        difflib.SequenceMatcher(None, lowered, other.lower()).ratio() >= SAME_POINT
        or _similarity(point, other) >= SAME_POINT
        for other in others
    )
