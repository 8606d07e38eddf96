"""The guard's one decision ladder (`ladder.ruling`), for every door: each action on secrets and
on the operator's rules, the desk's answers, a token count (no desk), and a request not read
whole; why it decided is a typed value (`Because`), said to a person by `words()`."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.guard.ladder import (
    BLOCKED,
    REDACTED,
    SENT,
    WARNED,
    Actions,
    Because,
    Ruling,
    ruling,
)
from llmgw_desktop.engine.guard.request_scan import Finding, Inspection
from tests.engine.guard.secrets import AWS_ACCESS_KEY

SECRET = Finding("aws_access_key", "messages[0].content", 1, AWS_ACCESS_KEY)
MATCH = Finding("rule:pipe-to-shell", "messages[0].content", 2, "curl x | sh")
BOTH = Inspection((SECRET, MATCH))


async def _rule(
    actions: Actions,
    inspection: Inspection = BOTH,
    *,
    answer: str | None = None,
    desk: bool = True,
    unscanned: str = "send",
    by: str = "desk",
) -> tuple[Ruling, list[tuple[Finding, ...]]]:
    asked: list[tuple[Finding, ...]] = []

    async def ask(findings: tuple[Finding, ...]) -> tuple[str, str]:
        asked.append(findings)
        return (answer or "block"), by

    ruled = await ruling(
        actions,
        inspection,
        unscanned=unscanned,
        provider="openai",
        ask=ask if desk else None,
        described=lambda kind: kind.removeprefix("rule:"),
    )
    return ruled, asked


RULE = "rule:pipe-to-shell"


@pytest.mark.parametrize(
    ("secrets", "rule", "did", "why", "redact"),
    [
        ("warn", "off", WARNED, "warn (guard.secrets)", False),
        ("redact", "off", REDACTED, "redact (guard.secrets)", True),
        ("off", "warn", WARNED, "warn (guard.rules.pipe-to-shell)", False),
        (
            "redact",
            "warn",
            REDACTED,
            "redact (guard.secrets); warn (guard.rules.pipe-to-shell)",
            True,
        ),
        ("block", "warn", BLOCKED, "block (guard.secrets)", False),
        ("warn", "block", BLOCKED, "block (guard.rules.pipe-to-shell)", False),
    ],
)
async def test_each_part_keeps_its_own_action(
    secrets: str, rule: str, did: str, why: str, redact: bool
) -> None:
    ruled, asked = await _rule(Actions(secrets, {RULE: rule}))
    assert (ruled.did, ruled.why(), ruled.redact) == (did, why, redact)
    assert asked == []


async def test_a_rules_block_comes_first_and_is_its_own_refusal() -> None:
    ruled, _ = await _rule(Actions("block", {RULE: "block"}))
    assert ruled.refusal is not None and ruled.refusal.code is ErrorCode.GUARD_RULE_MATCHED
    assert "pipe-to-shell" in ruled.refusal.message
    assert AWS_ACCESS_KEY not in ruled.refusal.message
    assert ruled.noted == ((BLOCKED, (MATCH,)),)


@pytest.mark.parametrize(
    ("secrets", "rule", "answer", "did", "redact"),
    [
        ("ask", "off", "send", SENT, False),
        ("ask", "off", "redact", REDACTED, True),
        ("off", "ask", "send", SENT, False),
        ("warn", "ask", "send", WARNED, False),
        # The desk may only be stricter than the operator: its redact holds for a warned secret.
        ("warn", "ask", "redact", REDACTED, True),
        ("redact", "ask", "send", REDACTED, True),
    ],
)
async def test_the_desk_answers_once_for_what_asks(
    secrets: str, rule: str, answer: str, did: str, redact: bool
) -> None:
    ruled, asked = await _rule(Actions(secrets, {RULE: rule}), answer=answer)
    assert (ruled.did, ruled.redact, ruled.refusal) == (did, redact, None)
    read = (SECRET,) * (secrets != "off") + (MATCH,) * (rule != "off")
    assert asked == [read]  # what is read for this target, and only that
    assert any(b.asked == answer and b.by == "desk" for b in ruled.because)


async def test_the_desks_block_refuses_and_says_who_decided() -> None:
    ruled, _ = await _rule(Actions("warn", {RULE: "ask"}), answer="block")
    assert ruled.did == BLOCKED and ruled.refusal is not None
    assert ruled.refusal.code is ErrorCode.GUARD_RULE_MATCHED
    assert ruled.because == (Because("guard.rules.pipe-to-shell", "ask", "block", "desk"),)
    assert ruled.why() == "asked at the desk: block (desk)"


@pytest.mark.parametrize("by", ["no-desk", "desk-timeout"])
async def test_a_redact_fallback_keeps_a_rules_match_here(by: str) -> None:
    """`guard.ask_fallback = "redact"` sends secrets replaced when no one answers; a rule's
    match has no placeholder, so it is not sent unasked (a person may still send it)."""
    ruled, _ = await _rule(Actions("ask", {RULE: "ask"}), answer="redact", by=by)
    assert ruled.refusal is not None and ruled.refusal.code is ErrorCode.SECRET_DETECTED
    only_rule, _ = await _rule(Actions("off", {RULE: "ask"}), answer="redact", by=by)
    assert only_rule.refusal is not None
    assert only_rule.refusal.code is ErrorCode.GUARD_RULE_MATCHED


@pytest.mark.parametrize(
    ("secrets", "rule", "refused", "redact"),
    [("ask", "off", False, True), ("off", "ask", True, False), ("warn", "off", False, False)],
)
async def test_a_token_count_asks_no_one(
    secrets: str, rule: str, refused: bool, redact: bool
) -> None:
    """A count's secrets that ask go as placeholders; a rule that asks keeps it here."""
    ruled, asked = await _rule(Actions(secrets, {RULE: rule}), desk=False)
    assert ((ruled.refusal is not None), ruled.redact) == (refused, redact)
    assert asked == []


