"""With the response cache on, what the window says of an answer it gave from the cache: not a
call to the provider (its health, its latency, "sent to providers"), counted as answered from
the cache, and in the Flight recorder a $0 row that says so and what it saved.

A window review (2026-11-25) sent 14 requests through the official SDKs, 6 answered from the
cache: Overview said "none of 14 calls to providers failed" and the health table 7 calls each
for OpenAI and Anthropic, whose upstreams had been asked 4 times each; a hit's detail said
"Cost $0.00" and "anthropic/claude-sonnet-4-5 (no key) → cache_hit" in a warning's colour.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anthropic
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.overview_charts import _PLOTS
from llmgw_desktop.ui.pages.provider_health import HEALTH_COLUMNS
from llmgw_desktop.ui.pages.recorder_model import COLUMNS
from llmgw_desktop.ui.qt import Qt
from tests.ui.desk_gateway import Desk, OnWindow
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

CALLS = HEALTH_COLUMNS.index("Calls 15 min")
TIME, STATE, COST = (COLUMNS.index(name) for name in ("Time", "State", "Cost"))
PLOT_TITLES = [title for title, _row, _unit in _PLOTS]
GREEDY = {"temperature": 0}  # this SDK no longer takes temperature; a client sends it in the body
REPEATS = 3  # the same request: one call to the upstream, then two answers from the cache


def _cached(loaded: LoadedSettings) -> LoadedSettings:
    return replace(loaded, settings=loaded.settings.with_values({"cache.enabled": True}))


async def _ask(desk: Desk) -> str | None:
    client = anthropic.AsyncAnthropic(
        base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
    )
    try:
        answer = await client.messages.with_raw_response.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "user", "content": "Capital of France?"}],
            # This SDK no longer takes temperature; a client sends it in the body.
            extra_body={"temperature": 0},
        )
        return answer.headers.get("x-gateway-cache")
    finally:
        await client.close()


def test_answers_from_the_cache_are_not_calls_to_the_provider(
    on_window: OnWindow, loaded: LoadedSettings
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        page, health = window.overview, window.overview.health
        await until(lambda: health.cell("anthropic", "Status") == "Ready", "ready")
        seen = [await _ask(desk) for _ in range(REPEATS)]
        assert seen == ["miss", "hit", "hit"]
        assert len(desk.upstream.llm_requests) == 1
        health.request_refresh()
        await until(lambda: health.cell_text(health.rows["anthropic"], CALLS) == "1", "1 call")
        page.refresh_status()
        assert page.failing_label.accessibleName().splitlines()[-1] == (
            "none of 1 calls to providers failed in 15 min"
        )
        charts = page.charts
        charts.redraw()
        assert charts.totals_label.text().startswith(
            f"Last 15 min: {REPEATS} requests (1 sent to providers, 2 from the response cache)"
        ), charts.totals_label.text()
        assert desk.runtime.engine.provider_health.of("anthropic").calls == 1
        # Two caches, two figures on one page: the providers' prompt caches (tokens read
        # from the vendor's cache) are never called just "cache" beside the response cache's.
        assert page.response_cache_label.text().startswith("hit rate 67% (2 of 3 since start)")
        assert "· prompt-cache hit rate 64% ·" in charts.totals_label.text()
        assert charts.savings_label.text().startswith("Estimated savings from prompt-cache reads")
        assert PLOT_TITLES[3] == "Prompt-cache hit rate per provider (%)"

        # The newest row is a hit: $0, saying it came from the cache and what it saved,
        # its route's step in no warning's colour and with no "(no key)".
        window.show_page("recorder")
        recorder = window.pages["recorder"]
        await desk.runtime.engine.recorder.flush()
        recorder.apply_filters()  # type: ignore[attr-defined]
        await until(lambda: recorder.model.total == REPEATS, "the rows")  # type: ignore[attr-defined]
        recorder.table.selectRow(0)  # type: ignore[attr-defined]
        detail = recorder.detail  # type: ignore[attr-defined]
        await until(lambda: "Route" in detail.toPlainText(), "the hit's detail")
        text = detail.toPlainText()
        assert "from the response cache" in text, text
        assert "no key" not in text and "cache_hit" not in text, text
        # What the call it saved cost (Anthropic's usage on the scripted upstream, priced).
        assert "saved $0.00" in text, text

    on_window(body, size=(1920, 1080), loaded=_cached(loaded))


def test_overview_says_why_requests_were_not_cached_at_a_laptops_width(
    on_window: OnWindow, loaded: LoadedSettings
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        page = window.overview
        base_url = desk.runtime.base_url
        claude = anthropic.AsyncAnthropic(base_url=base_url, api_key="-", max_retries=0)
        question: Any = [{"role": "user", "content": "Capital of France?"}]

        async def ask(**extra: Any) -> None:
            await claude.messages.create(
                model="claude-sonnet-4-6", max_tokens=16, messages=question, **extra
            )

        try:
            for _ in range(2):  # the SDK as it comes: no temperature, sampled at the vendor's 1
                await ask()
            for directive in ("no-store", "no-cache"):
                await ask(extra_body=GREEDY, extra_headers={"Cache-Control": directive})
            await claude.messages.create(  # a model the operator does not cache
                model="claude-haiku-4-5", max_tokens=16, messages=question, extra_body=GREEDY
            )
        finally:
            await claude.close()
        assert len(desk.upstream.llm_requests) == 5
        page.refresh_status()
        label = page.response_cache_label
        assert label.text() == (
            "on, nothing looked up yet\n"
            "5 not cached: 2 sampled (temperature above 0, or none; cache.sampled is off), "
            "1 no-store from the client, 1 fresh answer asked (no-cache), "
            "1 model not in cache.routes"
        )
        # Read whole at 1024 px: the window no wider, the line not cut at the label's end.
        await until(lambda: label.width() >= label.minimumSizeHint().width(), "the line whole")
        await until(lambda: label.height() >= label.heightForWidth(label.width()), "every line")
        assert window.width() == 1024
        # Not run off the window's right edge (the page scrolled sideways to read it).
        assert label.mapTo(window, label.rect().topRight()).x() < window.width()

    routes = {"cache.enabled": True, "cache.routes": ["claude-sonnet-*"]}
    on_window(
        body, size=(1024, 700), loaded=replace(loaded, settings=loaded.settings.with_values(routes))
    )


@pytest.mark.parametrize("size", [(1024, 700), (1920, 1080)])
def test_a_hit_reads_apart_from_a_call_in_the_recorder_list_at_every_width(
    on_window: OnWindow, loaded: LoadedSettings, size: tuple[int, int]
) -> None:
    # At 1024 px the list keeps time, provider (the model under it), state and cost (issue
    # 54.5): a hit's row must not read as the call it saved, by its state.
    async def body(desk: Desk, window: MainWindow) -> None:
        assert [await _ask(desk) for _ in range(REPEATS)] == ["miss", "hit", "hit"]
        window.show_page("recorder")
        recorder: Any = window.pages["recorder"]
        await desk.runtime.engine.recorder.flush()
        recorder.apply_filters()
        await until(lambda: recorder.model.total == REPEATS, "the rows")
        table, model = recorder.table, recorder.model
        shown = [c for c in range(len(COLUMNS)) if not table.isColumnHidden(c) and c != TIME]

        def seen(row: int) -> list[str]:
            """The row as the list shows it, but for its time (the three share a second)."""
            return [str(model.index(row, c).data()) for c in shown]

        newest_hit, _hit, call = (seen(row) for row in range(REPEATS))
        assert newest_hit != call, f"a hit and a call read the same: {call}"
        assert model.index(0, STATE).data() == "from cache"
        assert model.index(2, STATE).data() == "completed"
        tip = model.index(0, STATE).data(Qt.ItemDataRole.ToolTipRole)
        assert "answered from the response cache" in tip, tip
        if size[0] == 1024:
            assert not table.isColumnHidden(COST) and not table.isColumnHidden(STATE)

    on_window(body, size=size, loaded=_cached(loaded))
