"""The Log page on a real log file written by a real rotating handler (the app's format):
it shows what is appended while shown, filters by level and text, survives rotation and a
missing file. Waits are awaited and bounded (tests/waiting.py)."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.shell.logging_setup import FORMAT
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.glyphs import glyph_char, glyph_family
from llmgw_desktop.ui.pages import log_page
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts
from llmgw_desktop.ui.pages.log_page import ROTATED, LogPage
from llmgw_desktop.ui.pages.log_tail import MAX_LINES, LogTail
from llmgw_desktop.ui.qt import QGuiApplication, QUrl
from llmgw_desktop.ui.theme import current_look
from tests.waiting import until


class WrittenLog:
    """A logger writing to `path` through the app's handler and format."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=0, backupCount=2, encoding="utf-8"
        )
        self.handler.setFormatter(logging.Formatter(FORMAT))
        self.logger = logging.getLogger(f"test.logpage.{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self.handler)

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.handler.close()


@pytest.fixture
def written(tmp_path: Path) -> Iterator[WrittenLog]:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    log = WrittenLog(log_dir / "llmgw-desktop.log")
    yield log
    log.close()


def _run(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    qtbot: QtBot,
    log_file: Path,
    body: Callable[[LogPage], Awaitable[None]],
) -> None:
    engine = Engine(loaded.settings)
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: "", open_dashboard=lambda: None, quit_app=lambda: None
    )
    facts = WindowFacts("http://127.0.0.1:1/mcp", "", engine.settings.data_path, log_file)
    page = LogPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    qtbot.addWidget(page)
    page.resize(780, 560)

    async def scenario() -> None:
        page.show()
        page.page_shown()
        try:
            await body(page)
        finally:
            page.page_hidden()
            bridge.detach()

    qloop.run_until_complete(scenario())


def _shown_lines(page: LogPage) -> list[str]:
    return page.shown_text().splitlines()


def test_shows_the_tail_and_follows_lines_appended_while_shown(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    qtbot: QtBot,
    written: WrittenLog,
    tmp_path: Path,
) -> None:
    written.logger.info("gateway listening on 127.0.0.1:3333")
    written.logger.warning("provider codex slow: 12.0 s")

    async def body(page: LogPage) -> None:
        await until(lambda: "codex slow" in page.shown_text(), "the existing lines")
        assert page.following
        assert "gateway listening" in _shown_lines(page)[0]
        written.logger.error("job 42 failed: upstream_401")
        await until(lambda: "job 42 failed" in _shown_lines(page)[-1], "the appended line")
        assert len(_shown_lines(page)) == 3  # read once each: only the new bytes
        assert "3 lines" in page.status_label.text()
        page.grab().save(str(tmp_path / "log-page.png"))

        page.copy_shown()
        assert QGuiApplication.clipboard().text() == page.shown_text()

        page.page_hidden()
        assert not page.following

    _run(qloop, loaded, qtbot, written.path, body)


def test_filters_by_lowest_level_and_by_text_with_tracebacks_kept_with_their_record(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, qtbot: QtBot, written: WrittenLog
) -> None:
    written.logger.debug("polling providers")
    written.logger.info("request rq-1 served by anthropic")
    written.logger.warning("request rq-2 retried on openai")
    try:
        raise RuntimeError("store write failed")
    except RuntimeError:
        written.logger.exception("recorder flush failed")
    written.logger.info("request rq-3 served by openai")

    async def body(page: LogPage) -> None:
        await until(lambda: "rq-3" in page.shown_text(), "every line")
        assert "polling providers" in page.shown_text()

        page.level_choice.setCurrentIndex(page.level_choice.findData(logging.ERROR))
        shown = page.shown_text()
        assert "recorder flush failed" in shown
        assert "RuntimeError: store write failed" in shown  # the traceback goes with it
        assert "rq-1" not in shown and "rq-2" not in shown and "polling" not in shown

        page.level_choice.setCurrentIndex(page.level_choice.findData(logging.INFO))
        page.text_filter.setText("OPENAI")  # case does not matter
        assert [line.split(": ", 1)[1] for line in _shown_lines(page)] == [
            "request rq-2 retried on openai",
            "request rq-3 served by openai",
        ]
        # A line appended while filtered shows only if it passes.
        written.logger.info("request rq-4 served by anthropic")
        written.logger.info("request rq-5 served by openai")
        await until(lambda: "rq-5" in page.shown_text(), "the new matching line")
        assert "rq-4" not in page.shown_text()
        page.text_filter.setText("")
        assert "rq-4" in page.shown_text()

    _run(qloop, loaded, qtbot, written.path, body)


