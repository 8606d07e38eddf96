"""The Keys page's list and details on a running gateway (qasync, offscreen): each key says what
it spent (against its budget, as a bar, when it has one; this month's cost when it has none),
when it was last used, and its requests are one click away in the Flight recorder, filtered to
that key. The figures are checked against the engine's own: the budget's running total
(`budgets.key_status`) and the recorder's cost by principal."""

from __future__ import annotations

import time

import openai
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import LOCAL_CALLER, KeyScope, KeySpec, format_usd
from llmgw_desktop.ui.pages.keys import COLUMNS, KeysPage, month_start
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import Qt
from tests.ui.desk_gateway import Desk, OnGateway, desk_window, shown_page
from tests.waiting import until

HI = [{"role": "user", "content": "hi"}]


def test_each_key_shows_its_spend_against_its_budget_its_last_use_and_its_requests(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        keys = engine.keys
        capped = await keys.create(
            LOCAL_CALLER,
            KeySpec(name="ci-bot", scope=KeyScope.of(), budget_usd=5.0),
        )
        free = await keys.create(LOCAL_CALLER, KeySpec(name="laptop", scope=KeyScope.of()))
        await keys.create(LOCAL_CALLER, KeySpec(name="unused", scope=KeyScope.of()))
        for secret, calls in ((capped.secret, 3), (free.secret, 1)):
            client = openai.AsyncOpenAI(
                base_url=desk.runtime.base_url + "/v1", api_key=secret, max_retries=0
            )
            for _ in range(calls):
                await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
            await client.close()
        await engine.recorder.flush()

        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            page = shown_page(window, KeysPage)
            await page.refresh()
            names = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
            assert set(names) == {"ci-bot", "laptop", "unused"}
            # A key's details are shown without a click: the live key used last.
            # Named as the list names it (review 41, finding 20: "key:laptop" vs "laptop").
            assert page.detail.heading.text() == "laptop"
            rate = page.table.item(names.index("laptop"), COLUMNS.index("Rate"))
            assert rate is not None and rate.text() == "default (600/min)"

            # A key with a budget: the spend its budget counts, as a bar and in words.
            status = engine.budgets.key_status("key:ci-bot")
            assert status is not None and status.spent > 0
            page.table.selectRow(names.index("ci-bot"))
            share = status.spent / 5.0
            assert page.detail.spend_label.text() == (
                f"{format_usd(status.spent)} of $5.00 this month ({share:.0%})"
            )
            assert page.detail.spend_bar.isVisibleTo(page.detail)
            assert page.detail.spend_bar.fraction == pytest.approx(share)
            spent = page.table.item(names.index("ci-bot"), COLUMNS.index("Spent"))
            assert spent.text() == f"{format_usd(status.spent)} / $5.00"
            assert spent.textAlignment() & Qt.AlignmentFlag.AlignRight  # a figure
            assert page.detail.used_label.text().startswith("just now (")

            # A key without one: this month's cost of its requests, the recorder's own.
            now = time.time()
            month = await engine.recorder_query.costs("principal", now - month_start(now), now=now)
            laptop = next(g for g in month.groups if g.name == "key:laptop")
            page.table.selectRow(names.index("laptop"))
            assert page.detail.spend_label.text() == (
                f"{format_usd(laptop.cost_usd)} this month · no budget"
            )
            assert not page.detail.spend_bar.isVisibleTo(page.detail)
            page.table.selectRow(names.index("unused"))
            assert page.detail.used_label.text() == "never"
            assert page.detail.spend_label.text() == "$0.00 this month · no budget"

            # Its requests, one click away: the recorder shows that key's rows only.
            page.table.selectRow(names.index("ci-bot"))
            page.detail.requests_button.click()
            assert window.current_page.KEY == RecorderPage.KEY
            recorder = window.pages[RecorderPage.KEY]
            assert isinstance(recorder, RecorderPage)
            assert recorder.current_filters().principal == "key:ci-bot"
            await until(lambda: recorder.model.rowCount() == 3, "the key's three requests")
            owners = {recorder.model.summary(r).principal for r in range(3)}  # type: ignore[union-attr]
            assert owners == {"key:ci-bot"}

    on_gateway(body, also_upstream=("openai",))


def test_a_key_whose_budget_is_used_up_says_it_refuses_not_live(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    """The list and the badge said a green "live" while the details said "used up, calls are
    refused" (second person pass, 2026-11-29)."""

    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        tiny = KeySpec(name="tiny", scope=KeyScope.of(), budget_usd=0.000001)
        made = await engine.keys.create(LOCAL_CALLER, tiny)
        client = openai.AsyncOpenAI(
            base_url=desk.runtime.base_url + "/v1", api_key=made.secret, max_retries=0
        )
        for _ in range(2):  # the first spends it, the second is refused
            try:
                await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
            except openai.APIStatusError as refused:
                assert refused.status_code == 402
        await client.close()
        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            page = shown_page(window, KeysPage)
            await page.refresh()
            page.table.selectRow(0)
            state = page.table.item(0, COLUMNS.index("State"))
            assert state is not None and state.text() == "budget refuses calls"
            assert page.detail.badge.words == "budget refuses calls"
            assert page.detail.badge.kind == "error"

    on_gateway(body, also_upstream=("openai",))
