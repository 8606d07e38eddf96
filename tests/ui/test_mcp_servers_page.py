"""The MCP servers page, in the real desktop app on a qasync loop, offscreen, with real servers
behind the gateway: the Python SDK's own MCPServer (tests/fakes/mcp_crasher.py) and a server
that fails at start, writing why to its stderr. Test reports each; the switch (the page's box
and the tray's action are one) saves `enabled` in config.toml, keeping the user's comments;
Add… and Remove… write and delete a server's table, and the engine and the tray follow."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings, load_settings
from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.pages.mcp_server_detail import (
    McpServerDetail,
    offers_words,
    starts_words,
    state_kind,
    state_short,
    state_words,
)
from llmgw_desktop.ui.pages.mcp_server_dialog import AddServerDialog
from llmgw_desktop.ui.pages.mcp_servers import ON_COLUMN, McpServersPage
from llmgw_desktop.ui.qt import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QStyle,
    Qt,
    QWidget,
)
from tests.transports.mcp.upstream_support import CRASHER, oauth_protected_server
from tests.ui.desk_gateway import shown_page
from tests.ui.running_app import OnApp, desktop_app
from tests.waiting import until

BROKEN_SAYS = "broken: no API token configured"
CONFIG = f"""# The user's own servers: these comments must survive the page's writes.
[mcp.servers.crasher]
command = {sys.executable!r}   # the SDK-made server
args = [{str(CRASHER)!r}]

[mcp.servers.broken]
command = {sys.executable!r}
args = ["-c", "import sys; sys.stderr.write({BROKEN_SAYS!r} + chr(10)); sys.exit(2)"]
"""


@pytest.fixture
def desktop(loaded: LoadedSettings) -> Iterator[DesktopApp]:
    with _desktop_with(loaded, CONFIG) as app:
        yield app


@contextmanager
def _desktop_with(loaded: LoadedSettings, config: str) -> Iterator[DesktopApp]:
    """The desktop app (`desktop_app`) on `config`, written as the user's config.toml."""
    loaded.config_file.parent.mkdir(parents=True, exist_ok=True)
    loaded.config_file.write_text(config, encoding="utf-8")
    with desktop_app(load_settings()) as app:
        yield app


def _shown(desktop: DesktopApp) -> McpServersPage:
    """The app's window on its MCP servers page."""
    assert desktop.window is not None
    return shown_page(desktop.window, McpServersPage)


def _enabled(config: Path, name: str) -> object:
    return tomllib.loads(config.read_text(encoding="utf-8"))["mcp"]["servers"][name].get("enabled")


def test_the_page_tests_each_server_shows_a_failures_stderr_and_switches_them_with_the_tray(
    on_app: OnApp, desktop: DesktopApp, loaded: LoadedSettings
) -> None:
    config = loaded.config_file

    async def body(desktop: DesktopApp) -> None:
        assert desktop.actions is not None
        page = _shown(desktop)
        table = page.table
        assert table.rowCount() == 2
        assert [table.item(r, 0).text() for r in range(2)] == ["crasher", "broken"]
        # Started with the gateway; the list says it in a word, its tooltip and the
        # details in full.
        await until(lambda: table.item(0, 2).text() == "running", "crasher started")
        assert table.item(0, 2).toolTip().startswith("running")
        await until(lambda: page.selected_label.text().startswith("running"), "details")

        table.selectRow(0)
        page.test_button.click()
        await until(lambda: "works" in page.test_label.text(), "crasher tested")
        assert "tools" in page.test_label.text(), page.test_label.text()
        await until(lambda: table.item(0, 2).text() == "running", "crasher running")
        assert int(table.item(0, 3).text()) >= 5  # pid, add, crash, slow, wait, ...
        assert table.item(0, 4).text() == "1" and table.item(0, 5).text() == "2"

        table.selectRow(1)
        page.test_button.click()
        await until(lambda: "failed" in page.test_label.text(), "broken tested")
        await until(lambda: table.item(1, 2).text() == "failed", "broken failed")
        assert "exited with status 2" in table.item(1, 2).toolTip()
        await until(
            lambda: "exited with status 2" in page.selected_label.text(), "the reason shown"
        )
        await until(lambda: BROKEN_SAYS in page.stderr_view.toPlainText(), "its stderr")

        # Off on the page: saved, the tray's switch follows, its tools go from /mcp.
        action = desktop.actions.mcp_servers.actions["crasher"]
        page.switch_boxes["crasher"].setChecked(False)
        await until(lambda: _enabled(config, "crasher") is False, "saved off")
        assert not action.isChecked()
        await until(lambda: table.item(0, 2).text() == "off", "shown off")
        engine = page.engine
        offered = await engine.upstream_mcp.tools(LOCAL_CALLER)
        assert not [t for t in offered if t.server == "crasher"], offered
        text = config.read_text(encoding="utf-8")
        assert "# The user's own servers: these comments must survive" in text
        assert "# the SDK-made server" in text

        # On again from the tray's submenu: the page's box follows, and it is saved.
        menu = desktop.actions.build_menu("tray")
        submenu = menu.findChild(QMenu, "mcpServers")
        assert submenu is not None and action in submenu.actions()
        action.trigger()
        await until(lambda: _enabled(config, "crasher") is True, "saved on")
        assert page.switch_boxes["crasher"].isChecked()
        await until(lambda: table.item(0, 2).text() == "running", "started again")

    on_app(desktop, body)


