"""The Overview's figures after calls that failed over from one provider to another, driven by
the official `openai` SDK through the gateway against the scripted upstream.

A person's pass: 8 calls to a route of two targets (the provider `backup`, then OpenAI), 3 of
them failed over from backup to OpenAI, every one answered. The Overview counted each attempt
as a request: "11 calls in the last 15 min", "3 of 11 failed (27%)", "11 requests since
midnight", where the person had sent 8 requests and every one was answered. A request is what
a client sent; it failed when its client got no answer. The attempts that failed over are
the providers' figure, said as such.
"""

from __future__ import annotations

import os

from llmgw_desktop.engine.api import AttemptFailedOver, RequestFinished
from llmgw_desktop.ui.attention import SpendToday, spend_today
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.pages.recorder_words import detail_sections
from tests.fakes.upstream import Reply
from tests.sdk_clients import HI, openai_client
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

CALLS = 8
ROUTE = {"team-model": {"targets": ["backup/gpt-4o-mini", "openai/gpt-4o-mini"]}}
# The user's own provider: one that speaks Anthropic's dialect, so the upstream fails its calls
# alone (`by_dialect`) while OpenAI's answer.
BACKUP = {"backup": {"kind": "anthropic", "name": "backup", "models": ["gpt-4o-mini"]}}
SHOTS = os.environ.get("LLMGW_SHOTS", "")


async def _send(desk: Desk) -> int:
    """`CALLS` chat calls to the route, each answered; how many failed over."""
    client = openai_client(desk.runtime, timeout=30)
    failed_over = 0
    try:
        for _ in range(CALLS):
            raw = await client.chat.completions.with_raw_response.create(
                model="team-model", messages=HI
            )
            failed_over += raw.headers["x-gateway-fallback"] == "true"
    finally:
        await client.close()
    return failed_over


def test_the_overview_counts_what_clients_sent_not_each_attempt(on_window: OnWindow) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        # The providers' lists are read before the calls: neither names gpt-4o-mini.
        await engine.gateway.directory.refresh(force=True)
        desk.upstream.by_dialect["anthropic"] = Reply.error(503)
        failed_over = await _send(desk)
        assert failed_over >= 2, failed_over  # the route tried backup first, until it rested
        attempts = CALLS + failed_over
        await until(lambda: engine.metrics.series("15m").total.requests == attempts, "counted")
        page = window.overview
        page.refresh_status()
        charts = page.charts
        charts.redraw()
        if SHOTS:
            window.grab().save(os.path.join(SHOTS, "overview-failover.png"))
            page.grab().save(os.path.join(SHOTS, "overview-failover-page.png"))
        words = {name: card.accessibleName() for name, card in page.figures.cards.items()}
        assert f"; {CALLS} requests in the last 15 min" in words["gateway"], words
        # Backup failed every call it was asked: it is failing, and says so; no client went
        # without an answer.
        assert f"None of {CALLS} requests failed in 15 min" in words["failing"], words
        assert f"{failed_over} provider calls failed over" in words["failing"], words
        assert f"{CALLS} requests since midnight" in words["spend"], words
        assert (await spend_today(engine)).requests == CALLS
        totals = charts.totals_label.text()
        assert totals.startswith(f"Last 15 min: {CALLS} requests · none failed · "), totals
        assert f" · {failed_over} provider calls failed over · " in totals, totals
        # The providers' own figure keeps every call it was asked, and says which failed over.
        assert page.failing_label.accessibleName().splitlines()[-1] == (
            f"{failed_over} of {attempts} calls to providers failed in 15 min"
            f" ({failed_over / attempts:.0%}); {failed_over} failed over to another target"
        )
        rows = await engine.recorder.recent(limit=50)
        assert sum(bool(row["failed_over"]) for row in rows) == failed_over
        assert all(row["state"] == "failed" for row in rows if row["failed_over"])
        # The Flight recorder's detail of such a row says so.
        over = next(row for row in rows if row["failed_over"])
        detail = await engine.recorder_query.detail(over["id"])
        assert detail is not None
        route = next(s for s in detail_sections(detail) if s.title == "Route")
        assert ("Failed over", "another attempt took its request") in [
            (row.label, row.value) for row in route.rows
        ]
        await _stale_words_are_true(window)

    on_window(
        body,
        size=(1280, 900),
        also_upstream=("openai",),
        own_providers=BACKUP,
        # The providers' model lists are read (the scripted upstream's name no gpt-4o-mini).
        values={"gateway.routes": ROUTE, "gateway.models_refresh_s": 3600},
    )


async def _stale_words_are_true(window: MainWindow) -> None:
    """The same pass: "config.toml names models their providers no longer list; requests for
    them will fail" beside OpenAI's answers for the model, its row an amber "Ready" for that
    alone, and backup's Models box listing `gpt-4o-mini` beside "backup no longer lists it".
    A model that answered since its provider's list was read is not warned of; one that did
    not may fail (never "will"); the Models box says which models the provider did not list."""
    page = shown_page(window, ProvidersPage)
    await page.refresh()
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "providers-failover.png"))
    warning = page.stale_label.text()
    assert "will fail" not in warning and "no longer" not in warning, warning
    assert "'openai/gpt-4o-mini'" not in warning, warning  # it answered
    assert (
        "target of route 'team-model' names 'backup/gpt-4o-mini': 'gpt-4o-mini' is not in"
        " backup's model list, calls may fail"
    ) in warning, warning
    rows = {row.key: row for row in page.rows}
    assert rows["api:openai"].stale == () and rows["api:openai"].status == "Ready"
    assert page.select("api:backup")
    lines = [page.detail.models_list.item(i).text() for i in range(page.detail.models_list.count())]
    assert "gpt-4o-mini (config.toml, not in its list)" in lines, lines
    assert "1 from config.toml, not in its own list" in page.detail.models_count.text()
    page.detail.models_list.setCurrentRow(lines.index("gpt-4o-mini (config.toml, not in its list)"))
    assert page.detail.model_box.currentText() == "gpt-4o-mini"  # the model, to Test


def _finished(record_id: str, started_at: float, finished_at: float) -> RequestFinished:
    return RequestFinished(
        record_id, "backup", "gpt-4o-mini", "failed", "local", "", started_at, finished_at
    )


def test_todays_requests_lose_an_attempt_that_failed_over_after_the_read_only() -> None:
    """The header keeps today's spend from a read and the requests finishing after it: an
    attempt that failed over after the read is taken out of the requests (the read counted
    it, or it was added since), one that failed over before the read was left out by it."""
    read = SpendToday(0.5, 10, 0, since=100.0, cut=200.0)
    # Read as a request before it failed over: taken out, its cost kept.
    later = AttemptFailedOver("a", "backup", 150.0, 201.0)
    assert read.counts(later) and read.plus(later) == SpendToday(0.5, 9, 0, 100.0, 200.0)
    # Finished and failed over after the read: added, then taken out.
    added = read.plus(_finished("b", 202.0, 203.0))
    taken = AttemptFailedOver("b", "backup", 202.0, 203.5)
    assert added.counts(taken) and added.plus(taken).requests == 10
    # Failed over before the read, which left it out already; or begun yesterday.
    assert not read.counts(AttemptFailedOver("c", "backup", 150.0, 199.0))
    assert not read.counts(AttemptFailedOver("d", "backup", 50.0, 201.0))
