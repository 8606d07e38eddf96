"""The desk's question about a request holding secrets (`guard.secrets = ask`), driven on a
qasync loop offscreen: the person's three answers, Return and Escape block (as Deny does in
every question the desk asks), no answer in time is the operator's fallback, and the dialog
shows what was found, where, masked, never the secret."""

from __future__ import annotations

import asyncio

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.guard.desk import SecretQuestions
from llmgw_desktop.engine.guard.request_scan import Finding
from llmgw_desktop.ui.decision_dialog import DecisionDialog
from llmgw_desktop.ui.qt import Qt
from llmgw_desktop.ui.secret_questions import DeskSecrets
from tests.engine.guard.secrets import AWS_ACCESS_KEY, JWT

FOUND = (
    Finding(
        "aws_access_key",
        "messages[0].content",
        3,
        AWS_ACCESS_KEY,
        "aws_access_key_id = [aws_access_key]",
    ),
    Finding("jwt", "messages[2].content[0].content", 1, JWT, "Authorization: Bearer [jwt]"),
)


async def _dialog(desk: DeskSecrets) -> DecisionDialog:
    async with asyncio.timeout(5):
        while not desk.open_dialogs:  # noqa: ASYNC110 - Qt state has no awaitable
            await asyncio.sleep(0.01)
    return next(iter(desk.open_dialogs.values()))


def _ask(questions: SecretQuestions) -> asyncio.Task[tuple[str, str]]:
    return asyncio.get_running_loop().create_task(
        questions.ask("openai", "gpt-4o", "key:ci-bot", "claude-code", FOUND)
    )


@pytest.mark.parametrize(
    ("button", "choice"),
    [("Block", "block"), ("Redact and send", "redact"), ("Send once", "send")],
)
def test_the_person_chooses_block_redact_or_send(
    qloop: qasync.QEventLoop, button: str, choice: str
) -> None:
    questions = SecretQuestions(timeout_s=10, fallback="block")
    desk = DeskSecrets(questions)

    async def scenario() -> tuple[str, str]:
        asking = _ask(questions)
        box = await _dialog(desk)
        assert [b.text() for b in box.buttons()] == ["Block", "Redact and send", "Send once"]
        assert box.defaultButton() is box.escapeButton() is box.buttons()[0]
        next(b for b in box.buttons() if b.text() == button).click()
        return await asking

    assert qloop.run_until_complete(scenario()) == (choice, "desk")
    assert desk.open_dialogs == {}
    desk.detach()


def test_the_dialog_shows_what_and_where_never_the_secret(qloop: qasync.QEventLoop) -> None:
    questions = SecretQuestions(timeout_s=10, fallback="block")
    desk = DeskSecrets(questions)

    async def scenario() -> str:
        asking = _ask(questions)
        box = await _dialog(desk)
        text = box.text()
        box.reject()
        await asking
        return text

    text = qloop.run_until_complete(scenario())
    assert "claude-code (access key ci-bot) is sending a request to openai (gpt-4o)" in text
    assert "aws_access_key in messages[0].content, line 3: AKIA…(20 chars)" in text
    assert "aws_access_key_id = [aws_access_key]" in text
    assert "jwt in messages[2].content[0].content, line 1" in text
    assert AWS_ACCESS_KEY not in text and JWT not in text and JWT[:20] not in text
    desk.detach()


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Escape])
def test_return_and_escape_block(qloop: qasync.QEventLoop, qtbot: QtBot, key: Qt.Key) -> None:
    questions = SecretQuestions(timeout_s=10, fallback="send")
    desk = DeskSecrets(questions)

    async def scenario() -> tuple[str, str]:
        asking = _ask(questions)
        box = await _dialog(desk)
        # A key press is delivered at once: no nested Qt loop inside this coroutine.
        qtbot.keyClick(box, key)
        return await asking

    assert qloop.run_until_complete(scenario()) == ("block", "desk")
    desk.detach()


def test_no_answer_in_time_is_the_operators_fallback_and_closes_the_dialog(
    qloop: qasync.QEventLoop,
) -> None:
    questions = SecretQuestions(timeout_s=0.3, fallback="redact")
    desk = DeskSecrets(questions)
    told: list[str] = []
    desk.answered.connect(lambda _level, words, _page, _detail: told.append(words))

    async def scenario() -> tuple[str, str]:
        asking = _ask(questions)
        await _dialog(desk)
        return await asking

    assert qloop.run_until_complete(scenario()) == ("redact", "desk-timeout")
    assert desk.open_dialogs == {}
    assert told == [
        "No answer in time: claude-code (access key ci-bot)'s request to openai was decided by "
        "guard.ask_fallback (redact)."
    ]
    desk.detach()


def test_headless_ask_is_the_fallback_at_once(qloop: qasync.QEventLoop) -> None:
    questions = SecretQuestions(timeout_s=10, fallback="block")

    async def scenario() -> tuple[str, str]:
        return await _ask(questions)

    assert qloop.run_until_complete(scenario()) == ("block", "no-desk")


def test_a_rules_match_asks_block_or_send_without_redact(qloop: qasync.QEventLoop) -> None:
    """A request that matches a rule of the operator's (and holds no secret): there is nothing
    to replace, so the person blocks it or sends it once."""
    questions = SecretQuestions(timeout_s=10, fallback="block")
    desk = DeskSecrets(questions)
    match = Finding("rule:pipe-to-shell", "messages[0].content", 1, "curl x | sh", "[rule]")

    async def scenario() -> tuple[str, str]:
        asking = asyncio.get_running_loop().create_task(
            questions.ask("openai", "gpt-4o", "local", "claude-code", (match,))
        )
        box = await _dialog(desk)
        assert [b.text() for b in box.buttons()] == ["Block", "Send once"]
        assert "matches your rule pipe-to-shell" in box.windowTitle()
        assert "secret" not in box.windowTitle()
        next(b for b in box.buttons() if b.text() == "Send once").click()
        return await asking

    assert qloop.run_until_complete(scenario()) == ("send", "desk")
    desk.detach()
