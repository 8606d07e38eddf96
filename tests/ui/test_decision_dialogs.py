"""The desk's two questions, a risky call's approval and an OAuth client's consent, behave as one
(issue 25: their buttons swapped sides and only one counted down). Both are opened by the
engine's own approval gate and consent queue, on a qasync loop, offscreen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.auth.consent import ConsentQueue, ConsentRequest
from llmgw_desktop.engine.calls.approval import ApprovalGate
from llmgw_desktop.ui.approvals import DeskApprovals
from llmgw_desktop.ui.consent import DeskConsent
from llmgw_desktop.ui.decision_dialog import BUTTON_ORDER, DecisionDialog
from llmgw_desktop.ui.qt import Qt
from tests.ui.approval_requests import approval_request
from tests.waiting import until

RISKY = approval_request(
    "git push --force origin main && sudo rm -rf /srv/app",
    permission_mode="bypassPermissions",
    full_auto=True,
)
ASKING = ConsentRequest(
    "laptop-editor", "Laptop editor", "http://127.0.0.1:9/callback", ("mcp",), "127.0.0.1"
)
TIMEOUT_S = 30.0


def _layout(box: DecisionDialog) -> tuple[list[str], str, str, int]:
    """What a hand learns: the buttons left to right, the default, the escape, and how far the
    safe choice sits from the dialog's right edge."""
    shown = sorted(box.buttons(), key=lambda b: b.mapTo(box, b.rect().topLeft()).x())
    deny = box.deny_button
    from_right = box.width() - deny.mapTo(box, deny.rect().topRight()).x()
    return (
        [b.text() for b in shown],
        box.defaultButton().text(),
        box.escapeButton().text(),
        (from_right),
    )


async def _both(
    qtbot: QtBot, answer: Callable[[DecisionDialog], Awaitable[None] | None]
) -> tuple[Any, bool, list[tuple[list[str], str, str, int]], list[str]]:
    """Open an approval and a consent, each answered by `answer`; the approval's decision,
    whether the consent was approved, each dialog's layout and countdown line."""
    gate = ApprovalGate(allow_bypass=True, threshold=60, ask_at_desk=True, desk_timeout_s=TIMEOUT_S)
    queue = ConsentQueue(timeout_s=TIMEOUT_S)
    approvals, consent = DeskApprovals(gate), DeskConsent(queue)
    layouts, countdowns = [], []
    try:
        deciding = asyncio.get_running_loop().create_task(gate.decide(RISKY))
        approval = await until(lambda: next(iter(approvals.open_dialogs.values()), None), "ask")
        pending = queue.ask(ASKING)
        asked = await until(lambda: next(iter(consent.open_dialogs.values()), None), "consent")
        for box in (approval, asked):
            qtbot.addWidget(box)
            box.resize(640, box.sizeHint().height())
            box.show()
            layouts.append(_layout(box))
            countdowns.append(box.informativeText())
            assert box.focusWidget() is box.deny_button  # the safe choice holds the focus
            done = answer(box)
            if done is not None:
                await done
        decision = await deciding
        approved = await pending.decision
        return decision, approved, layouts, countdowns
    finally:
        approvals.detach()
        consent.detach()


@pytest.mark.parametrize("key", [Qt.Key.Key_Escape, Qt.Key.Key_Return])
def test_both_dialogs_put_deny_in_the_same_place_and_escape_or_return_denies(
    qloop: qasync.QEventLoop, qtbot: QtBot, key: Qt.Key
) -> None:
    decision, approved, layouts, countdowns = qloop.run_until_complete(
        _both(qtbot, lambda box: qtbot.keyClick(box, key))
    )
    assert decision.allowed is False and decision.decided_by == "desk"
    assert approved is False
    assert BUTTON_ORDER == ("Deny", "Approve")
    approval, asked = layouts
    # Approving a risky call lets it run once; a consent grants access: Approve says which.
    assert approval[:3] == (["Deny", "Approve once"], "Deny", "Deny")
    assert asked[:3] == (["Deny", "Approve"], "Deny", "Deny")
    assert approval[3] == asked[3]  # Deny as far from the right edge in both
    assert countdowns == [f"Denies in {int(TIMEOUT_S)} s"] * 2


def test_approve_takes_a_deliberate_press_in_both(qloop: qasync.QEventLoop, qtbot: QtBot) -> None:
    """Tab to Approve and Space: the keyboard way to say yes, the same in both."""

    def approve(box: DecisionDialog) -> None:
        qtbot.keyClick(box.deny_button, Qt.Key.Key_Tab)
        assert box.focusWidget() is box.approve_button
        qtbot.keyClick(box.approve_button, Qt.Key.Key_Space)

    decision, approved, _layouts, _countdowns = qloop.run_until_complete(_both(qtbot, approve))
    assert decision.allowed is True and approved is True