def _servers(config: Path) -> dict[str, Any]:
    servers: dict[str, Any] = tomllib.loads(config.read_text(encoding="utf-8"))["mcp"]["servers"]
    return servers


def test_a_server_added_and_removed_on_the_page_reaches_the_engine_the_tray_and_config_toml(
    on_app: OnApp, desktop: DesktopApp, loaded: LoadedSettings
) -> None:
    config = loaded.config_file

    async def body(desktop: DesktopApp) -> None:
        assert desktop.actions is not None
        page = _shown(desktop)
        engine = page.engine

        # A field that is wrong is named in the dialog, which stays open; nothing is saved.
        page.add_button.click()
        dialog = page.dialog
        assert dialog is not None and dialog.isVisible()
        dialog.name.setText("added")
        dialog.command.setText(sys.executable)
        dialog.env.setPlainText("NO_EQUALS_SIGN")
        dialog.add_button.click()
        await until(lambda: "env: line 1" in dialog.problem.text(), "env refused")
        dialog.env.setPlainText("")
        dialog.kind.setCurrentIndex(1)  # Streamable HTTP
        dialog.url.setText("ftp://example.com/mcp")
        dialog.add_button.click()
        await until(lambda: "url must start with http" in dialog.problem.text(), "url")
        assert dialog.isVisible() and "added" not in _servers(config)

        # A stdio server: saved with the comments kept, offered on /mcp at once.
        dialog.kind.setCurrentIndex(0)
        dialog.args.setText(f"{str(CRASHER)!r}")
        dialog.env.setPlainText("GREETING=hello there")
        dialog.add_button.click()
        await until(lambda: not dialog.isVisible(), "dialog closed")
        assert _servers(config)["added"] == {
            "command": sys.executable,
            "args": [str(CRASHER)],
            "env": {"GREETING": "hello there"},
        }
        text = config.read_text(encoding="utf-8")
        assert "# The user's own servers: these comments must survive" in text
        assert "# the SDK-made server" in text
        assert page.names == ["crasher", "broken", "added"] and page.selected == "added"
        menu = desktop.actions.build_menu("tray")  # held: the submenu is its child
        tray = menu.findChild(QMenu, "mcpServers")
        assert tray is not None
        assert "added" in [a.text() for a in tray.actions()]
        offered = await engine.upstream_mcp.tools(LOCAL_CALLER)
        assert "added__pid" in {t.offered for t in offered}, offered

        # Removed: asked first, then stopped, gone from config.toml, the tray and /mcp.
        page.remove_selected()
        box = page.remove_box
        assert box is not None
        _button(box, "Remove").click()
        await until(lambda: "added" not in page.names, "removed from the page")
        assert "added" not in _servers(config) and "crasher" in _servers(config)
        assert "# the SDK-made server" in config.read_text(encoding="utf-8")
        assert "added" not in engine.upstream_mcp.servers
        assert "added" not in desktop.actions.mcp_servers.actions
        offered = await engine.upstream_mcp.tools(LOCAL_CALLER)
        assert not [t for t in offered if t.server == "added"], offered

    on_app(desktop, body)


