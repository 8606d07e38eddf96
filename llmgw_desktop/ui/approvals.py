"""Ask the person at the desk about a risky call: approve or deny, with a timeout that denies.

The engine's approval gate holds the call while the question is open; the dialog is non-modal
(`open()`, never `exec()`), so the event loop and every other call keep running. Only a click
on Approve approves: Deny is the default button (Return) and the escape button (Escape), and
closing the dialog any other way denies too.
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.api import ApprovalGate, PendingApproval
from llmgw_desktop.ui.qt import QMessageBox, QObject, QWidget

__all__ = ["DeskApprovals"]

log = logging.getLogger(__name__)
PROMPT_PREVIEW = 600


class DeskApprovals(QObject):
    """Shows each pending approval as a dialog and reports the answer to the gate."""

    def __init__(self, gate: ApprovalGate, parent_window: QWidget | None = None) -> None:
        super().__init__()
        self._gate = gate
        self._parent = parent_window
        self.open_dialogs: dict[str, QMessageBox] = {}
        gate.attach_desk(self.show)

    def detach(self) -> None:
        self._gate.attach_desk(None)
        for box in list(self.open_dialogs.values()):
            box.close()

    def show(self, pending: PendingApproval) -> None:
        request = pending.request
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "llmgw-desktop: approve this call?",
            f"{request.principal} asks {request.provider} to run a call the policy marks as "
            f"risky (score {pending.score}).\n\n"
            + "\n".join(f"• {reason}" for reason in pending.reasons)
            + f"\n\nPermission asked: {request.permission_mode}"
            + ("  (full auto)" if request.full_auto else "")
            + f"\n\nPrompt:\n{prompt_preview(request.prompt)}"
            + f"\n\nNo answer within {self._gate.desk_timeout_s:g} s denies it.",
            parent=self._parent,
        )
        # The whole prompt, scrollable, behind "Show Details...": what runs is what you read.
        if len(request.prompt) > PROMPT_PREVIEW:
            box.setDetailedText(request.prompt)
        box.setObjectName(f"approval:{pending.id}")
        approve = box.addButton("Approve", QMessageBox.ButtonRole.AcceptRole)
        deny = box.addButton("Deny", QMessageBox.ButtonRole.RejectRole)
        # A risky call must never be approved by a reflexive Return or Escape.
        box.setDefaultButton(deny)
        box.setEscapeButton(deny)
        approve.setAutoDefault(False)

        def answered(_result: int) -> None:
            self.open_dialogs.pop(pending.id, None)
            approved = box.clickedButton() == approve
            if not self._gate.answer(pending.id, approved):
                log.info("approval %s was answered after it had timed out", pending.id)

        box.finished.connect(answered)
        # A timed-out request closes its dialog: the answer would no longer count.
        pending.answer.add_done_callback(lambda _f: self._close(pending.id))
        self.open_dialogs[pending.id] = box
        box.open()

    def _close(self, approval_id: str) -> None:
        box = self.open_dialogs.pop(approval_id, None)
        if box is not None:
            box.close()


def prompt_preview(prompt: str) -> str:
    """The prompt's beginning and end when it is long: a dangerous instruction hidden at the
    end of a long harmless prompt must still be on screen."""
    if len(prompt) <= PROMPT_PREVIEW:
        return prompt
    half = PROMPT_PREVIEW // 2
    skipped = len(prompt) - 2 * half
    return f"{prompt[:half]}\n… ({skipped:,} characters; Show Details for all) …\n{prompt[-half:]}"