@pytest.mark.parametrize(
    ("inspection", "unscanned", "did", "why"),
    [
        (Inspection(), "send", "", ""),
        (Inspection(complete=False, reason="too_large"), "send", SENT, "guard.unscanned = send"),
        (
            Inspection(complete=False, reason="too_large"),
            "block",
            BLOCKED,
            "guard.unscanned = block",
        ),
    ],
)
async def test_nothing_found_and_not_read_whole(
    inspection: Inspection, unscanned: str, did: str, why: str
) -> None:
    ruled, _ = await _rule(Actions("warn"), inspection, unscanned=unscanned)
    assert (ruled.did, ruled.why()) == (did, why)
    if unscanned == "block":
        assert ruled.refusal is not None and ruled.refusal.code is ErrorCode.REQUEST_UNSCANNED


async def test_a_secret_is_not_read_where_secrets_are_off_but_a_rule_still_is() -> None:
    ruled, _ = await _rule(Actions("off", {RULE: "warn"}))
    assert ruled.noted == ((WARNED, (MATCH,)),)


def test_off_everywhere_is_nothing_to_read() -> None:
    assert Actions("off", {RULE: "off"}).off and not Actions("off", {RULE: "warn"}).off


def test_because_is_a_value_said_in_words() -> None:
    examples: dict[Because, str] = {
        Because("guard.secrets", "block"): "block (guard.secrets)",
        Because("guard.rules.x", "warn"): "warn (guard.rules.x)",
        Because("guard.secrets", "ask", "redact", "desk-timeout"): (
            "asked at the desk: redact (desk-timeout)"
        ),
        Because("guard.unscanned", "block"): "guard.unscanned = block",
    }
    words: dict[Any, str] = {because: because.words() for because in examples}
    assert words == examples
