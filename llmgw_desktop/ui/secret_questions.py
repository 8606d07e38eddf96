"""Ask the person at the desk about a request holding secrets (`guard.secrets = ask`), or
matching a rule of the operator's that asks (`guard.rules`): block it, send it with the
secrets replaced by placeholders (offered only where it holds secrets), or send it once as it
is.

The desk's one question dialog (`decision_dialog.py`), as the approval and the consent use it:
non-modal, Block on the left as the default and the escape (Return, Escape and closing the
dialog block), "Redact and send" in the middle and "Send once" on the right, drawn as the
destructive choice, with a countdown to the operator's fallback (`guard.ask_fallback`). It
says who sends what to which provider, and shows each secret found in its line with the value
masked: what was found, where, never the secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from llmgw_desktop.engine.api import SecretQuestion, SecretQuestions
from llmgw_desktop.ui.approvals import who_asks
from llmgw_desktop.ui.decision_dialog import DecisionDialog, QuestionDesk
from llmgw_desktop.ui.qt import QWidget

__all__ = ["DeskSecrets", "findings_text"]

log = logging.getLogger(__name__)
# Findings listed in the dialog; the rest are counted.
SHOWN_FINDINGS = 12


def findings_text(question: SecretQuestion) -> str:
    """Each finding: its kind and place, the value masked, and its line with the value
    replaced by its kind."""
    lines = []
    for finding in question.findings[:SHOWN_FINDINGS]:
        lines.append(f"{finding.describe()}: {finding.masked}")
        lines.append(f"    {finding.excerpt}")
    left = len(question.findings) - SHOWN_FINDINGS
    if left > 0:
        lines.append(f"… and {left} more")
    return "\n".join(lines)


class DeskSecrets(QuestionDesk):
    """Shows each secret question as a dialog and reports the choice to the guard."""

    def __init__(
        self,
        questions: SecretQuestions,
        parent_window: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._questions = questions
        self._parent = parent_window
        self._clock = clock
        questions.attach_desk(self.show)

    def detach(self) -> None:
        self._questions.attach_desk(None)
        for box in list(self.open_dialogs.values()):
            box.close()

    def show(self, question: SecretQuestion) -> None:
        who = who_asks(question.caller, question.principal)
        heading = f"A request to {question.provider} {_holds(question)}"
        redact = bool(question.secrets)
        choices = (
            "Block it, send it with each secret replaced by a placeholder (put back where the "
            "answer echoes it), or send it once as it is."
            if redact
            else "Block it, or send it once as it is."
        )
        box = DecisionDialog(
            f"llmgw-desktop: {heading}",
            f"{who} is sending a request to {question.provider} ({question.model}) that "
            f"{_holds(question)}. {choices}\n\nWhat was found, the values masked:",
            literal=findings_text(question),
            deadline=self._clock() + self._questions.timeout_s,
            clock=self._clock,
            heading=heading,
            deny_label="Block",
            middle_label="Redact and send" if redact else "",
            approve_label="Send once",
            destructive=True,
            parent=self._parent,
        )
        box.setObjectName(f"secrets:{question.id}")

        def answered(_result: int) -> None:
            self._forget(question.id)
            choice = "send" if box.approved() else "redact" if box.chose_middle() else "block"
            in_time = self._questions.answer(question.id, choice)
            if not in_time:
                log.info("secret question %s was answered after it had ended", question.id)
            words = {
                "send": f"Sent once: {who}'s request to {question.provider}, secrets and all.",
                "redact": f"Sent with placeholders: {who}'s request to {question.provider}.",
                "block": f"Blocked: {who}'s request to {question.provider}.",
            }[choice]
            if not in_time:
                words = f"No answer in time: {who}'s request to {question.provider} was decided "
                words += f"by guard.ask_fallback ({self._questions.fallback})."
            self._tell(question.id, "warning" if not in_time else "info", words, ("recorder", ""))

        box.finished.connect(answered)
        question.answer.add_done_callback(lambda _f: self._close(question.id))
        self._track(question.id, box)
        box.open()

    def _close(self, question_id: str) -> None:
        box = self._forget(question_id)
        if box is not None:
            box.close()


def _holds(question: SecretQuestion) -> str:
    """`holds 2 secrets`, `matches your rule pipe-to-shell`, or both."""
    parts = []
    count = len(question.secrets)
    if count:
        parts.append(f"holds {count} secret{'s' * (count != 1)}")
    if question.rules:
        names = ", ".join(question.rules)
        parts.append(f"matches your rule{'s' * (len(question.rules) != 1)} {names}")
    return " and ".join(parts)
