"""A coding CLI that is installed but logged out does not count as answering: the real Claude
Code 2.x in a home with no login says so itself (`claude auth status`), and the window says
"No provider can answer" with what to do, where it said "claude-cli (3 models)" and was green
until the first call failed. Logged in (its credentials file, as `/login` writes it) it answers,
and a login made while the gateway runs is seen without a restart. The real window on a real
gateway, offscreen; the CLI is never asked for a model, so nothing leaves the machine."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.ui.attention import LOGGED_OUT, provider_verdict, provider_verdicts
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.pages.playground import PlaygroundPage
from llmgw_desktop.ui.pages.provider_rows import unusable_reason
from llmgw_desktop.ui.pages.providers import ProvidersPage
from tests.contract.offline import find_cli
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.waiting import until

# How long Claude Code is given to say so, a Node start on a loaded machine, and the watch's
# next look after that.
SAID_WITHIN_S = 30.0


@pytest.fixture
def claude_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real Claude Code in the desk gateway's PATH folder (`no_clis_on_path`: its one
    vendor CLI), and a home of its own with no login in it."""
    on_path = tmp_path / "empty-bin"
    on_path.mkdir()
    (on_path / "claude").symlink_to(find_cli("claude"))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def log_in(home: Path) -> None:
    """What Claude Code's `/login` leaves: its OAuth tokens in `~/.claude/.credentials.json`."""
    folder = home / ".claude"
    folder.mkdir(exist_ok=True)
    tokens = {
        "accessToken": "sk-ant-oat01-test-not-a-token",
        "refreshToken": "sk-ant-ort01-test-not-a-token",
        "expiresAt": int((time.time() + 86_400) * 1000),
        "scopes": ["user:inference"],
        "subscriptionType": "pro",
    }
    (folder / ".credentials.json").write_text(json.dumps({"claudeAiOauth": tokens}))


def _claude_listed(engine: Engine) -> bool:
    return dict(engine.answering.now().by_provider).get("claude-cli", 0) > 0


async def _logged_out_is_said(desk: Desk, window: MainWindow) -> None:
    engine = desk.runtime.engine
    await until(
        lambda: engine.health()["providers"]["state"] == "none",
        "/health: none",
        timeout_s=SAID_WITHIN_S,
    )
    trouble = engine.providers.trouble("claude")
    assert trouble is not None and trouble.logged_out, trouble
    assert trouble.message.startswith("not logged in: run `claude` and type /login")
    assert not [m for m in await engine.providers.models() if m["provider"] == "claude-cli"]
    fact = engine.answering.now()
    assert fact.refused == ()
    [(provider, said)] = fact.to_set_up
    assert provider == "claude" and said.startswith("Claude Code is not logged in: run")
    verdict = provider_verdict(engine, "claude", "Claude Code")
    assert verdict is not None and verdict.status == LOGGED_OUT
    # Not failing, as a provider with no key is not: /health and the window's verdicts.
    said = engine.health()["providers"]
    assert said["failing"] == [] and said["loggedOut"] == ["claude"], said
    assert provider_verdicts(engine) == []

    # The header: amber, what to do said once, and a press opens the Providers page on it.
    header = window.header
    header.redraw()
    chip = header.chips["providers"]
    assert chip.text() == "No provider can answer"
    assert chip.property("tone") == "warning"  # amber, never green
    tip = chip.toolTip()
    assert tip.count("Claude Code is not logged in") == 1, tip
    assert "refused" not in tip and "(failing)" not in tip, tip
    header.press("providers")
    page = window.current_page
    assert isinstance(page, ProvidersPage)
    # Its line counts the provider once; its details say the status once, then the fix.
    await until(lambda: "1 not logged in" in page.counts_label.text(), "the counts")
    assert page.counts_label.text().startswith("0 can answer · 1 not logged in")
    assert "failing" not in page.counts_label.text()
    [row] = [r for r in page.rows if r.switch_id == "claude"]
    # (said once: "not logged in: run ...", as "no API key: set ..." is; the details begin
    # with a capital)
    assert unusable_reason(row).startswith("not logged in: run `claude` and type /login")
    await until(lambda: page.status_label.text().startswith("Not logged in: run"), "details")

    # Overview's card: its short form names the CLI, whole; a press opens Providers.
    overview = shown_page(window, OverviewPage)
    overview.refresh_status()
    card = overview.figures.cards["gateway"]
    assert card.value.text() == "No provider"
    assert "Claude Code is not logged in" in card.detail.text()
    assert overview.figures.cards["failing"].value.text() in ("", "0", "None"), (
        overview.figures.cards["failing"].value.text()
    )
    # Its health table says the status once (it read "Not logged in: not logged in: run ...").
    await until(lambda: overview.health.cell("claude", "Status").startswith("Not"), "health")
    said = overview.health.cell("claude", "Status")
    assert said.startswith("Not logged in: run `claude`") and said.count("logged in") == 1, said
    # It opens Providers on the CLI the figure names, as the header's press does (it opened on
    # whichever row was selected before).
    assert page.select("api:openai")
    card.clicked.emit()
    assert window.current_page is page
    selected = page.selected_row
    await until(lambda: getattr(selected(), "switch_id", "") == "claude", "Claude Code selected")

    # The Playground offers none of its models: the door would refuse them.
    playground = shown_page(window, PlaygroundPage)
    await until(lambda: playground.status.text(), "the Playground's status")
    assert playground.model_box.count() == 0
    line = playground.model_box.lineEdit()
    assert line is not None
    assert line.placeholderText() == "no model: Claude Code is not logged in (see Providers)"
    assert "Claude Code is not logged in" in playground.status.text()


def test_a_logged_out_claude_code_is_not_answering_and_the_window_says_what_to_do(
    on_window: OnWindow, claude_home: Path
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        await _logged_out_is_said(desk, window)

    on_window(body, keyed=False, size=(1024, 700))


def test_a_logged_in_claude_code_answers(on_window: OnWindow, claude_home: Path) -> None:
    log_in(claude_home)

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await until(lambda: _claude_listed(engine), "claude-cli answering", timeout_s=SAID_WITHIN_S)
        assert engine.providers.trouble("claude") is None
        assert engine.health()["providers"]["state"] != "none"
        await until(
            lambda: window.header.chips["providers"].text() == "Providers OK", "Providers OK"
        )
        playground = shown_page(window, PlaygroundPage)
        await until(lambda: playground.model_box.count() > 0, "its models offered")

    on_window(body, keyed=False, size=(1024, 700))


def test_a_login_made_while_the_gateway_runs_is_seen_without_a_restart(
    on_window: OnWindow, claude_home: Path
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await _logged_out_is_said(desk, window)
        page = shown_page(window, ProvidersPage)
        await until(lambda: page.accounts.get("claude"), "its login read")
        assert page.accounts["claude"].state == "not logged in"
        log_in(claude_home)  # the files changed: asked again at the watch's next look
        await until(lambda: _claude_listed(engine), "claude-cli answering", timeout_s=SAID_WITHIN_S)
        assert engine.providers.trouble("claude") is None
        # The page open all along follows at once: its status and its login line, unasked.
        await until(lambda: page.accounts["claude"].state == "logged in", "the login line")
        await until(
            lambda: [r.status for r in page.rows if r.switch_id == "claude"] == ["Ready"],
            "the row Ready",
            timeout_s=5.0,
        )

    on_window(body, keyed=False, size=(1024, 700))
