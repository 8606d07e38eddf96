from __future__ import annotations

import pytest

from llmgw_desktop.engine.validation.compare import Answer, compare_answers
from llmgw_desktop.engine.validation.service import summarize
from llmgw_desktop.engine.validation.verdicts import read_review, read_truth


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("All good.\nVerdict: APPROVED\nRationale: fine", "approved"),
        ("Verdict: NOT APPROVED\nRationale: broken", "rejected"),
        ("Verdict: CONDITIONAL\nRationale: fix the test", "conditional"),
        ("Approved with changes: rename the flag.", "conditional"),
        ('```json\n{"verdict": "rejected", "rationale": "x", "risks": ["a"]}\n```', "rejected"),
        ("LGTM", "approved"),
        ("I am not sure what to say.", "unknown"),
        ("   ", "empty"),
    ],
)
def test_review_verdicts(text: str, verdict: str) -> None:
    assert read_review(text).verdict == verdict


def test_rationale_and_risks_are_read() -> None:
    reading = read_review(
        "The design is close.\n\nRisks:\n- retries can loop\n- no timeout on reads\n\n"
        "Verdict: CONDITIONAL\nRationale: Fix the two risks first."
    )
    assert reading.risks == ("retries can loop", "no timeout on reads")
    assert reading.rationale == "Fix the two risks first."


@pytest.mark.parametrize(
    ("text", "verdict"),
    [("Verdict: TRUE", "true"), ("Verdict: FALSE", "false"), ("Verdict: UNCERTAIN", "uncertain")],
)
def test_truth_verdicts(text: str, verdict: str) -> None:
    assert read_truth(text).verdict == verdict


def test_failed_and_unreadable_reviewers_never_count_as_agreement() -> None:
    summary = summarize(
        [
            {"status": "ok", "verdict": "approved", "risks": ["x"]},
            {"status": "failed"},
            {"status": "unreadable", "verdict": "unknown"},
        ]
    )
    assert summary["agreement"] == "insufficient"
    assert summary["verdicts"] == {"approved": 1}


def test_compare_reports_points_only_one_answer_makes() -> None:
    result = compare_answers(
        [
            Answer("a", "Verdict: APPROVED. The parser handles empty input correctly."),
            Answer(
                "b",
                "Verdict: APPROVED. The parser handles empty input correctly. "
                "But the cache is never invalidated after a write.",
            ),
        ]
    )
    assert result["overall"] == "agree"
    assert result["differingPoints"] == {"b": ["But the cache is never invalidated after a write."]}
