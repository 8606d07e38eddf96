"""Overview's spend section, fed by a real running gateway: a priced gateway request, a CLI
row with its own cost and an unpriced one, grouped as the person picks."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import format_usd
from llmgw_desktop.engine.tokens.pricing import PRICES_REVISED, price_table
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.cost_breakdown import CostBreakdownBox
from llmgw_desktop.ui.tasks import UiTasks
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
)
from tests.ui.desk_gateway import Desk, OnGateway, post_messages
from tests.waiting import until

SCREENSHOT = Path("/tmp/cost_breakdown.png")


async def _gateway_request(runtime: GatewayRuntime) -> None:
    await post_messages(runtime, headers={"x-caller": "agent-a"})


def _cli_rows(runtime: GatewayRuntime) -> None:
    recorder = runtime.engine.recorder
    reported = recorder.start(principal="local", provider="claude", caller="agent-b", model="x")
    recorder.finish(reported, state="completed", input_tokens=50, output_tokens=5, cost_usd=1.5)
    local = recorder.start(principal="local", provider="ollama", caller="agent-b", model="llama")
    recorder.finish(local, state="completed", input_tokens=70, output_tokens=7)


def test_spend_by_agent_and_provider_with_prices_date_and_unpriced_rows(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        runtime = desk.runtime
        box = CostBreakdownBox(desk.bridge, UiTasks())
        qtbot.addWidget(box)
        try:
            await _gateway_request(runtime)
            _cli_rows(runtime)
            box.resize(820, box.sizeHint().height())
            box.show()  # visible: it loads
            await until(lambda: box.loads >= 1, "the first load")
            gateway_cost = price_table().cost_of(
                "claude-sonnet-4-6",
                Usage(
                    input_tokens=ANTHROPIC_INPUT_TOKENS,
                    output_tokens=ANTHROPIC_OUTPUT_TOKENS,
                    cache_read_tokens=ANTHROPIC_CACHE_READ_TOKENS,
                    cache_write_tokens=ANTHROPIC_CACHE_CREATION_TOKENS,
                ),
            )
            assert gateway_cost is not None
            # Grouped by provider (the default), biggest spender first.
            assert [box.cell(r, "Name") for r in range(box.table.rowCount())] == [
                "Claude Code",  # by the names every page shows, not by id
                "Anthropic",
                "Ollama",
            ]
            assert box.cell(0, "Cost") == format_usd(1.5)
            assert box.cell(1, "Cost") == format_usd(gateway_cost)
            assert (box.cell(2, "Cost"), box.cell(2, "Not priced")) == ("not priced", "1")
            total = box.total_label.text()
            assert total.startswith(format_usd(1.5 + gateway_cost) + " over 3 request(s)")
            assert "1 not priced (model not in the price table)" in total
            assert f"list prices of {PRICES_REVISED}" in box.source_label.text()
            assert "platform.claude.com" in box.source_label.toolTip()

            box.group_box.setCurrentText("Agent")
            loads = box.loads
            await until(lambda: box.loads > loads and box.cell(0, "Name") == "agent-b", "by agent")
            assert (box.cell(0, "Requests"), box.cell(0, "Cost")) == ("2", format_usd(1.5))
            box.grab().save(str(SCREENSHOT))
        finally:
            box.hide()

    on_gateway(body)


def test_requests_that_used_no_tokens_cost_none_not_not_priced(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    """A helper's review: a provider whose every call failed before an answer read "not
    priced" in the Cost column beside an empty Not priced column, where the recorder said
    "none: it failed before any tokens were reported". They cost nothing, and say so."""

    async def body(desk: Desk) -> None:
        recorder = desk.runtime.engine.recorder
        for _ in range(2):
            row = recorder.start(principal="local", provider="openai", caller="a", model="gpt")
            recorder.finish(row, state="failed", error_code="upstream_401")
        box = CostBreakdownBox(desk.bridge, UiTasks())
        qtbot.addWidget(box)
        try:
            box.show()
            await until(lambda: box.loads >= 1 and box.table.rowCount() == 1, "the load")
            assert (box.cell(0, "Name"), box.cell(0, "Requests")) == ("OpenAI", "2")
            assert (box.cell(0, "Cost"), box.cell(0, "Not priced")) == ("none (no tokens)", "")
        finally:
            box.hide()

    on_gateway(body)
