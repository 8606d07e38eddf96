"""The on-screen OAuth consent dialog: approve or deny a client asking for access.

While it is open the browser that started the authorization waits on the consent page and
continues by itself once this dialog is answered. The desk's one question dialog
(`decision_dialog.py`, shared with call approvals): non-modal, [Deny] [Approve] in that order,
Deny the default and the escape, and a countdown to the request's expiry, which denies and
closes the dialog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from llmgw_desktop.engine.api import ConsentQueue, PendingConsent
from llmgw_desktop.ui.decision_dialog import DecisionDialog, QuestionDesk
from llmgw_desktop.ui.qt import QStyle, QWidget
from llmgw_desktop.ui.scope_words import scope_names, scope_words

__all__ = ["DeskConsent"]

log = logging.getLogger(__name__)


class DeskConsent(QuestionDesk):
    """Shows each consent request as a dialog and reports the answer to the queue."""

    def __init__(
        self,
        queue: ConsentQueue,
        parent_window: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._queue = queue
        self._parent = parent_window
        self._clock = clock
        queue.attach_desk(self.show)

    def detach(self) -> None:
        self._queue.attach_desk(None)
        for box in list(self.open_dialogs.values()):
            box.close()

    def show(self, pending: PendingConsent) -> None:
        request = pending.request
        scopes = "\n".join(f"• {words}" for words in scope_words(request.scopes))
        heading = f"{request.client_name} wants access to this gateway"
        box = DecisionDialog(
            f"llmgw-desktop: {heading}",
            f"{request.client_name} (client {request.client_id}) asks to:\n\n{scopes}\n\n"
            f"After you answer, the sign-in goes back to: {request.redirect_uri}\n"
            f"The request came from: {request.requester}\n\n"
            "Approve only if you started this sign-in yourself.",
            # Asked as the request is made: its lifetime starts now.
            deadline=self._clock() + max(0.0, pending.expires_at - pending.created_at),
            clock=self._clock,
            icon=QStyle.StandardPixmap.SP_MessageBoxQuestion,
            heading=heading,
            parent=self._parent,
        )
        box.setToolTip(scope_names(request.scopes))
        box.setObjectName(f"consent:{pending.id}")

        def answered(_result: int) -> None:
            self._forget(pending.id)
            approved = box.approved()
            in_time = self._queue.answer(pending.id, approved, by="desk")
            if not in_time:
                log.info("consent %s was answered after it had been decided", pending.id[:8])
            who = f"{request.client_name} (client {request.client_id})"
            if not in_time:
                words = f"No answer in time: {who}'s access request was denied."
            elif approved:
                words = f"Allowed: {who} may use this gateway."
            else:
                words = f"Denied: {who}'s access request."
            # The client's grants are listed, and revoked, on the Clients page.
            self._tell(pending.id, "warning" if not in_time else "info", words, ("clients", ""))

        box.finished.connect(answered)
        pending.decision.add_done_callback(lambda _f: self._close(pending.id))
        self._track(pending.id, box)
        box.open()

    def _close(self, consent_id: str) -> None:
        box = self._forget(consent_id)
        if box is not None:
            box.close()
