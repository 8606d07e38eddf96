"""A price entered in Settings prices the next request (issue 25).

Real engine and gateway, the official `openai` SDK, OpenAI pointed at the scripted upstream,
a hard dollar budget: a model no table knows is refused (its cost could not be counted); the
person types its price in the Settings page's Prices box; the very next request is served, its
recorder row carries the cost from that price (source `config`), the Budgets page shows the
spend, and config.toml keeps the price for the next start.
"""

from __future__ import annotations

from dataclasses import replace

import openai
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings, load_settings
from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.engine.tokens.money import format_usd
from llmgw_desktop.ui.pages.budgets import BudgetsPage
from llmgw_desktop.ui.pages.price_editor import price_text
from llmgw_desktop.ui.pages.prices_box import PRICE_COLUMNS
from llmgw_desktop.ui.pages.prices_page import PricesPage
from tests.ui.desk_gateway import Desk, OnGateway, desk_window, shown_page
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.ui.test_budgets_page import shown
from tests.waiting import until

MODEL = "house-model-7"  # in no price table
PRICE = {"input": "2", "output": "8", "cache_read": "0.5"}  # cache write left: the input's
BUDGETS = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 10.0}]


def test_a_price_entered_in_settings_prices_the_next_request(
    on_gateway: OnGateway, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    with_budget = replace(loaded, settings=loaded.settings.with_values({"budgets": BUDGETS}))

    async def body(desk: Desk) -> None:
        facts = replace(desk.facts, loaded_settings=with_budget)
        with desk_window(desk, qtbot, size=(1100, 700), facts=facts) as window:
            engine = desk.runtime.engine
            client = openai.AsyncOpenAI(
                base_url=desk.runtime.base_url + "/v1", api_key="unused", max_retries=0
            )

            async def ask() -> None:
                await client.chat.completions.create(
                    model=f"openai/{MODEL}", messages=[{"role": "user", "content": "hi"}]
                )

            # Unpriced under a hard dollar budget: refused, nothing sent upstream.
            with pytest.raises(openai.APIStatusError) as refused:
                await ask()
            assert refused.value.status_code == 402
            assert "add its price in Settings" in refused.value.message

            page = shown_page(window, PricesPage)  # a tab of the Settings place
            box = page.box
            box.model_edit.setText(MODEL)
            assert "not priced now" in box.current_label.text()
            for name, value in PRICE.items():
                box.edits[name].setText(value)
            box.save_button.click()
            await until(lambda: "saved to config.toml" in box.message_label.text(), "saved")
            assert box.table.item(0, 0).text() == MODEL  # type: ignore[union-attr]
            assert "from your price in config.toml" in box.current_label.text()

            await ask()  # no restart: priced now
            await client.close()
            rows = (await engine.recorder_query.page(RecorderFilters(state="completed"))).rows
            (row,) = rows
            expected = (
                row.input_tokens * 2
                + row.output_tokens * 8
                + row.cache_read_tokens * 0.5
                + row.cache_write_tokens * 2
            ) / 1_000_000
            assert row.input_tokens and row.output_tokens
            assert row.cost_usd == pytest.approx(expected)
            detail = await engine.recorder_query.detail(row.id)
            assert detail is not None and detail.record["cost_source"] == "config"

            budgets = shown_page(window, BudgetsPage)
            budgets.refresh()
            spent = format_usd(expected)
            await until(lambda: shown(budgets)[0]["Spent"] == spent, "the spend")

    on_gateway(body, loaded=with_budget, also_upstream=("openai",))
    kept = load_settings(loaded.config_file).settings.gateway.prices
    assert kept == {MODEL: {"input": 2.0, "output": 8.0, "cache_read": 0.5, "cache_write": 2.0}}


def test_a_model_only_the_price_database_knows_is_served_and_priced_by_it(
    on_gateway: OnGateway, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """`gpt-5-pro` is in no table of ours (the table stops gpt-5's price for it): the
    maintained database prices it, so under a hard dollar budget it is served, its row counted
    at the database's price and said so; the Prices page names the database and its date."""
    with_budget = replace(loaded, settings=loaded.settings.with_values({"budgets": BUDGETS}))

    async def body(desk: Desk) -> None:
        facts = replace(desk.facts, loaded_settings=with_budget)
        with desk_window(desk, qtbot, size=(1100, 700), facts=facts) as window:
            engine = desk.runtime.engine
            database = engine.prices.maintained
            assert database is not None
            async with openai.AsyncOpenAI(
                base_url=desk.runtime.base_url + "/v1", api_key="unused", max_retries=0
            ) as client:
                await client.chat.completions.create(
                    model="openai/gpt-5-pro", messages=[{"role": "user", "content": "hi"}]
                )
            (row,) = (await engine.recorder_query.page(RecorderFilters(state="completed"))).rows
            assert row.cost_usd == pytest.approx(
                (row.input_tokens * 15 + row.output_tokens * 120 + row.cache_read_tokens * 15)
                / 1_000_000
            )
            detail = await engine.recorder_query.detail(row.id)
            assert detail is not None
            assert detail.record["cost_source"] == "maintained"
            assert detail.record["cost_prices"] == database.label

            box = shown_page(window, PricesPage).box
            assert database.label in box.database_label.text()
            box.model_edit.setText("gpt-5-pro")
            assert f"from {database.label}" in box.current_label.text()

    on_gateway(body, loaded=with_budget, also_upstream=("openai",))


def test_a_price_shows_as_it_was_set_every_digit_of_it(
    on_gateway: OnGateway, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """Gallery review, finding 11: prices were written as costs are, rounded ("$0.03" for a
    $0.025 cache read, "$1.88" for $1.875). A price is shown with every digit it has, in the
    list and in its details."""

    async def body(desk: Desk) -> None:
        facts = replace(desk.facts, loaded_settings=loaded)
        with desk_window(desk, qtbot, size=(1120, 740), facts=facts) as window:
            box = shown_page(window, PricesPage).box
            box.model_edit.setText(MODEL)
            for name, value in {
                "input": "0.3125",
                "output": "1.875",
                "cache_read": "0.025",
            }.items():
                box.edits[name].setText(value)
            box.save_button.click()
            await until(lambda: "saved to config.toml" in box.message_label.text(), "saved")
            row = {
                PRICE_COLUMNS[c]: box.table.item(0, c).text()  # type: ignore[union-attr]
                for c in range(len(PRICE_COLUMNS))
            }
            assert row["Model"] == MODEL
            assert (row["Input"], row["Output"], row["Cache read"]) == (
                "$0.3125",
                "$1.875",
                "$0.025",
            ), row
            assert row["Cache write"] == "$0.3125"  # the input's, as left empty
            assert "$0.025 cache read" in box.current_label.text()
            assert price_text(15.0) == "$15.00" and price_text(1234.5) == "$1,234.50"

    on_gateway(body, loaded=loaded)


def test_a_price_typed_with_a_decimal_comma_is_refused_and_nothing_is_saved(
    on_gateway: OnGateway, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """Input "1,5" was saved as $15.00 a million tokens: the comma was dropped as if it were a
    thousands separator (person pass, 2026-11-29). Beside it, "1,000" still reads as 1000."""

    async def body(desk: Desk) -> None:
        facts = replace(desk.facts, loaded_settings=loaded)
        with desk_window(desk, qtbot, size=(1120, 740), facts=facts) as window:
            box = shown_page(window, PricesPage).box
            box.model_edit.setText(MODEL)
            for name, value in {"input": "1,5", "output": "2", "cache_read": "0.1"}.items():
                box.edits[name].setText(value)
            box.save_button.click()
            said = box.message_label.text()
            assert "'1,5' is not a number (write decimals with a point: 1.5)" in said, said
            assert "Input" in said
            written = loaded.config_file
            assert not written.exists() or MODEL not in written.read_text()
            box.edits["input"].setText("1,000")
            assert box.editor.typed_price().input == 1000.0

    on_gateway(body, loaded=loaded)
