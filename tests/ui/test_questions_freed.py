"""A question nobody answers gives its dialog back: 50 questions left to time out at the desk
leave no dialog alive, whichever desk asked them (a request holding secrets under
`guard.secrets = ask`, a risky call's approval, an OAuth client's consent), with the dialogs
parented to a window as the app parents them to its main window. Each left its whole dialog
(about 1.3 MB: a countdown timer, a monospaced pane, the prompt's text) alive for as long as
the app ran. Driven on a qasync loop offscreen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import qasync

from llmgw_desktop.engine.auth.consent import ConsentQueue, ConsentRequest
from llmgw_desktop.engine.calls.approval import ApprovalGate
from llmgw_desktop.engine.guard.desk import SecretQuestions
from llmgw_desktop.ui.approvals import DeskApprovals
from llmgw_desktop.ui.consent import DeskConsent
from llmgw_desktop.ui.decision_dialog import DecisionDialog, QuestionDesk
from llmgw_desktop.ui.qt import QApplication, QWidget
from llmgw_desktop.ui.secret_questions import DeskSecrets
from tests.ui.approval_requests import RISKY
from tests.ui.test_secret_questions import FOUND

QUESTIONS = 50
TIMEOUT_S = 0.3
# Bounds for a loaded machine: how long the questions and their dialogs' deletion may take.
ASKED_WITHIN_S = 60.0
FREED_WITHIN_S = 10.0


def _live_dialogs() -> int:
    """Question dialogs Qt still holds, shown or not."""
    return sum(isinstance(widget, DecisionDialog) for widget in QApplication.allWidgets())


async def _unanswered(desk: QuestionDesk, ask: Callable[[], Awaitable[object]]) -> int:
    """Ask `QUESTIONS` at once, let them all time out; the dialogs alive once Qt had its turn
    to delete what was let go (0 when every one was)."""
    before = _live_dialogs()
    async with asyncio.timeout(ASKED_WITHIN_S):
        await asyncio.gather(*(ask() for _ in range(QUESTIONS)))
    assert desk.open_dialogs == {}
    deadline = time.monotonic() + FREED_WITHIN_S
    while _live_dialogs() > before and time.monotonic() < deadline:  # noqa: ASYNC110 - Qt
        await asyncio.sleep(0.05)  # the loop's turn: deferred deletions run there
    return _live_dialogs() - before


def test_fifty_unanswered_secret_questions_leave_no_dialog(qloop: qasync.QEventLoop) -> None:
    window = QWidget()
    questions = SecretQuestions(timeout_s=TIMEOUT_S, fallback="block")
    desk = DeskSecrets(questions, window)

    async def ask() -> tuple[str, str]:
        choice = await questions.ask("openai", "gpt-4o", "key:ci-bot", "claude-code", FOUND)
        assert choice == ("block", "desk-timeout")
        return choice

    assert qloop.run_until_complete(_unanswered(desk, ask)) == 0
    desk.detach()
    window.deleteLater()


def test_fifty_unanswered_approvals_leave_no_dialog(qloop: qasync.QEventLoop) -> None:
    window = QWidget()
    gate = ApprovalGate(
        allow_bypass=False, threshold=60, ask_at_desk=True, desk_timeout_s=TIMEOUT_S
    )
    desk = DeskApprovals(gate, window)

    async def ask() -> bool:
        decision = await gate.decide(RISKY)
        assert (decision.allowed, decision.decided_by) == (False, "desk-timeout")
        return decision.allowed

    assert qloop.run_until_complete(_unanswered(desk, ask)) == 0
    desk.detach()
    window.deleteLater()


def test_fifty_unanswered_consents_leave_no_dialog(qloop: qasync.QEventLoop) -> None:
    window = QWidget()
    queue = ConsentQueue(timeout_s=TIMEOUT_S)
    desk = DeskConsent(queue, window)

    async def ask() -> bool:
        request = ConsentRequest(
            client_id="c1",
            client_name="Cursor",
            redirect_uri="http://127.0.0.1:9/cb",
            scopes=("llm:chat",),
            requester="127.0.0.1",
        )
        approved: bool = await queue.ask(request).decision
        assert approved is False
        return approved

    assert qloop.run_until_complete(_unanswered(desk, ask)) == 0
    desk.detach()
    window.deleteLater()
