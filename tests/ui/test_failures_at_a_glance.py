"""Failures at a glance (issue 25): after consecutive upstream failures, the provider health
row, the tray and Overview all say which provider fails and how, driven by the official
`anthropic` SDK through the real gateway against the scripted upstream.

The offscreen platform has no notification server, so `QSystemTrayIcon.showMessage` is
replaced by a spy that records what would pop up (as in test_tray.py).
"""

from __future__ import annotations

import anthropic
import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.provider_health import HEALTH_COLUMNS, STATUS
from llmgw_desktop.ui.qt import QSystemTrayIcon
from llmgw_desktop.ui.theme import error_colour
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnWindow, desk_tray
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

OK_CALLS = 3
VERSION = HEALTH_COLUMNS.index("Version")
CALLS = 6  # the health table's count column, whatever its heading says
FAILED_CALLS = 8  # the run: 8 consecutive upstream 500s


async def _ask(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=16,
        messages=[{"role": "user", "content": "hi"}],
    )


def _client(runtime: GatewayRuntime) -> anthropic.AsyncAnthropic:
    # No SDK retries: each call is one request, so the counts on screen are exact.
    return anthropic.AsyncAnthropic(
        base_url=runtime.base_url, api_key="unused", max_retries=0, timeout=30
    )


def test_consecutive_upstream_failures_show_in_the_row_the_tray_and_overview(
    on_window: OnWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    popped: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QSystemTrayIcon, "showMessage", lambda _self, title, text, *_a: popped.append((title, text))
    )
    replies = (*[Reply.ok()] * OK_CALLS, *[Reply.error(500, "boom")] * FAILED_CALLS)

    async def body(desk: Desk, window: MainWindow) -> None:
        with desk_tray(desk) as tray:
            page = window.overview
            health = page.health
            await until(lambda: health.cell("anthropic", "Status") == "Ready", "ready")
            assert tray.state == "idle"
            client = _client(desk.runtime)
            for _ in range(OK_CALLS):
                await _ask(client)
            for _ in range(FAILED_CALLS):
                with pytest.raises(anthropic.InternalServerError):
                    await _ask(client)
            await client.close()

            # The provider row: failing, in red, naming the streak and the last error,
            # the whole reason in its tooltip and on a second line rather than cut short.
            health.request_refresh()
            await until(lambda: health.cell("anthropic", "Status").startswith("Failing"), "row")
            status = health.cell("anthropic", "Status")
            assert f"{FAILED_CALLS} calls failed in a row (upstream_500" in status, status
            assert health.colour("anthropic", "Status") == error_colour()
            item = health.item(health.rows["anthropic"], STATUS)
            assert item is not None and item.toolTip() == status
            lines = health.fontMetrics().lineSpacing()
            assert health.rowHeight(health.rows["anthropic"]) >= 2 * lines
            # Narrow, Version and Circuit give their room to the reason first.
            window.resize(1024, 700)
            await until(lambda: health.isColumnHidden(VERSION), "Version gives way")
            total = OK_CALLS + FAILED_CALLS
            assert health.cell("anthropic", "Failed 15 min") == (
                f"{FAILED_CALLS} ({FAILED_CALLS / total:.0%})"
            )
            assert health.cell("anthropic", "p50 / p95").endswith(" ms")
            assert health.cell("openai", "Failed 15 min") == "0"

            # The tray: red, its tooltip naming the provider; one message popped up.
            tray.redraw()
            assert tray.state == "error"
            assert f"Failing: Anthropic ({FAILED_CALLS} in a row, upstream_500)" in (tray.tooltip())
            assert [t for t, _ in popped if "Anthropic" in t] == ["Anthropic is failing"]
            tray.redraw()  # still failing: no second message
            assert len([t for t, _ in popped if "Anthropic" in t]) == 1

            # Overview: one line a provider, and the totals' error count and rate.
            page.refresh_status()
            failing = page.failing_label.accessibleName()
            assert failing.startswith("Anthropic (failing): 8 calls failed in a row"), failing
            assert failing.splitlines()[-1].startswith(
                f"{FAILED_CALLS} of {total} calls to providers failed in 15 min"
            )
            # Its name links to its row on the Providers page, and on to its failures.
            shown = page.failing_label.text()
            assert 'href="providers:anthropic"' in shown and 'href="recorder:anthropic"' in (shown)
            page.open_link("recorder:anthropic")
            recorder = window.pages["recorder"]
            assert window.current_page is recorder
            filters = recorder.current_filters()  # type: ignore[attr-defined]
            assert (filters.state, filters.provider) == ("failed", "anthropic")
            await until(lambda: recorder.model.total == FAILED_CALLS, "its failures listed")  # type: ignore[attr-defined]
            page.open_link("providers:anthropic")
            providers = window.pages["providers"]
            assert window.current_page is providers
            await until(
                lambda: getattr(providers.selected_row(), "switch_id", "") == "anthropic",  # type: ignore[attr-defined]
                "its row chosen",
            )
            window.show_page("overview")
            charts = page.charts
            charts.redraw()
            await until(lambda: "failed" in charts.totals_label.text(), "the totals")
            assert f"{FAILED_CALLS} failed ({FAILED_CALLS / total:.0%})" in (
                charts.totals_label.text()
            )
            _x, errors = charts.errors_curve.data()
            assert max(errors) > 0  # the errors series on the request chart

            # A refusal is not a failure: switched off, the gateway refuses with its own
            # code, Overview counts it under Refused and the error count does not move.
            desk.runtime.engine.providers.set_enabled(OPERATOR, "anthropic", False)
            client = _client(desk.runtime)
            with pytest.raises(anthropic.APIStatusError) as refused:
                await _ask(client)
            await client.close()
            assert refused.value.status_code == 400
            assert "is switched off" in refused.value.message
            page.refresh_status()
            assert "400 provider_disabled" in page.refused_label.text()
            assert desk.runtime.engine.provider_health.of("anthropic").errors == FAILED_CALLS
            charts.redraw()
            assert f"(11 sent to providers, 1 refused) · {FAILED_CALLS} failed" in (
                charts.totals_label.text()
            )

    on_window(body, size=(1100, 700), replies=replies)