def test_survives_rotation_and_a_truncated_file(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, qtbot: QtBot, written: WrittenLog
) -> None:
    written.logger.info("before rotation")

    async def body(page: LogPage) -> None:
        await until(lambda: "before rotation" in page.shown_text(), "the first file")
        written.handler.doRollover()  # renamed to .1, a new file under the same name
        written.logger.info("after rotation")
        await until(lambda: "after rotation" in page.shown_text(), "the new file's line")
        lines = _shown_lines(page)
        assert "before rotation" in lines[0] and lines[1] == ROTATED
        assert "after rotation" in lines[2]

        # Replaced in place by a shorter file (same inode, smaller than what was read).
        written.path.write_text("", encoding="utf-8")
        written.logger.info("x")
        await until(lambda: _shown_lines(page)[-1].endswith(": x"), "the truncated file")
        assert _shown_lines(page).count(ROTATED) == 2

    _run(qloop, loaded, qtbot, written.path, body)


def test_a_missing_file_says_where_it_will_appear_and_shows_it_once_written(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, qtbot: QtBot, tmp_path: Path
) -> None:
    log_file = tmp_path / "not-yet" / "llmgw-desktop.log"

    async def body(page: LogPage) -> None:
        await until(lambda: "No log file yet" in page.status_label.text(), "the missing file")
        assert str(log_file) in page.findChild(type(page.status_label), "logPath").text()
        assert page.shown_text() == ""
        log_file.parent.mkdir()
        log = WrittenLog(log_file)
        try:
            log.logger.warning("first words")
            await until(lambda: "first words" in page.shown_text(), "the new file")
            assert "No log file" not in page.status_label.text()
        finally:
            log.close()

    _run(qloop, loaded, qtbot, log_file, body)


def test_open_folder_opens_the_log_folder(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    qtbot: QtBot,
    written: WrittenLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(
        log_page.QDesktopServices, "openUrl", lambda url: opened.append(url) or True
    )

    async def body(page: LogPage) -> None:
        page.open_folder()
        assert [url.toLocalFile() for url in opened] == [str(written.path.parent)]

    _run(qloop, loaded, qtbot, written.path, body)


def test_the_tail_keeps_the_last_lines_and_holds_a_half_written_line(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("".join(f"2026-11-22 10:00:00,000 INFO    a: line {n}\n" for n in range(2500)))
    tail = LogTail(path)
    update = tail.read_new()
    assert not tail.lines  # the reading thread leaves them to the page's
    tail.keep(update)
    assert len(tail.lines) == MAX_LINES == len(update.new)
    assert tail.lines[-1].text.endswith("line 2499")
    with path.open("a") as file:
        file.write("2026-11-22 10:00:01,000 ERROR   a: half")
    assert tail.read_new().new == ()  # no newline yet: not a whole line
    with path.open("a") as file:
        file.write(" and the rest\n")
    (line,) = tail.read_new().new
    assert line.text.endswith("half and the rest") and line.level == logging.ERROR


def test_long_lines_wrap_and_warnings_and_errors_carry_their_glyph_and_tone(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    qtbot: QtBot,
    written: WrittenLog,
) -> None:
    """Review 41, finding 14: at 1024 px the view scrolled sideways and cut every message;
    WARNING lines looked like INFO ones."""
    written.logger.info("gateway listening on 127.0.0.1:3333 " + "and a long tail " * 20)
    written.logger.warning("provider codex slow: 12.0 s")
    written.logger.error("provider claude failed")

    async def body(page: LogPage) -> None:
        await until(lambda: "claude failed" in page.shown_text(), "the lines")
        view = page.view
        assert view.lineWrapMode() == view.LineWrapMode.WidgetWidth
        assert view.horizontalScrollBar().maximum() == 0  # nothing sideways
        assert page.wrap_switch.isChecked()
        # The glyphs are the icon font's characters; what is copied is the file's own text.
        assert all(line.startswith("20") for line in _shown_lines(page) if line)
        warning_glyph = glyph_char("warning")
        assert warning_glyph
        document = view.document()
        marked = {}  # a line's text -> (starts with a glyph, the colour of its words)
        for number in range(document.blockCount()):
            block = document.findBlockByNumber(number)
            fragments, it = [], block.begin()
            while not it.atEnd():
                fragments.append(it.fragment())
                it += 1
            words = fragments[-1].charFormat().foreground().color().name()
            glyph_font = fragments[0].charFormat().fontFamilies() == [glyph_family()]
            marked[block.text()] = (glyph_font and len(fragments) > 1, words)
        warning = next(v for k, v in marked.items() if "codex slow" in k)
        error = next(v for k, v in marked.items() if "claude failed" in k)
        info = next(v for k, v in marked.items() if "listening" in k)
        assert warning[0] and error[0] and not info[0]
        assert warning[1] == current_look().warning and error[1] == current_look().error
        assert info[1] != current_look().warning
        page.wrap_switch.setChecked(False)  # one record a line: the view scrolls sideways
        assert view.lineWrapMode() == view.LineWrapMode.NoWrap

    _run(qloop, loaded, qtbot, written.path, body)