def _button(box: QMessageBox, text: str) -> QAbstractButton:
    return next(b for b in box.buttons() if b.text() == text)


def test_enter_or_escape_in_the_remove_question_keeps_the_server(
    on_app: OnApp, desktop: DesktopApp, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """The question before removing a server was Yes/Cancel with Yes the default: Enter
    stopped the server and deleted its table (seen in the 2026-11-27 review under Xvfb). Its
    answer now says Remove, and Enter and Escape keep the server."""
    config = loaded.config_file

    async def body(desktop: DesktopApp) -> None:
        page = _shown(desktop)
        page.table.selectRow(page.names.index("crasher"))
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape):
            page.remove_box = None
            page.remove_button.click()
            box = await until(lambda: page.remove_box, "the remove question")
            assert "crasher" in box.text()
            assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Remove"]
            assert box.defaultButton().text() == "Cancel"
            qtbot.keyClick(box, key)
            await until(lambda box=box: not box.isVisible(), "the question answered")
            assert box.clickedButton().text() == "Cancel"  # what a removal starts on
            assert "crasher" in page.names and "crasher" in _servers(config)

    on_app(desktop, body)


def test_a_server_that_needs_sign_in_says_so_and_offers_sign_in(
    on_app: OnApp, loaded: LoadedSettings
) -> None:
    """A real OAuth-protected server (the SDK's server-side auth) nobody has signed in to:
    Test starts its sign-in, the state says so, and Sign in is offered with the address."""

    async def body(desk: DesktopApp) -> None:
        opened: list[str] = []
        page = _shown(desk)
        # The system browser is the one thing not run here: the address is kept.
        page.engine.upstream_mcp.open_url = opened.append
        assert not page.sign_in_button.isVisible()
        page.test_button.click()
        await until(lambda: opened, "the sign-in address given to the browser")
        await until(lambda: page.sign_in_button.isVisible(), "Sign in offered")
        assert page.table.item(0, 2).text().startswith("needs sign-in"), page.table.item(
            0, 2
        ).text()
        assert page.engine.upstream_mcp.sign_in_url("guarded") == opened[0]

    with (
        oauth_protected_server() as url,
        _desktop_with(loaded, f"[mcp.servers.guarded]\nurl = {url!r}\noauth = true\n") as desk,
    ):
        on_app(desk, body)


def test_the_details_name_what_a_server_offers_and_say_how_often_it_started() -> None:
    """Review 41, finding 20: "Offers" gave counts only, "started 1 time(s)"."""
    status = {
        "tools": 14,
        "prompts": 1,
        "resources": 0,
        "toolNames": [f"tool_{n}" for n in range(14)],
        "promptNames": ["review"],
    }
    words = offers_words(status)
    assert words.splitlines() == [
        "14 tools · 1 prompt · 0 resources",
        "Tools: " + ", ".join(f"tool_{n}" for n in range(12)) + " and 2 more",
        "Prompts: review",
    ]
    assert [starts_words(n) for n in (0, 1, 3)] == [
        "not started yet",
        "started once",
        "started 3 times",
    ]


def test_a_server_not_answering_is_said_so_with_what_the_engine_knows() -> None:
    """A server found hung (its ping unanswered) read "running" while calls to it waited."""
    said = "not answering: it did not answer its last ping at 10:01:02; the gateway keeps asking"
    status = {"state": "not_answering", "error": said, "stale": True}
    assert (state_kind(status), state_short(status)) == ("error", "not answering")
    assert state_words(status) == f"{said}; offering what it listed last"


def test_a_failing_server_being_restarted_reads_failed_not_starting(qtbot: QtBot) -> None:
    """Between its failed starts a server is "starting" a moment: it reads failed, in red."""
    status = {"state": "starting", "failing": True, "error": "exited with status 2"}
    assert (state_kind(status), state_short(status)) == ("error", "failed, restarting")
    assert state_words(status) == "failed: exited with status 2; starting it again"
    detail = McpServerDetail()
    qtbot.addWidget(detail)
    offers = {"name": "broken", "tools": 0, "prompts": 0, "resources": 0, "starts": 3}
    offers["transport"] = "stdio"
    detail.show_status({**status, **offers}, "")
    assert detail.state_label.property("tone") == "error"
    first = {"state": "starting", "failing": False}  # its first start: nothing failed yet
    assert (state_kind(first), state_short(first)) == ("busy", "starting")


