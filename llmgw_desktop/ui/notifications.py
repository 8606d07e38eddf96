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

The history outlives a restart: each one is appended to `notifications.jsonl` in the data
folder as it is kept (`NotificationFile`; a line a message, 0600) and the last `limit` are read
back when the window is built, so what the tray said overnight is still listed after a reboot.
The file is rewritten with the last `limit` once it holds twice that; a line that is not a
message is skipped, and a write that fails (a full disk) is said once in the log while the
history goes on in memory. It holds the words the window showed, never a secret's value.

The page lists them with their level as a glyph and a word in its tone (error for calls
refused, a job failed or a provider failing, red as Jobs and the header show them), rows as
tall as their wrapped text, and an *Open* button on each row, just before its words (at the
row's far end, at 1920 px it stood ~1,000 px from the words it opens). Every message has a
place: a notice its topic's page, a tray message the place its click opens, a question's
answer where that shows, a status-bar line the page it was shown on (Enter or a double-click
on the row does the same).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from llmgw_desktop.config.paths import ensure_private_dir, write_private_atomically
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

__all__ = [
    "MAX_NOTIFICATIONS",
    "Notification",
    "NotificationFile",
    "NotificationLog",
    "NotificationsPage",
]

log = logging.getLogger(__name__)

MAX_NOTIFICATIONS = 200
# The file the history is kept in, in the data folder.
HISTORY_FILE = "notifications.jsonl"
# Read back from the file's end at most: twice the history is far less (a line is ~200 bytes),
# so a file grown by other hands costs a start no more than this.
HISTORY_READ_BYTES = 1 << 20
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
    # With its zone (UTC offset), so it is the same moment after the machine's zone changes
    # (a flight, summer time); shown in the zone the machine is in then.
    at: datetime
    level: str  # "info", "warning", "error", or "status" (a status-bar message)
    text: str
    place: str = ""  # the page it is about (`MainWindow.open_place`), "" for none
    detail: str = ""  # what to choose there


class NotificationFile:
    """The history on disk: one JSON object a line, appended as each is kept, read back at
    start, rewritten with the last `limit` once it holds twice that."""

    def __init__(self, path: Path, limit: int = MAX_NOTIFICATIONS) -> None:
        self.path = path
        self.limit = limit
        self._lines = 0  # in the file, as far as this process knows
        self._failing = False  # a write failed: said once until one succeeds

    def read(self) -> list[Notification]:
        """The last `limit` notifications in the file, oldest first (none when it is missing
        or unreadable: said in the log, and the file is left as it is)."""
        try:
            with self.path.open("rb") as file:
                size = file.seek(0, os.SEEK_END)
                file.seek(max(0, size - HISTORY_READ_BYTES))
                data = file.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("notifications: the history in %s cannot be read: %s", self.path, exc)
            return []
        lines = data.splitlines()
        if len(data) == HISTORY_READ_BYTES and lines:
            lines = lines[1:]  # begun mid-line
        entries = [e for e in map(_parsed, lines) if e is not None]
        if skipped := len(lines) - len(entries):
            log.warning(
                "notifications: %d line(s) of %s are not a notification; skipped",
                skipped,
                self.path,
            )
        self._lines = len(lines)
        return entries[-self.limit :]

    def append(self, entry: Notification, kept: Iterable[Notification]) -> None:
        """Add `entry` to the file; once it holds twice `limit`, write `kept` (the history
        now, oldest first) in its place."""
        try:
            if self._lines >= 2 * self.limit:
                text = "".join(_line(e) for e in kept)
                write_private_atomically(self.path, text)
                self._lines = text.count("\n")
            else:
                ensure_private_dir(self.path.parent)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as file:
                    file.write(_line(entry))
                self._lines += 1
        except OSError as exc:
            if not self._failing:
                log.warning(
                    "notifications: %s cannot be written (%s); the history is kept in memory "
                    "only until it can",
                    self.path,
                    exc,
                )
            self._failing = True
            return
        self._failing = False


def _line(entry: Notification) -> str:
    fields = {"at": entry.at.isoformat(), "level": entry.level, "text": entry.text}
    if entry.place:
        fields.update(place=entry.place, detail=entry.detail)
    return json.dumps(fields, ensure_ascii=False) + "\n"


def _parsed(line: bytes) -> Notification | None:
    """The notification a line of the file holds, or None for one that holds none."""
    try:
        fields = json.loads(line)
        # A line written before times had their zone holds this machine's local time.
        at = datetime.fromisoformat(fields["at"]).astimezone()
        level, text = fields["level"], fields["text"]
        place, detail = fields.get("place", ""), fields.get("detail", "")
    except (ValueError, TypeError, KeyError):
        return None
    if not all(isinstance(v, str) for v in (level, text, place, detail)) or not text:
        return None
    return Notification(at, level, text, place, detail)


def when_text(at: datetime, now: datetime) -> str:
    """`08:16:49` today, `2026-11-23 08:16` another day, in the machine's zone now."""
    at, now = at.astimezone(), now.astimezone()
    return at.strftime(TIME_FORMAT if at.date() == now.date() else DAY_FORMAT)


def _local_now() -> datetime:
    return datetime.now().astimezone()


class NotificationLog(QObject):
    """The last `limit` notifications, kept in `file` too when one is given (those it held
    are the log's first); `added` fires with each new one."""

    added = Signal(object)

    def __init__(
        self,
        *,
        limit: int = MAX_NOTIFICATIONS,
        now: Callable[[], datetime] = _local_now,
        clock: Callable[[], float] = time.monotonic,
        file: NotificationFile | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.limit = limit
        self._now = now
        self._clock = clock
        self._file = file
        self._entries: deque[Notification] = deque(maxlen=limit)
        if file is not None:
            self._entries.extend(file.read())
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
        if self._file is not None:
            self._file.append(entry, self._entries)
        self.added.emit(entry)

    def record_about(self, level: str, text: str, topic: str, detail: str = "") -> None:
        """Keep an engine notice about a topic, with the place it opens and what to choose
        there (`detail`: a budget's key); one without a known topic is kept as the plain
        notice that follows it, about the page shown then."""
        if topic in TOPIC_PLACES:
            self.record(level, text, TOPIC_PLACES[topic], detail)

    def entries(self) -> list[Notification]:
        """Newest first."""
        return list(reversed(self._entries))


class NotificationsPage(Page):
    KEY = "notifications"
    TITLE = "Notifications"
    BLURB = f"What the tray and the status bar said, newest first (the last {MAX_NOTIFICATIONS})."

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        history = NotificationFile(context.engine.settings.data_path / HISTORY_FILE)
        self.log = NotificationLog(file=history, parent=self)
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
        for entry in reversed(self.log.entries()):  # those kept before this start
            self._add_row(entry)
        self.log.added.connect(self._add_row)

    def _add_row(self, entry: Notification) -> None:
        self.body.show_empty(False)
        self.table.insertRow(0)
        self._entries.insert(0, entry)
        when = QTableWidgetItem(when_text(entry.at, _local_now()))
        when.setToolTip(entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"))
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
