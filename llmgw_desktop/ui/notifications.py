"""The notification history: every message the app showed, newest first, kept for a while.

Tray balloons and status-bar messages vanish after a few seconds, and a person away from the
desk misses them. `NotificationLog` keeps the last `MAX_NOTIFICATIONS` of them with their time
and level; `NotificationsPage` lists them in the dashboard (and so in the tray's Open menu).

The log is fed from four places: the engine's notices (through the bridge, with their level,
and the place they are about: a budget's notice opens Budgets), the tray's own balloons (a long
job ended, a provider went down, a question waits), the desk's answers to its questions (how an
approval or a consent was answered, or that it timed out), and the window's status bar
(whatever a page or action shows there). A notice is also shown in the status bar, so the same
text again within `REPEAT_S` is the same notification and is kept once.

The page lists them with their level as a glyph and a word in its tone (error for calls
refused, a job failed or a provider failing, red as Jobs and the header show them), rows as
tall as their wrapped text, and an *Open* button on each row, just before its words (at the
row's far end, at 1920 px it stood ~1,000 px from the words it opens). Every message has a
place: a notice its topic's page, a tray message the place its click opens, a question's
answer where that shows, a status-bar line the page it was shown on (Enter or a double-click
on the row does the same).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.navigator import navigator_of
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QObject,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import tone_item

__all__ = ["MAX_NOTIFICATIONS", "Notification", "NotificationLog", "NotificationsPage"]

MAX_NOTIFICATIONS = 200
# The status bar repeats what a notice said a moment earlier: one notification, not two.
REPEAT_S = 1.0
TIME_FORMAT = "%H:%M:%S"  # today's; another day's says its date too
DAY_FORMAT = "%Y-%m-%d %H:%M"
# A level's glyph and tone; "status" is a status-bar line (a page's outcome or error).
LEVEL_LOOK = {
    "error": ("error", "error"),
    "warning": ("warning", "warning"),
    "info": ("info", "info"),
    "status": ("info", "muted"),
}
# Where an engine notice's topic opens.
TOPIC_PLACES = {"budget": "budgets", "providers": "providers", "mcp-servers": "mcp-servers"}
COLUMNS = ("Time", "Level", "Go to", "Message")
OPEN, MESSAGE = 2, 3


@dataclass(frozen=True)
class Notification:
    at: datetime  # local time, as the person reads it
    level: str  # "info", "warning", "error", or "status" (a status-bar message)
    text: str
    place: str = ""  # the page it is about (`MainWindow.open_place`), "" for none
    detail: str = ""  # what to choose there


def when_text(at: datetime, now: datetime) -> str:
    """`08:16:49` today, `2026-11-23 08:16` another day."""
    return at.strftime(TIME_FORMAT if at.date() == now.date() else DAY_FORMAT)


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

    def record(self, level: str, text: str, place: str = "", detail: str = "") -> None:
        """Keep one notification (empty text, or a repeat within `REPEAT_S`, is ignored)."""
        text = text.strip()
        if not text:
            return
        at = self._clock()
        last_text, last_at = self._last
        self._last = (text, at)
        if text == last_text and at - last_at < REPEAT_S:
            return
        entry = Notification(self._now(), level, text, place, detail)
        self._entries.append(entry)
        self.added.emit(entry)

    def record_about(self, level: str, text: str, topic: str) -> None:
        """Keep an engine notice about a topic, with the place it opens (one without a known
        topic is kept as the plain notice that follows it, about the page shown then)."""
        if topic in TOPIC_PLACES:
            self.record(level, text, TOPIC_PLACES[topic])

    def entries(self) -> list[Notification]:
        """Newest first."""
        return list(reversed(self._entries))


class NotificationsPage(Page):
    KEY = "notifications"
    TITLE = "Notifications"
    BLURB = f"What the tray and the status bar said, newest first (the last {MAX_NOTIFICATIONS})."

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.log = NotificationLog(parent=self)
        # The engine's notices with their topic first; the bridge's plain notices (the desk's
        # own) after, about the page shown then: the same text twice is kept once.
        context.bridge.noticeAbout.connect(self.log.record_about)
        context.bridge.notice.connect(
            lambda level, text: self.log.record(level, text, self._shown_place())
        )

        self._entries: list[Notification] = []  # as the rows show them, newest first

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("notifications")
        self.table.setAccessibleName("Notification history")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        # Every row as tall as its wrapped text, measured by Qt whenever the width changes
        # (rows measured one by one while the page was hidden came out 18 or 28 px).
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        # Open just before the words it opens, whatever the window's width.
        header.setSectionResizeMode(OPEN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MESSAGE, QHeaderView.ResizeMode.Stretch)
        self.table.itemActivated.connect(lambda item: self.open_row(item.row()))
        self.body = EmptyOr(
            self.table,
            EmptyState(
                "notifications",
                "Nothing yet",
                "Messages the app shows (an approval waiting, a provider failing, a budget "
                "reached, a job stuck) are listed here, each with a way to its place.",
            ),
        )
        self.empty_label = self.body.empty
        self.body.show_empty(True)

        column = QVBoxLayout(self)
        column.addWidget(self.body, 1)
        self.log.added.connect(self._add_row)

    def _add_row(self, entry: Notification) -> None:
        self.body.show_empty(False)
        self.table.insertRow(0)
        self._entries.insert(0, entry)
        now = datetime.now()
        when = QTableWidgetItem(when_text(entry.at, now))
        when.setToolTip(entry.at.strftime("%Y-%m-%d %H:%M:%S"))
        icon, tone = LEVEL_LOOK.get(entry.level, ("info", "muted"))
        level = QTableWidgetItem(entry.level)
        level.setIcon(glyph(icon, tone))
        tone_item(level, tone)
        message = QTableWidgetItem(entry.text)
        message.setToolTip(entry.text)
        for col, item in enumerate((when, level, QTableWidgetItem(), message)):
            self.table.setItem(0, col, item)
        if entry.place:
            button = QPushButton("Open")
            button.setObjectName("openNotification")
            button.setIcon(glyph("open"))
            button.setToolTip("Show what this message is about")
            button.clicked.connect(lambda _=False, e=entry: self.open_entry(e))
            holder = QWidget()  # the button at the top of a tall row, as its first line
            row = QHBoxLayout(holder)
            row.setContentsMargins(2, 0, 2, 0)
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            self.table.setCellWidget(0, OPEN, holder)
        while self.table.rowCount() > self.log.limit:
            self.table.removeRow(self.table.rowCount() - 1)
            self._entries.pop()

    def open_button(self, row: int) -> QPushButton | None:
        """Row `row`'s Open button, or None for a row without a place."""
        holder = self.table.cellWidget(row, OPEN)
        return None if holder is None else holder.findChild(QPushButton)

    def _shown_place(self) -> str:
        """The page the window shows now ("" without a window), for a plain notice."""
        navigator = navigator_of(self)
        return navigator.shown_key() if navigator is not None else ""

    def open_row(self, row: int) -> None:
        """Open the place of the notification in `row` (nothing for one without a place)."""
        if 0 <= row < len(self._entries):
            self.open_entry(self._entries[row])

    def open_entry(self, entry: Notification) -> None:
        navigator = navigator_of(self)
        if entry.place and navigator is not None:
            navigator.open_place(entry.place, entry.detail)