def test_overviews_counts_each_say_what_they_count_and_add_up(on_window: OnWindow) -> None:
    """Review 41-2, finding 3: one Overview said 301 ("7 of 301"), 302 (the health table's
    rows) and 307 requests (the traffic line). The health table and the Providers line now
    count the calls sent to providers, from one read, and the traffic line says which of its
    requests were sent, refused or neither; "failed" is never "errors" that hide refusals."""

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        page, health = window.overview, window.overview.health
        await until(lambda: health.cell("anthropic", "Status") == "Ready", "ready")
        client = _client(desk.runtime)
        for _ in range(OK_CALLS):
            await _ask(client)
        engine.providers.set_enabled(OPERATOR, "anthropic", False)
        with pytest.raises(anthropic.APIStatusError):
            await _ask(client)  # refused: no provider asked
        engine.providers.set_enabled(OPERATOR, "anthropic", True)
        await client.close()
        # A key tried before it is stored (the first-run guide): a request, but not a
        # call that says anything about the provider.
        assert (await engine.providers.probe("anthropic", key="sk-tried-0123")).ok
        # A job its caller canceled before any answer: counted as such, not as "other" (a
        # review read "21 requests (20 sent to providers, 1 other)" for a canceled job).
        job_row = engine.recorder.start(principal="local", provider="claude", caller="x")
        engine.recorder.finish(job_row, state="canceled", error_code="canceled")
        page.refresh_status()
        charts = page.charts
        charts.redraw()
        calls = [int(health.cell_text(row, CALLS)) for row in health.rows.values()]
        assert sum(calls) == OK_CALLS
        assert HEALTH_COLUMNS[CALLS] == "Calls 15 min"
        assert page.failing_label.accessibleName().splitlines()[-1] == (
            f"none of {OK_CALLS} calls to providers failed in 15 min"
        )
        legend = charts._legends[0].text()  # the requests chart's: its red line too
        assert "failed" in legend and "errors" not in legend
        assert charts.totals_label.text().startswith(
            f"Last 15 min: {OK_CALLS + 3} requests ({OK_CALLS} sent to providers,"
            " 1 refused, 1 canceled, 1 other) · none failed · "
        )

    on_window(body, size=(1920, 1080))
