"""Log: the tail of the app's log file, newest at the bottom, following new lines while shown.

The file is read by `LogTail` (`log_tail.py`) off the loop, once a second while the page is
shown: only the bytes appended since the last read, at most the last 2,000 lines kept. Secrets
are masked before a record reaches the file, so the page shows the file as it is. Filters (a
lowest level, a piece of text) choose which of the kept lines are shown. Warnings and errors
carry their glyph and tone, and long lines wrap unless *Wrap lines* is off (`log_view.py`).
"""

from __future__ import annotations

import asyncio

from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import home_short
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.log_tail import LEVELS, MAX_LINES, LogLine, LogTail, TailUpdate
from llmgw_desktop.ui.pages.log_view import LogView
from llmgw_desktop.ui.qt import (
    QComboBox,
    QDesktopServices,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
)

__all__ = ["LogPage"]

POLL_MS = 1000
ROTATED = "──── the log file was rotated or replaced; what follows is from the new file ────"
ALWAYS = 100  # above every level: the rotation marker shows under any level filter


class LogPage(Page):
    KEY = "log"
    TITLE = "Log"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.tail = LogTail(context.facts.log_file)
        self._reading = False
        self._exists: bool | None = None
        self._shown = 0  # lines in the view (counting the view's text on every read costs)

        path = QLabel(home_short(str(self.tail.path)))
        path.setToolTip(str(self.tail.path))
        path.setObjectName("logPath")
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        path.setWordWrap(True)
        self.status_label = QLabel("Reading…")
        self.status_label.setObjectName("logStatus")
        self.status_label.setWordWrap(True)

        self.level_choice = _level_choice()
        self.level_choice.currentIndexChanged.connect(lambda _index: self.rebuild())
        self.text_filter = QLineEdit()
        self.text_filter.setObjectName("logFilter")
        self.text_filter.setPlaceholderText("Show only lines containing…")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(lambda _text: self.rebuild())
        open_folder = QPushButton("Open folder")
        open_folder.setToolTip("Open the folder that holds the log files")
        open_folder.clicked.connect(self.open_folder)
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the lines shown to the clipboard")
        copy.clicked.connect(self.copy_shown)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Level"))
        controls.addWidget(self.level_choice)
        controls.addWidget(self.text_filter, 1)
        controls.addWidget(open_folder)
        controls.addWidget(copy)

        self.view = LogView()
        self.view.lookChanged.connect(self.rebuild)  # the lines again, in the new colours
        self.wrap_switch = Switch("Wrap lines")
        self.wrap_switch.setObjectName("logWrap")
        self.wrap_switch.setChecked(True)
        self.wrap_switch.setToolTip("Off: each record on one line, the view scrolls sideways")
        self.wrap_switch.toggled.connect(self.view.set_wrap)
        controls.insertWidget(3, self.wrap_switch)

        column = QVBoxLayout(self)
        column.addWidget(path)
        column.addWidget(self.status_label)
        column.addLayout(controls)
        column.addWidget(self.view, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    def page_shown(self) -> None:
        self.poll()
        self._timer.start()

    def page_hidden(self) -> None:
        self._timer.stop()

    @property
    def following(self) -> bool:
        return self._timer.isActive()

    def shown_text(self) -> str:
        """The text the view shows now (as the file has it)."""
        return self.view.plain_text()

    def poll(self) -> None:
        """Read what the file gained since the last read (one read at a time)."""
        if not self._reading:
            self._reading = self.tasks.spawn(self._read(), what="read the log file")

    async def _read(self) -> None:
        try:
            update = await asyncio.to_thread(self.tail.read_new)
        finally:
            self._reading = False
        self._show(update)

    def _show(self, update: TailUpdate) -> None:
        if update.rotated:
            # The kept lines stay (they are still true); a marker says where the new file begins.
            self.tail.lines.append(LogLine(ALWAYS, ROTATED))
            self._append([LogLine(ALWAYS, ROTATED)])
        self.tail.keep(update)
        self._append(update.new)
        self._exists = update.exists
        self._show_status()

    def _append(self, lines: tuple[LogLine, ...] | list[LogLine]) -> None:
        shown = [line for line in lines if self._matches(line)]
        if not shown:
            return
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        self.view.add_lines(shown)
        self._shown = min(MAX_LINES, self._shown + len(shown))
        if at_bottom:  # following; a person who scrolled up to read keeps their place
            bar.setValue(bar.maximum())

    def rebuild(self) -> None:
        """Show the kept lines that pass the filters (a filter changed)."""
        self._shown = self.view.show_lines(line for line in self.tail.lines if self._matches(line))
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._show_status()

    def _matches(self, line: LogLine) -> bool:
        if line.level < int(self.level_choice.currentData()):
            return False
        needle = self.text_filter.text().strip().casefold()
        return not needle or needle in line.text.casefold()

    def _show_status(self) -> None:
        if self._exists is False:
            text = (
                "No log file yet. It will appear at the path above when the app writes its "
                "first line."
            )
        elif self._exists is None:
            text = "Reading…"
        else:
            kept = sum(1 for line in self.tail.lines if line.level != ALWAYS)
            text = (
                f"The last {kept:,} lines (at most {MAX_LINES:,}), {self._shown:,} shown; "
                "new lines appear at the bottom while this page is open."
            )
        if self.status_label.text() != text:
            self.status_label.setText(text)

    def copy_shown(self) -> None:
        QGuiApplication.clipboard().setText(self.shown_text())

    def open_folder(self) -> None:
        folder = self.tail.path.parent
        if not folder.is_dir():
            self.show_error(f"The log folder {folder} does not exist yet.")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.show_error(f"Could not open {folder}: no file manager answered.")


def _level_choice() -> QComboBox:
    """The lowest level shown; the lowest of all is everything the file holds (log.level
    decides what it holds)."""
    choice = QComboBox()
    choice.setObjectName("logLevel")
    choice.setToolTip("The lowest level shown (a traceback goes with its record)")
    choice.addItem("All levels", LEVELS["DEBUG"])
    for name in ("INFO", "WARNING", "ERROR"):
        choice.addItem(f"{name} and above", LEVELS[name])
    return choice
