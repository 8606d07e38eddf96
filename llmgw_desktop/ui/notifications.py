"""The notification history: every message the app showed, newest first, kept for a while.

Tray balloons and status-bar messages vanish after a few seconds, and a person away from the
desk misses them. `NotificationLog` keeps the last `MAX_NOTIFICATIONS` of them with their time
and level; `NotificationsPage` lists them in the dashboard (and so in the tray's Open menu).

The log is fed from three places: the engine's notices (through the bridge, with their
level), the tray's own balloons (a long job ended, a provider went down, a question waits),
and the window's status bar (whatever a page or action shows there). A notice is also shown in
the status bar, so the same text again within `REPEAT_S` is the same notification and is kept
once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QObject,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = ["MAX_NOTIFICATIONS", "Notification", "NotificationLog", "NotificationsPage"]

MAX_NOTIFICATIONS = 200
# The status bar repeats what a notice said a moment earlier: one notification, not two.
REPEAT_S = 1.0
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Notification:
    at: datetime  # local time, as the person reads it
    level: str  # "info", "warning", "error", or "status" (a status-bar message)
    text: str


class NotificationLog(QObject):
    """The last `limit` notifications; `added` fires with each new one."""

    added = Signal(object)

    def __init__(
        self,
        *,
        limit: int = MAX_NOTIFICATIONS,
        now: Callable[[], datetime] = datetime.now,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.limit = limit
        self._now = now
        self._clock = clock
        self._entries: deque[Notification] = deque(maxlen=limit)
        self._last: tuple[str, float] = ("", 0.0)

    def record(self, level: str, text: str) -> None:
        """Keep one notification (empty text, or a repeat within `REPEAT_S`, is ignored)."""
        text = text.strip()
        if not text:
            return
        at = self._clock()
        last_text, last_at = self._last
        self._last = (text, at)
        if text == last_text and at - last_at < REPEAT_S:
            return
        entry = Notification(self._now(), level, text)
        self._entries.append(entry)
        self.added.emit(entry)

    def entries(self) -> list[Notification]:
        """Newest first."""
        return list(reversed(self._entries))


class NotificationsPage(Page):
    KEY = "notifications"
    TITLE = "Notifications"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.log = NotificationLog(parent=self)
        context.bridge.notice.connect(self.log.record)

        self.table = QTableWidget(0, 3)
        self.table.setObjectName("notifications")
        self.table.setAccessibleName("Notification history")
        self.table.setHorizontalHeaderLabels(["Time", "Level", "Message"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel("Nothing yet: messages the app shows are listed here.")
        self.empty_label.setObjectName("notificationsEmpty")

        column = QVBoxLayout(self)
        column.addWidget(
            QLabel(
                f"What the tray and the status bar said, newest first (the last {self.log.limit})."
            )
        )
        column.addWidget(self.empty_label)
        column.addWidget(self.table, 1)
        self.log.added.connect(self._add_row)

    def _add_row(self, entry: Notification) -> None:
        self.empty_label.hide()
        self.table.insertRow(0)
        for col, value in enumerate((entry.at.strftime(TIME_FORMAT), entry.level, entry.text)):
            item = QTableWidgetItem(value)
            item.setToolTip(entry.text)
            self.table.setItem(0, col, item)
        while self.table.rowCount() > self.log.limit:
            self.table.removeRow(self.table.rowCount() - 1)
        self.table.resizeRowToContents(0)