def test_one_switch_one_name_and_the_servers_output_not_called_an_error(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    """Review 41-2, finding 10 (and 20): the list had a check box named "On", the details a
    switch named "Offered"; a server's ordinary stderr was labelled "Error output"; the Test
    result is kept apart from its button."""

    async def body(desktop: DesktopApp) -> None:
        assert desktop.window is not None
        page = _shown(desktop)
        heading = page.table.horizontalHeaderItem(ON_COLUMN)
        assert heading is not None and heading.text() == "On"
        box = page.switch_boxes["crasher"]
        assert type(box) is type(page.detail.switch) is Switch

        def label_of(field: QWidget) -> str:
            label = page.detail.form.labelForField(field)
            assert isinstance(label, QLabel)
            return label.text()

        assert label_of(page.detail.switch) == heading.text()
        # At 1024 px the switch stays on its label's line (a long label had wrapped it).
        desktop.window.resize(1024, 700)
        await until(lambda: desktop.window.width() == 1024, "1024 px")  # type: ignore[union-attr]
        label = page.detail.form.labelForField(page.detail.switch)
        assert label is not None
        await until(lambda: page.detail.switch.isVisible(), "the details laid out")
        middle = label.geometry().center().y()
        switch = page.detail.switch.geometry()
        assert switch.top() <= middle <= switch.bottom(), (middle, switch)
        assert page.detail.stderr_heading.text() == "Server output (stderr)"
        assert page.detail.stderr_heading.buddy() is page.stderr_view
        assert page.stderr_view.accessibleName() == "Server output (stderr)"
        page.table.selectRow(0)
        page.test_button.click()
        await until(lambda: "works" in page.test_label.text(), "tested")
        gap = page.test_label.geometry().left() - page.test_button.geometry().right()
        assert gap >= SPACE["m"], gap

    on_app(desktop, body)


def test_the_add_server_dialog_shows_each_fields_hint_whole(qtbot: QtBot) -> None:
    """Read at its natural size (2026-11-27), the dialog cut the Arguments hint to "-y
    @modelcontextprotocol/server-filesy…", as the new-key dialog cut its Models hint: both fit
    their fields to their hints the one way (`key_dialogs.fit_hints`)."""
    dialog = AddServerDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for edit in dialog.findChildren(QLineEdit):
        if not edit.isVisible():
            continue  # the other kind's fields
        hint = edit.placeholderText()
        frame = edit.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, edit)
        room = edit.width() - 2 * frame - 4  # QLineEdit's own 2 px a side
        assert edit.fontMetrics().horizontalAdvance(hint) <= room, (edit.objectName(), hint)


def test_a_failing_server_is_in_the_trays_alerts_opening_its_row_and_in_the_history(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    """A failing server is not seen only on its page: the tray lists it while it fails (the
    line opens its row) and the notification history keeps its failure (opening the page)."""

    async def body(desktop: DesktopApp) -> None:
        assert desktop.tray is not None and desktop.window is not None
        assert desktop.runtime is not None
        engine = desktop.runtime.engine
        history = desktop.window.notifications
        engine.upstream_mcp.servers["broken"].wake()
        await until(lambda: engine.upstream_mcp.failing() == ["broken"], "broken failing")
        desktop.tray.redraw()
        (line,) = [a for a in desktop.tray.alerts.lines if "broken" in a.objectName()]
        assert line.text() == "MCP server broken: failed, calls to its tools fail"
        line.trigger()
        page = _shown(desktop)
        assert page.selected == "broken"
        await until(
            lambda: any("MCP server broken failed" in e.text for e in history.entries()),
            "the failure in the history",
        )
        told = next(e for e in history.entries() if "MCP server broken" in e.text)
        assert told.place == "mcp-servers" and "exited with status 2" in told.text, told
        # The legitimate server beside it: running, never listed.
        assert not [a for a in desktop.tray.alerts.lines if "crasher" in a.objectName()]

    on_app(desktop, body)
