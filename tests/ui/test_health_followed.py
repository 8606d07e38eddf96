"""The tray and the Providers page follow a provider's health as it changes, not only on their
timers or on other events.

A person's pass in the real window (2026-11-30) found: after a restart with both providers
failing, the tray said "llmgw-desktop: idle" while the window said "Not working · 2 failing"
(the health was read back from the flight recorder after the tray's first drawing, and
nothing told it); the Providers page kept a recovered provider red "Failing" for up to 15 s;
and, paused, the Overview's health table said grey "Paused" on every row, a failing
provider's too, and listed the providers with no key as "Paused" rows instead of folding them.
The engine says when a provider's health changes (`ProviderHealthChanged`), the rebuild at
start included, and those faces redraw on it (coalesced). Real gateways against the scripted
upstream, offscreen.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine import upkeep
from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    LOCAL_CALLER,
    CallerInfo,
    EngineError,
    HealthState,
)
from llmgw_desktop.engine.metrics import CallHealth
from llmgw_desktop.engine.store import Database
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.pages.providers import REFRESH_MS
from llmgw_desktop.ui.qt import QSystemTrayIcon
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.ui.desk_gateway import (
    Desk,
    OnGateway,
    desk_gateway,
    desk_tray,
    desk_window,
    messages_request,
    shown_page,
)
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.ui.test_providers_page import providers_page
from tests.waiting import until

EDITOR = {"X-Caller": "editor"}
HI = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# Well under the page's timer: a redraw seen within it was not the timer's.
SOON_S = min(3.0, REFRESH_MS / 5000)
# Where the screenshots go when that folder exists (looked at by hand; not asserted).
SHOTS = Path("/tmp/hg")


def _line(tip: str, start: str) -> str:
    return next((line for line in tip.splitlines() if line.startswith(start)), "")


def test_after_a_restart_the_tray_says_failing_with_no_new_call(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Restarted on the same data with Anthropic's last calls failed: the tray, drawn before
    the calls were read back (as the app's tray is), says failing once they are."""
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # none offscreen
    tray_drawn = asyncio.Event()
    rebuild = upkeep.rebuild_health

    async def after_the_tray(store: Database, health: CallHealth, *, before: float) -> int:
        await tray_drawn.wait()  # the read back ends after the tray's first drawing
        return await rebuild(store, health, before=before)

    async def scenario() -> None:
        async with desk_gateway(loaded, monkeypatch, tmp_path) as desk:
            desk.upstream.script(*(Reply.error(500),) * 3)
            for _ in range(3):
                await messages_request(desk.runtime, EDITOR, status=502)
        monkeypatch.setattr(upkeep, "rebuild_health", after_the_tray)
        async with desk_gateway(loaded, monkeypatch, tmp_path) as desk:
            engine = desk.runtime.engine
            with desk_tray(desk) as tray:
                assert tray.state != "error", tray.tooltip()  # nothing read back yet
                tray_drawn.set()
                await until(
                    lambda: engine.provider_health.of("anthropic").state == HealthState.FAILING,
                    "the calls read back",
                )
                # No call, no redraw asked: the tray follows what was read back.
                await until(lambda: tray.state == "error", "the tray to say failing", timeout_s=3)
                tip = tray.tooltip()
                print(tip)
                if SHOTS.is_dir():
                    (SHOTS / "tray-tooltip-after-restart.txt").write_text(tip + "\n")
                assert "idle" not in tip.splitlines()[0], tip
                assert "upstream_500" in _line(tip, "Failing: Anthropic"), tip

    qloop.run_until_complete(scenario())


def test_the_providers_page_shows_a_recovery_without_waiting_for_its_timer(
    qloop: qasync.QEventLoop, loaded: LoadedSettings
) -> None:
    """OpenAI failing on the open page, then answering calls: its row leaves "Failing" within
    a few seconds, not at the next 15 s refresh."""
    caller = CallerInfo(principal=LOCAL_CALLER.id, endpoint="/v1/chat/completions")

    async def scenario() -> None:
        async with (
            ScriptedUpstream() as upstream,
            providers_page(loaded, upstream) as (page, engine, _actions),
        ):

            def status() -> str:
                return next(r.status for r in page.rows if r.key == "api:openai")

            # As the window does on showing the page: its first load is asked for, not left
            # to whichever engine event happens to come after the page is shown.
            page.page_shown()
            await until(lambda: page.rows, "the first rows")
            upstream.script(*(Reply.error(500),) * 3)
            for _ in range(3):
                with contextlib.suppress(EngineError):
                    await engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(HI), caller)
            await until(lambda: status() == "Failing", "failing shown", timeout_s=SOON_S)
            for _ in range(4):
                await engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(HI), caller)
            await until(lambda: status() != "Failing", "the recovery shown", timeout_s=SOON_S)
            if SHOTS.is_dir():
                page.resize(1100, 700)
                page.grab().save(str(SHOTS / "providers-after-recovery.png"))

    qloop.run_until_complete(scenario())


def test_paused_the_overview_health_table_keeps_a_failing_verdict_and_folds_the_rest(
    on_gateway: OnGateway, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    """Paused: Anthropic, whose calls failed, still reads Failing on the Overview's health
    table; a provider with no key (OpenAI here) is folded away as it is when not paused."""
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        desk.upstream.script(*(Reply.error(500),) * 3)
        for _ in range(3):
            await messages_request(desk.runtime, EDITOR, status=502)
        with desk_window(desk, qtbot, size=(1100, 760)) as window:
            table = shown_page(window, OverviewPage).health
            await until(lambda: table.cell("anthropic", "Status").startswith("Failing"), "shown")
            assert table.isRowHidden(table.rows["openai"])  # no key: folded
            engine.providers.set_paused(LOCAL_CALLER, True)
            table.request_refresh()
            await until(lambda: "(paused)" in table.cell("anthropic", "Switch"), "paused shown")
            status = table.cell("anthropic", "Status")
            assert status.startswith("Failing"), status
            assert table.isRowHidden(table.rows["openai"]), table.cell("openai", "Status")
            # No provider that cannot answer unpaused (no key, no cloud login) is a row.
            shown = {pid for pid, row in table.rows.items() if not table.isRowHidden(row)}
            assert shown == {"anthropic"}, {pid: table.cell(pid, "Status") for pid in shown}
            if SHOTS.is_dir():
                window.grab().save(str(SHOTS / "overview-paused.png"))

    on_gateway(body)
