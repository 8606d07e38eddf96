"""Ask the person at the desk about a risky call: approve or deny, with a timeout that denies.

The engine's approval gate holds the call while the question is open; the dialog is the desk's
one question dialog (`decision_dialog.py`, shared with the OAuth consent): non-modal, [Deny]
[Approve] in that order, Deny the default and the escape, a countdown, the prompt shown in a
monospaced pane and never split inside a word.

The dialog says in plain words what is asked ("claude-code wants to run a risky command") and
how risky ("High risk: 3 times the approval threshold"), who asks (the client's own name
and the principal it runs as: the local user, the static token's holder, an OAuth client, a
user a trusted proxy names), where the call would run (the workspace and directory), why the
policy stops it and what permission is asked (`risk_words.py`), marks the risky parts of the
prompt, and counts down to the automatic denial. Its Approve reads "Approve once" and is
drawn as the destructive choice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from llmgw_desktop.engine.api import ApprovalGate, PendingApproval, provider_info
from llmgw_desktop.ui.decision_dialog import DecisionDialog, QuestionDesk
from llmgw_desktop.ui.qt import QWidget
from llmgw_desktop.ui.risk_words import (
    NO_CONFIRMATIONS,
    permission_words,
    plain_reason,
    risk_words,
    risky_spans,
)
from llmgw_desktop.ui.terms import caller_words, who_words

__all__ = ["DeskApprovals", "prompt_preview", "where_it_runs", "who_asks"]

log = logging.getLogger(__name__)
PROMPT_PREVIEW = 600


def who_asks(caller: str, principal: str) -> str:
    """`Cursor (OAuth client laptop)`: the client's own name, and whom it runs as; a tool
    of this desk's that gave no name is `A tool at this desk` (a sentence's subject)."""
    if not caller and principal == "local":
        return "A tool at this desk"  # a sentence's subject, where the lists say "you"
    return caller_words(caller, principal)


def provider_words(provider: str) -> str:
    """A provider as the Providers page names it ("Claude Code" for `claude`)."""
    try:
        return provider_info(provider).display_name
    except KeyError:
        return provider


def where_it_runs(workspace: str, working_dir: str) -> str:
    """The workspace (and directory) the call would run in, for the dialog."""
    if workspace and working_dir:
        return f"Workspace: {workspace} ({working_dir})"
    if workspace:
        return f"Workspace: {workspace}"
    if working_dir:
        return f"Directory: {working_dir}"
    return "Directory: the provider's default (none named)"


class DeskApprovals(QuestionDesk):
    """Shows each pending approval as a dialog and reports the answer to the gate."""

    def __init__(
        self,
        gate: ApprovalGate,
        parent_window: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._gate = gate
        self._parent = parent_window
        self._clock = clock
        gate.attach_desk(self.show)

    def detach(self) -> None:
        self._gate.attach_desk(None)
        for box in list(self.open_dialogs.values()):
            box.close()

    def show(self, pending: PendingApproval) -> None:
        request = pending.request
        # The gate's own timer denies; the dialog only shows how long is left.
        asker = request.caller or who_words(request.principal)
        heading = f"{asker} wants to run a risky command"
        # Each reason once (the policy can find one thing twice), and full auto said once:
        # in its bullet when the policy names it, else in the permission line.
        bullets = list(dict.fromkeys(plain_reason(reason) for reason in pending.reasons))
        said_full_auto = any(NO_CONFIRMATIONS in bullet for bullet in bullets)
        box = DecisionDialog(
            f"llmgw-desktop: {heading}",
            f"{who_asks(request.caller, request.principal)} asks "
            f"{provider_words(request.provider)} to run "
            "this call.\n"
            f"{where_it_runs(request.workspace, request.working_dir)}\n\n"
            "Why the policy stops it:\n"
            + "\n".join(f"• {bullet}" for bullet in bullets)
            + "\n\n"
            + permission_words(request.permission_mode, request.full_auto and not said_full_auto)
            + "\n\nThe prompt, its risky parts marked:",
            literal=prompt_preview(request.prompt),
            # The whole prompt one toggle away: what runs is what you read.
            whole_literal=request.prompt if len(request.prompt) > PROMPT_PREVIEW else "",
            deadline=self._clock() + self._gate.desk_timeout_s,
            clock=self._clock,
            heading=heading,
            risk=risk_words(pending.score, self._gate.threshold),
            marks=risky_spans,
            # Approving lets this one call run, harm included: said so, and drawn so.
            approve_label="Approve once",
            destructive=True,
            parent=self._parent,
        )
        box.setObjectName(f"approval:{pending.id}")

        def answered(_result: int) -> None:
            self._forget(pending.id)
            approved = box.approved()
            in_time = self._gate.answer(pending.id, approved)
            if not in_time:
                log.info("approval %s was answered after it had timed out", pending.id)
            who = who_asks(request.caller, request.principal)
            on = provider_words(request.provider)
            # Where it shows: an approved call runs as a job; a denied one is a request the
            # gateway refused, among the provider's failed and refused ones.
            place = ("jobs", "active") if approved and in_time else ("recorder", request.provider)
            if not in_time:
                words = f"No answer in time: {who}'s risky call on {on} was denied."
            elif approved:
                words = f"Approved: {who}'s risky call on {on} runs."
            else:
                words = f"Denied: {who}'s risky call on {on}."
            self._tell(pending.id, "warning" if not in_time else "info", words, place)

        box.finished.connect(answered)
        # A timed-out request closes its dialog: the answer would no longer count.
        pending.answer.add_done_callback(lambda _f: self._close(pending.id))
        self._track(pending.id, box)
        box.open()

    def _close(self, approval_id: str) -> None:
        box = self._forget(approval_id)
        if box is not None:
            box.close()


def prompt_preview(prompt: str) -> str:
    """The prompt's beginning and end when it is long: a dangerous instruction hidden at the
    end of a long harmless prompt must still be on screen."""
    if len(prompt) <= PROMPT_PREVIEW:
        return prompt
    half = PROMPT_PREVIEW // 2
    skipped = len(prompt) - 2 * half
    return (
        f"{prompt[:half]}\n… ({skipped:,} characters; Show the whole prompt for all) …\n"
        f"{prompt[-half:]}"
    )
