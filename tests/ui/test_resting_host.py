"""An API provider whose host takes no connection is rested
(`engine/gateway/http_client/unreachable.py`):
its routes are passed over until the rest ends. While it lasts the window says so wherever a
failing provider shows (the Providers page, Overview's health table, the header, the tray's
alert line, tooltip and switch), "Unreachable" with when it is tried again, within a second or
two of the rest starting; once the rest is over and a connection is made, none says it.

OpenAI's base URL is a real black hole (`tests/fakes/black_hole.py`: a loopback listener whose
accept queue is full, so a connect waits out `gateway.connect_timeout_ms`), with Anthropic, the
scripted upstream, as its fallback; then the same port is carried to the scripted upstream, as
the host come back. The requests go through the real gateway with the official `openai` SDK.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.gateway.http_client import unreachable
from llmgw_desktop.ui.attention import UNREACHABLE
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QSystemTrayIcon
from tests.fakes.black_hole import BlackHole
from tests.fakes.black_hole import black_hole as black_hole_at
from tests.ui.desk_gateway import Desk, OnWindow, chat_request, desk_tray, shown_page
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

# Long enough for everything below to be looked at while it lasts on a loaded machine (3 s
# was not: two page reloads, the header, the tray and its menu, all before the rest ended),
# short enough to wait out.
REST_S = 8.0
CONNECT_TIMEOUT_MS = 300
# The window shows a rest within this of its start (the tray at once, the pages on a reload):
# below the health table's own 5 s timer, which is what it tells apart.
SHOWN_WITHIN_S = 4.0


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    with black_hole_at() as hole:
        yield hole


def test_a_resting_provider_reads_unreachable_everywhere_until_its_rest_ends(
    on_window: OnWindow,
    loaded: LoadedSettings,
    black_hole: BlackHole,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # none offscreen
    monkeypatch.setattr(unreachable, "REST", Backoff(REST_S, unreachable.REST.longest_s))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-test-key-dddddddddddd")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{black_hole.port}/v1")
    routed = replace(
        loaded,
        settings=loaded.settings.with_values(
            {
                "gateway.routes": {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}},
                "gateway.connect_timeout_ms": CONNECT_TIMEOUT_MS,
            }
        ),
    )

    async def body(desk: Desk, window: MainWindow) -> None:
        with desk_tray(desk) as tray:
            page = shown_page(window, ProvidersPage)
            health = window.overview.health

            def status() -> str:
                row = next((r for r in page.rows if r.key == "api:openai"), None)
                return row.status if row is not None else ""

            await until(lambda: status() == "Ready", "OpenAI ready")
            for _ in range(unreachable.FAILURES_TO_REST):
                await chat_request(desk.runtime, "gpt-4o")  # answered by the fallback
            rested_at = time.monotonic()

            # The Providers page (its own timer is 15 s: the rest's start reloads it).
            await until(lambda: status() == UNREACHABLE, "the row unreachable")
            assert time.monotonic() - rested_at < SHOWN_WITHIN_S
            [row] = [r for r in page.rows if r.key == "api:openai"]
            assert row.reason.startswith(
                f"no connection could be made {unreachable.FAILURES_TO_REST} times in a row "
                f"(cannot connect to openai at http://127.0.0.1:{black_hole.port}: "
            ), row.reason
            assert "its routes are passed over until " in row.reason and " s), then" in row.reason
            assert row.attention == "error"
            # Overview's health table, the same words (its own timer is 5 s).
            await until(
                lambda: health.cell("openai", "Status").startswith(UNREACHABLE), "health row"
            )
            assert time.monotonic() - rested_at < SHOWN_WITHIN_S
            # The header names it failing, with why in its tooltip.
            chip = window.header.chips["providers"]
            await until(lambda: chip.text() == "OpenAI failing", "the header chip")
            assert "OpenAI (failing): no connection could be made" in chip.toolTip()

            # The tray: its alert line with the time left, its tooltip, and the switch.
            alert = next(a for a in tray.alerts.lines if "OpenAI" in a.text())
            assert alert.text().startswith("OpenAI: failing · unreachable, passed over until ")
            assert alert.text().endswith(" s)"), alert.text()
            assert "Failing: OpenAI (unreachable, passed over until " in tray.tooltip()
            # Amber, as the header and Overview say it: Anthropic still answers (its fallback).
            assert "Gateway: Partly working" in tray.tooltip()
            assert tray.state == "warning"

            # Its time left is as of the menu's opening, not of the rest's start.
            def alert_line() -> str:
                return next((a.text() for a in tray.alerts.lines if "OpenAI" in a.text()), "")

            drawn = alert_line()
            await until(
                lambda: (tray.menu.aboutToShow.emit(), alert_line() != drawn)[1], "time left"
            )
            assert alert_line().startswith("OpenAI: failing · unreachable, passed over until ")
            switch = desk.actions.providers["openai"]
            await until(lambda: switch.text() == "OpenAI (failing)", "the switch marked")
            assert switch.toolTip().startswith(f"{UNREACHABLE}: no connection could be made")
            assert switch.isCheckable()  # still a switch: turning it off is still the person's

            # The host comes back; the rest ends by itself and the row says so unasked.
            upstream_port = urlsplit(desk.upstream.base_url).port
            assert upstream_port is not None
            await black_hole.open_to(upstream_port)
            try:
                await until(lambda: status() not in ("", UNREACHABLE), "the rest over")
                assert time.monotonic() - rested_at < REST_S + SHOWN_WITHIN_S
                assert await chat_request(desk.runtime, "gpt-4o")  # a connection: OpenAI
                assert desk.runtime.engine.providers.resting() == []
                page.request_refresh()
                health.request_refresh()
                await until(
                    lambda: not health.cell("openai", "Status").startswith(UNREACHABLE),
                    "the health row",
                )
                tray.redraw()
                # Not unreachable now; still failing by its calls (3 of the 4 in 15 min failed:
                # `CallHealth`'s rate, not the rest). The "Last error" line keeps what happened.
                assert "Failing: OpenAI (3 of 4 failed, upstream_connect)" in tray.tooltip()
                assert "Failing: OpenAI (unreachable" not in tray.tooltip()
                assert not any("unreachable" in a.text() for a in tray.alerts.lines)
                await until(
                    lambda: not switch.toolTip().startswith(UNREACHABLE), "the switch's tooltip"
                )
                assert status() != UNREACHABLE
            finally:
                await black_hole.close()

    on_window(body, loaded=routed)
